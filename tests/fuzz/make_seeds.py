#!/usr/bin/env python3
# make_seeds.py -- writes the small seed corpora of tests/fuzz/corpus/<target>/
# from hand-made inputs and the tests' data (tests/data). Run it again after
# changing it; the seeds are kept in git so the replay tests need no Python.
import os
import shutil
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, '..', 'data')
out = os.path.join(here, 'corpus')


def wire(name):
    b = b''
    for label in name.rstrip('.').split('.'):
        if label:
            b += bytes([len(label)]) + label.encode()
    return b + b'\0'


def put(target, fname, content):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    # scripts/fuzz's -max_len: 16384 for the file-like targets, else 4096
    big = target in ('fuzz_zonetext', 'fuzz_keyset', 'fuzz_config', 'fuzz_client_config',
                     'fuzz_parent_watch', 'fuzz_backup_file')
    assert len(content) < (16384 if big else 4096), (target, fname)
    with open(os.path.join(d, fname), 'wb') as f:
        f.write(content)


def copy(target, fname, src, prefix=b''):
    with open(os.path.join(data, src), 'rb') as f:
        put(target, fname, prefix + f.read())


def bitmap(types):
    win = {}
    for t in types:
        w, low = t >> 8, t & 0xff
        win.setdefault(w, bytearray(32))[low >> 3] |= 0x80 >> (low & 7)
    b = b''
    for w in sorted(win):
        bm = bytes(win[w]).rstrip(b'\0')
        b += bytes([w, len(bm)]) + bm
    return b


P256_KEY = bytes(range(64))
rrsig = (struct.pack('>HBBIIIH', 1, 13, 3, 3600, 1284026679, 1281607479, 55648)
         + wire('Example.NET.') + bytes(range(64)))

# --- fuzz_rdata: type (2 octets) + RDATA --------------------------------
rdata = {
    'a': (1, bytes([192, 0, 2, 1])),
    'aaaa': (28, bytes(16)),
    'ns': (2, wire('NS1.Example.COM.')),
    'cname': (5, wire('www.example.com.')),
    'mx': (15, struct.pack('>H', 10) + wire('Mail.Example.com.')),
    'soa': (6, wire('ns1.example.com.') + wire('Host\\.Master.example.com.'.replace('\\', ''))
            + struct.pack('>IIIII', 2024010101, 7200, 3600, 1209600, 300)),
    'txt': (16, b'\x0ev=spf1 mx -all\x00'),
    'hinfo': (13, b'\x03CPU\x02OS'),
    'srv': (33, struct.pack('>HHH', 10, 60, 5060) + wire('SIP.example.com.')),
    'naptr': (35, struct.pack('>HH', 100, 10) + b'\x01U\x07E2U+sip\x00' + wire('.')),
    'ds': (43, struct.pack('>HBB', 60485, 13, 2) + bytes(32)),
    'dnskey': (48, struct.pack('>HBB', 257, 3, 13) + P256_KEY),
    'rrsig': (46, rrsig),
    'nsec': (47, wire('Next.Example.com.') + bitmap([1, 2, 6, 15, 46, 47, 48])),
    'nsec3': (50, bytes([1, 1]) + struct.pack('>H', 0) + b'\x04\xaa\xbb\xcc\xdd'
              + b'\x14' + bytes(range(20)) + bitmap([1, 2, 46, 1234])),
    'nsec3param': (51, bytes([1, 0, 0, 0, 0])),
    'caa': (257, b'\x00\x05issueca.example'),
    'rp': (17, wire('Admin.example.com.') + wire('TXT.example.com.')),
    'unknown': (65280, b'\x01\x02\x03'),
    'empty_null': (10, b''),
    'bad_a': (1, b'\x01\x02\x03'),
    'compressed': (2, b'\x03ns1\xc0\x0c'),
    'longlabel': (2, b'\x40' + b'a' * 64 + b'\0'),
}
for k, (t, rd) in rdata.items():
    put('fuzz_rdata', k, struct.pack('>H', t) + rd)

# --- fuzz_rrsig: RRSIG RDATA --------------------------------------------
put('fuzz_rrsig', 'p256', rrsig)
put('fuzz_rrsig', 'rsa', struct.pack('>HBBIIIH', 48, 8, 2, 3600, 2000000000, 1900000000, 1)
    + wire('example.com.') + bytes(256))
put('fuzz_rrsig', 'wildcard', struct.pack('>HBBIIIH', 16, 15, 1, 60, 5, 4, 7)
    + wire('.') + bytes(64))
put('fuzz_rrsig', 'nosig', struct.pack('>HBBIIIH', 1, 13, 1, 60, 5, 4, 7) + wire('a.'))
put('fuzz_rrsig', 'short', b'\x00\x01\x0d')

