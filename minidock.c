/*
 * minidock - a tiny, daemonless Docker for embedded Linux.
 *
 * One static binary, built from this one file, that loads, imports, saves
 * and stores container images in a crash-safe local store and runs
 * containers from them.  MIT licensed; see LICENSE.
 *
 * Table of contents
 *   01  configuration and feature flags
 *   02  includes
 *   03  utilities: errors, memory, strings, files, time, tables
 *   04  json: parser, builder, writer
 *   05  sha256 and digests
 *   06  image references
 *   07  templates (the Go-template subset of --format)
 *   08  byte sources and decompression (gzip, zstd, plain)
 *   09  layers: tar entry checks, unpack, tar-split, reconstruct
 *   10  store: layout, locks, graph index, blobs, layers, images
 *   11  load, import, save
 *   12  image commands: images, inspect, history, tag, rmi, prune, df, check
 *   13  option parsing and help
 *   14  command table and dispatch
 *   15  main
 *
 * Conventions (see ../shared/STYLE.md): everything is static; names are
 * md_<subsystem>_<verb>; code that holds resources returns -1 after
 * recording a message with md_err() and unwinds; only the command layer
 * prints "minidock: <cmd>: <message>" and picks the exit code.
 */

/**** 01 configuration and feature flags ************************************/

#define _GNU_SOURCE
#ifdef MD_BOARD_HEADER
#include MD_BOARD_HEADER
#endif

#define MD_VERSION "0.1.0"

/* Features are 0 or 1.  A board header or -D may override each default. */
#ifndef MD_FEATURE_PULL
#define MD_FEATURE_PULL 1 /* registry client: pull, push, login */
#endif
#ifndef MD_FEATURE_TLS
#define MD_FEATURE_TLS 1 /* HTTPS through BearSSL */
#endif
#ifndef MD_FEATURE_NET
#define MD_FEATURE_NET 1 /* bridge networking, NAT, published ports */
#endif
#ifndef MD_FEATURE_API
#define MD_FEATURE_API 1 /* `minidock serve`: the Docker Engine API */
#endif
#ifndef MD_FEATURE_SECCOMP
#define MD_FEATURE_SECCOMP 1 /* default seccomp filter */
#endif
#ifndef MD_FEATURE_IPV6
#define MD_FEATURE_IPV6 0 /* IPv6 on container networks */
#endif
#ifndef MD_FEATURE_ZSTD
#define MD_FEATURE_ZSTD 1 /* zstd-compressed layers */
#endif
#ifndef MD_FEATURE_USERNS
#define MD_FEATURE_USERNS 1 /* --userns=remap */
#endif

#if MD_FEATURE_TLS && !MD_FEATURE_PULL
#error "MD_FEATURE_TLS needs MD_FEATURE_PULL (TLS is only used by the registry client)"
#endif
#if MD_FEATURE_IPV6 && !MD_FEATURE_NET
#error "MD_FEATURE_IPV6 needs MD_FEATURE_NET"
#endif

/* Defaults a board header may override. */
#ifndef MD_DEFAULT_ROOT
#define MD_DEFAULT_ROOT "/var/lib/minidock"
#endif
#ifndef MD_DEFAULT_RUNROOT
#define MD_DEFAULT_RUNROOT "/run/minidock"
#endif
/* The registry domain Docker assumes for short names (docker's own). */
#ifndef MD_DEFAULT_DOMAIN
#define MD_DEFAULT_DOMAIN "docker.io"
#endif

/* Hard limits on untrusted input. */
#define MD_JSON_MAX_DEPTH 128
#define MD_JSON_MAX_DOC (16u << 20)   /* configs, manifests, index files */
#define MD_TAR_MAX_HEADER (16u << 20) /* one tar header with extensions */
#define MD_OCI_MAX_NEST 8             /* nested image indexes */

/**** 02 includes ***********************************************************/

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <bearssl.h>
#include <zlib.h>
#if MD_FEATURE_ZSTD
#include <zstd.h>
#endif

/**** 03 utilities **********************************************************/

#define MD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MD_UNUSED __attribute__((unused))
#define MD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MD_NORETURN __attribute__((noreturn))

static char md_errmsg[1024];   /* the last error recorded by md_err() */
static const char *md_cmdname = "minidock"; /* for messages */

/* Record an error message; always returns -1 so callers can `return md_err(...)`. */
static MD_PRINTF(1, 2) int md_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(md_errmsg, sizeof md_errmsg, fmt, ap);
	va_end(ap);
	return -1;
}

/* As md_err(), with ": strerror(errno)" appended. */
static MD_PRINTF(1, 2) int md_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(md_errmsg, sizeof md_errmsg, fmt, ap);
	va_end(ap);
	size_t n = strlen(md_errmsg);
	snprintf(md_errmsg + n, sizeof md_errmsg - n, ": %s", strerror(e));
	errno = e;
	return -1;
}

/* Prefix the recorded error with context: "context: old message". */
static MD_PRINTF(1, 2) int md_err_wrap(const char *fmt, ...)
{
	char pre[512], old[sizeof md_errmsg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, md_errmsg, sizeof old);
	snprintf(md_errmsg, sizeof md_errmsg, "%.500s: %.500s", pre, old);
	return -1;
}

static MD_UNUSED MD_PRINTF(1, 2) void md_warn(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "minidock: %s: warning: ", md_cmdname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static MD_NORETURN MD_PRINTF(2, 3) void md_die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "minidock: %s: ", md_cmdname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void *md_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		md_die(125, "out of memory");
	return p;
}

static void *md_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		md_die(125, "out of memory");
	return p;
}

static char *md_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(md_alloc(n), s, n);
}

static char *md_strndup(const char *s, size_t n)
{
	char *p = md_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

static MD_PRINTF(1, 2) char *md_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = md_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static int md_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static int md_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int md_endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* ---- string builder ---- */

struct md_sb {
	char *s;
	size_t len, cap;
};

static void md_sb_grow(struct md_sb *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->s = md_realloc(b->s, cap);
	b->cap = cap;
}

static void md_sb_putn(struct md_sb *b, const void *p, size_t n)
{
	md_sb_grow(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void md_sb_puts(struct md_sb *b, const char *s)
{
	md_sb_putn(b, s, strlen(s));
}

static void md_sb_putc(struct md_sb *b, char c)
{
	md_sb_putn(b, &c, 1);
}

static MD_PRINTF(2, 3) void md_sb_printf(struct md_sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	md_sb_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static const char *md_sb_str(struct md_sb *b)
{
	return b->s ? b->s : "";
}

static void md_sb_free(struct md_sb *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

/* ---- growable array of strings ---- */

struct md_strv {
	char **v;
	size_t n, cap;
};

static void md_strv_push(struct md_strv *sv, const char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = md_realloc(sv->v, sv->cap * sizeof *sv->v);
	}
	sv->v[sv->n++] = md_strdup(s);
	sv->v[sv->n] = NULL;
}

static int md_strv_has(const struct md_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

static void md_strv_free(struct md_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof *sv);
}

static int md_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- files ---- */

static int md_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read up to n bytes, retrying short reads; returns bytes read (< n at EOF). */
static ssize_t md_read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
static char *md_read_file_at(int dirfd, const char *path, size_t max, size_t *lenp)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		md_errno("open %s", path);
		return NULL;
	}
	struct md_sb b = {0};
	char tmp[65536];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			md_errno("read %s", path);
			goto fail;
		}
		if (r == 0)
			break;
		if (b.len + (size_t)r > max) {
			md_err("%s is larger than %zu bytes", path, max);
			goto fail;
		}
		md_sb_putn(&b, tmp, (size_t)r);
	}
	close(fd);
	if (lenp)
		*lenp = b.len;
	if (!b.s)
		b.s = md_strdup("");
	return b.s;
fail:
	close(fd);
	md_sb_free(&b);
	return NULL;
}

static char *md_read_file(const char *path, size_t max, size_t *lenp)
{
	return md_read_file_at(AT_FDCWD, path, max, lenp);
}

static int md_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return md_errno("open %s", path);
	int r = fsync(fd);
	close(fd);
	if (r < 0 && errno != EINVAL && errno != EROFS)
		return md_errno("fsync %s", path);
	return 0;
}

static char *md_dirname(const char *path)
{
	const char *s = strrchr(path, '/');
	if (!s)
		return md_strdup(".");
	if (s == path)
		return md_strdup("/");
	return md_strndup(path, (size_t)(s - path));
}

/* Crash-safe replace: write a temp file beside path, fsync, rename, fsync dir. */
static int md_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = md_asprintf("%s.tmp-%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		md_errno("create %s", tmp);
		free(tmp);
		return -1;
	}
	if (md_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		md_errno("write %s", tmp);
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		md_errno("rename %s", tmp);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	char *dir = md_dirname(path);
	int r = md_fsync_dir(dir);
	free(dir);
	return r;
}

static int md_mkdir_p(const char *path, mode_t mode)
{
	char *p = md_strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			md_errno("mkdir %s", p);
			free(p);
			return -1;
		}
		*s = '/';
	}
	int r = 0;
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		r = md_errno("mkdir %s", p);
	free(p);
	return r;
}

/*
 * Remove name under dirfd recursively without following symlinks and
 * without crossing into other filesystems (a mount point is an error).
 */
static int md_rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : md_errno("stat %s", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return md_errno("remove %s", name);
		return 0;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return md_errno("open %s", name);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return md_errno("opendir %s", name);
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat cst;
		if (fstatat(fd, de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(cst.st_mode) && cst.st_dev != st.st_dev) {
			r = md_err("refusing to remove %s/%s: it is a mount point", name, de->d_name);
			break;
		}
		if (md_rm_rf_at(fd, de->d_name) < 0) {
			r = -1;
			break;
		}
	}
	closedir(d);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = md_errno("remove %s", name);
	return r;
}

static int md_rm_rf(const char *path)
{
	return md_rm_rf_at(AT_FDCWD, path);
}

static int md_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void md_random_hex(char *out, size_t nbytes)
{
	unsigned char buf[64];
	if (nbytes > sizeof buf)
		nbytes = sizeof buf;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t r = getrandom(buf + got, nbytes - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* no getrandom (old kernel): fall back to time and pid */
			for (; got < nbytes; got++)
				buf[got] = (unsigned char)(rand() ^ getpid() ^ time(NULL));
			break;
		}
		got += (size_t)r;
	}
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hx[buf[i] >> 4];
		out[2 * i + 1] = hx[buf[i] & 15];
	}
	out[2 * nbytes] = 0;
}

/* ---- time ---- */

/* RFC 3339 with nanoseconds, UTC, as Go's time.RFC3339Nano prints it. */
static void md_time_format(char *buf, size_t n, const struct timespec *ts)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ts->tv_nsec) {
		char frac[16];
		snprintf(frac, sizeof frac, ".%09ld", ts->tv_nsec);
		size_t l = strlen(frac);
		while (l > 1 && frac[l - 1] == '0')
			frac[--l] = 0;
		snprintf(buf + k, n - k, "%sZ", frac);
	} else {
		snprintf(buf + k, n - k, "Z");
	}
}

static void md_time_now(char *buf, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	md_time_format(buf, n, &ts);
}

/* Parse RFC 3339 ("2024-01-02T03:04:05.123Z", "+02:00" offsets); -1 if invalid. */
static int md_time_parse(const char *s, time_t *out)
{
	struct tm tm = {0};
	int n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	const char *p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	time_t t = timegm(&tm);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		t -= (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
		p += 6;
	}
	if (*p)
		return -1;
	*out = t;
	return 0;
}

/* Docker's units.HumanDuration, with " ago". */
static void md_time_ago(char *buf, size_t n, time_t then)
{
	long long d = (long long)(time(NULL) - then);
	if (then <= 0) {
		snprintf(buf, n, "N/A");
		return;
	}
	if (d < 1)
		snprintf(buf, n, "Less than a second ago");
	else if (d == 1)
		snprintf(buf, n, "1 second ago");
	else if (d < 60)
		snprintf(buf, n, "%lld seconds ago", d);
	else if (d < 120)
		snprintf(buf, n, "About a minute ago");
	else if (d < 3600)
		snprintf(buf, n, "%lld minutes ago", d / 60);
	else if (d < 7200)
		snprintf(buf, n, "About an hour ago");
	else if (d < 48 * 3600)
		snprintf(buf, n, "%lld hours ago", d / 3600);
	else if (d < 7 * 24 * 3600 * 2)
		snprintf(buf, n, "%lld days ago", d / 86400);
	else if (d < 30 * 24 * 3600 * 2)
		snprintf(buf, n, "%lld weeks ago", d / (7 * 86400));
	else if (d < 365 * 24 * 3600 * 2)
		snprintf(buf, n, "%lld months ago", d / (30 * 86400));
	else
		snprintf(buf, n, "%lld years ago", d / (365 * 86400));
}

