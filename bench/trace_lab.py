#!/usr/bin/env python3
"""trace_lab.py - make TIME_WAIT collisions on demand for `twlab trace` tests
and bench/trace. Run inside network namespaces (ip netns exec).

  serve  --addr A --port P                 accept, send a line, close first
                                           (the server holds TIME_WAIT)
  old    --src A --dst B --dport P --ports LO-HI --isn S
                                           one connection per local port with
                                           ISN S (TCP_REPAIR), read to EOF, close
  syn    --src A --dst B --dport P --ports LO-HI --seq S [--tsval-age-ms N]
         [--count C] [--rate R] [--duration S]
                                           raw SYNs (IP_HDRINCL); with
                                           --tsval-age-ms a timestamp option
                                           with tsval = CLOCK_MONOTONIC ms - N
                                           (the client namespace must use
                                           net.ipv4.tcp_timestamps=2: no offset)
  reuse  --src A --dst B --dport P --ports LO-HI --isn S
                                           real connects reusing the ports with
                                           ISN S; prints how many succeeded
"""
import argparse, socket, struct, sys, time

TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_SEND_QUEUE = 19, 20, 21, 2


def ports(s):
    lo, _, hi = s.partition('-')
    return range(int(lo), int(hi or lo) + 1)


def serve(a):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(4096)
    print('ready', flush=True)
    while True:
        c, _ = ls.accept()
        try:
            c.sendall(b'twlab\n')
        except OSError:
            pass
        c.close()


def connect_isn(a, port, isn, timeout=5.0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.src, port))
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
    s.setsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, isn)
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
    s.settimeout(timeout)
    s.connect((a.dst, a.dport))
    while s.recv(4096):
        pass
    s.close()


def old(a):
    for p in ports(a.ports):
        connect_isn(a, p, a.isn)
    print('old', len(ports(a.ports)), flush=True)


def reuse(a):
    ok = fail = 0
    for p in ports(a.ports):
        try:
            connect_isn(a, p, a.isn)
            ok += 1
        except OSError as e:
            print('port', p, e, file=sys.stderr)
            fail += 1
    print('reuse ok', ok, 'failed', fail, flush=True)


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def syn_packet(src, dst, sport, dport, seq, tsval):
    opts = b''
    if tsval is not None:
        opts = b'\x01\x01\x08\x0a' + struct.pack('!II', tsval & 0xffffffff, 0)
    doff = (20 + len(opts)) // 4
    th = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, 0, doff << 4, 0x02,
                     64240, 0, 0) + opts
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(th))
    th = th[:16] + struct.pack('!H', csum(ph + th)) + th[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(th), 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + th


def syn(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    ps = list(ports(a.ports))
    sent = 0
    t0 = time.monotonic()
    gap = 1.0 / a.rate if a.rate else 0
    # tsval computed once: "age" ms older than now at the start of the run
    ts = None if a.tsval_age_ms is None else time.monotonic_ns() // 1000000 - a.tsval_age_ms
    pkts = [syn_packet(a.src, a.dst, p, a.dport, a.seq, ts) for p in ps]
    n, dst, send = len(pkts), (a.dst, 0), s.sendto
    total = a.count * n
    if a.duration:
        total = int(a.duration * a.rate) if a.rate else 1 << 62
    i = 0
    while i < total:
        send(pkts[i % n], dst)
        i += 1
        if (gap or a.duration) and i % 32 == 0:
            now = time.monotonic()
            if a.duration and now - t0 >= a.duration:
                break
            due = t0 + i * gap
            if gap and due > now:
                time.sleep(due - now)
    sent = i
    el = time.monotonic() - t0
    print('sent %d in %.3f s' % (sent, el), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest='cmd', required=True)
    p = sp.add_parser('serve'); p.add_argument('--addr'); p.add_argument('--port', type=int)
    for n in ('old', 'reuse', 'syn'):
        p = sp.add_parser(n)
        p.add_argument('--src'); p.add_argument('--dst'); p.add_argument('--dport', type=int)
        p.add_argument('--ports')
        p.add_argument('--isn', type=int, default=1000000)
        p.add_argument('--seq', type=int, default=1000000)
        p.add_argument('--tsval-age-ms', type=int, default=None)
        p.add_argument('--count', type=int, default=1)
        p.add_argument('--rate', type=float, default=0)
        p.add_argument('--duration', type=float, default=0)
    a = ap.parse_args()
    {'serve': serve, 'old': old, 'reuse': reuse, 'syn': syn}[a.cmd](a)


if __name__ == '__main__':
    main()
