#!/bin/sh
# mkinitramfs.sh - build the lab VM's initramfs and print its path.
#
# usage: mkinitramfs.sh [--kernel NAME] [-k KMOD]... [FILE]...
#
# NAME is a lab kernel (lab/kernels, default the first), fetched with
# fetch-kernel.sh if it is not in the cache yet.
# The archive holds a static busybox (with applet symlinks), lab/init as
# /init, the kernel modules the lab needs (with their modules.dep closure),
# and the given project FILEs:
#   spte_mirror-NAME.ko -> /opt/spte/modules/spte_mirror.ko (the module
#                     built for lab kernel NAME; init loads that name)
#   *.ko           -> /opt/spte/modules/
#   other files    -> /opt/spte/bin/ (plus the shared libraries and the
#                     dynamic loader that ldd reports for them)
# -k adds a kernel module by name (so does $SPTE_LAB_KMODS, space separated).
#
# The result is cached under $cache/initramfs/ by a hash of every input, so
# an unchanged set is reused without rebuilding; the path is the last line
# printed on stdout.
set -eu

prog=mkinitramfs.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/common.sh
. "$here/common.sh"
name=
busybox=${SPTE_LAB_BUSYBOX:-/bin/busybox}
init=$here/init

# Modules every lab boot needs: virtio PCI transport and 9p for the shares,
# KVM for the nested guests (kvm_amd for SVM: TCG, or KVM on AMD; kvm_intel
# for VMX: KVM on Intel; init loads the one the CPU offers), zram for the
# reclaim/swap scenarios.
kmods="virtio_pci 9pnet_virtio 9p kvm_amd kvm_intel zram ${SPTE_LAB_KMODS:-}"

files=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || die "--kernel needs a name"
	    name=$2; shift 2 ;;
	-k) [ $# -ge 2 ] || die "-k needs a module name"
	    kmods="$kmods $2"; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done

[ -n "$name" ] || name=$("$here/fetch-kernel.sh" --list | head -n1)
envfile=$cache/kernel-$name.env
if [ ! -r "$envfile" ]; then
	"$here/fetch-kernel.sh" "$name" >/dev/null || die "fetch-kernel.sh $name failed"
fi
# shellcheck disable=SC1090
. "$envfile"
kver=$SPTE_LAB_KVER
moddir=$SPTE_LAB_MODDIR
[ -r "$moddir/modules.dep" ] || die "no modules.dep in $moddir; rerun fetch-kernel.sh"
[ -x "$busybox" ] || die "$busybox missing; install busybox-static"
[ -r "$init" ] || die "$init missing"

for f in "$@"; do
	[ -f "$f" ] || die "no such file: $f"
	files="$files
$(readlink -f "$f")"
done
# From here on lists are newline separated, so file names may hold spaces.
nl='
'
IFS=$nl
kmods=$(echo "$kmods" | tr -s ' ' '\n')

# The lab kernel reads a zstd initramfs; TCG decompresses it much faster
# than gzip, which is a measurable part of a 3 s boot.
if command -v zstd >/dev/null 2>&1 &&
   grep -q '^CONFIG_RD_ZSTD=y' "$moddir/../../../boot/config-$kver" 2>/dev/null; then
	compress=zstd; ext=cpio.zst
else
	compress=gzip; ext=cpio.gz
fi
compress() {
	case $compress in
	zstd) zstd -q -T0 -10 ;;
	*)    gzip -6 ;;
	esac
}

# --- resolve what goes in --------------------------------------------------

# Kernel modules: modules.dep lists the full dependency closure of each
# module, deepest last, so "reverse deps, then the module" is a load order.
modpaths() {
	for m in $kmods; do
		m_=$(echo "$m" | tr - _)
		line=$(awk -v want="$m_" -F: '{
			n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n)
			gsub(/-/, "_", n)
			if (n == want) { print; exit }
		}' "$moddir/modules.dep")
		[ -n "$line" ] || {
			grep -qE "/${m_}\.ko|/$(echo "$m" | tr _ -)\.ko" \
				"$moddir/modules.builtin" 2>/dev/null && continue
			die "kernel module $m not found in $moddir"
		}
		echo "${line%%:*}"
		echo "${line#*:}" | tr -s ' ' '\n' | sed '/^$/d'
	done | awk '!seen[$0]++'
}
mods=$(modpaths)

