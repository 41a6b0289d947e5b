/* The in-process library cache (see libcache.h). One mutex guards the list; type instances are
 * created under it, so a slow create() delays only other first runs. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "plugin/libcache.h"
#include "plugin/loader.h"
#include "store/store.h"

struct instance {
	char *type;
	int64_t step_id;
	const struct asyncd_plugin_type *t;
	void *ptr;
	struct instance *next;
};

struct lib_entry {
	char sha256[65];
	struct plugin_lib *lib;
	int refs;
	struct instance *instances;
	struct lib_entry *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lib_entry *cache_head;
static char cache_dir[3072];

int libcache_init(const char *dir)
{
	if (snprintf(cache_dir, sizeof(cache_dir), "%s", dir) >= (int)sizeof(cache_dir))
		return AE_INVAL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return AE_IO;
	return chmod(dir, 0700) < 0 ? AE_IO : 0;
}

static bool sha_valid(const char *sha)
{
	if (strlen(sha) != 64)
		return false;
	for (const char *p = sha; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == ENOSPC || errno == EDQUOT || errno == EFBIG))
			return AE_DISKFULL;
		if (w <= 0)
			return AE_IO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int libcache_put_file(const char *sha256, const void *bytes, size_t n, char *ret_path,
		      size_t pathlen)
{
	char tmp[4096];
	if (!sha_valid(sha256))
		return AE_INVAL;
	snprintf(ret_path, pathlen, "%s/%s.so", cache_dir, sha256);
	if (access(ret_path, R_OK) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", cache_dir, sha256, (long)gettid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return AE_IO;
	int rc = write_all(fd, bytes, n);
	if (rc == 0 && fsync(fd) < 0)
		rc = errno == ENOSPC || errno == EDQUOT ? AE_DISKFULL : AE_IO;
	close(fd);
	if (rc == 0 && rename(tmp, ret_path) < 0)
		rc = AE_IO;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int fetch_to_file(const char *sha256, struct store *reader, char *path, size_t pathlen)
{
	void *bytes;
	size_t n;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[65];
	int rc = store_assembly_bytes(reader, sha256, &bytes, &n);
	if (rc < 0)
		return rc;
	crypto_hash_sha256(digest, bytes, n);
	hex_encode(digest, sizeof(digest), hex);
	rc = strcmp(hex, sha256) ? AE_STORE : libcache_put_file(sha256, bytes, n, path, pathlen);
	free(bytes);
	return rc;
}

int libcache_file(const char *sha256, struct store *reader, char *ret_path, size_t pathlen)
{
	if (!sha_valid(sha256))
		return AE_INVAL;
	if (snprintf(ret_path, pathlen, "%s/%s.so", cache_dir, sha256) >= (int)pathlen)
		return AE_INVAL;
	if (access(ret_path, R_OK) == 0)
		return 0;
	return reader ? fetch_to_file(sha256, reader, ret_path, pathlen) : AE_STORE;
}

static struct lib_entry *find_locked(const char *sha256)
{
	for (struct lib_entry *e = cache_head; e; e = e->next)
		if (!strcmp(e->sha256, sha256))
			return e;
	return NULL;
}

static int load_locked(const char *sha256, struct store *reader, struct lib_entry **ret, char *err,
		       size_t errlen)
{
	char path[4096];
	struct lib_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return AE_NOMEM;
	snprintf(path, sizeof(path), "%s/%s.so", cache_dir, sha256);
	int rc = access(path, R_OK) == 0 ? 0 : fetch_to_file(sha256, reader, path, sizeof(path));
	if (rc < 0)
		snprintf(err, errlen, "assembly %s is not available: %s", sha256,
			 asyncd_strerror(rc));
	else
		rc = plugin_lib_open(path, &e->lib, err, errlen);
	if (rc < 0) {
		free(e);
		return rc;
	}
	snprintf(e->sha256, sizeof(e->sha256), "%s", sha256);
	e->next = cache_head;
	cache_head = e;
	*ret = e;
	return 0;
}

int libcache_acquire(const char *sha256, struct store *reader, struct lib_entry **ret, char *err,
		     size_t errlen)
{
	if (!sha_valid(sha256)) {
		snprintf(err, errlen, "bad assembly hash");
		return AE_INVAL;
	}
	pthread_mutex_lock(&cache_lock);
	struct lib_entry *e = find_locked(sha256);
	int rc = e ? 0 : load_locked(sha256, reader, &e, err, errlen);
	if (rc == 0) {
		e->refs++;
		*ret = e;
	}
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

void libcache_release(struct lib_entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&cache_lock);
	e->refs--;
	pthread_mutex_unlock(&cache_lock);
}

static struct instance *instance_find(struct lib_entry *e, const char *type, int64_t step_id)
{
	for (struct instance *i = e->instances; i; i = i->next)
		if (i->step_id == step_id && !strcmp(i->type, type))
			return i;
	return NULL;
}

static int instance_create(struct lib_entry *e, const char *type, int64_t step_id,
			   const char *config, const char *secure, struct instance **ret, char *err,
			   size_t errlen)
{
	const struct asyncd_plugin_type *t = plugin_lib_type(e->lib, type);
	if (!t) {
		snprintf(err, errlen, "assembly %s %s exports no type %s", e->lib->info->name,
			 e->lib->info->version, type);
		return AE_NOTFOUND;
	}
	struct instance *in = calloc(1, sizeof(*in));
	if (!in || !(in->type = strdup(type))) {
		free(in);
		return AE_NOMEM;
	}
	char perr[256] = "";
	if (t->create && t->create(config, secure, &in->ptr, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "%s.create failed: %s", type, perr[0] ? perr : "no reason");
		free(in->type);
		free(in);
		return AE_PLUGIN;
	}
	in->t = t;
	in->step_id = step_id;
	in->next = e->instances;
	e->instances = in;
	*ret = in;
	return 0;
}

int libcache_instance(struct lib_entry *e, const char *type, int64_t step_id, const char *config,
		      const char *secure_config, const struct asyncd_plugin_type **ret_type,
		      void **ret_instance, char *err, size_t errlen)
{
	pthread_mutex_lock(&cache_lock);
	struct instance *in = instance_find(e, type, step_id);
	int rc =
	    in ? 0 : instance_create(e, type, step_id, config, secure_config, &in, err, errlen);
	if (rc == 0) {
		*ret_type = in->t;
		*ret_instance = in->ptr;
	}
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

const char *libcache_version(const struct lib_entry *e)
{
	return e->lib->info->version;
}

static void entry_free(struct lib_entry *e)
{
	struct instance *next;
	for (struct instance *i = e->instances; i; i = next) {
		next = i->next;
		if (i->t->destroy)
			i->t->destroy(i->ptr);
		free(i->type);
		free(i);
	}
	plugin_lib_close(e->lib);
	free(e);
}

static bool kept(const char *sha, const char *const *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] && !strcmp(keep[i], sha))
			return true;
	return false;
}

void libcache_sweep(const char *const *keep, size_t n_keep)
{
	pthread_mutex_lock(&cache_lock);
	for (struct lib_entry **pp = &cache_head; *pp;) {
		struct lib_entry *e = *pp;
		if (e->refs == 0 && !kept(e->sha256, keep, n_keep)) {
			*pp = e->next;
			entry_free(e);
		} else {
			pp = &e->next;
		}
	}
	pthread_mutex_unlock(&cache_lock);
}

void libcache_shutdown(void)
{
	libcache_sweep(NULL, 0);
}
