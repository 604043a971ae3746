//! The platform self-check (#29), run on every render and by `verify`: each
//! platform component's pods and Service are admitted by the rendered
//! admission rules (mutations first, as the API server orders them), the log
//! collector can be scheduled on every Linux node and no Windows node, and
//! each component reaches what it must through the rendered NetworkPolicies
//! and, with Istio, the rendered mTLS and authorization policies. Everything is
//! evaluated on the rendered objects, read back as the cluster reads them, so
//! the check proves the bundle and not the model that built it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::scope::{Scoped, objects};
use super::{Component, Role};
use crate::bundle::manifest::ManifestSet;
use crate::input::profile::NamespaceSpec;
use crate::pipeline::flows::meshed;
use crate::pipeline::model::Model;
use crate::verify::admission::Denial;
use crate::verify::pod_security::template_pod;
use crate::verify::{EvalError, PodSecurity, decide};

mod reach;
use reach::reach;

/// One check and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The component, e.g. `ingress controller (ingress-nginx)`.
    pub component: String,
    /// What was checked: `Pod admitted`, `reaches team-a on 8080/TCP`.
    pub what: String,
    pub ok: bool,
    /// What decided it (denials, policies).
    pub detail: String,
    /// How to resolve a failure.
    pub hint: String,
}

/// At most this many tenant namespaces get the per-namespace checks (the
/// sidecar's admission, the ingress controller's and gateways' reach); a
/// larger profile gets an evenly spaced sample, said in a note, so the check
/// stays a small part of a fleet render.
const SAMPLE: usize = 64;

/// An image reference for a repository: kept when it names a tag or digest.
fn reference(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || image.contains('@') {
        image.to_owned()
    } else {
        format!("{image}:1.0.0")
    }
}

/// A container as a chart installs it: restricted-compliant, with requests,
/// and limits when the component sets them.
fn container(name: String, image: &str, limits: bool) -> Value {
    let mut resources = json!({"requests": {"cpu": "100m", "memory": "128Mi"}});
    if limits {
        resources["limits"] = json!({"cpu": "1", "memory": "512Mi"});
    }
    json!({
        "name": name,
        "image": reference(image),
        "resources": resources,
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": true,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    })
}

fn pod(
    name: &str,
    ns: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    sa: &str,
    containers: Vec<Value>,
) -> Value {
    let mut spec = json!({
        "containers": containers,
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
    });
    if !sa.is_empty() {
        spec["serviceAccountName"] = json!(sa);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations},
        "spec": spec,
    })
}

/// The annotations a tenant writes on what it runs in `ns` (required keys).
fn tenant_annotations(m: &Model, ns: &str) -> BTreeMap<String, String> {
    let spec = m.profile.namespaces.iter().find(|n| n.name == ns);
    m.profile
        .policy
        .iter()
        .flat_map(|p| &p.required_annotations)
        .map(|k| {
            let v = spec
                .and_then(|n| n.annotations.get(k))
                .cloned()
                .unwrap_or_else(|| "platform@example.com".to_owned());
            (k.clone(), v)
        })
        .collect()
}

/// What the checks evaluate against.
struct Ctx<'a> {
    m: &'a Model,
    scoped: Scoped,
    pod_security: PodSecurity,
    /// The tenant namespaces the per-namespace checks cover.
    sample: Vec<&'a NamespaceSpec>,
}

impl Ctx<'_> {
    fn denials(&self, ns: &str, obj: &Value) -> Result<Vec<Denial>, EvalError> {
        let objs = self.scoped.for_namespaces(&[ns]);
        Ok(decide(&objs, &self.pod_security, ns, obj)?.denials)
    }
}

fn admission(
    ctx: &Ctx<'_>,
    component: &str,
    what: &str,
    ns: &str,
    obj: &Value,
    hint: &str,
) -> Result<Check, EvalError> {
    let denials = ctx.denials(ns, obj)?;
    Ok(Check {
        component: component.to_owned(),
        what: what.to_owned(),
        ok: denials.is_empty(),
        detail: if denials.is_empty() {
            "admitted".to_owned()
        } else {
            Denial::describe(&denials)
        },
        hint: hint.to_owned(),
    })
}

