#!/usr/bin/env bash
# drill.sh -- the disaster drill (docs/BACKUP.md): a zone signed by signetd with a
# ZSK and a KSK made by the real ceremony, both backed up to the backup domain; then
# both SoftHSM2 tokens are deleted. From the operators' recovery shares (2 of 3) and
# the backup files alone: new tokens, the domain recovered into a new KSK token and
# installed in a new ZSK token, the KSK restored by the ceremony, the ZSK by signetd;
# the zone signs again with the same key tags, the DS is unchanged, and
# dnssec-verify, ldns-verify-zone and a validating Unbound (the old DS its only trust
# anchor) accept it. On the way, the attacks of a restore are refused with nothing
# changed. Any failed check exits non-zero.
#
# Needs SIGNET_BIN (the build directory) and SIGNET_STACK (an empty directory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/scripts/lib/stack.sh"

stack=${SIGNET_STACK:?SIGNET_STACK must name a directory}
bin=${SIGNET_BIN:?SIGNET_BIN must name the build directory}
mkdir -p "$stack"
signet=$bin/client/signet
signetd=$bin/signer/signetd
ceremony=$bin/ceremony/signet-ceremony
zone=example.com
zonefile=$root/demo/example.com.zone
fail() { echo "FAILED: $*" >&2; exit 1; }
# Run a command that must fail; its stderr must hold the words given.
refused() {
  local want=$1; shift
  if "$@" > "$stack/refused.out" 2>&1; then
    cat "$stack/refused.out" >&2; fail "not refused: $*"
  fi
  grep -q -- "$want" "$stack/refused.out" || { cat "$stack/refused.out" >&2; fail "refused without '$want': $*"; }
  echo "  refused as expected: $want"
}
# The key tags of a signed zone's RRSIGs, the DNSKEY's (KSK) and the rest (ZSK).
tags() { awk '$4 == "RRSIG" {print ($5 == "DNSKEY" ? "dnskey-by" : "rrsets-by"), $11}' "$1" | sort -u; }
count_objects() { find "$stack/tokens" -name '*.object' | wc -l; }
# As stack_signetd does: signetd, as nobody when we are root, owns its token,
# also what the ceremony (as root) wrote into it, and reaches its directory.
own_zsk_token() {
  [ "$(id -u)" = 0 ] || return 0
  chown -R nobody: "$(dirname "$(grep -l signet-zsk "$stack"/tokens/*/token.object)")"
  chmod o+x "$stack/tokens"
}

stack_module
trap stack_cleanup EXIT
stack_softhsm
echo "== 1. the online (ZSK) token, operators, the KSK token"
stack_zsk_token 0.1 >/dev/null
policy_extra=--require-zsk-backup stack_operators
grep -q '^require-zsk-backup yes$' "$cer/work/policy" || fail "the policy does not require ZSK backups"
stack_ksk_token >/dev/null
bk=$stack/backup            # where the operators keep the backup files (off-site)
mkdir -p "$bk"

echo "== 2. create-domain: the backup domain in the KSK token, recovery shares sealed per operator"
step domain create-domain "alice bob" "alice bob" \
  --so-share "alice=$cer/shares/alice.so-share" --so-share "bob=$cer/shares/bob.so-share" \
  --pass "carol=file:$cer/ops/carol.pass" --shares-out "$cer/shares" --out "$cer/work/domain.txt"
domain_id=$(awk '$1 == "domain-id" {print $2}' "$cer/work/domain.txt")
[ -n "$domain_id" ] || fail "no domain id"
echo "domain $domain_id"

echo "== 3. install-domain into the ZSK token (carol and bob bring recovery shares)"
install_zsk_domain() {
  step "install-$1" install-domain "alice carol" "alice carol" --param token-label=signet-zsk \
    --domain-share "bob=$cer/shares/bob.domain-share" --domain-share "carol=$cer/shares/carol.domain-share" \
    --pass "bob=file:$cer/ops/bob.pass" --so-pin "file:$stack/zsk-token.so-pin" \
    --out "$cer/work/install-$1.txt"
}
install_zsk_domain 1

echo "== 4. the KSK, backed up and proven by the ceremony"
step ksk create-ksk "alice carol" "alice carol" --zone "$zone" --param algorithm=13 \
  --backup-dir "$bk" --out "$cer/work/ksk.txt"
ksk_id=$(awk '$1 == ";" && $2 == "key-id" {print $3}' "$cer/work/ksk.txt")
grep -E '^[^;]*[[:space:]]DNSKEY[[:space:]]' "$cer/work/ksk.txt" > "$stack/ksk.dnskey"
grep -q '; backup .*(proven)' "$cer/work/ksk.txt" || fail "create-ksk did not prove a backup"

echo "== 5. signetd: the ZSK is backed up into its state and proven before any request"
stack_pki
stack_signetd
stack_zone 13
grep -q "backup stored and proven" "$stack/signetd.log" || fail "signetd did not prove the ZSK backup"
# signet keys, Health and the metrics say so
backup_shown() {
  # (outputs captured first: under pipefail an early-exiting grep -q can
  # SIGPIPE the writer and fail a pipeline that matched)
  local out
  out=$(admin keys "$zone")
  [ "$(awk '$2 == "zsk" {print $NF}' <<<"$out")" = proven ] || { echo "$out"; fail "signet keys: ZSK backup not proven"; }
  out=$(curl -sf "http://127.0.0.1:$mport/metrics")
  grep -qx "signet_zsk_backup_missing{zone=\"$zone.\"} 0" <<<"$out" \
    || fail "metrics: signet_zsk_backup_missing is not 0"
  out=$(admin health || true)
  grep -q "zone $zone.: active ZSK yes" <<<"$out" || { echo "$out"; fail "health: no active ZSK"; }
  if grep -q "without a proven backup" <<<"$out"; then fail "health warns of a missing backup"; fi
}
# The policy requires a proven ZSK backup: without the exported backups the
# ceremony refuses to sign, spending nothing; with them it proves each itself.
if step sign0 sign-keyset "bob carol" "bob carol" --zone "$zone" --param "key-id=$ksk_id" \
    --keyset "$stack/ksr.txt" --out "$stack/bundle0.txt" 2> "$stack/sign0.err"; then
  fail "sign-keyset signed without the ZSK backups"
fi
grep -q "the policy requires ZSK backups" "$stack/sign0.err" || { cat "$stack/sign0.err"; fail "refusal unclear"; }
"$signetd" -c "$stack/signetd.conf" --export-backups "$bk"
step sign sign-keyset "bob carol" "bob carol" --zone "$zone" --param "key-id=$ksk_id" \
  --keyset "$stack/ksr.txt" --backup-dir "$bk" --out "$stack/bundle.txt"
admin import-bundle "$zone" "$stack/bundle.txt"
backup_shown
step ds export-ds "alice bob" "alice bob" --zone "$zone" --param "key-id=$ksk_id" \
  --param digests=2 --backup-dir "$bk" --out "$stack/ds.before"
ns1 sign-zone --zone "$zone" --in "$zonefile" --out "$stack/before.signed" --serial keep
dnssec-verify -q -o "$zone" "$stack/before.signed" || fail "dnssec-verify (before)"
"$signetd" -c "$stack/signetd.conf" --export-backups "$bk"
ls "$bk"
tags "$stack/before.signed" > "$stack/tags.before"
echo "key set before: $(tr '\n' ' ' < "$stack/tags.before")"

echo "== 6. disaster: signetd stops, both tokens are destroyed"
kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=
rm -rf "$stack/tokens"
mkdir -p "$stack/tokens"
[ -z "$(ls -A "$stack/tokens")" ] || fail "token files left"

echo "== 7. new tokens: a new ZSK token; a new ceremony directory and KSK token"
stack_zsk_token 0.1 >/dev/null
# The old transcript and PIN shares are kept as a record; the recovery
# (domain) shares are what carries over.
mv "$cer/state" "$cer/state.lost"
mkdir -p "$cer/state" "$cer/shares.lost"
mv "$cer"/shares/*.share "$cer"/shares/*.so-share "$cer/shares.lost/"
"$ceremony" policy-adopt --dir "$cer/state" --policy "$cer/work/policy"
step init2 init-token "alice bob" "" --shares-out "$cer/shares" \
  --pass "alice=file:$cer/ops/alice.pass" --pass "bob=file:$cer/ops/bob.pass" \
  --pass "carol=file:$cer/ops/carol.pass" >/dev/null

echo "== 8. attacks before the domain is back: a restore into tokens without the domain"
objs=$(count_objects)
refused "no backup domain" "$signetd" -c "$stack/signetd.conf" --restore-backups "$bk"
step r0 restore-ksk "alice bob" "alice bob" --zone "$zone" --param "key-id=$ksk_id" \
  --backup-dir "$bk" --out "$cer/work/r0.txt" 2> "$stack/r0.err" && fail "restore-ksk without a domain"
grep -q "no usable backup domain" "$stack/r0.err" || { cat "$stack/r0.err"; fail "restore-ksk refusal unclear"; }
[ "$(count_objects)" = "$objs" ] || fail "a refused restore changed a token"

echo "== 9. the domain from 2 of 3 recovery shares into the new KSK token, then the ZSK token"
step recover create-domain "alice bob" "alice bob" \
  --so-share "alice=$cer/shares/alice.so-share" --so-share "bob=$cer/shares/bob.so-share" \
  --domain-share "alice=$cer/shares/alice.domain-share" --domain-share "carol=$cer/shares/carol.domain-share" \
  --pass "carol=file:$cer/ops/carol.pass" --out "$cer/work/recover.txt"
[ "$(awk '$1 == "domain-id" {print $2}' "$cer/work/recover.txt")" = "$domain_id" ] || fail "another domain recovered"
install_zsk_domain 2
own_zsk_token

echo "== 10. restore-ksk: the KSK from its backup, with quorum"
step rksk restore-ksk "bob carol" "bob carol" --zone "$zone" --param "key-id=$ksk_id" \
  --backup-dir "$bk" --out "$cer/work/rksk.txt"
cmp <(grep -E '^[^;]*[[:space:]]DNSKEY[[:space:]]' "$cer/work/rksk.txt") "$stack/ksk.dnskey" \
  || fail "the restored KSK's DNSKEY differs"

echo "== 11. attacks on the ZSK restore: each refused, the token unchanged"
own_zsk_token
zf=$(ls "$bk"/zsk-*.backup)
zname=$(basename "$zf")
objs=$(count_objects)
attack() {  # attack NAME WANT: $stack/attack-NAME/$zname was prepared by the caller
  refused "$2" "$signetd" -c "$stack/signetd.conf" --restore-backups "$stack/attack-$1"
  [ "$(count_objects)" = "$objs" ] || fail "attack $1 changed a token"
}
redigest() {  # the file's sha256 line made to match its (edited) content again
  local f=$1 body
  body=$(head -n -1 "$f")
  { printf '%s\n' "$body"; printf 'sha256 %s\n' "$(printf '%s\n' "$body" | sha256sum | cut -d' ' -f1)"; } > "$f.new"
  mv "$f.new" "$f"
}
for a in flip flip-redigest domain truncated; do mkdir -p "$stack/attack-$a"; cp "$zf" "$stack/attack-$a/"; done
# one bit of the wrapped key flipped (the lowest bit of a base64 digit's value)
flipbit() {
  awk 'BEGIN { b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" }
       $1 == "wrapped-key" { v = $2; i = index(b, substr(v, 40, 1)) - 1;
         j = (i % 2 == 0) ? i + 1 : i - 1;
         $2 = substr(v, 1, 39) substr(b, j + 1, 1) substr(v, 41) } { print }' "$1" > "$1.new" &&
    mv "$1.new" "$1"
}
flipbit "$stack/attack-flip/$zname"
attack flip "digest does not match"
flipbit "$stack/attack-flip-redigest/$zname"; redigest "$stack/attack-flip-redigest/$zname"
attack flip-redigest "does not prove"
sed -i "s/^domain-id .*/domain-id 00112233445566778899aabbccddeeff/" "$stack/attack-domain/$zname"
redigest "$stack/attack-domain/$zname"
attack domain "another backup domain"
head -c 300 "$zf" > "$stack/attack-truncated/$zname"
attack truncated "malformed or missing line"

echo "== 12. the ZSK restored into the new token by signetd; then refused a second time"
out=$("$signetd" -c "$stack/signetd.conf" --restore-backups "$bk")
grep -q "restored 1 ZSK" <<<"$out" \
  || fail "the ZSK was not restored"
objs=$(count_objects)
mkdir -p "$stack/attack-again"; cp "$zf" "$stack/attack-again/"
attack again "holds a key with this ID already"
grep -q '"restore-zsk"' "$stack/state/audit.log" || fail "the restore is not in the audit log"

echo "== 13. signetd signs again: the same key tags, the same DS, validators agree"
stack_signetd
backup_shown
ns1 sign-zone --zone "$zone" --in "$zonefile" --out "$stack/after.signed" --serial keep
tags "$stack/after.signed" > "$stack/tags.after"
cmp "$stack/tags.before" "$stack/tags.after" || fail "the key tags changed: $(cat "$stack/tags.after")"
step ds2 export-ds "alice carol" "alice carol" --zone "$zone" --param "key-id=$ksk_id" \
  --param digests=2 --backup-dir "$bk" --out "$stack/ds.after"
ds_of() { grep -E '^[^;]*[[:space:]]DS[[:space:]]' "$1"; }
[ "$(ds_of "$stack/ds.before")" = "$(ds_of "$stack/ds.after")" ] || fail "the DS changed"
dnssec-verify -q -o "$zone" "$stack/after.signed" || fail "dnssec-verify (after)"
ds_of "$stack/ds.before" > "$stack/trusted.ds"
ldns-verify-zone -k "$stack/trusted.ds" "$stack/after.signed" || fail "ldns-verify-zone (after)"
stack_resolver "$stack/after.signed" "$stack/ds.before"
for q in "$zone SOA" "www.$zone A" "no-such-name.$zone A"; do
  got=$(stack_ask $q)
  case "$q" in
    no-such-name*) [ "$got" = "NXDOMAIN AD" ] || fail "$q: $got";;
    *) [ "$got" = "NOERROR AD" ] || fail "$q: $got";;
  esac
done
stack_resolver_stop
echo "== drill passed: key tags $(tr '\n' ' ' < "$stack/tags.after")and the DS unchanged after losing both tokens"
