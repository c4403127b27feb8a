#!/usr/bin/env python3
"""Write one small capture per link type and tunnel that twlab analyze
decodes (our own writer: the pcap/pcapng formats and the headers by their
specifications). Each holds the same five segments: a SYN with timestamps,
answered by a bare ACK whose tsecr is newer (a PAWS collision), the client's
RST, the SYN again 1 s later, a SYN-ACK (recovered). tcpdump decodes the
inner TCP of every one; tests/integration/analyze_linktypes.sh checks both.
The mixed-*.pcapng files are pcapng libpcap refuses (interfaces of several
link types or snaplens), for tests/integration/analyze_mixed.sh.

    python3 tests/data/linktypes/make.py DIR
"""
import os
import struct
import sys

CLI, SRV = bytes([198, 18, 1, 2]), bytes([198, 18, 0, 10])
OUT_A, OUT_B = bytes([198, 19, 9, 1]), bytes([198, 19, 9, 2])
OUT6_A = bytes.fromhex("20010db8000000000000000000000001")
OUT6_B = bytes.fromhex("20010db8000000000000000000000002")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(src, dst, proto, payload, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ip6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, src, dst) + payload


def tcp(src, dst, sport, dport, seq, ack, flags, tsval=None, tsecr=0):
    opts = b"" if tsval is None else b"\x01\x01\x08\x0a" + struct.pack("!II", tsval, tsecr)
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(h))
    return h[:16] + struct.pack("!H", csum(pseudo + h)) + h[18:]


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


S, A, R, SA = 0x02, 0x10, 0x04, 0x12
# (time, from_client, flags, seq, ack, tsval, tsecr)
SEGS = [(0.0, True, S, 1000, 0, 500, 0), (0.0001, False, A, 7777, 5555, 9, 900),
        (0.0002, True, R, 5555, 0, None, 0), (1.0, True, S, 1000, 0, 1500, 0),
        (1.0001, False, SA, 123456, 1001, 10, 1500)]


def inner_packets():
    for t, fc, fl, seq, ack, tv, te in SEGS:
        src, dst = (CLI, SRV) if fc else (SRV, CLI)
        sp, dp = (40000, 80) if fc else (80, 40000)
        yield t, ip4(src, dst, 6, tcp(src, dst, sp, dp, seq, ack, fl, tv, te))


MAC_C, MAC_S = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def eth(payload, etype=0x0800):
    return MAC_S + MAC_C + struct.pack("!H", etype) + payload


