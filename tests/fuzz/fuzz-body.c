/* libFuzzer entry for the HTTP body parsers (src/api/body.c, common/jfields.c, the event checks of
 * plugin/events.c and the settings checks of common/settings.c). Built once per body kind with
 * -DFUZZ_BODY=<name>: event, ndjson, job, step, step_patch, settings, admin (users, tokens, login,
 * postpone, job actions, service configuration, bulk actions, bulk deletes and job schedules: the
 * first byte picks one). What a parser accepts must be accepted again when checked a second
 * time; what it refuses must say why. Any crash, sanitizer report or abort() is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "common/settings.h"

#define FUZZ_event 1
#define FUZZ_ndjson 2
#define FUZZ_job 3
#define FUZZ_step 4
#define FUZZ_step_patch 5
#define FUZZ_settings 6
#define FUZZ_admin 7
#define FUZZ_PICK_(x) FUZZ_##x
#define FUZZ_PICK(x) FUZZ_PICK_(x)
#define FUZZ_WHICH FUZZ_PICK(FUZZ_BODY)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused_says_why(int rc, const char *err)
{
	if (rc < 0 && !err[0])
		abort(); /* a refusal without a message */
}

static int count_event(json_t *ev, size_t line, void *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (!json_is_object(ev) || line == 0)
		abort();
	(*(size_t *)arg)++;
	return 0;
}

static void fuzz_ndjson(const char *p, size_t n)
{
	char err[1024] = "";
	size_t seen = 0, events = 0;
	int rc = body_ndjson_each(p, n, count_event, &seen, &events, err, sizeof(err));
	refused_says_why(rc, err);
	if (rc == 0 && seen != events)
		abort();
}

static void fuzz_kind(enum body_kind kind, const char *p, size_t n)
{
	char err[1024] = "";
	json_t *v = NULL;
	int rc = body_parse(kind, p, n, &v, err, sizeof(err));
	refused_says_why(rc, err);
	if (rc == 0 && body_check(kind, v, err, sizeof(err)) != 0)
		abort(); /* accepted once, refused the second time */
	json_decref(v);
}

static enum body_kind admin_kind(uint8_t b)
{
	static const enum body_kind kinds[] = {BODY_USER,     BODY_TOKEN,	BODY_LOGIN,
					       BODY_POSTPONE, BODY_JOB_ACTION,	BODY_SERVICE,
					       BODY_JOB_BULK, BODY_BULK_DELETE, BODY_JOB_PATCH};
	return kinds[b % (sizeof(kinds) / sizeof(kinds[0]))];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *p = (const char *)data;
	if (!ready) {
		settings_init();
		ready = 1;
	}
	static const enum body_kind kind[] = {
	    [FUZZ_event] = BODY_EVENT,	     [FUZZ_job] = BODY_JOB,
	    [FUZZ_step] = BODY_STEP,	     [FUZZ_step_patch] = BODY_STEP_PATCH,
	    [FUZZ_settings] = BODY_SETTINGS,
	};
	if (FUZZ_WHICH == FUZZ_ndjson)
		fuzz_ndjson(p, size);
	else if (FUZZ_WHICH == FUZZ_admin && size)
		fuzz_kind(admin_kind(data[0]), p + 1, size - 1);
	else if (FUZZ_WHICH != FUZZ_admin)
		fuzz_kind(kind[FUZZ_WHICH], p, size);
	return 0;
}
