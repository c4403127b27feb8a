#!/usr/bin/env bash
# A pcapng libpcap refuses (#14): interfaces of different link types are
# split with the commands analyze prints, which this test runs as printed
# (POSIX sh, in a time zone that is not UTC, on copies whose names need
# quoting); then the split files must hold every frame of their interface
# with its bytes and timestamp (read back from the pcapng's own blocks) and
# analyze reads them together. mixed-link.pcapng: two interfaces, one
# connection across both, a command each. mixed-many.pcapng: ten, one of
# them USB, so one loop for the nine it decodes; a nanosecond interface, a
# record captured short and an HTTP request tshark reassembles (its dump
# must not add a packet). The snaplen case converts with editcap as told;
# snaplens and link types both differing split like link types.
# No root needed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init am
T=$(realpath "$T")
d="$HERE/tests/data/linktypes"
export TZ=America/New_York      # text2pcap reads times with mktime(): the command sets TZ=UTC

# Frames of a pcapng per interface, and of the classic pcaps split from it:
# "interface: count" lines, then whether every frame (ns time, bytes) of
# each interface is in its split file, in order.
cat > "$tmp/same.py" <<'EOF'
import struct, sys

def pcapng(path):
    b, off, ifs, out = open(path, "rb").read(), 0, [], {}
    while off < len(b):
        t, ln = struct.unpack_from("<II", b, off)
        body = b[off + 8:off + ln - 4]
        if t == 1:
            res, o = 6, 8
            while o + 4 <= len(body):
                code, l = struct.unpack_from("<HH", body, o)
                if code == 0:
                    break
                if code == 9:
                    res = body[o + 4]
                o += 4 + l + (-l % 4)
            ifs.append(res)
        elif t == 6:
            i, hi, lo, cap, orig = struct.unpack_from("<IIIII", body)
            ts = (hi << 32 | lo) * 10 ** (9 - ifs[i])
            out.setdefault(i, []).append((ts, body[20:20 + cap]))
        off += ln
    return out

def pcap(path):
    b = open(path, "rb").read()
    magic = struct.unpack_from("<I", b)[0]
    mul = {0xA1B2C3D4: 1000, 0xA1B23C4D: 1}[magic]
    off, out = 24, []
    while off < len(b):
        s, f, cap, orig = struct.unpack_from("<IIII", b, off)
        out.append(((s * 10 ** 9) + f * mul, b[off + 16:off + 16 + cap]))
        off += 16 + cap
    return out

src = pcapng(sys.argv[1])
for i in sorted(src):
    print("%d: %d" % (i, len(src[i])))
for arg in sys.argv[2:]:
    i, path = arg.split("=", 1)
    if pcap(path) != src[int(i)]:
        print("differs: interface %s, %s" % (i, path))
        sys.exit(1)
print("same")
EOF

# analyze on $1 (a copy in $tmp); runs the split commands it prints; the
# analyze command it prints, with $T for twlab, writes $tmp/out.json
split_and_analyze() {
  local f=$1 rc
  set +e; "$T" analyze "$f" > /dev/null 2> "$tmp/err"; rc=$?; set -e
  [ $rc -eq 3 ] || fail "$f: rc=$rc, want 3: $(cat "$tmp/err")"
  grep -q "differ in link type; split it into one classic pcap per interface" "$tmp/err" || fail "no split: $(cat "$tmp/err")"
  grep -E '^  (tshark|for x) ' "$tmp/err" | sed 's/^  //' > "$tmp/cmds"
  [ -s "$tmp/cmds" ] || fail "no command: $(cat "$tmp/err")"
  (cd "$(dirname "$f")" && sh -e "$tmp/cmds" 2> "$tmp/split.err") || fail "split: $(cat "$tmp/split.err")"
  sed -n '/^then analyze them together:$/{n;p}' "$tmp/err" | sed 's/^  twlab //' > "$tmp/ana"
  grep -q '^analyze ' "$tmp/ana" || fail "no analyze command: $(cat "$tmp/err")"
  (cd "$(dirname "$f")" && eval "\"\$T\" $(cat "$tmp/ana") --json" > "$tmp/out.json" 2> "$tmp/ana.err") || fail "analyze of the split files: $(cat "$tmp/ana.err")"
}

