/* The libraries a worker holds, by SHA-256: the descriptor the host passed (LOAD), the library
 * loaded from it on first use (copied into a memfd, dlopen of /proc/self/fd/N, RTLD_NOW |
 * RTLD_LOCAL, ABI checked by loader.c), and the type instances per step. UNLOAD destroys the
 * instances and closes the library. Used by the executor thread only. */
#ifndef ASYNCD_WORKER_LIBS_H
#define ASYNCD_WORKER_LIBS_H

#include <stddef.h>
#include <stdint.h>

#include "asyncd/plugin.h"

/* Remember fd (owned from now) as the library with this sha256. */
void libs_add(const char *sha256, int fd);
/* Destroy its instances and unload it. */
void libs_unload(const char *sha256);
/* How many libraries are loaded. */
int libs_loaded(void);

/* The type and its instance for step_id with these configurations (made on first use, made again
 * when the configurations changed). On failure *ret_code is the job's error_code
 * (plugin_load_failed, type_missing, plugin_create_failed) and err says why. */
int libs_instance(const char *sha256, const char *type, int64_t step_id, const char *config,
		  const char *secure_config, const struct asyncd_plugin_type **ret_type,
		  void **ret_instance, const char **ret_code, char *err, size_t errlen);

#endif
