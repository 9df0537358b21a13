#!/usr/bin/env bash
# bench/sip-syscalls.sh — system calls, context switches and CPU per call, by syscall name and by
# thread, for sip-edge (each worker when --processes N > 1, and the supervisor), ringway-router and
# redis-server: where a call's cost goes on a machine where a system call costs microseconds.
# The counts do not depend on how loaded the machine is; the CPU figure does.
# redis-server, router and sip-edge from BUILD_DIR; SIPp registers user 2000's device, then places
# the calls of sip-cps.sh (bench/sip/call-uac.xml and call-uas.xml, INVITE -> 180 -> 200 -> ACK ->
# BYE from a trusted peer, one caller socket that the workers spread by branch; --sipp-un: one
# UDP socket per call, sipp -t un) at --rate R/s:
#   warm-up   3 s of calls, not counted; during it `perf trace -s` (1 s) finds the syscall names
#             the processes use, added to a fixed list of ~25 (recvmsg, sendmsg, epoll_wait, ...);
#   window A  --seconds S of the measured run: perf stat, per thread, of task-clock,
#             context-switches and page-faults (software counters: they do not slow the process);
#   window B  the next S seconds: perf stat, per thread, of raw_syscalls:sys_enter (every system
#             call) and syscalls:sys_enter_NAME for each name (exact counts; the tracepoints cost
#             the process some CPU, shown as "cpu_us with tracepoints" after the table).
# Both windows are started and stopped through perf's control FIFO; the calls of a window are
# those sip-edge answered in it (calls_answered_total of every worker, read just before perf is
# switched on and just before it is switched off). Per call of its window, per process and per
# thread (threads with >= 0.005 syscalls per call): syscalls, context switches, page faults, CPU
# us and each name >= 0.05 per call; "other" is a thread's syscalls not among the names counted.
# Then SIPp's completed and failed calls, and the share of a core other programs used meanwhile.
# Needs perf (Debian linux-perf) and the right to trace: root, or kernel.perf_event_paranoid <= -1
# (exit 77 otherwise). Exits 1 when fewer than 99.9 % of the measured run's calls completed.
#
# Usage: bench/sip-syscalls.sh [--rate R] [--seconds S] [--processes N] [--sipp-un] [BUILD_DIR]
# Defaults: 2000 calls/s, 6 s per window, 1 sip-edge process, BUILD_DIR build/release.
set -uo pipefail
BENCH_NAME=sip-syscalls
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

rate=2000 secs=6 processes=1 build=build/release warm=3 hold=20
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift ;;
    --seconds) secs=$2; shift ;;
    --processes) processes=$2; shift ;;
    --sipp-un) sipp_un=1 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    -*) echo "sip-syscalls: unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
[[ "$rate" =~ ^[1-9][0-9]*$ ]] || { echo "sip-syscalls: --rate takes a whole number of calls per second" >&2; exit 2; }
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || { echo "sip-syscalls: --seconds takes a whole number of seconds" >&2; exit 2; }
[[ "$processes" =~ ^[1-9][0-9]?$ ]] || { echo "sip-syscalls: --processes takes 1..99" >&2; exit 2; }
if ! command -v perf >/dev/null || ! perf version >/dev/null 2>&1; then
 echo "sip-syscalls: perf is not installed (Debian linux-perf: tools/install-deps.sh bench); nothing measured" >&2; exit 77
fi
perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 ||
  { echo "sip-syscalls: perf may not read tracepoints here: run as root or set kernel.perf_event_paranoid to -1; nothing measured" >&2; exit 77; }
for c in sipp curl redis-server redis-cli ss; do
  command -v "$c" >/dev/null || { echo "sip-syscalls: $c not installed (tools/install-deps.sh bench)" >&2; exit 1; }
