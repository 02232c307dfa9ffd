#!/usr/bin/env bats
# The command is kept from the VM's credentials: it runs as the unprivileged user gce-matrix-run (setpriv), and
# a firewall rule the agent installs and checks first keeps that user from the metadata server. The stubs
# (useradd, id, chown, setpriv, nft, iptables, getent) record what the agent did to the machine in
# $FAKE/host.log; the curl stub refuses a metadata call of a user that a recorded rule rejects.

# shellcheck disable=SC2016,SC2030,SC2031 # commands are expanded by the agent's shell; exports are per test
load helpers

setup() {
  setup_fake
}

# The line number of the first line of host.log matching a fixed string (0 when absent).
host_line() {
  grep -nF -- "$1" "$FAKE/host.log" | head -n 1 | cut -d: -f1 | grep . || echo 0
}

# The command of the attack: its uid and HOME, then a try at the VM's token (the way the agent gets it).
ATTACK='id -u > "$GCE_MATRIX_OUTPUT_DIR/uid"
echo "$HOME $USER" > "$GCE_MATRIX_OUTPUT_DIR/home"
if curl -sS -H "Metadata-Flavor: Google" -o "$GCE_MATRIX_OUTPUT_DIR/token.json" "http://metadata.test/computeMetadata/v1/instance/service-accounts/default/token" 2>"$GCE_MATRIX_OUTPUT_DIR/curl.err"; then
  echo reached > "$GCE_MATRIX_OUTPUT_DIR/attack"
else
  echo refused > "$GCE_MATRIX_OUTPUT_DIR/attack"
fi'

@test "isolated (default): user, directories, firewall rule and its check, all before the command runs through setpriv" {
  attr command "$ATTACK"
  run_agent
  dump
  cat "$FAKE/host.log"
  [ "$status" -eq 0 ]
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]

  # the user is created as a system user without a login
  grep -qx 'useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin gce-matrix-run' "$FAKE/host.log"
  # its directories (links changed, not followed), the firewall, the check as that user, then the command
  grep -qx "chown -hR 990:990 $VM/work $VM/output $VM/checkpoint $VM/input $VM/home" "$FAKE/host.log"
  opts='setpriv --reuid=990 --regid=990 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs --'
  useradd=$(host_line 'useradd ')
  chown=$(host_line 'chown -hR')
  fw=$(host_line 'nft -f')
  check=$(host_line "$opts curl ")
  cmd=$(host_line "$opts sh -c \$'id -u")
  sweep=$(host_line 'sweep uid=990')
  [ "$useradd" -gt 0 ]
  [ "$useradd" -lt "$chown" ]
  [ "$chown" -lt "$fw" ]
  [ "$fw" -lt "$check" ]
  [ "$check" -lt "$cmd" ]
  [ "$cmd" -lt "$sweep" ]
  [ "$(grep -c '^nft -f$' "$FAKE/host.log")" = 1 ]

  # the rule: that uid, every TCP port of the metadata server's addresses but DNS, and the override's port
  grep -qx 'table inet gce_matrix {' "$FAKE/nft.rules"
  grep -qxF $'\t\ttype filter hook output priority 0; policy accept;' "$FAKE/nft.rules"
  grep -qxF $'\t\tmeta skuid 990 ip daddr 169.254.169.254 tcp dport != 53 reject with tcp reset' "$FAKE/nft.rules"
  grep -qxF $'\t\tmeta skuid 990 ip6 daddr fd20:ce::254 tcp dport != 53 reject with tcp reset' "$FAKE/nft.rules"
  grep -qxF $'\t\tmeta skuid 990 ip daddr 198.51.100.7 tcp dport 80 reject with tcp reset' "$FAKE/nft.rules"
  refute grep -q forward "$FAKE/nft.rules"

  # the command ran as that user, with a home of its own, and could not get the token
  [ "$(cat "$(obj outputs/uid)")" = 990 ]
  [ "$(cat "$(obj outputs/home)")" = "$VM/home gce-matrix-run" ]
  [ "$(cat "$(obj outputs/attack)")" = refused ]
  grep -q 'Connection refused' "$(obj outputs/curl.err)"
  refute [ -e "$(obj outputs/token.json)" ]
  # the agent's own token calls were not refused
  [ "$(cat "$FAKE/token-count")" -ge 1 ]

  # the agent's files stay its own; the log says what happened
  [ "$(stat -c %a "$VM/state")" = 700 ]
  [ "$(stat -c %a "$VM/attempt-1.log")" = 600 ]
  log_of 1 | grep -q 'gce-matrix-agent: checked: gce-matrix-run cannot reach the metadata server'
  log_of 1 | grep -q 'gce-matrix-agent: the command runs as gce-matrix-run (uid 990), out of reach of the VM'"'"'s credentials'
}

