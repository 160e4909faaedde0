# xfr.sh -- the name servers around signet-zoned on loopback, as functions
# for demo/pipeline.sh and bench/bench_zoned.sh: Knot as the hidden primary
# of a zone, NSD as the secondary, both transferring with TSIG.
#
# Source it from bash (set -euo pipefail) after stack.sh and set before
# calling:
#   zone   the zone's apex, e.g. example.com
#   pids   an array: each function appends the pid of the server it starts,
#          for the caller's cleanup to stop
# A TSIG key is given as its name and its secret (base64, hmac-sha256); the
# secret goes into a configuration file, never onto a command line.

# Knot as the hidden primary of $zone, started in the background.
#   $1  its directory: configuration (knot.conf), database (db/), control
#       socket (knot.sock), and the zone file $zone.zone, which the caller
#       writes first; the log goes to $1.log
#   $2  the port it listens on at 127.0.0.1
#   $3 $4  the TSIG key's name and secret: transfers from 127.0.0.1 and the
#       NOTIFY it sends are signed with it
#   $5  the port at 127.0.0.1 it NOTIFYs of a change (zoned)
#   $6  its log level (default warning)
# zonefile-load difference and journal-content changes: a reload of a
# changed zone file (knotc -s $1/knot.sock zone-reload) becomes a
# difference in the journal, which Knot answers IXFR from.
xfr_knot_primary() {
  local dir=$1 port=$2 key=$3 secret=$4 notify=$5 level=${6:-warning}
  mkdir -p "$dir/db"
  cat > "$dir/knot.conf" <<CONF
server:
  listen: 127.0.0.1@$port
  rundir: $dir
control:
  listen: $dir/knot.sock
database:
  storage: $dir/db
log:
  - target: stderr
    any: $level
key:
  - id: $key
    algorithm: hmac-sha256
    secret: $secret
remote:
  - id: downstream
    address: 127.0.0.1@$notify
    key: $key
acl:
  - id: transfer
    address: 127.0.0.1
    key: $key
    action: transfer
zone:
  - domain: $zone
    storage: $dir
    file: "$zone.zone"
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    notify: downstream
    acl: transfer
CONF
  knotd -c "$dir/knot.conf" 2> "$dir.log" &
  pids+=($!)
}

# NSD as a secondary of $zone, started in the background (not detached).
#   $1  its directory: configuration (nsd.conf), the zone file, xfrd's
#       state; the log goes to $1.log
#   $2  the port it listens on at 127.0.0.1
#   $3 $4  the TSIG key's name and secret: its transfer requests and the
#       NOTIFY it accepts are signed with it
#   $5  the port at 127.0.0.1 of its primary (zoned)
#   $6  its verbosity (default 1)
xfr_nsd_secondary() {
  local dir=$1 port=$2 key=$3 secret=$4 primary=$5 verbosity=${6:-1}
  mkdir -p "$dir"
  { stack_nsd_server "$dir" "$port"; cat <<CONF
  verbosity: $verbosity
remote-control:
  control-enable: no
key:
  name: $key
  algorithm: hmac-sha256
  secret: "$secret"
zone:
  name: $zone
  zonefile: "$dir/$zone.zone"
  request-xfr: 127.0.0.1@$primary $key
  allow-notify: 127.0.0.1 $key
CONF
  } > "$dir/nsd.conf"
  nsd -d -c "$dir/nsd.conf" 2> "$dir.log" &
  pids+=($!)
}
