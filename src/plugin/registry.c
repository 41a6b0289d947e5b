/* Snapshot building and publication for the registry (see registry.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "plugin/loader.h"
#include "plugin/registry.h"

/* reg_lock guards reg_current (held for moments); reload_lock orders whole reloads, held across
 * the store read and the publication, so that a reload that read older rows can never publish
 * after one that read newer rows: the last snapshot published is the last one read. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct registry_snap *reg_current;
static uint64_t reg_gen, reg_print; /* the generation, and the fingerprint of reg_current */

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static uint64_t mix_text(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = mix(h, (unsigned char)*s);
	return mix(h, 0xff);
}

/* What a run depends on: each assembly's build, isolation and drain, each step's fields (its
 * modified_on moves with every change) and drain. */
static uint64_t fingerprint(const struct registry_snap *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < r->n_assemblies; i++) {
		const struct assembly *a = &r->assemblies[i];
		h = mix(mix(mix(h, (uint64_t)a->id), (uint64_t)a->isolation), a->draining);
		h = mix_text(h, a->sha256);
	}
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct step *st = &r->steps[i].row;
		h = mix(mix(h, (uint64_t)st->id), (uint64_t)st->modified_on);
		h = mix(mix(h, st->draining), st->enabled);
	}
	return h;
}

static void (*change_fn)(void *);
static void *change_arg;

void registry_on_change(void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&reg_lock);
	change_fn = fn;
	change_arg = arg;
	pthread_mutex_unlock(&reg_lock);
}

uint64_t registry_generation(void)
{
	return __atomic_load_n(&reg_gen, __ATOMIC_ACQUIRE);
}

#define RELOAD_TRIES 5
#define RELOAD_PAUSE_MS 10

static void snap_free(struct registry_snap *r)
{
	if (!r)
		return;
	assembly_array_free(r->assemblies, r->n_assemblies);
	for (size_t i = 0; i < r->n_steps; i++) {
		step_done(&r->steps[i].row);
		json_decref(r->steps[i].filter);
		json_decref(r->steps[i].images);
	}
	free(r->steps);
	free(r);
}

static json_t *parse_opt(const char *text)
{
	return text ? json_loads(text, 0, NULL) : NULL;
}

static int load_steps(struct store *s, struct registry_snap *r)
{
	struct step *rows;
	size_t n;
	int rc = store_steps_list(s, &rows, &n);
	if (rc < 0)
		return rc;
	r->steps = calloc(n ? n : 1, sizeof(*r->steps));
	if (!r->steps) {
		step_array_free(rows, n);
		return AE_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		r->steps[i].row = rows[i];
		r->steps[i].filter = parse_opt(rows[i].filtering_attributes);
		r->steps[i].images = parse_opt(rows[i].images);
	}
	r->n_steps = n;
	free(rows); /* the contents moved into the snapshot */
	return 0;
}

static int read_snapshot(struct store *s, struct registry_snap **ret)
{
	struct registry_snap *r = calloc(1, sizeof(*r));
	if (!r)
		return AE_NOMEM;
	r->refs = 1;
	int rc = store_assemblies_list(s, &r->assemblies, &r->n_assemblies);
	if (rc == 0)
		rc = load_steps(s, r);
	if (rc < 0) {
		snap_free(r);
		return rc;
	}
	*ret = r;
	return 0;
}

int registry_reload(struct store *s)
{
	struct registry_snap *r;
	pthread_mutex_lock(&reload_lock);
	int rc = read_snapshot(s, &r);
	for (int i = 1; i < RELOAD_TRIES && (rc == AE_STORE || rc == AE_BUSY); i++) {
		struct timespec pause = {0, RELOAD_PAUSE_MS * 1000000L};
		nanosleep(&pause, NULL);
		rc = read_snapshot(s, &r);
	}
	if (rc == 0) {
		uint64_t print = fingerprint(r);
		pthread_mutex_lock(&reg_lock);
		bool changed = !reg_current || print != reg_print;
		if (changed)
			__atomic_add_fetch(&reg_gen, 1, __ATOMIC_ACQ_REL);
		reg_print = print;
		r->gen = reg_gen;
		struct registry_snap *old = reg_current;
		reg_current = r;
		void (*fn)(void *) = changed ? change_fn : NULL;
		void *arg = change_arg;
		pthread_mutex_unlock(&reg_lock);
		registry_put(old);
		if (fn)
			fn(arg);
	}
	pthread_mutex_unlock(&reload_lock);
	return rc;
}

struct registry_snap *registry_get(void)
{
	pthread_mutex_lock(&reg_lock);
	struct registry_snap *r = reg_current;
	if (r)
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&reg_lock);
	return r;
}

