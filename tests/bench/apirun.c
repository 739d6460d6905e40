/*
 * apirun.c -- a minimal Docker Engine API client for tests/bench/api-bench.sh:
 * what `docker run --rm --network none IMAGE [CMD...]` asks of the server,
 * without the docker CLI's (a Go binary's) own start.
 *
 *   apirun SOCKET IMAGE [CMD...]        (SOCKET: PATH or unix://PATH)
 *
 * The requests, their order and their connections are the docker CLI 28's
 * (observed with strace -f on `docker run` against `minidock serve`):
 *
 *   conn A  HEAD /_ping                                  200, Api-Version: V
 *   conn A  POST /vV/containers/create (the CLI's body)  201 {"Id":"ID",...}
 *   conn B  POST /vV/containers/ID/attach?stderr=1&stdout=1&stream=1
 *           (Connection: Upgrade, Upgrade: tcp)          101, then the stream
 *   conn A  POST /vV/containers/ID/wait?condition=removed  200, head at once
 *   conn C  POST /vV/containers/ID/start                 204
 *   conn B  the stream to its end (stdout and stderr to fds 1 and 2)
 *   conn A  the wait body to its end: {"StatusCode":N,"Error":null}
 *
 * Exit status: the container's StatusCode; 125 on any error (an unexpected
 * HTTP status, a malformed answer, no data for APIRUN_TIMEOUT seconds,
 * default 60), as the docker CLI does.  Plain libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXBODY (1 << 20)

struct conn {
	int fd;
	size_t off, len; /* unread bytes: buf[off..len) */
	char buf[65536];
};
struct resp {
	int status, chunked, close;
	long long clen; /* -1: none */
	char ctype[128], apiver[16];
};

static const char *sockpath, *what = "connect";
static int timeout_ms = 60000;

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "apirun: %s: ", what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(125);
}

static void conn_open(struct conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sockpath) >= sizeof sa.sun_path)
		fail("socket path too long: %s", sockpath);
	strcpy(sa.sun_path, sockpath);
	c->off = c->len = 0;
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		fail("%s: %s", sockpath, strerror(errno));
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			fail("write: %s", strerror(errno));
		p += k;
		n -= (size_t)k;
	}
}

/* More bytes into c->buf (waiting at most timeout_ms); 0 at EOF. */
static size_t fill(struct conn *c)
{
	if (c->off == c->len)
		c->off = c->len = 0;
	else if (c->len == sizeof c->buf) {
		if (!c->off)
			fail("response head too long");
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	for (;;) {
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, timeout_ms);
		if (r == 0)
			fail("no data from the server for %d s", timeout_ms / 1000);
		ssize_t n = r < 0 ? -1 : read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			fail("read: %s", strerror(errno));
		c->len += (size_t)n;
		return (size_t)n;
	}
}

static int getbyte(struct conn *c)
{
	if (c->off == c->len && !fill(c))
		return -1;
	return (unsigned char)c->buf[c->off++];
}

static void read_head(struct conn *c, struct resp *r)
{
	char *end, *save = NULL, *l;
	while (!(end = memmem(c->buf + c->off, c->len - c->off, "\r\n\r\n", 4)))
		if (!fill(c))
			fail("the connection closed before a response");
	*end = 0;
	char *h = c->buf + c->off;
	c->off = (size_t)(end + 4 - c->buf);
	memset(r, 0, sizeof *r);
	r->clen = -1;
	if (sscanf(h, "HTTP/1.%*d %d", &r->status) != 1)
		fail("not an HTTP response: %.80s", h);
	strtok_r(h, "\r\n", &save);
	while ((l = strtok_r(NULL, "\r\n", &save))) {
		char *v = strchr(l, ':');
		if (!v)
			continue;
		*v++ = 0;
		v += strspn(v, " \t");
		if (!strcasecmp(l, "Content-Length"))
			r->clen = strtoll(v, NULL, 10);
		else if (!strcasecmp(l, "Transfer-Encoding"))
			r->chunked = strcasestr(v, "chunked") != NULL;
		else if (!strcasecmp(l, "Connection"))
			r->close = strcasestr(v, "close") != NULL;
		else if (!strcasecmp(l, "Content-Type"))
			snprintf(r->ctype, sizeof r->ctype, "%s", v);
		else if (!strcasecmp(l, "Api-Version"))
			snprintf(r->apiver, sizeof r->apiver, "%s", v);
	}
}

