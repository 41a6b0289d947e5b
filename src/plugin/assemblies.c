/* Registering an assembly's build (see assemblies.h). */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "plugin/assemblies.h"
#include "plugin/loader.h"

static int same_line(const char *x, const char *y)
{
	uint32_t a[4], b[4];
	return plugin_version_parse(x, a) == 0 && plugin_version_parse(y, b) == 0 && a[0] == b[0] &&
	       a[1] == b[1];
}

static bool exports_type(const struct assembly *a, const char *full_type)
{
	const char *dot = strrchr(full_type, '.');
	for (size_t i = 0; dot && i < a->n_types; i++)
		if (!strcmp(a->types[i], dot + 1))
			return true;
	return false;
}

/* An upgrade may not take away a type that a step of the assembly runs. */
static int check_types_kept(struct store *s, struct asm_register *c)
{
	struct step *v;
	size_t n;
	int rc = store_steps_list(s, &v, &n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (v[i].assembly_id == c->a.id && !exports_type(&c->a, v[i].plugin_type)) {
			snprintf(
			    c->conflict, sizeof(c->conflict),
			    "%s %s no longer exports %s, which step %lld runs: delete the step "
			    "first, or keep the type",
			    c->a.name, c->a.version, v[i].plugin_type, (long long)v[i].id);
			rc = AE_CONFLICT;
		}
	if (rc == 0 || rc == AE_CONFLICT)
		step_array_free(v, n);
	return rc;
}

int assemblies_register_fn(struct store *s, void *arg)
{
	struct asm_register *c = arg;
	struct assembly *all, found;
	size_t n;
	c->outcome = ASM_REGISTERED;
	c->conflict[0] = 0;
	if (store_assembly_find_sha(s, c->a.sha256, &found) == 0) {
		c->a.id = found.id;
		assembly_done(&found);
		c->outcome = ASM_UNCHANGED;
		return 0;
	}
	int rc = store_assemblies_list(s, &all, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i].name, c->a.name) || !same_line(all[i].version, c->a.version))
			continue;
		if (!strcmp(all[i].version, c->a.version)) {
			snprintf(c->conflict, sizeof(c->conflict),
				 "%s %s is already registered with other bytes: give the new build "
				 "another build or revision number",
				 c->a.name, c->a.version);
			rc = AE_CONFLICT;
		} else {
			c->a.id = all[i].id; /* upgrade in place */
			c->outcome = ASM_UPGRADED;
		}
	}
	if (rc == 0 && c->outcome == ASM_UPGRADED)
		rc = check_types_kept(s, c);
	assembly_array_free(all, n);
	c->a.modified_on = clock_now_ms();
	return rc < 0 ? rc : store_assembly_insert(s, &c->a, c->bytes, c->n);
}

const char *assemblies_outcome_name(enum asm_outcome o)
{
	return o == ASM_UNCHANGED ? "unchanged" : o == ASM_UPGRADED ? "upgraded" : "registered";
}
