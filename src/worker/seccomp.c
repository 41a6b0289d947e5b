/* The worker's syscall filters (see seccomp.h): a libseccomp deny list on a default of allow,
 * with the argument checks that tell a thread from a process in clone(), signals to itself from
 * signals to others and socketpair() from socket(); and a small hand-written BPF filter for the
 * calls whose pid argument must be 0 or the worker itself (libseccomp cannot compare one
 * argument with two values in one rule). */
#include "worker/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "sandbox/ipc.h"

#ifdef HAVE_SECCOMP
#include <seccomp.h>

/* Syscalls that fail with EPERM. Names unknown to this kernel's table are skipped. */
static const char *const denied[] = {
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "mount",
    "umount",
    "umount2",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "pivot_root",
    "chroot",
    "setns",
    "unshare",
    "reboot",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "bpf",
    "perf_event_open",
    "swapon",
    "swapoff",
    "keyctl",
    "add_key",
    "request_key",
    "acct",
    "quotactl",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "userfaultfd",
    "fanotify_init",
    "nfsservctl",
    "uselib",
    "vhangup",
    "fork",
    "vfork",
    "execve",
    "execveat",
    /* signals and process handles: to no one (tgkill and friends, to itself only, below) */
    "tkill",
    "pidfd_send_signal",
    "pidfd_getfd",
    "process_madvise",
    "process_mrelease",
};

static int add_denied(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc < 0) {
			snprintf(err, errlen, "seccomp rule for %s: %s", denied[i], strerror(-rc));
			return AE_INTERNAL;
		}
	}
	return 0;
}

/* clone() without CLONE_THREAD makes a process; clone3() hides its flags in memory. */
static int add_clone(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp rule for clone: %s", strerror(-rc));
		return AE_INTERNAL;
	}
	return 0;
}

/* Signals whose first argument is a thread group: only the worker's own. */
static int add_signals(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	static const int nrs[] = {SCMP_SYS(tgkill), SCMP_SYS(rt_sigqueueinfo),
				  SCMP_SYS(rt_tgsigqueueinfo)};
	uint32_t me = (uint32_t)getpid();
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nrs[i], 1,
					  SCMP_A0_32(SCMP_CMP_NE, me));
		if (rc < 0) {
			snprintf(err, errlen, "seccomp rule for signals: %s", strerror(-rc));
			return AE_INTERNAL;
		}
	}
	return 0;
}

/* No new UNIX socket (the host's admin socket trusts its peer's uid), socketpair() stays; with
 * the network denied, no other socket either. */
static int add_sockets(scmp_filter_ctx ctx, bool deny_network, char *err, size_t errlen)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				  SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX));
	if (rc == 0 && deny_network)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
				      SCMP_A0_32(SCMP_CMP_NE, AF_UNIX));
	if (rc < 0) {
		snprintf(err, errlen, "seccomp rule for socket: %s", strerror(-rc));
		return AE_INTERNAL;
	}
	return 0;
}

static int load_main(const struct seccomp_opts *o, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return AE_NOMEM;
	}
	int rc = add_denied(ctx, err, errlen);
	if (rc == 0)
		rc = add_clone(ctx, err, errlen);
	if (rc == 0)
		rc = add_signals(ctx, err, errlen);
	if (rc == 0)
		rc = add_sockets(ctx, o->deny_network, err, errlen);
	if (rc == 0 && (rc = seccomp_load(ctx)) < 0) {
		snprintf(err, errlen, "cannot load the seccomp filter: %s", strerror(-rc));
		rc = AE_INTERNAL;
	}
	seccomp_release(ctx);
	return rc;
}

#if defined(__x86_64__)
#define OWN_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define OWN_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef OWN_ARCH
/* Calls that act on the process named by an argument, which must be 0 (itself) or the worker's
 * pid; some only for one kind of target (which, the argument that says so, must be its value). */
struct pid_call {
	int nr;
	int pid_arg;
	int which_arg; /* -1: none */
	uint32_t which;
};

static const struct pid_call pid_calls[] = {
    {SYS_kill, 0, -1, 0},
    {SYS_prlimit64, 0, -1, 0},
    {SYS_sched_setaffinity, 0, -1, 0},
    {SYS_sched_setscheduler, 0, -1, 0},
    {SYS_sched_setparam, 0, -1, 0},
    {SYS_sched_setattr, 0, -1, 0},
    {SYS_migrate_pages, 0, -1, 0},
    {SYS_move_pages, 0, -1, 0},
    {SYS_setpriority, 1, 0, 0 /* PRIO_PROCESS */},
    {SYS_ioprio_set, 1, 0, 1 /* IOPRIO_WHO_PROCESS */},
};
#define N_PID_CALLS (sizeof(pid_calls) / sizeof(pid_calls[0]))
#define BLOCK_LEN 7 /* instructions of one call's check, at most */

/* The low 32 bits of argument i (pids are ints). */
static uint32_t arg_low(int i)
{
	uint32_t off = (uint32_t)offsetof(struct seccomp_data, args) + 8 * (uint32_t)i;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	off += 4;
#endif
	return off;
}

/* One call's check into prog: returns the number of instructions. */
static int pid_block(struct sock_filter *prog, const struct pid_call *c, uint32_t me)
{
	int n = 0;
	if (c->which_arg >= 0) {
		prog[n++] =
		    (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg_low(c->which_arg));
		prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, c->which, 0, 3);
	}
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg_low(c->pid_arg));
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0);
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, me, 1, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return n;
}

/* arch check, nr, one jump per call, allow, then the blocks. */
static int load_pids(char *err, size_t errlen)
{
	struct sock_filter prog[5 + N_PID_CALLS * (1 + BLOCK_LEN)];
	uint32_t me = (uint32_t)getpid();
	int n = 0, at = 5 + (int)N_PID_CALLS; /* where the first block goes */
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, arch));
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, OWN_ARCH, 1, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < N_PID_CALLS; i++) {
		int len = pid_block(prog + at, &pid_calls[i], me);
		prog[n] = (struct sock_filter)BPF_JUMP(
		    BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)pid_calls[i].nr, (uint8_t)(at - n - 1), 0);
		n++;
		at += len;
	}
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog fp = {.len = (unsigned short)at, .filter = prog};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0) < 0) {
		snprintf(err, errlen, "cannot load the seccomp pid filter: %s", strerror(errno));
		return AE_INTERNAL;
	}
	return 0;
}
#endif

int seccomp_filter_load(const struct seccomp_opts *o, int *ret_flags, char *err, size_t errlen)
{
	int flags = IPC_ISOLATE_SECCOMP | IPC_ISOLATE_NO_UNIX_SOCKETS;
	int rc = load_main(o, err, errlen);
#ifdef OWN_ARCH
	if (rc == 0 && (rc = load_pids(err, errlen)) == 0)
		flags |= IPC_ISOLATE_SECCOMP_SIGNALS;
#endif
	if (o->deny_network)
		flags |= IPC_ISOLATE_NETWORK_DENIED;
	if (rc == 0)
		*ret_flags = flags;
	return rc;
}

#else

int seccomp_filter_load(const struct seccomp_opts *o, int *ret_flags, char *err, size_t errlen)
{
	(void)o;
	(void)ret_flags;
	snprintf(err, errlen, "asyncd-worker was built without libseccomp");
	return AE_NOTFOUND;
}

#endif
