/* libFuzzer harness: WWW-Authenticate challenges (md_auth_parse) on a
 * NUL-terminated copy of arbitrary bytes.  What parses is a Basic or a
 * Bearer challenge with a realm, its fields NUL-terminated inside their
 * buffers; a realm then goes through the URL parser as md_reg_token does. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *in = malloc(size + 1);
	memcpy(in, data, size);
	in[size] = 0;
	struct md_challenge c;
	if (md_auth_parse(in, &c) == 0) {
		if (strnlen(c.scheme, sizeof c.scheme) == sizeof c.scheme ||
		    strnlen(c.realm, sizeof c.realm) == sizeof c.realm ||
		    strnlen(c.service, sizeof c.service) == sizeof c.service ||
		    strnlen(c.scope, sizeof c.scope) == sizeof c.scope)
			__builtin_trap();
		if (strcmp(c.scheme, "bearer") != 0 && strcmp(c.scheme, "basic") != 0)
			__builtin_trap();
		if (strcmp(c.scheme, "bearer") == 0 && !c.realm[0])
			__builtin_trap();
		struct md_url u, j;
		if (md_url_parse(c.realm, &u) == 0) {
			if (u.port < 1 || u.port > 65535 || !u.host[0] || u.path[0] != '/')
				__builtin_trap();
			(void)md_url_join(&u, c.scope[0] ? c.scope : "/token", &j);
		}
	}
	free(in);
	return 0;
}
