/* TEMPORARY placeholder until the owner of this program writes it. */
#include <stdio.h>

int main(void)
{
	fputs("cds: not built yet\n", stderr);
	return 1;
}
