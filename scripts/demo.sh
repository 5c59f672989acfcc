#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo behind `make demo`: start a real multi-process program (a shell
# with a logging loop and a tail | grep pipeline, all coreutils) under
# appshot run, show what the tracer sees, stream its events, read the same
# tables with bpftool, then detach and show that nothing is left.
set -eu
cd "$(dirname "$0")/.."
B=${OUTPUT:-build}/bin
NAME=demo-$$
DIR=$(mktemp -d /tmp/appshot-demo.XXXXXX)

cleanup() {
	"$B/appshot-trace" detach --aid "$NAME" --kill >/dev/null 2>&1 || true
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

say "appshot-trace detach --kill: the application ends, tracing stops"
"$B/appshot-trace" detach --aid "$NAME" --kill
if [ -e /sys/fs/bpf/appshot ]; then
	echo "pins remain under /sys/fs/bpf/appshot: other applications are traced"
else
	echo "nothing left: no pins under /sys/fs/bpf/appshot, no cgroup, no record"
fi
