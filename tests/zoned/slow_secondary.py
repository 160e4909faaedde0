#!/usr/bin/env python3
"""slow_secondary.py -- a secondary that stops reading in the middle of a
transfer: it asks for an AXFR with TSIG (hmac-sha256), reads the first
message, prints "slow: first message read", and then holds the connection
without reading until it is killed (or 120 s pass). For a kill of the
server that lands while an outbound transfer is in progress.

usage: slow_secondary.py PORT KEYNAME KEY_BASE64 ZONE
"""
import base64
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_primary import name, tsig_sign  # noqa: E402


def main():
    port, keyname, key, zone = int(sys.argv[1]), sys.argv[2], base64.b64decode(sys.argv[3]), sys.argv[4]
    q = struct.pack(">HHHHHH", 0x5151, 0, 1, 0, 0, 0) + name(zone) + struct.pack(">HH", 252, 1)
    q, _ = tsig_sign(q, keyname, key, None)
    s = socket.socket()
    # A small receive window: the server's writes back up at once.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(struct.pack(">H", len(q)) + q)
    hdr = s.recv(2, socket.MSG_WAITALL)
    if len(hdr) < 2:
        print("slow: no answer", flush=True)
        return 1
    msg = s.recv(struct.unpack(">H", hdr)[0], socket.MSG_WAITALL)
    print("slow: first message read (%d octets, %d answers)"
          % (len(msg), struct.unpack(">H", msg[6:8])[0]), flush=True)
    time.sleep(120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
