/* Loading a plug-in assembly (dlopen, the entry symbol) and the ABI checks on what it exports:
 * sizes, ABI version, names, version, types. It never runs a type and never logs: every failure
 * comes back as an AE_* code with a message for the person who built the library. */
#include "plugin/loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"

/* The smallest structs a plug-in may hand over: everything up to the last member of ABI 1. */
#define INFO_MIN_SIZE                                                                              \
	(offsetof(struct asyncd_plugin_info, types) +                                              \
	 sizeof(((struct asyncd_plugin_info *)0)->types))
#define TYPE_MIN_SIZE                                                                              \
	(offsetof(struct asyncd_plugin_type, execute) +                                            \
	 sizeof(((struct asyncd_plugin_type *)0)->execute))

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) ASYNCD_PRINTF(4, 5);

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

bool plugin_name_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	for (n = 0; s[n]; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!ok || n >= PLUGIN_NAME_MAX)
			return false;
	}
	return n > 0;
}

/* One decimal part of a version at *s, advancing *s past it. */
static int version_part(const char **s, uint32_t *ret)
{
	const char *p = *s;
	uint32_t v = 0;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return AE_INVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint32_t)(*p - '0');
		if (v > 65535)
			return AE_INVAL;
	}
	*s = p;
	*ret = v;
	return 0;
}

int plugin_version_parse(const char *s, uint32_t ret[4])
{
	uint32_t v[4];

	if (!s)
		return AE_INVAL;
	for (int i = 0; i < 4; i++) {
		if (version_part(&s, &v[i]) < 0)
			return AE_INVAL;
		if (*s != (i < 3 ? '.' : '\0'))
			return AE_INVAL;
		s += i < 3;
	}
	memcpy(ret, v, sizeof(v));
	return 0;
}

