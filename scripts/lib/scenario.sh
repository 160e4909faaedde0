#!/usr/bin/env bash
# scenario.sh -- the whole signet system end to end, as operators run it: a
# 2-of-3 key ceremony for the KSK token and the KSK, signetd on loopback with
# mutual TLS and the ZSK in the online token, the key-signing request signed
# with quorum, the zone signed through the service, the DS exported with
# quorum; then validators signet did not write judge the result, ending with
# NSD serving the zone and Unbound, with the exported DS as its only trust
# anchor, answering with the AD flag — and SERVFAIL once one signature bit is
# flipped. Any failed check exits non-zero.
#
# Run by scripts/demo (after it builds) and by ctest (tests/e2e). Needs:
#   SIGNET_BIN    the build directory holding client/, signer/, ceremony/,
#                 or an installed prefix holding bin/ and sbin/ (/usr for the
#                 Debian package: scripts/package-test)
#   SIGNET_OUT    where example.com.zone.signed and example.com.ds go
#   SIGNET_STACK  a directory for everything else (created if missing)
#   SIGNET_ZONE_FILE  the zone to sign (default: demo/example.com.zone)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/stack.sh"

stack=${SIGNET_STACK:?SIGNET_STACK must name a directory}
out=${SIGNET_OUT:?SIGNET_OUT must name a directory}
bin=${SIGNET_BIN:?SIGNET_BIN must name the build directory}
zonefile=${SIGNET_ZONE_FILE:-$root/demo/example.com.zone}
mkdir -p "$stack" "$out"
if [ -x "$bin/sbin/signetd" ]; then
  signet=$bin/bin/signet
  signetd=$bin/sbin/signetd
  ceremony=$bin/bin/signet-ceremony
else
  signet=$bin/client/signet
  signetd=$bin/signer/signetd
  ceremony=$bin/ceremony/signet-ceremony
fi
zone=example.com
fail() { echo "FAILED: $*" >&2; exit 1; }

stack_module
trap stack_cleanup EXIT
stack_softhsm
echo "== 1. the online (ZSK) token for signetd, qualified by the HSM self-test"
stack_zsk_token 0.3

echo "== 2. three operators enroll; a 2-of-3 policy for the KSK token"
stack_operators

echo "== 3. the KSK token: its PIN is random, split 2-of-3 and sealed per operator"
stack_ksk_token

echo "== 4. create the KSK of $zone (alice and carol approve and bring shares)"
stack_create_ksk 13
echo "KSK key-id $ksk_id: $(cat "$stack/ksk.dnskey")"

echo "== 5. a demo PKI: CA, an admin and a nameserver client; signetd's TLS key in a token"
stack_pki
stack_tls_token

echo "== 6. signetd on loopback with mutual TLS"
stack_signetd

echo "== 7. the zone in signetd: its KSK from the ceremony, a ZSK in the online token"
stack_zone 13

echo "== 8. the ceremony signs the key-signing request (bob and carol)"
stack_bundle
admin keys "$zone"

echo "== 9. the nameserver's pipeline signs the zone through signetd"
ns1 sign-zone --zone "$zone" --in "$zonefile" \
  --out "$out/example.com.zone.signed" --serial increment
ns1 health

echo "== 10. the DS leaves only through the ceremony, with its approvals (alice and bob)"
step ds export-ds "alice bob" "alice bob" --zone "$zone" --param "key-id=$ksk_id" \
  --param digests=2,4 --out "$out/example.com.ds"

echo "== 11. independent validators"
signed=$out/example.com.zone.signed
dnssec-verify -q -o "$zone" "$signed" || fail "dnssec-verify refused the signed zone"
echo "dnssec-verify: zone fully signed"
grep -E '^[^;]*[[:space:]]DS[[:space:]]' "$out/example.com.ds" > "$stack/trusted.ds"
# ldns-verify-zone with the exported DS as its only trust anchor: the zone must
# chain from the DS the parent would publish to every signature.
ldns-verify-zone -k "$stack/trusted.ds" "$signed" || fail "ldns-verify-zone refused the signed zone"
kzonecheck -o "$zone" -d on "$signed" || fail "kzonecheck found errors"
echo "kzonecheck: no errors"
"$ceremony" verify-log --dir "$cer/state" --token || fail "the ceremony transcript does not verify against the KSK token"
curl -sf "http://127.0.0.1:$mport/metrics" 2>/dev/null | grep -E '^signet_signatures_total' | head -3 || true

echo "== 12. NSD serves the zone; Unbound validates from the exported DS alone"
stack_resolver "$signed" "$out/example.com.ds"
stack_expect_ad "" "$zone SOA" "www.$zone A" "mail.$zone A" "no-such-name.$zone A" "$zone DNSKEY"
stack_resolver_stop
# One flipped bit in the signature over mail's A RRset: the resolver must
# refuse the answer (SERVFAIL), proving it judges what we signed.
awk -v z="mail.$zone." '!done && $1 == z && $4 == "RRSIG" && $5 == "A" {
    s = $NF; c = substr(s, 20, 1); r = (c == "A") ? "B" : "A";
    $NF = substr(s, 1, 19) r substr(s, 21); done = 1 } { print }' "$signed" > "$stack/flipped.zone"
cmp -s "$signed" "$stack/flipped.zone" && fail "could not flip a signature"
stack_resolver "$stack/flipped.zone" "$out/example.com.ds"
got=$(stack_ask "mail.$zone" A)
echo "  mail.$zone A with a flipped signature bit: $got"
[ "${got%% *}" = SERVFAIL ] || fail "a flipped signature was not refused: $got"
got=$(stack_ask "www.$zone" A)
[ "$got" = "NOERROR AD" ] || fail "the rest of the zone stopped validating: $got"
stack_resolver_stop

echo "== scenario passed: $out/example.com.zone.signed ($(grep -c RRSIG "$signed") RRSIGs), $out/example.com.ds"
