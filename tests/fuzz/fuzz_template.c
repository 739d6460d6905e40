/* libFuzzer harness: --format templates over a fixed document. */
#define MD_TEST 1
#include "../../minidock.c"

static const char doc[] = "{\"Id\":\"sha256:ab\",\"Config\":{\"Env\":[\"A=1\",\"B=2\"],\"Labels\":{\"k\":\"v\"}},"
                          "\"Size\":123,\"Tags\":[],\"On\":true,\"Nested\":[[1,[2,{\"x\":null}]]]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct md_json *j;
	if (!j)
		j = md_json_parse(doc, sizeof doc - 1);
	char *t = malloc(size + 1);
	memcpy(t, data, size);
	t[size] = 0;
	struct md_sb b = {0};
	md_tmpl_render(t, j, &b);
	md_sb_free(&b);
	free(t);
	return 0;
}
