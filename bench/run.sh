#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: what tracing costs, printed beside this machine's own limits
# measured in the same run. Nothing here is asserted: the figures are for
# people, and these machines are shared and noisy.
#
# Each workload runs three ways:
#   untraced       no tracer loaded
#   other-app      the tracer loaded, following another application
#   traced         the workload is itself an application (appshot run --share-ns)
# Then a burst of open/close under a live `appshot-trace events` watcher:
# events per second produced, delivered and lost.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
OUT=${OUTPUT:-build}
B=$PWD/$OUT/bin
L=$PWD/$OUT/bench
N=${BENCH_N:-200000}
BURST=${BENCH_BURST:-500000}
TAG=bench-$$
TMP=$(mktemp -d /tmp/appshot-bench.XXXXXX)

cleanup() {
	for a in "$TAG-other" "$TAG-burst" "$TAG-keep" "$TAG-chain" "$TAG-chain-2" "$TAG-echo" \
		"$TAG-mem-"{small,4threads,64MiB,256MiB,1GiB}; do
		"$B/appshot-trace" detach --aid "$a" --kill >/dev/null 2>&1 || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ -e /sys/fs/bpf/appshot ]; then
	echo "note: other applications are traced: 'untraced' figures include the tracer's presence"
fi

ms() { date +%s%N; }

# wall time in ms of a command, median of 3
wall() {
	local t=() s
	for i in 1 2 3; do
		s=$(ms)
		"$@" >/dev/null 2>&1
		t+=($(( ($(ms) - s) / 1000000 )))
	done
	printf '%s\n' "${t[@]}" | sort -n | sed -n 2p
}

real_tar() { tar -cf /dev/null -C /usr include; }
real_fork() { /bin/sh -c 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done'; }
export -f real_tar real_fork

# measure MODE: prints "open_close pipe_rw tar_ms fork_ms" for that mode
measure() {
	local run=()
	[ "$1" = traced ] && run=("$B/appshot" run --share-ns --aid "$TAG-self-$RANDOM" --)
	echo "$("${run[@]}" "$L/bench_loop" open_close "$N" 2>/dev/null)" \
	     "$("${run[@]}" "$L/bench_loop" pipe_rw "$N" 2>/dev/null)" \
	     "$(wall "${run[@]}" /bin/bash -c real_tar)" \
	     "$(wall "${run[@]}" /bin/bash -c real_fork)"
}

echo "== this machine"
"$L/bench_limits" > "$TMP/limits"
while read -r k v; do printf '  %-24s %s\n' "$k" "$v"; done < "$TMP/limits"
printf '  %-24s %s ns\n' "open+close /dev/null" "$("$L/bench_loop" open_close "$N")"

echo
echo "== cost of tracing (ns per iteration for loops, ms for programs; median)"
read -r u_oc u_pr u_tar u_fork <<<"$(measure untraced)"
"$B/appshot" run -d --aid "$TAG-other" -- /bin/sleep 600 >/dev/null
read -r o_oc o_pr o_tar o_fork <<<"$(measure other)"
read -r t_oc t_pr t_tar t_fork <<<"$(measure traced)"
"$B/appshot-trace" detach --aid "$TAG-other" --kill >/dev/null

row() { # name untraced other traced
	awk -v n="$1" -v u="$2" -v o="$3" -v t="$4" 'BEGIN {
		printf "  %-26s %10.1f %10.1f %10.1f   %5.2fx %5.2fx\n", n, u, o, t, o / u, t / u }'
}
printf '  %-26s %10s %10s %10s   %6s %6s\n' "" untraced other-app traced other traced
row "open+close (ns)" "$u_oc" "$o_oc" "$t_oc"
row "pipe write+read (ns)" "$u_pr" "$o_pr" "$t_pr"
row "tar of /usr/include (ms)" "$u_tar" "$o_tar" "$t_tar"
row "200 x fork+exec (ms)" "$u_fork" "$o_fork" "$t_fork"

echo
echo "== a burst of $((2 * BURST)) events under a live watcher"
"$B/appshot" run -d --share-ns --json --aid "$TAG-burst" -- \
	"$L/bench_loop" burst "$BURST" "$TMP/burst" > "$TMP/run.json" 2>/dev/null
