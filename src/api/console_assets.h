/* The web console's static files (console/ in the source tree), embedded in the binary at build
 * time by console/embed.py: one entry per file, found by its base name. */
#ifndef ASYNCD_CONSOLE_ASSETS_H
#define ASYNCD_CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
	const char *name; /* "app.js": served as /console/app.js */
	const char *type; /* Content-Type */
	const char *etag; /* a strong ETag, quotes included */
	const char *data;
	size_t size;
};

extern const struct console_asset console_assets[];
extern const size_t console_assets_n;

#endif
