#!/usr/bin/env bash
# man_options.sh BUILD SOURCE -- every option and command a program's --help
# prints is in its man page, and every key signetd's configuration accepts is
# in signetd.conf(5) (and signet-zoned's in signet-zoned.conf(5)). The help texts are read from the built programs at test
# time, so a new option without a man-page line fails here.
#
# Checked against the rendered page (man -l ... | col -b), so a misspelt
# scdoc source that does not render the option fails too.
set -uo pipefail
build=${1:?build directory}
src=${2:?source directory}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

render() {  # page -> plain text
  local page=$build/docs/man/$1
  [ -s "$page" ] || { echo "missing rendered man page $page (scdoc)" >&2; exit 1; }
  MANWIDTH=200 man -l "$page" 2>/dev/null | col -b
}

# The options (--long, and -x in a usage line) a help text names.
options_of() {
  grep -oE -- '(^|[^A-Za-z0-9-])--[a-z0-9][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+' | sort -u
  return 0
}

# word_in TEXT WORD: WORD appears in TEXT not as part of a longer option/word.
word_in() {
  grep -qE -- "(^|[^A-Za-z0-9-])$(printf '%s' "$2" | sed 's/[.[\*^$]/\\&/g')([^A-Za-z0-9-]|$)" <<<"$1"
}

check_help() {  # page, help text, what
  local page=$1 help=$2 what=$3 text opt n=0
  text=$(render "$page")
  grep -q usage <<<"$help" || fail "$what: --help printed no usage"
  for opt in $(options_of <<<"$help"); do
    n=$((n + 1))
    word_in "$text" "$opt" || fail "$page lacks $opt, which '$what' prints"
  done
  echo "$page: $n options of '$what' present"
}

# signetd: getopt's short options; --help itself is refused with the usage.
signetd_help=$("$build/signer/signetd" --help 2>&1)
text=$(render signetd.8)
for opt in $(grep -oE -- '(^| |\[)-[a-zA-Z]( |\]|$)' <<<"$signetd_help" | grep -oE -- '-[a-zA-Z]' | sort -u); do
  word_in "$text" "$opt" || fail "signetd.8 lacks $opt, which signetd --help prints"
done
check_help signetd.8 "$signetd_help" "signetd --help"

# signet: the top-level help lists the commands; each has its own --help.
top=$("$build/client/signet" --help 2>&1)
check_help signet.1 "$top" "signet --help"
cmds=$(sed -n '/^commands:/,/^$/p' <<<"$top" | awk 'NF && $1 != "commands:" {print $1}')
[ -n "$cmds" ] || fail "signet --help lists no commands"
text=$(render signet.1)
for c in $cmds; do
  word_in "$text" "$c" || fail "signet.1 lacks the command $c"
  check_help signet.1 "$("$build/client/signet" "$c" --help 2>&1)" "signet $c --help"
done
for c in test bench init; do
  check_help signet.1 "$("$build/client/signet" hsm "$c" --help 2>&1)" "signet hsm $c --help"
done

# signet-ceremony: one help text with every command at the start of a line.
cer=$("$build/ceremony/signet-ceremony" --help 2>&1)
check_help signet-ceremony.1 "$cer" "signet-ceremony --help"
text=$(render signet-ceremony.1)
for c in $(grep -oE '^  [a-z][a-z-]+' <<<"$cer"); do
  word_in "$text" "$c" || fail "signet-ceremony.1 lacks the command $c"
done

# signetd.conf(5): every key of signer/config.c's key list, and the client
# group's keys.
keys=$(sed -n '/key_names\[K_COUNT\] = {/,/};/p' "$src/signer/config.c" | grep -oE '"[a-z0-9-]+"' | tr -d '"')
[ "$(wc -w <<<"$keys")" -ge 20 ] || fail "could not read the key list of signer/config.c"
text=$(render signetd.conf.5)
for k in $keys identity role zones names types; do
  word_in "$text" "$k" || fail "signetd.conf.5 lacks the key $k"