/* Docker's units.HumanSize: SI units, three significant digits. */
static void md_human_size(char *buf, size_t n, double v)
{
	static const char *u[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	size_t i = 0;
	while (v >= 1000 && i + 1 < MD_ARRAY_LEN(u)) {
		v /= 1000;
		i++;
	}
	snprintf(buf, n, "%.3g%s", v, u[i]);
}

/* ---- tables: columns padded like Docker's tabwriter (min 10, pad 3) ---- */

struct md_table {
	size_t ncol;
	struct md_strv cells; /* row-major */
};

static void md_table_add(struct md_table *t, const char *const *row)
{
	for (size_t i = 0; i < t->ncol; i++)
		md_strv_push(&t->cells, row[i] ? row[i] : "");
}

static void md_table_print(struct md_table *t, FILE *f)
{
	size_t w[32] = {0};
	size_t nrow = t->ncol ? t->cells.n / t->ncol : 0;
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < t->ncol && c < 32; c++) {
			size_t l = strlen(t->cells.v[r * t->ncol + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < nrow; r++) {
		for (size_t c = 0; c < t->ncol; c++) {
			const char *s = t->cells.v[r * t->ncol + c];
			if (c + 1 == t->ncol) {
				fputs(s, f);
				break;
			}
			size_t width = w[c] + 3 < 10 ? 10 : w[c] + 3;
			fprintf(f, "%-*s", (int)width, s);
		}
		fputc('\n', f);
	}
	md_strv_free(&t->cells);
}

/**** 04 json ***************************************************************/
/*
 * A small DOM parser for untrusted JSON (image configs, manifests, indexes),
 * a builder, and a writer (compact, or indented as Docker's inspect).
 * Limits: nesting depth MD_JSON_MAX_DEPTH; strings may not contain NUL.
 * Duplicate object keys are kept; lookups return the last one, as Go does.
 */

enum md_jtype { MD_J_NULL, MD_J_FALSE, MD_J_TRUE, MD_J_NUM, MD_J_STR, MD_J_ARR, MD_J_OBJ };

struct md_json {
	enum md_jtype t;
	char *key;   /* member name inside an object */
	char *s;     /* string value, or the text of a number */
	struct md_json *child, *last, *next;
	size_t n;    /* number of children */
};

static struct md_json *md_json_new(enum md_jtype t)
{
	struct md_json *j = md_alloc(sizeof *j);
	j->t = t;
	return j;
}

static void md_json_free(struct md_json *j)
{
	while (j) {
		struct md_json *next = j->next;
		md_json_free(j->child);
		free(j->key);
		free(j->s);
		free(j);
		j = next;
	}
}

/* Free a node that may sit in a list: detach its siblings first. */
static void md_json_free1(struct md_json *j)
{
	if (!j)
		return;
	j->next = NULL;
	md_json_free(j);
}

struct md_jparse {
	const char *p, *end;
	const char *start;
	int depth;
};

static int md_jp_err(struct md_jparse *jp, const char *what)
{
	return md_err("invalid JSON at offset %zu: %s", (size_t)(jp->p - jp->start), what);
}

static void md_jp_ws(struct md_jparse *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int md_jp_hex4(struct md_jparse *jp, unsigned *out)
{
	unsigned v = 0;
	if (jp->end - jp->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = jp->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	jp->p += 4;
	*out = v;
	return 0;
}

static void md_utf8_put(struct md_sb *b, unsigned cp)
{
	char u[4];
	if (cp < 0x80) {
		u[0] = (char)cp;
		md_sb_putn(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		md_sb_putn(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		md_sb_putn(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		md_sb_putn(b, u, 4);
	}
}

/* Parse a string at jp->p (which points at the opening quote). */
static char *md_jp_string(struct md_jparse *jp)
{
	struct md_sb b = {0};
	jp->p++;
	for (;;) {
		if (jp->p >= jp->end) {
			md_jp_err(jp, "unterminated string");
			goto fail;
		}
		unsigned char c = (unsigned char)*jp->p;
		if (c == '"') {
			jp->p++;
			break;
		}
		if (c < 0x20) {
			md_jp_err(jp, "control character in string");
			goto fail;
		}
		if (c != '\\') {
			const char *q = jp->p;
			while (q < jp->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
				q++;
			md_sb_putn(&b, jp->p, (size_t)(q - jp->p));
			jp->p = q;
			continue;
		}
		jp->p++;
		if (jp->p >= jp->end) {
			md_jp_err(jp, "unterminated escape");
			goto fail;
		}
		char e = *jp->p++;
		switch (e) {
		case '"': md_sb_putc(&b, '"'); break;
		case '\\': md_sb_putc(&b, '\\'); break;
		case '/': md_sb_putc(&b, '/'); break;
		case 'b': md_sb_putc(&b, '\b'); break;
		case 'f': md_sb_putc(&b, '\f'); break;
		case 'n': md_sb_putc(&b, '\n'); break;
		case 'r': md_sb_putc(&b, '\r'); break;
		case 't': md_sb_putc(&b, '\t'); break;
		case 'u': {
			unsigned cp;
			if (md_jp_hex4(jp, &cp) < 0) {
				md_jp_err(jp, "bad \\u escape");
				goto fail;
			}
			if (cp >= 0xd800 && cp < 0xdc00) {
				unsigned lo;
				if (jp->end - jp->p >= 6 && jp->p[0] == '\\' && jp->p[1] == 'u') {
					jp->p += 2;
					if (md_jp_hex4(jp, &lo) < 0) {
						md_jp_err(jp, "bad \\u escape");
						goto fail;
					}
					if (lo >= 0xdc00 && lo < 0xe000) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					} else {
						md_utf8_put(&b, 0xfffd);
						cp = lo >= 0xd800 && lo < 0xe000 ? 0xfffd : lo;
					}
				} else {
					cp = 0xfffd;
				}
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				cp = 0xfffd;
			}
			if (cp == 0) {
				md_jp_err(jp, "NUL character in string");
				goto fail;
			}
			md_utf8_put(&b, cp);
			break;
		}
		default:
			md_jp_err(jp, "bad escape");
			goto fail;
		}
	}
	if (!b.s)
		b.s = md_strdup("");
	return b.s;
fail:
	md_sb_free(&b);
	return NULL;
}

static int md_jp_number(struct md_jparse *jp, struct md_json *j)
{
	const char *s = jp->p;
	const char *p = s;
	if (p < jp->end && *p == '-')
		p++;
	if (p >= jp->end || !isdigit((unsigned char)*p))
		return md_jp_err(jp, "bad number");
	if (*p == '0')
		p++;
	else
		while (p < jp->end && isdigit((unsigned char)*p))
			p++;
	if (p < jp->end && *p == '.') {
		p++;
		if (p >= jp->end || !isdigit((unsigned char)*p))
			return md_jp_err(jp, "bad number");
		while (p < jp->end && isdigit((unsigned char)*p))
			p++;
	}
	if (p < jp->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < jp->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= jp->end || !isdigit((unsigned char)*p))
			return md_jp_err(jp, "bad number");
		while (p < jp->end && isdigit((unsigned char)*p))
			p++;
	}
	if (p - s > 64)
		return md_jp_err(jp, "number too long");
	j->s = md_strndup(s, (size_t)(p - s));
	jp->p = p;
	return 0;
}

static void md_json_append(struct md_json *parent, struct md_json *c)
{
	c->next = NULL;
	if (parent->last)
		parent->last->next = c;
	else
		parent->child = c;
	parent->last = c;
	parent->n++;
}

static struct md_json *md_jp_value(struct md_jparse *jp)
{
	md_jp_ws(jp);
	if (jp->p >= jp->end) {
		md_jp_err(jp, "unexpected end of input");
		return NULL;
	}
	struct md_json *j = NULL;
	char c = *jp->p;
	if (c == '{' || c == '[') {
		if (++jp->depth > MD_JSON_MAX_DEPTH) {
			md_jp_err(jp, "nested too deeply");
			return NULL;
		}
		int obj = c == '{';
		j = md_json_new(obj ? MD_J_OBJ : MD_J_ARR);
		jp->p++;
		md_jp_ws(jp);
		if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
			jp->p++;
			jp->depth--;
			return j;
		}
		for (;;) {
			char *key = NULL;
			if (obj) {
				md_jp_ws(jp);
				if (jp->p >= jp->end || *jp->p != '"') {
					md_jp_err(jp, "expected a string key");
					goto fail;
				}
				if (!(key = md_jp_string(jp)))
					goto fail;
				md_jp_ws(jp);
				if (jp->p >= jp->end || *jp->p != ':') {
					free(key);
					md_jp_err(jp, "expected ':'");
					goto fail;
				}
				jp->p++;
			}
			struct md_json *v = md_jp_value(jp);
			if (!v) {
				free(key);
				goto fail;
			}
			v->key = key;
			md_json_append(j, v);
			md_jp_ws(jp);
			if (jp->p < jp->end && *jp->p == ',') {
				jp->p++;
				continue;
			}
			if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
				jp->p++;
				break;
			}
			md_jp_err(jp, obj ? "expected ',' or '}'" : "expected ',' or ']'");
			goto fail;
		}
		jp->depth--;
		return j;
	}
	if (c == '"') {
		char *s = md_jp_string(jp);
		if (!s)
			return NULL;
		j = md_json_new(MD_J_STR);
		j->s = s;
		return j;
	}
	if (c == '-' || isdigit((unsigned char)c)) {
		j = md_json_new(MD_J_NUM);
		if (md_jp_number(jp, j) < 0)
			goto fail;
		return j;
	}
	static const struct { const char *w; enum md_jtype t; } lit[] = {
		{"true", MD_J_TRUE}, {"false", MD_J_FALSE}, {"null", MD_J_NULL}};
	for (size_t i = 0; i < MD_ARRAY_LEN(lit); i++) {
		size_t l = strlen(lit[i].w);
		if ((size_t)(jp->end - jp->p) >= l && memcmp(jp->p, lit[i].w, l) == 0) {
			jp->p += l;
			return md_json_new(lit[i].t);
		}
	}
	md_jp_err(jp, "unexpected character");
	return NULL;
fail:
	md_json_free(j);
	return NULL;
}

/* Parse a complete document; NULL (with md_err set) if it is not valid JSON. */
static struct md_json *md_json_parse(const char *buf, size_t len)
{
	struct md_jparse jp = {buf, buf + len, buf, 0};
	struct md_json *j = md_jp_value(&jp);
	if (!j)
		return NULL;
	md_jp_ws(&jp);
	if (jp.p != jp.end) {
		md_jp_err(&jp, "trailing data after the value");
		md_json_free(j);
		return NULL;
	}
	return j;
}

static struct md_json *md_json_parse_file(const char *path)
{
	size_t len;
	char *buf = md_read_file(path, MD_JSON_MAX_DOC, &len);
	if (!buf)
		return NULL;
	struct md_json *j = md_json_parse(buf, len);
	free(buf);
	if (!j)
		md_err_wrap("%s", path);
	return j;
}

/* ---- access ---- */

static struct md_json *md_json_get(const struct md_json *o, const char *key)
{
	struct md_json *found = NULL;
	if (!o || o->t != MD_J_OBJ)
		return NULL;
	for (struct md_json *c = o->child; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			found = c;
	return found;
}

static const char *md_json_str(const struct md_json *j)
{
	return j && j->t == MD_J_STR ? j->s : NULL;
}

static const char *md_json_gets(const struct md_json *o, const char *key)
{
	return md_json_str(md_json_get(o, key));
}

/* An integral number in int64 range. */
static int md_json_int(const struct md_json *j, long long *out)
{
	if (!j || j->t != MD_J_NUM)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(j->s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static long long md_json_geti(const struct md_json *o, const char *key, long long dflt)
{
	long long v;
	return md_json_int(md_json_get(o, key), &v) == 0 ? v : dflt;
}

static struct md_json *md_json_at(const struct md_json *a, size_t i)
{
	if (!a || (a->t != MD_J_ARR && a->t != MD_J_OBJ))
		return NULL;
	struct md_json *c = a->child;
	while (c && i--)
		c = c->next;
	return c;
}

static int md_json_is(const struct md_json *j, enum md_jtype t)
{
	return j && j->t == t;
}

/* ---- building ---- */

static struct md_json *md_json_newstr(const char *s)
{
	struct md_json *j = md_json_new(MD_J_STR);
	j->s = md_strdup(s ? s : "");
	return j;
}

static struct md_json *md_json_newint(long long v)
{
	struct md_json *j = md_json_new(MD_J_NUM);
	j->s = md_asprintf("%lld", v);
	return j;
}

static MD_UNUSED struct md_json *md_json_newbool(int v)
{
	return md_json_new(v ? MD_J_TRUE : MD_J_FALSE);
}

static struct md_json *md_json_clone(const struct md_json *j)
{
	if (!j)
		return md_json_new(MD_J_NULL);
	struct md_json *c = md_json_new(j->t);
	if (j->s)
		c->s = md_strdup(j->s);
	for (struct md_json *k = j->child; k; k = k->next) {
		struct md_json *kc = md_json_clone(k);
		if (k->key)
			kc->key = md_strdup(k->key);
		md_json_append(c, kc);
	}
	return c;
}

/* Remove key from o (every occurrence). */
static void md_json_del(struct md_json *o, const char *key)
{
	if (!o || o->t != MD_J_OBJ)
		return;
	struct md_json **pp = &o->child, *prev = NULL;
	while (*pp) {
		struct md_json *c = *pp;
		if (strcmp(c->key, key) == 0) {
			*pp = c->next;
			o->n--;
			md_json_free1(c);
			continue;
		}
		prev = c;
		pp = &c->next;
	}
	o->last = prev;
}

/* Set o[key] = v (taking ownership of v), replacing any old value in place. */
static struct md_json *md_json_set(struct md_json *o, const char *key, struct md_json *v)
{
	free(v->key);
	v->key = md_strdup(key);
	for (struct md_json **pp = &o->child; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			struct md_json *old = *pp;
			v->next = old->next;
			*pp = v;
			if (o->last == old)
				o->last = v;
			md_json_free1(old);
			return v;
		}
	}
	md_json_append(o, v);
	return v;
}

static struct md_json *md_json_sets(struct md_json *o, const char *key, const char *s)
{
	return md_json_set(o, key, md_json_newstr(s));
}

static struct md_json *md_json_seti(struct md_json *o, const char *key, long long v)
{
	return md_json_set(o, key, md_json_newint(v));
}

static struct md_json *md_json_push(struct md_json *a, struct md_json *v)
{
	free(v->key);
	v->key = NULL;
	md_json_append(a, v);
	return v;
}

/* ---- writing ---- */

static void md_json_write_str(struct md_sb *b, const char *s)
{
	static const char hx[] = "0123456789abcdef";
	md_sb_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		switch (c) {
		case '"': md_sb_puts(b, "\\\""); break;
		case '\\': md_sb_puts(b, "\\\\"); break;
		case '\n': md_sb_puts(b, "\\n"); break;
		case '\r': md_sb_puts(b, "\\r"); break;
		case '\t': md_sb_puts(b, "\\t"); break;
		case '<': case '>': case '&': /* as Go's encoder does */
			md_sb_puts(b, "\\u00");
			md_sb_putc(b, hx[c >> 4]);
			md_sb_putc(b, hx[c & 15]);
			break;
		default:
			if (c < 0x20) {
				md_sb_puts(b, "\\u00");
				md_sb_putc(b, hx[c >> 4]);
				md_sb_putc(b, hx[c & 15]);
			} else {
				md_sb_putc(b, (char)c);
			}
		}
	}
	md_sb_putc(b, '"');
}

static void md_json_indent(struct md_sb *b, int indent, int level)
{
	md_sb_putc(b, '\n');
	for (int i = 0; i < indent * level; i++)
		md_sb_putc(b, ' ');
}

/* indent 0: compact; otherwise pretty with `indent` spaces per level. */
static void md_json_write(struct md_sb *b, const struct md_json *j, int indent, int level)
{
	if (!j) {
		md_sb_puts(b, "null");
		return;
	}
	switch (j->t) {
	case MD_J_NULL: md_sb_puts(b, "null"); break;
	case MD_J_TRUE: md_sb_puts(b, "true"); break;
	case MD_J_FALSE: md_sb_puts(b, "false"); break;
	case MD_J_NUM: md_sb_puts(b, j->s); break;
	case MD_J_STR: md_json_write_str(b, j->s); break;
	case MD_J_ARR:
	case MD_J_OBJ: {
		int obj = j->t == MD_J_OBJ;
		md_sb_putc(b, obj ? '{' : '[');
		if (!j->child) {
			md_sb_putc(b, obj ? '}' : ']');
			break;
		}
		for (struct md_json *c = j->child; c; c = c->next) {
			if (indent)
				md_json_indent(b, indent, level + 1);
			if (obj) {
				md_json_write_str(b, c->key);
				md_sb_puts(b, indent ? ": " : ":");
			}
			md_json_write(b, c, indent, level + 1);
			if (c->next)
				md_sb_putc(b, ',');
		}
		if (indent)
			md_json_indent(b, indent, level);
		md_sb_putc(b, obj ? '}' : ']');
		break;
	}
	}
}

static char *md_json_dump(const struct md_json *j, int indent)
{
	struct md_sb b = {0};
	md_json_write(&b, j, indent, 0);
	return b.s ? b.s : md_strdup("");
}

/**** 05 sha256 and digests *************************************************/
/* Digests are "sha256:" + 64 lowercase hex digits; no other algorithm. */

#define MD_DIGEST_LEN 71 /* strlen("sha256:") + 64 */

static void md_sha_hex(br_sha256_context *c, char out[MD_DIGEST_LEN + 1])
{
	unsigned char h[32];
	static const char hx[] = "0123456789abcdef";
	br_sha256_out(c, h);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hx[h[i] >> 4];
		out[8 + 2 * i] = hx[h[i] & 15];
	}
	out[MD_DIGEST_LEN] = 0;
}

static void md_sha256_buf(const void *p, size_t n, char out[MD_DIGEST_LEN + 1])
{
	br_sha256_context c;
	br_sha256_init(&c);
	br_sha256_update(&c, p, n);
	md_sha_hex(&c, out);
}

static int md_hex64_valid(const char *h)
{
	for (int i = 0; i < 64; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return h[64] == 0;
}

static int md_digest_valid(const char *d)
{
	return d && strncmp(d, "sha256:", 7) == 0 && md_hex64_valid(d + 7);
}

/* Check a digest string from untrusted input, with a message naming what is wrong. */
static int md_digest_check(const char *d, const char *what)
{
	if (!d)
		return md_err("%s: missing digest", what);
	if (strncmp(d, "sha256:", 7) != 0 && strchr(d, ':'))
		return md_err("%s: unsupported digest algorithm in \"%.80s\" (only sha256)", what, d);
	if (!md_digest_valid(d))
		return md_err("%s: invalid digest \"%.80s\"", what, d);
	return 0;
}

static int md_sha256_fd(int fd, char out[MD_DIGEST_LEN + 1], uint64_t *sizep)
{
	br_sha256_context c;
	static unsigned char buf[65536];
	uint64_t total = 0;
	br_sha256_init(&c);
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		br_sha256_update(&c, buf, (size_t)r);
		total += (uint64_t)r;
	}
	md_sha_hex(&c, out);
	if (sizep)
		*sizep = total;
	return 0;
}

static int md_sha256_file(const char *path, char out[MD_DIGEST_LEN + 1], uint64_t *sizep)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return md_errno("open %s", path);
	int r = md_sha256_fd(fd, out, sizep);
	if (r < 0)
		md_errno("read %s", path);
	close(fd);
	return r;
}

/* OCI chain ID: chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)). */
static void md_chain_id(const char *parent, const char *diff, char out[MD_DIGEST_LEN + 1])
{
	if (!parent || !*parent) {
		snprintf(out, MD_DIGEST_LEN + 1, "%s", diff);
		return;
	}
	char buf[2 * MD_DIGEST_LEN + 2];
	snprintf(buf, sizeof buf, "%s %s", parent, diff);
	md_sha256_buf(buf, strlen(buf), out);
}

/**** 06 image references ***************************************************/
/*
 * Docker's reference grammar:
 *   [domain[:port]/]component[/component...][:tag][@sha256:hex]
 * A first component is a domain when it has '.' or ':', is "localhost", or
 * has upper case.  Short names get MD_DEFAULT_DOMAIN and "library/".  The
 * store keeps and shows the familiar form ("busybox:latest").
 */

struct md_ref {
	char domain[256];
	char path[272];
	char tag[129];
	char digest[MD_DIGEST_LEN + 1];
};

static int md_ref_component_ok(const char *s, size_t n)
{
	/* [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
	size_t i = 0;
	if (n == 0)
		return 0;
	for (;;) {
		size_t st = i;
		while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			i++;
		if (i == st)
			return 0;
		if (i == n)
			return 1;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return 0;
		if (i >= n)
			return 0;
	}
}

static int md_ref_domain_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0)
		return 0;
	if (s[0] == '[') { /* IPv6 literal */
		while (i < n && s[i] != ']') {
			if (!(isxdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == '[' || s[i] == '.'))
				return 0;
			i++;
		}
		if (i == n)
			return 0;
		i++;
	} else {
		/* labels of [a-zA-Z0-9-], not starting or ending with '-', separated by '.' */
		for (;;) {
			size_t st = i;
			while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-'))
				i++;
			if (i == st || s[st] == '-' || s[i - 1] == '-')
				return 0;
			if (i < n && s[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i < n && s[i] == ':') {
		i++;
		size_t st = i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == st)
			return 0;
	}
	return i == n;
}

static int md_ref_tag_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128)
		return 0;
	if (!(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* Parse a reference; messages follow Docker's "invalid reference format" wording. */
static int md_ref_parse(const char *in, struct md_ref *r)
{
	char buf[1024];
	memset(r, 0, sizeof *r);
	if (!in || !*in)
		return md_err("invalid reference format: empty name");
	if (strlen(in) >= sizeof buf)
		return md_err("invalid reference format: name too long");
	strcpy(buf, in);
	char *at = strchr(buf, '@');
	if (at) {
		*at = 0;
		if (md_digest_check(at + 1, "invalid reference format") < 0)
			return -1;
		strcpy(r->digest, at + 1);
	}
	char *slash = strrchr(buf, '/');
	char *colon = strrchr(buf, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = 0;
		if (!md_ref_tag_ok(colon + 1))
			return md_err("invalid reference format: bad tag \"%.130s\"", colon + 1);
		strcpy(r->tag, colon + 1);
	}
	char *name = buf;
	if (!*name)
		return md_err("invalid reference format: empty name");
	if (strlen(name) > 255)
		return md_err("invalid reference format: repository name must not be more than 255 characters");
	char *first = strchr(name, '/');
	const char *path = name;
	int has_domain = 0;
	if (first) {
		size_t fl = (size_t)(first - name);
		int upper = 0;
		for (size_t i = 0; i < fl; i++)
			upper |= isupper((unsigned char)name[i]) != 0;
		if (memchr(name, '.', fl) || memchr(name, ':', fl) ||
		    (fl == 9 && memcmp(name, "localhost", 9) == 0) || upper) {
			if (!md_ref_domain_ok(name, fl))
				return md_err("invalid reference format: bad registry \"%.*s\"", (int)fl, name);
			memcpy(r->domain, name, fl);
			r->domain[fl] = 0;
			path = first + 1;
			has_domain = 1;
		}
	}
	if (!has_domain)
		strcpy(r->domain, MD_DEFAULT_DOMAIN);
	/* validate path components */
	for (const char *p = path;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int lower_ok = 1;
		for (size_t i = 0; i < n; i++)
			if (isupper((unsigned char)p[i]))
				lower_ok = 0;
		if (!lower_ok)
			return md_err("invalid reference format: repository name (%s) must be lowercase", path);
		if (!md_ref_component_ok(p, n))
			return md_err("invalid reference format: bad name component \"%.*s\"", (int)n, p);
		if (!e)
			break;
		p = e + 1;
	}
	if (strcmp(r->domain, MD_DEFAULT_DOMAIN) == 0 && !strchr(path, '/'))
		snprintf(r->path, sizeof r->path, "library/%.255s", path);
	else
		snprintf(r->path, sizeof r->path, "%.255s", path);
	return 0;
}

/* The familiar repository name: "busybox", "me/app", "localhost:5000/app". */
static void md_ref_name(const struct md_ref *r, char *out, size_t n)
{
	/* keep the domain when dropping it would make the first component
	 * look like one ("docker.io/a.b/c" is not "a.b/c") */
	const char *slash = strchr(r->path, '/');
	size_t fl = slash ? (size_t)(slash - r->path) : 0;
	int ambiguous = slash && (memchr(r->path, '.', fl) || memchr(r->path, ':', fl) ||
	                          (fl == 9 && memcmp(r->path, "localhost", 9) == 0));
	if (strcmp(r->domain, MD_DEFAULT_DOMAIN) == 0 && !ambiguous) {
		const char *p = r->path;
		if (md_startswith(p, "library/") && !strchr(p + 8, '/'))
			p += 8;
		snprintf(out, n, "%s", p);
	} else {
		snprintf(out, n, "%s/%s", r->domain, r->path);
	}
}

/* Familiar "name:tag" (tag defaults to latest unless a digest is given). */
static void md_ref_familiar(const struct md_ref *r, char *out, size_t n)
{
	char name[600];
	md_ref_name(r, name, sizeof name);
	if (r->tag[0])
		snprintf(out, n, "%s:%s", name, r->tag);
	else if (r->digest[0])
		snprintf(out, n, "%s@%s", name, r->digest);
	else
		snprintf(out, n, "%s:latest", name);
}

/* Fully qualified "domain/path:tag". */
static void md_ref_full(const struct md_ref *r, char *out, size_t n)
{
	snprintf(out, n, "%s/%s:%s", r->domain, r->path, r->tag[0] ? r->tag : "latest");
}

/* Normalise a user-given tag reference to the familiar "name:tag" form. */
static int md_ref_normalize_tag(const char *in, char *out, size_t n)
{
	struct md_ref r;
	if (md_ref_parse(in, &r) < 0)
		return -1;
	if (r.digest[0] && !r.tag[0])
		return md_err("invalid reference format: \"%s\" names a digest, not a tag", in);
	md_ref_familiar(&r, out, n);
	return 0;
}

/**** 07 templates **********************************************************/
/*
 * The part of Go's text/template that --format users need, evaluated over a
 * JSON value: {{.A.B}}, {{json .X}}, {{index .M "k"}}, {{join .L ","}},
 * {{upper/lower/title/len/split ...}}, pipelines with '|', and
 * {{if}}/{{else}}/{{range}}/{{with}}/{{end}}; "{{-" and "-}}" trim spaces.
 * Values print as Go prints decoded JSON: [a b], map[k:v], <no value>.
 */

enum md_tkind { MD_T_TEXT, MD_T_EXPR, MD_T_IF, MD_T_RANGE, MD_T_WITH };

struct md_tnode {
	enum md_tkind kind;
	char *text; /* literal text, or the expression */
	struct md_tnode *body, *els, *next;
};

struct md_tval {
	struct md_json *j;
	int own;
};

static void md_tval_drop(struct md_tval *v)
{
	if (v->own)
		md_json_free1(v->j);
	v->j = NULL;
	v->own = 0;
}

static void md_tmpl_free(struct md_tnode *n)
{
	while (n) {
		struct md_tnode *next = n->next;
		free(n->text);
		md_tmpl_free(n->body);
		md_tmpl_free(n->els);
		free(n);
		n = next;
	}
}

/* Build the tree from *pp up to {{end}}/{{else}} (reported in *stop). */
static int md_tmpl_parse_list(const char **pp, const char **stop, int depth, struct md_tnode **out)
{
	struct md_tnode *head = NULL, **tail = &head;
	const char *p = *pp;
	*stop = NULL;
	*out = NULL;
	if (depth > 32)
		return md_err("template nested too deeply");
	while (*p) {
		const char *o = strstr(p, "{{");
		const char *tend = o ? o : p + strlen(p);
		int ltrim = o && o[2] == '-' && isspace((unsigned char)o[3]);
		const char *te = tend;
		if (ltrim)
			while (te > p && isspace((unsigned char)te[-1]))
				te--;
		if (te > p) {
			struct md_tnode *t = md_alloc(sizeof *t);
			t->kind = MD_T_TEXT;
			t->text = md_strndup(p, (size_t)(te - p));
			*tail = t;
			tail = &t->next;
		}
		if (!o) {
			p = tend;
			break;
		}
		const char *a = o + 2 + (ltrim ? 1 : 0);
		const char *c = strstr(a, "}}");
		if (!c) {
			md_err("template: unclosed action");
			goto fail;
		}
		const char *ae = c;
		int rtrim = ae - a >= 2 && ae[-1] == '-' && isspace((unsigned char)ae[-2]);
		if (rtrim)
			ae--;
		while (a < ae && isspace((unsigned char)*a))
			a++;
		while (ae > a && isspace((unsigned char)ae[-1]))
			ae--;
		char *act = md_strndup(a, (size_t)(ae - a));
		p = c + 2;
		if (rtrim)
			while (isspace((unsigned char)*p))
				p++;
		if (strcmp(act, "end") == 0 || strcmp(act, "else") == 0) {
			*stop = strcmp(act, "end") == 0 ? "end" : "else";
			free(act);
			*pp = p;
			*out = head;
			return 0;
		}
		struct md_tnode *t = md_alloc(sizeof *t);
		*tail = t;
		tail = &t->next;
		static const char *const kw[] = {"if ", "range ", "with "};
		static const enum md_tkind kk[] = {MD_T_IF, MD_T_RANGE, MD_T_WITH};
		t->kind = MD_T_EXPR;
		for (int i = 0; i < 3; i++)
			if (md_startswith(act, kw[i])) {
				t->kind = kk[i];
				memmove(act, act + strlen(kw[i]), strlen(act) - strlen(kw[i]) + 1);
				break;
			}
		t->text = act;
		if (t->kind != MD_T_EXPR) {
			const char *st;
			if (md_tmpl_parse_list(&p, &st, depth + 1, &t->body) < 0)
				goto fail;
			if (!st) {
				md_err("template: missing {{end}}");
				goto fail;
			}
			if (strcmp(st, "else") == 0) {
				if (md_tmpl_parse_list(&p, &st, depth + 1, &t->els) < 0)
					goto fail;
				if (!st || strcmp(st, "end") != 0) {
					md_err("template: missing {{end}}");
					goto fail;
				}
			}
		}
	}
	*pp = p;
	*out = head;
	return 0;
fail:
	md_tmpl_free(head);
	return -1;
}

static int md_tmpl_parse(const char *src, struct md_tnode **out)
{
	const char *p = src, *stop;
	if (md_tmpl_parse_list(&p, &stop, 0, out) < 0)
		return -1;
	if (stop) {
		md_tmpl_free(*out);
		*out = NULL;
		return md_err("template: unexpected {{%s}}", stop);
	}
	return 0;
}

/* Go's %v of a decoded JSON value. */
static void md_tmpl_print(struct md_sb *b, const struct md_json *j)
{
	if (!j) {
		md_sb_puts(b, "<no value>");
		return;
	}
	switch (j->t) {
	case MD_J_NULL: md_sb_puts(b, "<no value>"); break;
	case MD_J_TRUE: md_sb_puts(b, "true"); break;
	case MD_J_FALSE: md_sb_puts(b, "false"); break;
	case MD_J_NUM:
	case MD_J_STR: md_sb_puts(b, j->s); break;
	case MD_J_ARR:
		md_sb_putc(b, '[');
		for (struct md_json *c = j->child; c; c = c->next) {
			md_tmpl_print(b, c);
			if (c->next)
				md_sb_putc(b, ' ');
		}
		md_sb_putc(b, ']');
		break;
	case MD_J_OBJ: {
		/* Go sorts map keys */
		struct md_json **v = md_alloc((j->n + 1) * sizeof *v);
		size_t n = 0;
		for (struct md_json *c = j->child; c; c = c->next)
			v[n++] = c;
		for (size_t i = 1; i < n; i++)
			for (size_t k = i; k > 0 && strcmp(v[k - 1]->key, v[k]->key) > 0; k--) {
				struct md_json *t = v[k];
				v[k] = v[k - 1];
				v[k - 1] = t;
			}
		md_sb_puts(b, "map[");
		for (size_t i = 0; i < n; i++) {
			md_sb_printf(b, "%s%s:", i ? " " : "", v[i]->key);
			md_tmpl_print(b, v[i]);
		}
		md_sb_putc(b, ']');
		free(v);
		break;
	}
	}
}

static int md_tmpl_truth(const struct md_json *j)
{
	if (!j)
		return 0;
	switch (j->t) {
	case MD_J_NULL:
	case MD_J_FALSE: return 0;
	case MD_J_TRUE: return 1;
	case MD_J_NUM: return strtod(j->s, NULL) != 0;
	case MD_J_STR: return j->s[0] != 0;
	default: return j->n != 0;
	}
}

struct md_texpr {
	const char *p;
	const struct md_json *dot;
	int depth;
};

static void md_tx_ws(struct md_texpr *x)
{
	while (isspace((unsigned char)*x->p))
		x->p++;
}

static int md_tx_pipeline(struct md_texpr *x, struct md_tval *out, char endc);

/* Follow ".A.B" from v (already the base value). */
static int md_tx_fields(struct md_texpr *x, struct md_tval *v)
{
	while (*x->p == '.' && (isalnum((unsigned char)x->p[1]) || x->p[1] == '_')) {
		const char *s = ++x->p;
		while (isalnum((unsigned char)*x->p) || *x->p == '_')
			x->p++;
		char *f = md_strndup(s, (size_t)(x->p - s));
		struct md_json *n = NULL;
		if (v->j && v->j->t == MD_J_OBJ)
			n = md_json_get(v->j, f);
		else if (v->j && v->j->t != MD_J_NULL) {
			md_err("template: can't evaluate field %s in a non-object value", f);
			free(f);
			return -1;
		}
		free(f);
		struct md_tval nv = {n ? md_json_clone(n) : NULL, 1};
		if (!v->own) {
			md_json_free1(nv.j);
			nv.j = n;
			nv.own = 0;
		}
		md_tval_drop(v);
		*v = nv;
	}
	return 0;
}

static int md_tx_operand1(struct md_texpr *x, struct md_tval *out);

/* An operand; on failure nothing is left in out. */
static int md_tx_operand(struct md_texpr *x, struct md_tval *out)
{
	if (md_tx_operand1(x, out) < 0) {
		md_tval_drop(out);
		return -1;
	}
	return 0;
}

static int md_tx_operand1(struct md_texpr *x, struct md_tval *out)
{
	md_tx_ws(x);
	out->j = NULL;
	out->own = 0;
	if (*x->p == '.') {
		out->j = (struct md_json *)x->dot;
		if (x->p[1] == '.' || !(isalnum((unsigned char)x->p[1]) || x->p[1] == '_'))
			x->p++;
		return md_tx_fields(x, out);
	}
	if (*x->p == '"' || *x->p == '`') {
		char q = *x->p++;
		struct md_sb b = {0};
		while (*x->p && *x->p != q) {
			if (q == '"' && *x->p == '\\' && x->p[1]) {
				x->p++;
				char c = *x->p == 'n' ? '\n' : *x->p == 't' ? '\t' : *x->p;
				md_sb_putc(&b, c);
				x->p++;
				continue;
			}
			md_sb_putc(&b, *x->p++);
		}
		if (*x->p != q) {
			md_sb_free(&b);
			return md_err("template: unterminated string");
		}
		x->p++;
		out->j = md_json_newstr(md_sb_str(&b));
		out->own = 1;
		md_sb_free(&b);
		return 0;
	}
	if (*x->p == '-' || isdigit((unsigned char)*x->p)) {
		const char *s = x->p++;
		while (isdigit((unsigned char)*x->p))
			x->p++;
		out->j = md_json_new(MD_J_NUM);
		out->j->s = md_strndup(s, (size_t)(x->p - s));
		out->own = 1;
		return 0;
	}
	if (*x->p == '(') {
		x->p++;
		if (++x->depth > 16)
			return md_err("template: nested too deeply");
		if (md_tx_pipeline(x, out, ')') < 0)
			return -1;
		x->depth--;
		if (*x->p != ')')
			return md_err("template: missing ')'");
		x->p++;
		return md_tx_fields(x, out);
	}
	return md_err("template: unexpected \"%.20s\"", x->p);
}

/* Apply function name to args (the last may come from a pipe). */
static int md_tx_call(const char *fn, struct md_tval *args, int nargs, struct md_tval *out)
{
	struct md_sb b = {0};
	out->own = 1;
	out->j = NULL;
	if (strcmp(fn, "json") == 0 && nargs == 1) {
		md_json_write(&b, args[0].j ? args[0].j : &(struct md_json){.t = MD_J_NULL}, 0, 0);
		out->j = md_json_newstr(md_sb_str(&b));
	} else if ((strcmp(fn, "upper") == 0 || strcmp(fn, "lower") == 0 || strcmp(fn, "title") == 0) &&
	           nargs == 1) {
		md_tmpl_print(&b, args[0].j);
		for (size_t i = 0; i < b.len; i++) {
			if (fn[0] == 'u')
				b.s[i] = (char)toupper((unsigned char)b.s[i]);
			else if (fn[0] == 'l')
				b.s[i] = (char)tolower((unsigned char)b.s[i]);
			else if (i == 0 || !isalnum((unsigned char)b.s[i - 1]))
				b.s[i] = (char)toupper((unsigned char)b.s[i]);
		}
		out->j = md_json_newstr(md_sb_str(&b));
	} else if (strcmp(fn, "len") == 0 && nargs == 1) {
		const struct md_json *j = args[0].j;
		long long n = !j ? 0 : j->t == MD_J_STR ? (long long)strlen(j->s) : (long long)j->n;
		out->j = md_json_newint(n);
	} else if (strcmp(fn, "index") == 0 && nargs >= 2) {
		struct md_json *cur = args[0].j;
		for (int i = 1; i < nargs && cur; i++) {
			const struct md_json *k = args[i].j;
			if (cur->t == MD_J_OBJ && k && k->t == MD_J_STR)
				cur = md_json_get(cur, k->s);
			else if (cur->t == MD_J_ARR && k && k->t == MD_J_NUM)
				cur = md_json_at(cur, (size_t)atoll(k->s));
			else
				cur = NULL;
		}
		out->j = cur ? md_json_clone(cur) : NULL;
	} else if (strcmp(fn, "join") == 0 && nargs == 2) {
		const struct md_json *l = args[0].j;
		const char *sep = args[1].j && args[1].j->t == MD_J_STR ? args[1].j->s : "";
		if (l && l->t == MD_J_ARR)
			for (struct md_json *c = l->child; c; c = c->next) {
				md_tmpl_print(&b, c);
				if (c->next)
					md_sb_puts(&b, sep);
			}
		out->j = md_json_newstr(md_sb_str(&b));
	} else if (strcmp(fn, "split") == 0 && nargs == 2) {
		md_tmpl_print(&b, args[0].j);
		const char *sep = args[1].j && args[1].j->t == MD_J_STR ? args[1].j->s : "";
		out->j = md_json_new(MD_J_ARR);
		const char *s = md_sb_str(&b);
		if (!*sep) {
			for (; *s; s++) {
				char c[2] = {*s, 0};
				md_json_push(out->j, md_json_newstr(c));
			}
		} else {
			for (;;) {
				const char *e = strstr(s, sep);
				char *piece = md_strndup(s, e ? (size_t)(e - s) : strlen(s));
				md_json_push(out->j, md_json_newstr(piece));
				free(piece);
				if (!e)
					break;
				s = e + strlen(sep);
			}
		}
	} else if (strcmp(fn, "println") == 0 || strcmp(fn, "print") == 0) {
		for (int i = 0; i < nargs; i++) {
			if (i)
				md_sb_putc(&b, ' ');
			md_tmpl_print(&b, args[i].j);
		}
		if (fn[5] == 'l')
			md_sb_putc(&b, '\n');
		out->j = md_json_newstr(md_sb_str(&b));
	} else {
		md_sb_free(&b);
		return md_err("template: function \"%s\" not defined or wrong number of arguments", fn);
	}
	md_sb_free(&b);
	return 0;
}

static int md_tx_command(struct md_texpr *x, struct md_tval *piped, struct md_tval *out, char endc)
{
	md_tx_ws(x);
	if (isalpha((unsigned char)*x->p)) {
		const char *s = x->p;
		while (isalnum((unsigned char)*x->p) || *x->p == '_')
			x->p++;
		char fn[32];
		snprintf(fn, sizeof fn, "%.*s", (int)(x->p - s), s);
		struct md_tval args[8];
		int n = 0, r = 0;
		for (;;) {
			md_tx_ws(x);
			if (!*x->p || *x->p == '|' || *x->p == endc)
				break;
			if (n >= 7) {
				r = md_err("template: too many arguments");
				break;
			}
			if (md_tx_operand(x, &args[n]) < 0) {
				r = -1;
				break;
			}
			n++;
		}
		if (r == 0 && piped && piped->j) {
			args[n] = *piped;
			piped->j = NULL;
			piped->own = 0;
			n++;
		}
		if (r == 0)
			r = md_tx_call(fn, args, n, out);
		for (int i = 0; i < n; i++)
			md_tval_drop(&args[i]);
		return r;
	}
	if (piped && piped->j)
		return md_err("template: cannot pipe into a value");
	return md_tx_operand(x, out);
}

static int md_tx_pipeline(struct md_texpr *x, struct md_tval *out, char endc)
{
	struct md_tval cur = {0};
	if (md_tx_command(x, NULL, &cur, endc) < 0) {
		md_tval_drop(&cur);
		return -1;
	}
	for (;;) {
		md_tx_ws(x);
		if (*x->p != '|')
			break;
		x->p++;
		struct md_tval next = {0};
		if (cur.j == NULL)
			cur.j = md_json_new(MD_J_NULL), cur.own = 1;
		int r = md_tx_command(x, &cur, &next, endc);
		md_tval_drop(&cur);
		if (r < 0) {
			md_tval_drop(&next);
			return -1;
		}
		cur = next;
	}
	*out = cur;
	return 0;
}

static int md_tx_eval(const char *src, const struct md_json *dot, struct md_tval *out)
{
	struct md_texpr x = {src, dot, 0};
	if (md_tx_pipeline(&x, out, 0) < 0)
		return -1;
	md_tx_ws(&x);
	if (*x.p) {
		md_tval_drop(out);
		return md_err("template: unexpected \"%.20s\"", x.p);
	}
	return 0;
}

static int md_tmpl_exec(const struct md_tnode *n, const struct md_json *dot, struct md_sb *b)
{
	for (; n; n = n->next) {
		if (n->kind == MD_T_TEXT) {
			md_sb_puts(b, n->text);
			continue;
		}
		struct md_tval v = {0};
		if (md_tx_eval(n->text, dot, &v) < 0)
			return -1;
		int r = 0;
		switch (n->kind) {
		case MD_T_EXPR:
			md_tmpl_print(b, v.j);
			break;
		case MD_T_IF:
			r = md_tmpl_exec(md_tmpl_truth(v.j) ? n->body : n->els, dot, b);
			break;
		case MD_T_WITH:
			r = md_tmpl_truth(v.j) ? md_tmpl_exec(n->body, v.j, b) : md_tmpl_exec(n->els, dot, b);
			break;
		case MD_T_RANGE:
			if (md_tmpl_truth(v.j) && (v.j->t == MD_J_ARR || v.j->t == MD_J_OBJ)) {
				for (struct md_json *c = v.j->child; c && r == 0; c = c->next)
					r = md_tmpl_exec(n->body, c, b);
			} else {
				r = md_tmpl_exec(n->els, dot, b);
			}
			break;
		default:
			break;
		}
		md_tval_drop(&v);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Render template src over dot into b; Docker's --format behaviour. */
static int md_tmpl_render(const char *src, const struct md_json *dot, struct md_sb *b)
{
	struct md_tnode *t;
	if (md_tmpl_parse(src, &t) < 0)
		return -1;
	int r = md_tmpl_exec(t, dot, b);
	md_tmpl_free(t);
	return r;
}

/**** 08 byte sources and decompression *************************************/
/*
 * A source is a pull-based byte stream (a file descriptor, a member of an
 * outer archive, a reconstructed layer).  md_zr reads a source, detects
 * gzip, zstd or plain data by its magic number, and returns decompressed
 * bytes, hashing both the raw and the decompressed stream on the way so a
 * layer is downloaded, verified, decompressed and unpacked in one pass.
 */

struct md_src {
	ssize_t (*read)(void *ctx, void *buf, size_t n); /* 0 at EOF, -1 + md_err */
	void *ctx;
};

static ssize_t md_src_fd_read(void *ctx, void *buf, size_t n)
{
	int fd = (int)(intptr_t)ctx;
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return md_errno("read");
		return r;
	}
}

static struct md_src md_src_fd(int fd)
{
	return (struct md_src){md_src_fd_read, (void *)(intptr_t)fd};
}

enum md_zkind { MD_Z_PLAIN, MD_Z_GZIP, MD_Z_ZSTD };

#define MD_ZR_BUF 65536

struct md_zr {
	struct md_src in;
	enum md_zkind kind;
	unsigned char *ibuf;
	size_t ipos, ilen;
	int ieof;      /* the source returned EOF */
	int zdone;     /* the decompressor reached the end of the data */
	br_sha256_context hraw, hout;
	uint64_t nraw, nout;
	z_stream zs;
	int zs_init;
#if MD_FEATURE_ZSTD
	ZSTD_DStream *zd;
#endif
};

/* Refill the input buffer; returns bytes available, 0 at EOF, -1 on error. */
static ssize_t md_zr_fill(struct md_zr *z)
{
	if (z->ipos < z->ilen)
		return (ssize_t)(z->ilen - z->ipos);
	if (z->ieof)
		return 0;
	ssize_t r = z->in.read(z->in.ctx, z->ibuf, MD_ZR_BUF);
	if (r < 0)
		return -1;
	if (r == 0) {
		z->ieof = 1;
		return 0;
	}
	br_sha256_update(&z->hraw, z->ibuf, (size_t)r);
	z->nraw += (uint64_t)r;
	z->ipos = 0;
	z->ilen = (size_t)r;
	return r;
}

static const char *md_zkind_name(enum md_zkind k)
{
	return k == MD_Z_GZIP ? "gzip" : k == MD_Z_ZSTD ? "zstd" : "uncompressed";
}

static int md_zr_open(struct md_zr *z, struct md_src in)
{
	memset(z, 0, sizeof *z);
	z->in = in;
	z->ibuf = md_alloc(MD_ZR_BUF);
	br_sha256_init(&z->hraw);
	br_sha256_init(&z->hout);
	/* read at least 4 bytes of magic (short reads are legal) */
	while (z->ilen < 4 && !z->ieof) {
		ssize_t r = z->in.read(z->in.ctx, z->ibuf + z->ilen, MD_ZR_BUF - z->ilen);
		if (r < 0)
			return -1;
		if (r == 0)
			z->ieof = 1;
		br_sha256_update(&z->hraw, z->ibuf + z->ilen, (size_t)r);
		z->nraw += (uint64_t)r;
		z->ilen += (size_t)r;
	}
	const unsigned char *m = z->ibuf;
	if (z->ilen >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
		z->kind = MD_Z_GZIP;
		if (inflateInit2(&z->zs, 15 + 16) != Z_OK)
			return md_err("cannot initialise gzip decompression");
		z->zs_init = 1;
	} else if (z->ilen >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
		z->kind = MD_Z_ZSTD;
#if MD_FEATURE_ZSTD
		z->zd = ZSTD_createDStream();
		if (!z->zd || ZSTD_isError(ZSTD_initDStream(z->zd)))
			return md_err("cannot initialise zstd decompression");
#else
		return md_err("zstd-compressed data is not supported by this build (feature zstd is off)");
#endif
	} else {
		z->kind = MD_Z_PLAIN;
	}
	return 0;
}

static void md_zr_close(struct md_zr *z)
{
	if (z->zs_init)
		inflateEnd(&z->zs);
#if MD_FEATURE_ZSTD
	if (z->zd)
		ZSTD_freeDStream(z->zd);
#endif
	free(z->ibuf);
	memset(z, 0, sizeof *z);
}

/* Decompressed bytes; 0 at the end of the stream, -1 on error (md_err set). */
static ssize_t md_zr_read(struct md_zr *z, void *buf, size_t n)
{
	size_t out = 0;
	while (out == 0) {
		ssize_t avail = md_zr_fill(z);
		if (avail < 0)
			return -1;
		if (z->kind == MD_Z_PLAIN) {
			if (avail == 0)
				break;
			size_t k = (size_t)avail < n ? (size_t)avail : n;
			memcpy(buf, z->ibuf + z->ipos, k);
			z->ipos += k;
			out = k;
			break;
		}
		if (z->zdone) {
			if (avail == 0)
				break;
			if (z->kind == MD_Z_GZIP) {
				/* another gzip member may follow; anything else is garbage */
				if (z->ibuf[z->ipos] != 0x1f)
					return md_err("unexpected data after the end of the gzip stream");
				inflateReset(&z->zs);
				z->zdone = 0;
			} else {
				z->zdone = 0; /* zstd: further frames */
			}
		}
		if (avail == 0)
			return md_err("%s stream is truncated", md_zkind_name(z->kind));
		if (z->kind == MD_Z_GZIP) {
			z->zs.next_in = z->ibuf + z->ipos;
			z->zs.avail_in = (uInt)avail;
			z->zs.next_out = buf;
			z->zs.avail_out = (uInt)n;
			int r = inflate(&z->zs, Z_NO_FLUSH);
			z->ipos += (size_t)avail - z->zs.avail_in;
			out = n - z->zs.avail_out;
			if (r == Z_STREAM_END)
				z->zdone = 1;
			else if (r != Z_OK && !(r == Z_BUF_ERROR && out == 0 && z->zs.avail_in == 0))
				return md_err("gzip data is corrupt (%s)", z->zs.msg ? z->zs.msg : "inflate failed");
		}
#if MD_FEATURE_ZSTD
		else {
			ZSTD_inBuffer ib = {z->ibuf + z->ipos, (size_t)avail, 0};
			ZSTD_outBuffer ob = {buf, n, 0};
			size_t r = ZSTD_decompressStream(z->zd, &ob, &ib);
			if (ZSTD_isError(r))
				return md_err("zstd data is corrupt (%s)", ZSTD_getErrorName(r));
			z->ipos += ib.pos;
			out = ob.pos;
			if (r == 0)
				z->zdone = 1;
		}
#endif
	}
	if (out) {
		br_sha256_update(&z->hout, buf, out);
		z->nout += out;
	}
	return (ssize_t)out;
}

static void md_zr_digests(struct md_zr *z, char raw[MD_DIGEST_LEN + 1], char out[MD_DIGEST_LEN + 1])
{
	br_sha256_context c = z->hraw;
	if (raw)
		md_sha_hex(&c, raw);
	c = z->hout;
	if (out)
		md_sha_hex(&c, out);
}

/**** 09 layers: entry checks, unpack, tar-split, reconstruct ***************/
/*
 * A layer tar is unpacked into a directory that overlayfs can use as a lower
 * layer: ".wh.NAME" whiteouts become 0/0 character devices, ".wh..wh..opq"
 * becomes trusted.overlay.opaque=y on the directory.  Every path is
 * resolved one component at a time with O_NOFOLLOW below the layer's own
 * directory, so no entry can reach outside it, through a symlink or
 * otherwise; hostile entries stop the unpack with a message naming them.
 *
 * While unpacking we record a "tar-split": every byte of the uncompressed
 * tar except the contents of regular files, which stay on disk.  From it
 * and the directory the exact tar (same sha256, the layer's DiffID) is
 * rebuilt for `save` and verified by `system check`; so no compressed copy
 * of a layer is kept.  Records: 'R' len bytes (raw), 'Z' len (zeros),
 * 'F' size pathlen path (file contents), 'M' oldlen old newlen new (a path
 * moved aside to shadow/ because a later entry replaced it).
 */

/* Clean a tar path: strip "./" and empty components; refuse absolute
 * paths and "..".  "" is the layer root. */
static int md_tar_clean_path(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	if (!in)
		return md_err("missing path");
	if (in[0] == '/')
		return md_err("absolute path");
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 1 && p[0] == '.') {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return md_err("path contains \"..\"");
		if (n > NAME_MAX)
			return md_err("path component longer than %d bytes", NAME_MAX);
		if (o + n + 2 > outsz)
			return md_err("path longer than %zu bytes", outsz - 1);
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = 0;
	return 0;
}

/* ---- tar-split writer ---- */

struct md_tsw {
	int fd;
	unsigned char buf[65536];
	size_t len;
	int err;
};

static void md_tsw_flush(struct md_tsw *w)
{
	if (w->len && !w->err && md_write_all(w->fd, w->buf, w->len) < 0)
		w->err = errno ? errno : EIO;
	w->len = 0;
}

static void md_tsw_put(struct md_tsw *w, const void *p, size_t n)
{
	const unsigned char *s = p;
	while (n) {
		if (w->len == sizeof w->buf)
			md_tsw_flush(w);
		size_t k = sizeof w->buf - w->len < n ? sizeof w->buf - w->len : n;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
	}
}

static void md_tsw_varint(struct md_tsw *w, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;
	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	md_tsw_put(w, b, n);
}

/* Raw bytes, with runs of zeros (most of a tar header) stored as 'Z'. */
static void md_tsw_raw(struct md_tsw *w, const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t z = i;
		while (z < n && p[z] == 0)
			z++;
		if (z - i >= 8 || (z == n && z > i)) {
			md_tsw_put(w, "Z", 1);
			md_tsw_varint(w, z - i);
			i = z;
			continue;
		}
		/* raw run up to the next run of >= 8 zeros */
		size_t e = i;
		while (e < n) {
			size_t k = e;
			while (k < n && p[k] == 0 && k - e < 8)
				k++;
			if (k - e >= 8 || (k == n && k > e && p[e] == 0))
				break;
			e = k > e ? k : e + 1;
		}
		md_tsw_put(w, "R", 1);
		md_tsw_varint(w, e - i);
		md_tsw_put(w, p + i, e - i);
		i = e;
	}
}

static void md_tsw_path(struct md_tsw *w, const char *tag, uint64_t size, const char *path)
{
	md_tsw_put(w, tag, 1);
	if (tag[0] == 'F')
		md_tsw_varint(w, size);
	md_tsw_varint(w, strlen(path));
	md_tsw_put(w, path, strlen(path));
}

/* ---- unpacker ---- */

struct md_unpack {
	int rootfd;           /* the layer directory (diff/) */
	int shadowfd;         /* where replaced paths go (created on demand) */
	char *shadow_path;
	unsigned nshadow;
	struct archive *a;
	struct md_zr *z;
	struct md_tsw ts;
	unsigned char rbuf[65536];
	/* tar-split bookkeeping: bytes given to libarchive but not yet classified */
	unsigned char *pend;
	size_t plen, pcap;
	uint64_t pstart;      /* stream offset of pend[0] */
	uint64_t delivered;   /* stream offset after the last byte given */
	uint64_t skip_hi;     /* bytes before this offset are file contents */
	/* parent directory cache */
	char *cdir;
	int cfd;
	/* directories whose times are set at the end */
	int dtfd;
	/* directories made only because an entry needed a parent */
	struct md_strv implied;
	int root_explicit;
	/* results */
	uint64_t size;        /* bytes of file contents (Docker's layer size) */
	uint64_t nentries;
	char entry[320];      /* current entry, for messages */
};

static la_ssize_t md_up_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct md_unpack *u = ud;
	ssize_t n = md_zr_read(u->z, u->rbuf, sizeof u->rbuf);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", md_errmsg);
		return -1;
	}
	const unsigned char *p = u->rbuf;
	size_t k = (size_t)n;
	uint64_t off = u->delivered;
	u->delivered += k;
	if (off < u->skip_hi) {
		uint64_t drop = u->skip_hi - off < k ? u->skip_hi - off : k;
		p += drop;
		k -= (size_t)drop;
		off += drop;
	}
	if (k) {
		if (u->plen == 0)
			u->pstart = off;
		if (u->plen + k > MD_TAR_MAX_HEADER + sizeof u->rbuf * 4) {
			archive_set_error(a, EFBIG, "tar header larger than %u bytes", MD_TAR_MAX_HEADER);
			return -1;
		}
		if (u->plen + k > u->pcap) {
			u->pcap = (u->plen + k) * 2;
			u->pend = md_realloc(u->pend, u->pcap);
		}
		memcpy(u->pend + u->plen, p, k);
		u->plen += k;
	}
	*buf = u->rbuf;
	return n;
}

/* Everything before stream offset `upto` that is pending is tar metadata. */
static void md_up_ts_flush(struct md_unpack *u, uint64_t upto)
{
	if (!u->plen || upto <= u->pstart)
		return;
	size_t k = upto - u->pstart < u->plen ? (size_t)(upto - u->pstart) : u->plen;
	md_tsw_raw(&u->ts, u->pend, k);
	memmove(u->pend, u->pend + k, u->plen - k);
	u->plen -= k;
	u->pstart += k;
}

/* The next `size` bytes from offset `from` are file contents: drop them. */
static void md_up_ts_skip(struct md_unpack *u, uint64_t from, uint64_t size)
{
	u->skip_hi = from + size;
	if (!u->plen)
		return;
	if (u->pstart < u->skip_hi) {
		uint64_t drop = u->skip_hi - u->pstart;
		if (drop >= u->plen) {
			u->plen = 0;
		} else {
			memmove(u->pend, u->pend + drop, u->plen - (size_t)drop);
			u->plen -= (size_t)drop;
			u->pstart += drop;
		}
	}
}

static void md_up_cache_drop(struct md_unpack *u)
{
	if (u->cfd >= 0 && u->cfd != u->rootfd)
		close(u->cfd);
	u->cfd = -1;
	free(u->cdir);
	u->cdir = NULL;
}

static int md_up_fail(struct md_unpack *u, const char *fmt, ...) MD_PRINTF(2, 3);
static int md_up_fail(struct md_unpack *u, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	return md_err("entry \"%.300s\": %s", u->entry, m);
}

/*
 * Open the directory `dir` (a clean relative path) below the layer root,
 * one component at a time without following symlinks.  With create,
 * missing directories are made (0755, as Docker does for implied parents).
 */
static int md_up_opendir(struct md_unpack *u, const char *dir, int create)
{
	if (!*dir)
		return dup(u->rootfd);
	int fd = u->rootfd;
	char comp[NAME_MAX + 1];
	const char *p = dir;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		memcpy(comp, p, n);
		comp[n] = 0;
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				md_errno("mkdir %.*s", (int)(p - dir + n), dir);
				goto fail;
			}
			char *ip = md_strndup(dir, (size_t)(p - dir + n));
			md_strv_push(&u->implied, ip);
			free(ip);
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			int e2 = errno;
			struct stat st;
			if ((e2 == ELOOP || e2 == ENOTDIR) && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				if (S_ISLNK(st.st_mode))
					md_up_fail(u, "goes through symlink \"%.*s\"", (int)(p - dir + n), dir);
				else
					md_up_fail(u, "\"%.*s\" is not a directory", (int)(p - dir + n), dir);
			} else if (e2 == ENOENT) {
				md_up_fail(u, "\"%.*s\" does not exist in the layer", (int)(p - dir + n), dir);
			} else {
				errno = e2;
				md_errno("open %.*s", (int)(p - dir + n), dir);
			}
			goto fail;
		}
		if (fd != u->rootfd)
			close(fd);
		fd = nfd;
		p += n;
		if (*p == '/')
			p++;
	}
	return fd;
fail:
	if (fd != u->rootfd)
		close(fd);
	return -1;
}

