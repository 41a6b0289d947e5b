/* Internals of the sandbox supervisor shared by sandbox.c (API, thread, dispatch),
 * sandbox_worker.c (one worker process: spawn, frames, death) and sandbox_watch.c (deadlines,
 * pings, memory, settings, unloading). Everything but the fields marked "lock" belongs to the
 * supervisor thread. */
#ifndef ASYNCD_SANDBOX_INT_H
#define ASYNCD_SANDBOX_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/settings.h"
#include "sandbox/ipc.h"
#include "sandbox/sandbox.h"

#define SB_MAX_WORKERS 256
#define SB_PIPELINE SANDBOX_PIPELINE
#define SB_SLOW_MS 100		 /* a head job older than this: queue nothing more behind it */
#define SB_RECALL_MS 250	 /* ...and take back what waits behind it */
#define SB_PING_EVERY_MS 10000	 /* a ping when a worker has been silent this long */
#define SB_PING_TIMEOUT_MS 30000 /* no answer to a ping within this: killed */
#define SB_TICK_MS 100		 /* deadlines, memory and settings are checked this often */
#define SB_EOF_GRACE_MS 500	 /* a worker that closed its socket but lives is killed then */
#define SB_START_BACKOFF_MAX_MS 5000
#define SB_START_FAILURES_FATAL 5 /* consecutive start failures before pending jobs fail */

enum sb_kill {
	SB_ALIVE,
	SB_KILL_TIMEOUT,
	SB_KILL_MEMORY,
	SB_KILL_UNRESPONSIVE,
	SB_KILL_ABORT,
	SB_KILL_PROTOCOL,
	SB_KILL_STOP,
	SB_KILL_CRASH, /* not a kill of ours: it died (metrics only) */
};

enum sb_state { SB_STARTING, SB_READY, SB_RETIRING };

struct sb_run {
	int64_t job_id, attempt;
	char sha256[65];
	char *lib_path;
	uint64_t gen;	/* the registry generation it was resolved under */
	uint8_t *frame; /* the encoded JOB frame */
	size_t len;
	sandbox_done_fn done;
	void *arg;
	bool recalling;		/* RECALL sent */
	bool started;		/* the start hook was told */
	bool aborted;		/* the engine asked it to end */
	int64_t abort_deadline; /* monotonic ms: kill its worker if it still runs then */
	struct sb_run *next;
};

struct sb_list {
	struct sb_run *head, *tail;
	int n;
};

struct sb_watch {
	int kind; /* 0 socket, 1 pidfd */
	struct sb_worker *w;
};

struct sb_worker {
	pid_t pid;
	int pidfd, sock;
	struct sb_watch sock_watch, pid_watch;
	bool sock_open, want_out, quit_sent;
	bool out_broken; /* sending failed: nothing more is sent, what it sent is still read */
	bool dead; /* reaped; freed at the end of the loop's turn (events may still name it) */
	struct sb_worker *next_dead;
	enum sb_state state;
	enum sb_kill killed;
	int64_t kill_job, kill_attempt; /* the run that was running when we killed it */
	struct ipc_rbuf in;
	struct ipc_wbuf out;
	struct sb_list inflight; /* sent, no answer yet; the head is the one running */
	int64_t head_since;	 /* monotonic ms: when the head started */
	int64_t spawned_at, eof_at, heard_at, ping_sent_at, quit_sent_at;
	uint64_t ping_seq; /* outstanding ping, 0: none */
	char **loaded;	   /* sha256 of the libraries passed with LOAD */
	int n_loaded;
	int flags; /* from HELLO (worker/isolate.h ISOLATE_*) */
	long uid;
	uint64_t rss_base; /* bytes resident at HELLO */
	char spawn_key[128];
	unsigned long long jobs;
	char fatal[256];
	int landlock_abi; /* from HELLO */
	char dir[256];	  /* its private directory, removed when it is freed; "" none */
};

struct sb_stats {
	unsigned long long spawned, restarts, crashes, timeouts, memory_kills, unresponsive_kills,
	    jobs_done;
	char last_error[256];
};

