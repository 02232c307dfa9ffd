#!/bin/sh
# The image's nft in the test bed. Instances share the host's kernel, so this one keeps the instance's firewall
# in the emulated kernel's state (only root may write it), where the bed's servers apply it to the connections
# they accept (see guest-image/web-image/firewall.cjs). It takes `nft -f FILE|-` with `add|flush|delete table`
# and tables of base chains whose rules read [meta skuid N] [ip|ip6 daddr ADDR[/LEN]] [tcp dport [!=] PORT]
# [counter] accept|drop|reject [with tcp reset]; and `list ruleset`, `flush ruleset`. Anything else fails as a
# syntax error would: the bed never pretends to hold a rule it does not understand.
kernel=/run/bed-kernel
state=$kernel/nft.rules
fail() {
  printf 'Error: %s\n' "$1" >&2
  exit 1
}
if [ "$(id -u)" != 0 ] || [ ! -w "$kernel" ]; then
  fail 'Could not process rule: Operation not permitted'
fi
case $* in
  'list ruleset')
    [ -f "$state" ] && awk -F '\t' '
      $1 == "C" { printf "table %s chain %s { type filter hook %s priority 0; policy %s; }\n", $2, $3, $4, $5 }
      $1 == "R" { printf "table %s chain %s: skuid=%s %s daddr=%s dport%s%s %s\n", $2, $3, $5, $6, $7, $8, $9, $4 }
    ' "$state"
    exit 0
    ;;
  'flush ruleset')
    : >"$state"
    exit 0
    ;;
