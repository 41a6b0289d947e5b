/* The HTTP layer of asyncctl (see cli_http.h): request setup on a reused curl handle, a bounded
 * answer buffer, and the wording of transport and server errors. It does not know the API's
 * resources; the verb modules build the paths and bodies. */
#include "cli/cli_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_conf.h"
#include "cli/cli_out.h"
#include "cli/cli_util.h"

#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 300L

struct cli_http {
	CURL *curl;
	char *base;
	char *auth;   /* "Authorization: Bearer ..." */
	char *socket; /* the local Unix socket, or NULL */
	char *cacert; /* the CA file that verifies an https server, or NULL: the system's */
};

struct sink {
	struct cli_str buf;
	bool toobig;
};

void cli_http_free(struct cli_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->base);
	free(h->socket);
	free(h->cacert);
	if (h->auth)
		explicit_bzero(h->auth, strlen(h->auth));
	free(h->auth);
	free(h);
}

static int http_open(struct cli_ctx *ctx)
{
	struct cli_http *h;
	char *token;
	int r;

	if (ctx->http)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	r = cli_conf_resolve(ctx, &h->base, &token, &h->socket);
	if (r < 0) {
		free(h);
		return r;
	}
	if (!h->socket && (r = cli_conf_cacert(ctx, &h->cacert)) < 0) {
		explicit_bzero(token, strlen(token));
		free(token);
		cli_http_free(h);
		return r;
	}
	/* over the local socket the server knows us by our user id: no token */
	r = token ? asprintf(&h->auth, "Authorization: Bearer %s", token)
		  : ((h->auth = strdup("X-Asyncd-Local: 1")) ? 0 : -1);
	if (token)
		explicit_bzero(token, strlen(token));
	free(token);
	h->curl = curl_easy_init();
	if (r < 0 || !h->curl) {
		cli_err("cannot set up the HTTP client");
		cli_http_free(h);
		return CLI_EFAIL;
	}
	ctx->http = h;
	return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *userdata)
{
	struct sink *s = userdata;
	size_t len = size * n;

	if (s->buf.len + len > CLI_MAX_BYTES) {
		s->toobig = true;
		return 0;
	}
	cli_str_addn(&s->buf, p, len);
	return s->buf.oom ? 0 : len;
}

static struct curl_slist *make_headers(const struct cli_http *h, const char *ctype)
{
	struct curl_slist *list = NULL, *next;
	char ct[128];
	const char *lines[] = {h->auth, "Accept: application/json", "Expect:", ct};

	snprintf(ct, sizeof(ct), "Content-Type:%s%s", ctype ? " " : "", ctype ? ctype : "");
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		next = curl_slist_append(list, lines[i]);
		if (!next) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return list;
}

static void set_method(CURL *c, const char *method, const void *data, size_t len)
{
	bool has_body = data || strcmp(method, "GET") != 0;

	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (has_body && strcmp(method, "DELETE") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(data ? len : 0));
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
}

static void set_common(CURL *c, const char *url, struct sink *s, char *errbuf,
		       struct curl_slist *headers)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "asyncctl/" ASYNCCTL_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS,
			 1L); /* ids are escaped; keep ".." segments as sent */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLI_MAX_BYTES);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

