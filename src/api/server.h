/* The HTTP server: libmicrohttpd on a few epoll I/O threads (an idle connection costs a
 * descriptor, not a thread), a request pool for the handlers (which may wait for a group commit),
 * callers authorized on the headers before any body byte is read, bounded bodies, per-address and
 * total connection limits, idle and header deadlines, and the answer of each request as JSON. */
#ifndef ASYNCD_SERVER_H
#define ASYNCD_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"

struct server;

/* Limits; 0 takes the default. */
struct server_limits {
	int io_threads;	      /* epoll threads (default: one per CPU, at least 2) */
	int workers;	      /* request pool threads (default 32) */
	int max_connections;  /* default: the descriptor limit (raised to its hard maximum) - 512 */
	int max_per_address;  /* connections from one client address (default 256) */
	int idle_timeout_s;   /* a connection that sends nothing is closed (default 30) */
	int header_timeout_s; /* a new connection's request headers are due within (default 10) */
	int body_timeout_s;   /* a request's body is due within (default 120) */
	/* TLS (libmicrohttpd with GnuTLS): the certificate chain and its private key as PEM text,
	 * both NULL for plain HTTP; read by the caller (server_start copies nothing: they must
	 * live until server_stop) */
	const char *tls_cert_pem, *tls_key_pem;
};

/* Whether this libmicrohttpd was built with TLS (GnuTLS). */
bool server_tls_supported(void);

/* Listen on addr ("127.0.0.1:8470"; port 0 picks a free one) with lim (NULL: defaults), over
 * TLS when lim gives a certificate and key (AE_INVAL when this libmicrohttpd has no TLS, or the
 * pair is refused: err says which). ret_port gets the bound port. */
int server_start(struct api_ctx *api, const char *addr, const struct server_limits *lim,
		 struct server **ret, int *ret_port, char *err, size_t errlen);
/* Serve the API on a Unix socket at path too (mode 0660 with group asyncd-admin when that group
 * exists, else 0600): a caller without a token is known by its peer credentials. */
int server_start_unix(struct api_ctx *api, const char *path, struct server **ret, char *err,
		      size_t errlen);
/* Stop accepting, let the queued requests finish, close every connection. Accepts NULL. */
void server_stop(struct server *s);

#endif
