#!/usr/bin/env bash
# package: the two ways a user installs twlab, each into a clean Debian 12
# root made here (debootstrap --variant=minbase, plus man-db and
# bash-completion, cached in build/pkg/base):
#
#  1. the .deb: `make deb` (dpkg-buildpackage -us -uc -b), lintian without
#     errors, `apt-get install ./twlab_*.deb` pulls exactly the shared
#     libraries it links, then in that root: twlab --version, one explain,
#     man twlab-analyze, tab completion; then, with systemd added, the root
#     booted by systemd-nspawn: twlab-trace.service (not enabled) starts
#     with all its sandboxing and writes the metrics file, and stops
#     cleanly; dpkg --purge removes it all.
#  2. from source: `make install DESTDIR=root PREFIX=/usr/local` into a root
#     holding only the runtime libraries; the same checks, and the unit's
#     ExecStart line run as written (in the unit's capability bounding set,
#     no_new_privs) writes the metrics file.
#
# Needs root and Debian's mirror (TWLAB_DEB_MIRROR, default deb.debian.org).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (chroot, mounts)"
for t in debootstrap dpkg-buildpackage lintian setpriv systemd-nspawn systemd-tmpfiles; do
  command -v $t >/dev/null || fail "$t missing (scripts/deps installs it)"
