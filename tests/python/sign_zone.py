#!/usr/bin/python3
"""sign_zone.py -- signetd called from Python with stubs generated from
proto/signet.proto: a small zone (SOA, NS, glue, A, TXT and the NSEC chain) is signed
RRset by RRset over mutual TLS, the key set is fetched, and the zone is written
in presentation form (RFC 3597 generic RDATA) for validators to judge.

  sign_zone.py --stubs DIR --server HOST:PORT --server-name NAME --ca FILE
               --cert FILE --key FILE --zone ZONE --out FILE

Exit 0 when every RRset came back signed; 1 with the reason otherwise.
"""
import argparse
import struct
import sys

import grpc


def wire_name(name):
    """Uncompressed wire form of a presentation-form name (ASCII labels)."""
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.lower().encode("ascii")
    return out + b"\x00"


def type_bitmap(types):
    """The NSEC type bitmap (RFC 4034 section 4.1.2) of the given types."""
    out = b""
    for window in sorted({t >> 8 for t in types}):
        low = [t & 0xFF for t in types if t >> 8 == window]
        bits = bytearray(max(low) // 8 + 1)
        for t in low:
            bits[t // 8] |= 0x80 >> (t % 8)
        out += bytes([window, len(bits)]) + bytes(bits)
    return out


A, NS, SOA, TXT, RRSIG, NSEC, DNSKEY, CDS, CDNSKEY = 1, 2, 6, 16, 46, 47, 48, 59, 60


def main():
    ap = argparse.ArgumentParser()
    for opt in ("stubs", "server", "server-name", "ca", "cert", "key", "zone", "out"):
        ap.add_argument("--" + opt, required=True)
    args = ap.parse_args()
    sys.path.insert(0, args.stubs)
    import signet_pb2 as pb
    import signet_pb2_grpc as pb_grpc

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    creds = grpc.ssl_channel_credentials(root_certificates=read(args.ca),
                                         private_key=read(args.key),
                                         certificate_chain=read(args.cert))
    channel = grpc.secure_channel(args.server, creds, options=[
        ("grpc.ssl_target_name_override", args.server_name)])
    stub = pb_grpc.SignetStub(channel)

    zone = args.zone.rstrip(".") + "."
    apex = wire_name(zone)
    ns1 = wire_name("ns1." + zone)
    www = wire_name("www." + zone)
    ttl = 300

    keys = stub.GetKeySet(pb.GetKeySetRequest(zone=apex), timeout=30)
    if not keys.dnskey.rdata:
        sys.exit("GetKeySet returned no DNSKEY RRset")
    apex_types = [SOA, NS, RRSIG, NSEC, DNSKEY]
    if keys.cds.rdata:
        apex_types.append(CDS)
    if keys.cdnskey.rdata:
        apex_types.append(CDNSKEY)

    soa = (wire_name("ns1." + zone) + wire_name("hostmaster." + zone) +
           struct.pack("!IIIII", 2026120601, 3600, 900, 1209600, ttl))
    rrsets = [
        pb.RRset(owner=apex, type=SOA, ttl=ttl, rdata=[soa]),
        pb.RRset(owner=apex, type=NS, ttl=ttl, rdata=[wire_name("ns1." + zone)]),
        pb.RRset(owner=apex, type=NSEC, ttl=ttl, rdata=[ns1 + type_bitmap(apex_types)]),
        pb.RRset(owner=ns1, type=A, ttl=ttl, rdata=[bytes([192, 0, 2, 53])]),
        pb.RRset(owner=ns1, type=NSEC, ttl=ttl, rdata=[www + type_bitmap([A, RRSIG, NSEC])]),
        pb.RRset(owner=www, type=A, ttl=ttl, rdata=[bytes([192, 0, 2, 1]),
                                                    bytes([192, 0, 2, 2])]),
        pb.RRset(owner=www, type=TXT, ttl=ttl, rdata=[b"\x12signed from Python"]),
        pb.RRset(owner=www, type=NSEC, ttl=ttl, rdata=[apex + type_bitmap([A, TXT, RRSIG, NSEC])]),
    ]
    resp = stub.SignRRsets(pb.SignRequest(zone=apex, rrsets=rrsets), timeout=30)
    if len(resp.results) != len(rrsets):
        sys.exit("%d results for %d RRsets" % (len(resp.results), len(rrsets)))

    names = {apex: zone, ns1: "ns1." + zone, www: "www." + zone}
    lines = []

    def emit(owner, rtype, rttl, rdata):
        lines.append("%s %d IN TYPE%d \\# %d %s" % (names[owner], rttl, rtype, len(rdata),
                                                     rdata.hex() if rdata else ""))

    for rs, res in zip(rrsets, resp.results):
        if res.status != pb.ITEM_SIGNED or not res.rrsig:
            sys.exit("RRset %d (type %d) not signed: %s" % (res.index, rs.type, res.message))
        for rd in rs.rdata:
            emit(rs.owner, rs.type, rs.ttl, rd)
        for sig in res.rrsig:
            emit(rs.owner, RRSIG, rs.ttl, sig)
    for rs in (keys.dnskey, keys.cds, keys.cdnskey, keys.rrsig):
        for rd in rs.rdata:
            emit(apex, rs.type, rs.ttl, rd)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("signed %d RRsets of %s from Python; zone in %s" % (len(rrsets), zone, args.out))


if __name__ == "__main__":
    main()
