#!/usr/bin/env bash
# zoned_ksk.sh -- a double-KSK rollover (RFC 7583 §3.3.1, docs/ROLLOVER.md)
# through the transfer path: Knot as the hidden primary of the unsigned
# ksk.example (TSIG, NOTIFY), signet-zoned signing it through the real
# signetd (its test clock), NSD and Knot as secondaries of zoned (TSIG,
# IXFR), and Unbound validating through NSD with the zone's DS as its only
# trust anchor, at signetd's time (val-override-date). The real
# signet-ceremony (2 of 3) makes the new KSK, signs every key-signing
# request and exports both DS. At each step zoned takes the new key set at
# its GetKeySet poll ("key set changed"), both secondaries take the new
# serial by IXFR (zoned's log and Knot's), and Unbound answers with AD
# (NXDOMAIN too):
#
#   1. one KSK, the parent's DS of it;
#   2. the new KSK published: the DNSKEY RRset holds both KSKs and is signed
#      by both, the CDS names the old KSK (for the whole key-set period);
#      the old DS still validates;
#   3. Ipub later the parent switches to the new DS: the zone validates from
#      the old DS just before and from the new DS just after (both KSKs sign
#      the DNSKEY RRset, so either DS finds a signing KSK); ds-seen;
#   4. Ids later, a request naming the new KSK alone: the old KSK leaves the
#      DNSKEY RRset, the CDS names the new KSK; the new DS validates, the old
#      one gives SERVFAIL; ldns-verify-zone accepts the zone from the new DS.
#
# Needs SIGNET_BIN (the build directory) and SIGNET_STACK (a directory, made
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
zoned=$bin/zoned/signet-zoned
zone=ksk.example
admin_zones='"*"'
DAY=86400 HOUR=3600
dir=$stack/zoned
PATH=$PATH:/usr/sbin
for t in knotd knotc kdig nsd unbound drill ldns-verify-zone ldns-read-zone; do
  command -v "$t" >/dev/null || { echo "FAILED: $t not found (scripts/deps)" >&2; exit 1; }
done

