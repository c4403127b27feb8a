#!/usr/bin/env bash
# craft stays in the lab's range: --dst or --src outside 198.18.0.0/15 is a
# usage error and nothing is sent or installed, unless --allow-any-address;
# with it, toward loopback inside a namespace of this test's own, the
# kernel's RST comes back. --kernel-rst installs no filter table.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init xr
ns=$(ns_add a 198.18.64.1/24)
outseg() { ip netns exec "$ns" awk '/^Ip:/ { n++; if (n == 2) print $11 }' /proc/net/snmp; }   # Ip OutRequests (raw sends count here)

before=$(outseg)
for dst in 127.0.0.1:9 192.0.2.1:80 10.0.0.1:80 198.20.0.1:80 8.8.8.8:53; do
  set +e
  $T craft syn --netns "$ns" --src 198.18.64.1:40000 --dst "$dst" --seq 1 --wait 100 >/dev/null 2>"$tmp/err"
  rc=$?
  set -e
  [ $rc -eq 2 ] || fail "--dst $dst: exit $rc, want 2 (usage)"
  grep -q "outside the lab's range 198.18.0.0/15" "$tmp/err" || fail "--dst $dst: message: $(cat "$tmp/err")"
done
set +e
$T craft session --netns "$ns" --src 127.0.0.1:40000 --dst 198.18.64.1:80 --isn 1 >/dev/null 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "--src 127.0.0.1: exit $rc, want 2"
[ "$(outseg)" = "$before" ] || fail "a refused craft sent segments ($before -> $(outseg))"
[ -z "$(ip netns exec "$ns" nft list tables)" ] || fail "a refused craft installed a table"

# the opt-in, toward loopback in our own namespace: a closed port answers RST
r=$($T craft syn --netns "$ns" --src 127.0.0.1:40001 --dst 127.0.0.1:9 --seq 100 --allow-any-address --json)
python3 - "$r" <<'PY' || exit 1
import json, sys
d = json.loads(sys.argv[1])
if not d["reply"] or "R" not in d["reply"]["flags"] or d["reply"]["ack"] != 101:
    sys.exit(f"FAIL: --allow-any-address to a closed loopback port: {d}")
PY
[ -z "$(ip netns exec "$ns" nft list tables)" ] || fail "craft left its table"

# --kernel-rst: no filter table while it runs (the default has one). Port 9
# is made silent by a table of this test's own, so craft waits for --wait.
drop_tcp "$ns" quiet sport 9
for mode in default kernel-rst; do
  flag=; [ $mode = kernel-rst ] && flag=--kernel-rst
  $T craft syn --netns "$ns" --src 198.18.64.1:40002 --dst 198.18.64.1:9 --seq 7 $flag --wait 1500 --json >/dev/null & CP=$!
  t_bg $CP
  sleep 0.5
  tables=$(ip netns exec "$ns" nft list tables)
  wait $CP || fail "craft ($mode) failed"
  case $mode in
    default) echo "$tables" | grep -q twlab_craft_ || fail "no RST filter table while craft ran: $tables" ;;
    kernel-rst) echo "$tables" | grep -q twlab_craft_ && fail "--kernel-rst installed a table: $tables" ;;
  esac
done
[ -z "$(ip netns exec "$ns" nft list tables | grep twlab_craft || true)" ] || fail "a table was left behind"
echo "craft_range: ok"