def write_pcap(path, linktype, frames, byteorder="<"):
    with open(path, "wb") as f:
        f.write(struct.pack(byteorder + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for t, fr in frames:
            sec = 1700000000 + int(t)
            usec = int(round((t - int(t)) * 1e6))
            f.write(struct.pack(byteorder + "IIII", sec, usec, len(fr), len(fr)) + fr)


def frames(wrap):
    return [(t, wrap(p)) for t, p in inner_packets()]


def nflog(p):
    # header: AF_INET, version 0, resource id 5 (big-endian); TLVs in the
    # capturing host's order (little-endian here): a prefix, then the payload
    pre = b"twlab\0\0\0"
    tlvs = struct.pack("<HH", 4 + len(pre), 10) + pre
    pay = struct.pack("<HH", 4 + len(p), 9) + p
    pay += b"\0" * ((-len(pay)) % 4)
    return struct.pack("!BBH", 2, 0, 5) + tlvs + pay


def wifi(p, radiotap):
    # data frame, QoS data (subtype 8), FromDS: addr1 = dst, addr2 = BSSID, addr3 = src
    fc = struct.pack("<BB", 0x88, 0x02)
    hdr = fc + b"\0\0" + MAC_S + MAC_C + MAC_C + b"\0\0" + b"\0\0"      # + QoS control
    llc = b"\xaa\xaa\x03\0\0\0" + struct.pack("!H", 0x0800)
    fr = hdr + llc + p
    if radiotap:
        # version 0, pad, length 12, present: flags + rate + channel? keep: flags (bit 1)
        rt = struct.pack("<BBHI", 0, 0, 12, 0x00000006) + bytes([0x00, 0x02]) + b"\0\0"   # flags, rate
        fr = rt + fr
    return fr


def juniper(p):
    # "MGC", flags: extensions present (0x80) | incoming (0x01); 4 bytes of TLV
    ext = struct.pack("!BB", 1, 2) + b"ge"
    return b"MGC" + bytes([0x81]) + struct.pack("!H", len(ext)) + ext + eth(p)


def gre_erspan2(p):
    gre = struct.pack("!HHI", 0x1000, 0x88BE, 7)                 # S bit, sequence 7
    ers = struct.pack("!II", (1 << 28) | 100, 0)                  # version 1 (type II), VLAN/session
    return eth(ip4(OUT_A, OUT_B, 47, gre + ers + eth(p)))


def gre_erspan3(p):
    gre = struct.pack("!HHI", 0x1000, 0x22EB, 7)
    ers = struct.pack("!IIHH", (2 << 28) | 100, 12345, 0, 0)      # version 2 (type III), no O flag
    return eth(ip4(OUT_A, OUT_B, 47, gre + ers + eth(p)))


def gtpu(p):
    # version 1, PT, E|S: sequence + an extension header (PDU session container)
    ext = bytes([1, 0x00, 0x09, 0x00])                           # length 1 (4 bytes), next type 0
    body = struct.pack("!HBB", 42, 0, 0x85) + ext + p
    return eth(ip4(OUT_A, OUT_B, 17, udp(2152, 2152, struct.pack("!BBHI", 0x36, 0xFF, len(body), 99) + body)))


TYPES = {
    # name: (linktype, wrap)
    "nflog": (239, nflog),
    "ppp": (9, lambda p: b"\xff\x03\x00\x21" + p),
    "ppp-serial": (50, lambda p: b"\xff\x03\x00\x21" + p),
    "ppp-serial-chdlc": (50, lambda p: b"\x0f\x00\x08\x00" + p),
    "chdlc": (104, lambda p: b"\x0f\x00\x08\x00" + p),
    "frelay": (107, lambda p: b"\x04\x01\x03\xcc" + p),
    "juniper-ether": (178, juniper),
    "ieee802_11": (105, lambda p: wifi(p, False)),
    "radiotap": (127, lambda p: wifi(p, True)),
    "vlan-pppoe": (1, lambda p: MAC_S + MAC_C + b"\x81\x00\x00\x64\x88\x64" +
                   struct.pack("!BBHH", 0x11, 0, 0x1234, len(p) + 2) + b"\x00\x21" + p),
    "gre": (1, lambda p: eth(ip4(OUT_A, OUT_B, 47, struct.pack("!HH", 0, 0x0800) + p))),
    "gre-key-eth": (1, lambda p: eth(ip4(OUT_A, OUT_B, 47, struct.pack("!HHI", 0x2000, 0x6558, 42) + eth(p)))),
    "erspan2": (1, gre_erspan2),
    "erspan3": (1, gre_erspan3),
    "vxlan": (1, lambda p: eth(ip4(OUT_A, OUT_B, 17, udp(51000, 4789, struct.pack("!II", 0x08000000, 42 << 8) + eth(p))))),
    "geneve6": (1, lambda p: eth(ip6(OUT6_A, OUT6_B, 17, udp(51000, 6081,
                struct.pack("!BBHI", 0, 0, 0x6558, 42 << 8) + eth(p))), 0x86DD)),
    "gtpu": (1, gtpu),
    "ipip": (12, lambda p: ip4(OUT_A, OUT_B, 4, p)),
}


def pcapng_block(btype, body):
    body += b"\0" * ((-len(body)) % 4)
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def write_pcapng(path, ifaces, frame_of):
    """ifaces: [(linktype, snaplen)]; packet i goes to interface i % len."""
    out = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    for lt, snap in ifaces:
        out += pcapng_block(1, struct.pack("<HHI", lt, 0, snap))
    for i, (t, p) in enumerate(inner_packets()):
        ifc = i % len(ifaces)
        fr = frame_of(ifaces[ifc][0], p)
        ts = 1700000000000000 + int(round(t * 1e6))
        out += pcapng_block(6, struct.pack("<IIIII", ifc, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + fr)
    with open(path, "wb") as f:
        f.write(out)


def write_mixed_many(path):
    """Ten interfaces, for the split commands analyze prints for more than
    eight (#14): 0 Ethernet, 1 raw IP with nanosecond timestamps
    (if_tsresol 9), 2 USB (a link type analyze does not decode), 3-9
    Ethernet and raw IP in turn. Interface 1 carries the PAWS collision of
    SEGS, then data in two segments that tshark reassembles into one HTTP
    request (its hex dump would add a block); every other interface but 2
    one SYN and its SYN-ACK of a connection of its own, interface 0's SYN-ACK
    captured cut to 60 of its 66 bytes."""
    kinds = [(1, False), (101, True), (189, False)] + [((1, 101)[i % 2], False) for i in range(7)]
    out = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    for lt, ns in kinds:
        opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0) if ns else b""
        out += pcapng_block(1, struct.pack("<HHI", lt, 0, 0) + opts)
    pkts = []                                    # (time ns, interface, ip packet or raw bytes, cut to)
    base = 1700000000 * 10**9 + 123456789
    for t, p in inner_packets():
        pkts.append((base + int(round(t * 1e9)), 1, p, None))
    req = [b"GET / HTTP/1.1\r\nHo", b"st: twlab\r\n\r\n"]
    seq = 1001
    for k, data in enumerate(req):
        tc = tcp(CLI, SRV, 40000, 80, seq, 123457, 0x18, 1600 + k, 10)
        pkts.append((base + 1100000000 + k * 1000001, 1, ip4(CLI, SRV, 6, tc + data, 2 + k), None))
        seq += len(data)
    pkts.append((base + 1100000000 + 5000003, 1,
                 ip4(SRV, CLI, 6, tcp(SRV, CLI, 80, 40000, 123457, seq, A, 12, 1601)), None))
    pkts.append((base + 2 * 10**9, 2, b"\x55" * 40, None))
    for ifc in [0] + list(range(3, 10)):
        sp = 41000 + ifc
        t0 = base + 3 * 10**9 + ifc * 10**8
        syn = ip4(CLI, SRV, 6, tcp(CLI, SRV, sp, 80, 5000, 0, S, 2000 + ifc, 0))
        sa = ip4(SRV, CLI, 6, tcp(SRV, CLI, 80, sp, 9000, 5001, SA, 20, 2000 + ifc))
        pkts.append((t0, ifc, syn, None))
        pkts.append((t0 + 250000, ifc, sa, 60 if ifc == 0 else None))
    pkts.sort(key=lambda x: x[0])
    for tns, ifc, p, cut in pkts:
        lt, ns = kinds[ifc]
        fr = eth(p) if lt == 1 else p
        ts = tns if ns else tns // 1000
        cap = fr[:cut] if cut else fr
        out += pcapng_block(6, struct.pack("<IIIII", ifc, ts >> 32, ts & 0xFFFFFFFF, len(cap), len(fr)) + cap)
    with open(path, "wb") as f:
        f.write(out)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, (lt, wrap) in TYPES.items():
        write_pcap(os.path.join(out, name + ".pcap"), lt, frames(wrap))
    # pcapng files libpcap refuses: interfaces of two link types, of two snaplens
    write_pcapng(os.path.join(out, "mixed-link.pcapng"), [(1, 65535), (101, 65535)],
                 lambda lt, p: eth(p) if lt == 1 else p)
    write_pcapng(os.path.join(out, "mixed-snaplen.pcapng"), [(1, 65535), (1, 96)], lambda lt, p: eth(p))
    write_mixed_many(os.path.join(out, "mixed-many.pcapng"))


if __name__ == "__main__":
    main()