# 1. two interfaces: Ethernet, raw IP; one connection across both
f="$tmp/it's a mixed capture.pcapng"
cp "$d/mixed-link.pcapng" "$f"
split_and_analyze "$f"
[ "$(grep -c '^tshark ' "$tmp/cmds")" = 2 ] || fail "mixed-link: want a command per interface: $(cat "$tmp/cmds")"
python3 "$tmp/same.py" "$f" 0="$f.if0.pcap" 1="$f.if1.pcap" > "$tmp/same" || fail "mixed-link: $(cat "$tmp/same")"
for i in 0 1; do
  n=$(tshark -r "$f" -Y "frame.interface_id==$i" 2>/dev/null | wc -l)
  grep -qx "$i: $n" "$tmp/same" || fail "mixed-link: interface $i: tshark counts $n, the blocks $(cat "$tmp/same")"
done
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
got = (s["packets"], s["skipped"], s["connections"], s["collisions"], s["collisions_paws"], s["recovered"])
assert got == (5, 0, 1, 1, 1, 1), got
assert [x["packets"] for x in s["files"]] == [3, 2], s["files"]
' "$tmp/out.json" || fail "mixed-link: the split files analyzed"

# 2. ten interfaces, nine decodable: one loop; ns timestamps, a short
# record, a reassembled HTTP request, a USB interface left out
f="$tmp/many \"ifaces\".pcapng"
cp "$d/mixed-many.pcapng" "$f"
split_and_analyze "$f"
grep -q '^for x in 1:0:1:pcap 1:1:101:nsecpcap 1:3:1:pcap ' "$tmp/cmds" || fail "mixed-many: no loop: $(cat "$tmp/cmds")"
grep -q "(interface 2: link type 189, 1 packets, is not one analyze decodes)" "$tmp/err" || fail "USB not named"
grep -q "captured shorter than they were" "$tmp/err" || fail "the short record is not said"
args=()
for i in 0 1 3 4 5 6 7 8 9; do args+=("$i=$f.if$i.pcap"); done
python3 "$tmp/same.py" "$f" "${args[@]}" > "$tmp/same" || fail "mixed-many: $(cat "$tmp/same")"
[ ! -e "$f.if2.pcap" ] || fail "the USB interface was split"
for i in 0 1 2 3 4 5 6 7 8 9; do
  n=$(tshark -r "$f" -Y "frame.interface_id==$i" 2>/dev/null | wc -l)
  grep -qx "$i: $n" "$tmp/same" || fail "mixed-many: interface $i: tshark counts $n, the blocks $(cat "$tmp/same")"
done
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
assert (s["packets"], s["connections"], s["collisions"], s["recovered"]) == (24, 9, 1, 1), s
' "$tmp/out.json" || fail "mixed-many: the split files analyzed"

# 3. from stdin nothing can be scanned: says so
set +e; "$T" analyze - < "$d/mixed-link.pcapng" > /dev/null 2> "$tmp/err"; set -e
grep -q "save it to a file and run analyze on that" "$tmp/err" || fail "stdin: $(cat "$tmp/err")"

# 4. interfaces of one link type, two snaplens: editcap, as told
f="$tmp/snap len's.pcapng"
cp "$d/mixed-snaplen.pcapng" "$f"
set +e; "$T" analyze "$f" > /dev/null 2> "$tmp/err"; set -e
cmd=$(sed -n 's/.*convert it with `\([^`]*\)`.*/\1/p' "$tmp/err")
[ -n "$cmd" ] || fail "mixed snaplen: no command: $(cat "$tmp/err")"
(cd "$tmp" && sh -c "$cmd") || fail "mixed snaplen: $cmd"
"$T" analyze "$f.pcap" --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; assert (s["packets"], s["collisions"]) == (5, 1), s' || fail "mixed snaplen: converted file"

# 5. snaplens and link types both differ (libpcap names the snaplen first):
# editcap would refuse, so the split commands
f="$tmp/snap and link.pcapng"
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import make
make.write_pcapng(sys.argv[2], [(1, 65535), (1, 96), (101, 65535)], lambda lt, p: make.eth(p) if lt == 1 else p)' "$d" "$f"
split_and_analyze "$f"
grep -q "differ in snaplen, and editcap -F pcap none whose interfaces differ in link type; split it" "$tmp/err" \
  || fail "snaplen and link type: $(cat "$tmp/err")"
[ "$(grep -c '^tshark ' "$tmp/cmds")" = 3 ] || fail "snaplen and link type: want 3 commands: $(cat "$tmp/cmds")"
python3 "$tmp/same.py" "$f" 0="$f.if0.pcap" 1="$f.if1.pcap" 2="$f.if2.pcap" > "$tmp/same" || fail "snaplen and link type: $(cat "$tmp/same")"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; assert (s["packets"], s["collisions"], s["recovered"]) == (5, 1, 1), s' "$tmp/out.json" \
  || fail "snaplen and link type: the split files analyzed"
echo "analyze_mixed: ok"
