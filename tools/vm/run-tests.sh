#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Boot the test VM (QEMU with our cim-pci devices, Debian's kernel, the
# initramfs of mkinitramfs.sh), collect the TAP its /init prints on the serial
# console, summarise it, and exit non-zero when a test failed, a test program
# did not report the results it planned, the guest did not finish in time or
# an expected result is missing.
#
# usage: run-tests.sh [options] [-- extra QEMU arguments]
#   --shell            interactive busybox shell on the console instead
#                      (what tools/vm/shell.sh and "make vm-shell" run)
#   --timeout S        kill the VM after S seconds (default 300)
#   --test-timeout S   per test program, inside the guest (default 120)
#   --filter WORD      run only the test programs whose name contains WORD
#   --accel A          tcg, kvm or auto (default auto: KVM only when a quick
#                      probe, cached in build/vm/accel, shows that it boots)
#   --device SPEC      a -device argument; repeatable; replaces the default
#                      two instances
#   --no-device        no cim device at all
#   --initrd FILE      default build/vm/initramfs.cpio.gz
#   --log FILE         the console log, default build/vm/console.log; runs
#                      that share a log wait for each other (flock)
#
# Environment: QEMU (default build/qemu/qemu-system-x86_64), QEMU_FIRMWARE
# (the -L folder, default build/qemu/share when it exists), CIM_VM_DEVICES
# (whitespace-separated -device SPECs), CIM_VM_ACCEL, CIM_VM_TIMEOUT,
# CIM_VM_MEM (default 1G), CIM_VM_SMP (default 2), CIM_VM_CPU (default max),
# CIM_VM_APPEND (extra kernel parameters), BUILD (default build),
# CIM_GUEST_KERNEL: "debian" (default, Debian's kernel of fetch-kernel.sh) or
# "debug" (tools/kernel/build-debug-kernel.sh's KASAN/lockdep/kmemleak
# kernel, built first when not cached; then CIM_VM_MEM defaults to 2G, the
# console shows warnings too (loglevel=5) and the KVM probe has a cache of
# its own, build/vm/accel-debug).
#
# -cpu max by default: programs that run the firmware model inside the guest
# (libcim's embedded backend) die of SIGILL under TCG's default qemu64 model,
# whose CPUID names an AMD family with instructions TCG does not emulate
# (not traced further); "max" is every feature TCG really implements.
#
# Output: build/vm/console.log (the whole serial console; QEMU's own
# messages in console.qemu.log, the TAP section in console.tap), the TAP
# section on stdout, then a summary with the boot-to-first-result time.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
vm=$build/vm

qemu=${QEMU:-$build/qemu/qemu-system-x86_64}
firmware=${QEMU_FIRMWARE:-}
if [ -z "$firmware" ] && [ -d "$build/qemu/share" ]; then
	firmware=$build/qemu/share
fi
timeout=${CIM_VM_TIMEOUT:-300}
test_timeout=120
accel=${CIM_VM_ACCEL:-auto}
guest_kernel=${CIM_GUEST_KERNEL:-debian}
mem=${CIM_VM_MEM:-1G}
smp=${CIM_VM_SMP:-2}
initrd=$vm/initramfs.cpio.gz
kernel=$vm/kernel/vmlinuz
log=$vm/console.log
mode="test"
filter=
# Two instances: different seeds, fault injection on the second
default_devices="cim-pci,seed=1 cim-pci,seed=2,fault-injection=on"
read -r -a devices <<< "${CIM_VM_DEVICES:-$default_devices}"
devices_given=no
extra=()

say() { echo "run-tests: $*" >&2; }
die() { say "$*"; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--shell) mode=shell; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	--test-timeout) test_timeout=$2; shift 2 ;;
	--filter) filter=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	--device)
		[ $devices_given = yes ] || devices=()
		devices_given=yes
		devices+=("$2")
		shift 2
		;;
	--no-device) devices=(); devices_given=yes; shift ;;
	--initrd) initrd=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '3,30p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (--help)" ;;
	esac
done

[ -x "$qemu" ] || die "no QEMU at $qemu: build it with qemu/build-qemu.sh"
accel_cache=$vm/accel
debug_append=""
case $guest_kernel in
debian) [ -f "$kernel" ] || "$top/tools/vm/fetch-kernel.sh" >/dev/null ;;
debug)
	dbg=$("$top/tools/kernel/build-debug-kernel.sh") ||
		die "no debug kernel (tools/kernel/build-debug-kernel.sh)"
	kernel=$dbg/bzImage
	# KASAN's shadow is an eighth of memory; slub_debug, kmemleak and
	# KFENCE want more on top
	mem=${CIM_VM_MEM:-2G}
	accel_cache=$vm/accel-debug
	# Warnings on the console as well (run-debug.sh scans it); a log
	# buffer that holds every report; every KASAN report, not only the
	# first; KFENCE samples every 10 ms
	debug_append="loglevel=5 printk.time=1 log_buf_len=8M kasan_multi_shot"
	debug_append="$debug_append kfence.sample_interval=10"
	;;
