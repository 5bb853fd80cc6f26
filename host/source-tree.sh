#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# source-tree.sh DEST - lay out spte_mirror's source the way Kbuild and DKMS
# build it, and print the directory made:
#   DEST/spte_mirror-VERSION/dkms.conf
#   DEST/spte_mirror-VERSION/host/     every *.c and *.h, Kbuild, Makefile
#   DEST/spte_mirror-VERSION/include/  uapi/linux/spte_mirror.h, spte/ept.h
# host/Kbuild finds the two shared headers at $(src)/../include, so the
# module builds from there with "make -C KDIR M=.../host", as dkms.conf
# runs it; kbuild.sh (meson) builds the same tree, and meson install
# installs it into PREFIX/src.  VERSION is dkms.conf's PACKAGE_VERSION, and
# the directory name is the one DKMS wants under its source tree
# (/usr/src); `dkms add DIR` copies a tree from elsewhere there.
# An existing DEST/spte_mirror-VERSION is replaced, so that a file removed
# from host/ does not linger in it.
set -eu
[ $# = 1 ] || { echo "usage: source-tree.sh DEST" >&2; exit 2; }
dest=$1
host=$(cd "$(dirname "$0")" && pwd)
inc=$host/../include

version=$(sed -n 's/^PACKAGE_VERSION="\([^"]*\)"$/\1/p' "$host/dkms.conf")
[ -n "$version" ] ||
	{ echo "source-tree.sh: no PACKAGE_VERSION=\"...\" line in $host/dkms.conf" >&2; exit 1; }
tree=$dest/spte_mirror-$version

rm -rf "$tree"
mkdir -p "$tree/host" "$tree/include/uapi/linux" "$tree/include/spte"
cp "$host/dkms.conf" "$tree/"
cp "$host/Kbuild" "$host/Makefile" "$host"/*.c "$host"/*.h "$tree/host/"
cp "$inc/uapi/linux/spte_mirror.h" "$tree/include/uapi/linux/"
cp "$inc/spte/ept.h" "$tree/include/spte/"
(cd "$tree" && pwd)
