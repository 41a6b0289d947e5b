#!/usr/bin/env bash
# The installed systemd unit is true (issue 11 item 3): install the build into a scratch root
# (meson install --destdir), check that the unit's ExecStart binary, the --config file it names and
# every Documentation= file are installed there, then run `systemd-analyze verify` on the unit
# with that root. Exit 77 (skipped) without systemd-analyze (Debian package systemd).
# usage: verify-unit.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: verify-unit.sh BUILD_DIR}
root=$(mktemp -d /tmp/asyncd-unit.XXXXXX)
trap 'rm -rf "$root"' EXIT
fail=0

bad() {
	echo "verify-unit: $*" >&2
	fail=1
}

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "verify-unit: skipped: no systemd-analyze (apt-get install systemd)"
	exit 77
fi
# systemd-analyze --root= looks for the units the unit depends on (sysinit.target...) there
mkdir -p "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
meson install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null

unit=$(find "$root" -path '*/lib/systemd/system/asyncd.service' -type f | head -n 1)
[[ -n $unit ]] || {
	echo "verify-unit: meson install put no lib/systemd/system/asyncd.service" >&2
	exit 1
}
echo "verify-unit: ${unit#"$root"}"

exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r -a argv <<<"$exec_start"
[[ -x $root${argv[0]} ]] || bad "ExecStart names ${argv[0]}, which is not installed"
for ((i = 1; i < ${#argv[@]}; i++)); do
	if [[ ${argv[i]} == --config ]]; then
		conf=${argv[i + 1]:-}
		[[ -f $root$conf ]] || bad "ExecStart reads $conf, which is not installed"
	fi
done
[[ -n ${conf:-} ]] || bad "ExecStart names no --config file"

# shellcheck disable=SC2013 # Documentation= holds space-separated URIs: words are wanted
for doc in $(sed -n 's/^Documentation=//p' "$unit"); do
	path=${doc#file://}
	[[ $path != "$doc" ]] || continue # man: or https: pages are not ours to install
	[[ -f $root$path ]] || bad "Documentation= names $path, which is not installed"
done

if ! systemd-analyze verify --root="$root" "$unit"; then
	bad "systemd-analyze verify failed"
fi
((fail == 0)) && echo "verify-unit: ok"
exit "$fail"
