/* Test plug-in: a valid assembly ("noisy") whose constructor writes 1 MiB to stdout and 1 MiB to
 * stderr, to show that output of a library can neither corrupt the worker's answer nor block it. */
#include <string.h>
#include <unistd.h>

#include "asyncd/plugin.h"

static void noisy_write(int fd, size_t total)
{
	char line[1024];

	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	for (size_t done = 0; done < total; done += sizeof(line))
		if (write(fd, line, sizeof(line)) < 0)
			return;
}

__attribute__((constructor)) static void noisy_on_load(void)
{
	noisy_write(STDOUT_FILENO, 1024 * 1024);
	noisy_write(STDERR_FILENO, 1024 * 1024);
}

static int noisy_execute(void *instance, asyncd_ctx *ctx, const struct asyncd_host_api *api)
{
	(void)instance;
	return api->result(ctx, ASYNCD_SUCCESS, -1, "quiet now");
}

static const struct asyncd_plugin_type noisy_types[] = {
    {"run", NULL, NULL, NULL, noisy_execute},
};

static const struct asyncd_plugin_info noisy_info =
    ASYNCD_PLUGIN_INFO_INIT("noisy", "1.0.0.0", NULL, noisy_types);

ASYNCD_EXPORT const struct asyncd_plugin_info *asyncd_plugin_entry(void)
{
	return &noisy_info;
}
