/* mk/deps-probe.c -- proves that the static deps built by mk/deps.sh link and
 * work: libarchive (tar read with the zstd and gzip filters in-process, pax
 * SCHILY.xattr headers, pax and ustar write through gzip), BearSSL sha256,
 * zlib inflate, libzstd streaming decompression and libyaml's parser. Exits 0 when all is well,
 * else prints what failed. */
#include <stdio.h>
#include <string.h>
#include <archive.h>
#include <archive_entry.h>
#include <bearssl.h>
#include <zlib.h>
#include <zstd.h>
#include <yaml.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
	fprintf(stderr, "probe: FAIL %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* zstd -19 of a 10240-byte pax tar: etc/probe.txt (105 bytes, 3 lines) with
 * SCHILY.xattr.security.capability=cap and SCHILY.xattr.user.probe=xattr-ok. */
static const unsigned char tar_zst[] = {
	0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x68, 0xd5, 0x05, 0x00, 0xa2, 0x89, 0x1f,
	0x19, 0x60, 0xd7, 0x03, 0x1c, 0x58, 0x6a, 0x8f, 0x9e, 0x91, 0x96, 0x72,
	0x01, 0xe4, 0xb3, 0x59, 0xc4, 0xb7, 0x61, 0xd4, 0x9c, 0x68, 0x80, 0x70,
	0x27, 0x05, 0x80, 0xbb, 0xd9, 0x4b, 0xae, 0x9a, 0x55, 0xa2, 0x18, 0xbd,
	0xdc, 0x53, 0xd8, 0x5d, 0xd5, 0x4e, 0xae, 0x5a, 0xd6, 0x53, 0xee, 0xfa,
	0x18, 0x62, 0xf4, 0xe3, 0x88, 0x43, 0x11, 0x61, 0xc3, 0x22, 0x46, 0xa3,
	0x71, 0xc6, 0x4f, 0x98, 0xf8, 0x1b, 0xa8, 0x6a, 0x80, 0x7c, 0x54, 0x6d,
	0xf6, 0xec, 0x5f, 0xcd, 0x20, 0x00, 0xc4, 0xa2, 0x91, 0xcc, 0xe4, 0x7c,
	0x1b, 0xa6, 0x56, 0x9b, 0x7f, 0x9f, 0xc5, 0x58, 0xe6, 0x07, 0x35, 0xcc,
	0xa2, 0x3c, 0xce, 0x63, 0xbb, 0xb7, 0x95, 0xf8, 0x6a, 0x9d, 0x5d, 0x43,
	0x38, 0x38, 0xf4, 0xf6, 0x8e, 0x10, 0xba, 0xb7, 0x7d, 0x49, 0xfe, 0x92,
	0xa5, 0x93, 0x08, 0x4f, 0x78, 0x01, 0x14, 0x00, 0xe0, 0x0f, 0x7a, 0x90,
	0x05, 0x21, 0xab, 0x20, 0x46, 0xa1, 0x1b, 0x07, 0x21, 0x38, 0x30, 0xa0,
	0x0a, 0xc0, 0x12, 0xb0, 0xc7, 0x0d, 0x90, 0xa3, 0x95, 0x69, 0x4b, 0x60,
	0x71, 0x4a, 0xd3, 0x14, 0xfc, 0x52, 0xf2, 0x00, 0xe0, 0xc2, 0x05, 0x78,
	0x73, 0x40, 0x1d, 0x00, 0x92, 0x77, 0xe1, 0x72, 0x01, 0x00, 0xec, 0x92,
	0x09, 0xd4, 0x01,
};
static const char probe_text[] = "hello from the minidock deps probe\n";

/* Reads an archive from memory; checks the first entry's name, xattrs, data. */
static void read_back(const void *buf, size_t len, const char *what, int want_caps)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	const char *name; const void *val; size_t vlen;
	char data[512]; ssize_t n;
	int found_user = 0, found_caps = 0;

	CHECK(archive_read_support_format_tar(a) == ARCHIVE_OK, "%s: format_tar", what);
	/* ARCHIVE_WARN here means "falls back to an external program". */
	CHECK(archive_read_support_filter_gzip(a) == ARCHIVE_OK, "%s: gzip filter not built in", what);
	CHECK(archive_read_support_filter_zstd(a) == ARCHIVE_OK, "%s: zstd filter not built in", what);
	CHECK(archive_read_open_memory(a, buf, len) == ARCHIVE_OK, "%s: open: %s", what, archive_error_string(a));
	CHECK(archive_read_next_header(a, &e) == ARCHIVE_OK, "%s: header: %s", what, archive_error_string(a));
	if (failures) { archive_read_free(a); return; }
	CHECK(strcmp(archive_entry_pathname(e), "etc/probe.txt") == 0, "%s: name %s", what, archive_entry_pathname(e));
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &vlen) == ARCHIVE_OK) {
		if (strcmp(name, "user.probe") == 0 && vlen == 8 && memcmp(val, "xattr-ok", 8) == 0) found_user = 1;
		if (strcmp(name, "security.capability") == 0 && vlen == 3 && memcmp(val, "cap", 3) == 0) found_caps = 1;
	}
	CHECK(found_user, "%s: SCHILY.xattr.user.probe not parsed", what);
	CHECK(found_caps || !want_caps, "%s: SCHILY.xattr.security.capability not parsed", what);
	n = archive_read_data(a, data, sizeof data);
	CHECK(n == 3 * (ssize_t)strlen(probe_text) && memcmp(data, probe_text, strlen(probe_text)) == 0,
	      "%s: data (%zd bytes)", what, n);
	CHECK(archive_read_next_header(a, &e) == ARCHIVE_EOF, "%s: expected one entry", what);
	CHECK(archive_filter_code(a, 0) != ARCHIVE_FILTER_PROGRAM, "%s: external filter program used", what);
	archive_read_free(a);
}

