#!/usr/bin/env bats
# The VM agent's staging: inputs, secrets, checkpoint restore, container image; failures before the command.

load helpers

setup() {
  setup_fake
}

@test "inputs: single objects and prefixes (listed over several pages) with URL-encoded names" {
  put data/model.bin model
  put 'data/set/a b.csv' a
  put 'data/set/é/ü.csv' u
  put 'data/set/🚀.csv' r
  put 'data/set/x/y/z.csv' z
  put 'data/set/"q\uote".csv' q
  put 'data/setx/not-me.csv' n
  attr inputs $'gs://bkt/data/model.bin\tmodels/m.bin\ngs://bkt/data/set/\tset\ngs://bkt/data/model.bin'
  attr command '(cd "$GCE_MATRIX_INPUT_DIR" && find . -type f | LC_ALL=C sort) > "$GCE_MATRIX_OUTPUT_DIR/inputs.txt"; cat "$GCE_MATRIX_INPUT_DIR/set/é/ü.csv" > "$GCE_MATRIX_OUTPUT_DIR/u.txt"'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  expected='./model.bin
./models/m.bin
./set/"q\uote".csv
./set/a b.csv
./set/x/y/z.csv
./set/é/ü.csv
./set/🚀.csv'
  [ "$(cat "$(obj outputs/inputs.txt)")" = "$expected" ]
  [ "$(cat "$(obj outputs/u.txt)")" = u ]
  # pagination (page size 2: three pages) with the opaque page token URL-encoded
  grep -q '&pageToken=page%2B2%2F%3D' "$FAKE/calls.log"
  grep -q '&pageToken=page%2B4%2F%3D' "$FAKE/calls.log"
  grep -qF 'GET http://gcs.test/download/storage/v1/b/bkt/o/data%2Fset%2Fa%20b.csv?alt=media' "$FAKE/calls.log"
  grep -qF 'GET http://gcs.test/download/storage/v1/b/bkt/o/data%2Fset%2F%C3%A9%2F%C3%BC.csv?alt=media' "$FAKE/calls.log"
  grep -qF 'GET http://gcs.test/download/storage/v1/b/bkt/o/data%2Fset%2F%F0%9F%9A%80.csv?alt=media' "$FAKE/calls.log"
  grep -qF 'GET http://gcs.test/storage/v1/b/bkt/o?prefix=data%2Fset%2F&' "$FAKE/calls.log"
}

@test "a missing input: status error with the reason, the log uploaded, the command never run" {
  put data/present.txt here
  attr inputs $'gs://bkt/data/present.txt\tp.txt\ngs://bkt/data/absent.txt\ta.txt'
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [ "$(js "$s" 's.exitCode')" = null ]
  [[ "$(js "$s" 's.reason')" == "could not stage input gs://bkt/data/absent.txt: HTTP 404"* ]]
  [ "$(js "$s" 's.outputs.length')" = 0 ]
  [ ! -e "$VM/output/ran" ]
  log_of 1 | grep -q 'error: could not stage input gs://bkt/data/absent.txt'
  [ "$(op_last_line "upload bkt/$EXP/attempts/1/log/")" -lt "$(op_line "upload bkt/$EXP/status.json")" ]
  grep -q '^compute DELETE ' "$FAKE/ops.log"
}

