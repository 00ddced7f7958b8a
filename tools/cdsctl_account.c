/* TEMPORARY placeholder until the owner of this command writes it. */
#include "cdsctl.h"
#include "cli.h"

int cdsctl_account(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'account' is not built yet");
}
