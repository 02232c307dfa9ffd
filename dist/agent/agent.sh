#!/bin/sh
# gce-matrix VM agent: the startup (and shutdown) script of every experiment VM.
#
# It reads its settings from instance metadata, stages inputs, runs the experiment command (on the host or in
# a container image), heartbeats, ships the log in chunks, uploads outputs, syncs the checkpoint, writes the
# status object LAST and deletes its own VM. The same script is the shutdown script: when the VM is preempted
# or deleted under it, that run stops the command, syncs the checkpoint and writes the status. On a VM the
# command never gets the VM's credentials unless asked to: it runs as an unprivileged user that a firewall rule
# keeps from the metadata server (see "Isolation" below).
#
# POSIX sh + curl only, and on a VM the base system's setpriv, useradd, id, chown and nft (or iptables) to
# isolate the command. The contract (metadata keys, environment, object names, ordering) is in docs/agent.md
# and src/layout.ts; keep the three in step.
#
# launch prepends `GCE_MATRIX_MODE=startup` or `GCE_MATRIX_MODE=shutdown`; `$1` (startup|shutdown) wins.

gm_mode=${1:-${GCE_MATRIX_MODE:-startup}}
case $gm_mode in
  startup | shutdown) ;;
  *)
    printf 'gce-matrix-agent: unknown mode %s (expected startup or shutdown)\n' "$gm_mode"
    exit 2
    ;;
esac

umask 022
gm_tab=$(printf '\t')
gm_cr=$(printf '\r')
# A packed VM (gce-matrix-members) runs one coordinator and one agent per member: the coordinator starts each
# member as this script again with GCE_MATRIX_ROOT (the member's own directory tree), GCE_MATRIX_MEMBER (its
# index) and GCE_MATRIX_VM_ROOT (the coordinator's root, where what the members share lives: the admission
# ledger, the lock around user and firewall changes). Without them this is the only agent on its VM.
gm_root=${GCE_MATRIX_ROOT:-${TMPDIR:-/var/tmp}/gce-matrix}
gm_member=${GCE_MATRIX_MEMBER:-}
case $gm_member in
  *[!0-9]* | 0) gm_member= ;;
esac
gm_vmroot=${GCE_MATRIX_VM_ROOT:-$gm_root}
gm_state=$gm_root/state
gm_input=$gm_root/input
gm_output=$gm_root/output
gm_checkpoint=$gm_root/checkpoint
gm_work=$gm_root/work
gm_home=$gm_root/home
# gce-matrix-command-credentials=experiment: the command's Cloud Storage token, renewed in place
gm_creds=$gm_root/credentials
gm_cred_file=$gm_creds/storage-token
gm_cred_source=
gm_logfile=
gm_tmp=$gm_state/tmp-$gm_mode-$$
gm_retries=5
gm_token=
gm_token_exp=0
gm_code=
gm_curl_err=
gm_status_done=0
gm_signalled=0
gm_reporter_pid=
gm_started_at=
gm_container_digest=
gm_src_commit=
gm_src_sha256=
gm_src_size=
gm_setpriv_opts=
# The unprivileged user the command runs as on a VM (see gm_isolate); uid and gid once it is set up.
gm_run_user=gce-matrix-run${gm_member:+-$gm_member}
gm_run_uid=
gm_run_gid=
# The metadata server's fixed addresses on Compute Engine (metadata.google.internal is the IPv4 one).
gm_md_ip4=169.254.169.254
# Packing (a member's agent): the CPUs it reserved, whether taskset pins the host command, its memory cgroup.
gm_pack_cpus=
gm_pack_taskset=
gm_pack_cgroup=
gm_md_ip6=fd20:ce::254

# ---------------------------------------------------------------------------------------------------------
# Small utilities

gm_log() {
  printf 'gce-matrix-agent%s: %s\n' "${gm_member:+[$gm_member]}" "$*"
  if [ -n "$gm_logfile" ]; then
    printf 'gce-matrix-agent: %s\n' "$*" >>"$gm_logfile" 2>/dev/null
  fi
}

# Sets gm_now_v to the epoch seconds.
gm_now() {
  gm_now_v=$(date +%s 2>/dev/null)
  case $gm_now_v in
    '' | *[!0-9]*) gm_now_v=$(awk 'BEGIN { srand(); print srand() }') ;;
  esac
}

# Sets gm_ms_v to epoch milliseconds where date can tell (GNU), else to empty.
gm_ms() {
  gm_ms_v=$(date +%s%3N 2>/dev/null)
  case $gm_ms_v in
    '' | *[!0-9]*) gm_ms_v= ;;
  esac
}

gm_iso() {
  date -u +%Y-%m-%dT%H:%M:%SZ
}

# Sets gm_r to $1 when it is a non-negative integer, else to the default $2.
gm_int() {
  case $1 in
    '' | *[!0-9]*) gm_r=$2 ;;
    *) gm_r=$1 ;;
  esac
}

# Sets gm_r to the first line of file $1, surrounding blanks and a CR removed (empty when there is no file).
gm_read() {
  gm_r=
  [ -f "$1" ] || return 0
  read -r gm_r <"$1"
  gm_r=${gm_r%"$gm_cr"}
  return 0
}

# JSON string contents (without the quotes): backslash, quote and control characters escaped; other bytes as is.
gm_json_escape() {
  printf '%s\n' "$1" | LC_ALL=C awk '
    BEGIN {
      for (i = 1; i < 32; i++) m[sprintf("%c", i)] = sprintf("\\u%04x", i)
      m["\t"] = "\\t"; m["\r"] = "\\r"; m["\b"] = "\\b"; m["\f"] = "\\f"
      m["\\"] = "\\\\"; m["\""] = "\\\""
    }
    {
      if (NR > 1) printf "%s", "\\n"
      n = length($0)
      for (i = 1; i <= n; i++) {
        c = substr($0, i, 1)
        if (c in m) printf "%s", m[c]; else printf "%s", c
      }
    }'
}

# Sets gm_r to $1 percent-encoded: every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~), `/` included.
gm_urlencode() {
  case $1 in
    *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~/-]*) ;;
    *)
      # the common case, without a subprocess: only `/` needs encoding
      gm_r=
      gm_ue_s=$1
      while :; do
        case $gm_ue_s in
          */*)
            gm_r=$gm_r${gm_ue_s%%/*}%2F
            gm_ue_s=${gm_ue_s#*/}
            ;;
          *)
            gm_r=$gm_r$gm_ue_s
            return 0
            ;;
        esac
      done
      ;;
  esac
  gm_r=$(printf '%s' "$1" | od -A n -t x1 -v | LC_ALL=C awk '
    BEGIN {
      for (i = 48; i <= 57; i++) ok[sprintf("%02x", i)] = sprintf("%c", i)
      for (i = 65; i <= 90; i++) ok[sprintf("%02x", i)] = sprintf("%c", i)
      for (i = 97; i <= 122; i++) ok[sprintf("%02x", i)] = sprintf("%c", i)
      ok["2d"] = "-"; ok["2e"] = "."; ok["5f"] = "_"; ok["7e"] = "~"
    }
    { for (i = 1; i <= NF; i++) { h = tolower($i); if (h in ok) printf "%s", ok[h]; else printf "%%%s", toupper(h) } }')
}

# Reads a JSON document on stdin; prints every string VALUE as `DEPTH<TAB>KEY<TAB>VALUE` (the value unescaped,
# \uXXXX as UTF-8). Values holding a newline are left out. The root object is depth 1.
gm_json_strings() {
  LC_ALL=C awk '
    function hexval(h,   i, c, v) {
      v = 0; h = tolower(h)
      if (length(h) != 4) return -1
      for (i = 1; i <= 4; i++) { c = index("0123456789abcdef", substr(h, i, 1)); if (c == 0) return -1; v = v * 16 + c - 1 }
      return v
    }
    function utf8(cp) {
      if (cp < 128) return sprintf("%c", cp)
      if (cp < 2048) return sprintf("%c%c", 192 + int(cp / 64), 128 + cp % 64)
      if (cp < 65536) return sprintf("%c%c%c", 224 + int(cp / 4096), 128 + int(cp / 64) % 64, 128 + cp % 64)
      return sprintf("%c%c%c%c", 240 + int(cp / 262144), 128 + int(cp / 4096) % 64, 128 + int(cp / 64) % 64, 128 + cp % 64)
    }
    { buf = buf $0 "\n" }
    END {
      n = length(buf); depth = 0; st = ""; key = ""; tok = ""; i = 1
      while (i <= n) {
        c = substr(buf, i, 1)
        if (c == "\"") {
          s = ""; i++
          while (i <= n) {
            c = substr(buf, i, 1)
            if (c == "\"") break
            if (c == "\\") {
              e = substr(buf, i + 1, 1)
              if (e == "u") {
                cp = hexval(substr(buf, i + 2, 4)); i += 6
                if (cp >= 55296 && cp < 56320 && substr(buf, i, 2) == "\\u") {
                  lo = hexval(substr(buf, i + 2, 4))
                  if (lo >= 56320 && lo < 57344) { cp = 65536 + (cp - 55296) * 1024 + (lo - 56320); i += 6 }
                }
                if (cp > 0) s = s utf8(cp)
                continue
              }
              if (e == "n") s = s "\n"; else if (e == "t") s = s "\t"; else if (e == "r") s = s "\r"
              else if (e == "b") s = s "\b"; else if (e == "f") s = s "\f"; else s = s e
              i += 2
              continue
            }
            s = s c; i++
          }
          i++
          if (st == "value") {
            if (index(s, "\n") == 0) printf "%d\t%s\t%s\n", depth, key, s
            st = ""
          } else { tok = s; st = "str" }
          continue
        }
        if (c == ":") { if (st == "str") { key = tok; st = "value" } else st = ""; i++; continue }
        if (c == "{" || c == "[") depth++
        else if (c == "}" || c == "]") depth--
        if (c != " " && c != "\n" && c != "\t" && c != "\r") st = ""
        i++
      }
    }'
}

# The string value of KEY at DEPTH in the JSON document on stdin (first match).
gm_json_get() {
  gm_json_strings | sed -n "s/^$1$gm_tab$2$gm_tab//p" | sed -n 1p
}

# Decodes base64 (standard or URL alphabet, padding and whitespace ignored) from stdin.
gm_b64decode() {
  LC_ALL=C awk '
    BEGIN {
      a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
      for (i = 1; i <= 64; i++) v[substr(a, i, 1)] = i - 1
      v["-"] = 62; v["_"] = 63
    }
    { buf = buf $0 }
    END {
      n = length(buf); acc = 0; bits = 0
      for (i = 1; i <= n; i++) {
        c = substr(buf, i, 1)
        if (!(c in v)) continue
        acc = acc * 64 + v[c]; bits += 6
        if (bits >= 8) { bits -= 8; p = 2 ^ bits; b = int(acc / p); acc -= b * p; printf "%c", b }
      }
    }'
}

