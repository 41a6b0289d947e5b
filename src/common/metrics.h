/* The process's metrics (docs/metrics.md): counters, gauges and histograms that live as long as
 * the process, bumped with relaxed atomics where things happen and read by GET /metrics
 * (api/h_metrics.c), which renders them. Nothing here takes a lock on a hot path; the plug-in
 * type and error-code label values are interned once into bounded tables. */
#ifndef ASYNCD_METRICS_H
#define ASYNCD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

/* Label values of plug-in types: the first METRICS_TYPES_MAX distinct types seen by the process
 * get their own series; later ones are counted under METRICS_TYPE_OTHER ("_other"). */
#define METRICS_TYPES_MAX 64
#define METRICS_TYPE_OTHER METRICS_TYPES_MAX
/* Error codes, the same way ("_other" beyond the cap). Index 0 is "none" (a success). */
#define METRICS_CODES_MAX 32
#define METRICS_CODE_OTHER METRICS_CODES_MAX
/* Job statuses (SPEC §1), by slot: see metrics_status_slot(). */
#define METRICS_STATUSES 8
/* Outcomes of a run, by what it led to. */
enum metrics_outcome {
	METRICS_SUCCEEDED,
	METRICS_FAILED,
	METRICS_RETRIED,
	METRICS_CANCELED,
	METRICS_OUTCOMES
};
/* Why a sandbox worker was killed (sandbox/sandbox_int.h enum sb_kill, then a crash). */
#define METRICS_KILL_REASONS 8

#define METRICS_BUCKETS_MAX 16

/* Bucket upper bounds in the unit observed (integers), and the factor to the base unit. */
struct metrics_buckets {
	int n;
	int64_t le[METRICS_BUCKETS_MAX];
	double scale;
};
/* Durations observed in microseconds, shown in seconds: 1 ms .. 5 min. */
extern const struct metrics_buckets metrics_seconds;
/* Counts (a commit's batch size): 1 .. 10,000. */
extern const struct metrics_buckets metrics_sizes;

/* Bucket counts (not cumulative; the last is +Inf) and the sum, in the observed unit. */
struct metrics_hist {
	uint64_t n[METRICS_BUCKETS_MAX + 1];
	uint64_t sum;
};

struct asyncd_metrics {
	/* jobs by plug-in type and status, kept by the store's writer connection after each commit
	 * (seeded from the indexes at its start); jobs_live says whether they are */
	int64_t jobs[METRICS_TYPES_MAX + 1][METRICS_STATUSES];
	int jobs_live;
	uint64_t processed, claimed;
	uint64_t outcomes[METRICS_TYPES_MAX + 1][METRICS_OUTCOMES][METRICS_CODES_MAX + 1];
	struct metrics_hist run[METRICS_TYPES_MAX + 1];	 /* started -> outcome, µs */
	struct metrics_hist wait[METRICS_TYPES_MAX + 1]; /* created -> started, µs */
	uint64_t events, event_jobs;			 /* accepted by the API, jobs made */
	uint64_t sb_spawned, sb_killed[METRICS_KILL_REASONS];
	int64_t sb_alive, sb_rss;
	struct metrics_hist commit_batch; /* ops in one commit */
	struct metrics_hist commit_time;  /* begin -> commit done, µs */
	uint64_t commit_failures;
};

extern struct asyncd_metrics asyncd_metrics;

static inline void metrics_inc(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static inline uint64_t metrics_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static inline void metrics_set(int64_t *g, int64_t v)
{
	__atomic_store_n(g, v, __ATOMIC_RELAXED);
}

static inline int64_t metrics_gauge(const int64_t *g)
{
	return __atomic_load_n(g, __ATOMIC_RELAXED);
}

void metrics_observe(struct metrics_hist *h, const struct metrics_buckets *b, int64_t v);

/* The label index of plug-in type name (interned on first sight), METRICS_TYPE_OTHER past the
 * cap or for NULL. Lock-free once a name is known. */
int metrics_type(const char *name);
/* How many types have an index, and the name of index i ("_other" for METRICS_TYPE_OTHER). */
int metrics_types_n(void);
const char *metrics_type_name(int i);

/* The same for error codes; NULL or "" is index 0, "none". */
int metrics_code(const char *code);
int metrics_codes_n(void);
const char *metrics_code_name(int i);

/* The slot of job status number st (0, 10, 20, 21, 22, 30, 31, 32), -1 for another number; and
 * back. */
int metrics_status_slot(int st);
int metrics_slot_status(int slot);

/* Microseconds on the monotonic clock, for durations. */
int64_t metrics_now_us(void);

#endif
