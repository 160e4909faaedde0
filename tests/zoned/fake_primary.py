#!/usr/bin/env python3
"""fake_primary.py -- a primary that misbehaves on request, for the faults a
real one cannot be made to produce: a transfer cut in the middle, an RR
whose RDATA is malformed, a closing SOA of another serial, a wrong or
missing TSIG. It serves fake.example. over TCP with TSIG (hmac-sha256,
RFC 8945) on 127.0.0.1:PORT; the mode is read from MODEFILE for every
connection. SOA queries are always answered well, with a serial one higher
each time, so zoned always finds something newer to transfer.

usage: fake_primary.py PORT KEYNAME KEY_BASE64 MODEFILE
modes: good, truncated, malformed, mismatch, badsig (every message signed
with another key), nosig (none signed), badsig2 (the first message signed
well, the second with another key), nosiglast (the first signed, the last
not), slow (the first message sent, "slow: first message sent" printed,
then nothing until the peer closes: a transfer in progress), trickle (the
first message sent, then the second one octet every 0.5 s until the peer
closes: a transfer that outlasts any transfer-timeout);
"sparse N [VARIANT]": the zone in about 300 messages of one RR each, only
every N-th signed (and the first and the last), the MAC of a signed one
covering the unsigned ones since the last (RFC 8945 §5.3.1: N - 1
unsigned in a row); VARIANT "last" leaves the last message unsigned,
"mac" computes each MAC as if no unsigned message came before it, "time"
signs the N-th message 1000 s in the past (outside the 300 s fudge).
"""
import base64
import hashlib
import hmac
import socket
import struct
import sys
import time

ZONE = "fake.example."


def name(s):
    out = b""
    for label in s.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def skip_name(msg, pos):
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n
        if n == 0:
            return pos


def rr(owner, rtype, ttl, rdata):
    return name(owner) + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def soa(serial):
    rd = name("ns1." + ZONE) + name("h." + ZONE) + struct.pack(">IIIII", serial, 3600, 5, 1209600, 300)
    return rr(ZONE, 6, 3600, rd)


def tsig_sign(msg, keyname, key, prior_mac, timers_only=False, covered=b"", when=None):
    """Append a TSIG RR to msg (whose ARCOUNT it raises) and return (msg, mac).
    covered: the unsigned messages since the prior MAC, which this MAC
    covers after it (RFC 8945 §5.3.1); when: the time signed (now)."""
    now = int(time.time()) if when is None else when
    alg = name("hmac-sha256")
    timers = struct.pack(">HIH", now >> 32, now & 0xFFFFFFFF, 300)
    data = b""
    if prior_mac is not None:
        data += struct.pack(">H", len(prior_mac)) + prior_mac
    data += covered + msg
    if timers_only:
        data += timers
    else:
        data += name(keyname) + struct.pack(">HI", 255, 0) + alg + timers + struct.pack(">HH", 0, 0)
    mac = hmac.new(key, data, hashlib.sha256).digest()
    msgid = msg[0:2]
    rd = alg + timers + struct.pack(">H", len(mac)) + mac + msgid + struct.pack(">HH", 0, 0)
    t = name(keyname) + struct.pack(">HHIH", 250, 255, 0, len(rd)) + rd
    ar = struct.unpack(">H", msg[10:12])[0] + 1
    return msg[:10] + struct.pack(">H", ar) + msg[12:] + t, mac