# Is this relative path safe to create under a directory (no absolute path, no `.`/`..`/empty segments)?
gm_safe_rel() {
  case $1 in
    '' | /* | */) return 1 ;;
  esac
  case /$1/ in
    */../* | */./* | *//*) return 1 ;;
  esac
  return 0
}

gm_mkparent() {
  gm_mp_dir=$(dirname "$1")
  [ -d "$gm_mp_dir" ] || mkdir -p "$gm_mp_dir"
}

# Lock by directory creation (atomic); a lock older than ~8 s of waiting is taken as stale and broken.
gm_lock() {
  gm_lk_n=0
  while ! mkdir "$1" 2>/dev/null; do
    gm_lk_n=$((gm_lk_n + 1))
    if [ "$gm_lk_n" -ge 8 ]; then
      rmdir "$1" 2>/dev/null
      gm_lk_n=0
    fi
    sleep 1
  done
}

gm_unlock() {
  rmdir "$1" 2>/dev/null
}

# Every descendant pid of $1 (POSIX ps); empty when ps cannot tell.
gm_descendants() {
  ps -A -o pid= -o ppid= 2>/dev/null | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      q = root; out = ""
      while (q != "") {
        n = split(q, a, " "); q = ""
        for (i = 1; i <= n; i++) if (a[i] in kids) {
          m = split(kids[a[i]], b, " ")
          for (j = 1; j <= m; j++) { out = out " " b[j]; q = q " " b[j] }
        }
      }
      print out
    }'
}

# Sends signal $1 to pid $2 and its whole process tree.
gm_kill_tree() {
  gm_kt_pids=$(gm_descendants "$2")
  # shellcheck disable=SC2086 # the pid list is meant to split
  kill "-$1" "$2" $gm_kt_pids 2>/dev/null
}

gm_alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# Stops a background subshell of this agent (the watchdog, the reporter) and reaps it. A TERM that reaches a
# subshell in the moment after the fork, before it has set its own trap, is lost (dash drops the signal when
# the subshell resets the traps it inherited): that was the agent waiting out the whole timeout after a
# command that had already ended. So TERM is repeated until the child is gone (then KILL), and only
# then waited for. $2: tenths of a second before KILL (default 100).
gm_stop_child() {
  gm_sch_n=0
  gm_sch_max=${2:-100}
  while gm_running "$1" && [ "$gm_sch_n" -le $((gm_sch_max + 20)) ]; do
    if [ "$gm_sch_n" -ge "$gm_sch_max" ]; then
      gm_kill_tree KILL "$1"
    else
      kill -TERM "$1" 2>/dev/null
    fi
    gm_sch_n=$((gm_sch_n + 1))
    sleep 0.1 2>/dev/null || sleep 1
  done
  wait "$1" 2>/dev/null
}

# Alive and not a zombie waiting to be reaped (a child that ended but was not waited for still answers kill -0).
gm_running() {
  gm_alive "$1" || return 1
  gm_rn_stat=$(ps -o stat= -p "$1" 2>/dev/null)
  case $gm_rn_stat in
    Z*) return 1 ;;
  esac
  return 0
}

# ---------------------------------------------------------------------------------------------------------
# HTTP

# gm_curl OUTFILE CURL-ARGS... : one request with retries on connection errors, 408, 429 and 5xx.
# Sets gm_code (HTTP status, 000 when no answer) and gm_curl_err; returns 0 on 2xx.
gm_curl() {
  gm_c_out=$1
  shift
  gm_c_try=1
  gm_c_delay=1
  while :; do
    # A server that accepts the connection and then goes quiet must not hold the agent forever: a request
    # that moves no byte for a minute counts as no answer and is retried.
    gm_code=$(curl -sS -g -o "$gm_c_out" -w '%{http_code}' --connect-timeout 10 --speed-limit 1 --speed-time 60 "$@" </dev/null 2>"$gm_tmp.curlerr")
    gm_c_rc=$?
    case $gm_code in
      2??) [ "$gm_c_rc" -eq 0 ] && return 0 ;;
    esac
    case $gm_code in
      '' | 000 | 408 | 429 | 5??) gm_c_retry=1 ;;
      *) gm_c_retry=0 ;;
    esac
    [ -n "$gm_code" ] || gm_code=000
    gm_curl_err=$(sed -n 1p "$gm_tmp.curlerr" 2>/dev/null)
    if [ "$gm_c_retry" = 1 ] && [ "$gm_c_try" -lt "$gm_retries" ]; then
      sleep "$gm_c_delay"
      gm_c_try=$((gm_c_try + 1))
      gm_c_delay=$((gm_c_delay * 2))
      continue
    fi
    return 1
  done
}

# A short description of the last failure: HTTP status and the API's error message, or curl's error.
gm_http_problem() {
  if [ "$gm_code" = 000 ]; then
    printf 'no answer (%s)\n' "${gm_curl_err:-connection failed}"
    return
  fi
  gm_hp_msg=
  if [ -n "${1:-}" ] && [ -s "$1" ]; then
    gm_hp_msg=$(gm_json_get 2 message <"$1" | cut -c1-300)
  fi
  if [ -n "$gm_hp_msg" ]; then
    printf 'HTTP %s: %s\n' "$gm_code" "$gm_hp_msg"
  else
    printf 'HTTP %s\n' "$gm_code"
  fi
}

gm_md_base() {
  case ${GCE_METADATA_HOST:-} in
    '') printf 'http://metadata.google.internal/computeMetadata/v1/\n' ;;
    http://* | https://*) printf '%s/computeMetadata/v1/\n' "${GCE_METADATA_HOST%/}" ;;
    *) printf 'http://%s/computeMetadata/v1/\n' "${GCE_METADATA_HOST%/}" ;;
  esac
}

# gm_md PATH OUTFILE : 0 found, 1 not set (404), 2 error.
gm_md() {
  if gm_curl "$2" -H 'Metadata-Flavor: Google' --noproxy '*' --max-time 30 "$gm_md_url$1"; then
    return 0
  fi
  rm -f "$2"
  [ "$gm_code" = 404 ] && return 1
  return 2
}

# Prints a metadata value (empty when unset or unreachable).
gm_md_value() {
  if gm_md "$1" "$gm_tmp.md"; then
    cat "$gm_tmp.md"
    rm -f "$gm_tmp.md"
  fi
}

# Makes sure gm_token holds an access token valid for at least another minute.
gm_token_get() {
  gm_now
  gm_tg_now=$gm_now_v
  if [ -n "$gm_token" ] && [ "$gm_tg_now" -lt "$gm_token_exp" ]; then
    return 0
  fi
  if ! gm_md instance/service-accounts/default/token "$gm_tmp.token"; then
    gm_log "cannot get an access token from the metadata server: $(gm_http_problem)"
    return 1
  fi
  gm_token=$(gm_json_get 1 access_token <"$gm_tmp.token")
  gm_tg_exp=$(tr -d '\n\r' <"$gm_tmp.token" | sed -n 's/.*"expires_in"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p')
  rm -f "$gm_tmp.token"
  gm_int "$gm_tg_exp" 300
  gm_tg_exp=$gm_r
  if [ -z "$gm_token" ]; then
    gm_log "the metadata server returned no access token"
    return 1
  fi
  if [ "$gm_tg_exp" -gt 120 ]; then gm_tg_exp=$((gm_tg_exp - 60)); else gm_tg_exp=$((gm_tg_exp / 2)); fi
  gm_token_exp=$((gm_tg_now + gm_tg_exp))
  return 0
}

# gm_api METHOD URL OUTFILE [CURL-ARGS...] : an authenticated Google API call; refreshes the token once on 401.
gm_api() {
  gm_a_method=$1
  gm_a_url=$2
  gm_a_out=$3
  shift 3
  gm_token_get || {
    gm_code=000
    gm_curl_err='no access token'
    return 1
  }
  # no fixed time limit (transfers may be large), but give up on a connection that stalls for a minute
  set -- --speed-limit 1 --speed-time 60 "$@"
  if gm_curl "$gm_a_out" -X "$gm_a_method" -H "Authorization: Bearer $gm_token" "$@" "$gm_a_url"; then
    return 0
  fi
  if [ "$gm_code" = 401 ]; then
    gm_token=
    gm_token_get || return 1
    gm_curl "$gm_a_out" -X "$gm_a_method" -H "Authorization: Bearer $gm_token" "$@" "$gm_a_url"
    return
  fi
  return 1
}

# ---------------------------------------------------------------------------------------------------------
# Cloud Storage (JSON API)

# gm_gcs_upload FILE BUCKET NAME CONTENT-TYPE
gm_gcs_upload() {
  gm_urlencode "$2"
  gm_u_url="$gm_ep_storage/upload/storage/v1/b/$gm_r/o?uploadType=media&name="
  gm_urlencode "$3"
  gm_u_url=$gm_u_url$gm_r
  gm_u_try=1
  while :; do
    if ! gm_api POST "$gm_u_url" "$gm_tmp.up" -H "Content-Type: $4" -H 'Expect:' -T "$1"; then
      gm_log "upload of gs://$2/$3 failed: $(gm_http_problem "$gm_tmp.up")"
      rm -f "$gm_tmp.up"
      return 1
    fi
    # What Cloud Storage stored must be what was sent: its MD5 against the file's (when the image can tell).
    gm_u_local=$(gm_md5_hex "$1")
    gm_u_remote=$(gm_json_get 1 md5Hash <"$gm_tmp.up" | gm_b64decode | od -A n -t x1 -v | tr -d ' \n')
    rm -f "$gm_tmp.up"
    if [ -z "$gm_u_local" ] || [ "$gm_u_local" = "$gm_u_remote" ]; then
      return 0
    fi
    if [ "$gm_u_try" -ge 3 ]; then
      gm_log "upload of gs://$2/$3 failed: Cloud Storage stored MD5 ${gm_u_remote:-none}, the file has $gm_u_local"
      return 1
    fi
    gm_log "upload of gs://$2/$3 stored MD5 ${gm_u_remote:-none}, the file has $gm_u_local; sending it again"
    gm_u_try=$((gm_u_try + 1))
  done
}

# The MD5 (hex) of file $1, empty when the image has no tool for it (then uploads are not verified).
gm_md5_hex() {
  if command -v md5sum >/dev/null 2>&1; then
    md5sum <"$1" | awk '{ print $1 }'
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -md5 -r <"$1" | awk '{ print $1 }'
  fi
}

# gm_gcs_put_text BUCKET NAME CONTENT-TYPE TEXT
gm_gcs_put_text() {
  printf '%s\n' "$4" >"$gm_tmp.text"
  gm_gcs_upload "$gm_tmp.text" "$1" "$2" "$3"
  gm_pt_rc=$?
  rm -f "$gm_tmp.text"
  return $gm_pt_rc
}

# gm_gcs_download BUCKET NAME DEST
gm_gcs_download() {
  gm_mkparent "$3"
  gm_urlencode "$1"
  gm_d_url="$gm_ep_storage/download/storage/v1/b/$gm_r/o/"
  gm_urlencode "$2"
  gm_d_url="$gm_d_url$gm_r?alt=media"
  if gm_api GET "$gm_d_url" "$3.part"; then
    mv -f "$3.part" "$3"
    return 0
  fi
  gm_download_problem=$(gm_http_problem "$3.part")
  rm -f "$3.part"
  return 1
}

# gm_gcs_list BUCKET PREFIX OUTFILE : every object name under PREFIX, one a line (pages followed).
gm_gcs_list() {
  : >"$3"
  gm_l_page=
  while :; do
    gm_urlencode "$1"
    gm_l_url="$gm_ep_storage/storage/v1/b/$gm_r/o?prefix="
    gm_urlencode "$2"
    gm_l_url="$gm_l_url$gm_r&fields=items(name),nextPageToken"
    if [ -n "$gm_l_page" ]; then
      gm_urlencode "$gm_l_page"
      gm_l_url="$gm_l_url&pageToken=$gm_r"
    fi
    if ! gm_api GET "$gm_l_url" "$gm_tmp.list"; then
      gm_list_problem=$(gm_http_problem "$gm_tmp.list")
      rm -f "$gm_tmp.list"
      return 1
    fi
    gm_json_strings <"$gm_tmp.list" >"$gm_tmp.strings"
    sed -n "s/^3${gm_tab}name${gm_tab}//p" "$gm_tmp.strings" >>"$3"
    gm_l_page=$(sed -n "s/^1${gm_tab}nextPageToken${gm_tab}//p" "$gm_tmp.strings" | sed -n 1p)
    rm -f "$gm_tmp.list" "$gm_tmp.strings"
    [ -n "$gm_l_page" ] || return 0
  done
}

# gm_gcs_delete BUCKET NAME (a missing object is fine)
gm_gcs_delete() {
  gm_urlencode "$1"
  gm_x_url="$gm_ep_storage/storage/v1/b/$gm_r/o/"
  gm_urlencode "$2"
  gm_x_url=$gm_x_url$gm_r
  if gm_api DELETE "$gm_x_url" "$gm_tmp.del" || [ "$gm_code" = 404 ]; then
    rm -f "$gm_tmp.del"
    return 0
  fi
  gm_log "could not delete gs://$1/$2: $(gm_http_problem "$gm_tmp.del")"
  rm -f "$gm_tmp.del"
  return 1
}

# ---------------------------------------------------------------------------------------------------------
# Settings

gm_attr_keys='gce-matrix-bucket gce-matrix-experiment-prefix gce-matrix-run-id gce-matrix-experiment
gce-matrix-attempt gce-matrix-command gce-matrix-params gce-matrix-param-env gce-matrix-inputs gce-matrix-secrets
gce-matrix-container-image gce-matrix-gpus gce-matrix-timeout-seconds gce-matrix-heartbeat-seconds
gce-matrix-log-interval-seconds gce-matrix-checkpoint-interval-seconds gce-matrix-repo-sha gce-matrix-spot gce-matrix-self-delete
gce-matrix-endpoint-storage gce-matrix-endpoint-compute gce-matrix-endpoint-secretmanager gce-matrix-source
gce-matrix-command-identity gce-matrix-local-run gce-matrix-command-credentials gce-matrix-endpoint-sts
gce-matrix-services gce-matrix-members gce-matrix-resources'

# The value of an instance attribute as fetched by gm_fetch_settings (empty when unset).
gm_attr() {
  [ -f "$gm_state/attr/$1" ] && cat "$gm_state/attr/$1"
}

# Fetches every attribute (and the instance facts) into $gm_state/attr and $gm_state/inst; skips what is cached.
gm_fetch_settings() {
  mkdir -p "$gm_state/attr" "$gm_state/inst"
  if [ ! -f "$gm_state/attr/.complete" ]; then
    for gm_fs_key in $gm_attr_keys; do
      rm -f "$gm_state/attr/$gm_fs_key"
      gm_md "instance/attributes/$gm_fs_key" "$gm_state/attr/$gm_fs_key"
      if [ $? -eq 2 ]; then
        gm_log "could not read instance attribute $gm_fs_key: $(gm_http_problem)"
      fi
    done
    # a packed VM: each member's own attributes (the coordinator hands them to the member's agent)
    gm_read "$gm_state/attr/gce-matrix-members"
    gm_int "$gm_r" 0
    gm_fs_i=1
    while [ "$gm_fs_i" -le "$gm_r" ] && [ "$gm_fs_i" -le 64 ]; do
      for gm_fs_key in "gce-matrix-member-$gm_fs_i" "gce-matrix-member-$gm_fs_i-param-env"; do
        rm -f "$gm_state/attr/$gm_fs_key"
        gm_md "instance/attributes/$gm_fs_key" "$gm_state/attr/$gm_fs_key"
        if [ $? -eq 2 ]; then
          gm_log "could not read instance attribute $gm_fs_key: $(gm_http_problem)"
        fi
      done
      gm_fs_i=$((gm_fs_i + 1))
    done
    : >"$gm_state/attr/.complete"
  fi
  if [ ! -f "$gm_state/inst/.complete" ]; then
    for gm_fs_key in instance/name instance/zone project/project-id instance/machine-type instance/cpu-platform instance/image; do
      gm_fs_file=$gm_state/inst/$(printf '%s' "$gm_fs_key" | tr '/' '_')
      gm_md "$gm_fs_key" "$gm_fs_file" || rm -f "$gm_fs_file"
    done
    : >"$gm_state/inst/.complete"
  fi
}

gm_load_settings() {
  gm_a=$gm_state/attr
  gm_read "$gm_a/gce-matrix-bucket"
  gm_bucket=$gm_r
  gm_read "$gm_a/gce-matrix-experiment-prefix"
  gm_prefix=$gm_r
  case $gm_prefix in
    '' | */) ;;
    *) gm_prefix=$gm_prefix/ ;;
  esac
  gm_read "$gm_a/gce-matrix-run-id"
  gm_run_id=$gm_r
  gm_read "$gm_a/gce-matrix-experiment"
  gm_experiment=$gm_r
  gm_read "$gm_a/gce-matrix-attempt"
  gm_int "$gm_r" 1
  gm_attempt=$gm_r
  gm_command=$(gm_attr gce-matrix-command)
  gm_params=$(gm_attr gce-matrix-params)
  gm_read "$gm_a/gce-matrix-container-image"
  gm_image=$gm_r
  gm_read "$gm_a/gce-matrix-gpus"
  gm_int "$gm_r" 0
  gm_gpus=$gm_r
  gm_read "$gm_a/gce-matrix-timeout-seconds"
  gm_int "$gm_r" 0
  gm_timeout=$gm_r
  gm_read "$gm_a/gce-matrix-heartbeat-seconds"
  gm_int "$gm_r" 60
  gm_hb_every=$gm_r
  gm_read "$gm_a/gce-matrix-log-interval-seconds"
  gm_int "$gm_r" 10
  gm_log_every=$gm_r
  gm_read "$gm_a/gce-matrix-checkpoint-interval-seconds"
  gm_int "$gm_r" 0
  gm_ckpt_every=$gm_r
  [ "$gm_hb_every" -ge 1 ] || gm_hb_every=10
  [ "$gm_log_every" -ge 1 ] || gm_log_every=10
  gm_read "$gm_a/gce-matrix-repo-sha"
  gm_repo_sha=$gm_r
  gm_read "$gm_a/gce-matrix-spot"
  case $gm_r in
    [Tt][Rr][Uu][Ee]) gm_spot=true ;;
    [Ff][Aa][Ll][Ss][Ee]) gm_spot=false ;;
    *) gm_spot= ;;
  esac
  gm_read "$gm_a/gce-matrix-self-delete"
  case $gm_r in
    [Ff][Aa][Ll][Ss][Ee]) gm_self_delete=false ;;
    *) gm_self_delete=true ;;
  esac
  # Whose identity the command gets: `isolated` (default) keeps it from the metadata server, `vm` lets it use
  # the VM's service account. Anything else is refused before the command runs (gm_isolate).
  gm_read "$gm_a/gce-matrix-command-identity"
  case $gm_r in
    '' | [Ii][Ss][Oo][Ll][Aa][Tt][Ee][Dd]) gm_identity=isolated ;;
    [Vv][Mm]) gm_identity=vm ;;
    *) gm_identity=$gm_r ;;
  esac
  # What the command gets to reach Google Cloud itself: `none` (default), or `experiment`, a Cloud Storage token
  # limited to this experiment's objects. Anything else is refused before the command runs.
  gm_read "$gm_a/gce-matrix-command-credentials"
  case $gm_r in
    '' | [Nn][Oo][Nn][Ee]) gm_cmd_creds=none ;;
    [Ee][Xx][Pp][Ee][Rr][Ii][Mm][Ee][Nn][Tt]) gm_cmd_creds=experiment ;;
    *) gm_cmd_creds=$gm_r ;;
  esac
  # Set by the local runner only: the agent runs on a workstation as its user, and leaves the machine alone.
  gm_read "$gm_a/gce-matrix-local-run"
  case $gm_r in
    [Tt][Rr][Uu][Ee]) gm_local_run=true ;;
    *) gm_local_run=false ;;
  esac

  gm_read "$gm_state/inst/instance_name"
  gm_instance=$gm_r
  gm_read "$gm_state/inst/instance_zone"
  gm_zone=${gm_r##*/}
  gm_read "$gm_state/inst/project_project-id"
  gm_project=$gm_r
  gm_read "$gm_state/inst/instance_machine-type"
  gm_machine_type=${gm_r##*/}
  gm_read "$gm_state/inst/instance_cpu-platform"
  gm_cpu_platform=$gm_r
  gm_read "$gm_state/inst/instance_image"
  gm_vm_image=$gm_r

  # Endpoints: instance attribute, else environment, else Google's default.
  gm_read "$gm_a/gce-matrix-endpoint-storage"
  gm_ep_storage=$gm_r
  [ -n "$gm_ep_storage" ] || gm_ep_storage=${STORAGE_EMULATOR_HOST:-https://storage.googleapis.com}
  case $gm_ep_storage in
    http://* | https://*) ;;
    *) gm_ep_storage=http://$gm_ep_storage ;;
  esac
  while :; do
    case $gm_ep_storage in
      */) gm_ep_storage=${gm_ep_storage%/} ;;
      */storage/v1) gm_ep_storage=${gm_ep_storage%/storage/v1} ;;
      *) break ;;
    esac
  done
  gm_read "$gm_a/gce-matrix-endpoint-compute"
  gm_ep_compute=$gm_r
  [ -n "$gm_ep_compute" ] || gm_ep_compute=${CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE:-https://compute.googleapis.com/compute/v1/}
  case $gm_ep_compute in */) ;; *) gm_ep_compute=$gm_ep_compute/ ;; esac
  gm_read "$gm_a/gce-matrix-endpoint-sts"
  gm_ep_sts=$gm_r
  [ -n "$gm_ep_sts" ] || gm_ep_sts=${CLOUDSDK_API_ENDPOINT_OVERRIDES_STS:-https://sts.googleapis.com/}
  case $gm_ep_sts in */) ;; *) gm_ep_sts=$gm_ep_sts/ ;; esac
  gm_read "$gm_a/gce-matrix-endpoint-secretmanager"
  gm_ep_secrets=$gm_r
  [ -n "$gm_ep_secrets" ] || gm_ep_secrets=${CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER:-https://secretmanager.googleapis.com/}
  case $gm_ep_secrets in */) ;; *) gm_ep_secrets=$gm_ep_secrets/ ;; esac

  gm_src_object=
  gm_src_sha256=
  gm_src_size=
  gm_src_commit=
  if [ -f "$gm_a/gce-matrix-source" ]; then
    while IFS= read -r gm_ls_line || [ -n "$gm_ls_line" ]; do
      gm_ls_line=${gm_ls_line%"$gm_cr"}
      case $gm_ls_line in
        object=*) gm_src_object=${gm_ls_line#object=} ;;
        sha256=*) gm_src_sha256=${gm_ls_line#sha256=} ;;
        size=*) gm_src_size=${gm_ls_line#size=} ;;
        commit=*) gm_src_commit=${gm_ls_line#commit=} ;;
      esac
    done <"$gm_a/gce-matrix-source"
    gm_int "$gm_src_size" 0
    gm_src_size=$gm_r
  fi

  gm_read "$gm_state/started-at"
  gm_started_at=$gm_r
  gm_read "$gm_state/container.digest"
  gm_container_digest=$gm_r

  # Packing: how many experiments share this VM, and what each reserves of it (cpus=C, memory-mb=M, gpus=G,
  # disk-mb=D lines).
  gm_read "$gm_a/gce-matrix-members"
  gm_int "$gm_r" 0
  gm_members=$gm_r
  gm_res_cpus=1
  gm_res_mem=0
  gm_res_gpus=0
  gm_res_disk=0
  if [ -f "$gm_a/gce-matrix-resources" ]; then
    while IFS= read -r gm_ls_line || [ -n "$gm_ls_line" ]; do
      gm_ls_line=${gm_ls_line%"$gm_cr"}
      case $gm_ls_line in
        cpus=*) gm_res_cpus=${gm_ls_line#cpus=} ;;
        memory-mb=*) gm_res_mem=${gm_ls_line#memory-mb=} ;;
        gpus=*) gm_res_gpus=${gm_ls_line#gpus=} ;;
        disk-mb=*) gm_res_disk=${gm_ls_line#disk-mb=} ;;
      esac
    done <"$gm_a/gce-matrix-resources"
  fi

  gm_logfile=$gm_root/attempt-$gm_attempt.log
  gm_logs_prefix=${gm_prefix}attempts/$gm_attempt/log/
}

# ---------------------------------------------------------------------------------------------------------
# Reporting: heartbeat, log chunks, status

gm_set_phase() {
  printf '%s\n' "$1" >"$gm_state/phase"
}

gm_heartbeat() {
  gm_read "$gm_state/phase"
  gm_hb_phase=${gm_r:-staging}
  gm_gcs_put_text "$gm_bucket" "${gm_prefix}attempts/$gm_attempt/heartbeat.json" application/json \
    "{\"attempt\":$gm_attempt,\"at\":\"$(gm_iso)\",\"phase\":\"$gm_hb_phase\"}" >/dev/null
}

# Adds the forms in which a secret value ($1, base64 $2) can show up in a log to the redaction list (agent-only
# file): the value, each line of a multi-line value of 4 characters or more, its base64 with and without padding,
# its percent-encoding. Longest first, so a longer form is never half-replaced through a shorter one.
gm_note_redactions() {
  [ -n "$1" ] || return 0
  gm_nr_file=$gm_state/redact
  (
    umask 077
    {
      [ -f "$gm_nr_file" ] && cat "$gm_nr_file"
      printf '%s\n' "$1" | awk 'length($0) >= 4'
      printf '%s\n' "$1" | awk 'END { if (NR == 1) print }'
      if [ -n "$2" ]; then
        printf '%s\n' "$2"
        printf '%s\n' "${2%%=*}"
      fi
      gm_urlencode "$1"
      [ "$gm_r" = "$1" ] || printf '%s\n' "$gm_r"
    } | awk 'length($0) > 0 && !seen[$0]++ { print length($0) "\t" $0 }' | sort -rn | cut -f2- >"$gm_nr_file.new"
    mv "$gm_nr_file.new" "$gm_nr_file"
  )
}

# stdin to stdout with every entry of the redaction list replaced by ***.
gm_redact() {
  if [ ! -s "$gm_state/redact" ]; then
    cat
    return
  fi
  LC_ALL=C awk '
    NR == FNR { pat[++n] = $0; next }
    {
      line = $0
      for (i = 1; i <= n; i++) {
        out = ""
        while ((j = index(line, pat[i])) > 0) {
          out = out substr(line, 1, j - 1) "***"
          line = substr(line, j + length(pat[i]))
        }
        line = out line
      }
      print line
    }' "$gm_state/redact" -
}

# Uploads the bytes of the log appended since the last chunk as the next numbered chunk, with secrets
# redacted. While secrets are in play and more may follow ($1 is not `final`), a chunk ends at a line's end, so
# no secret is split across two chunks where neither half would match.
gm_ship_log() {
  [ -n "$gm_logfile" ] && [ -f "$gm_logfile" ] || return 0
  gm_lock "$gm_state/ship.lock"
  gm_read "$gm_state/log.offset"
  gm_int "$gm_r" 0
  gm_sl_off=$gm_r
  gm_read "$gm_state/log.seq"
  gm_int "$gm_r" 0
  gm_sl_seq=$gm_r
  gm_sl_size=$(wc -c <"$gm_logfile" | tr -d ' ')
  gm_sl_rc=0
  if [ "$gm_sl_size" -gt "$gm_sl_off" ]; then
    tail -c "+$((gm_sl_off + 1))" "$gm_logfile" >"$gm_tmp.chunk"
    if [ -s "$gm_state/redact" ]; then
      if [ "$1" != final ] && [ "$(tail -c 1 "$gm_tmp.chunk" | wc -l | tr -d ' ')" = 0 ]; then
        # up to the last complete line (a line longer than 1 MB goes as it is)
        sed '$d' "$gm_tmp.chunk" >"$gm_tmp.chunk.lines"
        if [ -s "$gm_tmp.chunk.lines" ] || [ "$(wc -c <"$gm_tmp.chunk" | tr -d ' ')" -lt 1048576 ]; then
          mv "$gm_tmp.chunk.lines" "$gm_tmp.chunk"
        fi
        rm -f "$gm_tmp.chunk.lines"
      fi
      gm_sl_n=$(wc -c <"$gm_tmp.chunk" | tr -d ' ')
      gm_redact <"$gm_tmp.chunk" >"$gm_tmp.chunk.redacted"
      mv "$gm_tmp.chunk.redacted" "$gm_tmp.chunk"
    else
      gm_sl_n=$(wc -c <"$gm_tmp.chunk" | tr -d ' ')
    fi
    if [ "$gm_sl_n" -gt 0 ]; then
      gm_sl_seq=$((gm_sl_seq + 1))
      gm_sl_name=$gm_logs_prefix$(printf '%06d' "$gm_sl_seq").txt
      if gm_gcs_upload "$gm_tmp.chunk" "$gm_bucket" "$gm_sl_name" 'text/plain; charset=utf-8' >/dev/null; then
        printf '%s\n' "$((gm_sl_off + gm_sl_n))" >"$gm_state/log.offset"
        printf '%s\n' "$gm_sl_seq" >"$gm_state/log.seq"
      else
        gm_sl_rc=1
      fi
    fi
    rm -f "$gm_tmp.chunk"
  fi
  gm_unlock "$gm_state/ship.lock"
  return $gm_sl_rc
}