pid=$(sed -n 's/.*"sys_pid":\([0-9]*\).*/\1/p' "$TMP/run.json")
"$B/appshot-trace" events --aid "$TAG-burst" >/dev/null 2>"$TMP/watch.err" &
watcher=$!
for _ in $(seq 100); do grep -q watching "$TMP/watch.err" 2>/dev/null && break; sleep 0.05; done
kill -USR1 "$pid"
for _ in $(seq 600); do [ -s "$TMP/burst" ] && break; sleep 0.05; done
sleep 0.5
kill -INT "$watcher"
wait "$watcher" || true
read -r rate ns < "$TMP/burst"
read -r delivered _ lost _ < <(grep -E '^[0-9]+ events' "$TMP/watch.err" | tr -d ',')
awk -v r="$rate" -v ns="$ns" -v d="$delivered" -v l="$lost" 'BEGIN {
	printf "  produced   %10.0f events/s (%.2f s)\n", r, ns / 1e9
	printf "  delivered  %10d\n  lost       %10d (%.2f%%)\n", d, l, 100 * l / (d + l) }'

echo
echo "== snapshot and restore (ms, median of 3: appshot's own time / wall time of the command)"
rate() { sed -n "s/^$1 //p" "$TMP/limits"; }
mc=$(rate memcpy_gibs)
vm=$(rate process_vm_readv_gibs)
pop=$(rate populate_gibs)
dd if=/dev/zero of="$TMP/dd" bs=1M count=256 conv=fsync 2>"$TMP/dd.err"
disk=$(awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") t = $(i - 1); print 0.25 / t }' "$TMP/dd.err")
rm -f "$TMP/dd"
printf '  %-17s %7s %7s %17s %15s %17s  %7s %7s %7s %7s\n' "" memory image "snapshot synced" \
	"--no-sync" "restore" memcpy readv fault disk
# cycle NAME MIB THREADS: bench_mem snapshotted (synced, then --no-sync) and restored, 3 times each
cycle() {
	local name=$1 mib=$2 threads=$3 app="$TAG-mem-${1//[ ,]/}" bytes=0 img=0 mode
	local s=() sw=() n=() nw=() r=() rw=()
	for round in 1 2 3 4 5 6; do
		mode=; [ "$round" -gt 3 ] && mode=--no-sync
		rm -rf "$TMP/img"
		"$B/appshot" run -d --aid "$app" -- "$L/bench_mem" "$mib" "$threads" \
			>"$TMP/mem.out" 2>/dev/null </dev/null
		for _ in $(seq 1200); do grep -q ready "$TMP/mem.out" && break; sleep 0.05; done
		t=$(ms)
		"$B/appshot" --json snapshot "$app" $mode -D "$TMP/img" >"$TMP/snap.json"
		t=$(( ($(ms) - t) / 1000 ))
		us=$(sed -n 's/.*"us":\([0-9]*\).*/\1/p' "$TMP/snap.json")
		if [ -z "$mode" ]; then s+=("$us") sw+=("$t"); else n+=("$us") nw+=("$t"); fi
		bytes=$(sed -n 's/.*"memory_bytes":\([0-9]*\).*/\1/p' "$TMP/snap.json")
		img=$(du -sb "$TMP/img" | cut -f1)
		t=$(ms)
		"$B/appshot" --json restore -d -D "$TMP/img" >"$TMP/rst.json" </dev/null
		rw+=($(( ($(ms) - t) / 1000 )))
		r+=($(sed -n 's/.*"us":\([0-9]*\).*/\1/p' "$TMP/rst.json"))
		"$B/appshot-trace" detach --aid "$app" --kill >/dev/null
	done
	med() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
	awk -v n="$name" -v b="$bytes" -v i="$img" -v s="$(med "${s[@]}")" -v sw="$(med "${sw[@]}")" \
	    -v ns="$(med "${n[@]}")" -v nw="$(med "${nw[@]}")" -v r="$(med "${r[@]}")" \
	    -v rw="$(med "${rw[@]}")" -v mc="$mc" -v vm="$vm" -v pop="$pop" -v disk="$disk" 'BEGIN {
		g = 1024 * 1024 * 1024
		printf "  %-17s %6.1fM %6.1fM %7.1f / %7.1f %6.1f / %6.1f %7.1f / %7.1f  %7.2f %7.2f %7.2f %7.1f\n",
			n, b / 1048576, i / 1048576, s / 1e3, sw / 1e3, ns / 1e3, nw / 1e3, r / 1e3, rw / 1e3,
			b / (mc * g) * 1e3, b / (vm * g) * 1e3, b / (pop * g) * 1e3, b / (disk * g) * 1e3 }'
}
# the tracer stays loaded (it follows this one): restore times do not include loading it
"$B/appshot" run -d --aid "$TAG-keep" -- /bin/sleep 3600 >/dev/null </dev/null
cycle "small" 3 1
cycle "small, 4 threads" 3 4
cycle "64 MiB" 64 1
cycle "256 MiB" 256 1
cycle "1 GiB" 1024 1

