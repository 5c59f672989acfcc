#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo behind `make demo`:
# 1. trace: start a real multi-process program (a shell with a logging loop
#    and a tail | grep pipeline, all coreutils) under appshot run, show what
#    the tracer sees, stream its events, read the same tables with bpftool;
# 2. snapshot and restore: a real program (tail -f following a log) is
#    snapshotted and stopped, the log grows while it is gone, it is
#    restored and goes on from the very offset it had; then nothing is left.
set -eu
cd "$(dirname "$0")/.."
B=${OUTPUT:-build}/bin
NAME=demo-$$
TAIL=demo-tail-$$
DIR=$(mktemp -d /tmp/appshot-demo.XXXXXX)

cleanup() {
	for a in "$NAME" "$TAIL"; do
		"$B/appshot-trace" detach --aid "$a" --kill >/dev/null 2>&1 || true
	done
	rm -rf "$DIR"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "appshot run: a shell, a logging loop and a tail | grep pipeline, in new namespaces"
"$B/appshot" run -d --aid "$NAME" -- /bin/sh -c "
	cd $DIR
	( while :; do date +%T.%N; sleep 0.3; done ) >> clock.log &
	tail -n +1 -f clock.log | grep --line-buffered 5 > fives.log &
	exec sleep 600" </dev/null >/dev/null 2>&1 &
wait $!
sleep 1

say "appshot-trace status: processes (virtual pid <-> system pid) and what they hold"
"$B/appshot-trace" status --aid "$NAME"

say "appshot-trace events: what the application does, live (the first 30 events)"
"$B/appshot-trace" events --aid "$NAME" --duration 2 --count 30

say "the same tables, pinned in the kernel, through bpftool"
echo "\$ bpftool map dump pinned /sys/fs/bpf/appshot/tasks   (first entry)"
bpftool map dump pinned /sys/fs/bpf/appshot/tasks | head -n 16
echo "\$ bpftool map dump pinned /sys/fs/bpf/appshot/files   (first entry)"
bpftool map dump pinned /sys/fs/bpf/appshot/files | head -n 16

say "appshot-trace detach --kill: the application ends"
"$B/appshot-trace" detach --aid "$NAME" --kill

# wait_lines FILE N: until FILE has N lines (at most 10 s)
wait_lines() {
	for _ in $(seq 200); do
		[ "$(wc -l < "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "demo: $1 did not reach $2 lines" >&2
	return 1
}

say "appshot run: tail -f | grep copies a log's lines to copy.log (a shell, two processes, a pipe)"
for i in 1 2 3; do echo "line $i, written before the snapshot"; done > "$DIR/app.log"
"$B/appshot" run -d --aid "$TAIL" -- /bin/sh -c \
	'tail ---disable-inotify -s 0.2 -n +1 -f "$0" </dev/null | grep --line-buffered line >"$1"' \
	"$DIR/app.log" "$DIR/copy.log"
wait_lines "$DIR/copy.log" 3

say "appshot snapshot: frozen, written to an image, stopped"
"$B/appshot" snapshot "$TAIL" -D "$DIR/image"
ls -l "$DIR/image"

say "appshot inspect: what the image holds"
"$B/appshot" inspect "$DIR/image" | grep -v '^    [0-9a-f]\{12\}-'

say "while it is gone, the log grows"
for i in 4 5 6; do echo "line $i, written while tail was in the image"; done >> "$DIR/app.log"
sleep 0.5
echo "copy.log has $(wc -l < "$DIR/copy.log") lines: nobody copies them"

say "appshot restore: the same pids, memory, pipe and offsets; it goes on"
"$B/appshot" restore -d -D "$DIR/image" </dev/null
wait_lines "$DIR/copy.log" 6
"$B/appshot-trace" status --aid "$TAIL" | grep -E "^  pid "
echo "\$ cat copy.log"
cat "$DIR/copy.log"

say "appshot-trace detach --kill: it ends, tracing stops"
"$B/appshot-trace" detach --aid "$TAIL" --kill
if [ -e /sys/fs/bpf/appshot ]; then
	echo "pins remain under /sys/fs/bpf/appshot: other applications are traced"
else
	echo "nothing left: no pins under /sys/fs/bpf/appshot, no cgroup, no record"
fi
