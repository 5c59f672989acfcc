#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every test: the cmocka unit tests, then the integration tests on the
# real kernel, then check that nothing was left behind. Each binary's result
# is shown, failures with their output; the last line counts them all:
# "N passed, N failed, N skipped". Exits 1 if anything failed.
set -u
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-build}
export APPSHOT_BIN=$PWD/$OUT/bin APPSHOT_WORKLOADS=$PWD/$OUT/tests/workloads
export APPSHOT_STATE_DIR
APPSHOT_STATE_DIR=$(mktemp -d /tmp/appshot-tests.XXXXXX)
trap 'rm -rf "$APPSHOT_STATE_DIR"' EXIT

passed=0 failed=0 skipped=0
failures=()

count() { # count LOG PATTERN: the number cmocka printed on that summary line
	grep -aoP "^\[  $2 *\] \K[0-9]+(?= test\(s\))" "$1" | tail -1
}

run_binary() {
	local t=$1 name log rc p f s
	name=${t#"$OUT"/tests/}
	log=$(mktemp)
	timeout --kill-after=10 900 "$t" >"$log" 2>&1
	rc=$?
	p=$(count "$log" PASSED); f=$(count "$log" FAILED); s=$(count "$log" SKIPPED)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # it crashed or timed out before cmocka could count
		echo "  $name: exited $rc"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf '%-32s %3d passed %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
	if [ "$f" -ne 0 ]; then
		failures+=("$name")
		sed 's/^/    | /' "$log"
	elif [ "$s" -ne 0 ]; then
		grep -a '^SKIP' "$log" | sort -u | sed 's/^/    /'
	fi
	rm -f "$log"
}

pins_before=no
[ -e /sys/fs/bpf/appshot ] && pins_before=yes

for t in "$OUT"/tests/unit/test_*; do run_binary "$t"; done
for t in "$OUT"/tests/integration/test_*; do run_binary "$t"; done

# Nothing of the tests may stay: pins, cgroups, registry records, processes.
leftover=""
if [ "$pins_before" = no ] && [ -e /sys/fs/bpf/appshot ]; then
	leftover="$leftover pins under /sys/fs/bpf/appshot;"
fi
for cg in /sys/fs/cgroup/unified/appshot /sys/fs/cgroup/appshot; do
	if [ -d "$cg" ] && ls "$cg" | grep -q -- '-[0-9]*-[0-9]*$'; then
		leftover="$leftover test cgroups in $cg;"
	fi
done
if [ -n "$(ls -A "$APPSHOT_STATE_DIR/apps" 2>/dev/null)" ]; then
	leftover="$leftover registry records;"
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