@test "an image that has the user already: no useradd, its uid is used" {
  printf 'gce-matrix-run:x:4242:4343::/nonexistent:/usr/sbin/nologin\n' >"$FAKE/passwd"
  attr command "$ATTACK"
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  refute grep -q '^useradd' "$FAKE/host.log"
  grep -q '^setpriv --reuid=4242 --regid=4343 ' "$FAKE/host.log"
  grep -qF $'\t\tmeta skuid 4242 ip daddr 169.254.169.254 tcp dport != 53 reject with tcp reset' "$FAKE/nft.rules"
  [ "$(cat "$(obj outputs/uid)")" = 4242 ]
  [ "$(cat "$(obj outputs/attack)")" = refused ]
}

@test "command-identity vm: the same user, no firewall rule, and the command reaches the VM's token" {
  attr command-identity vm
  attr command "$ATTACK"
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  grep -qF "setpriv --reuid=990 --regid=990 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- sh -c \$'id -u" "$FAKE/host.log"
  refute grep -q '^nft' "$FAKE/host.log"
  [ "$(cat "$(obj outputs/attack)")" = reached ]
  [ "$(js "$(obj outputs/token.json)" 's.access_token.startsWith("ya29.")')" = true ]
  log_of 1 | grep -q "with the VM's identity (gce-matrix-command-identity=vm)"
}

@test "an unknown command-identity fails the attempt before the command" {
  attr command-identity root
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state + " " + s.reason')" = "error instance attribute gce-matrix-command-identity is 'root'; expected isolated or vm" ]
  refute [ -e "$VM/output/ran" ]
}

@test "on a VM, an agent that is not root cannot isolate: status error, the command never runs" {
  export STUB_AGENT_UID=1000
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state + " " + s.reason')" = "error cannot isolate the command from the VM's credentials: the agent runs as uid 1000, not as root" ]
  refute [ -e "$VM/output/ran" ]
  refute grep -q '^setpriv' "$FAKE/host.log"
}

@test "a local run: the command runs as the agent's user, said once, nothing changed on the machine" {
  export STUB_AGENT_UID=1000
  attr local-run true
  attr command "$ATTACK"
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  [ "$(cat "$(obj outputs/uid)")" = 1000 ]
  [ ! -s "$FAKE/host.log" ]
  [ "$(log_of 1 | grep -c 'isolation is unavailable in a local run')" = 1 ]
}

@test "a firewall that cannot be installed fails the attempt before the command, with nft's words" {
  : >"$FAKE/nft-fail"
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state + " " + s.reason')" = "error could not install the firewall rule that keeps the command from the metadata server: nft: Error: Could not process rule: Operation not supported" ]
  refute [ -e "$VM/output/ran" ]
  refute grep -q 'sh -c touch' "$FAKE/host.log"
}

@test "a rule that does not hold is caught by the check: status error, the command never runs" {
  : >"$FAKE/nft-void"
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state + " " + s.reason')" = "error the metadata server is still reachable by gce-matrix-run after the firewall rule was installed; not running the command with the VM's credentials in reach" ]
  refute [ -e "$VM/output/ran" ]
}

@test "a user that cannot be created fails the attempt with useradd's words" {
  : >"$FAKE/useradd-fail"
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state + " " + s.reason')" = "error could not create the user gce-matrix-run to run the command as: useradd: cannot lock /etc/passwd; try again later." ]
  refute [ -e "$VM/output/ran" ]
}

