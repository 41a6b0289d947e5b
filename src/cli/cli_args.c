/* asyncctl's argument parser (see cli_args.h). Long options only ("--name value" or
 * "--name=value"; "-h" is --help; "--" ends the options); a verb declares its options in a spec
 * string, so the verbs themselves hold no parsing loops. */
#include "cli/cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"

static const char global_spec[] = "url=,token=,state-dir=,cacert=,json";

/* The kind of option name in spec: 'f' flag, '=' value, '*' repeatable value, 0 unknown. */
static char spec_kind(const char *spec, const char *name, size_t len)
{
	const char *p = spec;
	size_t n;

	while (p && *p) {
		n = strcspn(p, ",");
		if (n >= len && strncmp(p, name, len) == 0) {
			if (n == len)
				return 'f';
			if (n == len + 1 && (p[len] == '=' || p[len] == '*'))
				return p[len];
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void apply_global(struct cli_ctx *ctx, const char *name, size_t len, const char *value)
{
	if (len == 3 && strncmp(name, "url", 3) == 0)
		ctx->url_opt = value;
	else if (len == 5 && strncmp(name, "token", 5) == 0)
		ctx->token_opt = value;
	else if (len == 9 && strncmp(name, "state-dir", 9) == 0)
		ctx->state_dir_opt = value;
	else if (len == 6 && strncmp(name, "cacert", 6) == 0)
		ctx->cacert_opt = value;
	else
		ctx->json = true;
}

/* One "--name[=value]" at argv[*i]: its name, kind and value (taking the next argument when it
 * needs one). Prints nothing; returns CLI_EUSAGE with a reason in *ret_why. */
static int take_option(const char *spec, int argc, char **argv, int *i, struct cli_opt *ret,
		       char *ret_kind, bool *ret_global, const char **ret_why)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	char kind = spec ? spec_kind(spec, name, len) : 0;

	*ret_global = !kind;
	if (!kind)
		kind = spec_kind(global_spec, name, len);
	*ret = (struct cli_opt){name, len, NULL};
	*ret_kind = kind;
	if (!kind)
		*ret_why = "unknown option";
	else if (kind == 'f' && eq)
		*ret_why = "takes no value";
	else if (kind != 'f' && !eq && *i + 1 >= argc)
		*ret_why = "needs a value";
	else
		*ret_why = NULL;
	if (*ret_why)
		return CLI_EUSAGE;
	if (kind != 'f')
		ret->value = eq ? eq + 1 : argv[++*i];
	return 0;
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_args_global(struct cli_ctx *ctx, int argc, char **argv, int *ret_next, bool *ret_help,
		    bool *ret_version)
{
	const char *why = "unknown option";
	struct cli_opt o;
	bool global;
	char kind;
	int i;

	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (is_help(argv[i])) {
			*ret_help = true;
		} else if (strcmp(argv[i], "--version") == 0) {
			*ret_version = true;
		} else if (strncmp(argv[i], "--", 2) != 0 ||
			   take_option(NULL, argc, argv, &i, &o, &kind, &global, &why) < 0) {
			cli_err("%s: %s", argv[i], why);
			return CLI_EUSAGE;
		} else {
			apply_global(ctx, o.name, o.len, o.value);
		}
	}
	*ret_next = i;
	return 0;
}

static bool opt_is(const struct cli_opt *o, const char *name)
{
	return o->len == strlen(name) && strncmp(o->name, name, o->len) == 0;
}

static int add_option(struct cli_args *a, const struct cli_opt *o, char kind)
{
	for (int i = 0; kind == '=' && i < a->nopts; i++)
		if (a->opts[i].len == o->len && strncmp(a->opts[i].name, o->name, o->len) == 0)
			return cli_usage(a, "--%.*s given more than once", (int)o->len, o->name);
	a->opts[a->nopts++] = *o;
	return 0;
}

static int parse_one(struct cli_ctx *ctx, struct cli_args *a, int argc, char **argv, int *i)
{
	struct cli_opt o;
	const char *why;
	bool global;
	char kind;

	if (take_option(a->verb->options, argc, argv, i, &o, &kind, &global, &why) < 0)
		return cli_usage(a, "--%.*s: %s", (int)o.len, o.name, why);
	if (global) {
		apply_global(ctx, o.name, o.len, o.value);
		return 0;
	}
	return add_option(a, &o, kind);
}

/* The name of positional argument n in a synopsis ("KEY VALUE", "ID --until T [--x]"): its
 * words, skipping [optional parts] and options with their values. Writes "argument" if none. */
static void arg_name(const char *synopsis, int n, char *buf, size_t size)
{
	const char *p = synopsis;
	int depth = 0;
	size_t len;

	snprintf(buf, size, "argument");
	for (bool skip_next = false; *p; p += len) {
		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (*p == '[' || depth > 0) {
			for (size_t i = 0; i < len; i++)
				depth += (p[i] == '[') - (p[i] == ']');
		} else if (*p == '-' || skip_next) {
			skip_next = !skip_next && *p == '-';
		} else if (n-- == 0) {
			snprintf(buf, size, "%.*s", (int)strcspn(p, " ."), p);
			return;
		}
	}
}

static int check_count(struct cli_args *a)
{
	const struct cli_verb *v = a->verb;
	char name[32];

	if (a->help)
		return 0;
	if (a->nargs < v->min_args) {
		arg_name(v->synopsis, a->nargs, name, sizeof(name));
		return cli_usage(a, "missing %s", name);
	}
	if (a->nargs > v->max_args)
		return cli_usage(a, "unexpected argument '%s'", a->args[v->max_args]);
	return 0;
}

int cli_args_parse(struct cli_ctx *ctx, const struct cli_verb *verb, int argc, char **argv,
		   struct cli_args *ret)
{
	bool opts_done = false;
	int i, r = 0;

	*ret = (struct cli_args){.verb = verb};
	ret->args = calloc((size_t)argc + 1, sizeof(*ret->args));
	ret->opts = calloc((size_t)argc + 1, sizeof(*ret->opts));
	if (!ret->args || !ret->opts) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	for (i = 0; i < argc && r == 0; i++) {
		if (!opts_done && strcmp(argv[i], "--") == 0)
			opts_done = true;
		else if (!opts_done && is_help(argv[i]))
			ret->help = true;
		else if (opts_done || strncmp(argv[i], "--", 2) != 0)
			ret->args[ret->nargs++] = argv[i];
		else
			r = parse_one(ctx, ret, argc, argv, &i);
	}
	return r < 0 ? r : check_count(ret);
}

void cli_args_done(struct cli_args *a)
{
	if (!a)
		return;
	free(a->args);
	free(a->opts);
	*a = (struct cli_args){0};
}

const char *cli_opt_nth(const struct cli_args *a, const char *name, size_t n)
{
	for (int i = 0; i < a->nopts; i++)
		if (opt_is(&a->opts[i], name) && n-- == 0)
			return a->opts[i].value ? a->opts[i].value : "";
	return NULL;
}

const char *cli_opt(const struct cli_args *a, const char *name)
{
	const char *last = NULL;

	for (int i = 0; i < a->nopts; i++)
		if (opt_is(&a->opts[i], name))
			last = a->opts[i].value ? a->opts[i].value : "";
	return last;
}

bool cli_flag(const struct cli_args *a, const char *name)
{
	return cli_opt(a, name) != NULL;
}

int cli_opt_ll(const struct cli_args *a, const char *name, long long min, long long max,
	       long long *ret)
{
	const char *v = cli_opt(a, name);
	char *end;
	long long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return cli_usage(a, "--%s: expected a whole number from %lld to %lld, not '%s'",
				 name, min, max, v);
	*ret = n;
	return 0;
}

int cli_opt_seconds(const struct cli_args *a, const char *name, double *ret)
{
	const char *v = cli_opt(a, name);
	char *end;
	double d;

	if (!v)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d <= 0 || d > 365 * 86400.0)
		return cli_usage(a, "--%s: expected a number of seconds, not '%s'", name, v);
	*ret = d;
	return 0;
}

int cli_opt_choice(const struct cli_args *a, const char *name, const char *const *choices)
{
	const char *v = cli_opt(a, name);
	struct cli_str list = {0};
	int r;

	if (!v)
		return 0;
	for (size_t i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return 0;
	for (size_t i = 0; choices[i]; i++)
		cli_str_addf(&list, "%s%s", i ? "|" : "", choices[i]);
	r = cli_usage(a, "--%s: expected %s, not '%s'", name, list.buf ? list.buf : "?", v);
	cli_str_done(&list);
	return r;
}

int cli_arg_id(const struct cli_args *a, int i, const char **ret)
{
	if (!cli_is_id(a->args[i]))
		return cli_usage(a, "'%s' is not a job id (a positive integer)", a->args[i]);
	*ret = a->args[i];
	return 0;
}

void cli_verb_usage(FILE *f, const struct cli_verb *v, bool full)
{
	fprintf(f, "usage: asyncctl %s %s%s%s\n", v->resource, v->verb, *v->synopsis ? " " : "",
		v->synopsis);
	if (!full)
		return;
	fprintf(f, "\n%s\n", v->summary);
	if (v->help)
		fprintf(f, "\n%s", v->help);
}

int cli_usage(const struct cli_args *a, const char *fmt, ...)
{
	va_list ap;

	fputs("asyncctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_verb_usage(stderr, a->verb, false);
	return CLI_EUSAGE;
}
