#!/bin/sh
# record.sh OUT SCRIPT [SPTE RUN OPTIONS...] - inside the lab VM: trace
# KVM's TDP MMU while `spte run` runs SCRIPT, and write what tracefs gave
# to OUT (the trace text, then the per-CPU stats and the VM's page counts
# as the run printed them).  Run it as
#   spte lab --kernel 6.12 -- sh tests/unit/data/kvm-leaves/record.sh OUT 'SCRIPT'
# The fixtures next to it are excerpts of such recordings.
set -eu
out=$1
script=$2
shift 2
t=/sys/kernel/tracing/instances/kvm-leaves-record
g=/sys/fs/cgroup/kvm-leaves-record
mkdir "$t"
trap 'echo 0 > "$t/tracing_on"; rmdir "$t"' EXIT
# a memory cgroup of its own, for `reclaim`
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p "$g"
echo $$ > "$g/cgroup.procs"
echo 16384 > "$t/buffer_size_kb"
for e in kvmmmu/kvm_tdp_mmu_spte_changed kvmmmu/fast_page_fault \
	 kvmmmu/kvm_mmu_set_spte kvm/kvm_age_hva kvm/kvm_test_age_hva \
	 kvm/kvm_unmap_hva_range; do
	echo 1 > "$t/events/$e/enable"
done
{
	echo "# kernel $(uname -r)"
	for m in kvm_amd kvm_intel; do
		[ -d /sys/module/$m ] && echo "# module $m"
	done
	for p in kvm/parameters/tdp_mmu kvm_amd/parameters/npt \
		 kvm_intel/parameters/ept; do
		[ -r /sys/module/$p ] && echo "# $p=$(cat /sys/module/$p)"
	done
	echo "# spte run $* -e '$script'"
} > "$out"
spte run "$@" -e "$script" | sed 's/^/# | /' >> "$out"
cat "$t/trace" >> "$out"
for c in "$t"/per_cpu/cpu*; do
	echo "# $(basename "$c") $(grep -E 'overrun|dropped' "$c/stats" | tr '\n' ' ')"
done >> "$out"
