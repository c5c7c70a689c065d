#!/bin/bash
# switches: how often each process of a bench's 20,000/s latency run was switched out, and what CPU it took.
#
# Runs `multicast bench` for one system (4 members, 1 s search, 10 s latency run) and, over SECONDS of the latency run,
# reads each thread of the receivers, the sender and the server from /proc: voluntary switches (it blocked, e.g. a
# receiver waiting for its next datagram), involuntary ones (it was preempted, or yielded to a runnable thread),
# migrations between CPUs, and CPU time as % of one core. A receiver that blocks once per datagram wakes ~20,000
# times a second whatever the system; what differs between native multicast and a proxy is how often the receivers
# are preempted and what each wake-up costs them on a machine that is fuller.
#
# Usage (root): native/tools/switches.sh SYSTEM [SECONDS=4] [BIN=out/bin/multicast] [extra bench options...]
#   e.g. native/tools/switches.sh native; native/tools/switches.sh ring 4 out/bin/multicast --standby off
set -euo pipefail
system=${1:?usage: switches.sh SYSTEM [SECONDS] [BIN] [bench options...]}
seconds=${2:-4}
bin=${3:-out/bin/multicast}
shift $(( $# < 3 ? $# : 3 ))
# shellcheck source=latency-run.sh
. "$(dirname "$0")/latency-run.sh"
latency_run_start switches "$bin" --members 4 --systems "$system" --search-budget 1 --duration 10 --curve none "$@"
latency_run_wait
sleep 2 # past the receivers' and the server's start
declare -A role
for p in $(pgrep -f -- 'tool recv .*--latency-log' || true); do role[$p]=receiver; done
role[$sender]=sender
[ -n "$server" ] && role[$server]=server

# One line per thread: role, pid/tid, name, voluntary, involuntary, migrations, runtime in ms.
snapshot() {
  for p in "${!role[@]}"; do
    for t in /proc/"$p"/task/*; do
      [ -r "$t/status" ] || continue
      printf '%s %s/%s %s %s %s %s %s\n' "${role[$p]}" "$p" "${t##*/}" "$(tr ' ' _ < "$t/comm")" \
        "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status")" \
        "$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$t/status")" \
        "$(awk '/nr_migrations/ {print $3}' "$t/sched")" "$(awk '/^se.sum_exec_runtime/ {print $3}' "$t/sched")"
    done
  done | sort -k2,2
}
snapshot > "$work/before"
sleep "$seconds"
snapshot > "$work/after"
latency_run_finish
grep -E "^ +4 $system " "$work/bench.log" | head -1 | awk '{print $2 " at 20,000/s: p50 " $5 " us, p99 " $6 " us"}'

# Threads that ran at least 1 % of a core; per second of the window.
join -1 2 -2 2 "$work/before" "$work/after" | awk -v S="$seconds" '
{
  # pid/tid, then role name voluntary involuntary migrations runtime before, and the same after
  cpu = ($13 - $7) / (S * 10)
  if (cpu < 1) next
  printf "%-8s %-14s %-16s %7.0f blocked/s %7.0f preempted/s %5.0f migrations/s %5.1f %% of a core\n",
    $2, $1, $3, ($10 - $4) / S, ($11 - $5) / S, ($12 - $6) / S, cpu
}' | sort
