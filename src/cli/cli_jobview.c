/* Job formatting for asyncctl (see cli_jobview.h): the state and status names, the columns of
 * the job table and the field-by-field detail view. */
#include "cli/cli_jobview.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_out.h"

struct named {
	int num;
	const char *name;
};

static const struct named states[] = {
    {0, "Ready"}, {1, "Suspended"}, {2, "Locked"}, {3, "Completed"}, {-1, NULL},
};

static const struct named statuses[] = {
    {0, "WaitingForResources"},
    {10, "Waiting"},
    {20, "InProgress"},
    {21, "Pausing"},
    {22, "Canceling"},
    {30, "Succeeded"},
    {31, "Failed"},
    {32, "Canceled"},
    {-1, NULL},
};

static const char *name_of(const struct named *t, long long n)
{
	for (; t->name; t++)
		if (t->num == n)
			return t->name;
	return NULL;
}

const char *cli_state_name(long long n)
{
	return name_of(states, n);
}

const char *cli_status_name(long long n)
{
	return name_of(statuses, n);
}

/* Compare ignoring case, spaces, '-' and '_'. */
static bool loose_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a && strchr(" -_", *a))
			a++;
		while (*b && strchr(" -_", *b))
			b++;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}

static int parse_named(const struct named *t, const char *text, int *ret)
{
	char *end;
	long n = strtol(text, &end, 10);
	bool numeric = end != text && *end == '\0';

	for (; t->name; t++) {
		if (numeric ? t->num == n : loose_eq(text, t->name)) {
			*ret = t->num;
			return 0;
		}
	}
	return -EINVAL;
}

int cli_state_parse(const char *text, int *ret)
{
	return parse_named(states, text, ret);
}

int cli_status_parse(const char *text, int *ret)
{
	return parse_named(statuses, text, ret);
}

const char *cli_state_names(void)
{
	return "Ready (0), Suspended (1), Locked (2), Completed (3)";
}

const char *cli_status_names(void)
{
	return "WaitingForResources (0), Waiting (10), InProgress (20), Pausing (21), "
	       "Canceling (22), Succeeded (30), Failed (31), Canceled (32)";
}

static char *fmt_named(const json_t *row, const char *key, const char *(*name)(long long))
{
	const json_t *v = json_object_get(row, key);
	const char *n = json_is_integer(v) ? name(json_integer_value(v)) : NULL;

	return n ? strdup(n) : cli_text(v);
}

static char *fmt_state(const json_t *row, const char *key)
{
	return fmt_named(row, key, cli_state_name);
}

static char *fmt_status(const json_t *row, const char *key)
{
	return fmt_named(row, key, cli_status_name);
}

static char *fmt_retries(const json_t *row, const char *key)
{
	const json_t *used = json_object_get(row, key);
	const json_t *max = json_object_get(row, "max_retries");
	char *s;

	if (!json_is_integer(used))
		return NULL;
	if (!json_is_integer(max))
		return cli_text(used);
	if (asprintf(&s, "%lld/%lld", (long long)json_integer_value(used),
		     (long long)json_integer_value(max)) < 0)
		return NULL;
	return s;
}

/* The message, or the error code when there is no message. */
static char *fmt_message(const json_t *row, const char *key)
{
	char *m = cli_text(json_object_get(row, key));

	if (m && *m)
		return m;
	free(m);
	return cli_text(json_object_get(row, "error_code"));
}

static const struct cli_col job_cols[] = {
    {"ID", "id", 0, NULL},
    {"NAME", "name", 40, NULL},
    {"STATE", "state", 0, fmt_state},
    {"STATUS", "status", 0, fmt_status},
    {"TYPE", "plugin_type", 32, NULL},
    {"RETRIES", "retry_count", 0, fmt_retries},
    {"CREATED", "created_on", 0, cli_fmt_time},
    {"MESSAGE", "message", 48, fmt_message},
};

int cli_jobs_table(const json_t *jobs)
{
	return cli_table(job_cols, CLI_NCOLS(job_cols), jobs);
}

static char *field_text(const char *key, const json_t *v)
{
	const char *name = NULL;
	char *s;

	if (json_is_integer(v) && strcmp(key, "state") == 0)
		name = cli_state_name(json_integer_value(v));
	else if (json_is_integer(v) && strcmp(key, "status") == 0)
		name = cli_status_name(json_integer_value(v));
	if (!name)
		return cli_text(v);
	if (asprintf(&s, "%lld (%s)", (long long)json_integer_value(v), name) < 0)
		return NULL;
	return s;
}

static int key_width(const json_t *job)
{
	const char *key;
	json_t *v;
	int w = 0;

	json_object_foreach((json_t *)job, key, v)
	{
		if ((int)strlen(key) > w)
			w = (int)strlen(key);
	}
	return w;
}

/* "attempt 3 transient on host-1, 2026-... to 2026-...: flaky_failed: message" and its trace */
static void print_attempt(const json_t *a)
{
	char *start = cli_fmt_time(a, "started_on"), *end = cli_fmt_time(a, "ended_on");
	const char *code = json_string_value(json_object_get(a, "error_code"));
	const char *msg = json_string_value(json_object_get(a, "message"));
	const char *trace = json_string_value(json_object_get(a, "trace"));
	char *clean = msg ? cli_clean(msg, 0) : NULL;

	printf("  attempt %lld %s on %s, %s to %s%s%s%s%s\n",
	       (long long)json_integer_value(json_object_get(a, "attempt")),
	       json_string_value(json_object_get(a, "outcome")) ?: "?",
	       json_string_value(json_object_get(a, "host_id")) ?: "-", start ? start : "-",
	       end ? end : "-", code || clean ? ": " : "", code ? code : "",
	       code && clean ? ": " : "", clean ? clean : "");
	if (trace && *trace)
		cli_put_text(stdout, trace);
	free(start);
	free(end);
	free(clean);
}

/* "next occurrences:" and one time a line (recurring jobs) */
static void print_occurrences(const json_t *next)
{
	size_t i;
	json_t *t;

	if (!json_array_size(next))
		return;
	puts("\nnext occurrences:");
	json_array_foreach(next, i, t) printf("  %s\n", json_string_value(t) ?: "?");
}

static void print_attempts(const json_t *attempts)
{
	size_t i;
	json_t *a;

	if (!json_array_size(attempts))
		return;
	puts("\nattempts:");
	json_array_foreach(attempts, i, a) print_attempt(a);
}

int cli_job_print(const json_t *job)
{
	const char *trace = json_string_value(json_object_get(job, "trace"));
	int width = key_width(job);
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)job, key, v)
	{
		char *text;

		if (strcmp(key, "trace") == 0 || strcmp(key, "attempts") == 0 ||
		    strcmp(key, "next_occurrences") == 0)
			continue;
		text = field_text(key, v);
		cli_kv(stdout, width, key, text);
		free(text);
	}
	if (trace && *trace) {
		puts("\ntrace:");
		cli_put_text(stdout, trace);
	}
	print_occurrences(json_object_get(job, "next_occurrences"));
	print_attempts(json_object_get(job, "attempts"));
	return 0;
}

void cli_job_line(const json_t *job)
{
	char *id = cli_text(json_object_get(job, "id"));
	char *state = fmt_state(job, "state"), *status = fmt_status(job, "status");
	char *msg = fmt_message(job, "message"), *clean = msg ? cli_clean(msg, 0) : NULL;

	printf("job %s: %s/%s%s%s\n", id ? id : "?", state ? state : "-", status ? status : "-",
	       clean ? ": " : "", clean ? clean : "");
	free(id);
	free(state);
	free(status);
	free(msg);
	free(clean);
}
