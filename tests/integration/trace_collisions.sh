#!/usr/bin/env bash
# twlab trace against the real kernel: make known numbers of TIME_WAIT
# collisions in two namespaces and assert the tracer's exact counts.
#
#   server 198.18.50.1:DPORT (accepts, sends a line, closes first: TIME_WAIT here)
#   client 198.18.50.2 (net.ipv4.tcp_timestamps=2: no per-tuple offset, so
#                       tsval = CLOCK_MONOTONIC ms and PAWS is predictable)
#
#   1. one connection per port 41000-41032, client ISN fixed at 1000000 with
#      TCP_REPAIR: every TIME_WAIT socket has tw_rcv_nxt = 1000002
#   2. NP raw SYNs with a timestamp 200 s old        -> cause paws
#   3. NS raw SYNs, seq 1000000, no timestamp         -> cause seq
#   4. NR real connects (timestamps off), ISN 1000000 -> cause seq, and the
#      client in SYN_SENT resets the bare ACK         -> synsent_reset
#   5. NA raw SYNs with seq after rcv_nxt             -> accepted, no event
#   6. with the lab helper's `twlab craft` against python3 -m http.server on
#      DPORT+1 (own tracer): `craft session` leaves TIME_WAIT with a chosen
#      ISN/tsval, then `craft syn` makes two paws collisions (the second
#      one's ACK rate-limited by the kernel) and one seq collision
# A second tracer filters one port, a third the server namespace.
set -euo pipefail
. "$(dirname "$0")/lib.sh"            # T (the binary), HERE (the repository root)
LAB=$HERE/bench/trace_lab.py
t_init ttr; out=$tmp; fail_dump=$out   # fail() prints $out/*.err
S=${prefix}s; C=${prefix}c
DPORT=$((20000 + $$ % 20000))   # unique per run: the filters are by address and port
summary() { python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1][sys.argv[2]])" "$1" "$2"; }

[ "$(id -u)" = 0 ] || { echo "SKIP: trace_collisions needs root"; exit 0; }
[ -r /sys/kernel/btf/vmlinux ] || { echo "SKIP: no kernel BTF"; exit 0; }

# usage errors and --help
$T trace --help | grep "tw_syn_rejected" >/dev/null || fail "--help"
set +e
$T trace --sport 70000 2>/dev/null; [ $? = 2 ] || fail "--sport 70000 not a usage error"
$T trace --saddr 1.2.3 2>/dev/null; [ $? = 2 ] || fail "--saddr 1.2.3 not a usage error"
$T trace extra 2>/dev/null; [ $? = 2 ] || fail "extra argument not a usage error"
nb=$(mktemp /tmp/twlab-nobody-XXXXXX); cp "$T" "$nb"; chmod 755 "$nb"
setpriv --reuid=65534 --regid=65534 --clear-groups "$nb" trace --duration 1 2>"$out/noroot.err"
rc=$?; rm -f "$nb"
[ $rc = 1 ] || fail "without root: exit $rc, not 1"
set -e
grep -q "needs root" "$out/noroot.err" || fail "without root: no clear error"

# SIGHUP stops the tracer with a summary, like SIGINT; --verbose shows
# libbpf's log; a full stdout is a runtime error, not a silent success
$T trace --json --verbose --duration 30 > "$out/hup.json" 2> "$out/hup.err" & th=$!; t_bg $th
for i in $(seq 300); do grep -q attached "$out/hup.err" && break; sleep 0.1; done
kill -HUP $th; wait $th || fail "SIGHUP: exit $?"
[ "$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])['event'])" "$out/hup.json")" = summary ] || fail "SIGHUP: no summary: $(cat "$out/hup.json")"
grep -q '^libbpf: ' "$out/hup.err" || fail "--verbose: no libbpf log"
$T trace --duration 30 2> "$out/quiet.err" > /dev/null & th=$!; t_bg $th
for i in $(seq 300); do grep -q attached "$out/quiet.err" && break; sleep 0.1; done
kill -TERM $th; wait $th || fail "SIGTERM: exit $?"
grep -q '^libbpf: ' "$out/quiet.err" && fail "libbpf log without --verbose"
set +e
$T trace --duration 0.5 > /dev/full 2> "$out/full.err"; rc=$?
set -e
[ $rc = 1 ] && grep -q "stdout: write error" "$out/full.err" || fail "stdout full: exit $rc: $(cat "$out/full.err")"

