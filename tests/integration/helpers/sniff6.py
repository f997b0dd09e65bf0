#!/usr/bin/python3
"""Records IPv6 packets seen on one interface (integration-test helper for the path-MTU tests).

  sniff6.py --iface IF --out FILE [--min-len N] [--ready-file F] [--timeout S] [--udp] [--hex]

Writes one JSON line per packet that is an ICMPv6 Packet Too Big or at least --min-len bytes
long: {"t": kernel receive time (s), "dir": "in"|"out", "len", "src", "dst", "nh"} plus, for a
Packet Too Big, "ptb_mtu", "inner_dst" and "hex" (the whole packet); for UDP "sport", "dport"
and "head" (the first 24 payload bytes, hex: an IKE header, or on 4500 the non-ESP
marker or an ESP SPI and sequence number); for ESP "spi"; for a fragment "frag_nh",
"frag_offset" and, in a first fragment of UDP, the ports.  With --hex every record has "hex".
--min-len 0 records every IPv6 packet.  An AF_PACKET datagram
socket sees layer-3 packets on any link type (Ethernet, veth, TUN), both directions.
With --udp it reads the IPv6 packets m6t carries in IPv4/UDP datagrams on an uplink instead
(what leaves the host, whichever path, user-space or kernel fast path, encapsulated it).
"""

import argparse
import ipaddress
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-len", type=int, default=1281)
    ap.add_argument("--ready-file")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--udp", action="store_true")
    ap.add_argument("--hex", action="store_true", help="every record with the whole packet")
    a = ap.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.settimeout(0.5)
    if a.ready_file:
        open(a.ready_file, "w").close()
    end = time.monotonic() + a.timeout
    with open(a.out, "a", buffering=1) as out:
        while time.monotonic() < end:
            try:
                data, anc, _flags, addr = s.recvmsg(65536, 64)
            except socket.timeout:
                continue
            if a.udp:
                # IPv4 (no options expected from m6t), UDP, then the IPv6 packet.
                if len(data) < 28 or data[0] != 0x45 or data[9] != 17:
                    continue
                data = data[28:]
            if len(data) < 40 or data[0] >> 4 != 6:
                continue
            t = time.time()
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", val[:16])
                    t = sec + nsec / 1e9
            nh = data[6]
            rec = {"t": t, "dir": "out" if addr[2] == PACKET_OUTGOING else "in", "len": len(data),
                   "src": str(ipaddress.IPv6Address(data[8:24])),
                   "dst": str(ipaddress.IPv6Address(data[24:40])), "nh": nh}
            is_ptb = nh == 58 and len(data) >= 48 and data[40] == 2
            if a.hex:
                rec["hex"] = data.hex()
            if is_ptb:
                rec["ptb_mtu"] = struct.unpack("!I", data[44:48])[0]
                if len(data) >= 88:
                    rec["inner_dst"] = str(ipaddress.IPv6Address(data[72:88]))
                rec["hex"] = data.hex()
            if nh == 17 and len(data) >= 48:
                rec["sport"], rec["dport"] = struct.unpack("!HH", data[40:44])
                rec["head"] = data[48:72].hex()
            elif nh == 50 and len(data) >= 48:
                rec["spi"] = data[40:44].hex()
            elif nh == 44 and len(data) >= 48:
                rec["frag_nh"] = data[40]
                rec["frag_offset"] = struct.unpack("!H", data[42:44])[0] & ~7
                if rec["frag_offset"] == 0 and data[40] == 17 and len(data) >= 52:
                    rec["sport"], rec["dport"] = struct.unpack("!HH", data[48:52])
            if is_ptb or len(data) >= a.min_len:
                out.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