void registry_put(struct registry_snap *r)
{
	if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
		snap_free(r);
}

void registry_shutdown(void)
{
	pthread_mutex_lock(&reg_lock);
	struct registry_snap *old = reg_current;
	reg_current = NULL;
	pthread_mutex_unlock(&reg_lock);
	registry_put(old);
}

const struct assembly *registry_assembly(const struct registry_snap *r, int64_t id)
{
	for (size_t i = 0; r && i < r->n_assemblies; i++)
		if (r->assemblies[i].id == id)
			return &r->assemblies[i];
	return NULL;
}

const struct reg_step *registry_step(const struct registry_snap *r, int64_t id)
{
	for (size_t i = 0; r && i < r->n_steps; i++)
		if (r->steps[i].row.id == id)
			return &r->steps[i];
	return NULL;
}

/* "1" or "1.2" after the '@': the major, or the major and minor, without signs or leading
 * zeros. The number of parts, or AE_INVAL. */
static int parse_line(const char *s, uint32_t ret[2])
{
	char full[32];
	uint32_t v[4];
	int dots = 0;
	for (const char *p = s; *p; p++)
		dots += *p == '.';
	if (dots > 1 ||
	    snprintf(full, sizeof(full), "%s%s", s, dots ? ".0.0" : ".0.0.0") >= (int)sizeof(full))
		return AE_INVAL;
	if (plugin_version_parse(full, v) < 0)
		return AE_INVAL;
	ret[0] = v[0];
	ret[1] = v[1];
	return dots + 1;
}

int registry_parse_type(const char *full_name, struct reg_type_ref *ret)
{
	char an[PLUGIN_NAME_MAX + 40];
	const char *dot = full_name ? strrchr(full_name, '.') : NULL;
	memset(ret, 0, sizeof(*ret));
	/* the type follows the last dot; "name@1.2" before it may hold dots of its own */
	if (!dot || dot == full_name || (size_t)(dot - full_name) >= sizeof(an) ||
	    strlen(dot + 1) >= sizeof(ret->type))
		return AE_INVAL;
	memcpy(an, full_name, (size_t)(dot - full_name));
	an[dot - full_name] = 0;
	strcpy(ret->type, dot + 1);
	char *at = strchr(an, '@');
	if (at) {
		*at = 0;
		int parts = parse_line(at + 1, ret->line);
		if (parts < 0)
			return AE_INVAL;
		ret->n_line = parts;
	}
	if (strlen(an) >= sizeof(ret->assembly) || !plugin_name_valid(an) ||
	    !plugin_name_valid(ret->type))
		return AE_INVAL;
	strcpy(ret->assembly, an);
	return 0;
}

int registry_split_type(const char *full_name, char *ret_assembly, size_t an, char *ret_type,
			size_t tn)
{
	struct reg_type_ref t;
	if (registry_parse_type(full_name, &t) < 0 || strlen(t.assembly) >= an ||
	    strlen(t.type) >= tn)
		return AE_INVAL;
	strcpy(ret_assembly, t.assembly);
	strcpy(ret_type, t.type);
	return 0;
}

static bool exports(const struct assembly *a, const char *type)
{
	for (size_t i = 0; i < a->n_types; i++)
		if (!strcmp(a->types[i], type))
			return true;
	return false;
}

/* Whether a is of the name, in the line asked for (if any), and exports the type. */
static bool fits(const struct assembly *a, const struct reg_type_ref *t)
{
	uint32_t v[4];
	if (strcmp(a->name, t->assembly) || !exports(a, t->type))
		return false;
	if (!t->n_line)
		return true;
	if (plugin_version_parse(a->version, v) < 0 || v[0] != t->line[0])
		return false;
	return t->n_line < 2 || v[1] == t->line[1];
}

/* Better: not draining over draining (a draining assembly takes no new jobs), then higher. */
static bool better(const struct assembly *a, const struct assembly *best)
{
	if (!best)
		return true;
	if (a->draining != best->draining)
		return !a->draining;
	return plugin_version_cmp(a->version, best->version) > 0;
}

const struct assembly *registry_resolve_type(const struct registry_snap *r, const char *full_name)
{
	struct reg_type_ref t;
	const struct assembly *best = NULL;
	if (!r || registry_parse_type(full_name, &t) < 0)
		return NULL;
	for (size_t i = 0; i < r->n_assemblies; i++)
		if (fits(&r->assemblies[i], &t) && better(&r->assemblies[i], best))
			best = &r->assemblies[i];
	return best;
}