struct sandbox {
	pthread_mutex_t lock;
	pthread_cond_t stopped;
	/* lock: */
	bool running, stopping, thread_done, wake_pending;
	int64_t stop_deadline;
	struct sb_list incoming;
	struct sb_abort *aborts;
	struct sb_stats shown; /* a copy of stats for describe() */
	json_t *workers_json;  /* per-worker view for describe() */
	char network_shown[8]; /* sandbox.network as the workers were told */
	int n_target, n_ready, n_busy, n_inflight, n_pending, n_libs, flags, landlock_abi;
	/* supervisor thread: */
	pthread_t thread;
	int epfd, efd;
	char worker_path[4096];
	char hide[4096]; /* the state directory, canonical ("" none): --hide for the workers */
	struct settings cfg;
	struct sb_worker *slots[SB_MAX_WORKERS];
	struct sb_list pending;
	struct sb_worker *graveyard; /* reaped workers, freed after the turn's events */
	struct sb_abort *unmatched;  /* aborts that found no run yet */
	struct sb_stats stats;
	int start_failures;
	bool respawn;	     /* a worker died: replace it without waiting for the tick */
	bool quitting;	     /* the stop is killing the workers: spawn no more */
	int64_t start_after; /* monotonic ms: no spawn before */
	int64_t next_tick, next_slow_tick, next_publish;
	uint64_t seen_gen; /* the registry generation the workers' queues were last checked at */
	int64_t ping_every_ms, ping_timeout_ms; /* SB_PING_*, or shorter for tests */
	char key[128];				/* spawn key of the current settings */
	bool no_landlock; /* ASYNCD_SANDBOX_NO_LANDLOCK: workers act as on a kernel without it */
	int logged_flags; /* the protections last written to the log, -1: none yet */
};

struct sb_abort {
	int64_t job_id, attempt, grace_ms;
	struct sb_abort *next;
};

/* sandbox.c */
void sb_list_push(struct sb_list *l, struct sb_run *r);
void sb_list_push_front(struct sb_list *l, struct sb_run *r);
struct sb_run *sb_list_pop(struct sb_list *l);
bool sb_list_remove(struct sb_list *l, struct sb_run *r);
/* Reply to r and free it (never with the lock held). */
void sb_complete(struct sb_run *r, const struct ipc_result *reply);
/* Reply with a host-made transient failure. */
void sb_fail(struct sb_run *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Put innocent runs back at the front of the pending queue, in order (those that were aborted
 * get their reply); l is emptied. A death always blames one run, its head, so innocent runs
 * cannot go round for ever. */
void sb_requeue_all(struct sandbox *sb, struct sb_list *l);
/* When the registry changed since the last look: recall the runs queued behind running ones that
 * were resolved before the change (the supervisor's thread, each turn of its loop). */
void sb_watch_recall_stale(struct sandbox *sb);
/* w's head (if any) has started: tell the start hook once. */
void sb_head_started(struct sb_worker *w);
/* Whether r was resolved under an older registry generation (it must not start as it is). */
bool sb_run_stale(const struct sb_run *r);
/* Remember why workers fail to start or break (shown by describe()). */
void sb_set_error(struct sandbox *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write the protections w reports to the log when they differ from the last written. */
void sb_log_walls(struct sandbox *sb, const struct sb_worker *w);

/* sandbox_worker.c */
int sbw_spawn(struct sandbox *sb, int slot, const char *key);
/* Handle an epoll event of w's socket or pidfd. */
void sbw_event(struct sandbox *sb, struct sb_watch *watch, uint32_t events);
void sbw_kill(struct sb_worker *w, enum sb_kill why);
/* Send what w has queued; false when w broke. */
void sbw_flush(struct sandbox *sb, struct sb_worker *w);
/* Queue run r on w (a LOAD first when w does not have its library). */
int sbw_send_job(struct sb_worker *w, struct sb_run *r, int64_t now);
void sbw_send_small(struct sb_worker *w, enum ipc_type type, uint64_t id);
bool sbw_has_lib(const struct sb_worker *w, const char *sha256);
/* Bytes resident of process pid (/proc/PID/statm), 0 when unknown. */
uint64_t sbw_rss(pid_t pid);
void sbw_forget_lib(struct sb_worker *w, int i);
/* If w has exited: reap it and release everything (its runs get their replies); true then. */
bool sbw_check_exit(struct sandbox *sb, struct sb_worker *w);
void sbw_reap(struct sandbox *sb, struct sb_worker *w, int status);
void sbw_free(struct sandbox *sb, struct sb_worker *w);
/* Free the workers reaped during this turn of the loop. */
void sbw_bury(struct sandbox *sb);

/* sandbox_dir.c */
/* Make a worker's private directory (0700, owned by the user it will run as) into dir; 0, or an
 * AE_* code with the reason in sb's last error. */
int sb_dir_make(struct sandbox *sb, char *dir, size_t n);
/* Remove it and everything in it ("" is none). */
void sb_dir_remove(const char *dir);
/* Remove the private directories that hosts no longer running left (killed, crashed). */
void sb_dir_sweep(struct sandbox *sb);

/* sandbox_watch.c */
void sb_watch_tick(struct sandbox *sb, int64_t now);
void sb_watch_settings(struct sandbox *sb);
/* Replace dead workers now rather than at the next tick. */
void sb_watch_respawn(struct sandbox *sb, int64_t now);
/* Milliseconds until the next deadline (at most SB_TICK_MS). */
int sb_watch_timeout(struct sandbox *sb, int64_t now);

#endif
