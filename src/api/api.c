/* Helpers every handler uses: answers and errors, query arguments, bounded JSON bodies, the
 * reader connection pool and audit entries. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/clock.h"
#include "common/error.h"
#include "exec/writer.h"
#include "store/store.h"

#define API_MAX_JSON_DEPTH 32

const char *api_query(struct api_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int api_reply(struct api_req *r, int status, json_t *body)
{
	json_decref(r->out);
	r->status = status;
	r->out = body;
	return 0;
}

static int error_v(struct api_req *r, int status, const char *code, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	api_reply(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
	return 0;
}

int api_error(struct api_req *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_v(r, ae_http_status(code), ae_name(code), fmt, ap);
	va_end(ap);
	return code < 0 ? code : AE_INTERNAL;
}

int api_error_status(struct api_req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_v(r, status, code, fmt, ap);
	va_end(ap);
	return AE_INVAL;
}

bool json_depth_ok(json_t *v, int max_depth)
{
	if (max_depth < 0)
		return false;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) if (!json_depth_ok(x, max_depth - 1)) return false;
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) if (!json_depth_ok(x, max_depth - 1)) return false;
	}
	return true;
}

int api_body_object(struct api_req *r, json_t **ret)
{
	json_error_t e;
	if (!r->body.len)
		return api_error(r, AE_INVAL, "a JSON object body is required");
	json_t *v = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &e);
	if (!v)
		return api_error(r, AE_INVAL, "the body is not valid JSON: %s (line %d, column %d)",
				 e.text, e.line, e.column);
	if (!json_is_object(v) || !json_depth_ok(v, API_MAX_JSON_DEPTH)) {
		json_decref(v);
		return api_error(r, AE_INVAL,
				 "the body must be a JSON object nested at most %d levels deep",
				 API_MAX_JSON_DEPTH);
	}
	*ret = v;
	return 0;
}

int api_param_id(struct api_req *r, int i, int64_t *ret)
{
	char *end;
	const char *p = r->params[i];
	long long v = p ? strtoll(p, &end, 10) : 0;
	if (!p || !*p || *end || v <= 0)
		return api_error(r, AE_INVAL, "'%s' is not a valid id: use a positive whole number",
				 p ? p : "");
	*ret = v;
	return 0;
}

/* ---- readers ---- */

static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t readers_cond = PTHREAD_COND_INITIALIZER;
static struct store **readers;
static int n_readers, n_free;

int api_readers_init(const char *url, int n)
{
	readers = calloc((size_t)n, sizeof(*readers));
	if (!readers)
		return AE_NOMEM;
	for (n_readers = 0; n_readers < n; n_readers++) {
		int rc = store_open(url, &readers[n_readers]);
		if (rc < 0)
			return rc;
	}
	n_free = n_readers;
	return 0;
}

void api_readers_done(void)
{
	for (int i = 0; i < n_readers; i++)
		store_close(readers[i]);
	free(readers);
	readers = NULL;
	n_readers = n_free = 0;
}

struct store *api_reader(struct api_req *r)
{
	(void)r;
	pthread_mutex_lock(&readers_lock);
	while (n_free == 0)
		pthread_cond_wait(&readers_cond, &readers_lock);
	struct store *s = readers[--n_free];
	pthread_mutex_unlock(&readers_lock);
	return s;
}

void api_reader_put(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&readers_lock);
	readers[n_free++] = s;
	pthread_cond_signal(&readers_cond);
	pthread_mutex_unlock(&readers_lock);
}

/* ---- audit ---- */

static int audit_fn(struct store *s, void *arg)
{
	return store_audit_insert(s, arg);
}

void api_audit(struct api_req *r, const char *action, const char *target, const char *result,
	       const char *detail)
{
	struct audit_entry e = {
	    .at = clock_now_ms(),
	    .user = r->user[0] ? r->user : (char *)"anonymous",
	    .remote = (char *)r->remote,
	    .action = (char *)action,
	    .target = (char *)target,
	    .result = (char *)result,
	    .detail = (char *)detail,
	};
	writer_call(r->api->w, audit_fn, &e);
}
