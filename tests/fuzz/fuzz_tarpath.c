/* libFuzzer harness: tar entry path cleaning.  A cleaned path never
 * escapes: it is relative, has no "." or ".." component and no empty one. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[8192], out[PATH_MAX];
	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	if (md_tar_clean_path(in, out, sizeof out) < 0)
		return 0;
	if (out[0] == '/')
		__builtin_trap();
	size_t n = strlen(out);
	if (n && (out[n - 1] == '/'))
		__builtin_trap();
	for (char *p = out; *p;) {
		char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			__builtin_trap();
		p += l;
		if (*p == '/')
			p++;
	}
	/* cleaning is idempotent */
	char again[PATH_MAX];
	if (md_tar_clean_path(out, again, sizeof again) < 0 || strcmp(out, again) != 0)
		__builtin_trap();
	return 0;
}