*) die "CIM_GUEST_KERNEL must be debian or debug" ;;
esac
[ -f "$initrd" ] || die "no initramfs at $initrd: run tools/vm/mkinitramfs.sh"

base=(-M q35 -nodefaults -display none -no-reboot -m "$mem" -smp "$smp"
	-cpu "${CIM_VM_CPU:-max}" -kernel "$kernel" -initrd "$initrd")
[ -n "$firmware" ] && base+=(-L "$firmware")
cmdline="console=ttyS0 quiet panic=-1 oops=panic"

# KVM only when it boots our kernel to /init within a few seconds: on some
# hosts a KVM guest sits in SeaBIOS for minutes. Cached per host kernel.
probe_kvm() {
	local cache=$accel_cache key out rc
	key="$(uname -r) $(uname -v) $("$qemu" --version | head -n 1)"
	if [ -f "$cache" ] && [ "$(sed -n 2p "$cache")" = "$key" ]; then
		sed -n 1p "$cache"
		return
	fi
	out=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		rc=0
		timeout -k 2 10 "$qemu" "${base[@]}" -accel kvm -serial stdio \
			-append "$cmdline cim.mode=probe" </dev/null 2>/dev/null |
			grep -q '@@CIM-PROBE-OK@@' || rc=$?
		[ $rc -eq 0 ] && out=kvm
	fi
	mkdir -p "$vm"
	printf '%s\n%s\n' "$out" "$key" > "$cache"
	echo "$out"
}

case $accel in
auto) accel=$(probe_kvm) ;;
tcg | kvm) ;;
*) die "--accel must be tcg, kvm or auto" ;;
esac

# The devices' properties, for the tests to check (the kernel hands
# parameters without a dot to /init as environment variables)
devargs=()
seeds=""
faults=""
for d in "${devices[@]}"; do
	devargs+=(-device "$d")
	case $d in cim-pci,* | cim-pci) ;; *) continue ;; esac
	seed=$(sed -n 's/.*,seed=\([0-9a-fA-Fx]*\).*/\1/p' <<< "$d")
	fault=0
	[[ $d == *,fault-injection=on* ]] && fault=1
	seeds="$seeds${seeds:+,}${seed:--}"
	faults="$faults${faults:+,}$fault"
done

append="$cmdline${debug_append:+ $debug_append} cim.mode=$mode cim.timeout=$test_timeout"
[ -n "$filter" ] && append="$append cim.filter=$filter"
[ -n "$seeds" ] && append="$append CIM_SEEDS=$seeds CIM_FAULT=$faults"
[ -n "${CIM_VM_APPEND:-}" ] && append="$append $CIM_VM_APPEND"

if [ $mode = shell ]; then
	say "shell on the serial console; power off with 'exit' or Ctrl-A x"
	exec "$qemu" "${base[@]}" -accel "$accel" "${devargs[@]}" \
		-serial mon:stdio -append "$append" "${extra[@]}"
fi

mkdir -p "$vm" "$(dirname "$log")"
exec 9> "$log.lock"
if ! flock -n 9; then
	say "waiting for another run that uses ${log#"$top"/}"
	flock -w "$timeout" 9 || die "${log#"$top"/} still in use after ${timeout}s"
fi
qlog=${log%.log}.qemu.log
tap=${log%.log}.tap
: > "$log"
start=$EPOCHREALTIME
"$qemu" "${base[@]}" -accel "$accel" "${devargs[@]}" \
	-serial "file:$log" -append "$append" "${extra[@]}" \
	</dev/null >"$qlog" 2>&1 &
qpid=$!

elapsed() {
	echo "$EPOCHREALTIME $start" | awk '{ printf "%.1f", $1 - $2 }'
}

first=""
timed_out=no
while kill -0 "$qpid" 2>/dev/null; do
	if [ -z "$first" ] && grep -qaE '^(# )?(not )?ok [0-9]' "$log"; then
		first=$(elapsed)
	fi
	if awk -v t="$timeout" 'BEGIN { exit !(ARGV[1] >= t) }' "$(elapsed)"; then
		timed_out=yes
		kill "$qpid" 2>/dev/null || true
		sleep 1
		kill -9 "$qpid" 2>/dev/null || true
		break
	fi
	sleep 0.1