@test "secrets reach the command's environment and nothing that is uploaded or logged" {
  secret='s3cr3t-VALUE-42 with spaces & ünïcode'
  printf '%s' "$secret" >"$BATS_TEST_TMPDIR/expected"
  mkdir -p "$FAKE/secrets/bed-project/api-key"
  printf '%s' "$secret" >"$FAKE/secrets/bed-project/api-key/3"
  mkdir -p "$FAKE/secrets/other/token"
  printf 'multi\nline' >"$FAKE/secrets/other/token/latest"
  attr secrets $'API_KEY=projects/bed-project/secrets/api-key/versions/3\nTOKEN=projects/other/secrets/token'
  attr command "
    [ \"\$API_KEY\" = \"\$(cat '$BATS_TEST_TMPDIR/expected')\" ] && echo api-ok >> \"\$GCE_MATRIX_OUTPUT_DIR/check.txt\"
    [ \"\$TOKEN\" = \"\$(printf 'multi\nline')\" ] && echo token-ok >> \"\$GCE_MATRIX_OUTPUT_DIR/check.txt\"
    echo \"key length \${#API_KEY}\""
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  [ "$(cat "$(obj outputs/check.txt)")" = $'api-ok\ntoken-ok' ]
  grep -q '^secret projects/other/secrets/token/versions/latest$' "$FAKE/ops.log"
  # only the agent's own redaction list holds the value, readable by the agent alone
  refute grep -rqF --exclude=redact 's3cr3t' "$FAKE/gcs" "$VM" "$FAKE/calls.log"
  [ "$(stat -c %a "$VM/state/redact")" = 600 ]
  refute grep -qF 's3cr3t' <<<"$output"
  log_of 1 | grep -q 'secret API_KEY read from projects/bed-project/secrets/api-key/versions/3'
}

@test "a secret the command prints is shipped as *** in every form, also split over chunks and in a status reason" {
  secret='pa55-w0rd/with+slash=&more'
  mkdir -p "$FAKE/secrets/bed-project/pw" "$FAKE/secrets/bed-project/pem"
  printf '%s' "$secret" >"$FAKE/secrets/bed-project/pw/1"
  printf -- '-----BEGIN KEY-----\nAAAAbodyline1\nBBBBbodyline2\n-----END KEY-----' >"$FAKE/secrets/bed-project/pem/1"
  attr secrets $'PW=projects/bed-project/secrets/pw/versions/1\nPEM=projects/bed-project/secrets/pem/versions/1'
  attr log-interval-seconds 1
  attr command '
    echo "plain: $PW"
    echo "base64: $(printf %s "$PW" | base64 | tr -d "\n")"
    echo "url: $(node -e "process.stdout.write(encodeURIComponent(process.argv[1]))" "$PW")"
    echo "pem: $PEM"
    printf "half a line, then "; sleep 2; echo "the $PW after a chunk went"
    mkdir -p "$GCE_MATRIX_OUTPUT_DIR/pa55-w0rd"; echo out > "$GCE_MATRIX_OUTPUT_DIR/$PW.txt"'
  # the output named after the secret will not upload
  printf '%s\n' "503 99 /o?uploadType=media&name=pfx%2Fruns%2Fr1%2Fexperiments%2Fe1%2Foutputs%2Fpa55-w0rd" >"$FAKE/faults"
  run_agent
  dump
  log_of 1 >"$BATS_TEST_TMPDIR/shipped"
  cat "$BATS_TEST_TMPDIR/shipped"
  grep -qx 'plain: \*\*\*' "$BATS_TEST_TMPDIR/shipped"
  grep -qx 'base64: \*\*\*' "$BATS_TEST_TMPDIR/shipped"
  grep -qx 'url: \*\*\*' "$BATS_TEST_TMPDIR/shipped"
  grep -qx 'half a line, then the \*\*\* after a chunk went' "$BATS_TEST_TMPDIR/shipped"
  grep -qx '\*\*\*' "$BATS_TEST_TMPDIR/shipped"
  [ "$(ls "$FAKE/gcs/bkt/$EXP/attempts/1/log" | wc -l)" -gt 1 ]
  for form in "$secret" "$(printf %s "$secret" | base64)" pa55-w0rd%2Fwith AAAAbodyline1 BBBBbodyline2; do
    refute grep -qF -- "$form" "$BATS_TEST_TMPDIR/shipped"
  done
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [[ "$(js "$s" 's.reason')" == "outputs incomplete"*"***"* ]]
  refute grep -qF -- "$secret" "$s"
}

@test "a missing secret: status error naming the secret" {
  attr secrets 'DB_PASSWORD=projects/bed-project/secrets/db/versions/1'
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [[ "$(js "$s" 's.reason')" == "secret DB_PASSWORD (projects/bed-project/secrets/db/versions/1) could not be read: HTTP 404: Secret ["* ]]
  [ ! -e "$VM/output/ran" ]
}

@test "checkpoint: attempt 2 restores it, and the end syncs changes and deletions" {
  attr attempt 2
  put "$EXP/checkpoint/state.txt" $'step=5\n'
  put "$EXP/checkpoint/old/shard 1.bin" 'old'
  put "$EXP/checkpoint/keep.bin" 'keep'
  attr command '
    cd "$GCE_MATRIX_CHECKPOINT_DIR"
    cat state.txt > "$GCE_MATRIX_OUTPUT_DIR/restored.txt"
    echo "attempt $GCE_MATRIX_ATTEMPT" >> "$GCE_MATRIX_OUTPUT_DIR/restored.txt"
    echo step=6 > state.txt
    rm -r old
    echo new > "new é.bin"'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state + " " + s.attempt')" = "succeeded 2" ]
  [ "$(cat "$(obj outputs/restored.txt)")" = $'step=5\nattempt 2' ]
  [ "$(cat "$(obj checkpoint/state.txt)")" = step=6 ]
  [ "$(cat "$(obj "checkpoint/new é.bin")")" = new ]
  [ "$(cat "$(obj checkpoint/keep.bin)")" = keep ]
  [ ! -e "$(obj "checkpoint/old/shard 1.bin")" ]
  # unchanged files are not uploaded again
  refute grep -q "upload bkt/$EXP/checkpoint/keep.bin" "$FAKE/ops.log"
  [ -f "$(obj attempts/2/log/000001.txt)" ]
  [ -f "$(obj attempts/2/status.json)" ]
  [ "$(op_last_line "checkpoint/")" -lt "$(op_line "upload bkt/$EXP/status.json")" ]
}

@test "container image: docker login, pull, run with --gpus all and an env file of names; digest recorded" {
  mkdir -p "$FAKE/secrets/bed-project/k"
  printf 'container-secret' >"$FAKE/secrets/bed-project/k/1"
  attr secrets 'K=projects/bed-project/secrets/k/versions/1'
  attr container-image us-docker.pkg.dev/proj/repo/bench:1.0
  attr gpus 2
  attr param-env 'TOOL=b'
  attr command 'env | grep -E "^(GCE_MATRIX_|K=)" | sort > "$GCE_MATRIX_OUTPUT_DIR/env.txt"; pwd >> "$GCE_MATRIX_OUTPUT_DIR/env.txt"'
  run_agent
  dump
  cat "$FAKE/docker.log"
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = succeeded ]
  [ "$(js "$s" 's.provenance.containerImage')" = us-docker.pkg.dev/proj/repo/bench:1.0 ]
  [ "$(js "$s" 's.provenance.containerDigest')" = sha256:1111111111111111111111111111111111111111111111111111111111111111 ]
  grep -q '^docker login -u oauth2accesstoken --password-stdin https://us-docker.pkg.dev$' "$FAKE/docker.log"
  grep -q '^docker pull us-docker.pkg.dev/proj/repo/bench:1.0$' "$FAKE/docker.log"
  run_line=$(grep '^docker run ' "$FAKE/docker.log")
  [[ $run_line == *" --gpus all "* ]]
  [[ $run_line == *" -v $VM/output:$VM/output "* ]]
  [[ $run_line == *" -v $VM/checkpoint:$VM/checkpoint "* ]]
  [[ $run_line == *" -v $VM/input:$VM/input "* ]]
  [[ $run_line == *" --entrypoint sh us-docker.pkg.dev/proj/repo/bench:1.0 -c "* ]]
  env=$(obj outputs/env.txt)
  grep -qx 'GCE_MATRIX_PARAM_TOOL=b' "$env"
  grep -qx 'GCE_MATRIX_RUN_ID=r1' "$env"
  grep -qx "GCE_MATRIX_OUTPUT_DIR=$VM/output" "$env"
  grep -qx 'K=container-secret' "$env"
  grep -qx "$VM/work" "$env"
  # the env file holds names only: no value on disk
  refute grep -q = "$FAKE/docker-envfile.txt"
  grep -qx K "$FAKE/docker-envfile.txt"
}

