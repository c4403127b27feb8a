#!/usr/bin/env bash
# analyze on public captures from other projects' test suites
# (tests/data/captures, with their provenance), including the cases that must
# not count, and on bad input. No root needed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init ap
here=$HERE out=$tmp
caps="$here/tests/data/captures"
summary() { $T analyze "$@" --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(" ".join(f"{k}={s[k]}" for k in ["collisions","collisions_paws","collisions_seq","collisions_not_timewait","collisions_unknown","recovered","timed_out","port_reuses"]))'; }

# --- public captures: expected counts read off `tcpdump -nr` by hand
[ -d "$caps" ] || fail "public captures not found at $caps"
expect() { got=$(summary "$caps/$1"); [ "$got" = "$2" ] || fail "$1: got '$got', want '$2'"; }
# zeek-syn-then-ack-then-rst: SYN seq 0, answered by a bare ACK with ack 0 (not
# ISN+1 = 1), then the client's RST and nothing more: the TIME_WAIT answer shape;
# rebuilt rcv_nxt 0, no timestamps, so the model says seq (0 is not after 0);
# no retry in the capture, so the outcome is unknown (neither recovered nor timed out).
# zeek-syn-then-stuff-then-rst: the same with a FIN between ACK and RST.
expect zeek-syn-then-ack-then-rst.pcap   "collisions=1 collisions_paws=0 collisions_seq=1 collisions_not_timewait=0 collisions_unknown=0 recovered=0 timed_out=0 port_reuses=0"
expect zeek-syn-then-stuff-then-rst.pcap "collisions=1 collisions_paws=0 collisions_seq=1 collisions_not_timewait=0 collisions_unknown=0 recovered=0 timed_out=0 port_reuses=0"
# must not count (tcpdump -nr read by hand):
#  zeek-handshake-reorder: the SYN-ACK is captured 0.3 ms before its SYN (capture
#    reordering); the handshake then completes normally.
#  arkime-no-syn-ack: SYN then the client's ACK of an ISN never captured: the
#    SYN-ACK is missing from the capture, the server never sent a bare ACK.
#  arkime-tcp-reassembly-synthetic: normal connections, nothing refused.
#  arkime-tcp_handshake_synthetic: odd handshakes; one SYN on a pair the capture
#    shows established draws an ACK: a live socket's challenge ACK
#    (other_bare_acks = 1), not TIME_WAIT.
#  sv-bug-3844: SYN refused by RST, then a new SYN answered by a SYN-ACK: a
#    reused pair answered normally.
#  sv-bug-7657-01: a flood of SYNs with random seqs and no answers at all, on a
#    pair with no earlier connection: nothing to judge them by.
#  port reuses: arkime-tcp-reassembly-synthetic 2 (after a FIN), arkime handshake
#  1 (a new ISN on the established 40003), sv-bug-3844 1 (refused, then a new ISN);
#  sv-bug-7657-01's SYNs never had a connection to reuse.
nothing="collisions=0 collisions_paws=0 collisions_seq=0 collisions_not_timewait=0 collisions_unknown=0 recovered=0 timed_out=0"
expect zeek-handshake-reorder.pcap          "$nothing port_reuses=0"
expect arkime-no-syn-ack.pcap               "$nothing port_reuses=0"
expect arkime-tcp-reassembly-synthetic.pcap "$nothing port_reuses=2"
expect arkime-tcp_handshake_synthetic.pcap  "$nothing port_reuses=1"
expect sv-bug-3844.pcap                     "$nothing port_reuses=1"
expect sv-bug-7657-01.pcap                  "$nothing port_reuses=0"
[ "$($T analyze "$caps/arkime-tcp_handshake_synthetic.pcap" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["other_bare_acks"])')" = 1 ] \
  || fail "half-open challenge ACK not reported apart"

# --- bad input: clear errors, never a crash
printf 'not a capture' > "$out/junk"
set +e
$T analyze "$out/junk" >/dev/null 2>"$out/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "twlab: analyze: $out/junk" "$out/err" || fail "junk file: rc=$rc $(cat "$out/err")"
: > "$out/empty"
set +e; $T analyze "$out/empty" >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || fail "empty file rc=$rc"
# cut inside the second record: the first is reported, the file named, exit 3
head -c 200 "$caps/zeek-handshake-reorder.pcap" > "$out/trunc.pcap"
set +e; $T analyze "$out/trunc.pcap" --json >"$out/o" 2>"$out/err"; rc=$?; set -e
[ $rc -eq 3 ] || fail "truncated capture rc=$rc"
grep -q "$out/trunc.pcap: truncated" "$out/err" || fail "truncated capture not named: $(cat "$out/err")"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["summary"]["packets"] == 1' "$out/o" || fail "truncated: not the partial report"
set +e; $T analyze >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 2 ] || fail "no file rc=$rc"
cat "$caps/zeek-syn-then-ack-then-rst.pcap" | $T analyze - --json | grep '"collisions":1' >/dev/null || fail "stdin"
echo "analyze_public: ok"
