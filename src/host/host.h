/* One asyncd host: wires the store, writer, registry, engine and HTTP API together, runs until
 * SIGTERM/SIGINT and then stops cleanly (running jobs get service.stop_timeout, the rest go back
 * to Ready). What must be known before the database opens comes in struct host_options. */
#ifndef ASYNCD_HOST_H
#define ASYNCD_HOST_H

#include <stdbool.h>

struct host_options {
	const char *state_dir;
	const char *store_url; /* NULL: sqlite:STATE/asyncd.db */
	const char *listen;    /* NULL: 127.0.0.1:8470 */
	const char *host_id;   /* NULL: hostname:port */
	const char *worker;    /* NULL: next to the binary, or ../libexec/asyncd/ */
	const char *tls_cert;  /* PEM certificate chain: the API speaks https (with tls_key) */
	const char *tls_key;   /* PEM private key, not readable by others (host/tls.h) */
	bool insecure_listen;  /* allow plain HTTP on an address beyond loopback (warned) */
	/* the HTTP server's limits (api/server.h struct server_limits); 0: the default */
	int http_io_threads, http_workers, http_max_connections, http_max_per_address;
	int http_idle_timeout_s, http_header_timeout_s, http_body_timeout_s;
};

/* The exit status when the store's disk is full at start (the log says so); 1 for other
 * failures to start. */
#define HOST_EXIT_DISK_FULL 73

/* Run the host; returns the process exit code. */
int host_run(const struct host_options *o);

#endif
