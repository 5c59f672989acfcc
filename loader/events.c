// SPDX-License-Identifier: GPL-2.0-only
/*
 * appshot-trace events: stream an application's resource events live.
 *
 * The watcher makes a ring buffer and puts it in the pinned `rings` map
 * under the application's number; the programs emit events only while a
 * ring is there, and count what a full ring drops. On exit the ring is
 * taken out again and the count of lost events is reported.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "app.h"
#include "cmd.h"
#include "commands.h"
#include "describe.h"
#include "log.h"
#include "registry.h"
#include "tracer.h"
#include "util.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct watch {
	uint64_t start_ns;
	uint64_t seen;
	uint64_t max;
};

static int on_event(void *ctx, void *data, size_t size)
{
	const struct appshot_event *e = data;
	struct watch *w = ctx;
	struct json_object *o;
	char line[1024];

	if (size < sizeof(*e))
		return 0;
	if (json_output) {
		o = event_json(e);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		event_str(e, line, sizeof(line));
		printf("%10.6f %s\n", (double)(e->ts_ns - w->start_ns) / 1e9, line);
	}
	w->seen++;
	if (w->max && w->seen >= w->max)
		stop = 1;
	return 0;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

int do_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "aid", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'D' },
		{ "ring-size", required_argument, NULL, 'r' },
		COMMON_LONG_OPTS,
		{},
	};
	struct registry reg = { .lock_fd = -1 };
	struct tracer tr = { .fd = { -1 } };
	struct ring_buffer *rb = NULL;
	struct watch w = { .start_ns = now_ns(CLOCK_BOOTTIME) };
	struct app_info info, now;
	struct app_record rec;
	const char *name = NULL;
	double duration = 0;
	int c, r, err, ring = -1;
	unsigned long long ring_size = APPSHOT_RING_SIZE;
	__u32 old_id, our_id, cur_id;
	uint64_t deadline = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "a:c:D:r:" COMMON_SHORT_OPTS, opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			name = optarg;
			break;
		case 'c':
			w.max = strtoull(optarg, &end, 10);
			if (*end || !w.max)
				return usage_error("events", "invalid --count '%s'", optarg);
			break;
		case 'D':
			duration = strtod(optarg, &end);
			if (*end || duration <= 0)
				return usage_error("events", "invalid --duration '%s'", optarg);
			break;
		case 'r':
			ring_size = strtoull(optarg, &end, 0);
			if (*end || ring_size < 4096 || ring_size > (1ull << 30) ||
			    (ring_size & (ring_size - 1)))
				return usage_error("events",
						   "--ring-size must be a power of two from 4096 to 1 GiB");
			break;
		default:
			r = common_opt(c, "events");
			if (r)
				return r;
		}
	}
	if (!name)
		return usage_error("events", "--aid NAME is required");
	err = tracer_check_env();
	if (err)
		return err;
	err = registry_open(&reg, registry_default_dir(), 0);
	if (!err)
		err = app_lookup(&reg, name, &rec);
	registry_close(&reg);
	if (err)
		return err;
	err = tracer_open(&tr);
	if (err == -ENOENT)
		pr_err("application '%s' is not traced: the tracer is not loaded", name);
	if (err)
		return err;
	if (bpf_map_lookup_elem(tr.fd[TMAP_APPS], &rec.aid, &info)) {
		err = -ENOENT;
		pr_err("application '%s' is not traced", name);
		goto out;
	}

	ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "appshot_events", 0, 0, ring_size, NULL);
	if (ring < 0) {
		err = -errno;
		pr_perror("cannot create a ring buffer for events");
		goto out;
	}
	rb = ring_buffer__new(ring, on_event, &w, NULL);
	if (!rb) {
		err = -errno;
		pr_perror("cannot read the event ring buffer");
		goto out;
	}
	our_id = map_id(ring);
	if (bpf_map_lookup_elem(tr.fd[TMAP_RINGS], &rec.aid, &old_id) == 0)
		pr_warn("application '%s' had another watcher: it gets no more events", name);
	if (bpf_map_update_elem(tr.fd[TMAP_RINGS], &rec.aid, &ring, BPF_ANY)) {
		err = -errno;
		pr_perror("cannot attach the event ring of '%s'", name);
		goto out;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (duration > 0)
		deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)(duration * 1e9);
	/* The first line says the watch is on: events from here are seen or counted lost. */
	if (json_output)
		printf("{\"watching\":\"%s\",\"aid\":%u,\"ring_size\":%llu}\n", name, rec.aid,
		       ring_size);
	else
		fprintf(stderr, "watching application %s (aid %u); Ctrl-C stops\n", name, rec.aid);
	fflush(stdout);
	while (!stop) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			pr_err("reading events failed: %s", strerror(-err));
			break;
		}
		err = 0;
		fflush(stdout);
		if (deadline && now_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (bpf_map_lookup_elem(tr.fd[TMAP_APPS], &rec.aid, &now)) {
			pr_info("application '%s' was detached", name);
			break;
		}
	}
	ring_buffer__consume(rb);

	/* Take our ring out, unless another watcher has replaced it. */
	if (bpf_map_lookup_elem(tr.fd[TMAP_RINGS], &rec.aid, &cur_id) == 0 && cur_id == our_id)
		bpf_map_delete_elem(tr.fd[TMAP_RINGS], &rec.aid);
	if (bpf_map_lookup_elem(tr.fd[TMAP_APPS], &rec.aid, &now))
		now = info; /* detached: no later count to read */
	if (json_output) {
		printf("{\"summary\":{\"events\":%llu,\"lost\":%llu}}\n", (unsigned long long)w.seen,
		       (unsigned long long)(now.lost - info.lost));
	} else {
		fprintf(stderr, "%llu events, %llu lost\n", (unsigned long long)w.seen,
			(unsigned long long)(now.lost - info.lost));
	}
out:
	ring_buffer__free(rb);
	if (ring >= 0)
		close(ring);
	tracer_close(&tr);
	return err;
}
