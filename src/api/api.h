/* The HTTP API's shared types: the server context handed to every handler, one request with its
 * bounded body and its answer, the caller's identity and roles, and the helpers handlers use to
 * answer. Routing is in router.c, authentication in auth.c, handlers in h_*.c. */
#ifndef ASYNCD_API_H
#define ASYNCD_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/roles.h"
#include "common/util.h"

struct writer;
struct engine;
struct store;
struct host_services;

struct api_ctx {
	struct writer *w;
	struct engine *engine;
	struct host_services *services;
	const char *store_url;
	const char *state_dir;
	const char *worker_path;
	const char *host_id;
	int64_t started_on;
};

#define API_MAX_PARAMS 4
#define API_REQUEST_ID_MAX 64

struct api_req {
	struct api_ctx *api;
	const char *method;
	const char *url;
	const char *content_type;
	const char *remote;
	/* the caller's X-Request-Id when it is a plain token, else made here: in the X-Request-Id
	 * header of the answer, in an error answer's "request_id" and in every log record of it */
	char request_id[API_REQUEST_ID_MAX + 1];
	void *conn; /* struct MHD_Connection */
	struct buf body;
	const char *params[API_MAX_PARAMS]; /* path parameters, in order */
	char param_buf[256];
	/* the caller */
	bool via_unix; /* came over the Unix socket */
	unsigned peer_uid, peer_gid;
	int64_t user_id;
	char user[128];
	unsigned roles;
	/* the answer */
	int status;
	json_t *out;
	char *text;	  /* non-JSON answer (metrics) */
	char *set_cookie; /* a Set-Cookie header to send, or NULL */
	const char *text_type;
	int retry_after_s; /* > 0: a Retry-After header (429, 503) */
	/* a static answer (the console's files): a body that lives as long as the process, sent
	 * with text_type; its ETag, Cache-Control (NULL: no-store) and Content-Security-Policy */
	const char *static_body;
	size_t static_len;
	const char *etag;
	const char *cache_control;
	const char *asset_csp;
	/* set by the server: how a handler that answers later (API_PENDING) says it is done */
	void (*finish)(struct api_req *r);
};

/* What a route's start function (run on an HTTP I/O thread, so it must not wait) did. */
enum api_start {
	API_DONE,     /* answered */
	API_PENDING,  /* posted work that calls api_finish(r) once the answer is set */
	API_BLOCKING, /* nothing: run the route's ordinary handler on the request pool */
};

/* The answer of an API_PENDING request is set: send it. Any thread. */
void api_finish(struct api_req *r);

/* A query-string argument, or NULL. */
const char *api_query(struct api_req *r, const char *key);
/* Answer with a JSON body (reference stolen). Returns 0. */
int api_reply(struct api_req *r, int status, json_t *body);
/* Answer {"error":{"code","message"}} with the status of code; returns code. */
int api_error(struct api_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer with an explicit status and stable code name. Returns AE_INVAL. */
int api_error_status(struct api_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 400 for the field key of body: "KEY is required: WANT" when it is absent (or null), "KEY is
 * invalid (GIVEN): WANT" when it is there but not what is wanted. */
int api_field_error(struct api_req *r, json_t *body, const char *key, const char *want);
/* Parse and check the body as one of the kinds of api/body.h (fields, types, bounded depth); on
 * failure answers 400 naming the field and returns <0. */
int api_body(struct api_req *r, int body_kind, json_t **ret);
/* Parse a path parameter as a positive id; answers 400 on failure. */
int api_param_id(struct api_req *r, int i, int64_t *ret);

/* A reader connection from the pool, and giving it back. */
struct store *api_reader(struct api_req *r);
void api_reader_put(struct store *s);
int api_readers_init(const char *url, int n, int n_auth);
/* A reader connection for authenticating requests on the HTTP I/O threads (its own set). */
struct store *api_auth_reader(void);
void api_auth_reader_put(struct store *s);
void api_readers_done(void);

/* Append an audit entry for an administrative action (best effort, through the writer). */
void api_audit(struct api_req *r, const char *action, const char *target, const char *result,
	       const char *detail);

/* api_audit without waiting for the commit (for the HTTP I/O threads): at most 1,024 such entries
 * are in flight; past that they are dropped and counted (api_audit_dropped), so that a flood of
 * refused requests cannot queue unbounded writes. */
void api_audit_post(struct api_req *r, const char *action, const char *target, const char *result,
		    const char *detail);
unsigned long long api_audit_dropped(void);

#endif