# --- fuzz_zonetext ------------------------------------------------------
copy('fuzz_zonetext', 'example.com.zone', 'zones/example.com.zone')
copy('fuzz_zonetext', 'integration.zone', 'zones/integration.zone')
put('fuzz_zonetext', 'minimal', '@ 3600 IN SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n')
put('fuzz_zonetext', 'nsec3ish', '$TTL 300\n$ORIGIN example.com.\n'
    '@ SOA ns hm ( 1 2 3 4 5 )\n@ NS ns.example.net.\n'
    'a.b.c TXT "x" "y\\"z"\nsub NS ns.sub\nsub DS 1 13 2 '
    '0000000000000000000000000000000000000000000000000000000000000000\n'
    'ns.sub A 192.0.2.9\n*.w MX 0 .\nE\\046scaped AAAA ::1\n')
put('fuzz_zonetext', 'include', '$INCLUDE /etc/passwd\n@ SOA ns hm 1 2 3 4 5\n')
put('fuzz_zonetext', 'generate', '$GENERATE 1-10 h$ A 192.0.2.$\n')
put('fuzz_zonetext', 'twosoa', '@ SOA ns hm 1 2 3 4 5\n@ SOA ns hm 2 2 3 4 5\n')
put('fuzz_zonetext', 'outside', '@ SOA ns hm 1 2 3 4 5\nexample.org. A 192.0.2.1\n')
put('fuzz_zonetext', 'unknown', '@ SOA ns hm 1 2 3 4 5\nx TYPE65280 \\# 3 010203\n'
    'y CH TXT "chaos"\n')

# --- fuzz_keyset --------------------------------------------------------
copy('fuzz_keyset', 'request', 'dnssec/keyset-request.txt')
copy('fuzz_keyset', 'request-messy', 'dnssec/keyset-request-messy.txt')
copy('fuzz_keyset', 'bundle', 'dnssec/keyset-bundle.txt')
copy('fuzz_keyset', 'ceremony-ksr', 'ceremony/ksr.txt')
put('fuzz_keyset', 'truncated', '$SIGNET-KEYSET 1 request\n$ZONE example.com.\n'
    '$SERIAL 1\n$PERIOD 1 2\n')

# --- fuzz_config --------------------------------------------------------
base = '''listen = "127.0.0.1:8443";
tls-cert = "/c.pem"; tls-key = "/k.pem"; tls-ca = "/ca.pem";
pkcs11-module = "/m.so"; token-label = "zsk"; pin = "env:PIN";
state-dir = "/var/lib/signet";
'''
clients = '''clients = ( { identity = "ns1"; role = "signer"; zones = [ "example.com" ]; },
  { identity = "adm"; role = "admin"; zones = [ "*" ]; } );
'''
with open(os.path.join(here, '..', '..', 'deploy', 'signetd.conf.example')) as f:
    put('fuzz_config', 'example', f.read())
put('fuzz_config', 'minimal', base + clients)
put('fuzz_config', 'full', base + '''tls12 = true; workers = 64; cache-size = 0;
verify-after-sign = "all"; max-rrsets = 1; max-rrs = 1; max-rrset-octets = 1;
max-message = 4096; metrics = "[::1]:9153"; metrics-allow-remote = false;
user = "signet";
''' + clients)
put('fuzz_config', 'remote-metrics', base + 'metrics = "192.0.2.1:9153";\n' + clients)
put('fuzz_config', 'badworkers', base + 'workers = 65;\n' + clients)
put('fuzz_config', 'noclients', base)
put('fuzz_config', 'syntax', 'listen = ;\n')
put('fuzz_config', 'unknownkey', base + 'frobnicate = 1;\n' + clients)
put('fuzz_config', 'rules', base + '''clients = (
  { identity = "acme"; role = "signer"; zones = [ "example.com" ];
    names = [ "_acme-challenge.example.com", "_acme-challenge.*.example.com" ];
    types = [ "TXT" ]; },
  { identity = "edge"; role = "signer"; zones = [ "*" ];
    names = [ "@", "\\\\*.lit.example.com", "\\\\195x.example.com", "_x.*" ];
    types = [ "a", "AAAA", "TYPE65280" ]; },
  { identity = "prov"; role = "signer"; zones = [ "example.com" ];
    names = [ "*.hosts.example.com" ]; } );
''')
put('fuzz_config', 'badrule', base + '''clients = (
  { identity = "a"; role = "signer"; zones = [ "example.com" ];
    names = [ "*.*.example.com" ]; types = [ "TYPE0" ]; } );
''')

# --- fuzz_sign_request: protobuf SignRequest ----------------------------


def varint(n):
    b = b''
    while True:
        c = n & 0x7f
        n >>= 7
        if n:
            b += bytes([c | 0x80])
        else:
            return b + bytes([c])


