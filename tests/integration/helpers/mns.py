#!/usr/bin/python3
"""Many MNs behind one NAT, at the protocol level (integration-test helper for the failover test):
each MN is one UDP socket (so one NAT mapping) and one tunnel address, and sends ICMPv6 echo
requests to the HA through the gateway, as m6t's client would carry them (draft section 2: plain
IPv6 packets in UDP datagrams). The HA's answers come back through the same socket.

  mns.py --gateway ADDR:PORT --ha ADDR --base ADDR --count N --pps R --seconds S --out FILE
         [--ready-file F]

The MN addresses are --base + 1 .. --base + N. Writes to FILE, at the end, one JSON object:
{"sent": [per MN], "replies": [per MN: the wall-clock times of its answers]}.
"""

import argparse
import ipaddress
import json
import selectors
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(src: bytes, dst: bytes, ident: int, seq: int) -> bytes:
    payload = struct.pack("!d", time.time())
    icmp = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload
    pseudo = src + dst + struct.pack("!I", len(icmp)) + b"\0\0\0\x3a"
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    return struct.pack("!IHBB", 6 << 28, len(icmp), 58, 64) + src + dst + icmp


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--ha", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--pps", type=float, default=10)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    host, port = a.gateway.rsplit(":", 1)
    ha = ipaddress.IPv6Address(a.ha).packed
    base = int(ipaddress.IPv6Address(a.base))
    sel = selectors.DefaultSelector()
    socks, addrs = [], []
    for i in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((host, int(port)))
        sel.register(s, selectors.EVENT_READ, i)
        socks.append(s)
        addrs.append(ipaddress.IPv6Address(base + i + 1).packed)
    sent = [0] * a.count
    replies: list[list[float]] = [[] for _ in range(a.count)]
    if a.ready_file:
        open(a.ready_file, "w").close()
    start = time.monotonic()
    period = 1.0 / a.pps
    next_round = start
    while time.monotonic() - start < a.seconds:
        now = time.monotonic()
        if now >= next_round:
            # One round: every MN sends one request, spread over the period.
            for i, s in enumerate(socks):
                try:
                    s.send(echo_request(addrs[i], ha, i + 1, sent[i] & 0xFFFF))
                    sent[i] += 1
                except OSError:
                    pass  # no route for a moment (failover): counted as lost
            next_round += period
        for key, _ in sel.select(max(0.0, min(next_round - time.monotonic(), 0.01))):
            i = key.data
            try:
                while True:
                    data = key.fileobj.recv(2048)
                    # An echo reply (ICMPv6 129) to this MN's address.
                    if len(data) >= 48 and data[6] == 58 and data[40] == 129 and \
                            data[24:40] == addrs[i]:
                        replies[i].append(time.time())
            except (BlockingIOError, ConnectionRefusedError):
                pass
    with open(a.out, "w") as f:
        json.dump({"sent": sent, "replies": replies}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
