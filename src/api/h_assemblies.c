/* /api/v1/assemblies: register a plug-in assembly from uploaded bytes (validated in a worker
 * process, never loaded in the host for that), and list them. Same SHA-256 twice is a no-op;
 * same name and major.minor replaces the assembly in place (its steps follow); another major or
 * minor is a separate assembly. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/handlers.h"
#include "api/job_json.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "exec/writer.h"
#include "host/drain.h"
#include "plugin/assemblies.h"
#include "plugin/inspect.h"
#include "plugin/libcache.h"
#include "plugin/lifecycle.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "store/store.h"

#define INSPECT_TIMEOUT_MS 10000

static json_t *assembly_json(const struct assembly *a)
{
	json_t *types = json_array();
	for (size_t i = 0; i < a->n_types; i++)
		json_array_append_new(types, json_string(a->types[i]));
	return json_pack("{s:I,s:s,s:s,s:s?,s:s,s:s,s:I,s:o,s:o,s:o,s:b}", "id", (json_int_t)a->id,
			 "name", a->name, "version", a->version, "description", a->description,
			 "isolation", a->isolation == ISOLATION_SANDBOX ? "sandbox" : "none",
			 "sha256", a->sha256, "size", (json_int_t)a->size, "types", types,
			 "created_on", time_json(a->created_on), "modified_on",
			 time_json(a->modified_on), "draining", a->draining);
}

int h_assembly_get(struct api_req *r)
{
	int64_t id;
	struct assembly a;
	int rc = api_param_id(r, 0, &id);
	if (rc < 0)
		return rc;
	struct store *s = api_reader(r);
	rc = store_assembly_get(s, id, &a);
	api_reader_put(s);
	if (rc == AE_NOTFOUND)
		return api_error(r, rc, "assembly %lld does not exist", (long long)id);
	if (rc < 0)
		return api_error(r, rc, "cannot read assembly %lld: %s", (long long)id,
				 asyncd_strerror(rc));
	json_t *o = assembly_json(&a);
	assembly_done(&a);
	api_add_unfinished(r, o, LC_ASSEMBLY, id);
	return api_reply(r, 200, o);
}

int h_assemblies_list(struct api_req *r)
{
	struct assembly *v;
	size_t n;
	struct store *s = api_reader(r);
	int rc = store_assemblies_list(s, &v, &n);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot list assemblies: %s", asyncd_strerror(rc));
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, assembly_json(&v[i]));
	assembly_array_free(v, n);
	return api_reply(r, 200, json_pack("{s:o}", "assemblies", a));
}

/* The default is the sandbox: only a System Administrator's explicit isolation=none runs code
 * inside the host (SPEC §2). */
static int parse_isolation(struct api_req *r, int *ret)
{
	const char *iso = api_query(r, "isolation");
	if (!strcmp(iso ? iso : "sandbox", "none")) {
		*ret = ISOLATION_NONE;
		return 0;
	}
	if (!iso || !strcmp(iso, "sandbox")) {
		*ret = ISOLATION_SANDBOX;
		return 0;
	}
	return api_error(r, AE_INVAL, "isolation must be none or sandbox, not '%s'", iso);
}

static int inspect_bytes(struct api_req *r, struct asm_register *c)
{
	char path[4096], err[512];
	struct plugin_meta m;
	int rc = libcache_put_file(c->a.sha256, c->bytes, c->n, path, sizeof(path));
	if (rc < 0)
		return api_error(r, rc, "cannot write the assembly to the cache: %s",
				 asyncd_strerror(rc));
	rc = plugin_inspect(r->api->worker_path, path, INSPECT_TIMEOUT_MS, &m, err, sizeof(err));
	if (rc < 0) {
		unlink(path);
		return api_error_status(r, rc == AE_PLUGIN || rc == AE_TIMEOUT ? 422 : 500,
					"invalid_assembly", "the assembly was refused: %s", err);
	}
	c->a.name = m.name;
	c->a.version = m.version;
	c->a.description = m.description;
	c->a.types = m.type_names;
	c->a.n_types = m.n_types;
	for (size_t i = 0; i < m.n_types; i++)
		free(m.type_descriptions[i]);
	free(m.type_descriptions);
	return 0;
}

static void audit_register(struct api_req *r, struct asm_register *c, int rc)
{
	char target[256];
	snprintf(target, sizeof(target), "assembly %s %s", c->a.name ? c->a.name : "?",
		 c->a.version ? c->a.version : "");
	api_audit(r, "assembly.register", target, rc < 0 ? "refused" : "ok",
		  rc < 0 ? NULL : assemblies_outcome_name(c->outcome));
}

int h_assemblies_register(struct api_req *r)
{
	struct asm_register c = {.bytes = r->body.data, .n = r->body.len};
	unsigned char d[crypto_hash_sha256_BYTES];
	char hex[65];
	int rc = parse_isolation(r, &c.a.isolation);
	if (rc < 0)
		return rc;
	if (!c.n)
		return api_error(r, AE_INVAL, "send the shared library's bytes as the body");
	crypto_hash_sha256(d, c.bytes, c.n);
	hex_encode(d, sizeof(d), hex);
	c.a.sha256 = strdup(hex);
	rc = inspect_bytes(r, &c);
	if (rc == 0 && (rc = writer_call(r->api->w, assemblies_register_fn, &c)) == AE_CONFLICT)
		api_error(r, rc, "%s", c.conflict);
	else if (rc < 0 && !r->out)
		api_error(r, rc, "cannot store the assembly: %s", asyncd_strerror(rc));
	if (rc == 0) {
		struct store *s = api_reader(r);
		struct assembly stored;
		if (registry_reload(s) < 0)
			log_error("api", "an assembly was stored but the registry could not be "
					 "reloaded; the drain thread tries again within 0.5 s");
		drain_kick(); /* unloads the code an upgrade replaced, once unused */
		rc = store_assembly_get(s, c.a.id, &stored);
		api_reader_put(s);
		if (rc == 0) {
			api_reply(r, c.outcome == ASM_UNCHANGED ? 200 : 201,
				  assembly_json(&stored));
			json_object_set_new(r->out, "outcome",
					    json_string(assemblies_outcome_name(c.outcome)));
			assembly_done(&stored);
		}
	}
	audit_register(r, &c, rc);
	assembly_done(&c.a);
	return rc;
}
