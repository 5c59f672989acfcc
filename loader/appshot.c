// SPDX-License-Identifier: GPL-2.0-only
/* appshot: run applications under tracing (snapshot and restore build on it). */
#include "cmd.h"
#include "commands.h"

static const struct cmd cmds[] = {
	{ "run", do_run, "--aid NAME [-d] [--share-ns] [--json] [--] CMD [ARGS...]",
	  "start CMD as a new application, traced, in its own pid, ipc and uts namespaces" },
	{},
};

int main(int argc, char **argv)
{
	return cmd_main("appshot", cmds, "appshot: save and bring back running Linux applications",
			argc, argv);
}
