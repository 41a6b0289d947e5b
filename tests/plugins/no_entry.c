/* Test plug-in: a shared library that exports a function, but none named asyncd_plugin_entry,
 * which the host must refuse at registration. */
#include "asyncd/plugin.h"

ASYNCD_EXPORT int not_an_asyncd_plugin(void);

ASYNCD_EXPORT int not_an_asyncd_plugin(void)
{
	return 42;
}
