#!/bin/sh
# stress-test.sh SPTE STRESS [SECONDS] - spte-stress in the lab VM, as TAP.
#
# SECONDS (default 60) of hostile, concurrent ioctls, memory churn and
# coherence checks against spte_mirror.ko (tests/stress/spte-stress.c,
# docs/stress.md), on two NUMA nodes so that move_pages(2) migrates, with
# secretmem enabled; then the host side checks spte-stress's verdict, its
# totals, and that the lab kernel reported nothing (spte lab exits 123 on
# any splat, whatever the command said).
set -u

spte=$1
stress=$2
seconds=${3:-60}

# shellcheck source=tests/common/tap.sh
. "$(dirname "$0")/../common/tap.sh"
use_tmp spte-stress-test

require_qemu

# total KEY: the value after KEY on spte-stress's "# totals:" line
total() {
	awk -v k="$1" '/^# totals:/ {
		for (i = 3; i < NF; i += 2) if ($i == k) print $(i + 1) }' "$out"
}

echo "1..8"
t0=$(date +%s)
# 110 s for the boot and the checks after the run, scaled as the lab's
# default ($SPTE_LAB_TIMEOUT, 600 s for a stock kernel) is
slack=$((110 * ${SPTE_LAB_TIMEOUT:-600} / 600))
"$spte" lab --numa 2 --cmdline secretmem.enable=1 \
	--timeout $((seconds + slack)) --share "$tmp" --add "$stress" -- \
	spte-stress --seconds "$seconds" </dev/null >"$out" 2>"$err"
rc=$?
t1=$(date +%s)
echo "# spte lab took $((t1 - t0)) s (bounded by --timeout $((seconds + slack)): status 124 past it)"
check "spte lab exits 0: spte-stress passed, no kernel splat (status $rc; 123: splat)" \
	[ "$rc" = 0 ]
check "spte-stress's four verdicts are ok" \
	sh -c "[ \$(grep -c '^ok [1-4] - ' '$out') = 4 ] && ! grep -q '^not ok' '$out'"
ioctls=$(total ioctls)
check "thousands of ioctls ($ioctls, $(total ioctls_per_s)/s)" \
	[ "${ioctls:-0}" -ge 2000 ]
check "no unexpected result ($(total unexpected))" [ "$(total unexpected)" = 0 ]
checks=$(total data_checks)
check "no data mismatch in ${checks:-?} device/CPU checks (at least 200)" \
	sh -c "[ '$(total mismatches)' = 0 ] && [ '${checks:-0}' -ge 200 ]"
audits=$(total audits)
check "no stale leaf in ${audits:-?} quiescent audits (at least 10)" \
	sh -c "[ '$(total stale)' = 0 ] && [ '${audits:-0}' -ge 10 ]"
records=$(total records)
check "every event record accounted for (${records:-?} read, $(total dropped) lost and reported)" \
	sh -c "[ '$(total unaccounted)' = 0 ] && [ '${records:-0}' -ge 1000 ]"
check "move_pages migrated between the two nodes ($(total moved_pages) pages)" \
	[ "$(total moved_pages)" -gt 0 ]
exit "$failed"
