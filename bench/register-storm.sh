#!/usr/bin/env bash
# bench/register-storm.sh — digest-authenticated REGISTERs per second, Ringway's sip-edge and
# Kamailio's registrar in the same run, and the generator's own ceiling. SIPp
# (bench/sip/register.xml) keeps a fixed number of registrations in flight (closed loop), each
# REGISTER -> 401 -> REGISTER with credentials -> 200, until every binding is made. B bindings
# are spread over U users (digest user = extension 1000, 1001, ...), up to 16 contacts each
# (both registrars allow 16). Targets:
#   generator         SIPp answering SIPp (bench/sip/register-uas.xml: 401, then 200 without
#                     checking anything): the rate the load generator itself can reach
#   generator-un      the same with one UDP socket per registration (a default target with
#                     --sipp-un and --processes > 1)
#   kamailio-tuned    bench/kamailio/run.sh registrar-tuned (bench/kamailio/registrar.cfg:
#   kamailio-default  credentials in htable, bindings in memory; -x tlsf -m 4096 or qm -m 1024)
#   ringway           redis-server + sip-edge (--processes N workers, default 2 as make demo
#                     ships it, which spread one socket's REGISTERs by branch,
#                     sip.spread_requests; --sipp-un: one socket per registration, -t un, for
#                     the kernel to spread) + router (idle here)
# Ringway's users are written straight into Redis in the directory's layout (docs/directory.md:
# rw:user:<id> with ha1/ha1_sha256/realm, rw:num:<ext>), because 100,000 extensions do not fit
# the 4-digit number plan the CLI import checks.
# Prints per target: bindings made, failed, seconds, REGISTERs/s (completed registrations),
# retransmissions, CPU per registration (every process of the target: Kamailio's; sip-edge's
# and redis-server's; the answering SIPp's for `generator`), peak memory (the largest sum of
# the target's processes' Pss, sampled every 200 ms during the storm: shared memory counted
# once), for Ringway also Redis bytes per binding (INFO memory used_memory after minus before
# the storm, the nonce-count keys rw:nc:* removed first, divided by the bindings) and
# sip-edge's VmRSS after the storm; and the 1-min load average before the target.
#
# --callgrind DIR: instead, sip-edge's instructions per registration, which do not depend on
# the machine's load: the ringway target alone, one process under valgrind --tool=callgrind
# (profile kept in DIR for callgrind_annotate), --users registrations (default 2,000) at
# --inflight (default 10) after 200 to warm up, counters zeroed between; the dump is taken once
# NTA holds no transaction any more (the /metrics gauge), so a transaction's expiry counts too.
#
# Usage: bench/register-storm.sh [--users U] [--bindings B] [--full] [--inflight N]
#                                [--processes N] [--targets "generator kamailio-tuned ..."]
#                                [--callgrind DIR] [--sipp-un] [BUILD_DIR]
# Defaults: 10,000 users with one binding each, 400 in flight (a few seconds per target);
# --full: 100,000 users, one binding each. B defaults to U.
set -uo pipefail
BENCH_NAME=register-storm
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
BENCH_FIRST_EXT=1000

users="" bindings="" inflight="" build=build/release processes=2 callgrind=""
targets="generator kamailio-tuned kamailio-default ringway"
sipp_un=0
while [ $# -gt 0 ]; do
  case "$1" in
    --users) users=$2; shift ;;
    --bindings) bindings=$2; shift ;;
    --full) users=100000 ;;
    --inflight) inflight=$2; shift ;;
    --targets) targets=$2; shift ;;
    --processes) processes=$2; shift ;;
    --callgrind) callgrind=$2; shift ;;
    --sipp-un) sipp_un=1 ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    -*) echo "register-storm: unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
command -v sipp >/dev/null || { echo "register-storm: sipp not installed" >&2; exit 1; }
if [ -n "$callgrind" ]; then
  users=${users:-2000} inflight=${inflight:-10} processes=1 targets=ringway
  mkdir -p "$callgrind" && callgrind=$(cd "$callgrind" && pwd) || exit 2
  BENCH_EDGE_WRAP=(valgrind --tool=callgrind --callgrind-out-file="$callgrind/callgrind.out.%p")
fi
users=${users:-10000} inflight=${inflight:-400}
bindings=${bindings:-$users}
[[ "$users" =~ ^[1-9][0-9]*$ && "$bindings" =~ ^[1-9][0-9]*$ ]] ||
  { echo "register-storm: --users and --bindings take positive numbers" >&2; exit 2; }
