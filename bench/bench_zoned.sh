#!/usr/bin/env bash
# bench_zoned.sh -- signet-zoned in the transfer path on the 100k bench zone:
# Knot as the hidden primary (TSIG, NOTIFY, IXFR from its journal), zoned
# signing through a real signetd (ZSK in SoftHSM2), NSD as the secondary.
# Times, for NSEC and NSEC3: the first transfer and whole sign (zoned's
# start to zoned serving the signed serial, then to NSD having it), and a
# 1% change (knotc zone-reload, which NOTIFYs zoned, to zoned serving the
# new serial and to NSD having it by IXFR), with zoned's CPU seconds and
# peak RSS. Side by side, Knot's own inline signing of the same zone and
# change with its keys in a SoftHSM2 token (knot_run). Not run by ctest
# (minutes); results in docs/BENCHMARKS.md.
#
# usage: bench/bench_zoned.sh [NAMES] (default 100000), from the source tree;
# ZONED_ONLY=1 or KNOT_ONLY=1 runs one side; MODES="nsec" runs one chain;
# ZONED_WRAP="heaptrack -o /tmp/ht-zoned" runs zoned under a profiler (its
# RSS column is then the wrapper's, not zoned's).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
names=${1:-100000}
build=${SIGNET_BUILD_DIR:-$root/build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target gen_zone signet signetd signet-ceremony signet-zoned >/dev/null
signet=$build/client/signet
signetd=$build/signer/signetd
ceremony=$build/ceremony/signet-ceremony
zoned=$build/zoned/signet-zoned
for tool in knotd knotc nsd kdig; do
  command -v "$tool" >/dev/null || { echo "bench_zoned: $tool is missing (apt-get install knot nsd knot-dnsutils)" >&2; exit 1; }
done
# shellcheck source=../scripts/lib/stack.sh
. "$root/scripts/lib/stack.sh"
# shellcheck source=../scripts/lib/xfr.sh
. "$root/scripts/lib/xfr.sh"

say() { printf '%s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
hwm_of() { awk '$1 == "VmHWM:" { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
serial_at() {
  kdig -p "$1" @127.0.0.1 -y "hmac-sha256:xfr:$secret" "$zone" SOA +short \
    +timeout=2 +retry=0 2>/dev/null | awk 'NR == 1 {print $3}'
}
# Wait (up to $3 s) until the server on port $1 serves the zone at serial $2.
wait_serial() {
  local end=$((SECONDS + $3))
  while [ "$(serial_at "$1")" != "$2" ]; do
    if [ $SECONDS -ge $end ]; then
      echo "bench_zoned: port $1 never served $zone at $2" >&2
      for f in "$stack"/*.log; do echo "== $f" >&2; tail -n 5 "$f" >&2; done
      exit 1
    fi
    sleep 0.05
  done
}
pids=()
stack=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pids=()
  stack_cleanup
  daemon_pid=
  [ -n "$stack" ] && [ -z "${KEEP:-}" ] && rm -rf "$stack"
  stack=
}
trap cleanup EXIT
stack_module

# Knot as the hidden primary of $zone on port $1 at 127.0.0.1, NOTIFYing
# port $2, serving serial 1000 of the bench zone, and $stack/v2.zone (1001,
# 1% changed) written for the change; returns once it answers.
primary() {
  mkdir -p "$stack/knot"
  "$build/bench/gen_zone" "$zone." "$names" | sed 's/ 2026112701 / 1000 /' > "$stack/knot/$zone.zone"
  "$build/bench/gen_zone" --change 1 "$zone." "$names" | sed 's/ 2026112701 / 1001 /' \
    > "$stack/v2.zone"
  xfr_knot_primary "$stack/knot" "$1" xfr "$secret" "$2"
  for _ in $(seq 100); do [ -n "$(serial_at "$1")" ] && break; sleep 0.1; done
}

# One run: $1 is nsec or nsec3.
run() {
  local mode=$1
  zone=$mode.bench
  stack=$(mktemp -d /tmp/signet-bench-zoned-XXXXXX)
  local nsec3=
  [ "$mode" = nsec3 ] && nsec3=--nsec3
  {
    stack_softhsm
    stack_zsk_token 0.1
    stack_operators
    stack_ksk_token
    stack_create_ksk 13
    stack_pki
    stack_signetd
    admin add-zone "$zone" --ksk "$stack/ksk.dnskey" --algorithm 13 $nsec3
    admin generate-zsk "$zone"
    admin export-ksr "$zone" "$stack/ksr.txt" --days 14
    stack_bundle
  } > "$stack/setup.log" 2>&1 || { cat "$stack/setup.log"; exit 1; }
  local kport zport zmport nport
  kport=$(freeport); zport=$(freeport); zmport=$(freeport); nport=$(freeport)
  secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n' | xxd -r -p | base64)
  printf '%s' "$secret" > "$stack/xfr.key"
  mkdir -p "$stack/zstate"
  primary "$kport" "$zport"
  cat > "$stack/zoned.conf" <<CONF
listen = "127.0.0.1:$zport";
metrics = "127.0.0.1:$zmport";
state-dir = "$stack/zstate";
signetd = "$stack/ns1.demo.client.conf";
keys = ( { name = "xfr"; algorithm = "hmac-sha256"; secret-file = "$stack/xfr.key"; } );
zones = (
  { name = "$zone"; serial = "increment"; max-rrs = 10000000; transfer-timeout = 600;
    primaries = ( { address = "127.0.0.1:$kport"; key = "xfr"; } );
    secondaries = ( { range = "127.0.0.0/8"; key = "xfr"; notify = "127.0.0.1:$nport"; } ); }
);
CONF
  local t0 zpid
  t0=$(now)
  # shellcheck disable=SC2086 # ZONED_WRAP is a command and its words
  ${ZONED_WRAP:-} "$zoned" -c "$stack/zoned.conf" -v 2> "$stack/zoned.log" &
  zpid=$!
  pids+=($zpid)
  local sd0
  sd0=$(cpu_of "$daemon_pid")
  wait_serial "$zport" 1001 900
  local t_full c_full sd_full
  t_full=$(since "$t0")
  c_full=$(cpu_of "$zpid")
  sd_full=$(minus "$(cpu_of "$daemon_pid")" "$sd0")
  xfr_nsd_secondary "$stack/nsd" "$nport" xfr "$secret" "$zport"
  wait_serial "$nport" 1001 900
  local t_full_sec
  t_full_sec=$(since "$t0")
  say "| $mode | first transfer and whole sign | $t_full | $t_full_sec | $c_full (signetd $sd_full) | $(hwm_of "$zpid") |"
  # The 1% change: Knot loads the difference and NOTIFYs zoned.
  cp "$stack/v2.zone" "$stack/knot/$zone.zone"
  local c0 t1 sd1
  c0=$(cpu_of "$zpid")
  sd1=$(cpu_of "$daemon_pid")
  t1=$(now)
  knotc -s "$stack/knot/knot.sock" zone-reload "$zone" >/dev/null
  wait_serial "$zport" 1002 ${WAIT:-900}
  local t_inc c_inc at_zoned at_nsd
  at_zoned=$(now)
  t_inc=$(since "$t1")
  c_inc=$(minus "$(cpu_of "$zpid")" "$c0")
  wait_serial "$nport" 1002 900
  at_nsd=$(now)
  say "| $mode | 1% change (IXFR) | $t_inc | $(since "$t1") | $c_inc (signetd $(minus "$(cpu_of "$daemon_pid")" "$sd1")) | $(hwm_of "$zpid") |"
  # Issue 14 times the change from the primary's NOTIFY (its arrival in
  # zoned's log), leaving out Knot's reload of the zone file before it.
  local notified
  notified=$(awk '/NOTIFY from/ {print $1; exit}' "$stack/zoned.log")
  if [ -n "$notified" ]; then
    notified=$(date -d "$notified" +%s.%N)
    awk -v n="$notified" -v z="$at_zoned" -v s="$at_nsd" -v f="$t_full" 'BEGIN {
      printf "    from the primary'"'"'s NOTIFY: zoned'"'"'s new serial %.2f s, NSD'"'"'s %.2f s (%.3f of the whole sign)\n",
        z - n, s - n, (s - n) / f }'
  fi
  grep -E "signed \(|IXFR to" "$stack/zoned.log" | sed 's/^/    /' | tail -4
  grep -c "IXFR" "$stack/nsd.log" >/dev/null && say "    (NSD: $(grep -m1 -o 'IXFR[^,]*' "$stack/nsd.log" || true))"
  # A restart: zoned reads the stored version and its journal back and
  # serves them without signing anything. RESTART_SIGNAL=KILL stops it
  # with kill -9: the 1% change, a journal step only, is then replayed.
  kill -"${RESTART_SIGNAL:-TERM}" "$zpid"
  wait "$zpid" 2>/dev/null || true
  local t2
  t2=$(now)
  # shellcheck disable=SC2086 # ZONED_WRAP is a command and its words
  ${ZONED_WRAP:-} "$zoned" -c "$stack/zoned.conf" -v 2>> "$stack/zoned.log" &
  zpid=$!
  pids+=($zpid)
  wait_serial "$zport" 1002 900
  say "| $mode | restart after SIG${RESTART_SIGNAL:-TERM}, serving the stored version | $(since "$t2") | | $(cpu_of "$zpid") | $(hwm_of "$zpid") |"
  cleanup
}

# Knot's own inline signing of the same zone and change, as the closest peer:
# a second knotd, secondary of the same kind of hidden primary, with
# dnssec-signing on and its keys made and kept in a SoftHSM2 token through
# its PKCS#11 keystore (ECDSA P-256, signing-threads 2 as signetd's 2
# workers). $1 is nsec or nsec3. Times from the signer's start to its first
# signed serial, and from knotc zone-reload at the primary to its next one;
# the signer's CPU seconds and peak RSS.
knot_run() {
  local mode=$1
  zone=$mode.bench
  stack=$(mktemp -d /tmp/signet-bench-knot-XXXXXX)
  stack_softhsm
  newsecret "$stack/knot-token.so-pin"
  newsecret "$stack/knot-token.pin"
  "$signet" hsm init --token knot-signer --so-pin "file:$stack/knot-token.so-pin" \
    --pin "file:$stack/knot-token.pin" > "$stack/setup.log" 2>&1 \
    || { cat "$stack/setup.log"; exit 1; }
  local kport sport n3=off
  [ "$mode" = nsec3 ] && n3=on
  kport=$(freeport); sport=$(freeport)
  secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n' | xxd -r -p | base64)
  mkdir -p "$stack/signer/db"
  # The PIN is in the signer's configuration, a file only we can read.
  ( umask 077
    cat > "$stack/signer.conf" <<CONF
server:
  listen: 127.0.0.1@$sport
  rundir: $stack/signer
control:
  listen: $stack/signer/knot.sock
database:
  storage: $stack/signer/db
log:
  - target: stderr
    any: notice
key:
  - id: xfr
    algorithm: hmac-sha256
    secret: $secret
remote:
  - id: primary
    address: 127.0.0.1@$kport
    key: xfr
acl:
  - id: notify
    address: 127.0.0.1
    key: xfr
    action: [notify, transfer]
keystore:
  - id: hsm
    backend: pkcs11
    config: "pkcs11:token=knot-signer;pin-value=$(cat "$stack/knot-token.pin") $module"
policy:
  - id: bench
    keystore: hsm
    algorithm: ecdsap256sha256
    nsec3: $n3
    nsec3-iterations: 0
    nsec3-salt-length: 0
    signing-threads: 2
zone:
  - domain: $zone
    storage: $stack/signer
    master: primary
    acl: notify
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
    dnssec-signing: on
    dnssec-policy: bench
CONF
  )
  primary "$kport" "$sport"
  local t0 spid s0
  t0=$(now)
  knotd -c "$stack/signer.conf" 2> "$stack/signer.log" &
  spid=$!
  pids+=($spid)
  # Signed once its SOA comes with an RRSIG.
  local end=$((SECONDS + 900))
  until kdig -p "$sport" @127.0.0.1 "$zone" SOA +dnssec +timeout=2 +retry=0 2>/dev/null \
      | grep -q 'RRSIG.*SOA'; do
    [ $SECONDS -ge $end ] && { echo "bench_zoned: Knot never signed $zone" >&2; tail "$stack/signer.log" >&2; exit 1; }
    sleep 0.05
  done
  s0=$(serial_at "$sport")
  say "| $mode | Knot inline signing: first transfer and whole sign | $(since "$t0") | | $(cpu_of "$spid") | $(hwm_of "$spid") |"
  cp "$stack/v2.zone" "$stack/knot/$zone.zone"
  local c0 t1
  c0=$(cpu_of "$spid")
  t1=$(now)
  knotc -s "$stack/knot/knot.sock" zone-reload "$zone" >/dev/null
  end=$((SECONDS + 900))
  while [ "$(serial_at "$sport")" = "$s0" ]; do
    [ $SECONDS -ge $end ] && { echo "bench_zoned: Knot never re-signed $zone" >&2; exit 1; }
    sleep 0.05
  done
  say "| $mode | Knot inline signing: 1% change (IXFR) | $(since "$t1") | | $(minus "$(cpu_of "$spid")" "$c0") | $(hwm_of "$spid") |"
  grep -m2 -E "signing|DNSSEC" "$stack/signer.log" | sed 's/^/    /' || true
  cleanup
}

say "# bench_zoned $(date -u +%Y-%m-%dT%H:%MZ), $names names, $(nproc) cores, load at start $(cut -d' ' -f1-3 /proc/loadavg)"
say ""
say "| chain | what | s to the signer's new serial | s to NSD's new serial | signer CPU s | signer peak RSS MiB |"
say "| --- | --- | --- | --- | --- | --- |"
for mode in ${MODES:-nsec nsec3}; do
  [ -z "${KNOT_ONLY:-}" ] && run "$mode"
  [ -z "${ZONED_ONLY:-}" ] && knot_run "$mode"
done
say ""
say "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
