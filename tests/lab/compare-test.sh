#!/bin/sh
# compare-test.sh SPTE NAME KERNELS - `spte compare NAME --kernels KERNELS`
# from the host, one lab VM per kernel, checked as a kernel engineer
# reads it: ksm-merge's change_pte in the 6.1 column and not in the 6.12
# one (6.10 removed it), a folded screen rather than 252 records per
# kernel, and a JSON that names the kernel of each column.
# A skip is only possible off CI (no QEMU); under CI it is a failure.
set -u

# absolute: the comparison runs in a directory of its own
spte=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
name=$2
kernels=$3

# shellcheck source=tests/common/tap.sh
. "$(dirname "$0")/../common/tap.sh"
use_tmp spte-compare-test
require_qemu

echo "1..7"
(cd "$tmp" && "$spte" compare "$name" --kernels "$kernels" --json compare.json) \
	</dev/null >"$out" 2>"$err"
rc=$?
check "spte compare $name --kernels $kernels exits 0 (status $rc)" [ "$rc" = 0 ]
lines=$(wc -l <"$out")
check "the comparison is folded: $lines lines, fewer than 80" \
	[ "$lines" -gt 0 -a "$lines" -lt 80 ]

# change_pte per column of the lined-up callbacks, the columns named by
# the table's header ("6.1 (6.1.0-NN-amd64) │ 6.12 (...)")
column_counts() {
	awk -F ' \342\224\202 ' '
		/^notifier callbacks, lined up/ { table = 1; head = 1; next }
		table && /^$/ { exit }
		table && head {
			for (i = 1; i <= NF; i++) {
				k = $i; sub(/^ */, "", k); sub(/ .*/, "", k)
				name[i] = k
			}
			head = 0; next
		}
		table { for (i = 1; i <= NF; i++) if ($i ~ /change_pte/) n[i]++ }
		END { for (i in name) printf "%s=%d\n", name[i], n[i] }' "$out"
}
counts=$(column_counts)
check "change_pte is in the 6.1 column ($(printf '%s' "$counts" | tr '\n' ' '))" \
	sh -c "echo '$counts' | grep -Eqx '6\.1=[1-9][0-9]*'"
check "change_pte is not in the 6.12 column" \
	sh -c "echo '$counts' | grep -qx '6\.12=0'"
check "the summary says change_pte is on 6.1 only" \
	grep -Eq '^  change_pte +[1-9][0-9]* +0   only on 6\.1$' "$out"

# The JSON: valid, its columns named, change_pte in 6.1's rows only.
json_says() {
	python3 - "$tmp/compare.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cols = [c["kernel"] for c in d["columns"]]
print("columns=" + ",".join(cols))
for i, k in enumerate(cols):
    n = sum(1 for line in d["events"]
            if line[i] and "change_pte" in line[i]["text"])
    print("change_pte-%s=%d" % (k, n))
PY
}
says=$(json_says 2>&1)
check "the JSON is valid and names each column's kernel ($(printf '%s' "$says" | tr '\n' ' '))" \
	sh -c "echo '$says' | grep -qx 'columns=$kernels'"
check "the JSON has change_pte in 6.1's rows, not 6.12's" \
	sh -c "echo '$says' | grep -Eqx 'change_pte-6\.1=[1-9][0-9]*' &&
	       echo '$says' | grep -qx 'change_pte-6\.12=0'"
# the whole comparison and the runs' progress, for the test log
sed 's/^/# /' "$out" "$err"
exit "$failed"
