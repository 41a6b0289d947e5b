#!/usr/bin/env bash
# asyncd's benchmark (`make bench`); see docs/performance.md.
#
#   1. scripts/deps.sh, then a release build in build-bench/ (meson --buildtype=release
#      -Dtests=false): asyncd, the sample plug-ins, bench/asyncd-bench and its plug-ins
#   2. build-bench/bench/asyncd-bench: starts the real asyncd (durable defaults) in temp state
#      directories on 127.0.0.1 and measures burn-down, API, latency, growth and isolation
#   3. the PostgreSQL backend: a private PostgreSQL 15 (scripts/pg.sh, stopped at the end) and
#      asyncd-bench --store URL: burn-down, latency and growth with 1 host, burn-down with 3 hosts
#      sharing the database ("n/a" when PostgreSQL 15 is not installed)
#   4. prints the tables; writes bench/results/latest.{csv,svg} (the PostgreSQL rows appended to
#      the CSV; their chart is latest-pg.svg) and a copy of each stamped with the date
#
# usage: scripts/bench.sh [--build-only] [asyncd-bench options...]   (options: the SQLite part)
# Environment: BENCH_SCALE (default 1; 0.01 is a quick run), TMPDIR (where state directories go;
# keep it on a real disk: the figures include fsync), BENCH_NO_BUILD=1 (use build-bench/ as it is),
# BENCH_PG=0 (no PostgreSQL part), BENCH_SQLITE=0 (only the PostgreSQL part).
set -euo pipefail

cd "$(dirname "$0")/.."

MESON=${MESON:-meson}
BUILD=build-bench
RESULTS=bench/results
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
pg_dir=
failed=0

build() {
	if [[ ${BENCH_NO_BUILD:-0} == 1 && -x $BUILD/bench/asyncd-bench ]]; then
		return 0
	fi
	scripts/deps.sh build
	if [[ ! -f $BUILD/meson-private/coredata.dat ]]; then
		"$MESON" setup "$BUILD" --buildtype=release -Dtests=false
	fi
	"$MESON" compile -C "$BUILD"
}

# shellcheck disable=SC2317 # called from the trap
cleanup() {
	if [[ -n $pg_dir ]]; then
		scripts/pg.sh stop "$pg_dir" >/dev/null 2>&1 || true
	fi
}

# pg_na WHY: the PostgreSQL part could not run: a row on stdout and in the CSV
pg_na() {
	printf '\n%-31s %-34s %12s  %-9s %s\n' "PostgreSQL" "burn-down, latency, growth" "n/a" "" \
		"n/a: $1"
	echo "PostgreSQL,\"burn-down, latency, growth\",n/a,,\"n/a: $1\"" >>"$RESULTS/latest.csv"
}

# the PostgreSQL backend: 1 host (burn-down, latency, growth), then 3 hosts (burn-down)
run_pg() {
	local url
	if [[ ! -x $PG_BIN/initdb ]] || ! command -v psql >/dev/null; then
		pg_na "PostgreSQL 15 is not installed (scripts/deps.sh installs postgresql-15)"
		return
	fi
	pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/asyncd-bench-pg.XXXXXX")
	if ! url=$(scripts/pg.sh start "$pg_dir" | tail -1); then
		pg_na "the private PostgreSQL did not start (scripts/pg.sh start)"
		return
	fi
	echo "bench: PostgreSQL 15 at $url (data in $pg_dir)" >&2
	"$BUILD/bench/asyncd-bench" --store "$url" --hosts 1 --only burndown,latency,growth \
		--csv "$pg_dir/pg1.csv" --svg "$RESULTS/latest-pg.svg" || failed=1
	"$BUILD/bench/asyncd-bench" --store "$url" --hosts 3 --only burndown \
		--csv "$pg_dir/pg3.csv" || failed=1
	local f
	for f in "$pg_dir/pg1.csv" "$pg_dir/pg3.csv"; do
		[[ -f $f ]] && tail -n +2 "$f" >>"$RESULTS/latest.csv"
	done
	scripts/pg.sh stop "$pg_dir" >/dev/null 2>&1 || true
	pg_dir=
}

main() {
	if [[ ${1:-} == --build-only ]]; then
		build
		return
	fi
	build
	trap cleanup EXIT
	trap 'exit 130' INT TERM HUP
	mkdir -p "$RESULTS"
	rm -f "$RESULTS/latest.csv" "$RESULTS/latest.svg" "$RESULTS/latest-pg.svg"
	local stamp f written=()
	stamp=$(date '+%Y%m%d-%H%M%S')
	if [[ ${BENCH_SQLITE:-1} == 1 ]]; then
		"$BUILD/bench/asyncd-bench" --csv "$RESULTS/latest.csv" --svg "$RESULTS/latest.svg" \
			"$@" || failed=1
	fi
	[[ -f $RESULTS/latest.csv ]] || echo "test,metric,value,unit,notes" >"$RESULTS/latest.csv"
	[[ ${BENCH_PG:-1} == 1 ]] && run_pg
	for f in latest.csv latest.svg latest-pg.svg; do
		if [[ -f $RESULTS/$f ]]; then
			cp "$RESULTS/$f" "$RESULTS/$stamp${f#latest}"
			written+=("$RESULTS/$f")
		fi
	done
	echo "written: ${written[*]} (and copies named $stamp*)"
	return "$failed"
}

main "$@"
