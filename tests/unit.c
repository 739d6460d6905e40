/*
 * Unit tests for minidock's parsers and helpers.  This file includes
 * minidock.c itself (with MD_TEST, which renames its main) so the static
 * functions are reachable.  Output: one `ok - NAME` / `not ok - NAME` line
 * per test, then `# N passed, N failed`; exit status 1 on any failure.
 */
#define MD_TEST 1
#include "../minidock.c"
#include <math.h>

static int t_pass, t_fail;
static const char *t_name;
static int t_bad; /* failures inside the current test */

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			t_bad++;                                                     \
		}                                                                    \
	} while (0)

#define CHECK_STR(a, b)                                                                         \
	do {                                                                                    \
		const char *a_ = (a), *b_ = (b);                                                \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                        \
			printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, a_ ? a_ : "(null)", \
			       b_ ? b_ : "(null)");                                             \
			t_bad++;                                                                \
		}                                                                               \
	} while (0)

static void t_begin(const char *name)
{
	t_name = name;
	t_bad = 0;
	md_errmsg[0] = 0;
}

static void t_end(void)
{
	if (t_bad) {
		printf("not ok - %s\n", t_name);
		t_fail++;
	} else {
		printf("ok - %s\n", t_name);
		t_pass++;
	}
	fflush(stdout);
}

/* ---- json ---- */

static char *t_roundtrip(const char *in)
{
	struct md_json *j = md_json_parse(in, strlen(in));
	if (!j)
		return NULL;
	char *s = md_json_dump(j, 0);
	md_json_free(j);
	return s;
}

