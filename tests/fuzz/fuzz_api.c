/* libFuzzer harness: `minidock serve`'s request heads (md_api_parse_head)
 * on arbitrary bytes, with "\r\n\r\n" appended as the reader does, then
 * what dispatch does with a parsed head: the route table (md_api_match)
 * on its path, and query lookups (md_api_q, md_api_qall, md_api_qbool)
 * on its query, with names taken from the query itself, each value also
 * as detach keys (md_detach_keys_parse).  What parses must
 * be consistent: an upper-case method, a path that starts with '/' and
 * holds no space or control byte, lower-case token header names, trimmed
 * values, a Content-Length only when the header was there, never both it
 * and chunked; a route that matches must match its fixed parts exactly. */
#define MD_TEST 1
#include "../../minidock.c"

static void check_str(const char *s, size_t cap)
{
	if (strnlen(s, cap) >= cap)
		__builtin_trap();
}

/* The fixed (non-'*') text of pat must appear in path in order, and a
 * pattern without '*' matches only itself. */
static void check_match(const char *pat, const char *path, char cap[2][1024])
{
	if (!strchr(pat, '*') && strcmp(pat, path) != 0)
		__builtin_trap();
	check_str(cap[0], 1024);
	check_str(cap[1], 1024);
	/* a "*" capture is never empty */
	if (strncmp(pat, "/containers/*", 13) == 0 && !cap[0][0])
		__builtin_trap();
	const char *p = pat, *q = path;
	while (*p && *p != '*') {
		if (*p != *q)
			__builtin_trap();
		p++;
		q++;
	}
}

static void check_query(const struct md_api_req *r)
{
	/* names from the query itself: each key, raw and as a prefix */
	char names[8][64];
	size_t nn = 0;
	for (const char *p = r->query; *p && nn < 6;) {
		size_t kl = strcspn(p, "=&");
		size_t cl = kl < sizeof names[0] - 1 ? kl : sizeof names[0] - 1;
		memcpy(names[nn], p, cl);
		names[nn][cl] = 0;
		nn++;
		p += kl;
		p += strcspn(p, "&");
		if (*p == '&')
			p++;
	}
	snprintf(names[nn++], sizeof names[0], "filters");
	snprintf(names[nn++], sizeof names[0], "t");
	for (size_t i = 0; i < nn; i++) {
		const char *v = md_api_q(r, names[i]);
		if (v)
			check_str(v, 4096);
		/* each value as detachKeys: 1 to 16 keys, or the keys untouched */
		unsigned char before[sizeof md_detach_seq];
		size_t bl = md_detach_len;
		memcpy(before, md_detach_seq, sizeof before);
		int dr = v ? md_detach_keys_parse(v) : -1;
		if (dr == 0 ? md_detach_len < 1 || md_detach_len > sizeof md_detach_seq
		            : md_detach_len != bl || memcmp(before, md_detach_seq, sizeof before) != 0)
			__builtin_trap();
		(void)md_api_qbool(r, names[i], 0);
		struct md_strv all = {0};
		md_api_qall(r, names[i], &all);
		for (size_t k = 0; k < all.n; k++)
			check_str(all.v[k], 4096);
		md_strv_free(&all);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MD_API_HEAD_MAX)
		return 0;
	/* an exact-size copy ending the way md_api_read_head cuts a head */
	size_t len = size + 4;
	char *buf = malloc(len);
	memcpy(buf, data, size);
	memcpy(buf + size, "\r\n\r\n", 4);
	struct md_api_req r;
	int rc = md_api_parse_head(buf, len, &r);
	if (rc == 0) {
		if (!r.method[0])
			__builtin_trap();
		check_str(r.method, sizeof r.method);
		for (const char *c = r.method; *c; c++)
			if (!isupper((unsigned char)*c))
				__builtin_trap();
		check_str(r.path, sizeof r.path);
		check_str(r.query, sizeof r.query);
		if (r.path[0] != '/')
			__builtin_trap();
		for (const char *c = r.path; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?')
				__builtin_trap();
		for (const char *c = r.query; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f)
				__builtin_trap();
		if (r.minor < 0 || r.minor > 9)
			__builtin_trap();
		if (r.chunked && r.clen >= 0)
			__builtin_trap();
		if (r.clen < -1)
			__builtin_trap();
		if (r.hname.n != r.hval.n || r.hname.n > 100)
			__builtin_trap();
		int has_cl = 0;
		for (size_t i = 0; i < r.hname.n; i++) {
			const char *h = r.hname.v[i], *v = r.hval.v[i];
			if (!h[0])
				__builtin_trap();
			for (const char *c = h; *c; c++)
				if (isupper((unsigned char)*c) || (unsigned char)*c <= ' ' || *c == ':')
					__builtin_trap();
			size_t vl = strlen(v);
			if (vl && (v[0] == ' ' || v[0] == '\t' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				__builtin_trap();
			if (strchr(v, '\r'))
				__builtin_trap();
			has_cl |= strcmp(h, "content-length") == 0;
		}
		if (has_cl != (r.clen >= 0))
			__builtin_trap();
		(void)md_api_header(&r, "x-registry-auth");
		(void)md_api_header(&r, "upgrade");

		/* the route table, as md_api_dispatch uses it (after /vX.YY) */
		const char *path = r.path;
		if (path[0] == '/' && path[1] == 'v' && isdigit((unsigned char)path[2])) {
			char *e;
			(void)strtod(path + 2, &e);
			if (*e == '/')
				path = e;
		}
		char pb[4096];
		snprintf(pb, sizeof pb, "%s", path);
		for (size_t i = 0; i < MD_ARRAY_LEN(md_api_routes); i++) {
			char cap[2][1024];
			if (md_api_match(md_api_routes[i].pattern, pb, cap))
				check_match(md_api_routes[i].pattern, pb, cap);
		}
		/* the path as a pattern (patterns are trusted, but must not
		 * read out of bounds on any input) */
		char cap[2][1024];
		(void)md_api_match(pb, "/containers/abc/json", cap);
		(void)md_api_match(pb, pb, cap);
		check_query(&r);
	}
	md_api_req_free(&r);
	free(buf);
	return 0;
}
