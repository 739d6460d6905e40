/* libFuzzer harness: image reference parsing.  Whatever parses must
 * print to a familiar form that parses back to the same reference. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[2048];
	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	struct md_ref r, r2;
	if (md_ref_parse(in, &r) < 0)
		return 0;
	char fam[800], full[900], fam2[800];
	md_ref_familiar(&r, fam, sizeof fam);
	md_ref_full(&r, full, sizeof full);
	if (md_ref_parse(fam, &r2) < 0)
		__builtin_trap();
	md_ref_familiar(&r2, fam2, sizeof fam2);
	if (strcmp(fam, fam2) != 0 || strcmp(r.domain, r2.domain) != 0 || strcmp(r.path, r2.path) != 0)
		__builtin_trap();
	return 0;
}
