/* asyncd: the host daemon. Parses flags and the config file, then runs the host. */
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"
#include "host/config.h"
#include "host/host.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: asyncd --state-dir DIR [--store URL] [--listen ADDR:PORT] [--host-id ID]\n"
		"              [--config FILE] [--worker PATH] [--exit-with-parent]\n"
		"              [--tls-cert FILE --tls-key FILE] [--insecure-listen]\n"
		"              [--log-format text|json|journal]\n"
		"  --state-dir DIR    where the database, admin.token and caches live\n"
		"  --store URL        sqlite:PATH (default sqlite:DIR/asyncd.db)\n"
		"  --listen ADDR:PORT HTTP API address (default 127.0.0.1:8470; port 0 picks "
		"one, written to DIR/asyncd.url)\n"
		"  --host-id ID       this host's name (default hostname:port)\n"
		"  --tls-cert FILE    serve the API over https with this PEM certificate (chain)\n"
		"  --tls-key FILE     and this PEM key (refused when others may read it)\n"
		"  --insecure-listen  allow plain http on an address that is not loopback\n"
		"                     (refused by default: use TLS; see docs/http.md)\n"
		"  --config FILE      key = value lines: state_dir, store, listen, host_id, "
		"worker,\n"
		"                     tls_cert, tls_key,\n"
		"                     http_io_threads, http_workers, http_max_connections,\n"
		"                     http_max_per_address, http_idle_timeout, "
		"http_header_timeout,\n"
		"                     http_body_timeout (seconds; see docs/api.md)\n"
		"  --exit-with-parent stop cleanly (as on SIGTERM) when the process that started "
		"asyncd\n"
		"                     dies (for scripts such as make run; not for systemd)\n"
		"  --log-format FMT   text (default), json (one JSON object per line) or journal\n"
		"                     (journald fields; the default when stderr is the journal)\n");
}

/* --exit-with-parent: the kernel sends SIGTERM when the parent dies; a parent that died before
 * the request counts too (we were re-parented already). */
static int exit_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		perror("asyncd: --exit-with-parent: prctl");
		return -1;
	}
	if (getppid() != parent) {
		fprintf(stderr, "asyncd: --exit-with-parent: the parent (pid %d) is gone already\n",
			(int)parent);
		return -1;
	}
	return 0;
}

/* Read the config file at path into c; says why on stderr when it cannot. */
static int read_config(const char *path, struct host_config *c)
{
	char err[512];
	static char text[HOST_CONFIG_MAX_BYTES + 1];
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "asyncd: cannot read the config file %s\n", path);
		return -1;
	}
	size_t n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (host_config_parse(text, n, c, err, sizeof(err)) < 0) {
		fprintf(stderr, "asyncd: %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

/* Flags win over the file. */
static void merge(struct host_options *o, const struct host_config *c)
{
	if (!o->state_dir)
		o->state_dir = c->state_dir;
	if (!o->store_url)
		o->store_url = c->store;
	if (!o->listen)
		o->listen = c->listen;
	if (!o->host_id)
		o->host_id = c->host_id;
	if (!o->worker)
		o->worker = c->worker;
	if (!o->tls_cert && !o->tls_key) {
		o->tls_cert = c->tls_cert;
		o->tls_key = c->tls_key;
	}
	o->http_io_threads = c->http_io_threads;
	o->http_workers = c->http_workers;
	o->http_max_connections = c->http_max_connections;
	o->http_max_per_address = c->http_max_per_address;
	o->http_idle_timeout_s = c->http_idle_timeout_s;
	o->http_header_timeout_s = c->http_header_timeout_s;
	o->http_body_timeout_s = c->http_body_timeout_s;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state-dir", required_argument, 0, 'd'},
	    {"store", required_argument, 0, 's'},
	    {"listen", required_argument, 0, 'l'},
	    {"host-id", required_argument, 0, 'i'},
	    {"config", required_argument, 0, 'c'},
	    {"worker", required_argument, 0, 'w'},
	    {"exit-with-parent", no_argument, 0, 'P'},
	    {"log-format", required_argument, 0, 'L'},
	    {"tls-cert", required_argument, 0, 'T'},
	    {"tls-key", required_argument, 0, 'K'},
	    {"insecure-listen", no_argument, 0, 'I'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct host_options o = {0};
	const char *config = NULL;
	pid_t parent = getppid();
	enum log_format fmt = log_default_format();
	int c;
	while ((c = getopt_long(argc, argv, "d:s:l:i:c:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.state_dir = optarg;
			break;
		case 's':
			o.store_url = optarg;
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 'i':
			o.host_id = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'w':
			o.worker = optarg;
			break;
		case 'T':
			o.tls_cert = optarg;
			break;
		case 'K':
			o.tls_key = optarg;
			break;
		case 'I':
			o.insecure_listen = true;
			break;
		case 'P':
			if (exit_with_parent(parent) < 0)
				return 1;
			break;
		case 'L':
			if (log_format_parse(optarg, &fmt) < 0) {
				fprintf(
				    stderr,
				    "asyncd: --log-format: '%s' is not a format: use text, json or "
				    "journal\n",
				    optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "asyncd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	struct host_config file = {0};
	if (config && read_config(config, &file) < 0)
		return 2;
	merge(&o, &file);
	log_set_format(fmt);
	if (!o.state_dir) {
		fprintf(stderr, "asyncd: --state-dir is required\n");
		usage(stderr);
		host_config_done(&file);
		return 2;
	}
	int rc = host_run(&o);
	host_config_done(&file);
	return rc;
}
