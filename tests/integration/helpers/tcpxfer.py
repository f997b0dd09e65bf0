#!/usr/bin/python3
"""TCP transfer with sha256 on both ends (integration-test helper).

  tcpxfer.py recv --listen ADDR --port P [--ready-file F] [--result-file F] [--timeout S]
      accepts one connection, reads to EOF, prints (and writes to --result-file)
      {"bytes": N, "sha256": HEX, "peer": ADDR, "seconds": S}
  tcpxfer.py send --to ADDR --port P --bytes N [--bind ADDR] [--timeout S]
      sends N random bytes, half-closes, waits for the receiver to close, prints
      {"bytes": N, "sha256": HEX, "seconds": S}
"""

import argparse
import hashlib
import json
import os
import socket
import sys
import time

CHUNK = 1 << 16


def family(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv(args) -> int:
    s = socket.socket(family(args.listen), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.listen, args.port))
    s.listen(1)
    s.settimeout(args.timeout)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    print(f"listening on [{args.listen}]:{args.port}", file=sys.stderr, flush=True)
    conn, peer = s.accept()
    conn.settimeout(args.timeout)
    h = hashlib.sha256()
    n = 0
    t0 = time.monotonic()
    while True:
        data = conn.recv(CHUNK)
        if not data:
            break
        h.update(data)
        n += len(data)
    secs = time.monotonic() - t0
    conn.close()
    result = {"bytes": n, "sha256": h.hexdigest(), "peer": peer[0], "seconds": round(secs, 4)}
    text = json.dumps(result)
    print(text, flush=True)
    if args.result_file:
        tmp = args.result_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, args.result_file)
    return 0


def send(args) -> int:
    source = (args.bind, 0) if args.bind else None
    t0 = time.monotonic()
    s = socket.create_connection((args.to, args.port), timeout=args.timeout,
                                 source_address=source)
    h = hashlib.sha256()
    left = args.bytes
    while left > 0:
        data = os.urandom(min(CHUNK, left))
        h.update(data)
        s.sendall(data)
        left -= len(data)
    s.shutdown(socket.SHUT_WR)
    while s.recv(CHUNK):  # the receiver closes once it has read everything
        pass
    secs = time.monotonic() - t0
    s.close()
    print(json.dumps({"bytes": args.bytes, "sha256": h.hexdigest(), "seconds": round(secs, 4)}),
          flush=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--listen", default="::")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--ready-file")
    r.add_argument("--result-file")
    r.add_argument("--timeout", type=float, default=60)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--bind")
    s.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    return recv(args) if args.cmd == "recv" else send(args)


if __name__ == "__main__":
    sys.exit(main())
