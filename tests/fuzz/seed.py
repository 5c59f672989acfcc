#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Make fuzzer inputs of a real image: one per process, as fuzz_image.c
reads them (the manifest's fields, the process's core record, the ipc
record, split by NUL bytes; the process is named core-1 there).

usage: seed.py IMAGE OUT_PREFIX
"""
import json
import os
import sys


def payload(path):
    with open(path, "rb") as f:
        data = f.read()
    off = int.from_bytes(data[16:24], "little")
    return data[off:]


def main():
    image, prefix = sys.argv[1], sys.argv[2]
    meta = json.loads(payload(os.path.join(image, "manifest")))
    procs = meta["processes"]
    meta.pop("records", None)
    meta.pop("format", None)
    meta["processes"] = ["core-1"]
    ipc = b""
    if os.path.exists(os.path.join(image, "ipc")):
        ipc = b"\0" + payload(os.path.join(image, "ipc"))
    for i, name in enumerate(procs):
        core = payload(os.path.join(image, name))
        with open("%s-%d" % (prefix, i), "wb") as f:
            f.write(json.dumps(meta, separators=(",", ":")).encode() + b"\0" + core + ipc)


if __name__ == "__main__":
    main()
