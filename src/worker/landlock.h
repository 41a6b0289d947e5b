/* The worker's Landlock walls (see landlock.c): a ruleset the worker applies to itself that lets
 * a plug-in read and run the system's files (/usr, /lib*, /bin, /sbin, /opt, what in /etc anyone
 * may read), use /dev/null, /dev/zero, /dev/full and the random devices, read its own /proc/self,
 * and write only in its private directory, never in the host's state directory (hide), even if
 * it lies beneath one of those; where the kernel has them, TCP bind/connect are denied
 * (network deny) and signals and abstract UNIX sockets are scoped to the worker's own domain.
 * Not the user change or seccomp (isolate.c, seccomp.c). Needs no privileges, only no_new_privs. */
#ifndef ASYNCD_WORKER_LANDLOCK_H
#define ASYNCD_WORKER_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>

/* What was applied (bits of HELLO's flags, sandbox/ipc.h). */
struct landlock_result {
	int abi;   /* the kernel's Landlock ABI, 0 when it has none (or it is disabled) */
	int flags; /* IPC_ISOLATE_LANDLOCK_FS, _LANDLOCK_NET, _SIGNAL_SCOPE, _SOCKET_SCOPE */
};

struct landlock_opts {
	const char *private_dir; /* read and write here; NULL: nowhere */
	bool deny_network;	 /* deny TCP bind and connect too (ABI >= 4) */
	const char *hide;	 /* canonical path never allowed, even beneath an allowed one */
};

/* The kernel's Landlock ABI version, 0 when there is none. */
int landlock_abi(void);

/* Restrict this process (and the threads it starts later) as described above. 0 and *ret (its
 * abi is 0 and flags 0 when the kernel has no Landlock: nothing was applied), or a negative AE_*
 * code with a message when a ruleset the kernel offers could not be built or applied. */
int landlock_apply(const struct landlock_opts *o, struct landlock_result *ret, char *err,
		   size_t errlen);

#endif
