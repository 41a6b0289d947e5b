/* libmicrohttpd glue (see server.h): per-request state, authorization on the headers, body
 * accumulation with the route's limit, the hand-off of each request to the request pool (the
 * connection is suspended meanwhile), and turning the answer into an HTTP response. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/connwatch.h"
#include "api/reqpool.h"
#include "api/httpstats.h"
#include "api/router.h"
#include "api/server.h"
#include "common/error.h"
#include "common/log.h"

struct server {
	struct MHD_Daemon *d;
	struct api_ctx *api;
	struct reqpool *pool;
	struct connwatch *watch;
	struct server_limits lim;
	atomic_int suspended; /* connections whose request is being handled */
	bool local;	      /* a Unix socket: callers are known by their peer credentials */
	char path[108];
	char mhd_said[256]; /* libmicrohttpd's last message: why a start failed */
};

struct conn_state {
	struct reqpool_task task; /* first: the pool hands this back */
	struct server *s;
	struct MHD_Connection *c;
	struct api_req req;
	const struct route *rt;
	int64_t began_us; /* monotonic: the headers arrived */
	char remote[64];
	bool rejected; /* answered already; the rest of the body is dropped */
	bool queued;   /* handed to the request pool; the connection is suspended */
	bool handled;  /* the handler ran: the answer is ready */
	bool large;    /* holds one of the large-body slots */
};

/* Bodies over LARGE_BODY bytes (or of unknown length) are accepted from at most LARGE_SLOTS
 * requests at once, so that concurrent uploads cannot take memory without bound; the others are
 * answered 503 with Retry-After on their headers. */
#define LARGE_BODY (1u << 20)
#define LARGE_SLOTS 2
static atomic_int large_in_use;

static bool large_take(void)
{
	if (atomic_fetch_add(&large_in_use, 1) < LARGE_SLOTS)
		return true;
	atomic_fetch_sub(&large_in_use, 1);
	return false;
}

static void remote_text(struct MHD_Connection *c, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	buf[0] = 0;
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr, buf,
			  (socklen_t)n);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr, buf,
			  (socklen_t)n);
}

/* One record per answer: errors at info (4xx) or error (5xx) with their code and message, so
 * that the request id a user was given finds them; the others at debug. */
