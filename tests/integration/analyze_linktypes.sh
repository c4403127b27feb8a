#!/usr/bin/env bash
# analyze on every link type and tunnel it decodes (#14): one capture each
# in tests/data/linktypes, written by make.py there (re-run here: the files
# are what it writes). Each holds one PAWS collision that recovers (5
# segments); tshark, decoding the same files, must see the same 5 TCP
# segments. (The pcapng files libpcap refuses: analyze_mixed.sh.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init al
d="$HERE/tests/data/linktypes"

python3 "$d/make.py" "$tmp"
for f in "$d"/*.pcap "$d"/*.pcapng; do
  cmp -s "$f" "$tmp/$(basename "$f")" || fail "$(basename "$f") is not what make.py writes"
done
n=0
for f in "$d"/*.pcap; do
  name=$(basename "$f" .pcap)
  got=$($T analyze "$f" --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["packets"], s["skipped"], s["connections"], s["collisions"], s["collisions_paws"], s["recovered"])')
  [ "$got" = "5 0 1 1 1 1" ] || fail "$name: packets/skipped/connections/collisions/paws/recovered '$got', want '5 0 1 1 1 1'"
  ref=$(tshark -r "$f" -Y tcp -T fields -e tcp.srcport 2>/dev/null | wc -l)
  [ "$ref" = 5 ] || fail "$name: tshark sees $ref TCP segments, not 5 (the capture is wrong)"
  n=$((n + 1))
done
[ $n -ge 18 ] || fail "only $n link-type captures"
# the tunnel is named, with the inner 4-tuple analyzed
$T analyze "$d/vxlan.pcap" | grep "segments inside tunnels (4-tuples are the inner ones): vxlan 5" >/dev/null || fail "vxlan not named"
$T analyze "$d/gtpu.pcap" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["summary"]["tunneled_segments"] == {"gtp-u": 5}, d["summary"]["tunneled_segments"]; assert d["collisions"][0]["tuple"]["client"] == "198.18.1.2"' || fail "gtp-u"

# pcapng files libpcap refuses (mixed-*.pcapng): analyze_mixed.sh
echo "analyze_linktypes: ok"
