#!/usr/bin/env bash
# explain: the CLI contract (exit codes, JSON on stdout only, strict numbers)
# and the report's field cases through the real binary.
tmp_err=$(mktemp); trap 'rm -f "$tmp_err"' EXIT
set -euo pipefail
T=${TWLAB:-build/twlab}
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# the report's case on 3.10: bare ACK with the old ack number
out=$($T explain tw --kernel 3.10 --rcv-nxt 2851797348 --seq 2851797340 --json)
[ "$(json 'd["verdict"]' <<<"$out")" = TCP_TW_ACK ] || fail "field case verdict: $out"
[ "$(json 'd["reply"]["ack"]' <<<"$out")" = 2851797348 ] || fail "field case ack: $out"
[ "$(json 'd["paws_reject"]' <<<"$out")" = False ] || fail "field case paws: $out"

# seq after rcv_nxt, no timestamps: reopened, with an ISN
out=$($T explain tw --kernel 3.10 --rcv-nxt 2851797348 --seq 2851797349 --snd-nxt 10 --json)
[ "$(json 'd["verdict"]' <<<"$out")" = TCP_TW_SYN ] || fail "seq after: $out"
[ "$(json 'd["isn"]' <<<"$out")" = 65547 ] || fail "isn: $out"

# older tsval: PAWS, whatever the seq
for seq in 1 2851797349 4294967295; do
  out=$($T explain tw --kernel 6.18 --rcv-nxt 2851797348 --seq $seq --ts-recent 3000000000 \
        --ts-recent-age 5 --tsval 2159628858 --json)
  [ "$(json 'd["verdict"]' <<<"$out")" = TCP_TW_ACK ] || fail "paws seq=$seq: $out"
  [ "$(json 'd["paws_reject"]' <<<"$out")" = True ] || fail "paws flag seq=$seq: $out"
done
$T explain tw --kernel 6.18 --rcv-nxt 1 --seq 0 --ts-recent 3000000000 --tsval 2159628858 \
  | grep 'PAWS: (s32)(ts_recent 3000000000 - tsval 2159628858) = 840371142 > 0, rejected' >/dev/null \
  || fail "text why line"

# client side
# explain --kernel: the rule set of any version; the TW-ISN bug 4.15 .. 6.9
for v in 6.1.192:true 6.9.12:true 6.10:false 4.14.300:false 3.10.0-1062.el7.x86_64:false; do
  out=$($T explain --kernel "${v%%:*}" --json)
  python3 - "$out" "${v##*:}" <<'PY' || exit 1
import json, sys
d = json.loads(sys.argv[1]); want = sys.argv[2] == "true"
r = {x["id"]: x for x in d["rules"]}
if r["tw_isn_lost"]["applies"] != want or not all(x["source"] and x["since"] for x in d["rules"]):
    sys.exit(f"FAIL: explain --kernel: {d['kernel']}: {r['tw_isn_lost']}")
PY
done
$T explain kernel --kernel rhel7.7 | grep '^\s*\[x\] tw_oow_ratelimit' >/dev/null || { echo "FAIL: rhel7.7 oow rule" >&2; exit 1; }
out=$($T explain synsent --kernel 6.18 --snd-una 1000 --ack 2851797348 --json)
[ "$(json 'd["verdict"]' <<<"$out")" = reset ] || fail "synsent: $out"
[ "$(json 'd["reply"]["seq"]' <<<"$out")" = 2851797348 ] || fail "synsent rst seq: $out"

# usage errors: exit 2, nothing on stdout
for args in "tw --rcv-nxt 1 --seq -1" "tw --rcv-nxt 1 --seq 4294967296" "tw --rcv-nxt 1 --seq 12x" \
            "tw --rcv-nxt 1" "tw --kernel 2.4 --rcv-nxt 1 --seq 1" "tw --rcv-nxt 1 --seq 1 --flags Q" \
            "tw --rcv-nxt 1 --seq 1 --bogus" "synsent --ack 1" "nothing" ""; do
  set +e; out=$($T explain $args 2>/dev/null); rc=$?; set -e
  [ $rc -eq 2 ] || fail "'explain $args' exited $rc, want 2"
  [ -z "$out" ] || fail "'explain $args' printed on stdout: $out"
done
$T explain tw --help | grep 'usage: twlab explain tw' >/dev/null || fail "--help"
$T explain --help >/dev/null || fail "explain --help"
# a result written to a full disk is a failure, said on stderr (every subcommand: main.c)
rc=0; $T explain tw --kernel 6.18 --rcv-nxt 5 --seq 3 > /dev/full 2>"$tmp_err" || rc=$?
[ "$rc" = 1 ] && grep -q 'standard output' "$tmp_err" || fail "> /dev/full: exit $rc, $(cat "$tmp_err")"
rc=0; $T lab status --prefix zz$$- --json > /dev/full 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "lab status > /dev/full: exit $rc"
echo "explain: ok"
