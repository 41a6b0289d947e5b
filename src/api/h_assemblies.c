/* /api/v1/assemblies: register a plug-in assembly from uploaded bytes (validated in a worker
 * process, never loaded in the host for that), list them, change one's isolation (PATCH). What
 * an upload does (unchanged, upgraded, refused...) is decided in plugin/assemblies.c. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/body.h"
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

/* assembly_json, with the deadline of a drain. */
static json_t *assembly_full_json(const struct assembly *a)
{
	json_t *o = assembly_json(a);
	if (o && a->draining)
		json_object_set_new(o, "drain_deadline", time_json(a->drain_deadline));
	return o;
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
	json_t *o = assembly_full_json(&a);
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
 * inside the host (SPEC §2). An upgrade that names none keeps the registered isolation. */
static int parse_isolation_text(struct api_req *r, const char *iso, int *ret)
{
	if (!strcmp(iso, "none") || !strcmp(iso, "sandbox")) {
		*ret = !strcmp(iso, "none") ? ISOLATION_NONE : ISOLATION_SANDBOX;
		return 0;
	}
	return api_error(r, AE_INVAL, "isolation must be none or sandbox, not '%s'", iso);
}

static int parse_upload_query(struct api_req *r, struct asm_register *c)
{
	const char *iso = api_query(r, "isolation");
	const char *down = api_query(r, "allow_downgrade");
	c->isolation = ISOLATION_SANDBOX;
	c->isolation_named = iso != NULL;
	if (down && strcmp(down, "true") && strcmp(down, "false"))
		return api_error(r, AE_INVAL, "allow_downgrade must be true or false, not '%s'",
				 down);
	c->allow_downgrade = down && !strcmp(down, "true");
	return iso ? parse_isolation_text(r, iso, &c->isolation) : 0;
}

/* The worker's message names the cache copy it loaded; the author knows the upload. */
static void name_the_upload(char *err, size_t errlen, const char *path)
{
	char out[512];
	size_t o = 0, plen = strlen(path);
	for (const char *p = err; *p && o + 1 < sizeof(out);) {
		if (!strncmp(p, path, plen)) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s",
					      "the uploaded library");
			o = o < sizeof(out) ? o : sizeof(out) - 1;
			p += plen;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = 0;
	snprintf(err, errlen, "%s", out);
}

static int refuse_upload(struct api_req *r, struct asm_register *c, int status, const char *why)
{
	return api_error_status(r, status, "invalid_assembly",
				"the uploaded library (%zu bytes, sha256 %s) was refused: %s", c->n,
				c->a.sha256, why);
}

/* What the docs promise for a file that is no ELF object, without starting a worker. */
static bool elf_header_ok(const void *bytes, size_t n)
{
	return n >= 64 && !memcmp(bytes, "\177ELF", 4);
}

static int inspect_bytes(struct api_req *r, struct asm_register *c)
{
	char path[4096], err[512];
	struct plugin_meta m;
	if (!elf_header_ok(c->bytes, c->n))
		return refuse_upload(r, c, 422,
				     "not a loadable shared library: invalid ELF header");
	int rc = libcache_put_file(c->a.sha256, c->bytes, c->n, path, sizeof(path));
	if (rc < 0)
		return api_error(r, rc, "cannot write the assembly to the cache: %s",
				 asyncd_strerror(rc));
	rc = plugin_inspect(r->api->worker_path, path, INSPECT_TIMEOUT_MS, &m, err, sizeof(err));
	if (rc < 0) {
		unlink(path);
		name_the_upload(err, sizeof(err), path);
		return refuse_upload(r, c, rc == AE_PLUGIN || rc == AE_TIMEOUT ? 422 : 500, err);
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
	char target[256], detail[128];
	snprintf(target, sizeof(target), "assembly %s %s", c->a.name ? c->a.name : "?",
		 c->a.version ? c->a.version : "");
	snprintf(detail, sizeof(detail), "%s%s%s", assemblies_outcome_name(c->outcome),
		 c->previous[0] ? " from " : "", c->previous);
	if (c->outcome == ASM_ISOLATION_CHANGED || c->isolation_named)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), ", isolation %s",
			 c->a.isolation == ISOLATION_NONE ? "none" : "sandbox");
	api_audit(r, "assembly.register", target, rc < 0 ? "refused" : "ok",
		  rc < 0 ? NULL : detail);
}

/* Publish a stored change and answer the assembly as stored now. */
static int answer_stored(struct api_req *r, int64_t id, int status, const char *outcome)
{
	struct assembly stored;
	struct store *s = api_reader(r);
	if (registry_reload(s) < 0)
		log_error("api", "an assembly was stored but the registry could not be "
				 "reloaded; the drain thread tries again within 0.5 s");
	drain_kick(); /* unloads the code an upgrade replaced, once unused */
	int rc = store_assembly_get(s, id, &stored);
	api_reader_put(s);
	if (rc < 0)
		return api_error(r, rc, "cannot read assembly %lld: %s", (long long)id,
				 asyncd_strerror(rc));
	api_reply(r, status, assembly_json(&stored));
	if (outcome)
		json_object_set_new(r->out, "outcome", json_string(outcome));
	assembly_done(&stored);
	return 0;
}

int h_assemblies_register(struct api_req *r)
{
	struct asm_register c = {.bytes = r->body.data, .n = r->body.len};
	unsigned char d[crypto_hash_sha256_BYTES];
	char hex[65];
	int rc = parse_upload_query(r, &c);
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
	if (rc == 0)
		rc = answer_stored(r, c.a.id, c.outcome == ASM_UNCHANGED ? 200 : 201,
				   assemblies_outcome_name(c.outcome));
	audit_register(r, &c, rc);
	assembly_done(&c.a);
	return rc;
}

static int parse_patch(struct api_req *r, struct asm_isolation *c)
{
	json_t *body;
	int rc = api_param_id(r, 0, &c->id);
	if (rc < 0 || (rc = api_body(r, BODY_ASSEMBLY_PATCH, &body)) < 0)
		return rc;
	rc = parse_isolation_text(r, json_string_value(json_object_get(body, "isolation")),
				  &c->isolation);
	json_decref(body);
	return rc;
}

int h_assembly_patch(struct api_req *r)
{
	struct asm_isolation c = {0};
	char target[48];
	int rc = parse_patch(r, &c);
	if (rc < 0)
		return rc;
	rc = writer_call(r->api->w, assemblies_set_isolation_fn, &c);
	if (rc == AE_NOTFOUND)
		api_error(r, rc, "assembly %lld does not exist", (long long)c.id);
	else if (rc == AE_CONFLICT)
		api_error(r, rc, "%s", c.conflict);
	else if (rc < 0)
		api_error(r, rc, "cannot change assembly %lld: %s", (long long)c.id,
			  asyncd_strerror(rc));
	else
		rc = answer_stored(r, c.id, 200, NULL);
	snprintf(target, sizeof(target), "assembly %lld", (long long)c.id);
	api_audit(r, "assembly.patch", target, rc < 0 ? "refused" : "ok",
		  rc < 0			  ? NULL
		  : c.isolation == ISOLATION_NONE ? "none"
						  : "sandbox");
	return rc;
}
