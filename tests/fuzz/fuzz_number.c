/* libFuzzer harness: md_strtod (flag values such as --cpus and sizes, JSON
 * numbers, /proc files) against libc's strtod, and md_parse_size. Where the
 * input starts with a plain decimal number, both must stop at the same byte
 * and agree to 1e-12 (relative), or both overflow; md_strtod never reads
 * inf, nan or hex. */
#define MD_TEST 1
#include "../../minidock.c"
#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[512];
	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	char *e1, *e2;
	errno = 0;
	double a = md_strtod(in, &e1);
	int range = errno == ERANGE;
	if (e1 < in || e1 > in + strlen(in))
		__builtin_trap();
	if (e1 == in && a != 0)
		__builtin_trap();
	if (isnan(a))
		__builtin_trap();
	const char *p = in + (in[0] == '+' || in[0] == '-');
	int plain = isdigit((unsigned char)p[0]) || (p[0] == '.' && isdigit((unsigned char)p[1]));
	if (plain && !(p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))) {
		errno = 0;
		double b = strtod(in, &e2);
		if (e1 != e2)
			__builtin_trap();
		if (!range && errno != ERANGE && isfinite(b) && fabs(b) > 1e-300 && fabs(a - b) > fabs(b) * 1e-12)
			__builtin_trap();
	}
	(void)md_parse_size(in);
	return 0;
}
