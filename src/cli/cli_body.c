/* Turning verb options into members of JSON request bodies (see cli_body.h). Only checks what
 * the client can know (syntax, ranges); the server judges the rest. */
#include "cli/cli_body.h"

#include <string.h>

#include "cli/cli_util.h"

int cli_body_set(json_t *body, const char *key, json_t *value)
{
	if (!value || json_object_set_new(body, key, value) < 0) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	return 0;
}

static bool utf8_ok(const char *text)
{
	json_t *s = json_string(text);
	bool ok = s != NULL;

	json_decref(s);
	return ok;
}

int cli_body_str(const struct cli_args *a, json_t *body, const char *opt, const char *key)
{
	const char *v = cli_opt(a, opt);

	if (!v)
		return 0;
	if (!utf8_ok(v))
		return cli_usage(a, "--%s: not valid UTF-8", opt);
	return cli_body_set(body, key, json_string(v));
}

int cli_body_int(const struct cli_args *a, json_t *body, const char *opt, const char *key,
		 long long min, long long max)
{
	long long n = 0;
	int r;

	if (!cli_opt(a, opt))
		return 0;
	r = cli_opt_ll(a, opt, min, max, &n);
	if (r < 0)
		return r;
	return cli_body_set(body, key, json_integer(n));
}

int cli_body_json(const struct cli_args *a, json_t *body, const char *opt, const char *key,
		  bool object_only)
{
	const char *v = cli_opt(a, opt);
	json_error_t err;
	json_t *j;

	if (!v)
		return 0;
	j = json_loads(v, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return cli_usage(a, "--%s: not valid JSON: %s (at character %d)", opt, err.text,
				 err.position);
	if (object_only && !json_is_object(j)) {
		json_decref(j);
		return cli_usage(a, "--%s: expected a JSON object, like '{\"name\":\"x\"}'", opt);
	}
	return cli_body_set(body, key, j);
}

int cli_body_time(const struct cli_args *a, json_t *body, const char *opt, const char *key)
{
	const char *v = cli_opt(a, opt);
	char buf[64];

	if (!v)
		return 0;
	if (cli_time_arg(v, buf, sizeof(buf)) < 0)
		return cli_usage(a,
				 "--%s: expected an RFC 3339 time (2030-01-31T12:00:00Z) or "
				 "+N[s|m|h|d] from now, not '%s'",
				 opt, v);
	return cli_body_set(body, key, json_string(buf));
}

json_t *cli_split_list(const char *text)
{
	json_t *arr = json_array();
	const char *p = text;
	size_t n;

	while (arr && *p) {
		n = strcspn(p, ",");
		if (n && json_array_append_new(arr, json_stringn(p, n)) < 0) {
			json_decref(arr);
			return NULL;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return arr;
}

int cli_body_list(const struct cli_args *a, json_t *body, const char *opt, const char *key)
{
	const char *v = cli_opt(a, opt);

	if (!v)
		return 0;
	if (!utf8_ok(v))
		return cli_usage(a, "--%s: not valid UTF-8", opt);
	return cli_body_set(body, key, cli_split_list(v));
}
