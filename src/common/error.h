/* The one error convention: 0 is success, a negative AE_* code is a failure. The table below is
 * the only list of codes; it also gives each its stable name (used as error_code in the API and on
 * jobs) and an HTTP status. It does not carry the detail of one failure: callers add that. */
#ifndef ASYNCD_ERROR_H
#define ASYNCD_ERROR_H

/* X(symbol, stable name, http status, text) */
#define AE_ERRORS(X)                                                                               \
	X(AE_NOMEM, "out_of_memory", 503, "out of memory")                                         \
	X(AE_INVAL, "invalid_argument", 400, "invalid argument")                                   \
	X(AE_TOOBIG, "too_large", 413, "input too large")                                          \
	X(AE_NOTFOUND, "not_found", 404, "not found")                                              \
	X(AE_EXISTS, "already_exists", 409, "already exists")                                      \
	X(AE_CONFLICT, "conflict", 409, "not allowed in the current state")                        \
	X(AE_UNAUTH, "unauthorized", 401, "authentication required")                               \
	X(AE_FORBIDDEN, "forbidden", 403, "forbidden")                                             \
	X(AE_STORE, "store_error", 503, "store error")                                             \
	X(AE_BUSY, "busy", 503, "busy")                                                            \
	X(AE_RATELIMIT, "too_many_requests", 429, "too many requests")                             \
	X(AE_IO, "io_error", 500, "input/output error")                                            \
	X(AE_DISKFULL, "disk_full", 507, "the disk is full: nothing was stored")                   \
	X(AE_MEDIATYPE, "unsupported_media_type", 415, "unsupported content type")                 \
	X(AE_SHUTDOWN, "shutting_down", 503, "shutting down")                                      \
	X(AE_PLUGIN, "plugin_error", 422, "plug-in error")                                         \
	X(AE_TIMEOUT, "timeout", 504, "timed out")                                                 \
	X(AE_UNAVAILABLE, "store_unavailable", 503, "the database cannot be reached")              \
	X(AE_INTERNAL, "internal_error", 500, "internal error")

enum ae_code {
	AE_OK = 0,
	AE_FIRST_ = -1000,
#define AE_ENUM_(sym, name, http, text) sym,
	AE_ERRORS(AE_ENUM_)
#undef AE_ENUM_
	    AE_LAST_
};

/* The stable name of an error code, e.g. "not_found"; "unknown_error" for anything else. */
const char *ae_name(int code);
/* A lowercase description of an error code. */
const char *asyncd_strerror(int code);
/* The HTTP status an API answer with this error carries. */
int ae_http_status(int code);

#endif
