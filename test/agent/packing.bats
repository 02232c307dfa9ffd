#!/usr/bin/env bats
# A packed VM (gce-matrix-members): a coordinator runs one agent per member, each admitted to its share of the
# machine's CPUs and memory, pinned to it, as its own user, reporting under its own prefix.

load helpers

setup() {
  setup_fake
  # the machine looks like 2 CPUs (STUB_CPUS) to `taskset -pc`, which records the commands it pins
  export PATH="$BATS_TEST_DIRNAME/pack-stubs:$PATH"
  export STUB_CPUS=0,1
  : >"$FAKE/taskset.log"
  : >"$FAKE/order"
  # the shared attributes as launch writes them for a group: its id, member 1's prefix
  attr experiment pack-0123456789
  attr experiment-prefix "$(mprefix 1)"
  rm -f "$FAKE/md/instance/attributes/gce-matrix-attempt" "$FAKE/md/instance/attributes/gce-matrix-params"
  # each command notes when it starts and ends, and what it was given; it ends only once two commands have
  # started and all three members have queued (or after 20 s): the third queues while two run, and must wait
  attr command 'echo "start $GCE_MATRIX_EXPERIMENT_ID" >>"$ORDER"; printf "%s %s\n" "$GCE_MATRIX_CPUS" "$(id -u)" >"$GCE_MATRIX_OUTPUT_DIR/seen.txt"; echo "{\"n\":$GCE_MATRIX_PARAM_N}" >"$GCE_MATRIX_METRICS_FILE"; for _ in $(seq 200); do [ "$(grep -c "^start " "$ORDER")" -ge 2 ] && [ "$(grep -c "^queue " "$EVENTS")" -ge 3 ] && break; sleep 0.1; done; echo "end $GCE_MATRIX_EXPERIMENT_ID" >>"$ORDER"'
  export ORDER=$FAKE/order
  export EVENTS=$TMPDIR/gce-matrix/admission/events
}

