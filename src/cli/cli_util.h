/* Small helpers asyncctl's modules share: a growable string, URL paths with escaped segments and
 * query parameters, bounded file reading, and times given on the command line. No network and
 * no output: callers report the errors these return. */
#ifndef ASYNCD_CLI_UTIL_H
#define ASYNCD_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* The largest answer, upload or bulk file asyncctl handles. */
#define CLI_MAX_BYTES ((size_t)64 << 20)

/* A growable NUL-terminated string; zero-initialize, free with cli_str_done(). On allocation
 * failure it latches oom and later appends do nothing. */
struct cli_str {
	char *buf;
	size_t len, cap;
	bool oom;
};

void cli_str_add(struct cli_str *s, const char *text);
void cli_str_addn(struct cli_str *s, const char *text, size_t n);
void cli_str_addf(struct cli_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append text percent-encoded (everything but unreserved characters). */
void cli_str_add_escaped(struct cli_str *s, const char *text);
/* Append "?key=value" or "&key=value", value escaped; does nothing when value is NULL. */
void cli_str_add_query(struct cli_str *s, const char *key, const char *value);
/* The string, or NULL after an allocation failure; the caller takes ownership. */
char *cli_str_steal(struct cli_str *s);
void cli_str_done(struct cli_str *s);

/* "/api/v1/" + a + "/" + escaped id [+ "/" + tail]; malloc'd, NULL when out of memory. */
char *cli_path(const char *a, const char *id, const char *tail);

/* Read a whole file ("-" is stdin) of at most max bytes. 0 and *ret_data (malloc'd, NUL added,
 * not counted in *ret_len), or -errno (-EFBIG when larger than max). */
int cli_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);
/* Read the first line of a small file, surrounding white space removed; 0 or -errno (-ENODATA
 * when empty). */
int cli_read_line_file(const char *path, char **ret_line);

/* A time option: RFC 3339 passes through; "+N[smhd]" means that long from now. Writes the
 * RFC 3339 UTC form to buf; -EINVAL when it is neither. */
int cli_time_arg(const char *in, char *buf, size_t size);

/* Whether s is a positive decimal integer that fits in 63 bits. */
bool cli_is_id(const char *s);
/* Sleep for ms milliseconds. */
void cli_sleep_ms(long ms);
/* Seconds on a monotonic clock. */
double cli_now(void);

#endif