static void log_answer(const struct api_req *r)
{
	int status = r->status ? r->status : 500;
	enum log_level lvl = status >= 500   ? LOG_LVL_ERROR
			     : status >= 400 ? LOG_LVL_INFO
					     : LOG_LVL_DEBUG;
	if (!log_enabled(lvl))
		return;
	json_t *err = json_object_get(r->out, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	int path_len = (int)strcspn(r->url, "?");
	char path[256];
	snprintf(path, sizeof(path), "%.*s", path_len, r->url);
	log_set_request_id(r->request_id);
	log_event(
	    lvl, "api",
	    LOG_FIELDS(LOG_STR("method", r->method), LOG_STR("path", path),
		       LOG_INT("status", status), LOG_STR("error_code", code),
		       LOG_STR("user", r->user[0] ? r->user : NULL), LOG_STR("remote", r->remote)),
	    "%s %s answered %d%s%s", r->method, path, status, msg ? ": " : "", msg ? msg : "");
	log_set_request_id(NULL);
}

/* The response for r's body: a static one (the console's files), text, JSON or nothing. */
static struct MHD_Response *response_of(struct api_req *r, const char **type, size_t *len)
{
	char *body = NULL;
	*type = "application/json";
	if (r->static_body) {
		*type = r->text_type;
		*len = r->static_len;
		return MHD_create_response_from_buffer(*len, (void *)r->static_body,
						       MHD_RESPMEM_PERSISTENT);
	}
	if (r->text) {
		body = r->text;
		r->text = NULL;
		*type = r->text_type ? r->text_type : "text/plain; charset=utf-8";
	} else if (r->out) {
		body = json_dumps(r->out, JSON_COMPACT);
	}
	*len = body ? strlen(body) : 0;
	return body ? MHD_create_response_from_buffer(*len, body, MHD_RESPMEM_MUST_FREE)
		    : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

/* The headers of the console's files: a strict policy, no framing, no referrer. */
static void asset_headers(struct MHD_Response *resp, const struct api_req *r)
{
	if (r->etag)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
	if (!r->asset_csp)
		return;
	MHD_add_response_header(resp, "Content-Security-Policy", r->asset_csp);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result send_answer(struct MHD_Connection *c, struct api_req *r)
{
	log_answer(r);
	const char *type;
	size_t len;
	struct MHD_Response *resp = response_of(r, &type, &len);
	if (!resp)
		return MHD_NO;
	if (len)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, "Cache-Control",
				r->cache_control ? r->cache_control : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	asset_headers(resp, r);
	if (r->set_cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
	if (r->retry_after_s > 0) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%d", r->retry_after_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)(r->status ? r->status : 500), resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Send st's answer, counted for /metrics by route and status class. */
static enum MHD_Result answer(struct conn_state *st)
{
	struct api_req *r = &st->req;
	httpstats_observe(router_index(st->rt), r->status ? r->status : 500,
			  metrics_now_us() - st->began_us);
	return send_answer(st->c, r);
}

/* The uid and gid of the process at the other end of a Unix socket. */
static void peer_credentials(struct MHD_Connection *c, struct api_req *r, char *remote, size_t n)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return;
	r->via_unix = true;
	r->peer_uid = cred.uid;
	r->peer_gid = cred.gid;
	snprintf(remote, n, "unix:pid %d", (int)cred.pid);
}

/* The caller's X-Request-Id when it is 1..API_REQUEST_ID_MAX of [A-Za-z0-9._:-] (a proxy's id
 * goes on), else 16 random hex digits. */
static void request_id(struct MHD_Connection *c, char *out)
{
	const char *in = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	size_t n = in ? strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789._:-")
		      : 0;
	if (in && n > 0 && n <= API_REQUEST_ID_MAX && !in[n]) {
		memcpy(out, in, n + 1);
		return;
	}
	unsigned char raw[8];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, API_REQUEST_ID_MAX + 1, raw, sizeof(raw));
}

static struct conn_state *state_new(struct server *s, struct MHD_Connection *c, const char *url,
				    const char *method)
{
	struct conn_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->s = s;
	st->c = c;
	st->began_us = metrics_now_us();
	st->req.api = s->api;
	st->req.conn = c;
	st->req.url = url;
	st->req.method = method;
	request_id(c, st->req.request_id);
	st->req.content_type =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	remote_text(c, st->remote, sizeof(st->remote));
	st->req.remote = st->remote;
	if (s->local)
		peer_credentials(c, &st->req, st->remote, sizeof(st->remote));
	return st;
}

static struct watched *watched_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* Whether the body can be accepted: its announced length within the route's limit (else 413), a
 * large-body slot for a large or unannounced body (else 503). The buffer is sized at once. */
static bool body_refused(struct conn_state *st)
{
	struct api_req *r = &st->req;
	const char *cl =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
	if (n > router_max_body(st->rt)) {
		api_error(r, AE_TOOBIG, "the body is larger than the %zu bytes this endpoint takes",
			  router_max_body(st->rt));
		return true;
	}
	if (!router_body_type_ok(st->rt, r, n > 0 || te))
		return true; /* 415 before the body is read */
	bool large = n > LARGE_BODY || (te && router_max_body(st->rt) > LARGE_BODY);
	if (large && !(st->large = large_take())) {
		api_error(r, AE_BUSY,
			  "%d requests with bodies over 1 MiB are being received already: retry "
			  "in a moment",
			  LARGE_SLOTS);
		r->retry_after_s = 1;
		return true;
	}
	buf_reserve(&r->body, (size_t)n);
	return false;
}

/* The first call of a request, on its headers alone: find its route and authorize the caller,
 * or answer 404/405/401/403/413 at once, before any byte of the body is accepted. */
static void route_request(struct conn_state *st)
{
	bool known;
	struct api_req *r = &st->req;
	st->rt = router_match(r, &known);
	if (!st->rt) {
		if (known)
			api_error_status(r, 405, "method_not_allowed",
					 "%s is not allowed on this path", r->method);
		else
			api_error(r, AE_NOTFOUND, "no such endpoint: %s %s", r->method, r->url);
		st->rejected = true;
		return;
	}
	buf_init(&r->body, router_max_body(st->rt));
	st->rejected = router_authorize(st->rt, r) < 0 || body_refused(st);
}

/* Suspend st's connection while its request is handled; counted, so that server_stop can wait
 * until every suspended connection is back with its I/O thread. */
static void suspend(struct conn_state *st)
{
	atomic_fetch_add(&st->s->suspended, 1);
	MHD_suspend_connection(st->c);
}

/* The answer is set (any thread): let the I/O thread send it. st may be gone once resumed. */
static void resume_answered(struct conn_state *st)
{
	struct server *s = st->s;
	st->handled = true;
	MHD_resume_connection(st->c);
	atomic_fetch_sub(&s->suspended, 1);
}

/* On a pool thread: run the handler, then let the I/O thread send the answer. */
static void run_handler(struct reqpool_task *t)
{
	struct conn_state *st = (struct conn_state *)t;
	log_set_request_id(st->req.request_id);
	router_dispatch(st->rt, &st->req);
	log_set_request_id(NULL);
	buf_done(&st->req.body);
	if (st->large) {
		malloc_trim(0); /* give a large request's memory back to the system */
		atomic_fetch_sub(&large_in_use, 1);
		st->large = false;
	}
	resume_answered(st);
}

/* An API_PENDING request's answer is set (any thread): send it. */
static void finish_request(struct api_req *r)
{
	resume_answered((struct conn_state *)((char *)r - offsetof(struct conn_state, req)));
}

/* The body is complete: suspend the connection, then begin the request here when its route can
 * answer without waiting, else hand it to the pool. */
static enum MHD_Result hand_over(struct conn_state *st)
{
	st->queued = true;
	st->task.fn = run_handler;
	st->req.finish = finish_request;
	connwatch_set(st->s->watch, watched_of(st->c), 0);
	suspend(st);
	log_set_request_id(st->req.request_id);
	enum api_start how = st->large ? API_BLOCKING : router_start(st->rt, &st->req);
	log_set_request_id(NULL);
	if (how == API_PENDING)
		return MHD_YES;
	if (how == API_DONE) {
		finish_request(&st->req);
		return MHD_YES;
	}
	if (reqpool_push(st->s->pool, &st->task) < 0) {
		api_error(&st->req, AE_SHUTDOWN, "the server is stopping");
		resume_answered(st);
	}
	return MHD_YES;
}

static void take_body(struct conn_state *st, const char *upload, size_t n)
{
	if (st->rejected || buf_append(&st->req.body, upload, n) == 0)
		return;
	api_error(&st->req, AE_TOOBIG, "the body is larger than the %zu bytes this endpoint takes",
		  router_max_body(st->rt));
	st->rejected = true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct conn_state *st = *con_cls;
	(void)version;
	if (!st) {
		if (!(st = state_new(s, c, url, method)))
			return MHD_NO;
		*con_cls = st;
		route_request(st);
		if (st->rejected)
			return answer(st);
		connwatch_set(s->watch, watched_of(c), (int64_t)s->lim.body_timeout_s * 1000);
		return MHD_YES;
	}
	if (*upload_size) {
		take_body(st, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (st->rejected || st->handled)
		return answer(st);
	return st->queued ? MHD_YES : hand_over(st);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct server *s = cls;
	struct conn_state *st = *con_cls;
	(void)code;
	if (!st)
		return;
	/* keep-alive: the next request's headers are due within the idle timeout */
	connwatch_set(s->watch, watched_of(c), (int64_t)s->lim.idle_timeout_s * 1000);
	if (st->large)
		atomic_fetch_sub(&large_in_use, 1);
	buf_done(&st->req.body);
	json_decref(st->req.out);
	free(st->req.text);
	free(st->req.set_cookie);
	free(st);
	*con_cls = NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decoding of the URL in place, except that %00 stays as it is: a NUL would cut the path
 * short ("/jobs/1%00" must not read job 1). Returns the new length. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *uri)
{
	char *out = uri;
	(void)cls;
	(void)c;
	for (const char *in = uri; *in; in++) {
		int hi = in[0] == '%' ? hex_digit(in[1]) : -1, lo = hi >= 0 ? hex_digit(in[2]) : -1;
		if (lo >= 0 && (hi | lo)) {
			*out++ = (char)(hi * 16 + lo);
			in += 2;
		} else {
			*out++ = *in;
		}
	}
	*out = 0;
	return (size_t)(out - uri);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		connwatch_remove(s->watch, *socket_context);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	*socket_context =
	    ci ? connwatch_add(s->watch, ci->connect_fd, (int64_t)s->lim.header_timeout_s * 1000)
	       : NULL;
}

static int parse_addr(const char *addr, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return AE_INVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return AE_INVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : AE_INVAL;
}

#define DEFAULT_WORKERS 32
#define DEFAULT_PER_ADDRESS 256
#define DEFAULT_IDLE_S 30
#define DEFAULT_HEADER_S 10
#define DEFAULT_BODY_S 120
#define FDS_RESERVED 512 /* store, sandbox workers, pipes, the log */
#define STOP_WAIT_MS 30000

/* The descriptor limit raised to its hard maximum; the connections it leaves room for. */
static unsigned connections_from_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rlim_t n = rl.rlim_cur > 65536 ? 65536 : rl.rlim_cur;
	return n > FDS_RESERVED + 64 ? (unsigned)(n - FDS_RESERVED) : 64;
}

static void fill_defaults(struct server_limits *l)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (l->io_threads <= 0)
		l->io_threads = cpus > 2 ? (int)(cpus > 16 ? 16 : cpus) : 2;
	if (l->workers <= 0)
		l->workers = DEFAULT_WORKERS;
	if (l->max_connections <= 0)
		l->max_connections = (int)connections_from_fd_limit();
	if (l->max_per_address <= 0)
		l->max_per_address = DEFAULT_PER_ADDRESS;
	if (l->idle_timeout_s <= 0)
		l->idle_timeout_s = DEFAULT_IDLE_S;
	if (l->header_timeout_s <= 0)
		l->header_timeout_s = DEFAULT_HEADER_S;
	if (l->body_timeout_s <= 0)
		l->body_timeout_s = DEFAULT_BODY_S;
}

static struct server *server_new(struct api_ctx *api, const struct server_limits *lim)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->api = api;
	s->lim = lim ? *lim : (struct server_limits){0};
	fill_defaults(&s->lim);
	if (reqpool_new(s->lim.workers, &s->pool) < 0 || connwatch_new(&s->watch) < 0) {
		reqpool_free(s->pool);
		free(s);
		return NULL;
	}
	return s;
}

static void server_free(struct server *s)
{
	reqpool_free(s->pool);
	connwatch_free(s->watch);
	free(s);
}

/* libmicrohttpd's own messages (a TLS handshake that failed, a refused key): at debug, and the
 * last one kept for the start's error. */
static void on_mhd_message(void *cls, const char *fmt, va_list ap)
{
	struct server *s = cls;
	vsnprintf(s->mhd_said, sizeof(s->mhd_said), fmt, ap);
	s->mhd_said[strcspn(s->mhd_said, "\n")] = 0;
	log_debug("api", "libmicrohttpd: %s", s->mhd_said);
}

/* TLS 1.2 and 1.3 only, GnuTLS's default ciphers for those. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

bool server_tls_supported(void)
{
	return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

/* The TLS options of s (an array ended by MHD_OPTION_END; only the end for plain HTTP). */
static unsigned tls_options(const struct server *s, struct MHD_OptionItem opts[4])
{
	unsigned n = 0;
	if (s->lim.tls_cert_pem) {
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
						    (void *)s->lim.tls_cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
						    (void *)s->lim.tls_key_pem};
		opts[n++] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
	}
	opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return s->lim.tls_cert_pem ? MHD_USE_TLS : 0;
}

/* Start the daemon: io_threads threads on epoll, connections suspended while the pool runs
 * their request. sock_opt/sock_val: MHD_OPTION_SOCK_ADDR or MHD_OPTION_LISTEN_SOCKET. */
static struct MHD_Daemon *daemon_start(struct server *s, enum MHD_OPTION sock_opt,
				       intptr_t sock_val, unsigned per_address)
{
	const struct server_limits *l = &s->lim;
	struct MHD_OptionItem tls[4];
	unsigned flags = tls_options(s, tls);
	/* the logger first: it hears about the options that follow */
	return MHD_start_daemon(
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | flags, 0,
	    NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_message, s, sock_opt,
	    sock_val, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)l->io_threads,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
	    on_connection, s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)l->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)l->idle_timeout_s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

