/* The supervisor's periodic checks (see sandbox_int.h), every SB_TICK_MS: a job over
 * sandbox.timeout, an aborted run past its grace, a worker silent past its ping, over its memory
 * (where RLIMIT_AS cannot apply), or started with settings that changed since; the number of
 * workers against sandbox.workers; jobs waiting behind a slow one; libraries no assembly uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sandbox/sandbox_int.h"
#include "plugin/registry.h"

#define UNLOAD_EVERY_MS 1000
#define QUIT_GRACE_MS 2000

void sb_watch_settings(struct sandbox *sb)
{
	settings_current(&sb->cfg);
	snprintf(sb->key, sizeof(sb->key), "%s|%d|%lld|%s", sb->cfg.sandbox_user,
		 sb->cfg.sandbox_memory_limit_mb, (long long)sb->cfg.sandbox_timeout_ms,
		 sb->cfg.sandbox_network);
}

int sb_watch_timeout(struct sandbox *sb, int64_t now)
{
	int64_t left = sb->next_tick - now;
	return left < 0 ? 0 : left > SB_TICK_MS ? SB_TICK_MS : (int)left;
}

static void retire(struct sb_worker *w, int64_t now)
{
	if (w->state == SB_READY)
		w->state = SB_RETIRING;
	if (w->inflight.n == 0 && !w->quit_sent) {
		sbw_send_small(w, IPC_QUIT, 0);
		w->quit_sent = true;
		w->quit_sent_at = now;
	}
}

/* Take back what waits behind a slow job, for workers that are free. */
static void recall_behind(struct sb_worker *w)
{
	for (struct sb_run *r = w->inflight.head->next; r; r = r->next)
		if (!r->recalling && !r->aborted) {
			r->recalling = true;
			sbw_send_small(w, IPC_RECALL, (uint64_t)r->job_id);
		}
}

/* Whether a run queued behind the head was resolved before the registry changed. */
static bool stale_behind(const struct sb_worker *w)
{
	for (const struct sb_run *r = w->inflight.head->next; r; r = r->next)
		if (!r->recalling && sb_run_stale(r))
			return true;
	return false;
}

static bool over_memory(const struct sandbox *sb, const struct sb_worker *w)
{
	if (w->flags & IPC_ISOLATE_AS_LIMIT || !w->inflight.n)
		return false;
	uint64_t limit = (uint64_t)sb->cfg.sandbox_memory_limit_mb << 20;
	return sbw_rss(w->pid) > w->rss_base + limit;
}

static void check_ping(struct sandbox *sb, struct sb_worker *w, int64_t now)
{
	static uint64_t seq;
	if (w->ping_seq && now - w->ping_sent_at > sb->ping_timeout_ms) {
		sbw_kill(w, SB_KILL_UNRESPONSIVE);
	} else if (!w->ping_seq && now - w->heard_at >= sb->ping_every_ms) {
		w->ping_seq = ++seq;
		w->ping_sent_at = now;
		sbw_send_small(w, IPC_PING, w->ping_seq);
	}
}

static void check_head(struct sandbox *sb, struct sb_worker *w, int64_t now)
{
	struct sb_run *head = w->inflight.head;
	if (!head)
		return;
	if (now - w->head_since > sb->cfg.sandbox_timeout_ms)
		sbw_kill(w, SB_KILL_TIMEOUT);
	else if (head->aborted && now >= head->abort_deadline)
		sbw_kill(w, SB_KILL_ABORT);
	else if (w->inflight.n > 1 && (now - w->head_since > SB_RECALL_MS || stale_behind(w)))
		recall_behind(w);
}