/// The label of the component for messages.
fn label(c: &Component) -> String {
    if c.namespace.is_empty() {
        c.name.clone()
    } else {
        format!("{} ({})", c.name, c.namespace)
    }
}

/// The checks of one render, and what they did not cover.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Set when the per-namespace checks covered a sample of the namespaces.
    pub note: Option<String>,
}

/// The tenant namespaces the per-namespace checks cover: all of them, or an
/// evenly spaced sample of a large profile.
fn sample(m: &Model) -> Vec<&NamespaceSpec> {
    let all = &m.profile.namespaces;
    if all.len() <= SAMPLE {
        return all.iter().collect();
    }
    (0..SAMPLE).map(|i| &all[i * all.len() / SAMPLE]).collect()
}

/// Every check on the rendering of `m`.
pub fn run(m: &Model, set: &ManifestSet) -> Result<Report, EvalError> {
    let components = super::all(&m.profile);
    if components.is_empty() {
        return Ok(Report::default());
    }
    let mut wanted: BTreeSet<String> = sample(m).iter().map(|n| n.name.clone()).collect();
    wanted.extend(components.iter().map(|c| c.namespace.clone()));
    wanted.insert(crate::pipeline::flows::ISTIO_NS.to_owned());
    let objs = crate::pipeline::timing::stage("self-check read", || objects(set, &wanted));
    run_objects(m, objs)
}

/// The checks on rendered objects already read back.
pub fn run_objects(m: &Model, objs: Vec<Value>) -> Result<Report, EvalError> {
    let components = super::all(&m.profile);
    let ctx = crate::pipeline::timing::stage("self-check index", || Ctx {
        m,
        pod_security: PodSecurity::new(&objs, Some(m.minor())),
        scoped: Scoped::new(objs),
        sample: sample(m),
    });
    // Admission and reach read the same objects and nothing of each other.
    // The second thread runs the reach checks, then joins the main one in
    // taking units to admit from a shared counter; results are put back in
    // unit order, admission then reach, as if run in turn.
    let units = units(&ctx, &components);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let admit = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&(c, ns)) = units.get(i) else {
                return done;
            };
            let mut out = Vec::new();
            let admitted = match ns {
                Some(ns) => admit_sidecar(&ctx, c, ns, &mut out),
                None => admit_component(&ctx, c, &mut out),
            };
            done.push((i, admitted.map(|()| out)));
        }
    };
    let (mut admitted, (reached, theirs)) = crate::pipeline::both::both(
        || crate::pipeline::timing::stage("self-check admission", admit),
        || {
            let mut out = Vec::new();
            crate::pipeline::timing::stage("self-check reach", || {
                reach(&ctx, &components, &mut out)
            });
            (out, admit())
        },
    );
    admitted.extend(theirs);
    admitted.sort_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    for (_, checks) in admitted {
        out.extend(checks?);
    }
    schedule_collector(&ctx.scoped.objs, &components, &mut out);
    out.extend(reached);
    let n = m.profile.namespaces.len();
    let note = (ctx.sample.len() < n).then(|| {
        format!(
            "note: the platform self-check covered {} of {n} tenant namespaces (evenly spaced) for the sidecar's admission and the ingress controller's and gateways' reach; `kharden verify` checks any namespace you name",
            ctx.sample.len()
        )
    });
    Ok(Report { checks: out, note })
}

/// An image a tenant's rules admit: from the first allowed registry entry.
fn tenant_image(m: &Model) -> String {
    // The entries as validation parsed them (`policy::validated`).
    match m.plan.policy.registries.first() {
        None => "registry.example.com/app:1.0.0".to_owned(),
        Some(e) => match e.form {
            crate::concern::policy::RegistryForm::Under => {
                format!("{}app:1.0.0", e.normal.trim_end_matches('*'))
            }
            crate::concern::policy::RegistryForm::Repository => format!("{}:1.0.0", e.normal),
            _ => e.normal.clone(),
        },
    }
}

