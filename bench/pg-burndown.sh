#!/usr/bin/env bash
# The PostgreSQL backend's burn-down: N no-op jobs queued at once (inserted in one statement while
# every host's `async` service is paused), then every host continued; prints jobs/s from the
# continue until no job is unfinished. A private PostgreSQL 15 (scripts/pg.sh) is started and
# stopped. One run at a time: it loads the machine.
#
# usage: bench/pg-burndown.sh [HOSTS] [JOBS] [COMPLETED]
#   HOSTS      asyncd hosts sharing the database (default 1)
#   JOBS       jobs to burn down (default 20000)
#   COMPLETED  Completed rows put in the table first, to measure growth (default 0)
# Environment: ASYNCD_BUILD (default build), BENCH_SETTINGS (extra `asyncctl setting set KEY VALUE`
# pairs, e.g. "store.synchronous false").
set -euo pipefail
umask 077

cd "$(dirname "$0")/.."

HOSTS=${1:-1}
JOBS=${2:-20000}
COMPLETED=${3:-0}
BUILD=${ASYNCD_BUILD:-build}
BIN=$BUILD/src/bin
work=$(mktemp -d "${TMPDIR:-/tmp}/asyncd-pgbench.XXXXXX")
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/asyncd-pgbench-pg.XXXXXX")
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

ms() { date +%s%3N; }

url=$(scripts/pg.sh start "$pgdir")
psql "$url" -qc "CREATE DATABASE bench"
store=${url%/*}/bench
q() { psql "$store" -qAtc "$1"; }

start_host() {
	local n=$1 dir=$work/h$1
	mkdir -p -m 700 "$dir"
	[[ $n == 1 ]] || cp "$work/h1/admin.token" "$dir/admin.token"
	"$BIN/asyncd" --state-dir "$dir" --store "$store" --listen 127.0.0.1:0 --host-id "h$n" \
		>"$dir/log" 2>&1 &
	pids+=($!)
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -s $dir/asyncd.url ]] && curl -fsS -o /dev/null "$(<"$dir/asyncd.url")/healthz" 2>/dev/null &&
			return 0
		sleep 0.05
	done
	echo "host $n did not start" >&2
	exit 1
}

ctl() { "$BIN/asyncctl" --state-dir "$work/h$1" "${@:2}"; }

start_host 1
ctl 1 assembly register "$BUILD/plugins/samples/samples.so" --isolation none >/dev/null
if [[ -n ${BENCH_SETTINGS:-} ]]; then
	# shellcheck disable=SC2086 # KEY VALUE pairs
	set -- $BENCH_SETTINGS
	while (($# >= 2)); do
		ctl 1 setting set "$1" "$2" >/dev/null
		shift 2
	done
fi
for ((n = 2; n <= HOSTS; n++)); do start_host "$n"; done
for ((n = 1; n <= HOSTS; n++)); do ctl "$n" service pause async --host "h$n" >/dev/null; done

cols="name, operation_type, state, status, plugin_type, data, max_retries, created_on, modified_on"
if ((COMPLETED > 0)); then
	q "INSERT INTO jobs($cols, completed_on) SELECT 'noop', 1, 3, 30, 'samples.noop', '{}', 3,
	   0, 0, 0 FROM generate_series(1, $COMPLETED)"
	q "VACUUM ANALYZE jobs"
fi
q "INSERT INTO jobs($cols) SELECT 'noop', 1, 0, 0, 'samples.noop', '{}', 3, 0, 0
   FROM generate_series(1, $JOBS)"
t0=$(ms)
for ((n = 1; n <= HOSTS; n++)); do ctl "$n" service continue async --host "h$n" >/dev/null; done
while (($(q "SELECT count(*) FROM jobs WHERE state < 3 AND owner IS DISTINCT FROM 'system'") > 0)); do sleep 0.2; done
t1=$(ms)
done_n=$(q "SELECT count(*) FROM jobs WHERE status = 30 AND owner IS DISTINCT FROM 'system'")
echo "hosts=$HOSTS jobs=$JOBS completed_before=$COMPLETED seconds=$(((t1 - t0) / 1000)).$(((t1 - t0) % 1000 / 100)) jobs_per_s=$((JOBS * 1000 / (t1 - t0))) succeeded=$((done_n - COMPLETED))"
