#!/usr/bin/env bash
# units_verify.sh BUILD SOURCE -- every systemd unit (services, timers) in
# deploy/ passes `systemd-analyze verify` with nothing to say (an unknown or
# misspelt key is only a warning to systemd, so any output fails here), and
# each service's confinement scores at most 2.0 in `systemd-analyze security
# --offline` (the units' hardening options, docs/DEPLOY.md). The installed paths (/usr/sbin/NAME,
# /usr/bin/NAME) are pointed at the built programs, which systemd checks exist.
set -uo pipefail
build=$(cd "${1:?build directory}" && pwd)
src=${2:?source directory}
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (package systemd)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0 n=0
# All units side by side first: a timer is verified with its service.
cp "$src"/deploy/*.service "$src"/deploy/*.timer "$work/" 2>/dev/null || true
for unit in "$src"/deploy/*.service "$src"/deploy/*.timer; do
  [ -e "$unit" ] || continue
  n=$((n + 1))
  name=$(basename "$unit")
  for exe in $(grep -E '^Exec[A-Za-z]*=' "$unit" | grep -oE '/usr/s?bin/[A-Za-z0-9_-]+' | sort -u); do
    built=$(find "$build" -maxdepth 2 -type f -name "$(basename "$exe")" -perm -u+x | head -1)
    [ -n "$built" ] || { echo "FAIL: $name runs $exe, which the build did not make" >&2; fails=$((fails + 1)); continue; }
    sed -i "s#$exe\\b#$built#g" "$work/$name"
  done
  out=$(cd "$work" && systemd-analyze verify "$work/$name" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify $name (exit $rc):" >&2; echo "$out" >&2
    fails=$((fails + 1))
  else
    echo "$name: systemd-analyze verify clean"
  fi
  case $name in *.service) ;; *) continue ;; esac
  sec=$(systemd-analyze security --offline=yes --threshold=20 "$work/$name" 2>&1)
  rc=$?
  score=$(grep -oE 'Overall exposure level for [^:]+: [0-9.]+' <<<"$sec" | awk '{print $NF}')
  if [ $rc -ne 0 ] || [ -z "$score" ]; then
    echo "FAIL: $name: exposure ${score:-unknown} is above 2.0 (exit $rc):" >&2
    grep -E '^✗' <<<"$sec" >&2
    fails=$((fails + 1))
  else
    echo "$name: exposure $score (at most 2.0)"
  fi
done
[ $n -gt 0 ] || { echo "FAIL: no unit in $src/deploy" >&2; exit 1; }
[ $fails -eq 0 ] || exit 1
