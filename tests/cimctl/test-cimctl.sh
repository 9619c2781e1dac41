#!/bin/sh
# SPDX-License-Identifier: MIT
#
# cimctl on the host, through libcim's embedded backend (no driver needed):
# its commands, JSON, --watch without a terminal, usage errors, exit codes
# and the messages of libcim errors. TAP on stdout; exit 1 when a test
# failed. CIMCTL names the binary (default build/cimctl).
#
# usage: CIMCTL=build/cimctl tests/cimctl/test-cimctl.sh
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
cimctl=${CIMCTL:-$top/build/cimctl}
case $cimctl in /*) ;; *) cimctl=$top/$cimctl ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

ok() {
	n=$((n + 1))
	echo "ok $n $1"
}

not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n $1"
	sed 's/^/# /' "$tmp/out" "$tmp/err"
}

# t DESC WANT_RC CMD...: run CMD with stdout to $tmp/out, stderr to
# $tmp/err (stdin from /dev/null: never a terminal), expect exit WANT_RC
t() {
	desc=$1 want=$2
	shift 2
	rc=0
	"$@" < /dev/null > "$tmp/out" 2> "$tmp/err" || rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$desc"
		return 0
	fi
	echo "# exit $rc, expected $want: $*" > "$tmp/err.x"
	cat "$tmp/err" >> "$tmp/err.x"
	mv "$tmp/err.x" "$tmp/err"
	not_ok "$desc"
	return 1
}

# has DESC FILE PATTERN: grep -E PATTERN in $tmp/FILE
has() {
	if grep -Eq -- "$3" "$tmp/$2"; then ok "$1"; else
		echo "# no match for /$3/ in $2" >> "$tmp/err"
		not_ok "$1"
	fi
}

# json DESC JQ-EXPR: $tmp/out is JSON and the expression is true
json() {
	if jq -e "$2" "$tmp/out" > /dev/null 2>> "$tmp/err"; then ok "$1"; else
		echo "# jq '$2' failed" >> "$tmp/err"
		not_ok "$1"
	fi
}

[ -x "$cimctl" ] || { echo "Bail out! no $cimctl (make cimctl)"; exit 1; }
command -v jq > /dev/null || { echo "Bail out! jq not installed"; exit 1; }
echo "TAP version 13"
echo "1..73"

# Help, version, usage errors
t "--help exits 0" 0 "$cimctl" --help
has "--help lists the commands" out "counters .*energy"
t "-h exits 0" 0 "$cimctl" -h
t "--version exits 0" 0 "$cimctl" --version
has "--version names cimctl and libcim" out "^cimctl [0-9]+\.[0-9]+\.[0-9]+ \(libcim [0-9.]+\)$"
t "unknown command is a usage error" 2 "$cimctl" frobnicate
has "unknown command is named" err "^cimctl: unknown command 'frobnicate'"
t "unknown option is a usage error" 2 "$cimctl" --frob
t "-d without its argument is a usage error" 2 "$cimctl" info -d
t "--watch on info is a usage error" 2 "$cimctl" info --watch -d embedded
t "bad --watch interval is a usage error" 2 "$cimctl" counters --watch=0 -d embedded
t "bad --count is a usage error" 2 "$cimctl" counters --count=x -d embedded
t "two commands are a usage error" 2 "$cimctl" info list
t "reset without -d is a usage error" 2 "$cimctl" reset
has "reset without -d says so" err "reset needs a device"

# The embedded device
t "summary of -d embedded" 0 "$cimctl" -d embedded
has "summary has its header" out "^IDX +NODE +PCI +BACKEND +STATE +XBARS +ENERGY +BUSY +JOBS +RESETS"
has "summary row of the embedded device" out "^- +embedded +- +embedded +operational +8 +0 fJ +0 ps +0 +0$"
t "summary --json" 0 "$cimctl" --json -d embedded
json "summary JSON has the device" '.devices | length == 1 and .[0].backend == "embedded" and .[0].crossbars.count == 8 and .[0].energy_fj == 0'
t "list -d embedded" 0 "$cimctl" list -d embedded
has "list line" out "^embedded: embedded, embedded, operational, 8 crossbars 256x256, 4 APs 1024x256$"
t "info -d embedded" 0 "$cimctl" info -d embedded
has "info: backend" out "^Backend: +embedded$"
has "info: crossbar geometry" out "^Crossbars: +8, 256 rows x 256 cols$"
has "info: levels, DAC and ADC bits" out "^  DAC/ADC bits: +8 / 8$"
has "info: AP geometry" out "^Associative procs: +4, 1024 rows x 256 cols x 64 domains$"
has "info: capabilities" out "^Capabilities: +xbar duu ap( analog)? \(0x(7|47)\)$"
t "info of embedded:seed=0x2a,cost=destiny" 0 "$cimctl" info -d embedded:seed=0x2a,cost=destiny
has "info: seed and cost preset from the name" out "^Seed: +42 \(0x2a\)$"
has "info: cost preset" out "^Cost preset: +destiny$"
t "info --json" 0 "$cimctl" info --json -d embedded:seed=5
json "info JSON" '.backend == "embedded" and .seed == 5 and .crossbars.levels == 128 and .aps.domains == 64 and .cost_preset == "default"'
t "CIM_DEVICE selects the device" 0 env CIM_DEVICE=embedded:seed=9 "$cimctl" info --json
json "CIM_DEVICE's seed" '.seed == 9'
t "counters -d embedded" 0 "$cimctl" counters -d embedded
has "counters: ADC conversions" out "^  ADC conversions +0$"
has "counters: energy per unit" out "^  xbar-array +0 fJ +0 ps$"
t "counters --json" 0 "$cimctl" counters --json -d embedded
json "counters JSON has every unit" '.units | keys | length == 10'
t "counters --watch --count 3 (not a terminal)" 0 "$cimctl" counters -d embedded --watch=0.1 --count 3
has "--watch without a terminal prints a header" out "^TIME +DEVICE +JOBS +ENERGY_NJ +PULSES +ADC_CONV"
if [ "$(wc -l < "$tmp/out")" -eq 4 ] && ! grep -q "$(printf '\033')" "$tmp/out"; then
	ok "--watch without a terminal: plain lines, one per sample"
else
	not_ok "--watch without a terminal: plain lines, one per sample"
fi
# On a terminal (script(1) gives it one), the display is redrawn in place
if command -v script > /dev/null; then
	t "counters --watch on a terminal" 0 script -qec \
		"$cimctl counters -d embedded -w0.1 -n 2" /dev/null
	if [ "$(grep -c "$(printf '\033')\\[H" "$tmp/out")" -eq 2 ]; then
		ok "--watch on a terminal redraws in place"
	else
		not_ok "--watch on a terminal redraws in place"
	fi
else
	ok "counters --watch on a terminal # SKIP no script(1)"
	ok "--watch on a terminal redraws in place # SKIP no script(1)"
fi
t "counters --json --count 2: JSON lines" 0 "$cimctl" counters -j -n 2 -w0.1 -d embedded
json "two JSON lines, each with a time" '[inputs] | length == 1 and (.[0] | has("time"))'
t "reset -d embedded" 0 "$cimctl" reset -d embedded
has "reset says so" out "^embedded: reset$"

# characterize: usage, the CSVs, the same bytes for the same seed
t "characterize options without characterize" 2 "$cimctl" info --pulses 20 -d embedded
has "... say where they go" err "go with the characterize command"
t "characterize --pulses out of range" 2 "$cimctl" characterize --pulses 5 -d embedded
t "characterize --only of no experiment" 2 "$cimctl" characterize --only drift -d embedded
t "characterize --tol-us 0" 2 "$cimctl" characterize --tol-us 0 -d embedded
t "characterize --json" 2 "$cimctl" characterize --json -d embedded
t "characterize --only pulse" 0 "$cimctl" characterize --only pulse --pulses 20 -d embedded:seed=3 -o "$tmp/c1"
has "pulse summary" out "^pulse: 128 devices \(64 G\+, 64 G-\), 20 pulses up then 20 down$"
has "pulse: first steps, d2d and c2c" out "^  potentiation, first 2 pulses: step \+[0-9.]+ uS, d2d sd [0-9.]+ uS"
# a header, the start and 2 x 20 steps; pulse, phase and 128 devices
if [ "$(wc -l < "$tmp/c1/pulse.csv")" -eq 42 ] &&
   [ "$(awk -F, 'NR == 2 { print NF }' "$tmp/c1/pulse.csv")" -eq 130 ]; then
	ok "pulse.csv: a row per step, a column per device"
else
	not_ok "pulse.csv: a row per step, a column per device"
fi
t "characterize (all)" 0 "$cimctl" characterize --pulses 20 --levels 4 -d embedded:seed=3 -o "$tmp/c2"
has "levels: a line per level" out "^  level  3, w \+1\.000: G\+ - G- mean +\+[0-9.]+ uS, sd [0-9.]+ uS \(1024 cells\)$"
has "relax: the drift" out "^relax: 16 reads from 1 s to 100000 s of IDLE after programming$"
cmp -s "$tmp/c1/pulse.csv" "$tmp/c2/pulse.csv" && ok "the same seed, the same pulse.csv" ||
	not_ok "the same seed, the same pulse.csv"
[ "$(wc -l < "$tmp/c2/relax.csv")" -eq 18 ] && ok "relax.csv: t = 0 and 16 times" ||
	not_ok "relax.csv: t = 0 and 16 times"
t "characterize of another seed" 0 "$cimctl" characterize --only pulse --pulses 20 -d embedded:seed=4 -o "$tmp/c3"
cmp -s "$tmp/c1/pulse.csv" "$tmp/c3/pulse.csv" && not_ok "another seed, other devices" ||
	ok "another seed, other devices"

# Errors from libcim
t "a kernel device that does not exist" 1 "$cimctl" info -d cim99
has "ENOENT is told apart" err "^cimctl: cim99: open: no such device .*\[ENOENT\]$"
touch "$tmp/notcim"
t "a file that is not a cim device" 1 "$cimctl" counters -d "$tmp/notcim"
has "the error names it" err "\[(ENOTTY|EACCES|ENOENT|EINVAL)\]$"
t "summary of a kernel device that does not exist" 1 "$cimctl" -d cim99
t "a malformed embedded name" 1 "$cimctl" info -d embedded:seed=
has "EINVAL from libcim" err "\[EINVAL\]$"

[ $fails -eq 0 ] || { echo "# $fails of $n failed"; exit 1; }
