#!/bin/sh
# build-kernel.sh - build a lab kernel from a Debian linux-source package.
#
# usage: build-kernel.sh SOURCE-PACKAGE FRAGMENT ROOT
#
# For the lab kernels lab/kernels marks "build" (the debug kernel): unpack
# /usr/src/SOURCE-PACKAGE.tar.xz (installing the package if needed), take
# x86_64_defconfig plus kvm_guest.config plus lab/FRAGMENT, build bzImage,
# vmlinux and modules, and lay them out under ROOT the way an extracted
# Debian image is (boot/, lib/modules/<kver>/), with the build tree as the
# headers the module is built against (ROOT/build).  Prints the kernel
# release on stdout.  Idempotent: a finished ROOT is only checked.
#
# Takes a long while on 2 cores (tens of minutes): it is for on-demand use,
# started by `fetch-kernel.sh NAME` on the first `spte lab --kernel NAME`.
set -eu

prog=build-kernel.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/common.sh
. "$here/common.sh"

[ $# -eq 3 ] || die "usage: $prog SOURCE-PACKAGE FRAGMENT ROOT"
src_pkg=$1
fragment=$here/$2
root=$3
[ -r "$fragment" ] || die "$fragment missing"

# The fragment's hash is the local version: a changed fragment is a
# different kernel, never a stale one reused under the same name.
tag=$(sha256sum "$fragment" | cut -c1-8)
if [ "$(cut -d' ' -f2 "$root/.spte-lab-ready" 2>/dev/null)" = "$tag" ]; then
	cut -d' ' -f1 "$root/.spte-lab-ready"
	exit 0
fi
rm -f "$root/.spte-lab-ready"

# The source package is what puts the tarball there; the tools are what
# a kernel build needs beyond a compiler.
tarball=/usr/src/$src_pkg.tar.xz
pkgs="bc bison flex libelf-dev libssl-dev"
[ -r "$tarball" ] || pkgs="$src_pkg $pkgs"
# shellcheck disable=SC2086 # the package list is words
apt_install $pkgs
[ -r "$tarball" ] || die "$src_pkg is installed but $tarball is missing"

tree=$root/build
if [ ! -f "$tree/Makefile" ]; then
	say "unpacking $tarball"
	rm -rf "$root"
	mkdir -p "$tree"
	tar -xJf "$tarball" -C "$tree" --strip-components=1 ||
		die "cannot unpack $tarball"
fi

cd "$tree"
if [ ! -f .config ] || [ "$(cat .spte-fragment 2>/dev/null)" != "$tag" ]; then
	say "configuring: x86_64_defconfig + kvm_guest.config + $(basename "$fragment")"
	make -s x86_64_defconfig >&2
	scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config \
		"$fragment" >&2
	scripts/config --set-str LOCALVERSION "-spte-debug-$tag" \
		--disable LOCALVERSION_AUTO >&2
	make -s olddefconfig >&2
	# what the fragment asks for must have survived olddefconfig
	sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=\([ym]\)$/\1 \2/p' "$fragment" |
	while read -r opt val; do
		grep -q "^$opt=[ym]$" .config ||
			die "$opt=$val from $(basename "$fragment") did not survive olddefconfig"
	done
	echo "$tag" >.spte-fragment
fi

jobs=$(nproc)
say "building $(make -s kernelversion)-spte-debug-$tag with $jobs jobs (tens of minutes)"
make -s -j"$jobs" bzImage modules >&2 || die "kernel build failed"
kver=$(make -s kernelrelease)

# one kernel per ROOT: what an earlier fragment built goes
rm -rf "$root/boot" "$root/lib"
mkdir -p "$root/boot"
cp arch/x86/boot/bzImage "$root/boot/vmlinuz-$kver"
cp vmlinux "$root/boot/vmlinux-$kver"
cp .config "$root/boot/config-$kver"
make -s INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 DEPMOD=true \
	modules_install >&2 || die "modules_install failed"
rm -f "$root/lib/modules/$kver/build" "$root/lib/modules/$kver/source"
depmod -b "$root" "$kver" || die "depmod failed"
echo "$kver $tag" >"$root/.spte-lab-ready"
echo "$kver"
