/* In-process code: assemblies registered with isolation=none, loaded in the host by SHA-256 from
 * a private cache directory (bytes fetched from the store, written to a temp file, fsynced and
 * renamed), with their type instances per step. A library is unloaded once no run holds it and a
 * newer build has replaced it. */
#ifndef ASYNCD_LIBCACHE_H
#define ASYNCD_LIBCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "asyncd/plugin.h"

struct store;
struct lib_entry;

/* dir is created 0700 if missing. */
int libcache_init(const char *dir);
void libcache_shutdown(void);

/* Write bytes to the cache as SHA256.so unless present (also used by registration so that
 * validation reads the same file). Returns 0 and the path in ret_path (n bytes). */
int libcache_put_file(const char *sha256, const void *bytes, size_t n, char *ret_path,
		      size_t pathlen);

/* The cached file of this sha256 (for a sandbox worker), fetched from the store through reader
 * when it is not cached yet. 0 and the path in ret_path (pathlen bytes), or an AE_* code. */
int libcache_file(const char *sha256, struct store *reader, char *ret_path, size_t pathlen);

/* The loaded library with this sha256, with a reference; the bytes come from the store through
 * reader when the file is not cached yet. */
int libcache_acquire(const char *sha256, struct store *reader, struct lib_entry **ret, char *err,
		     size_t errlen);
void libcache_release(struct lib_entry *e);

/* The type and its instance for step_id (0: a direct job without configuration), created on
 * first use with the given configurations. */
int libcache_instance(struct lib_entry *e, const char *type, int64_t step_id, const char *config,
		      const char *secure_config, const struct asyncd_plugin_type **ret_type,
		      void **ret_instance, char *err, size_t errlen);

/* The version string the library reports. */
const char *libcache_version(const struct lib_entry *e);

/* Unload libraries not in keep (an array of current sha256 strings) and not in use. */
void libcache_sweep(const char *const *keep, size_t n_keep);

#endif
