/* Parsing and lookup of per-type caps (see throttle.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/throttle.h"

static int parse_one(const char *item, size_t n, struct throttle_table *t, char *err, size_t errlen)
{
	const char *eq = memchr(item, '=', n);
	char num[16];
	size_t name_len = eq ? (size_t)(eq - item) : 0;
	size_t num_len = eq ? n - name_len - 1 : 0;
	if (!eq || name_len == 0 || name_len >= THROTTLE_NAME_MAX || num_len == 0 ||
	    num_len >= sizeof(num)) {
		snprintf(err, errlen, "async.throttling: '%.*s' is not NAME=N", (int)n, item);
		return AE_INVAL;
	}
	memcpy(num, eq + 1, num_len);
	num[num_len] = 0;
	char *end;
	long cap = strtol(num, &end, 10);
	if (*end || cap < 1 || cap > 100000) {
		snprintf(err, errlen, "async.throttling: the cap of %.*s must be 1 to 100000",
			 (int)name_len, item);
		return AE_INVAL;
	}
	if (t->n == THROTTLE_MAX) {
		snprintf(err, errlen, "async.throttling: at most %d types", THROTTLE_MAX);
		return AE_INVAL;
	}
	memcpy(t->t[t->n].name, item, name_len);
	t->t[t->n].name[name_len] = 0;
	t->t[t->n].cap = (int)cap;
	t->t[t->n].running = 0;
	t->n++;
	return 0;
}

int throttle_parse(const char *spec, struct throttle_table *ret, char *err, size_t errlen)
{
	struct throttle_table t = {0};
	const char *p = spec ? spec : "";
	while (*p) {
		size_t n = strcspn(p, ";");
		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		size_t trimmed = n;
		while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
			trimmed--;
		if (trimmed && parse_one(p, trimmed, &t, err, errlen) < 0)
			return AE_INVAL;
		p += n;
		if (*p == ';')
			p++;
	}
	*ret = t;
	return 0;
}

int throttle_find(const struct throttle_table *t, const char *plugin_type)
{
	const char *dot = plugin_type ? strrchr(plugin_type, '.') : NULL;
	for (size_t i = 0; plugin_type && i < t->n; i++)
		if (!strcmp(t->t[i].name, plugin_type) || (dot && !strcmp(t->t[i].name, dot + 1)))
			return (int)i;
	return -1;
}
