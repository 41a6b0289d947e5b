/* The worker's Landlock ruleset (see landlock.h): which paths a plug-in may read, run or write
 * (with the host's state directory carved out of them should it lie beneath one), built for the
 * ABI this kernel reports (the installed headers may be older than the kernel, so
 * the newer constants are defined here), then TCP and scopes where the ABI has them. It does not
 * decide whether running without Landlock is acceptable (isolate.c does). */
#include "worker/landlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "sandbox/ipc.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13) /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0) /* ABI 4 */
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1) /* ABI 6 */
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

#define FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define MAX_DEPTH 32		   /* of the way down to a hidden directory */
#define READ_EXEC                                                                                  \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define READ_ONLY (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define DEV_RW                                                                                     \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |                            \
	 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* Rights that make sense on a file, not only on a directory. */
#define FILE_RIGHTS                                                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* The kernel's struct landlock_ruleset_attr as of ABI 6; older ABIs read a prefix of it. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ruleset {
	int fd;
	uint64_t handled; /* filesystem rights this ruleset handles */
};

/* What a plug-in may read and run; missing paths are skipped. /etc is added entry by entry. */
static const char *const system_dirs[] = {
    "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/opt",
};
/* Read only: the worker's own /proc/PID (ASan's /proc/self/maps, /proc/self/fd/N of the library
 * memfds; a memfd itself is on an internal mount Landlock does not restrict), the CPU list
 * (sysconf) and, for DNS, systemd-resolved's resolv.conf. */
static const char *const read_dirs[] = {
    "/proc/self",
    "/sys/devices/system/cpu",
    "/run/systemd/resolve",
};
static const char *const dev_rw[] = {"/dev/null", "/dev/zero", "/dev/full"};
static const char *const dev_read[] = {"/dev/urandom", "/dev/random"};

int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return v > 0 ? (int)v : 0;
}

static uint64_t fs_rights(int abi)
{
	uint64_t r = FS_ABI1;
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* The attribute's size for this ABI (fields it does not know must not be passed). */
static size_t attr_size(int abi)
{
	if (abi >= 6)
		return sizeof(struct ll_ruleset_attr);
	return abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
}

static int create(int abi, const struct landlock_opts *o, struct ruleset *ret_rs, int *flags)
{
	struct ll_ruleset_attr attr = {.handled_access_fs = fs_rights(abi)};
	if (abi >= 4 && o->deny_network)
		attr.handled_access_net =
		    LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LANDLOCK_SCOPE_SIGNAL | LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
	long fd = syscall(SYS_landlock_create_ruleset, &attr, attr_size(abi), 0);
	if (fd < 0)
		return -1;
	*flags = IPC_ISOLATE_LANDLOCK_FS;
	if (attr.handled_access_net)
		*flags |= IPC_ISOLATE_LANDLOCK_NET;
	if (attr.scoped)
		*flags |= IPC_ISOLATE_SIGNAL_SCOPE | IPC_ISOLATE_SOCKET_SCOPE;
	*ret_rs = (struct ruleset){(int)fd, attr.handled_access_fs};
	return 0;
}

/* Allow access beneath (or on) path; a path that does not exist is skipped. -1 with errno. */
static int allow(const struct ruleset *rs, const char *path, uint64_t access)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -1;
	struct ll_path_beneath pb = {.allowed_access = access & rs->handled, .parent_fd = fd};
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		pb.allowed_access &= FILE_RIGHTS;
	long r = syscall(SYS_landlock_add_rule, rs->fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	int e = errno;
	close(fd);
	errno = e;
	return r < 0 ? -1 : 0;
}

/* Whether path is dir or beneath it (both canonical). */
static bool beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1)
		return true; /* "/" */
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

static int allow_except(const struct ruleset *rs, const char *path, uint64_t access,
			const char *hide, int depth);

/* Every entry of dir but the one leading to hide. */
static int allow_entries(const struct ruleset *rs, const char *dir, uint64_t access,
			 const char *hide, int depth)
{
	char path[PATH_MAX];
	struct dirent *e;
	int rc = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* it cannot be listed: nothing of it is allowed */
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
		rc = allow_except(rs, path, access, hide, depth + 1);
	}
	closedir(d);
	return rc;
}

