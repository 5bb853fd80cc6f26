#!/bin/sh
# fetch-kernel.sh - put one of Debian's stock kernels for the lab VM, and the
# headers to build spte_mirror.ko against it, into a cache.
#
# usage: fetch-kernel.sh [--headers-only [--cached]] [NAME]
#        fetch-kernel.sh --list | --list-on-demand
#
# NAME is a line of lab/kernels (default: its first).  A "deb" kernel is
# the one behind that line's meta package; a "build" kernel is built from
# Debian's kernel source by build-kernel.sh, once, on demand (the debug
# kernel).  For a deb kernel nothing is installed on the host:
# the image, linux-headers-<kver>, its -common part and its linux-kbuild are
# downloaded and extracted into the cache, so the host keeps its own kernel
# and boot loader untouched (installing 6.12's headers package would pull
# in, and boot next, its image) and two lab kernels never share headers.
#
# Output: $cache/kernel-NAME.env (shell-sourceable) and the same lines on
# stdout:
#   SPTE_LAB_NAME=NAME
#   SPTE_LAB_KVER=6.1.0-NN-amd64
#   SPTE_LAB_VMLINUZ=<cache>/kernel/<kver>/boot/vmlinuz-<kver>
#   SPTE_LAB_MODDIR=<cache>/kernel/<kver>/lib/modules/<kver>
#   SPTE_LAB_HEADERS=<cache>/kernel/<kver>/headers/usr/src/linux-headers-<kver>
#   SPTE_LAB_VMLINUX=<cache>/kernel/<kver>/boot/vmlinux-<kver>  (may be empty)
#   SPTE_LAB_CMDLINE=PARAMS the kernel itself needs to boot in the lab (may be empty)
# --headers-only fetches just the headers and prints their directory (what
# meson needs at configure time); with --cached it only answers from the
# cache, failing at once if they are not there.  --list prints the names
# of the deb kernels (the lab's default set), --list-on-demand the others.
# For a build kernel, SPTE_LAB_HEADERS is its build tree.
#
# Idempotent: a second run only checks that the recorded files still exist.
# SPTE_LAB_REFRESH=1 re-resolves the meta package (e.g. after a Debian
# point release).
set -eu

prog=fetch-kernel.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/common.sh
. "$here/common.sh"
kernels=$here/kernels
[ -r "$kernels" ] || die "$kernels missing"

# lab/kernels without comments: "NAME KIND ARGS..." lines.
kernel_lines() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$kernels"
}

headers_only= cached_only=
while [ $# -gt 0 ]; do
	case $1 in
	--list) kernel_lines | awk '$2 == "deb" { print $1 }'; exit 0 ;;
	--list-on-demand) kernel_lines | awk '$2 != "deb" { print $1 }'; exit 0 ;;
	--headers-only) headers_only=1; shift ;;
	--cached) cached_only=1; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -le 1 ] || die "one kernel name at most"
name=${1:-$(kernel_lines | awk 'NR == 1 { print $1 }')}
line=$(kernel_lines | awk -v n="$name" '$1 == n')
[ -n "$line" ] ||
	die "unknown lab kernel '$name' (known: $(kernel_lines | awk '{ print $1 }' | paste -sd, - | sed 's/,/, /g'))"
# shellcheck disable=SC2086 # the line's words
set -- $line
kind=$2 meta=$3 fragment=${4:-}
case $kind in
deb|build) ;;
*) die "$kernels: kernel $name has unknown kind '$kind' (deb or build)" ;;
esac

mkdir -p "$cache" || die "cannot create cache dir $cache"
envfile=$cache/kernel-$name.env

# Host tools the lab needs; cheap to check on every run.
need_tools() {
	pkgs=
	command -v qemu-system-x86_64 >/dev/null 2>&1 || pkgs="$pkgs qemu-system-x86"
	[ -x /bin/busybox ] && file_is_static /bin/busybox || pkgs="$pkgs busybox-static"
	command -v cpio >/dev/null 2>&1 || pkgs="$pkgs cpio"
	command -v depmod >/dev/null 2>&1 || pkgs="$pkgs kmod"
	command -v gzip >/dev/null 2>&1 || pkgs="$pkgs gzip"
	[ -z "$pkgs" ] && return 0
	# shellcheck disable=SC2086
	apt_install $pkgs
}

