#!/usr/bin/env python3
"""Static checks of the Dockerfile and deploy/ against the code they deploy.

Run by scripts/check-deploy.sh (which also runs promtool and a live server); prints one line per
check, `ok ...`, `FAIL ...` or `skip ...`, which the shell script counts. Needs PyYAML.

Nothing here reaches a cluster or a Docker daemon: it checks that the manifests carry what
Agones' own validation demands, and that names the manifests share with the code (metrics, flags,
config keys, features, ports) really exist on both sides.
"""

import json
import os
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# The live /metrics text of a running server, when the shell script could start one.
LIVE_METRICS = os.environ.get("LIVE_METRICS")
# Set once the Agones half of issue 12 has landed everywhere, so its absence fails.
REQUIRE_AGONES = os.environ.get("DEPLOY_REQUIRE_AGONES") == "1"

results = []


def ok(msg):
    results.append(("ok", msg))


def fail(msg):
    results.append(("FAIL", msg))


def skip(msg):
    results.append(("skip", msg))


def check(cond, msg, why=""):
    if cond:
        ok(msg)
    else:
        fail(f"{msg}{': ' + why if why else ''}")
    return cond


def dig(obj, *path):
    for key in path:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


# ---------------------------------------------------------------------------------------------
# What the code says: metric names, CLI flags, config keys, packages and features.


def metric_names():
    """Every series name server/src/operations/metrics.rs registers, with the registry prefix."""
    src = (ROOT / "server/src/operations/metrics.rs").read_text()
    prefix = re.search(r'Registry::new_custom\(Some\("([a-z_]+)"', src)
    prefix = prefix.group(1) + "_" if prefix else ""
    names = set()
    for kind, name in re.findall(
        r'\b(counter|gauge|counter_vec|HistogramOpts::new)\(\s*"([a-z_]+)"', src
    ):
        if kind == "HistogramOpts::new":
            names |= {f"{prefix}{name}_{s}" for s in ("bucket", "sum", "count")}
        else:
            names.add(prefix + name)
    if "ProcessCollector" in src:
        # The prometheus crate's Linux process collector (process_collector.rs); the registry's
        # prefix applies to it too. A live server's /metrics confirms these when available.
        names |= {
            prefix + n
            for n in (
                "process_cpu_seconds_total",
                "process_open_fds",
                "process_max_fds",
                "process_virtual_memory_bytes",
                "process_resident_memory_bytes",
                "process_start_time_seconds",
                "process_threads",
            )
        }
    return prefix, names


def live_metric_names():
    if not LIVE_METRICS:
        return None
    names = set()
    for line in Path(LIVE_METRICS).read_text().splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def cli_flags():
    """The long flags of arena-server's top-level Cli struct (clap: field name, kebab-cased)."""
    src = (ROOT / "server/src/main.rs").read_text()
    body = re.search(r"struct Cli \{(.*?)\n\}", src, re.S).group(1)
    flags = set()
    for attrs, field in re.findall(r"((?:#\[[^\]]*\]\s*)+)\s*(?:pub\s+)?(\w+)\s*:", body):
        if re.search(r"#\[arg\([^\]]*\blong\b", attrs):
            flags.add("--" + field.replace("_", "-"))
    return flags


def config_keys():
    """Every key of assets/server.toml, the file a unit test holds equal to the defaults."""
    doc = tomllib.loads((ROOT / "assets/server.toml").read_text())
    # Optional keys are documented commented out; they are still keys.
    commented = re.findall(r"^#\s*([a-z_]+)\s*=", (ROOT / "assets/server.toml").read_text(), re.M)
    return doc, set(doc) | set(commented)


def packages():
    """Workspace members: package name -> (features, binary names)."""
    out = {}
    ws = tomllib.loads((ROOT / "Cargo.toml").read_text())
    for member in ws["workspace"]["members"]:
        man = tomllib.loads((ROOT / member / "Cargo.toml").read_text())
        name = man["package"]["name"]
        bins = {b["name"] for b in man.get("bin", [])}
        if (ROOT / member / "src/main.rs").exists():
            bins.add(name)
        out[name] = (set(man.get("features", {})), bins)
    return out


# ---------------------------------------------------------------------------------------------
# deploy/: YAML that parses, and the objects in it.


