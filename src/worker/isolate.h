/* Isolation of a worker process, applied by the worker to itself before it loads any plug-in:
 * rlimits (address space, CPU time, open files, processes, no core dumps), an unprivileged user
 * when it runs as root, its private directory as cwd, TMPDIR and HOME, the parent-death signal,
 * no new privileges, not dumpable, Landlock (landlock.c) and the seccomp filters (seccomp.c).
 * What it applied is reported back to the host in HELLO. */
#ifndef ASYNCD_WORKER_ISOLATE_H
#define ASYNCD_WORKER_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/ipc.h"

/* Bits of what was applied: HELLO's flags (docs/ipc.md). */
enum {
	ISOLATE_USER = IPC_ISOLATE_USER,
	ISOLATE_NO_NEW_PRIVS = IPC_ISOLATE_NO_NEW_PRIVS,
	ISOLATE_SECCOMP = IPC_ISOLATE_SECCOMP,
	ISOLATE_AS_LIMIT = IPC_ISOLATE_AS_LIMIT,
	ISOLATE_LANDLOCK_FS = IPC_ISOLATE_LANDLOCK_FS,
	ISOLATE_PRIVATE_DIR = IPC_ISOLATE_PRIVATE_DIR,
};

struct isolate_opts {
	const char *user; /* drop to this user when running as root; NULL or "": stay */
	int memory_mb;	  /* allowed on top of the worker's own address space; 0: none */
	int cpu_s;	  /* RLIMIT_CPU soft limit (SIGXCPU), hard a little later; 0: none */
	pid_t parent;	  /* exit at once if the parent is already someone else; 0: no check */
	const char *private_dir; /* cwd, TMPDIR, HOME and the only writable place; NULL: none */
	bool deny_network;	 /* sandbox.network=deny */
	const char *hide;	 /* the host's state directory (canonical): never reachable */
	bool no_landlock;	 /* behave as on a kernel without Landlock (tests) */
};

struct isolate_result {
	int flags;	  /* ISOLATE_* / IPC_ISOLATE_* bits */
	int landlock_abi; /* the kernel's, 0: none */
};

/* Apply everything in order; 0 and *ret, or a negative AE_* code with a message (AE_FORBIDDEN
 * when no filesystem wall could be put up). */
int isolate_apply(const struct isolate_opts *o, struct isolate_result *ret, char *err,
		  size_t errlen);

/* Close every descriptor above stderr but keep (-1: none). 0, or AE_IO. */
int isolate_close_fds(int keep);

/* Pages of the process's address space now (from /proc/self/statm), 0 when unknown. */
uint64_t isolate_vm_bytes(void);

#endif
