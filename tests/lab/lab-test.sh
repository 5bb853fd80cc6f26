#!/bin/sh
# lab-test.sh SPTE CASE - one lab VM check, reported as TAP.
#
# Each case boots the lab VM (seconds under TCG) through `spte lab`
# and checks one property from the host side.
# QEMU missing: a skip off CI, a failure under CI (tests/common/tap.sh).
# /dev/kvm on the host is not needed: the lab runs on TCG where the host's
# KVM has no nested virtualization, and the cases pass on either.
set -u

spte=$1
case_name=$2

# shellcheck source=tests/common/tap.sh
. "$(dirname "$0")/../common/tap.sh"
use_tmp spte-lab-test

# run [LAB OPTIONS] -- COMMAND...: sets $rc, output in $out/$err.
run() {
	"$spte" lab "$@" </dev/null >"$out" 2>"$err"
	rc=$?
}

require_qemu

mkdir "$tmp/share"
share=$tmp/share

case $case_name in
exit)
	echo "1..5"
	run --share "$share" -- true
	check "'true' exits 0" [ "$rc" = 0 ]
	run --share "$share" -- sh -c 'echo from-the-lab; exit 7'
	check "'sh -c exit 7' exits 7" [ "$rc" = 7 ]
	check "command output arrives without console noise" \
		[ "$(cat "$out")" = from-the-lab ]
	run --share "$share" -- sh -c 'printf partial; exit 3'
	check "unterminated output survives the exit marker" \
		[ "$rc:$(cat "$out")" = 3:partial ]
	# The tty hangup at the end of the command's session must not eat
	# output still in flight.
	run --share "$share" -- seq 1 5000
	check "5000 lines of output all arrive" \
		[ "$(wc -l <"$out"):$(tail -n1 "$out")" = 5000:5000 ]
	;;
kvm)
	# kvm_amd (SVM: TCG, or KVM on AMD) or kvm_intel (VMX: KVM on Intel)
	echo "1..3"
	run --share "$share" -- sh -c '
		for p in kvm_amd/parameters/npt kvm_intel/parameters/ept; do
			[ -r "/sys/module/$p" ] && echo "$p=$(cat "/sys/module/$p")"
		done
		[ -c /dev/kvm ] && echo dev-kvm-present'
	check "lab exits 0" [ "$rc" = 0 ]
	check "kvm_amd or kvm_intel loaded with nested paging (npt or ept Y)" \
		grep -Eqx 'kvm_(amd/parameters/npt|intel/parameters/ept)=[Y1]' "$out"
	check "/dev/kvm exists inside" grep -qx dev-kvm-present "$out"
	;;
share)
	echo "1..3"
	run --share "$share" -- sh -c 'echo written-inside >lab-out.txt; mkdir -p sub; echo x >sub/y; pwd'
	check "lab exits 0" [ "$rc" = 0 ]
	check "file written inside the share appears on the host" \
		[ "$(cat "$share/lab-out.txt" 2>/dev/null)" = written-inside ]
	check "the share is the working directory, at the host's path" \
		[ "$(cat "$out")" = "$(cd "$share" && pwd -P)" ]
	;;
numa)
	echo "1..2"
	run --share "$share" --numa 2 -- ls /sys/devices/system/node
	check "lab exits 0" [ "$rc" = 0 ]
	nodes=$(tr -s ' \t' '\n' <"$out" | grep -c '^node[0-9][0-9]*$')
	check "--numa 2 gives two nodes (saw $nodes)" [ "$nodes" = 2 ]
	;;
timeout)
	echo "1..2"
	run --share "$share" --timeout 20 -- sleep 1000
	check "a hung command ends with status 124 (got $rc)" [ "$rc" = 124 ]
	check "the message names the timeout" \
		grep -q 'timed out after 20 s (--timeout 20)' "$err"
	;;
