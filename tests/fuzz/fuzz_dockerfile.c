/* libFuzzer harness: the build's parsers of untrusted text.  Input: a
 * Dockerfile, then (after a NUL) .dockerignore patterns, then (after a
 * second NUL) paths to match, one a line.  A parse that fails leaves
 * nothing; one that succeeds has at most MD_DF_MAX_INS instructions, each
 * with a known upper-case name; every argument string goes through the
 * word, words and pairs expanders (with and without the backtick escape),
 * which either fail with an error or return text; an ignore match is 0 or
 * 1, and a path no pattern mentions is never excluded by literal ones. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *buf = malloc(size + 2);
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = 0;
	size_t dl = strnlen(buf, size);
	size_t io = dl < size ? dl + 1 : size;
	size_t il = strnlen(buf + io, size - io);
	size_t po = io + il < size ? io + il + 1 : size;
	const char *ign = buf + io, *paths = buf + po;
	struct md_df df;
	struct md_strv vars = {0};
	md_strv_push(&vars, "A=1");
	md_strv_push(&vars, "EMPTY=");
	md_err_clear();
	if (md_df_parse(buf, dl, &df) < 0) {
		if (df.n || df.v || !md_errmsg[0])
			__builtin_trap();
	} else {
		if (df.n == 0 || df.n > MD_DF_MAX_INS || (df.esc != '\\' && df.esc != '`'))
			__builtin_trap();
		for (size_t i = 0; i < df.n; i++) {
			struct md_df_ins *in = &df.v[i];
			for (const char *c = in->cmd; *c; c++)
				if (*c < 'A' || *c > 'Z')
					__builtin_trap();
			if (!in->args || !in->text)
				__builtin_trap();
			for (int e = 0; e < 2; e++) {
				char esc = e ? '`' : '\\';
				md_err_clear();
				char *w = md_df_word(in->args, esc, &vars);
				if (!w && !md_errmsg[0])
					__builtin_trap();
				free(w);
				struct md_strv out = {0};
				md_df_words(in->args, esc, &vars, &out);
				md_strv_free(&out);
				md_df_pairs(in->args, esc, &vars, &out, "ENV");
				md_strv_free(&out);
			}
			int64_t ns;
			md_parse_goduration(in->args, "fuzz", &ns);
		}
		md_df_free(&df);
	}
	struct md_strv pats = {0};
	md_ignore_parse(ign, &pats);
	int literal = 1;
	for (size_t i = 0; i < pats.n; i++)
		literal &= !strpbrk(pats.v[i], "*?[\\!");
	for (const char *p = paths; *p;) {
		size_t n = strcspn(p, "\n");
		char *path = strndup(p, n);
		int m = md_ignore_match(&pats, path);
		if (m != 0 && m != 1)
			__builtin_trap();
		/* literal patterns exclude only themselves and what is below them */
		int named = 0;
		for (size_t i = 0; literal && i < pats.n; i++) {
			size_t pl = strlen(pats.v[i]);
			named |= !strncmp(path, pats.v[i], pl) && (path[pl] == 0 || path[pl] == '/');
		}
		if (literal && m && !named)
			__builtin_trap();
		free(path);
		p += n + (p[n] == '\n');
	}
	md_strv_free(&pats);
	md_strv_free(&vars);
	free(buf);
	return 0;
}
