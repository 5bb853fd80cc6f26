#!/bin/sh
# scenario-test.sh SPTE [--not-applicable] NAME [LAB OPTION...] [-- SCENARIO OPTION...]
#
# Runs one built-in scenario in the lab VM, as `spte scenario run --lab`
# does, and checks from the host what a user gets: the verdict, a JSON
# report that spte diff and spte events read back, and the SVG picture.
# With --not-applicable the lab kernel ($SPTE_LAB_KERNEL) is one the
# scenario says it does not apply to: the checks are then that it says so
# (exit status 3, one "NAME: not on this kernel: kernel RELEASE lacks ..."
# line naming the kernel, the option and the file) and nothing else.
# A skip is only possible off CI (no QEMU); under CI it is a failure.
set -u

spte=$1
shift
not_applicable=
if [ "${1:-}" = --not-applicable ]; then
	not_applicable=1
	shift
fi
name=$1
shift
lab_opts=
while [ $# -gt 0 ] && [ "$1" != -- ]; do lab_opts="$lab_opts $1"; shift; done
[ $# -gt 0 ] && shift

# shellcheck source=tests/common/tap.sh
. "$(dirname "$0")/../common/tap.sh"
require_qemu

# the guest's share: its report and picture, next to the run's output
use_tmp spte-scenario-test
share=$tmp

# shellcheck disable=SC2086 # lab options are words
"$spte" lab --share "$share" $lab_opts -- \
	spte scenario run "$name" --json report.json --svg report.svg "$@" \
	</dev/null >"$out" 2>&1
rc=$?

# shellcheck disable=SC2317 # called through check
no_verdict() {
	! grep -Eq "^$name: (PASS|FAIL) \(" "$out" &&
		[ ! -e "$share/report.json" ]
}

if [ -n "$not_applicable" ]; then
	echo "1..4"
	kernel=${SPTE_LAB_KERNEL:-}
	check "spte scenario run $name exits 3, not applicable (status $rc)" \
		[ "$rc" = 3 ]
	check "it says the kernel lacks a feature, with its option and file" \
		grep -Eq "^$name: not on this kernel: kernel [^ ]+ lacks .+ \(CONFIG_[A-Z0-9_]+: /[^ ]+ is missing\)\$" "$out"
	check "the kernel it names is the lab's ${kernel:-default} kernel" \
		grep -Eq "^$name: not on this kernel: kernel ${kernel:+${kernel}[.-]}" "$out"
	check "no verdict and no report" no_verdict
	sed 's/^/# /' "$out"
	exit "$failed"
fi

echo "1..6"
check "spte scenario run $name $* exits 0 (status $rc)" [ "$rc" = 0 ]
check "it ends '$name: PASS'" grep -q "^$name: PASS (" "$out"
check "the report says passed" grep -q '^  "passed" : true' "$share/report.json"
check "spte diff reads the report" "$spte" diff "$share/report.json"
check "spte events reads the report" "$spte" events "$share/report.json"
check "the SVG is drawn" grep -q '</svg>' "$share/report.svg"
# the whole run, for the test log
sed 's/^/# /' "$out"
exit "$failed"
