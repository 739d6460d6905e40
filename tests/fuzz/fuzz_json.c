/* libFuzzer harness: the JSON parser, writer and a re-parse of its output. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_json *j = md_json_parse((const char *)data, size);
	if (!j)
		return 0;
	/* what we write must parse back to the same text */
	char *s1 = md_json_dump(j, 0);
	struct md_json *k = md_json_parse(s1, strlen(s1));
	if (!k)
		__builtin_trap();
	char *s2 = md_json_dump(k, 4);
	struct md_json *c = md_json_clone(k);
	char *s3 = md_json_dump(c, 4);
	if (strcmp(s2, s3) != 0)
		__builtin_trap();
	free(s1);
	free(s2);
	free(s3);
	md_json_free(c);
	md_json_free(k);
	md_json_free(j);
	return 0;
}
