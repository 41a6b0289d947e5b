/* Registering an assembly's build and changing its isolation (see assemblies.h). */
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

/* An assembly being deleted takes no new build: the drain would delete it with the rest. */
static int refuse_draining(struct asm_register *c, const struct assembly *old)
{
	snprintf(c->conflict, sizeof(c->conflict),
		 "assembly %lld (%s %s) is draining: it is deleted once its unfinished jobs are "
		 "done; wait for the drain to end, or end it now with DELETE "
		 "/api/v1/assemblies/%lld?mode=cancel, then register the build again",
		 (long long)old->id, old->name, old->version, (long long)old->id);
	return AE_CONFLICT;
}

/* The same bytes again: unchanged, or a change of isolation when the upload names another. */
static int same_bytes(struct store *s, struct asm_register *c, const struct assembly *found)
{
	if (found->draining)
		return refuse_draining(c, found);
	c->a.id = found->id;
	c->a.isolation = found->isolation;
	if (!c->isolation_named || c->isolation == found->isolation) {
		c->outcome = ASM_UNCHANGED;
		return 0;
	}
	c->a.isolation = c->isolation;
	c->outcome = ASM_ISOLATION_CHANGED;
	return store_assembly_set_isolation(s, found->id, c->isolation, clock_now_ms());
}

/* A build of a registered major.minor (old): replace it in place, or say why not. */
static int replace(struct asm_register *c, const struct assembly *old)
{
	if (old->draining)
		return refuse_draining(c, old);
	int cmp = plugin_version_cmp(c->a.version, old->version);
	if (cmp == 0) {
		snprintf(c->conflict, sizeof(c->conflict),
			 "%s %s is already registered with other bytes: give the new build "
			 "another build or revision number",
			 c->a.name, c->a.version);
		return AE_CONFLICT;
	}
	if (cmp < 0 && !c->allow_downgrade) {
		snprintf(c->conflict, sizeof(c->conflict),
			 "%s %s is lower than the registered %s %s: a downgrade is refused unless "
			 "the upload asks for it with ?allow_downgrade=true",
			 c->a.name, c->a.version, old->name, old->version);
		return AE_CONFLICT;
	}
	c->a.id = old->id;
	if (!c->isolation_named)
		c->a.isolation = old->isolation;
	c->outcome = cmp < 0 ? ASM_DOWNGRADED : ASM_UPGRADED;
	snprintf(c->previous, sizeof(c->previous), "%s", old->version);
	return 0;
}

static int decide_line(struct store *s, struct asm_register *c)
{
	struct assembly *all;
	size_t n;
	int rc = store_assemblies_list(s, &all, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!strcmp(all[i].name, c->a.name) && same_line(all[i].version, c->a.version))
			rc = replace(c, &all[i]);
	if (rc == 0 && c->outcome != ASM_REGISTERED)
		rc = check_types_kept(s, c);
	assembly_array_free(all, n);
	return rc;
}

/* Outputs reset first: the writer may roll the group back and run the op again. */
static void reset(struct asm_register *c)
{
	c->a.id = 0;
	c->a.isolation = c->isolation;
	c->outcome = ASM_REGISTERED;
	c->previous[0] = 0;
	c->conflict[0] = 0;
}

int assemblies_register_fn(struct store *s, void *arg)
{
	struct asm_register *c = arg;
	struct assembly found;
	reset(c);
	int rc = store_assembly_find_sha(s, c->a.sha256, &found);
	if (rc == 0) {
		rc = same_bytes(s, c, &found);
		assembly_done(&found);
		return rc;
	}
	if (rc != AE_NOTFOUND)
		return rc;
	if ((rc = decide_line(s, c)) < 0)
		return rc;
	c->a.modified_on = clock_now_ms();
	return store_assembly_insert(s, &c->a, c->bytes, c->n);
}

const char *assemblies_outcome_name(enum asm_outcome o)
{
	static const char *const names[] = {
	    [ASM_REGISTERED] = "registered",
	    [ASM_UNCHANGED] = "unchanged",
	    [ASM_UPGRADED] = "upgraded",
	    [ASM_DOWNGRADED] = "downgraded",
	    [ASM_ISOLATION_CHANGED] = "isolation_changed",
	};
	return o <= ASM_ISOLATION_CHANGED ? names[o] : "registered";
}

int assemblies_set_isolation_fn(struct store *s, void *arg)
{
	struct asm_isolation *c = arg;
	struct assembly a;
	c->changed = false;
	c->conflict[0] = 0;
	int rc = store_assembly_get(s, c->id, &a);
	if (rc < 0)
		return rc;
	if (a.draining) {
		snprintf(
		    c->conflict, sizeof(c->conflict),
		    "assembly %lld (%s %s) is draining: it is deleted once its unfinished jobs "
		    "are done",
		    (long long)a.id, a.name, a.version);
		rc = AE_CONFLICT;
	} else if (a.isolation != c->isolation) {
		rc = store_assembly_set_isolation(s, c->id, c->isolation, clock_now_ms());
		c->changed = rc == 0;
	}
	assembly_done(&a);
	return rc;
}