agent)
	# The guest agent under nested KVM (NPT) inside the lab: the same
	# round trip as the kvm suite's, and a crash with its named exit.
	echo "1..6"
	run --share "$share" -- spte run --exec \
		'fill 0x200000 256 0xa5; touch 0x200000 256 write; verify 0x200000 256 0xa5; checksum 0x200000 256'
	check "spte run exits 0 inside the lab" [ "$rc" = 0 ]
	check "the agent came up under nested KVM" \
		grep -q 'guest: spte-agent: ready, 64 MiB of guest RAM' "$out"
	check "fill then verify: every word matches" \
		grep -q 'verify 0x200000 256 0xa5 *ok: 256 pages, all 131072 words match' "$out"
	check "the VMM's view agrees with the guest's checksum" \
		grep -q 'checksum 0x200000 256 .*host agrees' "$out"
	run --share "$share" -- spte run --exec 'crash'
	check "a crashing guest ends spte run with status 1 (got $rc)" [ "$rc" = 1 ]
	check "the exit is named: KVM_EXIT_SHUTDOWN (triple fault)" \
		grep -q 'KVM_EXIT_SHUTDOWN (triple fault)' "$out"
	;;
mirror-run)
	# spte run --mirror: guest RAM mirrored by spte_mirror.ko, which the
	# lab loads at boot; the device's view must equal the guest's.
	echo "1..7"
	run --share "$share" -- spte run --mirror --exec \
		'fill 0 512 0x11; map 0 512 read; dump before.json; access 0 512 read; checksum 0 512; audit'
	check "spte run --mirror exits 0" [ "$rc" = 0 ]
	check "map installs leaves for all 512 pages (one 2M or 512 4K)" \
		grep -Eq 'map 0 512 read +ok: (512 x 4K \+ 0|0 x 4K \+ 1) x 2M leaves installed' "$out"
	check "the dump reads as an EPT walk" \
		grep -Eq '^  0x000000000000-0x0000001fffff  (4K x512|2M x1) ' "$out"
	dev=$(sed -n 's/.*device read 512 pages through the mirror ([0-9]* leaves faulted in), fnv1a64 \(0x[0-9a-f]*\).*/\1/p' "$out")
	guest=$(sed -n 's/^checksum 0 512 .*fnv1a64 \(0x[0-9a-f]*\) .*/\1/p' "$out")
	check "device read through the mirror = guest checksum ($dev = $guest)" \
		test -n "$dev" -a "$dev" = "$guest"
	check "audit is clean" grep -q 'audit  *ok: ' "$out"
	check "the JSON dump came back to the host" [ -s "$share/before.json" ]
	"$spte" dump "$share/before.json" >"$out" 2>"$err"
	check "spte dump renders it on the host" \
		grep -q '^spte_mirror table (seq ' "$out"
	;;
ksm-events)
	# ksmd merging 64 MiB of identical pages at the ksm-scan step's 200x
	# the default rate logs about 131000 records in a second or two,
	# twice what the 65536-record ring holds: the session's reader thread
	# must drain it while the step runs, so the log loses nothing.  The
	# timeline stays in the lab (a file in its /tmp); only its heading,
	# counts and last line come out.  Three scans: a first one may end
	# having looked at nothing, and merging takes two more.
	echo "1..6"
	run --share "$share" -- sh -c '
		spte run --mirror --ksm --exec "fill 0 16384 0x5a; map 0 16384 write; events; ksm-scan 3; events" \
			>/tmp/run.out 2>&1
		echo "status=$?"
		grep -E "^(ksm-scan|events) " /tmp/run.out
		echo "dropped-lines=$(grep -c DROPPED /tmp/run.out)"
		echo "gap-lines=$(grep -c "seq gap" /tmp/run.out)"
		echo "last: $(grep -E "^ *[-+][0-9.]+ ms  #" /tmp/run.out | tail -n 1)"'
	check "spte run exits 0 inside the lab (lab status $rc)" \
		grep -qx 'status=0' "$out"
	sharing=$(sed -n 's/^ksm-scan 3 .*pages_sharing [0-9]* -> \([0-9]*\)$/\1/p' "$out")
	check "ksmd merged the guest's pages (pages_sharing ${sharing:-?})" \
		[ "${sharing:-0}" -ge 16000 ]
	records=$(sed -n 's/^events  *\([0-9]*\) notifier events:$/\1/p' "$out")
	check "more records than the ring holds (${records:-?} > 65536)" \
		[ "${records:-0}" -gt 65536 ]
	check "no DROPPED record" grep -qx 'dropped-lines=0' "$out"
	check "no gap in seq" grep -qx 'gap-lines=0' "$out"
	# the log starts at #1: its last seq is its length when none is lost.
	# The last line with a time covers the last record: a fold's block
	# lines after it have none.
	last=$(sed -n 's/^last: *[-+][0-9.]* ms  #\([0-9]*-\)\{0,1\}\([0-9]*\) .*/\2/p' "$out")
	check "the last record's seq is the count (${last:-?} = ${records:-?})" \
		[ "${last:-x}" = "${records:-y}" ]
	;;