def load_yaml_docs():
    docs = {}
    for path in sorted(list(DEPLOY.rglob("*.yaml")) + list(DEPLOY.rglob("*.yml"))):
        rel = path.relative_to(ROOT)
        try:
            loaded = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as e:
            fail(f"{rel} parses as YAML: {e}")
            continue
        check(bool(loaded), f"{rel} parses as YAML ({len(loaded)} document(s))", "empty")
        docs[rel] = loaded
    return docs


def k8s_objects(docs):
    objs = []
    for rel, loaded in docs.items():
        if "prometheus" in rel.parts:
            continue
        for d in loaded:
            has = all(dig(d, *k) for k in (("apiVersion",), ("kind",), ("metadata", "name")))
            check(has, f"{rel}: {d.get('kind', '?')} has apiVersion, kind, metadata.name")
            objs.append((rel, d))
    return objs


def of_kind(objs, kind):
    return [(rel, d) for rel, d in objs if d.get("kind") == kind]


def check_fleet(objs, flags, keys):
    fleets = of_kind(objs, "Fleet")
    if not check(len(fleets) == 1, "deploy/ holds exactly one Agones Fleet", f"found {len(fleets)}"):
        return None
    rel, fleet = fleets[0]
    name = fleet["metadata"]["name"]
    check(fleet.get("apiVersion") == "agones.dev/v1", f"Fleet {name}: apiVersion agones.dev/v1")
    gs = dig(fleet, "spec", "template", "spec") or {}
    ports = gs.get("ports") or []
    check(bool(ports), f"Fleet {name}: spec.template.spec.ports is not empty")
    for p in ports:
        check(
            isinstance(p.get("containerPort"), int) and 0 < p["containerPort"] < 65536,
            f"Fleet {name}: port {p.get('name')} has an integer containerPort",
        )
        # Agones' default is UDP; a WebSocket needs TCP (or TCPUDP).
        check(p.get("protocol") == "TCP", f"Fleet {name}: port {p.get('name')} protocol TCP")
        check(
            p.get("portPolicy", "Dynamic") in ("Dynamic", "Static", "Passthrough", "None"),
            f"Fleet {name}: port {p.get('name')} has a known portPolicy",
        )
    health = gs.get("health") or {}
    check(
        health.get("disabled") is True
        or all(isinstance(health.get(k), int) for k in ("initialDelaySeconds", "periodSeconds", "failureThreshold")),
        f"Fleet {name}: health has initialDelaySeconds, periodSeconds, failureThreshold",
    )
    pod = dig(gs, "template", "spec") or {}
    containers = pod.get("containers") or []
    if not check(bool(containers), f"Fleet {name}: pod template has containers"):
        return None
    # With several containers Agones needs spec.container to know which one is the game.
    game = next((c for c in containers if c.get("name") == gs.get("container")), containers[0])
    if len(containers) > 1:
        check(bool(gs.get("container")), f"Fleet {name}: spec.template.spec.container names the game container")
    check(bool(game.get("name")) and bool(game.get("image")), f"Fleet {name}: container has name and image")

    # The config the pod mounts, and whether it agrees with the ports and the grace period.
    cfg = None
    mounts = {m["name"]: m for m in game.get("volumeMounts", [])}
    for vol in pod.get("volumes", []):
        cm = dig(vol, "configMap", "name")
        if cm and vol["name"] in mounts:
            maps = [d for _, d in of_kind(objs, "ConfigMap") if d["metadata"]["name"] == cm]
            if check(bool(maps), f"Fleet {name}: ConfigMap {cm} is defined in deploy/"):
                data = maps[0].get("data", {})
                args = game.get("args", [])
                conf_path = args[args.index("--config") + 1] if "--config" in args else ""
                mount = mounts[vol["name"]]["mountPath"].rstrip("/")
                file = conf_path[len(mount) + 1:] if conf_path.startswith(mount + "/") else None
                if check(file in data, f"Fleet {name}: --config {conf_path} is a key of ConfigMap {cm}"):
                    cfg = check_server_toml(f"ConfigMap {cm} {file}", data[file], keys)
    if cfg is not None:
        port = int(cfg.get("bind", "127.0.0.1:8080").rsplit(":", 1)[1])
        host = cfg.get("bind", "127.0.0.1").rsplit(":", 1)[0]
        check(
            any(p.get("containerPort") == port for p in ports),
            f"Fleet {name}: containerPort matches the config's bind port {port}",
        )
        check(host in ("0.0.0.0", "[::]"), f"Fleet {name}: the config binds all interfaces ({host})")
        probe = dig(game, "livenessProbe", "httpGet")
        if probe:
            check(probe.get("port") == port, f"Fleet {name}: livenessProbe port is {port}")
            check(probe.get("path") in ("/healthz", "/readyz"), f"Fleet {name}: livenessProbe path exists")
        drain = cfg.get("drain_timeout_s", 30) + cfg.get("shutdown_timeout_ms", 5000) / 1000
        grace = pod.get("terminationGracePeriodSeconds", 30)
        check(
            grace > drain,
            f"Fleet {name}: terminationGracePeriodSeconds {grace} > drain_timeout_s + shutdown ({drain:g} s)",
        )

    # Flags: every one the container passes must exist in arena-server's Cli.
    args = [a for a in game.get("args", []) if a.startswith("--")]
    agones_landed = "--agones" in flags or "agones" in packages().get("arena-server", (set(), set()))[0]
    for a in args:
        flag = a.split("=", 1)[0]
        if flag == "--agones" and not agones_landed and not REQUIRE_AGONES:
            skip(
                f"Fleet {name}: --agones is not in server/src/main.rs yet (the Agones half of "
                "issue 12 adds it; DEPLOY_REQUIRE_AGONES=1 makes this a failure)"
            )
            continue
        check(flag in flags, f"Fleet {name}: arena-server accepts {flag}")
    # Kubernetes leaves an undefined $(VAR) in args as literal text.
    env = {e["name"] for e in game.get("env", [])}
    for ref in re.findall(r"\$\((\w+)\)", " ".join(game.get("args", []))):
        check(ref in env, f"Fleet {name}: $({ref}) in args is defined in env")
    for e in game.get("env", []):
        if e["name"].startswith("ARENA_") and e["name"] != "ARENA_FLEET_URL":
            src = (ROOT / "server/src/operations/config.rs").read_text()
            check(f'"{e["name"]}"' in src, f"Fleet {name}: env {e['name']} is read by the server")
    res = game.get("resources") or {}
    for kind in ("cpu", "memory"):
        req, lim = dig(res, "requests", kind), dig(res, "limits", kind)
        if check(req is not None and lim is not None, f"Fleet {name}: {kind} request and limit set"):
            check(quantity(req) <= quantity(lim), f"Fleet {name}: {kind} request {req} <= limit {lim}")
    sc = pod.get("securityContext") or {}
    check(sc.get("runAsNonRoot") is True, f"Fleet {name}: pod runs as non-root")
    return fleet, game, cfg


