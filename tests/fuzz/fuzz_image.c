// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: images as hostile as can be, through everything that
 * reads them before a process is made: the verifying reader, inspect's
 * model, and the restore's planning (appshot restore --check-only).
 *
 * An input is the manifest's fields, a process's core record and, maybe,
 * an ipc record, as JSON texts split by NUL bytes. The target writes them
 * as an image (good checksums, with a page of memory: what the checksums
 * guard is the reader's business, tested elsewhere; what lies behind them
 * is this target's), then inspects it and plans its restore. A crash, a
 * sanitizer report or a hang is a bug; refusals are what it should see.
 *
 * make fuzz (FUZZ_SECONDS, 300 by default) runs it over tests/fuzz/corpus.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "commands.h"
#include "image.h"
#include "log.h"
#include "rst.h"

static char base[64], dir[96];

static void remove_image(void)
{
	static const char *const names[] = { "manifest", "core-1", "pages", "ipc" };
	char path[160];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* The i-th NUL-separated part of data, parsed; NULL if there is none or it is not JSON. */
static struct json_object *part(const uint8_t *data, size_t size, int i)
{
	size_t start = 0, end;
	struct json_object *o;
	char *s;

	for (; i > 0; i--) {
		const uint8_t *nul = memchr(data + start, 0, size - start);

		if (!nul)
			return NULL;
		start = nul - data + 1;
	}
	end = start;
	while (end < size && data[end])
		end++;
	s = strndup((const char *)data + start, end - start);
	o = s ? json_tokener_parse(s) : NULL;
	free(s);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *meta = part(data, size, 0), *core = part(data, size, 1);
	struct json_object *ipc = part(data, size, 2);
	static char page[IMAGE_PAGE];
	struct image_writer w;
	struct image_pages p;
	uint64_t off;

	if (!base[0]) {
		snprintf(base, sizeof(base), "/tmp/appshot-fuzz-XXXXXX");
		if (!mkdtemp(base))
			abort();
		snprintf(dir, sizeof(dir), "%s/image", base);
		log_set_level(LOG_ERR);
	}
	if (!json_object_is_type(meta, json_type_object) || !core)
		goto out;
	/* the image as the writer makes it: its checksums good */
	if (image_create(&w, dir))
		goto out;
	w.sync = 0;
	if (image_write_json(&w, "core-1", REC_CORE, core) ||
	    (ipc && image_write_json(&w, "ipc", REC_IPC, ipc)) || image_pages_open(&w, &p) ||
	    image_pages_append(&p, page, sizeof(page), &off) || image_pages_close(&w, &p) ||
	    image_commit(&w, meta)) {
		image_abort(&w);
		goto out;
	}
	{
		char *argv[] = { "inspect", dir, NULL };

		optind = 0;
		do_inspect(2, argv);
	}
	restore_check(dir, NULL, 0, 0, 1);
	remove_image();
out:
	json_object_put(meta);
	json_object_put(core);
	json_object_put(ipc);
	return 0;
}
