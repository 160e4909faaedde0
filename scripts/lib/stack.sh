# stack.sh -- the whole signet stack on one machine, as functions for
# scripts/demo and scripts/bench: a private SoftHSM2, the online (ZSK) token,
# three operators with a 2-of-3 ceremony policy, the KSK token and a KSK made
# in a ceremony, a throw-away PKI, signetd on loopback with mutual TLS, and a
# zone whose key-signing request the ceremony signs.
#
# Source it from bash (set -euo pipefail), then set before calling anything:
#   stack     directory that holds every file of the stack (tokens, state, PKI)
#   signet signetd ceremony   paths of the three binaries
#   zone      the zone's apex, e.g. example.com
# The functions print what the tools print; the callers add their own headings.
# Call stack_cleanup on exit (it stops signetd).

daemon_pid=

stack_cleanup() {
  stack_resolver_stop
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  true
}

# Sets module (libsofthsm2.so) and exports SIGNET_PKCS11_MODULE.
stack_module() {
  module=
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -f "$m" ] && module=$m && break
  done
  [ -n "$module" ] || { echo "libsofthsm2.so not found" >&2; exit 1; }
  export SIGNET_PKCS11_MODULE=$module
}

# A SoftHSM2 of our own: its tokens live in $stack only. Secrets created from
# here on are readable by their owner only.
stack_softhsm() {
  mkdir -p "$stack/tokens"
  cat > "$stack/softhsm2.conf" <<CONF
directories.tokendir = $stack/tokens
objectstore.backend = file
log.level = ERROR
CONF
  export SOFTHSM2_CONF=$stack/softhsm2.conf
  umask 077
}

# Secrets are random, in files only their owner can read; never on a command line.
newsecret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$1"; }

# The online (ZSK) token for signetd, qualified by the HSM self-test running
# $1 seconds per algorithm.
stack_zsk_token() {
  newsecret "$stack/zsk-token.so-pin"
  newsecret "$stack/zsk-token.pin"
  "$signet" hsm init --token signet-zsk --so-pin "file:$stack/zsk-token.so-pin" \
    --pin "file:$stack/zsk-token.pin"
  "$signet" hsm test --token signet-zsk --pin "file:$stack/zsk-token.pin" --seconds "$1"
}

# Three operators enroll; a 2-of-3 policy for the KSK token (policy_extra:
# more policy-new options, unquoted). Sets cer.
stack_operators() {
  ops=(alice bob carol)
  cer=$stack/ceremony
  mkdir -p "$cer/state" "$cer/ops" "$cer/shares" "$cer/work" "$cer/machine"
  # The ceremony machine's own configuration names the module (in
  # production /etc/signet/ceremony.conf, root's): never the directory.
  chmod 755 "$cer/machine"
  printf 'signet-ceremony-config 1\nmodule %s\n' "$module" > "$cer/machine/ceremony.conf"
  chmod 644 "$cer/machine/ceremony.conf"
  export SIGNET_CEREMONY_CONF=$cer/machine/ceremony.conf
  for op in "${ops[@]}"; do
    newsecret "$cer/ops/$op.pass"
    "$ceremony" enroll --name "$op" --key "$cer/ops/$op.key" --pub "$cer/ops/$op.pub" \
      --passphrase "file:$cer/ops/$op.pass"
  done
  "$ceremony" policy-new --out "$cer/work/policy" --serial 1 --threshold 2 \
    --operator "$cer/ops/alice.pub" --operator "$cer/ops/bob.pub" --operator "$cer/ops/carol.pub" \
    --module "$module" --label signet-ksk --alg 13 --alg 15 ${policy_extra:-}
  for op in alice bob; do
    "$ceremony" policy-sign --policy "$cer/work/policy" --key "$cer/ops/$op.key" \
      --passphrase "file:$cer/ops/$op.pass"
  done
  "$ceremony" policy-adopt --dir "$cer/state" --policy "$cer/work/policy"
}

