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

  # vantage points: every capture of the incident, roles detected (and, the
  # second time, named): each attempt counted once, and each collision's
  # bare ACK followed to the client the lab says sent the SYN. strict: it
  # left the server, reached the firewall's outside, never the client;
  # linux: it reached the client.
  for form in detected named; do
    if [ $form = detected ]; then
      files=("$out/$fw/client-1.pcap" "$out/$fw/server.pcap" "$out/$fw/client-2.pcap" "$out/$fw/firewall.pcap")
    else
      files=("$out/$fw/client-1.pcap@client" "$out/$fw/server.pcap@server" "$out/$fw/client-2.pcap@client"
             "$out/$fw/firewall.pcap@firewall-outside")
    fi
    $T analyze "${files[@]}" --json > "$out/$fw-vantage.json"
    got=$(summary "${files[@]}")
    [ "$got" = "$want" ] || fail "$fw vantage ($form): analyze '$got', lab '$want'"
    python3 - "$out/$fw-vantage.json" "$out/$fw.json" "$fw" "$form" <<'PY' || fail "$fw vantage ($form): see above"
import json, os, sys
d = json.load(open(sys.argv[1])); lab = json.load(open(sys.argv[2])); fw, form = sys.argv[3], sys.argv[4]
s = d["summary"]
roles = {os.path.basename(v["file"]): v["role"] for v in s["vantage_points"]}
want_roles = {"client-1.pcap": "client", "client-2.pcap": "client", "server.pcap": "server",
              "firewall.pcap": "firewall-outside"}
bad = []
if roles != want_roles: bad.append(f"roles {roles}")
if any(v["named"] != (form == "named") for v in s["vantage_points"]): bad.append("named flags")
if s["counted_at"] != "server": bad.append(f"counted_at {s['counted_at']}")
coll = [a for a in lab["attempts"] if a["collision"]]
lost = len(coll) if fw == "strict" else 0
want = {"bare_acks_lost": lost, "bare_acks_lost_at_firewall": lost,
        "bare_acks_delivered": len(coll) - lost, "bare_acks_untraced": 0}
for k, v in want.items():
    if s[k] != v: bad.append(f"{k} {s[k]} != {v}")
if len(d["collisions"]) != len(coll): bad.append(f"{len(d['collisions'])} collisions listed, lab {len(coll)}")
for c, a in zip(d["collisions"], coll):
    p = c["path"]
    cli = f"client-{a['client']}.pcap"
    if os.path.basename(p["client"] or "") != cli: bad.append(f"client {p['client']} != {cli}")
    if os.path.basename(c["path"]["syn_seen"][0]) and len(p["syn_seen"]) != 3: bad.append(f"syn_seen {p['syn_seen']}")
    seen = sorted(os.path.basename(f) for f in p["ack_seen"])
    if fw == "strict":
        ok = (seen == ["firewall.pcap", "server.pcap"] and p["ack_dropped"] == "firewall"
              and p["ack_last_seen_at"] == "firewall-outside" and os.path.basename(p["ack_lost_before"]) == cli
              and p["text"] == f"left the server, reached the firewall's outside interface, never reached "
                               f"client-{a['client']}: dropped by the firewall")
    else:
        ok = (seen == sorted(["firewall.pcap", "server.pcap", cli]) and p["ack_dropped"] is None
              and p["ack_lost_before"] is None and p["ack_last_seen_at"] == "client")
    if not ok: bad.append(f"path {p}")
if bad:
    print("\n".join(bad), file=sys.stderr); sys.exit(1)
PY
  done
done
# a vantage point that is not one is a usage error
if $T analyze "$out/strict/server.pcap@router" >/dev/null 2>"$out/err"; then fail "@router accepted"; fi
grep -q "unknown vantage point 'router'" "$out/err" || fail "@router: $(cat "$out/err")"

echo "analyze_lab: ok"
