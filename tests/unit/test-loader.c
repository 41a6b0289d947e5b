/* Unit tests of src/plugin/loader.c: name and version rules, the ABI checks on a plug-in's info,
 * type lookup with the plug-in's stride, and loading the real sample assemblies, whose types are
 * run here against a fake host API table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "plugin/loader.h"

/* ---- names and versions ---- */

static void test_name_valid(void **state)
{
	char long_name[66];

	(void)state;
	assert_true(plugin_name_valid("a"));
	assert_true(plugin_name_valid("Samples_v2-x9"));
	memset(long_name, 'n', 64);
	long_name[64] = '\0';
	assert_true(plugin_name_valid(long_name));
	long_name[64] = 'n';
	long_name[65] = '\0';
	assert_false(plugin_name_valid(long_name));
	assert_false(plugin_name_valid(NULL));
	assert_false(plugin_name_valid(""));
	assert_false(plugin_name_valid("a.b"));
	assert_false(plugin_name_valid("a b"));
	assert_false(plugin_name_valid("caf\xc3\xa9"));
	assert_false(plugin_name_valid("a/b"));
}

static void test_version_parse_good(void **state)
{
	uint32_t v[4];

	(void)state;
	assert_int_equal(plugin_version_parse("1.0.0.0", v), 0);
	assert_true(v[0] == 1 && v[1] == 0 && v[2] == 0 && v[3] == 0);
	assert_int_equal(plugin_version_parse("65535.65535.65535.65535", v), 0);
	assert_true(v[0] == 65535 && v[1] == 65535 && v[2] == 65535 && v[3] == 65535);
	assert_int_equal(plugin_version_parse("2.10.300.4000", v), 0);
	assert_true(v[0] == 2 && v[1] == 10 && v[2] == 300 && v[3] == 4000);
}

static void test_version_parse_bad(void **state)
{
	static const char *const bad[] = {
	    "",		"1",	    "1.0.0",	"1.0.0.0.0",   "1..0.0",
	    "1.0.0.",	".1.0.0",   "01.0.0.0", "1.00.0.0",    "+1.0.0.0",
	    "-1.0.0.0", " 1.0.0.0", "1.0.0.0 ", "65536.0.0.0", "1.0.0.99999999999",
	    "a.b.c.d",	"1.0.0.0x", "1,0,0,0",
	};
	uint32_t v[4] = {7, 7, 7, 7};

	(void)state;
	assert_int_equal(plugin_version_parse(NULL, v), AE_INVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (plugin_version_parse(bad[i], v) != AE_INVAL)
			fail_msg("version \"%s\" was accepted", bad[i]);
	}
	assert_true(v[0] == 7 && v[1] == 7 && v[2] == 7 && v[3] == 7);
}

/* ---- validation of a plug-in's info ---- */

static int dummy_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	(void)ctx;
	(void)api;
	return ASYNCD_SUCCESS;
}

static const struct asyncd_plugin_type good_types[] = {
    {"one", "the first", NULL, NULL, dummy_execute},
    {"two", NULL, NULL, NULL, dummy_execute},
};

static struct asyncd_plugin_type mut_types[2];

static struct asyncd_plugin_info good_info(void)
{
	struct asyncd_plugin_info i =
	    ASYNCD_PLUGIN_INFO_INIT("demo", "1.2.3.4", "a demo assembly", good_types);
	return i;
}

/* Validate info and check that it fails with a message containing want. */
static void expect_invalid(const struct asyncd_plugin_info *info, const char *want)
{
	char err[512] = "";

	assert_int_equal(plugin_validate_info(info, err, sizeof(err)), AE_PLUGIN);
	if (!strstr(err, want))
		fail_msg("message \"%s\" does not contain \"%s\"", err, want);
}

static void test_validate_good(void **state)
{
	struct asyncd_plugin_info info = good_info();
	char err[256] = "untouched";

	(void)state;
	assert_int_equal(plugin_validate_info(&info, err, sizeof(err)), 0);
	assert_string_equal(err, "untouched");
	info.description = NULL;
	assert_int_equal(plugin_validate_info(&info, NULL, 0), 0);
}

