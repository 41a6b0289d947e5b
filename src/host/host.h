/* One asyncd host: wires the store, writer, registry, engine and HTTP API together, runs until
 * SIGTERM/SIGINT and then stops cleanly (running jobs get service.stop_timeout, the rest go back
 * to Ready). What must be known before the database opens comes in struct host_options. */
#ifndef ASYNCD_HOST_H
#define ASYNCD_HOST_H

struct host_options {
	const char *state_dir;
	const char *store_url; /* NULL: sqlite:STATE/asyncd.db */
	const char *listen;    /* NULL: 127.0.0.1:8470 */
	const char *host_id;   /* NULL: hostname:port */
	const char *worker;    /* NULL: next to the binary, or ../libexec/asyncd/ */
};

/* The exit status when the store's disk is full at start (the log says so); 1 for other
 * failures to start. */
#define HOST_EXIT_DISK_FULL 73

/* Run the host; returns the process exit code. */
int host_run(const struct host_options *o);

#endif
