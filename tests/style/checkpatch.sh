#!/bin/sh
# checkpatch.sh SRCDIR CACHEDIR - host/ and the shared kernel headers must be
# checkpatch-clean.  checkpatch.pl comes from Debian's linux-source-6.12, the
# newest kernel spte_mirror supports (its checks are the strictest),
# extracted once into CACHEDIR.  TAP output, one test per file.
set -u
src=$1
cache=$2
tarball=/usr/src/linux-source-6.12.tar.xz
[ -f "$tarball" ] || tarball=
cache=$cache/6.12
script=$cache/scripts/checkpatch.pl

if [ ! -f "$script" ]; then
	if [ -z "$tarball" ]; then
		if [ -n "${CI:-}" ]; then
			echo "1..1"
			echo "not ok 1 - linux-source-6.12 is not installed (scripts/deps installs it)"
			exit 1
		fi
		echo "1..0 # SKIP no /usr/src/linux-source-6.12.tar.xz (apt-get install linux-source-6.12)"
		exit 0
	fi
	mkdir -p "$cache"
	tar -xJf "$tarball" -C "$cache" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' || exit 1
fi

set -- "$src"/host/*.c "$src"/host/*.h "$src"/include/uapi/linux/spte_mirror.h \
	"$src"/include/spte/ept.h
echo "1..$#"
n=0
failed=0
for f in "$@"; do
	n=$((n + 1))
	if report=$(perl "$script" --no-tree --terse --show-types -f "$f" 2>&1); then
		echo "ok $n - ${f#"$src"/} is checkpatch-clean"
	else
		failed=1
		echo "not ok $n - ${f#"$src"/}"
		printf '%s\n' "$report" | sed 's/^/# /'
	fi
done
exit $failed
