#!/usr/bin/env python3
"""relay.py -- a TCP relay between signet-zoned and signetd that the test
can stall: it forwards octets both ways, and once CTLDIR/arm exists (its
content: a number N) it stops forwarding after N more octets from the
client, writes CTLDIR/paused, and goes on when CTLDIR/resume appears. A
stalled network between zoned and signetd is the one fault a real signetd
cannot be asked to produce on cue; it holds zoned's worker in the middle of
a sign for as long as the test needs.

usage: relay.py LISTEN_PORT TARGET_PORT CTLDIR
"""
import os
import select
import socket
import sys
import time


def main():
    listen_port, target_port, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(16)
    peer = {}     # socket -> the other end
    client = set()  # sockets on zoned's side
    counted = None  # octets from the client since arming
    limit = None
    paused = False
    while True:
        if limit is None and os.path.exists(os.path.join(ctl, "arm")):
            with open(os.path.join(ctl, "arm")) as f:
                text = f.read().strip()
            if text:
                limit = int(text)
                counted = 0
        if paused and os.path.exists(os.path.join(ctl, "resume")):
            paused = False
            limit = None
            os.unlink(os.path.join(ctl, "arm"))
        watch = [ls] + ([] if paused else list(peer))
        r, _, _ = select.select(watch, [], [], 0.05)
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                t = socket.create_connection(("127.0.0.1", target_port))
                peer[c], peer[t] = t, c
                client.add(c)
                continue
            if s not in peer or paused:
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
            if s in client and limit is not None:
                counted += len(data)
                if counted > limit:
                    paused = True
                    with open(os.path.join(ctl, "paused.tmp"), "w") as f:
                        f.write("%d\n" % counted)
                    os.rename(os.path.join(ctl, "paused.tmp"), os.path.join(ctl, "paused"))


if __name__ == "__main__":
    main()
