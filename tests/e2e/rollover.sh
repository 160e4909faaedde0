#!/usr/bin/env bash
# rollover.sh -- the real signet-ceremony and the real signetd (on its test
# clock) through a ZSK rollover, a double-KSK rollover with the DS changed at
# the parent, and an algorithm rollover 13 -> 15. The parent (test.) is
# signed with its own key (dnssec-keygen, ldns-signzone) and served by NSD
# with the child (roll.test.); a validating Unbound whose only trust anchor is
# the parent's key answers with AD at every step, its clock set to signetd's
# (val-override-date). Every key-signing request is exported by signetd and
# signed by the ceremony with a 2-of-3 quorum; every DS the parent serves
# comes from the ceremony's export-ds. A DS published before its KSK is in
# the DNSKEY RRset must break validation (SERVFAIL). At the end
# ldns-verify-zone judges the zone from the last exported DS.
#
# Needs SIGNET_BIN (the build directory), SIGNET_STACK (a directory, made
# empty by the caller). Any failed check exits non-zero.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/scripts/lib/stack.sh"
. "$here/ceremony.sh"

stack=${SIGNET_STACK:?SIGNET_STACK must name a directory}
bin=${SIGNET_BIN:?SIGNET_BIN must name the build directory}
mkdir -p "$stack"
signet=$bin/client/signet
signetd=$bin/signer/signetd
ceremony=$bin/ceremony/signet-ceremony
setclock=$bin/tests/e2e/signet-test-clock
zone=roll.test
parent=test
admin_zones='"*"'
DAY=86400 HOUR=3600
fail() {
  echo "FAILED: $*" >&2
  if [ -f "$stack/last-answer" ]; then
    echo "-- the resolver's last answer:" >&2; cat "$stack/last-answer" >&2
    echo "-- unbound.log:" >&2; tail -20 "$stack/resolver/unbound.log" >&2
  fi
  exit 1
}
for t in nsd unbound drill ldns-signzone dnssec-keygen ldns-verify-zone dnssec-verify ldns-read-zone; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || fail "$t not found (scripts/deps)"
done
PATH=$PATH:/usr/sbin

# ---- the parent, NSD and Unbound -------------------------------------------
resdir=$stack/resolver
mkdir -p "$resdir" "$stack/parent"
# parent_zone DSFILE...: test. with roll.test.'s DS set from the files,
# signed with the parent's key (valid from 10 days ago for 400 days).
parent_zone() {
  {
    printf '$ORIGIN test.\n$TTL 3600\n@ SOA ns.test. h.test. %s 3600 600 864000 300\n' "$(date +%s)"
    printf '@ NS ns.test.\nns A 127.0.0.1\nroll NS ns.test.\n'
    cat "$@"
    cat "$stack/parent/$pkey.key"
  } > "$stack/parent/test.zone"
  ldns-signzone -n -i "$(date -u -d @$(( $(date +%s) - 10 * DAY )) +%Y%m%d%H%M%S)" \
    -e "$(date -u -d @$(( $(date +%s) + 400 * DAY )) +%Y%m%d%H%M%S)" \
    -f "$resdir/test.zone" "$stack/parent/test.zone" "$stack/parent/$pkey" \
    || fail "ldns-signzone refused the parent"
}
stop_resolver() {
  [ -n "${unbound_pid:-}" ] && kill "$unbound_pid" 2>/dev/null && wait "$unbound_pid" 2>/dev/null
  [ -n "${nsd_pid:-}" ] && kill "$nsd_pid" 2>/dev/null && wait "$nsd_pid" 2>/dev/null
  unbound_pid= nsd_pid=
  true
}
cleanup() { stop_resolver; stack_cleanup; }
# serve CHILD-ZONE-FILE: NSD serves test. and roll.test.; a fresh Unbound
# (nothing cached) validates from the parent's key at signetd's time.
serve() {
  stop_resolver
  cp "$1" "$resdir/roll.zone"
  nsd_port=$(freeport)
  resolver_port=$(freeport)
  cat > "$resdir/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$nsd_port
  port: $nsd_port
  username: ""
  chroot: ""
  zonesdir: "$resdir"
  database: ""
  zonelistfile: "$resdir/zone.list"
  pidfile: "$resdir/nsd.pid"
  xfrdfile: "$resdir/xfrd.state"
  xfrdir: "$resdir"
  logfile: "$resdir/nsd.log"
remote-control:
  control-enable: no
zone:
  name: test
  zonefile: $resdir/test.zone
zone:
  name: $zone
  zonefile: $resdir/roll.zone
CONF
  cat > "$resdir/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$resolver_port
  port: $resolver_port
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$resdir"
  pidfile: "$resdir/unbound.pid"
  use-syslog: no
  logfile: "$resdir/unbound.log"
  verbosity: 1
  val-log-level: 2
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor-file: "$stack/parent/$pkey.key"
  val-override-date: "$(date -u -d "@$now" +%Y%m%d%H%M%S)"
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  so-reuseport: no
remote-control:
  control-enable: no
stub-zone:
  name: "test"
  stub-addr: 127.0.0.1@$nsd_port
CONF
  nsd-checkconf "$resdir/nsd.conf"
  unbound-checkconf "$resdir/unbound.conf" >/dev/null
  nsd -c "$resdir/nsd.conf" -d 2>> "$resdir/nsd.log" &
  nsd_pid=$!
  unbound -c "$resdir/unbound.conf" 2>> "$resdir/unbound.log" &
  unbound_pid=$!
  local _
  # Up to 30 s: a loaded machine (ASan builds beside us) starts them slowly.
  for _ in $(seq 300); do
    kill -0 "$unbound_pid" 2>/dev/null && kill -0 "$nsd_pid" 2>/dev/null ||
      { cat "$resdir/nsd.log" "$resdir/unbound.log" >&2; fail "nsd or unbound exited"; }
    drill -p "$resolver_port" @127.0.0.1 test SOA >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$resdir/nsd.log" "$resdir/unbound.log" >&2
  fail "resolver did not come up"
}
# ask NAME TYPE: "RCODE AD" or "RCODE -"; drill's whole answer stays in
# $stack/last-answer for the failure message.
ask() {
  local out rcode ad
  out=$(drill -p "$resolver_port" @127.0.0.1 -D "$1" "$2" 2>&1) || true
  printf '%s\n' "$out" > "$stack/last-answer"
  rcode=$(printf '%s\n' "$out" | sed -n 's/.*rcode: \([A-Z]*\).*/\1/p' | head -1)
  ad=-
  grep -q '^;; flags:.* ad[ ;]' <<<"$out" && ad=AD
  echo "${rcode:-NONE} $ad"
}

