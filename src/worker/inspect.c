/* The worker's inspect mode (see inspect.h): the answer on the real stdout, constructors' output
 * on stderr, the library read from a descriptor opened before the isolation. */
#include "worker/inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugin/loader.h"
#include "worker/isolate.h"
#include "worker/memfd.h"

#define INSPECT_USER "nobody"
#define INSPECT_MEMORY_MB 1024
#define INSPECT_CPU_S 60

/* Keep the real stdout for the answer and point fd 1 at stderr, so that whatever a library prints
 * from its constructors cannot corrupt the answer. */
static FILE *reserve_stdout(void)
{
	int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	FILE *f;

	if (fd < 0)
		return NULL;
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || !(f = fdopen(fd, "w"))) {
		close(fd);
		return NULL;
	}
	return f;
}

static json_t *info_json(const struct asyncd_plugin_info *info)
{
	json_t *types = json_array();

	for (uint32_t i = 0; types && i < info->n_types; i++) {
		const struct asyncd_plugin_type *t = plugin_info_type(info, i);
		if (json_array_append_new(types, json_pack("{s:s, s:s?}", "name", t->name,
							   "description", t->description)) < 0) {
			json_decref(types);
			return NULL;
		}
	}
	if (!types)
		return NULL;
	return json_pack("{s:s, s:s, s:s?, s:o}", "name", info->name, "version", info->version,
			 "description", info->description, "types", types);
}

/* {"error": msg}; bytes that are not printable ASCII become '?' if msg is not valid UTF-8. */
static json_t *error_json(char *msg)
{
	json_t *s = json_string(msg);

	if (!s) {
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
		s = json_string(msg);
	}
	return s ? json_pack("{s:o}", "error", s) : NULL;
}

static int write_json(FILE *out, json_t *v)
{
	int r = v ? json_dumpf(v, out, JSON_COMPACT) : -1;

	json_decref(v);
	if (r == 0 && fputc('\n', out) == EOF)
		r = -1;
	if (fclose(out) != 0)
		r = -1;
	return r;
}

static int answer_error(FILE *out, char *msg)
{
	write_json(out, error_json(msg));
	return 1;
}

/* Name the file, not /proc/self/fd/N, in a loader message. */
static void name_file(char *err, size_t errlen, const char *fdpath, const char *path)
{
	char copy[1024];
	char *at = strstr(err, fdpath);
	if (!at)
		return;
	snprintf(copy, sizeof(copy), "%s", at + strlen(fdpath));
	snprintf(at, errlen - (size_t)(at - err), "%s%s", path, copy);
}

/* The isolation of a sandbox worker, with the default settings (the host passes none) and no
 * private directory: nothing to write anywhere. */
static int isolate(const struct inspect_opts *io, char *err, size_t errlen)
{
	struct isolate_opts o = {.memory_mb = INSPECT_MEMORY_MB,
				 .cpu_s = INSPECT_CPU_S,
				 .deny_network = true,
				 .hide = io->hide,
				 .no_landlock = io->no_landlock};
	struct isolate_result res;
	if (getpwnam(INSPECT_USER))
		o.user = INSPECT_USER;
	return isolate_apply(&o, &res, err, errlen);
}

/* stdin: {"configuration": text|null, "secure_configuration": text|null}, read before the
 * isolation closes it. */
static json_t *read_configs(void)
{
	json_error_t je;
	json_t *v = json_loadf(stdin, 0, &je);
	if (!json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static const struct asyncd_plugin_type *find_type(const struct asyncd_plugin_info *info,
						  const char *name)
{
	for (uint32_t i = 0; i < info->n_types; i++) {
		const struct asyncd_plugin_type *t = plugin_info_type(info, i);
		if (!strcmp(t->name, name))
			return t;
	}
	return NULL;
}

/* create() with the configurations, then destroy(): 0, or 1 with {"error"} answered. */
static int check_create(FILE *out, const struct plugin_lib *lib, const char *type, json_t *configs)
{
	char err[1024], perr[512] = "";
	const struct asyncd_plugin_type *t = find_type(lib->info, type);
	if (!t) {
		snprintf(err, sizeof(err), "the assembly has no type '%s'", type);
		return answer_error(out, err);
	}
	const char *config = json_string_value(json_object_get(configs, "configuration"));
	const char *secure = json_string_value(json_object_get(configs, "secure_configuration"));
	void *instance = NULL;
	if (t->create && t->create(config, secure, &instance, perr, sizeof(perr)) != 0) {
		perr[sizeof(perr) - 1] = 0;
		snprintf(err, sizeof(err), "%s.create() refused the configuration: %s", type,
			 perr[0] ? perr : "it gave no reason");
		return answer_error(out, err);
	}
	if (t->destroy && instance)
		t->destroy(instance);
	return write_json(out, json_pack("{s:b}", "ok", 1)) == 0 ? 0 : 1;
}

int worker_inspect(const char *path, const struct inspect_opts *io)
{
	char err[1024], fdpath[64];
	struct plugin_lib *lib = NULL;
	FILE *out = isolate_close_fds(-1) == 0 ? reserve_stdout() : NULL;

	if (!out) {
		perror("asyncd-worker: stdout");
		return 1;
	}
	json_t *configs = io->check_type ? read_configs() : NULL;
	if (io->check_type && !configs)
		return answer_error(out, (char[]){"the host passed no configurations"});
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, sizeof(err), "cannot open %s: %s", path, strerror(errno));
		return answer_error(out, err);
	}
	if (isolate(io, err, sizeof(err)) < 0) {
		fprintf(stderr, "asyncd-worker: %s\n", err);
		return 4;
	}
	int m = memfd_copy(fd, err, sizeof(err));
	close(fd);
	if (m < 0)
		return answer_error(out, err);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", m);
	if (plugin_lib_open(fdpath, &lib, err, sizeof(err)) < 0) {
		name_file(err, sizeof(err), fdpath, path);
		return answer_error(out, err);
	}
	int r = configs ? check_create(out, lib, io->check_type, configs)
		: write_json(out, info_json(lib->info)) == 0 ? 0
							     : 1;
	json_decref(configs);
	plugin_lib_close(lib);
	return r;
}