# The background loop: heartbeat every gm_hb_every seconds, log chunk every gm_log_every seconds.
gm_reporter() {
  gm_tmp=$gm_state/tmp-reporter-$$
  gm_r_stop=0
  gm_r_sleep=
  trap 'gm_r_stop=1; [ -n "$gm_r_sleep" ] && kill "$gm_r_sleep" 2>/dev/null' TERM
  gm_r_next_hb=0
  gm_now
  gm_r_next_log=$((gm_now_v + gm_log_every))
  gm_r_next_ckpt=$((gm_now_v + gm_ckpt_every))
  while [ "$gm_r_stop" = 0 ]; do
    gm_now
    gm_r_now=$gm_now_v
    if [ "$gm_r_now" -ge "$gm_r_next_hb" ]; then
      gm_heartbeat
      gm_r_next_hb=$((gm_r_now + gm_hb_every))
    fi
    [ "$gm_r_stop" = 0 ] || break
    # a VM token that changed (or is about to expire) means new experiment credentials
    gm_experiment_token renew || gm_log "could not renew the experiment's credentials: $gm_error_reason"
    if [ "$gm_r_now" -ge "$gm_r_next_log" ]; then
      gm_ship_log
      gm_r_next_log=$((gm_r_now + gm_log_every))
    fi
    # While the command runs, its changed checkpoint files go up every interval: a preemption whose shutdown
    # run is cut short loses at most one interval of progress.
    if [ "$gm_ckpt_every" -gt 0 ] && [ "$gm_r_now" -ge "$gm_r_next_ckpt" ]; then
      gm_read "$gm_state/phase"
      [ "$gm_r" = running ] && gm_sync_checkpoint live >/dev/null
      gm_r_next_ckpt=$((gm_r_now + gm_ckpt_every))
    fi
    [ "$gm_r_stop" = 0 ] || break
    sleep 1 &
    gm_r_sleep=$!
    wait "$gm_r_sleep"
    gm_r_sleep=
  done
  exit 0
}

gm_start_reporter() {
  gm_reporter &
  gm_reporter_pid=$!
  printf '%s\n' "$gm_reporter_pid" >"$gm_state/reporter.pid"
}

# Stops the reporter and waits until it has finished what it was sending (so nothing lands after the status).
# Another process's reporter (shutdown mode) gets $1 seconds (default 10), then is killed.
gm_stop_reporter() {
  if [ -n "$gm_reporter_pid" ]; then
    # it may be finishing an upload: give it two minutes before KILL
    gm_stop_child "$gm_reporter_pid" 1200
    gm_reporter_pid=
  elif [ -f "$gm_state/reporter.pid" ]; then
    # another process's reporter (shutdown mode): it cannot be waited for, so poll
    gm_sr_pid=$(cat "$gm_state/reporter.pid" 2>/dev/null)
    if gm_alive "$gm_sr_pid"; then
      kill -TERM "$gm_sr_pid" 2>/dev/null
      gm_sr_n=0
      while gm_alive "$gm_sr_pid" && [ "$gm_sr_n" -lt "${1:-10}" ]; do
        sleep 1
        gm_sr_n=$((gm_sr_n + 1))
      done
      # an upload it was in the middle of is dropped whole (a single-request upload is all or nothing)
      gm_alive "$gm_sr_pid" && gm_kill_tree KILL "$gm_sr_pid"
    fi
  fi
  rm -f "$gm_state/reporter.pid"
}

# `,"key":"value"` when value is non-empty.
gm_jfield() {
  [ -n "$2" ] && printf ',"%s":"%s"' "$1" "$(gm_json_escape "$2")"
}

# gm_status_json STATE EXITCODE|null REASON
gm_status_json() {
  gm_sj_outputs=$(cat "$gm_state/outputs.json" 2>/dev/null)
  gm_sj_params=$(printf '%s\n' "$gm_params" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
  gm_sj_prov="$(gm_jfield instance "$gm_instance")$(gm_jfield zone "$gm_zone")$(gm_jfield machineType "$gm_machine_type")"
  gm_sj_prov="$gm_sj_prov$(gm_jfield cpuPlatform "$gm_cpu_platform")$(gm_jfield image "$gm_vm_image")"
  gm_sj_prov="$gm_sj_prov$(gm_jfield containerImage "$gm_image")$(gm_jfield containerDigest "$gm_container_digest")"
  case $gm_spot in
    true | false) gm_sj_prov="$gm_sj_prov,\"spot\":$gm_spot" ;;
  esac
  gm_sj_prov="$gm_sj_prov$(gm_jfield repoSha "$gm_repo_sha")$(gm_svc_provenance)"
  if [ -n "$gm_src_sha256" ]; then
    gm_sj_prov="$gm_sj_prov$(gm_jfield sourceCommit "$gm_src_commit")$(gm_jfield sourceSha256 "$gm_src_sha256")"
    gm_sj_prov="$gm_sj_prov,\"sourceBytes\":$gm_src_size"
  fi
  case $gm_sj_params in
    '{'*'}') gm_sj_prov="$gm_sj_prov,\"parameters\":$gm_sj_params" ;;
  esac
  gm_sj_prov="$gm_sj_prov$(gm_pack_provenance)"
  gm_sj_prov=${gm_sj_prov#,}
  printf '{"schema":1,"runId":"%s","experiment":"%s","attempt":%s,"state":"%s","exitCode":%s%s%s,"endedAt":"%s","outputs":[%s],"provenance":{%s}}\n' \
    "$(gm_json_escape "$gm_run_id")" "$(gm_json_escape "$gm_experiment")" "$gm_attempt" "$1" "$2" \
    "$(gm_jfield reason "$(printf '%s\n' "$3" | gm_redact)")" "$(gm_jfield startedAt "$gm_started_at")" "$(gm_iso)" "$gm_sj_outputs" "$gm_sj_prov"
}

# Writes status.json (the completion marker), then the attempt's own copy attempts/N/status.json: launch waits
# on the copy, so when it moves on the marker is already there for collect and report.
gm_write_status() {
  gm_ws_json=$(gm_status_json "$1" "$2" "$3")
  if gm_gcs_put_text "$gm_bucket" "${gm_prefix}status.json" application/json "$gm_ws_json"; then
    : >"$gm_state/status-written"
    gm_status_done=1
    gm_log "status written: $1${2:+ (exit code $2)}${3:+: $3}"
    gm_gcs_put_text "$gm_bucket" "${gm_prefix}attempts/$gm_attempt/status.json" application/json "$gm_ws_json"
    return $?
  fi
  gm_log "COULD NOT WRITE THE STATUS gs://$gm_bucket/${gm_prefix}status.json"
  return 1
}

