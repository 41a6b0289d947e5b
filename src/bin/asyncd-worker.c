/* asyncd-worker: the process that loads plug-in libraries so that the host never has to load an
 * untrusted one. For now one mode, `--inspect PATH`: load the library, check its ABI and print what
 * it declares as one JSON object on stdout (exit 0), or {"error": "..."} (exit 1). Usage errors go
 * to stderr with exit 2. The host side of this is src/plugin/inspect.c. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "plugin/loader.h"

#define EXIT_USAGE 2

#if defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define WORKER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define WORKER_ASAN 1
#endif

#ifdef WORKER_ASAN
/* In sanitizer builds a library that crashes must still end the worker with its signal, which the
 * host reports, rather than with ASan's exit status. */
const char *__asan_default_options(void) __attribute__((used));
const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0";
}
#endif

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

/* Load the library at path and describe it on out. Returns the process's exit status. */
static int inspect(const char *path, FILE *out)
{
	char err[1024];
	struct plugin_lib *lib = NULL;
	int r;

	r = plugin_lib_open(path, &lib, err, sizeof(err));
	if (r < 0) {
		write_json(out, error_json(err));
		return 1;
	}
	r = write_json(out, info_json(lib->info));
	plugin_lib_close(lib);
	return r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct rlimit no_core = {0, 0};
	FILE *out;

	if (argc != 3 || strcmp(argv[1], "--inspect") != 0) {
		fprintf(stderr, "usage: %s --inspect PATH\n", argc > 0 ? argv[0] : "asyncd-worker");
		return EXIT_USAGE;
	}
	setrlimit(RLIMIT_CORE, &no_core);
	out = reserve_stdout();
	if (!out) {
		perror("asyncd-worker: stdout");
		return 1;
	}
	return inspect(argv[2], out);
}
