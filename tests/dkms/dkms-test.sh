#!/bin/sh
# dkms-test.sh SRCDIR NAME - Debian's dkms builds, installs and removes
# spte_mirror from host/dkms.conf for lab kernel NAME (lab/kernels),
# against that kernel's headers in the lab cache, as TAP.
#
# What a user's `dkms install` does for their own kernel, with every tree
# private (--dkmstree, --sourcetree, --installtree under a temporary
# directory, --no-depmod), so that nothing is left in /var/lib/dkms,
# /usr/src or /lib/modules.  The module must say it was built for NAME's
# kernel release (vermagic).  dkms missing: a skip off CI, a failure under
# CI (scripts/deps installs it).
set -u
src=$1
name=$2

# shellcheck source=tests/common/tap.sh
. "$src/tests/common/tap.sh"

command -v dkms >/dev/null 2>&1 ||
	missing "dkms is not installed (scripts/deps installs it)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spte-dkms-test.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
out=$tmp/dkms.log
echo "1..11"

headers=$(SPTE_LAB_QUIET=1 sh "$src/lab/fetch-kernel.sh" --headers-only "$name" 2>"$tmp/fetch.err")
# The release the headers build for, as vermagic will say it.  Not
# include/config/kernel.release: Debian's 6.1 headers have the upstream
# version there (6.1.192), not the package's 6.1.0-NN-amd64.
kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
	"$headers/include/generated/utsrelease.h" 2>/dev/null)
if [ -z "$kver" ]; then
	echo "not ok 1 - headers of lab kernel $name: fetch-kernel.sh --headers-only $name gave '$headers'"
	sed 's/^/#   /' "$tmp/fetch.err"
	exit 1
fi
ok "headers of lab kernel $name: $kver"

tree=$(sh "$src/host/source-tree.sh" "$tmp/src")
version=${tree##*/spte_mirror-}
arch=$(uname -m)
dkms_tree=$tmp/dkms
install_tree=$tmp/modules
mkdir -p "$dkms_tree" "$install_tree/$kver"
# dkms signs the module where it finds the kernel's sign-file, with a key it
# generates in /var/lib/dkms unless told otherwise.  Its framework.conf
# settings are shell variables it takes from the environment too: the key
# goes into this test's directory.
export mok_signing_key="$tmp/mok.key" mok_certificate="$tmp/mok.pub"
dkms_() {
	dkms "$@" -m spte_mirror -v "$version" -k "$kver" \
		--kernelsourcedir "$headers" --dkmstree "$dkms_tree" \
		--sourcetree "$tmp/src" --installtree "$install_tree" >>"$out" 2>&1
}
system_state() {
	find /var/lib/dkms /usr/src -maxdepth 3 -name '*spte_mirror*' 2>/dev/null | sort
}
state0=$(system_state)

dkms_ build
rc=$?
check "dkms build -m spte_mirror -v $version -k $kver exits 0 (got $rc)" [ "$rc" = 0 ]
built=$(ls "$dkms_tree/spte_mirror/$version/$kver/$arch/module/"spte_mirror.ko* 2>/dev/null)
check "the module is in the dkms tree (${built##"$tmp"/})" [ -n "$built" ]
magic=$(modinfo -F vermagic "$built" 2>/dev/null | cut -d' ' -f1)
check "its vermagic is the kernel's ($magic = $kver)" [ "$magic" = "$kver" ]
check "dkms status: built" \
	sh -c "dkms status -m spte_mirror --dkmstree '$dkms_tree' --sourcetree '$tmp/src' --installtree '$install_tree' |
		grep -qx 'spte_mirror/$version, $kver, $arch: built'"

if [ "$(id -u)" != 0 ]; then
	for d in "dkms install" "the installed module's vermagic" "dkms status: installed" \
		 "dkms remove" "nothing left in the install tree"; do
		ok "$d # SKIP dkms install and remove need root"
	done
else
	dkms_ install --no-depmod
	rc=$?
	check "dkms install exits 0 (got $rc)" [ "$rc" = 0 ]
	# updates/dkms on Debian, DEST_MODULE_LOCATION (/extra) elsewhere
	installed=$(find "$install_tree/$kver" -name 'spte_mirror.ko*')
	magic=$(modinfo -F vermagic "$installed" 2>/dev/null | cut -d' ' -f1)
	check "installed as ${installed#"$install_tree"/}, vermagic $magic" \
		[ "$magic" = "$kver" ]
	check "dkms status: installed" \
		sh -c "dkms status -m spte_mirror --dkmstree '$dkms_tree' --sourcetree '$tmp/src' --installtree '$install_tree' |
			grep -qx 'spte_mirror/$version, $kver, $arch: installed'"
	dkms_ remove --no-depmod
	rc=$?
	check "dkms remove exits 0 (got $rc)" [ "$rc" = 0 ]
	left=$(find "$install_tree/$kver" -name 'spte_mirror.ko*')
	check "nothing left in the install tree (${left:-none})" [ -z "$left" ]
fi
check "nothing of spte_mirror appeared in /var/lib/dkms or /usr/src" \
	[ "$(system_state)" = "$state0" ]
exit "$failed"