def quantity(q):
    """A Kubernetes quantity (the suffixes used here) as a float."""
    m = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?", str(q))
    mult = {None: 1, "m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    return float(m.group(1)) * mult[m.group(2)]


def check_server_toml(label, text, keys):
    defaults, known = keys
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        fail(f"{label} parses as TOML: {e}")
        return None
    unknown = sorted(set(cfg) - known)
    # The server refuses unknown keys at start-up (deny_unknown_fields).
    check(not unknown, f"{label}: every key is a server.toml key", f"unknown {unknown}")
    if isinstance(cfg.get("rules"), dict):
        bad = sorted(set(cfg["rules"]) - set(defaults.get("rules", {})))
        check(not bad, f"{label}: every [rules] key exists", f"unknown {bad}")
    return cfg


def check_autoscaler(objs, fleet):
    fas = of_kind(objs, "FleetAutoscaler")
    if not check(len(fas) >= 1, "deploy/ holds a FleetAutoscaler"):
        return
    for _, a in fas:
        name = a["metadata"]["name"]
        check(a.get("apiVersion") == "autoscaling.agones.dev/v1", f"FleetAutoscaler {name}: apiVersion autoscaling.agones.dev/v1")
        if fleet is not None:
            check(
                dig(a, "spec", "fleetName") == fleet["metadata"]["name"],
                f"FleetAutoscaler {name}: fleetName is the Fleet's name ({fleet['metadata']['name']})",
            )
        pol = dig(a, "spec", "policy") or {}
        if not check(pol.get("type") == "Buffer", f"FleetAutoscaler {name}: policy type Buffer"):
            continue
        b = pol.get("buffer") or {}
        size, lo, hi = b.get("bufferSize"), b.get("minReplicas", 0), b.get("maxReplicas")
        check(size is not None and isinstance(hi, int), f"FleetAutoscaler {name}: bufferSize and maxReplicas set")
        # The rules Agones' admission webhook applies (pkg/apis/autoscaling/v1/fleetautoscaler.go,
        # ValidateBufferPolicy).
        check(lo <= (hi or 0), f"FleetAutoscaler {name}: minReplicas <= maxReplicas")
        if isinstance(size, int):
            check(size > 0, f"FleetAutoscaler {name}: bufferSize > 0")
            check((hi or 0) >= size, f"FleetAutoscaler {name}: maxReplicas >= bufferSize")
            check(lo == 0 or lo >= size, f"FleetAutoscaler {name}: minReplicas 0 or >= bufferSize")
        else:
            pct = re.fullmatch(r"(\d+)%", str(size))
            check(bool(pct) and 1 <= int(pct.group(1)) <= 99, f"FleetAutoscaler {name}: bufferSize 1%-99%")
            check(lo >= 1, f"FleetAutoscaler {name}: minReplicas >= 1 with a percentage buffer")
        secs = dig(a, "spec", "sync", "fixedInterval", "seconds")
        if dig(a, "spec", "sync") is not None:
            check(isinstance(secs, int) and secs > 0, f"FleetAutoscaler {name}: sync interval > 0")


def check_selectors(objs):
    """Deployments select their own pods; Services select some pod in deploy/."""
    pod_labels = []
    for _, d in of_kind(objs, "Deployment"):
        labels = dig(d, "spec", "template", "metadata", "labels") or {}
        sel = dig(d, "spec", "selector", "matchLabels") or {}
        check(
            bool(sel) and all(labels.get(k) == v for k, v in sel.items()),
            f"Deployment {d['metadata']['name']}: selector matches its pod template",
        )
        pod_labels.append(labels)
    for _, s in of_kind(objs, "Service"):
        sel = dig(s, "spec", "selector") or {}
        check(
            any(all(l.get(k) == v for k, v in sel.items()) for l in pod_labels),
            f"Service {s['metadata']['name']}: selector matches a Deployment's pods",
        )


def check_prometheus(docs, fleet_game):
    conf = docs.get(Path("deploy/prometheus/prometheus.yml"))
    if not conf or fleet_game is None:
        return
    fleet, game = fleet_game[0], fleet_game[1]
    job = next((j for j in conf[0].get("scrape_configs", []) if j.get("job_name") == "arena"), None)
    if not check(job is not None, "prometheus.yml has the arena job"):
        return
    check(
        any(sd.get("role") == "pod" for sd in job.get("kubernetes_sd_configs", [])),
        "prometheus.yml: arena job discovers pods (GameServers have no Service)",
    )
    labels = dig(fleet, "spec", "template", "spec", "template", "metadata", "labels") or {}
    port = dig(fleet, "spec", "template", "spec", "ports", 0, "containerPort")
    for r in job.get("relabel_configs", []):
        if r.get("action") != "keep":
            continue
        src = r.get("source_labels", [])
        values = []
        for s in src:
            m = re.fullmatch(r"__meta_kubernetes_pod_label_(\w+)", s)
            if m:
                # Prometheus sanitizes label names: every character outside [a-zA-Z0-9_] -> _.
                v = next((v for k, v in labels.items() if re.sub(r"\W", "_", k) == m.group(1)), None)
            elif s == "__meta_kubernetes_pod_container_name":
                v = game["name"]
            elif s == "__meta_kubernetes_pod_container_port_number":
                v = str(port)
            elif s == "__meta_kubernetes_pod_phase":
                v = "Running"
            else:
                v = None
            values.append(v)
        joined = r.get("separator", ";").join(v or "" for v in values)
        check(
            None not in values and re.fullmatch(r.get("regex", "(.*)"), joined) is not None,
            f"prometheus.yml: keep on {','.join(src)} matches the Fleet's pods ({joined})",
        )


# ---------------------------------------------------------------------------------------------
# Metric names in PromQL: the dashboard, the alert rules, and the rule tests' series.


def promql_metrics(expr):
    """Metric names an expression selects (arena_*, up): enough for the names used here."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values and strings
    return set(re.findall(r"\b(arena_[a-z0-9_]+|up)\b(?!\s*\()", expr))


def check_metric_refs(label, exprs, known, live):
    seen = set()
    for e in exprs:
        seen |= promql_metrics(e)
    missing = sorted(m for m in seen if m != "up" and m not in known)
    check(bool(seen), f"{label}: references Arena metrics ({len(seen)} names)")
    check(not missing, f"{label}: every metric name exists in metrics.rs", f"unknown {missing}")
    if live is not None:
        absent = sorted(m for m in seen if m != "up" and m not in live)
        check(not absent, f"{label}: every metric name is in a live server's /metrics", f"absent {absent}")


def check_grafana(known, live):
    path = DEPLOY / "grafana/arena-fleet.json"
    try:
        dash = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        fail(f"{path.relative_to(ROOT)} parses as JSON: {e}")
        return
    ok(f"{path.relative_to(ROOT)} parses as JSON")
    panels = dash.get("panels", [])
    check(bool(dash.get("uid")) and bool(dash.get("title")) and bool(panels), "dashboard has uid, title, panels")
    exprs = [t["expr"] for p in panels for t in p.get("targets", []) if t.get("expr")]
    exprs += [dig(v, "query", "query") or "" for v in dash.get("templating", {}).get("list", [])]
    check(all(p.get("targets") for p in panels), "every dashboard panel has a query")
    check(len({p["id"] for p in panels}) == len(panels), "dashboard panel ids are unique")
    text = " ".join(exprs)
    for need, what in (
        ("arena_players", "players"),
        ("arena_rooms", "rooms"),
        ("arena_tick_seconds_bucket", "tick p99"),
        ("arena_tick_overruns_total", "overruns"),
    ):
        check(need in text, f"dashboard shows {what} ({need})")
    check(
        re.search(r"histogram_quantile\(0\.99,\s*sum by \((pod, le|le, pod)\)", text) is not None,
        "dashboard's tick p99 is per process (sum by pod, le)",
    )
    check_metric_refs("dashboard", exprs, known, live)


def check_rules(docs, known, live):
    rules = docs.get(Path("deploy/prometheus/rules.yml"))
    if rules:
        exprs = [r["expr"] for g in rules[0]["groups"] for r in g["rules"]]
        check_metric_refs("rules.yml", exprs, known, live)
    tests = docs.get(Path("deploy/prometheus/rules.test.yml"))
    if tests:
        series = [s["series"] for t in tests[0]["tests"] for s in t.get("input_series", [])]
        check_metric_refs("rules.test.yml series", series, known, live)


# ---------------------------------------------------------------------------------------------
# The Dockerfile.


def check_dockerfile(flags, keys, fleet_cfg):
    path = ROOT / "Dockerfile"
    text = path.read_text()
    # Join continuation lines; drop comments.
    lines = re.sub(r"\\\n", " ", "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))).splitlines()
    pkgs = packages()
    build = next((l for l in lines if "cargo build" in l), "")
    if not check(bool(build), "Dockerfile runs cargo build"):
        return
    check("--locked" in build and "--release" in build, "Dockerfile builds --release --locked")
    named = re.findall(r"(?:-p|--package)\s+([\w-]+)", build)
    check(sorted(named) == ["arena-bot", "arena-server"], "Dockerfile builds arena-server and arena-bot", str(named))
    for p in named:
        check(p in pkgs, f"Dockerfile: package {p} is a workspace member")
    feats = [f for group in re.findall(r"--features[ =]([\w/,-]+)", build) for f in group.split(",")]
    check(bool(feats), "Dockerfile names a cargo feature")
    for f in feats:
        pkg, _, feat = f.rpartition("/")
        owners = [pkg] if pkg else named
        have = any(feat in pkgs.get(o, (set(), set()))[0] for o in owners)
        if feat == "agones" and not have and "--agones" not in flags and not REQUIRE_AGONES:
            skip(
                "Dockerfile: feature agones is not in server/Cargo.toml yet (the Agones half of "
                "issue 12 adds it; DEPLOY_REQUIRE_AGONES=1 makes this a failure)"
            )
            continue
        check(have, f"Dockerfile: feature {f} exists")
    if any(f.endswith("agones") for f in feats):
        # The agones crate's build script compiles .proto files.
        check("protobuf-compiler" in text, "Dockerfile installs protobuf-compiler for the agones crate")
    for b in re.findall(r"target/release/([\w-]+)", build):
        check(any(b in bins for _, bins in pkgs.values()), f"Dockerfile: binary {b} is built by a package")
    stages = re.findall(r"^FROM\s+\S+(?:\s+AS\s+(\w+))?", "\n".join(lines), re.M | re.I)
    check(len(stages) >= 2, "Dockerfile is multi-stage")
    rust = re.search(r"ARG RUST_VERSION=(\d+)\.(\d+)", text)
    floor = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["rust-version"]
    fmaj, fmin = (int(x) for x in floor.split(".")[:2])
    check(
        rust is not None and (int(rust.group(1)), int(rust.group(2))) >= (fmaj, fmin),
        f"Dockerfile's Rust is at least the workspace's rust-version {floor}",
    )
    user = [l.split()[1] for l in lines if l.startswith("USER ")]
    check(bool(user) and user[-1].split(":")[0] not in ("0", "root"), "Dockerfile's runtime runs as non-root")
    if user and fleet_cfg is not None:
        fleet_uid = fleet_cfg
        check(user[-1].split(":")[0] == str(fleet_uid), f"Dockerfile USER matches the Fleet's runAsUser {fleet_uid}")
    ignore = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    for l in lines:
        m = re.match(r"COPY\s+(?:--\S+\s+)*(.+)\s+(\S+)$", l)
        if not m or "--from" in l:
            continue
        for src in m.group(1).split():
            if src == ".":
                continue
            check((ROOT / src).exists(), f"Dockerfile: COPY source {src} exists")
            check(not dockerignored(src, ignore), f"Dockerfile: COPY source {src} is not in .dockerignore")
    for must in ("assets", "Cargo.lock"):
        check(not dockerignored(must, ignore), f".dockerignore keeps {must} in the build context")
    cfg_copy = re.search(r"COPY\s+(?:--\S+\s+)*(\S+\.toml)\s+(\S+)", text)
    cmd = re.search(r'^CMD\s+(\[.*\])', text, re.M)
    if cfg_copy and cmd:
        cfg = check_server_toml(f"image config {cfg_copy.group(1)}", (ROOT / cfg_copy.group(1)).read_text(), keys)
        args = json.loads(cmd.group(1))
        check(args[args.index("--config") + 1] == cfg_copy.group(2), "Dockerfile CMD's --config is the file it copies")
        exposed = re.findall(r"^EXPOSE\s+(\d+)", text, re.M)
        if cfg:
            port = cfg.get("bind", "").rsplit(":", 1)[-1]
            check(port in exposed, f"Dockerfile EXPOSEs the image config's bind port {port}")
            hc = re.search(r"HEALTHCHECK.*?CMD\s+(\[.*\])", text, re.S)
            if hc:
                check(f"/{port}" in hc.group(1), f"Dockerfile HEALTHCHECK probes port {port}")


def dockerignored(path, patterns):
    """Docker's rule, simplified to the patterns used here: the last matching pattern wins."""
    ignored = False
    for p in patterns:
        neg = p.startswith("!")
        pat = p[1:] if neg else p
        rx = "^" + re.escape(pat).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*") + "(?:/.*)?$"
        if re.match(rx, path):
            ignored = not neg
    return ignored


def main():
    prefix, known = metric_names()
    live = live_metric_names()
    flags = cli_flags()
    keys = config_keys()
    docs = load_yaml_docs()
    objs = k8s_objects(docs)
    fleet_game = check_fleet(objs, flags, keys)
    fleet = fleet_game[0] if fleet_game else None
    check_autoscaler(objs, fleet)
    check_selectors(objs)
    check_prometheus(docs, fleet_game)
    check_grafana(known, live)
    check_rules(docs, known, live)
    uid = dig(fleet, "spec", "template", "spec", "template", "spec", "securityContext", "runAsUser") if fleet else None
    check_dockerfile(flags, keys, uid)
    if live is None:
        skip("metric names against a live server's /metrics (no server was started)")
    for status, msg in results:
        print(f"{status:<5} {msg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
