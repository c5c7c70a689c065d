#!/bin/bash
# server-waits: what the ring server's data-plane thread waited behind during a bench's 20,000/s latency run.
#
# Runs `multicast bench` (4 members, ring only, 1 s search, 8 s latency run by default), records every context switch
# of the machine for a few seconds of the latency run, and prints:
#   - each wait of the server's thread longer than THRESHOLD_US while it was runnable (it yielded or was preempted),
#     summed by what ran on its CPU meanwhile ("multicast" = the lab's other processes: sender, receivers, clients);
#   - the daemons' housekeeping threads (.NET runtime threads, anything not the data plane) and their runs > 200 us.
# The tail of a proxy is made in such waits: what arrives meanwhile queues, and drains at a member-side delivery per copy.
# perf itself shows up among what ran (a few ms in 3 s): compare runs with each other, not with zero.
#
# Usage (root, perf installed): native/tools/server-waits.sh [BIN=out/bin/multicast] [SECONDS=3] [THRESHOLD_US=100]
#   extra bench options go in BENCH_ARGS, e.g. BENCH_ARGS="--idle park" native/tools/server-waits.sh
set -euo pipefail
bin=${1:-out/bin/multicast}
seconds=${2:-3}
threshold=${3:-100}
command -v perf >/dev/null || { echo "error: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
# shellcheck source=latency-run.sh
. "$(dirname "$0")/latency-run.sh"
# shellcheck disable=SC2086
latency_run_start server-waits "$bin" --members 4 --systems ring --search-budget 1 --duration 8 ${BENCH_ARGS:-}
latency_run_wait
[ -n "$server" ] || { echo "error: no ring server in the latency run" >&2; exit 1; }
sleep 1
perf record -q -e sched:sched_switch -a -o "$work/sched.data" -- sleep "$seconds" 2>/dev/null
latency_run_finish
grep -E '^ +4 ring ' "$work/bench.log" | head -1 | awk '{print "ring at 20,000/s: p50 " $5 " us, p99 " $6 " us"}'

perf script -i "$work/sched.data" -F cpu,time,trace 2>/dev/null | awk -v S="$server" -v T="$threshold" -v SEC="$seconds" '
function field(line, name,    m) { if (match(line, name "=[^ ]+")) return substr(line, RSTART + length(name) + 1, RLENGTH - length(name) - 1); return "" }
{
  cpu = $1; t = $2; sub(":", "", t); t *= 1e6
  line = $0
  pp = field(line, "prev_pid"); np = field(line, "next_pid"); st = field(line, "prev_state")
  # comm may hold spaces: take what lies between "prev_comm=" and " prev_pid=".
  match(line, /prev_comm=.* prev_pid=/); pc = substr(line, RSTART + 10, RLENGTH - 20)
  if (pc ~ /^multicast$/ && pp != S) pc = "multicast"
  # Time each task held a CPU.
  if (start[cpu] > 0 && cur[cpu] == pp) {
    d = t - start[cpu]
    if (waiting && cpu == wcpu) ran[pc] += d
    if (pc ~ /^\.NET|^stats|^nexthop|^Console/) { hk[pc] += d; if (d > 200) hkbig[pc]++ }
  }
  cur[cpu] = np; start[cpu] = t
  if (pp == S && st ~ /^R/) { waiting = 1; wcpu = cpu; wstart = t; delete ran }
  if (np == S && waiting) {
    w = t - wstart
    if (w > T) { n++; total += w; for (k in ran) by[k] += ran[k] }
    waiting = 0
  }
}
END {
  printf "server thread runnable but waiting > %d us: %d times, %.1f ms in %d s; what ran on its CPU meanwhile:\n", T, n, total / 1000, SEC
  for (k in by) if (by[k] >= 100) printf "  %-20s %8.1f ms\n", k, by[k] / 1000
  printf "housekeeping threads (all daemons): time on a CPU, runs > 200 us\n"
  for (k in hk) printf "  %-20s %8.1f ms %4d\n", k, hk[k] / 1000, hkbig[k]
}'
