/* posix_spawn attributes shared by every helper process the host starts (see spawn.h). */
#include <signal.h>

#include "common/error.h"
#include "common/spawn.h"

/* Signals the host may ignore or handle, which a child must find at their defaults. */
static void default_signals(sigset_t *set)
{
	static const int sigs[] = {SIGPIPE, SIGCHLD, SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
				   SIGUSR1, SIGUSR2, SIGALRM, SIGXFSZ, SIGXCPU};
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(set, sigs[i]);
}

int spawn_attrs_init(posix_spawnattr_t *attr)
{
	sigset_t none, dflt;
	sigemptyset(&none);
	default_signals(&dflt);
	if (posix_spawnattr_init(attr) != 0)
		return AE_NOMEM;
	if (posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(attr, 0) != 0 ||
	    posix_spawnattr_setsigmask(attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(attr, &dflt) != 0) {
		posix_spawnattr_destroy(attr);
		return AE_NOMEM;
	}
	return 0;
}