# ---- one step: sign, serve, validate ---------------------------------------
n_sign=0
# sign_and_check WHAT: sign-zone at signetd's clock, serve it, and demand AD
# for answers and for NXDOMAIN. Sets signed.
sign_and_check() {
  n_sign=$((n_sign + 1))
  signed=$stack/signed$n_sign.zone
  ns1 sign-zone --zone "$zone" --in "$stack/unsigned.zone" --out "$signed" \
    --serial increment >/dev/null
  serve "$signed"
  local q got
  for q in "$zone SOA" "www.$zone A" "$zone DNSKEY" "no-such-name.$zone A" "$zone DS"; do
    got=$(ask $q)
    case "$q" in
      no-such-name*) [ "$got" = "NXDOMAIN AD" ] || fail "$1: $q: expected NXDOMAIN AD, got $got";;
      *) [ "$got" = "NOERROR AD" ] || fail "$1: $q: expected NOERROR AD, got $got";;
    esac
  done
  echo "  $1 at $(date -u -d "@$now" +%FT%TZ): $(keys_of "$signed"); AD for answers and NXDOMAIN"
}
# What the signed zone holds: DNSKEYs as flags/alg/tag, the signers of www's A.
keys_of() {
  dnskeys "$1" | tr '\n' ' '
  printf '| www A signed by '
  signers "$1" | tr '\n' ' '
}
dnskeys() {
  ldns-read-zone "$1" | awk '$4 == "DNSKEY" && match($0, /id = [0-9]+/) {
    print $5 "/" $7 "/" substr($0, RSTART + 5, RLENGTH - 5) }' | sort
}
signers() {
  awk -v n="www.$zone." '$1 == n && $4 == "RRSIG" && $5 == "A" { print $6 "/" $11 }' "$1" | sort
}
tag_of() { dnskeys "$1" | cut -d/ -f3; }
# expect_keys "FLAGS/ALG/TAG..." WHAT, expect_signers "ALG/TAG..." WHAT: the
# signed zone holds exactly these (in any order).
sorted() { printf '%s\n' $1 | sort | tr '\n' ' '; }
expect_keys() {
  [ "$(dnskeys "$signed" | tr '\n' ' ')" = "$(sorted "$1")" ] ||
    fail "$2: DNSKEYs $(dnskeys "$signed" | tr '\n' ' '), expected $1"
}
expect_signers() {
  [ "$(signers "$signed" | tr '\n' ' ')" = "$(sorted "$1")" ] ||
    fail "$2: www A signed by $(signers "$signed" | tr '\n' ' '), expected $1"
}

