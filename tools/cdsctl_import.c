/* TEMPORARY placeholder until the owner of this command writes it. */
#include "cdsctl.h"
#include "cli.h"

int cdsctl_import(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'import' is not built yet");
}
