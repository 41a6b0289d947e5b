/* TLS for the HTTP API as the host sees it: reading the certificate and key files at start (the
 * key's file mode checked), and the listen policy (beyond loopback only with TLS, or with
 * --insecure-listen). Serving TLS is libmicrohttpd's (api/server.c). Nothing here logs: the
 * reasons go to err for the caller. */
#ifndef ASYNCD_HOST_TLS_H
#define ASYNCD_HOST_TLS_H

#include <stdbool.h>
#include <stddef.h>

#define TLS_FILE_MAX (1024 * 1024) /* a certificate chain or a key larger than this is refused */

/* A certificate chain and its private key, PEM text as read from their files. */
struct tls_pair {
	char *cert_pem, *key_pem;
	bool key_group_readable; /* the key's group may read it (allowed: worth a warning) */
};

/* Read cert_path and key_path into *ret (the caller's; tls_pair_done frees it). AE_FORBIDDEN
 * when the key may be read or written by users other than its owner and group; AE_IO when a file
 * cannot be read, AE_TOOBIG past TLS_FILE_MAX, AE_INVAL when one is empty. err says which. */
int tls_pair_read(const char *cert_path, const char *key_path, struct tls_pair *ret, char *err,
		  size_t errlen);
/* Wipe and free the key, free the certificate (accepts a zeroed struct). */
void tls_pair_done(struct tls_pair *p);

/* Whether listen ("A.B.C.D:PORT") is on the loopback network 127.0.0.0/8. */
bool tls_listen_is_loopback(const char *listen);

#endif
