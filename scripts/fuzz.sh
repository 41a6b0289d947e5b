#!/usr/bin/env bash
# `make fuzz`: build the libFuzzer targets with clang in build-fuzz/ (ASan + UBSan) and run each
# one for FUZZ_SECONDS (default 600), one at a time. Each target starts from its committed corpus
# (tests/fuzz/corpus/NAME/) plus what earlier runs found (build-fuzz/corpus/NAME/); crashes, leaks
# and timeouts are written to build-fuzz/findings/NAME/. Copy a finding into tests/fuzz/corpus/NAME/
# once it is fixed, so that every build replays it.
#
#   FUZZ_SECONDS=60 make fuzz          a shorter run
#   FUZZ_TARGETS="config context" make fuzz   only some targets
#
# The last line is "fuzz: N targets, N findings"; the exit status is 1 when anything was found.
set -euo pipefail

cd "$(dirname "$0")/.."

MESON=${MESON:-meson}
DIR=build-fuzz
SECONDS_EACH=${FUZZ_SECONDS:-600}
TARGETS=${FUZZ_TARGETS:-"ipc body-event body-ndjson body-job body-step body-step-patch body-settings body-admin config context rrule"}

if ! command -v clang >/dev/null 2>&1; then
	echo "make fuzz: clang is needed (libFuzzer): apt-get install clang" >&2
	exit 2
fi
if [[ ! -f $DIR/meson-private/coredata.dat ]]; then
	CC=clang "$MESON" setup "$DIR" --buildtype=debug -Dtests=true \
		-Db_sanitize=address,undefined -Db_lundef=false
fi
"$MESON" compile -C "$DIR" $(for t in $TARGETS; do printf 'tests/fuzz/fuzz-%s ' "$t"; done)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
findings=0
for t in $TARGETS; do
	work=$DIR/corpus/$t
	out=$DIR/findings/$t
	mkdir -p "$work" "$out"
	log=$DIR/fuzz-$t.log
	echo "=== fuzz-$t for ${SECONDS_EACH}s"
	set +e
	"$DIR/tests/fuzz/fuzz-$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$out/" \
		"$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	set -e
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
	found=$(find "$out" -type f | wc -l)
	echo "fuzz-$t: ${runs:-?} executions, $found findings (exit $rc, log $log)"
	if ((rc != 0 || found > 0)); then
		findings=$((findings + (found > 0 ? found : 1)))
		tail -40 "$log"
	fi
done
echo "fuzz: $(wc -w <<<"$TARGETS") targets, $findings findings"
((findings == 0))
