#!/usr/bin/env bats
# The agent's POSIX encoders and decoders, run under sh (dash here) and checked against node.

setup() {
  # the utility functions alone, cut from the agent (everything between the two section markers)
  LIB=$BATS_TEST_TMPDIR/lib.sh
  {
    printf 'gm_tab=$(printf "\\t")\ngm_cr=$(printf "\\r")\n'
    sed -n '/^# Small utilities$/,/^# HTTP$/p' "$BATS_TEST_DIRNAME/../../src/agent/agent.sh"
  } >"$LIB"
  grep -q '^gm_json_escape()' "$LIB"
  grep -q '^gm_b64decode()' "$LIB"
}

# sh_run SCRIPT ARGS... : runs SCRIPT under sh with the library loaded
sh_run() {
  local script=$1
  shift
  sh -c ". '$LIB'; $script" sh "$@"
}

@test "json escape: quotes, backslashes, every control character, UTF-8 kept; node reads it back" {
  input=$(node -e 'let s = "q\" b\\ é 🚀 /"; for (let i = 1; i < 32; i++) s += String.fromCharCode(i) + "x"; s += "\n\n"; process.stdout.write(s)'; printf .)
  input=${input%.}
  out=$(sh_run 'printf "\"%s\"" "$(gm_json_escape "$1")"' "$input")
  back=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]))' "$out"; printf .)
  [ "${back%.}" = "$input" ]
  [ "$(sh_run 'gm_json_escape "$1"' '')" = '' ]
  [ "$(sh_run 'gm_json_escape "$1"' $'a\n')" = 'a\n' ]
}

@test "url encode: every byte but the unreserved ones, in both the fast and the slow path" {
  for name in 'a/b/c.txt' 'A-Z_a.z~0/9' 'sp ace/é/🚀' $'tab\tnl\nx' '%2F+&?=#[]{}()' "quote'\"\\"; do
    enc=$(sh_run 'gm_urlencode "$1"; printf "%s" "$gm_r"' "$name")
    [[ $enc =~ ^[A-Za-z0-9._~%-]*$ ]]
    [ "$(node -e 'process.stdout.write(decodeURIComponent(process.argv[1]))' "$enc")" = "$name" ]
  done
  [ "$(sh_run 'gm_urlencode "$1"; printf "%s" "$gm_r"' 'pfx/runs/r 1/ü')" = 'pfx%2Fruns%2Fr%201%2F%C3%BC' ]
}

@test "json strings: keys at their depth, escapes and surrogate pairs decoded, values with newlines left out" {
  doc='{"items":[{"name":"a\/b \u00e9 \ud83d\ude80 \"q\" \\\\ \t|","metadata":{"name":"decoy"}},{"name":"x\ny"},
    {"name": "z"}], "nextPageToken" : "tok+/=", "error":{"message":"bad"}}'
  out=$(printf '%s' "$doc" | sh_run 'gm_json_strings')
  expected=$(printf '3\tname\ta/b é 🚀 "q" \\\\ \t|\n4\tname\tdecoy\n3\tname\tz\n1\tnextPageToken\ttok+/=\n2\tmessage\tbad')
  [ "$out" = "$expected" ]
  [ "$(printf '%s' "$doc" | sh_run 'gm_json_get 1 nextPageToken')" = 'tok+/=' ]
  [ "$(printf '%s' '{"access_token":"ya29.x","expires_in":3599}' | sh_run 'gm_json_get 1 access_token')" = ya29.x ]
}

@test "base64 decode matches base64 -d on text and UTF-8, padded or not, URL alphabet too" {
  for v in '' a ab abc abcd 'pässwörd 🚀' 's3cr3t-VALUE-42 with spaces & ünïcode' '>>>???~~~'; do
    enc=$(printf '%s' "$v" | base64 -w0)
    [ "$(printf '%s' "$enc" | sh_run gm_b64decode)" = "$v" ]
    [ "$(printf '%s' "${enc%%=*}" | tr '+/' '-_' | sh_run gm_b64decode)" = "$v" ]
  done
}

@test "safe relative paths" {
  for p in a a/b 'a b/c' .hidden a/.b; do sh_run 'gm_safe_rel "$1"' "$p"; done
  for p in '' /abs ../x a/../b a/./b a//b ./a a/ ..; do
    run sh_run 'gm_safe_rel "$1"' "$p"
    [ "$status" -ne 0 ]
  done
}
