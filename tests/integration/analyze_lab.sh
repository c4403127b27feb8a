#!/usr/bin/env bash
# analyze against ground truth: the lab's own measurements (strict and linux
# firewalls, 2 colliding reuses each). Needs root (namespaces).
set -euo pipefail
T=${TWLAB:-build/twlab}
here=$(cd "$(dirname "$0")/../.." && pwd)
prefix="ta$$-"
out=$(mktemp -d /tmp/twlab-it-XXXXXX)
cleanup() { $T lab down --prefix "$prefix" >/dev/null 2>&1 || true; rm -rf "$out"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
summary() { $T analyze "$@" --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(" ".join(f"{k}={s[k]}" for k in ["collisions","collisions_paws","collisions_seq","recovered","timed_out"]))'; }

# --- lab captures: analyze must find what the lab measured
for fw in strict linux; do
  $T lab repro --firewall $fw --reuses 2 --prefix "$prefix" --out "$out/$fw" --json > "$out/$fw.json"
  want=$(python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
rec=sum(1 for a in d["attempts"] if a["collision"] and a["outcome"]=="delayed")
to=sum(1 for a in d["attempts"] if a["collision"] and a["outcome"]=="timed_out")
c, p, q = d["collisions"], d["collisions_paws"], d["collisions_seq"]
print(f"collisions={c} collisions_paws={p} collisions_seq={q} recovered={rec} timed_out={to}")' "$out/$fw.json")
  [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collisions"])' "$out/$fw.json")" = 2 ] \
    || fail "$fw: the lab made no 2 collisions"
  for v in server firewall; do
    got=$(summary "$out/$fw/$v.pcap")
    [ "$got" = "$want" ] || fail "$fw $v.pcap: analyze '$got', lab '$want'"
  done
  # the clients' own captures (merged: the previous incarnation of a post-NAT
  # tuple may be the other client's). The firewall rewrites the source, so a
  # client sees a collision only if the bare ACK reaches it (linux firewall:
  # bare ACK, RST, SYN-ACK = recovered); behind the strict firewall it sees
  # only SYNs retransmitted into silence, reported as unanswered_syns.
  got=$($T analyze "$out/$fw/client-1.pcap" "$out/$fw/client-2.pcap" --json | python3 -c '
import json,sys; s=json.load(sys.stdin)["summary"]
print(s["collisions"] + s["unanswered_syns"], s["recovered"], s["unanswered_syns"])')
  want_cli=$(python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
rec=sum(1 for a in d["attempts"] if a["collision"] and a["outcome"]=="delayed")
to=sum(1 for a in d["attempts"] if a["collision"] and a["outcome"]=="timed_out")
print(d["collisions"], rec, to)' "$out/$fw.json")
  [ "$got" = "$want_cli" ] || fail "$fw clients: analyze (collisions+unanswered recovered unanswered) '$got', lab '$want_cli'"
  # all captures at once, merged by time: the server's view counts once per tuple
  got=$(summary "$out/$fw/server.pcap" "$out/$fw/client-1.pcap" "$out/$fw/client-2.pcap" --server 198.19.0.2:80)
  [ "$got" = "$want" ] || fail "$fw merged: analyze '$got', lab '$want'"
done

echo "analyze_lab: ok"