/* Why the daemon did not start on addr. */
static void start_error(const struct server *s, const char *addr, int errnum, char *err,
			size_t errlen)
{
	if (s->lim.tls_cert_pem)
		snprintf(err, errlen,
			 "cannot serve TLS on %s: %s (is the key the certificate's, both PEM?)",
			 addr, s->mhd_said[0] ? s->mhd_said : strerror(errnum));
	else
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errnum));
}

int server_start(struct api_ctx *api, const char *addr, const struct server_limits *lim,
		 struct server **ret, int *ret_port, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	if (parse_addr(addr, &sa) < 0) {
		snprintf(err, errlen, "bad listen address %s: use IPv4:PORT, e.g. 127.0.0.1:8470",
			 addr);
		return AE_INVAL;
	}
	if (lim && lim->tls_cert_pem && !server_tls_supported()) {
		snprintf(err, errlen,
			 "this libmicrohttpd was built without TLS (GnuTLS): cannot serve https");
		return AE_INVAL;
	}
	struct server *s = server_new(api, lim);
	if (!s)
		return AE_NOMEM;
	s->d =
	    daemon_start(s, MHD_OPTION_SOCK_ADDR, (intptr_t)&sa, (unsigned)s->lim.max_per_address);
	if (!s->d) {
		int rc = s->lim.tls_cert_pem ? AE_INVAL : AE_IO;
		start_error(s, addr, errno, err, errlen);
		server_free(s);
		return rc;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	*ret_port = di ? di->port : ntohs(sa.sin_port);
	*ret = s;
	return 0;
}

static int bind_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "the socket path %s is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path); /* a socket left by an earlier run */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* members of asyncd-admin may connect; everyone else is refused by the file mode */
	struct group gr, *g = NULL;
	char gbuf[8192];
	if (getgrnam_r("asyncd-admin", &gr, gbuf, sizeof(gbuf), &g) != 0 ||
	    (g && chown(path, (uid_t)-1, g->gr_gid) < 0))
		g = NULL;
	chmod(path, g ? 0660 : 0600);
	return fd;
}

