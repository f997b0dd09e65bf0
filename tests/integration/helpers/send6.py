#!/usr/bin/python3
"""Sends one IPv6 packet, given whole as hex, exactly as it is (integration-test helper for the
MIPv6 signalling test, whose packets are built with scapy by the test itself).

  send6.py --hex HEX --iface IF   through an AF_PACKET socket on IF (a TUN device: m6t0)
  send6.py --hex HEX --routed     through a raw IPv6 socket (IPPROTO_RAW: the header is ours),
                                  routed by the kernel towards the packet's destination
"""

import argparse
import socket
import sys

ETH_P_IPV6 = 0x86DD


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hex", required=True)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--iface")
    where.add_argument("--routed", action="store_true")
    a = ap.parse_args()
    data = bytes.fromhex(a.hex)
    if len(data) < 40 or data[0] >> 4 != 6:
        print("not an IPv6 packet", file=sys.stderr)
        return 2
    if a.iface:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IPV6))
        s.sendto(data, (a.iface, ETH_P_IPV6))
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        dst = socket.inet_ntop(socket.AF_INET6, data[24:40])
        s.sendto(data, (dst, 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