swap)
	# zram swap and cgroup v2, set up by lab/init for the reclaim
	# scenarios (MADV_PAGEOUT, memory.reclaim).
	echo "1..5"
	run --share "$share" -- sh -c '
		cat /proc/swaps
		grep -q "^cgroup2 /sys/fs/cgroup cgroup2 " /proc/mounts &&
			echo cgroup2-mounted
		grep -qw memory /sys/fs/cgroup/cgroup.controllers &&
			mkdir /sys/fs/cgroup/lab-test &&
			[ -f /sys/fs/cgroup/lab-test/memory.reclaim ] &&
			echo memory-controller-usable
		rmdir /sys/fs/cgroup/lab-test 2>/dev/null
		true'
	check "lab exits 0" [ "$rc" = 0 ]
	check "/proc/swaps lists /dev/zram0" grep -q '^/dev/zram0 ' "$out"
	warnings=$(grep -c WARNING "$out")
	check "no WARNING from the lab's init (saw $warnings)" [ "$warnings" = 0 ]
	check "cgroup2 is mounted at /sys/fs/cgroup" grep -qx cgroup2-mounted "$out"
	check "the memory controller is available (a child has memory.reclaim)" \
		grep -qx memory-controller-usable "$out"
	;;
kernel-log)
	# The kernel log on its own serial port, the panic-on-hang settings,
	# --cmdline, and a splat failing a command that passed.
	echo "1..12"
	run --share "$share" --cmdline 'spte.lab_test=42' -- sh -c '
		cat /proc/cmdline
		for k in softlockup_panic softlockup_all_cpu_backtrace hung_task_panic panic_on_warn panic_on_rcu_stall; do
			echo "$k=$(cat /proc/sys/kernel/$k)"
		done
		echo "panic_print=$(cat /proc/sys/kernel/panic_print)"'
	check "lab exits 0" [ "$rc" = 0 ]
	check "--cmdline reaches the kernel" grep -q ' spte.lab_test=42' "$out"
	check "every detected hang or WARN panics the lab kernel" \
		[ "$(grep -c '=1$' "$out")" = 5 ]
	check "a panic prints every CPU's backtrace first (panic_print 0x40)" \
		grep -qx 'panic_print=64' "$out"
	check "no kernel messages among the command's output" \
		sh -c "! grep -q '^\[ *[0-9]*\.[0-9]*\]' '$out'"
	check "a clean run keeps no kernel log" sh -c "! grep -q 'kernel log kept' '$err'"
	run --share "$share" -- sh -c \
		'echo "<4>WARNING: CPU: 0 PID: 1 at lab-test.c:1 injected" >/dev/kmsg; echo passed'
	check "a WARNING in the kernel log fails a passing command with 123 (got $rc)" \
		[ "$rc" = 123 ]
	check "the splat is named" grep -q 'the lab kernel reported: WARNING: CPU: 0 PID: 1 at lab-test.c:1 injected' "$err"
	klog=$(sed -n 's/^spte lab: kernel log kept: //p' "$err")
	check "the full kernel log is kept at the printed path ($klog)" \
		grep -q 'Linux version' "$klog"
	[ -n "$klog" ] && rm -rf "$(dirname "$klog")"
	t0=$(date +%s)
	run --share "$share" -- sh -c 'echo c >/proc/sysrq-trigger; sleep 300'
	t1=$(date +%s)
	check "a kernel panic ends the lab with 123 (got $rc)" [ "$rc" = 123 ]
	check "within seconds, not at --timeout ($((t1 - t0)) s)" [ $((t1 - t0)) -lt 60 ]
	klog=$(sed -n 's/^spte lab: kernel log kept: //p' "$err")
	check "the kept log has both vCPUs' backtraces from the panic" \
		[ "$(grep -o 'NMI backtrace for cpu [0-9]*' "$klog" | sort -u | wc -l)" = 2 ]
	[ -n "$klog" ] && rm -rf "$(dirname "$klog")"
	;;