int server_start_unix(struct api_ctx *api, const char *path, struct server **ret, char *err,
		      size_t errlen)
{
	struct server_limits lim = {.io_threads = 1, .workers = 4, .max_connections = 64};
	struct server *s = server_new(api, &lim);
	if (!s)
		return AE_NOMEM;
	s->local = true;
	snprintf(s->path, sizeof(s->path), "%s", path);
	int fd = bind_unix(path, err, errlen);
	if (fd < 0) {
		server_free(s);
		return AE_IO;
	}
	s->d = daemon_start(s, MHD_OPTION_LISTEN_SOCKET, fd, 0);
	if (!s->d) {
		snprintf(err, errlen, "cannot serve on %s", path);
		close(fd);
		unlink(path);
		server_free(s);
		return AE_IO;
	}
	*ret = s;
	return 0;
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	MHD_socket listen_fd = MHD_quiesce_daemon(s->d);
	reqpool_stop(s->pool); /* the queued requests run and their connections are resumed */
	/* requests waiting for a commit (API_PENDING) are answered by the writer, still running */
	for (int i = 0; atomic_load(&s->suspended) > 0 && i < STOP_WAIT_MS; i++)
		usleep(1000);
	MHD_stop_daemon(s->d);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	if (s->local)
		unlink(s->path);
	server_free(s);
}
