// SPDX-License-Identifier: GPL-2.0-only
/* appshot: run, snapshot, restore and inspect applications. */
#include "cmd.h"
#include "commands.h"

static const struct cmd cmds[] = {
	{ "run", do_run, "--aid NAME [-d] [--share-ns] [--preserve-fds N] [--json] [--] CMD [ARGS...]",
	  "start CMD as a new application, traced, in its own pid, ipc and uts namespaces" },
	{ "snapshot", do_snapshot, "NAME -D DIR [--leave-running] [--no-sync] [--json]",
	  "freeze an application and write its image to DIR; then stop it, or let it run on" },
	{ "restore", do_restore, "-D DIR [--aid NAME] [--netns PATH] [--inherit-fd KEY[=FD]]... [-d] [--check-only] [--json]",
	  "bring an application back from its image; without -d, wait for it and pass on its exit "
	  "status" },
	{ "inspect", do_inspect, "DIR [--json]",
	  "verify an image and show what it holds: processes, threads, memory, files, signals" },
	{ "check", do_check, "[--json]",
	  "what this kernel and machine allow, and what appshot needs of them" },
	{},
};

int main(int argc, char **argv)
{
	return cmd_main("appshot", cmds, "appshot: save and bring back running Linux applications",
			argc, argv);
}
