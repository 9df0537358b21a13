#!/usr/bin/env bash
# bench/sip-cps.sh — call set-up rate through a SIP proxy, Ringway against Kamailio, same run,
# with a load generator light enough that the proxy, not SIPp, runs out first (the `direct`
# target shows the generator's own ceiling in the same run: it must stay well above the proxies').
# Scenarios: bench/sip/call-uac.xml (INVITE -> 180 -> 200 -> ACK -> hold -> BYE, all calls to
# user 2000) and bench/sip/call-uas.xml (one SIPp standing for user 2000's device, registered at
# the proxy with digest: bench/sip/register.xml); callers are trusted as a peer (no challenge).
# SIPp runs with 4 MiB buffers and -max_recv_loops/-max_sched_loops 10000 (the defaults, 1000,
# make SIPp itself fall behind near 5,000 calls/s on two cores).
# Targets, each at a ladder of rates, a fresh proxy per step and an idle pause between steps:
#   direct            caller to callee, no proxy: the generator's ceiling
#   kamailio-tuned    bench/kamailio/run.sh tuned (TLSF, 4 GiB shm, 4 MiB buffers, 2 workers)
#   kamailio-default  the same with Kamailio's default memory manager (qm, 1 GiB)
#   ringway           redis-server + ringway-router + ringway-sip-edge from BUILD_DIR, sip-edge as
#                     `make demo` ships it (--processes, default 2, sharing the port: the workers
#                     spread the calls by their branch, sip.spread_requests, so the caller uses
#                     one UDP socket for all calls as against Kamailio; --sipp-un: one socket per
#                     call, sipp -t un, as before request spreading, for the kernel to spread)
# Per step: completed and failed calls, retransmissions, the achieved rate (200s per second),
# call set-up time (INVITE sent -> 200 received, p50/p99, SIPp's 1 ms clock) and what the proxy
# added to direct's at that rate, the machine's UDP receive-buffer drops during the step
# (RcvbufErrors of /proc/net/snmp: machine-wide, so another program's drops count too), the
# proxy's CPU per completed call (for Ringway sip-edge + router + redis-server, split after the
# table), SIPp's own CPU per call (caller + callee: the generator's cost, which sets the ceiling
# of `direct`), the share of a core the machine's other programs used during the step (the
# machine's CPU time minus the proxy's and SIPp's; above 20 % the step measured the machine and
# the run ends with a warning) and the 1-min load average before the step. Clean = < 0.1 %
# failed, no RcvbufErrors and >= 95 % of the offered rate achieved. Then each target's highest
# clean rate and Ringway's ratio to tuned Kamailio's.
#
# Usage: bench/sip-cps.sh [--full] [--rates "R1 R2 ..."] [--seconds S] [--idle S] [--hold MS]
#                         [--targets "direct kamailio-tuned kamailio-default ringway"]
#                         [--keep-going] [--sustain SECONDS] [--overload SECONDS] [--processes N]
#                         [--warm SECONDS] [--quiet SECONDS] [--sipp-un] [BUILD_DIR]
# Defaults (quick): rates 2000 4000 6000 8000, 10 s per step, 6 s idle, 100 ms hold, targets
# direct kamailio-tuned ringway; --full: rates 2000 4000 6000 8000 9000 10000 12000.
# A target's ladder stops at its first unclean step unless --keep-going.
# --sustain S: after its ladder, each proxy target runs its highest clean rate for S seconds (a
#   fresh proxy) and prints its memory at the end (sip-edge: VmRSS and VmHWM of every process).
# --overload S: last, each proxy target is offered twice its highest clean rate for S seconds:
#   calls completed, rate carried, retransmissions and, for Ringway, the 503s (shed_total).
# --warm S (default 5): before each step, S seconds of uncounted calls at the step's rate through
#   the fresh proxy (and callee), then --idle seconds, so that the step measures a proxy in service,
#   not the first touch of its memory (--warm 0: none).
# --quiet S: before each step wait (at most S seconds) until the other programs use under 15 % of
#   a core over 2 s; a step that still starts on a busy machine is flagged by its `others` column.
set -uo pipefail
BENCH_NAME=sip-cps
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