def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def vi(field, n):
    return varint(field << 3) + varint(n)


def rrset(owner, t, rdatas, rclass=1, ttl=3600):
    m = ld(1, wire(owner)) + vi(2, t) + vi(3, rclass) + vi(4, ttl)
    for r in rdatas:
        m += ld(5, r)
    return m


def request(zone, sets, window=None):
    m = ld(1, wire(zone))
    for s in sets:
        m += ld(2, s)
    if window:
        m += ld(3, vi(1, window[0]) + vi(2, window[1]))
    return m


ok = [rrset('www.example.com.', 1, [bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])]),
      rrset('Example.COM.', 15, [struct.pack('>H', 10) + wire('Mail.example.com.')]),
      rrset('sub.example.com.', 2, [wire('ns.sub.example.com.')]),
      rrset('*.w.example.com.', 16, [b'\x03abc']),
      rrset('sub.example.com.', 43, [struct.pack('>HBB', 1, 13, 2) + bytes(32)])]
# The input is one octet choosing the caller (0 full.test: example.com,
# roll.example, nokeys.example, absent.example; 1 other.test: example.org;
# 2 acme.test: TXT at _acme-challenge in example.com; 3 star.test: every
# zone), then the request.
def sign_seed(fname, caller, req):
    put('fuzz_sign_request', fname, bytes([caller]) + req)


sign_seed('ok', 0, request('example.com.', ok))
sign_seed('window', 0, request('example.com.', ok[:1], (1700000000, 1700000000 + 7 * 86400)))
sign_seed('refusals', 0, request('example.com.', [
    rrset('example.org.', 1, [bytes(4)]),
    rrset('example.com.', 48, [struct.pack('>HBB', 256, 3, 13) + P256_KEY]),
    rrset('example.com.', 70000, [b'']),
    rrset('example.com.', 1, [bytes(4)], rclass=3),
    rrset('example.com.', 1, [bytes(4)], ttl=0x80000000),
    rrset('example.com.', 43, [bytes(36)]),
    rrset('a.example.com.', 6, [bytes(22)]),
    rrset('a.example.com.', 5, [wire('x.'), wire('y.')]),
    rrset('a.example.com.', 1, [bytes(3)]),
    rrset('a.example.com.', 1, []),
]))
sign_seed('badzone', 0, request('example.com.', ok[:1])[0:1] + b'\x03\x03ab')
sign_seed('empty', 0, request('example.com.', []))
# another client's zone, and a zone granted to nobody
sign_seed('denied-zone', 1, request('example.com.', ok))
sign_seed('denied-ungranted', 0, request('example.net.', ok[:1]))
# the name and type rules: allowed, then one RRset of a refused type
acme = [rrset('_acme-challenge.example.com.', 16, [b'\x05token']),
        rrset('_acme-challenge.www.Example.com.', 16, [b'\x05other'])]
sign_seed('acme-ok', 2, request('example.com.', acme))
sign_seed('acme-denied', 2, request('example.com.', acme + [ok[0]]))
# two ZSKs (an algorithm rollover 13 -> 15), a zone without keys, one not configured
sign_seed('roll', 3, request('roll.example.', [
    rrset('roll.example.', 15, [struct.pack('>H', 10) + wire('mx.roll.example.')]),
    rrset('a.roll.example.', 1, [bytes([192, 0, 2, 7])])]))
sign_seed('nokeys', 0, request('nokeys.example.', ok[:1]))
sign_seed('absent', 0, request('absent.example.', ok[:1]))
sign_seed('ed25519', 1, request('example.org.', [rrset('www.example.org.', 28, [bytes(16)])]))
# a batch big enough to be split over both workers
sign_seed('batch', 0, request('example.com.', [
    rrset('h%d.example.com.' % i, 1, [bytes([192, 0, 2, i])]) for i in range(40)]))
# an out-of-range varint (type as a 64-bit value)
sign_seed('range', 0, request('example.com.', [
    ld(1, wire('www.example.com.')) + varint(2 << 3) + varint(1 << 40) + ld(5, bytes(4))]))

# --- fuzz_ceremony: selector octet + file -------------------------------
for sel, src in [(0, 'policy'), (1, 'request'), (2, 'approval'), (3, 'alice.share'),
                 (3, 'bob.share'), (4, 'alice.pub'), (5, 'alice.key'),
                 (6, 'transcript.log')]:
    copy('fuzz_ceremony', '%d-%s' % (sel, src.replace('.', '-')), 'ceremony/' + src,
         bytes([sel]))
put('fuzz_ceremony', '6-broken-chain', bytes([6]) + b'1 0 op - ' + b'00' * 32
    + b' a ok ' + b'00' * 32 + b' ' + b'11' * 32 + b' ' + b'22' * 32 + b'\n')
