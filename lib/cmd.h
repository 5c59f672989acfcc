/* SPDX-License-Identifier: GPL-2.0-only */
/* Subcommand tables in bpftool's style, and the options every command takes. */
#ifndef APPSHOT_CMD_H
#define APPSHOT_CMD_H

#include <getopt.h>

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage; /* the arguments after the command's name */
	const char *summary;
};

/* Set by --json: commands print machine output (errors too) on stdout. */
extern int json_output;
extern const char *prog_name;

/*
 * Parse the global options, run the command named by the first argument
 * and turn its result (0 or -errno) into an exit code: 0, 1, or 2 for a
 * usage error (CMD_USAGE, from usage_error()).
 */
#define CMD_USAGE (-4096) /* no errno: a command line that makes no sense */
int cmd_main(const char *prog, const struct cmd *cmds, const char *about, int argc,
	     char **argv);

/* For a command's getopt_long: --json, -v/--verbose, -h/--help handled alike. */
#define COMMON_LONG_OPTS                                                      \
	{ "json", no_argument, NULL, 'j' }, { "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }
#define COMMON_SHORT_OPTS "vh"
/*
 * The options every command takes (--json, -v, --help) and bad ones: 0 when
 * handled, or what the command returns: -ECANCELED after --help (the usage
 * is printed, exit 0), CMD_USAGE for an unknown option (reported).
 */
int common_opt(int opt, const char *cmd_name);
/* Print a command's usage; returns CMD_USAGE for the caller to return. */
int usage_error(const char *cmd_name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* APPSHOT_CMD_H */