teardown() {
  # no service container of a test outlives it
  for p in "$FAKE"/engine/*/pid; do
    if [ -f "$p" ]; then kill -KILL -- "-$(cat "$p")" 2>/dev/null || true; fi
  done
  return 0
}

mprefix() {
  printf 'pfx/runs/r1/experiments/e%s/' "$1"
}

# mobj I NAME : path of an object of member I
mobj() {
  printf '%s' "$FAKE/gcs/bkt/$(mprefix "$1")$2"
}

# mlog I : every log chunk of member I's attempt (I + 1), concatenated in order
mlog() {
  cat "$(mobj "$1" "attempts/$(($1 + 1))/log")"/*.txt
}

# members N [RESOURCES] : N members e1..eN (param n=I), each reserving RESOURCES (default 1 CPU, no memory)
members() {
  attr members "$1"
  attr resources "${2:-cpus=1
memory-mb=0}"
  for i in $(seq "$1"); do
    attr "member-$i" "experiment=e$i
experiment-prefix=$(mprefix "$i")
attempt=$((i + 1))
params={\"n\":$i}"
    attr "member-$i-param-env" "N=$i"
  done
}

@test "three members with 1 CPU each on 2 CPUs: the third waits for a CPU; each reports under its own prefix" {
  members 3
  run_agent
  dump
  [ "$status" -eq 0 ]
  cat "$FAKE/order"
  for i in 1 2 3; do
    s=$(mobj $i status.json)
    [ "$(js "$s" 's.state + " " + s.experiment + " " + s.attempt')" = "succeeded e$i $((i + 1))" ]
    cmp "$s" "$(mobj $i "attempts/$((i + 1))/status.json")"
    [ "$(js "$s" 's.outputs.map((o) => o.path).sort().join(",")')" = metrics.json,seen.txt ]
    [ "$(cat "$(mobj $i outputs/metrics.json)")" = "{\"n\":$i}" ]
    [ "$(js "$s" 'JSON.stringify(s.provenance.parameters)')" = "{\"n\":$i}" ]
    p=$(js "$s" 'JSON.stringify(s.provenance.placement)')
    others=$(for j in 1 2 3; do [ "$j" = "$i" ] || printf '"e%s",' "$j"; done)
    cpus=$(js "$s" 's.provenance.placement.cpus')
    [ "$p" = "{\"packed\":true,\"members\":3,\"index\":$i,\"neighbours\":[${others%,}],\"cpus\":\"$cpus\",\"memoryMb\":0,\"diskMb\":0}" ]
    [[ $cpus == 0 || $cpus == 1 ]]
    # the command saw its CPUs and ran pinned to them, as its own user, through setpriv then taskset
    read -r seen_cpus seen_uid <"$(mobj $i outputs/seen.txt)"
    [ "$seen_cpus" = "$cpus" ]
    uids="$uids $seen_uid"
    grep -q "^setpriv --reuid=$seen_uid .* -- taskset -c $cpus sh -c" "$FAKE/host.log"
    mlog $i | grep -q "admitted after [0-9]* s: CPU(s) $cpus"
  done
  [ "$(grep -c '^taskset -c [01] sh -c ' "$FAKE/taskset.log")" = 3 ]
  # three users, three uids, a firewall table each
  [ "$(printf '%s\n' $uids | sort -u | wc -l)" = 3 ]
  for i in 1 2 3; do
    grep -q "^useradd .* gce-matrix-run-$i\$" "$FAKE/host.log"
    grep -qx "table inet gce_matrix_$i {" "$FAKE/nft.rules"
  done
  # never more than two commands at once, and the third started only after one had ended
  awk '$1 == "start" { n++; if (n > 2) bad = 1 } $1 == "end" { n-- } END { exit bad }' "$FAKE/order"
  [ "$(sed -n 3p "$FAKE/order" | cut -d' ' -f1)" = end ]
  [ "$(grep -c '^start ' "$FAKE/order")" = 3 ]
  # the ledger agrees: the last admission came after a release, and everything is free again
  cat "$EVENTS"
  last_admit=$(grep -n '^admit ' "$EVENTS" | tail -n 1 | cut -d: -f1)
  first_release=$(grep -n '^release ' "$EVENTS" | head -n 1 | cut -d: -f1)
  [ "$first_release" -lt "$last_admit" ]
  [ "$(cat "$TMPDIR/gce-matrix/admission/free-cpus")" = "0 1" ]
  # the member admitted last had queued before that release, and its log says it waited
  waited=$(grep '^admit ' "$EVENTS" | tail -n 1 | cut -d' ' -f2)
  [ "$(grep -n "^queue $waited\$" "$EVENTS" | cut -d: -f1)" -lt "$first_release" ]
  mlog "$waited" | grep -q 'queued: waiting for 1 CPU(s) of this machine'
  # one deletion of the VM, by the coordinator, after every status
  [ "$(grep -c '^DELETE http://compute.test/' "$FAKE/calls.log")" = 1 ]
  for i in 1 2 3; do
    [ "$(op_line "upload bkt/$(mprefix $i)status.json")" -lt "$(op_line 'compute ')" ]
  done
  # the group's own prefix (member 1's) holds member 1's results only
  refute test -e "$FAKE/gcs/bkt/pfx/runs/r1/experiments/pack-0123456789"
}

@test "admission is first come by index: on 1 CPU, the members waiting when it frees are admitted lowest index first" {
  export STUB_CPUS=0
  members 3
  # the first admitted holds the CPU until all three have queued
  attr command 'echo "start $GCE_MATRIX_EXPERIMENT_ID" >>"$ORDER"; for _ in $(seq 200); do [ "$(grep -c "^queue " "$EVENTS")" -ge 3 ] && break; sleep 0.1; done; echo "end $GCE_MATRIX_EXPERIMENT_ID" >>"$ORDER"'
  run_agent
  dump
  cat "$EVENTS"
  for i in 1 2 3; do
    [ "$(js "$(mobj $i status.json)" 's.state + " " + s.provenance.placement.cpus')" = "succeeded 0" ]
  done
  # the other two then went in index order
  admitted=$(grep '^admit ' "$EVENTS" | cut -d' ' -f2 | paste -s -d' ' -)
  first=${admitted%% *}
  rest=$(for i in 1 2 3; do [ "$i" = "$first" ] || printf '%s ' "$i"; done)
  [ "$admitted" = "$first ${rest% }" ]
  # one at a time
  awk '$1 == "start" { n++; if (n > 1) bad = 1 } $1 == "end" { n-- } END { exit bad }' "$FAKE/order"
}

@test "one member failing does not stop the others" {
  members 3
  attr command 'if [ "$GCE_MATRIX_PARAM_N" = 2 ]; then echo broken; exit 3; fi; echo ok >"$GCE_MATRIX_OUTPUT_DIR/ok.txt"'
  run_agent
  dump
  [ "$(js "$(mobj 1 status.json)" 's.state')" = succeeded ]
  [ "$(js "$(mobj 2 status.json)" 's.state + " " + s.exitCode')" = "failed 3" ]
  [ "$(js "$(mobj 3 status.json)" 's.state')" = succeeded ]
  mlog 2 | grep -qx broken
  [ "$(grep -c '^DELETE http://compute.test/' "$FAKE/calls.log")" = 1 ]
}

@test "resources bigger than the machine: error naming gce-matrix-resources and the machine's size, at once" {
  members 2 'cpus=3
memory-mb=0'
  run_agent
  dump
  for i in 1 2; do
    s=$(mobj $i status.json)
    [ "$(js "$s" 's.state')" = error ]
    [[ "$(js "$s" 's.reason')" == "gce-matrix-resources asks for 3 CPU(s) and 0 MiB per experiment, more than this machine (n2-standard-2) has: 2 CPU(s) (0,1) and "*" MiB for experiments"* ]]
    [ "$(js "$s" '"cpus" in s.provenance.placement')" = false ]
  done
  [ ! -s "$FAKE/order" ]
  refute grep -q 'queued' "$FAKE/ops.log"
  [ "$(grep -c '^DELETE http://compute.test/' "$FAKE/calls.log")" = 1 ]
}

@test "memory beyond the machine's is refused as well" {
  members 1 'cpus=1
memory-mb=999999999'
  run_agent
  [[ "$(js "$(mobj 1 status.json)" 's.state + " " + s.reason')" == "error gce-matrix-resources asks for 1 CPU(s) and 999999999 MiB"* ]]
}

# Starts the coordinator in the background; waits until one member's command runs (RUNS, its index) and
# the other is queued (QUEUED).
start_packed() {
  timeout 60 "${AGENT_SHELL:-sh}" "$AGENT" >"$BATS_TEST_TMPDIR/startup.out" 2>&1 3>&- &
  STARTUP_PID=$!
  m=$TMPDIR/gce-matrix/m
  for _ in $(seq 150); do
    for RUNS in 1 2; do
      QUEUED=$((3 - RUNS))
      if [ -s "$m/$RUNS/state/command.pid" ] && grep -q started "$m/$RUNS/attempt-$((RUNS + 1)).log" 2>/dev/null &&
        [ "$(cat "$m/$QUEUED/state/phase" 2>/dev/null)" = queued ]; then
        return 0
      fi
    done
    sleep 0.2
  done
  cat "$BATS_TEST_TMPDIR/startup.out"
  return 1
}

@test "stopped while one member runs and one is queued: error for both, the queued one's command never ran" {
  export STUB_CPUS=0
  members 2
  attr command 'echo "start $GCE_MATRIX_EXPERIMENT_ID" >>"$ORDER"; echo started; sleep 30'
  start_packed
  run timeout 30 "${AGENT_SHELL:-sh}" "$AGENT" shutdown
  dump
  wait "$STARTUP_PID" || true
  cat "$BATS_TEST_TMPDIR/startup.out"
  [ "$(js "$(mobj $RUNS status.json)" 's.state + ": " + s.reason')" = "error: the VM was stopped before the command finished" ]
  [ "$(js "$(mobj $QUEUED status.json)" 's.state + ": " + s.reason')" = "error: the VM was stopped before the command started" ]
  [ "$(js "$(mobj $QUEUED status.json)" 's.provenance.placement.index')" = $QUEUED ]
  [ "$(js "$(mobj $RUNS status.json)" 's.provenance.placement.cpus')" = 0 ]
  [ "$(cat "$FAKE/order")" = "start e$RUNS" ]
  for i in 1 2; do
    [ "$(grep -c "upload bkt/$(mprefix $i)status.json" "$FAKE/ops.log")" = 1 ]
  done
  [ "$(cat "$TMPDIR/gce-matrix/admission/free-cpus")" = 0 ]
  [ ! -s "$TMPDIR/gce-matrix/admission/waiting" ]
  # the VM is going down: nobody deletes it
  refute grep -q '^compute ' "$FAKE/ops.log"
  grep -q 'took over this attempt while it was queued' "$BATS_TEST_TMPDIR/startup.out"
}

@test "preempted while one member runs and one is queued: both preempted" {
  export STUB_CPUS=0
  members 2
  attr command 'echo started; sleep 30'
  start_packed
  md instance/preempted TRUE
  { echo GCE_MATRIX_MODE=shutdown; cat "$AGENT"; } >"$BATS_TEST_TMPDIR/shutdown.sh"
  run timeout 30 "${AGENT_SHELL:-sh}" "$BATS_TEST_TMPDIR/shutdown.sh"
  dump
  wait "$STARTUP_PID" || true
  for i in 1 2; do
    [ "$(js "$(mobj $i status.json)" 's.state')" = preempted ]
    [ -f "$(mobj $i "attempts/$((i + 1))/preempted.json")" ]
  done
  mlog $RUNS | grep -qx started
  refute grep -q '^compute ' "$FAKE/ops.log"
}

@test "a single experiment (no gce-matrix-members) is not packed: no placement, no taskset, no GCE_MATRIX_CPUS" {
  attr experiment e1
  attr experiment-prefix "$EXP/"
  attr command 'echo "cpus=${GCE_MATRIX_CPUS-unset}"; id -u'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = succeeded ]
  [ "$(js "$s" '"placement" in s.provenance')" = false ]
  log_of 1 | grep -qx 'cpus=unset'
  log_of 1 | grep -qx 990
  [ ! -s "$FAKE/taskset.log" ]
  refute test -e "$TMPDIR/gce-matrix/admission"
  grep -qx 'table inet gce_matrix {' "$FAKE/nft.rules"
}

@test "a member's services get its CPUs and memory; its host command's memory is limited or said to be unenforced" {
  export PATH="$BATS_TEST_DIRNAME/engine:$PATH"
  export FAKE_IMAGES=$BATS_TEST_TMPDIR/images
  mkdir -p "$FAKE_IMAGES/idle"
  printf 'digest=sha256:%064d\n' 5 >"$FAKE_IMAGES/idle/manifest"
  printf '#!/bin/sh\nexec sleep 60\n' >"$FAKE_IMAGES/idle/run"
  chmod +x "$FAKE_IMAGES/idle/run"
  attr services 'service idle
image idle'
  members 1 'cpus=2
memory-mb=64'
  attr command 'echo "cpus=$GCE_MATRIX_CPUS"'
  run_agent
  dump
  cat "$FAKE/engine.log"
  [ "$(js "$(mobj 1 status.json)" 's.state + " " + s.provenance.placement.cpus + " " + s.provenance.placement.memoryMb')" = "succeeded 0,1 64" ]
  grep -q '^docker run -d --name .* --cpuset-cpus 0\\\?,1 --memory 64m idle$' "$FAKE/engine.log"
  grep -qx 'cpuset=taskset 0,1' "$FAKE"/engine/*/limits
  mlog 1 | grep -qx 'cpus=0,1'
  grep -q '^taskset -c 0\\\?,1 sh -c ' "$FAKE/taskset.log"
  mlog 1 | grep -Eq 'memory: (the command is limited to 64 MiB \(cgroup /sys/fs/cgroup/gce-matrix-1\)|64 MiB are reserved for this experiment but not enforced)'
  refute test -d /sys/fs/cgroup/gce-matrix-1
}

