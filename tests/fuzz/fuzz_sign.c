/* libFuzzer harness: the parsers of signed images, on arbitrary bytes.  The
 * first byte picks one: 0 a containers-policy.json (md_policy_parse; a
 * policy that parses is then asked for the scopes of a few references), 1 a
 * sigstore payload (md_sig_payload), 2 a PEM public key (md_sigkey_pem), 3 a
 * DER SubjectPublicKeyInfo (md_sigkey_der), 4 strict base64 (md_b64_strict),
 * 5 a whole signature check (md_sig_check: the input split at the first
 * NUL into a payload and the signature annotation, at the second into a
 * cosign bundle) against a key made for it (the corpus has a payload it
 * signed; its private half was not kept).  What passes must be
 * consistent: a parsed policy has a default; a payload gives a digest that
 * md_digest_check accepts; a key has the length of its curve's point; a
 * refusal always leaves a one-line error. */
#define MD_TEST 1
#include "../../minidock.c"

static void f_one_line(void)
{
	if (!md_errmsg[0] || strchr(md_errmsg, '\n'))
		__builtin_trap();
}

static void f_policy(const char *s, size_t n)
{
	md_errmsg[0] = 0;
	struct md_json *p = md_policy_parse(s, n, "fuzz");
	if (!p) {
		f_one_line();
		return;
	}
	if (!md_json_get(p, "default"))
		__builtin_trap();
	static const char *const refs[] = {"busybox", "a.b.example.com:5000/ns/app:1", "[::1]:5000/x@sha256:"
	                                   "634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"};
	for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
		struct md_ref r;
		char scope[1100];
		if (md_ref_parse(refs[i], &r) == 0 && !md_policy_scope(p, "docker", &r, scope, sizeof scope))
			__builtin_trap();
	}
	md_json_free(p);
}

static void f_check(const char *s, size_t n)
{
	static const unsigned char q[65] = {
		0x04, 0xda, 0x12, 0x88, 0xc7, 0xff, 0xca, 0xe0, 0x57, 0xa4, 0x80, 0x86, 0x0a, 0xe7, 0x61, 0x19, 0x7d, 0x13,
		0x82, 0xdc, 0x6a, 0x59, 0x6a, 0xe0, 0x40, 0xbb, 0x70, 0x59, 0xf8, 0x2c, 0xfa, 0x57, 0x34, 0xc4, 0x9c, 0xe6,
		0x80, 0x9a, 0x64, 0x9d, 0x9b, 0xe1, 0x3c, 0xf3, 0x86, 0x4a, 0xaf, 0x3d, 0x87, 0x7a, 0x33, 0xd3, 0x79, 0xc4,
		0x4f, 0x9d, 0x25, 0x45, 0x54, 0x12, 0x63, 0x9a, 0xb7, 0x12, 0xdf};
	struct md_sigkey k = {.name = "fuzz", .curve = BR_EC_secp256r1, .qlen = 65};
	memcpy(k.q, q, 65);
	const char *z1 = memchr(s, 0, n), *z2 = z1 ? memchr(z1 + 1, 0, n - (size_t)(z1 + 1 - s)) : NULL;
	struct md_sig sig = {.payload = (char *)s, .plen = z1 ? (size_t)(z1 - s) : n};
	sig.sig = z1 ? (char *)z1 + 1 : NULL;
	sig.bundle = z2 ? (char *)z2 + 1 : NULL;
	struct md_policy_req pr = {.type = MD_PR_SIGSTORE, .prm = MD_PRM_REPO};
	struct md_ref img;
	md_ref_parse("example.com/app:1", &img);
	const char *dg[] = {"sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"};
	struct md_sig_ok ok = {0};
	char why[600];
	why[0] = 0;
	int r = md_sig_check(&pr, &k, 1, &sig, &img, dg, 1, &ok, why, sizeof why);
	if (r == 0 && (!why[0] || strchr(why, '\n')))
		__builtin_trap();
	if (r == 1 && strcmp(ok.digest, dg[0]) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1u << 16))
		return 0;
	/* a NUL-ended, exact-size copy, so ASan sees any read past the end */
	size_t n = size - 1;
	char *s = malloc(n + 1);
	memcpy(s, data + 1, n);
	s[n] = 0;
	md_errmsg[0] = 0;
	switch (data[0] % 6) {
	case 0:
		f_policy(s, n);
		break;
	case 1: {
		char dg[MD_DIGEST_LEN + 1], ref[600];
		if (md_sig_payload(s, n, dg, sizeof dg, ref, sizeof ref) == 0) {
			if (md_digest_check(dg, "fuzz") < 0)
				__builtin_trap();
		} else {
			f_one_line();
		}
		break;
	}
	case 2:
	case 3: {
		struct md_sigkey k = {.name = "fuzz"};
		int r = data[0] % 6 == 2 ? md_sigkey_pem(s, n, &k) : md_sigkey_der((const unsigned char *)s, n, &k);
		if (r == 0 && k.qlen != (k.curve == BR_EC_secp256r1 ? 65u : k.curve == BR_EC_secp384r1 ? 97u : 133u))
			__builtin_trap();
		if (r < 0)
			f_one_line();
		break;
	}
	case 4: {
		size_t ol = 0, sl = strlen(s);
		char *d = md_b64_strict(s, &ol);
		if (d && (ol > sl * 3 / 4 || sl % 4))
			__builtin_trap();
		free(d);
		break;
	}
	default:
		f_check(s, n);
		break;
	}
	free(s);
	return 0;
}