fail() {
  echo "FAILED: $*" >&2
  local f
  for f in "$dir"/*.log "$stack/signetd.log"; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }
  done
  [ -f "$dir/last-answer" ] && { echo "--- the resolver's last answer" >&2; cat "$dir/last-answer" >&2; }
  exit 1
}

pids=()
zoned_pid= unbound_pid=
cleanup() {
  local p
  [ -n "$unbound_pid" ] && kill "$unbound_pid" 2>/dev/null && wait "$unbound_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  stack_cleanup
}

# Both test clocks, signetd's (SET_CLOCK) and zoned's (the file
# SIGNET_ZONED_TEST_CLOCK names), at t; zoned is stopped meanwhile, so that
# no poll sees one clock moved and not the other.
clocks() {
  [ -n "$zoned_pid" ] && kill -STOP "$zoned_pid"
  clock "$1"
  echo "$1" > "$dir/clock.new" && mv "$dir/clock.new" "$dir/clock"
  [ -n "$zoned_pid" ] && kill -CONT "$zoned_pid"
  true
}

stack_module
trap cleanup EXIT
stack_softhsm
mkdir -p "$dir/state" "$dir/knot/db" "$dir/nsd" "$dir/knot2/db"

echo "== setup: tokens, 2-of-3 operators, the first KSK, signetd on its test clock"
stack_zsk_token 0.1 >/dev/null
stack_operators >/dev/null
stack_ksk_token >/dev/null
new_ksk k1 13
k1=$(ldns-read-zone "$stack/k1.dnskey" | grep -o 'id = [0-9]*' | awk '{print $3}')
stack_pki
stack_cert zoned.demo "DNS:zoned.demo"
extra_clients='
  { identity = "zoned.demo"; role = "signer"; zones = [ "'$zone'" ]; },'
export SIGNETD_TEST_CLOCK=1
stack_signetd
clocks $(( $(date +%s) / HOUR * HOUR ))
admin add-zone "$zone" --ksk "$stack/k1.dnskey" --algorithm 13 >/dev/null
admin generate-zsk "$zone" >/dev/null
ksr 30 "$k1_id"
export_ds k1 "$k1_id"

echo "== Knot (hidden primary), signet-zoned, NSD and Knot (secondaries)"
pport=$(freeport) zport=$(freeport) sport=$(freeport) kport=$(freeport) rport=$(freeport)
head -c 32 /dev/urandom | base64 > "$dir/in.key"
head -c 32 /dev/urandom | base64 > "$dir/out.key"
outkey=$(cat "$dir/out.key")
cat > "$dir/knot/$zone.zone" <<ZONE
\$ORIGIN $zone.
\$TTL 3600
@ SOA ns1 hostmaster 1 3600 5 1209600 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.4
@ MX 10 mail
mail A 192.0.2.5
ZONE
cat > "$dir/knot.conf" <<CONF
server:
  listen: 127.0.0.1@$pport
  rundir: $dir/knot
control:
  listen: $dir/knot/knot.sock
database:
  storage: $dir/knot/db
log:
  - target: stderr
    any: info
key:
  - id: xfr-in
    algorithm: hmac-sha256
    secret: $(cat "$dir/in.key")
remote:
  - id: zoned
    address: 127.0.0.1@$zport
    key: xfr-in
acl:
  - id: zoned
    address: 127.0.0.1
    key: xfr-in
    action: transfer
zone:
  - domain: $zone
    storage: $dir/knot
    file: "%s.zone"
    notify: zoned
    acl: zoned
    zonefile-sync: -1
    journal-content: changes
CONF
knotd -c "$dir/knot.conf" 2> "$dir/knot.log" &
pids+=($!)
cat > "$dir/client.conf" <<CONF
server 127.0.0.1:$port
server-name localhost
ca $pki/ca.pem
cert $pki/zoned.demo.pem
key $pki/zoned.demo.key
CONF
cat > "$dir/zoned.conf" <<CONF
listen = "127.0.0.1:$zport";
state-dir = "$dir/state";
signetd = "$dir/client.conf";
keyset-poll = 1;
keys = (
  { name = "xfr-in";  algorithm = "hmac-sha256"; secret-file = "$dir/in.key"; },
  { name = "xfr-out"; algorithm = "hmac-sha256"; secret-file = "$dir/out.key"; }
);
zones = (
  { name = "$zone"; serial = "increment";
    primaries = ( { address = "127.0.0.1:$pport"; key = "xfr-in"; } );
    secondaries = ( { range = "127.0.0.1/32"; key = "xfr-out"; notify = "127.0.0.1:$sport"; },
                    { range = "127.0.0.1/32"; key = "xfr-out"; notify = "127.0.0.1:$kport"; } ); }
);
CONF
"$zoned" -c "$dir/zoned.conf" -t
SIGNET_ZONED_TEST_CLOCK=$dir/clock "$zoned" -c "$dir/zoned.conf" -v 2> "$dir/zoned.log" &
zoned_pid=$!
pids+=($zoned_pid)
cat > "$dir/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$sport
  port: $sport
  username: ""
  chroot: ""
  zonesdir: "$dir/nsd"
  database: ""
  zonelistfile: "$dir/nsd/zone.list"
  pidfile: "$dir/nsd/nsd.pid"
  xfrdfile: "$dir/nsd/xfrd.state"
  xfrdir: "$dir/nsd"
  verbosity: 2
remote-control:
  control-enable: no
key:
  name: xfr-out
  algorithm: hmac-sha256
  secret: "$outkey"
zone:
  name: $zone
  zonefile: "$dir/nsd/$zone.zone"
  request-xfr: 127.0.0.1@$zport xfr-out
  allow-notify: 127.0.0.1 xfr-out
CONF
nsd -c "$dir/nsd.conf" -d 2> "$dir/nsd.log" &
pids+=($!)
cat > "$dir/knot2.conf" <<CONF
server:
  listen: 127.0.0.1@$kport
  rundir: $dir/knot2
database:
  storage: $dir/knot2/db
log:
  - target: stderr
    any: info
key:
  - id: xfr-out
    algorithm: hmac-sha256
    secret: $outkey
remote:
  - id: zoned
    address: 127.0.0.1@$zport
    key: xfr-out
acl:
  - id: zoned
    address: 127.0.0.1
    key: xfr-out
    action: [notify, transfer]
zone:
  - domain: $zone
    storage: $dir/knot2
    master: zoned
    acl: zoned
    zonefile-sync: -1
CONF
knotd -c "$dir/knot2.conf" 2> "$dir/knot2.log" &
pids+=($!)

# ---- what the servers serve ------------------------------------------------
soa() { kdig -p "$1" @127.0.0.1 -y "hmac-sha256:xfr-out:$outkey" "$zone" SOA +short +timeout=1 \
  +retry=0 2>/dev/null | awk 'NR == 1 {print $3}'; }
# until SECONDS CMD...: run CMD every 0.1 s until it succeeds; SECONDS bounds
# only a broken run (a loaded machine is slow).
until_ok() {
  local n=$(($1 * 10)); shift
  while ! "$@"; do
    n=$((n - 1))
    [ "$n" -gt 0 ] || return 1
    sleep 0.1
  done
}
serial_is() { [ "$(soa "$1")" = "$2" ]; }
logged() { grep -q -F -- "$1" "$dir/zoned.log"; }
count() { grep -c -F -- "$2" "$1" || true; }
# The zone as Knot (the second secondary) serves it, by AXFR, in $dir/sec.zone.
copy() {
  kdig -p "$kport" @127.0.0.1 -y "hmac-sha256:xfr-out:$outkey" "$zone" AXFR +nocomments \
    +nostats +noquestion 2>&1 | grep -v -E '^;|\sTSIG\s' > "$dir/sec.zone"
}
# KSK tags in the DNSKEY RRset, and the key tags of the RRSIGs over it.
ksks() {
  awk '$4 == "DNSKEY" && $5 == 257' "$dir/sec.zone" > "$dir/ksk.zone"
  ldns-read-zone "$dir/ksk.zone" | grep -o 'id = [0-9]*' | awk '{print $3}' | sort -n | xargs echo
}
cds_tags() { awk '$4 == "CDS" {print $5}' "$dir/sec.zone" | sort -n | xargs echo; }
dnskey_signers() {
  awk '$4 == "RRSIG" && $5 == "DNSKEY" {print $11}' "$dir/sec.zone" | sort -n | xargs echo
}

serial=
knot_ixfrs=0
# signed_by_keyset: zoned signs the new key set at its poll (the next serial,
# "key set changed"); both secondaries take it by IXFR; their copy validates
# at signetd's time.
signed_by_keyset() {
  local next=$((serial + 1))
  until_ok 60 logged "$zone.: serial $next signed (key set changed)" ||
    fail "$1: zoned did not sign serial $next for the new key set"
  until_ok 60 serial_is "$sport" "$next" || fail "$1: NSD did not get serial $next"
  until_ok 60 serial_is "$kport" "$next" || fail "$1: Knot did not get serial $next"
  # Both secondaries asked from the serial they had: zoned answered two
  # IXFRs (zoned.log: "IXFR to ... from serial A to B"), and Knot's log says
  # it took one.
  local line="from serial $serial to $next"
  [ "$(count "$dir/zoned.log" "$line")" -ge 2 ] || until_ok 10 eval \
    '[ "$(count "$dir/zoned.log" "$line")" -ge 2 ]' || fail "$1: the secondaries did not take $line by IXFR"
  until_ok 10 eval '[ "$(count "$dir/knot2.log" "IXFR, incoming")" -gt "$knot_ixfrs" ]' ||
    fail "$1: Knot's log has no new incoming IXFR"
  knot_ixfrs=$(count "$dir/knot2.log" "IXFR, incoming")
  serial=$next
  copy
  ldns-verify-zone -t "$(date -u -d "@$now" +%Y%m%d%H%M%S)" "$dir/sec.zone" >/dev/null ||
    fail "$1: ldns-verify-zone refused the secondary's copy"
}

# resolve DSFILE: a fresh Unbound (nothing cached) through NSD, DSFILE its
# only trust anchor, at signetd's time.
resolve() {
  [ -n "$unbound_pid" ] && kill "$unbound_pid" 2>/dev/null && wait "$unbound_pid" 2>/dev/null
  unbound_pid=
  cat > "$dir/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$rport
  port: $rport
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: "$dir/unbound.pid"
  use-syslog: no
  logfile: "$dir/unbound.log"
  verbosity: 1
  val-log-level: 2
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor-file: "$1"
  val-override-date: "$(date -u -d "@$now" +%Y%m%d%H%M%S)"
  access-control: 127.0.0.0/8 allow
  so-reuseport: no
remote-control:
  control-enable: no
stub-zone:
  name: "$zone"
  stub-addr: 127.0.0.1@$sport
CONF
  unbound -c "$dir/unbound.conf" 2>> "$dir/unbound.log" &
  unbound_pid=$!
  until_ok 30 eval "drill -p $rport @127.0.0.1 $zone SOA >/dev/null 2>&1" ||
    fail "Unbound did not come up"
}
ask() {
  local out rcode ad
  out=$(drill -p "$rport" @127.0.0.1 -D "$1" "$2" 2>&1) || true
  printf '%s\n' "$out" > "$dir/last-answer"
  rcode=$(printf '%s\n' "$out" | sed -n 's/.*rcode: \([A-Z]*\).*/\1/p' | head -1)
  ad=-
  grep -q '^;; flags:.* ad[ ;]' <<<"$out" && ad=AD
  echo "${rcode:-NONE} $ad"
}
# validates WHAT DSFILE: answers and NXDOMAIN with AD from DSFILE alone.
validates() {
  resolve "$2"
  local q got
  for q in "$zone DNSKEY" "www.$zone A" "no-such-name.$zone A"; do
    got=$(ask $q)
    case "$q" in
      no-such-name*) [ "$got" = "NXDOMAIN AD" ] || fail "$1: $q: expected NXDOMAIN AD, got $got";;
      *) [ "$got" = "NOERROR AD" ] || fail "$1: $q: expected NOERROR AD, got $got";;
    esac
  done
  echo "  $1: AD from $(basename "$2") alone (answers and NXDOMAIN)"
}
# expect WHAT KSKS SIGNERS CDS: the KSKs of the secondary's DNSKEY RRset,
# the key tags of its RRSIGs and of its CDS RRset (per key-set period, the
# KSKs whose DS is wanted for the whole period; none before the first
# rollover).
expect() {
  local got_k got_s got_c
  got_k=$(ksks) got_s=$(dnskey_signers) got_c=$(cds_tags)
  [ "$got_k" = "$2" ] || fail "$1: KSKs in the DNSKEY RRset: '$got_k', expected '$2'"
  [ "$got_s" = "$3" ] || fail "$1: DNSKEY RRset signed by '$got_s', expected '$3'"
  [ "$got_c" = "$4" ] || fail "$1: CDS of '$got_c', expected '$4'"
  echo "  $1 at $(date -u -d "@$now" +%FT%TZ): serial $serial, KSKs $got_k, DNSKEY signed" \
    "by $got_s, CDS ${got_c:-none}"
}
sorted() { printf '%s\n' "$@" | sort -n | xargs echo; }

