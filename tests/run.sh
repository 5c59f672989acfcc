#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every test: the cmocka unit tests, then the integration tests on the
# real kernel, then check that nothing was left behind. Each binary's result
# is shown, failures with their output; the last line counts them all:
# "N passed, N failed, N skipped". Exits 1 if anything failed.
#
# usage: tests/run.sh [NAME...]   only the binaries named (test_trace, ...)
set -u
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
OUT=${OUTPUT:-build}
export APPSHOT_BIN=$PWD/$OUT/bin APPSHOT_WORKLOADS=$PWD/$OUT/tests/workloads
STATE_DIR=${APPSHOT_STATE_DIR:-/var/lib/appshot}

passed=0 failed=0 skipped=0
failures=()

count() { # count LOG PATTERN: the number cmocka printed on that summary line
	grep -aoP "^\[  $2 *\] \K[0-9]+(?= test\(s\))" "$1" | tail -1
}

run_binary() {
	local t=$1 name log rc p f s start
	name=${t#"$OUT"/tests/}
	log=$(mktemp)
	start=$SECONDS
	timeout --kill-after=10 900 "$t" >"$log" 2>&1
	rc=$?
	p=$(count "$log" PASSED); f=$(count "$log" FAILED); s=$(count "$log" SKIPPED)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # it crashed or timed out before cmocka could count
		echo "  $name: exited $rc"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf '%-32s %3d passed %3d failed %3d skipped %5ds\n' "$name" "$p" "$f" "$s" \
		$((SECONDS - start))
	if [ "$f" -ne 0 ]; then
		failures+=("$name")
		sed 's/^/    | /' "$log"
	elif [ "$s" -ne 0 ]; then
		grep -a '^SKIP' "$log" | sort -u | sed 's/^/    /'
	fi
	rm -f "$log"
}

# What appshot holds before: the tests must leave exactly that.
snapshot() {
	ls -A "$STATE_DIR/apps" 2>/dev/null
	ls -A /sys/fs/cgroup/unified/appshot /sys/fs/cgroup/appshot 2>/dev/null | grep -v '^cgroup\.\|\.\(pressure\|stat\|local\)$'
	[ -e /sys/fs/bpf/appshot ] && echo pins
	[ -e /sys/fs/bpf/appshot-hold ] && echo held traffic
	tc filter show dev lo ingress 2>/dev/null | grep -q hold_ingress && echo hold filter on lo
	ip netns list 2>/dev/null | grep appshot
	ls -d /tmp/appshot-* 2>/dev/null | grep -vxF "$STATE_DIR"
	ipcs -m -s -q 2>/dev/null | grep '^0x' | sed 's/^/SysV object: /'
}
before=$(snapshot)

# The tracer is loaded once and stays (resident) while the tests run, as
# appshot-trace.service keeps it on a machine; test_trace checks loading
# on demand and unloading. One that was loaded before stays as it was.
own_tracer=0
if [ ! -e /sys/fs/bpf/appshot/links ] && [ "$(id -u)" = 0 ] &&
	"$APPSHOT_BIN/appshot-trace" load >/dev/null; then
	own_tracer=1
fi

wanted() { # wanted BINARY [NAME...]: no names means every binary
	local b=$1
	shift
	[ $# -eq 0 ] && return 0
	for n in "$@"; do [ "$(basename "$b")" = "$n" ] && return 0; done
	return 1
}

echo "kernel $(uname -r)"
for t in "$OUT"/tests/unit/test_* "$OUT"/tests/integration/test_*; do
	wanted "$t" "$@" && run_binary "$t"
done

# Nothing of the tests may stay: pins, cgroups, registry records, temp files,
# processes, and with our own tracer, no entry in any of its tables.
leftover=""
if [ "$own_tracer" = 1 ]; then
	for m in apps tasks vtasks fds files socks sk_socks ipcs regions region_idx rings; do
		n=$(bpftool map dump pinned "/sys/fs/bpf/appshot/$m" -j 2>/dev/null | grep -o '"key"' | wc -l)
		[ "$n" -gt 0 ] && leftover="$leftover $n entries in the tracer's $m table;"
	done
	"$APPSHOT_BIN/appshot-trace" unload >/dev/null || leftover="$leftover the tracer would not unload;"
fi
after=$(snapshot)
if [ "$before" != "$after" ]; then
	# (no process substitution: /dev/fd may be missing, as in make vmtest's guest)
	b=$(mktemp) a=$(mktemp)
	echo "$before" >"$b"
	echo "$after" >"$a"
	leftover="$leftover $(diff "$b" "$a" | grep '^[<>]' | tr '\n' ' ');"
	rm -f "$b" "$a"
fi
if pgrep -f "$APPSHOT_WORKLOADS/" >/dev/null; then
	leftover="$leftover workload processes;"
fi
if [ -z "$leftover" ]; then
	passed=$((passed + 1))
	printf '%-32s %3d passed\n' "no leftovers" 1
else
	failed=$((failed + 1))
	failures+=("no leftovers")
	echo "no leftovers: FAILED:$leftover"
fi

[ ${#failures[@]} -ne 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