veth_pair s 198.18.50.1/24 c 198.18.50.2/24
ip netns exec "$C" sysctl -qw net.ipv4.tcp_timestamps=2
ip netns exec "$S" python3 "$LAB" serve --addr 198.18.50.1 --port "$DPORT" > "$out/serve.out" 2>&1 &
t_bg $!
HPORT=$((DPORT + 1))
ip netns exec "$S" python3 -m http.server --bind 198.18.50.1 "$HPORT" --directory "$out" > "$out/http.out" 2>&1 &
t_bg $!

F="--daddr 198.18.50.1 --dport $DPORT"
$T trace --json $F --prom "$out/trace.prom" > "$out/all.json" 2> "$out/all.err" & TA=$!; t_bg $TA
$T trace --json $F --sport 41001 > "$out/one.json" 2> "$out/one.err" & TO=$!; t_bg $TO
$T trace $F --sport 41001 > "$out/one.txt" 2> "$out/onet.err" & TT=$!; t_bg $TT
$T trace --json --netns "$S" > "$out/srv.json" 2> "$out/srv.err" & TS=$!; t_bg $TS
$T trace --json --daddr 198.18.50.1 --dport "$HPORT" > "$out/craft.json" 2> "$out/craft.err" & TC=$!; t_bg $TC
for i in $(seq 300); do
	grep -q attached "$out/all.err" && grep -q attached "$out/one.err" && grep -q attached "$out/onet.err" && grep -q attached "$out/srv.err" && grep -q attached "$out/craft.err" \
		&& grep -q ready "$out/serve.out" && break
	sleep 0.1
done
grep -q attached "$out/all.err" || fail "tracer did not start"

NP=5 NS=4 NR=3 NA=3
cl() { ip netns exec "$C" python3 "$LAB" "$@" --src 198.18.50.2 --dst 198.18.50.1 --dport "$DPORT"; }
cl old --ports 41000-41032 --isn 1000000 >/dev/null
sleep 0.3
cl syn --ports 41000-41004 --seq 5 --tsval-age-ms 200000 >/dev/null
cl syn --ports 41010-41013 --seq 1000000 >/dev/null
cl syn --ports 41030-41032 --seq 3000000 >/dev/null
ip netns exec "$C" sysctl -qw net.ipv4.tcp_timestamps=0
cl reuse --ports 41020-41022 --isn 1000000 > "$out/reuse.out"
grep -q "reuse ok $NR failed 0" "$out/reuse.out" || fail "reuse: $(cat "$out/reuse.out")"
NC=0
if $T craft session --help >/dev/null 2>&1; then
	jf() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
	for i in $(seq 30); do ip netns exec "$S" ss -Hltn "sport = :$HPORT" | grep -q LISTEN && break; sleep 0.1; done
	CD=198.18.50.1:$HPORT
	$T craft session --netns "$C" --src 198.18.50.2:42000 --dst "$CD" --isn 7000000 --tsval 3000000000 --json > "$out/cs1.json" \
		|| fail "craft session: $(cat "$out/cs1.json")"
	$T craft session --netns "$C" --src 198.18.50.2:42001 --dst "$CD" --isn 7000000 --json > "$out/cs2.json" \
		|| fail "craft session: $(cat "$out/cs2.json")"
	rn1=$(jf 'd["time_wait"]["rcv_nxt"]' < "$out/cs1.json"); tr1=$(jf 'd["time_wait"]["ts_recent"]' < "$out/cs1.json")
	rn2=$(jf 'd["time_wait"]["rcv_nxt"]' < "$out/cs2.json")
	[ "$tr1" = 3000000000 ] || fail "craft session ts_recent $tr1"
	$T craft syn --netns "$C" --src 198.18.50.2:42000 --dst "$CD" --seq $(( (rn1 + 100000) % 4294967296 )) --tsval 2900000000 --wait 300 --json > "$out/cp.json"
	[ "$(jf 'd["reply"]["flags"]' < "$out/cp.json")" = A ] || fail "craft paws: no bare ACK: $(cat "$out/cp.json")"
	# the same SYN again: the kernel's out-of-window ACK rate limit sends
	# nothing; the tracer must say so. The server namespace's
	# tcp_invalid_ratelimit is raised from 500 ms to 10 s so that a slow
	# machine cannot miss it (and the tracer must read that namespace's value)
	ip netns exec "$S" sysctl -qw net.ipv4.tcp_invalid_ratelimit=10000
	$T craft syn --netns "$C" --src 198.18.50.2:42000 --dst "$CD" --seq $(( (rn1 + 100000) % 4294967296 )) --tsval 2900000000 --wait 300 --json > "$out/cp2.json"
	[ "$(jf 'd["reply"]' < "$out/cp2.json")" = None ] || fail "craft paws again: not rate-limited: $(cat "$out/cp2.json")"
	$T craft syn --netns "$C" --src 198.18.50.2:42001 --dst "$CD" --seq $(( (rn2 + 4294967286) % 4294967296 )) --wait 300 --json > "$out/cq.json"
	[ "$(jf 'd["reply"]["flags"]' < "$out/cq.json")" = A ] || fail "craft seq: no bare ACK: $(cat "$out/cq.json")"
	NC=1
