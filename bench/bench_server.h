/* One asyncd under test: a private state directory, the real binary started on 127.0.0.1 with
 * port 0, stopped with SIGTERM (SIGKILL after a bound). Every started server is remembered so that
 * server_kill_all() (from a signal handler or at exit) leaves nothing running. */
#ifndef BENCH_SERVER_H
#define BENCH_SERVER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

struct server {
	pid_t pid;	    /* 0 when not running */
	char bin[PATH_MAX]; /* the asyncd executable */
	char dir[PATH_MAX]; /* state directory (made by server_make_dir) */
	char url[256];	    /* "http://127.0.0.1:PORT" once started */
	char token[256];    /* the admin token */
	char store[512];    /* --store URL, or "" (SQLite in dir); set after server_make_dir */
	char host_id[32];   /* --host-id, or "" */
};

/* Make a fresh state directory under tmpdir (NULL: $TMPDIR or /tmp). Returns 0 or -1. */
int server_make_dir(struct server *s, const char *bin, const char *tmpdir);
/* Start asyncd in s->dir and wait (at most timeout_s) until it answers /healthz. 0 or -1. */
int server_start(struct server *s, double timeout_s);
/* SIGTERM, wait at most timeout_s, then SIGKILL. Returns 0 when it exited by itself with 0. */
int server_stop(struct server *s, double timeout_s);
/* Stop (if running) and remove the state directory, unless keep. */
void server_destroy(struct server *s, int keep);
/* "VmRSS" or "VmHWM" of the running server in KiB, or -1. */
long server_mem_kb(const struct server *s, const char *field);
/* fork(); the child dies with this process (PR_SET_PDEATHSIG, or at once when this process is
 * already gone). Returns what fork() returns. */
pid_t bench_fork_child(void);
/* SIGKILL every server still running (async-signal-safe). */
void server_kill_all(void);

#endif
