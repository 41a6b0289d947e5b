#!/usr/bin/env bash
# asyncd's one test command (`make test`).
#
#   1. scripts/deps.sh build browser, and `npm ci` in tests/browser (playwright-core, axe-core:
#      test tooling for the console's browser tests, suite `browser`, run in build/ only)
#      Then a private PostgreSQL 15 server (scripts/pg.sh start: initdb in a temp dir, a free
#      127.0.0.1 port), stopped at the end whatever happens (trap); its URL is exported as
#      ASYNCD_TEST_PG_URL, and the suite `pg` runs the store and integration tests again on it (a
#      fresh database per test case)
#   2. configure + compile build/ (debugoptimized), build-asan/ (debug, ASan + UBSan) and
#      build-tsan/ (debug, ThreadSanitizer)
#   3. meson test in build/, build-asan/ and build-tsan/ -- all always run
#   4. clang-format --dry-run -Werror over the tracked C files (one check)
#   5. the Debian package (one check): scripts/deb.sh builds it and runs lintian, scripts/deb-test.sh
#      installs, starts and purges it -- as root with dpkg-buildpackage only, else skipped (counted
#      as neither); ASYNCD_SKIP_DEB=1 skips it
#
# The last line of output is always "N passed, N failed": the test cases (TAP lines) of the meson
# runs plus the format check; a test program that fails without a failing case, a build that
# fails and a failed format check count as one failed each. Exit status 0 only when nothing
# failed.
#
# `scripts/test.sh tsan` (`make test-tsan`) runs the ThreadSanitizer build alone.
#
# Environment: MESON_TESTTHREADS (default 2), ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS (defaults
# below), ASAN_TIMEOUT_MULTIPLIER (default 3: the sanitizer build is slower),
# TSAN_TIMEOUT_MULTIPLIER (default 5).
set -euo pipefail

cd "$(dirname "$0")/.."

MESON=${MESON:-meson}
export MESON_TESTTHREADS=${MESON_TESTTHREADS:-2}

