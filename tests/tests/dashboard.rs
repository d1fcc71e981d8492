//! The monitoring and deployment files against the engine they describe.
//!
//! - `config/grafana/dashboards/tickrail.json`: every metric a PromQL expression names (panels,
//!   annotations, template variables) is a family tickrail exports (`METRIC_NAMES`, with
//!   `_sum`/`_count`/`_bucket` stripped only from summaries and histograms); every panel, query,
//!   annotation and variable uses the provisioned datasource uid; every family that matters is on
//!   some panel.
//! - `config/prometheus.yml` scrapes the port `config/engine.toml` listens on.
//! - `config/deploy/engine.docker.toml` is a valid configuration that differs from
//!   `config/engine.toml` only in the keys it lists, listens where compose publishes, and reads
//!   the token from the compose secret.
//!
//! The YAML files are read with a few line-level helpers (no YAML parser in the workspace); they
//! only look at the handful of keys checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::ops::{EngineMetrics, Registry, TokenSource, METRIC_NAMES};

const DASHBOARD: &str = "config/grafana/dashboards/tickrail.json";
const DATASOURCES: &str = "config/grafana/provisioning/datasources/tickrail.yml";
const DASHBOARD_PROVIDERS: &str = "config/grafana/provisioning/dashboards/tickrail.yml";
const PROMETHEUS: &str = "config/prometheus.yml";
const ENGINE: &str = "config/engine.toml";
const ENGINE_DOCKER: &str = "config/deploy/engine.docker.toml";
const COMPOSE: &str = "config/deploy/docker-compose.yml";
const DOCKERFILE: &str = "config/deploy/Dockerfile";

/// Families deliberately left off the dashboard, each with the reason.
const NOT_ON_DASHBOARD: &[(&str, &str)] = &[(
    "tickrail_risk_state_info",
    "the same state as tickrail_risk_state, by name; the panels map that number to the name and \
     a colour",
)];

