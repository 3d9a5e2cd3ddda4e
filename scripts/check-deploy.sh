#!/usr/bin/env bash
# Checks the Dockerfile and deploy/ as far as a machine without a cluster can: promtool on the
# Prometheus config, alert rules and their unit tests; every YAML parses and the Agones objects
# carry what Agones validates; the dashboard's and rules' metric names exist in metrics.rs and
# in a live server's /metrics; the configs load in the real arena-server; the Dockerfile names
# packages, features and files that exist. A Docker build and anything on Kubernetes are out of
# reach here and say so (deploy/README.md).
#
# Installs what it lacks with apt-get (root, Debian/Ubuntu, as CI runs): Debian's `prometheus`
# package for promtool, python3-yaml. Ends with `deploy: N passed, N failed`; exits 1 on failure.
#
# Environment:
#   ARENA_SERVER_BIN       arena-server to start (default: target/debug/arena-server, built if
#                          absent and cargo is here)
#   PROMTOOL_SHA256        sha256 of prometheus-$PROMTOOL_VERSION.linux-amd64.tar.gz: when set
#                          and the local promtool lacks Kubernetes discovery, fetch the official
#                          release and check the config unaltered with it
#   DEPLOY_REQUIRE_AGONES  1: the server's agones feature and --agones flag must exist
#   DEPLOY_DOCKER_BUILD    1: with a reachable Docker daemon, build the image (slow) instead of
#                          only linting the Dockerfile
set -uo pipefail
cd "$(dirname "$0")/.."
PROMTOOL_VERSION=2.53.5

passed=0 failed=0 skipped=0
ok() { printf 'ok    %s\n' "$*"; passed=$((passed + 1)); }
fail() { printf 'FAIL  %s\n' "$*"; failed=$((failed + 1)); }
skip() { printf 'skip  %s\n' "$*"; skipped=$((skipped + 1)); }
# Runs a command; passes or fails the check named by $1, showing the output only on failure.
run() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$what"; else fail "$what"; printf '%s\n' "$out" | sed 's/^/      /'; fi
}
tmp=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
started=$(date +%s)

apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  if [ -z "${apt_updated:-}" ]; then apt-get update -qq >/dev/null 2>&1; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

# --- Python with PyYAML: the one that has it, else Debian's python3 with python3-yaml.
py=
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml, tomllib' 2>/dev/null; then
    py=$candidate
    break
  fi
done
if [ -z "$py" ] && apt_install python3-yaml && /usr/bin/python3 -c 'import yaml, tomllib' 2>/dev/null; then
  py=/usr/bin/python3
fi

# --- promtool.
if ! command -v promtool >/dev/null; then
  apt_install prometheus || true
  # The package's service is not wanted; in containers policy-rc.d usually keeps it stopped.
fi
promtool=$(command -v promtool || true)
# Debian builds Prometheus without Kubernetes service discovery (its NEWS.Debian: "Kubernetes
# support has been completely removed"), so its promtool rejects kubernetes_sd_configs.
printf 'scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n      - role: pod\n' >"$tmp/probe.yml"
k8s_sd=no
if [ -n "$promtool" ] && "$promtool" check config "$tmp/probe.yml" >/dev/null 2>&1; then
  k8s_sd=yes
elif [ -n "${PROMTOOL_SHA256:-}" ]; then
  tarball=prometheus-$PROMTOOL_VERSION.linux-amd64.tar.gz
  url=https://github.com/prometheus/prometheus/releases/download/v$PROMTOOL_VERSION/$tarball
  if curl -fsSL -o "$tmp/$tarball" "$url" &&
    echo "$PROMTOOL_SHA256  $tmp/$tarball" | sha256sum -c --quiet - &&
    tar -xzf "$tmp/$tarball" -C "$tmp" "prometheus-$PROMTOOL_VERSION.linux-amd64/promtool"; then
    promtool=$tmp/prometheus-$PROMTOOL_VERSION.linux-amd64/promtool
    k8s_sd=yes
  else
    fail "official promtool $PROMTOOL_VERSION: download or sha256 check failed ($url)"
  fi
fi

cd deploy/prometheus
if [ -z "$promtool" ]; then
  fail "promtool: not installed and apt-get could not install Debian's prometheus package"
else
  if [ "$k8s_sd" = yes ]; then
    run "promtool check config prometheus.yml" "$promtool" check config prometheus.yml
  else
    # Everything but the discovery block is still checked: relabel rules, rule files, globals.
    sed 's/^\(\s*\)kubernetes_sd_configs:/\1static_configs:/; s/^\(\s*\)- role: pod/\1- targets: ["pod:7777"]/' \
      prometheus.yml >"$tmp/prometheus.yml"
    cp rules.yml "$tmp/"
    run "promtool check config prometheus.yml (kubernetes_sd_configs swapped for static_configs)" \
      "$promtool" check config "$tmp/prometheus.yml"
    skip "kubernetes_sd_configs under promtool: $("$promtool" --version 2>&1 | head -1 | sed 's/ (.*//') is built without Kubernetes discovery (set PROMTOOL_SHA256 to use the official $PROMTOOL_VERSION)"
  fi
  run "promtool check rules rules.yml" "$promtool" check rules rules.yml
  run "promtool test rules rules.test.yml" "$promtool" test rules rules.test.yml
  # The dashboard's queries as recording rules, so Prometheus' own parser reads every one
  # (Grafana's variables replaced by what they expand to).
  if [ -n "$py" ] && "$py" - ../grafana/arena-fleet.json >"$tmp/dashboard-rules.yml" <<'EOF'; then
import json, sys
dash = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard\n    rules:")
for p in dash["panels"]:
    for t in p["targets"]:
        e = t["expr"].replace("$__rate_interval", "1m").replace("$namespace", ".*").replace("$pod", ".*")
        print(f"      - record: dashboard:panel{p['id']}:{t['refId']}\n        expr: {json.dumps(e)}")
