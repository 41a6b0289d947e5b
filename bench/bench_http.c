/* The benchmark's HTTP client (see bench_http.h): libcurl with keep-alive, no Expect: 100-continue,
 * a response buffer bounded at RESP_MAX. Nothing here knows asyncd's resources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_http.h"

#define RESP_MAX ((size_t)256 << 20)
#define REQUEST_TIMEOUT_S 300L

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;
	size_t len = size * n;
	if (h->resp_len + len + 1 > RESP_MAX)
		return 0;
	if (h->resp_len + len + 1 > h->resp_cap) {
		size_t cap = h->resp_cap ? h->resp_cap : 64 * 1024;
		while (cap < h->resp_len + len + 1)
			cap *= 2;
		char *q = realloc(h->resp, cap);
		if (!q)
			return 0;
		h->resp = q;
		h->resp_cap = cap;
	}
	memcpy(h->resp + h->resp_len, p, len);
	h->resp_len += len;
	h->resp[h->resp_len] = 0;
	return len;
}

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static struct curl_slist *headers(const char *auth, const char *ctype)
{
	struct curl_slist *l = curl_slist_append(NULL, "Expect:");
	if (l && auth)
		l = curl_slist_append(l, auth);
	if (l && ctype)
		l = curl_slist_append(l, ctype);
	return l;
}

int http_init(struct http *h, const char *base, const char *token)
{
	char auth[512];
	const char *a = NULL;
	memset(h, 0, sizeof(*h));
	snprintf(h->base, sizeof(h->base), "%s", base);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		a = auth;
	}
	h->curl = curl_easy_init();
	h->hdr_none = headers(a, NULL);
	h->hdr_json = headers(a, "Content-Type: application/json");
	h->hdr_ndjson = headers(a, "Content-Type: application/x-ndjson");
	h->hdr_bin = headers(a, "Content-Type: application/octet-stream");
	if (!h->curl || !h->hdr_none || !h->hdr_json || !h->hdr_ndjson || !h->hdr_bin) {
		http_done(h);
		return -1;
	}
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->error);
	return 0;
}

void http_done(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdr_none);
	curl_slist_free_all(h->hdr_json);
	curl_slist_free_all(h->hdr_ndjson);
	curl_slist_free_all(h->hdr_bin);
	free(h->resp);
	memset(h, 0, sizeof(*h));
}

static struct curl_slist *ctype_headers(struct http *h, enum http_ctype ct)
{
	switch (ct) {
	case HTTP_JSON:
		return h->hdr_json;
	case HTTP_NDJSON:
		return h->hdr_ndjson;
	case HTTP_BINARY:
		return h->hdr_bin;
	default:
		return h->hdr_none;
	}
}

int http_request(struct http *h, const char *method, const char *path, enum http_ctype ct,
		 const void *body, size_t len)
{
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", h->base, path);
	h->resp_len = 0;
	if (h->resp)
		h->resp[0] = 0;
	h->status = 0;
	h->error[0] = 0;
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, ctype_headers(h, ct));
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST,
				 strcmp(method, "POST") ? method : NULL);
	}
	CURLcode rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		if (!h->error[0])
			snprintf(h->error, sizeof(h->error), "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
	return 0;
}

json_t *http_json(struct http *h, const char *what, const char *method, const char *path,
		  enum http_ctype ct, const void *body, size_t len, long want)
{
	json_error_t e;
	if (http_request(h, method, path, ct, body, len) < 0) {
		fprintf(stderr, "bench: %s: %s %s: %s\n", what, method, path, h->error);
		return NULL;
	}
	if (h->status != want) {
		fprintf(stderr, "bench: %s: %s %s: status %ld (wanted %ld): %.500s\n", what, method,
			path, h->status, want, h->resp ? h->resp : "");
		return NULL;
	}
	json_t *v = json_loadb(h->resp ? h->resp : "", h->resp_len, 0, &e);
	if (!v)
		fprintf(stderr, "bench: %s: %s %s: not JSON: %s\n", what, method, path, e.text);
	return v;
}

double http_metric(struct http *h, const char *name)
{
	char path[256];
	size_t n = strlen(name);
	/* only the family asked for (?name=): the polls of a burn-down read one line, not the whole
	 * exporter (a server that does not know ?name= answers everything, which works too) */
	snprintf(path, sizeof(path), "/metrics?name=%.*s", (int)strcspn(name, "{"), name);
	if (http_request(h, "GET", path, HTTP_NONE, NULL, 0) < 0 || h->status != 200 || !h->resp)
		return -1;
	for (const char *p = h->resp; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}