def request_mac(q):
    """The MAC of the query's TSIG (the last RR), or None."""
    qd, an, ns, ar = struct.unpack(">HHHH", q[4:12])
    pos = skip_name(q, 12) + 4
    for _ in range(an + ns + ar):
        pos = skip_name(q, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", q[pos:pos + 10])
        pos += 10
        if rtype == 250:
            p = skip_name(q, pos) + 10
            maclen = struct.unpack(">H", q[p - 2:p])[0]
            return q[p:p + maclen]
        pos += rdlen
    return None


def answer(q, rrs):
    qid = q[0:2]
    qend = skip_name(q, 12) + 4
    hdr = qid + struct.pack(">HHHHH", 0x8400, 1, len(rrs), 0, 0)
    return hdr + q[12:qend] + b"".join(rrs)


def serve(conn, keyname, key, mode, serial):
    hdr = conn.recv(2, socket.MSG_WAITALL)
    if len(hdr) < 2:
        return serial
    q = conn.recv(struct.unpack(">H", hdr)[0], socket.MSG_WAITALL)
    qtype = struct.unpack(">H", q[skip_name(q, 12):skip_name(q, 12) + 2])[0]
    mac = request_mac(q)
    words = mode.split()
    sparse = words[0] == "sparse" if words else False
    if qtype == 6:
        serial += 1
        msgs = [[soa(serial)]]
    elif sparse:
        body = [rr("ns1." + ZONE, 1, 3600, bytes([192, 0, 2, 1])), rr(ZONE, 2, 3600, name("ns1." + ZONE))]
        body += [rr("s%d.%s" % (i, ZONE), 1, 3600, bytes([192, 0, 2, i % 250 + 1])) for i in range(300)]
        msgs = [[soa(serial)] + body[:2]] + [[r] for r in body[2:]] + [[soa(serial)]]
        return send_sparse(conn, q, msgs, keyname, key, mac, int(words[1]),
                           words[2] if len(words) > 2 else "", serial)
    else:
        body = [rr("ns1." + ZONE, 1, 3600, bytes([192, 0, 2, 1])), rr(ZONE, 2, 3600, name("ns1." + ZONE))]
        body += [rr("h%d.%s" % (i, ZONE), 1, 3600, bytes([192, 0, 2, i % 250 + 1])) for i in range(40)]
        if mode == "malformed":
            body.append(rr("bad." + ZONE, 1, 3600, b"\x01\x02\x03"))
        closing = soa(serial + 7 if mode == "mismatch" else serial)
        msgs = [[soa(serial)] + body[:20], body[20:] + [closing]]
    other = b"not the key at all, not at all!!"
    for i, m in enumerate(msgs):
        wire = answer(q, m)
        if qtype == 6:
            wire, mac = tsig_sign(wire, keyname, key, mac, i > 0)
        elif mode == "badsig" or (mode == "badsig2" and i > 0):
            wire, mac = tsig_sign(wire, keyname, other, mac, i > 0)
        elif mode == "nosiglast" and i == len(msgs) - 1:
            pass
        elif mode != "nosig":
            wire, mac = tsig_sign(wire, keyname, key, mac, i > 0)
        if mode == "truncated" and i == 1:
            conn.sendall(struct.pack(">H", len(wire)) + wire[: len(wire) // 2])
            return serial
        if mode == "trickle" and qtype != 6 and i == 1:
            print("trickle: first message sent", flush=True)
            for octet in struct.pack(">H", len(wire)) + wire:
                conn.sendall(bytes([octet]))
                time.sleep(0.5)
            return serial
        if mode == "slow" and qtype != 6 and i == 1:
            # The transfer stays open until the peer goes (a kill -9 of it
            # closes its socket), or the 10 s timeout.
            print("slow: first message sent", flush=True)
            conn.recv(1)
            return serial
        conn.sendall(struct.pack(">H", len(wire)) + wire)
    return serial


def send_sparse(conn, q, msgs, keyname, key, mac, every, variant, serial):
    """msgs with only every every-th message signed (and the first and,
    unless variant is "last", the last); see the modes above."""
    covered = b""
    for i, m in enumerate(msgs):
        wire = answer(q, m)
        last = i == len(msgs) - 1
        if i % every == 0 or (last and variant != "last"):
            when = int(time.time()) - 1000 if variant == "time" and i == every else None
            cov = b"" if variant == "mac" else covered
            wire, mac = tsig_sign(wire, keyname, key, mac, i > 0, cov, when)
            covered = b""
        else:
            covered += wire
        conn.sendall(struct.pack(">H", len(wire)) + wire)
    return serial


def main():
    port, keyname, key, modefile = int(sys.argv[1]), sys.argv[2], base64.b64decode(sys.argv[3]), sys.argv[4]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    serial = 1
    while True:
        conn, _ = s.accept()
        conn.settimeout(10)
        try:
            with open(modefile) as f:
                mode = f.read().strip()
            serial = serve(conn, keyname, key, mode, serial)
        except (OSError, ValueError, struct.error):
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