# idle_service : an image `idle` that serves nothing for a minute, as service `idle` with container port 80
idle_service() {
  export PATH="$BATS_TEST_DIRNAME/engine:$PATH"
  export FAKE_IMAGES=$BATS_TEST_TMPDIR/images
  mkdir -p "$FAKE_IMAGES/idle"
  printf 'digest=sha256:%064d\n' 5 >"$FAKE_IMAGES/idle/manifest"
  printf '#!/bin/sh\nexec sleep 60\n' >"$FAKE_IMAGES/idle/run"
  chmod +x "$FAKE_IMAGES/idle/run"
  attr services 'service idle
image idle
port 80'
  attr command 'echo "port=$GCE_MATRIX_SERVICE_IDLE_PORT"'
}

# mport I : the host port member I's service was given, from its command's output
mport() {
  mlog "$1" | sed -n 's/^port=//p'
}

@test "each member's service ports refuse every uid but its command's and root's, from before the service starts until it stopped" {
  idle_service
  members 2
  run_agent
  dump
  cat "$FAKE/nft.rules"
  p1=$(mport 1)
  p2=$(mport 2)
  [ -n "$p1" ] && [ -n "$p2" ] && [ "$p1" != "$p2" ]
  for i in 1 2; do
    [ "$(js "$(mobj $i status.json)" 's.state')" = succeeded ]
    uid=$(awk -F: -v u="gce-matrix-run-$i" '$1 == u { print $3 }' "$FAKE/passwd")
    eval "port=\$p$i"
    # the member's own table: its command's uid and root accepted on its port, anyone else refused on loopback
    awk -v t="table inet gce_matrix_${i}_services {" '$0 == t { on = 1 } on { print } on && $0 == "}" { exit }' \
      "$FAKE/nft.rules" >"$BATS_TEST_TMPDIR/table-$i"
    cat "$BATS_TEST_TMPDIR/table-$i"
    grep -q 'type filter hook output priority -150; policy accept;' "$BATS_TEST_TMPDIR/table-$i"
    [ "$(grep -c 'accept$' "$BATS_TEST_TMPDIR/table-$i")" = 2 ]
    grep -qx "[[:space:]]*meta skuid $uid tcp dport $port accept" "$BATS_TEST_TMPDIR/table-$i"
    grep -qx "[[:space:]]*meta skuid 0 tcp dport $port accept" "$BATS_TEST_TMPDIR/table-$i"
    grep -qx "[[:space:]]*ip daddr 127.0.0.1 tcp dport $port reject with tcp reset" "$BATS_TEST_TMPDIR/table-$i"
    grep -qx "[[:space:]]*ip6 daddr ::1 tcp dport $port reject with tcp reset" "$BATS_TEST_TMPDIR/table-$i"
    # never the neighbour's port
    eval "other=\$p$((3 - i))"
    refute grep -q "dport $other " "$BATS_TEST_TMPDIR/table-$i"
    # in place before the container started, gone after it stopped and before its port was given back
    mlog $i >"$BATS_TEST_TMPDIR/log-$i"
    guarded=$(grep -n "firewall: port(s) $port of service idle refuse every uid but 0 and $uid" "$BATS_TEST_TMPDIR/log-$i" | cut -d: -f1)
    started=$(grep -n 'service idle: starting idle' "$BATS_TEST_TMPDIR/log-$i" | cut -d: -f1)
    stopped=$(grep -n 'service idle stopped' "$BATS_TEST_TMPDIR/log-$i" | cut -d: -f1)
    opened=$(grep -n "firewall: the services' ports are open again" "$BATS_TEST_TMPDIR/log-$i" | cut -d: -f1)
    [ "$guarded" -lt "$started" ] && [ "$stopped" -lt "$opened" ]
    grep -qx "delete table inet gce_matrix_${i}_services" "$FAKE/nft.rules"
    refute grep -qx "$port" "$TMPDIR/gce-matrix-ports"
  done
}