@test "GCE_METADATA_IP and a GCE_METADATA_HOST with scheme and port are closed at their ports; a name that does not resolve is an error" {
  export GCE_METADATA_HOST=http://127.0.0.1:8099/
  export GCE_METADATA_IP='[::1]:9000'
  attr command "$ATTACK"
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  grep -qxF $'\t\tmeta skuid 990 ip daddr 127.0.0.1 tcp dport 8099 reject with tcp reset' "$FAKE/nft.rules"
  grep -qxF $'\t\tmeta skuid 990 ip6 daddr ::1 tcp dport 9000 reject with tcp reset' "$FAKE/nft.rules"
  # the check went where the agent reaches the server
  grep -qF 'curl -sS -o /dev/null --noproxy \* --connect-timeout 5 --max-time 10 -H Metadata-Flavor:\ Google http://127.0.0.1:8099/computeMetadata/v1/instance/id' "$FAKE/host.log"

  rm -rf "$FAKE" "$TMPDIR"
  setup_fake
  export GCE_METADATA_HOST=nowhere.test:80
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.reason')" = "cannot keep the command from the metadata server at nowhere.test:80: nowhere.test does not resolve" ]
}

@test "without nft, iptables and ip6tables: an owner rule for the user inserted first in OUTPUT" {
  # a PATH with every stub but nft and the system's tools, none of which may be a real firewall tool
  bin=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bin"
  for f in "$BATS_TEST_DIRNAME"/stubs/*; do
    [ "$(basename "$f")" = nft ] || ln -s "$f" "$bin/"
  done
  export PATH="$bin:/usr/bin:/bin"
  if command -v nft >/dev/null; then skip "nft is in /usr/bin here"; fi
  attr command "$ATTACK"
  run_agent
  dump
  cat "$FAKE/host.log"
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  grep -qx 'iptables -w -I OUTPUT 1 -p tcp -d 169.254.169.254 ! --dport 53 -m owner --uid-owner 990 -j REJECT --reject-with tcp-reset' "$FAKE/host.log"
  grep -qx 'ip6tables -w -I OUTPUT 1 -p tcp -d fd20:ce::254 ! --dport 53 -m owner --uid-owner 990 -j REJECT --reject-with tcp-reset' "$FAKE/host.log"
  grep -qx 'iptables -w -I OUTPUT 1 -p tcp -d 198.51.100.7 --dport 80 -m owner --uid-owner 990 -j REJECT --reject-with tcp-reset' "$FAKE/host.log"
  [ "$(host_line 'iptables -w -I OUTPUT 1 -p tcp -d 198.51.100.7')" -gt 0 ]
  [ "$(host_line 'iptables -w -I OUTPUT 1 -p tcp -d 198.51.100.7')" -lt "$(host_line "sh -c \$'id -u")" ]
  [ "$(cat "$(obj outputs/attack)")" = refused ]
}

@test "container image: a rule on forwarded traffic keeps containers from the metadata server; docker runs as the agent" {
  attr container-image us-docker.pkg.dev/p/r/tool:1
  attr command "cp '$FAKE/nft.rules' \"\$GCE_MATRIX_OUTPUT_DIR/rules-at-start\""
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  rules=$(obj outputs/rules-at-start)
  grep -qxF $'\tchain forward {' "$rules"
  grep -qxF $'\t\ttype filter hook forward priority 0; policy accept;' "$rules"
  grep -qxF $'\t\tip daddr 169.254.169.254 tcp dport != 53 reject with tcp reset' "$rules"
  grep -qxF $'\t\tip6 daddr fd20:ce::254 tcp dport != 53 reject with tcp reset' "$rules"
  refute grep -q 'chain output' "$rules"
  refute grep -q '^setpriv\|^useradd' "$FAKE/host.log"
}

@test "the periodic checkpoint sync reads the files as the command's user; the shutdown run sweeps the user's processes" {
  attr checkpoint-interval-seconds 1
  attr command 'echo step-1 > "$GCE_MATRIX_CHECKPOINT_DIR/progress"; echo started; sleep 30'
  timeout 60 sh "$AGENT" >"$BATS_TEST_TMPDIR/startup.out" 2>&1 3>&- &
  pid=$!
  for _ in $(seq 100); do
    [ -f "$(obj checkpoint/progress)" ] && break
    sleep 0.2
  done
  run timeout 30 sh "$AGENT" shutdown
  dump
  wait "$pid" || true
  cat "$FAKE/host.log"
  [ "$(cat "$(obj checkpoint/progress)")" = step-1 ]
  grep -qF "setpriv --reuid=990 --regid=990 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- cat -- $VM/checkpoint/progress" "$FAKE/host.log"
  [ "$(js "$(obj status.json)" 's.state')" = error ]
  grep -qx 'sweep uid=990' "$FAKE/host.log"
}