done
MIRROR=${TWLAB_DEB_MIRROR:-http://deb.debian.org/debian}
B=$PWD/build/pkg
ROOTS=()
NSPAWN_PID=
mkdir -p "$B/apt-archives/partial"
t0=$(date +%s)

# Unmount everything under a root (deepest first), lazily.
unmount_under() {
  local m
  for m in $(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m"
  done
}
cleanup() {
  local r i
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    kill -TERM "$NSPAWN_PID"          # nspawn --boot: an orderly poweroff
    for i in $(seq 1 50); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  fi
  for r in "${ROOTS[@]}"; do
    unmount_under "$r"
    # never cross into a mount that is still there
    rm -rf --one-file-system "$r"
  done
}
trap cleanup EXIT

# ---- the clean base root, made once (build/pkg/base/.twlab-base is the stamp)
if [ ! -f "$B/base/.twlab-base" ]; then
  ROOTS+=("$B/base.tmp")
  unmount_under "$B/base.tmp"
  rm -rf --one-file-system "$B/base" "$B/base.tmp"
  debootstrap --variant=minbase --include=man-db,bash-completion \
    --cache-dir="$B/apt-archives" bookworm "$B/base.tmp" "$MIRROR" > "$B/debootstrap.log" 2>&1 \
    || { tail -20 "$B/debootstrap.log"; fail "debootstrap"; }
  unmount_under "$B/base.tmp"      # debootstrap may leave /proc mounted
  touch "$B/base.tmp/.twlab-base"
  mv "$B/base.tmp" "$B/base"
fi
echo "base root ready ($(( $(date +%s) - t0 )) s)"

# A fresh copy of the base with /dev, /proc, /sys (kernel BTF for trace) and
# the apt cache mounted, at $r.
new_root() {
  r=$B/root-$1-$$
  ROOTS+=("$r")
  rm -rf --one-file-system "$r"
  cp -a "$B/base" "$r"
  mount --bind /dev "$r/dev"
  mount -t proc proc "$r/proc"
  mount --bind /sys "$r/sys"
  mount --bind "$B/apt-archives" "$r/var/cache/apt/archives"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  echo "deb $MIRROR bookworm main" > "$r/etc/apt/sources.list"
}
in_root() {
  local root=$1; shift
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LC_ALL=C.UTF-8 "$@"
}
apt_in() {
  local root=$1; shift
  in_root "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o=Dpkg::Use-Pty=0 "$@" \
    > "$B/apt.log" 2>&1 || { tail -20 "$B/apt.log"; fail "apt-get $*"; }
}

# The checks both installs must pass. $1 root, $2 prefix (/usr or /usr/local),
# $3 the version --version must print.
check_installed() {
  local r=$1 prefix=$2 version=$3 out
  out=$(in_root "$r" twlab --version) || fail "twlab --version in the clean root"
  [ "$(head -1 <<<"$out")" = "twlab $version" ] || fail "--version: $(head -1 <<<"$out"), want twlab $version"
  grep -q "^scenario dir: $prefix/share/twlab/scenarios$" <<<"$out" || fail "--version scenario dir"
  grep -Eq '^scenarios: .*\breport\b' <<<"$out" || fail "--version: installed scenario 'report' not found"
  # the profiles it lists (the set grows; host last): what completion offers
  kernels=$(awk '/^kernel rules/ { f = 1; next } f && /^  / { printf "%s%s", s, $1; s = " "; next } f { exit }' <<<"$out")
  [[ $kernels == *"3.10 "*"6.18 "*"host" ]] || fail "--version: kernel profiles: '$kernels'"
  echo "  $(head -1 <<<"$out"); $(wc -w <<<"$kernels") kernel rules"

  out=$(in_root "$r" twlab explain tw --kernel 3.10 --rcv-nxt 2851797348 --seq 2851797340 --json) \
    || fail "twlab explain in the clean root"
  grep -q '"verdict":"TCP_TW_ACK"' <<<"$out" || fail "explain: $out"
  grep -q '"ack":2851797348' <<<"$out" || fail "explain reply: $out"
  echo "  explain: TCP_TW_ACK ack 2851797348"

  out=$(in_root "$r" twlab lab up --scenario report --dry-run --out /tmp/out 2>&1) \
    || fail "lab up --scenario report --dry-run: $out"
  grep -q 'ip netns add twl-fw' <<<"$out" || fail "lab up --scenario report (installed file)"

  out=$(in_root "$r" man -w twlab-analyze) || fail "man -w twlab-analyze"
  # (Debian's /usr/local/man is a link to share/man)
  out=$(in_root "$r" realpath "$out")
  [[ $out == "$prefix/share/man/man1/twlab-analyze.1"* ]] || fail "man -w: $out"
  out=$(in_root "$r" env MANWIDTH=80 man twlab-analyze 2>&1) || fail "man twlab-analyze"
  grep -q '^EXIT STATUS' <<<"$out" || fail "man twlab-analyze: no EXIT STATUS"
  echo "  man twlab-analyze: $(wc -l <<<"$out") lines"

  # completion as bash-completion loads it on the first <TAB>
  out=$(in_root "$r" bash -c '
    source /usr/share/bash-completion/bash_completion
    __load_completion twlab || exit 3
    complete -p twlab >/dev/null || exit 4
    COMP_WORDS=(twlab explain tw --kernel ""); COMP_CWORD=4
    COMP_LINE="twlab explain tw --kernel "; COMP_POINT=${#COMP_LINE}
    _twlab; echo "${COMPREPLY[*]}"') || fail "completion did not load (rc $?)"
  [ "$out" = "$kernels" ] || fail "completion --kernel: '$out', --version lists '$kernels'"
  echo "  completion: --kernel offers $out"

}

# The unit's ExecStart line run as written (no systemd in this root), in the
# unit's capability bounding set with no_new_privs, after systemd-tmpfiles
# made what the package's tmpfiles.d asks for. $1 root, $2 unit, $3 tmpfiles.
unit_as_written() {
  local r=$1 unit=$2 tmpf=$3 start caps setcaps pid i f rc
  start=$(sed -n 's/^ExecStart=//p' "$r$unit")
  caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$r$unit")
  [ -n "$start" ] && [ -n "$caps" ] || fail "unit: no ExecStart or CapabilityBoundingSet"
  [[ $start != *[\"\'\$\;\&\|]* ]] || fail "unit ExecStart needs a shell to run as written: $start"
  f=$(grep -oE -- '--prom [^ ]+' <<<"$start" | cut -d' ' -f2)
  [ -n "$f" ] || fail "unit ExecStart has no --prom FILE"
  setcaps=-all$(for c in $caps; do c=${c#CAP_}; printf ',+%s' "${c,,}"; done)
  systemd-tmpfiles --root="$r" --create "$(basename "$tmpf")" || fail "systemd-tmpfiles $tmpf"
  [ -d "$r$(dirname "$f")" ] || fail "tmpfiles.d did not make $(dirname "$f")"
  rm -f "$r$f"
  chroot "$r" setpriv --bounding-set="$setcaps" --inh-caps=-all --no-new-privs $start \
    >"$B/unit.out" 2>"$B/unit.err" &
  pid=$!
  for i in $(seq 1 50); do [ -s "$r$f" ] && break; sleep 0.2; done
  kill -TERM $pid 2>/dev/null || true
  set +e; wait $pid; rc=$?; set -e
  [ -s "$r$f" ] || { cat "$B/unit.err"; fail "unit ExecStart wrote no $f"; }
  [ $rc -eq 0 ] || { cat "$B/unit.err"; fail "unit ExecStart exited $rc on SIGTERM"; }
  grep -q '^twlab_trace_tw_syn_rejected_total{cause="paws"} [0-9]' "$r$f" || fail "metrics file: $(head -3 "$r$f")"
  echo "  unit: '$start' as written, bounding set $caps: wrote $f ($(grep -c '^twlab_' "$r$f") samples)"
}

# The unit under a real systemd: boot the root with systemd-nspawn (giving
# the container CAP_BPF, CAP_PERFMON and the bpf syscalls), start the unit
# with every sandboxing option it has, and wait for its metrics file.
NSPAWN_PID=
unit_under_systemd() {
  local r=$1 unit=$2 leader= i f st
  f=$(sed -n 's/^ExecStart=.*--prom \([^ ]*\).*/\1/p' "$r$unit")
  unmount_under "$r"                  # nspawn mounts /dev, /proc, /sys itself
  systemd-nspawn -D "$r" --boot --register=no --keep-unit -q --console=pipe \
    --capability=CAP_BPF,CAP_PERFMON --system-call-filter='bpf perf_event_open' \
    --bind-ro=/sys/kernel/btf > "$B/nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  for i in $(seq 1 100); do
    leader=$(ps -o pid= --ppid $NSPAWN_PID | tr -d ' ' | head -1 || true)
    [ -n "$leader" ] && st=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null) \
      && [[ $st == running || $st == degraded ]] && break
    sleep 0.2
  done
  [[ ${st:-} == running || ${st:-} == degraded ]] || { tail "$B/nspawn.log"; fail "container did not boot (${st:-no state})"; }
  ns() { nsenter -t "$leader" -a "$@"; }
  [ "$(ns systemctl is-enabled twlab-trace.service)" = disabled ] || fail "unit is enabled by the package"
  ns systemctl start twlab-trace.service || { ns journalctl -u twlab-trace --no-pager | tail; fail "systemctl start twlab-trace"; }
  for i in $(seq 1 50); do ns test -s "$f" && break; sleep 0.2; done
  ns test -s "$f" || { ns journalctl -u twlab-trace --no-pager | tail; fail "the service wrote no $f"; }
  [ "$(ns systemctl show -P ActiveState twlab-trace.service)" = active ] || fail "service not active"
  ns grep -q '^twlab_trace_tw_syn_rejected_total{cause="paws"} [0-9]' "$f" || fail "metrics from the service"
  local exp
  exp=$(ns systemd-analyze security twlab-trace.service 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  ns systemctl stop twlab-trace.service
  [ "$(ns systemctl show -P Result twlab-trace.service)" = success ] || fail "service did not stop cleanly"
  echo "  unit under systemd (nspawn): started, wrote $f, stopped cleanly; exposure ${exp:-?}"
  kill -TERM $NSPAWN_PID              # nspawn --boot: an orderly poweroff
  for i in $(seq 1 100); do kill -0 $NSPAWN_PID 2>/dev/null || break; sleep 0.2; done
  kill -0 $NSPAWN_PID 2>/dev/null && fail "the container did not power off"
  wait $NSPAWN_PID 2>/dev/null || true
  NSPAWN_PID=
}

# ---- 1. the .deb
t=$(date +%s)
make -s deb > "$B/deb-build.log" 2>&1 || { tail -30 "$B/deb-build.log"; fail "make deb"; }
deb=$(ls build/deb/twlab_*_*.deb)
dver=$(dpkg-deb -f "$deb" Version)
echo "built $(basename "$deb") ($(( $(date +%s) - t )) s): Depends: $(dpkg-deb -f "$deb" Depends)"
lintian --fail-on error build/deb/twlab_*.changes \
  > "$B/lintian.log" 2>&1 || { cat "$B/lintian.log"; fail "lintian reports errors"; }
echo "lintian: $(grep -c '^E:' "$B/lintian.log" || true) errors, $(grep -c '^W:' "$B/lintian.log" || true) warnings"

new_root deb
for lib in libpcap0.8 libbpf1 libjansson4 libinih1 libnetfilter-queue1; do
  ! in_root "$r" dpkg -s $lib >/dev/null 2>&1 || fail "base root is not clean: $lib installed"
done
cp "$deb" "$r/tmp/"
apt_in "$r" update
apt_in "$r" install --no-install-recommends "/tmp/$(basename "$deb")"
echo "deb installed in a clean root, pulling: $(in_root "$r" dpkg-query -W -f='${binary:Package} ' libpcap0.8 libbpf1 libjansson4 libinih1 libnetfilter-queue1)"
check_installed "$r" /usr "$dver"
# now systemd (its packages would have pulled libraries of their own above)
apt_in "$r" install --no-install-recommends systemd systemd-sysv
unit_under_systemd "$r" /lib/systemd/system/twlab-trace.service
in_root "$r" dpkg --purge twlab > "$B/purge.log" 2>&1 || { cat "$B/purge.log"; fail "dpkg --purge"; }
[ ! -e "$r/usr/bin/twlab" ] && [ ! -e "$r/usr/share/twlab" ] && [ ! -e "$r/lib/systemd/system/twlab-trace.service" ] && [ ! -e "$r/usr/lib/tmpfiles.d/twlab.conf" ] \
  || fail "dpkg --purge left files"
echo "deb: ok"

# ---- 2. from source, PREFIX=/usr/local
new_root src
apt_in "$r" update
apt_in "$r" install --no-install-recommends libpcap0.8 libbpf1 libjansson4 libinih1 libnetfilter-queue1
make -s install DESTDIR="$r" PREFIX=/usr/local > /dev/null
check_installed "$r" /usr/local "$(build/twlab --version | sed -n '1s/^twlab //p')"
unit_as_written "$r" /usr/local/lib/systemd/system/twlab-trace.service /usr/local/lib/tmpfiles.d/twlab.conf
echo "make install: ok"
echo "package: ok ($(( $(date +%s) - t0 )) s)"
