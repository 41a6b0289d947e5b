/* asyncd-worker: the process that runs plug-in code so that the host never has to load an
 * untrusted library. Two modes: `--serve` (a sandbox worker driven by the host over a socket,
 * src/worker/serve.c) and `--inspect PATH` (validate a library at registration,
 * src/worker/inspect.c). Usage errors go to stderr with exit status 2. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "worker/inspect.h"
#include "worker/sanitizer.h"
#include "worker/serve.h"

#define EXIT_USAGE 2

#ifdef WORKER_ASAN
/* In sanitizer builds a plug-in that crashes must still end the worker with its signal, which
 * the host reports, rather than with ASan's exit status; the leak check at exit would need
 * ptrace, which the seccomp filter refuses; a refused allocation returns NULL as in glibc. */
const char *__asan_default_options(void) __attribute__((used));
const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:detect_leaks=0:"
	       "allocator_may_return_null=1";
}
#endif

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer builds (make test-tsan): likewise, a crashing plug-in ends the worker with its
 * signal, not with TSan's exit status. */
const char *__tsan_default_options(void) __attribute__((used));
const char *__tsan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0";
}
#endif

static int usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s --inspect PATH [--check TYPE] [--hide DIR] [--no-landlock]\n"
		"       %s --serve --fd N [--parent PID] [--user NAME] [--memory-mb N] "
		"[--cpu-s N] [--dir PRIVATE-DIR] [--network allow|deny] [--hide DIR] "
		"[--no-landlock]\n",
		argv0, argv0);
	return EXIT_USAGE;
}

/* A decimal number in [min, max], or -1. */
static long number(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s && !*end && v >= min && v <= max ? v : -1;
}

static int parse_serve(int argc, char **argv, struct serve_opts *o)
{
	static const struct option opts[] = {
	    {"serve", no_argument, NULL, 's'},
	    {"fd", required_argument, NULL, 'f'},
	    {"parent", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'u'},
	    {"memory-mb", required_argument, NULL, 'm'},
	    {"cpu-s", required_argument, NULL, 'c'},
	    {"dir", required_argument, NULL, 'd'},
	    {"network", required_argument, NULL, 'n'},
	    {"no-landlock", no_argument, NULL, 'L'},
	    {"hide", required_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	o->sock = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool numeric = c == 'f' || c == 'p' || c == 'm' || c == 'c';
		long v = optarg && numeric ? number(optarg, 0, 1L << 30) : 0;
		if (c == '?' || v < 0)
			return -1;
		if (c == 'f')
			o->sock = (int)v;
		else if (c == 'p')
			o->isolation.parent = (pid_t)v;
		else if (c == 'm')
			o->isolation.memory_mb = (int)v;
		else if (c == 'c')
			o->isolation.cpu_s = (int)v;
		else if (c == 'u')
			o->isolation.user = optarg;
		else if (c == 'd' && optarg[0] == '/')
			o->isolation.private_dir = optarg;
		else if (c == 'n' && (!strcmp(optarg, "allow") || !strcmp(optarg, "deny")))
			o->isolation.deny_network = !strcmp(optarg, "deny");
		else if (c == 'L')
			o->isolation.no_landlock = true;
		else if (c == 'H' && optarg[0] == '/')
			o->isolation.hide = optarg;
		else if (c == 'd' || c == 'n' || c == 'H')
			return -1;
	}
	return optind == argc && o->sock >= 3 ? 0 : -1;
}

/* --inspect PATH, then [--check TYPE] [--hide DIR] [--no-landlock]. */
static int parse_inspect(int argc, char **argv, struct inspect_opts *o)
{
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--no-landlock"))
			o->no_landlock = true;
		else if (!strcmp(argv[i], "--hide") && i + 1 < argc && argv[i + 1][0] == '/')
			o->hide = argv[++i];
		else if (!strcmp(argv[i], "--check") && i + 1 < argc)
			o->check_type = argv[++i];
		else
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *argv0 = argc > 0 ? argv[0] : "asyncd-worker";
	struct serve_opts o = {0};

	umask(077); /* whatever a plug-in creates is not for other users (the host sets it too) */
	if (argc >= 3 && strcmp(argv[1], "--inspect") == 0) {
		struct inspect_opts io = {0};
		if (parse_inspect(argc, argv, &io) < 0)
			return usage(argv0);
		return worker_inspect(argv[2], &io);
	}
	if (argc >= 2 && strcmp(argv[1], "--serve") == 0) {
		if (parse_serve(argc, argv, &o) < 0)
			return usage(argv0);
		return worker_serve(&o);
	}
	return usage(argv0);
}
