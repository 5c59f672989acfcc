// SPDX-License-Identifier: GPL-2.0-only
/*
 * Holding traffic while an application is away: the TC program of
 * bpf/hold/hold.bpf.c on every interface's ingress, and the map of held
 * endpoints, pinned under HOLD_DIR so that they outlive the snapshot that
 * put them there; the restore takes its application's entries out, and the
 * last one out removes the program, the hooks it made and the pins.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hold.h"
#include "hold.skel.h"
#include "lib_hold.h"
#include "log.h"

#define HOLD_DIR "/sys/fs/bpf/appshot-hold"
#define HOLD_MAP HOLD_DIR "/held"
#define HOLD_PROG HOLD_DIR "/ingress"
#define HOLD_HANDLE 0xa550
#define HOLD_PRIO 1
#define HOOK_MARK 0xffffffffu /* a map entry that says: we made this interface's clsact */

/* The program on ingress of every interface; the clsact hooks we had to make, marked. */
static int attach_all(int prog, int map)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int err = 0;

	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index && !err; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = i->if_index, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HOLD_HANDLE, .priority = HOLD_PRIO,
			    .prog_fd = prog, .flags = BPF_TC_F_REPLACE);
		int r = bpf_tc_hook_create(&hook);

		if (r == 0) {
			struct hold_key k = { .port = i->if_index };
			__u32 mark = HOOK_MARK;

			bpf_map_update_elem(map, &k, &mark, BPF_ANY);
		} else if (r != -EEXIST) {
			err = r;
			break;
		}
		err = bpf_tc_attach(&hook, &opts);
		if (err)
			pr_err("cannot hold the traffic on %s: %s", i->if_name, strerror(-err));
	}
	if_freenameindex(ifs);
	return err;
}

static void detach_all(int map)
{
	struct if_nameindex *ifs = if_nameindex(), *i;

	for (i = ifs; i && i->if_index; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = i->if_index, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HOLD_HANDLE, .priority = HOLD_PRIO);
		struct hold_key k = { .port = i->if_index };
		__u32 mark;

		bpf_tc_detach(&hook, &opts);
		if (bpf_map_lookup_elem(map, &k, &mark) == 0 && mark == HOOK_MARK)
			bpf_tc_hook_destroy(&hook);
	}
	if (ifs)
		if_freenameindex(ifs);
}

int hold_add(__u32 aid, const struct hold_key *keys, size_t n)
{
	struct hold *skel = NULL;
	int map = bpf_obj_get(HOLD_MAP), prog = -1, err = 0;

	if (!n)
		return 0;
	if (map < 0) {
		mkdir(HOLD_DIR, 0700);
		skel = hold__open();
		if (!skel || bpf_map__set_pin_path(skel->maps.held, HOLD_MAP) ||
		    (err = hold__load(skel)) ||
		    (err = bpf_program__pin(skel->progs.hold_ingress, HOLD_PROG))) {
			err = err ?: -EINVAL;
			pr_err("cannot load the traffic hold: %s", strerror(-err));
			goto out;
		}
		map = dup(bpf_map__fd(skel->maps.held));
		prog = dup(bpf_program__fd(skel->progs.hold_ingress));
	} else {
		prog = bpf_obj_get(HOLD_PROG);
	}
	if (map < 0 || prog < 0) {
		err = -errno;
		pr_perror("cannot open the traffic hold");
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(map, &keys[i], &aid, BPF_ANY))
			err = -errno;
	if (!err)
		err = attach_all(prog, map);
out:
	if (map >= 0)
		close(map);
	if (prog >= 0)
		close(prog);
	hold__destroy(skel);
	if (err)
		hold_release(aid);
	return err;
}

int hold_follow(__u32 aid)
{
	int map = bpf_obj_get(HOLD_MAP), prog = -1, held = 0, err = 0;
	struct hold_key k, *prev = NULL;
	__u32 v;

	if (map < 0)
		return 0; /* nothing held */
	while (!held && bpf_map_get_next_key(map, prev, &k) == 0) {
		held = k.family && bpf_map_lookup_elem(map, &k, &v) == 0 && v == aid;
		prev = &k;
	}
	if (held) {
		prog = bpf_obj_get(HOLD_PROG);
		err = prog < 0 ? -errno : attach_all(prog, map);
		if (err)
			pr_err("cannot hold the traffic here: %s", strerror(-err));
	}
	if (prog >= 0)
		close(prog);
	close(map);
	return err;
}

int hold_release(__u32 aid)
{
	int map = bpf_obj_get(HOLD_MAP), others = 0;
	struct hold_key k, next, *prev = NULL;
	__u32 v;

	if (map < 0)
		return 0; /* nothing held */
	while (bpf_map_get_next_key(map, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(map, &k, &v))
			continue;
		if (k.family && v == aid) {
			bpf_map_delete_elem(map, &k);
			prev = NULL; /* start again: the walk's place is gone */
		} else if (k.family) {
			others = 1;
		}
	}
	if (!others) {
		detach_all(map);
		unlink(HOLD_PROG);
		unlink(HOLD_MAP);
		rmdir(HOLD_DIR);
	}
	close(map);
	return 0;
}
