// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot-trace load and unload: keep the tracer loaded without
 * applications (resident), so that no `appshot run` or `restore` pays for
 * loading it, or remove it. Started at boot by appshot-trace.service.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "commands.h"
#include "log.h"
#include "registry.h"
#include "tables.h"
#include "tracer.h"
#include "util.h"

static int no_args(int argc, char **argv, const char *name)
{
	static const struct option opts[] = { COMMON_LONG_OPTS, {} };
	int c, r;

	while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		r = common_opt(c, name);
		if (r)
			return r;
	}
	if (optind < argc)
		return usage_error(name, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int do_load(int argc, char **argv)
{
	struct registry reg = { .lock_fd = -1 };
	struct tracer tr = { .fd = { -1 } };
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	int err, was_loaded;

	err = no_args(argc, argv, "load");
	if (err)
		return err;
	err = tracer_check_env();
	if (err)
		return err;
	/* the registry's lock keeps other commands from loading or unloading meanwhile */
	err = registry_open(&reg, registry_default_dir(), 1);
	if (err)
		return err;
	was_loaded = tracer_is_loaded();
	if (!was_loaded && (err = tracer_load()))
		goto out;
	err = tracer_open(&tr);
	if (!err)
		err = tracer_set_resident(&tr, 1);
	if (err) {
		pr_err("cannot make the tracer resident: %s", strerror(-err));
		goto out;
	}
	if (json_output)
		printf("{\"loaded\":true,\"resident\":true,\"was_loaded\":%s,\"ms\":%.1f}\n",
		       was_loaded ? "true" : "false", (now_ns(CLOCK_MONOTONIC) - start) / 1e6);
	else if (was_loaded)
		printf("the tracer was loaded; it stays loaded now without applications\n");
	else
		printf("tracer loaded in %.1f ms; it stays loaded without applications\n",
		       (now_ns(CLOCK_MONOTONIC) - start) / 1e6);
out:
	tracer_close(&tr);
	registry_close(&reg);
	return err;
}

int do_unload(int argc, char **argv)
{
	struct registry reg = { .lock_fd = -1 };
	struct tracer tr = { .fd = { -1 } };
	int err, n;

	err = no_args(argc, argv, "unload");
	if (err)
		return err;
	err = tracer_check_env();
	if (err)
		return err;
	err = registry_open(&reg, registry_default_dir(), 1);
	if (err)
		return err;
	if (!tracer_is_loaded()) {
		if (json_output)
			printf("{\"unloaded\":false}\n");
		else
			printf("the tracer is not loaded\n");
		goto out;
	}
	err = tracer_open(&tr);
	if (err)
		goto out;
	n = tables_count_apps(&tr);
	if (n != 0) {
		pr_err("%d application%s traced: the tracer stays until the last is detached "
		       "(appshot-trace detach --all)",
		       n, n == 1 ? " is" : "s are");
		err = -EBUSY;
		goto out;
	}
	tracer_close(&tr);
	err = tracer_unload();
	if (err) {
		pr_err("cannot remove the tracer's pins under %s", APPSHOT_PIN_ROOT);
		goto out;
	}
	if (json_output)
		printf("{\"unloaded\":true}\n");
	else
		printf("tracer unloaded\n");
out:
	tracer_close(&tr);
	registry_close(&reg);
	return err;
}
