/* Snapshot building and publication for the registry (see registry.h). */
#include <pthread.h>
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
		pthread_mutex_lock(&reg_lock);
		struct registry_snap *old = reg_current;
		reg_current = r;
		pthread_mutex_unlock(&reg_lock);
		registry_put(old);
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

int registry_split_type(const char *full_name, char *ret_assembly, size_t an, char *ret_type,
			size_t tn)
{
	const char *dot = full_name ? strrchr(full_name, '.') : NULL;
	if (!dot || dot == full_name || (size_t)(dot - full_name) >= an || strlen(dot + 1) >= tn)
		return AE_INVAL;
	memcpy(ret_assembly, full_name, (size_t)(dot - full_name));
	ret_assembly[dot - full_name] = 0;
	strcpy(ret_type, dot + 1);
	if (!plugin_name_valid(ret_assembly) || !plugin_name_valid(ret_type))
		return AE_INVAL;
	return 0;
}

static bool exports(const struct assembly *a, const char *type)
{
	for (size_t i = 0; i < a->n_types; i++)
		if (!strcmp(a->types[i], type))
			return true;
	return false;
}

static int version_cmp(const char *x, const char *y)
{
	uint32_t a[4] = {0}, b[4] = {0};
	plugin_version_parse(x, a);
	plugin_version_parse(y, b);
	for (int i = 0; i < 4; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

const struct assembly *registry_resolve_type(const struct registry_snap *r, const char *full_name)
{
	char an[PLUGIN_NAME_MAX + 1], tn[PLUGIN_NAME_MAX + 1];
	const struct assembly *best = NULL;
	if (!r || registry_split_type(full_name, an, sizeof(an), tn, sizeof(tn)) < 0)
		return NULL;
	for (size_t i = 0; i < r->n_assemblies; i++) {
		const struct assembly *a = &r->assemblies[i];
		if (!strcmp(a->name, an) && exports(a, tn) &&
		    (!best || version_cmp(a->version, best->version) > 0))
			best = a;
	}
	return best;
}
