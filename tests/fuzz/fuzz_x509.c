/* libFuzzer harness: the subjectAltName walker (md_x509_san) on arbitrary
 * bytes as a server's end-entity certificate, with the collector md_x509w
 * uses.  The first byte picks the address looked for (none, 127.0.0.1 or
 * ::1).  What passes must be consistent: only dNSName and iPAddress entries
 * of 4 or 16 bytes, inside the input; the list for the message stays a
 * string of printable characters inside its buffer. */
#define MD_TEST 1
#include "../../minidock.c"

static const unsigned char *f_lo, *f_hi;

static void f_cb(void *ctx, unsigned tag, const unsigned char *v, size_t n)
{
	if ((tag != 0x82 && tag != 0x87) || (tag == 0x87 && n != 4 && n != 16))
		__builtin_trap();
	if (v < f_lo || v > f_hi || n > (size_t)(f_hi - v))
		__builtin_trap();
	md_san_collect(ctx, tag, v, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MD_X509_MAX_EE + 1)
		return 0;
	static const unsigned char lo4[4] = {127, 0, 0, 1}, lo6[16] = {[15] = 1};
	struct md_san_names s = {.ip = data[0] % 3 == 1 ? lo4 : data[0] % 3 == 2 ? lo6 : NULL};
	s.iplen = data[0] % 3 == 1 ? 4 : data[0] % 3 == 2 ? 16 : 0;
	/* an exact-size copy, so ASan sees any read past the end */
	size_t len = size - 1;
	unsigned char *buf = malloc(len ? len : 1);
	memcpy(buf, data + 1, len);
	f_lo = buf;
	f_hi = buf + len;
	md_errmsg[0] = 0;
	int r = md_x509_san(buf, len, f_cb, &s);
	if (r < 0 && !md_errmsg[0])
		__builtin_trap();
	if (strnlen(s.list, sizeof s.list) == sizeof s.list)
		__builtin_trap();
	for (const char *c = s.list; *c; c++)
		if ((unsigned char)*c <= ' ' && *c != ' ')
			__builtin_trap();
	if (s.found && (!s.ip || !s.n))
		__builtin_trap();
	free(buf);
	return 0;
}