put('fuzz_ceremony', '0-bad-threshold', bytes([0]) + b'signet-ceremony-policy 1\n'
    b'serial 1\nthreshold 9\nend\n')

# --- fuzz_zoned_tsig: messages with a 2-octet length each -------------------
sys.path.insert(0, os.path.join(here, '..', 'zoned'))
from fake_primary import answer as fp_answer, name as fp_name, rr as fp_rr, soa as fp_soa, tsig_sign  # noqa: E402


def framed(msgs):
    return b''.join(struct.pack('>H', len(m)) + m for m in msgs)


fp_q = bytes([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + fp_name('fake.example.') + struct.pack('>HH', 252, 1)
fp_msgs = [fp_answer(fp_q, [fp_soa(1)])] + [
    fp_answer(fp_q, [fp_rr('s%d.fake.example.' % i, 1, 3600, bytes([192, 0, 2, i]))]) for i in range(4)]
# unsigned: the target signs the first itself, the rest stay unsigned
put('fuzz_zoned_tsig', 'unsigned', framed(fp_msgs))
# signed at fixed times by the fuzz target's key (stale: refused on time)
fp_key = b'signet zoned fuzz tsig key 32 octets!'
signed, mac = tsig_sign(fp_msgs[0], 'xfr-in.', fp_key, None, when=1700000000)
last, _ = tsig_sign(fp_msgs[3], 'xfr-in.', fp_key, mac, True, fp_msgs[1] + fp_msgs[2], when=1700000000)
put('fuzz_zoned_tsig', 'sparse', framed([signed, fp_msgs[1], fp_msgs[2], last]))

# --- fuzz_zoned_journal: the record form (length, checksum) of the seeds ---
import hashlib  # noqa: E402


def journal_records(text, cut=0, flip=None):
    recs = b''
    for step in text.split(b'$STEP ')[1:]:
        payload = b'$STEP ' + step
        recs += b'$REC %d %s\n' % (len(payload), hashlib.sha256(payload).hexdigest()[:16].encode()) + payload
    out = bytearray(b'; signet-zoned journal 2\n' + recs)
    if flip is not None:
        out[flip] ^= 0x20
    return bytes(out[:len(out) - cut])


for seed in ('one_step', 'leads_on', 'with_in'):
    with open(os.path.join(out, 'fuzz_zoned_journal', seed), 'rb') as f:
        old = f.read()
    put('fuzz_zoned_journal', seed + '_records', journal_records(old))
    put('fuzz_zoned_journal', seed + '_torn', journal_records(old, cut=40))
    put('fuzz_zoned_journal', seed + '_flipped', journal_records(old, flip=60))
# --- fuzz_zone_gather: max-rrs (0: 64), then RRs of four octets each --------
# (owner of the pool, type of the pool, TTL / 60, RDATA choice) and raw
# RDATA octets where the choice asks for them: see fuzz_zone_gather.c.
# Pool: 0 example.com. 1 a. 2 A. 3 b.a. 4 *. 5 z.EXAMPLE. 6 ns. 7 example.net.
# Types: 0 A, 1 NS, 2 MX, 3 TXT, 4 AAAA, 5 TYPE65280.
def gather_rr(owner, t, ttl, sel, raw=b''):
    return bytes([owner, t, ttl, sel]) + raw


A = lambda o, ttl, last: gather_rr(o, 0, ttl, 4, bytes([192, 0, 2, last]))
put('fuzz_zone_gather', 'in_order',
    b'\0' + gather_rr(0, 1, 60, 6) + A(1, 60, 1) + A(3, 60, 2) + A(6, 60, 3))
put('fuzz_zone_gather', 'apart_and_out_of_order',
    b'\0' + gather_rr(0, 1, 60, 6) + A(3, 60, 2) + A(1, 60, 1) + gather_rr(1, 3, 5, 3, b'\x02hi')
    + A(2, 10, 9) + A(5, 60, 4) + A(1, 30, 1))
put('fuzz_zone_gather', 'duplicates_in_case',
    b'\0' + gather_rr(0, 1, 60, 1) + gather_rr(0, 1, 60, 2) + gather_rr(4, 2, 60, 5)
    + gather_rr(4, 2, 20, 5) + gather_rr(0, 1, 1, 9))
put('fuzz_zone_gather', 'oversized', b'\x02' + A(1, 60, 1) + A(1, 60, 2) + A(1, 60, 3))
put('fuzz_zone_gather', 'outside', b'\0' + A(1, 60, 1) + A(7, 60, 2) + A(1, 60, 3))
put('fuzz_zone_gather', 'malformed', b'\0' + A(1, 60, 1) + gather_rr(1, 0, 60, 3, b'abc')
    + gather_rr(1, 0, 255, 4, b'abcd'))
print('seeds written to', out)
