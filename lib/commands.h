/* SPDX-License-Identifier: GPL-2.0-only */
/* The commands of appshot and appshot-trace. */
#ifndef APPSHOT_COMMANDS_H
#define APPSHOT_COMMANDS_H

int do_run(int argc, char **argv);
int do_attach(int argc, char **argv);
int do_detach(int argc, char **argv);
int do_status(int argc, char **argv);
int do_events(int argc, char **argv);
int do_load(int argc, char **argv);
int do_unload(int argc, char **argv);
int do_snapshot(int argc, char **argv);
int do_restore(int argc, char **argv);
int do_inspect(int argc, char **argv);
int do_check(int argc, char **argv);

#endif /* APPSHOT_COMMANDS_H */
