/* Parsing asyncd's config file text (see config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "host/config.h"

static const struct {
	const char *key;
	size_t off;
} keys[] = {
    {"state_dir", offsetof(struct host_config, state_dir)},
    {"store", offsetof(struct host_config, store)},
    {"listen", offsetof(struct host_config, listen)},
    {"host_id", offsetof(struct host_config, host_id)},
    {"worker", offsetof(struct host_config, worker)},
    {"tls_cert", offsetof(struct host_config, tls_cert)},
    {"tls_key", offsetof(struct host_config, tls_key)},
};

static const struct {
	const char *key;
	size_t off;
} int_keys[] = {
    {"http_io_threads", offsetof(struct host_config, http_io_threads)},
    {"http_workers", offsetof(struct host_config, http_workers)},
    {"http_max_connections", offsetof(struct host_config, http_max_connections)},
    {"http_max_per_address", offsetof(struct host_config, http_max_per_address)},
    {"http_idle_timeout", offsetof(struct host_config, http_idle_timeout_s)},
    {"http_header_timeout", offsetof(struct host_config, http_header_timeout_s)},
    {"http_body_timeout", offsetof(struct host_config, http_body_timeout_s)},
};

#define INT_KEY_MAX 1000000

void host_config_done(struct host_config *c)
{
	for (size_t i = 0; c && i < ARRAY_SIZE(keys); i++) {
		char **field = (char **)((char *)c + keys[i].off);
		free(*field);
		*field = NULL;
	}
}

/* [*p, *p + *n) without the blanks at either end. */
static void trim(const char **p, size_t *n)
{
	while (*n && strchr(" \t\r", **p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && strchr(" \t\r", (*p)[*n - 1]))
		(*n)--;
}

/* 0 when k is an int key and v a whole number in 1..INT_KEY_MAX; 1 when k is not one. */
static int set_int_key(struct host_config *c, const char *k, size_t kn, const char *v, size_t vn,
		       char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(int_keys); i++) {
		if (strlen(int_keys[i].key) != kn || strncmp(int_keys[i].key, k, kn))
			continue;
		long n = 0;
		size_t j = 0;
		for (; j < vn && j < 8 && v[j] >= '0' && v[j] <= '9'; j++)
			n = n * 10 + (v[j] - '0');
		if (!vn || j != vn || n < 1 || n > INT_KEY_MAX) {
			snprintf(err, errlen, "%s must be a whole number from 1 to %d",
				 int_keys[i].key, INT_KEY_MAX);
			return AE_INVAL;
		}
		*(int *)((char *)c + int_keys[i].off) = (int)n;
		return 0;
	}
	return 1;
}

static int set_key(struct host_config *c, const char *k, size_t kn, const char *v, size_t vn,
		   char *err, size_t errlen)
{
	int rc = set_int_key(c, k, kn, v, vn, err, errlen);
	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strlen(keys[i].key) != kn || strncmp(keys[i].key, k, kn))
			continue;
		char **field = (char **)((char *)c + keys[i].off);
		if (*field) {
			snprintf(err, errlen, "%s is given twice", keys[i].key);
			return AE_INVAL;
		}
		if (!vn) {
			snprintf(err, errlen, "%s has no value", keys[i].key);
			return AE_INVAL;
		}
		*field = strndup(v, vn);
		return *field ? 0 : AE_NOMEM;
	}
	snprintf(err, errlen,
		 "unknown key '%.*s': use state_dir, store, listen, host_id, worker, tls_cert, "
		 "tls_key or an http_* limit",
		 (int)(kn < 64 ? kn : 64), k);
	return AE_INVAL;
}

static int parse_line(struct host_config *c, const char *p, size_t n, char *err, size_t errlen)
{
	trim(&p, &n);
	if (!n || *p == '#')
		return 0;
	if (memchr(p, 0, n)) {
		snprintf(err, errlen, "a NUL byte in the line");
		return AE_INVAL;
	}
	const char *eq = memchr(p, '=', n);
	if (!eq) {
		snprintf(err, errlen, "expected 'key = value'");
		return AE_INVAL;
	}
	const char *k = p, *v = eq + 1;
	size_t kn = (size_t)(eq - p), vn = n - kn - 1;
	trim(&k, &kn);
	trim(&v, &vn);
	return set_key(c, k, kn, v, vn, err, errlen);
}

int host_config_parse(const char *text, size_t len, struct host_config *ret, char *err,
		      size_t errlen)
{
	char msg[256];
	struct host_config c = {0};
	size_t lineno = 0;
	if (len > HOST_CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "the file is over %d bytes", HOST_CONFIG_MAX_BYTES);
		return AE_TOOBIG;
	}
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int rc =
		    n > HOST_CONFIG_MAX_LINE ? AE_INVAL : parse_line(&c, p, n, msg, sizeof(msg));
		lineno++;
		if (rc < 0) {
			snprintf(err, errlen, "line %zu: %s", lineno,
				 n > HOST_CONFIG_MAX_LINE ? "the line is too long" : msg);
			host_config_done(&c);
			return rc;
		}
		p = nl ? nl + 1 : end;
	}
	*ret = c;
	return 0;
}