@test "without nft: the member's service port gets an OUTPUT owner rule for every uid but its command's and root's, deleted at the end" {
  idle_service
  members 1
  bin=$BATS_TEST_TMPDIR/bin
  mkdir -p "$bin"
  for f in "$BATS_TEST_DIRNAME"/stubs/*; do
    [ "$(basename "$f")" = nft ] || ln -s "$f" "$bin/"
  done
  export PATH="$BATS_TEST_DIRNAME/engine:$BATS_TEST_DIRNAME/pack-stubs:$bin:/usr/bin:/bin"
  if command -v nft >/dev/null; then skip "nft is in /usr/bin here"; fi
  run_agent
  dump
  cat "$FAKE/host.log"
  [ "$(js "$(mobj 1 status.json)" 's.state')" = succeeded ]
  port=$(mport 1)
  uid=$(awk -F: '$1 == "gce-matrix-run-1" { print $3 }' "$FAKE/passwd")
  rule="-p tcp -d 127.0.0.1 --dport $port -m owner ! --uid-owner 0 -m owner ! --uid-owner $uid -j REJECT --reject-with tcp-reset"
  grep -qxF -- "iptables -w -I OUTPUT 1 $rule" "$FAKE/host.log"
  grep -qxF -- "iptables -w -D OUTPUT $rule" "$FAKE/host.log"
  grep -qxF -- "ip6tables -w -I OUTPUT 1 ${rule/127.0.0.1/::1}" "$FAKE/host.log"
  [ "$(grep -nxF -- "iptables -w -I OUTPUT 1 $rule" "$FAKE/host.log" | cut -d: -f1)" -lt \
    "$(grep -nxF -- "iptables -w -D OUTPUT $rule" "$FAKE/host.log" | cut -d: -f1)" ]
  # the metadata rule still names the command's user alone
  grep -q "^iptables -w -I OUTPUT 1 -p tcp -d 169.254.169.254 ! --dport 53 -m owner --uid-owner $uid " "$FAKE/host.log"
}

# gpu_machine : nvidia-smi on PATH lists 2 GPUs
gpu_machine() {
  mkdir -p "$BATS_TEST_TMPDIR/gpu-bin"
  printf '#!/bin/sh\n[ "$1" = -L ] || exit 2\necho "GPU 0: Tesla T4 (UUID: GPU-a)"\necho "GPU 1: Tesla T4 (UUID: GPU-b)"\n' \
    >"$BATS_TEST_TMPDIR/gpu-bin/nvidia-smi"
  chmod +x "$BATS_TEST_TMPDIR/gpu-bin/nvidia-smi"
  export PATH="$BATS_TEST_TMPDIR/gpu-bin:$PATH"
}

@test "three members of 1 GPU on 2 GPUs: two run side by side on GPUs 0 and 1 and see only theirs; the third waits" {
  gpu_machine
  export STUB_CPUS=0,1,2,3
  members 3 'cpus=1
memory-mb=0
gpus=1'
  attr command 'echo "start $GCE_MATRIX_EXPERIMENT_ID" >>"$ORDER"; printf "%s %s\n" "$CUDA_VISIBLE_DEVICES" "$GCE_MATRIX_GPUS" >"$GCE_MATRIX_OUTPUT_DIR/seen.txt"; for _ in $(seq 200); do [ "$(grep -c "^start " "$ORDER")" -ge 2 ] && [ "$(grep -c "^queue " "$EVENTS")" -ge 3 ] && break; sleep 0.1; done; echo "end $GCE_MATRIX_EXPERIMENT_ID" >>"$ORDER"'
  run_agent
  dump
  cat "$FAKE/order" "$EVENTS"
  [ "$status" -eq 0 ]
  for i in 1 2 3; do
    s=$(mobj $i status.json)
    [ "$(js "$s" 's.state')" = succeeded ]
    gpu=$(js "$s" 's.provenance.placement.gpus')
    [[ $gpu == 0 || $gpu == 1 ]]
    [ "$(js "$s" 's.provenance.placement.diskMb')" = 0 ]
    [ "$(cat "$(mobj $i outputs/seen.txt)")" = "$gpu $gpu" ]
  done
  # the first two admitted hold GPUs 0 and 1 at once; the third starts only after one of them ended
  [ "$(grep '^admit ' "$EVENTS" | sed -n '1,2p' | awk '{ print $8 }' | sort | paste -s -d' ' -)" = "0 1" ]
  awk '$1 == "start" { n++; if (n > 2) bad = 1 } $1 == "end" { n-- } END { exit bad }' "$FAKE/order"
  [ "$(sed -n 3p "$FAKE/order" | cut -d' ' -f1)" = end ]
}

@test "more GPUs than the machine has: error naming gce-matrix-resources and its GPUs, at once" {
  gpu_machine
  members 1 'cpus=1
memory-mb=0
gpus=3'
  run_agent
  dump
  s=$(mobj 1 status.json)
  [ "$(js "$s" 's.state + " " + s.reason')" = "error gce-matrix-resources asks for 3 GPU(s) per experiment, more than this machine has: 2 GPU(s); ask for fewer in resources.gpus, or attach more with accelerators" ]
  [ ! -s "$FAKE/order" ]
}

@test "without nvidia-smi, the machine's GPUs are the accelerators launch attached (gce-matrix-gpus)" {
  attr gpus 1
  members 1 'cpus=1
memory-mb=0
gpus=2'
  run_agent
  [[ "$(js "$(mobj 1 status.json)" 's.state + " " + s.reason')" == "error gce-matrix-resources asks for 2 GPU(s) per experiment, more than this machine has: 1 GPU(s);"* ]]
}

@test "more disk than is free where the agent works: error naming gce-matrix-resources and the free MiB" {
  members 2 'cpus=1
memory-mb=0
disk-mb=999999999999'
  run_agent
  dump
  for i in 1 2; do
    [[ "$(js "$(mobj $i status.json)" 's.state + " " + s.reason')" == "error gce-matrix-resources asks for 999999999999 MiB of disk per experiment, more than this machine has: "*" MiB free where the agent works; ask for less in resources.disk-gb, or raise boot-disk-size-gb" ]]
  done
  [ ! -s "$FAKE/order" ]
}

@test "a member's services get the GPU it reserved, by id, never --gpus all" {
  gpu_machine
  attr gpus 2
  export PATH="$BATS_TEST_DIRNAME/engine:$PATH"
  export FAKE_IMAGES=$BATS_TEST_TMPDIR/images
  mkdir -p "$FAKE_IMAGES/idle"
  printf 'digest=sha256:%064d\n' 5 >"$FAKE_IMAGES/idle/manifest"
  printf '#!/bin/sh\nexec sleep 60\n' >"$FAKE_IMAGES/idle/run"
  chmod +x "$FAKE_IMAGES/idle/run"
  attr services 'service idle
image idle'
  members 1 'cpus=1
memory-mb=0
gpus=1'
  attr command 'echo "gpus=$GCE_MATRIX_GPUS cuda=$CUDA_VISIBLE_DEVICES"'
  run_agent
  dump
  cat "$FAKE/engine.log"
  [ "$(js "$(mobj 1 status.json)" 's.state + " " + s.provenance.placement.gpus')" = "succeeded 0" ]
  grep -q '^docker run -d --name .* --gpus device=0 --cpuset-cpus 0 idle$' "$FAKE/engine.log"
  grep -qx 'gpus=device=0' "$FAKE"/engine/*/limits
  refute grep -q -- '--gpus all' "$FAKE/engine.log"
  mlog 1 | grep -qx 'gpus=0 cuda=0'
}