echo "  memcpy, readv, fault, disk: the same memory at this machine's rates measured in this"
echo "  run: memcpy, process_vm_readv, faulting fresh pages in (MADV_POPULATE_WRITE, which a"
echo "  restore must do) and writing to disk with fsync (which a synced snapshot must do)."
printf '  fork+exec+exit of /bin/true: %s us, the floor for starting any process\n' "$(rate fork_exec_exit_us)"
echo "  targets: small restore under 4 ms; 1 GiB snapshot and restore each under 300 ms"

echo
echo "== a chain: 8 processes sharing a 64 MiB SysV segment, a semaphore set and a ring of pipes"
# ms of a snapshot or restore, median of 3; memory of two instances of one image at once
chain=$TAG-chain
cs=() cr=()
for round in 1 2 3; do
	rm -rf "$TMP/chain"
	"$B/appshot" run -d --aid "$chain" -- "$L/bench_chain" 8 64 >"$TMP/chain.out" 2>/dev/null </dev/null
	for _ in $(seq 1200); do grep -q ready "$TMP/chain.out" && break; sleep 0.05; done
	"$B/appshot" --json snapshot "$chain" --no-sync -D "$TMP/chain" >"$TMP/snap.json"
	cs+=($(sed -n 's/.*"us":\([0-9]*\).*/\1/p' "$TMP/snap.json"))
	"$B/appshot" --json restore -d -D "$TMP/chain" >"$TMP/rst.json" </dev/null
	cr+=($(sed -n 's/.*"us":\([0-9]*\).*/\1/p' "$TMP/rst.json"))
	if [ "$round" = 3 ]; then
		# a second instance beside the first: what both use, by proportional set size
		"$B/appshot" --json restore -d -D "$TMP/chain" --aid "$chain-2" >/dev/null </dev/null
		pss=0 shm=0
		for a in "$chain" "$chain-2"; do
			p=
			for p in $(cat "/sys/fs/cgroup/unified/appshot/$a/cgroup.procs" \
				       "/sys/fs/cgroup/appshot/$a/cgroup.procs" 2>/dev/null); do
				k=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
				pss=$((pss + ${k:-0}))
			done
			# the segments' resident bytes, in the instance's own IPC namespace
			k=$(nsenter --ipc --target "$p" awk 'NR > 1 { s += $15 } END { print s + 0 }' \
				/proc/sysvipc/shm 2>/dev/null)
			shm=$((shm + ${k:-0}))
		done
		"$B/appshot-trace" detach --aid "$chain-2" --kill >/dev/null
	fi
	"$B/appshot-trace" detach --aid "$chain" --kill >/dev/null
done
med() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
awk -v s="$(med "${cs[@]}")" -v r="$(med "${cr[@]}")" -v pss="$pss" -v shm="$shm" 'BEGIN {
	printf "  snapshot (--no-sync) %7.1f ms, %5.1f ms per process\n", s / 1e3, s / 8e3
	printf "  restore              %7.1f ms, %5.1f ms per process\n", r / 1e3, r / 8e3
	printf "  two instances at once: %.1f MiB in their processes (proportional set size)\n", pss / 1024
	printf "  and %.1f MiB in their SysV segments (each instance has its own)\n", shm / 1048576 }'

echo
echo "== TCP: the longest a client outside waits for an echo across a snapshot and restore"
echo "   (from the freeze to its first byte back, its retransmissions included; ms)"
for conns in 1 100; do
	srv=$TAG-echo
	"$B/appshot" run -d --aid "$srv" -- "$L/bench_echo" server >"$TMP/echo.out" 2>/dev/null </dev/null
	for _ in $(seq 200); do grep -q port "$TMP/echo.out" && break; sleep 0.05; done
	port=$(sed -n 's/^port //p' "$TMP/echo.out")
	"$L/bench_echo" client "$port" "$conns" >"$TMP/client.out" 2>/dev/null &
	client=$!
	for _ in $(seq 200); do grep -q connected "$TMP/client.out" && break; sleep 0.05; done
	sleep 0.3
	rm -rf "$TMP/echo-img"
	t=$(ms)
	"$B/appshot" snapshot "$srv" --no-sync -D "$TMP/echo-img" >/dev/null
	"$B/appshot" restore -d -D "$TMP/echo-img" >/dev/null </dev/null
	t=$(( ($(ms) - t) / 1000000 ))
	sleep 2
	kill -USR1 "$client"
	wait "$client" || true
	read -r longest pings < <(tail -1 "$TMP/client.out")
	printf '  %3d connections: %8s ms without an answer (snapshot + restore took %d ms; %s pings)\n' \
		"$conns" "$longest" "$t" "$pings"
	"$B/appshot-trace" detach --aid "$srv" --kill >/dev/null
done
"$B/appshot-trace" detach --aid "$TAG-keep" --kill >/dev/null