/* Whether rc says the server's certificate could not be verified (or not trusted). */
static bool cert_failed(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

static int transport_error(const struct cli_http *h, CURLcode rc, const struct sink *s,
			   const char *errbuf)
{
	const char *why = *errbuf ? errbuf : curl_easy_strerror(rc);

	if (s->toobig || rc == CURLE_FILESIZE_EXCEEDED) {
		cli_err("the server's answer is larger than 64 MiB: refused");
		return CLI_EFAIL;
	}
	if (s->buf.oom) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	if (cert_failed(rc)) {
		cli_err("cannot verify the certificate of asyncd at %s: %s; give the CA that "
			"signed it with --cacert FILE (or ASYNCD_CACERT)%s",
			h->base, why, h->cacert ? ", not this one" : "");
		return CLI_ECONN;
	}
	cli_err("cannot reach asyncd at %s: %s%s", h->base, why,
		strncmp(h->base, "http://", 7) == 0 && rc == CURLE_GOT_NOTHING
		    ? " (does it serve https?)"
		    : "");
	return CLI_ECONN;
}

static void reply_fill(struct cli_reply *r, CURL *c, struct sink *s)
{
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->len = s->buf.len;
	r->text = cli_str_steal(&s->buf);
	if (r->text && r->len)
		r->body = json_loadb(r->text, r->len, JSON_DECODE_ANY, NULL);
}

int cli_http_send(struct cli_ctx *ctx, const char *method, const char *path, const char *ctype,
		  const void *data, size_t len, struct cli_reply *ret)
{
	char errbuf[CURL_ERROR_SIZE] = "", *url = NULL;
	struct curl_slist *headers = NULL;
	struct sink s = {0};
	CURLcode rc;
	int r;

	*ret = (struct cli_reply){0};
	r = http_open(ctx);
	if (r < 0)
		return r;
	headers = make_headers(ctx->http, ctype);
	if (!headers || asprintf(&url, "%s%s", ctx->http->base, path) < 0) {
		curl_slist_free_all(headers);
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	curl_easy_reset(ctx->http->curl);
	set_common(ctx->http->curl, url, &s, errbuf, headers);
	curl_easy_setopt(ctx->http->curl, CURLOPT_UNIX_SOCKET_PATH, ctx->http->socket);
	if (ctx->http->cacert)
		curl_easy_setopt(ctx->http->curl, CURLOPT_CAINFO, ctx->http->cacert);
	set_method(ctx->http->curl, method, data, len);
	rc = curl_easy_perform(ctx->http->curl);
	if (rc == CURLE_OK)
		reply_fill(ret, ctx->http->curl, &s);
	else
		r = transport_error(ctx->http, rc, &s, errbuf);
	cli_str_done(&s.buf);
	curl_slist_free_all(headers);
	free(url);
	return r;
}

void cli_reply_done(struct cli_reply *r)
{
	if (!r)
		return;
	json_decref(r->body);
	free(r->text);
	*r = (struct cli_reply){0};
}

/* Members of the error object besides code and message (e.g. counts per state), one a line. */
static void print_details(const json_t *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)err, key, v)
	{
		char *text, *clean;

		if (strcmp(key, "code") == 0 || strcmp(key, "message") == 0)
			continue;
		text = cli_text(v);
		clean = cli_clean(key, 60);
		if (text && clean) {
			fputs("  ", stderr);
			cli_kv(stderr, 0, clean, text);
		}
		free(text);
		free(clean);
	}
}

/* The text of an answer that is not the API's error object (a proxy's page, say): its first
 * 200 characters, made printable; NULL when there is none. */
static char *raw_text(const struct cli_reply *r)
{
	if (r->body || !r->text || !*r->text)
		return NULL;
	return cli_clean(r->text, 200);
}

int cli_http_fail(const struct cli_reply *r)
{
	const json_t *err = json_object_get(r->body, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	const char *what = r->status >= 500 ? "the server failed" : "the request was refused";
	char *cmsg = msg && *msg ? cli_clean(msg, 0) : NULL;
	char *ccode = code ? cli_clean(code, 60) : NULL;
	char *raw = raw_text(r);

	if (cmsg || ccode)
		cli_err("%s (%s, HTTP %ld)", cmsg ? cmsg : what, ccode ? ccode : "error",
			r->status);
	else
		cli_err("%s (HTTP %ld)", raw ? raw : what, r->status);
	if (json_is_object(err))
		print_details(err);
	free(cmsg);
	free(ccode);
	free(raw);
	return r->status >= 500 ? CLI_ESERVER : CLI_EFAIL;
}

int cli_http_call(struct cli_ctx *ctx, const char *method, const char *path, const char *ctype,
		  const void *data, size_t len, json_t **ret_body)
{
	struct cli_reply reply;
	int r;

	r = cli_http_send(ctx, method, path, ctype, data, len, &reply);
	if (r < 0)
		return r;
	if (reply.status < 200 || reply.status > 299) {
		r = cli_http_fail(&reply);
	} else if (reply.len && !reply.body) {
		cli_err("%s %s: the server's answer is not JSON", method, path);
		r = CLI_ESERVER;
	} else if (ret_body) {
		*ret_body = json_incref(reply.body);
	}
	cli_reply_done(&reply);
	return r;
}

int cli_http_json(struct cli_ctx *ctx, const char *method, const char *path, const json_t *body,
		  json_t **ret_body)
{
	char *text = NULL;
	int r;

	if (body && !(text = json_dumps(body, JSON_COMPACT))) {
		cli_err("out of memory");
		return CLI_EFAIL;
	}
	r = cli_http_call(ctx, method, path, text ? "application/json" : NULL, text,
			  text ? strlen(text) : 0, ret_body);
	free(text);
	return r;
}
