/* Start-up, the wait for a signal, and the clean stop of one host (see host.h). */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/auth.h"
#include "api/server.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "exec/inflight.h"
#include "exec/writer.h"
#include "host/drain.h"
#include "host/host.h"
#include "host/liveness.h"
#include "host/notify.h"
#include "host/peers.h"
#include "host/recover.h"
#include "host/services.h"
#include "host/statedir.h"
#include "host/tls.h"
#include "plugin/inspect.h"
#include "plugin/libcache.h"
#include "plugin/lifecycle.h"
#include "plugin/registry.h"
#include "store/store.h"

#define READERS 8
#define AUTH_READERS 4 /* one per HTTP I/O thread of both servers, usually */

struct host {
	char store_url[4200];
	char worker[4096];
	char host_id[256];
	char listen_host[64];
	char api_listen[128]; /* host:port the API listens on */
	struct store *reader; /* start-up reads */
	struct writer *w;
	struct engine *engine;
	struct server *server;
	struct server *local; /* the Unix socket STATE/asyncd.sock */
	struct api_ctx api;
	struct host_services services;
	bool services_ready;
	struct liveness live; /* the watchdog's probes */
	struct tls_pair tls;  /* the API's certificate and key (empty: plain HTTP) */
	const char *scheme;   /* "https" with tls, else "http" */
	int lock_fd;	      /* STATE/asyncd.lock, held for the life of the process */
};

/* Private to this user, and ours alone: before the store is opened. */
static int claim_state_dir(const char *dir, struct host *h)
{
	char err[8192];
	int rc = statedir_check(dir, err, sizeof(err));
	if (rc == 0)
		rc = statedir_lock(dir, &h->lock_fd, err, sizeof(err));
	if (rc < 0)
		log_error("host", "%s", err);
	return rc;
}

static int prepare_state_dir(const char *dir)
{
	char cache[4200];
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	if (mkdir(cache, 0700) < 0 && errno != EEXIST)
		return AE_IO;
	snprintf(cache, sizeof(cache), "%s/cache/assemblies", dir);
	if (libcache_init(cache) < 0) {
		log_error("host", "cannot prepare the assembly cache %s", cache);
		return AE_IO;
	}
	return 0;
}

