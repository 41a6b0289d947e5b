/* The benchmark's "hostile clients" test (see bench_hostile.c). */
#ifndef BENCH_HOSTILE_H
#define BENCH_HOSTILE_H

#include "bench_env.h"

/* Measure and report a normal client's latency under idle, slowloris and bulk load. */
void bench_hostile(const struct env_paths *paths, double scale);

#endif