done
[ -x "$build/services/sip-edge/ringway-sip-edge" ] || { echo "sip-syscalls: $build has no sip-edge" >&2; exit 1; }
load0=$(cut -d' ' -f1 /proc/loadavg)
BENCH_EDGE_PROCESSES=$processes
BENCH_EDGE_ENV+=("RINGWAY_SIP_PROCESSES=$processes")
sipp_tr=(); [ "$processes" -gt 1 ] && [ "${sipp_un:-0}" = 1 ] && sipp_tr=(-t un -max_socket 10000)
sipp_opts=(-buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000)
# One perf event per counter and thread: ~30 counters for ~30 threads.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The names counted in any case (those that matter to a SIP proxy on Sofia, libzmq and hiredis).
fixed="recvmsg recvfrom recvmmsg sendmsg sendto sendmmsg poll ppoll epoll_wait epoll_pwait epoll_ctl read write
       getpid ioctl getsockopt setsockopt futex clock_gettime gettimeofday brk mmap munmap madvise timerfd_settime"

work=$(mktemp -d "${TMPDIR:-/tmp}/rw-sip-syscalls.XXXXXX")
perf_pids=()
cleanup() {
  local p
  for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  exec 5>&- 6<&- 7>&- 8<&- 2>/dev/null
  bench_stop_all
  [ -n "${BENCH_KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_users_csv 1 "$work/users.csv" SEQUENTIAL
bench_redis_start "$work/redis" || exit 1
bench_pids+=("$BENCH_REDIS_PID")
bench_ringway_json 1 "$work/directory.json"
RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$BENCH_REDIS_PORT \
  "$build/tools/ringway" import "$work/directory.json" >"$work/import.log" 2>&1 || { echo "sip-syscalls: import failed" >&2; exit 1; }
uas=$(bench_free_port)
(cd "$work" && exec sipp -sf "$here/sip/call-uas.xml" -i 127.0.0.1 -p "$uas" -nostdin "${sipp_opts[@]}" >uas.out 2>&1) &
uas_pid=$!
bench_pids+=("$uas_pid")
bench_wait_udp "$uas" 5 || { echo "sip-syscalls: the UAS did not start" >&2; exit 1; }
bench_ringway_start "$build" "$work" || exit 1
bench_pids+=("$BENCH_EDGE_PID" "$BENCH_ROUTER_PID")
(cd "$work" && sipp -sf "$here/sip/register.xml" -inf "$work/users.csv" -key uas_port "$uas" -i 127.0.0.1 \
  -p "$(bench_free_port)" -m 1 -timeout 20s -nostdin -trace_stat -stf reg.csv -fd 1 "127.0.0.1:$BENCH_SIP_PORT" >reg.out 2>&1)
[ "$(bench_stat "$work/reg.csv" "SuccessfulCall(C)")" -eq 1 ] || { echo "sip-syscalls: the callee did not register (see $work/reg.out)" >&2; exit 1; }

# The processes measured: "pid label" per line; sip-edge's workers with their /metrics port.
edge_ports=()
: >"$work/procs"
if [ "$processes" -eq 1 ]; then
  echo "$BENCH_EDGE_PID sip-edge" >>"$work/procs"
  edge_ports=("$BENCH_EDGE_HTTP")
else
  echo "$BENCH_EDGE_PID sip-edge-supervisor" >>"$work/procs"
  for ((i = 1; i <= processes; i++)); do
    port=$((BENCH_EDGE_HTTP + i))
    pid=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
    [ -n "$pid" ] || { echo "sip-syscalls: no process listens on worker $((i - 1))'s HTTP port $port" >&2; exit 1; }
    echo "$pid sip-edge-worker$((i - 1))" >>"$work/procs"
    edge_ports+=("$port")
  done
fi
echo "$BENCH_ROUTER_PID router" >>"$work/procs"
echo "$BENCH_REDIS_PID redis-server" >>"$work/procs"
all_pids=$(awk '{ printf "%s%s", (NR > 1 ? "," : ""), $1 }' "$work/procs")

# CPU time (ms) of the whole machine so far (user, nice, system, irq, softirq, steal; as sip-cps.sh).
machine_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%d\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz; exit }' /proc/stat; }

# calls_answered_total of every sip-edge worker: "total n0 n1 ...".
calls_answered() {
  local p v t=0 each=""
  for p in "${edge_ports[@]}"; do
    v=$(curl -fsS "http://127.0.0.1:$p/metrics" 2>/dev/null | awk '$1 == "ringway_sip_edge_calls_answered_total" { print $2 + 0 }')
    v=${v:-0}; t=$((t + v)); each+=" $v"
  done
  echo "$t$each"
}

# Warm-up, not counted; meanwhile perf trace finds the syscall names in use.
(cd "$work" && sipp -sf "$here/sip/call-uac.xml" -s "$BENCH_FIRST_EXT" "${sipp_tr[@]}" -i 127.0.0.1 -p "$(bench_free_port)" \
  -r "$rate" -m $((rate * warm)) -l $((rate * 5 + 200)) -d "$hold" "${sipp_opts[@]}" -timeout $((warm + 40))s -nostdin \
  -trace_stat -stf warm.csv -fd 1 "127.0.0.1:$BENCH_SIP_PORT" >warm.out 2>&1) &
warm_pid=$!
w0=$(calls_answered); w0=${w0%% *}
for _ in $(seq 1 100); do w=$(calls_answered); [ $((${w%% *} - w0)) -ge $((rate / 4 + 1)) ] && break; sleep 0.1; done
t0=$(calls_answered)
timeout -s INT 1 perf trace -s -p "$all_pids" -o "$work/trace.txt" >/dev/null 2>&1
t1=$(calls_answered)
wait "$warm_pid"
available=$(perf list tracepoint 2>/dev/null | grep -o 'syscalls:sys_enter_[a-z0-9_]*' | sed 's/^syscalls:sys_enter_//' | sort -u)
# Names seen in the trace at least 0.01 times per call answered meanwhile, and the fixed ones.
seen=$(awk -v min=$(((${t1%% *} - ${t0%% *}) / 100 + 2)) '$1 ~ /^[a-z_0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { n[$1] += $2 }
                END { for (k in n) if (n[k] >= min) print k }' "$work/trace.txt" 2>/dev/null)
names=$(echo "$fixed $seen" | tr -s '[:space:]' '\n' | sort -u | grep -Fxf <(echo "$available") | tr '\n' ' ')
[ -n "$names" ] || { echo "sip-syscalls: perf lists no syscalls:sys_enter_* tracepoint" >&2; exit 77; }
events_b="raw_syscalls:sys_enter,task-clock"
for n in $names; do events_b+=",syscalls:sys_enter_$n"; done

# Two perf stat, attached now with their events off, switched on and off through their FIFOs.
mkfifo "$work/ctl.a" "$work/ack.a" "$work/ctl.b" "$work/ack.b"
perf stat -D -1 --control "fifo:$work/ctl.a,$work/ack.a" --per-thread -x, \
  -e task-clock,context-switches,page-faults -p "$all_pids" -o "$work/perf.a" 2>"$work/perf.a.err" &
perf_pids+=($!)
perf stat -D -1 --control "fifo:$work/ctl.b,$work/ack.b" --per-thread -x, \
  -e "$events_b" -p "$all_pids" -o "$work/perf.b" 2>"$work/perf.b.err" &
perf_pids+=($!)
exec 5<>"$work/ctl.a" 6<>"$work/ack.a" 7<>"$work/ctl.b" 8<>"$work/ack.b"   # read-write: no blocking open
perf_cmd() {  # FD_CTL FD_ACK enable|disable; sets switch_ms, the time perf took
  local t0
  t0=$(date +%s%3N)
  echo "$3" >&"$1"
  read -r -t 10 -u "$2" _ || { echo "sip-syscalls: perf did not acknowledge '$3' (see $work/perf.*.err)" >&2; exit 1; }
  switch_ms=$(($(date +%s%3N) - t0))
}

# The threads of each process: "tid label comm" (tids are what perf stat --per-thread prints).
: >"$work/threads"
while read -r pid label; do
  for t in /proc/"$pid"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$label" "$(tr ' ' '_' <"$t/comm" 2>/dev/null)" >>"$work/threads"
  done
done <"$work/procs"

load=$(cut -d' ' -f1 /proc/loadavg)
calls=$((rate * (2 * secs + 4)))
(cd "$work" && sipp -sf "$here/sip/call-uac.xml" -s "$BENCH_FIRST_EXT" "${sipp_tr[@]}" -i 127.0.0.1 -p "$(bench_free_port)" \
  -r "$rate" -m "$calls" -l $((rate * 5 + 200)) -d "$hold" "${sipp_opts[@]}" -timeout $((2 * secs + 60))s -nostdin \
  -trace_stat -stf uac.csv -fd 1 "127.0.0.1:$BENCH_SIP_PORT" >uac.out 2>&1) &
uac_pid=$!
# The load flows once a second's worth of calls has been answered (at most 20 s).
m0=$(calls_answered); m0=${m0%% *}
for _ in $(seq 1 200); do m=$(calls_answered); [ $((${m%% *} - m0)) -ge "$rate" ] && break; sleep 0.1; done
gen0=$(bench_tree_cpu_ms "$uac_pid" "$uas_pid") mach0=$(machine_cpu_ms) ms0=$(date +%s%3N)
# Each edge: read the calls answered, then switch perf (the time perf takes to switch on and to
# switch off falls on the same side of both edges, so it cancels but for their difference).
a0=$(calls_answered); perf_cmd 5 6 enable; on_a=$switch_ms
sleep "$secs"
a1=$(calls_answered); perf_cmd 5 6 disable; off_a=$switch_ms
gen_ms=$(($(bench_tree_cpu_ms "$uac_pid" "$uas_pid") - gen0)) mach_ms=$(($(machine_cpu_ms) - mach0)) wall_ms=$(($(date +%s%3N) - ms0))
b0=$(calls_answered); perf_cmd 7 8 enable; on_b=$switch_ms
sleep "$secs"
b1=$(calls_answered); perf_cmd 7 8 disable; off_b=$switch_ms
kill -0 "$uac_pid" 2>/dev/null || echo "sip-syscalls: WARNING: the calls ended before the windows did (the rate was not carried)" >&2
for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
perf_pids=()
wait "$uac_pid"
ok=$(bench_stat "$work/uac.csv" "SuccessfulCall(C)")
failed=$(bench_stat "$work/uac.csv" "FailedCall(C)")
retr=$(bench_stat "$work/uac.csv" "Retransmissions(C)")
read -r a0t _ <<<"$a0"; read -r a1t _ <<<"$a1"; read -r b0t _ <<<"$b0"; read -r b1t _ <<<"$b1"
calls_a=$((a1t - a0t)) calls_b=$((b1t - b0t))
if [ "$calls_a" -le 0 ] || [ "$calls_b" -le 0 ]; then echo "sip-syscalls: no call answered in a window (see $work)" >&2; exit 1; fi

echo "build $build, source tree at commit $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown) now, $(nproc) cores; 1-min load average $load0 at the start, $load after the warm-up"
echo "sip-edge processes $processes; $rate calls/s offered; SIPp: $ok of $calls calls completed, $failed failed, $retr retransmissions"
shares=""
if [ "$processes" -gt 1 ]; then
  read -r -a ea <<<"$b0"; read -r -a eb <<<"$b1"
  for ((i = 1; i <= processes; i++)); do
    shares+=", worker$((i - 1)) $(awk -v d=$((eb[i] - ea[i])) -v t=$((b1t - b0t)) 'BEGIN { printf "%.1f", d * 100 / t }') %"
  done
fi
echo "window A (cpu_us, cs, faults): $secs s, $calls_a calls answered; window B (syscalls): $secs s, $calls_b calls answered${shares:+ (answered by$shares)}"
echo "perf took $on_a ms to switch on and $off_a ms to switch off window A, $on_b and $off_b ms window B (a difference of $((secs * 10)) ms is 1 % of a window)"
echo "names counted: $names(the fixed list and those perf trace saw in the warm-up)"
echo "figures per call answered in the window (sip-edge's calls_answered_total, all workers); threads with >= 0.005 syscalls"
echo "per call; names >= 0.05 per call, \"other\" = the thread's syscalls not among the names counted"
awk -F, -v ca="$calls_a" -v cb="$calls_b" -v procs="$work/procs" -v mach="$mach_ms" -v gen="$gen_ms" -v wall="$wall_ms" '
  FILENAME == procs { order[++np] = $0; next }
  FILENAME ~ /threads$/ { split($0, f, " "); lab[f[1]] = f[2]; cm[f[1]] = f[3]; next }
  /^#/ || NF < 4 { next }
  { tid = $1; sub(/^.*-/, "", tid); if (!(tid in lab)) next
    v = ($2 ~ /^[0-9.]+$/) ? $2 + 0 : 0; w = (FILENAME ~ /perf\.a$/) ? "a" : "b"
    c[tid, w, $4] += v; seen[tid] = 1 }
  function row(proc, thr, s, cs, f, us, by) {
    printf "%-20s %-26s %9.2f %6.2f %6.2f %7.1f  %s\n", proc, thr, s / cb, cs / ca, f / ca, us * 1000 / ca, by }
  END {
    printf "%-20s %-26s %9s %6s %6s %7s  %s\n", "process", "thread", "syscalls", "cs", "faults", "cpu_us", "syscalls by name, per call"
    for (i = 1; i <= np; i++) {
      split(order[i], pl, " "); L = pl[2]
      ts = 0; tc = 0; tf = 0; tu = 0; tub = 0; nt = 0
      for (t in seen) if (lab[t] == L) {
        s = c[t, "b", "raw_syscalls:sys_enter"]
        ts += s; tc += c[t, "a", "context-switches"]; tf += c[t, "a", "page-faults"]
        tu += c[t, "a", "task-clock"]; tub += c[t, "b", "task-clock"]
        if (s / cb >= 0.005) line[++nt] = t
      }
      row(L, "(all threads)", ts, tc, tf, tu, "")
      allu += tu
      traced[L] = tub * 1000 / cb; plain[L] = tu * 1000 / ca
      if (L ~ /^sip-edge/) { es += ts; ec += tc; ef += tf; eu += tu; ne++ }
      for (j = 1; j <= nt; j++) for (k = j + 1; k <= nt; k++)   # most syscalls first
        if (c[line[k], "b", "raw_syscalls:sys_enter"] > c[line[j], "b", "raw_syscalls:sys_enter"]) { x = line[j]; line[j] = line[k]; line[k] = x }
      for (j = 1; j <= nt; j++) {
        t = line[j]; s = c[t, "b", "raw_syscalls:sys_enter"]; named = 0; by = ""; m = 0
        for (key in c) { split(key, kk, SUBSEP)
          if (kk[1] == t && kk[2] == "b" && kk[3] ~ /^syscalls:sys_enter_/) { named += c[key]; nm[++m] = kk[3] } }
        for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++)
          if (c[t, "b", nm[y]] > c[t, "b", nm[x]]) { z = nm[x]; nm[x] = nm[y]; nm[y] = z }
        for (x = 1; x <= m; x++) { v = c[t, "b", nm[x]] / cb
          if (v >= 0.05) { n = nm[x]; sub(/^syscalls:sys_enter_/, "", n); by = by sprintf("%s %.2f, ", n, v) } }
        if ((s - named) / cb >= 0.05) by = by sprintf("other %.2f, ", (s - named) / cb)
        row("", cm[t] " (" t ")", s, c[t, "a", "context-switches"], c[t, "a", "page-faults"], c[t, "a", "task-clock"],
            substr(by, 1, length(by) > 2 ? length(by) - 2 : 0))
      }
    }
    if (ne > 1) row("sip-edge, all " ne, "(all processes)", es, ec, ef, eu, "")
    o = (mach - allu - gen) * 100 / wall
    printf "the machine during window A, %% of one core: the processes measured %.0f, SIPp %.0f, other programs %.0f%s\n",
           allu * 100 / wall, gen * 100 / wall, (o < 0 ? 0 : o), (o > 20 ? " (above 20: cpu_us measured the machine too)" : "")
    printf "cpu_us with the tracepoints on (window B), the cost of counting:"
    for (i = 1; i <= np; i++) { split(order[i], pl, " "); L = pl[2]
      printf " %s %.1f (%+.0f %%)%s", L, traced[L], (plain[L] > 0 ? (traced[L] - plain[L]) * 100 / plain[L] : 0), (i < np ? "," : "\n") }
  }' "$work/procs" "$work/threads" "$work/perf.a" "$work/perf.b"
awk -v ok="$ok" -v n="$calls" 'BEGIN { exit !(ok * 1000 >= n * 999) }' ||
  { echo "sip-syscalls: only $ok of $calls calls completed (< 99.9 %): the figures describe a broken run" >&2; exit 1; }
exit 0
