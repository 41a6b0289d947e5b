/* Isolation of a worker process, applied by the worker to itself before it loads any plug-in:
 * rlimits (address space, CPU time, open files, processes, no core dumps), an unprivileged user
 * when it runs as root, the parent-death signal, no new privileges, not dumpable, and the seccomp
 * filter (seccomp.c). What it applied is reported back to the host in HELLO. */
#ifndef ASYNCD_WORKER_ISOLATE_H
#define ASYNCD_WORKER_ISOLATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "exec/ipc.h"

/* Bits of what was applied: HELLO's flags (docs/ipc.md). */
enum {
	ISOLATE_USER = IPC_ISOLATE_USER,
	ISOLATE_NO_NEW_PRIVS = IPC_ISOLATE_NO_NEW_PRIVS,
	ISOLATE_SECCOMP = IPC_ISOLATE_SECCOMP,
	ISOLATE_AS_LIMIT = IPC_ISOLATE_AS_LIMIT,
};

struct isolate_opts {
	const char *user; /* drop to this user when running as root; NULL or "": stay */
	int memory_mb;	  /* allowed on top of the worker's own address space; 0: none */
	int cpu_s;	  /* RLIMIT_CPU soft limit (SIGXCPU), hard a little later; 0: none */
	pid_t parent;	  /* exit at once if the parent is already someone else; 0: no check */
};

/* Apply everything in order; 0 and *ret_flags, or a negative AE_* code with a message. */
int isolate_apply(const struct isolate_opts *o, int *ret_flags, char *err, size_t errlen);

/* Pages of the process's address space now (from /proc/self/statm), 0 when unknown. */
uint64_t isolate_vm_bytes(void);

#endif
