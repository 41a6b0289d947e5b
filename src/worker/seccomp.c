/* The worker's syscall filter (see seccomp.h): a deny list on a default of allow, with the one
 * argument check that tells a thread from a process in clone(). */
#include "worker/seccomp.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

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

int seccomp_filter_load(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return AE_NOMEM;
	}
	int rc = add_denied(ctx, err, errlen);
	if (rc == 0)
		rc = add_clone(ctx, err, errlen);
	if (rc == 0 && (rc = seccomp_load(ctx)) < 0) {
		snprintf(err, errlen, "cannot load the seccomp filter: %s", strerror(-rc));
		rc = AE_INTERNAL;
	}
	seccomp_release(ctx);
	return rc;
}

#else

int seccomp_filter_load(char *err, size_t errlen)
{
	snprintf(err, errlen, "asyncd-worker was built without libseccomp");
	return AE_NOTFOUND;
}

#endif
