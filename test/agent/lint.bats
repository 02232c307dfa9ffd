#!/usr/bin/env bats
# The agent is POSIX sh: shellcheck in sh mode, and no bash-only syntax sneaks in.

@test "shellcheck -s sh src/agent/agent.sh" {
  command -v shellcheck || skip "shellcheck is not installed"
  run shellcheck -s sh "$BATS_TEST_DIRNAME/../../src/agent/agent.sh"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "the agent parses under dash and uses no jq, python, gsutil or base64 tool" {
  if command -v dash >/dev/null; then dash -n "$BATS_TEST_DIRNAME/../../src/agent/agent.sh"; fi
  code=$(grep -vE '^[[:space:]]*#' "$BATS_TEST_DIRNAME/../../src/agent/agent.sh")
  run grep -nE '(^|[^_a-z-])(jq|python3?|gsutil|base64|gcloud|bash)( |$)' <<<"$code"
  echo "$output"
  [ "$status" -eq 1 ]
}
