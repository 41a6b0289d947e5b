/* The state directory's safety: it is private to asyncd's user (0700, and the secrets in it
 * 0600), and one asyncd at a time uses it (an exclusive lock on STATE/asyncd.lock holding the
 * holder's pid). What lives in the directory (store, cache, token) belongs to other modules. The
 * functions write the reason of a refusal into err (with the command that fixes it) and log
 * nothing. */
#ifndef ASYNCD_STATEDIR_H
#define ASYNCD_STATEDIR_H

#include <stddef.h>

/* Create dir 0700 when it does not exist, then refuse (AE_FORBIDDEN) when group or others may
 * read, write or enter it or one of the files asyncd keeps secrets in, or when another user owns
 * it. AE_IO when it cannot be created or examined. */
int statedir_check(const char *dir, char *err, size_t errlen);

/* Take the exclusive lock on DIR/asyncd.lock for the life of the process (the descriptor is
 * close-on-exec, so no worker inherits it; the kernel drops it when the process dies) and write
 * this pid into it. AE_BUSY, naming the holder's pid in err, when another process holds it. */
int statedir_lock(const char *dir, int *ret_fd, char *err, size_t errlen);

/* Release the lock taken by statedir_lock (fd < 0: nothing). */
void statedir_unlock(int fd);

#endif
