#!/usr/bin/env bash
# python_client.sh BUILD SOURCE -- the API from a second language: Python
# stubs generated from proto/signet.proto with Debian's grpc_tools, a real
# signetd on loopback (its zone's KSK from a 2-of-3 ceremony, the ZSK in a
# SoftHSM2 token) called over mutual TLS from sign_zone.py, and what comes back
# judged by validators signet did not write: dnssec-verify, ldns-verify-zone
# (the ceremony's KSK as the only trust anchor) and kzonecheck. Then one
# signature bit flipped must make dnssec-verify refuse the zone.
set -euo pipefail
build=$(cd "${1:?build directory}" && pwd)
src=$(cd "${2:?source directory}" && pwd)
py=/usr/bin/python3   # Debian's, with python3-grpcio and python3-grpc-tools
for m in grpc grpc_tools.protoc google.protobuf; do
  "$py" -c "import $m" 2>/dev/null ||
    { echo "FAIL: $py cannot import $m (python3-grpcio, python3-grpc-tools, python3-protobuf)" >&2; exit 1; }
done
. "$src/scripts/lib/stack.sh"
stack=$build/tests/python/run
rm -rf "$stack" && mkdir -p "$stack"
signet=$build/client/signet
signetd=$build/signer/signetd
ceremony=$build/ceremony/signet-ceremony
zone=example.com
stack_module
trap stack_cleanup EXIT
stack_softhsm
stack_zsk_token 0.1 >/dev/null
stack_operators >/dev/null
stack_ksk_token >/dev/null
stack_create_ksk 13 >/dev/null
stack_pki
stack_signetd
stack_zone 13 >/dev/null
stack_bundle >/dev/null

echo "== Python stubs from proto/signet.proto"
mkdir -p "$stack/stubs"
"$py" -m grpc_tools.protoc -I "$src/proto" --python_out="$stack/stubs" \
  --grpc_python_out="$stack/stubs" "$src/proto/signet.proto"

echo "== sign from Python over mutual TLS"
"$py" "$src/tests/python/sign_zone.py" --stubs "$stack/stubs" --server "127.0.0.1:$port" \
  --server-name localhost --ca "$pki/ca.pem" --cert "$pki/ns1.demo.pem" \
  --key "$pki/ns1.demo.key" --zone "$zone" --out "$stack/python.zone"

echo "== validators"
dnssec-verify -q -o "$zone" "$stack/python.zone"
grep -E '[[:space:]]DNSKEY[[:space:]]' "$stack/ksk.dnskey" > "$stack/anchor.key"
ldns-verify-zone -k "$stack/anchor.key" "$stack/python.zone"
kzonecheck -o "$zone" -d on "$stack/python.zone"

echo "== one flipped signature bit is refused"
# The A RRset's RRSIG: its last hex digit changed.
awk '!done && / TYPE46 / && /^www\./ { n = substr($0, length($0), 1);
       $0 = substr($0, 1, length($0) - 1) (n == "0" ? "1" : "0"); done = 1 } { print }' \
  "$stack/python.zone" > "$stack/tampered.zone"
cmp -s "$stack/python.zone" "$stack/tampered.zone" && { echo "FAIL: nothing was tampered" >&2; exit 1; }
if dnssec-verify -q -o "$zone" "$stack/tampered.zone" 2>/dev/null; then
  echo "FAIL: dnssec-verify accepted a zone with a flipped signature bit" >&2; exit 1
fi
echo "python client: signed from Python, validated; a flipped bit refused"
