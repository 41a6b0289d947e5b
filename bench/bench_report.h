/* The benchmark's results: collected as (test, metric, value, unit, note) rows, then printed as a
 * table, written as CSV and drawn as an SVG bar chart (one panel per kind of unit). */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdio.h>

/* Add a measured value. note may be NULL. */
void report_add(const char *test, const char *metric, double value, const char *unit,
		const char *note, ...) __attribute__((format(printf, 5, 6)));
/* Add a row without a value ("n/a"), saying why in note. */
void report_na(const char *test, const char *metric, const char *unit, const char *note);
/* The value of a row added before, or -1. */
double report_get(const char *test, const char *metric);
/* How many rows say "failed" (the run's exit status). */
int report_failures(void);
void report_print(FILE *f, const char *title);
int report_csv(const char *path);
int report_svg(const char *path, const char *title);
void report_free(void);

#endif
