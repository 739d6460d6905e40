/* libFuzzer harness: a compose file from end to end but the engine: YAML,
 * interpolation (from a fixed environment), the key checks, and each
 * service turned into its create request (md_compose_req), with hostile
 * types anywhere (a number where a map goes, lists of maps of lists...).
 * No crash, no leak; a model that passes the checks orders its services
 * or refuses the order with an error. */
#define MD_TEST 1
#include "../../minidock.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct md_cproj p;
	memset(&p, 0, sizeof p);
	p.name = md_strdup("fz");
	p.dir = md_strdup("/tmp");
	md_strv_push(&p.files, "/tmp/compose.yaml");
	md_strv_push(&p.vars, "A=1");
	md_strv_push(&p.vars, "PORT=8080");
	struct md_json *m = md_yaml_parse((const char *)data, size, "fuzz.yaml");
	if (m && m->t == MD_J_OBJ && md_compose_interp_tree(m, &p.vars, "fuzz.yaml") == 0 && md_compose_check(m, "fuzz.yaml") == 0) {
		p.model = m;
		m = NULL;
		if (!md_json_get(p.model, "services"))
			md_json_set(p.model, "services", md_json_new(MD_J_OBJ));
		struct md_strv order = {0};
		if (md_cproj_order(&p, NULL, &order) == 0 && !md_errmsg[0]) {
			/* fine */
		}
		for (struct md_json *s = md_json_get(p.model, "services")->child; s; s = s->next) {
			struct md_json *more = NULL, *req = md_compose_req(&p, s->key, s, 1, "0", &more);
			char h[65];
			md_compose_hash(&p, s->key, s, h);
			md_json_free(req);
			md_json_free(more);
			md_err_clear();
		}
		md_strv_free(&order);
	}
	md_json_free(m);
	md_cproj_free(&p);
	md_err_clear();
	return 0;
}
