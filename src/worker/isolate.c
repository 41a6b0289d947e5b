/* Isolation of a worker process (see isolate.h). The order matters: limits first, then the user
 * change (which clears the parent-death signal, so that comes after it), the private directory
 * (entered as the sandbox user), then no_new_privs, which Landlock and seccomp need; Landlock
 * before seccomp. Without any filesystem wall (no Landlock, no change to another user) it
 * refuses to go on. */
#include "worker/isolate.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "worker/landlock.h"
#include "worker/sanitizer.h"
#include "worker/seccomp.h"

#define NOFILE_LIMIT 256
#define NPROC_LIMIT 4096 /* threads of the sandbox user; seccomp is what stops new processes */
#define CPU_KILL_AFTER_S 5

static int fail(char *err, size_t errlen, int code, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return code;
}

uint64_t isolate_vm_bytes(void)
{
	unsigned long long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &pages) != 1)
		pages = 0;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return (uint64_t)pages * (uint64_t)(page > 0 ? page : 4096);
}

static int set_limit(int res, rlim_t soft, rlim_t hard, char *err, size_t errlen, const char *what)
{
	struct rlimit rl = {soft, hard};
	return setrlimit(res, &rl) < 0 ? fail(err, errlen, AE_INTERNAL, what) : 0;
}

static int apply_limits(const struct isolate_opts *o, int *flags, char *err, size_t errlen)
{
	(void)flags; /* unused in sanitizer builds */
	int rc = set_limit(RLIMIT_CORE, 0, 0, err, errlen, "setrlimit(RLIMIT_CORE)");
	if (rc == 0)
		rc = set_limit(RLIMIT_NOFILE, NOFILE_LIMIT, NOFILE_LIMIT, err, errlen,
			       "setrlimit(RLIMIT_NOFILE)");
	if (rc == 0 && o->cpu_s > 0)
		rc = set_limit(RLIMIT_CPU, (rlim_t)o->cpu_s, (rlim_t)o->cpu_s + CPU_KILL_AFTER_S,
			       err, errlen, "setrlimit(RLIMIT_CPU)");
#ifndef WORKER_ASAN
	if (rc == 0 && o->memory_mb > 0) {
		rlim_t as = (rlim_t)isolate_vm_bytes() + ((rlim_t)o->memory_mb << 20);
		rc = set_limit(RLIMIT_AS, as, as, err, errlen, "setrlimit(RLIMIT_AS)");
		if (rc == 0)
			*flags |= ISOLATE_AS_LIMIT;
	}
#endif
	return rc;
}

static int lookup_user(const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	int e = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
	if (!found) {
		snprintf(err, errlen, "cannot run as sandbox.user %s: %s", name,
			 e ? strerror(e) : "no such user");
		return AE_NOTFOUND;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

static int drop_user(const struct isolate_opts *o, int *flags, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;
	if (geteuid() != 0 || !o->user || !o->user[0])
		return 0;
	int rc = lookup_user(o->user, &uid, &gid, err, errlen);
	if (rc < 0 || uid == 0)
		return rc;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return fail(err, errlen, AE_INTERNAL, "cannot change to the sandbox user");
	if (setuid(0) == 0) {
		snprintf(err, errlen, "could become root again after changing user");
		return AE_INTERNAL;
	}
	if (rc == 0)
		rc = set_limit(RLIMIT_NPROC, NPROC_LIMIT, NPROC_LIMIT, err, errlen,
			       "setrlimit(RLIMIT_NPROC)");
	*flags |= ISOLATE_USER;
	return rc;
}

static int tie_to_parent(const struct isolate_opts *o, char *err, size_t errlen)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return fail(err, errlen, AE_INTERNAL, "prctl(PR_SET_PDEATHSIG)");
	if (o->parent > 0 && getppid() != o->parent) {
		snprintf(err, errlen, "the host is gone");
		return AE_SHUTDOWN;
	}
	return 0;
}

/* cwd, TMPDIR and HOME: the private directory, or / with no TMPDIR or HOME when there is none. */
static int enter_dir(const struct isolate_opts *o, int *flags, char *err, size_t errlen)
{
	const char *dir = o->private_dir ? o->private_dir : "/";
	if (chdir(dir) < 0) {
		snprintf(err, errlen, "cannot enter the private directory %s: %s", dir,
			 strerror(errno));
		return AE_IO;
	}
	if (!o->private_dir)
		return 0;
	if (setenv("TMPDIR", dir, 1) < 0 || setenv("HOME", dir, 1) < 0)
		return fail(err, errlen, AE_NOMEM, "setenv");
	*flags |= ISOLATE_PRIVATE_DIR;
	return 0;
}

static int walls(const struct isolate_opts *o, struct isolate_result *res, char *err, size_t errlen)
{
	struct landlock_opts lo = {
	    .private_dir = o->private_dir, .deny_network = o->deny_network, .hide = o->hide};
	struct landlock_result lr = {0, 0};
	struct seccomp_opts so = {.deny_network = o->deny_network};
	int sflags = 0;
	int rc = o->no_landlock ? 0 : landlock_apply(&lo, &lr, err, errlen);
	if (rc < 0)
		return rc;
	res->landlock_abi = o->no_landlock ? 0 : landlock_abi();
	res->flags |= lr.flags;
	rc = seccomp_filter_load(&so, &sflags, err, errlen);
	if (rc == 0)
		res->flags |= sflags;
	return rc == AE_NOTFOUND ? 0 : rc;
}

static int lock_down(const struct isolate_opts *o, struct isolate_result *res, char *err,
		     size_t errlen)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail(err, errlen, AE_INTERNAL, "prctl(PR_SET_DUMPABLE)");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, errlen, AE_INTERNAL, "prctl(PR_SET_NO_NEW_PRIVS)");
	res->flags |= ISOLATE_NO_NEW_PRIVS;
	return walls(o, res, err, errlen);
}

/* A plug-in must not run with the host's access to its files: Landlock, or another user. */
static int check_walls(const struct isolate_result *res, char *err, size_t errlen)
{
	if (res->flags & (ISOLATE_LANDLOCK_FS | ISOLATE_USER))
		return 0;
	snprintf(err, errlen,
		 "refusing to run plug-ins unprotected: this kernel offers no Landlock (ABI %d) "
		 "and %s",
		 res->landlock_abi,
		 geteuid() == 0
		     ? "sandbox.user is root itself"
		     : "asyncd does not run as root, so it cannot switch to sandbox.user either");
	return AE_FORBIDDEN;
}

int isolate_apply(const struct isolate_opts *o, struct isolate_result *ret, char *err,
		  size_t errlen)
{
	struct isolate_result res = {0, 0};
	int rc = apply_limits(o, &res.flags, err, errlen);
	if (rc == 0)
		rc = drop_user(o, &res.flags, err, errlen);
	if (rc == 0)
		rc = enter_dir(o, &res.flags, err, errlen);
	if (rc == 0)
		rc = tie_to_parent(o, err, errlen);
	if (rc == 0)
		rc = lock_down(o, &res, err, errlen);
	if (rc == 0)
		rc = check_walls(&res, err, errlen);
	if (rc == 0)
		*ret = res;
	return rc;
}

int isolate_close_fds(int keep)
{
	long r = keep > 3 ? syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0) : 0;
	unsigned from = keep >= 3 ? (unsigned)keep + 1 : 3U;
	if (r == 0)
		r = syscall(SYS_close_range, from, ~0U, 0);
	return r < 0 ? AE_IO : 0;
}
