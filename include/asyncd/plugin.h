/* asyncd plug-in ABI, version 1: the only header a plug-in author includes.
 *
 * A plug-in assembly is a shared library that exports one symbol, asyncd_plugin_entry(), returning
 * a struct asyncd_plugin_info. The host hands every call a table of host functions (struct
 * asyncd_host_api); the plug-in never links against host symbols. Structs that cross the boundary
 * start with their size and are append-only: new members go at the end, never in the middle.
 * See docs/plugin-abi.md and docs/writing-plugins.md.
 */
#ifndef ASYNCD_PLUGIN_H
#define ASYNCD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ASYNCD_PLUGIN_ABI_VERSION 1u
#define ASYNCD_PLUGIN_ENTRY_SYMBOL "asyncd_plugin_entry"

#if defined(__GNUC__)
#define ASYNCD_EXPORT __attribute__((visibility("default")))
#define ASYNCD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ASYNCD_EXPORT
#define ASYNCD_PRINTF(f, a)
#endif

/* What a run of execute() amounts to; decides the job's next state (SPEC §1). */
enum asyncd_result {
	ASYNCD_SUCCESS = 0,	    /* Completed/Succeeded */
	ASYNCD_FAIL_PERMANENT = 1,  /* Completed/Failed: retrying cannot help */
	ASYNCD_FAIL_TRANSIENT = 2,  /* Suspended/Waiting, retried after a delay */
	ASYNCD_NEEDS_ATTENTION = 3, /* Suspended/Waiting until a person resumes it */
};

/* The execution context of one run: opaque, valid only during execute(). */
typedef struct asyncd_ctx asyncd_ctx;

/* Functions the host offers to a plug-in. Strings returned are owned by the host and valid until
 * execute() returns; absent values are NULL. Every function is safe to call from execute(). */
struct asyncd_host_api {
	uint32_t size;	      /* sizeof(struct asyncd_host_api) of the host: check before using a
				 member added after ABI 1 */
	uint32_t abi_version; /* ASYNCD_PLUGIN_ABI_VERSION of the host */

	/* The event that caused the job. */
	const char *(*message)(const asyncd_ctx *ctx);	 /* "Create", "Update", ... */
	const char *(*entity)(const asyncd_ctx *ctx);	 /* primary entity, e.g. "account" */
	const char *(*entity_id)(const asyncd_ctx *ctx); /* the record's id */
	/* The input parameters (the event's target, or a direct job's data) as JSON text. */
	const char *(*input_json)(const asyncd_ctx *ctx);
	/* A top-level member of the input: a string's value, or any other value's JSON text (NULL
	 * when absent). */
	const char *(*input_string)(const asyncd_ctx *ctx, const char *key);
	/* A top-level integer member of the input, or dflt when absent or not an integer. */
	int64_t (*input_int)(const asyncd_ctx *ctx, const char *key, int64_t dflt);
	/* An entity image registered on the step, by alias, as JSON text (NULL when absent). */
	const char *(*image_json)(const asyncd_ctx *ctx, const char *alias);

	/* Where the job stands. */
	int (*depth)(const asyncd_ctx *ctx); /* 1 for a job of an outside event */
	const char *(*correlation_id)(const asyncd_ctx *ctx);
	const char *(*request_id)(const asyncd_ctx *ctx);
	const char *(*initiating_user)(const asyncd_ctx *ctx);
	const char *(*user)(const asyncd_ctx *ctx); /* effective (impersonated) user */
	int64_t (*job_id)(const asyncd_ctx *ctx);
	int64_t (*job_created_on)(const asyncd_ctx *ctx); /* milliseconds since the Unix epoch */
	/* 1 on the first run; goes up by one every time the job is claimed again. Together with
	 * job_id() it makes an idempotency key for side effects. */
	uint32_t (*attempt)(const asyncd_ctx *ctx);
	const char *(*config)(const asyncd_ctx *ctx);	     /* the step's unsecure configuration */
	const char *(*secure_config)(const asyncd_ctx *ctx); /* the step's secure configuration */
	const char *(*shared_variable)(const asyncd_ctx *ctx, const char *name);
	/* Returns 0, or -1 when the name or value is too long or memory ran out. */
	int (*set_shared_variable)(const asyncd_ctx *ctx, const char *name, const char *value);

	/* Services. */
	/* Append a line to the job's trace log (kept with the job, bounded; excess is dropped). */
	void (*trace)(const asyncd_ctx *ctx, const char *fmt, ...) ASYNCD_PRINTF(2, 3);
	/* Set the job's output to a JSON value (text). Returns 0, or -1 when it is not valid JSON
	 * or too large. */
	int (*set_output)(const asyncd_ctx *ctx, const char *json);
	/* Raise an event, as JSON text in the form of POST /api/v1/events. It is recorded when the
	 * job's outcome is, and its jobs run at depth + 1 with this job's correlation id. Returns
	 * 0, or -1 when the event is malformed or too many were raised. */
	int (*raise_event)(const asyncd_ctx *ctx, const char *event_json);
	/* Nonzero once the host asks the run to end early (stop, pause, cancel, timeout): a long
	 * plug-in should check it and return. */
	int (*should_stop)(const asyncd_ctx *ctx);
	/* Record the outcome's message (and, for ASYNCD_FAIL_TRANSIENT, the delay before the next
	 * try in milliseconds, or -1 for the host's backoff) and return code, so that a plug-in can
	 * write: return api->result(ctx, ASYNCD_FAIL_PERMANENT, -1, "no such account: %s", id); */
	int (*result)(const asyncd_ctx *ctx, int code, int64_t delay_ms, const char *fmt, ...)
	    ASYNCD_PRINTF(4, 5);
};

/* A named handler. The instance made by create() is shared by concurrent runs: execute() must be
 * safe to call from several threads at once on the same instance. */
struct asyncd_plugin_type {
	const char *name;	 /* [A-Za-z0-9_-]{1,64}; full name is ASSEMBLY.TYPE */
	const char *description; /* may be NULL */
	/* Optional: build an instance from the step's configurations (either may be NULL). Return 0
	 * and set *ret_instance, or nonzero with a message in err (errlen bytes). */
	int (*create)(const char *config, const char *secure_config, void **ret_instance, char *err,
		      size_t errlen);
	/* Optional: free what create() made. */
	void (*destroy)(void *instance);
	/* Required: run the job. Returns an enum asyncd_result (usually through api->result). */
	int (*execute)(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api);
};

struct asyncd_plugin_info {
	uint32_t size;	      /* sizeof(struct asyncd_plugin_info) */
	uint32_t abi_version; /* ASYNCD_PLUGIN_ABI_VERSION */
	const char *name;     /* assembly name, [A-Za-z0-9_-]{1,64} */
	const char *version;  /* "major.minor.build.revision" */
	const char *description;
	uint32_t type_size; /* sizeof(struct asyncd_plugin_type) */
	uint32_t n_types;
	const struct asyncd_plugin_type *types;
};

typedef const struct asyncd_plugin_info *(*asyncd_plugin_entry_fn)(void);

/* Declare in the plug-in as:
 *   ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void) { return &info; } */
ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void);

#define ASYNCD_PLUGIN_INFO_INIT(aname, aversion, adesc, atypes)                                    \
	{                                                                                          \
		sizeof(struct asyncd_plugin_info), ASYNCD_PLUGIN_ABI_VERSION, (aname), (aversion), \
		    (adesc), sizeof(struct asyncd_plugin_type),                                    \
		    (uint32_t)(sizeof(atypes) / sizeof((atypes)[0])), (atypes)                     \
	}

#ifdef __cplusplus
}
#endif
#endif
