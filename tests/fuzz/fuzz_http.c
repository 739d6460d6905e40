/* libFuzzer harness: HTTP response heads (md_http_parse_head) on arbitrary
 * bytes.  What parses must be consistent: a real status, lower-case header
 * names each followed by ": ", no control characters in values, never both
 * a Content-Length and chunked, and a body state that matches. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MD_HTTP_MAX_HEAD)
		return 0;
	/* an exact-size copy, so ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	struct md_http_resp r;
	int rc = md_http_parse_head(buf, size, &r);
	if (rc == 0) {
		if (r.status < 100 || r.status > 599)
			__builtin_trap();
		if (r.chunked && r.clen >= 0)
			__builtin_trap();
		if (r.clen < -1 || (r.clen >= 0 && !r.chunked && r.left != (uint64_t)r.clen))
			__builtin_trap();
		if (strlen(r.reason) >= sizeof r.reason)
			__builtin_trap();
		for (const char *c = r.reason; *c; c++)
			if ((unsigned char)*c < ' ' || *c == 0x7f)
				__builtin_trap();
		for (size_t i = 0; i < r.hdr.n; i++) {
			const char *h = r.hdr.v[i], *colon = strchr(h, ':');
			if (!colon || colon == h || colon[1] != ' ')
				__builtin_trap();
			for (const char *c = h; c < colon; c++)
				if (isupper((unsigned char)*c) || (unsigned char)*c <= ' ')
					__builtin_trap();
			for (const char *c = colon + 2; *c; c++)
				if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
					__builtin_trap();
		}
		/* the lookups callers make */
		const char *cl = md_http_header(&r, "content-length");
		if (cl && r.clen < 0 && r.status != 204 && r.status != 304 && r.status >= 200)
			__builtin_trap();
		(void)md_http_header(&r, "www-authenticate");
		(void)md_http_header(&r, "location");
		(void)md_http_header(&r, "connection");
	}
	md_http_resp_free(&r);
	free(buf);
	return 0;
}