rates="2000 4000 6000 8000" secs=10 idle=6 hold=100 keep=0 sustain=0 overload=0 build=build/release
targets="direct kamailio-tuned ringway" processes=2 quiet=0 warm=5 sipp_un=0
while [ $# -gt 0 ]; do
  case "$1" in
    --full) rates="2000 4000 6000 8000 9000 10000 12000" ;;
    --rates) rates=$2; shift ;;
    --seconds) secs=$2; shift ;;
    --idle) idle=$2; shift ;;
    --hold) hold=$2; shift ;;
    --targets) targets=$2; shift ;;
    --keep-going) keep=1 ;;
    --sustain) sustain=$2; shift ;;
    --overload) overload=$2; shift ;;
    --processes) processes=$2; shift ;;
    --quiet) quiet=$2; shift ;;
    --warm) warm=$2; shift ;;
    --sipp-un) sipp_un=1 ;;
    -h|--help) sed -n '2,46p' "$0"; exit 0 ;;
    -*) echo "sip-cps: unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
command -v sipp >/dev/null || { echo "sip-cps: sipp not installed (tools/install-deps.sh bench)" >&2; exit 1; }
[[ "$processes" =~ ^[1-9][0-9]?$ ]] || { echo "sip-cps: --processes takes 1..99" >&2; exit 2; }
BENCH_EDGE_PROCESSES=$processes
BENCH_EDGE_ENV+=("RINGWAY_SIP_PROCESSES=$processes")
callee=$BENCH_FIRST_EXT

work=$(mktemp -d "${TMPDIR:-/tmp}/rw-sip-cps.XXXXXX")
cleanup() { bench_stop_all; [ -n "${BENCH_KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_users_csv 1 "$work/users.csv" SEQUENTIAL
bench_kam_db 1 "$work/kamdb"

# The ringway target needs its binaries, Redis and the directory once per run.
ringway_ready() {
  [ -n "${ringway_ok:-}" ] && return "$ringway_ok"
  ringway_ok=1
  if [ ! -x "$build/services/sip-edge/ringway-sip-edge" ]; then
    bench_log "ringway: SKIPPED, $build/services/sip-edge/ringway-sip-edge is not built yet"
    return 1
  fi
  bench_redis_start "$work/redis" || return 1
  bench_pids+=("$BENCH_REDIS_PID")
  bench_ringway_json 1 "$work/directory.json"
  RINGWAY_REDIS_HOST=127.0.0.1 RINGWAY_REDIS_PORT=$BENCH_REDIS_PORT \
    "$build/tools/ringway" import "$work/directory.json" >"$work/import.log" 2>&1 ||
    { bench_log "ringway: import failed (see $work/import.log)"; return 1; }
  ringway_ok=0
}

# start_target NAME DIR -> sets target_port, target_pids (all counted in cpu_us) and sipp_tr.
start_target() {
  target_pids=() sipp_tr=()
  case "$1" in
    kamailio-tuned|kamailio-default)
      target_port=$(bench_free_port)
      "$here/kamailio/run.sh" "${1#kamailio-}" "$target_port" "$work/kamdb" >"$2/kamailio.log" 2>&1 &
      target_pids=($!)
      bench_wait_udp "$target_port" 10 || { bench_log "$1 did not start (see $2/kamailio.log)"; return 1; } ;;
    ringway)
      # The binding of the step before (a UAS that is gone) must go, as a fresh Kamailio's
      # in-memory usrloc has none, or every INVITE would fork to a dead contact as well.
      redis-cli -p "$BENCH_REDIS_PORT" --scan --pattern 'rw:loc:*' | xargs -r -n 500 redis-cli -p "$BENCH_REDIS_PORT" unlink >/dev/null
      bench_ringway_start "$build" "$2" || return 1
      target_port=$BENCH_SIP_PORT
      target_pids=("$BENCH_EDGE_PID" "$BENCH_ROUTER_PID" "$BENCH_REDIS_PID")
      if [ "$processes" -gt 1 ] && [ "$sipp_un" = 1 ]; then sipp_tr=(-t un -max_socket 10000); fi ;;
  esac
}

