#!/bin/sh
# install-test.sh MODE MESON BUILDDIR SRCDIR VERSION PREFIX BINDIR LIBEXECDIR
#                  DATADIR MANDIR
#
# `meson install` into a temporary DESTDIR, then the installed spte run
# from there, as TAP.  MODE:
#   files  what is installed: spte answers --version and lists the same
#          built-in scenarios as the build tree's; the module's source for
#          DKMS (PREFIX/src/spte_mirror-VERSION) is the tree source-tree.sh
#          lays out; spte(1) renders without a warning and has a section
#          for every command spte --help lists; the installed spte lab and
#          libexec's spte-lab prepare their lab (kernel, initramfs) from
#          the installed parts only, up to a stand-in QEMU (false).
#   lab    the installed spte boots the lab VM made of the installed parts
#          only (scripts, agent, module: none from the source or build
#          tree), and the module loads inside.  Skipped off CI without QEMU.
set -u
mode=$1 meson=$2 build=$3 src=$4 version=$5
prefix=$6 bindir=$7 libexecdir=$8 datadir=$9 mandir=${10}

# shellcheck source=tests/common/tap.sh
. "$src/tests/common/tap.sh"
[ "$mode" = lab ] && require_qemu

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spte-install-test.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
out=$tmp/stdout
err=$tmp/stderr
spte=$dest$prefix/$bindir/spte

# shellcheck disable=SC2317 # called through check
installed() {
	"$meson" install -C "$build" --destdir "$dest" --no-rebuild --quiet \
		>"$out" 2>"$err"
}

# from_install WHO: two checks on `spte lab --verbose`'s stderr ($err):
# the scripts it named and every payload file are the installed ones.
from_install() {
	scripts=$(sed -n 's/^spte lab: scripts //p' "$err")
	check "$1's lab scripts are the installed ones (${scripts#"$dest"})" \
		[ "$scripts" = "$dest$prefix/$datadir/spte-lab/lab" ]
	payload=$(sed -n 's/^spte lab: payload //p' "$err")
	outside=$(echo "$payload" | grep -v "^$dest/")
	check "$1's payload is itself, spte-agent and the module, all from the install${outside:+ (not: $outside)}" \
		all_installed
}
# shellcheck disable=SC2317 # called through check
all_installed() { [ "$(echo "$payload" | wc -l)" = 3 ] && [ -z "$outside" ]; }
unset SPTE_LAB_DIR

case $mode in
files)
	echo "1..12"
	check "meson install --destdir exits 0" installed
	check "spte --version from the install says spte $version" \
		sh -c "[ \"\$('$spte' --version)\" = 'spte $version' ]"
	"$build/src/spte" scenario list >"$tmp/list.build" 2>&1
	"$spte" scenario list >"$tmp/list.installed" 2>&1
	check "spte scenario list from the install is the build tree's" \
		sh -c "[ -s '$tmp/list.build' ] && cmp '$tmp/list.build' '$tmp/list.installed'"

	tree=$dest$prefix/src/spte_mirror-$version
	check "the module's source is in ${tree#"$dest"} with dkms.conf" \
		[ -f "$tree/dkms.conf" ]
	fresh=$(sh "$src/host/source-tree.sh" "$tmp/fresh")
	check "it is the tree host/source-tree.sh lays out" diff -r "$fresh" "$tree"

	man=$dest$prefix/$mandir/man1/spte.1
	check "spte(1) is installed in ${man#"$dest"}" [ -s "$man" ]
	check "groff renders it without a warning" \
		sh -c "groff -man -Tutf8 -ww -z '$man' 2>&1 | { ! grep -q .; }"
	MANWIDTH=80 man -l "$man" >"$tmp/man.txt" 2>"$tmp/man.err"
	commands=$("$spte" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
	absent=
	for c in $commands; do
		grep -q "^   spte $c " "$tmp/man.txt" || absent="$absent $c"
	done
	# shellcheck disable=SC2317 # called through check
	sections() { [ -n "$commands" ] && [ -z "$absent" ] && [ ! -s "$tmp/man.err" ]; }
	check "man -l shows a section for each of $(echo "$commands" | wc -l) commands${absent:+ (not:$absent)}" \
		sections

	# No VM: QEMU is false, so the run ends (125) once all is prepared.
	for who in "$spte lab" "$dest$prefix/$libexecdir/spte-lab/spte-lab"; do
		# shellcheck disable=SC2086 # "spte lab" is two words
		SPTE_LAB_QEMU=false TMPDIR=$tmp $who --verbose -- true \
			</dev/null >"$out" 2>"$err"
		from_install "${who##*/}"
	done
	;;
lab)
	echo "1..5"
	check "meson install --destdir exits 0" installed
	"$spte" lab --verbose -- sh -c 'spte --version && test -c /dev/spte_mirror && echo mirror-device' \
		</dev/null >"$out" 2>"$err"
	rc=$?
	check "the installed spte lab runs a command (status $rc)" [ "$rc" = 0 ]
	from_install "spte lab"
	check "inside, spte says $version and the module made /dev/spte_mirror" \
		sh -c "grep -qx 'spte $version' '$out' && grep -qx mirror-device '$out'"
	;;
*)
	echo "1..1"
	echo "not ok 1 - unknown mode $mode (files or lab)"
	exit 1
	;;
esac
exit "$failed"