# One ceremony step: a request, two approvals, execution with two shares.
# Usage: step NAME OP "approver approver" "share-holder share-holder" [request and execute args]
step() {
  local name=$1 op=$2 approvers=$3 holders=$4; shift 4
  local req=("$ceremony" request --dir "$cer/state" --op "$op" --out "$cer/work/$name.req")
  local exe=("$ceremony" execute --dir "$cer/state" --request "$cer/work/$name.req")
  while [ $# -gt 0 ]; do
    case $1 in
      --zone|--param|--keyset) req+=("$1" "$2"); [ "$1" = --keyset ] && exe+=("$1" "$2"); shift 2;;
      *) exe+=("$1" "$2"); shift 2;;
    esac
  done
  "${req[@]}" >/dev/null
  for a in $approvers; do
    "$ceremony" approve --request "$cer/work/$name.req" --key "$cer/ops/$a.key" \
      --passphrase "file:$cer/ops/$a.pass" --out "$cer/work/$name.$a.approval" >/dev/null
    exe+=(--approval "$cer/work/$name.$a.approval")
  done
  for h in $holders; do
    exe+=(--share "$h=$cer/shares/$h.share" --pass "$h=file:$cer/ops/$h.pass")
  done
  "${exe[@]}"
}

# The KSK token: the ceremony initialises it; its user and SO PINs are
# random, split 2-of-3 and sealed per operator.
stack_ksk_token() {
  step init init-token "alice bob" "" --shares-out "$cer/shares" \
    --pass "alice=file:$cer/ops/alice.pass" --pass "bob=file:$cer/ops/bob.pass" \
    --pass "carol=file:$cer/ops/carol.pass"
}

# The KSK of $zone with algorithm $1 (alice and carol approve and bring
# shares). Sets ksk_id; the DNSKEY goes to $stack/ksk.dnskey.
stack_create_ksk() {
  step ksk create-ksk "alice carol" "alice carol" --zone "$zone" --param "algorithm=$1" \
    --out "$cer/work/ksk.txt"
  ksk_id=$(awk '$1 == ";" && $2 == "key-id" {print $3}' "$cer/work/ksk.txt")
  grep -E '^[^;]*[[:space:]]DNSKEY[[:space:]]' "$cer/work/ksk.txt" > "$stack/ksk.dnskey"
}

# One certificate of the PKI: stack_cert NAME SAN.
stack_cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$2" > "$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 30 -extfile "$pki/$1.ext" -out "$pki/$1.pem" 2>/dev/null
}

# A throw-away PKI: CA, signetd's certificate, an admin and a nameserver
# client. Sets pki.
stack_pki() {
  pki=$stack/pki
  mkdir -p "$pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=signet demo CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
  stack_cert signetd "DNS:localhost,IP:127.0.0.1"
  stack_cert admin.demo "DNS:admin.demo"
  stack_cert ns1.demo "DNS:ns1.demo"
}

# signetd's TLS key in a token of its own (docs/HSM.md, "Which token"):
# `signet hsm tls-key` generates it there (never extractable) with a
# certificate request signed in the token, which the demo CA signs in place
# of $pki/signetd.pem. Call after stack_pki; stack_signetd then names the key
# by its PKCS#11 URI, with its PIN source in tls-key-pin. Sets tls_key_uri.
stack_tls_token() {
  newsecret "$stack/tls-token.so-pin"
  newsecret "$stack/tls-token.pin"
  "$signet" hsm init --token signet-tls --so-pin "file:$stack/tls-token.so-pin" \
    --pin "file:$stack/tls-token.pin"
  tls_key_uri=$("$signet" hsm tls-key --token signet-tls --pin "file:$stack/tls-token.pin" \
    --name signetd --cn localhost --san DNS:localhost,IP:127.0.0.1 --csr "$pki/signetd.csr")
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$pki/signetd.ext"
  openssl x509 -req -in "$pki/signetd.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 30 -extfile "$pki/signetd.ext" -out "$pki/signetd.pem" 2>/dev/null
  # The PEM key made by stack_pki is not signetd's any more.
  rm -f "$pki/signetd.key"
  echo "signetd's TLS key: $tls_key_uri"
}

freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# signetd on loopback with mutual TLS; extra configuration lines (e.g.
# "cache-size = 1000;") may be given as arguments; admin_zones (default
# "$zone", quoted) is the admin's zones list ("*" for the test clock);
# extra_clients, more entries of the clients list (each ending in a comma).
# Sets port, mport, daemon_pid; writes a client config per identity
# ($stack/WHO.client.conf).
stack_signetd() {
  port=$(freeport)
  mport=$(freeport)
  mkdir -p "$stack/state"
  # signetd refuses to stay root: as root, it runs as nobody, which gets the
  # state directory and the online token (not the KSK token); the PIN and
  # the TLS key stay root's, read before the drop.
  signetd_user=
  if [ "$(id -u)" = 0 ]; then
    signetd_user=nobody
    local zsk tok
    zsk=$(grep -l 'signet-zsk' "$stack"/tokens/*/token.object)
    chown -R "$signetd_user": "$stack/state" "$(dirname "$zsk")"
    if [ -n "${tls_key_uri:-}" ]; then
      tok=$(grep -l 'signet-tls' "$stack"/tokens/*/token.object)
      chown -R "$signetd_user": "$(dirname "$tok")"
    fi
    # it must reach them: search (not read) permission on the way there,
    # given where it is missing (mktemp makes 0700 directories)
    local d=$stack/tokens
    while [ "$d" != / ]; do
      case $(stat -c %A "$d") in
        *x) ;;
        *) echo "stack: o+x on $d so that $signetd_user reaches its files"; chmod o+x "$d" ;;
      esac
      d=$(dirname "$d")
    done
  fi
  {
    cat <<CONF
listen = "127.0.0.1:$port";
tls-cert = "$pki/signetd.pem";
tls-key = "${tls_key_uri:-$pki/signetd.key}";
tls-ca = "$pki/ca.pem";
pkcs11-module = "$module";
token-label = "signet-zsk";
pin = "file:$stack/zsk-token.pin";
state-dir = "$stack/state";
workers = 2;
metrics = "127.0.0.1:$mport";
CONF
    [ -n "${tls_key_uri:-}" ] && printf 'tls-key-pin = "file:%s";\n' "$stack/tls-token.pin"
    local line
    for line in "$@"; do printf '%s\n' "$line"; done
    [ -n "$signetd_user" ] && printf 'user = "%s";\n' "$signetd_user"
    cat <<CONF
clients = (${extra_clients:-}
  { identity = "admin.demo"; role = "admin";  zones = [ ${admin_zones:-"\"$zone\""} ]; },
  { identity = "ns1.demo";   role = "signer"; zones = [ "$zone" ]; }
);
CONF
  } > "$stack/signetd.conf"
  "$signetd" -c "$stack/signetd.conf" -t
  "$signetd" -c "$stack/signetd.conf" 2> "$stack/signetd.log" &
  daemon_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$stack/signetd.log"; exit 1; }
    sleep 0.1
  done
  local who
  for who in admin.demo ns1.demo; do
    cat > "$stack/$who.client.conf" <<CONF
server 127.0.0.1:$port
server-name localhost
ca $pki/ca.pem
cert $pki/$who.pem
key $pki/$who.key
CONF
  done
}

admin() { local c=$1; shift; "$signet" "$c" --config "$stack/admin.demo.client.conf" "$@"; }
ns1() { local c=$1; shift; "$signet" "$c" --config "$stack/ns1.demo.client.conf" "$@"; }

# The zone in signetd with algorithm $1: its KSK from the ceremony, a ZSK in
# the online token, and the key-signing request for 14 days.
stack_zone() {
  admin add-zone "$zone" --ksk "$stack/ksk.dnskey" --algorithm "$1"
  admin generate-zsk "$zone"
  admin export-ksr "$zone" "$stack/ksr.txt" --days 14
}

# The ceremony signs the key-signing request (bob and carol); signetd imports
# the bundle, which activates the ZSK.
stack_bundle() {
  step sign sign-keyset "bob carol" "bob carol" --zone "$zone" --param "key-id=$ksk_id" \
    --keyset "$stack/ksr.txt" --out "$stack/bundle.txt"
  admin import-bundle "$zone" "$stack/bundle.txt"
}

# The server section of an NSD of our own on 127.0.0.1@$2, its files in $1,
# running as the caller without chroot; the caller writes what follows
# (logging, the zone).
stack_nsd_server() {
  cat <<CONF
server:
  ip-address: 127.0.0.1@$2
  port: $2
  username: ""
  chroot: ""
  zonesdir: "$1"
  database: ""
  zonelistfile: "$1/zone.list"
  pidfile: "$1/nsd.pid"
  xfrdfile: "$1/xfrd.state"
  xfrdir: "$1"
CONF
}