register_callee() {  # dir uas_port -> 0 when the callee registered
  local ok
  (cd "$1" && sipp -sf "$here/sip/register.xml" -inf "$work/users.csv" -key uas_port "$2" \
      -i 127.0.0.1 -buff_size 4194304 -p "$(bench_free_port)" -m 1 -timeout 20s -nostdin \
      -trace_stat -stf reg.csv -fd 1 "127.0.0.1:$target_port" >reg.out 2>&1)
  ok=$(bench_stat "$1/reg.csv" "SuccessfulCall(C)")
  [ "$ok" -eq 1 ] || { bench_log "the callee did not register (see $1/reg.out)"; return 1; }
}

# UDP receive-buffer drops so far, machine-wide (Udp: RcvbufErrors in /proc/net/snmp).
rcvbuf_errors() { awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1; next }
                       $1 == "Udp:" { print $c + 0 }' /proc/net/snmp; }

# CPU time (ms) of the whole machine so far: every core's user, nice, system, irq, softirq and
# steal time (the first line of /proc/stat).
machine_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%d\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz; exit }' /proc/stat; }

# CPU time (ms) of the children this shell has waited for (SIPp's caller, once it has exited).
waited_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$$/stat"; }

# quiet_wait SECONDS: wait (at most SECONDS) until the other programs on the machine use under 15 %
# of one core over 2 s, so that a step does not start while a build or a test runs beside it.
quiet_wait() {
  local t0=$SECONDS c0 c1
  while :; do
    c0=$(machine_cpu_ms); sleep 2; c1=$(machine_cpu_ms)
    [ $((c1 - c0)) -lt 300 ] && return 0
    [ $((SECONDS - t0)) -ge "$1" ] && { bench_log "the machine stayed busy for $1 s (other programs: $(((c1 - c0) / 20)) % of a core); measuring anyway"; return 1; }
  done
}

# bench_edge_shed: INVITEs sip-edge answered 503 under overload, summed over its processes.
bench_edge_shed() {
  local i n=0 v
  for i in $(seq 0 "$BENCH_EDGE_PROCESSES"); do
    v=$(curl -fsS "http://127.0.0.1:$((BENCH_EDGE_HTTP + i))/metrics" 2>/dev/null |
        awk '$1 ~ /^ringway_sip_edge_shed_total\{reason="(routing|latency|queue|calls)"\}$/ { s += $2 } END { print s + 0 }')
    n=$((n + ${v:-0}))
  done
  echo "$n"
}

