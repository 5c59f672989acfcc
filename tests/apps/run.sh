#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make test-apps: real servers, as their users run them, through snapshot
# and restore cycles (3; APPSHOT_APP_CYCLES), each on loopback ports of
# its own, each checked with its own client after every restore, a client
# connection held open across all the cycles:
#   redis      10,000 keys; a connection held (PING); redis-benchmark after
#   nginx      master and workers; a keep-alive connection held
#   memcached  threads, epoll; 1,000 keys, stats; a connection held
#   postgres   postmaster and backends, its shared memory; a psql session
#              held inside a transaction that commits after the last restore
#   sqlite     python3 + sqlite3 holding a write transaction: an outside
#              writer is kept out by its lock after every restore
#   http       python3 -m http.server
#   jvm        a JVM HTTP server: 32 threads, a 256 MiB heap checked whole
# It installs the Debian packages it needs first (services are not
# started). A line per server gives its figures: processes, threads, image
# size, snapshot and restore times (the slowest of the cycles), then the
# count: "N passed, N failed". Exits 1 if any failed.
#
# usage: tests/apps/run.sh [SERVER...]
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$ROOT/build/bin:$PATH:/usr/local/sbin:/usr/sbin:/sbin"
CYCLES=${APPSHOT_APP_CYCLES:-3}
ALL="redis nginx memcached postgres sqlite http jvm"
PACKAGES="redis-server redis-tools nginx-light memcached postgresql-15 sqlite3 python3 curl
	default-jdk-headless util-linux"
WORK=$(mktemp -d /tmp/appshot-apps-XXXXXX)
PREFIX=apps-$$
passed=0 failed=0
figures=()
held_pid=

log() { printf '%s\n' "$*" >&2; }

cleanup() {
	[ -n "$held_pid" ] && kill "$held_pid" 2>/dev/null
	for f in /var/lib/appshot/apps/"$PREFIX"-*.json; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .json)
		appshot-trace detach --aid "$n" --kill >/dev/null 2>&1
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

