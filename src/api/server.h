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
void server_stop(struct server *s);

#endif
