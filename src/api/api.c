/* Helpers every handler uses: answers and errors, query arguments, bounded JSON bodies, the
 * reader connection pool and audit entries. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
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
	api_reply(r, status,
		  json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code, "message", msg,
			    "request_id", r->request_id));
	return 0;
}

void api_finish(struct api_req *r)
{
	r->finish(r);
}

int api_error(struct api_req *r, int code, const char *fmt, ...)
{
	va_list ap;
	if (code == AE_UNAVAILABLE && r->retry_after_s <= 0)
		r->retry_after_s = 1; /* the host reconnects meanwhile */
	va_start(ap, fmt);
	error_v(r, ae_http_status(code), ae_name(code), fmt, ap);
	va_end(ap);
	return code < 0 ? code : AE_INTERNAL;
}

int api_field_error(struct api_req *r, json_t *body, const char *key, const char *want)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return api_error(r, AE_INVAL, "%s is required: %s", key, want);
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	int rc = api_error(r, AE_INVAL, "%s is invalid (%.64s%s): %s", key, text ? text : "?",
			   text && strlen(text) > 64 ? "..." : "", want);
	free(text);
	return rc;
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

/* A fixed set of reader connections; a caller waits for a free one. Handlers use one set; the
 * authentication of requests on the HTTP I/O threads uses its own, one per I/O thread, so that it
 * never waits behind a handler's long query. */
struct reader_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct store **v;
	int n, n_free;
};

static struct reader_pool readers = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
static struct reader_pool auth_readers = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static int pool_open(struct reader_pool *p, const char *url, int n)
{
	p->v = calloc((size_t)n, sizeof(*p->v));
	if (!p->v)
		return AE_NOMEM;
	for (p->n = 0; p->n < n; p->n++) {
		int rc = store_open(url, &p->v[p->n]);
		if (rc < 0)
			return rc;
	}
	p->n_free = p->n;
	return 0;
}

static void pool_close(struct reader_pool *p)
{
	for (int i = 0; i < p->n; i++)
		store_close(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = p->n_free = 0;
}

static struct store *pool_get(struct reader_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->n_free == 0)
		pthread_cond_wait(&p->cond, &p->lock);
	struct store *s = p->v[--p->n_free];
	pthread_mutex_unlock(&p->lock);
	return s;
}

static void pool_put(struct reader_pool *p, struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&p->lock);
	p->v[p->n_free++] = s;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int api_readers_init(const char *url, int n, int n_auth)
{
	int rc = pool_open(&readers, url, n);
	return rc < 0 ? rc : pool_open(&auth_readers, url, n_auth);
}

void api_readers_done(void)
{
	pool_close(&readers);
	pool_close(&auth_readers);
}

struct store *api_reader(struct api_req *r)
{
	(void)r;
	return pool_get(&readers);
}

void api_reader_put(struct store *s)
{
	pool_put(&readers, s);
}

struct store *api_auth_reader(void)
{
	return pool_get(&auth_readers);
}

void api_auth_reader_put(struct store *s)
{
	pool_put(&auth_readers, s);
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

/* An audit entry posted without waiting, with its own copies of the strings. */
struct audit_post {
	struct writer_op op;
	struct audit_entry e;
	char buf[];
};

#define AUDIT_POSTS_MAX 1024 /* in flight; past that, refusals are only counted */

static atomic_int audit_posts;
static atomic_ullong audit_dropped;

static void audit_post_done(void *arg, int rc)
{
	(void)rc;
	free(arg);
	atomic_fetch_sub(&audit_posts, 1);
}

static int audit_post_fn(struct store *s, void *arg)
{
	struct audit_post *p = arg;
	return store_audit_insert(s, &p->e);
}

/* Copy the strings of e into p->buf, pointing e's fields at the copies. */
static void audit_copy(struct audit_post *p, const char *const src[6])
{
	char **dst[6] = {&p->e.user,   &p->e.remote, &p->e.action,
			 &p->e.target, &p->e.result, &p->e.detail};
	char *at = p->buf;
	for (int i = 0; i < 6; i++) {
		if (!src[i]) {
			*dst[i] = NULL;
			continue;
		}
		size_t n = strlen(src[i]) + 1;
		memcpy(at, src[i], n);
		*dst[i] = at;
		at += n;
	}
}

void api_audit_post(struct api_req *r, const char *action, const char *target, const char *result,
		    const char *detail)
{
	const char *src[6] = {
	    r->user[0] ? r->user : "anonymous", r->remote, action, target, result, detail};
	size_t need = 0;
	for (int i = 0; i < 6; i++)
		need += src[i] ? strlen(src[i]) + 1 : 0;
	struct audit_post *p = NULL;
	if (atomic_fetch_add(&audit_posts, 1) < AUDIT_POSTS_MAX)
		p = calloc(1, sizeof(*p) + need);
	if (!p) {
		atomic_fetch_sub(&audit_posts, 1);
		atomic_fetch_add(&audit_dropped, 1);
		return;
	}
	p->e.at = clock_now_ms();
	audit_copy(p, src);
	p->op = (struct writer_op){
	    .fn = audit_post_fn, .arg = p, .done = audit_post_done, .isolated = true};
	if (writer_post(r->api->w, &p->op) < 0)
		audit_post_done(p, 0);
}

unsigned long long api_audit_dropped(void)
{
	return atomic_load(&audit_dropped);
}
