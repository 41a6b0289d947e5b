/* The worker's seccomp filter (libseccomp): everything is allowed except what a plug-in never
 * needs (ptrace, mounts, reboot, kexec, modules, bpf, perf events, swap, namespaces, keyrings,
 * clock and host name changes, raw I/O ports, other processes' memory) and making processes:
 * fork, vfork, execve and a clone() that is not a new thread fail with EPERM; clone3() fails
 * with ENOSYS so that glibc falls back to clone() for threads. */
#ifndef ASYNCD_WORKER_SECCOMP_H
#define ASYNCD_WORKER_SECCOMP_H

#include <stddef.h>

/* Load the filter into this thread (threads created later inherit it). 0, AE_NOTFOUND when
 * built without libseccomp, or another AE_* code with a message. Needs PR_SET_NO_NEW_PRIVS. */
int seccomp_filter_load(char *err, size_t errlen);

#endif
