/* Strings, paths, bounded file reads and command-line times for asyncctl (see cli_util.h). It
 * reports nothing itself: every failure comes back as a negative code for the caller to word. */
#include "cli/cli_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool str_reserve(struct cli_str *s, size_t extra)
{
	size_t want, cap;
	char *p;

	if (s->oom)
		return false;
	want = s->len + extra + 1;
	if (want <= s->cap)
		return true;
	cap = s->cap ? s->cap : 64;
	while (cap < want)
		cap *= 2;
	p = realloc(s->buf, cap);
	if (!p) {
		s->oom = true;
		return false;
	}
	s->buf = p;
	s->cap = cap;
	return true;
}

void cli_str_addn(struct cli_str *s, const char *text, size_t n)
{
	if (!str_reserve(s, n))
		return;
	memcpy(s->buf + s->len, text, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

void cli_str_add(struct cli_str *s, const char *text)
{
	cli_str_addn(s, text, strlen(text));
}

void cli_str_addf(struct cli_str *s, const char *fmt, ...)
{
	va_list ap;
	char *tmp;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&tmp, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->oom = true;
		return;
	}
	cli_str_addn(s, tmp, (size_t)n);
	free(tmp);
}

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

void cli_str_add_escaped(struct cli_str *s, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char enc[3] = {'%', 0, 0};

	for (p = (const unsigned char *)text; *p; p++) {
		if (unreserved(*p)) {
			cli_str_addn(s, (const char *)p, 1);
			continue;
		}
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 15];
		cli_str_addn(s, enc, 3);
	}
}

void cli_str_add_query(struct cli_str *s, const char *key, const char *value)
{
	if (!value)
		return;
	cli_str_add(s, s->buf && strchr(s->buf, '?') ? "&" : "?");
	cli_str_add(s, key);
	cli_str_add(s, "=");
	cli_str_add_escaped(s, value);
}

char *cli_str_steal(struct cli_str *s)
{
	char *r;

	if (s->oom) {
		free(s->buf);
		r = NULL;
	} else {
		r = s->buf ? s->buf : strdup("");
	}
	*s = (struct cli_str){0};
	return r;
}

void cli_str_done(struct cli_str *s)
{
	free(s->buf);
	*s = (struct cli_str){0};
}

char *cli_path(const char *a, const char *id, const char *tail)
{
	struct cli_str s = {0};

	cli_str_addf(&s, "/api/v1/%s/", a);
	cli_str_add_escaped(&s, id);
	if (tail)
		cli_str_addf(&s, "/%s", tail);
	return cli_str_steal(&s);
}

static int read_stream(FILE *f, size_t max, char **ret_data, size_t *ret_len)
{
	struct cli_str s = {0};
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (s.len + n > max) {
			cli_str_done(&s);
			return -EFBIG;
		}
		cli_str_addn(&s, chunk, n);
	}
	if (ferror(f)) {
		cli_str_done(&s);
		return -EIO;
	}
	n = s.len;
	*ret_data = cli_str_steal(&s);
	if (!*ret_data)
		return -ENOMEM;
	*ret_len = n;
	return 0;
}

int cli_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	FILE *f;
	int r;

	if (strcmp(path, "-") == 0)
		return read_stream(stdin, max, ret_data, ret_len);
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	r = read_stream(f, max, ret_data, ret_len);
	fclose(f);
	return r;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int cli_read_line_file(const char *path, char **ret_line)
{
	char *data, *nl, *line;
	size_t len;
	int r;

	r = cli_read_file(path, 4096, &data, &len);
	if (r < 0)
		return r;
	nl = strchr(data, '\n');
	if (nl)
		*nl = '\0';
	line = trim(data);
	if (!*line) {
		free(data);
		return -ENODATA;
	}
	line = strdup(line);
	free(data);
	if (!line)
		return -ENOMEM;
	*ret_line = line;
	return 0;
}

static long unit_seconds(const char *unit)
{
	static const struct {
		const char *name;
		long secs;
	} units[] = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].name) == 0)
			return units[i].secs;
	return 0;
}

int cli_time_arg(const char *in, char *buf, size_t size)
{
	char *end;
	long n, mult;
	time_t t;
	struct tm tm;

	if (in[0] != '+') {
		if (!isdigit((unsigned char)in[0]) || strlen(in) >= size)
			return -EINVAL;
		strcpy(buf, in);
		return 0;
	}
	errno = 0;
	n = strtol(in + 1, &end, 10);
	mult = unit_seconds(end);
	if (errno || end == in + 1 || n < 0 || !mult || n > 100L * 366 * 86400 / mult)
		return -EINVAL;
	t = time(NULL) + (time_t)(n * mult);
	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -EINVAL;
	return 0;
}

bool cli_is_id(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 18 && s[n] == '\0' && strspn(s, "0") < n;
}

void cli_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
