#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A client connection held open across snapshots and restores.

usage: held.py PORT MESSAGE EXPECT

Connects to 127.0.0.1:PORT once. For each line on stdin it sends MESSAGE
(backslash escapes decoded: \\r\\n) on that same connection and reads until
EXPECT has come (10 s at most), then prints "ok", or "fail: ..." with what
came. It ends at the end of stdin, or on a broken connection.
"""
import socket
import sys
import time


def main():
    port, message, expect = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    message = message.encode().decode("unicode_escape").encode()
    expect = expect.encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    for _ in sys.stdin:
        got = b""
        deadline = time.monotonic() + 10
        try:
            sock.sendall(message)
            while expect not in got and time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        except OSError as e:
            print("fail: %s" % e, flush=True)
            return 1
        if expect in got:
            print("ok", flush=True)
        else:
            print("fail: got %r" % got[:200], flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