# bench_edge_counts: sip-edge's 503s by reason ("shed:REASON N") and the responses relayed between
# its workers ("relayed N") so far, summed over its processes, one per line.
bench_edge_counts() {
  local i
  for i in $(seq 0 "$BENCH_EDGE_PROCESSES"); do
    echo "# process $i"; curl -fsS "http://127.0.0.1:$((BENCH_EDGE_HTTP + i))/metrics" 2>/dev/null
  done | awk '$1 == "#" && $2 == "process" { w = $3 }
              $1 ~ /^ringway_sip_edge_shed_total\{reason="/ { r = $1; sub(/^.*reason="/, "", r); sub(/".*$/, "", r); s["shed:" r] += $2 }
              $1 == "ringway_sip_edge_responses_relayed_total" { s["relayed"] += $2 }
              $1 == "ringway_sip_edge_calls_offered_total" { s["offered:" w] = $2 }
              END { for (k in s) print k, s[k] + 0 }'
}

# bench_edge_step FILE0 FILE1 CALLS: what the step added between two bench_edge_counts, in words.
bench_edge_step() {
  awk -v n="$3" -v p="$BENCH_EDGE_PROCESSES" 'NR == FNR { a[$1] = $2; next } { d[$1] = $2 - a[$1] }
    END { o = ""; for (k in d) if (k ~ /^shed:/ && d[k] > 0) o = o sprintf("%s %d, ", substr(k, 6), d[k])
          w = ""; for (i = (p > 1 ? 1 : 0); i <= (p > 1 ? p : 0); i++) w = w sprintf("%s%d", (w == "" ? "" : "/"), d["offered:" i])
          printf "503s: %s; responses relayed between workers: %d (%.2f per call); calls offered per worker: %s",
                 (o == "" ? "none" : substr(o, 1, length(o) - 2)), d["relayed"], (n > 0 ? d["relayed"] / n : 0), w }' "$1" "$2"
}

# bench_proxy_mem TARGET PID...: memory of the proxy after a sustained run. sip-edge: VmRSS and
# VmHWM of every ringway-sip-edge process among PID... and their descendants; others: each one's.
bench_proxy_mem() {
  local t=$1 p out="" kids todo all=(); shift; todo=("$@")
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}"); all+=("$p")
    kids=$(ps -o pid= --ppid "$p" 2>/dev/null) || true
    for k in $kids; do todo+=("$k"); done
  done
  for p in "${all[@]}"; do
    if [ "$t" = ringway ] && ! grep -q sip-ed "/proc/$p/comm" 2>/dev/null; then continue; fi
    out+=$(awk -v p="$p" '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 }
      END { printf "pid %s VmRSS %.0f MB VmHWM %.0f MB; ", p, r / 1024, h / 1024 }' "/proc/$p/status" 2>/dev/null)
  done
  if [ "$t" = ringway ]; then   # what NTA holds: the memory a rate keeps (docs/sip-edge.md)
    local i tx
    for i in $(seq 0 "$BENCH_EDGE_PROCESSES"); do
      tx=$(curl -fsS "http://127.0.0.1:$((BENCH_EDGE_HTTP + i))/metrics" 2>/dev/null |
           awk '$1 ~ /^ringway_sip_edge_transactions\{side="server"\}$/ { s = $2 } $1 ~ /^ringway_sip_edge_transactions\{side="client"\}$/ { c = $2 }
                END { if (s != "") printf "transactions held: %d server, %d client; ", s, c }')
      out+=$tx
    done
  fi
  echo "${out:-no process found}"
}

echo "set-up time = INVITE sent -> 200 received, ms (SIPp's clock: 1 ms resolution); added = minus direct's at that rate;"
echo "drops = UDP RcvbufErrors during the step (machine-wide); cpu_us = the proxy's CPU time per completed call"
echo "(Ringway: sip-edge + router + redis-server); load = 1-min load average before the step"
echo "build $build, commit $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown), sip-edge processes $processes, $(nproc) cores"
echo "gen_us = SIPp's CPU per completed call (caller + callee); others = % of one core the machine's other programs used"
echo "during the step (the whole machine's CPU time minus the proxy's and SIPp's): above 20 the step measured the machine"
printf '%-17s %6s %8s %7s %8s %8s %7s %7s %9s %9s %6s %-5s %6s %6s %6s %s\n' target rate completed failed retrans \
  "calls/s" "set_p50" "set_p99" "added_p50" "added_p99" drops clean cpu_us gen_us others load
busy_steps=0
declare -A best direct_p50 direct_p99 sustain_line overload_line
for t in $targets; do
  best[$t]=0
  if [ "$t" = ringway ] && ! ringway_ready; then best[$t]=skipped; continue; fi
  # shellcheck disable=SC2086
  set -- $rates; sustained=0 over=0 phase=ladder
  while :; do  # the ladder, then (--sustain) its highest clean rate for longer, then (--overload) twice it
    if [ $# -gt 0 ]; then r=$1 step=$secs; shift
    elif [ "$sustain" -gt 0 ] && [ "$sustained" -eq 0 ] && [ "$t" != direct ] && [[ "${best[$t]}" =~ ^[1-9][0-9]*$ ]]; then
      r=${best[$t]} step=$sustain sustained=1 phase=sustain
    elif [ "$overload" -gt 0 ] && [ "$over" -eq 0 ] && [ "$t" != direct ] && [[ "${best[$t]}" =~ ^[1-9][0-9]*$ ]]; then
      r=$((2 * best[$t])) step=$overload over=1 phase=overload
    else break; fi
    d="$work/$t-$r-$step"; mkdir -p "$d"
    [ "$quiet" -gt 0 ] && quiet_wait "$quiet"
    uas=$(bench_free_port)
    (cd "$d" && exec sipp -sf "$here/sip/call-uas.xml" -i 127.0.0.1 -p "$uas" -nostdin -buff_size 4194304 \
        -timeout "$((step + warm + idle + 60))s" -trace_stat -stf uas.csv -fd 1 >uas.out 2>&1) &
    uas_pid=$!
    bench_wait_udp "$uas" 5 || { bench_log "the UAS did not start"; bench_stop "$uas_pid"; break; }
    if [ "$t" = direct ]; then
      target_port=$uas target_pids=() sipp_tr=()
    elif ! start_target "$t" "$d" || ! register_callee "$d" "$uas"; then
      bench_stop "${target_pids[@]}" "$uas_pid"; best[$t]=error; break
    fi
    if [ "$warm" -gt 0 ]; then
      # Calls not counted, so that the step measures a proxy whose memory is already in use,
      # as in service, rather than the first touch of every page (a fresh Kamailio took ~10
      # page faults per call in a 5 s step, at ~11 us each on a virtual machine).
      wr=$r; [ "$phase" = overload ] && wr=${best[$t]}
      mkdir -p "$d/warm"
      (cd "$d/warm" && sipp -sf "$here/sip/call-uac.xml" -s "$callee" "${sipp_tr[@]}" -i 127.0.0.1 -p "$(bench_free_port)" \
          -m "$((wr * warm))" -r "$wr" -l "$((wr * 5 + 200))" -d "$hold" -buff_size 4194304 -max_recv_loops 10000 \
          -max_sched_loops 10000 -recv_timeout 10000 -timeout "$((warm + 40))s" -nostdin -trace_stat -stf uac.csv -fd 1 \
          "127.0.0.1:$target_port" >uac.out 2>&1)
      sleep "$idle"   # the warm-up's transactions end before the step starts
    fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    declare -A cpu0=()
    for p in "${target_pids[@]}"; do cpu0[$p]=$(bench_tree_cpu_ms "$p"); done
    drops0=$(rcvbuf_errors)
    calls=$((r * step)) limit=$((r * 5 + 200))
    [ "$t" = ringway ] && bench_edge_counts >"$d/edge0.txt"
    uas0=$(bench_tree_cpu_ms "$uas_pid") mach0=$(machine_cpu_ms) t0=$(date +%s%3N) uac0=$(waited_cpu_ms)
    (cd "$d" && sipp -sf "$here/sip/call-uac.xml" -s "$callee" "${sipp_tr[@]}" -i 127.0.0.1 -p "$(bench_free_port)" \
        -m "$calls" -r "$r" -l "$limit" -d "$hold" -buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000 \
        -recv_timeout 10000 -timeout "$((step + 40))s" -nostdin -trace_stat -stf uac.csv -fd 1 \
        -trace_rtt -rtt_freq 100 "127.0.0.1:$target_port" >uac.out 2>&1)
    uac_ms=$(( $(waited_cpu_ms) - uac0 )) uas_ms=$(( $(bench_tree_cpu_ms "$uas_pid") - uas0 ))
    mach_ms=$(( $(machine_cpu_ms) - mach0 )) wall_ms=$(( $(date +%s%3N) - t0 ))
    drops=$(( $(rcvbuf_errors) - drops0 ))
    cpu_ms=0 split=""
    for p in "${target_pids[@]}"; do
      c=$(( $(bench_tree_cpu_ms "$p") - cpu0[$p] )); cpu_ms=$((cpu_ms + c))
      split+="$(tr -d '\n' <"/proc/$p/comm" 2>/dev/null || echo "$p") ${c} ms, "
    done
    [ "$phase" = sustain ] && mem=$(bench_proxy_mem "$t" "${target_pids[@]}")
    shed=-; [ "$phase" = overload ] && [ "$t" = ringway ] && shed=$(bench_edge_shed)
    [ "$t" = ringway ] && bench_edge_counts >"$d/edge1.txt"
    bench_stop "${target_pids[@]:0:2}" "$uas_pid"   # redis-server (Ringway's third) stays for the next step
    ok=$(bench_stat "$d/uac.csv" "SuccessfulCall(C)")
    retr=$(bench_stat "$d/uac.csv" "Retransmissions(C)")
    read -r n p50 p99 span < <(bench_rtt "$(ls "$d"/call-uac_*_rtt.csv 2>/dev/null | head -1)")
    failed=$((calls - ok))
    counts=""; [ "$t" = ringway ] && counts=$(bench_edge_step "$d/edge0.txt" "$d/edge1.txt" "$calls")
    us_call=$(awk -v c="$cpu_ms" -v n="$ok" 'BEGIN { printf "%d", (n > 0 ? c * 1000 / n : 0) }')
    gen_us=$(awk -v c="$((uac_ms + uas_ms))" -v n="$ok" 'BEGIN { printf "%d", (n > 0 ? c * 1000 / n : 0) }')
    # what the other programs on the machine used meanwhile, in % of one core
    others=$(awk -v m="$mach_ms" -v b="$((cpu_ms + uac_ms + uas_ms))" -v w="$wall_ms" \
      'BEGIN { o = (w > 0 ? (m - b) * 100 / w : 0); printf "%d", (o < 0 ? 0 : o) }')
    [ "$others" -gt 20 ] && busy_steps=$((busy_steps + 1))
    achieved=$(awk -v n="$n" -v s="$span" 'BEGIN { printf "%.0f", (s > 0 ? (n - 1) * 1000 / s : 0) }')
    clean=$(awk -v f="$failed" -v c="$calls" -v a="$achieved" -v r="$r" -v d="$drops" \
      'BEGIN { print (f * 1000 < c && a >= 0.95 * r && d == 0) ? "yes" : "no" }')
    if [ "$t" = direct ]; then direct_p50[$r]=$p50 direct_p99[$r]=$p99; fi
    add50=$(awk -v a="$p50" -v b="${direct_p50[$r]:-}" 'BEGIN { print (b == "" ? "-" : sprintf("%.3f", a - b)) }')
    add99=$(awk -v a="$p99" -v b="${direct_p99[$r]:-}" 'BEGIN { print (b == "" ? "-" : sprintf("%.3f", a - b)) }')
    printf '%-17s %6d %8d %7d %8d %8d %7s %7s %9s %9s %6d %-5s %6s %6s %6s %s\n' "$t" "$r" "$ok" "$failed" "$retr" \
      "$achieved" "$p50" "$p99" "$add50" "$add99" "$drops" "$clean" "$us_call" "$gen_us" "$others" "$load"
    if [ "$t" = ringway ]; then echo "  cpu ringway $r/s ($phase): ${split%, } for $ok calls; $counts"; fi
    if [ "$phase" = overload ]; then
      echo "overload $t: $r calls/s offered for ${step} s: $ok of $calls calls completed, $achieved calls/s carried, $retr retransmissions, 503 + Retry-After: $shed"
      overload_line[$t]="$r/s offered: $ok of $calls completed, $achieved/s carried, $retr retransmissions, 503s $shed (highest clean rate ${best[$t]})"
    elif [ "$phase" = sustain ]; then
      echo "sustained $t: ${step} s at $r calls/s offered, $achieved achieved, clean=$clean; $mem"
      sustain_line[$t]="${step} s at $r calls/s (achieved $achieved, clean=$clean): $mem"
    elif [ "$clean" = yes ]; then best[$t]=$r; elif [ "$keep" -eq 0 ]; then set --; fi
    sleep "$idle"   # let the machine settle (TIME_WAIT, SIPp's and the kernel's buffers)
  done
done

echo
echo "highest clean rate (calls/s, < 0.1 % failed, no UDP drops, >= 95 % of offered; ${secs} s steps, ${hold} ms hold):"
for t in $targets; do printf '  %-17s %s\n' "$t" "${best[$t]}"; done
kt=${best[kamailio-tuned]:-} rw=${best[ringway]:-}
if [[ "$kt" =~ ^[0-9]+$ && "$rw" =~ ^[0-9]+$ && "$kt" -gt 0 ]]; then
  awk -v a="$rw" -v b="$kt" 'BEGIN { printf "ringway / kamailio-tuned = %.2f\n", a / b }'
else
  echo "ringway / kamailio-tuned: n/a (ringway ${rw:-not run}, kamailio-tuned ${kt:-not run})"
fi
if [ "$busy_steps" -gt 0 ]; then
  echo "WARNING: in $busy_steps step(s) other programs used more than 20 % of a core (column others): those figures"
  echo "measured the machine, not the proxy; run again on a quiet machine (--quiet S waits for one before each step)"
fi
if [ "$sustain" -gt 0 ]; then
  echo "sustained runs (--sustain $sustain):"
  for t in $targets; do [ -n "${sustain_line[$t]:-}" ] && printf '  %-17s %s\n' "$t" "${sustain_line[$t]}"; done
fi
if [ "$overload" -gt 0 ]; then
  echo "overload, twice the highest clean rate for $overload s (--overload):"
  for t in $targets; do [ -n "${overload_line[$t]:-}" ] && printf '  %-17s %s\n' "$t" "${overload_line[$t]}"; done
fi
exit 0