stack_module
trap cleanup EXIT
stack_softhsm
cat > "$stack/unsigned.zone" <<ZONE
\$ORIGIN $zone.
\$TTL 3600
@ SOA ns.test. hostmaster.test. 1 3600 600 864000 300
@ NS ns.test.
www A 192.0.2.1
mail A 192.0.2.2
@ MX 10 mail
ZONE
(cd "$stack/parent" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK -n ZONE test > key.name)
pkey=$(cat "$stack/parent/key.name")
sed -i 's/^\(test\.[[:space:]]*\)[0-9]*[[:space:]]*IN/\13600 IN/' "$stack/parent/$pkey.key"
# ldns-signzone reads the BIND private key format as it is.

echo "== setup: SoftHSM2 tokens, 2-of-3 operators, the first KSK (13), signetd on its test clock"
stack_zsk_token 0.1 >/dev/null
stack_operators >/dev/null
stack_ksk_token >/dev/null
new_ksk k1 13
stack_pki
stack_cert watch.demo "DNS:watch.demo"
extra_clients='
  { identity = "watch.demo"; role = "parent-agent"; zones = [ "'$zone'" ]; },'
export SIGNETD_TEST_CLOCK=1
stack_signetd
sed "s|$pki/ns1.demo|$pki/watch.demo|" "$stack/ns1.demo.client.conf" > "$stack/watch.demo.client.conf"
clock $(( $(date +%s) / HOUR * HOUR ))
start=$now
admin add-zone "$zone" --ksk "$stack/k1.dnskey" --algorithm 13 >/dev/null
admin generate-zsk "$zone" >/dev/null
ksr 100 "$k1_id"
export_ds k1 "$k1_id"
parent_zone "$stack/k1.ds"
k1=$(tag_of "$stack/k1.dnskey")

echo "== 1. algorithm 13, one KSK, the parent serves its DS"
sign_and_check "start"
z1=$(signers "$signed" | cut -d/ -f2)
expect_keys "256/13/$z1 257/13/$k1" "start"
# At the real time, so BIND's verifier judges too.
dnssec-verify -q -o "$zone" "$signed" || fail "dnssec-verify refused the first zone"

echo "== 2. ZSK rollover (automatic, pre-publication), requests signed by the ceremony"
# The ZSK signs 90 days; its successor is published Ipub (3 h) before.
advance $((90 * DAY - 2 * HOUR))
sign_and_check "successor published"
[ "$(dnskeys "$signed" | grep -c '^256/13/')" = 2 ] || fail "the successor ZSK is not published"
expect_signers "13/$z1" "successor published"
z2=$(dnskeys "$signed" | awk -F/ -v o="$z1" '$1 == 256 && $3 != o { print $3 }')
ksr 60 "$k1_id"
advance $((3 * HOUR))
sign_and_check "successor active"
expect_signers "13/$z2" "successor active"
expect_keys "256/13/$z1 256/13/$z2 257/13/$k1" "successor active"
# Iret (validity 14 d + max TTL 1 d + 2 h) after it stopped signing, the old
# ZSK leaves the DNSKEY RRset at the end of that key-set period (7 d).
advance $((22 * DAY))
sign_and_check "old ZSK removed"
expect_keys "256/13/$z2 257/13/$k1" "old ZSK removed"

echo "== 3. KSK rollover (double-KSK), the DS changed at the parent by the ceremony's export"
new_ksk k2 13
k2=$(tag_of "$stack/k2.dnskey")
admin rollover "$zone" add-ksk "$stack/k2.dnskey" >/dev/null
ksr 30 "$k1_id" "$k2_id"
sign_and_check "new KSK published"
expect_keys "256/13/$z2 257/13/$k1 257/13/$k2" "new KSK published"
refused=$(admin rollover "$zone" ds-seen 2>&1) && fail "ds-seen was taken before the new DNSKEY is in every cache"
case $refused in *"not allowed in this state"*) ;; *) fail "early ds-seen: $refused";; esac
export_ds k2 "$k2_id"
# The new DS alone while the old KSK's DNSKEY still signs: fine, both KSKs
# sign the DNSKEY RRset. But a DS for a key not in the DNSKEY RRset yet
# (checked below with the third KSK) must break the chain.
advance $((4 * HOUR))
parent_zone "$stack/k2.ds"
sign_and_check "parent serves the new DS"
# signet parent-watch asks NSD (the parent's server) and Unbound; it confirms
# once both have served the new DS, and not the old, for the DS TTL (1 d).
printf 'parental-agent %s. 127.0.0.1:%s auth\nparental-agent %s. 127.0.0.1:%s resolver\n' \
  "$zone" "$nsd_port" "$zone" "$resolver_port" > "$stack/agents"
