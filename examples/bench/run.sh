#!/bin/sh
# A stand-in for a REST API testing tool run against a service (the examples' `./bench/run.sh`): it reads the
# tool's base coverage from data/tools.csv in this repository, adds seed noise derived from the parameters,
# and writes the numbers a coverage report would give. A real study starts the service and the tool here.
set -eu
tool=$GCE_MATRIX_PARAM_TOOL
service=$GCE_MATRIX_PARAM_SERVICE
seed=${GCE_MATRIX_PARAM_SEED:-1}
here=$(dirname "$0")
echo "stub: $tool against $service (seed $seed)"
base=$(awk -F, -v t="$tool" '$1 == t { print $2 }' "$here/data/tools.csv")
[ -n "$base" ] || base=40
key="$tool/$service/$seed"
h=$(printf '%s' "$key" | cksum | cut -d' ' -f1)
awk -v h="$h" -v base="$base" '
  BEGIN {
    srand(h % 32768)
    line = base + rand() * 12
    branch = line * (0.55 + rand() * 0.2)
    method = line * (1.05 + rand() * 0.15); if (method > 100) method = 100
    ops = int(6 + line / 4 + rand() * 5)
    errors = int(rand() * (line / 8))
    printf "{\"line_coverage\": %.2f, \"branch_coverage\": %.2f, \"method_coverage\": %.2f, \"operations_covered\": %d, \"server_errors\": %d}\n", line, branch, method, ops, errors
  }' >"$GCE_MATRIX_METRICS_FILE"
cat "$GCE_MATRIX_METRICS_FILE"
echo "$key" >"$GCE_MATRIX_OUTPUT_DIR/tool-report.txt"
