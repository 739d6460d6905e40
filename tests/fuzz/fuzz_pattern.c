/* libFuzzer harness: reference filter patterns (Go's path.Match), a flag
 * value from the command line or the API. Input: PATTERN NUL NAME. A
 * malformed pattern (md_path_match(p, "") < 0) must never match; a pattern
 * made only of literal bytes matches exactly itself. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[1024];
	if (size >= sizeof buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	const char *pat = buf;
	const char *nul = memchr(buf, 0, size);
	const char *name = nul ? nul + 1 : "";
	int valid = md_path_match(pat, "");
	int r = md_path_match(pat, name);
	if (r < -1 || r > 1 || (valid < 0 && r == 1))
		__builtin_trap();
	if (!strpbrk(pat, "*?[\\") && r != (strcmp(pat, name) == 0))
		__builtin_trap();
	if (!strpbrk(pat, "*?[\\") && md_path_match(pat, pat) != 1)
		__builtin_trap();
	return 0;
}
