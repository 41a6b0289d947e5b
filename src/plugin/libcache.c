/* The in-process library cache (see libcache.h). One mutex guards the list and is never held
 * across slow or foreign work: fetching the bytes from the store, writing and fsyncing the file,
 * dlopen() (the library's constructors), a type's create() and destroy() and dlclose() all run
 * with it released. A library being loaded is in the list as a placeholder that other threads
 * needing the same library wait for; two first runs of one step may both call create(), and the
 * instance that loses the race is destroyed at once. */
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
	char *config, *secure; /* what create() was given: a patched step gets a new instance */
	const struct asyncd_plugin_type *t;
	void *ptr;
	struct instance *next;
};

struct lib_entry {
	char sha256[65];
	struct plugin_lib *lib; /* NULL while it is being loaded */
	int refs;
	struct instance *instances;
	struct lib_entry *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_loaded = PTHREAD_COND_INITIALIZER;
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

/* Fetch and open the library of sha256. Called without the lock. */
static int load_unlocked(const char *sha256, struct store *reader, struct plugin_lib **ret,
			 char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.so", cache_dir, sha256);
	int rc = access(path, R_OK) == 0 ? 0 : fetch_to_file(sha256, reader, path, sizeof(path));
	if (rc < 0) {
		snprintf(err, errlen, "assembly %s is not available: %s", sha256,
			 asyncd_strerror(rc));
		return rc;
	}
	return plugin_lib_open(path, ret, err, errlen);
}

static void unlink_entry(struct lib_entry *e)
{
	for (struct lib_entry **pp = &cache_head; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			return;
		}
}

/* A placeholder for sha256 in the list, with one reference. Called with the lock held. */
static struct lib_entry *placeholder(const char *sha256)
{
	struct lib_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->sha256, sizeof(e->sha256), "%s", sha256);
	e->refs = 1;
	e->next = cache_head;
	cache_head = e;
	return e;
}

/* Load the placeholder e with the lock released; on failure it leaves the list. Called and
 * returns with the lock held. */
static int fill_placeholder(struct lib_entry *e, struct store *reader, char *err, size_t errlen)
{
	struct plugin_lib *lib = NULL;
	pthread_mutex_unlock(&cache_lock);
	int rc = load_unlocked(e->sha256, reader, &lib, err, errlen);
	pthread_mutex_lock(&cache_lock);
	if (rc < 0)
		unlink_entry(e); /* waiters see it gone and try themselves */
	else
		e->lib = lib; /* under the lock: waiters test it */
	pthread_cond_broadcast(&cache_loaded);
	return rc;
}

int libcache_acquire(const char *sha256, struct store *reader, struct lib_entry **ret, char *err,
		     size_t errlen)
{
	if (!sha_valid(sha256)) {
		snprintf(err, errlen, "bad assembly hash");
		return AE_INVAL;
	}
	pthread_mutex_lock(&cache_lock);
	struct lib_entry *e;
	while ((e = find_locked(sha256)) && !e->lib)
		pthread_cond_wait(&cache_loaded, &cache_lock); /* another thread loads it */
	int rc = 0;
	if (e) {
		e->refs++;
	} else if (!(e = placeholder(sha256))) {
		rc = AE_NOMEM;
	} else if ((rc = fill_placeholder(e, reader, err, errlen)) < 0) {
		free(e);
		e = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	if (rc == 0)
		*ret = e;
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

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The instance of type for step_id made with these configurations. One made with an earlier
 * configuration of the step may still be in use by a run: it stays until the library unloads. */
static struct instance *instance_find(struct lib_entry *e, const char *type, int64_t step_id,
				      const char *config, const char *secure)
{
	for (struct instance *i = e->instances; i; i = i->next)
		if (i->step_id == step_id && !strcmp(i->type, type) && same(i->config, config) &&
		    same(i->secure, secure))
			return i;
	return NULL;
}

/* A new instance of type for step_id. Called without the lock: create() is the plug-in's. */
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
	if (!in || !(in->type = strdup(type)) || (config && !(in->config = strdup(config))) ||
	    (secure && !(in->secure = strdup(secure)))) {
		if (in) {
			free(in->type);
			free(in->config);
			free(in->secure);
		}
		free(in);
		return AE_NOMEM;
	}
	char perr[256] = "";
	if (t->create && t->create(config, secure, &in->ptr, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "%s.create failed: %s", type, perr[0] ? perr : "no reason");
		free(in->type);
		free(in->config);
		free(in->secure);
		free(in);
		return AE_PLUGIN;
	}
	in->t = t;
	in->step_id = step_id;
	*ret = in;
	return 0;
}

static void instance_free(struct instance *in)
{
	if (in->t->destroy)
		in->t->destroy(in->ptr);
	free(in->type);
	free(in->config);
	if (in->secure)
		explicit_bzero(in->secure, strlen(in->secure));
	free(in->secure);
	free(in);
}

int libcache_instance(struct lib_entry *e, const char *type, int64_t step_id, const char *config,
		      const char *secure_config, const struct asyncd_plugin_type **ret_type,
		      void **ret_instance, char *err, size_t errlen)
{
	struct instance *in, *made = NULL;
	pthread_mutex_lock(&cache_lock);
	in = instance_find(e, type, step_id, config, secure_config);
	pthread_mutex_unlock(&cache_lock);
	if (!in) {
		int rc =
		    instance_create(e, type, step_id, config, secure_config, &made, err, errlen);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&cache_lock);
		if (!(in = instance_find(e, type, step_id, config, secure_config))) {
			made->next = e->instances;
			e->instances = in = made;
			made = NULL;
		}
		pthread_mutex_unlock(&cache_lock);
	}
	if (made)
		instance_free(made); /* another run created one first */
	*ret_type = in->t;
	*ret_instance = in->ptr;
	return 0;
}

const char *libcache_version(const struct lib_entry *e)
{
	return e->lib->info->version;
}

/* Destroy e's instances and close its library. Called without the lock. */
static void entry_free(struct lib_entry *e)
{
	struct instance *next;
	for (struct instance *i = e->instances; i; i = next) {
		next = i->next;
		instance_free(i);
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
	struct lib_entry *gone = NULL;
	pthread_mutex_lock(&cache_lock);
	for (struct lib_entry **pp = &cache_head; *pp;) {
		struct lib_entry *e = *pp;
		if (e->lib && e->refs == 0 && !kept(e->sha256, keep, n_keep)) {
			*pp = e->next;
			e->next = gone;
			gone = e;
		} else {
			pp = &e->next;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	for (struct lib_entry *next; gone; gone = next) {
		next = gone->next;
		entry_free(gone); /* destroy() and dlclose() without the lock */
	}
}

void libcache_shutdown(void)
{
	libcache_sweep(NULL, 0);
}
