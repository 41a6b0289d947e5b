/* The state directory's modes and its lock (see statedir.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "host/statedir.h"

/* What asyncd keeps in the directory that others must not read; directories end with '/'. */
static const char *const secrets[] = {
    "asyncd.db",   "asyncd.db-wal",  "asyncd.db-shm", "admin.token",
    "asyncd.lock", "asyncd.running", "cache/",	      "cache/assemblies/",
};

struct fix {
	char dirs[2048];  /* to chmod 700 */
	char files[2048]; /* to chmod 600 */
	bool truncated;
};

static void fix_add(struct fix *f, char *list, size_t size, const char *path)
{
	size_t n = strlen(list);
	if (n + strlen(path) + 2 >= size) {
		f->truncated = true;
		return;
	}
	snprintf(list + n, size - n, " %s", path);
}

/* Note path when group or others may use it; AE_IO when it exists and cannot be examined. */
static int check_one(const char *path, bool dir, struct fix *f)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : AE_IO;
	if (!(st.st_mode & 077))
		return 0;
	if (dir)
		fix_add(f, f->dirs, sizeof(f->dirs), path);
	else
		fix_add(f, f->files, sizeof(f->files), path);
	return 0;
}

static void fix_message(const struct fix *f, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "the state directory or the secrets in it are open to group or others: run "
		 "%s%s%s%s%s%s",
		 f->dirs[0] ? "chmod 700" : "", f->dirs, f->dirs[0] && f->files[0] ? " && " : "",
		 f->files[0] ? "chmod 600" : "", f->files,
		 f->truncated ? " (and the same for the other files in it)" : "");
}

static int check_owner(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "cannot examine the state directory %s: %s", dir,
			 strerror(errno));
		return AE_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "the state directory %s is not a directory", dir);
		return AE_IO;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "the state directory %s belongs to uid %u, not to this user (uid %u): run "
			 "chown %u %s",
			 dir, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(), dir);
		return AE_FORBIDDEN;
	}
	return 0;
}

int statedir_check(const char *dir, char *err, size_t errlen)
{
	struct fix f = {0};
	char path[4200];
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the state directory %s: %s", dir,
			 strerror(errno));
		return AE_IO;
	}
	int rc = check_owner(dir, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s", dir);
	rc = check_one(dir, true, &f);
	for (size_t i = 0; rc == 0 && i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		size_t n = strlen(secrets[i]);
		bool is_dir = secrets[i][n - 1] == '/';
		snprintf(path, sizeof(path), "%s/%.*s", dir, (int)(n - is_dir), secrets[i]);
		rc = check_one(path, is_dir, &f);
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot examine %s: %s", path, strerror(errno));
		return rc;
	}
	if (f.dirs[0] || f.files[0]) {
		fix_message(&f, err, errlen);
		return AE_FORBIDDEN;
	}
	return 0;
}

/* The pid written in the lock file, 0 when none can be read. */
static long lock_holder(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return strtol(buf, NULL, 10);
}

static int write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return AE_IO;
	return 0;
}

int statedir_lock(const char *dir, int *ret_fd, char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/asyncd.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return AE_IO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long pid = e == EWOULDBLOCK ? lock_holder(fd) : 0;
		if (e != EWOULDBLOCK)
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		else if (pid > 0)
			snprintf(err, errlen,
				 "another asyncd (pid %ld) uses the state directory %s: stop it "
				 "first",
				 pid, dir);
		else
			snprintf(err, errlen,
				 "another asyncd uses the state directory %s (%s is "
				 "locked): stop it first",
				 dir, path);
		close(fd);
		return e == EWOULDBLOCK ? AE_BUSY : AE_IO;
	}
	if (write_pid(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return AE_IO;
	}
	*ret_fd = fd;
	return 0;
}

void statedir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
