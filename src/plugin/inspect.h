/* Validating an uploaded plug-in library without loading it into the host: spawn the worker
 * executable (`asyncd-worker --inspect PATH`) and read what it found. Loading runs the library's
 * constructors, which may crash, exit or hang; only the worker pays for that. This module does not
 * store or register anything. */
#ifndef ASYNCD_PLUGIN_INSPECT_H
#define ASYNCD_PLUGIN_INSPECT_H

#include <stddef.h>

/* What an assembly declares. Every string is owned by the struct (freed by plugin_meta_done);
 * description and type_descriptions[i] may be NULL. */
struct plugin_meta {
	char *name, *version, *description;
	size_t n_types;
	char **type_names;
	char **type_descriptions;
};

/* Spawn `worker_path --inspect lib_path` (posix_spawn, cleared environment, its own process group,
 * stdin /dev/null, bounded reads of stdout and stderr) and wait at most timeout_ms (> 0) for it;
 * on expiry its process group is killed. On success fills *ret (the caller frees it with
 * plugin_meta_done). On failure *ret is untouched, a message goes to err (errlen bytes) and the
 * code is:
 *   AE_PLUGIN   anything wrong with the library: not a shared library, wrong ABI, no types,
 *               invalid names, crashed or exited while loading
 *   AE_TIMEOUT  it did not finish loading in time
 *   AE_INTERNAL the worker could not be run or answered something unexpected
 *   AE_INVAL, AE_NOMEM, AE_IO as usual */
int plugin_inspect(const char *worker_path, const char *lib_path, int timeout_ms,
		   struct plugin_meta *ret, char *err, size_t errlen);

/* Run `worker_path --inspect lib_path --check type` with the same walls: the worker loads the
 * library, calls type's create() with the configurations (passed on its stdin, never on the
 * command line) and destroy() on the instance. 0 when create() accepted them; AE_PLUGIN with the
 * plug-in's own message when it refused, crashed or the type is missing; AE_TIMEOUT; others as
 * plugin_inspect. */
int plugin_check_config(const char *worker_path, const char *lib_path, const char *type,
			const char *config, const char *secure_config, int timeout_ms, char *err,
			size_t errlen);

/* Keep state_dir out of the inspect worker's reach (Landlock), even if it lies beneath a system
 * directory it may read. Called once, before the first plugin_inspect(); NULL: nothing. */
void plugin_inspect_hide(const char *state_dir);

/* Free what m holds and zero it. Accepts NULL. */
void plugin_meta_done(struct plugin_meta *m);

#endif