# busybox from the `busybox` package is dynamic; the initramfs wants the
# static one so it needs no libc of its own.
file_is_static() {
	! ldd "$1" >/dev/null 2>&1
}

print_env() {
	cat "$envfile"
}

# Fast path: everything recorded is still there.  A build kernel always
# asks build-kernel.sh, which answers at once unless its fragment changed.
if [ -z "${SPTE_LAB_REFRESH:-}" ] && [ -r "$envfile" ] && [ "$kind" = deb ]; then
	# shellcheck disable=SC1090
	. "$envfile"
	if [ -f "${SPTE_LAB_HEADERS:-/nonexistent}/Makefile" ] &&
	   [ -n "$headers_only" ]; then
		echo "$SPTE_LAB_HEADERS"
		exit 0
	fi
	if [ -r "${SPTE_LAB_VMLINUZ:-/nonexistent}" ] &&
	   [ -n "${SPTE_LAB_VMLINUX+set}" ] &&
	   [ -r "${SPTE_LAB_MODDIR:-/nonexistent}/modules.dep" ] &&
	   [ -f "${SPTE_LAB_HEADERS:-/nonexistent}/Makefile" ]; then
		need_tools
		print_env
		exit 0
	fi
fi

if [ -n "$cached_only" ] && [ "$kind" = build ]; then
	# built, and from the fragment as it is now
	ready=$cache/kernel/$name/.spte-lab-ready
	tag=$(sha256sum "$here/$fragment" | cut -c1-8)
	if [ "$(cut -d' ' -f2 "$ready" 2>/dev/null)" = "$tag" ] &&
	   [ -f "$cache/kernel/$name/build/Makefile" ]; then
		echo "$cache/kernel/$name/build"
		exit 0
	fi
fi
if [ -n "$cached_only" ]; then
	die "lab kernel $name is not in the cache yet, or not from lab/$fragment as it is now (run: lab/fetch-kernel.sh $name)"
fi
[ -n "$headers_only" ] || need_tools

# write_env KVER ROOT HEADERS VMLINUX [CMDLINE]: record and print the answer;
# CMDLINE is what the kernel itself needs on its command line.
write_env() {
	tmpenv=$envfile.tmp.$$
	{
		echo "SPTE_LAB_NAME=$name"
		echo "SPTE_LAB_KVER=$1"
		echo "SPTE_LAB_VMLINUZ=$2/boot/vmlinuz-$1"
		echo "SPTE_LAB_MODDIR=$2/lib/modules/$1"
		echo "SPTE_LAB_HEADERS=$3"
		echo "SPTE_LAB_VMLINUX=$4"
		echo "SPTE_LAB_CMDLINE=${5:-}"
	} >"$tmpenv"
	mv "$tmpenv" "$envfile"
	say "lab kernel $name: $1 ready in $2"
	print_env
}

if [ "$kind" = build ]; then
	root=$cache/kernel/$name
	kver=$("$here/build-kernel.sh" "$meta" "$fragment" "$root") ||
		die "building lab kernel $name failed"
	if [ -n "$headers_only" ]; then
		echo "$root/build"
		exit 0
	fi
	# booted as bzImage: the debug kernel's vmlinux does not come up
	# through its PVH entry (QEMU ends at once, before the first line
	# of earlyprintk); boot/vmlinux stays for symbolising its reports
	# no5lvl: QEMU's -cpu max offers LA57, and 6.1's KASAN with 5-level
	# paging and two NUMA nodes reports a wild-memory-access in
	# rcu_is_watching() from the first interrupt of start_kernel()
	# (--numa 2; one node boots).  4-level paging is what the checkers
	# are for here; the stock kernels keep LA57.
	write_env "$kver" "$root" "$root/build" "" no5lvl
	exit 0
fi

# depends PKG PATTERN: the first dependency of PKG matching PATTERN.
depends() {
	apt-cache depends "$1" 2>/dev/null |
		sed -n "s/^ *|\{0,1\}Depends: *\($2\)\$/\1/p" | head -n1
}

# Resolve the ABI package (linux-image-6.1.0-NN-amd64) behind the meta package.
pkg=$(depends "$meta" 'linux-image-[0-9][^ ]*')
if [ -z "$pkg" ]; then
	apt_update_once
	pkg=$(depends "$meta" 'linux-image-[0-9][^ ]*')