/* The whole body (Content-Length, chunked or to EOF), NUL-terminated. */
static char *read_body(struct conn *c, struct resp *r)
{
	char *b = malloc(MAXBODY + 1);
	size_t n = 0;
	long long left = r->status == 204 || r->status == 304 ? 0 : r->clen;
	int ch;
	if (!b)
		fail("out of memory");
	if (r->chunked)
		for (;;) {
			char line[64];
			size_t k = 0;
			while ((ch = getbyte(c)) >= 0 && ch != '\n')
				if (k < sizeof line - 1)
					line[k++] = (char)ch;
			line[k] = 0;
			long long sz = ch < 0 ? -1 : strtoll(line, NULL, 16);
			if (sz < 0)
				fail("malformed chunked body");
			if (sz == 0) { /* the trailer, up to an empty line */
				do
					for (k = 0; (ch = getbyte(c)) >= 0 && ch != '\n';)
						k += ch != '\r';
				while (k && ch >= 0);
				break;
			}
			while (sz-- > 0 && (ch = getbyte(c)) >= 0 && n < MAXBODY)
				b[n++] = (char)ch;
			if (ch < 0 || n == MAXBODY || getbyte(c) != '\r' || getbyte(c) != '\n')
				fail("malformed chunked body");
		}
	else
		while (left && (ch = getbyte(c)) >= 0) {
			if (n == MAXBODY)
				fail("response body too long");
			b[n++] = (char)ch;
			left--;
		}
	if (left > 0)
		fail("the connection closed inside the response body");
	b[n] = 0;
	return b;
}

/* A JSON member's value: a pointer just past "key": (flat, no unescaping). */
static const char *jget(const char *s, const char *key)
{
	char k[64];
	snprintf(k, sizeof k, "\"%s\"", key);
	const char *p = s ? strstr(s, k) : NULL;
	if (!p)
		return NULL;
	p += strlen(k);
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return NULL;
	return p + strspn(p, " \t\r\n");
}

/* A JSON string's text (p at its opening quote), unescaped into out. */
static const char *jtext(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	if (!p || *p != '"')
		return NULL;
	for (p++; *p && *p != '"' && n + 1 < cap; p++) {
		int ch = (unsigned char)*p;
		if (ch == '\\' && p[1]) {
			ch = (unsigned char)*++p;
			if (ch == 'n' || ch == 't')
				ch = ch == 'n' ? '\n' : '\t';
			else if (ch == 'u' && strspn(p + 1, "0123456789abcdefABCDEF") >= 4) {
				char hex[5] = {p[1], p[2], p[3], p[4], 0};
				ch = (int)strtol(hex, NULL, 16);
				ch = ch < 0x80 ? ch : '?';
				p += 4;
			}
		}
		out[n++] = (char)ch;
	}
	out[n] = 0;
	return out;
}

/* An error response's message ({"message":"..."}), else the body itself. */
static const char *errmsg(const char *body)
{
	static char m[1024];
	return jtext(jget(body, "message"), m, sizeof m) ? m : body;
}

/* Send a request; read its head; fail unless the status is want (0: any). */
static void request(struct conn *c, struct resp *r, const char *method, const char *path, const char *hdrs,
                    const char *body, size_t blen, int want)
{
	char h[1024];
	int n = snprintf(h, sizeof h, "%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: apirun\r\n%s\r\n",
	                 method, path, hdrs);
	if (n < 0 || (size_t)n >= sizeof h)
		fail("request too long");
	what = path;
	write_all(c->fd, h, (size_t)n);
	if (blen)
		write_all(c->fd, body, blen);
	read_head(c, r);
	if (r->status == want || !want)
		return;
	char *b = strcmp(method, "HEAD") && r->status != 101 ? read_body(c, r) : "";
	fail("%d (expected %d): %.500s", r->status, want, errmsg(b));
}

/* A JSON string, escaped as Go's encoding/json does. */
static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&')
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* The attach stream to its end: multiplexed frames (8-byte head: stream,
 * 0, 0, 0, big-endian size) or, for a tty, raw bytes to stdout. */
static void pump(struct conn *c, int raw)
{
	for (;;) {
		unsigned char h[8];
		int i, ch = 0;
		if (raw) {
			if (c->off == c->len && !fill(c))
				return;
			write_all(1, c->buf + c->off, c->len - c->off);
			c->off = c->len;
			continue;
		}
		for (i = 0; i < 8 && (ch = getbyte(c)) >= 0; i++)
			h[i] = (unsigned char)ch;
		if (i == 0)
			return;
		if (i < 8 || h[0] > 3)
			fail("malformed stream frame");
		size_t sz = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
		while (sz) {
			if (c->off == c->len && !fill(c))
				fail("the stream ended inside a frame");
			size_t k = c->len - c->off < sz ? c->len - c->off : sz;
			write_all(h[0] >= 2 ? 2 : 1, c->buf + c->off, k);
			c->off += k;
			sz -= k;
		}
	}
}

