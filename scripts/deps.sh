#!/usr/bin/env bash
# Check that the Debian packages asyncd needs are installed, and install the missing ones.
#
# usage: scripts/deps.sh [GROUP]...
#   build   (default) what `make`, `make run` and `make test` need: compiler, Meson, the
#           libraries (libpq for the PostgreSQL backend), Chart.js for the console, cmocka,
#           clang-format, curl, prometheus (promtool), systemd (systemd-analyze) and the
#           PostgreSQL 15 server the tests start (scripts/pg.sh)
#   deb     what `make deb` needs: the build libraries, debhelper, dpkg-dev and lintian
#   browser the console's browser tests: chromium, nodejs (and npm)
#
# Quiet when everything is present. When something is missing: as root with apt-get, installs it
# (running `apt-get update` only if the first install attempt fails); otherwise prints the
# `sudo apt-get install ...` line to run and exits 1. On a system without dpkg-query it only warns.
# ASYNCD_SKIP_DEPS=1 skips the check (for builds against hand-installed libraries).
#
# To add a group (e.g. PostgreSQL, Chromium for the browser tests): add one DEPS_<GROUP> list
# below and one line to group_packages().
set -euo pipefail

# build: compiler, build system and the libraries the core links against
DEPS_BUILD="meson ninja-build pkg-config gcc libsqlite3-dev libjansson-dev libmicrohttpd-dev
libsodium-dev libcurl4-openssl-dev libseccomp-dev libsystemd-dev python3 libjs-chart.js libpq-dev"
# test: unit-test framework, the format check, curl (for scripts/run.sh and manual checks),
# prometheus (its promtool checks /metrics in tests/integration/test-metrics.c), systemd
# (systemd-analyze verify on the installed unit) and the PostgreSQL 15 server that `make test`
# starts privately (scripts/pg.sh) to run every suite on the PostgreSQL backend too, and openssl
# (tests/integration/test-tls.c makes its CA and server certificate with it)
DEPS_TEST="libcmocka-dev clang-format curl prometheus systemd postgresql-15 openssl"
# deb: what `make deb` needs to build and check the Debian package (debian/)
DEPS_DEB="debhelper dpkg-dev lintian"
# browser: the console's tests in a real browser (tests/browser/): Debian's Chromium and Node.js;
# npm comes with nodejs on some systems, else from Debian's npm (checked by command, not package)
DEPS_BROWSER="chromium nodejs"
# run: the IANA time zones of recurring jobs (read from /usr/share/zoneinfo)
DEPS_RUN="tzdata"

prog=${0##*/}

die_usage() {
	echo "usage: $prog [build|deb|browser]..." >&2
	exit 2
}

# group_packages GROUP: print the packages of GROUP
group_packages() {
	case "$1" in
	build) echo "$DEPS_BUILD $DEPS_TEST $DEPS_RUN" ;;
	deb) echo "$DEPS_BUILD $DEPS_DEB" ;;
	browser) echo "$DEPS_BROWSER" ;;
	*)
		echo "$prog: unknown group: $1" >&2
		die_usage
		;;
	esac
}

# is_installed PKG: true when dpkg knows PKG as installed
is_installed() {
	local status
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
	[[ $status == ii* ]]
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

main() {
	local groups=("$@") pkgs=() missing=() g p

	if [[ ${ASYNCD_SKIP_DEPS:-0} == 1 ]]; then
		return 0
	fi
	if ((${#groups[@]} == 0)); then
		groups=(build)
	fi
	for g in "${groups[@]}"; do
		local list
		list=$(group_packages "$g") || exit 2
		# shellcheck disable=SC2206 # the lists are whitespace-separated package names
		pkgs+=($list)
	done

	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "$prog: warning: no dpkg-query (not Debian?); cannot check for: ${pkgs[*]}" >&2
		return 0
	fi
	for p in "${pkgs[@]}"; do
		if ! is_installed "$p"; then
			missing+=("$p")
		fi
	done
	# npm: part of some nodejs builds, a package of its own in Debian's
	if [[ " ${pkgs[*]} " == *" nodejs "* ]] && is_installed nodejs &&
		! command -v npm >/dev/null 2>&1; then
		missing+=(npm)
	fi
	if ((${#missing[@]} == 0)); then
		return 0
	fi

	echo "$prog: missing Debian packages: ${missing[*]}" >&2
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		if ! apt_install "${missing[@]}"; then
			echo "$prog: install failed; running apt-get update and retrying" >&2
			apt-get update
			apt_install "${missing[@]}"
		fi
		return 0
	fi
	echo "$prog: install them with:" >&2
	echo "sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
}

main "$@"
