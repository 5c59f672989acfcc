// SPDX-License-Identifier: GPL-2.0-only
/* appshot-trace: follow applications in the kernel and show what they hold. */
#include "cmd.h"
#include "commands.h"

static const struct cmd cmds[] = {
	{ "attach", do_attach, "--aid NAME --pid PID [--external-fd FD]... [--json]",
	  "adopt a running process tree (every descendant process and thread) as an application" },
	{ "detach", do_detach, "--aid NAME | --all [--kill] [--json]",
	  "stop tracing an application and remove what appshot made for it "
	  "(--kill ends its processes too)" },
	{ "status", do_status, "[--aid NAME] [--maps] [--json]",
	  "list applications, their processes and threads (virtual <-> system pids) "
	  "and what each holds" },
	{ "events", do_events, "--aid NAME [--count N] [--duration SECONDS] [--ring-size BYTES] [--json]",
	  "stream an application's resource events live until Ctrl-C, then tell how many were lost" },
	{ "load", do_load, "[--json]",
	  "load the tracer and keep it loaded without applications (resident), as at boot" },
	{ "unload", do_unload, "[--json]",
	  "remove the tracer (refused while an application is traced)" },
	{},
};

int main(int argc, char **argv)
{
	return cmd_main("appshot-trace", cmds,
			"appshot-trace: follow applications in the kernel with eBPF", argc, argv);
}
