/* The worker's seccomp filters: everything is allowed except what a plug-in never needs
 * (ptrace, mounts, reboot, kexec, modules, bpf, perf events, swap, namespaces, keyrings, clock
 * and host name changes, raw I/O ports, other processes' memory), making processes (fork, vfork,
 * execve and a clone() that is not a new thread fail with EPERM; clone3() fails with ENOSYS so
 * that glibc falls back to clone() for threads), acting on other processes (kill, prlimit,
 * scheduling and priority calls only on pid 0 or its own; tgkill, rt_sigqueueinfo and
 * rt_tgsigqueueinfo only to its own thread group; tkill, pidfd_send_signal, pidfd_getfd,
 * process_madvise and process_mrelease refused) and new UNIX sockets (socketpair stays); with
 * the network denied, socket() of any other family fails with EACCES. */
#ifndef ASYNCD_WORKER_SECCOMP_H
#define ASYNCD_WORKER_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

struct seccomp_opts {
	bool deny_network; /* socket() of any family but AF_UNIX fails with EACCES */
};

/* Load the filters into this thread (threads created later inherit them). 0 and *ret_flags
 * (IPC_ISOLATE_SECCOMP and what else it applied), AE_NOTFOUND when built without libseccomp,
 * or another AE_* code with a message. Needs PR_SET_NO_NEW_PRIVS. */
int seccomp_filter_load(const struct seccomp_opts *o, int *ret_flags, char *err, size_t errlen);

#endif