install_packages() {
	local missing=()

	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	# the packages' services are not started: the servers are ours to start
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
	local rc=$?
	rm -f /usr/sbin/policy-rc.d
	return $rc
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS CMD...: until CMD succeeds (every 0.1 s)
wait_for() {
	local tries=$(($1 * 10))
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A client connection held open across the cycles (held.py on a coprocess).
held_start() { # PORT MESSAGE EXPECT
	coproc HELD { exec python3 "$ROOT/tests/apps/held.py" "$@"; }
	held_pid=$HELD_PID
}
held_check() {
	local line=
	echo go >&"${HELD[1]}" && read -r -t 15 line <&"${HELD[0]}"
	[ "$line" = ok ] || { log "the held connection: ${line:-no answer}"; return 1; }
}
held_stop() {
	[ -n "$held_pid" ] || return 0
	exec {HELD[1]}>&- 2>/dev/null
	wait "$held_pid" 2>/dev/null
	held_pid=
}

# Start NAME's server CMD under appshot run, its output in WORK/NAME.log.
start() { # NAME CMD...
	local name=$1
	shift
	appshot run -d --aid "$PREFIX-$name" -- "$@" </dev/null >>"$WORK/$name.log" 2>&1
}

ms() { awk -v us="$1" 'BEGIN { printf "%.0f", us / 1000 }'; }
jnum() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# Snapshot and restore NAME CYCLES times, CHECK after each restore.
cycles() { # NAME CHECK
	local name=$1 check=$2 app=$PREFIX-$1 snap_max=0 rst_max=0 size=0 procs=0 threads=0 out
	local c img

	for ((c = 1; c <= CYCLES; c++)); do
		img=$WORK/$name-image-$c
		out=$(appshot snapshot "$app" -D "$img" --json 2>>"$WORK/$name.log") || {
			log "snapshot $c failed: $(tail -3 "$WORK/$name.log")"
			return 1
		}
		procs=$(jnum processes <<<"$out")
		threads=$(jnum threads <<<"$out")
		[ "$(jnum us <<<"$out")" -gt "$snap_max" ] && snap_max=$(jnum us <<<"$out")
		size=$(du -sb "$img" | cut -f1)
		out=$(appshot restore -d -D "$img" --json 2>>"$WORK/$name.log" </dev/null) || {
			log "restore $c failed: $(tail -3 "$WORK/$name.log")"
			return 1
		}
		[ "$(jnum us <<<"$out")" -gt "$rst_max" ] && rst_max=$(jnum us <<<"$out")
		"$check" || { log "after restore $c, $name is not as it was"; return 1; }
		[ $c -lt $CYCLES ] && rm -rf "$img"
	done
	figures+=("$(printf '%-10s %3d processes %4d threads  image %6.1f MiB  snapshot %5s ms  restore %5s ms' \
		"$name" "$procs" "$threads" "$(awk -v b="$size" 'BEGIN { print b / 1048576 }')" \
		"$(ms $snap_max)" "$(ms $rst_max)")")
}

# ---- the servers ------------------------------------------------------

redis() {
	local p
	p=$(free_port)
	start redis redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no \
		--protected-mode no --enable-debug-command yes || return 1
	wait_for 10 redis-cli -p "$p" PING || return 1
	redis-cli -p "$p" DEBUG POPULATE 10000 >/dev/null || return 1
	held_start "$p" 'PING\r\n' '+PONG'
	redis_ok() {
		[ "$(redis-cli -p "$p" DBSIZE)" = 10000 ] &&
			[ "$(redis-cli -p "$p" GET key:4242)" = value:4242 ] && held_check
	}
	redis_ok && cycles redis redis_ok || return 1
	redis-benchmark -p "$p" -q -n 5000 -t set,get >"$WORK/redis.bench" || return 1
	log "  $(tr '\r' '\n' <"$WORK/redis.bench" | grep -a 'requests per second' | tr '\n' ' ')"
	held_stop
}

nginx() {
	local p w=$WORK/nginx
	p=$(free_port)
	mkdir -p "$w/www" "$w/tmp"
	echo "nginx page $$" >"$w/www/index.html"
	cat >"$w/nginx.conf" <<EOF
user root;
worker_processes 2;
pid $w/nginx.pid;
error_log $w/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $w/tmp;
	keepalive_timeout 300s;
	keepalive_requests 100000;
	server { listen 127.0.0.1:$p; root $w/www; }
}
EOF
	start nginx /usr/sbin/nginx -c "$w/nginx.conf" -g 'daemon off;' || return 1
	wait_for 10 port_open "$p" || return 1
	held_start "$p" 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n' "nginx page $$"
	nginx_ok() {
		[ "$(curl -sf "http://127.0.0.1:$p/index.html")" = "nginx page $$" ] && held_check
	}
	nginx_ok && cycles nginx nginx_ok || return 1
	held_stop
}

memcached() {
	local p
	p=$(free_port)
	start memcached /usr/bin/memcached -l 127.0.0.1 -p "$p" -U 0 -t 4 -m 64 -u root || return 1
	wait_for 10 port_open "$p" || return 1
	python3 - "$p" <<'EOF' || return 1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rwb")
for i in range(1000):
    v = b"value-%d" % i
    f.write(b"set key-%d 0 0 %d\r\n%s\r\n" % (i, len(v), v))
f.flush()
for i in range(1000):
    assert f.readline() == b"STORED\r\n"
EOF
	held_start "$p" 'version\r\n' 'VERSION'
	memcached_ok() {
		python3 - "$p" <<'EOF' && held_check
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rwb")
f.write(b"get key-500 key-999\r\nstats\r\n")
f.flush()
got = b""
while not got.endswith(b"END\r\n") or got.count(b"END\r\n") < 2:
    got += f.readline()
assert b"value-500" in got and b"value-999" in got, got
assert b"STAT curr_items 1000\r\n" in got, got
EOF
	}
	memcached_ok && cycles memcached memcached_ok || return 1
	held_stop
}

postgres() {
	local p d bin=/usr/lib/postgresql/15/bin
	p=$(free_port)
	d=$(mktemp -d /tmp/appshot-apps-pg-XXXXXX)
	chown postgres: "$d"
	setpriv --reuid=postgres --regid=postgres --init-groups "$bin/initdb" -D "$d/data" \
		--auth=trust -U postgres >"$WORK/postgres.initdb" 2>&1 || { rm -rf "$d"; return 1; }
	start postgres setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" \
		-D "$d/data" -k "$d" -p "$p" -c listen_addresses=127.0.0.1 -c shared_buffers=32MB ||
		{ rm -rf "$d"; return 1; }
	pg() { psql -X -q -t -A -h 127.0.0.1 -p "$p" -U postgres "$@"; }
	wait_for 20 pg -c 'select 1' || { rm -rf "$d"; return 1; }
	pg -c 'create table t (i int); insert into t select generate_series(1, 10000)' ||
		{ rm -rf "$d"; return 1; }
	# a session inside a transaction, committed after the last restore
	coproc PSQL { exec psql -X -q -t -A -h 127.0.0.1 -p "$p" -U postgres; }
	held_pid=$PSQL_PID
	echo 'BEGIN; INSERT INTO t VALUES (-1);' >&"${PSQL[1]}"
	postgres_ok() {
		[ "$(pg -c 'select count(*) from t')" = 10000 ] &&
			[ "$(pg -c "select count(*) from pg_stat_activity where state = 'idle in transaction'")" = 1 ]
	}
	local ok=0
	wait_for 10 postgres_ok && cycles postgres postgres_ok && ok=1
	if [ $ok = 1 ]; then
		echo 'COMMIT; SELECT count(*) FROM t;' >&"${PSQL[1]}"
		exec {PSQL[1]}>&-
		local line=
		read -r -t 15 line <&"${PSQL[0]}"
		[ "$line" = 10001 ] || { log "the held psql session says '$line', not 10001"; ok=0; }
	fi
	wait "$held_pid" 2>/dev/null
	held_pid=
	appshot-trace detach --aid "$PREFIX-postgres" --kill >/dev/null 2>&1
	rm -rf "$d"
	[ $ok = 1 ]
}

sqlite() {
	local p db=$WORK/db.sqlite
	p=$(free_port)
	start sqlite python3 "$ROOT/tests/apps/sqlite_server.py" "$db" "$p" || return 1
	wait_for 10 port_open "$p" || return 1
	held_start "$p" 'count\n' 'count 100'
	sqlite_ok() {
		# its RESERVED lock keeps an outside writer out
		if sqlite3 -cmd '.timeout 0' "$db" 'insert into t values (-1)' 2>"$WORK/sqlite.out"; then
			log "an outside writer got into the database"
			return 1
		fi
		grep -q 'locked' "$WORK/sqlite.out" && held_check
	}
	sqlite_ok && cycles sqlite sqlite_ok || return 1
	held_stop
	python3 - "$p" <<'EOF' || return 1
import socket, sys
f = socket.create_connection(("127.0.0.1", int(sys.argv[1]))).makefile("rw")
f.write("commit\n"); f.flush()
assert f.readline().strip() == "committed 100"
EOF
	[ "$(sqlite3 "$db" 'select count(*) from t')" = 100 ]
}

http() {
	local p w=$WORK/http
	p=$(free_port)
	mkdir -p "$w"
	echo "http.server file $$" >"$w/file.txt"
	start http python3 -m http.server --bind 127.0.0.1 --directory "$w" "$p" || return 1
	wait_for 10 port_open "$p" || return 1
	http_ok() { [ "$(curl -sf "http://127.0.0.1:$p/file.txt")" = "http.server file $$" ]; }
	http_ok && cycles http http_ok
}

jvm() {
	local p sum
	p=$(free_port)
	javac -d "$WORK/jvm" "$ROOT/tests/apps/JvmServer.java" || return 1
	start jvm java -Xms1g -Xmx1g -cp "$WORK/jvm" JvmServer "$p" || return 1
	wait_for 60 grep -q 'ready, sum' "$WORK/jvm.log" || return 1
	sum=$(grep -o 'ready, sum -\?[0-9]*' "$WORK/jvm.log" | awk '{ print $3 }')
	held_start "$p" 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' "sum $sum "
	jvm_ok() { curl -sf "http://127.0.0.1:$p/" | grep -q "^sum $sum requests" && held_check; }
	[ -n "$sum" ] && jvm_ok && cycles jvm jvm_ok || return 1
	held_stop
}

# ---- run them ---------------------------------------------------------

install_packages || { log "cannot install the packages the servers need"; exit 1; }
if ! appshot-trace status 2>/dev/null | grep -q '^tracer: loaded'; then
	appshot-trace load >/dev/null || exit 1
	trap 'cleanup; appshot-trace unload >/dev/null 2>&1' EXIT
fi
for app in ${*:-$ALL}; do
	case " $ALL " in *" $app "*) ;; *) log "unknown server $app (of: $ALL)"; exit 2 ;; esac
	start_s=$SECONDS
	if "$app"; then
		passed=$((passed + 1))
		printf '%-10s passed %4ds\n' "$app" $((SECONDS - start_s))
	else
		failed=$((failed + 1))
		printf '%-10s FAILED %4ds\n' "$app" $((SECONDS - start_s))
		sed 's/^/    | /' "$WORK/$app.log" 2>/dev/null | tail -20
	fi
	held_stop
	appshot-trace detach --aid "$PREFIX-$app" --kill >/dev/null 2>&1
done
echo
printf '%s\n' "${figures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