/* Writes the same entry as pax (or ustar) through gzip into buf. */
static size_t write_tar(int pax, unsigned char *buf, size_t cap)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0;
	char data[512] = "";
	int i;

	for (i = 0; i < 3; i++) strcat(data, probe_text);
	CHECK((pax ? archive_write_set_format_pax(a) : archive_write_set_format_ustar(a)) == ARCHIVE_OK, "set format");
	CHECK(archive_write_add_filter_gzip(a) == ARCHIVE_OK, "gzip write filter not built in");
	CHECK(archive_write_open_memory(a, buf, cap, &used) == ARCHIVE_OK, "open_memory");
	archive_entry_set_pathname(e, "etc/probe.txt");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(data));
	if (pax) archive_entry_xattr_add_entry(e, "user.probe", "xattr-ok", 8);
	CHECK(archive_write_header(a, e) == ARCHIVE_OK, "write_header: %s", archive_error_string(a));
	CHECK(archive_write_data(a, data, strlen(data)) == (la_ssize_t)strlen(data), "write_data");
	CHECK(archive_write_close(a) == ARCHIVE_OK, "write_close: %s", archive_error_string(a));
	archive_write_free(a);
	archive_entry_free(e);
	return used;
}

int main(void)
{
	static unsigned char tar[10240], gz[16384];
	unsigned char h[32];
	br_sha256_context sc;
	z_stream zs;
	ZSTD_DStream *ds;
	ZSTD_inBuffer in = { tar_zst, sizeof tar_zst, 0 };
	ZSTD_outBuffer out = { tar, sizeof tar, 0 };
	size_t r, n;
	static const unsigned char abc_sha256[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };

	/* BearSSL */
	br_sha256_init(&sc);
	br_sha256_update(&sc, "abc", 3);
	br_sha256_out(&sc, h);
	CHECK(memcmp(h, abc_sha256, 32) == 0, "br_sha256 of \"abc\"");

	/* libzstd streaming */
	ds = ZSTD_createDStream();
	CHECK(ds != NULL, "ZSTD_createDStream");
	if (ds) {
		ZSTD_initDStream(ds);
		r = ZSTD_decompressStream(ds, &out, &in);
		CHECK(!ZSTD_isError(r) && r == 0 && out.pos == sizeof tar, "ZSTD_decompressStream: %s, %zu bytes",
		      ZSTD_isError(r) ? ZSTD_getErrorName(r) : "ok", out.pos);
		ZSTD_freeDStream(ds);
	}

	/* libarchive: the zstd tar, then pax/gzip and ustar/gzip round trips */
	read_back(tar_zst, sizeof tar_zst, "tar.zst", 1);
	n = write_tar(1, gz, sizeof gz);
	read_back(gz, n, "pax.tar.gz", 0);
	n = write_tar(0, gz, sizeof gz);
	CHECK(n > 20 && gz[0] == 0x1f && gz[1] == 0x8b, "ustar.tar.gz: not gzip");

	/* zlib: inflate the ustar.tar.gz just written (windowBits 16+15: gzip) */
	memset(&zs, 0, sizeof zs);
	CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "inflateInit2");
	zs.next_in = gz; zs.avail_in = (uInt)n;
	zs.next_out = tar; zs.avail_out = sizeof tar;
	CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END, "inflate: %s", zs.msg ? zs.msg : "?");
	CHECK(zs.total_out >= 2048 && memcmp(tar + 257, "ustar", 5) == 0, "inflate: not a ustar tar");
	inflateEnd(&zs);

	CHECK(RTM_NEWLINK > 0 && SECCOMP_RET_ALLOW != 0, "kernel headers");

	/* libyaml: parse a mapping with an anchor and an alias */
	{
		static const char y[] = "a: &x 1\nb: *x\n";
		yaml_parser_t yp;
		yaml_event_t ev;
		int scalars = 0, aliases = 0, done = 0;
		CHECK(yaml_parser_initialize(&yp), "yaml_parser_initialize");
		yaml_parser_set_input_string(&yp, (const unsigned char *)y, sizeof y - 1);
		while (!done && yaml_parser_parse(&yp, &ev)) {
			scalars += ev.type == YAML_SCALAR_EVENT;
			aliases += ev.type == YAML_ALIAS_EVENT;
			done = ev.type == YAML_STREAM_END_EVENT;
			yaml_event_delete(&ev);
		}
		CHECK(done && scalars == 3 && aliases == 1, "yaml: %d scalars, %d aliases", scalars, aliases);
		yaml_parser_delete(&yp);
	}
	if (failures) {
		fprintf(stderr, "probe: %d check(s) failed\n", failures);
		return 1;
	}
	printf("probe: ok (%s, zlib %s, zstd %s, libyaml %s)\n", archive_version_details(), zlibVersion(), ZSTD_versionString(),
	       yaml_get_version_string());
	return 0;
}
