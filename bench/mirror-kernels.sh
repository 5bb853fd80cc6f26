#!/bin/sh
# mirror-kernels.sh SPTE BENCH-MIRROR [ARGS...] - bench-mirror on every lab
# kernel, one after the other, then its headline figures side by side.
#
# Each kernel's full output is printed first; the table compares each
# figure across kernels, but the ratios ((c)/(a): the mirror's cost over no
# secondary MMU; (c)/(b): over KVM's own NPT) are the figures to read:
# absolute times under TCG differ from run to run and from hardware.
set -u
spte=$1 bench=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
kernels=$("$here/lab/fetch-kernel.sh" --list) || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mirror-kernels.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

status=0
for k in $kernels; do
	echo "=== bench-mirror on lab kernel $k"
	"$spte" lab --kernel "$k" --mem 2G --add "$bench" -- \
		bench-mirror "$@" </dev/null >"$tmp/$k.out" 2>&1 || status=1
	cat "$tmp/$k.out"
	echo
done

# shellcheck disable=SC2086 # the kernel names are plain words
awk -v kernels="$kernels" '
	BEGIN { nk = split(kernels, ks, /[ \n]+/) }
	FNR == 1 { file++ }
	/^figure: / {
		if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
		val[$2, file] = $3; unit[$2] = $4
	}
	END {
		printf "%-24s", "figure"
		for (i = 1; i <= nk; i++) printf " %12s", ks[i]
		printf "\n"
		for (j = 1; j <= n; j++) {
			f = order[j]
			printf "%-24s", f
			for (i = 1; i <= nk; i++)
				printf " %12s", ((f, i) in val) ? val[f, i] " " unit[f] : "-"
			printf "\n"
		}
	}' $(for k in $kernels; do echo "$tmp/$k.out"; done)
exit $status