tracepoint-toggle)
	# The lab's old hang (docs/lab.md): kernel text patched (a KVM
	# tracepoint switched on and off, as scenarios do) while guests run
	# under nested KVM on the other vCPU.  Multi-threaded TCG lost the
	# text_poke_bp() sync IPI within ~25 s; the lab now runs TCG
	# single-threaded.  40 s of toggling, guests started back to back.
	echo "1..4"
	run --share "$share" --timeout 240 -- sh -c '
		ev=/sys/kernel/tracing/events/kvm
		end=$(( $(cut -d. -f1 /proc/uptime) + 40 ))
		(
			runs=0 bad=0
			while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
				spte run --mem 32M --exec "fill 0 4096 0x11; verify 0 4096 0x11; touch 0 4096 read" \
					>/tmp/run.out 2>&1 || { bad=$((bad + 1)); cat /tmp/run.out; }
				runs=$((runs + 1))
			done
			echo "guest-runs=$runs failed=$bad"
		) &
		guests=$!
		rounds=0
		while kill -0 "$guests" 2>/dev/null; do
			for e in kvm_unmap_hva_range kvm_age_hva; do
				echo 1 >"$ev/$e/enable" && echo 0 >"$ev/$e/enable" ||
					echo "toggle-failed $e"
			done
			rounds=$((rounds + 1))
		done
		wait "$guests"
		echo "toggle-rounds=$rounds"'
	check "the lab ends by itself with status 0, no splat (status $rc)" [ "$rc" = 0 ]
	runs=$(sed -n 's/^guest-runs=\([0-9]*\) failed=0$/\1/p' "$out")
	check "guests ran back to back, none failed (runs: ${runs:-?})" \
		[ "${runs:-0}" -ge 3 ]
	rounds=$(sed -n 's/^toggle-rounds=//p' "$out")
	check "tracepoints toggled throughout (rounds: ${rounds:-?})" \
		[ "${rounds:-0}" -ge 20 ]
	check "every toggle was accepted" sh -c "! grep -q toggle-failed '$out'"
	;;
