/* The worker's library table (see libs.h): a short list, searched linearly, used by the
 * executor thread only. */
#include "worker/libs.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "plugin/loader.h"
#include "worker/memfd.h"

struct winst {
	char *type;
	int64_t step_id;
	char *config, *secure;
	const struct asyncd_plugin_type *t;
	void *ptr;
	struct winst *next;
};

struct wlib {
	char sha256[65];
	int fd;	   /* from LOAD, until loaded */
	int memfd; /* the copy the library was loaded from, open while it is loaded */
	struct plugin_lib *lib;
	char error[512]; /* why it could not be loaded */
	struct winst *instances;
	struct wlib *next;
};

static struct wlib *libs;

static struct wlib *find(const char *sha256)
{
	for (struct wlib *l = libs; l; l = l->next)
		if (!strcmp(l->sha256, sha256))
			return l;
	return NULL;
}

void libs_add(const char *sha256, int fd)
{
	struct wlib *l = find(sha256);
	if (l && l->fd < 0 && !l->lib) {
		l->fd = fd; /* a retry after a failed load */
		l->error[0] = 0;
		return;
	}
	if (l || !(l = calloc(1, sizeof(*l)))) {
		close(fd);
		return;
	}
	snprintf(l->sha256, sizeof(l->sha256), "%s", sha256);
	l->fd = fd;
	l->memfd = -1;
	l->next = libs;
	libs = l;
}

static void instance_free(struct winst *i)
{
	if (i->t && i->t->destroy)
		i->t->destroy(i->ptr);
	free(i->type);
	free(i->config);
	free(i->secure);
	free(i);
}

/* glibc finds an already loaded object by the name it was opened with, /proc/self/fd/N: a
 * memfd's number may only be reused once its library is really gone. One that stays (marked
 * NODELETE, or holding thread-local destructors) keeps its memfd for good. */
static void close_memfd(int memfd)
{
	char path[64];
	if (memfd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	void *still = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
	if (still)
		dlclose(still);
	else
		close(memfd);
}

void libs_unload(const char *sha256)
{
	for (struct wlib **pp = &libs; *pp; pp = &(*pp)->next) {
		struct wlib *l = *pp;
		if (strcmp(l->sha256, sha256))
			continue;
		*pp = l->next;
		while (l->instances) {
			struct winst *i = l->instances;
			l->instances = i->next;
			instance_free(i);
		}
		plugin_lib_close(l->lib);
		if (l->fd >= 0)
			close(l->fd);
		close_memfd(l->memfd);
		free(l);
		return;
	}
}

int libs_loaded(void)
{
	int n = 0;
	for (struct wlib *l = libs; l; l = l->next)
		n += l->lib != NULL;
	return n;
}

/* Load l from its descriptor once (through a memfd, see memfd.h); the descriptor is closed
 * either way. */
static int load(struct wlib *l)
{
	char path[64];
	if (l->lib)
		return 0;
	if (l->fd < 0) {
		if (!l->error[0])
			snprintf(l->error, sizeof(l->error), "the host passed no library");
		return AE_PLUGIN;
	}
	int m = memfd_copy(l->fd, l->error, sizeof(l->error));
	close(l->fd);
	l->fd = -1;
	if (m < 0)
		return AE_IO;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	int rc = plugin_lib_open(path, &l->lib, l->error, sizeof(l->error));
	if (rc == 0)
		l->memfd = m;
	else
		close_memfd(m);
	return rc;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static struct winst *instance_find(struct wlib *l, const char *type, int64_t step_id)
{
	for (struct winst *i = l->instances; i; i = i->next)
		if (i->step_id == step_id && !strcmp(i->type, type))
			return i;
	return NULL;
}

static void instance_drop(struct wlib *l, struct winst *gone)
{
	for (struct winst **pp = &l->instances; *pp; pp = &(*pp)->next)
		if (*pp == gone) {
			*pp = gone->next;
			instance_free(gone);
			return;
		}
}

static int instance_make(struct wlib *l, const struct asyncd_plugin_type *t, const char *type,
			 int64_t step_id, const char *config, const char *secure,
			 struct winst **ret, char *err, size_t errlen)
{
	char perr[256] = "";
	struct winst *i = calloc(1, sizeof(*i));
	if (!i || !(i->type = strdup(type)) || (config && !(i->config = strdup(config))) ||
	    (secure && !(i->secure = strdup(secure)))) {
		if (i)
			instance_free(i);
		snprintf(err, errlen, "out of memory");
		return AE_NOMEM;
	}
	if (t->create && t->create(config, secure, &i->ptr, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "%s.create failed: %s", type, perr[0] ? perr : "no reason");
		instance_free(i);
		return AE_INVAL;
	}
	i->t = t;
	i->step_id = step_id;
	i->next = l->instances;
	l->instances = i;
	*ret = i;
	return 0;
}

int libs_instance(const char *sha256, const char *type, int64_t step_id, const char *config,
		  const char *secure_config, const struct asyncd_plugin_type **ret_type,
		  void **ret_instance, const char **ret_code, char *err, size_t errlen)
{
	struct wlib *l = find(sha256);
	const struct asyncd_plugin_type *t;
	if (!l || load(l) < 0) {
		snprintf(err, errlen, "assembly %s could not be loaded: %s", sha256,
			 l ? l->error : "the host passed no library");
		*ret_code = "plugin_load_failed";
		return AE_PLUGIN;
	}
	if (!(t = plugin_lib_type(l->lib, type))) {
		snprintf(err, errlen, "assembly %s %s exports no type %s", l->lib->info->name,
			 l->lib->info->version, type);
		*ret_code = "type_missing";
		return AE_NOTFOUND;
	}
	struct winst *i = instance_find(l, type, step_id);
	if (i && (!same(i->config, config) || !same(i->secure, secure_config))) {
		instance_drop(l, i);
		i = NULL;
	}
	int rc = i ? 0 : instance_make(l, t, type, step_id, config, secure_config, &i, err, errlen);
	if (rc < 0) {
		*ret_code = "plugin_create_failed";
		return rc;
	}
	*ret_type = i->t;
	*ret_instance = i->ptr;
	return 0;
}
