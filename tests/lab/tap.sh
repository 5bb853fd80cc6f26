# shellcheck shell=sh disable=SC2034 # $failed is read by the sourcing script
# TAP helpers shared by the lab test scripts, which source this file.
# They print the command's captured output ($out, $err when set) under a
# failing check.
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

# QEMU missing: a skip on a developer machine, a failure when $CI is set,
# because CI must never pass by skipping the lab.
require_qemu() {
	command -v "${SPTE_LAB_QEMU:-qemu-system-x86_64}" >/dev/null 2>&1 &&
		return 0
	if [ -n "${CI:-}" ]; then
		echo "1..1"
		echo "not ok 1 - qemu-system-x86_64 is missing on a CI machine (install qemu-system-x86)"
		exit 1
	fi
	echo "1..0 # SKIP qemu-system-x86_64 not installed"
	exit 0
}
