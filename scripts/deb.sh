#!/usr/bin/env bash
# Build the asyncd Debian package (`make deb`) from debian/ with debhelper + Meson, and check it
# with lintian (errors fail; warnings are shown).
#
# The source tree is copied first (the files git knows, tracked or new, or the whole tree
# without build directories when there is no git), so that dpkg-buildpackage's obj-*/ and
# debian/tmp never land in the working tree. The .deb, .changes and .buildinfo go to build-deb/
# (ASYNCD_DEB_DIR overrides).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${ASYNCD_DEB_DIR:-build-deb}

scripts/deps.sh deb

version=$(dpkg-parsechangelog -S Version)
tmp=$(mktemp -d /tmp/asyncd-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/asyncd-$version
mkdir -p "$src"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -C "$src" -xf -
else
	tar --exclude='./build*' --exclude=./var --exclude=./.git -cf - . | tar -C "$src" -xf -
fi

echo "deb.sh: dpkg-buildpackage in $src"
(cd "$src" && dpkg-buildpackage -b -us -uc)

mkdir -p "$OUT"
rm -f "$OUT"/asyncd_*
cp "$tmp"/asyncd_"$version"_*.deb "$tmp"/asyncd_"$version"_*.changes \
	"$tmp"/asyncd_"$version"_*.buildinfo "$OUT"/
deb=$(ls "$OUT"/asyncd_"$version"_*.deb)

echo "deb.sh: lintian $deb"
lintian --fail-on error --info "$deb"
echo "deb.sh: built $deb"