passed=0
failed=0
tmp=$(mktemp -d)
pg_dir=
cleanup() {
	if [[ -n $pg_dir ]]; then
		scripts/pg.sh stop "$pg_dir" || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# start_pg: the private PostgreSQL of the suite `pg`; without it those tests skip (and a failed
# start counts as one failed check)
start_pg() {
	local url
	say "PostgreSQL for the suite pg"
	pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/asyncd-pg.XXXXXX")
	if url=$(scripts/pg.sh start "$pg_dir"); then
		export ASYNCD_TEST_PG_URL=$url
		export ASYNCD_TEST_PG_DIR=$pg_dir # test-peers restarts it, test-outage stops and starts it (scripts/pg.sh)
		echo "$url"
	else
		echo "test.sh: cannot start PostgreSQL: the suite pg is skipped" >&2
		rm -rf "$pg_dir"
		pg_dir=
		failed=$((failed + 1))
	fi
}

say() {
	printf '\n=== %s\n' "$*"
}

# setup DIR ARGS...: configure DIR unless it already is a Meson build directory
setup() {
	local dir=$1
	shift
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		return 0
	fi
	"$MESON" setup "$dir" "$@"
}

# build DIR ARGS...: configure and compile; a failure counts as one failed check
build() {
	local dir=$1
	say "build $dir"
	if setup "$@" && "$MESON" compile -C "$dir"; then
		return 0
	fi
	echo "test.sh: building $dir failed" >&2
	failed=$((failed + 1))
	return 1
}

# count_cases TESTLOG: "OK BAD", the test cases (TAP lines) that passed and failed in meson's
# testlog.json; a test program that failed without a failing case (a crash, a time-out, a leak
# report at exit) counts as one more failed case
count_cases() {
	python3 - "$1" <<'PY'
import json, re, sys
ok = bad = 0
try:
    lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
except OSError:
    lines = []
for line in lines:
    t = json.loads(line)
    out = t.get("stdout") or ""
    n_ok = len(re.findall(r"^ok \d+", out, re.M))
    n_bad = len(re.findall(r"^not ok \d+", out, re.M))
    if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and n_bad == 0:
        n_bad = 1
    if n_ok == 0 and n_bad == 0 and t.get("result") == "OK":
        n_ok = 1
    ok += n_ok
    bad += n_bad
print(ok, bad)
PY
}

# run_tests DIR [MESON-TEST-ARGS...]: run the suites of DIR and add its summary to the totals
run_tests() {
	local dir=$1 log rc ok bad
	shift
	log=$tmp/${dir//\//_}.log
	say "meson test -C $dir ($MESON_TESTTHREADS threads)"
	if "$MESON" test -C "$dir" --print-errorlogs "$@" 2>&1 | tee "$log"; then
		rc=0
	else
		rc=$?
	fi
	read -r ok bad < <(count_cases "$dir/meson-logs/testlog.json")
	if ((rc != 0 && bad == 0)); then
		# meson itself failed (no summary, or it stopped early): count the run as one failure
		echo "test.sh: meson test in $dir exited with status $rc" >&2
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

# format_check: clang-format over the tracked C sources, one passed or failed check
format_check() {
	local files=() f
	say "clang-format check"
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		while IFS= read -r -d '' f; do
			[[ -f $f ]] && files+=("$f")
		done < <(git ls-files -z -- '*.c' '*.h')
	else
		while IFS= read -r -d '' f; do
			files+=("$f")
		done < <(find src include plugins tests -type f \( -name '*.c' -o -name '*.h' \) -print0)
	fi
	if ((${#files[@]} == 0)); then
		echo "no C files"
		passed=$((passed + 1))
	elif ! command -v clang-format >/dev/null 2>&1; then
		echo "test.sh: clang-format not found" >&2
		failed=$((failed + 1))
	elif clang-format --dry-run -Werror "${files[@]}"; then
		echo "${#files[@]} files formatted as .clang-format asks"
		passed=$((passed + 1))
	else
		echo "test.sh: clang-format check failed: run 'make format'" >&2
		failed=$((failed + 1))
	fi
}

# browser_tooling: the npm packages of tests/browser (playwright-core, axe-core), installed from
# package-lock.json when node_modules is missing or older than it; a failure counts as one failed
# check (the browser suite then fails too, naming what is missing)
browser_tooling() {
	local dir=tests/browser
	say "browser test tooling (npm ci in $dir)"
	if [[ -f $dir/node_modules/.package-lock.json &&
		! $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
		echo "up to date"
		return 0
	fi
	if (cd "$dir" && npm ci --no-audit --no-fund); then
		return 0
	fi
	echo "test.sh: npm ci in $dir failed" >&2
	failed=$((failed + 1))
}

# The ThreadSanitizer build: its asyncd-worker skips RLIMIT_AS as in ASan builds
# (src/worker/sanitizer.h): TSan reserves far more address space than RLIMIT_AS allows and brings
# its own malloc. A race report makes the process exit 66, which fails its test.
tsan_suite() {
	if build build-tsan --buildtype=debug -Dtests=true -Db_sanitize=thread -Db_lundef=false; then
		TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1} \
			run_tests build-tsan --timeout-multiplier "${TSAN_TIMEOUT_MULTIPLIER:-5}" \
				--suite unit --suite tsan
	fi
}

# The Debian package: built, lintian-clean, installed, started and purged (scripts/deb-test.sh).
deb_check() {
	local rc=0
	if [[ ${ASYNCD_SKIP_DEB:-0} == 1 || $(id -u) != 0 ]] || ! command -v dpkg >/dev/null 2>&1; then
		say "Debian package: skipped (needs root and dpkg; ASYNCD_SKIP_DEB=${ASYNCD_SKIP_DEB:-0})"
		return 0
	fi
	say "Debian package (scripts/deb.sh, scripts/deb-test.sh)"
	if scripts/deb.sh; then
		scripts/deb-test.sh || rc=$?
	else
		rc=1
	fi
	if ((rc == 0)); then
		passed=$((passed + 1))
	elif ((rc != 77)); then
		echo "test.sh: the Debian package check failed" >&2
		failed=$((failed + 1))
	fi
}

main_tsan() {
	say "dependencies"
	if ! scripts/deps.sh build; then
		echo "0 passed, 1 failed"
		exit 1
	fi
	start_pg
	tsan_suite
	echo
	echo "$passed passed, $failed failed"
	((failed == 0))
}

main() {
	if [[ ${1:-} == tsan ]]; then
		main_tsan
		return
	fi
	say "dependencies"
	if ! scripts/deps.sh build browser; then
		echo "0 passed, 1 failed"
		exit 1
	fi
	browser_tooling

	start_pg
	local plain_ok=0 asan_ok=0
	build build --buildtype=debugoptimized -Dtests=true && plain_ok=1
	build build-asan --buildtype=debug -Dtests=true \
		-Db_sanitize=address,undefined -Db_lundef=false && asan_ok=1

	if ((plain_ok)); then
		run_tests build
	fi
	if ((asan_ok)); then
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
		export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
		run_tests build-asan --timeout-multiplier "${ASAN_TIMEOUT_MULTIPLIER:-3}" \
			--no-suite pg --no-suite slow
	fi
	tsan_suite

	format_check
	deb_check

	echo
	echo "$passed passed, $failed failed"
	((failed == 0))
}

main "$@"