fi
sleep 0.5
kill -INT $TA $TO $TT $TS $TC
wait $TA; wait $TO; wait $TT; wait $TS; wait $TC

a=$out/all.json
[ "$(json_count "$a" 'e["event"]=="tw_syn_rejected" and e["cause"]=="paws"')" = $NP ] || fail "paws count: $(cat "$a")"
[ "$(json_count "$a" 'e["event"]=="tw_syn_rejected" and e["cause"]=="seq"')" = $((NS + NR)) ] || fail "seq count: $(cat "$a")"
[ "$(json_count "$a" 'e["event"]=="tw_syn_rejected"')" = $((NP + NS + NR)) ] || fail "rejected total"
[ "$(json_count "$a" 'e["event"]=="synsent_reset"')" = $NR ] || fail "synsent_reset count: $(cat "$a")"
# the right ports, the kernel's drop reason, and the socket's numbers
# the PAWS drop reason this kernel gives (TCP_RFC7323_TW_PAWS from 6.15,
# NOT_SPECIFIED 5.17-6.14): the model's, for the running kernel's version
PR=$($T explain --kernel host --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["values"]["paws_tw_drop_reason"])')
[ "$(json_count "$a" 'e["event"]=="tw_syn_rejected" and e["cause"]=="paws" and 41000<=e["sport"]<=41004 and e["drop_reason"]=="'"$PR"'"')" = $NP ] || fail "paws ports/reason $PR"
[ "$(json_count "$a" 'e["event"]=="tw_syn_rejected" and e["cause"]=="seq" and e["drop_reason"]=="NOT_SPECIFIED" and e["rcv_nxt"]==1000002 and e["seq"]==1000000')" = $((NS + NR)) ] || fail "seq numbers"
[ "$(json_count "$a" 'e["event"]=="tw_syn_rejected" and 41030<=e["sport"]<=41032')" = 0 ] || fail "accepted SYNs reported as rejected"
[ "$(json_count "$a" 'e["event"]=="tw_syn_rejected" and not e["model"]["agrees"]')" = 0 ] || fail "model disagrees with the kernel's drop reason"
# the model's decision is the object `explain` prints, under the same names:
# each SYN here is the first on its TIME_WAIT socket (never stamped), so the
# old connection's ACK went out; the tracer reads tw_last_oow_ack_time at
# fentry, before the kernel stamps it, so a jiffy tick before the BPF read
# cannot make it look rate-limited. With fexit (kernel_status), the model's
# status is the kernel's (model.agrees compares them).
[ "$(json_count "$a" 'e["event"]=="tw_syn_rejected" and e["model"]["cause"]==e["cause"] and e["model"]["agrees"] and e["model"]["verdict"]=="TCP_TW_ACK" and not e["model"]["rate_limited"] and e["model"]["reply"]["flags"]=="A" and e["model"]["reply"]["ack"]==1000002 and e.get("kernel_status") in (None, e["model"]["kernel_status"])')" = $((NP + NS + NR)) ] || fail "model object of tw_syn_rejected: $(cat "$a")"
[ "$(json_count "$a" 'set(e) & {"model_verdict", "model_status", "model_agrees", "reply_ack", "kernel_verdict", "rst_seq"}')" = 0 ] || fail "old field names"
[ "$(json_count "$a" 'e["event"]=="synsent_reset" and 41020<=e["sport"]<=41022 and e["ack"]==1000002 and e["snd_una"]==1000000 and e["model"]["reply"]=={"flags":"R","seq":1000002} and e["model"]["verdict"]=="reset" and e["model"]["agrees"] and e["model"]["fast_retry"] and e["model"]["next_syn_ms"] < 10')" = $NR ] || fail "synsent_reset fields"
[ "$(summary "$a" paws)" = $NP ] || fail "summary paws"
[ "$(summary "$a" seq)" = $((NS + NR)) ] || fail "summary seq"
[ "$(summary "$a" synsent_reset)" = $NR ] || fail "summary synsent_reset"
[ "$(summary "$a" lost_events)" = 0 ] || fail "lost events"
KP=$NP; [ "$PR" = TCP_RFC7323_TW_PAWS ] || KP=0      # no such reason before 6.15
[ "$(summary "$a" kernel_tw_paws_drops)" = $KP ] || fail "kernel PAWS drop counter"
# twlab explain on the numbers of one event agrees with the tracer
read -r rn sq tv tr age <<<"$(python3 -c "
import json,sys
e=[json.loads(l) for l in open(sys.argv[1]) if '\"paws\"' in l][0]
print(e['rcv_nxt'], e['seq'], e['tsval'], e['ts_recent'], e['ts_recent_age_s'])" "$a")"
$T explain tw --kernel 6.18 --rcv-nxt "$rn" --seq "$sq" --tsval "$tv" --ts-recent "$tr" --ts-recent-age "$age" --json \
	| grep '"cause":"paws"' >/dev/null || fail "explain disagrees"