/// Keys in which `engine.docker.toml` may differ from `engine.toml` (its header says why).
const DOCKER_CHANGES: &[&str] = &[
    "replay.speed",
    "replay.loop",
    "report.dir",
    "journal.dir",
    "risk.kill_switch_file",
    "ops.listen",
    "ops.allow_remote",
    "ops.token_file",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// PromQL: the metric names an expression uses.
// ---------------------------------------------------------------------------------------------

/// Every identifier starting `tickrail_` in a PromQL expression, outside string literals (label
/// values) and Grafana variables (`$name`, `${name}`).
fn tickrail_identifiers(expr: &str) -> Vec<String> {
    let b = expr.as_bytes();
    let ident_start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c == b':';
    let ident_cont = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            // A string literal; backslash escapes only in "..." and '...'.
            i += 1;
            while i < b.len() && b[i] != c {
                i += if b[i] == b'\\' && c != b'`' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'$' {
            i += 1;
            if b.get(i) == Some(&b'{') {
                while i < b.len() && b[i] != b'}' {
                    i += 1;
                }
            } else {
                while i < b.len() && ident_cont(b[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() {
            // Numbers and durations (1m, 0.99, 1e-3).
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
        } else if ident_start(c) {
            let start = i;
            while i < b.len() && ident_cont(b[i]) {
                i += 1;
            }
            let id = &expr[start..i];
            if id.starts_with("tickrail_") {
                out.push(id.to_string());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// `# TYPE` of every family, from a registry filled exactly as the engine fills it.
fn family_types() -> BTreeMap<String, String> {
    let mut reg = Registry::new();
    let _metrics = EngineMetrics::register(&mut reg, &["BTCUSDT", "ETHUSDT"]).unwrap();
    let types: BTreeMap<String, String> = reg
        .render()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let names: BTreeSet<&str> = types.keys().map(String::as_str).collect();
    assert_eq!(names, METRIC_NAMES.iter().copied().collect(), "TYPE lines against METRIC_NAMES");
    types
}

/// The family a series name belongs to: itself, or the summary / histogram it is the
/// `_sum`/`_count` (`_bucket`) series of. `None`: tickrail exports no such series.
fn family_of<'a>(name: &str, types: &'a BTreeMap<String, String>) -> Option<&'a str> {
    if let Some((family, _)) = types.get_key_value(name) {
        return Some(family);
    }
    for (suffix, kinds) in [
        ("_sum", &["summary", "histogram"][..]),
        ("_count", &["summary", "histogram"][..]),
        ("_bucket", &["histogram"][..]),
    ] {
        if let Some(base) = name.strip_suffix(suffix) {
            if let Some((family, t)) = types.get_key_value(base) {
                if kinds.contains(&t.as_str()) {
                    return Some(family);
                }
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The dashboard's queries.
// ---------------------------------------------------------------------------------------------

/// One PromQL query of the dashboard: where it is, its datasource uid, its expression.
#[derive(Debug)]
struct Query {
    at: String,
    uid: Option<String>,
    expr: String,
}

fn uid_of(v: &Value) -> Option<String> {
    v.get("datasource")?.get("uid")?.as_str().map(str::to_string)
}

/// Every panel, rows' nested panels included.
fn panels(d: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for p in list.as_array().into_iter().flatten() {
            out.push(p);
            if let Some(nested) = p.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    out
}

fn panel_title(p: &Value) -> String {
    format!("panel {:?} (id {})", p["title"].as_str().unwrap_or("?"), p["id"])
}

/// Every PromQL expression of the dashboard with the datasource uid it runs on.
fn queries(d: &Value) -> Vec<Query> {
    let mut out = Vec::new();
    for p in panels(d) {
        for (i, t) in p["targets"].as_array().into_iter().flatten().enumerate() {
            out.push(Query {
                at: format!("{} target {i}", panel_title(p)),
                uid: uid_of(t),
                expr: t["expr"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    for a in d["annotations"]["list"].as_array().into_iter().flatten() {
        out.push(Query {
            at: format!("annotation {:?}", a["name"].as_str().unwrap_or("?")),
            uid: uid_of(a),
            expr: a["expr"].as_str().unwrap_or_default().to_string(),
        });
    }
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        let q = &v["query"];
        let expr = q.get("query").and_then(Value::as_str).or(q.as_str()).unwrap_or_default();
        out.push(Query {
            at: format!("variable ${}", v["name"].as_str().unwrap_or("?")),
            uid: uid_of(v),
            expr: expr.to_string(),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// YAML: the few keys checked here, by line.
// ---------------------------------------------------------------------------------------------

/// Values of `key: value` lines (list items `- key: value` too), comments and quotes removed.
fn yaml_values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_once(" #").map_or(l, |(a, _)| a).trim())
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.strip_prefix("- ").unwrap_or(l).trim())
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
        .collect()
}

/// The `host:port` targets of scrape job `job` in a Prometheus configuration (flow-style
/// `targets: [...]` lists, as config/prometheus.yml writes them).
fn scrape_targets(text: &str, job: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_job = false;
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix("- job_name:") {
            in_job = name.trim().trim_matches('"').trim_matches('\'') == job;
        } else if in_job {
            let t = t.strip_prefix("- ").unwrap_or(t);
            if let Some(list) = t.strip_prefix("targets:") {
                let list = list.trim().trim_start_matches('[').trim_end_matches(']');
                out.extend(
                    list.split(',')
                        .map(|s| s.trim().trim_matches('"').trim_matches('\'').to_string())
                        .filter(|s| !s.is_empty()),
                );
            }
        }
    }
    out
}

/// `config/deploy/engine.docker.toml`, checked as the image installs it: as
/// `/opt/tickrail/config/engine.docker.toml`, beside engine.toml (the Dockerfile copies both), so
/// its relative paths resolve from `config/` here as well.
fn docker_config() -> EngineConfig {
    let installed_as = repo().join("config/engine.docker.toml");
    EngineConfig::from_toml_str(&read(ENGINE_DOCKER), &installed_as)
        .unwrap_or_else(|e| panic!("{ENGINE_DOCKER}, installed beside {ENGINE}: {e}"))
}

/// Dotted keys whose values differ between two TOML tables (present in one only included).
fn toml_differences(a: &toml::Table, b: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let dotted = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match (a.get(k), b.get(k)) {
            (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => {
                toml_differences(x, y, &dotted, out)
            }
            (x, y) if x == y => {}
            _ => out.push(dotted),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn identifiers_skip_strings_variables_and_numbers() {
    assert_eq!(
        tickrail_identifiers(
            "rate(tickrail_ticks_received_total{job=\"tickrail_x\", instance=~\"$instance\"}\
             [$__rate_interval]) / on(ring) tickrail_ring_capacity{a='tickrail_y'} > 1e-3"
        ),
        ["tickrail_ticks_received_total", "tickrail_ring_capacity"]
    );
    assert_eq!(
        tickrail_identifiers("label_values(tickrail_build_info, instance)"),
        ["tickrail_build_info"]
    );
    assert!(tickrail_identifiers("sum(${tickrail_var}) + `tickrail_raw` + 5m").is_empty());
}

#[test]
fn series_suffixes_are_stripped_only_from_summaries_and_histograms() {
    let types = family_types();
    assert_eq!(types["tickrail_stage_latency_seconds"], "summary");
    assert_eq!(
        family_of("tickrail_stage_latency_seconds_sum", &types),
        Some("tickrail_stage_latency_seconds")
    );
    assert_eq!(
        family_of("tickrail_stage_latency_seconds_count", &types),
        Some("tickrail_stage_latency_seconds")
    );
    // A summary has no buckets; a counter or gauge has no _sum / _count series.
    assert_eq!(family_of("tickrail_stage_latency_seconds_bucket", &types), None);
    assert_eq!(family_of("tickrail_equity_sum", &types), None);
    assert_eq!(
        family_of("tickrail_ticks_received_total", &types),
        Some("tickrail_ticks_received_total")
    );
    assert_eq!(family_of("tickrail_ticks_received", &types), None);
}

#[test]
fn every_metric_the_dashboard_queries_is_exported() {
    let d = dashboard();
    let types = family_types();
    let qs = queries(&d);
    assert!(qs.len() > 40, "only {} queries found: is the dashboard's layout readable?", qs.len());
    let mut unknown = Vec::new();
    for q in &qs {
        assert!(!q.expr.trim().is_empty(), "{}: empty expression", q.at);
        let ids = tickrail_identifiers(&q.expr);
        assert!(!ids.is_empty(), "{}: queries no tickrail metric: {}", q.at, q.expr);
        for id in ids {
            if family_of(&id, &types).is_none() {
                unknown.push(format!("{}: {id}", q.at));
            }
        }
    }
    assert!(unknown.is_empty(), "not exported by tickrail (METRIC_NAMES):\n{}", unknown.join("\n"));
}

#[test]
fn every_panel_and_query_uses_the_provisioned_datasource() {
    let uids = yaml_values(&read(DATASOURCES), "uid");
    assert_eq!(uids.len(), 1, "{DATASOURCES}: one datasource uid expected, found {uids:?}");
    let uid = &uids[0];
    assert_eq!(yaml_values(&read(DATASOURCES), "url"), ["http://prometheus:9090"]);

    let d = dashboard();
    let mut wrong = Vec::new();
    for p in panels(&d) {
        if p["type"] == "row" {
            assert!(p.get("targets").is_none(), "{}: a row with queries", panel_title(p));
            continue;
        }
        if uid_of(p).as_ref() != Some(uid) {
            wrong.push(format!("{}: {:?}", panel_title(p), p.get("datasource")));
        }
        let targets = p["targets"].as_array().map_or(0, Vec::len);
        assert!(targets > 0, "{}: no queries", panel_title(p));
    }
    for q in queries(&d) {
        if q.uid.as_ref() != Some(uid) {
            wrong.push(format!("{}: {:?}", q.at, q.uid));
        }
    }
    assert!(wrong.is_empty(), "datasource uid is not {uid:?}:\n{}", wrong.join("\n"));
    // No `${DS_...}` inputs of an exported dashboard: file provisioning does not resolve them.
    let text = read(DASHBOARD);
    assert!(!text.contains("${DS_") && d.get("__inputs").is_none(), "{DASHBOARD}: export inputs");
}

#[test]
fn every_family_that_matters_is_on_some_panel() {
    let d = dashboard();
    let types = family_types();
    let mut on_panels = BTreeSet::new();
    for p in panels(&d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            for id in tickrail_identifiers(t["expr"].as_str().unwrap_or_default()) {
                if let Some(f) = family_of(&id, &types) {
                    on_panels.insert(f.to_string());
                }
            }
        }
    }
    for (name, why) in NOT_ON_DASHBOARD {
        assert!(METRIC_NAMES.contains(name), "NOT_ON_DASHBOARD names {name}, not exported");
        assert!(!why.is_empty());
    }
    let missing: Vec<&str> = METRIC_NAMES
        .iter()
        .copied()
        .filter(|n| !NOT_ON_DASHBOARD.iter().any(|(m, _)| m == n))
        .filter(|n| !on_panels.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "families on no panel of {DASHBOARD} (add a panel, or list them in NOT_ON_DASHBOARD with \
         the reason): {missing:?}"
    );
}

#[test]
fn grafana_loads_the_dashboard_from_where_compose_mounts_it() {
    let d = dashboard();
    assert!(d["uid"].as_str().is_some_and(|u| !u.is_empty()), "{DASHBOARD}: no uid");
    let ids: Vec<i64> = panels(&d).iter().filter_map(|p| p["id"].as_i64()).collect();
    assert_eq!(ids.len(), panels(&d).len(), "{DASHBOARD}: a panel without an id");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "{DASHBOARD}: duplicate ids");
    let paths = yaml_values(&read(DASHBOARD_PROVIDERS), "path");
    assert_eq!(paths.len(), 1, "{DASHBOARD_PROVIDERS}: {paths:?}");
    let compose = read(COMPOSE);
    assert!(
        compose.contains(&format!("../grafana/dashboards:{}:ro", paths[0])),
        "{COMPOSE} does not mount config/grafana/dashboards at {}",
        paths[0]
    );
    assert!(compose.contains("../grafana/provisioning:/etc/grafana/provisioning:ro"));
    assert!(compose.contains("../prometheus.yml:/etc/prometheus/prometheus.yml:ro"));
}

#[test]
fn prometheus_scrapes_the_port_the_engine_listens_on() {
    let engine = EngineConfig::load(&repo().join(ENGINE)).unwrap();
    let port = engine.ops.listen.port();
    assert!(engine.ops.enabled && port != 0, "{ENGINE}: [ops] is off or on port 0");
    let targets = scrape_targets(&read(PROMETHEUS), "tickrail");
    assert!(!targets.is_empty(), "{PROMETHEUS}: no targets for job tickrail");
    for t in &targets {
        let p = t.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok());
        assert_eq!(p, Some(port), "{PROMETHEUS}: target {t} is not on port {port} ({ENGINE})");
    }
    // In compose the target's host is the engine's service.
    let host = targets[0].rsplit_once(':').map(|(h, _)| h).unwrap_or_default();
    assert!(read(COMPOSE).contains(&format!("\n  {host}:\n")), "{COMPOSE}: no service {host:?}");
}

#[test]
fn the_container_configuration_is_engine_toml_with_the_listed_changes() {
    let base: toml::Table = toml::from_str(&read(ENGINE)).unwrap();
    let docker: toml::Table = toml::from_str(&read(ENGINE_DOCKER)).unwrap();
    let mut differences = Vec::new();
    toml_differences(&base, &docker, "", &mut differences);
    let unexpected: Vec<&String> =
        differences.iter().filter(|k| !DOCKER_CHANGES.contains(&k.as_str())).collect();
    assert!(
        unexpected.is_empty(),
        "{ENGINE_DOCKER} must be {ENGINE} with only {DOCKER_CHANGES:?} changed; it also differs \
         at {unexpected:?} (copy those from {ENGINE})"
    );
    for key in DOCKER_CHANGES {
        assert!(differences.contains(&key.to_string()), "{ENGINE_DOCKER}: {key} is not changed");
    }
    // Its header comment names every change.
    let header = read(ENGINE_DOCKER);
    for key in DOCKER_CHANGES {
        assert!(header.contains(key), "{ENGINE_DOCKER}: the header does not mention {key}");
    }
}

#[test]
fn the_container_configuration_is_valid_and_reachable_from_prometheus() {
    let engine = EngineConfig::load(&repo().join(ENGINE)).unwrap();
    let docker = docker_config();
    let port = engine.ops.listen.port();
    assert_eq!(docker.ops.listen, SocketAddr::from(([0, 0, 0, 0], port)));
    assert!(docker.ops.allow_remote && docker.ops.enabled);
    let compose = read(COMPOSE);
    assert!(
        compose.contains(&format!("\"127.0.0.1:{port}:{port}\"")),
        "{COMPOSE}: the ops port {port} is not published on 127.0.0.1"
    );
    // The token comes from the compose secret.
    let TokenSource::File(token) = &docker.ops.token else {
        panic!("{ENGINE_DOCKER}: ops.token_file is not set: {:?}", docker.ops.token);
    };
    let secret =
        token.strip_prefix("/run/secrets").ok().and_then(|p| p.to_str()).unwrap_or_else(|| {
            panic!("{ENGINE_DOCKER}: token_file {} is not a secret", token.display())
        });
    assert!(compose.contains(&format!("\n  {secret}:\n")), "{COMPOSE}: no secret {secret}");
    assert!(compose.contains(&format!("- {secret}\n")), "{COMPOSE}: tickrail gets no {secret}");
    // The Dockerfile installs it beside engine.toml, which the path resolution above assumes,
    // and compose runs that file.
    let dockerfile = read(DOCKERFILE);
    assert!(dockerfile.contains(
        "COPY config/engine.toml config/deploy/engine.docker.toml /opt/tickrail/config/"
    ));
    assert!(compose.contains("\"--config\", \"/opt/tickrail/config/engine.docker.toml\""));
    // Everything the container writes is under its one volume.
    for p in [&docker.journal.dir, &docker.report.dir] {
        assert!(p.starts_with("/var/lib/tickrail"), "{}", p.display());
    }
    assert!(docker.kill_switch_file.as_ref().is_some_and(|p| p.starts_with("/var/lib/tickrail")));
}