echo "== 1. one KSK ($k1); Unbound trusts its DS"
until_ok 60 serial_is "$sport" 2 || fail "NSD did not get the first signed serial"
until_ok 60 serial_is "$kport" 2 || fail "Knot did not get the first signed serial"
serial=2
knot_ixfrs=$(count "$dir/knot2.log" "IXFR, incoming")
copy
expect "start" "$k1" "$k1" ""
validates "start" "$stack/k1.ds"

echo "== 2. the ceremony makes a new KSK; the request with both is signed by both"
new_ksk k2 13
k2=$(ldns-read-zone "$stack/k2.dnskey" | grep -o 'id = [0-9]*' | awk '{print $3}')
admin rollover "$zone" add-ksk "$stack/k2.dnskey" >/dev/null
ksr 30 "$k1_id" "$k2_id"
signed_by_keyset "new KSK published"
expect "new KSK published" "$(sorted "$k1" "$k2")" "$(sorted "$k1" "$k2")" "$k1"
validates "new KSK published, the parent's DS still the old" "$stack/k1.ds"
export_ds k2 "$k2_id"

echo "== 3. Ipub (3 h) on: the parent switches to the new DS"
advance_both() { clocks $((now + $1)); }
advance_both $((4 * HOUR))
# The key set is that of the same key-set period (the CDS names the new KSK
# from the next period on): nothing to sign again, and both KSKs sign the
# DNSKEY RRset, so either DS finds a signing KSK.
copy
expect "just before the DS switch" "$(sorted "$k1" "$k2")" "$(sorted "$k1" "$k2")" "$k1"
validates "just before the DS switch" "$stack/k1.ds"
validates "just after the DS switch" "$stack/k2.ds"
[ "$(soa "$sport")" = "$serial" ] || fail "the DS switch: NSD serves serial $(soa "$sport"), not $serial"
admin rollover "$zone" ds-seen >/dev/null

echo "== 4. Ids (1 d + 2 h) on: the old KSK leaves"
advance_both $((DAY + 3 * HOUR))
ksr 30 "$k2_id"
signed_by_keyset "old KSK removed"
expect "old KSK removed" "$k2" "$k2" "$k2"
validates "old KSK removed" "$stack/k2.ds"
resolve "$stack/k1.ds"
got=$(ask "www.$zone" A)
[ "${got%% *}" = SERVFAIL ] || fail "the old DS alone still validates after its KSK left: $got"
echo "  the old DS alone: www.$zone A $got"
ldns-verify-zone -k "$stack/k2.ds" -t "$(date -u -d "@$now" +%Y%m%d%H%M%S)" "$dir/sec.zone" \
  >/dev/null 2>&1 || fail "ldns-verify-zone refused the last zone from the new DS"
echo "== KSK rollover through signet-zoned passed: serials 2..$serial, $n_req requests signed by the ceremony"