static void test_validate_header(void **state)
{
	struct asyncd_plugin_info info = good_info();

	(void)state;
	expect_invalid(NULL, "returned NULL");
	info.abi_version = 99;
	expect_invalid(&info, "ABI version 99, this host supports version 1");
	info = good_info();
	info.size = offsetof(struct asyncd_plugin_info, types);
	expect_invalid(&info, "struct asyncd_plugin_info is");
	info.size = sizeof(info) + 64; /* a later, larger struct is fine */
	assert_int_equal(plugin_validate_info(&info, NULL, 0), 0);
}

static void test_validate_assembly(void **state)
{
	struct asyncd_plugin_info info = good_info();
	char huge[PLUGIN_DESCRIPTION_MAX + 2];

	(void)state;
	info.name = "bad name";
	expect_invalid(&info, "invalid assembly name");
	info.name = NULL;
	expect_invalid(&info, "invalid assembly name");
	info = good_info();
	info.version = "1.0";
	expect_invalid(&info, "invalid assembly version");
	info.version = NULL;
	expect_invalid(&info, "invalid assembly version");
	info = good_info();
	info.description = "bad \xff utf-8";
	expect_invalid(&info, "invalid assembly description");
	memset(huge, 'd', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	info.description = huge;
	expect_invalid(&info, "at most 1024 bytes");
	huge[PLUGIN_DESCRIPTION_MAX] = '\0';
	assert_int_equal(plugin_validate_info(&info, NULL, 0), 0);
}

static void test_validate_type_table(void **state)
{
	struct asyncd_plugin_info info = good_info();

	(void)state;
	info.type_size = offsetof(struct asyncd_plugin_type, execute);
	expect_invalid(&info, "type_size");
	info.type_size = sizeof(struct asyncd_plugin_type) + 1;
	expect_invalid(&info, "type_size");
	info = good_info();
	info.n_types = 0;
	expect_invalid(&info, "exports no plug-in types");
	info.n_types = PLUGIN_MAX_TYPES + 1;
	expect_invalid(&info, "at most 256");
	info = good_info();
	info.types = NULL;
	expect_invalid(&info, "types pointer is NULL");
}

static struct asyncd_plugin_info mutated_info(void)
{
	struct asyncd_plugin_info info = good_info();

	memcpy(mut_types, good_types, sizeof(mut_types));
	info.types = mut_types;
	return info;
}

static void test_validate_types(void **state)
{
	struct asyncd_plugin_info info = mutated_info();

	(void)state;
	mut_types[1].name = "one";
	expect_invalid(&info, "one is exported twice");
	info = mutated_info();
	mut_types[1].name = "";
	expect_invalid(&info, "plug-in type 2 has an invalid name");
	info = mutated_info();
	mut_types[0].name = NULL;
	expect_invalid(&info, "plug-in type 1 has an invalid name");
	info = mutated_info();
	mut_types[1].execute = NULL;
	expect_invalid(&info, "two has no execute function");
	info = mutated_info();
	mut_types[0].description = "\xc0\x80";
	expect_invalid(&info, "one has an invalid description");
	info = mutated_info();
	mut_types[0].description = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	assert_int_equal(plugin_validate_info(&info, NULL, 0), 0);
}

/* A plug-in built against a later ABI whose struct asyncd_plugin_type has grown. */
struct type_v9 {
	struct asyncd_plugin_type base;
	void *added_later[3];
};

static void test_type_stride(void **state)
{
	static const struct type_v9 types[] = {
	    {{"first", NULL, NULL, NULL, dummy_execute}, {NULL, NULL, NULL}},
	    {{"second", NULL, NULL, NULL, dummy_execute}, {NULL, NULL, NULL}},
	    {{"third", NULL, NULL, NULL, dummy_execute}, {NULL, NULL, NULL}},
	};
	struct asyncd_plugin_info info = good_info();
	struct plugin_lib lib = {NULL, &info};

	(void)state;
	info.types = &types[0].base;
	info.type_size = sizeof(struct type_v9);
	info.n_types = 3;
	assert_int_equal(plugin_validate_info(&info, NULL, 0), 0);
	assert_ptr_equal(plugin_lib_type(&lib, "third"), &types[2].base);
	assert_ptr_equal(plugin_lib_type(&lib, "first"), &types[0].base);
	assert_ptr_equal(plugin_info_type(&info, 1), &types[1].base);
	assert_null(plugin_lib_type(&lib, "fourth"));
	assert_null(plugin_lib_type(&lib, NULL));
	assert_null(plugin_lib_type(NULL, "first"));
}

/* ---- loading real libraries ---- */

static const char *build_path(char *buf, size_t n, const char *rel)
{
	const char *root = getenv("ASYNCD_BUILD_DIR");

	if (!root)
		skip();
	snprintf(buf, n, "%s/%s", root, rel);
	return buf;
}

static struct plugin_lib *open_ok(const char *rel)
{
	char path[4096], err[512] = "";
	struct plugin_lib *lib = NULL;

	build_path(path, sizeof(path), rel);
	if (plugin_lib_open(path, &lib, err, sizeof(err)) != 0)
		fail_msg("cannot open %s: %s", path, err);
	assert_non_null(lib);
	return lib;
}

static void test_open_samples(void **state)
{
	static const char *const names[] = {"noop",  "echo",  "fail", "flaky",
					    "sleep", "crash", "hog",  "raise"};
	struct plugin_lib *lib = open_ok("plugins/samples/samples.so");

	(void)state;
	assert_string_equal(lib->info->name, "samples");
	assert_string_equal(lib->info->version, "1.0.0.0");
	assert_int_equal(lib->info->n_types, 8);
	for (uint32_t i = 0; i < 8; i++) {
		assert_string_equal(plugin_info_type(lib->info, i)->name, names[i]);
		assert_non_null(plugin_lib_type(lib, names[i]));
	}
	assert_null(plugin_lib_type(lib, "nope"));
	plugin_lib_close(lib);
	plugin_lib_close(NULL);
}

static void test_open_errors(void **state)
{
	char path[4096], err[512] = "";
	struct plugin_lib *lib = (struct plugin_lib *)&err;

	(void)state;
	build_path(path, sizeof(path), "tests/plugins/does-not-exist.so");
	assert_int_equal(plugin_lib_open(path, &lib, err, sizeof(err)), AE_NOTFOUND);
	assert_non_null(strstr(err, "No such file"));
	build_path(path, sizeof(path), "tests/plugins/not_a_library.so");
	assert_int_equal(plugin_lib_open(path, &lib, err, sizeof(err)), AE_PLUGIN);
	assert_non_null(strstr(err, "not a loadable shared library"));
	build_path(path, sizeof(path), "tests/plugins/no_entry.so");
	assert_int_equal(plugin_lib_open(path, &lib, err, sizeof(err)), AE_PLUGIN);
	assert_non_null(strstr(err, "does not export asyncd_plugin_entry()"));
	build_path(path, sizeof(path), "tests/plugins/bad_abi.so");
	assert_int_equal(plugin_lib_open(path, &lib, err, sizeof(err)), AE_PLUGIN);
	assert_non_null(strstr(err, "ABI version 99"));
	assert_ptr_equal(lib, (struct plugin_lib *)&err);
	assert_int_equal(plugin_lib_open(NULL, &lib, err, sizeof(err)), AE_INVAL);
}

/* ---- the sample types, run against a fake host ---- */

struct asyncd_ctx {
	json_t *input;
	uint32_t attempt;
	int stop_after; /* should_stop() says yes from this call on; 0 = never */
	int stop_calls;
	bool refuse_raise;
	char *scratch; /* what input_string/input_json returned last */
	char *input_text;
	char trace[2048];
	char *output;
	char *raised;
	int code;
	int64_t delay;
	char message[512];
};

static const char *fake_input_json(const asyncd_ctx *ctx)
{
	return ctx->input_text;
}

static const char *fake_input_string(const asyncd_ctx *c, const char *key)
{
	asyncd_ctx *ctx = (asyncd_ctx *)c;
	json_t *v = json_object_get(ctx->input, key);

	if (!v)
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	free(ctx->scratch);
	ctx->scratch = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return ctx->scratch;
}

static int64_t fake_input_int(const asyncd_ctx *ctx, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(ctx->input, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static uint32_t fake_attempt(const asyncd_ctx *ctx)
{
	return ctx->attempt;
}

static void fake_trace(const asyncd_ctx *c, const char *fmt, ...) ASYNCD_PRINTF(2, 3);

static void fake_trace(const asyncd_ctx *c, const char *fmt, ...)
{
	asyncd_ctx *ctx = (asyncd_ctx *)c;
	size_t len = strlen(ctx->trace);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->trace + len, sizeof(ctx->trace) - len, fmt, ap);
	va_end(ap);
	len = strlen(ctx->trace);
	if (len + 1 < sizeof(ctx->trace))
		strcpy(ctx->trace + len, "\n");
}

static int fake_set_output(const asyncd_ctx *c, const char *json)
{
	asyncd_ctx *ctx = (asyncd_ctx *)c;

	free(ctx->output);
	ctx->output = strdup(json);
	return 0;
}

static int fake_raise_event(const asyncd_ctx *c, const char *event_json)
{
	asyncd_ctx *ctx = (asyncd_ctx *)c;

	if (ctx->refuse_raise)
		return -1;
	free(ctx->raised);
	ctx->raised = strdup(event_json);
	return 0;
}

static int fake_should_stop(const asyncd_ctx *c)
{
	asyncd_ctx *ctx = (asyncd_ctx *)c;

	ctx->stop_calls++;
	return ctx->stop_after > 0 && ctx->stop_calls >= ctx->stop_after;
}

static int fake_result(const asyncd_ctx *c, int code, int64_t delay_ms, const char *fmt, ...)
    ASYNCD_PRINTF(4, 5);

static int fake_result(const asyncd_ctx *c, int code, int64_t delay_ms, const char *fmt, ...)
{
	asyncd_ctx *ctx = (asyncd_ctx *)c;
	va_list ap;

	ctx->code = code;
	ctx->delay = delay_ms;
	va_start(ap, fmt);
	vsnprintf(ctx->message, sizeof(ctx->message), fmt, ap);
	va_end(ap);
	return code;
}

static const struct asyncd_host_api fake_api = {
    .size = sizeof(struct asyncd_host_api),
    .abi_version = ASYNCD_PLUGIN_ABI_VERSION,
    .input_json = fake_input_json,
    .input_string = fake_input_string,
    .input_int = fake_input_int,
    .attempt = fake_attempt,
    .trace = fake_trace,
    .set_output = fake_set_output,
    .raise_event = fake_raise_event,
    .should_stop = fake_should_stop,
    .result = fake_result,
};

static void ctx_done(asyncd_ctx *ctx)
{
	json_decref(ctx->input);
	free(ctx->scratch);
	free(ctx->input_text);
	free(ctx->output);
	free(ctx->raised);
	memset(ctx, 0, sizeof(*ctx));
}

static void ctx_init(asyncd_ctx *ctx, const char *input, uint32_t attempt)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->input = json_loads(input, 0, NULL);
	assert_non_null(ctx->input);
	ctx->input_text = json_dumps(ctx->input, JSON_COMPACT);
	ctx->attempt = attempt;
	ctx->code = -1;
}

/* Run type of lib with ctx; checks that execute's return matches what it reported. */
static int run_type(struct plugin_lib *lib, const char *type, asyncd_ctx *ctx)
{
	const struct asyncd_plugin_type *t = plugin_lib_type(lib, type);
	int r;

	assert_non_null(t);
	r = t->execute(NULL, ctx, &fake_api);
	assert_int_equal(r, ctx->code);
	return r;
}

static int samples_setup(void **state)
{
	*state = open_ok("plugins/samples/samples.so");
	return 0;
}

static int samples_teardown(void **state)
{
	plugin_lib_close(*state);
	return 0;
}

static void test_samples_noop_echo(void **state)
{
	asyncd_ctx ctx;

	ctx_init(&ctx, "{}", 1);
	assert_int_equal(run_type(*state, "noop", &ctx), ASYNCD_SUCCESS);
	ctx_done(&ctx);
	ctx_init(&ctx, "{\"a\":[1,2],\"b\":\"x\"}", 1);
	assert_int_equal(run_type(*state, "echo", &ctx), ASYNCD_SUCCESS);
	assert_string_equal(ctx.output, "{\"a\":[1,2],\"b\":\"x\"}");
	assert_non_null(strstr(ctx.trace, "{\"a\":[1,2],\"b\":\"x\"}"));
	assert_non_null(strstr(ctx.trace, "samples version 1.0.0.0"));
	ctx_done(&ctx);
}

static void test_samples_fail(void **state)
{
	asyncd_ctx ctx;

	ctx_init(&ctx, "{}", 1);
	assert_int_equal(run_type(*state, "fail", &ctx), ASYNCD_FAIL_PERMANENT);
	assert_string_equal(ctx.message, "samples.fail always fails");
	ctx_done(&ctx);
	ctx_init(&ctx, "{\"message\":\"no such account: 42\"}", 1);
	assert_int_equal(run_type(*state, "fail", &ctx), ASYNCD_FAIL_PERMANENT);
	assert_string_equal(ctx.message, "no such account: 42");
	ctx_done(&ctx);
}

static void test_samples_flaky(void **state)
{
	asyncd_ctx ctx;

	ctx_init(&ctx, "{}", 1);
	assert_int_equal(run_type(*state, "flaky", &ctx), ASYNCD_FAIL_TRANSIENT);
	assert_string_equal(ctx.message, "flaky: attempt 1 of 1 fails on purpose");
	assert_int_equal(ctx.delay, -1);
	ctx_done(&ctx);
	ctx_init(&ctx, "{}", 2);
	assert_int_equal(run_type(*state, "flaky", &ctx), ASYNCD_SUCCESS);
	ctx_done(&ctx);
	ctx_init(&ctx, "{\"fail_times\":3,\"delay_ms\":50}", 3);
	assert_int_equal(run_type(*state, "flaky", &ctx), ASYNCD_FAIL_TRANSIENT);
	assert_string_equal(ctx.message, "flaky: attempt 3 of 3 fails on purpose");
	assert_int_equal(ctx.delay, 50);
	ctx_done(&ctx);
	ctx_init(&ctx, "{\"fail_times\":0}", 1);
	assert_int_equal(run_type(*state, "flaky", &ctx), ASYNCD_SUCCESS);
	ctx_done(&ctx);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_samples_sleep(void **state)
{
	asyncd_ctx ctx;
	int64_t t0 = mono_ms();

	ctx_init(&ctx, "{\"ms\":40}", 1);
	assert_int_equal(run_type(*state, "sleep", &ctx), ASYNCD_SUCCESS);
	assert_true(mono_ms() - t0 >= 40);
	assert_true(ctx.stop_calls >= 3); /* slices of at most 10 ms */
	ctx_done(&ctx);
	t0 = mono_ms();
	ctx_init(&ctx, "{\"ms\":60000}", 1);
	ctx.stop_after = 3;
	assert_int_equal(run_type(*state, "sleep", &ctx), ASYNCD_FAIL_TRANSIENT);
	assert_string_equal(ctx.message, "interrupted");
	assert_true(mono_ms() - t0 < 5000);
	ctx_done(&ctx);
}

static void test_samples_hog(void **state)
{
	asyncd_ctx ctx;

	ctx_init(&ctx, "{\"mb\":8}", 1);
	assert_int_equal(run_type(*state, "hog", &ctx), ASYNCD_SUCCESS);
	ctx_done(&ctx);
	ctx_init(&ctx, "{\"mb\":9223372036854775807}", 1);
	assert_int_equal(run_type(*state, "hog", &ctx), ASYNCD_FAIL_PERMANENT);
	assert_string_equal(ctx.message, "could not allocate 9223372036854775807 MiB");
	ctx_done(&ctx);
	ctx_init(&ctx, "{\"mb\":-1}", 1);
	assert_int_equal(run_type(*state, "hog", &ctx), ASYNCD_FAIL_PERMANENT);
	ctx_done(&ctx);
}

static void test_samples_raise(void **state)
{
	asyncd_ctx ctx;

	ctx_init(&ctx, "{\"event\":{\"message\":\"Create\",\"entity\":\"account\"}}", 1);
	assert_int_equal(run_type(*state, "raise", &ctx), ASYNCD_SUCCESS);
	assert_string_equal(ctx.raised, "{\"message\":\"Create\",\"entity\":\"account\"}");
	ctx_done(&ctx);
	ctx_init(&ctx, "{\"event\":{\"message\":\"Create\"}}", 1);
	ctx.refuse_raise = true;
	assert_int_equal(run_type(*state, "raise", &ctx), ASYNCD_FAIL_PERMANENT);
	assert_non_null(strstr(ctx.message, "refused"));
	ctx_done(&ctx);
	ctx_init(&ctx, "{}", 1);
	assert_int_equal(run_type(*state, "raise", &ctx), ASYNCD_FAIL_PERMANENT);
	assert_null(ctx.raised);
	ctx_done(&ctx);
}

static void test_samples_crash(void **state)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		asyncd_ctx ctx;
		signal(SIGSEGV, SIG_DFL); /* also over a sanitizer's handler */
		ctx_init(&ctx, "{}", 1);
		run_type(*state, "crash", &ctx);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
}

/* Two versions loaded side by side (RTLD_LOCAL) each run their own code. */
static void test_samples_versions(void **state)
{
	struct plugin_lib *v2 = open_ok("plugins/samples/samples-1.0.1.0.so");
	struct plugin_lib *v20 = open_ok("plugins/samples/samples-2.0.0.0.so");
	asyncd_ctx ctx;

	assert_string_equal(v2->info->version, "1.0.1.0");
	assert_string_equal(v20->info->version, "2.0.0.0");
	ctx_init(&ctx, "{}", 1);
	run_type(v2, "echo", &ctx);
	assert_non_null(strstr(ctx.trace, "samples version 1.0.1.0"));
	ctx_done(&ctx);
	ctx_init(&ctx, "{}", 1);
	run_type(*state, "echo", &ctx);
	assert_non_null(strstr(ctx.trace, "samples version 1.0.0.0"));
	ctx_done(&ctx);
	plugin_lib_close(v2);
	plugin_lib_close(v20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_version_parse_good),
	    cmocka_unit_test(test_version_parse_bad),
	    cmocka_unit_test(test_validate_good),
	    cmocka_unit_test(test_validate_header),
	    cmocka_unit_test(test_validate_assembly),
	    cmocka_unit_test(test_validate_type_table),
	    cmocka_unit_test(test_validate_types),
	    cmocka_unit_test(test_type_stride),
	    cmocka_unit_test(test_open_samples),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test_setup_teardown(test_samples_noop_echo, samples_setup,
					    samples_teardown),
	    cmocka_unit_test_setup_teardown(test_samples_fail, samples_setup, samples_teardown),
	    cmocka_unit_test_setup_teardown(test_samples_flaky, samples_setup, samples_teardown),
	    cmocka_unit_test_setup_teardown(test_samples_sleep, samples_setup, samples_teardown),
	    cmocka_unit_test_setup_teardown(test_samples_hog, samples_setup, samples_teardown),
	    cmocka_unit_test_setup_teardown(test_samples_raise, samples_setup, samples_teardown),
	    cmocka_unit_test_setup_teardown(test_samples_crash, samples_setup, samples_teardown),
	    cmocka_unit_test_setup_teardown(test_samples_versions, samples_setup, samples_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