# Shared libraries of the dynamic executables, loader included.  ldd's
# "name => /path (addr)" and "/lib64/ld-linux... (addr)" forms both matter.
libs_of() {
	ldd "$1" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }' || true
}
libs=$(for f in $files; do
	case $f in *.ko) ;; *) libs_of "$f" ;; esac
done | sort -u)

# --- the cache key -----------------------------------------------------------
# Content hashes for the things that change often (scripts, project files),
# size+mtime for the large stable ones (libraries, kernel modules).
key=$( {
	echo "kver $kver compress $compress"
	sha256sum "$0" "$init" "$busybox"
	for f in $files; do sha256sum "$f"; done
	for l in $libs; do stat -L -c '%n %s %Y' "$l"; done
	for m in $mods; do stat -L -c '%n %s %Y' "$moddir/$m"; done
} | sha256sum | cut -c1-16)

outdir=$cache/initramfs
out=$outdir/$kver-$key.$ext
if [ -s "$out" ]; then
	touch "$out"	# keeps it off the pruning list below
	echo "$out"
	exit 0
fi

# --- build -------------------------------------------------------------------
say "building $(basename "$out")"
mkdir -p "$outdir"
stage=$(mktemp -d "$outdir/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

cd "$stage"
mkdir -p bin sbin usr/bin usr/sbin lib lib64 dev proc sys tmp run mnt root etc \
	opt/spte/bin opt/spte/modules "lib/modules/$kver"
cp "$busybox" bin/busybox
for a in $(bin/busybox --list-full); do
	[ -e "$a" ] || ln -s /bin/busybox "$a"
done
cp "$init" init
chmod 755 init

# Project files.
for f in $files; do
	case $f in
	*/spte_mirror-*.ko) cp "$f" opt/spte/modules/spte_mirror.ko ;;
	*.ko) cp "$f" opt/spte/modules/ ;;
	*)    cp "$f" opt/spte/bin/; chmod 755 "opt/spte/bin/$(basename "$f")" ;;
	esac
done

# Libraries land at the path ldd found them under (the loader path is baked
# into every binary's PT_INTERP), dereferenced so usrmerge symlinks vanish.
for l in $libs; do
	mkdir -p ".$(dirname "$l")"
	cp -L "$l" ".$l"
done

# Kernel modules, decompressed: busybox insmod cannot read .ko.xz/.ko.zst.
for m in $mods; do
	dst=lib/modules/$kver/$m
	mkdir -p "$(dirname "$dst")"
	case $m in
	*.ko.xz)  xz -dc "$moddir/$m" >"${dst%.xz}" ;;
	*.ko.zst) zstd -qdc "$moddir/$m" >"${dst%.zst}" ;;
	*.ko.gz)  gzip -dc "$moddir/$m" >"${dst%.gz}" ;;
	*)        cp "$moddir/$m" "$dst" ;;
	esac
done
# A modules.dep for just these modules, so busybox modprobe works inside.
for m in $mods; do
	grep "^$m:" "$moddir/modules.dep"
done | sed 's/\.ko\.\(xz\|zst\|gz\)/.ko/g' >"lib/modules/$kver/modules.dep"
cp "$moddir/modules.builtin" "lib/modules/$kver/" 2>/dev/null || true

echo "root:x:0:0:root:/root:/bin/sh" >etc/passwd
echo "root:x:0:" >etc/group

tmpout=$out.tmp.$$
find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | compress >"$tmpout"
mv "$tmpout" "$out"
cd /
rm -rf "$stage"
trap - EXIT

# Project binaries change on every rebuild; keep only the newest few images.
# shellcheck disable=SC2012 # names are ours and have no odd characters
ls -1t "$outdir"/*.cpio.* 2>/dev/null | tail -n +9 | while read -r old; do
	rm -f "$old"
done

say "built $out ($(du -h "$out" | cut -f1))"
echo "$out"