/* Allow access beneath path, except beneath hide (the host's state directory): when hide is
 * inside path, path's entries are allowed one by one down to it, and hide is left out. */
static int allow_except(const struct ruleset *rs, const char *path, uint64_t access,
			const char *hide, int depth)
{
	char real[PATH_MAX];
	if (!hide || !realpath(path, real) || !beneath(hide, real))
		return allow(rs, path, access);
	if (!strcmp(hide, real) || depth > MAX_DEPTH)
		return 0;
	return allow_entries(rs, real, access, hide, depth);
}

static int allow_all(const struct ruleset *rs, const char *const *paths, size_t n, uint64_t access,
		     const char *hide, const char **ret_failed)
{
	for (size_t i = 0; i < n; i++)
		if (allow_except(rs, paths[i], access, hide, 0) < 0) {
			*ret_failed = paths[i];
			return -1;
		}
	return 0;
}

/* Whether /etc/NAME may be read: anyone may read it, and it is not asyncd's own configuration
 * (which may hold the database's password). */
static bool etc_entry_ok(int dirfd, const char *name)
{
	struct stat st;
	if (name[0] == '.' || !strncmp(name, "asyncd", 6) || fstatat(dirfd, name, &st, 0) < 0)
		return false;
	if (S_ISDIR(st.st_mode))
		return (st.st_mode & (S_IROTH | S_IXOTH)) == (S_IROTH | S_IXOTH);
	return S_ISREG(st.st_mode) && (st.st_mode & S_IROTH);
}

static int allow_etc(const struct ruleset *rs, const char *hide, const char **ret_failed)
{
	char path[512];
	DIR *d = opendir("/etc");
	struct dirent *e;
	int rc = 0;
	if (!d)
		return 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!etc_entry_ok(dirfd(d), e->d_name))
			continue;
		snprintf(path, sizeof(path), "/etc/%s", e->d_name);
		rc = allow_except(rs, path, READ_ONLY, hide, 1);
	}
	closedir(d);
	if (rc < 0)
		*ret_failed = "/etc";
	return rc;
}

static int add_rules(const struct ruleset *rs, const struct landlock_opts *o,
		     const char **ret_failed)
{
	const char *dir[1] = {o->private_dir}, *hide = o->hide;
	if (allow_all(rs, system_dirs, sizeof(system_dirs) / sizeof(system_dirs[0]), READ_EXEC,
		      hide, ret_failed) < 0 ||
	    allow_all(rs, read_dirs, sizeof(read_dirs) / sizeof(read_dirs[0]), READ_ONLY, hide,
		      ret_failed) < 0 ||
	    allow_all(rs, dev_rw, sizeof(dev_rw) / sizeof(dev_rw[0]), DEV_RW, hide, ret_failed) <
		0 ||
	    allow_all(rs, dev_read, sizeof(dev_read) / sizeof(dev_read[0]),
		      LANDLOCK_ACCESS_FS_READ_FILE, hide, ret_failed) < 0 ||
	    allow_etc(rs, hide, ret_failed) < 0)
		return -1;
	return o->private_dir ? allow_all(rs, dir, 1, rs->handled, NULL, ret_failed) : 0;
}

int landlock_apply(const struct landlock_opts *o, struct landlock_result *ret, char *err,
		   size_t errlen)
{
	struct ruleset rs;
	const char *failed = "";
	int flags = 0, abi = landlock_abi();
	if (abi == 0) {
		*ret = (struct landlock_result){0, 0};
		return 0;
	}
	if (create(abi, o, &rs, &flags) < 0) {
		snprintf(err, errlen, "landlock_create_ruleset (ABI %d): %s", abi, strerror(errno));
		return AE_INTERNAL;
	}
	int rc = add_rules(&rs, o, &failed);
	if (rc < 0)
		snprintf(err, errlen, "landlock rule for %s: %s", failed, strerror(errno));
	else if (syscall(SYS_landlock_restrict_self, rs.fd, 0) < 0) {
		snprintf(err, errlen, "landlock_restrict_self: %s", strerror(errno));
		rc = -1;
	}
	close(rs.fd);
	if (rc < 0)
		return AE_INTERNAL;
	*ret = (struct landlock_result){abi, flags};
	return 0;
}
