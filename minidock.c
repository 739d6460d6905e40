/*
 * minidock - a tiny, daemonless Docker for embedded Linux.
 *
 * One static binary, built from this one file, that loads, imports, saves
 * and stores container images in a crash-safe local store and runs
 * containers from them.  MIT licensed; see LICENSE.
 *
 * Table of contents.  Each section may call only the sections above it
 * (its opening comment says which); calls never run up the file, but for
 * recursion.  The engine (19-20) is below the front ends: the CLI (21-25)
 * and the API (26) turn flags or HTTP into engine calls and the engine's
 * results and typed errors into text or JSON; neither runs the other.
 *
 *   01  configuration: the feature list (MD_FEATURES), MD_DEFAULT_* settings
 *   02  includes
 *   03  utilities: errors (kinds), memory, strings, scanning, files, the tree
 *       walker, time, tables
 *   04  json: parser, builder, writer
 *   05  sha256 and digests
 *   06  image references
 *   07  templates (the Go-template subset of --format)
 *   08  byte sources and decompression (gzip, zstd, plain)
 *   09  layers: tar entry checks, unpack, tar-split, reconstruct
 *   10  store: layout, sweep, locks, graph index, blobs, layers, images
 *   11  load, import, save
 *   12  registry client: HTTP/1.1 over BearSSL, auth, signatures (policy,
 *       sigstore) [MD_FEATURE_SIGN], pull, push [MD_FEATURE_PULL]
 *   13  seccomp [MD_FEATURE_SECCOMP]
 *   14  cgroups: v1, v2 and hybrid hierarchies, limits, devices
 *   15  containers: records, names, volumes, removing a container's files
 *   16  networking: rtnetlink, IPAM, NAT, published ports [MD_FEATURE_NET]
 *   17  runtime: rootfs, namespaces, mounts, credentials, --init
 *   18  monitor: supervision, logs, attach, restart; its clients; state
 *   19  engine: containers (create, start, stop, kill, pause, rm, attach,
 *       wait, logs, exec, inspect, list, top)
 *   20  engine: images, volumes, networks, the system
 *   21  cli: option parsing and output
 *   22  cli: image commands (and registry commands)
 *   23  cli: container commands
 *   24  cli: volume, network and system commands
 *   25  cli: command table and dispatch
 *   26  api: `minidock serve`, the Docker Engine API [MD_FEATURE_API]
 *   27  main
 *
 * Names: md_<subsystem>_<verb>, everything static.  The subsystems:
 *   err error records      sb  string builder     strv string vector
 *   json JSON              sha digests            ref  image references
 *   policy/sig/sigkey signature policies, sigstore signatures, their keys
 *   tmpl templates         decomp decompression   unpack layer unpacking
 *   tarsplit tar-split     store/index/blob/layer/sess  the store
 *   load/save/import       reg/http/tls/conn registry client
 *   seccomp/bpf filters    cg  cgroups            ctr  containers
 *   net/nl/link/ipam/fw networking               spec/child/cred runtime
 *   mon/frame monitor      exec exec              image/volume/network engine
 *   cmd/args/opt CLI       api the Engine API
 *
 * Errors: a function that fails records one error (md_errk/md_err: a kind,
 * the errno, a one-line message) and returns -1, after undoing what it
 * did; the front ends print it ("minidock: <cmd>: <message>") or answer
 * it (the kind's HTTP status) and pick the exit code.  See README.md,
 * "How the source is laid out".
 */

/**** 01 configuration and feature flags ************************************/

#define _GNU_SOURCE
#ifdef MD_BOARD_HEADER
#include MD_BOARD_HEADER
#endif

#define MD_VERSION "0.1.0"

/*
 * Features.  MD_FEATURES is the one list: X(NAME, name, summary) per
 * feature, in the order `minidock version` and `info` print them.  The
 * Makefile reads its rows (the lines starting with a tab and "X(") for the
 * names FEATURES= accepts.  Each feature is 0 or 1; its default is the
 * #ifndef right below the list, which a board header or -D overrides.
 */
#define MD_FEATURES(X) \
	X(PULL, pull, "registry client: pull, push, login") \
	X(TLS, tls, "HTTPS through BearSSL") \
	X(NET, net, "bridge networking, NAT, published ports") \
	X(API, api, "`minidock serve`: the Docker Engine API") \
	X(SECCOMP, seccomp, "default seccomp filter") \
	X(IPV6, ipv6, "IPv6 on container networks") \
	X(ZSTD, zstd, "zstd-compressed layers") \
	X(USERNS, userns, "--userns=remap") \
	X(SIGN, sign, "signed images: sigstore signatures checked under a containers-policy.json")

#ifndef MD_FEATURE_PULL
#define MD_FEATURE_PULL 1
#endif
#ifndef MD_FEATURE_TLS
#define MD_FEATURE_TLS 1
#endif
#ifndef MD_FEATURE_NET
#define MD_FEATURE_NET 1
#endif
#ifndef MD_FEATURE_API
#define MD_FEATURE_API 1
#endif
#ifndef MD_FEATURE_SECCOMP
#define MD_FEATURE_SECCOMP 1
#endif
#ifndef MD_FEATURE_IPV6
#define MD_FEATURE_IPV6 0
#endif
#ifndef MD_FEATURE_ZSTD
#define MD_FEATURE_ZSTD 1
#endif
#ifndef MD_FEATURE_USERNS
#define MD_FEATURE_USERNS 1
#endif
#ifndef MD_FEATURE_SIGN
#define MD_FEATURE_SIGN MD_FEATURE_PULL /* FEATURES=-pull takes it along */
#endif

#if MD_FEATURE_TLS && !MD_FEATURE_PULL
#error "MD_FEATURE_TLS needs MD_FEATURE_PULL (TLS is only used by the registry client)"
#endif
#if MD_FEATURE_SIGN && !MD_FEATURE_PULL
#error "MD_FEATURE_SIGN needs MD_FEATURE_PULL (signatures are checked when an image is pulled)"
#endif
#if MD_FEATURE_IPV6 && !MD_FEATURE_NET
#error "MD_FEATURE_IPV6 needs MD_FEATURE_NET"
#endif
#define MD_FEATURE_CHECK(U, n, d) _Static_assert(MD_FEATURE_##U == 0 || MD_FEATURE_##U == 1, "MD_FEATURE_" #U " must be 0 or 1");
MD_FEATURES(MD_FEATURE_CHECK)
#undef MD_FEATURE_CHECK

/* Defaults a board header may override. */
#ifndef MD_DEFAULT_ROOT
#define MD_DEFAULT_ROOT "/var/lib/minidock"
#endif
#ifndef MD_DEFAULT_RUNROOT
#define MD_DEFAULT_RUNROOT "/run/minidock"
#endif
/* The signature policy (containers-policy.json format) read when it exists;
 * MINIDOCK_POLICY names another file. */
#ifndef MD_DEFAULT_POLICY
#define MD_DEFAULT_POLICY "/etc/minidock/policy.json"
#endif
/* The registry domain Docker assumes for short names (docker's own). */
#ifndef MD_DEFAULT_DOMAIN
#define MD_DEFAULT_DOMAIN "docker.io"
#endif
/* The registry client: where logins live, the CA bundle (with TLS). */
#ifndef MD_CONFIG_DIR
#define MD_CONFIG_DIR "/etc/minidock"
#endif
#ifndef MD_DEFAULT_CA_BUNDLE
#define MD_DEFAULT_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#endif
/* Networking: the default network's bridge and subnet, the pool user
 * networks get /24s from (unless --subnet says otherwise), the firewall
 * tool ("auto", "nftables", "iptables" or "none"). */
#ifndef MD_DEFAULT_BRIDGE
#define MD_DEFAULT_BRIDGE "md0"
#endif
#ifndef MD_DEFAULT_SUBNET
#define MD_DEFAULT_SUBNET "10.87.0.0/16"
#endif
#ifndef MD_DEFAULT_POOL
#define MD_DEFAULT_POOL "10.89.0.0/16"
#endif
#ifndef MD_DEFAULT_FIREWALL
#define MD_DEFAULT_FIREWALL "auto"
#endif
/* Containers: log rotation; where logs go ("" beside the container in the
 * data root, or a directory: a board on flash puts them in the volatile
 * run root); the root when the store cannot hold an overlay upper (tmpfs,
 * copy) and that tmpfs's size; the cgroup containers go under; the user
 * whose subordinate ids --userns=remap uses. */
#ifndef MD_DEFAULT_LOG_MAX_SIZE
#define MD_DEFAULT_LOG_MAX_SIZE "1m"
#endif
#ifndef MD_DEFAULT_LOG_MAX_FILE
#define MD_DEFAULT_LOG_MAX_FILE "2"
#endif
#ifndef MD_DEFAULT_LOG_DIR
#define MD_DEFAULT_LOG_DIR ""
#endif
#ifndef MD_DEFAULT_OVERLAY_FALLBACK
#define MD_DEFAULT_OVERLAY_FALLBACK "tmpfs"
#endif
#ifndef MD_DEFAULT_TMPFS_UPPER_SIZE
#define MD_DEFAULT_TMPFS_UPPER_SIZE "64m"
#endif
#ifndef MD_DEFAULT_CGROUP_PARENT
#define MD_DEFAULT_CGROUP_PARENT "minidock"
#endif
#ifndef MD_DEFAULT_USERNS_USER
#define MD_DEFAULT_USERNS_USER "minidock"
#endif

/* Hard limits on untrusted input. */
#define MD_JSON_MAX_DEPTH 128
#define MD_JSON_MAX_DOC (16u << 20)   /* configs, manifests, index files */
#define MD_TAR_MAX_HEADER (16u << 20) /* one tar header with extensions */
#define MD_OCI_MAX_NEST 8             /* nested image indexes */
/* Layers of one image: a container's root is one overlay mount whose
 * options, one page, list every layer in 15 bytes (ROOT/l/ links) and the
 * upper and work dirs in full: 200 layers leave room for a store path of
 * ~450 bytes (Docker stops at 125). */
#define MD_IMAGE_MAX_LAYERS 200

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
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <strings.h>
#include <termios.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <archive.h>
#include <archive_entry.h>
#include <bearssl.h>
#include <zlib.h>
#if MD_FEATURE_ZSTD
#include <zstd.h>
#endif

/**** 03 utilities **********************************************************/
/* May call: sections 01-02. */

#define MD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MD_UNUSED __attribute__((unused))
#define MD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MD_NORETURN __attribute__((noreturn))

/*
 * Errors.  Code that fails records one error and returns -1.  The error has
 * a kind, which is what a caller may decide on (the API's HTTP status, a
 * retry, a cleanup), the errno where there is one, and a one-line message
 * that names what is wrong, for people.  No decision reads the message.
 * md_err() and md_errno() record an internal error; md_errk() names the
 * kind; md_err_wrap() adds context and keeps kind and errno (as crun's
 * crun_error_wrap does).
 */
enum md_errkind {
	MD_EK_INTERNAL,  /* what should have worked did not (I/O, a broken store) */
	MD_EK_INVALID,   /* the caller's input is wrong: a flag, a request, a hostile file */
	MD_EK_NOTFOUND,  /* no such container, image, network, volume, exec instance */
	MD_EK_CONFLICT,  /* the object's state forbids it: a name in use, running, in use */
	MD_EK_BUSY,      /* another operation holds what is needed; trying again may work */
	MD_EK_NOTSUP,    /* this build or this machine cannot do it */
	MD_EK_FORBIDDEN, /* the caller may not do it */
};

/* Each kind's name and the HTTP status the API answers with (Docker's
 * errdefs: invalid parameter 400, not found 404, conflict 409, not
 * implemented 501, unavailable 503, forbidden 403, system 500).  The CLI's
 * exit code does not depend on the kind: each command passes its own to
 * md_fail, 125 for run and create (and usage errors), 1 for the others, as
 * Docker's CLI does. */
static MD_UNUSED const struct {
	const char *name;
	short http;
} md_errkinds[] = {
	[MD_EK_INTERNAL] = {"internal", 500},     [MD_EK_INVALID] = {"invalid argument", 400},
	[MD_EK_NOTFOUND] = {"not found", 404},    [MD_EK_CONFLICT] = {"conflict", 409},
	[MD_EK_BUSY] = {"busy", 503},             [MD_EK_NOTSUP] = {"not supported", 501},
	[MD_EK_FORBIDDEN] = {"forbidden", 403},
};

struct md_error {
	enum md_errkind kind;
	int errnum;     /* the errno behind it, or 0 */
	char msg[1024];
};

static struct md_error md_error; /* the last error recorded */
#define md_errmsg (md_error.msg)
static char **md_main_argv;     /* for re-executing ourselves */
static const char *md_cmdname = "minidock"; /* for messages */

/* An error is one line: control characters that came in with hostile
 * input (a JSON key, a reference) are shown as '?'. */
static void md_err_oneline(char *m)
{
	for (; *m; m++)
		if ((unsigned char)*m < ' ' || *m == 0x7f)
			*m = '?';
}

/* Formatted aside first: the arguments may be the old message itself
 * ("...: %s", md_errmsg) to keep what a failed step said. */
static void md_err_vset(enum md_errkind kind, int errnum, const char *fmt, va_list ap)
{
	char msg[sizeof md_error.msg];
	vsnprintf(msg, sizeof msg, fmt, ap);
	md_err_oneline(msg);
	memcpy(md_error.msg, msg, sizeof msg);
	md_error.kind = kind;
	md_error.errnum = errnum;
}

/* Record an error of a kind; returns -1 so callers can `return md_errk(...)`. */
static MD_PRINTF(2, 3) int md_errk(enum md_errkind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	md_err_vset(kind, 0, fmt, ap);
	va_end(ap);
	return -1;
}

/* Record an internal error. */
static MD_PRINTF(1, 2) int md_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	md_err_vset(MD_EK_INTERNAL, 0, fmt, ap);
	va_end(ap);
	return -1;
}

/* As md_err(), with ": strerror(errno)" appended and errno kept. */
static MD_PRINTF(1, 2) int md_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	md_err_vset(MD_EK_INTERNAL, e, fmt, ap);
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
	md_err_oneline(md_errmsg);
	return -1;
}

/* Forget the recorded error (after a failure that was expected and handled). */
static void md_err_clear(void)
{
	md_error.kind = MD_EK_INTERNAL;
	md_error.errnum = 0;
	md_error.msg[0] = 0;
}

/*
 * What a long operation (pull, push) says while it works: a line about an
 * item (a layer's short ID) or, with id NULL, about the whole, and while
 * data moves, bytes done of total (else 0 of 0).  The engine says it; the
 * front ends show it: the CLI prints lines or redraws bars, the API sends
 * Docker's JSON progress messages.  A NULL report says nothing.
 */
struct md_report {
	void (*fn)(struct md_report *r, const char *id, const char *status, uint64_t done, uint64_t total);
};

static MD_UNUSED MD_PRINTF(5, 6) void md_reportf(struct md_report *r, const char *id, uint64_t done, uint64_t total, const char *fmt, ...)
{
	if (!r)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	r->fn(r, id, line, done, total);
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

/* " +pull +tls ... -ipv6 ...": the features built in (version, info). */
static void md_features_print(FILE *f)
{
#define MD_FEATURE_PRINT(U, n, d) fprintf(f, " %c" #n, MD_FEATURE_##U ? '+' : '-');
	MD_FEATURES(MD_FEATURE_PRINT)
#undef MD_FEATURE_PRINT
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

/* ---- scanning: words and numbers without scanf or strtod ---- */

/* The next blank-separated word at p (leading blanks, newlines too, skipped)
 * into buf, cut to n-1 bytes; returns the end of the word, NULL when there is
 * none. The md_scan_* functions chain: q = md_scan_word(q, ...), and so on. */
static const char *md_scan_word(const char *p, char *buf, size_t n)
{
	if (!p)
		return NULL;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return NULL;
	size_t k = 0;
	for (; *p && !isspace((unsigned char)*p); p++)
		if (k + 1 < n)
			buf[k++] = *p;
	if (n)
		buf[k] = 0;
	return p;
}

/* A decimal integer at p (after blanks; an optional sign), as strtoll reads it. */
static const char *md_scan_i64(const char *p, long long *v)
{
	if (!p)
		return NULL;
	while (isspace((unsigned char)*p))
		p++;
	const char *d = p + (*p == '-' || *p == '+');
	if (!isdigit((unsigned char)*d))
		return NULL;
	char *e;
	*v = strtoll(p, &e, 10);
	return e;
}

/* An unsigned number at p (after blanks) in base 10 or 16 ("0x" allowed in 16). */
static const char *md_scan_u64(const char *p, unsigned long long *v, int base)
{
	if (!p)
		return NULL;
	while (isspace((unsigned char)*p))
		p++;
	if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
		return NULL;
	char *e;
	*v = strtoull(p, &e, base);
	return e;
}

/* Exactly n decimal digits at p; NULL otherwise. */
static const char *md_scan_digits(const char *p, int n, int *v)
{
	int x = 0;
	if (!p)
		return NULL;
	for (int i = 0; i < n; i++, p++) {
		if (!isdigit((unsigned char)*p))
			return NULL;
		x = x * 10 + (*p - '0');
	}
	*v = x;
	return p;
}

/* p if it starts with the literal lit, then past it; NULL otherwise. */
static const char *md_scan_lit(const char *p, const char *lit)
{
	size_t n = strlen(lit);
	return p && strncmp(p, lit, n) == 0 ? p + n : NULL;
}

/* A decimal number: [+-]digits[.digits][e[+-]digits] or [+-].digits; no
 * leading blanks, no hex, inf or nan (strtod's extras, which no flag, JSON
 * number or /proc file here wants). *end is set past it, or to s when there
 * is no number. 19 significant digits; ERANGE in errno when it
 * overflows (the result is then HUGE_VAL). */
static double md_strtod(const char *s, char **end)
{
	const char *p = s;
	int neg = 0, digits = 0, exp10 = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	uint64_t m = 0;   /* up to 19 digits, exact; later ones only scale */
	uint64_t ip = 0, fp = 0;   /* the integer part and up to 19 fraction digits */
	int idigits = 0, fdigits = 0;
	for (; isdigit((unsigned char)*p); p++, digits++, idigits++) {
		ip = ip * 10 + (uint64_t)(*p - '0');
		if (m < 1000000000000000000ull)
			m = m * 10 + (uint64_t)(*p - '0');
		else
			exp10++;
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++, digits++) {
			if (++fdigits <= 19)
				fp = fp * 10 + (uint64_t)(*p - '0');
			if (m < 1000000000000000000ull) {
				m = m * 10 + (uint64_t)(*p - '0');
				exp10--;
			}
		}
	if (!digits) {
		if (end)
			*end = (char *)(uintptr_t)s;
		return 0;
	}
	int has_exp = 0;
	if (*p == 'e' || *p == 'E') {
		const char *q = p + 1;
		int eneg = 0, e = 0;
		if (*q == '+' || *q == '-')
			eneg = *q++ == '-';
		if (isdigit((unsigned char)*q)) {
			for (; isdigit((unsigned char)*q); q++)
				if (e < 100000)
					e = e * 10 + (*q - '0');
			exp10 += eneg ? -e : e;
			p = q;
			has_exp = 1;
		}
	}
	if (end)
		*end = (char *)(uintptr_t)p;
	if (!has_exp && idigits <= 15 && fdigits <= 19) {
		/* "SECONDS.FRACTION" without exponent: integer part plus fraction,
		 * the same sum md_time_parsef makes, so that a Unix time and the
		 * RFC 3339 time it came from compare equal */
		double f = 1;
		for (int i = 0; i < fdigits; i++)
			f *= 10;
		double r = (double)ip + (double)fp / f;
		return neg ? -r : r;
	}
	/* powers up to 1e22 are exact doubles: one rounding for the usual inputs */
	double r = (double)m;
	for (int e = exp10 < 0 ? -exp10 : exp10; m && e;) {
		double f = 1;
		int k = e > 22 ? 22 : e;
		for (int i = 0; i < k; i++)
			f *= 10;
		r = exp10 < 0 ? r / f : r * f;
		e -= k;
		if (r == 0 || r == __builtin_inf())
			break;
	}
	if (r == __builtin_inf())
		errno = ERANGE;
	return neg ? -r : r;
}

/* ---- patterns: Go's path.Match, as Docker's reference filter uses it ---- */

/* One escaped-or-plain pattern byte of a class; NULL when the class is malformed. */
static const char *md_match_esc(const char *p, unsigned char *c)
{
	if (!*p || *p == '-' || *p == ']')
		return NULL;
	if (*p == '\\' && !*++p)
		return NULL;
	*c = (unsigned char)*p++;
	return *p ? p : NULL;   /* a class must still be closed */
}

/* Match a star-free chunk at the start of *sp; advances *sp. 1 match, 0 not, -1 malformed. */
static int md_match_chunk(const char *p, size_t plen, const char **sp)
{
	const char *s = *sp, *end = p + plen;
	int failed = 0;
	while (p < end) {
		if (!failed && !*s)
			failed = 1;
		if (*p == '[') {
			unsigned char c = failed ? 0 : (unsigned char)*s;
			int neg = 0, hit = 0, n = 0;
			if (!failed)
				s++;
			if (++p < end && *p == '^')
				neg = 1, p++;
			for (;;) {
				if (p < end && *p == ']' && n > 0) {
					p++;
					break;
				}
				unsigned char lo, hi;
				if (p >= end || !(p = md_match_esc(p, &lo)))
					return -1;
				hi = lo;
				if (*p == '-' && !(p = md_match_esc(p + 1, &hi)))
					return -1;
				if (p > end)
					return -1;
				hit |= lo <= c && c <= hi;
				n++;
			}
			if (hit == neg)
				failed = 1;
			continue;
		}
		if (*p == '?') {
			if (!failed && *s++ == '/')
				failed = 1;
			p++;
			continue;
		}
		if (*p == '\\' && ++p >= end)
			return -1;
		if (!failed && *p != *s++)
			failed = 1;
		p++;
	}
	if (failed)
		return 0;
	*sp = s;
	return 1;
}

/* The next chunk of pat: leading stars skipped (*star set), then up to the next star outside [...]. */
static const char *md_match_scan(const char *pat, int *star, size_t *len)
{
	*star = 0;
	while (*pat == '*')
		pat++, *star = 1;
	int inrange = 0;
	size_t i = 0;
	for (; pat[i]; i++) {
		if (pat[i] == '\\' && pat[i + 1])
			i++;
		else if (pat[i] == '[')
			inrange = 1;
		else if (pat[i] == ']')
			inrange = 0;
		else if (pat[i] == '*' && !inrange)
			break;
	}
	*len = i;
	return pat;
}

/* Go's path.Match(pat, name): '*' any run of non-'/' bytes, '?' one non-'/'
 * byte, [^a-z] classes, '\\' escapes. 1 match, 0 no match, -1 malformed
 * pattern (md_path_match(pat, "") checks the whole pattern). Linear in
 * practice: a chunk after a star is tried at each start, first fit wins. */
static int md_path_match(const char *pat, const char *name)
{
	while (*pat) {
		int star;
		size_t len;
		const char *chunk = md_match_scan(pat, &star, &len);
		pat = chunk + len;
		if (star && !len)
			return strchr(name, '/') == NULL;
		const char *t = name;
		int r = md_match_chunk(chunk, len, &t);
		if (r < 0)
			return -1;
		if (r > 0 && (!*t || *pat)) {
			name = t;
			continue;
		}
		if (star) {
			int found = 0;
			for (size_t i = 0; name[i] && name[i] != '/'; i++) {
				t = name + i + 1;
				r = md_match_chunk(chunk, len, &t);
				if (r < 0)
					return -1;
				if (r > 0) {
					if (!*pat && *t)
						continue;
					name = t;
					found = 1;
					break;
				}
			}
			if (found)
				continue;
		}
		while (*pat) {   /* no match: the rest must still be well formed */
			chunk = md_match_scan(pat, &star, &len);
			pat = chunk + len;
			const char *e = "";
			if (md_match_chunk(chunk, len, &e) < 0)
				return -1;
		}
		return 0;
	}
	return !*name;
}

/* ---- files ---- */

/* Write all of buf; sock: fd is a socket, sent with MSG_NOSIGNAL (a peer
 * that died is EPIPE for the caller to report, not a SIGPIPE that ends the
 * process with no word). */
static int md_put_all(int fd, const void *buf, size_t n, int sock)
{
	const char *p = buf;
	while (n) {
		ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
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

static int md_write_all(int fd, const void *buf, size_t n)
{
	return md_put_all(fd, buf, n, 0);
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

/* The run root (section 10 sets it): RAM, where nothing survives a reboot,
 * so nothing written there is synced. */
static const char *md_volatile_dir;

static int md_path_volatile(const char *path)
{
	size_t n = md_volatile_dir ? strlen(md_volatile_dir) : 0;
	return n && strncmp(path, md_volatile_dir, n) == 0 && path[n] == '/';
}

/* How md_write_file_atomic_f makes the new file durable (in the run root:
 * not at all). */
enum {
	MD_WF_NOSYNC = 1,    /* not now: a later sync of the store covers it */
	MD_WF_SYNCFS = 2,    /* syncfs() before the rename: this file and all
	                        that was written before it, in one call */
	MD_WF_NODIRSYNC = 4, /* the replaced file is old or new after a crash:
	                        the directory is not synced */
};

/* Crash-safe replace: write a temp file beside path, fsync, rename, fsync
 * the directory (flags: less, where that is enough). */
static int md_write_file_atomic_f(const char *path, const void *data, size_t len, mode_t mode, int flags)
{
	char *tmp = md_asprintf("%s.tmp-%d", path, (int)getpid());
	int sync = !md_path_volatile(path) && !(flags & MD_WF_NOSYNC);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		md_errno("create %s", tmp);
		free(tmp);
		return -1;
	}
	if (md_write_all(fd, data, len) < 0 || (sync && ((flags & MD_WF_SYNCFS) ? syncfs(fd) : fsync(fd)) < 0)) {
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
	if (!sync || (flags & MD_WF_NODIRSYNC))
		return 0;
	char *dir = md_dirname(path);
	int r = md_fsync_dir(dir);
	free(dir);
	return r;
}

static int md_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return md_write_file_atomic_f(path, data, len, mode, 0);
}

static int md_mkdir_p(const char *path, mode_t mode)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
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

/*
 * Copying a tree: the one walker under every copy (a volume's copy-up and
 * the "copy" root fallback, layers flattened for stores that cannot hold
 * an overlay upper, layers copied with owners shifted for --userns=remap).
 * Files, directories, symlinks, device nodes and fifos keep modes and
 * times; hard links become separate files.
 */
struct md_copy {
	uint32_t base, count; /* owners shifted into base..base+count-1 (count 0: kept) */
	unsigned char layer;  /* the source is a layer over dfd: whiteouts and opaque
	                       * directories apply, its entries replace dfd's */
	unsigned char strict; /* an owner, mode or special-file error fails the copy */
	unsigned char xattrs; /* 0: none; 1: all but overlay's own; 2: all */
	unsigned char nodes;  /* whiteouts are copied as the device nodes they are */
};

static uint32_t md_copy_id(const struct md_copy *o, uint32_t id)
{
	/* ids beyond the range show as nobody in the container */
	if (!o->count)
		return id;
	return id < o->count ? o->base + id : (o->count > 65534 ? o->base + 65534 : o->base + o->count - 1);
}

static void md_copy_xattrs(int from, int to, int which)
{
	char names[4096];
	ssize_t nn = which ? flistxattr(from, names, sizeof names) : -1;
	for (ssize_t i = 0; i < nn; i += (ssize_t)strlen(names + i) + 1) {
		char val[4096];
		ssize_t vl = fgetxattr(from, names + i, val, sizeof val);
		if (vl >= 0 && (which == 2 || !md_startswith(names + i, "trusted.overlay.")))
			fsetxattr(to, names + i, val, (size_t)vl, 0);
	}
}

/* Owner, mode, xattrs and times of the copy fd (made from st and sfd). */
static int md_copy_meta(const struct md_copy *o, int sfd, int fd, const struct stat *st, const char *name)
{
	md_copy_xattrs(sfd, fd, o->xattrs);
	const char *bad = NULL;
	int err = 0;
	if (fchown(fd, md_copy_id(o, st->st_uid), md_copy_id(o, st->st_gid)) < 0)
		bad = "chown", err = errno;
	if (fchmod(fd, st->st_mode & 07777) < 0 && !bad)
		bad = "chmod", err = errno;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	futimens(fd, ts);
	if (!bad || !o->strict)
		return 0;
	errno = err;
	return md_errno("%s %s", bad, name);
}

static int md_copy_walk(int sfd, int dfd, const char *name, const struct md_copy *o);

static int md_copy_file(int sfd, int dfd, const char *name, const struct stat *st, const struct md_copy *o)
{
	/* the source first: one that cannot be read leaves the destination as it was */
	int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return md_errno("copy %s", name);
	int out = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	char buf[65536];
	ssize_t n = 0;
	while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (md_write_all(out, buf, (size_t)n) < 0) {
			n = -1;
			break;
		}
	int r = out < 0 || n < 0 ? md_errno("copy %s", name) : 0;
	if (out >= 0 && md_copy_meta(o, in, out, st, name) < 0)
		r = -1;
	close(in);
	if (out >= 0)
		close(out);
	return r;
}

static int md_copy_dir(int sfd, int dfd, const char *name, const struct stat *st, const struct md_copy *o)
{
	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return md_errno("mkdir %s", name);
	int s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = s2 < 0 || d2 < 0 ? md_errno("open %s", name) : md_copy_walk(s2, d2, name, o);
	if (r == 0 && md_copy_meta(o, s2, d2, st, name) < 0)
		r = -1;
	if (s2 >= 0)
		close(s2);
	if (d2 >= 0)
		close(d2);
	return r;
}

/* A symlink, device node or fifo. */
static int md_copy_special(int sfd, int dfd, const char *name, const struct stat *st, const struct md_copy *o)
{
	int made;
	if (S_ISLNK(st->st_mode)) {
		char t[PATH_MAX];
		ssize_t tl = readlinkat(sfd, name, t, sizeof t - 1);
		made = tl >= 0 && (t[tl] = 0, symlinkat(t, dfd, name) == 0);
	} else {
		made = mknodat(dfd, name, st->st_mode, st->st_rdev) == 0;
	}
	if (made && fchownat(dfd, name, md_copy_id(o, st->st_uid), md_copy_id(o, st->st_gid), AT_SYMLINK_NOFOLLOW) < 0)
		made = 0;
	return !made && o->strict ? md_errno("copy %s", name) : 0;
}

/* A directory stream over a duplicate of fd (fd stays open), or NULL. */
static DIR *md_opendir_dup(int fd)
{
	int d = dup(fd);
	DIR *dir = d >= 0 ? fdopendir(d) : NULL;
	if (!dir && d >= 0) {
		int e = errno;
		close(d);
		errno = e;
	}
	return dir;
}

/* Copy what directory sfd holds into dfd (name: the source's, for errors). */
static int md_copy_walk(int sfd, int dfd, const char *name, const struct md_copy *o)
{
	/* a dup shares the position: start from the top, whoever read it before */
	DIR *d = md_opendir_dup(sfd);
	if (!d)
		return md_errno("open directory %s", name);
	rewinddir(d);
	char v;
	if (o->layer && fgetxattr(sfd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y') {
		/* opaque: what lower layers put here goes */
		DIR *dd = md_opendir_dup(dfd);
		struct dirent *x;
		if (dd)
			rewinddir(dd);
		while (dd && (x = readdir(dd)))
			if (strcmp(x->d_name, ".") && strcmp(x->d_name, ".."))
				md_rm_rf_at(dfd, x->d_name);
		if (dd)
			closedir(dd);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		struct stat st, dt;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		int whiteout = S_ISCHR(st.st_mode) && st.st_rdev == 0;
		if (o->layer && fstatat(dfd, de->d_name, &dt, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (whiteout || !(S_ISDIR(st.st_mode) && S_ISDIR(dt.st_mode))) && md_rm_rf_at(dfd, de->d_name) < 0)
			r = -1;
		else if (whiteout && !o->nodes)
			continue; /* nothing to copy (or applied above) */
		else if (S_ISDIR(st.st_mode))
			r = md_copy_dir(sfd, dfd, de->d_name, &st, o);
		else if (S_ISREG(st.st_mode))
			r = md_copy_file(sfd, dfd, de->d_name, &st, o);
		else
			r = md_copy_special(sfd, dfd, de->d_name, &st, o);
	}
	closedir(d);
	return r;
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
	int w = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	size_t k = w < 0 ? 0 : (size_t)w < n ? (size_t)w : n ? n - 1 : 0;
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
	const char *p = s;
	if (!(p = md_scan_digits(p, 4, &tm.tm_year)) || !(p = md_scan_lit(p, "-")) ||
	    !(p = md_scan_digits(p, 2, &tm.tm_mon)) || !(p = md_scan_lit(p, "-")) ||
	    !(p = md_scan_digits(p, 2, &tm.tm_mday)) || (*p != 'T' && *p != 't') ||
	    !(p = md_scan_digits(p + 1, 2, &tm.tm_hour)) || !(p = md_scan_lit(p, ":")) ||
	    !(p = md_scan_digits(p, 2, &tm.tm_min)) || !(p = md_scan_lit(p, ":")) ||
	    !(p = md_scan_digits(p, 2, &tm.tm_sec)))
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	time_t t = timegm(&tm);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		const char *q = md_scan_digits(p + 1, 2, &hh);
		if (!(q = md_scan_lit(q, ":")) || !(q = md_scan_digits(q, 2, &mm)))
			return -1;
		t -= (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
		p = q;
	}
	if (*p)
		return -1;
	*out = t;
	return 0;
}

/* md_time_parse, keeping the fraction of a second. */
static int md_time_parsef(const char *s, double *out)
{
	time_t t;
	if (md_time_parse(s, &t) < 0)
		return -1;
	*out = (double)t;
	const char *dot = s + 19; /* md_time_parse saw "YYYY-MM-DDTHH:MM:SS" */
	if (*dot == '.' && isdigit((unsigned char)dot[1]))
		*out += md_strtod(dot, NULL); /* as md_strtod sums "SECONDS.FRACTION" */
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

static int md_parse_signal(const char *s)
{
	static const struct { const char *n; int s; } sigs[] = {
		{"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"ILL", SIGILL}, {"TRAP", SIGTRAP},
		{"ABRT", SIGABRT}, {"BUS", SIGBUS}, {"FPE", SIGFPE}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
		{"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
#ifdef SIGSTKFLT /* not on MIPS */
		{"STKFLT", SIGSTKFLT},
#endif
		{"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
		{"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
		{"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO}, {"PWR", SIGPWR},
		{"SYS", SIGSYS}};
	if (!s || !*s)
		return -1;
	if (isdigit((unsigned char)s[0])) {
		char *e;
		long v = strtol(s, &e, 10);
		return *e || v <= 0 || v >= NSIG ? -1 : (int)v;
	}
	const char *n = (strncasecmp(s, "SIG", 3) == 0) ? s + 3 : s;
	for (size_t i = 0; i < MD_ARRAY_LEN(sigs); i++)
		if (strcasecmp(sigs[i].n, n) == 0)
			return sigs[i].s;
	if (strncasecmp(n, "RTMIN", 5) == 0 || strncasecmp(n, "RTMAX", 5) == 0) {
		int base = toupper((unsigned char)n[3]) == 'I' ? SIGRTMIN : SIGRTMAX;
		int off = n[5] ? atoi(n + 5) : 0;
		int v = base + off;
		return v > 0 && v < NSIG ? v : -1;
	}
	return -1;
}

static int md_parse_int(const char *s, long long *out, const char *what)
{
	char *e;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (errno || e == s || *e)
		return md_errk(MD_EK_INVALID, "invalid value \"%s\" for %s: not an integer", s, what);
	*out = v;
	return 0;
}

/* Parse "10m", "2h", "30s" (before now), RFC 3339, or a unix timestamp. */
static int md_parse_since(const char *s, double *out)
{
	if (md_time_parsef(s, out) == 0)
		return 0;
	char *e;
	double v = md_strtod(s, &e);
	if (e == s)
		return md_errk(MD_EK_INVALID, "invalid time \"%s\"", s);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double n = (double)now.tv_sec + now.tv_nsec / 1e9;
	if (!*e) {
		*out = v; /* unix seconds */
		return 0;
	}
	double mul = !strcmp(e, "s") ? 1 : !strcmp(e, "m") ? 60 : !strcmp(e, "h") ? 3600 : !strcmp(e, "ms") ? 0.001 : -1;
	if (mul < 0)
		return md_errk(MD_EK_INVALID, "invalid time \"%s\"", s);
	*out = n - v * mul;
	return 0;
}

static uint64_t md_du(int dfd)
{
	uint64_t total = 0;
	DIR *d = md_opendir_dup(dfd);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int s = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s >= 0) {
				total += md_du(s);
				close(s);
			}
		} else if (S_ISREG(st.st_mode)) {
			total += (uint64_t)st.st_size;
		}
	}
	if (d)
		closedir(d);
	return total;
}

/* md_du of the directory at path (0 when it cannot be opened). */
static uint64_t md_du_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t total = fd >= 0 ? md_du(fd) : 0;
	if (fd >= 0)
		close(fd);
	return total;
}

static long md_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

/**** 04 json ***************************************************************/
/*
 * A small DOM parser for untrusted JSON (image configs, manifests, indexes),
 * a builder, and a writer (compact, or indented as Docker's inspect).
 * Limits: nesting depth MD_JSON_MAX_DEPTH; strings may not contain NUL.
 * Duplicate object keys are kept; lookups return the last one, as Go does.
 *
 * May call: sections 01-03.
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

static int md_json_parse_err(struct md_jparse *jp, const char *what)
{
	return md_err("invalid JSON at offset %zu: %s", (size_t)(jp->p - jp->start), what);
}

static void md_json_parse_ws(struct md_jparse *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int md_json_parse_hex4(struct md_jparse *jp, unsigned *out)
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
static char *md_json_parse_string(struct md_jparse *jp)
{
	struct md_sb b = {0};
	jp->p++;
	for (;;) {
		if (jp->p >= jp->end) {
			md_json_parse_err(jp, "unterminated string");
			goto fail;
		}
		unsigned char c = (unsigned char)*jp->p;
		if (c == '"') {
			jp->p++;
			break;
		}
		if (c < 0x20) {
			md_json_parse_err(jp, "control character in string");
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
			md_json_parse_err(jp, "unterminated escape");
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
			if (md_json_parse_hex4(jp, &cp) < 0) {
				md_json_parse_err(jp, "bad \\u escape");
				goto fail;
			}
			if (cp >= 0xd800 && cp < 0xdc00) {
				unsigned lo;
				if (jp->end - jp->p >= 6 && jp->p[0] == '\\' && jp->p[1] == 'u') {
					jp->p += 2;
					if (md_json_parse_hex4(jp, &lo) < 0) {
						md_json_parse_err(jp, "bad \\u escape");
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
				md_json_parse_err(jp, "NUL character in string");
				goto fail;
			}
			md_utf8_put(&b, cp);
			break;
		}
		default:
			md_json_parse_err(jp, "bad escape");
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

static int md_json_parse_number(struct md_jparse *jp, struct md_json *j)
{
	const char *s = jp->p;
	const char *p = s;
	if (p < jp->end && *p == '-')
		p++;
	if (p >= jp->end || !isdigit((unsigned char)*p))
		return md_json_parse_err(jp, "bad number");
	if (*p == '0')
		p++;
	else
		while (p < jp->end && isdigit((unsigned char)*p))
			p++;
	if (p < jp->end && *p == '.') {
		p++;
		if (p >= jp->end || !isdigit((unsigned char)*p))
			return md_json_parse_err(jp, "bad number");
		while (p < jp->end && isdigit((unsigned char)*p))
			p++;
	}
	if (p < jp->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < jp->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= jp->end || !isdigit((unsigned char)*p))
			return md_json_parse_err(jp, "bad number");
		while (p < jp->end && isdigit((unsigned char)*p))
			p++;
	}
	if (p - s > 64)
		return md_json_parse_err(jp, "number too long");
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

static struct md_json *md_json_parse_value(struct md_jparse *jp)
{
	md_json_parse_ws(jp);
	if (jp->p >= jp->end) {
		md_json_parse_err(jp, "unexpected end of input");
		return NULL;
	}
	struct md_json *j = NULL;
	char c = *jp->p;
	if (c == '{' || c == '[') {
		if (++jp->depth > MD_JSON_MAX_DEPTH) {
			md_json_parse_err(jp, "nested too deeply");
			return NULL;
		}
		int obj = c == '{';
		j = md_json_new(obj ? MD_J_OBJ : MD_J_ARR);
		jp->p++;
		md_json_parse_ws(jp);
		if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
			jp->p++;
			jp->depth--;
			return j;
		}
		for (;;) {
			char *key = NULL;
			if (obj) {
				md_json_parse_ws(jp);
				if (jp->p >= jp->end || *jp->p != '"') {
					md_json_parse_err(jp, "expected a string key");
					goto fail;
				}
				if (!(key = md_json_parse_string(jp)))
					goto fail;
				md_json_parse_ws(jp);
				if (jp->p >= jp->end || *jp->p != ':') {
					free(key);
					md_json_parse_err(jp, "expected ':'");
					goto fail;
				}
				jp->p++;
			}
			struct md_json *v = md_json_parse_value(jp);
			if (!v) {
				free(key);
				goto fail;
			}
			v->key = key;
			md_json_append(j, v);
			md_json_parse_ws(jp);
			if (jp->p < jp->end && *jp->p == ',') {
				jp->p++;
				continue;
			}
			if (jp->p < jp->end && *jp->p == (obj ? '}' : ']')) {
				jp->p++;
				break;
			}
			md_json_parse_err(jp, obj ? "expected ',' or '}'" : "expected ',' or ']'");
			goto fail;
		}
		jp->depth--;
		return j;
	}
	if (c == '"') {
		char *s = md_json_parse_string(jp);
		if (!s)
			return NULL;
		j = md_json_new(MD_J_STR);
		j->s = s;
		return j;
	}
	if (c == '-' || isdigit((unsigned char)c)) {
		j = md_json_new(MD_J_NUM);
		if (md_json_parse_number(jp, j) < 0)
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
	md_json_parse_err(jp, "unexpected character");
	return NULL;
fail:
	md_json_free(j);
	return NULL;
}

/* Parse a complete document; NULL (with md_err set) if it is not valid JSON. */
static struct md_json *md_json_parse(const char *buf, size_t len)
{
	struct md_jparse jp = {buf, buf + len, buf, 0};
	struct md_json *j = md_json_parse_value(&jp);
	if (!j)
		return NULL;
	md_json_parse_ws(&jp);
	if (jp.p != jp.end) {
		md_json_parse_err(&jp, "trailing data after the value");
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

/* Remove one child node (of an array or object) and free it. */
static MD_UNUSED void md_json_del_item(struct md_json *parent, struct md_json *item)
{
	struct md_json **pp = &parent->child, *prev = NULL;
	while (*pp && *pp != item) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = item->next;
	if (parent->last == item)
		parent->last = prev;
	parent->n--;
	md_json_free1(item);
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

static struct md_json *md_jarr_strs(const struct md_strv *v)
{
	struct md_json *a = md_json_new(MD_J_ARR);
	for (size_t i = 0; i < v->n; i++)
		md_json_push(a, md_json_newstr(v->v[i]));
	return a;
}

/**** 05 sha256 and digests *************************************************/
/*
 * Digests are "sha256:" + 64 lowercase hex digits; no other algorithm.
 * Hashing is BearSSL's, with its block function replaced by the CPU's
 * SHA-256 instructions where there are some (x86 SHA-NI, ARMv8 SHA2):
 * every byte of every layer is hashed, so this is the unpacker's hot loop.
 *
 * May call: sections 01-04.
 */

/* Process nblocks 64-byte blocks into state (BearSSL's word order). */
typedef void (*md_sha_blocks_fn)(uint32_t *state, const unsigned char *p, size_t nblocks);

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1"))) static void md_sha_blocks_shani(uint32_t *state, const unsigned char *p,
                                                                      size_t nblocks)
{
	static const uint32_t k[64] __attribute__((aligned(16))) = {
		0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
		0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
		0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
		0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
		0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
		0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
		0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
		0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	/* state words a..h -> the ABEF / CDGH layout the instructions use */
	__m128i t = _mm_loadu_si128((const __m128i *)&state[0]);  /* a b c d */
	__m128i s1 = _mm_loadu_si128((const __m128i *)&state[4]); /* e f g h */
	t = _mm_shuffle_epi32(t, 0xb1);                           /* b a d c */
	s1 = _mm_shuffle_epi32(s1, 0x1b);                         /* h g f e */
	__m128i s0 = _mm_alignr_epi8(t, s1, 8);                   /* a b e f */
	s1 = _mm_blend_epi16(s1, t, 0xf0);                        /* c d g h */
	while (nblocks--) {
		__m128i a0 = s0, c0 = s1, m[4], x;
		for (int i = 0; i < 4; i++)
			m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (int r = 0; r < 16; r++) {
			__m128i w = m[r & 3];
			x = _mm_add_epi32(w, _mm_load_si128((const __m128i *)&k[4 * r]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, x);
			x = _mm_shuffle_epi32(x, 0x0e);
			s0 = _mm_sha256rnds2_epu32(s0, s1, x);
			if (r < 12) {
				/* next schedule words: m[r] for round r+4 */
				__m128i n = _mm_sha256msg1_epu32(m[r & 3], m[(r + 1) & 3]);
				n = _mm_add_epi32(n, _mm_alignr_epi8(m[(r + 3) & 3], m[(r + 2) & 3], 4));
				m[r & 3] = _mm_sha256msg2_epu32(n, m[(r + 3) & 3]);
			}
		}
		s0 = _mm_add_epi32(s0, a0);
		s1 = _mm_add_epi32(s1, c0);
		p += 64;
	}
	/* back to a..h */
	t = _mm_shuffle_epi32(s0, 0x1b);   /* f e b a */
	s1 = _mm_shuffle_epi32(s1, 0xb1);  /* d c h g */
	s0 = _mm_blend_epi16(t, s1, 0xf0); /* d c b a */
	s1 = _mm_alignr_epi8(s1, t, 8);    /* h g f e */
	_mm_storeu_si128((__m128i *)&state[0], s0);
	_mm_storeu_si128((__m128i *)&state[4], s1);
}

static md_sha_blocks_fn md_sha_accel(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29)))
		return NULL;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9)))
		return NULL;
	return md_sha_blocks_shani;
}
#elif defined(__aarch64__) && defined(__GNUC__)
#include <arm_neon.h>
#include <sys/auxv.h>
#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1 << 6)
#endif

__attribute__((target("+crypto"))) static void md_sha_blocks_arm(uint32_t *state, const unsigned char *p,
                                                                 size_t nblocks)
{
	static const uint32_t k[64] = {
		0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
		0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
		0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
		0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
		0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
		0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
		0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
		0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
	uint32x4_t s0 = vld1q_u32(&state[0]), s1 = vld1q_u32(&state[4]);
	while (nblocks--) {
		uint32x4_t a0 = s0, b0 = s1, m[4];
		for (int i = 0; i < 4; i++)
			m[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));
		for (int r = 0; r < 16; r++) {
			uint32x4_t w = vaddq_u32(m[r & 3], vld1q_u32(&k[4 * r]));
			uint32x4_t t = s0;
			s0 = vsha256hq_u32(s0, s1, w);
			s1 = vsha256h2q_u32(s1, t, w);
			if (r < 12)
				m[r & 3] = vsha256su1q_u32(vsha256su0q_u32(m[r & 3], m[(r + 1) & 3]), m[(r + 2) & 3], m[(r + 3) & 3]);
		}
		s0 = vaddq_u32(s0, a0);
		s1 = vaddq_u32(s1, b0);
		p += 64;
	}
	vst1q_u32(&state[0], s0);
	vst1q_u32(&state[4], s1);
}

static md_sha_blocks_fn md_sha_accel(void)
{
	return (getauxval(AT_HWCAP) & HWCAP_SHA2) ? md_sha_blocks_arm : NULL;
}
#else
static md_sha_blocks_fn md_sha_accel(void)
{
	return NULL;
}
#endif

static md_sha_blocks_fn md_sha_fast;
static int md_sha_probed;

static void md_sha_init(br_sha256_context *c)
{
	if (!md_sha_probed) {
		md_sha_fast = getenv("MINIDOCK_SHA_PORTABLE") ? NULL : md_sha_accel();
		md_sha_probed = 1;
	}
	br_sha256_init(c);
}

/* br_sha256_update with the block function swapped for the CPU's. */
static void md_sha_update(br_sha256_context *c, const void *data, size_t len)
{
	if (!md_sha_fast) {
		br_sha256_update(c, data, len);
		return;
	}
	const unsigned char *p = data;
	size_t ptr = (size_t)(c->count & 63);
	c->count += len;
	if (ptr) {
		size_t k = 64 - ptr < len ? 64 - ptr : len;
		memcpy(c->buf + ptr, p, k);
		p += k;
		len -= k;
		if (ptr + k < 64)
			return;
		md_sha_fast(c->val, c->buf, 1);
	}
	if (len >= 64) {
		md_sha_fast(c->val, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	memcpy(c->buf, p, len);
}

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
	md_sha_init(&c);
	md_sha_update(&c, p, n);
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
		return md_errk(MD_EK_INVALID, "%s: missing digest", what);
	if (strncmp(d, "sha256:", 7) != 0 && strchr(d, ':'))
		return md_errk(MD_EK_INVALID, "%s: unsupported digest algorithm in \"%.80s\" (only sha256)", what, d);
	if (!md_digest_valid(d))
		return md_errk(MD_EK_INVALID, "%s: invalid digest \"%.80s\"", what, d);
	return 0;
}

static int md_sha256_fd(int fd, char out[MD_DIGEST_LEN + 1], uint64_t *sizep)
{
	br_sha256_context c;
	static unsigned char buf[65536];
	uint64_t total = 0;
	md_sha_init(&c);
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		md_sha_update(&c, buf, (size_t)r);
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

static void md_short_id(const char *id, char out[13])
{
	snprintf(out, 13, "%.12s", md_startswith(id, "sha256:") ? id + 7 : id);
}

/**** 06 image references ***************************************************/
/*
 * Docker's reference grammar:
 *   [domain[:port]/]component[/component...][:tag][@sha256:hex]
 * A first component is a domain when it has '.' or ':', is "localhost", or
 * has upper case.  Short names get MD_DEFAULT_DOMAIN and "library/".  The
 * store keeps and shows the familiar form ("busybox:latest").
 *
 * May call: sections 01-05.
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
		return md_errk(MD_EK_INVALID, "invalid reference format: empty name");
	if (strlen(in) >= sizeof buf)
		return md_errk(MD_EK_INVALID, "invalid reference format: name too long");
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
			return md_errk(MD_EK_INVALID, "invalid reference format: bad tag \"%.130s\"", colon + 1);
		strcpy(r->tag, colon + 1);
	}
	char *name = buf;
	if (!*name)
		return md_errk(MD_EK_INVALID, "invalid reference format: empty name");
	if (strlen(name) > 255)
		return md_errk(MD_EK_INVALID, "invalid reference format: repository name must not be more than 255 characters");
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
				return md_errk(MD_EK_INVALID, "invalid reference format: bad registry \"%.*s\"", (int)fl, name);
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
			return md_errk(MD_EK_INVALID, "invalid reference format: repository name (%s) must be lowercase", path);
		if (!md_ref_component_ok(p, n))
			return md_errk(MD_EK_INVALID, "invalid reference format: bad name component \"%.*s\"", (int)n, p);
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

/* Fully qualified "domain/path@digest", else "domain/path:TAG" with the
 * tag, or deftag when it has none (NULL: the name alone). */
static MD_UNUSED void md_ref_canonical(const struct md_ref *r, const char *deftag, char *out, size_t n)
{
	const char *t = r->tag[0] ? r->tag : deftag;
	snprintf(out, n, "%s/%s%s%s", r->domain, r->path, r->digest[0] ? "@" : t ? ":" : "", r->digest[0] ? r->digest : t ? t : "");
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
		return md_errk(MD_EK_INVALID, "invalid reference format: \"%s\" names a digest, not a tag", in);
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
 *
 * May call: sections 01-06.
 */

enum md_tmpl_kind { MD_T_TEXT, MD_T_EXPR, MD_T_IF, MD_T_RANGE, MD_T_WITH };

struct md_tmpl_node {
	enum md_tmpl_kind kind;
	char *text; /* literal text, or the expression */
	struct md_tmpl_node *body, *els, *next;
};

struct md_tmpl_val {
	struct md_json *j;
	int own;
};

static void md_tmpl_val_drop(struct md_tmpl_val *v)
{
	if (v->own)
		md_json_free1(v->j);
	v->j = NULL;
	v->own = 0;
}

static void md_tmpl_free(struct md_tmpl_node *n)
{
	while (n) {
		struct md_tmpl_node *next = n->next;
		free(n->text);
		md_tmpl_free(n->body);
		md_tmpl_free(n->els);
		free(n);
		n = next;
	}
}

/* Build the tree from *pp up to {{end}}/{{else}} (reported in *stop). */
static int md_tmpl_parse_list(const char **pp, const char **stop, int depth, struct md_tmpl_node **out)
{
	struct md_tmpl_node *head = NULL, **tail = &head;
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
			struct md_tmpl_node *t = md_alloc(sizeof *t);
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
		struct md_tmpl_node *t = md_alloc(sizeof *t);
		*tail = t;
		tail = &t->next;
		static const char *const kw[] = {"if ", "range ", "with "};
		static const enum md_tmpl_kind kk[] = {MD_T_IF, MD_T_RANGE, MD_T_WITH};
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

static int md_tmpl_parse(const char *src, struct md_tmpl_node **out)
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
	case MD_J_NUM: return md_strtod(j->s, NULL) != 0;
	case MD_J_STR: return j->s[0] != 0;
	default: return j->n != 0;
	}
}

struct md_tmpl_expr {
	const char *p;
	const struct md_json *dot;
	int depth;
};

static void md_tmpl_ws(struct md_tmpl_expr *x)
{
	while (isspace((unsigned char)*x->p))
		x->p++;
}

static int md_tmpl_pipeline(struct md_tmpl_expr *x, struct md_tmpl_val *out, char endc);

/* Follow ".A.B" from v (already the base value). */
static int md_tmpl_fields(struct md_tmpl_expr *x, struct md_tmpl_val *v)
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
		struct md_tmpl_val nv = {n ? md_json_clone(n) : NULL, 1};
		if (!v->own) {
			md_json_free1(nv.j);
			nv.j = n;
			nv.own = 0;
		}
		md_tmpl_val_drop(v);
		*v = nv;
	}
	return 0;
}

static int md_tmpl_operand1(struct md_tmpl_expr *x, struct md_tmpl_val *out);

/* An operand; on failure nothing is left in out. */
static int md_tmpl_operand(struct md_tmpl_expr *x, struct md_tmpl_val *out)
{
	if (md_tmpl_operand1(x, out) < 0) {
		md_tmpl_val_drop(out);
		return -1;
	}
	return 0;
}

static int md_tmpl_operand1(struct md_tmpl_expr *x, struct md_tmpl_val *out)
{
	md_tmpl_ws(x);
	out->j = NULL;
	out->own = 0;
	if (*x->p == '.') {
		out->j = (struct md_json *)x->dot;
		if (x->p[1] == '.' || !(isalnum((unsigned char)x->p[1]) || x->p[1] == '_'))
			x->p++;
		return md_tmpl_fields(x, out);
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
		if (md_tmpl_pipeline(x, out, ')') < 0)
			return -1;
		x->depth--;
		if (*x->p != ')')
			return md_err("template: missing ')'");
		x->p++;
		return md_tmpl_fields(x, out);
	}
	return md_err("template: unexpected \"%.20s\"", x->p);
}

/* Apply function name to args (the last may come from a pipe). */
static int md_tmpl_call(const char *fn, struct md_tmpl_val *args, int nargs, struct md_tmpl_val *out)
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

static int md_tmpl_command(struct md_tmpl_expr *x, struct md_tmpl_val *piped, struct md_tmpl_val *out, char endc)
{
	md_tmpl_ws(x);
	if (isalpha((unsigned char)*x->p)) {
		const char *s = x->p;
		while (isalnum((unsigned char)*x->p) || *x->p == '_')
			x->p++;
		char fn[32];
		snprintf(fn, sizeof fn, "%.*s", (int)(x->p - s), s);
		struct md_tmpl_val args[8];
		int n = 0, r = 0;
		for (;;) {
			md_tmpl_ws(x);
			if (!*x->p || *x->p == '|' || *x->p == endc)
				break;
			if (n >= 7) {
				r = md_err("template: too many arguments");
				break;
			}
			if (md_tmpl_operand(x, &args[n]) < 0) {
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
			r = md_tmpl_call(fn, args, n, out);
		for (int i = 0; i < n; i++)
			md_tmpl_val_drop(&args[i]);
		return r;
	}
	if (piped && piped->j)
		return md_err("template: cannot pipe into a value");
	return md_tmpl_operand(x, out);
}

static int md_tmpl_pipeline(struct md_tmpl_expr *x, struct md_tmpl_val *out, char endc)
{
	struct md_tmpl_val cur = {0};
	if (md_tmpl_command(x, NULL, &cur, endc) < 0) {
		md_tmpl_val_drop(&cur);
		return -1;
	}
	for (;;) {
		md_tmpl_ws(x);
		if (*x->p != '|')
			break;
		x->p++;
		struct md_tmpl_val next = {0};
		if (cur.j == NULL)
			cur.j = md_json_new(MD_J_NULL), cur.own = 1;
		int r = md_tmpl_command(x, &cur, &next, endc);
		md_tmpl_val_drop(&cur);
		if (r < 0) {
			md_tmpl_val_drop(&next);
			return -1;
		}
		cur = next;
	}
	*out = cur;
	return 0;
}

static int md_tmpl_eval(const char *src, const struct md_json *dot, struct md_tmpl_val *out)
{
	struct md_tmpl_expr x = {src, dot, 0};
	if (md_tmpl_pipeline(&x, out, 0) < 0)
		return -1;
	md_tmpl_ws(&x);
	if (*x.p) {
		md_tmpl_val_drop(out);
		return md_err("template: unexpected \"%.20s\"", x.p);
	}
	return 0;
}

static int md_tmpl_exec(const struct md_tmpl_node *n, const struct md_json *dot, struct md_sb *b)
{
	for (; n; n = n->next) {
		if (n->kind == MD_T_TEXT) {
			md_sb_puts(b, n->text);
			continue;
		}
		struct md_tmpl_val v = {0};
		if (md_tmpl_eval(n->text, dot, &v) < 0)
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
		md_tmpl_val_drop(&v);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Render template src over dot into b; Docker's --format behaviour. */
static int md_tmpl_render(const char *src, const struct md_json *dot, struct md_sb *b)
{
	struct md_tmpl_node *t;
	if (md_tmpl_parse(src, &t) < 0)
		return -1;
	int r = md_tmpl_exec(t, dot, b);
	md_tmpl_free(t);
	return r;
}

/**** 08 byte sources and decompression *************************************/
/*
 * A source is a pull-based byte stream (a file descriptor, a member of an
 * outer archive, a reconstructed layer).  md_decomp reads a source, detects
 * gzip, zstd or plain data by its magic number, and returns decompressed
 * bytes, hashing both the raw and the decompressed stream on the way so a
 * layer is downloaded, verified, decompressed and unpacked in one pass.
 *
 * May call: sections 01-07.
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

enum md_decomp_kind { MD_Z_PLAIN, MD_Z_GZIP, MD_Z_ZSTD };

#define MD_ZR_BUF 65536

struct md_decomp {
	struct md_src in;
	enum md_decomp_kind kind;
	unsigned char *ibuf;
	size_t ipos, ilen;
	int ieof;      /* the source returned EOF */
	int zdone;     /* the decompressor reached the end of the data */
	br_sha256_context hraw, hout;
	uint64_t nraw, nout;
	z_stream zs;
	int zs_init;
	int hash_raw, hash_out; /* which digests are wanted (each costs a pass) */
#if MD_FEATURE_ZSTD
	ZSTD_DStream *zd;
#endif
};

/* Refill the input buffer; returns bytes available, 0 at EOF, -1 on error. */
static ssize_t md_decomp_fill(struct md_decomp *z)
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
	if (z->hash_raw)
		md_sha_update(&z->hraw, z->ibuf, (size_t)r);
	z->nraw += (uint64_t)r;
	z->ipos = 0;
	z->ilen = (size_t)r;
	return r;
}

static const char *md_decomp_kind_name(enum md_decomp_kind k)
{
	return k == MD_Z_GZIP ? "gzip" : k == MD_Z_ZSTD ? "zstd" : "uncompressed";
}

enum { MD_ZR_HASH_RAW = 1, MD_ZR_HASH_OUT = 2 };

static int md_decomp_open(struct md_decomp *z, struct md_src in, int hashes)
{
	memset(z, 0, sizeof *z);
	z->in = in;
	z->hash_raw = (hashes & MD_ZR_HASH_RAW) != 0;
	z->hash_out = (hashes & MD_ZR_HASH_OUT) != 0;
	z->ibuf = md_alloc(MD_ZR_BUF);
	md_sha_init(&z->hraw);
	md_sha_init(&z->hout);
	/* read at least 4 bytes of magic (short reads are legal) */
	while (z->ilen < 4 && !z->ieof) {
		ssize_t r = z->in.read(z->in.ctx, z->ibuf + z->ilen, MD_ZR_BUF - z->ilen);
		if (r < 0)
			return -1;
		if (r == 0)
			z->ieof = 1;
		if (z->hash_raw)
			md_sha_update(&z->hraw, z->ibuf + z->ilen, (size_t)r);
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

static void md_decomp_close(struct md_decomp *z)
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
static ssize_t md_decomp_read(struct md_decomp *z, void *buf, size_t n)
{
	size_t out = 0;
	while (out == 0) {
		ssize_t avail = md_decomp_fill(z);
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
			return md_err("%s stream is truncated", md_decomp_kind_name(z->kind));
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
				return md_errk(MD_EK_INVALID, "gzip data is corrupt (%s)", z->zs.msg ? z->zs.msg : "inflate failed");
		}
#if MD_FEATURE_ZSTD
		else {
			ZSTD_inBuffer ib = {z->ibuf + z->ipos, (size_t)avail, 0};
			ZSTD_outBuffer ob = {buf, n, 0};
			size_t r = ZSTD_decompressStream(z->zd, &ob, &ib);
			if (ZSTD_isError(r))
				return md_errk(MD_EK_INVALID, "zstd data is corrupt (%s)", ZSTD_getErrorName(r));
			z->ipos += ib.pos;
			out = ob.pos;
			if (r == 0)
				z->zdone = 1;
		}
#endif
	}
	if (out) {
		if (z->hash_out)
			md_sha_update(&z->hout, buf, out);
		z->nout += out;
	}
	return (ssize_t)out;
}

static void md_decomp_digests(struct md_decomp *z, char raw[MD_DIGEST_LEN + 1], char out[MD_DIGEST_LEN + 1])
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
 *
 * May call: sections 01-08.
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

struct md_tarsplit_out {
	int fd;
	unsigned char buf[65536];
	size_t len;
	int err;
};

static void md_tarsplit_out_flush(struct md_tarsplit_out *w)
{
	if (w->len && !w->err && w->fd >= 0 && md_write_all(w->fd, w->buf, w->len) < 0)
		w->err = errno ? errno : EIO;
	w->len = 0;
}

static void md_tarsplit_out_put(struct md_tarsplit_out *w, const void *p, size_t n)
{
	const unsigned char *s = p;
	while (n) {
		if (w->len == sizeof w->buf)
			md_tarsplit_out_flush(w);
		size_t k = sizeof w->buf - w->len < n ? sizeof w->buf - w->len : n;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
	}
}

static void md_tarsplit_out_varint(struct md_tarsplit_out *w, uint64_t v)
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
	md_tarsplit_out_put(w, b, n);
}

/* Raw bytes, with runs of zeros (most of a tar header) stored as 'Z'. */
static void md_tarsplit_out_raw(struct md_tarsplit_out *w, const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t z = i;
		while (z < n && p[z] == 0)
			z++;
		if (z - i >= 8 || (z == n && z > i)) {
			md_tarsplit_out_put(w, "Z", 1);
			md_tarsplit_out_varint(w, z - i);
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
		md_tarsplit_out_put(w, "R", 1);
		md_tarsplit_out_varint(w, e - i);
		md_tarsplit_out_put(w, p + i, e - i);
		i = e;
	}
}

static void md_tarsplit_out_path(struct md_tarsplit_out *w, const char *tag, uint64_t size, const char *path)
{
	md_tarsplit_out_put(w, tag, 1);
	if (tag[0] == 'F')
		md_tarsplit_out_varint(w, size);
	md_tarsplit_out_varint(w, strlen(path));
	md_tarsplit_out_put(w, path, strlen(path));
}

/* ---- unpacker ---- */

struct md_unpack {
	int rootfd;           /* the layer directory (diff/) */
	int shadowfd;         /* where replaced paths go (created on demand) */
	char *shadow_path;
	unsigned nshadow;
	struct archive *a;
	struct md_decomp *z;
	struct md_tarsplit_out ts;
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
	/* plain mode (cp): no whiteouts, no tar-split, replaced entries are
	 * removed; the top entry may be renamed; owners may be forced to root */
	int plain, force_owner;
	const char *top_from, *top_to;
	/* results */
	uint64_t size;        /* bytes of file contents (Docker's layer size) */
	uint64_t nentries;
	char entry[320];      /* current entry, for messages */
};

static la_ssize_t md_unpack_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct md_unpack *u = ud;
	ssize_t n = md_decomp_read(u->z, u->rbuf, sizeof u->rbuf);
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
static void md_unpack_ts_flush(struct md_unpack *u, uint64_t upto)
{
	if (!u->plen || upto <= u->pstart)
		return;
	size_t k = upto - u->pstart < u->plen ? (size_t)(upto - u->pstart) : u->plen;
	md_tarsplit_out_raw(&u->ts, u->pend, k);
	memmove(u->pend, u->pend + k, u->plen - k);
	u->plen -= k;
	u->pstart += k;
}

/* The next `size` bytes from offset `from` are file contents: drop them. */
static void md_unpack_ts_skip(struct md_unpack *u, uint64_t from, uint64_t size)
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

static void md_unpack_cache_drop(struct md_unpack *u)
{
	if (u->cfd >= 0 && u->cfd != u->rootfd)
		close(u->cfd);
	u->cfd = -1;
	free(u->cdir);
	u->cdir = NULL;
}

static int md_unpack_fail(struct md_unpack *u, const char *fmt, ...) MD_PRINTF(2, 3);
static int md_unpack_fail(struct md_unpack *u, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	return md_errk(MD_EK_INVALID, "entry \"%.300s\": %s", u->entry, m);
}

/* As md_unpack_fail, for what the host failed to do (write, create, chown:
 * a full disk, a read-only store): an internal error with errno and
 * ": strerror(errno)" appended, so a pull keeps its partial download. */
static int md_unpack_sysfail(struct md_unpack *u, const char *fmt, ...) MD_PRINTF(2, 3);
static int md_unpack_sysfail(struct md_unpack *u, const char *fmt, ...)
{
	int e = errno;
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	errno = e;
	return md_errno("entry \"%.300s\": %s", u->entry, m);
}

/*
 * Open the directory `dir` (a clean relative path) below the layer root,
 * one component at a time without following symlinks.  With create,
 * missing directories are made (0755, as Docker does for implied parents).
 */
static int md_unpack_opendir(struct md_unpack *u, const char *dir, int create)
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
					md_unpack_fail(u, "goes through symlink \"%.*s\"", (int)(p - dir + n), dir);
				else
					md_unpack_fail(u, "\"%.*s\" is not a directory", (int)(p - dir + n), dir);
			} else if (e2 == ENOENT) {
				md_unpack_fail(u, "\"%.*s\" does not exist in the layer", (int)(p - dir + n), dir);
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
static int md_unpack_parent(struct md_unpack *u, const char *path, int create, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) : 0;
	*base = slash ? slash + 1 : path;
	if (u->cdir && strlen(u->cdir) == dl && memcmp(u->cdir, path, dl) == 0)
		return u->cfd;
	char *dir = md_strndup(path, dl);
	int fd = md_unpack_opendir(u, dir, create);
	if (fd < 0) {
		free(dir);
		return -1;
	}
	md_unpack_cache_drop(u);
	u->cdir = dir;
	u->cfd = fd;
	return fd;
}

/*
 * Make room for a new entry at dfd/name.  An existing directory stays when
 * the new entry is a directory; anything else is moved aside to shadow/
 * (its contents may be needed to rebuild the tar) and recorded with 'M'.
 */
static int md_unpack_clear(struct md_unpack *u, int dfd, const char *name, const char *path, int want_dir)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : md_errno("stat %s", path);
	if (S_ISDIR(st.st_mode) && want_dir)
		return 1;
	if (u->plain) {
		if (S_ISDIR(st.st_mode))
			md_unpack_cache_drop(u);
		return md_rm_rf_at(dfd, name) < 0 ? -1 : 0;
	}
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
	md_tarsplit_out_put(&u->ts, "M", 1);
	md_tarsplit_out_varint(&u->ts, strlen(path));
	md_tarsplit_out_put(&u->ts, path, strlen(path));
	md_tarsplit_out_varint(&u->ts, strlen(sname));
	md_tarsplit_out_put(&u->ts, sname, strlen(sname));
	if (S_ISDIR(st.st_mode))
		md_unpack_cache_drop(u); /* the cached fd may be inside what moved */
	return 0;
}

static int md_unpack_xattrs(struct md_unpack *u, struct archive_entry *e, int fd, const char *lpath)
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
			return md_unpack_sysfail(u, "cannot set xattr %s", name);
		}
	}
	return 0;
}

static int md_unpack_owner(struct md_unpack *u, int fd, int dfd, const char *name, struct archive_entry *e)
{
	uid_t uid = u->force_owner ? 0 : (uid_t)archive_entry_uid(e);
	gid_t gid = u->force_owner ? 0 : (gid_t)archive_entry_gid(e);
	int r = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && !(errno == EPERM && geteuid() != 0))
		return md_unpack_sysfail(u, "cannot set owner %u:%u", (unsigned)uid, (unsigned)gid);
	return 0;
}

static void md_unpack_times(struct archive_entry *e, struct timespec ts[2])
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

static int md_unpack_file(struct md_unpack *u, struct archive_entry *e, int dfd, const char *name,
                      const char *path)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return md_unpack_sysfail(u, "cannot create");
	uint64_t size = (uint64_t)archive_entry_size(e);
	uint64_t start = (uint64_t)archive_filter_bytes(u->a, 0);
	if (size)
		md_tarsplit_out_path(&u->ts, "F", size, path);
	md_unpack_ts_skip(u, start, size);
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
			if (md_errmsg[0]) /* the source failed: its error, with its kind */
				return md_err_wrap("entry \"%.300s\"", u->entry);
			return md_unpack_fail(u, "%s", archive_error_string(u->a) ? archive_error_string(u->a) : "read error");
		}
		if ((uint64_t)off != written) {
			close(fd);
			return md_unpack_fail(u, "sparse files are not supported");
		}
		if (md_write_all(fd, buf, n) < 0) {
			int er = errno;
			close(fd);
			errno = er;
			return md_unpack_sysfail(u, "write");
		}
		written += n;
	}
	if (written != size) {
		close(fd);
		return md_unpack_fail(u, "truncated: %" PRIu64 " of %" PRIu64 " bytes", written, size);
	}
	u->size += size;
	struct timespec ts[2];
	md_unpack_times(e, ts);
	int r = 0;
	md_err_clear();
	if (md_unpack_owner(u, fd, -1, NULL, e) < 0 || fchmod(fd, archive_entry_mode(e) & 07777) < 0 ||
	    md_unpack_xattrs(u, e, fd, NULL) < 0 || futimens(fd, ts) < 0)
		r = md_errmsg[0] ? -1 : md_errno("entry \"%.300s\"", u->entry);
	close(fd);
	return r;
}

struct md_dirtime {
	int64_t t[4];
	uint32_t len;
};

static int md_unpack_dir(struct md_unpack *u, struct archive_entry *e, int dfd, const char *name,
                     const char *path)
{
	int fd;
	if (!*path) {
		fd = dup(u->rootfd);
	} else {
		int keep = md_unpack_clear(u, dfd, name, path, 1);
		if (keep < 0)
			return -1;
		if (!keep && mkdirat(dfd, name, 0700) < 0)
			return md_unpack_sysfail(u, "mkdir");
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return md_unpack_sysfail(u, "open");
	md_err_clear();
	int r = 0;
	if (md_unpack_owner(u, fd, -1, NULL, e) < 0 || fchmod(fd, archive_entry_mode(e) & 07777) < 0 ||
	    md_unpack_xattrs(u, e, fd, NULL) < 0)
		r = md_errmsg[0] ? -1 : md_errno("entry \"%.300s\"", u->entry);
	close(fd);
	if (r < 0)
		return -1;
	/* children change a directory's mtime: set it when the layer is done */
	struct md_dirtime dt = {{0}, (uint32_t)strlen(path)};
	struct timespec ts[2];
	md_unpack_times(e, ts);
	dt.t[0] = ts[0].tv_sec, dt.t[1] = ts[0].tv_nsec, dt.t[2] = ts[1].tv_sec, dt.t[3] = ts[1].tv_nsec;
	if (u->dtfd >= 0 && (md_write_all(u->dtfd, &dt, sizeof dt) < 0 || md_write_all(u->dtfd, path, dt.len) < 0))
		return md_errno("write directory times");
	return 0;
}

static int md_unpack_apply_dirtimes(struct md_unpack *u)
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
		int fd = *path ? md_unpack_opendir(u, path, 0) : dup(u->rootfd);
		if (fd >= 0) {
			futimens(fd, ts);
			close(fd);
		}
	}
	fclose(f);
	md_err_clear();
	return 0;
}

/* cp: the entry and its hardlink target get the destination's name. */
static void md_unpack_rename_top(struct md_unpack *u, char *path, char *tpath, const char **hl)
{
	size_t fl = strlen(u->top_from);
	char *paths[2] = {path, NULL};
	if (*hl && md_tar_clean_path(*hl, tpath, PATH_MAX) == 0)
		paths[1] = tpath;
	for (int k = 0; k < 2 && paths[k]; k++)
		if (strncmp(paths[k], u->top_from, fl) == 0 && (paths[k][fl] == 0 || paths[k][fl] == '/')) {
			char rest[PATH_MAX];
			snprintf(rest, sizeof rest, "%s", paths[k] + fl);
			snprintf(paths[k], PATH_MAX, "%s%s", u->top_to, rest);
		}
	if (paths[1])
		*hl = tpath;
}

/* A whiteout entry (OCI image spec, "changesets") as overlayfs wants it. */
static int md_unpack_whiteout(struct md_unpack *u, struct archive_entry *e, int dfd, const char *path, const char *base)
{
	if (strcmp(base, ".wh..wh..opq") == 0) {
		if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return md_unpack_sysfail(u, "cannot mark directory opaque");
		return 0;
	}
	if (md_startswith(base, ".wh..wh."))
		return 0; /* AUFS metadata: nothing to do */
	const char *victim = base + 4;
	if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
		return md_unpack_fail(u, "whiteout names a path outside the layer");
	char vpath[PATH_MAX];
	snprintf(vpath, sizeof vpath, "%.*s%s", (int)(base - path), path, victim);
	if (md_unpack_clear(u, dfd, victim, vpath, 0) < 0)
		return -1;
	if (u->cfd < 0 && (dfd = md_unpack_parent(u, path, 1, &base)) < 0)
		return -1;
	if (mknodat(dfd, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
		return md_unpack_sysfail(u, "cannot create whiteout");
	if (md_unpack_owner(u, -1, dfd, victim, e) < 0)
		return -1;
	return 0;
}

/* A hardlink entry: its target must be an earlier non-directory of the layer. */
static int md_unpack_hardlink(struct md_unpack *u, int dfd, const char *path, const char *base, const char *hl,
                          char *tpath)
{
	if (hl != tpath && md_tar_clean_path(hl, tpath, PATH_MAX) < 0)
		return md_unpack_fail(u, "hardlink target \"%.300s\": %s", hl, md_errmsg);
	if (!*tpath)
		return md_unpack_fail(u, "hardlink target \"%.300s\" is the layer root", hl);
	const char *tbase;
	/* resolve the target without the cache: its parent may differ */
	char *tdir = md_strndup(tpath, strrchr(tpath, '/') ? (size_t)(strrchr(tpath, '/') - tpath) : 0);
	tbase = strrchr(tpath, '/') ? strrchr(tpath, '/') + 1 : tpath;
	int tfd = md_unpack_opendir(u, tdir, 0);
	free(tdir);
	if (tfd < 0)
		return md_err_wrap("hardlink target \"%.300s\"", hl);
	struct stat st;
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		close(tfd);
		return md_unpack_fail(u, "hardlink target \"%.300s\" is not in the layer", hl);
	}
	if (S_ISDIR(st.st_mode)) {
		close(tfd);
		return md_unpack_fail(u, "hardlink target \"%.300s\" is a directory", hl);
	}
	struct stat cur;
	if (fstatat(dfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino &&
	    cur.st_dev == st.st_dev) {
		close(tfd);
		return 0;
	}
	int r = md_unpack_clear(u, dfd, base, path, 0);
	if (r >= 0 && u->cfd < 0)
		r = (dfd = md_unpack_parent(u, path, 1, &base)) < 0 ? -1 : 0;
	if (r >= 0 && linkat(tfd, tbase, dfd, base, 0) < 0)
		r = md_unpack_sysfail(u, "cannot link to \"%.300s\"", hl);
	close(tfd);
	return r < 0 ? -1 : 0;
}

/* A symlink entry, with the owner, xattrs and times of the link itself. */
static int md_unpack_symlink(struct md_unpack *u, struct archive_entry *e, int dfd, const char *base,
                         const struct timespec ts[2])
{
	const char *target = archive_entry_symlink(e);
	if (!target || !*target)
		return md_unpack_fail(u, "symlink without a target");
	if (symlinkat(target, dfd, base) < 0)
		return md_unpack_sysfail(u, "cannot create symlink");
	if (md_unpack_owner(u, -1, dfd, base, e) < 0)
		return -1;
	if (archive_entry_xattr_count(e) > 0) {
		char *lp = md_asprintf("/proc/self/fd/%d/%s", dfd, base);
		int r = md_unpack_xattrs(u, e, -1, lp);
		free(lp);
		if (r < 0)
			return -1;
	}
	utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* A file, symlink or fifo in place of whatever had its name; device nodes
 * are refused (but for overlayfs whiteouts). */
static int md_unpack_node(struct md_unpack *u, struct archive_entry *e, int dfd, const char *base, const char *path,
                      mode_t type)
{
	struct timespec ts[2];
	md_unpack_times(e, ts);
	switch (type) {
	case AE_IFREG:
		return md_unpack_file(u, e, dfd, base, path);
	case AE_IFLNK:
		return md_unpack_symlink(u, e, dfd, base, ts);
	case AE_IFIFO: {
		if (mknodat(dfd, base, S_IFIFO | (archive_entry_mode(e) & 07777), 0) < 0)
			return md_unpack_sysfail(u, "cannot create fifo");
		if (md_unpack_owner(u, -1, dfd, base, e) < 0)
			return -1;
		fchmodat(dfd, base, archive_entry_mode(e) & 07777, 0);
		utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	case AE_IFCHR:
		if (archive_entry_rdevmajor(e) == 0 && archive_entry_rdevminor(e) == 0) {
			/* an overlayfs whiteout already in the layer */
			if (mknodat(dfd, base, S_IFCHR | 0, makedev(0, 0)) < 0)
				return md_unpack_sysfail(u, "cannot create whiteout");
			return md_unpack_owner(u, -1, dfd, base, e);
		}
		return md_unpack_fail(u, "device nodes are not allowed in layers (character device %u:%u)",
		                  (unsigned)archive_entry_rdevmajor(e), (unsigned)archive_entry_rdevminor(e));
	case AE_IFBLK:
		return md_unpack_fail(u, "device nodes are not allowed in layers (block device %u:%u)",
		                  (unsigned)archive_entry_rdevmajor(e), (unsigned)archive_entry_rdevminor(e));
	default:
		return md_unpack_fail(u, "unsupported entry type 0%o", (unsigned)type);
	}
}

static int md_unpack_entry(struct md_unpack *u, struct archive_entry *e)
{
	char path[PATH_MAX], tpath[PATH_MAX];
	const char *raw = archive_entry_pathname(e);
	snprintf(u->entry, sizeof u->entry, "%s", raw ? raw : "?");
	u->nentries++;
	/* the bytes up to here were this entry's headers */
	md_unpack_ts_flush(u, (uint64_t)archive_filter_bytes(u->a, 0));
	if (md_tar_clean_path(raw, path, sizeof path) < 0)
		return md_unpack_fail(u, "%s", md_errmsg);
	const char *hl = archive_entry_hardlink(e);
	if (u->top_from) /* cp: the copy gets the destination's name */
		md_unpack_rename_top(u, path, tpath, &hl);
	mode_t type = archive_entry_filetype(e);
	if (archive_entry_sparse_count(e) > 0)
		return md_unpack_fail(u, "sparse files are not supported");
	if (!*path) {
		if (type != AE_IFDIR || hl)
			return md_unpack_fail(u, "the layer root must be a directory");
		u->root_explicit = 1;
		return md_unpack_dir(u, e, u->rootfd, ".", "");
	}
	const char *base;
	int dfd = md_unpack_parent(u, path, 1, &base);
	if (dfd < 0)
		return -1;
	/* whiteouts (OCI image spec, "changesets") */
	if (!u->plain && md_startswith(base, ".wh.")) {
		if (type != AE_IFREG || hl)
			return md_unpack_fail(u, "whiteout is not a regular file entry");
		return md_unpack_whiteout(u, e, dfd, path, base);
	}
	if (hl)
		return md_unpack_hardlink(u, dfd, path, base, hl, tpath);
	if (type == AE_IFDIR)
		return md_unpack_dir(u, e, dfd, base, path);
	if (md_unpack_clear(u, dfd, base, path, 0) < 0)
		return -1;
	if (u->cfd < 0 && (dfd = md_unpack_parent(u, path, 1, &base)) < 0)
		return -1;
	return md_unpack_node(u, e, dfd, base, path, type);
}

struct md_layer_info {
	char diff_id[MD_DIGEST_LEN + 1];  /* sha256 of the uncompressed tar */
	uint64_t raw_size, tar_size, size; /* the blob's digest is its source's business */
	enum md_decomp_kind kind;
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
	struct md_decomp z;
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
	md_err_clear();
	if (md_decomp_open(&z, src, MD_ZR_HASH_OUT) < 0) {
		md_decomp_close(&z);
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
	if (archive_read_open(u->a, u, NULL, md_unpack_read_cb, NULL) != ARCHIVE_OK) {
		if (!md_errmsg[0])
			md_errk(MD_EK_INVALID, "not a tar archive: %s", archive_error_string(u->a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		md_err_clear();
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
				md_errk(MD_EK_INVALID, "not a valid tar archive: %s", m ? m : "bad header");
			else
				md_errk(MD_EK_INVALID, "after entry \"%.300s\": %s", u->entry, m ? m : "bad tar header");
			goto out;
		}
		if (md_unpack_entry(u, e) < 0)
			goto out;
	}
	/* whatever follows the end-of-archive blocks is part of the DiffID too */
	unsigned char tail[16384];
	ssize_t n;
	while ((n = md_decomp_read(&z, tail, sizeof tail)) > 0) {
		md_unpack_ts_flush(u, u->delivered);
		md_tarsplit_out_raw(&u->ts, tail, (size_t)n);
		u->delivered += (uint64_t)n;
	}
	if (n < 0)
		goto out;
	md_unpack_ts_flush(u, UINT64_MAX);
	md_tarsplit_out_flush(&u->ts);
	if (u->ts.err) {
		errno = u->ts.err;
		md_errno("write %s", tsplit);
		goto out;
	}
	if (md_unpack_apply_dirtimes(u) < 0)
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
	md_decomp_digests(&z, NULL, info->diff_id);
	info->raw_size = z.nraw;
	info->tar_size = z.nout;
	info->size = u->size;
	info->kind = z.kind;
	r = 0;
out:
	if (u->a)
		archive_read_free(u->a);
	md_unpack_cache_drop(u);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (u->shadowfd >= 0)
		close(u->shadowfd);
	if (u->ts.fd >= 0)
		close(u->ts.fd);
	if (u->dtfd >= 0)
		close(u->dtfd);
	free(u->pend);
	md_decomp_close(&z);
	md_strv_free(&u->implied);
	free(u->shadow_path);
	free(dir);
	free(tsplit);
	free(u);
	return r;
}

/* Extract a tar (cp) into an existing directory with the same checks. */
static int md_extract_plain(int infd, int dfd, const char *from, const char *to, int force_owner)
{
	struct md_unpack *u = md_alloc(sizeof *u);
	struct md_decomp z;
	int r = -1;
	u->shadowfd = u->cfd = u->ts.fd = -1;
	u->plain = 1;
	u->force_owner = force_owner;
	u->top_from = from;
	u->top_to = to;
	u->z = &z;
	u->rootfd = dup(dfd);
	u->dtfd = memfd_create("minidock-dirtimes", MFD_CLOEXEC);
	md_err_clear();
	if (md_decomp_open(&z, md_src_fd(infd), 0) < 0 || u->rootfd < 0)
		goto out;
	if (z.ilen == 0 && z.ieof) {
		r = 0;
		goto out;
	}
	u->a = archive_read_new();
	archive_read_support_format_tar(u->a);
	if (archive_read_open(u->a, u, NULL, md_unpack_read_cb, NULL) != ARCHIVE_OK) {
		md_errk(MD_EK_INVALID, "not a tar archive: %s", archive_error_string(u->a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		md_err_clear();
		int ar = archive_read_next_header(u->a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			if (!md_errmsg[0])
				md_err("bad tar stream: %s", archive_error_string(u->a));
			goto out;
		}
		if (md_unpack_entry(u, e) < 0)
			goto out;
	}
	if (u->dtfd >= 0)
		md_unpack_apply_dirtimes(u);
	r = 0;
out:
	if (u->a)
		archive_read_free(u->a);
	md_unpack_cache_drop(u);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (u->dtfd >= 0)
		close(u->dtfd);
	free(u->pend);
	md_decomp_close(&z);
	md_strv_free(&u->implied);
	free(u);
	return r;
}

/* ---- reconstruct a layer's tar from its tar-split and directory ---- */

struct md_tsmove {
	uint64_t at;  /* record index */
	char *from, *to;
};

struct md_tarsplit_in {
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

static int md_tarsplit_in_byte(struct md_tarsplit_in *t)
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

static int md_tarsplit_in_varint(struct md_tarsplit_in *t, uint64_t *v)
{
	*v = 0;
	for (int sh = 0; sh < 64; sh += 7) {
		int c = md_tarsplit_in_byte(t);
		if (c < 0)
			return -1;
		*v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

static char *md_tarsplit_in_str(struct md_tarsplit_in *t)
{
	uint64_t n;
	if (md_tarsplit_in_varint(t, &n) < 0 || n >= PATH_MAX)
		return NULL;
	char *s = md_alloc((size_t)n + 1);
	for (uint64_t i = 0; i < n; i++) {
		int c = md_tarsplit_in_byte(t);
		if (c < 0) {
			free(s);
			return NULL;
		}
		s[i] = (char)c;
	}
	return s;
}

static void md_tarsplit_in_close(struct md_tarsplit_in *t)
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
static int md_tarsplit_in_scan_moves(struct md_tarsplit_in *t)
{
	for (uint64_t rec = 0;; rec++) {
		int c = md_tarsplit_in_byte(t);
		if (c == -1)
			break;
		uint64_t n;
		if (c < 0)
			return md_errno("read tar-split");
		if (c == 'R') {
			if (md_tarsplit_in_varint(t, &n) < 0)
				return md_err("tar-split is corrupt");
			for (uint64_t i = 0; i < n; i++)
				if (md_tarsplit_in_byte(t) < 0)
					return md_err("tar-split is corrupt");
		} else if (c == 'Z') {
			if (md_tarsplit_in_varint(t, &n) < 0)
				return md_err("tar-split is corrupt");
		} else if (c == 'F') {
			char *p;
			if (md_tarsplit_in_varint(t, &n) < 0 || !(p = md_tarsplit_in_str(t)))
				return md_err("tar-split is corrupt");
			free(p);
		} else if (c == 'M') {
			char *a = md_tarsplit_in_str(t), *b = a ? md_tarsplit_in_str(t) : NULL;
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

static struct md_tarsplit_in *md_tarsplit_in_open(const char *layerdir)
{
	struct md_tarsplit_in *t = md_alloc(sizeof *t);
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
		md_tarsplit_in_close(t);
		return NULL;
	}
	if (md_tarsplit_in_scan_moves(t) < 0) {
		md_tarsplit_in_close(t);
		return NULL;
	}
	return t;
}

/* Open the file that record `rec` named at `path`, following later moves. */
static int md_tarsplit_in_open_file(struct md_tarsplit_in *t, const char *path)
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

static ssize_t md_tarsplit_in_read(void *ctx, void *out, size_t n)
{
	struct md_tarsplit_in *t = ctx;
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
			int c = md_tarsplit_in_byte(t);
			if (c == -1)
				break;
			if (c < 0)
				return md_errno("read tar-split");
			t->rec++;
			uint64_t v;
			t->kind = c;
			if (c == 'R' || c == 'Z') {
				if (md_tarsplit_in_varint(t, &v) < 0)
					return md_err("tar-split is corrupt");
				t->left = v;
			} else if (c == 'F') {
				free(t->fpath);
				if (md_tarsplit_in_varint(t, &v) < 0 || !(t->fpath = md_tarsplit_in_str(t)))
					return md_err("tar-split is corrupt");
				t->left = v;
				t->ffd = md_tarsplit_in_open_file(t, t->fpath);
				if (t->ffd < 0)
					return -1;
			} else if (c == 'M') {
				char *a = md_tarsplit_in_str(t), *b = a ? md_tarsplit_in_str(t) : NULL;
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
				int c = md_tarsplit_in_byte(t);
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
	struct md_tarsplit_in *t = md_tarsplit_in_open(layerdir);
	if (!t)
		return -1;
	br_sha256_context c;
	md_sha_init(&c);
	uint64_t total = 0;
	static unsigned char buf[65536];
	int r = 0;
	for (;;) {
		ssize_t n = md_tarsplit_in_read(t, buf, sizeof buf);
		if (n < 0) {
			r = -1;
			break;
		}
		if (n == 0)
			break;
		md_sha_update(&c, buf, (size_t)n);
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
	md_tarsplit_in_close(t);
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
 * only when all its layers are.  Removal goes the other way: the index
 * first, then the objects, through tmp/.  A change that can leave unnamed
 * objects between those steps runs in a session, so a crash leaves a dead
 * session behind; whoever takes the lock next sweeps it and what the
 * index does not name (md_store_sweep), and system check sweeps before it
 * judges.  Readers parse index.json without a lock: rename makes it atomic.
 * Writers hold `lock` for read-modify-write of the index; long work
 * (unpacking) happens outside it in a staging session whose own lock
 * tells others it is alive, and whose pins keep layers it reuses.
 *
 * May call: sections 01-09.
 */

struct md_store {
	char *root, *runroot;
	int lockfd;
	int lockdepth;
	struct md_strv *swept; /* system check: sweep all unnamed objects, list them */
};

static struct md_store md_store = {NULL, NULL, -1, 0, NULL};

static MD_PRINTF(1, 2) char *md_store_path(const char *fmt, ...)
{
	char rel[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	return md_asprintf("%s/%s", md_store.root, rel);
}

static int md_store_ensure(void)
{
	static const char *const dirs[] = {"", "/blobs", "/blobs/sha256", "/layers", "/tmp"};
	for (size_t i = 0; i < MD_ARRAY_LEN(dirs); i++) {
		char *p = md_asprintf("%s%s", md_store.root, dirs[i]);
		int r = i == 0 ? md_mkdir_p(p, 0711) : (mkdir(p, 0700) < 0 && errno != EEXIST ? md_errno("mkdir %s", p) : 0);
		free(p);
		if (r < 0)
			return -1;
	}
	return 0;
}

enum { MD_SWEEP_ALL = 1, MD_SWEEP_NOINDEX = 2 };
static struct md_json *md_index_section(struct md_json *idx, const char *name)
{
	struct md_json *s = md_json_get(idx, name);
	if (!md_json_is(s, MD_J_OBJ))
		s = md_json_set(idx, name, md_json_new(MD_J_OBJ));
	return s;
}

/*
 * The index has two files.  ROOT/index.json holds images, layers, tags and
 * the containers that outlive their process; a container removed when it
 * ends (run --rm) is volatile: it is listed in RUNROOT/index.json, in RAM,
 * with its record (see section 15), so that it costs the flash nothing and
 * is gone after a reboot.  So are the address leases ("ipam"): they hold
 * only while containers run.  md_index_read merges the two (a volatile
 * container's entry has "volatile": true) and md_index_write puts each part
 * back, writing a file only when its content changed.
 */
struct md_index_seen {
	char *path;                        /* the file as last read or written */
	char digest[MD_DIGEST_LEN + 1];    /* of its content ("" if none) */
};
static struct md_index_seen md_index_seen[2]; /* the store's, the run root's */

/* One of the index files, parsed into *out (NULL if unreadable); seen
 * remembers its content.  1 if the file is there, 0 if not. */
static int md_index_read_file(const char *p, struct md_index_seen *seen, struct md_json **out)
{
	size_t len = 0;
	struct md_error keep = md_error; /* a reader keeps what was said before */
	char *buf = md_read_file(p, MD_JSON_MAX_DOC, &len);
	int there = buf || errno != ENOENT;
	free(seen->path);
	seen->path = md_strdup(p);
	seen->digest[0] = 0;
	*out = NULL;
	if (buf) {
		md_sha256_buf(buf, len, seen->digest);
		*out = md_json_parse(buf, len);
	}
	free(buf);
	md_error = keep; /* the caller tells what is wrong */
	return there;
}

/* Read the graph index (an empty one if there is none yet). */
static struct md_json *md_index_read(void)
{
	char *p = md_store_path("index.json"), *rp = md_asprintf("%s/index.json", md_store.runroot);
	struct md_json *idx = NULL, *vol = NULL;
	int there = md_index_read_file(p, &md_index_seen[0], &idx);
	if (there && (!idx || idx->t != MD_J_OBJ)) {
		md_json_free(idx);
		md_err("the store index %s is unreadable (try: minidock system check --repair)", p);
		free(p);
		free(rp);
		return NULL;
	}
	if (!idx) {
		idx = md_json_new(MD_J_OBJ);
		md_json_seti(idx, "version", 1);
	}
	free(p);
	static const char *const secs[] = {"images", "layers", "tags", "containers"};
	for (size_t i = 0; i < MD_ARRAY_LEN(secs); i++)
		md_index_section(idx, secs[i]);
	/* the volatile containers (a run root that cannot be read has none) */
	md_index_read_file(rp, &md_index_seen[1], &vol);
	free(rp);
	struct md_json *vc = md_json_get(vol, "containers"), *cs = md_json_get(idx, "containers");
	for (struct md_json *c = md_json_is(vc, MD_J_OBJ) ? vc->child : NULL; c; c = c->next)
		if (md_json_is(c, MD_J_OBJ) && !md_json_get(cs, c->key))
			md_json_set(md_json_set(cs, c->key, md_json_clone(c)), "volatile", md_json_newbool(1));
	/* the leases are the run root's (a store from before keeps its own
	 * until the first write moves them) */
	if (md_json_is(md_json_get(vol, "ipam"), MD_J_OBJ))
		md_json_set(idx, "ipam", md_json_clone(md_json_get(vol, "ipam")));
	md_json_free(vol);
	return idx;
}

static char *md_layer_path(const char *chain)
{
	return md_store_path("layers/%s", chain + 7);
}

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

/* Is the layer pinned by a live session?  Call with the store lock held. */
static int md_store_pinned(const char *chain)
{
	char *tmp = md_store_path("tmp");
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
	md_err_clear();
	return found;
}

/* A fresh name in tmp/ for something to delete; the PID in it tells the
 * sweep whether its owner is still deleting it. */
static char *md_store_trash(const char *what)
{
	char rnd[9];
	md_random_hex(rnd, 4);
	return md_store_path("tmp/trash-%d-%.12s-%s", (int)getpid(), what, rnd);
}

/* Delete path through the trash, so that a crash never leaves a half-deleted
 * object under its own name (a load would take a layer dir for complete).
 * -1: it could not be moved and is still whole. */
static int md_store_trash_rm(const char *path, const char *what)
{
	char *dst = md_store_trash(what);
	int r = rename(path, dst) < 0 && errno != ENOENT ? md_errno("move %s to the trash", path) : md_rm_rf(dst);
	free(dst);
	return r;
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
		md_store_trash_rm(src, gone->v[i] + 7);
		free(src);
		/* its short link, and its copies for user namespaces */
		char *link = md_store_path("l/%.12s", gone->v[i] + 7);
		unlink(link);
		free(link);
		char *ud = md_store_path("userns");
		DIR *d = opendir(ud);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char *cp = md_asprintf("%s/%s/%s", ud, de->d_name, gone->v[i] + 7);
			char *cl = md_asprintf("%s/%s/l/%.12s", ud, de->d_name, gone->v[i] + 7);
			md_rm_rf(cp);
			unlink(cl);
			free(cp);
			free(cl);
		}
		if (d)
			closedir(d);
		free(ud);
	}
	md_err_clear();
}

/* Is the process whose PID begins s (in a temp file's or trash's name)
 * alive?  A PID reused since then only delays the sweep. */
static int md_pid_alive(const char *s)
{
	char *e;
	long pid = strtol(s, &e, 10);
	if (e == s || pid <= 0 || (*e && *e != '-'))
		return 0;
	return pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* A pull keeps the layers it stored ahead of its image for a resume. */
static char *md_pull_keep_path(const char *chain)
{
	return md_store_path("pulls/%.64s.layer", chain + 7);
}

/* Call fn for every entry of ROOT/sub (ROOT itself for "").  getdents64
 * with a buffer on the stack: this runs whenever the lock is taken, and
 * opendir's allocation costs more than the reading. */
static void md_store_sweep_dir(const char *sub, void (*fn)(const char *name, const char *path, void *ctx), void *ctx)
{
	char *dir = *sub == '/' ? md_strdup(sub) : *sub ? md_store_path("%s", sub) : md_strdup(md_store.root);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[4096] __attribute__((aligned(8)));
	/* the kernel's layout; libc's struct dirent matches it only with 64-bit
	 * offsets (a 32-bit glibc's has d_off 4 bytes wide) */
	struct md_dirent64 {
		uint64_t d_ino;
		int64_t d_off;
		unsigned short d_reclen;
		unsigned char d_type;
		char d_name[];
	};
	long n;
	while (fd >= 0 && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct md_dirent64 *de = (struct md_dirent64 *)(buf + off);
			off += de->d_reclen;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char *p = md_asprintf("%s/%s", dir, de->d_name);
			fn(de->d_name, p, ctx);
			free(p);
		}
	}
	if (fd >= 0)
		close(fd);
	free(dir);
}

struct md_sweep {
	struct md_json *idx;
	struct md_strv gone, *removed, dead;
};

static void md_sweep_note(struct md_sweep *w, const char *fmt, const char *name)
{
	if (w->removed) {
		char *m = md_asprintf(fmt, name);
		md_strv_push(w->removed, m);
		free(m);
	}
}

static void md_sweep_layer(const char *name, const char *path, void *ctx)
{
	struct md_sweep *w = ctx;
	char key[80];
	snprintf(key, sizeof key, "sha256:%.64s", name);
	(void)path;
	if (!md_hex64_valid(name) || md_json_get(md_json_get(w->idx, "layers"), key) || md_store_pinned(key))
		return;
	char *kp = md_pull_keep_path(key);
	int kept = md_path_exists(kp);
	free(kp);
	if (!kept) {
		md_strv_push(&w->gone, key);
		md_sweep_note(w, "layers/%s", name);
	}
}

static void md_sweep_blob(const char *name, const char *path, void *ctx)
{
	struct md_sweep *w = ctx;
	char key[80];
	snprintf(key, sizeof key, "sha256:%.64s", name);
	const char *t = strstr(name, ".tmp-");
	if ((md_hex64_valid(name) && md_json_get(md_json_get(w->idx, "images"), key)) || (t && md_pid_alive(t + 5)))
		return;
	md_strv_push(&w->gone, path); /* a path: md_store_delete unlinks it */
	md_sweep_note(w, "blobs/sha256/%s", name);
}

static void md_sweep_ctr(const char *name, const char *path, void *ctx)
{
	struct md_sweep *w = ctx;
	if (name[0] == '.' || md_json_get(md_json_get(w->idx, "containers"), name))
		return;
	/* created or removed under the store lock: a command that died between
	 * the directory and the index; one that cannot be moved goes in place */
	if (md_store_trash_rm(path, name) < 0)
		md_rm_rf(path);
	md_sweep_note(w, "containers/%s", name);
}

/* A container's run-root directory whose container is gone (a command
 * that died removing it): RAM, removed in place. */
static void md_sweep_rctr(const char *name, const char *path, void *ctx)
{
	struct md_sweep *w = ctx;
	if (md_hex64_valid(name) && !md_json_get(md_json_get(w->idx, "containers"), name))
		md_rm_rf(path);
}

static void md_sweep_volume(const char *name, const char *path, void *ctx)
{
	struct md_sweep *w = ctx;
	char *meta = md_asprintf("%s/volume.json", path);
	/* staged by a dead `volume create`, or half-deleted by a dead prune */
	int dead = md_startswith(name, ".tmp-") ? !md_pid_alive(name + 5) : !md_path_exists(meta);
	free(meta);
	if (dead) {
		md_rm_rf(path);
		md_sweep_note(w, "volumes/%s", name);
	}
}

static void md_sweep_pullkeep(const char *name, const char *path, void *ctx)
{
	struct md_sweep *w = ctx;
	char key[80];
	snprintf(key, sizeof key, "sha256:%.64s", name);
	if (!md_endswith(name, ".layer") || strlen(name) != 70)
		return;
	char *ld = md_layer_path(key);
	/* its layer went, or an image names it now */
	if (!md_path_exists(ld) || md_json_get(md_json_get(w->idx, "layers"), key))
		unlink(path);
	free(ld);
}

/* Objects the index does not name.  Only with an index (unless noindex):
 * without one everything looks unnamed, and that is damage for system
 * check, or a store whose first commit failed. */
static void md_store_sweep_orphans(struct md_sweep *w, int noindex)
{
	char *ip = md_store_path("index.json");
	w->idx = noindex || md_path_exists(ip) ? md_index_read() : NULL;
	free(ip);
	if (!w->idx)
		return;
	md_store_sweep_dir("layers", md_sweep_layer, w);
	md_store_sweep_dir("blobs/sha256", md_sweep_blob, w);
	md_store_sweep_dir("containers", md_sweep_ctr, w);
	char *rc = md_asprintf("%s/containers", md_store.runroot);
	md_store_sweep_dir(rc, md_sweep_rctr, w);
	free(rc);
	md_store_sweep_dir("volumes", md_sweep_volume, w);
	md_store_sweep_dir("pulls", md_sweep_pullkeep, w);
	md_store_delete(&w->gone);
	md_json_free(w->idx);
}

static void md_sweep_tmp(const char *name, const char *path, void *ctx)
{
	struct md_sweep *w = ctx;
	int live = md_startswith(name, "s-")       ? md_sess_is_alive(path)
	           : md_startswith(name, "trash-") ? md_pid_alive(name + 6)
	                                          : 0;
	if (!live)
		md_strv_push(&w->dead, path);
}

static void md_sweep_tmpfile(const char *name, const char *path, void *ctx)
{
	struct md_sweep *w = ctx;
	const char *t = strstr(name, ".tmp-");
	if (t && !md_pid_alive(t + 5))
		md_strv_push(&w->dead, path);
}

/*
 * Sweep what dead writers left; with the store lock held, from
 * md_store_lock.  With nothing to sweep it costs two directory reads.  A
 * session whose lock nobody holds, or trash or a temp file whose PID is
 * gone, means a command died in the middle of a change (SIGKILL, power
 * cut): then what the index does not name is its leftover too.  That goes
 * first and the dead writer's own files last, so that a crash in here
 * leaves the evidence for the next sweep.  Nothing of a live writer is
 * touched: its session holds its lock and pins the layers it relies on,
 * its temp files and trash carry its PID.  all (MD_SWEEP_ALL): sweep
 * unnamed objects even without such evidence (system check; a commit that
 * failed, which with MD_SWEEP_NOINDEX had found no index).  removed gets
 * what went.
 */
static void md_store_sweep(int all, struct md_strv *removed)
{
	struct md_error keep = md_error;
	struct md_sweep w = {NULL, {0}, removed, {0}};
	md_store_sweep_dir("tmp", md_sweep_tmp, &w);
	md_store_sweep_dir("", md_sweep_tmpfile, &w);
	if (w.dead.n || all)
		md_store_sweep_orphans(&w, all & MD_SWEEP_NOINDEX);
	size_t rl = strlen(md_store.root) + 1;
	for (size_t i = 0; i < w.dead.n; i++)
		if (md_rm_rf(w.dead.v[i]) == 0)
			md_sweep_note(&w, "%s", w.dead.v[i] + rl);
	md_strv_free(&w.gone);
	md_strv_free(&w.dead);
	md_error = keep;
}

static int md_store_lock(void)
{
	if (md_store.lockdepth++ > 0)
		return 0;
	if (md_store_ensure() < 0)
		goto fail;
	char *p = md_store_path("lock");
	md_store.lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(p);
	if (md_store.lockfd < 0) {
		md_errno("open %s/lock", md_store.root);
		goto fail;
	}
	while (flock(md_store.lockfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			md_errno("lock %s", md_store.root);
			close(md_store.lockfd);
			md_store.lockfd = -1;
			goto fail;
		}
	}
	md_store_sweep(md_store.swept ? MD_SWEEP_ALL : 0, md_store.swept);
	return 0;
fail:
	md_store.lockdepth--;
	return -1;
}

static void md_store_unlock(void)
{
	if (md_store.lockdepth <= 0 || --md_store.lockdepth > 0)
		return;
	close(md_store.lockfd);
	md_store.lockfd = -1;
}

/* Write text to an index file unless it holds that already. */
static int md_index_put(const char *p, struct md_index_seen *seen, const char *text, int flags)
{
	char dg[MD_DIGEST_LEN + 1];
	md_sha256_buf(text, strlen(text), dg);
	if (seen->path && strcmp(seen->path, p) == 0 && strcmp(seen->digest, dg) == 0)
		return 0;
	if (md_write_file_atomic_f(p, text, strlen(text), 0600, flags) < 0)
		return -1;
	free(seen->path);
	seen->path = md_strdup(p);
	snprintf(seen->digest, sizeof seen->digest, "%s", dg);
	return 0;
}

/* Write the index back: the volatile containers to the run root's file, the
 * rest to the store's; each only if it changed.  flags: md_write_file_atomic_f's
 * for the store's file. */
static int md_index_write_f(struct md_json *idx, int flags)
{
	struct md_json *vol = md_json_new(MD_J_OBJ), *vc = md_json_set(vol, "containers", md_json_new(MD_J_OBJ));
	struct md_json *cs = md_json_get(idx, "containers");
	for (struct md_json *c = cs ? cs->child : NULL, *next; c; c = next) {
		next = c->next;
		if (!md_json_is(md_json_get(c, "volatile"), MD_J_TRUE))
			continue;
		md_json_del(md_json_set(vc, c->key, md_json_clone(c)), "volatile");
		md_json_del_item(cs, c);
	}
	/* the leases: moved out for the dump, put back below */
	struct md_json *ipam = md_json_get(idx, "ipam"), *ipv = NULL;
	if (ipam) {
		ipv = md_json_set(vol, "ipam", md_json_clone(ipam));
		md_json_del(idx, "ipam");
	}
	int leases = ipv && ipv->n;
	char *s = md_json_dump(idx, 0), *vs = md_json_dump(vol, 0);
	if (ipv)
		md_json_set(idx, "ipam", md_json_clone(ipv));
	char *p = md_store_path("index.json"), *rp = md_asprintf("%s/index.json", md_store.runroot);
	int r = 0;
	if (vc->n || leases || (md_index_seen[1].path && strcmp(md_index_seen[1].path, rp) == 0 && md_index_seen[1].digest[0]))
		r = md_mkdir_p(md_store.runroot, 0711) < 0 || md_index_put(rp, &md_index_seen[1], vs, 0) < 0 ? -1 : 0;
	if (r == 0)
		r = md_index_put(p, &md_index_seen[0], s, flags);
	/* the caller's index stays whole */
	for (struct md_json *c = vc->child; c; c = c->next)
		md_json_set(md_json_set(cs, c->key, md_json_clone(c)), "volatile", md_json_newbool(1));
	free(p);
	free(rp);
	free(s);
	free(vs);
	md_json_free(vol);
	return r;
}

static int md_index_write(struct md_json *idx)
{
	return md_index_write_f(idx, 0);
}

static char *md_blob_path(const char *digest)
{
	return md_store_path("blobs/sha256/%s", digest + 7);
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

static int md_sess_begin(struct md_sess *s)
{
	char rnd[17];
	memset(s, 0, sizeof *s);
	s->lockfd = -1;
	if (md_store_lock() < 0)
		return -1;
	md_random_hex(rnd, 8);
	s->dir = md_store_path("tmp/s-%d-%s", (int)getpid(), rnd);
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

/* The store lock for a change that deletes objects after the index names
 * them no more: should the command die in between, its session is left
 * dead, and the next command sweeps what the index does not name. */
static int md_store_lock_change(struct md_sess *s)
{
	/* the lock first: md_sess_begin's own is then nested (no second flock
	 * and sweep) */
	if (md_store_lock() < 0)
		return -1;
	if (md_sess_begin(s) < 0) {
		md_store_unlock();
		return -1;
	}
	return 0;
}

static void md_store_unlock_change(struct md_sess *s)
{
	md_store_unlock();
	md_sess_end(s);
}

/* ---- layers and images in the index ---- */

static int md_store_syncfs(void)
{
	int fd = open(md_store.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return md_errno("open %s", md_store.root);
	int r = syncfs(fd);
	close(fd);
	return r < 0 ? md_errno("sync %s", md_store.root) : 0;
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
		if (md_streq(md_json_gets(c, "image"), id)) {
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
					return md_errk(MD_EK_INVALID, "multiple images found with ID prefix %s", hex);
				found = im->key;
			}
		}
		if (found) {
			snprintf(out, MD_DIGEST_LEN + 1, "%s", found);
			return 0;
		}
	}
	return md_errk(MD_EK_NOTFOUND, "No such image: %s", name);
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

/* ---- sweeping what dead writers left ---- */

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

/**** 11 load, import, save *************************************************/
/*
 * `load` reads a docker-archive (manifest.json) or an OCI image layout
 * (index.json) from a file or a pipe, in one pass: every member that is a
 * tar (plain, gzip or zstd) is hashed and unpacked into the staging
 * session as it streams by; every other member is kept as a small file.
 * When the archive is done, the manifests say which members are which
 * image's config and layers; digests are checked, chain IDs computed, and
 * the images committed into the store under the lock.
 *
 * May call: sections 01-10.
 */

struct md_member {
	char *name;                    /* path inside the archive, cleaned */
	char digest[MD_DIGEST_LEN + 1];
	uint64_t size;
	char *file;                    /* staged copy of a small non-layer member */
	char *ldir;                    /* staged layer: ldir/diff, ldir/tar-split */
	struct md_error *lerr;         /* why it could not be unpacked as a layer */
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
	char *digname;                 /* pulled by digest: the repository, no tag */
	char manifest[MD_DIGEST_LEN + 1];
	struct md_json *sig;           /* what verified its signature, or NULL */
};

struct md_load {
	struct md_sess sess;
	struct md_member *m;
	size_t nm;
	struct md_loadimg *img;
	size_t nimg;
};

/* A member of the outer archive as a source, hashed as it is read. */
struct md_member_src {
	struct archive *a;
	br_sha256_context h;
	uint64_t n;
	unsigned char peek[1024];
	size_t peeklen, peekpos;
	int failed;                    /* the outer archive itself failed */
};

static ssize_t md_member_src_read(void *ctx, void *buf, size_t n)
{
	struct md_member_src *s = ctx;
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
	md_sha_update(&s->h, buf, (size_t)r);
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
	struct md_member_src s = {.a = a};
	md_sha_init(&s.h);
	while (s.peeklen < sizeof s.peek) {
		la_ssize_t r = archive_read_data(a, s.peek + s.peeklen, sizeof s.peek - s.peeklen);
		if (r < 0)
			return md_err("reading the archive at %s: %s", clean, archive_error_string(a));
		if (r == 0)
			break;
		s.peeklen += (size_t)r;
	}
	md_sha_update(&s.h, s.peek, s.peeklen);
	s.n = s.peeklen;
	struct md_src src = {md_member_src_read, &s};
	if (md_looks_like_tar(s.peek, s.peeklen)) {
		m->ldir = md_sess_path(&L->sess, "L");
		int r = md_layer_unpack(src, m->ldir, &m->li);
		if (s.failed)
			return -1;
		if (r < 0) {
			m->lerr = md_alloc(sizeof *m->lerr);
			*m->lerr = md_error; /* its kind too: a hostile tar, or a full disk */
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
		while ((n = md_member_src_read(&s, buf, sizeof buf)) > 0)
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
	while ((n = md_member_src_read(&s, buf, sizeof buf)) > 0)
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
		md_errk(MD_EK_INVALID, "%s is not a JSON document", m->name);
		return NULL;
	}
	struct md_json *j = md_json_parse_file(m->file);
	if (!j && !md_error.errnum)
		md_error.kind = MD_EK_INVALID; /* malformed JSON in the archive (a read error stays internal) */
	return j;
}

/* A member named blobs/sha256/HEX must hash to HEX. */
static int md_load_check_blobname(struct md_member *m)
{
	if (md_startswith(m->name, "blobs/sha256/") && strcmp(m->name + 13, m->digest + 7) != 0)
		return md_errk(MD_EK_INVALID, "%s is corrupt: its content has digest %s", m->name, m->digest);
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
		md_errk(MD_EK_INVALID, "%s %s is missing from the archive", what, d);
		return NULL;
	}
	if (strcmp(m->digest, d) != 0) {
		md_errk(MD_EK_INVALID, "%s %s is corrupt: its content has digest %s", what, d, m->digest);
		return NULL;
	}
	long long size;
	if (md_json_int(md_json_get(desc, "size"), &size) == 0 && (uint64_t)size != m->size) {
		md_errk(MD_EK_INVALID, "%s %s has %" PRIu64 " bytes, the manifest says %lld", what, d, m->size, size);
		return NULL;
	}
	return m;
}

/* Refuse an image with more layers than a container's root can mount. */
static int md_image_layer_limit(const char *name, size_t n)
{
	if (n <= MD_IMAGE_MAX_LAYERS)
		return 0;
	return md_errk(MD_EK_NOTSUP, "image %s has %zu layers; minidock supports at most %d (the overlay mount's lowerdir limit)", name, n,
	              MD_IMAGE_MAX_LAYERS);
}

/* Check a config against its layers; fills img->cfg and the ID. */
static int md_load_check_image(struct md_loadimg *img)
{
	struct md_json *cfg = img->cfg;
	struct md_json *diffs = md_json_get(md_json_get(cfg, "rootfs"), "diff_ids");
	if (!md_json_is(cfg, MD_J_OBJ) || !md_json_is(diffs, MD_J_ARR))
		return md_errk(MD_EK_INVALID, "image config %.19s has no rootfs.diff_ids", img->id);
	if (diffs->n != img->nlayers)
		return md_errk(MD_EK_INVALID, "image config %.19s lists %zu layers, the manifest %zu", img->id, diffs->n,
		               img->nlayers);
	size_t i = 0;
	for (struct md_json *d = diffs->child; d; d = d->next, i++) {
		struct md_member *lm = img->layers[i];
		if (md_digest_check(md_json_str(d), "image config diff_id") < 0)
			return -1;
		if (!lm->ldir && !lm->moved && !lm->lerr)
			return md_errk(MD_EK_INVALID, "layer %s: not a tar archive", lm->name);
		if (!lm->ldir && !lm->moved) {
			md_errk(lm->lerr->kind, "layer %s: %s", lm->name, lm->lerr->msg);
			md_error.errnum = lm->lerr->errnum;
			return -1;
		}
		if (strcmp(lm->li.diff_id, md_json_str(d)) != 0)
			return md_errk(MD_EK_INVALID, "layer %s has DiffID %s, the image config expects %s", lm->name,
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
		md_errk(MD_EK_INVALID, "manifest.json: expected a list of images");
		goto out;
	}
	for (struct md_json *e = man->child; e; e = e->next) {
		const char *cpath = md_json_gets(e, "Config");
		struct md_json *layers = md_json_get(e, "Layers");
		if (!cpath || !md_json_is(layers, MD_J_ARR)) {
			md_errk(MD_EK_INVALID, "manifest.json: an entry has no Config or Layers");
			goto out;
		}
		const char *tag0 = md_json_str(md_json_at(md_json_get(e, "RepoTags"), 0));
		if (md_image_layer_limit(tag0 ? tag0 : cpath, layers->n) < 0)
			goto out;
		struct md_loadimg *img = md_load_newimg(L);
		img->config = md_load_find(L, cpath);
		if (!img->config) {
			md_errk(MD_EK_INVALID, "manifest.json names config %.200s, which is not in the archive", cpath);
			goto out;
		}
		if (md_load_check_blobname(img->config) < 0)
			goto out;
		/* legacy archives name the config HEX.json */
		const char *base = strrchr(img->config->name, '/') ? strrchr(img->config->name, '/') + 1 : img->config->name;
		if (strlen(base) == 69 && md_endswith(base, ".json") && strncmp(base, img->config->digest + 7, 64) != 0) {
			md_errk(MD_EK_INVALID, "config %s is corrupt: its content has digest %s", img->config->name, img->config->digest);
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
				md_errk(MD_EK_INVALID, "manifest.json names layer %.200s, which is not in the archive", lp ? lp : "?");
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

static int md_media_is_index(const char *mt)
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

static int md_load_oci_manifest(struct md_load *L, struct md_member *mm, struct md_loadimg *img, const char *refname)
{
	struct md_json *man = md_load_member_json(mm);
	if (!man)
		return md_err_wrap("manifest %s", mm->digest);
	int r = -1;
	struct md_json *cdesc = md_json_get(man, "config");
	struct md_json *layers = md_json_get(man, "layers");
	if (!md_json_is(cdesc, MD_J_OBJ) || !md_json_is(layers, MD_J_ARR)) {
		md_errk(MD_EK_INVALID, "manifest %s has no config or layers", mm->digest);
		goto out;
	}
	if (md_image_layer_limit(refname ? refname : mm->digest, layers->n) < 0)
		goto out;
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

/* ---- platforms: os/architecture/variant, as the OCI image index names them ---- */

struct md_platform {
	char os[32], arch[32], variant[16];
};

static struct md_platform md_want; /* what load and pull pick (--platform) */

/* The ARM architecture version of this CPU, from /proc/cpuinfo. */
static int md_arm_version(void)
{
	char *ci = md_read_file("/proc/cpuinfo", 1 << 20, NULL);
	int v = 7;
	const char *p = ci ? strstr(ci, "CPU architecture") : NULL;
	if (p && (p = strchr(p, ':')))
		v = atoi(p + 1);
	free(ci);
	md_err_clear();
	return v >= 8 ? 8 : v > 0 ? v : 7;
}

static void md_platform_host(struct md_platform *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->os, sizeof p->os, "linux");
	snprintf(p->arch, sizeof p->arch, "%s", md_host_arch());
	if (strcmp(p->arch, "arm") == 0)
		snprintf(p->variant, sizeof p->variant, "v%d", md_arm_version() > 7 ? 7 : md_arm_version());
}

/* "linux/arm/v7", "linux/arm64", "arm64", "aarch64", "armhf" ... */
static int md_platform_parse(const char *s, struct md_platform *p)
{
	char buf[96], *f[3] = {0};
	int n = 0;
	memset(p, 0, sizeof *p);
	snprintf(buf, sizeof buf, "%s", s);
	for (char *t = strtok(buf, "/"); t && n < 3; t = strtok(NULL, "/"))
		f[n++] = t;
	if (!n || strchr(s, ' ') || strlen(s) > 90)
		return md_errk(MD_EK_INVALID, "invalid platform \"%s\": expected OS/ARCH[/VARIANT]", s);
	const char *os = n >= 2 ? f[0] : "linux", *arch = n >= 2 ? f[1] : f[0], *var = n == 3 ? f[2] : "";
	static const char *const alias[][3] = {{"x86_64", "amd64", ""},  {"x86-64", "amd64", ""}, {"aarch64", "arm64", ""},
	                                       {"armhf", "arm", "v7"},   {"armel", "arm", "v6"},  {"i386", "386", ""},
	                                       {"i686", "386", ""},      {"mipsel", "mipsle", ""}};
	for (size_t i = 0; i < MD_ARRAY_LEN(alias); i++)
		if (strcmp(arch, alias[i][0]) == 0) {
			arch = alias[i][1];
			if (!*var)
				var = alias[i][2];
		}
	static const char *const known[] = {"amd64", "arm64", "arm", "386", "mips", "mipsle", "mips64", "mips64le",
	                                    "riscv64", "ppc64le", "s390x"};
	int ok = 0;
	for (size_t i = 0; i < MD_ARRAY_LEN(known); i++)
		ok |= strcmp(arch, known[i]) == 0;
	if (!ok || strcmp(os, "linux") != 0)
		return md_errk(MD_EK_INVALID, "unsupported platform \"%s\" (linux and one of amd64, arm64, arm/v5|v6|v7, 386, mips, mipsle, riscv64...)", s);
	if (*var && !(var[0] == 'v' && isdigit((unsigned char)var[1]) && !var[2]))
		return md_errk(MD_EK_INVALID, "invalid platform variant \"%s\" in \"%s\"", var, s);
	snprintf(p->os, sizeof p->os, "%s", os);
	snprintf(p->arch, sizeof p->arch, "%s", arch);
	snprintf(p->variant, sizeof p->variant, "%s", strcmp(arch, "arm64") == 0 && strcmp(var, "v8") == 0 ? "" : var);
	return 0;
}

static void md_platform_str(const struct md_platform *p, char *out, size_t n)
{
	snprintf(out, n, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}

/*
 * How well an image platform suits the wanted one: -1 not at all; higher is
 * better.  ARM is strict: a v6 machine never gets a v7 image, a v7 one
 * prefers v7, then v6, then v5; an image without a variant counts as v7.
 */
static int md_platform_score(const struct md_platform *want, const struct md_json *p)
{
	const char *os = md_json_gets(p, "os"), *arch = md_json_gets(p, "architecture"), *var = md_json_gets(p, "variant");
	if (!md_streq(os, want->os) || !md_streq(arch, want->arch))
		return -1;
	if (strcmp(want->arch, "arm") == 0) {
		int w = want->variant[0] ? atoi(want->variant + 1) : 7;
		int v = var && var[0] == 'v' ? atoi(var + 1) : 7;
		return v > w ? -1 : 10 - (w - v);
	}
	if (strcmp(want->arch, "arm64") == 0)
		return !var || !*var || strcmp(var, "v8") == 0 ? 10 : 5;
	return !var || !*var || md_streq(var, want->variant) ? 10 : 5;
}

static int md_platform_match(const struct md_json *p)
{
	if (!md_want.os[0])
		md_platform_host(&md_want);
	return md_platform_score(&md_want, p) >= 0;
}

/* Resolve a descriptor (manifest or nested index) into one image. */
static int md_load_oci_desc(struct md_load *L, const struct md_json *desc, const char *refname, int depth)
{
	if (depth > MD_OCI_MAX_NEST)
		return md_errk(MD_EK_NOTSUP, "image index of %s nested more than %d deep", refname ? refname : "index.json",
		              MD_OCI_MAX_NEST);
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
	if (md_media_is_index(mt) || (!mt && md_json_get(doc, "manifests"))) {
		/* pick this machine's platform, skipping attestations */
		struct md_json *ms = md_json_get(doc, "manifests");
		const struct md_json *pick = NULL;
		struct md_sb plats = {0};
		size_t real = 0;
		int best = -1;
		if (!md_want.os[0])
			md_platform_host(&md_want);
		for (struct md_json *d = ms ? ms->child : NULL; d; d = d->next) {
			const char *rt = md_json_gets(md_json_get(d, "annotations"), "vnd.docker.reference.type");
			if (md_streq(rt, "attestation-manifest"))
				continue;
			struct md_json *p = md_json_get(d, "platform");
			real++;
			int sc = p ? md_platform_score(&md_want, p) : 0;
			if (sc > best) {
				best = sc;
				pick = d;
			}
			if (p)
				md_sb_printf(&plats, "%s%s/%s%s%s", plats.len ? ", " : "", md_json_gets(p, "os") ? md_json_gets(p, "os") : "?",
				             md_json_gets(p, "architecture") ? md_json_gets(p, "architecture") : "?",
				             md_json_gets(p, "variant") ? "/" : "", md_json_gets(p, "variant") ? md_json_gets(p, "variant") : "");
		}
		char want[96];
		md_platform_str(&md_want, want, sizeof want);
		if (!pick)
			md_errk(MD_EK_NOTFOUND, "image index %.19s has no image for %s (it has: %s)", mm->digest, want,
			        real ? md_sb_str(&plats) : "nothing");
		else
			r = md_load_oci_desc(L, pick, refname, depth + 1);
		md_sb_free(&plats);
	} else {
		struct md_loadimg *img = md_load_newimg(L);
		r = md_load_oci_manifest(L, mm, img, refname);
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
		md_errk(MD_EK_INVALID, "index.json lists no manifests");
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
		r = md_errk(MD_EK_NOTFOUND, "index.json has no image for %s/%s", md_want.os, md_want.arch);
out:
	md_json_free(idx);
	return r;
}

/* An archive read through md_decomp (so the outer archive may be compressed). */
struct md_decomp_archive {
	struct md_decomp z;
	unsigned char buf[65536];
};

static la_ssize_t md_decomp_archive_read(struct archive *a, void *ud, const void **buf)
{
	struct md_decomp_archive *za = ud;
	ssize_t n = md_decomp_read(&za->z, za->buf, sizeof za->buf);
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
		free(L->img[i].digname);
		md_json_free(L->img[i].sig);
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
		struct md_tarsplit_in *t = md_tarsplit_in_open(lm->ldir);
		r = t ? md_layer_unpack((struct md_src){md_tarsplit_in_read, t}, nd, &li) : -1;
		if (t)
			md_tarsplit_in_close(t);
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

/* Add "name@digest" to an image record's digests (RepoDigests), once. */
static void md_image_add_digest(struct md_json *rec, const char *rd)
{
	struct md_json *ds = md_json_get(rec, "digests");
	if (!ds)
		ds = md_json_set(rec, "digests", md_json_new(MD_J_ARR));
	for (struct md_json *d = ds->child; d; d = d->next)
		if (md_streq(md_json_str(d), rd))
			return;
	md_json_push(ds, md_json_newstr(rd));
}

/* Make the loaded images visible: layers, configs, then the index, under
 * the lock; report (may be NULL) gets a line per image loaded, once it is
 * stored. */
static int md_load_commit(struct md_load *L, struct md_sb *report)
{
	if (md_store_syncfs() < 0 || md_store_lock() < 0)
		return -1;
	char *ip = md_store_path("index.json");
	int fresh = !md_path_exists(ip); /* the store's first commit */
	free(ip);
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
		if (img->sig) {
			md_json_sets(img->sig, "verified", now);
			md_json_set(rec, "signature", md_json_clone(img->sig));
		}
		if (img->manifest[0] && (img->tags.n || img->digname)) {
			for (size_t t = 0; t <= img->tags.n; t++) {
				struct md_ref ref;
				char name[600], rd[800];
				if (t == img->tags.n)
					snprintf(name, sizeof name, "%s", img->digname ? img->digname : "");
				else if (md_ref_parse(img->tags.v[t], &ref) == 0)
					md_ref_name(&ref, name, sizeof name);
				else
					continue;
				if (!name[0])
					continue;
				snprintf(rd, sizeof rd, "%s@%s", name, img->manifest);
				md_image_add_digest(rec, rd);
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
	char *ld = md_store_path("layers"), *bd = md_store_path("blobs/sha256");
	r = md_fsync_dir(ld) < 0 || md_fsync_dir(bd) < 0 ? -1 : md_index_write(idx);
	free(ld);
	free(bd);
	if (r == 0 && report) {
		for (size_t i = 0; i < msgs.n; i++)
			md_sb_printf(report, "%s\n", msgs.v[i]);
		for (size_t k = 0; k < L->nimg; k++) {
			if (!L->img[k].tags.n)
				md_sb_printf(report, "Loaded image ID: %s\n", L->img[k].id);
			for (size_t t = 0; t < L->img[k].tags.n; t++)
				md_sb_printf(report, "Loaded image: %s\n", L->img[k].tags.v[t]);
		}
	}
out:
	if (r < 0 && idx) /* what this commit put in place, unnamed: the store as it was */
		md_store_sweep(MD_SWEEP_ALL | (fresh ? MD_SWEEP_NOINDEX : 0), NULL);
	md_json_free(idx);
	md_strv_free(&msgs);
	md_store_unlock();
	return r;
}

/* Load a docker-archive or OCI layout from fd into the store; report as
 * md_load_commit. */
static int md_load_fd(int fd, int (*admit)(const char *transport), struct md_sb *report)
{
	struct md_load L;
	memset(&L, 0, sizeof L);
	if (md_sess_begin(&L.sess) < 0)
		return -1;
	struct md_decomp_archive *za = md_alloc(sizeof *za);
	struct archive *a = NULL;
	int r = -1;
	if (md_decomp_open(&za->z, md_src_fd(fd), 0) < 0)
		goto out;
	if (za->z.ilen == 0 && za->z.ieof) {
		md_errk(MD_EK_INVALID, "the input is empty");
		goto out;
	}
	a = archive_read_new();
	archive_read_support_format_tar(a);
	if (archive_read_open(a, za, NULL, md_decomp_archive_read, NULL) != ARCHIVE_OK) {
		md_errk(MD_EK_INVALID, "not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			md_errk(MD_EK_INVALID, "not a valid image archive: %s", archive_error_string(a));
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
		r = md_errk(MD_EK_INVALID, "not a docker-archive or OCI image layout: no manifest.json or index.json in the archive");
	if (r == 0 && admit)
		r = admit(mf ? "docker-archive" : "oci-archive");
	if (r == 0)
		r = md_load_commit(&L, report);
out:
	if (a)
		archive_read_free(a);
	md_decomp_close(&za->z);
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
		/* "KEY value" (one pair), or KEY=VALUE pairs with "..." or '...'
		 * quoting and backslash escapes, as a Dockerfile has them */
		struct md_strv kvs = {0};
		const char *eq = strchr(arg, '='), *sp = arg + strcspn(arg, " \t");
		if (!eq || sp < eq) {
			const char *v = sp;
			while (isspace((unsigned char)*v))
				v++;
			if (!*v)
				return md_err("change \"%s\": expected KEY=VALUE", chg);
			char *t = md_asprintf("%.*s=%s", (int)(sp - arg), arg, v);
			md_strv_push(&kvs, t);
			free(t);
		} else {
			for (const char *p = arg; *p;) {
				while (isspace((unsigned char)*p))
					p++;
				if (!*p)
					break;
				struct md_sb b = {0};
				char q = 0;
				for (; *p && (q || !isspace((unsigned char)*p)); p++) {
					if (q && *p == q)
						q = 0;
					else if (!q && (*p == '"' || *p == '\''))
						q = *p;
					else if (*p == '\\' && p[1] && q != '\'')
						md_sb_putc(&b, *++p);
					else
						md_sb_putc(&b, *p);
				}
				const char *s1 = md_sb_str(&b);
				if (q || !strchr(s1, '=') || s1[0] == '=') {
					md_sb_free(&b);
					md_strv_free(&kvs);
					return md_err("change \"%s\": expected KEY=VALUE pairs", chg);
				}
				md_strv_push(&kvs, s1);
				md_sb_free(&b);
			}
		}
		for (size_t i = 0; i < kvs.n; i++) {
			char *kv = kvs.v[i];
			size_t kl = strcspn(kv, "=");
			if (env) {
				int done = 0; /* replace an existing KEY= */
				for (struct md_json *x = l->child; x && !done; x = x->next)
					if (x->s && strncmp(x->s, kv, kl) == 0 && x->s[kl] == '=') {
						free(x->s);
						x->s = md_strdup(kv);
						done = 1;
					}
				if (!done)
					md_json_push(l, md_json_newstr(kv));
			} else {
				kv[kl] = 0;
				md_json_sets(l, kv, kv + kl + 1);
			}
		}
		md_strv_free(&kvs);
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
                        int (*admit)(const char *transport), char id[MD_DIGEST_LEN + 1])
{
	struct md_load L;
	memset(&L, 0, sizeof L);
	if (admit && admit(NULL) < 0)
		return -1;
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
	if (!md_want.os[0])
		md_platform_host(&md_want);
	md_json_sets(cfg, "architecture", md_want.arch);
	if (md_want.variant[0])
		md_json_sets(cfg, "variant", md_want.variant);
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
	if (md_load_commit(&L, NULL) < 0)
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

/**** 12 registry client: HTTP/1.1 over BearSSL, auth, signatures, pull, push [MD_FEATURE_PULL] */
/*
 * A small HTTP/1.1 client of minidock's own: TCP with timeouts, TLS through
 * BearSSL (the system CA bundle, per-registry CAs and client certificates in
 * Docker's certs.d layout, SNI and name checks), proxies via CONNECT,
 * keep-alive, content-length, chunked and close-delimited bodies, redirects
 * (never forwarding the registry's Authorization to another host), and the
 * registry's auth (anonymous and authenticated bearer tokens, basic).  The
 * response parsers take hostile input and are fuzzed.  On top: pull (one
 * pass: download, hash, decompress, unpack), resumable through partial
 * blobs kept in ROOT/pulls/, and push.
 *
 * May call: sections 01-11.
 */

#if MD_FEATURE_PULL

#define MD_HTTP_MAX_HEAD (64u << 10)   /* status line and headers */
#define MD_HTTP_MAX_LINE (16u << 10)
#define MD_HTTP_TIMEOUT_MS 30000

static const char *md_config_dir(void)
{
	const char *d = getenv("MINIDOCK_CONFIG_DIR");
	return d && *d ? d : MD_CONFIG_DIR;
}

/* ---- URLs ---- */

struct md_url {
	char scheme[8];
	char host[256];  /* without brackets for IPv6 */
	int port;
	char path[4096]; /* with the query */
};

/* A host in a URL or message: an IPv6 literal in brackets. */
#define MD_HOST_FMT "%s%s%s"
#define MD_HOST_ARGS(h) (strchr((h), ':') ? "[" : ""), (h), (strchr((h), ':') ? "]" : "")

static int md_url_parse(const char *s, struct md_url *u)
{
	memset(u, 0, sizeof *u);
	const char *p = strstr(s, "://");
	if (!p || p - s >= (long)sizeof u->scheme)
		return md_err("invalid URL \"%.200s\"", s);
	memcpy(u->scheme, s, (size_t)(p - s));
	for (char *c = u->scheme; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	int https = strcmp(u->scheme, "https") == 0;
	if (!https && strcmp(u->scheme, "http") != 0)
		return md_err("unsupported URL scheme in \"%.200s\"", s);
	p += 3;
	const char *end = p + strcspn(p, "/?#");
	const char *hs = p, *he = end, *colon = NULL;
	if (memchr(p, '@', (size_t)(end - p)))
		return md_err("URLs with credentials are not supported: \"%.200s\"", s);
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return md_err("invalid URL \"%.200s\"", s);
		hs = p + 1;
		he = rb;
		if (rb + 1 < end && rb[1] != ':')
			return md_err("invalid URL \"%.200s\"", s); /* "[::1]x" */
		colon = rb + 1 < end ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		if (colon)
			he = colon;
	}
	if (he <= hs || he - hs >= (long)sizeof u->host)
		return md_err("invalid host in URL \"%.200s\"", s);
	memcpy(u->host, hs, (size_t)(he - hs));
	u->port = https ? 443 : 80;
	if (colon) {
		char *e;
		long v = isdigit((unsigned char)colon[1]) ? strtol(colon + 1, &e, 10) : (e = (char *)colon, 0);
		if (e != end || v < 1 || v > 65535)
			return md_err("invalid port in URL \"%.200s\"", s);
		u->port = (int)v;
	}
	for (const char *c = u->host; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != ':' && *c != '_')
			return md_err("invalid host in URL \"%.200s\"", s);
	const char *path = *end == '/' || *end == '?' ? end : "/";
	if (strlen(path) >= sizeof u->path)
		return md_err("URL too long");
	snprintf(u->path, sizeof u->path, "%s%s", *path == '?' ? "/" : "", path);
	char *hash = strchr(u->path, '#');
	if (hash)
		*hash = 0;
	for (const char *c = u->path; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return md_err("invalid character in URL \"%.200s\"", s);
	return 0;
}

/* Resolve a Location header against the URL it came from. */
static int md_url_join(const struct md_url *base, const char *loc, struct md_url *out)
{
	/* absolute when a scheme comes before any / ? # (a query may hold "://") */
	const char *sch = strstr(loc, "://");
	if (sch && (size_t)(sch - loc) <= strcspn(loc, "/?#"))
		return md_url_parse(loc, out);
	*out = *base;
	if (loc[0] == '/' && loc[1] == '/') {
		char full[4400];
		snprintf(full, sizeof full, "%s:%s", base->scheme, loc);
		return md_url_parse(full, out);
	}
	if (loc[0] == '/') {
		if (strlen(loc) >= sizeof out->path)
			return md_err("redirect URL too long");
		snprintf(out->path, sizeof out->path, "%s", loc);
	} else {
		char *sl = strrchr(out->path, '/');
		size_t keep = sl ? (size_t)(sl - out->path) + 1 : 0;
		if (keep + strlen(loc) >= sizeof out->path)
			return md_err("redirect URL too long");
		snprintf(out->path + keep, sizeof out->path - keep, "%s", loc);
	}
	for (const char *c = out->path; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return md_err("invalid character in redirect");
	return 0;
}

/* ---- base64 ---- */

static char *md_b64(const void *data, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char *o = md_alloc(4 * ((n + 2) / 3) + 1), *q = o;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		*q++ = t[v >> 18];
		*q++ = t[(v >> 12) & 63];
		*q++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
		*q++ = i + 2 < n ? t[v & 63] : '=';
	}
	*q = 0;
	return o;
}

/* Decode base64 (standard alphabet, padding optional); NULL if invalid. */
static MD_UNUSED char *md_unb64(const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	char *o = md_alloc(n * 3 / 4 + 3);
	size_t k = 0;
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int c = s[i];
		int d = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
		        : c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : c == '=' ? -2 : -1;
		if (d == -2)
			break;
		if (d < 0) {
			free(o);
			return NULL;
		}
		v = v << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (char)((v >> bits) & 0xff);
		}
	}
	o[k] = 0;
	if (outlen)
		*outlen = k;
	return o;
}

/* ---- HTTP response heads: a pure parser, for hostile input ---- */

struct md_http_resp {
	int status;
	char reason[128];
	struct md_strv hdr;   /* "name: value", names lower-cased */
	int64_t clen;         /* -1 when not given */
	int chunked;
	/* body state */
	uint64_t left;        /* content-length left, or chunk bytes left */
	int chunk_state;      /* 0 size line next, 1 in chunk, 2 CRLF after chunk, 3 done */
	int done;
};

static void md_http_resp_free(struct md_http_resp *r)
{
	md_strv_free(&r->hdr);
	memset(r, 0, sizeof *r);
}

static const char *md_http_header(const struct md_http_resp *r, const char *name)
{
	size_t l = strlen(name);
	for (size_t i = 0; i < r->hdr.n; i++)
		if (strncmp(r->hdr.v[i], name, l) == 0 && r->hdr.v[i][l] == ':')
			return r->hdr.v[i] + l + 2;
	return NULL;
}

/*
 * Parse a complete head ("HTTP/1.1 200 OK\r\n...\r\n\r\n", len bytes without
 * anything after).  Refuses what a server has no business sending: bad
 * status lines, control characters, folded or oversized headers, two
 * different Content-Lengths, Content-Length with chunked.
 */
static int md_http_parse_head1(const char *buf, size_t len, struct md_http_resp *r)
{
	memset(r, 0, sizeof *r);
	r->clen = -1;
	const char *p = buf, *end = buf + len;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol || eol - p < 12 || strncmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return md_err("not an HTTP/1.x response");
	if (!isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]) ||
	    (p + 12 < eol && p[12] != ' ' && p[12] != '\r'))
		return md_err("bad HTTP status line");
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100 || r->status > 599)
		return md_err("bad HTTP status %d", r->status);
	const char *rs = p + 12 < eol ? p + 13 : eol;
	size_t rl = (size_t)(eol - rs);
	if (rl && rs[rl - 1] == '\r')
		rl--;
	snprintf(r->reason, sizeof r->reason, "%.*s", (int)(rl < sizeof r->reason ? rl : sizeof r->reason - 1), rs);
	for (char *c = r->reason; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	p = eol + 1;
	int te_chunked = 0, te_other = 0;
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return md_err("HTTP header without an end of line");
		size_t l = (size_t)(eol - p);
		if (l && p[l - 1] == '\r')
			l--;
		if (l == 0) {
			p = eol + 1;
			break;
		}
		if (p[0] == ' ' || p[0] == '\t')
			return md_err("folded HTTP header");
		const char *colon = memchr(p, ':', l);
		if (!colon || colon == p || l > MD_HTTP_MAX_LINE)
			return md_err("bad HTTP header");
		for (const char *c = p; c < colon; c++)
			if (!isalnum((unsigned char)*c) && (!*c || !strchr("!#$%&'*+-.^_`|~", *c)))
				return md_err("bad HTTP header name");
		const char *v = colon + 1, *ve = p + l;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *c = v; c < ve; c++)
			if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
				return md_err("control character in an HTTP header");
		if (r->hdr.n >= 200)
			return md_err("too many HTTP headers");
		struct md_sb h = {0};
		for (const char *c = p; c < colon; c++)
			md_sb_putc(&h, (char)tolower((unsigned char)*c));
		md_sb_puts(&h, ": ");
		md_sb_putn(&h, v, (size_t)(ve - v));
		if (md_startswith(h.s, "content-length: ")) {
			char *e;
			errno = 0;
			long long cl = strtoll(h.s + 16, &e, 10);
			if (errno || *e || cl < 0 || !isdigit((unsigned char)h.s[16]) || (r->clen >= 0 && r->clen != cl)) {
				md_sb_free(&h);
				return md_err("bad Content-Length");
			}
			r->clen = cl;
		} else if (md_startswith(h.s, "transfer-encoding: ")) {
			/* the last coding must be chunked; anything else we cannot read */
			const char *te = h.s + 19;
			for (const char *q = te; *q;) {
				size_t n = strcspn(q, ",");
				const char *a = q, *b = q + n;
				while (a < b && isspace((unsigned char)*a))
					a++;
				while (b > a && isspace((unsigned char)b[-1]))
					b--;
				if ((size_t)(b - a) == 7 && strncasecmp(a, "chunked", 7) == 0)
					te_chunked = 1;
				else if (b > a && !((size_t)(b - a) == 8 && strncasecmp(a, "identity", 8) == 0))
					te_other = 1;
				q += n;
				if (*q)
					q++;
			}
		}
		md_strv_push(&r->hdr, h.s);
		md_sb_free(&h);
		p = eol + 1;
	}
	if (p != end)
		return md_err("data after the HTTP header block");
	if (te_other)
		return md_err("unsupported Transfer-Encoding");
	if (te_chunked) {
		if (r->clen >= 0)
			return md_err("both Content-Length and chunked encoding");
		r->chunked = 1;
	}
	if (r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200)) {
		r->clen = 0; /* no body, whatever the headers say */
		r->chunked = 0;
	}
	r->left = r->clen >= 0 ? (uint64_t)r->clen : 0;
	r->done = r->clen == 0 && !r->chunked;
	return 0;
}

/* Parse a response head; on failure nothing is left allocated in r. */
static int md_http_parse_head(const char *buf, size_t len, struct md_http_resp *r)
{
	int rc = md_http_parse_head1(buf, len, r);
	if (rc < 0)
		md_http_resp_free(r);
	return rc;
}

/* ---- WWW-Authenticate ---- */

struct md_challenge {
	char scheme[16];  /* "bearer" or "basic" */
	char realm[1024], service[256], scope[1024];
};

/* Parse the first Bearer challenge (else the first Basic one). */
static int md_auth_parse(const char *h, struct md_challenge *c)
{
	memset(c, 0, sizeof *c);
	const char *p = h;
	int have = 0, ignore = 0; /* ignore: parameters of a scheme not taken */
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *s = p;
		while (*p && *p != ' ' && *p != ',' && *p != '=')
			p++;
		if (p == s)
			break;
		char word[32];
		snprintf(word, sizeof word, "%.*s", (int)(p - s < 31 ? p - s : 31), s);
		for (char *w = word; *w; w++)
			*w = (char)tolower((unsigned char)*w);
		if (*p == '=') { /* a parameter of the current challenge */
			p++;
			char val[1024];
			size_t k = 0;
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1])
						p++;
					if (k + 1 < sizeof val)
						val[k++] = *p;
					p++;
				}
				if (*p != '"')
					return md_err("bad WWW-Authenticate header: unterminated quote");
				p++;
			} else {
				while (*p && *p != ',' && *p != ' ') {
					if (k + 1 < sizeof val)
						val[k++] = *p;
					p++;
				}
			}
			val[k] = 0;
			if (!have)
				return md_err("bad WWW-Authenticate header: a parameter before any scheme");
			if (ignore)
				continue;
			if (strcmp(word, "realm") == 0)
				snprintf(c->realm, sizeof c->realm, "%s", val);
			else if (strcmp(word, "service") == 0)
				snprintf(c->service, sizeof c->service, "%.255s", val);
			else if (strcmp(word, "scope") == 0)
				snprintf(c->scope, sizeof c->scope, "%s", val);
			continue;
		}
		/* a new scheme: the first Bearer wins (with its parameters), else
		 * the first scheme */
		if (have && strcmp(c->scheme, "bearer") == 0)
			break;
		if (!have || strcmp(word, "bearer") == 0) {
			memset(c, 0, sizeof *c);
			snprintf(c->scheme, sizeof c->scheme, "%.15s", word);
			have = 1;
			ignore = 0;
		} else {
			ignore = 1;
		}
	}
	if (!have)
		return md_err("empty WWW-Authenticate header");
	if (strcmp(c->scheme, "bearer") != 0 && strcmp(c->scheme, "basic") != 0)
		return md_err("unsupported authentication scheme \"%s\"", c->scheme);
	if (strcmp(c->scheme, "bearer") == 0 && !c->realm[0])
		return md_err("bearer challenge without a realm");
	return 0;
}

/* ---- TLS material: trust anchors, client certificates ---- */

struct md_tls {
	br_x509_trust_anchor *ta;
	size_t nta;
	br_x509_certificate *chain; /* client certificate, if any */
	size_t nchain;
	br_skey_decoder_context *skey;
};

static void md_pem_cb(void *ctx, const void *data, size_t len)
{
	md_sb_putn(ctx, data, len);
}

/* Each PEM object of a buffer: cb(name, der, len). */
static int md_pem_each(const char *buf, size_t len, void (*cb)(void *, const char *, const unsigned char *, size_t),
                       void *ctx)
{
	br_pem_decoder_context pc;
	br_pem_decoder_init(&pc);
	struct md_sb der = {0};
	char name[128] = "";
	int inobj = 0;
	while (len > 0) {
		size_t k = br_pem_decoder_push(&pc, buf, len);
		buf += k;
		len -= k;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
			der.len = 0;
			br_pem_decoder_setdest(&pc, md_pem_cb, &der);
			inobj = 1;
			break;
		case BR_PEM_END_OBJ:
			if (inobj)
				cb(ctx, name, (const unsigned char *)md_sb_str(&der), der.len);
			inobj = 0;
			break;
		case BR_PEM_ERROR:
			md_sb_free(&der);
			return md_err("malformed PEM data");
		default:
			break;
		}
	}
	md_sb_free(&der);
	return 0;
}

static void md_x509_dn_cb(void *ctx, const void *data, size_t len)
{
	md_sb_putn(ctx, data, len);
}

static void md_tls_add_ca(void *ctx, const char *name, const unsigned char *der, size_t len)
{
	struct md_tls *t = ctx;
	if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0)
		return;
	br_x509_decoder_context dc;
	struct md_sb dn = {0};
	br_x509_decoder_init(&dc, md_x509_dn_cb, &dn);
	br_x509_decoder_push(&dc, der, len);
	br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || br_x509_decoder_last_error(&dc) != 0) {
		md_sb_free(&dn);
		return;
	}
	t->ta = md_realloc(t->ta, (t->nta + 1) * sizeof *t->ta);
	br_x509_trust_anchor *ta = &t->ta[t->nta++];
	memset(ta, 0, sizeof *ta);
	ta->dn.data = (unsigned char *)md_strndup(md_sb_str(&dn), dn.len);
	ta->dn.len = dn.len;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta->pkey.key.rsa.n = memcpy(md_alloc(pk->key.rsa.nlen), pk->key.rsa.n, pk->key.rsa.nlen);
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = memcpy(md_alloc(pk->key.rsa.elen), pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
	} else {
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = memcpy(md_alloc(pk->key.ec.qlen), pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.qlen = pk->key.ec.qlen;
	}
	md_sb_free(&dn);
}

static int md_tls_add_ca_file(struct md_tls *t, const char *path)
{
	size_t len;
	char *buf = md_read_file(path, 8u << 20, &len);
	if (!buf)
		return -1;
	size_t before = t->nta;
	int r = md_pem_each(buf, len, md_tls_add_ca, t);
	free(buf);
	if (r < 0)
		return md_err_wrap("%s", path);
	if (t->nta == before)
		return md_err("%s holds no CA certificate", path);
	return 0;
}

static void md_tls_add_chain(void *ctx, const char *name, const unsigned char *der, size_t len)
{
	struct md_tls *t = ctx;
	if (!strstr(name, "CERTIFICATE"))
		return;
	t->chain = md_realloc(t->chain, (t->nchain + 1) * sizeof *t->chain);
	t->chain[t->nchain].data = memcpy(md_alloc(len), der, len);
	t->chain[t->nchain].data_len = len;
	t->nchain++;
}

static void md_tls_add_key(void *ctx, const char *name, const unsigned char *der, size_t len)
{
	struct md_tls *t = ctx;
	if (!strstr(name, "PRIVATE KEY") || t->skey)
		return;
	t->skey = md_alloc(sizeof *t->skey);
	br_skey_decoder_init(t->skey);
	br_skey_decoder_push(t->skey, der, len);
}

/* CAs and client certificates of certs.d/HOST:PORT (minidock's and Docker's). */
static int md_tls_certsd(struct md_tls *t, const char *hostport)
{
	char *dirs[2] = {md_asprintf("%s/certs.d/%s", md_config_dir(), hostport),
	                 md_asprintf("/etc/docker/certs.d/%s", hostport)};
	int r = 0;
	for (int i = 0; i < 2 && r == 0; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *de;
		char *cert = NULL, *key = NULL;
		while (d && (de = readdir(d))) {
			char *p = md_asprintf("%s/%s", dirs[i], de->d_name);
			if (md_endswith(de->d_name, ".crt"))
				r = md_tls_add_ca_file(t, p) < 0 ? -1 : r;
			else if (md_endswith(de->d_name, ".cert") && !cert)
				cert = md_strdup(p);
			else if (md_endswith(de->d_name, ".key") && !key)
				key = md_strdup(p);
			free(p);
		}
		if (d)
			closedir(d);
		if (cert && key && r == 0 && !t->nchain) {
			size_t l1, l2;
			char *c = md_read_file(cert, 1 << 20, &l1), *k = md_read_file(key, 1 << 20, &l2);
			if (c && k) {
				md_pem_each(c, l1, md_tls_add_chain, t);
				md_pem_each(k, l2, md_tls_add_key, t);
			}
			if (!t->nchain || !t->skey || br_skey_decoder_last_error(t->skey) != 0)
				r = md_err("client certificate %s or key %s is not usable", cert, key);
			free(c);
			free(k);
		}
		free(cert);
		free(key);
	}
	free(dirs[0]);
	free(dirs[1]);
	return r;
}

/* ---- the server certificate's names: IP addresses ---- */

/*
 * BearSSL's minimal X.509 engine matches the host name against dNSName
 * entries only.  A registry addressed by IP must be named by an iPAddress
 * entry of the end-entity certificate (as Go's crypto/x509 checks, which
 * Docker uses; never the CN).  md_x509w wraps the minimal engine: every
 * call goes through to it, so the chain is validated exactly as before,
 * and the first certificate's DER is kept for a small DER walker that
 * reads its subjectAltName.  It also explains BearSSL's own refusal of a
 * DNS name by listing what the certificate names.  The walker reads
 * untrusted bytes (only after the chain validated, but it is unit-tested
 * and fuzzed as if not).
 */
#define MD_X509_MAX_EE (64u << 10) /* a larger end-entity certificate is refused */

/* One DER TLV at *p (before end): single-byte tags, definite lengths of at
 * most 4 bytes; *p moves past it.  -1 when it does not fit. */
static int md_der_next(const unsigned char **p, const unsigned char *end, unsigned *tag, const unsigned char **val,
                       size_t *len)
{
	const unsigned char *q = *p;
	if (end - q < 2 || (q[0] & 0x1f) == 0x1f)
		return -1;
	*tag = *q++;
	size_t n = *q++;
	if (n & 0x80) {
		size_t k = n & 0x7f;
		if (k == 0 || k > 4 || (size_t)(end - q) < k)
			return -1;
		for (n = 0; k--;)
			n = n << 8 | *q++;
	}
	if (n > (size_t)(end - q))
		return -1;
	*val = q;
	*len = n;
	*p = q + n;
	return 0;
}

/* The next TLV must have tag t. */
static int md_der_want(const unsigned char **p, const unsigned char *end, unsigned t, const unsigned char **val,
                       size_t *len)
{
	unsigned tag;
	return md_der_next(p, end, &tag, val, len) < 0 || tag != t ? -1 : 0;
}

/* cb(ctx, tag, value, len) for each dNSName (tag 0x82) and iPAddress (0x87,
 * 4 or 16 bytes) of a certificate's subjectAltName; 0 (also without one),
 * or -1 when the certificate is malformed on the way there. */
static int md_x509_san(const unsigned char *der, size_t len, void (*cb)(void *, unsigned, const unsigned char *, size_t),
                       void *ctx)
{
	const unsigned char *p = der, *end = der + len, *v;
	size_t n;
	unsigned tag;
	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { ..., [3] extensions }, ... } */
	if (md_der_want(&p, end, 0x30, &v, &n) < 0 || (p = v, end = v + n, md_der_want(&p, end, 0x30, &v, &n) < 0))
		return md_err("malformed certificate");
	int seen = 0;
	for (p = v, end = v + n; p < end;) {
		if (md_der_next(&p, end, &tag, &v, &n) < 0)
			return md_err("malformed certificate");
		if (tag != 0xa3)
			continue;
		const unsigned char *xp = v, *xe = v + n;
		if (md_der_want(&xp, xe, 0x30, &v, &n) < 0 || xp != xe)
			return md_err("malformed certificate extensions");
		/* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN OPTIONAL, extnValue OCTET STRING } */
		for (xp = v, xe = v + n; xp < xe;) {
			const unsigned char *ep, *ee;
			if (md_der_want(&xp, xe, 0x30, &ep, &n) < 0 || (ee = ep + n, md_der_want(&ep, ee, 0x06, &v, &n) < 0))
				return md_err("malformed certificate extension");
			if (n != 3 || memcmp(v, "\x55\x1d\x11", 3) != 0) /* 2.5.29.17 */
				continue;
			if (seen++)
				return md_err("certificate has two subjectAltName extensions");
			if (md_der_next(&ep, ee, &tag, &v, &n) < 0 || (tag == 0x01 && md_der_next(&ep, ee, &tag, &v, &n) < 0) ||
			    tag != 0x04 || ep != ee)
				return md_err("malformed subjectAltName extension");
			/* GeneralNames ::= SEQUENCE OF GeneralName (tagged choices) */
			const unsigned char *gp = v, *ge = v + n;
			if (md_der_want(&gp, ge, 0x30, &v, &n) < 0 || gp != ge)
				return md_err("malformed subjectAltName");
			for (gp = v, ge = v + n; gp < ge;) {
				if (md_der_next(&gp, ge, &tag, &v, &n) < 0)
					return md_err("malformed subjectAltName");
				if (tag == 0x87 && n != 4 && n != 16)
					return md_err("subjectAltName has an iPAddress of %zu bytes", n);
				if (tag == 0x82 || tag == 0x87)
					cb(ctx, tag, v, n);
			}
		}
	}
	return 0;
}

/* What a subjectAltName names, and whether it names one address. */
struct md_san_names {
	const unsigned char *ip; /* the address wanted (4 or 16 bytes), or NULL */
	size_t iplen;
	int found;
	unsigned n;
	char list[256]; /* the first names, for the message */
};

static void md_san_collect(void *ctx, unsigned tag, const unsigned char *v, size_t n)
{
	struct md_san_names *s = ctx;
	char one[80];
	if (tag == 0x87) {
		char a[INET6_ADDRSTRLEN];
		if (s->ip && n == s->iplen && memcmp(v, s->ip, n) == 0)
			s->found = 1;
		inet_ntop(n == 4 ? AF_INET : AF_INET6, v, a, sizeof a);
		snprintf(one, sizeof one, "IP:%s", a);
	} else {
		size_t k = 0;
		for (; k < n && k < 64; k++)
			one[k] = v[k] > 0x20 && v[k] < 0x7f ? (char)v[k] : '?';
		snprintf(one + k, sizeof one - k, "%s", k < n ? "..." : "");
	}
	size_t l = strlen(s->list);
	if (s->n++ < 6)
		snprintf(s->list + l, sizeof s->list - l, "%s%s%s", l ? ", " : "", tag == 0x82 ? "DNS:" : "", one);
	else if (s->n == 7)
		snprintf(s->list + l, sizeof s->list - l, ", ...");
}

/* The X.509 class wrapped around BearSSL's minimal engine. */
struct md_x509w {
	const br_x509_class *vtable;
	br_x509_minimal_context *in;
	char host[256];      /* as addressed */
	unsigned char ip[16];
	size_t iplen;        /* 4 or 16 when host is an IP literal, else 0 */
	unsigned char *ee;   /* the end-entity certificate's DER */
	size_t eelen, eemax;
	int ncert;
	char why[640];       /* the refusal, said in full */
};

#define MD_XW(ctx) ((struct md_x509w *)(void *)(ctx))
#define MD_XIN(w) (&(w)->in->vtable)

static void md_xw_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct md_x509w *w = MD_XW(ctx);
	w->ncert = 0;
	w->why[0] = 0;
	w->in->vtable->start_chain(MD_XIN(w), server_name);
}

static void md_xw_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct md_x509w *w = MD_XW(ctx);
	if (w->ncert == 0) {
		free(w->ee);
		w->ee = length <= MD_X509_MAX_EE ? md_alloc(length) : NULL;
		w->eemax = w->ee ? length : 0;
		w->eelen = 0;
	}
	w->in->vtable->start_cert(MD_XIN(w), length);
}

static void md_xw_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct md_x509w *w = MD_XW(ctx);
	if (w->ncert == 0 && w->ee) {
		size_t k = len < w->eemax - w->eelen ? len : w->eemax - w->eelen;
		memcpy(w->ee + w->eelen, buf, k);
		w->eelen += k;
	}
	w->in->vtable->append(MD_XIN(w), buf, len);
}

static void md_xw_end_cert(const br_x509_class **ctx)
{
	struct md_x509w *w = MD_XW(ctx);
	w->ncert++;
	w->in->vtable->end_cert(MD_XIN(w));
}

/* The minimal engine's verdict first; then, for an IP literal, the address
 * among the iPAddress entries.  A name refusal gets its explanation. */
static unsigned md_xw_end_chain(const br_x509_class **ctx)
{
	struct md_x509w *w = MD_XW(ctx);
	unsigned err = w->in->vtable->end_chain(MD_XIN(w));
	if ((err != 0 && err != BR_ERR_X509_BAD_SERVER_NAME) || (err == 0 && !w->iplen))
		return err;
	struct md_san_names s = {.ip = w->iplen ? w->ip : NULL, .iplen = w->iplen};
	const char *what = w->iplen ? "IP address" : "host name";
	int rd = !w->ee || w->eelen != w->eemax || w->ncert == 0 ? md_err("larger than %u bytes", MD_X509_MAX_EE)
	                                                         : md_x509_san(w->ee, w->eelen, md_san_collect, &s);
	if (rd == 0 && s.found && err == 0)
		return 0;
	if (rd < 0 && w->iplen) /* (a DNS name keeps BearSSL's own words) */
		snprintf(w->why, sizeof w->why, "certificate is not valid for %s %s (%.200s)", what, w->host, md_errmsg);
	else if (rd == 0)
		snprintf(w->why, sizeof w->why, "certificate is not valid for %s %s (it names%s%s)", what, w->host,
		         s.n ? ": " : " no DNS name or IP address", s.list);
	return BR_ERR_X509_BAD_SERVER_NAME;
}

static const br_x509_pkey *md_xw_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct md_x509w *w = (const void *)ctx;
	return w->why[0] ? NULL : w->in->vtable->get_pkey((const br_x509_class *const *)MD_XIN(w), usages);
}

static const br_x509_class md_x509w_vtable = {
	sizeof(struct md_x509w), md_xw_start_chain, md_xw_start_cert, md_xw_append,
	md_xw_end_cert,          md_xw_end_chain,   md_xw_get_pkey,
};

/* Set up w around the minimal engine xc for a server addressed as host. */
static void md_xw_init(struct md_x509w *w, br_x509_minimal_context *xc, const char *host)
{
	memset(w, 0, sizeof *w);
	w->vtable = &md_x509w_vtable;
	w->in = xc;
	snprintf(w->host, sizeof w->host, "%s", host);
	if (inet_pton(AF_INET, host, w->ip) == 1)
		w->iplen = 4;
	else if (inet_pton(AF_INET6, host, w->ip) == 1)
		w->iplen = 16;
}

/* ---- connections ---- */

struct md_conn {
	int fd;
	int tls;
	br_ssl_client_context *sc;
	br_x509_minimal_context *xc;
	struct md_x509w *xw;
	br_sslio_context io;
	unsigned char *iobuf;
	unsigned char rbuf[16384];
	size_t rpos, rlen;
	char host[256];
	int port;
	int proxied;
};

static int md_sock_wait(int fd, short ev)
{
	struct pollfd pf = {fd, ev, 0};
	for (;;) {
		int r = poll(&pf, 1, MD_HTTP_TIMEOUT_MS);
		if (r > 0)
			return 0;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* read(2) with the timeout: > 0 bytes, 0 at EOF, -1 on error or timeout. */
static ssize_t md_sock_read_raw(int fd, void *buf, size_t len)
{
	for (;;) {
		if (md_sock_wait(fd, POLLIN) < 0)
			return -1;
		ssize_t r = read(fd, buf, len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return r;
	}
}

/* BearSSL's callback: -1 for EOF and errors alike. */
static int md_sock_read(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t r = md_sock_read_raw(*(int *)ctx, buf, len);
	if (r == 0)
		errno = 0; /* closed by the peer: no stale errno in the message */
	return r <= 0 ? -1 : (int)r;
}

static int md_sock_write(void *ctx, const unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	for (;;) {
		if (md_sock_wait(fd, POLLOUT) < 0)
			return -1;
		ssize_t r = write(fd, buf, len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return r <= 0 ? -1 : (int)r;
	}
}

static int md_tcp_connect(const char *host, int port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	int e = getaddrinfo(host, ps, &hints, &res);
	if (e)
		return md_err("cannot resolve %s: %s", host, gai_strerror(e));
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
			close(fd);
			fd = -1;
			continue;
		}
		int so = 0;
		socklen_t sl = sizeof so;
		if (md_sock_wait(fd, POLLOUT) < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0 || so) {
			err = so ? so : errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = err ? err : ECONNREFUSED;
		return md_errno("connect to %s:%d", host, port);
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void md_conn_close(struct md_conn *c)
{
	if (c->fd >= 0) {
		if (c->tls && c->sc)
			br_sslio_close(&c->io);
		close(c->fd);
	}
	free(c->sc);
	free(c->xc);
	if (c->xw)
		free(c->xw->ee);
	free(c->xw);
	free(c->iobuf);
	c->sc = NULL;
	c->xc = NULL;
	c->xw = NULL;
	c->iobuf = NULL;
	c->fd = -1;
	c->rpos = c->rlen = 0;
}

static const char *md_tls_error(struct md_conn *c)
{
	int e = c->sc ? br_ssl_engine_last_error(&c->sc->eng) : 0;
	static char buf[sizeof c->xw->why];
	if (e == BR_ERR_X509_BAD_SERVER_NAME && c->xw && c->xw->why[0]) {
		snprintf(buf, sizeof buf, "%s", c->xw->why); /* outlives md_conn_close */
		return buf;
	}
	switch (e) {
	case BR_ERR_X509_NOT_TRUSTED: return "certificate signed by unknown authority";
	case BR_ERR_X509_BAD_SERVER_NAME: return "certificate is not valid for this host name";
	case BR_ERR_X509_EXPIRED: return "certificate has expired or is not yet valid";
	case BR_ERR_X509_NOT_CA: return "certificate chain: an issuer is not a CA";
	case BR_ERR_X509_BAD_SIGNATURE: return "certificate has a bad signature";
	case BR_ERR_X509_TIME_UNKNOWN: return "no clock to check the certificate's dates";
	case BR_ERR_X509_CRITICAL_EXTENSION: return "certificate has an unsupported critical extension";
	case BR_ERR_BAD_VERSION: case BR_ERR_BAD_CIPHER_SUITE: return "no TLS version or cipher in common";
	case BR_ERR_IO: return errno ? strerror(errno) : "connection closed";
	case 0: return "connection closed";
	default:
		snprintf(buf, sizeof buf, "TLS error %d", e);
		return buf;
	}
}

static int md_conn_write(struct md_conn *c, const void *p, size_t n)
{
	if (c->tls) {
		if (br_sslio_write_all(&c->io, p, n) < 0 || br_sslio_flush(&c->io) < 0)
			return md_err("TLS write to %s failed (%s)", c->host, md_tls_error(c));
		return 0;
	}
	for (const char *q = p; n;) {
		int w = md_sock_write(&c->fd, (const unsigned char *)q, n);
		if (w < 0)
			return md_errno("write to %s", c->host);
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Up to n bytes; 0 at EOF; -1 on error. */
static ssize_t md_conn_read(struct md_conn *c, void *buf, size_t n)
{
	if (c->rpos < c->rlen) {
		size_t k = c->rlen - c->rpos < n ? c->rlen - c->rpos : n;
		memcpy(buf, c->rbuf + c->rpos, k);
		c->rpos += k;
		return (ssize_t)k;
	}
	if (c->tls) {
		int r = br_sslio_read(&c->io, buf, n);
		if (r < 0) {
			int e = br_ssl_engine_last_error(&c->sc->eng);
			if (e == BR_ERR_OK) /* the peer closed the connection properly */
				return 0;
			return md_err("TLS read from %s failed (%s)", c->host, md_tls_error(c));
		}
		return r;
	}
	ssize_t r = md_sock_read_raw(c->fd, buf, n);
	if (r < 0)
		return md_errno("read from %s", c->host);
	return r;
}

/* Fill the read buffer (for line parsing). */
static int md_conn_fill(struct md_conn *c)
{
	if (c->rpos > 0 && c->rpos < c->rlen)
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
	c->rlen -= c->rpos;
	c->rpos = 0;
	if (c->rlen == sizeof c->rbuf)
		return 1;
	ssize_t n;
	size_t save = c->rlen;
	c->rlen = 0; /* md_conn_read must read from the socket */
	n = c->tls ? br_sslio_read(&c->io, c->rbuf + save, sizeof c->rbuf - save)
	           : md_sock_read_raw(c->fd, c->rbuf + save, sizeof c->rbuf - save);
	c->rlen = save;
	if (n <= 0) {
		if (c->tls && br_ssl_engine_last_error(&c->sc->eng) != BR_ERR_OK)
			return md_err("TLS read from %s failed (%s)", c->host, md_tls_error(c));
		if (!c->tls && n < 0)
			return md_errno("read from %s", c->host);
		return 0;
	}
	c->rlen += (size_t)n;
	return 1;
}

/* Proxy for a URL from HTTPS_PROXY/HTTP_PROXY, unless NO_PROXY covers its host. */
static int md_proxy_for(const struct md_url *u, struct md_url *proxy)
{
	const char *np = getenv("NO_PROXY");
	if (!np)
		np = getenv("no_proxy");
	for (const char *p = np; p && *p;) {
		size_t n = strcspn(p, ", ");
		char item[256];
		snprintf(item, sizeof item, "%.*s", (int)(n < 255 ? n : 255), p);
		char *colon = strrchr(item, ':');
		if (colon && strchr(item, ']') == NULL && strchr(colon, '.') == NULL)
			*colon = 0; /* host:port entries match the host */
		const char *it = item[0] == '.' ? item + 1 : item;
		size_t hl = strlen(u->host), il = strlen(it);
		if (strcmp(item, "*") == 0 || (il && (strcasecmp(u->host, it) == 0 ||
		                                      (hl > il && u->host[hl - il - 1] == '.' && strcasecmp(u->host + hl - il, it) == 0))))
			return 0;
		p += n;
		while (*p == ',' || *p == ' ')
			p++;
	}
	int https = strcmp(u->scheme, "https") == 0;
	const char *px = getenv(https ? "HTTPS_PROXY" : "HTTP_PROXY");
	if (!px)
		px = getenv(https ? "https_proxy" : "http_proxy");
	if (!px || !*px)
		return 0;
	char buf[512];
	snprintf(buf, sizeof buf, "%s%s", strstr(px, "://") ? "" : "http://", px);
	if (md_url_parse(buf, proxy) < 0)
		return md_err_wrap("proxy");
	return 1;
}

/* Read a response head from the connection (up to the blank line). */
static int md_http_read_head(struct md_conn *c, struct md_http_resp *r)
{
	struct md_sb head = {0};
	for (;;) {
		if (c->rpos == c->rlen) {
			int f = md_conn_fill(c);
			if (f <= 0) {
				md_sb_free(&head);
				return f < 0 ? -1 : md_err("%s closed the connection without a response", c->host);
			}
		}
		/* copy up to and including a "\n\n" or "\r\n\r\n" */
		while (c->rpos < c->rlen) {
			char ch = (char)c->rbuf[c->rpos++];
			md_sb_putc(&head, ch);
			size_t l = head.len;
			if (ch == '\n' && ((l >= 2 && head.s[l - 2] == '\n') || (l >= 4 && memcmp(head.s + l - 4, "\r\n\r\n", 4) == 0))) {
				int pr = md_http_parse_head(head.s, head.len, r);
				md_sb_free(&head);
				/* an interim 100 Continue: read the real one */
				if (pr == 0 && r->status == 100) {
					md_http_resp_free(r);
					return md_http_read_head(c, r);
				}
				return pr;
			}
			if (head.len > MD_HTTP_MAX_HEAD) {
				md_sb_free(&head);
				return md_err("HTTP response head from %s is larger than %u bytes", c->host, MD_HTTP_MAX_HEAD);
			}
		}
	}
}

/* Open a connection to u's host (through a proxy, and TLS when https). */
static int md_conn_open(struct md_conn *c, const struct md_url *u, struct md_tls *tls)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	snprintf(c->host, sizeof c->host, "%s", u->host);
	c->port = u->port;
	struct md_url px;
	int via = md_proxy_for(u, &px);
	if (via < 0)
		return -1;
	c->fd = md_tcp_connect(via ? px.host : u->host, via ? px.port : u->port);
	if (c->fd < 0)
		return -1;
	c->tls = strcmp(u->scheme, "https") == 0;
	if (via && c->tls) {
		/* CONNECT tunnel, then TLS inside it */
		char req[700];
		int n = snprintf(req, sizeof req, "CONNECT " MD_HOST_FMT ":%d HTTP/1.1\r\nHost: " MD_HOST_FMT ":%d\r\n\r\n",
		                 MD_HOST_ARGS(u->host), u->port, MD_HOST_ARGS(u->host), u->port);
		int save = c->tls;
		c->tls = 0;
		struct md_http_resp r;
		if (md_conn_write(c, req, (size_t)n) < 0 || md_http_read_head(c, &r) < 0) {
			md_conn_close(c);
			return md_err_wrap("proxy %s", px.host);
		}
		int st = r.status;
		md_http_resp_free(&r);
		if (st != 200) {
			md_conn_close(c);
			return md_err("proxy %s refused to connect to %s:%d (HTTP %d)", px.host, u->host, u->port, st);
		}
		c->tls = save;
	} else if (via) {
		c->proxied = 1;
		snprintf(c->host, sizeof c->host, "%s", u->host);
	}
	if (!c->tls)
		return 0;
	c->sc = md_alloc(sizeof *c->sc);
	c->xc = md_alloc(sizeof *c->xc);
	c->iobuf = md_alloc(BR_SSL_BUFSIZE_BIDI);
	br_ssl_client_init_full(c->sc, c->xc, tls->ta, tls->nta);
	c->xw = md_alloc(sizeof *c->xw);
	md_xw_init(c->xw, c->xc, u->host);
	br_ssl_engine_set_x509(&c->sc->eng, &c->xw->vtable);
	/* With AES instructions, AES-GCM first: a Go server (the registry)
	 * picks ChaCha20 when a client lists it first, at twice the CPU here.
	 * Without them (ARM, MIPS), BearSSL's order stands. */
	if (br_aes_x86ni_ctr_get_vtable()) {
		static const uint16_t aes_first[] = {
			BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
			BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
			BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
			BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
			BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
			BR_TLS_RSA_WITH_AES_128_GCM_SHA256, BR_TLS_RSA_WITH_AES_256_GCM_SHA384,
			BR_TLS_RSA_WITH_AES_128_CBC_SHA256, BR_TLS_RSA_WITH_AES_256_CBC_SHA256,
			BR_TLS_RSA_WITH_AES_128_CBC_SHA, BR_TLS_RSA_WITH_AES_256_CBC_SHA};
		br_ssl_engine_set_suites(&c->sc->eng, aes_first, MD_ARRAY_LEN(aes_first));
	}
	time_t now = time(NULL);
	br_x509_minimal_set_time(c->xc, (uint32_t)(now / 86400 + 719528), (uint32_t)(now % 86400));
	if (tls->nchain && tls->skey) {
		if (br_skey_decoder_key_type(tls->skey) == BR_KEYTYPE_RSA)
			br_ssl_client_set_single_rsa(c->sc, tls->chain, tls->nchain, br_skey_decoder_get_rsa(tls->skey),
			                             br_rsa_pkcs1_sign_get_default());
		else
			br_ssl_client_set_single_ec(c->sc, tls->chain, tls->nchain, br_skey_decoder_get_ec(tls->skey),
			                            BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(),
			                            br_ecdsa_sign_asn1_get_default());
	}
	br_ssl_engine_set_buffer(&c->sc->eng, c->iobuf, BR_SSL_BUFSIZE_BIDI, 1);
	/* an IP literal: no SNI (RFC 6066), and no DNS name check; md_x509w
	 * checks the address */
	if (!br_ssl_client_reset(c->sc, c->xw->iplen ? NULL : u->host, 0)) {
		md_conn_close(c);
		return md_err("TLS setup for %s failed", u->host);
	}
	br_sslio_init(&c->io, &c->sc->eng, md_sock_read, &c->fd, md_sock_write, &c->fd);
	/* drive the handshake now, so a bad certificate is reported as such */
	br_sslio_flush(&c->io);
	unsigned st = br_ssl_engine_current_state(&c->sc->eng);
	if (st == BR_SSL_CLOSED) {
		const char *why = md_tls_error(c);
		md_conn_close(c);
		errno = 0;
		return md_err("TLS handshake with " MD_HOST_FMT ":%d failed: %s", MD_HOST_ARGS(u->host), u->port, why);
	}
	return 0;
}

/* Send a request; body (if any) of blen bytes.  Reads the response head. */
static int md_http_send(struct md_conn *c, const char *method, const struct md_url *u, const struct md_strv *hdrs,
                        const void *body, int64_t blen, struct md_http_resp *r)
{
	struct md_sb q = {0};
	if (c->proxied)
		md_sb_printf(&q, "%s %s://" MD_HOST_FMT ":%d%s HTTP/1.1\r\n", method, u->scheme, MD_HOST_ARGS(u->host), u->port,
		             u->path);
	else
		md_sb_printf(&q, "%s %s HTTP/1.1\r\n", method, u->path);
	int defport = u->port == (strcmp(u->scheme, "https") == 0 ? 443 : 80);
	md_sb_printf(&q, "Host: " MD_HOST_FMT, MD_HOST_ARGS(u->host));
	if (!defport)
		md_sb_printf(&q, ":%d", u->port);
	md_sb_printf(&q, "\r\nUser-Agent: minidock/%s\r\n", MD_VERSION);
	for (size_t i = 0; hdrs && i < hdrs->n; i++)
		md_sb_printf(&q, "%s\r\n", hdrs->v[i]);
	if (blen >= 0)
		md_sb_printf(&q, "Content-Length: %lld\r\n", (long long)blen);
	md_sb_puts(&q, "\r\n");
	int rc = md_conn_write(c, q.s, q.len);
	md_sb_free(&q);
	if (rc == 0 && body && blen > 0)
		rc = md_conn_write(c, body, (size_t)blen);
	if (rc < 0)
		return -1;
	if (!r)
		return 0;
	if (md_http_read_head(c, r) < 0)
		return -1;
	if (strcmp(method, "HEAD") == 0)
		r->done = 1; /* its Content-Length is the GET's: no body follows */
	return 0;
}

/* Read body bytes (content-length, chunked, or up to EOF); 0 when done. */
static ssize_t md_http_body(struct md_conn *c, struct md_http_resp *r, void *buf, size_t n)
{
	if (r->done)
		return 0;
	if (!r->chunked) {
		if (r->clen >= 0) {
			if (r->left == 0) {
				r->done = 1;
				return 0;
			}
			if (n > r->left)
				n = (size_t)r->left;
		}
		ssize_t k = md_conn_read(c, buf, n);
		if (k < 0)
			return -1;
		if (k == 0) {
			if (r->clen >= 0)
				return md_err("connection to %s closed %llu bytes before the end of the body", c->host,
				              (unsigned long long)r->left);
			r->done = 1;
			return 0;
		}
		if (r->clen >= 0)
			r->left -= (uint64_t)k;
		return k;
	}
	for (;;) {
		if (r->chunk_state == 1) {
			if (n > r->left)
				n = (size_t)r->left;
			ssize_t k = md_conn_read(c, buf, n);
			if (k <= 0)
				return k < 0 ? -1 : md_err("connection to %s closed inside a chunk", c->host);
			r->left -= (uint64_t)k;
			if (r->left == 0)
				r->chunk_state = 2;
			return k;
		}
		/* a line: chunk size, the CRLF after a chunk, or trailers */
		char line[256];
		size_t l = 0;
		for (;;) {
			if (c->rpos == c->rlen) {
				int f = md_conn_fill(c);
				if (f <= 0)
					return f < 0 ? -1 : md_err("connection to %s closed inside chunked data", c->host);
			}
			char ch = (char)c->rbuf[c->rpos++];
			if (ch == '\n')
				break;
			if (l + 1 >= sizeof line)
				return md_err("chunk header from %s is too long", c->host);
			line[l++] = ch;
		}
		if (l && line[l - 1] == '\r')
			l--;
		line[l] = 0;
		if (r->chunk_state == 2) {
			if (l)
				return md_err("malformed chunked data from %s", c->host);
			r->chunk_state = 0;
			continue;
		}
		if (r->chunk_state == 3) { /* trailers, up to a blank line */
			if (!l) {
				r->done = 1;
				return 0;
			}
			continue;
		}
		char *e;
		errno = 0;
		unsigned long long sz = strtoull(line, &e, 16);
		if (errno || e == line || (*e && *e != ';' && *e != ' ' && *e != '\t') || !isxdigit((unsigned char)line[0]) ||
		    strlen(line) > 16 + (size_t)(strchr(line, ';') ? strlen(strchr(line, ';')) : 0) + 16)
			return md_err("malformed chunk size from %s", c->host);
		if (sz == 0) {
			r->chunk_state = 3;
			continue;
		}
		r->left = sz;
		r->chunk_state = 1;
	}
}

/* Read a whole (small) body into memory. */
static char *md_http_slurp(struct md_conn *c, struct md_http_resp *r, size_t max, size_t *lenp)
{
	struct md_sb b = {0};
	char buf[16384];
	ssize_t n;
	while ((n = md_http_body(c, r, buf, sizeof buf)) > 0) {
		if (b.len + (size_t)n > max) {
			md_sb_free(&b);
			md_err("response from %s is larger than %zu bytes", c->host, max);
			return NULL;
		}
		md_sb_putn(&b, buf, (size_t)n);
	}
	if (n < 0) {
		md_sb_free(&b);
		return NULL;
	}
	if (lenp)
		*lenp = b.len;
	return b.s ? b.s : md_strdup("");
}

/* Discard the rest of a body so the connection can be reused (small ones only). */
static int md_http_drain(struct md_conn *c, struct md_http_resp *r)
{
	char buf[8192];
	ssize_t n;
	size_t total = 0;
	while ((n = md_http_body(c, r, buf, sizeof buf)) > 0)
		if ((total += (size_t)n) > (1u << 20))
			return -1;
	return n < 0 ? -1 : 0;
}

/* ---- registries: configuration, credentials, authenticated requests ---- */

struct md_reg {
	char name[256];          /* the reference's registry (host[:port]) */
	char repo[300];          /* library/busybox */
	struct md_url base;      /* where requests go (scheme, host, port) */
	struct md_tls tls;
	struct md_conn conn;
	char conn_key[300];      /* scheme://host:port of conn, "" if closed */
	char *basic;             /* base64(user:pass), or NULL */
	char *token;
	time_t token_exp;
	char token_scope[1100];
	char actions[32];        /* "pull" or "pull,push" */
};

static struct md_json *md_regcfg(void)
{
	char *p = md_asprintf("%s/registries.json", md_config_dir());
	struct md_json *j = md_path_exists(p) ? md_json_parse_file(p) : md_json_new(MD_J_OBJ);
	free(p);
	if (!j) {
		md_err_wrap("registry configuration");
		return NULL;
	}
	return j;
}

static int md_regcfg_listed(struct md_json *cfg, const char *key, const char *name)
{
	struct md_json *l = md_json_get(cfg, key);
	for (struct md_json *x = l ? l->child : NULL; x; x = x->next) {
		const char *v = md_json_str(x);
		if (!v)
			continue;
		if (md_startswith(v, "http://"))
			v += 7;
		if (strcmp(v, name) == 0)
			return 1;
	}
	return 0;
}

/* Credentials an API client sent with its request (X-Registry-Auth), as
 * config.json's "auth" (base64 of user:password); they win over the file. */
static char *md_creds_override;

/* Stored credentials for a registry, base64(user:pass) (Docker's "auths"). */
static char *md_creds_get(const char *registry)
{
	if (md_creds_override)
		return md_strdup(md_creds_override);
	char *p = md_asprintf("%s/config.json", md_config_dir());
	struct md_json *j = md_path_exists(p) ? md_json_parse_file(p) : NULL;
	free(p);
	md_err_clear();
	struct md_json *auths = md_json_get(j, "auths");
	const char *a = NULL;
	for (struct md_json *e = auths ? auths->child : NULL; e && !a; e = e->next) {
		const char *k = e->key;
		if (md_startswith(k, "https://"))
			k += 8;
		else if (md_startswith(k, "http://"))
			k += 7;
		size_t l = strcspn(k, "/");
		if (strlen(registry) == l && strncmp(k, registry, l) == 0)
			a = md_json_gets(e, "auth");
	}
	char *r = a && *a ? md_strdup(a) : NULL;
	md_json_free(j);
	return r;
}

static int md_creds_set(const char *registry, const char *b64)
{
	const char *dir = md_config_dir();
	if (md_mkdir_p(dir, 0755) < 0)
		return -1;
	char *p = md_asprintf("%s/config.json", dir);
	struct md_json *j = md_path_exists(p) ? md_json_parse_file(p) : md_json_new(MD_J_OBJ);
	int r = -1;
	if (j) {
		struct md_json *auths = md_json_get(j, "auths");
		if (!md_json_is(auths, MD_J_OBJ))
			auths = md_json_set(j, "auths", md_json_new(MD_J_OBJ));
		if (b64)
			md_json_sets(md_json_set(auths, registry, md_json_new(MD_J_OBJ)), "auth", b64);
		else
			md_json_del(auths, registry);
		char *s = md_json_dump(j, 1);
		r = md_write_file_atomic(p, s, strlen(s), 0600);
		chmod(p, 0600);
		free(s);
	}
	md_json_free(j);
	free(p);
	return r;
}

static void md_reg_close(struct md_reg *rg)
{
	md_conn_close(&rg->conn);
	rg->conn_key[0] = 0;
	free(rg->basic);
	free(rg->token);
	for (size_t i = 0; i < rg->tls.nta; i++) {
		free((void *)rg->tls.ta[i].dn.data);
		if (rg->tls.ta[i].pkey.key_type == BR_KEYTYPE_RSA) {
			free(rg->tls.ta[i].pkey.key.rsa.n);
			free(rg->tls.ta[i].pkey.key.rsa.e);
		} else {
			free(rg->tls.ta[i].pkey.key.ec.q);
		}
	}
	free(rg->tls.ta);
	for (size_t i = 0; i < rg->tls.nchain; i++)
		free(rg->tls.chain[i].data);
	free(rg->tls.chain);
	free(rg->tls.skey);
	memset(rg, 0, sizeof *rg);
	rg->conn.fd = -1;
}

/* Where to talk to for a reference, with what trust and credentials. */
static int md_reg_open(struct md_reg *rg, const struct md_ref *ref, const char *actions)
{
	memset(rg, 0, sizeof *rg);
	rg->conn.fd = -1;
	snprintf(rg->name, sizeof rg->name, "%s", ref->domain);
	snprintf(rg->repo, sizeof rg->repo, "%s", ref->path);
	snprintf(rg->actions, sizeof rg->actions, "%s", actions);
	struct md_json *cfg = md_regcfg();
	if (!cfg)
		return -1;
	char url[600];
	int insecure = md_regcfg_listed(cfg, "insecure-registries", ref->domain);
	if (strcmp(ref->domain, MD_DEFAULT_DOMAIN) == 0) {
		/* the default registry is whatever the configuration says: a mirror,
		 * or "default-registry-endpoint"; nothing is compiled in */
		struct md_json *m = md_json_get(cfg, "registry-mirrors");
		const char *ep = m && m->child ? md_json_str(m->child) : md_json_gets(cfg, "default-registry-endpoint");
		if (!ep) {
			md_json_free(cfg);
			return md_err("no endpoint for %s images: set \"registry-mirrors\" (or \"default-registry-endpoint\") in %s/registries.json",
			              MD_DEFAULT_DOMAIN, md_config_dir());
		}
		snprintf(url, sizeof url, "%s%s", strstr(ep, "://") ? "" : "https://", ep);
	} else {
		snprintf(url, sizeof url, "%s://%s", insecure ? "http" : "https", ref->domain);
	}
	if (md_url_parse(url, &rg->base) < 0) {
		md_json_free(cfg);
		return -1;
	}
	char hp[300];
	snprintf(hp, sizeof hp, "%s:%d", rg->base.host, rg->base.port);
	if (strcmp(rg->base.scheme, "http") == 0 && strcmp(ref->domain, MD_DEFAULT_DOMAIN) != 0 && !insecure) {
		md_json_free(cfg);
		return md_err("%s is not listed in insecure-registries: refusing plain HTTP", ref->domain);
	}
	if (strcmp(rg->base.scheme, "https") == 0) {
		const char *bundle = md_json_gets(cfg, "ca-bundle");
		if (!bundle)
			bundle = getenv("MINIDOCK_CA_BUNDLE");
		if (!bundle)
			bundle = MD_DEFAULT_CA_BUNDLE;
		if (md_path_exists(bundle) && md_tls_add_ca_file(&rg->tls, bundle) < 0) {
			md_json_free(cfg);
			return -1;
		}
		md_err_clear();
		/* certs.d by the name in the reference ("host:port", or "host" for 443) */
		if (md_tls_certsd(&rg->tls, ref->domain) < 0) {
			md_json_free(cfg);
			return -1;
		}
		if (!rg->tls.nta) {
			md_json_free(cfg);
			return md_err("no trusted CA certificates (%s is missing; add CAs in %s/certs.d/%s/)", bundle, md_config_dir(),
			              ref->domain);
		}
	}
	md_json_free(cfg);
	rg->basic = md_creds_get(ref->domain);
	return 0;
}

static int md_reg_conn(struct md_reg *rg, const struct md_url *u, struct md_conn **out, struct md_conn *tmp)
{
	char key[300];
	snprintf(key, sizeof key, "%s://%s:%d", u->scheme, u->host, u->port);
	int same = strcmp(u->host, rg->base.host) == 0 && u->port == rg->base.port && strcmp(u->scheme, rg->base.scheme) == 0;
	if (!same) { /* another host (blob storage): a connection of its own */
		if (md_conn_open(tmp, u, &rg->tls) < 0)
			return -1;
		*out = tmp;
		return 0;
	}
	if (strcmp(key, rg->conn_key) != 0 || rg->conn.fd < 0) {
		md_conn_close(&rg->conn);
		if (md_conn_open(&rg->conn, u, &rg->tls) < 0)
			return -1;
		snprintf(rg->conn_key, sizeof rg->conn_key, "%s", key);
	}
	*out = &rg->conn;
	return 0;
}

/* Get a bearer token for the challenge (anonymous, or with the credentials). */
static int md_reg_token(struct md_reg *rg, const struct md_challenge *ch)
{
	struct md_sb u = {0};
	md_sb_puts(&u, ch->realm);
	char sep = strchr(ch->realm, '?') ? '&' : '?';
	if (ch->service[0]) {
		md_sb_printf(&u, "%cservice=", sep);
		for (const char *p = ch->service; *p; p++)
			md_sb_printf(&u, isalnum((unsigned char)*p) || strchr("-_.~", *p) ? "%c" : "%%%02X", (unsigned char)*p);
		sep = '&';
	}
	char scope[1100];
	if (ch->scope[0])
		snprintf(scope, sizeof scope, "%s", ch->scope);
	else
		snprintf(scope, sizeof scope, "repository:%s:%s", rg->repo, rg->actions);
	md_sb_printf(&u, "%cscope=", sep);
	for (const char *p = scope; *p; p++)
		md_sb_printf(&u, isalnum((unsigned char)*p) || strchr("-_.~/:,", *p) ? "%c" : "%%%02X", (unsigned char)*p);
	struct md_url tu;
	int r = md_url_parse(u.s, &tu);
	md_sb_free(&u);
	if (r < 0)
		return md_err_wrap("token realm");
	if (strcmp(tu.scheme, "http") == 0 && strcmp(rg->base.scheme, "https") == 0)
		return md_err("refusing to send credentials to a plain-HTTP token realm %s", tu.host);
	struct md_conn tmp, *c;
	if (md_conn_open(&tmp, &tu, &rg->tls) < 0)
		return md_err_wrap("token service");
	c = &tmp;
	struct md_strv h = {0};
	if (rg->basic) {
		char *a = md_asprintf("Authorization: Basic %s", rg->basic);
		md_strv_push(&h, a);
		free(a);
	}
	struct md_http_resp resp;
	r = md_http_send(c, "GET", &tu, &h, NULL, -1, &resp);
	md_strv_free(&h);
	if (r < 0) {
		md_conn_close(c);
		return md_err_wrap("token service");
	}
	size_t len;
	char *body = md_http_slurp(c, &resp, 1 << 20, &len);
	md_conn_close(c);
	int st = resp.status;
	md_http_resp_free(&resp);
	if (!body)
		return -1;
	if (st == 401 || st == 403) {
		free(body);
		return md_err("unauthorized: incorrect username or password for %s", rg->name);
	}
	if (st != 200) {
		free(body);
		return md_err("token service of %s answered HTTP %d", rg->name, st);
	}
	struct md_json *j = md_json_parse(body, len);
	free(body);
	const char *tok = md_json_gets(j, "token") ? md_json_gets(j, "token") : md_json_gets(j, "access_token");
	if (!tok || !*tok) {
		md_json_free(j);
		return md_err("token service of %s gave no token", rg->name);
	}
	free(rg->token);
	rg->token = md_strdup(tok);
	long long ttl = md_json_geti(j, "expires_in", 60);
	rg->token_exp = time(NULL) + (ttl > 10 ? ttl - 5 : ttl);
	snprintf(rg->token_scope, sizeof rg->token_scope, "%s", scope);
	md_json_free(j);
	return 0;
}

/*
 * An authenticated request to path (or a full URL).  Follows redirects
 * (Authorization only to the registry's own host) and 401 challenges.
 * On success *cp is the connection to read the body from (close it with
 * md_reg_done).
 */
static int md_reg_req(struct md_reg *rg, const char *method, const char *pathurl, const struct md_strv *extra,
                      const void *body, int64_t blen, struct md_http_resp *resp, struct md_conn **cp, struct md_conn *tmp)
{
	struct md_url u;
	if (strstr(pathurl, "://")) {
		if (md_url_parse(pathurl, &u) < 0)
			return -1;
	} else {
		u = rg->base;
		snprintf(u.path, sizeof u.path, "%s", pathurl);
	}
	int auth_tries = 0;
	for (int hops = 0; hops < 6; hops++) {
		int same = strcmp(u.host, rg->base.host) == 0 && u.port == rg->base.port;
		struct md_strv h = {0};
		for (size_t i = 0; extra && i < extra->n; i++)
			md_strv_push(&h, extra->v[i]);
		if (same && rg->token && time(NULL) < rg->token_exp) {
			char *a = md_asprintf("Authorization: Bearer %s", rg->token);
			md_strv_push(&h, a);
			free(a);
		} else if (same && rg->basic && !rg->token && auth_tries) {
			char *a = md_asprintf("Authorization: Basic %s", rg->basic);
			md_strv_push(&h, a);
			free(a);
		}
		struct md_conn *c = NULL;
		int r = -1;
		for (int attempt = 0; attempt < 2 && r < 0; attempt++) {
			if (md_reg_conn(rg, &u, &c, tmp) < 0)
				break;
			r = md_http_send(c, method, &u, &h, body, blen, resp);
			if (r < 0 && c == &rg->conn && attempt == 0) {
				/* a kept-alive connection the server closed: once more on a new one */
				md_conn_close(&rg->conn);
				rg->conn_key[0] = 0;
				continue;
			}
		}
		md_strv_free(&h);
		if (r < 0)
			return md_err_wrap("%s %s", method, rg->name);
		if (resp->status == 401 && auth_tries < 2 && same) {
			const char *wa = md_http_header(resp, "www-authenticate");
			struct md_challenge ch;
			int pr = wa ? md_auth_parse(wa, &ch) : md_err("401 without a WWW-Authenticate header");
			md_http_drain(c, resp);
			md_http_resp_free(resp);
			if (c != &rg->conn)
				md_conn_close(c);
			if (pr < 0)
				return md_err_wrap("%s", rg->name);
			auth_tries++;
			if (strcmp(ch.scheme, "bearer") == 0) {
				if (md_reg_token(rg, &ch) < 0)
					return -1;
			} else if (!rg->basic) {
				return md_err("unauthorized: authentication required for %s (try: minidock login %s)", rg->name, rg->name);
			} else if (auth_tries > 1) {
				return md_err("unauthorized: incorrect username or password for %s", rg->name);
			}
			continue;
		}
		if (resp->status >= 300 && resp->status < 400 && resp->status != 304 && md_http_header(resp, "location")) {
			struct md_url nu;
			int jr = md_url_join(&u, md_http_header(resp, "location"), &nu);
			md_http_drain(c, resp);
			md_http_resp_free(resp);
			if (c != &rg->conn)
				md_conn_close(c);
			if (jr < 0)
				return -1;
			if (strcmp(nu.scheme, "http") == 0 && strcmp(u.scheme, "https") == 0)
				return md_err("refusing a redirect from HTTPS to plain HTTP (%s)", nu.host);
			u = nu;
			if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0)
				return md_err("unexpected redirect of a %s", method);
			continue;
		}
		*cp = c;
		return 0;
	}
	return md_err("too many redirects from %s", rg->name);
}

/* After the body was read: keep the registry connection unless it must close. */
static void md_reg_done(struct md_reg *rg, struct md_conn *c, struct md_http_resp *resp, int ok)
{
	const char *cn = md_http_header(resp, "connection");
	int keep = ok && resp->done && !(cn && strcasecmp(cn, "close") == 0);
	if (c == &rg->conn) {
		if (!keep) {
			md_conn_close(&rg->conn);
			rg->conn_key[0] = 0;
		}
	} else if (c) {
		md_conn_close(c);
	}
	md_http_resp_free(resp);
}

/* "unauthorized", "not found"... from a registry error body. */
static void md_reg_errbody(struct md_conn *c, struct md_http_resp *resp, char *out, size_t n)
{
	size_t len = 0;
	char *b = md_http_slurp(c, resp, 1 << 16, &len);
	struct md_json *j = b ? md_json_parse(b, len) : NULL;
	struct md_json *e = md_json_at(md_json_get(j, "errors"), 0);
	snprintf(out, n, "%s", md_json_gets(e, "message") ? md_json_gets(e, "message") : resp->reason);
	md_json_free(j);
	free(b);
	md_err_clear();
}

/* ---- pull ---- */

static const char md_accept_manifests[] =
	"Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/* Send GET for the manifest ref (a tag or digest); the response's head is read. */
static int md_reg_manifest_get(struct md_reg *rg, const char *ref, struct md_http_resp *resp, struct md_conn **c,
                               struct md_conn *tmp)
{
	char path[800];
	snprintf(path, sizeof path, "/v2/%s/manifests/%s", rg->repo, ref);
	struct md_strv h = {0};
	md_strv_push(&h, md_accept_manifests);
	int r = md_reg_req(rg, "GET", path, &h, NULL, -1, resp, c, tmp);
	md_strv_free(&h);
	return r;
}

/* GET a manifest (by tag or digest); verifies a digest reference; out gets
 * the body's digest. */
static struct md_json *md_reg_manifest(struct md_reg *rg, const char *ref, char digest[MD_DIGEST_LEN + 1], char **rawp,
                                       size_t *rawlen)
{
	struct md_http_resp resp;
	struct md_conn *c, tmp;
	if (md_reg_manifest_get(rg, ref, &resp, &c, &tmp) < 0)
		return NULL;
	if (resp.status != 200) {
		char msg[300];
		int st = resp.status;
		md_reg_errbody(c, &resp, msg, sizeof msg);
		md_reg_done(rg, c, &resp, 0);
		if (st == 404)
			md_err("manifest for %s/%s%s%s not found: %s", rg->name, rg->repo, md_startswith(ref, "sha256:") ? "@" : ":",
			       ref, msg);
		else if (st == 401 || st == 403)
			md_err("pull access denied for %s/%s: %s (try: minidock login %s)", rg->name, rg->repo, msg, rg->name);
		else
			md_err("%s answered HTTP %d for manifest %s: %s", rg->name, st, ref, msg);
		return NULL;
	}
	size_t len;
	char *body = md_http_slurp(c, &resp, 4u << 20, &len);
	md_reg_done(rg, c, &resp, body != NULL);
	if (!body)
		return NULL;
	md_sha256_buf(body, len, digest);
	if (md_startswith(ref, "sha256:") && strcmp(ref, digest) != 0) {
		free(body);
		md_errk(MD_EK_INVALID, "manifest %s from %s is corrupt: its content has digest %s", ref, rg->name, digest);
		return NULL;
	}
	struct md_json *j = md_json_parse(body, len);
	if (!j) {
		free(body);
		md_err_wrap("manifest %s", ref);
		return NULL;
	}
	if (rawp) {
		*rawp = body;
		*rawlen = len;
	} else {
		free(body);
	}
	return j;
}

/* A blob read from a partial file first, then from the registry (resumed
 * with Range), teed into the partial file and hashed on the way. */
struct md_blobsrc {
	struct md_reg *rg;
	struct md_conn *c, tmp;
	struct md_http_resp resp;
	int open;                /* an HTTP body is being read */
	int partfd;
	uint64_t have, replayed; /* bytes in the partial file, and fed from it */
	uint64_t got, total;
	br_sha256_context h;
	char digest[MD_DIGEST_LEN + 1];
	struct md_report *rep;
	const char *id;          /* the layer's short ID, for the report */
	int restart;             /* the server ignored the range: unpack again */
	time_t last;
	int netfail;             /* the connection failed (not the data) */
};

static int md_blob_open_http(struct md_blobsrc *b)
{
	char path[800], range[64];
	snprintf(path, sizeof path, "/v2/%s/blobs/%s", b->rg->repo, b->digest);
	struct md_strv h = {0};
	if (b->have) {
		snprintf(range, sizeof range, "Range: bytes=%llu-", (unsigned long long)b->have);
		md_strv_push(&h, range);
	}
	int r = md_reg_req(b->rg, "GET", path, &h, NULL, -1, &b->resp, &b->c, &b->tmp);
	md_strv_free(&h);
	if (r < 0)
		return -1;
	int st = b->resp.status;
	if (st == 200 && b->have) {
		/* the server ignored the range: start over */
		if (ftruncate(b->partfd, 0) < 0 || lseek(b->partfd, 0, SEEK_SET) < 0)
			return md_errno("truncate partial blob");
		md_sha_init(&b->h);
		b->have = b->replayed = b->got = 0;
		b->restart = 1; /* the caller restarts the unpack */
		return md_err("the registry sent the blob %s from its start", b->digest);
	}
	if (st != 200 && st != 206) {
		char msg[300];
		md_reg_errbody(b->c, &b->resp, msg, sizeof msg);
		md_reg_done(b->rg, b->c, &b->resp, 0);
		return md_err("blob %s: %s answered HTTP %d: %s", b->digest, b->rg->name, st, msg);
	}
	b->open = 1;
	return 0;
}

static ssize_t md_blobsrc_read(void *ctx, void *buf, size_t n)
{
	struct md_blobsrc *b = ctx;
	ssize_t k;
	if (b->replayed < b->have) {
		k = read(b->partfd, buf, n < b->have - b->replayed ? n : (size_t)(b->have - b->replayed));
		if (k <= 0)
			return md_errno("read partial blob");
		b->replayed += (uint64_t)k;
	} else {
		if (!b->open) {
			if (b->got >= b->total && b->total)
				return 0;
			if (md_blob_open_http(b) < 0)
				return (b->netfail = 1), -1;
		}
		k = md_http_body(b->c, &b->resp, buf, n);
		if (k < 0)
			return (b->netfail = 1), -1;
		if (k == 0)
			return 0;
		if (b->got + (uint64_t)k > b->total && b->total)
			return md_errk(MD_EK_INVALID, "blob %s is larger than its %llu bytes", b->digest, (unsigned long long)b->total);
		if (md_write_all(b->partfd, buf, (size_t)k) < 0)
			return md_errno("write partial blob");
		b->have += (uint64_t)k;
		b->replayed = b->have;
	}
	md_sha_update(&b->h, buf, (size_t)k);
	b->got += (uint64_t)k;
	time_t now = time(NULL);
	if (now != b->last) {
		b->last = now;
		md_reportf(b->rep, b->id, b->got, b->total, "Downloading");
	}
	return k;
}

/* Mark (or unmark) a layer stored ahead of its image as kept for a resumed
 * pull: the sweep leaves such a layer alone. */
static int md_pull_keep(const char *chain, int keep)
{
	char *p = md_pull_keep_path(chain);
	int fd = keep ? open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
	int r = keep && fd < 0 ? md_errno("create %s", p) : 0;
	if (fd >= 0)
		close(fd);
	if (!keep)
		unlink(p);
	free(p);
	return r;
}

/* Find or make the layer for chain: already in the store, or downloaded,
 * verified and unpacked into layers/ (pinned until the image commits). */
static int md_pull_layer(struct md_reg *rg, struct md_sess *sess, struct md_json *desc, const char *diff, const char *chain,
                         const char *parent, struct md_member *m, struct md_report *rep, const char *sid)
{
	const char *dg = md_json_gets(desc, "digest");
	long long size = md_json_geti(desc, "size", -1);
	if (md_digest_check(dg, "layer descriptor") < 0)
		return -1;
	memset(m, 0, sizeof *m);
	m->name = md_strdup(dg);
	snprintf(m->digest, sizeof m->digest, "%s", dg);
	snprintf(m->li.diff_id, sizeof m->li.diff_id, "%s", diff);
	char *ldir = md_layer_path(chain);
	char *meta = md_asprintf("%s/layer.json", ldir);
	if (md_store_lock() < 0) {
		free(ldir);
		free(meta);
		return -1;
	}
	struct md_json *idx = md_index_read();
	struct md_json *have = idx ? md_json_get(md_json_get(idx, "layers"), chain) : NULL;
	int exists = have || md_path_exists(meta);
	if (exists) {
		md_sess_pin(sess, chain);
		struct md_json *lm = have ? NULL : md_json_parse_file(meta);
		struct md_json *src = have ? have : lm;
		m->li.size = (uint64_t)md_json_geti(src, "size", 0);
		m->li.tar_size = (uint64_t)md_json_geti(src, "tar_size", 0);
		md_json_free(lm);
	}
	md_json_free(idx);
	md_store_unlock();
	if (exists) {
		m->ldir = ldir;
		m->moved = 1;
		free(meta);
		md_reportf(rep, sid, 0, 0, "Already exists");
		return 0;
	}
	free(meta);
	/* the partial blob of an earlier, interrupted pull (one puller at a time) */
	char *pd = md_store_path("pulls");
	md_mkdir_p(pd, 0700);
	char *pp = md_asprintf("%s/%s", pd, dg + 7);
	free(pd);
	struct md_blobsrc b;
	memset(&b, 0, sizeof b);
	b.rg = rg;
	b.rep = rep;
	b.id = sid;
	b.total = size > 0 ? (uint64_t)size : 0;
	snprintf(b.digest, sizeof b.digest, "%s", dg);
	b.partfd = open(pp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int r = -1;
	if (b.partfd < 0 || flock(b.partfd, LOCK_EX) < 0) {
		md_errno("open %s", pp);
		goto out;
	}
	struct stat st;
	fstat(b.partfd, &st);
	b.have = (uint64_t)st.st_size;
	if (b.total && b.have > b.total) {
		b.have = 0;
		if (ftruncate(b.partfd, 0) < 0) {
			md_errno("truncate %s", pp);
			goto out;
		}
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		md_sha_init(&b.h);
		b.replayed = b.got = 0;
		lseek(b.partfd, 0, SEEK_SET);
		if (b.have)
			md_reportf(rep, sid, 0, 0, "Resuming at %llu bytes", (unsigned long long)b.have);
		free(m->ldir);
		m->ldir = md_sess_path(sess, "L");
		r = md_layer_unpack((struct md_src){md_blobsrc_read, &b}, m->ldir, &m->li);
		if (b.open) {
			md_reg_done(rg, b.c, &b.resp, r == 0);
			b.open = 0;
		}
		if (r < 0 && b.restart) {
			b.restart = 0;
			md_rm_rf(m->ldir);
			continue;
		}
		break;
	}
	if (r < 0) {
		/* keep what arrived for a resume, unless the data itself was wrong */
		if (!b.netfail && md_error.kind == MD_EK_INVALID)
			unlink(pp);
		md_err_wrap("layer %s", dg);
		goto out;
	}
	char got[MD_DIGEST_LEN + 1];
	md_sha_hex(&b.h, got);
	if (strcmp(got, dg) != 0 || (b.total && b.got != b.total)) {
		unlink(pp);
		r = md_errk(MD_EK_INVALID, "layer %s is corrupt: it has digest %s and %llu bytes", dg, got, (unsigned long long)b.got);
		goto out;
	}
	if (strcmp(m->li.diff_id, diff) != 0) {
		unlink(pp);
		r = md_errk(MD_EK_INVALID, "layer %s has DiffID %s, the image config expects %s", dg, m->li.diff_id, diff);
		goto out;
	}
	md_reportf(rep, sid, 0, 0, "Extracting done");
	/* The layer is whole and verified: the compressed copy kept for a
	 * resume is emptied now, so the sync below does not write it to flash
	 * only for it to be deleted (power lost before the rename costs this
	 * one layer's download, nothing more). */
	if (ftruncate(b.partfd, 0) < 0) { /* it goes with the unlink below anyway */ }
	/* into the store now (an orphan until the image commits), so a resumed
	 * pull does not download it again */
	r = md_store_lock();
	if (r == 0) {
		struct md_json *ix = md_index_read();
		r = ix ? md_layer_fix_implied(ix, m->ldir, parent) : -1;
		if (r == 0)
			r = md_layer_write_meta(m->ldir, chain, parent, &m->li);
		if (r == 0)
			r = md_sess_pin(sess, chain);
		if (r == 0)
			r = md_pull_keep(chain, 1);
		if (r == 0)
			r = md_store_syncfs();
		if (r == 0 && !md_path_exists(ldir) && rename(m->ldir, ldir) < 0)
			r = md_errno("store layer %.19s", chain);
		md_json_free(ix);
		md_store_unlock();
	}
	if (r == 0) {
		free(m->ldir);
		m->ldir = md_strdup(ldir);
		m->moved = 1;
		unlink(pp);
		md_reportf(rep, sid, 0, 0, "Pull complete");
	}
out:
	if (b.partfd >= 0)
		close(b.partfd);
	free(pp);
	free(ldir);
	return r;
}

/* From an index (or an index of indexes, at most MD_OCI_MAX_NEST deep),
 * this machine's platform (md_want), attestations skipped: *man becomes
 * that image manifest, dg its digest. */
static int md_pull_pick(struct md_reg *rg, const char *fam, struct md_json **man, char dg[MD_DIGEST_LEN + 1])
{
	for (int depth = 0; md_json_get(*man, "manifests"); depth++) {
		const struct md_json *pick = NULL;
		int best = -1;
		struct md_sb plats = {0};
		for (struct md_json *d = md_json_get(*man, "manifests")->child; d; d = d->next) {
			if (md_streq(md_json_gets(md_json_get(d, "annotations"), "vnd.docker.reference.type"), "attestation-manifest"))
				continue;
			struct md_json *p = md_json_get(d, "platform");
			if (!p)
				continue;
			const char *os = md_json_gets(p, "os"), *ar = md_json_gets(p, "architecture"), *va = md_json_gets(p, "variant");
			if (md_streq(os, "unknown"))
				continue;
			md_sb_printf(&plats, "%s%s/%s%s%s", plats.len ? ", " : "", os ? os : "?", ar ? ar : "?", va ? "/" : "", va ? va : "");
			int sc = md_platform_score(&md_want, p);
			if (sc > best) {
				best = sc;
				pick = d;
			}
		}
		char want[96];
		md_platform_str(&md_want, want, sizeof want);
		int r = 0;
		if (depth >= MD_OCI_MAX_NEST)
			r = md_errk(MD_EK_NOTSUP, "image index of %s nested more than %d deep", fam, MD_OCI_MAX_NEST);
		else if (!pick)
			r = md_errk(MD_EK_NOTFOUND, "no matching manifest for %s in the manifest list entries of %s (it has: %s)", want, fam,
			            plats.len ? md_sb_str(&plats) : "none");
		md_sb_free(&plats);
		const char *pd = r == 0 ? md_json_gets(pick, "digest") : NULL;
		if (r < 0 || md_digest_check(pd, "manifest list entry") < 0)
			return -1;
		char pdc[MD_DIGEST_LEN + 1];
		snprintf(pdc, sizeof pdc, "%s", pd);
		md_json_free(*man);
		if (!(*man = md_reg_manifest(rg, pdc, dg, NULL, NULL)))
			return -1;
	}
	return 0;
}

/* A small blob (a config, a signature payload) read whole, at most max
 * bytes, checked against its digest; what names it in errors. */
static char *md_reg_small_blob(struct md_reg *rg, const char *digest, size_t max, size_t *len, const char *what)
{
	char path[800];
	snprintf(path, sizeof path, "/v2/%s/blobs/%s", rg->repo, digest);
	struct md_http_resp resp;
	struct md_conn *c, tmp;
	if (md_reg_req(rg, "GET", path, NULL, NULL, -1, &resp, &c, &tmp) < 0)
		return NULL;
	if (resp.status != 200) {
		char msg[300];
		int st = resp.status;
		md_reg_errbody(c, &resp, msg, sizeof msg);
		md_reg_done(rg, c, &resp, 0);
		md_err("%s %s: %s answered HTTP %d: %s", what, digest, rg->name, st, msg);
		return NULL;
	}
	char *b = md_http_slurp(c, &resp, max, len);
	md_reg_done(rg, c, &resp, b != NULL);
	char got[MD_DIGEST_LEN + 1];
	if (b)
		md_sha256_buf(b, *len, got);
	if (b && strcmp(got, digest) != 0) {
		free(b);
		md_errk(MD_EK_INVALID, "%s %s is corrupt: its content has digest %s", what, digest, got);
		return NULL;
	}
	return b;
}

/* The image config blob cd, checked against its digest; its text in *raw,
 * parsed in *cfgj. */
static int md_pull_config(struct md_reg *rg, const char *cd, char **raw, struct md_json **cfgj)
{
	size_t clen = 0;
	if (!(*raw = md_reg_small_blob(rg, cd, MD_JSON_MAX_DOC, &clen, "image config")))
		return -1;
	if (strlen(*raw) != clen)
		return md_errk(MD_EK_INVALID, "image config %s contains NUL bytes", cd);
	if (!(*cfgj = md_json_parse(*raw, clen)))
		return md_err_wrap("image config %s", cd);
	return 0;
}

/* The layers, each unless the store has it, in the session of L. */
static int md_pull_layers(struct md_reg *rg, struct md_load *L, struct md_json *layers, struct md_json *diffs,
                          struct md_report *rep)
{
	char(*ids)[13] = md_alloc((layers->n + 1) * sizeof *ids);
	size_t i = 0;
	for (struct md_json *l = layers->child; l; l = l->next, i++) {
		const char *d = md_json_gets(l, "digest");
		snprintf(ids[i], sizeof ids[i], "%.12s", d && strlen(d) > 7 ? d + 7 : "?");
		md_reportf(rep, ids[i], 0, 0, "Waiting");
	}
	L->m = md_alloc((layers->n + 1) * sizeof *L->m);
	char parent[MD_DIGEST_LEN + 1] = "", chain[MD_DIGEST_LEN + 1];
	int r = 0;
	i = 0;
	for (struct md_json *l = layers->child; l && r == 0; l = l->next, i++) {
		const char *diff = md_json_str(md_json_at(diffs, i));
		if ((r = md_digest_check(diff, "image config diff_id")) < 0)
			break;
		md_chain_id(parent, diff, chain);
		L->nm++;
		r = md_pull_layer(rg, &L->sess, l, diff, chain, *parent ? parent : NULL, &L->m[i], rep, ids[i]);
		strcpy(parent, chain);
	}
	free(ids);
	return r;
}

/* Commit the pulled image: config, layers (already in place), the tag or
 * name@digest; then its layers are no longer kept for a resume. */
static int md_pull_commit(struct md_load *L, struct md_ref *ref, const char *cd, char **cfgraw, const char *top,
                          struct md_json *sig)
{
	struct md_loadimg *img = md_load_newimg(L);
	img->sig = sig;
	snprintf(img->id, sizeof img->id, "%s", cd);
	img->cfgdata = *cfgraw;
	*cfgraw = NULL;
	img->layers = md_alloc((L->nm + 1) * sizeof *img->layers);
	for (size_t i = 0; i < L->nm; i++)
		img->layers[img->nlayers++] = &L->m[i];
	snprintf(img->manifest, sizeof img->manifest, "%s", top);
	if (!ref->tag[0] && !ref->digest[0])
		snprintf(ref->tag, sizeof ref->tag, "latest");
	if (ref->tag[0]) {
		char t[800];
		md_ref_familiar(ref, t, sizeof t);
		md_strv_push(&img->tags, t);
	} else {
		/* pulled by digest: no tag, the commit records name@digest */
		char name[600];
		md_ref_name(ref, name, sizeof name);
		img->digname = md_strdup(name);
	}
	if (md_load_commit(L, NULL) < 0)
		return -1;
	char parent[MD_DIGEST_LEN + 1] = "", chain[MD_DIGEST_LEN + 1];
	for (size_t i = 0; i < img->nlayers; i++) {
		md_chain_id(i ? parent : "", img->layers[i]->li.diff_id, chain);
		md_pull_keep(chain, 0);
		strcpy(parent, chain);
	}
	return 0;
}

/* ---- signatures: a containers-policy.json, sigstore (cosign) signatures [MD_FEATURE_SIGN] ---- */
/*
 * The policy file is the one podman and skopeo read (containers-policy.json(5)):
 * {"default": [REQ...], "transports": {"docker": {SCOPE: [REQ...]}}}.  The
 * most specific scope of a reference wins ("host:port/repo:tag", then
 * "host:port/repo", its parent namespaces, "host:port", "*.domain" from the
 * longest), then the transport's "" scope, then "default"; every requirement
 * of the scope must pass.  Requirements: insecureAcceptAnything, reject and
 * sigstoreSigned with keys (keyPath, keyPaths, keyData, keyDatas: any one key
 * may have signed) and a signedIdentity.  What minidock cannot check
 * (signedBy's GPG keys, signedBaseLayer, fulcio, pki, rekorPublicKey*) is
 * refused when the file is read, never taken as accepted.  Parsing is as
 * strict as containers/image's: unknown and duplicate fields are errors.
 *
 * A sigstore signature (cosign's SIGNATURE_SPEC) is a layer of the manifest
 * tagged "sha256-<hex>.sig" beside the image: its blob is the payload (JSON:
 * critical.identity.docker-reference, critical.image.docker-manifest-digest,
 * critical.type), its annotation dev.cosignproject.cosign/signature the
 * base64 of an ASN.1 ECDSA signature over SHA-256 of the payload.  Keys are
 * ECDSA (P-256, P-384, P-521) public keys in PEM, checked with BearSSL.
 */
#if MD_FEATURE_SIGN

#define MD_SIG_MIME "application/vnd.dev.cosign.simplesigning.v1+json"
#define MD_SIG_ANNOTATION "dev.cosignproject.cosign/signature"
#define MD_SIG_BUNDLE "dev.sigstore.cosign/bundle"
#define MD_SIG_TYPE "cosign container image signature"
#define MD_SIG_MAX 32                 /* signatures looked at per manifest */
#define MD_SIG_PAYLOAD_MAX (64u << 10)
#define MD_POLICY_MAX (1u << 20)

enum md_pr_type { MD_PR_ACCEPT, MD_PR_REJECT, MD_PR_SIGSTORE };
enum md_prm_type { MD_PRM_DIGEST_OR_EXACT, MD_PRM_EXACT, MD_PRM_REPO, MD_PRM_EXACT_REF, MD_PRM_EXACT_REPO, MD_PRM_REMAP };

static const char *const md_prm_names[] = {
	[MD_PRM_DIGEST_OR_EXACT] = "matchRepoDigestOrExact", [MD_PRM_EXACT] = "matchExact",
	[MD_PRM_REPO] = "matchRepository", [MD_PRM_EXACT_REF] = "exactReference",
	[MD_PRM_EXACT_REPO] = "exactRepository", [MD_PRM_REMAP] = "remapIdentity",
};

/* A public key of a requirement: where it came from, its curve and point. */
struct md_sigkey {
	char name[300];            /* the keyPath, or "keyData", "keyDatas[N]" */
	int curve;                 /* BR_EC_secp256r1 ... */
	unsigned char q[133];      /* uncompressed point */
	size_t qlen;
};

/* One requirement of a scope, as the policy file states it (keys are read
 * when a signature is checked, as containers/image does). */
struct md_policy_req {
	enum md_pr_type type;
	struct md_strv keypaths;   /* keyPath(s) */
	struct md_strv keydatas;   /* keyData(s), decoded PEM text */
	enum md_prm_type prm;
	struct md_ref prm_ref;     /* exactReference, exactRepository */
	char *prefix, *signed_prefix; /* remapIdentity */
};

/* A signature as found beside an image. */
struct md_sig {
	char *payload;
	size_t plen;
	char *sig;                 /* the annotation's base64, or NULL */
	char *bundle;              /* the cosign bundle annotation, or NULL */
};

/* What accepted an image: for inspect and the pull's report. */
struct md_sig_ok {
	char key[300];             /* the key that verified, "" if none was needed */
	char identity[600];        /* the signature's docker-reference */
	char digest[MD_DIGEST_LEN + 1]; /* the manifest it signs */
	char scope[1100];          /* the policy scope that applied */
};

static void md_sig_free(struct md_sig *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].payload);
		free(s[i].sig);
		free(s[i].bundle);
	}
	free(s);
}

/* Standard base64 as Go's StdEncoding reads it: padding required, nothing
 * after it, no other alphabet; NULL if invalid.  The result is NUL-ended. */
static char *md_b64_strict(const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	if (n % 4)
		return NULL;
	size_t pad = n >= 1 && s[n - 1] == '=' ? (n >= 2 && s[n - 2] == '=' ? 2 : 1) : 0;
	for (size_t i = 0; i < n - pad; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '/'))
			return NULL;
	return md_unb64(s, outlen);
}

/* ---- DER and PEM public keys ---- */

/* A SubjectPublicKeyInfo (DER) holding an ECDSA key. */
static int md_sigkey_der(const unsigned char *der, size_t n, struct md_sigkey *k)
{
	static const unsigned char ec_oid[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
	static const struct {
		unsigned char oid[8];
		size_t n, qlen;
		int curve;
	} curves[] = {
		{{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, 8, 65, BR_EC_secp256r1},
		{{0x2b, 0x81, 0x04, 0x00, 0x22}, 5, 97, BR_EC_secp384r1},
		{{0x2b, 0x81, 0x04, 0x00, 0x23}, 5, 133, BR_EC_secp521r1},
	};
	const unsigned char *p = der, *end = der + n, *spki, *alg, *bits, *oid, *par;
	size_t sl, al, bl, ol, pl;
	if (md_der_want(&p, end, 0x30, &spki, &sl) < 0 || p != end)
		return md_errk(MD_EK_INVALID, "key %s: not a DER SubjectPublicKeyInfo", k->name);
	p = spki;
	end = spki + sl;
	if (md_der_want(&p, end, 0x30, &alg, &al) < 0 || md_der_want(&p, end, 0x03, &bits, &bl) < 0 || p != end)
		return md_errk(MD_EK_INVALID, "key %s: not a DER SubjectPublicKeyInfo", k->name);
	const unsigned char *a = alg, *ae = alg + al;
	if (md_der_want(&a, ae, 0x06, &oid, &ol) < 0)
		return md_errk(MD_EK_INVALID, "key %s: no algorithm in the SubjectPublicKeyInfo", k->name);
	if (ol != sizeof ec_oid || memcmp(oid, ec_oid, ol) != 0)
		return md_errk(MD_EK_NOTSUP, "key %s is not an ECDSA key (minidock checks ECDSA P-256, P-384 and P-521 keys)",
		               k->name);
	if (md_der_want(&a, ae, 0x06, &par, &pl) < 0 || a != ae)
		return md_errk(MD_EK_INVALID, "key %s: no named curve in the SubjectPublicKeyInfo", k->name);
	for (size_t i = 0; i < MD_ARRAY_LEN(curves); i++) {
		if (pl != curves[i].n || memcmp(par, curves[i].oid, pl) != 0)
			continue;
		if (bl != curves[i].qlen + 1 || bits[0] != 0 || bits[1] != 0x04)
			return md_errk(MD_EK_INVALID, "key %s: not an uncompressed point of its curve", k->name);
		memcpy(k->q, bits + 1, curves[i].qlen);
		k->qlen = curves[i].qlen;
		k->curve = curves[i].curve;
		return 0;
	}
	return md_errk(MD_EK_NOTSUP, "key %s: its curve is not P-256, P-384 or P-521", k->name);
}

struct md_pem_first {
	struct md_sb der;
	char name[64];
	int n;
};

static void md_pem_first_cb(void *ctx, const char *name, const unsigned char *der, size_t len)
{
	struct md_pem_first *f = ctx;
	if (f->n++)
		return;
	snprintf(f->name, sizeof f->name, "%s", name);
	md_sb_putn(&f->der, der, len);
}

/* A PEM "PUBLIC KEY" (the first PEM object of the text) into k. */
static int md_sigkey_pem(const char *pem, size_t len, struct md_sigkey *k)
{
	struct md_pem_first f = {0};
	int r = md_pem_each(pem, len, md_pem_first_cb, &f);
	if (r < 0)
		r = md_errk(MD_EK_INVALID, "key %s: malformed PEM data", k->name);
	else if (!f.n)
		r = md_errk(MD_EK_INVALID, "key %s: no PEM object in it", k->name);
	else if (strcmp(f.name, "PUBLIC KEY") != 0)
		r = md_errk(MD_EK_INVALID, "key %s: a PEM \"%s\", not a \"PUBLIC KEY\"", k->name, f.name);
	else
		r = md_sigkey_der((const unsigned char *)md_sb_str(&f.der), f.der.len, k);
	md_sb_free(&f.der);
	return r;
}

/* The keys of a sigstoreSigned requirement, read now. */
static int md_sigkey_load(const struct md_policy_req *pr, struct md_sigkey **keys, size_t *n)
{
	*n = 0;
	*keys = md_alloc((pr->keypaths.n + pr->keydatas.n + 1) * sizeof **keys);
	for (size_t i = 0; i < pr->keypaths.n; i++) {
		struct md_sigkey *k = &(*keys)[(*n)++];
		snprintf(k->name, sizeof k->name, "%s", pr->keypaths.v[i]);
		size_t len;
		char *pem = md_read_file(pr->keypaths.v[i], 1u << 16, &len);
		int r = pem ? md_sigkey_pem(pem, len, k) : md_err_wrap("key %s", k->name);
		free(pem);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < pr->keydatas.n; i++) {
		struct md_sigkey *k = &(*keys)[(*n)++];
		if (pr->keydatas.n == 1)
			snprintf(k->name, sizeof k->name, "keyData");
		else
			snprintf(k->name, sizeof k->name, "keyDatas[%zu]", i);
		if (md_sigkey_pem(pr->keydatas.v[i], strlen(pr->keydatas.v[i]), k) < 0)
			return -1;
	}
	return 0;
}

/* Does the ASN.1 ECDSA signature sig verify over data with key k? */
static int md_sigkey_verify(const struct md_sigkey *k, const void *data, size_t n, const unsigned char *sig, size_t siglen)
{
	unsigned char h[32];
	br_sha256_context c;
	br_sha256_init(&c);
	br_sha256_update(&c, data, n);
	br_sha256_out(&c, h);
	br_ec_public_key pk = {.curve = k->curve, .q = (unsigned char *)k->q, .qlen = k->qlen};
	return br_ecdsa_vrfy_asn1_get_default()(br_ec_get_default(), h, sizeof h, &pk, sig, siglen) == 1;
}

/* ---- the policy file ---- */

static const char *md_policy_file = "";

/* The first member name of object o given twice (the JSON parser keeps
 * both), or NULL. */
static const char *md_policy_dup(const struct md_json *o)
{
	for (const struct md_json *c = o->child; c; c = c->next)
		for (const struct md_json *d = c->next; d; d = d->next)
			if (strcmp(d->key, c->key) == 0)
				return c->key;
	return NULL;
}

/* Every member of o is one of names (a NULL-ended list), none twice. */
static int md_policy_fields(const struct md_json *o, const char *const *names, const char *what)
{
	for (const struct md_json *c = o->child; c; c = c->next) {
		size_t i = 0;
		while (names[i] && strcmp(names[i], c->key) != 0)
			i++;
		if (!names[i])
			return md_errk(MD_EK_INVALID, "policy %s: %s: unknown field \"%.100s\"", md_policy_file, what, c->key);
	}
	const char *dup = md_policy_dup(o);
	return dup ? md_errk(MD_EK_INVALID, "policy %s: %s: field \"%.100s\" given twice", md_policy_file, what, dup) : 0;
}

/* A string member, or NULL; an error if it is there and not a string. */
static int md_policy_str(const struct md_json *o, const char *name, const char *what, const char **out)
{
	const struct md_json *v = md_json_get((struct md_json *)o, name);
	*out = NULL;
	if (!v)
		return 0;
	if (v->t != MD_J_STR)
		return md_errk(MD_EK_INVALID, "policy %s: %s: \"%s\" is not a string", md_policy_file, what, name);
	*out = v->s;
	return 0;
}

/* remapIdentity's prefixes: a host[:port] or a repository name, as given. */
static int md_policy_prefix_ok(const char *s)
{
	if (md_ref_domain_ok(s, strlen(s)))
		return 1;
	struct md_ref r;
	char full[800];
	if (md_ref_parse(s, &r) < 0 || r.tag[0] || r.digest[0])
		return 0;
	snprintf(full, sizeof full, "%s/%s", r.domain, r.path);
	return strcmp(full, s) == 0;
}

static int md_policy_identity(const struct md_json *j, struct md_policy_req *pr, const char *what)
{
	pr->prm = MD_PRM_DIGEST_OR_EXACT;
	if (!j)
		return 0;
	if (j->t != MD_J_OBJ)
		return md_errk(MD_EK_INVALID, "policy %s: %s: signedIdentity is not an object", md_policy_file, what);
	const char *type, *a = NULL, *b = NULL;
	if (md_policy_str(j, "type", what, &type) < 0)
		return -1;
	size_t t = 0;
	while (t < MD_ARRAY_LEN(md_prm_names) && !md_streq(type, md_prm_names[t]))
		t++;
	if (!type || t == MD_ARRAY_LEN(md_prm_names))
		return md_errk(MD_EK_INVALID, "policy %s: %s: unknown signedIdentity type \"%.100s\"", md_policy_file, what,
		               type ? type : "");
	pr->prm = (enum md_prm_type)t;
	static const char *const plain[] = {"type", NULL}, *const ref[] = {"type", "dockerReference", NULL},
	                         *const repo[] = {"type", "dockerRepository", NULL},
	                         *const remap[] = {"type", "prefix", "signedPrefix", NULL};
	switch (pr->prm) {
	case MD_PRM_EXACT_REF:
		if (md_policy_fields(j, ref, what) < 0 || md_policy_str(j, "dockerReference", what, &a) < 0)
			return -1;
		if (!a || md_ref_parse(a, &pr->prm_ref) < 0 || (!pr->prm_ref.tag[0] && !pr->prm_ref.digest[0]))
			return md_errk(MD_EK_INVALID, "policy %s: %s: exactReference needs a dockerReference with a tag or digest",
			               md_policy_file, what);
		return 0;
	case MD_PRM_EXACT_REPO:
		if (md_policy_fields(j, repo, what) < 0 || md_policy_str(j, "dockerRepository", what, &a) < 0)
			return -1;
		if (!a || md_ref_parse(a, &pr->prm_ref) < 0 || pr->prm_ref.tag[0] || pr->prm_ref.digest[0])
			return md_errk(MD_EK_INVALID, "policy %s: %s: exactRepository needs a dockerRepository (a name alone)",
			               md_policy_file, what);
		return 0;
	case MD_PRM_REMAP:
		if (md_policy_fields(j, remap, what) < 0 || md_policy_str(j, "prefix", what, &a) < 0 ||
		    md_policy_str(j, "signedPrefix", what, &b) < 0)
			return -1;
		if (!a || !b || !md_policy_prefix_ok(a) || !md_policy_prefix_ok(b))
			return md_errk(MD_EK_INVALID,
			               "policy %s: %s: remapIdentity needs a prefix and a signedPrefix, each a host[:port] or a repository",
			               md_policy_file, what);
		pr->prefix = md_strdup(a);
		pr->signed_prefix = md_strdup(b);
		return 0;
	default:
		return md_policy_fields(j, plain, what);
	}
}

/* A list of strings (keyPaths: non-empty; keyDatas: base64 each). */
static int md_policy_strlist(const struct md_json *v, const char *name, int b64, struct md_strv *out, const char *what)
{
	if (!md_json_is((struct md_json *)v, MD_J_ARR) || v->n == 0)
		return md_errk(MD_EK_INVALID, "policy %s: %s: \"%s\" is not a non-empty list", md_policy_file, what, name);
	for (const struct md_json *c = v->child; c; c = c->next) {
		if (c->t != MD_J_STR)
			return md_errk(MD_EK_INVALID, "policy %s: %s: \"%s\" holds a non-string", md_policy_file, what, name);
		char *d = b64 ? md_b64_strict(c->s, NULL) : md_strdup(c->s);
		if (!d)
			return md_errk(MD_EK_INVALID, "policy %s: %s: \"%s\" is not base64", md_policy_file, what, name);
		md_strv_push(out, d);
		free(d);
	}
	return 0;
}

static void md_policy_req_free(struct md_policy_req *pr)
{
	md_strv_free(&pr->keypaths);
	md_strv_free(&pr->keydatas);
	free(pr->prefix);
	free(pr->signed_prefix);
	memset(pr, 0, sizeof *pr);
}

static int md_policy_sigstore(const struct md_json *j, struct md_policy_req *pr, const char *what)
{
	/* the fields containers/image knows; minidock refuses the last six */
	static const char *const fields[] = {"type", "keyPath", "keyPaths", "keyData", "keyDatas", "signedIdentity",
	                                     "fulcio", "pki", "rekorPublicKeyPath", "rekorPublicKeyPaths",
	                                     "rekorPublicKeyData", "rekorPublicKeyDatas", NULL};
	static const char *const *const unsupported = fields + 6;
	if (md_policy_fields(j, fields, what) < 0)
		return -1;
	for (size_t i = 0; unsupported[i]; i++)
		if (md_json_get((struct md_json *)j, unsupported[i]))
			return md_errk(MD_EK_NOTSUP,
			               "policy %s: %s: sigstoreSigned with \"%s\" is not supported by minidock (it checks signatures with keys: keyPath, keyPaths, keyData, keyDatas)",
			               md_policy_file, what, unsupported[i]);
	const struct md_json *kp = md_json_get((struct md_json *)j, "keyPath"), *kps = md_json_get((struct md_json *)j, "keyPaths"),
	                     *kd = md_json_get((struct md_json *)j, "keyData"), *kds = md_json_get((struct md_json *)j, "keyDatas");
	if (!!kp + !!kps + !!kd + !!kds != 1)
		return md_errk(MD_EK_INVALID, "policy %s: %s: sigstoreSigned needs exactly one of keyPath, keyPaths, keyData, keyDatas",
		               md_policy_file, what);
	if (kp || kd) {
		if (!md_json_is((struct md_json *)(kp ? kp : kd), MD_J_STR))
			return md_errk(MD_EK_INVALID, "policy %s: %s: \"%s\" is not a string", md_policy_file, what, kp ? "keyPath" : "keyData");
		char *d = kp ? md_strdup(kp->s) : md_b64_strict(kd->s, NULL);
		if (!d)
			return md_errk(MD_EK_INVALID, "policy %s: %s: \"keyData\" is not base64", md_policy_file, what);
		md_strv_push(kp ? &pr->keypaths : &pr->keydatas, d);
		free(d);
	} else if (md_policy_strlist(kps ? kps : kds, kps ? "keyPaths" : "keyDatas", kds != NULL, kps ? &pr->keypaths : &pr->keydatas,
	                             what) < 0) {
		return -1;
	}
	const struct md_json *id = md_json_get((struct md_json *)j, "signedIdentity");
	if (id && id->t == MD_J_NULL)
		return md_errk(MD_EK_INVALID, "policy %s: %s: signedIdentity is null", md_policy_file, what);
	return md_policy_identity(id, pr, what);
}

/* One requirement (an object of the policy), checked and read into pr. */
static int md_policy_req_parse(const struct md_json *j, struct md_policy_req *pr, const char *what)
{
	static const char *const plain[] = {"type", NULL};
	memset(pr, 0, sizeof *pr);
	const char *type;
	if (!md_json_is((struct md_json *)j, MD_J_OBJ))
		return md_errk(MD_EK_INVALID, "policy %s: %s: a requirement is not an object", md_policy_file, what);
	if (md_policy_str(j, "type", what, &type) < 0)
		return -1;
	if (!type)
		return md_errk(MD_EK_INVALID, "policy %s: %s: a requirement has no \"type\"", md_policy_file, what);
	int r;
	if (strcmp(type, "insecureAcceptAnything") == 0)
		pr->type = MD_PR_ACCEPT, r = md_policy_fields(j, plain, what);
	else if (strcmp(type, "reject") == 0)
		pr->type = MD_PR_REJECT, r = md_policy_fields(j, plain, what);
	else if (strcmp(type, "sigstoreSigned") == 0)
		pr->type = MD_PR_SIGSTORE, r = md_policy_sigstore(j, pr, what);
	else if (strcmp(type, "signedBy") == 0 || strcmp(type, "signedBaseLayer") == 0)
		r = md_errk(MD_EK_NOTSUP,
		            "policy %s: %s: requirement type \"%s\" (GPG or base-layer signatures) is not supported by minidock (use sigstoreSigned)",
		            md_policy_file, what, type);
	else
		r = md_errk(MD_EK_INVALID, "policy %s: %s: unknown requirement type \"%.100s\"", md_policy_file, what, type);
	if (r < 0)
		md_policy_req_free(pr);
	return r;
}

/* A scope's requirements: a non-empty list of valid requirements. */
static int md_policy_reqs_check(const struct md_json *a, const char *what)
{
	if (!md_json_is((struct md_json *)a, MD_J_ARR) || a->n == 0)
		return md_errk(MD_EK_INVALID, "policy %s: %s: not a non-empty list of requirements", md_policy_file, what);
	for (const struct md_json *c = a->child; c; c = c->next) {
		struct md_policy_req pr;
		if (md_policy_req_parse(c, &pr, what) < 0)
			return -1;
		md_policy_req_free(&pr);
	}
	return 0;
}

/* Parse and check a policy file's text (file names it in errors). */
static struct md_json *md_policy_parse(const char *text, size_t len, const char *file)
{
	static const char *const top[] = {"default", "transports", NULL};
	md_policy_file = file;
	struct md_json *p = md_json_parse(text, len);
	if (!p) {
		md_errk(MD_EK_INVALID, "policy %s: %s", file, md_errmsg);
		return NULL;
	}
	int r = md_json_is(p, MD_J_OBJ) ? md_policy_fields(p, top, "the top level")
	                                  : md_errk(MD_EK_INVALID, "policy %s: not a JSON object", file);
	if (r == 0 && !md_json_get(p, "default"))
		r = md_errk(MD_EK_INVALID, "policy %s: no \"default\" requirements", file);
	if (r == 0)
		r = md_policy_reqs_check(md_json_get(p, "default"), "default");
	struct md_json *tr = r == 0 ? md_json_get(p, "transports") : NULL;
	const char *dup;
	if (tr && tr->t != MD_J_OBJ)
		r = md_errk(MD_EK_INVALID, "policy %s: \"transports\" is not an object", file);
	else if (tr && (dup = md_policy_dup(tr)))
		r = md_errk(MD_EK_INVALID, "policy %s: transport \"%.100s\" given twice", file, dup);
	for (struct md_json *t = tr && r == 0 ? tr->child : NULL; t && r == 0; t = t->next) {
		if (t->t != MD_J_OBJ)
			r = md_errk(MD_EK_INVALID, "policy %s: transport \"%.100s\" is not an object", file, t->key);
		else if ((dup = md_policy_dup(t)))
			r = md_errk(MD_EK_INVALID, "policy %s: scope \"%.200s\" of %.100s given twice", file, dup, t->key);
		for (struct md_json *s = r == 0 ? t->child : NULL; s && r == 0; s = s->next) {
			char what[400];
			snprintf(what, sizeof what, "scope \"%.200s\" of %.100s", s->key, t->key);
			r = md_policy_reqs_check(s, what);
		}
	}
	if (r < 0) {
		md_json_free(p);
		return NULL;
	}
	return p;
}

/* The policy in force: the file MINIDOCK_POLICY names (it must exist), or
 * MD_DEFAULT_POLICY if it exists; *pol is NULL without one (everything is
 * accepted).  Read again at each call (`serve` sees a new policy at once);
 * *pol stays valid until the next call. */
static int md_policy_load(const struct md_json **pol, const char **file)
{
	static struct md_json *cached;
	static char *path;
	const char *env = getenv("MINIDOCK_POLICY");
	md_json_free(cached);
	cached = NULL;
	free(path);
	path = md_strdup(env && *env ? env : MD_DEFAULT_POLICY);
	*pol = NULL;
	*file = path;
	size_t len;
	char *text = md_read_file(path, MD_POLICY_MAX, &len);
	if (!text)
		return errno == ENOENT && !(env && *env) ? 0 : md_err_wrap("signature policy %s", path);
	cached = md_policy_parse(text, len, path);
	free(text);
	*pol = cached;
	return cached ? 0 : -1;
}

/* The most specific scope of the transport t naming ref; its name in s. */
static const struct md_json *md_policy_scope_of(const struct md_json *t, const struct md_ref *ref, char *s, size_t n)
{
	const struct md_json *r;
	md_ref_canonical(ref, "latest", s, n);
	if ((r = md_json_get((struct md_json *)t, s)))
		return r;
	/* the repository, then its namespaces, then the host */
	snprintf(s, n, "%s/%s", ref->domain, ref->path);
	for (;;) {
		if ((r = md_json_get((struct md_json *)t, s)))
			return r;
		char *sl = strrchr(s, '/');
		if (!sl)
			break;
		*sl = 0;
	}
	/* wildcards, from the longest, the port left out: a.b.c:5000 gives *.b.c, *.c */
	char host[256];
	snprintf(host, sizeof host, "%s", ref->domain);
	if (host[0] != '[' && strchr(host, ':'))
		*strchr(host, ':') = 0;
	for (const char *d = host[0] != '[' ? strchr(host, '.') : NULL; d; d = strchr(d + 1, '.')) {
		snprintf(s, n, "*%s", d);
		if ((r = md_json_get((struct md_json *)t, s)))
			return r;
	}
	return NULL;
}

/* The requirements for a reference of a transport (ref NULL: the
 * transport's "" scope or the default); the scope's name in scope. */
static const struct md_json *md_policy_scope(const struct md_json *pol, const char *transport, const struct md_ref *ref,
                                             char *scope, size_t n)
{
	struct md_json *t = md_json_get(md_json_get((struct md_json *)pol, "transports"), transport);
	const struct md_json *r = t && ref ? md_policy_scope_of(t, ref, scope, n) : NULL;
	if (r)
		return r;
	r = md_json_get(t, "");
	snprintf(scope, n, "%s", r ? "\"\" of the transport" : "default");
	return r ? r : md_json_get((struct md_json *)pol, "default");
}

/* ---- checking a signature ---- */

/* The payload's digest and docker-reference (strictly: what containers/image
 * reads of critical, which must hold nothing else). */
static int md_sig_payload(const char *p, size_t n, char *dg, size_t dgn, char *ref, size_t refn)
{
	static const char *const top[] = {"critical", "optional", NULL}, *const crit[] = {"identity", "image", "type", NULL},
	                         *const img[] = {"docker-manifest-digest", NULL}, *const id[] = {"docker-reference", NULL};
	struct md_json *j = md_json_parse(p, n);
	if (!j)
		return md_errk(MD_EK_INVALID, "its payload is not JSON: %s", md_errmsg);
	struct md_json *c = md_json_get(j, "critical"), *o = md_json_get(j, "optional");
	struct md_json *im = md_json_get(c, "image"), *idn = md_json_get(c, "identity");
	const char *t = md_json_gets(c, "type"), *d = md_json_gets(im, "docker-manifest-digest"),
	           *r = md_json_gets(idn, "docker-reference");
	int bad = !md_json_is(j, MD_J_OBJ) || md_policy_fields(j, top, "") < 0 || !md_json_is(c, MD_J_OBJ) ||
	          md_policy_fields(c, crit, "") < 0 || (o && o->t != MD_J_OBJ && o->t != MD_J_NULL) || !md_json_is(im, MD_J_OBJ) ||
	          md_policy_fields(im, img, "") < 0 || !md_json_is(idn, MD_J_OBJ) || md_policy_fields(idn, id, "") < 0 || !t || !d || !r;
	int ret = 0;
	if (bad)
		ret = md_errk(MD_EK_INVALID, "its payload is not a simple-signing payload (critical.type, critical.image, critical.identity)");
	else if (strcmp(t, MD_SIG_TYPE) != 0)
		ret = md_errk(MD_EK_INVALID, "its payload's type is \"%.100s\", not \"%s\"", t, MD_SIG_TYPE);
	else if (md_digest_check(d, "its payload's manifest digest") < 0)
		ret = -1;
	else {
		snprintf(dg, dgn, "%s", d);
		snprintf(ref, refn, "%s", r);
	}
	md_json_free(j);
	return ret;
}

static int md_sig_same_repo(const struct md_ref *a, const struct md_ref *b)
{
	return strcmp(a->domain, b->domain) == 0 && strcmp(a->path, b->path) == 0;
}

/* The same repository and the same tag or digest (a name alone is never exact). */
static int md_sig_same_ref(const struct md_ref *a, const struct md_ref *b)
{
	if (!md_sig_same_repo(a, b))
		return 0;
	if (a->digest[0] || b->digest[0])
		return strcmp(a->digest, b->digest) == 0;
	return a->tag[0] && strcmp(a->tag, b->tag) == 0;
}

/* Does a signature's identity satisfy the requirement's signedIdentity for
 * the image reference img? */
static int md_sig_identity(const struct md_policy_req *pr, const struct md_ref *img, const struct md_ref *sig)
{
	switch (pr->prm) {
	case MD_PRM_EXACT:
		return (img->tag[0] || img->digest[0]) && md_sig_same_ref(img, sig);
	case MD_PRM_DIGEST_OR_EXACT:
		if (img->digest[0])
			return md_sig_same_repo(img, sig);
		return img->tag[0] && md_sig_same_ref(img, sig);
	case MD_PRM_REPO:
		return md_sig_same_repo(img, sig);
	case MD_PRM_EXACT_REF:
		return md_sig_same_ref(&pr->prm_ref, sig);
	case MD_PRM_EXACT_REPO:
		return md_sig_same_repo(&pr->prm_ref, sig);
	case MD_PRM_REMAP: {
		char s[1100];
		md_ref_canonical(img, NULL, s, sizeof s);
		size_t pl = strlen(pr->prefix);
		char c = s[pl];
		struct md_ref m = *img;
		if (strncmp(s, pr->prefix, pl) == 0 && (c == 0 || c == '/' || (strchr(pr->prefix, '/') && (c == ':' || c == '@')))) {
			char *re = md_asprintf("%s%s", pr->signed_prefix, s + pl);
			int ok = md_ref_parse(re, &m) == 0;
			free(re);
			if (!ok)
				return 0;
		}
		if (m.digest[0])
			return md_sig_same_repo(&m, sig);
		return m.tag[0] && md_sig_same_ref(&m, sig);
	}
	}
	return 0;
}

/* Check one signature against one sigstoreSigned requirement whose keys are
 * loaded: 1 accepted (ok filled), 0 refused (why says by which check). */
static int md_sig_check(const struct md_policy_req *pr, const struct md_sigkey *keys, size_t nkeys, const struct md_sig *s,
                        const struct md_ref *img, const char *const *digests, size_t nd, struct md_sig_ok *ok, char *why,
                        size_t wn)
{
	size_t sl = 0;
	unsigned char *sig = s->sig ? (unsigned char *)md_b64_strict(s->sig, &sl) : NULL;
	const struct md_sigkey *by = NULL;
	int r = 0;
	char dg[MD_DIGEST_LEN + 1], ref[600];
	if (!s->sig) {
		snprintf(why, wn, "it has no %s annotation", MD_SIG_ANNOTATION);
		goto out;
	}
	if (!sig) {
		snprintf(why, wn, "its %s annotation is not base64", MD_SIG_ANNOTATION);
		goto out;
	}
	for (size_t i = 0; i < nkeys && !by; i++)
		if (md_sigkey_verify(&keys[i], s->payload, s->plen, sig, sl))
			by = &keys[i];
	if (!by) {
		snprintf(why, wn, "the signature does not verify with %s%s", nkeys > 1 ? "any of the keys " : "the key ",
		         nkeys > 1 ? "of the requirement" : keys[0].name);
		goto out;
	}
	if (s->bundle) {
		/* cosign's bundle (a Rekor entry) carries the signature again */
		struct md_json *b = md_json_parse(s->bundle, strlen(s->bundle)), *body = NULL;
		const char *pb = md_json_gets(md_json_get(b, "Payload"), "body");
		char *bt = pb ? md_b64_strict(pb, NULL) : NULL;
		body = bt ? md_json_parse(bt, strlen(bt)) : NULL;
		const char *c = md_json_gets(md_json_get(md_json_get(body, "spec"), "signature"), "content");
		size_t bl = 0;
		char *bs = c ? md_b64_strict(c, &bl) : NULL;
		int same = bs && bl == sl && memcmp(bs, sig, sl) == 0;
		free(bs);
		free(bt);
		md_json_free(body);
		md_json_free(b);
		if (!same) {
			snprintf(why, wn, "its cosign bundle does not carry the same signature");
			goto out;
		}
	}
	if (md_sig_payload(s->payload, s->plen, dg, sizeof dg, ref, sizeof ref) < 0) {
		snprintf(why, wn, "%.500s", md_errmsg);
		goto out;
	}
	size_t i = 0;
	while (i < nd && strcmp(digests[i], dg) != 0)
		i++;
	if (i == nd) {
		snprintf(why, wn, "the signature is for the manifest %.80s, not %.80s", dg, digests[0]);
		goto out;
	}
	struct md_ref sr;
	if (md_ref_parse(ref, &sr) < 0) {
		snprintf(why, wn, "its identity \"%.200s\" is not a reference: %.300s", ref, md_errmsg);
		goto out;
	}
	if (!md_sig_identity(pr, img, &sr)) {
		char want[1100];
		md_ref_canonical(img, NULL, want, sizeof want);
		snprintf(why, wn, "its identity \"%.200s\" does not match \"%.300s\" (signedIdentity %s)", ref, want,
		         md_prm_names[pr->prm]);
		goto out;
	}
	snprintf(ok->key, sizeof ok->key, "%s", by->name);
	snprintf(ok->identity, sizeof ok->identity, "%s", ref);
	snprintf(ok->digest, sizeof ok->digest, "%s", dg);
	r = 1;
out:
	md_err_oneline(why);
	free(sig);
	return r;
}

/* Evaluate the requirements reqs of a scope for the image img (the
 * manifests it may be signed as: the list, the platform's manifest) with the
 * signatures found: 0 accepted (ok filled), -1 refused (a FORBIDDEN error
 * that names the check that failed). */
static int md_policy_eval(const struct md_json *reqs, const struct md_ref *img, const char *const *digests, size_t nd,
                          const struct md_sig *sigs, size_t nsigs, struct md_sig_ok *ok)
{
	char name[1100];
	md_ref_canonical(img, "latest", name, sizeof name);
	for (const struct md_json *c = reqs->child; c; c = c->next) {
		struct md_policy_req pr;
		if (md_policy_req_parse(c, &pr, ok->scope) < 0)
			return -1;
		int r = 0;
		if (pr.type == MD_PR_REJECT) {
			r = md_errk(MD_EK_FORBIDDEN, "%s is refused by the signature policy %s (scope %s: reject)", name, md_policy_file,
			            ok->scope);
		} else if (pr.type == MD_PR_SIGSTORE) {
			struct md_sigkey *keys = NULL;
			size_t nk = 0;
			char why[600] = "", first[600] = "";
			if (md_sigkey_load(&pr, &keys, &nk) < 0) {
				r = md_errk(MD_EK_FORBIDDEN, "%s: the signature policy %s (scope %s) cannot be used: %s", name, md_policy_file,
				            ok->scope, md_errmsg);
			} else {
				int accepted = 0;
				for (size_t i = 0; i < nsigs && !accepted; i++) {
					accepted = md_sig_check(&pr, keys, nk, &sigs[i], img, digests, nd, ok, why, sizeof why);
					if (!accepted && !first[0])
						snprintf(first, sizeof first, "%s", why);
				}
				if (!nsigs)
					r = md_errk(MD_EK_FORBIDDEN, "%s: no sigstore signature found, and the signature policy %s (scope %s) requires one",
					            name, md_policy_file, ok->scope);
				else if (!accepted)
					r = md_errk(MD_EK_FORBIDDEN, "%s: no signature is accepted by the signature policy %s (scope %s): %s%s",
					            name, md_policy_file, ok->scope, first, nsigs > 1 ? " (and the others as well)" : "");
			}
			free(keys);
		}
		md_policy_req_free(&pr);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* What accepted an image, as the image's record and inspect show it. */
static struct md_json *md_sig_ok_json(const struct md_sig_ok *ok)
{
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "Key", ok->key);
	md_json_sets(o, "Identity", ok->identity);
	md_json_sets(o, "Manifest", ok->digest);
	md_json_sets(o, "Scope", ok->scope);
	md_json_sets(o, "Policy", md_policy_file);
	return o;
}

/* Does the scope need signatures?  1 yes, 0 no (accept or reject only). */
static int md_policy_needs_sigs(const struct md_json *reqs)
{
	for (const struct md_json *c = reqs->child; c; c = c->next)
		if (md_streq(md_json_gets((struct md_json *)c, "type"), "sigstoreSigned"))
			return 1;
	return 0;
}

/* The policy for what has no signatures (load: "docker-archive" or
 * "oci-archive"; import: NULL, the default): 0 accepted, -1 refused. */
static int md_policy_admit_unsigned(const char *transport, const char *what)
{
	const struct md_json *pol;
	const char *file;
	if (md_policy_load(&pol, &file) < 0)
		return -1;
	if (!pol)
		return 0;
	struct md_sig_ok ok = {0};
	const struct md_json *reqs = md_policy_scope(pol, transport ? transport : "", NULL, ok.scope, sizeof ok.scope);
	md_policy_file = file;
	for (const struct md_json *c = reqs->child; c; c = c->next) {
		const char *t = md_json_gets((struct md_json *)c, "type");
		if (md_streq(t, "reject"))
			return md_errk(MD_EK_FORBIDDEN, "%s is refused by the signature policy %s (%s%sscope %s: reject)", what, file,
			               transport ? transport : "", transport ? ", " : "", ok.scope);
		if (md_streq(t, "sigstoreSigned"))
			return md_errk(MD_EK_FORBIDDEN,
			               "%s: the signature policy %s (%s%sscope %s) requires sigstore signatures, which an archive does not carry",
			               what, file, transport ? transport : "", transport ? ", " : "", ok.scope);
	}
	return 0;
}

/* ---- signatures beside an image in a registry ---- */

/* The sigstore signatures of the manifest digest: the layers of the
 * manifest tagged "sha256-<hex>.sig" (none if the registry has no such tag). */
static int md_sig_fetch(struct md_reg *rg, const char *digest, struct md_sig **sigs, size_t *n)
{
	char tag[80];
	snprintf(tag, sizeof tag, "sha256-%.64s.sig", digest + 7);
	struct md_http_resp resp;
	struct md_conn *c, tmp;
	int r = md_reg_manifest_get(rg, tag, &resp, &c, &tmp);
	if (r < 0)
		return md_err_wrap("signatures of %s", digest);
	if (resp.status == 404) {
		md_reg_done(rg, c, &resp, 0);
		return 0;
	}
	if (resp.status != 200) {
		char msg[300];
		int st = resp.status;
		md_reg_errbody(c, &resp, msg, sizeof msg);
		md_reg_done(rg, c, &resp, 0);
		return md_err("signatures of %s: %s answered HTTP %d: %s", digest, rg->name, st, msg);
	}
	size_t len;
	char *body = md_http_slurp(c, &resp, 1u << 20, &len);
	md_reg_done(rg, c, &resp, body != NULL);
	if (!body)
		return md_err_wrap("signatures of %s", digest);
	struct md_json *m = md_json_parse(body, len);
	free(body);
	if (!m)
		return md_errk(MD_EK_INVALID, "signatures of %s: their manifest is not JSON: %s", digest, md_errmsg);
	struct md_json *layers = md_json_get(m, "layers");
	size_t taken = 0;
	r = 0;
	for (struct md_json *l = md_json_is(layers, MD_J_ARR) ? layers->child : NULL; l && r == 0; l = l->next) {
		if (!md_streq(md_json_gets(l, "mediaType"), MD_SIG_MIME) || taken++ >= MD_SIG_MAX)
			continue; /* another kind of attachment, or one too many */
		const char *d = md_json_gets(l, "digest");
		struct md_json *ann = md_json_get(l, "annotations");
		if (md_digest_check(d, "signature layer") < 0) {
			r = -1;
			break;
		}
		*sigs = md_realloc(*sigs, (*n + 1) * sizeof **sigs);
		struct md_sig *s = &(*sigs)[*n];
		memset(s, 0, sizeof *s);
		if (!(s->payload = md_reg_small_blob(rg, d, MD_SIG_PAYLOAD_MAX, &s->plen, "signature payload"))) {
			r = -1;
			break;
		}
		(*n)++;
		const char *sg = md_json_gets(ann, MD_SIG_ANNOTATION), *bu = md_json_gets(ann, MD_SIG_BUNDLE);
		s->sig = sg ? md_strdup(sg) : NULL;
		s->bundle = bu ? md_strdup(bu) : NULL;
	}
	md_json_free(m);
	return r;
}

/* Check a pulled image against the signature policy before anything is
 * stored: ref as pulled, top the digest of the manifest (or list) its name
 * gave, dg the platform's manifest.  0 accepted (ok says by what), -1 not. */
static int md_sig_pull_check(struct md_reg *rg, const struct md_ref *ref, const char *top, const char *dg,
                             struct md_sig_ok *ok)
{
	const struct md_json *pol;
	const char *file;
	memset(ok, 0, sizeof *ok);
	if (md_policy_load(&pol, &file) < 0)
		return -1;
	if (!pol)
		return 0;
	md_policy_file = file;
	struct md_ref img = *ref;
	if (!img.tag[0] && !img.digest[0])
		snprintf(img.tag, sizeof img.tag, "latest");
	const struct md_json *reqs = md_policy_scope(pol, "docker", &img, ok->scope, sizeof ok->scope);
	struct md_sig *sigs = NULL;
	size_t n = 0;
	const char *digests[2] = {top, dg};
	size_t nd = strcmp(top, dg) != 0 ? 2 : 1;
	int r = 0;
	if (md_policy_needs_sigs(reqs))
		for (size_t i = 0; i < nd && r == 0; i++)
			r = md_sig_fetch(rg, digests[i], &sigs, &n);
	if (r == 0)
		r = md_policy_eval(reqs, &img, digests, nd, sigs, n, ok);
	md_sig_free(sigs, n);
	return r;
}
#endif /* MD_FEATURE_SIGN */

/* What a pull did: the image's ID, its manifest's digest, its name, and
 * whether the store had it already. */
struct md_pulled {
	char id[MD_DIGEST_LEN + 1], digest[MD_DIGEST_LEN + 1], name[800];
	int had;
};

/* Pull an image (for md_want's platform) into the store, saying what it
 * does through rep. */
static int md_pull(const char *refstr, struct md_report *rep, struct md_pulled *out)
{
	struct md_ref ref;
	memset(out, 0, sizeof *out);
	if (md_ref_parse(refstr, &ref) < 0)
		return -1;
	char *fam = out->name;
	md_ref_familiar(&ref, fam, sizeof out->name);
	struct md_reg rg;
	if (md_reg_open(&rg, &ref, "pull") < 0) {
		md_reg_close(&rg);
		return -1;
	}
	if (!md_want.os[0])
		md_platform_host(&md_want);
	struct md_load L;
	memset(&L, 0, sizeof L);
	struct md_json *man = NULL, *cfgj = NULL, *sig = NULL;
	char *top = out->digest, dg[MD_DIGEST_LEN + 1];
	char *cfgraw = NULL;
	int r = -1;
	man = md_reg_manifest(&rg, ref.digest[0] ? ref.digest : ref.tag[0] ? ref.tag : "latest", top, NULL, NULL);
	if (!man)
		goto out;
	/* after the manifest came: a failed pull is one line, as Docker's */
	md_reportf(rep, NULL, 0, 0, "%s: Pulling from %s", ref.tag[0] ? ref.tag : ref.digest[0] ? ref.digest : "latest", ref.path);
	snprintf(dg, sizeof dg, "%s", top);
	if (md_pull_pick(&rg, fam, &man, dg) < 0)
		goto out;
#if MD_FEATURE_SIGN
	struct md_sig_ok sok;
	if (md_sig_pull_check(&rg, &ref, top, dg, &sok) < 0)
		goto out;
	if (sok.key[0]) {
		sig = md_sig_ok_json(&sok);
		md_reportf(rep, NULL, 0, 0, "Signature: verified with %s (identity %s)", sok.key, sok.identity);
	}
#endif
	struct md_json *cdesc = md_json_get(man, "config"), *layers = md_json_get(man, "layers");
	if (!md_json_is(cdesc, MD_J_OBJ) || !md_json_is(layers, MD_J_ARR)) {
		md_errk(MD_EK_INVALID, "manifest %s of %s is not an image manifest", dg, fam);
		goto out;
	}
	const char *cd = md_json_gets(cdesc, "digest");
	if (md_digest_check(cd, "config descriptor") < 0 || md_image_layer_limit(fam, layers->n) < 0 ||
	    md_pull_config(&rg, cd, &cfgraw, &cfgj) < 0)
		goto out;
	struct md_json *diffs = md_json_get(md_json_get(cfgj, "rootfs"), "diff_ids");
	if (!md_json_is(diffs, MD_J_ARR) || diffs->n != layers->n) {
		md_errk(MD_EK_INVALID, "image config %s lists %zu layers, the manifest %zu", cd, diffs ? diffs->n : 0, layers->n);
		goto out;
	}
	if (md_sess_begin(&L.sess) < 0 || md_pull_layers(&rg, &L, layers, diffs, rep) < 0)
		goto out;
	struct md_json *before = md_index_read();
	out->had = before && md_json_get(md_json_get(before, "images"), cd) != NULL;
	md_json_free(before);
	struct md_json *sigrec = sig;
	sig = NULL; /* the load owns it from here */
	if (md_pull_commit(&L, &ref, cd, &cfgraw, top, sigrec) < 0)
		goto out;
	snprintf(out->id, sizeof out->id, "%s", cd);
	r = 0;
out:
	md_json_free(man);
	md_json_free(cfgj);
	md_json_free(sig);
	free(cfgraw);
	md_load_free(&L);
	md_reg_close(&rg);
	return r;
}

/* ---- push ---- */

/* A layer's tar, rebuilt from the store and gzip-compressed, as a source. */
struct md_gzsrc {
	struct md_tarsplit_in *t;
	z_stream zs;
	unsigned char in[65536];
	int eof, end;
	br_sha256_context h;   /* of the compressed bytes */
	uint64_t n;
};

static int md_gzsrc_open(struct md_gzsrc *g, const char *chain)
{
	memset(g, 0, sizeof *g);
	char *dir = md_layer_path(chain);
	g->t = md_tarsplit_in_open(dir);
	free(dir);
	if (!g->t)
		return -1;
	/* level 6, no name or time in the header: the same bytes every time */
	if (deflateInit2(&g->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		md_tarsplit_in_close(g->t);
		return md_err("cannot initialise gzip compression");
	}
	md_sha_init(&g->h);
	return 0;
}

static void md_gzsrc_close(struct md_gzsrc *g)
{
	if (g->t)
		md_tarsplit_in_close(g->t);
	deflateEnd(&g->zs);
	g->t = NULL;
}

static ssize_t md_gzsrc_read(void *ctx, void *buf, size_t n)
{
	struct md_gzsrc *g = ctx;
	if (g->end)
		return 0;
	g->zs.next_out = buf;
	g->zs.avail_out = (uInt)n;
	while (g->zs.avail_out == n || (g->zs.avail_out > 0 && g->eof && !g->end)) {
		if (g->zs.avail_in == 0 && !g->eof) {
			ssize_t k = md_tarsplit_in_read(g->t, g->in, sizeof g->in);
			if (k < 0)
				return -1;
			if (k == 0)
				g->eof = 1;
			g->zs.next_in = g->in;
			g->zs.avail_in = (uInt)k;
		}
		int r = deflate(&g->zs, g->eof ? Z_FINISH : Z_NO_FLUSH);
		if (r == Z_STREAM_END) {
			g->end = 1;
			break;
		}
		if (r != Z_OK && r != Z_BUF_ERROR)
			return md_err("gzip compression failed");
		if (r == Z_BUF_ERROR && g->zs.avail_in == 0 && !g->eof)
			continue;
	}
	size_t out = n - g->zs.avail_out;
	md_sha_update(&g->h, buf, out);
	g->n += out;
	return (ssize_t)out;
}

/* Does the registry have this blob?  1 yes, 0 no, -1 error. */
static int md_reg_has_blob(struct md_reg *rg, const char *digest)
{
	char path[800];
	snprintf(path, sizeof path, "/v2/%s/blobs/%s", rg->repo, digest);
	struct md_http_resp resp;
	struct md_conn *c, tmp;
	if (md_reg_req(rg, "HEAD", path, NULL, NULL, -1, &resp, &c, &tmp) < 0)
		return -1;
	int st = resp.status;
	resp.done = 1; /* a HEAD response has no body */
	md_reg_done(rg, c, &resp, 1);
	return st == 200 ? 1 : st == 404 ? 0 : md_err("%s answered HTTP %d to HEAD %s", rg->name, st, digest);
}

/* Upload one blob: monolithic (one PUT with the body), or in chunks when
 * the registry asks for them (OCI-Chunk-Min-Length).  src gives size bytes. */
static int md_reg_upload(struct md_reg *rg, const char *digest, uint64_t size, struct md_src src, const char *mount_from)
{
	char path[1200];
	if (mount_from)
		snprintf(path, sizeof path, "/v2/%s/blobs/uploads/?mount=%s&from=%s", rg->repo, digest, mount_from);
	else
		snprintf(path, sizeof path, "/v2/%s/blobs/uploads/", rg->repo);
	struct md_http_resp resp;
	struct md_conn *c, tmp;
	if (md_reg_req(rg, "POST", path, NULL, "", 0, &resp, &c, &tmp) < 0)
		return -1;
	int st = resp.status;
	if (st == 201) { /* cross-repository mount done */
		md_http_drain(c, &resp);
		md_reg_done(rg, c, &resp, 1);
		return 1;
	}
	if (st != 202 || !md_http_header(&resp, "location")) {
		char msg[300];
		md_reg_errbody(c, &resp, msg, sizeof msg);
		md_reg_done(rg, c, &resp, 0);
		return md_err("starting an upload to %s/%s: HTTP %d: %s", rg->name, rg->repo, st, msg);
	}
	struct md_url base = rg->base, loc;
	snprintf(base.path, sizeof base.path, "%s", path);
	if (md_url_join(&base, md_http_header(&resp, "location"), &loc) < 0) {
		md_reg_done(rg, c, &resp, 0);
		return -1;
	}
	const char *cm = md_http_header(&resp, "oci-chunk-min-length");
	uint64_t chunk = cm ? strtoull(cm, NULL, 10) : 0;
	md_http_drain(c, &resp);
	md_reg_done(rg, c, &resp, 1);
	char url[4600];
	char buf[65536];
	if (chunk) {
		/* PATCH chunks of at least the asked size, then PUT the digest */
		if (chunk < sizeof buf)
			chunk = sizeof buf;
		uint64_t off = 0;
		char *cbuf = md_alloc(chunk);
		while (off < size) {
			size_t want = size - off < chunk ? (size_t)(size - off) : (size_t)chunk, got = 0;
			while (got < want) {
				ssize_t k = src.read(src.ctx, cbuf + got, want - got);
				if (k <= 0) {
					free(cbuf);
					return k < 0 ? -1 : md_err("blob %s ended early", digest);
				}
				got += (size_t)k;
			}
			snprintf(url, sizeof url, "%s://" MD_HOST_FMT ":%d%s", loc.scheme, MD_HOST_ARGS(loc.host), loc.port, loc.path);
			struct md_strv h = {0};
			char cr[96];
			snprintf(cr, sizeof cr, "Content-Range: %llu-%llu", (unsigned long long)off, (unsigned long long)(off + got - 1));
			md_strv_push(&h, cr);
			md_strv_push(&h, "Content-Type: application/octet-stream");
			int r = md_reg_req(rg, "PATCH", url, &h, cbuf, (int64_t)got, &resp, &c, &tmp);
			md_strv_free(&h);
			if (r < 0) {
				free(cbuf);
				return -1;
			}
			st = resp.status;
			const char *nl = md_http_header(&resp, "location");
			struct md_url nloc;
			int jr = nl ? md_url_join(&loc, nl, &nloc) : -1;
			md_http_drain(c, &resp);
			md_reg_done(rg, c, &resp, 1);
			if (st != 202 || jr < 0) {
				free(cbuf);
				return md_err("uploading %s to %s: HTTP %d", digest, rg->name, st);
			}
			loc = nloc;
			off += got;
		}
		free(cbuf);
		snprintf(url, sizeof url, "%s://" MD_HOST_FMT ":%d%s%cdigest=%s", loc.scheme, MD_HOST_ARGS(loc.host), loc.port, loc.path,
		         strchr(loc.path, '?') ? '&' : '?', digest);
		if (md_reg_req(rg, "PUT", url, NULL, "", 0, &resp, &c, &tmp) < 0)
			return -1;
	} else {
		snprintf(url, sizeof url, "%s://" MD_HOST_FMT ":%d%s%cdigest=%s", loc.scheme, MD_HOST_ARGS(loc.host), loc.port, loc.path,
		         strchr(loc.path, '?') ? '&' : '?', digest);
		/* the body streams after the head: send the head ourselves */
		struct md_url pu;
		if (md_url_parse(url, &pu) < 0 || md_reg_conn(rg, &pu, &c, &tmp) < 0)
			return -1;
		struct md_strv h = {0};
		md_strv_push(&h, "Content-Type: application/octet-stream");
		if (rg->token) {
			char *a = md_asprintf("Authorization: Bearer %s", rg->token);
			md_strv_push(&h, a);
			free(a);
		} else if (rg->basic) {
			char *a = md_asprintf("Authorization: Basic %s", rg->basic);
			md_strv_push(&h, a);
			free(a);
		}
		int r = md_http_send(c, "PUT", &pu, &h, NULL, (int64_t)size, NULL);
		md_strv_free(&h);
		uint64_t sent = 0;
		while (r == 0 && sent < size) {
			ssize_t k = src.read(src.ctx, buf, sizeof buf);
			if (k <= 0) {
				r = k < 0 ? -1 : md_err("blob %s ended early", digest);
				break;
			}
			r = md_conn_write(c, buf, (size_t)k);
			sent += (uint64_t)k;
		}
		if (r < 0 || md_http_read_head(c, &resp) < 0) {
			if (c == &rg->conn) {
				md_conn_close(&rg->conn);
				rg->conn_key[0] = 0;
			} else {
				md_conn_close(c);
			}
			return md_err_wrap("uploading %s", digest);
		}
	}
	st = resp.status;
	char msg[300] = "";
	if (st != 201)
		md_reg_errbody(c, &resp, msg, sizeof msg);
	else
		md_http_drain(c, &resp);
	md_reg_done(rg, c, &resp, st == 201);
	if (st != 201)
		return md_err("finishing the upload of %s to %s: HTTP %d: %s", digest, rg->name, st, msg);
	return 0;
}

struct md_bufsrc {
	const char *p;
	size_t left;
};

static ssize_t md_bufsrc_read(void *ctx, void *buf, size_t n)
{
	struct md_bufsrc *b = ctx;
	size_t k = b->left < n ? b->left : n;
	memcpy(buf, b->p, k);
	b->p += k;
	b->left -= k;
	return (ssize_t)k;
}

/* Push one layer (chain, whose DiffID is diff): its gzip digest known from
 * an earlier push or found by a first pass, then uploaded unless the
 * registry has it (or mounted from the repository it went to before);
 * its descriptor is added to mlayers and bmap notes it for the next push. */
static int md_push_layer(struct md_reg *rg, const char *chain, const char *diff, struct md_json *bmap,
                         struct md_json *mlayers, struct md_report *rep)
{
	struct md_json *known = md_json_get(bmap, diff);
	char gd[MD_DIGEST_LEN + 1], sid[13];
	uint64_t gsize;
	if (known && md_digest_valid(md_json_gets(known, "digest"))) {
		snprintf(gd, sizeof gd, "%s", md_json_gets(known, "digest"));
		gsize = (uint64_t)md_json_geti(known, "size", 0);
	} else {
		struct md_gzsrc g;
		char tmpb[65536];
		ssize_t k;
		if (md_gzsrc_open(&g, chain) < 0)
			return -1;
		while ((k = md_gzsrc_read(&g, tmpb, sizeof tmpb)) > 0)
			;
		md_sha_hex(&g.h, gd);
		gsize = g.n;
		md_gzsrc_close(&g);
		if (k < 0)
			return -1;
	}
	snprintf(sid, sizeof sid, "%.12s", gd + 7);
	int has = md_reg_has_blob(rg, gd);
	if (has < 0)
		return -1;
	if (has) {
		md_reportf(rep, sid, 0, 0, "Layer already exists");
	} else {
		const char *from = known ? md_json_gets(known, "repo") : NULL;
		const char *freg = known ? md_json_gets(known, "registry") : NULL;
		struct md_gzsrc g;
		if (md_gzsrc_open(&g, chain) < 0)
			return -1;
		int ur = md_reg_upload(rg, gd, gsize, (struct md_src){md_gzsrc_read, &g},
		                       from && md_streq(freg, rg->name) && strcmp(from, rg->repo) != 0 ? from : NULL);
		char got[MD_DIGEST_LEN + 1];
		md_sha_hex(&g.h, got);
		md_gzsrc_close(&g);
		if (ur == 0 && strcmp(got, gd) != 0)
			return md_err("layer %s compressed differently this time (%s): the store changed?", diff, got);
		if (ur < 0)
			return -1;
		md_reportf(rep, sid, 0, 0, "%s", ur == 1 ? "Mounted from another repository" : "Pushed");
	}
	struct md_json *bm = md_json_set(bmap, diff, md_json_new(MD_J_OBJ));
	md_json_sets(bm, "digest", gd);
	md_json_seti(bm, "size", (long long)gsize);
	md_json_sets(bm, "registry", rg->name);
	md_json_sets(bm, "repo", rg->repo);
	struct md_json *ld = md_json_push(mlayers, md_json_new(MD_J_OBJ));
	md_json_sets(ld, "mediaType", "application/vnd.docker.image.rootfs.diff.tar.gzip");
	md_json_seti(ld, "size", (long long)gsize);
	md_json_sets(ld, "digest", gd);
	return 0;
}

/* PUT the manifest ms under the tag. */
static int md_push_manifest(struct md_reg *rg, const char *tag, const char *ms)
{
	char path[800];
	snprintf(path, sizeof path, "/v2/%s/manifests/%s", rg->repo, tag);
	struct md_strv h = {0};
	md_strv_push(&h, "Content-Type: application/vnd.docker.distribution.manifest.v2+json");
	struct md_http_resp resp;
	struct md_conn *c, tmp;
	int pr = md_reg_req(rg, "PUT", path, &h, ms, (int64_t)strlen(ms), &resp, &c, &tmp);
	md_strv_free(&h);
	if (pr < 0)
		return -1;
	int st = resp.status;
	char msg[300] = "";
	if (st != 201)
		md_reg_errbody(c, &resp, msg, sizeof msg);
	else
		md_http_drain(c, &resp);
	md_reg_done(rg, c, &resp, st == 201);
	return st == 201 ? 0 : md_err("pushing the manifest to %s: HTTP %d: %s", rg->name, st, msg);
}

/* After a push: the compressed digests, for the next push, and the image's
 * name@digest, under the store lock. */
static int md_push_record(const char *id, const struct md_ref *ref, const struct md_json *bmap, const char *mdg)
{
	int wr = -1;
	if (md_store_lock() < 0)
		return -1;
	struct md_json *ix = md_index_read();
	if (ix) {
		struct md_json *nb = md_index_section(ix, "blobmap");
		for (struct md_json *x = bmap->child; x; x = x->next)
			md_json_set(nb, x->key, md_json_clone(x));
		char name[600], rd[800];
		md_ref_name(ref, name, sizeof name);
		snprintf(rd, sizeof rd, "%s@%s", name, mdg);
		struct md_json *rec = md_json_get(md_json_get(ix, "images"), id);
		if (rec)
			md_image_add_digest(rec, rd);
		wr = md_index_write(ix);
	}
	md_json_free(ix);
	md_store_unlock();
	return wr;
}

/* What a push did: the tag, the manifest's digest and size. */
struct md_pushed {
	char tag[130], digest[MD_DIGEST_LEN + 1];
	size_t size;
};

/* Push a tagged image (gzip layers, a Docker v2 manifest), saying what it
 * does through rep. */
static int md_push(const char *refstr, struct md_report *rep, struct md_pushed *out)
{
	struct md_ref ref;
	char fam[800], id[MD_DIGEST_LEN + 1];
	memset(out, 0, sizeof *out);
	if (md_ref_parse(refstr, &ref) < 0)
		return -1;
	if (ref.digest[0])
		return md_errk(MD_EK_INVALID, "cannot push a digest reference: push a tag");
	md_ref_familiar(&ref, fam, sizeof fam);
	struct md_json *idx = md_index_read();
	if (!idx)
		return -1;
	if (md_image_resolve(idx, fam, id) < 0) {
		md_json_free(idx);
		return md_errk(MD_EK_NOTFOUND, "An image does not exist locally with the tag: %s", fam);
	}
	struct md_reg rg;
	if (md_reg_open(&rg, &ref, "pull,push") < 0) {
		md_reg_close(&rg);
		md_json_free(idx);
		return -1;
	}
	int r = -1;
	char *cfgpath = md_blob_path(id);
	size_t clen;
	char *cfg = md_read_file(cfgpath, MD_JSON_MAX_DOC, &clen);
	free(cfgpath);
	struct md_json *ls = md_json_clone(md_image_layers(idx, id));
	struct md_json *man = md_json_new(MD_J_OBJ), *mlayers = NULL;
	if (!cfg)
		goto out;
	md_reportf(rep, NULL, 0, 0, "The push refers to repository [%s/%s]", ref.domain, ref.path);
	md_json_seti(man, "schemaVersion", 2);
	md_json_sets(man, "mediaType", "application/vnd.docker.distribution.manifest.v2+json");
	struct md_json *cd = md_json_set(man, "config", md_json_new(MD_J_OBJ));
	md_json_sets(cd, "mediaType", "application/vnd.docker.container.image.v1+json");
	md_json_seti(cd, "size", (long long)clen);
	md_json_sets(cd, "digest", id);
	mlayers = md_json_set(man, "layers", md_json_new(MD_J_ARR));
	struct md_json *bmap = md_index_section(idx, "blobmap");
	for (struct md_json *l = ls->child; l; l = l->next) {
		const char *chain = md_json_str(l);
		const char *diff = md_json_gets(md_json_get(md_json_get(idx, "layers"), chain), "diff");
		if (!chain || !diff) {
			md_err("layer %s is missing from the store index", chain ? chain : "?");
			goto out;
		}
		if (md_push_layer(&rg, chain, diff, bmap, mlayers, rep) < 0)
			goto out;
	}
	int has = md_reg_has_blob(&rg, id);
	struct md_bufsrc bs = {cfg, clen};
	if (has < 0 || (!has && md_reg_upload(&rg, id, clen, (struct md_src){md_bufsrc_read, &bs}, NULL) < 0))
		goto out;
	char *ms = md_json_dump(man, 0);
	snprintf(out->tag, sizeof out->tag, "%s", ref.tag[0] ? ref.tag : "latest");
	out->size = strlen(ms);
	md_sha256_buf(ms, strlen(ms), out->digest);
	int pr = md_push_manifest(&rg, out->tag, ms);
	free(ms);
	if (pr < 0)
		goto out;
	if (md_push_record(id, &ref, bmap, out->digest) < 0) { /* the registry has it; only the store could not take note */
		md_err_wrap("pushed as %s, but the store could not record it", out->digest);
		goto out;
	}
	r = 0;
out:
	free(cfg);
	md_json_free(ls);
	md_json_free(man);
	md_json_free(idx);
	md_reg_close(&rg);
	return r;
}

/* ---- login and logout ---- */

/* Check credentials against the registry's /v2/ (and its token service). */
static int md_login_check(const char *registry, const char *b64)
{
	struct md_ref ref;
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s/library/x", registry);
	if (md_ref_parse(tmp, &ref) < 0)
		return md_err("invalid registry \"%s\"", registry);
	struct md_reg rg;
	if (md_reg_open(&rg, &ref, "pull") < 0) {
		md_reg_close(&rg);
		return -1;
	}
	free(rg.basic);
	rg.basic = md_strdup(b64);
	struct md_http_resp resp;
	struct md_conn *c, tc;
	int r = md_reg_req(&rg, "GET", "/v2/", NULL, NULL, -1, &resp, &c, &tc);
	if (r == 0) {
		int st = resp.status;
		md_http_drain(c, &resp);
		md_reg_done(&rg, c, &resp, 1);
		if (st == 401 || st == 403)
			r = md_err("unauthorized: incorrect username or password for %s", registry);
		else if (st != 200)
			r = md_err("%s answered HTTP %d to /v2/", registry, st);
	}
	md_reg_close(&rg);
	return r;
}
#endif

/**** 13 seccomp [MD_FEATURE_SECCOMP] ***************************************/
/*
 * Owns the containers' default seccomp filter: Docker's default profile
 * (moby/profiles, seccomp/default_linux.go; the JSON is generated from it),
 * compiled without libseccomp into a classic BPF program, and its
 * installation.  The program covers the architecture minidock is built for
 * and the compat ABIs Docker's archMap adds there (x86_64: x32 and i386;
 * aarch64: arm); any other seccomp_data.arch kills the process, as
 * libseccomp's bad-arch action does.
 *
 * The syscall table is generated by mk/gen-seccomp.py from the kernel's UAPI
 * headers (see there for how to rerun it).  Its rules say when a name is
 * allowed: always, with a capability ("includes": {"caps"}), on a kernel >=
 * 4.8 ("minKernel"), for the daemon architecture ("arches"), or after an
 * argument check (clone, socket, personality).  md_seccomp_build resolves
 * them for one container's capabilities and emits:
 *
 *   ld arch; jeq <each known arch> -> its section; ret KILL_PROCESS
 *   section: ld nr; a jump tree over ranges of nr (binary search, ~8
 *   comparisons) whose leaves return ALLOW, ERRNO(EPERM), ERRNO(ENOSYS) or
 *   check an argument first.
 *
 * As runc does for Docker, numbers above the highest one the filter names
 * for an ABI fail with ENOSYS rather than EPERM, so libc falls back from
 * syscalls newer than the profile.
 *
 * Calls md_err, md_errno, md_alloc, md_realloc.
 *
 * INCLUDES (for section 02; only needed with MD_FEATURE_SECCOMP):
 *   #include <linux/audit.h>
 *   #include <linux/filter.h>
 *   #include <linux/seccomp.h>
 *   #include <sys/prctl.h>
 *   #include <sys/syscall.h>
 *   (and <stddef.h>, <errno.h>, <stdio.h>, <stdlib.h>, <sys/utsname.h>,
 *   <unistd.h>, already there)
 *
 * May call: sections 01-12.
 */

#if MD_FEATURE_SECCOMP

/* Older UAPI headers lack some of these. */
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000u
#endif
#ifndef SECCOMP_RET_KILL_THREAD
#define SECCOMP_RET_KILL_THREAD 0x00000000u
#endif
#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif
#ifndef AUDIT_ARCH_RISCV64
#define AUDIT_ARCH_RISCV64 (243 /* EM_RISCV */ | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE)
#endif

/* The architecture minidock is built for picks the table's columns. */
#if defined(__x86_64__)
#define MD_SECCOMP_ARCH_X86_64 1 /* an x32 build of minidock too */
#elif defined(__i386__)
#define MD_SECCOMP_ARCH_I386 1
#elif defined(__aarch64__) && !defined(__AARCH64EB__)
#define MD_SECCOMP_ARCH_AARCH64 1
#elif defined(__arm__) && defined(__ARM_EABI__) && !defined(__ARMEB__)
#define MD_SECCOMP_ARCH_ARM 1
#elif defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABIO32
#define MD_SECCOMP_ARCH_MIPS_O32 1
#if defined(__MIPSEL__)
#define MD_SECCOMP_AUDIT_MIPS AUDIT_ARCH_MIPSEL
#else
#define MD_SECCOMP_AUDIT_MIPS AUDIT_ARCH_MIPS
#endif
#elif defined(__riscv) && __riscv_xlen == 64
#define MD_SECCOMP_ARCH_RISCV64 1
#endif
#ifndef MD_SECCOMP_ARCH_X86_64
#define MD_SECCOMP_ARCH_X86_64 0
#endif
#ifndef MD_SECCOMP_ARCH_I386
#define MD_SECCOMP_ARCH_I386 0
#endif
#ifndef MD_SECCOMP_ARCH_AARCH64
#define MD_SECCOMP_ARCH_AARCH64 0
#endif
#ifndef MD_SECCOMP_ARCH_ARM
#define MD_SECCOMP_ARCH_ARM 0
#endif
#ifndef MD_SECCOMP_ARCH_MIPS_O32
#define MD_SECCOMP_ARCH_MIPS_O32 0
#endif
#ifndef MD_SECCOMP_ARCH_RISCV64
#define MD_SECCOMP_ARCH_RISCV64 0
#endif

struct md_seccomp_abi {
	uint32_t arch;  /* AUDIT_ARCH_* as seccomp_data.arch shows it */
	uint32_t base;  /* added to the table's numbers */
	uint8_t arg64;  /* arguments are 64 bits wide: compare both halves */
};

/* BEGIN GENERATED BY mk/gen-seccomp.py -- do not edit; rerun it. */
/*
 * Docker's default seccomp profile (moby/profiles seccomp/default_linux.go)
 * with syscall numbers from linux-libc-dev 7.3.4-1~bpo13+1.
 */
#define MD_SECCOMP_CLONE_NS_FLAGS 0x7e020000u
#define MD_SECCOMP_PERSONALITY_OK { 0x0u, 0x8u, 0x20000u, 0x20008u, 0xffffffffu }
/* socket(2) domains: AF_UNSPEC..AF_ROSE, AF_NETBEUI..AF_ASH, AF_RDS..AF_SNA,
 * AF_PPPOX, AF_LLC..AF_RXRPC, AF_PHONET..AF_IEEE802154, AF_NFC,
 * AF_KCM..AF_MCTP */
#define MD_SECCOMP_SOCKET_OK { {0, 11}, {13, 18}, {21, 22}, {24, 24}, {26, 33}, {35, 36}, {39, 39}, {41, 45} }

/* The ABIs Docker filters on each architecture, and their columns below. */
#if MD_SECCOMP_ARCH_X86_64 /* x86_64 */
#define MD_SECCOMP_NABI 3
#define MD_SECCOMP_COLS(x86_64, x32, i386, aarch64, arm, o32, riscv64) x86_64, x32, i386
#define MD_SECCOMP_ABIS { \
	{ AUDIT_ARCH_X86_64, 0, 1 }, /* x86_64 */ \
	{ AUDIT_ARCH_X86_64, 0x40000000, 0 }, /* x32 */ \
	{ AUDIT_ARCH_I386, 0, 0 }, /* i386 */ \
}
#elif MD_SECCOMP_ARCH_I386 /* i386 */
#define MD_SECCOMP_NABI 1
#define MD_SECCOMP_COLS(x86_64, x32, i386, aarch64, arm, o32, riscv64) i386
#define MD_SECCOMP_ABIS { \
	{ AUDIT_ARCH_I386, 0, 0 }, /* i386 */ \
}
#elif MD_SECCOMP_ARCH_AARCH64 /* aarch64 */
#define MD_SECCOMP_NABI 2
#define MD_SECCOMP_COLS(x86_64, x32, i386, aarch64, arm, o32, riscv64) aarch64, arm
#define MD_SECCOMP_ABIS { \
	{ AUDIT_ARCH_AARCH64, 0, 1 }, /* aarch64 */ \
	{ AUDIT_ARCH_ARM, 0, 0 }, /* arm */ \
}
#elif MD_SECCOMP_ARCH_ARM /* arm (EABI) */
#define MD_SECCOMP_NABI 1
#define MD_SECCOMP_COLS(x86_64, x32, i386, aarch64, arm, o32, riscv64) arm
#define MD_SECCOMP_ABIS { \
	{ AUDIT_ARCH_ARM, 0, 0 }, /* arm */ \
}
#elif MD_SECCOMP_ARCH_MIPS_O32 /* mips/mipsel o32 */
#define MD_SECCOMP_NABI 1
#define MD_SECCOMP_COLS(x86_64, x32, i386, aarch64, arm, o32, riscv64) o32
#define MD_SECCOMP_ABIS { \
	{ MD_SECCOMP_AUDIT_MIPS, 4000, 0 }, /* o32 */ \
}
#elif MD_SECCOMP_ARCH_RISCV64 /* riscv64 */
#define MD_SECCOMP_NABI 1
#define MD_SECCOMP_COLS(x86_64, x32, i386, aarch64, arm, o32, riscv64) riscv64
#define MD_SECCOMP_ABIS { \
	{ AUDIT_ARCH_RISCV64, 0, 1 }, /* riscv64 */ \
}
#else
#error "MD_FEATURE_SECCOMP: no syscall table for this architecture; build with -DMD_FEATURE_SECCOMP=0"
#endif

/* X(name, rule, numbers on x86_64, x32, i386, aarch64, arm, o32, riscv64),
 * each less its ABI's base; NO: not a syscall of that ABI. */
#define MD_SECCOMP_ROWS(X) \
	X(_llseek,                      ALWAYS,            NO,   NO,  140,   NO,  140,  140,   NO) \
	X(_newselect,                   ALWAYS,            NO,   NO,  142,   NO,  142,  142,   NO) \
	X(accept,                       ALWAYS,            43,   43,   NO,  202,  285,  168,  202) \
	X(accept4,                      ALWAYS,           288,  288,  364,  242,  366,  334,  242) \
	X(access,                       ALWAYS,            21,   21,   33,   NO,   33,   33,   NO) \
	X(acct,                         PACCT,            163,  163,   51,   89,   51,   51,   89) \
	X(adjtimex,                     ALWAYS,           159,  159,  124,  171,  124,  124,  171) \
	X(alarm,                        ALWAYS,            37,   37,   27,   NO,   NO,   27,   NO) \
	X(arch_prctl,                   ON_AMD64,         158,  158,  384,   NO,   NO,   NO,   NO) \
	X(arm_fadvise64_64,             ON_ARM,            NO,   NO,   NO,   NO,  270,   NO,   NO) \
	X(arm_sync_file_range,          ON_ARM,            NO,   NO,   NO,   NO,  341,   NO,   NO) \
	X(bind,                         ALWAYS,            49,   49,  361,  200,  282,  169,  200) \
	X(bpf,                          ADMIN_BPF,        321,  321,  357,  280,  386,  355,  280) \
	X(breakpoint,                   ON_ARM,            NO,   NO,   NO,   NO,0xf001,   NO,   NO) \
	X(brk,                          ALWAYS,            12,   12,   45,  214,   45,   45,  214) \
	X(cacheflush,                   ON_ARM,            NO,   NO,   NO,   NO,0xf002,  147,   NO) \
	X(cachestat,                    ALWAYS,           451,  451,  451,  451,  451,  451,  451) \
	X(capget,                       ALWAYS,           125,  125,  184,   90,  184,  204,   90) \
	X(capset,                       ALWAYS,           126,  126,  185,   91,  185,  205,   91) \
	X(chdir,                        ALWAYS,            80,   80,   12,   49,   12,   12,   49) \
	X(chmod,                        ALWAYS,            90,   90,   15,   NO,   15,   15,   NO) \
	X(chown,                        ALWAYS,            92,   92,  182,   NO,  182,  202,   NO) \
	X(chown32,                      ALWAYS,            NO,   NO,  212,   NO,  212,   NO,   NO) \
	X(chroot,                       CHROOT,           161,  161,   61,   51,   61,   61,   51) \
	X(clock_adjtime,                ALWAYS,           305,  305,  343,  266,  372,  341,  266) \
	X(clock_adjtime64,              ALWAYS,            NO,   NO,  405,   NO,  405,  405,   NO) \
	X(clock_getres,                 ALWAYS,           229,  229,  266,  114,  264,  264,  114) \
	X(clock_getres_time64,          ALWAYS,            NO,   NO,  406,   NO,  406,  406,   NO) \
	X(clock_gettime,                ALWAYS,           228,  228,  265,  113,  263,  263,  113) \
	X(clock_gettime64,              ALWAYS,            NO,   NO,  403,   NO,  403,  403,   NO) \
	X(clock_nanosleep,              ALWAYS,           230,  230,  267,  115,  265,  265,  115) \
	X(clock_nanosleep_time64,       ALWAYS,            NO,   NO,  407,   NO,  407,  407,   NO) \
	X(clock_settime,                TIME,             227,  227,  264,  112,  262,  262,  112) \
	X(clock_settime64,              TIME,              NO,   NO,  404,   NO,  404,  404,   NO) \
	X(clone,                        CLONE,             56,   56,  120,  220,  120,  120,  220) \
	X(clone3,                       CLONE3,           435,  435,  435,  435,  435,  435,  435) \
	X(close,                        ALWAYS,             3,    3,    6,   57,    6,    6,   57) \
	X(close_range,                  ALWAYS,           436,  436,  436,  436,  436,  436,  436) \
	X(connect,                      ALWAYS,            42,   42,  362,  203,  283,  170,  203) \
	X(copy_file_range,              ALWAYS,           326,  326,  377,  285,  391,  360,  285) \
	X(creat,                        ALWAYS,            85,   85,    8,   NO,    8,    8,   NO) \
	X(delete_module,                MODULE,           176,  176,  129,  106,  129,  129,  106) \
	X(dup,                          ALWAYS,            32,   32,   41,   23,   41,   41,   23) \
	X(dup2,                         ALWAYS,            33,   33,   63,   NO,   63,   63,   NO) \
	X(dup3,                         ALWAYS,           292,  292,  330,   24,  358,  327,   24) \
	X(epoll_create,                 ALWAYS,           213,  213,  254,   NO,  250,  248,   NO) \
	X(epoll_create1,                ALWAYS,           291,  291,  329,   20,  357,  326,   20) \
	X(epoll_ctl,                    ALWAYS,           233,  233,  255,   21,  251,  249,   21) \
	X(epoll_ctl_old,                ALWAYS,           214,   NO,   NO,   NO,   NO,   NO,   NO) \
	X(epoll_pwait,                  ALWAYS,           281,  281,  319,   22,  346,  313,   22) \
	X(epoll_pwait2,                 ALWAYS,           441,  441,  441,  441,  441,  441,  441) \
	X(epoll_wait,                   ALWAYS,           232,  232,  256,   NO,  252,  250,   NO) \
	X(epoll_wait_old,               ALWAYS,           215,   NO,   NO,   NO,   NO,   NO,   NO) \
	X(eventfd,                      ALWAYS,           284,  284,  323,   NO,  351,  319,   NO) \
	X(eventfd2,                     ALWAYS,           290,  290,  328,   19,  356,  325,   19) \
	X(execve,                       ALWAYS,            59,  520,   11,  221,   11,   11,  221) \
	X(execveat,                     ALWAYS,           322,  545,  358,  281,  387,  356,  281) \
	X(exit,                         ALWAYS,            60,   60,    1,   93,    1,    1,   93) \
	X(exit_group,                   ALWAYS,           231,  231,  252,   94,  248,  246,   94) \
	X(faccessat,                    ALWAYS,           269,  269,  307,   48,  334,  300,   48) \
	X(faccessat2,                   ALWAYS,           439,  439,  439,  439,  439,  439,  439) \
	X(fadvise64,                    ALWAYS,           221,  221,  250,  223,   NO,  254,  223) \
	X(fadvise64_64,                 ALWAYS,            NO,   NO,  272,   NO,   NO,   NO,   NO) \
	X(fallocate,                    ALWAYS,           285,  285,  324,   47,  352,  320,   47) \
	X(fanotify_init,                ADMIN,            300,  300,  338,  262,  367,  336,  262) \
	X(fanotify_mark,                ALWAYS,           301,  301,  339,  263,  368,  337,  263) \
	X(fchdir,                       ALWAYS,            81,   81,  133,   50,  133,  133,   50) \
	X(fchmod,                       ALWAYS,            91,   91,   94,   52,   94,   94,   52) \
	X(fchmodat,                     ALWAYS,           268,  268,  306,   53,  333,  299,   53) \
	X(fchmodat2,                    ALWAYS,           452,  452,  452,  452,  452,  452,  452) \
	X(fchown,                       ALWAYS,            93,   93,   95,   55,   95,   95,   55) \
	X(fchown32,                     ALWAYS,            NO,   NO,  207,   NO,  207,   NO,   NO) \
	X(fchownat,                     ALWAYS,           260,  260,  298,   54,  325,  291,   54) \
	X(fcntl,                        ALWAYS,            72,   72,   55,   25,   55,   55,   25) \
	X(fcntl64,                      ALWAYS,            NO,   NO,  221,   NO,  221,  220,   NO) \
	X(fdatasync,                    ALWAYS,            75,   75,  148,   83,  148,  152,   83) \
	X(fgetxattr,                    ALWAYS,           193,  193,  231,   10,  231,  229,   10) \
	X(finit_module,                 MODULE,           313,  313,  350,  273,  379,  348,  273) \
	X(flistxattr,                   ALWAYS,           196,  196,  234,   13,  234,  232,   13) \
	X(flock,                        ALWAYS,            73,   73,  143,   32,  143,  143,   32) \
	X(fork,                         ALWAYS,            57,   57,    2,   NO,    2,    2,   NO) \
	X(fremovexattr,                 ALWAYS,           199,  199,  237,   16,  237,  235,   16) \
	X(fsconfig,                     ADMIN,            431,  431,  431,  431,  431,  431,  431) \
	X(fsetxattr,                    ALWAYS,           190,  190,  228,    7,  228,  226,    7) \
	X(fsmount,                      ADMIN,            432,  432,  432,  432,  432,  432,  432) \
	X(fsopen,                       ADMIN,            430,  430,  430,  430,  430,  430,  430) \
	X(fspick,                       ADMIN,            433,  433,  433,  433,  433,  433,  433) \
	X(fstat,                        ALWAYS,             5,    5,  108,   80,  108,  108,   80) \
	X(fstat64,                      ALWAYS,            NO,   NO,  197,   NO,  197,  215,   NO) \
	X(fstatat64,                    ALWAYS,            NO,   NO,  300,   NO,  327,  293,   NO) \
	X(fstatfs,                      ALWAYS,           138,  138,  100,   44,  100,  100,   44) \
	X(fstatfs64,                    ALWAYS,            NO,   NO,  269,   NO,  267,  256,   NO) \
	X(fsync,                        ALWAYS,            74,   74,  118,   82,  118,  118,   82) \
	X(ftruncate,                    ALWAYS,            77,   77,   93,   46,   93,   93,   46) \
	X(ftruncate64,                  ALWAYS,            NO,   NO,  194,   NO,  194,  212,   NO) \
	X(futex,                        ALWAYS,           202,  202,  240,   98,  240,  238,   98) \
	X(futex_requeue,                ALWAYS,           456,  456,  456,  456,  456,  456,  456) \
	X(futex_time64,                 ALWAYS,            NO,   NO,  422,   NO,  422,  422,   NO) \
	X(futex_wait,                   ALWAYS,           455,  455,  455,  455,  455,  455,  455) \
	X(futex_waitv,                  ALWAYS,           449,  449,  449,  449,  449,  449,  449) \
	X(futex_wake,                   ALWAYS,           454,  454,  454,  454,  454,  454,  454) \
	X(futimesat,                    ALWAYS,           261,  261,  299,   NO,  326,  292,   NO) \
	X(get_mempolicy,                NICE,             239,  239,  275,  236,  320,  269,  236) \
	X(get_robust_list,              ALWAYS,           274,  531,  312,  100,  339,  310,  100) \
	X(get_thread_area,              ALWAYS,           211,   NO,  244,   NO,   NO,   NO,   NO) \
	X(getcpu,                       ALWAYS,           309,  309,  318,  168,  345,  312,  168) \
	X(getcwd,                       ALWAYS,            79,   79,  183,   17,  183,  203,   17) \
	X(getdents,                     ALWAYS,            78,   78,  141,   NO,  141,  141,   NO) \
	X(getdents64,                   ALWAYS,           217,  217,  220,   61,  217,  219,   61) \
	X(getegid,                      ALWAYS,           108,  108,   50,  177,   50,   50,  177) \
	X(getegid32,                    ALWAYS,            NO,   NO,  202,   NO,  202,   NO,   NO) \
	X(geteuid,                      ALWAYS,           107,  107,   49,  175,   49,   49,  175) \
	X(geteuid32,                    ALWAYS,            NO,   NO,  201,   NO,  201,   NO,   NO) \
	X(getgid,                       ALWAYS,           104,  104,   47,  176,   47,   47,  176) \
	X(getgid32,                     ALWAYS,            NO,   NO,  200,   NO,  200,   NO,   NO) \
	X(getgroups,                    ALWAYS,           115,  115,   80,  158,   80,   80,  158) \
	X(getgroups32,                  ALWAYS,            NO,   NO,  205,   NO,  205,   NO,   NO) \
	X(getitimer,                    ALWAYS,            36,   36,  105,  102,  105,  105,  102) \
	X(getpeername,                  ALWAYS,            52,   52,  368,  205,  287,  171,  205) \
	X(getpgid,                      ALWAYS,           121,  121,  132,  155,  132,  132,  155) \
	X(getpgrp,                      ALWAYS,           111,  111,   65,   NO,   65,   65,   NO) \
	X(getpid,                       ALWAYS,            39,   39,   20,  172,   20,   20,  172) \
	X(getppid,                      ALWAYS,           110,  110,   64,  173,   64,   64,  173) \
	X(getpriority,                  ALWAYS,           140,  140,   96,  141,   96,   96,  141) \
	X(getrandom,                    ALWAYS,           318,  318,  355,  278,  384,  353,  278) \
	X(getresgid,                    ALWAYS,           120,  120,  171,  150,  171,  191,  150) \
	X(getresgid32,                  ALWAYS,            NO,   NO,  211,   NO,  211,   NO,   NO) \
	X(getresuid,                    ALWAYS,           118,  118,  165,  148,  165,  186,  148) \
	X(getresuid32,                  ALWAYS,            NO,   NO,  209,   NO,  209,   NO,   NO) \
	X(getrlimit,                    ALWAYS,            97,   97,   76,  163,   NO,   76,  163) \
	X(getrusage,                    ALWAYS,            98,   98,   77,  165,   77,   77,  165) \
	X(getsid,                       ALWAYS,           124,  124,  147,  156,  147,  151,  156) \
	X(getsockname,                  ALWAYS,            51,   51,  367,  204,  286,  172,  204) \
	X(getsockopt,                   ALWAYS,            55,  542,  365,  209,  295,  173,  209) \
	X(gettid,                       ALWAYS,           186,  186,  224,  178,  224,  222,  178) \
	X(gettimeofday,                 ALWAYS,            96,   96,   78,  169,   78,   78,  169) \
	X(getuid,                       ALWAYS,           102,  102,   24,  174,   24,   24,  174) \
	X(getuid32,                     ALWAYS,            NO,   NO,  199,   NO,  199,   NO,   NO) \
	X(getxattr,                     ALWAYS,           191,  191,  229,    8,  229,  227,    8) \
	X(getxattrat,                   ALWAYS,           464,  464,  464,  464,  464,  464,  464) \
	X(init_module,                  MODULE,           175,  175,  128,  105,  128,  128,  105) \
	X(inotify_add_watch,            ALWAYS,           254,  254,  292,   27,  317,  285,   27) \
	X(inotify_init,                 ALWAYS,           253,  253,  291,   NO,  316,  284,   NO) \
	X(inotify_init1,                ALWAYS,           294,  294,  332,   26,  360,  329,   26) \
	X(inotify_rm_watch,             ALWAYS,           255,  255,  293,   28,  318,  286,   28) \
	X(io_cancel,                    ALWAYS,           210,  210,  249,    3,  247,  245,    3) \
	X(io_destroy,                   ALWAYS,           207,  207,  246,    1,  244,  242,    1) \
	X(io_getevents,                 ALWAYS,           208,  208,  247,    4,  245,  243,    4) \
	X(io_pgetevents,                ALWAYS,           333,  333,  385,  292,  399,  368,  292) \
	X(io_pgetevents_time64,         ALWAYS,            NO,   NO,  416,   NO,  416,  416,   NO) \
	X(io_setup,                     ALWAYS,           206,  543,  245,    0,  243,  241,    0) \
	X(io_submit,                    ALWAYS,           209,  544,  248,    2,  246,  244,    2) \
	X(ioctl,                        ALWAYS,            16,  514,   54,   29,   54,   54,   29) \
	X(ioperm,                       RAWIO,            173,  173,  101,   NO,   NO,  101,   NO) \
	X(iopl,                         RAWIO,            172,  172,  110,   NO,   NO,  110,   NO) \
	X(ioprio_get,                   ALWAYS,           252,  252,  290,   31,  315,  315,   31) \
	X(ioprio_set,                   ALWAYS,           251,  251,  289,   30,  314,  314,   30) \
	X(ipc,                          ALWAYS,            NO,   NO,  117,   NO,   NO,  117,   NO) \
	X(kcmp,                         PTRACE,           312,  312,  349,  272,  378,  347,  272) \
	X(kill,                         ALWAYS,            62,   62,   37,  129,   37,   37,  129) \
	X(landlock_add_rule,            ALWAYS,           445,  445,  445,  445,  445,  445,  445) \
	X(landlock_create_ruleset,      ALWAYS,           444,  444,  444,  444,  444,  444,  444) \
	X(landlock_restrict_self,       ALWAYS,           446,  446,  446,  446,  446,  446,  446) \
	X(lchown,                       ALWAYS,            94,   94,   16,   NO,   16,   16,   NO) \
	X(lchown32,                     ALWAYS,            NO,   NO,  198,   NO,  198,   NO,   NO) \
	X(lgetxattr,                    ALWAYS,           192,  192,  230,    9,  230,  228,    9) \
	X(link,                         ALWAYS,            86,   86,    9,   NO,    9,    9,   NO) \
	X(linkat,                       ALWAYS,           265,  265,  303,   37,  330,  296,   37) \
	X(listen,                       ALWAYS,            50,   50,  363,  201,  284,  174,  201) \
	X(listmount,                    ALWAYS,           458,  458,  458,  458,  458,  458,  458) \
	X(listxattr,                    ALWAYS,           194,  194,  232,   11,  232,  230,   11) \
	X(listxattrat,                  ALWAYS,           465,  465,  465,  465,  465,  465,  465) \
	X(llistxattr,                   ALWAYS,           195,  195,  233,   12,  233,  231,   12) \
	X(lookup_dcookie,               ADMIN,            212,  212,  253,   18,  249,  247,   18) \
	X(lremovexattr,                 ALWAYS,           198,  198,  236,   15,  236,  234,   15) \
	X(lseek,                        ALWAYS,             8,    8,   19,   62,   19,   19,   62) \
	X(lsetxattr,                    ALWAYS,           189,  189,  227,    6,  227,  225,    6) \
	X(lsm_get_self_attr,            ADMIN,            459,  459,  459,  459,  459,  459,  459) \
	X(lsm_list_modules,             ADMIN,            461,  461,  461,  461,  461,  461,  461) \
	X(lsm_set_self_attr,            ADMIN,            460,  460,  460,  460,  460,  460,  460) \
	X(lstat,                        ALWAYS,             6,    6,  107,   NO,  107,  107,   NO) \
	X(lstat64,                      ALWAYS,            NO,   NO,  196,   NO,  196,  214,   NO) \
	X(madvise,                      ALWAYS,            28,   28,  219,  233,  220,  218,  233) \
	X(map_shadow_stack,             ALWAYS,           453,  453,  453,  453,  453,  453,  453) \
	X(mbind,                        NICE,             237,  237,  274,  235,  319,  268,  235) \
	X(membarrier,                   ALWAYS,           324,  324,  375,  283,  389,  358,  283) \
	X(memfd_create,                 ALWAYS,           319,  319,  356,  279,  385,  354,  279) \
	X(memfd_secret,                 ALWAYS,           447,  447,  447,  447,   NO,   NO,  447) \
	X(mincore,                      ALWAYS,            27,   27,  218,  232,  219,  217,  232) \
	X(mkdir,                        ALWAYS,            83,   83,   39,   NO,   39,   39,   NO) \
	X(mkdirat,                      ALWAYS,           258,  258,  296,   34,  323,  289,   34) \
	X(mknod,                        ALWAYS,           133,  133,   14,   NO,   14,   14,   NO) \
	X(mknodat,                      ALWAYS,           259,  259,  297,   33,  324,  290,   33) \
	X(mlock,                        ALWAYS,           149,  149,  150,  228,  150,  154,  228) \
	X(mlock2,                       ALWAYS,           325,  325,  376,  284,  390,  359,  284) \
	X(mlockall,                     ALWAYS,           151,  151,  152,  230,  152,  156,  230) \
	X(mmap,                         ALWAYS,             9,    9,   90,  222,   NO,   90,  222) \
	X(mmap2,                        ALWAYS,            NO,   NO,  192,   NO,  192,  210,   NO) \
	X(modify_ldt,                   ON_X86,           154,  154,  123,   NO,   NO,  123,   NO) \
	X(mount,                        ADMIN,            165,  165,   21,   40,   21,   21,   40) \
	X(mount_setattr,                ADMIN,            442,  442,  442,  442,  442,  442,  442) \
	X(move_mount,                   ADMIN,            429,  429,  429,  429,  429,  429,  429) \
	X(mprotect,                     ALWAYS,            10,   10,  125,  226,  125,  125,  226) \
	X(mq_getsetattr,                ALWAYS,           245,  245,  282,  185,  279,  276,  185) \
	X(mq_notify,                    ALWAYS,           244,  527,  281,  184,  278,  275,  184) \
	X(mq_open,                      ALWAYS,           240,  240,  277,  180,  274,  271,  180) \
	X(mq_timedreceive,              ALWAYS,           243,  243,  280,  183,  277,  274,  183) \
	X(mq_timedreceive_time64,       ALWAYS,            NO,   NO,  419,   NO,  419,  419,   NO) \
	X(mq_timedsend,                 ALWAYS,           242,  242,  279,  182,  276,  273,  182) \
	X(mq_timedsend_time64,          ALWAYS,            NO,   NO,  418,   NO,  418,  418,   NO) \
	X(mq_unlink,                    ALWAYS,           241,  241,  278,  181,  275,  272,  181) \
	X(mremap,                       ALWAYS,            25,   25,  163,  216,  163,  167,  216) \
	X(mseal,                        ALWAYS,           462,  462,  462,  462,  462,  462,  462) \
	X(msgctl,                       ALWAYS,            71,   71,  402,  187,  304,  402,  187) \
	X(msgget,                       ALWAYS,            68,   68,  399,  186,  303,  399,  186) \
	X(msgrcv,                       ALWAYS,            70,   70,  401,  188,  302,  401,  188) \
	X(msgsnd,                       ALWAYS,            69,   69,  400,  189,  301,  400,  189) \
	X(msync,                        ALWAYS,            26,   26,  144,  227,  144,  144,  227) \
	X(munlock,                      ALWAYS,           150,  150,  151,  229,  151,  155,  229) \
	X(munlockall,                   ALWAYS,           152,  152,  153,  231,  153,  157,  231) \
	X(munmap,                       ALWAYS,            11,   11,   91,  215,   91,   91,  215) \
	X(name_to_handle_at,            ALWAYS,           303,  303,  341,  264,  370,  339,  264) \
	X(nanosleep,                    ALWAYS,            35,   35,  162,  101,  162,  166,  101) \
	X(newfstatat,                   ALWAYS,           262,  262,   NO,   79,   NO,   NO,   79) \
	X(open,                         ALWAYS,             2,    2,    5,   NO,    5,    5,   NO) \
	X(open_by_handle_at,            DAC_READ_SEARCH,  304,  304,  342,  265,  371,  340,  265) \
	X(open_tree,                    ADMIN,            428,  428,  428,  428,  428,  428,  428) \
	X(openat,                       ALWAYS,           257,  257,  295,   56,  322,  288,   56) \
	X(openat2,                      ALWAYS,           437,  437,  437,  437,  437,  437,  437) \
	X(pause,                        ALWAYS,            34,   34,   29,   NO,   29,   29,   NO) \
	X(perf_event_open,              ADMIN_PERFMON,    298,  298,  336,  241,  364,  333,  241) \
	X(personality,                  PERSONALITY,      135,  135,  136,   92,  136,  136,   92) \
	X(pidfd_getfd,                  PTRACE,           438,  438,  438,  438,  438,  438,  438) \
	X(pidfd_open,                   ALWAYS,           434,  434,  434,  434,  434,  434,  434) \
	X(pidfd_send_signal,            ALWAYS,           424,  424,  424,  424,  424,  424,  424) \
	X(pipe,                         ALWAYS,            22,   22,   42,   NO,   42,   42,   NO) \
	X(pipe2,                        ALWAYS,           293,  293,  331,   59,  359,  328,   59) \
	X(pkey_alloc,                   ALWAYS,           330,  330,  381,  289,  395,  364,  289) \
	X(pkey_free,                    ALWAYS,           331,  331,  382,  290,  396,  365,  290) \
	X(pkey_mprotect,                ALWAYS,           329,  329,  380,  288,  394,  363,  288) \
	X(poll,                         ALWAYS,             7,    7,  168,   NO,  168,  188,   NO) \
	X(ppoll,                        ALWAYS,           271,  271,  309,   73,  336,  302,   73) \
	X(ppoll_time64,                 ALWAYS,            NO,   NO,  414,   NO,  414,  414,   NO) \
	X(prctl,                        ALWAYS,           157,  157,  172,  167,  172,  192,  167) \
	X(pread64,                      ALWAYS,            17,   17,  180,   67,  180,  200,   67) \
	X(preadv,                       ALWAYS,           295,  534,  333,   69,  361,  330,   69) \
	X(preadv2,                      ALWAYS,           327,  546,  378,  286,  392,  361,  286) \
	X(prlimit64,                    ALWAYS,           302,  302,  340,  261,  369,  338,  261) \
	X(process_madvise,              PTRACE,           440,  440,  440,  440,  440,  440,  440) \
	X(process_mrelease,             ALWAYS,           448,  448,  448,  448,  448,  448,  448) \
	X(process_vm_readv,             PTRACE_K48,       310,  539,  347,  270,  376,  345,  270) \
	X(process_vm_writev,            PTRACE_K48,       311,  540,  348,  271,  377,  346,  271) \
	X(pselect6,                     ALWAYS,           270,  270,  308,   72,  335,  301,   72) \
	X(pselect6_time64,              ALWAYS,            NO,   NO,  413,   NO,  413,  413,   NO) \
	X(ptrace,                       PTRACE_K48,       101,  521,   26,  117,   26,   26,  117) \
	X(pwrite64,                     ALWAYS,            18,   18,  181,   68,  181,  201,   68) \
	X(pwritev,                      ALWAYS,           296,  535,  334,   70,  362,  331,   70) \
	X(pwritev2,                     ALWAYS,           328,  547,  379,  287,  393,  362,  287) \
	X(quotactl,                     ADMIN,            179,  179,  131,   60,  131,  131,   60) \
	X(quotactl_fd,                  ADMIN,            443,  443,  443,  443,  443,  443,  443) \
	X(read,                         ALWAYS,             0,    0,    3,   63,    3,    3,   63) \
	X(readahead,                    ALWAYS,           187,  187,  225,  213,  225,  223,  213) \
	X(readlink,                     ALWAYS,            89,   89,   85,   NO,   85,   85,   NO) \
	X(readlinkat,                   ALWAYS,           267,  267,  305,   78,  332,  298,   78) \
	X(readv,                        ALWAYS,            19,  515,  145,   65,  145,  145,   65) \
	X(reboot,                       BOOT,             169,  169,   88,  142,   88,   88,  142) \
	X(recv,                         ALWAYS,            NO,   NO,   NO,   NO,  291,  175,   NO) \
	X(recvfrom,                     ALWAYS,            45,  517,  371,  207,  292,  176,  207) \
	X(recvmmsg,                     ALWAYS,           299,  537,  337,  243,  365,  335,  243) \
	X(recvmmsg_time64,              ALWAYS,            NO,   NO,  417,   NO,  417,  417,   NO) \
	X(recvmsg,                      ALWAYS,            47,  519,  372,  212,  297,  177,  212) \
	X(remap_file_pages,             ALWAYS,           216,  216,  257,  234,  253,  251,  234) \
	X(removexattr,                  ALWAYS,           197,  197,  235,   14,  235,  233,   14) \
	X(removexattrat,                ALWAYS,           466,  466,  466,  466,  466,  466,  466) \
	X(rename,                       ALWAYS,            82,   82,   38,   NO,   38,   38,   NO) \
	X(renameat,                     ALWAYS,           264,  264,  302,   38,  329,  295,   NO) \
	X(renameat2,                    ALWAYS,           316,  316,  353,  276,  382,  351,  276) \
	X(restart_syscall,              ALWAYS,           219,  219,    0,  128,    0,  253,  128) \
	X(riscv_flush_icache,           ON_RISCV64,        NO,   NO,   NO,   NO,   NO,   NO,  259) \
	X(riscv_hwprobe,                ALWAYS,            NO,   NO,   NO,   NO,   NO,   NO,  258) \
	X(rmdir,                        ALWAYS,            84,   84,   40,   NO,   40,   40,   NO) \
	X(rseq,                         ALWAYS,           334,  334,  386,  293,  398,  367,  293) \
	X(rt_sigaction,                 ALWAYS,            13,  512,  174,  134,  174,  194,  134) \
	X(rt_sigpending,                ALWAYS,           127,  522,  176,  136,  176,  196,  136) \
	X(rt_sigprocmask,               ALWAYS,            14,   14,  175,  135,  175,  195,  135) \
	X(rt_sigqueueinfo,              ALWAYS,           129,  524,  178,  138,  178,  198,  138) \
	X(rt_sigreturn,                 ALWAYS,            15,  513,  173,  139,  173,  193,  139) \
	X(rt_sigsuspend,                ALWAYS,           130,  130,  179,  133,  179,  199,  133) \
	X(rt_sigtimedwait,              ALWAYS,           128,  523,  177,  137,  177,  197,  137) \
	X(rt_sigtimedwait_time64,       ALWAYS,            NO,   NO,  421,   NO,  421,  421,   NO) \
	X(rt_tgsigqueueinfo,            ALWAYS,           297,  536,  335,  240,  363,  332,  240) \
	X(sched_get_priority_max,       ALWAYS,           146,  146,  159,  125,  159,  163,  125) \
	X(sched_get_priority_min,       ALWAYS,           147,  147,  160,  126,  160,  164,  126) \
	X(sched_getaffinity,            ALWAYS,           204,  204,  242,  123,  242,  240,  123) \
	X(sched_getattr,                ALWAYS,           315,  315,  352,  275,  381,  350,  275) \
	X(sched_getparam,               ALWAYS,           143,  143,  155,  121,  155,  159,  121) \
	X(sched_getscheduler,           ALWAYS,           145,  145,  157,  120,  157,  161,  120) \
	X(sched_rr_get_interval,        ALWAYS,           148,  148,  161,  127,  161,  165,  127) \
	X(sched_rr_get_interval_time64, ALWAYS,            NO,   NO,  423,   NO,  423,  423,   NO) \
	X(sched_setaffinity,            ALWAYS,           203,  203,  241,  122,  241,  239,  122) \
	X(sched_setattr,                ALWAYS,           314,  314,  351,  274,  380,  349,  274) \
	X(sched_setparam,               ALWAYS,           142,  142,  154,  118,  154,  158,  118) \
	X(sched_setscheduler,           ALWAYS,           144,  144,  156,  119,  156,  160,  119) \
	X(sched_yield,                  ALWAYS,            24,   24,  158,  124,  158,  162,  124) \
	X(seccomp,                      ALWAYS,           317,  317,  354,  277,  383,  352,  277) \
	X(select,                       ALWAYS,            23,   23,   82,   NO,   NO,   NO,   NO) \
	X(semctl,                       ALWAYS,            66,   66,  394,  191,  300,  394,  191) \
	X(semget,                       ALWAYS,            64,   64,  393,  190,  299,  393,  190) \
	X(semop,                        ALWAYS,            65,   65,   NO,  193,  298,   NO,  193) \
	X(semtimedop,                   ALWAYS,           220,  220,   NO,  192,  312,   NO,  192) \
	X(semtimedop_time64,            ALWAYS,            NO,   NO,  420,   NO,  420,  420,   NO) \
	X(send,                         ALWAYS,            NO,   NO,   NO,   NO,  289,  178,   NO) \
	X(sendfile,                     ALWAYS,            40,   40,  187,   71,  187,  207,   71) \
	X(sendfile64,                   ALWAYS,            NO,   NO,  239,   NO,  239,  237,   NO) \
	X(sendmmsg,                     ALWAYS,           307,  538,  345,  269,  374,  343,  269) \
	X(sendmsg,                      ALWAYS,            46,  518,  370,  211,  296,  179,  211) \
	X(sendto,                       ALWAYS,            44,   44,  369,  206,  290,  180,  206) \
	X(set_mempolicy,                NICE,             238,  238,  276,  237,  321,  270,  237) \
	X(set_mempolicy_home_node,      NICE,             450,  450,  450,  450,  450,  450,  450) \
	X(set_robust_list,              ALWAYS,           273,  530,  311,   99,  338,  309,   99) \
	X(set_thread_area,              ALWAYS,           205,   NO,  243,   NO,   NO,  283,   NO) \
	X(set_tid_address,              ALWAYS,           218,  218,  258,   96,  256,  252,   96) \
	X(set_tls,                      ON_ARM,            NO,   NO,   NO,   NO,0xf005,   NO,   NO) \
	X(setdomainname,                ADMIN,            171,  171,  121,  162,  121,  121,  162) \
	X(setfsgid,                     ALWAYS,           123,  123,  139,  152,  139,  139,  152) \
	X(setfsgid32,                   ALWAYS,            NO,   NO,  216,   NO,  216,   NO,   NO) \
	X(setfsuid,                     ALWAYS,           122,  122,  138,  151,  138,  138,  151) \
	X(setfsuid32,                   ALWAYS,            NO,   NO,  215,   NO,  215,   NO,   NO) \
	X(setgid,                       ALWAYS,           106,  106,   46,  144,   46,   46,  144) \
	X(setgid32,                     ALWAYS,            NO,   NO,  214,   NO,  214,   NO,   NO) \
	X(setgroups,                    ALWAYS,           116,  116,   81,  159,   81,   81,  159) \
	X(setgroups32,                  ALWAYS,            NO,   NO,  206,   NO,  206,   NO,   NO) \
	X(sethostname,                  ADMIN,            170,  170,   74,  161,   74,   74,  161) \
	X(setitimer,                    ALWAYS,            38,   38,  104,  103,  104,  104,  103) \
	X(setns,                        ADMIN,            308,  308,  346,  268,  375,  344,  268) \
	X(setpgid,                      ALWAYS,           109,  109,   57,  154,   57,   57,  154) \
	X(setpriority,                  ALWAYS,           141,  141,   97,  140,   97,   97,  140) \
	X(setregid,                     ALWAYS,           114,  114,   71,  143,   71,   71,  143) \
	X(setregid32,                   ALWAYS,            NO,   NO,  204,   NO,  204,   NO,   NO) \
	X(setresgid,                    ALWAYS,           119,  119,  170,  149,  170,  190,  149) \
	X(setresgid32,                  ALWAYS,            NO,   NO,  210,   NO,  210,   NO,   NO) \
	X(setresuid,                    ALWAYS,           117,  117,  164,  147,  164,  185,  147) \
	X(setresuid32,                  ALWAYS,            NO,   NO,  208,   NO,  208,   NO,   NO) \
	X(setreuid,                     ALWAYS,           113,  113,   70,  145,   70,   70,  145) \
	X(setreuid32,                   ALWAYS,            NO,   NO,  203,   NO,  203,   NO,   NO) \
	X(setrlimit,                    ALWAYS,           160,  160,   75,  164,   75,   75,  164) \
	X(setsid,                       ALWAYS,           112,  112,   66,  157,   66,   66,  157) \
	X(setsockopt,                   ALWAYS,            54,  541,  366,  208,  294,  181,  208) \
	X(settimeofday,                 TIME,             164,  164,   79,  170,   79,   79,  170) \
	X(setuid,                       ALWAYS,           105,  105,   23,  146,   23,   23,  146) \
	X(setuid32,                     ALWAYS,            NO,   NO,  213,   NO,  213,   NO,   NO) \
	X(setxattr,                     ALWAYS,           188,  188,  226,    5,  226,  224,    5) \
	X(setxattrat,                   ALWAYS,           463,  463,  463,  463,  463,  463,  463) \
	X(shmat,                        ALWAYS,            30,   30,  397,  196,  305,  397,  196) \
	X(shmctl,                       ALWAYS,            31,   31,  396,  195,  308,  396,  195) \
	X(shmdt,                        ALWAYS,            67,   67,  398,  197,  306,  398,  197) \
	X(shmget,                       ALWAYS,            29,   29,  395,  194,  307,  395,  194) \
	X(shutdown,                     ALWAYS,            48,   48,  373,  210,  293,  182,  210) \
	X(sigaltstack,                  ALWAYS,           131,  525,  186,  132,  186,  206,  132) \
	X(signalfd,                     ALWAYS,           282,  282,  321,   NO,  349,  317,   NO) \
	X(signalfd4,                    ALWAYS,           289,  289,  327,   74,  355,  324,   74) \
	X(sigprocmask,                  ALWAYS,            NO,   NO,  126,   NO,  126,  126,   NO) \
	X(sigreturn,                    ALWAYS,            NO,   NO,  119,   NO,  119,  119,   NO) \
	X(socket,                       SOCKET,            41,   41,  359,  198,  281,  183,  198) \
	X(socketcall,                   ALWAYS,            NO,   NO,  102,   NO,   NO,  102,   NO) \
	X(socketpair,                   ALWAYS,            53,   53,  360,  199,  288,  184,  199) \
	X(splice,                       ALWAYS,           275,  275,  313,   76,  340,  304,   76) \
	X(stat,                         ALWAYS,             4,    4,  106,   NO,  106,  106,   NO) \
	X(stat64,                       ALWAYS,            NO,   NO,  195,   NO,  195,  213,   NO) \
	X(statfs,                       ALWAYS,           137,  137,   99,   43,   99,   99,   43) \
	X(statfs64,                     ALWAYS,            NO,   NO,  268,   NO,  266,  255,   NO) \
	X(statmount,                    ALWAYS,           457,  457,  457,  457,  457,  457,  457) \
	X(statx,                        ALWAYS,           332,  332,  383,  291,  397,  366,  291) \
	X(stime,                        TIME,              NO,   NO,   25,   NO,   NO,   25,   NO) \
	X(symlink,                      ALWAYS,            88,   88,   83,   NO,   83,   83,   NO) \
	X(symlinkat,                    ALWAYS,           266,  266,  304,   36,  331,  297,   36) \
	X(sync,                         ALWAYS,           162,  162,   36,   81,   36,   36,   81) \
	X(sync_file_range,              ALWAYS,           277,  277,  314,   84,   NO,  305,   84) \
	X(syncfs,                       ALWAYS,           306,  306,  344,  267,  373,  342,  267) \
	X(sysinfo,                      ALWAYS,            99,   99,  116,  179,  116,  116,  179) \
	X(syslog,                       ADMIN_SYSLOG,     103,  103,  103,  116,  103,  103,  116) \
	X(tee,                          ALWAYS,           276,  276,  315,   77,  342,  306,   77) \
	X(tgkill,                       ALWAYS,           234,  234,  270,  131,  268,  266,  131) \
	X(time,                         ALWAYS,           201,  201,   13,   NO,   NO,   13,   NO) \
	X(timer_create,                 ALWAYS,           222,  526,  259,  107,  257,  257,  107) \
	X(timer_delete,                 ALWAYS,           226,  226,  263,  111,  261,  261,  111) \
	X(timer_getoverrun,             ALWAYS,           225,  225,  262,  109,  260,  260,  109) \
	X(timer_gettime,                ALWAYS,           224,  224,  261,  108,  259,  259,  108) \
	X(timer_gettime64,              ALWAYS,            NO,   NO,  408,   NO,  408,  408,   NO) \
	X(timer_settime,                ALWAYS,           223,  223,  260,  110,  258,  258,  110) \
	X(timer_settime64,              ALWAYS,            NO,   NO,  409,   NO,  409,  409,   NO) \
	X(timerfd_create,               ALWAYS,           283,  283,  322,   85,  350,  321,   85) \
	X(timerfd_gettime,              ALWAYS,           287,  287,  326,   87,  354,  322,   87) \
	X(timerfd_gettime64,            ALWAYS,            NO,   NO,  410,   NO,  410,  410,   NO) \
	X(timerfd_settime,              ALWAYS,           286,  286,  325,   86,  353,  323,   86) \
	X(timerfd_settime64,            ALWAYS,            NO,   NO,  411,   NO,  411,  411,   NO) \
	X(times,                        ALWAYS,           100,  100,   43,  153,   43,   43,  153) \
	X(tkill,                        ALWAYS,           200,  200,  238,  130,  238,  236,  130) \
	X(truncate,                     ALWAYS,            76,   76,   92,   45,   92,   92,   45) \
	X(truncate64,                   ALWAYS,            NO,   NO,  193,   NO,  193,  211,   NO) \
	X(ugetrlimit,                   ALWAYS,            NO,   NO,  191,   NO,  191,   NO,   NO) \
	X(umask,                        ALWAYS,            95,   95,   60,  166,   60,   60,  166) \
	X(umount,                       ADMIN,             NO,   NO,   22,   NO,   NO,   22,   NO) \
	X(umount2,                      ADMIN,            166,  166,   52,   39,   52,   52,   39) \
	X(uname,                        ALWAYS,            63,   63,  122,  160,  122,  122,  160) \
	X(unlink,                       ALWAYS,            87,   87,   10,   NO,   10,   10,   NO) \
	X(unlinkat,                     ALWAYS,           263,  263,  301,   35,  328,  294,   35) \
	X(unshare,                      ADMIN,            272,  272,  310,   97,  337,  303,   97) \
	X(uretprobe,                    ALWAYS,           335,  335,   NO,   NO,   NO,   NO,   NO) \
	X(utime,                        ALWAYS,           132,  132,   30,   NO,   NO,   30,   NO) \
	X(utimensat,                    ALWAYS,           280,  280,  320,   88,  348,  316,   88) \
	X(utimensat_time64,             ALWAYS,            NO,   NO,  412,   NO,  412,  412,   NO) \
	X(utimes,                       ALWAYS,           235,  235,  271,   NO,  269,  267,   NO) \
	X(vfork,                        ALWAYS,            58,   58,  190,   NO,  190,   NO,   NO) \
	X(vhangup,                      TTY_CONFIG,       153,  153,  111,   58,  111,  111,   58) \
	X(vmsplice,                     ALWAYS,           278,  532,  316,   75,  343,  307,   75) \
	X(wait4,                        ALWAYS,            61,   61,  114,  260,  114,  114,  260) \
	X(waitid,                       ALWAYS,           247,  529,  284,   95,  280,  278,   95) \
	X(waitpid,                      ALWAYS,            NO,   NO,    7,   NO,   NO,    7,   NO) \
	X(write,                        ALWAYS,             1,    1,    4,   64,    4,    4,   64) \
	X(writev,                       ALWAYS,            20,  516,  146,   66,  146,  146,   66) \
	/* end */
/* END GENERATED BY mk/gen-seccomp.py */

/* Table numbers from 0xf000 stand for the ARM-private calls at 0x0f0000. */
#define MD_SECCOMP_NR_PRIV 0xf000u
#define MD_SECCOMP_ARM_PRIV 0x0f0000u

/* What a rule allows: any of `caps`, else `how`. */
enum md_seccomp_act {
	MD_SECCOMP_A_EPERM,       /* the profile's default action */
	MD_SECCOMP_A_ALLOW,
	MD_SECCOMP_A_ENOSYS,      /* clone3; numbers past the table */
	MD_SECCOMP_A_CLONE,       /* allow unless the flags ask for a namespace */
	MD_SECCOMP_A_SOCKET,      /* allow the listed domains */
	MD_SECCOMP_A_PERSONALITY, /* allow the listed personas */
	MD_SECCOMP_A_K48,         /* allow on kernels >= 4.8 (only in rules) */
};
#define MD_SECCOMP_A_ARG64 0x80 /* or'ed into an argument check: 64-bit ABI */

#define MD_SECCOMP_CAP(n) (UINT64_C(1) << (n))
#define MD_SECCOMP_CAP_DAC_READ_SEARCH MD_SECCOMP_CAP(2)
#define MD_SECCOMP_CAP_SYS_MODULE MD_SECCOMP_CAP(16)
#define MD_SECCOMP_CAP_SYS_RAWIO MD_SECCOMP_CAP(17)
#define MD_SECCOMP_CAP_SYS_CHROOT MD_SECCOMP_CAP(18)
#define MD_SECCOMP_CAP_SYS_PTRACE MD_SECCOMP_CAP(19)
#define MD_SECCOMP_CAP_SYS_PACCT MD_SECCOMP_CAP(20)
#define MD_SECCOMP_CAP_SYS_ADMIN MD_SECCOMP_CAP(21)
#define MD_SECCOMP_CAP_SYS_BOOT MD_SECCOMP_CAP(22)
#define MD_SECCOMP_CAP_SYS_NICE MD_SECCOMP_CAP(23)
#define MD_SECCOMP_CAP_SYS_TIME MD_SECCOMP_CAP(25)
#define MD_SECCOMP_CAP_SYS_TTY_CONFIG MD_SECCOMP_CAP(26)
#define MD_SECCOMP_CAP_SYSLOG MD_SECCOMP_CAP(34)
#define MD_SECCOMP_CAP_PERFMON MD_SECCOMP_CAP(38)
#define MD_SECCOMP_CAP_BPF MD_SECCOMP_CAP(39)

/* The rules the generator names (MD_SECCOMP_ROWS' second column). */
enum md_seccomp_rule {
	MD_SECCOMP_R_ALWAYS,
	MD_SECCOMP_R_ADMIN,
	MD_SECCOMP_R_DAC_READ_SEARCH,
	MD_SECCOMP_R_BOOT,
	MD_SECCOMP_R_CHROOT,
	MD_SECCOMP_R_MODULE,
	MD_SECCOMP_R_PACCT,
	MD_SECCOMP_R_PTRACE,
	MD_SECCOMP_R_RAWIO,
	MD_SECCOMP_R_TIME,
	MD_SECCOMP_R_TTY_CONFIG,
	MD_SECCOMP_R_NICE,
	MD_SECCOMP_R_ADMIN_SYSLOG,
	MD_SECCOMP_R_ADMIN_BPF,
	MD_SECCOMP_R_ADMIN_PERFMON,
	MD_SECCOMP_R_PTRACE_K48,
	MD_SECCOMP_R_CLONE,
	MD_SECCOMP_R_CLONE3,
	MD_SECCOMP_R_SOCKET,
	MD_SECCOMP_R_PERSONALITY,
	MD_SECCOMP_R_ON_ARM,
	MD_SECCOMP_R_ON_AMD64,
	MD_SECCOMP_R_ON_X86,
	MD_SECCOMP_R_ON_RISCV64,
};

/* "arches" filters compare with the daemon's architecture: decided here. */
#define MD_SECCOMP_ON(cond) ((cond) ? MD_SECCOMP_A_ALLOW : MD_SECCOMP_A_EPERM)

static const struct md_seccomp_rule_def {
	uint64_t caps;
	uint8_t how;
} md_seccomp_rules[] = {
	[MD_SECCOMP_R_ALWAYS] = {0, MD_SECCOMP_A_ALLOW},
	[MD_SECCOMP_R_ADMIN] = {MD_SECCOMP_CAP_SYS_ADMIN, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_DAC_READ_SEARCH] = {MD_SECCOMP_CAP_DAC_READ_SEARCH, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_BOOT] = {MD_SECCOMP_CAP_SYS_BOOT, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_CHROOT] = {MD_SECCOMP_CAP_SYS_CHROOT, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_MODULE] = {MD_SECCOMP_CAP_SYS_MODULE, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_PACCT] = {MD_SECCOMP_CAP_SYS_PACCT, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_PTRACE] = {MD_SECCOMP_CAP_SYS_PTRACE, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_RAWIO] = {MD_SECCOMP_CAP_SYS_RAWIO, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_TIME] = {MD_SECCOMP_CAP_SYS_TIME, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_TTY_CONFIG] = {MD_SECCOMP_CAP_SYS_TTY_CONFIG, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_NICE] = {MD_SECCOMP_CAP_SYS_NICE, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_ADMIN_SYSLOG] = {MD_SECCOMP_CAP_SYS_ADMIN | MD_SECCOMP_CAP_SYSLOG,
				       MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_ADMIN_BPF] = {MD_SECCOMP_CAP_SYS_ADMIN | MD_SECCOMP_CAP_BPF, MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_ADMIN_PERFMON] = {MD_SECCOMP_CAP_SYS_ADMIN | MD_SECCOMP_CAP_PERFMON,
					MD_SECCOMP_A_EPERM},
	[MD_SECCOMP_R_PTRACE_K48] = {MD_SECCOMP_CAP_SYS_PTRACE, MD_SECCOMP_A_K48},
	[MD_SECCOMP_R_CLONE] = {MD_SECCOMP_CAP_SYS_ADMIN, MD_SECCOMP_A_CLONE},
	[MD_SECCOMP_R_CLONE3] = {MD_SECCOMP_CAP_SYS_ADMIN, MD_SECCOMP_A_ENOSYS},
	[MD_SECCOMP_R_SOCKET] = {0, MD_SECCOMP_A_SOCKET},
	[MD_SECCOMP_R_PERSONALITY] = {0, MD_SECCOMP_A_PERSONALITY},
	[MD_SECCOMP_R_ON_ARM] = {0, MD_SECCOMP_ON(MD_SECCOMP_ARCH_ARM || MD_SECCOMP_ARCH_AARCH64)},
	[MD_SECCOMP_R_ON_AMD64] = {0, MD_SECCOMP_ON(MD_SECCOMP_ARCH_X86_64)},
	[MD_SECCOMP_R_ON_X86] = {0, MD_SECCOMP_ON(MD_SECCOMP_ARCH_X86_64 || MD_SECCOMP_ARCH_I386)},
	[MD_SECCOMP_R_ON_RISCV64] = {0, MD_SECCOMP_ON(MD_SECCOMP_ARCH_RISCV64)},
};

struct md_seccomp_row {
	uint8_t rule;
	uint16_t nr[MD_SECCOMP_NABI];
};

#define NO 0xffff
#define MD_SECCOMP_ROW(name, rule, ...) {MD_SECCOMP_R_##rule, {MD_SECCOMP_COLS(__VA_ARGS__)}},
static const struct md_seccomp_row md_seccomp_rows[] = {MD_SECCOMP_ROWS(MD_SECCOMP_ROW)};
#undef MD_SECCOMP_ROW
#undef NO
static const struct md_seccomp_abi md_seccomp_abis[MD_SECCOMP_NABI] = MD_SECCOMP_ABIS;

#ifdef MD_TEST
#define MD_SECCOMP_NAME(name, ...) #name,
static const char *const md_seccomp_names[] = {MD_SECCOMP_ROWS(MD_SECCOMP_NAME)};
#undef MD_SECCOMP_NAME
#endif

/* Where seccomp_data keeps things; an argument's halves follow endianness. */
#define MD_SECCOMP_OFF_NR ((uint32_t)offsetof(struct seccomp_data, nr))
#define MD_SECCOMP_OFF_ARCH ((uint32_t)offsetof(struct seccomp_data, arch))
#define MD_SECCOMP_OFF_ARG(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define MD_SECCOMP_OFF_LO(i) (MD_SECCOMP_OFF_ARG(i) + 4)
#define MD_SECCOMP_OFF_HI(i) MD_SECCOMP_OFF_ARG(i)
#else
#define MD_SECCOMP_OFF_LO(i) MD_SECCOMP_OFF_ARG(i)
#define MD_SECCOMP_OFF_HI(i) (MD_SECCOMP_OFF_ARG(i) + 4)
#endif

/* clone's flags are argument 0 everywhere minidock builds (1 on s390). */
#define MD_SECCOMP_CLONE_FLAGS_ARG 0

static const uint32_t md_seccomp_persona_ok[] = MD_SECCOMP_PERSONALITY_OK;
static const uint8_t md_seccomp_socket_ok[][2] = MD_SECCOMP_SOCKET_OK;

/* [lo, next segment's lo) -> act; a list of them covers all 2^32 numbers. */
struct md_seccomp_seg {
	uint32_t lo;
	uint8_t act;
};

/* A range of numbers with an action while collecting: [lo, end). */
struct md_seccomp_range {
	uint32_t lo;
	uint64_t end;
	uint8_t act;
};

struct md_seccomp_gen {
	struct sock_filter *f;
	size_t n, cap;
	uint32_t kill;
	struct md_seccomp_seg dom[2 * MD_ARRAY_LEN(md_seccomp_socket_ok) + 1];
	size_t ndom;
};

static void md_seccomp_put(struct md_seccomp_gen *g, uint16_t code, uint32_t k, uint8_t jt,
			   uint8_t jf)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->f = md_realloc(g->f, g->cap * sizeof *g->f);
	}
	g->f[g->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static void md_seccomp_ret(struct md_seccomp_gen *g, uint32_t v)
{
	md_seccomp_put(g, BPF_RET | BPF_K, v, 0, 0);
}

static void md_seccomp_ld(struct md_seccomp_gen *g, uint32_t off)
{
	md_seccomp_put(g, BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
}

static size_t md_seccomp_tree_size(const struct md_seccomp_gen *g,
				   const struct md_seccomp_seg *s, size_t n);
static void md_seccomp_tree_emit(struct md_seccomp_gen *g, const struct md_seccomp_seg *s,
				 size_t n);

/* Instructions a leaf takes: must match md_seccomp_leaf_emit. */
static size_t md_seccomp_leaf_size(const struct md_seccomp_gen *g, uint8_t act)
{
	size_t hi = (act & MD_SECCOMP_A_ARG64) ? 3 : 0;
	switch (act & ~MD_SECCOMP_A_ARG64) {
	case MD_SECCOMP_A_CLONE:
		return 4;
	case MD_SECCOMP_A_PERSONALITY:
		return hi + 1 + MD_ARRAY_LEN(md_seccomp_persona_ok) + 2;
	case MD_SECCOMP_A_SOCKET:
		return hi + 1 + md_seccomp_tree_size(g, g->dom, g->ndom);
	default:
		return 1;
	}
}

static void md_seccomp_leaf_emit(struct md_seccomp_gen *g, uint8_t act)
{
	const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM, allow = SECCOMP_RET_ALLOW;
	uint8_t how = act & ~MD_SECCOMP_A_ARG64;
	if (how == MD_SECCOMP_A_PERSONALITY || how == MD_SECCOMP_A_SOCKET) {
		/* 64-bit ABIs compare the whole argument: the upper half is 0 */
		if (act & MD_SECCOMP_A_ARG64) {
			md_seccomp_ld(g, MD_SECCOMP_OFF_HI(0));
			md_seccomp_put(g, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
			md_seccomp_ret(g, eperm);
		}
		md_seccomp_ld(g, MD_SECCOMP_OFF_LO(0));
	}
	switch (how) {
	case MD_SECCOMP_A_ALLOW:
		md_seccomp_ret(g, allow);
		break;
	case MD_SECCOMP_A_ENOSYS:
		md_seccomp_ret(g, SECCOMP_RET_ERRNO | ENOSYS);
		break;
	case MD_SECCOMP_A_CLONE:
		/* the namespace flags are all in the low half */
		md_seccomp_ld(g, MD_SECCOMP_OFF_LO(MD_SECCOMP_CLONE_FLAGS_ARG));
		md_seccomp_put(g, BPF_JMP | BPF_JSET | BPF_K, MD_SECCOMP_CLONE_NS_FLAGS, 1, 0);
		md_seccomp_ret(g, allow);
		md_seccomp_ret(g, eperm);
		break;
	case MD_SECCOMP_A_PERSONALITY: {
		size_t v = MD_ARRAY_LEN(md_seccomp_persona_ok);
		for (size_t i = 0; i < v; i++)
			md_seccomp_put(g, BPF_JMP | BPF_JEQ | BPF_K, md_seccomp_persona_ok[i],
				       (uint8_t)(v - i), 0);
		md_seccomp_ret(g, eperm);
		md_seccomp_ret(g, allow);
		break;
	}
	case MD_SECCOMP_A_SOCKET:
		md_seccomp_tree_emit(g, g->dom, g->ndom);
		break;
	default:
		md_seccomp_ret(g, eperm);
	}
}

/*
 * A binary search over segments: "jge s[h].lo" splits them in halves.  The
 * left half follows the test; when it is longer than a conditional jump
 * reaches (255), an unconditional jump (32-bit offset) carries the "true"
 * edge over it.
 */
static size_t md_seccomp_tree_size(const struct md_seccomp_gen *g,
				   const struct md_seccomp_seg *s, size_t n)
{
	if (n == 1)
		return md_seccomp_leaf_size(g, s[0].act);
	size_t h = n / 2, l = md_seccomp_tree_size(g, s, h);
	return (l > 255 ? 2 : 1) + l + md_seccomp_tree_size(g, s + h, n - h);
}

static void md_seccomp_tree_emit(struct md_seccomp_gen *g, const struct md_seccomp_seg *s,
				 size_t n)
{
	if (n == 1) {
		md_seccomp_leaf_emit(g, s[0].act);
		return;
	}
	size_t h = n / 2, l = md_seccomp_tree_size(g, s, h);
	if (l > 255) {
		md_seccomp_put(g, BPF_JMP | BPF_JGE | BPF_K, s[h].lo, 0, 1);
		md_seccomp_put(g, BPF_JMP | BPF_JA, (uint32_t)l, 0, 0);
	} else {
		md_seccomp_put(g, BPF_JMP | BPF_JGE | BPF_K, s[h].lo, (uint8_t)l, 0);
	}
	md_seccomp_tree_emit(g, s, h);
	md_seccomp_tree_emit(g, s + h, n - h);
}

static int md_seccomp_range_cmp(const void *a, const void *b)
{
	const struct md_seccomp_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorted, disjoint ranges -> segments covering [0, 2^32); gaps get EPERM. */
static int md_seccomp_segments(struct md_seccomp_range *r, size_t nr,
			       struct md_seccomp_seg *out, size_t *nout)
{
	size_t n = 0;
	uint64_t at = 0;
	qsort(r, nr, sizeof *r, md_seccomp_range_cmp);
	for (size_t i = 0; i <= nr; i++) {
		uint64_t lo = i < nr ? r[i].lo : UINT64_C(1) << 32;
		if (lo < at)
			return md_err("seccomp table: syscall %u listed twice", (unsigned)lo);
		if (lo > at && (n == 0 || out[n - 1].act != MD_SECCOMP_A_EPERM))
			out[n++] = (struct md_seccomp_seg){(uint32_t)at, MD_SECCOMP_A_EPERM};
		if (i == nr)
			break;
		if (n == 0 || out[n - 1].act != r[i].act)
			out[n++] = (struct md_seccomp_seg){r[i].lo, r[i].act};
		at = r[i].end;
	}
	*nout = n;
	return 0;
}

static uint32_t md_seccomp_nr(const struct md_seccomp_abi *abi, uint16_t v)
{
	return v >= MD_SECCOMP_NR_PRIV ? MD_SECCOMP_ARM_PRIV + (v - MD_SECCOMP_NR_PRIV)
				       : abi->base + v;
}

static uint8_t md_seccomp_action(uint8_t rule, uint64_t caps, int k48)
{
	const struct md_seccomp_rule_def *r = &md_seccomp_rules[rule];
	if (caps & r->caps)
		return MD_SECCOMP_A_ALLOW;
	if (r->how == MD_SECCOMP_A_K48)
		return k48 ? MD_SECCOMP_A_ALLOW : MD_SECCOMP_A_EPERM;
	return r->how;
}

/*
 * The segments of one seccomp_data.arch value: every ABI that reports it
 * (x86_64 and x32 share one; x32 numbers have bit 30 set), each ABI's
 * numbers past its highest listed one -> ENOSYS up to where the next ABI's
 * numbers begin.
 */
static int md_seccomp_arch_segments(uint32_t arch, uint64_t caps, int k48,
				    struct md_seccomp_seg **segs, size_t *nsegs)
{
	size_t nrows = MD_ARRAY_LEN(md_seccomp_rows), n = 0;
	struct md_seccomp_range *r = md_alloc((nrows + 1) * MD_SECCOMP_NABI * sizeof *r);
	for (size_t a = 0; a < MD_SECCOMP_NABI; a++) {
		const struct md_seccomp_abi *abi = &md_seccomp_abis[a];
		if (abi->arch != arch)
			continue;
		uint32_t max = 0;
		uint64_t end = UINT64_C(1) << 32;
		for (size_t b = 0; b < MD_SECCOMP_NABI; b++)
			if (md_seccomp_abis[b].arch == arch && md_seccomp_abis[b].base > abi->base &&
			    md_seccomp_abis[b].base < end)
				end = md_seccomp_abis[b].base;
		for (size_t i = 0; i < nrows; i++) {
			uint16_t v = md_seccomp_rows[i].nr[a];
			uint8_t act = md_seccomp_action(md_seccomp_rows[i].rule, caps, k48);
			if (v == 0xffff || act == MD_SECCOMP_A_EPERM)
				continue;
			if (abi->arg64 && (act == MD_SECCOMP_A_SOCKET || act == MD_SECCOMP_A_PERSONALITY))
				act |= MD_SECCOMP_A_ARG64;
			uint32_t nr = md_seccomp_nr(abi, v);
			r[n++] = (struct md_seccomp_range){nr, (uint64_t)nr + 1, act};
			if (nr > max)
				max = nr;
		}
		if (max + UINT64_C(1) < end)
			r[n++] = (struct md_seccomp_range){max + 1, end, MD_SECCOMP_A_ENOSYS};
	}
	*segs = md_alloc((2 * n + 1) * sizeof **segs);
	int rc = md_seccomp_segments(r, n, *segs, nsegs);
	free(r);
	if (rc < 0) {
		free(*segs);
		*segs = NULL;
	}
	return rc;
}

/* Instructions since `start` must be what the size functions predicted. */
static int md_seccomp_section(struct md_seccomp_gen *g, const struct md_seccomp_seg *s, size_t n)
{
	size_t start = g->n, want = 1 + md_seccomp_tree_size(g, s, n);
	md_seccomp_ld(g, MD_SECCOMP_OFF_NR);
	md_seccomp_tree_emit(g, s, n);
	if (g->n - start != want)
		return md_err("seccomp: emitted %zu instructions, expected %zu", g->n - start, want);
	return 0;
}

static int md_seccomp_kernel_at_least(int major, int minor)
{
	struct utsname u;
	long long a = 0, b = 0;
	const char *q = uname(&u) == 0 ? md_scan_i64(u.release, &a) : NULL;
	if (!(q = md_scan_lit(q, ".")) || !md_scan_i64(q, &b))
		return 0;
	return a > major || (a == major && b >= minor);
}

/* KILL_PROCESS came with Linux 4.14; older kernels kill the thread. */
static uint32_t md_seccomp_kill_action(void)
{
#ifdef SYS_seccomp
	uint32_t act = SECCOMP_RET_KILL_PROCESS;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) == 0)
		return SECCOMP_RET_KILL_PROCESS;
#endif
	return SECCOMP_RET_KILL_THREAD;
}

/* Build Docker's default profile for this machine's architecture and its
 * compat ABIs, for a container with capabilities `caps` (bit n = capability
 * n).  *out gets a malloc'd program; returns 0, or -1 with md_err. */
static MD_UNUSED int md_seccomp_build(uint64_t caps, struct sock_fprog *out)
{
	struct md_seccomp_gen g = {0};
	struct md_seccomp_seg *segs[MD_SECCOMP_NABI] = {0};
	size_t nsegs[MD_SECCOMP_NABI] = {0}, ja[MD_SECCOMP_NABI] = {0};
	uint32_t arches[MD_SECCOMP_NABI];
	size_t narch = 0, i;
	int k48 = md_seccomp_kernel_at_least(4, 8), rc = -1;

	g.kill = md_seccomp_kill_action();
	uint32_t at = 0;
	for (i = 0; i < MD_ARRAY_LEN(md_seccomp_socket_ok); i++) {
		if (md_seccomp_socket_ok[i][0] > at)
			g.dom[g.ndom++] = (struct md_seccomp_seg){at, MD_SECCOMP_A_EPERM};
		g.dom[g.ndom++] = (struct md_seccomp_seg){md_seccomp_socket_ok[i][0], MD_SECCOMP_A_ALLOW};
		at = md_seccomp_socket_ok[i][1] + 1u;
	}
	g.dom[g.ndom++] = (struct md_seccomp_seg){at, MD_SECCOMP_A_EPERM};

	for (i = 0; i < MD_SECCOMP_NABI; i++) {
		size_t j = 0;
		while (j < narch && arches[j] != md_seccomp_abis[i].arch)
			j++;
		if (j == narch)
			arches[narch++] = md_seccomp_abis[i].arch;
	}
	for (i = 0; i < narch; i++)
		if (md_seccomp_arch_segments(arches[i], caps, k48, &segs[i], &nsegs[i]) < 0)
			goto out;

	/* ld arch; [jeq A_i; ja section_i]...; jeq A_last ? skip : ret kill */
	md_seccomp_ld(&g, MD_SECCOMP_OFF_ARCH);
	for (i = 0; i + 1 < narch; i++) {
		md_seccomp_put(&g, BPF_JMP | BPF_JEQ | BPF_K, arches[i], 0, 1);
		ja[i] = g.n;
		md_seccomp_put(&g, BPF_JMP | BPF_JA, 0, 0, 0);
	}
	md_seccomp_put(&g, BPF_JMP | BPF_JEQ | BPF_K, arches[narch - 1], 1, 0);
	md_seccomp_ret(&g, g.kill);
	if (md_seccomp_section(&g, segs[narch - 1], nsegs[narch - 1]) < 0)
		goto out;
	for (i = 0; i + 1 < narch; i++) {
		g.f[ja[i]].k = (uint32_t)(g.n - ja[i] - 1);
		if (md_seccomp_section(&g, segs[i], nsegs[i]) < 0)
			goto out;
	}
	if (g.n > BPF_MAXINSNS) {
		md_err("seccomp: the filter needs %zu instructions, the kernel takes %d", g.n,
		       BPF_MAXINSNS);
		goto out;
	}
	out->len = (unsigned short)g.n;
	out->filter = g.f;
	g.f = NULL;
	rc = 0;
out:
	for (i = 0; i < narch; i++)
		free(segs[i]);
	free(g.f);
	return rc;
}

/* Install the filter for the calling thread.  The caller has set
 * no_new_privs or still holds CAP_SYS_ADMIN. */
static MD_UNUSED int md_seccomp_install(const struct sock_fprog *prog)
{
#ifdef SYS_seccomp
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) == 0)
		return 0;
	if (errno != ENOSYS)
		return md_errno("seccomp filter (%u instructions)", (unsigned)prog->len);
#endif
	/* kernels before 3.17 have no seccomp(2) */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (unsigned long)prog, 0UL, 0UL) == 0)
		return 0;
	if (errno == EINVAL) /* CONFIG_SECCOMP_FILTER off, or qemu-user (it refuses both calls) */
		return md_err("this system refuses seccomp filters (kernel without CONFIG_SECCOMP_FILTER, or an emulator such as qemu-user): --security-opt seccomp=unconfined runs without one");
	return md_errno("prctl(PR_SET_SECCOMP) (%u instructions)", (unsigned)prog->len);
}

#else /* !MD_FEATURE_SECCOMP */

struct sock_fprog;

static MD_UNUSED int md_seccomp_build(uint64_t caps, struct sock_fprog *out)
{
	(void)caps;
	(void)out;
	return md_err("seccomp support is not built in (MD_FEATURE_SECCOMP=0)");
}

static MD_UNUSED int md_seccomp_install(const struct sock_fprog *prog)
{
	(void)prog;
	return md_err("seccomp support is not built in (MD_FEATURE_SECCOMP=0)");
}

#endif /* MD_FEATURE_SECCOMP */

/**** 14 cgroups ************************************************************/
/*
 * INCLUDES: <sys/resource.h> <sys/syscall.h> <sys/sysinfo.h>
 *
 * Owns a container's cgroups: finding the hierarchies from
 * /proc/self/mountinfo (never from fixed paths), creating PARENT/NAME in
 * each, applying limits, moving processes in, freezing, statistics, OOM
 * detection, killing what is left and removing the directories, and the
 * cgroup v2 device filter (a hand-assembled eBPF program loaded with bpf(2)).
 * Calls only the utilities.
 *
 * Where each controller lives is decided per controller: a v1 hierarchy that
 * has it mounted wins, else the v2 hierarchy when its root lists it in
 * cgroup.controllers (cpuacct, devices and freezer are built into v2 as
 * cpu.stat, the device program and cgroup.freeze).  Pure v1 (co-mounted
 * cpu,cpuacct or not), pure v2, systemd's hybrid (v1 controllers plus an
 * empty unified tree) and mixed hosts all take the same path.  Every other
 * mounted hierarchy (name=systemd, net_cls, the unified tree of a hybrid
 * host) is joined too, as runc does, but best effort: failing there is not
 * an error.  PARENT/NAME is relative to each hierarchy's mount point.
 *
 * May call: sections 01-13.
 */

enum md_cg_mode { MD_CG_NONE, MD_CG_V1, MD_CG_V2, MD_CG_HYBRID };

/* One device cgroup rule; all rules allow (the list is an allowlist). */
struct md_cg_dev {
	char type;            /* 'c', 'b', 'a' (both) */
	int64_t major, minor; /* -1 = wildcard */
	char access[4];       /* non-empty subset of "rwm" */
};

struct md_cg_limits {
	int64_t memory;                /* bytes, 0 = unlimited (-m); update: 0 unchanged, -1 unlimited */
	int64_t memory_swap;           /* memory+swap as Docker's --memory-swap: -1 unlimited swap,
	                                  0 = default (create: twice memory; update: unchanged) */
	int64_t cpu_quota, cpu_period; /* microseconds; --cpus N: period 100000, quota N*100000;
	                                  0 = none (update: unchanged; quota -1 = unlimited) */
	int64_t cpu_shares;            /* v1 cpu.shares; 0 = leave the kernel default; v2: cpu.weight */
	int64_t pids;                  /* --pids-limit; create: 0 or -1 unlimited; update: 0 unchanged, -1 unlimited */
	char cpuset_cpus[128], cpuset_mems[128]; /* "" = inherit / unchanged */
	int devices_allow_all;                   /* --privileged */
	struct md_cg_dev *devs;                  /* md_cg_default_devices() plus --device additions */
	size_t ndevs;
};

struct md_cg_stats {
	uint64_t mem_usage, mem_limit, mem_cache; /* mem_limit: host RAM when unlimited, as Docker */
	uint64_t cpu_usage_ns;
	uint64_t pids_current;
	int64_t pids_limit; /* -1 = unlimited */
	uint64_t blk_read, blk_write;
	int oom_kills;
};

/*
 * What a container's /sys/fs/cgroup should show.  name: the directory
 * under /sys/fs/cgroup ("memory", "cpu,cpuacct", "systemd", "unified"; ""
 * for a v2-only host, where the v2 tree is /sys/fs/cgroup itself).  host:
 * the container's cgroup dir, to bind-mount.  opts: mount(2) data to mount
 * cgroupfs inside a cgroup namespace instead ("cpu,cpuacct",
 * "name=systemd"; "" for cgroup2).  For a co-mounted hierarchy the runtime
 * adds the usual symlinks, one per controller in opts (cpu -> cpu,cpuacct).
 */
struct md_cg_mount {
	char name[64];
	char host[512];
	char opts[128];
	int v2;
};

enum {
	MD_CG_C_MEMORY,
	MD_CG_C_CPU,
	MD_CG_C_CPUACCT,
	MD_CG_C_CPUSET,
	MD_CG_C_PIDS,
	MD_CG_C_DEVICES,
	MD_CG_C_FREEZER,
	MD_CG_C_BLKIO,
	MD_CG_NCTRL
};
static const char *const md_cg_ctrl_v1[MD_CG_NCTRL] = {"memory", "cpu",     "cpuacct", "cpuset",
                                                       "pids",   "devices", "freezer", "blkio"};
/* v2 names; NULL: built into cgroup2 itself, no controller to enable */
static const char *const md_cg_ctrl_v2[MD_CG_NCTRL] = {"memory", "cpu", NULL, "cpuset", "pids", NULL, NULL, "io"};
/* v1 controllers minidock does not drive but joins, as runc does */
static const char *const md_cg_ctrl_other[] = {"net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc", "debug"};

#define MD_CG_MAXH 16
#define MD_CG_WAIT_MS 5000 /* freezing, killing and rmdir give up after this */

struct md_cg_hier {
	char mnt[512];  /* mount point */
	char opts[128]; /* v1: controllers and name=X, as mount(2) takes them; v2: "" */
	char name[64];  /* its directory under /sys/fs/cgroup */
	int v2;
	int noprefix; /* v1 mounted -o noprefix (Android's cpuset): "cpus", not "cpuset.cpus" */
	int nctrl;    /* kernel controllers bound to it (0: a named hierarchy) */
	int rootok;   /* the mount shows the hierarchy's root */
};

struct md_cg_layout {
	enum md_cg_mode mode;
	struct md_cg_hier h[MD_CG_MAXH];
	size_t nh;
	int ctrl[MD_CG_NCTRL]; /* index into h, -1: not available */
	int uni;               /* the cgroup2 hierarchy, -1: none */
};

static struct md_cg_layout md_cg_lay;
static int md_cg_lay_done;

/* ---- time ---- */

static int64_t md_cg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void md_cg_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- finding the hierarchies ---- */

static int md_cg_ctrl_index(const char *tok, int v2)
{
	for (int c = 0; c < MD_CG_NCTRL; c++) {
		const char *n = v2 ? md_cg_ctrl_v2[c] : md_cg_ctrl_v1[c];
		if (n && strcmp(n, tok) == 0)
			return c;
	}
	return -1;
}

/* Is word in a list separated by spaces or commas? */
static int md_cg_word(const char *list, const char *word)
{
	size_t l = strlen(word);
	for (const char *p = list; *p;) {
		p += strspn(p, " ,\n");
		size_t k = strcspn(p, " ,\n");
		if (k == l && memcmp(p, word, l) == 0)
			return 1;
		p += k;
	}
	return 0;
}

/* Undo mountinfo's octal escapes ("\040" for a space) in place. */
static void md_cg_unescape(char *s)
{
	char *d = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

/*
 * Add the cgroup mounts of a mountinfo text to L->h; want: 1 v1
 * hierarchies, 2 the v2 one, 3 both.  A hierarchy mounted twice (bind
 * mounts) is kept once, preferring a mount of its root.
 */
static void md_cg_parse_mountinfo(char *text, int want, struct md_cg_layout *L)
{
	char *next;
	for (char *line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *f[64], *sv;
		size_t nf = 0, sep = 0;
		for (char *s = strtok_r(line, " ", &sv); s && nf < MD_ARRAY_LEN(f); s = strtok_r(NULL, " ", &sv))
			f[nf++] = s;
		for (size_t k = 6; k < nf; k++)
			if (strcmp(f[k], "-") == 0) {
				sep = k;
				break;
			}
		if (!sep || sep + 3 >= nf)
			continue;
		int v2 = strcmp(f[sep + 1], "cgroup2") == 0;
		if (!v2 && strcmp(f[sep + 1], "cgroup") != 0)
			continue;
		if (!(want & (v2 ? 2 : 1)))
			continue;
		char *root = f[3], *mnt = f[4];
		md_cg_unescape(root);
		md_cg_unescape(mnt);
		struct md_cg_hier h = {.v2 = v2, .rootok = strcmp(root, "/") == 0};
		if (strlen(mnt) >= sizeof h.mnt)
			continue;
		snprintf(h.mnt, sizeof h.mnt, "%s", mnt);
		if (v2) {
			snprintf(h.name, sizeof h.name, "unified"); /* "" on a v2-only host, see finish */
		} else {
			char named[64] = "";
			struct md_sb o = {0};
			char *tok, *sv2;
			for (tok = strtok_r(f[sep + 3], ",", &sv2); tok; tok = strtok_r(NULL, ",", &sv2)) {
				int known = md_cg_ctrl_index(tok, 0) >= 0;
				for (size_t k = 0; !known && k < MD_ARRAY_LEN(md_cg_ctrl_other); k++)
					known = strcmp(tok, md_cg_ctrl_other[k]) == 0;
				if (known) {
					md_sb_printf(&o, "%s%s", o.len ? "," : "", tok);
					h.nctrl++;
				} else if (md_startswith(tok, "name=")) {
					snprintf(named, sizeof named, "%s", tok + 5);
				} else if (strcmp(tok, "noprefix") == 0) {
					h.noprefix = 1;
				}
			}
			/* the directory name is the controllers, or the name of a named hierarchy */
			snprintf(h.name, sizeof h.name, "%s", h.nctrl ? md_sb_str(&o) : named);
			if (named[0])
				md_sb_printf(&o, "%sname=%s", o.len ? "," : "", named);
			snprintf(h.opts, sizeof h.opts, "%s", md_sb_str(&o));
			md_sb_free(&o);
			if (!h.opts[0])
				continue;
		}
		size_t i;
		for (i = 0; i < L->nh; i++)
			if (L->h[i].v2 == v2 && strcmp(L->h[i].opts, h.opts) == 0)
				break;
		if (i < L->nh && (L->h[i].rootok || !h.rootok))
			continue;
		if (i == L->nh) {
			if (L->nh == MD_CG_MAXH)
				continue;
			L->nh++;
		}
		L->h[i] = h;
	}
}

/* Map controllers to hierarchies and name the mode; v2ctrls: the v2 root's cgroup.controllers. */
static void md_cg_layout_finish(struct md_cg_layout *L, const char *v2ctrls)
{
	int any_v1 = 0;
	L->uni = -1;
	for (int c = 0; c < MD_CG_NCTRL; c++)
		L->ctrl[c] = -1;
	for (size_t i = 0; i < L->nh; i++) {
		struct md_cg_hier *h = &L->h[i];
		if (h->v2) {
			L->uni = (int)i;
			continue;
		}
		if (h->nctrl)
			any_v1 = 1;
		for (int c = 0; c < MD_CG_NCTRL; c++)
			if (L->ctrl[c] < 0 && md_cg_word(h->opts, md_cg_ctrl_v1[c]))
				L->ctrl[c] = (int)i;
	}
	if (L->uni >= 0) {
		for (int c = 0; c < MD_CG_NCTRL; c++)
			if (L->ctrl[c] < 0 && (md_cg_ctrl_v2[c] ? md_cg_word(v2ctrls, md_cg_ctrl_v2[c]) : 1))
				L->ctrl[c] = L->uni;
		if (!any_v1)
			L->h[L->uni].name[0] = 0;
	}
	L->mode = any_v1 && L->uni >= 0 ? MD_CG_HYBRID : any_v1 ? MD_CG_V1 : L->uni >= 0 ? MD_CG_V2 : MD_CG_NONE;
}

static struct md_cg_layout *md_cg_layout(void)
{
	if (md_cg_lay_done)
		return &md_cg_lay;
	struct md_cg_layout *L = &md_cg_lay;
	memset(L, 0, sizeof *L);
	int want = 3;
#ifdef MD_TEST
	/* tests run the v1 or the v2 paths on a hybrid host */
	const char *force = getenv("MINIDOCK_CGROUP_MODE");
	if (md_streq(force, "v1"))
		want = 1;
	else if (md_streq(force, "v2"))
		want = 2;
	else if (md_streq(force, "none"))
		want = 0;
#endif
	char *mi = md_read_file("/proc/self/mountinfo", 16u << 20, NULL);
	if (mi)
		md_cg_parse_mountinfo(mi, want, L);
	free(mi);
	char *ctl = NULL;
	for (size_t i = 0; i < L->nh; i++)
		if (L->h[i].v2 && !ctl) {
			char *p = md_asprintf("%s/cgroup.controllers", L->h[i].mnt);
			ctl = md_read_file(p, 4096, NULL);
			free(p);
		}
	md_cg_layout_finish(L, ctl ? ctl : "");
	free(ctl);
	md_cg_lay_done = 1;
	return L;
}

static MD_UNUSED enum md_cg_mode md_cg_detect(void)
{
	return md_cg_layout()->mode;
}

/* Forget the cached layout (tests switch MINIDOCK_CGROUP_MODE). */
static MD_UNUSED void md_cg_reset(void)
{
	md_cg_lay_done = 0;
}

/* Why controller c is not available, for messages. */
static const char *md_cg_missing(const struct md_cg_layout *L, int c, char *buf, size_t n)
{
	const char *name = md_cg_ctrl_v1[c];
	char *pc = md_read_file("/proc/cgroups", 65536, NULL);
	int found = 0, hier = 0, enabled = 0;
	for (char *line = pc; line && *line;) {
		char nm[64];
		long long hh, num, en;
		const char *q = md_scan_word(line, nm, sizeof nm);
		q = md_scan_i64(md_scan_i64(md_scan_i64(q, &hh), &num), &en);
		if (q && strcmp(nm, name) == 0) {
			found = 1, hier = (int)hh, enabled = (int)en;
			break;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	free(pc);
	if (!found)
		snprintf(buf, n, "this kernel has no %s cgroup controller (it is not in /proc/cgroups)", name);
	else if (!enabled)
		snprintf(buf, n, "the %s cgroup controller is disabled (cgroup_disable=%s on the kernel command line?)",
		         name, name);
	else if (hier)
		snprintf(buf, n,
		         "the %s cgroup controller is mounted (hierarchy %d in /proc/cgroups) but not in this mount "
		         "namespace",
		         name, hier);
	else if (L->uni >= 0)
		snprintf(buf, n,
		         "the %s cgroup controller is neither mounted as cgroup v1 nor listed in %s/cgroup.controllers",
		         name, L->h[L->uni].mnt);
	else
		snprintf(buf, n, "the %s cgroup controller is not mounted", name);
	return buf;
}

/* Does hierarchy i hold a controller minidock drives?  Then failing there is an error. */
static int md_cg_required(const struct md_cg_layout *L, size_t i)
{
	for (int c = 0; c < MD_CG_NCTRL; c++)
		if (L->ctrl[c] == (int)i)
			return 1;
	return 0;
}

/* PARENT/NAME, checked and normalised; NULL after md_err(). */
static char *md_cg_rel(const char *parent, const char *name)
{
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		md_err("invalid cgroup name \"%s\"", name ? name : "");
		return NULL;
	}
	struct md_sb b = {0};
	for (const char *p = parent ? parent : ""; *p;) {
		p += strspn(p, "/");
		size_t l = strcspn(p, "/");
		if (!l)
			break;
		if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.')) {
			md_sb_free(&b);
			md_err("invalid cgroup parent \"%s\": \".\" and \"..\" are not allowed", parent);
			return NULL;
		}
		md_sb_putn(&b, p, l);
		md_sb_putc(&b, '/');
		p += l;
	}
	md_sb_puts(&b, name);
	return b.s;
}

static char *md_cg_dir(const struct md_cg_layout *L, size_t i, const char *rel)
{
	return md_asprintf("%s/%s", L->h[i].mnt, rel);
}

/* ---- files ---- */

static const char *md_cg_fname(const struct md_cg_hier *h, const char *file)
{
	const char *dot = strchr(file, '.');
	if (h && h->noprefix && dot && !md_startswith(file, "cgroup.")) {
		char ctl[32];
		snprintf(ctl, sizeof ctl, "%.*s", (int)(dot - file), file);
		if (md_cg_word(h->opts, ctl))
			return dot + 1;
	}
	return file;
}

/* Write a value in one write(2), as cgroupfs wants; the message names the file and the value. */
static int md_cg_write(const struct md_cg_hier *h, const char *dir, const char *file, const char *val)
{
	char *p = md_asprintf("%s/%s", dir, md_cg_fname(h, file));
	int r = 0, fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		r = md_errno("open %s", p);
	} else {
		ssize_t w;
		do
			w = write(fd, val, strlen(val));
		while (w < 0 && errno == EINTR);
		if (w < 0)
			r = md_errno("write \"%s\" to %s", val, p);
		int e = errno;
		close(fd);
		errno = e;
	}
	int e = errno;
	free(p);
	errno = e;
	return r;
}

/* Read a small file, trailing whitespace removed. */
static int md_cg_read(const struct md_cg_hier *h, const char *dir, const char *file, char *buf, size_t n)
{
	char *p = md_asprintf("%s/%s", dir, md_cg_fname(h, file));
	int r = -1, fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		md_errno("open %s", p);
	} else {
		ssize_t got = md_read_full(fd, buf, n - 1);
		if (got < 0) {
			md_errno("read %s", p);
		} else {
			while (got > 0 && isspace((unsigned char)buf[got - 1]))
				got--;
			buf[got] = 0;
			r = 0;
		}
		close(fd);
	}
	int e = errno;
	free(p);
	errno = e;
	return r;
}

static char *md_cg_slurp(const struct md_cg_hier *h, const char *dir, const char *file)
{
	char *p = md_asprintf("%s/%s", dir, md_cg_fname(h, file));
	char *s = md_read_file(p, 8u << 20, NULL);
	free(p);
	return s;
}

static int md_cg_has(const struct md_cg_hier *h, const char *dir, const char *file)
{
	char *p = md_asprintf("%s/%s", dir, md_cg_fname(h, file));
	int r = access(p, F_OK) == 0;
	free(p);
	return r;
}

/* A number file; "max" (v2) and v1's "unlimited" page-counter maximum give UINT64_MAX. */
static int md_cg_read_u64(const struct md_cg_hier *h, const char *dir, const char *file, uint64_t *v)
{
	char buf[64];
	if (md_cg_read(h, dir, file, buf, sizeof buf) < 0)
		return -1;
	if (strcmp(buf, "max") == 0) {
		*v = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (end == buf || errno)
		return md_err("%s/%s: not a number: \"%s\"", dir, file, buf);
	*v = x;
	return 0;
}

/* The value of "key N" in a flat-keyed file text (memory.stat, cpu.stat, memory.events). */
static int md_cg_key(const char *text, const char *key, uint64_t *v)
{
	size_t l = strlen(key);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, key, l) == 0 && p[l] == ' ') {
			*v = strtoull(p + l + 1, NULL, 10);
			return 1;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

/* Append the pids in dir/cgroup.procs; a missing dir adds nothing. */
static int md_cg_read_procs(const char *dir, pid_t **v, size_t *n, size_t *cap)
{
	char *p = md_asprintf("%s/cgroup.procs", dir);
	char *s = md_read_file(p, 16u << 20, NULL);
	int r = 0;
	if (!s) {
		if (errno != ENOENT)
			r = -1;
	} else {
		for (char *q = s; *q;) {
			char *end;
			long x = strtol(q, &end, 10);
			if (end == q)
				break;
			if (x > 0) {
				if (*n == *cap) {
					*cap = *cap ? *cap * 2 : 16;
					*v = md_realloc(*v, *cap * sizeof **v);
				}
				(*v)[(*n)++] = (pid_t)x;
			}
			q = end;
		}
	}
	free(s);
	free(p);
	return r;
}

static int md_cg_pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* Every process in any of the dirs, sorted, each once. */
static int md_cg_collect(const struct md_cg_layout *L, char **dirs, pid_t **pids, size_t *n)
{
	size_t cap = 0;
	*pids = NULL;
	*n = 0;
	for (size_t i = 0; i < L->nh; i++)
		if (md_cg_read_procs(dirs[i], pids, n, &cap) < 0) {
			free(*pids);
			*pids = NULL;
			*n = 0;
			return -1;
		}
	if (*n > 1) {
		qsort(*pids, *n, sizeof **pids, md_cg_pid_cmp);
		size_t k = 1;
		for (size_t i = 1; i < *n; i++)
			if ((*pids)[i] != (*pids)[k - 1])
				(*pids)[k++] = (*pids)[i];
		*n = k;
	}
	return 0;
}

static char **md_cg_dirs(const struct md_cg_layout *L, const char *rel)
{
	char **d = md_alloc(MD_CG_MAXH * sizeof *d);
	for (size_t i = 0; i < L->nh; i++)
		d[i] = md_cg_dir(L, i, rel);
	return d;
}

static void md_cg_dirs_free(char **d)
{
	for (size_t i = 0; d && i < MD_CG_MAXH; i++)
		free(d[i]);
	free(d);
}

/* ---- creating directories ---- */

/* v1 cpuset: a new cgroup has no CPUs and no memory nodes; give it its parent's. */
static int md_cg_cpuset_init(const struct md_cg_hier *h, const char *pdir, const char *dir)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t k = 0; k < MD_ARRAY_LEN(files); k++) {
		char cur[4096], par[4096];
		if (md_cg_read(h, dir, files[k], cur, sizeof cur) < 0)
			return -1;
		if (cur[0])
			continue;
		if (md_cg_read(h, pdir, files[k], par, sizeof par) < 0 || md_cg_write(h, dir, files[k], par) < 0)
			return -1;
	}
	return 0;
}

/* v2: enable in dir's cgroup.subtree_control the controllers this hierarchy provides. */
static int md_cg_enable(const struct md_cg_layout *L, size_t i, const char *dir)
{
	const struct md_cg_hier *h = &L->h[i];
	char have[1024];
	if (md_cg_read(h, dir, "cgroup.subtree_control", have, sizeof have) < 0)
		return -1;
	for (int c = 0; c < MD_CG_NCTRL; c++) {
		const char *n = md_cg_ctrl_v2[c];
		if (L->ctrl[c] != (int)i || !n || md_cg_word(have, n))
			continue;
		char v[32];
		snprintf(v, sizeof v, "+%s", n);
		if (md_cg_write(h, dir, "cgroup.subtree_control", v) == 0)
			continue;
		if (errno == EBUSY)
			return md_err(
			        "cannot enable the %s controller in %s/cgroup.subtree_control: %s (cgroup v2 lets only "
			        "leaf cgroups hold processes, and this one holds some)",
			        n, dir, strerror(EBUSY));
		if (errno == ENOENT)
			return md_err(
			        "cannot enable the %s controller in %s/cgroup.subtree_control: %s (it is not in that "
			        "cgroup's cgroup.controllers)",
			        n, dir, strerror(errno));
		if (errno == EINVAL && c == MD_CG_C_CPU)
			return md_err("cannot enable the cpu controller in %s/cgroup.subtree_control: %s (a realtime "
			              "process in that cgroup keeps it off when the kernel has CONFIG_RT_GROUP_SCHED)",
			              dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* mkdir -p of rel in hierarchy i, recording what it made in created. */
static int md_cg_mkdirs(const struct md_cg_layout *L, size_t i, const char *rel, struct md_strv *created)
{
	const struct md_cg_hier *h = &L->h[i];
	struct md_sb path = {0};
	md_sb_puts(&path, h->mnt);
	int r = 0;
	for (const char *p = rel; *p && r == 0;) {
		size_t l = strcspn(p, "/");
		char *pdir = md_strdup(md_sb_str(&path));
		if (h->v2)
			r = md_cg_enable(L, i, pdir);
		md_sb_putc(&path, '/');
		md_sb_putn(&path, p, l);
		const char *d = md_sb_str(&path);
		if (r == 0) {
			if (mkdir(d, 0755) == 0)
				md_strv_push(created, d);
			else if (errno != EEXIST)
				r = md_errno("create cgroup %s", d);
		}
		if (r == 0 && !h->v2 && md_cg_word(h->opts, "cpuset"))
			r = md_cg_cpuset_init(h, pdir, d);
		free(pdir);
		p += l;
		p += strspn(p, "/");
	}
	md_sb_free(&path);
	return r;
}

/* ---- limits ---- */

#define MD_CG_MIN_MEMORY (6 * 1024 * 1024) /* Docker's minimum */

static int md_cg_check(const struct md_cg_layout *L, const struct md_cg_limits *l, int upd)
{
	char why[512];
	if (l->memory > 0 && l->memory < MD_CG_MIN_MEMORY)
		return md_err("memory limit %" PRId64 " bytes is too low: Minimum memory limit allowed is 6MB",
		              l->memory);
	if (l->memory > 0 && l->memory_swap > 0 && l->memory_swap < l->memory)
		return md_err("memory+swap limit %" PRId64 " is below the memory limit %" PRId64
		              ": Minimum memoryswap limit should be larger than memory limit",
		              l->memory_swap, l->memory);
	if (!upd && l->memory <= 0 && l->memory_swap > 0)
		return md_err("memory+swap limit %" PRId64 " without a memory limit: You should always set the Memory "
		              "limit when using Memoryswap limit",
		              l->memory_swap);
	if (l->cpu_quota > 0 && l->cpu_quota < 1000)
		return md_err("CPU quota %" PRId64 " us: CPU cfs quota can not be less than 1ms (i.e. 1000)",
		              l->cpu_quota);
	if (l->cpu_period && (l->cpu_period < 1000 || l->cpu_period > 1000000))
		return md_err("CPU period %" PRId64
		              " us: CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
		              "than 1s (i.e. 1000000)",
		              l->cpu_period);
	if (l->cpu_shares < 0)
		return md_err("CPU shares %" PRId64 " is negative", l->cpu_shares);
	for (size_t k = 0; k < l->ndevs; k++) {
		const struct md_cg_dev *d = &l->devs[k];
		if ((d->type != 'a' && d->type != 'b' && d->type != 'c') || !memchr(d->access, 0, sizeof d->access) ||
		    !d->access[0] ||
		    strspn(d->access, "rwm") != strlen(d->access) || d->major < -1 || d->minor < -1 ||
		    d->major > INT32_MAX || d->minor > INT32_MAX)
			return md_err("invalid device cgroup rule %zu: type '%c' %" PRId64 ":%" PRId64 " \"%.4s\"", k,
			              d->type ? d->type : '?', d->major, d->minor, d->access);
	}
	struct {
		int need, c;
		const char *what;
	} need[] = {
	        {l->memory != 0 || (l->memory_swap != 0 && upd), MD_CG_C_MEMORY, "memory limit"},
	        {(l->cpu_shares > 0 && l->cpu_shares != 1024) || l->cpu_quota || l->cpu_period, MD_CG_C_CPU,
	         "CPU limits"},
	        {l->cpuset_cpus[0] || l->cpuset_mems[0], MD_CG_C_CPUSET, "cpuset"},
	        {l->pids > 0 || (upd && l->pids < 0), MD_CG_C_PIDS, "pids limit"},
	        {!upd && !l->devices_allow_all, MD_CG_C_DEVICES, "device restrictions"},
	};
	for (size_t k = 0; k < MD_ARRAY_LEN(need); k++)
		if (need[k].need && L->ctrl[need[k].c] < 0)
			return md_err("cannot apply the %s: %s", need[k].what,
			              md_cg_missing(L, need[k].c, why, sizeof why));
	return 0;
}

static int md_cg_memory(const struct md_cg_hier *h, const char *dir, const struct md_cg_limits *l, int upd)
{
	int64_t mem = l->memory, memsw = 0; /* memsw: memory+swap, -1 unlimited, 0 leave alone */
	if (l->memory_swap < 0)
		memsw = -1;
	else if (l->memory_swap > 0)
		memsw = l->memory_swap;
	else if (!upd && mem > 0)
		memsw = 2 * mem; /* Docker: as much swap as memory */
	if (!mem && !memsw)
		return 0;
	const char *swfile = h->v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
	if (memsw && !md_cg_has(h, dir, swfile)) {
		if (memsw > 0)
			md_warn("Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
			        "Memory limited without swap. (no %s)",
			        swfile);
		memsw = 0;
	}
	char mv[32], sv[32];
	snprintf(mv, sizeof mv, "%" PRId64, mem > 0 ? mem : -1);
	if (h->v2) {
		if (mem && md_cg_write(h, dir, "memory.max", mem > 0 ? mv : "max") < 0)
			return -1;
		if (!memsw)
			return 0;
		if (memsw < 0)
			return md_cg_write(h, dir, swfile, "max");
		uint64_t base = (uint64_t)mem;
		if (mem <= 0 && md_cg_read_u64(h, dir, "memory.max", &base) < 0)
			return -1;
		if (base == UINT64_MAX || (uint64_t)memsw < base)
			return md_err("memory+swap limit %" PRId64
			              " needs a memory limit at or below it (memory.max is %s)",
			              memsw, mv);
		snprintf(sv, sizeof sv, "%" PRIu64, (uint64_t)memsw - base);
		return md_cg_write(h, dir, swfile, sv);
	}
	/* v1: memsw must stay >= memory at every step, so the order depends on the direction */
	snprintf(sv, sizeof sv, "%" PRId64, memsw);
	int swap_first = 0;
	if (memsw && mem) {
		uint64_t cur = 0;
		if (md_cg_read_u64(h, dir, "memory.limit_in_bytes", &cur) < 0)
			return -1;
		swap_first = memsw < 0 || cur < (uint64_t)memsw;
	}
	if (memsw && swap_first && md_cg_write(h, dir, swfile, sv) < 0)
		return -1;
	if (mem && md_cg_write(h, dir, "memory.limit_in_bytes", mv) < 0) {
		int e = errno;
		uint64_t use = 0;
		if (e == EBUSY && md_cg_read_u64(h, dir, "memory.usage_in_bytes", &use) == 0)
			return md_err(
			        "cannot set the memory limit to %s bytes (%s/memory.limit_in_bytes): its processes "
			        "use %" PRIu64 " bytes and the kernel could not reclaim enough",
			        mv, dir, use);
		if (e == EINVAL && !memsw)
			return md_err(
			        "cannot set the memory limit to %s bytes (%s/memory.limit_in_bytes): it is above the "
			        "memory+swap limit; set --memory-swap too",
			        mv, dir);
		return -1;
	}
	if (memsw && !swap_first && md_cg_write(h, dir, swfile, sv) < 0)
		return -1;
	return 0;
}

static int md_cg_cpu(const struct md_cg_hier *h, const char *dir, const struct md_cg_limits *l)
{
	char v[64], p[32];
	if (l->cpu_shares > 0) {
		if (h->v2) {
			/* crun's and runc's conversion: [2, 262144] onto [1, 10000] */
			int64_t s = l->cpu_shares < 2 ? 2 : l->cpu_shares > 262144 ? 262144 : l->cpu_shares;
			snprintf(v, sizeof v, "%" PRId64, 1 + ((s - 2) * 9999) / 262142);
			if (md_cg_write(h, dir, "cpu.weight", v) < 0)
				return -1;
		} else {
			snprintf(v, sizeof v, "%" PRId64, l->cpu_shares);
			if (md_cg_write(h, dir, "cpu.shares", v) < 0)
				return -1;
		}
	}
	if (!l->cpu_quota && !l->cpu_period)
		return 0;
	if (h->v2) {
		char cur[64] = "max 100000", q[32] = "max";
		long long cp = 100000;
		md_cg_read(h, dir, "cpu.max", cur, sizeof cur);
		const char *w = md_scan_word(cur, q, sizeof q);
		if (!w)
			snprintf(q, sizeof q, "max");
		else
			md_scan_i64(w, &cp);
		int64_t period = l->cpu_period ? l->cpu_period : cp;
		if (l->cpu_quota > 0)
			snprintf(v, sizeof v, "%" PRId64 " %" PRId64, l->cpu_quota, period);
		else if (l->cpu_quota < 0)
			snprintf(v, sizeof v, "max %" PRId64, period);
		else
			snprintf(v, sizeof v, "%s %" PRId64, q, period);
		return md_cg_write(h, dir, "cpu.max", v);
	}
	snprintf(v, sizeof v, "%" PRId64, l->cpu_quota > 0 ? l->cpu_quota : -1);
	snprintf(p, sizeof p, "%" PRId64, l->cpu_period);
	int quota_done = 0;
	if (l->cpu_period && md_cg_write(h, dir, "cpu.cfs_period_us", p) < 0) {
		/* the current quota may not fit the new period: quota first, then period */
		if (errno != EINVAL || !l->cpu_quota || md_cg_write(h, dir, "cpu.cfs_quota_us", v) < 0 ||
		    md_cg_write(h, dir, "cpu.cfs_period_us", p) < 0)
			return -1;
		quota_done = 1;
	}
	if (l->cpu_quota && !quota_done)
		return md_cg_write(h, dir, "cpu.cfs_quota_us", v);
	return 0;
}

static int md_cg_cpuset(const struct md_cg_hier *h, const char *dir, const struct md_cg_limits *l)
{
	const char *files[2] = {"cpuset.cpus", "cpuset.mems"}, *vals[2] = {l->cpuset_cpus, l->cpuset_mems};
	for (int k = 0; k < 2; k++) {
		if (!vals[k][0] || md_cg_write(h, dir, files[k], vals[k]) == 0)
			continue;
		int e = errno;
		if (e != EINVAL && e != ERANGE && e != ENOSPC)
			return -1;
		char avail[4096] = "?";
		char *pdir = md_dirname(dir);
		if (h->v2) {
			snprintf(avail, sizeof avail, "?");
			char f[32];
			snprintf(f, sizeof f, "%s.effective", files[k]);
			md_cg_read(h, pdir, f, avail, sizeof avail);
		} else {
			md_cg_read(h, pdir, files[k], avail, sizeof avail);
		}
		free(pdir);
		return md_err("cannot use %s \"%s\" (%s/%s): %s; the ones available are %s",
		              k ? "memory nodes" : "CPUs", vals[k], dir, md_cg_fname(h, files[k]), strerror(e), avail);
	}
	return 0;
}

/* Device rule as v1's devices.allow takes it; 'a' with numbers or fewer rights becomes a c and a b rule. */
static void md_cg_dev_fmt(const struct md_cg_dev *d, char type, char *buf, size_t n)
{
	char ma[24] = "*", mi[24] = "*";
	if (d->major >= 0)
		snprintf(ma, sizeof ma, "%" PRId64, d->major);
	if (d->minor >= 0)
		snprintf(mi, sizeof mi, "%" PRId64, d->minor);
	snprintf(buf, n, "%c %s:%s %.3s", type, ma, mi, d->access);
}

static int md_cg_acc_bits(const char *a)
{
	/* BPF_DEVCG_ACC_MKNOD 1, _READ 2, _WRITE 4 */
	return (strchr(a, 'm') ? 1 : 0) | (strchr(a, 'r') ? 2 : 0) | (strchr(a, 'w') ? 4 : 0);
}

static int md_cg_devices_v1(const struct md_cg_hier *h, const char *dir, const struct md_cg_limits *l)
{
	if (l->devices_allow_all)
		return md_cg_write(h, dir, "devices.allow", "a");
	if (md_cg_write(h, dir, "devices.deny", "a") < 0)
		return -1;
	for (size_t k = 0; k < l->ndevs; k++) {
		const struct md_cg_dev *d = &l->devs[k];
		char rule[80];
		if (d->type == 'a' && d->major < 0 && d->minor < 0 && md_cg_acc_bits(d->access) == 7) {
			if (md_cg_write(h, dir, "devices.allow", "a") < 0)
				return -1;
			continue;
		}
		for (const char *t = d->type == 'a' ? "cb" : (d->type == 'c' ? "c" : "b"); *t; t++) {
			md_cg_dev_fmt(d, *t, rule, sizeof rule);
			if (md_cg_write(h, dir, "devices.allow", rule) < 0)
				return -1;
		}
	}
	return 0;
}

/* ---- the cgroup v2 device filter ---- */

/*
 * cgroup v2 has no devices files: a BPF_PROG_TYPE_CGROUP_DEVICE program
 * attached to the cgroup decides each open and mknod, as runc and crun do.
 * It sees struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 |
 * type), major, minor } and returns 1 to allow.  Instructions, constants and
 * bpf_attr are spelled out here so no kernel headers (missing for musl) and
 * no libbpf are needed.  The program calls no helpers, so the license string
 * does not matter to the kernel; minidock's own is given.
 */
struct md_bpf_insn {
	uint8_t code;
	uint8_t dst : 4, src : 4; /* as the kernel's struct bpf_insn, so big-endian works too */
	int16_t off;
	int32_t imm;
};

#define MD_BPF_LDXW 0x61   /* dst = *(u32 *)(src + off) */
#define MD_BPF_AND32K 0x54 /* dst = (u32)dst & imm */
#define MD_BPF_RSH32K 0x74 /* dst = (u32)dst >> imm */
#define MD_BPF_MOV64X 0xbf /* dst = src */
#define MD_BPF_MOV64K 0xb7 /* dst = imm */
#define MD_BPF_JNEK 0x55   /* if dst != imm goto pc + off */
#define MD_BPF_JNEX 0x5d   /* if dst != src goto pc + off */
#define MD_BPF_EXIT 0x95

#define MD_BPF_PROG_LOAD 5
#define MD_BPF_PROG_ATTACH 8
#define MD_BPF_PROG_TYPE_CGROUP_DEVICE 15
#define MD_BPF_CGROUP_DEVICE 6
#define MD_BPF_F_ALLOW_MULTI 2

union md_bpf_attr {
	struct {
		uint32_t prog_type, insn_cnt;
		uint64_t insns __attribute__((aligned(8)));
		uint64_t license __attribute__((aligned(8)));
		uint32_t log_level, log_size;
		uint64_t log_buf __attribute__((aligned(8)));
		uint32_t kern_version, prog_flags;
		char prog_name[16];
	} load;
	struct {
		uint32_t target_fd, attach_bpf_fd, attach_type, attach_flags;
	} attach;
	char pad[128];
};

static struct md_bpf_insn md_bpf_i(uint8_t code, int dst, int src, int off, int32_t imm)
{
	struct md_bpf_insn i = {
	        .code = code, .dst = (uint8_t)dst, .src = (uint8_t)src, .off = (int16_t)off, .imm = imm};
	return i;
}

/* The program for an allowlist; out holds 8 + 8 * n instructions; returns how many it wrote. */
static size_t md_cg_bpf_build(const struct md_cg_dev *d, size_t n, struct md_bpf_insn *out)
{
	size_t k = 0;
	out[k++] = md_bpf_i(MD_BPF_LDXW, 2, 1, 0, 0); /* r2 = type */
	out[k++] = md_bpf_i(MD_BPF_AND32K, 2, 0, 0, 0xffff);
	out[k++] = md_bpf_i(MD_BPF_LDXW, 3, 1, 0, 0); /* r3 = access */
	out[k++] = md_bpf_i(MD_BPF_RSH32K, 3, 0, 0, 16);
	out[k++] = md_bpf_i(MD_BPF_LDXW, 4, 1, 4, 0); /* r4 = major */
	out[k++] = md_bpf_i(MD_BPF_LDXW, 5, 1, 8, 0); /* r5 = minor */
	for (size_t i = 0; i < n; i++) {
		size_t start = k;
		int acc = md_cg_acc_bits(d[i].access), cond = 0;
		if (d[i].type != 'a')
			out[k++] = md_bpf_i(MD_BPF_JNEK, 2, 0, -1, d[i].type == 'c' ? 2 : 1), cond = 1;
		if (acc != 7) { /* the access asked for must be a subset of the rule's */
			out[k++] = md_bpf_i(MD_BPF_MOV64X, 1, 3, 0, 0);
			out[k++] = md_bpf_i(MD_BPF_AND32K, 1, 0, 0, acc);
			out[k++] = md_bpf_i(MD_BPF_JNEX, 1, 3, -1, 0), cond = 1;
		}
		if (d[i].major >= 0)
			out[k++] = md_bpf_i(MD_BPF_JNEK, 4, 0, -1, (int32_t)d[i].major), cond = 1;
		if (d[i].minor >= 0)
			out[k++] = md_bpf_i(MD_BPF_JNEK, 5, 0, -1, (int32_t)d[i].minor), cond = 1;
		out[k++] = md_bpf_i(MD_BPF_MOV64K, 0, 0, 0, 1);
		out[k++] = md_bpf_i(MD_BPF_EXIT, 0, 0, 0, 0);
		if (!cond) /* allows everything: what follows is unreachable, which the verifier refuses */
			return k;
		for (size_t j = start; j < k; j++) /* "next rule" jumps land after this block */
			if ((out[j].code == MD_BPF_JNEK || out[j].code == MD_BPF_JNEX) && out[j].off == -1)
				out[j].off = (int16_t)(k - j - 1);
	}
	out[k++] = md_bpf_i(MD_BPF_MOV64K, 0, 0, 0, 0);
	out[k++] = md_bpf_i(MD_BPF_EXIT, 0, 0, 0, 0);
	return k;
}

static int md_cg_bpf(int cmd, union md_bpf_attr *a)
{
#ifdef SYS_bpf
	return (int)syscall(SYS_bpf, cmd, a, sizeof *a);
#else
	(void)cmd, (void)a;
	errno = ENOSYS;
	return -1;
#endif
}

/* Load the device filter for an allowlist; returns its fd, or -1 after md_err(). */
static int md_cg_bpf_load(const struct md_cg_dev *d, size_t n)
{
	struct md_bpf_insn *ins = md_alloc((8 + 8 * n) * sizeof *ins);
	size_t cnt = md_cg_bpf_build(d, n, ins);
	static char vlog[4096];
	union md_bpf_attr a;
	memset(&a, 0, sizeof a);
	a.load.prog_type = MD_BPF_PROG_TYPE_CGROUP_DEVICE;
	a.load.insn_cnt = (uint32_t)cnt;
	a.load.insns = (uint64_t)(uintptr_t)ins;
	a.load.license = (uint64_t)(uintptr_t) "MIT";
	snprintf(a.load.prog_name, sizeof a.load.prog_name, "minidock_dev");
	int fd = md_cg_bpf(MD_BPF_PROG_LOAD, &a);
	if (fd < 0 && errno == EPERM) {
		/* kernels before 5.11 charge BPF programs to RLIMIT_MEMLOCK */
		struct rlimit old, inf = {RLIM_INFINITY, RLIM_INFINITY};
		if (getrlimit(RLIMIT_MEMLOCK, &old) == 0 && setrlimit(RLIMIT_MEMLOCK, &inf) == 0) {
			fd = md_cg_bpf(MD_BPF_PROG_LOAD, &a);
			int e = errno;
			setrlimit(RLIMIT_MEMLOCK, &old);
			errno = e;
		}
	}
	if (fd < 0 && (errno == EINVAL || errno == EACCES)) { /* again, for the verifier's reason */
		int e = errno;
		vlog[0] = 0;
		a.load.log_level = 1;
		a.load.log_size = sizeof vlog;
		a.load.log_buf = (uint64_t)(uintptr_t)vlog;
		fd = md_cg_bpf(MD_BPF_PROG_LOAD, &a);
		if (fd < 0) {
			size_t l = strlen(vlog);
			while (l && vlog[l - 1] == '\n')
				vlog[--l] = 0;
			const char *last = strrchr(vlog, '\n');
			errno = e;
			md_err("the kernel refused the cgroup v2 device filter (bpf BPF_PROG_LOAD of a "
			       "BPF_PROG_TYPE_CGROUP_DEVICE program, %zu instructions): %s%s%s",
			       cnt, strerror(e), vlog[0] ? ": " : "", last ? last + 1 : vlog);
		}
	} else if (fd < 0) {
		md_errno("cannot load the cgroup v2 device filter (bpf BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE; the "
		         "kernel needs CONFIG_BPF_SYSCALL and CONFIG_CGROUP_BPF to restrict devices on cgroup v2)");
	}
	free(ins);
	return fd;
}

static int md_cg_bpf_attach(const char *dir, int prog)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return md_errno("open %s", dir);
	union md_bpf_attr a;
	memset(&a, 0, sizeof a);
	a.attach.target_fd = (uint32_t)dfd;
	a.attach.attach_bpf_fd = (uint32_t)prog;
	a.attach.attach_type = MD_BPF_CGROUP_DEVICE;
	a.attach.attach_flags = MD_BPF_F_ALLOW_MULTI;
	int r = md_cg_bpf(MD_BPF_PROG_ATTACH, &a);
	if (r < 0)
		md_errno("cannot attach the device filter to %s (bpf BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, "
		         "BPF_F_ALLOW_MULTI)",
		         dir);
	close(dfd);
	return r < 0 ? -1 : 0;
}

static int md_cg_devices_v2(const char *dir, const struct md_cg_limits *l)
{
	if (l->devices_allow_all)
		return 0;
	int fd = md_cg_bpf_load(l->devs, l->ndevs);
	if (fd < 0)
		return -1;
	int r = md_cg_bpf_attach(dir, fd); /* the attachment keeps the program alive */
	close(fd);
	return r;
}

/* Docker's default allowlist (runc's AllowedDevices plus Docker's own /dev/console);
   copies at most max rules and returns how many there are. */
static MD_UNUSED size_t md_cg_default_devices(struct md_cg_dev *out, size_t max)
{
	static const struct md_cg_dev def[] = {
	        {'c', -1, -1, "m"},    {'b', -1, -1, "m"}, /* mknod of any device; using it needs a rule */
	        {'c', 1, 3, "rwm"},                        /* null */
	        {'c', 1, 5, "rwm"},                        /* zero */
	        {'c', 1, 7, "rwm"},                        /* full */
	        {'c', 1, 8, "rwm"},                        /* random */
	        {'c', 1, 9, "rwm"},                        /* urandom */
	        {'c', 5, 0, "rwm"},                        /* tty */
	        {'c', 5, 1, "rwm"},                        /* console */
	        {'c', 5, 2, "rwm"},                        /* ptmx */
	        {'c', 136, -1, "rwm"},                     /* pts/N */
	        {'c', 10, 200, "rwm"},                     /* net/tun */
	};
	for (size_t i = 0; i < max && i < MD_ARRAY_LEN(def); i++)
		out[i] = def[i];
	return MD_ARRAY_LEN(def);
}

static int md_cg_apply(const struct md_cg_layout *L, const char *rel, const struct md_cg_limits *l, int upd)
{
	int r = 0;
	for (int c = 0; c < MD_CG_NCTRL && r == 0; c++) {
		int i = L->ctrl[c];
		if (i < 0)
			continue;
		const struct md_cg_hier *h = &L->h[i];
		char *dir = md_cg_dir(L, (size_t)i, rel);
		switch (c) {
		case MD_CG_C_MEMORY:
			r = md_cg_memory(h, dir, l, upd);
			break;
		case MD_CG_C_CPU:
			r = md_cg_cpu(h, dir, l);
			break;
		case MD_CG_C_CPUSET:
			r = md_cg_cpuset(h, dir, l);
			break;
		case MD_CG_C_PIDS:
			if (l->pids > 0 || (upd && l->pids < 0)) {
				char v[32];
				snprintf(v, sizeof v, "%" PRId64, l->pids);
				r = md_cg_write(h, dir, "pids.max", l->pids > 0 ? v : "max");
			}
			break;
		case MD_CG_C_DEVICES: /* set once; `update` leaves devices alone, as Docker's does */
			if (!upd)
				r = h->v2 ? md_cg_devices_v2(dir, l) : md_cg_devices_v1(h, dir, l);
			break;
		}
		free(dir);
	}
	return r;
}

/* ---- the API ---- */

static MD_UNUSED int md_cg_create(const char *parent, const char *name, const struct md_cg_limits *lim)
{
	struct md_cg_layout *L = md_cg_layout();
	if (L->mode == MD_CG_NONE)
		return md_err("no cgroup hierarchy is mounted (no cgroup or cgroup2 in /proc/self/mountinfo)");
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	struct md_strv created = {0};
	int r = md_cg_check(L, lim, 0);
	for (size_t i = 0; i < L->nh && r == 0; i++) {
		size_t before = created.n;
		if (md_cg_mkdirs(L, i, rel, &created) < 0) {
			if (md_cg_required(L, i))
				r = -1;
			else /* a hierarchy minidock only joins: undo and go on */
				while (created.n > before) {
					rmdir(created.v[--created.n]);
					free(created.v[created.n]);
					created.v[created.n] = NULL;
				}
		}
	}
	if (r == 0)
		r = md_cg_apply(L, rel, lim, 0);
	if (r < 0) {
		md_err_wrap("cgroup %s", rel);
		for (size_t k = created.n; k-- > 0;)
			rmdir(created.v[k]);
	}
	md_strv_free(&created);
	free(rel);
	return r;
}

static MD_UNUSED int md_cg_update(const char *parent, const char *name, const struct md_cg_limits *lim)
{
	struct md_cg_layout *L = md_cg_layout();
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	int r = md_cg_check(L, lim, 1);
	for (size_t i = 0; i < L->nh && r == 0; i++) {
		char *d = md_cg_dir(L, i, rel);
		if (md_cg_required(L, i) && !md_path_exists(d))
			r = md_err("cgroup %s does not exist", d);
		free(d);
	}
	if (r == 0 && md_cg_apply(L, rel, lim, 1) < 0)
		r = md_err_wrap("update cgroup %s", rel);
	free(rel);
	return r;
}

static MD_UNUSED int md_cg_attach(const char *parent, const char *name, pid_t pid)
{
	struct md_cg_layout *L = md_cg_layout();
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	int r = 0;
	for (size_t i = 0; i < L->nh && r == 0; i++) {
		int req = md_cg_required(L, i);
		char *d = md_cg_dir(L, i, rel);
		if (!md_path_exists(d)) {
			if (req)
				r = md_err("cannot move process %d into cgroup %s: it does not exist", (int)pid, d);
		} else if (md_cg_write(&L->h[i], d, "cgroup.procs", v) < 0 && req) {
			int e = errno;
			r = -1;
			if (e == ENOSPC && !L->h[i].v2)
				md_err("cannot move process %d into %s: %s (its cpuset.cpus or cpuset.mems is empty)",
				       (int)pid, d, strerror(e));
			else if (e == EBUSY && L->h[i].v2)
				md_err("cannot move process %d into %s: %s (cgroup v2 puts processes only in leaf "
				       "cgroups)",
				       (int)pid, d, strerror(e));
		}
		free(d);
	}
	free(rel);
	return r;
}

/* Freeze or thaw one directory and wait until the state settles (at most ms). */
static int md_cg_freeze_dir(const struct md_cg_hier *h, const char *dir, int frozen, int ms)
{
	int64_t deadline = md_cg_now_ms() + ms;
	char st[256];
	if (h->v2) {
		if (md_cg_write(h, dir, "cgroup.freeze", frozen ? "1" : "0") < 0) {
			if (errno == ENOENT)
				return md_err("cannot freeze %s: no cgroup.freeze (cgroup v2 freezing needs Linux 5.2)",
				              dir);
			return -1;
		}
		for (int k = 0;; k++) {
			char *ev = md_cg_slurp(h, dir, "cgroup.events");
			uint64_t f = 2;
			if (!ev)
				return -1;
			md_cg_key(ev, "frozen", &f);
			free(ev);
			if (f == (uint64_t)(frozen ? 1 : 0))
				return 0;
			if (md_cg_now_ms() > deadline) {
				if (frozen)
					md_cg_write(h, dir, "cgroup.freeze", "0");
				return md_err(
				        "cgroup %s did not become %s within %d ms (cgroup.events says frozen %" PRIu64
				        ")",
				        dir, frozen ? "frozen" : "thawed", ms, f);
			}
			md_cg_sleep_ms(k < 10 ? 1 : 10);
		}
	}
	const char *want = frozen ? "FROZEN" : "THAWED";
	for (int k = 0;; k++) {
		/* runc's workaround: a group can stick in FREEZING while a task forks; thaw and retry */
		if (frozen && k % 50 == 49) {
			md_cg_write(h, dir, "freezer.state", "THAWED");
			md_cg_sleep_ms(10);
		}
		if (md_cg_write(h, dir, "freezer.state", want) < 0 ||
		    md_cg_read(h, dir, "freezer.state", st, sizeof st) < 0)
			return -1;
		if (strcmp(st, want) == 0)
			return 0;
		if (md_cg_now_ms() > deadline) {
			if (frozen)
				md_cg_write(h, dir, "freezer.state", "THAWED");
			return md_err("cgroup %s/freezer.state stayed %s instead of %s for %d ms", dir, st, want, ms);
		}
		md_cg_sleep_ms(k < 10 ? 1 : 10);
	}
}

static MD_UNUSED int md_cg_freeze(const char *parent, const char *name, int frozen)
{
	struct md_cg_layout *L = md_cg_layout();
	char why[512];
	int i = L->ctrl[MD_CG_C_FREEZER];
	if (i < 0)
		return md_err("cannot %s: %s", frozen ? "pause" : "unpause",
		              md_cg_missing(L, MD_CG_C_FREEZER, why, sizeof why));
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	char *d = md_cg_dir(L, (size_t)i, rel);
	int r = md_path_exists(d) ? md_cg_freeze_dir(&L->h[i], d, frozen, MD_CG_WAIT_MS)
	                          : md_err("cgroup %s does not exist", d);
	free(d);
	free(rel);
	return r;
}

static MD_UNUSED int md_cg_pids(const char *parent, const char *name, pid_t **pids, size_t *n)
{
	struct md_cg_layout *L = md_cg_layout();
	*pids = NULL;
	*n = 0;
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	char **dirs = md_cg_dirs(L, rel);
	int r = md_cg_collect(L, dirs, pids, n);
	md_cg_dirs_free(dirs);
	free(rel);
	return r;
}

static MD_UNUSED int md_cg_stats(const char *parent, const char *name, struct md_cg_stats *st)
{
	struct md_cg_layout *L = md_cg_layout();
	memset(st, 0, sizeof *st);
	st->pids_limit = -1;
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	char **dirs = md_cg_dirs(L, rel);
	int any = 0, r = 0;
	for (size_t i = 0; i < L->nh; i++)
		any |= md_cg_required(L, i) && md_path_exists(dirs[i]);
	if (!any) {
		r = md_err("cgroup %s does not exist", rel);
		goto out;
	}
	int i;
	if ((i = L->ctrl[MD_CG_C_MEMORY]) >= 0) {
		const struct md_cg_hier *h = &L->h[i];
		const char *d = dirs[i];
		int v2 = h->v2;
		uint64_t lim = UINT64_MAX, v = 0;
		md_cg_read_u64(h, d, v2 ? "memory.current" : "memory.usage_in_bytes", &st->mem_usage);
		md_cg_read_u64(h, d, v2 ? "memory.max" : "memory.limit_in_bytes", &lim);
		char *s = md_cg_slurp(h, d, "memory.stat");
		if (s && (md_cg_key(s, v2 ? "file" : "total_cache", &v) || md_cg_key(s, "cache", &v)))
			st->mem_cache = v;
		free(s);
		s = md_cg_slurp(h, d, v2 ? "memory.events" : "memory.oom_control");
		if (s && md_cg_key(s, "oom_kill", &v))
			st->oom_kills = (int)v;
		free(s);
		struct sysinfo si; /* unlimited shows as the host's memory, as in Docker */
		uint64_t ram = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : UINT64_MAX;
		st->mem_limit = lim < ram ? lim : ram;
	}
	if ((i = L->ctrl[MD_CG_C_CPUACCT]) >= 0) {
		const struct md_cg_hier *h = &L->h[i];
		if (!h->v2) {
			md_cg_read_u64(h, dirs[i], "cpuacct.usage", &st->cpu_usage_ns);
		} else {
			char *s = md_cg_slurp(h, dirs[i], "cpu.stat");
			uint64_t us = 0;
			if (s && md_cg_key(s, "usage_usec", &us))
				st->cpu_usage_ns = us * 1000;
			free(s);
		}
	}
	if ((i = L->ctrl[MD_CG_C_PIDS]) >= 0) {
		uint64_t v = UINT64_MAX;
		md_cg_read_u64(&L->h[i], dirs[i], "pids.current", &st->pids_current);
		if (md_cg_read_u64(&L->h[i], dirs[i], "pids.max", &v) == 0 && v != UINT64_MAX)
			st->pids_limit = (int64_t)v;
	} else {
		pid_t *p;
		size_t n;
		if (md_cg_collect(L, dirs, &p, &n) == 0)
			st->pids_current = n;
		free(p);
	}
	if ((i = L->ctrl[MD_CG_C_BLKIO]) >= 0) {
		const struct md_cg_hier *h = &L->h[i];
		if (h->v2) { /* io.stat: "8:0 rbytes=N wbytes=N rios=..." per device */
			char *s = md_cg_slurp(h, dirs[i], "io.stat");
			for (char *q = s; q && (q = strstr(q, "bytes="));) {
				uint64_t v = strtoull(q + 6, NULL, 10);
				if (q > s && q[-1] == 'r')
					st->blk_read += v;
				else if (q > s && q[-1] == 'w')
					st->blk_write += v;
				q += 6;
			}
			free(s);
		} else { /* "8:0 Read N" lines; the throttle files count all I/O */
			static const char *const files[] = {"blkio.throttle.io_service_bytes_recursive",
			                                    "blkio.throttle.io_service_bytes",
			                                    "blkio.io_service_bytes_recursive"};
			char *s = NULL;
			for (size_t k = 0; !s && k < MD_ARRAY_LEN(files); k++)
				s = md_cg_slurp(h, dirs[i], files[k]);
			for (char *q = s; q && *q;) {
				char dev[32], op[16];
				unsigned long long v;
				if (md_scan_u64(md_scan_word(md_scan_word(q, dev, sizeof dev), op, sizeof op), &v, 10)) {
					if (strcmp(op, "Read") == 0)
						st->blk_read += v;
					else if (strcmp(op, "Write") == 0)
						st->blk_write += v;
				}
				q = strchr(q, '\n');
				if (q)
					q++;
			}
			free(s);
		}
	}
out:
	md_cg_dirs_free(dirs);
	free(rel);
	return r;
}

/*
 * 1 if the kernel OOM-killed a process in the cgroup, 0 if not (or if no
 * memory controller can tell), -1 if the cgroup is gone: ask before
 * md_cg_destroy().  v2: memory.events oom_kill.  v1: memory.oom_control's
 * oom_kill counter (Linux 4.13+); on older kernels a guess: the group hit
 * its limit (memory.failcnt > 0) and its peak usage reached the limit
 * (within a page).  The guess says 1 for a group that hit its limit and
 * survived by reclaiming, so callers should also see the process die by
 * SIGKILL before reporting OOMKilled.
 */
static MD_UNUSED int md_cg_oom_killed(const char *parent, const char *name)
{
	struct md_cg_layout *L = md_cg_layout();
	int i = L->ctrl[MD_CG_C_MEMORY];
	if (i < 0)
		return 0;
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	const struct md_cg_hier *h = &L->h[i];
	char *d = md_cg_dir(L, (size_t)i, rel);
	int r = 0;
	char *s = md_cg_slurp(h, d, h->v2 ? "memory.events" : "memory.oom_control");
	uint64_t v = 0, fail = 0, peak = 0, lim = 0;
	if (!s)
		r = md_err_wrap("cgroup %s", rel);
	else if (md_cg_key(s, "oom_kill", &v))
		r = v > 0;
	else if (!h->v2 && md_cg_read_u64(h, d, "memory.failcnt", &fail) == 0 &&
	         md_cg_read_u64(h, d, "memory.max_usage_in_bytes", &peak) == 0 &&
	         md_cg_read_u64(h, d, "memory.limit_in_bytes", &lim) == 0)
		r = fail > 0 && peak + 4096 >= lim;
	free(s);
	free(d);
	free(rel);
	return r;
}

/* Does dir have child cgroups?  (rmdir would fail with EBUSY forever.) */
static int md_cg_has_children(const char *dir)
{
	DIR *dd = opendir(dir);
	struct dirent *de;
	int r = 0;
	while (dd && !r && (de = readdir(dd)))
		r = de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (dd)
		closedir(dd);
	return r;
}

/* SIGKILL everything in the dirs until they are empty; freezing first (v1, or v2 before
   cgroup.kill) keeps anything from forking meanwhile. */
static int md_cg_kill_all(const struct md_cg_layout *L, const char *rel, char **dirs)
{
	int fi = L->ctrl[MD_CG_C_FREEZER];
	const struct md_cg_hier *fh = fi >= 0 && md_path_exists(dirs[fi]) ? &L->h[fi] : NULL;
	if (L->uni >= 0 && md_cg_has(&L->h[L->uni], dirs[L->uni], "cgroup.kill")) {
		md_cg_write(&L->h[L->uni], dirs[L->uni], "cgroup.kill", "1"); /* Linux 5.14+: atomic, forks included */
		if (fh && fh->v2)
			fh = NULL;
	}
	int64_t deadline = md_cg_now_ms() + MD_CG_WAIT_MS;
	for (int round = 0;; round++) {
		pid_t *p;
		size_t n;
		if (md_cg_collect(L, dirs, &p, &n) < 0)
			return md_err_wrap("cgroup %s", rel);
		if (!n) {
			free(p);
			return 0;
		}
		if (md_cg_now_ms() > deadline) {
			md_err("cgroup %s still holds %zu processes (%d ...) %d ms after SIGKILL", rel, n, (int)p[0],
			       MD_CG_WAIT_MS);
			free(p);
			return -1;
		}
		int frozen = fh && round < 3 && md_cg_freeze_dir(fh, dirs[fi], 1, 1000) == 0;
		if (frozen) { /* what forked before the freeze took hold */
			free(p);
			md_cg_collect(L, dirs, &p, &n);
		}
		for (size_t k = 0; k < n; k++)
			kill(p[k], SIGKILL);
		free(p);
		if (frozen)
			md_cg_freeze_dir(fh, dirs[fi], 0, 1000);
		md_cg_sleep_ms(round < 10 ? 1 : 10);
	}
}

static MD_UNUSED int md_cg_destroy(const char *parent, const char *name)
{
	struct md_cg_layout *L = md_cg_layout();
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	char **dirs = md_cg_dirs(L, rel);
	int any = 0, r = 0;
	for (size_t i = 0; i < L->nh; i++)
		any |= md_path_exists(dirs[i]);
	if (any)
		r = md_cg_kill_all(L, rel, dirs);
	/* one time budget for all of them, none if the processes would not die */
	int64_t deadline = md_cg_now_ms() + (r == 0 ? MD_CG_WAIT_MS : 0);
	for (size_t i = 0; any && i < L->nh; i++) {
		for (int ms = 1;; ms = ms < 50 ? ms * 2 : 50) {
			if (rmdir(dirs[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY || md_cg_has_children(dirs[i]) || md_cg_now_ms() > deadline) {
				if (r == 0)
					r = md_errno("remove cgroup %s%s", dirs[i],
					             md_cg_has_children(dirs[i]) ? " (it has child cgroups)" : "");
				break;
			}
			md_cg_sleep_ms(ms); /* the kernel finishes tearing down killed tasks */
		}
	}
	md_cg_dirs_free(dirs);
	free(rel);
	return r;
}

static MD_UNUSED int md_cg_mounts(const char *parent, const char *name, struct md_cg_mount **out, size_t *n)
{
	struct md_cg_layout *L = md_cg_layout();
	*out = NULL;
	*n = 0;
	char *rel = md_cg_rel(parent, name);
	if (!rel)
		return -1;
	struct md_cg_mount *m = md_alloc((L->nh ? L->nh : 1) * sizeof *m);
	size_t k = 0;
	int r = 0;
	for (size_t i = 0; i < L->nh && r == 0; i++) {
		char *d = md_cg_dir(L, i, rel);
		if (!md_path_exists(d)) {
			if (md_cg_required(L, i))
				r = md_err("cgroup %s does not exist", d);
		} else if (strlen(d) >= sizeof m->host) {
			r = md_err("cgroup path %s is too long", d);
		} else {
			snprintf(m[k].name, sizeof m[k].name, "%s", L->h[i].name);
			snprintf(m[k].host, sizeof m[k].host, "%s", d);
			snprintf(m[k].opts, sizeof m[k].opts, "%s", L->h[i].opts);
			m[k].v2 = L->h[i].v2;
			k++;
		}
		free(d);
	}
	free(rel);
	if (r < 0) {
		free(m);
		return -1;
	}
	*out = m;
	*n = k;
	return 0;
}

static const char *md_cgroup_parent(void)
{
	const char *p = getenv("MINIDOCK_CGROUP_PARENT");
	return p && *p ? p : MD_DEFAULT_CGROUP_PARENT;
}

/**** 15 containers: records, names, state **********************************/
/*
 * A container is ROOT/containers/ID/ (persistent: config.json in the shape
 * of Docker's create request plus what create resolved, the overlay upper/
 * and work/ dirs, the log) and RUNROOT/containers/ID/ (this boot's: state,
 * host files, lock; while it runs the monitor's lock and attach socket, the
 * rootfs mount point).  The index maps ID -> {image,
 * name} so images in use are known and names are unique.  Whether a
 * container runs is decided by its monitor's lock, never by a pid alone.
 *
 * State by lifetime, so that a start costs the flash nothing: what only
 * matters during this boot lives in RUNROOT/containers/ID/ for every
 * container: state.json (the live state), hosts, hostname, resolv.conf
 * (written at each start), the lock.  The store keeps config.json (written
 * once, at create), the overlay's upper/ and work/, the log and, for a
 * container with a restart policy, an exit record (ROOT/containers/ID/
 * state.json: ended or not, stopped by hand or not: what `boot` needs),
 * written only when that changes.  A volatile container (run --rm: removed
 * when it ends) keeps only its writable layer (upper/, work/) on the store,
 * where a big write cannot fill RAM; its config and log are in the run root
 * too, and its index entry in the run root's index (section 10): it costs
 * the flash no fsync and no record, and after a power cut its layer is an
 * orphan the next sweep removes.  md_ctr_path knows where each file is.
 *
 * May call: sections 01-14.
 */

struct md_ctr {
	char id[65];
	char *name;             /* without the leading '/' */
	struct md_json *cfg;    /* config.json */
	struct md_json *st;     /* state.json */
	int removing;           /* stopped by `rm -f`: no exit record on the store */
};

static char *md_ctr_rpath(const char *id, const char *file)
{
	return file ? md_asprintf("%s/containers/%s/%s", md_store.runroot, id, file)
	            : md_asprintf("%s/containers/%s", md_store.runroot, id);
}

/* Is the container volatile (its record in the run root)? */
static int md_ctr_volatile(const char *id)
{
	char *p = md_ctr_rpath(id, "config.json");
	int v = md_path_exists(p);
	free(p);
	return v;
}

/* What a container's run leaves in the run root goes when it stops; its
 * state and host files stay (and a volatile container's record). */
static void md_ctr_rclean(const char *id)
{
	static const char *const run[] = {"rootfs", "paused", "attach.sock", "monitor.lock"};
	for (size_t i = 0; i < MD_ARRAY_LEN(run); i++) {
		char *p = md_ctr_rpath(id, run[i]);
		if (unlink(p) < 0 && (errno == EISDIR || errno == EPERM))
			rmdir(p);
		free(p);
	}
}

/* A file of the container's record, or (file NULL) its directory on the
 * store: state, host files and lock in the run root; a volatile
 * container's config and log there too; the layer on the store. */
static char *md_ctr_path(const char *id, const char *file)
{
	static const char *const run[] = {"state.json", "hosts", "hostname", "resolv.conf", "lock"};
	int layer = !file || strcmp(file, "upper") == 0 || strcmp(file, "work") == 0 || strcmp(file, "rootfs") == 0, inrun = 0;
	for (size_t i = 0; file && i < MD_ARRAY_LEN(run); i++)
		inrun |= strcmp(file, run[i]) == 0;
	if (inrun || (!layer && md_ctr_volatile(id)))
		return md_ctr_rpath(id, file);
	return file ? md_store_path("containers/%s/%s", id, file) : md_store_path("containers/%s", id);
}

/* The exit record of a container with a restart policy, on the store. */
static char *md_ctr_exit_record(const char *id)
{
	return md_store_path("containers/%s/state.json", id);
}

static void md_ctr_free(struct md_ctr *c)
{
	free(c->name);
	md_json_free(c->cfg);
	md_json_free(c->st);
	memset(c, 0, sizeof *c);
}

/* Find a container by name ("/name" too), full ID or unique ID prefix. */
static int md_ctr_resolve(struct md_json *idx, const char *name, char id[65])
{
	struct md_json *cs = md_json_get(idx, "containers");
	const char *n = name[0] == '/' ? name + 1 : name;
	for (struct md_json *c = cs->child; c; c = c->next)
		if (md_streq(md_json_gets(c, "name"), n)) {
			snprintf(id, 65, "%s", c->key);
			return 0;
		}
	size_t l = strlen(n);
	const char *found = NULL;
	if (l > 0 && l <= 64) {
		for (struct md_json *c = cs->child; c; c = c->next)
			if (strncmp(c->key, n, l) == 0) {
				if (found)
					return md_errk(MD_EK_INVALID, "multiple containers found with ID prefix %s", n);
				found = c->key;
			}
	}
	if (!found)
		return md_errk(MD_EK_NOTFOUND, "No such container: %s", name);
	snprintf(id, 65, "%s", found);
	return 0;
}

static int md_ctr_load(const char *id, struct md_ctr *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	char *p = md_ctr_path(id, "config.json");
	c->cfg = md_json_parse_file(p);
	free(p);
	if (!c->cfg)
		return md_err_wrap("container %.12s", id);
	const char *n = md_json_gets(c->cfg, "Name");
	c->name = md_strdup(n ? (n[0] == '/' ? n + 1 : n) : id);
	/* this boot's state, else the exit record (after a reboot, or a store
	 * from before state by lifetime), else it was never started */
	p = md_ctr_path(id, "state.json");
	if (!md_path_exists(p)) {
		free(p);
		p = md_ctr_exit_record(id);
	}
	c->st = md_path_exists(p) ? md_json_parse_file(p) : NULL;
	free(p);
	if (!c->st) {
		/* no state: never started, or started before this boot, which the
		 * overlay's work/work (made at its first mount) tells, for free */
		char *ww = md_store_path("containers/%s/work/work", id);
		int ran = md_path_exists(ww);
		free(ww);
		c->st = md_json_new(MD_J_OBJ);
		md_json_sets(c->st, "Status", ran ? "exited" : "created");
		if (ran) {
			struct timespec boot;
			clock_gettime(CLOCK_REALTIME, &boot);
			struct timespec up;
			clock_gettime(CLOCK_BOOTTIME, &up);
			boot.tv_sec -= up.tv_sec;
			char t[64];
			md_time_format(t, sizeof t, &boot);
			md_json_seti(c->st, "ExitCode", 255);
			md_json_sets(c->st, "Error", "the machine restarted since the container last ran");
			md_json_sets(c->st, "FinishedAt", t);
			md_json_set(c->st, "Rebooted", md_json_newbool(1));
		}
	}
	return 0;
}

/* What `boot` reads of a state under a restart policy: for on-failure,
 * whether it ended (exited for good, or stopped: no record while it runs,
 * so that a start costs nothing; a container that ran and has no record
 * was running when the machine went down); for unless-stopped, whether it
 * was stopped by hand; for always, nothing (it starts whatever happened). */
static int md_ctr_boot_bits(const struct md_json *st, const char *pol)
{
	const char *s = md_json_gets((struct md_json *)st, "Status");
	if (md_streq(pol, "on-failure"))
		return !(md_streq(s, "running") || md_streq(s, "restarting") || md_streq(s, "paused"));
	if (md_streq(pol, "unless-stopped"))
		return md_json_is(md_json_get((struct md_json *)st, "ManuallyStopped"), MD_J_TRUE);
	return 0;
}

/* Save the state in the run root; for a container with a restart policy,
 * the exit record on the store too when what `boot` reads of it changed
 * (one fsync, the directory not synced: the record is old or new). */
static int md_ctr_save_state(struct md_ctr *c)
{
	char *s = md_json_dump(c->st, 0);
	char *rdir = md_ctr_rpath(c->id, NULL), *p = md_ctr_path(c->id, "state.json");
	int r = md_mkdir_p(rdir, 0700) < 0 ? -1 : md_write_file_atomic(p, s, strlen(s), 0600);
	const char *pol = md_json_gets(md_json_get(md_json_get(c->cfg, "HostConfig"), "RestartPolicy"), "Name");
	if (r == 0 && pol && *pol && strcmp(pol, "no") != 0 && !c->removing && !md_ctr_volatile(c->id)) {
		char *ep = md_ctr_exit_record(c->id);
		struct md_json *old = md_path_exists(ep) ? md_json_parse_file(ep) : NULL;
		int bits = md_ctr_boot_bits(c->st, pol);
		if (old ? md_ctr_boot_bits(old, pol) != bits : bits != 0)
			r = md_write_file_atomic_f(ep, s, strlen(s), 0600, MD_WF_NODIRSYNC);
		md_json_free(old);
		free(ep);
	}
	free(rdir);
	free(p);
	free(s);
	return r;
}

/* The lines every container's /etc/hosts starts with: localhost, then
 * --add-host's. */
static void md_hosts_base(struct md_sb *b, const struct md_json *hc)
{
	md_sb_puts(b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
	              "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
	struct md_json *eh = md_json_get((struct md_json *)hc, "ExtraHosts");
	for (struct md_json *e = eh ? eh->child : NULL; e; e = e->next) {
		const char *c = md_json_str(e) ? strchr(e->s, ':') : NULL;
		if (c)
			md_sb_printf(b, "%s\t%.*s\n", c + 1, (int)(c - e->s), e->s);
	}
}

/* hostname, hosts and resolv.conf in dir (the container's run-root directory) */
static int md_write_hostfiles(const char *dir, struct md_json *cc, struct md_json *hc)
{
	const char *hn = md_json_gets(cc, "Hostname");
	char *p = md_asprintf("%s/hostname", dir);
	char *s = md_asprintf("%s\n", hn ? hn : "");
	int r = md_write_file_atomic(p, s, strlen(s), 0644);
	free(p);
	free(s);
	struct md_sb b = {0};
	md_hosts_base(&b, hc);
	p = md_asprintf("%s/hosts", dir);
	if (r == 0)
		r = md_write_file_atomic(p, b.s, b.len, 0644);
	free(p);
	md_sb_free(&b);
	if (r < 0)
		return -1;
	/* resolv.conf from the host, loopback nameservers dropped as Docker does
	 * (with --network host they are reachable: kept) */
	int hostnet = md_streq(md_json_gets(hc, "NetworkMode"), "host");
	char *host = md_read_file("/etc/resolv.conf", 1 << 16, NULL);
	md_err_clear();
	struct md_json *dns = md_json_get(hc, "Dns"), *search = md_json_get(hc, "DnsSearch"),
	               *dopt = md_json_get(hc, "DnsOptions");
	int ns = 0;
	for (char *l = host ? strtok(host, "\n") : NULL; l; l = strtok(NULL, "\n")) {
		if (md_startswith(l, "nameserver")) {
			if (dns && dns->n)
				continue;
			const char *a = l + 10;
			while (isspace((unsigned char)*a))
				a++;
			if (!hostnet && (md_startswith(a, "127.") || strcmp(a, "::1") == 0))
				continue;
			ns++;
		} else if ((md_startswith(l, "search") && search && search->n) || (md_startswith(l, "options") && dopt && dopt->n)) {
			continue;
		}
		md_sb_printf(&b, "%s\n", l);
	}
	free(host);
	for (struct md_json *d = dns ? dns->child : NULL; d; d = d->next, ns++)
		md_sb_printf(&b, "nameserver %s\n", md_json_str(d) ? d->s : "");
	if (!ns && !hostnet) /* Docker's defaults when the host has only loopback resolvers */
		md_sb_puts(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	if (search && search->n) {
		md_sb_puts(&b, "search");
		for (struct md_json *d = search->child; d; d = d->next)
			md_sb_printf(&b, " %s", md_json_str(d) ? d->s : "");
		md_sb_putc(&b, '\n');
	}
	if (dopt && dopt->n) {
		md_sb_puts(&b, "options");
		for (struct md_json *d = dopt->child; d; d = d->next)
			md_sb_printf(&b, " %s", md_json_str(d) ? d->s : "");
		md_sb_putc(&b, '\n');
	}
	p = md_asprintf("%s/resolv.conf", dir);
	r = md_write_file_atomic(p, md_sb_str(&b), b.len, 0644);
	free(p);
	md_sb_free(&b);
	return r;
}

/* The host files a start bind-mounts, in the run root: written when they
 * are not there (the first start of this boot). */
static int md_ctr_hostfiles(struct md_ctr *c)
{
	char *rdir = md_ctr_rpath(c->id, NULL), *hp = md_ctr_path(c->id, "hosts"), *rp = md_ctr_path(c->id, "resolv.conf");
	int r = 0;
	if (!md_path_exists(hp) || !md_path_exists(rp))
		r = md_mkdir_p(rdir, 0700) < 0 ? -1
		                                : md_write_hostfiles(rdir, md_json_get(c->cfg, "Config"), md_json_get(c->cfg, "HostConfig"));
	free(rdir);
	free(hp);
	free(rp);
	return r;
}

/* The per-container lock serialises start, stop, rm and friends. */
static int md_ctr_lock(const char *id)
{
	char *rdir = md_ctr_rpath(id, NULL), *p = md_ctr_path(id, "lock");
	int fd = md_mkdir_p(rdir, 0700) < 0 ? -1 : open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(rdir);
	free(p);
	if (fd < 0)
		return md_errno("lock container %.12s", id);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return md_errno("lock container %.12s", id);
		}
	return fd;
}

/* The attach socket's address: through /proc/self/fd, so the run root may
 * be longer than a socket path allows.  Returns the directory fd to close
 * after bind or connect. */
static int md_ctr_sockaddr(const char *id, struct sockaddr_un *sa)
{
	char *rdir = md_ctr_rpath(id, NULL);
	int dfd = open(rdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(rdir);
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (dfd < 0)
		return md_errno("container %.12s has no run state", id);
	snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/attach.sock", dfd);
	return dfd;
}

/* Is the container's monitor alive?  It holds monitor.lock while it lives. */
static int md_ctr_monitor_alive(const char *id)
{
	char *p = md_ctr_rpath(id, "monitor.lock");
	int fd = open(p, O_RDWR | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return 0;
	int alive = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

static const char *md_ctr_status_raw(struct md_ctr *c)
{
	const char *s = md_json_gets(c->st, "Status");
	return s ? s : "created";
}

/* Adjectives and names for generated container names, as Docker does. */
static const char *const md_name_left[] = {
	"admiring", "bold", "brave", "busy", "calm", "clever", "eager", "elastic", "fervent", "focused",
	"gallant", "gifted", "happy", "jolly", "keen", "kind", "lucid", "modest", "nifty", "quirky",
	"serene", "sharp", "stoic", "tender", "upbeat", "vibrant", "wizardly", "zealous"};
static const char *const md_name_right[] = {
	"babbage", "bohr", "curie", "darwin", "dijkstra", "einstein", "euler", "fermi", "galileo",
	"hopper", "kepler", "knuth", "lamport", "lovelace", "meitner", "newton", "noether", "pascal",
	"ritchie", "shannon", "tesla", "thompson", "torvalds", "turing", "wozniak"};

static int md_ctr_name_taken(struct md_json *idx, const char *name)
{
	for (struct md_json *c = md_json_get(idx, "containers")->child; c; c = c->next)
		if (md_streq(md_json_gets(c, "name"), name))
			return 1;
	return 0;
}

static char *md_ctr_gen_name(struct md_json *idx)
{
	for (int i = 0;; i++) {
		unsigned char r[2];
		char hx[5];
		md_random_hex(hx, 2);
		r[0] = (unsigned char)strtol((char[]){hx[0], hx[1], 0}, NULL, 16);
		r[1] = (unsigned char)strtol((char[]){hx[2], hx[3], 0}, NULL, 16);
		char *n = i < 20 ? md_asprintf("%s_%s", md_name_left[r[0] % MD_ARRAY_LEN(md_name_left)],
		                               md_name_right[r[1] % MD_ARRAY_LEN(md_name_right)])
		                 : md_asprintf("%s_%s%d", md_name_left[r[0] % MD_ARRAY_LEN(md_name_left)],
		                               md_name_right[r[1] % MD_ARRAY_LEN(md_name_right)], i);
		if (!md_ctr_name_taken(idx, n))
			return n;
		free(n);
	}
}

static int md_ctr_name_valid(const char *n)
{
	/* Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
	if (!isalnum((unsigned char)n[0]) || strlen(n) < 2 || strlen(n) > 200)
		return 0;
	for (const char *p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return 0;
	return 1;
}

/* ---- volumes: named and anonymous, in ROOT/volumes/NAME/ ---- */

/* A volume or network driver other than the built-in one (NULL or "": that
 * one) is a plugin minidock does not have: not found, in Docker's words. */
static int md_driver_check(const char *what, const char *driver, const char *only)
{
	if (!driver || !*driver || strcmp(driver, only) == 0)
		return 0;
	return md_errk(MD_EK_NOTFOUND, "plugin \"%.100s\" not found (minidock's only %s driver is %s)", driver, what, only);
}

static int md_volume_name_valid(const char *n)
{
	/* Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
	return md_ctr_name_valid(n);
}

static char *md_volume_dir(const char *name)
{
	return md_store_path("volumes/%s", name);
}

/* Create a named (or anonymous) volume if it does not exist; driver NULL
 * or "" is "local", the only one. */
static int md_volume_create(const char *name, const char *driver, const struct md_json *labels, int anonymous,
                            int *created)
{
	if (md_driver_check("volume", driver, "local") < 0)
		return -1;
	if (!md_volume_name_valid(name))
		return md_errk(MD_EK_INVALID, "invalid volume name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	char *vd = md_volume_dir(name);
	char *meta = md_asprintf("%s/volume.json", vd);
	int r = 0;
	if (created)
		*created = 0;
	if (!md_path_exists(meta)) {
		char *vroot = md_store_path("volumes");
		char *tmp = md_asprintf("%s/.tmp-%d-%s", vroot, (int)getpid(), name);
		char *data = md_asprintf("%s/_data", tmp);
		md_rm_rf(tmp);
		struct md_json *j = md_json_new(MD_J_OBJ);
		char now[64];
		md_time_now(now, sizeof now);
		md_json_sets(j, "CreatedAt", now);
		md_json_sets(j, "Driver", "local");
		md_json_set(j, "Labels", labels ? md_json_clone(labels) : md_json_new(MD_J_OBJ));
		md_json_sets(j, "Mountpoint", "");
		md_json_sets(j, "Name", name);
		md_json_set(j, "Options", md_json_new(MD_J_OBJ));
		md_json_sets(j, "Scope", "local");
		if (anonymous)
			md_json_set(j, "Anonymous", md_json_newbool(1));
		char *s = md_json_dump(j, 0);
		char *mp = md_asprintf("%s/volume.json", tmp);
		if (md_mkdir_p(vroot, 0700) < 0 || md_mkdir_p(data, 0755) < 0 ||
		    md_write_file_atomic(mp, s, strlen(s), 0600) < 0)
			r = -1;
		else if (rename(tmp, vd) < 0 && errno != EEXIST && errno != ENOTEMPTY)
			r = md_errno("create volume %s", name);
		else if (created)
			*created = 1;
		if (r < 0 || md_path_exists(tmp))
			md_rm_rf(tmp);
		free(mp);
		free(s);
		md_json_free(j);
		free(vroot);
		free(tmp);
		free(data);
	}
	free(meta);
	free(vd);
	return r;
}

static int md_volume_in_use(struct md_json *idx, const char *name, char *by, size_t bysz)
{
	for (struct md_json *c = md_json_get(idx, "containers")->child; c; c = c->next) {
		char *p = md_ctr_path(c->key, "config.json");
		struct md_json *cfg = md_json_parse_file(p);
		free(p);
		struct md_json *ms = md_json_get(cfg, "Mounts");
		int used = 0;
		for (struct md_json *m = ms ? ms->child : NULL; m && !used; m = m->next)
			used = md_streq(md_json_gets(m, "Type"), "volume") && md_streq(md_json_gets(m, "Name"), name);
		md_json_free(cfg);
		if (used) {
			if (by)
				snprintf(by, bysz, "%s", c->key);
			md_err_clear();
			return 1;
		}
	}
	md_err_clear();
	return 0;
}

/* ---- removing a container's files ---- */

static char *md_ctr_logpath(const char *id)
{
	const char *dir = getenv("MINIDOCK_LOG_DIR");
	if (!dir)
		dir = MD_DEFAULT_LOG_DIR;
	if (!*dir)
		return md_ctr_path(id, "container.log");
	if (strcmp(dir, "runroot") == 0)
		return md_asprintf("%s/logs/%s.log", md_store.runroot, id);
	return md_asprintf("%s/%s.log", dir, id);
}

static int md_ctr_remove_files(struct md_ctr *c, int volumes)
{
	/* the index first: if that write fails, nothing is touched; then the
	 * directory goes into the session, deleted with it (a crash between
	 * the two leaves the session dead: the next command sweeps) */
	struct md_sess sess;
	memset(&sess, 0, sizeof sess);
	sess.lockfd = -1;
	/* a volatile container writes nothing to the store but its layer's
	 * removal: no session (its layer, out of the index, is an orphan the
	 * sweep would remove if this command died) */
	int vol = md_ctr_volatile(c->id);
	if ((vol ? md_store_lock() : md_store_lock_change(&sess)) < 0)
		return -1;
	struct md_json *idx = md_index_read();
	int r = -1;
	if (idx) {
		md_json_del(md_json_get(idx, "containers"), c->id);
		r = md_index_write(idx);
	}
	md_json_free(idx);
	char *dir = md_ctr_path(c->id, NULL), *trash = vol ? NULL : md_asprintf("%s/c", sess.dir);
	if (r == 0 && !vol && rename(dir, trash) < 0)
		md_rm_rf(dir);
	free(trash);
	md_store_unlock();
	if (r == 0 && vol)
		md_rm_rf(dir);
	free(dir);
	if (r < 0) {
		struct md_error keep = md_error;
		md_sess_end(&sess);
		md_error = keep;
		return -1;
	}
	md_cg_destroy(md_cgroup_parent(), c->id);
	char *log = md_ctr_logpath(c->id);
	for (int i = 0; i < 10; i++) {
		char *p = i ? md_asprintf("%s.%d", log, i) : md_strdup(log);
		unlink(p);
		free(p);
	}
	free(log);
	md_sess_end(&sess);
	char *rdir = md_ctr_rpath(c->id, NULL);
	md_rm_rf(rdir);
	free(rdir);
	if (volumes) {
		struct md_json *ms = md_json_get(c->cfg, "Mounts");
		for (struct md_json *m = ms ? ms->child : NULL; m; m = m->next) {
			const char *vn = md_json_gets(m, "Name");
			if (!md_streq(md_json_gets(m, "Type"), "volume") || !vn)
				continue;
			char *vd = md_volume_dir(vn), *meta = md_asprintf("%s/volume.json", vd);
			struct md_json *vj = md_json_parse_file(meta);
			struct md_json *ix = md_index_read();
			if (md_json_is(md_json_get(vj, "Anonymous"), MD_J_TRUE) && ix && !md_volume_in_use(ix, vn, NULL, 0) &&
			    md_store_trash_rm(vd, vn) < 0)
				md_rm_rf(vd);
			md_json_free(ix);
			md_json_free(vj);
			free(meta);
			free(vd);
		}
	}
	md_err_clear();
	return 0;
}

/**** 16 networking: rtnetlink, addresses, bridges, NAT [MD_FEATURE_NET] *****/
/*
 * Docker's bridge model without iproute2: links, addresses and routes are
 * made over rtnetlink by minidock itself; addresses come from a small IPAM
 * kept in the graph index under the store lock; NAT, published ports and
 * network isolation are one table of minidock's own in nftables (or chains
 * of its own in iptables), regenerated from the index whenever a network or
 * a container's ports change, so rules of containers that died with their
 * monitor are gone on the next change.  IPv4 only unless MD_FEATURE_IPV6;
 * the host's IPv6 is never touched.
 *
 * May call: sections 01-15.
 */

#if MD_FEATURE_NET

/* ---- rtnetlink ---- */

struct md_nlmsg {
	union {
		struct nlmsghdr h;
		char buf[8192];
	} u;
	size_t nest[8];
	int nnest;
};

static void md_nl_init(struct md_nlmsg *m, uint16_t type, uint16_t flags, const void *hdr, size_t hlen)
{
	memset(m, 0, sizeof *m);
	m->u.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(hlen);
	m->u.h.nlmsg_type = type;
	m->u.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	memcpy(NLMSG_DATA(&m->u.h), hdr, hlen);
}

static void md_nl_attr_put(struct md_nlmsg *m, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(m->u.h.nlmsg_len);
	struct rtattr *a = (struct rtattr *)(m->u.buf + off);
	if (off + RTA_SPACE(len) > sizeof m->u.buf)
		md_die(125, "netlink message too long");
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	m->u.h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

static void md_nl_attr_str(struct md_nlmsg *m, uint16_t type, const char *s)
{
	md_nl_attr_put(m, type, s, strlen(s) + 1);
}

static void md_nl_attr_u32(struct md_nlmsg *m, uint16_t type, uint32_t v)
{
	md_nl_attr_put(m, type, &v, sizeof v);
}

static void md_nl_attr_begin(struct md_nlmsg *m, uint16_t type)
{
	m->nest[m->nnest++] = NLMSG_ALIGN(m->u.h.nlmsg_len);
	md_nl_attr_put(m, type, NULL, 0);
}

static void md_nl_attr_end(struct md_nlmsg *m)
{
	struct rtattr *a = (struct rtattr *)(m->u.buf + m->nest[--m->nnest]);
	a->rta_len = (unsigned short)(m->u.h.nlmsg_len - m->nest[m->nnest]);
}

static int md_nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return md_errno("netlink socket");
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return md_errno("netlink bind");
	}
	return fd;
}

/* Send a request and wait for its acknowledgement; -1 with md_err (errno set). */
static int md_nl_talk(int fd, struct md_nlmsg *m, const char *what)
{
	static uint32_t seq;
	m->u.h.nlmsg_seq = ++seq;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (sendto(fd, m->u.buf, m->u.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
		return md_errno("%s", what);
	for (;;) {
		char buf[8192];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return md_errno("%s", what);
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != m->u.h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error == 0)
					return 0;
				errno = -e->error;
				return md_errno("%s", what);
			}
		}
	}
}

/* Walk a dump (RTM_GETLINK/GETADDR/GETROUTE); cb returns nonzero to stop. */
static int md_nl_dump(int fd, uint16_t type, int family, int (*cb)(struct nlmsghdr *, void *), void *ctx)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req;
	memset(&req, 0, sizeof req);
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.g);
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 0x4d440000u + type;
	req.g.rtgen_family = (unsigned char)family;
	if (send(fd, &req, req.h.nlmsg_len, 0) < 0)
		return md_errno("netlink dump");
	int stop = 0;
	for (;;) {
		char buf[32768];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return md_errno("netlink dump");
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				errno = -e->error;
				return md_errno("netlink dump");
			}
			if (!stop)
				stop = cb(h, ctx);
		}
	}
}

static int md_link_index(const char *name)
{
	return (int)if_nametoindex(name);
}

static int md_link_new_bridge(int fd, const char *name)
{
	struct md_nlmsg m;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	md_nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	md_nl_attr_str(&m, IFLA_IFNAME, name);
	md_nl_attr_begin(&m, IFLA_LINKINFO);
	md_nl_attr_str(&m, IFLA_INFO_KIND, "bridge");
	md_nl_attr_end(&m);
	if (md_nl_talk(fd, &m, "create bridge") < 0) {
		if (errno == EOPNOTSUPP || errno == EINVAL)
			return md_err("cannot create bridge %s: the kernel has no bridge support (CONFIG_BRIDGE)", name);
		return md_err_wrap("%s", name);
	}
	return 0;
}

/* A veth pair: host end `host`, the other end created directly in the
 * network namespace of pid `nspid`, named `peer`. */
static int md_link_new_veth(int fd, const char *host, const char *peer, pid_t nspid, uint32_t mtu)
{
	struct md_nlmsg m;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	md_nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	md_nl_attr_str(&m, IFLA_IFNAME, host);
	if (mtu)
		md_nl_attr_u32(&m, IFLA_MTU, mtu);
	md_nl_attr_begin(&m, IFLA_LINKINFO);
	md_nl_attr_str(&m, IFLA_INFO_KIND, "veth");
	md_nl_attr_begin(&m, IFLA_INFO_DATA);
	md_nl_attr_begin(&m, VETH_INFO_PEER);
	/* the peer's ifinfomsg comes first, as a raw header */
	struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
	size_t off = m.u.h.nlmsg_len;
	memcpy(m.u.buf + off, &pifi, sizeof pifi);
	m.u.h.nlmsg_len += (uint32_t)NLMSG_ALIGN(sizeof pifi);
	md_nl_attr_str(&m, IFLA_IFNAME, peer);
	md_nl_attr_u32(&m, IFLA_NET_NS_PID, (uint32_t)nspid);
	if (mtu)
		md_nl_attr_u32(&m, IFLA_MTU, mtu);
	md_nl_attr_end(&m);
	md_nl_attr_end(&m);
	md_nl_attr_end(&m);
	if (md_nl_talk(fd, &m, "create veth pair") < 0) {
		if (errno == EOPNOTSUPP)
			return md_err("cannot create a veth pair: the kernel has no veth support (CONFIG_VETH)");
		return md_err_wrap("%s", host);
	}
	return 0;
}

/* Set a link up (and its master, MTU, MAC when given). */
static int md_link_set(int fd, int index, int up, int master, uint32_t mtu, const unsigned char *mac)
{
	struct md_nlmsg m;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index};
	if (up) {
		ifi.ifi_flags = IFF_UP;
		ifi.ifi_change = IFF_UP;
	}
	md_nl_init(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
	if (master >= 0)
		md_nl_attr_u32(&m, IFLA_MASTER, (uint32_t)master);
	if (mtu)
		md_nl_attr_u32(&m, IFLA_MTU, mtu);
	if (mac)
		md_nl_attr_put(&m, IFLA_ADDRESS, mac, 6);
	return md_nl_talk(fd, &m, "configure link");
}

static int md_link_del(int fd, const char *name)
{
	int idx = md_link_index(name);
	if (!idx)
		return 0;
	struct md_nlmsg m;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = idx};
	md_nl_init(&m, RTM_DELLINK, 0, &ifi, sizeof ifi);
	if (md_nl_talk(fd, &m, "delete link") < 0 && errno != ENODEV)
		return md_err_wrap("%s", name);
	return 0;
}

/* Bridge port option: hairpin mode, so a container reaches itself through a published port. */
static int md_link_hairpin(int fd, int index)
{
	struct md_nlmsg m;
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = index};
	md_nl_init(&m, RTM_SETLINK, 0, &ifi, sizeof ifi);
	md_nl_attr_begin(&m, IFLA_PROTINFO | NLA_F_NESTED);
	unsigned char on = 1;
	md_nl_attr_put(&m, IFLA_BRPORT_MODE, &on, 1);
	md_nl_attr_end(&m);
	return md_nl_talk(fd, &m, "set hairpin mode");
}

static int md_addr_add(int fd, int index, uint32_t ip, int prefix)
{
	struct md_nlmsg m;
	struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix, .ifa_index = (unsigned)index};
	md_nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof ifa);
	md_nl_attr_put(&m, IFA_LOCAL, &ip, 4);
	md_nl_attr_put(&m, IFA_ADDRESS, &ip, 4);
	uint32_t bcast = prefix < 31 ? ip | htonl(0xffffffffu >> prefix) : 0;
	if (bcast)
		md_nl_attr_put(&m, IFA_BROADCAST, &bcast, 4);
	return md_nl_talk(fd, &m, "add address");
}

static int md_route_default(int fd, int index, uint32_t gw)
{
	struct md_nlmsg m;
	struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
	                   .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
	md_nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
	md_nl_attr_put(&m, RTA_GATEWAY, &gw, 4);
	md_nl_attr_u32(&m, RTA_OIF, (uint32_t)index);
	return md_nl_talk(fd, &m, "add default route");
}

/* ---- addresses of the host, for collisions, and the uplink's MTU ---- */

struct md_hostaddr {
	uint32_t addr[256];
	int prefix[256];
	int ifindex[256];
	int n;
};

static int md_dump_addr_cb(struct nlmsghdr *h, void *ctx)
{
	struct md_hostaddr *ha = ctx;
	if (h->nlmsg_type != RTM_NEWADDR || ha->n >= 256)
		return 0;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (ifa->ifa_family != AF_INET)
		return 0;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifa));
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFA_LOCAL || (a->rta_type == IFA_ADDRESS)) {
			memcpy(&ha->addr[ha->n], RTA_DATA(a), 4);
			ha->prefix[ha->n] = ifa->ifa_prefixlen;
			ha->ifindex[ha->n] = (int)ifa->ifa_index;
			ha->n++;
			break;
		}
	return 0;
}

struct md_defroute {
	int oif;
	uint32_t gw;
};

static int md_dump_route_cb(struct nlmsghdr *h, void *ctx)
{
	struct md_defroute *d = ctx;
	struct rtmsg *rt = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET || rt->rtm_dst_len != 0 ||
	    rt->rtm_table != RT_TABLE_MAIN)
		return 0;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *rt));
	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF)
			memcpy(&d->oif, RTA_DATA(a), 4);
		if (a->rta_type == RTA_GATEWAY)
			memcpy(&d->gw, RTA_DATA(a), 4);
	}
	return d->oif != 0;
}

/* The MTU of the interface of the default route (1500 without one). */
static uint32_t md_uplink_mtu(int fd)
{
	struct md_defroute d = {0, 0};
	md_nl_dump(fd, RTM_GETROUTE, AF_INET, md_dump_route_cb, &d);
	md_err_clear();
	if (!d.oif)
		return 1500;
	char name[IF_NAMESIZE];
	if (!if_indextoname((unsigned)d.oif, name))
		return 1500;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	uint32_t mtu = s >= 0 && ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0 ? (uint32_t)ifr.ifr_mtu : 1500;
	if (s >= 0)
		close(s);
	return mtu;
}

/* ---- CIDR helpers ---- */

static int md_cidr_parse(const char *s, uint32_t *net, int *prefix)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%s", s);
	char *sl = strchr(buf, '/');
	if (!sl)
		return md_err("invalid subnet \"%s\": expected an IPv4 CIDR like 10.20.0.0/24", s);
	*sl = 0;
	struct in_addr a;
	char *e;
	long p = strtol(sl + 1, &e, 10);
	if (inet_pton(AF_INET, buf, &a) != 1 || *e || p < 8 || p > 30)
		return md_err("invalid subnet \"%s\": expected an IPv4 CIDR with a prefix of 8 to 30", s);
	uint32_t mask = htonl(0xffffffffu << (32 - p));
	if ((a.s_addr & ~mask) != 0)
		return md_err("invalid subnet \"%s\": the address has bits outside the prefix", s);
	*net = a.s_addr;
	*prefix = (int)p;
	return 0;
}

static uint32_t md_mask(int prefix)
{
	return prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
}

static int md_cidr_overlap(uint32_t a, int ap, uint32_t b, int bp)
{
	int p = ap < bp ? ap : bp;
	return (a & md_mask(p)) == (b & md_mask(p));
}

static void md_ip_str(uint32_t ip, char *out, size_t n)
{
	struct in_addr a = {ip};
	inet_ntop(AF_INET, &a, out, (socklen_t)n);
}

static int md_ip_parse(const char *s, uint32_t *ip)
{
	struct in_addr a;
	*ip = 0;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return md_err("invalid IPv4 address \"%s\"", s ? s : "");
	*ip = a.s_addr;
	return 0;
}

/* ---- networks in the graph index ---- */

/*
 * index.networks: NAME -> {Id, Name, Driver, Subnet, Gateway, Bridge,
 *   Internal, Created, Labels}
 * index.ipam:     NAME -> {IP -> container ID}
 * The default "bridge" network is made on first use from the board's
 * defaults.  A container's attachments live in its config.json
 * ("Networks": [{Name, IPAddress?, Aliases, MacAddress?}]) and, while it
 * runs, its addresses in the index ("ipam"), so nothing is given twice.
 */

static struct md_json *md_net_get(struct md_json *idx, const char *name)
{
	struct md_json *ns = md_index_section(idx, "networks");
	struct md_json *n = md_json_get(ns, name);
	if (n)
		return n;
	/* by ID prefix */
	size_t l = strlen(name);
	for (struct md_json *c = ns->child; c && l >= 3; c = c->next)
		if (strncmp(md_json_gets(c, "Id") ? md_json_gets(c, "Id") : "", name, l) == 0)
			return c;
	return NULL;
}

/* Is the subnet free of the host's addresses and of other networks? */
static int md_net_subnet_free(struct md_json *idx, uint32_t net, int prefix, const char *self, const char *bridge,
                              char *why, size_t wsz)
{
	int brindex = bridge ? (int)if_nametoindex(bridge) : 0;
	int fd = md_nl_socket();
	struct md_hostaddr ha;
	memset(&ha, 0, sizeof ha);
	if (fd >= 0) {
		md_nl_dump(fd, RTM_GETADDR, AF_INET, md_dump_addr_cb, &ha);
		close(fd);
	}
	md_err_clear();
	for (int i = 0; i < ha.n; i++) {
		/* our own bridges carry our gateways: not a collision */
		char a[32];
		md_ip_str(ha.addr[i], a, sizeof a);
		int ours = brindex && ha.ifindex[i] == brindex; /* the bridge we would (re)use */
		for (struct md_json *n = md_index_section(idx, "networks")->child; n; n = n->next)
			ours |= md_streq(md_json_gets(n, "Gateway"), a);
		if (!ours && md_cidr_overlap(net, prefix, ha.addr[i], ha.prefix[i])) {
			snprintf(why, wsz, "an address of the host (%s/%d)", a, ha.prefix[i]);
			return 0;
		}
	}
	for (struct md_json *n = md_index_section(idx, "networks")->child; n; n = n->next) {
		uint32_t on;
		int op;
		if (self && strcmp(n->key, self) == 0)
			continue;
		if (md_json_gets(n, "Subnet") && md_cidr_parse(md_json_gets(n, "Subnet"), &on, &op) == 0 &&
		    md_cidr_overlap(net, prefix, on, op)) {
			snprintf(why, wsz, "network %s (%s)", n->key, md_json_gets(n, "Subnet"));
			return 0;
		}
	}
	return 1;
}

/* Add a network to the index (the caller holds the store lock and writes it). */
static struct md_json *md_net_add(struct md_json *idx, const char *name, const char *subnet, const char *gateway,
                                  const char *bridge, int internal, const struct md_json *labels)
{
	uint32_t net, gw;
	int prefix;
	char why[128], sub[32], gws[32];
	if (subnet) {
		if (md_cidr_parse(subnet, &net, &prefix) < 0)
			return NULL;
		if (!md_net_subnet_free(idx, net, prefix, NULL, bridge, why, sizeof why)) {
			md_err("subnet %s overlaps %s", subnet, why);
			return NULL;
		}
	} else {
		/* the next free /24 of the pool */
		uint32_t pool;
		int pp, found = 0;
		md_cidr_parse(MD_DEFAULT_POOL, &pool, &pp);
		for (uint32_t i = 0; i < (1u << (24 - pp)) && !found; i++) {
			net = htonl(ntohl(pool) + (i << 8));
			prefix = 24;
			found = md_net_subnet_free(idx, net, prefix, NULL, bridge, why, sizeof why);
		}
		if (!found) {
			md_err("no free subnet left in %s (give one with --subnet)", MD_DEFAULT_POOL);
			return NULL;
		}
	}
	md_ip_str(net, sub, sizeof sub);
	snprintf(sub + strlen(sub), sizeof sub - strlen(sub), "/%d", prefix);
	if (gateway) {
		if (md_ip_parse(gateway, &gw) < 0)
			return NULL;
		if ((gw & md_mask(prefix)) != net || gw == net || gw == (net | ~md_mask(prefix))) {
			md_err("gateway %s is not a host address of subnet %s", gateway, sub);
			return NULL;
		}
	} else {
		gw = htonl(ntohl(net) + 1);
	}
	md_ip_str(gw, gws, sizeof gws);
	char id[65], now[64];
	md_random_hex(id, 32);
	md_time_now(now, sizeof now);
	struct md_json *n = md_json_set(md_index_section(idx, "networks"), name, md_json_new(MD_J_OBJ));
	md_json_sets(n, "Id", id);
	md_json_sets(n, "Name", name);
	md_json_sets(n, "Driver", "bridge");
	md_json_sets(n, "Subnet", sub);
	md_json_sets(n, "Gateway", gws);
	char br[IF_NAMESIZE];
	snprintf(br, sizeof br, "md-%.12s", id);
	md_json_sets(n, "Bridge", bridge ? bridge : br);
	md_json_set(n, "Internal", md_json_newbool(internal));
	md_json_sets(n, "Created", now);
	md_json_set(n, "Labels", labels ? md_json_clone(labels) : md_json_new(MD_J_OBJ));
	return n;
}

/* The default network, made from the board's defaults the first time. */
static struct md_json *md_net_default(struct md_json *idx)
{
	struct md_json *n = md_json_get(md_index_section(idx, "networks"), "bridge");
	if (n)
		return n;
	const char *sub = getenv("MINIDOCK_DEFAULT_SUBNET"), *br = getenv("MINIDOCK_DEFAULT_BRIDGE");
	n = md_net_add(idx, "bridge", sub && *sub ? sub : MD_DEFAULT_SUBNET, NULL, br && *br ? br : MD_DEFAULT_BRIDGE, 0, NULL);
	if (!n)
		md_err_wrap("the default network");
	return n;
}

/* Give the container an address on the network (or the one it asked for). */
static int md_ipam_lease(struct md_json *idx, struct md_json *net, const char *cid, const char *want, char out[32])
{
	uint32_t sub, gw;
	int prefix;
	if (md_cidr_parse(md_json_gets(net, "Subnet"), &sub, &prefix) < 0 || md_ip_parse(md_json_gets(net, "Gateway"), &gw) < 0)
		return -1;
	struct md_json *ipam = md_index_section(idx, "ipam");
	struct md_json *leases = md_json_get(ipam, md_json_gets(net, "Name"));
	if (!leases)
		leases = md_json_set(ipam, md_json_gets(net, "Name"), md_json_new(MD_J_OBJ));
	/* already leased to this container (a restart, or a repeat) */
	for (struct md_json *l = leases->child; l; l = l->next)
		if (md_streq(md_json_str(l), cid) && (!want || strcmp(l->key, want) == 0)) {
			snprintf(out, 32, "%s", l->key);
			return 0;
		}
	uint32_t bcast = sub | ~md_mask(prefix);
	if (want) {
		uint32_t ip;
		if (md_ip_parse(want, &ip) < 0)
			return -1;
		if ((ip & md_mask(prefix)) != sub || ip == sub || ip == bcast || ip == gw)
			return md_err("address %s is not usable on network %s (%s)", want, md_json_gets(net, "Name"),
			              md_json_gets(net, "Subnet"));
		const char *by = md_json_gets(leases, want);
		if (by && strcmp(by, cid) != 0)
			return md_errk(MD_EK_CONFLICT, "Address already in use: %s is used by container %.12s", want, by);
		md_json_sets(leases, want, cid);
		snprintf(out, 32, "%s", want);
		return 0;
	}
	for (uint32_t h = ntohl(sub) + 1; h < ntohl(bcast); h++) {
		uint32_t ip = htonl(h);
		char s[32];
		if (ip == gw)
			continue;
		md_ip_str(ip, s, sizeof s);
		if (md_json_get(leases, s))
			continue;
		md_json_sets(leases, s, cid);
		snprintf(out, 32, "%s", s);
		return 0;
	}
	return md_err("no free address left on network %s (%s)", md_json_gets(net, "Name"), md_json_gets(net, "Subnet"));
}

/* Drop every lease of a container (or, with cid NULL, of containers whose monitor is gone). */
static int md_ipam_release(struct md_json *idx, const char *cid)
{
	int changed = 0;
	for (struct md_json *nl = md_index_section(idx, "ipam")->child; nl; nl = nl->next)
		for (struct md_json *l = nl->child, *next; l; l = next) {
			next = l->next;
			const char *owner = md_json_str(l);
			if (!owner)
				continue;
			if (cid ? strcmp(owner, cid) == 0 : !md_ctr_monitor_alive(owner)) {
				md_json_del(nl, l->key);
				changed = 1;
			}
		}
	return changed;
}

/* ---- the firewall: NAT, published ports, isolation ---- */

/* Run a firewall tool with input on its stdin.  Its stderr (the first
 * KiB) is kept in md_tool_said: a caller may have to tell one of its
 * failures from another, and it has nothing but its words to tell them by. */
static char md_tool_said[1024];

static int md_run_tool(char *const argv[], const char *input)
{
	int in[2] = {-1, -1}, err[2];
	md_tool_said[0] = 0; /* nothing said by a tool that never ran */
	if ((input && pipe2(in, O_CLOEXEC) < 0) || pipe2(err, O_CLOEXEC) < 0)
		return md_errno("pipe");
	fflush(NULL);
	pid_t p = fork();
	if (p < 0)
		return md_errno("fork");
	if (p == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(input ? in[0] : nul, 0);
		dup2(nul, 1);
		dup2(err[1], 2);
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(err[1]);
	if (input) {
		close(in[0]);
		signal(SIGPIPE, SIG_IGN);
		md_write_all(in[1], input, strlen(input));
		close(in[1]);
	}
	char *buf = md_tool_said;
	ssize_t n = md_read_full(err[0], buf, sizeof md_tool_said - 1);
	close(err[0]);
	buf[n > 0 ? n : 0] = 0;
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return md_err("%s is not installed (needed for NAT and published ports)", argv[0]);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		for (char *c = buf; *c; c++)
			if (*c == '\n')
				*c = *(c + 1) ? ' ' : 0;
		return md_err("%s failed: %s", argv[0], *buf ? buf : "no message");
	}
	return 0;
}

static int md_tool_exists(const char *name)
{
	const char *dirs[] = {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/", "/usr/local/sbin/"};
	for (size_t i = 0; i < MD_ARRAY_LEN(dirs); i++) {
		char p[128];
		snprintf(p, sizeof p, "%s%s", dirs[i], name);
		if (access(p, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* Which firewall: board default, env MINIDOCK_FIREWALL, else what is there. */
static const char *md_fw_backend(void)
{
	const char *b = getenv("MINIDOCK_FIREWALL");
	if (!b || !*b)
		b = MD_DEFAULT_FIREWALL;
	if (strcmp(b, "auto") != 0)
		return b;
	if (md_tool_exists("nft"))
		return "nftables";
	if (md_tool_exists("iptables"))
		return "iptables";
	return "missing";
}

/* Does nftables table "ip minidock" exist in this network namespace?  One
 * netlink question (nfnetlink's NFT_MSG_GETTABLE), no nft process: 1 yes,
 * 0 no, -1 cannot tell. */
static int md_nft_table_exists(void)
{
	enum { NFNL_SUBSYS_NFT = 10, NFT_GETTABLE = 1, NFTA_TABLE_NAME_ = 1 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 12 /* NETLINK_NETFILTER */);
	if (fd < 0)
		return -1;
	struct {
		struct nlmsghdr h;
		struct { uint8_t family, version; uint16_t res_id; } g;
		struct rtattr a;
		char name[12];
	} rq;
	memset(&rq, 0, sizeof rq);
	rq.h.nlmsg_len = sizeof rq;
	rq.h.nlmsg_type = (NFNL_SUBSYS_NFT << 8) | NFT_GETTABLE;
	rq.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rq.h.nlmsg_seq = 1;
	rq.g.family = 2; /* NFPROTO_IPV4 */
	rq.a.rta_type = NFTA_TABLE_NAME_;
	rq.a.rta_len = RTA_LENGTH(sizeof "minidock");
	memcpy(rq.name, "minidock", sizeof "minidock");
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int r = -1;
	struct timeval tv = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (sendto(fd, &rq, sizeof rq, 0, (struct sockaddr *)&sa, sizeof sa) == (ssize_t)sizeof rq) {
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (n >= (ssize_t)sizeof *h && NLMSG_OK(h, (size_t)n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				r = err == 0 ? 1 : err == -ENOENT ? 0 : -1;
			} else {
				r = 1; /* the table itself came back */
			}
		}
	}
	close(fd);
	return r;
}

/* The rules last applied in this network namespace are kept (as a digest)
 * in the run root: a start or stop that changes nothing in them runs no
 * firewall tool, which is most of what bridge networking costs. */
static char *md_fw_stamp_path(void)
{
	return md_asprintf("%s/fw.applied", md_store.runroot);
}

static void md_fw_digest(const char *be, const char *rules, char out[MD_DIGEST_LEN + 1])
{
	struct stat st;
	char head[96];
	if (stat("/proc/self/ns/net", &st) < 0)
		memset(&st, 0, sizeof st);
	snprintf(head, sizeof head, "%s %llu %llu\n", be, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	br_sha256_context c;
	md_sha_init(&c);
	md_sha_update(&c, head, strlen(head));
	md_sha_update(&c, rules, strlen(rules));
	md_sha_hex(&c, out);
}

static int md_sysctl_set(const char *path, const char *val)
{
	char *cur = md_read_file(path, 64, NULL);
	if (cur && strncmp(cur, val, strlen(val)) == 0) {
		free(cur);
		return 0;
	}
	free(cur);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || md_write_all(fd, val, strlen(val)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return md_errno("cannot set %s to %s (read-only /proc/sys, or locked by the system)", path, val);
	}
	close(fd);
	return 0;
}

struct md_published {
	char proto[4];
	uint32_t hostip; /* 0: every address */
	int hostport, ctrport;
	char ctrip[32];
	char net[128];
};

/* The published ports of running containers, from their config and leases. */
static size_t md_fw_ports(struct md_json *idx, struct md_published **out)
{
	size_t n = 0;
	*out = NULL;
	for (struct md_json *c = md_json_get(idx, "containers")->child; c; c = c->next) {
		if (!md_ctr_monitor_alive(c->key))
			continue;
		char *p = md_ctr_path(c->key, "config.json");
		struct md_json *cfg = md_json_parse_file(p);
		free(p);
		struct md_json *ports = md_json_get(cfg, "Ports");
		const char *netname = NULL;
		struct md_json *nets = md_json_get(cfg, "Networks");
		if (nets && nets->child)
			netname = md_json_gets(nets->child, "Name");
		char ip[32] = "";
		struct md_json *leases = netname ? md_json_get(md_index_section(idx, "ipam"), netname) : NULL;
		for (struct md_json *l = leases ? leases->child : NULL; l; l = l->next)
			if (md_streq(md_json_str(l), c->key))
				snprintf(ip, sizeof ip, "%s", l->key);
		for (struct md_json *x = ports ? ports->child : NULL; x && *ip; x = x->next) {
			*out = md_realloc(*out, (n + 1) * sizeof **out);
			struct md_published *pb = &(*out)[n++];
			memset(pb, 0, sizeof *pb);
			snprintf(pb->proto, sizeof pb->proto, "%s", md_json_gets(x, "Proto") ? md_json_gets(x, "Proto") : "tcp");
			md_ip_parse(md_json_gets(x, "HostIp") && *md_json_gets(x, "HostIp") ? md_json_gets(x, "HostIp") : "0.0.0.0",
			            &pb->hostip);
			pb->hostport = (int)md_json_geti(x, "HostPort", 0);
			pb->ctrport = (int)md_json_geti(x, "ContainerPort", 0);
			snprintf(pb->ctrip, sizeof pb->ctrip, "%s", ip);
			snprintf(pb->net, sizeof pb->net, "%s", netname);
		}
		md_json_free(cfg);
	}
	md_err_clear();
	return n;
}

/* Published ports are DNAT rules: without a firewall tool (none found, or
 * MINIDOCK_FIREWALL=none) they cannot work, so they are refused. */
static int md_fw_can_publish(void)
{
	const char *be = md_fw_backend();
	if (strcmp(be, "missing") == 0)
		return md_err("no firewall tool (nft or iptables) found: published ports need one (install nftables or iptables)");
	if (strcmp(be, "none") == 0)
		return md_err("the firewall is off (MINIDOCK_FIREWALL=none): published ports need nftables or iptables");
	return 0;
}

/* The nftables script: table "ip minidock", flushed and refilled whole. */
static void md_fw_nft_rules(struct md_sb *b, struct md_json *nets, const struct md_published *pubs, size_t np)
{
	md_sb_puts(b, "add table ip minidock\n"
	              "add chain ip minidock prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
	              "add chain ip minidock output { type nat hook output priority -100; policy accept; }\n"
	              "add chain ip minidock postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
	              "add chain ip minidock forward { type filter hook forward priority filter; policy accept; }\n"
	              "add chain ip minidock publish\n"
	              "flush table ip minidock\n"
	              "add rule ip minidock prerouting fib daddr type local jump publish\n"
	              "add rule ip minidock output fib daddr type local jump publish\n");
	for (struct md_json *n = nets->child; n; n = n->next) {
		const char *br = md_json_gets(n, "Bridge"), *sub = md_json_gets(n, "Subnet");
		int internal = md_json_is(md_json_get(n, "Internal"), MD_J_TRUE);
		/* published ports reached from the host itself (127.0.0.1) and hairpin */
		md_sb_printf(b, "add rule ip minidock postrouting oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", br);
		md_sb_printf(b, "add rule ip minidock postrouting oifname \"%s\" ip saddr %s ct status dnat masquerade\n", br, sub);
		if (!internal)
			md_sb_printf(b, "add rule ip minidock postrouting ip saddr %s oifname != \"%s\" masquerade\n", sub, br);
		else
			md_sb_printf(b, "add rule ip minidock forward iifname \"%s\" oifname != \"%s\" drop\n"
			                "add rule ip minidock forward oifname \"%s\" iifname != \"%s\" drop\n", br, br, br, br);
	}
	/* a published port is open to every network, as Docker's is */
	md_sb_puts(b, "add rule ip minidock forward ct status dnat accept\n");
	for (struct md_json *n = nets->child; n; n = n->next)
		for (struct md_json *o = nets->child; o; o = o->next)
			if (o != n)
				md_sb_printf(b, "add rule ip minidock forward iifname \"%s\" oifname \"%s\" drop\n",
				             md_json_gets(n, "Bridge"), md_json_gets(o, "Bridge"));
	for (size_t i = 0; i < np; i++) {
		char hip[32];
		md_ip_str(pubs[i].hostip, hip, sizeof hip);
		md_sb_printf(b, "add rule ip minidock publish %s%s%s %s dport %d dnat to %s:%d\n",
		             pubs[i].hostip ? "ip daddr " : "", pubs[i].hostip ? hip : "", pubs[i].hostip ? "" : "",
		             pubs[i].proto, pubs[i].hostport, pubs[i].ctrip, pubs[i].ctrport);
	}
}

/* Run nft on the script unless the stamp says it is in place already. */
static int md_fw_nft_apply(const char *be, const char *rules)
{
	int r;
	char dg[MD_DIGEST_LEN + 1], old[MD_DIGEST_LEN + 1] = "";
	md_fw_digest(be, rules, dg);
	char *sp = md_fw_stamp_path();
	int sf = open(sp, O_RDONLY | O_CLOEXEC);
	if (sf >= 0) {
		ssize_t k = md_read_full(sf, old, MD_DIGEST_LEN);
		old[k > 0 ? k : 0] = 0;
		close(sf);
	}
	char *argv[] = {"nft", "-f", "-", NULL};
	if (strcmp(old, dg) == 0 && md_nft_table_exists() == 1) {
		r = 0; /* in place already */
	} else {
		unlink(sp);
		r = md_run_tool(argv, rules);
		if (r == 0)
			md_write_file_atomic(sp, dg, strlen(dg), 0600);
	}
	free(sp);
	/* nft says so when the kernel lacks nf_tables (or its nat, fib) */
	if (r < 0 && strstr(md_tool_said, "No such file or directory") && strstr(md_tool_said, "table"))
		md_err("nftables is not available in this kernel (CONFIG_NF_TABLES, nft_nat, nft_fib): %s", md_errmsg);
	return r;
}

/* The iptables-restore input: chains of our own, refilled. */
static void md_fw_ipt_rules(struct md_sb *b, struct md_json *nets, const struct md_published *pubs, size_t np)
{
	md_sb_puts(b, "*nat\n:MINIDOCK-PUBLISH - [0:0]\n:MINIDOCK-POSTROUTING - [0:0]\n"
	              "-F MINIDOCK-PUBLISH\n-F MINIDOCK-POSTROUTING\n");
	for (struct md_json *n = nets->child; n; n = n->next) {
		const char *br = md_json_gets(n, "Bridge"), *sub = md_json_gets(n, "Subnet");
		md_sb_printf(b, "-A MINIDOCK-POSTROUTING -o %s -s 127.0.0.0/8 -j MASQUERADE\n", br);
		md_sb_printf(b, "-A MINIDOCK-POSTROUTING -o %s -s %s -m conntrack --ctstate DNAT -j MASQUERADE\n", br, sub);
		if (!md_json_is(md_json_get(n, "Internal"), MD_J_TRUE))
			md_sb_printf(b, "-A MINIDOCK-POSTROUTING -s %s ! -o %s -j MASQUERADE\n", sub, br);
	}
	for (size_t i = 0; i < np; i++) {
		char hip[32];
		md_ip_str(pubs[i].hostip, hip, sizeof hip);
		md_sb_printf(b, "-A MINIDOCK-PUBLISH %s%s -p %s --dport %d -j DNAT --to-destination %s:%d\n",
		             pubs[i].hostip ? "-d " : "", pubs[i].hostip ? hip : "", pubs[i].proto, pubs[i].hostport,
		             pubs[i].ctrip, pubs[i].ctrport);
	}
	md_sb_puts(b, "COMMIT\n*filter\n:MINIDOCK-FORWARD - [0:0]\n-F MINIDOCK-FORWARD\n");
	for (struct md_json *n = nets->child; n; n = n->next) {
		const char *br = md_json_gets(n, "Bridge");
		if (md_json_is(md_json_get(n, "Internal"), MD_J_TRUE))
			md_sb_printf(b, "-A MINIDOCK-FORWARD -i %s ! -o %s -j DROP\n-A MINIDOCK-FORWARD -o %s ! -i %s -j DROP\n", br,
			             br, br, br);
	}
	md_sb_puts(b, "-A MINIDOCK-FORWARD -m conntrack --ctstate DNAT -j ACCEPT\n");
	for (struct md_json *n = nets->child; n; n = n->next)
		for (struct md_json *o = nets->child; o; o = o->next)
			if (o != n)
				md_sb_printf(b, "-A MINIDOCK-FORWARD -i %s -o %s -j DROP\n", md_json_gets(n, "Bridge"),
				             md_json_gets(o, "Bridge"));
	md_sb_puts(b, "COMMIT\n");
}

/* Jumps from the built-in chains to ours, added once: checked, then inserted. */
static int md_fw_ipt_jumps(void)
{
	static const char *const jumps[][4] = {
		{"nat", "PREROUTING", "-m addrtype --dst-type LOCAL", "MINIDOCK-PUBLISH"},
		{"nat", "OUTPUT", "-m addrtype --dst-type LOCAL", "MINIDOCK-PUBLISH"},
		{"nat", "POSTROUTING", "", "MINIDOCK-POSTROUTING"},
		{"filter", "FORWARD", "", "MINIDOCK-FORWARD"}};
	int r = 0;
	for (size_t i = 0; r == 0 && i < MD_ARRAY_LEN(jumps); i++) {
		char *av[16];
		int k = 0;
		char spec[128];
		snprintf(spec, sizeof spec, "%s", jumps[i][2]);
		av[k++] = "iptables";
		av[k++] = "-t";
		av[k++] = (char *)jumps[i][0];
		av[k++] = "-C";
		av[k++] = (char *)jumps[i][1];
		for (char *t = strtok(spec, " "); t && k < 12; t = strtok(NULL, " "))
			av[k++] = t;
		av[k++] = "-j";
		av[k++] = (char *)jumps[i][3];
		av[k] = NULL;
		if (md_run_tool(av, NULL) < 0) {
			av[3] = "-I";
			r = md_run_tool(av, NULL);
		}
	}
	return r;
}

/* Regenerate minidock's rules from the index: masquerade per network,
 * isolation between networks, published ports of running containers. */
static int md_fw_sync(struct md_json *idx)
{
	const char *be = md_fw_backend();
	struct md_json *nets = md_index_section(idx, "networks");
	/* no rules: bridges work between host and containers, nothing is
	 * NATed and ip_forward is left as it is; a container's published ports
	 * are refused when it starts (md_net_prepare), not here, where they
	 * would fail whatever else changes the networks */
	if (strcmp(be, "missing") == 0 || strcmp(be, "none") == 0)
		return 0;
	if (!nets->child)
		return 0;
	/* turned on here and the rules then fail: turned off again below */
	char *fwd = md_read_file("/proc/sys/net/ipv4/ip_forward", 16, NULL);
	int fwd_was_off = fwd && fwd[0] == '0';
	free(fwd);
	if (md_sysctl_set("/proc/sys/net/ipv4/ip_forward", "1") < 0)
		return -1;
	struct md_published *pubs;
	size_t np = md_fw_ports(idx, &pubs);
	struct md_sb b = {0};
	int r;
	if (strcmp(be, "nftables") == 0) {
		md_fw_nft_rules(&b, nets, pubs, np);
		r = md_fw_nft_apply(be, md_sb_str(&b));
	} else {
		md_fw_ipt_rules(&b, nets, pubs, np);
		char *argv[] = {"iptables-restore", "--noflush", NULL};
		r = md_run_tool(argv, md_sb_str(&b));
		if (r == 0)
			r = md_fw_ipt_jumps();
	}
	for (struct md_json *n = nets->child; r == 0 && n; n = n->next) {
		char *p = md_asprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", md_json_gets(n, "Bridge"));
		if (md_path_exists(p))
			md_sysctl_set(p, "1"); /* published ports on 127.0.0.1 */
		free(p);
	}
	if (r < 0 && fwd_was_off) {
		struct md_error keep = md_error;
		md_sysctl_set("/proc/sys/net/ipv4/ip_forward", "0");
		md_error = keep;
	}
	md_sb_free(&b);
	free(pubs);
	return r;
}

/* ---- a container on its networks ---- */

struct md_netif {
	char net[128];       /* network name */
	char bridge[IF_NAMESIZE];
	char hostif[IF_NAMESIZE];
	char ifname[IF_NAMESIZE];
	uint32_t ip, gw;
	int prefix;
	unsigned char mac[6];
	uint32_t mtu;
	int internal;
};

/* Docker's MAC from the address: 02:42 then the four bytes of the IP. */
static void md_mac_from_ip(uint32_t ip, unsigned char mac[6])
{
	const unsigned char *b = (const unsigned char *)&ip;
	mac[0] = 0x02;
	mac[1] = 0x42;
	memcpy(mac + 2, b, 4);
}

static int md_mac_parse(const char *s, unsigned char mac[6])
{
	int ok = s && strlen(s) == 17;
	for (int i = 0; ok && i < 6; i++) {
		const char *h = s + 3 * i;
		ok = isxdigit((unsigned char)h[0]) && isxdigit((unsigned char)h[1]) && (i == 5 || h[2] == ':');
		if (ok)
			mac[i] = (unsigned char)strtoul((char[3]){h[0], h[1], 0}, NULL, 16);
	}
	if (!ok)
		return md_errk(MD_EK_INVALID, "invalid MAC address \"%s\"", s ? s : "");
	if (mac[0] & 1)
		return md_errk(MD_EK_INVALID, "invalid MAC address \"%s\": a multicast address", s);
	return 0;
}

/* Make sure a network's bridge exists, has its gateway address and is up.
 * *made (when given) is set when this call created the bridge: a caller
 * that fails later deletes it again. */
static int md_net_bridge_up(int fd, struct md_json *net, uint32_t mtu, int *made)
{
	const char *br = md_json_gets(net, "Bridge");
	uint32_t sub, gw;
	int prefix, mine = 0;
	if (made)
		*made = 0;
	if (md_cidr_parse(md_json_gets(net, "Subnet"), &sub, &prefix) < 0 || md_ip_parse(md_json_gets(net, "Gateway"), &gw) < 0)
		return -1;
	int idx = md_link_index(br);
	if (!idx) {
		if (md_link_new_bridge(fd, br) == 0)
			mine = 1;
		else if (errno != EEXIST)
			return -1;
		idx = md_link_index(br);
		if (!idx)
			return md_err("bridge %s vanished", br);
		if (md_link_set(fd, idx, 0, -1, mtu, NULL) < 0)
			md_err_clear(); /* a bridge takes its ports' MTU anyway */
	}
	if ((md_addr_add(fd, idx, gw, prefix) < 0 && errno != EEXIST) || md_link_set(fd, idx, 1, -1, 0, NULL) < 0) {
		md_err_wrap("bridge %s", br);
		if (mine) {
			struct md_error keep = md_error;
			md_link_del(fd, br);
			md_error = keep;
		}
		return -1;
	}
	if (made)
		*made = mine;
	return 0;
}

/* Monitor side, once the container's first process exists: veth pairs
 * into its network namespace, attached to the bridges. */
static int md_net_plug(struct md_netif *ifs, int nifs, pid_t pid, const char *cid, int base)
{
	int fd = md_nl_socket();
	if (fd < 0)
		return -1;
	int r = 0;
	for (int i = 0; i < nifs && r == 0; i++) {
		struct md_netif *x = &ifs[i];
		snprintf(x->hostif, sizeof x->hostif, "md%.10s%d", cid, (base + i) % 10);
		md_link_del(fd, x->hostif); /* left by a crash */
		int br = md_link_index(x->bridge);
		if (!br)
			r = md_err("bridge %s of network %s is missing", x->bridge, x->net);
		else if (md_link_new_veth(fd, x->hostif, x->ifname, pid, x->mtu) < 0)
			r = -1;
		else {
			int hi = md_link_index(x->hostif);
			if (!hi || md_link_set(fd, hi, 1, br, 0, NULL) < 0)
				r = md_err_wrap("attach %s to %s", x->hostif, x->bridge);
			else if (md_link_hairpin(fd, hi) < 0)
				md_err_clear(); /* without it only a container reaching itself fails */
		}
	}
	close(fd);
	return r;
}

static void md_net_unplug(const char *cid, int nifs)
{
	int fd = md_nl_socket();
	if (fd < 0)
		return;
	for (int i = 0; i < nifs && i < 10; i++) {
		char n[IF_NAMESIZE];
		snprintf(n, sizeof n, "md%.10s%d", cid, i);
		md_link_del(fd, n);
	}
	close(fd);
	md_err_clear();
}

/* Child side, inside the new network namespace: addresses, MAC, routes. */
static int md_net_configure(const struct md_netif *ifs, int nifs)
{
	int fd = md_nl_socket();
	if (fd < 0)
		return -1;
	int r = 0;
	for (int i = 0; i < nifs && r == 0; i++) {
		const struct md_netif *x = &ifs[i];
		int idx = md_link_index(x->ifname);
		if (!idx)
			r = md_err("interface %s did not arrive in the container", x->ifname);
		else if (md_link_set(fd, idx, 0, -1, 0, x->mac) < 0 || md_addr_add(fd, idx, x->ip, x->prefix) < 0 ||
		         md_link_set(fd, idx, 1, -1, 0, NULL) < 0)
			r = md_err_wrap("configure %s", x->ifname);
		else if (i == 0 && !x->internal && md_route_default(fd, idx, x->gw) < 0)
			r = md_err_wrap("default route via %s", x->ifname);
	}
	close(fd);
	return r;
}

/* Rewrite a container's /etc/hosts: its own names plus its network peers'. */
static void md_net_hosts(struct md_json *idx, const char *cid)
{
	char *p = md_ctr_path(cid, "config.json");
	struct md_json *cfg = md_json_parse_file(p);
	free(p);
	if (!cfg) {
		md_err_clear();
		return;
	}
	struct md_json *hc = md_json_get(cfg, "HostConfig");
	struct md_sb b = {0};
	md_hosts_base(&b, hc);
	struct md_json *nets = md_json_get(cfg, "Networks");
	for (struct md_json *n = nets ? nets->child : NULL; n; n = n->next) {
		const char *nn = md_json_gets(n, "Name");
		struct md_json *leases = md_json_get(md_index_section(idx, "ipam"), nn ? nn : "");
		for (struct md_json *l = leases ? leases->child : NULL; l; l = l->next) {
			const char *owner = md_json_str(l);
			if (!owner)
				continue;
			int self = strcmp(owner, cid) == 0;
			/* peers by name only on user-defined networks, as Docker */
			if (!self && md_streq(nn, "bridge"))
				continue;
			char *op = md_ctr_path(owner, "config.json");
			struct md_json *ocfg = self ? NULL : md_json_parse_file(op);
			free(op);
			struct md_json *oc = self ? cfg : ocfg;
			const char *oname = md_json_gets(oc, "Name");
			md_sb_printf(&b, "%s\t%s", l->key, md_json_gets(md_json_get(oc, "Config"), "Hostname") ? md_json_gets(md_json_get(oc, "Config"), "Hostname") : "");
			if (oname && !self)
				md_sb_printf(&b, " %s", oname[0] == '/' ? oname + 1 : oname);
			struct md_json *on = md_json_get(oc, "Networks");
			for (struct md_json *x = on ? on->child : NULL; x; x = x->next)
				if (md_streq(md_json_gets(x, "Name"), nn)) {
					struct md_json *al = md_json_get(x, "Aliases");
					for (struct md_json *a = al ? al->child : NULL; a; a = a->next)
						if (md_json_str(a))
							md_sb_printf(&b, " %s", a->s);
				}
			md_sb_putc(&b, '\n');
			md_json_free(ocfg);
		}
	}
	/* rewrite in place: the file is bind-mounted into the container */
	p = md_ctr_path(cid, "hosts");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		md_write_all(fd, md_sb_str(&b), b.len);
		close(fd);
	}
	free(p);
	md_sb_free(&b);
	md_json_free(cfg);
	md_err_clear();
}

/* The containers that share a network with cid (cid included). */
static void md_net_peers(struct md_json *idx, const char *cid, struct md_strv *out)
{
	for (struct md_json *nl = md_index_section(idx, "ipam")->child; nl; nl = nl->next) {
		int member = 0;
		for (struct md_json *l = nl->child; l; l = l->next)
			member |= md_streq(md_json_str(l), cid);
		if (!member)
			continue;
		for (struct md_json *l = nl->child; l; l = l->next)
			if (md_json_str(l) && !md_strv_has(out, l->s))
				md_strv_push(out, l->s);
	}
}

/* Every running container that shares a network with cid gets a fresh /etc/hosts. */
static void md_net_hosts_peers(struct md_json *idx, const char *cid)
{
	struct md_strv peers = {0};
	md_net_peers(idx, cid, &peers);
	for (size_t i = 0; i < peers.n; i++)
		md_net_hosts(idx, peers.v[i]);
	md_strv_free(&peers);
}

/* ---- ports: "-p [IP:]HOST:CTR[/proto]", "-p CTR", "-P" ---- */

static int md_port_num(const char *s, int *out)
{
	char *e;
	long v = strtol(s, &e, 10);
	if (!*s || *e || v < 1 || v > 65535)
		return md_err("invalid port \"%s\": must be 1 to 65535", s);
	*out = (int)v;
	return 0;
}

/* Parse one -p value into PortBindings[ctrport/proto] += {HostIp, HostPort}. */
static int md_port_spec(struct md_json *bindings, const char *spec)
{
	char buf[256], proto[8] = "tcp";
	snprintf(buf, sizeof buf, "%s", spec);
	char *sl = strrchr(buf, '/');
	if (sl) {
		*sl = 0;
		if (strcmp(sl + 1, "tcp") && strcmp(sl + 1, "udp"))
			return md_errk(MD_EK_INVALID, "invalid protocol \"%s\" in \"%s\" (tcp or udp)", sl + 1, spec);
		snprintf(proto, sizeof proto, "%s", sl + 1);
	}
	char *parts[3];
	int n = 0;
	/* IP:HOST:CTR, HOST:CTR, CTR; an IP may be "" ("::80" is not IPv4) */
	for (char *p = buf; n < 3;) {
		parts[n++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	if (n == 3 && strchr(parts[2], ':'))
		return md_errk(MD_EK_INVALID, "invalid port spec \"%s\"", spec);
	const char *ip = n == 3 ? parts[0] : "", *hp = n >= 2 ? parts[n - 2] : "", *cp = parts[n - 1];
	int ctr, host = 0;
	uint32_t a;
	if (md_port_num(cp, &ctr) < 0 || (*hp && md_port_num(hp, &host) < 0) || (*ip && md_ip_parse(ip, &a) < 0))
		return md_err_wrap("-p %s", spec);
	char key[32], hs[16];
	snprintf(key, sizeof key, "%d/%s", ctr, proto);
	if (host)
		snprintf(hs, sizeof hs, "%d", host);
	else
		hs[0] = 0;
	struct md_json *l = md_json_get(bindings, key);
	if (!l)
		l = md_json_set(bindings, key, md_json_new(MD_J_ARR));
	struct md_json *b = md_json_push(l, md_json_new(MD_J_OBJ));
	md_json_sets(b, "HostIp", ip);
	md_json_sets(b, "HostPort", hs);
	return 0;
}

static int md_port_taken(struct md_json *idx, const char *self, const char *proto, int port)
{
	for (struct md_json *c = md_json_get(idx, "containers")->child; c; c = c->next) {
		if (self && strcmp(c->key, self) == 0)
			continue;
		char *p = md_ctr_path(c->key, "config.json");
		struct md_json *cfg = md_json_parse_file(p);
		free(p);
		struct md_json *ports = md_json_get(cfg, "Ports");
		int hit = 0;
		for (struct md_json *x = ports ? ports->child : NULL; x && !hit; x = x->next)
			hit = md_json_geti(x, "HostPort", 0) == port && md_streq(md_json_gets(x, "Proto"), proto);
		md_json_free(cfg);
		if (hit && md_ctr_monitor_alive(c->key)) {
			md_err_clear();
			return 1;
		}
	}
	md_err_clear();
	return 0;
}

/* A free port for "-p CTR": not published by a running container, and bindable here. */
static int md_port_random(struct md_json *idx, const char *proto, const struct md_json *ports)
{
	unsigned char r[2];
	char hx[5];
	md_random_hex(hx, 2);
	r[0] = (unsigned char)strtol((char[]){hx[0], hx[1], 0}, NULL, 16);
	r[1] = (unsigned char)strtol((char[]){hx[2], hx[3], 0}, NULL, 16);
	int start = 32768 + ((r[0] << 8 | r[1]) % 28000);
	for (int i = 0; i < 28232; i++) {
		int port = 32768 + (start - 32768 + i) % 28232;
		int dup = 0;
		for (struct md_json *x = ports ? ports->child : NULL; x; x = x->next)
			dup |= md_json_geti(x, "HostPort", 0) == port;
		if (dup || md_port_taken(idx, NULL, proto, port))
			continue;
		int s = socket(AF_INET, (strcmp(proto, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int ok = s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (s >= 0)
			close(s);
		if (ok)
			return port;
	}
	return md_err("no free host port for a random mapping");
}

/* At create: PortBindings (+PublishAllPorts over ExposedPorts) -> "Ports". */
static struct md_json *md_ports_resolve(struct md_json *idx, struct md_json *cc, struct md_json *hc)
{
	struct md_json *out = md_json_new(MD_J_ARR);
	struct md_json *pb = md_json_clone(md_json_is(md_json_get(hc, "PortBindings"), MD_J_OBJ) ? md_json_get(hc, "PortBindings") : NULL);
	if (pb->t != MD_J_OBJ) {
		md_json_free(pb);
		pb = md_json_new(MD_J_OBJ);
	}
	if (md_json_is(md_json_get(hc, "PublishAllPorts"), MD_J_TRUE)) {
		struct md_json *ep = md_json_get(cc, "ExposedPorts");
		for (struct md_json *e = md_json_is(ep, MD_J_OBJ) ? ep->child : NULL; e; e = e->next)
			if (!md_json_get(pb, e->key)) {
				struct md_json *l = md_json_set(pb, e->key, md_json_new(MD_J_ARR));
				md_json_push(l, md_json_new(MD_J_OBJ));
			}
	}
	for (struct md_json *k = pb->child; k; k = k->next) {
		int ctr;
		char proto[8] = "tcp", num[16];
		const char *sl = strchr(k->key, '/');
		snprintf(num, sizeof num, "%.*s", sl ? (int)(sl - k->key) : (int)strlen(k->key), k->key);
		if (sl)
			snprintf(proto, sizeof proto, "%s", sl + 1);
		if (md_port_num(num, &ctr) < 0 || (strcmp(proto, "tcp") && strcmp(proto, "udp"))) {
			md_errk(MD_EK_INVALID, "invalid port \"%s\"", k->key);
			goto fail;
		}
		for (struct md_json *b = md_json_is(k, MD_J_ARR) ? k->child : NULL; b; b = b->next) {
			const char *hp = md_json_gets(b, "HostPort"), *ip = md_json_gets(b, "HostIp");
			int host = 0;
			if (hp && *hp && md_port_num(hp, &host) < 0)
				goto fail;
			if (!host && (host = md_port_random(idx, proto, out)) < 0)
				goto fail;
			struct md_json *x = md_json_push(out, md_json_new(MD_J_OBJ));
			md_json_seti(x, "ContainerPort", ctr);
			md_json_sets(x, "Proto", proto);
			md_json_sets(x, "HostIp", ip && *ip ? ip : "0.0.0.0");
			md_json_seti(x, "HostPort", host);
		}
	}
	md_json_free(pb);
	return out;
fail:
	md_json_free(pb);
	md_json_free(out);
	return NULL;
}

/* "0.0.0.0:8080->80/tcp, ..." for ps */
static void md_ports_text(const struct md_json *ports, struct md_sb *b)
{
	for (struct md_json *x = ports ? ports->child : NULL; x; x = x->next)
		md_sb_printf(b, "%s%s:%lld->%lld/%s", b->len ? ", " : "", md_json_gets(x, "HostIp") ? md_json_gets(x, "HostIp") : "0.0.0.0",
		             md_json_geti(x, "HostPort", 0), md_json_geti(x, "ContainerPort", 0),
		             md_json_gets(x, "Proto") ? md_json_gets(x, "Proto") : "tcp");
}

/* ---- the monitor's part: leases, bridges, rules ---- */

/* Under the store lock: the container's networks, addresses and rules.
 * Fills ifs (up to max); returns how many, or -1. */
static int md_net_prepare(const char *cid, struct md_json *cfg, struct md_netif *ifs, int max)
{
	if (md_store_lock() < 0)
		return -1;
	struct md_json *idx = md_index_read();
	int n = 0, r = -1;
	if (!idx)
		goto out;
	struct md_json *nets = md_json_get(cfg, "Networks");
	struct md_json *want = nets && nets->n ? md_json_clone(nets) : NULL;
	if (!want) {
		want = md_json_new(MD_J_ARR);
		struct md_json *x = md_json_push(want, md_json_new(MD_J_OBJ));
		md_json_sets(x, "Name", "bridge");
	}
	/* published ports must not be in use by a running container */
	struct md_json *ports = md_json_get(cfg, "Ports");
	for (struct md_json *x = ports ? ports->child : NULL; x; x = x->next)
		if (md_port_taken(idx, cid, md_json_gets(x, "Proto") ? md_json_gets(x, "Proto") : "tcp", (int)md_json_geti(x, "HostPort", 0))) {
			md_errk(MD_EK_CONFLICT, "Bind for %s:%lld failed: port is already allocated", md_json_gets(x, "HostIp") ? md_json_gets(x, "HostIp") : "0.0.0.0",
			       md_json_geti(x, "HostPort", 0));
			md_json_free(want);
			goto out;
		}
	if (ports && ports->n && md_fw_can_publish() < 0) {
		md_json_free(want);
		goto out;
	}
	int fd = md_nl_socket();
	if (fd < 0) {
		md_json_free(want);
		goto out;
	}
	struct md_strv made = {0}; /* bridges this start created */
	uint32_t mtu = md_uplink_mtu(fd);
	/* leases of containers whose monitor died (SIGKILL, power cut) go back
	 * to the pool before any is handed out: a container dies with its
	 * monitor (PDEATHSIG), so nothing uses those addresses any more */
	md_ipam_release(idx, NULL);
	for (struct md_json *w = want->child; w && n < max; w = w->next, n++) {
		const char *name = md_json_gets(w, "Name");
		struct md_json *net = md_streq(name, "bridge") ? md_net_default(idx) : md_net_get(idx, name ? name : "");
		if (!net) {
			if (!md_errmsg[0] || !md_streq(name, "bridge"))
				md_err("network %s not found", name ? name : "?");
			break;
		}
		char ip[32];
		const char *req = md_json_gets(w, "IPAddress");
		int mine = 0;
		if (md_ipam_lease(idx, net, cid, req && *req ? req : NULL, ip) < 0 || md_net_bridge_up(fd, net, mtu, &mine) < 0)
			break;
		if (mine)
			md_strv_push(&made, md_json_gets(net, "Bridge"));
		struct md_netif *x = &ifs[n];
		memset(x, 0, sizeof *x);
		snprintf(x->net, sizeof x->net, "%s", md_json_gets(net, "Name"));
		snprintf(x->bridge, sizeof x->bridge, "%s", md_json_gets(net, "Bridge"));
		snprintf(x->ifname, sizeof x->ifname, "eth%d", n);
		uint32_t sub;
		md_cidr_parse(md_json_gets(net, "Subnet"), &sub, &x->prefix);
		md_ip_parse(ip, &x->ip);
		md_ip_parse(md_json_gets(net, "Gateway"), &x->gw);
		x->mtu = mtu;
		x->internal = md_json_is(md_json_get(net, "Internal"), MD_J_TRUE);
		const char *mac = md_json_gets(w, "MacAddress");
		if (!(mac && *mac && md_mac_parse(mac, x->mac) == 0))
			md_mac_from_ip(x->ip, x->mac);
	}
	int ok = !md_errmsg[0] || n == (int)want->n;
	md_json_free(want);
	if (!ok || n == 0) {
		md_ipam_release(idx, cid);
	} else if (md_index_write(idx) < 0) {
		/* nothing leased */
	} else if (md_fw_sync(idx) < 0) {
		/* the leases go back; should that write fail too, they are leases
		 * of a container whose monitor is gone, which the next command
		 * reclaims (md_ipam_release) */
		struct md_error keep = md_error;
		md_ipam_release(idx, cid);
		if (md_index_write(idx) == 0)
			md_fw_sync(idx);
		md_error = keep;
	} else {
		r = n;
	}
	/* a start that fails leaves no bridge behind (the next one makes it);
	 * under the store lock no other container can be on it yet */
	struct md_error keep = md_error;
	for (size_t i = 0; r < 0 && i < made.n; i++)
		md_link_del(fd, made.v[i]);
	md_error = keep;
	md_strv_free(&made);
	close(fd);
out:
	md_json_free(idx);
	md_store_unlock();
	return r;
}

/* What a started container's user should know about its networks, or NULL:
 * with no firewall tool found, a bridge gives no way out of the host (no
 * NAT); MINIDOCK_FIREWALL=none chooses that and silences this. */
static const char *md_net_notice(const struct md_netif *ifs, int nifs)
{
	for (int i = 0; i < nifs; i++)
		if (!ifs[i].internal && strcmp(md_fw_backend(), "missing") == 0)
			return "warning: no firewall tool (nft or iptables) found: no outbound NAT, the container reaches only the "
			       "host and its own network (install nftables or iptables, or set MINIDOCK_FIREWALL=none)";
	return NULL;
}

/* Links of ours in this namespace ("md" + 10 hex + digit). */
static int md_dump_link_cb(struct nlmsghdr *h, void *ctx)
{
	struct md_strv *out = ctx;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_IFNAME) {
			const char *n = RTA_DATA(a);
			if (strlen(n) == 13 && n[0] == 'm' && n[1] == 'd' && strspn(n + 2, "0123456789abcdef") == 11)
				md_strv_push(out, n);
		}
	return 0;
}

/*
 * What a crash leaves: leases of containers whose monitor is gone, and
 * their host-side veths.  Reports each (print != 0); with repair, removes
 * them and regenerates the rules.  Call with the store lock held.  Returns
 * how many there were, or -1 when the repair could not be written.
 */
static int md_net_reclaim(struct md_json *idx, int repair, struct md_report *rep)
{
	int problems = 0;
	for (struct md_json *nl = md_index_section(idx, "ipam")->child; nl; nl = nl->next)
		for (struct md_json *l = nl->child; l; l = l->next)
			if (md_json_str(l) && !md_ctr_monitor_alive(l->s)) {
				problems++;
				md_reportf(rep, repair ? "repairing" : "problem", 0, 0,
				           "network %s: address %s is leased to container %.12s, which is not running", nl->key, l->key, l->s);
			}
	int fd = md_nl_socket();
	struct md_strv links = {0};
	if (fd >= 0)
		md_nl_dump(fd, RTM_GETLINK, AF_UNSPEC, md_dump_link_cb, &links);
	md_err_clear();
	for (size_t i = 0; i < links.n; i++) {
		/* the container whose ID starts with those 10 digits */
		int alive = 0;
		for (struct md_json *c = md_json_get(idx, "containers")->child; c; c = c->next)
			if (strncmp(c->key, links.v[i] + 2, 10) == 0 && md_ctr_monitor_alive(c->key))
				alive = 1;
		if (alive)
			continue;
		problems++;
		md_reportf(rep, repair ? "repairing" : "problem", 0, 0, "link %s belongs to no running container", links.v[i]);
		if (repair && fd >= 0)
			md_link_del(fd, links.v[i]);
	}
	md_strv_free(&links);
	if (fd >= 0)
		close(fd);
	if (repair && md_ipam_release(idx, NULL) && (md_index_write(idx) < 0 || md_fw_sync(idx) < 0))
		return -1; /* the leases stay for the next command to reclaim */
	md_err_clear();
	return problems;
}

/* The container stopped (or died): its addresses and rules go.
 * lazy: the container's first process has ended and its network namespace
 * dies with it, taking the veth pairs along; deleting them here would only
 * wait for the kernel (some 20 ms each).  Unless another container shares
 * the namespace (--network container:), which keeps it alive. */
static void md_net_teardown(const char *cid, int nifs, int lazy)
{
	struct md_error keep = md_error;
	int unplug = !lazy;
	if (md_store_lock() == 0) {
		struct md_json *idx = md_index_read();
		struct md_strv peers = {0};
		for (struct md_json *c = idx ? md_json_get(idx, "containers")->child : NULL; c; c = c->next)
			unplug |= md_streq(md_json_gets(c, "netfrom"), cid);
		if (idx)
			md_net_peers(idx, cid, &peers);
		if (idx && md_ipam_release(idx, cid)) {
			/* the rules go with the container either way; a lease the
			 * write could not drop is reclaimed by the next command, as
			 * its monitor is gone */
			md_index_write(idx);
			md_fw_sync(idx);
			for (size_t i = 0; i < peers.n; i++)
				if (strcmp(peers.v[i], cid) != 0)
					md_net_hosts(idx, peers.v[i]);
		}
		md_strv_free(&peers);
		md_json_free(idx);
		md_store_unlock();
	} else {
		unplug = 1;
	}
	if (unplug)
		md_net_unplug(cid, nifs > 0 ? nifs : 4);
	md_error = keep;
}

#else /* !MD_FEATURE_NET: only "none", "host" and "container:" networking */

struct md_netif {
	int unused;
};

static int md_net_prepare(const char *cid, struct md_json *cfg, struct md_netif *ifs, int max)
{
	(void)cid, (void)cfg, (void)ifs, (void)max;
	return md_err("bridge networking is not supported by this build (feature net is off): use --network none or host");
}

static int md_net_plug(struct md_netif *ifs, int nifs, pid_t pid, const char *cid, int base)
{
	(void)ifs, (void)nifs, (void)pid, (void)cid, (void)base;
	return 0;
}

static const char *md_net_notice(const struct md_netif *ifs, int nifs)
{
	(void)ifs, (void)nifs;
	return NULL;
}

static int md_net_configure(const struct md_netif *ifs, int nifs)
{
	(void)ifs, (void)nifs;
	return 0;
}

static void md_net_teardown(const char *cid, int nifs, int lazy)
{
	(void)cid, (void)nifs, (void)lazy;
}

static void md_net_hosts_peers(struct md_json *idx, const char *cid)
{
	(void)idx, (void)cid;
}

static void md_net_hosts(struct md_json *idx, const char *cid)
{
	(void)idx, (void)cid;
}

static void md_ports_text(const struct md_json *ports, struct md_sb *b)
{
	(void)ports, (void)b;
}

static int md_net_reclaim(struct md_json *idx, int repair, struct md_report *rep)
{
	(void)idx, (void)repair, (void)rep;
	return 0;
}
#endif

/**** 17 runtime: rootfs, namespaces, mounts, credentials *******************/
/*
 * What happens between clone() and execve() in a container's first
 * process, and the spec it follows.  The monitor (section 16) builds the
 * spec from config.json and the image, clones the child with new mount,
 * pid, uts, ipc and network namespaces, puts it in its cgroup, and lets it
 * go; the child mounts the overlay root and /proc, /dev, /sys, volumes,
 * pivots into it, drops to Docker's default capabilities and seccomp
 * filter, and executes the command.  Errors go back over the sync socket
 * as "CODE message" (125, 126, 127 as Docker uses them).
 *
 * May call: sections 01-16.
 */

/* Linux capability names, by number. */
static const char *const md_cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"};

/* Docker's default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID
 * SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE. */
#define MD_CAPS_DEFAULT                                                                        \
	((1ull << 0) | (1ull << 1) | (1ull << 4) | (1ull << 3) | (1ull << 27) | (1ull << 13) |      \
	 (1ull << 6) | (1ull << 7) | (1ull << 31) | (1ull << 8) | (1ull << 10) | (1ull << 18) |     \
	 (1ull << 5) | (1ull << 29))

static int md_cap_last(void)
{
	static int last = -1;
	if (last < 0) {
		char *s = md_read_file("/proc/sys/kernel/cap_last_cap", 64, NULL);
		last = s ? atoi(s) : (int)MD_ARRAY_LEN(md_cap_names) - 1;
		free(s);
		md_err_clear();
		if (last <= 0 || last > 63)
			last = (int)MD_ARRAY_LEN(md_cap_names) - 1;
	}
	return last;
}

/* "NET_ADMIN", "cap_net_admin", "ALL" -> bit number, 64 for ALL, -1 unknown. */
static int md_cap_parse(const char *s)
{
	char up[64];
	size_t i;
	for (i = 0; s[i] && i < sizeof up - 1; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[i] = 0;
	const char *n = md_startswith(up, "CAP_") ? up + 4 : up;
	if (strcmp(n, "ALL") == 0)
		return 64;
	for (i = 0; i < MD_ARRAY_LEN(md_cap_names); i++)
		if (strcmp(md_cap_names[i], n) == 0)
			return (int)i;
	return -1;
}

/* What we hold ourselves: a container can never get more. */
static uint64_t md_caps_own(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) < 0)
		return ~0ull;
	return (uint64_t)d[0].permitted | ((uint64_t)d[1].permitted << 32);
}

/* The effective set for a container: defaults, --cap-add, --cap-drop, --privileged. */
static int md_caps_compute(const struct md_json *hc, uint64_t *out)
{
	uint64_t all = (md_cap_last() >= 63 ? ~0ull : ((1ull << (md_cap_last() + 1)) - 1)) & md_caps_own();
	uint64_t caps = MD_CAPS_DEFAULT & all;
	if (md_json_is(md_json_get(hc, "Privileged"), MD_J_TRUE)) {
		*out = all;
		return 0;
	}
	struct md_json *drop = md_json_get(hc, "CapDrop"), *add = md_json_get(hc, "CapAdd");
	for (struct md_json *c = drop ? drop->child : NULL; c; c = c->next) {
		int b = md_cap_parse(md_json_str(c) ? c->s : "");
		if (b < 0)
			return md_errk(MD_EK_INVALID, "unknown capability to drop: \"%s\"", md_json_str(c) ? c->s : "?");
		caps &= b == 64 ? 0 : ~(1ull << b);
	}
	for (struct md_json *c = add ? add->child : NULL; c; c = c->next) {
		int b = md_cap_parse(md_json_str(c) ? c->s : "");
		if (b < 0)
			return md_errk(MD_EK_INVALID, "unknown capability to add: \"%s\"", md_json_str(c) ? c->s : "?");
		caps |= b == 64 ? all : (1ull << b);
	}
	*out = caps & all;
	return 0;
}

/* Drop every capability not in caps from the bounding set (needs CAP_SETPCAP). */
static int md_caps_bound(uint64_t caps)
{
	for (int c = 0; c <= md_cap_last(); c++)
		if (!(caps & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return md_errno("drop capability %s", c < (int)MD_ARRAY_LEN(md_cap_names) ? md_cap_names[c] : "?");
	return 0;
}

/* The final sets: caps for root, none for other users (as Docker). */
static int md_caps_apply(uint64_t caps, int root)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	if (root) {
		d[0].effective = d[0].permitted = (uint32_t)caps;
		d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return md_errno("set capabilities");
	return 0;
}

/* ---- paths inside a root, resolved as the container would see them ---- */

/*
 * Join `path` below `root` resolving every symlink as if root were "/", so
 * a link in the image ("/data" -> "/etc") can never lead a mount outside
 * the container's root.  out gets root + the resolved path.
 */
static int md_secure_join(const char *root, const char *path, char *out, size_t outsz)
{
	char cur[PATH_MAX] = "", rest[PATH_MAX];
	int links = 0;
	snprintf(rest, sizeof rest, "%s", path);
	char *p = rest;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char comp[NAME_MAX + 1];
		if (n > NAME_MAX)
			return md_err("path component too long in %s", path);
		memcpy(comp, p, n);
		comp[n] = 0;
		p += n;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *s = strrchr(cur, '/');
			if (s)
				*s = 0;
			continue;
		}
		char full[2 * PATH_MAX + NAME_MAX + 2], target[PATH_MAX];
		snprintf(full, sizeof full, "%s%s/%s", root, cur, comp);
		ssize_t tl = readlink(full, target, sizeof target - 1);
		if (tl < 0) {
			if (strlen(cur) + n + 2 >= sizeof cur)
				return md_err("path too long: %s", path);
			strcat(cur, "/");
			strcat(cur, comp);
			continue;
		}
		if (++links > 40)
			return md_err("too many levels of symbolic links in %s", path);
		target[tl] = 0;
		char nrest[2 * PATH_MAX + 2];
		snprintf(nrest, sizeof nrest, "%s/%s", target, p);
		if (strlen(nrest) >= sizeof rest)
			return md_err("path too long: %s", path);
		memcpy(rest, nrest, strlen(nrest) + 1);
		p = rest;
		if (target[0] == '/')
			cur[0] = 0;
	}
	if ((size_t)snprintf(out, outsz, "%s%s", root, cur) >= outsz)
		return md_err("path too long: %s", path);
	return 0;
}

/* Make sure `path` exists as a directory (dir) or a file, creating parents. */
static int md_ensure_path(const char *path, int dir)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return 0;
	char *parent = md_dirname(path);
	int r = md_mkdir_p(parent, 0755);
	free(parent);
	if (r < 0)
		return -1;
	if (dir)
		return mkdir(path, 0755) < 0 && errno != EEXIST ? md_errno("mkdir %s", path) : 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return md_errno("create %s", path);
	close(fd);
	return 0;
}

/*
 * Mount points are opened, then mounted on through /proc/self/fd/N: the
 * kernel then mounts on the object we opened, never on whatever a path
 * string names by the time mount() reads it.  Before pivot_root the
 * host's procfs serves /proc/self (we are in its pid namespace's tree).
 */
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_IN_ROOT 0x10
#endif

enum md_mk { MD_MK_NONE, MD_MK_DIR, MD_MK_FILE };

static int md_no_openat2; /* the kernel has none (before 5.6): walk instead */

/* One step of md_root_open's walk: comp below fd, created when allowed. */
static int md_root_step(int fd, const char *comp, enum md_mk mk, int last)
{
	int nfd = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (nfd >= 0 || errno != ENOENT || mk == MD_MK_NONE)
		return nfd;
	if (last && mk == MD_MK_FILE) {
		int c = openat(fd, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (c < 0 && errno != EEXIST)
			return -1;
		if (c >= 0)
			close(c);
	} else if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
		return -1;
	}
	return openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

/* The error of a mount point that cannot be opened (errno e kept). */
static int md_root_fail(const char *what, int e)
{
	if (e == ELOOP)
		md_err("mount point %s: its path changed during container setup (a symbolic link appeared)", what);
	else
		md_err("mount point %s: %s", what, strerror(e));
	errno = e;
	return -1;
}

/*
 * Open `rel` below the root directory rootfd as an O_PATH descriptor,
 * following no symlink in any component.  rel comes from md_secure_join
 * (or is one of our own paths), so a symlink met here appeared after that
 * check: it fails with ELOOP instead of leading anywhere.  Missing
 * components are created as mk says (the last one as a file with
 * MD_MK_FILE).  `what` names the path in errors; errno is kept for the
 * caller.  openat2() does the walk in one call where the kernel has it.
 */
static int md_root_open(int rootfd, const char *rel, enum md_mk mk, const char *what)
{
	while (*rel == '/')
		rel++;
	int fd = -1, e = 0;
	const char *walk = rel; /* what the walk below opens, from fd */
#ifdef SYS_openat2
	if (!md_no_openat2) {
		struct { uint64_t flags, mode, resolve; } how = {
			O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		fd = (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof how);
		if (fd >= 0)
			return fd;
		const char *last = strrchr(rel, '/');
		char parent[PATH_MAX];
		if (errno == ENOSYS || errno == EPERM || errno == E2BIG) {
			md_no_openat2 = 1;
		} else if (mk == MD_MK_NONE && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) {
			return md_root_fail(what, errno); /* the walk would end the same */
		} else if (errno == ENOENT && last && last[1] && (size_t)(last - rel) < sizeof parent) {
			/* a mount point to make is mostly the last component alone:
			 * the walk makes it from its parent, if that is there */
			memcpy(parent, rel, (size_t)(last - rel));
			parent[last - rel] = 0;
			fd = (int)syscall(SYS_openat2, rootfd, parent, &how, sizeof how);
			if (fd >= 0)
				walk = last + 1;
		}
		/* otherwise the walk creates what is missing or names what is wrong */
	}
#endif
	if (fd < 0 && (fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		e = errno;
	for (const char *p = walk; fd >= 0 && *p;) {
		size_t n = strcspn(p, "/");
		char comp[NAME_MAX + 1];
		if (n > NAME_MAX) {
			e = ENAMETOOLONG;
		} else {
			memcpy(comp, p, n);
			comp[n] = 0;
		}
		p += n;
		while (*p == '/')
			p++;
		if (!e && strcmp(comp, ".") == 0)
			continue;
		if (!e && strcmp(comp, "..") == 0)
			e = EINVAL; /* md_secure_join never leaves one: refuse to climb */
		int nfd = e ? -1 : md_root_step(fd, comp, mk, !*p);
		struct stat st;
		if (nfd < 0 && !e)
			e = errno;
		else if (nfd >= 0 && fstat(nfd, &st) < 0)
			e = errno;
		else if (nfd >= 0 && S_ISLNK(st.st_mode))
			e = ELOOP;
		else if (nfd >= 0 && *p && !S_ISDIR(st.st_mode))
			e = ENOTDIR;
		close(fd);
		fd = nfd;
		if (e && fd >= 0) {
			close(fd);
			fd = -1;
		}
	}
	return fd >= 0 ? fd : md_root_fail(what, e);
}

/* mount() onto what fd holds; `what` names it in errors. */
static int md_mount_fd(const char *src, int fd, const char *type, unsigned long flags, const char *data,
                       const char *what)
{
	char t[32];
	snprintf(t, sizeof t, "/proc/self/fd/%d", fd);
	if (mount(src, t, type, flags, data) < 0)
		return md_errno("mount %s on %s", type ? type : (src ? src : "?"), what);
	return 0;
}

static int md_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		return md_errno("mount %s on %s", type ? type : (src ? src : "?"), dst);
	return 0;
}

/* Bind-remount read-only keeping the flags the kernel insists on (nosuid, ...). */
static int md_remount_ro(const char *dst, int rec)
{
	struct statfs sf;
	unsigned long keep = 0;
	if (statfs(dst, &sf) == 0) {
		if (sf.f_flags & ST_NOSUID)
			keep |= MS_NOSUID;
		if (sf.f_flags & ST_NODEV)
			keep |= MS_NODEV;
		if (sf.f_flags & ST_NOEXEC)
			keep |= MS_NOEXEC;
		if (sf.f_flags & ST_NOATIME)
			keep |= MS_NOATIME;
		if (sf.f_flags & ST_RELATIME)
			keep |= MS_RELATIME;
		if (sf.f_flags & ST_NODIRATIME)
			keep |= MS_NODIRATIME;
	}
	return md_mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep | (rec ? MS_REC : 0), NULL);
}

/* Make the mount at rel read-only.  It is opened anew: a descriptor opened
 * before the mount still names the directory underneath. */
static int md_remount_ro_in(int rootfd, const char *rel, const char *what)
{
	int fd = md_root_open(rootfd, rel, MD_MK_NONE, what);
	if (fd < 0)
		return -1;
	char t[32];
	snprintf(t, sizeof t, "/proc/self/fd/%d", fd);
	int r = md_remount_ro(t, 0);
	close(fd);
	return r < 0 ? md_err_wrap("make %s read-only", what) : 0;
}

/* Open rel below rootfd (md_root_open), mount on it, and with ro_bind make
 * the new bind mount read-only. */
static int md_mount_in(int rootfd, const char *rel, enum md_mk mk, const char *what, const char *src,
                       const char *type, unsigned long flags, const char *data, int ro_bind)
{
	int fd = md_root_open(rootfd, rel, mk, what);
	if (fd < 0)
		return -1;
	int r = md_mount_fd(src, fd, type, flags, data, what);
	close(fd);
	if (r == 0 && ro_bind)
		r = md_remount_ro_in(rootfd, rel, what);
	return r;
}

/*
 * /proc, /dev and /sys get the kernel's filesystems on the image's own
 * directory.  Where the image has a symlink instead, mounting through it
 * put them where the link points, outside the root too (runc's
 * CVE-2019-19921); runc and crun refuse a symlink at /proc and /sys, we
 * refuse anything but a directory at all three.  A missing one is made.
 */
static int md_child_kernel_dir(int rootfd, const char *name)
{
	struct stat st;
	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
		return 0;
	return md_err("/%s in the image is %s: it must be a directory", name,
	              S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
}

/* ---- users: USER and -u resolved from the image's own files ---- */

struct md_cred {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char home[256];
};

/* Look name (or numeric id) up in an /etc/passwd- or /etc/group-style file. */
static int md_pw_lookup(const char *file, const char *key, int want_fields, char **fields)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return 0;
	char line[1024];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *v[8] = {0};
		int n = 0;
		for (char *s = line, *c; n < 8; s = c + 1) {
			v[n++] = s;
			c = strchr(s, ':');
			if (!c)
				break;
			*c = 0;
		}
		if (n < want_fields)
			continue;
		int numeric = key[0] && strspn(key, "0123456789") == strlen(key);
		if (strcmp(v[0], key) == 0 || (numeric && strcmp(v[2], key) == 0)) {
			for (int i = 0; i < n; i++)
				fields[i] = md_strdup(v[i]);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* Resolve "user[:group]" inside the current root (after pivot_root). */
static int md_cred_resolve(const char *spec, struct md_cred *cr, const struct md_json *groupadd)
{
	char user[256] = "", group[256] = "";
	memset(cr, 0, sizeof *cr);
	snprintf(cr->home, sizeof cr->home, "/");
	if (spec && *spec) {
		const char *c = strchr(spec, ':');
		snprintf(user, sizeof user, "%.*s", c ? (int)(c - spec) : (int)strlen(spec), spec);
		if (c)
			snprintf(group, sizeof group, "%s", c + 1);
	}
	if (!*user)
		snprintf(user, sizeof user, "0");
	char *pw[8] = {0};
	int numeric = strspn(user, "0123456789") == strlen(user);
	const char *uname = NULL;
	if (md_pw_lookup("/etc/passwd", user, 7, pw)) {
		cr->uid = (uid_t)strtoul(pw[2], NULL, 10);
		cr->gid = (gid_t)strtoul(pw[3], NULL, 10);
		snprintf(cr->home, sizeof cr->home, "%s", pw[5] ? pw[5] : "/");
		uname = pw[0];
	} else if (numeric) {
		cr->uid = (uid_t)strtoul(user, NULL, 10);
		cr->gid = cr->uid == 0 ? 0 : cr->uid; /* Docker: gid = uid when there is no entry? no: 0 */
		cr->gid = 0;
	} else {
		return md_err("unable to find user %s: no matching entries in passwd file", user);
	}
	if (*group) {
		char *gr[8] = {0};
		if (md_pw_lookup("/etc/group", group, 3, gr))
			cr->gid = (gid_t)strtoul(gr[2], NULL, 10);
		else if (strspn(group, "0123456789") == strlen(group))
			cr->gid = (gid_t)strtoul(group, NULL, 10);
		else
			return md_err("unable to find group %s: no matching entries in group file", group);
		for (int i = 0; i < 8; i++)
			free(gr[i]);
	}
	/* supplementary groups: every group that lists the user */
	cr->groups[cr->ngroups++] = cr->gid;
	FILE *f = uname ? fopen("/etc/group", "re") : NULL;
	char line[4096];
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *name = strtok(line, ":"), *pass = strtok(NULL, ":"), *gid = strtok(NULL, ":"),
		     *mem = strtok(NULL, ":");
		(void)name;
		(void)pass;
		if (!gid || !mem)
			continue;
		for (char *m = strtok(mem, ","); m; m = strtok(NULL, ","))
			if (strcmp(m, uname) == 0 && cr->ngroups < 64) {
				gid_t g = (gid_t)strtoul(gid, NULL, 10);
				int dup = 0;
				for (int i = 0; i < cr->ngroups; i++)
					dup |= cr->groups[i] == g;
				if (!dup)
					cr->groups[cr->ngroups++] = g;
			}
	}
	if (f)
		fclose(f);
	for (struct md_json *g = groupadd ? groupadd->child : NULL; g && cr->ngroups < 64; g = g->next) {
		char *gr[8] = {0};
		const char *gs = md_json_str(g) ? g->s : "";
		if (md_pw_lookup("/etc/group", gs, 3, gr))
			cr->groups[cr->ngroups++] = (gid_t)strtoul(gr[2], NULL, 10);
		else if (*gs && strspn(gs, "0123456789") == strlen(gs))
			cr->groups[cr->ngroups++] = (gid_t)strtoul(gs, NULL, 10);
		else
			return md_err("unable to find group %s", gs);
		for (int i = 0; i < 8; i++)
			free(gr[i]);
	}
	for (int i = 0; i < 8; i++)
		free(pw[i]);
	return 0;
}

/* ---- the spec: what the child does, computed in the monitor ---- */

enum md_media_type { MD_M_BIND, MD_M_TMPFS, MD_M_VOLUME };

struct md_mnt {
	enum md_media_type type;
	char *src, *dst, *opts;
	int ro;
	int copyup;  /* a new volume: copy the image's files at dst into it first */
};

struct md_dev {
	char *host, *ctr;
	char perms[4];
	mode_t mode;
	dev_t rdev;
};

enum md_netmode { MD_NET_NONE, MD_NET_HOST, MD_NET_BRIDGE, MD_NET_CONTAINER };

struct md_spec {
	char id[65];
	/* root filesystem */
	char *lower;           /* overlay lowerdir, relative to ROOT */
	char *upper, *work;    /* absolute */
	char *rootfs;          /* the mount point */
	char *fallback;        /* NULL (overlay on the store), "tmpfs" or "copy" */
	char *fallback_size;
	char *copydir;         /* with "copy": the copied root */
	int readonly;
	int discard;           /* --rm: the upper layer goes with the container,
	                          so the overlay need not sync it (volatile) */
	/* process */
	char **argv, **envp;
	char *cwd, *user, *hostname;
	struct md_json *groupadd;
	int tty, init, privileged, nnp, seccomp;
	unsigned short rows, cols; /* the terminal's size at start */
	uint64_t caps;
	struct { int res; struct rlimit rl; } ulimits[16];
	int nulimits;
	/* mounts and devices */
	struct md_mnt *mnts;
	size_t nmnts;
	struct md_dev *devs;
	size_t ndevs;
	char *hostsfile, *hostnamefile, *resolvfile;
	char *shm_size;
	enum md_netmode net;
	pid_t netns_pid;       /* --network container:NAME */
	struct md_netif netifs[8]; /* bridge networking: set up by the monitor */
	int nnetifs;
	int userns;
	uid_t uid_base;
	uint32_t uid_count;
	int cgroupns;
	/* sync with the monitor */
	int fds[3];            /* the child's stdin, stdout, stderr */
	int netns_fd;          /* --network container:NAME: its namespace, or -1 */
	int sync;              /* the child's end of a socketpair */
	int memfd;             /* a sealed copy of minidock for --init, or -1 */
};

/* Docker's masked and read-only paths. */
static const char *const md_masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"};
static const char *const md_readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

/* Send "CODE message" to the monitor and exit: the child's only way to fail. */
static MD_NORETURN void md_child_fail(struct md_spec *sp, int code)
{
	char buf[1100];
	int n = snprintf(buf, sizeof buf, "%d %s", code, md_errmsg[0] ? md_errmsg : "container setup failed");
	if (n > 0)
		md_write_all(sp->sync, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
	_exit(code);
}

static int md_bind(const char *src, const char *dst, int ro, int rec)
{
	if (md_mount(src, dst, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
		return -1;
	return ro ? md_remount_ro(dst, 0) : 0;
}

/* Copy a tree, and the owner, mode, xattrs and times of its top directory
 * (a volume's copy-up); owners, modes and special files as best effort. */
static int md_copy_tree(int sfd, int dfd)
{
	struct md_copy o = {.xattrs = 1};
	struct stat st;
	if (md_copy_walk(sfd, dfd, ".", &o) < 0)
		return -1;
	return fstat(sfd, &st) < 0 ? 0 : md_copy_meta(&o, sfd, dfd, &st, ".");
}

/* The node `name` in the directory dfd (`what` in errors), as the host's
 * `host`. */
static int md_child_node(int dfd, const char *name, const char *what, const char *host, mode_t mode, dev_t rdev)
{
	unlinkat(dfd, name, 0);
	/* no CAP_MKNOD (a user namespace): bind the host's node instead */
	if (mknodat(dfd, name, mode, rdev) < 0)
		return md_mount_in(dfd, name, MD_MK_FILE, what, host, NULL, MS_BIND, NULL, 0);
	return 0;
}

/* A --device node at its path in the container, its directories made. */
static int md_child_dev(int rootfd, const char *rootfs, const char *host, const char *ctr, mode_t mode, dev_t rdev)
{
	char p[PATH_MAX];
	if (md_secure_join(rootfs, ctr, p, sizeof p) < 0)
		return -1;
	char *rel = p + strlen(rootfs), *base = strrchr(rel, '/');
	if (!base || !base[1])
		return md_err("device path %s: not a file name", ctr);
	*base++ = 0;
	int dfd = md_root_open(rootfd, rel, MD_MK_DIR, ctr);
	if (dfd < 0)
		return -1;
	int r = md_child_node(dfd, base, ctr, host, mode, rdev);
	close(dfd);
	return r;
}

/* The container's /dev: a tmpfs with Docker's nodes, devpts, shm, mqueue;
 * everything in it is made relative to dfd, the new tmpfs. */
static int md_child_dev_fill(struct md_spec *sp, int rootfd, int dfd, const char *rootfs)
{
	static const struct { const char *name; unsigned maj, min; } devs[] = {
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	for (size_t i = 0; i < MD_ARRAY_LEN(devs); i++) {
		char host[64];
		snprintf(host, sizeof host, "/dev/%s", devs[i].name);
		if (md_child_node(dfd, devs[i].name, host, host, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min)) < 0)
			return -1;
	}
	if (md_mount_in(dfd, "pts", MD_MK_DIR, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
	                "newinstance,ptmxmode=0666,mode=0620,gid=5", 0) < 0)
		return -1;
	if (symlinkat("pts/ptmx", dfd, "ptmx") < 0)
		return md_errno("symlink /dev/ptmx");
	char opts[64];
	snprintf(opts, sizeof opts, "mode=1777,size=%s", sp->shm_size ? sp->shm_size : "65536k");
	if (md_mount_in(dfd, "shm", MD_MK_DIR, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, 0) < 0 ||
	    md_mount_in(dfd, "mqueue", MD_MK_DIR, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0) < 0)
		return -1;
	static const char *const links[][2] = {
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}};
	for (size_t i = 0; i < MD_ARRAY_LEN(links); i++)
		if (symlinkat(links[i][0], dfd, links[i][1]) < 0)
			return md_errno("symlink /dev/%s", links[i][1]);
	if (sp->tty) {
		int c = md_root_open(dfd, "console", MD_MK_FILE, "/dev/console");
		if (c < 0)
			return -1;
		close(c);
	}
	for (size_t i = 0; i < sp->ndevs; i++)
		if (md_child_dev(rootfd, rootfs, sp->devs[i].host, sp->devs[i].ctr, sp->devs[i].mode, sp->devs[i].rdev) < 0)
			return -1;
	if (sp->privileged) {
		/* every device of the host, as Docker's --privileged */
		DIR *d = opendir("/dev");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			struct stat st, cst;
			char host[PATH_MAX];
			snprintf(host, sizeof host, "/dev/%s", de->d_name);
			if (lstat(host, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) &&
			    fstatat(dfd, de->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0)
				md_child_node(dfd, de->d_name, host, host, st.st_mode, st.st_rdev);
		}
		if (d)
			closedir(d);
		md_err_clear();
	}
	return 0;
}

static int md_child_mount_dev(struct md_spec *sp, int rootfd, const char *rootfs)
{
	if (md_child_kernel_dir(rootfd, "dev") < 0 ||
	    md_mount_in(rootfd, "dev", MD_MK_DIR, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
	                "mode=755,size=65536k", 0) < 0)
		return -1;
	int dfd = md_root_open(rootfd, "dev", MD_MK_NONE, "/dev");
	if (dfd < 0)
		return -1;
	int r = md_child_dev_fill(sp, rootfd, dfd, rootfs);
	close(dfd);
	return r;
}

static int md_child_mount_sys(struct md_spec *sp, int rootfd)
{
	if (md_child_kernel_dir(rootfd, "sys") < 0)
		return -1;
	unsigned long ro = sp->privileged ? 0 : MS_RDONLY;
	if (md_mount_in(rootfd, "sys", MD_MK_DIR, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | ro, NULL, 0) < 0) {
		/* not our own network namespace (--network host): bind the host's */
		if (md_mount_in(rootfd, "sys", MD_MK_DIR, "/sys", "/sys", NULL, MS_BIND | MS_REC, NULL, !sp->privileged) < 0)
			return -1;
	}
	return 0;
}

/* Mirror the host's cgroup mounts, read-only; in the container's cgroup
 * namespace they show the container's own cgroup as the root. */
static int md_child_mount_cgroup(struct md_spec *sp, int rootfd)
{
	const char *p = "/sys/fs/cgroup";
	int cfd = md_root_open(rootfd, p, MD_MK_NONE, p);
	md_err_clear();
	if (cfd < 0)
		return 0;
	close(cfd);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	int have_tmpfs = 0, r = 0;
	char line[4096];
	while (r == 0 && fgets(line, sizeof line, f)) {
		/* id parent maj:min root mountpoint opts ... - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char mp[1024], fstype[64], src[256], sopts[1024];
		const char *q = line;
		for (int k = 0; k < 4; k++)
			q = md_scan_word(q, mp, sizeof mp);
		if (!md_scan_word(q, mp, sizeof mp) ||
		    !md_scan_word(md_scan_word(md_scan_word(sep + 3, fstype, sizeof fstype), src, sizeof src), sopts, sizeof sopts))
			continue;
		int v2 = strcmp(fstype, "cgroup2") == 0;
		if (!v2 && strcmp(fstype, "cgroup") != 0)
			continue;
		if (!md_startswith(mp, "/sys/fs/cgroup"))
			continue;
		if (strcmp(mp, "/sys/fs/cgroup") != 0 && !have_tmpfs) {
			if (md_mount_in(rootfd, p, MD_MK_NONE, p, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", 0) < 0)
				r = -1;
			have_tmpfs = 1;
		}
		/* cgroup v1 options: keep the controllers and name=, drop the rest */
		char opts[1024] = "";
		if (!v2)
			for (char *o = strtok(sopts, ","); o; o = strtok(NULL, ","))
				if (strcmp(o, "rw") && strcmp(o, "ro") && !md_startswith(o, "release_agent") &&
				    !md_startswith(o, "clone_children"))
					snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s%s", *opts ? "," : "", o);
		unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | (sp->privileged ? 0 : MS_RDONLY);
		if (r == 0 && md_mount_in(rootfd, mp, MD_MK_DIR, mp, "cgroup", fstype, fl, v2 ? NULL : opts, 0) < 0 &&
		    md_mount_in(rootfd, mp, MD_MK_DIR, mp, mp, NULL, MS_BIND, NULL, !sp->privileged) < 0)
			r = -1;
	}
	fclose(f);
	/* co-mounted controllers have symlinks (cpu -> cpu,cpuacct) */
	DIR *d = have_tmpfs ? opendir("/sys/fs/cgroup") : NULL;
	cfd = d ? md_root_open(rootfd, p, MD_MK_NONE, p) : -1;
	if (d && cfd < 0)
		r = -1;
	struct dirent *de;
	while (r == 0 && d && (de = readdir(d))) {
		char hp[PATH_MAX], t[PATH_MAX];
		snprintf(hp, sizeof hp, "/sys/fs/cgroup/%s", de->d_name);
		ssize_t tl = readlink(hp, t, sizeof t - 1);
		if (tl <= 0)
			continue;
		t[tl] = 0;
		if (symlinkat(t, cfd, de->d_name) < 0 && errno != EEXIST)
			r = md_errno("symlink %s", hp);
	}
	if (cfd >= 0)
		close(cfd);
	if (r == 0 && have_tmpfs && !sp->privileged)
		r = md_remount_ro_in(rootfd, p, p);
	if (d)
		closedir(d);
	return r;
}

static int md_child_mount_proc(int rootfd)
{
	if (md_child_kernel_dir(rootfd, "proc") < 0)
		return -1;
	return md_mount_in(rootfd, "proc", MD_MK_DIR, "/proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL, 0);
}

static int md_child_mask(struct md_spec *sp, int rootfd)
{
	if (sp->privileged)
		return 0;
	for (size_t i = 0; i < MD_ARRAY_LEN(md_masked_paths); i++) {
		const char *path = md_masked_paths[i];
		int fd = md_root_open(rootfd, path, MD_MK_NONE, path);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
			continue;
		struct stat st;
		int r = fd < 0 || fstat(fd, &st) < 0 ? -1
		        : S_ISDIR(st.st_mode) ? md_mount_fd("tmpfs", fd, "tmpfs", MS_RDONLY, "size=0", path)
		                              : md_mount_fd("/dev/null", fd, NULL, MS_BIND, NULL, path);
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < MD_ARRAY_LEN(md_readonly_paths); i++) {
		const char *path = md_readonly_paths[i];
		int fd = md_root_open(rootfd, path, MD_MK_NONE, path);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
			continue;
		char t[32];
		snprintf(t, sizeof t, "/proc/self/fd/%d", fd);
		int r = fd < 0 ? -1 : md_mount_fd(t, fd, NULL, MS_BIND | MS_REC, NULL, path);
		if (fd >= 0)
			close(fd);
		if (r < 0 || md_remount_ro_in(rootfd, path, path) < 0)
			return -1;
	}
	return 0;
}

/* Docker fills a new volume from the image's files at its path (fd). */
static int md_volume_copyup(struct md_mnt *m, int fd)
{
	int s = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), d = open(m->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = s >= 0 && d >= 0 && md_copy_tree(s, d) < 0 ? md_err_wrap("copy image files into volume at %s", m->dst) : 0;
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return r;
}

static int md_child_volumes(struct md_spec *sp, int rootfd, const char *rootfs)
{
	char p[PATH_MAX];
	size_t rl = strlen(rootfs);
	for (size_t i = 0; i < sp->nmnts; i++) {
		struct md_mnt *m = &sp->mnts[i];
		if (md_secure_join(rootfs, m->dst, p, sizeof p) < 0)
			return -1;
		struct stat st;
		int isdir = m->type == MD_M_TMPFS || stat(m->src, &st) < 0 || S_ISDIR(st.st_mode);
		/* one descriptor for the copy and the mount: both act on what was resolved */
		int fd = md_root_open(rootfd, p + rl, MD_MK_NONE, m->dst), made = 0;
		if (fd < 0 && errno == ENOENT) {
			fd = md_root_open(rootfd, p + rl, isdir ? MD_MK_DIR : MD_MK_FILE, m->dst);
			made = 1;
		}
		if (fd < 0)
			return -1;
		int r = m->copyup && isdir && !made ? md_volume_copyup(m, fd) : 0;
		if (r == 0 && m->type == MD_M_TMPFS) {
			unsigned long fl = MS_NOSUID | MS_NODEV | (m->ro ? MS_RDONLY : 0);
			r = md_mount_fd("tmpfs", fd, "tmpfs", fl, m->opts && *m->opts ? m->opts : NULL, m->dst);
		} else if (r == 0) {
			r = md_mount_fd(m->src, fd, NULL, MS_BIND | MS_REC, NULL, m->dst);
		}
		close(fd);
		if (r == 0 && m->type != MD_M_TMPFS && m->ro)
			r = md_remount_ro_in(rootfd, p + rl, m->dst);
		if (r < 0)
			return -1;
	}
	const char *etc[][2] = {{sp->hostsfile, "/etc/hosts"}, {sp->hostnamefile, "/etc/hostname"},
	                        {sp->resolvfile, "/etc/resolv.conf"}};
	for (size_t i = 0; i < 3; i++) {
		if (!etc[i][0])
			continue;
		if (md_secure_join(rootfs, etc[i][1], p, sizeof p) < 0 ||
		    md_mount_in(rootfd, p + rl, MD_MK_FILE, etc[i][1], etc[i][0], NULL, MS_BIND, NULL, 0) < 0)
			return -1;
	}
	return 0;
}

/* Into the directory sp->lower's entries are relative to: ROOT, or a user
 * namespace range's copies. */
static int md_lower_chdir(const struct md_spec *sp)
{
	char *d = sp->userns ? md_store_path("userns/%u-%u", sp->uid_base, sp->uid_count) : md_strdup(md_store.root);
	int r = chdir(d) < 0 ? md_errno("chdir %s", d) : 0;
	free(d);
	return r;
}

/* Mount the container's root filesystem at sp->rootfs: the overlay of the
 * image's layers and the container's upper layer, or a fallback. */
static int md_rootfs_mount(struct md_spec *sp)
{
	const char *rootfs = sp->rootfs;
	if (sp->fallback && strcmp(sp->fallback, "copy") == 0) {
		if (md_bind(sp->copydir, rootfs, 0, 0) < 0)
			return -1;
	} else {
		char *upper = sp->upper, *work = sp->work, *tu = NULL, *tw = NULL;
		if (sp->fallback) { /* tmpfs upper: the store cannot hold one */
			char *t = md_asprintf("%s.upper", rootfs);
			char opts[64];
			snprintf(opts, sizeof opts, "mode=755,size=%s", sp->fallback_size ? sp->fallback_size : "64m");
			if (md_ensure_path(t, 1) < 0 || md_mount("tmpfs", t, "tmpfs", 0, opts) < 0) {
				free(t);
				return -1;
			}
			upper = tu = md_asprintf("%s/upper", t);
			work = tw = md_asprintf("%s/work", t);
			free(t);
			if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0)
				return md_errno("mkdir %s", upper);
		}
		if (md_lower_chdir(sp) < 0)
			return -1;
		char *opts = md_asprintf("lowerdir=%s,upperdir=%s,workdir=%s", sp->lower, upper, work);
		if (strlen(opts) >= 4096) {
			size_t n = strlen(opts);
			free(opts);
			return md_err("the overlay mount of the image's layers needs %zu bytes of options, more than a page "
			              "(4096): a shorter store path leaves more room", n);
		}
		/* an upper layer that is thrown away need not be synced: without
		 * "volatile" the overlay's unmount syncs the whole store (a journal
		 * commit and a cache flush on ext4); kernels before 5.10 lack it */
		int r = -1;
		if (sp->discard) {
			char *vo = md_asprintf("%s,volatile", opts);
			r = strlen(vo) < 4096 ? mount("overlay", rootfs, "overlay", 0, vo) : -1;
			free(vo);
		}
		if (r < 0)
			r = md_mount("overlay", rootfs, "overlay", 0, opts);
		free(opts);
		free(tu);
		free(tw);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int md_child_rootfs(struct md_spec *sp)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return md_errno("make mounts private");
	const char *rootfs = sp->rootfs;
	/* with a user namespace the monitor mounted it already; a bind of it
	 * onto itself makes it a mount of our own namespace, which pivot_root
	 * needs (mounts inherited from a more privileged one are locked) */
	if (!sp->userns && md_rootfs_mount(sp) < 0)
		return -1;
	if (sp->userns && md_bind(rootfs, rootfs, 0, 1) < 0)
		return -1;
	/* every mount point below is opened relative to this, see md_root_open */
	int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return md_errno("open %s", rootfs);
	if (md_child_mount_proc(rootfd) < 0 || md_child_mount_dev(sp, rootfd, rootfs) < 0 ||
	    md_child_mount_sys(sp, rootfd) < 0 || md_child_volumes(sp, rootfd, rootfs) < 0 || md_child_mask(sp, rootfd) < 0)
		return -1;
	/*
	 * Second go: meanwhile the monitor moved us into our cgroup (slow on
	 * cgroup v1: the kernel waits for an RCU grace period) and plugged in
	 * the network; from here on we need both.
	 */
	char go;
	if (read(sp->sync, &go, 1) != 1)
		_exit(125);
	if (sp->cgroupns && unshare(CLONE_NEWCGROUP) < 0 && errno != EINVAL)
		return md_errno("create cgroup namespace");
	int r = md_child_mount_cgroup(sp, rootfd);
	close(rootfd);
	if (r < 0)
		return -1;
	if (sp->nnetifs && md_net_configure(sp->netifs, sp->nnetifs) < 0)
		return -1;
	/* pivot_root(".", ".") stacks the old root on the new one; then drop it */
	if (chdir(rootfs) < 0)
		return md_errno("chdir %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return md_errno("detach the old root");
	} else if (errno == EINVAL) {
		/* the host runs from an initramfs, where pivot_root is refused */
		if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return md_errno("move into the root filesystem");
	} else {
		return md_errno("pivot_root");
	}
	if (chdir("/") < 0)
		return md_errno("chdir /");
	if (sp->readonly && md_remount_ro("/", 0) < 0)
		return -1;
	return 0;
}

/* Bring the loopback interface up in a new network namespace. */
static int md_net_lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return md_errno("socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	int r = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
		r = md_errno("bring up lo");
	close(s);
	return r;
}

/* Look a command up in PATH inside the container's root, as execvp would. */
static int md_find_exec(const char *cmd, char **envp, char *out, size_t n)
{
	if (strchr(cmd, '/')) {
		snprintf(out, n, "%s", cmd);
		return access(out, F_OK) == 0 ? 0 : -1;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char **e = envp; e && *e; e++)
		if (md_startswith(*e, "PATH="))
			path = *e + 5;
	for (const char *p = path;;) {
		const char *c = strchr(p, ':');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		snprintf(out, n, "%.*s/%s", (int)l, l ? p : ".", cmd);
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
		if (!c)
			break;
		p = c + 1;
	}
	return -1;
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
/* Descriptors from lo up are closed; or, with cloexec, gone by the exec
 * that follows, keep1 and keep2 usable until then (marked close-on-exec,
 * or closed but for those two).  One close_range call on Linux 5.11+;
 * before, /proc/self/fd says which to close (a loop when /proc is not
 * there). */
static int md_no_close_range; /* the kernel has none (before 5.11) */

static void md_close_from(int lo, int cloexec, int keep1, int keep2)
{
#ifdef SYS_close_range
	if (!md_no_close_range && syscall(SYS_close_range, lo, ~0u, cloexec ? CLOSE_RANGE_CLOEXEC : 0) == 0)
		return;
	md_no_close_range = 1;
#endif
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		for (int fd = lo; fd < 4096; fd++)
			if (fd != keep1 && fd != keep2)
				close(fd);
		return;
	}
	int dfd = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (fd >= lo && fd != dfd && fd != keep1 && fd != keep2)
			close(fd);
	}
	closedir(d);
}

/* Credentials, capabilities, no_new_privs and seccomp, in the order that works. */
static int md_child_privs(struct md_spec *sp, struct md_cred *cr)
{
#if MD_FEATURE_SECCOMP
	struct sock_fprog prog = {0, NULL};
	if (sp->seccomp && md_seccomp_build(sp->caps, &prog) < 0)
		return -1;
#endif
	/* keep capabilities across setuid; the final sets come from capset */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return md_errno("keep capabilities");
	if (setgroups((size_t)cr->ngroups, cr->groups) < 0)
		return md_errno("setgroups");
	if (setresgid(cr->gid, cr->gid, cr->gid) < 0)
		return md_errno("setgid %u", (unsigned)cr->gid);
#if MD_FEATURE_SECCOMP
	/* without no_new_privs the filter must go in while CAP_SYS_ADMIN remains */
	if (sp->seccomp && !sp->nnp && md_seccomp_install(&prog) < 0)
		return -1;
#endif
	/* the bounding set while CAP_SETPCAP is still effective */
	if (md_caps_bound(sp->caps) < 0)
		return -1;
	if (setresuid(cr->uid, cr->uid, cr->uid) < 0)
		return md_errno("setuid %u", (unsigned)cr->uid);
	if (md_caps_apply(sp->caps, cr->uid == 0) < 0)
		return -1;
	if (sp->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return md_errno("no_new_privs");
#if MD_FEATURE_SECCOMP
	if (sp->seccomp && sp->nnp && md_seccomp_install(&prog) < 0)
		return -1;
	free(prog.filter);
#endif
	return 0;
}

/* ---- --init: reap zombies and pass signals on, like tini ---- */

static volatile sig_atomic_t md_init_sig;

static void md_init_on_signal(int sig)
{
	md_init_sig = sig;
}

static int md_init_main(char **argv)
{
	/* argv: minidock-init EXE ARGS... */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t child = fork();
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		setpgid(0, 0);
		if (isatty(0))
			tcsetpgrp(0, getpid());
		execv(argv[1], argv + 1);
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (child < 0)
		_exit(125);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = md_init_on_signal;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
			sigaction(s, &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (;;) {
		int status;
		pid_t p = waitpid(-1, &status, 0);
		if (p < 0 && errno == EINTR) {
			if (md_init_sig) {
				kill(child, md_init_sig);
				md_init_sig = 0;
			}
			continue;
		}
		if (p < 0)
			_exit(125);
		if (p == child)
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

/* Before the root filesystem: ids, signals, stdio, network namespace, hostname. */
static void md_child_enter(struct md_spec *sp)
{
	char go;
	/* first go: the user namespace's maps are written; the cgroup and the
	 * network come with the second one (md_child_rootfs) */
	if (read(sp->sync, &go, 1) != 1)
		_exit(125);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* in a new user namespace we still carry the host's ids: become its root */
	if (sp->userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		md_errno("become root in the user namespace");
		md_child_fail(sp, 125);
	}
	/* the monitor blocks signals it reads from a signalfd: not ours to keep */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	for (int i = 0; i < 3; i++)
		if (sp->fds[i] >= 0 && sp->fds[i] != i && dup2(sp->fds[i], i) < 0) {
			md_errno("set up stdio");
			md_child_fail(sp, 125);
		}
	if (sp->netns_fd >= 0 && setns(sp->netns_fd, CLONE_NEWNET) < 0) {
		md_errno("join the network namespace");
		md_child_fail(sp, 125);
	}
	if (sp->net != MD_NET_HOST && sp->net != MD_NET_CONTAINER && md_net_lo_up() < 0)
		md_child_fail(sp, 125);
	if (sethostname(sp->hostname, strlen(sp->hostname)) < 0) {
		md_errno("sethostname");
		md_child_fail(sp, 125);
	}
}

/* Pass a descriptor over a Unix socket (one byte 'T' carries it). */
static int md_fd_pass(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	char b = 'T';
	struct iovec iov = {&b, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* The monitor holds the terminal's master side: it goes over the sync socket. */
static void md_child_tty_pass(struct md_spec *sp, int ptymaster)
{
	if (md_fd_pass(sp->sync, ptymaster) < 0) {
		md_errno("pass the terminal");
		md_child_fail(sp, 125);
	}
}

/* -t: a terminal of the container's own devpts, handed to the monitor. */
static void md_child_tty(struct md_spec *sp)
{
	int ptymaster = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0;
	if (ptymaster < 0 || ioctl(ptymaster, TIOCSPTLCK, &unlock) < 0) {
		md_errno("open a terminal");
		md_child_fail(sp, 125);
	}
	int ptyslave = ioctl(ptymaster, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (ptyslave < 0) {
		int n;
		char name[64];
		if (ioctl(ptymaster, TIOCGPTN, &n) == 0) {
			snprintf(name, sizeof name, "/dev/pts/%d", n);
			ptyslave = open(name, O_RDWR | O_NOCTTY);
		}
	}
	if (ptyslave < 0) {
		md_errno("open the terminal's peer");
		md_child_fail(sp, 125);
	}
	struct winsize ws = {sp->rows, sp->cols, 0, 0};
	ioctl(ptyslave, TIOCSWINSZ, &ws);
	int ptn, cfd = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (cfd >= 0 && ioctl(ptymaster, TIOCGPTN, &ptn) == 0) {
		char sn[64];
		snprintf(sn, sizeof sn, "/dev/pts/%d", ptn);
		md_mount_fd(sn, cfd, NULL, MS_BIND, NULL, "/dev/console"); /* not fatal */
	}
	if (cfd >= 0)
		close(cfd);
	md_child_tty_pass(sp, ptymaster);
	close(ptymaster);
	setsid();
	if (ioctl(ptyslave, TIOCSCTTY, 0) < 0) { /* not fatal */ }
	dup2(ptyslave, 0);
	dup2(ptyslave, 1);
	dup2(ptyslave, 2);
	if (ptyslave > 2)
		close(ptyslave);
}

/* HOME comes from passwd unless set. */
static void md_child_home(struct md_spec *sp, const struct md_cred *cr)
{
	int have_home = 0, nenv = 0;
	for (char **e = sp->envp; e && *e; e++, nenv++)
		have_home |= md_startswith(*e, "HOME=");
	if (!have_home) {
		sp->envp = md_realloc(sp->envp, (size_t)(nenv + 2) * sizeof *sp->envp);
		sp->envp[nenv] = md_asprintf("HOME=%s", cr->home);
		sp->envp[nenv + 1] = NULL;
	}
}

/* The process starts in its working directory, made if missing. */
static void md_child_workdir(struct md_spec *sp, const struct md_cred *cr)
{
	const char *cwd = sp->cwd && *sp->cwd ? sp->cwd : "/";
	if (chdir(cwd) < 0) {
		/* Docker creates a missing working directory */
		if (errno != ENOENT || md_mkdir_p(cwd, 0755) < 0 || chown(cwd, cr->uid, cr->gid) < 0 || chdir(cwd) < 0) {
			md_errno("chdir to working directory %s", cwd);
			md_child_fail(sp, 125);
		}
	}
}

/* Replace ourselves with the command (or --init running it); never returns. */
static MD_NORETURN void md_child_exec(struct md_spec *sp, char *exe)
{
	/* fds 0-2 stay; sync (and the memfd) are close-on-exec, so the monitor
	 * sees EOF on success; nothing else of the host's may leak in */
	md_close_from(3, 1, sp->sync, sp->memfd);
	/* credentials changed: the parent-death signal must be set again */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (sp->init) {
		/* our own small init as PID 1, run from a sealed copy of minidock */
		char **av = md_alloc((size_t)(32 + 2) * sizeof *av);
		size_t n = 0;
		av[n++] = "minidock-init";
		av[n++] = exe;
		for (char **a = sp->argv + 1; *a; a++) {
			av = md_realloc(av, (n + 2) * sizeof *av);
			av[n++] = *a;
		}
		av[n] = NULL;
		if (sp->memfd >= 0)
			fexecve(sp->memfd, av, sp->envp);
		md_init_main(av); /* no memfd (old kernel): run it from here */
	}
	execve(exe, sp->argv, sp->envp);
	int e = errno;
	md_err("exec: \"%s\": %s", sp->argv[0], strerror(e));
	md_child_fail(sp, e == ENOENT ? 127 : 126);
}

/* The container's first process: runs in the new namespaces, never returns. */
static int md_child_main(void *arg)
{
	struct md_spec *sp = arg;
	md_err_clear();
	md_child_enter(sp);
	if (md_child_rootfs(sp) < 0)
		md_child_fail(sp, 125);
	if (sp->tty)
		md_child_tty(sp);
	for (int i = 0; i < sp->nulimits; i++)
		if (setrlimit(sp->ulimits[i].res, &sp->ulimits[i].rl) < 0) {
			md_errno("set ulimit");
			md_child_fail(sp, 125);
		}
	struct md_cred cr;
	if (md_cred_resolve(sp->user, &cr, sp->groupadd) < 0)
		md_child_fail(sp, 125);
	md_child_home(sp, &cr);
	md_child_workdir(sp, &cr);
	char exe[PATH_MAX];
	if (!sp->argv || !sp->argv[0]) {
		md_err("no command specified");
		md_child_fail(sp, 125);
	}
	if (md_find_exec(sp->argv[0], sp->envp, exe, sizeof exe) < 0) {
		md_err("exec: \"%s\": executable file not found in $PATH", sp->argv[0]);
		md_child_fail(sp, 127);
	}
	if (md_child_privs(sp, &cr) < 0)
		md_child_fail(sp, 125);
	md_child_exec(sp, exe);
}

/* A sealed in-memory copy of this binary, so code of ours that runs inside
 * a container never maps the host's file (CVE-2019-5736). */
static int md_exe_memfd(void)
{
#ifdef MFD_ALLOW_SEALING
	int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -1;
	int fd = memfd_create("minidock", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		close(src);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(src, buf, sizeof buf)) > 0)
		if (md_write_all(fd, buf, (size_t)n) < 0) {
			n = -1;
			break;
		}
	close(src);
	if (n < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		close(fd);
		return -1;
	}
	return fd;
#else
	return -1;
#endif
}

/**** 18 monitor: supervision, logs, attach, restart ************************/
/*
 * One small process per running container, the same binary run as
 * `minidock __monitor ID`.  It starts the container (section 15), reaps
 * its first process, records the exit in state.json, writes the logs,
 * serves attach clients on RUNROOT/containers/ID/attach.sock, and applies
 * the restart policy.  It holds monitor.lock while it lives: that lock,
 * not a pid, is how everyone else knows the container runs.
 *
 * Attach protocol, both ways: frames of [type:1][length:4, big-endian][payload].
 *   client -> monitor: H hello ("in out err"), I stdin data, C close stdin,
 *                      R resize ("rows cols"), S signal ("N"), T stop ("secs"),
 *                      D stop for `rm -f` ("secs": no exit record), K kill
 *                      ("N": by hand), W wait for the exit
 *   monitor -> client: A started ("pid"), F failed ("code kind message"),
 *                      O stdout, E stderr, X exited ("code")
 *
 * May call: sections 01-17.
 */

enum { MD_LOG_MAX_DEFAULT = 1 << 20, MD_LOG_FILES_DEFAULT = 2 };

/* "10m", "512k", "1g", "100" -> bytes; -1 if invalid. */
static int64_t md_parse_size(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	double v = md_strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	int64_t mul = 1;
	switch (tolower((unsigned char)*end)) {
	case 0: break;
	case 'b': mul = 1; end++; break;
	case 'k': mul = 1024; end++; break;
	case 'm': mul = 1024 * 1024; end++; break;
	case 'g': mul = 1024ll * 1024 * 1024; end++; break;
	case 't': mul = 1024ll * 1024 * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end == 'b' || *end == 'B' || *end == 'i')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	if (v * (double)mul > 9e18)
		return -1;
	return (int64_t)(v * (double)mul);
}

/* ---- frames ---- */

/* Frames go over unix sockets only (md_put_all's sock). */
static int md_frame_send(int fd, char type, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 8), (unsigned char)n};
	if (md_put_all(fd, h, 5, 1) < 0 || (n && md_put_all(fd, p, n, 1) < 0))
		return -1;
	return 0;
}

static int md_frame_sends(int fd, char type, const char *s)
{
	return md_frame_send(fd, type, s, strlen(s));
}

/* A queue of bytes waiting for a non-blocking descriptor: the attach relay
 * queues frames for the monitor, the monitor queues the container's stdin,
 * so that neither side ever blocks writing while the other blocks too. */
struct md_queue {
	char *p;
	size_t len, cap;
};

static int md_queue_add(struct md_queue *q, const void *p, size_t n)
{
	if (q->len + n > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		while (cap < q->len + n)
			cap *= 2;
		char *np = realloc(q->p, cap);
		if (!np)
			return -1;
		q->p = np;
		q->cap = cap;
	}
	memcpy(q->p + q->len, p, n);
	q->len += n;
	return 0;
}

static int md_queue_frame(struct md_queue *q, char type, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 8), (unsigned char)n};
	return md_queue_add(q, h, 5) < 0 || (n && md_queue_add(q, p, n) < 0) ? -1 : 0;
}

/* Write what fd takes now; -1 (errno set) when fd is broken. */
static int md_queue_flush(struct md_queue *q, int fd)
{
	while (q->len) {
		ssize_t w = send(fd, q->p, q->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, q->p, q->len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		memmove(q->p, q->p + w, q->len - (size_t)w);
		q->len -= (size_t)w;
	}
	return 0;
}

static void md_queue_free(struct md_queue *q)
{
	free(q->p);
	*q = (struct md_queue){NULL, 0, 0};
}

/* Output of attach, logs and exec: to fd 1 or 2, or, for an API client
 * without a terminal (MINIDOCK_API_STREAM=mux), to fd 1 in Docker's
 * multiplexed stream format: [stream, 0, 0, 0, size (big-endian)] + data. */
static int md_out_mux;
static int md_api_child; /* serving an API client: no signals proxied, no terminal modes */

static int md_out(int fd, const void *p, size_t n)
{
	if (!md_out_mux || (fd != 1 && fd != 2))
		return md_write_all(fd, p, n);
	while (n) {
		size_t k = n > 1u << 20 ? 1u << 20 : n;
		unsigned char h[8] = {(unsigned char)fd, 0, 0, 0, (unsigned char)(k >> 24), (unsigned char)(k >> 16),
		                      (unsigned char)(k >> 8), (unsigned char)k};
		if (md_write_all(1, h, 8) < 0 || md_write_all(1, p, k) < 0)
			return -1;
		p = (const char *)p + k;
		n -= k;
	}
	return 0;
}

/* Say "minidock: CMD: message" on stderr, or in an API stream's stderr
 * frames, where it must not break the stream's framing. */
static void md_say(const char *msg)
{
	if (md_out_mux) {
		char *l = md_asprintf("minidock: %s: %s\n", md_cmdname, msg);
		md_out(2, l, strlen(l));
		free(l);
		return;
	}
	fprintf(stderr, "minidock: %s: %s\n", md_cmdname, msg);
}

/* Print the recorded error (md_say) and return code: the CLI's commands,
 * and the processes that stand in for them (the sealed __exec, an API
 * exec, an API attach). */
static int md_fail(int code)
{
	md_say(md_errmsg);
	return code;
}

/* The terminal size to give a container or exec: the API's (a file named
 * by MINIDOCK_TTY_SIZE_FILE: "ROWS COLS"), else our terminal's. */
static int md_tty_size(struct winsize *ws)
{
	const char *f = getenv("MINIDOCK_TTY_SIZE_FILE");
	if (f && *f) {
		char *t = md_read_file(f, 64, NULL);
		unsigned long long r = 0, c = 0;
		int ok = md_scan_u64(md_scan_u64(t, &r, 10), &c, 10) && r && c && r < 65536 && c < 65536;
		free(t);
		md_err_clear();
		if (ok) {
			memset(ws, 0, sizeof *ws);
			ws->ws_row = (unsigned short)r;
			ws->ws_col = (unsigned short)c;
		}
		return ok ? 0 : -1;
	}
	return ioctl(1, TIOCGWINSZ, ws) == 0 || ioctl(0, TIOCGWINSZ, ws) == 0 ? 0 : -1;
}

/* Read bytes from sock; a descriptor passed with md_fd_pass lands in *fd
 * and its 'T' byte is dropped. Returns the bytes left in buf. */
static ssize_t md_fd_recv(int sock, char *buf, size_t cap, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {buf, cap};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && buf[0] == 'T') {
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
		memmove(buf, buf + 1, (size_t)--n);
	}
	return n;
}

/* Read one frame (blocking); payload is NUL-terminated; -1 at EOF/error. */
static int md_frame_recv(int fd, char *type, char *buf, size_t cap, size_t *len)
{
	unsigned char h[5];
	if (md_read_full(fd, h, 5) != 5)
		return -1;
	size_t n = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
	if (n >= cap)
		return -1;
	if (n && md_read_full(fd, buf, n) != (ssize_t)n)
		return -1;
	buf[n] = 0;
	*type = (char)h[0];
	*len = n;
	return 0;
}

/* ---- logs: CRI format lines, "TIME STREAM F|P DATA", size-capped ---- */

struct md_log {
	char *path;
	int fd;
	int64_t size, max;
	int files;
	char part[2][16384]; /* a partial line per stream */
	size_t plen[2];
};

static void md_log_open(struct md_log *lg)
{
	lg->fd = open(lg->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	struct stat st;
	lg->size = lg->fd >= 0 && fstat(lg->fd, &st) == 0 ? st.st_size : 0;
}

static void md_log_rotate(struct md_log *lg)
{
	if (lg->files <= 1) {
		if (ftruncate(lg->fd, 0) == 0)
			lg->size = 0;
		return;
	}
	for (int i = lg->files - 1; i >= 1; i--) {
		char *from = i == 1 ? md_strdup(lg->path) : md_asprintf("%s.%d", lg->path, i - 1);
		char *to = md_asprintf("%s.%d", lg->path, i);
		rename(from, to);
		free(from);
		free(to);
	}
	close(lg->fd);
	md_log_open(lg);
}

static void md_log_line(struct md_log *lg, int stream, const char *data, size_t n, int partial)
{
	if (lg->fd < 0)
		return;
	char ts[64];
	md_time_now(ts, sizeof ts);
	char head[96];
	int hl = snprintf(head, sizeof head, "%s %s %c ", ts, stream ? "stderr" : "stdout", partial ? 'P' : 'F');
	int64_t add = hl + (int64_t)n + 1;
	if (lg->max > 0 && lg->size + add > lg->max && lg->size > 0)
		md_log_rotate(lg);
	struct iovec iov[3] = {{head, (size_t)hl}, {(void *)data, n}, {"\n", 1}};
	if (writev(lg->fd, iov, 3) > 0)
		lg->size += add;
}

static void md_log_write(struct md_log *lg, int stream, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		if (lg->plen[stream] + k >= sizeof lg->part[stream]) {
			/* a very long line: write what we have as a partial line */
			size_t room = sizeof lg->part[stream] - lg->plen[stream];
			memcpy(lg->part[stream] + lg->plen[stream], p, room);
			md_log_line(lg, stream, lg->part[stream], sizeof lg->part[stream], 1);
			lg->plen[stream] = 0;
			p += room;
			n -= room;
			continue;
		}
		memcpy(lg->part[stream] + lg->plen[stream], p, k);
		lg->plen[stream] += k;
		if (!nl)
			break;
		md_log_line(lg, stream, lg->part[stream], lg->plen[stream], 0);
		lg->plen[stream] = 0;
		p += k + 1;
		n -= k + 1;
	}
}

static void md_log_flush(struct md_log *lg)
{
	for (int s = 0; s < 2; s++)
		if (lg->plen[s]) {
			md_log_line(lg, s, lg->part[s], lg->plen[s], 1);
			lg->plen[s] = 0;
		}
}

/* ---- the monitor's state ---- */

#define MD_MON_CLIENTS 16

struct md_mon_client {
	int fd;
	int out;       /* wants output */
	int in;        /* sends stdin */
	int wait;      /* wants the exit */
};

struct md_mon {
	struct md_ctr c;
	struct md_spec sp;
	struct md_log log;
	pid_t pid;               /* the container's first process, in our namespace */
	int out[2];              /* read ends: stdout, stderr (or the pty master in out[0]) */
	int in;                  /* write end of the container's stdin, or the pty master */
	int pty;                 /* the pty master, when Tty */
	int lsock;               /* attach.sock */
	int sfd;                 /* signalfd */
	struct md_mon_client cl[MD_MON_CLIENTS];
	struct md_queue inq;     /* stdin the container has not taken yet */
	unsigned short rows, cols; /* the first client's terminal size */
	int in_eof;              /* close m->in once inq is drained */
	int hold, go;            /* wait for a 'G' frame before starting (API attach) */
	int stopping;            /* a stop was asked for */
	time_t kill_at;          /* when the stop timeout ends */
	int exit_code;
	int oom;
	struct timespec started;
	int restart_count;
};

static void md_mon_broadcast(struct md_mon *m, char type, const void *p, size_t n, int outonly)
{
	for (int i = 0; i < MD_MON_CLIENTS; i++) {
		struct md_mon_client *k = &m->cl[i];
		if (k->fd < 0 || (outonly && !k->out))
			continue;
		if (md_frame_send(k->fd, type, p, n) < 0) {
			close(k->fd);
			k->fd = -1;
		}
	}
}

static int md_mon_add_client(struct md_mon *m, int fd)
{
	for (int i = 0; i < MD_MON_CLIENTS; i++)
		if (m->cl[i].fd < 0) {
			m->cl[i] = (struct md_mon_client){fd, 0, 0, 0};
			return i;
		}
	close(fd);
	return -1;
}

static void md_mon_stop(struct md_mon *m, int secs)
{
	if (m->pid <= 0)
		return;
	m->stopping = 1;
	if (!m->c.removing) {
		md_json_set(m->c.st, "ManuallyStopped", md_json_newbool(1));
		md_ctr_save_state(&m->c);
	}
	const char *ss = md_json_gets(md_json_get(m->c.cfg, "Config"), "StopSignal");
	int sig = ss ? md_parse_signal(ss) : SIGTERM;
	if (sig <= 0)
		sig = SIGTERM;
	if (secs < 0) {
		long long t = md_json_geti(md_json_get(m->c.cfg, "Config"), "StopTimeout", 10);
		secs = t < 0 ? 10 : (int)t;
	}
	kill(m->pid, sig);
	m->kill_at = time(NULL) + secs;
	if (secs == 0)
		kill(m->pid, SIGKILL);
}

/* Give the container what it takes of its queued stdin, without blocking;
 * close its stdin when input has ended and all of it went through. */
static void md_mon_feed(struct md_mon *m)
{
	if (m->in < 0) {
		if (m->pid > 0)
			m->inq.len = 0;
		return;
	}
	if (md_queue_flush(&m->inq, m->in) < 0 && m->pty < 0) {
		m->inq.len = 0; /* the container closed its stdin */
		m->in_eof = 1;
	}
	if (m->in_eof && !m->inq.len && m->pty < 0) {
		close(m->in);
		m->in = -1;
		m->in_eof = 0;
	}
}

/* Handle one frame from client i. */
static void md_mon_client_frame(struct md_mon *m, int i)
{
	struct md_mon_client *k = &m->cl[i];
	char type, buf[65536];
	size_t n;
	if (md_frame_recv(k->fd, &type, buf, sizeof buf, &n) < 0) {
		if (k->in && m->in >= 0 && m->pty < 0 && md_json_is(md_json_get(md_json_get(m->c.cfg, "Config"), "StdinOnce"), MD_J_TRUE)) {
			m->in_eof = 1;
			md_mon_feed(m);
		}
		close(k->fd);
		k->fd = -1;
		return;
	}
	switch (type) {
	case 'H': {
		/* "in out err wait size=ROWSxCOLS" */
		const char *sz = strstr(buf, "size=");
		unsigned long long rows = 0, cols = 0;
		if (sz && md_scan_u64(md_scan_lit(md_scan_u64(sz + 5, &rows, 10), "x"), &cols, 10) && rows && cols &&
		    rows < 65536 && cols < 65536) {
			m->rows = (unsigned short)rows;
			m->cols = (unsigned short)cols;
		}
		k->out = strstr(buf, "out") != NULL || strstr(buf, "err") != NULL;
		k->in = strstr(buf, "in") != NULL;
		k->wait = strstr(buf, "wait") != NULL;
		m->hold |= strstr(buf, "hold") != NULL;
		break;
	}
	case 'G': /* start (a held monitor) */
		m->go = 1;
		break;
	case 'I':
		if ((m->in >= 0 || m->pid == 0) && !m->in_eof)
			md_queue_add(&m->inq, buf, n); /* before the start: kept for it */
		md_mon_feed(m);
		break;
	case 'C':
		if (m->in >= 0 && m->pty >= 0) {
			char eot = 4; /* ^D: end of input on a terminal */
			md_queue_add(&m->inq, &eot, 1);
		} else if (m->in >= 0 || m->pid == 0) {
			m->in_eof = 1;
		}
		md_mon_feed(m);
		break;
	case 'R':
		if (m->pty >= 0) {
			struct winsize ws = {0, 0, 0, 0};
			unsigned long long rows = 0, cols = 0;
			if (md_scan_u64(md_scan_u64(buf, &rows, 10), &cols, 10)) {
				ws.ws_row = (unsigned short)rows;
				ws.ws_col = (unsigned short)cols;
				ioctl(m->pty, TIOCSWINSZ, &ws);
			}
		}
		break;
	case 'S': /* a signal passed on by an attached client */
		if (m->pid > 0)
			kill(m->pid, atoi(buf));
		break;
	case 'K': /* `minidock kill`: as Docker, the restart policy no longer applies */
		if (m->pid > 0) {
			m->stopping = 1;
			md_json_set(m->c.st, "ManuallyStopped", md_json_newbool(1));
			md_ctr_save_state(&m->c);
			kill(m->pid, atoi(buf));
		}
		break;
	case 'D': /* `rm -f`: if a power cut comes before the removal is
		           * durable, the container is as it was, so nothing is recorded */
		m->c.removing = 1;
		/* fall through */
	case 'T':
		md_mon_stop(m, n ? atoi(buf) : -1);
		break;
	case 'W':
		k->wait = 1;
		break;
	}
}

/* ---- layer links and the root filesystem ---- */

/* A short name for a layer's directory (ROOT/l/12HEX -> ../layers/HEX/diff),
 * so the overlay option string fits in a page with ~250 layers. */
static char *md_layer_link(const char *chain)
{
	char *ldir = md_store_path("l");
	mkdir(ldir, 0700);
	free(ldir);
	char want[128];
	snprintf(want, sizeof want, "../layers/%s/diff", chain + 7);
	char *link = md_store_path("l/%.12s", chain + 7);
	char cur[256];
	ssize_t n = readlink(link, cur, sizeof cur - 1);
	if (n > 0) {
		cur[n] = 0;
		if (strcmp(cur, want) == 0) {
			free(link);
			return md_asprintf("l/%.12s", chain + 7);
		}
		/* a different layer has these 12 digits: use the long path */
		free(link);
		return md_asprintf("layers/%s/diff", chain + 7);
	}
	char *tmp = md_asprintf("%s.tmp-%d", link, (int)getpid());
	unlink(tmp);
	if (symlink(want, tmp) < 0 || rename(tmp, link) < 0) {
		unlink(tmp);
		free(tmp);
		free(link);
		return md_asprintf("layers/%s/diff", chain + 7);
	}
	free(tmp);
	free(link);
	return md_asprintf("l/%.12s", chain + 7);
}

/* Can this directory's filesystem hold an overlay upper layer? */
static const char *md_upper_unsupported(const char *dir)
{
	struct statfs sf;
	if (statfs(dir, &sf) < 0)
		return NULL;
	switch ((unsigned long)sf.f_type) {
	case 0x794c7630UL: return "overlayfs";
	case 0x72b6UL: return "jffs2";
	case 0x73717368UL: return "squashfs";
	case 0x4d44UL: return "vfat";
	case 0x65735546UL: return "fuse";
	case 0x6969UL: return "nfs";
	case 0x858458f6UL: return "ramfs";
	default: return NULL;
	}
}

/* Apply one layer over dfd (whiteouts and opaque directories too): the
 * "copy" fallback for stores that cannot hold an overlay upper. */
static int md_layers_flatten_one(int sfd, int dfd)
{
	return md_copy_walk(sfd, dfd, "a layer", &(struct md_copy){.layer = 1});
}

static int md_layers_flatten(struct md_json *chains, const char *dest)
{
	char *tmp = md_asprintf("%s.tmp", dest);
	md_rm_rf(tmp);
	if (mkdir(tmp, 0755) < 0) {
		free(tmp);
		return md_errno("mkdir %s", dest);
	}
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = dfd < 0 ? -1 : 0;
	for (struct md_json *c = chains ? chains->child : NULL; c && r == 0; c = c->next) {
		char *dd = md_store_path("layers/%s/diff", md_json_str(c) + 7);
		int sfd = open(dd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(dd);
		r = sfd < 0 ? md_errno("open layer %.19s", md_json_str(c)) : md_layers_flatten_one(sfd, dfd);
		if (sfd >= 0) {
			struct stat st;
			if (fstat(sfd, &st) == 0) {
				if (fchown(dfd, st.st_uid, st.st_gid) < 0) { /* best effort */ }
				fchmod(dfd, st.st_mode & 07777);
			}
			close(sfd);
		}
	}
	if (dfd >= 0)
		close(dfd);
	if (r == 0 && (md_store_syncfs() < 0 || rename(tmp, dest) < 0))
		r = md_errno("store %s", dest);
	if (r < 0)
		md_rm_rf(tmp);
	free(tmp);
	return r;
}

static void md_spec_free(struct md_spec *sp)
{
	free(sp->lower);
	free(sp->upper);
	free(sp->work);
	free(sp->rootfs);
	free(sp->copydir);
	for (char **a = sp->argv; a && *a; a++)
		free(*a);
	free(sp->argv);
	for (char **a = sp->envp; a && *a; a++)
		free(*a);
	free(sp->envp);
	for (size_t i = 0; i < sp->nmnts; i++) {
		free(sp->mnts[i].src);
		free(sp->mnts[i].dst);
		free(sp->mnts[i].opts);
	}
	free(sp->mnts);
	for (size_t i = 0; i < sp->ndevs; i++) {
		free(sp->devs[i].host);
		free(sp->devs[i].ctr);
	}
	free(sp->devs);
	free(sp->hostsfile);
	free(sp->hostnamefile);
	free(sp->resolvfile);
	md_json_free(sp->groupadd);
	memset(sp, 0, sizeof *sp);
}

static char **md_json_to_argv(const struct md_json *a, const char *first)
{
	size_t n = (a ? a->n : 0) + 2, k = 0;
	char **v = md_alloc(n * sizeof *v);
	if (first)
		v[k++] = md_strdup(first);
	for (struct md_json *c = a ? a->child : NULL; c; c = c->next)
		v[k++] = md_strdup(md_json_str(c) ? c->s : "");
	v[k] = NULL;
	return v;
}

static const struct { const char *name; int res; } md_rlimits[] = {
	{"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA}, {"fsize", RLIMIT_FSIZE},
	{"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
	{"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS},
	{"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME}, {"sigpending", RLIMIT_SIGPENDING},
	{"stack", RLIMIT_STACK}, {"as", RLIMIT_AS}};

static int md_rlimit_res(const char *name)
{
	for (size_t i = 0; i < MD_ARRAY_LEN(md_rlimits); i++)
		if (strcmp(md_rlimits[i].name, name) == 0)
			return md_rlimits[i].res;
	return -1;
}

static int md_secopt_has(const struct md_json *hc, const char *what)
{
	struct md_json *so = md_json_get(hc, "SecurityOpt");
	size_t l = strlen(what);
	for (struct md_json *c = so ? so->child : NULL; c; c = c->next) {
		const char *s = md_json_str(c);
		if (!s)
			continue;
		if (strcmp(s, what) == 0)
			return 1;
		/* "no-new-privileges:true", "seccomp=unconfined", "seccomp:unconfined" */
		if (strncmp(s, what, l) == 0 && (s[l] == ':' || s[l] == '=') && strcmp(s + l + 1, "false") != 0)
			return 1;
	}
	return 0;
}

/* ---- user namespaces: --userns=remap ---- */

/* The subordinate range of the remap user in /etc/subuid or /etc/subgid. */
static int md_subid(const char *file, const char *user, uint32_t *base, uint32_t *count)
{
	FILE *f = fopen(file, "re");
	char line[256];
	int found = 0;
	while (f && !found && fgets(line, sizeof line, f)) {
		const char *colon = strchr(line, ':');
		unsigned long long b = 0, c = 0;
		/* ids b .. b+c-1 must stay below (uid_t)-1, which is no id */
		const char *q = colon ? md_scan_u64(colon + 1, &b, 10) : NULL;
		if (md_scan_u64(md_scan_lit(q, ":"), &c, 10) && (size_t)(colon - line) == strlen(user) &&
		    strncmp(line, user, strlen(user)) == 0 && c > 0 && b <= UINT32_MAX && c <= UINT32_MAX - b) {
			*base = (uint32_t)b;
			*count = (uint32_t)c;
			found = 1;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static MD_UNUSED int md_userns_range(uint32_t *base, uint32_t *count)
{
	const char *user = getenv("MINIDOCK_USERNS_USER");
	uint32_t gb, gc;
	if (!user || !*user)
		user = MD_DEFAULT_USERNS_USER;
	if (!md_subid("/etc/subuid", user, base, count) || !md_subid("/etc/subgid", user, &gb, &gc))
		return md_err("--userns=remap needs a subordinate id range for user \"%s\" in /etc/subuid and /etc/subgid "
		              "(for example \"%s:100000:65536\")", user, user);
	if (gb != *base || gc != *count)
		return md_err("--userns=remap needs the same range in /etc/subuid and /etc/subgid for \"%s\"", user);
	if (*count < 1)
		return md_err("the subordinate id range of \"%s\" is empty", user);
	return 0;
}

/* Copy a layer, its top directory too, with its owners shifted into the
 * range (kernels without idmapped overlay layers; the copy is made once
 * per layer and range). */
static int md_copy_shift(int sfd, int dfd, uint32_t base, uint32_t count)
{
	struct md_copy o = {.base = base, .count = count, .strict = 1, .xattrs = 2, .nodes = 1};
	struct stat st;
	if (md_copy_walk(sfd, dfd, "a layer", &o) < 0)
		return -1;
	return fstat(sfd, &st) < 0 ? md_errno("stat a layer") : md_copy_meta(&o, sfd, dfd, &st, "a layer");
}

/* The shifted copy of a layer for a range, made if missing; returns its
 * lowerdir entry relative to ROOT/userns/BASE-COUNT (md_lower_chdir), as
 * short as ROOT/l/'s. */
static char *md_userns_layer(const char *chain, uint32_t base, uint32_t count)
{
	char *rel = md_asprintf("userns/%u-%u", base, count);
	char *dir = md_store_path("%s/%s", rel, chain + 7);
	char *link = md_store_path("%s/l/%.12s", rel, chain + 7);
	char *out = NULL;
	if (!md_path_exists(dir)) {
		char *tmp = md_asprintf("%s.tmp-%d", dir, (int)getpid());
		char *src = md_store_path("layers/%s/diff", chain + 7);
		md_rm_rf(tmp);
		int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = -1;
		if (sfd < 0)
			md_errno("open layer %.19s", chain);
		else if (md_mkdir_p(tmp, 0700) == 0) {
			char *td = md_asprintf("%s/diff", tmp);
			if (mkdir(td, 0755) < 0) {
				md_errno("mkdir %s", td);
			} else {
				int dfd = open(td, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				r = dfd < 0 ? md_errno("open %s", td) : md_copy_shift(sfd, dfd, base, count);
				if (dfd >= 0)
					close(dfd);
			}
			free(td);
		}
		if (sfd >= 0)
			close(sfd);
		if (r == 0 && (md_store_syncfs() < 0 || rename(tmp, dir) < 0))
			r = md_errno("store %s", dir);
		if (r < 0)
			md_rm_rf(tmp);
		free(tmp);
		free(src);
		if (r < 0)
			goto out;
	}
	char *ld = md_store_path("%s/l", rel);
	md_mkdir_p(ld, 0700);
	free(ld);
	char want[128];
	snprintf(want, sizeof want, "../%s/diff", chain + 7);
	char cur[256];
	ssize_t n = readlink(link, cur, sizeof cur - 1);
	if (n > 0 && (cur[n] = 0, strcmp(cur, want) != 0)) {
		out = md_asprintf("%s/diff", chain + 7);
	} else {
		if (n <= 0) {
			char *tmp = md_asprintf("%s.tmp-%d", link, (int)getpid());
			unlink(tmp);
			if (symlink(want, tmp) < 0 || rename(tmp, link) < 0)
				unlink(tmp);
			free(tmp);
		}
		out = md_asprintf("l/%.12s", chain + 7);
	}
out:
	free(rel);
	free(dir);
	free(link);
	return out;
}

/* The overlay's upper, work and root directories, and what replaces the
 * upper when the store cannot hold it. */
static int md_spec_rootfs(struct md_ctr *c, struct md_spec *sp, struct md_json *chains, const char **notice)
{
	struct md_json *cfg = c->cfg;
	sp->upper = md_ctr_path(c->id, "upper");
	sp->work = md_ctr_path(c->id, "work");
	sp->rootfs = md_ctr_rpath(c->id, "rootfs");
	/* the overlay cannot have its upper layer on some filesystems (OpenWrt's
	 * root is an overlay itself): say so and fall back */
	const char *bad = md_upper_unsupported(sp->upper);
	const char *fb = md_json_gets(cfg, "RootfsFallback"); /* chosen at create */
	if (!fb || !*fb)
		fb = getenv("MINIDOCK_OVERLAY_FALLBACK");
	if (!fb || !*fb)
		fb = MD_DEFAULT_OVERLAY_FALLBACK;
	if (!bad)
		return 0;
	if (strcmp(fb, "copy") == 0) {
		sp->fallback = "copy";
		sp->copydir = md_ctr_path(c->id, "rootfs");
		if (!md_path_exists(sp->copydir) && md_layers_flatten(chains, sp->copydir) < 0)
			return md_err_wrap("copy the image into %s", sp->copydir);
		*notice = md_asprintf("the store is on %s, which cannot hold an overlay upper layer: using a copied root "
		                      "filesystem in %s", bad, sp->copydir);
	} else if (strcmp(fb, "tmpfs") == 0) {
		sp->fallback = "tmpfs";
		sp->fallback_size = (char *)md_json_gets(cfg, "RootfsFallbackSize");
		if (!sp->fallback_size || !*sp->fallback_size)
			sp->fallback_size = getenv("MINIDOCK_TMPFS_UPPER_SIZE");
		if (!sp->fallback_size || !*sp->fallback_size)
			sp->fallback_size = MD_DEFAULT_TMPFS_UPPER_SIZE;
		*notice = md_asprintf("the store is on %s, which cannot hold an overlay upper layer: using a tmpfs upper "
		                      "layer (%s; changes are lost when the container stops)", bad, sp->fallback_size);
	} else {
		return md_err("the store is on %s, which cannot hold an overlay upper layer (set "
		              "MINIDOCK_OVERLAY_FALLBACK=tmpfs or copy)", bad);
	}
	return 0;
}

/* --userns=remap: the subordinate id range the container's ids map to. */
static int md_spec_userns(const struct md_json *cfg, struct md_spec *sp)
{
	const char *um = md_json_gets(md_json_get(cfg, "HostConfig"), "UsernsMode");
	if (um && md_startswith(um, "remap")) {
#if MD_FEATURE_USERNS
		sp->userns = 1;
		if (md_userns_range(&sp->uid_base, &sp->uid_count) < 0)
			return -1;
#else
		(void)sp;
		return md_err("--userns=remap is not supported by this build (feature userns is off)");
#endif
	}
	return 0;
}

/* The overlay's lowerdir, top layer first (shifted copies with a user namespace). */
static int md_spec_lower(struct md_spec *sp, struct md_json *chains)
{
	struct md_sb lower = {0};
	for (size_t i = chains->n; i-- > 0;) {
		const char *chain = md_json_str(md_json_at(chains, i));
		char *l = sp->userns ? md_userns_layer(chain, sp->uid_base, sp->uid_count) : md_layer_link(chain);
		if (!l) {
			md_sb_free(&lower);
			return md_err_wrap("user namespace copy of layer %.19s", chain);
		}
		md_sb_printf(&lower, "%s%s", lower.len ? ":" : "", l);
		free(l);
	}
	sp->lower = lower.s;
	return 0;
}

/* The root filesystem from the image's layers in the store. */
static int md_spec_layers(struct md_ctr *c, struct md_spec *sp, const char **notice)
{
	struct md_json *cfg = c->cfg;
	struct md_json *idx = md_index_read();
	if (!idx)
		return -1;
	const char *img = md_json_gets(cfg, "Image");
	struct md_json *chains = md_json_clone(md_image_layers(idx, img ? img : ""));
	md_json_free(idx);
	if (!chains->n) {
		md_json_free(chains);
		return md_err("the container's image %.19s is missing from the store", img ? img : "?");
	}
	int r = 0;
	if (md_spec_rootfs(c, sp, chains, notice) < 0 || md_spec_userns(cfg, sp) < 0 || md_spec_lower(sp, chains) < 0)
		r = -1;
	md_json_free(chains);
	return r;
}

/* The process environment: Docker adds HOSTNAME, and TERM with -t, unless
 * the configuration sets them. */
static void md_spec_env(struct md_spec *sp, const struct md_json *cc)
{
	struct md_json *env = md_json_clone(md_json_get(cc, "Env"));
	if (!md_json_is(env, MD_J_ARR)) {
		md_json_free(env);
		env = md_json_new(MD_J_ARR);
	}
	int has_hn = 0, has_term = 0;
	for (struct md_json *e = env->child; e; e = e->next) {
		has_hn |= md_json_str(e) && md_startswith(e->s, "HOSTNAME=");
		has_term |= md_json_str(e) && md_startswith(e->s, "TERM=");
	}
	if (!has_hn) {
		char *h = md_asprintf("HOSTNAME=%s", sp->hostname);
		md_json_push(env, md_json_newstr(h));
		free(h);
	}
	if (sp->tty && !has_term)
		md_json_push(env, md_json_newstr("TERM=xterm"));
	sp->envp = md_json_to_argv(env, NULL);
	md_json_free(env);
}

/* --ulimit: at most 16, each a known resource (a negative value: unlimited). */
static int md_spec_ulimits(struct md_spec *sp, const struct md_json *hc)
{
	struct md_json *ul = md_json_get(hc, "Ulimits");
	for (struct md_json *u = ul ? ul->child : NULL; u && sp->nulimits < 16; u = u->next) {
		int res = md_rlimit_res(md_json_gets(u, "Name") ? md_json_gets(u, "Name") : "");
		if (res < 0)
			return md_err("unknown ulimit \"%s\"", md_json_gets(u, "Name") ? md_json_gets(u, "Name") : "?");
		long long soft = md_json_geti(u, "Soft", 0), hard = md_json_geti(u, "Hard", soft);
		sp->ulimits[sp->nulimits].res = res;
		sp->ulimits[sp->nulimits].rl.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft;
		sp->ulimits[sp->nulimits].rl.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard;
		sp->nulimits++;
	}
	return 0;
}

/* Binds, volumes and tmpfs mounts; a volume used for the first time is
 * marked so that the image's files are copied into it once. */
static void md_spec_mounts(struct md_spec *sp, const struct md_json *cfg)
{
	struct md_json *mts = md_json_get(cfg, "Mounts");
	sp->mnts = md_alloc(((mts ? mts->n : 0) + 1) * sizeof *sp->mnts);
	for (struct md_json *m = mts ? mts->child : NULL; m; m = m->next) {
		struct md_mnt *x = &sp->mnts[sp->nmnts++];
		const char *type = md_json_gets(m, "Type");
		x->type = md_streq(type, "tmpfs") ? MD_M_TMPFS : md_streq(type, "volume") ? MD_M_VOLUME : MD_M_BIND;
		x->src = md_strdup(md_json_gets(m, "Source") ? md_json_gets(m, "Source") : "");
		x->dst = md_strdup(md_json_gets(m, "Destination") ? md_json_gets(m, "Destination") : "/");
		x->opts = md_json_gets(m, "Options") ? md_strdup(md_json_gets(m, "Options")) : NULL;
		x->ro = md_json_is(md_json_get(m, "RW"), MD_J_FALSE);
		if (x->type == MD_M_VOLUME) {
			/* a volume is filled from the image the first time it is used */
			char *mark = md_asprintf("%s/../.initialized", x->src);
			if (!md_path_exists(mark)) {
				x->copyup = 1;
				int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
				if (fd >= 0)
					close(fd);
			}
			free(mark);
		}
	}
}

/* --device: each must be a device node on the host now. */
static int md_spec_devices(struct md_spec *sp, const struct md_json *hc)
{
	struct md_json *dv = md_json_get(hc, "Devices");
	sp->devs = md_alloc(((dv ? dv->n : 0) + 1) * sizeof *sp->devs);
	for (struct md_json *d = dv ? dv->child : NULL; d; d = d->next) {
		const char *h = md_json_gets(d, "PathOnHost"), *ct = md_json_gets(d, "PathInContainer");
		struct stat st;
		if (!h || stat(h, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
			return md_err("error gathering device information while adding custom device \"%s\": not a device node",
			              h ? h : "?");
		struct md_dev *x = &sp->devs[sp->ndevs++];
		x->host = md_strdup(h);
		x->ctr = md_strdup(ct && *ct ? ct : h);
		x->mode = st.st_mode;
		x->rdev = st.st_rdev;
	}
	return 0;
}

/* Build what the child needs from config.json and the image. */
static int md_spec_build(struct md_ctr *c, struct md_spec *sp, const char **notice)
{
	struct md_json *cfg = c->cfg, *cc = md_json_get(cfg, "Config"), *hc = md_json_get(cfg, "HostConfig");
	memset(sp, 0, sizeof *sp);
	sp->sync = sp->memfd = sp->netns_fd = -1;
	sp->fds[0] = sp->fds[1] = sp->fds[2] = -1;
	snprintf(sp->id, sizeof sp->id, "%s", c->id);
	*notice = NULL;
	if (md_spec_layers(c, sp, notice) < 0)
		return -1;
	sp->argv = md_json_to_argv(md_json_get(cfg, "Args"), md_json_gets(cfg, "Path"));
	sp->cwd = (char *)md_json_gets(cc, "WorkingDir");
	sp->user = (char *)md_json_gets(cc, "User");
	sp->hostname = (char *)md_json_gets(cc, "Hostname");
	if (!sp->hostname)
		sp->hostname = c->id + 52;
	sp->tty = md_json_is(md_json_get(cc, "Tty"), MD_J_TRUE);
	md_spec_env(sp, cc);
	sp->init = md_json_is(md_json_get(hc, "Init"), MD_J_TRUE);
	sp->privileged = md_json_is(md_json_get(hc, "Privileged"), MD_J_TRUE);
	sp->readonly = md_json_is(md_json_get(hc, "ReadonlyRootfs"), MD_J_TRUE);
	sp->nnp = md_secopt_has(hc, "no-new-privileges");
	sp->seccomp = MD_FEATURE_SECCOMP && !sp->privileged && !md_secopt_has(hc, "seccomp=unconfined") &&
	              !md_secopt_has(hc, "seccomp:unconfined");
	sp->groupadd = md_json_clone(md_json_get(hc, "GroupAdd"));
	if (md_caps_compute(hc, &sp->caps) < 0)
		return -1;
	if (md_spec_ulimits(sp, hc) < 0)
		return -1;
	md_spec_mounts(sp, cfg);
	if (md_spec_devices(sp, hc) < 0)
		return -1;
	if (md_ctr_hostfiles(c) < 0)
		return -1;
	sp->discard = md_json_is(md_json_get(md_json_get(c->cfg, "HostConfig"), "AutoRemove"), MD_J_TRUE);
	sp->hostsfile = md_ctr_path(c->id, "hosts");
	sp->hostnamefile = md_ctr_path(c->id, "hostname");
	sp->resolvfile = md_ctr_path(c->id, "resolv.conf");
	const char *nm = md_json_gets(hc, "NetworkMode");
	sp->net = md_streq(nm, "host") ? MD_NET_HOST : nm && md_startswith(nm, "container:") ? MD_NET_CONTAINER
	          : md_streq(nm, "none") ? MD_NET_NONE : MD_NET_BRIDGE;
	sp->cgroupns = 1;
	long long shm = md_json_geti(hc, "ShmSize", 0);
	if (shm > 0) {
		static char buf[32];
		snprintf(buf, sizeof buf, "%lld", shm);
		sp->shm_size = buf;
	}
	return 0;
}

/* cgroup limits from HostConfig */
static void md_cg_limits_from(const struct md_json *hc, struct md_cg_limits *lim, struct md_cg_dev *devs, size_t cap)
{
	memset(lim, 0, sizeof *lim);
	lim->memory = md_json_geti(hc, "Memory", 0);
	lim->memory_swap = md_json_geti(hc, "MemorySwap", 0);
	long long nano = md_json_geti(hc, "NanoCpus", 0);
	lim->cpu_period = md_json_geti(hc, "CpuPeriod", 0);
	lim->cpu_quota = md_json_geti(hc, "CpuQuota", 0);
	if (nano > 0) {
		lim->cpu_period = 100000;
		lim->cpu_quota = nano / 10000;
	}
	lim->cpu_shares = md_json_geti(hc, "CpuShares", 0);
	lim->pids = md_json_geti(hc, "PidsLimit", 0);
	snprintf(lim->cpuset_cpus, sizeof lim->cpuset_cpus, "%s", md_json_gets(hc, "CpusetCpus") ? md_json_gets(hc, "CpusetCpus") : "");
	snprintf(lim->cpuset_mems, sizeof lim->cpuset_mems, "%s", md_json_gets(hc, "CpusetMems") ? md_json_gets(hc, "CpusetMems") : "");
	lim->devices_allow_all = md_json_is(md_json_get(hc, "Privileged"), MD_J_TRUE);
	size_t n = md_cg_default_devices(devs, cap);
	struct md_json *dv = md_json_get(hc, "Devices");
	for (struct md_json *d = dv ? dv->child : NULL; d && n < cap; d = d->next) {
		struct stat st;
		const char *h = md_json_gets(d, "PathOnHost");
		if (!h || stat(h, &st) < 0)
			continue;
		const char *perm = md_json_gets(d, "CgroupPermissions");
		devs[n].type = S_ISBLK(st.st_mode) ? 'b' : 'c';
		devs[n].major = major(st.st_rdev);
		devs[n].minor = minor(st.st_rdev);
		snprintf(devs[n].access, sizeof devs[n].access, "%s", perm && *perm ? perm : "rwm");
		n++;
	}
	lim->devs = devs;
	lim->ndevs = n;
}

/* ---- starting, reaping, restarting ---- */

static void md_state_set_time(struct md_json *st, const char *key)
{
	char t[64];
	md_time_now(t, sizeof t);
	md_json_sets(st, key, t);
}

/* The terminal size the first process sees: the first client's, else the
 * API's ConsoleSize, else 24x80. */
static void md_mon_console_size(struct md_mon *m, struct md_spec *sp)
{
	struct md_json *csz = md_json_get(md_json_get(m->c.cfg, "HostConfig"), "ConsoleSize");
	long long crow = md_json_is(csz, MD_J_ARR) && csz->n == 2 ? atoll(md_json_at(csz, 0)->s ? md_json_at(csz, 0)->s : "0") : 0;
	long long ccol = md_json_is(csz, MD_J_ARR) && csz->n == 2 ? atoll(md_json_at(csz, 1)->s ? md_json_at(csz, 1)->s : "0") : 0;
	sp->rows = m->rows ? m->rows : crow > 0 && crow < 65536 ? (unsigned short)crow : 24;
	sp->cols = m->cols ? m->cols : ccol > 0 && ccol < 65536 ? (unsigned short)ccol : 80;
}

/* The first process's stdio: pipes (p[0..1] stdout, p[2..3] stderr, p[4..5]
 * stdin) without a terminal, /dev/null where nothing is attached. */
static int md_mon_stdio(struct md_spec *sp, int open_stdin, int p[6])
{
	if (!sp->tty) {
		if (pipe2(p, O_CLOEXEC) < 0 || pipe2(p + 2, O_CLOEXEC) < 0)
			return md_errno("pipe");
		sp->fds[1] = p[1];
		sp->fds[2] = p[3];
	}
	if (open_stdin && !sp->tty) {
		if (pipe2(p + 4, O_CLOEXEC) < 0)
			return md_errno("pipe");
		sp->fds[0] = p[4];
	} else {
		sp->fds[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (sp->tty)
			sp->fds[1] = sp->fds[2] = sp->fds[0];
	}
	return 0;
}

/* --network container:NAME: open that running container's namespace. */
static int md_mon_join_netns(struct md_spec *sp, const char *nm)
{
	struct md_json *idx = md_index_read();
	char oid[65];
	struct md_ctr o;
	int ok = idx && md_ctr_resolve(idx, nm + 10, oid) == 0 && md_ctr_load(oid, &o) == 0;
	md_json_free(idx);
	if (!ok)
		return -1;
	long long opid = md_json_geti(o.st, "Pid", 0);
	int alive = md_ctr_monitor_alive(oid);
	md_ctr_free(&o);
	if (!alive || opid <= 0)
		return md_errk(MD_EK_CONFLICT, "cannot join network of a non running container: %s", nm + 10);
	char *np = md_asprintf("/proc/%lld/ns/net", opid);
	sp->netns_fd = open(np, O_RDONLY | O_CLOEXEC);
	free(np);
	return sp->netns_fd < 0 ? md_errno("open the network namespace of %s", nm + 10) : 0;
}

/* --userns=remap: the root is mounted here, in the monitor's own mount
 * namespace, so nothing shows on the host and nothing outlives us; the
 * container's root must be able to reach its own files (traversal only). */
static int md_mon_userns_root(struct md_mon *m, struct md_spec *sp)
{
	static int private_ns;
	if (!private_ns) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return md_errno("private mount namespace for the user namespace root");
		private_ns = 1;
	}
	umount2(sp->rootfs, MNT_DETACH);
	char *paths[] = {md_store.runroot, md_asprintf("%s/containers", md_store.runroot), md_store_path("containers"),
	                 md_ctr_path(m->c.id, NULL), md_ctr_rpath(m->c.id, NULL), md_store_path("volumes")};
	for (size_t i = 0; i < MD_ARRAY_LEN(paths); i++) {
		struct stat st;
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (i == 3 || i == 4) {
				if (chown(paths[i], 0, sp->uid_base) < 0 || chmod(paths[i], 0710) < 0) { /* best effort */ }
			} else if (!(st.st_mode & 0001)) {
				chmod(paths[i], (st.st_mode & 07777) | 0111);
			}
		}
		if (i)
			free(paths[i]);
	}
	if (lchown(sp->upper, sp->uid_base, sp->uid_base) < 0 || lchown(sp->work, sp->uid_base, sp->uid_base) < 0)
		return md_errno("chown the upper layer to the user namespace");
	return md_rootfs_mount(sp);
}

static int md_mon_write_idmaps(const struct md_spec *sp, pid_t pid)
{
	char map[64];
	snprintf(map, sizeof map, "0 %u %u\n", sp->uid_base, sp->uid_count);
	static const char *const maps[] = {"uid_map", "gid_map"};
	for (int k = 0; k < 2; k++) {
		char *mp = md_asprintf("/proc/%d/%s", (int)pid, maps[k]);
		int fd = open(mp, O_WRONLY | O_CLOEXEC);
		free(mp);
		if (fd < 0 || md_write_all(fd, map, strlen(map)) < 0) {
			md_errno("write the user namespace's %s", maps[k]);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* The child reports a terminal, an error ("CODE message"), or nothing: EOF
 * means it exec'd.  0, or -1 with *code 125..127. */
static int md_mon_await_child(struct md_mon *m, int fd, int *code)
{
	for (;;) {
		char buf[1200];
		int pty = -1;
		ssize_t n = md_fd_recv(fd, buf, sizeof buf - 1, &pty);
		if (n < 0 && errno == EINTR)
			continue;
		if (pty >= 0) { /* the terminal's master, from the child */
			m->pty = pty;
			if (n == 0)
				continue;
		}
		if (n <= 0)
			return 0;
		buf[n] = 0;
		*code = atoi(buf);
		if (*code < 125 || *code > 127)
			*code = 125;
		const char *msg = strchr(buf, ' ');
		/* 126/127: the command cannot be run or found, the caller's input
		 * (Docker answers 400); 125: minidock's own failure */
		return md_errk(*code == 125 ? MD_EK_INTERNAL : MD_EK_INVALID, "%s", msg ? msg + 1 : buf);
	}
}

/* It runs: the monitor takes the relay's ends, and the state says so. */
static void md_mon_started(struct md_mon *m, pid_t pid, int p[6])
{
	m->pid = pid;
	if (m->sp.tty) {
		m->out[0] = m->pty;
		m->in = m->pty;
	} else {
		m->out[0] = p[0];
		m->out[1] = p[2];
		m->in = p[5];
		p[0] = p[2] = p[5] = -1;
	}
	fcntl(m->in, F_SETFL, fcntl(m->in, F_GETFL) | O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &m->started);
	md_json_sets(m->c.st, "Status", "running");
	md_json_seti(m->c.st, "Pid", pid);
	md_json_seti(m->c.st, "ExitCode", 0);
	md_json_set(m->c.st, "OOMKilled", md_json_newbool(0));
	md_json_sets(m->c.st, "Error", "");
	md_state_set_time(m->c.st, "StartedAt");
	md_json_sets(m->c.st, "FinishedAt", "0001-01-01T00:00:00Z");
	md_json_seti(m->c.st, "RestartCount", m->restart_count);
	md_ctr_save_state(&m->c);
}

/* What the child needs before it is cloned: its cgroup, stdio, the
 * namespaces it joins, its init, its network's interfaces, its root (with
 * a user namespace). */
static int md_mon_prepare(struct md_mon *m, int p[6])
{
	struct md_spec *sp = &m->sp;
	struct md_json *cc = md_json_get(m->c.cfg, "Config"), *hc = md_json_get(m->c.cfg, "HostConfig");
	if (md_ensure_path(sp->rootfs, 1) < 0)
		return -1;
	struct md_cg_dev devs[64];
	struct md_cg_limits lim;
	md_cg_limits_from(hc, &lim, devs, MD_ARRAY_LEN(devs));
	md_cg_destroy(md_cgroup_parent(), m->c.id); /* leftovers of a crash */
	if (md_cg_create(md_cgroup_parent(), m->c.id, &lim) < 0)
		return -1;
	m->pty = -1;
	m->in = -1;
	m->out[0] = m->out[1] = -1;
	if (md_mon_stdio(sp, md_json_is(md_json_get(cc, "OpenStdin"), MD_J_TRUE), p) < 0)
		return -1;
	if (sp->net == MD_NET_CONTAINER && md_mon_join_netns(sp, md_json_gets(hc, "NetworkMode")) < 0)
		return -1;
	if (sp->init)
		sp->memfd = md_exe_memfd();
	if (sp->net == MD_NET_BRIDGE) {
		int n = md_net_prepare(m->c.id, m->c.cfg, sp->netifs, (int)MD_ARRAY_LEN(sp->netifs));
		if (n < 0)
			return -1;
		sp->nnetifs = n;
		const char *nn = md_net_notice(sp->netifs, n);
		if (nn)
			md_mon_broadcast(m, 'N', nn, strlen(nn), 0);
		/* its own /etc/hosts before it runs; its peers' once it does */
		struct md_json *idx = md_index_read();
		if (idx)
			md_net_hosts(idx, m->c.id);
		md_json_free(idx);
	}
	return sp->userns ? md_mon_userns_root(m, sp) : 0;
}

/* The child made without clone(2)'s namespace flags, which qemu-user refuses
 * (EINVAL: it emulates only fork-like and thread-like clones, and refuses
 * PR_SET_CHILD_SUBREAPER and CLONE_PARENT too), so that a board's binary runs
 * containers under emulation as well: the monitor unshares the namespaces,
 * forks the child (PID 1 of the new PID namespace) and goes back to its own.
 * Not for a user namespace, which a threaded process cannot unshare. */
static pid_t md_mon_fork_unshared(struct md_spec *sp, int flags)
{
	static const struct {
		int t;
		const char *path;
	} ns[] = {
		{CLONE_NEWNS, "/proc/self/ns/mnt"},
		{CLONE_NEWPID, "/proc/self/ns/pid"},
		{CLONE_NEWUTS, "/proc/self/ns/uts"},
		{CLONE_NEWIPC, "/proc/self/ns/ipc"},
		{CLONE_NEWNET, "/proc/self/ns/net"},
	};
	int fd[MD_ARRAY_LEN(ns)], e = 0;
	pid_t pid = -1;
	if (flags & CLONE_NEWUSER) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < MD_ARRAY_LEN(ns); i++) {
		fd[i] = (flags & ns[i].t) ? open(ns[i].path, O_RDONLY | O_CLOEXEC) : -1;
		if ((flags & ns[i].t) && fd[i] < 0 && !e)
			e = errno;
	}
	if (!e && unshare(flags & ~CSIGNAL) < 0)
		e = errno;
	else if (!e && (pid = fork()) == 0)
		_exit(md_child_main(sp));
	else if (!e && pid < 0)
		e = errno;
	for (size_t i = 0; i < MD_ARRAY_LEN(ns); i++) {
		if (fd[i] >= 0 && setns(fd[i], ns[i].t) < 0) {
			/* never left in the container's namespaces */
			if (pid > 0)
				kill(pid, SIGKILL);
			md_die(125, "cannot return to the monitor's namespaces: %s", strerror(errno));
		}
		if (fd[i] >= 0)
			close(fd[i]);
	}
	errno = e;
	return e ? -1 : pid;
}

/* Clone the child into its namespaces and walk it through its start:
 * user namespace maps, "g", its cgroup and network, "c", its verdict. */
static pid_t md_mon_clone(struct md_mon *m, int sv[2], int *code)
{
	struct md_spec *sp = &m->sp;
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD | (sp->userns ? CLONE_NEWUSER : 0);
	if (sp->net != MD_NET_HOST && sp->net != MD_NET_CONTAINER)
		flags |= CLONE_NEWNET;
	const size_t stacksz = 256 * 1024;
	char *stack = mmap(NULL, stacksz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return md_errno("mmap");
	sp->sync = sv[1];
	pid_t pid = clone(md_child_main, stack + stacksz, flags, sp);
	munmap(stack, stacksz);
	if (pid < 0 && errno == EINVAL) {
		pid = md_mon_fork_unshared(sp, flags);
		if (pid < 0 && errno == EINVAL) /* the kernel's answer, then */
			return md_errno("clone");
		if (pid < 0)
			return md_errno("unshare the container's namespaces");
	}
	if (pid < 0)
		return md_errno("clone");
	close(sv[1]);
	sv[1] = -1;
	for (int i = 0; i < 3; i++)
		if (sp->fds[i] >= 0 && (i == 0 || sp->fds[i] != sp->fds[0]))
			close(sp->fds[i]);
	sp->fds[0] = sp->fds[1] = sp->fds[2] = -1;
	int r = sp->userns ? md_mon_write_idmaps(sp, pid) : 0;
	if (r == 0 && write(sv[0], "g", 1) != 1)
		r = md_errno("start the container");
	/* while it mounts its root: its cgroup and its network */
	if (r == 0)
		r = md_cg_attach(md_cgroup_parent(), m->c.id, pid);
	if (r == 0 && sp->nnetifs)
		r = md_net_plug(sp->netifs, sp->nnetifs, pid, m->c.id, 0);
	if (r == 0 && write(sv[0], "c", 1) != 1)
		r = md_errno("start the container");
	/* a child that failed first (and so broke the pipe or left its cgroup
	 * empty) says why: that is the error to report */
	if (r < 0)
		kill(pid, SIGKILL);
	if (md_mon_await_child(m, sv[0], code) < 0)
		r = -1;
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* Start the container's first process; on failure *code gets 125/126/127. */
static int md_mon_start(struct md_mon *m, int *code)
{
	const char *notice = NULL;
	*code = 125;
	md_spec_free(&m->sp);
	if (md_spec_build(&m->c, &m->sp, &notice) < 0)
		return -1;
	if (notice) {
		md_mon_broadcast(m, 'N', notice, strlen(notice), 0);
		free((char *)notice);
	}
	struct md_spec *sp = &m->sp;
	md_mon_console_size(m, sp);
	int sv[2] = {-1, -1}, p[6] = {-1, -1, -1, -1, -1, -1};
	pid_t pid = -1;
	int r = md_mon_prepare(m, p);
	if (r == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		r = md_errno("socketpair");
	if (r == 0 && (pid = md_mon_clone(m, sv, code)) < 0)
		r = -1;
	if (r == 0)
		md_mon_started(m, pid, p);
	int fds[] = {sv[0], sv[1], p[0], p[1], p[2], p[3], p[4], p[5], sp->fds[0], sp->memfd, sp->netns_fd};
	for (size_t i = 0; i < MD_ARRAY_LEN(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	sp->fds[0] = sp->memfd = sp->netns_fd = -1;
	if (r < 0) {
		struct md_error keep = md_error;
		md_cg_destroy(md_cgroup_parent(), m->c.id);
		if (sp->nnetifs)
			md_net_teardown(m->c.id, sp->nnetifs, 0);
		md_error = keep;
	} else if (sp->nnetifs) {
		/* names for the new address: its own /etc/hosts and its peers' */
		struct md_json *idx = md_index_read();
		if (idx)
			md_net_hosts_peers(idx, m->c.id);
		md_json_free(idx);
		md_err_clear();
	}
	return r;
}

/* The container's first process ended: record it and clean up after it. */
static void md_mon_exited(struct md_mon *m, int status)
{
	/* whatever the container wrote is still in the pipes: take it all */
	for (int s = 0; s < 2; s++) {
		if (m->out[s] < 0)
			continue;
		fcntl(m->out[s], F_SETFL, O_NONBLOCK);
		char buf[16384];
		ssize_t n;
		while ((n = read(m->out[s], buf, sizeof buf)) > 0) {
			md_log_write(&m->log, s, buf, (size_t)n);
			md_mon_broadcast(m, s ? 'E' : 'O', buf, (size_t)n, 1);
		}
		close(m->out[s]);
		m->out[s] = -1;
	}
	md_log_flush(&m->log);
	if (m->in >= 0 && m->in != m->pty)
		close(m->in);
	m->in = -1;
	m->pty = -1;
	m->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	m->oom = md_cg_oom_killed(md_cgroup_parent(), m->c.id) > 0;
	md_cg_destroy(md_cgroup_parent(), m->c.id);
	if (m->sp.nnetifs)
		md_net_teardown(m->c.id, m->sp.nnetifs, 1);
	m->pid = 0;
	md_json_sets(m->c.st, "Status", "exited");
	md_json_seti(m->c.st, "Pid", 0);
	md_json_seti(m->c.st, "ExitCode", m->exit_code);
	md_json_set(m->c.st, "OOMKilled", md_json_newbool(m->oom));
	md_state_set_time(m->c.st, "FinishedAt");
	/* saved by the caller, once it knows whether a restart follows: a
	 * restart by the policy writes nothing to the store */
}

static void md_mon_send_exit(struct md_mon *m)
{
	char code[16];
	snprintf(code, sizeof code, "%d", m->exit_code);
	md_mon_broadcast(m, 'X', code, strlen(code), 0);
}

/* Should the policy restart it?  Returns the delay in ms, or -1. */
static long md_mon_restart_delay(struct md_mon *m)
{
	struct md_json *rp = md_json_get(md_json_get(m->c.cfg, "HostConfig"), "RestartPolicy");
	const char *name = md_json_gets(rp, "Name");
	long long max = md_json_geti(rp, "MaximumRetryCount", 0);
	if (m->stopping || !name || !*name || strcmp(name, "no") == 0)
		return -1;
	if (strcmp(name, "on-failure") == 0 && (m->exit_code == 0 || (max > 0 && m->restart_count >= max)))
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	static int backoff;
	if (now.tv_sec - m->started.tv_sec >= 10)
		backoff = 0; /* it ran for a while: start over, as Docker does */
	long delay = 100L << (backoff < 10 ? backoff : 10);
	if (delay > 60000)
		delay = 60000;
	backoff++;
	return delay;
}

/*
 * Starting a container touches much of the program; supervising it touches
 * little.  Before each sleep the monitor lets the kernel drop its resident
 * copies of the program's read-only pages (they come back from the file
 * when needed), and the part of its stack below the current frame (zero
 * pages when touched again), so an idle monitor stays small.  Only
 * read-only private mappings and dead stack are dropped: nothing is lost.
 *
 * A page touched after the drop faults in with its neighbours (the
 * kernel's fault-around: 64 KiB), so what runs between the drop and the
 * sleep matters.  Where minidock has its own syscall instruction (x86_64,
 * arm64) that is md_mon_sleep alone, and the two pages that hold it are
 * kept rather than dropped: the sleeping monitor maps no other code.
 * Elsewhere it goes through libc's syscall(), a window or two more.
 */
static struct { uintptr_t lo, hi; } md_mon_ro[4];
static uintptr_t md_mon_stack_lo;

#if defined(__x86_64__)
#define MD_RAW_SYSCALL 1
static inline __attribute__((always_inline)) long md_raw_syscall5(long n, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e;
	long ret;
	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
	                 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define MD_RAW_SYSCALL 1
static inline __attribute__((always_inline)) long md_raw_syscall5(long n, long a, long b, long c, long d, long e)
{
	register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c, x3 __asm__("x3") = d, x4 __asm__("x4") = e;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory", "cc");
	return x0;
}
#else
#define MD_RAW_SYSCALL 0
#define md_raw_syscall5(n, a, b, c, d, e) syscall(n, a, b, c, d, e)
#endif

static void md_mon_trim_init(void)
{
	char exe[PATH_MAX], line[PATH_MAX + 128];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	FILE *f = el > 0 ? fopen("/proc/self/maps", "re") : NULL;
	size_t n = 0;
	if (el > 0)
		exe[el] = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long long lo64, hi64;
		char perm[8];
		const char *path = strchr(line, '/');
		if (!md_scan_word(md_scan_u64(md_scan_lit(md_scan_u64(line, &lo64, 16), "-"), &hi64, 16), perm, sizeof perm))
			continue;
		unsigned long lo = (unsigned long)lo64, hi = (unsigned long)hi64;
		if (strstr(line, "[stack]")) {
			md_mon_stack_lo = lo;
			continue;
		}
		if (n >= MD_ARRAY_LEN(md_mon_ro) || (strcmp(perm, "r-xp") != 0 && strcmp(perm, "r--p") != 0))
			continue;
		if (!path || strncmp(path, exe, strlen(exe)) != 0)
			continue;
		md_mon_ro[n].lo = lo;
		md_mon_ro[n].hi = hi;
		n++;
	}
	if (f)
		fclose(f);
}

/* Drop the read-only pages and the dead stack, then sleep in ppoll.
 * noinline: the pages kept are this function's own. */
static __attribute__((noinline)) int md_mon_sleep(struct pollfd *pf, nfds_t n, int timeout)
{
	struct timespec ts = {timeout / 1000, (timeout % 1000) * 1000000L}, zero = {0, 0};
	/* busy (streaming output or input): no trimming, or every round
	 * would fault the program back in */
	long r = md_raw_syscall5(SYS_ppoll, (long)pf, (long)n, (long)&zero, 0, _NSIG / 8);
	if (r == 0 && timeout != 0) {
		uintptr_t keep = MD_RAW_SYSCALL ? ((uintptr_t)md_mon_sleep & ~(uintptr_t)4095) : 0;
		for (size_t i = 0; i < MD_ARRAY_LEN(md_mon_ro); i++) {
			uintptr_t lo = md_mon_ro[i].lo, hi = md_mon_ro[i].hi;
			if (hi <= lo)
				continue;
			if (keep >= lo && keep < hi) {
				uintptr_t ke = keep + 8192 < hi ? keep + 8192 : hi;
				if (keep > lo)
					md_raw_syscall5(SYS_madvise, (long)lo, (long)(keep - lo), MADV_DONTNEED, 0, 0);
				if (hi > ke)
					md_raw_syscall5(SYS_madvise, (long)ke, (long)(hi - ke), MADV_DONTNEED, 0, 0);
			} else {
				md_raw_syscall5(SYS_madvise, (long)lo, (long)(hi - lo), MADV_DONTNEED, 0, 0);
			}
		}
		/* the stack below this frame, a page of margin left: nothing
		 * runs below it until the sleep is over (signals arrive through
		 * a signalfd, never on this stack) */
		uintptr_t sp = ((uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)4095) - 8192;
		if (md_mon_stack_lo && sp > md_mon_stack_lo)
			md_raw_syscall5(SYS_madvise, (long)md_mon_stack_lo, (long)(sp - md_mon_stack_lo), MADV_DONTNEED, 0, 0);
		r = md_raw_syscall5(SYS_ppoll, (long)pf, (long)n, (long)(timeout < 0 ? NULL : &ts), 0, _NSIG / 8);
	}
	if (r < 0 && r > -4096 && MD_RAW_SYSCALL) {
		errno = (int)-r;
		r = -1;
	}
	return (int)r;
}

/* The signals the monitor reads from its signalfd; blocked from the start,
 * or a child that dies early would take its SIGCHLD with it. */
static void md_mon_sigset(sigset_t *ss)
{
	sigemptyset(ss);
	sigaddset(ss, SIGCHLD);
	sigaddset(ss, SIGTERM);
	sigaddset(ss, SIGINT);
	sigaddset(ss, SIGHUP);
	sigaddset(ss, SIGPIPE);
}

static int md_mon_loop(struct md_mon *m)
{
	sigset_t ss;
	md_mon_sigset(&ss);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	m->sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	if (m->sfd < 0)
		return md_errno("signalfd");
	md_mon_trim_init();
	/* it may have ended already */
	raise(SIGCHLD);
	long restart_in = -1;
	struct timespec restart_at = {0, 0};
	for (;;) {
		struct pollfd pf[5 + MD_MON_CLIENTS];
		int n = 0;
		pf[n++] = (struct pollfd){m->sfd, POLLIN, 0};
		pf[n++] = (struct pollfd){m->lsock, POLLIN, 0};
		pf[n++] = (struct pollfd){m->out[0], POLLIN, 0};
		pf[n++] = (struct pollfd){m->out[1], POLLIN, 0};
		/* while the container's stdin is backed up, leave its writers
		 * unread: they wait, rather than the monitor's memory growing */
		int full = m->inq.len >= 262144;
		for (int i = 0; i < MD_MON_CLIENTS; i++)
			pf[n++] = (struct pollfd){full && m->cl[i].in ? -1 : m->cl[i].fd, POLLIN, 0};
		pf[n++] = (struct pollfd){m->inq.len ? m->in : -1, POLLOUT, 0};
		int timeout = -1;
		if (m->pid > 0 && m->kill_at)
			timeout = (int)((m->kill_at - time(NULL)) * 1000);
		if (restart_in >= 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long left = (restart_at.tv_sec - now.tv_sec) * 1000 + (restart_at.tv_nsec - now.tv_nsec) / 1000000;
			timeout = left < 0 ? 0 : (int)left;
		}
		if (timeout < -1)
			timeout = 0;
		int pr = md_mon_sleep(pf, (nfds_t)n, timeout);
		if (pr < 0 && errno != EINTR)
			return -1;
		if (m->pid > 0 && m->kill_at && time(NULL) >= m->kill_at) {
			kill(m->pid, SIGKILL);
			m->kill_at = 0;
		}
		if (restart_in >= 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (m->stopping) {
				restart_in = -1;
				md_json_sets(m->c.st, "Status", "exited");
				md_ctr_save_state(&m->c);
				return 0;
			}
			if (now.tv_sec > restart_at.tv_sec || (now.tv_sec == restart_at.tv_sec && now.tv_nsec >= restart_at.tv_nsec)) {
				restart_in = -1;
				m->restart_count++;
				int code;
				if (md_mon_start(m, &code) < 0) {
					md_json_sets(m->c.st, "Status", "exited");
					md_json_sets(m->c.st, "Error", md_errmsg);
					md_json_seti(m->c.st, "ExitCode", code);
					md_ctr_save_state(&m->c);
					return 0;
				}
				char pidb[16];
				snprintf(pidb, sizeof pidb, "%d", (int)m->pid);
				md_mon_broadcast(m, 'A', pidb, strlen(pidb), 0);
			}
		}
		if (pr <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(m->sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGCHLD) {
					int status;
					pid_t p;
					while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
						if (p != m->pid)
							continue;
						md_mon_exited(m, status);
						long d = md_mon_restart_delay(m);
						if (d < 0) {
							md_ctr_save_state(&m->c);
							return 0;
						}
						md_mon_send_exit(m);
						md_json_sets(m->c.st, "Status", "restarting");
						md_ctr_save_state(&m->c);
						clock_gettime(CLOCK_MONOTONIC, &restart_at);
						restart_at.tv_sec += d / 1000;
						restart_at.tv_nsec += (d % 1000) * 1000000;
						if (restart_at.tv_nsec >= 1000000000) {
							restart_at.tv_sec++;
							restart_at.tv_nsec -= 1000000000;
						}
						restart_in = d;
					}
				} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP) {
					/* the system is going down: stop the container properly */
					if (m->pid > 0)
						md_mon_stop(m, -1);
					else
						m->stopping = 1;
				}
			}
		}
		if (pf[1].revents & POLLIN) {
			int fd = accept4(m->lsock, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				md_mon_add_client(m, fd);
		}
		for (int s = 0; s < 2; s++) {
			if (!(pf[2 + s].revents & (POLLIN | POLLHUP)))
				continue;
			char buf[16384];
			ssize_t k = read(m->out[s], buf, sizeof buf);
			if (k > 0) {
				md_log_write(&m->log, s, buf, (size_t)k);
				md_mon_broadcast(m, s ? 'E' : 'O', buf, (size_t)k, 1);
			} else if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
				/* EOF (or EIO on a pty whose last user left): stop polling it */
				if (m->out[s] != m->pty)
					close(m->out[s]);
				m->out[s] = -1;
			}
		}
		for (int i = 0; i < MD_MON_CLIENTS; i++)
			if (m->cl[i].fd >= 0 && (pf[4 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				md_mon_client_frame(m, i);
		if (pf[4 + MD_MON_CLIENTS].revents)
			md_mon_feed(m);
	}
}

/* Held (an API client attached before the start): serve the attach socket
 * until a client says 'G'; stdin that arrives meanwhile is queued for the
 * container.  -1 when the last client leaves or a stop comes first: the
 * container stays "created". */
static int md_mon_hold(struct md_mon *m)
{
	md_mon_broadcast(m, 'Z', NULL, 0, 0); /* "held": the lock is ours */
	while (!m->go) {
		struct pollfd pf[1 + MD_MON_CLIENTS];
		int n = 0, clients = 0;
		pf[n++] = (struct pollfd){m->lsock, POLLIN, 0};
		for (int i = 0; i < MD_MON_CLIENTS; i++) {
			pf[n++] = (struct pollfd){m->cl[i].fd, POLLIN, 0};
			clients += m->cl[i].fd >= 0;
		}
		if (!clients)
			return -1;
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept4(m->lsock, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				md_mon_add_client(m, fd);
		}
		for (int i = 0; i < MD_MON_CLIENTS; i++)
			if (m->cl[i].fd >= 0 && (pf[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				md_mon_client_frame(m, i);
		if (m->stopping)
			return -1;
	}
	return 0;
}

/* `minidock __monitor ID [FD]`: FD is the first client, already connected. */
static int md_monitor_main(const char *id, int first)
{
	struct md_mon *m = md_alloc(sizeof *m);
	sigset_t ss;
	md_mon_sigset(&ss);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	for (int i = 0; i < MD_MON_CLIENTS; i++)
		m->cl[i].fd = -1;
	m->lsock = m->sfd = m->pty = m->in = -1;
	m->out[0] = m->out[1] = -1;
	m->log.fd = -1;
	int code = 125, lockfd = -1, r = -1, never_started = 0;
	if (first >= 0) {
		int i = md_mon_add_client(m, first);
		/* the first client says what it wants before anything starts */
		if (i >= 0)
			md_mon_client_frame(m, i);
	}
	char *rdir = md_ctr_rpath(id, NULL);
	if (md_mkdir_p(rdir, 0700) < 0)
		goto out;
	char *lp = md_ctr_rpath(id, "monitor.lock");
	lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lp);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		md_err("container %.12s is already running", id);
		goto out;
	}
	if (md_ctr_load(id, &m->c) < 0)
		goto out;
	/* the attach socket */
	char *sp = md_ctr_rpath(id, "attach.sock");
	unlink(sp);
	free(sp);
	struct sockaddr_un sa;
	int dfd = md_ctr_sockaddr(id, &sa);
	m->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t um = umask(0177);
	int br = dfd < 0 || m->lsock < 0 ? -1 : bind(m->lsock, (struct sockaddr *)&sa, sizeof sa);
	umask(um);
	if (dfd >= 0)
		close(dfd);
	if (br < 0 || listen(m->lsock, 8) < 0) {
		md_errno("attach socket");
		goto out;
	}
	struct md_json *lc = md_json_get(md_json_get(md_json_get(m->c.cfg, "HostConfig"), "LogConfig"), "Config");
	const char *ms = md_json_gets(lc, "max-size"), *mf = md_json_gets(lc, "max-file");
	m->log.path = md_ctr_logpath(id);
	char *ld = md_dirname(m->log.path);
	md_mkdir_p(ld, 0700);
	free(ld);
	m->log.max = md_parse_size(ms ? ms : MD_DEFAULT_LOG_MAX_SIZE);
	m->log.files = atoi(mf ? mf : MD_DEFAULT_LOG_MAX_FILE);
	if (m->log.files < 1)
		m->log.files = 1;
	md_log_open(&m->log);
	m->restart_count = (int)md_json_geti(m->c.st, "RestartCount", 0);
	if (m->hold && md_mon_hold(m) < 0) {
		never_started = 1; /* everyone left, or a stop came, before the start */
		r = 0;
		goto out;
	}
	md_json_del(m->c.st, "ManuallyStopped");
	if (md_mon_start(m, &code) < 0) {
		md_json_sets(m->c.st, "Status", md_streq(md_ctr_status_raw(&m->c), "running") ? "exited" : md_ctr_status_raw(&m->c));
		md_json_sets(m->c.st, "Error", md_errmsg);
		md_json_seti(m->c.st, "ExitCode", code);
		md_ctr_save_state(&m->c);
		goto out;
	}
	char pidb[16];
	snprintf(pidb, sizeof pidb, "%d", (int)m->pid);
	md_mon_broadcast(m, 'A', pidb, strlen(pidb), 0);
	r = md_mon_loop(m);
	code = m->exit_code;
out:
	if (r < 0) {
		char msg[1200];
		snprintf(msg, sizeof msg, "%d %d %s", code, (int)md_error.kind, md_errmsg);
		md_mon_broadcast(m, 'F', msg, strlen(msg), 0);
	}
	if (m->lsock >= 0) {
		char *s = md_ctr_rpath(id, "attach.sock");
		unlink(s);
		free(s);
	}
	/* with --userns the root is mounted in our own mount namespace: only
	 * we can take it away, and it must go before its mount point can */
	char *rfs = md_ctr_rpath(id, "rootfs");
	umount2(rfs, MNT_DETACH);
	free(rfs);
	md_ctr_rclean(id);
	free(rdir);
	int autorm = m->c.cfg && md_json_is(md_json_get(md_json_get(m->c.cfg, "HostConfig"), "AutoRemove"), MD_J_TRUE);
	/* --rm: also when the start failed, as Docker removes it then too */
	if (autorm && !never_started)
		md_ctr_remove_files(&m->c, 1);
	/* clients hear of the exit last, so `run --rm` returns after the removal */
	if (r == 0 && !never_started)
		md_mon_send_exit(m);
	for (int i = 0; i < MD_MON_CLIENTS; i++)
		if (m->cl[i].fd >= 0)
			close(m->cl[i].fd);
	if (lockfd >= 0)
		close(lockfd);
	return r < 0 ? code : 0;
}

/* ---- the monitor's clients, and a container's state as its monitor tells ---- */

static int md_mon_connect(const char *id, const char *hello)
{
	struct sockaddr_un sa;
	int dfd = md_ctr_sockaddr(id, &sa);
	int fd = dfd < 0 ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int cr = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof sa);
	if (dfd >= 0)
		close(dfd);
	if (fd < 0 || cr < 0) {
		md_errno("connect to the monitor of container %.12s", id);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (md_frame_sends(fd, 'H', hello) < 0) {
		close(fd);
		return md_errno("talk to the monitor");
	}
	return fd;
}

/* A monitor's 'F' frame, "CODE KIND message": the container could not
 * start (or run); its error is recorded as the monitor had it. */
static int md_mon_failure(const char *buf, int *code)
{
	char *e;
	long kind = MD_EK_INTERNAL, k;
	*code = atoi(buf);
	const char *m = strchr(buf, ' ');
	if (m && (k = strtol(m + 1, &e, 10), e != m + 1 && *e == ' ' && k >= 0 && k <= MD_EK_FORBIDDEN)) {
		kind = k;
		m = e;
	}
	return md_errk((enum md_errkind)kind, "%s", m ? m + 1 : buf);
}

/* Start the monitor (detached from us) with fd as its first client. */
static int md_mon_spawn(const char *id, const char *hello)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return md_errno("socketpair");
	fflush(NULL);
	pid_t p = fork();
	if (p < 0) {
		close(sv[0]);
		close(sv[1]);
		return md_errno("fork");
	}
	if (p == 0) {
		/* double fork: the monitor must not be our child */
		if (fork() != 0)
			_exit(0);
		setsid();
		if (chdir("/") < 0)
			_exit(125);
		int nul = open("/dev/null", O_RDWR);
		dup2(sv[1], 3);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		md_close_from(4, 0, -1, -1);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char *argv[] = {"minidock", "--root", md_store.root, "--run-root", md_store.runroot, "__monitor", (char *)id, "3", NULL};
		execv("/proc/self/exe", argv);
		char why[256];
		snprintf(why, sizeof why, "125 0 cannot start the container's monitor: exec /proc/self/exe: %s", strerror(errno));
		md_frame_sends(3, 'F', why);
		_exit(125);
	}
	close(sv[1]);
	waitpid(p, NULL, 0);
	if (md_frame_sends(sv[0], 'H', hello) < 0) {
		/* the monitor died at once: its 'F' frame says why, if it could */
		char type, buf[512];
		size_t n;
		int code;
		if (md_frame_recv(sv[0], &type, buf, sizeof buf, &n) == 0 && type == 'F') {
			md_mon_failure(buf, &code);
		} else {
			md_errno("talk to the monitor");
		}
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

/* Wait for the monitor's verdict: 'A' started, 'F' failed (exit code in *code). */
static int md_mon_await_start(int fd, int *code)
{
	for (;;) {
		char type, buf[65536];
		size_t n;
		if (md_frame_recv(fd, &type, buf, sizeof buf, &n) < 0) {
			*code = 125;
			return md_err("the monitor went away while starting the container");
		}
		if (type == 'A')
			return 0;
		if (type == 'N') {
			md_say(buf);
			continue;
		}
		if (type == 'F')
			return md_mon_failure(buf, code);
		if (type == 'X') {
			*code = atoi(buf);
			return 0;
		}
	}
}

/* Is it running (monitor alive and the state says so)? */
static int md_ctr_running(struct md_ctr *c)
{
	const char *s = md_ctr_status_raw(c);
	return (md_streq(s, "running") || md_streq(s, "restarting")) && md_ctr_monitor_alive(c->id);
}

static int md_ctr_paused(struct md_ctr *c)
{
	char *p = md_ctr_rpath(c->id, "paused");
	int r = md_path_exists(p);
	free(p);
	return r;
}

/* held: the container lock when the caller holds it, else -1 (taken here) */
static void md_ctr_reconcile_locked(struct md_ctr *c, int held)
{
	const char *s = md_ctr_status_raw(c);
	if (!(md_streq(s, "running") || md_streq(s, "restarting")) || md_ctr_monitor_alive(c->id))
		return;
	int lk = held >= 0 ? -1 : md_ctr_lock(c->id);
	/* reread: someone may have done this already */
	char *p = md_ctr_path(c->id, "state.json");
	struct md_json *st = md_json_parse_file(p);
	free(p);
	if (st) {
		md_json_free(c->st);
		c->st = st;
	}
	s = md_ctr_status_raw(c);
	if ((md_streq(s, "running") || md_streq(s, "restarting")) && !md_ctr_monitor_alive(c->id)) {
		char *lk = md_ctr_rpath(c->id, "monitor.lock");
		int crashed = md_path_exists(lk); /* the monitor died, or the machine restarted */
		md_cg_destroy(md_cgroup_parent(), c->id);
		md_net_teardown(c->id, 8, 0);
		md_ctr_rclean(c->id);
		free(lk);
		md_json_sets(c->st, "Status", "exited");
		md_json_seti(c->st, "Pid", 0);
		md_json_seti(c->st, "ExitCode", crashed ? 137 : 255);
		md_json_sets(c->st, "Error", crashed ? "the container's monitor died" : "the machine restarted while the container ran");
		md_state_set_time(c->st, "FinishedAt");
		md_ctr_save_state(c);
	}
	md_err_clear();
	if (lk >= 0)
		close(lk);
}

static void md_ctr_reconcile(struct md_ctr *c)
{
	md_ctr_reconcile_locked(c, -1);
}

/* Docker's status word: created, running, paused, restarting, exited, dead. */
static const char *md_ctr_state(struct md_ctr *c)
{
	md_ctr_reconcile(c);
	const char *s = md_ctr_status_raw(c);
	if (md_streq(s, "running") && md_ctr_paused(c))
		return "paused";
	return s;
}

/* The command as ps and the API's list show it: Path and Args, by spaces. */
static void md_ctr_cmdline(const struct md_ctr *c, struct md_sb *sb)
{
	md_sb_puts(sb, md_json_gets(c->cfg, "Path") ? md_json_gets(c->cfg, "Path") : "");
	struct md_json *args = md_json_get(c->cfg, "Args");
	for (struct md_json *x = args ? args->child : NULL; x; x = x->next)
		md_sb_printf(sb, " %s", md_json_str(x) ? x->s : "");
}

/* A state with a process behind it (Docker's State.Running; ps without -a). */
static int md_state_up(const char *state)
{
	return md_streq(state, "running") || md_streq(state, "paused") || md_streq(state, "restarting");
}

/**** 19 engine: containers *************************************************/
/*
 * The engine: what minidock does to containers, whoever asks.  The CLI
 * (sections 21-25) and the API (section 26) are front ends over it: they
 * turn flags or HTTP requests into these calls, and the calls' results or
 * errors into text or JSON.  An operation takes typed arguments (an ID, a
 * spec struct, a create request in Docker's {Config, HostConfig} shape)
 * and returns 0 or -1 with the error recorded (md_error: kind, errno,
 * message; section 03); it prints nothing.  Streams (attach, logs, exec)
 * write through md_out, which a front end points at a terminal or at an
 * API client's socket.
 *
 * May call: sections 01-18.  Called by: 21-27.
 */

/* ---- create ---- */

/* Set KEY=VALUE in an Env array: KEY's earlier value is replaced. */
static void md_env_put(struct md_json *env, const char *kv)
{
	size_t kl = strcspn(kv, "=");
	for (struct md_json *x = env->child; x; x = x->next)
		if (md_json_str(x) && strncmp(x->s, kv, kl) == 0 && (x->s[kl] == '=' || x->s[kl] == 0)) {
			free(x->s);
			x->s = md_strdup(kv);
			return;
		}
	md_json_push(env, md_json_newstr(kv));
}

/* Add a mount record {Type, Name, Source, Destination, RW, Options} */
static void md_mount_add(struct md_json *ms, const char *type, const char *name, const char *src, const char *dst,
                         int rw, const char *opts)
{
	/* a later mount at the same destination replaces an earlier one */
	for (struct md_json *m = ms->child, *next; m; m = next) {
		next = m->next;
		if (md_streq(md_json_gets(m, "Destination"), dst)) {
			struct md_json **pp = &ms->child, *prev = NULL;
			while (*pp != m) {
				prev = *pp;
				pp = &(*pp)->next;
			}
			*pp = m->next;
			if (ms->last == m)
				ms->last = prev;
			ms->n--;
			md_json_free1(m);
		}
	}
	struct md_json *m = md_json_push(ms, md_json_new(MD_J_OBJ));
	md_json_sets(m, "Type", type);
	if (name)
		md_json_sets(m, "Name", name);
	md_json_sets(m, "Source", src);
	md_json_sets(m, "Destination", dst);
	md_json_sets(m, "Mode", rw ? "" : "ro");
	md_json_set(m, "RW", md_json_newbool(rw));
	md_json_sets(m, "Propagation", "rprivate");
	if (opts)
		md_json_sets(m, "Options", opts);
}

static int md_path_clean_abs(const char *p, const char *what)
{
	if (!p || p[0] != '/')
		return md_errk(MD_EK_INVALID, "invalid %s \"%s\": must be an absolute path", what, p ? p : "");
	return 0;
}

/* A volume mount of a named or new anonymous volume. */
static int md_mount_volume(struct md_json *ms, const char *name, const char *dst, int rw, struct md_strv *newvols)
{
	char anon[65];
	int anonymous = !name || !*name;
	if (anonymous) {
		md_random_hex(anon, 32);
		name = anon;
	}
	int created;
	if (md_volume_create(name, NULL, NULL, anonymous, &created) < 0)
		return -1;
	if (created)
		md_strv_push(newvols, name);
	char *vd = md_volume_dir(name), *src = md_asprintf("%s/_data", vd);
	md_mount_add(ms, "volume", name, src, dst, rw, NULL);
	free(vd);
	free(src);
	return 0;
}

/* "--mount type=bind,source=/a,target=/b,readonly" etc. */
static int md_mount_parse(struct md_json *ms, const char *spec, struct md_strv *newvols)
{
	char type[16] = "volume", src[PATH_MAX] = "", dst[PATH_MAX] = "", opts[256] = "";
	int ro = 0;
	char *s = md_strdup(spec);
	for (char *kv = strtok(s, ","); kv; kv = strtok(NULL, ",")) {
		char *eq = strchr(kv, '=');
		const char *v = eq ? eq + 1 : "true";
		if (eq)
			*eq = 0;
		if (!strcmp(kv, "type"))
			snprintf(type, sizeof type, "%s", v);
		else if (!strcmp(kv, "source") || !strcmp(kv, "src"))
			snprintf(src, sizeof src, "%s", v);
		else if (!strcmp(kv, "target") || !strcmp(kv, "dst") || !strcmp(kv, "destination"))
			snprintf(dst, sizeof dst, "%s", v);
		else if (!strcmp(kv, "readonly") || !strcmp(kv, "ro"))
			ro = strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
		else if (!strcmp(kv, "tmpfs-size")) {
			int64_t b = md_parse_size(v);
			if (b < 0) {
				free(s);
				return md_errk(MD_EK_INVALID, "invalid tmpfs-size \"%s\"", v);
			}
			snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%ssize=%lld", *opts ? "," : "", (long long)b);
		} else if (!strcmp(kv, "tmpfs-mode")) {
			snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%smode=%s", *opts ? "," : "", v);
		} else if (!strcmp(kv, "bind-propagation") || !strcmp(kv, "volume-nocopy") || !strcmp(kv, "consistency")) {
			/* accepted */
		} else {
			md_errk(MD_EK_INVALID, "unexpected key \"%s\" in --mount %s", kv, spec);
			free(s);
			return -1;
		}
	}
	free(s);
	if (md_path_clean_abs(dst, "mount target") < 0)
		return -1;
	if (!strcmp(type, "bind")) {
		if (md_path_clean_abs(src, "bind source") < 0)
			return -1;
		if (!md_path_exists(src))
			return md_errk(MD_EK_INVALID, "invalid mount config for type \"bind\": bind source path does not exist: %s", src);
		md_mount_add(ms, "bind", NULL, src, dst, !ro, NULL);
	} else if (!strcmp(type, "volume")) {
		return md_mount_volume(ms, src, dst, !ro, newvols);
	} else if (!strcmp(type, "tmpfs")) {
		if (*src)
			return md_errk(MD_EK_INVALID, "invalid mount config for type \"tmpfs\": source must not be specified");
		md_mount_add(ms, "tmpfs", NULL, "", dst, !ro, opts);
	} else {
		return md_errk(MD_EK_INVALID, "invalid mount type \"%s\" (supported: bind, volume, tmpfs)", type);
	}
	return 0;
}

/* "-v SRC:DST[:ro|rw]", "-v NAME:DST", "-v DST" (anonymous) */
static int md_bind_parse(struct md_json *ms, const char *spec, struct md_strv *newvols)
{
	char *s = md_strdup(spec);
	char *parts[3] = {0};
	int n = 0;
	for (char *p = s; n < 3;) {
		parts[n++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	int r = 0, rw = 1;
	const char *src = NULL, *dst = NULL, *mode = NULL;
	if (n == 1)
		dst = parts[0];
	else {
		src = parts[0];
		dst = parts[1];
		mode = n == 3 ? parts[2] : NULL;
	}
	if (mode) {
		for (char *o = strtok((char *)mode, ","); o; o = strtok(NULL, ",")) {
			if (!strcmp(o, "ro"))
				rw = 0;
			else if (!strcmp(o, "rw") || !strcmp(o, "z") || !strcmp(o, "Z") || !strcmp(o, "rprivate") ||
			         !strcmp(o, "private") || !strcmp(o, "nocopy"))
				;
			else {
				r = md_errk(MD_EK_INVALID, "invalid mode \"%s\" in volume spec \"%s\"", o, spec);
				goto out;
			}
		}
	}
	if (md_path_clean_abs(dst, "volume destination") < 0) {
		r = -1;
		goto out;
	}
	if (!src) {
		r = md_mount_volume(ms, NULL, dst, rw, newvols);
	} else if (src[0] == '/') {
		/* as Docker, -v creates a missing host directory */
		if (!md_path_exists(src) && md_mkdir_p(src, 0755) < 0)
			r = -1;
		else
			md_mount_add(ms, "bind", NULL, src, dst, rw, NULL);
	} else if (src[0] == '.' || strchr(src, '/')) {
		r = md_errk(MD_EK_INVALID, "invalid volume spec \"%s\": a bind source must be an absolute path", spec);
	} else {
		r = md_mount_volume(ms, src, dst, rw, newvols);
	}
out:
	free(s);
	return r;
}

/* Check what Docker's daemon checks before it creates anything. */
static int md_hostconfig_validate(struct md_json *hc)
{
	long long mem = md_json_geti(hc, "Memory", 0), swap = md_json_geti(hc, "MemorySwap", 0);
	if (mem < 0)
		return md_errk(MD_EK_INVALID, "invalid memory limit %lld", mem);
	if (mem > 0 && mem < 6 * 1024 * 1024)
		return md_errk(MD_EK_INVALID, "Minimum memory limit allowed is 6MB");
	if (swap > 0 && mem == 0)
		return md_errk(MD_EK_INVALID, "You should always set the Memory limit when using Memoryswap limit, see usage");
	if (swap > 0 && swap < mem)
		return md_errk(MD_EK_INVALID, "Minimum memoryswap limit should be larger than memory limit, see usage");
	long long nano = md_json_geti(hc, "NanoCpus", 0);
	if (nano < 0 || (nano > 0 && nano < 10000000) || nano > md_ncpus() * 1000000000LL)
		return md_errk(MD_EK_INVALID, "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs available", md_ncpus(), md_ncpus());
	if (nano > 0 && (md_json_geti(hc, "CpuPeriod", 0) || md_json_geti(hc, "CpuQuota", 0)))
		return md_errk(MD_EK_INVALID, "Conflicting options: Nano CPUs and CPU %s cannot both be set",
		              md_json_geti(hc, "CpuPeriod", 0) ? "Period" : "Quota");
	long long shares = md_json_geti(hc, "CpuShares", 0);
	if (shares < 0 || (shares > 0 && shares < 2) || shares > 262144)
		return md_errk(MD_EK_INVALID, "invalid --cpu-shares %lld: the range is 2 to 262144", shares);
	const char *cs = md_json_gets(hc, "CpusetCpus");
	if (cs && *cs) {
		for (const char *p = cs; *p; p++)
			if (!isdigit((unsigned char)*p) && *p != ',' && *p != '-')
				return md_errk(MD_EK_INVALID, "Invalid value %s for cpuset cpus", cs);
		for (const char *p = cs; *p;) {
			long v = strtol(p, (char **)&p, 10);
			if (v >= md_ncpus())
				return md_errk(MD_EK_INVALID, "Requested CPUs are not available - requested %s, available: 0-%ld", cs, md_ncpus() - 1);
			while (*p == ',' || *p == '-')
				p++;
		}
	}
	struct md_json *rp = md_json_get(hc, "RestartPolicy");
	const char *rn = md_json_gets(rp, "Name");
	if (rn && *rn && strcmp(rn, "no") && strcmp(rn, "always") && strcmp(rn, "unless-stopped") &&
	    strcmp(rn, "on-failure"))
		return md_errk(MD_EK_INVALID, "invalid restart policy \"%s\" (no, always, unless-stopped, on-failure[:N])", rn);
	if (md_json_geti(rp, "MaximumRetryCount", 0) != 0 && !md_streq(rn, "on-failure"))
		return md_errk(MD_EK_INVALID, "maximum retry count cannot be used with restart policy '%s'", rn ? rn : "");
	if (md_json_is(md_json_get(hc, "AutoRemove"), MD_J_TRUE) && rn && *rn && strcmp(rn, "no"))
		return md_errk(MD_EK_INVALID, "conflicting options: cannot specify both --restart and --rm");
	uint64_t caps;
	if (md_caps_compute(hc, &caps) < 0)
		return -1;
	struct md_json *ul = md_json_get(hc, "Ulimits");
	for (struct md_json *u = ul ? ul->child : NULL; u; u = u->next)
		if (md_rlimit_res(md_json_gets(u, "Name") ? md_json_gets(u, "Name") : "") < 0)
			return md_errk(MD_EK_INVALID, "invalid ulimit type: %s", md_json_gets(u, "Name") ? md_json_gets(u, "Name") : "?");
	struct md_json *dv = md_json_get(hc, "Devices");
	for (struct md_json *d = dv ? dv->child : NULL; d; d = d->next) {
		const char *h = md_json_gets(d, "PathOnHost");
		struct stat st;
		if (!h || stat(h, &st) < 0)
			return md_errk(MD_EK_INVALID, "error gathering device information while adding custom device \"%s\": no such file or directory", h ? h : "?");
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
			return md_errk(MD_EK_INVALID, "error gathering device information while adding custom device \"%s\": not a device node", h);
	}
	const char *nm = md_json_gets(hc, "NetworkMode");
	if (nm && md_startswith(nm, "container:") && !nm[10])
		return md_errk(MD_EK_INVALID, "invalid network mode \"container:\": name a container");
	struct md_json *so = md_json_get(hc, "SecurityOpt");
	for (struct md_json *o = so ? so->child : NULL; o; o = o->next) {
		const char *s = md_json_str(o) ? o->s : "";
		if (!md_startswith(s, "no-new-privileges") && strcmp(s, "seccomp=unconfined") && strcmp(s, "seccomp:unconfined") &&
		    !md_startswith(s, "label") && !md_startswith(s, "apparmor"))
			return md_errk(MD_EK_INVALID, "invalid --security-opt \"%s\" (supported: no-new-privileges, seccomp=unconfined)", s);
	}
	const char *un = md_json_gets(hc, "UsernsMode");
	if (un && *un && strcmp(un, "host") && strcmp(un, "remap") && !md_startswith(un, "remap="))
		return md_errk(MD_EK_INVALID, "invalid --userns \"%s\" (supported: host, remap)", un);
	return 0;
}

/* The container's Config: the image's, then the request's on top (env by
 * key, entrypoint and command as Docker pairs them, working directory,
 * user, stop signal, labels, exposed ports and volumes). */
static struct md_json *md_create_config(const struct md_json *cc, const struct md_json *ic, const char *image, const char *id)
{
	struct md_json *nc = md_json_clone(cc);
	if (!md_json_gets(nc, "Hostname") || !*md_json_gets(nc, "Hostname")) {
		char hn[13];
		snprintf(hn, sizeof hn, "%.12s", id);
		md_json_sets(nc, "Hostname", hn);
	}
	struct md_json *env = md_json_new(MD_J_ARR);
	struct md_json *ienv = md_json_get(ic, "Env"), *cenv = md_json_get(cc, "Env");
	for (struct md_json *e = ienv ? ienv->child : NULL; e; e = e->next)
		if (md_json_str(e))
			md_json_push(env, md_json_newstr(e->s));
	for (struct md_json *e = cenv ? cenv->child : NULL; e; e = e->next)
		if (md_json_str(e))
			md_env_put(env, e->s);
	int has_path = 0;
	for (struct md_json *x = env->child; x; x = x->next)
		has_path |= md_startswith(x->s, "PATH=");
	if (!has_path)
		md_json_push(env, md_json_newstr("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	md_json_set(nc, "Env", env);
	struct md_json *ep = md_json_get(cc, "Entrypoint"), *cmd = md_json_get(cc, "Cmd");
	int ep_given = ep && ep->t != MD_J_NULL;
	if (!ep_given)
		ep = md_json_get(ic, "Entrypoint");
	if (!cmd || cmd->t == MD_J_NULL || !cmd->n)
		cmd = ep_given ? NULL : md_json_get(ic, "Cmd");
	md_json_set(nc, "Entrypoint", ep && ep->t == MD_J_ARR && ep->n ? md_json_clone(ep) : md_json_new(MD_J_NULL));
	md_json_set(nc, "Cmd", cmd && cmd->t == MD_J_ARR ? md_json_clone(cmd) : md_json_new(MD_J_NULL));
	static const char *const inherit[] = {"WorkingDir", "User", "StopSignal"};
	for (size_t i = 0; i < MD_ARRAY_LEN(inherit); i++) {
		const char *v = md_json_gets(cc, inherit[i]);
		if ((!v || !*v) && md_json_gets(ic, inherit[i]))
			md_json_sets(nc, inherit[i], md_json_gets(ic, inherit[i]));
	}
	struct md_json *il = md_json_get(ic, "Labels"), *cl = md_json_get(cc, "Labels");
	struct md_json *labels = md_json_is(il, MD_J_OBJ) ? md_json_clone(il) : md_json_new(MD_J_OBJ);
	for (struct md_json *l = md_json_is(cl, MD_J_OBJ) ? cl->child : NULL; l; l = l->next)
		md_json_set(labels, l->key, md_json_clone(l));
	md_json_set(nc, "Labels", labels);
	if (md_json_get(ic, "ExposedPorts") && !md_json_get(cc, "ExposedPorts"))
		md_json_set(nc, "ExposedPorts", md_json_clone(md_json_get(ic, "ExposedPorts")));
	if (md_json_get(ic, "Volumes") && !md_json_get(cc, "Volumes"))
		md_json_set(nc, "Volumes", md_json_clone(md_json_get(ic, "Volumes")));
	md_json_sets(nc, "Image", image);
	return nc;
}

/* The mounts: -v, --mount (strings or the API's objects), --tmpfs, then the
 * image's volumes that none of those covers.  Volumes made on the way are
 * added to newvols (to go again if the create fails). */
static struct md_json *md_create_mounts(const struct md_json *hc, const struct md_json *nc, struct md_strv *newvols)
{
	struct md_json *ms = md_json_new(MD_J_ARR);
	struct md_json *binds = md_json_get(hc, "Binds"), *mnts = md_json_get(hc, "Mounts"), *tfs = md_json_get(hc, "Tmpfs");
	int r = 0;
	for (struct md_json *b = binds ? binds->child : NULL; b && r == 0; b = b->next)
		r = md_bind_parse(ms, md_json_str(b) ? b->s : "", newvols);
	for (struct md_json *b = mnts ? mnts->child : NULL; b && r == 0; b = b->next) {
		if (md_json_str(b)) {
			r = md_mount_parse(ms, b->s, newvols);
			continue;
		}
		const char *t = md_json_gets(b, "Type"), *src = md_json_gets(b, "Source"), *d = md_json_gets(b, "Target");
		char *spec = md_asprintf("type=%s,%s%s%starget=%s%s", t ? t : "volume", src && *src ? "source=" : "",
		                         src && *src ? src : "", src && *src ? "," : "", d ? d : "",
		                         md_json_is(md_json_get(b, "ReadOnly"), MD_J_TRUE) ? ",readonly" : "");
		r = md_mount_parse(ms, spec, newvols);
		free(spec);
	}
	for (struct md_json *t = md_json_is(tfs, MD_J_OBJ) ? tfs->child : NULL; t && r == 0; t = t->next)
		if ((r = md_path_clean_abs(t->key, "tmpfs destination")) == 0)
			md_mount_add(ms, "tmpfs", NULL, "", t->key, 1, md_json_str(t) && *t->s ? t->s : NULL);
	struct md_json *ivol = md_json_get(nc, "Volumes");
	for (struct md_json *v = md_json_is(ivol, MD_J_OBJ) ? ivol->child : NULL; v && r == 0; v = v->next) {
		int covered = 0;
		for (struct md_json *m = ms->child; m; m = m->next)
			covered |= md_streq(md_json_gets(m, "Destination"), v->key);
		if (!covered)
			r = md_mount_volume(ms, NULL, v->key, 1, newvols);
	}
	if (r < 0) {
		md_json_free(ms);
		return NULL;
	}
	return ms;
}

/* The network mode (default: the bridge), and on a bridge network the
 * container's endpoint (address, aliases, MAC) and its published ports.
 * 0, or -1; *nets and *ports stay NULL off a bridge network. */
static int md_create_network(const struct md_json *req, struct md_json *hc, struct md_json *nc, struct md_json **nets,
                             struct md_json **ports)
{
	char nm[256];
	const char *mode = md_json_gets(hc, "NetworkMode");
	int dflt = !mode || !*mode || !strcmp(mode, "default");
	snprintf(nm, sizeof nm, "%s", dflt ? (MD_FEATURE_NET ? "bridge" : "none") : mode);
	md_json_sets(hc, "NetworkMode", nm);
	struct md_json *pb = md_json_get(hc, "PortBindings");
	int wants_ports = (md_json_is(pb, MD_J_OBJ) && pb->n) || md_json_is(md_json_get(hc, "PublishAllPorts"), MD_J_TRUE);
	*nets = *ports = NULL;
	if (!strcmp(nm, "host")) {
		if (wants_ports)
			fprintf(stderr, "minidock: %s: WARNING: Published ports are discarded when using host network mode\n", md_cmdname);
		return 0;
	}
	if (!strcmp(nm, "none") || md_startswith(nm, "container:"))
		return wants_ports ? md_errk(MD_EK_INVALID, "published ports need a bridge network, not --network %s", nm) : 0;
#if MD_FEATURE_NET
	struct md_json *ix = md_index_read();
	struct md_json *e = md_json_get(md_json_get(md_json_get(req, "NetworkingConfig"), "EndpointsConfig"), nm);
	const char *ip = md_json_gets(md_json_get(e, "IPAMConfig"), "IPv4Address"), *mac = md_json_gets(nc, "MacAddress");
	struct md_json *al = md_json_get(e, "Aliases"), *net = ix ? md_net_get(ix, nm) : NULL;
	int r = -1;
	if (!ix || (strcmp(nm, "bridge") && !net))
		r = ix ? md_errk(MD_EK_NOTFOUND, "network %s not found", nm) : -1;
	else if (ip && *ip && strcmp(nm, "bridge") == 0)
		md_errk(MD_EK_INVALID, "user specified IP address is supported on user defined networks only");
	else if (md_json_is(al, MD_J_ARR) && al->n && strcmp(nm, "bridge") == 0)
		md_errk(MD_EK_INVALID, "network-scoped alias is supported only for containers in user defined networks");
	else if (mac && *mac && md_mac_parse(mac, (unsigned char[6]){0}) < 0)
		; /* the message is set */
	else if ((*ports = md_ports_resolve(ix, nc, hc)))
		r = 0;
	if (r == 0) {
		*nets = md_json_new(MD_J_ARR);
		struct md_json *x = md_json_push(*nets, md_json_new(MD_J_OBJ));
		md_json_sets(x, "Name", net ? net->key : nm);
		if (ip && *ip)
			md_json_sets(x, "IPAddress", ip);
		if (md_json_is(al, MD_J_ARR) && al->n)
			md_json_set(x, "Aliases", md_json_clone(al));
		if (mac && *mac)
			md_json_sets(x, "MacAddress", mac);
	}
	md_json_free(ix);
	return r;
#else
	(void)req, (void)nc;
	return md_errk(MD_EK_NOTSUP, "bridge networking is not supported by this build (feature net is off): use --network none or host");
#endif
}

/* The container's config.json: what create resolved, in Docker's inspect
 * shape.  Takes nc, ms, nets and ports; all (Entrypoint + Cmd) is read. */
static struct md_json *md_create_record(const char *id, const char *imgid, struct md_json *nc, const struct md_json *hc,
                                        const struct md_json *all, struct md_json *ms, struct md_json *nets,
                                        struct md_json *ports)
{
	struct md_json *cfg = md_json_new(MD_J_OBJ);
	md_json_sets(cfg, "Id", id);
	char now[64];
	md_time_now(now, sizeof now);
	md_json_sets(cfg, "Created", now);
	md_json_sets(cfg, "Path", md_json_str(all->child) ? all->child->s : "");
	struct md_json *args = md_json_set(cfg, "Args", md_json_new(MD_J_ARR));
	for (struct md_json *x = all->child ? all->child->next : NULL; x; x = x->next)
		md_json_push(args, md_json_clone(x));
	md_json_sets(cfg, "Image", imgid);
	md_json_set(cfg, "Config", nc);
	md_json_set(cfg, "HostConfig", md_json_clone(hc));
	md_json_set(cfg, "Mounts", ms);
	/* the overlay fallback (if the store needs one) is chosen once, here,
	 * so a later environment cannot change a container's root */
	char *cd = md_store_path("containers");
	const char *bad = md_upper_unsupported(md_path_exists(cd) ? cd : md_store.root);
	free(cd);
	const char *fb = getenv("MINIDOCK_OVERLAY_FALLBACK"), *fs = getenv("MINIDOCK_TMPFS_UPPER_SIZE");
	if (bad)
		md_json_sets(cfg, "RootfsFallback", fb && *fb ? fb : MD_DEFAULT_OVERLAY_FALLBACK);
	if (bad && fs && *fs)
		md_json_sets(cfg, "RootfsFallbackSize", fs);
	if (nets)
		md_json_set(cfg, "Networks", nets);
	if (ports)
		md_json_set(cfg, "Ports", ports);
	return cfg;
}

/* The container's directory, made before it exists: in the session's tmp
 * (upper, work), or for a volatile container in the run root (empty); the
 * commit adds config.json. */
static int md_create_stage(const char *tmp, int vol)
{
	/* a volatile container's layer is made on the store by the commit */
	char *up = md_asprintf("%s/upper", tmp), *wk = md_asprintf("%s/work", tmp);
	int mk = mkdir(tmp, 0700) < 0 || (!vol && (mkdir(up, 0755) < 0 || mkdir(wk, 0700) < 0));
	free(up);
	free(wk);
	if (mk)
		return md_errno("create container directory");
	/* config.json is written by the commit, once the name is known; the
	 * state and the host files are the run root's, made by the start */
	return 0;
}

/* A volatile container's layer on the store, and its record into place in
 * the run root (no sync: nothing of it survives a reboot). */
static int md_create_volatile(const char *id, const char *dir, const char *tmp)
{
	char *up = md_asprintf("%s/upper", dir), *wk = md_asprintf("%s/work", dir), *rdir = md_ctr_rpath(id, NULL);
	int r = 0;
	if (mkdir(dir, 0700) < 0 || mkdir(up, 0755) < 0 || mkdir(wk, 0700) < 0)
		r = md_errno("create container directory %s", dir);
	else if (rename(tmp, rdir) < 0)
		r = md_errno("create container record %s", rdir);
	if (r < 0)
		md_rm_rf(dir);
	free(up);
	free(wk);
	free(rdir);
	return r;
}

/* Under the store lock: the name (given, or one made up) must be free; the
 * staged directory is renamed into place (a volatile one's record into the
 * run root, its layer made on the store) and the index names it.  If the
 * index write fails, the directory goes back into the session. */
static int md_create_commit(const char *id, const char *imgid, const char *name, struct md_json *cfg,
                            const struct md_json *hc, const char *tmp)
{
	if (md_store_lock() < 0)
		return -1;
	struct md_json *idx = md_index_read();
	char *nm = !idx ? NULL : name && *name ? md_strdup(name) : md_ctr_gen_name(idx);
	char *dir = md_ctr_path(id, NULL);
	int vol = md_json_is(md_json_get(hc, "AutoRemove"), MD_J_TRUE);
	int r = -1;
	if (!idx) {
		/* the message is set */
	} else if (md_ctr_name_taken(idx, nm)) {
		char other[65] = "";
		md_ctr_resolve(idx, nm, other);
		md_errk(MD_EK_CONFLICT, "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) "
		        "that container to be able to reuse that name.", nm, other);
	} else {
		char *nmslash = md_asprintf("/%s", nm), *cfs, *cp = md_asprintf("%s/config.json", tmp);
		md_json_sets(cfg, "Name", nmslash);
		cfs = md_json_dump(cfg, 0);
		r = md_write_file_atomic_f(cp, cfs, strlen(cfs), 0600, MD_WF_NOSYNC);
		free(cp);
		free(cfs);
		free(nmslash);
		if (r == 0 && vol)
			r = md_create_volatile(id, dir, tmp);
		else if (r == 0 && rename(tmp, dir) < 0)
			r = md_errno("create container directory %s", dir);
	}
	if (r == 0) {
		struct md_json *rec = md_json_set(md_json_get(idx, "containers"), id, md_json_new(MD_J_OBJ));
		md_json_sets(rec, "image", imgid);
		md_json_sets(rec, "name", nm);
		if (vol)
			md_json_set(rec, "volatile", md_json_newbool(1));
		const char *nmode = md_json_gets(hc, "NetworkMode");
		char from[65] = "";
		if (nmode && md_startswith(nmode, "container:") && md_ctr_resolve(idx, nmode + 10, from) == 0)
			md_json_sets(rec, "netfrom", from); /* it shares that container's network namespace */
		md_err_clear();
		/* one syncfs makes config.json, the directory's new name and the
		 * index durable before the index is renamed into place */
		r = md_index_write_f(idx, vol ? 0 : MD_WF_SYNCFS);
		if (r < 0 && vol) {
			char *rdir = md_ctr_rpath(id, NULL);
			md_rm_rf(rdir);
			md_rm_rf(dir);
			free(rdir);
		} else if (r < 0 && rename(dir, tmp) < 0) { /* back into the session, which goes */
			md_rm_rf(dir);
		}
	}
	free(nm);
	free(dir);
	md_json_free(idx);
	md_store_unlock();
	return r;
}

/*
 * Create a container from a Docker create request {Config, HostConfig,
 * NetworkingConfig} (Config.Image names the image): merge the image's
 * config as Docker does, make the volumes it needs, and commit the
 * container atomically.  Nothing half-made stays when it fails.
 */
static int md_ctr_create(struct md_json *req, const char *name, char id[65])
{
	struct md_json *cc = md_json_get(req, "Config"), *hc = md_json_get(req, "HostConfig");
	const char *image = md_json_gets(cc, "Image");
	char imgid[MD_DIGEST_LEN + 1];
	struct md_strv newvols = {0};
	struct md_json *idx, *icfg = NULL, *cfg = NULL, *nc = NULL, *all = NULL, *ms = NULL, *nets = NULL, *ports = NULL;
	struct md_sess sess;
	char *tmp = NULL;
	int r = -1;
	memset(&sess, 0, sizeof sess);
	sess.lockfd = -1;
	if (!image || !*image)
		return md_errk(MD_EK_INVALID, "no image given");
	if (name && *name && !md_ctr_name_valid(name[0] == '/' ? name + 1 : name))
		return md_errk(MD_EK_INVALID, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	if (name && name[0] == '/')
		name++;
	if (!md_json_is(hc, MD_J_OBJ))
		hc = md_json_set(req, "HostConfig", md_json_new(MD_J_OBJ));
	if (md_hostconfig_validate(hc) < 0 || !(idx = md_index_read()))
		return -1;
	int found = md_image_resolve(idx, image, imgid);
	md_json_free(idx);
	if (found < 0 || !(icfg = md_image_config(imgid)))
		return -1;
	md_random_hex(id, 32);
	nc = md_create_config(cc, md_json_get(icfg, "config"), image, id);
	/* Path and Args: entrypoint then command */
	all = md_json_new(MD_J_ARR);
	struct md_json *e2 = md_json_get(nc, "Entrypoint"), *c2 = md_json_get(nc, "Cmd");
	for (struct md_json *x = md_json_is(e2, MD_J_ARR) ? e2->child : NULL; x; x = x->next)
		md_json_push(all, md_json_clone(x));
	for (struct md_json *x = md_json_is(c2, MD_J_ARR) ? c2->child : NULL; x; x = x->next)
		md_json_push(all, md_json_clone(x));
	if (!all->n)
		md_errk(MD_EK_INVALID, "no command specified");
	else if ((ms = md_create_mounts(hc, nc, &newvols)) && md_create_network(req, hc, nc, &nets, &ports) == 0) {
		cfg = md_create_record(id, imgid, nc, hc, all, ms, nets, ports);
		nc = ms = nets = ports = NULL; /* cfg holds them */
	}
	char *cdir = md_store_path("containers");
	/* a volatile container is staged in the run root, the others in a session of the store */
	int vol = md_json_is(md_json_get(hc, "AutoRemove"), MD_J_TRUE);
	char *rcdir = md_asprintf("%s/containers", md_store.runroot);
	if (cfg && md_store_ensure() == 0 &&
	    (md_mkdir_p(cdir, 0700), vol ? md_mkdir_p(rcdir, 0700) == 0 : md_sess_begin(&sess) == 0)) {
		tmp = vol ? md_asprintf("%s/.new-%s", rcdir, id) : md_asprintf("%s/c", sess.dir);
		if (md_create_stage(tmp, vol) == 0 && md_create_commit(id, imgid, name, cfg, hc, tmp) == 0)
			r = 0;
	}
	free(rcdir);
	free(cdir);
	if (r < 0) {
		/* nothing half-made stays: the staged dir, new volumes */
		struct md_error keep = md_error;
		if (tmp)
			md_rm_rf(tmp);
		for (size_t i = 0; i < newvols.n; i++) {
			char *vd = md_volume_dir(newvols.v[i]);
			md_rm_rf(vd);
			free(vd);
		}
		md_error = keep;
	}
	md_json_free(nc);
	md_json_free(all);
	md_json_free(ms);
	md_json_free(nets);
	md_json_free(ports);
	md_strv_free(&newvols);
	md_json_free(cfg);
	md_json_free(icfg);
	free(tmp);
	md_sess_end(&sess);
	return r;
}

/* ---- start, stop, kill, pause, remove, rename ---- */

/* Resolve a container name (records the error when none is found). */
static int md_ctr_find(const char *name, char id[65])
{
	struct md_json *idx = md_index_read();
	int r = idx ? md_ctr_resolve(idx, name, id) : -1;
	md_json_free(idx);
	return r;
}

/* Start a created or stopped container; with *fdp the monitor stays
 * connected (for attaching), else the connection is closed. */
static int md_ctr_start(const char *id, const char *hello, int *fdp, int *code)
{
	struct md_ctr c;
	*code = 125;
	if (md_ctr_load(id, &c) < 0)
		return -1;
	int lk = md_ctr_lock(id);
	if (lk < 0) {
		md_ctr_free(&c);
		return -1;
	}
	md_ctr_reconcile_locked(&c, lk);
	int r = 0;
	if (md_ctr_running(&c)) {
		if (fdp)
			*fdp = md_mon_connect(id, hello);
		r = fdp && *fdp < 0 ? -1 : 1;
	} else {
		/* the terminal's size goes with the hello, so the container's
		 * first process sees it (not 24x80) */
		char h2[128];
		struct winsize ws;
		if (md_tty_size(&ws) == 0)
			snprintf(h2, sizeof h2, "%s size=%ux%u", hello, ws.ws_row, ws.ws_col);
		else
			snprintf(h2, sizeof h2, "%s", hello);
		/* a monitor held for an API attach is told to go; else a new one */
		int held = md_ctr_monitor_alive(id);
		int fd = held ? md_mon_connect(id, h2) : md_mon_spawn(id, h2);
		if (held && fd >= 0 && md_frame_send(fd, 'G', NULL, 0) < 0) {
			close(fd);
			fd = md_errno("talk to the monitor");
		}
		if (fd < 0 || md_mon_await_start(fd, code) < 0) {
			if (fd >= 0)
				close(fd);
			r = -1;
		} else if (fdp) {
			*fdp = fd;
		} else {
			close(fd);
		}
	}
	close(lk);
	md_ctr_free(&c);
	return r;
}

/* Stop: the monitor sends StopSignal, then SIGKILL after the timeout; how
 * is the frame that asks it, 'T' (stop) or 'D' (for `rm -f`). */
static int md_ctr_stop_as(const char *id, int secs, char how)
{
	struct md_ctr c;
	if (md_ctr_load(id, &c) < 0)
		return -1;
	md_ctr_reconcile(&c);
	int running = md_ctr_running(&c);
	if (running && md_ctr_paused(&c))
		md_cg_freeze(md_cgroup_parent(), id, 0);
	md_ctr_free(&c);
	if (!running)
		return 0;
	int fd = md_mon_connect(id, "wait");
	if (fd < 0)
		return 0; /* it went away meanwhile */
	char b[16];
	snprintf(b, sizeof b, "%d", secs);
	md_frame_sends(fd, how, secs >= 0 ? b : "");
	char type, buf[256];
	size_t n;
	while (md_frame_recv(fd, &type, buf, sizeof buf, &n) == 0 && type != 'X')
		;
	close(fd);
	/* the monitor may still be finishing: wait for its lock to go */
	for (int i = 0; i < 500 && md_ctr_monitor_alive(id); i++)
		usleep(10000);
	return 0;
}

/* Stop a container (if it runs); a monitor that is not there any more has
 * nothing to stop. */
static int md_ctr_stop(const char *id, int secs)
{
	return md_ctr_stop_as(id, secs, 'T');
}

/* Stop (if it runs) and start again. */
static int md_ctr_restart(const char *id, int secs)
{
	int code;
	if (md_ctr_stop(id, secs) < 0)
		return -1;
	return md_ctr_start(id, "", NULL, &code) < 0 ? -1 : 0;
}

/* Send sig to a running container's first process (through its monitor). */
static int md_ctr_kill(const char *id, int sig)
{
	struct md_ctr c;
	if (md_ctr_load(id, &c) < 0)
		return -1;
	md_ctr_reconcile(&c);
	int running = md_ctr_running(&c);
	md_ctr_free(&c);
	if (!running)
		return md_errk(MD_EK_CONFLICT, "container %s is not running", id);
	int fd = md_mon_connect(id, "");
	char b[16];
	snprintf(b, sizeof b, "%d", sig);
	int r = fd < 0 || md_frame_sends(fd, 'K', b) < 0 ? -1 : 0;
	if (fd >= 0)
		close(fd);
	return r;
}

/* Freeze (on) or thaw a running container's processes. */
static int md_ctr_pause(const char *id, int on)
{
	struct md_ctr c;
	if (md_ctr_load(id, &c) < 0)
		return -1;
	md_ctr_reconcile(&c);
	int running = md_ctr_running(&c), paused = md_ctr_paused(&c);
	md_ctr_free(&c);
	if (!running)
		return md_errk(MD_EK_CONFLICT, "Container %s is not running", id);
	if (on && paused)
		return md_errk(MD_EK_CONFLICT, "Container %s is already paused", id);
	if (!on && !paused)
		return md_errk(MD_EK_CONFLICT, "Container %s is not paused", id);
	if (md_cg_freeze(md_cgroup_parent(), id, on) < 0)
		return -1;
	/* the mark lives in the run root: a reboot thaws everything */
	char *pp = md_ctr_rpath(id, "paused");
	int fd = on ? open(pp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
	if (fd >= 0)
		close(fd);
	else if (!on)
		unlink(pp);
	free(pp);
	return 0;
}

static int md_ctr_rm(const char *id, int force, int volumes)
{
	struct md_ctr c;
	if (md_ctr_load(id, &c) < 0)
		return -1;
	md_ctr_reconcile(&c);
	if (md_ctr_running(&c)) {
		if (!force) {
			md_errk(MD_EK_CONFLICT, "You cannot remove a %s container %s. Stop the container before attempting removal or force remove",
			       md_ctr_paused(&c) ? "paused" : "running", id);
			md_ctr_free(&c);
			return -1;
		}
		md_ctr_stop_as(id, 0, 'D');
	}
	int lk = md_ctr_lock(id);
	int r = md_ctr_remove_files(&c, volumes);
	if (lk >= 0)
		close(lk);
	md_ctr_free(&c);
	return r;
}

/* Give a container a new name (unique among containers). */
static int md_ctr_rename(const char *name, const char *newname)
{
	const char *nn = newname[0] == '/' ? newname + 1 : newname;
	if (!md_ctr_name_valid(nn))
		return md_errk(MD_EK_INVALID, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", nn);
	if (md_store_lock() < 0)
		return -1;
	struct md_json *idx = md_index_read();
	char id[65];
	struct md_ctr c;
	int r = -1;
	if (!idx || md_ctr_resolve(idx, name, id) < 0) {
		/* the message is set */
	} else if (md_ctr_name_taken(idx, nn)) {
		md_errk(MD_EK_CONFLICT, "Error when allocating new name: Conflict. The container name \"/%s\" is already in use", nn);
	} else if (md_ctr_load(id, &c) == 0) {
		char *slash = md_asprintf("/%s", nn);
		md_json_sets(c.cfg, "Name", slash);
		free(slash);
		char *js = md_json_dump(c.cfg, 0), *p = md_ctr_path(id, "config.json");
		/* the index (where names are unique) first, then the config; if
		 * that fails, the index gets the old name back */
		struct md_json *rec = md_json_get(md_json_get(idx, "containers"), id);
		char *old = md_strdup(md_json_gets(rec, "name") ? md_json_gets(rec, "name") : c.name);
		md_json_sets(rec, "name", nn);
		if (md_index_write(idx) < 0) {
			/* nothing changed */
		} else if (md_write_file_atomic(p, js, strlen(js), 0600) == 0) {
			r = 0;
		} else {
			struct md_error keep = md_error;
			md_json_sets(rec, "name", old);
			if (md_index_write(idx) < 0)
				md_err_wrap("%s is renamed in the index only", c.name);
			else
				md_error = keep;
		}
		free(old);
		free(js);
		free(p);
		md_ctr_free(&c);
	}
	md_json_free(idx);
	md_store_unlock();
	return r;
}

/* Remove every container that is not running; their IDs go to gone.  The
 * first failure's error, or 0 (the others are still removed). */
static int md_ctr_prune(struct md_strv *gone, uint64_t *reclaimed)
{
	struct md_json *idx = md_index_read();
	*reclaimed = 0;
	if (!idx)
		return -1;
	int r = 0;
	struct md_error first = {0};
	for (struct md_json *e = md_json_get(idx, "containers")->child; e; e = e->next) {
		struct md_ctr c;
		if (md_ctr_load(e->key, &c) < 0)
			continue;
		const char *st = md_ctr_state(&c);
		if (md_streq(st, "exited") || md_streq(st, "created")) {
			char *up = md_ctr_path(c.id, "upper");
			uint64_t sz = md_du_path(up);
			free(up);
			if (md_ctr_rm(c.id, 0, 0) == 0) {
				md_strv_push(gone, c.id);
				*reclaimed += sz;
			} else if (r == 0) {
				r = -1;
				first = md_error;
			}
		}
		md_ctr_free(&c);
	}
	md_json_free(idx);
	if (r < 0)
		md_error = first;
	return r;
}

/* ---- attach, wait, logs ---- */

static struct termios md_tty_saved;

static int md_tty_raw;

static void md_tty_restore(void)
{
	if (md_tty_raw) {
		tcsetattr(0, TCSADRAIN, &md_tty_saved);
		md_tty_raw = 0;
	}
}

/* Our terminal (stdin, if it is one) in raw mode until md_tty_restore or
 * the exit: keys go to the container as typed. */
static void md_tty_make_raw(void)
{
	if (!isatty(0) || tcgetattr(0, &md_tty_saved) < 0)
		return;
	struct termios raw = md_tty_saved;
	cfmakeraw(&raw);
	if (tcsetattr(0, TCSADRAIN, &raw) == 0) {
		md_tty_raw = 1;
		atexit(md_tty_restore);
	}
}

static void md_send_winsize(struct md_queue *q)
{
	struct winsize ws;
	if (md_tty_size(&ws) == 0) {
		char b[32];
		snprintf(b, sizeof b, "%u %u", ws.ws_row, ws.ws_col);
		md_queue_frame(q, 'R', b, strlen(b));
	}
}

/* Relay our stdio to an attached monitor connection until the container
 * exits; returns its exit code (or -1 if the connection broke). Frames to
 * the monitor go through a queue written without blocking, and stdin is
 * read only while that queue is short: the monitor's output always gets
 * read, so a container flooded with input cannot stall its own output. */
static int md_attach_relay(int fd, int tty, int send_stdin)
{
	sigset_t ss, old;
	sigemptyset(&ss);
	int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t i = 0; i < MD_ARRAY_LEN(fwd); i++)
		sigaddset(&ss, fwd[i]);
	/* an API client's signals and window size come as requests, not here */
	if (!md_api_child)
		sigprocmask(SIG_BLOCK, &ss, &old);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout or socket is an error, not a death */
	int sfd = md_api_child ? -1 : signalfd(-1, &ss, SFD_CLOEXEC);
	if (tty)
		md_tty_make_raw();
	struct md_queue q = {NULL, 0, 0};
	if (tty)
		md_send_winsize(&q);
	int code = -1, in_open = send_stdin, sock_ok = 1;
	for (;;) {
		short sev = POLLIN | (q.len && sock_ok ? POLLOUT : 0);
		int want_in = in_open && q.len < 65536;
		/* an API client's socket is watched for a hangup when not read */
		int hup = !want_in && MD_FEATURE_API && md_api_child;
		struct pollfd pf[3] = {{fd, sev, 0}, {sfd, POLLIN, 0}, {want_in ? 0 : hup ? 1 : -1, want_in ? POLLIN : 0, 0}};
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGWINCH) {
					if (tty)
						md_send_winsize(&q);
				} else if (!tty) {
					char b[8];
					snprintf(b, sizeof b, "%u", si.ssi_signo);
					md_queue_frame(&q, 'S', b, strlen(b)); /* --sig-proxy, as Docker */
				}
			}
		}
		if (hup && pf[2].revents)
			break;
		if (pf[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[32768];
			ssize_t n = read(0, buf, sizeof buf);
			if (n > 0) {
				md_queue_frame(&q, 'I', buf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				md_queue_frame(&q, 'C', NULL, 0);
				in_open = 0;
			}
		}
		if (sock_ok && q.len && md_queue_flush(&q, fd) < 0) {
			/* the monitor hung up on our input: keep reading what it sends */
			sock_ok = in_open = 0;
			q.len = 0;
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char type, buf[65536 + 1];
			size_t n;
			if (md_frame_recv(fd, &type, buf, sizeof buf, &n) < 0)
				break;
			if (type == 'O')
				md_out(1, buf, n);
			else if (type == 'E')
				md_out(2, buf, n);
			else if (type == 'N')
				md_say(buf);
			else if (type == 'X') {
				code = atoi(buf);
				break;
			} else if (type == 'F') {
				md_mon_failure(buf, &code);
				md_tty_restore();
				md_fail(0);
				break;
			}
		}
	}
	md_queue_free(&q);
	md_tty_restore();
	if (sfd >= 0) {
		close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	return code;
}

/* Join a container's stdio: streams 1 stdin, 2 stdout, 4 stderr.  It
 * must run, unless hold: then a container that is created or exited gets
 * a monitor of its own that holds until a start tells it to go, so that
 * no early output is lost (the API's attach-then-start).  The monitor's
 * connection, for md_attach_relay. */
static int md_ctr_attach(const char *id, int streams, int hold)
{
	struct md_ctr c;
	char hello[80];
	snprintf(hello, sizeof hello, "%s%s%s", streams & 1 ? "in " : "", streams & 2 ? "out " : "", streams & 4 ? "err" : "");
	if (md_ctr_load(id, &c) < 0)
		return -1;
	int lk = md_ctr_lock(id);
	md_ctr_reconcile_locked(&c, lk);
	const char *st = md_ctr_status_raw(&c);
	int fd = -1;
	if (md_ctr_running(&c) || (hold && md_ctr_monitor_alive(id))) {
		fd = md_mon_connect(id, hello);
	} else if (!hold || !(md_streq(st, "created") || md_streq(st, "exited"))) {
		md_errk(MD_EK_CONFLICT, "You cannot attach to a stopped container, start it first");
	} else {
		snprintf(hello + strlen(hello), sizeof hello - strlen(hello), " hold");
		fd = md_mon_spawn(id, hello);
		/* wait until it holds (a start now finds it), or failed */
		char type, buf[1200];
		size_t n;
		while (fd >= 0) {
			if (md_frame_recv(fd, &type, buf, sizeof buf, &n) < 0) {
				close(fd);
				fd = md_err("the monitor went away");
			} else if (type == 'F') {
				int code;
				close(fd);
				fd = md_mon_failure(buf, &code);
			} else if (type == 'Z') {
				break;
			}
		}
	}
	if (lk >= 0)
		close(lk);
	md_ctr_free(&c);
	return fd;
}

/* What a wait waits for: the container not running (now or at its exit),
 * its next exit, or its removal. */
enum md_wait_cond { MD_WAIT_NOT_RUNNING, MD_WAIT_NEXT_EXIT, MD_WAIT_REMOVED };

/* Wait until cond holds; *code gets the exit code (0 when none was seen).
 * 0; -1 when the container is gone before an exit was seen; -2 when the
 * waiter on `hangup` (an API client's socket; -1: none) went away. */
static int md_ctr_wait(const char *id, enum md_wait_cond cond, int hangup, long long *code)
{
	*code = -1;
	for (;;) {
		struct md_ctr c;
		if (md_ctr_load(id, &c) < 0) {
			if (cond == MD_WAIT_REMOVED || *code >= 0)
				break;
			return md_errk(MD_EK_NOTFOUND, "container %.12s is gone", id);
		}
		md_ctr_reconcile(&c);
		int alive = md_ctr_monitor_alive(id), running = md_streq(md_ctr_status_raw(&c), "running");
		long long ec = md_json_geti(c.st, "ExitCode", 0);
		md_ctr_free(&c);
		if (*code < 0 && cond == MD_WAIT_NOT_RUNNING && !alive && !running)
			*code = ec; /* already stopped (or never started) */
		if (*code >= 0 && cond != MD_WAIT_REMOVED)
			break;
		int fd = alive && *code < 0 ? md_mon_connect(id, "wait") : -1;
		if (fd >= 0) {
			char type, buf[256];
			size_t n;
			/* a waiter that hangs up ends the wait */
			struct pollfd pf[2] = {{fd, POLLIN, 0}, {hangup, 0, 0}};
			while (poll(pf, 2, -1) >= 0 && !pf[1].revents &&
			       (!pf[0].revents || md_frame_recv(fd, &type, buf, sizeof buf, &n) == 0))
				if (pf[0].revents && type == 'X') {
					*code = atoll(buf);
					break;
				}
			close(fd);
			if (pf[1].revents)
				return -2;
			md_err_clear();
			continue;
		}
		md_err_clear();
		/* not started yet, being removed, or its monitor not listening
		 * (yet, or any more): look again shortly */
		struct pollfd pf = {hangup, POLLRDHUP, 0};
		if (poll(&pf, 1, 50) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return -2;
	}
	if (*code < 0)
		*code = 0;
	return 0;
}

static double md_log_time(const char *line)
{
	char ts[64];
	double t;
	const char *sp = strchr(line, ' ');
	if (!sp || sp - line >= (long)sizeof ts)
		return 0;
	memcpy(ts, line, (size_t)(sp - line));
	ts[sp - line] = 0;
	return md_time_parsef(ts, &t) < 0 ? 0 : t;
}

/* What `logs` shows: streams 1 stdout, 2 stderr (3 both); lines within
 * since..until (0: no bound), the last tail of them (-1: all). */
struct md_logopt {
	int timestamps, follow, streams;
	double since, until;
	long long tail;
};

/* since and until (md_parse_since) and tail ("all", or "" as an API
 * client may send, for every line; tailname names it in errors), each
 * NULL when not given. */
static int md_logopt_parse(struct md_logopt *o, const char *since, const char *until, const char *tail,
                           const char *tailname)
{
	if ((since && md_parse_since(since, &o->since) < 0) || (until && md_parse_since(until, &o->until) < 0))
		return -1;
	if (!tail || !*tail || strcmp(tail, "all") == 0)
		return 0;
	if (md_parse_int(tail, &o->tail, tailname) < 0)
		return -1;
	if (o->tail < 0)
		return md_errk(MD_EK_INVALID, "invalid value \"%s\" for %s: a number of lines, or all", tail, tailname);
	return 0;
}

/* Print one log line "TIME STREAM F|P DATA" to stdout or stderr. */
static void md_log_emit(const char *line, size_t len, const struct md_logopt *o, int *partial_pending)
{
	char *copy = md_strndup(line, len);
	char *t = copy, *s = strchr(t, ' ');
	char *f = s ? strchr(s + 1, ' ') : NULL;
	char *d = f ? strchr(f + 1, ' ') : NULL;
	if (!s || !f || !d) {
		free(copy);
		return;
	}
	*s = *f = *d = 0;
	double tm = md_log_time(line);
	if ((o->since > 0 && tm < o->since) || (o->until > 0 && tm > o->until)) {
		free(copy);
		return;
	}
	int fd = strcmp(s + 1, "stderr") == 0 ? 2 : 1;
	if (!(o->streams & fd)) {
		free(copy);
		return;
	}
	struct md_sb b = {0};
	if (o->timestamps && !*partial_pending) {
		/* the log keeps Go's RFC3339Nano (trailing zeros trimmed); logs -t
		 * prints Docker's fixed width, nine digits always */
		size_t sl = strcspn(t, ".Z");
		const char *fr = t[sl] == '.' ? t + sl + 1 : "";
		size_t fl = strspn(fr, "0123456789");
		md_sb_printf(&b, "%.*s.%.*s%.*sZ ", (int)sl, t, (int)(fl > 9 ? 9 : fl), fr, (int)(fl < 9 ? 9 - fl : 0),
		             "000000000");
	}
	md_sb_puts(&b, d + 1);
	if (f[1] == 'F')
		md_sb_putc(&b, '\n');
	md_out(fd, b.s, b.len);
	md_sb_free(&b);
	*partial_pending = f[1] == 'P';
	free(copy);
}

/* The container's log files, oldest rotated one first. */
static void md_log_files(const char *log, struct md_strv *files)
{
	for (int i = 9; i >= 1; i--) {
		char *p = md_asprintf("%s.%d", log, i);
		if (md_path_exists(p))
			md_strv_push(files, p);
		free(p);
	}
	md_strv_push(files, log);
}

/* Follow the log from pos while the container runs (and across rotation). */
static void md_log_follow(const char *id, const char *log, off_t pos, ino_t ino, const struct md_logopt *o, int *partial)
{
	struct md_ctr c;
	for (;;) {
		int running = md_ctr_load(id, &c) == 0 && (md_ctr_reconcile(&c), md_ctr_running(&c));
		md_ctr_free(&c);
		int fd = open(log, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0) {
			if (st.st_ino != ino) {
				pos = 0;
				ino = st.st_ino;
			}
			if (st.st_size > pos) {
				FILE *f = fdopen(fd, "re");
				fd = -1;
				fseeko(f, pos, SEEK_SET);
				char *line = NULL;
				size_t cap = 0;
				ssize_t n;
				while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
					md_log_emit(line, (size_t)n - 1, o, partial);
					pos += n;
				}
				free(line);
				fclose(f);
			}
		}
		if (fd >= 0)
			close(fd);
		/* an API client that hung up ends the follow (and frees its
		 * stream slot), output or not */
		struct pollfd hp = {1, 0, 0};
		if (!running || (MD_FEATURE_API && md_api_child && poll(&hp, 1, 0) > 0))
			break;
		usleep(100000);
	}
	md_err_clear();
}

/* Write a container's log to md_out, as o says (the CLI's logs and the
 * API's). */
static int md_ctr_logs(const char *id, const struct md_logopt *o)
{
	char *log = md_ctr_logpath(id);
	struct md_strv files = {0};
	md_log_files(log, &files);
	/* count lines to skip for the tail */
	long long total = 0, skip = 0;
	if (o->tail >= 0) {
		for (size_t i = 0; i < files.n; i++) {
			FILE *f = fopen(files.v[i], "re");
			int ch;
			while (f && (ch = getc(f)) != EOF)
				total += ch == '\n';
			if (f)
				fclose(f);
		}
		skip = total > o->tail ? total - o->tail : 0;
	}
	int partial = 0;
	long long lineno = 0;
	off_t pos = 0;
	ino_t ino = 0;
	for (size_t i = 0; i < files.n; i++) {
		FILE *f = fopen(files.v[i], "re");
		if (!f)
			continue;
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] != '\n')
				break; /* a line still being written */
			if (lineno++ >= skip)
				md_log_emit(line, (size_t)n - 1, o, &partial);
			pos += n;
		}
		if (i + 1 == files.n) {
			struct stat st;
			if (fstat(fileno(f), &st) == 0)
				ino = st.st_ino;
			pos = n > 0 && line[n - 1] != '\n' ? ftello(f) - n : ftello(f);
		}
		free(line);
		fclose(f);
	}
	md_strv_free(&files);
	if (o->follow)
		md_log_follow(id, log, pos, ino, o, &partial);
	free(log);
	return 0;
}

/* ---- exec ---- */

/* Copy between two fds until EOF on `from`. */
static int md_pump(int from, int to)
{
	char buf[32768];
	ssize_t n;
	while ((n = read(from, buf, sizeof buf)) > 0)
		if (md_write_all(to, buf, (size_t)n) < 0)
			return md_errno("write");
	return n < 0 ? md_errno("read") : 0;
}

/*
 * An exec: a command run in a running container, the same for `minidock
 * exec` and the API's exec start.  The process that enters the container
 * must not map the host's binary (CVE-2019-5736), so md_exec runs the
 * rest from a sealed in-memory copy of minidock (the `__exec` entry, with
 * the spec in MINIDOCK_EXEC); where no sealed copy can be made, the
 * helper's being non-dumpable is the remaining guard.
 */
struct md_exec {
	char id[65];           /* the container, resolved */
	struct md_json *cmd;   /* the command's argv */
	struct md_json *env;   /* KEY=VALUE over the container's */
	char *user, *workdir;  /* NULL: the container's */
	int tty, in, detach, privileged;
};

static void md_exec_free(struct md_exec *e)
{
	md_json_free(e->cmd);
	md_json_free(e->env);
	free(e->user);
	free(e->workdir);
	memset(e, 0, sizeof *e);
}

static char *md_exec_dump(const struct md_exec *e)
{
	struct md_json *j = md_json_new(MD_J_OBJ);
	md_json_sets(j, "Id", e->id);
	md_json_set(j, "Cmd", md_json_clone(e->cmd));
	md_json_set(j, "Env", e->env ? md_json_clone(e->env) : md_json_new(MD_J_ARR));
	if (e->user)
		md_json_sets(j, "User", e->user);
	if (e->workdir)
		md_json_sets(j, "WorkingDir", e->workdir);
	int flags[] = {e->tty, e->in, e->detach, e->privileged};
	static const char *const names[] = {"Tty", "Stdin", "Detach", "Privileged"};
	for (size_t i = 0; i < MD_ARRAY_LEN(flags); i++)
		md_json_set(j, names[i], md_json_newbool(flags[i]));
	char *out = md_json_dump(j, 0);
	md_json_free(j);
	return out;
}

static int md_exec_load(const char *js, struct md_exec *e)
{
	memset(e, 0, sizeof *e);
	struct md_json *j = md_json_parse(js, strlen(js));
	const char *id = md_json_gets(j, "Id"), *u = md_json_gets(j, "User"), *w = md_json_gets(j, "WorkingDir");
	if (!id || !md_json_is(md_json_get(j, "Cmd"), MD_J_ARR) || !md_json_is(md_json_get(j, "Env"), MD_J_ARR)) {
		md_json_free(j);
		return md_errk(MD_EK_INVALID, "bad exec spec");
	}
	snprintf(e->id, sizeof e->id, "%s", id);
	e->cmd = md_json_clone(md_json_get(j, "Cmd"));
	e->env = md_json_clone(md_json_get(j, "Env"));
	e->user = u ? md_strdup(u) : NULL;
	e->workdir = w ? md_strdup(w) : NULL;
	e->tty = md_json_is(md_json_get(j, "Tty"), MD_J_TRUE);
	e->in = md_json_is(md_json_get(j, "Stdin"), MD_J_TRUE);
	e->detach = md_json_is(md_json_get(j, "Detach"), MD_J_TRUE);
	e->privileged = md_json_is(md_json_get(j, "Privileged"), MD_J_TRUE);
	md_json_free(j);
	return 0;
}

/* The process spec: the container's, with the exec's changes.  c is the
 * container, loaded; *target gets its first process. */
static int md_exec_spec(const struct md_exec *e, struct md_ctr *c, struct md_spec *sp, pid_t *target)
{
	if (!md_ctr_running(c) || md_streq(md_ctr_status_raw(c), "restarting"))
		return md_errk(MD_EK_CONFLICT, "container %s is not running", e->id);
	if (md_ctr_paused(c))
		return md_errk(MD_EK_CONFLICT, "container %s is paused, unpause the container before exec", e->id);
	*target = (pid_t)md_json_geti(c->st, "Pid", 0);
	struct md_json *cc = md_json_get(c->cfg, "Config"), *hc = md_json_get(c->cfg, "HostConfig");
	memset(sp, 0, sizeof *sp);
	sp->sync = sp->memfd = sp->netns_fd = -1;
	struct md_json *env = md_json_clone(md_json_get(cc, "Env"));
	if (env->t != MD_J_ARR) {
		md_json_free(env);
		env = md_json_new(MD_J_ARR);
	}
	for (struct md_json *x = e->env ? e->env->child : NULL; x; x = x->next)
		if (md_json_str(x))
			md_env_put(env, x->s);
	int has_term = 0;
	for (struct md_json *x = env->child; x; x = x->next)
		has_term |= md_json_str(x) && md_startswith(x->s, "TERM=");
	if (e->tty && !has_term) /* as Docker does for exec -t */
		md_json_push(env, md_json_newstr("TERM=xterm"));
	sp->envp = md_json_to_argv(env, NULL);
	md_json_free(env);
	sp->argv = md_json_to_argv(e->cmd, NULL);
	const char *su = e->user ? e->user : md_json_gets(cc, "User");
	const char *sw = e->workdir ? e->workdir : md_json_gets(cc, "WorkingDir");
	sp->user = su ? md_strdup(su) : NULL;
	sp->cwd = sw ? md_strdup(sw) : NULL;
	sp->privileged = e->privileged || md_json_is(md_json_get(hc, "Privileged"), MD_J_TRUE);
	sp->nnp = md_secopt_has(hc, "no-new-privileges");
	sp->seccomp = MD_FEATURE_SECCOMP && !sp->privileged && !md_secopt_has(hc, "seccomp=unconfined") &&
	              !md_secopt_has(hc, "seccomp:unconfined");
	sp->groupadd = md_json_clone(md_json_get(hc, "GroupAdd"));
	struct md_json *hc2 = md_json_clone(hc);
	if (e->privileged)
		md_json_set(hc2, "Privileged", md_json_newbool(1));
	int cr = md_caps_compute(hc2, &sp->caps);
	md_json_free(hc2);
	return cr;
}

/* The container's namespaces, opened before anything enters them (its
 * user namespace first: with --userns=remap root inside is not root
 * outside).  A user namespace that is the host's own is not entered. */
static const struct { const char *n; int t; } md_exec_nss[] = {
	{"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC},
	{"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};

static int md_exec_open_ns(pid_t target, int nsfd[7])
{
	for (size_t i = 0; i < 7; i++)
		nsfd[i] = -1;
	for (size_t i = 0; i < 7; i++) {
		char *p = md_asprintf("/proc/%d/ns/%s", (int)target, md_exec_nss[i].n);
		nsfd[i] = open(p, O_RDONLY | O_CLOEXEC);
		free(p);
		struct stat a1, a2;
		if (nsfd[i] >= 0 && md_exec_nss[i].t == CLONE_NEWUSER &&
		    (stat("/proc/self/ns/user", &a1) < 0 || fstat(nsfd[i], &a2) < 0 || (a1.st_ino == a2.st_ino && a1.st_dev == a2.st_dev))) {
			close(nsfd[i]); /* the host's own user namespace */
			nsfd[i] = -1;
		} else if (nsfd[i] < 0 && md_exec_nss[i].t != CLONE_NEWCGROUP && md_exec_nss[i].t != CLONE_NEWUSER) {
			return md_errno("open the container's %s namespace", md_exec_nss[i].n);
		}
	}
	return 0;
}

/* The command's stdio, in the container: /dev/null (detached), the
 * terminal's slave side, or the relay's pipes. */
static void md_exec_child_stdio(struct md_spec *sp, const struct md_exec *e, int pty, int pin, int pout, int perr)
{
	if (e->detach) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	} else if (e->tty) {
		setsid();
		int slave = ioctl(pty, TIOCGPTPEER, O_RDWR | O_NOCTTY);
		if (slave < 0) {
			int n;
			char name[64];
			if (ioctl(pty, TIOCGPTN, &n) == 0) {
				snprintf(name, sizeof name, "/dev/pts/%d", n);
				slave = open(name, O_RDWR | O_NOCTTY);
			}
		}
		if (slave < 0) {
			md_errno("open the terminal");
			md_child_fail(sp, 126);
		}
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
	} else {
		int nul = open("/dev/null", O_RDWR);
		dup2(e->in ? pin : nul, 0);
		dup2(pout, 1);
		dup2(perr, 2);
	}
}

/* The command itself, forked into the container's PID namespace: its
 * credentials, home, working directory, privileges, then exec. */
static MD_NORETURN void md_exec_command(struct md_spec *sp)
{
	struct md_cred crd;
	if (md_cred_resolve(sp->user, &crd, sp->groupadd) < 0)
		md_child_fail(sp, 126);
	int have_home = 0, nenv = 0;
	for (char **v = sp->envp; v && *v; v++, nenv++)
		have_home |= md_startswith(*v, "HOME=");
	if (!have_home) {
		sp->envp = md_realloc(sp->envp, (size_t)(nenv + 2) * sizeof *sp->envp);
		sp->envp[nenv] = md_asprintf("HOME=%s", crd.home);
		sp->envp[nenv + 1] = NULL;
	}
	if (chdir(sp->cwd && *sp->cwd ? sp->cwd : "/") < 0) {
		md_errno("chdir to %s", sp->cwd);
		md_child_fail(sp, 126);
	}
	char exe[PATH_MAX];
	if (md_find_exec(sp->argv[0], sp->envp, exe, sizeof exe) < 0) {
		md_err("exec: \"%s\": executable file not found in $PATH", sp->argv[0]);
		md_child_fail(sp, 127);
	}
	if (md_child_privs(sp, &crd) < 0)
		md_child_fail(sp, 126);
	md_close_from(3, 1, sp->sync, -1);
	execve(exe, sp->argv, sp->envp);
	int err = errno;
	md_err("exec: \"%s\": %s", sp->argv[0], strerror(err));
	md_child_fail(sp, err == ENOENT ? 127 : 126);
}

/* The helper: joins the container's cgroup and namespaces, makes the
 * terminal, and forks the command as the relay's child (CLONE_PARENT, as
 * runc does), so that it can leave and nothing but the command stays in
 * the container's cgroup.  It sends the terminal and "pPID\n". */
static MD_NORETURN void md_exec_helper(struct md_spec *sp, const struct md_exec *e, int nsfd[7], int io[6],
                                      const struct winsize *ws)
{
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (e->detach)
		setsid();
	if (md_cg_attach(md_cgroup_parent(), e->id, getpid()) < 0)
		md_child_fail(sp, 126);
	for (size_t i = 0; i < 7; i++)
		if (nsfd[i] >= 0 && setns(nsfd[i], md_exec_nss[i].t) < 0 && md_exec_nss[i].t != CLONE_NEWCGROUP) {
			md_errno("enter the container's %s namespace", md_exec_nss[i].n);
			md_child_fail(sp, 126);
		}
	int pty = -1;
	if (e->tty) {
		/* a terminal of the container's devpts, handed to the relay */
		pty = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		int unlock = 0;
		if (pty < 0 || ioctl(pty, TIOCSPTLCK, &unlock) < 0) {
			md_errno("open a terminal in the container");
			md_child_fail(sp, 126);
		}
		if (ws)
			ioctl(pty, TIOCSWINSZ, ws);
		if (md_fd_pass(sp->sync, pty) < 0) {
			md_errno("pass the terminal");
			md_child_fail(sp, 126);
		}
	}
	fflush(NULL);
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		md_errno("fork in the container");
		md_child_fail(sp, 126);
	}
	if (pid > 0) {
		char pb[24];
		int n = snprintf(pb, sizeof pb, "p%d\n", (int)pid);
		md_write_all(sp->sync, pb, (size_t)n);
		_exit(0);
	}
	md_exec_child_stdio(sp, e, pty, io[0], io[3], io[5]);
	md_exec_command(sp);
}

/* What the helper sent: the terminal (with -t), the command's PID, then a
 * start error ("CODE message") or nothing.  The PID, or -1 with *code. */
static pid_t md_exec_await(int fd, int *pty, int *code)
{
	char ebuf[1200];
	size_t en = 0;
	for (;;) {
		int got = -1;
		ssize_t n = md_fd_recv(fd, ebuf + en, sizeof ebuf - 1 - en, &got);
		if (n < 0 && errno == EINTR)
			continue;
		if (got >= 0) {
			if (*pty >= 0)
				close(*pty);
			*pty = got;
			if (n == 0)
				continue; /* the terminal's byte alone */
		}
		if (n <= 0 || en + (size_t)n >= sizeof ebuf - 1) {
			if (n > 0)
				en += (size_t)n;
			break;
		}
		en += (size_t)n;
	}
	ebuf[en] = 0;
	pid_t pid = -1;
	char *msg = ebuf;
	if (ebuf[0] == 'p') {
		pid = (pid_t)atoi(ebuf + 1);
		msg = strchr(ebuf, '\n');
		msg = msg ? msg + 1 : ebuf + en;
	}
	*code = 126;
	if (*msg) {
		*code = atoi(msg) ? atoi(msg) : 126;
		const char *m = strchr(msg, ' ');
		md_err("%s", m ? m + 1 : msg);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	return pid > 0 ? pid : md_err("the command did not start in the container");
}

/* Relay our stdio to the command's terminal or pipes until its output ends;
 * returns its exit status. */
static int md_exec_relay(const struct md_exec *e, pid_t pid, int pty, int io[6])
{
	if (e->tty)
		md_tty_make_raw();
	signal(SIGPIPE, SIG_IGN);
	sigset_t wss;
	sigemptyset(&wss);
	sigaddset(&wss, SIGWINCH);
	sigprocmask(SIG_BLOCK, &wss, NULL);
	int wfd = e->tty ? signalfd(-1, &wss, SFD_CLOEXEC) : -1;
	int in_open = e->in || e->tty;
	int outs[2] = {e->tty ? pty : io[2], e->tty ? -1 : io[4]};
	int tofd = e->tty ? pty : io[1];
	while (outs[0] >= 0 || outs[1] >= 0) {
		struct pollfd pf[4] = {{outs[0], POLLIN, 0}, {outs[1], POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}, {wfd, POLLIN, 0}};
		if (poll(pf, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[3].revents & POLLIN) {
			/* our terminal (or the API's resize) changed size: pass it on */
			struct signalfd_siginfo si;
			struct winsize ws;
			if (read(wfd, &si, sizeof si) == sizeof si && md_tty_size(&ws) == 0)
				ioctl(pty, TIOCSWINSZ, &ws);
		}
		for (int s = 0; s < 2; s++) {
			if (outs[s] < 0 || !(pf[s].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[32768];
			ssize_t n = read(outs[s], buf, sizeof buf);
			if (n > 0)
				md_out(s ? 2 : 1, buf, (size_t)n);
			else {
				if (outs[s] != pty)
					close(outs[s]);
				outs[s] = -1;
			}
		}
		if (pf[2].revents & (POLLIN | POLLHUP)) {
			char buf[32768];
			ssize_t n = read(0, buf, sizeof buf);
			if (n > 0)
				md_write_all(tofd, buf, (size_t)n);
			else {
				in_open = 0;
				if (!e->tty && tofd >= 0) {
					close(tofd);
					tofd = -1;
				}
			}
		}
	}
	md_tty_restore();
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run the exec here (already sealed, or no sealed copy possible).  The
 * command's exit status (0 when detached), or -1 with *code: 126 or 127
 * when the command could not start, 1 when the container cannot take it. */
static int md_exec_run(const struct md_exec *e, int *code)
{
	struct md_ctr c;
	struct md_spec sp;
	pid_t target = 0;
	*code = 1;
	if (md_ctr_load(e->id, &c) < 0)
		return -1;
	md_ctr_reconcile(&c);
	int r = md_exec_spec(e, &c, &sp, &target);
	md_ctr_free(&c);
	if (r < 0)
		return -1;
	*code = 126;
	int nsfd[7], io[6] = {-1, -1, -1, -1, -1, -1}, sv[2], pty = -1;
	if (md_exec_open_ns(target, nsfd) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return md_errno("socketpair");
	if (!e->tty && !e->detach && (pipe2(io + 2, O_CLOEXEC) < 0 || pipe2(io + 4, O_CLOEXEC) < 0 || (e->in && pipe2(io, O_CLOEXEC) < 0)))
		return md_errno("pipe");
	/* the terminal size, read here: the helper will not see our files */
	struct winsize ws0;
	int have_ws = e->tty && md_tty_size(&ws0) == 0;
	fflush(NULL);
	pid_t helper = fork();
	if (helper < 0)
		return md_errno("fork");
	if (helper == 0) {
		/* the relay's ends of the pipes stay with the relay alone, or
		 * the command would never see the end of its input */
		close(sv[0]);
		int theirs[] = {io[1], io[2], io[4]};
		for (size_t i = 0; i < MD_ARRAY_LEN(theirs); i++)
			if (theirs[i] >= 0)
				close(theirs[i]);
		sp.sync = sv[1];
		md_exec_helper(&sp, e, nsfd, io, have_ws ? &ws0 : NULL);
	}
	close(sv[1]);
	int ours[] = {nsfd[0], nsfd[1], nsfd[2], nsfd[3], nsfd[4], nsfd[5], nsfd[6], io[0], io[3], io[5]};
	for (size_t i = 0; i < MD_ARRAY_LEN(ours); i++)
		if (ours[i] >= 0)
			close(ours[i]);
	pid_t pid = md_exec_await(sv[0], &pty, code);
	close(sv[0]);
	waitpid(helper, NULL, 0);
	if (pid < 0)
		return -1;
	if (e->tty && pty < 0)
		return md_err("the command did not start in the container");
	if (e->detach)
		return 0;
	return md_exec_relay(e, pid, pty, io);
}

/* Run an exec from a sealed copy of minidock: this process becomes it
 * (its exit status is the command's).  Returns only where no sealed copy
 * can be made, after running the exec here. */
static int md_exec(const struct md_exec *e, int *code)
{
	if (!getenv("MINIDOCK_SEALED")) {
		int mfd = md_exe_memfd();
		if (mfd >= 0) {
			char *js = md_exec_dump(e);
			setenv("MINIDOCK_EXEC", js, 1);
			setenv("MINIDOCK_SEALED", "1", 1);
			free(js);
			char *argv[] = {"minidock", "--root", md_store.root, "--run-root", md_store.runroot, "__exec", NULL};
			fflush(NULL);
			fexecve(mfd, argv, environ);
			close(mfd); /* no luck: non-dumpable is the remaining guard */
			unsetenv("MINIDOCK_EXEC");
		}
	}
	unsetenv("MINIDOCK_SEALED");
	return md_exec_run(e, code);
}

/* ---- inspect, list, top ---- */

/* inspect's State: what the container is doing, and how it last ended. */
static void md_inspect_state(struct md_ctr *c, const char *state, struct md_json *o)
{
	struct md_json *st = md_json_set(o, "State", md_json_new(MD_J_OBJ));
	int running = md_state_up(state);
	md_json_sets(st, "Status", state);
	md_json_set(st, "Running", md_json_newbool(running));
	md_json_set(st, "Paused", md_json_newbool(md_streq(state, "paused")));
	md_json_set(st, "Restarting", md_json_newbool(md_streq(state, "restarting")));
	md_json_set(st, "OOMKilled", md_json_newbool(md_json_is(md_json_get(c->st, "OOMKilled"), MD_J_TRUE)));
	md_json_set(st, "Dead", md_json_newbool(0));
	md_json_seti(st, "Pid", running ? md_json_geti(c->st, "Pid", 0) : 0);
	md_json_seti(st, "ExitCode", md_json_geti(c->st, "ExitCode", 0));
	md_json_sets(st, "Error", md_json_gets(c->st, "Error") ? md_json_gets(c->st, "Error") : "");
	md_json_sets(st, "StartedAt", md_json_gets(c->st, "StartedAt") ? md_json_gets(c->st, "StartedAt") : "0001-01-01T00:00:00Z");
	md_json_sets(st, "FinishedAt", md_json_gets(c->st, "FinishedAt") ? md_json_gets(c->st, "FinishedAt") : "0001-01-01T00:00:00Z");
}

/* inspect's HostConfig: the container's, with the fields every Docker
 * client reads given Docker's defaults. */
static void md_inspect_hostconfig(struct md_ctr *c, struct md_json *o)
{
	struct md_json *ohc = md_json_set(o, "HostConfig", md_json_clone(md_json_get(c->cfg, "HostConfig")));
	if (!md_json_is(ohc, MD_J_OBJ))
		ohc = md_json_set(o, "HostConfig", md_json_new(MD_J_OBJ));
	struct md_json *lc = md_json_get(ohc, "LogConfig");
	if (!md_json_is(lc, MD_J_OBJ))
		lc = md_json_set(ohc, "LogConfig", md_json_new(MD_J_OBJ));
	if (!md_json_gets(lc, "Type") || !*md_json_gets(lc, "Type"))
		md_json_sets(lc, "Type", "json-file"); /* what clients know to read logs from */
	if (!md_json_is(md_json_get(lc, "Config"), MD_J_OBJ))
		md_json_set(lc, "Config", md_json_new(MD_J_OBJ));
	struct md_json *rp = md_json_get(ohc, "RestartPolicy");
	if (!md_json_is(rp, MD_J_OBJ))
		rp = md_json_set(ohc, "RestartPolicy", md_json_new(MD_J_OBJ));
	if (!md_json_gets(rp, "Name") || !*md_json_gets(rp, "Name"))
		md_json_sets(rp, "Name", "no");
	if (!md_json_get(rp, "MaximumRetryCount"))
		md_json_seti(rp, "MaximumRetryCount", 0);
	static const char *const bools[] = {"AutoRemove", "Privileged", "PublishAllPorts", "ReadonlyRootfs"};
	for (size_t i = 0; i < MD_ARRAY_LEN(bools); i++)
		if (!md_json_get(ohc, bools[i]))
			md_json_set(ohc, bools[i], md_json_newbool(0));
}

/* inspect's GraphDriver: the overlay's layers, upper, work and merged dirs. */
static void md_inspect_graphdriver(struct md_ctr *c, struct md_json *o)
{
	struct md_json *gd = md_json_set(o, "GraphDriver", md_json_new(MD_J_OBJ));
	struct md_json *gdd = md_json_set(gd, "Data", md_json_new(MD_J_OBJ));
	struct md_json *idx = md_index_read();
	struct md_json *ls = idx ? md_image_layers(idx, md_json_gets(c->cfg, "Image") ? md_json_gets(c->cfg, "Image") : "") : NULL;
	struct md_sb lower = {0};
	for (size_t i = ls ? ls->n : 0; i-- > 0;) {
		char *p = md_layer_path(md_json_str(md_json_at(ls, i)));
		md_sb_printf(&lower, "%s%s/diff", lower.len ? ":" : "", p);
		free(p);
	}
	md_json_free(idx);
	md_err_clear();
	md_json_sets(gdd, "LowerDir", md_sb_str(&lower));
	md_sb_free(&lower);
	char *p = md_ctr_rpath(c->id, "rootfs");
	md_json_sets(gdd, "MergedDir", p);
	free(p);
	p = md_ctr_path(c->id, "upper");
	md_json_sets(gdd, "UpperDir", p);
	free(p);
	p = md_ctr_path(c->id, "work");
	md_json_sets(gdd, "WorkDir", p);
	free(p);
	md_json_sets(gd, "Name", "overlay2");
	md_err_clear();
}

/* inspect's Mounts. */
static void md_inspect_mounts(struct md_ctr *c, struct md_json *o)
{
	struct md_json *ms = md_json_set(o, "Mounts", md_json_new(MD_J_ARR));
	struct md_json *cm = md_json_get(c->cfg, "Mounts");
	for (struct md_json *m = cm ? cm->child : NULL; m; m = m->next) {
		struct md_json *x = md_json_push(ms, md_json_new(MD_J_OBJ));
		const char *t = md_json_gets(m, "Type");
		md_json_sets(x, "Type", t ? t : "bind");
		if (md_json_gets(m, "Name"))
			md_json_sets(x, "Name", md_json_gets(m, "Name"));
		md_json_sets(x, "Source", md_json_gets(m, "Source") ? md_json_gets(m, "Source") : "");
		md_json_sets(x, "Destination", md_json_gets(m, "Destination") ? md_json_gets(m, "Destination") : "");
		if (md_streq(t, "volume"))
			md_json_sets(x, "Driver", "local");
		md_json_sets(x, "Mode", md_json_gets(m, "Mode") ? md_json_gets(m, "Mode") : "");
		md_json_set(x, "RW", md_json_newbool(!md_json_is(md_json_get(m, "RW"), MD_J_FALSE)));
		md_json_sets(x, "Propagation", md_streq(t, "bind") ? "rprivate" : "");
	}
}

/* inspect's NetworkSettings: published ports, and each network's address
 * (while it runs), gateway, MAC and aliases; the first network's on top. */
static void md_inspect_network(struct md_ctr *c, int running, struct md_json *o)
{
	struct md_json *ns = md_json_set(o, "NetworkSettings", md_json_new(MD_J_OBJ));
	struct md_json *nports = md_json_set(ns, "Ports", md_json_new(MD_J_OBJ));
	struct md_json *cports = md_json_get(c->cfg, "Ports");
	for (struct md_json *x = cports ? cports->child : NULL; x; x = x->next) {
		char key[32], hp[16];
		snprintf(key, sizeof key, "%lld/%s", md_json_geti(x, "ContainerPort", 0), md_json_gets(x, "Proto") ? md_json_gets(x, "Proto") : "tcp");
		snprintf(hp, sizeof hp, "%lld", md_json_geti(x, "HostPort", 0));
		struct md_json *l = md_json_get(nports, key);
		if (!l)
			l = md_json_set(nports, key, md_json_new(MD_J_ARR));
		struct md_json *b = md_json_push(l, md_json_new(MD_J_OBJ));
		md_json_sets(b, "HostIp", md_json_gets(x, "HostIp") ? md_json_gets(x, "HostIp") : "0.0.0.0");
		md_json_sets(b, "HostPort", hp);
	}
	struct md_json *nnets = md_json_set(ns, "Networks", md_json_new(MD_J_OBJ));
	struct md_json *cnets = md_json_get(c->cfg, "Networks");
	struct md_json *ix = md_index_read();
	const char *first_ip = "", *first_gw = "", *first_mac = "";
	for (struct md_json *x = cnets ? cnets->child : NULL; x && ix; x = x->next) {
		const char *nn = md_json_gets(x, "Name");
		struct md_json *e = md_json_set(nnets, nn ? nn : "?", md_json_new(MD_J_OBJ));
		struct md_json *leases = md_json_get(md_json_get(ix, "ipam"), nn ? nn : "");
		struct md_json *net = md_json_get(md_json_get(ix, "networks"), nn ? nn : "");
		const char *ip = "";
		for (struct md_json *l = leases && running ? leases->child : NULL; l; l = l->next)
			if (md_streq(md_json_str(l), c->id))
				ip = l->key;
		md_json_sets(e, "NetworkID", md_json_gets(net, "Id") ? md_json_gets(net, "Id") : "");
		md_json_sets(e, "IPAddress", ip);
		const char *sub = md_json_gets(net, "Subnet");
		md_json_seti(e, "IPPrefixLen", *ip && sub && strchr(sub, '/') ? atoi(strchr(sub, '/') + 1) : 0);
		md_json_sets(e, "Gateway", *ip && md_json_gets(net, "Gateway") ? md_json_gets(net, "Gateway") : "");
		char mac[20] = "";
		if (*ip) {
			if (md_json_gets(x, "MacAddress"))
				snprintf(mac, sizeof mac, "%s", md_json_gets(x, "MacAddress"));
			else {
				struct in_addr ia;
				inet_pton(AF_INET, ip, &ia);
				const unsigned char *bb = (const unsigned char *)&ia.s_addr;
				snprintf(mac, sizeof mac, "02:42:%02x:%02x:%02x:%02x", bb[0], bb[1], bb[2], bb[3]);
			}
		}
		md_json_sets(e, "MacAddress", mac);
		md_json_set(e, "Aliases", md_json_clone(md_json_get(x, "Aliases") ? md_json_get(x, "Aliases") : &(struct md_json){.t = MD_J_NULL}));
		if (x == cnets->child) {
			first_ip = md_json_gets(e, "IPAddress");
			first_gw = md_json_gets(e, "Gateway");
			first_mac = md_json_gets(e, "MacAddress");
		}
	}
	md_json_sets(ns, "IPAddress", first_ip);
	md_json_sets(ns, "Gateway", first_gw);
	md_json_sets(ns, "MacAddress", first_mac);
	md_json_free(ix);
	md_err_clear();
}

/* A container as Docker's inspect shows it. */
static struct md_json *md_ctr_inspect_json(struct md_ctr *c)
{
	const char *state = md_ctr_state(c);
	int running = md_state_up(state);
	struct md_json *o = md_json_new(MD_J_OBJ);
	static const char *const top[] = {"Id", "Created", "Path"};
	for (size_t i = 0; i < MD_ARRAY_LEN(top); i++)
		md_json_sets(o, top[i], md_json_gets(c->cfg, top[i]) ? md_json_gets(c->cfg, top[i]) : "");
	md_json_set(o, "Args", md_json_clone(md_json_get(c->cfg, "Args")));
	md_inspect_state(c, state, o);
	md_json_sets(o, "Image", md_json_gets(c->cfg, "Image") ? md_json_gets(c->cfg, "Image") : "");
	static const char *const files[][2] = {{"ResolvConfPath", "resolv.conf"}, {"HostnamePath", "hostname"}, {"HostsPath", "hosts"}};
	for (size_t i = 0; i < MD_ARRAY_LEN(files); i++) {
		char *p = md_ctr_path(c->id, files[i][1]);
		md_json_sets(o, files[i][0], p);
		free(p);
	}
	char *lp = md_ctr_logpath(c->id);
	md_json_sets(o, "LogPath", lp);
	free(lp);
	char *nm = md_asprintf("/%s", c->name);
	md_json_sets(o, "Name", nm);
	free(nm);
	md_json_seti(o, "RestartCount", md_json_geti(c->st, "RestartCount", 0));
	md_json_sets(o, "Driver", "overlay2");
	md_json_sets(o, "Platform", "linux");
	md_inspect_hostconfig(c, o);
	md_inspect_graphdriver(c, o);
	md_inspect_mounts(c, o);
	md_json_set(o, "Config", md_json_clone(md_json_get(c->cfg, "Config")));
	md_inspect_network(c, running, o);
	return o;
}

static void md_ctr_status_text(struct md_ctr *c, const char *state, char *out, size_t n)
{
	time_t t = 0;
	char ago[64];
	if (md_streq(state, "running") || md_streq(state, "paused")) {
		md_time_parse(md_json_gets(c->st, "StartedAt"), &t);
		md_time_ago(ago, sizeof ago, t);
		ago[strlen(ago) > 4 ? strlen(ago) - 4 : 0] = 0; /* "5 seconds ago" -> "5 seconds" */
		snprintf(out, n, "Up %s%s", ago, md_streq(state, "paused") ? " (Paused)" : "");
	} else if (md_streq(state, "exited") || md_streq(state, "restarting")) {
		md_time_parse(md_json_gets(c->st, "FinishedAt"), &t);
		md_time_ago(ago, sizeof ago, t);
		snprintf(out, n, "%s (%lld) %s", md_streq(state, "exited") ? "Exited" : "Restarting",
		         md_json_geti(c->st, "ExitCode", 0), ago);
	} else {
		snprintf(out, n, "Created");
	}
}

/* The filters a container list takes, in md_ps_filter_ok's order. */
static const char *const md_ps_filter_keys[] = {"status", "name", "label", "id", "exited", "ancestor"};

static int md_ps_filter_ok(struct md_ctr *c, const char *state, const struct md_strv *filters)
{
	/* filters on different keys AND, on the same key OR (but every label
	 * must match), as Docker */
	for (size_t k = 0; k < MD_ARRAY_LEN(md_ps_filter_keys); k++) {
		int seen = 0, ok = k == 2;
		size_t kl = strlen(md_ps_filter_keys[k]);
		for (size_t i = 0; i < filters->n; i++) {
			const char *f = filters->v[i];
			if (strncmp(f, md_ps_filter_keys[k], kl) != 0 || f[kl] != '=')
				continue;
			seen = 1;
			const char *v = f + kl + 1;
			if (k == 0)
				ok |= md_streq(state, v);
			else if (k == 1)
				ok |= strstr(c->name, v[0] == '/' ? v + 1 : v) != NULL;
			else if (k == 2) {
				struct md_json *l = md_json_get(md_json_get(c->cfg, "Config"), "Labels");
				const char *eq = strchr(v, '=');
				char key[256];
				snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - v) : (int)strlen(v), v);
				const char *lv = md_json_gets(l, key);
				ok &= lv && (!eq || strcmp(lv, eq + 1) == 0);
			} else if (k == 3)
				ok |= md_startswith(c->id, v);
			else if (k == 4)
				ok |= md_streq(state, "exited") && md_json_geti(c->st, "ExitCode", -1) == atoll(v);
			else {
				const char *img = md_json_gets(md_json_get(c->cfg, "Config"), "Image");
				ok |= md_streq(img, v) || md_streq(md_json_gets(c->cfg, "Image"), v);
			}
		}
		if (seen && !ok)
			return 0;
	}
	return 1;
}

/* Filters a list takes: "key=value" with status, name, label, id, exited
 * or ancestor as the key. */
static int md_ctr_filters_check(const struct md_strv *filters)
{
	static const char *const states[] = {"created", "running", "paused", "restarting", "exited", "removing", "dead"};
	for (size_t i = 0; i < filters->n; i++) {
		const char *f = filters->v[i];
		size_t k = 0, kl = strcspn(f, "=");
		while (k < MD_ARRAY_LEN(md_ps_filter_keys) && (strlen(md_ps_filter_keys[k]) != kl || strncmp(f, md_ps_filter_keys[k], kl)))
			k++;
		if (!f[kl] || k == MD_ARRAY_LEN(md_ps_filter_keys))
			return md_errk(MD_EK_INVALID, "invalid filter '%s' (supported: status, name, label, id, exited, ancestor)", f);
		int known = !md_startswith(f, "status=");
		for (size_t k = 0; !known && k < MD_ARRAY_LEN(states); k++)
			known = strcmp(f + 7, states[k]) == 0;
		if (!known)
			return md_errk(MD_EK_INVALID, "invalid filter '%s'", f);
	}
	return 0;
}

/* What a list shows: the filters' containers (all states when there are
 * filters), else all states or only those up; the newest `last` (-1: no
 * bound). */
struct md_ctr_query {
	const struct md_strv *filters;
	int all;
	long long last;
};

/* The containers a query selects, loaded, newest first. */
static int md_ctr_list(const struct md_ctr_query *q, struct md_ctr **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (md_ctr_filters_check(q->filters) < 0)
		return -1;
	struct md_json *idx = md_index_read();
	if (!idx)
		return -1;
	int all = q->all || q->filters->n || q->last > 0;
	struct md_ctr *cs = NULL;
	double *ts = NULL;
	size_t nc = 0;
	for (struct md_json *e = md_json_get(idx, "containers")->child; e; e = e->next) {
		struct md_ctr c;
		if (md_ctr_load(e->key, &c) < 0)
			continue;
		const char *state = md_ctr_state(&c);
		int up = md_state_up(state);
		if ((!all && !up) || !md_ps_filter_ok(&c, state, q->filters)) {
			md_ctr_free(&c);
			continue;
		}
		cs = md_realloc(cs, (nc + 1) * sizeof *cs);
		ts = md_realloc(ts, (nc + 1) * sizeof *ts);
		ts[nc] = 0;
		md_time_parsef(md_json_gets(c.cfg, "Created"), &ts[nc]);
		cs[nc++] = c;
		/* newest first (insertion: lists are short) */
		for (size_t k = nc - 1; k > 0 && ts[k - 1] < ts[k]; k--) {
			struct md_ctr t = cs[k];
			double tt = ts[k];
			cs[k] = cs[k - 1], ts[k] = ts[k - 1];
			cs[k - 1] = t, ts[k - 1] = tt;
		}
	}
	md_json_free(idx);
	free(ts);
	md_err_clear();
	for (size_t i = q->last >= 0 && (size_t)q->last < nc ? (size_t)q->last : nc; i < nc; i++)
		md_ctr_free(&cs[i]);
	*n = q->last >= 0 && (size_t)q->last < nc ? (size_t)q->last : nc;
	*out = cs;
	return 0;
}

static void md_ctr_list_free(struct md_ctr *cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		md_ctr_free(&cs[i]);
	free(cs);
}

/* One process as `ps -ef` shows it: UID PID PPID C STIME TTY TIME CMD. */
static struct md_json *md_top_row(pid_t pid, time_t boot, double uptime, long hz)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	char *stat = md_read_file(p, 4096, NULL);
	if (!stat)
		return NULL;
	char *rp = strrchr(stat, ')');
	/* after "(comm) ": state ppid pgrp session tty_nr tpgid flags minflt
	 * cminflt majflt cmajflt utime stime cutime cstime priority nice
	 * num_threads itrealvalue starttime */
	long long f[20] = {0};
	char st[8];
	const char *q = rp ? md_scan_word(rp + 1, st, sizeof st) : NULL;
	for (int k = 1; q && k < 20; k++)
		q = md_scan_i64(q, &f[k]);
	free(stat);
	if (!q)
		return NULL;
	int ppid = (int)f[1], tty = (int)f[4];
	unsigned long long ut = (unsigned long long)f[11], stt = (unsigned long long)f[12], start = (unsigned long long)f[19];
	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	char *status = md_read_file(p, 65536, NULL);
	char *u = status ? strstr(status, "\nUid:") : NULL;
	unsigned uid = u ? (unsigned)strtoul(u + 5, NULL, 10) : 0;
	free(status);
	char uname[64], uidn[16], *pw[8] = {0};
	snprintf(uidn, sizeof uidn, "%u", uid);
	snprintf(uname, sizeof uname, "%s", md_pw_lookup("/etc/passwd", uidn, 3, pw) ? pw[0] : uidn);
	for (int k = 0; k < 8; k++)
		free(pw[k]);
	snprintf(p, sizeof p, "/proc/%d/cmdline", (int)pid);
	size_t cl = 0;
	char *cmd = md_read_file(p, 65536, &cl);
	for (size_t k = 0; cmd && k + 1 < cl; k++)
		if (!cmd[k])
			cmd[k] = ' ';
	char spid[16], sppid[16], stime[16], ttys[16], tm[32], cpu[8];
	snprintf(spid, sizeof spid, "%d", (int)pid);
	snprintf(sppid, sizeof sppid, "%d", ppid);
	time_t started = boot + (time_t)(start / (unsigned long long)hz);
	struct tm tmv;
	localtime_r(&started, &tmv);
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (time(NULL) - started > 86400) /* ps's "%b%d" */
		snprintf(stime, sizeof stime, "%.3s%02d", months + 3 * (tmv.tm_mon % 12), tmv.tm_mday);
	else
		snprintf(stime, sizeof stime, "%02d:%02d", tmv.tm_hour, tmv.tm_min);
	snprintf(ttys, sizeof ttys, tty ? "pts/%d" : "?", minor((dev_t)tty));
	unsigned long long secs = (ut + stt) / (unsigned long long)hz;
	snprintf(tm, sizeof tm, "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
	double age = uptime - (double)start / (double)hz;
	snprintf(cpu, sizeof cpu, "%d", age > 0 ? (int)((double)(ut + stt) / (double)hz * 100.0 / age) : 0);
	const char *cells[] = {uname, spid, sppid, cpu, stime, ttys, tm, cmd && *cmd ? cmd : "[?]"};
	struct md_json *row = md_json_new(MD_J_ARR);
	for (size_t k = 0; k < MD_ARRAY_LEN(cells); k++)
		md_json_push(row, md_json_newstr(cells[k]));
	free(cmd);
	return row;
}

/* The processes of a running container, as Docker's top answers:
 * {"Titles": [...], "Processes": [[...], ...]}. */
static struct md_json *md_ctr_top(const char *id)
{
	struct md_ctr c;
	if (md_ctr_load(id, &c) < 0)
		return NULL;
	md_ctr_reconcile(&c);
	int running = md_ctr_running(&c);
	md_ctr_free(&c);
	if (!running)
		return md_errk(MD_EK_CONFLICT, "container %s is not running", id), NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	if (md_cg_pids(md_cgroup_parent(), id, &pids, &n) < 0)
		return NULL;
	long hz = sysconf(_SC_CLK_TCK);
	char *up = md_read_file("/proc/uptime", 256, NULL);
	double uptime = up ? md_strtod(up, NULL) : 0;
	free(up);
	time_t boot = time(NULL) - (time_t)uptime;
	struct md_json *o = md_json_new(MD_J_OBJ);
	struct md_json *ti = md_json_set(o, "Titles", md_json_new(MD_J_ARR));
	static const char *const titles[] = {"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"};
	for (size_t k = 0; k < MD_ARRAY_LEN(titles); k++)
		md_json_push(ti, md_json_newstr(titles[k]));
	struct md_json *pr = md_json_set(o, "Processes", md_json_new(MD_J_ARR));
	for (size_t i = 0; i < n; i++) {
		struct md_json *row = md_top_row(pids[i], boot, uptime, hz > 0 ? hz : 100);
		if (row)
			md_json_push(pr, row);
	}
	md_err_clear();
	free(pids);
	return o;
}

/* ---- a tree as a tar stream (export, cp) ---- */

struct md_hardlink {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct md_tarw {
	struct archive *aw;
	struct md_hardlink *hl;
	size_t nhl, cap;
};

static int md_tarw_entry(struct md_tarw *w, int dfd, const char *name, const char *apath, int recurse)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return md_errno("stat %s", apath);
	if (S_ISSOCK(st.st_mode))
		return 0;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, apath);
	archive_entry_copy_stat(e, &st);
	int fd = -1, r = 0;
	if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlinkat(dfd, name, t, sizeof t - 1);
		if (n < 0) {
			archive_entry_free(e);
			return md_errno("readlink %s", apath);
		}
		t[n] = 0;
		archive_entry_set_symlink(e, t);
	} else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
		for (size_t i = 0; i < w->nhl; i++)
			if (w->hl[i].dev == st.st_dev && w->hl[i].ino == st.st_ino) {
				archive_entry_set_hardlink(e, w->hl[i].path);
				archive_entry_set_size(e, 0);
				goto header;
			}
		if (w->nhl == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 64;
			w->hl = md_realloc(w->hl, w->cap * sizeof *w->hl);
		}
		w->hl[w->nhl++] = (struct md_hardlink){st.st_dev, st.st_ino, md_strdup(apath)};
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0) {
			archive_entry_free(e);
			return md_errno("open %s", apath);
		}
		char names[4096];
		ssize_t nn = flistxattr(fd, names, sizeof names);
		for (ssize_t i = 0; i < nn; i += (ssize_t)strlen(names + i) + 1) {
			char val[4096];
			if (md_startswith(names + i, "trusted.overlay."))
				continue;
			ssize_t vl = fgetxattr(fd, names + i, val, sizeof val);
			if (vl >= 0)
				archive_entry_xattr_add_entry(e, names + i, val, (size_t)vl);
		}
	}
header:
	if (archive_write_header(w->aw, e) != ARCHIVE_OK) {
		r = md_err("write %s: %s", apath, archive_error_string(w->aw));
		goto out;
	}
	if (S_ISREG(st.st_mode) && !archive_entry_hardlink(e)) {
		char buf[65536];
		ssize_t n;
		off_t left = st.st_size;
		while (left > 0 && (n = read(fd, buf, sizeof buf)) > 0) {
			if (n > left)
				n = left;
			if (archive_write_data(w->aw, buf, (size_t)n) != n) {
				r = md_err("write %s: %s", apath, archive_error_string(w->aw));
				goto out;
			}
			left -= n;
		}
		if (left > 0) { /* it shrank: pad so the header stays true */
			memset(buf, 0, sizeof buf);
			while (left > 0) {
				size_t k = left < (off_t)sizeof buf ? (size_t)left : sizeof buf;
				archive_write_data(w->aw, buf, k);
				left -= (off_t)k;
			}
		}
	}
	if (S_ISDIR(st.st_mode) && recurse) {
		DIR *d = md_opendir_dup(fd);
		struct dirent *de;
		struct md_strv kids = {0};
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				md_strv_push(&kids, de->d_name);
		if (d)
			closedir(d);
		if (kids.n)
			qsort(kids.v, kids.n, sizeof *kids.v, md_strcmp_p);
		for (size_t i = 0; i < kids.n && r == 0; i++) {
			char *cp = *apath ? md_asprintf("%s/%s", apath, kids.v[i]) : md_strdup(kids.v[i]);
			r = md_tarw_entry(w, fd, kids.v[i], cp, 1);
			free(cp);
		}
		md_strv_free(&kids);
	}
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	return r;
}

/* Write dfd/name (recursively) as a tar to outfd, its top entry named top. */
static int md_tar_tree(int outfd, int dfd, const char *name, const char *top)
{
	struct md_tarw w = {archive_write_new(), NULL, 0, 0};
	archive_write_set_format_pax_restricted(w.aw);
	int r = archive_write_open_fd(w.aw, outfd) == ARCHIVE_OK ? 0 : md_err("write archive");
	if (r == 0 && strcmp(name, ".") == 0 && top[0] == 0) {
		/* the contents of a directory, without itself */
		int lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset; AT_FDCWD too */
		DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
		if (!d && lfd >= 0)
			close(lfd);
		if (!d)
			r = md_errno("read directory");
		struct dirent *de;
		struct md_strv kids = {0};
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				md_strv_push(&kids, de->d_name);
		if (d)
			closedir(d);
		if (kids.n)
			qsort(kids.v, kids.n, sizeof *kids.v, md_strcmp_p);
		for (size_t i = 0; i < kids.n && r == 0; i++)
			r = md_tarw_entry(&w, dfd, kids.v[i], kids.v[i], 1);
		md_strv_free(&kids);
	} else if (r == 0) {
		r = md_tarw_entry(&w, dfd, name, top, 1);
	}
	if (r == 0 && archive_write_close(w.aw) != ARCHIVE_OK)
		r = md_err("write archive: %s", archive_error_string(w.aw));
	archive_write_free(w.aw);
	for (size_t i = 0; i < w.nhl; i++)
		free(w.hl[i].path);
	free(w.hl);
	return r;
}

/* Enter a container's filesystem in this (forked) process: the running
 * container's mount namespace, or a private mount of a stopped one's
 * overlay.  Afterwards "/" is the container's root. */
static int md_ctr_enter_fs(struct md_ctr *c, int writable)
{
	if (md_ctr_running(c) && !md_ctr_paused(c)) {
		char *p = md_asprintf("/proc/%lld/ns/mnt", md_json_geti(c->st, "Pid", 0));
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		free(p);
		if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
			return md_errno("enter the container's mount namespace");
		close(fd);
		return chdir("/") < 0 ? md_errno("chdir /") : 0;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return md_errno("make a private mount namespace");
	struct md_spec sp;
	const char *notice;
	if (md_spec_build(c, &sp, &notice) < 0)
		return -1;
	free((char *)notice);
	char *mnt = md_asprintf("%s.fs-%d", sp.rootfs, (int)getpid());
	if (md_ensure_path(mnt, 1) < 0)
		return -1;
	int r;
	if (sp.fallback && strcmp(sp.fallback, "copy") == 0) {
		r = md_bind(sp.copydir, mnt, !writable, 0);
	} else {
		if (md_lower_chdir(&sp) < 0)
			return -1;
		char *opts = writable && !sp.fallback
		                 ? md_asprintf("lowerdir=%s,upperdir=%s,workdir=%s", sp.lower, sp.upper, sp.work)
		                 : md_asprintf("lowerdir=%s:%s", sp.upper, sp.lower);
		r = md_mount("overlay", mnt, "overlay", writable ? 0 : MS_RDONLY, opts);
		free(opts);
	}
	if (r == 0 && (chdir(mnt) < 0 || chroot(".") < 0 || chdir("/") < 0))
		r = md_errno("enter the container's filesystem");
	rmdir(mnt); /* busy while mounted; the mount goes with this process */
	free(mnt);
	md_spec_free(&sp);
	return r;
}

/**** 20 engine: images, volumes, networks, the system ***********************/
/*
 * The rest of the engine: images in the store (inspect, tag, remove,
 * prune, save; loading, importing and pulling are sections 11 and 12),
 * volumes, networks, and what the system offers (disk use, the store's
 * check, the kernel's features).  As section 19: typed arguments, a
 * typed error, no printing (a report, where there is one, is returned).
 *
 * May call: sections 01-19.  Called by: 21-27.
 */

/* ---- images ---- */

/* The signature policy's word on an image with no signatures to check: a
 * load (its archive's transport) or an import (NULL: the default scope). */
static int md_image_admit(const char *transport)
{
#if MD_FEATURE_SIGN
	return md_policy_admit_unsigned(transport, transport ? "the image archive" : "the imported image");
#else
	(void)transport;
	return 0;
#endif
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
	if (md_json_get(rec, "signature"))
		md_json_set(o, "Signature", md_json_clone(md_json_get(rec, "signature")));
	md_json_free(cfg);
	return o;
}

/* Tag an image: target is NAME[:TAG] (normalized as Docker's). */
static int md_image_tag(const char *image, const char *target)
{
	char tag[800], id[MD_DIGEST_LEN + 1];
	if (md_ref_normalize_tag(target, tag, sizeof tag) < 0)
		return -1;
	if (md_store_lock() < 0)
		return -1;
	struct md_json *idx = md_index_read();
	int r = -1;
	if (idx && md_image_resolve(idx, image, id) == 0) {
		char now[64];
		md_time_now(now, sizeof now);
		md_json_sets(md_json_get(idx, "tags"), tag, id);
		md_json_sets(md_json_get(md_json_get(idx, "images"), id), "tagged", now);
		r = md_index_write(idx);
	}
	md_json_free(idx);
	md_store_unlock();
	return r;
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

#if MD_FEATURE_SIGN
/* Fetch the manifest top (a digest) of refstr again, pick the platform's
 * manifest and check the signatures beside them against the policy. */
static int md_image_verify_ref(const char *refstr, const char *top, struct md_sig_ok *ok)
{
	struct md_ref ref;
	struct md_reg rg;
	if (md_ref_parse(refstr, &ref) < 0)
		return -1;
	if (md_reg_open(&rg, &ref, "pull") < 0) {
		md_reg_close(&rg);
		return -1;
	}
	char got[MD_DIGEST_LEN + 1], dg[MD_DIGEST_LEN + 1], fam[800];
	struct md_json *man = md_reg_manifest(&rg, top, got, NULL, NULL);
	int r = -1;
	md_ref_familiar(&ref, fam, sizeof fam);
	snprintf(dg, sizeof dg, "%s", got);
	if (man && md_pull_pick(&rg, fam, &man, dg) == 0)
		r = md_sig_pull_check(&rg, &ref, top, dg, ok);
	md_json_free(man);
	md_reg_close(&rg);
	return r;
}

/* The names to verify an image under: each "name@digest" it was pulled as,
 * by the image's tags of that name (the identity a pull by tag checks), or
 * by the digest when no tag of that name is left.  Pairs ref, top digest. */
static void md_image_verify_names(struct md_json *idx, const char *id, const char *only, struct md_strv *out)
{
	struct md_json *digs = md_json_get(md_json_get(md_json_get(idx, "images"), id), "digests");
	struct md_strv tags = {0};
	if (only)
		md_strv_push(&tags, only);
	else
		md_image_tags(idx, id, &tags);
	for (struct md_json *d = md_json_is(digs, MD_J_ARR) ? digs->child : NULL; d; d = d->next) {
		const char *rd = md_json_str(d), *at = rd ? strchr(rd, '@') : NULL;
		struct md_ref dr, tr;
		if (!at || md_ref_parse(rd, &dr) < 0)
			continue;
		size_t before = out->n;
		for (size_t i = 0; i < tags.n; i++) {
			if (md_ref_parse(tags.v[i], &tr) < 0 || strcmp(tr.domain, dr.domain) != 0 || strcmp(tr.path, dr.path) != 0)
				continue;
			md_strv_push(out, tags.v[i]);
			md_strv_push(out, at + 1);
		}
		if (out->n == before && !only) {
			md_strv_push(out, rd);
			md_strv_push(out, at + 1);
		}
	}
	md_strv_free(&tags);
}

/* Check an image of the store against the signature policy as it is now (a
 * fleet that rotates its keys): its signatures are fetched again from the
 * registry under the name given (a tag), or, for an image ID, under each
 * name it was pulled as, the first that passes recorded in the image's
 * record (inspect's "Signature").  0 verified. */
static int md_image_verify(const char *image, struct md_sig_ok *ok)
{
	struct md_json *idx = md_index_read(), *cfg = NULL;
	char id[MD_DIGEST_LEN + 1];
	struct md_strv names = {0};
	int r = -1;
	if (!idx || md_image_resolve(idx, image, id) < 0 || !(cfg = md_image_config(id)))
		goto out;
	char fam[800];
	int bytag = md_is_tag_ref(idx, image) && md_ref_normalize_tag(image, fam, sizeof fam) == 0;
	md_image_verify_names(idx, id, bytag ? fam : NULL, &names);
	/* the manifest of the platform the image is for */
	memset(&md_want, 0, sizeof md_want);
	snprintf(md_want.os, sizeof md_want.os, "%s", md_json_gets(cfg, "os") ? md_json_gets(cfg, "os") : "linux");
	snprintf(md_want.arch, sizeof md_want.arch, "%s", md_json_gets(cfg, "architecture") ? md_json_gets(cfg, "architecture") : "");
	snprintf(md_want.variant, sizeof md_want.variant, "%s", md_json_gets(cfg, "variant") ? md_json_gets(cfg, "variant") : "");
	if (!names.n) {
		md_errk(MD_EK_NOTFOUND, "image %s has no registry name to fetch its signatures from (%s)", image,
		        bytag ? "that tag was not pulled from a registry" : "it was loaded or imported");
		goto out;
	}
	struct md_error first = {0};
	for (size_t i = 0; i + 1 < names.n && r < 0; i += 2) {
		r = md_image_verify_ref(names.v[i], names.v[i + 1], ok);
		if (r < 0 && i == 0)
			first = md_error;
	}
	if (r < 0) {
		md_error = first;
		goto out;
	}
	if (!ok->key[0])
		goto out; /* the policy asks for no signature: nothing to record */
	if (md_store_lock() < 0) {
		r = -1;
		goto out;
	}
	struct md_json *now = md_index_read(), *rec = md_json_get(md_json_get(now, "images"), id);
	if (rec) {
		char t[64];
		md_time_now(t, sizeof t);
		struct md_json *s = md_json_set(rec, "signature", md_sig_ok_json(ok));
		md_json_sets(s, "verified", t);
		r = md_index_write(now);
	}
	md_json_free(now);
	md_store_unlock();
out:
	md_strv_free(&names);
	md_json_free(cfg);
	md_json_free(idx);
	return r;
}
#endif /* MD_FEATURE_SIGN */

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
			r = md_errk(MD_EK_CONFLICT, "conflict: unable to remove repository reference \"%s\" (must force) - container %.12s is using its referenced image %s",
			           name, user, sid);
			goto out;
		}
		md_json_del(md_json_get(idx, "tags"), fam);
		md_sb_printf(out, "Untagged: %s\n", fam);
		if (tags.n > 1 || used)
			goto out;
	} else {
		if (tags.n > 1 && !force) {
			r = md_errk(MD_EK_CONFLICT, "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", sid);
			goto out;
		}
		if (used && !force) {
			r = md_errk(MD_EK_CONFLICT, "conflict: unable to delete %s (must be forced) - image is being used by container %.12s", sid, user);
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

/* Remove images (names, IDs or tags): all in one index change; what was
 * untagged and deleted goes to out as "Untagged: X" / "Deleted: X" lines,
 * once the change is stored.  The first failure's error, or 0; the other
 * names are still removed. */
static int md_image_remove(char *const *names, size_t n, int force, struct md_sb *out)
{
	struct md_sess sess;
	if (md_store_lock_change(&sess) < 0)
		return -1;
	struct md_json *idx = md_index_read();
	int r = idx ? 0 : -1, changed = 0;
	struct md_strv gone = {0};
	struct md_sb did = {0};
	struct md_error first = {0};
	for (size_t i = 0; idx && i < n; i++) {
		if (md_rmi_one(idx, names[i], force, &gone, &did) == 0)
			changed = 1;
		else if (r == 0)
			r = -1, first = md_error;
	}
	if (changed && md_index_write(idx) < 0) {
		r = -1;
	} else {
		if (changed) {
			md_store_delete(&gone);
			md_sb_puts(out, md_sb_str(&did));
		}
		if (r < 0)
			md_error = first;
	}
	md_sb_free(&did);
	md_strv_free(&gone);
	md_json_free(idx);
	md_store_unlock_change(&sess);
	return r;
}

/* Remove unused images: untagged ones, or all without a container.  What
 * goes is reported as "untagged: X" / "deleted: X" lines in gone. */
static int md_image_prune(int all, struct md_strv *gone, uint64_t *reclaimed)
{
	struct md_sess sess;
	*reclaimed = 0;
	if (md_store_lock_change(&sess) < 0)
		return -1;
	struct md_json *idx = md_index_read();
	if (!idx) {
		md_store_unlock_change(&sess);
		return -1;
	}
	struct md_strv files = {0}, ids = {0}, report = {0};
	for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
		struct md_strv tags = {0};
		md_image_tags(idx, im->key, &tags);
		if ((all || !tags.n) && !md_image_in_use(idx, im->key, NULL))
			md_strv_push(&ids, im->key);
		md_strv_free(&tags);
	}
	/* the sizes of the layers as they were: dropping an image drops them */
	struct md_json *layers = ids.n ? md_json_clone(md_json_get(idx, "layers")) : NULL;
	for (size_t i = 0; i < ids.n; i++) {
		struct md_strv tags = {0};
		md_image_tags(idx, ids.v[i], &tags);
		for (size_t t = 0; t < tags.n; t++) {
			char *l = md_asprintf("untagged: %s", tags.v[t]);
			md_strv_push(&report, l);
			free(l);
		}
		md_strv_free(&tags);
		size_t before = files.n;
		md_index_drop_image(idx, ids.v[i], &files);
		char *l = md_asprintf("deleted: %s", ids.v[i]);
		md_strv_push(&report, l);
		free(l);
		for (size_t k = before; k < files.n; k++)
			if (files.v[k][0] != '/') {
				l = md_asprintf("deleted: %s", files.v[k]);
				md_strv_push(&report, l);
				free(l);
				*reclaimed += (uint64_t)md_json_geti(md_json_get(layers, files.v[k]), "size", 0);
			}
	}
	md_json_free(layers);
	int r = ids.n ? md_index_write(idx) : 0;
	if (r == 0) {
		md_store_delete(&files);
		for (size_t i = 0; i < report.n; i++)
			md_strv_push(gone, report.v[i]);
	} else {
		*reclaimed = 0;
	}
	md_strv_free(&report);
	md_strv_free(&files);
	md_strv_free(&ids);
	md_json_free(idx);
	md_store_unlock_change(&sess);
	return r;
}

/* Write images (names, IDs or tags; a tag named is kept in the archive)
 * to fd as a docker-archive with an OCI layout, or an OCI layout alone. */
static int md_image_save(char *const *names, size_t n, int fd, int oci)
{
	struct md_json *idx = md_index_read();
	if (!idx)
		return -1;
	struct md_saveimg *imgs = md_alloc((n + 1) * sizeof *imgs);
	size_t k, ni = 0;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char id[MD_DIGEST_LEN + 1], fam[800];
		if ((r = md_image_resolve(idx, names[i], id)) < 0)
			break;
		for (k = 0; k < ni && strcmp(imgs[k].id, id) != 0; k++)
			;
		if (k == ni)
			snprintf(imgs[ni++].id, sizeof imgs[0].id, "%s", id);
		if (md_is_tag_ref(idx, names[i]) && md_ref_normalize_tag(names[i], fam, sizeof fam) == 0 &&
		    !md_strv_has(&imgs[k].tags, fam))
			md_strv_push(&imgs[k].tags, fam);
	}
	if (r == 0)
		r = md_save_write(fd, idx, imgs, ni, oci);
	for (k = 0; k < ni; k++)
		md_strv_free(&imgs[k].tags);
	free(imgs);
	md_json_free(idx);
	return r;
}

#if MD_FEATURE_PULL

/* The tags of a repository (/v2/NAME/tags/list), for pull -a. */
static int md_reg_tags(const char *refstr, struct md_strv *out)
{
	struct md_ref ref;
	if (md_ref_parse(refstr, &ref) < 0)
		return -1;
	struct md_reg rg;
	if (md_reg_open(&rg, &ref, "pull") < 0) {
		md_reg_close(&rg);
		return -1;
	}
	char path[800];
	snprintf(path, sizeof path, "/v2/%s/tags/list", rg.repo);
	struct md_http_resp resp;
	struct md_conn *c, tmp;
	int r = md_reg_req(&rg, "GET", path, NULL, NULL, -1, &resp, &c, &tmp);
	if (r == 0) {
		size_t len;
		int st = resp.status;
		char *b = md_http_slurp(c, &resp, 4u << 20, &len);
		md_reg_done(&rg, c, &resp, b != NULL);
		struct md_json *j = b && st == 200 ? md_json_parse(b, len) : NULL;
		struct md_json *tags = md_json_get(j, "tags");
		if (!md_json_is(tags, MD_J_ARR))
			r = md_err("cannot list the tags of %s (HTTP %d)", refstr, st);
		for (struct md_json *t = tags ? tags->child : NULL; t; t = t->next)
			if (md_json_str(t) && md_ref_tag_ok(t->s))
				md_strv_push(out, t->s);
		md_json_free(j);
		free(b);
	}
	md_reg_close(&rg);
	return r;
}

#endif

/* ---- volumes ---- */

static struct md_json *md_volume_inspect_json(const char *name)
{
	char *vd = md_volume_dir(name), *meta = md_asprintf("%s/volume.json", vd);
	struct md_json *j = md_path_exists(meta) ? md_json_parse_file(meta) : NULL;
	if (j) {
		char *mp = md_asprintf("%s/_data", vd);
		md_json_sets(j, "Mountpoint", mp);
		free(mp);
		md_json_del(j, "Anonymous");
	} else {
		md_errk(MD_EK_NOTFOUND, "get %s: no such volume", name);
	}
	free(meta);
	free(vd);
	return j;
}

static void md_volume_list(struct md_strv *out)
{
	char *vr = md_store_path("volumes");
	DIR *d = opendir(vr);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *meta = md_asprintf("%s/%s/volume.json", vr, de->d_name);
		if (md_path_exists(meta))
			md_strv_push(out, de->d_name);
		free(meta);
	}
	if (d)
		closedir(d);
	free(vr);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, md_strcmp_p);
}

/* Remove a volume no container uses (force: a missing one is no error). */
static int md_volume_remove(const char *name, int force)
{
	char *vd = md_volume_dir(name), *meta = md_asprintf("%s/volume.json", vd), by[65];
	int r = 0;
	if (md_store_lock() < 0) {
		r = -1;
	} else if (!md_volume_name_valid(name) || !md_path_exists(meta)) {
		r = force ? 0 : md_errk(MD_EK_NOTFOUND, "get %s: no such volume", name);
	} else {
		struct md_json *idx = md_index_read();
		if (!idx)
			r = -1;
		else if (md_volume_in_use(idx, name, by, sizeof by))
			r = md_errk(MD_EK_CONFLICT, "remove %s: volume is in use - [%s]", name, by);
		md_json_free(idx);
		/* renamed away first: a crash leaves trash, never half a volume */
		if (r == 0)
			r = md_store_trash_rm(vd, name);
	}
	md_store_unlock();
	free(meta);
	free(vd);
	return r;
}

/* Remove the volumes no container uses: anonymous ones, or all. */
static int md_volume_prune(int all, struct md_strv *gone, uint64_t *reclaimed)
{
	struct md_strv vs = {0};
	*reclaimed = 0;
	if (md_store_lock() < 0)
		return -1;
	md_volume_list(&vs);
	struct md_json *idx = md_index_read();
	for (size_t i = 0; i < vs.n && idx; i++) {
		if (md_volume_in_use(idx, vs.v[i], NULL, 0))
			continue;
		char *vd = md_volume_dir(vs.v[i]), *meta = md_asprintf("%s/volume.json", vd);
		struct md_json *vj = md_json_parse_file(meta);
		if (all || md_json_is(md_json_get(vj, "Anonymous"), MD_J_TRUE)) {
			uint64_t size = md_du_path(vd);
			/* as md_volume_remove: a crash leaves trash, never half a volume */
			if (md_store_trash_rm(vd, vs.v[i]) == 0) {
				*reclaimed += size;
				md_strv_push(gone, vs.v[i]);
			}
		}
		md_json_free(vj);
		free(meta);
		free(vd);
	}
	int r = idx ? 0 : -1;
	if (idx)
		md_err_clear();
	md_json_free(idx);
	md_strv_free(&vs);
	md_store_unlock();
	return r;
}

/* ---- networks [MD_FEATURE_NET] ---- */

#if MD_FEATURE_NET

static struct md_json *md_net_inspect_json(struct md_json *idx, struct md_json *n)
{
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "Name", n->key);
	md_json_sets(o, "Id", md_json_gets(n, "Id") ? md_json_gets(n, "Id") : "");
	md_json_sets(o, "Created", md_json_gets(n, "Created") ? md_json_gets(n, "Created") : "");
	md_json_sets(o, "Scope", "local");
	md_json_sets(o, "Driver", "bridge");
	md_json_set(o, "EnableIPv6", md_json_newbool(0));
	struct md_json *ipam = md_json_set(o, "IPAM", md_json_new(MD_J_OBJ));
	md_json_sets(ipam, "Driver", "default");
	struct md_json *cf = md_json_push(md_json_set(ipam, "Config", md_json_new(MD_J_ARR)), md_json_new(MD_J_OBJ));
	md_json_sets(cf, "Subnet", md_json_gets(n, "Subnet") ? md_json_gets(n, "Subnet") : "");
	md_json_sets(cf, "Gateway", md_json_gets(n, "Gateway") ? md_json_gets(n, "Gateway") : "");
	md_json_set(o, "Internal", md_json_newbool(md_json_is(md_json_get(n, "Internal"), MD_J_TRUE)));
	struct md_json *cs = md_json_set(o, "Containers", md_json_new(MD_J_OBJ));
	struct md_json *leases = md_json_get(md_index_section(idx, "ipam"), n->key);
	for (struct md_json *l = leases ? leases->child : NULL; l; l = l->next) {
		if (!md_json_str(l))
			continue;
		struct md_json *c = md_json_set(cs, l->s, md_json_new(MD_J_OBJ));
		const char *nm = md_json_gets(md_json_get(md_json_get(idx, "containers"), l->s), "name");
		md_json_sets(c, "Name", nm ? nm : "");
		char *ip = md_asprintf("%s/%s", l->key, strchr(md_json_gets(n, "Subnet"), '/') + 1);
		md_json_sets(c, "IPv4Address", ip);
		free(ip);
	}
	struct md_json *opts = md_json_set(o, "Options", md_json_new(MD_J_OBJ));
	md_json_sets(opts, "com.docker.network.bridge.name", md_json_gets(n, "Bridge") ? md_json_gets(n, "Bridge") : "");
	md_json_set(o, "Labels", md_json_clone(md_json_get(n, "Labels") ? md_json_get(n, "Labels") : &(struct md_json){.t = MD_J_OBJ}));
	return o;
}

/* A network to create: a bridge with its subnet (NULL: the next free /24
 * of the pool), gateway (NULL: the subnet's first address), labels; driver
 * NULL or "" is "bridge", the only one. */
struct md_network_spec {
	const char *name, *subnet, *gateway;
	int internal;
	const struct md_json *labels;
	const char *driver;
};

static int md_network_create(const struct md_network_spec *ns, char id[65])
{
	const char *name = ns->name;
	if (md_driver_check("network", ns->driver, "bridge") < 0)
		return -1;
	if (!md_ctr_name_valid(name) || strcmp(name, "host") == 0 || strcmp(name, "none") == 0 ||
	    strcmp(name, "bridge") == 0 || strcmp(name, "default") == 0)
		return md_errk(MD_EK_INVALID, "invalid network name \"%s\"", name);
	if (md_store_lock() < 0)
		return -1;
	struct md_json *idx = md_index_read(), *n = NULL;
	int r = -1;
	if (!idx) {
		/* the message is set */
	} else if (md_json_get(md_index_section(idx, "networks"), name)) {
		md_errk(MD_EK_CONFLICT, "network with name %s already exists", name);
	} else if (md_net_default(idx) && (n = md_net_add(idx, name, ns->subnet, ns->gateway, NULL, ns->internal, ns->labels)) &&
	           md_index_write(idx) == 0) {
		snprintf(id, 65, "%s", md_json_gets(n, "Id"));
		r = 0;
	}
	md_json_free(idx);
	md_store_unlock();
	return r;
}

static int md_net_in_use(struct md_json *idx, const char *name, char by[65])
{
	for (struct md_json *c = md_json_get(idx, "containers")->child; c; c = c->next) {
		char *p = md_ctr_path(c->key, "config.json");
		struct md_json *cfg = md_json_parse_file(p);
		free(p);
		struct md_json *ns = md_json_get(cfg, "Networks");
		int uses = 0;
		for (struct md_json *n = ns ? ns->child : NULL; n; n = n->next)
			uses |= md_streq(md_json_gets(n, "Name"), name);
		md_json_free(cfg);
		if (uses) {
			snprintf(by, 65, "%s", c->key);
			md_err_clear();
			return 1;
		}
	}
	md_err_clear();
	return 0;
}

static int md_net_remove(struct md_json *idx, const char *name)
{
	struct md_json *n = md_net_get(idx, name);
	char by[65];
	/* the default network, made or not yet, and host and none are Docker's pre-defined ones */
	if (md_streq(name, "bridge") || md_streq(name, "host") || md_streq(name, "none") || (n && md_streq(n->key, "bridge")))
		return md_errk(MD_EK_FORBIDDEN, "%s is a pre-defined network and cannot be removed", n ? n->key : name);
	if (!n)
		return md_errk(MD_EK_NOTFOUND, "network %s not found", name);
	if (md_net_in_use(idx, n->key, by))
		return md_errk(MD_EK_FORBIDDEN, "error while removing network: network %s has active endpoints (container %.12s)", n->key, by);
	int fd = md_nl_socket();
	if (fd >= 0) {
		md_link_del(fd, md_json_gets(n, "Bridge"));
		close(fd);
	}
	md_json_del(md_index_section(idx, "ipam"), n->key);
	md_json_del(md_index_section(idx, "networks"), n->key);
	return 0;
}

/* Remove a network no container uses. */
static int md_network_remove(const char *name)
{
	if (md_store_lock() < 0)
		return -1;
	struct md_json *idx = md_index_read();
	/* a bridge left by a failed write is made again when needed */
	int r = !idx || md_net_remove(idx, name) < 0 || md_index_write(idx) < 0 ? -1 : md_fw_sync(idx);
	md_json_free(idx);
	md_store_unlock();
	return r;
}

/* Remove every network but the default one that no container uses; gone
 * gets their names, and stays empty when nothing was removed (the index
 * could not be written).  -1 as well when the rules could not follow. */
static int md_network_prune(struct md_strv *gone)
{
	if (md_store_lock() < 0)
		return -1;
	struct md_json *idx = md_index_read();
	for (struct md_json *n = idx ? md_index_section(idx, "networks")->child : NULL, *next; n; n = next) {
		next = n->next;
		char by[65];
		if (strcmp(n->key, "bridge") != 0 && !md_net_in_use(idx, n->key, by)) {
			md_strv_push(gone, n->key);
			md_net_remove(idx, n->key);
		}
	}
	int r = 0;
	if (gone->n && md_index_write(idx) < 0) {
		md_strv_free(gone);
		r = -1;
	} else if (gone->n) {
		r = md_fw_sync(idx);
	}
	md_json_free(idx);
	md_store_unlock();
	return r;
}

/* Configure interfaces inside a running container's network namespace. */
static int md_net_configure_in(pid_t pid, struct md_netif *ifs, int n)
{
	fflush(NULL);
	pid_t p = fork();
	if (p < 0)
		return md_errno("fork");
	if (p == 0) {
		char *np = md_asprintf("/proc/%d/ns/net", (int)pid);
		int fd = open(np, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0 || md_net_configure(ifs, n) < 0) {
			fprintf(stderr, "%s\n", md_errmsg[0] ? md_errmsg : strerror(errno));
			_exit(1);
		}
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : md_err("configuring the container's network failed");
}

/* Write a change of a container's networks: the index (its leases), then
 * its config; if the config cannot be written, the index as it was before. */
static int md_net_save(struct md_json *idx, struct md_json *before, struct md_ctr *c)
{
	char *s = md_json_dump(c->cfg, 0), *p = md_ctr_path(c->id, "config.json");
	int r = md_index_write(idx);
	if (r == 0 && md_write_file_atomic(p, s, strlen(s), 0600) < 0) {
		r = -1;
		struct md_error keep = md_error;
		if (md_index_write(before) < 0)
			md_err_wrap("the index keeps the change");
		else
			md_error = keep;
	}
	free(s);
	free(p);
	return r;
}

/* Connect a container to a network (plugged in at once if it runs), with
 * an address of its own (ip, NULL: the next free) and aliases. */
static int md_network_connect(const char *netname, const char *ctr, const char *want_ip, const struct md_strv *aliases)
{
	char id[65];
	struct md_ctr c;
	if (md_ctr_find(ctr, id) < 0 || md_ctr_load(id, &c) < 0)
		return -1;
	md_ctr_reconcile(&c);
	const char *mode = md_json_gets(md_json_get(c.cfg, "HostConfig"), "NetworkMode");
	if (md_streq(mode, "host") || md_streq(mode, "none") || (mode && md_startswith(mode, "container:"))) {
		/* the message first: mode is the record's, freed below */
		md_errk(MD_EK_CONFLICT, "container %s uses network mode %s and cannot join a network", ctr, mode);
		md_ctr_free(&c);
		return -1;
	}
	if (md_store_lock() < 0) {
		md_ctr_free(&c);
		return -1;
	}
	struct md_json *idx = md_index_read();
	struct md_json *before = idx ? md_json_clone(idx) : NULL; /* to take a change back */
	struct md_json *net = idx ? md_net_get(idx, netname) : NULL;
	int rc = -1;
	char plugged[IF_NAMESIZE] = "";
	if (!net) {
		md_errk(MD_EK_NOTFOUND, "network %s not found", netname);
		goto out;
	}
	struct md_json *nets = md_json_get(c.cfg, "Networks");
	if (!nets)
		nets = md_json_set(c.cfg, "Networks", md_json_new(MD_J_ARR));
	if (!nets->n) { /* it was on the default network implicitly */
		struct md_json *d = md_json_push(nets, md_json_new(MD_J_OBJ));
		md_json_sets(d, "Name", "bridge");
	}
	for (struct md_json *x = nets->child; x; x = x->next)
		if (md_streq(md_json_gets(x, "Name"), net->key)) {
			md_errk(MD_EK_CONFLICT, "container %s is already connected to network %s", ctr, net->key);
			goto out;
		}
	struct md_json *x = md_json_push(nets, md_json_new(MD_J_OBJ));
	md_json_sets(x, "Name", net->key);
	if (want_ip)
		md_json_sets(x, "IPAddress", want_ip);
	if (aliases && aliases->n)
		md_json_set(x, "Aliases", md_jarr_strs(aliases));
	if (md_ctr_running(&c)) {
		/* plug it in now */
		struct md_netif nif;
		char ip[32];
		memset(&nif, 0, sizeof nif);
		int fd = md_nl_socket();
		if (fd < 0 || md_ipam_lease(idx, net, id, want_ip, ip) < 0 || md_net_bridge_up(fd, net, md_uplink_mtu(fd), NULL) < 0) {
			if (fd >= 0)
				close(fd);
			goto out;
		}
		snprintf(nif.net, sizeof nif.net, "%s", net->key);
		snprintf(nif.bridge, sizeof nif.bridge, "%s", md_json_gets(net, "Bridge"));
		int k = (int)nets->n - 1;
		snprintf(nif.ifname, sizeof nif.ifname, "eth%d", k);
		uint32_t sub;
		md_cidr_parse(md_json_gets(net, "Subnet"), &sub, &nif.prefix);
		md_ip_parse(ip, &nif.ip);
		md_ip_parse(md_json_gets(net, "Gateway"), &nif.gw);
		nif.mtu = md_uplink_mtu(fd);
		nif.internal = 1; /* no second default route */
		md_mac_from_ip(nif.ip, nif.mac);
		close(fd);
		pid_t pid = (pid_t)md_json_geti(c.st, "Pid", 0);
		struct md_netif tmp = nif;
		if (md_net_plug(&tmp, 1, pid, id, k) < 0)
			goto out;
		snprintf(plugged, sizeof plugged, "%s", tmp.hostif);
		if (md_net_configure_in(pid, &nif, 1) < 0)
			goto unplug;
	}
	/* the lease, then the config; should one fail, nothing stays connected */
	if (md_net_save(idx, before, &c) < 0)
		goto unplug;
	rc = md_fw_sync(idx);
	md_net_hosts_peers(idx, id);
	goto out;
unplug: /* nothing stays connected that the store does not record */
	if (plugged[0]) {
		int fd = md_nl_socket();
		if (fd >= 0) {
			md_link_del(fd, plugged);
			close(fd);
		}
	}
out:
	md_json_free(before);
	md_json_free(idx);
	md_store_unlock();
	md_ctr_free(&c);
	return rc;
}

/* Disconnect a container from a network: its link goes once the store
 * says so, and its peers' /etc/hosts forget it. */
static int md_network_disconnect(const char *netname, const char *ctr)
{
	char id[65];
	struct md_ctr c;
	if (md_ctr_find(ctr, id) < 0 || md_ctr_load(id, &c) < 0)
		return -1;
	md_ctr_reconcile(&c);
	if (md_store_lock() < 0) {
		md_ctr_free(&c);
		return -1;
	}
	struct md_json *idx = md_index_read();
	struct md_json *before = idx ? md_json_clone(idx) : NULL; /* to take a change back */
	struct md_json *net = idx ? md_net_get(idx, netname) : NULL;
	struct md_json *nets = md_json_get(c.cfg, "Networks");
	int rc = -1, k = -1, i = 0;
	for (struct md_json *x = nets ? nets->child : NULL; x && net; x = x->next, i++)
		if (md_streq(md_json_gets(x, "Name"), net->key))
			k = i;
	if (!net || k < 0) {
		md_errk(MD_EK_NOTFOUND, "container %s is not connected to network %s", ctr, netname);
		goto out;
	}
	struct md_json *peers_net = md_json_get(md_index_section(idx, "ipam"), net->key);
	struct md_strv peers = {0};
	md_net_peers(idx, id, &peers);
	for (struct md_json *l = peers_net ? peers_net->child : NULL, *next; l; l = next) {
		next = l->next;
		if (md_streq(md_json_str(l), id))
			md_json_del(peers_net, l->key);
	}
	struct md_json *gone = md_json_at(nets, (size_t)k);
	md_json_del_item(nets, gone);
	/* the link goes once the store says so */
	if (md_net_save(idx, before, &c) < 0) {
		md_strv_free(&peers);
		goto out;
	}
	char hostif[IF_NAMESIZE];
	snprintf(hostif, sizeof hostif, "md%.10s%d", id, k % 10);
	int fd = md_nl_socket();
	if (fd >= 0) {
		md_link_del(fd, hostif);
		close(fd);
	}
	rc = md_fw_sync(idx);
	for (size_t j = 0; j < peers.n; j++)
		md_net_hosts(idx, peers.v[j]);
	md_strv_free(&peers);
out:
	md_json_free(before);
	md_json_free(idx);
	md_store_unlock();
	md_ctr_free(&c);
	return rc;
}

#endif

/* ---- disk use and the store's check ---- */

/* system df: {total, active, size, reclaimable} */
static void md_df_containers(struct md_json *idx, uint64_t out[4])
{
	memset(out, 0, 4 * sizeof *out);
	for (struct md_json *e = md_json_get(idx, "containers")->child; e; e = e->next) {
		struct md_ctr c;
		if (md_ctr_load(e->key, &c) < 0)
			continue;
		const char *st = md_ctr_state(&c);
		int up = md_streq(st, "running") || md_streq(st, "paused") || md_streq(st, "restarting");
		char *u = md_ctr_path(c.id, "upper");
		uint64_t sz = md_du_path(u);
		free(u);
		out[0]++;
		out[1] += up;
		out[2] += sz;
		out[3] += up ? 0 : sz;
		md_ctr_free(&c);
	}
	md_err_clear();
}

static void md_df_volumes(struct md_json *idx, uint64_t out[4])
{
	struct md_strv vs = {0};
	memset(out, 0, 4 * sizeof *out);
	md_volume_list(&vs);
	for (size_t i = 0; i < vs.n; i++) {
		char *vd = md_volume_dir(vs.v[i]);
		uint64_t sz = md_du_path(vd);
		free(vd);
		int used = md_volume_in_use(idx, vs.v[i], NULL, 0);
		out[0]++;
		out[1] += used;
		out[2] += sz;
		out[3] += used ? 0 : sz;
	}
	md_strv_free(&vs);
}

/* A check of the store: what it finds goes to rep, as "problem" (or, while
 * repairing, "repairing") and "note" lines. */
struct md_check {
	int repair, quick;
	int problems, changed;
	struct md_report *rep;
	struct md_json *idx;
	struct md_strv badlayers, badimages, gone;
};

static MD_PRINTF(2, 3) void md_check_problem(struct md_check *ck, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	md_reportf(ck->rep, ck->repair ? "repairing" : "problem", 0, 0, "%s", line);
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
	char *bd = md_store_path("blobs/sha256");
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
	md_err_clear();
	return idx;
}

/* Layers: present and intact (unless quick), parents known; a layer whose
 * parent is bad is bad too. */
static void md_check_layers(struct md_check *ck, struct md_json *layers)
{
	for (struct md_json *l = layers->child; l; l = l->next) {
		const char *parent = md_json_gets(l, "parent");
		if (!md_digest_valid(l->key) || !md_digest_valid(md_json_gets(l, "diff"))) {
			md_check_problem(ck, "layer %.80s: malformed index entry", l->key);
			md_strv_push(&ck->badlayers, l->key);
			continue;
		}
		if (parent && !md_json_get(layers, parent)) {
			md_check_problem(ck, "layer %s: parent %s is missing", l->key, parent);
			md_strv_push(&ck->badlayers, l->key);
			continue;
		}
		char *dir = md_layer_path(l->key);
		char *diff = md_asprintf("%s/diff", dir);
		int present = md_path_exists(diff);
		free(diff);
		free(dir);
		if (!present) {
			md_check_problem(ck, "layer %s: directory is missing", l->key);
			md_strv_push(&ck->badlayers, l->key);
		} else if (!ck->quick && md_check_layer(l, l->key) < 0) {
			md_check_problem(ck, "layer %s: %s", l->key, md_errmsg);
			md_strv_push(&ck->badlayers, l->key);
		}
	}
	for (int again = 1; again;) {
		again = 0;
		for (struct md_json *l = layers->child; l; l = l->next)
			if (!md_strv_has(&ck->badlayers, l->key) && md_json_gets(l, "parent") &&
			    md_strv_has(&ck->badlayers, md_json_gets(l, "parent"))) {
				md_strv_push(&ck->badlayers, l->key);
				again = 1;
			}
	}
}

/* What is wrong with image im (NULL: nothing): its config present and
 * matching its ID, its layers those of the config, present and sound. */
static const char *md_check_image(struct md_check *ck, struct md_json *im, struct md_json *layers)
{
	char got[MD_DIGEST_LEN + 1];
	char *cp = md_digest_valid(im->key) ? md_blob_path(im->key) : NULL;
	struct md_json *ls = md_json_get(im, "layers"), *cfg = NULL;
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
	struct md_json *diffs = md_json_get(md_json_get(cfg, "rootfs"), "diff_ids");
	char parent[MD_DIGEST_LEN + 1] = "", chain[MD_DIGEST_LEN + 1];
	if (!why && (!md_json_is(diffs, MD_J_ARR) || !md_json_is(ls, MD_J_ARR) || diffs->n != ls->n))
		why = "layer list does not match its config";
	for (size_t i = 0; !why && i < diffs->n; i++) {
		const char *d = md_json_str(md_json_at(diffs, i)), *c = md_json_str(md_json_at(ls, i));
		if (!md_digest_valid(d) || !c)
			why = "layer list does not match its config";
		else if (md_chain_id(parent, d, chain), strcmp(chain, c) != 0)
			why = "layer list does not match its config";
		else if (!md_json_get(layers, c))
			why = "a layer is missing";
		else if (md_strv_has(&ck->badlayers, c))
			why = "a layer is damaged";
		strcpy(parent, chain);
	}
	md_json_free(cfg);
	return why;
}

/* Images, and tags that name a missing image. */
static void md_check_images(struct md_check *ck, struct md_json *idx)
{
	struct md_json *images = md_json_get(idx, "images"), *tags = md_json_get(idx, "tags");
	for (struct md_json *im = images->child; im; im = im->next) {
		const char *why = md_check_image(ck, im, md_json_get(idx, "layers"));
		if (why) {
			md_check_problem(ck, "image %s: %s", im->key, why);
			md_strv_push(&ck->badimages, im->key);
		}
	}
	for (struct md_json *t = tags->child, *next; t; t = next) {
		next = t->next;
		if (!md_json_get(images, md_json_str(t) ? md_json_str(t) : "")) {
			md_check_problem(ck, "tag %s: names a missing image", t->key);
			if (ck->repair) {
				md_json_del_item(tags, t); /* this node only: next stays valid */
				ck->changed = 1;
			}
		}
	}
}

/* A directory in containers/ the index does not name. */
static void md_check_orphan_ctr(const char *name, const char *path, void *ctx)
{
	struct md_check *ck = ctx;
	if (name[0] == '.' || md_json_get(md_json_get(ck->idx, "containers"), name))
		return;
	md_check_problem(ck, "containers/%s: not in the index (left by an interrupted command)", name);
	if (ck->repair)
		md_rm_rf(path);
}

/* Containers: every index entry has its directory and image, every
 * directory an index entry (ck->idx is idx). */
static void md_check_containers(struct md_check *ck, struct md_json *idx)
{
	struct md_json *images = md_json_get(idx, "images"), *ctrs = md_index_section(idx, "containers");
	for (struct md_json *ce = ctrs->child, *next; ce; ce = next) {
		next = ce->next;
		char *cp = md_ctr_path(ce->key, "config.json");
		int present = md_path_exists(cp);
		free(cp);
		const char *img = md_json_gets(ce, "image");
		if (!present) {
			md_check_problem(ck, "container %.12s: its directory is missing", ce->key);
			if (ck->repair) {
				md_json_del(ctrs, ce->key);
				ck->changed = 1;
			}
		} else if (!md_json_get(images, img ? img : "")) {
			md_check_problem(ck, "container %.12s: its image %.19s is missing (remove the container)", ce->key, img ? img : "?");
		}
	}
	md_store_sweep_dir("containers", md_check_orphan_ctr, ck);
}

/* Volumes: each has its volume.json (unless one is being made now). */
static void md_check_volume(const char *name, const char *path, void *ctx)
{
	struct md_check *ck = ctx;
	char *meta = md_asprintf("%s/volume.json", path);
	if (md_startswith(name, ".tmp-") && md_pid_alive(name + 5)) {
		md_reportf(ck->rep, "note", 0, 0, "volumes/%s: a command is creating it right now", name);
	} else if (!md_path_exists(meta)) {
		md_check_problem(ck, "volumes/%s: an unfinished volume", name);
		if (ck->repair)
			md_rm_rf(path);
	}
	free(meta);
}

/* Layer directories nothing names (but those kept for a pull to resume,
 * and those a live session pins). */
static void md_check_orphan_layer(const char *name, const char *path, void *ctx)
{
	struct md_check *ck = ctx;
	char key[80];
	snprintf(key, sizeof key, "sha256:%.64s", name);
	int hex = md_hex64_valid(name);
	if (name[0] == '.' || (hex && (md_json_get(md_json_get(ck->idx, "layers"), key) || md_store_pinned(key))))
		return;
	char *kp = hex ? md_pull_keep_path(key) : NULL;
	int kept = kp && md_path_exists(kp);
	free(kp);
	if (kept && !ck->repair) {
		md_reportf(ck->rep, "note", 0, 0, "layers/%s: kept for an interrupted pull to resume", name);
		return;
	}
	md_check_problem(ck, "layers/%s: not in the index (left by an interrupted command)", name);
	if (ck->repair && hex && !md_strv_has(&ck->gone, key))
		md_strv_push(&ck->gone, key);
	else if (ck->repair)
		md_rm_rf(path);
}

/* Blobs no (sound) image uses, but those being written now. */
static void md_check_orphan_blob(const char *name, const char *path, void *ctx)
{
	struct md_check *ck = ctx;
	char key[80];
	snprintf(key, sizeof key, "sha256:%.64s", name);
	int named = md_json_get(md_json_get(ck->idx, "images"), key) && !(ck->repair && md_strv_has(&ck->badimages, key));
	if (name[0] == '.' || (named && md_hex64_valid(name)))
		return;
	if (strstr(name, ".tmp-") && md_pid_alive(strstr(name, ".tmp-") + 5)) {
		md_reportf(ck->rep, "note", 0, 0, "blobs/sha256/%s: a command is writing it right now", name);
		return;
	}
	md_check_problem(ck, "blobs/sha256/%s: not used by any image", name);
	if (ck->repair)
		unlink(path);
}

/* Unfinished work in tmp/ (but live sessions and trash). */
static void md_check_tmp(const char *name, const char *path, void *ctx)
{
	struct md_check *ck = ctx;
	if (name[0] == '.')
		return;
	if ((md_startswith(name, "s-") && md_sess_is_alive(path)) || (md_startswith(name, "trash-") && md_pid_alive(name + 6))) {
		md_reportf(ck->rep, "note", 0, 0, "tmp/%s: a command is working right now", name);
	} else {
		md_check_problem(ck, "tmp/%s: unfinished work of an interrupted command", name);
		if (ck->repair)
			md_rm_rf(path);
	}
}

/* Temporary files in the store's root (but those of live writers). */
static void md_check_tmpfile(const char *name, const char *path, void *ctx)
{
	struct md_check *ck = ctx;
	const char *t = strstr(name, ".tmp-");
	if (!t)
		return;
	if (md_pid_alive(t + 5)) {
		md_reportf(ck->rep, "note", 0, 0, "%s: a command is writing it right now", name);
		return;
	}
	md_check_problem(ck, "%s: a temporary file of an interrupted write", name);
	if (ck->repair)
		unlink(path);
}

/*
 * Check the store (and repair it: what a complete image needs stays, what
 * is damaged or unfinished goes), saying what it finds through rep.  What
 * dead writers left is swept first, as by any command, and reported as
 * notes, not judged.  The number of problems found, or -1.
 */
static int md_store_check(int repair, int quick, struct md_report *rep)
{
	struct md_check ck = {repair, quick, 0, 0, rep, NULL, {0}, {0}, {0}};
	struct md_strv swept = {0};
	md_store.swept = &swept;
	int locked = md_store_lock();
	md_store.swept = NULL;
	for (size_t i = 0; i < swept.n; i++)
		md_reportf(rep, "note", 0, 0, "%s: left by a command that died, removed", swept.v[i]);
	md_strv_free(&swept);
	if (locked < 0)
		return -1;
	int r = 0;
	struct md_json *idx = md_index_read();
	if (!idx) {
		md_check_problem(&ck, "%s", md_errmsg);
		if (repair) {
			idx = md_check_rebuild_index();
			ck.changed = 1;
		}
	}
	if (idx) {
		struct md_json *layers = md_json_get(idx, "layers");
		md_check_layers(&ck, layers);
		md_check_images(&ck, idx);
		ck.idx = idx;
		md_check_containers(&ck, idx);
		md_store_sweep_dir("volumes", md_check_volume, &ck);
		for (size_t i = 0; repair && i < ck.badimages.n; i++, ck.changed = 1)
			md_index_drop_image(idx, ck.badimages.v[i], &ck.gone);
		for (size_t i = 0; repair && i < ck.badlayers.n; i++)
			if (md_json_get(layers, ck.badlayers.v[i])) {
				md_json_del(layers, ck.badlayers.v[i]);
				md_strv_push(&ck.gone, ck.badlayers.v[i]);
				ck.changed = 1;
			}
		md_store_sweep_dir("layers", md_check_orphan_layer, &ck);
		md_store_sweep_dir("blobs/sha256", md_check_orphan_blob, &ck);
		md_store_sweep_dir("tmp", md_check_tmp, &ck);
		md_store_sweep_dir("", md_check_tmpfile, &ck);
		/* written once: md_net_reclaim writes its own repair */
		int np = repair && ck.changed && md_index_write(idx) < 0 ? -1 : md_net_reclaim(idx, repair, rep);
		ck.problems += np > 0 ? np : 0;
		if (np < 0)
			r = -1;
		else if (repair)
			md_store_delete(&ck.gone);
	}
	md_strv_free(&ck.badlayers);
	md_strv_free(&ck.badimages);
	md_strv_free(&ck.gone);
	md_json_free(idx);
	md_store_unlock();
	return r < 0 ? -1 : ck.problems;
}

/* ---- what this kernel and host offer (check-config, info) ---- */

/* One kernel config file, plain or compressed (/proc/config.gz), read
 * through md_decomp (inflate only: gzopen's gzclose would link all of deflate);
 * at most 8 MiB of text. NULL when it cannot be read, is corrupt or
 * truncated, or is empty. */
static char *md_kconfig_load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct md_decomp z;
	struct md_sb b = {0};
	ssize_t n = md_decomp_open(&z, md_src_fd(fd), 0);
	char buf[16384];
	while (n >= 0 && b.len < (8u << 20) && (n = md_decomp_read(&z, buf, sizeof buf)) > 0)
		md_sb_putn(&b, buf, (size_t)n);
	md_decomp_close(&z);
	close(fd);
	md_err_clear();   /* the next candidate is tried instead */
	if (n < 0 || !b.len) {
		md_sb_free(&b);
		return NULL;
	}
	return b.s;
}

/* The running kernel's configuration (/proc/config.gz, /boot/config-RELEASE, or a given file). */
static char *md_kconfig_read(const char *path, char *from, size_t fromsz)
{
	struct utsname u;
	uname(&u);
	char boot[300];
	snprintf(boot, sizeof boot, "/boot/config-%s", u.release);
	const char *cands[] = {path, "/proc/config.gz", boot, "/usr/src/linux/.config"};
	for (size_t i = 0; i < MD_ARRAY_LEN(cands); i++) {
		char *text = cands[i] ? md_kconfig_load(cands[i]) : NULL;
		if (text) {
			snprintf(from, fromsz, "%s", cands[i]);
			return text;
		}
	}
	return NULL;
}

/* 'y', 'm', or 0 for a CONFIG_ option; -1 when unknown (no config found). */
static int md_kconfig_get(const char *cfg, const char *opt)
{
	if (!cfg)
		return -1;
	char key[96];
	snprintf(key, sizeof key, "\nCONFIG_%s=", opt);
	const char *p = strstr(cfg, key);
	if (!p && strncmp(cfg, key + 1, strlen(key + 1)) == 0)
		p = cfg - 1;
	return p ? p[strlen(key)] : 0;
}

struct md_kcheck {
	const char *opt;     /* CONFIG_ name */
	const char *what;    /* what minidock uses it for */
	int necessary;
	int (*probe)(void);  /* runtime check when there is no config file */
};

static int md_probe_fs(const char *fs)
{
	char *f = md_read_file("/proc/filesystems", 1 << 16, NULL);
	char key[64];
	snprintf(key, sizeof key, "\t%s\n", fs);
	int r = f && strstr(f, key) != NULL;
	free(f);
	md_err_clear();
	return r;
}

static int md_probe_ns(const char *ns)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/ns/%s", ns);
	return access(p, F_OK) == 0;
}

static int md_probe_cg(const char *ctl)
{
	char *f = md_read_file("/proc/cgroups", 1 << 16, NULL);
	int r = 0;
	for (char *l = f ? strtok(f, "\n") : NULL; l && !r; l = strtok(NULL, "\n")) {
		size_t n = strlen(ctl);
		r = strncmp(l, ctl, n) == 0 && (l[n] == '\t' || l[n] == ' ');
	}
	free(f);
	md_err_clear();
	return r || md_cg_detect() == MD_CG_V2;
}

static int md_probe_ns_net(void) { return md_probe_ns("net"); }

static int md_probe_ns_pid(void) { return md_probe_ns("pid"); }

static int md_probe_ns_ipc(void) { return md_probe_ns("ipc"); }

static int md_probe_ns_uts(void) { return md_probe_ns("uts"); }

static int md_probe_ns_user(void) { return md_probe_ns("user"); }

static int md_probe_ns_cgroup(void) { return md_probe_ns("cgroup"); }

static int md_probe_overlay(void) { return md_probe_fs("overlay"); }

static int md_probe_mqueue(void) { return md_probe_fs("mqueue"); }

static int md_probe_cgroup(void) { return md_probe_fs("cgroup") || md_probe_fs("cgroup2"); }

static int md_probe_memcg(void) { return md_probe_cg("memory"); }

static int md_probe_pids(void) { return md_probe_cg("pids"); }

static int md_probe_cpuset(void) { return md_probe_cg("cpuset"); }

static int md_probe_cpu(void) { return md_probe_cg("cpu"); }

static int md_probe_devices(void) { return md_probe_cg("devices"); }

static int md_probe_freezer(void) { return md_probe_cg("freezer"); }

static int md_probe_seccomp(void) { return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0; }

static int md_probe_devpts(void) { return md_probe_fs("devpts"); }

static const struct md_kcheck md_kchecks[] = {
	{"NAMESPACES", "namespaces", 1, NULL},
	{"NET_NS", "network namespaces", 1, md_probe_ns_net},
	{"PID_NS", "pid namespaces", 1, md_probe_ns_pid},
	{"IPC_NS", "ipc namespaces", 1, md_probe_ns_ipc},
	{"UTS_NS", "uts namespaces", 1, md_probe_ns_uts},
	{"CGROUPS", "control groups", 1, md_probe_cgroup},
	{"CGROUP_CPUACCT", "cpu accounting (stats)", 1, md_probe_cpu},
	{"CGROUP_DEVICE", "the device allowlist", 1, md_probe_devices},
	{"CGROUP_FREEZER", "pause and unpause", 1, md_probe_freezer},
	{"CGROUP_SCHED", "cpu shares and quota", 1, md_probe_cpu},
	{"CPUSETS", "--cpuset-cpus", 1, md_probe_cpuset},
	{"MEMCG", "memory limits", 1, md_probe_memcg},
	{"CGROUP_PIDS", "--pids-limit", 1, md_probe_pids},
	{"OVERLAY_FS", "the overlay root filesystem", 1, md_probe_overlay},
	{"POSIX_MQUEUE", "/dev/mqueue", 1, md_probe_mqueue},
	{"UNIX98_PTYS", "/dev/pts", 1, md_probe_devpts},
	{"UNIX", "the monitor's attach socket", 1, NULL},
	{"CGROUP_NS", "cgroup namespaces", 0, md_probe_ns_cgroup},
	{"USER_NS", "--userns=remap", 0, md_probe_ns_user},
	{"SECCOMP", "the default seccomp filter", 0, md_probe_seccomp},
	{"SECCOMP_FILTER", "the default seccomp filter", 0, md_probe_seccomp},
	{"CGROUP_BPF", "the device allowlist on cgroup v2", 0, NULL},
	{"BPF_SYSCALL", "the device allowlist on cgroup v2", 0, NULL},
	{"MEMCG_SWAP", "--memory-swap (older kernels)", 0, NULL},
	{"VETH", "bridge networking", 0, NULL},
	{"BRIDGE", "bridge networking", 0, NULL},
	{"NETFILTER", "NAT and published ports", 0, NULL},
	{"NF_CONNTRACK", "NAT and published ports", 0, NULL},
	{"NF_NAT", "NAT and published ports", 0, NULL},
	{"NF_TABLES", "NAT with nftables", 0, NULL},
	{"NFT_NAT", "NAT with nftables", 0, NULL},
	{"NFT_MASQ", "masquerade with nftables", 0, NULL},
	{"NFT_FIB_IPV4", "published ports with nftables", 0, NULL},
	{"NFT_CT", "hairpin NAT with nftables", 0, NULL},
	{"IP_NF_NAT", "NAT with iptables", 0, NULL},
	{"IP_NF_TARGET_MASQUERADE", "masquerade with iptables", 0, NULL},
	{"NETFILTER_XT_MATCH_ADDRTYPE", "published ports with iptables", 0, NULL},
	{"NETFILTER_XT_MATCH_CONNTRACK", "hairpin NAT with iptables", 0, NULL},
};

/**** 21 cli: option parsing and output *************************************/
/*
 * The command line, the first front end: Docker's flag syntax (-a -q or
 * -aq, -o FILE or -oFILE, --format X or --format=X, --rm=false, "--" ends
 * options; flags may follow positional arguments, except for commands
 * that run a command line, run and exec, where the first positional
 * argument ends option parsing) and the helpers its commands print with.
 * Only this front end prints "minidock: CMD: message" (md_fail) and picks
 * the exit code: 125 for run and create and for usage errors, 1 for the
 * others, the command's own for run and exec.
 *
 * May call: sections 01-20.
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

/* prune's report: "Deleted X:" and the IDs, then the space reclaimed */
static void md_prune_report(const char *what, const struct md_strv *gone, uint64_t reclaimed)
{
	char sz[32];
	md_human_size(sz, sizeof sz, (double)reclaimed);
	if (gone->n) {
		printf("Deleted %s:\n", what);
		for (size_t i = 0; i < gone->n; i++)
			printf("%s\n", gone->v[i]);
		printf("\n");
	}
	printf("Total reclaimed space: %s\n", sz);
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

static int md_confirm(const char *warning)
{
	fprintf(stderr, "%s\nAre you sure you want to continue? [y/N] ", warning);
	char line[32];
	if (!fgets(line, sizeof line, stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
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

static int md_index_or_fail(struct md_json **idx)
{
	*idx = md_index_read();
	return *idx ? 0 : -1;
}

static void md_human_bin(char *buf, size_t n, double v)
{
	static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t i = 0;
	while (v >= 1024 && i + 1 < MD_ARRAY_LEN(u)) {
		v /= 1024;
		i++;
	}
	snprintf(buf, n, i ? "%.4g%s" : "%.0f%s", v, u[i]);
}

/* --label KEY=VALUE (or KEY: an empty value), as a JSON object. */
static struct md_json *md_opt_labels(const struct md_args *a, const char *flag)
{
	struct md_json *labels = md_json_new(MD_J_OBJ);
	const struct md_strv *ls = md_optv(a, flag);
	for (size_t i = 0; i < ls->n; i++) {
		char *kv = md_strdup(ls->v[i]), *eq = strchr(kv, '=');
		if (eq)
			*eq = 0;
		md_json_sets(labels, kv, eq ? eq + 1 : "");
		free(kv);
	}
	return labels;
}

/* Read KEY=VALUE lines of an --env-file (comments and blanks skipped). */
static int md_env_file(const char *path, struct md_json *env)
{
	char *s = md_read_file(path, 1 << 20, NULL);
	if (!s)
		return md_err_wrap("--env-file");
	for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n")) {
		while (isspace((unsigned char)*l))
			l++;
		size_t n = strlen(l);
		while (n && (l[n - 1] == '\r' || isspace((unsigned char)l[n - 1])))
			l[--n] = 0;
		if (!*l || *l == '#')
			continue;
		if (!strchr(l, '=')) {
			const char *v = getenv(l);
			if (!v)
				continue;
			char *kv = md_asprintf("%s=%s", l, v);
			md_json_push(env, md_json_newstr(kv));
			free(kv);
		} else {
			md_json_push(env, md_json_newstr(l));
		}
	}
	free(s);
	return 0;
}

#if MD_FEATURE_PULL
/* The CLI's side of an engine report (md_report): lines about the whole as
 * they come; per layer, on a terminal a line redrawn in place (with a bar
 * while bytes move), else one line per change of phase ("Downloading",
 * "Pull complete"), not per byte. */
struct md_progress {
	struct md_report r;
	FILE *f;
	int tty, quiet;
	size_t n;
	char (*ids)[13];
	char (*status)[96];
};

static void md_progress_fn(struct md_report *r, const char *id, const char *status, uint64_t done, uint64_t total)
{
	struct md_progress *p = (struct md_progress *)r;
	if (p->quiet)
		return;
	if (!id) {
		fprintf(p->f, "%s\n", status);
		fflush(p->f);
		return;
	}
	size_t i = 0;
	while (i < p->n && strcmp(p->ids[i], id) != 0)
		i++;
	if (i == p->n) { /* a new layer: its line ("Waiting" only on a terminal) */
		p->ids = md_realloc(p->ids, (p->n + 1) * sizeof *p->ids);
		p->status = md_realloc(p->status, (p->n + 1) * sizeof *p->status);
		snprintf(p->ids[i], sizeof p->ids[i], "%s", id);
		snprintf(p->status[i], sizeof p->status[i], "%s", p->tty ? status : "");
		p->n++;
		if (p->tty)
			fprintf(p->f, "%s: %s\n", id, status);
		if (p->tty || !strcmp(status, "Waiting")) {
			fflush(p->f);
			return;
		}
	}
	char line[96];
	if (p->tty && total) {
		char a[16], b[16], bar[52];
		md_human_size(a, sizeof a, (double)done);
		md_human_size(b, sizeof b, (double)total);
		int w = (int)(done * 50 / total);
		w = w > 50 ? 50 : w;
		memset(bar, ' ', 50);
		memset(bar, '=', (size_t)w);
		if (w < 50)
			bar[w] = '>';
		bar[50] = 0;
		snprintf(line, sizeof line, "%s [%s] %s/%s", status, bar, a, b);
	} else {
		snprintf(line, sizeof line, "%s", status);
	}
	if (p->tty) {
		size_t up = p->n - i;
		fprintf(p->f, "\033[%zuA\r\033[2K%s: %s\033[%zuB\r", up, p->ids[i], line, up);
	} else if (strncmp(p->status[i], line, 11) != 0) {
		fprintf(p->f, "%s: %s\n", p->ids[i], line);
	}
	snprintf(p->status[i], sizeof p->status[i], "%s", line);
	fflush(p->f);
}

static struct md_progress md_progress_on(FILE *f, int quiet)
{
	return (struct md_progress){{md_progress_fn}, f, isatty(fileno(f)), quiet, 0, NULL, NULL};
}

static void md_progress_free(struct md_progress *p)
{
	free(p->ids);
	free(p->status);
}

/* A pull from the CLI: progress and the result (quiet: the name only). */
static int md_pull_cli(const char *ref, FILE *f, int quiet)
{
	struct md_progress pg = md_progress_on(f, quiet);
	struct md_pulled pd;
	int r = md_pull(ref, &pg.r, &pd);
	md_progress_free(&pg);
	if (r == 0 && quiet)
		fprintf(f, "%s\n", pd.name);
	else if (r == 0)
		fprintf(f, "Digest: %s\nStatus: %s for %s\n", pd.digest, pd.had ? "Image is up to date" : "Downloaded newer image", pd.name);
	fflush(f);
	return r;
}
#endif

/**** 22 cli: image commands ************************************************/
/* May call: sections 01-21. */

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

/* images --filter: dangling=BOOL, reference=PATTERN (checked here). */
static int md_images_filters(const struct md_strv *filters, int *dangling, const char **refpat)
{
	for (size_t i = 0; i < filters->n; i++) {
		const char *f = filters->v[i];
		if (md_startswith(f, "dangling="))
			*dangling = strcmp(f + 9, "true") == 0 || strcmp(f + 9, "1") == 0;
		else if (!md_startswith(f, "reference="))
			return md_errk(MD_EK_INVALID, "invalid filter '%s' (supported: dangling=true|false, reference=PATTERN)", f);
		else if (*refpat = f + 10, md_path_match(*refpat, "") < 0) /* matching "" checks the whole pattern */
			return md_errk(MD_EK_INVALID, "invalid filter '%s': syntax error in pattern", f);
	}
	return 0;
}

/* Does row r show, for the name asked for (REPO[:TAG]) and the reference
 * pattern? */
static int md_images_wanted(const struct md_imgrow *r, const char *want, const char *refpat)
{
	if (want) {
		char wrepo[600];
		struct md_ref ref;
		if (md_ref_parse(want, &ref) < 0)
			return 0;
		md_ref_name(&ref, wrepo, sizeof wrepo);
		if (strcmp(wrepo, r->repo) != 0 || (ref.tag[0] && strcmp(ref.tag, r->tag) != 0))
			return 0;
	}
	if (refpat) {
		char *full = md_asprintf("%s:%s", r->repo, r->tag);
		int ok = md_path_match(refpat, full) > 0 || md_path_match(refpat, r->repo) > 0;
		free(full);
		return ok;
	}
	return 1;
}

/* The rows of images: one per tag (or one <none> row), sorted. */
static size_t md_images_rows(struct md_json *idx, const char *want, int dangling, const char *refpat, struct md_imgrow **out)
{
	struct md_imgrow *rows = NULL;
	size_t nrows = 0;
	for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
		struct md_strv tags = {0};
		md_image_tags(idx, im->key, &tags);
		if ((dangling == 1 && tags.n) || (dangling == 0 && !tags.n)) {
			md_strv_free(&tags);
			continue;
		}
		struct md_json *cfg = md_blob_json(im->key);
		time_t created = md_image_created(cfg);
		md_json_free(cfg);
		uint64_t size = md_image_size(idx, im->key);
		for (size_t t = 0; t < (tags.n ? tags.n : 1); t++) {
			struct md_imgrow r = {im->key, NULL, NULL, NULL, created, size};
			if (tags.n) {
				md_split_tag(tags.v[t], &r.repo, &r.tag);
			} else {
				r.repo = md_strdup("<none>");
				r.tag = md_strdup("<none>");
			}
			if (!md_images_wanted(&r, want, refpat)) {
				free(r.repo);
				free(r.tag);
				continue;
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
	md_err_clear();
	if (nrows)
		qsort(rows, nrows, sizeof *rows, md_imgrow_cmp);
	*out = rows;
	return nrows;
}

/* images --format: the fields Docker's templates know. */
static int md_images_format(const char *fmt, const struct md_imgrow *r, const char *id, const char *ago, const char *size)
{
	char at[64];
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
	int r2 = md_format_print(fmt, o);
	md_json_free(o);
	return r2;
}

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
	int quiet = md_flag(a, "quiet"), notrunc = md_flag(a, "no-trunc"), digests = md_flag(a, "digests"), dangling = -1;
	const char *fmt = md_opt(a, "format"), *refpat = NULL;
	if (md_images_filters(md_optv(a, "filter"), &dangling, &refpat) < 0) {
		md_json_free(idx);
		return md_fail(125);
	}
	struct md_imgrow *rows;
	size_t nrows = md_images_rows(idx, a->pos.n ? a->pos.v[0] : NULL, dangling, refpat, &rows);
	struct md_table tab = {digests ? 6 : 5, {0}};
	if (!quiet && !fmt) {
		const char *hd[] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
		const char *hdd[] = {"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"};
		md_table_add(&tab, digests ? hdd : hd);
	}
	struct md_strv seen = {0};
	int rc = 0;
	for (size_t i = 0; i < nrows && !rc; i++) {
		struct md_imgrow *r = &rows[i];
		char id[MD_DIGEST_LEN + 1], ago[64], size[32];
		if (notrunc)
			snprintf(id, sizeof id, "%s", r->id);
		else
			md_short_id(r->id, id);
		md_time_ago(ago, sizeof ago, r->created);
		md_human_size(size, sizeof size, (double)r->size);
		if (quiet && !md_strv_has(&seen, id)) {
			md_strv_push(&seen, id);
			puts(id);
		} else if (!quiet && fmt && md_images_format(fmt, r, id, ago, size) < 0) {
			rc = md_fail(125);
		} else if (!quiet && !fmt) {
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
	return md_image_tag(a->pos.v[0], a->pos.v[1]) < 0 ? md_fail(1) : 0;
}

static int md_cmd_rmi(struct md_args *a)
{
	struct md_sb out = {0};
	int rc = 0;
	/* one at a time, so that each failure gets its line */
	for (size_t i = 0; i < a->pos.n; i++)
		if (md_image_remove(&a->pos.v[i], 1, md_flag(a, "force"), &out) < 0)
			rc = md_fail(1);
	fputs(md_sb_str(&out), stdout);
	md_sb_free(&out);
	return rc;
}

static int md_cmd_image_prune(struct md_args *a)
{
	int all = md_flag(a, "all");
	if (!md_flag(a, "force") &&
	    !md_confirm(all ? "WARNING! This will remove all images without at least one container associated to them."
	                    : "WARNING! This will remove all dangling images."))
		return 0;
	struct md_strv gone = {0};
	uint64_t reclaimed;
	if (md_image_prune(all, &gone, &reclaimed) < 0) {
		md_strv_free(&gone);
		return md_fail(1);
	}
	md_prune_report("Images", &gone, reclaimed);
	md_strv_free(&gone);
	return 0;
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
	uint64_t cn[4], vn[4];
	md_df_containers(idx, cn);
	md_df_volumes(idx, vn);
	char c1[16], c2[16], c3[32], c4[48], v1[16], v2[16], v3[32], v4[48], tmp[32];
	snprintf(c1, sizeof c1, "%llu", (unsigned long long)cn[0]);
	snprintf(c2, sizeof c2, "%llu", (unsigned long long)cn[1]);
	md_human_size(c3, sizeof c3, (double)cn[2]);
	md_human_size(tmp, sizeof tmp, (double)cn[3]);
	snprintf(c4, sizeof c4, "%s (%d%%)", tmp, cn[2] ? (int)(cn[3] * 100 / cn[2]) : 0);
	snprintf(v1, sizeof v1, "%llu", (unsigned long long)vn[0]);
	snprintf(v2, sizeof v2, "%llu", (unsigned long long)vn[1]);
	md_human_size(v3, sizeof v3, (double)vn[2]);
	md_human_size(tmp, sizeof tmp, (double)vn[3]);
	snprintf(v4, sizeof v4, "%s (%d%%)", tmp, vn[2] ? (int)(vn[3] * 100 / vn[2]) : 0);
	md_table_add(&tab, (const char *[]){"Containers", c1, c2, c3, cn[2] ? c4 : "0B"});
	md_table_add(&tab, (const char *[]){"Local Volumes", v1, v2, v3, vn[2] ? v4 : "0B"});
	md_table_add(&tab, (const char *[]){"Build Cache", "0", "0", "0B", "0B"});
	md_table_print(&tab, stdout);
	md_json_free(idx);
	return 0;
}

/* The CLI's side of a store check's report: "problem: ...", "note: ...". */
static void md_check_print(struct md_report *r, const char *id, const char *status, uint64_t done, uint64_t total)
{
	(void)r, (void)done, (void)total;
	printf("%s: %s\n", id ? id : "note", status);
}

static int md_cmd_system_check(struct md_args *a)
{
	int repair = md_flag(a, "repair");
	if (!md_path_exists(md_store.root)) {
		printf("store %s is empty\n", md_store.root);
		return 0;
	}
	struct md_report rep = {md_check_print};
	int problems = md_store_check(repair, md_flag(a, "quick"), &rep);
	if (problems < 0)
		return md_fail(1);
	if (problems == 0)
		printf("store %s is consistent\n", md_store.root);
	else if (repair)
		printf("repaired %d problem%s in %s\n", problems, problems == 1 ? "" : "s", md_store.root);
	else
		printf("%d problem%s found in %s (fix with: minidock system check --repair)\n", problems, problems == 1 ? "" : "s",
		       md_store.root);
	return problems && !repair ? 1 : 0;
}


static int md_cmd_load(struct md_args *a)
{
	const char *in = md_opt(a, "input");
	if (md_opt(a, "platform") && md_platform_parse(md_opt(a, "platform"), &md_want) < 0)
		return md_fail(125);
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
	struct md_sb report = {0};
	int r = md_load_fd(fd, md_image_admit, &report); /* -q: there is no progress to suppress */
	if (fd)
		close(fd);
	fputs(md_sb_str(&report), stdout);
	md_sb_free(&report);
	return r < 0 ? md_fail(1) : 0;
}

static int md_cmd_import(struct md_args *a)
{
	const char *src = a->pos.v[0];
	if (md_opt(a, "platform") && md_platform_parse(md_opt(a, "platform"), &md_want) < 0)
		return md_fail(125);
	int fd = 0;
	if (strcmp(src, "-") != 0) {
		fd = open(src, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			md_errno("open %s", src);
			return md_fail(1);
		}
	}
	char id[MD_DIGEST_LEN + 1];
	int r = md_import_fd(fd, a->pos.n > 1 ? a->pos.v[1] : NULL, md_opt(a, "message"), md_optv(a, "change"), md_image_admit, id);
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
	if (format && strcmp(format, "oci") != 0 && strcmp(format, "docker") != 0) {
		md_errk(MD_EK_INVALID, "unsupported --format \"%s\" (supported: docker, oci)", format);
		return md_fail(125);
	}
	if (!out && isatty(1)) {
		md_errk(MD_EK_INVALID, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
		return md_fail(1);
	}
	/* a file appears whole or not at all */
	char *tmp = out ? md_asprintf("%s.tmp-%d", out, (int)getpid()) : NULL;
	int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
	int r = fd < 0 ? md_errno("create %s", tmp) : md_image_save(a->pos.v, a->pos.n, fd, format && !strcmp(format, "oci"));
	if (tmp && fd >= 0) {
		if (r == 0 && (fsync(fd) < 0 || rename(tmp, out) < 0))
			r = md_errno("write %s", out);
		close(fd);
		if (r < 0)
			unlink(tmp);
	}
	free(tmp);
	return r < 0 ? md_fail(1) : 0;
}

static int md_cmd_version(struct md_args *a)
{
	(void)a;
	printf("minidock version %s\n", MD_VERSION);
	printf("features:");
	md_features_print(stdout);
	printf("\nlibraries: libarchive %s, zlib %s", archive_version_details() ? ARCHIVE_VERSION_ONLY_STRING : "", zlibVersion());
#if MD_FEATURE_ZSTD
	printf(", zstd %s", ZSTD_versionString());
#endif
	printf(", BearSSL\nos/arch: linux/%s\n", md_host_arch());
	return 0;
}

/* ---- registry commands [MD_FEATURE_PULL] ---- */

#if MD_FEATURE_PULL

static const struct md_optdef md_opts_pull[] = {
	{"all-tags", 'a', NULL, "Download all tagged images in the repository"},
	{"platform", 0, "string", "Set platform if server is multi-platform capable (OS/ARCH[/VARIANT])"},
	{"quiet", 'q', NULL, "Suppress verbose output"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_push[] = {
	{"quiet", 'q', NULL, "Suppress verbose output"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_login[] = {
	{"password", 'p', "string", "Password"},
	{"password-stdin", 0, NULL, "Take the password from stdin"},
	{"username", 'u', "string", "Username"},
	{NULL, 0, NULL, NULL}};

static int md_cmd_pull(struct md_args *a)
{
	if (md_opt(a, "platform") && md_platform_parse(md_opt(a, "platform"), &md_want) < 0)
		return md_fail(125);
	if (!md_flag(a, "all-tags"))
		return md_pull_cli(a->pos.v[0], stdout, md_flag(a, "quiet")) < 0 ? md_fail(1) : 0;
	struct md_ref ref;
	if (md_ref_parse(a->pos.v[0], &ref) < 0)
		return md_fail(1);
	if (ref.tag[0] || ref.digest[0]) {
		md_err("tag can't be used with --all-tags/-a");
		return md_fail(1);
	}
	struct md_strv tags = {0};
	if (md_reg_tags(a->pos.v[0], &tags) < 0)
		return md_fail(1);
	int rc = 0;
	for (size_t i = 0; i < tags.n; i++) {
		char name[600], full[800];
		md_ref_name(&ref, name, sizeof name);
		snprintf(full, sizeof full, "%s:%s", name, tags.v[i]);
		if (md_pull_cli(full, stdout, md_flag(a, "quiet")) < 0)
			rc = md_fail(1);
	}
	md_strv_free(&tags);
	return rc;
}

#if MD_FEATURE_SIGN
static int md_cmd_image_verify(struct md_args *a)
{
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		struct md_sig_ok ok;
		memset(&ok, 0, sizeof ok);
		if (md_image_verify(a->pos.v[i], &ok) < 0)
			rc = md_fail(1);
		else if (ok.key[0])
			printf("%s: verified with %s (identity %s, manifest %s)\n", a->pos.v[i], ok.key, ok.identity, ok.digest);
		else
			printf("%s: accepted (the signature policy's scope %s asks for no signature)\n", a->pos.v[i], ok.scope[0] ? ok.scope : "default");
	}
	return rc;
}
#endif

static int md_cmd_push(struct md_args *a)
{
	struct md_progress pg = md_progress_on(stdout, md_flag(a, "quiet"));
	struct md_pushed pd;
	int r = md_push(a->pos.v[0], &pg.r, &pd);
	md_progress_free(&pg);
	if (r < 0)
		return md_fail(1);
	printf("%s: digest: %s size: %zu\n", pd.tag, pd.digest, pd.size);
	return 0;
}

static const char *md_login_registry(struct md_args *a)
{
	if (!a->pos.n)
		return MD_DEFAULT_DOMAIN;
	const char *r = a->pos.v[0];
	if (md_startswith(r, "https://"))
		r += 8;
	else if (md_startswith(r, "http://"))
		r += 7;
	return r;
}

static int md_cmd_login(struct md_args *a)
{
	char reg[256];
	snprintf(reg, sizeof reg, "%.*s", (int)strcspn(md_login_registry(a), "/"), md_login_registry(a));
	const char *user = md_opt(a, "username"), *pass = md_opt(a, "password");
	char pbuf[1024], ubuf[256];
	if (md_flag(a, "password-stdin")) {
		if (pass) {
			md_err("--password and --password-stdin are mutually exclusive");
			return md_fail(125);
		}
		if (!user) {
			md_err("must provide --username with --password-stdin");
			return md_fail(125);
		}
		ssize_t n = md_read_full(0, pbuf, sizeof pbuf - 1);
		if (n < 0)
			return md_fail(1);
		pbuf[n] = 0;
		pbuf[strcspn(pbuf, "\r\n")] = 0;
		pass = pbuf;
	}
	if (!user) {
		if (!isatty(0)) {
			md_err("cannot ask for a username: stdin is not a terminal (use -u)");
			return md_fail(1);
		}
		fprintf(stderr, "Username: ");
		if (!fgets(ubuf, sizeof ubuf, stdin))
			return md_fail(1);
		ubuf[strcspn(ubuf, "\r\n")] = 0;
		user = ubuf;
	}
	if (!pass) {
		if (!isatty(0)) {
			md_err("cannot ask for a password: stdin is not a terminal (use --password-stdin)");
			return md_fail(1);
		}
		struct termios t, o;
		tcgetattr(0, &o);
		t = o;
		t.c_lflag &= (tcflag_t)~ECHO;
		fprintf(stderr, "Password: ");
		tcsetattr(0, TCSANOW, &t);
		char *g = fgets(pbuf, sizeof pbuf, stdin);
		tcsetattr(0, TCSANOW, &o);
		fputc('\n', stderr);
		if (!g)
			return md_fail(1);
		pbuf[strcspn(pbuf, "\r\n")] = 0;
		pass = pbuf;
	} else if (!md_flag(a, "password-stdin")) {
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
	}
	if (!*user || !*pass) {
		md_err("username and password must not be empty");
		return md_fail(1);
	}
	char *up = md_asprintf("%s:%s", user, pass), *b64 = md_b64(up, strlen(up));
	memset(up, 0, strlen(up));
	free(up);
	int r = md_login_check(reg, b64) < 0 || md_creds_set(reg, b64) < 0;
	free(b64);
	if (r)
		return md_fail(1);
	puts("Login Succeeded");
	return 0;
}

static int md_cmd_logout(struct md_args *a)
{
	char reg[256];
	snprintf(reg, sizeof reg, "%.*s", (int)strcspn(md_login_registry(a), "/"), md_login_registry(a));
	char *have = md_creds_get(reg);
	if (!have) {
		printf("Not logged in to %s\n", reg);
		return 0;
	}
	free(have);
	if (md_creds_set(reg, NULL) < 0)
		return md_fail(1);
	printf("Removing login credentials for %s\n", reg);
	return 0;
}

#endif

/**** 23 cli: container commands ********************************************/
/* May call: sections 01-22. */

/* ---- run and create: flags -> a Docker create request ---- */

/*
 * The flags of run and create, one row each: the flag as md_args_parse
 * takes it, where its value goes in the create request ("Config.X",
 * "HostConfig.X"), and the function that checks and stores it.  Every row's
 * function runs, in the table's order, given or not: a flag with a default
 * stores it.  A row without a function is read by another row (env-file by
 * env, net by network) or by the command (detach, name, pull, platform), or
 * is accepted with no effect (cgroupns, sig-proxy).
 */
typedef int (*md_runset_fn)(struct md_json *req, const char *to, const struct md_args *a, const char *flag);

/* Store v at path `to` of req ("HostConfig.Memory"), making the objects
 * on the way; returns v. */
static struct md_json *md_run_put(struct md_json *req, const char *to, struct md_json *v)
{
	struct md_json *o = req;
	const char *dot;
	while ((dot = strchr(to, '.'))) {
		char part[32];
		snprintf(part, sizeof part, "%.*s", (int)(dot - to), to);
		struct md_json *n = md_json_get(o, part);
		o = md_json_is(n, MD_J_OBJ) ? n : md_json_set(o, part, md_json_new(MD_J_OBJ));
		to = dot + 1;
	}
	return md_json_set(o, to, v);
}

static int md_runflag_str(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	if (v)
		md_run_put(req, to, md_json_newstr(v));
	return 0;
}

static int md_runflag_bool(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	md_run_put(req, to, md_json_newbool(md_flag(a, flag)));
	return 0;
}

static int md_runflag_strs(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const struct md_strv *l = md_optv(a, flag);
	if (l->n)
		md_run_put(req, to, md_jarr_strs(l));
	return 0;
}

static int md_runflag_int(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	long long n;
	char what[32];
	snprintf(what, sizeof what, "--%s", flag);
	if (!v)
		return 0;
	if (md_parse_int(v, &n, what) < 0)
		return -1;
	md_run_put(req, to, md_json_newint(n));
	return 0;
}

static int md_runflag_size(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	if (!v)
		return 0;
	/* --memory-swap -1: unlimited swap */
	int unlimited = strcmp(flag, "memory-swap") == 0 && strcmp(v, "-1") == 0;
	int64_t b = unlimited ? -1 : md_parse_size(v);
	if (b < 0 && !unlimited)
		return md_errk(MD_EK_INVALID, "invalid size: '%s'", v);
	md_run_put(req, to, md_json_newint(b));
	return 0;
}

static int md_runflag_workdir(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	if (v && *v != '/')
		return md_errk(MD_EK_INVALID, "the working directory '%s' is invalid, it needs to be an absolute path", v);
	return md_runflag_str(req, to, a, flag);
}

static int md_runflag_signal(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	if (v && md_parse_signal(v) < 0)
		return md_errk(MD_EK_INVALID, "invalid signal: %s", v);
	return md_runflag_str(req, to, a, flag);
}

static int md_runflag_entrypoint(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	if (!v)
		return 0;
	struct md_json *ep = md_run_put(req, to, md_json_new(MD_J_ARR));
	if (*v)
		md_json_push(ep, md_json_newstr(v));
	return 0;
}

/* --env-file files first, then -e/--env (flag; it wins, as with Docker),
 * into env; -e NAME takes NAME's value here, or nothing when it is unset
 * (run and exec). */
static int md_opt_env(const struct md_args *a, const char *flag, struct md_json *env)
{
	const struct md_strv *ef = md_optv(a, "env-file"), *es = md_optv(a, flag);
	for (size_t i = 0; i < ef->n; i++)
		if (md_env_file(ef->v[i], env) < 0)
			return -1;
	for (size_t i = 0; i < es->n; i++) {
		const char *v;
		if (!es->v[i][0] || es->v[i][0] == '=')
			return md_errk(MD_EK_INVALID, "invalid environment variable: %s", es->v[i]);
		if (strchr(es->v[i], '=')) {
			md_json_push(env, md_json_newstr(es->v[i]));
		} else if ((v = getenv(es->v[i]))) {
			char *kv = md_asprintf("%s=%s", es->v[i], v);
			md_json_push(env, md_json_newstr(kv));
			free(kv);
		}
	}
	return 0;
}

static int md_runflag_env(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	return md_opt_env(a, flag, md_run_put(req, to, md_json_new(MD_J_ARR)));
}

/* -i: OpenStdin, and StdinOnce unless detached. */
static int md_runflag_stdin(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	int in = md_flag(a, flag);
	md_run_put(req, to, md_json_newbool(in));
	md_run_put(req, "Config.StdinOnce", md_json_newbool(in && !md_flag(a, "detach")));
	return 0;
}

/* -a: which streams are attached (default: all but stdin unless -i; none with -d). */
static int md_runflag_attach(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	int det = md_flag(a, "detach");
	int ain = !det && md_flag(a, "interactive"), aout = !det, aerr = !det;
	const struct md_strv *att = md_optv(a, flag);
	if (att->n)
		ain = aout = aerr = 0;
	for (size_t i = 0; i < att->n; i++) {
		if (!strcasecmp(att->v[i], "stdin"))
			ain = 1;
		else if (!strcasecmp(att->v[i], "stdout"))
			aout = 1;
		else if (!strcasecmp(att->v[i], "stderr"))
			aerr = 1;
		else
			return md_errk(MD_EK_INVALID,
			               "invalid argument \"%s\" for \"-a, --attach\": valid streams are STDIN, STDOUT and STDERR",
			               att->v[i]);
	}
	md_run_put(req, to, md_json_newbool(ain));
	md_run_put(req, "Config.AttachStdout", md_json_newbool(aout));
	md_run_put(req, "Config.AttachStderr", md_json_newbool(aerr));
	return 0;
}

/* -l KEY=VALUE (or KEY: an empty value) */
static int md_runflag_labels(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	md_run_put(req, to, md_opt_labels(a, flag));
	return 0;
}

/* --expose PORT[/PROTO] */
static int md_runflag_expose(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const struct md_strv *ex = md_optv(a, flag);
	if (!ex->n)
		return 0;
	struct md_json *ep = md_run_put(req, to, md_json_new(MD_J_OBJ));
	for (size_t i = 0; i < ex->n; i++) {
		char *p = strchr(ex->v[i], '/') ? md_strdup(ex->v[i]) : md_asprintf("%s/tcp", ex->v[i]);
		md_json_set(ep, p, md_json_new(MD_J_OBJ));
		free(p);
	}
	return 0;
}

/* --add-host HOST:IP */
static int md_runflag_hosts(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const struct md_strv *ah = md_optv(a, flag);
	for (size_t i = 0; i < ah->n; i++)
		if (!strchr(ah->v[i], ':'))
			return md_errk(MD_EK_INVALID, "bad format for add-host: \"%s\" (use host:ip)", ah->v[i]);
	return md_runflag_strs(req, to, a, flag);
}

/* --tmpfs DEST[:OPTIONS] */
static int md_runflag_tmpfs(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const struct md_strv *tf = md_optv(a, flag);
	if (!tf->n)
		return 0;
	struct md_json *t = md_run_put(req, to, md_json_new(MD_J_OBJ));
	for (size_t i = 0; i < tf->n; i++) {
		char *d = md_strdup(tf->v[i]), *c = strchr(d, ':');
		if (c)
			*c = 0;
		md_json_sets(t, d, c ? c + 1 : "");
		free(d);
	}
	return 0;
}

/* --restart no|always|unless-stopped|on-failure[:N] (checked at create) */
static int md_runflag_restart(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	struct md_json *rp = md_run_put(req, to, md_json_new(MD_J_OBJ));
	long long n = 0;
	char *nm = md_strdup(v ? v : "no"), *c = strchr(nm, ':');
	if (c) {
		*c = 0;
		if (md_parse_int(c + 1, &n, "--restart") < 0 || n < 0) {
			free(nm);
			return md_errk(MD_EK_INVALID, "invalid restart policy \"%s\": the count must be a positive number", v);
		}
	}
	md_json_sets(rp, "Name", *nm ? nm : "no");
	md_json_seti(rp, "MaximumRetryCount", n);
	free(nm);
	return 0;
}

/* --device HOST[:CONTAINER][:PERMISSIONS] */
static int md_runflag_devices(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const struct md_strv *dv = md_optv(a, flag);
	if (!dv->n)
		return 0;
	struct md_json *ds = md_run_put(req, to, md_json_new(MD_J_ARR));
	for (size_t i = 0; i < dv->n; i++) {
		char *s = md_strdup(dv->v[i]);
		char *f[3] = {s, NULL, NULL};
		char *c1 = strchr(s, ':');
		if (c1) {
			*c1 = 0;
			f[1] = c1 + 1;
			char *c2 = strchr(f[1], ':');
			if (c2) {
				*c2 = 0;
				f[2] = c2 + 1;
			}
		}
		/* "/dev/x:rwm": a second field of only r, w, m is the permissions */
		if (f[1] && !f[2] && strspn(f[1], "rwm") == strlen(f[1]) && f[1][0] != '/') {
			f[2] = f[1];
			f[1] = NULL;
		}
		struct md_json *d = md_json_push(ds, md_json_new(MD_J_OBJ));
		md_json_sets(d, "PathOnHost", f[0]);
		md_json_sets(d, "PathInContainer", f[1] ? f[1] : f[0]);
		md_json_sets(d, "CgroupPermissions", f[2] ? f[2] : "rwm");
		free(s);
	}
	return 0;
}

/* --ulimit NAME=SOFT[:HARD] */
static int md_runflag_ulimits(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const struct md_strv *ul = md_optv(a, flag);
	if (!ul->n)
		return 0;
	struct md_json *us = md_run_put(req, to, md_json_new(MD_J_ARR));
	for (size_t i = 0; i < ul->n; i++) {
		char *s = md_strdup(ul->v[i]), *eq = strchr(s, '='), *c = eq ? strchr(eq + 1, ':') : NULL;
		long long soft, hard;
		int r = 0;
		if (!eq)
			r = md_errk(MD_EK_INVALID, "invalid ulimit argument: %s (use name=soft[:hard])", ul->v[i]);
		if (!r) {
			*eq = 0;
			if (c)
				*c = 0;
			if (md_parse_int(eq + 1, &soft, "--ulimit") < 0 || (c && md_parse_int(c + 1, &hard, "--ulimit") < 0))
				r = -1;
		}
		if (!r && !c)
			hard = soft;
		if (!r && soft > hard && hard >= 0)
			r = md_errk(MD_EK_INVALID, "ulimit soft limit must be less than or equal to hard limit: %lld > %lld", soft, hard);
		if (!r) {
			struct md_json *u = md_json_push(us, md_json_new(MD_J_OBJ));
			md_json_sets(u, "Name", s);
			md_json_seti(u, "Hard", hard);
			md_json_seti(u, "Soft", soft);
		}
		free(s);
		if (r)
			return -1;
	}
	return 0;
}

/* --cpus 1.5: NanoCpus */
static int md_runflag_cpus(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	if (!v)
		return 0;
	char *e;
	double c = md_strtod(v, &e);
	if (e == v || *e || !(c >= 0) || c > 1e6)
		return md_errk(MD_EK_INVALID, "invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number", v, v);
	md_run_put(req, to, md_json_newint((long long)(c * 1e9 + 0.5)));
	return 0;
}

/* --network / --net NAME (default: "default") */
static int md_runflag_network(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	if (!v)
		v = md_opt(a, "net");
	md_run_put(req, to, md_json_newstr(v ? v : "default"));
	return 0;
}

/* --ip and --network-alias: the endpoint config of the container's network */
static int md_runflag_endpoint(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *ip = md_opt(a, flag), *nm = md_opt(a, "network");
	const struct md_strv *al = md_optv(a, "network-alias");
	if (!nm)
		nm = md_opt(a, "net");
	if (!ip && !al->n)
		return 0;
	struct in_addr ia;
	if (ip && inet_pton(AF_INET, ip, &ia) != 1)
		return md_errk(MD_EK_INVALID, "invalid IPv4 address: %s", ip);
	struct md_json *eps = md_run_put(req, to, md_json_new(MD_J_OBJ));
	struct md_json *ep = md_json_set(eps, !nm || !strcmp(nm, "default") ? "bridge" : nm, md_json_new(MD_J_OBJ));
	if (ip)
		md_json_sets(md_json_set(ep, "IPAMConfig", md_json_new(MD_J_OBJ)), "IPv4Address", ip);
	if (al->n)
		md_json_set(ep, "Aliases", md_jarr_strs(al));
	return 0;
}

/* --log-driver: minidock's own log (json-file and local are taken as it) */
static int md_runflag_logdriver(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const char *v = md_opt(a, flag);
	if (v && strcmp(v, "json-file") && strcmp(v, "local") && strcmp(v, "minidock"))
		return md_errk(MD_EK_INVALID, "unsupported log driver \"%s\" (minidock writes its own size-capped log)", v);
	md_run_put(req, to, md_json_newstr("minidock"));
	return 0;
}

/* --log-opt max-size=SIZE|max-file=N */
static int md_runflag_logopts(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	struct md_json *lcc = md_run_put(req, to, md_json_new(MD_J_OBJ));
	const struct md_strv *lo = md_optv(a, flag);
	for (size_t i = 0; i < lo->n; i++) {
		char *kv = md_strdup(lo->v[i]), *eq = strchr(kv, '=');
		int r = 0;
		if (!eq || (strncmp(kv, "max-size=", 9) && strncmp(kv, "max-file=", 9)))
			r = md_errk(MD_EK_INVALID, "unknown log opt '%s' (supported: max-size, max-file)", lo->v[i]);
		else if ((*eq = 0, !strcmp(kv, "max-size") && md_parse_size(eq + 1) <= 0) ||
		         (!strcmp(kv, "max-file") && (atoi(eq + 1) < 1 || strspn(eq + 1, "0123456789") != strlen(eq + 1))))
			r = md_errk(MD_EK_INVALID, "invalid value for log opt %s: %s", kv, eq + 1);
		else
			md_json_sets(lcc, kv, eq + 1);
		free(kv);
		if (r)
			return -1;
	}
	return 0;
}

/* -p [IP:][HOST:]CONTAINER[/PROTO] */
static int md_runflag_publish(struct md_json *req, const char *to, const struct md_args *a, const char *flag)
{
	const struct md_strv *pubs = md_optv(a, flag);
	if (!pubs->n)
		return 0;
#if MD_FEATURE_NET
	struct md_json *pbs = md_run_put(req, to, md_json_new(MD_J_OBJ));
	for (size_t i = 0; i < pubs->n; i++)
		if (md_port_spec(pbs, pubs->v[i]) < 0)
			return -1;
	return 0;
#else
	(void)req, (void)to;
	return md_errk(MD_EK_NOTSUP, "published ports need bridge networking, which this build lacks (feature net is off)");
#endif
}

#define MD_RUN_FLAGS(X) \
	X("add-host", 0, "list", "Add a custom host-to-IP mapping (host:ip)", "HostConfig.ExtraHosts", md_runflag_hosts) \
	X("attach", 'a', "list", "Attach to STDIN, STDOUT or STDERR", "Config.AttachStdin", md_runflag_attach) \
	X("cap-add", 0, "list", "Add Linux capabilities", "HostConfig.CapAdd", md_runflag_strs) \
	X("cap-drop", 0, "list", "Drop Linux capabilities", "HostConfig.CapDrop", md_runflag_strs) \
	X("cgroupns", 0, "string", "Cgroup namespace to use (private)", NULL, NULL) \
	X("cpu-period", 0, "int", "Limit CPU CFS period", "HostConfig.CpuPeriod", md_runflag_int) \
	X("cpu-quota", 0, "int", "Limit CPU CFS quota", "HostConfig.CpuQuota", md_runflag_int) \
	X("cpu-shares", 'c', "int", "CPU shares (relative weight)", "HostConfig.CpuShares", md_runflag_int) \
	X("cpus", 0, "decimal", "Number of CPUs", "HostConfig.NanoCpus", md_runflag_cpus) \
	X("cpuset-cpus", 0, "string", "CPUs in which to allow execution (0-3, 0,1)", "HostConfig.CpusetCpus", md_runflag_str) \
	X("cpuset-mems", 0, "string", "MEMs in which to allow execution (0-3, 0,1)", "HostConfig.CpusetMems", md_runflag_str) \
	X("detach", 'd', NULL, "Run container in background and print container ID", NULL, NULL) \
	X("device", 0, "list", "Add a host device to the container", "HostConfig.Devices", md_runflag_devices) \
	X("dns", 0, "list", "Set custom DNS servers", "HostConfig.Dns", md_runflag_strs) \
	X("dns-option", 0, "list", "Set DNS options", "HostConfig.DnsOptions", md_runflag_strs) \
	X("dns-search", 0, "list", "Set custom DNS search domains", "HostConfig.DnsSearch", md_runflag_strs) \
	X("entrypoint", 0, "string", "Overwrite the default ENTRYPOINT of the image", "Config.Entrypoint", md_runflag_entrypoint) \
	X("env", 'e', "list", "Set environment variables", "Config.Env", md_runflag_env) \
	X("env-file", 0, "list", "Read in a file of environment variables", NULL, NULL) \
	X("expose", 0, "list", "Expose a port or a range of ports", "Config.ExposedPorts", md_runflag_expose) \
	X("group-add", 0, "list", "Add additional groups to join", "HostConfig.GroupAdd", md_runflag_strs) \
	X("hostname", 'h', "string", "Container host name", "Config.Hostname", md_runflag_str) \
	X("init", 0, NULL, "Run an init inside the container that forwards signals and reaps processes", "HostConfig.Init", md_runflag_bool) \
	X("interactive", 'i', NULL, "Keep STDIN open even if not attached", "Config.OpenStdin", md_runflag_stdin) \
	X("ip", 0, "string", "IPv4 address (e.g., 10.88.0.9)", "NetworkingConfig.EndpointsConfig", md_runflag_endpoint) \
	X("label", 'l', "list", "Set meta data on a container", "Config.Labels", md_runflag_labels) \
	X("log-driver", 0, "string", "Logging driver for the container (only the built-in one)", "HostConfig.LogConfig.Type", md_runflag_logdriver) \
	X("log-opt", 0, "list", "Log driver options: max-size, max-file", "HostConfig.LogConfig.Config", md_runflag_logopts) \
	X("mac-address", 0, "string", "Container MAC address", "Config.MacAddress", md_runflag_str) \
	X("memory", 'm', "bytes", "Memory limit", "HostConfig.Memory", md_runflag_size) \
	X("memory-swap", 0, "bytes", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", "HostConfig.MemorySwap", md_runflag_size) \
	X("mount", 0, "mount", "Attach a filesystem mount to the container", "HostConfig.Mounts", md_runflag_strs) \
	X("name", 0, "string", "Assign a name to the container", NULL, NULL) \
	X("net", 0, "network", "Connect a container to a network", NULL, NULL) \
	X("network", 0, "network", "Connect a container to a network (bridge, host, none, container:NAME)", "HostConfig.NetworkMode", md_runflag_network) \
	X("network-alias", 0, "list", "Add network-scoped alias for the container", NULL, NULL) \
	X("pids-limit", 0, "int", "Tune container pids limit (set -1 for unlimited)", "HostConfig.PidsLimit", md_runflag_int) \
	X("platform", 0, "string", "Set platform if server is multi-platform capable", NULL, NULL) \
	X("privileged", 0, NULL, "Give extended privileges to this container", "HostConfig.Privileged", md_runflag_bool) \
	X("publish", 'p', "list", "Publish a container's port(s) to the host", "HostConfig.PortBindings", md_runflag_publish) \
	X("publish-all", 'P', NULL, "Publish all exposed ports to random ports", "HostConfig.PublishAllPorts", md_runflag_bool) \
	X("pull", 0, "string", "Pull image before running (always, missing, never)", NULL, NULL) \
	X("read-only", 0, NULL, "Mount the container's root filesystem as read only", "HostConfig.ReadonlyRootfs", md_runflag_bool) \
	X("restart", 0, "string", "Restart policy to apply when a container exits", "HostConfig.RestartPolicy", md_runflag_restart) \
	X("rm", 0, NULL, "Automatically remove the container when it exits", "HostConfig.AutoRemove", md_runflag_bool) \
	X("security-opt", 0, "list", "Security Options", "HostConfig.SecurityOpt", md_runflag_strs) \
	X("shm-size", 0, "bytes", "Size of /dev/shm", "HostConfig.ShmSize", md_runflag_size) \
	X("sig-proxy", 0, NULL, "Proxy received signals to the process (default true)", NULL, NULL) \
	X("stop-signal", 0, "string", "Signal to stop the container", "Config.StopSignal", md_runflag_signal) \
	X("stop-timeout", 0, "int", "Timeout (in seconds) to stop a container", "Config.StopTimeout", md_runflag_int) \
	X("tmpfs", 0, "list", "Mount a tmpfs directory", "HostConfig.Tmpfs", md_runflag_tmpfs) \
	X("tty", 't', NULL, "Allocate a pseudo-TTY", "Config.Tty", md_runflag_bool) \
	X("ulimit", 0, "ulimit", "Ulimit options", "HostConfig.Ulimits", md_runflag_ulimits) \
	X("user", 'u', "string", "Username or UID (format: <name|uid>[:<group|gid>])", "Config.User", md_runflag_str) \
	X("userns", 0, "string", "User namespace to use", "HostConfig.UsernsMode", md_runflag_str) \
	X("volume", 'v', "list", "Bind mount a volume", "HostConfig.Binds", md_runflag_strs) \
	X("workdir", 'w', "string", "Working directory inside the container", "Config.WorkingDir", md_runflag_workdir)

#define MD_RUN_OPT(lng, shrt, arg, help, to, fn) {lng, shrt, arg, help},

static const struct md_optdef md_opts_run[] = {MD_RUN_FLAGS(MD_RUN_OPT){NULL, 0, NULL, NULL}};

#undef MD_RUN_OPT
#define MD_RUN_SET(lng, shrt, arg, help, to, fn) {to, fn},

static const struct { const char *to; md_runset_fn set; } md_run_sets[] = {MD_RUN_FLAGS(MD_RUN_SET)};

#undef MD_RUN_SET

/* Turn run/create flags and IMAGE [COMMAND...] into {Config, HostConfig}. */
static struct md_json *md_run_request(struct md_args *a)
{
	struct md_json *req = md_json_new(MD_J_OBJ);
	struct md_json *cc = md_json_set(req, "Config", md_json_new(MD_J_OBJ));
	md_json_set(req, "HostConfig", md_json_new(MD_J_OBJ));
	md_json_sets(cc, "Image", a->pos.v[0]);
	if (a->pos.n > 1) {
		struct md_json *cmd = md_json_set(cc, "Cmd", md_json_new(MD_J_ARR));
		for (size_t i = 1; i < a->pos.n; i++)
			md_json_push(cmd, md_json_newstr(a->pos.v[i]));
	}
	for (size_t i = 0; i < MD_ARRAY_LEN(md_run_sets); i++)
		if (md_run_sets[i].set && md_run_sets[i].set(req, md_run_sets[i].to, a, md_opts_run[i].lng) < 0) {
			md_json_free(req);
			return NULL;
		}
	return req;
}

/* run/create: make sure the image is here, as --pull says. */
static int md_run_pull(struct md_args *a, const char *image)
{
	const char *policy = md_opt(a, "pull");
	if (!policy)
		policy = "missing";
	if (strcmp(policy, "missing") && strcmp(policy, "always") && strcmp(policy, "never"))
		return md_errk(MD_EK_INVALID, "invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", policy);
	if (md_opt(a, "platform") && md_platform_parse(md_opt(a, "platform"), &md_want) < 0)
		return -1;
	struct md_json *idx = md_index_read();
	char id[MD_DIGEST_LEN + 1];
	int have = idx && md_image_resolve(idx, image, id) == 0;
	md_json_free(idx);
	md_err_clear();
	if (have && strcmp(policy, "always") != 0)
		return 0;
	if (strcmp(policy, "never") == 0)
		return md_errk(MD_EK_NOTFOUND, "No such image: %s", image);
#if MD_FEATURE_PULL
	struct md_ref ref;
	if (md_ref_parse(image, &ref) < 0)
		return -1;
	char fam[800];
	md_ref_familiar(&ref, fam, sizeof fam);
	if (!have)
		fprintf(stderr, "Unable to find image '%s' locally\n", fam);
	return md_pull_cli(image, stderr, 0); /* progress goes to stderr, as Docker's */
#else
	return md_errk(MD_EK_NOTFOUND, "image %s not found (this build cannot pull: feature pull is off; use minidock load)", image);
#endif
}

/* run and create: the request from the flags, the image as --pull says,
 * the container.  The request (for run to read), or NULL. */
static struct md_json *md_run_create(struct md_args *a, char id[65])
{
	struct md_json *req = md_run_request(a);
	if (req && (md_run_pull(a, a->pos.v[0]) < 0 || md_ctr_create(req, md_opt(a, "name"), id) < 0)) {
		md_json_free(req);
		req = NULL;
	}
	return req;
}

static int md_cmd_create(struct md_args *a)
{
	char id[65];
	struct md_json *req = md_run_create(a, id);
	if (!req)
		return md_fail(125);
	md_json_free(req);
	puts(id);
	return 0;
}

static int md_cmd_run(struct md_args *a)
{
	char id[65];
	struct md_json *req = md_run_create(a, id);
	if (!req)
		return md_fail(125);
	struct md_json *cc = md_json_get(req, "Config");
	int tty = md_json_is(md_json_get(cc, "Tty"), MD_J_TRUE);
	int ain = md_json_is(md_json_get(cc, "AttachStdin"), MD_J_TRUE);
	int aout = md_json_is(md_json_get(cc, "AttachStdout"), MD_J_TRUE) || md_json_is(md_json_get(cc, "AttachStderr"), MD_J_TRUE);
	md_json_free(req);
	int code;
	if (md_flag(a, "detach")) {
		if (md_ctr_start(id, "", NULL, &code) < 0)
			return md_fail(code);
		puts(id);
		return 0;
	}
	if (tty && ain && !isatty(0)) {
		md_ctr_rm(id, 1, 1);
		md_err("the input device is not a TTY");
		return md_fail(1);
	}
	char hello[32];
	snprintf(hello, sizeof hello, "%s%s", ain ? "in " : "", aout ? "out err" : "wait");
	int fd = -1;
	if (md_ctr_start(id, hello, &fd, &code) < 0) {
		/* --rm: nothing of a container that never ran stays */
		struct md_error keep = md_error;
		struct md_ctr c;
		if (md_ctr_load(id, &c) == 0) {
			if (md_json_is(md_json_get(md_json_get(c.cfg, "HostConfig"), "AutoRemove"), MD_J_TRUE))
				md_ctr_remove_files(&c, 1);
			md_ctr_free(&c);
		}
		md_error = keep;
		return md_fail(code);
	}
	code = md_attach_relay(fd, tty, ain);
	close(fd);
	if (code < 0) {
		/* the connection broke: read the recorded exit */
		struct md_ctr c;
		code = 125;
		if (md_ctr_load(id, &c) == 0) {
			for (int i = 0; i < 300 && md_ctr_running(&c); i++) {
				usleep(10000);
				md_ctr_free(&c);
				if (md_ctr_load(id, &c) < 0)
					return 125;
			}
			code = (int)md_json_geti(c.st, "ExitCode", 125);
			md_ctr_free(&c);
		}
	}
	return code;
}

/* ---- lifecycle ---- */

static int md_cmd_start(struct md_args *a)
{
	int attach = md_flag(a, "attach"), in = md_flag(a, "interactive");
	if ((attach || in) && a->pos.n > 1) {
		md_err("you cannot start and attach multiple containers at once");
		return md_fail(1);
	}
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		char id[65];
		int code;
		if (md_ctr_find(a->pos.v[i], id) < 0) {
			rc = md_fail(1);
			continue;
		}
		if (!attach && !in) {
			if (md_ctr_start(id, "", NULL, &code) < 0)
				rc = md_fail(1);
			else
				puts(a->pos.v[i]);
			continue;
		}
		struct md_ctr c;
		if (md_ctr_load(id, &c) < 0)
			return md_fail(1);
		int tty = md_json_is(md_json_get(md_json_get(c.cfg, "Config"), "Tty"), MD_J_TRUE);
		md_ctr_free(&c);
		int fd = -1;
		if (md_ctr_start(id, in ? "in out err" : "out err", &fd, &code) < 0)
			return md_fail(code == 125 ? 1 : code);
		code = md_attach_relay(fd, tty, in);
		close(fd);
		return code < 0 ? 1 : code;
	}
	return rc;
}

static int md_cmd_attach(struct md_args *a)
{
	char id[65];
	struct md_ctr c;
	if (md_ctr_find(a->pos.v[0], id) < 0 || md_ctr_load(id, &c) < 0)
		return md_fail(1);
	int tty = md_json_is(md_json_get(md_json_get(c.cfg, "Config"), "Tty"), MD_J_TRUE);
	int in = !md_flag(a, "no-stdin") && md_json_is(md_json_get(md_json_get(c.cfg, "Config"), "OpenStdin"), MD_J_TRUE);
	md_ctr_free(&c);
	int fd = md_ctr_attach(id, in | 2 | 4, 0);
	if (fd < 0)
		return md_fail(1);
	int code = md_attach_relay(fd, tty, in);
	close(fd);
	return code < 0 ? 1 : code;
}

/* stop and restart: -t SECONDS, then op on each container named. */
static int md_cmd_stop_each(struct md_args *a, int (*op)(const char *id, int secs))
{
	int secs = -1, rc = 0;
	const char *t = md_opt(a, "time");
	long long n;
	if (t) {
		if (md_parse_int(t, &n, "--time") < 0)
			return md_fail(125);
		secs = (int)n;
	}
	for (size_t i = 0; i < a->pos.n; i++) {
		char id[65];
		if (md_ctr_find(a->pos.v[i], id) < 0 || op(id, secs) < 0)
			rc = md_fail(1);
		else
			puts(a->pos.v[i]);
	}
	return rc;
}

static int md_cmd_stop(struct md_args *a)
{
	return md_cmd_stop_each(a, md_ctr_stop);
}

static int md_cmd_restart(struct md_args *a)
{
	return md_cmd_stop_each(a, md_ctr_restart);
}

static int md_cmd_kill(struct md_args *a)
{
	const char *s = md_opt(a, "signal");
	int sig = s ? md_parse_signal(s) : SIGKILL, rc = 0;
	if (sig <= 0) {
		md_errk(MD_EK_INVALID, "invalid signal: %s", s);
		return md_fail(1);
	}
	for (size_t i = 0; i < a->pos.n; i++) {
		char id[65];
		if (md_ctr_find(a->pos.v[i], id) < 0)
			rc = md_fail(1);
		else if (md_ctr_kill(id, sig) < 0)
			rc = (md_err_wrap("cannot kill container: %s", a->pos.v[i]), md_fail(1));
		else
			puts(a->pos.v[i]);
	}
	return rc;
}

static int md_cmd_rm(struct md_args *a)
{
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		char id[65];
		if (md_ctr_find(a->pos.v[i], id) < 0 || md_ctr_rm(id, md_flag(a, "force"), md_flag(a, "volumes")) < 0)
			rc = md_fail(1);
		else
			puts(a->pos.v[i]);
	}
	return rc;
}

static int md_cmd_wait(struct md_args *a)
{
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		char id[65];
		long long code;
		if (md_ctr_find(a->pos.v[i], id) < 0 || md_ctr_wait(id, MD_WAIT_NOT_RUNNING, -1, &code) < 0)
			rc = md_fail(1);
		else
			printf("%lld\n", code);
	}
	return rc;
}

static int md_cmd_pause(struct md_args *a, int on)
{
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		char id[65];
		if (md_ctr_find(a->pos.v[i], id) < 0 || md_ctr_pause(id, on) < 0)
			rc = md_fail(1);
		else
			puts(a->pos.v[i]);
	}
	return rc;
}

static int md_cmd_pause1(struct md_args *a)
{
	return md_cmd_pause(a, 1);
}

static int md_cmd_unpause(struct md_args *a)
{
	return md_cmd_pause(a, 0);
}

static int md_cmd_rename(struct md_args *a)
{
	return md_ctr_rename(a->pos.v[0], a->pos.v[1]) < 0 ? md_fail(1) : 0;
}

static int md_cmd_container_prune(struct md_args *a)
{
	if (!md_flag(a, "force") && !md_confirm("WARNING! This will remove all stopped containers."))
		return 0;
	struct md_strv gone = {0};
	uint64_t reclaimed;
	int r = md_ctr_prune(&gone, &reclaimed);
	if (r < 0)
		md_fail(1);
	md_prune_report("Containers", &gone, reclaimed);
	md_strv_free(&gone);
	return r < 0 ? 1 : 0;
}

/* ---- inspect, ps, logs, top, stats ---- */

static int md_cmd_inspect_ctr(struct md_args *a, int images_too)
{
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_fail(1);
	struct md_json *arr = md_json_new(MD_J_ARR);
	int rc = 0;
	const char *type = md_opt(a, "type");
	for (size_t i = 0; i < a->pos.n; i++) {
		char id[65], iid[MD_DIGEST_LEN + 1];
		struct md_ctr c;
		if ((!type || !strcmp(type, "container")) && md_ctr_resolve(idx, a->pos.v[i], id) == 0 && md_ctr_load(id, &c) == 0) {
			md_json_push(arr, md_ctr_inspect_json(&c));
			md_ctr_free(&c);
			continue;
		}
		struct md_json *o;
		if (images_too && (!type || !strcmp(type, "image")) && md_image_resolve(idx, a->pos.v[i], iid) == 0 &&
		    (o = md_image_inspect_json(idx, iid))) {
			md_json_push(arr, o);
			continue;
		}
		md_err("No such object: %s", a->pos.v[i]);
		rc = md_fail(1);
	}
	if (arr->n && md_inspect_print(arr, md_opt(a, "format")) < 0)
		rc = md_fail(1);
	else if (!arr->n && !md_opt(a, "format"))
		puts("[]");
	md_json_free(arr);
	md_json_free(idx);
	return rc;
}

static int md_cmd_container_inspect(struct md_args *a)
{
	return md_cmd_inspect_ctr(a, 0);
}

static int md_cmd_inspect(struct md_args *a)
{
	const char *type = md_opt(a, "type");
	if (type && strcmp(type, "image") != 0 && strcmp(type, "container") != 0 && strcmp(type, "volume") != 0) {
		md_err("unsupported --type \"%s\" (supported: container, image, volume)", type);
		return md_fail(125);
	}
	return md_cmd_inspect_ctr(a, 1);
}

/* ps: the cells of one container's row (SIZE only with -s). */
struct md_ps_row {
	char id[65], cmd[4200], created[64], status[128], size[96];
	const char *state, *image;
	int up;
};

static void md_ps_row(struct md_ctr *c, int notrunc, int size, struct md_ps_row *r)
{
	r->state = md_ctr_state(c);
	r->up = md_state_up(r->state);
	snprintf(r->id, sizeof r->id, notrunc ? "%s" : "%.12s", c->id);
	struct md_sb cb = {0};
	md_ctr_cmdline(c, &cb);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "%s", md_sb_str(&cb));
	md_sb_free(&cb);
	if (!notrunc)
		md_ellipsis(cmd, 20);
	snprintf(r->cmd, sizeof r->cmd, "\"%s\"", cmd);
	time_t t = 0;
	md_time_parse(md_json_gets(c->cfg, "Created"), &t);
	md_time_ago(r->created, sizeof r->created, t);
	md_ctr_status_text(c, r->state, r->status, sizeof r->status);
	r->image = md_json_gets(md_json_get(c->cfg, "Config"), "Image");
	if (!r->image)
		r->image = "";
	r->size[0] = 0;
	if (size) {
		char *up = md_ctr_path(c->id, "upper");
		uint64_t u = md_du_path(up);
		free(up);
		char s1[32], s2[32];
		md_human_size(s1, sizeof s1, (double)u);
		struct md_json *ix = md_index_read();
		md_human_size(s2, sizeof s2, (double)(u + (ix ? md_image_size(ix, md_json_gets(c->cfg, "Image") ? md_json_gets(c->cfg, "Image") : "") : 0)));
		md_json_free(ix);
		snprintf(r->size, sizeof r->size, "%s (virtual %s)", s1, s2);
	}
}

/* ps --format: the fields Docker's templates know. */
static struct md_json *md_ps_format_obj(struct md_ctr *c, const struct md_ps_row *r, const char *ports)
{
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "ID", r->id);
	md_json_sets(o, "Image", r->image);
	md_json_sets(o, "Command", r->cmd);
	md_json_sets(o, "CreatedAt", md_json_gets(c->cfg, "Created") ? md_json_gets(c->cfg, "Created") : "");
	md_json_sets(o, "RunningFor", r->created);
	md_json_sets(o, "Ports", ports);
	md_json_sets(o, "State", r->state);
	md_json_sets(o, "Status", r->status);
	md_json_sets(o, "Size", r->size);
	md_json_sets(o, "Names", c->name);
	struct md_json *l = md_json_get(md_json_get(c->cfg, "Config"), "Labels");
	struct md_sb lb = {0};
	for (struct md_json *x = md_json_is(l, MD_J_OBJ) ? l->child : NULL; x; x = x->next)
		md_sb_printf(&lb, "%s%s=%s", lb.len ? "," : "", x->key, md_json_str(x) ? x->s : "");
	md_json_sets(o, "Labels", md_sb_str(&lb));
	md_sb_free(&lb);
	md_json_sets(o, "Mounts", "");
	md_json_sets(o, "Networks", "");
	return o;
}

static int md_cmd_ps(struct md_args *a)
{
	int quiet = md_flag(a, "quiet"), notrunc = md_flag(a, "no-trunc"), size = md_flag(a, "size");
	const char *fmt = md_opt(a, "format");
	struct md_ctr_query q = {md_optv(a, "filter"), md_flag(a, "all"), -1};
	if (md_opt(a, "last") && md_parse_int(md_opt(a, "last"), &q.last, "--last") < 0)
		return md_fail(125);
	if (md_flag(a, "latest"))
		q.last = 1;
	for (size_t i = 0; i < q.filters->n; i++)
		if (!strchr(q.filters->v[i], '=')) { /* the flag's format, Docker's CLI checks it: 125 */
			md_errk(MD_EK_INVALID, "invalid argument \"%s\" for \"-f, --filter\" flag: bad format of filter (expected name=value)",
			        q.filters->v[i]);
			return md_fail(125);
		}
	struct md_ctr *cs;
	size_t nc;
	if (md_ctr_list(&q, &cs, &nc) < 0)
		return md_fail(1); /* a bad filter too: Docker's daemon refuses it, its CLI exits 1 */
	struct md_table tab = {size ? 8 : 7, {0}};
	if (!quiet && !fmt)
		md_table_add(&tab, (const char *[]){"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES", "SIZE"});
	int rc = 0;
	for (size_t i = 0; i < nc && !rc; i++) {
		struct md_ps_row r;
		md_ps_row(&cs[i], notrunc, size, &r);
		struct md_sb pt = {0};
		if (r.up)
			md_ports_text(md_json_get(cs[i].cfg, "Ports"), &pt);
		if (quiet) {
			puts(r.id);
		} else if (fmt) {
			struct md_json *o = md_ps_format_obj(&cs[i], &r, md_sb_str(&pt));
			if (md_format_print(fmt, o) < 0)
				rc = md_fail(125);
			md_json_free(o);
		} else {
			const char *row[] = {r.id, r.image, r.cmd, r.created, r.status, md_sb_str(&pt), cs[i].name, r.size};
			md_table_add(&tab, row);
		}
		md_sb_free(&pt);
	}
	if (!quiet && !fmt)
		md_table_print(&tab, stdout);
	md_strv_free(&tab.cells);
	md_ctr_list_free(cs, nc);
	return rc;
}

static int md_cmd_logs(struct md_args *a)
{
	char id[65];
	struct md_logopt o = {md_flag(a, "timestamps"), md_flag(a, "follow"), 3, 0, 0, -1};
	if (md_logopt_parse(&o, md_opt(a, "since"), md_opt(a, "until"), md_opt(a, "tail"), "--tail") < 0)
		return md_fail(125);
	if (md_ctr_find(a->pos.v[0], id) < 0)
		return md_fail(1);
	return md_ctr_logs(id, &o) < 0 ? md_fail(1) : 0;
}

static void md_top_table_row(struct md_table *tab, const struct md_json *row)
{
	const char *cells[8];
	for (size_t k = 0; k < 8; k++)
		cells[k] = md_json_str(md_json_at(row, k));
	md_table_add(tab, cells);
}

static int md_cmd_top(struct md_args *a)
{
	char id[65];
	if (md_ctr_find(a->pos.v[0], id) < 0)
		return md_fail(1);
	if (a->pos.n > 1) {
		md_errk(MD_EK_NOTSUP, "ps options are not supported: minidock top prints UID PID PPID C STIME TTY TIME CMD");
		return md_fail(1);
	}
	struct md_json *o = md_ctr_top(id);
	if (!o)
		return md_fail(1);
	struct md_table tab = {8, {0}};
	md_top_table_row(&tab, md_json_get(o, "Titles"));
	for (struct md_json *r = md_json_get(o, "Processes")->child; r; r = r->next)
		md_top_table_row(&tab, r);
	md_table_print(&tab, stdout);
	md_strv_free(&tab.cells);
	md_json_free(o);
	return 0;
}

static void md_netdev(pid_t pid, uint64_t *rx, uint64_t *tx)
{
	*rx = *tx = 0;
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/net/dev", (int)pid);
	FILE *f = fopen(p, "re");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		char *c = strchr(line, ':');
		if (!c)
			continue;
		*c = 0;
		char *name = line;
		while (*name == ' ')
			name++;
		if (strcmp(name, "lo") == 0)
			continue;
		unsigned long long v[16] = {0};
		const char *q = c + 1;
		for (int k = 0; q && k < 9; k++)
			q = md_scan_u64(q, &v[k], 10);
		if (q) {
			*rx += v[0];
			*tx += v[8];
		}
	}
	if (f)
		fclose(f);
}

static uint64_t md_mem_total(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb = 0;
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (md_scan_u64(md_scan_lit(line, "MemTotal:"), &kb, 10))
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

static int md_cmd_stats(struct md_args *a)
{
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_fail(1);
	struct md_strv ids = {0};
	if (a->pos.n) {
		for (size_t i = 0; i < a->pos.n; i++) {
			char id[65];
			if (md_ctr_resolve(idx, a->pos.v[i], id) < 0) {
				md_json_free(idx);
				md_strv_free(&ids);
				return md_fail(1);
			}
			md_strv_push(&ids, id);
		}
	} else {
		for (struct md_json *e = md_json_get(idx, "containers")->child; e; e = e->next)
			md_strv_push(&ids, e->key);
	}
	md_json_free(idx);
	int stream = !md_flag(a, "no-stream");
	const char *fmt = md_opt(a, "format");
	int all = md_flag(a, "all") || a->pos.n;
	for (int round = 0;; round++) {
		struct md_cg_stats s0[64], s1[64];
		struct timespec t0, t1;
		size_t n = ids.n < 64 ? ids.n : 64;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (size_t i = 0; i < n; i++) {
			memset(&s0[i], 0, sizeof s0[i]);
			md_cg_stats(md_cgroup_parent(), ids.v[i], &s0[i]);
		}
		usleep(500000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double wall = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
		struct md_table tab = {8, {0}};
		if (!fmt)
			md_table_add(&tab, (const char *[]){"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
			                                     "NET I/O", "BLOCK I/O", "PIDS"});
		if (stream && round)
			fputs("\033[2J\033[H", stdout);
		for (size_t i = 0; i < n; i++) {
			struct md_ctr c;
			if (md_ctr_load(ids.v[i], &c) < 0)
				continue;
			const char *state = md_ctr_state(&c);
			int up = md_streq(state, "running") || md_streq(state, "paused");
			if (!up && !all) {
				md_ctr_free(&c);
				continue;
			}
			memset(&s1[i], 0, sizeof s1[i]);
			if (up)
				md_cg_stats(md_cgroup_parent(), ids.v[i], &s1[i]);
			double cpu = up && wall > 0 ? (double)(s1[i].cpu_usage_ns - s0[i].cpu_usage_ns) / wall * 100.0 : 0;
			if (cpu < 0)
				cpu = 0;
			uint64_t lim = s1[i].mem_limit && s1[i].mem_limit < md_mem_total() ? s1[i].mem_limit : md_mem_total();
			uint64_t used = s1[i].mem_usage > s1[i].mem_cache ? s1[i].mem_usage - s1[i].mem_cache : s1[i].mem_usage;
			uint64_t rx = 0, tx = 0;
			if (up)
				md_netdev((pid_t)md_json_geti(c.st, "Pid", 0), &rx, &tx);
			char sid[13], cpus[16], mem[80], m1[32], m2[32], memp[16], net[80], n1[32], n2[32], blk[80], b1[32], b2[32], pids[24];
			snprintf(sid, sizeof sid, "%.12s", c.id);
			snprintf(cpus, sizeof cpus, "%.2f%%", cpu);
			md_human_bin(m1, sizeof m1, (double)used);
			md_human_bin(m2, sizeof m2, (double)lim);
			snprintf(mem, sizeof mem, "%s / %s", m1, m2);
			snprintf(memp, sizeof memp, "%.2f%%", lim ? (double)used * 100.0 / (double)lim : 0);
			md_human_size(n1, sizeof n1, (double)rx);
			md_human_size(n2, sizeof n2, (double)tx);
			snprintf(net, sizeof net, "%s / %s", n1, n2);
			md_human_size(b1, sizeof b1, (double)s1[i].blk_read);
			md_human_size(b2, sizeof b2, (double)s1[i].blk_write);
			snprintf(blk, sizeof blk, "%s / %s", b1, b2);
			snprintf(pids, sizeof pids, "%llu", (unsigned long long)s1[i].pids_current);
			if (fmt) {
				struct md_json *o = md_json_new(MD_J_OBJ);
				md_json_sets(o, "Container", sid);
				md_json_sets(o, "ID", sid);
				md_json_sets(o, "Name", c.name);
				md_json_sets(o, "CPUPerc", cpus);
				md_json_sets(o, "MemUsage", mem);
				md_json_sets(o, "MemPerc", memp);
				md_json_sets(o, "NetIO", net);
				md_json_sets(o, "BlockIO", blk);
				md_json_sets(o, "PIDs", pids);
				int fr = md_format_print(fmt, o);
				md_json_free(o);
				if (fr < 0) {
					md_ctr_free(&c);
					md_strv_free(&ids);
					md_strv_free(&tab.cells);
					return md_fail(125);
				}
			} else {
				md_table_add(&tab, (const char *[]){sid, c.name, cpus, mem, memp, net, blk, pids});
			}
			md_ctr_free(&c);
		}
		if (!fmt)
			md_table_print(&tab, stdout);
		md_strv_free(&tab.cells);
		fflush(stdout);
		if (!stream)
			break;
	}
	md_strv_free(&ids);
	return 0;
}

/* ---- exec, export, cp, port ---- */

static const struct md_optdef md_opts_exec[] = {
	{"detach", 'd', NULL, "Detached mode: run command in the background"},
	{"env", 'e', "list", "Set environment variables"},
	{"env-file", 0, "list", "Read in a file of environment variables"},
	{"interactive", 'i', NULL, "Keep STDIN open even if not attached"},
	{"privileged", 0, NULL, "Give extended privileges to the command"},
	{"tty", 't', NULL, "Allocate a pseudo-TTY"},
	{"user", 'u', "string", "Username or UID (format: <name|uid>[:<group|gid>])"},
	{"workdir", 'w', "string", "Working directory inside the container"},
	{NULL, 0, NULL, NULL}};

static int md_cmd_exec(struct md_args *a)
{
	struct md_exec e;
	memset(&e, 0, sizeof e);
	if (md_ctr_find(a->pos.v[0], e.id) < 0)
		return md_fail(1);
	e.env = md_json_new(MD_J_ARR);
	if (md_opt_env(a, "env", e.env) < 0) {
		md_exec_free(&e);
		return md_fail(125);
	}
	e.cmd = md_jarr_strs(&(struct md_strv){a->pos.v + 1, a->pos.n - 1, 0});
	e.user = md_opt(a, "user") ? md_strdup(md_opt(a, "user")) : NULL;
	e.workdir = md_opt(a, "workdir") ? md_strdup(md_opt(a, "workdir")) : NULL;
	e.tty = md_flag(a, "tty");
	e.in = md_flag(a, "interactive");
	e.detach = md_flag(a, "detach");
	e.privileged = md_flag(a, "privileged");
	int code, r = md_exec(&e, &code);
	md_exec_free(&e);
	return r < 0 ? md_fail(code) : r;
}

/* `__exec`: the sealed copy's side of md_exec. */
static int md_exec_main(void)
{
	struct md_exec e;
	const char *js = getenv("MINIDOCK_EXEC");
	int code = 125;
	md_cmdname = "exec";
	if (!js || md_exec_load(js, &e) < 0)
		return md_fail(125);
	unsetenv("MINIDOCK_EXEC");
	int r = md_exec_run(&e, &code);
	md_exec_free(&e);
	return r < 0 ? md_fail(code) : r;
}

static int md_cmd_export(struct md_args *a)
{
	char id[65];
	struct md_ctr c;
	const char *out = md_opt(a, "output");
	if (!out && isatty(1)) {
		md_err("cowardly refusing to save to a terminal. Use the -o flag or redirect");
		return md_fail(1);
	}
	if (md_ctr_find(a->pos.v[0], id) < 0 || md_ctr_load(id, &c) < 0)
		return md_fail(1);
	md_ctr_reconcile(&c);
	char *tmp = out ? md_asprintf("%s.tmp-%d", out, (int)getpid()) : NULL;
	int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
	if (fd < 0) {
		md_errno("create %s", tmp);
		free(tmp);
		md_ctr_free(&c);
		return md_fail(1);
	}
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		/* export is the root filesystem only, never volumes: a private overlay */
		struct md_json *st = c.st;
		c.st = md_json_new(MD_J_OBJ);
		md_json_sets(c.st, "Status", "exited");
		int r = md_ctr_enter_fs(&c, 0);
		md_json_free(c.st);
		c.st = st;
		if (r == 0)
			r = md_tar_tree(fd, AT_FDCWD, ".", "");
		if (r < 0)
			fprintf(stderr, "minidock: export: %s\n", md_errmsg);
		_exit(r < 0 ? 1 : 0);
	}
	int status = 1;
	waitpid(p, &status, 0);
	int rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
	if (tmp) {
		if (rc == 0 && (fsync(fd) < 0 || rename(tmp, out) < 0))
			rc = (md_errno("write %s", out), md_fail(1));
		close(fd);
		if (rc)
			unlink(tmp);
		free(tmp);
	}
	md_ctr_free(&c);
	return rc;
}

static int md_cmd_cp(struct md_args *a)
{
	const char *src = a->pos.v[0], *dst = a->pos.v[1];
	const char *sc = strchr(src, ':'), *dc = strchr(dst, ':');
	int to_ctr = dc && (!sc || src[0] == '/' || src[0] == '.' || strcmp(src, "-") == 0);
	if ((sc && dc && src[0] != '/' && dst[0] != '/') || (!sc && !dc) || (src[0] == '/' && dst[0] == '/'))
		to_ctr = -1;
	if (to_ctr < 0) {
		md_err("copying between containers or within the host is not supported: give one CONTAINER:PATH");
		return md_fail(1);
	}
	const char *cspec = to_ctr ? dst : src, *hpath = to_ctr ? src : dst;
	const char *colon = strchr(cspec, ':');
	char cname[256], cpath[PATH_MAX];
	snprintf(cname, sizeof cname, "%.*s", (int)(colon - cspec), cspec);
	snprintf(cpath, sizeof cpath, "%s", colon + 1);
	if (!*cpath)
		snprintf(cpath, sizeof cpath, "/");
	char id[65];
	struct md_ctr c;
	if (md_ctr_find(cname, id) < 0 || md_ctr_load(id, &c) < 0)
		return md_fail(1);
	md_ctr_reconcile(&c);
	/* the tar stream, and the child's error message: of the two sides only
	 * one may print, the one that failed first */
	int pfd[2], efd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0 || pipe2(efd, O_CLOEXEC) < 0) {
		md_errno("pipe");
		return md_fail(1);
	}
	int contents = md_endswith(to_ctr ? hpath : cpath, "/.");
	fflush(NULL);
	pid_t p = fork();
	if (p < 0) {
		md_errno("fork");
		return md_fail(1);
	}
	if (p == 0) {
		/* the container side: inside its filesystem, paths cannot escape */
		close(efd[0]);
		int r = md_ctr_enter_fs(&c, to_ctr);
		if (r == 0 && !to_ctr) {
			close(pfd[0]);
			char *dir = md_dirname(cpath);
			const char *base = strrchr(cpath, '/') ? strrchr(cpath, '/') + 1 : cpath;
			struct stat st;
			if (contents) {
				int dfd = open(cpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				r = dfd < 0 ? md_errno("%s", cpath) : md_tar_tree(pfd[1], dfd, ".", "");
			} else if (lstat(cpath, &st) < 0) {
				r = md_err("Could not find the file %s in container %s", cpath, cname);
			} else {
				int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				r = dfd < 0 ? md_errno("%s", dir) : md_tar_tree(pfd[1], dfd, *base ? base : ".", *base ? base : "root");
			}
			free(dir);
		} else if (r == 0) {
			close(pfd[1]);
			/* copy into an existing directory, or as a new name in its parent */
			struct stat st;
			int isdir = stat(cpath, &st) == 0 && S_ISDIR(st.st_mode);
			char *dir = isdir ? md_strdup(cpath) : md_dirname(cpath);
			const char *base = strrchr(cpath, '/') ? strrchr(cpath, '/') + 1 : cpath;
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			const char *hb = strrchr(hpath, '/') ? strrchr(hpath, '/') + 1 : hpath;
			if (dfd < 0)
				r = md_err("Could not find the file %s in container %s", dir, cname);
			else
				r = md_extract_plain(pfd[0], dfd, isdir || contents ? NULL : hb, isdir || contents ? NULL : base,
				                     !md_flag(a, "archive"));
			free(dir);
		}
		if (r < 0)
			md_write_all(efd[1], md_errmsg, strlen(md_errmsg));
		_exit(r < 0 ? 1 : 0);
	}
	close(efd[1]);
	int rc = 0; /* 1: this side failed, its message in md_errmsg */
	if (to_ctr) {
		close(pfd[0]);
		/* a child that stopped reading has failed: EPIPE, not death */
		signal(SIGPIPE, SIG_IGN);
		/* the host side: a tar of the source */
		if (strcmp(hpath, "-") == 0) {
			rc = md_pump(0, pfd[1]) < 0;
		} else {
			char *dir = md_dirname(hpath);
			const char *base = strrchr(hpath, '/') ? strrchr(hpath, '/') + 1 : hpath;
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			struct stat st;
			if (dfd < 0 || lstat(hpath, &st) < 0) {
				rc = md_errno("could not find %s", hpath) < 0;
			} else if (contents) {
				int sfd = open(hpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				rc = sfd < 0 ? md_errno("%s", hpath) < 0 : md_tar_tree(pfd[1], sfd, ".", "") < 0;
				if (sfd >= 0)
					close(sfd);
			} else {
				rc = md_tar_tree(pfd[1], dfd, base, base) < 0;
			}
			if (dfd >= 0)
				close(dfd);
			free(dir);
		}
		/* no reader left: the child ended first, and its word counts */
		struct pollfd pw = {pfd[1], 0, 0};
		if (rc && poll(&pw, 1, 0) == 1 && (pw.revents & POLLERR))
			rc = 0;
		close(pfd[1]);
	} else {
		close(pfd[1]);
		if (strcmp(hpath, "-") == 0) {
			md_pump(pfd[0], 1);
		} else {
			struct stat st;
			int isdir = stat(hpath, &st) == 0 && S_ISDIR(st.st_mode);
			char *dir = isdir ? md_strdup(hpath) : md_dirname(hpath);
			const char *base = strrchr(hpath, '/') ? strrchr(hpath, '/') + 1 : hpath;
			const char *cb = strrchr(cpath, '/') ? strrchr(cpath, '/') + 1 : cpath;
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0) {
				rc = md_errno("destination directory %s", dir) < 0;
				int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
				md_pump(pfd[0], null);
				if (null >= 0)
					close(null);
			} else {
				rc = md_extract_plain(pfd[0], dfd, isdir || contents ? NULL : cb, isdir || contents ? NULL : base, 0) < 0;
			}
			if (dfd >= 0)
				close(dfd);
			free(dir);
		}
		close(pfd[0]);
	}
	struct md_error own = md_error;
	int status = 1;
	waitpid(p, &status, 0);
	ssize_t n = read(efd[0], md_errmsg, sizeof md_errmsg - 1);
	close(efd[0]);
	md_errmsg[n > 0 ? n : 0] = 0;
	if (rc)
		md_error = own;
	else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && !md_errmsg[0])
		md_err("the copy ended early (%s)", WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no reason given");
	md_ctr_free(&c);
	return rc || !(WIFEXITED(status) && WEXITSTATUS(status) == 0) ? md_fail(1) : 0;
}

#if MD_FEATURE_NET

static int md_cmd_port(struct md_args *a)
{
	char id[65];
	struct md_ctr c;
	if (md_ctr_find(a->pos.v[0], id) < 0 || md_ctr_load(id, &c) < 0)
		return md_fail(1);
	struct md_json *ports = md_json_get(c.cfg, "Ports");
	const char *want = a->pos.n > 1 ? a->pos.v[1] : NULL;
	int shown = 0;
	for (struct md_json *x = ports ? ports->child : NULL; x; x = x->next) {
		char key[32];
		snprintf(key, sizeof key, "%lld/%s", md_json_geti(x, "ContainerPort", 0), md_json_gets(x, "Proto") ? md_json_gets(x, "Proto") : "tcp");
		if (want && strcmp(want, key) != 0 && !(strchr(want, '/') == NULL && atoll(want) == md_json_geti(x, "ContainerPort", 0)))
			continue;
		if (want)
			printf("%s:%lld\n", md_json_gets(x, "HostIp"), md_json_geti(x, "HostPort", 0));
		else
			printf("%s -> %s:%lld\n", key, md_json_gets(x, "HostIp"), md_json_geti(x, "HostPort", 0));
		shown++;
	}
	md_ctr_free(&c);
	if (want && !shown) {
		md_err("No public port '%s' published for %s", want, a->pos.v[0]);
		return md_fail(1);
	}
	return 0;
}

#endif

/**** 24 cli: volume, network and system commands ***************************/
/* May call: sections 01-23. */

static int md_cmd_volume_create(struct md_args *a)
{
	char name[65];
	if (a->pos.n)
		snprintf(name, sizeof name, "%.64s", a->pos.v[0]);
	else
		md_random_hex(name, 32);
	struct md_json *labels = md_opt_labels(a, "label");
	int r = md_volume_create(name, md_opt(a, "driver"), labels, 0, NULL);
	md_json_free(labels);
	if (r < 0)
		return md_fail(1);
	puts(name);
	return 0;
}

static int md_cmd_volume_ls(struct md_args *a)
{
	struct md_strv vs = {0};
	md_volume_list(&vs);
	struct md_json *idx = md_index_read();
	const struct md_strv *filters = md_optv(a, "filter");
	int dangling = -1;
	for (size_t i = 0; i < filters->n; i++) {
		const char *f = filters->v[i];
		if (md_startswith(f, "dangling=")) {
			if (strcmp(f + 9, "true") && strcmp(f + 9, "1") && strcmp(f + 9, "false") && strcmp(f + 9, "0")) {
				md_err("invalid filter 'dangling=%s'", f + 9);
				goto bad;
			}
			dangling = !strcmp(f + 9, "true") || !strcmp(f + 9, "1");
		} else if (!md_startswith(f, "name=") && !md_startswith(f, "label=") && !md_startswith(f, "driver=")) {
			md_err("invalid filter '%s' (supported: dangling=, driver=, label=, name=)", f);
			goto bad;
		}
	}
	const char *fmt = md_opt(a, "format");
	struct md_table tab = {2, {0}};
	if (!md_flag(a, "quiet") && !fmt)
		md_table_add(&tab, (const char *[]){"DRIVER", "VOLUME NAME"});
	for (size_t i = 0; i < vs.n; i++) {
		if (dangling >= 0 && idx && md_volume_in_use(idx, vs.v[i], NULL, 0) == dangling)
			continue;
		/* name= (a substring) and driver= OR among themselves; every label= must match */
		int name_seen = 0, name_ok = 0, drv_seen = 0, drv_ok = 0, label_ok = 1;
		struct md_json *vj = NULL;
		for (size_t k = 0; k < filters->n; k++) {
			const char *f = filters->v[k];
			if (md_startswith(f, "name=")) {
				name_seen = 1;
				name_ok |= strstr(vs.v[i], f + 5) != NULL;
			} else if (md_startswith(f, "driver=")) {
				drv_seen = 1;
				drv_ok |= strcmp(f + 7, "local") == 0;
			} else if (md_startswith(f, "label=")) {
				if (!vj)
					vj = md_volume_inspect_json(vs.v[i]);
				const char *v = f + 6, *eq = strchr(v, '=');
				char key[256];
				snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - v) : (int)strlen(v), v);
				const char *lv = md_json_gets(md_json_get(vj, "Labels"), key);
				label_ok &= lv && (!eq || strcmp(lv, eq + 1) == 0);
			}
		}
		md_json_free(vj);
		if ((name_seen && !name_ok) || (drv_seen && !drv_ok) || !label_ok)
			continue;
		if (md_flag(a, "quiet"))
			puts(vs.v[i]);
		else if (fmt) {
			struct md_json *o = md_volume_inspect_json(vs.v[i]);
			if (o && md_format_print(fmt, o) < 0) {
				md_json_free(o);
				break;
			}
			md_json_free(o);
		} else
			md_table_add(&tab, (const char *[]){"local", vs.v[i]});
	}
	if (!md_flag(a, "quiet") && !fmt)
		md_table_print(&tab, stdout);
	md_strv_free(&tab.cells);
	md_strv_free(&vs);
	md_json_free(idx);
	return 0;
bad:
	md_json_free(idx);
	md_strv_free(&vs);
	return md_fail(125);
}

static int md_cmd_volume_inspect(struct md_args *a)
{
	struct md_json *arr = md_json_new(MD_J_ARR);
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		struct md_json *o = md_volume_inspect_json(a->pos.v[i]);
		if (!o)
			rc = md_fail(1);
		else
			md_json_push(arr, o);
	}
	if (arr->n && md_inspect_print(arr, md_opt(a, "format")) < 0)
		rc = md_fail(1);
	else if (!arr->n && !md_opt(a, "format"))
		puts("[]");
	md_json_free(arr);
	return rc;
}

static int md_cmd_volume_rm(struct md_args *a)
{
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		if (md_volume_remove(a->pos.v[i], md_flag(a, "force")) < 0)
			rc = md_fail(1);
		else
			puts(a->pos.v[i]);
	}
	return rc;
}

static int md_cmd_volume_prune(struct md_args *a)
{
	int all = md_flag(a, "all");
	if (!md_flag(a, "force") && !md_confirm(all ? "WARNING! This will remove all local volumes not used by at least one container."
	                                            : "WARNING! This will remove anonymous local volumes not used by at least one container."))
		return 0;
	struct md_strv gone = {0};
	uint64_t reclaimed;
	if (md_volume_prune(all, &gone, &reclaimed) < 0)
		return md_fail(1);
	md_prune_report("Volumes", &gone, reclaimed);
	md_strv_free(&gone);
	return 0;
}

#if MD_FEATURE_NET

static const struct md_optdef md_opts_ncreate[] = {
	{"driver", 'd', "string", "Driver to manage the Network (bridge)"},
	{"gateway", 0, "string", "IPv4 Gateway for the master subnet"},
	{"internal", 0, NULL, "Restrict external access to the network"},
	{"label", 0, "list", "Set metadata on a network"},
	{"opt", 'o', "map", "Set driver specific options (accepted)"},
	{"subnet", 0, "string", "Subnet in CIDR format that represents a network segment"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_nls[] = {
	{"filter", 'f', "filter", "Provide filter values (e.g. 'name=bridge')"},
	{"format", 0, "string", "Format output using a Go template"},
	{"no-trunc", 0, NULL, "Do not truncate the output"},
	{"quiet", 'q', NULL, "Only display network IDs"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_nconnect[] = {
	{"alias", 0, "list", "Add network-scoped alias for the container"},
	{"ip", 0, "string", "IPv4 address (e.g., 10.89.0.10)"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_ndisconnect[] = {
	{"force", 'f', NULL, "Force the container to disconnect from a network"},
	{NULL, 0, NULL, NULL}};

static int md_cmd_network_create(struct md_args *a)
{
	struct md_json *labels = md_opt_labels(a, "label");
	struct md_network_spec ns = {a->pos.v[0], md_opt(a, "subnet"), md_opt(a, "gateway"), md_flag(a, "internal"), labels,
	                             md_opt(a, "driver")};
	char id[65];
	int r = md_network_create(&ns, id);
	md_json_free(labels);
	if (r < 0)
		return md_fail(1);
	puts(id);
	return 0;
}

static int md_cmd_network_ls(struct md_args *a)
{
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_fail(1);
	if (md_store_lock() == 0) { /* the default network always shows, as Docker's */
		struct md_json *ix = md_index_read();
		if (ix && !md_json_get(md_index_section(ix, "networks"), "bridge") && md_net_default(ix) &&
		    md_index_write(ix) < 0) {
			md_json_free(ix);
			md_json_free(idx);
			md_store_unlock();
			return md_fail(1);
		}
		md_json_free(ix);
		md_store_unlock();
		md_json_free(idx);
		idx = md_index_read();
		md_err_clear();
	}
	const char *fmt = md_opt(a, "format");
	const struct md_strv *filters = md_optv(a, "filter");
	struct md_table tab = {4, {0}};
	if (!md_flag(a, "quiet") && !fmt)
		md_table_add(&tab, (const char *[]){"NETWORK ID", "NAME", "DRIVER", "SCOPE"});
	struct md_json *all = md_json_new(MD_J_OBJ);
	md_json_set(all, "host", md_json_new(MD_J_OBJ));
	md_json_set(all, "none", md_json_new(MD_J_OBJ));
	int rc = 0;
	for (struct md_json *n = md_index_section(idx, "networks")->child; n; n = n->next)
		md_json_set(all, n->key, md_json_clone(n));
	for (struct md_json *n = all->child; n; n = n->next) {
		int ok = 1;
		for (size_t i = 0; i < filters->n; i++) {
			const char *f = filters->v[i];
			if (md_startswith(f, "name="))
				ok &= strstr(n->key, f + 5) != NULL;
			else if (md_startswith(f, "id="))
				ok &= md_startswith(md_json_gets(n, "Id") ? md_json_gets(n, "Id") : "", f + 3);
			else if (md_startswith(f, "driver="))
				ok &= strcmp(f + 7, md_json_gets(n, "Id") ? "bridge" : n->key) == 0;
			else {
				md_err("invalid filter '%s' (supported: name, id, driver)", f);
				rc = md_fail(125);
				break;
			}
		}
		if (rc)
			break;
		if (!ok)
			continue;
		char id[16];
		const char *fid = md_json_gets(n, "Id");
		char hx[13];
		if (!fid) { /* host and none are not stored: a stable ID from their names */
			char d[MD_DIGEST_LEN + 1];
			md_sha256_buf(n->key, strlen(n->key), d);
			snprintf(hx, sizeof hx, "%.12s", d + 7);
			fid = hx;
		}
		snprintf(id, sizeof id, "%.12s", fid);
		const char *drv = md_json_gets(n, "Id") ? "bridge" : n->key;
		if (md_flag(a, "quiet"))
			puts(id);
		else if (fmt) {
			struct md_json *o = md_json_new(MD_J_OBJ);
			md_json_sets(o, "ID", id);
			md_json_sets(o, "Name", n->key);
			md_json_sets(o, "Driver", drv);
			md_json_sets(o, "Scope", "local");
			if (md_format_print(fmt, o) < 0)
				rc = md_fail(125);
			md_json_free(o);
		} else
			md_table_add(&tab, (const char *[]){id, n->key, drv, "local"});
	}
	if (!md_flag(a, "quiet") && !fmt)
		md_table_print(&tab, stdout);
	md_strv_free(&tab.cells);
	md_json_free(all);
	md_json_free(idx);
	return rc;
}

static int md_cmd_network_rm(struct md_args *a)
{
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++)
		if (md_network_remove(a->pos.v[i]) < 0)
			rc = md_fail(1);
		else
			puts(a->pos.v[i]);
	return rc;
}

static int md_cmd_network_prune(struct md_args *a)
{
	if (!md_flag(a, "force") && !md_confirm("WARNING! This will remove all custom networks not used by at least one container."))
		return 0;
	struct md_strv gone = {0};
	int r = md_network_prune(&gone);
	if (gone.n) {
		puts("Deleted Networks:");
		for (size_t i = 0; i < gone.n; i++)
			puts(gone.v[i]);
	}
	md_strv_free(&gone);
	return r < 0 ? md_fail(1) : 0;
}

static int md_cmd_network_inspect(struct md_args *a)
{
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_fail(1);
	struct md_json *arr = md_json_new(MD_J_ARR);
	int rc = 0;
	for (size_t i = 0; i < a->pos.n; i++) {
		struct md_json *n = md_net_get(idx, a->pos.v[i]);
		if (!n) {
			md_err("network %s not found", a->pos.v[i]);
			rc = md_fail(1);
			continue;
		}
		md_json_push(arr, md_net_inspect_json(idx, n));
	}
	if (arr->n && md_inspect_print(arr, md_opt(a, "format")) < 0)
		rc = md_fail(1);
	else if (!arr->n && !md_opt(a, "format"))
		puts("[]");
	md_json_free(arr);
	md_json_free(idx);
	return rc;
}

static int md_cmd_network_connect(struct md_args *a)
{
	return md_network_connect(a->pos.v[0], a->pos.v[1], md_opt(a, "ip"), md_optv(a, "alias")) < 0 ? md_fail(1) : 0;
}

static int md_cmd_network_disconnect(struct md_args *a)
{
	return md_network_disconnect(a->pos.v[0], a->pos.v[1]) < 0 ? md_fail(1) : 0;
}

#endif

static int md_cmd_check_config(struct md_args *a)
{
	char from[300] = "";
	char *cfg = md_kconfig_read(a->pos.n ? a->pos.v[0] : NULL, from, sizeof from);
	struct utsname u;
	uname(&u);
	printf("kernel: %s %s (%s)\n", u.sysname, u.release, u.machine);
	if (cfg)
		printf("info: reading kernel config from %s\n", from);
	else
		printf("info: no kernel config found (/proc/config.gz, /boot/config-%s): checking the running kernel instead\n",
		       u.release);
	int missing_needed = 0;
	for (int sect = 1; sect >= 0; sect--) {
		printf("\n%s:\n", sect ? "Generally Necessary" : "Optional Features");
		for (size_t i = 0; i < MD_ARRAY_LEN(md_kchecks); i++) {
			const struct md_kcheck *k = &md_kchecks[i];
			if (k->necessary != sect)
				continue;
			int v = md_kconfig_get(cfg, k->opt);
			const char *state;
			if (v == 'y')
				state = "enabled";
			else if (v == 'm')
				state = "enabled (as module)";
			else if (k->probe && v <= 0 && k->probe())
				state = "enabled (seen at run time)"; /* options newer kernels dropped */
			else if (v == -1 && k->probe)
				state = "missing";
			else if (v == -1)
				state = "unknown (no kernel config to read)";
			else
				state = "missing";
			if (sect && !strcmp(state, "missing"))
				missing_needed++;
			printf("- CONFIG_%s: %s  (%s)\n", k->opt, state, k->what);
		}
	}
	printf("\ncgroups: %s\n", md_cg_detect() == MD_CG_V2 ? "v2 (unified)" : md_cg_detect() == MD_CG_HYBRID ? "hybrid (v1 controllers)"
	                                         : md_cg_detect() == MD_CG_V1 ? "v1" : "none mounted");
#if MD_FEATURE_NET
	const char *fw = md_fw_backend();
	printf("firewall: %s%s\n", fw, strcmp(fw, "missing") == 0 ? " (no nft or iptables found: bridges get no NAT, published ports are refused)"
	                               : strcmp(fw, "none") == 0 ? " (MINIDOCK_FIREWALL=none: bridges get no NAT, published ports are refused)" : "");
	char *fwd = md_read_file("/proc/sys/net/ipv4/ip_forward", 16, NULL);
	int rules = strcmp(fw, "missing") && strcmp(fw, "none");
	printf("ip_forward: %s\n", fwd ? (fwd[0] == '1' ? "on" : rules ? "off (minidock turns it on when a network is used)" : "off") : "unknown");
	free(fwd);
#endif
	free(cfg);
	md_err_clear();
	if (missing_needed)
		printf("\n%d necessary option%s missing: containers will not run on this kernel\n", missing_needed,
		       missing_needed == 1 ? " is" : "s are");
	return missing_needed ? 1 : 0;
}

static int md_cmd_info(struct md_args *a)
{
	(void)a;
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_fail(1);
	unsigned n = 0, running = 0, paused = 0, stopped = 0;
	for (struct md_json *e = md_json_get(idx, "containers")->child; e; e = e->next) {
		struct md_ctr c;
		if (md_ctr_load(e->key, &c) < 0)
			continue;
		const char *st = md_ctr_state(&c);
		n++;
		if (md_streq(st, "running") || md_streq(st, "restarting"))
			running++;
		else if (md_streq(st, "paused"))
			paused++;
		else
			stopped++;
		md_ctr_free(&c);
	}
	struct utsname u;
	uname(&u);
	struct sysinfo si;
	sysinfo(&si);
	const char *bad = md_upper_unsupported(md_store.root);
	char mem[32];
	md_human_bin(mem, sizeof mem, (double)si.totalram * si.mem_unit);
	printf("Containers: %u\n Running: %u\n Paused: %u\n Stopped: %u\n", n, running, paused, stopped);
	printf("Images: %zu\n", md_json_get(idx, "images")->n);
	printf("Server Version: %s (minidock, no daemon)\n", MD_VERSION);
	printf("Storage Driver: overlay2\n");
	if (bad)
		printf(" Fallback: %s (the store is on %s)\n", getenv("MINIDOCK_OVERLAY_FALLBACK") ? getenv("MINIDOCK_OVERLAY_FALLBACK") : MD_DEFAULT_OVERLAY_FALLBACK, bad);
	printf("Logging Driver: minidock (size-capped: %s x %s)\n", MD_DEFAULT_LOG_MAX_SIZE, MD_DEFAULT_LOG_MAX_FILE);
	enum md_cg_mode cm = md_cg_detect();
	printf("Cgroup Driver: cgroupfs\nCgroup Version: %s\n", cm == MD_CG_V2 ? "2" : cm == MD_CG_NONE ? "none" : "1");
	printf("Features:");
	md_features_print(stdout);
	printf("\nSecurity Options:\n%s%s", MD_FEATURE_SECCOMP ? " seccomp\n  Profile: builtin (Docker's default)\n" : "",
	       MD_FEATURE_USERNS ? " userns (with --userns=remap)\n" : "");
	printf("Kernel Version: %s\nOperating System: Linux\nOSType: linux\nArchitecture: %s\n", u.release, u.machine);
	printf("CPUs: %ld\nTotal Memory: %s\n", md_ncpus(), mem);
	printf("Name: %s\n", u.nodename);
	printf("Minidock Root Dir: %s\nMinidock Run Root: %s\n", md_store.root, md_store.runroot);
#if MD_FEATURE_NET
	printf("Firewall: %s\n", md_fw_backend());
#endif
	md_json_free(idx);
	md_err_clear();
	return 0;
}

/* ---- boot: what an init script runs once the machine is up ---- */

static int md_cmd_boot(struct md_args *a)
{
	(void)a;
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_fail(1);
	if (md_store_lock() == 0) { /* which sweeps what a crash left in the store */
		struct md_json *ix = md_index_read();
		if (ix)
			md_net_reclaim(ix, 1, NULL); /* leases and links from before the reboot or a crash */
		md_json_free(ix);
		md_store_unlock();
	}
	int rc = 0;
	for (struct md_json *e = md_json_get(idx, "containers")->child; e; e = e->next) {
		struct md_ctr c;
		if (md_ctr_load(e->key, &c) < 0)
			continue;
		/* what was running when the machine went down */
		int was_running = md_streq(md_ctr_status_raw(&c), "running") || md_streq(md_ctr_status_raw(&c), "restarting");
		md_ctr_reconcile(&c);
		struct md_json *rp = md_json_get(md_json_get(c.cfg, "HostConfig"), "RestartPolicy");
		const char *pol = md_json_gets(rp, "Name");
		int stopped = md_json_is(md_json_get(c.st, "ManuallyStopped"), MD_J_TRUE);
		/* no record of an on-failure container that ran: it was running */
		int rebooted = md_json_is(md_json_get(c.st, "Rebooted"), MD_J_TRUE);
		int start = !md_ctr_running(&c) &&
		            (md_streq(pol, "always") || (md_streq(pol, "unless-stopped") && !stopped) ||
		             (md_streq(pol, "on-failure") && (was_running || rebooted)));
		if (start) {
			int code;
			if (md_ctr_start(c.id, "", NULL, &code) < 0) {
				fprintf(stderr, "minidock: boot: %s: %s\n", c.name, md_errmsg);
				rc = 1;
			} else {
				printf("started %s\n", c.name);
			}
		}
		md_ctr_free(&c);
	}
	md_json_free(idx);
	return rc;
}

/**** 25 cli: command table and dispatch ************************************/
/* May call: sections 01-24. */

static const struct md_optdef md_opts_none[] = {{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_images[] = {
	{"all", 'a', NULL, "Show all images (intermediate images too)"},
	{"digests", 0, NULL, "Show digests"},
	{"filter", 'f', "filter", "Filter output: dangling=true|false, reference=PATTERN"},
	{"format", 0, "string", "Format output using a Go template"},
	{"no-trunc", 0, NULL, "Don't truncate output"},
	{"quiet", 'q', NULL, "Only show image IDs"},
	{"tree", 0, NULL, "Show the layer graph: which images share which layers"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_inspect[] = {
	{"format", 'f', "string", "Format output using a Go template"},
	{"size", 's', NULL, "Display total file sizes (accepted; sizes are always shown)"},
	{"type", 0, "string", "Only inspect objects of the given type (image)"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_history[] = {
	{"format", 0, "string", "Format output using a Go template"},
	{"human", 'H', NULL, "Print sizes and dates in human readable format (default true)"},
	{"no-trunc", 0, NULL, "Don't truncate output"},
	{"quiet", 'q', NULL, "Only show image IDs"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_rmi[] = {
	{"force", 'f', NULL, "Force removal of the image"},
	{"no-prune", 0, NULL, "Do not delete untagged parents (accepted for compatibility)"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_prune[] = {
	{"all", 'a', NULL, "Remove all unused images, not just dangling ones"},
	{"force", 'f', NULL, "Do not prompt for confirmation"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_volume_prune[] = {
	{"all", 'a', NULL, "Remove all unused volumes, not just anonymous ones"},
	{"force", 'f', NULL, "Do not prompt for confirmation"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_load[] = {
	{"input", 'i', "file", "Read from tar archive file, instead of STDIN"},
	{"platform", 0, "string", "From a multi-platform archive, load this platform (OS/ARCH[/VARIANT]); default: this machine's"},
	{"quiet", 'q', NULL, "Suppress the load output"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_import[] = {
	{"change", 'c', "list", "Apply Dockerfile instruction to the created image"},
	{"message", 'm', "string", "Set commit message for imported image"},
	{"platform", 0, "string", "Set the image's platform (OS/ARCH[/VARIANT]; default: this machine's)"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_save[] = {
	{"format", 0, "string", "Archive format: docker (default; docker-archive with an OCI layout) or oci"},
	{"output", 'o', "file", "Write to a file, instead of STDOUT"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_check[] = {
	{"quick", 0, NULL, "Skip rebuilding every layer to verify its DiffID"},
	{"repair", 0, NULL, "Fix what is found, without losing any complete image"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_start[] = {
	{"attach", 'a', NULL, "Attach STDOUT/STDERR and forward signals"},
	{"interactive", 'i', NULL, "Attach container's STDIN"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_stop[] = {
	{"signal", 's', "string", "Signal to send to the container (accepted; the container's StopSignal is used)"},
	{"time", 't', "int", "Seconds to wait before killing the container"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_kill[] = {
	{"signal", 's', "string", "Signal to send to the container (default \"KILL\")"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_rm[] = {
	{"force", 'f', NULL, "Force the removal of a running container (uses SIGKILL)"},
	{"link", 'l', NULL, "Remove the specified link (accepted, no effect)"},
	{"volumes", 'v', NULL, "Remove anonymous volumes associated with the container"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_ps[] = {
	{"all", 'a', NULL, "Show all containers (default shows just running)"},
	{"filter", 'f', "filter", "Filter output: status=, name=, label=, id=, exited=, ancestor="},
	{"format", 0, "string", "Format output using a Go template"},
	{"last", 'n', "int", "Show n last created containers (includes all states)"},
	{"latest", 'l', NULL, "Show the latest created container (includes all states)"},
	{"no-trunc", 0, NULL, "Don't truncate output"},
	{"quiet", 'q', NULL, "Only display container IDs"},
	{"size", 's', NULL, "Display total file sizes"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_logs[] = {
	{"details", 0, NULL, "Show extra details provided to logs (accepted)"},
	{"follow", 'f', NULL, "Follow log output"},
	{"since", 0, "string", "Show logs since timestamp or relative (e.g. 42m)"},
	{"tail", 'n', "string", "Number of lines to show from the end of the logs"},
	{"timestamps", 't', NULL, "Show timestamps"},
	{"until", 0, "string", "Show logs before a timestamp or relative (e.g. 42m)"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_stats[] = {
	{"all", 'a', NULL, "Show all containers (default shows just running)"},
	{"format", 0, "string", "Format output using a Go template"},
	{"no-stream", 0, NULL, "Disable streaming stats and only pull the first result"},
	{"no-trunc", 0, NULL, "Do not truncate output"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_export[] = {
	{"output", 'o', "file", "Write to a file, instead of STDOUT"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_cp[] = {
	{"archive", 'a', NULL, "Archive mode (copy all uid/gid information)"},
	{"follow-link", 'L', NULL, "Always follow symbol link in SRC_PATH (accepted)"},
	{"quiet", 'q', NULL, "Suppress progress output"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_attach[] = {
	{"no-stdin", 0, NULL, "Do not attach STDIN"},
	{"sig-proxy", 0, NULL, "Proxy all received signals to the process (default true)"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_force[] = {
	{"force", 'f', NULL, "Do not prompt for confirmation"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_vcreate[] = {
	{"driver", 'd', "string", "Specify volume driver name (local)"},
	{"label", 0, "list", "Set metadata for a volume"},
	{"opt", 'o', "map", "Set driver specific options (accepted)"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_vls[] = {
	{"filter", 'f', "filter", "Provide filter values (e.g. 'dangling=true')"},
	{"format", 0, "string", "Format output using a Go template"},
	{"quiet", 'q', NULL, "Only display volume names"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_vrm[] = {
	{"force", 'f', NULL, "Force the removal of one or more volumes"},
	{NULL, 0, NULL, NULL}};

static const struct md_optdef md_opts_vinspect[] = {
	{"format", 'f', "string", "Format output using a Go template"},
	{NULL, 0, NULL, NULL}};

enum { MD_CMD_STOP_AT_POS = 1, MD_CMD_HIDDEN = 2 };

struct md_cmd {
	const char *names;      /* "rm|container rm|container remove": the first is the main one */
	int (*fn)(struct md_args *);
	const struct md_optdef *opts;
	const char *usage;
	const char *summary;
	int minpos, maxpos; /* -1: unlimited */
	int flags;
};

#if MD_FEATURE_API

static int md_cmd_serve(struct md_args *a);

static const struct md_optdef md_opts_serve[] = {
	{"host", 'H', "unix:///PATH", "Socket to listen on (default: RUN-ROOT/docker.sock)"},
	{"group", 'G', "GROUP", "Group that may use the socket besides root (mode 0660)"},
	{NULL, 0, NULL, NULL}};

#endif

/* The command table drives dispatch, argv[0] dispatch and help. */
static const struct md_cmd md_cmds[] = {
	{"run|container run", md_cmd_run, md_opts_run, "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image", 1, -1, MD_CMD_STOP_AT_POS},
	{"create|container create", md_cmd_create, md_opts_run, "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", 1, -1, MD_CMD_STOP_AT_POS},
	{"start|container start", md_cmd_start, md_opts_start, "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", 1, -1, 0},
	{"stop|container stop", md_cmd_stop, md_opts_stop, "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", 1, -1, 0},
	{"restart|container restart", md_cmd_restart, md_opts_stop, "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", 1, -1, 0},
	{"kill|container kill", md_cmd_kill, md_opts_kill, "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", 1, -1, 0},
	{"rm|container rm|container remove", md_cmd_rm, md_opts_rm, "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", 1, -1, 0},
	{"ps|container ls|container list|container ps", md_cmd_ps, md_opts_ps, "[OPTIONS]", "List containers", 0, 0, 0},
	{"logs|container logs", md_cmd_logs, md_opts_logs, "[OPTIONS] CONTAINER", "Fetch the logs of a container", 1, 1, 0},
	{"exec|container exec", md_cmd_exec, md_opts_exec, "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", 2, -1, MD_CMD_STOP_AT_POS},
	{"wait|container wait", md_cmd_wait, md_opts_none, "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", 1, -1, 0},
	{"attach|container attach", md_cmd_attach, md_opts_attach, "[OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", 1, 1, 0},
	{"stats|container stats", md_cmd_stats, md_opts_stats, "[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", 0, -1, 0},
	{"top|container top", md_cmd_top, md_opts_none, "CONTAINER", "Display the running processes of a container", 1, -1, MD_CMD_STOP_AT_POS},
	{"pause|container pause", md_cmd_pause1, md_opts_none, "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", 1, -1, 0},
	{"unpause|container unpause", md_cmd_unpause, md_opts_none, "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", 1, -1, 0},
	{"export|container export", md_cmd_export, md_opts_export, "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", 1, 1, 0},
	{"cp|container cp", md_cmd_cp, md_opts_cp, "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-  or  SRC_PATH|- CONTAINER:DEST_PATH", "Copy files/folders between a container and the local filesystem", 2, 2, 0},
	{"rename|container rename", md_cmd_rename, md_opts_none, "CONTAINER NEW_NAME", "Rename a container", 2, 2, 0},
	{"boot", md_cmd_boot, md_opts_none, "", "Start the containers whose restart policy says so (for init scripts)", 0, 0, 0},
	{"info|system info", md_cmd_info, md_opts_none, "", "Display system-wide information", 0, 0, 0},
#if MD_FEATURE_PULL
	{"pull|image pull", md_cmd_pull, md_opts_pull, "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", 1, 1, 0},
	{"push|image push", md_cmd_push, md_opts_push, "[OPTIONS] NAME[:TAG]", "Upload an image to a registry", 1, 1, 0},
	{"login", md_cmd_login, md_opts_login, "[OPTIONS] [SERVER]", "Log in to a registry", 0, 1, 0},
	{"logout", md_cmd_logout, md_opts_none, "[SERVER]", "Log out from a registry", 0, 1, 0},
#endif
#if MD_FEATURE_SIGN
	{"image verify", md_cmd_image_verify, md_opts_none, "IMAGE [IMAGE...]", "Check images of the store against the signature policy now", 1, -1, 0},
#endif
	{"check-config", md_cmd_check_config, md_opts_none, "[KERNEL_CONFIG]", "Tell what the running kernel lacks for minidock", 0, 1, 0},
#if MD_FEATURE_NET
	{"port|container port", md_cmd_port, md_opts_none, "CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container", 1, 2, 0},
	{"network create", md_cmd_network_create, md_opts_ncreate, "[OPTIONS] NETWORK", "Create a network", 1, 1, 0},
	{"network ls|network list", md_cmd_network_ls, md_opts_nls, "[OPTIONS]", "List networks", 0, 0, 0},
	{"network rm|network remove", md_cmd_network_rm, md_opts_none, "NETWORK [NETWORK...]", "Remove one or more networks", 1, -1, 0},
	{"network inspect", md_cmd_network_inspect, md_opts_vinspect, "[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks", 1, -1, 0},
	{"network connect", md_cmd_network_connect, md_opts_nconnect, "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network", 2, 2, 0},
	{"network disconnect", md_cmd_network_disconnect, md_opts_ndisconnect, "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", 2, 2, 0},
	{"network prune", md_cmd_network_prune, md_opts_force, "[OPTIONS]", "Remove all unused networks", 0, 0, 0},
#endif
	{"images|image ls|image list", md_cmd_images, md_opts_images, "[OPTIONS] [REPOSITORY[:TAG]]", "List images", 0, 1, 0},
	{"inspect", md_cmd_inspect, md_opts_inspect, "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on objects", 1, -1, 0},
	{"history|image history", md_cmd_history, md_opts_history, "[OPTIONS] IMAGE", "Show the history of an image", 1, 1, 0},
	{"tag|image tag", md_cmd_tag, md_opts_none, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", 2, 2, 0},
	{"rmi|image rm|image remove|image delete", md_cmd_rmi, md_opts_rmi, "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", 1, -1, 0},
	{"load|image load", md_cmd_load, md_opts_load, "[OPTIONS]", "Load images from a tar archive (docker-archive or OCI layout) or STDIN", 0, 0, 0},
	{"import|image import", md_cmd_import, md_opts_import, "[OPTIONS] FILE|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image", 1, 2, 0},
	{"save|image save", md_cmd_save, md_opts_save, "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", 1, -1, 0},
	{"version", md_cmd_version, md_opts_none, "", "Show the minidock version and compiled-in features", 0, 0, 0},
	{"container inspect", md_cmd_container_inspect, md_opts_inspect, "[OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers", 1, -1, 0},
	{"container prune", md_cmd_container_prune, md_opts_force, "[OPTIONS]", "Remove all stopped containers", 0, 0, 0},
	{"volume create", md_cmd_volume_create, md_opts_vcreate, "[OPTIONS] [VOLUME]", "Create a volume", 0, 1, 0},
	{"volume ls|volume list", md_cmd_volume_ls, md_opts_vls, "[OPTIONS]", "List volumes", 0, 0, 0},
	{"volume rm|volume remove", md_cmd_volume_rm, md_opts_vrm, "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", 1, -1, 0},
	{"volume inspect", md_cmd_volume_inspect, md_opts_vinspect, "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", 1, -1, 0},
	{"volume prune", md_cmd_volume_prune, md_opts_volume_prune, "[OPTIONS]", "Remove unused local volumes (anonymous ones; -a all)", 0, 0, 0},
	{"image inspect", md_cmd_image_inspect, md_opts_inspect, "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images", 1, -1, 0},
	{"image prune", md_cmd_image_prune, md_opts_prune, "[OPTIONS]", "Remove unused images", 0, 0, 0},
	{"system df", md_cmd_system_df, md_opts_none, "", "Show disk usage", 0, 0, 0},
	{"system check", md_cmd_system_check, md_opts_check, "[OPTIONS]", "Verify the store; --repair fixes it", 0, 0, 0},
#if MD_FEATURE_API
	{"serve", md_cmd_serve, md_opts_serve, "[OPTIONS]", "Serve the Docker Engine API on a unix socket", 0, 0, 0},
#endif
};

/* The n-th of a row's names ("rm|container rm|container remove"), into
 * buf; 0 when there is no n-th. */
static int md_cmd_name(const struct md_cmd *c, int n, char *buf, size_t cap)
{
	const char *p = c->names;
	for (; n > 0 && p; n--)
		p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
	if (!p)
		return 0;
	snprintf(buf, cap, "%.*s", (int)strcspn(p, "|"), p);
	return 1;
}

/* The row a command name (one word or two) selects; *as gets the name the
 * user typed, for messages and help. */
static const struct md_cmd *md_cmd_find(const char *name, const char **as)
{
	char nm[64];
	for (size_t i = 0; i < MD_ARRAY_LEN(md_cmds); i++)
		for (int k = 0; md_cmd_name(&md_cmds[i], k, nm, sizeof nm); k++)
			if (strcmp(nm, name) == 0) {
				if (as)
					*as = k ? name : NULL;
				return &md_cmds[i];
			}
	return NULL;
}

/* The name of row c under group ("container ls" -> "ls"), or NULL. */
static const char *md_cmd_in_group(const struct md_cmd *c, const char *group, char *buf, size_t cap)
{
	size_t l = strlen(group);
	for (int k = 0; md_cmd_name(c, k, buf, cap); k++)
		if (strncmp(buf, group, l) == 0 && buf[l] == ' ')
			return buf + l + 1;
	return NULL;
}

static int md_is_group(const char *w)
{
	char nm[64];
	for (size_t i = 0; i < MD_ARRAY_LEN(md_cmds); i++)
		if (md_cmd_in_group(&md_cmds[i], w, nm, sizeof nm))
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
	char nm[64];
	for (size_t i = 0; i < MD_ARRAY_LEN(md_cmds); i++)
		if (md_cmd_name(&md_cmds[i], 0, nm, sizeof nm) && !strchr(nm, ' ') && !(md_cmds[i].flags & MD_CMD_HIDDEN))
			fprintf(f, "  %-10s  %s\n", nm, md_cmds[i].summary);
	fprintf(f, "\nManagement commands:\n");
	const char *groups[] = {"container", "image", MD_FEATURE_NET ? "network" : "system", "system", "volume"};
	for (size_t g = 0; g < MD_ARRAY_LEN(groups); g++)
		fprintf(f, "  %-10s  Manage %ss\n", groups[g], groups[g]);
	fprintf(f, "\nRun 'minidock COMMAND --help' for more information on a command.\n");
}

static void md_help_group(FILE *f, const char *group)
{
	fprintf(f, "Usage:  minidock %s COMMAND\n\nCommands:\n", group);
	char nm[64];
	const char *sub;
	for (size_t i = 0; i < MD_ARRAY_LEN(md_cmds); i++)
		if ((sub = md_cmd_in_group(&md_cmds[i], group, nm, sizeof nm)))
			fprintf(f, "  %-10s  %s\n", sub, md_cmds[i].summary);
	fprintf(f, "\nRun 'minidock %s COMMAND --help' for more information on a command.\n", group);
}

static void md_help_cmd(FILE *f, const struct md_cmd *c, const char *as)
{
	fprintf(f, "Usage:  minidock %s %s\n\n%s\n", as, c->usage, c->summary);
	char nm[64];
	for (int k = 0; strchr(c->names, '|') && md_cmd_name(c, k, nm, sizeof nm); k++)
		fprintf(f, "%sminidock %s", k ? ", " : "\nAliases:\n  ", nm);
	if (strchr(c->names, '|'))
		fputc('\n', f);
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

/* Run row c as the user named it (as: NULL for its main name). */
static int md_run_cmd(const struct md_cmd *c, const char *as, int argc, char **argv)
{
	static char name[64];
	if (as)
		snprintf(name, sizeof name, "%s", as);
	else
		md_cmd_name(c, 0, name, sizeof name);
	md_cmdname = name;
	/* -h is help, unless the command has a -h of its own (run -h HOSTNAME) */
	int own_h = c->fn == md_cmd_history;
	for (const struct md_optdef *o = c->opts; o && o->lng; o++)
		own_h |= o->shrt == 'h';
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || (strcmp(argv[i], "-h") == 0 && !own_h)) {
			md_help_cmd(stdout, c, name);
			return 0;
		}
		if ((c->flags & MD_CMD_STOP_AT_POS) && argv[i][0] != '-')
			break;
	}
	struct md_args a = {c, NULL, 0, NULL, {0}};
	if (md_args_parse(&a, c->opts, argc, argv, c->flags & MD_CMD_STOP_AT_POS) < 0) {
		md_args_free(&a);
		return md_usage_error(name);
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
		return md_usage_error(name);
	}
	int r = c->fn(&a);
	md_args_free(&a);
	fflush(stdout);
	return r;
}

/**** 26 api: `minidock serve`, the Docker Engine API [MD_FEATURE_API] *****/
/*
 * The second front end, beside the CLI: each connection is served by a
 * process forked from the listener; a request's handler turns the query
 * and JSON body into an engine call (sections 19-20) and the result into
 * Docker's JSON, or the engine's error into {"message"} with the status of
 * its kind (md_errkinds).  It never runs the CLI nor reads its text.
 * Streams (attach, logs, exec) hand the client's socket to the engine's
 * relays as their stdio, writing Docker's multiplexed stream format when
 * there is no terminal (md_out); long operations (pull) report through
 * md_report as Docker's JSON progress messages.
 *
 * May call: sections 01-20 (and md_cmd_serve, the `serve` command that
 * starts this front end, reads its flags with section 21's md_opt).
 * The listener only accepts, admits or refuses, forks and reaps; between
 * connections it trims its resident pages like a monitor does, so it
 * idles small.
 *
 * Limits, so that no client can hold the server: a request head is at
 * most 64 KiB and must be whole 10 s after its first byte (a new
 * connection's first head, 10 s after the connect); a body may take 10 s
 * of waiting, plus a second for each KiB it brings (a big images/load runs
 * as long as it moves, a trickle is cut), and never stalls for 30 s; a
 * JSON body is at most 1 MiB; an idle keep-alive connection lasts 60 s.
 * Connections: MD_API_CONNS for short requests, MD_API_STREAMS for long
 * streams (responses that last as long as a container or the client
 * wants: wait, logs -f, attach, exec, pull, save) in a budget of their
 * own, so short requests always find a slot (a stream whose client hangs
 * up ends); each uid but root (the socket's owner) holds at most
 * MD_API_CONNS_PER_UID, streams included (SO_PEERCRED).  Past a limit the
 * listener still accepts, answers 503 with Docker's {"message"} naming the
 * limit and closes (md_api_refuse), never leaving a client queued; it
 * never blocks on a client.  A connection learns that it is a stream only
 * when its request is routed: it flags its slot in a page shared with the
 * listener (md_api_stream_claim), which clears the flag when it reaps the
 * process, so a killed connection never leaks a slot.
 */

#if MD_FEATURE_API

#define MD_API_VERSION "1.43"
#define MD_API_MIN_VERSION "1.24"
#define MD_API_HEAD_MAX 65536
#define MD_API_BODY_MAX (1 << 20)
#ifndef MD_API_CONNS
#define MD_API_CONNS 64 /* connections for short requests */
#endif
#ifndef MD_API_STREAMS
#define MD_API_STREAMS 32 /* long streams, besides those */
#endif
#ifndef MD_API_CONNS_PER_UID
#define MD_API_CONNS_PER_UID 16 /* any uid but root, streams included */
#endif
#define MD_API_SLOTS (MD_API_CONNS + MD_API_STREAMS)
#define MD_API_HEAD_MS 10000       /* a request head, from its first byte */
#define MD_API_IDLE_MS 60000       /* keep-alive, between requests */
#define MD_API_STALL_MS 30000      /* a body: the longest wait for a byte */
#define MD_API_BODY_GRACE_MS 10000 /* a body: waiting allowed before ... */
#define MD_API_BODY_RATE 1024      /* ... a second more per this many bytes */
#define MD_API_REFUSING 16         /* 503s the listener delivers at once */

/* A parsed request head (md_api_parse_head: no I/O, fuzzed). */
struct md_api_req {
	char method[16];
	char path[4096];   /* decoded later, segment by segment */
	char query[4096];  /* raw, without '?' */
	struct md_strv hname, hval; /* header names lower-cased */
	long long clen;    /* -1: none */
	int chunked, upgrade, close;
	int minor;         /* HTTP/1.minor */
};

static void md_api_req_free(struct md_api_req *r)
{
	md_strv_free(&r->hname);
	md_strv_free(&r->hval);
}

static MD_UNUSED const char *md_api_header(const struct md_api_req *r, const char *name)
{
	for (size_t i = 0; i < r->hname.n; i++)
		if (strcmp(r->hname.v[i], name) == 0)
			return r->hval.v[i];
	return NULL;
}

/* Parse "METHOD TARGET HTTP/1.x\r\n" and headers, up to the blank line
 * (buf holds exactly the head, len bytes, ending "\r\n\r\n").  0 or -1
 * (md_err says why: the client gets 400). */
static int md_api_parse_head(const char *buf, size_t len, struct md_api_req *r)
{
	memset(r, 0, sizeof *r);
	r->clen = -1;
	if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0)
		return md_err("incomplete request head");
	if (memchr(buf, 0, len))
		return md_err("NUL byte in the request head");
	const char *end = buf + len - 2, *p = buf;
	const char *eol = memchr(p, '\r', (size_t)(end - p));
	if (!eol || eol[1] != '\n')
		return md_err("bad request line");
	/* METHOD SP TARGET SP HTTP/1.x */
	const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == p || (size_t)(sp1 - p) >= sizeof r->method || sp2 == sp1 + 1)
		return md_err("bad request line");
	for (const char *q = p; q < sp1; q++)
		if (!isupper((unsigned char)*q))
			return md_err("bad method");
	memcpy(r->method, p, (size_t)(sp1 - p));
	const char *tgt = sp1 + 1, *ver = sp2 + 1;
	if (eol - ver != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)ver[7]))
		return md_err("bad HTTP version");
	r->minor = ver[7] - '0';
	if (*tgt != '/')
		return md_err("request target must be a path");
	const char *qm = memchr(tgt, '?', (size_t)(sp2 - tgt));
	size_t pl = (size_t)((qm ? qm : sp2) - tgt), ql = qm ? (size_t)(sp2 - qm - 1) : 0;
	if (pl >= sizeof r->path || ql >= sizeof r->query)
		return md_err("request target too long");
	memcpy(r->path, tgt, pl);
	if (qm)
		memcpy(r->query, qm + 1, ql);
	for (const char *c = tgt; c < sp2; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return md_err("bad character in the request target");
	r->close = r->minor == 0;
	p = eol + 2;
	while (p < end) {
		eol = memchr(p, '\r', (size_t)(end - p + 1));
		if (!eol || eol[1] != '\n')
			return md_err("bad header line");
		if (eol == p)
			break;
		if (*p == ' ' || *p == '\t')
			return md_err("folded header lines are not accepted");
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return md_err("bad header line");
		for (const char *c = p; c < colon; c++)
			if (!isalnum((unsigned char)*c) && (!*c || !strchr("!#$%&'*+-.^_`|~", *c)))
				return md_err("bad header name");
		if (r->hname.n >= 100)
			return md_err("too many headers");
		const char *v = colon + 1, *ve = eol;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		/* CR, LF and other controls in a value are refused (RFC 9112): a
		 * bare LF is where a proxy in front may see a second header */
		for (const char *c = v; c < ve; c++)
			if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
				return md_err("bad character in header %.*s", (int)(colon - p < 64 ? colon - p : 64), p);
		char name[128];
		size_t nl = (size_t)(colon - p);
		if (nl >= sizeof name)
			return md_err("header name too long");
		for (size_t i = 0; i < nl; i++)
			name[i] = (char)tolower((unsigned char)p[i]);
		name[nl] = 0;
		char *val = md_strndup(v, (size_t)(ve - v));
		if (strcmp(name, "content-length") == 0) {
			char *e;
			errno = 0;
			long long cl = strtoll(val, &e, 10);
			if (!*val || val[strspn(val, "0123456789")] || *e || cl < 0 || errno || (r->clen >= 0 && r->clen != cl)) {
				free(val);
				return md_err("bad Content-Length");
			}
			r->clen = cl;
		} else if (strcmp(name, "transfer-encoding") == 0) {
			if (strcasecmp(val, "chunked") != 0) {
				free(val);
				return md_err("unsupported Transfer-Encoding");
			}
			r->chunked = 1;
		} else if (strcmp(name, "connection") == 0) {
			/* a comma-separated list of tokens; close wins (RFC 9112 9.6) */
			int cl = 0, ka = 0;
			for (const char *t = val; *t;) {
				t += strspn(t, " \t,");
				size_t tl = strcspn(t, ",");
				while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
					tl--;
				if (tl == 5 && !strncasecmp(t, "close", 5))
					cl = 1;
				else if (tl == 10 && !strncasecmp(t, "keep-alive", 10))
					ka = 1;
				else if (tl == 7 && !strncasecmp(t, "upgrade", 7))
					r->upgrade = 1;
				t += strcspn(t, ",");
			}
			if (cl)
				r->close = 1;
			else if (ka)
				r->close = 0;
		}
		md_strv_push(&r->hname, name);
		md_strv_push(&r->hval, val);
		free(val);
		p = eol + 2;
	}
	if (r->chunked && r->clen >= 0)
		return md_err("both Content-Length and chunked");
	return 0;
}

/* Percent-decode (and '+' as space, in queries); -1 on a bad escape. */
static int md_api_unescape(const char *s, size_t n, int plus, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n + 0 || !isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
				return -1;
			char hx[3] = {s[i + 1], s[i + 2], 0};
			c = (char)strtol(hx, NULL, 16);
			i += 2;
			if (!c)
				return -1;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (k + 1 >= cap)
			return -1;
		out[k++] = c;
	}
	out[k] = 0;
	return 0;
}

/* The value of query parameter name (decoded, static buffer per call
 * site's copy), or NULL. */
static char *md_api_q(const struct md_api_req *r, const char *name)
{
	static char val[4096];
	size_t nl = strlen(name);
	for (const char *p = r->query; *p;) {
		const char *amp = strchr(p, '&'), *e = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(e - p));
		char key[256];
		if (md_api_unescape(p, (size_t)((eq ? eq : e) - p), 1, key, sizeof key) == 0 && strlen(key) == nl &&
		    memcmp(key, name, nl) == 0) {
			if (!eq)
				return (val[0] = 0, val);
			if (md_api_unescape(eq + 1, (size_t)(e - eq - 1), 1, val, sizeof val) == 0)
				return val;
		}
		p = amp ? amp + 1 : e;
	}
	return NULL;
}

/* All values of a repeated parameter (images/get?names=a&names=b). */
static void md_api_qall(const struct md_api_req *r, const char *name, struct md_strv *out)
{
	size_t nl = strlen(name);
	for (const char *p = r->query; *p;) {
		const char *amp = strchr(p, '&'), *e = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(e - p));
		char key[256], val[4096];
		if (eq && md_api_unescape(p, (size_t)(eq - p), 1, key, sizeof key) == 0 && strlen(key) == nl &&
		    memcmp(key, name, nl) == 0 && md_api_unescape(eq + 1, (size_t)(e - eq - 1), 1, val, sizeof val) == 0)
			md_strv_push(out, val);
		p = amp ? amp + 1 : e;
	}
}

/* Docker's boolean query values (httputils.BoolValue): false when empty,
 * 0, no, false or none (any case, blanks trimmed), else true; absent is
 * def.  So "?force" and "?force=" do not force, as with Docker. */
static int md_api_qbool(const struct md_api_req *r, const char *name, int def)
{
	const char *v = md_api_q(r, name);
	if (!v)
		return def;
	while (isspace((unsigned char)*v))
		v++;
	size_t n = strlen(v);
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	static const char *const no[] = {"", "0", "no", "false", "none"};
	for (size_t i = 0; i < MD_ARRAY_LEN(no); i++)
		if (strlen(no[i]) == n && strncasecmp(v, no[i], n) == 0)
			return 0;
	return 1;
}

/* ---- one connection ---- */

struct md_api_conn {
	int fd;
	char *buf;      /* bytes read past the current request's head */
	size_t len, off;
	struct md_api_req rq;
	int keep;       /* keep the connection after this response */
	int body_done;  /* the request's body has been read (or tried) */
	long long body_got;  /* bytes of the body read so far */
	int64_t body_waited; /* ms spent waiting for them */
};

/* Wait up to ms for fd; 1 ready, 0 timeout, -1 error. */
static int md_api_wait(int fd, short ev, int ms)
{
	struct pollfd pf = {fd, ev, 0};
	int r;
	while ((r = poll(&pf, 1, ms)) < 0 && errno == EINTR)
		;
	return r;
}

/* What is left of a body's time: MD_API_BODY_GRACE_MS, and a second more
 * for each MD_API_BODY_RATE bytes it brought, less the time spent waiting
 * for the client (not the time the server took to use what came: a slow
 * disk under images/load is not the client's fault). */
static int64_t md_api_body_left(const struct md_api_conn *c)
{
	return MD_API_BODY_GRACE_MS + c->body_got * 1000 / MD_API_BODY_RATE - c->body_waited;
}

/* Read body bytes; 0 at the end of the stream, -1 when the body came too
 * slowly, stalled, or the read failed (md_err says which). */
static ssize_t md_api_read(struct md_api_conn *c, void *p, size_t n)
{
	ssize_t k;
	if (c->off < c->len) {
		k = (ssize_t)(c->len - c->off < n ? c->len - c->off : n);
		memcpy(p, c->buf + c->off, (size_t)k);
		c->off += (size_t)k;
		c->body_got += k;
		return k;
	}
	int64_t left = md_api_body_left(c), t0 = md_cg_now_ms();
	if (left <= 0)
		return md_err("the request body came slower than %d bytes/s", MD_API_BODY_RATE);
	int w = md_api_wait(c->fd, POLLIN, left < MD_API_STALL_MS ? (int)left : MD_API_STALL_MS);
	c->body_waited += md_cg_now_ms() - t0;
	if (w < 0)
		return md_errno("poll the connection");
	if (w == 0 && left < MD_API_STALL_MS)
		return md_err("the request body came slower than %d bytes/s", MD_API_BODY_RATE);
	if (w == 0)
		return md_err("the request body stalled for %d s", MD_API_STALL_MS / 1000);
	while ((k = read(c->fd, p, n)) < 0 && errno == EINTR)
		;
	if (k < 0)
		return md_errno("read the request body");
	c->body_got += k;
	return k;
}

/* Read the next request head; 0, or -1 (closed, timed out, or bad: then
 * *bad is set and md_err says why).  The head must be whole MD_API_HEAD_MS
 * after its first byte, or after the connect for a fresh connection's
 * first: a client that trickles bytes cannot keep its slot (Go's
 * ReadHeaderTimeout); before that the connection idles up to idle_ms. */
static int md_api_read_head(struct md_api_conn *c, int idle_ms, int fresh, int *bad)
{
	*bad = 0;
	/* keep what follows the previous request */
	if (c->off)
		memmove(c->buf, c->buf + c->off, c->len - c->off);
	c->len -= c->off;
	c->off = 0;
	size_t scan = 0;
	int64_t until = c->len || fresh ? md_cg_now_ms() + MD_API_HEAD_MS : 0;
	for (;;) {
		for (; scan + 4 <= c->len; scan++)
			if (memcmp(c->buf + scan, "\r\n\r\n", 4) == 0) {
				size_t hl = scan + 4;
				md_api_req_free(&c->rq);
				if (md_api_parse_head(c->buf, hl, &c->rq) < 0) {
					*bad = 1;
					return -1;
				}
				c->off = hl;
				c->body_done = 0;
				c->body_got = c->body_waited = 0;
				return 0;
			}
		if (c->len >= MD_API_HEAD_MAX) {
			*bad = 1;
			return md_err("request head larger than %d bytes", MD_API_HEAD_MAX);
		}
		int64_t left = until ? until - md_cg_now_ms() : idle_ms;
		if (left <= 0 || md_api_wait(c->fd, POLLIN, (int)left) <= 0)
			return -1;
		ssize_t k = read(c->fd, c->buf + c->len, MD_API_HEAD_MAX - c->len);
		if (k <= 0)
			return -1;
		c->len += (size_t)k;
		if (!until)
			until = md_cg_now_ms() + MD_API_HEAD_MS;
	}
}

/* Read a line (of a chunked body) into line; -1 on timeout, end or
 * overflow (md_err says which). */
static int md_api_line(struct md_api_conn *c, char *line, size_t cap)
{
	size_t k = 0;
	for (;;) {
		char ch;
		ssize_t r = md_api_read(c, &ch, 1);
		if (r != 1)
			return r < 0 ? -1 : md_err("bad chunked body");
		if (ch == '\n')
			break;
		if (k + 1 >= cap)
			return md_err("bad chunked body");
		line[k++] = ch;
	}
	if (k && line[k - 1] == '\r')
		k--;
	line[k] = 0;
	return 0;
}

/* Stream the request body to fn (Content-Length or chunked); -1 on a bad
 * or stalled body, or when fn fails. */
static int md_api_body_each(struct md_api_conn *c, int (*fn)(void *, const char *, size_t), void *ctx)
{
	char buf[32768];
	if (c->body_done)
		return 0;
	c->body_done = 1;
	if (!c->rq.chunked) {
		long long left = c->rq.clen < 0 ? 0 : c->rq.clen;
		while (left > 0) {
			ssize_t k = md_api_read(c, buf, left < (long long)sizeof buf ? (size_t)left : sizeof buf);
			if (k <= 0)
				return k < 0 ? -1 : md_err("the request body ended early");
			if (fn(ctx, buf, (size_t)k) < 0)
				return -1;
			left -= k;
		}
		return 0;
	}
	for (;;) {
		char line[256];
		if (md_api_line(c, line, sizeof line) < 0)
			return -1;
		char *e;
		errno = 0;
		unsigned long long n = strtoull(line, &e, 16);
		size_t hx = strspn(line, "0123456789abcdefABCDEF");
		if (!hx || e != line + hx || (*e && *e != ';') || errno || n > (1ULL << 40))
			return md_err("bad chunk size");
		if (n == 0) {
			/* trailers, up to the blank line */
			do {
				if (md_api_line(c, line, sizeof line) < 0)
					return -1;
			} while (line[0]);
			return 0;
		}
		while (n > 0) {
			ssize_t k = md_api_read(c, buf, n < sizeof buf ? (size_t)n : sizeof buf);
			if (k <= 0)
				return k < 0 ? -1 : md_err("the request body ended early");
			if (fn(ctx, buf, (size_t)k) < 0)
				return -1;
			n -= (size_t)k;
		}
		if (md_api_line(c, line, sizeof line) < 0)
			return -1;
		if (line[0])
			return md_err("bad chunked body");
	}
}

static int md_api_sb_add(void *ctx, const char *p, size_t n)
{
	struct md_sb *b = ctx;
	if (b->len + n > MD_API_BODY_MAX)
		return md_err("request body larger than %d bytes", MD_API_BODY_MAX);
	md_sb_putn(b, p, n);
	return 0;
}

/* The request body as JSON (NULL body: an empty object). NULL on error. */
static struct md_json *md_api_body_json(struct md_api_conn *c)
{
	struct md_sb b = {0};
	if (md_api_body_each(c, md_api_sb_add, &b) < 0) {
		md_sb_free(&b);
		return NULL;
	}
	struct md_json *j = b.len ? md_json_parse(b.s, b.len) : md_json_new(MD_J_OBJ);
	md_sb_free(&b);
	if (!j)
		md_err_wrap("request body");
	return j;
}

static int md_api_discard(void *ctx, const char *p, size_t n)
{
	(void)ctx, (void)p, (void)n;
	return 0;
}

/* ---- responses ---- */

static const char *md_api_reason(int st)
{
	switch (st) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* Head of a response; len -1: the body runs to the end of the connection. */
static int md_api_head(struct md_api_conn *c, int st, const char *ctype, long long len)
{
	struct md_sb h = {0};
	if (len == -1)
		c->keep = 0;
	md_sb_printf(&h,
	             "HTTP/1.1 %d %s\r\nApi-Version: " MD_API_VERSION "\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
	             "Server: minidock/" MD_VERSION "\r\n",
	             st, md_api_reason(st));
	if (ctype)
		md_sb_printf(&h, "Content-Type: %s\r\n", ctype);
	if (len >= 0)
		md_sb_printf(&h, "Content-Length: %lld\r\n", len);
	md_sb_printf(&h, "Connection: %s\r\n\r\n", c->keep ? "keep-alive" : "close");
	int r = md_write_all(c->fd, h.s, h.len);
	md_sb_free(&h);
	return r;
}

static int md_api_send(struct md_api_conn *c, int st, const char *ctype, const char *body, size_t len)
{
	int r = md_api_head(c, st, len || ctype ? ctype : NULL, st == 204 || st == 304 ? -2 : (long long)len);
	if (r == 0 && len)
		r = md_write_all(c->fd, body, len);
	return r;
}

static int md_api_json(struct md_api_conn *c, int st, struct md_json *j)
{
	char *s = md_json_dump(j, 0);
	int r = md_api_send(c, st, "application/json", s, strlen(s));
	free(s);
	md_json_free(j);
	return r;
}

static int md_api_err(struct md_api_conn *c, int st, const char *fmt, ...) MD_PRINTF(3, 4);
static int md_api_err(struct md_api_conn *c, int st, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct md_json *j = md_json_new(MD_J_OBJ);
	md_json_sets(j, "message", msg);
	return md_api_json(c, st, j);
}

/* The recorded engine error, with the status its kind gives. */
static int md_api_engine_err(struct md_api_conn *c)
{
	return md_api_err(c, md_errkinds[md_error.kind].http, "%s", md_errmsg[0] ? md_errmsg : "failed");
}

/* The stream flags: one int per connection slot in a page shared by the
 * listener and its connection processes (NULL outside serve: no limit),
 * and this connection process's slot. */
static int *md_api_streams;
static int md_api_slot = -1;

static int md_api_nstreams(void)
{
	int n = 0;
	for (int i = 0; md_api_streams && i < MD_API_SLOTS; i++)
		n += __atomic_load_n(&md_api_streams[i], __ATOMIC_SEQ_CST);
	return n;
}

/* A handler whose response lasts as long as a container or the client
 * wants moves its connection from the short-request budget to the stream
 * budget before it answers, or answers 503 when that is full.  The flag
 * is set, then counted: two claims racing for the last slot may both be
 * refused, never both admitted.  The listener clears it at the reap. */
static int md_api_stream_claim(struct md_api_conn *c)
{
	if (!md_api_streams || md_api_slot < 0)
		return 0;
	/* a stream never goes back to short requests: even an error that
	 * follows ends the connection */
	c->keep = 0;
	__atomic_store_n(&md_api_streams[md_api_slot], 1, __ATOMIC_SEQ_CST);
	if (md_api_nstreams() <= MD_API_STREAMS)
		return 0;
	__atomic_store_n(&md_api_streams[md_api_slot], 0, __ATOMIC_SEQ_CST);
	md_api_err(c, 503, "too many streams: minidock serve holds at most %d streaming connections (wait, logs -f, "
	                   "attach, exec, pull, save) at once", MD_API_STREAMS);
	return -1;
}

/* Take over the connection for a raw stream (attach, exec start): 101 if
 * the client asked to upgrade, else 200; the caller owns the socket. */
static int md_api_hijack(struct md_api_conn *c, int tty)
{
	const char *ct = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
	char h[300];
	int n = c->rq.upgrade ? snprintf(h, sizeof h, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\n"
	                                              "Upgrade: tcp\r\nApi-Version: " MD_API_VERSION "\r\n\r\n", ct)
	                      : snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nApi-Version: " MD_API_VERSION
	                                              "\r\n\r\n", ct);
	c->keep = 0;
	return md_write_all(c->fd, h, (size_t)n);
}

/* Put the client's socket where a CLI relay expects its stdio, in the
 * stream format the client wants; the process ends with the stream. */
static void md_api_stdio(struct md_api_conn *c, int mux)
{
	dup2(c->fd, 0);
	dup2(c->fd, 1);
	dup2(c->fd, 2);
	md_out_mux = mux;
	md_api_child = 1;
	signal(SIGPIPE, SIG_IGN);
}

/* ---- handlers ---- */

struct md_api_ctx {
	struct md_api_conn *c;
	const struct md_api_req *r;
	char *arg[2];   /* the path's captured segments */
	double ver;     /* the API version asked for (/v1.43/...) */
};

typedef int (*md_api_fn)(struct md_api_ctx *);

static int md_api_ping(struct md_api_ctx *x)
{
	if (strcmp(x->r->method, "HEAD") == 0)
		return md_api_head(x->c, 200, "text/plain; charset=utf-8", 0);
	return md_api_send(x->c, 200, "text/plain; charset=utf-8", "OK", 2);
}

static void md_api_uname(struct md_json *o, const char *os_key, const char *arch_key, const char *kern_key)
{
	struct utsname u;
	uname(&u);
	md_json_sets(o, os_key, "linux");
	md_json_sets(o, arch_key, md_host_arch());
	md_json_sets(o, kern_key, u.release);
}

static int md_api_version(struct md_api_ctx *x)
{
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "Version", MD_VERSION);
	md_json_sets(o, "ApiVersion", MD_API_VERSION);
	md_json_sets(o, "MinAPIVersion", MD_API_MIN_VERSION);
	md_json_sets(o, "GitCommit", "minidock");
	md_json_sets(o, "GoVersion", "none (C, musl)");
	md_api_uname(o, "Os", "Arch", "KernelVersion");
	md_json_sets(o, "BuildTime", "");
	struct md_json *pl = md_json_set(o, "Platform", md_json_new(MD_J_OBJ));
	md_json_sets(pl, "Name", "minidock");
	struct md_json *cs = md_json_set(o, "Components", md_json_new(MD_J_ARR));
	struct md_json *e = md_json_push(cs, md_json_new(MD_J_OBJ));
	md_json_sets(e, "Name", "Engine");
	md_json_sets(e, "Version", MD_VERSION);
	struct md_json *d = md_json_set(e, "Details", md_json_new(MD_J_OBJ));
	md_json_sets(d, "ApiVersion", MD_API_VERSION);
	md_json_sets(d, "MinAPIVersion", MD_API_MIN_VERSION);
	md_api_uname(d, "Os", "Arch", "KernelVersion");
	return md_api_json(x->c, 200, o);
}

static int md_api_info(struct md_api_ctx *x)
{
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_api_engine_err(x->c);
	long long run = 0, paused = 0, stopped = 0, all = 0, imgs = 0;
	for (struct md_json *e = md_json_get(idx, "containers")->child; e; e = e->next) {
		struct md_ctr c;
		if (md_ctr_load(e->key, &c) < 0)
			continue;
		const char *s = md_ctr_state(&c);
		all++;
		run += md_streq(s, "running") || md_streq(s, "restarting");
		paused += md_streq(s, "paused");
		md_ctr_free(&c);
	}
	stopped = all - run - paused;
	for (struct md_json *e = md_json_get(idx, "images")->child; e; e = e->next)
		imgs++;
	md_json_free(idx);
	md_err_clear();
	struct md_json *o = md_json_new(MD_J_OBJ);
	char hn[256] = "";
	gethostname(hn, sizeof hn - 1);
	md_json_sets(o, "ID", hn);
	md_json_seti(o, "Containers", all);
	md_json_seti(o, "ContainersRunning", run);
	md_json_seti(o, "ContainersPaused", paused);
	md_json_seti(o, "ContainersStopped", stopped);
	md_json_seti(o, "Images", imgs);
	md_json_sets(o, "Driver", "overlay2");
	struct md_json *ds = md_json_set(o, "DriverStatus", md_json_new(MD_J_ARR));
	struct md_json *d1 = md_json_push(ds, md_json_new(MD_J_ARR));
	md_json_push(d1, md_json_newstr("Backing Filesystem"));
	md_json_push(d1, md_json_newstr("overlayfs layers in the minidock store"));
	struct md_json *pl = md_json_set(o, "Plugins", md_json_new(MD_J_OBJ));
	struct md_json *pv = md_json_set(pl, "Volume", md_json_new(MD_J_ARR));
	md_json_push(pv, md_json_newstr("local"));
	struct md_json *pn = md_json_set(pl, "Network", md_json_new(MD_J_ARR));
	md_json_push(pn, md_json_newstr("bridge"));
	md_json_push(pn, md_json_newstr("host"));
	md_json_push(pn, md_json_newstr("none"));
	struct md_json *plg = md_json_set(pl, "Log", md_json_new(MD_J_ARR));
	md_json_push(plg, md_json_newstr("local"));
	md_json_set(o, "MemoryLimit", md_json_newbool(1));
	md_json_set(o, "SwapLimit", md_json_newbool(1));
	md_json_set(o, "CpuCfsPeriod", md_json_newbool(1));
	md_json_set(o, "CpuCfsQuota", md_json_newbool(1));
	md_json_set(o, "CPUShares", md_json_newbool(1));
	md_json_set(o, "CPUSet", md_json_newbool(1));
	md_json_set(o, "PidsLimit", md_json_newbool(1));
	md_json_set(o, "IPv4Forwarding", md_json_newbool(1));
	md_json_set(o, "Debug", md_json_newbool(0));
	md_json_seti(o, "NFd", 0);
	md_json_seti(o, "NGoroutines", 0);
	char now[64];
	md_time_now(now, sizeof now);
	md_json_sets(o, "SystemTime", now);
	md_json_sets(o, "LoggingDriver", "local");
	md_json_sets(o, "CgroupDriver", "cgroupfs");
	enum md_cg_mode cm = md_cg_detect();
	md_json_sets(o, "CgroupVersion", cm == MD_CG_V2 ? "2" : "1");
	struct utsname u;
	uname(&u);
	md_json_sets(o, "KernelVersion", u.release);
	md_json_sets(o, "OSType", "linux");
	md_json_sets(o, "Architecture", u.machine);
	md_json_sets(o, "OperatingSystem", "minidock on Linux");
	md_json_sets(o, "OSVersion", "");
	md_json_seti(o, "NCPU", md_ncpus());
	long long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	md_json_seti(o, "MemTotal", pages > 0 && psz > 0 ? pages * psz : 0);
	md_json_sets(o, "IndexServerAddress", "");
	md_json_sets(o, "DockerRootDir", md_store.root);
	md_json_sets(o, "Name", hn);
	md_json_set(o, "Labels", md_json_new(MD_J_ARR));
	md_json_set(o, "ExperimentalBuild", md_json_newbool(0));
	md_json_sets(o, "ServerVersion", MD_VERSION);
	md_json_sets(o, "DefaultRuntime", "minidock");
	struct md_json *rt = md_json_set(o, "Runtimes", md_json_new(MD_J_OBJ));
	struct md_json *rm = md_json_set(rt, "minidock", md_json_new(MD_J_OBJ));
	md_json_sets(rm, "path", "minidock");
	md_json_set(o, "LiveRestoreEnabled", md_json_newbool(1));
	md_json_sets(o, "Isolation", "");
	md_json_sets(o, "InitBinary", "minidock-init");
	struct md_json *so = md_json_set(o, "SecurityOptions", md_json_new(MD_J_ARR));
	if (MD_FEATURE_SECCOMP)
		md_json_push(so, md_json_newstr("name=seccomp,profile=builtin"));
	if (MD_FEATURE_USERNS)
		md_json_push(so, md_json_newstr("name=userns"));
	md_json_set(o, "Warnings", md_json_new(MD_J_ARR));
	return md_api_json(x->c, 200, o);
}

/* ---- images ---- */

static int md_api_images(struct md_api_ctx *x)
{
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_api_engine_err(x->c);
	struct md_json *arr = md_json_new(MD_J_ARR);
	for (struct md_json *im = md_json_get(idx, "images")->child; im; im = im->next) {
		struct md_strv tags = {0};
		md_image_tags(idx, im->key, &tags);
		struct md_json *cfg = md_blob_json(im->key);
		struct md_json *o = md_json_push(arr, md_json_new(MD_J_OBJ));
		md_json_sets(o, "Id", im->key);
		md_json_sets(o, "ParentId", "");
		struct md_json *rt = md_json_set(o, "RepoTags", md_json_new(MD_J_ARR));
		for (size_t i = 0; i < tags.n; i++)
			md_json_push(rt, md_json_newstr(tags.v[i]));
		struct md_json *rd = md_json_set(o, "RepoDigests", md_json_new(MD_J_ARR));
		struct md_json *ds = md_json_get(im, "digests");
		for (struct md_json *d = ds ? ds->child : NULL; d; d = d->next)
			if (md_json_str(d))
				md_json_push(rd, md_json_newstr(d->s));
		md_json_seti(o, "Created", (long long)md_image_created(cfg));
		long long sz = (long long)md_image_size(idx, im->key);
		md_json_seti(o, "Size", sz);
		md_json_seti(o, "VirtualSize", sz);
		md_json_seti(o, "SharedSize", -1);
		struct md_json *lb = md_json_get(md_json_get(cfg, "config"), "Labels");
		md_json_set(o, "Labels", md_json_is(lb, MD_J_OBJ) ? md_json_clone(lb) : md_json_new(MD_J_OBJ));
		md_json_seti(o, "Containers", -1);
		md_json_free(cfg);
		md_strv_free(&tags);
	}
	md_json_free(idx);
	md_err_clear();
	return md_api_json(x->c, 200, arr);
}

static int md_api_image_inspect(struct md_api_ctx *x)
{
	struct md_json *idx = md_index_read();
	char id[MD_DIGEST_LEN + 1];
	if (!idx || md_image_resolve(idx, x->arg[0], id) < 0) {
		md_json_free(idx);
		return md_api_err(x->c, 404, "No such image: %s", x->arg[0]);
	}
	struct md_json *o = md_image_inspect_json(idx, id);
	md_json_free(idx);
	return o ? md_api_json(x->c, 200, o) : md_api_engine_err(x->c);
}

static int md_api_image_delete(struct md_api_ctx *x)
{
	struct md_sb out = {0};
	if (md_image_remove(&x->arg[0], 1, md_api_qbool(x->r, "force", 0), &out) < 0) {
		md_sb_free(&out);
		return md_api_engine_err(x->c);
	}
	/* "Untagged: x" / "Deleted: sha256:..." lines -> [{"Untagged": x}, ...] */
	struct md_json *arr = md_json_new(MD_J_ARR);
	for (char *l = strtok(out.s ? out.s : (char[1]){0}, "\n"); l; l = strtok(NULL, "\n")) {
		char *c = strstr(l, ": ");
		if (c) {
			*c = 0;
			md_json_sets(md_json_push(arr, md_json_new(MD_J_OBJ)), l, c + 2);
		}
	}
	md_sb_free(&out);
	return md_api_json(x->c, 200, arr);
}

static int md_api_image_tag(struct md_api_ctx *x)
{
	const char *repo = md_api_q(x->r, "repo");
	char target[1024];
	snprintf(target, sizeof target, "%s", repo ? repo : "");
	const char *tag = md_api_q(x->r, "tag");
	if (!*target)
		return md_api_err(x->c, 400, "repository name must have at least one component");
	if (tag && *tag)
		snprintf(target + strlen(target), sizeof target - strlen(target), ":%s", tag);
	if (md_image_tag(x->arg[0], target) < 0)
		return md_api_engine_err(x->c);
	return md_api_send(x->c, 201, NULL, NULL, 0);
}

/* A line of a JSON-lines answer as {"stream": "line\n"} (what load says). */
static void md_api_line_json(struct md_api_conn *c, const char *l)
{
	struct md_json *o = md_json_new(MD_J_OBJ);
	char *s = md_asprintf("%s\n", l);
	md_json_sets(o, "stream", s);
	free(s);
	s = md_json_dump(o, 0);
	md_json_free(o);
	md_write_all(c->fd, s, strlen(s));
	md_write_all(c->fd, "\r\n", 2);
	free(s);
}

static MD_UNUSED void md_api_stream_error(struct md_api_conn *c, const char *msg)
{
	struct md_json *o = md_json_new(MD_J_OBJ);
	struct md_json *d = md_json_set(o, "errorDetail", md_json_new(MD_J_OBJ));
	md_json_sets(d, "message", msg);
	md_json_sets(o, "error", msg);
	char *s = md_json_dump(o, 0);
	md_json_free(o);
	md_write_all(c->fd, s, strlen(s));
	md_write_all(c->fd, "\r\n", 2);
	free(s);
}

#if MD_FEATURE_PULL
/* The API's side of an engine report: Docker's JSON progress messages, a
 * layer's bytes at most once per 1% (or 256 KiB). */
struct md_api_progress {
	struct md_report r;
	struct md_api_conn *c;
	char id[16], status[32];
	uint64_t done;
};

static void md_api_progress_fn(struct md_report *r, const char *id, const char *status, uint64_t done, uint64_t total)
{
	struct md_api_progress *p = (struct md_api_progress *)r;
	uint64_t step = total / 100 > (256u << 10) ? total / 100 : 256u << 10;
	if (id && total && done < total && md_streq(p->id, id) && !strncmp(p->status, status, sizeof p->status - 1) &&
	    done - p->done < step)
		return;
	snprintf(p->id, sizeof p->id, "%s", id ? id : "");
	snprintf(p->status, sizeof p->status, "%s", status);
	p->done = done;
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "status", status);
	if (id) {
		struct md_json *pd = md_json_set(o, "progressDetail", md_json_new(MD_J_OBJ));
		if (total) {
			md_json_seti(pd, "current", (long long)done);
			md_json_seti(pd, "total", (long long)total);
		}
		md_json_sets(o, "id", id);
	}
	char *js = md_json_dump(o, 0);
	md_json_free(o);
	md_write_all(p->c->fd, js, strlen(js));
	md_write_all(p->c->fd, "\r\n", 2);
	free(js);
}

static int md_api_image_create(struct md_api_ctx *x)
{
	const char *from = md_api_q(x->r, "fromImage");
	if (!from || !*from) {
		md_api_body_each(x->c, md_api_discard, NULL);
		return md_api_err(x->c, 400, "fromImage is required (import from a URL or a request body is not supported)");
	}
	char ref[1024];
	snprintf(ref, sizeof ref, "%s", from);
	const char *tag = md_api_q(x->r, "tag");
	if (tag && *tag)
		snprintf(ref + strlen(ref), sizeof ref - strlen(ref), "%s%s", md_startswith(tag, "sha256:") ? "@" : ":", tag);
	/* X-Registry-Auth: base64url of {"username", "password"} */
	const char *xa = md_api_header(x->r, "x-registry-auth");
	if (xa && *xa) {
		char *js = md_unb64(xa, NULL);
		struct md_json *j = js ? md_json_parse(js, strlen(js)) : NULL;
		const char *u = md_json_gets(j, "username"), *p = md_json_gets(j, "password");
		if (u && *u && p) {
			char *up = md_asprintf("%s:%s", u, p);
			free(md_creds_override);
			md_creds_override = md_b64(up, strlen(up));
			free(up);
		}
		md_json_free(j);
		free(js);
		md_err_clear();
	}
	const char *plat = md_api_q(x->r, "platform");
	if (plat && *plat && md_platform_parse(plat, &md_want) < 0)
		return md_api_err(x->c, 400, "%s", md_errmsg);
	if (md_api_stream_claim(x->c) < 0)
		return -1;
	md_api_head(x->c, 200, "application/json", -1);
	struct md_api_progress pg = {{md_api_progress_fn}, x->c, "", "", 0};
	struct md_pulled pd;
	if (md_pull(ref, &pg.r, &pd) < 0) {
		md_api_stream_error(x->c, md_errmsg[0] ? md_errmsg : "pull failed");
	} else {
		md_reportf(&pg.r, NULL, 0, 0, "Digest: %s", pd.digest);
		md_reportf(&pg.r, NULL, 0, 0, "Status: %s for %s", pd.had ? "Image is up to date" : "Downloaded newer image", pd.name);
	}
	return -1; /* the body ran to the end of the connection */
}
#endif

/* images/load: the body (a tar, often chunked) is fed to the engine's
 * load (md_load_fd) through a pipe by a child. */
static int md_api_pipe_add(void *ctx, const char *p, size_t n)
{
	return md_write_all(*(int *)ctx, p, n);
}

static int md_api_image_load(struct md_api_ctx *x)
{
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0)
		return md_api_err(x->c, 500, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t feeder = fork();
	if (feeder == 0) {
		close(pp[0]);
		signal(SIGPIPE, SIG_IGN);
		_exit(md_api_body_each(x->c, md_api_pipe_add, &pp[1]) < 0 ? 1 : 0);
	}
	close(pp[1]);
	if (feeder < 0) {
		close(pp[0]);
		return md_api_err(x->c, 500, "fork: %s", strerror(errno));
	}
	/* the body's bytes are the feeder's now: this connection ends here */
	x->c->off = x->c->len;
	struct md_sb report = {0};
	int r = md_load_fd(pp[0], md_image_admit, &report);
	close(pp[0]);
	int st;
	waitpid(feeder, &st, 0);
	if (r < 0) {
		x->c->keep = 0;
		md_api_engine_err(x->c);
		md_sb_free(&report);
		return -1;
	}
	md_api_head(x->c, 200, "application/json", -1);
	for (char *l = strtok(report.s ? report.s : (char[1]){0}, "\n"); l; l = strtok(NULL, "\n"))
		md_api_line_json(x->c, l);
	md_sb_free(&report);
	return -1;
}

static int md_api_image_get(struct md_api_ctx *x)
{
	struct md_strv names = {0};
	if (x->arg[0])
		md_strv_push(&names, x->arg[0]);
	else
		md_api_qall(x->r, "names", &names);
	if (!names.n) {
		md_strv_free(&names);
		return md_api_err(x->c, 400, "no image names given");
	}
	/* check them first: once the tar flows, an error cannot be a status */
	struct md_json *idx = md_index_read();
	for (size_t i = 0; i < names.n; i++) {
		char id[MD_DIGEST_LEN + 1];
		if (!idx || md_image_resolve(idx, names.v[i], id) < 0) {
			md_json_free(idx);
			int r = md_api_err(x->c, 404, "No such image: %s", names.v[i]);
			md_strv_free(&names);
			return r;
		}
	}
	md_json_free(idx);
	if (md_api_stream_claim(x->c) < 0) {
		md_strv_free(&names);
		return -1;
	}
	md_api_head(x->c, 200, "application/x-tar", -1);
	/* the tar flows: an error now can only end the connection */
	md_image_save(names.v, names.n, x->c->fd, 0);
	md_strv_free(&names);
	return -1;
}

/* ---- containers ---- */

/* The container named in the path, or a 404 already sent. */
static int md_api_ctr(struct md_api_ctx *x, char id[65])
{
	if (md_ctr_find(x->arg[0], id) < 0) {
		md_api_err(x->c, 404, "No such container: %s", x->arg[0]);
		return -1;
	}
	return 0;
}

/* One container as GET /containers/json shows it. */
static struct md_json *md_api_ctr_summary(struct md_ctr *c)
{
	const char *state = md_ctr_state(c);
	struct md_json *o = md_json_new(MD_J_OBJ), *cc = md_json_get(c->cfg, "Config");
	md_json_sets(o, "Id", c->id);
	struct md_json *nm = md_json_set(o, "Names", md_json_new(MD_J_ARR));
	char *slash = md_asprintf("/%s", c->name);
	md_json_push(nm, md_json_newstr(slash));
	free(slash);
	md_json_sets(o, "Image", md_json_gets(cc, "Image") ? md_json_gets(cc, "Image") : "");
	md_json_sets(o, "ImageID", md_json_gets(c->cfg, "Image") ? md_json_gets(c->cfg, "Image") : "");
	struct md_sb cmd = {0};
	md_ctr_cmdline(c, &cmd);
	md_json_sets(o, "Command", md_sb_str(&cmd));
	md_sb_free(&cmd);
	double t = 0;
	md_time_parsef(md_json_gets(c->cfg, "Created"), &t);
	md_json_seti(o, "Created", (long long)t);
	struct md_json *ports = md_json_set(o, "Ports", md_json_new(MD_J_ARR));
	for (struct md_json *p = md_json_get(c->cfg, "Ports") ? md_json_get(c->cfg, "Ports")->child : NULL; p; p = p->next) {
		struct md_json *po = md_json_push(ports, md_json_new(MD_J_OBJ));
		const char *hip = md_json_gets(p, "HostIp");
		md_json_sets(po, "IP", hip && *hip ? hip : "0.0.0.0");
		md_json_seti(po, "PrivatePort", md_json_geti(p, "ContainerPort", 0));
		md_json_seti(po, "PublicPort", md_json_geti(p, "HostPort", 0));
		md_json_sets(po, "Type", md_json_gets(p, "Proto") ? md_json_gets(p, "Proto") : "tcp");
	}
	struct md_json *lb = md_json_get(cc, "Labels");
	md_json_set(o, "Labels", md_json_is(lb, MD_J_OBJ) ? md_json_clone(lb) : md_json_new(MD_J_OBJ));
	md_json_sets(o, "State", state);
	char st[128];
	md_ctr_status_text(c, state, st, sizeof st);
	md_json_sets(o, "Status", st);
	struct md_json *hc = md_json_set(o, "HostConfig", md_json_new(MD_J_OBJ));
	const char *nmode = md_json_gets(md_json_get(c->cfg, "HostConfig"), "NetworkMode");
	md_json_sets(hc, "NetworkMode", nmode ? nmode : "bridge");
	/* the two parts of inspect a list shows, without the rest of it */
	md_inspect_network(c, md_state_up(state), o);
	md_inspect_mounts(c, o);
	return o;
}

static int md_api_ctr_list(struct md_api_ctx *x)
{
	int all = md_api_qbool(x->r, "all", 0);
	const char *lim = md_api_q(x->r, "limit");
	long long limit = lim ? atoll(lim) : -1;
	/* filters: {"status": ["running"], "label": ["a=b"]} -> status=running ... */
	struct md_strv filters = {0};
	const char *fq = md_api_q(x->r, "filters");
	if (fq && *fq) {
		struct md_json *fj = md_json_parse(fq, strlen(fq));
		if (!md_json_is(fj, MD_J_OBJ)) {
			md_json_free(fj);
			return md_api_err(x->c, 400, "invalid filters: %s", fq);
		}
		for (struct md_json *k = fj->child; k; k = k->next) {
			/* a list of values, or {"value": true} as older clients send */
			for (struct md_json *v = k->child; v; v = v->next) {
				const char *val = k->t == MD_J_OBJ ? v->key : md_json_str(v);
				char *f = md_asprintf("%s=%s", k->key, val ? val : "");
				md_strv_push(&filters, f);
				free(f);
			}
		}
		md_json_free(fj);
	}
	struct md_ctr_query q = {&filters, all, limit};
	struct md_ctr *cs;
	size_t nc;
	int r = md_ctr_list(&q, &cs, &nc);
	md_strv_free(&filters);
	if (r < 0)
		return md_api_engine_err(x->c);
	struct md_json *arr = md_json_new(MD_J_ARR);
	for (size_t i = 0; i < nc; i++)
		md_json_push(arr, md_api_ctr_summary(&cs[i]));
	md_ctr_list_free(cs, nc);
	return md_api_json(x->c, 200, arr);
}

/* HostConfig fields minidock applies; any other one set to something
 * other than its zero value is refused (400), not silently ignored. */
static const char *const md_api_hc_known[] = {
	"Binds", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy", "AutoRemove", "CapAdd", "CapDrop",
	"Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "Privileged", "PublishAllPorts", "ReadonlyRootfs",
	"SecurityOpt", "Tmpfs", "UsernsMode", "ShmSize", "ConsoleSize", "CpuShares", "Memory", "NanoCpus", "CpuPeriod",
	"CpuQuota", "CpusetCpus", "CpusetMems", "Devices", "MemorySwap", "PidsLimit", "Ulimits", "Init", "Mounts",
	NULL};

static int md_api_zero(const struct md_json *v)
{
	if (!v || v->t == MD_J_NULL || v->t == MD_J_FALSE)
		return 1;
	if (v->t == MD_J_STR)
		return !v->s[0];
	if (v->t == MD_J_NUM)
		return md_strtod(v->s, NULL) == 0;
	if (v->t == MD_J_ARR || v->t == MD_J_OBJ) {
		for (const struct md_json *c = v->child; c; c = c->next)
			if (!md_api_zero(c))
				return 0;
		return 1;
	}
	return 0;
}

static int md_api_hc_check(struct md_json *hc, char *bad, size_t n)
{
	for (struct md_json *f = hc ? hc->child : NULL; f; f = f->next) {
		int known = 0;
		for (size_t i = 0; md_api_hc_known[i] && !known; i++)
			known = strcmp(f->key, md_api_hc_known[i]) == 0;
		if (known || md_api_zero(f))
			continue;
		/* values that mean "the default" */
		const char *s = md_json_str(f);
		if ((!strcmp(f->key, "IpcMode") && (md_streq(s, "private") || md_streq(s, "shareable"))) ||
		    (!strcmp(f->key, "CgroupnsMode") && (md_streq(s, "private") || md_streq(s, "host"))) ||
		    (!strcmp(f->key, "Isolation") && md_streq(s, "default")) ||
		    (!strcmp(f->key, "MemorySwappiness") && f->t == MD_J_NUM && atoll(f->s) == -1) ||
		    (!strcmp(f->key, "OomScoreAdj") && 0) || !strcmp(f->key, "MaskedPaths") || !strcmp(f->key, "ReadonlyPaths"))
			continue;
		snprintf(bad, n, "%s", f->key);
		return -1;
	}
	const char *lt = md_json_gets(md_json_get(hc, "LogConfig"), "Type");
	if (lt && *lt && strcmp(lt, "json-file") && strcmp(lt, "local")) {
		snprintf(bad, n, "LogConfig.Type %s", lt);
		return -1;
	}
	return 0;
}

static int md_api_ctr_create(struct md_api_ctx *x)
{
	struct md_json *body = md_api_body_json(x->c);
	if (!body)
		return md_api_err(x->c, 400, "%s", md_errmsg);
	if (!md_json_is(body, MD_J_OBJ)) {
		md_json_free(body);
		return md_api_err(x->c, 400, "the request body must be a JSON object");
	}
	/* the API's flat Config + HostConfig -> the engine's request */
	struct md_json *hc = md_json_get(body, "HostConfig");
	char bad[160];
	if (hc && md_api_hc_check(hc, bad, sizeof bad) < 0) {
		md_json_free(body);
		return md_api_err(x->c, 400, "HostConfig.%s is not supported by minidock", bad);
	}
	struct md_json *req = md_json_new(MD_J_OBJ);
	struct md_json *cc = md_json_set(req, "Config", md_json_new(MD_J_OBJ));
	for (struct md_json *f = body->child; f; f = f->next)
		if (strcmp(f->key, "HostConfig") && strcmp(f->key, "NetworkingConfig") && strcmp(f->key, "Platform"))
			md_json_set(cc, f->key, md_json_clone(f));
	struct md_json *nhc = md_json_set(req, "HostConfig", hc ? md_json_clone(hc) : md_json_new(MD_J_OBJ));
	(void)nhc;
	/* NetworkingConfig.EndpointsConfig is the engine's own shape */
	if (md_json_get(body, "NetworkingConfig"))
		md_json_set(req, "NetworkingConfig", md_json_clone(md_json_get(body, "NetworkingConfig")));
	md_json_free(body);
	const char *name = md_api_q(x->r, "name");
	char nbuf[256];
	snprintf(nbuf, sizeof nbuf, "%s", name ? name : "");
	char id[65];
	md_err_clear();
	int r = md_ctr_create(req, nbuf, id);
	md_json_free(req);
	if (r < 0)
		return md_api_engine_err(x->c);
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "Id", id);
	md_json_set(o, "Warnings", md_json_new(MD_J_ARR));
	return md_api_json(x->c, 201, o);
}

static int md_api_ctr_inspect(struct md_api_ctx *x)
{
	char id[65];
	struct md_ctr c;
	if (md_api_ctr(x, id) < 0)
		return 0;
	if (md_ctr_load(id, &c) < 0)
		return md_api_engine_err(x->c);
	struct md_json *o = md_ctr_inspect_json(&c);
	md_ctr_free(&c);
	return md_api_json(x->c, 200, o);
}

static int md_api_ctr_start(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	int code;
	int r = md_ctr_start(id, "", NULL, &code);
	if (r < 0)
		return md_api_engine_err(x->c);
	return md_api_send(x->c, r == 1 ? 304 : 204, NULL, NULL, 0);
}

/* stop and restart: ?t=SECONDS */
static int md_api_ctr_stop(struct md_api_ctx *x)
{
	char id[65];
	struct md_ctr c;
	if (md_api_ctr(x, id) < 0)
		return 0;
	int restart = md_streq(x->arg[1], "restart");
	if (md_ctr_load(id, &c) == 0) {
		md_ctr_reconcile(&c);
		int running = md_ctr_running(&c);
		md_ctr_free(&c);
		if (!running && !restart)
			return md_api_send(x->c, 304, NULL, NULL, 0);
	}
	const char *t = md_api_q(x->r, "t");
	long long secs = -1;
	if (t && *t && md_parse_int(t, &secs, "t") < 0)
		return md_api_err(x->c, 400, "%s", md_errmsg);
	int r = restart ? md_ctr_restart(id, (int)secs) : md_ctr_stop(id, (int)secs);
	return r < 0 ? md_api_engine_err(x->c) : md_api_send(x->c, 204, NULL, NULL, 0);
}

static int md_api_ctr_restart(struct md_api_ctx *x)
{
	x->arg[1] = "restart";
	return md_api_ctr_stop(x);
}

static int md_api_ctr_kill(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	const char *s = md_api_q(x->r, "signal");
	int sig = s && *s ? md_parse_signal(s) : SIGKILL;
	if (sig <= 0)
		return md_api_err(x->c, 400, "invalid signal: %s", s);
	if (md_ctr_kill(id, sig) < 0) {
		md_err_wrap("cannot kill container: %s", x->arg[0]);
		return md_api_engine_err(x->c);
	}
	return md_api_send(x->c, 204, NULL, NULL, 0);
}

static int md_api_ctr_pause(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	if (md_ctr_pause(id, md_streq(x->arg[1], "pause")) < 0)
		return md_api_engine_err(x->c);
	return md_api_send(x->c, 204, NULL, NULL, 0);
}

static int md_api_ctr_delete(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	if (md_ctr_rm(id, md_api_qbool(x->r, "force", 0), md_api_qbool(x->r, "v", 0)) < 0)
		return md_api_engine_err(x->c);
	return md_api_send(x->c, 204, NULL, NULL, 0);
}

static int md_api_ctr_rename(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	const char *n = md_api_q(x->r, "name");
	if (md_ctr_rename(id, n ? n : "") < 0)
		return md_api_engine_err(x->c);
	return md_api_send(x->c, 204, NULL, NULL, 0);
}

/* wait?condition=not-running (default) | next-exit | removed */
static int md_api_ctr_wait(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	const char *cond = md_api_q(x->r, "condition");
	static const char *const conds[] = {"not-running", "next-exit", "removed"};
	size_t k = 0;
	while (cond && k < MD_ARRAY_LEN(conds) && strcmp(cond, conds[k]))
		k++;
	if (k == MD_ARRAY_LEN(conds))
		return md_api_err(x->c, 400, "invalid condition: \"%s\"", cond);
	if (md_api_stream_claim(x->c) < 0)
		return -1;
	/* the head goes at once: a client waits for it before it starts the
	 * container (Docker's CLI does), the status follows at the exit */
	md_api_head(x->c, 200, "application/json", -1);
	long long code;
	int r = md_ctr_wait(id, (enum md_wait_cond)k, x->c->fd, &code);
	char b[160];
	int n = r == 0 ? snprintf(b, sizeof b, "{\"StatusCode\":%lld,\"Error\":null}\n", code)
	               : snprintf(b, sizeof b, "{\"StatusCode\":-1,\"Error\":{\"Message\":\"the container is gone\"}}\n");
	if (r != -2) /* the client is still there */
		md_write_all(x->c->fd, b, (size_t)n);
	return -1;
}

static int md_api_ctr_logs(struct md_api_ctx *x)
{
	char id[65];
	struct md_ctr c;
	if (md_api_ctr(x, id) < 0)
		return 0;
	if (md_ctr_load(id, &c) < 0)
		return md_api_engine_err(x->c);
	int tty = md_json_is(md_json_get(md_json_get(c.cfg, "Config"), "Tty"), MD_J_TRUE);
	md_ctr_free(&c);
	int o = md_api_qbool(x->r, "stdout", 0), e = md_api_qbool(x->r, "stderr", 0);
	if (!o && !e)
		return md_api_err(x->c, 400, "Bad parameters: you must choose at least one stream");
	struct md_logopt lo = {md_api_qbool(x->r, "timestamps", 0), md_api_qbool(x->r, "follow", 0), o | e << 1, 0, 0, -1};
	if (md_logopt_parse(&lo, md_api_q(x->r, "since"), md_api_q(x->r, "until"), md_api_q(x->r, "tail"), "tail") < 0)
		return md_api_err(x->c, 400, "%s", md_errmsg);
	if (lo.follow && md_api_stream_claim(x->c) < 0)
		return -1;
	md_api_head(x->c, 200, tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream", -1);
	md_api_stdio(x->c, !tty);
	md_ctr_logs(id, &lo);
	fflush(NULL);
	_exit(0);
}

/* attach: an API client joins the container's stdio.  Before the start it
 * holds a monitor of its own, which starts the container when told to, so
 * no early output is lost. */
static int md_api_ctr_attach(struct md_api_ctx *x)
{
	char id[65];
	struct md_ctr c;
	if (md_api_ctr(x, id) < 0)
		return 0;
	if (md_api_stream_claim(x->c) < 0)
		return -1;
	if (md_ctr_load(id, &c) < 0)
		return md_api_engine_err(x->c);
	struct md_json *cc = md_json_get(c.cfg, "Config");
	int tty = md_json_is(md_json_get(cc, "Tty"), MD_J_TRUE);
	int in = md_api_qbool(x->r, "stdin", 0) && md_json_is(md_json_get(cc, "OpenStdin"), MD_J_TRUE);
	int out = md_api_qbool(x->r, "stdout", 0), err = md_api_qbool(x->r, "stderr", 0);
	md_ctr_free(&c);
	int fd = md_ctr_attach(id, in | out << 1 | err << 2, 1);
	if (fd < 0)
		return md_api_engine_err(x->c);
	md_api_hijack(x->c, tty);
	md_api_stdio(x->c, !tty);
	md_attach_relay(fd, tty, in);
	_exit(0);
}

static int md_api_ctr_resize(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	const char *h = md_api_q(x->r, "h");
	unsigned rows = h ? (unsigned)atoi(h) : 0;
	const char *w = md_api_q(x->r, "w");
	unsigned cols = w ? (unsigned)atoi(w) : 0;
	if (!rows || !cols || rows > 65535 || cols > 65535)
		return md_api_err(x->c, 400, "bad terminal size h=%u w=%u", rows, cols);
	int fd = md_mon_connect(id, "");
	if (fd < 0)
		return md_api_err(x->c, 409, "Container %s is not running", x->arg[0]);
	char b[32];
	snprintf(b, sizeof b, "%u %u", rows, cols);
	md_frame_sends(fd, 'R', b);
	close(fd);
	return md_api_send(x->c, 200, NULL, NULL, 0);
}

static int md_api_ctr_top(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	struct md_json *o = md_ctr_top(id);
	return o ? md_api_json(x->c, 200, o) : md_api_engine_err(x->c);
}

static int md_api_ctr_stats(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	struct md_ctr c;
	if (md_ctr_load(id, &c) < 0)
		return md_api_engine_err(x->c);
	md_ctr_reconcile(&c);
	int running = md_ctr_running(&c);
	struct md_json *o = md_json_new(MD_J_OBJ);
	char now[64];
	md_time_now(now, sizeof now);
	md_json_sets(o, "read", now);
	md_json_sets(o, "preread", "0001-01-01T00:00:00Z");
	char *nm = md_asprintf("/%s", c.name);
	md_json_sets(o, "name", nm);
	free(nm);
	md_json_sets(o, "id", id);
	struct md_cg_stats cs;
	memset(&cs, 0, sizeof cs);
	if (running)
		md_cg_stats(md_cgroup_parent(), id, &cs);
	md_err_clear();
	struct md_json *ps = md_json_set(o, "pids_stats", md_json_new(MD_J_OBJ));
	md_json_seti(ps, "current", (long long)cs.pids_current);
	if (cs.pids_limit > 0)
		md_json_seti(ps, "limit", (long long)cs.pids_limit);
	struct md_json *cpu = md_json_set(o, "cpu_stats", md_json_new(MD_J_OBJ));
	struct md_json *cu = md_json_set(cpu, "cpu_usage", md_json_new(MD_J_OBJ));
	md_json_seti(cu, "total_usage", (long long)cs.cpu_usage_ns);
	md_json_seti(cu, "usage_in_kernelmode", 0);
	md_json_seti(cu, "usage_in_usermode", 0);
	/* system time as Docker counts it: the sum of /proc/stat's cpu line, in ns */
	unsigned long long sys = 0;
	FILE *f = fopen("/proc/stat", "re");
	if (f) {
		char line[512];
		if (fgets(line, sizeof line, f) && md_startswith(line, "cpu ")) {
			char *p = line + 4;
			for (int i = 0; i < 8; i++)
				sys += strtoull(p, &p, 10);
		}
		fclose(f);
	}
	long hz = sysconf(_SC_CLK_TCK);
	md_json_seti(cpu, "system_cpu_usage", (long long)(sys * (1000000000ULL / (unsigned long long)(hz > 0 ? hz : 100))));
	md_json_seti(cpu, "online_cpus", md_ncpus());
	struct md_json *th = md_json_set(cpu, "throttling_data", md_json_new(MD_J_OBJ));
	md_json_seti(th, "periods", 0);
	md_json_seti(th, "throttled_periods", 0);
	md_json_seti(th, "throttled_time", 0);
	md_json_set(o, "precpu_stats", md_json_clone(cpu));
	struct md_json *mem = md_json_set(o, "memory_stats", md_json_new(MD_J_OBJ));
	if (running) {
		md_json_seti(mem, "usage", (long long)cs.mem_usage);
		md_json_seti(mem, "limit", (long long)cs.mem_limit);
		struct md_json *ms = md_json_set(mem, "stats", md_json_new(MD_J_OBJ));
		md_json_seti(ms, "cache", (long long)cs.mem_cache);
	}
	md_json_set(o, "blkio_stats", md_json_new(MD_J_OBJ));
	md_ctr_free(&c);
	return md_api_json(x->c, 200, o);
}

/* ---- exec: instances are files in the run root, RUNROOT/execs/ID.json ---- */

static char *md_api_exec_path(const char *eid, const char *ext)
{
	return md_asprintf("%s/execs/%s.%s", md_store.runroot, eid, ext);
}

static struct md_json *md_api_exec_load(const char *eid)
{
	for (const char *p = eid; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return NULL;
	if (strlen(eid) != 64)
		return NULL;
	char *p = md_api_exec_path(eid, "json");
	struct md_json *j = md_path_exists(p) ? md_json_parse_file(p) : NULL;
	free(p);
	md_err_clear();
	return j;
}

static int md_api_exec_save(const char *eid, struct md_json *j)
{
	char *d = md_asprintf("%s/execs", md_store.runroot);
	md_mkdir_p(d, 0700);
	free(d);
	char *p = md_api_exec_path(eid, "json"), *s = md_json_dump(j, 0);
	int r = md_write_file_atomic(p, s, strlen(s), 0600);
	free(p);
	free(s);
	return r;
}

static int md_api_exec_create(struct md_api_ctx *x)
{
	char id[65];
	if (md_api_ctr(x, id) < 0)
		return 0;
	struct md_json *body = md_api_body_json(x->c);
	if (!body)
		return md_api_err(x->c, 400, "%s", md_errmsg);
	struct md_json *cmd = md_json_get(body, "Cmd");
	if (!md_json_is(cmd, MD_J_ARR) || !cmd->n) {
		md_json_free(body);
		return md_api_err(x->c, 400, "No exec command specified");
	}
	struct md_ctr c;
	int running = 0;
	if (md_ctr_load(id, &c) == 0) {
		md_ctr_reconcile(&c);
		running = md_ctr_running(&c);
		if (running && md_ctr_paused(&c)) {
			md_ctr_free(&c);
			md_json_free(body);
			return md_api_err(x->c, 409, "Container %s is paused, unpause the container before exec", id);
		}
		md_ctr_free(&c);
	}
	if (!running) {
		md_json_free(body);
		return md_api_err(x->c, 409, "Container %s is not running", id);
	}
	char eid[65];
	md_random_hex(eid, 32);
	struct md_json *j = md_json_new(MD_J_OBJ);
	md_json_sets(j, "ID", eid);
	md_json_sets(j, "ContainerID", id);
	md_json_set(j, "Config", body);
	md_json_set(j, "Running", md_json_newbool(0));
	md_json_set(j, "ExitCode", md_json_new(MD_J_NULL));
	md_json_seti(j, "Pid", 0);
	if (md_api_exec_save(eid, j) < 0) {
		md_json_free(j);
		return md_api_engine_err(x->c);
	}
	md_json_free(j);
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "Id", eid);
	return md_api_json(x->c, 201, o);
}

static int md_api_exec_start(struct md_api_ctx *x)
{
	struct md_json *j = md_api_exec_load(x->arg[0]);
	if (!j)
		return md_api_err(x->c, 404, "No such exec instance: %s", x->arg[0]);
	struct md_json *body = md_api_body_json(x->c);
	if (!body) {
		md_json_free(j);
		return md_api_err(x->c, 400, "%s", md_errmsg);
	}
	if (md_json_is(md_json_get(j, "Running"), MD_J_TRUE) || !md_json_is(md_json_get(j, "ExitCode"), MD_J_NULL)) {
		md_json_free(j);
		md_json_free(body);
		return md_api_err(x->c, 409, "exec %s has already run", x->arg[0]);
	}
	struct md_json *cfg = md_json_get(j, "Config");
	int det = md_json_is(md_json_get(body, "Detach"), MD_J_TRUE);
	if (!det && md_api_stream_claim(x->c) < 0) {
		md_json_free(j);
		md_json_free(body);
		return -1;
	}
	int tty = md_json_is(md_json_get(body, "Tty"), MD_J_TRUE) || md_json_is(md_json_get(cfg, "Tty"), MD_J_TRUE);
	int in = md_json_is(md_json_get(cfg, "AttachStdin"), MD_J_TRUE);
	/* the initial terminal size, for `exec -t` (resize updates it) */
	struct md_json *cs = md_json_get(body, "ConsoleSize");
	if (!md_json_is(cs, MD_J_ARR))
		cs = md_json_get(cfg, "ConsoleSize");
	char *szp = md_api_exec_path(x->arg[0], "size");
	if (md_json_is(cs, MD_J_ARR) && cs->n == 2 && md_json_at(cs, 0)->s && md_json_at(cs, 1)->s && atoi(md_json_at(cs, 0)->s) > 0) {
		char b[48];
		snprintf(b, sizeof b, "%d %d\n", atoi(md_json_at(cs, 0)->s), atoi(md_json_at(cs, 1)->s));
		md_write_file_atomic(szp, b, strlen(b), 0600);
	}
	struct md_exec e;
	memset(&e, 0, sizeof e);
	snprintf(e.id, sizeof e.id, "%s", md_json_gets(j, "ContainerID") ? md_json_gets(j, "ContainerID") : "");
	e.cmd = md_json_clone(md_json_get(cfg, "Cmd"));
	e.env = md_json_new(MD_J_ARR);
	struct md_json *env = md_json_get(cfg, "Env");
	for (struct md_json *v = md_json_is(env, MD_J_ARR) ? env->child : NULL; v; v = v->next)
		if (md_json_str(v) && strchr(v->s, '='))
			md_json_push(e.env, md_json_newstr(v->s));
	const char *u = md_json_gets(cfg, "User"), *w = md_json_gets(cfg, "WorkingDir");
	e.user = u && *u ? md_strdup(u) : NULL;
	e.workdir = w && *w ? md_strdup(w) : NULL;
	e.tty = tty;
	e.in = in;
	e.detach = det;
	e.privileged = md_json_is(md_json_get(cfg, "Privileged"), MD_J_TRUE);
	md_json_free(body);
	if (!det)
		md_api_hijack(x->c, tty);
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		/* the exec's stdio is the client's stream (or nothing) */
		int nul = open("/dev/null", O_RDWR), io = det ? nul : x->c->fd;
		dup2(io, 0);
		dup2(io, 1);
		dup2(io, 2);
		md_api_child = 1;
		md_out_mux = !det && !tty;
		if (!det)
			setenv("MINIDOCK_API_STREAM", tty ? "raw" : "mux", 1);
		setenv("MINIDOCK_TTY_SIZE_FILE", szp, 1);
		md_close_from(3, 0, -1, -1);
		int code, r = md_exec(&e, &code);
		fflush(NULL);
		_exit(r < 0 ? md_fail(code) : r);
	}
	md_exec_free(&e);
	free(szp);
	if (p < 0) {
		md_json_free(j);
		return md_api_err(x->c, 500, "fork: %s", strerror(errno));
	}
	md_json_set(j, "Running", md_json_newbool(1));
	md_json_seti(j, "Pid", p);
	md_api_exec_save(x->arg[0], j);
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	md_json_set(j, "Running", md_json_newbool(0));
	md_json_seti(j, "ExitCode", code);
	md_api_exec_save(x->arg[0], j);
	md_json_free(j);
	if (det)
		return md_api_send(x->c, 200, NULL, NULL, 0);
	return -1;
}

static int md_api_exec_inspect(struct md_api_ctx *x)
{
	struct md_json *j = md_api_exec_load(x->arg[0]);
	if (!j)
		return md_api_err(x->c, 404, "No such exec instance: %s", x->arg[0]);
	struct md_json *cfg = md_json_get(j, "Config");
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "ID", x->arg[0]);
	md_json_sets(o, "ContainerID", md_json_gets(j, "ContainerID"));
	md_json_set(o, "Running", md_json_clone(md_json_get(j, "Running")));
	md_json_set(o, "ExitCode", md_json_clone(md_json_get(j, "ExitCode")));
	md_json_set(o, "OpenStdin", md_json_newbool(md_json_is(md_json_get(cfg, "AttachStdin"), MD_J_TRUE)));
	md_json_set(o, "OpenStdout", md_json_newbool(md_json_is(md_json_get(cfg, "AttachStdout"), MD_J_TRUE)));
	md_json_set(o, "OpenStderr", md_json_newbool(md_json_is(md_json_get(cfg, "AttachStderr"), MD_J_TRUE)));
	md_json_set(o, "CanRemove", md_json_newbool(0));
	md_json_sets(o, "DetachKeys", "");
	md_json_seti(o, "Pid", md_json_geti(j, "Pid", 0));
	struct md_json *pc = md_json_set(o, "ProcessConfig", md_json_new(MD_J_OBJ));
	md_json_set(pc, "tty", md_json_newbool(md_json_is(md_json_get(cfg, "Tty"), MD_J_TRUE)));
	struct md_json *cmd = md_json_get(cfg, "Cmd");
	md_json_sets(pc, "entrypoint", cmd && cmd->child && md_json_str(cmd->child) ? cmd->child->s : "");
	struct md_json *args = md_json_set(pc, "arguments", md_json_new(MD_J_ARR));
	for (struct md_json *a = cmd && cmd->child ? cmd->child->next : NULL; a; a = a->next)
		md_json_push(args, md_json_clone(a));
	md_json_set(pc, "privileged", md_json_newbool(md_json_is(md_json_get(cfg, "Privileged"), MD_J_TRUE)));
	md_json_sets(pc, "user", md_json_gets(cfg, "User") ? md_json_gets(cfg, "User") : "");
	md_json_free(j);
	return md_api_json(x->c, 200, o);
}

static int md_api_exec_resize(struct md_api_ctx *x)
{
	struct md_json *j = md_api_exec_load(x->arg[0]);
	if (!j)
		return md_api_err(x->c, 404, "No such exec instance: %s", x->arg[0]);
	const char *h = md_api_q(x->r, "h");
	int rows = h ? atoi(h) : 0;
	const char *w = md_api_q(x->r, "w");
	int cols = w ? atoi(w) : 0;
	if (rows <= 0 || cols <= 0 || rows > 65535 || cols > 65535) {
		md_json_free(j);
		return md_api_err(x->c, 400, "bad terminal size");
	}
	char b[48], *p = md_api_exec_path(x->arg[0], "size");
	snprintf(b, sizeof b, "%d %d\n", rows, cols);
	md_write_file_atomic(p, b, strlen(b), 0600);
	free(p);
	pid_t pid = (pid_t)md_json_geti(j, "Pid", 0);
	if (pid > 0 && md_json_is(md_json_get(j, "Running"), MD_J_TRUE))
		kill(pid, SIGWINCH);
	md_json_free(j);
	return md_api_send(x->c, 200, NULL, NULL, 0);
}

/* ---- networks and volumes ---- */

#if MD_FEATURE_NET
static int md_api_networks(struct md_api_ctx *x)
{
	struct md_json *idx = md_index_read();
	if (!idx)
		return md_api_engine_err(x->c);
	md_net_default(idx); /* "bridge" is always listed */
	md_err_clear();
	struct md_json *arr = md_json_new(MD_J_ARR);
	for (struct md_json *n = md_index_section(idx, "networks")->child; n; n = n->next)
		md_json_push(arr, md_net_inspect_json(idx, n));
	static const char *const builtin[][2] = {{"host", "host"}, {"none", "null"}};
	for (size_t i = 0; i < 2; i++) {
		struct md_json *o = md_json_push(arr, md_json_new(MD_J_OBJ));
		md_json_sets(o, "Name", builtin[i][0]);
		md_json_sets(o, "Id", builtin[i][0]);
		md_json_sets(o, "Driver", builtin[i][1]);
		md_json_sets(o, "Scope", "local");
	}
	md_json_free(idx);
	return md_api_json(x->c, 200, arr);
}

static int md_api_network_inspect(struct md_api_ctx *x)
{
	struct md_json *idx = md_index_read();
	struct md_json *n = idx ? (md_streq(x->arg[0], "bridge") ? md_net_default(idx) : md_net_get(idx, x->arg[0])) : NULL;
	md_err_clear();
	if (!n) {
		md_json_free(idx);
		return md_api_err(x->c, 404, "network %s not found", x->arg[0]);
	}
	struct md_json *o = md_net_inspect_json(idx, n);
	md_json_free(idx);
	return md_api_json(x->c, 200, o);
}

static int md_api_network_create(struct md_api_ctx *x)
{
	struct md_json *b = md_api_body_json(x->c);
	if (!b)
		return md_api_err(x->c, 400, "%s", md_errmsg);
	struct md_json *cfg = md_json_get(md_json_get(b, "IPAM"), "Config");
	struct md_json *c0 = md_json_is(cfg, MD_J_ARR) && cfg->child ? cfg->child : NULL;
	struct md_json *lb = md_json_get(b, "Labels");
	struct md_network_spec ns = {md_json_gets(b, "Name") ? md_json_gets(b, "Name") : "", md_json_gets(c0, "Subnet"),
	                             md_json_gets(c0, "Gateway"), md_json_is(md_json_get(b, "Internal"), MD_J_TRUE),
	                             md_json_is(lb, MD_J_OBJ) ? lb : NULL, md_json_gets(b, "Driver")};
	char id[65];
	int r = md_network_create(&ns, id);
	md_json_free(b);
	if (r < 0)
		return md_api_engine_err(x->c);
	struct md_json *o = md_json_new(MD_J_OBJ);
	md_json_sets(o, "Id", id);
	md_json_sets(o, "Warning", "");
	return md_api_json(x->c, 201, o);
}

static int md_api_network_delete(struct md_api_ctx *x)
{
	if (md_network_remove(x->arg[0]) < 0)
		return md_api_engine_err(x->c);
	return md_api_send(x->c, 204, NULL, NULL, 0);
}

/* connect and disconnect: {"Container": X, "EndpointConfig": {...}} */
static int md_api_network_connect(struct md_api_ctx *x)
{
	struct md_json *b = md_api_body_json(x->c);
	if (!b)
		return md_api_err(x->c, 400, "%s", md_errmsg);
	const char *ctr = md_json_gets(b, "Container") ? md_json_gets(b, "Container") : "";
	int r;
	if (md_streq(x->arg[1], "disconnect")) {
		r = md_network_disconnect(x->arg[0], ctr);
	} else {
		struct md_json *ec = md_json_get(b, "EndpointConfig");
		const char *ip = md_json_gets(md_json_get(ec, "IPAMConfig"), "IPv4Address");
		struct md_json *al = md_json_get(ec, "Aliases");
		struct md_strv aliases = {0};
		for (struct md_json *a = md_json_is(al, MD_J_ARR) ? al->child : NULL; a; a = a->next)
			if (md_json_str(a))
				md_strv_push(&aliases, a->s);
		r = md_network_connect(x->arg[0], ctr, ip && *ip ? ip : NULL, &aliases);
		md_strv_free(&aliases);
	}
	md_json_free(b);
	return r < 0 ? md_api_engine_err(x->c) : md_api_send(x->c, 200, NULL, NULL, 0);
}
#endif

static int md_api_volumes(struct md_api_ctx *x)
{
	struct md_strv vs = {0};
	md_volume_list(&vs);
	struct md_json *o = md_json_new(MD_J_OBJ);
	struct md_json *arr = md_json_set(o, "Volumes", md_json_new(MD_J_ARR));
	for (size_t i = 0; i < vs.n; i++) {
		struct md_json *v = md_volume_inspect_json(vs.v[i]);
		if (v)
			md_json_push(arr, v);
	}
	md_strv_free(&vs);
	md_err_clear();
	md_json_set(o, "Warnings", md_json_new(MD_J_ARR));
	return md_api_json(x->c, 200, o);
}

static int md_api_volume_inspect(struct md_api_ctx *x)
{
	struct md_json *v = md_volume_inspect_json(x->arg[0]);
	if (!v)
		return md_api_err(x->c, 404, "get %s: no such volume", x->arg[0]);
	return md_api_json(x->c, 200, v);
}

static int md_api_volume_create(struct md_api_ctx *x)
{
	struct md_json *b = md_api_body_json(x->c);
	if (!b)
		return md_api_err(x->c, 400, "%s", md_errmsg);
	struct md_json *opts = md_json_get(b, "DriverOpts");
	if (opts && !md_api_zero(opts)) {
		md_json_free(b);
		return md_api_err(x->c, 400, "volume driver options are not supported");
	}
	char name[256];
	const char *n = md_json_gets(b, "Name");
	if (n && *n)
		snprintf(name, sizeof name, "%s", n);
	else
		md_random_hex(name, 32);
	int created = 0;
	struct md_json *lb = md_json_get(b, "Labels");
	int r = md_volume_create(name, md_json_gets(b, "Driver"), md_json_is(lb, MD_J_OBJ) ? lb : NULL, !(n && *n), &created);
	md_json_free(b);
	if (r < 0)
		return md_api_engine_err(x->c);
	struct md_json *v = md_volume_inspect_json(name);
	return v ? md_api_json(x->c, 201, v) : md_api_engine_err(x->c);
}

static int md_api_volume_delete(struct md_api_ctx *x)
{
	if (md_volume_remove(x->arg[0], md_api_qbool(x->r, "force", 0)) < 0)
		return md_api_engine_err(x->c);
	return md_api_send(x->c, 204, NULL, NULL, 0);
}

/* ---- routing ---- */

/* Patterns: '*' one path segment, '**' one or more (image names have
 * slashes), the rest literal. */
static const struct md_api_route {
	const char *method, *pattern;
	md_api_fn fn;
	const char *extra; /* a fixed second argument */
} md_api_routes[] = {
	{"GET", "/_ping", md_api_ping, NULL},
	{"HEAD", "/_ping", md_api_ping, NULL},
	{"GET", "/version", md_api_version, NULL},
	{"GET", "/info", md_api_info, NULL},
	{"GET", "/images/json", md_api_images, NULL},
#if MD_FEATURE_PULL
	{"POST", "/images/create", md_api_image_create, NULL},
#endif
	{"POST", "/images/load", md_api_image_load, NULL},
	{"GET", "/images/get", md_api_image_get, NULL},
	{"GET", "/images/**/get", md_api_image_get, NULL},
	{"GET", "/images/**/json", md_api_image_inspect, NULL},
	{"POST", "/images/**/tag", md_api_image_tag, NULL},
	{"DELETE", "/images/**", md_api_image_delete, NULL},
	{"GET", "/containers/json", md_api_ctr_list, NULL},
	{"POST", "/containers/create", md_api_ctr_create, NULL},
	{"GET", "/containers/*/json", md_api_ctr_inspect, NULL},
	{"POST", "/containers/*/start", md_api_ctr_start, NULL},
	{"POST", "/containers/*/stop", md_api_ctr_stop, NULL},
	{"POST", "/containers/*/restart", md_api_ctr_restart, NULL},
	{"POST", "/containers/*/kill", md_api_ctr_kill, NULL},
	{"POST", "/containers/*/pause", md_api_ctr_pause, "pause"},
	{"POST", "/containers/*/unpause", md_api_ctr_pause, "unpause"},
	{"POST", "/containers/*/rename", md_api_ctr_rename, NULL},
	{"POST", "/containers/*/wait", md_api_ctr_wait, NULL},
	{"GET", "/containers/*/logs", md_api_ctr_logs, NULL},
	{"POST", "/containers/*/attach", md_api_ctr_attach, NULL},
	{"POST", "/containers/*/resize", md_api_ctr_resize, NULL},
	{"GET", "/containers/*/top", md_api_ctr_top, NULL},
	{"GET", "/containers/*/stats", md_api_ctr_stats, NULL},
	{"DELETE", "/containers/*", md_api_ctr_delete, NULL},
	{"POST", "/containers/*/exec", md_api_exec_create, NULL},
	{"POST", "/exec/*/start", md_api_exec_start, NULL},
	{"GET", "/exec/*/json", md_api_exec_inspect, NULL},
	{"POST", "/exec/*/resize", md_api_exec_resize, NULL},
#if MD_FEATURE_NET
	{"GET", "/networks", md_api_networks, NULL},
	{"POST", "/networks/create", md_api_network_create, NULL},
	{"GET", "/networks/*", md_api_network_inspect, NULL},
	{"DELETE", "/networks/*", md_api_network_delete, NULL},
	{"POST", "/networks/*/connect", md_api_network_connect, "connect"},
	{"POST", "/networks/*/disconnect", md_api_network_connect, "disconnect"},
#endif
	{"GET", "/volumes", md_api_volumes, NULL},
	{"POST", "/volumes/create", md_api_volume_create, NULL},
	{"GET", "/volumes/*", md_api_volume_inspect, NULL},
	{"DELETE", "/volumes/*", md_api_volume_delete, NULL},
};

/* Match path against pat; captures (decoded) go to cap[0..1]. */
static int md_api_match(const char *pat, const char *path, char cap[2][1024])
{
	int nc = 0;
	cap[0][0] = cap[1][0] = 0;
	while (*pat && *path) {
		if (pat[0] == '*' && pat[1] == '*') {
			/* greedy: the longest run of segments after which the rest matches */
			const char *rest = pat + 2;
			size_t rl = strlen(rest), pl = strlen(path);
			if (pl <= rl || (rl && strcmp(path + pl - rl, rest) != 0))
				return 0;
			if (nc >= 2 || md_api_unescape(path, pl - rl, 0, cap[nc], 1024) < 0 || !cap[nc][0])
				return 0;
			nc++;
			return 1;
		}
		if (*pat == '*') {
			size_t sl = strcspn(path, "/");
			if (!sl || nc >= 2 || md_api_unescape(path, sl, 0, cap[nc], 1024) < 0)
				return 0;
			nc++;
			path += sl;
			pat++;
			continue;
		}
		if (*pat != *path)
			return 0;
		pat++;
		path++;
	}
	return !*pat && !*path;
}

/* Serve one request; 0 to go on with the connection, -1 to close it. */
static int md_api_dispatch(struct md_api_conn *c)
{
	struct md_api_req *r = &c->rq;
	c->keep = !r->close;
	const char *path = r->path;
	double ver = md_strtod(MD_API_VERSION, NULL);
	if (path[0] == '/' && path[1] == 'v' && isdigit((unsigned char)path[2])) {
		char *e;
		ver = md_strtod(path + 2, &e);
		if (*e != '/') {
			md_api_body_each(c, md_api_discard, NULL);
			md_api_err(c, 404, "page not found");
			return c->keep ? 0 : -1;
		}
		if (ver < md_strtod(MD_API_MIN_VERSION, NULL) - 1e-9 || ver > 1.51 + 1e-9) {
			md_api_body_each(c, md_api_discard, NULL);
			md_api_err(c, 400, "client version %.2f is not supported (minimum %s, maximum " MD_API_VERSION ")", ver,
			           MD_API_MIN_VERSION);
			return c->keep ? 0 : -1;
		}
		path = e;
	}
	/* a trailing slash is the same resource */
	char pb[4096];
	snprintf(pb, sizeof pb, "%s", path);
	size_t pl = strlen(pb);
	if (pl > 1 && pb[pl - 1] == '/')
		pb[pl - 1] = 0;
	int path_known = 0;
	for (size_t i = 0; i < MD_ARRAY_LEN(md_api_routes); i++) {
		char cap[2][1024];
		if (!md_api_match(md_api_routes[i].pattern, pb, cap))
			continue;
		path_known = 1;
		if (strcmp(md_api_routes[i].method, r->method) != 0)
			continue;
		struct md_api_ctx x = {c, r, {cap[0][0] ? cap[0] : NULL, md_api_routes[i].extra ? (char *)md_api_routes[i].extra : cap[1][0] ? cap[1] : NULL}, ver};
		md_err_clear();
		int rr = md_api_routes[i].fn(&x);
		/* a body the handler did not read goes before the next request */
		if (rr == 0 && c->keep && md_api_body_each(c, md_api_discard, NULL) < 0)
			return -1;
		return rr < 0 || !c->keep ? -1 : 0;
	}
	md_api_body_each(c, md_api_discard, NULL);
	if (path_known)
		md_api_err(c, 405, "method %s not allowed here", r->method);
	else
		md_api_err(c, 404, "page not found");
	return c->keep ? 0 : -1;
}

/* A connection's process: requests one after another until close. */
static MD_NORETURN void md_api_conn_main(int fd)
{
	struct md_api_conn c;
	memset(&c, 0, sizeof c);
	c.fd = fd;
	c.buf = md_alloc(MD_API_HEAD_MAX + 1);
	signal(SIGPIPE, SIG_IGN);
	for (int fresh = 1;; fresh = 0) {
		int bad;
		if (md_api_read_head(&c, MD_API_IDLE_MS, fresh, &bad) < 0) {
			if (bad) {
				c.keep = 0;
				md_api_err(&c, 400, "%s", md_errmsg);
			}
			break;
		}
		if (md_api_dispatch(&c) < 0)
			break;
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	_exit(0);
}

/* ---- the listener ---- */

/* The listener's own table: the process and client uid of each slot
 * (pid 0: free); a slot's stream flag is md_api_streams[slot]. */
static pid_t md_api_pids[MD_API_SLOTS];
static uid_t md_api_uids[MD_API_SLOTS];

/* A connection past a limit.  The 503 goes once the client has spoken (an
 * answer before the request is "unsolicited" to some clients) or at the
 * deadline; then the listener shuts its side and reads what the client
 * still sends, so that the client's write does not fail before it reads
 * the answer.  Closed at the client's end, or 2 s after the accept. */
struct md_api_refusal {
	int fd, answered;
	int64_t until;
	char msg[128];
};
static struct md_api_refusal md_api_refusals[MD_API_REFUSING];

static void md_api_refuse_answer(struct md_api_refusal *f)
{
	char b[512];
	int n = snprintf(b, sizeof b,
	                 "HTTP/1.1 503 Service Unavailable\r\nApi-Version: " MD_API_VERSION "\r\nContent-Type: "
	                 "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n{\"message\":\"%s\"}",
	                 (int)strlen(f->msg) + 14, f->msg);
	if (send(f->fd, b, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) { /* the client is gone */ }
	shutdown(f->fd, SHUT_WR);
	f->answered = 1;
}

/* A refusal's events (revents 0: only its deadline may have come). */
static void md_api_refuse_io(struct md_api_refusal *f, short revents, int64_t now)
{
	int end = now >= f->until;
	for (int i = 0; revents && i < 16; i++) {
		char buf[4096];
		ssize_t k = recv(f->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (k <= 0) {
			end |= k == 0 || errno != EAGAIN;
			break;
		}
	}
	if (!f->answered && (revents || end))
		md_api_refuse_answer(f);
	if (end) {
		close(f->fd);
		f->fd = -1;
	}
}

/* Refuse fd with msg (the listener keeps it until answered); with every
 * refusal entry busy, answer at once and close. */
static void md_api_refuse(int fd, const char *msg)
{
	struct md_api_refusal *f = NULL, now1 = {fd, 0, 0, ""};
	for (int i = 0; i < MD_API_REFUSING && !f; i++)
		if (md_api_refusals[i].fd < 0)
			f = &md_api_refusals[i];
	if (!f)
		f = &now1;
	f->fd = fd;
	f->answered = 0;
	f->until = md_cg_now_ms() + 2000;
	snprintf(f->msg, sizeof f->msg, "%s", msg);
	if (f == &now1)
		md_api_refuse_io(f, 0, f->until);
}

/* The slot for a new connection from uid, or -1 with why set: the short
 * requests' budget is full, or uid (not root) holds its share. */
static int md_api_admit(uid_t uid, char *why, size_t cap)
{
	int shorts = 0, mine = 0, slot = -1;
	for (int i = 0; i < MD_API_SLOTS; i++) {
		if (!md_api_pids[i]) {
			slot = slot < 0 ? i : slot;
			continue;
		}
		shorts += !__atomic_load_n(&md_api_streams[i], __ATOMIC_SEQ_CST);
		mine += md_api_uids[i] == uid;
	}
	if (shorts >= MD_API_CONNS || slot < 0)
		snprintf(why, cap, "too many connections: minidock serve serves at most %d requests at once", MD_API_CONNS);
	else if (uid != 0 && mine >= MD_API_CONNS_PER_UID)
		snprintf(why, cap, "too many connections from uid %u: at most %d at once for a user other than root",
		         (unsigned)uid, MD_API_CONNS_PER_UID);
	else
		return slot;
	return -1;
}

static void md_api_accept(int lfd, int sfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cr;
	socklen_t cl = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
		cr.uid = (uid_t)-1; /* unknown: a user like any other */
	char why[128];
	int slot = md_api_admit(cr.uid, why, sizeof why);
	if (slot < 0) {
		md_api_refuse(fd, why);
		return;
	}
	pid_t p = fork();
	if (p == 0) {
		close(lfd);
		close(sfd);
		for (int i = 0; i < MD_API_REFUSING; i++)
			if (md_api_refusals[i].fd >= 0)
				close(md_api_refusals[i].fd);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		md_api_slot = slot;
		md_api_conn_main(fd);
	}
	if (p < 0) {
		md_api_refuse(fd, "cannot start a connection process");
		return;
	}
	md_api_pids[slot] = p;
	md_api_uids[slot] = cr.uid;
	close(fd);
}

/* Accept, admit or refuse, fork, reap, until SIGTERM, SIGINT or SIGHUP;
 * never blocks on a client.  Between events it trims its resident pages
 * like a monitor. */
static void md_api_listen(int lfd, int sfd)
{
	struct md_api_refusal *rf = md_api_refusals;
	for (int i = 0; i < MD_API_REFUSING; i++)
		rf[i].fd = -1;
	for (;;) {
		struct pollfd pf[2 + MD_API_REFUSING] = {{sfd, POLLIN, 0}, {lfd, POLLIN, 0}};
		int map[MD_API_REFUSING], n = 2;
		int64_t now = md_cg_now_ms(), next = -1;
		for (int i = 0; i < MD_API_REFUSING; i++) {
			if (rf[i].fd < 0)
				continue;
			map[n - 2] = i;
			pf[n++] = (struct pollfd){rf[i].fd, POLLIN, 0};
			next = next < 0 || rf[i].until < next ? rf[i].until : next;
		}
		int pr = md_mon_sleep(pf, (nfds_t)n, next < 0 ? -1 : next > now ? (int)(next - now) : 0);
		if (pr < 0 && errno != EINTR)
			return;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD)
				return;
			pid_t p;
			while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
				for (int i = 0; i < MD_API_SLOTS; i++)
					if (md_api_pids[i] == p) {
						md_api_pids[i] = 0;
						__atomic_store_n(&md_api_streams[i], 0, __ATOMIC_SEQ_CST);
					}
		}
		now = md_cg_now_ms();
		for (int k = 2; k < n; k++)
			md_api_refuse_io(&rf[map[k - 2]], pf[k].revents, now);
		if (pf[1].revents & POLLIN)
			md_api_accept(lfd, sfd);
	}
}

/* -G: the group's members reach the socket (0660, group gid) only through
 * directories they may search.  The run root (the default socket's
 * directory, 0700 as the monitor makes it) gets search for that group
 * alone, 0710 with group gid: its entries keep their own modes, root's
 * and closed to others, so nothing else in it opens.  Any other directory
 * on the way that the group cannot search is the administrator's to
 * change: a warning names it.  *saved: the run root's group and mode
 * before (st_mode 0: unchanged), put back at exit. */
static void md_api_sock_reach(const char *path, gid_t gid, const char *grp, struct stat *saved)
{
	char d[PATH_MAX];
	saved->st_mode = 0;
	snprintf(d, sizeof d, "%s", path);
	for (char *sl; (sl = strrchr(d, '/')) && d[1];) {
		sl[sl == d] = 0;
		struct stat st;
		if (stat(d, &st) < 0)
			break;
		if (st.st_gid == gid ? st.st_mode & 0010 : st.st_mode & 0001)
			continue;
		if (!saved->st_mode && strcmp(d, md_store.runroot) == 0 && chown(d, (uid_t)-1, gid) == 0 &&
		    chmod(d, (st.st_mode & 07707) | 0010) == 0) {
			*saved = st;
			continue;
		}
		fprintf(stderr, "minidock: serve: warning: members of group %s cannot reach %s: %s is mode %04o, group %u\n",
		        grp, path, d, (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid);
	}
}

/* `minidock serve`: listen, and fork a process per connection. */
static int md_cmd_serve(struct md_args *a)
{
	const char *host = md_opt(a, "host");
	char *path = NULL;
	if (host) {
		if (!md_startswith(host, "unix://")) {
			md_err("only unix:// sockets are served (got %s)", host);
			return md_fail(125);
		}
		path = md_strdup(host + 7);
	} else {
		path = md_asprintf("%s/docker.sock", md_store.runroot);
	}
	/* before the socket and the run root's group are touched: a failure
	 * here leaves nothing to undo */
	md_api_streams = mmap(NULL, MD_API_SLOTS * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (md_api_streams == MAP_FAILED) {
		md_errno("shared memory for the stream budget");
		return md_fail(1);
	}
	int lfd = -1, own = 0;
	struct stat saved = {0};
	gid_t gid = 0;
	/* socket activation (systemd, or an init that does the same) */
	const char *lp = getenv("LISTEN_PID"), *lf = getenv("LISTEN_FDS");
	if (lp && lf && atoi(lp) == (int)getpid() && atoi(lf) >= 1) {
		lfd = 3;
		fcntl(lfd, F_SETFD, FD_CLOEXEC);
	} else {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(path) >= sizeof sa.sun_path) {
			md_err("socket path %s is too long", path);
			return md_fail(125);
		}
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
		const char *grp = md_opt(a, "group");
		struct group *g = grp && *grp ? getgrnam(grp) : NULL;
		if (grp && *grp && !g) {
			md_err("group %s not found", grp);
			return md_fail(125);
		}
		gid = g ? g->gr_gid : 0;
		/* the run root as the monitor makes it; directories of a -H path
		 * that anyone may pass (the socket's mode decides) */
		char *dir = md_dirname(path);
		md_mkdir_p(dir, host ? 0711 : 0700);
		free(dir);
		/* a socket left by a crash: only if nobody answers on it */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(probe);
			md_err("%s is in use: another server is listening there", path);
			return md_fail(1);
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/* access is the socket's permissions: root, and the group given
		 * (made 0600 or 0660 root:root, then given to the group) */
		mode_t um = umask(g ? 0117 : 0177);
		int br = lfd < 0 ? -1 : bind(lfd, (struct sockaddr *)&sa, sizeof sa);
		umask(um);
		if (br < 0 || listen(lfd, 64) < 0) {
			md_errno("listen on %s", path);
			return md_fail(1);
		}
		own = 1;
		if (g) {
			if (chown(path, 0, gid) < 0) { /* reported below by access failures */ }
			md_api_sock_reach(path, gid, grp, &saved);
		}
	}
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	int sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "minidock: serve: listening on unix://%s (API %s)\n", path, MD_API_VERSION);
	fflush(NULL);
	md_mon_trim_init();
	md_api_listen(lfd, sfd);
	if (own)
		unlink(path);
	/* the run root as it was, unless someone changed it since */
	struct stat st;
	if (saved.st_mode && stat(md_store.runroot, &st) == 0 && st.st_gid == gid &&
	    (st.st_mode & 07777) == ((saved.st_mode & 07707) | 0010)) {
		if (chown(md_store.runroot, (uid_t)-1, saved.st_gid) < 0 || chmod(md_store.runroot, saved.st_mode & 07777) < 0) {
			/* best effort: the group keeps only search */
		}
	}
	free(path);
	return 0;
}

#endif /* MD_FEATURE_API */

/**** 27 main ***************************************************************/
/* May call: every section. */

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
	md_main_argv = argv;
	/* an exec started by `minidock serve` streams to an API client */
	const char *as = getenv("MINIDOCK_API_STREAM");
	if (as && *as) {
		md_api_child = 1;
		md_out_mux = strcmp(as, "mux") == 0;
	}
	/* --init: PID 1 of a container, run from a sealed copy of minidock */
	if (strcmp(base, "minidock-init") == 0 && argc >= 2)
		return md_init_main(argv);
	/* busybox style: a link named after a command runs that command */
	if (strcmp(base, "minidock") != 0 && strcmp(base, "docker") != 0) {
		const char *named;
		const struct md_cmd *c = md_cmd_find(base, &named);
		if (c) {
			md_store.root = md_abspath(root && *root ? root : MD_DEFAULT_ROOT);
			md_store.runroot = md_abspath(runroot && *runroot ? runroot : MD_DEFAULT_RUNROOT);
			md_volatile_dir = md_store.runroot;
			return md_run_cmd(c, named, argc - 1, argv + 1);
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
	md_store.root = md_abspath(root && *root ? root : MD_DEFAULT_ROOT);
	md_store.runroot = md_abspath(runroot && *runroot ? runroot : MD_DEFAULT_RUNROOT);
	md_volatile_dir = md_store.runroot;
	if (i >= argc) {
		md_help_main(stdout);
		return 0;
	}
	if (strcmp(argv[i], "__exec") == 0)
		return md_exec_main();
	if (strcmp(argv[i], "__monitor") == 0 && i + 1 < argc) {
		md_cmdname = "monitor";
		return md_monitor_main(argv[i + 1], i + 2 < argc ? atoi(argv[i + 2]) : -1);
	}
	const struct md_cmd *c = NULL;
	const char *named;
	if (i + 1 < argc) {
		char two[128];
		snprintf(two, sizeof two, "%s %s", argv[i], argv[i + 1]);
		if ((c = md_cmd_find(two, &named)))
			return md_run_cmd(c, named, argc - i - 2, argv + i + 2);
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
	if ((c = md_cmd_find(argv[i], &named)))
		return md_run_cmd(c, named, argc - i - 1, argv + i + 1);
	fprintf(stderr, "minidock: unknown command: \"%s\" (see 'minidock --help')\n", argv[i]);
	return 125;
}
