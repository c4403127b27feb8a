#!/usr/bin/env bash
# An interrupted craft leaves nothing: on SIGINT, SIGTERM, SIGHUP (and the
# other signals that would end it and can be caught: QUIT, USR1, PIPE...) it
# removes its nft table and its child in the namespace itself; after
# SIGKILL its child dies with it and `twlab lab down --prefix` removes the
# table from craft's record. Nothing else in the namespace is touched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t_init xs
ns=$(ns_add a 198.18.65.1/24)
# port 9 made silent (a table of this test's own): craft waits its --wait
drop_tcp "$ns" quiet sport 9
crafts() { ip netns exec "$ns" nft list tables | grep -c twlab_craft_ || true; }
start() {
  $T craft syn --netns "$ns" --src 198.18.65.1:4000$1 --dst 198.18.65.1:9 --seq 1 --wait 30000 --json \
    >/dev/null 2>"$tmp/err" & CP=$!
  t_bg $CP
  for _ in $(seq 50); do [ "$(crafts)" = 1 ] && [ -n "$(ip netns pids "$ns")" ] && return; sleep 0.1; done
  fail "craft did not start: $(cat "$tmp/err")"
}

i=0
for sig in INT TERM HUP QUIT USR1 PIPE; do
  i=$((i + 1))
  start $i
  t0=$(date +%s%N)
  kill -$sig $CP
  set +e; wait $CP; rc=$?; set -e
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ $rc -eq 1 ] || fail "SIG$sig: exit $rc, want 1"
  grep -q interrupted "$tmp/err" || fail "SIG$sig: $(cat "$tmp/err")"
  [ $ms -lt 5000 ] || fail "SIG$sig: took $ms ms"
  [ "$(crafts)" = 0 ] || fail "SIG$sig: nft table left"
  [ -z "$(ip netns pids "$ns")" ] || fail "SIG$sig: a process left in the namespace"
done

# SIGKILL: it cannot clean up; its child must not survive it, and lab down
# must remove the table (and only that: the test's own table stays)
start 9
kill -KILL $CP
wait $CP 2>/dev/null || true
sleep 0.3
[ -z "$(ip netns pids "$ns")" ] || fail "SIGKILL: the child survived"
[ "$(crafts)" = 1 ] || fail "SIGKILL: expected the table still there before lab down"
$T lab down --prefix "$prefix" >/dev/null
[ "$(crafts)" = 0 ] || fail "lab down did not remove the killed craft's table"
ip netns exec "$ns" nft list tables | grep -q 'table ip quiet' || fail "lab down removed a table not craft's"
ip netns list | grep -q "^$ns" || fail "lab down removed a namespace twlab did not create"
echo "craft_signal: ok"