static void check_worker(struct sandbox *sb, struct sb_worker *w, int64_t now)
{
	if (w->killed != SB_ALIVE)
		return;
	if (w->state == SB_STARTING) {
		if (now - w->spawned_at > SB_PING_TIMEOUT_MS)
			sbw_kill(w, SB_KILL_UNRESPONSIVE);
		return;
	}
	if ((!w->sock_open || w->out_broken) && now - w->eof_at > SB_EOF_GRACE_MS)
		sbw_kill(w, SB_KILL_PROTOCOL);
	else if (w->quit_sent && now - w->quit_sent_at > QUIT_GRACE_MS)
		sbw_kill(w, SB_KILL_STOP);
	else if (over_memory(sb, w))
		sbw_kill(w, SB_KILL_MEMORY);
	else {
		check_head(sb, w, now);
		check_ping(sb, w, now);
		if (strcmp(w->spawn_key, sb->key))
			retire(w, now);
	}
}

/* Spawn up to sandbox.workers, retire the ones past it. */
static void keep_count(struct sandbox *sb, int64_t now)
{
	int active = 0;
	for (int i = 0; i < SB_MAX_WORKERS; i++)
		if (sb->slots[i] && sb->slots[i]->state != SB_RETIRING)
			active++;
	for (int i = SB_MAX_WORKERS - 1; i >= 0 && active > sb->cfg.sandbox_workers; i--)
		if (sb->slots[i] && sb->slots[i]->state != SB_RETIRING) {
			retire(sb->slots[i], now);
			active--;
		}
	for (int i = 0; i < SB_MAX_WORKERS && active < sb->cfg.sandbox_workers; i++) {
		if (sb->slots[i] || now < sb->start_after || sb->quitting)
			continue;
		if (sbw_spawn(sb, i, sb->key) < 0) {
			sb->start_failures++;
			sb->start_after = now + SB_START_BACKOFF_MAX_MS;
			log_warn("sandbox", "%s", sb->stats.last_error);
			return;
		}
		active++;
	}
}

static bool current_lib(const struct registry_snap *snap, const char *sha256)
{
	for (size_t i = 0; snap && i < snap->n_assemblies; i++)
		if (!strcmp(snap->assemblies[i].sha256, sha256))
			return true;
	return false;
}

static bool lib_in_use(const struct sb_worker *w, const char *sha256)
{
	for (const struct sb_run *r = w->inflight.head; r; r = r->next)
		if (!strcmp(r->sha256, sha256))
			return true;
	return false;
}

/* UNLOAD what no registered assembly uses any more and no job on that worker needs. */
static void unload_old(struct sandbox *sb)
{
	struct registry_snap *snap = registry_get();
	for (int i = 0; i < SB_MAX_WORKERS; i++) {
		struct sb_worker *w = sb->slots[i];
		for (int k = 0; w && k < w->n_loaded; k++) {
			if (current_lib(snap, w->loaded[k]) || lib_in_use(w, w->loaded[k]))
				continue;
			ipc_frame_begin(&w->out, IPC_UNLOAD, 0);
			ipc_put_str(&w->out, IPC_T_SHA256, w->loaded[k]);
			if (ipc_frame_end(&w->out) == 0)
				sbw_forget_lib(w, k--);
		}
	}
	if (snap)
		registry_put(snap);
}

void sb_watch_respawn(struct sandbox *sb, int64_t now)
{
	if (!sb->respawn)
		return;
	sb->respawn = false;
	keep_count(sb, now);
}

void sb_watch_recall_stale(struct sandbox *sb)
{
	uint64_t gen = registry_generation();
	if (gen == sb->seen_gen)
		return;
	sb->seen_gen = gen;
	for (int i = 0; i < SB_MAX_WORKERS; i++) {
		struct sb_worker *w = sb->slots[i];
		if (w && w->killed == SB_ALIVE && w->inflight.n > 1 && stale_behind(w))
			recall_behind(w);
	}
}

void sb_watch_tick(struct sandbox *sb, int64_t now)
{
	if (now < sb->next_tick)
		return;
	sb->next_tick = now + SB_TICK_MS;
	sb_watch_settings(sb);
	for (int i = 0; i < SB_MAX_WORKERS; i++)
		if (sb->slots[i] && !sbw_check_exit(sb, sb->slots[i]))
			check_worker(sb, sb->slots[i], now);
	keep_count(sb, now);
	if (now >= sb->next_slow_tick) {
		sb->next_slow_tick = now + UNLOAD_EVERY_MS;
		unload_old(sb);
	}
}
