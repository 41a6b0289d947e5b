/* Per-type concurrency caps (async.throttling, e.g. "samples.sleep=2;Notify=3"): parsing and
 * lookup. A name is a full type name (ASSEMBLY.TYPE) or a bare type name. The engine keeps the
 * running counts; this module only knows the caps. */
#ifndef ASYNCD_THROTTLE_H
#define ASYNCD_THROTTLE_H

#include <stddef.h>

#define THROTTLE_MAX 32
#define THROTTLE_NAME_MAX 130

struct throttle_table {
	size_t n;
	struct {
		char name[THROTTLE_NAME_MAX];
		int cap;
		int running;
	} t[THROTTLE_MAX];
};

/* Parse spec into ret (running counts zero). 0, or AE_INVAL with a message in err. */
int throttle_parse(const char *spec, struct throttle_table *ret, char *err, size_t errlen);
/* The index of the cap that applies to plugin_type, or -1. */
int throttle_find(const struct throttle_table *t, const char *plugin_type);

#endif
