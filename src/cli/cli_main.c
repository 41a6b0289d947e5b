/* asyncctl's entry point: global options, the lookup of RESOURCE VERB in the verb tables of the
 * resource modules, help and version, and the mapping of CLI_E* codes to exit statuses. It runs
 * no verb logic itself. */
#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_http.h"

static const struct cli_verb *const tables[] = {
    cli_event_verbs,	cli_job_verbs,	cli_job_action_verbs, cli_bulk_verbs,
    cli_assembly_verbs, cli_step_verbs, cli_service_verbs,    cli_admin_verbs,
};

#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static const char global_usage[] =
    "usage: asyncctl [--url URL] [--token TOKEN] [--state-dir DIR] [--cacert FILE] [--json]\n"
    "                RESOURCE VERB [ARGS] [OPTIONS]\n";

static const char global_help[] =
    "\nasyncctl drives asyncd, the asynchronous job service, over its HTTP JSON API.\n"
    "\nGlobal options (before or after the verb):\n"
    "  --url URL         asyncd's address (else $ASYNCD_URL, else DIR/asyncd.url,\n"
    "                    else "
    "http://127.0.0.1:8470)\n"
    "  --token TOKEN     API token (else $ASYNCD_TOKEN, else DIR/admin.token)\n"
    "  --state-dir DIR   asyncd's state directory (else $ASYNCD_STATE_DIR)\n"
    "  --cacert FILE     PEM CA certificate(s) that signed an https server's certificate\n"
    "                    (else $ASYNCD_CACERT, else DIR/ca.pem if present, else the\n"
    "                    system's CAs); the certificate is always verified\n"
    "  --json            print the server's JSON answer instead of a table\n"
    "  --help, --version\n";

static const char exit_help[] =
    "\nExit status:\n"
    "  0  success\n"
    "  1  the request was refused or failed (HTTP 4xx), or a waited-for job did not succeed\n"
    "  2  usage error (bad options or arguments)\n"
    "  3  cannot reach the server, or no credentials\n"
    "  4  server error (HTTP 5xx)\n";

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("asyncctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_oom(void)
{
	cli_err("out of memory");
	return CLI_EFAIL;
}

static bool has_resource(const char *resource)
{
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct cli_verb *v = tables[t]; v->resource; v++)
			if (strcmp(v->resource, resource) == 0)
				return true;
	return false;
}

static const struct cli_verb *find_verb(const char *resource, const char *verb)
{
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct cli_verb *v = tables[t]; v->resource; v++)
			if (strcmp(v->resource, resource) == 0 && strcmp(v->verb, verb) == 0)
				return v;
	return NULL;
}

/* The length of a summary's first sentence (a period, a space and a capital end it). */
static int first_sentence(const char *summary)
{
	const char *p = summary;

	while ((p = strstr(p, ". ")) && !isupper((unsigned char)p[2]))
		p++;
	if (!p)
		p = summary + strlen(summary) - (summary[strlen(summary) - 1] == '.');
	return (int)(p - summary);
}

/* The verbs of one resource (or all when resource is NULL), one line each. */
static void list_verbs(FILE *f, const char *resource)
{
	char name[64];

	for (size_t t = 0; t < NTABLES; t++) {
		for (const struct cli_verb *v = tables[t]; v->resource; v++) {
			if (resource && strcmp(v->resource, resource) != 0)
				continue;
			snprintf(name, sizeof(name), "%s%s%s", resource ? "" : v->resource,
				 resource ? "" : " ", v->verb);
			fprintf(f, "  %-18s %.*s\n", name, first_sentence(v->summary), v->summary);
		}
	}
}

static void print_help(void)
{
	fputs(global_usage, stdout);
	fputs(global_help, stdout);
	fputs("\nCommands (asyncctl RESOURCE VERB --help tells more):\n", stdout);
	list_verbs(stdout, NULL);
	fputs(exit_help, stdout);
}

static int resource_help(const char *resource, FILE *f)
{
	fprintf(f, "usage: asyncctl %s VERB [ARGS] [OPTIONS]\n\nVerbs:\n", resource);
	list_verbs(f, resource);
	return 0;
}

/* asyncctl --help [RESOURCE [VERB]] */
static int help_for(int argc, char **argv)
{
	const struct cli_verb *v = argc >= 2 ? find_verb(argv[0], argv[1]) : NULL;

	if (v)
		cli_verb_usage(stdout, v, true);
	else if (argc >= 1 && has_resource(argv[0]))
		resource_help(argv[0], stdout);
	else
		print_help();
	return 0;
}

static int run_verb(struct cli_ctx *ctx, const struct cli_verb *v, int argc, char **argv)
{
	struct cli_args args;
	int r = cli_args_parse(ctx, v, argc, argv, &args);

	if (r == 0 && args.help)
		cli_verb_usage(stdout, v, true);
	else if (r == 0)
		r = v->run(ctx, &args);
	cli_args_done(&args);
	return r;
}

static int dispatch(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cli_verb *v;

	if (argc < 1) {
		fputs(global_usage, stderr);
		fputs("(asyncctl --help lists the commands)\n", stderr);
		return CLI_EUSAGE;
	}
	if (!has_resource(argv[0])) {
		cli_err("unknown command '%s' (asyncctl --help lists the commands)", argv[0]);
		return CLI_EUSAGE;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		resource_help(argv[0], argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EUSAGE : 0;
	}
	v = find_verb(argv[0], argv[1]);
	if (!v) {
		cli_err("unknown verb '%s %s'", argv[0], argv[1]);
		resource_help(argv[0], stderr);
		return CLI_EUSAGE;
	}
	return run_verb(ctx, v, argc - 2, argv + 2);
}

static int run(struct cli_ctx *ctx, int argc, char **argv)
{
	bool help = false, version = false;
	int next, r;

	r = cli_args_global(ctx, argc, argv, &next, &help, &version);
	if (r < 0) {
		fputs(global_usage, stderr);
		return r;
	}
	if (version) {
		printf("asyncctl %s\n", ASYNCCTL_VERSION);
		return 0;
	}
	if (help)
		return help_for(argc - next, argv + next);
	return dispatch(ctx, argc - next, argv + next);
}

int cli_main(int argc, char **argv)
{
	struct cli_ctx ctx = {0};
	int r;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		cli_err("cannot initialize libcurl");
		return -CLI_EFAIL;
	}
	r = run(&ctx, argc - 1, argv + 1);
	cli_http_free(ctx.http);
	curl_global_cleanup();
	if (fflush(stdout) != 0 && r == 0) {
		cli_err("cannot write the output");
		r = CLI_EFAIL;
	}
	return -r;
}