fi
[ -n "$pkg" ] || die "cannot resolve $meta (is this Debian bookworm with its security archive?)"
kver=${pkg#linux-image-}
root=$cache/kernel/$kver

# fetch_debs DEST PKG...: download PKGs and extract them all into DEST.
fetch_debs() {
	dest=$1; shift
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	say "downloading $*"
	# apt-get download writes into the current directory.  As root it warns
	# that the _apt sandbox user cannot write there; that is harmless.
	if ! (cd "$tmp" && apt-get download -q "$@" >/dev/null 2>&1); then
		apt_update_once
		(cd "$tmp" && apt-get download -q "$@" >&2) ||
			die "apt-get download $* failed"
	fi
	mkdir -p "$tmp/root"
	for deb in "$tmp"/*.deb; do
		dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
	done
	rm -rf "$dest"
	mkdir -p "$(dirname "$dest")"
	mv "$tmp/root" "$dest"
	rm -rf "$tmp"
	trap - EXIT
}

# Headers of exactly this ABI, so the module is built for this lab kernel:
# linux-headers-<kver> needs its -common half and its linux-kbuild (the
# host tools of Kbuild) next to it, at the relative paths the package's
# symlinks expect.  Its Makefile includes the -common one by absolute
# path; that path now points into the cache.
headers=$root/headers/usr/src/linux-headers-$kver
if [ ! -f "$headers/Makefile" ] || [ ! -r "$headers/.spte-lab-ready" ]; then
	hpkg=linux-headers-$kver
	common=$(depends "$hpkg" 'linux-headers-[^ ]*-common')
	kbuild=$(depends "$hpkg" 'linux-kbuild-[^ ]*')
	[ -n "$common" ] && [ -n "$kbuild" ] ||
		die "cannot resolve the -common and linux-kbuild packages of $hpkg"
	fetch_debs "$root/headers" "$hpkg" "$common" "$kbuild"
	sed -i "s|^include /usr/src/|include $root/headers/usr/src/|" "$headers/Makefile"
	[ -f "$headers/.config" ] || die "$hpkg has no .config at $headers"
	: >"$headers/.spte-lab-ready"
fi
if [ -n "$headers_only" ]; then
	echo "$headers"
	exit 0
fi

if [ ! -r "$root/boot/vmlinuz-$kver" ]; then
	# keep the headers; only the image's own files are replaced
	fetch_debs "$cache/image.$$" "$pkg"
	mkdir -p "$root"
	rm -rf "$root/boot" "$root/lib"
	mv "$cache/image.$$/boot" "$cache/image.$$/lib" "$root/"
	rm -rf "$cache/image.$$"
fi
if [ ! -r "$root/lib/modules/$kver/modules.dep" ]; then
	depmod -b "$root" "$kver" || die "depmod failed"
fi

# An uncompressed ELF vmlinux boots through its PVH entry point: QEMU loads
# it directly, skipping firmware-to-bzImage handover and, above all, the xz
# decompressor, which takes seconds under TCG.  Unpacked once, here.
# Empty if the kernel is not PVH-capable or the payload is not xz/zstd.
extract_vmlinux() {
	img=$1 out=$2
	grep -q '^CONFIG_PVH=y' "$root/boot/config-$kver" 2>/dev/null || return 1
	for magic in xz zstd; do
		case $magic in
		xz)   pat=$(printf '\3757zXZ'); dec="xz -dc --single-stream" ;;
		zstd) pat=$(printf '\050\265\057\375'); dec="zstd -qdc" ;;
		esac
		command -v "${dec%% *}" >/dev/null 2>&1 || continue
		# shellcheck disable=SC2013 # offsets are plain numbers
		for off in $(LC_ALL=C grep -abo "$pat" "$img" | cut -d: -f1); do
			# Trailing bytes after the stream make the decoder
			# complain; what counts is a complete ELF image.
			tail -c +$((off + 1)) "$img" | $dec >"$out.tmp" 2>/dev/null
			if [ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}
vmlinux=$root/boot/vmlinux-$kver
if [ ! -s "$vmlinux" ]; then
	say "unpacking vmlinux for PVH boot"
	extract_vmlinux "$root/boot/vmlinuz-$kver" "$vmlinux" || vmlinux=
fi

write_env "$kver" "$root" "$headers" "$vmlinux"
