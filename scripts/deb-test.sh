#!/usr/bin/env bash
# Install the Debian package on this machine and try it (`make deb-test`, also run by
# scripts/test.sh): dpkg -i build-deb/asyncd_*.deb; check the asyncd user and groups, the state
# directory (0700, asyncd's) and /etc/asyncd/asyncd.conf; start asyncd as the unit would (its
# ExecStart command line, as User=asyncd with SupplementaryGroups=asyncd-admin, plus
# --listen 127.0.0.1:0 so that a busy port 8470 does not matter); GET /healthz; stop it; dpkg --purge
# and check that the files and the state directory are gone. Every wait is bounded.
#
# Needs root and dpkg. Exits 77 (skipped) without them, or when an asyncd package is installed
# already (it is not ours to replace). Builds the package first when build-deb/ has none.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${ASYNCD_DEB_DIR:-build-deb}
STATE=/var/lib/asyncd
UNIT=/usr/lib/systemd/system/asyncd.service
pid=
installed=0

say() {
	echo "deb-test: $*"
}

fail() {
	echo "deb-test: FAIL: $*" >&2
	exit 1
}

skip() {
	say "skipped: $*"
	exit 77
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	if ((installed)); then
		dpkg --purge asyncd >/dev/null 2>&1 || true
	fi
}

wait_for() { # SECONDS DESCRIPTION COMMAND...: poll every 0.1 s
	local end=$((SECONDS + $1)) what=$2
	shift 2
	until "$@"; do
		((SECONDS < end)) || fail "$what: not within the time allowed"
		sleep 0.1
	done
}

healthy() {
	[[ -s $STATE/asyncd.url ]] &&
		curl -fsS --max-time 2 -o /dev/null "$(tr -d '[:space:]' <"$STATE/asyncd.url")/healthz"
}

stopped() {
	! kill -0 "$pid" 2>/dev/null
}

check_mode() { # PATH MODE OWNER GROUP
	local got
	got=$(stat -c '%a %U %G' "$1")
	[[ $got == "$2 $3 $4" ]] || fail "$1 is '$got', want '$2 $3 $4'"
}

main() {
	[[ $(id -u) == 0 ]] || skip "not root (dpkg -i needs it)"
	command -v dpkg >/dev/null 2>&1 || skip "no dpkg"
	if dpkg-query -W -f='${db:Status-Abbrev}' asyncd 2>/dev/null | grep -q '^ii'; then
		skip "an asyncd package is installed already"
	fi
	[[ ! -e $STATE ]] || skip "$STATE exists already"
	compgen -G "$OUT/asyncd_*.deb" >/dev/null || scripts/deb.sh
	local deb
	deb=$(find "$OUT" -maxdepth 1 -name 'asyncd_*.deb' | head -n 1)

	trap cleanup EXIT
	say "dpkg -i $deb"
	installed=1
	dpkg -i "$deb" >/dev/null

	getent passwd asyncd >/dev/null || fail "no asyncd user"
	getent group asyncd-admin >/dev/null || fail "no asyncd-admin group"
	check_mode "$STATE" 700 asyncd asyncd
	check_mode /etc/asyncd/asyncd.conf 640 root asyncd
	dpkg-query -W -f='${Conffiles}' asyncd | grep -q /etc/asyncd/asyncd.conf ||
		fail "/etc/asyncd/asyncd.conf is not a conffile"
	for f in /usr/bin/asyncd /usr/bin/asyncctl /usr/libexec/asyncd/asyncd-worker \
		/usr/include/asyncd/plugin.h /usr/lib/pkgconfig/asyncd-plugin.pc \
		/usr/lib/asyncd/plugins/samples.so /usr/share/doc/asyncd/README.md "$UNIT"; do
		[[ -e $f ]] || fail "$f is not installed"
	done

	local exec_start argv
	exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
	read -r -a argv <<<"$exec_start"
	say "as asyncd: $exec_start --listen 127.0.0.1:0"
	setpriv --reuid=asyncd --regid=asyncd --init-groups -- \
		"${argv[@]}" --listen 127.0.0.1:0 >"$OUT/deb-test.log" 2>&1 &
	pid=$!
	wait_for 30 "GET /healthz of the installed asyncd" healthy
	say "GET $(tr -d '[:space:]' <"$STATE/asyncd.url")/healthz: 200"
	check_mode "$STATE/admin.token" 600 asyncd asyncd
	kill -TERM "$pid"
	wait_for 30 "asyncd's stop after SIGTERM" stopped
	wait "$pid" || fail "asyncd exited with status $? (log: $OUT/deb-test.log)"
	pid=

	say "dpkg --purge asyncd"
	dpkg --purge asyncd >/dev/null
	installed=0
	for f in /usr/bin/asyncd /usr/libexec/asyncd "$UNIT" /etc/asyncd "$STATE"; do
		[[ ! -e $f ]] || fail "$f is still there after dpkg --purge"
	done
	say "ok"
}

main "$@"
