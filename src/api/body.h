/* Request bodies as pure functions: bytes in, a checked JSON object or an error message out. Each
 * body kind has one field table (common/jfields.h: names, types, required) and the checks that
 * need nothing but the body (ranges, formats). The handlers and the fuzz targets (tests/fuzz/)
 * call the same functions; nothing here touches the store, the registry or a request. */
#ifndef ASYNCD_BODY_H
#define ASYNCD_BODY_H

#include <jansson.h>
#include <stddef.h>

#define BODY_MAX_DEPTH 32
#define BODY_EVENT_MAX_LINE (2u << 20)

enum body_kind {
	BODY_EVENT,	     /* POST /api/v1/events (one event, also one NDJSON line) */
	BODY_JOB,	     /* POST /api/v1/jobs */
	BODY_STEP,	     /* POST /api/v1/steps */
	BODY_STEP_PATCH,     /* PATCH /api/v1/steps/ID */
	BODY_SETTINGS,	     /* PATCH /api/v1/settings */
	BODY_USER,	     /* POST /api/v1/users */
	BODY_TOKEN,	     /* POST /api/v1/tokens */
	BODY_LOGIN,	     /* POST /api/v1/login */
	BODY_POSTPONE,	     /* POST /api/v1/jobs/ID/postpone */
	BODY_JOB_ACTION,     /* POST /api/v1/jobs/ID/{cancel,pause,resume,retry}: nothing or {} */
	BODY_SERVICE,	     /* PATCH /api/v1/hosts/H/services/NAME */
	BODY_ASSEMBLY_PATCH, /* PATCH /api/v1/assemblies/ID */
	BODY_JOB_BULK,	     /* POST /api/v1/jobs/bulk */
	BODY_BULK_DELETE,    /* POST /api/v1/bulk-deletes */
	BODY_JOB_PATCH,	     /* PATCH /api/v1/jobs/ID (a recurring job's schedule) */
	BODY_KIND_COUNT_
};

/* Parse len bytes as a body of kind: one JSON object nested at most BODY_MAX_DEPTH deep whose
 * members follow the kind's table and checks. On success *ret (the caller's) holds it. On failure
 * AE_INVAL (or AE_TOOBIG) and a message for a person in err; *ret is untouched. */
int body_parse(enum body_kind kind, const char *data, size_t len, json_t **ret, char *err,
	       size_t errlen);
/* The checks of body_parse on an object already parsed. */
int body_check(enum body_kind kind, json_t *obj, char *err, size_t errlen);

/* NDJSON events: every non-blank line is parsed and checked as BODY_EVENT, then handed to fn
 * (which may keep a reference). Stops at the first failure, whose message names the line
 * ("line 3: ..."); fn's failure is returned as is (fn writes err). *ret_events gets the count. */
typedef int (*body_event_fn)(json_t *ev, size_t line, void *arg, char *err, size_t errlen);
int body_ndjson_each(const char *data, size_t len, body_event_fn fn, void *arg, size_t *ret_events,
		     char *err, size_t errlen);

#endif
