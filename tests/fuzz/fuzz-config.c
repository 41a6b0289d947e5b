/* libFuzzer entry for asyncd's config file parser (src/host/config.c): any bytes are parsed; what
 * parses must hold only known keys with non-empty values without NUL, and parsing it again from
 * its own rendering must give the same values. Any crash, leak, sanitizer report or abort() is a
 * finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"state_dir", "store", "listen", "host_id", "worker"};

static char **field(struct host_config *c, int i)
{
	char **f[] = {&c->state_dir, &c->store, &c->listen, &c->host_id, &c->worker};
	return f[i];
}

/* "key = value" lines of c into buf. */
static size_t render(struct host_config *c, char *buf, size_t n)
{
	size_t used = 0;
	for (int i = 0; i < 5; i++) {
		const char *v = *field(c, i);
		if (!v)
			continue;
		if (!*v || strchr(v, '\n'))
			abort(); /* an empty value or a line break got through */
		int w = snprintf(buf + used, n - used, "%s = %s\n", names[i], v);
		if (w < 0 || (size_t)w >= n - used)
			abort();
		used += (size_t)w;
	}
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	static char again[HOST_CONFIG_MAX_BYTES + 256];
	struct host_config c, d;
	if (host_config_parse((const char *)data, size, &c, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();
		return 0;
	}
	size_t n = render(&c, again, sizeof(again));
	if (host_config_parse(again, n, &d, err, sizeof(err)) < 0)
		abort();
	for (int i = 0; i < 5; i++) {
		const char *a = *field(&c, i), *b = *field(&d, i);
		if ((a == NULL) != (b == NULL) || (a && strcmp(a, b)))
			abort();
	}
	host_config_done(&c);
	host_config_done(&d);
	return 0;
}