[ $(( (bindings + users - 1) / users )) -le 16 ] || { echo "register-storm: at most 16 bindings per user" >&2; exit 2; }
[[ "$processes" =~ ^[1-9][0-9]?$ ]] || { echo "register-storm: --processes takes 1..99" >&2; exit 2; }
BENCH_EDGE_PROCESSES=$processes
BENCH_EDGE_ENV+=("RINGWAY_SIP_PROCESSES=$processes")
[ "$processes" -gt 1 ] && [ "$sipp_un" = 1 ] && [ "$targets" = "generator kamailio-tuned kamailio-default ringway" ] &&
  targets="generator generator-un kamailio-tuned kamailio-default ringway"

work=$(mktemp -d "${TMPDIR:-/tmp}/rw-reg-storm.XXXXXX")
cleanup() { bench_stop_all; [ -n "${BENCH_KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_storm_csv "$bindings" "$users" "$work/storm.csv"
bench_kam_db "$users" "$work/kamdb"
# the htable's table (registrar.cfg): key = extension, value = password
printf '0:creds:2\n' >>"$work/kamdb/version"
awk -v n="$users" -v first="$BENCH_FIRST_EXT" 'BEGIN {
  print "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int) "
  for (i = 0; i < n; i++) printf "%d:%d:0:0:pw-%d:0\n", i + 1, first + i, first + i }' >"$work/kamdb/creds"
contact_port=$(bench_free_port)   # nothing listens there: registrations only

# ringway_users N PORT: the N bench users into the Redis on PORT, in the layout the CLI import
# writes (rw:users, rw:user:<id> with HA1s, rw:user:<id>:devices, rw:num:<ext>, rw:dir:schema).
ringway_users() {
  perl -MDigest::MD5=md5_hex -MDigest::SHA=sha256_hex -e '
    my ($n, $first, $realm) = @ARGV;
    sub cmd { my $s = "*" . @_ . "\r\n"; $s .= "\$" . length($_) . "\r\n$_\r\n" for @_; print $s; }
    cmd("SET", "rw:dir:schema", "1");
    for my $i (0 .. $n - 1) {
      my $e = $first + $i; my $id = "u$e"; my $a = "$e:$realm:pw-$e";
      cmd("HSET", "rw:user:$id", "id", $id, "ext", $e, "number", "", "name", "Bench $e", "site", "",
          "tz", "Europe/London", "realm", $realm, "ha1", md5_hex($a), "ha1_sha256", sha256_hex($a), "ver", "2");
      cmd("HSET", "rw:user:$id:devices", "phone", "sip ");
      cmd("SET", "rw:num:$e", $id);
      cmd("SADD", "rw:users", $id);
    }' "$1" "$BENCH_FIRST_EXT" "$BENCH_REALM" | redis-cli -p "$2" --pipe
}

# redis_drop PORT PATTERN: deletes the keys matching PATTERN.
redis_drop() {
  redis-cli -p "$1" --scan --pattern "$2" | xargs -r -n 500 redis-cli -p "$1" unlink >/dev/null
}

# tree_pids PID...: the PIDs and all their descendants.
tree_pids() {
  local todo=("$@") p k
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}"); echo "$p"
    for k in $(ps -o pid= --ppid "$p" 2>/dev/null); do todo+=("$k"); done
  done
}

# peak_pss PID...: until killed, samples every 200 ms the sum of Pss (kB) of PID... and their
# descendants and writes the largest so far to stdout's file (one number, rewritten).
peak_pss() {
  local out=$1 peak=0 now
  shift
  while :; do
    now=$(for p in $(tree_pids "$@"); do cat "/proc/$p/smaps_rollup" 2>/dev/null; done |
          awk '$1 == "Pss:" { t += $2 } END { print t + 0 }')
    if [ "$now" -gt "$peak" ]; then peak=$now; echo "$peak" >"$out"; fi
    sleep 0.2
  done
}

# rss_tree_kb PID: resident memory (VmRSS, kB) of PID and all its descendants (sip-edge may run
# several worker processes).
rss_tree_kb() {
  local todo=("$1") p t=0 k
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}")
    k=$(bench_rss_kb "$p"); t=$(( t + ${k:-0} ))
    for k in $(ps -o pid= --ppid "$p" 2>/dev/null); do todo+=("$k"); done
  done
  echo "$t"
}

