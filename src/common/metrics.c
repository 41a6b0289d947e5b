/* The process's metrics: histogram buckets and the interned label tables (see metrics.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/metrics.h"

struct asyncd_metrics asyncd_metrics;

const struct metrics_buckets metrics_seconds = {15,
						{1000, 5000, 10000, 25000, 50000, 100000, 250000,
						 500000, 1000000, 2500000, 5000000, 10000000,
						 30000000, 60000000, 300000000},
						1e-6};

const struct metrics_buckets metrics_sizes = {
    13, {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}, 1};

void metrics_observe(struct metrics_hist *h, const struct metrics_buckets *b, int64_t v)
{
	int i = 0;
	if (v < 0)
		v = 0;
	while (i < b->n && v > b->le[i])
		i++;
	__atomic_fetch_add(&h->n[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum, (uint64_t)v, __ATOMIC_RELAXED);
}

/* A bounded table of interned names: slots are published with a release store of the count,
 * after the name, so readers never see a half-written slot. */
struct names {
	pthread_mutex_t lock;
	int n, cap;
	const char *v[METRICS_TYPES_MAX];
};

static struct names types = {PTHREAD_MUTEX_INITIALIZER, 0, METRICS_TYPES_MAX, {0}};
/* codes take indices 1 .. METRICS_CODES_MAX - 1: 0 is "none", METRICS_CODE_OTHER the rest */
static struct names codes = {PTHREAD_MUTEX_INITIALIZER, 0, METRICS_CODES_MAX - 1, {0}};

static int find(struct names *t, const char *name, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(t->v[i], name))
			return i;
	return -1;
}

static int intern(struct names *t, const char *name)
{
	int n = __atomic_load_n(&t->n, __ATOMIC_ACQUIRE);
	int i = find(t, name, n);
	if (i >= 0)
		return i;
	pthread_mutex_lock(&t->lock);
	n = t->n;
	if ((i = find(t, name, n)) < 0 && n < t->cap) {
		char *copy = strdup(name);
		if (copy) {
			t->v[n] = copy;
			i = n;
			__atomic_store_n(&t->n, n + 1, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return i < 0 ? t->cap : i;
}

int metrics_type(const char *name)
{
	return name ? intern(&types, name) : METRICS_TYPE_OTHER;
}

int metrics_types_n(void)
{
	return __atomic_load_n(&types.n, __ATOMIC_ACQUIRE);
}

const char *metrics_type_name(int i)
{
	return i >= 0 && i < metrics_types_n() ? types.v[i] : "_other";
}

int metrics_code(const char *code)
{
	return code && *code ? intern(&codes, code) + 1 : 0;
}

int metrics_codes_n(void)
{
	return __atomic_load_n(&codes.n, __ATOMIC_ACQUIRE) + 1;
}

const char *metrics_code_name(int i)
{
	if (i == 0)
		return "none";
	return i > 0 && i < metrics_codes_n() ? codes.v[i - 1] : "_other";
}

static const int status_numbers[METRICS_STATUSES] = {0, 10, 20, 21, 22, 30, 31, 32};

int metrics_status_slot(int st)
{
	for (int i = 0; i < METRICS_STATUSES; i++)
		if (status_numbers[i] == st)
			return i;
	return -1;
}

int metrics_slot_status(int slot)
{
	return slot >= 0 && slot < METRICS_STATUSES ? status_numbers[slot] : -1;
}

int64_t metrics_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
