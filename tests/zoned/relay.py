#!/usr/bin/env python3
"""relay.py -- a TCP relay between signet-zoned and signetd that the test
can stall: it forwards octets both ways, and once CTLDIR/arm exists (its
content: a number N) it stops forwarding, both ways, on the first
connection from the client that sends more than N octets after that,
writes CTLDIR/paused, and goes on when CTLDIR/resume appears. Only reads
of at least SMALL octets count: a call to signetd is more, a lone HTTP/2
control frame in its TLS record (the PING ACK of the server's keepalive,
a WINDOW_UPDATE) is less, so another worker's idle connection is not the
one held. The other
connections go on meanwhile: zoned's workers each have one, so one
worker is held while the others work. A stalled network between zoned and
signetd is the one fault a real signetd cannot be asked to produce on cue;
it holds a worker in the middle of a sign for as long as the test needs.
Each connection accepted is logged ("connection N") on stdout.

usage: relay.py LISTEN_PORT TARGET_PORT CTLDIR
"""
import os
import select
import socket
import sys
import time

SMALL = 64


def main():
    listen_port, target_port, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(16)
    peer = {}     # socket -> the other end
    client = set()  # sockets on zoned's side
    counted = {}    # client socket -> octets from it since arming
    limit = None
    paused = None   # the client socket held, and its other end
    accepted = 0
    while True:
        if limit is None and os.path.exists(os.path.join(ctl, "arm")):
            with open(os.path.join(ctl, "arm")) as f:
                text = f.read().strip()
            if text:
                limit = int(text)
                counted = {}
        if paused and os.path.exists(os.path.join(ctl, "resume")):
            paused = None
            limit = None
            os.unlink(os.path.join(ctl, "arm"))
        watch = [ls] + [x for x in peer if not paused or x not in paused]
        r, _, _ = select.select(watch, [], [], 0.05)
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                t = socket.create_connection(("127.0.0.1", target_port))
                peer[c], peer[t] = t, c
                client.add(c)
                accepted += 1
                print("connection %d" % accepted, flush=True)
                continue
            if s not in peer or (paused and s in paused):
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            other = peer[s]
            if not data:
                for x in (s, other):
                    peer.pop(x, None)
                    client.discard(x)
                    x.close()
                continue
            other.sendall(data)
            if s in client and limit is not None and not paused and len(data) >= SMALL:
                counted[s] = counted.get(s, 0) + len(data)
                if counted[s] > limit:
                    paused = (s, other)
                    with open(os.path.join(ctl, "paused.tmp"), "w") as f:
                        f.write("%d\n" % counted[s])
                    os.rename(os.path.join(ctl, "paused.tmp"), os.path.join(ctl, "paused"))


if __name__ == "__main__":
    main()
