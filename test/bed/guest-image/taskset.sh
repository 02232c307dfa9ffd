#!/bin/sh
# taskset of a guest whose machine type has more vCPUs than the host running the test bed: the guest's CPUs are
# 0..VCPUS-1 (what `taskset -pc` reports), and a command pinned to some of them runs on the host CPUs they fold
# onto (id modulo the host's count). Each pinning is recorded in the emulated kernel's state, for tests to read.
vcpus=@VCPUS@
kernel=@KERNEL_DIR@
real=/usr/bin/taskset
case ${1:-} in
  -p | -pc | -cp)
    if [ "$#" -eq 2 ]; then
      printf "pid %s's current affinity list: 0-%s\n" "$2" $((vcpus - 1))
      exit 0
    fi
    ;;
  -c | --cpu-list)
    list=$2
    shift 2
    host=$(nproc)
    mapped=$(printf '%s\n' "$list" | awk -F, -v n="$vcpus" -v h="$host" '{
      for (i = 1; i <= NF; i++) {
        split($i, r, "-"); lo = r[1] + 0; hi = (r[2] == "" ? lo : r[2] + 0)
        if (lo < 0 || hi >= n || lo > hi) { bad = 1; continue }
        for (c = lo; c <= hi; c++) seen[c % h] = 1
      }
      if (bad) exit 1
      out = ""; for (c in seen) out = out (out == "" ? "" : ",") c; print out
    }') || {
      printf 'taskset: invalid cpu list for a machine of %s vCPUs: %s\n' "$vcpus" "$list" >&2
      exit 1
    }
    printf '%s\t%s\t%s\n' "$$" "$list" "$*" >>"$kernel/taskset.log"
    exec "$real" -c "$mapped" "$@"
    ;;
esac
exec "$real" "$@"
