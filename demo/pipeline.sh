#!/usr/bin/env bash
# pipeline.sh -- the second part of ./scripts/demo: signet-zoned in the
# transfer path, on loopback, on the stack the first part left (signetd's
# state and tokens, the PKI, the DS exported by the ceremony):
#
#   Knot (hidden primary, unsigned) --NOTIFY, IXFR, TSIG--> signet-zoned
#   --NOTIFY, IXFR, TSIG--> NSD (secondary) <-- Unbound (validating, the
#   exported DS its only trust anchor)
#
# signet-zoned signs through signetd with a client certificate of its own
# (signer role for the zone). Then one change travels: a name added at the
# primary reaches Unbound with AD, by IXFR in, a re-sign of what changed, and
# IXFR out. Any failed check exits non-zero.
#
# Needs the variables of scripts/lib/scenario.sh (SIGNET_BIN, SIGNET_OUT,
# SIGNET_STACK) and its stack, already built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/scripts/lib/stack.sh"
. "$root/scripts/lib/xfr.sh"

stack=${SIGNET_STACK:?SIGNET_STACK must name the stack directory of the demo}
out=${SIGNET_OUT:?SIGNET_OUT must name a directory}
bin=${SIGNET_BIN:?SIGNET_BIN must name the build directory}
signet=$bin/client/signet
signetd=$bin/signer/signetd
zoned=$bin/zoned/signet-zoned
zone=example.com
pki=$stack/pki
dir=$stack/pipeline
fail() { echo "FAILED: $*" >&2; for f in "$dir"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  true
}
trap cleanup EXIT
stack_module
export SOFTHSM2_CONF=$stack/softhsm2.conf
umask 077
mkdir -p "$dir/state" "$dir/knot"

echo "== 13. signetd again, with a client certificate for signet-zoned (signer of $zone)"
stack_cert zoned.demo "DNS:zoned.demo"
sed 's|^clients = (|&\n  { identity = "zoned.demo"; role = "signer"; zones = [ "'"$zone"'" ]; },|' \
  "$stack/signetd.conf" > "$dir/signetd.conf"
"$signetd" -c "$dir/signetd.conf" -t
port=$(awk -F'[":]' '/^listen/ {print $3}' "$dir/signetd.conf")
"$signetd" -c "$dir/signetd.conf" 2> "$dir/signetd.log" &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
cat > "$dir/zoned.client.conf" <<CONF
server 127.0.0.1:$port
server-name localhost
ca $pki/ca.pem
cert $pki/zoned.demo.pem
key $pki/zoned.demo.key
CONF

echo "== 14. Knot as the hidden primary of the unsigned $zone, NOTIFY and TSIG to zoned"
pport=$(freeport) zport=$(freeport) sport=$(freeport) rport=$(freeport) metrics=$(freeport)
newkey() { head -c 32 /dev/urandom | base64 > "$1"; }
newkey "$dir/xfr-in.key"
newkey "$dir/xfr-out.key"
serial=$(awk '$3 == "SOA" {print $6; exit}' "$root/demo/example.com.zone")
[ "$serial" -gt 0 ] || fail "no serial in demo/example.com.zone"
cp "$root/demo/example.com.zone" "$dir/knot/$zone.zone"
xfr_knot_primary "$dir/knot" "$pport" xfr-in "$(cat "$dir/xfr-in.key")" "$zport" info

echo "== 15. signet-zoned: $zone in from Knot, signed through signetd, out to NSD"
cat > "$dir/zoned.conf" <<CONF
listen = "127.0.0.1:$zport";
metrics = "127.0.0.1:$metrics";
state-dir = "$dir/state";
signetd = "$dir/zoned.client.conf";
keys = (
  { name = "xfr-in";  algorithm = "hmac-sha256"; secret-file = "$dir/xfr-in.key"; },
  { name = "xfr-out"; algorithm = "hmac-sha256"; secret-file = "$dir/xfr-out.key"; }
);
zones = (
  { name = "$zone"; serial = "increment";
    primaries = ( { address = "127.0.0.1:$pport"; key = "xfr-in"; } );
    secondaries = ( { range = "127.0.0.1/32"; key = "xfr-out"; notify = "127.0.0.1:$sport"; } ); }
);
CONF
"$zoned" -c "$dir/zoned.conf" -t
"$zoned" -c "$dir/zoned.conf" -v 2> "$dir/zoned.log" &
pids+=($!)

