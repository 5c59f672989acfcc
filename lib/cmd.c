// SPDX-License-Identifier: GPL-2.0-only
/* Dispatching subcommands, common options, and how errors are shown. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <linux/types.h>

#include "cmd.h"
#include "image.h"
#include "log.h"
#include "trace.h"

int json_output;
const char *prog_name = "appshot";
static const struct cmd *cmd_table;
static char **cmd_argv; /* the running command's, for messages */

static const struct cmd *find_cmd(const char *name)
{
	for (const struct cmd *c = cmd_table; c && c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void print_usage(FILE *f, const struct cmd *c)
{
	fprintf(f, "usage: %s %s %s\n", prog_name, c->name, c->usage);
}

int usage_error(const char *cmd_name, const char *fmt, ...)
{
	const struct cmd *c = find_cmd(cmd_name);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c)
		pr_err("%s: %s (usage: %s %s %s)", cmd_name, msg, prog_name, c->name, c->usage);
	else
		pr_err("%s: %s", cmd_name, msg);
	return CMD_USAGE;
}

int common_opt(int opt, const char *cmd_name)
{
	const struct cmd *c;

	switch (opt) {
	case 'j':
		json_output = 1;
		return 0;
	case 'v':
		log_set_level(LOG_DEBUG);
		return 0;
	case 'h':
		c = find_cmd(cmd_name);
		if (c) {
			print_usage(stdout, c);
			printf("%s\n", c->summary);
		}
		return -ECANCELED;
	case '?':
		if (optopt)
			return usage_error(cmd_name, "option -%c is unknown or needs an argument",
					   optopt);
		return usage_error(cmd_name, "option '%s' is unknown or needs an argument",
				   optind > 0 ? cmd_argv[optind - 1] : "?");
	}
	return usage_error(cmd_name, "unexpected option");
}

static void print_help(const char *about)
{
	printf("%s\n\nusage: %s [-v] [--json] COMMAND [ARGS]\n\ncommands:\n", about, prog_name);
	for (const struct cmd *c = cmd_table; c->name; c++)
		printf("  %-8s %s\n", c->name, c->summary);
	printf("\n'%s COMMAND --help' shows a command's arguments.\n", prog_name);
}

int cmd_main(const char *prog, const struct cmd *cmds, const char *about, int argc,
	     char **argv)
{
	const struct cmd *c;
	int i, ret;

	prog_name = prog;
	cmd_table = cmds;
	log_init(prog);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			json_output = 1;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			log_set_level(LOG_DEBUG);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			print_help(about);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("%s (appshot) %s; image format %d, tracer tables layout %d\n", prog,
			       APPSHOT_VERSION, IMAGE_FORMAT, APPSHOT_TRACE_ABI);
			return 0;
		} else {
			pr_err("unknown option %s (try %s --help)", argv[i], prog);
			return 2;
		}
	}
	if (i == argc) {
		print_help(about);
		return 2;
	}
	c = find_cmd(argv[i]);
	if (!c) {
		pr_err("unknown command '%s' (try %s --help)", argv[i], prog);
		return 2;
	}
	log_capture(1);
	optind = 1;
	opterr = 0; /* commands name a bad option themselves, on one line */
	cmd_argv = argv + i;
	ret = c->fn(argc - i, argv + i);
	if (ret == -ECANCELED)
		return 0;
	if (ret && json_output) {
		struct json_object *o = json_object_new_object();
		const char *msg = log_last_error();

		json_object_object_add(o, "error",
				       json_object_new_string(msg ? msg : strerror(-ret)));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	if (ret == CMD_USAGE)
		return 2;
	return ret ? 1 : 0;
}