watch() {
  "$signet" parent-watch --config "$stack/watch.demo.client.conf" --agents "$stack/agents" \
    --state "$stack/watch.state" > "$stack/watch.out" 2>&1 || { cat "$stack/watch.out"; fail "parent-watch: exit $?"; }
}
watch
admin rollover "$zone" show | grep -q "waits for its DS" || fail "the rollover does not wait for the DS after the first pass"
advance $((DAY + HOUR))
watch
sed 's/^/  parent-watch: /' "$stack/watch.out"
admin rollover "$zone" show | grep -q "waits for its DS" && fail "parent-watch did not confirm the DS"
grep -q '"ds-seen by agent watch.demo' "$stack/state/audit.log" ||
  fail "the audit log does not show the agent's confirmation"
# Ids: DS TTL 1 d + 2 h; then a request without the old KSK.
advance $((DAY + 3 * HOUR))
ksr 30 "$k2_id"
sign_and_check "old KSK removed"
expect_keys "256/13/$z2 257/13/$k2" "old KSK removed"

echo "== 4. algorithm rollover 13 -> 15"
new_ksk k3 15
k3=$(tag_of "$stack/k3.dnskey")
export_ds k3 "$k3_id"
# The DS of the new algorithm before its DNSKEY exists: the parent would
# break the zone (only DS of algorithm 15, no such DNSKEY).
parent_zone "$stack/k3.ds"
sign_and_check_bogus() {
  n_sign=$((n_sign + 1)); signed=$stack/signed$n_sign.zone
  ns1 sign-zone --zone "$zone" --in "$stack/unsigned.zone" --out "$signed" --serial increment >/dev/null
  serve "$signed"
  local got; got=$(ask "www.$zone" A)
  [ "${got%% *}" = SERVFAIL ] || fail "a DS published too early still validates: $got"
  echo "  a DS published before its DNSKEY: www.$zone A $got"
}
sign_and_check_bogus
parent_zone "$stack/k2.ds"
admin rollover "$zone" add-ksk "$stack/k3.dnskey" >/dev/null
ksr 30 "$k2_id" "$k3_id"
sign_and_check "new algorithm signs"
z3=$(signers "$signed" | awk -F/ '$1 == 15 { print $2 }')
[ -n "$z3" ] || fail "no signature of algorithm 15 after the algorithm rollover began"
expect_signers "13/$z2 15/$z3" "new algorithm signs"
expect_keys "256/13/$z2 257/13/$k2" "new algorithm signs"
# Published Isig (1 d + 2 h) later, the new algorithm's DNSKEYs appear from
# the next key-set period (7 d) of the request on.
advance $((7 * DAY + HOUR))
sign_and_check "new algorithm published"
expect_keys "256/13/$z2 257/13/$k2 256/15/$z3 257/15/$k3" "new algorithm published"
advance $((4 * HOUR))
parent_zone "$stack/k3.ds"
sign_and_check "parent serves the DS of algorithm 15"
admin rollover "$zone" ds-seen >/dev/null
advance $((DAY + 3 * HOUR))
ksr 30 "$k3_id"
sign_and_check "old algorithm's keys removed"
expect_keys "256/15/$z3 257/15/$k3" "old algorithm's keys removed"
# A key-set period (7 d) and Ipub later the old ZSK's signatures are gone.
advance $((8 * DAY))
sign_and_check "algorithm 15 only"
expect_signers "15/$z3" "algorithm 15 only"
stop_resolver

echo "== 5. ldns-verify-zone from the last exported DS, at signetd's time"
ldns-verify-zone -k "$stack/k3.ds" -t "$(date -u -d "@$now" +%Y%m%d%H%M%S)" "$signed" \
  || fail "ldns-verify-zone refused the final zone"
"$ceremony" verify-log --dir "$cer/state" --token || fail "the ceremony transcript does not verify"
echo "== rollovers passed: $n_req key-signing requests signed by the ceremony, $n_sign zones validated"
