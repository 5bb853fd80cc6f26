#!/bin/sh
# scenario-list.sh SRCDIR - scenarios/list is the one list of the built-in
# scenarios (scenarios/meson.build); what is not made from it must agree
# with it, as TAP: the scenario files beside it, the index table of
# docs/scenarios/README.md (same names, same order) and the pages there.
set -u
src=$1
# shellcheck source=tests/common/tap.sh
. "$src/tests/common/tap.sh"

list=$src/scenarios/list
index=$src/docs/scenarios/README.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spte-scenario-list.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

echo "1..5"
bad=$(grep -nvE '^[A-Za-z0-9_-]+$' "$list")
dup=$(sort "$list" | uniq -d)
# shellcheck disable=SC2317 # called through check
well_formed() { [ -s "$list" ] && [ -z "$bad" ] && [ -z "$dup" ]; }
check "scenarios/list: one name a line, each once${bad:+ (not a name: $bad)}${dup:+ (twice: $dup)}" \
	well_formed

sort -u "$list" >"$tmp/listed"
# same_as FILE: the sorted names in FILE are the listed ones
same_as() { cmp -s "$tmp/listed" "$1"; }
# differs FILE WHAT: " (listed, no WHAT: ...; WHAT, not listed: ...)"
differs() {
	printf ' (listed, no %s: %s; %s, not listed: %s)' \
		"$2" "$(comm -23 "$tmp/listed" "$1" | paste -sd' ' -)" \
		"$2" "$(comm -13 "$tmp/listed" "$1" | paste -sd' ' -)"
}

for f in "$src"/scenarios/*.scenario; do basename "$f" .scenario; done |
	sort >"$tmp/files"
check "scenarios/*.scenario are the listed scenarios$(same_as "$tmp/files" || differs "$tmp/files" file)" \
	same_as "$tmp/files"

for f in "$src"/docs/scenarios/*.md; do
	[ "$f" = "$index" ] || basename "$f" .md
done | sort >"$tmp/pages"
check "docs/scenarios/NAME.md: a page for each listed scenario and no other$(same_as "$tmp/pages" || differs "$tmp/pages" page)" \
	same_as "$tmp/pages"

# The index's rows: | [NAME](NAME.md) | what it shows |
sed -n 's/^| \[\([^]]*\)\](\([^)]*\)\.md) |.*/\1 \2/p' "$index" >"$tmp/rows"
cut -d' ' -f1 "$tmp/rows" >"$tmp/index"
check "the index of docs/scenarios/README.md lists scenarios/list, in its order$(cmp -s "$list" "$tmp/index" || echo " (index: $(paste -sd' ' "$tmp/index"))")" \
	cmp -s "$list" "$tmp/index"
mislinked=$(awk '$1 != $2 { print $1 }' "$tmp/rows" | paste -sd' ' -)
check "each index row links its own page${mislinked:+ (not: $mislinked)}" \
	[ -z "$mislinked" ]
exit "$failed"