done
roles=$(grep -oE 'strcmp\(rs, "[a-z-]+"\)' "$src/signer/config_clients.c" | grep -oE '"[a-z-]+"' | tr -d '"')
[ -n "$roles" ] || fail "could not read the roles of signer/config_clients.c"
for r in $roles; do word_in "$text" "$r" || fail "signetd.conf.5 lacks the role $r"; done
echo "signetd.conf.5: $(wc -w <<<"$keys") keys and $(wc -w <<<"$roles") roles checked"

# signet-client.conf(5): the client file's keys (client/config.c).
keys=$(grep -A2 'static const char \*const keys\[\]' "$src/client/config.c" | grep -oE '"[a-z-]+"' | tr -d '"')
[ -n "$keys" ] || fail "could not read the key list of client/config.c"
text=$(render signet-client.conf.5)
for k in $keys; do word_in "$text" "$k" || fail "signet-client.conf.5 lacks the key $k"; done

# signet-ceremony.conf(5): the machine configuration's first line and keys
# (ceremony/config.c takes each with cer_doc_take).
text=$(render signet-ceremony.conf.5)
keys=$(grep -oE 'cer_doc_take\([^,]+, [^,]+, "[a-z-]+"' "$src/ceremony/config.c" | grep -oE '"[a-z-]+"' | tr -d '"')
[ -n "$keys" ] || fail "could not read the keys of ceremony/config.c"
for k in signet-ceremony-config $keys; do
  word_in "$text" "$k" || fail "signet-ceremony.conf.5 lacks $k"
done

# signet-zoned: getopt's short options as for signetd (--help is refused
# with the usage).
zoned_help=$("$build/zoned/signet-zoned" --help 2>&1)
text=$(render signet-zoned.8)
n=0
for opt in $(grep -oE -- '(^| |\[)-[a-zA-Z]( |\]|$)' <<<"$zoned_help" | grep -oE -- '-[a-zA-Z]' | sort -u); do
  n=$((n + 1))
  word_in "$text" "$opt" || fail "signet-zoned.8 lacks $opt, which signet-zoned --help prints"
done
[ "$n" -ge 3 ] || fail "could not read signet-zoned's options from its --help"
check_help signet-zoned.8 "$zoned_help" "signet-zoned --help"

# signet-zoned.conf(5): the top-level keys of zoned/config.c's list, every
# key it reads inside keys/zones/primaries/secondaries, the serial policies
# and the TSIG algorithms.
zc=$src/zoned/config.c
keys=$(sed -n '/static const char \*const known\[\] = {/,/};/p' "$zc" | grep -oE '"[a-z0-9-]+"' | tr -d '"')
[ "$(wc -w <<<"$keys")" -ge 8 ] || fail "could not read the key list of zoned/config.c"
inner=$(grep -oE '(get_str|get_uint)\([a-z]+, (primary \? )?"[a-z-]+"( : "[a-z-]+")?' "$zc" | grep -oE '"[a-z-]+"' | tr -d '"')
inner="$inner $(grep -oE 'primary \? "[a-z-]+" : "[a-z-]+"' "$zc" | grep -oE '"[a-z-]+"' | tr -d '"')"
[ "$(wc -w <<<"$inner")" -ge 12 ] || fail "could not read the group keys of zoned/config.c"
values=$(grep -oE 'strcmp\((serial|alg), "[a-z0-9-]+"\)' "$zc" | grep -oE '"[a-z0-9-]+"' | tr -d '"')
[ "$(wc -w <<<"$values")" -ge 6 ] || fail "could not read the serial policies and algorithms of zoned/config.c"
text=$(render signet-zoned.conf.5)
all=$(printf '%s\n' $keys $inner $values | sort -u)
for k in $all; do word_in "$text" "$k" || fail "signet-zoned.conf.5 lacks $k"; done
echo "signet-zoned.conf.5: $(wc -w <<<"$all") keys and values checked"

[ "$fails" -eq 0 ] || { echo "$fails man-page omissions" >&2; exit 1; }
echo "man pages: every option, command and key present"
