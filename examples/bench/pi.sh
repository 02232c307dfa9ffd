#!/bin/sh
# The quick example's experiment: estimates pi by Monte Carlo with awk, with the sampling method, sample size
# and seed of its matrix entry, and writes its numbers to the metrics file. It runs from the repository root
# (the working directory of every experiment), locally and on a VM alike.
set -eu
method=$GCE_MATRIX_PARAM_METHOD
samples=$GCE_MATRIX_PARAM_SAMPLES
seed=$GCE_MATRIX_PARAM_SEED
echo "estimating pi: $method sampling, $samples samples, seed $seed"
awk -v n="$samples" -v seed="$seed" -v method="$method" '
  BEGIN {
    srand(seed)
    hits = 0
    if (method == "stratified") {
      k = int(sqrt(n)); if (k < 1) k = 1; n = k * k
      for (i = 0; i < k; i++) for (j = 0; j < k; j++) {
        x = (i + rand()) / k; y = (j + rand()) / k
        if (x * x + y * y <= 1) hits++
      }
    } else {
      for (i = 0; i < n; i++) { x = rand(); y = rand(); if (x * x + y * y <= 1) hits++ }
    }
    pi = 4 * hits / n
    err = pi - 3.141592653589793; if (err < 0) err = -err
    printf "{\"estimate\": %.6f, \"abs_error\": %.6f, \"samples_used\": %d}\n", pi, err, n
  }' >"$GCE_MATRIX_METRICS_FILE"
cat "$GCE_MATRIX_METRICS_FILE"
printf 'method,samples,seed\n%s,%s,%s\n' "$method" "$samples" "$seed" >"$GCE_MATRIX_OUTPUT_DIR/params.csv"
