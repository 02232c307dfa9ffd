#!/usr/bin/env bats
# The VM agent's startup path: command, log chunks, outputs, status last, self-delete.

load helpers

setup() {
  setup_fake
}

@test "success: outputs, metrics and log chunks are uploaded, then the status last; the VM deletes itself" {
  attr param-env $'TOOL=a\nREPS=3 x'
  # shellcheck disable=SC2016
  attr command '
    echo "line one"
    echo "{\"score\":0.5,\"n\":3}" > "$GCE_MATRIX_METRICS_FILE"
    env | grep "^GCE_MATRIX_\|^GCE_METADATA_HOST=" | sort > "$GCE_MATRIX_OUTPUT_DIR/env.txt"
    pwd > "$GCE_MATRIX_OUTPUT_DIR/cwd.txt"
    mkdir -p "$GCE_MATRIX_OUTPUT_DIR/sub dir"
    printf "unicode" > "$GCE_MATRIX_OUTPUT_DIR/sub dir/é 🚀&+.txt"
    ln -s /etc/passwd "$GCE_MATRIX_OUTPUT_DIR/link"
    sleep 1
    echo "line two"'
  run_agent
  dump
  [ "$status" -eq 0 ]

  # the status: valid JSON, the ExperimentStatus of src/layout.ts
  s=$(obj status.json)
  [ "$(js "$s" '[s.schema, s.state, s.exitCode, s.runId, s.experiment, s.attempt, "reason" in s,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(s.startedAt) && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(s.endedAt),
    s.outputs.map(o => o.path + ":" + o.size).sort().join("|")].join(" ")')" = \
    "1 succeeded 0 r1 e1 1 false true cwd.txt:$(wc -c <"$(obj outputs/cwd.txt)")|env.txt:$(wc -c <"$(obj outputs/env.txt)")|metrics.json:$(wc -c <"$(obj outputs/metrics.json)")|sub dir/é 🚀&+.txt:7" ]
  [ "$(js "$s" 'JSON.stringify(s.provenance)')" = '{"instance":"vm-e1","zone":"us-central1-a","machineType":"n2-standard-2","cpuPlatform":"Intel Cascade Lake","image":"projects/debian-cloud/global/images/debian-12-bookworm-v20240101","spot":true,"repoSha":"0123456789abcdef0123456789abcdef01234567","parameters":{"tool":"a","n":3}}' ]
  cmp "$s" "$(obj attempts/1/status.json)"

  # outputs (symlink skipped, unicode name uploaded URL-encoded)
  [ "$(js "$(obj outputs/metrics.json)" 's.score')" = 0.5 ]
  [ "$(cat "$(obj "outputs/sub dir/é 🚀&+.txt")")" = unicode ]
  [ ! -e "$(obj outputs/link)" ]
  grep -qF 'name=pfx%2Fruns%2Fr1%2Fexperiments%2Fe1%2Foutputs%2Fsub%20dir%2F%C3%A9%20%F0%9F%9A%80%26%2B.txt' "$FAKE/calls.log"

  # the command's environment and working directory
  env=$(obj outputs/env.txt)
  grep -qx 'GCE_MATRIX_RUN_ID=r1' "$env"
  grep -qx 'GCE_MATRIX_EXPERIMENT_ID=e1' "$env"
  grep -qx 'GCE_MATRIX_ATTEMPT=1' "$env"
  grep -qx 'GCE_MATRIX_PARAMS={"tool":"a","n":3}' "$env"
  grep -qx 'GCE_MATRIX_PARAM_TOOL=a' "$env"
  [ -z "$(grep '^GCE_METADATA_HOST=' "$env")" ]
  grep -qx 'GCE_MATRIX_PARAM_REPS=3 x' "$env"
  grep -qx "GCE_MATRIX_OUTPUT_DIR=$VM/output" "$env"
  grep -qx "GCE_MATRIX_CHECKPOINT_DIR=$VM/checkpoint" "$env"
  grep -qx "GCE_MATRIX_INPUT_DIR=$VM/input" "$env"
  grep -qx "GCE_MATRIX_METRICS_FILE=$VM/output/metrics.json" "$env"
  [ "$(cat "$(obj outputs/cwd.txt)")" = "$VM/work" ]

  # log: several chunks, numbered in order, each uploaded once, together a prefix of the VM's log
  chunks=$(grep -c "upload bkt/$EXP/attempts/1/log/" "$FAKE/ops.log")
  [ "$chunks" -ge 2 ]
  [ "$(grep "upload bkt/$EXP/attempts/1/log/" "$FAKE/ops.log" | sed 's/.*log\///')" = "$(seq -f '%06g.txt' 1 "$chunks")" ]
  log_of 1 >"$BATS_TEST_TMPDIR/shipped"
  size=$(wc -c <"$BATS_TEST_TMPDIR/shipped")
  head -c "$size" "$VM/attempt-1.log" | cmp - "$BATS_TEST_TMPDIR/shipped"
  grep -q '^line one$' "$BATS_TEST_TMPDIR/shipped"
  grep -q '^line two$' "$BATS_TEST_TMPDIR/shipped"
  grep -q 'gce-matrix-agent: skipping symlink link' "$BATS_TEST_TMPDIR/shipped"

  # heartbeat, the attempt's own
  [ "$(js "$(obj attempts/1/heartbeat.json)" 's.attempt === 1 && ["staging","running","uploading"].includes(s.phase) && /Z$/.test(s.at)')" = true ]
  refute [ -e "$(obj heartbeat.json)" ]

  # ordering: every output, checkpoint, log chunk and heartbeat before status.json, then attempts/1/status.json
  st=$(op_line "upload bkt/$EXP/status.json")
  ast=$(op_line "upload bkt/$EXP/attempts/1/status.json")
  [ "$st" -gt 0 ] && [ "$ast" -gt 0 ] && [ "$st" -lt "$ast" ]
  [ "$(op_last_line "upload bkt/$EXP/outputs/")" -lt "$st" ]
  [ "$(op_last_line "upload bkt/$EXP/attempts/1/log/")" -lt "$st" ]
  [ "$(op_last_line "upload bkt/$EXP/attempts/1/heartbeat.json")" -lt "$st" ]
  [ "$(grep -c "upload bkt/$EXP/status.json" "$FAKE/ops.log")" = 1 ]
  [ "$(sed -n '$p' "$FAKE/ops.log")" = "compute DELETE projects/bed-project/zones/us-central1-a/instances/vm-e1" ]
  grep -qx 'DELETE http://compute.test/compute/v1/projects/bed-project/zones/us-central1-a/instances/vm-e1' "$FAKE/calls.log"
  [ "$(grep -c '^\(GET\|POST\|DELETE\) http://gcs.test/' "$FAKE/calls.log")" -gt 5 ]
}

