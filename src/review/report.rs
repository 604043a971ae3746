//! `kharden report`: one self-contained HTML page for a security reviewer,
//! with the flow graph of `graph` (also as Mermaid for `explain --format
//! mermaid`).
//!
//! Everything shown is read back from the rendered objects (bindings, network
//! policies, quotas, admission objects), except exceptions, API-server flags
//! and the namespace coverage (`policy::coverage`, from the same plan the
//! admission objects were rendered from), which come from the model. The page fetches
//! nothing (inline CSS and SVG, no scripts), escapes every string it did not
//! write itself, and is byte-for-byte the same for the same profile and date.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::bundle::manifest::{ManifestSet, RenderError};
use crate::concern::control_plane;
use crate::concern::policy::engine;
use crate::pipeline::model::Model;
use crate::platform::ControlPlane;
use crate::verify::objects;

pub mod graph;
use graph::{flow_edges, svg};

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f3f4f6}tr.expired td{background:#fecaca}tr.soon td{background:#fef08a}code{font-size:90%}.muted{color:#666}";

fn table(out: &mut String, id: &str, head: &[&str], rows: &[Vec<String>], classes: &[&str]) {
    let _ = write!(out, "<table id=\"{id}\">\n<tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>\n");
    for (i, r) in rows.iter().enumerate() {
        match classes.get(i).filter(|c| !c.is_empty()) {
            Some(c) => {
                let _ = write!(out, "<tr class=\"{c}\">");
            }
            None => out.push_str("<tr>"),
        }
        for cell in r {
            let _ = write!(out, "<td>{}</td>", esc(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn compact(v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}: {}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The report page.
pub fn html(m: &Model, set: &ManifestSet) -> Result<String, RenderError> {
    let objs = objects(set);
    let p = &m.profile;
    let tenants: BTreeSet<String> = p.namespaces.iter().map(|n| n.name.clone()).collect();
    let mut out = String::new();
    let title = format!("kharden report: {}", p.cluster.name);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let platform = m.platform().name();
    let _ = writeln!(
        out,
        "<p>Profile <code>{}</code>, platform {platform}, Kubernetes {}; exceptions judged on {}.</p>",
        esc(&m.display),
        esc(&p.cluster.kubernetes_version),
        m.today
    );

    // Who has which role, per namespace.
    out.push_str("<section id=\"roles\">\n<h2>Access: who has which role</h2>\n");
    let mut matrix: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut columns: BTreeSet<String> = tenants.clone();
    for b in objs
        .iter()
        .filter(|o| o["kind"] == "RoleBinding" || o["kind"] == "ClusterRoleBinding")
    {
        let col = match s(b, "/metadata/namespace") {
            "" => "(cluster-wide)".to_owned(),
            ns => ns.to_owned(),
        };
        columns.insert(col.clone());
        let role = format!("{} {}", s(b, "/roleRef/kind"), s(b, "/roleRef/name"));
        for sub in b["subjects"].as_array().into_iter().flatten() {
            let who = match s(sub, "/kind") {
                "ServiceAccount" => format!(
                    "ServiceAccount {}/{}",
                    s(sub, "/namespace"),
                    s(sub, "/name")
                ),
                k => format!("{k} {}", s(sub, "/name")),
            };
            matrix
                .entry(who)
                .or_default()
                .entry(col.clone())
                .or_default()
                .insert(role.clone());
        }
    }
    let cols: Vec<String> = columns.into_iter().collect();
    let mut head = vec!["subject"];
    head.extend(cols.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = matrix
        .iter()
        .map(|(who, cells)| {
            let mut r = vec![who.clone()];
            r.extend(cols.iter().map(|c| {
                cells
                    .get(c)
                    .map(|s| s.iter().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            }));
            r
        })
        .collect();
    table(&mut out, "role-matrix", &head, &rows, &[]);
    out.push_str("</section>\n");

    // Flows.
    let edges = flow_edges(&objs);
    out.push_str("<section id=\"flows\">\n<h2>Allowed flows (NetworkPolicies)</h2>\n<p class=\"muted\">Blue: tenant namespaces; grey: other namespaces; yellow: address blocks. A thick border means traffic within the namespace is allowed. Every arrow was confirmed in both directions' policies.</p>\n");
    out.push_str(&svg(&edges, &tenants));
    let rows: Vec<Vec<String>> = edges
        .iter()
        .map(|e| {
            vec![
                e.from.clone(),
                e.to.clone(),
                e.ports.iter().cloned().collect::<Vec<_>>().join(", "),
            ]
        })
        .collect();
    table(&mut out, "flow-table", &["from", "to", "ports"], &rows, &[]);
    out.push_str("</section>\n");

    // Quotas and limits.
    out.push_str("<section id=\"quotas\">\n<h2>Quotas and container limits</h2>\n");
    let mut rows = Vec::new();
    for o in objs
        .iter()
        .filter(|o| o["kind"] == "ResourceQuota" || o["kind"] == "LimitRange")
    {
        let ns = s(o, "/metadata/namespace").to_owned();
        if o["kind"] == "ResourceQuota" {
            rows.push(vec![
                ns,
                format!("ResourceQuota {}", s(o, "/metadata/name")),
                compact(&o["spec"]["hard"]),
            ]);
        } else {
            for l in o["spec"]["limits"].as_array().into_iter().flatten() {
                let parts: Vec<String> = ["defaultRequest", "default", "min", "max"]
                    .iter()
                    .filter(|k| l.get(**k).is_some())
                    .map(|k| format!("{k} {{{}}}", compact(&l[*k])))
                    .collect();
                rows.push(vec![
                    ns.clone(),
                    format!("LimitRange {} ({})", s(o, "/metadata/name"), s(l, "/type")),
                    parts.join("; "),
                ]);
            }
        }
    }
    table(
        &mut out,
        "quota-table",
        &["namespace", "object", "values"],
        &rows,
        &[],
    );
    out.push_str("</section>\n");

    // Mesh.
    out.push_str("<section id=\"mesh\">\n<h2>Service mesh</h2>\n");
    match &p.mesh {
        None => out.push_str("<p>No service mesh.</p>\n"),
        Some(mesh) => {
            let v = serde_json::to_value(mesh).map_err(RenderError::internal)?;
            let mut rows = vec![
                vec!["provider".to_owned(), s(&v, "/provider").to_owned()],
                vec!["mTLS".to_owned(), s(&v, "/mtls").to_owned()],
                vec![
                    "outbound traffic".to_owned(),
                    s(&v, "/outboundTraffic").to_owned(),
                ],
                vec![
                    "external hosts (all namespaces)".to_owned(),
                    mesh.allowed_external_hosts.join(", "),
                ],
            ];
            for ns in &p.namespaces {
                let nv = serde_json::to_value(ns).map_err(RenderError::internal)?;
                if let Some(hosts) = nv
                    .pointer("/mesh/allowedExternalHosts")
                    .and_then(Value::as_array)
                {
                    let hosts: Vec<&str> = hosts.iter().filter_map(Value::as_str).collect();
                    rows.push(vec![
                        format!("external hosts ({})", ns.name),
                        hosts.join(", "),
                    ]);
                }
            }
            table(&mut out, "mesh-table", &["setting", "value"], &rows, &[]);
        }
    }
    out.push_str("</section>\n");

    // Admission.
    out.push_str("<section id=\"admission\">\n<h2>Admission rules</h2>\n");
    let mut rows = Vec::new();
    for rule in objs.iter().filter_map(engine::describe) {
        rows.push(vec![
            rule.rule,
            rule.action,
            rule.scope,
            compact(&rule.parameters),
        ]);
    }
    table(
        &mut out,
        "admission-table",
        &["rule", "action", "namespaces", "parameters"],
        &rows,
        &[],
    );
    not_enforced(&mut out, m, &objs);
    out.push_str("<h3>Namespace coverage</h3>\n<p class=\"muted\">Profile namespaces have a ResourceQuota and a LimitRange; the others only the admission rules <code>noNodePorts</code> and <code>requiredLimits</code>; exempt namespaces neither.</p>\n");
    table(
        &mut out,
        "coverage-table",
        &[
            "namespace",
            "covered as",
            "NodePort Service",
            "container without limits",
        ],
        &crate::concern::policy::coverage::rows(m),
        &[],
    );
    let platform = crate::components::check::run(m, set)
        .map_err(|e| RenderError::internal(format!("platform self-check: {e}")))?;
    out.push_str("<h3 id=\"platform\">Platform components (self-check)</h3>\n<p class=\"muted\">Each component the profile relies on, evaluated against this rendering: admitted by its admission rules, scheduled, and reaching what it needs.</p>\n");
    table(
        &mut out,
        "platform-table",
        &["component", "check", "holds", "decided by"],
        &crate::components::check::rows(&platform),
        &[],
    );
    out.push_str("<h3>Exceptions</h3>\n");
    let mut rows = Vec::new();
    let mut classes = Vec::new();
    // Each exception's expiry as validation parsed it (`plan.policy`).
    for (e, waiver) in p.exceptions.iter().zip(&m.plan.policy.exceptions) {
        let (class, state) = match m.today.days_until(waiver.expires) {
            d if d < 0 => ("expired", format!("expired {} days ago", -d)),
            d if d <= 30 => ("soon", format!("expires in {d} days")),
            d => ("", format!("{d} days left")),
        };
        classes.push(class);
        rows.push(vec![
            e.rule.clone(),
            e.namespaces.join(", "),
            e.allow.join(", "),
            e.owner.clone(),
            e.ticket.clone(),
            e.expires.clone(),
            state,
        ]);
    }
    table(
        &mut out,
        "exceptions",
        &[
            "rule",
            "namespaces",
            "allows",
            "owner",
            "ticket",
            "expires",
            "status",
        ],
        &rows,
        &classes,
    );
    out.push_str("</section>\n");

    // API server.
    out.push_str("<section id=\"apiserver\">\n<h2>API server settings</h2>\n");
    if m.platform().control_plane() == ControlPlane::Nodes {
        let rows: Vec<Vec<String>> = control_plane::kubeadm_flags(m)
            .into_iter()
            .map(|f| vec![format!("--{}", f.name), f.value, f.cis.to_owned()])
            .collect();
        table(
            &mut out,
            "apiserver-table",
            &["flag", "value", "CIS control"],
            &rows,
            &[],
        );
    } else {
        for f in set.iter().filter(|f| f.control_plane_file()) {
            let notes: Vec<&str> = f
                .body()
                .lines()
                .filter_map(|l| l.strip_prefix('#'))
                .map(str::trim)
                .collect();
            let _ = writeln!(
                out,
                "<h3>{}</h3>\n<pre>{}</pre>",
                esc(f.path()),
                esc(&notes.join("\n"))
            );
        }
    }
    out.push_str("</section>\n</body>\n</html>\n");
    Ok(out)
}

/// The rollout's open steps (`policy.enforcement`): each rendered rule that
/// only warns or audits, and each namespace whose Pod Security `enforce` is
/// held back, read from the rendering so it says what the cluster will do.
fn not_enforced(out: &mut String, m: &Model, objs: &[Value]) {
    use crate::concern::policy::enforcement::POD_SECURITY;
    let mut rows = Vec::new();
    for rule in objs.iter().filter_map(engine::describe) {
        if !rule.enforced {
            rows.push(vec![rule.rule, rule.action]);
        }
    }
    if let Some(pol) = &m.profile.policy {
        for ns in &m.profile.namespaces {
            let mode = pol.enforcement.mode(POD_SECURITY, Some(&ns.name));
            let level = crate::concern::namespace::level(m, ns);
            if mode != crate::input::profile::EnforcementMode::Deny
                && level != crate::input::profile::PodSecurityLevel::Privileged
            {
                rows.push(vec![
                    format!("Pod Security {} in {}", level.as_str(), ns.name),
                    format!("{}: enforce held at privileged", mode.as_str()),
                ]);
            }
        }
    }
    out.push_str("<h3 id=\"not-enforced\">Not yet enforced</h3>\n<p class=\"muted\">Rules in a rollout step (<code>policy.enforcement</code> <code>warn</code> or <code>audit</code>): what they would refuse is admitted, with a warning or an audit record.</p>\n");
    table(out, "not-enforced-table", &["rule", "mode"], &rows, &[]);
}
