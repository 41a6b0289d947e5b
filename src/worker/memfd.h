/* Loading a library from a descriptor the worker may read but not open again by name: the file
 * in the host's private cache is 0600 and the worker runs as another user, and reopening
 * /proc/self/fd/N checks the file's permissions. The bytes are copied into a memfd of the
 * worker's own, which dlopen() can open through /proc/self/fd. */
#ifndef ASYNCD_WORKER_MEMFD_H
#define ASYNCD_WORKER_MEMFD_H

#include <stddef.h>

/* A memfd holding everything readable from fd (fd itself is left open). Returns the memfd, or
 * -1 with a message in err. */
int memfd_copy(int fd, char *err, size_t errlen);

#endif