# Takes the right to write this attempt's status (startup and shutdown agents never both write).
gm_claim() {
  mkdir "$gm_state/status.claim" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------------------
# Outputs and checkpoint

# Uploads every regular file of the output dir under outputs/ and records [{path,size}] in outputs.json;
# deletes objects under outputs/ this attempt did not produce.
gm_upload_outputs() {
  : >"$gm_state/outputs.json"
  : >"$gm_state/outputs.failed"
  : >"$gm_tmp.outnames"
  gm_uo_rc=0
  gm_uo_count=0
  find "$gm_output" -type l >"$gm_tmp.links" 2>/dev/null
  while IFS= read -r gm_uo_f; do
    gm_log "skipping symlink ${gm_uo_f#"$gm_output"/} in the output directory (symlinks are not uploaded)"
  done <"$gm_tmp.links"
  find "$gm_output" -type f >"$gm_tmp.files" 2>/dev/null
  gm_uo_sep=
  while IFS= read -r gm_uo_f; do
    if [ ! -f "$gm_uo_f" ] || [ -L "$gm_uo_f" ]; then
      gm_log "skipping an output whose name cannot be handled: $gm_uo_f"
      continue
    fi
    gm_uo_rel=${gm_uo_f#"$gm_output"/}
    gm_uo_size=$(wc -c <"$gm_uo_f" | tr -d ' ')
    if gm_gcs_upload "$gm_uo_f" "$gm_bucket" "${gm_prefix}outputs/$gm_uo_rel" application/octet-stream; then
      printf '%s{"path":"%s","size":%s}' "$gm_uo_sep" "$(gm_json_escape "$gm_uo_rel")" "$gm_uo_size" >>"$gm_state/outputs.json"
      gm_uo_sep=,
      printf '%s\n' "${gm_prefix}outputs/$gm_uo_rel" >>"$gm_tmp.outnames"
      gm_uo_count=$((gm_uo_count + 1))
    else
      printf '%s\n' "$gm_uo_rel" >>"$gm_state/outputs.failed"
      gm_uo_rc=1
    fi
  done <"$gm_tmp.files"
  if gm_gcs_list "$gm_bucket" "${gm_prefix}outputs/" "$gm_tmp.remote"; then
    while IFS= read -r gm_uo_name; do
      grep -Fxq -e "$gm_uo_name" "$gm_tmp.outnames" || gm_gcs_delete "$gm_bucket" "$gm_uo_name"
    done <"$gm_tmp.remote"
  fi
  [ -f "$gm_output/metrics.json" ] || gm_log "note: the command wrote no metrics file (GCE_MATRIX_METRICS_FILE)"
  gm_log "uploaded $gm_uo_count output file(s)"
  rm -f "$gm_tmp.links" "$gm_tmp.files" "$gm_tmp.outnames" "$gm_tmp.remote"
  return $gm_uo_rc
}

# `CRC SIZE RELPATH` for every regular file of the checkpoint dir.
gm_checkpoint_manifest() {
  find "$gm_checkpoint" -type f 2>/dev/null | while IFS= read -r gm_cm_f; do
    [ -f "$gm_cm_f" ] || continue
    gm_cm_rel=${gm_cm_f#"$gm_checkpoint"/}
    case $gm_cm_rel in *.part) continue ;; esac
    printf '%s %s\n' "$(cksum <"$gm_cm_f" | awk '{ print $1, $2 }')" "$gm_cm_rel"
  done | LC_ALL=C sort
}

gm_restore_checkpoint() {
  gm_rc_prefix=${gm_prefix}checkpoint/
  if ! gm_gcs_list "$gm_bucket" "$gm_rc_prefix" "$gm_tmp.ckpt"; then
    gm_error_reason="could not list the checkpoint gs://$gm_bucket/$gm_rc_prefix: $gm_list_problem"
    return 1
  fi
  gm_rc_n=0
  while IFS= read -r gm_rc_name; do
    gm_rc_rel=${gm_rc_name#"$gm_rc_prefix"}
    gm_safe_rel "$gm_rc_rel" || continue
    if ! gm_gcs_download "$gm_bucket" "$gm_rc_name" "$gm_checkpoint/$gm_rc_rel"; then
      gm_error_reason="could not restore checkpoint file $gm_rc_rel: $gm_download_problem"
      return 1
    fi
    gm_rc_n=$((gm_rc_n + 1))
  done <"$gm_tmp.ckpt"
  rm -f "$gm_tmp.ckpt"
  gm_checkpoint_manifest >"$gm_state/checkpoint.manifest"
  if [ "$gm_rc_n" -gt 0 ]; then
    gm_log "restored $gm_rc_n checkpoint file(s) into $gm_checkpoint"
  else
    gm_log "no checkpoint to restore"
  fi
  return 0
}

# Uploads checkpoint files that changed since the last restore/sync and deletes the ones that went away.
# `live`: the command may still be running (the periodic sync).
gm_sync_checkpoint() {
  gm_sc_live=${1:-}
  [ "$gm_sc_live" = live ] && gm_load_run_user
  gm_lock "$gm_state/checkpoint.lock"
  [ -f "$gm_state/checkpoint.manifest" ] || : >"$gm_state/checkpoint.manifest"
  gm_checkpoint_manifest >"$gm_tmp.mnew"
  : >"$gm_tmp.mdone"
  gm_sc_rc=0
  gm_sc_up=0
  gm_sc_del=0
  while IFS= read -r gm_sc_line; do
    if grep -Fxq -e "$gm_sc_line" "$gm_state/checkpoint.manifest"; then
      printf '%s\n' "$gm_sc_line" >>"$gm_tmp.mdone"
      continue
    fi
    gm_sc_rel=${gm_sc_line#* * }
    gm_sc_file=$gm_checkpoint/$gm_sc_rel
    if [ "$gm_sc_live" = live ] && [ -n "$gm_run_uid" ]; then
      # A running command could swap the file for a link to one of the agent's: read it as the command's user.
      if ! gm_as_user cat -- "$gm_sc_file" >"$gm_tmp.ckfile" 2>/dev/null </dev/null; then
        rm -f "$gm_tmp.ckfile"
        gm_sc_rc=1
        continue
      fi
      gm_sc_file=$gm_tmp.ckfile
    fi
    if gm_gcs_upload "$gm_sc_file" "$gm_bucket" "${gm_prefix}checkpoint/$gm_sc_rel" application/octet-stream; then
      printf '%s\n' "$gm_sc_line" >>"$gm_tmp.mdone"
      gm_sc_up=$((gm_sc_up + 1))
    else
      gm_sc_rc=1
    fi
    rm -f "$gm_tmp.ckfile"
  done <"$gm_tmp.mnew"
  sed 's/^[^ ]* [^ ]* //' "$gm_tmp.mnew" >"$gm_tmp.mrels"
  while IFS= read -r gm_sc_line; do
    gm_sc_rel=${gm_sc_line#* * }
    grep -Fxq -e "$gm_sc_rel" "$gm_tmp.mrels" && continue
    if gm_gcs_delete "$gm_bucket" "${gm_prefix}checkpoint/$gm_sc_rel"; then
      gm_sc_del=$((gm_sc_del + 1))
    else
      printf '%s\n' "$gm_sc_line" >>"$gm_tmp.mdone"
      gm_sc_rc=1
    fi
  done <"$gm_state/checkpoint.manifest"
  LC_ALL=C sort "$gm_tmp.mdone" >"$gm_state/checkpoint.manifest"
  rm -f "$gm_tmp.mnew" "$gm_tmp.mdone" "$gm_tmp.mrels"
  gm_unlock "$gm_state/checkpoint.lock"
  gm_log "checkpoint synced: $gm_sc_up file(s) uploaded, $gm_sc_del deleted"
  return $gm_sc_rc
}

# ---------------------------------------------------------------------------------------------------------
# Staging: the source snapshot, inputs, secrets, container image

# The SHA-256 (hex) of file $1, with whichever tool the image has.
gm_sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | awk '{ print $1 }'
  fi
}

# Downloads the run's source snapshot, checks its size and SHA-256, and unpacks it as the working directory.
gm_stage_source() {
  [ -n "$gm_src_object" ] || return 0
  if [ -f "$gm_state/source.staged" ]; then
    gm_log "the source snapshot is already unpacked in $gm_work"
    return 0
  fi
  case $gm_src_sha256 in
    '' | *[!0-9a-f]*)
      gm_error_reason="instance attribute gce-matrix-source has no valid sha256"
      return 1
      ;;
  esac
  command -v tar >/dev/null 2>&1 || {
    gm_error_reason="the source snapshot needs tar, which the VM image does not have"
    return 1
  }
  gm_ss_file=$gm_state/source.tar.gz
  gm_log "downloading the source snapshot of ${gm_src_commit:-the repository} ($gm_src_size bytes)"
  gm_ms
  gm_ss_t0=$gm_ms_v
  if ! gm_gcs_download "$gm_bucket" "$gm_src_object" "$gm_ss_file"; then
    gm_error_reason="could not download the source snapshot gs://$gm_bucket/$gm_src_object: $gm_download_problem"
    return 1
  fi
  gm_ms
  gm_ss_t1=$gm_ms_v
  gm_ss_size=$(wc -c <"$gm_ss_file" | tr -d ' ')
  gm_ss_sum=$(gm_sha256 "$gm_ss_file")
  gm_ms
  gm_ss_t2=$gm_ms_v
  if [ -z "$gm_ss_sum" ]; then
    rm -f "$gm_ss_file"
    gm_error_reason="the source snapshot cannot be verified: the VM image has none of sha256sum, shasum, openssl"
    return 1
  fi
  if [ "$gm_ss_sum" != "$gm_src_sha256" ] || [ "$gm_ss_size" != "$gm_src_size" ]; then
    rm -f "$gm_ss_file"
    gm_error_reason="the source snapshot gs://$gm_bucket/$gm_src_object failed its checksum: expected sha256 $gm_src_sha256 ($gm_src_size bytes), got $gm_ss_sum ($gm_ss_size bytes)"
    return 1
  fi
  # GitHub's tarball and a local snapshot alike hold one top-level directory.
  if ! tar -xzf "$gm_ss_file" -C "$gm_work" --strip-components=1 --no-same-owner >"$gm_tmp.tar" 2>&1; then
    gm_error_reason="could not unpack the source snapshot: $(tail -n 1 "$gm_tmp.tar" | cut -c1-300)"
    cat "$gm_tmp.tar" >>"$gm_logfile"
    rm -f "$gm_ss_file" "$gm_tmp.tar"
    return 1
  fi
  gm_ms
  gm_ss_t3=$gm_ms_v
  rm -f "$gm_ss_file" "$gm_tmp.tar"
  : >"$gm_state/source.staged"
  gm_log "unpacked the source snapshot of ${gm_src_commit:-the repository} (sha256 $gm_src_sha256) into $gm_work"
  if [ -n "$gm_ss_t0" ] && [ -n "$gm_ss_t3" ]; then
    gm_log "source snapshot timing: download $((gm_ss_t1 - gm_ss_t0)) ms, verify $((gm_ss_t2 - gm_ss_t1)) ms, unpack $((gm_ss_t3 - gm_ss_t2)) ms"
  fi
  return 0
}

gm_stage_inputs() {
  gm_si_file=$gm_state/attr/gce-matrix-inputs
  [ -s "$gm_si_file" ] || return 0
  while IFS= read -r gm_si_line || [ -n "$gm_si_line" ]; do
    gm_si_line=${gm_si_line%"$gm_cr"}
    case $gm_si_line in '' | '#'*) continue ;; esac
    case $gm_si_line in
      *"$gm_tab"*)
        gm_si_src=${gm_si_line%%"$gm_tab"*}
        gm_si_dest=${gm_si_line#*"$gm_tab"}
        ;;
      *)
        gm_si_src=$gm_si_line
        gm_si_dest=
        ;;
    esac
    case $gm_si_src in
      gs://*/*) ;;
      *)
        gm_error_reason="input $gm_si_src is not a gs://bucket/object URI"
        return 1
        ;;
    esac
    gm_si_rest=${gm_si_src#gs://}
    gm_si_bucket=${gm_si_rest%%/*}
    gm_si_obj=${gm_si_rest#*/}
    if [ -z "$gm_si_dest" ]; then
      gm_si_dest=${gm_si_obj%/}
      gm_si_dest=${gm_si_dest##*/}
    fi
    gm_si_dest=${gm_si_dest%/}
    if [ -n "$gm_si_dest" ] && ! gm_safe_rel "$gm_si_dest"; then
      gm_error_reason="input destination $gm_si_dest is not a safe relative path"
      return 1
    fi
    case $gm_si_obj in
      */ | '')
        if ! gm_gcs_list "$gm_si_bucket" "$gm_si_obj" "$gm_tmp.inlist"; then
          gm_error_reason="could not list input $gm_si_src: $gm_list_problem"
          return 1
        fi
        gm_si_n=0
        while IFS= read -r gm_si_name; do
          gm_si_rel=${gm_si_name#"$gm_si_obj"}
          gm_safe_rel "$gm_si_rel" || continue
          gm_si_to=$gm_input/${gm_si_dest:+$gm_si_dest/}$gm_si_rel
          if ! gm_gcs_download "$gm_si_bucket" "$gm_si_name" "$gm_si_to"; then
            gm_error_reason="could not stage input gs://$gm_si_bucket/$gm_si_name: $gm_download_problem"
            return 1
          fi
          gm_si_n=$((gm_si_n + 1))
        done <"$gm_tmp.inlist"
        rm -f "$gm_tmp.inlist"
        if [ "$gm_si_n" -eq 0 ]; then
          gm_error_reason="input $gm_si_src matches no objects"
          return 1
        fi
        gm_log "staged $gm_si_n object(s) of $gm_si_src into input/$gm_si_dest"
        ;;
      *)
        if ! gm_gcs_download "$gm_si_bucket" "$gm_si_obj" "$gm_input/$gm_si_dest"; then
          gm_error_reason="could not stage input $gm_si_src: $gm_download_problem"
          return 1
        fi
        gm_log "staged $gm_si_src into input/$gm_si_dest"
        ;;
    esac
  done <"$gm_si_file"
  return 0
}

# Reads every secret into gm_secret_name_N / gm_secret_value_N (shell variables, not exported: only the
# command's environment gets them). Values are never logged.
gm_fetch_secrets() {
  gm_secret_count=0
  gm_fs_file=$gm_state/attr/gce-matrix-secrets
  [ -s "$gm_fs_file" ] || return 0
  while IFS= read -r gm_fs_line || [ -n "$gm_fs_line" ]; do
    gm_fs_line=${gm_fs_line%"$gm_cr"}
    case $gm_fs_line in '' | '#'*) continue ;; esac
    gm_fs_name=${gm_fs_line%%=*}
    gm_fs_ref=${gm_fs_line#*=}
    case $gm_fs_name in
      '' | [0-9]* | *[!A-Za-z0-9_]* | PATH | HOME | GCE_MATRIX_*)
        gm_error_reason="secret variable name '$gm_fs_name' is not allowed"
        return 1
        ;;
    esac
    case $gm_fs_ref in
      projects/*/secrets/*/versions/*) ;;
      projects/*/secrets/*) gm_fs_ref=$gm_fs_ref/versions/latest ;;
      *)
        gm_error_reason="secret $gm_fs_name: '$gm_fs_ref' is not projects/P/secrets/S/versions/V"
        return 1
        ;;
    esac
    if ! gm_api GET "${gm_ep_secrets}v1/$gm_fs_ref:access" "$gm_tmp.secret"; then
      gm_error_reason="secret $gm_fs_name ($gm_fs_ref) could not be read: $(gm_http_problem "$gm_tmp.secret")"
      rm -f "$gm_tmp.secret"
      return 1
    fi
    gm_fs_b64=$(gm_json_get 2 data <"$gm_tmp.secret")
    # shellcheck disable=SC2034 # read by the eval below
    gm_fs_value=$(printf '%s' "$gm_fs_b64" | gm_b64decode)
    rm -f "$gm_tmp.secret"
    gm_note_redactions "$gm_fs_value" "$gm_fs_b64"
    unset gm_fs_b64
    gm_secret_count=$((gm_secret_count + 1))
    eval "gm_secret_name_$gm_secret_count=\$gm_fs_name"
    eval "gm_secret_value_$gm_secret_count=\$gm_fs_value"
    unset gm_fs_value
    gm_log "secret $gm_fs_name read from $gm_fs_ref"
  done <"$gm_fs_file"
  return 0
}

# The registry host of an image reference, when it is one of Google's (gcr.io, *.pkg.dev).
gm_google_registry() {
  gm_gr_first=${1%%/*}
  case $gm_gr_first in
    gcr.io | *.gcr.io | *-docker.pkg.dev | *.pkg.dev) printf '%s\n' "$gm_gr_first" ;;
  esac
}

gm_prepare_container() {
  [ -n "$gm_image" ] || return 0
  if ! gm_ctr_engine install; then
    gm_error_reason="container image $gm_image requested but the VM image has ${gm_ctr_missing:-neither docker nor podman}; use an image that ships one (input image)"
    return 1
  fi
  DOCKER_CONFIG=$gm_state/docker
  export DOCKER_CONFIG
  mkdir -p "$DOCKER_CONFIG"
  gm_pc_reg=$(gm_google_registry "$gm_image")
  if [ -n "$gm_pc_reg" ] && gm_token_get; then
    if printf '%s' "$gm_token" | "$gm_ctr" login -u oauth2accesstoken --password-stdin "https://$gm_pc_reg" >"$gm_tmp.docker" 2>&1; then
      gm_log "logged in to $gm_pc_reg"
    else
      gm_log "$gm_ctr login to $gm_pc_reg failed: $(tail -n 1 "$gm_tmp.docker")"
    fi
  fi
  gm_log "pulling $gm_image"
  if ! gm_ctr_pull "$gm_image" >"$gm_tmp.docker" 2>&1; then
    cat "$gm_tmp.docker" >>"$gm_logfile"
    gm_error_reason="could not pull container image $gm_image: $(tail -n 1 "$gm_tmp.docker" | cut -c1-300)"
    rm -f "$gm_tmp.docker"
    return 1
  fi
  rm -f "$gm_tmp.docker"
  gm_container_digest=$(gm_ctr_digest "$gm_image")
  printf '%s\n' "$gm_container_digest" >"$gm_state/container.digest"
  gm_log "container image $gm_image${gm_container_digest:+ is $gm_container_digest}"
  return 0
}

# ---------------------------------------------------------------------------------------------------------
# Containers: every container operation the agent makes goes through these, over docker or podman
# (whichever the image has; docker first). The command's own image and the services use the same ones.

# Sets gm_ctr to the container engine on PATH. On a VM whose image has none but has apt (Google's Debian and
# Ubuntu images), installs Debian's docker.io once; fails when there is still none (gm_ctr_missing says why).
gm_ctr_engine() {
  [ -n "${gm_ctr:-}" ] && return 0
  gm_ctr_find && return 0
  [ "${1:-}" = install ] || return 1
  [ -z "${gm_ctr_tried:-}" ] || return 1
  gm_ctr_tried=1
  gm_ctr_missing="neither docker nor podman"
  [ "$gm_local_run" = true ] && return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  gm_log "the VM image has neither docker nor podman; installing docker.io from its package sources"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io; } >"$gm_tmp.apt" 2>&1; then
    gm_ctr_missing="neither docker nor podman, and installing docker.io failed ($(grep . "$gm_tmp.apt" | tail -n 1 | cut -c1-200))"
    cat "$gm_tmp.apt" >>"$gm_logfile"
    rm -f "$gm_tmp.apt"
    return 1
  fi
  cat "$gm_tmp.apt" >>"$gm_logfile"
  rm -f "$gm_tmp.apt"
  gm_ctr_find
}

gm_ctr_find() {
  if command -v docker >/dev/null 2>&1; then
    gm_ctr=docker
  elif command -v podman >/dev/null 2>&1; then
    gm_ctr=podman
  else
    return 1
  fi
  return 0
}

# gm_ctr_pull IMAGE : the engine's output on stdout and stderr.
gm_ctr_pull() {
  "$gm_ctr" pull "$1"
}

# gm_ctr_digest IMAGE : prints the pulled image's digest (sha256:...), else its id; nothing when unknown.
gm_ctr_digest() {
  gm_cd_v=$("$gm_ctr" inspect --format '{{index .RepoDigests 0}}' "$1" 2>/dev/null | sed -n 1p)
  case $gm_cd_v in
    *@*) gm_cd_v=${gm_cd_v#*@} ;;
    *) gm_cd_v=$("$gm_ctr" inspect --format '{{.Id}}' "$1" 2>/dev/null | sed -n 1p) ;;
  esac
  printf '%s\n' "$gm_cd_v"
}

# gm_ctr_run NAME RUN-ARGS... : starts a detached container NAME with `run -d` and the rest as given
# (options, image, arguments).
gm_ctr_run() {
  gm_cr_name=$1
  shift
  "$gm_ctr" run -d --name "$gm_cr_name" "$@"
}

# gm_ctr_running NAME : is the container running?
gm_ctr_running() {
  [ "$("$gm_ctr" inspect --format '{{.State.Running}}' "$1" 2>/dev/null | sed -n 1p)" = true ]
}

# gm_ctr_health NAME SECONDS CMD : runs CMD with sh -c in the container, for at most SECONDS where `timeout`
# exists; its exit code, output on stdout.
gm_ctr_health() {
  if command -v timeout >/dev/null 2>&1; then
    timeout -k 2 "$2" "$gm_ctr" exec "$1" sh -c "$3" </dev/null 2>&1
  else
    "$gm_ctr" exec "$1" sh -c "$3" </dev/null 2>&1
  fi
}

# gm_ctr_stop NAME SECONDS : TERM, KILL after SECONDS.
gm_ctr_stop() {
  "$gm_ctr" stop -t "$2" "$1" >/dev/null 2>&1
}

# gm_ctr_logs NAME : the container's stdout and stderr so far.
gm_ctr_logs() {
  "$gm_ctr" logs "$1" 2>&1
}

# gm_ctr_rm NAME : removes the (stopped) container.
gm_ctr_rm() {
  "$gm_ctr" rm -f "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------------------
# Services: containers beside the command (gce-matrix-services), started after isolation is in place,
# healthy before the command starts, stopped after it on every path, their logs in the experiment's log.
#
# The attribute holds a line `service NAME` per service and then its `KEY VALUE` lines (image, env N=V, port,
# entrypoint, arg, health-cmd, health-interval, health-timeout, health-retries, cpus, memory); values are one
# line, with backslash, newline, CR and tab escaped as \\ \n \r \t.

gm_svc_count=0

# Reads the attribute into gm_svc_count and gm_svc_{name,image,ports,hcmd,hint,htimeout,hretries}_I.
gm_svc_load() {
  gm_svc_count=0
  [ -s "$gm_state/attr/gce-matrix-services" ] || return 0
  while IFS= read -r gm_sl_line || [ -n "$gm_sl_line" ]; do
    gm_sl_line=${gm_sl_line%"$gm_cr"}
    gm_sl_key=${gm_sl_line%% *}
    gm_sl_val=${gm_sl_line#* }
    case $gm_sl_key in
      service)
        gm_svc_count=$((gm_svc_count + 1))
        gm_sl_i=$gm_svc_count
        eval "gm_svc_name_$gm_sl_i=\$gm_sl_val"
        eval "gm_svc_image_$gm_sl_i= gm_svc_ports_$gm_sl_i= gm_svc_hcmd_$gm_sl_i="
        eval "gm_svc_hint_$gm_sl_i=2 gm_svc_htimeout_$gm_sl_i=10 gm_svc_hretries_$gm_sl_i=30"
        ;;
      image) eval "gm_svc_image_$gm_sl_i=\$gm_sl_val" ;;
      port) eval "gm_svc_ports_$gm_sl_i=\"\$gm_svc_ports_$gm_sl_i \$gm_sl_val\"" ;;
      health-cmd)
        gm_sl_val=$(printf '%b' "$gm_sl_val")
        eval "gm_svc_hcmd_$gm_sl_i=\$gm_sl_val"
        ;;
      health-interval | health-timeout | health-retries)
        gm_int "$gm_sl_val" 1
        eval "gm_svc_h$(printf '%s' "${gm_sl_key#health-}" | sed 's/interval/int/')_$gm_sl_i=\$gm_r"
        ;;
    esac
  done <"$gm_state/attr/gce-matrix-services"
  return 0
}

# gm_svc_get FIELD I : sets gm_r to gm_svc_FIELD_I.
gm_svc_get() {
  eval "gm_r=\${gm_svc_$1_$2:-}"
}

# The TCP ports in use on this machine (any state), one a line, from /proc/net/tcp and tcp6.
gm_svc_used_ports() {
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '
    NR > 0 && $2 ~ /:/ {
      h = toupper(substr($2, index($2, ":") + 1)); v = 0
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1
      print v
    }'
}

# Sets gm_r to a free host port for a service, and records it as taken for this boot. The range is below
# Linux's ephemeral ports, so no outgoing connection holds one; the list is machine-wide, so experiments
# sharing a VM never get the same port.
gm_svc_free_port() {
  gm_fp_list=${TMPDIR:-/var/tmp}/gce-matrix-ports
  gm_lock "$gm_fp_list.lock"
  gm_fp_used=$(
    gm_svc_used_ports
    cat "$gm_fp_list" 2>/dev/null
  )
  gm_fp_n=0
  gm_fp_port=$((20000 + ($$ * 37 + gm_svc_port_seq * 101) % 12000))
  gm_r=
  while [ "$gm_fp_n" -lt 12000 ]; do
    case "
$gm_fp_used
" in
      *"
$gm_fp_port
"*) ;;
      *)
        gm_r=$gm_fp_port
        break
        ;;
    esac
    gm_fp_n=$((gm_fp_n + 1))
    gm_fp_port=$((gm_fp_port + 1))
    [ "$gm_fp_port" -lt 32000 ] || gm_fp_port=20000
  done
  [ -n "$gm_r" ] && printf '%s\n' "$gm_r" >>"$gm_fp_list"
  gm_unlock "$gm_fp_list.lock"
  gm_svc_port_seq=$((gm_svc_port_seq + 1))
  [ -n "$gm_r" ]
}
gm_svc_port_seq=0

# Pulls every service's image and records its digest. Sets gm_error_reason on failure.
gm_svc_pull() {
  [ "$gm_svc_count" -gt 0 ] || return 0
  if ! gm_ctr_engine install; then
    gm_svc_get name 1
    if [ "$gm_local_run" = true ]; then
      gm_error_reason="service $gm_r needs a container engine, but this machine has neither docker nor podman"
    else
      gm_error_reason="service $gm_r needs a container engine, but the VM image has ${gm_ctr_missing:-neither docker nor podman}; use an image that ships one (input image)"
    fi
    return 1
  fi
  : >"$gm_state/services.prov"
  gm_sp_i=1
  while [ "$gm_sp_i" -le "$gm_svc_count" ]; do
    gm_svc_get name "$gm_sp_i"
    gm_sp_name=$gm_r
    gm_svc_get image "$gm_sp_i"
    gm_sp_image=$gm_r
    gm_sp_reg=$(gm_google_registry "$gm_sp_image")
    if [ -n "$gm_sp_reg" ] && [ "$gm_ctr" = docker ] && [ -z "${DOCKER_CONFIG:-}" ] && gm_token_get; then
      DOCKER_CONFIG=$gm_state/docker
      export DOCKER_CONFIG
      mkdir -p "$DOCKER_CONFIG"
      printf '%s' "$gm_token" | docker login -u oauth2accesstoken --password-stdin "https://$gm_sp_reg" >/dev/null 2>&1 ||
        gm_log "docker login to $gm_sp_reg failed"
    fi
    gm_log "service $gm_sp_name: pulling $gm_sp_image with $gm_ctr"
    if ! gm_ctr_pull "$gm_sp_image" >"$gm_tmp.pull" 2>&1; then
      sed "s/^/[service $gm_sp_name] /" "$gm_tmp.pull" >>"$gm_logfile"
      gm_error_reason="service $gm_sp_name: could not pull $gm_sp_image: $(grep . "$gm_tmp.pull" | tail -n 1 | cut -c1-300)"
      rm -f "$gm_tmp.pull"
      return 1
    fi
    rm -f "$gm_tmp.pull"
    gm_sp_digest=$(gm_ctr_digest "$gm_sp_image")
    printf '%s\t%s\t%s\n' "$gm_sp_name" "$gm_sp_image" "$gm_sp_digest" >>"$gm_state/services.prov"
    gm_log "service $gm_sp_name: $gm_sp_image${gm_sp_digest:+ is $gm_sp_digest}"
    gm_sp_i=$((gm_sp_i + 1))
  done
  return 0
}

# gm_svc_start_one I : allocates host ports, writes the service's variables to services.env and starts its
# container.
gm_svc_start_one() {
  gm_svc_get name "$1"
  gm_so_name=$gm_r
  gm_so_env=GCE_MATRIX_SERVICE_$(printf '%s' "$gm_so_name" | tr 'a-z-' 'A-Z_')
  gm_so_ctr=$(printf 'gce-matrix-%s-%s-%s' "${gm_instance:-agent}" "$$" "$gm_so_name" | tr -c 'A-Za-z0-9_.-' '-')
  printf '%s\t%s\n' "$gm_so_name" "$gm_so_ctr" >>"$gm_state/services"
  # the options, then the image and its arguments, in the order of the attribute
  set --
  gm_so_image=
  gm_so_first=
  gm_so_in=0
  gm_so_mem=
  printf '%s_HOST=127.0.0.1\n' "$gm_so_env" >>"$gm_state/services.env"
  while IFS= read -r gm_so_line || [ -n "$gm_so_line" ]; do
    gm_so_line=${gm_so_line%"$gm_cr"}
    gm_so_key=${gm_so_line%% *}
    gm_so_val=${gm_so_line#* }
    if [ "$gm_so_key" = service ]; then
      if [ "$gm_so_val" = "$gm_so_name" ]; then gm_so_in=1; else gm_so_in=0; fi
      continue
    fi
    [ "${gm_so_in:-0}" = 1 ] || continue
    case $gm_so_key in
      image) gm_so_image=$gm_so_val ;;
      env) set -- "$@" -e "$(printf '%b' "$gm_so_val")" ;;
      port)
        gm_svc_free_port || {
          gm_error_reason="service $gm_so_name: no free host port for container port $gm_so_val"
          return 1
        }
        set -- "$@" -p "127.0.0.1:$gm_r:$gm_so_val"
        printf '%s_PORT_%s=%s\n' "$gm_so_env" "$gm_so_val" "$gm_r" >>"$gm_state/services.env"
        if [ -z "$gm_so_first" ]; then
          gm_so_first=$gm_r
          printf '%s_PORT=%s\n%s_URL=http://127.0.0.1:%s\n' "$gm_so_env" "$gm_r" "$gm_so_env" "$gm_r" >>"$gm_state/services.env"
        fi
        gm_log "service $gm_so_name: container port $gm_so_val is 127.0.0.1:$gm_r"
        ;;
      entrypoint) set -- "$@" --entrypoint "$(printf '%b' "$gm_so_val")" ;;
      cpus) set -- "$@" --cpus "$gm_so_val" ;;
      memory)
        set -- "$@" --memory "$gm_so_val"
        gm_so_mem=1
        ;;
    esac
  done <"$gm_state/attr/gce-matrix-services"
  # a member of a packed VM: its services share its reserved CPUs, and its memory unless they set their own
  if [ -n "$gm_member" ] && [ -n "${gm_pack_cpus:-}" ]; then
    [ -n "${gm_pack_gpus:-}" ] && set -- "$@" --gpus "device=$gm_pack_gpus"
    set -- "$@" --cpuset-cpus "$gm_pack_cpus"
    [ "$gm_res_mem" -gt 0 ] && [ -z "${gm_so_mem:-}" ] && set -- "$@" --memory "${gm_res_mem}m"
  fi
  # the ports are this member's before anything listens on them
  gm_svc_guard "$gm_so_name" || return 1
  set -- "$@" "$gm_so_image"
  gm_so_in=0
  while IFS= read -r gm_so_line || [ -n "$gm_so_line" ]; do
    gm_so_line=${gm_so_line%"$gm_cr"}
    case $gm_so_line in
      "service $gm_so_name") gm_so_in=1 ;;
      'service '*) gm_so_in=0 ;;
      'arg '*) [ "$gm_so_in" = 1 ] && set -- "$@" "$(printf '%b' "${gm_so_line#arg }")" ;;
    esac
  done <"$gm_state/attr/gce-matrix-services"
  gm_log "service $gm_so_name: starting $gm_so_image as $gm_so_ctr"
  if ! gm_ctr_run "$gm_so_ctr" "$@" >"$gm_tmp.run" 2>&1; then
    sed "s/^/[service $gm_so_name] /" "$gm_tmp.run" >>"$gm_logfile"
    gm_error_reason="service $gm_so_name: could not start $gm_so_image: $(grep . "$gm_tmp.run" | tail -n 1 | cut -c1-300)"
    rm -f "$gm_tmp.run"
    return 1
  fi
  rm -f "$gm_tmp.run"
  return 0
}

# gm_svc_wait_one I : waits until the service's health command succeeds (bounded by its retries), or only that
# its container runs when it has none. Sets gm_error_reason naming the service otherwise.
gm_svc_wait_one() {
  gm_svc_get name "$1"
  gm_sw_name=$gm_r
  gm_sw_ctr=$(awk -F '\t' -v n="$gm_sw_name" '$1 == n { print $2; exit }' "$gm_state/services")
  gm_svc_get hcmd "$1"
  gm_sw_cmd=$gm_r
  gm_svc_get hint "$1"
  gm_sw_int=$gm_r
  gm_svc_get htimeout "$1"
  gm_sw_timeout=$gm_r
  gm_svc_get hretries "$1"
  gm_sw_retries=$gm_r
  gm_sw_n=0
  gm_sw_last=
  while :; do
    if ! gm_ctr_running "$gm_sw_ctr"; then
      gm_error_reason="service $gm_sw_name exited before it became healthy: $(gm_ctr_logs "$gm_sw_ctr" | grep . | tail -n 1 | cut -c1-300)"
      return 1
    fi
    if [ -z "$gm_sw_cmd" ]; then
      gm_log "service $gm_sw_name is running (no health check)"
      return 0
    fi
    gm_sw_n=$((gm_sw_n + 1))
    if gm_sw_last=$(gm_ctr_health "$gm_sw_ctr" "$gm_sw_timeout" "$gm_sw_cmd"); then
      gm_log "service $gm_sw_name is healthy (check $gm_sw_n)"
      return 0
    fi
    if [ "$gm_sw_n" -ge "$gm_sw_retries" ]; then
      gm_error_reason="service $gm_sw_name never became healthy: $gm_sw_n health checks failed ($gm_sw_cmd)$(printf '%s\n' "$gm_sw_last" | grep . | tail -n 1 | cut -c1-200 | sed 's/^/: /')"
      return 1
    fi
    sleep "$gm_sw_int"
  done
}

# Starts every service and waits until each is healthy. Sets gm_error_reason on failure (the caller stops
# whatever did start).
gm_svc_start() {
  [ "$gm_svc_count" -gt 0 ] || return 0
  : >"$gm_state/services"
  : >"$gm_state/services.env"
  gm_ss_i=1
  while [ "$gm_ss_i" -le "$gm_svc_count" ]; do
    gm_svc_start_one "$gm_ss_i" || return 1
    gm_ss_i=$((gm_ss_i + 1))
  done
  gm_ss_i=1
  while [ "$gm_ss_i" -le "$gm_svc_count" ]; do
    gm_svc_wait_one "$gm_ss_i" || return 1
    gm_ss_i=$((gm_ss_i + 1))
  done
  return 0
}

# gm_svc_stop SECONDS : stops every started service (TERM, KILL after SECONDS), appends its log to the
# experiment's log (each line prefixed with its name), removes it and frees its ports. Once per attempt:
# the startup and the shutdown run may both get here.
gm_svc_stop() {
  [ -s "$gm_state/services" ] || return 0
  mkdir "$gm_state/services.stopped" 2>/dev/null || return 0
  gm_ctr_engine || return 0
  while IFS="$gm_tab" read -r gm_st_name gm_st_ctr; do
    [ -n "$gm_st_ctr" ] || continue
    gm_ctr_stop "$gm_st_ctr" "$1"
    gm_log "service $gm_st_name stopped; its log follows"
    gm_ctr_logs "$gm_st_ctr" | sed "s/^/[service $gm_st_name] /" >>"$gm_logfile"
    gm_ctr_rm "$gm_st_ctr"
  done <"$gm_state/services"
  # the rules go before the ports are free again: a port one member gives back may become a neighbour's
  gm_svc_unguard
  gm_sv_list=${TMPDIR:-/var/tmp}/gce-matrix-ports
  if [ -f "$gm_sv_list" ]; then
    gm_lock "$gm_sv_list.lock"
    sed -n 's/^GCE_MATRIX_SERVICE_.*_PORT_[0-9]*=//p' "$gm_state/services.env" >"$gm_tmp.mine"
    grep -vxF -f "$gm_tmp.mine" "$gm_sv_list" >"$gm_tmp.ports"
    cat "$gm_tmp.ports" >"$gm_sv_list"
    rm -f "$gm_tmp.mine" "$gm_tmp.ports"
    gm_unlock "$gm_sv_list.lock"
  fi
  return 0
}

# On a packed VM every member's command is a local user of the same machine, and a service's ports are on its
# loopback: without a rule a neighbour's command could use this member's database. So each member keeps its
# services' host ports to its own command's user and root (the engine's port proxy, the agent): a table of its
# own, inet gce_matrix_<i>_services, on the output hook ahead of NAT (an engine that maps a loopback port with
# DNAT rewrites the address at priority -100), which accepts those two uids and rejects every other connection
# to 127.0.0.1 or ::1 on the ports; with iptables, the owner module in OUTPUT. The ports are listed in
# $gm_state/guarded-ports; the rules are in place before the container is started and go when the services are
# stopped, before the ports are given back. A single experiment has no neighbour and keeps its ports open; a
# local run changes nothing on the machine.

# gm_svc_guard NAME : keeps the host ports the service NAME was given (its services.env lines) to this member's
# command. Sets gm_error_reason on failure.
gm_svc_guard() {
  [ -n "$gm_member" ] || return 0
  if [ "$gm_local_run" = true ]; then
    gm_log "service $1: its ports are open to every user of this machine (a local run leaves the firewall alone)"
    return 0
  fi
  gm_sg_env=GCE_MATRIX_SERVICE_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')
  gm_sg_new=$(sed -n "s/^${gm_sg_env}_PORT_[0-9]*=//p" "$gm_state/services.env")
  [ -n "$gm_sg_new" ] || return 0
  printf '%s\n' "$gm_sg_new" >>"$gm_state/guarded-ports"
  gm_sg_table=gce_matrix_${gm_member}_services
  gm_sg_uids="0${gm_run_uid:+ $gm_run_uid}"
  if command -v nft >/dev/null 2>&1; then
    awk -v table="$gm_sg_table" -v uids="$gm_sg_uids" '
      NF == 1 { n++; port[n] = $1 }
      END {
        printf "add table inet %s\nflush table inet %s\ntable inet %s {\n", table, table, table
        printf "\tchain output {\n\t\ttype filter hook output priority -150; policy accept;\n"
        k = split(uids, uid, " ")
        for (i = 1; i <= n; i++) {
          for (j = 1; j <= k; j++) printf "\t\tmeta skuid %s tcp dport %s accept\n", uid[j], port[i]
          printf "\t\tip daddr 127.0.0.1 tcp dport %s reject with tcp reset\n", port[i]
          printf "\t\tip6 daddr ::1 tcp dport %s reject with tcp reset\n", port[i]
        }
        printf "\t}\n}\n"
      }' "$gm_state/guarded-ports" >"$gm_tmp.nft"
    gm_nft_load "service $1: could not keep its ports from the neighbours' commands" || return 1
  elif command -v iptables >/dev/null 2>&1; then
    for gm_sg_port in $gm_sg_new; do
      gm_svc_guard_iptables -I "$gm_sg_port" || {
        gm_error_reason="service $1: could not keep its ports from the neighbours' commands: $(grep . "$gm_tmp.fw" | head -n 1 | cut -c1-300)"
        rm -f "$gm_tmp.fw"
        return 1
      }
    done
    rm -f "$gm_tmp.fw"
  else
    gm_error_reason="service $1: cannot keep its ports from the neighbours' commands: the VM image has neither nft nor iptables"
    return 1
  fi
  # shellcheck disable=SC2086 # one port a line
  gm_log "firewall: port(s) $(printf '%s ' $gm_sg_new)of service $1 refuse every uid but $(printf '%s' "$gm_sg_uids" | sed 's/ / and /')"
  return 0
}

# gm_svc_guard_iptables -I|-D PORT : inserts (or deletes) the OUTPUT rule that rejects connections to
# 127.0.0.1 on PORT by any uid but root and the command's user; ::1 too where ip6tables is. Output in $gm_tmp.fw.
gm_svc_guard_iptables() {
  gm_sgi_op=$1
  gm_sgi_port=$2
  set -- OUTPUT
  [ "$gm_sgi_op" = -I ] && set -- OUTPUT 1
  gm_sgi_owner="-m owner ! --uid-owner 0${gm_run_uid:+ -m owner ! --uid-owner $gm_run_uid}"
  # shellcheck disable=SC2086 # options without blanks, meant to split
  iptables -w "$gm_sgi_op" "$@" -p tcp -d 127.0.0.1 --dport "$gm_sgi_port" $gm_sgi_owner -j REJECT --reject-with tcp-reset >"$gm_tmp.fw" 2>&1 ||
    return 1
  command -v ip6tables >/dev/null 2>&1 || return 0
  # shellcheck disable=SC2086 # options without blanks, meant to split
  ip6tables -w "$gm_sgi_op" "$@" -p tcp -d ::1 --dport "$gm_sgi_port" $gm_sgi_owner -j REJECT --reject-with tcp-reset >"$gm_tmp.fw" 2>&1 ||
    [ "$gm_sgi_op" = -D ] ||
    gm_log "firewall: ip6tables could not add the rule for [::1]:$gm_sgi_port (no IPv6 here?): $(head -n 1 "$gm_tmp.fw")"
  return 0
}

# Removes what gm_svc_guard put in place (after the services stopped).
gm_svc_unguard() {
  [ -s "$gm_state/guarded-ports" ] || return 0
  if command -v nft >/dev/null 2>&1; then
    gm_lock "$gm_vmroot/host.lock"
    printf 'delete table inet gce_matrix_%s_services\n' "$gm_member" | nft -f - >"$gm_tmp.fw" 2>&1 ||
      gm_log "firewall: could not remove table inet gce_matrix_${gm_member}_services: $(grep . "$gm_tmp.fw" | head -n 1)"
    gm_unlock "$gm_vmroot/host.lock"
  elif command -v iptables >/dev/null 2>&1; then
    while read -r gm_su_port; do
      gm_svc_guard_iptables -D "$gm_su_port" ||
        gm_log "firewall: could not remove the rule for port $gm_su_port: $(grep . "$gm_tmp.fw" | head -n 1)"
    done <"$gm_state/guarded-ports"
  fi
  rm -f "$gm_tmp.fw" "$gm_state/guarded-ports"
  gm_log "firewall: the services' ports are open again"
  return 0
}

# `,"services":{"NAME":{"image":"...","digest":"..."},...}` when services were pulled.
gm_svc_provenance() {
  [ -s "$gm_state/services.prov" ] || return 0
  gm_spv=
  while IFS="$gm_tab" read -r gm_spv_name gm_spv_image gm_spv_digest; do
    gm_spv="$gm_spv,\"$(gm_json_escape "$gm_spv_name")\":{\"image\":\"$(gm_json_escape "$gm_spv_image")\"$(gm_jfield digest "$gm_spv_digest")}"
  done <"$gm_state/services.prov"
  printf ',"services":{%s}' "${gm_spv#,}"
}

# ---------------------------------------------------------------------------------------------------------
# Isolation: the command runs as a user that cannot reach the metadata server
#
# On a VM every process can ask the metadata server for the VM's access token, and the agent runs as root. So
# the command runs as the system user gce-matrix-run (created when the image lacks it) through setpriv, with
# no supplementary groups, no capabilities and no way to gain privileges; its directories are its own, the
# agent's state (tokens, secrets, the redaction list) and log are not readable to it. Before it starts, a
# firewall rule rejects that user's TCP connections to the metadata server (DNS on port 53 of the same address
# stays open: it is the VM's resolver), and the agent checks, as that user, that the server is out of reach.
# A container's packets to the metadata server are forwarded traffic, not a local user's: in container mode
# the rule is on the forward hook. gce-matrix-command-identity=vm keeps the user and leaves out the rule. A
# local run (gce-matrix-local-run=true) changes nothing on the workstation: the command runs as the agent.

# gm_as_user CMD... : runs CMD as the command's user.
gm_as_user() {
  # shellcheck disable=SC2086 # options without blanks, meant to split
  setpriv $gm_setpriv_opts -- "$@"
}

# Sets gm_setpriv_opts for the command's user gm_run_uid:gm_run_gid.
gm_set_setpriv_opts() {
  gm_setpriv_opts="--reuid=$gm_run_uid --regid=$gm_run_gid --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs"
}

# Reads the command's user from the state dir (written by the startup run); leaves both empty when there is none.
gm_load_run_user() {
  gm_run_uid=
  gm_run_gid=
  gm_read "$gm_state/run-user"
  gm_lr_uid=${gm_r%% *}
  gm_lr_gid=${gm_r#* }
  case $gm_lr_uid:$gm_lr_gid in
    *[!0-9:]* | :* | *: | 0:* | *:0) return 0 ;;
  esac
  gm_run_uid=$gm_lr_uid
  gm_run_gid=$gm_lr_gid
  gm_set_setpriv_opts
}

# Kills every process left running as the command's user (a daemon it started, a stray `&`): nothing may change
# the output or checkpoint dirs while the agent reads them. Signals sent as that user reach only its own.
gm_sweep_run_user() {
  case $gm_run_uid in
    '' | 0 | *[!0-9]*) return 0 ;;
  esac
  gm_as_user sh -c 'kill -s KILL -- -1' >/dev/null 2>&1
  return 0
}

# Sets gm_run_uid and gm_run_gid to the command's user, creating it when the image lacks it.
gm_ensure_run_user() {
  if ! id -u "$gm_run_user" >/dev/null 2>&1; then
    if ! command -v useradd >/dev/null 2>&1; then
      gm_error_reason="cannot create the user $gm_run_user to run the command as: the VM image has no useradd"
      return 1
    fi
    # members of a packed VM add their users at the same time: useradd would find /etc/passwd locked
    gm_lock "$gm_vmroot/host.lock"
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      "$gm_run_user" >"$gm_tmp.useradd" 2>&1
    gm_eu_rc=$?
    gm_unlock "$gm_vmroot/host.lock"
    if [ "$gm_eu_rc" != 0 ] && ! id -u "$gm_run_user" >/dev/null 2>&1; then
      gm_error_reason="could not create the user $gm_run_user to run the command as: $(tail -n 1 "$gm_tmp.useradd" | cut -c1-300)"
      rm -f "$gm_tmp.useradd"
      return 1
    fi
    rm -f "$gm_tmp.useradd"
    gm_log "created the system user $gm_run_user"
  fi
  gm_run_uid=$(id -u "$gm_run_user" 2>/dev/null)
  gm_run_gid=$(id -g "$gm_run_user" 2>/dev/null)
  case $gm_run_uid:$gm_run_gid in
    *[!0-9:]* | :* | *:)
      gm_error_reason="cannot tell the uid and gid of the user $gm_run_user"
      return 1
      ;;
    0:* | *:0)
      gm_error_reason="the user $gm_run_user has uid or gid 0: it would not keep the command from the VM's credentials"
      return 1
      ;;
  esac
  gm_set_setpriv_opts
  printf '%s %s\n' "$gm_run_uid" "$gm_run_gid" >"$gm_state/run-user"
  return 0
}

# Sets gm_fw_targets to what the firewall closes, one `FAMILY ADDRESS PORT` a line (FAMILY ip or ip6; PORT a
# number, or !53 for every TCP port but DNS): the metadata server's fixed addresses, and where GCE_METADATA_HOST
# and GCE_METADATA_IP point when they are set (an emulator, a private endpoint), at their port.
gm_metadata_targets() {
  gm_fw_targets="ip $gm_md_ip4 !53
ip6 $gm_md_ip6 !53"
  for gm_mt_value in "${GCE_METADATA_HOST:-}" "${GCE_METADATA_IP:-}"; do
    [ -n "$gm_mt_value" ] || continue
    case $gm_mt_value in
      https://*) gm_mt_port=443 ;;
      *) gm_mt_port=80 ;;
    esac
    gm_mt_host=${gm_mt_value#*://}
    gm_mt_host=${gm_mt_host%%/*}
    case $gm_mt_host in
      \[*\]:*)
        gm_mt_port=${gm_mt_host##*\]:}
        gm_mt_host=${gm_mt_host%%\]*}
        gm_mt_host=${gm_mt_host#\[}
        ;;
      \[*\])
        gm_mt_host=${gm_mt_host#\[}
        gm_mt_host=${gm_mt_host%\]}
        ;;
      *:*:*) ;;
      *:*)
        gm_mt_port=${gm_mt_host##*:}
        gm_mt_host=${gm_mt_host%:*}
        ;;
    esac
    case $gm_mt_port in
      '' | *[!0-9]*)
        gm_error_reason="cannot keep the command from the metadata server at $gm_mt_value: no port in it"
        return 1
        ;;
    esac
    case $gm_mt_host in
      '') gm_mt_addrs= ;;
      *:*) gm_mt_addrs=$gm_mt_host ;;
      *[!0-9.]*) gm_mt_addrs=$(getent ahosts "$gm_mt_host" 2>/dev/null | awk '{ print $1 }' | sort -u) ;;
      *) gm_mt_addrs=$gm_mt_host ;;
    esac
    if [ -z "$gm_mt_addrs" ]; then
      gm_error_reason="cannot keep the command from the metadata server at $gm_mt_value: ${gm_mt_host:-the host} does not resolve"
      return 1
    fi
    for gm_mt_addr in $gm_mt_addrs; do
      case $gm_mt_addr in
        *:*) gm_mt_line="ip6 $gm_mt_addr $gm_mt_port" ;;
        *) gm_mt_line="ip $gm_mt_addr $gm_mt_port" ;;
      esac
      case "
$gm_fw_targets
" in
        *"
$gm_mt_line
"*) ;;
        *) gm_fw_targets="$gm_fw_targets
$gm_mt_line" ;;
      esac
    done
  done
  return 0
}

# gm_install_firewall UID FORWARD : rejects TCP connections to every gm_fw_targets address, made by user UID
# (none when empty) and, when FORWARD is 1, forwarded from containers. nft when the image has it (Debian's
# default), else iptables/ip6tables. A table or rules of an earlier run of this boot are replaced, not doubled.
# gm_nft_load WHAT : loads the ruleset in $gm_tmp.nft under the VM-wide lock (a packed VM's members change the
# firewall at once); on failure sets gm_error_reason to "WHAT: nft: <its first line>" and logs nft's output.
gm_nft_load() {
  gm_lock "$gm_vmroot/host.lock"
  nft -f "$gm_tmp.nft" >"$gm_tmp.fw" 2>&1
  gm_nl_rc=$?
  gm_unlock "$gm_vmroot/host.lock"
  if [ "$gm_nl_rc" != 0 ]; then
    gm_error_reason="$1: nft: $(grep . "$gm_tmp.fw" | head -n 1 | cut -c1-300)"
    cat "$gm_tmp.fw" >>"$gm_logfile"
  fi
  rm -f "$gm_tmp.nft" "$gm_tmp.fw"
  return "$gm_nl_rc"
}

gm_install_firewall() {
  gm_if_uid=$1
  gm_if_fwd=$2
  if ! command -v nft >/dev/null 2>&1 && ! command -v iptables >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    # an image that ships neither (a slimmed-down one): Debian's own firewall tool, from the image's package sources
    gm_log "the image has neither nft nor iptables; installing nftables"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nftables >>"$gm_logfile" 2>&1 ||
      gm_log "could not install nftables"
  fi
  # one table per member of a packed VM: each replaces its own rules, never a neighbour's
  gm_if_table=gce_matrix${gm_member:+_$gm_member}
  if command -v nft >/dev/null 2>&1; then
    printf '%s\n' "$gm_fw_targets" | awk -v uid="$gm_if_uid" -v fwd="$gm_if_fwd" -v table="$gm_if_table" '
      function rule(prefix, f, a, p) {
        if (p == "!53") p = "!= 53"
        return "\t\t" prefix f " daddr " a " tcp dport " p " reject with tcp reset\n"
      }
      NF == 3 { n++; fam[n] = $1; addr[n] = $2; port[n] = $3 }
      END {
        printf "add table inet %s\nflush table inet %s\ntable inet %s {\n", table, table, table
        if (uid != "") {
          printf "\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n"
          for (i = 1; i <= n; i++) printf "%s", rule("meta skuid " uid " ", fam[i], addr[i], port[i])
          printf "\t}\n"
        }
        if (fwd == 1) {
          printf "\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n"
          for (i = 1; i <= n; i++) printf "%s", rule("", fam[i], addr[i], port[i])
          printf "\t}\n"
        }
        printf "}\n"
      }' >"$gm_tmp.nft"
    gm_nft_load "could not install the firewall rule that keeps the command from the metadata server" || return 1
    gm_log "firewall: table inet $gm_if_table rejects $(printf '%s\n' "$gm_fw_targets" | awk '{ printf "%s%s port %s", (NR > 1 ? ", " : ""), $2, ($3 == "!53" ? "any but 53" : $3) }')${gm_if_uid:+ for uid $gm_if_uid}$([ "$gm_if_fwd" = 1 ] && printf ' for containers')"
    return 0
  fi
  if ! command -v iptables >/dev/null 2>&1; then
    gm_error_reason="cannot keep the command from the metadata server: the VM image has neither nft nor iptables (install nftables in the image, or set command-identity vm)"
    return 1
  fi
  gm_if_fchain=FORWARD
  if [ "$gm_if_fwd" = 1 ] && iptables -w -n -L DOCKER-USER >/dev/null 2>&1; then
    gm_if_fchain=DOCKER-USER
  fi
  gm_if_rc=0
  gm_if_said=
  while read -r gm_if_fam gm_if_addr gm_if_port; do
    [ -n "$gm_if_addr" ] || continue
    gm_if_tool=iptables
    [ "$gm_if_fam" = ip6 ] && gm_if_tool=ip6tables
    if ! command -v "$gm_if_tool" >/dev/null 2>&1; then
      # no IPv6 tools in the image: the fixed IPv6 address is left to the network (a VM without IPv6 has none)
      if [ "$gm_if_addr" = "$gm_md_ip6" ]; then continue; fi
      gm_error_reason="cannot keep the command from the metadata server at $gm_if_addr: the VM image has no $gm_if_tool"
      return 1
    fi
    for gm_if_chain in OUTPUT $gm_if_fchain; do
      if [ "$gm_if_port" = '!53' ]; then
        set -- -p tcp -d "$gm_if_addr" ! --dport 53
      else
        set -- -p tcp -d "$gm_if_addr" --dport "$gm_if_port"
      fi
      if [ "$gm_if_chain" = OUTPUT ]; then
        [ -n "$gm_if_uid" ] || continue
        set -- "$@" -m owner --uid-owner "$gm_if_uid"
      else
        [ "$gm_if_fwd" = 1 ] || continue
      fi
      "$gm_if_tool" -w -C "$gm_if_chain" "$@" -j REJECT --reject-with tcp-reset >/dev/null 2>&1 && continue
      if ! "$gm_if_tool" -w -I "$gm_if_chain" 1 "$@" -j REJECT --reject-with tcp-reset >"$gm_tmp.fw" 2>&1; then
        if [ "$gm_if_addr" = "$gm_md_ip6" ]; then
          gm_log "firewall: $gm_if_tool could not add the rule for $gm_if_addr (no IPv6 here?): $(head -n 1 "$gm_tmp.fw")"
          continue
        fi
        gm_error_reason="could not install the firewall rule that keeps the command from the metadata server: $gm_if_tool: $(grep . "$gm_tmp.fw" | head -n 1 | cut -c1-300)"
        gm_if_rc=1
        break
      fi
      gm_if_said="$gm_if_said${gm_if_said:+, }$gm_if_chain $gm_if_addr"
    done
    [ "$gm_if_rc" = 0 ] || break
  done <<EOT
$gm_fw_targets
EOT
  rm -f "$gm_tmp.fw"
  [ "$gm_if_rc" = 0 ] || return 1
  gm_log "firewall: iptables rejects ${gm_if_said:-(rules already there)}${gm_if_uid:+ for uid $gm_if_uid}"
  return 0
}

# Fails unless the command's user is refused by the metadata server. Without GCE_METADATA_HOST the probe goes to
# the fixed address (no name to resolve); with it, to where the agent itself reaches the server.
gm_check_blocked() {
  if [ -n "${GCE_METADATA_HOST:-}" ]; then
    gm_cb_url=${gm_md_url}instance/id
  else
    gm_cb_url=http://$gm_md_ip4/computeMetadata/v1/instance/id
  fi
  gm_as_user curl -sS -o /dev/null --noproxy '*' --connect-timeout 5 --max-time 10 \
    -H 'Metadata-Flavor: Google' "$gm_cb_url" </dev/null >"$gm_tmp.probe" 2>&1
  gm_cb_rc=$?
  gm_cb_err=$(grep . "$gm_tmp.probe" | tail -n 1 | cut -c1-300)
  rm -f "$gm_tmp.probe"
  case $gm_cb_rc in
    7 | 28 | 52 | 55 | 56)
      gm_log "checked: $gm_run_user cannot reach the metadata server (${gm_cb_err:-curl exit $gm_cb_rc})"
      return 0
      ;;
    0) gm_error_reason="the metadata server is still reachable by $gm_run_user after the firewall rule was installed; not running the command with the VM's credentials in reach" ;;
    *) gm_error_reason="could not check that $gm_run_user cannot reach the metadata server: ${gm_cb_err:-curl exit $gm_cb_rc}" ;;
  esac
  return 1
}

# Before the command: where it runs as whom, with the firewall in place. Sets gm_error_reason on failure.
gm_isolate() {
  case $gm_identity in
    isolated | vm) ;;
    *)
      gm_error_reason="instance attribute gce-matrix-command-identity is '$gm_identity'; expected isolated or vm"
      return 1
      ;;
  esac
  if [ "$gm_local_run" = true ]; then
    gm_log "isolation is unavailable in a local run: the command runs as $(id -un 2>/dev/null || id -u), with what this machine gives that user"
    return 0
  fi
  gm_is_me=$(id -u 2>/dev/null)
  if [ "$gm_is_me" != 0 ]; then
    gm_error_reason="cannot isolate the command from the VM's credentials: the agent runs as uid ${gm_is_me:-unknown}, not as root"
    return 1
  fi
  if [ -n "$gm_image" ]; then
    if [ "$gm_identity" = vm ]; then
      gm_log "the container may use the VM's identity (gce-matrix-command-identity=vm)"
      return 0
    fi
    gm_metadata_targets || return 1
    gm_install_firewall '' 1 || return 1
    return 0
  fi
  if ! command -v setpriv >/dev/null 2>&1; then
    gm_error_reason="cannot run the command as an unprivileged user: the VM image has no setpriv (util-linux)"
    return 1
  fi
  gm_ensure_run_user || return 1
  gm_is_uid=$(gm_as_user id -u 2>"$gm_tmp.setpriv" </dev/null)
  if [ "$gm_is_uid" != "$gm_run_uid" ]; then
    gm_error_reason="could not switch to the user $gm_run_user (uid $gm_run_uid): $(grep . "$gm_tmp.setpriv" | tail -n 1 | cut -c1-300)"
    rm -f "$gm_tmp.setpriv"
    return 1
  fi
  rm -f "$gm_tmp.setpriv"
  # -h: a link in the source snapshot must not hand the agent's files to the user
  mkdir -p "$gm_home"
  if ! chown -hR "$gm_run_uid:$gm_run_gid" "$gm_work" "$gm_output" "$gm_checkpoint" "$gm_input" "$gm_home" 2>"$gm_tmp.chown"; then
    gm_error_reason="could not give the command's directories to $gm_run_user: $(grep . "$gm_tmp.chown" | head -n 1 | cut -c1-300)"
    rm -f "$gm_tmp.chown"
    return 1
  fi
  rm -f "$gm_tmp.chown"
  # a packed VM: a neighbour's command (another user) cannot read this member's directories
  [ -n "$gm_member" ] && chmod 700 "$gm_work" "$gm_output" "$gm_checkpoint" "$gm_input" "$gm_home"
  if [ "$gm_identity" = vm ]; then
    gm_log "the command runs as $gm_run_user (uid $gm_run_uid) with the VM's identity (gce-matrix-command-identity=vm)"
    return 0
  fi
  gm_metadata_targets || return 1
  # service containers' packets are forwarded ones: the same rule on the forward hook keeps them out too
  gm_is_fwd=0
  [ "${gm_svc_count:-0}" -gt 0 ] && gm_is_fwd=1
  gm_install_firewall "$gm_run_uid" "$gm_is_fwd" || return 1
  gm_check_blocked || return 1
  gm_log "the command runs as $gm_run_user (uid $gm_run_uid), out of reach of the VM's credentials"
  return 0
}

# ---------------------------------------------------------------------------------------------------------
# The command's own credentials

# With gce-matrix-command-credentials=experiment, makes sure gm_cred_file holds a token the Security Token
# Service derived from the VM's own, limited by a credential access boundary to Cloud Storage objects below this
# experiment's prefix (read, write, delete, list): the command can reach its own results and nothing else, not
# even a sibling experiment's. A new token is derived whenever the VM's token changes (the two expire together);
# the file is replaced whole, readable by the command's user alone, and the token joins the redaction list.
gm_experiment_token() {
  [ "$gm_cmd_creds" = experiment ] || return 0
  # renew: only a token the startup agent handed over is replaced, keeping its owner
  [ "${1:-}" = renew ] && [ ! -s "$gm_cred_file" ] && return 0
  gm_token_get || {
    gm_error_reason="cannot derive the command's experiment credentials: no VM token ($(gm_http_problem))"
    return 1
  }
  [ "$gm_token" = "$gm_cred_source" ] && [ -s "$gm_cred_file" ] && return 0
  case $gm_bucket$gm_prefix in
    *\'* | *\\* | *\"*)
      gm_error_reason="cannot limit credentials to the experiment's prefix $gm_prefix: it holds a quote or a backslash"
      return 1
      ;;
  esac
  gm_et_expr="resource.name.startsWith('projects/_/buckets/$gm_bucket/objects/$gm_prefix') || api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('$gm_prefix')"
  gm_et_options="{\"accessBoundary\":{\"accessBoundaryRules\":[{\"availableResource\":\"//storage.googleapis.com/projects/_/buckets/$gm_bucket\",\"availablePermissions\":[\"inRole:roles/storage.objectUser\"],\"availabilityCondition\":{\"title\":\"gce-matrix experiment $(gm_json_escape "$gm_experiment")\",\"expression\":\"$(gm_json_escape "$gm_et_expr")\"}}]}}"
  if ! gm_curl "$gm_tmp.sts" -X POST \
    --data-urlencode 'grant_type=urn:ietf:params:oauth:grant-type:token-exchange' \
    --data-urlencode 'subject_token_type=urn:ietf:params:oauth:token-type:access_token' \
    --data-urlencode 'requested_token_type=urn:ietf:params:oauth:token-type:access_token' \
    --data-urlencode "subject_token=$gm_token" \
    --data-urlencode "options=$gm_et_options" \
    "${gm_ep_sts}v1/token"; then
    gm_error_reason="the Security Token Service refused the experiment's credentials: $(gm_http_problem "$gm_tmp.sts")"
    rm -f "$gm_tmp.sts"
    return 1
  fi
  gm_et_token=$(gm_json_get 1 access_token <"$gm_tmp.sts")
  rm -f "$gm_tmp.sts"
  if [ -z "$gm_et_token" ]; then
    gm_error_reason="the Security Token Service returned no access token for the experiment's credentials"
    return 1
  fi
  gm_note_redactions "$gm_et_token"
  (
    umask 077
    mkdir -p "$gm_creds"
    printf '%s\n' "$gm_et_token" >"$gm_cred_file.new"
    if [ -n "$gm_run_uid" ]; then
      chown "$gm_run_uid:$gm_run_gid" "$gm_creds" "$gm_cred_file.new" || exit 1
    elif [ -f "$gm_cred_file" ]; then
      chown --reference="$gm_cred_file" "$gm_cred_file.new" || exit 1
    fi
    mv -f "$gm_cred_file.new" "$gm_cred_file"
  ) || {
    gm_error_reason="could not hand the experiment's credentials to the command's user"
    return 1
  }
  gm_et_token=
  gm_cred_source=$gm_token
  return 0
}

# ---------------------------------------------------------------------------------------------------------
# The command

# Exports the command's environment (call in the subshell that starts the command).
gm_export_command_env() {
  GCE_MATRIX_RUN_ID=$gm_run_id
  GCE_MATRIX_EXPERIMENT_ID=$gm_experiment
  GCE_MATRIX_ATTEMPT=$gm_attempt
  GCE_MATRIX_PARAMS=${gm_params:-"{}"}
  GCE_MATRIX_OUTPUT_DIR=$gm_output
  GCE_MATRIX_CHECKPOINT_DIR=$gm_checkpoint
  GCE_MATRIX_INPUT_DIR=$gm_input
  GCE_MATRIX_WORK_DIR=$gm_work
  GCE_MATRIX_METRICS_FILE=$gm_output/metrics.json
  export GCE_MATRIX_RUN_ID GCE_MATRIX_EXPERIMENT_ID GCE_MATRIX_ATTEMPT GCE_MATRIX_PARAMS GCE_MATRIX_OUTPUT_DIR \
    GCE_MATRIX_CHECKPOINT_DIR GCE_MATRIX_INPUT_DIR GCE_MATRIX_WORK_DIR GCE_MATRIX_METRICS_FILE
  gm_env_names='GCE_MATRIX_RUN_ID GCE_MATRIX_EXPERIMENT_ID GCE_MATRIX_ATTEMPT GCE_MATRIX_PARAMS GCE_MATRIX_OUTPUT_DIR
GCE_MATRIX_CHECKPOINT_DIR GCE_MATRIX_INPUT_DIR GCE_MATRIX_WORK_DIR GCE_MATRIX_METRICS_FILE'
  if [ "$gm_cmd_creds" = experiment ]; then
    # gcloud reads its token from CLOUDSDK_AUTH_ACCESS_TOKEN_FILE; other tools from the file the other names
    GCE_MATRIX_STORAGE_TOKEN_FILE=$gm_cred_file
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=$gm_cred_file
    GCE_MATRIX_BUCKET=$gm_bucket
    GCE_MATRIX_EXPERIMENT_PREFIX=$gm_prefix
    export GCE_MATRIX_STORAGE_TOKEN_FILE CLOUDSDK_AUTH_ACCESS_TOKEN_FILE GCE_MATRIX_BUCKET GCE_MATRIX_EXPERIMENT_PREFIX
    gm_env_names="$gm_env_names GCE_MATRIX_STORAGE_TOKEN_FILE CLOUDSDK_AUTH_ACCESS_TOKEN_FILE GCE_MATRIX_BUCKET
GCE_MATRIX_EXPERIMENT_PREFIX"
  fi
  if [ -n "$gm_member" ] && [ -n "${gm_pack_cpus:-}" ]; then
    GCE_MATRIX_CPUS=$gm_pack_cpus
    export GCE_MATRIX_CPUS
    gm_env_names="$gm_env_names GCE_MATRIX_CPUS"
  fi
  # a member's GPUs are those it reserved: on a machine with GPUs, a host command sees only them (none when it
  # reserved none); in a container, docker's --gpus gives them (numbered from 0 there)
  gm_read "$gm_ledger/gpus"
  if [ -n "$gm_member" ] && [ -n "${gm_pack_cpus:-}" ] && [ -n "$gm_r" ]; then
    GCE_MATRIX_GPUS=$gm_pack_gpus
    export GCE_MATRIX_GPUS
    gm_env_names="$gm_env_names GCE_MATRIX_GPUS"
    if [ -z "$gm_image" ]; then
      CUDA_VISIBLE_DEVICES=$gm_pack_gpus
      export CUDA_VISIBLE_DEVICES
    fi
  fi
  if [ -f "$gm_state/attr/gce-matrix-param-env" ]; then
    while IFS= read -r gm_pe_line || [ -n "$gm_pe_line" ]; do
      gm_pe_line=${gm_pe_line%"$gm_cr"}
      case $gm_pe_line in *=*) ;; *) continue ;; esac
      gm_pe_name=${gm_pe_line%%=*}
      case $gm_pe_name in '' | *[!A-Z0-9_]*) continue ;; esac
      export "GCE_MATRIX_PARAM_$gm_pe_name=${gm_pe_line#*=}"
      gm_env_names="$gm_env_names GCE_MATRIX_PARAM_$gm_pe_name"
    done <"$gm_state/attr/gce-matrix-param-env"
  fi
  if [ -s "$gm_state/services.env" ]; then
    while IFS= read -r gm_pe_line; do
      export "${gm_pe_line?}"
      gm_env_names="$gm_env_names ${gm_pe_line%%=*}"
    done <"$gm_state/services.env"
  fi
  gm_ee_i=1
  gm_ee_name=
  gm_ee_value=
  while [ "$gm_ee_i" -le "${gm_secret_count:-0}" ]; do
    eval "gm_ee_name=\$gm_secret_name_$gm_ee_i"
    eval "gm_ee_value=\$gm_secret_value_$gm_ee_i"
    export "$gm_ee_name=$gm_ee_value"
    gm_env_names="$gm_env_names $gm_ee_name"
    gm_ee_i=$((gm_ee_i + 1))
  done
  unset gm_ee_value
}

gm_start_command() {
  rm -f "$gm_state/exit-code" "$gm_state/command.pid"
  gm_container_name=gce-matrix-$(printf '%s' "${gm_instance:-agent}-$$" | tr -c 'A-Za-z0-9_.-' '-')
  (
    cd "$gm_work" || exit 1
    if [ -n "$gm_run_uid" ]; then
      # a home of its own: the agent's (root's) is not the command user's
      HOME=$gm_home
      USER=$gm_run_user
      LOGNAME=$gm_run_user
      export USER LOGNAME
    fi
    [ -n "${HOME:-}" ] || HOME=$gm_work
    export HOME
    # The agent's own metadata override (a local run's, or a test bed's) is not the command's: its tools
    # find their credentials as they would on a VM or a workstation.
    unset GCE_METADATA_HOST
    gm_export_command_env
    if [ -n "$gm_image" ]; then
      # names only: docker takes each value from this environment (no values on disk, newlines survive)
      # shellcheck disable=SC2086 # one name a line
      printf '%s\n' $gm_env_names >"$gm_state/docker.env"
      printf '%s\n' "$gm_container_name" >"$gm_state/container.name"
      set -- --rm --name "$gm_container_name" --env-file "$gm_state/docker.env" \
        -v "$gm_output:$gm_output" -v "$gm_checkpoint:$gm_checkpoint" -v "$gm_input:$gm_input" \
        -v "$gm_work:$gm_work" -w "$gm_work"
      [ "$gm_cmd_creds" = experiment ] && set -- "$@" -v "$gm_creds:$gm_creds:ro"
      # a member sees only the GPUs it reserved, by id
      [ -z "$gm_member" ] && [ "$gm_gpus" -gt 0 ] && set -- "$@" --gpus all
      if [ -n "$gm_member" ] && [ -n "${gm_pack_cpus:-}" ]; then
        [ -n "${gm_pack_gpus:-}" ] && set -- "$@" --gpus "device=$gm_pack_gpus"
        set -- "$@" --cpuset-cpus "$gm_pack_cpus"
        [ "$gm_res_mem" -gt 0 ] && set -- "$@" --memory "${gm_res_mem}m"
      fi
      if [ -n "$gm_command" ]; then
        set -- "$gm_ctr" run "$@" --entrypoint sh "$gm_image" -c "$gm_command"
      else
        set -- "$gm_ctr" run "$@" "$gm_image"
      fi
    else
      set -- sh -c "$gm_command"
      # a member of a packed VM: pinned to its reserved CPUs
      [ -n "$gm_pack_taskset" ] && set -- taskset -c "$gm_pack_cpus" "$@"
      # shellcheck disable=SC2086 # options without blanks, meant to split
      [ -n "$gm_run_uid" ] && set -- setpriv $gm_setpriv_opts -- "$@"
    fi
    # The command runs in the foreground of this subshell; its pid is its own (the small shell writes it, joins
    # the member's cgroup when there is one, and execs), for the watchdog and the shutdown run to signal.
    # shellcheck disable=SC2016 # expanded by the inner shell
    sh -c 'printf "%s\n" "$$" >"$1"; [ -z "$2" ] || printf "%s\n" "$$" >"$2/cgroup.procs"; shift 2; exec "$@"' \
      gce-matrix-command "$gm_state/command.pid" "${gm_pack_cgroup:-}" "$@"
    printf '%s\n' "$?" >"$gm_state/exit-code.tmp"
    mv -f "$gm_state/exit-code.tmp" "$gm_state/exit-code"
  ) >>"$gm_logfile" 2>&1 </dev/null &
  gm_wrapper_pid=$!
}

# Stops the command (TERM, then KILL after a grace period); for a container, via docker too.
gm_stop_command() {
  gm_sc_sig=$1
  gm_sc_pid=$(cat "$gm_state/command.pid" 2>/dev/null)
  if [ -f "$gm_state/container.name" ] && gm_ctr_engine; then
    "$gm_ctr" kill --signal "$gm_sc_sig" "$(cat "$gm_state/container.name")" >/dev/null 2>&1
  fi
  gm_alive "$gm_sc_pid" && gm_kill_tree "$gm_sc_sig" "$gm_sc_pid"
}

# The timeout watchdog (a background subshell): TERM the command after gm_timeout seconds, KILL 10 s later.
gm_watchdog() {
  gm_wd_sleep=
  trap '[ -n "$gm_wd_sleep" ] && kill "$gm_wd_sleep" 2>/dev/null; exit 0' TERM
  sleep "$gm_timeout" &
  gm_wd_sleep=$!
  wait "$gm_wd_sleep"
  : >"$gm_state/timed-out"
  gm_log "timeout: the command ran longer than $gm_timeout seconds; stopping it"
  gm_stop_command TERM
  sleep 10 &
  gm_wd_sleep=$!
  wait "$gm_wd_sleep"
  gm_log "the command ignored TERM; killing it"
  gm_stop_command KILL
  exit 0
}

# Waits for the command (a signal to the agent interrupts the wait); sets gm_exit and gm_timed_out.
gm_wait_command() {
  gm_timed_out=0
  gm_wc_dog=
  rm -f "$gm_state/timed-out"
  if [ "$gm_timeout" -gt 0 ]; then
    gm_watchdog &
    gm_wc_dog=$!
  fi
  # The command's end is its exit-code file (and the wrapper, in case it vanished without writing it).
  gm_wc_n=0
  while [ ! -f "$gm_state/exit-code" ]; do
    if ! gm_running "$gm_wrapper_pid"; then
      [ -f "$gm_state/exit-code" ] || gm_log "the command's wrapper ended without an exit code"
      break
    fi
    if [ "$gm_wc_n" -lt 50 ]; then
      gm_wc_n=$((gm_wc_n + 1))
      sleep 0.1 2>/dev/null || sleep 1
    else
      sleep 1
    fi
  done
  if [ -n "$gm_wc_dog" ]; then
    gm_stop_child "$gm_wc_dog"
  fi
  [ -f "$gm_state/timed-out" ] && gm_timed_out=1
  gm_read "$gm_state/exit-code"
  gm_exit=$gm_r
}

# ---------------------------------------------------------------------------------------------------------
# Endings

gm_self_delete_vm() {
  # a member of a packed VM: the coordinator deletes the VM once every member has ended
  [ -n "$gm_member" ] && return 0
  if [ "$gm_self_delete" = false ]; then
    gm_log "self-delete is false: leaving instance $gm_instance running"
    return 0
  fi
  if [ -z "$gm_project" ] || [ -z "$gm_zone" ] || [ -z "$gm_instance" ]; then
    gm_log "cannot delete this VM: project, zone or instance name unknown"
    return 1
  fi
  gm_log "deleting instance $gm_instance in $gm_zone"
  gm_urlencode "$gm_project"
  gm_dv_url="${gm_ep_compute}projects/$gm_r/zones/"
  gm_urlencode "$gm_zone"
  gm_dv_url="$gm_dv_url$gm_r/instances/"
  gm_urlencode "$gm_instance"
  gm_dv_url=$gm_dv_url$gm_r
  if gm_api DELETE "$gm_dv_url" "$gm_tmp.delvm" || [ "$gm_code" = 404 ]; then
    rm -f "$gm_tmp.delvm"
    return 0
  fi
  if [ "$gm_code" = 403 ]; then
    # The right to delete this VM is granted on the VM itself, right after it is created: a quick experiment may
    # end before that grant is in place.
    gm_log "not yet allowed to delete instance $gm_instance; trying again in 5 s"
    sleep 5
    if gm_api DELETE "$gm_dv_url" "$gm_tmp.delvm" || [ "$gm_code" = 404 ]; then
      rm -f "$gm_tmp.delvm"
      return 0
    fi
  fi
  gm_log "could not delete instance $gm_instance: $(gm_http_problem "$gm_tmp.delvm")"
  rm -f "$gm_tmp.delvm"
  return 1
}

# gm_finish STATE EXITCODE|null REASON [outputs] : the startup agent's ending. Log, outputs, checkpoint, status
# last, self-delete.
gm_finish() {
  gm_status_done=1
  gm_release
  if ! gm_claim; then
    gm_log "the shutdown script is writing this attempt's status"
    gm_stop_reporter
    return 0
  fi
  gm_set_phase uploading
  gm_heartbeat
  : >"$gm_state/outputs.json"
  case ${4:-} in
    outputs)
      # Succeeded means every output is in the bucket: a file that would not upload makes the attempt an
      # error that names it (the files that did upload are kept and listed).
      if ! gm_upload_outputs; then
        gm_fn_n=$(wc -l <"$gm_state/outputs.failed" | tr -d ' ')
        gm_fn_list=$(head -n 10 "$gm_state/outputs.failed" | tr '\n' ',' | sed 's/,$//; s/,/, /g' | cut -c1-600)
        [ "$gm_fn_n" -gt 10 ] && gm_fn_list="$gm_fn_list, ... ($gm_fn_n in all)"
        gm_log "outputs incomplete: $gm_fn_n file(s) could not be uploaded: $gm_fn_list"
        set -- error "$2" "outputs incomplete: $gm_fn_n file(s) could not be uploaded: $gm_fn_list${3:+ (and: $3)}"
      fi
      gm_sync_checkpoint
      ;;
    checkpoint) gm_sync_checkpoint ;;
  esac
  gm_stop_reporter
  gm_ship_log final
  gm_write_status "$1" "$2" "$3"
  gm_fn_rc=$?
  gm_self_delete_vm
  return $gm_fn_rc
}

# A failure before the command ran: status `error` with the reason, the log uploaded.
gm_fail_early() {
  gm_log "error: $1"
  gm_finish error null "$1"
}

# shellcheck disable=SC2317 # invoked by trap
gm_on_exit() {
  if [ "$gm_mode" = startup ] && [ "$gm_status_done" != 1 ] && [ "$gm_signalled" != 1 ] && [ -n "${gm_bucket:-}" ]; then
    gm_log "the agent stopped unexpectedly"
    gm_svc_stop 5
    gm_finish error null "the agent stopped unexpectedly"
  fi
  [ -n "$gm_reporter_pid" ] && kill -TERM "$gm_reporter_pid" 2>/dev/null
  rm -f "$gm_tmp".* 2>/dev/null
}

# shellcheck disable=SC2317 # invoked by trap
gm_on_signal() {
  gm_signalled=1
  gm_log "received a stop signal; the shutdown script reports this attempt"
  [ -n "$gm_reporter_pid" ] && kill -TERM "$gm_reporter_pid" 2>/dev/null
  gm_reporter_pid=
  exit 143
}

# ---------------------------------------------------------------------------------------------------------
# Packing: several experiments on one VM (gce-matrix-members)
#
# The startup agent of a packed VM is a coordinator: it gives each member a directory tree of its own with the
# member's settings (as if the metadata held only that experiment), starts one agent per member at once, waits
# for them all and then deletes the VM. A member's agent stages, heartbeats and reports exactly as a single
# experiment's, under its own prefix and as its own user; right before its services and command start, it
# reserves its CPUs, memory, GPUs and disk from the VM-wide admission ledger (FIFO by member index, by reservation, never
# by sampling load) and gives them back when the command has ended, on every path.

gm_ledger=$gm_vmroot/admission

# gm_cpu_ids LIST : prints the CPU ids of a list such as `0-3,6` one a line, in order.
gm_cpu_ids() {
  printf '%s\n' "$1" | tr ',' '\n' | awk -F- '
    /^[0-9]+$/ { print $1; next }
    /^[0-9]+-[0-9]+$/ { for (i = $1; i <= $2; i++) print i }' | sort -n -u
}

# Sets gm_r to the CPUs the agent may use, comma-separated: its affinity (taskset), else its cgroup's cpuset,
# else 0..nproc-1.
gm_machine_cpus() {
  gm_mc_list=
  if command -v taskset >/dev/null 2>&1; then
    gm_mc_list=$(taskset -pc $$ 2>/dev/null | sed -n 's/.*list:[[:space:]]*//p')
  fi
  if [ -z "$gm_mc_list" ] && [ -r /sys/fs/cgroup/cpuset.cpus.effective ]; then
    gm_mc_list=$(cat /sys/fs/cgroup/cpuset.cpus.effective 2>/dev/null)
  fi
  gm_r=$(gm_cpu_ids "$gm_mc_list" | paste -s -d, -)
  if [ -z "$gm_r" ]; then
    gm_mc_n=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)
    gm_int "$gm_mc_n" 1
    [ "$gm_r" -ge 1 ] || gm_r=1
    gm_r=$(awk -v n="$gm_r" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", (i ? "," : ""), i }')
  fi
}

