/* Keeps docs/writing-plugins.md true: its C listing must be examples/greeter/greeter.c, which the
 * build compiles with nothing but the public header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(guide_listing_is_the_example),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