static void find_worker(const struct host_options *o, struct host *h)
{
	char exe[4096], *dir;
	const char *env = getenv("ASYNCD_WORKER");
	if (o->worker || env) {
		snprintf(h->worker, sizeof(h->worker), "%s", o->worker ? o->worker : env);
		return;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	dir = dirname(exe);
	snprintf(h->worker, sizeof(h->worker), "%s/asyncd-worker", dir);
	if (access(h->worker, X_OK) != 0)
		snprintf(h->worker, sizeof(h->worker), "%s/../libexec/asyncd/asyncd-worker", dir);
}

/* Apply the stored settings over the current ones (each host of a shared store, when any host
 * changed them: peers.c). */
static void reload_settings(struct store *s)
{
	struct setting_row *rows;
	size_t n;
	char err[256];
	if (store_settings_list(s, &rows, &n) < 0) {
		log_warn("host", "cannot read the settings: %s", store_last_error(s));
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (settings_apply(rows[i].key, rows[i].value, err, sizeof(err)) < 0)
			log_warn("host", "ignoring a stored setting: %s", err);
	setting_rows_free(rows, n);
}

/* Settings stored in the database override the defaults. */
static int load_settings(struct store *s)
{
	struct setting_row *rows;
	size_t n;
	char err[256];
	settings_init();
	int rc = store_settings_list(s, &rows, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (settings_apply(rows[i].key, rows[i].value, err, sizeof(err)) < 0)
			log_warn("host", "ignoring a stored setting: %s", err);
	setting_rows_free(rows, n);
	return 0;
}

static int open_store(struct host *h)
{
	int rc = store_open(h->store_url, &h->reader);
	if (rc < 0) {
		log_error("host", "cannot open the store %s: %s", h->store_url,
			  asyncd_strerror(rc));
		return rc;
	}
	if ((rc = store_migrate(h->reader)) == AE_DISKFULL) {
		log_error("host",
			  "the disk is full: cannot prepare the database (%s); free space where %s "
			  "lives and start asyncd again",
			  store_last_error(h->reader), h->store_url);
		return rc;
	}
	if (rc < 0) {
		log_error("host", "cannot prepare the database: %s", store_last_error(h->reader));
		return rc;
	}
	if ((rc = load_settings(h->reader)) < 0 || (rc = registry_reload(h->reader)) < 0)
		log_error("host", "cannot read the database: %s", store_last_error(h->reader));
	return rc;
}

static int write_url_file(const char *state_dir, const char *scheme, const char *host, int port)
{
	char path[4200], tmp[4300], line[160];
	snprintf(path, sizeof(path), "%s/asyncd.url", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int len = snprintf(line, sizeof(line), "%s://%s:%d\n", scheme, host, port);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return AE_IO;
	bool ok = write(fd, line, (size_t)len) == len;
	close(fd);
	return ok && rename(tmp, path) == 0 ? 0 : AE_IO;
}

/* The listen address with its port chosen now when it is 0 (bind to port 0, read the port the
 * kernel gave, let it go): the host id names the port, and the API must find the host id, the
 * engine and the services set before it serves its first request. */
/* A port the kernel gives for sa's address now, 0 when none. */
static long free_port(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	long port = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)sa, sizeof(*sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)sa, &len) == 0)
		port = ntohs(sa->sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int resolve_listen(const char *listen, char *out, size_t n, int *ret_port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(listen, ':');
	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return AE_INVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || port < 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return AE_INVAL;
	if (port == 0 && (port = free_port(&sa)) == 0)
		return AE_IO;
	snprintf(out, n, "%s:%ld", host, port);
	*ret_port = (int)port;
	return 0;
}

static void set_host_id(const struct host_options *o, struct host *h, int port)
{
	char name[200] = "localhost";
	if (o->host_id) {
		snprintf(h->host_id, sizeof(h->host_id), "%s", o->host_id);
		return;
	}
	gethostname(name, sizeof(name) - 1);
	snprintf(h->host_id, sizeof(h->host_id), "%s:%d", name, port);
}

/* Everything the API reads is set: serve it. */
static int start_api(const struct host_options *o, struct host *h, const char *listen)
{
	char err[512], sock[4200];
	int port;
	size_t hl = strcspn(listen, ":");
	snprintf(h->listen_host, sizeof(h->listen_host), "%.*s", (int)hl, listen);
	if (!strcmp(h->listen_host, "0.0.0.0"))
		strcpy(h->listen_host, "127.0.0.1"); /* where a local client reaches it */
	struct server_limits lim = {.io_threads = o->http_io_threads,
				    .workers = o->http_workers,
				    .max_connections = o->http_max_connections,
				    .max_per_address = o->http_max_per_address,
				    .idle_timeout_s = o->http_idle_timeout_s,
				    .header_timeout_s = o->http_header_timeout_s,
				    .body_timeout_s = o->http_body_timeout_s,
				    .tls_cert_pem = h->tls.cert_pem,
				    .tls_key_pem = h->tls.key_pem};
	int rc = api_readers_init(h->store_url, READERS, AUTH_READERS);
	if (rc == 0)
		rc = server_start(&h->api, listen, &lim, &h->server, &port, err, sizeof(err));
	if (rc < 0) {
		log_error("host", "%s", rc == AE_STORE ? "cannot open reader connections" : err);
		return rc;
	}
	snprintf(sock, sizeof(sock), "%s/asyncd.sock", o->state_dir);
	if (server_start_unix(&h->api, sock, &h->local, err, sizeof(err)) < 0)
		log_warn("host", "no local socket: %s", err);
	if (write_url_file(o->state_dir, h->scheme, h->listen_host, port) < 0)
		log_warn("host", "cannot write %s/asyncd.url", o->state_dir);
	snprintf(h->api_listen, sizeof(h->api_listen), "%s:%d", h->listen_host, port);
	log_info("host", "listening on %s://%s (host %s)", h->scheme, h->api_listen, h->host_id);
	return 0;
}

static int start_services(const struct host_options *o, struct host *h)
{
	int rc;
	if ((rc = engine_new(h->w, h->store_url, h->host_id, &h->engine)) < 0 ||
	    (rc = services_init(&h->services, h->host_id, h->w, h->engine, h->reader)) < 0) {
		log_error("host", "cannot set up the services: %s", asyncd_strerror(rc));
		return rc;
	}
	h->services_ready = true;
	h->services.worker_path = h->worker;
	h->services.state_dir = o->state_dir;
	plugin_inspect_hide(o->state_dir);
	if ((rc = drain_start(h->w, h->engine, h->store_url)) < 0)
		log_error("host", "cannot start the drain thread: %s", asyncd_strerror(rc));
	return rc;
}

/* TLS when asked for (both files, read now), and the listen policy: an address beyond loopback
 * needs TLS or --insecure-listen. Checked first, before the state directory is touched. */
static int check_tls(const struct host_options *o, struct host *h, const char *want)
{
	char err[1024];
	h->scheme = "http";
	if (!o->tls_cert != !o->tls_key) {
		log_error("host", "--tls-cert and --tls-key go together: give both, or neither");
		return AE_INVAL;
	}
	if (o->tls_cert && !server_tls_supported()) {
		log_error("host",
			  "this libmicrohttpd was built without TLS (GnuTLS): cannot serve "
			  "https; install a libmicrohttpd with TLS, or leave out --tls-cert");
		return AE_INVAL;
	}
	int rc =
	    o->tls_cert ? tls_pair_read(o->tls_cert, o->tls_key, &h->tls, err, sizeof(err)) : 0;
	if (rc < 0) {
		log_error("host", "%s", err);
		return rc;
	}
	if (h->tls.key_group_readable)
		log_warn("host", "the TLS key %s may be read by its group", o->tls_key);
	if (o->tls_cert)
		h->scheme = "https";
	if (o->tls_cert || tls_listen_is_loopback(want))
		return 0;
	if (!o->insecure_listen) {
		log_error("host",
			  "refusing to listen on %s without TLS: it is not a loopback address, and "
			  "tokens would cross the network in clear; give --tls-cert and --tls-key, "
			  "or --insecure-listen to allow it (e.g. behind a TLS proxy)",
			  want);
		return AE_INVAL;
	}
	log_warn("host",
		 "listening on %s without TLS (--insecure-listen): tokens and data cross the "
		 "network in clear",
		 want);
	return 0;
}

static int start(const struct host_options *o, struct host *h)
{
	char err[512], listen[128];
	int port = 0;
	const char *want = o->listen ? o->listen : "127.0.0.1:8470";
	int rc = check_tls(o, h, want);
	if (rc == 0)
		rc = claim_state_dir(o->state_dir, h);
	if (rc == 0)
		rc = prepare_state_dir(o->state_dir);
	if (rc == 0)
		rc = open_store(h);
	if (rc == 0 && (rc = writer_start(h->store_url, &h->w)) < 0)
		log_error("host", "cannot start the writer: %s", asyncd_strerror(rc));
	if (rc == 0 && (rc = auth_bootstrap(h->w, h->reader, o->state_dir, err, sizeof(err))) < 0)
		log_error("host", "%s", err);
	/* SQLite serves one host: whatever is Locked was held by this host's previous life */
	if (rc == 0)
		rc = recover_last_life(h->w, o->state_dir, !strncmp(h->store_url, "sqlite:", 7));
	if (rc == 0 && (rc = resolve_listen(want, listen, sizeof(listen), &port)) < 0)
		log_error("host", "%s: %s", want,
			  rc == AE_IO ? "no free port to listen on"
				      : "bad listen address: use IPv4:PORT, e.g. 127.0.0.1:8470");
	if (rc < 0)
		return rc;
	set_host_id(o, h, port);
	if (peers_shared_store(h->store_url)) {
		char address[160];
		snprintf(address, sizeof(address), "%s://%s", h->scheme, listen);
		if ((rc = peers_start(h->w, o->state_dir, h->host_id, address)) < 0) {
			log_error("host", "cannot write this host's row: %s", asyncd_strerror(rc));
			return rc;
		}
	}
	if ((rc = start_services(o, h)) < 0)
		return rc;
	if (peers_shared_store(h->store_url) &&
	    (rc = peers_listen(h->store_url, h->engine, reload_settings, &h->services)) < 0)
		return rc;
	h->api = (struct api_ctx){.w = h->w,
				  .engine = h->engine,
				  .services = &h->services,
				  .store_url = h->store_url,
				  .state_dir = o->state_dir,
				  .worker_path = h->worker,
				  .host_id = h->host_id,
				  .started_on = clock_now_ms()};
	/* started before the API listens: a client never sees them start_pending */
	services_start_automatic(&h->services);
	return start_api(o, h, listen);
}

static void stop(struct host *h)
{
	if (h->services_ready) {
		log_info("host", "stopping every service");
		services_stop_all(&h->services);
	}
	peers_stop(); /* after the engine let its jobs go: the row says stopped */
	server_stop(h->server);
	server_stop(h->local);
	api_readers_done();
	drain_stop();
	notify_watch_stop(); /* it probes the engine and the writer: before they go */
	if (h->services_ready)
		services_done(&h->services);
	/* the writer first: the outcomes it still keeps (the database away) are answered through
	 * the engine */
	writer_stop(h->w);
	engine_free(h->engine);
	store_close(h->reader);
	registry_shutdown();
	tls_pair_done(&h->tls);
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP); /* the terminal went away: stop cleanly too */
	sigwait(&set, &sig);
	return sig;
}

static void block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* a shell starts background commands with SIGINT ignored, and an ignored signal never
	 * reaches sigwait: blocked, the default action cannot end us before sigwait takes it */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
}

int host_run(const struct host_options *o)
{
	static struct host h = {.lock_fd = -1};
	umask(077); /* every file and directory asyncd makes is its user's alone */
	block_signals();
	if (o->store_url)
		snprintf(h.store_url, sizeof(h.store_url), "%s", o->store_url);
	else
		snprintf(h.store_url, sizeof(h.store_url), "sqlite:%s/asyncd.db", o->state_dir);
	find_worker(o, &h);
	int rc = start(o, &h);
	if (rc == 0) {
		char status[512];
		log_info("host", "ready");
		snprintf(status, sizeof(status), "running: listening on %s://%s (host %s)",
			 h.scheme, h.api_listen, h.host_id);
		liveness_init(&h.live, h.w, h.engine);
		notify_ready(status);
		notify_watch_start(liveness_check, &h.live);
		int sig = wait_for_signal();
		log_info("host", "received %s", strsignal(sig));
		liveness_stopping(&h.live);
		notify_stopping("draining: running jobs get service.stop_timeout to finish");
	}
	stop(&h);
	inflight_close_clean(o->state_dir); /* a clean stop: nothing that ran counts as a crash */
	statedir_unlock(h.lock_fd);	    /* last: the next asyncd finds no journal of ours */
	return rc == 0 ? 0 : rc == AE_DISKFULL ? HOST_EXIT_DISK_FULL : 1;
}
