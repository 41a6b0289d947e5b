/* Test plug-in: assembly "gate".
 * - type "held", whose create() does not return until a file exists. The step's configuration is a
 *   path P: create() writes P.in (so a test knows it is inside), then waits for P (at most 60 s).
 *   Tests use it to hold a type's create() while other runs go on. Where it cannot write P.in (the
 *   walled worker that checks a new step's configuration) it returns at once.
 * - type "strict", whose create() accepts only a configuration starting with "ok" and a secure
 *   configuration other than "bad"; its runs put {"config": CONFIG} (the configuration its
 *   instance was made with) in the output. */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "asyncd/plugin.h"

static int held_create(const char *config, const char *secure, void **ret, char *err, size_t errlen)
{
	char in[4200];
	struct timespec pause = {0, 20 * 1000000L};
	(void)secure;
	if (!config || !config[0]) {
		snprintf(err, errlen, "the configuration must be a file path");
		return -1;
	}
	snprintf(in, sizeof(in), "%s.in", config);
	int fd = open(in, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*ret = NULL;
		return 0;
	}
	close(fd);
	for (int i = 0; i < 3000 && access(config, F_OK) != 0; i++)
		nanosleep(&pause, NULL);
	*ret = NULL;
	return 0;
}

static int held_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "the gate opened");
}

static int strict_create(const char *config, const char *secure, void **ret, char *err,
			 size_t errlen)
{
	if (!config || strncmp(config, "ok", 2)) {
		snprintf(err, errlen, "the configuration must start with \"ok\", got \"%s\"",
			 config ? config : "(none)");
		return -1;
	}
	if (secure && !strcmp(secure, "bad")) {
		snprintf(err, errlen, "the secure configuration is not accepted");
		return -1;
	}
	*ret = strdup(config);
	return *ret ? 0 : -1;
}

static void strict_destroy(void *instance)
{
	free(instance);
}

static int strict_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	char out[300];
	snprintf(out, sizeof(out), "{\"config\":\"%.200s\"}", (const char *)instance);
	api->set_output(ctx, out);
	return api->result(ctx, ASYNCD_SUCCESS, -1, "ran with %.200s", (const char *)instance);
}

static const struct asyncd_plugin_type gate_types[] = {
    {"held", NULL, held_create, NULL, held_execute},
    {"strict", NULL, strict_create, strict_destroy, strict_execute},
};

static const struct asyncd_plugin_info gate_info =
    ASYNCD_PLUGIN_INFO_INIT("gate", "1.0.0.0", "create() waits for a file", gate_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &gate_info;
}
