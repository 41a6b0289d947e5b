/* libmicrohttpd glue (see server.h): per-request state, body accumulation with the route's
 * limit, dispatch, and turning the answer into an HTTP response. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/router.h"
#include "api/server.h"
#include "common/error.h"
#include "common/log.h"

struct server {
	struct MHD_Daemon *d;
	struct api_ctx *api;
	bool local; /* a Unix socket: callers are known by their peer credentials */
	char path[108];
};

struct conn_state {
	struct api_req req;
	const struct route *rt;
	char remote[64];
	bool rejected; /* answered already; the rest of the body is dropped */
};

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

static enum MHD_Result send_answer(struct MHD_Connection *c, struct api_req *r)
{
	char *body;
	size_t len;
	const char *type = "application/json";
	if (r->text) {
		body = r->text;
		r->text = NULL;
		type = r->text_type ? r->text_type : "text/plain; charset=utf-8";
	} else if (r->out) {
		body = json_dumps(r->out, JSON_COMPACT);
	} else {
		body = NULL;
	}
	len = body ? strlen(body) : 0;
	struct MHD_Response *resp =
	    body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
		 : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (len)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->set_cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)(r->status ? r->status : 500), resp);
	MHD_destroy_response(resp);
	return ret;
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

static struct conn_state *state_new(struct server *s, struct MHD_Connection *c, const char *url,
				    const char *method)
{
	struct conn_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->req.api = s->api;
	st->req.conn = c;
	st->req.url = url;
	st->req.method = method;
	st->req.content_type =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	remote_text(c, st->remote, sizeof(st->remote));
	st->req.remote = st->remote;
	if (s->local)
		peer_credentials(c, &st->req, st->remote, sizeof(st->remote));
	return st;
}

/* The first call of a request: find its route or answer 404/405/413 at once. */
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
	const char *cl =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > router_max_body(st->rt)) {
		api_error(r, AE_TOOBIG, "the body is larger than the %zu bytes this endpoint takes",
			  router_max_body(st->rt));
		st->rejected = true;
	}
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
		return MHD_YES;
	}
	if (*upload_size) {
		if (!st->rejected && buf_append(&st->req.body, upload, *upload_size) < 0) {
			api_error(&st->req, AE_TOOBIG,
				  "the body is larger than the %zu bytes this endpoint takes",
				  router_max_body(st->rt));
			st->rejected = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!st->rejected)
		router_dispatch(st->rt, &st->req);
	return send_answer(c, &st->req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct conn_state *st = *con_cls;
	(void)cls;
	(void)c;
	(void)code;
	if (!st)
		return;
	buf_done(&st->req.body);
	json_decref(st->req.out);
	free(st->req.text);
	free(st->req.set_cookie);
	free(st);
	*con_cls = NULL;
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

int server_start(struct api_ctx *api, const char *addr, struct server **ret, int *ret_port,
		 char *err, size_t errlen)
{
	struct sockaddr_in sa;
	if (parse_addr(addr, &sa) < 0) {
		snprintf(err, errlen, "bad listen address %s: use IPv4:PORT, e.g. 127.0.0.1:8470",
			 addr);
		return AE_INVAL;
	}
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return AE_NOMEM;
	s->api = api;
	s->d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
	    NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, s, MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
	    MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		free(s);
		return AE_IO;
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
	struct group *g = getgrnam("asyncd-admin");
	if (g && chown(path, (uid_t)-1, g->gr_gid) < 0)
		g = NULL;
	chmod(path, g ? 0660 : 0600);
	return fd;
}

int server_start_unix(struct api_ctx *api, const char *path, struct server **ret, char *err,
		      size_t errlen)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return AE_NOMEM;
	s->api = api;
	s->local = true;
	snprintf(s->path, sizeof(s->path), "%s", path);
	int fd = bind_unix(path, err, errlen);
	if (fd < 0) {
		free(s);
		return AE_IO;
	}
	s->d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
	    NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, s, MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
	    MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "cannot serve on %s", path);
		close(fd);
		unlink(path);
		free(s);
		return AE_IO;
	}
	*ret = s;
	return 0;
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	if (s->local)
		unlink(s->path);
	free(s);
}
