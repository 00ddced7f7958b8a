/* TEMPORARY placeholder until the owner of this command writes it. */
#include "cdsctl.h"
#include "cli.h"

int cdsctl_log(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'log' is not built yet");
}