int plugin_version_cmp(const char *x, const char *y)
{
	uint32_t a[4] = {0}, b[4] = {0};
	plugin_version_parse(x, a);
	plugin_version_parse(y, b);
	for (int i = 0; i < 4; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/* Length of a UTF-8 sequence starting with lead byte c, or 0 if c cannot start one. */
static size_t utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len = utf8_seq_len(s[i]);
		if (len == 0 || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		if ((s[i] == 0xe0 && s[i + 1] < 0xa0) || (s[i] == 0xed && s[i + 1] > 0x9f) ||
		    (s[i] == 0xf0 && s[i + 1] < 0x90) || (s[i] == 0xf4 && s[i + 1] > 0x8f))
			return false;
		i += len;
	}
	return true;
}

/* A description: NULL, or UTF-8 text of at most PLUGIN_DESCRIPTION_MAX bytes. */
static bool description_valid(const char *s)
{
	size_t n;

	if (!s)
		return true;
	n = strnlen(s, PLUGIN_DESCRIPTION_MAX + 1);
	return n <= PLUGIN_DESCRIPTION_MAX && utf8_valid((const unsigned char *)s, n);
}

const struct asyncd_plugin_type *plugin_info_type(const struct asyncd_plugin_info *info, uint32_t i)
{
	return (const struct asyncd_plugin_type *)((const char *)info->types +
						   (size_t)i * info->type_size);
}

static int validate_header(const struct asyncd_plugin_info *info, char *err, size_t errlen)
{
	if (!info)
		return fail(err, errlen, AE_PLUGIN, "asyncd_plugin_entry() returned NULL");
	if (info->abi_version != ASYNCD_PLUGIN_ABI_VERSION)
		return fail(err, errlen, AE_PLUGIN,
			    "the library was built for plug-in ABI version %u, this host supports "
			    "version %u: rebuild it against this host's asyncd/plugin.h",
			    (unsigned)info->abi_version, (unsigned)ASYNCD_PLUGIN_ABI_VERSION);
	if (info->size < INFO_MIN_SIZE)
		return fail(
		    err, errlen, AE_PLUGIN,
		    "struct asyncd_plugin_info is %u bytes, at least %zu expected: set size "
		    "with ASYNCD_PLUGIN_INFO_INIT",
		    (unsigned)info->size, INFO_MIN_SIZE);
	return 0;
}

static int validate_assembly(const struct asyncd_plugin_info *info, char *err, size_t errlen)
{
	uint32_t v[4];

	if (!plugin_name_valid(info->name))
		return fail(err, errlen, AE_PLUGIN,
			    "invalid assembly name: use 1 to 64 of A-Z a-z 0-9 _ -");
	if (strcasecmp(info->name, "asyncd") == 0) /* asyncd.* are system jobs (sysjobs.h) */
		return fail(err, errlen, AE_PLUGIN,
			    "invalid assembly name: 'asyncd' is reserved for asyncd's own system "
			    "jobs");
	if (plugin_version_parse(info->version, v) < 0)
		return fail(err, errlen, AE_PLUGIN,
			    "invalid assembly version: use major.minor.build.revision, each part "
			    "0 to 65535 without leading zeros");
	if (!description_valid(info->description))
		return fail(err, errlen, AE_PLUGIN,
			    "invalid assembly description: it must be UTF-8 of at most %d bytes",
			    PLUGIN_DESCRIPTION_MAX);
	return 0;
}

static int validate_type_table(const struct asyncd_plugin_info *info, char *err, size_t errlen)
{
	if (info->type_size < TYPE_MIN_SIZE ||
	    info->type_size % _Alignof(struct asyncd_plugin_type) != 0)
		return fail(err, errlen, AE_PLUGIN,
			    "type_size is %u, a multiple of %zu and at least %zu expected: set it "
			    "with ASYNCD_PLUGIN_INFO_INIT",
			    (unsigned)info->type_size, _Alignof(struct asyncd_plugin_type),
			    TYPE_MIN_SIZE);
	if (info->n_types == 0)
		return fail(err, errlen, AE_PLUGIN, "the assembly exports no plug-in types");
	if (info->n_types > PLUGIN_MAX_TYPES)
		return fail(err, errlen, AE_PLUGIN,
			    "the assembly exports %u plug-in types, at most %d are allowed",
			    (unsigned)info->n_types, PLUGIN_MAX_TYPES);
	if (!info->types)
		return fail(err, errlen, AE_PLUGIN, "the assembly's types pointer is NULL");
	return 0;
}

static int validate_type(const struct asyncd_plugin_info *info, uint32_t i, char *err,
			 size_t errlen)
{
	const struct asyncd_plugin_type *t = plugin_info_type(info, i);

	if (!plugin_name_valid(t->name))
		return fail(err, errlen, AE_PLUGIN,
			    "plug-in type %u has an invalid name: use 1 to 64 of A-Z a-z 0-9 _ -",
			    (unsigned)i + 1);
	for (uint32_t k = 0; k < i; k++)
		if (strcmp(plugin_info_type(info, k)->name, t->name) == 0)
			return fail(err, errlen, AE_PLUGIN,
				    "plug-in type name %s is exported twice", t->name);
	if (!t->execute)
		return fail(err, errlen, AE_PLUGIN, "plug-in type %s has no execute function",
			    t->name);
	if (!description_valid(t->description))
		return fail(err, errlen, AE_PLUGIN,
			    "plug-in type %s has an invalid description: it must be UTF-8 of at "
			    "most %d bytes",
			    t->name, PLUGIN_DESCRIPTION_MAX);
	return 0;
}

int plugin_validate_info(const struct asyncd_plugin_info *info, char *err, size_t errlen)
{
	int r;

	r = validate_header(info, err, errlen);
	if (r == 0)
		r = validate_assembly(info, err, errlen);
	if (r == 0)
		r = validate_type_table(info, err, errlen);
	for (uint32_t i = 0; r == 0 && i < info->n_types; i++)
		r = validate_type(info, i, err, errlen);
	return r;
}

const struct asyncd_plugin_type *plugin_lib_type(const struct plugin_lib *lib,
						 const char *type_name)
{
	if (!lib || !type_name)
		return NULL;
	for (uint32_t i = 0; i < lib->info->n_types; i++) {
		const struct asyncd_plugin_type *t = plugin_info_type(lib->info, i);
		if (strcmp(t->name, type_name) == 0)
			return t;
	}
	return NULL;
}

/* dlopen() the file itself: a name without a slash would be searched for in the library path. */
static void *open_handle(const char *path, char *err, size_t errlen, int *ret_code)
{
	char buf[4096];
	struct stat st;
	void *h;

	if (stat(path, &st) < 0) {
		*ret_code = fail(err, errlen, errno == ENOENT ? AE_NOTFOUND : AE_IO,
				 "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!strchr(path, '/') && snprintf(buf, sizeof(buf), "./%s", path) < (int)sizeof(buf))
		path = buf;
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		*ret_code = fail(err, errlen, AE_PLUGIN, "not a loadable shared library: %s",
				 why ? why : path);
	}
	return h;
}

static const struct asyncd_plugin_info *call_entry(void *handle, char *err, size_t errlen,
						   int *ret_code)
{
	asyncd_plugin_entry_fn entry;
	const struct asyncd_plugin_info *info;
	void *sym;

	dlerror();
	sym = dlsym(handle, ASYNCD_PLUGIN_ENTRY_SYMBOL);
	if (!sym) {
		*ret_code = fail(err, errlen, AE_PLUGIN,
				 "the library does not export " ASYNCD_PLUGIN_ENTRY_SYMBOL
				 "(): define it with ASYNCD_EXPORT from asyncd/plugin.h");
		return NULL;
	}
	/* POSIX guarantees a data pointer from dlsym() converts to a function pointer. */
	memcpy(&entry, &sym, sizeof(entry));
	info = entry();
	*ret_code = plugin_validate_info(info, err, errlen);
	return *ret_code == 0 ? info : NULL;
}

int plugin_lib_open(const char *path, struct plugin_lib **ret, char *err, size_t errlen)
{
	const struct asyncd_plugin_info *info;
	struct plugin_lib *lib;
	void *handle;
	int r = 0;

	if (!path || !ret)
		return fail(err, errlen, AE_INVAL, "no library path given");
	handle = open_handle(path, err, errlen, &r);
	if (!handle)
		return r;
	info = call_entry(handle, err, errlen, &r);
	if (!info)
		goto fail_close;
	lib = malloc(sizeof(*lib));
	if (!lib) {
		r = fail(err, errlen, AE_NOMEM, "out of memory");
		goto fail_close;
	}
	lib->handle = handle;
	lib->info = info;
	*ret = lib;
	return 0;

fail_close:
	dlclose(handle);
	return r;
}

void plugin_lib_close(struct plugin_lib *lib)
{
	if (!lib)
		return;
	if (lib->handle)
		dlclose(lib->handle);
	free(lib);
}