/* The parent directory fd of a clean path (cached); *base gets the last component. */
static int md_up_parent(struct md_unpack *u, const char *path, int create, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) : 0;
	*base = slash ? slash + 1 : path;
	if (u->cdir && strlen(u->cdir) == dl && memcmp(u->cdir, path, dl) == 0)
		return u->cfd;
	char *dir = md_strndup(path, dl);
	int fd = md_up_opendir(u, dir, create);
	if (fd < 0) {
		free(dir);
		return -1;
	}
	md_up_cache_drop(u);
	u->cdir = dir;
	u->cfd = fd;
	return fd;
}

/*
 * Make room for a new entry at dfd/name.  An existing directory stays when
 * the new entry is a directory; anything else is moved aside to shadow/
 * (its contents may be needed to rebuild the tar) and recorded with 'M'.
 */
static int md_up_clear(struct md_unpack *u, int dfd, const char *name, const char *path, int want_dir)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : md_errno("stat %s", path);
	if (S_ISDIR(st.st_mode) && want_dir)
		return 1;
	if (u->shadowfd < 0) {
		if (mkdir(u->shadow_path, 0700) < 0 && errno != EEXIST)
			return md_errno("mkdir %s", u->shadow_path);
		u->shadowfd = open(u->shadow_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (u->shadowfd < 0)
			return md_errno("open %s", u->shadow_path);
	}
	char sname[32];
	snprintf(sname, sizeof sname, "%u", u->nshadow++);
	if (renameat(dfd, name, u->shadowfd, sname) < 0)
		return md_errno("move aside %s", path);
	md_tsw_put(&u->ts, "M", 1);
	md_tsw_varint(&u->ts, strlen(path));
	md_tsw_put(&u->ts, path, strlen(path));
	md_tsw_varint(&u->ts, strlen(sname));
	md_tsw_put(&u->ts, sname, strlen(sname));
	if (S_ISDIR(st.st_mode))
		md_up_cache_drop(u); /* the cached fd may be inside what moved */
	return 0;
}

static int md_up_xattrs(struct md_unpack *u, struct archive_entry *e, int fd, const char *lpath)
{
	const char *name;
	const void *val;
	size_t size;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		/* a layer must not forge overlayfs metadata; SELinux labels are host policy */
		if (md_startswith(name, "trusted.overlay.") || strcmp(name, "security.selinux") == 0)
			continue;
		int r = fd >= 0 ? fsetxattr(fd, name, val, size, 0) : lsetxattr(lpath, name, val, size, 0);
		if (r < 0) {
			if (fd < 0 && (errno == EPERM || errno == ENOTSUP) && md_startswith(name, "user."))
				continue; /* user.* xattrs cannot be set on symlinks */
			return md_up_fail(u, "cannot set xattr %s: %s", name, strerror(errno));
		}
	}
	return 0;
}

static int md_up_owner(struct md_unpack *u, int fd, int dfd, const char *name, struct archive_entry *e)
{
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	int r = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && !(errno == EPERM && geteuid() != 0))
		return md_up_fail(u, "cannot set owner %u:%u: %s", (unsigned)uid, (unsigned)gid, strerror(errno));
	return 0;
}

static void md_up_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

static int md_up_file(struct md_unpack *u, struct archive_entry *e, int dfd, const char *name,
                      const char *path)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return md_up_fail(u, "cannot create: %s", strerror(errno));
	uint64_t size = (uint64_t)archive_entry_size(e);
	uint64_t start = (uint64_t)archive_filter_bytes(u->a, 0);
	if (size)
		md_tsw_path(&u->ts, "F", size, path);
	md_up_ts_skip(u, start, size);
	uint64_t written = 0;
	for (;;) {
		const void *buf;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(u->a, &buf, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			close(fd);
			return md_up_fail(u, "%s", archive_error_string(u->a) ? archive_error_string(u->a) : "read error");
		}
		if ((uint64_t)off != written) {
			close(fd);
			return md_up_fail(u, "sparse files are not supported");
		}
		if (md_write_all(fd, buf, n) < 0) {
			int er = errno;
			close(fd);
			return md_up_fail(u, "write: %s", strerror(er));
		}
		written += n;
	}
	if (written != size) {
		close(fd);
		return md_up_fail(u, "truncated: %" PRIu64 " of %" PRIu64 " bytes", written, size);
	}
	u->size += size;
	struct timespec ts[2];
	md_up_times(e, ts);
	int r = 0;
	md_errmsg[0] = 0;
	if (md_up_owner(u, fd, -1, NULL, e) < 0 || fchmod(fd, archive_entry_mode(e) & 07777) < 0 ||
	    md_up_xattrs(u, e, fd, NULL) < 0 || futimens(fd, ts) < 0)
		r = md_errmsg[0] ? -1 : md_up_fail(u, "%s", strerror(errno));
	close(fd);
	return r;
}

struct md_dirtime {
	int64_t t[4];
	uint32_t len;
};

