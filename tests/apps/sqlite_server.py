#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A python3 + sqlite3 server holding a write transaction open.

usage: sqlite_server.py DB PORT

Opens DB, makes table t if needed, then BEGIN IMMEDIATE (its RESERVED
lock: no one else may write) and inserts 100 rows. It answers each line on
a connection: "count" with the rows it sees (its own uncommitted ones
too), "commit" by committing ("committed N"). An outside writer is kept
out by its lock until then.
"""
import socket
import sqlite3
import sys


def main():
    db, port = sys.argv[1], int(sys.argv[2])
    con = sqlite3.connect(db, isolation_level=None, timeout=0)
    con.execute("CREATE TABLE IF NOT EXISTS t (i INTEGER)")
    con.execute("BEGIN IMMEDIATE")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        with conn, conn.makefile("rw") as f:
            for line in f:
                cmd = line.strip()
                if cmd == "count":
                    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
                    f.write("count %d\n" % n)
                elif cmd == "commit":
                    con.execute("COMMIT")
                    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
                    f.write("committed %d\n" % n)
                else:
                    f.write("unknown\n")
                f.flush()


if __name__ == "__main__":
    main()
