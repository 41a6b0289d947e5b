/* Helpers every handler uses: answers and errors, query arguments, bounded JSON bodies, the
 * reader connection pool and audit entries. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/body.h"
#include "common/clock.h"
#include "common/error.h"
#include "exec/writer.h"
#include "store/store.h"

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

int api_body(struct api_req *r, int body_kind, json_t **ret)
{
	char err[1024];
	int rc =
	    body_parse((enum body_kind)body_kind, r->body.data, r->body.len, ret, err, sizeof(err));
	return rc < 0 ? api_error(r, rc, "%s", err) : 0;
}

/* Ids in paths are plain decimal digits: no sign, spaces, leading zeros or trailing bytes. */
static bool id_text_ok(const char *p)
{
	size_t n = p ? strspn(p, "0123456789") : 0;
	return n > 0 && n <= 18 && !p[n] && p[0] != '0';
}

int api_param_id(struct api_req *r, int i, int64_t *ret)
{
	const char *p = r->params[i];
	if (!id_text_ok(p))
		return api_error(r, AE_INVAL,
				 "'%.40s' is not a valid id: use the decimal digits of a positive "
				 "whole number, nothing else",
				 p ? p : "");
	*ret = strtoll(p, NULL, 10);
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
