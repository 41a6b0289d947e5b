/* The log sink (see log.h): one write per record so threads do not interleave. */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#define SD_JOURNAL_SUPPRESS_LOCATION /* the location would always be log.c */
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

#define LINE_MAX_BYTES 4096
#define MAX_FIELDS 16

static enum log_level log_level = LOG_LVL_INFO;
static enum log_format log_format = LOG_FMT_TEXT;
static _Thread_local const char *thread_request_id;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

void log_set_format(enum log_format fmt)
{
	log_format = fmt;
}

bool log_enabled(enum log_level lvl)
{
	return lvl <= log_level;
}

enum log_format log_get_format(void)
{
	return log_format;
}

int log_format_parse(const char *name, enum log_format *ret)
{
	static const char *const names[] = {"text", "json", "journal"};
	for (int i = 0; i < 3; i++)
		if (name && !strcmp(name, names[i])) {
			*ret = (enum log_format)i;
			return 0;
		}
	return -1;
}

enum log_format log_default_format(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return LOG_FMT_TEXT;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino
		   ? LOG_FMT_JOURNAL
		   : LOG_FMT_TEXT;
}

void log_set_request_id(const char *id)
{
	thread_request_id = id;
}

static void write_all(const char *p, size_t n)
{
	ssize_t w = write(STDERR_FILENO, p, n);
	(void)w;
}

/* A text value as is when it is a plain word, else in double quotes (quotes and backslashes
 * escaped). */
static int text_value(char *out, size_t n, const char *v)
{
	bool plain = *v != 0;
	for (const char *p = v; *p && plain; p++)
		plain = !isspace((unsigned char)*p) && *p != '"' && *p != '=';
	if (plain)
		return snprintf(out, n, "%s", v);
	size_t k = 0;
	if (k < n)
		out[k++] = '"';
	for (const char *p = v; *p && k + 3 < n; p++) {
		if (*p == '"' || *p == '\\')
			out[k++] = '\\';
		out[k++] = *p == '\n' ? ' ' : *p;
	}
	if (k + 1 < n)
		out[k++] = '"';
	out[k < n ? k : n - 1] = 0;
	return (int)k;
}

static void emit_text(enum log_level lvl, const char *module, const struct log_field *f,
		      const char *msg)
{
	char line[LINE_MAX_BYTES], ts[32], num[32];
	clock_format_rfc3339(clock_now_ms(), ts, sizeof(ts));
	size_t cap = sizeof(line) - 1, n = 0;
	n += (size_t)snprintf(line, cap, "%s %s %s: %s", ts, level_names[lvl], module, msg);
	for (; f && f->key && n < cap; f++) {
		if (!f->is_num && !f->str)
			continue;
		snprintf(num, sizeof(num), "%lld", f->num);
		n += (size_t)snprintf(line + n, cap - n, " %s=", f->key);
		if (n < cap)
			n += (size_t)text_value(line + n, cap - n, f->is_num ? num : f->str);
	}
	if (n > cap - 1)
		n = cap - 1;
	line[n++] = '\n';
	write_all(line, n);
}

static void emit_json(enum log_level lvl, const char *module, const struct log_field *f,
		      const char *msg)
{
	char ts[32];
	clock_format_rfc3339(clock_now_ms(), ts, sizeof(ts));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s?}", "time", ts, "level", level_names[lvl], "module",
			      module, "message", msg);
	for (; o && f && f->key; f++) {
		if (f->is_num)
			json_object_set_new(o, f->key, json_integer(f->num));
		else if (f->str)
			json_object_set_new(o, f->key, json_string(f->str));
	}
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	if (!text) {
		emit_text(lvl, module, f, msg);
		return;
	}
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return;
	}
	line[n] = '\n';
	write_all(line, n + 1);
	free(line);
}

/* KEY=value with the key in upper case, into buf (at most n bytes). */
static void journal_pair(char *buf, size_t n, const struct log_field *f)
{
	size_t k = 0;
	for (const char *p = f->key; *p && k + 1 < n; p++)
		buf[k++] = (char)toupper((unsigned char)*p);
	if (f->is_num)
		snprintf(buf + k, n - k, "=%lld", f->num);
	else
		snprintf(buf + k, n - k, "=%s", f->str);
}

static void emit_journal(enum log_level lvl, const char *module, const struct log_field *f,
			 const char *msg)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char head[3][LINE_MAX_BYTES], pairs[MAX_FIELDS][512];
	struct iovec iov[3 + MAX_FIELDS + 1];
	int n = 0;
	snprintf(head[0], sizeof(head[0]), "MESSAGE=%s: %s", module, msg);
	snprintf(head[1], sizeof(head[1]), "PRIORITY=%d", prio[lvl]);
	snprintf(head[2], sizeof(head[2]), "MODULE=%s", module);
	for (int i = 0; i < 3; i++)
		iov[n++] = (struct iovec){head[i], strlen(head[i])};
	iov[n++] = (struct iovec){(void *)"SYSLOG_IDENTIFIER=asyncd", 24};
	int i = 0;
	for (const struct log_field *p = f; p && p->key && i < MAX_FIELDS; p++) {
		if (!p->is_num && !p->str)
			continue;
		journal_pair(pairs[i], sizeof(pairs[i]), p);
		iov[n++] = (struct iovec){pairs[i], strlen(pairs[i])};
		i++;
	}
	if (sd_journal_sendv(iov, n) < 0)
		emit_text(lvl, module, f, msg); /* no journal after all: stderr still works */
}

static void emit(enum log_level lvl, const char *module, const struct log_field *fields,
		 const char *fmt, va_list ap)
{
	char msg[LINE_MAX_BYTES / 2];
	struct log_field all[MAX_FIELDS + 1];
	int n = 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (; fields && fields->key && n < MAX_FIELDS - 1; fields++)
		all[n++] = *fields;
	if (thread_request_id)
		all[n++] = LOG_STR("request_id", thread_request_id);
	all[n] = (struct log_field){0};
	if (log_format == LOG_FMT_JSON)
		emit_json(lvl, module, all, msg);
	else if (log_format == LOG_FMT_JOURNAL)
		emit_journal(lvl, module, all, msg);
	else
		emit_text(lvl, module, all, msg);
}

void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
{
	if (lvl > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit(lvl, module, NULL, fmt, ap);
	va_end(ap);
}

void log_event(enum log_level lvl, const char *module, const struct log_field *fields,
	       const char *fmt, ...)
{
	if (lvl > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit(lvl, module, fields, fmt, ap);
	va_end(ap);
}