/// The admission work in order, in units: each component, but the mesh
/// sidecar (most of the work) once per sampled namespace the mesh covers.
fn units<'a>(
    ctx: &Ctx<'a>,
    components: &'a [Component],
) -> Vec<(&'a Component, Option<&'a NamespaceSpec>)> {
    let mut out = Vec::new();
    for c in components {
        if c.role == Role::MeshSidecar {
            let meshed = ctx.sample.iter().filter(|n| meshed(ctx.m, n));
            out.extend(meshed.map(|&ns| (c, Some(ns))));
        } else {
            out.push((c, None));
        }
    }
    out
}

fn override_hint(c: &Component) -> String {
    format!(
        "set `components.{}` to what your install runs (images, labels), or add its namespace to `policy.exemptNamespaces`",
        c.role.field()
    )
}

/// The proxy is injected into tenant pods: a pod the tenant's rules admit in
/// `ns` must still be admitted with the proxy added.
fn admit_sidecar(
    ctx: &Ctx<'_>,
    c: &Component,
    ns: &NamespaceSpec,
    out: &mut Vec<Check>,
) -> Result<(), EvalError> {
    let m = ctx.m;
    let image = tenant_image(m);
    let notes = tenant_annotations(m, &ns.name);
    let app = container("app".to_owned(), &image, true);
    let plain = pod(
        "tenant",
        &ns.name,
        &BTreeMap::new(),
        &notes,
        "",
        vec![app.clone()],
    );
    if !ctx.denials(&ns.name, &plain)?.is_empty() {
        return Ok(()); // the sample is not a pod this namespace admits anyway
    }
    let mut containers = vec![app];
    for (i, image) in c.images.iter().enumerate() {
        containers.push(container(format!("proxy-{i}"), image, true));
    }
    let injected = pod("tenant", &ns.name, &BTreeMap::new(), &notes, "", containers);
    out.push(admission(
        ctx,
        &label(c),
        &format!("injected Pod admitted in `{}`", ns.name),
        &ns.name,
        &injected,
        &override_hint(c),
    )?);
    Ok(())
}

/// A component's own workloads, as rendered or as its install runs them.
fn admit_component(ctx: &Ctx<'_>, c: &Component, out: &mut Vec<Check>) -> Result<(), EvalError> {
    let m = ctx.m;
    let name = label(c);
    let override_hint = override_hint(c);
    if c.rendered {
        for d in ctx.scoped.objs.iter().filter(|o| {
            o["kind"] == "DaemonSet"
                && o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(&c.namespace)
        }) {
            out.push(admission(
                ctx,
                &name,
                "DaemonSet admitted",
                &c.namespace,
                d,
                &override_hint,
            )?);
            // Its pods, as the DaemonSet controller creates them.
            let Some(p) = template_pod(d) else { continue };
            out.push(admission(
                ctx,
                &name,
                "Pod admitted",
                &c.namespace,
                &p,
                &override_hint,
            )?);
        }
        return Ok(());
    }
    let in_profile = m.profile.namespaces.iter().any(|n| n.name == c.namespace);
    let annotations = if in_profile {
        tenant_annotations(m, &c.namespace)
    } else {
        BTreeMap::new()
    };
    let containers = c
        .images
        .iter()
        .enumerate()
        .map(|(i, image)| container(format!("c{i}"), image, c.sets_limits))
        .collect();
    let p = pod(
        "sample",
        &c.namespace,
        &c.pod_labels,
        &annotations,
        &c.service_account,
        containers,
    );
    out.push(admission(
        ctx,
        &name,
        "Pod admitted",
        &c.namespace,
        &p,
        &override_hint,
    )?);
    if let Some(t) = c.service {
        let svc = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "sample", "namespace": c.namespace, "annotations": c.service_annotations},
            "spec": {"type": t.as_str(), "selector": c.pod_labels, "ports": [{"port": 443, "protocol": "TCP"}]},
        });
        let hint = if c.service_annotations.is_empty() {
            override_hint.clone()
        } else {
            format!(
                "set {} on its Service in the chart's values",
                c.service_annotations
                    .iter()
                    .map(|(k, v)| format!("`{k}: \"{v}\"`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push(admission(
            ctx,
            &name,
            &format!("{} Service admitted", t.as_str()),
            &c.namespace,
            &svc,
            &hint,
        )?);
    }
    Ok(())
}