# A validating Unbound's configuration, $1/unbound.conf: on 127.0.0.1@$2,
# its files and log in $1, the DS records in $1/trust.ds its only trust
# anchor, $zone asked of 127.0.0.1@$3. No aggressive use of NSEC: a name
# added to the zone is asked of the server, not denied from the cache.
stack_unbound_conf() {
  cat > "$1/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$2
  port: $2
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$1"
  pidfile: "$1/unbound.pid"
  use-syslog: no
  logfile: "$1/unbound.log"
  verbosity: 1
  val-log-level: 2
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor-file: "$1/trust.ds"
  access-control: 127.0.0.0/8 allow
  # Alone on its port: with SO_REUSEPORT another test's Unbound on the same
  # port would answer some of our queries (without AD).
  so-reuseport: no
  aggressive-nsec: no
remote-control:
  control-enable: no
stub-zone:
  name: "$zone"
  stub-addr: 127.0.0.1@$3
CONF
}

# Serve the signed zone file $1 with NSD on loopback and resolve through a
# validating Unbound whose only trust anchor is the DS file $2. Sets nsd_port,
# resolver_port, nsd_pid, unbound_pid; stack_resolver_stop ends both.
stack_resolver() {
  local signed=$1 ds=$2 dir=$stack/resolver
  mkdir -p "$dir"
  cp "$signed" "$dir/zone"
  grep -E '^[^;]*[[:space:]]DS[[:space:]]' "$ds" > "$dir/trust.ds"
  nsd_port=$(freeport)
  resolver_port=$(freeport)
  { stack_nsd_server "$dir" "$nsd_port"; cat <<CONF
  logfile: "$dir/nsd.log"
remote-control:
  control-enable: no
zone:
  name: $zone
  zonefile: $dir/zone
CONF
  } > "$dir/nsd.conf"
  stack_unbound_conf "$dir" "$resolver_port" "$nsd_port"
  nsd-checkconf "$dir/nsd.conf"
  unbound-checkconf "$dir/unbound.conf" >/dev/null
  nsd -c "$dir/nsd.conf" -d 2>> "$dir/nsd.log" &
  nsd_pid=$!
  unbound -c "$dir/unbound.conf" 2>> "$dir/unbound.log" &
  unbound_pid=$!
  local _
  for _ in $(seq 100); do
    drill -p "$resolver_port" @127.0.0.1 "$zone" SOA >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "resolver did not come up" >&2
  cat "$dir/nsd.log" "$dir/unbound.log" >&2
  return 1
}

stack_resolver_stop() {
  [ -n "${unbound_pid:-}" ] && kill "$unbound_pid" 2>/dev/null && wait "$unbound_pid" 2>/dev/null
  [ -n "${nsd_pid:-}" ] && kill "$nsd_pid" 2>/dev/null && wait "$nsd_pid" 2>/dev/null
  unbound_pid= nsd_pid=
  true
}

# Ask the resolver each "NAME TYPE" given; each answer, printed after $1,
# must be NOERROR with AD, or NXDOMAIN with AD for a name starting
# no-such-name. The caller's fail() reports the first that is not.
stack_expect_ad() {
  local prefix=$1 q got
  shift
  for q in "$@"; do
    # shellcheck disable=SC2086 # "NAME TYPE": two words
    got=$(stack_ask $q)
    echo "  $prefix$q: $got"
    case "$q" in
      no-such-name*) [ "$got" = "NXDOMAIN AD" ] || fail "$q: expected NXDOMAIN with AD, got $got";;
      *) [ "$got" = "NOERROR AD" ] || fail "$q: expected NOERROR with AD, got $got";;
    esac
  done
}

# Ask the resolver for NAME TYPE with DO; prints "RCODE AD" or "RCODE -".
stack_ask() {
  local out rcode ad
  out=$(drill -p "$resolver_port" @127.0.0.1 -D "$1" "$2" 2>&1) || true
  rcode=$(printf '%s\n' "$out" | sed -n 's/.*rcode: \([A-Z]*\).*/\1/p' | head -1)
  ad=-
  grep -q '^;; flags:.* ad[ ;]' <<<"$out" && ad=AD
  echo "${rcode:-NONE} $ad"
}