esac
if [ "${1:-}" != -f ] || [ $# != 2 ]; then
  fail "the bed's nft takes -f FILE, list ruleset or flush ruleset, not: $*"
fi
if [ "$2" = - ]; then src=/dev/stdin; else src=$2; fi
[ -r "$src" ] || fail "Could not open file \"$2\": No such file or directory"
touch "$state"
awk -v state="$state" -v out="$state.new" '
  function fail(msg) { print "Error: " msg > "/dev/stderr"; bad = 1; exit 1 }
  function del_table(tb,   i) {
    delete tables[tb]
    for (i = 1; i <= nc; i++) if (ctab[i] == tb) ctab[i] = ""
    flush_table(tb)
  }
  function flush_table(tb,   i) { for (i = 1; i <= nr; i++) if (rtab[i] == tb) rtab[i] = "" }
  function family(f) { if (f != "inet" && f != "ip" && f != "ip6") fail("unknown table family " f) }
  BEGIN {
    FS = "\t"
    while ((getline line < state) > 0) {
      split(line, f, "\t")
      if (f[1] == "T") tables[f[2]] = 1
      else if (f[1] == "C") { nc++; ctab[nc] = f[2]; cname[nc] = f[3]; chook[nc] = f[4]; cpol[nc] = f[5] }
      else if (f[1] == "R") { nr++; rtab[nr] = f[2]; rch[nr] = f[3]; rv[nr] = f[4]; ru[nr] = f[5]; rf[nr] = f[6]; ra[nr] = f[7]; rop[nr] = f[8]; rp[nr] = f[9] }
    }
    FS = " "
  }
  {
    line = $0
    sub(/#.*/, "", line)
    gsub(/;/, " ", line)
    n = split(line, t, /[ \t]+/)
    if (n > 0 && t[1] == "") { for (i = 1; i < n; i++) t[i] = t[i + 1]; n-- }
    if (n > 0 && t[n] == "") n--
    if (n == 0) next
    if (t[1] == "}") {
      if (n != 1) fail("syntax error, unexpected " t[2])
      if (chain != "") chain = ""; else if (table != "") table = ""; else fail("syntax error, unexpected }")
      next
    }
    if (table == "") {
      off = (t[1] == "add") ? 1 : 0
      if (t[1 + off] == "table") {
        if (t[1] != "add" && t[1] != "table") fail("syntax error, unexpected " t[1])
        family(t[2 + off]); tb = t[2 + off] " " t[3 + off]; tables[tb] = 1
        if (n == 4 + off && t[4 + off] == "{") table = tb
        else if (n != 3 + off) fail("syntax error, unexpected " t[4 + off])
        next
      }
      if ((t[1] == "flush" || t[1] == "delete") && t[2] == "table" && n == 4) {
        family(t[3]); tb = t[3] " " t[4]
        if (!(tb in tables)) fail("Could not process rule: No such file or directory")
        if (t[1] == "flush") flush_table(tb); else del_table(tb)
        next
      }
      fail("syntax error, unexpected " t[1] " (the bed knows tables, chains and rules inside them)")
    }
    if (chain == "") {
      if (t[1] == "chain" && n == 3 && t[3] == "{") {
        chain = t[2]; cur = 0
        for (i = 1; i <= nc; i++) if (ctab[i] == table && cname[i] == chain) cur = i
        if (!cur) { nc++; cur = nc; ctab[nc] = table; cname[nc] = chain; chook[nc] = ""; cpol[nc] = "accept" }
        next
      }
      fail("syntax error, unexpected " t[1])
    }
    if (t[1] == "type") {
      if (t[2] != "filter" || t[3] != "hook" || t[5] != "priority" || n < 6) fail("syntax error in chain type")
      if (t[4] != "output" && t[4] != "input" && t[4] != "forward") fail("the bed has no " t[4] " hook")
      if (chook[cur] != "" && chook[cur] != t[4]) fail("Could not process rule: Device or resource busy")
      chook[cur] = t[4]
      if (n >= 8 && t[7] == "policy") cpol[cur] = t[8]
      else if (n != 6) fail("syntax error, unexpected " t[7])
      if (cpol[cur] != "accept" && cpol[cur] != "drop") fail("syntax error, unexpected " cpol[cur])
      next
    }
    if (chook[cur] == "") fail("rules need a base chain in the bed: type filter hook ... first")
    uid = ""; fam = ""; addr = ""; op = ""; port = ""; verdict = ""
    for (i = 1; i <= n; i++) {
      if (verdict != "" && !(verdict == "reject" && t[i] == "with")) fail("syntax error, unexpected " t[i])
      if (t[i] == "meta" && t[i + 1] == "skuid") {
        uid = t[i + 2]; i += 2
        if (uid !~ /^[0-9]+$/) fail("the bed takes a numeric skuid, not " uid)
      } else if ((t[i] == "ip" || t[i] == "ip6") && t[i + 1] == "daddr") {
        fam = t[i]; addr = t[i + 2]; i += 2
        if (addr == "") fail("syntax error, unexpected end of file")
      } else if (t[i] == "tcp" && t[i + 1] == "dport") {
        op = "=="; i += 2
        if (t[i] == "!=") { op = "!="; i++ }
        port = t[i]
        if (port !~ /^[0-9]+$/) fail("the bed takes one numeric port, not " port)
      } else if (t[i] == "counter") {
      } else if (t[i] == "accept" || t[i] == "drop" || t[i] == "reject") {
        verdict = t[i]
      } else if (t[i] == "with" && verdict == "reject") {
        if (t[i + 1] != "tcp" || t[i + 2] != "reset" || op == "") fail("the bed rejects with tcp reset only, on tcp rules")
        i += 2
      } else fail("syntax error, unexpected " t[i])
    }
    if (verdict == "") fail("the bed needs a verdict (accept, drop or reject) in: " $0)
    nr++; rtab[nr] = table; rch[nr] = chain; rv[nr] = verdict; ru[nr] = uid; rf[nr] = fam; ra[nr] = addr; rop[nr] = op; rp[nr] = port
  }
  END {
    if (bad) exit 1
    if (table != "") { print "Error: syntax error, unexpected end of file" > "/dev/stderr"; exit 1 }
    printf "" > out
    for (tb in tables) print "T\t" tb > out
    for (i = 1; i <= nc; i++) if (ctab[i] != "" && (ctab[i] in tables)) print "C\t" ctab[i] "\t" cname[i] "\t" chook[i] "\t" cpol[i] > out
    for (i = 1; i <= nr; i++) {
      if (rtab[i] == "") continue
      for (j = 1; j <= nc; j++) if (ctab[j] == rtab[i] && cname[j] == rch[i]) h = chook[j]
      print "R\t" rtab[i] "\t" rch[i] "\t" rv[i] "\t" ru[i] "\t" rf[i] "\t" ra[i] "\t" rop[i] "\t" rp[i] "\t" h > out
    }
    close(out)
  }
' "$src" && mv -f "$state.new" "$state"
