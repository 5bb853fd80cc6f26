#!/bin/sh
# checkpatch.sh SRCDIR CACHEDIR - host/ and the shared kernel headers must be
# checkpatch-clean.  checkpatch.pl comes from Debian's linux-source-6.12, the
# newest kernel spte_mirror supports (its checks are the strictest),
# extracted once into CACHEDIR.  TAP output, one test per file.
set -u
src=$1
cache=$2
# shellcheck source=tests/common/tap.sh
. "$src/tests/common/tap.sh"
tarball=/usr/src/linux-source-6.12.tar.xz
[ -f "$tarball" ] || tarball=
cache=$cache/6.12
script=$cache/scripts/checkpatch.pl

if [ ! -f "$script" ]; then
	[ -n "$tarball" ] ||
		missing "linux-source-6.12 is not installed (scripts/deps installs it)"
	mkdir -p "$cache"
	tar -xJf "$tarball" -C "$cache" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' || exit 1
fi

set -- "$src"/host/*.c "$src"/host/*.h "$src"/include/uapi/linux/spte_mirror.h \
	"$src"/include/spte/ept.h
echo "1..$#"
for f in "$@"; do
	if report=$(perl "$script" --no-tree --terse --show-types -f "$f" 2>&1); then
		ok "${f#"$src"/} is checkpatch-clean"
	else
		not_ok "${f#"$src"/}"
		printf '%s\n' "$report" | sed 's/^/# /'
	fi
done
exit $failed
