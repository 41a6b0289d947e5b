#!/usr/bin/env bash
# A cluster in one command (`make cluster`): a private PostgreSQL 15 on 127.0.0.1 and three asyncd
# hosts sharing it, the samples registered, then the URLs and how to watch work move between the
# hosts when one is killed. `make cluster-stop` (scripts/cluster.sh stop) ends it all.
#
# Everything lives in var/cluster/ (ASYNCD_CLUSTER_DIR overrides): pg.dir (where the database
# server's temporary directory is), h1/ h2/ h3/ (each host's state directory, log in hN/asyncd.log). Hosts listen on 127.0.0.1:8471,
# 8472 and 8473 (ASYNCD_CLUSTER_PORT sets the first). ASYNCD_BUILD names the build directory
# (default build/).
set -euo pipefail
umask 077

cd "$(dirname "$0")/.."

BUILD=${ASYNCD_BUILD:-build}
BIN=$BUILD/src/bin
SAMPLES=$BUILD/plugins/samples/samples.so
DIR=${ASYNCD_CLUSTER_DIR:-var/cluster}
PORT=${ASYNCD_CLUSTER_PORT:-8471}
HOSTS=3

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

healthy() {
	curl -fsS --max-time 2 -o /dev/null "$1/healthz" 2>/dev/null
}

wait_gone() {
	local i
	for ((i = 0; i < 150; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
}

# start_host N URL: start host N on the store URL, wait until it answers
start_host() {
	local n=$1 store=$2 dir=$DIR/h$1 port=$((PORT + $1 - 1)) i
	mkdir -p -m 700 "$dir"
	nohup "$BIN/asyncd" --state-dir "$dir" --store "$store" --listen "127.0.0.1:$port" \
		--host-id "h$n" >>"$dir/asyncd.log" 2>&1 &
	echo $! >"$dir/pid"
	for ((i = 0; i < 150; i++)); do
		healthy "http://127.0.0.1:$port" && return 0
		sleep 0.1
	done
	tail -20 "$dir/asyncd.log" >&2
	die "host h$n did not start (log: $dir/asyncd.log)"
}

start() {
	[[ -x $BIN/asyncd && -f $SAMPLES ]] || die "build first: make"
	[[ ! -f $DIR/pg.dir ]] || die "a cluster already runs in $DIR: make cluster-stop"
	mkdir -p "$DIR"
	local url store n pgdir
	# the server's directory is outside var/: the postgres user must reach it
	pgdir=$(mktemp -d "${TMPDIR:-/tmp}/asyncd-cluster-pg.XXXXXX")
	echo "$pgdir" >"$DIR/pg.dir"
	url=$(scripts/pg.sh start "$pgdir")
	psql "$url" -qc "CREATE DATABASE asyncd" >/dev/null
	store=${url%/*}/asyncd
	start_host 1 "$store"
	# the administrator made by h1 is every host's: its token goes to h2 and h3
	for ((n = 2; n <= HOSTS; n++)); do
		mkdir -p -m 700 "$DIR/h$n"
		cp "$DIR/h1/admin.token" "$DIR/h$n/admin.token"
	done
	"$BIN/asyncctl" --state-dir "$DIR/h1" assembly register "$SAMPLES" --isolation none >/dev/null
	"$BIN/asyncctl" --state-dir "$DIR/h1" setting set async.keepalive_interval 2 >/dev/null
	"$BIN/asyncctl" --state-dir "$DIR/h1" setting set async.time_until_lock_expires 10 >/dev/null
	# read at start by every host: h1 takes them at its restart
	kill "$(<"$DIR/h1/pid")"
	wait_gone "$(<"$DIR/h1/pid")"
	start_host 1 "$store"
	for ((n = 2; n <= HOSTS; n++)); do
		start_host "$n" "$store"
	done
	cat <<EOF
A cluster of $HOSTS asyncd hosts on one PostgreSQL ($store):
  h1  http://127.0.0.1:$PORT        state $DIR/h1
  h2  http://127.0.0.1:$((PORT + 1))        state $DIR/h2
  h3  http://127.0.0.1:$((PORT + 2))        state $DIR/h3
Every host serves the same jobs; the token in $DIR/h1/admin.token works on all of them.

Watch work move between hosts:
  $BIN/asyncctl --state-dir $DIR/h1 host list
  for i in \$(seq 60); do $BIN/asyncctl --state-dir $DIR/h1 job submit samples.sleep --data '{"ms":2000}' >/dev/null; done
  $BIN/asyncctl --state-dir $DIR/h1 --json job list --state 2 | grep -o '"host_id": *"h[0-9]"' | sort | uniq -c
  kill -9 \$(cat $DIR/h2/pid)                                  # h2 dies holding jobs
  $BIN/asyncctl --state-dir $DIR/h1 host list                  # h2 dead after 10 s
  (the same job list again: h2's jobs now run on h1 and h3)
Stop everything: make cluster-stop
EOF
}

stop() {
	local n pid
	for ((n = 1; n <= HOSTS; n++)); do
		if [[ -f $DIR/h$n/pid ]]; then
			pid=$(<"$DIR/h$n/pid")
			kill "$pid" 2>/dev/null || true
			rm -f "$DIR/h$n/pid"
		fi
	done
	sleep 1
	if [[ -f $DIR/pg.dir ]]; then
		scripts/pg.sh stop "$(<"$DIR/pg.dir")"
	fi
	rm -rf "$DIR"
	echo "cluster stopped"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*) die "usage: scripts/cluster.sh [start|stop]" ;;
esac