@test "container image that cannot be pulled: status error; no --gpus without GPUs" {
  attr container-image docker.io/library/missing:latest
  attr command 'true'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [[ "$(js "$s" 's.reason')" == "could not pull container image docker.io/library/missing:latest: Error response from daemon"* ]]
  refute grep -q '^docker run' "$FAKE/docker.log"
  refute grep -q '^docker login' "$FAKE/docker.log"
  log_of 1 | grep -q 'manifest unknown'
}

# snapshot DIR NAME : a .tar.gz of DIR with one top-level directory, stored as object NAME; sets SNAP_SHA, SNAP_SIZE
snapshot() {
  tar -czf "$BATS_TEST_TMPDIR/snap.tar.gz" -C "$1" --transform 's,^\.,octo-repo-0123456,' .
  mkdir -p "$(dirname "$FAKE/gcs/bkt/$2")"
  cp "$BATS_TEST_TMPDIR/snap.tar.gz" "$FAKE/gcs/bkt/$2"
  SNAP_SHA=$(sha256sum "$BATS_TEST_TMPDIR/snap.tar.gz" | cut -d' ' -f1)
  SNAP_SIZE=$(wc -c <"$BATS_TEST_TMPDIR/snap.tar.gz" | tr -d ' ')
}

@test "source: the snapshot is verified and unpacked as the command's working directory, named in the status" {
  mkdir -p "$BATS_TEST_TMPDIR/repo/bench" "$BATS_TEST_TMPDIR/repo/data"
  printf '#!/bin/sh\nprintf "{\\"factor\\": %%s}" "$(cat data/factor.txt)" > "$GCE_MATRIX_METRICS_FILE"\n' >"$BATS_TEST_TMPDIR/repo/bench/run.sh"
  chmod 755 "$BATS_TEST_TMPDIR/repo/bench/run.sh"
  printf '7' >"$BATS_TEST_TMPDIR/repo/data/factor.txt"
  snapshot "$BATS_TEST_TMPDIR/repo" pfx/runs/r1/source/sha256-x.tar.gz
  attr source "$(printf 'object=pfx/runs/r1/source/sha256-x.tar.gz\nsha256=%s\nsize=%s\ncommit=%s' "$SNAP_SHA" "$SNAP_SIZE" 89abcdef0123456789abcdef0123456789abcdef)"
  attr command './bench/run.sh'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = succeeded ]
  [ "$(cat "$(obj outputs/metrics.json)")" = '{"factor": 7}' ]
  [ "$(js "$s" 's.provenance.sourceCommit')" = 89abcdef0123456789abcdef0123456789abcdef ]
  [ "$(js "$s" 's.provenance.sourceSha256')" = "$SNAP_SHA" ]
  [ "$(js "$s" 's.provenance.sourceBytes')" = "$SNAP_SIZE" ]
  # the archive itself is gone once unpacked
  [ ! -e "$VM/state/source.tar.gz" ]
  log_of 1 | grep -q "unpacked the source snapshot of 89abcdef"
}

