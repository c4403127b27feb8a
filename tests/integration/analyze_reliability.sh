#!/usr/bin/env bash
# analyze under pressure and on damaged input (#10): a memory-limited run
# ends cleanly with what it read; the memory cap holds and says what it
# forgot; options cut by a short snaplen are "unknown" with a warning naming
# the snaplen; a bad file among good ones is named and the rest reported
# (exit 3); a full stdout fails; --server matching nothing is said. No root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init ar
gen_fleet_cc "$tmp/gen_fleet"
js() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Rewrite a pcap: cut every record to SNAPLEN (and say so in the header);
# with sll, turn its Ethernet headers into Linux cooked (v1) ones.
recap() {
  python3 - "$@" <<'PY'
import struct, sys
src, dst, snap, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
b = open(src, 'rb').read()
magic, vmaj, vmin, tz, sig, _snap, lt = struct.unpack('<IHHiIII', b[:24])
assert magic == 0xa1b2c3d4 and lt == 1
out = [struct.pack('<IHHiIII', magic, vmaj, vmin, tz, sig, snap, 113 if mode == 'sll' else 1)]
o = 24
while o < len(b):
    s, us, cap, ln = struct.unpack('<IIII', b[o:o+16]); d = b[o+16:o+16+cap]; o += 16 + cap
    if mode == 'sll':
        d = struct.pack('>HHH8sH', 0, 1, 6, d[6:12] + b'\0\0', 0x0800) + d[14:]; ln += 2
    d = d[:snap]
    out.append(struct.pack('<IIII', s, us, len(d), ln) + d)
open(dst, 'wb').write(b''.join(out))
PY
}

# --- 1. allocation failure is a clean error: exit 1, the report so far, no spin
"$tmp/gen_fleet" --syn-flood "$tmp/flood.pcap" 600000 2 3 >/dev/null     # all live at once
# SYN-only tuples take 40 bytes each: ~60 MB of tables at the end, on top
# of the 49 MB capture mapped whole and the libraries (~60 MB to start)
set +e
( ulimit -v 100000; timeout 120 $T analyze "$tmp/flood.pcap" --max-memory 4G >"$tmp/out" 2>"$tmp/err" ); rc=$?
set -e
[ $rc -eq 1 ] || fail "memory-limited analyze: rc=$rc (want 1) $(cat "$tmp/err")"
grep -q "out of memory" "$tmp/err" || fail "memory-limited analyze: no out-of-memory message: $(cat "$tmp/err")"
grep -q "^packets [1-9]" "$tmp/out" || fail "memory-limited analyze: no partial report"

# --- 2. the cap holds under the same limit, and the eviction is reported
set +e
( ulimit -v 150000; timeout 120 $T analyze "$tmp/flood.pcap" --max-memory 16M --json >"$tmp/out" 2>"$tmp/err" ); rc=$?
set -e
[ $rc -eq 0 ] || fail "--max-memory 16M: rc=$rc $(cat "$tmp/err")"
read -r ev peak <<<"$(js 'd["summary"]["memory"]["evicted_tuples"], d["summary"]["memory"]["peak_bytes"]' < "$tmp/out" | tr -d '(),')"
[ "$ev" -gt 0 ] && [ "$peak" -le $((16 << 20)) ] || fail "--max-memory 16M: evicted=$ev peak=$peak"
grep -q "memory cap 16 MiB reached: $ev tuples forgotten" "$tmp/err" || fail "eviction not said on stderr: $(cat "$tmp/err")"
# without a cap problem nothing is forgotten: SYNs expire on their own
$T analyze "$tmp/flood.pcap" --json | js 'd["summary"]["memory"]["evicted_tuples"]' | grep -qx 0 || fail "default cap evicted"

# --- 3. snaplen 60: timestamps cut off -> PAWS collisions become unknown, with a warning
"$tmp/gen_fleet" "$tmp/f.pcap" 3000 20 10 5 > "$tmp/truth.json"
recap "$tmp/f.pcap" "$tmp/f60.pcap" 60 eth
$T analyze "$tmp/f60.pcap" --json > "$tmp/out" 2>"$tmp/err"
got=$(js '" ".join(str(d["summary"][k]) for k in ["collisions","collisions_paws","collisions_seq","collisions_unknown"])' < "$tmp/out")
[ "$got" = "30 0 10 20" ] || fail "snaplen 60: collisions/paws/seq/unknown '$got', want '30 0 10 20'"
grep -q "snaplen 60 cut the TCP options" "$tmp/err" || fail "snaplen 60: no warning naming it: $(cat "$tmp/err")"
$T analyze "$tmp/f60.pcap" 2>/dev/null | grep "collisions 30 (paws 0, seq 10, not_timewait 0, unknown 20)" >/dev/null || fail "snaplen 60 text"

