/* TEMPORARY placeholder until the owner of this command writes it. */
#include "cdsctl.h"
#include "cli.h"

int cdsctl_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'init' is not built yet");
}