/// The collector runs on every Linux node (it ships their logs) and on no
/// Windows node (its image is Linux-only): it selects `kubernetes.io/os:
/// linux` and tolerates every taint.
fn schedule_collector(objs: &[Value], components: &[Component], out: &mut Vec<Check>) {
    for c in components.iter().filter(|c| c.role == Role::LogCollector) {
        for d in objs.iter().filter(|o| {
            o["kind"] == "DaemonSet"
                && o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(&c.namespace)
        }) {
            let spec = &d["spec"]["template"]["spec"];
            let linux = spec
                .pointer("/nodeSelector/kubernetes.io~1os")
                .and_then(Value::as_str)
                == Some("linux");
            let tolerates_all = spec["tolerations"].as_array().is_some_and(|ts| {
                ts.iter().any(|t| {
                    t["operator"] == "Exists" && t.get("key").is_none_or(|k| k.is_null() || k == "")
                })
            });
            out.push(Check {
                component: label(c),
                what: "scheduled on Linux nodes only".to_owned(),
                ok: linux,
                detail: if linux {
                    "selects kubernetes.io/os: linux".to_owned()
                } else {
                    "no kubernetes.io/os: linux nodeSelector: on a Windows pool without a taint its pods never start".to_owned()
                },
                hint: "the collector's image is Linux-only; this is a bug in kharden".to_owned(),
            });
            out.push(Check {
                component: label(c),
                what: "scheduled on every tainted Linux node".to_owned(),
                ok: tolerates_all,
                detail: if tolerates_all {
                    "tolerates every taint".to_owned()
                } else {
                    "tolerates only some taints: nodes of other tainted pools ship no logs"
                        .to_owned()
                },
                hint: "this is a bug in kharden".to_owned(),
            });
        }
    }
}

/// One line on what the self-check proved, for `verify`.
pub fn summary(r: &Report) -> String {
    let passed = r.checks.iter().filter(|c| c.ok).count();
    let components: BTreeSet<&str> = r.checks.iter().map(|c| c.component.as_str()).collect();
    let mut line = format!(
        "platform self-check: {passed} of {} checks passed (admission, scheduling and reach of {})",
        r.checks.len(),
        components.into_iter().collect::<Vec<_>>().join(", ")
    );
    if let Some(n) = &r.note {
        line.push_str(&format!("; {}", n.trim_start_matches("note: ")));
    }
    line
}

/// Rows for `report`: component, check, answer, what decided it.
pub fn rows(r: &Report) -> Vec<Vec<String>> {
    r.checks
        .iter()
        .map(|c| {
            vec![
                c.component.clone(),
                c.what.clone(),
                if c.ok { "yes" } else { "NO" }.to_owned(),
                c.detail.clone(),
            ]
        })
        .collect()
}

/// The failed checks as one report, or `None` when all passed.
pub fn failures(checks: &[Check]) -> Option<String> {
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    if failed.is_empty() {
        return None;
    }
    let mut text = String::new();
    for c in &failed {
        text.push_str(&format!(
            "error: platform self-check: {}: {}: no: {}\n  = hint: {}\n",
            c.component, c.what, c.detail, c.hint
        ));
    }
    text.push_str(&format!(
        "error: {} platform self-check{} failed; nothing written\n",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" }
    ));
    Some(text)
}
