/* asyncd's config file (--config FILE): "key = value" lines, '#' comments and blank lines, with
 * the keys state_dir, store, listen, host_id, worker, tls_cert and tls_key, and the HTTP server's
 * limits http_*
 * (whole numbers, see docs/api.md). This module parses text into owned
 * strings and nothing else: reading the file and letting flags win is the caller's (asyncd.c). */
#ifndef ASYNCD_HOST_CONFIG_H
#define ASYNCD_HOST_CONFIG_H

#include <stddef.h>

#define HOST_CONFIG_MAX_BYTES (64 * 1024)
#define HOST_CONFIG_MAX_LINE 4096

struct host_config {
	char *state_dir, *store, *listen, *host_id, *worker; /* NULL when not given */
	char *tls_cert, *tls_key;			     /* NULL when not given */
	int http_io_threads, http_workers, http_max_connections, http_max_per_address; /* 0: not */
	int http_idle_timeout_s, http_header_timeout_s, http_body_timeout_s;	       /* given */
};

/* Parse len bytes of config text into *ret (the caller's; host_config_done frees it). On failure
 * AE_INVAL (AE_TOOBIG past HOST_CONFIG_MAX_BYTES) with "line N: ..." in err, and *ret empty. */
int host_config_parse(const char *text, size_t len, struct host_config *ret, char *err,
		      size_t errlen);
/* Free the strings of c (accepts a zeroed struct). */
void host_config_done(struct host_config *c);

#endif
