#!/usr/bin/env bats
# The VM agent as shutdown script: preemption and a VM stopped under the command.

load helpers

setup() {
  setup_fake
}

# Starts the startup agent in the background and waits until its command runs.
start_background_agent() {
  timeout 60 "${AGENT_SHELL:-sh}" "$AGENT" >"$BATS_TEST_TMPDIR/startup.out" 2>&1 3>&- &
  STARTUP_PID=$!
  for _ in $(seq 100); do
    [ -s "$VM/state/command.pid" ] && grep -q started "$VM/attempt-1.log" 2>/dev/null && return 0
    sleep 0.2
  done
  cat "$BATS_TEST_TMPDIR/startup.out"
  return 1
}

@test "preempted: the shutdown script stops the command, syncs the checkpoint, ships the log, writes preempted" {
  attr command 'echo step=3 > "$GCE_MATRIX_CHECKPOINT_DIR/state.txt"; echo started; sleep 30; echo never'
  start_background_agent
  md instance/preempted TRUE
  # as launch gives it: a first line GCE_MATRIX_MODE=shutdown
  { echo GCE_MATRIX_MODE=shutdown; cat "$AGENT"; } >"$BATS_TEST_TMPDIR/shutdown.sh"
  run timeout 30 "${AGENT_SHELL:-sh}" "$BATS_TEST_TMPDIR/shutdown.sh"
  dump
  wait "$STARTUP_PID" || true
  cat "$BATS_TEST_TMPDIR/startup.out"
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = preempted ]
  [ "$(js "$s" 's.exitCode')" = null ]
  [ "$(js "$s" 's.outputs.length')" = 0 ]
  [ "$(js "$s" 's.startedAt < s.endedAt || s.startedAt === s.endedAt')" = true ]
  cmp "$s" "$(obj attempts/1/status.json)"
  [ "$(cat "$(obj checkpoint/state.txt)")" = step=3 ]
  log_of 1 | grep -qx started
  # one writer only, and it was not the startup agent; the preempted VM does not delete itself
  [ "$(grep -c "upload bkt/$EXP/status.json" "$FAKE/ops.log")" = 1 ]
  grep -q 'the shutdown script writes the status' "$BATS_TEST_TMPDIR/startup.out"
  refute grep -q '^compute ' "$FAKE/ops.log"
  # the preemption record first, before the checkpoint; status.json after everything but its attempt copy
  p=$(obj attempts/1/preempted.json)
  [ "$(js "$p" 's.attempt === 1 && /Z$/.test(s.at)')" = true ]
  [ "$(op_line "upload bkt/$EXP/attempts/1/preempted.json")" -lt "$(op_last_line "upload bkt/$EXP/checkpoint/state.txt")" ]
  [ "$(op_last_line "upload bkt/$EXP/")" = "$(op_line "upload bkt/$EXP/attempts/1/status.json")" ]
  [ "$(op_line "upload bkt/$EXP/status.json")" -lt "$(op_line "upload bkt/$EXP/attempts/1/status.json")" ]
}

@test "stopped, not preempted: the shutdown script writes error; the startup agent does not write over it" {
  attr command 'echo started; sleep 30'
  start_background_agent
  run timeout 30 "${AGENT_SHELL:-sh}" "$AGENT" shutdown
  dump
  wait "$STARTUP_PID" || true
  cat "$BATS_TEST_TMPDIR/startup.out"
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [ "$(js "$s" 's.reason')" = "the VM was stopped before the command finished" ]
  [ "$(grep -c "upload bkt/$EXP/status.json" "$FAKE/ops.log")" = 1 ]
  log_of 1 | grep -qx started
  # a second shutdown run sees the status and does nothing
  run timeout 30 "${AGENT_SHELL:-sh}" "$AGENT" shutdown
  [[ $output == *"the status is already written"* ]]
  [ "$(grep -c "upload bkt/$EXP/status.json" "$FAKE/ops.log")" = 1 ]
}
