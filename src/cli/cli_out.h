/* asyncctl's output: aligned tables built from arrays of JSON objects (long cells cut with "…"),
 * "key: value" lines, pretty JSON for --json, and text made safe for a terminal. It prints on
 * stdout; errors go through cli_err(). No colors. */
#ifndef ASYNCD_CLI_OUT_H
#define ASYNCD_CLI_OUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* How one column gets its text from a row: malloc'd text, or NULL to show "-". */
typedef char *(*cli_cell_fn)(const json_t *row, const char *key);

struct cli_col {
	const char *header;
	const char *key; /* the member shown (passed to fmt) */
	size_t maxw;	 /* widest the column may be, 0 for no limit */
	cli_cell_fn fmt; /* NULL: cli_text() of row[key] */
};

#define CLI_NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))

/* Print rows, an array of objects, as a table with a header line; nothing when rows is empty. */
int cli_table(const struct cli_col *cols, size_t ncols, const json_t *rows);

/* The text of a JSON value: strings as they are, other scalars and containers as compact JSON;
 * NULL for null or absent. malloc'd. */
char *cli_text(const json_t *v);
/* A cell formatter for RFC 3339 times, without fractions of a second. */
char *cli_fmt_time(const json_t *row, const char *key);
/* A cell formatter for booleans: "yes" or "no". */
char *cli_fmt_bool(const json_t *row, const char *key);

/* A copy of s with control characters turned into spaces and, when max > 0, cut to max
 * characters ending in "…". malloc'd; NULL when out of memory. */
char *cli_clean(const char *s, size_t max);
/* Print "key:" padded to width, then value (cleaned, "-" when NULL) on f. */
void cli_kv(FILE *f, int width, const char *key, const char *value);
/* Pretty-print v on stdout (nothing for NULL). */
int cli_print_json(const json_t *v);
/* Print the hint for the next page on stderr when answer has a "next_cursor" string. */
void cli_next_cursor(const json_t *answer);
/* Print multi-line text (a trace log) with control characters but newlines and tabs made
 * spaces, ending in a newline. */
void cli_put_text(FILE *f, const char *text);

#endif
