# ceremony.sh -- sourced by the rollover scenarios (rollover.sh,
# zoned_ksk.sh) after scripts/lib/stack.sh: signetd's test clock, and the
# KSK ceremony's steps with quorum (new KSKs, signed key-signing requests,
# exported DS). Needs $stack, $zone, $setclock and stack.sh's $cer (after
# stack_operators).

# ---- signetd's clock ------------------------------------------------------
clock() { now=$1; "$setclock" "$stack/admin.demo.client.conf" "$now"; }
advance() { clock $((now + $1)); }

# ---- the ceremony: KSKs, key-signing requests, DS --------------------------
# new_ksk NAME ALG: a KSK made in a ceremony (alice and carol); sets
# NAME_id, NAME.dnskey in $stack.
new_ksk() {
  step "ksk-$1" create-ksk "alice carol" "alice carol" --zone "$zone" --param "algorithm=$2" \
    --out "$cer/work/$1.txt"
  printf -v "${1}_id" '%s' "$(awk '$1 == ";" && $2 == "key-id" {print $3}' "$cer/work/$1.txt")"
  grep -E '^[^;]*[[:space:]]DNSKEY[[:space:]]' "$cer/work/$1.txt" > "$stack/$1.dnskey"
}
n_req=0
# ksr DAYS KEY-ID...: signetd exports a request, bob and carol sign it with
# the named KSKs, signetd imports the bundle.
ksr() {
  local days=$1; shift
  n_req=$((n_req + 1))
  admin export-ksr "$zone" "$stack/ksr$n_req.txt" --days "$days" >/dev/null
  local p=() k
  for k in "$@"; do p+=(--param "key-id=$k"); done
  step "sign$n_req" sign-keyset "bob carol" "bob carol" --zone "$zone" "${p[@]}" \
    --keyset "$stack/ksr$n_req.txt" --out "$stack/bundle$n_req.txt" >/dev/null
  admin import-bundle "$zone" "$stack/bundle$n_req.txt" >/dev/null
}
# export_ds NAME KEY-ID: the DS of a KSK with quorum (alice and bob) to $stack/NAME.ds
export_ds() {
  step "ds-$1" export-ds "alice bob" "alice bob" --zone "$zone" --param "key-id=$2" \
    --param digests=2 --out "$stack/$1.ds.txt" >/dev/null
  grep -E '^[^;]*[[:space:]]DS[[:space:]]' "$stack/$1.ds.txt" > "$stack/$1.ds"
}