# storm DIR PORT SOCKETS PID... -> prints "ok failed seconds retrans cpu_us_per_reg peak_pss_kB"
# (SOCKETS: "un" for one UDP socket per registration, else one socket for all)
storm() {
  local d=$1 port=$2 tr=() t0 t1 cpu0 cpu1 ok sampler
  [ "$3" = un ] && tr=(-t un -max_socket 10000)
  shift 3
  echo 0 >"$d/peak"
  peak_pss "$d/peak" "$@" &
  sampler=$!
  cpu0=$(bench_tree_cpu_ms "$@")
  local each0=() each1=() pid
  for pid in "$@"; do each0+=("$(bench_tree_cpu_ms "$pid")"); done
  t0=$(date +%s%N)
  (cd "$d" && sipp -sf "$here/sip/register.xml" -inf "$work/storm.csv" -key uas_port "$contact_port" \
      -i 127.0.0.1 -buff_size 4194304 -p "$(bench_free_port)" -r 1000000 -l "$inflight" -m "$bindings" \
      -max_recv_loops 10000 -max_sched_loops 10000 "${tr[@]}" \
      -timeout 600s -nostdin -trace_stat -stf reg.csv -fd 1 "127.0.0.1:$port" >reg.out 2>&1)
  t1=$(date +%s%N)
  cpu1=$(bench_tree_cpu_ms "$@")
  for pid in "$@"; do each1+=("$(bench_tree_cpu_ms "$pid")"); done
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
  ok=$(bench_stat "$d/reg.csv" "SuccessfulCall(C)")
  local i split=""                    # each process tree's CPU per registration, in "$@"'s order
  for i in "${!each0[@]}"; do
    split+="$(( ok > 0 ? (each1[i] - each0[i]) * 1000 / ok : 0 )),"
  done
  echo "${split%,}" >"$d/cpu_split"
  awk -v ok="$ok" -v n="$bindings" -v ns=$((t1 - t0)) -v r="$(bench_stat "$d/reg.csv" "Retransmissions(C)")" \
      -v cpu=$((cpu1 - cpu0)) -v peak="$(cat "$d/peak")" \
      'BEGIN { printf "%d %d %.2f %d %d %d\n", ok, n - ok, ns / 1e9, r, (ok > 0 ? cpu * 1000 / ok : 0), peak }'
}

# count_instructions DIR: the --callgrind run against the sip-edge started (see the header).
count_instructions() {
  local d=$1 i held file ir ok
  bench_storm_csv 200 200 "$d/warm.csv"
  sed -i 's/;b\([0-9]*\);$/;w\1;/' "$d/warm.csv"      # warm-up contacts apart from the counted ones
  (cd "$d" && sipp -sf "$here/sip/register.xml" -inf "$d/warm.csv" -key uas_port "$contact_port" \
     -i 127.0.0.1 -p "$(bench_free_port)" -r 1000000 -l "$inflight" -m 200 -timeout 120s -nostdin \
     "127.0.0.1:$BENCH_SIP_PORT" >warm.out 2>&1)
  callgrind_control -z "$BENCH_EDGE_PID" >/dev/null 2>&1
  (cd "$d" && sipp -sf "$here/sip/register.xml" -inf "$work/storm.csv" -key uas_port "$contact_port" \
     -i 127.0.0.1 -p "$(bench_free_port)" -r 1000000 -l "$inflight" -m "$bindings" -timeout 600s -nostdin \
     -trace_stat -stf reg.csv -fd 1 "127.0.0.1:$BENCH_SIP_PORT" >reg.out 2>&1)
  for ((i = 0; i < 60; i++)); do       # until NTA holds no server transaction (at most 60 s;
    sleep 1                            # the gauge is refreshed every second)
    held=$(curl -fsS "http://127.0.0.1:$BENCH_EDGE_HTTP/metrics" 2>/dev/null |
           awk '/^ringway_sip_edge_transactions\{side="server"\}/ { print $2 + 0 }')
    [ "${held:-1}" = 0 ] && break
  done
  callgrind_control -d "$BENCH_EDGE_PID" >/dev/null 2>&1
  for ((i = 0; i < 100; i++)); do      # the dump is written by the valgrind'ed process
    file=$(ls -t "$callgrind"/callgrind.out.*.* 2>/dev/null | head -1)
    [ -n "$file" ] && grep -q '^summary:' "$file" && break
    sleep 0.1
  done
  ir=$(awk '/^summary:/ { print $2 }' "$file")
  ok=$(bench_stat "$d/reg.csv" "SuccessfulCall(C)")
  echo "sip-edge: $ok of $bindings registrations completed ($inflight in flight), $(bench_stat "$d/reg.csv" "Retransmissions(C)") retransmissions; ${ir:-?} instructions; $(( ${ir:-0} / (ok > 0 ? ok : 1) )) per registration"
  echo "profile: $file (callgrind_annotate $file)"
  bench_stop "$BENCH_EDGE_PID" "$BENCH_ROUTER_PID" "$BENCH_REDIS_PID"
}

