/* libFuzzer harness: YAML documents (compose files) as md_json, through
 * libyaml.  Whatever the input: no crash, no leak, and a document that
 * loads dumps as JSON that parses again (numbers included) with at most
 * MD_YAML_MAX_NODES nodes. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_json *j = md_yaml_parse((const char *)data, size, "fuzz.yaml");
	if (j) {
		if (md_json_count(j) > MD_YAML_MAX_NODES)
			__builtin_trap();
		char *s = md_json_dump(j, 0);
		struct md_json *again = md_json_parse(s, strlen(s));
		if (!again)
			__builtin_trap();
		md_json_free(again);
		free(s);
		md_json_free(j);
	}
	md_err_clear();
	return 0;
}
