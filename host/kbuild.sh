#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Build spte_mirror.ko out of the meson build tree:
#   kbuild.sh KDIR OUTDIR SRCDIR INCDIR [NAME]
# Copies the module sources (every *.c and *.h of SRCDIR, Kbuild, Makefile)
# and the two shared headers into a fresh OUTDIR/NAME.kbuild, keeping the
# host/ + include/ layout that Kbuild's include paths expect, runs Kbuild
# there against KDIR with W=1, fails on any warning, and leaves
# OUTDIR/NAME (default spte_mirror.ko).  One work tree per NAME, so
# modules for several kernels build side by side.
set -eu
kdir=$1 out=$2 src=$3 inc=$4 name=${5:-spte_mirror.ko}
work=$out/$name.kbuild

# fresh: a source file removed from host/ must not linger in the copy
rm -rf "$work"
mkdir -p "$work/host" "$work/include/uapi/linux" "$work/include/spte"
cp "$src/Kbuild" "$src/Makefile" "$src"/*.c "$src"/*.h "$work/host/"
cp "$inc/uapi/linux/spte_mirror.h" "$work/include/uapi/linux/"
cp "$inc/spte/ept.h" "$work/include/spte/"

log=$work/build.log
if ! make -C "$work/host" KDIR="$kdir" W=1 KCFLAGS=-Werror modules \
	>"$log" 2>&1; then
	cat "$log" >&2
	exit 1
fi
if grep -i 'warning:' "$log" >&2; then
	echo "kbuild.sh: warnings in the module build (see above)" >&2
	exit 1
fi
cp "$work/host/spte_mirror.ko" "$out/$name"
