/* Keeps docs true: docs/writing-plugins.md's C listing must be examples/greeter/greeter.c, which
 * the build compiles with nothing but the public header, and docs/error-codes.md must list every
 * API error code of the table in src/common/error.h with its HTTP status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"

static char *slurp(const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", getenv("ASYNCD_SOURCE_DIR"), rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static void guide_listing_is_the_example(void **state)
{
	(void)state;
	char *doc = slurp("docs/writing-plugins.md");
	char *code = slurp("examples/greeter/greeter.c");
	assert_non_null(doc);
	assert_non_null(code);
	char *start = strstr(doc, "```c\n");
	assert_non_null(start);
	start += 5;
	char *end = strstr(start, "```");
	assert_non_null(end);
	*end = 0;
	assert_string_equal(start, code);
	free(doc);
	free(code);
}

/* Every code of the table, as "| `name` ... | HTTP |" in the API section (several names may share
 * a row). */
static void error_codes_are_documented(void **state)
{
	(void)state;
	char *doc = slurp("docs/error-codes.md");
	assert_non_null(doc);
	char *api = strstr(doc, "## API `error.code`");
	assert_non_null(api);
	for (int code = AE_FIRST_ + 1; code < AE_LAST_; code++) {
		char name[96], status[16];
		snprintf(name, sizeof(name), "`%s`", ae_name(code));
		snprintf(status, sizeof(status), "| %d |", ae_http_status(code));
		char *at = strstr(api, name);
		if (!at)
			fail_msg("docs/error-codes.md does not list the API error code %s", name);
		char *eol = strchr(at, '\n');
		char *st = strstr(at, status);
		if (!st || (eol && st > eol))
			fail_msg("docs/error-codes.md: %s is not listed with HTTP %d", name,
				 ae_http_status(code));
	}
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(guide_listing_is_the_example),
	    cmocka_unit_test(error_codes_are_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
