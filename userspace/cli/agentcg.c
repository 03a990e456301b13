// SPDX-License-Identifier: GPL-2.0
/* agentcg: the command-line client of agentcgd (cli_main.c does the work;
 * agentcg-sh links the same modules with a main of its own). */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