int main(int argc, char **argv)
{
	static struct conn a, b, c; /* as the CLI: ping/create/wait, attach, start */
	struct resp r;
	char path[512], id[80], ver[16] = "1.43", *e;
	if (argc < 3) {
		fprintf(stderr, "usage: apirun SOCKET IMAGE [CMD...]\n");
		return 125;
	}
	signal(SIGPIPE, SIG_IGN);
	sockpath = strncmp(argv[1], "unix://", 7) ? argv[1] : argv[1] + 7;
	if ((e = getenv("APIRUN_TIMEOUT")) && atoi(e) > 0)
		timeout_ms = atoi(e) * 1000;

	conn_open(&a);
	request(&a, &r, "HEAD", "/_ping", "", NULL, 0, 200);
	if (*r.apiver)
		snprintf(ver, sizeof ver, "%s", r.apiver);

	/* the body the docker CLI 28.2 sends for `docker run --rm --network none` */
	char *body = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&body, &blen);
	fputs("{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":true,"
	      "\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":", f);
	for (int i = 3; i < argc; i++) {
		fputc(i == 3 ? '[' : ',', f);
		jstr(f, argv[i]);
	}
	fputs(argc > 3 ? "]" : "null", f);
	fputs(",\"Image\":", f);
	jstr(f, argv[2]);
	fputs(",\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{},\"HostConfig\":{"
	      "\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":\"none\","
	      "\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":true,"
	      "\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":[0,0],\"CapAdd\":null,\"CapDrop\":null,"
	      "\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,"
	      "\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,"
	      "\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\","
	      "\"ShmSize\":0,\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\","
	      "\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],"
	      "\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,"
	      "\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],"
	      "\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"MemoryReservation\":0,\"MemorySwap\":0,"
	      "\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimit\":0,\"Ulimits\":[],\"CpuCount\":0,"
	      "\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"MaskedPaths\":null,\"ReadonlyPaths\":null},"
	      "\"NetworkingConfig\":{\"EndpointsConfig\":{}}}\n", f);
	if (fclose(f) || !body)
		fail("out of memory");
	char hdrs[128];
	snprintf(hdrs, sizeof hdrs, "Content-Length: %zu\r\nContent-Type: application/json\r\n", blen);
	snprintf(path, sizeof path, "/v%s/containers/create", ver);
	request(&a, &r, "POST", path, hdrs, body, blen, 201);
	char *cr = read_body(&a, &r);
	if (!jtext(jget(cr, "Id"), id, sizeof id) || !*id || id[strspn(id, "0123456789abcdef")])
		fail("no container Id in %.200s", cr);
	if (r.close || (r.clen < 0 && !r.chunked)) { /* not reusable: the CLI would dial again */
		close(a.fd);
		conn_open(&a);
	}

	conn_open(&b);
	snprintf(path, sizeof path, "/v%s/containers/%s/attach?stderr=1&stdout=1&stream=1", ver, id);
	request(&b, &r, "POST", path, "Content-Length: 0\r\nConnection: Upgrade\r\nContent-Type: text/plain\r\nUpgrade: tcp\r\n",
	        NULL, 0, 101);
	int raw = strstr(r.ctype, "raw-stream") != NULL;

	snprintf(path, sizeof path, "/v%s/containers/%s/wait?condition=removed", ver, id);
	request(&a, &r, "POST", path, "Content-Length: 0\r\n", NULL, 0, 200);
	struct resp wr = r;

	conn_open(&c);
	snprintf(path, sizeof path, "/v%s/containers/%s/start", ver, id);
	request(&c, &r, "POST", path, "Content-Length: 0\r\n", NULL, 0, 0);
	if (r.status != 204) {
		/* as the CLI: wait for the removal, then 127 for a command that is
		 * not found, 126 for one that cannot run, else 125 */
		const char *m = errmsg(read_body(&c, &r));
		fprintf(stderr, "apirun: %s: %d: %s\n", path, r.status, m);
		read_body(&a, &wr);
		return strstr(m, "executable file not found") || strstr(m, "no such file or directory") ? 127
		       : strstr(m, "permission denied") || strstr(m, "is a directory")                  ? 126
		                                                                                         : 125;
	}

	what = "attach stream";
	pump(&b, raw);

	snprintf(path, sizeof path, "/v%s/containers/%s/wait?condition=removed", ver, id);
	what = path;
	char *w = read_body(&a, &wr);
	const char *sc = jget(w, "StatusCode"), *err = jget(w, "Error");
	if (err && strncmp(err, "null", 4)) {
		char m[1024];
		fail("error waiting for the container: %.500s", jtext(jget(err, "Message"), m, sizeof m) ? m : err);
	}
	if (!sc || (*sc != '-' && (*sc < '0' || *sc > '9')))
		fail("no StatusCode in %.200s", w);
	return (int)(strtoll(sc, NULL, 10) & 255);
}
