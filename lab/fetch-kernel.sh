#!/bin/sh
# fetch-kernel.sh - put Debian's stock kernel for the lab VM into a cache.
#
# The lab VM boots the kernel behind Debian's `linux-image-amd64` meta
# package.  We extract the .deb instead of installing it because the host
# must keep its own kernel untouched (and often cannot load modules at all);
# only the matching linux-headers are installed, so host/spte_mirror.ko can be
# built for the lab kernel.
#
# Output: $cache/kernel.env (shell-sourceable) and the same lines on stdout:
#   SPTE_LAB_KVER=6.1.0-NN-amd64
#   SPTE_LAB_VMLINUZ=<cache>/kernel/<kver>/boot/vmlinuz-<kver>
#   SPTE_LAB_MODDIR=<cache>/kernel/<kver>/lib/modules/<kver>
#   SPTE_LAB_HEADERS=/usr/src/linux-headers-<kver>
#   SPTE_LAB_VMLINUX=<cache>/kernel/<kver>/boot/vmlinux-<kver>  (may be empty)
#
# Idempotent: a second run only checks that the recorded files still exist.
# SPTE_LAB_REFRESH=1 re-resolves the meta package (e.g. after a Debian
# point release).
set -eu

prog=fetch-kernel.sh
die() { echo "$prog: $*" >&2; exit 1; }
say() { [ -n "${SPTE_LAB_QUIET:-}" ] || echo "$prog: $*" >&2; }

cache=${SPTE_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spte-lab}
mkdir -p "$cache" || die "cannot create cache dir $cache"
envfile=$cache/kernel.env

# apt-get as non-root would fail halfway with a confusing message.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $*"
	fi
}

apt_updated=
apt_update_once() {
	[ -n "$apt_updated" ] && return 0
	say "running apt-get update"
	as_root apt-get update -qq >&2 || die "apt-get update failed"
	apt_updated=1
}

# apt_install PKG...: install packages that are not installed yet.
apt_install() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing$missing"
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	if ! as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $missing >&2; then
		apt_update_once
		# shellcheck disable=SC2086
		as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $missing >&2 ||
			die "apt-get install$missing failed"
	fi
}

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

# Fast path: everything recorded is still there.
if [ -z "${SPTE_LAB_REFRESH:-}" ] && [ -r "$envfile" ]; then
	# shellcheck disable=SC1090
	. "$envfile"
	if [ -r "${SPTE_LAB_VMLINUZ:-/nonexistent}" ] &&
	   [ -n "${SPTE_LAB_VMLINUX+set}" ] &&
	   [ -r "${SPTE_LAB_MODDIR:-/nonexistent}/modules.dep" ] &&
	   [ -d "${SPTE_LAB_HEADERS:-/nonexistent}" ]; then
		need_tools
		print_env
		exit 0
	fi
fi

need_tools

# Resolve the ABI package (linux-image-6.1.0-NN-amd64) behind the meta package.
resolve_image() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}
pkg=$(resolve_image)
if [ -z "$pkg" ]; then
	apt_update_once
	pkg=$(resolve_image)
fi
[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 (is this Debian with amd64 sources?)"
kver=${pkg#linux-image-}

root=$cache/kernel/$kver
if [ ! -r "$root/boot/vmlinuz-$kver" ]; then
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	say "downloading $pkg"
	# apt-get download writes into the current directory.  As root it warns
	# that the _apt sandbox user cannot write there; that is harmless.
	if ! (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); then
		apt_update_once
		(cd "$tmp" && apt-get download -q "$pkg" >&2) ||
			die "apt-get download $pkg failed"
	fi
	say "extracting $pkg"
	mkdir -p "$tmp/root"
	dpkg-deb -x "$tmp"/*.deb "$tmp/root" || die "dpkg-deb -x failed"
	rm -f "$tmp"/*.deb
	# Debian ships no modules.dep; the postinst would run depmod.
	depmod -b "$tmp/root" "$kver" || die "depmod failed"
	rm -rf "$root"
	mkdir -p "$cache/kernel"
	mv "$tmp/root" "$root"
	rm -rf "$tmp"
	trap - EXIT
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

# Headers of exactly this ABI so the module can be built for the lab kernel.
apt_install "linux-headers-$kver"
headers=/usr/src/linux-headers-$kver
[ -d "$headers" ] || die "linux-headers-$kver installed but $headers is missing"

tmpenv=$envfile.tmp.$$
cat >"$tmpenv" <<EOF
SPTE_LAB_KVER=$kver
SPTE_LAB_VMLINUZ=$root/boot/vmlinuz-$kver
SPTE_LAB_MODDIR=$root/lib/modules/$kver
SPTE_LAB_HEADERS=$headers
SPTE_LAB_VMLINUX=$vmlinux
EOF
mv "$tmpenv" "$envfile"
say "kernel $kver ready in $root"
print_env