static int md_up_dir(struct md_unpack *u, struct archive_entry *e, int dfd, const char *name,
                     const char *path)
{
	int fd;
	if (!*path) {
		fd = dup(u->rootfd);
	} else {
		int keep = md_up_clear(u, dfd, name, path, 1);
		if (keep < 0)
			return -1;
		if (!keep && mkdirat(dfd, name, 0700) < 0)
			return md_up_fail(u, "mkdir: %s", strerror(errno));
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return md_up_fail(u, "open: %s", strerror(errno));
	md_errmsg[0] = 0;
	int r = 0;
	if (md_up_owner(u, fd, -1, NULL, e) < 0 || fchmod(fd, archive_entry_mode(e) & 07777) < 0 ||
	    md_up_xattrs(u, e, fd, NULL) < 0)
		r = md_errmsg[0] ? -1 : md_up_fail(u, "%s", strerror(errno));
	close(fd);
	if (r < 0)
		return -1;
	/* children change a directory's mtime: set it when the layer is done */
	struct md_dirtime dt = {{0}, (uint32_t)strlen(path)};
	struct timespec ts[2];
	md_up_times(e, ts);
	dt.t[0] = ts[0].tv_sec, dt.t[1] = ts[0].tv_nsec, dt.t[2] = ts[1].tv_sec, dt.t[3] = ts[1].tv_nsec;
	if (md_write_all(u->dtfd, &dt, sizeof dt) < 0 || md_write_all(u->dtfd, path, dt.len) < 0)
		return md_errno("write directory times");
	return 0;
}

static int md_up_apply_dirtimes(struct md_unpack *u)
{
	if (lseek(u->dtfd, 0, SEEK_SET) < 0)
		return md_errno("seek");
	FILE *f = fdopen(dup(u->dtfd), "r");
	if (!f)
		return md_errno("fdopen");
	struct md_dirtime dt;
	char path[PATH_MAX];
	while (fread(&dt, sizeof dt, 1, f) == 1) {
		if (dt.len >= sizeof path || fread(path, 1, dt.len, f) != dt.len)
			break;
		path[dt.len] = 0;
		for (size_t i = 0; i < u->implied.n; i++)
			if (strcmp(u->implied.v[i], path) == 0)
				u->implied.v[i][0] = 0; /* an entry named it after all */
		struct timespec ts[2] = {{dt.t[0], dt.t[1]}, {dt.t[2], dt.t[3]}};
		/* the directory may have been replaced since; then this is moot */
		int fd = *path ? md_up_opendir(u, path, 0) : dup(u->rootfd);
		if (fd >= 0) {
			futimens(fd, ts);
			close(fd);
		}
	}
	fclose(f);
	md_errmsg[0] = 0;
	return 0;
}

static int md_up_entry(struct md_unpack *u, struct archive_entry *e)
{
	char path[PATH_MAX], tpath[PATH_MAX];
	const char *raw = archive_entry_pathname(e);
	snprintf(u->entry, sizeof u->entry, "%s", raw ? raw : "?");
	u->nentries++;
	/* the bytes up to here were this entry's headers */
	md_up_ts_flush(u, (uint64_t)archive_filter_bytes(u->a, 0));
	if (md_tar_clean_path(raw, path, sizeof path) < 0)
		return md_up_fail(u, "%s", md_errmsg);
	const char *hl = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	if (archive_entry_sparse_count(e) > 0)
		return md_up_fail(u, "sparse files are not supported");
	if (!*path) {
		if (type != AE_IFDIR || hl)
			return md_up_fail(u, "the layer root must be a directory");
		u->root_explicit = 1;
		return md_up_dir(u, e, u->rootfd, ".", "");
	}
	const char *base;
	int dfd = md_up_parent(u, path, 1, &base);
	if (dfd < 0)
		return -1;
	/* whiteouts (OCI image spec, "changesets") */
	if (md_startswith(base, ".wh.")) {
		if (type != AE_IFREG || hl)
			return md_up_fail(u, "whiteout is not a regular file entry");
		if (strcmp(base, ".wh..wh..opq") == 0) {
			if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
				return md_up_fail(u, "cannot mark directory opaque: %s", strerror(errno));
			return 0;
		}
		if (md_startswith(base, ".wh..wh."))
			return 0; /* AUFS metadata: nothing to do */
		const char *victim = base + 4;
		if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
			return md_up_fail(u, "whiteout names a path outside the layer");
		char vpath[PATH_MAX];
		snprintf(vpath, sizeof vpath, "%.*s%s", (int)(base - path), path, victim);
		if (md_up_clear(u, dfd, victim, vpath, 0) < 0)
			return -1;
		if (u->cfd < 0 && (dfd = md_up_parent(u, path, 1, &base)) < 0)
			return -1;
		if (mknodat(dfd, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
			return md_up_fail(u, "cannot create whiteout: %s", strerror(errno));
		if (md_up_owner(u, -1, dfd, victim, e) < 0)
			return -1;
		return 0;
	}
	if (hl) {
		if (md_tar_clean_path(hl, tpath, sizeof tpath) < 0)
			return md_up_fail(u, "hardlink target \"%.300s\": %s", hl, md_errmsg);
		if (!*tpath)
			return md_up_fail(u, "hardlink target \"%.300s\" is the layer root", hl);
		const char *tbase;
		/* resolve the target without the cache: its parent may differ */
		char *tdir = md_strndup(tpath, strrchr(tpath, '/') ? (size_t)(strrchr(tpath, '/') - tpath) : 0);
		tbase = strrchr(tpath, '/') ? strrchr(tpath, '/') + 1 : tpath;
		int tfd = md_up_opendir(u, tdir, 0);
		free(tdir);
		if (tfd < 0)
			return md_err_wrap("hardlink target \"%.300s\"", hl);
		struct stat st;
		if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			close(tfd);
			return md_up_fail(u, "hardlink target \"%.300s\" is not in the layer", hl);
		}
		if (S_ISDIR(st.st_mode)) {
			close(tfd);
			return md_up_fail(u, "hardlink target \"%.300s\" is a directory", hl);
		}
		struct stat cur;
		if (fstatat(dfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino &&
		    cur.st_dev == st.st_dev) {
			close(tfd);
			return 0;
		}
		int r = md_up_clear(u, dfd, base, path, 0);
		if (r >= 0 && u->cfd < 0)
			r = (dfd = md_up_parent(u, path, 1, &base)) < 0 ? -1 : 0;
		if (r >= 0 && linkat(tfd, tbase, dfd, base, 0) < 0)
			r = md_up_fail(u, "cannot link to \"%.300s\": %s", hl, strerror(errno));
		close(tfd);
		return r < 0 ? -1 : 0;
	}
	if (type == AE_IFDIR)
		return md_up_dir(u, e, dfd, base, path);
	if (md_up_clear(u, dfd, base, path, 0) < 0)
		return -1;
	if (u->cfd < 0 && (dfd = md_up_parent(u, path, 1, &base)) < 0)
		return -1;
	struct timespec ts[2];
	md_up_times(e, ts);
	switch (type) {
	case AE_IFREG:
		return md_up_file(u, e, dfd, base, path);
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target || !*target)
			return md_up_fail(u, "symlink without a target");
		if (symlinkat(target, dfd, base) < 0)
			return md_up_fail(u, "cannot create symlink: %s", strerror(errno));
		if (md_up_owner(u, -1, dfd, base, e) < 0)
			return -1;
		if (archive_entry_xattr_count(e) > 0) {
			char *lp = md_asprintf("/proc/self/fd/%d/%s", dfd, base);
			int r = md_up_xattrs(u, e, -1, lp);
			free(lp);
			if (r < 0)
				return -1;
		}
		utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	case AE_IFIFO: {
		if (mknodat(dfd, base, S_IFIFO | (archive_entry_mode(e) & 07777), 0) < 0)
			return md_up_fail(u, "cannot create fifo: %s", strerror(errno));
		if (md_up_owner(u, -1, dfd, base, e) < 0)
			return -1;
		fchmodat(dfd, base, archive_entry_mode(e) & 07777, 0);
		utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	case AE_IFCHR:
		if (archive_entry_rdevmajor(e) == 0 && archive_entry_rdevminor(e) == 0) {
			/* an overlayfs whiteout already in the layer */
			if (mknodat(dfd, base, S_IFCHR | 0, makedev(0, 0)) < 0)
				return md_up_fail(u, "cannot create whiteout: %s", strerror(errno));
			return md_up_owner(u, -1, dfd, base, e);
		}
		return md_up_fail(u, "device nodes are not allowed in layers (character device %u:%u)",
		                  (unsigned)archive_entry_rdevmajor(e), (unsigned)archive_entry_rdevminor(e));
	case AE_IFBLK:
		return md_up_fail(u, "device nodes are not allowed in layers (block device %u:%u)",
		                  (unsigned)archive_entry_rdevmajor(e), (unsigned)archive_entry_rdevminor(e));
	default:
		return md_up_fail(u, "unsupported entry type 0%o", (unsigned)type);
	}
}

struct md_layer_info {
	char diff_id[MD_DIGEST_LEN + 1];  /* sha256 of the uncompressed tar */
	char digest[MD_DIGEST_LEN + 1];   /* sha256 of the data as given */
	uint64_t raw_size, tar_size, size;
	enum md_zkind kind;
};

/*
 * Unpack the layer read from src into the new directory ldir: ldir/diff is
 * the tree, ldir/tar-split the rest of the tar, ldir/shadow what later
 * entries replaced, ldir/implied the directories no entry named (their
 * metadata comes from the parent layers when the layer is committed).
 * Fills info.  On error the caller removes ldir.
 */
static int md_layer_unpack(struct md_src src, const char *ldir, struct md_layer_info *info)
{
	struct md_unpack *u = md_alloc(sizeof *u);
	struct md_zr z;
	int r = -1;
	char *dir = md_asprintf("%s/diff", ldir), *tsplit = md_asprintf("%s/tar-split", ldir);
	u->rootfd = u->shadowfd = u->cfd = u->dtfd = u->ts.fd = -1;
	u->shadow_path = md_asprintf("%s/shadow", ldir);
	if (mkdir(ldir, 0700) < 0 || mkdir(dir, 0755) < 0) {
		md_errno("mkdir %s", dir);
		free(dir);
		free(tsplit);
		free(u->shadow_path);
		free(u);
		return -1;
	}
	u->z = &z;
	md_errmsg[0] = 0;
	if (md_zr_open(&z, src) < 0) {
		md_zr_close(&z);
		free(dir);
		free(tsplit);
		free(u->shadow_path);
		free(u);
		return -1;
	}
	u->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	u->ts.fd = open(tsplit, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *dtp = md_asprintf("%s.dirtimes", tsplit);
	u->dtfd = open(dtp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (u->dtfd >= 0)
		unlink(dtp);
	free(dtp);
	if (u->rootfd < 0 || u->ts.fd < 0 || u->dtfd < 0) {
		md_errno("open %s", dir);
		goto out;
	}
	u->a = archive_read_new();
	archive_read_support_format_tar(u->a);
	if (archive_read_open(u->a, u, NULL, md_up_read_cb, NULL) != ARCHIVE_OK) {
		if (!md_errmsg[0])
			md_err("not a tar archive: %s", archive_error_string(u->a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		md_errmsg[0] = 0;
		int ar = archive_read_next_header(u->a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar == ARCHIVE_WARN)
			ar = ARCHIVE_OK; /* e.g. an unknown pax keyword; the entry is usable */
		if (ar != ARCHIVE_OK) {
			const char *m = archive_error_string(u->a);
			if (md_errmsg[0])
				; /* the source failed (truncated or corrupt compressed data) */
			else if (!u->entry[0])
				md_err("not a valid tar archive: %s", m ? m : "bad header");
			else
				md_err("after entry \"%.300s\": %s", u->entry, m ? m : "bad tar header");
			goto out;
		}
		if (md_up_entry(u, e) < 0)
			goto out;
	}
	/* whatever follows the end-of-archive blocks is part of the DiffID too */
	unsigned char tail[16384];
	ssize_t n;
	while ((n = md_zr_read(&z, tail, sizeof tail)) > 0) {
		md_up_ts_flush(u, u->delivered);
		md_tsw_raw(&u->ts, tail, (size_t)n);
		u->delivered += (uint64_t)n;
	}
	if (n < 0)
		goto out;
	md_up_ts_flush(u, UINT64_MAX);
	md_tsw_flush(&u->ts);
	if (u->ts.err) {
		errno = u->ts.err;
		md_errno("write %s", tsplit);
		goto out;
	}
	if (md_up_apply_dirtimes(u) < 0)
		goto out;
	if (!u->root_explicit)
		md_strv_push(&u->implied, ".");
	struct md_sb im = {0};
	for (size_t i = 0; i < u->implied.n; i++)
		if (u->implied.v[i][0])
			md_sb_printf(&im, "%s\n", u->implied.v[i]);
	char *ip = md_asprintf("%s/implied", ldir);
	int wr = md_write_file_atomic(ip, md_sb_str(&im), im.len, 0600);
	free(ip);
	md_sb_free(&im);
	if (wr < 0)
		goto out;
	if (fsync(u->ts.fd) < 0) {
		md_errno("fsync %s", tsplit);
		goto out;
	}
	md_zr_digests(&z, info->digest, info->diff_id);
	info->raw_size = z.nraw;
	info->tar_size = z.nout;
	info->size = u->size;
	info->kind = z.kind;
	r = 0;
out:
	if (u->a)
		archive_read_free(u->a);
	md_up_cache_drop(u);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (u->shadowfd >= 0)
		close(u->shadowfd);
	if (u->ts.fd >= 0)
		close(u->ts.fd);
	if (u->dtfd >= 0)
		close(u->dtfd);
	free(u->pend);
	md_zr_close(&z);
	md_strv_free(&u->implied);
	free(u->shadow_path);
	free(dir);
	free(tsplit);
	free(u);
	return r;
}

/* ---- reconstruct a layer's tar from its tar-split and directory ---- */

struct md_tsmove {
	uint64_t at;  /* record index */
	char *from, *to;
};

struct md_tsr {
	int fd;                 /* tar-split */
	int rootfd, shadowfd;   /* diff/ and shadow/ */
	unsigned char buf[65536];
	size_t pos, len;
	uint64_t rec;           /* index of the current record */
	struct md_tsmove *mv;   /* all 'M' records, read up front */
	size_t nmv;
	/* current record being served */
	int kind;               /* 0 none, 'R', 'Z', 'F' */
	uint64_t left;
	int ffd;
	char *fpath;
};

static int md_tsr_byte(struct md_tsr *t)
{
	if (t->pos == t->len) {
		ssize_t r = md_read_full(t->fd, t->buf, sizeof t->buf);
		if (r <= 0)
			return r < 0 ? -2 : -1;
		t->pos = 0;
		t->len = (size_t)r;
	}
	return t->buf[t->pos++];
}

static int md_tsr_varint(struct md_tsr *t, uint64_t *v)
{
	*v = 0;
	for (int sh = 0; sh < 64; sh += 7) {
		int c = md_tsr_byte(t);
		if (c < 0)
			return -1;
		*v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

static char *md_tsr_str(struct md_tsr *t)
{
	uint64_t n;
	if (md_tsr_varint(t, &n) < 0 || n >= PATH_MAX)
		return NULL;
	char *s = md_alloc((size_t)n + 1);
	for (uint64_t i = 0; i < n; i++) {
		int c = md_tsr_byte(t);
		if (c < 0) {
			free(s);
			return NULL;
		}
		s[i] = (char)c;
	}
	return s;
}

static void md_tsr_close(struct md_tsr *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->rootfd >= 0)
		close(t->rootfd);
	if (t->shadowfd >= 0)
		close(t->shadowfd);
	if (t->ffd >= 0)
		close(t->ffd);
	for (size_t i = 0; i < t->nmv; i++) {
		free(t->mv[i].from);
		free(t->mv[i].to);
	}
	free(t->mv);
	free(t->fpath);
	free(t);
}

/* Scan the records once for 'M' (moves), then rewind. */
static int md_tsr_scan_moves(struct md_tsr *t)
{
	for (uint64_t rec = 0;; rec++) {
		int c = md_tsr_byte(t);
		if (c == -1)
			break;
		uint64_t n;
		if (c < 0)
			return md_errno("read tar-split");
		if (c == 'R') {
			if (md_tsr_varint(t, &n) < 0)
				return md_err("tar-split is corrupt");
			for (uint64_t i = 0; i < n; i++)
				if (md_tsr_byte(t) < 0)
					return md_err("tar-split is corrupt");
		} else if (c == 'Z') {
			if (md_tsr_varint(t, &n) < 0)
				return md_err("tar-split is corrupt");
		} else if (c == 'F') {
			char *p;
			if (md_tsr_varint(t, &n) < 0 || !(p = md_tsr_str(t)))
				return md_err("tar-split is corrupt");
			free(p);
		} else if (c == 'M') {
			char *a = md_tsr_str(t), *b = a ? md_tsr_str(t) : NULL;
			if (!b) {
				free(a);
				return md_err("tar-split is corrupt");
			}
			t->mv = md_realloc(t->mv, (t->nmv + 1) * sizeof *t->mv);
			t->mv[t->nmv++] = (struct md_tsmove){rec, a, b};
		} else {
			return md_err("tar-split is corrupt (record 0x%02x)", c);
		}
	}
	if (lseek(t->fd, 0, SEEK_SET) < 0)
		return md_errno("seek tar-split");
	t->pos = t->len = 0;
	return 0;
}

static struct md_tsr *md_tsr_open(const char *layerdir)
{
	struct md_tsr *t = md_alloc(sizeof *t);
	t->fd = t->rootfd = t->shadowfd = t->ffd = -1;
	char *p = md_asprintf("%s/tar-split", layerdir);
	t->fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	p = md_asprintf("%s/diff", layerdir);
	t->rootfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(p);
	p = md_asprintf("%s/shadow", layerdir);
	t->shadowfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(p);
	if (t->fd < 0 || t->rootfd < 0) {
		md_errno("open layer %s", layerdir);
		md_tsr_close(t);
		return NULL;
	}
	if (md_tsr_scan_moves(t) < 0) {
		md_tsr_close(t);
		return NULL;
	}
	return t;
}

/* Open the file that record `rec` named at `path`, following later moves. */
static int md_tsr_open_file(struct md_tsr *t, const char *path)
{
	char cur[PATH_MAX];
	int base = t->rootfd;
	snprintf(cur, sizeof cur, "%s", path);
	for (size_t i = 0; i < t->nmv; i++) {
		if (t->mv[i].at <= t->rec || base != t->rootfd)
			continue;
		size_t l = strlen(t->mv[i].from);
		if (strncmp(cur, t->mv[i].from, l) == 0 && (cur[l] == 0 || cur[l] == '/')) {
			char rest[PATH_MAX];
			snprintf(rest, sizeof rest, "%s", cur + l);
			snprintf(cur, sizeof cur, "%s%s", t->mv[i].to, rest);
			base = t->shadowfd;
		}
	}
	if (base < 0)
		return md_err("layer is missing its shadow directory");
	/* walk without following symlinks, like the unpacker */
	int fd = dup(base);
	char *s = cur;
	for (;;) {
		char *e = strchr(s, '/');
		if (e)
			*e = 0;
		int nfd = openat(fd, s, (e ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0)
			return md_errno("layer file %s", path);
		fd = nfd;
		if (!e)
			break;
		s = e + 1;
	}
	return fd;
}

static ssize_t md_tsr_read(void *ctx, void *out, size_t n)
{
	struct md_tsr *t = ctx;
	unsigned char *o = out;
	size_t done = 0;
	while (done < n) {
		if (t->left == 0) {
			if (t->ffd >= 0) {
				/* the file must not be longer than recorded */
				char c;
				if (read(t->ffd, &c, 1) != 0)
					return md_err("layer file %s changed size", t->fpath);
				close(t->ffd);
				t->ffd = -1;
			}
			int c = md_tsr_byte(t);
			if (c == -1)
				break;
			if (c < 0)
				return md_errno("read tar-split");
			t->rec++;
			uint64_t v;
			t->kind = c;
			if (c == 'R' || c == 'Z') {
				if (md_tsr_varint(t, &v) < 0)
					return md_err("tar-split is corrupt");
				t->left = v;
			} else if (c == 'F') {
				free(t->fpath);
				if (md_tsr_varint(t, &v) < 0 || !(t->fpath = md_tsr_str(t)))
					return md_err("tar-split is corrupt");
				t->left = v;
				t->ffd = md_tsr_open_file(t, t->fpath);
				if (t->ffd < 0)
					return -1;
			} else if (c == 'M') {
				char *a = md_tsr_str(t), *b = a ? md_tsr_str(t) : NULL;
				free(a);
				free(b);
				if (!b)
					return md_err("tar-split is corrupt");
			} else {
				return md_err("tar-split is corrupt");
			}
			continue;
		}
		size_t k = t->left < n - done ? (size_t)t->left : n - done;
		if (t->kind == 'Z') {
			memset(o + done, 0, k);
		} else if (t->kind == 'R') {
			for (size_t i = 0; i < k; i++) {
				int c = md_tsr_byte(t);
				if (c < 0)
					return md_err("tar-split is corrupt");
				o[done + i] = (unsigned char)c;
			}
		} else {
			ssize_t r = md_read_full(t->ffd, o + done, k);
			if (r < 0)
				return md_errno("read layer file %s", t->fpath);
			if ((size_t)r < k)
				return md_err("layer file %s is shorter than recorded", t->fpath);
		}
		done += k;
		t->left -= k;
	}
	return (ssize_t)done;
}

/* Rebuild the tar of a stored layer, hashing it; optionally copy to fd. */
static int md_layer_rebuild(const char *layerdir, int outfd, struct archive *aw,
                            char diff[MD_DIGEST_LEN + 1], uint64_t *sizep)
{
	struct md_tsr *t = md_tsr_open(layerdir);
	if (!t)
		return -1;
	br_sha256_context c;
	br_sha256_init(&c);
	uint64_t total = 0;
	static unsigned char buf[65536];
	int r = 0;
	for (;;) {
		ssize_t n = md_tsr_read(t, buf, sizeof buf);
		if (n < 0) {
			r = -1;
			break;
		}
		if (n == 0)
			break;
		br_sha256_update(&c, buf, (size_t)n);
		total += (uint64_t)n;
		if (outfd >= 0 && md_write_all(outfd, buf, (size_t)n) < 0) {
			r = md_errno("write");
			break;
		}
		if (aw && archive_write_data(aw, buf, (size_t)n) != n) {
			r = md_err("write archive: %s", archive_error_string(aw));
			break;
		}
	}
	md_tsr_close(t);
	if (r == 0) {
		md_sha_hex(&c, diff);
		if (sizep)
			*sizep = total;
	}
	return r;
}

/**** 10 store **************************************************************/
/*
 * Layout under the data root (--root):
 *   index.json            the graph index: images, layers, tags, containers
 *   lock                  flock()ed by every writer of the index
 *   blobs/sha256/HEX      image configs (and manifests), by digest
 *   layers/HEX/           one per chain ID: diff/ (the overlay lower dir),
 *                         tar-split, layer.json, shadow/ (rarely)
 *   tmp/                  staging sessions (s-*) and trash (trash-*)
 *
 * Crash safety: objects are made complete in tmp/, synced, then renamed
 * into place; the index is written last (temp, fsync, rename, fsync dir),
 * so it only ever names complete objects and an image becomes visible
 * only when all its layers are.  What a crash leaves behind is unnamed
 * garbage that `system check --repair` (and the next writer) removes.
 * Readers parse index.json without a lock: rename makes it atomic.
 * Writers hold `lock` for read-modify-write of the index; long work
 * (unpacking) happens outside it in a staging session whose own lock
 * tells others it is alive, and whose pins keep layers it reuses.
 */

struct md_store {
	char *root, *runroot;
	int lockfd;
	int lockdepth;
};

static struct md_store md_st = {NULL, NULL, -1, 0};

static MD_PRINTF(1, 2) char *md_sp(const char *fmt, ...)
{
	char rel[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	return md_asprintf("%s/%s", md_st.root, rel);
}

static int md_store_ensure(void)
{
	static const char *const dirs[] = {"", "/blobs", "/blobs/sha256", "/layers", "/tmp"};
	for (size_t i = 0; i < MD_ARRAY_LEN(dirs); i++) {
		char *p = md_asprintf("%s%s", md_st.root, dirs[i]);
		int r = i == 0 ? md_mkdir_p(p, 0711) : (mkdir(p, 0700) < 0 && errno != EEXIST ? md_errno("mkdir %s", p) : 0);
		free(p);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int md_store_lock(void)
{
	if (md_st.lockdepth++ > 0)
		return 0;
	if (md_store_ensure() < 0)
		goto fail;
	char *p = md_sp("lock");
	md_st.lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(p);
	if (md_st.lockfd < 0) {
		md_errno("open %s/lock", md_st.root);
		goto fail;
	}
	while (flock(md_st.lockfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			md_errno("lock %s", md_st.root);
			close(md_st.lockfd);
			md_st.lockfd = -1;
			goto fail;
		}
	}
	return 0;
fail:
	md_st.lockdepth--;
	return -1;
}

static void md_store_unlock(void)
{
	if (md_st.lockdepth <= 0 || --md_st.lockdepth > 0)
		return;
	close(md_st.lockfd);
	md_st.lockfd = -1;
}

static struct md_json *md_index_section(struct md_json *idx, const char *name)
{
	struct md_json *s = md_json_get(idx, name);
	if (!md_json_is(s, MD_J_OBJ))
		s = md_json_set(idx, name, md_json_new(MD_J_OBJ));
	return s;
}

/* Read the graph index (an empty one if there is none yet). */
static struct md_json *md_index_read(void)
{
	char *p = md_sp("index.json");
	struct md_json *idx = NULL;
	if (md_path_exists(p)) {
		idx = md_json_parse_file(p);
		if (!idx || idx->t != MD_J_OBJ) {
			md_json_free(idx);
			md_err("the store index %s is unreadable (try: minidock system check --repair)", p);
			free(p);
			return NULL;
		}
	} else {
		idx = md_json_new(MD_J_OBJ);
		md_json_seti(idx, "version", 1);
	}
	free(p);
	static const char *const secs[] = {"images", "layers", "tags", "containers"};
	for (size_t i = 0; i < MD_ARRAY_LEN(secs); i++)
		md_index_section(idx, secs[i]);
	return idx;
}

static int md_index_write(struct md_json *idx)
{
	char *s = md_json_dump(idx, 0);
	char *p = md_sp("index.json");
	int r = md_write_file_atomic(p, s, strlen(s), 0600);
	free(p);
	free(s);
	return r;
}

static char *md_blob_path(const char *digest)
{
	return md_sp("blobs/sha256/%s", digest + 7);
}

static char *md_layer_path(const char *chain)
{
	return md_sp("layers/%s", chain + 7);
}

/* Move a complete, synced file into the blob store (or drop it if present). */
static int md_blob_adopt(const char *tmpfile, const char *digest)
{
	char *p = md_blob_path(digest);
	int r = 0;
	if (md_path_exists(p))
		unlink(tmpfile);
	else if (rename(tmpfile, p) < 0)
		r = md_errno("store blob %s", digest);
	free(p);
	return r;
}

/* Store a small buffer as a blob; out gets its digest. */
static int md_blob_put(const void *data, size_t len, char out[MD_DIGEST_LEN + 1])
{
	md_sha256_buf(data, len, out);
	char *p = md_blob_path(out);
	int r = 0;
	if (!md_path_exists(p))
		r = md_write_file_atomic(p, data, len, 0600);
	free(p);
	return r;
}

static struct md_json *md_blob_json(const char *digest)
{
	char *p = md_blob_path(digest);
	struct md_json *j = md_json_parse_file(p);
	free(p);
	return j;
}

/* ---- staging sessions ---- */

struct md_sess {
	char *dir;
	int lockfd;
	unsigned seq;
};

static int md_sess_is_alive(const char *dir)
{
	char *p = md_asprintf("%s/lock", dir);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return 0;
	int alive = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

/* Remove dead sessions and trash.  Call with the store lock held. */
static void md_store_gc_tmp(struct md_strv *removed)
{
	char *tmp = md_sp("tmp");
	DIR *d = opendir(tmp);
	if (!d) {
		free(tmp);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = md_asprintf("%s/%s", tmp, de->d_name);
		if (!md_startswith(de->d_name, "s-") || !md_sess_is_alive(p)) {
			if (md_rm_rf(p) == 0 && removed)
				md_strv_push(removed, p);
		}
		free(p);
	}
	closedir(d);
	free(tmp);
}

static int md_sess_begin(struct md_sess *s)
{
	char rnd[17];
	memset(s, 0, sizeof *s);
	s->lockfd = -1;
	if (md_store_lock() < 0)
		return -1;
	md_store_gc_tmp(NULL);
	md_random_hex(rnd, 8);
	s->dir = md_sp("tmp/s-%d-%s", (int)getpid(), rnd);
	int r = -1;
	if (mkdir(s->dir, 0700) < 0) {
		md_errno("mkdir %s", s->dir);
	} else {
		char *p = md_asprintf("%s/lock", s->dir);
		s->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		free(p);
		if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX) < 0)
			md_errno("lock %s", s->dir);
		else
			r = 0;
	}
	md_store_unlock();
	return r;
}

static void md_sess_end(struct md_sess *s)
{
	if (s->dir)
		md_rm_rf(s->dir);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->dir);
	memset(s, 0, sizeof *s);
	s->lockfd = -1;
}

/* A fresh path inside the session: PREFIX + sequence number. */
static char *md_sess_path(struct md_sess *s, const char *prefix)
{
	return md_asprintf("%s/%s%u", s->dir, prefix, s->seq++);
}

/* Keep a layer from being removed while this session relies on it. */
static MD_UNUSED int md_sess_pin(struct md_sess *s, const char *chain)
{
	char *p = md_asprintf("%s/pins", s->dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(p);
	if (fd < 0)
		return md_errno("pin layer");
	int r = md_write_all(fd, chain, strlen(chain)) < 0 || md_write_all(fd, "\n", 1) < 0 ? md_errno("pin layer") : 0;
	close(fd);
	return r;
}

/* Is the layer pinned by a live session?  Call with the store lock held. */
static int md_store_pinned(const char *chain)
{
	char *tmp = md_sp("tmp");
	DIR *d = opendir(tmp);
	int found = 0;
	if (!d) {
		free(tmp);
		return 0;
	}
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (!md_startswith(de->d_name, "s-"))
			continue;
		char *dir = md_asprintf("%s/%s", tmp, de->d_name);
		char *pp = md_asprintf("%s/pins", dir);
		char *pins = md_sess_is_alive(dir) ? md_read_file(pp, 1 << 20, NULL) : NULL;
		if (pins) {
			for (char *l = strtok(pins, "\n"); l && !found; l = strtok(NULL, "\n"))
				found = strcmp(l, chain) == 0;
			free(pins);
		}
		free(pp);
		free(dir);
	}
	closedir(d);
	free(tmp);
	md_errmsg[0] = 0;
	return found;
}

/* ---- layers and images in the index ---- */

static int md_store_syncfs(void)
{
	int fd = open(md_st.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return md_errno("open %s", md_st.root);
	int r = syncfs(fd);
	close(fd);
	return r < 0 ? md_errno("sync %s", md_st.root) : 0;
}

/*
 * Look a path up in the lower layers below `parent` (top first), as overlayfs
 * would: stop at a whiteout, a non-directory or an opaque directory.
 * Returns an O_PATH-free fd of the directory found, or -1.
 */
static int md_layer_lookup_dir(struct md_json *idx, const char *parent, const char *path)
{
	char chain[MD_DIGEST_LEN + 1];
	snprintf(chain, sizeof chain, "%s", parent ? parent : "");
	int found = -1;
	for (int depth = 0; idx && chain[0] && depth < 1000 && found < 0; depth++) {
		char *ld = md_layer_path(chain);
		char *dd = md_asprintf("%s/diff", ld);
		free(ld);
		int fd = open(dd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(dd);
		int stop = fd < 0;
		char buf[PATH_MAX];
		snprintf(buf, sizeof buf, "%s", strcmp(path, ".") == 0 ? "" : path);
		for (char *c = buf, *e; fd >= 0 && *c; c = e ? e + 1 : c + strlen(c)) {
			e = strchr(c, '/');
			if (e)
				*e = 0;
			struct stat st;
			if (fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				char v;
				/* absent here: lower layers count unless this dir is opaque */
				if (fgetxattr(fd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y')
					stop = 1;
				close(fd);
				fd = -1;
				break;
			}
			if (!S_ISDIR(st.st_mode)) {
				stop = 1; /* a whiteout or a file hides everything below */
				close(fd);
				fd = -1;
				break;
			}
			int nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			close(fd);
			fd = nfd;
			if (fd < 0)
				stop = 1;
			if (e)
				*e = '/';
		}
		if (fd >= 0) {
			found = fd;
			break;
		}
		if (stop)
			break;
		const char *p = md_json_gets(md_json_get(md_json_get(idx, "layers"), chain), "parent");
		snprintf(chain, sizeof chain, "%s", p ? p : "");
	}
	return found;
}

/*
 * A directory that a layer only implies (an entry inside it, but no entry
 * for it) must look as it does in the layers below, or the overlay would
 * show it as a fresh 0755 root directory: copy owner, mode, times, xattrs.
 */
static int md_layer_fix_implied(struct md_json *idx, const char *ldir, const char *parent)
{
	char *ip = md_asprintf("%s/implied", ldir);
	char *list = md_path_exists(ip) ? md_read_file(ip, 64u << 20, NULL) : NULL;
	free(ip);
	if (!list || !parent) {
		free(list);
		return 0;
	}
	char *dd = md_asprintf("%s/diff", ldir);
	int root = open(dd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dd);
	int r = 0;
	for (char *line = list, *nl; root >= 0 && *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		int src = md_layer_lookup_dir(idx, parent, line);
		if (src < 0)
			continue;
		int dst = strcmp(line, ".") == 0 ? dup(root) : openat(root, line, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (dst >= 0 && fstat(src, &st) == 0) {
			char names[4096];
			ssize_t nn = flistxattr(src, names, sizeof names);
			for (ssize_t i = 0; i < nn; i += (ssize_t)strlen(names + i) + 1) {
				char val[4096];
				if (md_startswith(names + i, "trusted.overlay."))
					continue;
				ssize_t vl = fgetxattr(src, names + i, val, sizeof val);
				if (vl >= 0)
					fsetxattr(dst, names + i, val, (size_t)vl, 0);
			}
			if (fchown(dst, st.st_uid, st.st_gid) < 0 && geteuid() == 0)
				r = md_errno("chown %s", line);
			if (fchmod(dst, st.st_mode & 07777) < 0)
				r = md_errno("chmod %s", line);
			struct timespec ts[2] = {st.st_atim, st.st_mtim};
			futimens(dst, ts);
		}
		if (dst >= 0)
			close(dst);
		close(src);
	}
	if (root >= 0)
		close(root);
	free(list);
	return r;
}

/* Write layer.json into a staged layer directory. */
static int md_layer_write_meta(const char *ldir, const char *chain, const char *parent,
                               const struct md_layer_info *li)
{
	struct md_json *m = md_json_new(MD_J_OBJ);
	md_json_sets(m, "chain", chain);
	md_json_sets(m, "diff", li->diff_id);
	md_json_set(m, "parent", parent ? md_json_newstr(parent) : md_json_new(MD_J_NULL));
	md_json_seti(m, "size", (long long)li->size);
	md_json_seti(m, "tar_size", (long long)li->tar_size);
	char *s = md_json_dump(m, 0);
	char *p = md_asprintf("%s/layer.json", ldir);
	int r = md_write_file_atomic(p, s, strlen(s), 0600);
	free(p);
	free(s);
	md_json_free(m);
	return r;
}

static void md_index_add_layer(struct md_json *idx, const char *chain, const char *parent,
                               const char *diff, uint64_t size, uint64_t tar_size)
{
	struct md_json *l = md_json_new(MD_J_OBJ);
	md_json_set(l, "parent", parent ? md_json_newstr(parent) : md_json_new(MD_J_NULL));
	md_json_sets(l, "diff", diff);
	md_json_seti(l, "size", (long long)size);
	md_json_seti(l, "tar_size", (long long)tar_size);
	md_json_set(md_index_section(idx, "layers"), chain, l);
}

/* Layer chain IDs of an image, bottom first. */
static struct md_json *md_image_layers(struct md_json *idx, const char *id)
{
	return md_json_get(md_json_get(md_json_get(idx, "images"), id), "layers");
}

static uint64_t md_image_size(struct md_json *idx, const char *id)
{
	uint64_t total = 0;
	struct md_json *layers = md_json_get(idx, "layers");
	struct md_json *ls = md_image_layers(idx, id);
	for (struct md_json *c = ls ? ls->child : NULL; c; c = c->next)
		total += (uint64_t)md_json_geti(md_json_get(layers, md_json_str(c)), "size", 0);
	return total;
}

/* Tags of an image, sorted. */
static void md_image_tags(struct md_json *idx, const char *id, struct md_strv *out)
{
	for (struct md_json *t = md_json_get(idx, "tags")->child; t; t = t->next)
		if (md_streq(md_json_str(t), id))
			md_strv_push(out, t->key);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, md_strcmp_p);
}

static int md_image_in_use(struct md_json *idx, const char *id, const char **by)
{
	for (struct md_json *c = md_json_get(idx, "containers")->child; c; c = c->next)
		if (md_streq(md_json_str(c), id)) {
			if (by)
				*by = c->key;
			return 1;
		}
	return 0;
}

/*
 * Find an image by reference (name[:tag], name@digest), full ID
 * (sha256:HEX or HEX) or unique ID prefix.  out gets the ID.
 */
static int md_image_resolve(struct md_json *idx, const char *name, char out[MD_DIGEST_LEN + 1])
{
	struct md_json *images = md_json_get(idx, "images");
	const char *hex = md_startswith(name, "sha256:") ? name + 7 : name;
	size_t hl = strlen(hex);
	int hexonly = hl > 0 && hl <= 64;
	for (size_t i = 0; i < hl && hexonly; i++)
		hexonly = isxdigit((unsigned char)hex[i]) && !isupper((unsigned char)hex[i]);
	if (!md_startswith(name, "sha256:")) {
		struct md_ref r;
		if (md_ref_parse(name, &r) == 0) {
			char fam[800];
			md_ref_familiar(&r, fam, sizeof fam);
			const char *id = md_json_gets(md_json_get(idx, "tags"), fam);
			if (id && md_json_get(images, id)) {
				snprintf(out, MD_DIGEST_LEN + 1, "%s", id);
				return 0;
			}
			if (r.digest[0]) {
				/* name@digest: match an image's recorded repo digests */
				for (struct md_json *im = images->child; im; im = im->next)
					for (struct md_json *d = md_json_get(im, "digests") ? md_json_get(im, "digests")->child : NULL; d; d = d->next)
						if (md_streq(md_json_str(d), fam)) {
							snprintf(out, MD_DIGEST_LEN + 1, "%s", im->key);
							return 0;
						}
			}
		} else if (!hexonly) {
			return -1;
		}
	}
	if (hexonly) {
		const char *found = NULL;
		for (struct md_json *im = images->child; im; im = im->next) {
			if (strncmp(im->key + 7, hex, hl) == 0) {
				if (found)
					return md_err("multiple images found with ID prefix %s", hex);
				found = im->key;
			}
		}
		if (found) {
			snprintf(out, MD_DIGEST_LEN + 1, "%s", found);
			return 0;
		}
	}
	return md_err("No such image: %s", name);
}

static int md_layer_used(struct md_json *idx, const char *chain)
{
	for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
		struct md_json *ls = md_json_get(im, "layers");
		for (struct md_json *c = ls ? ls->child : NULL; c; c = c->next)
			if (md_streq(md_json_str(c), chain))
				return 1;
	}
	return 0;
}

/*
 * Drop an image (and its tags) from the index; layers no other image uses
 * (and no live session pinned) are dropped too and listed in gone, to be
 * deleted from disk after the index is written.
 */
static void md_index_drop_image(struct md_json *idx, const char *id, struct md_strv *gone)
{
	struct md_json *ls = md_json_clone(md_image_layers(idx, id));
	md_json_del(md_json_get(idx, "images"), id);
	struct md_json *tags = md_json_get(idx, "tags");
	for (struct md_json *t = tags->child, *next; t; t = next) {
		next = t->next;
		if (md_streq(md_json_str(t), id))
			md_json_del(tags, t->key);
	}
	/* top layer first: a parent is only free when its children are */
	for (size_t i = ls->n; i-- > 0;) {
		const char *chain = md_json_str(md_json_at(ls, i));
		if (!chain || md_layer_used(idx, chain) || md_strv_has(gone, chain))
			continue;
		/* another layer may name this one as parent (an image we kept) */
		int parent_of = 0;
		for (struct md_json *l = md_json_get(idx, "layers")->child; l; l = l->next)
			if (md_streq(md_json_gets(l, "parent"), chain) && !md_strv_has(gone, l->key))
				parent_of = 1;
		if (parent_of || md_store_pinned(chain))
			continue;
		md_json_del(md_json_get(idx, "layers"), chain);
		md_strv_push(gone, chain);
	}
	md_json_free(ls);
	char *p = md_blob_path(id);
	md_strv_push(gone, p); /* the config blob; a path, not a chain ID */
	free(p);
}

/* After the index no longer names them: move to trash, then delete. */
static void md_store_delete(const struct md_strv *gone)
{
	for (size_t i = 0; i < gone->n; i++) {
		if (gone->v[i][0] == '/') {
			unlink(gone->v[i]);
			continue;
		}
		char *src = md_layer_path(gone->v[i]);
		char rnd[9];
		md_random_hex(rnd, 4);
		char *dst = md_sp("tmp/trash-%.12s-%s", gone->v[i] + 7, rnd);
		if (rename(src, dst) == 0)
			md_rm_rf(dst);
		free(src);
		free(dst);
	}
	md_errmsg[0] = 0;
}

/**** 11 load, import, save *************************************************/
/*
 * `load` reads a docker-archive (manifest.json) or an OCI image layout
 * (index.json) from a file or a pipe, in one pass: every member that is a
 * tar (plain, gzip or zstd) is hashed and unpacked into the staging
 * session as it streams by; every other member is kept as a small file.
 * When the archive is done, the manifests say which members are which
 * image's config and layers; digests are checked, chain IDs computed, and
 * the images committed into the store under the lock.
 */

struct md_member {
	char *name;                    /* path inside the archive, cleaned */
	char digest[MD_DIGEST_LEN + 1];
	uint64_t size;
	char *file;                    /* staged copy of a small non-layer member */
	char *ldir;                    /* staged layer: ldir/diff, ldir/tar-split */
	char *lerr;                    /* why it could not be unpacked as a layer */
	struct md_layer_info li;
	int moved;                     /* ldir was renamed into the store */
};

struct md_loadimg {
	char id[MD_DIGEST_LEN + 1];
	struct md_member *config;      /* NULL for import, which has cfgdata */
	char *cfgdata;
	struct md_json *cfg;
	struct md_member **layers;
	size_t nlayers;
	struct md_strv tags;
	char manifest[MD_DIGEST_LEN + 1];
};

struct md_load {
	struct md_sess sess;
	struct md_member *m;
	size_t nm;
	struct md_loadimg *img;
	size_t nimg;
};

/* A member of the outer archive as a source, hashed as it is read. */
struct md_msrc {
	struct archive *a;
	br_sha256_context h;
	uint64_t n;
	unsigned char peek[1024];
	size_t peeklen, peekpos;
	int failed;                    /* the outer archive itself failed */
};

static ssize_t md_msrc_read(void *ctx, void *buf, size_t n)
{
	struct md_msrc *s = ctx;
	if (s->peekpos < s->peeklen) {
		size_t k = s->peeklen - s->peekpos < n ? s->peeklen - s->peekpos : n;
		memcpy(buf, s->peek + s->peekpos, k);
		s->peekpos += k;
		return (ssize_t)k;
	}
	la_ssize_t r = archive_read_data(s->a, buf, n);
	if (r < 0) {
		s->failed = 1;
		const char *m = archive_error_string(s->a);
		return md_err("reading the archive: %s", m ? m : "read error");
	}
	br_sha256_update(&s->h, buf, (size_t)r);
	s->n += (uint64_t)r;
	return r;
}

static int md_looks_like_tar(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return 1;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return 1;
	if (n >= 262 && memcmp(p + 257, "ustar", 5) == 0)
		return 1;
	if (n >= 512) { /* an empty tar is just zero blocks */
		for (size_t i = 0; i < 512; i++)
			if (p[i])
				return 0;
		return 1;
	}
	return 0;
}

/* Read one member of the outer archive: unpack it if it is a layer, else stage it. */
static int md_load_member(struct md_load *L, struct archive *a, struct archive_entry *e)
{
	char clean[PATH_MAX];
	if (md_tar_clean_path(archive_entry_pathname(e), clean, sizeof clean) < 0 || !*clean)
		return 0; /* not something a manifest can name */
	L->m = md_realloc(L->m, (L->nm + 1) * sizeof *L->m);
	struct md_member *m = &L->m[L->nm++];
	memset(m, 0, sizeof *m);
	m->name = md_strdup(clean);
	struct md_msrc s = {.a = a};
	br_sha256_init(&s.h);
	while (s.peeklen < sizeof s.peek) {
		la_ssize_t r = archive_read_data(a, s.peek + s.peeklen, sizeof s.peek - s.peeklen);
		if (r < 0)
			return md_err("reading the archive at %s: %s", clean, archive_error_string(a));
		if (r == 0)
			break;
		s.peeklen += (size_t)r;
	}
	br_sha256_update(&s.h, s.peek, s.peeklen);
	s.n = s.peeklen;
	struct md_src src = {md_msrc_read, &s};
	if (md_looks_like_tar(s.peek, s.peeklen)) {
		m->ldir = md_sess_path(&L->sess, "L");
		int r = md_layer_unpack(src, m->ldir, &m->li);
		if (s.failed)
			return -1;
		if (r < 0) {
			m->lerr = md_strdup(md_errmsg);
			md_rm_rf(m->ldir);
			free(m->ldir);
			m->ldir = NULL;
		}
	} else if (archive_entry_size(e) <= (la_int64_t)MD_JSON_MAX_DOC) {
		m->file = md_sess_path(&L->sess, "F");
		int fd = open(m->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return md_errno("create %s", m->file);
		unsigned char buf[65536];
		ssize_t n;
		while ((n = md_msrc_read(&s, buf, sizeof buf)) > 0)
			if (md_write_all(fd, buf, (size_t)n) < 0) {
				close(fd);
				return md_errno("write %s", m->file);
			}
		close(fd);
		if (n < 0)
			return -1;
	}
	/* finish the digest over whatever is left unread */
	unsigned char buf[65536];
	ssize_t n;
	while ((n = md_msrc_read(&s, buf, sizeof buf)) > 0)
		;
	if (n < 0)
		return -1;
	md_sha_hex(&s.h, m->digest);
	m->size = s.n;
	return 0;
}

static struct md_member *md_load_find(struct md_load *L, const char *name)
{
	char clean[PATH_MAX];
	if (md_tar_clean_path(name, clean, sizeof clean) < 0)
		return NULL;
	for (size_t i = 0; i < L->nm; i++)
		if (strcmp(L->m[i].name, clean) == 0)
			return &L->m[i];
	return NULL;
}

static struct md_json *md_load_member_json(struct md_member *m)
{
	if (!m->file) {
		md_err("%s is not a JSON document", m->name);
		return NULL;
	}
	return md_json_parse_file(m->file);
}

/* A member named blobs/sha256/HEX must hash to HEX. */
static int md_load_check_blobname(struct md_member *m)
{
	if (md_startswith(m->name, "blobs/sha256/") && strcmp(m->name + 13, m->digest + 7) != 0)
		return md_err("%s is corrupt: its content has digest %s", m->name, m->digest);
	return 0;
}

static struct md_member *md_load_blob(struct md_load *L, const struct md_json *desc, const char *what)
{
	const char *d = md_json_gets(desc, "digest");
	if (md_digest_check(d, what) < 0)
		return NULL;
	char name[128];
	snprintf(name, sizeof name, "blobs/sha256/%s", d + 7);
	struct md_member *m = md_load_find(L, name);
	if (!m) {
		md_err("%s %s is missing from the archive", what, d);
		return NULL;
	}
	if (strcmp(m->digest, d) != 0) {
		md_err("%s %s is corrupt: its content has digest %s", what, d, m->digest);
		return NULL;
	}
	long long size;
	if (md_json_int(md_json_get(desc, "size"), &size) == 0 && (uint64_t)size != m->size) {
		md_err("%s %s has %" PRIu64 " bytes, the manifest says %lld", what, d, m->size, size);
		return NULL;
	}
	return m;
}

/* Check a config against its layers; fills img->cfg and the ID. */
static int md_load_check_image(struct md_loadimg *img)
{
	struct md_json *cfg = img->cfg;
	struct md_json *diffs = md_json_get(md_json_get(cfg, "rootfs"), "diff_ids");
	if (!md_json_is(cfg, MD_J_OBJ) || !md_json_is(diffs, MD_J_ARR))
		return md_err("image config %.19s has no rootfs.diff_ids", img->id);
	if (diffs->n != img->nlayers)
		return md_err("image config %.19s lists %zu layers, the manifest %zu", img->id, diffs->n,
		              img->nlayers);
	size_t i = 0;
	for (struct md_json *d = diffs->child; d; d = d->next, i++) {
		struct md_member *lm = img->layers[i];
		if (md_digest_check(md_json_str(d), "image config diff_id") < 0)
			return -1;
		if (!lm->ldir && !lm->moved)
			return md_err("layer %s: %s", lm->name, lm->lerr ? lm->lerr : "not a tar archive");
		if (strcmp(lm->li.diff_id, md_json_str(d)) != 0)
			return md_err("layer %s has DiffID %s, the image config expects %s", lm->name,
			              lm->li.diff_id, md_json_str(d));
	}
	return 0;
}

static int md_load_add_tag(struct md_loadimg *img, const char *ref)
{
	char fam[800];
	if (md_ref_normalize_tag(ref, fam, sizeof fam) < 0)
		return md_err_wrap("tag \"%.200s\"", ref);
	if (!md_strv_has(&img->tags, fam))
		md_strv_push(&img->tags, fam);
	return 0;
}

static struct md_loadimg *md_load_newimg(struct md_load *L)
{
	L->img = md_realloc(L->img, (L->nimg + 1) * sizeof *L->img);
	struct md_loadimg *img = &L->img[L->nimg++];
	memset(img, 0, sizeof *img);
	return img;
}

/* docker-archive: manifest.json = [{Config, RepoTags, Layers}] */
static int md_load_docker(struct md_load *L, struct md_member *mf)
{
	struct md_json *man = md_load_member_json(mf);
	if (!man)
		return md_err_wrap("manifest.json");
	int r = -1;
	if (!md_json_is(man, MD_J_ARR) || man->n == 0) {
		md_err("manifest.json: expected a list of images");
		goto out;
	}
	for (struct md_json *e = man->child; e; e = e->next) {
		const char *cpath = md_json_gets(e, "Config");
		struct md_json *layers = md_json_get(e, "Layers");
		if (!cpath || !md_json_is(layers, MD_J_ARR)) {
			md_err("manifest.json: an entry has no Config or Layers");
			goto out;
		}
		struct md_loadimg *img = md_load_newimg(L);
		img->config = md_load_find(L, cpath);
		if (!img->config) {
			md_err("manifest.json names config %.200s, which is not in the archive", cpath);
			goto out;
		}
		if (md_load_check_blobname(img->config) < 0)
			goto out;
		/* legacy archives name the config HEX.json */
		const char *base = strrchr(img->config->name, '/') ? strrchr(img->config->name, '/') + 1 : img->config->name;
		if (strlen(base) == 69 && md_endswith(base, ".json") && strncmp(base, img->config->digest + 7, 64) != 0) {
			md_err("config %s is corrupt: its content has digest %s", img->config->name, img->config->digest);
			goto out;
		}
		snprintf(img->id, sizeof img->id, "%s", img->config->digest);
		if (!(img->cfg = md_load_member_json(img->config))) {
			md_err_wrap("config %s", img->config->name);
			goto out;
		}
		img->layers = md_alloc((layers->n + 1) * sizeof *img->layers);
		for (struct md_json *l = layers->child; l; l = l->next) {
			const char *lp = md_json_str(l);
			struct md_member *lm = lp ? md_load_find(L, lp) : NULL;
			if (!lm) {
				md_err("manifest.json names layer %.200s, which is not in the archive", lp ? lp : "?");
				goto out;
			}
			if (md_load_check_blobname(lm) < 0)
				goto out;
			img->layers[img->nlayers++] = lm;
		}
		if (md_load_check_image(img) < 0)
			goto out;
		struct md_json *tags = md_json_get(e, "RepoTags");
		for (struct md_json *t = tags ? tags->child : NULL; t; t = t->next)
			if (md_json_str(t) && md_load_add_tag(img, md_json_str(t)) < 0)
				goto out;
	}
	r = 0;
out:
	md_json_free(man);
	return r;
}

static int md_mt_is_index(const char *mt)
{
	return md_streq(mt, "application/vnd.oci.image.index.v1+json") ||
	       md_streq(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
}

static const char *md_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__mips__) && defined(__MIPSEL__)
	return "mipsle";
#elif defined(__mips__)
	return "mips";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
	return "ppc64le";
#else
	return "unknown";
#endif
}

static int md_load_oci_manifest(struct md_load *L, struct md_member *mm, struct md_loadimg *img)
{
	struct md_json *man = md_load_member_json(mm);
	if (!man)
		return md_err_wrap("manifest %s", mm->digest);
	int r = -1;
	struct md_json *cdesc = md_json_get(man, "config");
	struct md_json *layers = md_json_get(man, "layers");
	if (!md_json_is(cdesc, MD_J_OBJ) || !md_json_is(layers, MD_J_ARR)) {
		md_err("manifest %s has no config or layers", mm->digest);
		goto out;
	}
	if (!(img->config = md_load_blob(L, cdesc, "image config")))
		goto out;
	snprintf(img->id, sizeof img->id, "%s", img->config->digest);
	snprintf(img->manifest, sizeof img->manifest, "%s", mm->digest);
	if (!(img->cfg = md_load_member_json(img->config))) {
		md_err_wrap("image config %s", img->id);
		goto out;
	}
	img->layers = md_alloc((layers->n + 1) * sizeof *img->layers);
	for (struct md_json *l = layers->child; l; l = l->next) {
		struct md_member *lm = md_load_blob(L, l, "layer");
		if (!lm)
			goto out;
		img->layers[img->nlayers++] = lm;
	}
	r = md_load_check_image(img);
out:
	md_json_free(man);
	return r;
}

static int md_platform_match(const struct md_json *p)
{
	const char *os = md_json_gets(p, "os"), *arch = md_json_gets(p, "architecture");
	return md_streq(os, "linux") && md_streq(arch, md_host_arch());
}

/* Resolve a descriptor (manifest or nested index) into one image. */
static int md_load_oci_desc(struct md_load *L, const struct md_json *desc, const char *refname, int depth)
{
	if (depth > MD_OCI_MAX_NEST)
		return md_err("image indexes nested more than %d deep", MD_OCI_MAX_NEST);
	struct md_member *mm = md_load_blob(L, desc, "manifest");
	if (!mm)
		return -1;
	struct md_json *doc = md_load_member_json(mm);
	if (!doc)
		return md_err_wrap("manifest %s", mm->digest);
	const char *mt = md_json_gets(desc, "mediaType");
	if (!mt)
		mt = md_json_gets(doc, "mediaType");
	int r = -1;
	if (md_mt_is_index(mt) || (!mt && md_json_get(doc, "manifests"))) {
		/* pick this machine's platform, skipping attestations */
		struct md_json *ms = md_json_get(doc, "manifests");
		const struct md_json *pick = NULL;
		struct md_sb plats = {0};
		size_t real = 0;
		for (struct md_json *d = ms ? ms->child : NULL; d; d = d->next) {
			const char *rt = md_json_gets(md_json_get(d, "annotations"), "vnd.docker.reference.type");
			if (md_streq(rt, "attestation-manifest"))
				continue;
			struct md_json *p = md_json_get(d, "platform");
			real++;
			if (!p || md_platform_match(p)) {
				if (!pick)
					pick = d;
			}
			if (p)
				md_sb_printf(&plats, "%s%s/%s%s%s", plats.len ? ", " : "", md_json_gets(p, "os") ? md_json_gets(p, "os") : "?",
				             md_json_gets(p, "architecture") ? md_json_gets(p, "architecture") : "?",
				             md_json_gets(p, "variant") ? "/" : "", md_json_gets(p, "variant") ? md_json_gets(p, "variant") : "");
		}
		if (!pick)
			md_err("image index %.19s has no image for linux/%s (it has: %s)", mm->digest, md_host_arch(),
			       real ? md_sb_str(&plats) : "nothing");
		else
			r = md_load_oci_desc(L, pick, refname, depth + 1);
		md_sb_free(&plats);
	} else {
		struct md_loadimg *img = md_load_newimg(L);
		r = md_load_oci_manifest(L, mm, img);
		if (r == 0 && refname)
			r = md_load_add_tag(img, refname);
	}
	md_json_free(doc);
	return r;
}

/* OCI image layout: index.json lists manifests (annotated with names). */
static int md_load_oci(struct md_load *L, struct md_member *ix)
{
	struct md_json *idx = md_load_member_json(ix);
	if (!idx)
		return md_err_wrap("index.json");
	struct md_json *ms = md_json_get(idx, "manifests");
	int r = -1;
	if (!md_json_is(ms, MD_J_ARR) || ms->n == 0) {
		md_err("index.json lists no manifests");
		goto out;
	}
	/* descriptors with platforms but no names form one multi-platform image */
	int anon_plat = 0;
	for (struct md_json *d = ms->child; d; d = d->next) {
		struct md_json *an = md_json_get(d, "annotations");
		if (!md_json_gets(an, "org.opencontainers.image.ref.name") && !md_json_gets(an, "io.containerd.image.name") &&
		    md_json_get(d, "platform"))
			anon_plat++;
	}
	r = 0;
	size_t before = L->nimg;
	for (struct md_json *d = ms->child; d && r == 0; d = d->next) {
		struct md_json *an = md_json_get(d, "annotations");
		const char *name = md_json_gets(an, "io.containerd.image.name");
		const char *ref = md_json_gets(an, "org.opencontainers.image.ref.name");
		/* ref.name is a full reference in archives made by Docker and
		 * podman, but often just a tag ("latest") in others: then the
		 * image is loaded untagged, as Docker does. */
		if (!name && ref && (strchr(ref, ':') || strchr(ref, '/')))
			name = ref;
		if (anon_plat > 1 && md_json_get(d, "platform") && !name && !md_platform_match(md_json_get(d, "platform")))
			continue;
		r = md_load_oci_desc(L, d, name, 0);
	}
	if (r == 0 && L->nimg == before)
		r = md_err("index.json has no image for linux/%s", md_host_arch());
out:
	md_json_free(idx);
	return r;
}

/* An archive read through md_zr (so the outer archive may be compressed). */
struct md_zar {
	struct md_zr z;
	unsigned char buf[65536];
};

static la_ssize_t md_zar_read(struct archive *a, void *ud, const void **buf)
{
	struct md_zar *za = ud;
	ssize_t n = md_zr_read(&za->z, za->buf, sizeof za->buf);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", md_errmsg);
		return -1;
	}
	*buf = za->buf;
	return n;
}

static void md_load_free(struct md_load *L)
{
	for (size_t i = 0; i < L->nm; i++) {
		free(L->m[i].name);
		free(L->m[i].file);
		free(L->m[i].ldir);
		free(L->m[i].lerr);
	}
	for (size_t i = 0; i < L->nimg; i++) {
		md_json_free(L->img[i].cfg);
		free(L->img[i].layers);
		free(L->img[i].cfgdata);
		md_strv_free(&L->img[i].tags);
	}
	free(L->m);
	free(L->img);
	md_sess_end(&L->sess);
	memset(L, 0, sizeof *L);
}

/* Store one layer for `chain` from member lm (moved, or rebuilt if already used). */
static int md_load_commit_layer(struct md_load *L, struct md_json *idx, struct md_member *lm, const char *chain,
                                const char *parent)
{
	char *dst = md_layer_path(chain);
	int r = 0;
	if (md_path_exists(dst)) {
		/* a complete layer from an interrupted load: renamed dirs are complete */
	} else if (!lm->moved) {
		r = md_layer_fix_implied(idx, lm->ldir, parent);
		if (r == 0)
			r = md_layer_write_meta(lm->ldir, chain, parent, &lm->li);
		if (r == 0 && rename(lm->ldir, dst) < 0)
			r = md_errno("store layer %.19s", chain);
		if (r == 0) {
			free(lm->ldir);
			lm->ldir = md_strdup(dst);
			lm->moved = 1;
		}
	} else {
		/* the same DiffID under another parent: rebuild a second copy */
		char *nd = md_sess_path(&L->sess, "L");
		struct md_layer_info li;
		struct md_tsr *t = md_tsr_open(lm->ldir);
		r = t ? md_layer_unpack((struct md_src){md_tsr_read, t}, nd, &li) : -1;
		if (t)
			md_tsr_close(t);
		if (r == 0 && strcmp(li.diff_id, lm->li.diff_id) != 0)
			r = md_err("layer %s changed while it was copied", lm->li.diff_id);
		if (r == 0)
			r = md_layer_fix_implied(idx, nd, parent);
		if (r == 0)
			r = md_layer_write_meta(nd, chain, parent, &li);
		if (r == 0)
			r = md_store_syncfs();
		if (r == 0 && rename(nd, dst) < 0)
			r = md_errno("store layer %.19s", chain);
		free(nd);
	}
	free(dst);
	return r;
}

/* Make the loaded images visible: layers, configs, then the index, under the lock. */
static int md_load_commit(struct md_load *L, int print)
{
	if (md_store_syncfs() < 0 || md_store_lock() < 0)
		return -1;
	struct md_json *idx = md_index_read();
	struct md_strv msgs = {0};
	int r = -1;
	if (!idx)
		goto out;
	char now[64];
	md_time_now(now, sizeof now);
	for (size_t k = 0; k < L->nimg; k++) {
		struct md_loadimg *img = &L->img[k];
		char parent[MD_DIGEST_LEN + 1] = "", chain[MD_DIGEST_LEN + 1];
		struct md_json *chains = md_json_new(MD_J_ARR);
		for (size_t i = 0; i < img->nlayers; i++) {
			struct md_member *lm = img->layers[i];
			md_chain_id(parent, lm->li.diff_id, chain);
			if (!md_json_get(md_json_get(idx, "layers"), chain)) {
				if (md_load_commit_layer(L, idx, lm, chain, *parent ? parent : NULL) < 0) {
					md_json_free(chains);
					goto out;
				}
				md_index_add_layer(idx, chain, *parent ? parent : NULL, lm->li.diff_id, lm->li.size,
				                   lm->li.tar_size);
			}
			md_json_push(chains, md_json_newstr(chain));
			strcpy(parent, chain);
		}
		if (img->config) {
			if (img->config->file && md_blob_adopt(img->config->file, img->id) < 0) {
				md_json_free(chains);
				goto out;
			}
		} else if (md_blob_put(img->cfgdata, strlen(img->cfgdata), img->id) < 0) {
			md_json_free(chains);
			goto out;
		}
		struct md_json *images = md_json_get(idx, "images");
		struct md_json *rec = md_json_get(images, img->id);
		if (!rec) {
			rec = md_json_set(images, img->id, md_json_new(MD_J_OBJ));
			md_json_set(rec, "layers", chains);
			md_json_sets(rec, "loaded", now);
		} else {
			md_json_free(chains);
		}
		if (img->manifest[0] && img->tags.n) {
			struct md_json *ds = md_json_get(rec, "digests");
			if (!ds)
				ds = md_json_set(rec, "digests", md_json_new(MD_J_ARR));
			for (size_t t = 0; t < img->tags.n; t++) {
				struct md_ref ref;
				char name[600], rd[800];
				if (md_ref_parse(img->tags.v[t], &ref) < 0)
					continue;
				md_ref_name(&ref, name, sizeof name);
				snprintf(rd, sizeof rd, "%s@%s", name, img->manifest);
				int have = 0;
				for (struct md_json *d = ds->child; d; d = d->next)
					have |= md_streq(md_json_str(d), rd);
				if (!have)
					md_json_push(ds, md_json_newstr(rd));
			}
		}
		struct md_json *tags = md_json_get(idx, "tags");
		for (size_t t = 0; t < img->tags.n; t++) {
			const char *old = md_json_gets(tags, img->tags.v[t]);
			if (old && strcmp(old, img->id) != 0) {
				char *m = md_asprintf("The image %s already exists, renaming the old one with ID %s to empty string",
				                      img->tags.v[t], old);
				md_strv_push(&msgs, m);
				free(m);
			}
			md_json_sets(tags, img->tags.v[t], img->id);
			md_json_sets(rec, "tagged", now);
		}
	}
	char *ld = md_sp("layers"), *bd = md_sp("blobs/sha256");
	r = md_fsync_dir(ld) < 0 || md_fsync_dir(bd) < 0 ? -1 : md_index_write(idx);
	free(ld);
	free(bd);
	if (r == 0 && print) {
		for (size_t i = 0; i < msgs.n; i++)
			printf("%s\n", msgs.v[i]);
		for (size_t k = 0; k < L->nimg; k++) {
			if (!L->img[k].tags.n)
				printf("Loaded image ID: %s\n", L->img[k].id);
			for (size_t t = 0; t < L->img[k].tags.n; t++)
				printf("Loaded image: %s\n", L->img[k].tags.v[t]);
		}
	}
out:
	md_json_free(idx);
	md_strv_free(&msgs);
	md_store_unlock();
	return r;
}

/* Load every image of a docker-archive or OCI layout archive read from fd. */
static int md_load_fd(int fd, int print)
{
	struct md_load L;
	memset(&L, 0, sizeof L);
	if (md_sess_begin(&L.sess) < 0)
		return -1;
	struct md_zar *za = md_alloc(sizeof *za);
	struct archive *a = NULL;
	int r = -1;
	if (md_zr_open(&za->z, md_src_fd(fd)) < 0)
		goto out;
	if (za->z.ilen == 0 && za->z.ieof) {
		md_err("the input is empty");
		goto out;
	}
	a = archive_read_new();
	archive_read_support_format_tar(a);
	if (archive_read_open(a, za, NULL, md_zar_read, NULL) != ARCHIVE_OK) {
		md_err("not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			md_err("not a valid image archive: %s", archive_error_string(a));
			goto out;
		}
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (md_load_member(&L, a, e) < 0)
			goto out;
	}
	struct md_member *mf = md_load_find(&L, "manifest.json");
	struct md_member *ix = md_load_find(&L, "index.json");
	if (mf)
		r = md_load_docker(&L, mf);
	else if (ix)
		r = md_load_oci(&L, ix);
	else
		r = md_err("not a docker-archive or OCI image layout: no manifest.json or index.json in the archive");
	if (r == 0)
		r = md_load_commit(&L, print);
out:
	if (a)
		archive_read_free(a);
	md_zr_close(&za->z);
	free(za);
	md_load_free(&L);
	return r;
}

/* ---- import ---- */

/* Apply one Dockerfile-style --change instruction to a config's "config". */
static int md_import_change(struct md_json *c, const char *chg)
{
	while (isspace((unsigned char)*chg))
		chg++;
	const char *sp = chg;
	while (*sp && !isspace((unsigned char)*sp))
		sp++;
	char ins[16];
	snprintf(ins, sizeof ins, "%.*s", (int)(sp - chg), chg);
	for (char *p = ins; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	const char *arg = sp;
	while (isspace((unsigned char)*arg))
		arg++;
	if (!*arg)
		return md_err("change \"%s\": missing argument", chg);
	if (!strcmp(ins, "CMD") || !strcmp(ins, "ENTRYPOINT") || !strcmp(ins, "VOLUME")) {
		struct md_json *v = NULL;
		if (*arg == '[') {
			v = md_json_parse(arg, strlen(arg));
			for (struct md_json *x = v ? v->child : NULL; x; x = x->next)
				if (x->t != MD_J_STR) {
					md_json_free(v);
					v = NULL;
					break;
				}
			if (!v || v->t != MD_J_ARR)
				return md_err("change \"%s\": expected a JSON array of strings", chg);
		} else if (!strcmp(ins, "VOLUME")) {
			v = md_json_new(MD_J_ARR);
			md_json_push(v, md_json_newstr(arg));
		} else {
			v = md_json_new(MD_J_ARR);
			md_json_push(v, md_json_newstr("/bin/sh"));
			md_json_push(v, md_json_newstr("-c"));
			md_json_push(v, md_json_newstr(arg));
		}
		if (!strcmp(ins, "VOLUME")) {
			struct md_json *vols = md_json_get(c, "Volumes");
			if (!md_json_is(vols, MD_J_OBJ))
				vols = md_json_set(c, "Volumes", md_json_new(MD_J_OBJ));
			for (struct md_json *x = v->child; x; x = x->next)
				md_json_set(vols, x->s, md_json_new(MD_J_OBJ));
			md_json_free(v);
		} else {
			md_json_set(c, !strcmp(ins, "CMD") ? "Cmd" : "Entrypoint", v);
		}
	} else if (!strcmp(ins, "ENV") || !strcmp(ins, "LABEL")) {
		int env = ins[0] == 'E';
		struct md_json *l = md_json_get(c, env ? "Env" : "Labels");
		if (!md_json_is(l, env ? MD_J_ARR : MD_J_OBJ))
			l = md_json_set(c, env ? "Env" : "Labels", md_json_new(env ? MD_J_ARR : MD_J_OBJ));
		char *kv = md_strdup(arg);
		char *eq = strchr(kv, '=');
		char *ws = kv + strcspn(kv, " \t");
		if (!eq || ws < eq) { /* "ENV key value" */
			if (!*ws) {
				free(kv);
				return md_err("change \"%s\": expected KEY=VALUE", chg);
			}
			*ws++ = 0;
			while (isspace((unsigned char)*ws))
				ws++;
			eq = NULL;
		} else {
			*eq = 0;
			ws = eq + 1;
			size_t n = strlen(ws);
			if (n >= 2 && ws[0] == '"' && ws[n - 1] == '"') {
				ws[n - 1] = 0;
				ws++;
			}
		}
		if (env) {
			char *pair = md_asprintf("%s=%s", kv, ws);
			/* replace an existing KEY= */
			for (struct md_json *x = l->child; x; x = x->next)
				if (x->s && md_startswith(x->s, kv) && x->s[strlen(kv)] == '=') {
					free(x->s);
					x->s = pair;
					pair = NULL;
					break;
				}
			if (pair) {
				md_json_push(l, md_json_newstr(pair));
				free(pair);
			}
		} else {
			md_json_sets(l, kv, ws);
		}
		free(kv);
	} else if (!strcmp(ins, "WORKDIR")) {
		md_json_sets(c, "WorkingDir", arg);
	} else if (!strcmp(ins, "USER")) {
		md_json_sets(c, "User", arg);
	} else if (!strcmp(ins, "STOPSIGNAL")) {
		md_json_sets(c, "StopSignal", arg);
	} else if (!strcmp(ins, "EXPOSE")) {
		struct md_json *ep = md_json_get(c, "ExposedPorts");
		if (!md_json_is(ep, MD_J_OBJ))
			ep = md_json_set(c, "ExposedPorts", md_json_new(MD_J_OBJ));
		char *port = strchr(arg, '/') ? md_strdup(arg) : md_asprintf("%s/tcp", arg);
		md_json_set(ep, port, md_json_new(MD_J_OBJ));
		free(port);
	} else {
		return md_err("change \"%s\": unsupported instruction %s (supported: CMD ENTRYPOINT ENV EXPOSE LABEL "
		              "STOPSIGNAL USER VOLUME WORKDIR)", chg, ins);
	}
	return 0;
}

/* Import a root filesystem tarball as a one-layer image; id gets its ID. */
static int md_import_fd(int fd, const char *tag, const char *message, const struct md_strv *changes,
                        char id[MD_DIGEST_LEN + 1])
{
	struct md_load L;
	memset(&L, 0, sizeof L);
	if (md_sess_begin(&L.sess) < 0)
		return -1;
	int r = -1;
	L.m = md_alloc(sizeof *L.m);
	L.nm = 1;
	struct md_member *m = &L.m[0];
	m->name = md_strdup("rootfs");
	m->ldir = md_sess_path(&L.sess, "L");
	r = md_layer_unpack(md_src_fd(fd), m->ldir, &m->li);
	if (r < 0)
		goto out;
	r = -1;
	char now[64];
	md_time_now(now, sizeof now);
	struct md_json *cfg = md_json_new(MD_J_OBJ);
	md_json_sets(cfg, "architecture", md_host_arch());
	struct md_json *c = md_json_set(cfg, "config", md_json_new(MD_J_OBJ));
	for (size_t i = 0; changes && i < changes->n; i++)
		if (md_import_change(c, changes->v[i]) < 0) {
			md_json_free(cfg);
			goto out;
		}
	md_json_sets(cfg, "created", now);
	struct md_json *h = md_json_set(cfg, "history", md_json_new(MD_J_ARR));
	struct md_json *h0 = md_json_push(h, md_json_new(MD_J_OBJ));
	md_json_sets(h0, "created", now);
	md_json_sets(h0, "created_by", "minidock import");
	if (message && *message)
		md_json_sets(h0, "comment", message);
	md_json_sets(cfg, "os", "linux");
	struct md_json *rootfs = md_json_set(cfg, "rootfs", md_json_new(MD_J_OBJ));
	md_json_sets(rootfs, "type", "layers");
	md_json_push(md_json_set(rootfs, "diff_ids", md_json_new(MD_J_ARR)), md_json_newstr(m->li.diff_id));
	struct md_loadimg *img = md_load_newimg(&L);
	img->cfgdata = md_json_dump(cfg, 0);
	img->cfg = cfg;
	md_sha256_buf(img->cfgdata, strlen(img->cfgdata), img->id);
	img->layers = md_alloc(sizeof *img->layers);
	img->layers[0] = m;
	img->nlayers = 1;
	if (tag && md_load_add_tag(img, tag) < 0)
		goto out;
	if (md_load_commit(&L, 0) < 0)
		goto out;
	snprintf(id, MD_DIGEST_LEN + 1, "%s", img->id);
	r = 0;
out:
	md_load_free(&L);
	return r;
}

/* ---- save ---- */

struct md_saver {
	struct archive *aw;
	struct md_strv written;
};

static int md_save_entry(struct md_saver *S, const char *name, const void *data, size_t len)
{
	if (md_strv_has(&S->written, name))
		return 0;
	md_strv_push(&S->written, name);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, data || len ? AE_IFREG : AE_IFDIR);
	archive_entry_set_perm(e, data || len ? 0644 : 0755);
	archive_entry_set_size(e, (la_int64_t)len);
	int r = archive_write_header(S->aw, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return md_err("write archive: %s", archive_error_string(S->aw));
	if (len && data && archive_write_data(S->aw, data, len) != (la_ssize_t)len)
		return md_err("write archive: %s", archive_error_string(S->aw));
	return 0;
}

static int md_save_layer(struct md_saver *S, struct md_json *idx, const char *chain, struct md_json **desc)
{
	struct md_json *l = md_json_get(md_json_get(idx, "layers"), chain);
	const char *diff = md_json_gets(l, "diff");
	long long tsz = md_json_geti(l, "tar_size", -1);
	if (!diff || tsz < 0)
		return md_err("layer %s is missing from the store index (try: minidock system check)", chain);
	*desc = md_json_new(MD_J_OBJ);
	md_json_sets(*desc, "mediaType", "application/vnd.oci.image.layer.v1.tar");
	md_json_sets(*desc, "digest", diff);
	md_json_seti(*desc, "size", tsz);
	char name[128];
	snprintf(name, sizeof name, "blobs/sha256/%s", diff + 7);
	if (md_strv_has(&S->written, name))
		return 0;
	md_strv_push(&S->written, name);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, tsz);
	int r = archive_write_header(S->aw, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return md_err("write archive: %s", archive_error_string(S->aw));
	char *ldir = md_layer_path(chain);
	char got[MD_DIGEST_LEN + 1] = "";
	uint64_t size = 0;
	r = md_layer_rebuild(ldir, -1, S->aw, got, &size);
	free(ldir);
	if (r < 0)
		return md_err_wrap("layer %s", diff);
	if (strcmp(got, diff) != 0 || size != (uint64_t)tsz)
		return md_err("layer %s is corrupt: it rebuilds to %s (try: minidock system check)", diff, got);
	return 0;
}

struct md_saveimg {
	char id[MD_DIGEST_LEN + 1];
	struct md_strv tags;
};

/* Write images as a docker-archive (with OCI layout inside, as Docker 25+) or a pure OCI layout. */
static int md_save_write(int fd, struct md_json *idx, struct md_saveimg *imgs, size_t n, int oci)
{
	struct md_saver S = {0};
	S.aw = archive_write_new();
	archive_write_set_format_pax_restricted(S.aw);
	archive_write_set_bytes_in_last_block(S.aw, 1);
	int r = -1;
	struct md_json *index = md_json_new(MD_J_OBJ), *mlist = md_json_new(MD_J_ARR);
	md_json_seti(index, "schemaVersion", 2);
	md_json_sets(index, "mediaType", "application/vnd.oci.image.index.v1+json");
	struct md_json *manifests = md_json_set(index, "manifests", md_json_new(MD_J_ARR));
	if (archive_write_open_fd(S.aw, fd) != ARCHIVE_OK) {
		md_err("write archive: %s", archive_error_string(S.aw));
		goto out;
	}
	if (md_save_entry(&S, "blobs/", NULL, 0) < 0 || md_save_entry(&S, "blobs/sha256/", NULL, 0) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct md_saveimg *im = &imgs[i];
		char *cp = md_blob_path(im->id);
		size_t clen;
		char *cfg = md_read_file(cp, MD_JSON_MAX_DOC, &clen);
		free(cp);
		char name[128];
		snprintf(name, sizeof name, "blobs/sha256/%s", im->id + 7);
		if (!cfg || md_save_entry(&S, name, cfg, clen) < 0) {
			free(cfg);
			goto out;
		}
		free(cfg);
		struct md_json *man = md_json_new(MD_J_OBJ);
		md_json_seti(man, "schemaVersion", 2);
		md_json_sets(man, "mediaType", "application/vnd.oci.image.manifest.v1+json");
		struct md_json *cd = md_json_set(man, "config", md_json_new(MD_J_OBJ));
		md_json_sets(cd, "mediaType", "application/vnd.oci.image.config.v1+json");
		md_json_sets(cd, "digest", im->id);
		md_json_seti(cd, "size", (long long)clen);
		struct md_json *ls = md_json_set(man, "layers", md_json_new(MD_J_ARR));
		struct md_json *me = md_json_new(MD_J_OBJ);
		md_json_sets(me, "Config", name);
		struct md_json *rt = md_json_set(me, "RepoTags", im->tags.n ? md_json_new(MD_J_ARR) : md_json_new(MD_J_NULL));
		for (size_t t = 0; t < im->tags.n; t++)
			md_json_push(rt, md_json_newstr(im->tags.v[t]));
		struct md_json *mel = md_json_set(me, "Layers", md_json_new(MD_J_ARR));
		md_json_push(mlist, me);
		struct md_json *chains = md_image_layers(idx, im->id);
		for (struct md_json *c = chains ? chains->child : NULL; c; c = c->next) {
			struct md_json *desc = NULL;
			if (md_save_layer(&S, idx, md_json_str(c), &desc) < 0) {
				md_json_free(man);
				goto out;
			}
			char *lp = md_asprintf("blobs/sha256/%s", md_json_gets(desc, "digest") + 7);
			md_json_push(mel, md_json_newstr(lp));
			free(lp);
			md_json_push(ls, desc);
		}
		char *ms = md_json_dump(man, 0);
		md_json_free(man);
		char md[MD_DIGEST_LEN + 1];
		md_sha256_buf(ms, strlen(ms), md);
		snprintf(name, sizeof name, "blobs/sha256/%s", md + 7);
		int wr = md_save_entry(&S, name, ms, strlen(ms));
		size_t mlen = strlen(ms);
		free(ms);
		if (wr < 0)
			goto out;
		for (size_t t = 0; t < (im->tags.n ? im->tags.n : 1); t++) {
			struct md_json *d = md_json_push(manifests, md_json_new(MD_J_OBJ));
			md_json_sets(d, "mediaType", "application/vnd.oci.image.manifest.v1+json");
			md_json_sets(d, "digest", md);
			md_json_seti(d, "size", (long long)mlen);
			if (!im->tags.n)
				continue;
			struct md_ref ref;
			char full[900];
			md_ref_parse(im->tags.v[t], &ref);
			md_ref_full(&ref, full, sizeof full);
			struct md_json *an = md_json_set(d, "annotations", md_json_new(MD_J_OBJ));
			md_json_sets(an, "io.containerd.image.name", full);
			md_json_sets(an, "org.opencontainers.image.ref.name", oci ? im->tags.v[t] : ref.tag);
		}
	}
	char *s = md_json_dump(index, 0);
	r = md_save_entry(&S, "index.json", s, strlen(s));
	free(s);
	if (r == 0 && !oci) {
		s = md_json_dump(mlist, 0);
		r = md_save_entry(&S, "manifest.json", s, strlen(s));
		free(s);
	}
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (r == 0)
		r = md_save_entry(&S, "oci-layout", layout, strlen(layout));
	if (r == 0 && archive_write_close(S.aw) != ARCHIVE_OK)
		r = md_err("write archive: %s", archive_error_string(S.aw));
out:
	archive_write_free(S.aw);
	md_strv_free(&S.written);
	md_json_free(index);
	md_json_free(mlist);
	return r;
}

/**** 12 option parsing *****************************************************/
/*
 * Docker's flag syntax: -a -q or -aq, -o FILE or -oFILE, --format X or
 * --format=X, --rm=false, "--" ends options.  Flags may follow positional
 * arguments, except for commands that run a command line (run, exec),
 * where the first positional argument ends option parsing.
 */

struct md_optdef {
	const char *lng;
	char shrt;
	const char *arg;   /* NULL: a boolean flag; else the value's name */
	const char *help;
};

struct md_cmd;

struct md_args {
	const struct md_cmd *cmd;
	const struct md_optdef *defs;
	size_t ndefs;
	struct md_strv *vals; /* per definition, every value given */
	struct md_strv pos;
};

static int md_args_find(const struct md_args *a, const char *lng)
{
	for (size_t i = 0; i < a->ndefs; i++)
		if (strcmp(a->defs[i].lng, lng) == 0)
			return (int)i;
	return -1;
}

/* The last value given for --lng, or NULL. */
static const char *md_opt(const struct md_args *a, const char *lng)
{
	int i = md_args_find(a, lng);
	return i >= 0 && a->vals[i].n ? a->vals[i].v[a->vals[i].n - 1] : NULL;
}

static int md_flag(const struct md_args *a, const char *lng)
{
	const char *v = md_opt(a, lng);
	return v && strcmp(v, "false") != 0;
}

static const struct md_strv *md_optv(const struct md_args *a, const char *lng)
{
	static const struct md_strv empty;
	int i = md_args_find(a, lng);
	return i >= 0 ? &a->vals[i] : &empty;
}

static int md_args_parse(struct md_args *a, const struct md_optdef *defs, int argc, char **argv, int stop_at_pos)
{
	a->defs = defs;
	for (a->ndefs = 0; defs && defs[a->ndefs].lng; a->ndefs++)
		;
	a->vals = md_alloc((a->ndefs + 1) * sizeof *a->vals);
	int only_pos = 0;
	for (int i = 0; i < argc; i++) {
		char *s = argv[i];
		if (only_pos || s[0] != '-' || s[1] == 0) {
			md_strv_push(&a->pos, s);
			if (stop_at_pos)
				only_pos = 1;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (s[1] == '-') {
			char *name = s + 2, *eq = strchr(name, '=');
			size_t nl = eq ? (size_t)(eq - name) : strlen(name);
			size_t k;
			for (k = 0; k < a->ndefs; k++)
				if (strlen(defs[k].lng) == nl && strncmp(defs[k].lng, name, nl) == 0)
					break;
			if (k == a->ndefs)
				return md_err("unknown flag: --%.*s", (int)nl, name);
			const char *val;
			if (defs[k].arg) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					return md_err("flag needs an argument: --%s", defs[k].lng);
			} else {
				val = eq ? eq + 1 : "true";
				if (strcmp(val, "true") && strcmp(val, "false") && strcmp(val, "1") && strcmp(val, "0"))
					return md_err("invalid argument \"%s\" for \"--%s\" flag: expected true or false", val,
					              defs[k].lng);
				if (strcmp(val, "0") == 0)
					val = "false";
			}
			md_strv_push(&a->vals[k], val);
			continue;
		}
		for (char *p = s + 1; *p; p++) {
			size_t k;
			for (k = 0; k < a->ndefs; k++)
				if (defs[k].shrt == *p)
					break;
			if (k == a->ndefs)
				return md_err("unknown shorthand flag: '%c' in %s", *p, s);
			if (!defs[k].arg) {
				md_strv_push(&a->vals[k], "true");
				continue;
			}
			const char *val;
			if (p[1])
				val = p[1] == '=' ? p + 2 : p + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return md_err("flag needs an argument: '%c' in %s", *p, s);
			md_strv_push(&a->vals[k], val);
			break;
		}
	}
	return 0;
}

static void md_args_free(struct md_args *a)
{
	for (size_t i = 0; i < a->ndefs; i++)
		md_strv_free(&a->vals[i]);
	free(a->vals);
	md_strv_free(&a->pos);
}

/* Print md_errmsg as "minidock: CMD: message" and return code. */
static int md_fail(int code)
{
	fprintf(stderr, "minidock: %s: %s\n", md_cmdname, md_errmsg);
	return code;
}

/* Print a --format template over each value; one line each. */
static int md_format_print(const char *tmpl, const struct md_json *v)
{
	struct md_sb b = {0};
	if (md_tmpl_render(tmpl, v, &b) < 0) {
		md_sb_free(&b);
		return -1;
	}
	puts(md_sb_str(&b));
	md_sb_free(&b);
	return 0;
}

/**** 13 image commands *****************************************************/

static void md_short_id(const char *id, char out[13])
{
	snprintf(out, 13, "%.12s", md_startswith(id, "sha256:") ? id + 7 : id);
}

static struct md_json *md_image_config(const char *id)
{
	struct md_json *c = md_blob_json(id);
	if (!c)
		md_err_wrap("image %.19s", id);
	return c;
}

static time_t md_image_created(const struct md_json *cfg)
{
	time_t t = 0;
	md_time_parse(md_json_gets(cfg, "created"), &t);
	return t;
}

static int md_index_or_fail(struct md_json **idx)
{
	*idx = md_index_read();
	return *idx ? 0 : -1;
}

struct md_imgrow {
	const char *id;
	char *repo, *tag, *digest;
	time_t created;
	uint64_t size;
};

static int md_imgrow_cmp(const void *a, const void *b)
{
	const struct md_imgrow *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	int c = strcmp(x->repo, y->repo);
	return c ? c : strcmp(x->tag, y->tag);
}

static void md_split_tag(const char *fam, char **repo, char **tag)
{
	const char *c = strrchr(fam, ':');
	const char *s = strrchr(fam, '/');
	if (c && (!s || c > s)) {
		*repo = md_strndup(fam, (size_t)(c - fam));
		*tag = md_strdup(c + 1);
	} else {
		*repo = md_strdup(fam);
		*tag = md_strdup("<none>");
	}
}

static void md_images_tree(struct md_json *idx);

static int md_cmd_images(struct md_args *a)
{
	struct md_json *idx;
	if (md_index_or_fail(&idx) < 0)
		return md_fail(1);
	if (md_flag(a, "tree")) {
		md_images_tree(idx);
		md_json_free(idx);
		return 0;
	}
	int quiet = md_flag(a, "quiet"), notrunc = md_flag(a, "no-trunc"), digests = md_flag(a, "digests");
	const char *fmt = md_opt(a, "format");
	const char *want = a->pos.n ? a->pos.v[0] : NULL;
	int dangling = -1;
	const char *refpat = NULL;
	const struct md_strv *filters = md_optv(a, "filter");
	for (size_t i = 0; i < filters->n; i++) {
		const char *f = filters->v[i];
		if (md_startswith(f, "dangling="))
			dangling = strcmp(f + 9, "true") == 0 || strcmp(f + 9, "1") == 0;
		else if (md_startswith(f, "reference="))
			refpat = f + 10;
		else {
			md_json_free(idx);
			md_err("invalid filter '%s' (supported: dangling=true|false, reference=PATTERN)", f);
			return md_fail(125);
		}
	}
	struct md_imgrow *rows = NULL;
	size_t nrows = 0;
	for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
		struct md_strv tags = {0};
		md_image_tags(idx, im->key, &tags);
		struct md_json *cfg = md_blob_json(im->key);
		time_t created = md_image_created(cfg);
		md_json_free(cfg);
		uint64_t size = md_image_size(idx, im->key);
		if (dangling == 1 && tags.n) {
			md_strv_free(&tags);
			continue;
		}
		if (dangling == 0 && !tags.n) {
			md_strv_free(&tags);
			continue;
		}
		for (size_t t = 0; t < (tags.n ? tags.n : 1); t++) {
			struct md_imgrow r = {im->key, NULL, NULL, NULL, created, size};
			if (tags.n) {
				md_split_tag(tags.v[t], &r.repo, &r.tag);
			} else {
				r.repo = md_strdup("<none>");
				r.tag = md_strdup("<none>");
			}
			if (want) {
				char wrepo[600], wtag[200] = "";
				struct md_ref ref;
				if (md_ref_parse(want, &ref) < 0) {
					free(r.repo);
					free(r.tag);
					continue;
				}
				md_ref_name(&ref, wrepo, sizeof wrepo);
				snprintf(wtag, sizeof wtag, "%s", ref.tag);
				if (strcmp(wrepo, r.repo) != 0 || (*wtag && strcmp(wtag, r.tag) != 0)) {
					free(r.repo);
					free(r.tag);
					continue;
				}
			}
			if (refpat) {
				char *full = md_asprintf("%s:%s", r.repo, r.tag);
				extern int fnmatch(const char *, const char *, int);
				int ok = fnmatch(refpat, full, 0) == 0 || fnmatch(refpat, r.repo, 0) == 0;
				free(full);
				if (!ok) {
					free(r.repo);
					free(r.tag);
					continue;
				}
			}
			r.digest = md_strdup("<none>");
			struct md_json *ds = md_json_get(im, "digests");
			for (struct md_json *d = ds ? ds->child : NULL; d; d = d->next) {
				const char *at = strchr(md_json_str(d) ? md_json_str(d) : "", '@');
				if (at && (size_t)(at - d->s) == strlen(r.repo) && strncmp(d->s, r.repo, strlen(r.repo)) == 0) {
					free(r.digest);
					r.digest = md_strdup(at + 1);
				}
			}
			rows = md_realloc(rows, (nrows + 1) * sizeof *rows);
			rows[nrows++] = r;
		}
		md_strv_free(&tags);
	}
	if (nrows)
		qsort(rows, nrows, sizeof *rows, md_imgrow_cmp);
	struct md_table tab = {digests ? 6 : 5, {0}};
	if (!quiet && !fmt) {
		const char *hd[] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
		const char *hdd[] = {"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"};
		md_table_add(&tab, digests ? hdd : hd);
	}
	struct md_strv seen = {0};
	int rc = 0;
	for (size_t i = 0; i < nrows; i++) {
		struct md_imgrow *r = &rows[i];
		char id[MD_DIGEST_LEN + 1], ago[64], size[32], at[64];
		if (notrunc)
			snprintf(id, sizeof id, "%s", r->id);
		else
			md_short_id(r->id, id);
		md_time_ago(ago, sizeof ago, r->created);
		md_human_size(size, sizeof size, (double)r->size);
		if (quiet) {
			if (!md_strv_has(&seen, id)) {
				md_strv_push(&seen, id);
				puts(id);
			}
		} else if (fmt) {
			struct timespec ts = {r->created, 0};
			md_time_format(at, sizeof at, &ts);
			struct md_json *o = md_json_new(MD_J_OBJ);
			md_json_sets(o, "Repository", r->repo);
			md_json_sets(o, "Tag", r->tag);
			md_json_sets(o, "ID", id);
			md_json_sets(o, "Digest", r->digest);
			md_json_sets(o, "CreatedSince", ago);
			md_json_sets(o, "CreatedAt", at);
			md_json_sets(o, "Size", size);
			if (md_format_print(fmt, o) < 0)
				rc = md_fail(125);
			md_json_free(o);
			if (rc)
				break;
		} else {
			const char *row[] = {r->repo, r->tag, id, ago, size};
			const char *rowd[] = {r->repo, r->tag, r->digest, id, ago, size};
			md_table_add(&tab, digests ? rowd : row);
		}
	}
	if (!quiet && !fmt)
		md_table_print(&tab, stdout);
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].repo);
		free(rows[i].tag);
		free(rows[i].digest);
	}
	free(rows);
	md_strv_free(&seen);
	md_strv_free(&tab.cells);
	md_json_free(idx);
	return rc;
}

/* The layer graph: each chain under its parent, with the images it tops. */
static void md_images_tree_node(struct md_json *idx, const char *chain, const char *prefix, int last, int depth)
{
	struct md_json *l = md_json_get(md_json_get(idx, "layers"), chain);
	char size[32], users[16];
	md_human_size(size, sizeof size, (double)md_json_geti(l, "size", 0));
	struct md_sb imgs = {0};
	int nusers = 0;
	for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
		struct md_json *ls = md_json_get(im, "layers");
		int uses = 0;
		for (struct md_json *c = ls ? ls->child : NULL; c; c = c->next)
			uses |= md_streq(md_json_str(c), chain);
		nusers += uses;
		if (!ls || !ls->last || !md_streq(md_json_str(ls->last), chain))
			continue;
		struct md_strv tags = {0};
		md_image_tags(idx, im->key, &tags);
		char sid[13];
		md_short_id(im->key, sid);
		if (!tags.n)
			md_sb_printf(&imgs, "%s<none> (%s)", imgs.len ? ", " : "", sid);
		for (size_t t = 0; t < tags.n; t++)
			md_sb_printf(&imgs, "%s%s", imgs.len ? ", " : "", tags.v[t]);
		md_strv_free(&tags);
	}
	snprintf(users, sizeof users, "%d", nusers);
	char label[128];
	snprintf(label, sizeof label, "%s%s%.19s", prefix, depth ? (last ? "└─ " : "├─ ") : "", chain);
	printf("%-*s  %-9s %-6s %s\n", (int)(40 + (depth ? 4 : 0)), label, size, users, md_sb_str(&imgs));
	md_sb_free(&imgs);
	char *np = md_asprintf("%s%s", prefix, depth ? (last ? "   " : "│  ") : "");
	struct md_strv kids = {0};
	for (struct md_json *c = md_json_get(idx, "layers")->child; c; c = c->next)
		if (md_streq(md_json_gets(c, "parent"), chain))
			md_strv_push(&kids, c->key);
	if (kids.n)
		qsort(kids.v, kids.n, sizeof *kids.v, md_strcmp_p);
	for (size_t i = 0; i < kids.n && depth < 200; i++)
		md_images_tree_node(idx, kids.v[i], np, i + 1 == kids.n, depth + 1);
	md_strv_free(&kids);
	free(np);
}

static void md_images_tree(struct md_json *idx)
{
	printf("%-40s  %-9s %-6s %s\n", "LAYER (CHAIN ID)", "SIZE", "USERS", "IMAGES");
	struct md_strv roots = {0};
	for (struct md_json *c = md_json_get(idx, "layers")->child; c; c = c->next)
		if (!md_json_gets(c, "parent"))
			md_strv_push(&roots, c->key);
	if (roots.n)
		qsort(roots.v, roots.n, sizeof *roots.v, md_strcmp_p);
	for (size_t i = 0; i < roots.n; i++)
		md_images_tree_node(idx, roots.v[i], "", i + 1 == roots.n, 0);
	md_strv_free(&roots);
}

/* Docker's image inspect document. */
static struct md_json *md_image_inspect_json(struct md_json *idx, const char *id)
{
	struct md_json *cfg = md_image_config(id);
	if (!cfg)
		return NULL;
	struct md_json *rec = md_json_get(md_json_get(idx, "images"), id);
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "Id", id);
	struct md_strv tags = {0};
	md_image_tags(idx, id, &tags);
	struct md_json *rt = md_json_set(o, "RepoTags", md_json_new(MD_J_ARR));
	for (size_t i = 0; i < tags.n; i++)
		md_json_push(rt, md_json_newstr(tags.v[i]));
	md_strv_free(&tags);
	md_json_set(o, "RepoDigests", md_json_clone(md_json_get(rec, "digests") ? md_json_get(rec, "digests") : &(struct md_json){.t = MD_J_ARR}));
	md_json_sets(o, "Parent", "");
	md_json_sets(o, "Comment", md_json_gets(cfg, "comment") ? md_json_gets(cfg, "comment") : "");
	md_json_sets(o, "Created", md_json_gets(cfg, "created") ? md_json_gets(cfg, "created") : "");
	md_json_sets(o, "DockerVersion", md_json_gets(cfg, "docker_version") ? md_json_gets(cfg, "docker_version") : "");
	md_json_sets(o, "Author", md_json_gets(cfg, "author") ? md_json_gets(cfg, "author") : "");
	struct md_json *c = md_json_get(cfg, "config");
	md_json_set(o, "Config", c ? md_json_clone(c) : md_json_new(MD_J_OBJ));
	md_json_sets(o, "Architecture", md_json_gets(cfg, "architecture") ? md_json_gets(cfg, "architecture") : "");
	if (md_json_gets(cfg, "variant"))
		md_json_sets(o, "Variant", md_json_gets(cfg, "variant"));
	md_json_sets(o, "Os", md_json_gets(cfg, "os") ? md_json_gets(cfg, "os") : "");
	md_json_seti(o, "Size", (long long)md_image_size(idx, id));
	struct md_json *gd = md_json_set(o, "GraphDriver", md_json_new(MD_J_OBJ));
	struct md_json *data = md_json_set(gd, "Data", md_json_new(MD_J_OBJ));
	struct md_sb lower = {0};
	struct md_json *ls = md_image_layers(idx, id);
	for (size_t i = ls ? ls->n : 0; i-- > 0;) {
		char *p = md_layer_path(md_json_str(md_json_at(ls, i)));
		md_sb_printf(&lower, "%s%s/diff", lower.len ? ":" : "", p);
		free(p);
	}
	md_json_sets(data, "LowerDir", md_sb_str(&lower));
	md_sb_free(&lower);
	md_json_sets(gd, "Name", "overlay2");
	struct md_json *rfs = md_json_set(o, "RootFS", md_json_new(MD_J_OBJ));
	md_json_sets(rfs, "Type", "layers");
	struct md_json *diffs = md_json_get(md_json_get(cfg, "rootfs"), "diff_ids");
	md_json_set(rfs, "Layers", diffs ? md_json_clone(diffs) : md_json_new(MD_J_ARR));
	struct md_json *meta = md_json_set(o, "Metadata", md_json_new(MD_J_OBJ));
	const char *tt = md_json_gets(rec, "tagged");
	md_json_sets(meta, "LastTagTime", tt ? tt : "0001-01-01T00:00:00Z");
	md_json_free(cfg);
	return o;
}

/* Print inspect results: a JSON array, or the template once per object. */
static int md_inspect_print(struct md_json *arr, const char *fmt)
{
	if (fmt) {
		for (struct md_json *c = arr->child; c; c = c->next)
			if (md_format_print(fmt, c) < 0)
				return -1;
		return 0;
	}
	char *s = md_json_dump(arr, 4);
	puts(s);
	free(s);
	return 0;
}

static int md_cmd_image_inspect(struct md_args *a)
{
	struct md_json *idx;
	if (md_index_or_fail(&idx) < 0)
		return md_fail(1);
	struct md_json *arr = md_json_new(MD_J_ARR);
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		char id[MD_DIGEST_LEN + 1];
		struct md_json *o = NULL;
		if (md_image_resolve(idx, a->pos.v[i], id) < 0 || !(o = md_image_inspect_json(idx, id))) {
			rc = md_fail(1);
			continue;
		}
		md_json_push(arr, o);
	}
	if (arr->n && md_inspect_print(arr, md_opt(a, "format")) < 0)
		rc = md_fail(1);
	else if (!arr->n && !md_opt(a, "format"))
		puts("[]");
	md_json_free(arr);
	md_json_free(idx);
	return rc;
}

static int md_cmd_inspect(struct md_args *a)
{
	const char *type = md_opt(a, "type");
	if (type && strcmp(type, "image") != 0) {
		md_err("unsupported --type \"%s\" (supported: image)", type);
		return md_fail(125);
	}
	return md_cmd_image_inspect(a);
}

static void md_ellipsis(char *s, size_t max)
{
	/* Docker's stringutils.Ellipsis: keep max-1 characters and add "…" */
	size_t n = 0, i = 0;
	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++n > max - 1)
			break;
	if (!s[i])
		return;
	size_t rest = 0;
	for (size_t k = i; s[k]; k++)
		rest += ((unsigned char)s[k] & 0xc0) != 0x80;
	if (n - 1 + rest <= max)
		return;
	strcpy(s + i, "…");
}

static int md_cmd_history(struct md_args *a)
{
	struct md_json *idx, *cfg = NULL;
	char id[MD_DIGEST_LEN + 1];
	if (md_index_or_fail(&idx) < 0 || md_image_resolve(idx, a->pos.v[0], id) < 0 || !(cfg = md_image_config(id))) {
		md_json_free(idx);
		return md_fail(1);
	}
	int notrunc = md_flag(a, "no-trunc"), quiet = md_flag(a, "quiet");
	int human = !md_opt(a, "human") || md_flag(a, "human");
	const char *fmt = md_opt(a, "format");
	struct md_json *hist = md_json_get(cfg, "history");
	struct md_json *ls = md_image_layers(idx, id);
	struct md_json *layers = md_json_get(idx, "layers");
	/* one row per history entry; sizes from the layers in order */
	size_t nh = md_json_is(hist, MD_J_ARR) ? hist->n : 0;
	size_t nrow = nh ? nh : (ls ? ls->n : 0);
	struct md_table tab = {5, {0}};
	if (!quiet && !fmt)
		md_table_add(&tab, (const char *[]){"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"});
	char **cells = md_alloc(nrow * 5 * sizeof *cells + 1);
	size_t li = 0;
	for (size_t r = 0; r < nrow; r++) {
		struct md_json *h = nh ? md_json_at(hist, r) : NULL;
		uint64_t size = 0;
		if (!nh || !md_json_is(md_json_get(h, "empty_layer"), MD_J_TRUE)) {
			const char *chain = md_json_str(md_json_at(ls, li++));
			size = (uint64_t)md_json_geti(md_json_get(layers, chain ? chain : ""), "size", 0);
		}
		char ago[64] = "", sz[32];
		time_t t = 0;
		if (md_time_parse(md_json_gets(h, "created"), &t) == 0)
			human ? md_time_ago(ago, sizeof ago, t) : (void)snprintf(ago, sizeof ago, "%s", md_json_gets(h, "created"));
		if (human)
			md_human_size(sz, sizeof sz, (double)size);
		else
			snprintf(sz, sizeof sz, "%" PRIu64, size);
		char by[4096];
		snprintf(by, sizeof by, "%s", md_json_gets(h, "created_by") ? md_json_gets(h, "created_by") : "");
		for (char *p = by; *p; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';
		if (!notrunc)
			md_ellipsis(by, 45);
		char sid[MD_DIGEST_LEN + 1];
		if (notrunc)
			snprintf(sid, sizeof sid, "%s", id);
		else
			md_short_id(id, sid);
		cells[r * 5] = md_strdup(r + 1 == nrow ? sid : "<missing>");
		cells[r * 5 + 1] = md_strdup(ago);
		cells[r * 5 + 2] = md_strdup(by);
		cells[r * 5 + 3] = md_strdup(sz);
		cells[r * 5 + 4] = md_strdup(md_json_gets(h, "comment") ? md_json_gets(h, "comment") : "");
	}
	int rc = 0;
	for (size_t r = nrow; r-- > 0;) { /* newest first */
		if (quiet)
			puts(cells[r * 5]);
		else if (fmt) {
			struct md_json *o = md_json_new(MD_J_OBJ);
			md_json_sets(o, "ID", cells[r * 5]);
			md_json_sets(o, "CreatedSince", cells[r * 5 + 1]);
			md_json_sets(o, "CreatedBy", cells[r * 5 + 2]);
			md_json_sets(o, "Size", cells[r * 5 + 3]);
			md_json_sets(o, "Comment", cells[r * 5 + 4]);
			if (!rc && md_format_print(fmt, o) < 0)
				rc = md_fail(125);
			md_json_free(o);
		} else
			md_table_add(&tab, (const char *const *)&cells[r * 5]);
	}
	if (!quiet && !fmt)
		md_table_print(&tab, stdout);
	for (size_t i = 0; i < nrow * 5; i++)
		free(cells[i]);
	free(cells);
	md_strv_free(&tab.cells);
	md_json_free(cfg);
	md_json_free(idx);
	return rc;
}

static int md_cmd_tag(struct md_args *a)
{
	char tag[800], id[MD_DIGEST_LEN + 1];
	if (md_ref_normalize_tag(a->pos.v[1], tag, sizeof tag) < 0)
		return md_fail(1);
	if (md_store_lock() < 0)
		return md_fail(1);
	struct md_json *idx = md_index_read();
	int rc = 0;
	if (!idx || md_image_resolve(idx, a->pos.v[0], id) < 0) {
		rc = md_fail(1);
	} else {
		char now[64];
		md_time_now(now, sizeof now);
		md_json_sets(md_json_get(idx, "tags"), tag, id);
		md_json_sets(md_json_get(md_json_get(idx, "images"), id), "tagged", now);
		if (md_index_write(idx) < 0)
			rc = md_fail(1);
	}
	md_json_free(idx);
	md_store_unlock();
	return rc;
}

/* Is `name` a reference to a tag (as opposed to an image ID or prefix)? */
static int md_is_tag_ref(struct md_json *idx, const char *name)
{
	char fam[800];
	struct md_ref r;
	if (md_startswith(name, "sha256:") || md_ref_parse(name, &r) < 0 || r.digest[0])
		return 0;
	md_ref_familiar(&r, fam, sizeof fam);
	return md_json_gets(md_json_get(idx, "tags"), fam) != NULL;
}

/* Remove one name; deletions are appended to gone for md_store_delete. */
static int md_rmi_one(struct md_json *idx, const char *name, int force, struct md_strv *gone, struct md_sb *out)
{
	char id[MD_DIGEST_LEN + 1], fam[800];
	if (md_image_resolve(idx, name, id) < 0)
		return -1;
	struct md_strv tags = {0};
	md_image_tags(idx, id, &tags);
	const char *user = NULL;
	int used = md_image_in_use(idx, id, &user);
	char sid[13];
	md_short_id(id, sid);
	int r = 0;
	if (md_is_tag_ref(idx, name)) {
		struct md_ref ref;
		md_ref_parse(name, &ref);
		md_ref_familiar(&ref, fam, sizeof fam);
		if (tags.n == 1 && used && !force) {
			r = md_err("conflict: unable to remove repository reference \"%s\" (must force) - container %.12s is using its referenced image %s",
			           name, user, sid);
			goto out;
		}
		md_json_del(md_json_get(idx, "tags"), fam);
		md_sb_printf(out, "Untagged: %s\n", fam);
		if (tags.n > 1 || used)
			goto out;
	} else {
		if (tags.n > 1 && !force) {
			r = md_err("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", sid);
			goto out;
		}
		if (used && !force) {
			r = md_err("conflict: unable to delete %s (must be forced) - image is being used by container %.12s", sid, user);
			goto out;
		}
		for (size_t i = 0; i < tags.n; i++) {
			md_json_del(md_json_get(idx, "tags"), tags.v[i]);
			md_sb_printf(out, "Untagged: %s\n", tags.v[i]);
		}
		if (used)
			goto out; /* kept, untagged, until its containers are gone */
	}
	size_t before = gone->n;
	md_index_drop_image(idx, id, gone);
	md_sb_printf(out, "Deleted: %s\n", id);
	for (size_t i = before; i < gone->n; i++)
		if (gone->v[i][0] != '/')
			md_sb_printf(out, "Deleted: %s\n", gone->v[i]);
out:
	md_strv_free(&tags);
	return r;
}

static int md_cmd_rmi(struct md_args *a)
{
	if (md_store_lock() < 0)
		return md_fail(1);
	struct md_json *idx = md_index_read();
	if (!idx) {
		md_store_unlock();
		return md_fail(1);
	}
	int rc = 0, changed = 0;
	struct md_strv gone = {0};
	struct md_sb out = {0};
	for (size_t i = 0; i < a->pos.n; i++) {
		if (md_rmi_one(idx, a->pos.v[i], md_flag(a, "force"), &gone, &out) < 0)
			rc = md_fail(1);
		else
			changed = 1;
	}
	if (changed && md_index_write(idx) < 0)
		rc = md_fail(1);
	else if (changed) {
		md_store_delete(&gone);
		fputs(md_sb_str(&out), stdout);
	}
	md_sb_free(&out);
	md_strv_free(&gone);
	md_json_free(idx);
	md_store_unlock();
	return rc;
}

static int md_confirm(const char *warning)
{
	fprintf(stderr, "%s\nAre you sure you want to continue? [y/N] ", warning);
	char line[32];
	if (!fgets(line, sizeof line, stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static int md_cmd_image_prune(struct md_args *a)
{
	int all = md_flag(a, "all");
	if (!md_flag(a, "force") &&
	    !md_confirm(all ? "WARNING! This will remove all images without at least one container associated to them."
	                    : "WARNING! This will remove all dangling images."))
		return 0;
	if (md_store_lock() < 0)
		return md_fail(1);
	struct md_json *idx = md_index_read();
	if (!idx) {
		md_store_unlock();
		return md_fail(1);
	}
	struct md_strv gone = {0}, ids = {0};
	struct md_sb out = {0};
	uint64_t reclaimed = 0;
	for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
		struct md_strv tags = {0};
		md_image_tags(idx, im->key, &tags);
		if ((all || !tags.n) && !md_image_in_use(idx, im->key, NULL))
			md_strv_push(&ids, im->key);
		md_strv_free(&tags);
	}
	for (size_t i = 0; i < ids.n; i++) {
		struct md_strv tags = {0};
		md_image_tags(idx, ids.v[i], &tags);
		for (size_t t = 0; t < tags.n; t++)
			md_sb_printf(&out, "untagged: %s\n", tags.v[t]);
		md_strv_free(&tags);
		size_t before = gone.n;
		struct md_json *layers = md_json_clone(md_json_get(idx, "layers"));
		md_index_drop_image(idx, ids.v[i], &gone);
		md_sb_printf(&out, "deleted: %s\n", ids.v[i]);
		for (size_t k = before; k < gone.n; k++)
			if (gone.v[k][0] != '/') {
				md_sb_printf(&out, "deleted: %s\n", gone.v[k]);
				reclaimed += (uint64_t)md_json_geti(md_json_get(layers, gone.v[k]), "size", 0);
			}
		md_json_free(layers);
	}
	int rc = 0;
	if (ids.n && md_index_write(idx) < 0)
		rc = md_fail(1);
	else {
		md_store_delete(&gone);
		char sz[32];
		md_human_size(sz, sizeof sz, (double)reclaimed);
		if (out.len)
			printf("Deleted Images:\n%s\n", md_sb_str(&out));
		printf("Total reclaimed space: %s\n", sz);
	}
	md_sb_free(&out);
	md_strv_free(&gone);
	md_strv_free(&ids);
	md_json_free(idx);
	md_store_unlock();
	return rc;
}

static int md_cmd_system_df(struct md_args *a)
{
	(void)a;
	struct md_json *idx;
	if (md_index_or_fail(&idx) < 0)
		return md_fail(1);
	size_t nimg = 0, active = 0;
	uint64_t total = 0, used = 0;
	for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
		nimg++;
		active += md_image_in_use(idx, im->key, NULL);
	}
	/* layers are shared: count each once; used if an active image has it */
	for (struct md_json *l = md_json_get(idx, "layers")->child; l; l = l->next) {
		uint64_t sz = (uint64_t)md_json_geti(l, "size", 0);
		total += sz;
		for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
			struct md_json *ls = md_json_get(im, "layers");
			int has = 0;
			for (struct md_json *c = ls ? ls->child : NULL; c; c = c->next)
				has |= md_streq(md_json_str(c), l->key);
			if (has && md_image_in_use(idx, im->key, NULL)) {
				used += sz;
				break;
			}
		}
	}
	char n1[16], n2[16], s1[32], s2[32], s3[48];
	snprintf(n1, sizeof n1, "%zu", nimg);
	snprintf(n2, sizeof n2, "%zu", active);
	md_human_size(s1, sizeof s1, (double)total);
	md_human_size(s2, sizeof s2, (double)(total - used));
	snprintf(s3, sizeof s3, "%s (%d%%)", s2, total ? (int)((total - used) * 100 / total) : 0);
	struct md_table tab = {5, {0}};
	md_table_add(&tab, (const char *[]){"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"});
	md_table_add(&tab, (const char *[]){"Images", n1, n2, s1, s3});
	md_table_add(&tab, (const char *[]){"Containers", "0", "0", "0B", "0B"});
	md_table_add(&tab, (const char *[]){"Local Volumes", "0", "0", "0B", "0B"});
	md_table_add(&tab, (const char *[]){"Build Cache", "0", "0", "0B", "0B"});
	md_table_print(&tab, stdout);
	md_json_free(idx);
	return 0;
}

/* ---- system check ---- */

struct md_check {
	int repair;
	int problems, repaired;
};

static MD_PRINTF(2, 3) void md_check_problem(struct md_check *ck, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s: ", ck->repair ? "repairing" : "problem");
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	ck->problems++;
}

/* Verify one stored layer: files present and the tar rebuilds to its DiffID. */
static int md_check_layer(struct md_json *l, const char *chain)
{
	char *dir = md_layer_path(chain);
	char got[MD_DIGEST_LEN + 1];
	uint64_t size = 0;
	int r = md_layer_rebuild(dir, -1, NULL, got, &size);
	free(dir);
	if (r < 0)
		return -1;
	if (!md_streq(got, md_json_gets(l, "diff")))
		return md_err("content rebuilds to %s, expected %s", got, md_json_gets(l, "diff"));
	if ((long long)size != md_json_geti(l, "tar_size", -1))
		return md_err("content rebuilds to %" PRIu64 " bytes, expected %lld", size, md_json_geti(l, "tar_size", -1));
	return 0;
}

/* Rebuild an index from what is on disk: config blobs whose layers all exist. */
static struct md_json *md_check_rebuild_index(void)
{
	struct md_json *idx = md_json_new(MD_J_OBJ);
	md_json_seti(idx, "version", 1);
	static const char *const secs[] = {"images", "layers", "tags", "containers"};
	for (size_t i = 0; i < MD_ARRAY_LEN(secs); i++)
		md_index_section(idx, secs[i]);
	char *bd = md_sp("blobs/sha256");
	DIR *d = opendir(bd);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!md_hex64_valid(de->d_name))
			continue;
		char dg[MD_DIGEST_LEN + 1];
		snprintf(dg, sizeof dg, "sha256:%.64s", de->d_name);
		struct md_json *cfg = md_blob_json(dg);
		struct md_json *diffs = md_json_get(md_json_get(cfg, "rootfs"), "diff_ids");
		if (md_json_is(diffs, MD_J_ARR)) {
			char parent[MD_DIGEST_LEN + 1] = "", chain[MD_DIGEST_LEN + 1];
			struct md_json *chains = md_json_new(MD_J_ARR);
			int ok = 1;
			for (struct md_json *x = diffs->child; x && ok; x = x->next) {
				if (!md_digest_valid(md_json_str(x))) {
					ok = 0;
					break;
				}
				md_chain_id(parent, x->s, chain);
				char *lp = md_layer_path(chain);
				char *mp = md_asprintf("%s/layer.json", lp);
				struct md_json *meta = md_path_exists(mp) ? md_json_parse_file(mp) : NULL;
				free(mp);
				free(lp);
				if (!meta || !md_streq(md_json_gets(meta, "diff"), x->s)) {
					ok = 0;
				} else if (!md_json_get(md_json_get(idx, "layers"), chain)) {
					md_index_add_layer(idx, chain, *parent ? parent : NULL, x->s,
					                   (uint64_t)md_json_geti(meta, "size", 0), (uint64_t)md_json_geti(meta, "tar_size", 0));
				}
				md_json_free(meta);
				md_json_push(chains, md_json_newstr(chain));
				strcpy(parent, chain);
			}
			if (ok) {
				struct md_json *rec = md_json_set(md_json_get(idx, "images"), dg, md_json_new(MD_J_OBJ));
				md_json_set(rec, "layers", chains);
			} else {
				md_json_free(chains);
			}
		}
		md_json_free(cfg);
	}
	if (d)
		closedir(d);
	free(bd);
	md_errmsg[0] = 0;
	return idx;
}

static int md_cmd_system_check(struct md_args *a)
{
	struct md_check ck = {md_flag(a, "repair"), 0, 0};
	int quick = md_flag(a, "quick");
	if (!md_path_exists(md_st.root)) {
		printf("store %s is empty\n", md_st.root);
		return 0;
	}
	if (md_store_lock() < 0)
		return md_fail(1);
	int changed = 0;
	struct md_json *idx = md_index_read();
	if (!idx) {
		md_check_problem(&ck, "%s", md_errmsg);
		if (!ck.repair)
			goto done;
		idx = md_check_rebuild_index();
		changed = 1;
	}
	struct md_json *images = md_json_get(idx, "images"), *layers = md_json_get(idx, "layers");
	struct md_json *tags = md_json_get(idx, "tags");
	struct md_strv badlayers = {0}, gone = {0};
	/* layers: present and intact, parents known */
	for (struct md_json *l = layers->child; l; l = l->next) {
		const char *parent = md_json_gets(l, "parent");
		if (!md_digest_valid(l->key) || !md_digest_valid(md_json_gets(l, "diff"))) {
			md_check_problem(&ck, "layer %.80s: malformed index entry", l->key);
			md_strv_push(&badlayers, l->key);
			continue;
		}
		if (parent && !md_json_get(layers, parent)) {
			md_check_problem(&ck, "layer %s: parent %s is missing", l->key, parent);
			md_strv_push(&badlayers, l->key);
			continue;
		}
		char *dir = md_layer_path(l->key);
		char *diff = md_asprintf("%s/diff", dir);
		int present = md_path_exists(diff);
		free(diff);
		free(dir);
		if (!present) {
			md_check_problem(&ck, "layer %s: directory is missing", l->key);
			md_strv_push(&badlayers, l->key);
		} else if (!quick && md_check_layer(l, l->key) < 0) {
			md_check_problem(&ck, "layer %s: %s", l->key, md_errmsg);
			md_strv_push(&badlayers, l->key);
		}
	}
	/* a layer whose parent is bad is bad too */
	for (int again = 1; again;) {
		again = 0;
		for (struct md_json *l = layers->child; l; l = l->next)
			if (!md_strv_has(&badlayers, l->key) && md_json_gets(l, "parent") &&
			    md_strv_has(&badlayers, md_json_gets(l, "parent"))) {
				md_strv_push(&badlayers, l->key);
				again = 1;
			}
	}
	/* images: config present and matching, layers consistent */
	struct md_strv badimages = {0};
	for (struct md_json *im = images->child; im; im = im->next) {
		char got[MD_DIGEST_LEN + 1];
		char *cp = md_digest_valid(im->key) ? md_blob_path(im->key) : NULL;
		struct md_json *ls = md_json_get(im, "layers");
		struct md_json *cfg = NULL;
		const char *why = NULL;
		if (!cp)
			why = "malformed image ID";
		else if (md_sha256_file(cp, got, NULL) < 0)
			why = "config blob is missing";
		else if (strcmp(got, im->key) != 0)
			why = "config blob is corrupt";
		else if (!(cfg = md_json_parse_file(cp)))
			why = "config blob is not valid JSON";
		free(cp);
		if (!why) {
			struct md_json *diffs = md_json_get(md_json_get(cfg, "rootfs"), "diff_ids");
			char parent[MD_DIGEST_LEN + 1] = "", chain[MD_DIGEST_LEN + 1];
			if (!md_json_is(diffs, MD_J_ARR) || !md_json_is(ls, MD_J_ARR) || diffs->n != ls->n)
				why = "layer list does not match its config";
			for (size_t i = 0; !why && i < diffs->n; i++) {
				const char *d = md_json_str(md_json_at(diffs, i));
				const char *c = md_json_str(md_json_at(ls, i));
				if (!md_digest_valid(d) || !c) {
					why = "layer list does not match its config";
					break;
				}
				md_chain_id(parent, d, chain);
				if (strcmp(chain, c) != 0)
					why = "layer list does not match its config";
				else if (!md_json_get(layers, c))
					why = "a layer is missing";
				else if (md_strv_has(&badlayers, c))
					why = "a layer is damaged";
				strcpy(parent, chain);
			}
		}
		md_json_free(cfg);
		if (why) {
			md_check_problem(&ck, "image %s: %s", im->key, why);
			md_strv_push(&badimages, im->key);
		}
	}
	for (struct md_json *t = tags->child; t; t = t->next)
		if (!md_json_get(images, md_json_str(t) ? md_json_str(t) : "")) {
			md_check_problem(&ck, "tag %s: names a missing image", t->key);
			if (ck.repair) {
				md_json_del(tags, t->key);
				changed = 1;
				t = tags->child;
				if (!t)
					break;
			}
		}
	if (ck.repair) {
		for (size_t i = 0; i < badimages.n; i++) {
			md_index_drop_image(idx, badimages.v[i], &gone);
			changed = 1;
		}
		for (size_t i = 0; i < badlayers.n; i++) {
			if (md_json_get(layers, badlayers.v[i])) {
				md_json_del(layers, badlayers.v[i]);
				md_strv_push(&gone, badlayers.v[i]);
				changed = 1;
			}
		}
	}
	/* orphans: layer dirs and blobs nothing names, unfinished work in tmp/ */
	char *ld = md_sp("layers");
	DIR *d = opendir(ld);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char key[80];
		snprintf(key, sizeof key, "sha256:%.64s", de->d_name);
		if (md_hex64_valid(de->d_name) && md_json_get(layers, key))
			continue;
		if (md_hex64_valid(de->d_name) && md_store_pinned(key))
			continue;
		md_check_problem(&ck, "layers/%s: not in the index (left by an interrupted command)", de->d_name);
		if (ck.repair && md_hex64_valid(de->d_name) && !md_strv_has(&gone, key))
			md_strv_push(&gone, key);
		else if (ck.repair) {
			char *p = md_asprintf("%s/%s", ld, de->d_name);
			md_rm_rf(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	free(ld);
	char *bd = md_sp("blobs/sha256");
	d = opendir(bd);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char key[80];
		snprintf(key, sizeof key, "sha256:%.64s", de->d_name);
		struct md_json *im = md_json_get(images, key);
		int named = im && !(ck.repair && md_strv_has(&badimages, key));
		if (named && md_hex64_valid(de->d_name))
			continue;
		md_check_problem(&ck, "blobs/sha256/%s: not used by any image", de->d_name);
		if (ck.repair) {
			char *p = md_asprintf("%s/%s", bd, de->d_name);
			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	free(bd);
	char *td = md_sp("tmp");
	d = opendir(td);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = md_asprintf("%s/%s", td, de->d_name);
		if (md_startswith(de->d_name, "s-") && md_sess_is_alive(p)) {
			printf("note: tmp/%s: a command is working right now\n", de->d_name);
		} else {
			md_check_problem(&ck, "tmp/%s: unfinished work of an interrupted command", de->d_name);
			if (ck.repair)
				md_rm_rf(p);
		}
		free(p);
	}
	if (d)
		closedir(d);
	free(td);
	d = opendir(md_st.root);
	while (d && (de = readdir(d))) {
		if (!strstr(de->d_name, ".tmp-"))
			continue;
		md_check_problem(&ck, "%s: a temporary file of an interrupted write", de->d_name);
		if (ck.repair) {
			char *p = md_sp("%s", de->d_name);
			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	if (ck.repair && changed && md_index_write(idx) < 0) {
		md_strv_free(&badlayers);
		md_strv_free(&badimages);
		md_strv_free(&gone);
		md_json_free(idx);
		md_store_unlock();
		return md_fail(1);
	}
	if (ck.repair)
		md_store_delete(&gone);
	md_strv_free(&badlayers);
	md_strv_free(&badimages);
	md_strv_free(&gone);
done:
	md_json_free(idx);
	md_store_unlock();
	if (ck.problems == 0)
		printf("store %s is consistent\n", md_st.root);
	else if (ck.repair)
		printf("repaired %d problem%s in %s\n", ck.problems, ck.problems == 1 ? "" : "s", md_st.root);
	else
		printf("%d problem%s found in %s (fix with: minidock system check --repair)\n", ck.problems,
		       ck.problems == 1 ? "" : "s", md_st.root);
	return ck.problems && !ck.repair ? 1 : 0;
}

/* ---- load, import, save, version ---- */

static int md_cmd_load(struct md_args *a)
{
	const char *in = md_opt(a, "input");
	int fd = 0;
	if (in && strcmp(in, "-") != 0) {
		fd = open(in, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			md_errno("open %s", in);
			return md_fail(1);
		}
	} else if (isatty(0)) {
		md_err("requested load from stdin, but stdin is a terminal (use -i FILE or a pipe)");
		return md_fail(1);
	}
	int r = md_load_fd(fd, 1);
	if (fd)
		close(fd);
	return r < 0 ? md_fail(1) : 0;
}

static int md_cmd_import(struct md_args *a)
{
	const char *src = a->pos.v[0];
	int fd = 0;
	if (strcmp(src, "-") != 0) {
		fd = open(src, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			md_errno("open %s", src);
			return md_fail(1);
		}
	}
	char id[MD_DIGEST_LEN + 1];
	int r = md_import_fd(fd, a->pos.n > 1 ? a->pos.v[1] : NULL, md_opt(a, "message"), md_optv(a, "change"), id);
	if (fd)
		close(fd);
	if (r < 0)
		return md_fail(1);
	puts(id);
	return 0;
}

static int md_cmd_save(struct md_args *a)
{
	const char *out = md_opt(a, "output"), *format = md_opt(a, "format");
	int oci = 0;
	if (format && strcmp(format, "oci") == 0)
		oci = 1;
	else if (format && strcmp(format, "docker") != 0) {
		md_err("unsupported --format \"%s\" (supported: docker, oci)", format);
		return md_fail(125);
	}
	if (!out && isatty(1)) {
		md_err("cowardly refusing to save to a terminal. Use the -o flag or redirect");
		return md_fail(1);
	}
	struct md_json *idx;
	if (md_index_or_fail(&idx) < 0)
		return md_fail(1);
	struct md_saveimg *imgs = md_alloc((a->pos.n + 1) * sizeof *imgs);
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < a->pos.n && !rc; i++) {
		char id[MD_DIGEST_LEN + 1];
		if (md_image_resolve(idx, a->pos.v[i], id) < 0) {
			rc = md_fail(1);
			break;
		}
		size_t k;
		for (k = 0; k < n; k++)
			if (strcmp(imgs[k].id, id) == 0)
				break;
		if (k == n)
			snprintf(imgs[n++].id, sizeof imgs[0].id, "%s", id);
		char fam[800];
		if (md_is_tag_ref(idx, a->pos.v[i]) && md_ref_normalize_tag(a->pos.v[i], fam, sizeof fam) == 0 &&
		    !md_strv_has(&imgs[k].tags, fam))
			md_strv_push(&imgs[k].tags, fam);
	}
	char *tmp = NULL;
	int fd = 1;
	if (!rc && out) {
		tmp = md_asprintf("%s.tmp-%d", out, (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			rc = (md_errno("create %s", tmp), md_fail(1));
	}
	if (!rc && md_save_write(fd, idx, imgs, n, oci) < 0)
		rc = md_fail(1);
	if (tmp && fd >= 0) {
		if (!rc && (fsync(fd) < 0 || rename(tmp, out) < 0))
			rc = (md_errno("write %s", out), md_fail(1));
		close(fd);
		if (rc)
			unlink(tmp);
	}
	free(tmp);
	for (size_t i = 0; i < n; i++)
		md_strv_free(&imgs[i].tags);
	free(imgs);
	md_json_free(idx);
	return rc;
}

static const struct { const char *name; int on; } md_features[] = {
	{"pull", MD_FEATURE_PULL}, {"tls", MD_FEATURE_TLS}, {"net", MD_FEATURE_NET},
	{"api", MD_FEATURE_API}, {"seccomp", MD_FEATURE_SECCOMP}, {"ipv6", MD_FEATURE_IPV6},
	{"zstd", MD_FEATURE_ZSTD}, {"userns", MD_FEATURE_USERNS},
};

static int md_cmd_version(struct md_args *a)
{
	(void)a;
	printf("minidock version %s\n", MD_VERSION);
	printf("features:");
	for (size_t i = 0; i < MD_ARRAY_LEN(md_features); i++)
		printf(" %c%s", md_features[i].on ? '+' : '-', md_features[i].name);
	printf("\nlibraries: libarchive %s, zlib %s", archive_version_details() ? ARCHIVE_VERSION_ONLY_STRING : "", zlibVersion());
#if MD_FEATURE_ZSTD
	printf(", zstd %s", ZSTD_versionString());
#endif
	printf(", BearSSL\nos/arch: linux/%s\n", md_host_arch());
	return 0;
}

/**** 14 command table and dispatch *****************************************/

static const struct md_optdef md_o_none[] = {{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_images[] = {
	{"all", 'a', NULL, "Show all images (intermediate images too)"},
	{"digests", 0, NULL, "Show digests"},
	{"filter", 'f', "filter", "Filter output: dangling=true|false, reference=PATTERN"},
	{"format", 0, "string", "Format output using a Go template"},
	{"no-trunc", 0, NULL, "Don't truncate output"},
	{"quiet", 'q', NULL, "Only show image IDs"},
	{"tree", 0, NULL, "Show the layer graph: which images share which layers"},
	{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_inspect[] = {
	{"format", 'f', "string", "Format output using a Go template"},
	{"size", 's', NULL, "Display total file sizes (accepted; sizes are always shown)"},
	{"type", 0, "string", "Only inspect objects of the given type (image)"},
	{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_history[] = {
	{"format", 0, "string", "Format output using a Go template"},
	{"human", 'H', NULL, "Print sizes and dates in human readable format (default true)"},
	{"no-trunc", 0, NULL, "Don't truncate output"},
	{"quiet", 'q', NULL, "Only show image IDs"},
	{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_rmi[] = {
	{"force", 'f', NULL, "Force removal of the image"},
	{"no-prune", 0, NULL, "Do not delete untagged parents (accepted for compatibility)"},
	{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_prune[] = {
	{"all", 'a', NULL, "Remove all unused images, not just dangling ones"},
	{"force", 'f', NULL, "Do not prompt for confirmation"},
	{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_load[] = {
	{"input", 'i', "file", "Read from tar archive file, instead of STDIN"},
	{"quiet", 'q', NULL, "Suppress the load output"},
	{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_import[] = {
	{"change", 'c', "list", "Apply Dockerfile instruction to the created image"},
	{"message", 'm', "string", "Set commit message for imported image"},
	{"platform", 0, "string", "Set platform (only this machine's is supported)"},
	{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_save[] = {
	{"format", 0, "string", "Archive format: docker (default; docker-archive with an OCI layout) or oci"},
	{"output", 'o', "file", "Write to a file, instead of STDOUT"},
	{NULL, 0, NULL, NULL}};
static const struct md_optdef md_o_check[] = {
	{"quick", 0, NULL, "Skip rebuilding every layer to verify its DiffID"},
	{"repair", 0, NULL, "Fix what is found, without losing any complete image"},
	{NULL, 0, NULL, NULL}};

enum { MD_CMD_STOP_AT_POS = 1, MD_CMD_HIDDEN = 2 };

struct md_cmd {
	const char *name;
	int (*fn)(struct md_args *);
	const struct md_optdef *opts;
	const char *usage;
	const char *summary;
	int minpos, maxpos; /* -1: unlimited */
	int flags;
};

/* The command table drives dispatch, argv[0] dispatch and help. */
static const struct md_cmd md_cmds[] = {
	{"images", md_cmd_images, md_o_images, "[OPTIONS] [REPOSITORY[:TAG]]", "List images", 0, 1, 0},
	{"inspect", md_cmd_inspect, md_o_inspect, "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on objects", 1, -1, 0},
	{"history", md_cmd_history, md_o_history, "[OPTIONS] IMAGE", "Show the history of an image", 1, 1, 0},
	{"tag", md_cmd_tag, md_o_none, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", 2, 2, 0},
	{"rmi", md_cmd_rmi, md_o_rmi, "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", 1, -1, 0},
	{"load", md_cmd_load, md_o_load, "[OPTIONS]", "Load images from a tar archive (docker-archive or OCI layout) or STDIN", 0, 0, 0},
	{"import", md_cmd_import, md_o_import, "[OPTIONS] FILE|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image", 1, 2, 0},
	{"save", md_cmd_save, md_o_save, "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", 1, -1, 0},
	{"version", md_cmd_version, md_o_none, "", "Show the minidock version and compiled-in features", 0, 0, 0},
	{"image ls", md_cmd_images, md_o_images, "[OPTIONS] [REPOSITORY[:TAG]]", "List images", 0, 1, 0},
	{"image inspect", md_cmd_image_inspect, md_o_inspect, "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images", 1, -1, 0},
	{"image history", md_cmd_history, md_o_history, "[OPTIONS] IMAGE", "Show the history of an image", 1, 1, 0},
	{"image tag", md_cmd_tag, md_o_none, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag", 2, 2, 0},
	{"image rm", md_cmd_rmi, md_o_rmi, "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", 1, -1, 0},
	{"image load", md_cmd_load, md_o_load, "[OPTIONS]", "Load images from a tar archive or STDIN", 0, 0, 0},
	{"image import", md_cmd_import, md_o_import, "[OPTIONS] FILE|- [REPOSITORY[:TAG]]", "Import a root filesystem tarball", 1, 2, 0},
	{"image save", md_cmd_save, md_o_save, "[OPTIONS] IMAGE [IMAGE...]", "Save images to a tar archive", 1, -1, 0},
	{"image prune", md_cmd_image_prune, md_o_prune, "[OPTIONS]", "Remove unused images", 0, 0, 0},
	{"system df", md_cmd_system_df, md_o_none, "", "Show disk usage", 0, 0, 0},
	{"system check", md_cmd_system_check, md_o_check, "[OPTIONS]", "Verify the store; --repair fixes it", 0, 0, 0},
};

/* Aliases Docker has: `docker image list`, `docker images ls`... */
static const struct { const char *alias, *name; } md_aliases[] = {
	{"image list", "image ls"}, {"image remove", "image rm"}, {"image delete", "image rm"},
};

static const struct md_cmd *md_cmd_find(const char *name)
{
	for (size_t i = 0; i < MD_ARRAY_LEN(md_aliases); i++)
		if (strcmp(name, md_aliases[i].alias) == 0)
			name = md_aliases[i].name;
	for (size_t i = 0; i < MD_ARRAY_LEN(md_cmds); i++)
		if (strcmp(md_cmds[i].name, name) == 0)
			return &md_cmds[i];
	return NULL;
}

static int md_is_group(const char *w)
{
	size_t l = strlen(w);
	for (size_t i = 0; i < MD_ARRAY_LEN(md_cmds); i++)
		if (strncmp(md_cmds[i].name, w, l) == 0 && md_cmds[i].name[l] == ' ')
			return 1;
	return 0;
}

static void md_help_main(FILE *f)
{
	fprintf(f, "Usage:  minidock [OPTIONS] COMMAND\n\n"
	           "A tiny, daemonless Docker for embedded Linux\n\n"
	           "Options:\n"
	           "      --root string       Persistent state (default \"%s\", env MINIDOCK_ROOT)\n"
	           "      --run-root string   Volatile state (default \"%s\", env MINIDOCK_RUNROOT)\n"
	           "  -h, --help              Print usage\n"
	           "  -v, --version           Print version information and quit\n\n"
	           "Commands:\n",
	        MD_DEFAULT_ROOT, MD_DEFAULT_RUNROOT);
	for (size_t i = 0; i < MD_ARRAY_LEN(md_cmds); i++)
		if (!strchr(md_cmds[i].name, ' ') && !(md_cmds[i].flags & MD_CMD_HIDDEN))
			fprintf(f, "  %-10s  %s\n", md_cmds[i].name, md_cmds[i].summary);
	fprintf(f, "\nManagement commands:\n");
	const char *groups[] = {"image", "system"};
	for (size_t g = 0; g < MD_ARRAY_LEN(groups); g++)
		fprintf(f, "  %-10s  Manage %ss\n", groups[g], groups[g]);
	fprintf(f, "\nRun 'minidock COMMAND --help' for more information on a command.\n");
}

static void md_help_group(FILE *f, const char *group)
{
	fprintf(f, "Usage:  minidock %s COMMAND\n\nCommands:\n", group);
	size_t l = strlen(group);
	for (size_t i = 0; i < MD_ARRAY_LEN(md_cmds); i++)
		if (strncmp(md_cmds[i].name, group, l) == 0 && md_cmds[i].name[l] == ' ')
			fprintf(f, "  %-10s  %s\n", md_cmds[i].name + l + 1, md_cmds[i].summary);
	fprintf(f, "\nRun 'minidock %s COMMAND --help' for more information on a command.\n", group);
}

static void md_help_cmd(FILE *f, const struct md_cmd *c)
{
	fprintf(f, "Usage:  minidock %s %s\n\n%s\n", c->name, c->usage, c->summary);
	if (c->opts && c->opts[0].lng) {
		fprintf(f, "\nOptions:\n");
		for (const struct md_optdef *o = c->opts; o->lng; o++) {
			char left[64];
			snprintf(left, sizeof left, "%s%c%s--%s %s", o->shrt ? "-" : "   ", o->shrt ? o->shrt : ' ',
			         o->shrt ? ", " : " ", o->lng, o->arg ? o->arg : "");
			fprintf(f, "  %-28s %s\n", left, o->help);
		}
	}
}

static int md_usage_error(const char *cmd)
{
	fprintf(stderr, "minidock: %s: %s (see 'minidock %s --help')\n", cmd, md_errmsg, cmd);
	return 125;
}

static int md_run_cmd(const struct md_cmd *c, int argc, char **argv)
{
	md_cmdname = c->name;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || (strcmp(argv[i], "-h") == 0 && c->fn != md_cmd_history)) {
			md_help_cmd(stdout, c);
			return 0;
		}
		if ((c->flags & MD_CMD_STOP_AT_POS) && argv[i][0] != '-')
			break;
	}
	struct md_args a = {c, NULL, 0, NULL, {0}};
	if (md_args_parse(&a, c->opts, argc, argv, c->flags & MD_CMD_STOP_AT_POS) < 0) {
		md_args_free(&a);
		return md_usage_error(c->name);
	}
	int n = (int)a.pos.n;
	if (n < c->minpos || (c->maxpos >= 0 && n > c->maxpos)) {
		if (c->minpos == c->maxpos)
			md_err("requires exactly %d argument%s", c->minpos, c->minpos == 1 ? "" : "s");
		else if (n < c->minpos)
			md_err("requires at least %d argument%s", c->minpos, c->minpos == 1 ? "" : "s");
		else
			md_err("accepts at most %d argument%s", c->maxpos, c->maxpos == 1 ? "" : "s");
		md_args_free(&a);
		return md_usage_error(c->name);
	}
	int r = c->fn(&a);
	md_args_free(&a);
	fflush(stdout);
	return r;
}

/**** 15 main ***************************************************************/

static char *md_abspath(const char *p)
{
	if (p[0] == '/')
		return md_strdup(p);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		md_die(125, "cannot find the current directory: %s", strerror(errno));
	return md_asprintf("%s/%s", cwd, p);
}

#ifdef MD_TEST /* tests/unit.c and the fuzzers include this file */
#define MD_MAIN static MD_UNUSED int md_main
#else
#define MD_MAIN int main
#endif

MD_MAIN(int argc, char **argv)
{
	const char *root = getenv("MINIDOCK_ROOT"), *runroot = getenv("MINIDOCK_RUNROOT");
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int i = 1;
	umask(022);
	/* busybox style: a link named after a command runs that command */
	if (strcmp(base, "minidock") != 0 && strcmp(base, "docker") != 0) {
		const struct md_cmd *c = md_cmd_find(base);
		if (c) {
			md_st.root = md_abspath(root && *root ? root : MD_DEFAULT_ROOT);
			md_st.runroot = md_abspath(runroot && *runroot ? runroot : MD_DEFAULT_RUNROOT);
			return md_run_cmd(c, argc - 1, argv + 1);
		}
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--root") == 0 || strcmp(o, "--run-root") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "minidock: flag needs an argument: %s\n", o);
				return 125;
			}
			if (o[2] == 'r' && o[3] == 'o')
				root = argv[++i];
			else
				runroot = argv[++i];
		} else if (md_startswith(o, "--root=")) {
			root = o + 7;
		} else if (md_startswith(o, "--run-root=")) {
			runroot = o + 11;
		} else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			md_help_main(stdout);
			return 0;
		} else if (strcmp(o, "-v") == 0 || strcmp(o, "--version") == 0) {
			printf("minidock version %s\n", MD_VERSION);
			return 0;
		} else if (strcmp(o, "-D") == 0 || strcmp(o, "--debug") == 0) {
			/* accepted for docker compatibility */
		} else {
			fprintf(stderr, "minidock: unknown flag: %s (see 'minidock --help')\n", o);
			return 125;
		}
	}
	md_st.root = md_abspath(root && *root ? root : MD_DEFAULT_ROOT);
	md_st.runroot = md_abspath(runroot && *runroot ? runroot : MD_DEFAULT_RUNROOT);
	if (i >= argc) {
		md_help_main(stdout);
		return 0;
	}
	const struct md_cmd *c = NULL;
	if (i + 1 < argc) {
		char two[128];
		snprintf(two, sizeof two, "%s %s", argv[i], argv[i + 1]);
		if ((c = md_cmd_find(two)))
			return md_run_cmd(c, argc - i - 2, argv + i + 2);
	}
	if (md_is_group(argv[i])) {
		if (i + 1 >= argc || strcmp(argv[i + 1], "--help") == 0 || strcmp(argv[i + 1], "-h") == 0) {
			md_help_group(stdout, argv[i]);
			return 0;
		}
		fprintf(stderr, "minidock: unknown command: \"%s %s\" (see 'minidock %s --help')\n", argv[i], argv[i + 1],
		        argv[i]);
		return 125;
	}
	if ((c = md_cmd_find(argv[i])))
		return md_run_cmd(c, argc - i - 1, argv + i + 1);
	fprintf(stderr, "minidock: unknown command: \"%s\" (see 'minidock --help')\n", argv[i]);
	return 125;
}
