# shellcheck shell=sh disable=SC2034 # $failed is read by the sourcing script
# TAP helpers shared by every shell test, which sources this file:
#   ok DESC, not_ok DESC, check DESC COMMAND...   one numbered test each;
#                      $failed is 1 once one failed (the script's exit)
#   missing REASON     the script cannot run here: a skip of the whole
#                      script off CI, a failure under CI ($CI set), since
#                      CI must never pass by skipping
#   require_qemu       missing, unless QEMU is installed
#   use_tmp NAME       $tmp, a new directory removed when the script
#                      exits, and $out, $err: files in it for a command's
#                      output, which a failing check prints
# A failing check prints the command's captured output ($out, $err when
# set) under it.
n=0
failed=0
out=${out:-}
err=${err:-}

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=1
	echo "not ok $n - $1"
	[ -n "$out" ] && [ -s "$out" ] && sed 's/^/#   stdout: /' "$out"
	[ -n "$err" ] && [ -s "$err" ] && sed 's/^/#   stderr: /' "$err"
	return 0
}
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi
}

missing() {
	if [ -n "${CI:-}" ]; then
		echo "1..1"
		echo "not ok 1 - $1, on a CI machine"
		exit 1
	fi
	echo "1..0 # SKIP $1"
	exit 0
}

require_qemu() {
	command -v "${SPTE_LAB_QEMU:-qemu-system-x86_64}" >/dev/null 2>&1 ||
		missing "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
}

use_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 99
	trap 'rm -rf "$tmp"' EXIT
	out=$tmp/stdout
	err=$tmp/stderr
}