EOF
    run "promtool parses every dashboard query" "$promtool" check rules "$tmp/dashboard-rules.yml"
  fi
fi
cd ../..

# --- A live server: the image's config and the Fleet's config load, its health endpoints
# answer, and /metrics has the names the dashboard and rules use.
bin=${ARENA_SERVER_BIN:-target/debug/arena-server}
if [ ! -x "$bin" ] && [ -z "${ARENA_SERVER_BIN:-}" ] && command -v cargo >/dev/null; then
  cargo build -q -p arena-server
fi
live_metrics=
start_server() { # config file; sets $server and $addr
  : >"$tmp/server.out"
  "$bin" --config "$1" --bind 127.0.0.1:0 >"$tmp/server.out" 2>"$tmp/server.err" &
  server=$!
  for _ in $(seq 1 100); do
    grep -q '^listening on http://' "$tmp/server.out" && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  addr=$(sed -n 's|^listening on http://||p' "$tmp/server.out")
  [ -n "$addr" ]
}
stop_server() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; server=; }
http_get() { # path -> the status code, body in $tmp/body
  local host=${addr%:*} port=${addr##*:}
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" "$addr" >&3
  cat <&3 >"$tmp/response"
  exec 3<&-
  sed '1,/^\r$/d' "$tmp/response" >"$tmp/body"
  head -1 "$tmp/response" | cut -d' ' -f2
}
if [ ! -x "$bin" ]; then
  skip "live server checks: no arena-server binary ($bin) and no cargo to build one"
else
  "${py:-python3}" - deploy/agones/fleet.yaml >"$tmp/fleet.toml" 2>/dev/null <<'EOF' || true
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap":
        sys.stdout.write(d["data"]["server.toml"])
EOF
  for cfg in deploy/server.toml "$tmp/fleet.toml"; do
    name=$cfg
    [ "$cfg" = "$tmp/fleet.toml" ] && name="the Fleet's ConfigMap server.toml"
    if start_server "$cfg"; then
      ok "arena-server starts with $name"
      run "$name: GET /healthz answers 200" test "$(http_get /healthz)" = 200
      run "$name: GET /readyz answers 200" test "$(http_get /readyz)" = 200
      if [ "$cfg" = deploy/server.toml ]; then
        run "$name: GET /metrics answers 200" test "$(http_get /metrics)" = 200
        cp "$tmp/body" "$tmp/metrics.txt"
        live_metrics=$tmp/metrics.txt
        # The Dockerfile's HEALTHCHECK command itself, pointed at this server's port.
        hc=$(sed -n 's/^ *CMD \["bash", "-c", "\(.*\)"\]$/\1/p' Dockerfile | sed 's/\\\\/\\/g')
        hc=${hc//127.0.0.1\/7777/${addr%:*}\/${addr##*:}}
        run "the Dockerfile's HEALTHCHECK command passes against a live server" bash -c "$hc"
      fi
      stop_server
    else
      fail "arena-server starts with $name: $(cat "$tmp/server.err")"
      stop_server
    fi
  done
fi

# --- Static checks of every file against the code (scripts/check-deploy.py).
if [ -z "$py" ]; then
  fail "python3 with PyYAML: not found and apt-get could not install python3-yaml"
else
  while IFS= read -r line; do
    case $line in
      "ok    "*) ok "${line#ok    }" ;;
      "skip  "*) skip "${line#skip  }" ;;
      *) fail "${line#FAIL  }" ;;
    esac
  done < <(LIVE_METRICS=$live_metrics "$py" scripts/check-deploy.py 2>&1 || echo "FAIL  scripts/check-deploy.py crashed")
fi

# --- Cargo itself resolves the Dockerfile's package and feature selection against Cargo.lock
# (cargo tree resolves without compiling, so no protoc is needed here).
build_args=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' Dockerfile | grep -o 'cargo build [^&]*' | head -1 | sed 's/^cargo build//; s/--release//')
if [ -z "$build_args" ]; then
  fail "the Dockerfile's cargo build command: not found"
elif ! command -v cargo >/dev/null; then
  skip "cargo tree on the Dockerfile's selection: cargo is not installed"
elif out=$(cargo tree $build_args --depth 0 2>&1 >/dev/null); then
  ok "cargo resolves the Dockerfile's selection ($(echo $build_args))"
elif grep -q 'contains this feature: arena-server/agones' <<<"$out" && [ "${DEPLOY_REQUIRE_AGONES:-}" != 1 ] &&
  ! grep -q 'agones' server/src/main.rs; then
  skip "cargo tree on the Dockerfile's selection: the agones feature is not in server/Cargo.toml yet"
else
  fail "cargo resolves the Dockerfile's selection ($(echo $build_args))"
  printf '%s\n' "$out" | sed 's/^/      /'
fi

# --- Docker and hadolint, only where they already are (this script installs neither).
if command -v hadolint >/dev/null; then
  run "hadolint Dockerfile" hadolint Dockerfile
else
  skip "hadolint: not installed"
fi
if ! command -v docker >/dev/null; then
  skip "docker build: docker is not installed"
elif ! docker info >/dev/null 2>&1; then
  skip "docker build: no Docker daemon reachable (docker info failed)"
elif [ "${DEPLOY_DOCKER_BUILD:-}" = 1 ]; then
  run "docker build" docker build -t arena:check .
else
  run "docker build --check (lint; DEPLOY_DOCKER_BUILD=1 builds)" docker build --check .
fi

echo "(took $(($(date +%s) - started)) s)"
echo "deploy: $passed passed, $failed failed ($skipped skipped)"
[ "$failed" = 0 ]