@test "exit code 3: state failed with exitCode 3, outputs still uploaded; self-delete false keeps the VM" {
  attr self-delete false
  attr command 'echo partial > "$GCE_MATRIX_OUTPUT_DIR/partial.txt"; echo failing >&2; exit 3'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = failed ]
  [ "$(js "$s" 's.exitCode')" = 3 ]
  [ "$(js "$s" 's.reason')" = "the command exited with code 3" ]
  [ "$(js "$s" 's.outputs.map(o => o.path).join()')" = partial.txt ]
  log_of 1 | grep -qx failing
  refute grep -q '^compute ' "$FAKE/ops.log"
  [[ $output == *"self-delete is false"* ]]
}

@test "timeout: the command is killed, exit code 124; connection errors and 429 are retried; endpoints from attributes and a scheme-less STORAGE_EMULATOR_HOST" {
  export STORAGE_EMULATOR_HOST=gcs.test:8080
  attr endpoint-compute http://private-compute.test/compute/v1
  attr timeout-seconds 1
  attr command 'echo started; sleep 30; echo never'
  printf '%s\n' "000 1 /o?uploadType=media&name=pfx%2Fruns%2Fr1%2Fexperiments%2Fe1%2Fattempts%2F1%2Fstatus.json" \
    "429 1 /instances/vm-e1" >"$FAKE/faults"
  SECONDS=0
  run_agent
  dump
  [ "$SECONDS" -lt 20 ]
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = failed ]
  [ "$(js "$s" 's.exitCode')" = 124 ]
  [[ "$(js "$s" 's.reason')" == timeout* ]]
  log_of 1 | grep -qx started
  log_of 1 >"$BATS_TEST_TMPDIR/shipped"
  refute grep -qx never "$BATS_TEST_TMPDIR/shipped"
  # the faults were hit and retried
  grep -q '^fault 000 ' "$FAKE/ops.log"
  grep -q '^fault 429 ' "$FAKE/ops.log"
  grep -q '^POST http://gcs.test:8080/upload/storage/v1/b/bkt/o?uploadType=media&name=' "$FAKE/calls.log"
  refute grep -q '//compute.test' "$FAKE/calls.log"
  [ "$(grep -c '^DELETE http://private-compute.test/compute/v1/projects/bed-project/zones/us-central1-a/instances/vm-e1$' "$FAKE/calls.log")" = 2 ]
  # no process of the command is left
  refute pgrep -f 'sleep 30; echo never'
}