# ... field for field, on every number of the socket (why aside: trace decides without its text)
python3 - "$a" "$T" <<'PY' || fail "explain's decision differs from trace's model object"
import json, subprocess, sys
e = [e for e in map(json.loads, open(sys.argv[1])) if e.get("cause") == "paws"][0]
x = json.loads(subprocess.check_output([sys.argv[2], "explain", "tw", "--kernel", "host", "--json",
    "--rcv-nxt", str(e["rcv_nxt"]), "--snd-nxt", str(e["snd_nxt"]), "--seq", str(e["seq"]),
    "--tsval", str(e["tsval"]), "--ts-recent", str(e["ts_recent"]), "--ts-recent-age", str(e["ts_recent_age_s"])]))
m = dict(e["model"]); m.pop("agrees"); m.pop("why"); x.pop("why"); x.pop("kernel")
if m != x:
    print("trace:  ", m, "\nexplain:", x, file=sys.stderr)
    sys.exit(1)
PY
# --prom
grep -q '^twlab_trace_tw_syn_rejected_total{cause="paws"} '$NP'$' "$out/trace.prom" || fail "prom paws: $(cat "$out/trace.prom")"
grep -q '^twlab_trace_tw_syn_rejected_total{cause="seq"} '$((NS + NR))'$' "$out/trace.prom" || fail "prom seq"
grep -q '^twlab_trace_synsent_reset_total '$NR'$' "$out/trace.prom" || fail "prom synsent_reset"
ls "$out" | grep -q 'trace.prom.tmp' && fail "prom temp file left behind"
# --sport filter: one paws collision on 41001 only
[ "$(json_count "$out/one.json" 'e["event"]=="tw_syn_rejected"')" = 1 ] || fail "--sport filter: $(cat "$out/one.json")"
[ "$(json_count "$out/one.json" 'e["event"]=="tw_syn_rejected" and e["sport"]==41001 and e["cause"]=="paws"')" = 1 ] || fail "--sport filter event"
# text: the same event as one aligned line, from the same emitter
grep -Eq '^[0-9:.]{15}Z tw_syn_rejected +paws +198\.18\.50\.2:41001 +198\.18\.50\.1:'$DPORT' +[0-9]+ +seq 5 rcv_nxt 1000002 tsval [0-9]+ ts_recent [0-9]+ age [0-9]+s$' "$out/one.txt" \
	|| fail "text event: $(cat "$out/one.txt")"
