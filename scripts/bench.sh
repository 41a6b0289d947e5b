#!/usr/bin/env bash
# asyncd's benchmark (`make bench`); see docs/performance.md.
#
#   1. scripts/deps.sh, then a release build in build-bench/ (meson --buildtype=release
#      -Dtests=false): asyncd, the sample plug-ins, bench/asyncd-bench and its plug-ins
#   2. build-bench/bench/asyncd-bench: starts the real asyncd (durable defaults) in temp state
#      directories on 127.0.0.1 and measures burn-down, API, latency, growth and isolation
#   3. prints the table; writes bench/results/latest.{csv,svg} and a copy stamped with the date
#
# usage: scripts/bench.sh [--build-only] [asyncd-bench options...]
# Environment: BENCH_SCALE (default 1; 0.01 is a quick run), TMPDIR (where state directories go;
# keep it on a real disk: the figures include fsync), BENCH_NO_BUILD=1 (use build-bench/ as it is).
set -euo pipefail

cd "$(dirname "$0")/.."

MESON=${MESON:-meson}
BUILD=build-bench
RESULTS=bench/results

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

main() {
	if [[ ${1:-} == --build-only ]]; then
		build
		return
	fi
	build
	mkdir -p "$RESULTS"
	local stamp
	stamp=$(date '+%Y%m%d-%H%M%S')
	"$BUILD/bench/asyncd-bench" --csv "$RESULTS/latest.csv" --svg "$RESULTS/latest.svg" "$@"
	cp "$RESULTS/latest.csv" "$RESULTS/$stamp.csv"
	cp "$RESULTS/latest.svg" "$RESULTS/$stamp.svg"
	echo "written: $RESULTS/latest.csv, $RESULTS/latest.svg (and $stamp.*)"
}

main "$@"