@test "the mode can be given as \$1 and a missing bucket stops the agent before anything is written" {
  rm "$FAKE/md/instance/attributes/gce-matrix-bucket"
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent startup
  dump
  [ "$status" -ne 0 ]
  [[ $output == *"gce-matrix-bucket and gce-matrix-experiment-prefix are required"* ]]
  refute grep -q '^upload ' "$FAKE/ops.log"
  [ ! -e "$VM/output/ran" ]
  run timeout 10 sh "$AGENT" sideways
  [ "$status" -eq 2 ]
}

@test "an output that will not upload: status error naming it, the other outputs kept and listed" {
  attr command 'echo a > "$GCE_MATRIX_OUTPUT_DIR/kept.txt"; echo b > "$GCE_MATRIX_OUTPUT_DIR/broken.bin"; echo "{\"x\": 1}" > "$GCE_MATRIX_METRICS_FILE"'
  # every try of the one file gets a 503 (more than the agent's retries)
  echo "503 50 outputs%2Fbroken.bin" >"$FAKE/faults"
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [ "$(js "$s" 's.exitCode')" = 0 ]
  [[ "$(js "$s" 's.reason')" == "outputs incomplete: 1 file(s) could not be uploaded: broken.bin" ]]
  [ "$(js "$s" 's.outputs.map(o => o.path).sort().join(",")')" = "kept.txt,metrics.json" ]
  [ "$(cat "$(obj outputs/kept.txt)")" = a ]
  [ ! -e "$(obj outputs/broken.bin)" ]
  log_of 1 | grep -q 'outputs incomplete: 1 file(s) could not be uploaded: broken.bin'
}

@test "an upload that Cloud Storage stores wrong (MD5 mismatch) is sent again; the status is written only when verified" {
  attr command 'echo payload > "$GCE_MATRIX_OUTPUT_DIR/data.txt"; echo "{\"x\": 1}" > "$GCE_MATRIX_METRICS_FILE"'
  printf 'outputs/data.txt\n' >"$FAKE/corrupt"
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = succeeded ]
  [ "$(cat "$(obj outputs/data.txt)")" = payload ]
  grep -q "corrupted bkt/$EXP/outputs/data.txt" "$FAKE/ops.log"
  [ "$(grep -c "upload bkt/$EXP/outputs/data.txt" "$FAKE/ops.log")" = 2 ]
  log_of 1 | grep -q 'outputs/data.txt stored MD5 .*; sending it again'
}