echo "== 16. NSD as a secondary of zoned; Unbound validating through it from the exported DS"
xfr_nsd_secondary "$dir/nsd" "$sport" xfr-out "$(cat "$dir/xfr-out.key")" "$zport" 2
grep -E '^[^;]*[[:space:]]DS[[:space:]]' "$out/example.com.ds" > "$dir/trust.ds"
stack_unbound_conf "$dir" "$rport" "$sport"
unbound -c "$dir/unbound.conf" 2>> "$dir/unbound.log" &
pids+=($!)
resolver_port=$rport

soa() { kdig -p "$1" @127.0.0.1 -y "hmac-sha256:xfr-out:$(cat "$dir/xfr-out.key")" "$zone" SOA \
  +short +timeout=1 +retry=0 2>/dev/null | awk 'NR == 1 {print $3}'; }
# Wait (at most 60 s: a bound for a broken run, not a pace) until $1 serves $2.
wait_serial() {
  local _
  for _ in $(seq 600); do
    [ "$(soa "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  local now
  now=$(soa "$1")
  fail "serial $2 never reached port $1, which serves ${now:-nothing}"
}
first=$((serial + 1))   # the increment policy: one past the primary's
wait_serial "$zport" "$first"
wait_serial "$sport" "$first"
echo "zoned signed serial $first from Knot's $serial; NSD transferred it from zoned"
grep -E "zoned: $zone\.: serial|AXFR to|IXFR to" "$dir/zoned.log" | sed 's/^/  zoned: /'
stack_expect_ad "Unbound: " "$zone SOA" "www.$zone A" "no-such-name.$zone A"

echo "== 17. one change at the primary travels: NOTIFY, IXFR in, re-sign, NOTIFY, IXFR out"
# (Asked of NSD, not of Unbound: Unbound would keep the NSEC proof.)
got=$(kdig -p "$sport" @127.0.0.1 "pipeline.$zone" A +norec +timeout=2 | grep -o 'status: [A-Z]*')
[ "$got" = "status: NXDOMAIN" ] || fail "pipeline.$zone before the change: $got"
sed "s/ $serial / $((serial + 1)) /" "$root/demo/example.com.zone" > "$dir/knot/$zone.zone"
printf 'pipeline IN A 192.0.2.77\n' >> "$dir/knot/$zone.zone"
knotc -s "$dir/knot/knot.sock" zone-reload "$zone" >/dev/null
wait_serial "$sport" "$((first + 1))"
grep -E "NOTIFY from|serial $((first + 1)) signed|from serial $first to" "$dir/zoned.log" \
  | sed 's/^/  zoned: /'
grep -q "serial $((first + 1)) signed (IXFR)" "$dir/zoned.log" || fail "zoned did not sign the change by IXFR"
grep -q "IXFR to 127.0.0.1.* from serial $first to $((first + 1))" "$dir/zoned.log" \
  || fail "NSD did not take the change by IXFR"
got=$(stack_ask "pipeline.$zone" A)
echo "  Unbound: pipeline.$zone A: $got"
[ "$got" = "NOERROR AD" ] || fail "pipeline.$zone after the change: expected NOERROR with AD, got $got"
curl -sf "http://127.0.0.1:$metrics/metrics" | grep -E '^signet_zoned_(serial_out|rrsigs_(made|reused)_total)' \
  | sed 's/^/  /' || true
echo "== pipeline passed: logs in $dir"
