/* Logging for the daemon's top layers: one record per event worth logging, "LEVEL module:
 * message", lowercase with the detail after a colon, plus fields (job_id, plugin_type, host,
 * error_code, ...) that the formats keep apart: text lines on stderr (fields as key=value after
 * the message), JSON lines on stderr, or native journald records (fields as JOB_ID=42...). The
 * request id of the thread (an API request being handled) is added to every record. Lower
 * layers return errors instead of logging. See docs/logging.md. */
#ifndef ASYNCD_LOG_H
#define ASYNCD_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

enum log_format {
	LOG_FMT_TEXT,	 /* TIME LEVEL module: message key=value... */
	LOG_FMT_JSON,	 /* {"time","level","module","message",fields...} per line */
	LOG_FMT_JOURNAL, /* sd_journal_send: MESSAGE, PRIORITY, MODULE, fields in upper case */
};

/* One field of a record: a string (skipped when NULL) or a whole number. Keys are lower-case
 * snake_case ([a-z0-9_]); the journal gets them in upper case. */
struct log_field {
	const char *key;
	const char *str;
	long long num;
	bool is_num;
};

#define LOG_STR(k, v) ((struct log_field){.key = (k), .str = (v)})
#define LOG_INT(k, v) ((struct log_field){.key = (k), .num = (long long)(v), .is_num = true})
/* A field list for log_event: LOG_FIELDS(LOG_INT("job_id", id), LOG_STR("plugin_type", t)) */
#define LOG_FIELDS(...) ((const struct log_field[]){__VA_ARGS__, {0}})

void log_set_level(enum log_level lvl);
void log_set_format(enum log_format fmt);
enum log_format log_get_format(void);
/* Whether a record of lvl is written (to skip building one that is not). */
bool log_enabled(enum log_level lvl);
/* "text", "json" or "journal"; -1 for anything else. */
int log_format_parse(const char *name, enum log_format *ret);
/* journal when stderr is the journal's stream (JOURNAL_STREAM names its device and inode, as
 * systemd sets it for StandardError=journal), else text. */
enum log_format log_default_format(void);
/* The request id added to every record this thread logs until it is cleared (NULL). */
void log_set_request_id(const char *id);

void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A record with fields (a LOG_FIELDS list, ended by a NULL key). */
void log_event(enum log_level lvl, const char *module, const struct log_field *fields,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(mod, ...) log_msg(LOG_LVL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LVL_DEBUG, mod, __VA_ARGS__)

#endif