done
qrc=0
wait "$qpid" || qrc=$?
total=$(elapsed)
if [ -z "$first" ] && grep -qaE '^(# )?(not )?ok [0-9]' "$log"; then
	first=$total
fi

# The expected top-level results: one per module, one per test program
expected=${initrd%.cpio.gz}.tests
exp_list=()
if [ -f "$expected" ]; then
	while read -r line; do
		[ -n "$line" ] || continue
		case $line in
		"selftests: cim: "*)
			[ -z "$filter" ] || [[ $line == *"$filter"* ]] || continue ;;
		esac
		exp_list+=("$line")
	done < "$expected"
fi

tr -d '\r' < "$log" |
	sed -n '/^@@CIM-TAP-BEGIN@@/,/^@@CIM-TAP-END@@/p' > "$tap"
grep -v '^@@CIM-TAP' "$tap" || true

# Summary: top-level results, nested results, plans that do not match
summary=$(printf '%s\n' "${exp_list[@]+"${exp_list[@]}"}" | awk -v tapf="$tap" '
	function close_prog() {
		if (prog != "" && nplan >= 0 && nres != nplan) {
			bad = bad sprintf("  %s: planned %d results, reported %d\n",
					  prog, nplan, nres)
			planerr++
		}
		prog = ""; nplan = -1; nres = 0
	}
	{ if ($0 != "") expect[$0] = 1 }
	END {
		nplan = -1; plan = -1
		while ((getline line < tapf) > 0) {
			if (line ~ /^@@CIM-TAP-END@@/) { ended = 1; continue }
			if (line ~ /^# selftests: /) {
				close_prog(); prog = substr(line, 3); continue
			}
			if (line ~ /^# 1\.\.[0-9]+/) {
				nplan = substr(line, 6) + 0; continue
			}
			if (line ~ /^# (not )?ok [0-9]/) {
				nres++; sub_total++
				if (line ~ /^# not ok/ && line !~ /# (TODO|todo)/) {
					sub_fail++; bad = bad "  " substr(line, 3) "\n"
				} else if (line ~ /# (SKIP|skip)/) sub_skip++
				continue
			}
			if (line ~ /^1\.\.[0-9]+/) { plan = substr(line, 4) + 0; continue }
			if (line ~ /^(not )?ok [0-9]/) {
				close_prog(); top++
				d = line
				sub(/^(not )?ok [0-9]+ /, "", d); sub(/ #.*/, "", d)
				seen[d] = 1
				if (line ~ /^not ok/) {
					top_fail++; bad = bad "  " line "\n"
				} else if (line ~ /# SKIP/) top_skip++
			}
		}
		close_prog()
		for (e in expect) if (!(e in seen)) {
			missing++; bad = bad "  missing result: " e "\n"
		}
		if (plan >= 0 && top != plan) {
			planerr++
			bad = bad sprintf("  planned %d programs, %d reported\n", plan, top)
		}
		printf "%d %d %d %d %d %d %d %d %d\n", top + 0, top_fail + 0,
		       top_skip + 0, sub_total + 0, sub_fail + 0, sub_skip + 0,
		       missing + 0, planerr + 0, ended + 0
		printf "%s", bad
	}')
read -r top top_fail top_skip sub_total sub_fail sub_skip missing planerr ended \
	<<< "$(head -n 1 <<< "$summary")"

echo "== $accel, ${#devices[@]} device(s): $top programs ($top_fail failed," \
	"$top_skip skipped), $sub_total results ($sub_fail failed, $sub_skip skipped)"
tail -n +2 <<< "$summary"
status=0
if [ $timed_out = yes ]; then
	say "the VM did not finish in ${timeout}s; killed (console: ${log#"$top"/})"
	status=1
elif [ "$ended" -eq 0 ]; then
	say "the VM stopped before the end of the tests (QEMU exit $qrc; console: ${log#"$top"/}, QEMU: ${qlog#"$top"/})"
	status=1
fi
if [ $status -ne 0 ] || [ "$top" -eq 0 ]; then
	tail -n 25 "$qlog" >&2 || true
	tr -d '\r' < "$log" | tail -n 25 >&2
	status=1
fi
[ "$top_fail" -eq 0 ] && [ "$sub_fail" -eq 0 ] && [ "$missing" -eq 0 ] &&
	[ "$planerr" -eq 0 ] || status=1
echo "== boot to first result: ${first:-none} s, total ${total} s ($accel)"
[ $status -eq 0 ] && echo "== PASS" || echo "== FAIL"
exit $status
