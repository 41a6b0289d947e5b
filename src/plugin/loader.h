/* Loading one plug-in assembly with dlopen() and checking that what it exports keeps the ABI of
 * include/asyncd/plugin.h. Used by the worker, and by the host only for isolation=none
 * assemblies: the host never loads an uploaded library to validate it (see inspect.h). It does not
 * know the registry, the store or how types are run. */
#ifndef ASYNCD_PLUGIN_LOADER_H
#define ASYNCD_PLUGIN_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncd/plugin.h"

#define PLUGIN_NAME_MAX 64	    /* bytes in an assembly or type name */
#define PLUGIN_MAX_TYPES 256	    /* types one assembly may export */
#define PLUGIN_DESCRIPTION_MAX 1024 /* bytes in a description */
#define PLUGIN_VERSION_MAX 23	    /* "65535.65535.65535.65535" */

/* A loaded assembly. info points into the library: valid until plugin_lib_close(). */
struct plugin_lib {
	void *handle;
	const struct asyncd_plugin_info *info;
};

/* dlopen(path, RTLD_NOW | RTLD_LOCAL), find asyncd_plugin_entry, call it and validate what it
 * returns. On success *ret is a new plugin_lib the caller frees with plugin_lib_close(). On failure
 * returns AE_NOTFOUND (no such file), AE_PLUGIN (anything wrong with the library) or AE_NOMEM,
 * and writes a message a person can act on into err (errlen bytes; err may be NULL). Loading runs
 * the library's constructors: never call it on an untrusted library in the host. */
int plugin_lib_open(const char *path, struct plugin_lib **ret, char *err, size_t errlen);

/* dlclose() the library and free lib. Accepts NULL. */
void plugin_lib_close(struct plugin_lib *lib);

/* The type named type_name, or NULL if the assembly has none. Points into the library. */
const struct asyncd_plugin_type *plugin_lib_type(const struct plugin_lib *lib,
						 const char *type_name);

/* The i-th type of a validated info (i < info->n_types), indexed with info->type_size as the
 * stride so that a plug-in built against a later, larger struct asyncd_plugin_type still works. */
const struct asyncd_plugin_type *plugin_info_type(const struct asyncd_plugin_info *info,
						  uint32_t i);

/* The checks plugin_lib_open() makes on what the entry returned: 0, or AE_PLUGIN with a message
 * in err. */
int plugin_validate_info(const struct asyncd_plugin_info *info, char *err, size_t errlen);

/* Whether s is a valid assembly or type name: [A-Za-z0-9_-]{1,64}. NULL is not. */
bool plugin_name_valid(const char *s);

/* Parse "major.minor.build.revision": exactly four decimal parts, each 0..65535, without signs,
 * spaces or leading zeros (so that one version has one spelling). 0 and ret[0..3] set, or
 * AE_INVAL. */
int plugin_version_parse(const char *s, uint32_t ret[4]);
/* Compare two versions part by part: <0, 0 or >0 (an unparsable one counts as 0.0.0.0). */
int plugin_version_cmp(const char *x, const char *y);

#endif
