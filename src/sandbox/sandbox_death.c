/* What a sandbox worker's death means (see sandbox_int.h): the job it was running (the head of
 * its queue: it runs them in order) gets the reason as a transient failure with a stable code;
 * the jobs queued behind it never started and go back to the pending queue; a worker that dies
 * before it said HELLO is a start failure, retried with a growing delay. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "sandbox/sandbox_int.h"

static void describe_status(int status, char *buf, size_t n)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *abbrev = sigabbrev_np(sig);
		const char *why = sig == SIGKILL   ? " (the system's out-of-memory killer?)"
				  : sig == SIGXCPU ? " (over its CPU time limit)"
						   : "";
		snprintf(buf, n, "was killed by SIG%s (%s)%s", abbrev ? abbrev : "?",
			 strsignal(sig), why);
	} else {
		snprintf(buf, n, "exited with status %d (did the plug-in call exit()?)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
}

/* The reply of the job the worker was running when it died. */
static void fail_head(struct sandbox *sb, struct sb_worker *w, struct sb_run *r, int status)
{
	char what[256];
	double timeout_s = (double)sb->cfg.sandbox_timeout_ms / 1000.0;
	if (r->aborted) {
		sb_fail(r, "sandbox_unavailable",
			"interrupted: its worker was killed because the run did not stop in time");
		return;
	}
	switch (w->killed) {
	case SB_KILL_TIMEOUT:
		sb->stats.timeouts++;
		sb_fail(r, "timeout",
			"it ran longer than sandbox.timeout (%.1f s): its worker was killed",
			timeout_s);
		return;
	case SB_KILL_MEMORY:
		sb->stats.memory_kills++;
		sb_fail(r, "out_of_memory",
			"its worker went over sandbox.memory_limit_mb (%d MiB) and was killed",
			sb->cfg.sandbox_memory_limit_mb);
		return;
	case SB_KILL_UNRESPONSIVE:
		sb->stats.unresponsive_kills++;
		sb_fail(r, "worker_unresponsive",
			"its worker did not answer a ping within %.1f s and was killed",
			(double)sb->ping_timeout_ms / 1000.0);
		return;
	case SB_KILL_STOP:
		sb_fail(r, "sandbox_unavailable", "the sandbox service stopped while it ran");
		return;
	case SB_KILL_PROTOCOL:
		sb->stats.crashes++;
		sb_fail(r, "worker_crashed",
			"its worker broke the IPC protocol (a plug-in writing to the host's "
			"socket?) and was killed");
		return;
	default:
		sb->stats.crashes++;
		describe_status(status, what, sizeof(what));
		sb_fail(r, "worker_crashed", "the worker process running it %s", what);
	}
}

static void start_failed(struct sandbox *sb, struct sb_worker *w, int status)
{
	char what[256];
	int64_t delay = 100;
	describe_status(status, what, sizeof(what));
	if (w->fatal[0])
		sb_set_error(sb, "%s", w->fatal);
	else
		sb_set_error(sb, "the worker %s before it was ready", what);
	sb->start_failures++;
	for (int i = 1; i < sb->start_failures && delay < SB_START_BACKOFF_MAX_MS; i++)
		delay *= 2;
	sb->start_after =
	    clock_mono_ms() + (delay < SB_START_BACKOFF_MAX_MS ? delay : SB_START_BACKOFF_MAX_MS);
	log_warn("sandbox", "a worker could not start: %s", sb->stats.last_error);
}

static int slot_of(const struct sandbox *sb, const struct sb_worker *w)
{
	for (int i = 0; i < SB_MAX_WORKERS; i++)
		if (sb->slots[i] == w)
			return i;
	return -1;
}

void sbw_reap(struct sandbox *sb, struct sb_worker *w, int status)
{
	int slot = slot_of(sb, w);
	if (slot >= 0)
		sb->slots[slot] = NULL;
	sb->respawn = true;
	bool expected = w->quit_sent || w->killed == SB_KILL_STOP;
	if (w->state == SB_STARTING && w->killed != SB_KILL_STOP)
		start_failed(sb, w, status);
	else if (!expected)
		sb->stats.restarts++;
	if (!expected && w->killed == SB_ALIVE) /* died without our kill: counted as a crash */
		metrics_inc(&asyncd_metrics.sb_killed[SB_KILL_CRASH], 1);
	struct sb_run *head = w->inflight.head;
	/* a kill of ours names the run that was running then: one that came after is innocent */
	bool innocent = head && w->killed != SB_ALIVE && w->killed != SB_KILL_PROTOCOL &&
			w->killed != SB_KILL_STOP &&
			(head->job_id != w->kill_job || head->attempt != w->kill_attempt);
	if (head && !innocent)
		fail_head(sb, w, sb_list_pop(&w->inflight), status);
	sb_requeue_all(sb, &w->inflight);
	w->dead = true;
	w->next_dead = sb->graveyard;
	sb->graveyard = w;
}

void sbw_bury(struct sandbox *sb)
{
	while (sb->graveyard) {
		struct sb_worker *w = sb->graveyard;
		sb->graveyard = w->next_dead;
		sbw_free(sb, w);
	}
}