@test "source: a snapshot that fails its checksum ends the attempt as error before the command" {
  mkdir -p "$BATS_TEST_TMPDIR/repo"
  printf 'x' >"$BATS_TEST_TMPDIR/repo/file"
  snapshot "$BATS_TEST_TMPDIR/repo" pfx/runs/r1/source/sha256-x.tar.gz
  attr source "$(printf 'object=pfx/runs/r1/source/sha256-x.tar.gz\nsha256=%s\nsize=%s\ncommit=c' "$(printf '%064d' 0)" "$SNAP_SIZE")"
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [[ "$(js "$s" 's.reason')" == *"failed its checksum: expected sha256 0000"*"got $SNAP_SHA"* ]]
  [ ! -e "$VM/output/ran" ]
  [ ! -e "$VM/work/file" ]
}

@test "source: a snapshot that is not in the bucket ends the attempt as error naming the object" {
  attr source "$(printf 'object=pfx/runs/r1/source/sha256-gone.tar.gz\nsha256=%s\nsize=10\ncommit=c' "$(printf '%064d' 1)")"
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [[ "$(js "$s" 's.reason')" == "could not download the source snapshot gs://bkt/pfx/runs/r1/source/sha256-gone.tar.gz: HTTP 404"* ]]
  [ ! -e "$VM/output/ran" ]
}

@test "checkpoint: changed files are synced every checkpoint-interval while the command runs" {
  attr checkpoint-interval-seconds 1
  # The command writes a checkpoint, then waits until it sees it in the bucket (the agent synced it mid-run).
  attr command 'echo step-1 > "$GCE_MATRIX_CHECKPOINT_DIR/progress"
i=0
while [ ! -f "$FAKE/gcs/bkt/pfx/runs/r1/experiments/e1/checkpoint/progress" ] && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
if [ -f "$FAKE/gcs/bkt/pfx/runs/r1/experiments/e1/checkpoint/progress" ]; then echo synced > "$GCE_MATRIX_OUTPUT_DIR/seen"; fi'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  [ "$(cat "$(obj outputs/seen)")" = synced ]
  [ "$(cat "$(obj checkpoint/progress)")" = step-1 ]
}
