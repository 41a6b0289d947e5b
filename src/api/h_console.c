/* The web console's static files: GET / is the page (index.html), GET /console/NAME one of the
 * files embedded at build time (console_assets.h). Open to anyone: the data the page shows comes
 * from the authenticated API. Answered on the I/O thread, from memory, never waiting. Every file
 * carries a strict Content-Security-Policy (no inline scripts or styles, nothing from another
 * origin), nosniff, and "Cache-Control: no-cache" with a strong ETag: the browser keeps a copy and
 * asks each time whether it is still current (304), so a new build is seen at the next load. */
#include <string.h>

#include <microhttpd.h>

#include "api/console_assets.h"
#include "api/handlers.h"
#include "common/error.h"

#define CONSOLE_CSP                                                                                \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                \
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                \
	"form-action 'self'; frame-ancestors 'none'"

static const struct console_asset *asset_named(const char *name)
{
	for (size_t i = 0; i < console_assets_n; i++)
		if (!strcmp(console_assets[i].name, name))
			return &console_assets[i];
	return NULL;
}

/* Whether the request's If-None-Match names etag (or is "*"). */
static bool not_modified(struct api_req *r, const char *etag)
{
	const char *inm = r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
								MHD_HTTP_HEADER_IF_NONE_MATCH)
				  : NULL;
	return inm && (!strcmp(inm, "*") || strstr(inm, etag));
}

int h_console(struct api_req *r)
{
	const char *name = r->params[0] ? r->params[0] : "index.html";
	const struct console_asset *a = asset_named(name);
	if (!a)
		return api_error(r, AE_NOTFOUND, "the console has no file named %s", name);
	r->asset_csp = CONSOLE_CSP;
	r->cache_control = "no-cache";
	r->etag = a->etag;
	if (not_modified(r, a->etag)) {
		r->status = 304;
		return 0;
	}
	r->status = 200;
	r->static_body = a->data;
	r->static_len = a->size;
	r->text_type = a->type;
	return 0;
}

enum api_start h_console_start(struct api_req *r)
{
	h_console(r);
	return API_DONE;
}