accel)
	# --accel.  KVM cannot run here, so a fake host (SPTE_LAB_HOST_ROOT:
	# kvm_amd's nested parameter and a dev/kvm that opens) and a stand-in
	# QEMU that records its arguments show what a nested-capable host
	# gets; two real boots show TCG, asked for and as auto's fallback.
	echo "1..17"
	fake=$tmp/host
	nested=$fake/sys/module/kvm_amd/parameters/nested
	mkdir -p "$(dirname "$nested")" "$fake/dev"
	: >"$fake/dev/kvm"
	cat >"$tmp/qemu" <<-EOF
	#!/bin/sh
	printf ' %s' "\$@" >"$tmp/qemu.args"
	EOF
	chmod +x "$tmp/qemu"
	qemu_args() { cat "$tmp/qemu.args" 2>/dev/null; }
	kept_dir() { sed -n 's|^spte lab: kernel log kept: \(.*\)/kernel.log$|\1|p' "$err"; }

	export SPTE_LAB_HOST_ROOT="$fake" SPTE_LAB_QEMU="$tmp/qemu"
	echo 1 >"$nested"
	run --share "$share" --verbose -- true
	check "the stand-in QEMU reports no status: 125 (got $rc)" [ "$rc" = 125 ]
	check "auto on a nested-capable host says kvm, and why" grep -qxF \
		"spte lab: accel kvm (--accel auto: $nested is '1' and $fake/dev/kvm opens read-write)" "$err"
	args=$(qemu_args)
	case $args in " -accel kvm -cpu host "*) first=kvm ;; *) first=other ;; esac
	check "QEMU gets -accel kvm -cpu host first (${args%% -M *})" [ "$first" = kvm ]
	ctl=$(kept_dir)
	check "the kept log starts with the accel line" \
		[ "$(head -n1 "$ctl/kernel.log" 2>/dev/null | cut -d' ' -f1-4)" = "spte lab: accel kvm" ]
	check "the kept log has QEMU's command line" \
		grep -q "^spte lab: $tmp/qemu -accel kvm -cpu host " "$ctl/kernel.log"
	check "the command inside would see SPTE_LAB_ACCEL=kvm" \
		grep -qx "SPTE_LAB_ACCEL='kvm'" "$ctl/env"
	[ -n "$ctl" ] && rm -rf "$ctl"

	echo 0 >"$nested"
	rm -f "$tmp/qemu.args"
	run --share "$share" --accel kvm -- true
	check "--accel kvm without nested KVM: 126 (got $rc)" [ "$rc" = 126 ]
	check "the error names the parameter, its value and the fix" grep -qxF \
		"spte lab: --accel kvm: the host's KVM cannot run the lab, it needs nested virtualization: $nested is '0' (load kvm_amd with nested=1)" "$err"
	check "no QEMU was started" [ ! -e "$tmp/qemu.args" ]
	run --share "$share" --accel hvf -- true
	check "an unknown --accel is a usage error: 2 (got $rc)" [ "$rc" = 2 ]

	# Real boots: the fake host without nested KVM stays, QEMU is real.
	unset SPTE_LAB_QEMU
	run --share "$share" --verbose --accel tcg -- sh -c \
		'echo "accel=$SPTE_LAB_ACCEL"; cat /sys/module/kvm_amd/parameters/npt'
	check "--accel tcg boots and exits 0 (got $rc)" [ "$rc" = 0 ]
	check "--accel tcg says so" grep -qxF "spte lab: accel tcg (--accel tcg)" "$err"
	check "QEMU ran single-threaded TCG with -cpu max" \
		grep -q "^spte lab: [^ ]*qemu-system-x86_64 -accel tcg,thread=single -cpu max " "$err"
	check "inside: SPTE_LAB_ACCEL=tcg, kvm_amd with npt=Y" \
		sh -c "grep -qx accel=tcg '$out' && grep -qx '[Y1]' '$out'"
	run --share "$share" --verbose -- sh -c \
		'echo "accel=$SPTE_LAB_ACCEL"; cat /sys/module/kvm_amd/parameters/npt'
	check "auto without nested KVM boots and exits 0 (got $rc)" [ "$rc" = 0 ]
	check "auto falls back to tcg and says why" grep -qxF \
		"spte lab: accel tcg (--accel auto: no nested KVM on this host: $nested is '0' (load kvm_amd with nested=1))" "$err"
	check "inside: SPTE_LAB_ACCEL=tcg, kvm_amd with npt=Y" \
		sh -c "grep -qx accel=tcg '$out' && grep -qx '[Y1]' '$out'"
	unset SPTE_LAB_HOST_ROOT
	;;
*)
	echo "1..1"
	echo "not ok 1 - unknown case $case_name"
	exit 1
	;;
esac
exit "$failed"