printf 'register storm: %d bindings over %d users, %d in flight, digest auth (MD5; Kamailio: htable credentials)\n' "$bindings" "$users" "$inflight"
echo "build $build, commit $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown), sip-edge processes $processes, $(nproc) cores"
printf '%-17s %9s %7s %8s %11s %8s %7s %8s %14s %12s %s\n' target bindings failed seconds "REGISTER/s" \
  retrans cpu_us peak_MB "redis_B/bind" "edge_rss_MB" load
note=""
for t in $targets; do
  d="$work/$t"; mkdir -p "$d"
  load=$(cut -d' ' -f1 /proc/loadavg)
  case "$t" in
    generator|generator-un)
      port=$(bench_free_port)
      (cd "$d" && exec sipp -sf "$here/sip/register-uas.xml" -i 127.0.0.1 -p "$port" -buff_size 4194304 \
         -max_recv_loops 10000 -max_sched_loops 10000 -nostdin >uas.out 2>&1) &
      pid=$!
      bench_wait_udp "$port" 10 || { bench_log "generator did not start (see $d/uas.out)"; bench_stop "$pid"; continue; }
      read -r ok failed secs retr cpu peak < <(storm "$d" "$port" "${t#generator-}" "$pid")
      bench_stop "$pid"
      mem="-" rss="-" ;;
    kamailio-tuned|kamailio-default)
      port=$(bench_free_port)
      "$here/kamailio/run.sh" "registrar-${t#kamailio-}" "$port" "$work/kamdb" "$(nproc)" \
        >"$d/kamailio.log" 2>&1 &
      pid=$!
      bench_wait_udp "$port" 10 || { bench_log "$t did not start"; bench_stop "$pid"; continue; }
      read -r ok failed secs retr cpu peak < <(storm "$d" "$port" one "$pid")
      bench_stop "$pid"
      mem="-" rss="-" ;;
    ringway)
      if [ ! -x "$build/services/sip-edge/ringway-sip-edge" ]; then
        bench_log "ringway: SKIPPED, $build/services/sip-edge/ringway-sip-edge is not built yet"; continue
      fi
      bench_redis_start "$d/redis" || continue
      bench_pids+=("$BENCH_REDIS_PID")
      ringway_users "$users" "$BENCH_REDIS_PORT" >"$d/users.log" 2>&1 ||
        { bench_log "ringway: loading the users failed (see $d/users.log)"; continue; }
      bench_ringway_start "$build" "$d" || continue
      mem0=$(bench_redis_mem "$BENCH_REDIS_PORT")
      if [ -n "$callgrind" ]; then count_instructions "$d"; exit $?; fi
      read -r ok failed secs retr cpu peak < <(storm "$d" "$BENCH_SIP_PORT" "$([ "$processes" -gt 1 ] && [ "$sipp_un" = 1 ] && echo un)" \
                                                  "$BENCH_EDGE_PID" "$BENCH_REDIS_PID")
      redis_drop "$BENCH_REDIS_PORT" 'rw:nc:*'     # digest nonce counts: auth state, not bindings
      mem1=$(bench_redis_mem "$BENCH_REDIS_PORT")
      rss=$(awk -v k="$(rss_tree_kb "$BENCH_EDGE_PID")" 'BEGIN { printf "%.1f", k / 1024 }')
      mem=$(awk -v a="$mem0" -v b="$mem1" -v n="$ok" 'BEGIN { printf "%d", (n > 0 ? (b - a) / n : 0) }')
      IFS=, read -r edge_us redis_us <"$d/cpu_split"
      note="  ringway cpu_us per registration: sip-edge $edge_us, redis-server $redis_us"
      bench_stop "$BENCH_EDGE_PID" "$BENCH_ROUTER_PID" "$BENCH_REDIS_PID" ;;
    *) bench_log "unknown target $t"; continue ;;
  esac
  rate=$(awk -v ok="$ok" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? ok / s : 0) }')
  printf '%-17s %9d %7d %8s %11s %8d %7d %8.1f %14s %12s %s\n' "$t" "$ok" "$failed" "$secs" "$rate" "$retr" \
    "$cpu" "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" "$mem" "$rss" "$load"
  [ -n "$note" ] && echo "$note"
  note=""
done
