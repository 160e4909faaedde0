#!/usr/bin/env python3
"""slow_axfr.py -- a secondary that reads an AXFR slowly: it asks zoned for
ZONE by AXFR with TSIG (hmac-sha256, key KEYNAME), reads the first message,
writes CTLDIR/axfr-started, then reads 512 octets every 0.1 s (enough that
zoned's idle bound never cuts it) until CTLDIR/axfr-go appears, then the
rest at once. Prints the serials of the opening and closing SOA and the
number of answer RRs: a transfer spread over a change must still be one
version whole.

usage: slow_axfr.py PORT KEYNAME KEY_BASE64 ZONE CTLDIR [TAG]
(with TAG the file written is CTLDIR/axfr-started-TAG; an answer with an
error rcode is printed as "rcode N", exit 1)
"""
import base64
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_primary import name, skip_name, tsig_sign  # noqa: E402


class Slow:
    def __init__(self, sock, ctl):
        self.sock, self.ctl, self.buf, self.fast = sock, ctl, b"", False

    def need(self, n):
        while len(self.buf) < n:
            if not self.fast and os.path.exists(os.path.join(self.ctl, "axfr-go")):
                self.fast = True
            data = self.sock.recv(65536 if self.fast else 512)
            if not data:
                raise EOFError("cut after %d octets" % len(self.buf))
            self.buf += data
            if not self.fast:
                time.sleep(0.1)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def main():
    port, keyname, key, zone, ctl = (int(sys.argv[1]), sys.argv[2], base64.b64decode(sys.argv[3]),
                                     sys.argv[4], sys.argv[5])
    started = "axfr-started" + ("-" + sys.argv[6] if len(sys.argv) > 6 else "")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    q = struct.pack(">HHHHHH", 0x1234, 0, 1, 0, 0, 0) + name(zone) + struct.pack(">HH", 252, 1)
    q, _ = tsig_sign(q, keyname, key, None)
    s.sendall(struct.pack(">H", len(q)) + q)
    r = Slow(s, ctl)
    serials, count, first = [], 0, True
    while len(serials) < 2:
        msg = r.need(struct.unpack(">H", r.need(2))[0])
        rcode = msg[3] & 0xF
        if rcode:
            print("rcode %d" % rcode, flush=True)
            return 1
        qd, an = struct.unpack(">HH", msg[4:8])
        pos = 12
        for _ in range(qd):
            pos = skip_name(msg, pos) + 4
        for _ in range(an):
            pos = skip_name(msg, pos)
            rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
            pos += 10
            if rtype == 6:
                p = skip_name(msg, skip_name(msg, pos))
                serials.append(struct.unpack(">I", msg[p:p + 4])[0])
            pos += rdlen
            count += 1
        if first:
            first = False
            open(os.path.join(ctl, started), "w").close()
    print("%d %d %d" % (serials[0], serials[1], count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
