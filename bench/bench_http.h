/* The benchmark's HTTP client: one libcurl easy handle per caller (keep-alive), bearer token,
 * bounded response buffer. Not thread-safe per handle: each thread owns its own. */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

struct http {
	CURL *curl;
	char base[256];
	struct curl_slist *hdr_json, *hdr_ndjson, *hdr_bin, *hdr_none;
	char *resp; /* the last response body, NUL-terminated */
	size_t resp_len, resp_cap;
	long status; /* the last HTTP status, 0 when the request failed */
	char error[CURL_ERROR_SIZE];
};

enum http_ctype { HTTP_NONE, HTTP_JSON, HTTP_NDJSON, HTTP_BINARY };

/* Call once, before any thread starts. */
int http_global_init(void);
/* base: "http://127.0.0.1:PORT"; token may be NULL. Returns 0 or -1. */
int http_init(struct http *h, const char *base, const char *token);
void http_done(struct http *h);
/* Send one request; the body of the answer is in h->resp, its status in h->status. Returns 0 when
 * an HTTP answer came back (any status), -1 on a transport error (message in h->error). */
int http_request(struct http *h, const char *method, const char *path, enum http_ctype ct,
		 const void *body, size_t len);
/* http_request, then expect status want and a JSON answer; returns it (caller owns it) or NULL
 * after printing what went wrong, prefixed by what. */
json_t *http_json(struct http *h, const char *what, const char *method, const char *path,
		  enum http_ctype ct, const void *body, size_t len, long want);
/* GET /metrics?name=FAMILY and return the value of the counter or gauge name (a family, maybe
 * with its labels as printed), or -1. */
double http_metric(struct http *h, const char *name);

#endif
