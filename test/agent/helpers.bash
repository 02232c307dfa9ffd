# Shared set-up for the agent's tests: a fake metadata server / bucket tree under $FAKE, stubs on PATH.
# shellcheck shell=bash

AGENT="$BATS_TEST_DIRNAME/../../src/agent/agent.sh"
# AGENT_SHELL=bash runs the agent under bash instead of sh (the VM may run it with either)
EXP=pfx/runs/r1/experiments/e1

setup_fake() {
  FAKE=$BATS_TEST_TMPDIR/fake
  mkdir -p "$FAKE/md/instance/attributes" "$FAKE/md/project" "$FAKE/gcs/bkt" "$FAKE/secrets"
  : >"$FAKE/calls.log"
  : >"$FAKE/ops.log"
  # what the agent did to the machine: users, ownership, firewall, user switches (see the stubs)
  : >"$FAKE/host.log"
  printf 'metadata.test 198.51.100.7\n' >"$FAKE/hosts"
  export FAKE
  unset GCE_METADATA_IP STUB_UID STUB_AGENT_UID STUB_RUN_UID
  export PATH="$BATS_TEST_DIRNAME/stubs:$PATH"
  export GCE_METADATA_HOST=metadata.test
  export STORAGE_EMULATOR_HOST=http://gcs.test
  export CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://compute.test/compute/v1/
  export CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER=http://secrets.test/
  export TMPDIR=$BATS_TEST_TMPDIR/vm
  unset GCE_MATRIX_MODE
  mkdir -p "$TMPDIR"
  VM=$TMPDIR/gce-matrix

  md instance/name vm-e1
  md instance/zone projects/123456/zones/us-central1-a
  md project/project-id bed-project
  md instance/machine-type projects/123456/machineTypes/n2-standard-2
  md instance/cpu-platform 'Intel Cascade Lake'
  md instance/image projects/debian-cloud/global/images/debian-12-bookworm-v20240101
  md instance/preempted FALSE
  attr bucket bkt
  attr experiment-prefix "$EXP/"
  attr run-id r1
  attr experiment e1
  attr attempt 1
  attr heartbeat-seconds 2
  attr log-interval-seconds 1
  attr params '{"tool":"a","n":3}'
  attr repo-sha 0123456789abcdef0123456789abcdef01234567
  attr spot true
}

# md PATH VALUE : a metadata value
md() {
  mkdir -p "$(dirname "$FAKE/md/$1")"
  printf '%s' "$2" >"$FAKE/md/$1"
}

# attr KEY VALUE : instance attribute gce-matrix-KEY
attr() {
  printf '%s' "$2" >"$FAKE/md/instance/attributes/gce-matrix-$1"
}

# put NAME CONTENT : an object in bucket bkt
put() {
  mkdir -p "$(dirname "$FAKE/gcs/bkt/$1")"
  printf '%s' "$2" >"$FAKE/gcs/bkt/$1"
}

# obj NAME : path of an object of the experiment
obj() {
  printf '%s' "$FAKE/gcs/bkt/$EXP/$1"
}

run_agent() {
  run timeout 60 "${AGENT_SHELL:-sh}" "$AGENT" "$@"
}

# js FILE EXPR : evaluates EXPR with `s` = the parsed JSON file; prints the result (fails on bad JSON)
js() {
  node -e '
    const fs = require("fs");
    const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const v = eval(process.argv[2]);
    process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}

# The line number of the first line of ops.log matching a fixed string (0 when absent).
op_line() {
  grep -nF -- "$1" "$FAKE/ops.log" | head -n 1 | cut -d: -f1 | grep . || echo 0
}

# The line number of the last match.
op_last_line() {
  grep -nF -- "$1" "$FAKE/ops.log" | tail -n 1 | cut -d: -f1 | grep . || echo 0
}

# Every log chunk of attempt $1, concatenated in order.
log_of() {
  cat "$(obj "attempts/$1/log")"/*.txt
}

dump() {
  echo "--- output"
  echo "$output"
  echo "--- ops"
  cat "$FAKE/ops.log"
}

# refute CMD... : fails when CMD succeeds (a bare `! CMD` does not fail a bats test)
refute() {
  if "$@"; then
    echo "unexpectedly succeeded: $*" >&2
    return 1
  fi
  return 0
}