# --- 4. Linux cooked at -s 54 (tcpdump -i any -s 54): decoded, not skipped
recap "$tmp/f.pcap" "$tmp/sll54.pcap" 54 sll
$T analyze "$tmp/sll54.pcap" --json 2>"$tmp/err" > "$tmp/out"
got=$(js 'd["summary"]["skipped"], d["summary"]["connections"], d["summary"]["collisions"]' < "$tmp/out" | tr -d '(),')
want=$(js '0, d["connections"], d["collisions"]' < "$tmp/truth.json" | tr -d '(),')
[ "$got" = "$want" ] || fail "SLL -s 54: skipped/connections/collisions '$got', want '$want'"
grep -q "snaplen 54" "$tmp/err" || fail "SLL -s 54: no snaplen warning"
# and a capture whose snaplen cuts even the TCP flags says why it found nothing
recap "$tmp/f.pcap" "$tmp/sll40.pcap" 40 sll
$T analyze "$tmp/sll40.pcap" > "$tmp/out" 2>"$tmp/err"
grep -q "skipped [0-9]*: truncated [0-9]*" "$tmp/out" || fail "skip reasons not printed: $(head -2 "$tmp/out")"
grep -q "cut by the snaplen" "$tmp/err" || fail "no snaplen skip warning"

# --- 5. a bad file among good ones: every bad one named, the rest reported, exit 3
printf 'not a capture' > "$tmp/junk.pcap"
size=$(stat -c %s "$tmp/f.pcap")
head -c $((size - 7)) "$tmp/f.pcap" > "$tmp/cut.pcap"
"$tmp/gen_fleet" "$tmp/g.pcap" 500 0 0 9 > /dev/null
set +e
$T analyze "$tmp/g.pcap" "$tmp/junk.pcap" "$tmp/cut.pcap" /nonexistent.pcap --json > "$tmp/out" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 3 ] || fail "bad files: rc=$rc (want 3)"
for f in "$tmp/junk.pcap" "$tmp/cut.pcap" /nonexistent.pcap; do
  grep -q "twlab: analyze: $f: " "$tmp/err" || fail "bad file $f not named: $(cat "$tmp/err")"
done
n_ok=$(js 'sum(1 for f in d["summary"]["files"] if f["error"] is None)' < "$tmp/out")
n_bad=$(js 'sum(1 for f in d["summary"]["files"] if f["error"])' < "$tmp/out")
[ "$n_ok/$n_bad" = "1/3" ] || fail "files: ok/bad $n_ok/$n_bad"
pk=$(js 'd["summary"]["packets"]' < "$tmp/out")
want_pk=$(( $(js 'd["packets"]' < "$tmp/truth.json") - 1 + 4000 ))
[ "$pk" = "$want_pk" ] || fail "bad files: packets $pk, want $want_pk (all of g, all but the cut record of cut)"
# nothing readable at all: exit 1
set +e; $T analyze "$tmp/junk.pcap" >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || fail "only a junk file: rc=$rc"

# --- 6. a full stdout is a failure
set +e; $T analyze "$tmp/g.pcap" > /dev/full 2>"$tmp/err"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "stdout" "$tmp/err" || fail "/dev/full: rc=$rc $(cat "$tmp/err")"
set +e; $T analyze "$tmp/g.pcap" --json > /dev/full 2>/dev/null; rc=$?; set -e
[ $rc -eq 1 ] || fail "/dev/full --json: rc=$rc"

# --- 7. --server that matches nothing is said
$T analyze "$tmp/g.pcap" --server 203.0.113.9:80 > "$tmp/out" 2>"$tmp/err"
grep -q -- "--server 203.0.113.9:80: matched none of the 4000 TCP segments" "$tmp/err" || fail "--server: $(cat "$tmp/err")"
echo "analyze_reliability: ok"
