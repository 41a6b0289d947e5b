/* Lookup of the error table in error.h: names, texts and HTTP statuses of AE_* codes. */
#include "common/error.h"

struct ae_entry {
	const char *name;
	const char *text;
	int http;
};

static const struct ae_entry ae_table[] = {
#define AE_ROW_(sym, name, http, text) [sym - AE_FIRST_ - 1] = {name, text, http},
    AE_ERRORS(AE_ROW_)
#undef AE_ROW_
};

static const struct ae_entry *ae_find(int code)
{
	if (code <= AE_FIRST_ || code >= AE_LAST_)
		return 0;
	return &ae_table[code - AE_FIRST_ - 1];
}

const char *ae_name(int code)
{
	const struct ae_entry *e = ae_find(code);
	return e ? e->name : "unknown_error";
}

const char *asyncd_strerror(int code)
{
	const struct ae_entry *e = ae_find(code);
	if (code == 0)
		return "success";
	return e ? e->text : "unknown error";
}

int ae_http_status(int code)
{
	const struct ae_entry *e = ae_find(code);
	return e ? e->http : 500;
}
