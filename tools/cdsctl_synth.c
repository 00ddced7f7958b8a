/* TEMPORARY placeholder until the owner of this command writes it. */
#include "cdsctl.h"
#include "cli.h"

int cdsctl_synth(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'synth' is not built yet");
}
