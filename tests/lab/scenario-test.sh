#!/bin/sh
# scenario-test.sh SPTE NAME [LAB OPTION...] [-- SCENARIO OPTION...]
#
# Runs one built-in scenario in the lab VM, as `spte scenario run --lab`
# does, and checks from the host what a user gets: the verdict, a JSON
# report that spte diff and spte events read back, and the SVG picture.
# A skip is only possible off CI (no QEMU); under CI it is a failure.
set -u

spte=$1
name=$2
shift 2
lab_opts=
while [ $# -gt 0 ] && [ "$1" != -- ]; do lab_opts="$lab_opts $1"; shift; done
[ $# -gt 0 ] && shift

# shellcheck source=tests/lab/tap.sh
. "$(dirname "$0")/tap.sh"
require_qemu

share=$(mktemp -d "${TMPDIR:-/tmp}/spte-scenario-test.XXXXXX") || exit 99
trap 'rm -rf "$share"' EXIT
out=$share/stdout

echo "1..6"
# shellcheck disable=SC2086 # lab options are words
"$spte" lab --share "$share" $lab_opts -- \
	spte scenario run "$name" --json report.json --svg report.svg "$@" \
	</dev/null >"$out" 2>&1
rc=$?
check "spte scenario run $name $* exits 0 (status $rc)" [ "$rc" = 0 ]
check "it ends '$name: PASS'" grep -q "^$name: PASS (" "$out"
check "the report says passed" grep -q '^  "passed" : true' "$share/report.json"
check "spte diff reads the report" "$spte" diff "$share/report.json"
check "spte events reads the report" "$spte" events "$share/report.json"
check "the SVG is drawn" grep -q '</svg>' "$share/report.svg"
# the whole run, for the test log
sed 's/^/# /' "$out"
exit "$failed"
