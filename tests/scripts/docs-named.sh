#!/usr/bin/env bash
# The docs name what exists (issue 11 item 5), read at run time so that it stays right after
# merges: every target in the Makefile's .PHONY lines is named in README.md as `make TARGET`, every
# docs/*.md file is named in README.md, and every package of a DEPS_* list in scripts/deps.sh is
# named in docs/building.md. Prints each miss; exits 1 when there is one.
# usage: docs-named.sh SOURCE_DIR
set -euo pipefail

src=${1:-${ASYNCD_SOURCE_DIR:?usage: docs-named.sh SOURCE_DIR}}
readme=$src/README.md
building=$src/docs/building.md
fail=0

miss() {
	echo "docs-named: $*" >&2
	fail=1
}

# the targets of every .PHONY line (with its continuation lines)
phony_targets() {
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$src/Makefile" | sed -n 's/^\.PHONY:[[:space:]]*//p' |
		tr -s ' \t' '\n' | sed '/^$/d' | sort -u
}

# the words of every DEPS_X="..." list (the lists may span lines)
deps_packages() {
	awk '
		/^DEPS_[A-Z0-9_]+="/ { inlist = 1; sub(/^DEPS_[A-Z0-9_]+="/, "") }
		inlist {
			line = $0
			if (index(line, "\"")) { sub(/".*/, "", line); inlist = 0 }
			print line
		}' "$src/scripts/deps.sh" | tr -s ' \t' '\n' | sed '/^$/d' | sort -u
}

# the tokens of a Markdown file: split at white space, backticks, table bars, commas, parentheses
tokens() {
	tr -s ' \t`|,()' '\n' <"$1" | sed 's/[.:;]$//; /^$/d' | sort -u
}

n_targets=0
while read -r t; do
	n_targets=$((n_targets + 1))
	grep -Eq "make ${t//./\\.}([^A-Za-z0-9_-]|$)" "$readme" ||
		miss "make target '$t' (Makefile .PHONY) is not named in README.md as 'make $t'"
done < <(phony_targets)

n_docs=0
for f in "$src"/docs/*.md; do
	n_docs=$((n_docs + 1))
	name=docs/${f##*/}
	grep -Fq "$name" "$readme" || miss "$name is not named in README.md"
done

n_pkgs=0
all_tokens=$(tokens "$building")
while read -r p; do
	n_pkgs=$((n_pkgs + 1))
	grep -Fxq -- "$p" <<<"$all_tokens" ||
		miss "package '$p' (scripts/deps.sh) is not listed in docs/building.md"
done < <(deps_packages)

((n_targets > 0 && n_docs > 0 && n_pkgs > 0)) || miss "found no targets, docs or packages to check"
echo "docs-named: checked $n_targets make targets, $n_docs docs files, $n_pkgs packages"
exit "$fail"