# Sets gm_r to the memory experiments may reserve, in MiB: MemTotal less 512 MiB for the system.
gm_machine_memory() {
  gm_r=$(awk '$1 == "MemTotal:" { m = int($2 / 1024) - 512; if (m < 0) m = 0; print m; exit }' /proc/meminfo 2>/dev/null)
  gm_int "$gm_r" 0
}

# Sets gm_r to the machine's GPU ids, blank-separated: one per line of `nvidia-smi -L`, else as many as the
# instance attribute gce-matrix-gpus (the accelerators launch attached) says, else none.
gm_machine_gpus() {
  gm_mg_n=0
  if command -v nvidia-smi >/dev/null 2>&1; then
    gm_mg_n=$(nvidia-smi -L 2>/dev/null | grep -c .)
    gm_int "$gm_mg_n" 0
    gm_mg_n=$gm_r
  fi
  if [ "$gm_mg_n" -eq 0 ]; then
    gm_int "${gm_gpus:-}" 0
    gm_mg_n=$gm_r
  fi
  gm_r=$(awk -v n="$gm_mg_n" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", (i ? " " : ""), i }')
}

# Sets gm_r to the MiB free on the file system of the agent's root (what the members' disk-mb share).
gm_machine_disk() {
  gm_r=$(df -Pm "$gm_ledger" 2>/dev/null | awk 'NR == 2 { print $4; exit }')
  gm_int "$gm_r" 0
}

# With the ledger locked: writes it when it is not there yet (the machine's CPUs, memory, GPUs and disk, all
# free).
gm_ledger_init() {
  [ -f "$gm_ledger/cpus" ] && return 0
  mkdir -p "$gm_ledger"
  gm_machine_gpus
  printf '%s\n' "$gm_r" >"$gm_ledger/gpus"
  printf '%s\n' "$gm_r" >"$gm_ledger/free-gpus"
  gm_machine_disk
  printf '%s\n' "$gm_r" >"$gm_ledger/disk"
  printf '%s\n' "$gm_r" >"$gm_ledger/free-disk"
  gm_machine_cpus
  printf '%s\n' "$gm_r" >"$gm_ledger/cpus"
  printf '%s\n' "$gm_r" | tr ',' ' ' >"$gm_ledger/free-cpus"
  gm_machine_memory
  printf '%s\n' "$gm_r" >"$gm_ledger/memory"
  printf '%s\n' "$gm_r" >"$gm_ledger/free-memory"
  : >"$gm_ledger/waiting"
  : >>"$gm_ledger/events"
}

# Fails with gm_error_reason when the member's resources are malformed or more than the whole machine.
gm_pack_check() {
  [ -n "$gm_member" ] || return 0
  case $gm_res_cpus:$gm_res_mem:$gm_res_gpus:$gm_res_disk in
    *[!0-9:]* | :* | 0:* | *::* | *:)
      gm_error_reason="instance attribute gce-matrix-resources is malformed (cpus=$gm_res_cpus, memory-mb=$gm_res_mem, gpus=$gm_res_gpus, disk-mb=$gm_res_disk); expected lines cpus=C (a whole number >= 1), memory-mb=M (MiB), and optionally gpus=G and disk-mb=D (MiB)"
      return 1
      ;;
  esac
  gm_lock "$gm_ledger.lock"
  gm_ledger_init
  gm_read "$gm_ledger/cpus"
  gm_pc_all=$gm_r
  gm_read "$gm_ledger/memory"
  gm_pc_mem=$gm_r
  gm_read "$gm_ledger/gpus"
  gm_pc_gpus=$gm_r
  gm_read "$gm_ledger/disk"
  gm_int "$gm_r" 0
  gm_pc_disk=$gm_r
  gm_unlock "$gm_ledger.lock"
  # shellcheck disable=SC2086 # the id list is meant to split
  gm_pc_ngpus=$(printf '%s\n' $gm_pc_gpus | grep -c .)
  if [ "$gm_res_gpus" -gt "$gm_pc_ngpus" ]; then
    gm_error_reason="gce-matrix-resources asks for $gm_res_gpus GPU(s) per experiment, more than this machine has: $gm_pc_ngpus GPU(s); ask for fewer in resources.gpus, or attach more with accelerators"
    return 1
  fi
  if [ "$gm_res_disk" -gt "$gm_pc_disk" ]; then
    gm_error_reason="gce-matrix-resources asks for $gm_res_disk MiB of disk per experiment, more than this machine has: $gm_pc_disk MiB free where the agent works; ask for less in resources.disk-gb, or raise boot-disk-size-gb"
    return 1
  fi
  gm_pc_n=$(printf '%s\n' "$gm_pc_all" | tr ',' '\n' | grep -c .)
  if [ "$gm_res_cpus" -gt "$gm_pc_n" ] || [ "$gm_res_mem" -gt "$gm_pc_mem" ]; then
    gm_error_reason="gce-matrix-resources asks for $gm_res_cpus CPU(s) and $gm_res_mem MiB per experiment, more than this machine${gm_machine_type:+ ($gm_machine_type)} has: $gm_pc_n CPU(s) ($gm_pc_all) and $gm_pc_mem MiB for experiments (MemTotal less 512 MiB for the system); ask for less in resources, or choose a larger machine-type"
    return 1
  fi
  return 0
}