@test "a member's container command gets --gpus device=IDS, the GPU it reserved" {
  gpu_machine
  attr gpus 2
  attr container-image us-docker.pkg.dev/proj/repo/bench:1.0
  members 2 'cpus=1
memory-mb=0
gpus=1'
  attr command 'true'
  run_agent
  dump
  cat "$FAKE/docker.log"
  for i in 1 2; do
    [ "$(js "$(mobj $i status.json)" 's.state')" = succeeded ]
  done
  for i in 1 2; do
    g=$(js "$(mobj $i status.json)" 's.provenance.placement.gpus')
    [[ $g == 0 || $g == 1 ]]
    grep '^docker run ' "$FAKE/docker.log" | grep -q -- "/m/$i/work --gpus device=$g --cpuset-cpus "
  done
  refute grep -q -- '--gpus all' "$FAKE/docker.log"
}

@test "on a machine with GPUs, a member that reserved none has an empty CUDA_VISIBLE_DEVICES" {
  gpu_machine
  members 1
  attr command 'echo "cuda=[${CUDA_VISIBLE_DEVICES-unset}] gpus=[${GCE_MATRIX_GPUS-unset}]"'
  run_agent
  dump
  [ "$(js "$(mobj 1 status.json)" 's.state + " " + ("gpus" in s.provenance.placement)')" = "succeeded false" ]
  mlog 1 | grep -qx 'cuda=\[\] gpus=\[\]'
}
