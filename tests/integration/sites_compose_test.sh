#!/usr/bin/env bash
# tests/integration/sites_compose_test.sh — compose/compose.yml is a valid Compose file (`docker
# compose config`, or Debian's docker-compose) and describes what docs/operations.md promises of
# a two-site deployment; no container is started. Checked on the file as Compose resolves it:
#   - two sites (profiles site-a, site-b) with at least two instances of every service the
#     build makes (router, sip-edge, presence, huntgroup, calendar, gateway) on each;
#   - every Ringway service has a healthcheck on its /health and waits for what it needs
#     (depends_on with a condition), each site's only on its own site's services and the
#     profile-less secrets job, so a site runs on its own hosts;
#   - the one-shot jobs: secrets (no default secret, ringway-change-me nowhere) and the
#     directory import (`ringway import`);
#   - Redis master on A, replica on B; three Sentinels, on A, B and the witness, quorum 2, so
#     losing either site leaves a majority; every service lists its own site's first.
# A file with a misspelled depends_on condition is shown to be refused the same way.
set -uo pipefail
top=${RINGWAY_SOURCE_DIR:?}
build=${RINGWAY_BUILD_DIR:?}
cf=$top/compose/compose.yml

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"
rw_workdir

if docker compose version >/dev/null 2>&1; then dc=(docker compose)
elif command -v docker-compose >/dev/null; then dc=(docker-compose)
else dc=(); fi
check "docker compose or docker-compose is installed (tools/install-deps.sh test: docker-compose)" [ ${#dc[@]} -gt 0 ]
[ ${#dc[@]} -gt 0 ] || { echo "sites_compose_test: $pass passed, $failed failed"; exit 1; }
echo "validating with: ${dc[*]} ($("${dc[@]}" version --short 2>/dev/null || "${dc[@]}" version | head -1))"
all=(--profile site-a --profile site-b --profile witness)
config() {  # FILE PROFILE-ARGS... -> normalized YAML on stdout
  local f=$1; shift
  (cd "$(dirname "$f")" && env -u RINGWAY_AUTH_NONCE_SECRET "${dc[@]}" -p ringway -f "$(basename "$f")" "$@" config)
}
check "compose config accepts compose.yml (all profiles)" bash -c "$(declare -f config); dc=(${dc[*]}); config '$cf' ${all[*]} >'$dir/all.yml' 2>'$dir/all.err'"
[ -s "$dir/all.err" ] && sed 's/^/  compose: /' "$dir/all.err"
for p in site-a site-b witness; do
  check "compose config accepts the $p profile on its own" bash -c "$(declare -f config); dc=(${dc[*]}); config '$cf' --profile $p >'$dir/$p.yml' 2>&1"
done

services=()
for d in "$top"/services/*/; do
  s=$(basename "$d"); [ "$s" = core ] || [ ! -f "$d/CMakeLists.txt" ] || services+=("$s")
done

# The structure, read from Compose's own resolution of the file (anchors merged).
python3 - "$dir" "${services[@]}" >"$dir/checks.txt" 2>&1 <<'PY'
import sys, yaml, re
d, services = sys.argv[1], sys.argv[2:]
def say(ok, what):
    print(("ok " if ok else "FAIL ") + what)
try:
    doc = yaml.safe_load(open(f"{d}/all.yml"))
except Exception as e:
    say(False, f"the resolved file reads as YAML ({e})"); sys.exit(0)
svcs = doc.get("services", {})
prof = {n: (s.get("profiles") or []) for n, s in svcs.items()}
def cmdline(s):
    c = s.get("command") or []
    return " ".join(c) if isinstance(c, list) else str(c)
def runs(s, name):
    return re.search(r"(^|\s)ringway-%s(\s|$)" % re.escape(name), cmdline(s)) is not None
for site in ("site-a", "site-b"):
    for name in services:
        n = [k for k, s in svcs.items() if site in prof[k] and runs(s, name)]
        say(len(n) >= 2, f"{site}: {len(n)} instances of {name} ({', '.join(sorted(n))})")
for k, s in svcs.items():
    if not any(runs(s, name) for name in services):
        continue
    hc = " ".join(s.get("healthcheck", {}).get("test", []) or [])
    say("/health" in hc, f"{k}: healthcheck on /health")
    dep = s.get("depends_on") or {}
    conds = [v.get("condition") for v in dep.values()] if isinstance(dep, dict) else []
    say(bool(conds) and all(conds), f"{k}: depends_on with conditions ({', '.join(sorted(dep))})")
cross = 0
for k, s in svcs.items():   # each site runs on its own: its dependencies are its own or profile-less
    for dep in (s.get("depends_on") or {}):
        if prof[dep] and not set(prof[dep]) & set(prof[k]):
            say(False, f"{k} ({prof[k]}) depends on {dep} ({prof[dep]}) of another site")
            cross += 1
say(cross == 0, "no service depends on another site's")
imp = [k for k, s in svcs.items() if "ringway import" in cmdline(s)]
say(len(imp) == 1 and svcs[imp[0]].get("restart") in ("no", "on-failure"), f"a one-shot job loads the directory ({imp})")
sec = svcs.get("secrets", {})
say(not prof.get("secrets", ["x"]) and "ringway-secrets.sh" in " ".join(sec.get("entrypoint") or []),
    "a profile-less one-shot secrets job (compose/bin/ringway-secrets.sh)")
edges = [k for k, s in svcs.items() if runs(s, "sip-edge")]
say(all((svcs[k].get("depends_on") or {}).get("secrets", {}).get("condition") == "service_completed_successfully" for k in edges),
    "every sip-edge waits for the secrets job")
say("ringway-change-me" not in open(f"{d}/all.yml").read(), "ringway-change-me appears nowhere")
sent = {k: s for k, s in svcs.items() if "--sentinel" in " ".join(s.get("entrypoint") or []) + cmdline(s)}
where = sorted(p for k in sent for p in prof[k])
say(where == ["site-a", "site-b", "witness"], f"three Sentinels, one each on site-a, site-b, witness ({where})")
quorum = set()
for k, s in sent.items():
    m = re.search(r"sentinel monitor ringway (\S+) (\d+) (\d+)", " ".join(s.get("entrypoint") or []))
    quorum.add(m.groups() if m else None)
say(len(quorum) == 1 and None not in quorum and list(quorum)[0][2] == "2", f"every Sentinel monitors one master with quorum 2 ({quorum})")
ip = {k: list((s.get("networks") or {}).values())[0].get("ipv4_address") for k, s in svcs.items() if s.get("networks")}
master = list(quorum)[0][0] if len(quorum) == 1 and None not in quorum else None
ra = [k for k, v in ip.items() if v == master]
say(ra == ["redis-a"] and "site-a" in prof["redis-a"], f"the monitored master is redis-a on site A ({ra})")
say(f"--replicaof {master} 6379" in cmdline(svcs.get("redis-b", {})) and "site-b" in prof.get("redis-b", []),
    "redis-b on site B replicates it")
say(all("--appendonly yes" in cmdline(svcs[k]) for k in ("redis-a", "redis-b")), "both Redis nodes keep an append-only file")
own_first = 0
sent_ip = {prof[k][0]: ip.get(k) for k in sent}
for k, s in svcs.items():
    first = str((s.get("environment") or {}).get("RINGWAY_REDIS_SENTINELS", "")).split(":")[0]
    if first and prof[k] and first != sent_ip.get(prof[k][0]):
        say(False, f"{k} asks {first} first, not its own site's Sentinel {sent_ip.get(prof[k][0])}")
        own_first += 1
say(own_first == 0, "every service asks its own site's Sentinel first")
ips = [v for v in ip.values() if v]
say(len(ips) == len(set(ips)), f"every address is used once ({len(ips)} addresses)")
PY
while read -r verdict what; do
  check "$what" [ "$verdict" = ok ]
done <"$dir/checks.txt"

# The validation can fail: a misspelled condition is refused.
sed '0,/condition: service_healthy/s//condition: service_healthyy/' "$cf" >"$dir/bad.yml"
check "a misspelled depends_on condition is refused" bash -c "$(declare -f config); dc=(${dc[*]}); ! config '$dir/bad.yml' ${all[*]} >/dev/null 2>&1"

echo "sites_compose_test: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