# gm_take_ids "FREE IDS" N FILE : sets gm_r to the first N of the free ids (comma-separated) and writes the rest
# (blank-separated) to FILE, the ledger's list they came from.
gm_take_ids() {
  # shellcheck disable=SC2086 # the id list is meant to split
  gm_r=$(printf '%s\n' $1 | sed -n "1,${2}p" | paste -s -d, -)
  # shellcheck disable=SC2086
  printf '%s\n' $1 | sed "1,${2}d" | paste -s -d' ' - >"$3"
}

# Reserves the member's CPUs, memory, GPUs and disk, waiting (phase `queued`) while they are taken or a member
# of a lower index waits. Writes $gm_state/placement (`cpus LIST`, `memory M`, `gpus LIST`, `disk D`). Returns 2 when the shutdown run took over
# this attempt while it waited.
gm_admit() {
  [ -n "$gm_member" ] || return 0
  gm_lock "$gm_ledger.lock"
  gm_ledger_init
  grep -qx "$gm_member" "$gm_ledger/waiting" || printf '%s\n' "$gm_member" >>"$gm_ledger/waiting"
  printf 'queue %s\n' "$gm_member" >>"$gm_ledger/events"
  gm_unlock "$gm_ledger.lock"
  gm_set_phase queued
  gm_heartbeat
  gm_ad_what="$gm_res_cpus CPU(s)"
  [ "$gm_res_mem" -gt 0 ] && gm_ad_what="$gm_ad_what, $gm_res_mem MiB"
  [ "$gm_res_gpus" -gt 0 ] && gm_ad_what="$gm_ad_what, $gm_res_gpus GPU(s)"
  [ "$gm_res_disk" -gt 0 ] && gm_ad_what="$gm_ad_what, $gm_res_disk MiB of disk"
  gm_log "queued: waiting for $gm_ad_what of this machine"
  gm_now
  gm_ad_since=$gm_now_v
  gm_ad_seen=
  while :; do
    if [ -d "$gm_state/status.claim" ]; then
      gm_release
      return 2
    fi
    # What frees a place (a release, a lower index leaving the queue) is a line of the events: the ledger is
    # looked at again only when they grew, so many waiting members do not keep its lock busy.
    gm_ad_size=$(wc -c <"$gm_ledger/events" | tr -d ' ')
    if [ "$gm_ad_size" = "$gm_ad_seen" ]; then
      sleep 1
      continue
    fi
    gm_ad_seen=$gm_ad_size
    gm_lock "$gm_ledger.lock"
    gm_ad_first=$(sort -n "$gm_ledger/waiting" | sed -n 1p)
    gm_read "$gm_ledger/free-memory"
    gm_int "$gm_r" 0
    gm_ad_mem=$gm_r
    gm_ad_free=$(cat "$gm_ledger/free-cpus")
    # shellcheck disable=SC2086 # the id list is meant to split
    gm_ad_nfree=$(printf '%s\n' $gm_ad_free | grep -c .)
    gm_read "$gm_ledger/free-gpus"
    gm_ad_gfree=$gm_r
    # shellcheck disable=SC2086
    gm_ad_ngfree=$(printf '%s\n' $gm_ad_gfree | grep -c .)
    gm_read "$gm_ledger/free-disk"
    gm_int "$gm_r" 0
    gm_ad_disk=$gm_r
    if [ "$gm_ad_first" = "$gm_member" ] && [ "$gm_ad_nfree" -ge "$gm_res_cpus" ] && [ "$gm_ad_mem" -ge "$gm_res_mem" ] &&
      [ "$gm_ad_ngfree" -ge "$gm_res_gpus" ] && [ "$gm_ad_disk" -ge "$gm_res_disk" ]; then
      gm_take_ids "$gm_ad_free" "$gm_res_cpus" "$gm_ledger/free-cpus"
      gm_pack_cpus=$gm_r
      printf '%s\n' "$((gm_ad_mem - gm_res_mem))" >"$gm_ledger/free-memory"
      gm_pack_gpus=
      if [ "$gm_res_gpus" -gt 0 ]; then
        gm_take_ids "$gm_ad_gfree" "$gm_res_gpus" "$gm_ledger/free-gpus"
        gm_pack_gpus=$gm_r
      fi
      printf '%s\n' "$((gm_ad_disk - gm_res_disk))" >"$gm_ledger/free-disk"
      grep -vx "$gm_member" "$gm_ledger/waiting" >"$gm_ledger/waiting.new"
      mv -f "$gm_ledger/waiting.new" "$gm_ledger/waiting"
      printf 'admit %s cpus %s memory %s gpus %s disk %s\n' "$gm_member" "$gm_pack_cpus" "$gm_res_mem" \
        "${gm_pack_gpus:--}" "$gm_res_disk" >>"$gm_ledger/events"
      printf 'cpus %s\nmemory %s\ngpus %s\ndisk %s\n' "$gm_pack_cpus" "$gm_res_mem" "$gm_pack_gpus" "$gm_res_disk" \
        >"$gm_state/placement"
      : >"$gm_state/reserved"
      gm_unlock "$gm_ledger.lock"
      if [ -d "$gm_state/status.claim" ]; then
        gm_release
        return 2
      fi
      gm_now
      gm_log "admitted after $((gm_now_v - gm_ad_since)) s: CPU(s) $gm_pack_cpus$([ "$gm_res_mem" -gt 0 ] && printf ', %s MiB' "$gm_res_mem")$([ -n "$gm_pack_gpus" ] && printf ', GPU(s) %s' "$gm_pack_gpus")$([ "$gm_res_disk" -gt 0 ] && printf ', %s MiB of disk' "$gm_res_disk")"
      return 0
    fi
    gm_unlock "$gm_ledger.lock"
    sleep 1
  done
}

