/* asyncctl, the command-line client of asyncd: everything is in src/cli/ (cli_main.c
 * dispatches to the verb tables); this file is only the process entry point. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
