/* Deadlines for HTTP connections that libmicrohttpd's idle timeout cannot catch: a client that
 * sends its request headers a byte at a time (slowloris) is never idle, so each connection gets
 * a deadline by which its next request's headers must be complete. A thread checks the deadlines
 * twice a second and shuts down the socket of a connection past its own; the I/O thread then
 * sees the end of the stream and closes the connection as usual. It owns no descriptor. */
#ifndef ASYNCD_CONNWATCH_H
#define ASYNCD_CONNWATCH_H

#include <stdint.h>

struct connwatch;
struct watched; /* one connection */

int connwatch_new(struct connwatch **ret);
/* Stop the thread and free what is left. Accepts NULL. */
void connwatch_free(struct connwatch *w);
/* Watch fd from now on with a deadline after_ms from now; NULL when out of memory (then the
 * connection is only subject to the idle timeout). */
struct watched *connwatch_add(struct connwatch *w, int fd, int64_t after_ms);
/* A new deadline after_ms from now; 0: none (a request is being read or handled). */
void connwatch_set(struct connwatch *w, struct watched *c, int64_t after_ms);
/* Forget c before its descriptor is closed. Accepts NULL. */
void connwatch_remove(struct connwatch *w, struct watched *c);
/* How many connections the process cut at their deadline so far (every server). */
unsigned long long connwatch_cut_total(void);

#endif
