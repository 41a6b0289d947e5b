/* Small measuring helpers shared by the benchmark's tests: clocks and percentiles. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in seconds. */
double mono_s(void);
/* qsort comparator for doubles. */
int cmp_double(const void *a, const void *b);
/* the p-th percentile (0..100) of sorted v[0..n); NAN when n is 0 */
double pct(const double *v, size_t n, double p);

/* User + system CPU seconds of process pid so far (/proc/PID/stat); -1 when it is gone. */
double proc_cpu_s(pid_t pid);

#endif
