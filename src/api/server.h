/* The HTTP server: libmicrohttpd with a thread per connection (handlers may wait for a group
 * commit), bounded bodies, and the answer of each request as JSON. */
#ifndef ASYNCD_SERVER_H
#define ASYNCD_SERVER_H

#include <stdint.h>

#include "api/api.h"

struct server;

/* Listen on addr ("127.0.0.1:8470"; port 0 picks a free one). ret_port gets the bound port. */
int server_start(struct api_ctx *api, const char *addr, struct server **ret, int *ret_port,
		 char *err, size_t errlen);
/* Serve the API on a Unix socket at path too (mode 0660 with group asyncd-admin when that group
 * exists, else 0600): a caller without a token is known by its peer credentials. */
int server_start_unix(struct api_ctx *api, const char *path, struct server **ret, char *err,
		      size_t errlen);
void server_stop(struct server *s);

#endif
