/* libFuzzer harness: the embedded DNS server's answers (md_dns_answer), a
 * datagram any process in a container can send.  The first byte picks
 * the mode: odd, the rest is the query, answered from a fixed hosts file;
 * even, the rest is a hosts file's text, asked a few fixed questions.
 * An answer is never longer than a plain UDP answer, is a response to
 * the query's ID, and repeats its question. */
#define MD_TEST 1
#include "../../minidock.c"

static const char fuzz_dns_hosts[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.0.0.2\tabc web alias\n"
                                     "fd00::3\tdef db\n10.0.0.4 db # comment\n";

static void fuzz_dns_one(const unsigned char *q, size_t n, const char *hosts)
{
	unsigned char a[MD_DNS_UDP];
	struct md_strv sfx = {0};
	md_strv_push(&sfx, "front");
	int len = md_dns_answer(q, n, hosts, &sfx, a, sizeof a);
	md_strv_free(&sfx);
	if (len < -1 || len > MD_DNS_UDP || (len > 0 && len < 12))
		__builtin_trap();
	if (len > 0 && (a[0] != q[0] || a[1] != q[1] || !(a[2] & 0x80)))
		__builtin_trap();
	struct md_dns_q dq;
	if (len > 12 && (md_dns_parse(q, n, &dq) != 0 || (size_t)len < dq.end || memcmp(a + 12, q + 12, dq.end - 12)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	if (data[0] & 1) {
		fuzz_dns_one(data + 1, size - 1, fuzz_dns_hosts);
		return 0;
	}
	char *hosts = malloc(size);
	memcpy(hosts, data + 1, size - 1);
	hosts[size - 1] = 0;
	static const char *const names[][2] = {{"web", "\0\1"}, {"db", "\0\34"}, {"db", "\0\377"}, {"2.0.0.10.in-addr.arpa", "\0\14"}};
	for (size_t i = 0; i < MD_ARRAY_LEN(names); i++) {
		unsigned char q[300] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
		size_t l = md_dns_encode(names[i][0], q + 12);
		memcpy(q + 12 + l, names[i][1], 2);
		memcpy(q + 14 + l, "\0\1", 2);
		fuzz_dns_one(q, l + 16, hosts);
	}
	free(hosts);
	return 0;
}