grep -Eq '^paws +1$' "$out/one.txt" || fail "text summary: $(cat "$out/one.txt")"
# --netns server: every rejection, no client-side reset (that is in the client namespace)
[ "$(json_count "$out/srv.json" 'e["event"]=="tw_syn_rejected"')" = $((NP + NS + NR + 3 * NC)) ] || fail "--netns: rejections"
[ "$(json_count "$out/srv.json" 'e["event"]=="synsent_reset"')" = 0 ] || fail "--netns: synsent_reset from another namespace"
grep -q "fexit" "$out/all.err" || fail "no attach line on stderr"
# where fexit attached, fentry (the same BPF trampolines) did too: the
# out-of-window ACK stamp is read before the kernel processes the SYN
if grep -q "exact verdicts" "$out/all.err"; then
	grep -q "fentry and fexit" "$out/all.err" || fail "fexit without fentry: $(cat "$out/all.err")"
fi
k=$out/craft.json
if [ $NC = 1 ]; then
	[ "$(json_count "$k" 'e["event"]=="tw_syn_rejected"')" = 3 ] || fail "craft phase: $(cat "$k")"
	[ "$(json_count "$k" 'e["event"]=="tw_syn_rejected" and e["cause"]=="paws" and e["sport"]==42000 and e["rcv_nxt"]=='"$rn1"' and e["ts_recent"]==3000000000 and e["tsval"]==2900000000')" = 2 ] || fail "craft paws event: $(cat "$k")"
	# the first drew the ACK, the second was rate-limited: as craft saw them
	# (the out-of-window ACK's status is TCP_TW_ACK_OOW from 6.15, per the model)
	OS=$($T explain --kernel host --json | python3 -c 'import json,sys; r={x["id"]: x["applies"] for x in json.load(sys.stdin)["rules"]}; print("TCP_TW_ACK_OOW" if r["tw_ack_oow_status"] else "TCP_TW_ACK")')
	[ "$(json_count "$k" 'e["event"]=="tw_syn_rejected" and e["sport"]==42000 and e["model"]["agrees"] and not e["model"]["rate_limited"] and e["model"]["reply"]["ack"]=='"$rn1"' and e["model"]["kernel_status"]=="'"$OS"'"')" = 1 ] || fail "craft paws: ACK sent ($OS): $(cat "$k")"
	[ "$(json_count "$k" 'e["event"]=="tw_syn_rejected" and e["sport"]==42000 and e["model"]["agrees"] and e["model"]["rate_limited"] and e["model"]["reply"] is None and e["model"]["kernel_status"]=="TCP_TW_SUCCESS"')" = 1 ] || fail "craft paws: rate-limited: $(cat "$k")"
	[ "$(json_count "$k" 'e["event"]=="tw_syn_rejected" and e["cause"]=="seq" and e["sport"]==42001 and e["rcv_nxt"]=='"$rn2"' and e["seq"]=='"$(( (rn2 + 4294967286) % 4294967296 ))"'')" = 1 ] || fail "craft seq event: $(cat "$k")"
	[ "$(summary "$k" lost_events)" = 0 ] || fail "craft phase lost events"
else
	echo "note: twlab craft missing: craft phase skipped" >&2
fi
echo "trace_collisions: ok (paws $NP, seq $((NS + NR)), synsent_reset $NR, accepted $NA ignored; craft paws+seq $NC)"
