/* A sandbox worker's private directory (see sandbox_int.h): made with mkdtemp() under the host's
 * $TMPDIR (or /tmp), never in the state directory, named after the host's pid, 0700 and owned by
 * the user the worker will run as; removed with everything in it once the worker is gone, and
 * those a dead host left behind when the sandbox starts. The worker makes it its cwd, TMPDIR and
 * HOME and its only writable place (worker/isolate.c, worker/landlock.c). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "sandbox/sandbox_int.h"

#define DIR_PREFIX "asyncd-worker." /* then the host's pid, a dot and mkdtemp's six */
#define MAX_DEPTH 256		    /* of a tree a plug-in left */

/* $TMPDIR, unless it is missing, not a directory or inside the state directory (hide): /tmp. */
static const char *temp_base(const char *hide)
{
	char real[PATH_MAX];
	const char *t = getenv("TMPDIR");
	struct stat st;
	size_t n = strlen(hide);
	if (!t || t[0] != '/' || strlen(t) >= 200 || stat(t, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    !realpath(t, real))
		return "/tmp";
	if (n && !strncmp(real, hide, n) && (real[n] == '/' || real[n] == 0))
		return "/tmp";
	return t;
}

/* The uid and gid the worker will have: sandbox.user when the host is root, else the host's
 * (also for a user that does not exist: the worker then says so and does not start). */
static void owner_of(const struct settings *c, uid_t *ret_uid, gid_t *ret_gid)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	*ret_uid = geteuid();
	*ret_gid = getegid();
	if (geteuid() != 0 || !c->sandbox_user[0] ||
	    getpwnam_r(c->sandbox_user, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return;
	*ret_uid = pw.pw_uid;
	*ret_gid = pw.pw_gid;
}

/* mkdtemp() of base/asyncd-worker.PID.XXXXXX into dir; 0, or -1 with errno. */
static int make_in(const char *base, char *dir, size_t n)
{
	snprintf(dir, n, "%s/" DIR_PREFIX "%d.XXXXXX", base, (int)getpid());
	return mkdtemp(dir) ? 0 : -1;
}

int sb_dir_make(struct sandbox *sb, char *dir, size_t n)
{
	uid_t uid;
	gid_t gid;
	const char *base = temp_base(sb->hide);
	owner_of(&sb->cfg, &uid, &gid);
	/* a $TMPDIR the host cannot write in: /tmp then */
	if (make_in(base, dir, n) < 0 && (!strcmp(base, "/tmp") || make_in("/tmp", dir, n) < 0)) {
		sb_set_error(sb, "cannot make a private directory in %s: %s", base,
			     strerror(errno));
		dir[0] = 0;
		return AE_IO;
	}
	if ((uid != geteuid() || gid != getegid()) && chown(dir, uid, gid) < 0) {
		sb_set_error(sb, "cannot give %s to sandbox.user: %s", dir, strerror(errno));
		rmdir(dir);
		dir[0] = 0;
		return AE_IO;
	}
	return 0;
}

/* Open name in parent as a directory, never through a symbolic link; not as root, a directory a
 * plug-in made unreadable (mode 0) is opened up first (the same user owns it). -1 if it cannot. */
static int open_dir_at(int parent, const char *name)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(parent, name, flags);
	if (fd < 0 && errno == EACCES && geteuid() != 0 && fchmodat(parent, name, S_IRWXU, 0) == 0)
		fd = openat(parent, name, flags);
	return fd;
}

/* Remove name in parent with everything in it, relative to descriptors all the way, so that a
 * directory swapped for a symbolic link meanwhile leads nowhere else. */
static void remove_at(int parent, const char *name, int depth)
{
	struct dirent *e;
	if (unlinkat(parent, name, 0) == 0 || (errno != EISDIR && errno != EPERM) ||
	    depth > MAX_DEPTH)
		return;
	int fd = open_dir_at(parent, name);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			remove_at(dirfd(d), e->d_name, depth + 1);
	closedir(d);
	unlinkat(parent, name, AT_REMOVEDIR);
}

void sb_dir_remove(const char *dir)
{
	struct stat st;
	const char *slash = strrchr(dir, '/');
	if (!dir[0] || !slash || lstat(dir, &st) < 0)
		return;
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir), dir);
	int pfd = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0) {
		remove_at(pfd, slash + 1, 0);
		close(pfd);
	}
	if (lstat(dir, &st) == 0)
		log_warn("sandbox", "cannot remove a worker's private directory %s", dir);
}

/* Whether name is asyncd-worker.PID.* of a host (PID) that is gone. */
static bool left_by_dead_host(const char *name)
{
	char *end;
	if (strncmp(name, DIR_PREFIX, strlen(DIR_PREFIX)))
		return false;
	long pid = strtol(name + strlen(DIR_PREFIX), &end, 10);
	if (pid <= 0 || *end != '.' || pid == (long)getpid())
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* One entry of base: a directory, owned by the host's user or the sandbox user, left by a dead
 * host. */
static void sweep_one(int base, const char *name, uid_t uid)
{
	struct stat st;
	if (!left_by_dead_host(name) || fstatat(base, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != uid))
		return;
	remove_at(base, name, 0);
}

void sb_dir_sweep(struct sandbox *sb)
{
	uid_t uid;
	gid_t gid;
	struct dirent *e;
	owner_of(&sb->cfg, &uid, &gid);
	const char *bases[2] = {temp_base(sb->hide), "/tmp"};
	for (int i = 0; i < 2 && (i == 0 || strcmp(bases[0], bases[1])); i++) {
		DIR *d = opendir(bases[i]);
		while (d && (e = readdir(d)))
			sweep_one(dirfd(d), e->d_name, uid);
		if (d)
			closedir(d);
	}
}
