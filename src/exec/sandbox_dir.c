/* A sandbox worker's private directory (see sandbox_int.h): made with mkdtemp() under the host's
 * $TMPDIR (or /tmp), never in the state directory, 0700 and owned by the user the worker will
 * run as; removed with everything in it once the worker is gone. The worker makes it its cwd,
 * TMPDIR and HOME and its only writable place (worker/isolate.c, worker/landlock.c). */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "exec/sandbox_int.h"

#define OPEN_FDS 16 /* nftw's descriptors */

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

/* mkdtemp() of base/asyncd-worker.XXXXXX into dir; 0, or -1 with errno. */
static int make_in(const char *base, char *dir, size_t n)
{
	snprintf(dir, n, "%s/asyncd-worker.XXXXXX", base);
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

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Not as root: a plug-in may have left a directory it cannot be emptied from (mode 0). As root
 * (which needs no permission) this is skipped: chmod() follows symbolic links. */
static int open_up(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (st->st_mode & 07777) | S_IRWXU);
	return 0;
}

void sb_dir_remove(const char *dir)
{
	struct stat st;
	if (!dir[0] || lstat(dir, &st) < 0)
		return;
	if (geteuid() != 0)
		nftw(dir, open_up, OPEN_FDS, FTW_PHYS);
	nftw(dir, remove_one, OPEN_FDS, FTW_DEPTH | FTW_PHYS);
	if (lstat(dir, &st) == 0)
		log_warn("sandbox", "cannot remove a worker's private directory %s", dir);
}
