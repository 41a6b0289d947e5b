/* The worker's inspect mode (`asyncd-worker --inspect PATH`), used at registration by
 * src/plugin/inspect.c: open the file, isolate this throwaway process like a sandbox worker
 * (sandbox user, rlimits, no new privileges, Landlock with nowhere to write, seccomp, no
 * network), load the library from the open descriptor
 * and print what it declares as one JSON object on stdout (exit 0), or {"error": "..."} (exit 1).
 */
#ifndef ASYNCD_WORKER_INSPECT_H
#define ASYNCD_WORKER_INSPECT_H

#include <stdbool.h>

struct inspect_opts {
	const char *hide;	/* the host's state directory (canonical), NULL: none */
	bool no_landlock;	/* as on a kernel without Landlock (tests) */
	const char *check_type; /* --check TYPE: create() and destroy() it with the configurations
				 * read from stdin as {"configuration","secure_configuration"} */
};

/* Returns the process's exit status. */
int worker_inspect(const char *path, const struct inspect_opts *o);

#endif
