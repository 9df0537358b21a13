#!/usr/bin/env bash
# bench/kamailio/run.sh MODE PORT DBDIR [CHILDREN] — run the reference Kamailio in the
# foreground on udp:127.0.0.1:PORT with bench/kamailio/kamailio.cfg, until SIGTERM.
# MODE tuned:   TLSF shared memory (-x tlsf), 4 GiB shm (with 1 GiB tm runs out of shared
#               memory near 8,000 calls/s), 64 MiB pkg, 4 MiB socket buffers,
#               CHILDREN workers (default: the number of cores) — as operators run it.
# MODE default: the same but the default memory manager (qm).
# MODE registrar-tuned, registrar-default: the same memory settings with bench/kamailio/
#               registrar.cfg (a registrar only, credentials in htable; DBDIR holds `creds`).
# DBDIR holds the db_text tables `version` and `subscriber` (bench/lib.sh writes them).
# Extra arguments after CHILDREN are passed to kamailio (e.g. -m 2048).
set -euo pipefail
mode=${1:?usage: run.sh [registrar-]tuned|default PORT DBDIR [CHILDREN] [kamailio args...]}
port=${2:?port}
db=${3:?db_text directory}
children=${4:-$(nproc)}
shift $(( $# < 4 ? $# : 4 ))
here=$(cd "$(dirname "$0")" && pwd)
rundir=$(mktemp -d "${TMPDIR:-/tmp}/rw-kam-run.XXXXXX")
trap 'rm -rf "$rundir"' EXIT
cfg=$here/kamailio.cfg
case "$mode" in registrar-*) cfg=$here/registrar.cfg mode=${mode#registrar-} ;; esac
case "$mode" in
  tuned)   mem=(-x tlsf -m 4096 -M 64) ;;
  default) mem=(-m 1024 -M 64) ;;
  *) echo "run.sh: mode must be tuned or default" >&2; exit 2 ;;
esac
kamailio -DD -E -f "$cfg" -l "udp:127.0.0.1:$port" -Y "$rundir" -P "$rundir/pid" \
  -b 4194304 -n "$children" "${mem[@]}" -A "CHILDREN=$children" -A "DBURL=\"text://$db\"" \
  "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$rundir"' EXIT
trap 'exit 0' INT TERM
wait "$pid"
