#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Build spte_mirror.ko out of the meson build tree:
#   kbuild.sh KDIR OUTDIR [NAME]
# Lays out the module's source in a fresh OUTDIR/NAME.kbuild with
# source-tree.sh (the tree DKMS builds too), runs Kbuild there against KDIR
# with W=1, fails on any warning, and leaves OUTDIR/NAME (default
# spte_mirror.ko).  One work tree per NAME, so modules for several kernels
# build side by side.
set -eu
kdir=$1 out=$2 name=${3:-spte_mirror.ko}

# fresh: a tree of an older version must not linger either
rm -rf "$out/$name.kbuild"
work=$(sh "$(dirname "$0")/source-tree.sh" "$out/$name.kbuild")

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