# Gives the member's reservation back and leaves the queue (once; safe from either run and on every path).
gm_release() {
  [ -n "$gm_member" ] || return 0
  [ -d "$gm_ledger" ] || return 0
  gm_lock "$gm_ledger.lock"
  if [ -f "$gm_state/reserved" ]; then
    gm_read "$gm_state/placement"
    gm_rl_cpus=${gm_r#cpus }
    gm_read "$gm_ledger/free-memory"
    gm_int "$gm_r" 0
    printf '%s\n' "$((gm_r + gm_res_mem))" >"$gm_ledger/free-memory"
    gm_read "$gm_ledger/free-disk"
    gm_int "$gm_r" 0
    printf '%s\n' "$((gm_r + gm_res_disk))" >"$gm_ledger/free-disk"
    gm_rl_gpus=$(sed -n 's/^gpus //p' "$gm_state/placement")
    if [ -n "$gm_rl_gpus" ]; then
      {
        tr ' ' '\n' <"$gm_ledger/free-gpus"
        printf '%s\n' "$gm_rl_gpus" | tr ',' '\n'
      } | grep . | sort -n -u | paste -s -d' ' - >"$gm_ledger/free-gpus.new"
      mv -f "$gm_ledger/free-gpus.new" "$gm_ledger/free-gpus"
    fi
    {
      tr ' ' '\n' <"$gm_ledger/free-cpus"
      printf '%s\n' "$gm_rl_cpus" | tr ',' '\n'
    } | grep . | sort -n -u | paste -s -d' ' - >"$gm_ledger/free-cpus.new"
    mv -f "$gm_ledger/free-cpus.new" "$gm_ledger/free-cpus"
    rm -f "$gm_state/reserved"
    printf 'release %s\n' "$gm_member" >>"$gm_ledger/events"
  fi
  if grep -qx "$gm_member" "$gm_ledger/waiting" 2>/dev/null; then
    grep -vx "$gm_member" "$gm_ledger/waiting" >"$gm_ledger/waiting.new"
    mv -f "$gm_ledger/waiting.new" "$gm_ledger/waiting"
    printf 'leave %s\n' "$gm_member" >>"$gm_ledger/events"
  fi
  gm_unlock "$gm_ledger.lock"
  if [ -n "${gm_pack_cgroup:-}" ]; then
    rmdir "$gm_pack_cgroup" 2>/dev/null
    gm_pack_cgroup=
  fi
  return 0
}

# Sets gm_pack_cpus and gm_pack_gpus to the member's reserved CPUs and GPU ids (empty when none were reserved).
gm_load_placement() {
  gm_pack_cpus=
  gm_pack_gpus=
  [ -f "$gm_state/placement" ] || return 0
  gm_pack_cpus=$(sed -n 's/^cpus //p' "$gm_state/placement")
  gm_pack_gpus=$(sed -n 's/^gpus //p' "$gm_state/placement")
}

# A host command's memory limit: a cgroup v2 child with memory.max (and cpuset.cpus where that controller is
# on), when the machine lets the agent make one. Sets gm_pack_cgroup (empty when the limit is not enforced).
gm_pack_cgroup_setup() {
  gm_pack_cgroup=
  [ -n "$gm_member" ] && [ "$gm_res_mem" -gt 0 ] && [ -z "$gm_image" ] || return 0
  gm_cg_base=/sys/fs/cgroup
  gm_cg_why="no cgroup v2 memory controller the agent may use"
  if [ -f "$gm_cg_base/cgroup.subtree_control" ] && grep -qw memory "$gm_cg_base/cgroup.subtree_control" 2>/dev/null; then
    gm_cg=$gm_cg_base/gce-matrix-$gm_member
    if mkdir -p "$gm_cg" 2>/dev/null && printf '%s\n' "$((gm_res_mem * 1048576))" >"$gm_cg/memory.max" 2>/dev/null; then
      if grep -qw cpuset "$gm_cg_base/cgroup.subtree_control" 2>/dev/null; then
        printf '%s\n' "$gm_pack_cpus" >"$gm_cg/cpuset.cpus" 2>/dev/null
      fi
      gm_pack_cgroup=$gm_cg
      gm_log "memory: the command is limited to $gm_res_mem MiB (cgroup $gm_cg)"
      return 0
    fi
    rmdir "$gm_cg" 2>/dev/null
    gm_cg_why="could not create the cgroup $gm_cg"
  fi
  gm_log "memory: $gm_res_mem MiB are reserved for this experiment but not enforced ($gm_cg_why)"
}

# `,"placement":{...}` for a member's provenance.
gm_pack_provenance() {
  [ -n "$gm_member" ] || return 0
  gm_load_placement
  gm_pp_n=
  if [ -f "$gm_state/neighbours" ]; then
    while IFS= read -r gm_pp_id; do
      gm_pp_n="$gm_pp_n,\"$(gm_json_escape "$gm_pp_id")\""
    done <"$gm_state/neighbours"
  fi
  printf ',"placement":{"packed":true,"members":%s,"index":%s,"neighbours":[%s]%s%s,"memoryMb":%s,"diskMb":%s}' \
    "$gm_members" "$gm_member" "${gm_pp_n#,}" "$(gm_jfield cpus "$gm_pack_cpus")" "$(gm_jfield gpus "$gm_pack_gpus")" \
    "$gm_res_mem" "$gm_res_disk"
}

# The coordinator's copy of this script, which it starts once per member: the file it runs from when that is
# readable, else the startup-script attribute (its first line `GCE_MATRIX_MODE=...` is harmless: `$1` wins).
gm_save_script() {
  [ -s "$gm_root/agent.sh" ] && return 0
  if [ -f "$0" ] && [ -r "$0" ] && grep -q '^gm_main_coordinator()' "$0" 2>/dev/null; then
    cp "$0" "$gm_root/agent.sh.new" || return 1
  elif ! gm_md instance/attributes/startup-script "$gm_root/agent.sh.new" ||
    ! grep -q '^gm_main_coordinator()' "$gm_root/agent.sh.new"; then
    rm -f "$gm_root/agent.sh.new"
    return 1
  fi
  mv -f "$gm_root/agent.sh.new" "$gm_root/agent.sh"
}

# gm_member_value FILE KEY : prints the value of line KEY=VALUE of a member attribute.
gm_member_value() {
  sed -n "s/^$2=//p" "$1" 2>/dev/null | sed -n 1p | tr -d '\r'
}

# Gives every member its tree under $gm_root/m/<i>: the shared attributes with the member's own experiment,
# prefix, attempt, params and param-env, the instance facts, and `.complete` markers (it never refetches).
gm_setup_members() {
  gm_sm_a=$gm_state/attr
  gm_sm_i=1
  while [ "$gm_sm_i" -le "$gm_members" ]; do
    gm_sm_root=$gm_root/m/$gm_sm_i
    gm_sm_st=$gm_sm_root/state
    if [ ! -f "$gm_sm_st/attr/.complete" ]; then
      mkdir -p "$gm_sm_st/attr" "$gm_sm_st/inst" || return 1
      chmod 700 "$gm_sm_st"
      chmod 711 "$gm_sm_root"
      for gm_sm_f in "$gm_sm_a"/gce-matrix-*; do
        [ -f "$gm_sm_f" ] || continue
        case ${gm_sm_f##*/} in
          gce-matrix-member-* | gce-matrix-experiment | gce-matrix-experiment-prefix | gce-matrix-attempt | gce-matrix-params | gce-matrix-param-env) ;;
          *) cp "$gm_sm_f" "$gm_sm_st/attr/" ;;
        esac
      done
      gm_sm_m=$gm_sm_a/gce-matrix-member-$gm_sm_i
      gm_member_value "$gm_sm_m" experiment >"$gm_sm_st/attr/gce-matrix-experiment"
      gm_member_value "$gm_sm_m" experiment-prefix >"$gm_sm_st/attr/gce-matrix-experiment-prefix"
      gm_member_value "$gm_sm_m" attempt >"$gm_sm_st/attr/gce-matrix-attempt"
      gm_member_value "$gm_sm_m" params >"$gm_sm_st/attr/gce-matrix-params"
      [ -f "$gm_sm_m-param-env" ] && cp "$gm_sm_m-param-env" "$gm_sm_st/attr/gce-matrix-param-env"
      printf '%s' "$gm_sm_i" >"$gm_sm_st/attr/gce-matrix-member-index"
      # the other members' experiments, for the provenance
      gm_sm_j=1
      while [ "$gm_sm_j" -le "$gm_members" ]; do
        [ "$gm_sm_j" = "$gm_sm_i" ] || gm_member_value "$gm_sm_a/gce-matrix-member-$gm_sm_j" experiment
        gm_sm_j=$((gm_sm_j + 1))
      done >"$gm_sm_st/neighbours"
      cp "$gm_state/inst"/* "$gm_sm_st/inst/" 2>/dev/null
      : >"$gm_sm_st/inst/.complete"
      : >"$gm_sm_st/attr/.complete"
    fi
    gm_sm_i=$((gm_sm_i + 1))
  done
  return 0
}

# gm_run_members MODE : runs every member's agent in MODE at once and waits for them all.
gm_run_members() {
  gm_rm_pids=
  gm_rm_i=1
  while [ "$gm_rm_i" -le "$gm_members" ]; do
    if [ -d "$gm_root/m/$gm_rm_i/state" ]; then
      GCE_MATRIX_ROOT=$gm_root/m/$gm_rm_i GCE_MATRIX_MEMBER=$gm_rm_i GCE_MATRIX_VM_ROOT=$gm_root \
        sh "$gm_root/agent.sh" "$1" </dev/null &
      gm_rm_pids="$gm_rm_pids $!"
    fi
    gm_rm_i=$((gm_rm_i + 1))
  done
  for gm_rm_pid in $gm_rm_pids; do
    wait "$gm_rm_pid"
  done
}

# The startup agent of a packed VM.
gm_main_coordinator() {
  # the members write the statuses; this agent writes none
  gm_status_done=1
  gm_log "packed VM: $gm_members experiment(s) share instance $gm_instance"
  case $gm_members in
    [1-9] | [1-5][0-9] | 6[0-4]) ;;
    *)
      gm_log "error: instance attribute gce-matrix-members is $gm_members; expected 1 to 64"
      gm_self_delete_vm
      exit 1
      ;;
  esac
  if ! gm_save_script; then
    gm_log "error: cannot keep a copy of the agent to start the members with (neither $0 nor the startup-script attribute holds it)"
    gm_self_delete_vm
    exit 1
  fi
  if ! gm_setup_members; then
    gm_log "error: cannot create the members' directories under $gm_root/m"
    gm_self_delete_vm
    exit 1
  fi
  gm_lock "$gm_ledger.lock"
  gm_ledger_init
  gm_unlock "$gm_ledger.lock"
  gm_log "admission: CPU(s) $(cat "$gm_ledger/cpus") and $(cat "$gm_ledger/memory") MiB for the experiments"
  gm_run_members startup
  gm_log "every member's agent has ended"
  if [ -f "$gm_state/shutdown" ] || [ "$(gm_md_value instance/preempted)" = TRUE ]; then
    gm_log "the VM is going down; not deleting it"
    exit 0
  fi
  gm_self_delete_vm
  exit 0
}

# The shutdown script of a packed VM: every member's shutdown run at once (they share the 30 s).
gm_shutdown_coordinator() {
  : >"$gm_state/shutdown"
  gm_log "shutdown: packed VM, stopping $gm_members member(s)"
  gm_save_script || {
    gm_log "shutdown: no copy of the agent to run the members' shutdown with"
    exit 1
  }
  gm_setup_members
  gm_run_members shutdown
  exit 0
}

# ---------------------------------------------------------------------------------------------------------
# Modes

gm_prepare() {
  mkdir -p "$gm_state" "$gm_input" "$gm_output" "$gm_checkpoint" "$gm_work" || {
    gm_log "cannot create the work directories under $gm_root"
    return 1
  }
  chmod 700 "$gm_state" 2>/dev/null
  # a member of a packed VM: its directories are closed to a neighbour's command from the start (isolation
  # hands them to this member's user later)
  [ -n "$gm_member" ] && chmod 700 "$gm_input" "$gm_output" "$gm_checkpoint" "$gm_work" 2>/dev/null
  gm_md_url=$(gm_md_base)
  gm_fetch_settings
  gm_load_settings
  if [ -z "$gm_bucket" ] || [ -z "$gm_prefix" ]; then
    gm_log "error: instance attributes gce-matrix-bucket and gce-matrix-experiment-prefix are required; nowhere to report"
    return 1
  fi
  # the log is the agent's: the command's user does not read it
  [ -f "$gm_logfile" ] || (
    umask 077
    : >>"$gm_logfile"
  )
  return 0
}

gm_main_startup() {
  trap gm_on_exit EXIT
  trap gm_on_signal TERM INT HUP
  if ! gm_prepare; then
    gm_status_done=1
    gm_self_delete_vm
    exit 1
  fi
  if [ -z "$gm_member" ] && [ "$gm_members" -gt 0 ]; then
    gm_main_coordinator
  fi
  if [ -f "$gm_state/status-written" ]; then
    gm_log "attempt $gm_attempt already has a status; nothing to do"
    gm_status_done=1
    gm_self_delete_vm
    exit 0
  fi
  gm_started_at=$(gm_iso)
  printf '%s\n' "$gm_started_at" >"$gm_state/started-at"
  gm_log "starting attempt $gm_attempt of experiment $gm_experiment (run $gm_run_id) on $gm_instance"
  gm_log "reporting to gs://$gm_bucket/$gm_prefix"
  gm_set_phase staging
  gm_token_get
  gm_start_reporter

  gm_error_reason=
  if [ -z "$gm_command" ] && [ -z "$gm_image" ]; then
    gm_fail_early "no command: instance attribute gce-matrix-command is empty"
    exit $?
  fi
  gm_pack_check || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  gm_restore_checkpoint || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  gm_stage_source || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  gm_stage_inputs || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  gm_fetch_secrets || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  gm_prepare_container || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  gm_svc_load
  gm_svc_pull || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  gm_isolate || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  case $gm_cmd_creds in
    none | experiment) ;;
    *)
      gm_fail_early "instance attribute gce-matrix-command-credentials is '$gm_cmd_creds'; expected none or experiment"
      exit $?
      ;;
  esac
  gm_experiment_token || {
    gm_fail_early "$gm_error_reason"
    exit $?
  }
  gm_admit
  if [ $? = 2 ]; then
    gm_log "the shutdown script took over this attempt while it was queued"
    gm_status_done=1
    gm_stop_reporter
    exit 0
  fi
  if [ -n "$gm_member" ]; then
    if command -v taskset >/dev/null 2>&1; then
      gm_pack_taskset=1
    elif [ -z "$gm_image" ]; then
      gm_log "the image has no taskset (util-linux): the command is not pinned to CPU(s) $gm_pack_cpus"
    fi
    gm_pack_cgroup_setup
  fi
  gm_svc_start || {
    gm_svc_stop 5
    gm_fail_early "$gm_error_reason"
    exit $?
  }

  gm_set_phase running
  gm_started_at=$(gm_iso)
  printf '%s\n' "$gm_started_at" >"$gm_state/started-at"
  if [ "$gm_timeout" -gt 0 ]; then
    gm_log "running the command${gm_image:+ in $gm_image} (timeout ${gm_timeout}s)"
  else
    gm_log "running the command${gm_image:+ in $gm_image}"
  fi
  gm_start_command
  gm_wait_command
  gm_sweep_run_user
  gm_svc_stop 10
  gm_release
  # the secrets are not needed any more
  gm_se_i=1
  while [ "$gm_se_i" -le "${gm_secret_count:-0}" ]; do
    eval "gm_secret_value_$gm_se_i="
    gm_se_i=$((gm_se_i + 1))
  done
  rm -f "$gm_state/docker.env"

  if [ "$(gm_md_value instance/preempted)" = TRUE ]; then
    gm_log "the VM was preempted; the shutdown script writes the status"
    gm_stop_reporter
    gm_pw_n=0
    while [ ! -d "$gm_state/status.claim" ] && [ "$gm_pw_n" -lt 15 ]; do
      sleep 1
      gm_pw_n=$((gm_pw_n + 1))
    done
    if [ ! -d "$gm_state/status.claim" ]; then
      gm_log "no shutdown script took over; reporting the preemption"
      gm_finish preempted null "the VM was preempted" checkpoint
      exit $?
    fi
    gm_pw_n=0
    while [ ! -f "$gm_state/status-written" ] && [ "$gm_pw_n" -lt 60 ]; do
      sleep 1
      gm_pw_n=$((gm_pw_n + 1))
    done
    gm_status_done=1
    exit 0
  fi

  case $gm_exit in
    '')
      gm_finish error null "the command's exit code was lost (its wrapper process vanished)" outputs
      ;;
    0)
      gm_log "the command succeeded"
      gm_finish succeeded 0 '' outputs
      ;;
    *)
      if [ "$gm_timed_out" = 1 ]; then
        gm_finish failed 124 "timeout: the command ran longer than $gm_timeout seconds" outputs
      else
        gm_log "the command failed with exit code $gm_exit"
        gm_finish failed "$gm_exit" "the command exited with code $gm_exit" outputs
      fi
      ;;
  esac
  exit $?
}

gm_main_shutdown() {
  gm_retries=2
  gm_prepare || exit 1
  if [ -z "$gm_member" ] && [ "$gm_members" -gt 0 ]; then
    gm_shutdown_coordinator
  fi
  gm_log "shutdown: attempt $gm_attempt of experiment $gm_experiment"
  if [ -f "$gm_state/status-written" ]; then
    gm_log "shutdown: the status is already written"
    exit 0
  fi
  if ! gm_claim; then
    gm_log "shutdown: the startup agent is finishing; waiting for its status"
    gm_sd_n=0
    while [ ! -f "$gm_state/status-written" ] && [ "$gm_sd_n" -lt 20 ]; do
      sleep 1
      gm_sd_n=$((gm_sd_n + 1))
    done
    exit 0
  fi
  gm_sd_preempted=$(gm_md_value instance/preempted)
  gm_set_phase uploading
  if [ "$gm_sd_preempted" = TRUE ]; then
    # First, before anything that may not finish in the 30 s: launch starts the next attempt on this record
    # as soon as the status follows or the VM is down, instead of waiting for the heartbeat to go stale.
    gm_retries=1
    gm_gcs_put_text "$gm_bucket" "${gm_prefix}attempts/$gm_attempt/preempted.json" application/json \
      "{\"attempt\":$gm_attempt,\"at\":\"$(gm_iso)\"}" >/dev/null
    gm_retries=2
    # the 30 s are for the checkpoint: a periodic sync in flight is cut short and redone below
    gm_stop_reporter 3
  else
    gm_stop_reporter
  fi
  gm_sd_pid=$(cat "$gm_state/command.pid" 2>/dev/null)
  if [ -n "$gm_sd_pid" ] && [ ! -f "$gm_state/exit-code" ]; then
    gm_log "shutdown: stopping the command"
    gm_stop_command TERM
    gm_sd_n=0
    while [ ! -f "$gm_state/exit-code" ] && [ "$gm_sd_n" -lt 5 ]; do
      sleep 1
      gm_sd_n=$((gm_sd_n + 1))
    done
  fi
  gm_load_run_user
  gm_sweep_run_user
  gm_svc_stop 3
  gm_release
  : >"$gm_state/outputs.json"
  gm_sd_reason="the VM was stopped before the command finished"
  # a member still queued (or staging) when the VM went down: its command never ran
  [ -n "$gm_member" ] && [ -z "$gm_sd_pid" ] && gm_sd_reason="the VM was stopped before the command started"
  if [ "$gm_sd_preempted" = TRUE ]; then
    gm_log "shutdown: the VM was preempted"
    gm_sync_checkpoint
    gm_ship_log final
    gm_write_status preempted null "the VM was preempted"
  else
    gm_ship_log
    gm_sync_checkpoint
    gm_ship_log final
    gm_write_status error null "$gm_sd_reason"
  fi
  exit $?
}

if [ "$gm_mode" = shutdown ]; then
  gm_main_shutdown
else
  gm_main_startup
fi
