#!/usr/bin/env bash
# lab probe on other real kernels: Debian's 6.1 (6.1.192, loses the
# TIME_WAIT ISN) and 6.12 (6.12.113) booted by scripts/kvm; 200 probes each
# must all agree with the model resolved for that exact kernel. trace inside
# both, its counter mode, SYN retransmission timing and the fast retry. Also the
# harness's own failures: a package that cannot be downloaded, a VM that
# does not boot, a command that outlives --timeout, a missing qemu -- each
# a clear message and exit 125. No qemu on this machine is a failure, not
# a skip (scripts/deps installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${TWLAB:-build/twlab}
out=$(mktemp -d /tmp/twlab-vm-XXXXXX)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing: run scripts/deps"

# (the guest's writes land in its RAM overlay: the probe log comes back on stdout)
for k in 6.1 6.12; do
  scripts/kvm --kernel "$k" --timeout 900 -- sh -c "$T lab probe --count 200 --seed 3 --prefix vp$$- \
    --out /tmp/p --json && sed 's/^/LOG /' /tmp/p/probe.txt" > "$out/$k.txt" \
    || fail "$k: probe exited $?: $(head -c 400 "$out/$k.txt")"
  grep -v '^LOG ' "$out/$k.txt" > "$out/$k.json"; grep '^LOG ' "$out/$k.txt" > "$out/$k.log" || true
  python3 - "$out/$k.json" "$k" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1])); k = sys.argv[2]
want = {"6.1": "6.1.192", "6.12": "6.12.113"}[k]
if d["kernel"] != want or d["probes"] != 200 or d["agree"] != 200 or d["disagree"] or d["failed_sessions"]:
    sys.exit(f"FAIL: {k}: {d}")
PY
  [ "$(grep -c '^LOG agree ' "$out/$k.log")" = 200 ] || fail "$k: probe log"
  grep -q 'verdict=TCP_TW_SYN' "$out/$k.log" || fail "$k: no accepted SYN probed"
  grep -q 'verdict=TCP_TW_ACK' "$out/$k.log" || fail "$k: no refused SYN probed"
  echo "vm_probe: $k: 200/200 agree"
done
# 6.1.192 loses the TIME_WAIT ISN: the probes that reopened the 4-tuple say so
grep -q 'verdict=TCP_TW_SYN isn_lost' "$out/6.1.log" || fail "6.1: no isn_lost probe"
! grep -q 'isn_lost' "$out/6.12.log" || fail "6.12 must keep tw_snd_nxt + 65537"

# trace: the integration test inside both VMs (6.12: tp_btf kfree_skb with
# rx_sk + fexit; 6.1: no rx_sk, the drops come from fexit), and the counter
# mode trace falls back to (host: PAWSTimewait, 6.1: PAWSEstab)
for k in 6.1 6.12; do
  scripts/kvm --kernel "$k" --timeout 900 -- env TWLAB="$T" bash tests/integration/trace_collisions.sh \
    > "$out/trace$k.txt" 2>&1 || fail "$k: trace_collisions: $(grep -v '^libbpf' "$out/trace$k.txt" | grep -A12 -m1 '^FAIL' || tail -20 "$out/trace$k.txt")"
done
TWLAB="$T" bash tests/integration/vm/trace_counters.sh > "$out/tch.txt" 2>&1 || fail "host trace --counters: $(cat "$out/tch.txt")"
scripts/kvm --kernel 6.1 --timeout 900 -- env TWLAB="$T" bash tests/integration/vm/trace_counters.sh \
  > "$out/tc61.txt" 2>&1 || fail "6.1: trace --counters: $(tail -20 "$out/tc61.txt")"
echo "vm_probe: trace on 6.1 and 6.12, trace --counters on host and 6.1"

# SYN retransmission timing per version: 6.1 doubles (1, 3 s), 6.12 and the
# host are linear (1, 2, 3, 4, 5 s): measured against the model's schedule
bash tests/integration/vm/syn_times.sh > "$out/synh.txt" 2>&1 || fail "host SYN times: $(cat "$out/synh.txt")"
for k in 6.1 6.12; do
  scripts/kvm --kernel "$k" -- env TWLAB="$T" bash tests/integration/vm/syn_times.sh > "$out/syn$k.txt" 2>&1 \
    || fail "$k SYN times: $(cat "$out/syn$k.txt")"
done
# a bad ACK in SYN_SENT: fast retry, then 2 s (6.1) or 1 s (6.5+)
bash tests/integration/vm/fast_retry.sh > "$out/frh.txt" 2>&1 || fail "host fast retry: $(cat "$out/frh.txt")"
for k in 6.1 6.12; do
  scripts/kvm --kernel "$k" -- env TWLAB="$T" bash tests/integration/vm/fast_retry.sh > "$out/fr$k.txt" 2>&1 \
    || fail "$k fast retry: $(cat "$out/fr$k.txt")"
done
echo "vm_probe: SYN retransmission times and the fast retry agree with the model on host, 6.1, 6.12"

# the command's exit status and output come back
set +e
o=$(scripts/kvm --kernel 6.12 -- sh -c 'uname -r; exit 7' 2>"$out/err"); rc=$?
set -e
[ $rc -eq 7 ] && [ "$o" = "6.12.113+deb12-amd64" ] || fail "exit status/output: rc=$rc out='$o' $(cat "$out/err")"

expect125() { # what, grep pattern, command...
  local what=$1 pat=$2; shift 2; set +e; "$@" >/dev/null 2>"$out/err"; local rc=$?; set -e
  [ $rc -eq 125 ] && grep -q "$pat" "$out/err" || fail "$what: rc=$rc: $(cat "$out/err")"
}
expect125 "no such package" "twlab: kvm: .*cannot download package 'linux-image-0.0-nonexistent-amd64'" \
  env BUILD="$out/b" scripts/kvm --kernel linux-image-0.0-nonexistent-amd64 -- true
expect125 "VM that does not boot" "the VM did not boot" scripts/kvm --kernel 6.1 --mem 24 -- true
expect125 "timeout" "did not finish within --timeout 20 s" scripts/kvm --kernel 6.1 --timeout 20 -- sleep 600
mkdir -p "$out/bin"; for t in busybox depmod modprobe xz dpkg-deb apt-get bash dirname mkdir ls cat id; do
  p=$(command -v $t) && ln -sf "$p" "$out/bin/$t"; done
expect125 "missing qemu" "qemu-system-x86_64 is missing (Debian package qemu-system-x86" \
  env PATH="$out/bin" scripts/kvm --kernel 6.1 -- true
set +e; scripts/kvm --kernel 9.9 -- true 2>/dev/null; rc=$?; set -e
[ $rc -eq 2 ] || fail "usage error: rc=$rc"
echo "vm_probe: ok"