static void test_json_valid(void)
{
	t_begin("json: valid documents round-trip");
	static const char *const cases[][2] = {
		{"{}", "{}"},
		{"[]", "[]"},
		{" { \"a\" : 1 , \"b\" : [true,false,null] } ", "{\"a\":1,\"b\":[true,false,null]}"},
		{"\"x\\ny\\t\\\"q\\\\\"", "\"x\\ny\\t\\\"q\\\\\""},
		{"-0.5e+10", "-0.5e+10"},
		{"[1,2.5,-3,0]", "[1,2.5,-3,0]"},
		{"\"\\u00e9\\u20ac\"", "\"\xc3\xa9\xe2\x82\xac\""},
		{"\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""},   /* surrogate pair */
		{"\"\\ud800x\"", "\"\xef\xbf\xbdx\""},           /* lone surrogate: U+FFFD */
		{"\"<a&b>\"", "\"\\u003ca\\u0026b\\u003e\""},    /* escaped as Go does */
		{"\"\\/\"", "\"/\""},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(cases); i++) {
		char *s = t_roundtrip(cases[i][0]);
		if (!s)
			printf("#   parse failed for %s: %s\n", cases[i][0], md_errmsg);
		CHECK_STR(s, cases[i][1]);
		free(s);
	}
	t_end();
}

static void test_json_invalid(void)
{
	t_begin("json: hostile and invalid documents are refused");
	static const char *const bad[] = {
		"", " ", "{", "[", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-",
		"1e", "+1", "\"abc", "\"\\x\"", "\"\\u12\"", "\"a\x01b\"", "\"\\u0000\"", "tru", "nul",
		"[1] x", "{}{}", "\"a\" \"b\"", "[\"\\ud800\\u00\"]", "NaN", "Infinity",
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		struct md_json *j = md_json_parse(bad[i], strlen(bad[i]));
		if (j)
			printf("#   accepted: %s\n", bad[i]);
		CHECK(j == NULL);
		CHECK(md_errmsg[0] != 0);
		md_json_free(j);
	}
	/* deep nesting stops at the limit instead of exhausting the stack */
	size_t n = 100000;
	char *deep = malloc(n);
	memset(deep, '[', n);
	struct md_json *j = md_json_parse(deep, n);
	CHECK(j == NULL);
	CHECK(strstr(md_errmsg, "nested too deeply") != NULL);
	memset(deep, '{', n);
	j = md_json_parse(deep, n);
	CHECK(j == NULL);
	free(deep);
	/* just under the limit is fine */
	char ok[2 * MD_JSON_MAX_DEPTH + 1];
	memset(ok, '[', MD_JSON_MAX_DEPTH);
	memset(ok + MD_JSON_MAX_DEPTH, ']', MD_JSON_MAX_DEPTH);
	j = md_json_parse(ok, 2 * MD_JSON_MAX_DEPTH);
	CHECK(j != NULL);
	md_json_free(j);
	/* NUL bytes in the input are not whitespace */
	j = md_json_parse("{}\0", 3);
	CHECK(j == NULL);
	t_end();
}

static void test_json_access(void)
{
	t_begin("json: lookups, duplicate keys, integers, building");
	const char *doc = "{\"a\":1,\"a\":2,\"s\":\"x\",\"big\":9223372036854775807,\"over\":9223372036854775808,"
	                  "\"f\":1.5,\"arr\":[10,20,30]}";
	struct md_json *j = md_json_parse(doc, strlen(doc));
	CHECK(j != NULL);
	long long v = 0;
	CHECK(md_json_int(md_json_get(j, "a"), &v) == 0 && v == 2); /* last wins, as Go */
	CHECK_STR(md_json_gets(j, "s"), "x");
	CHECK(md_json_gets(j, "a") == NULL);
	CHECK(md_json_int(md_json_get(j, "big"), &v) == 0 && v == LLONG_MAX);
	CHECK(md_json_int(md_json_get(j, "over"), &v) < 0);
	CHECK(md_json_int(md_json_get(j, "f"), &v) < 0);
	CHECK(md_json_int(md_json_at(md_json_get(j, "arr"), 2), &v) == 0 && v == 30);
	CHECK(md_json_at(md_json_get(j, "arr"), 3) == NULL);
	md_json_set(j, "s", md_json_newstr("y"));
	md_json_del(j, "a");
	md_json_seti(j, "n", 7);
	char *s = md_json_dump(j, 0);
	CHECK_STR(s, "{\"s\":\"y\",\"big\":9223372036854775807,\"over\":9223372036854775808,\"f\":1.5,"
	             "\"arr\":[10,20,30],\"n\":7}");
	free(s);
	struct md_json *c = md_json_clone(j);
	char *s1 = md_json_dump(j, 4), *s2 = md_json_dump(c, 4);
	CHECK_STR(s1, s2);
	CHECK(strstr(s1, "\n    \"s\": \"y\",\n") != NULL);
	free(s1);
	free(s2);
	md_json_free(c);
	md_json_free(j);
	t_end();
}

/* ---- digests ---- */

static void test_digests(void)
{
	t_begin("digests: validation, sha256, chain IDs");
	char d[MD_DIGEST_LEN + 1];
	md_sha256_buf("", 0, d);
	CHECK_STR(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	md_sha256_buf("abc", 3, d);
	CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(md_digest_valid(d));
	CHECK(!md_digest_valid("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(!md_digest_valid("sha256:ba7816bf"));
	CHECK(!md_digest_valid("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0"));
	CHECK(!md_digest_valid("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(!md_digest_valid("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(!md_digest_valid(NULL));
	CHECK(md_digest_check("sha512:abcd", "x") < 0 && strstr(md_errmsg, "unsupported digest algorithm"));
	CHECK(md_digest_check("sha256:../../etc", "x") < 0 && strstr(md_errmsg, "invalid digest"));
	/* chain(L0) = diff(L0); chain(L1) = sha256(chain(L0) + " " + diff(L1)) */
	const char *a = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char c0[MD_DIGEST_LEN + 1], c1[MD_DIGEST_LEN + 1], want[MD_DIGEST_LEN + 1];
	md_chain_id(NULL, a, c0);
	CHECK_STR(c0, a);
	md_chain_id(c0, d, c1);
	char buf[200];
	snprintf(buf, sizeof buf, "%s %s", a, d);
	md_sha256_buf(buf, strlen(buf), want);
	CHECK_STR(c1, want);
	t_end();
}

/* ---- references ---- */

static void test_refs(void)
{
	t_begin("references: Docker's normalisation");
	static const char *const ok[][3] = {
		/* input, familiar, full */
		{"busybox", "busybox:latest", MD_DEFAULT_DOMAIN "/library/busybox:latest"},
		{"busybox:1.36", "busybox:1.36", MD_DEFAULT_DOMAIN "/library/busybox:1.36"},
		{"library/busybox", "busybox:latest", MD_DEFAULT_DOMAIN "/library/busybox:latest"},
		{MD_DEFAULT_DOMAIN "/library/busybox:x", "busybox:x", MD_DEFAULT_DOMAIN "/library/busybox:x"},
		{"me/app", "me/app:latest", MD_DEFAULT_DOMAIN "/me/app:latest"},
		{"localhost/app", "localhost/app:latest", "localhost/app:latest"},
		{"localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3"},
		{"127.0.0.1:5000/app", "127.0.0.1:5000/app:latest", "127.0.0.1:5000/app:latest"},
		{"reg.example:443/x__y/a-b.c", "reg.example:443/x__y/a-b.c:latest", "reg.example:443/x__y/a-b.c:latest"},
		{"[::1]:5000/app:t", "[::1]:5000/app:t", "[::1]:5000/app:t"},
		{"a---b", "a---b:latest", MD_DEFAULT_DOMAIN "/library/a---b:latest"},
		{"app@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		 "app@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		 MD_DEFAULT_DOMAIN "/library/app:latest"},
		{"app:t@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "app:t",
		 MD_DEFAULT_DOMAIN "/library/app:t"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(ok); i++) {
		struct md_ref r;
		char fam[800], full[900];
		int rc = md_ref_parse(ok[i][0], &r);
		if (rc < 0)
			printf("#   refused %s: %s\n", ok[i][0], md_errmsg);
		CHECK(rc == 0);
		md_ref_familiar(&r, fam, sizeof fam);
		md_ref_full(&r, full, sizeof full);
		CHECK_STR(fam, ok[i][1]);
		CHECK_STR(full, ok[i][2]);
	}
	static const char *const bad[][2] = {
		{"", "empty"},
		{"Busybox", "lowercase"},
		{"me/App", "lowercase"},
		{"app:", "bad tag"},
		{"app:-x", "bad tag"},
		{"app:a/b", "bad registry"},
		{"-app", "bad name"},
		{"app-", "bad name"},
		{"a..b", "bad name"},
		{"a/", "bad name"},
		{"/a", "bad name"},
		{"a//b", "bad name"},
		{"http://x/y", "invalid reference"},
		{"app@sha256:xyz", "invalid digest"},
		{"app@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest"},
		{"reg:port/app", "bad registry"},
		{"-reg.x/app", "bad registry"},
		{"app:0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
		 "01234567890123456789012345678", "bad tag"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		struct md_ref r;
		int rc = md_ref_parse(bad[i][0], &r);
		if (rc == 0)
			printf("#   accepted %s\n", bad[i][0]);
		CHECK(rc < 0);
		if (rc < 0 && !strstr(md_errmsg, bad[i][1]))
			printf("#   %s: message \"%s\" lacks \"%s\"\n", bad[i][0], md_errmsg, bad[i][1]);
		CHECK(rc < 0 && strstr(md_errmsg, bad[i][1]));
	}
	char longname[400];
	memset(longname, 'a', 300);
	longname[300] = 0;
	struct md_ref r;
	CHECK(md_ref_parse(longname, &r) < 0 && strstr(md_errmsg, "255"));
	char tag[100];
	CHECK(md_ref_normalize_tag("app@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", tag,
	                           sizeof tag) < 0);
	t_end();
}

/* ---- tar paths ---- */

static void test_tar_paths(void)
{
	t_begin("tar: entry paths are cleaned or refused");
	static const char *const ok[][2] = {
		{"a", "a"}, {"./a", "a"}, {"a/b/", "a/b"}, {"./a/./b", "a/b"}, {".", ""}, {"./", ""},
		{"a//b", "a/b"}, {"..foo", "..foo"}, {"a/..b/c..", "a/..b/c.."}, {"...", "..."},
		{".wh..wh..opq", ".wh..wh..opq"},
	};
	char out[PATH_MAX];
	for (size_t i = 0; i < MD_ARRAY_LEN(ok); i++) {
		CHECK(md_tar_clean_path(ok[i][0], out, sizeof out) == 0);
		CHECK_STR(out, ok[i][1]);
	}
	static const char *const bad[][2] = {
		{"/etc/passwd", "absolute"}, {"//a", "absolute"}, {"..", ".."}, {"../a", ".."},
		{"a/../../b", ".."}, {"a/..", ".."}, {"./../a", ".."}, {"a/b/../../..", ".."},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		CHECK(md_tar_clean_path(bad[i][0], out, sizeof out) < 0);
		CHECK(strstr(md_errmsg, bad[i][1]) != NULL);
	}
	CHECK(md_tar_clean_path(NULL, out, sizeof out) < 0);
	char big[NAME_MAX + 10];
	memset(big, 'x', NAME_MAX + 1);
	big[NAME_MAX + 1] = 0;
	CHECK(md_tar_clean_path(big, out, sizeof out) < 0);
	char small[8];
	CHECK(md_tar_clean_path("abcd/efgh", small, sizeof small) < 0);
	t_end();
}

/* ---- templates ---- */

static void t_tmpl(const char *tmpl, const char *doc, const char *want)
{
	struct md_json *j = md_json_parse(doc, strlen(doc));
	struct md_sb b = {0};
	int r = md_tmpl_render(tmpl, j, &b);
	if (want) {
		if (r < 0)
			printf("#   %s: %s\n", tmpl, md_errmsg);
		CHECK(r == 0);
		CHECK_STR(md_sb_str(&b), want);
	} else {
		CHECK(r < 0);
	}
	md_sb_free(&b);
	md_json_free(j);
}

static void test_templates(void)
{
	t_begin("templates: the --format subset");
	const char *doc = "{\"Id\":\"sha256:ab\",\"Config\":{\"Env\":[\"A=1\",\"B=2\"],\"Labels\":{\"k\":\"v\",\"a\":\"b\"},"
	                  "\"Cmd\":null},\"Size\":123,\"Tags\":[],\"On\":true,\"Name\":\"x y\"}";
	t_tmpl("{{.Id}}", doc, "sha256:ab");
	t_tmpl("id={{ .Id }} size={{.Size}}", doc, "id=sha256:ab size=123");
	t_tmpl("{{.Config.Env}}", doc, "[A=1 B=2]");
	t_tmpl("{{.Config.Labels}}", doc, "map[a:b k:v]");
	t_tmpl("{{json .Config.Env}}", doc, "[\"A=1\",\"B=2\"]");
	t_tmpl("{{.Config.Env | json}}", doc, "[\"A=1\",\"B=2\"]");
	t_tmpl("{{index .Config.Labels \"k\"}}", doc, "v");
	t_tmpl("{{index .Config.Env 1}}", doc, "B=2");
	t_tmpl("{{join .Config.Env \",\"}}", doc, "A=1,B=2");
	t_tmpl("{{range .Config.Env}}[{{.}}]{{end}}", doc, "[A=1][B=2]");
	t_tmpl("{{if .On}}yes{{else}}no{{end}}", doc, "yes");
	t_tmpl("{{if .Tags}}yes{{else}}no{{end}}", doc, "no");
	t_tmpl("{{with .Config}}{{len .Env}}{{end}}", doc, "2");
	t_tmpl("{{.Missing}}", doc, "<no value>");
	t_tmpl("{{.Config.Cmd}}", doc, "<no value>");
	t_tmpl("{{upper .Name}} {{title .Name}}", doc, "X Y X Y");
	t_tmpl("{{json .}}", "{\"a\":[1,{\"b\":null}]}", "{\"a\":[1,{\"b\":null}]}");
	t_tmpl("a {{- \" b \" -}} c", doc, "a b c");
	t_tmpl("{{(index .Config.Env 0)}}", doc, "A=1");
	t_tmpl("{{split .Name \" \"}}", doc, "[x y]");
	t_tmpl("plain text", doc, "plain text");
	t_tmpl("", doc, "");
	t_tmpl("{{.Id", doc, NULL);
	t_tmpl("{{nosuch .Id}}", doc, NULL);
	t_tmpl("{{if .On}}x", doc, NULL);
	t_tmpl("{{end}}", doc, NULL);
	t_tmpl("{{.Id.Sub}}", doc, NULL);
	t_tmpl("{{\"unterminated}}", doc, NULL);
	/* deep nesting of blocks and parentheses is bounded */
	struct md_sb deep = {0};
	for (int i = 0; i < 100; i++)
		md_sb_puts(&deep, "{{if .On}}");
	t_tmpl(md_sb_str(&deep), doc, NULL);
	md_sb_free(&deep);
	for (int i = 0; i < 100; i++)
		md_sb_puts(&deep, "(");
	char *t = md_asprintf("{{%s}}", md_sb_str(&deep));
	t_tmpl(t, doc, NULL);
	free(t);
	md_sb_free(&deep);
	t_end();
}

/* ---- options ---- */

static void test_options(void)
{
	t_begin("options: Docker's flag syntax");
	static const struct md_optdef defs[] = {
		{"all", 'a', NULL, ""}, {"quiet", 'q', NULL, ""}, {"output", 'o', "file", ""},
		{"format", 0, "string", ""}, {NULL, 0, NULL, NULL}};
	char *argv1[] = {"-aq", "x", "--format={{.ID}}", "-ofile", "y", "--all=false", "--", "-z"};
	struct md_args a = {0};
	CHECK(md_args_parse(&a, defs, 8, argv1, 0) == 0);
	CHECK(!md_flag(&a, "all"));
	CHECK(md_flag(&a, "quiet"));
	CHECK_STR(md_opt(&a, "output"), "file");
	CHECK_STR(md_opt(&a, "format"), "{{.ID}}");
	CHECK(a.pos.n == 3);
	CHECK_STR(a.pos.v[2], "-z");
	md_args_free(&a);
	char *argv2[] = {"-o"};
	memset(&a, 0, sizeof a);
	CHECK(md_args_parse(&a, defs, 1, argv2, 0) < 0 && strstr(md_errmsg, "needs an argument"));
	md_args_free(&a);
	char *argv3[] = {"--nope"};
	memset(&a, 0, sizeof a);
	CHECK(md_args_parse(&a, defs, 1, argv3, 0) < 0 && strstr(md_errmsg, "unknown flag: --nope"));
	md_args_free(&a);
	char *argv4[] = {"-x"};
	memset(&a, 0, sizeof a);
	CHECK(md_args_parse(&a, defs, 1, argv4, 0) < 0 && strstr(md_errmsg, "unknown shorthand flag"));
	md_args_free(&a);
	char *argv5[] = {"--all=maybe"};
	memset(&a, 0, sizeof a);
	CHECK(md_args_parse(&a, defs, 1, argv5, 0) < 0);
	md_args_free(&a);
	char *argv6[] = {"img", "-a", "cmd"};
	memset(&a, 0, sizeof a);
	CHECK(md_args_parse(&a, defs, 3, argv6, 1) == 0 && a.pos.n == 3 && !md_flag(&a, "all"));
	md_args_free(&a);
	t_end();
}

/* ---- time and sizes ---- */

static void test_time_size(void)
{
	t_begin("time and size formatting");
	time_t t;
	CHECK(md_time_parse("2020-01-02T03:04:05Z", &t) == 0 && t == 1577934245);
	CHECK(md_time_parse("2020-01-02T03:04:05.123456789Z", &t) == 0 && t == 1577934245);
	CHECK(md_time_parse("2020-01-02T05:04:05+02:00", &t) == 0 && t == 1577934245);
	CHECK(md_time_parse("2020-01-02", &t) < 0);
	CHECK(md_time_parse("2020-01-02T03:04:05Zjunk", &t) < 0);
	CHECK(md_time_parse(NULL, &t) < 0);
	char buf[64];
	struct timespec ts = {1577934245, 500000000};
	md_time_format(buf, sizeof buf, &ts);
	CHECK_STR(buf, "2020-01-02T03:04:05.5Z");
	ts.tv_nsec = 0;
	md_time_format(buf, sizeof buf, &ts);
	CHECK_STR(buf, "2020-01-02T03:04:05Z");
	md_time_format(buf, 12, &ts);   /* a short buffer truncates, never overflows */
	CHECK_STR(buf, "2020-01-02T");
	md_human_size(buf, sizeof buf, 0);
	CHECK_STR(buf, "0B");
	md_human_size(buf, sizeof buf, 999);
	CHECK_STR(buf, "999B");
	md_human_size(buf, sizeof buf, 1500);
	CHECK_STR(buf, "1.5kB");
	md_human_size(buf, sizeof buf, 4261000);
	CHECK_STR(buf, "4.26MB");
	/* Go durations: parsed (HEALTHCHECK, --health-*) and printed (a
	 * probe's timeout message) as Go's time package does */
	int64_t ns;
	CHECK(md_parse_goduration("1m30s", "x", &ns) == 0 && ns == 90000000000LL);
	CHECK(md_parse_goduration("500ms", "x", &ns) == 0 && ns == 500000000LL);
	CHECK(md_parse_goduration("1.5h", "x", &ns) == 0 && ns == 5400000000000LL);
	CHECK(md_parse_goduration("0.2s", "x", &ns) == 0 && ns == 200000000LL);
	CHECK(md_parse_goduration("10us", "x", &ns) == 0 && ns == 10000);
	CHECK(md_parse_goduration("0", "x", &ns) == 0 && ns == 0);
	CHECK(md_parse_goduration("10", "x", &ns) < 0);
	CHECK(md_parse_goduration("", "x", &ns) < 0);
	CHECK(md_parse_goduration("1x", "x", &ns) < 0);
	CHECK(md_parse_goduration("s", "x", &ns) < 0);
	CHECK(md_parse_goduration("-1s", "x", &ns) < 0);
	CHECK(md_parse_goduration("99999999999h", "x", &ns) < 0);
	static const struct { int64_t ns; const char *s; } gd[] = {
		{0, "0s"}, {1, "1ns"}, {1500, "1.5µs"}, {500000000, "500ms"}, {1500000, "1.5ms"},
		{1000000000, "1s"}, {1500000000, "1.5s"}, {30000000000LL, "30s"}, {90000000000LL, "1m30s"},
		{3600000000000LL, "1h0m0s"}, {3723000000000LL, "1h2m3s"}, {60000000001LL, "1m0.000000001s"}};
	for (size_t i = 0; i < sizeof gd / sizeof gd[0]; i++) {
		md_fmt_goduration(gd[i].ns, buf, sizeof buf);
		CHECK_STR(buf, gd[i].s);
	}
	t_end();
}

/* ---- layers: unpack, then rebuild the exact tar from the tar-split ---- */

struct t_entry {
	const char *path;
	int type; /* AE_IF* */
	const char *data;
	const char *link;
};

/* Write a tar (pax) with the given entries into fd; returns its sha256. */
static void t_make_tar(int fd, const struct t_entry *es, size_t n, char digest[MD_DIGEST_LEN + 1], int gnu)
{
	struct archive *a = archive_write_new();
	if (gnu)
		archive_write_set_format_gnutar(a);
	else
		archive_write_set_format_pax(a);
	archive_write_open_fd(a, fd);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, es[i].path);
		archive_entry_set_mtime(e, 1600000000 + (time_t)i, 123);
		archive_entry_set_uid(e, 1000 + (int)i);
		archive_entry_set_gid(e, 2000);
		if (es[i].type == AE_IFREG && es[i].link) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, es[i].link);
			archive_entry_set_perm(e, 0644);
		} else {
			archive_entry_set_filetype(e, (mode_t)es[i].type);
			archive_entry_set_perm(e, es[i].type == AE_IFDIR ? 0750 : 04711);
		}
		if (es[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, es[i].link);
		if (es[i].type == AE_IFCHR || es[i].type == AE_IFBLK)
			archive_entry_set_rdev(e, makedev(8, 1));
		if (es[i].type == AE_IFREG && !es[i].link)
			archive_entry_set_size(e, (la_int64_t)strlen(es[i].data));
		if (i == 1)
			archive_entry_xattr_add_entry(e, "user.note", "hello", 5);
		archive_write_header(a, e);
		if (es[i].type == AE_IFREG && !es[i].link)
			archive_write_data(a, es[i].data, strlen(es[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	uint64_t sz;
	md_sha256_fd(fd, digest, &sz);
	lseek(fd, 0, SEEK_SET);
}

static void t_layer_roundtrip(const char *name, const struct t_entry *es, size_t n, int gnu)
{
	char tmpl[] = "/tmp/md-unit-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *tarp = md_asprintf("%s/in.tar", dir), *ldir = md_asprintf("%s/layer", dir);
	int fd = open(tarp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char want[MD_DIGEST_LEN + 1], got[MD_DIGEST_LEN + 1];
	t_make_tar(fd, es, n, want, gnu);
	struct md_layer_info li;
	int r = md_layer_unpack(md_src_fd(fd), ldir, &li);
	if (r < 0)
		printf("#   %s: unpack failed: %s\n", name, md_errmsg);
	CHECK(r == 0);
	CHECK_STR(li.diff_id, want);
	uint64_t size = 0;
	r = md_layer_rebuild(ldir, -1, NULL, got, &size);
	if (r < 0)
		printf("#   %s: rebuild failed: %s\n", name, md_errmsg);
	CHECK(r == 0);
	CHECK_STR(got, want);
	CHECK(size == li.tar_size);
	close(fd);
	md_rm_rf(dir);
	free(tarp);
	free(ldir);
}

/* md_strtod and the md_scan_* chain replace strtod and sscanf (and the
 * 10 KB of musl that came with them): compare with strtod where both take
 * the input, and check what strtod took that md_strtod must not. */
static void test_scan_numbers(void)
{
	t_begin("scanning: md_strtod against strtod, the md_scan_* chain, hostile input");
	static const char *const same[] = {
		"0", "1", "-1", "+2", "1.5", "0.25", ".5", "-.5", "5.", "1e3", "1E-3", "2.5e+2", "1.41",
		"123456789012345678901234567890", "0.000000000000000000001", "3.14159265358979323846",
		"1e308", "1e-300", "1e-400", "1.79e308", "00012", "1.5g", "10m", "1e", "1e+", "7-",
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(same); i++) {
		char *e1, *e2;
		double a = md_strtod(same[i], &e1), b = strtod(same[i], &e2);
		double tol = fabs(b) * 1e-14;
		if (e1 - same[i] != e2 - same[i] || fabs(a - b) > tol) {
			printf("#   md_strtod(\"%s\") = %.17g (+%d), strtod %.17g (+%d)\n", same[i], a,
			       (int)(e1 - same[i]), b, (int)(e2 - same[i]));
			t_bad++;
		}
	}
	CHECK(md_strtod("1.5", NULL) == 1.5 && md_strtod("0.1", NULL) == 0.1 && md_strtod("1.41", NULL) == 1.41);
	static const char *const none[] = {"", "-", "+", ".", "-.", "e5", "inf", "nan", "infinity", " 1", "x1"};
	for (size_t i = 0; i < MD_ARRAY_LEN(none); i++) {
		char *e;
		double v = md_strtod(none[i], &e);
		CHECK(e == none[i] && v == 0);
	}
	char *e;
	CHECK(md_strtod("0x10", &e) == 0 && *e == 'x');    /* hex stops at the x, as Go would refuse it */
	errno = 0;
	CHECK(md_strtod("1e999", &e) == __builtin_inf() && errno == ERANGE && !*e);
	errno = 0;
	CHECK(md_strtod("-1e99999999999", &e) == -__builtin_inf() && errno == ERANGE && !*e);
	CHECK(md_strtod("1e-99999999999", &e) == 0 && !*e);
	char big[400];
	memset(big, '9', sizeof big - 1);
	big[sizeof big - 1] = 0;
	CHECK(md_strtod(big, &e) == __builtin_inf() && !*e);  /* 399 nines: too big, never a crash */
	big[0] = '.';
	CHECK(md_strtod(big, &e) > 0.999 && md_strtod(big, &e) <= 1 && !*e);
	CHECK(md_parse_size("1.5k") == 1536 && md_parse_size("inf") < 0 && md_parse_size("nan") < 0 &&
	      md_parse_size("0x10") < 0 && md_parse_size("1e999") < 0);
	/* words and integers, chained; NULL falls through */
	char w[8];
	long long i64;
	unsigned long long u;
	const char *q = md_scan_word("  cpu  12 -3 0x1f", w, sizeof w);
	CHECK_STR(w, "cpu");
	q = md_scan_i64(q, &i64);
	CHECK(q && i64 == 12);
	q = md_scan_i64(q, &i64);
	CHECK(q && i64 == -3);
	CHECK(md_scan_u64(q, &u, 16) && u == 0x1f);
	CHECK(md_scan_u64(q, &u, 10) && u == 0);          /* "0x1f" in base 10: the 0 */
	CHECK(md_scan_word("verylongword rest", w, sizeof w) && strcmp(w, "verylon") == 0);
	CHECK(md_scan_word("   \n ", w, sizeof w) == NULL);
	CHECK(md_scan_i64(NULL, &i64) == NULL && md_scan_u64("-5", &u, 10) == NULL && md_scan_i64("- 5", &i64) == NULL);
	CHECK(md_scan_u64(md_scan_lit(md_scan_u64("80x24", &u, 10), "x"), &u, 10) && u == 24);
	CHECK(md_scan_lit(NULL, "x") == NULL && md_scan_lit("ab", "abc") == NULL);
	int d;
	CHECK(md_scan_digits("2024", 4, &d) && d == 2024 && !md_scan_digits("202", 4, &d) && !md_scan_digits(NULL, 1, &d));
	/* RFC 3339 fields are exactly two digits now (sscanf's %2d took one) */
	time_t t;
	CHECK(md_time_parse("2020-1-02T03:04:05Z", &t) < 0 && md_time_parse("2020-01-02T03:04:05+2:00", &t) < 0);
	CHECK(md_time_parse("2020-01-02t03:04:05z", &t) == 0 && t == 1577934245);
	CHECK(md_time_parse("2020-01-02T03:04:05-01:30", &t) == 0 && t == 1577934245 + 5400);
	CHECK(md_time_parse("2020-01-02T03:04:05+01:3", &t) < 0 && md_time_parse("2020-01-02T03:04:05+", &t) < 0);
	/* a Unix time with a fraction equals the RFC 3339 time it was printed
	 * from (logs --since "$(date -d TS +%s.%N)"), however many digits */
	static const char *const pairs[][2] = {
		{"2025-11-25T20:47:11.53519078Z", "1764103631.535190780"},
		{"2025-11-25T20:47:11.123456789Z", "1764103631.123456789"},
		{"2025-11-25T20:47:11.999999999Z", "1764103631.999999999"},
		{"2025-11-25t20:47:11.000000001z", "1764103631.000000001"},
		{"2025-11-25T20:47:11.5Z", "1764103631.5"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(pairs); i++) {
		double a = 0;
		CHECK(md_time_parsef(pairs[i][0], &a) == 0 && a == md_strtod(pairs[i][1], NULL));
	}
	/* MAC addresses */
	unsigned char mac[6];
	CHECK(md_mac_parse("02:42:ac:11:00:02", mac) == 0 && mac[0] == 2 && mac[2] == 0xac && mac[5] == 2);
	CHECK(md_mac_parse("02:42:AC:11:00:0", mac) < 0 && md_mac_parse("02:42:ac:11:00:0g", mac) < 0);
	CHECK(md_mac_parse("02-42-ac-11-00-02", mac) < 0 && md_mac_parse("0x:42:ac:11:00:02", mac) < 0);
	CHECK(md_mac_parse("03:42:ac:11:00:02", mac) < 0 && md_mac_parse(NULL, mac) < 0);
	t_end();
}

#if MD_FEATURE_NET
/* A container's endpoint settings (create's EndpointsConfig, connect's
 * EndpointConfig) and a network's pool: untrusted JSON and flags. */
static struct md_json *t_ep(const char *json, int user)
{
	struct md_json *ec = md_json_parse(json, strlen(json)), *x = md_json_new(MD_J_OBJ);
	md_errmsg[0] = 0;
	if (!ec || md_endpoint_parse(ec, user, x) < 0) {
		md_json_free(x);
		x = NULL;
	}
	md_json_free(ec);
	return x;
}

/* A DNS query for name (dotted) and type, with id 0x1234 and RD; its length. */
static size_t t_dns_query(unsigned char *q, const char *name, unsigned type)
{
	static const unsigned char h[12] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(q, h, 12);
	size_t n = md_dns_encode(name, q + 12);
	q[12 + n] = (unsigned char)(type >> 8);
	q[13 + n] = (unsigned char)type;
	q[14 + n] = 0;
	q[15 + n] = 1;
	return n + 16;
}

/* The answer's count of records, or -1 unless it is a response to
 * 0x1234 with RCODE rcode. */
static int t_dns_count(const unsigned char *a, int len, int rcode)
{
	if (len < 12 || a[0] != 0x12 || a[1] != 0x34 || !(a[2] & 0x80) || !(a[2] & 1) || (a[3] & 15) != rcode)
		return -1;
	return a[6] << 8 | a[7];
}

static void test_dns_answer(void)
{
	t_begin("dns: the embedded server's answers from a hosts file; hostile queries");
	const char *hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.0.0.2\tabc123 web alias\n"
	                    "10.0.0.3\tdef db\nfd00::3\tdef db\n# 10.0.0.9 commented\n10.0.0.4 db # a second address\n";
	unsigned char q[600], a[MD_DNS_UDP];
	size_t n = t_dns_query(q, "web", 1);
	int len = md_dns_answer(q, n, hosts, NULL, a, sizeof a);
	CHECK(t_dns_count(a, len, 0) == 1 && len == (int)n + 16);
	CHECK(!memcmp(a + 12, q + 12, n - 12)); /* the question, as asked */
	CHECK(a[n] == 0xc0 && a[n + 1] == 12 && a[n + 3] == 1 && !memcmp(a + n + 12, "\x0a\x00\x00\x02", 4));
	/* case, the trailing dot's absence, several addresses, both families */
	n = t_dns_query(q, "DB", 1);
	CHECK(t_dns_count(a, md_dns_answer(q, n, hosts, NULL, a, sizeof a), 0) == 2);
	n = t_dns_query(q, "db", 28);
	len = md_dns_answer(q, n, hosts, NULL, a, sizeof a);
	CHECK(t_dns_count(a, len, 0) == 1 && a[n + 11] == 16 && a[n + 12] == 0xfd);
	n = t_dns_query(q, "db", 255);
	CHECK(t_dns_count(a, md_dns_answer(q, n, hosts, NULL, a, sizeof a), 0) == 3);
	/* a known name without the family asked: NOERROR, nothing (not forwarded) */
	n = t_dns_query(q, "web", 28);
	CHECK(t_dns_count(a, md_dns_answer(q, n, hosts, NULL, a, sizeof a), 0) == 0);
	n = t_dns_query(q, "alias", 15);
	CHECK(t_dns_count(a, md_dns_answer(q, n, hosts, NULL, a, sizeof a), 0) == 0);
	/* unknown, commented out, a suffix or prefix of a name: forwarded */
	static const char *const fwd[] = {"nosuch", "commented", "we", "webx", "web.front", "example.org", "second"};
	for (size_t i = 0; i < MD_ARRAY_LEN(fwd); i++) {
		n = t_dns_query(q, fwd[i], 1);
		CHECK(md_dns_answer(q, n, hosts, NULL, a, sizeof a) == 0);
	}
	/* NAME.NETWORK, for the container's networks only */
	struct md_strv sfx = {0};
	md_strv_push(&sfx, "front");
	n = t_dns_query(q, "web.FRONT", 1);
	CHECK(t_dns_count(a, md_dns_answer(q, n, hosts, &sfx, a, sizeof a), 0) == 1);
	n = t_dns_query(q, "db.front", 28);
	CHECK(t_dns_count(a, md_dns_answer(q, n, hosts, &sfx, a, sizeof a), 0) == 1);
	static const char *const nosfx[] = {"web.back", "front", ".front", "nosuch.front", "web.front.front"};
	for (size_t i = 0; i < MD_ARRAY_LEN(nosfx); i++) {
		n = md_dns_encode(nosfx[i], q + 12) ? t_dns_query(q, nosfx[i], 1) : 0;
		CHECK(n == 0 || md_dns_answer(q, n, hosts, &sfx, a, sizeof a) == 0);
	}
	md_strv_free(&sfx);
	/* PTR: a peer's container name (its line's second name) */
	n = t_dns_query(q, "2.0.0.10.in-addr.arpa", 12);
	len = md_dns_answer(q, n, hosts, NULL, a, sizeof a);
	CHECK(t_dns_count(a, len, 0) == 1 && len == (int)n + 12 + 5 && !memcmp(a + n + 12, "\3web\0", 5));
	n = t_dns_query(q, "1.0.0.127.in-addr.arpa", 12);
	len = md_dns_answer(q, n, hosts, NULL, a, sizeof a);
	CHECK(t_dns_count(a, len, 0) == 1 && !memcmp(a + n + 12, "\x09localhost\0", 11));
	static const char *const noptr[] = {"9.0.0.10.in-addr.arpa", "2.0.0.10.in-addr.arpa.x", "2.0.0.300.in-addr.arpa",
	                                    "2.0.10.in-addr.arpa", "x.2.0.0.10.in-addr.arpa", "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"};
	for (size_t i = 0; i < MD_ARRAY_LEN(noptr); i++) {
		n = t_dns_query(q, noptr[i], 12);
		CHECK(md_dns_answer(q, n, hosts, NULL, a, sizeof a) == 0);
	}
	/* many addresses: as many as fit in 512 bytes */
	struct md_sb b = {0};
	for (int i = 0; i < 40; i++)
		md_sb_printf(&b, "fd00::%x many\n", i + 1);
	n = t_dns_query(q, "many", 28);
	len = md_dns_answer(q, n, b.s, NULL, a, sizeof a);
	CHECK(t_dns_count(a, len, 0) == 16 && len <= MD_DNS_UDP);
	md_sb_free(&b);
	/* hostile: no query at all (dropped) */
	CHECK(md_dns_answer(q, 11, hosts, NULL, a, sizeof a) == -1);
	n = t_dns_query(q, "web", 1);
	q[2] |= 0x80;
	CHECK(md_dns_answer(q, n, hosts, NULL, a, sizeof a) == -1);
	/* malformed: FORMERR, the header alone */
	struct {
		const char *m;
		size_t n;
		int rcode;
	} bad[] = {
		{"\x12\x34\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x03web\x00\x00\x01\x00\x01", 25, 1},          /* two questions */
		{"\x12\x34\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12, 1},                                      /* none */
		{"\x12\x34\x01\x00\x00\x01\x00\x01\x00\x00\x00\x00\x03web\x00\x00\x01\x00\x01", 25, 1},          /* an answer */
		{"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", 18, 1},              /* a pointer */
		{"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09web\x00\x00\x01\x00\x01", 21, 1},          /* label past the end */
		{"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03web", 16, 1},                              /* no end */
		{"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03web\x00\x00\x01", 19, 1},                  /* no class */
		{"\x12\x34\x11\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03web\x00\x00\x01\x00\x01", 21, 4},          /* opcode 2 */
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		len = md_dns_answer((const unsigned char *)bad[i].m, bad[i].n, hosts, NULL, a, sizeof a);
		CHECK(len == 12 && t_dns_count(a, len, bad[i].rcode) == 0 && a[5] == 0);
	}
	/* a name longer than 253, made of 63-byte labels */
	memcpy(q, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	n = 12;
	for (int i = 0; i < 5; i++) {
		q[n++] = 63;
		memset(q + n, 'a', 63);
		n += 63;
	}
	memcpy(q + n, "\0\0\1\0\1", 5);
	len = md_dns_answer(q, n + 5, hosts, NULL, a, sizeof a);
	CHECK(len == 12 && t_dns_count(a, len, 1) == 0);
	/* bytes a hosts file cannot hold (NUL, dot or space in a label), another
	 * class: forwarded, never matched by a prefix */
	static const char odd[][24] = {"\x04web\0", "\x05web.x", "\x04web ", "\x04WEB\t"};
	for (size_t i = 0; i < MD_ARRAY_LEN(odd); i++) {
		memcpy(q, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
		size_t l = (size_t)odd[i][0] + 1;
		memcpy(q + 12, odd[i], l);
		memcpy(q + 12 + l, "\0\0\1\0\1", 5);
		CHECK(md_dns_answer(q, 12 + l + 5, hosts, NULL, a, sizeof a) == 0);
	}
	n = t_dns_query(q, "web", 1);
	q[n - 1] = 3; /* CH */
	CHECK(md_dns_answer(q, n, hosts, NULL, a, sizeof a) == 0);
	/* an empty hosts file answers nothing */
	n = t_dns_query(q, "web", 1);
	CHECK(md_dns_answer(q, n, "", NULL, a, sizeof a) == 0);
	t_end();
}

static void test_net_endpoint(void)
{
	t_begin("network: endpoint settings, links, aliases, names, IPRange and auxiliary addresses");
	char n[256], a[256];
	CHECK(md_link_parse("up:bar", n, a) == 0 && !strcmp(n, "up") && !strcmp(a, "bar"));
	CHECK(md_link_parse("/up", n, a) == 0 && !strcmp(n, "up") && !strcmp(a, "up"));
	CHECK(md_link_parse("up:", n, a) < 0 && md_link_parse(":bar", n, a) < 0 && md_link_parse("u p:bar", n, a) < 0);
	CHECK(md_link_parse("up:b\nar", n, a) < 0 && md_link_parse("up:bar baz", n, a) < 0 && md_link_parse(NULL, n, a) < 0);
	CHECK(md_net_alias_valid("db.local") && md_net_alias_valid("x") && !md_net_alias_valid("") &&
	      !md_net_alias_valid("a b") && !md_net_alias_valid("a\tb") && !md_net_alias_valid("-x"));
	struct md_json *x = t_ep("{\"Aliases\":[\"hello\"],\"DriverOpts\":{\"k\":\"v\"},\"Links\":[\"up:bar\"],"
	                         "\"MacAddress\":\"02:42:ac:11:00:02\",\"IPAMConfig\":{\"IPv4Address\":\"10.9.0.5\","
	                         "\"LinkLocalIPs\":[\"169.254.8.8\"]},\"NetworkID\":\"ignored\"}", 1);
	CHECK(x != NULL);
	CHECK_STR(md_json_gets(x, "IPAddress"), "10.9.0.5");
	CHECK_STR(md_json_gets(x, "MacAddress"), "02:42:ac:11:00:02");
	CHECK_STR(md_json_gets(md_json_get(x, "DriverOpts"), "k"), "v");
	CHECK_STR(md_json_str(md_json_get(x, "Links")->child), "up:bar");
	CHECK_STR(md_json_str(md_json_get(x, "LinkLocalIPs")->child), "169.254.8.8");
	CHECK(!md_json_get(x, "NetworkID"));
	md_json_free(x);
	/* nothing asked: nothing kept (null, empty arrays and objects) */
	x = t_ep("{\"Aliases\":null,\"Links\":[],\"DriverOpts\":{},\"IPAMConfig\":null}", 0);
	CHECK(x && x->n == 0);
	md_json_free(x);
	CHECK((x = t_ep("null", 0)) && x->n == 0);
	md_json_free(x);
	/* the default network takes no address, alias or link */
	static const char *const bad_default[] = {"{\"IPAMConfig\":{\"IPv4Address\":\"172.17.0.9\"}}", "{\"Aliases\":[\"a\"]}",
	                                          "{\"Links\":[\"up:bar\"]}"};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad_default); i++)
		CHECK(!t_ep(bad_default[i], 0) && md_error.kind == MD_EK_INVALID);
	static const char *const bad[] = {
		"[]", "{\"IPAMConfig\":[]}", "{\"IPAMConfig\":{\"IPv4Address\":\"10.1.2\"}}", "{\"Aliases\":\"a\"}",
		"{\"Aliases\":[\"a\\nb\"]}", "{\"Aliases\":[1]}", "{\"Links\":[\"a b\"]}", "{\"Links\":[\"up:bar\\n1.2.3.4 evil\"]}",
		"{\"MacAddress\":\"03:42:ac:11:00:02\"}", "{\"MacAddress\":5}", "{\"DriverOpts\":{\"k\":1}}", "{\"DriverOpts\":[]}",
		"{\"IPAMConfig\":{\"LinkLocalIPs\":[\"10.0.0.1\"]}}", "{\"IPAMConfig\":{\"LinkLocalIPs\":[\"fe80::1\"]}}",
		"{\"IPAMConfig\":{\"IPv6Address\":\"2001:db8::zz\"}}", "{\"GwPriority\":10}",
		"{\"IPAMConfig\":{\"LinkLocalIPs\":[\"169.254.0.1\",\"169.254.0.2\",\"169.254.0.3\",\"169.254.0.4\",\"169.254.0.5\"]}}"};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		x = t_ep(bad[i], 1);
		if (x)
			printf("#   accepted: %s\n", bad[i]);
		CHECK(!x && (md_error.kind == MD_EK_INVALID || md_error.kind == MD_EK_NOTSUP));
		md_json_free(x);
	}
	/* a message shows a bad value on one line */
	CHECK(!t_ep("{\"Links\":[\"up:bar\\n1.2.3.4 evil\"]}", 1) && !strchr(md_errmsg, '\n') && strstr(md_errmsg, "up:bar?1.2.3.4"));
	/* network names: spaces inside, nothing that could be a path or a line */
	CHECK(md_net_name_valid("test 01") && md_net_name_valid("n") && !md_net_name_valid("") && !md_net_name_valid(" x"));
	CHECK(!md_net_name_valid("a/b") && !md_net_name_valid("a\nb") && !md_net_name_valid("container:x"));
	/* IPRange and AuxiliaryAddresses */
	uint32_t net, first, last;
	int prefix;
	CHECK(md_cidr_parse("172.28.0.0/16", &net, &prefix) == 0);
	CHECK(md_net_pool(net, prefix, "172.28.5.0/24", &first, &last) == 0 && first == 0xac1c0500 && last == 0xac1c05ff);
	CHECK(md_net_pool(net, prefix, NULL, &first, &last) == 0 && first == 0xac1c0001 && last == 0xac1cfffe);
	CHECK(md_net_pool(net, prefix, "172.29.5.0/24", &first, &last) < 0 && md_error.kind == MD_EK_INVALID);
	CHECK(md_net_pool(net, prefix, "172.0.0.0/8", &first, &last) < 0 && md_net_pool(net, prefix, "172.28.5.1/24", &first, &last) < 0);
	const char *aj = "{\"a\":\"172.28.1.5\"}";
	struct md_json *aux = md_json_parse(aj, strlen(aj)), *ac = md_net_aux(net, prefix, aux);
	CHECK(ac && ac->n == 1);
	md_json_free(ac);
	md_json_free(aux);
	static const char *const bad_aux[] = {"{\"a\":\"172.29.1.5\"}", "{\"a\":\"172.28.0.0\"}", "{\"a\":\"172.28.255.255\"}",
	                                      "{\"a\":5}", "[\"172.28.1.5\"]"};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad_aux); i++) {
		aux = md_json_parse(bad_aux[i], strlen(bad_aux[i]));
		CHECK(!md_net_aux(net, prefix, aux) && md_error.kind == MD_EK_INVALID);
		md_json_free(aux);
	}
	/* leases: from the range only, never an auxiliary address or the gateway */
	const char *nj = "{\"Name\":\"n\",\"Subnet\":\"10.7.0.0/24\",\"Gateway\":\"10.7.0.8\",\"IPRange\":\"10.7.0.8/30\","
	                 "\"AuxAddresses\":{\"r\":\"10.7.0.9\"}}";
	struct md_json *idx = md_json_new(MD_J_OBJ), *nw = md_json_parse(nj, strlen(nj));
	char ip[32];
	CHECK(md_ipam_lease(idx, nw, "c1", NULL, ip) == 0);
	CHECK_STR(ip, "10.7.0.10");
	CHECK(md_ipam_lease(idx, nw, "c2", NULL, ip) == 0);
	CHECK_STR(ip, "10.7.0.11");
	CHECK(md_ipam_lease(idx, nw, "c3", NULL, ip) < 0);
	CHECK(md_ipam_lease(idx, nw, "c3", "10.7.0.9", ip) < 0 && md_error.kind == MD_EK_CONFLICT);
	CHECK(md_ipam_lease(idx, nw, "c3", "10.7.0.100", ip) == 0); /* a chosen address: anywhere in the subnet */
	md_json_free(nw);
	md_json_free(idx);
	t_end();
}
#endif

/* Go's path.Match table (bytes, not runes), as Docker's reference filter uses it. */
static void test_path_match(void)
{
	t_begin("patterns: Go path.Match semantics, malformed patterns refused");
	static const struct { const char *pat, *s; int want; } v[] = {
		{"abc", "abc", 1}, {"*", "abc", 1}, {"*c", "abc", 1}, {"a*", "a", 1},
		{"a*", "abc", 1}, {"a*", "ab/c", 0}, {"a*/b", "abc/b", 1}, {"a*/b", "a/c/b", 0},
		{"a*b*c*d*e*/f", "axbxcxdxe/f", 1}, {"a*b*c*d*e*/f", "axbxcxdxexxx/f", 1},
		{"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", 0}, {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", 0},
		{"a*b?c*x", "abxbbxdbxebxczzx", 1}, {"a*b?c*x", "abxbbxdbxebxczzy", 0},
		{"ab[c]", "abc", 1}, {"ab[b-d]", "abc", 1}, {"ab[e-g]", "abc", 0},
		{"ab[^c]", "abc", 0}, {"ab[^b-d]", "abc", 0}, {"ab[^e-g]", "abc", 1},
		{"a\\*b", "a*b", 1}, {"a\\*b", "ab", 0}, {"a?b", "a/b", 0}, {"a*b", "a/b", 0},
		{"[\\]a]", "]", 1}, {"[\\-]", "-", 1}, {"[x\\-]", "x", 1}, {"[x\\-]", "-", 1},
		{"[x\\-]", "z", 0}, {"[\\-x]", "x", 1}, {"[\\-x]", "-", 1}, {"[\\-x]", "a", 0},
		{"[]a]", "]", -1}, {"[-]", "-", -1}, {"[x-]", "x", -1}, {"[x-]", "-", -1},
		{"[x-]", "z", -1}, {"[-x]", "x", -1}, {"[-x]", "a", -1}, {"\\", "a", -1},
		{"[a-b-c]", "a", -1}, {"[", "a", -1}, {"[^", "a", -1}, {"[^bc", "a", -1},
		{"a[", "a", -1}, {"a[", "ab", -1}, {"a[", "x", -1}, {"a/b[", "x", -1},
		{"*x", "xxx", 1}, {"", "", 1}, {"", "a", 0}, {"busybox*", "busybox:latest", 1},
		{"*/*", "library/busybox", 1}, {"*", "library/busybox", 0}, {"bb:1[0-9]", "bb:12", 1},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(v); i++) {
		int got = md_path_match(v[i].pat, v[i].s);
		if (got != v[i].want) {
			printf("#   md_path_match(\"%s\", \"%s\") = %d, want %d\n", v[i].pat, v[i].s, got, v[i].want);
			t_bad++;
		}
	}
	/* malformed anywhere is found by matching "" (images checks filters so) */
	CHECK(md_path_match("a*b[", "") < 0 && md_path_match("x*[\\", "") < 0 && md_path_match("a*b", "") == 0);
	/* hostile: many stars against a long near-miss stays quick (first fit, no backtracking) */
	char pat[200], name[4100];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = 0;
	strcpy(pat, "");
	for (int i = 0; i < 60; i++)
		strcat(pat, "a*");
	strcat(pat, "b");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(md_path_match(pat, name) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 5);
	t_end();
}

/* Write n bytes of buf to path and read it back as a kernel config. */
static char *t_kconfig_load(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(buf, 1, n, f) == n);
	if (f)
		fclose(f);
	char *out = md_kconfig_load(path);
	unlink(path);
	return out;
}

static void test_subid(void)
{
	t_begin("subordinate ids: the user's own line, ranges that do not fit 32 bits refused");
	char path[] = "/tmp/md-unit-subid.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	const char *text = "minidockx:1000:10\n"          /* a longer name */
	                   "mini:2000:10\n"               /* a prefix of it */
	                   "minidock\n"                   /* no fields */
	                   "minidock:3000\n"              /* no count */
	                   "minidock:4000:0\n"            /* empty range */
	                   "minidock:4294967296:10\n"     /* base beyond 32 bits */
	                   "minidock:4294967290:10\n"     /* end beyond 32 bits */
	                   "minidock:-5:10\n"
	                   "minidock:x:10\n"
	                   "minidock:100000:65536\n"
	                   "minidock:200000:65536\n"     /* the first good one wins */
	                   "top:4294967285:10\n"          /* last id 4294967294 */
	                   "over:4294967286:10\n";       /* would reach (uid_t)-1 */
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	uint32_t base = 0, count = 0;
	CHECK(md_subid(path, "minidock", &base, &count) == 1);
	CHECK(base == 100000 && count == 65536);
	CHECK(md_subid(path, "minidockx", &base, &count) == 1 && base == 1000 && count == 10);
	CHECK(md_subid(path, "mini", &base, &count) == 1 && base == 2000);
	CHECK(md_subid(path, "top", &base, &count) == 1 && base == 4294967285u && count == 10);
	CHECK(md_subid(path, "over", &base, &count) == 0);
	CHECK(md_subid(path, "nobody", &base, &count) == 0);
	CHECK(md_subid(path, "", &base, &count) == 0);
	CHECK(md_subid("/nonexistent/subuid", "minidock", &base, &count) == 0);
	unlink(path);
	t_end();
}

/* /proc/config.gz is read with inflate (md_decomp), not gzopen: good, truncated, corrupt, plain. */
static void test_kconfig_gunzip(void)
{
	t_begin("kernel config: gzip and plain files, truncated and corrupt gzip refused");
	const char *text = "CONFIG_OVERLAY_FS=y\nCONFIG_VETH=m\n# CONFIG_USER_NS is not set\n";
	unsigned char gz[512];
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	CHECK(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)text;
	zs.avail_in = (uInt)strlen(text);
	zs.next_out = gz;
	zs.avail_out = sizeof gz;
	CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
	size_t n = sizeof gz - zs.avail_out;
	deflateEnd(&zs);
	char dir[] = "/tmp/md-unit-kcfg.XXXXXX", path[64], from[128];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/config.gz", dir);
	char *out = t_kconfig_load(path, gz, n);
	CHECK_STR(out, text);
	free(out);
	CHECK(t_kconfig_load(path, gz, n / 2) == NULL);   /* truncated */
	CHECK(t_kconfig_load(path, gz, 10) == NULL);      /* header only */
	CHECK(t_kconfig_load(path, gz, 0) == NULL);       /* empty */
	unsigned char bad[sizeof gz];
	memcpy(bad, gz, n);
	bad[n - 5] ^= 0xff;                               /* length trailer */
	CHECK(t_kconfig_load(path, bad, n) == NULL);
	memcpy(bad, gz, n);
	bad[12] ^= 0x55;                                  /* deflate data */
	out = t_kconfig_load(path, bad, n);
	CHECK(out == NULL || strcmp(out, text) != 0);
	free(out);
	CHECK(md_errmsg[0] == 0);                         /* a bad candidate leaves no message behind */
	/* through md_kconfig_read, from a given path: gzip and plain */
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(gz, 1, n, f) == n);
	if (f)
		fclose(f);
	out = md_kconfig_read(path, from, sizeof from);
	CHECK_STR(out, text);
	CHECK_STR(from, path);
	CHECK(out && md_kconfig_get(out, "OVERLAY_FS") == 'y' && md_kconfig_get(out, "VETH") == 'm' &&
	      md_kconfig_get(out, "USER_NS") == 0);
	free(out);
	unlink(path);
	snprintf(path, sizeof path, "%s/config", dir);
	f = fopen(path, "w");
	CHECK(f && fputs(text, f) >= 0);
	if (f)
		fclose(f);
	out = md_kconfig_read(path, from, sizeof from);
	CHECK_STR(out, text);
	free(out);
	unlink(path);
	rmdir(dir);
	t_end();
}

static void test_layer_tarsplit(void)
{
	t_begin("layers: unpack and rebuild the identical tar (tar-split)");
	static const struct t_entry plain[] = {
		{"dir", AE_IFDIR, NULL, NULL},
		{"dir/file", AE_IFREG, "content\n", NULL},
		{"dir/empty", AE_IFREG, "", NULL},
		{"dir/link", AE_IFLNK, NULL, "../elsewhere"},
		{"dir/hard", AE_IFREG, NULL, "dir/file"},
		{"implied/deep/file", AE_IFREG, "x", NULL},
		{"fifo", AE_IFIFO, NULL, NULL},
	};
	t_layer_roundtrip("pax", plain, MD_ARRAY_LEN(plain), 0);
	t_layer_roundtrip("gnu", plain, MD_ARRAY_LEN(plain), 1);
	/* later entries replace earlier ones: their content goes to shadow/ */
	static const struct t_entry dup[] = {
		{"a", AE_IFDIR, NULL, NULL},
		{"a/f", AE_IFREG, "first version", NULL},
		{"a/f", AE_IFREG, "second", NULL},
		{"a", AE_IFREG, "a is now a file", NULL},
		{"b", AE_IFREG, "b file", NULL},
		{"b", AE_IFDIR, NULL, NULL},
		{"b/c", AE_IFREG, "in b", NULL},
		{"b", AE_IFLNK, NULL, "a"},
	};
	t_layer_roundtrip("replaced entries", dup, MD_ARRAY_LEN(dup), 0);
	/* a long name needs pax or GNU extension headers */
	char longp[300];
	memset(longp, 'n', 250);
	strcpy(longp + 250, "/file");
	longp[100] = '/';
	struct t_entry lng[] = {{longp, AE_IFREG, "long", NULL}};
	t_layer_roundtrip("long names pax", lng, 1, 0);
	t_layer_roundtrip("long names gnu", lng, 1, 1);
	/* a big file spans many read buffers */
	char *bigdata = malloc(3 << 20);
	for (int i = 0; i < (3 << 20) - 1; i++)
		bigdata[i] = (char)('a' + i % 23);
	bigdata[(3 << 20) - 1] = 0;
	struct t_entry big[] = {{"big", AE_IFREG, bigdata, NULL}, {"after", AE_IFREG, "tail", NULL}};
	t_layer_roundtrip("big file", big, 2, 0);
	free(bigdata);
	/* an empty archive is a valid (empty) layer */
	t_layer_roundtrip("empty", NULL, 0, 0);
	t_end();
}

static void test_layer_hostile(void)
{
	t_begin("layers: hostile entries are refused and named");
	static const struct {
		struct t_entry e[3];
		size_t n;
		const char *msg;
	} cases[] = {
		{{{"/abs", AE_IFREG, "x", NULL}}, 1, "\"/abs\": absolute path"},
		{{{"../up", AE_IFREG, "x", NULL}}, 1, "\"../up\": path contains \"..\""},
		{{{"l", AE_IFLNK, NULL, "/tmp"}, {"l/evil", AE_IFREG, "x", NULL}}, 2, "\"l/evil\": goes through symlink \"l\""},
		{{{"f", AE_IFREG, "x", NULL}, {"f/evil", AE_IFREG, "x", NULL}}, 2, "\"f\" is not a directory"},
		{{{"h", AE_IFREG, NULL, "../../etc/passwd"}}, 1, "hardlink target \"../../etc/passwd\""},
		{{{"h", AE_IFREG, NULL, "nothere"}}, 1, "is not in the layer"},
		{{{"l", AE_IFLNK, NULL, "/etc"}, {"h", AE_IFREG, NULL, "l/passwd"}}, 2, "goes through symlink"},
		{{{".wh...", AE_IFREG, "", NULL}}, 1, "whiteout names a path outside"},
		{{{"dev", AE_IFCHR, NULL, NULL}}, 1, "device nodes are not allowed"},
		{{{"blk", AE_IFBLK, NULL, NULL}}, 1, "device nodes are not allowed"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(cases); i++) {
		char tmpl[] = "/tmp/md-unit-XXXXXX";
		char *dir = mkdtemp(tmpl);
		char *tarp = md_asprintf("%s/in.tar", dir), *ldir = md_asprintf("%s/layer", dir);
		int fd = open(tarp, O_RDWR | O_CREAT | O_TRUNC, 0600);
		char want[MD_DIGEST_LEN + 1];
		struct t_entry es[3];
		memcpy(es, cases[i].e, sizeof es);
		t_make_tar(fd, es, cases[i].n, want, 0);
		struct md_layer_info li;
		int r = md_layer_unpack(md_src_fd(fd), ldir, &li);
		if (r == 0 || !strstr(md_errmsg, cases[i].msg))
			printf("#   case %zu: r=%d message \"%s\", want \"%s\"\n", i, r, md_errmsg, cases[i].msg);
		CHECK(r < 0);
		CHECK(strstr(md_errmsg, cases[i].msg) != NULL);
		CHECK(md_error.kind == MD_EK_INVALID);
		close(fd);
		md_rm_rf(dir);
		free(tarp);
		free(ldir);
	}
	t_end();
}

/* A source that gives `left` bytes of fd, then fails as a full disk does
 * while a pull saves its partial blob. */
struct t_failsrc {
	int fd;
	size_t left;
};

static ssize_t t_failsrc_read(void *ctx, void *buf, size_t n)
{
	struct t_failsrc *f = ctx;
	if (!f->left) {
		errno = ENOSPC;
		return md_errno("write partial blob");
	}
	ssize_t k = read(f->fd, buf, n < f->left ? n : f->left);
	if (k > 0)
		f->left -= (size_t)k;
	return k;
}

/* What the host failed to do is internal (a pull keeps its partial blob);
 * what the layer got wrong is invalid (a pull deletes it). */
static void test_layer_host_failure(void)
{
	t_begin("layers: a full disk or a failing source is internal, a corrupt entry invalid");
	char tmpl[] = "/tmp/md-unit-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *tarp = md_asprintf("%s/in.tar", dir), *ldir = md_asprintf("%s/layer", dir);
	char *big = malloc(256 << 10);
	memset(big, 'x', (256 << 10) - 1);
	big[(256 << 10) - 1] = 0;
	struct t_entry es[] = {{"d", AE_IFDIR, NULL, NULL}, {"d/big", AE_IFREG, big, NULL}};
	int fd = open(tarp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char want[MD_DIGEST_LEN + 1];
	t_make_tar(fd, es, 2, want, 0);
	struct md_layer_info li;
	/* the source fails in the middle of an entry: its own error and kind */
	struct t_failsrc fs = {fd, 4096};
	int r = md_layer_unpack((struct md_src){t_failsrc_read, &fs}, ldir, &li);
	if (r == 0 || md_error.kind != MD_EK_INTERNAL || !strstr(md_errmsg, "write partial blob"))
		printf("#   failing source: r=%d kind %d \"%s\"\n", r, (int)md_error.kind, md_errmsg);
	CHECK(r < 0 && md_error.kind == MD_EK_INTERNAL && md_error.errnum == ENOSPC);
	CHECK(strstr(md_errmsg, "entry \"d/big\": write partial blob: ") == md_errmsg);
	md_rm_rf(ldir);
	/* the same tar cut short inside the file: the layer is wrong */
	struct stat st;
	fstat(fd, &st);
	char *cutp = md_asprintf("%s/cut.tar", dir);
	int cfd = open(cutp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char buf[8192];
	CHECK(pread(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf && write(cfd, buf, sizeof buf) == (ssize_t)sizeof buf);
	lseek(cfd, 0, SEEK_SET);
	r = md_layer_unpack(md_src_fd(cfd), ldir, &li);
	if (r == 0 || md_error.kind != MD_EK_INVALID)
		printf("#   truncated tar: r=%d kind %d \"%s\"\n", r, (int)md_error.kind, md_errmsg);
	CHECK(r < 0 && md_error.kind == MD_EK_INVALID);
	md_rm_rf(ldir);
	close(cfd);
	free(cutp);
	/* a full disk (a 64 KiB tmpfs, in a mount namespace of a child's own) */
	if (geteuid() != 0) {
		printf("#   full disk: skipped, needs root (mounts a tmpfs)\n");
	} else {
		int pp[2];
		CHECK(pipe(pp) == 0);
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			close(pp[0]);
			char *small = md_asprintf("%s/small", dir), *sl = md_asprintf("%s/small/layer", dir);
			struct md_error got = {MD_EK_INVALID, 0, "cannot mount a tmpfs"};
			lseek(fd, 0, SEEK_SET);
			if (mkdir(small, 0700) == 0 && unshare(CLONE_NEWNS) == 0 &&
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
			    mount("tmpfs", small, "tmpfs", 0, "size=64k") == 0) {
				got.kind = MD_EK_NOTFOUND;
				if (md_layer_unpack(md_src_fd(fd), sl, &li) < 0)
					got = md_error;
			}
			_exit(write(pp[1], &got, sizeof got) == (ssize_t)sizeof got ? 0 : 1);
		}
		close(pp[1]);
		struct md_error got = {MD_EK_NOTFOUND, 0, "no answer"};
		CHECK(read(pp[0], &got, sizeof got) == (ssize_t)sizeof got);
		close(pp[0]);
		waitpid(pid, NULL, 0);
		if (got.kind != MD_EK_INTERNAL || got.errnum != ENOSPC)
			printf("#   full disk: kind %d errno %d \"%s\"\n", (int)got.kind, got.errnum, got.msg);
		CHECK(got.kind == MD_EK_INTERNAL && got.errnum == ENOSPC);
		CHECK(strstr(got.msg, "entry \"d/big\": write: ") == got.msg);
	}
	close(fd);
	md_rm_rf(dir);
	free(big);
	free(tarp);
	free(ldir);
	md_err_clear();
	t_end();
}

static void test_decompress(void)
{
	t_begin("decompression: gzip, multi-member gzip, garbage, truncation");
	char tmpl[] = "/tmp/md-unit-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *p = md_asprintf("%s/x.gz", dir);
	/* two gzip members back to back decode as one stream */
	for (int k = 0; k < 2; k++) {
		gzFile g = gzopen(p, k ? "ab" : "wb");
		gzputs(g, k ? "world\n" : "hello ");
		gzclose(g);
	}
	int fd = open(p, O_RDONLY);
	struct md_decomp z;
	CHECK(md_decomp_open(&z, md_src_fd(fd), 0) == 0 && z.kind == MD_Z_GZIP);
	char buf[64];
	size_t got = 0;
	ssize_t n;
	while ((n = md_decomp_read(&z, buf + got, sizeof buf - got)) > 0)
		got += (size_t)n;
	CHECK(n == 0 && got == 12 && memcmp(buf, "hello world\n", 12) == 0);
	md_decomp_close(&z);
	close(fd);
	/* garbage after the stream */
	fd = open(p, O_WRONLY | O_APPEND);
	CHECK(write(fd, "JUNK", 4) == 4);
	close(fd);
	fd = open(p, O_RDONLY);
	CHECK(md_decomp_open(&z, md_src_fd(fd), 0) == 0);
	while ((n = md_decomp_read(&z, buf, sizeof buf)) > 0)
		;
	CHECK(n < 0 && strstr(md_errmsg, "after the end of the gzip stream"));
	md_decomp_close(&z);
	close(fd);
	/* truncated stream */
	struct stat st;
	stat(p, &st);
	CHECK(truncate(p, st.st_size - 14) == 0);
	fd = open(p, O_RDONLY);
	CHECK(md_decomp_open(&z, md_src_fd(fd), 0) == 0);
	while ((n = md_decomp_read(&z, buf, sizeof buf)) > 0)
		;
	CHECK(n < 0 && strstr(md_errmsg, "truncated"));
	md_decomp_close(&z);
	close(fd);
	md_rm_rf(dir);
	free(p);
	t_end();
}

/* ---- runtime parsers ---- */

static void test_sizes_signals(void)
{
	t_begin("runtime: sizes, signals, capabilities");
	CHECK(md_parse_size("0") == 0);
	CHECK(md_parse_size("512") == 512);
	CHECK(md_parse_size("1k") == 1024);
	CHECK(md_parse_size("64m") == 64 << 20);
	CHECK(md_parse_size("1.5g") == (int64_t)(1.5 * (1 << 30)));
	CHECK(md_parse_size("10MB") == 10 << 20);
	CHECK(md_parse_size("2GiB") == 2LL << 30);
	static const char *const badsz[] = {"", "abc", "-1", "1x", "5 m", "1e999", "1kk", "m"};
	for (size_t i = 0; i < MD_ARRAY_LEN(badsz); i++)
		CHECK(md_parse_size(badsz[i]) < 0);
	CHECK(md_parse_size(NULL) < 0);
	CHECK(md_parse_signal("SIGTERM") == SIGTERM);
	CHECK(md_parse_signal("term") == SIGTERM);
	CHECK(md_parse_signal("KILL") == SIGKILL);
	CHECK(md_parse_signal("9") == 9);
	CHECK(md_parse_signal("SIGRTMIN+2") == SIGRTMIN + 2);
	CHECK(md_parse_signal("0") < 0);
	CHECK(md_parse_signal("999") < 0);
	CHECK(md_parse_signal("SIGNOPE") < 0);
	CHECK(md_parse_signal("9x") < 0);
	CHECK(md_parse_signal("") < 0);
	CHECK(md_cap_parse("NET_ADMIN") == 12);
	CHECK(md_cap_parse("cap_net_admin") == 12);
	CHECK(md_cap_parse("all") == 64);
	CHECK(md_cap_parse("CAP_") < 0);
	CHECK(md_cap_parse("bogus") < 0);
	struct md_json *hc = md_json_parse("{}", 2);
	uint64_t caps;
	CHECK(md_caps_compute(hc, &caps) == 0 && caps == (MD_CAPS_DEFAULT & md_caps_own()));
	CHECK(caps == 0xa80425fbull || (md_caps_own() & 0xa80425fbull) != 0xa80425fbull);
	md_json_free(hc);
	const char *d = "{\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"NET_ADMIN\",\"cap_chown\"]}";
	hc = md_json_parse(d, strlen(d));
	CHECK(md_caps_compute(hc, &caps) == 0 && caps == ((1ull << 12) | 1ull));
	md_json_free(hc);
	d = "{\"CapAdd\":[\"NOT_A_CAP\"]}";
	hc = md_json_parse(d, strlen(d));
	CHECK(md_caps_compute(hc, &caps) < 0 && strstr(md_errmsg, "NOT_A_CAP"));
	md_json_free(hc);
	t_end();
}

static void test_secure_join(void)
{
	t_begin("runtime: mount targets resolve inside the root");
	char tmpl[] = "/tmp/md-unit-XXXXXX";
	char *root = mkdtemp(tmpl);
	char p[PATH_MAX], out[PATH_MAX];
	snprintf(p, sizeof p, "%s/etc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/abs", root);
	CHECK(symlink("/etc", p) == 0);
	snprintf(p, sizeof p, "%s/up", root);
	CHECK(symlink("../../../..", p) == 0);
	snprintf(p, sizeof p, "%s/loop", root);
	CHECK(symlink("loop", p) == 0);
	snprintf(p, sizeof p, "%s/rel", root);
	CHECK(symlink("etc/x", p) == 0);
	char want[PATH_MAX];
	CHECK(md_secure_join(root, "/abs/passwd", out, sizeof out) == 0);
	snprintf(want, sizeof want, "%s/etc/passwd", root);
	CHECK_STR(out, want);
	CHECK(md_secure_join(root, "/up/etc/passwd", out, sizeof out) == 0);
	CHECK_STR(out, want);
	CHECK(md_secure_join(root, "/../../etc/passwd", out, sizeof out) == 0);
	CHECK_STR(out, want);
	CHECK(md_secure_join(root, "/rel", out, sizeof out) == 0);
	snprintf(want, sizeof want, "%s/etc/x", root);
	CHECK_STR(out, want);
	CHECK(md_secure_join(root, "/loop/a", out, sizeof out) < 0 && strstr(md_errmsg, "symbolic links"));
	md_rm_rf(root);
	t_end();
}

/* What fd names, as the kernel sees it. */
static void t_fd_path(int fd, char *out, size_t n)
{
	char l[64];
	snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
	ssize_t k = readlink(l, out, n - 1);
	out[k > 0 ? k : 0] = 0;
}

static void test_root_open(void)
{
	char tmpl[] = "/tmp/md-unit-XXXXXX";
	char *top = mkdtemp(tmpl), root[64], p[PATH_MAX], got[PATH_MAX], want[PATH_MAX];
	snprintf(root, sizeof root, "%s/root", top);
	mkdir(root, 0755);
	snprintf(p, sizeof p, "%s/outside", top);
	mkdir(p, 0755);
	static const char *const dirs[] = {"etc", "a", "a/b"};
	for (size_t i = 0; i < MD_ARRAY_LEN(dirs); i++) {
		snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
		mkdir(p, 0755);
	}
	static const char *const links[][2] = {
		{"abs", "/etc"}, {"up", "../../../.."}, {"loop", "loop"}, {"out", "../outside"},
		{"a/b/back", "../../etc"}, {"deep", "/../../../../../../../../tmp"}};
	for (size_t i = 0; i < MD_ARRAY_LEN(links); i++) {
		snprintf(p, sizeof p, "%s/%s", root, links[i][0]);
		CHECK(symlink(links[i][1], p) == 0);
	}
	snprintf(p, sizeof p, "%s/etc/passwd", root);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char escape[64], longname[NAME_MAX + 8];
	snprintf(escape, sizeof escape, "md-unit-escape-%d", (int)getpid());
	memset(longname, 'a', NAME_MAX + 1);
	longname[NAME_MAX + 1] = 0;
	/* the kernel's walk (openat2) and ours (old kernels) must agree */
	for (int walk = 0; walk < 2; walk++) {
		t_begin(walk ? "runtime: mount points open inside the root (component walk)"
		             : "runtime: mount points open inside the root (openat2)");
		md_no_openat2 = walk;
		int fd = md_root_open(rootfd, "/etc//./passwd", MD_MK_NONE, "/etc/passwd");
		t_fd_path(fd, got, sizeof got);
		snprintf(want, sizeof want, "%s/etc/passwd", root);
		CHECK(fd >= 0);
		CHECK_STR(got, want);
		close(fd);
		fd = md_root_open(rootfd, "", MD_MK_NONE, "/");
		t_fd_path(fd, got, sizeof got);
		CHECK_STR(got, root);
		close(fd);
		/* a symlink anywhere on the way is refused, never followed */
		static const char *const bad[] = {"abs/passwd", "abs", "up/tmp", "loop", "loop/x", "out/x",
		                                  "a/b/back/passwd", "deep"};
		for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
			errno = 0;
			CHECK(md_root_open(rootfd, bad[i], MD_MK_DIR, "/x") < 0 && errno == ELOOP);
			CHECK(strstr(md_errmsg, "mount point /x: ") && strstr(md_errmsg, "symbolic link"));
		}
		/* nothing made through them, nor by climbing out */
		char made[PATH_MAX + 64];
		snprintf(made, sizeof made, "%s/%s", "../outside", escape);
		CHECK(md_root_open(rootfd, made, MD_MK_DIR, "/x") < 0);
		snprintf(made, sizeof made, "abs/%s", escape);
		CHECK(md_root_open(rootfd, made, MD_MK_FILE, "/x") < 0 && errno == ELOOP);
		snprintf(made, sizeof made, "/etc/%s", escape);
		CHECK(!md_path_exists(made));
		snprintf(made, sizeof made, "%s/outside/%s", top, escape);
		CHECK(!md_path_exists(made));
		/* a file on the way, a name too long, a missing path without mk */
		CHECK(md_root_open(rootfd, "etc/passwd/x", MD_MK_DIR, "/x") < 0 && errno == ENOTDIR);
		snprintf(made, sizeof made, "a/%s/x", longname);
		CHECK(md_root_open(rootfd, made, MD_MK_DIR, "/x") < 0 && errno == ENAMETOOLONG);
		CHECK(md_root_open(rootfd, "no/such", MD_MK_NONE, "/no/such") < 0 && errno == ENOENT);
		CHECK(strstr(md_errmsg, "mount point /no/such: ") != NULL);
		/* missing components are made inside the root */
		const char *mkd = walk ? "w/new/dir" : "o/new/dir", *mkf = walk ? "w/file" : "o/file";
		struct stat st;
		fd = md_root_open(rootfd, mkd, MD_MK_DIR, "/x");
		CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode));
		t_fd_path(fd, got, sizeof got);
		snprintf(want, sizeof want, "%s/%s", root, mkd);
		CHECK_STR(got, want);
		close(fd);
		fd = md_root_open(rootfd, mkf, MD_MK_FILE, "/x");
		CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
		close(fd);
		/* Docker's way for volumes: resolve inside the root first, then open */
		CHECK(md_secure_join(root, "/abs/passwd", p, sizeof p) == 0);
		fd = md_root_open(rootfd, p + strlen(root), MD_MK_NONE, "/abs/passwd");
		t_fd_path(fd, got, sizeof got);
		snprintf(want, sizeof want, "%s/etc/passwd", root);
		CHECK_STR(got, want);
		close(fd);
		CHECK(md_secure_join(root, "/deep/x", p, sizeof p) == 0);
		fd = md_root_open(rootfd, p + strlen(root), MD_MK_DIR, "/deep/x");
		t_fd_path(fd, got, sizeof got);
		snprintf(want, sizeof want, "%s/tmp/x", root);
		CHECK_STR(got, want);
		close(fd);
		t_end();
	}
	md_no_openat2 = 0;
	t_begin("runtime: /proc, /dev and /sys must be directories of the image");
	snprintf(p, sizeof p, "%s/proc", root);
	CHECK(symlink("/../../tmp", p) == 0);
	snprintf(p, sizeof p, "%s/sys", root);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	CHECK(md_child_kernel_dir(rootfd, "proc") < 0 &&
	      strcmp(md_errmsg, "/proc in the image is a symbolic link: it must be a directory") == 0);
	CHECK(md_child_kernel_dir(rootfd, "sys") < 0 && strstr(md_errmsg, "/sys in the image is not a directory"));
	CHECK(md_child_kernel_dir(rootfd, "dev") == 0); /* missing: made later */
	CHECK(md_child_kernel_dir(rootfd, "etc") == 0);
	t_end();
	close(rootfd);
	md_rm_rf(top);
}

static struct md_json *t_run(int argc, char **argv)
{
	struct md_args a;
	memset(&a, 0, sizeof a);
	if (md_args_parse(&a, md_opts_run, argc, argv, 1) < 0) {
		md_args_free(&a);
		return NULL;
	}
	struct md_json *r = md_run_request(&a);
	md_args_free(&a);
	return r;
}

static void test_health_flags(void)
{
	t_begin("healthchecks: --health-* flags, Docker's checks and merge with the image's");
	char *ok[] = {"--health-cmd", "curl -f x || exit 1", "--health-interval", "1m30s", "--health-timeout", "500ms",
	              "--health-start-period", "2s", "--health-start-interval", "0.2s", "--health-retries", "4", "img"};
	struct md_json *r = t_run((int)MD_ARRAY_LEN(ok), ok);
	struct md_json *hc = md_json_get(md_json_get(r, "Config"), "Healthcheck");
	CHECK_STR(md_json_str(md_json_at(md_json_get(hc, "Test"), 0)), "CMD-SHELL");
	CHECK_STR(md_json_str(md_json_at(md_json_get(hc, "Test"), 1)), "curl -f x || exit 1");
	CHECK(md_json_geti(hc, "Interval", 0) == 90000000000LL);
	CHECK(md_json_geti(hc, "Timeout", 0) == 500000000LL);
	CHECK(md_json_geti(hc, "StartPeriod", 0) == 2000000000LL);
	CHECK(md_json_geti(hc, "StartInterval", 0) == 200000000LL);
	CHECK(md_json_geti(hc, "Retries", 0) == 4);
	CHECK(md_create_healthcheck_check(md_json_get(r, "Config")) == 0);
	md_json_free(r);
	char *none[] = {"--no-healthcheck", "img"};
	r = t_run(2, none);
	char *js = r ? md_json_dump(md_json_get(md_json_get(r, "Config"), "Healthcheck"), 0) : NULL;
	CHECK_STR(js ? js : "", "{\"Test\":[\"NONE\"]}");
	free(js);
	md_json_free(r);
	static const char *const bad[][5] = {
		{"--no-healthcheck", "--health-retries", "2", "conflicts with --health-*"},
		{"--health-interval", "5", "", "missing unit"},
		{"--health-timeout", "-1s", "", "invalid duration"},
		{"--health-retries", "-1", "", "cannot be negative"},
		{"--health-retries", "x", "", "not an integer"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		char *argv[4] = {(char *)bad[i][0], (char *)bad[i][1], (char *)bad[i][2], "img"};
		int argc = 4;
		if (!*bad[i][2])
			argv[2] = "img", argc = 3;
		md_errmsg[0] = 0;
		r = t_run(argc, argv);
		if (r || !strstr(md_errmsg, bad[i][3]))
			printf("#   %s %s: \"%s\"\n", bad[i][0], bad[i][1], md_errmsg);
		CHECK(r == NULL && strstr(md_errmsg, bad[i][3]));
		md_json_free(r);
	}
	/* the daemon's checks of a request's Healthcheck */
	static const char *const badcc[][2] = {
		{"{\"Healthcheck\":{\"Interval\":999}}", "Interval in Healthcheck cannot be less than 1ms"},
		{"{\"Healthcheck\":{\"StartPeriod\":-5}}", "StartPeriod in Healthcheck cannot be less than 1ms"},
		{"{\"Healthcheck\":{\"Retries\":-1}}", "Retries in Healthcheck cannot be negative"},
		{"{\"Healthcheck\":{\"Test\":[\"SHELL\",\"true\"]}}", "unknown Healthcheck test type"},
		{"{\"Healthcheck\":{\"Test\":[\"CMD\"]}}", "needs a command"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(badcc); i++) {
		struct md_json *cc = md_json_parse(badcc[i][0], strlen(badcc[i][0]));
		md_errmsg[0] = 0;
		CHECK(md_create_healthcheck_check(cc) < 0 && strstr(md_errmsg, badcc[i][1]));
		md_json_free(cc);
	}
	/* merged as Docker: the image's check, what the request leaves unset */
	static const char *const merge[][3] = {
		{"{}", "{\"Healthcheck\":{\"Test\":[\"CMD\",\"a\"],\"Retries\":5}}", "{\"Test\":[\"CMD\",\"a\"],\"Retries\":5}"},
		{"{\"Healthcheck\":{\"Interval\":1000000000}}", "{\"Healthcheck\":{\"Test\":[\"CMD\",\"a\"],\"Retries\":5}}",
		 "{\"Interval\":1000000000,\"Test\":[\"CMD\",\"a\"],\"Retries\":5}"},
		{"{\"Healthcheck\":{\"Test\":[\"NONE\"]}}", "{\"Healthcheck\":{\"Test\":[\"CMD\",\"a\"]}}", "{\"Test\":[\"NONE\"]}"},
		{"{}", "{}", "null"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(merge); i++) {
		struct md_json *cc = md_json_parse(merge[i][0], strlen(merge[i][0]));
		struct md_json *ic = md_json_parse(merge[i][1], strlen(merge[i][1]));
		struct md_json *nc = md_json_clone(cc);
		md_create_healthcheck(nc, cc, ic);
		struct md_json *got = md_json_get(nc, "Healthcheck");
		char *gs = got ? md_json_dump(got, 0) : md_strdup("null");
		if (strcmp(gs, merge[i][2]))
			printf("#   merge %zu: %s\n", i, gs);
		CHECK_STR(gs, merge[i][2]);
		free(gs);
		md_json_free(nc);
		md_json_free(cc);
		md_json_free(ic);
	}
	t_end();
}

static void test_cg_rules(void)
{
	t_begin("cgroups: --device-cgroup-rule parser (hostile values refused)");
	struct md_cg_dev d;
	CHECK(md_cg_rule_parse("c 1:3 rwm", &d) == 0 && d.type == 'c' && d.major == 1 && d.minor == 3);
	CHECK_STR(d.access, "rwm");
	CHECK(md_cg_rule_parse("b *:* m", &d) == 0 && d.type == 'b' && d.major == -1 && d.minor == -1);
	CHECK(md_cg_rule_parse("a 7:* rw", &d) == 0 && d.type == 'a' && d.major == 7 && d.minor == -1);
	CHECK(md_cg_rule_parse("c 4095:1048575 r", &d) == 0 && d.major == 4095 && d.minor == 1048575);
	char fmt[80];
	CHECK(md_cg_rule_parse("c 7:128 rwm", &d) == 0);
	md_cg_dev_fmt(&d, 'c', fmt, sizeof fmt);
	CHECK_STR(fmt, "c 7:128 rwm");
	static const char *const bad[] = {"", "c", "c 1:3", "c 1:3 ", "c 1:3 rwmx", "c 1:3 rwmr", "x 1:3 rwm",
	                                  "C 1:3 rwm", "c  1:3 rwm", "c 1 :3 rwm", "c 1: 3 rwm", "c 1:3  rwm",
	                                  "c -1:3 rwm", "c 1:-3 rwm", "c 4096:0 rwm", "c 0:1048576 r",
	                                  "c 99999999999999999999999:1 r", "c 1:3 rwm\na", "c 1:3 rwm extra",
	                                  "c 1:3 rwm ", "c :3 r", "c 1: r", "c 1:3 \tr", "a", "c *3:1 r", "c 0x1:1 r"};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		md_err_clear();
		if (md_cg_rule_parse(bad[i], &d) == 0 || md_error.kind != MD_EK_INVALID) {
			printf("#   accepted \"%s\"\n", bad[i]);
			t_bad++;
		}
	}
	/* the v2 program takes the parsed rules (one rule: 8 + 8 instructions at most) */
	struct md_bpf_insn ins[16];
	CHECK(md_cg_rule_parse("c 7:128 rw", &d) == 0);
	CHECK(md_cg_bpf_build(&d, 1, ins) <= 16);
	/* create refuses a bad rule before anything is made */
	struct md_json *hc = md_json_parse("{\"DeviceCgroupRules\":[\"c 1:3 rwm\",\"c 1:3 rw m\"]}", strlen("{\"DeviceCgroupRules\":[\"c 1:3 rwm\",\"c 1:3 rw m\"]}"));
	CHECK(hc && md_hostconfig_validate(hc) < 0 && md_error.kind == MD_EK_INVALID);
	md_json_free(hc);
	hc = md_json_parse("{\"DeviceCgroupRules\":[3]}", strlen("{\"DeviceCgroupRules\":[3]}"));
	CHECK(hc && md_hostconfig_validate(hc) < 0 && md_error.kind == MD_EK_INVALID);
	md_json_free(hc);
	hc = md_json_parse("{\"DeviceCgroupRules\":[\"c 7:128 rwm\",\"b *:* m\"]}", strlen("{\"DeviceCgroupRules\":[\"c 7:128 rwm\",\"b *:* m\"]}"));
	CHECK(hc && md_hostconfig_validate(hc) == 0);
	struct md_cg_dev devs[MD_CG_MAXDEVS];
	struct md_cg_limits lim;
	md_cg_limits_from(hc, &lim, devs, MD_ARRAY_LEN(devs));
	CHECK(lim.ndevs == md_cg_default_devices(NULL, 0) + 2);
	CHECK(lim.ndevs >= 2 && devs[lim.ndevs - 2].major == 7 && devs[lim.ndevs - 1].type == 'b');
	md_json_free(hc);
	t_end();
}

static void test_mount_specs(void)
{
	t_begin("mounts: bind propagation, volume subpaths (hostile values refused)");
	CHECK(md_mount_propagation("rshared") == (MS_REC | MS_SHARED));
	CHECK(md_mount_propagation("slave") == MS_SLAVE);
	CHECK(md_mount_propagation("rprivate") == (MS_REC | MS_PRIVATE));
	CHECK(md_mount_propagation("") == 0 && md_mount_propagation("RSHARED") == 0 && md_mount_propagation(NULL) == 0 &&
	      md_mount_propagation("rshared ") == 0);
	static const char *const good[] = {"sub", "a/b/c", "./a", "a/./b/", "..a", "a..", "a/...", ".hidden"};
	for (size_t i = 0; i < MD_ARRAY_LEN(good); i++)
		CHECK(md_mount_subpath_check(good[i]) == 0);
	static const char *const bad[] = {"", "/", "/etc", "..", "../x", "a/..", "a/../b", "a/../../b", "./..",
	                                  "a//..", "x\ny", "x\x7f", "\tx"};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		md_err_clear();
		if (md_mount_subpath_check(bad[i]) == 0 || md_error.kind != MD_EK_INVALID) {
			printf("#   accepted subpath \"%s\"\n", bad[i]);
			t_bad++;
		}
	}
	struct md_json *ms = md_json_new(MD_J_ARR);
	struct md_strv nv = {0};
	CHECK(md_bind_parse(ms, "/:/h:ro,rshared", &nv) == 0);
	CHECK_STR(md_json_gets(ms->last, "Propagation"), "rshared");
	CHECK(md_json_is(md_json_get(ms->last, "RW"), MD_J_FALSE));
	CHECK(md_bind_parse(ms, "/:/h2", &nv) == 0);
	CHECK_STR(md_json_gets(ms->last, "Propagation"), "rprivate");
	CHECK(md_mount_parse(ms, "type=bind,src=/,dst=/h3,bind-propagation=slave", &nv) == 0);
	CHECK_STR(md_json_gets(ms->last, "Propagation"), "slave");
	CHECK(md_bind_parse(ms, "/:/h:rshared,rslave", &nv) < 0);
	CHECK(md_bind_parse(ms, "/:/h:shared:x", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=bind,src=/,dst=/h3,bind-propagation=rshared2", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=tmpfs,dst=/h3,bind-propagation=rshared", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=bind,src=/,dst=/h3,volume-subpath=a", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=volume,src=v,dst=/h3,volume-subpath=../a", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=tmpfs,dst=/h3,tmpfs-mode=07,7", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=tmpfs,dst=/h3,tmpfs-mode=x", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=bind,src=/,dst=/h3,tmpfs-size=1m", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=bind,src=/,dst=/h3,volume-nocopy", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=bind,src=/,dst=/h3,volume-label=a=b", &nv) < 0);
	CHECK(md_mount_parse(ms, "type=tmpfs,dst=/h4,tmpfs-mode=1777,tmpfs-size=1k", &nv) == 0);
	CHECK_STR(md_json_gets(ms->last, "Options"), "mode=1777,size=1024");
	CHECK(ms->n == 4 && nv.n == 0);
	md_json_free(ms);
	md_strv_free(&nv);
	/* the API's Mounts objects: what minidock applies becomes --mount's words, the rest is refused */
	static const char *const ok[][2] = {
	        {"{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"SizeBytes\":1048576,\"Mode\":448}}",
	         "type=tmpfs,target=/t,tmpfs-size=1048576,tmpfs-mode=700"},
	        {"{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\",\"ReadOnly\":true,\"VolumeOptions\":{\"NoCopy\":true,"
	         "\"Labels\":{\"a\":\"1\"},\"Subpath\":\"s\",\"DriverConfig\":{\"Name\":\"local\"}}}",
	         "type=volume,source=v,target=/v,readonly,volume-subpath=s,volume-nocopy,volume-label=a=1"},
	        {"{\"Type\":\"bind\",\"Source\":\"/a\",\"Target\":\"/b\",\"Consistency\":\"default\",\"BindOptions\":"
	         "{\"Propagation\":\"rslave\",\"NonRecursive\":false},\"ClusterOptions\":{}}",
	         "type=bind,source=/a,target=/b,bind-propagation=rslave"}};
	for (size_t i = 0; i < MD_ARRAY_LEN(ok); i++) {
		struct md_json *b = md_json_parse(ok[i][0], strlen(ok[i][0]));
		char *sp = b ? md_create_mount_spec(b) : NULL;
		CHECK_STR(sp, ok[i][1]);
		free(sp);
		md_json_free(b);
	}
	static const char *const no[] = {
	        "{\"Type\":\"bind\",\"Source\":\"/a\",\"Target\":\"/b\",\"BindOptions\":{\"NonRecursive\":true}}",
	        "{\"Type\":\"volume\",\"Target\":\"/b\",\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"nfs\"}}}",
	        "{\"Type\":\"volume\",\"Target\":\"/b\",\"VolumeOptions\":{\"DriverConfig\":{\"Options\":{\"o\":\"x\"}}}}",
	        "{\"Type\":\"tmpfs\",\"Target\":\"/b\",\"TmpfsOptions\":{\"Options\":[[\"noexec\"]]}}",
	        "{\"Type\":\"tmpfs\",\"Target\":\"/b\",\"TmpfsOptions\":{\"Mode\":70000}}",
	        "{\"Type\":\"bind\",\"Source\":\"/a,readonly=false\",\"Target\":\"/b\"}",
	        "{\"Type\":\"volume\",\"Target\":\"/b\",\"VolumeOptions\":{\"Subpath\":\"a,b\"}}",
	        "{\"Type\":\"volume\",\"Target\":\"/b\",\"VolumeOptions\":{\"Labels\":{\"a\":\"1,type=bind\"}}}",
	        "{\"Type\":\"volume\",\"Target\":\"/b\",\"VolumeOptions\":{\"Labels\":{\"a=b\":\"1\"}}}",
	        "{\"Type\":\"image\",\"Target\":\"/b\",\"ImageOptions\":{\"Subpath\":\"x\"}}",
	        "{\"Type\":\"bind\",\"Target\":\"/b\",\"Frobnicate\":1}"};
	for (size_t i = 0; i < MD_ARRAY_LEN(no); i++) {
		struct md_json *b = md_json_parse(no[i], strlen(no[i]));
		md_err_clear();
		char *sp = b ? md_create_mount_spec(b) : NULL;
		if (!b || sp || md_error.kind != MD_EK_INVALID) {
			printf("#   accepted %s as %s\n", no[i], sp ? sp : "?");
			t_bad++;
		}
		free(sp);
		md_json_free(b);
	}
	t_end();
}

static void test_links(void)
{
	t_begin("links: NAME[:ALIAS] parser (hostile values refused), Docker's variables");
	char n[256], a[256];
	CHECK(md_link_parse("db:webdb", n, a) == 0);
	CHECK_STR(n, "db");
	CHECK_STR(a, "webdb");
	CHECK(md_link_parse("/db", n, a) == 0);
	CHECK_STR(n, "db");
	CHECK_STR(a, "db");
	CHECK(md_link_parse("my-db.1:a_b-c.d", n, a) == 0);
	CHECK_STR(a, "a_b-c.d");
	static const char *const bad[] = {"", ":", "db:", ":x", "db:a b", "db:a\nb", "db:a/b", "db:a:b", "db:-x",
	                                  "db:.x", "d b:x", "db\n:x", "../db:x", "db:a\tb", "db:a=b", "db:$(x)", NULL};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		md_err_clear();
		if (md_link_parse(bad[i], n, a) == 0 || md_error.kind != MD_EK_INVALID) {
			printf("#   accepted link \"%s\"\n", bad[i] ? bad[i] : "(null)");
			t_bad++;
		}
	}
	char longname[400];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	CHECK(md_link_parse(longname, n, a) < 0);
	struct md_json *env = md_json_new(MD_J_ARR);
	const char *oj = "{\"Env\":[\"FOO=1\",\"PATH=/bin\",\"HOME=/r\",\"X=a=b\"],"
	                 "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{},\"53/tcp\":{},\"0/tcp\":{},\"x/tcp\":{}}}";
	struct md_json *occ = md_json_parse(oj, strlen(oj));
	CHECK(occ != NULL);
	md_spec_link_env(env, "web", "my-db", "10.0.0.2", occ);
	char *js = md_json_dump(env, 0);
	CHECK(strstr(js, "\"MY_DB_NAME=/web/my-db\"") != NULL);
	CHECK(strstr(js, "\"MY_DB_PORT=tcp://10.0.0.2:53\"") != NULL);
	CHECK(strstr(js, "\"MY_DB_PORT_80_TCP=tcp://10.0.0.2:80\"") != NULL);
	CHECK(strstr(js, "\"MY_DB_PORT_53_UDP_ADDR=10.0.0.2\"") != NULL);
	CHECK(strstr(js, "\"MY_DB_PORT_80_TCP_PORT=80\"") != NULL);
	CHECK(strstr(js, "\"MY_DB_PORT_53_UDP_PROTO=udp\"") != NULL);
	CHECK(strstr(js, "\"MY_DB_ENV_FOO=1\"") != NULL && strstr(js, "\"MY_DB_ENV_X=a=b\"") != NULL);
	CHECK(strstr(js, "ENV_PATH") == NULL && strstr(js, "ENV_HOME") == NULL && strstr(js, "_0_") == NULL);
	free(js);
	md_json_free(env);
	md_json_free(occ);
	t_end();
}

static void test_run_flags(void)
{
	t_begin("runtime: run flags become Docker's create request");
	char *ok[] = {"-d", "-e", "A=1", "-e", "B", "-w", "/w", "-u", "1000:50", "-h", "box", "-v", "/h:/c:ro",
	              "--tmpfs", "/run:size=1m", "--read-only", "--init", "--restart", "on-failure:3", "--cap-add", "NET_ADMIN",
	              "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--ulimit", "nofile=10:20", "-m", "64m",
	              "--memory-swap", "-1", "--cpus", "1.5", "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit",
	              "50", "--stop-signal", "SIGINT", "--stop-timeout", "3", "-l", "k=v", "--log-opt", "max-size=1m",
	              "--device", "/dev/null:/dev/n:rw", "--entrypoint", "/bin/sh", "img", "-c", "echo hi"};
	struct md_json *r = t_run((int)MD_ARRAY_LEN(ok), ok);
	if (!r)
		printf("#   %s\n", md_errmsg);
	CHECK(r != NULL);
	struct md_json *cc = md_json_get(r, "Config"), *hc = md_json_get(r, "HostConfig");
	CHECK_STR(md_json_gets(cc, "Image"), "img");
	CHECK_STR(md_json_gets(cc, "WorkingDir"), "/w");
	CHECK_STR(md_json_gets(cc, "User"), "1000:50");
	CHECK_STR(md_json_gets(cc, "Hostname"), "box");
	CHECK_STR(md_json_gets(cc, "StopSignal"), "SIGINT");
	CHECK(md_json_geti(cc, "StopTimeout", 0) == 3);
	CHECK_STR(md_json_gets(md_json_get(cc, "Labels"), "k"), "v");
	CHECK_STR(md_json_str(md_json_at(md_json_get(cc, "Entrypoint"), 0)), "/bin/sh");
	CHECK_STR(md_json_str(md_json_at(md_json_get(cc, "Cmd"), 1)), "echo hi");
	CHECK_STR(md_json_str(md_json_at(md_json_get(cc, "Env"), 0)), "A=1");
	CHECK(md_json_geti(hc, "Memory", 0) == 64 << 20);
	CHECK(md_json_geti(hc, "MemorySwap", 0) == -1);
	CHECK(md_json_geti(hc, "NanoCpus", 0) == 1500000000);
	CHECK(md_json_geti(hc, "CpuShares", 0) == 512);
	CHECK(md_json_geti(hc, "PidsLimit", 0) == 50);
	CHECK_STR(md_json_gets(hc, "CpusetCpus"), "0");
	CHECK_STR(md_json_gets(md_json_get(hc, "RestartPolicy"), "Name"), "on-failure");
	CHECK(md_json_geti(md_json_get(hc, "RestartPolicy"), "MaximumRetryCount", 0) == 3);
	CHECK(md_json_is(md_json_get(hc, "ReadonlyRootfs"), MD_J_TRUE));
	CHECK(md_json_is(md_json_get(hc, "Init"), MD_J_TRUE));
	CHECK(md_json_is(md_json_get(hc, "AutoRemove"), MD_J_FALSE));
	CHECK_STR(md_json_str(md_json_at(md_json_get(hc, "Binds"), 0)), "/h:/c:ro");
	CHECK_STR(md_json_gets(md_json_get(hc, "Tmpfs"), "/run"), "size=1m");
	CHECK_STR(md_json_gets(md_json_at(md_json_get(hc, "Ulimits"), 0), "Name"), "nofile");
	CHECK(md_json_geti(md_json_at(md_json_get(hc, "Ulimits"), 0), "Hard", 0) == 20);
	CHECK_STR(md_json_gets(md_json_at(md_json_get(hc, "Devices"), 0), "PathInContainer"), "/dev/n");
	CHECK_STR(md_json_gets(md_json_at(md_json_get(hc, "Devices"), 0), "CgroupPermissions"), "rw");
	CHECK_STR(md_json_gets(md_json_get(md_json_get(hc, "LogConfig"), "Config"), "max-size"), "1m");
	if (md_hostconfig_validate(hc) < 0)
		printf("#   validate: %s\n", md_errmsg);
	CHECK(md_hostconfig_validate(hc) == 0);
	md_json_free(r);
	/* hostile or wrong values: refused with a message naming them */
	static const char *const bad[][3] = {
		{"-m", "abc", "invalid size"},           {"--cpus", "x", "rational number"},
		{"--restart", "on-failure:-1", "restart"}, {"--ulimit", "nofile", "ulimit"},
		{"--ulimit", "nofile=20:10", "soft limit"}, {"--stop-signal", "SIGNOPE", "invalid signal"},
		{"--stop-timeout", "1x", "not an integer"}, {"-w", "relative", "absolute path"},
		{"--log-opt", "max-size=zz", "invalid value"}, {"--log-opt", "colour=red", "unknown log opt"},
		{"--log-driver", "syslog", "unsupported log driver"}, {"-e", "=x", "invalid environment"},
		{"--add-host", "nohost", "add-host"}, {"--attach", "stdbogus", "valid streams"},
		{"--pids-limit", "lots", "not an integer"}, {"--memory-swap", "-5", "invalid size"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		char *argv[] = {(char *)bad[i][0], (char *)bad[i][1], "img"};
		md_errmsg[0] = 0;
		r = t_run(3, argv);
		if (r || !strstr(md_errmsg, bad[i][2]))
			printf("#   %s %s: \"%s\"\n", bad[i][0], bad[i][1], md_errmsg);
		CHECK(r == NULL && strstr(md_errmsg, bad[i][2]));
		CHECK(md_error.kind == MD_EK_INVALID);
		md_json_free(r);
	}
	static const char *const badhc[][2] = {
		{"{\"Memory\":4096}", "Minimum memory limit allowed is 6MB"},
		{"{\"Memory\":10000000,\"MemorySwap\":5000000}", "memoryswap limit should be larger"},
		{"{\"NanoCpus\":-1}", "Range of CPUs"},
		{"{\"CpuShares\":1}", "cpu-shares"},
		{"{\"CpusetCpus\":\"a-b\"}", "Invalid value"},
		{"{\"CpusetCpus\":\"4096\"}", "not available"},
		{"{\"RestartPolicy\":{\"Name\":\"sometimes\"}}", "invalid restart policy"},
		{"{\"RestartPolicy\":{\"Name\":\"always\",\"MaximumRetryCount\":2}}", "maximum retry count"},
		{"{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":\"always\"}}", "both --restart and --rm"},
		{"{\"Ulimits\":[{\"Name\":\"bogus\",\"Soft\":1,\"Hard\":1}]}", "invalid ulimit type"},
		{"{\"Devices\":[{\"PathOnHost\":\"/nonexistent/dev\"}]}", "no such file"},
		{"{\"Devices\":[{\"PathOnHost\":\"/etc/passwd\"}]}", "not a device node"},
		{"{\"NetworkMode\":\"container:\"}", "name a container"},
		{"{\"SecurityOpt\":[\"seccomp=/tmp/profile.json\"]}", "invalid --security-opt"},
		{"{\"UsernsMode\":\"private\"}", "invalid --userns"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(badhc); i++) {
		struct md_json *h = md_json_parse(badhc[i][0], strlen(badhc[i][0]));
		md_errmsg[0] = 0;
		int rc = md_hostconfig_validate(h);
		if (rc == 0 || !strstr(md_errmsg, badhc[i][1]))
			printf("#   %s: \"%s\"\n", badhc[i][0], md_errmsg);
		CHECK(rc < 0 && strstr(md_errmsg, badhc[i][1]));
		md_json_free(h);
	}
	t_end();
}

static void test_frames_logs(void)
{
	t_begin("runtime: attach frames and log lines");
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(md_frame_sends(sv[0], 'O', "hello") == 0);
	CHECK(md_frame_send(sv[0], 'X', NULL, 0) == 0);
	char type, buf[64];
	size_t n;
	CHECK(md_frame_recv(sv[1], &type, buf, sizeof buf, &n) == 0 && type == 'O' && n == 5 && !strcmp(buf, "hello"));
	CHECK(md_frame_recv(sv[1], &type, buf, sizeof buf, &n) == 0 && type == 'X' && n == 0);
	/* a frame larger than the buffer is refused, not overflowed */
	unsigned char big[5] = {'I', 0, 0, 1, 0};
	CHECK(write(sv[0], big, 5) == 5);
	CHECK(md_frame_recv(sv[1], &type, buf, sizeof buf, &n) < 0);
	close(sv[0]);
	CHECK(md_frame_recv(sv[1], &type, buf, sizeof buf, &n) < 0);
	close(sv[1]);
	char tmpl[] = "/tmp/md-unit-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct md_log lg;
	memset(&lg, 0, sizeof lg);
	lg.path = md_asprintf("%s/log", dir);
	lg.max = 200;
	lg.files = 3;
	md_log_open(&lg);
	md_log_write(&lg, 0, "one\ntw", 6);
	md_log_write(&lg, 1, "err\n", 4);
	md_log_write(&lg, 0, "o\n", 2);
	for (int i = 0; i < 20; i++)
		md_log_write(&lg, 0, "0123456789\n", 11);
	md_log_write(&lg, 0, "partial", 7);
	md_log_flush(&lg);
	close(lg.fd);
	char *l0 = md_read_file(lg.path, 1 << 20, NULL);
	char *p1 = md_asprintf("%s.1", lg.path), *p2 = md_asprintf("%s.2", lg.path), *p3 = md_asprintf("%s.3", lg.path);
	CHECK(l0 && md_path_exists(p1) && md_path_exists(p2) && !md_path_exists(p3));
	CHECK(l0 && strlen(l0) <= 200);
	CHECK(l0 && strstr(l0, " stdout P partial\n"));
	char *l2 = md_read_file(p2, 1 << 20, NULL), *l1 = md_read_file(p1, 1 << 20, NULL);
	CHECK(l1 && strstr(l1, " stdout F 0123456789\n"));
	(void)l2;
	free(l0);
	free(l1);
	free(l2);
	free(p1);
	free(p2);
	free(p3);
	free(lg.path);
	md_rm_rf(dir);
	t_end();
}

static void test_import_changes(void)
{
	t_begin("import: --change instructions");
	struct md_json *c = md_json_new(MD_J_OBJ);
	CHECK(md_import_change(c, "CMD [\"sh\",\"-c\",\"x\"]") == 0);
	CHECK(md_import_change(c, "ENTRYPOINT /bin/run it") == 0);
	CHECK(md_import_change(c, "ENV A=1") == 0);
	CHECK(md_import_change(c, "ENV A 2") == 0);
	CHECK(md_import_change(c, "env B=\"q\"") == 0);
	CHECK(md_import_change(c, "WORKDIR /w") == 0);
	CHECK(md_import_change(c, "USER u:g") == 0);
	CHECK(md_import_change(c, "EXPOSE 80") == 0);
	CHECK(md_import_change(c, "VOLUME [\"/data\"]") == 0);
	CHECK(md_import_change(c, "LABEL k=v") == 0);
	CHECK(md_import_change(c, "STOPSIGNAL SIGUSR1") == 0);
	char *s = md_json_dump(c, 0);
	CHECK_STR(s, "{\"Cmd\":[\"sh\",\"-c\",\"x\"],\"Entrypoint\":[\"/bin/sh\",\"-c\",\"/bin/run it\"],\"Env\":[\"A=2\",\"B=q\"],"
	             "\"WorkingDir\":\"/w\",\"User\":\"u:g\",\"ExposedPorts\":{\"80/tcp\":{}},\"Volumes\":{\"/data\":{}},"
	             "\"Labels\":{\"k\":\"v\"},\"StopSignal\":\"SIGUSR1\"}");
	free(s);
	CHECK(md_import_change(c, "RUN rm -rf /") < 0 && strstr(md_errmsg, "unsupported instruction RUN"));
	CHECK(md_import_change(c, "CMD [1,2]") < 0 && strstr(md_errmsg, "JSON array of strings"));
	CHECK(md_import_change(c, "CMD [\"unterminated") < 0);
	CHECK(md_import_change(c, "ENV") < 0 && strstr(md_errmsg, "missing argument"));
	CHECK(md_import_change(c, "ENV JUSTKEY") < 0 && strstr(md_errmsg, "KEY=VALUE"));
	md_json_free(c);
	struct md_copy sh = {.base = 100000, .count = 65536};
	CHECK(md_copy_id(&sh, 0) == 100000);
	CHECK(md_copy_id(&sh, 65535) == 165535);
	CHECK(md_copy_id(&sh, 70000) == 165534);
	t_end();
}

static void test_sha_accel(void)
{
	t_begin("sha256: the CPU's instructions agree with BearSSL's portable code");
	md_sha_init(&(br_sha256_context){0});
	if (!md_sha_fast)
		printf("#   no SHA instructions on this CPU: the portable code is all there is\n");
	unsigned char *buf = malloc(70000);
	for (int i = 0; i < 70000; i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 8));
	static const size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4096, 65536, 70000};
	for (size_t k = 0; k < MD_ARRAY_LEN(lens); k++) {
		br_sha256_context a, b;
		char da[MD_DIGEST_LEN + 1], db[MD_DIGEST_LEN + 1];
		br_sha256_init(&a);
		br_sha256_update(&a, buf, lens[k]);
		md_sha_init(&b);
		/* in uneven pieces, to cross block boundaries */
		for (size_t off = 0, step = 1; off < lens[k]; off += step, step = step * 3 % 97 + 1)
			md_sha_update(&b, buf + off, off + step > lens[k] ? lens[k] - off : step);
		md_sha_hex(&a, da);
		md_sha_hex(&b, db);
		CHECK_STR(db, da);
	}
	free(buf);
	t_end();
}

/* ---- the tree walker under every copy ---- */

static int t_open_dir(const char *p)
{
	return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* md_close_from in a child: fds from b up closed, or with cloexec gone by
 * the exec (marked close-on-exec, or closed but for the one kept); with
 * close_range and, as on kernels before 5.11, without. */
static int t_close_from_child(int no_range, int cloexec)
{
	pid_t p = fork();
	if (p == 0) {
		int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY), c = open("/dev/null", O_RDONLY);
		int hi = fcntl(a, F_DUPFD, 200);
		md_no_close_range = no_range;
		md_close_from(b, cloexec, cloexec ? c : -1, -1);
		int ok = fcntl(a, F_GETFD) == 0 && (cloexec ? fcntl(c, F_GETFD) >= 0 : fcntl(c, F_GETFD) < 0);
		if (cloexec && !no_range) /* marked, not closed */
			ok = ok && fcntl(b, F_GETFD) == FD_CLOEXEC && fcntl(hi, F_GETFD) == FD_CLOEXEC &&
			     fcntl(c, F_GETFD) == FD_CLOEXEC;
		else
			ok = ok && fcntl(b, F_GETFD) < 0 && fcntl(hi, F_GETFD) < 0;
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_close_from(void)
{
	t_begin("runtime: descriptors closed or marked close-on-exec from a number up, with and without close_range");
	CHECK(t_close_from_child(0, 0));
	CHECK(t_close_from_child(0, 1));
	CHECK(t_close_from_child(1, 0));
	CHECK(t_close_from_child(1, 1));
	t_end();
}

static void test_copy_walk(void)
{
	t_begin("files: one tree walker copies, applies layers and shifts owners");
	if (geteuid() != 0) {
		printf("ok - %s # SKIP needs root (owners, device nodes)\n", t_name);
		t_pass++;
		return;
	}
	char tmpl[] = "/tmp/md-copywalk-XXXXXX";
	char *base = mkdtemp(tmpl);
	CHECK(base != NULL);
	char *src = md_asprintf("%s/src", base), *dst = md_asprintf("%s/dst", base), *lay = md_asprintf("%s/lay", base);
	char *sh = md_asprintf("%s/shift", base);
	CHECK(mkdir(src, 0755) == 0 && mkdir(dst, 0755) == 0 && mkdir(lay, 0755) == 0 && mkdir(sh, 0755) == 0);
	int s = t_open_dir(src);
	CHECK(mkdirat(s, "d", 0750) == 0);
	int f = openat(s, "d/f", O_WRONLY | O_CREAT, 0640);
	CHECK(f >= 0 && write(f, "hello", 5) == 5);
	close(f);
	CHECK(fchownat(s, "d/f", 1000, 1001, 0) == 0);
	CHECK(symlinkat("d/f", s, "ln") == 0);
	CHECK(mkfifoat(s, "fifo", 0600) == 0);
	CHECK(mknodat(s, "wh", S_IFCHR | 0000, 0) == 0); /* a whiteout */
	/* a plain copy: the whiteout is skipped, the rest kept with modes and owners */
	int d = t_open_dir(dst);
	CHECK(md_copy_tree(s, d) == 0);
	struct stat st;
	CHECK(fstatat(d, "d", &st, 0) == 0 && (st.st_mode & 07777) == 0750);
	CHECK(fstatat(d, "d/f", &st, 0) == 0 && st.st_size == 5 && st.st_uid == 1000 && st.st_gid == 1001);
	char t[64] = "";
	CHECK(readlinkat(d, "ln", t, sizeof t - 1) == 3 && !strcmp(t, "d/f"));
	CHECK(fstatat(d, "fifo", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode));
	CHECK(fstatat(d, "wh", &st, AT_SYMLINK_NOFOLLOW) < 0);
	/* a layer over it: its whiteout removes, its file replaces, its opaque dir empties */
	int l = t_open_dir(lay);
	CHECK(mknodat(l, "ln", S_IFCHR | 0000, 0) == 0);
	CHECK(mkdirat(l, "d", 0700) == 0);
	int ld = openat(l, "d", O_RDONLY | O_DIRECTORY);
	CHECK(ld >= 0 && fsetxattr(ld, "trusted.overlay.opaque", "y", 1, 0) == 0);
	f = openat(ld, "g", O_WRONLY | O_CREAT, 0600);
	close(f);
	close(ld);
	f = openat(l, "fifo", O_WRONLY | O_CREAT, 0644);
	close(f);
	CHECK(md_layers_flatten_one(l, d) == 0);
	CHECK(fstatat(d, "ln", &st, AT_SYMLINK_NOFOLLOW) < 0);
	CHECK(fstatat(d, "d/f", &st, 0) < 0 && fstatat(d, "d/g", &st, 0) == 0);
	CHECK(fstatat(d, "fifo", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
	/* shifted: owners moved into the range, beyond it to the range's nobody, whiteouts kept */
	int h = t_open_dir(sh);
	CHECK(md_copy_shift(s, h, 100000, 1001) == 0);
	CHECK(fstatat(h, "d/f", &st, 0) == 0 && st.st_uid == 101000 && st.st_gid == 101000);
	CHECK(fstatat(h, "wh", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0);
	CHECK(fstat(h, &st) == 0 && st.st_uid == 100000);
	close(h);
	close(l);
	close(d);
	close(s);
	md_rm_rf(base);
	free(src);
	free(dst);
	free(lay);
	free(sh);
	t_end();
}

static void test_copy_errors(void)
{
	t_begin("files: a copy that fails leaves the destination's file whole and no descriptor behind");
	char tmpl[] = "/tmp/md-copyerr-XXXXXX";
	char *base = mkdtemp(tmpl);
	CHECK(base != NULL);
	char *src = md_asprintf("%s/src", base), *dst = md_asprintf("%s/dst", base);
	CHECK(mkdir(src, 0755) == 0 && mkdir(dst, 0755) == 0);
	int s = t_open_dir(src), d = t_open_dir(dst);
	int f = openat(d, "f", O_WRONLY | O_CREAT, 0644);
	CHECK(f >= 0 && write(f, "kept", 4) == 4);
	close(f);
	/* a source that cannot be opened: the destination is not emptied */
	struct stat st = {.st_mode = S_IFREG | 0644};
	CHECK(md_copy_file(s, d, "f", &st, &(struct md_copy){0}) < 0 && strstr(md_errmsg, "copy f"));
	CHECK(fstatat(d, "f", &st, 0) == 0 && st.st_size == 4);
	/* a source that is no directory: named, and its duplicate closed */
	int file = openat(d, "f", O_RDONLY | O_CLOEXEC), probe = dup(0);
	close(probe);
	CHECK(md_copy_walk(file, d, "f", &(struct md_copy){0}) < 0 && strstr(md_errmsg, "open directory f"));
	int again = dup(0);
	CHECK(again == probe);
	close(again);
	close(file);
	close(d);
	close(s);
	md_rm_rf(base);
	free(src);
	free(dst);
	t_end();
}

/* ---- errors: kinds, HTTP statuses, exit codes ---- */

static int t_run_cmd(const char *name, int argc, char **argv)
{
	const char *as;
	const struct md_cmd *c = md_cmd_find(name, &as);
	if (!c)
		return -1;
	fflush(NULL);
	/* the expected messages and output go nowhere */
	int so = dup(1), se = dup(2), nul = open("/dev/null", O_WRONLY);
	dup2(nul, 1);
	dup2(nul, 2);
	int r = md_run_cmd(c, as, argc, argv);
	fflush(NULL);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(nul);
	return r;
}

static void test_error_kinds(void)
{
	t_begin("errors: kinds, errno and context; the HTTP status and exit code of each");
	CHECK(md_err("x %d", 1) == -1 && md_error.kind == MD_EK_INTERNAL && md_error.errnum == 0);
	CHECK_STR(md_errmsg, "x 1");
	errno = ENOSPC;
	CHECK(md_errno("write %s", "f") == -1 && md_error.kind == MD_EK_INTERNAL && md_error.errnum == ENOSPC);
	CHECK(strstr(md_errmsg, "write f: ") == md_errmsg);
	CHECK(md_errk(MD_EK_CONFLICT, "in use") == -1 && md_error.kind == MD_EK_CONFLICT);
	md_err_wrap("remove %s", "v");
	CHECK(md_error.kind == MD_EK_CONFLICT);
	CHECK_STR(md_errmsg, "remove v: in use");
	/* the old message as an argument of the new one */
	md_err("nft: %s", "no table");
	md_err("not available: %s", md_errmsg);
	CHECK_STR(md_errmsg, "not available: nft: no table");
	/* the monitor's failure frame, "CODE KIND message", kind checked */
	int code = 0;
	CHECK(md_mon_failure("127 1 exec: \"x\": not found", &code) == -1 && code == 127);
	CHECK(md_error.kind == MD_EK_INVALID);
	CHECK_STR(md_errmsg, "exec: \"x\": not found");
	CHECK(md_mon_failure("125 99 odd", &code) == -1 && code == 125 && md_error.kind == MD_EK_INTERNAL);
	CHECK(md_mon_failure("125 7x odd", &code) == -1 && md_error.kind == MD_EK_INTERNAL);
	md_err_clear();
	CHECK(md_error.kind == MD_EK_INTERNAL && !md_errmsg[0]);
	/* a bad digest in a reference is the caller's input */
	struct md_ref ref;
	CHECK(md_ref_parse("bb@sha256:zz", &ref) < 0 && md_error.kind == MD_EK_INVALID);
	CHECK(md_ref_parse("bb@md5:0123", &ref) < 0 && md_error.kind == MD_EK_INVALID);
	CHECK(md_digest_check(NULL, "layer") < 0 && md_error.kind == MD_EK_INVALID);
	/* Docker's statuses: errdefs' invalid parameter, not found, conflict, ... */
	static const short want[] = {[MD_EK_INTERNAL] = 500, [MD_EK_INVALID] = 400, [MD_EK_NOTFOUND] = 404,
	                             [MD_EK_CONFLICT] = 409, [MD_EK_BUSY] = 503, [MD_EK_NOTSUP] = 501,
	                             [MD_EK_FORBIDDEN] = 403};
	CHECK(MD_ARRAY_LEN(md_errkinds) == MD_ARRAY_LEN(want));
	for (size_t k = 0; k < MD_ARRAY_LEN(want); k++)
		CHECK(md_errkinds[k].http == want[k] && md_errkinds[k].name && *md_errkinds[k].name);

	/* the engine's operations say which kind, on a store of our own */
	char tmpl[] = "/tmp/md-errkinds-XXXXXX";
	char *dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	char *oroot = md_store.root, *orun = md_store.runroot;
	md_store.root = md_asprintf("%s/root", dir);
	md_store.runroot = md_asprintf("%s/run", dir);
	char id[65], img[MD_DIGEST_LEN + 1];
	CHECK(md_ctr_find("nosuch", id) < 0 && md_error.kind == MD_EK_NOTFOUND);
	CHECK(md_volume_remove("nosuch", 0) < 0 && md_error.kind == MD_EK_NOTFOUND);
	CHECK(md_volume_remove("nosuch", 1) == 0);
	/* a driver minidock does not have: Docker's "plugin not found" */
	CHECK(md_volume_create("v1", "nfs", NULL, 0, NULL) < 0 && md_error.kind == MD_EK_NOTFOUND);
	CHECK(strstr(md_errmsg, "plugin \"nfs\" not found") == md_errmsg);
#if MD_FEATURE_NET
	CHECK(md_network_create(&(struct md_network_spec){.name = "n1", .driver = "macvlan"}, id) < 0 &&
	      md_error.kind == MD_EK_NOTFOUND);
	CHECK(strstr(md_errmsg, "plugin \"macvlan\" not found") == md_errmsg);
	CHECK(t_run_cmd("network create", 3, (char *[]){"-d", "macvlan", "n1"}) == 1);
#endif
	CHECK(t_run_cmd("volume create", 3, (char *[]){"-d", "nfs", "v1"}) == 1);
	CHECK(md_ctr_filters_check(&(struct md_strv){(char *[]){"colour=red"}, 1, 0}) < 0 && md_error.kind == MD_EK_INVALID);
	struct md_json *hc = md_json_parse("{\"Memory\":4096}", strlen("{\"Memory\":4096}"));
	CHECK(md_hostconfig_validate(hc) < 0 && md_error.kind == MD_EK_INVALID);
	md_json_free(hc);
	/* an image from an empty tar, then containers from it */
	int pp[2];
	CHECK(pipe(pp) == 0);
	char zero[1024] = {0};
	CHECK(write(pp[1], zero, sizeof zero) == (ssize_t)sizeof zero);
	close(pp[1]);
	CHECK(md_import_fd(pp[0], "kinds:1", NULL, &(struct md_strv){0}, NULL, img) == 0);
	close(pp[0]);
	const char *req = "{\"Config\":{\"Image\":\"kinds:1\",\"Cmd\":[\"true\"]},\"HostConfig\":{\"NetworkMode\":\"none\"}}";
	struct md_json *rq = md_json_parse(req, strlen(req));
	if (md_ctr_create(rq, "one", id) < 0)
		printf("#   create: %s\n", md_errmsg);
	CHECK(md_ctr_find("one", id) == 0);
	CHECK(md_ctr_create(rq, "one", id) < 0 && md_error.kind == MD_EK_CONFLICT);
	CHECK(md_ctr_create(rq, "bad name!", id) < 0 && md_error.kind == MD_EK_INVALID);
	md_json_free(rq);
	req = "{\"Config\":{\"Image\":\"kinds:2\"}}";
	rq = md_json_parse(req, strlen(req));
	CHECK(md_ctr_create(rq, NULL, id) < 0 && md_error.kind == MD_EK_NOTFOUND);
	md_json_free(rq);
	CHECK(md_ctr_find("one", id) == 0);
	CHECK(md_ctr_kill(id, SIGTERM) < 0 && md_error.kind == MD_EK_CONFLICT);
	CHECK(md_ctr_pause(id, 1) < 0 && md_error.kind == MD_EK_CONFLICT);
	CHECK(md_ctr_top(id) == NULL && md_error.kind == MD_EK_CONFLICT);
	/* exit codes: run and create 125, others 1, usage errors 125 */
	CHECK(t_run_cmd("run", 4, (char *[]){"--pull", "never", "nosuch:1", "true"}) == 125);
	CHECK(md_error.kind == MD_EK_NOTFOUND && strstr(md_errmsg, "No such image: nosuch:1"));
	CHECK(t_run_cmd("create", 3, (char *[]){"--pull", "sometimes", "kinds:1"}) == 125 && md_error.kind == MD_EK_INVALID);
	CHECK(t_run_cmd("create", 2, (char *[]){"--name", "one"}) == 125);
	CHECK(t_run_cmd("create", 4, (char *[]){"--name", "one", "kinds:1", "true"}) == 125);
	CHECK(t_run_cmd("stop", 1, (char *[]){"nosuch"}) == 1);
	CHECK(t_run_cmd("container rm", 1, (char *[]){"nosuch"}) == 1);
	CHECK(t_run_cmd("kill", 1, (char *[]){"one"}) == 1);
	CHECK(t_run_cmd("rm", 1, (char *[]){"--bogus"}) == 125);
	CHECK(t_run_cmd("rm", 1, (char *[]){"one"}) == 0);
	md_rm_rf(dir);
	free(md_store.root);
	free(md_store.runroot);
	md_store.root = oroot;
	md_store.runroot = orun;
	md_err_clear();
	t_end();
}

/* The events journal: bounded by its rotation, read in order across the
 * two files, filters as Docker's. */
static int t_ev_collect(const struct md_json *ev, const char *line, void *arg)
{
	(void)line;
	if (ev)
		md_strv_push(arg, md_json_gets(md_json_get(md_json_get((struct md_json *)ev, "Actor"), "Attributes"), "n"));
	return 0;
}

static void test_events_journal(void)
{
	t_begin("events: the journal's bound, its order across rotation, filters, hostile lines");
	char tmpl[] = "/tmp/md-events-XXXXXX";
	char *dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	char *orun = md_store.runroot;
	md_store.runroot = md_asprintf("%s/run", dir);
	const int total = 8000;
	for (int i = 0; i < total; i++) {
		char n[16];
		snprintf(n, sizeof n, "%d", i);
		md_eventv(i % 3 ? "container" : "volume", i % 2 ? "start" : "die", "x", "n", n, NULL);
	}
	char *p = md_asprintf("%s/events.log", md_store.runroot), *p1 = md_asprintf("%s/events.log.1", md_store.runroot);
	struct stat a, b;
	CHECK(stat(p, &a) == 0 && stat(p1, &b) == 0);
	CHECK(a.st_size <= MD_DEFAULT_EVENTS_MAX && b.st_size <= MD_DEFAULT_EVENTS_MAX);
	/* a torn line and garbage are skipped */
	int fd = open(p, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "{\"Type\":\n[[[\n", 13) == 13);
	close(fd);
	md_eventv("container", "start", "x", "n", "last", NULL);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct md_strv got = {0}, f = {0};
	struct md_evq q = {1, (double)now.tv_sec + 1, NULL};
	CHECK(md_events_each(&q, t_ev_collect, &got) == 0);
	/* the newest ones, in order, each once, the last one last */
	if (!(got.n > 100 && got.n < (size_t)total && !strcmp(got.v[got.n - 1], "last")))
		printf("#   %zu records, the last %s\n", got.n, got.n ? got.v[got.n - 1] : "-");
	CHECK(got.n > 100 && got.n < (size_t)total && !strcmp(got.v[got.n - 1], "last"));
	int first = atoi(got.v[0]), inorder = 1;
	for (size_t i = 1; i + 1 < got.n; i++)
		inorder &= atoi(got.v[i]) == first + (int)i;
	CHECK(inorder && atoi(got.v[got.n - 2]) == total - 1);
	md_strv_free(&got);
	/* keys AND, values of one key OR */
	md_strv_push(&f, "type=container");
	md_strv_push(&f, "event=start");
	md_strv_push(&f, "event=die");
	q.filters = &f;
	CHECK(md_events_each(&q, t_ev_collect, &got) == 0);
	int onlyctr = got.n > 0;
	for (size_t i = 0; i + 1 < got.n; i++)
		onlyctr &= atoi(got.v[i]) % 3 != 0;
	CHECK(onlyctr);
	md_strv_free(&got);
	md_strv_free(&f);
	md_strv_push(&f, "type=volume");
	md_strv_push(&f, "event=start");
	CHECK(md_events_each(&q, t_ev_collect, &got) == 0);
	int vs = got.n > 0;
	for (size_t i = 0; i < got.n; i++)
		vs &= atoi(got.v[i]) % 3 == 0 && atoi(got.v[i]) % 2 == 1;
	CHECK(vs);
	md_strv_free(&got);
	md_strv_free(&f);
	/* unknown filter keys, empty values */
	md_strv_push(&f, "colour=red");
	CHECK(md_ev_filters_check(&f) < 0 && md_error.kind == MD_EK_INVALID);
	md_strv_free(&f);
	md_strv_push(&f, "type=");
	CHECK(md_ev_filters_check(&f) < 0);
	md_strv_free(&f);
	/* exec_start and health_status match by prefix, as Docker's */
	const char *evs = "{\"Type\":\"container\",\"Action\":\"exec_start: sh -c x\",\"Actor\":{\"ID\":\"abc\","
	                  "\"Attributes\":{\"name\":\"web\",\"image\":\"bb:1\",\"app\":\"x\"}}}";
	struct md_json *ev = md_json_parse(evs, strlen(evs));
	CHECK(ev != NULL);
	md_strv_push(&f, "event=exec_start");
	CHECK(md_ev_match(ev, &f));
	md_strv_free(&f);
	static const char *const yes[] = {"container=web", "container=ab", "image=bb", "image=bb:1", "label=app", "label=app=x"};
	static const char *const no[] = {"container=we", "image=b", "label=app=y", "network=web", "volume=abc", "event=exec"};
	for (size_t i = 0; i < MD_ARRAY_LEN(yes); i++) {
		md_strv_push(&f, yes[i]);
		CHECK(md_ev_match(ev, &f));
		md_strv_free(&f);
	}
	for (size_t i = 0; i < MD_ARRAY_LEN(no); i++) {
		md_strv_push(&f, no[i]);
		CHECK(!md_ev_match(ev, &f));
		md_strv_free(&f);
	}
	md_json_free(ev);
	free(p);
	free(p1);
	md_rm_rf(dir);
	free(md_store.runroot);
	md_store.runroot = orun;
	md_err_clear();
	t_end();
}

#if MD_FEATURE_COMPOSE
/* A YAML document's JSON (compact), or "ERR: message". */
static char *t_yaml(const char *y)
{
	struct md_json *j = md_yaml_parse(y, strlen(y), "t.yaml");
	char *s = j ? md_json_dump(j, 0) : md_asprintf("ERR: %s", md_errmsg);
	md_json_free(j);
	md_err_clear();
	return s;
}

static void t_yaml_is(const char *y, const char *want)
{
	char *got = t_yaml(y);
	if (strcmp(got, want) && !(md_startswith(want, "ERR: ") && md_startswith(got, "ERR: ") && strstr(got, want + 5)))
		printf("#   yaml %s\n#     got  %s\n#     want %s\n", y, got, want);
	CHECK(!strcmp(got, want) || (md_startswith(want, "ERR: ") && md_startswith(got, "ERR: ") && strstr(got, want + 5)));
	free(got);
}

static void test_yaml(void)
{
	t_begin("yaml: the core schema, anchors, aliases, merge keys, lines; hostile documents refused");
	t_yaml_is("a: 1\nb: [x, 'y', \"z\", '01', 007, -3, +4]\n", "{\"a\":1,\"b\":[\"x\",\"y\",\"z\",\"01\",7,-3,4]}");
	t_yaml_is("t: true\nf: False\nn: ~\ne:\nnul: null\ns: yes\no: 0o17\nx: 0x1F\nfl: 1.5\nh: .5\ni: 1.\nex: 1e3\ninf: .inf\nv: 1.2.3\n",
	          "{\"t\":true,\"f\":false,\"n\":null,\"e\":null,\"nul\":null,\"s\":\"yes\",\"o\":15,\"x\":31,\"fl\":1.5,\"h\":0.5,"
	          "\"i\":1,\"ex\":1000,\"inf\":\".inf\",\"v\":\"1.2.3\"}");
	t_yaml_is("s: !!str 80\ni: !!int \"80\"\nq: '80'\nb: |\n  two\n  lines\n", "{\"s\":\"80\",\"i\":80,\"q\":\"80\",\"b\":\"two\\nlines\\n\"}");
	t_yaml_is("base: &b {x: 1, y: 2}\nsvc:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n",
	          "{\"base\":{\"x\":1,\"y\":2},\"svc\":{\"y\":3,\"x\":1},\"list\":[{\"x\":1,\"y\":2},{\"x\":1,\"y\":2}]}");
	t_yaml_is("a: &a {k: a, p: 1}\nb: &b {k: b, q: 2}\nc: {<<: [*a, *b]}\n",
	          "{\"a\":{\"k\":\"a\",\"p\":1},\"b\":{\"k\":\"b\",\"q\":2},\"c\":{\"k\":\"a\",\"p\":1,\"q\":2}}");
	t_yaml_is("", "null");
	t_yaml_is("# only a comment\n", "null");
	t_yaml_is("80: http\ntrue: x\n", "{\"80\":\"http\",\"true\":\"x\"}");
	/* lines and columns */
	struct md_json *j = md_yaml_parse("services:\n  web:\n    image: bb\n", 30, "t.yaml");
	struct md_json *web = md_json_get(md_json_get(j, "services"), "web");
	CHECK(web && web->line == 3 && web->col == 5 && md_json_get(web, "image")->line == 3 && md_json_get(web, "image")->col == 12);
	md_json_free(j);
	/* hostile */
	t_yaml_is("a: 1\nb: 2\na: 3\n", "ERR: t.yaml:3:1: key \"a\" already given at line 1");
	t_yaml_is("a: [\n", "ERR: t.yaml:2:1:");
	t_yaml_is("a: 1\n---\nb: 2\n", "ERR: more than one YAML document");
	t_yaml_is("? [a]\n: 1\n", "ERR: a mapping key must be a scalar");
	t_yaml_is("a: *nope\n", "ERR: unknown anchor \"nope\"");
	t_yaml_is("a: &x [1, *x]\n", "ERR: unknown anchor \"x\"");
	t_yaml_is("a: !!int abc\n", "ERR: \"abc\" is not a valid !!int");
	t_yaml_is("a: !custom x\n", "ERR: unsupported YAML tag !custom");
	t_yaml_is("a: \"x\\0y\"\n", "ERR: a NUL byte in a scalar");
	t_yaml_is("a: {<<: 1}\n", "ERR: the merge key's value must be a mapping or a list of mappings");
	/* a billion laughs stops at the node budget */
	struct md_sb b = {0};
	md_sb_puts(&b, "a: &a [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 9; i++)
		md_sb_printf(&b, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", 'a' + i, 'a' + i, 'a' + i - 1,
		             'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1,
		             'a' + i - 1, 'a' + i - 1);
	t_yaml_is(b.s, "ERR: more than 100000 nodes");
	md_sb_free(&b);
	/* deep nesting, flow and block */
	for (int i = 0; i < 100; i++)
		md_sb_putc(&b, '[');
	for (int i = 0; i < 100; i++)
		md_sb_putc(&b, ']');
	t_yaml_is(b.s, "ERR: nested more than 64 deep");
	md_sb_free(&b);
	for (int i = 0; i < 80; i++)
		md_sb_printf(&b, "%*sk:\n", i, "");
	t_yaml_is(b.s, "ERR: nested more than 64 deep");
	md_sb_free(&b);
	/* too large */
	char *big = md_alloc(MD_YAML_MAX_DOC + 2);
	memset(big, '#', MD_YAML_MAX_DOC + 1);
	t_yaml_is(big, "ERR: larger than");
	free(big);
	t_end();
}
/* Compose's variables: the forms, nesting, errors. */
static void test_compose_interp(void)
{
	t_begin("compose: variable interpolation as the Compose Specification's");
	struct md_strv vars = {0};
	md_strv_push(&vars, "SET=v");
	md_strv_push(&vars, "EMPTY=");
	md_strv_push(&vars, "PORT=8080");
	unsetenv("SET"), unsetenv("EMPTY"), unsetenv("UNSET"), unsetenv("PORT");
	static const char *const ok[][2] = {
		{"plain", "plain"}, {"$SET", "v"}, {"${SET}", "v"}, {"a${SET}b$SET.c", "avbv.c"}, {"$UNSET|${UNSET}", "|"},
		{"${UNSET:-d}", "d"}, {"${EMPTY:-d}", "d"}, {"${EMPTY-d}", ""}, {"${UNSET-d}", "d"}, {"${SET:-d}", "v"},
		{"${SET:+r}", "r"}, {"${EMPTY:+r}", ""}, {"${EMPTY+r}", "r"}, {"${UNSET+r}", ""}, {"${SET:?e}", "v"},
		{"$$SET", "$SET"}, {"$${SET}", "${SET}"}, {"${UNSET:-${PORT}}", "8080"}, {"${UNSET:-a-${UNSET:-b}}", "a-b"},
		{"${UNSET:-}", ""}, {"${UNSET:-a}b}", "ab}"}, {"0.0.0.0:${PORT:-80}:80", "0.0.0.0:8080:80"}};
	for (size_t i = 0; i < MD_ARRAY_LEN(ok); i++) {
		char *out = NULL;
		int r = md_compose_interp(ok[i][0], &vars, &out);
		if (r < 0 || strcmp(out, ok[i][1]))
			printf("#   %s -> %s (want %s) %s\n", ok[i][0], out ? out : "-", ok[i][1], md_errmsg);
		CHECK(r == 0 && !strcmp(out, ok[i][1]));
		free(out);
	}
	/* the environment wins over the files */
	setenv("SET", "env", 1);
	char *o = NULL;
	CHECK(md_compose_interp("$SET", &vars, &o) == 0 && !strcmp(o, "env"));
	free(o);
	unsetenv("SET");
	static const char *const bad[][2] = {
		{"${UNSET:?needs a value}", "required variable UNSET is missing a value: needs a value"},
		{"${EMPTY:?x}", "required variable EMPTY"}, {"${UNSET?x}", "required variable UNSET"},
		{"cost $5", "invalid interpolation format"}, {"a$", "invalid interpolation format"},
		{"${}", "invalid interpolation format"}, {"${1A}", "invalid interpolation format"},
		{"${A B}", "invalid interpolation format"}, {"${UNSET:-x", "no closing }"}, {"${A:x}", "invalid interpolation format"}};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		char *out = NULL;
		int r = md_compose_interp(bad[i][0], &vars, &out);
		if (r == 0 || !strstr(md_errmsg, bad[i][1]))
			printf("#   %s: %s\n", bad[i][0], r == 0 ? out : md_errmsg);
		CHECK(r < 0 && strstr(md_errmsg, bad[i][1]) && md_error.kind == MD_EK_INVALID);
		free(out);
	}
	/* nesting is bounded */
	struct md_sb b = {0};
	for (int i = 0; i < 40; i++)
		md_sb_puts(&b, "${U:-");
	for (int i = 0; i < 40; i++)
		md_sb_putc(&b, '}');
	CHECK(md_compose_interp(b.s, &vars, &o) < 0 && strstr(md_errmsg, "nested"));
	md_sb_free(&b);
	md_strv_free(&vars);
	md_err_clear();
	t_end();
}
#endif

#include "unit-registry.inc"
#include "unit-api.inc"
#include "unit-sign.inc"

/* ---- build: the Dockerfile, words, .dockerignore ---- */

#if MD_FEATURE_BUILD
static int t_df(const char *text, struct md_df *df)
{
	return md_df_parse(text, strlen(text), df);
}

static void test_dockerfile_parse(void)
{
	t_begin("Dockerfile: instructions, continuations, comments, flags, JSON form, directives");
	struct md_df df;
	CHECK(t_df("# escape=`\n# syntax=x\nFROM bb AS b\nrun echo a `\n  # a comment inside\n\n  b\nCOPY --from=b --chown=1:2 [\"a b\", \"/c\"]\n"
	           "CMD [\"sh\", \"-c\"]\nENTRYPOINT [not json\n", &df) == 0);
	CHECK(df.esc == '`');
	CHECK(df.n == 5);
	if (df.n == 5) {
		CHECK_STR(df.v[0].cmd, "FROM");
		CHECK_STR(df.v[0].args, "bb AS b");
		CHECK_STR(df.v[1].cmd, "RUN");
		CHECK_STR(df.v[1].args, "echo a   b");
		CHECK(df.v[1].line == 4);
		CHECK(df.v[1].argv == NULL);
		CHECK(df.v[2].flags.n == 2);
		CHECK_STR(df.v[2].flags.v[0], "--from=b");
		CHECK(df.v[2].argv && df.v[2].argv->n == 2);
		CHECK_STR(df.v[2].text, "COPY --from=b --chown=1:2 [\"a b\", \"/c\"]");
		CHECK(df.v[3].argv && df.v[3].argv->n == 2);
		CHECK(df.v[4].argv == NULL); /* not JSON: the shell form */
	}
	md_df_free(&df);
	/* a directive after an instruction is a comment; CRLF lines */
	CHECK(t_df("FROM a\r\n# escape=`\r\nRUN x \\\r\n y\r\n", &df) == 0 && df.esc == '\\' && df.n == 2);
	if (df.n == 2)
		CHECK_STR(df.v[1].args, "x  y");
	md_df_free(&df);
	t_end();

	t_begin("Dockerfile: hostile and wrong input refused with the line");
	static const char *const bad[] = {
		"FROM a\nFOO bar\n",                /* unknown instruction */
		"FROM a\nRUN\n",                    /* no argument */
		"FROM a\nSHELL sh -c\n",            /* SHELL needs JSON */
		"FROM a\nRUN <<EOF\nhi\nEOF\n",     /* here-documents */
		"FROM a\nCOPY <<-'X' /f\n",
		"# escape=x\nFROM a\n",             /* bad escape */
		"# escape=`\n# escape=\\\nFROM a\n", /* two escapes */
		"FROM a\nONBUILD FROM b\n",
		"FROM a\nONBUILD ONBUILD RUN x\n",
		"",                                 /* empty */
		"# only a comment\n\n",
		"FROM a\n\0RUN x\n",
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		size_t len = i == MD_ARRAY_LEN(bad) - 1 ? 12 : strlen(bad[i]);
		md_err_clear();
		int r = md_df_parse(bad[i], len, &df);
		if (r == 0)
			printf("#   accepted: %s\n", bad[i]);
		CHECK(r < 0 && md_errmsg[0]);
		CHECK(df.n == 0 && df.v == NULL);
	}
	CHECK(t_df("FROM a\nFOO bar\n", &df) < 0 && strstr(md_errmsg, "line 2") && strstr(md_errmsg, "unknown instruction: FOO"));
	/* "<<" that is not a here-document: kept */
	CHECK(t_df("FROM a\nRUN echo $((1<<2)) && cat a<<b\n", &df) == 0);
	md_df_free(&df);
	/* limits: a huge file, too many instructions */
	size_t big = MD_DF_MAX_BYTES + 1;
	char *huge = md_alloc(big + 1);
	memset(huge, '#', big);
	huge[big] = 0;
	CHECK(md_df_parse(huge, big, &df) < 0);
	struct md_sb many = {0};
	md_sb_puts(&many, "FROM a\n");
	for (int i = 0; i < MD_DF_MAX_INS + 1; i++)
		md_sb_puts(&many, "ENV a=b\n");
	CHECK(md_df_parse(many.s, many.len, &df) < 0 && strstr(md_errmsg, "more than"));
	md_sb_free(&many);
	/* a continuation at the end of the file, and a long line */
	memset(huge, 'a', big - 10);
	memcpy(huge, "RUN ", 4);
	huge[big - 10] = 0;
	CHECK(md_df_parse(huge, strlen(huge), &df) == 0 && df.n == 1);
	md_df_free(&df);
	free(huge);
	CHECK(t_df("FROM a\nRUN x \\", &df) == 0 && df.n == 2);
	md_df_free(&df);
	t_end();
}

static void test_dockerfile_words(void)
{
	t_begin("Dockerfile words: quotes, escapes, $VAR, ${VAR:-x} and the others");
	struct md_strv vars = {0};
	md_strv_push(&vars, "A=1");
	md_strv_push(&vars, "E=");
	md_strv_push(&vars, "S=two words");
	static const struct { const char *in, *out; } w[] = {
		{"$A", "1"}, {"${A}", "1"}, {"x${A}y", "x1y"}, {"'$A'", "$A"}, {"\"$A\"", "1"},
		{"\\$A", "$A"}, {"${N:-d}", "d"}, {"${E:-d}", "d"}, {"${E-d}", ""}, {"${A:+set}", "set"},
		{"${N:+set}", ""}, {"${N-${A}}", "1"}, {"$N", ""}, {"$", "$"}, {"a$", "a$"}, {"$1", ""},
		{"\"a \\\"b\\\" c\"", "a \"b\" c"}, {"\"x\\y\"", "x\\y"}, {"$S", "two words"}, {"a\\ b", "a b"},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(w); i++) {
		char *o = md_df_word(w[i].in, '\\', &vars);
		CHECK_STR(o, w[i].out);
		free(o);
	}
	/* the backtick escape */
	char *o = md_df_word("`$A", '`', &vars);
	CHECK_STR(o, "$A");
	free(o);
	/* broken ones fail */
	static const char *const bad[] = {"'open", "\"open", "${A", "${A:*x}", "${}", "${N:?must be set}", "${N?}"};
	for (size_t i = 0; i < MD_ARRAY_LEN(bad); i++) {
		md_err_clear();
		o = md_df_word(bad[i], '\\', &vars);
		CHECK(o == NULL && md_errmsg[0]);
		free(o);
	}
	o = md_df_word("${A:?x}", '\\', &vars);
	CHECK_STR(o, "1");
	free(o);
	/* deep nesting: refused, not a stack overflow */
	struct md_sb deep = {0};
	for (int i = 0; i < 100000; i++)
		md_sb_puts(&deep, "${A:-");
	o = md_df_word(deep.s, '\\', &vars);
	CHECK(o == NULL && strstr(md_errmsg, "nested"));
	free(o);
	md_sb_free(&deep);
	o = md_df_word("${N:-${N:-${A}}}", '\\', &vars);
	CHECK_STR(o, "1");
	free(o);
	struct md_strv out = {0};
	CHECK(md_df_words("  a \"b c\" 'd e'  $S ", '\\', &vars, &out) == 0 && out.n == 4);
	if (out.n == 4) {
		CHECK_STR(out.v[1], "b c");
		CHECK_STR(out.v[3], "two words");
	}
	md_strv_free(&out);
	CHECK(md_df_pairs("K=\"v 1\" L=$A M='$A' N=a\\ b", '\\', &vars, &out, "ENV") == 0 && out.n == 4);
	if (out.n == 4) {
		CHECK_STR(out.v[0], "K=v 1");
		CHECK_STR(out.v[1], "L=1");
		CHECK_STR(out.v[2], "M=$A");
		CHECK_STR(out.v[3], "N=a b");
	}
	md_strv_free(&out);
	CHECK(md_df_pairs("OLD the rest $A", '\\', &vars, &out, "ENV") == 0 && out.n == 1);
	if (out.n == 1)
		CHECK_STR(out.v[0], "OLD=the rest 1");
	md_strv_free(&out);
	CHECK(md_df_pairs("=x", '\\', &vars, &out, "ENV") < 0);
	CHECK(md_df_pairs("K=1 =x", '\\', &vars, &out, "LABEL") < 0);
	CHECK(md_df_pairs("ONLY", '\\', &vars, &out, "ENV") < 0);
	md_strv_free(&out);
	md_strv_free(&vars);
	t_end();
}

static void test_dockerignore(void)
{
	t_begin(".dockerignore: Docker's pattern rules, exceptions, parents, **");
	struct md_strv p = {0};
	md_ignore_parse("# comment\n\n  *.log  \n/abs/x\n./rel//y/../z\ndir\n!dir/keep\n! spaced \n**/deep\na/**/b\n#*\n\t\n", &p);
	static const char *const want[] = {"*.log", "abs/x", "rel/z", "dir", "!dir/keep", "!spaced", "**/deep", "a/**/b"};
	CHECK(p.n == MD_ARRAY_LEN(want));
	for (size_t i = 0; i < p.n && i < MD_ARRAY_LEN(want); i++)
		CHECK_STR(p.v[i], want[i]);
	static const struct { const char *path; int ex; } m[] = {
		{"x.log", 1}, {"sub/x.log", 0}, {"abs/x", 1}, {"abs/x/in", 1}, {"rel/z", 1}, {"dir", 1},
		{"dir/f", 1}, {"dir/keep", 0}, {"spaced", 0}, {"deep", 1}, {"a/deep", 1}, {"a/b/c/deep", 1},
		{"a/b", 1}, {"a/x/y/b", 1}, {"a/x/y/bc", 0}, {"#file", 0}, {"other", 0}, {"dir2", 0},
	};
	for (size_t i = 0; i < MD_ARRAY_LEN(m); i++) {
		int got = md_ignore_match(&p, m[i].path);
		if (got != m[i].ex)
			printf("#   %s: %d\n", m[i].path, got);
		CHECK(got == m[i].ex);
	}
	CHECK(md_ignore_has_exceptions(&p));
	md_strv_free(&p);
	/* malformed patterns match nothing; hostile lengths stay bounded */
	md_ignore_parse("[\nok\n", &p);
	CHECK(md_ignore_match(&p, "[") == 0 && md_ignore_match(&p, "ok") == 1);
	md_strv_free(&p);
	struct md_sb b = {0};
	for (int i = 0; i < 16; i++)
		md_sb_puts(&b, "**/");
	md_sb_puts(&b, "x\n");
	for (int i = 0; i < 17; i++)
		md_sb_puts(&b, "**/");
	md_sb_puts(&b, "y\n");
	for (int i = 0; i < 100000; i++)
		md_sb_puts(&b, "a/");
	md_sb_puts(&b, "z\n");
	md_ignore_parse(b.s, &p);
	CHECK(p.n == 1); /* 17 "**" and a pattern longer than a path: dropped */
	CHECK(md_ignore_match(&p, "a/b/c/x") == 1);
	CHECK(md_ignore_match(&p, "a/b/c/y") == 0);
	md_sb_free(&b);
	md_strv_free(&p);
	t_end();
}
#endif

int main(void)
{
	test_json_valid();
	test_json_invalid();
	test_json_access();
	test_digests();
	test_sha_accel();
	test_refs();
	test_tar_paths();
	test_templates();
	test_options();
	test_time_size();
	test_path_match();
	test_scan_numbers();
#if MD_FEATURE_NET
	test_net_endpoint();
	test_dns_answer();
#endif
	test_kconfig_gunzip();
	test_subid();
	test_decompress();
	test_layer_tarsplit();
	test_layer_hostile();
	test_layer_host_failure();
	test_sizes_signals();
	test_secure_join();
	test_root_open();
	test_copy_walk();
	test_close_from();
	test_copy_errors();
	test_error_kinds();
#if MD_FEATURE_COMPOSE
	test_yaml();
	test_compose_interp();
#endif
	test_events_journal();
	test_cg_rules();
	test_mount_specs();
	test_links();
	test_run_flags();
	test_health_flags();
	test_frames_logs();
	test_import_changes();
#if MD_FEATURE_BUILD
	test_dockerfile_parse();
	test_dockerfile_words();
	test_dockerignore();
#endif
	t_registry_all();
	t_api_all();
	t_sign_all();
	printf("# %d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}
