/* asyncd: the host daemon. Parses flags and the config file, then runs the host. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: asyncd --state-dir DIR [--store URL] [--listen ADDR:PORT] [--host-id ID]\n"
		"              [--config FILE] [--worker PATH]\n"
		"  --state-dir DIR    where the database, admin.token and caches live\n"
		"  --store URL        sqlite:PATH (default sqlite:DIR/asyncd.db)\n"
		"  --listen ADDR:PORT HTTP API address (default 127.0.0.1:8470; port 0 picks "
		"one, written to DIR/asyncd.url)\n"
		"  --host-id ID       this host's name (default hostname:port)\n"
		"  --config FILE      key = value lines: state_dir, store, listen, host_id, "
		"worker,\n"
		"                     http_io_threads, http_workers, http_max_connections,\n"
		"                     http_max_per_address, http_idle_timeout, "
		"http_header_timeout,\n"
		"                     http_body_timeout (seconds; see docs/api.md)\n");
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

/* A whole number in 1..1,000,000 for an int key; 1 when key is not one, -1 when bad. */
static int config_set_int(struct host_options *o, const char *key, const char *value)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
	    {"http_io_threads", offsetof(struct host_options, http_io_threads)},
	    {"http_workers", offsetof(struct host_options, http_workers)},
	    {"http_max_connections", offsetof(struct host_options, http_max_connections)},
	    {"http_max_per_address", offsetof(struct host_options, http_max_per_address)},
	    {"http_idle_timeout", offsetof(struct host_options, http_idle_timeout_s)},
	    {"http_header_timeout", offsetof(struct host_options, http_header_timeout_s)},
	    {"http_body_timeout", offsetof(struct host_options, http_body_timeout_s)},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].key, key)) {
			char *end;
			long v = strtol(value, &end, 10);
			if (end == value || *end || v < 1 || v > 1000000)
				return -1;
			*(int *)((char *)o + keys[i].off) = (int)v;
			return 0;
		}
	return 1;
}

static int config_set(struct host_options *o, const char *key, const char *value)
{
	int rc = config_set_int(o, key, value);
	if (rc <= 0)
		return rc;
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
	    {"state_dir", offsetof(struct host_options, state_dir)},
	    {"store", offsetof(struct host_options, store_url)},
	    {"listen", offsetof(struct host_options, listen)},
	    {"host_id", offsetof(struct host_options, host_id)},
	    {"worker", offsetof(struct host_options, worker)},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].key, key)) {
			const char **field = (const char **)((char *)o + keys[i].off);
			if (!*field)
				*field = strdup(value); /* flags win over the file */
			return 0;
		}
	return -1;
}

static int read_config(const char *path, struct host_options *o)
{
	char line[4096];
	int lineno = 0;
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "asyncd: cannot read the config file %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line), *eq = strchr(s, '=');
		if (!*s || *s == '#')
			continue;
		if (eq)
			*eq = 0;
		if (!eq || config_set(o, trim(s), trim(eq + 1)) < 0) {
			fprintf(stderr,
				"asyncd: %s:%d: expected 'key = value' with a known key (a whole "
				"number from 1 for http_* keys)\n",
				path, lineno);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
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
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct host_options o = {0};
	const char *config = NULL;
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
	if (config && read_config(config, &o) < 0)
		return 2;
	if (!o.state_dir) {
		fprintf(stderr, "asyncd: --state-dir is required\n");
		usage(stderr);
		return 2;
	}
	return host_run(&o);
}
