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
use super::{Component, ES_HTTP, ES_TRANSPORT, Role};
use crate::bundle::manifest::ManifestSet;
use crate::input::profile::{MeshProvider, NamespaceSpec};
use crate::k8s::netpol_eval::{Endpoint, Verdict};
use crate::pipeline::flows::meshed;
use crate::pipeline::model::Model;
use crate::verify::admission::Denial;
use crate::verify::pod_security::template_pod;
use crate::verify::{EvalError, PodSecurity, decide, istio, network_cluster};

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
    // Admission and reach read the same objects and nothing of each other:
    // the reach checks run on a second thread, and their results follow the
    // admission ones, as if run in turn.
    let (admitted, reached) = std::thread::scope(|s| {
        let reached = s.spawn(|| {
            let mut out = Vec::new();
            crate::pipeline::timing::stage("self-check reach", || {
                reach(&ctx, &components, &mut out)
            });
            out
        });
        let mut out = Vec::new();
        let admitted = crate::pipeline::timing::stage("self-check admission", || {
            components
                .iter()
                .try_for_each(|c| admit_component(&ctx, c, &mut out))
        })
        .map(|()| {
            schedule_collector(&ctx.scoped.objs, &components, &mut out);
            out
        });
        let reached = reached
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (admitted, reached)
    });
    let mut out = admitted?;
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

fn admit_component(ctx: &Ctx<'_>, c: &Component, out: &mut Vec<Check>) -> Result<(), EvalError> {
    let m = ctx.m;
    let name = label(c);
    let override_hint = format!(
        "set `components.{}` to what your install runs (images, labels), or add its namespace to `policy.exemptNamespaces`",
        c.role.field()
    );
    if c.role == Role::MeshSidecar {
        // The proxy is injected into tenant pods: a pod the tenant's rules
        // admit must still be admitted with the proxy added.
        let image = tenant_image(m);
        for ns in ctx.sample.iter().filter(|n| meshed(m, n)) {
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
            let before = ctx.denials(&ns.name, &plain)?;
            if !before.is_empty() {
                continue; // the sample is not a pod this namespace admits anyway
            }
            let mut containers = vec![app];
            for (i, image) in c.images.iter().enumerate() {
                containers.push(container(format!("proxy-{i}"), image, true));
            }
            let injected = pod("tenant", &ns.name, &BTreeMap::new(), &notes, "", containers);
            out.push(admission(
                ctx,
                &name,
                &format!("injected Pod admitted in `{}`", ns.name),
                &ns.name,
                &injected,
                &override_hint,
            )?);
        }
        return Ok(());
    }
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

/// How one direction was decided, in words.
fn verdict(v: &Verdict) -> String {
    match v {
        Verdict::Unselected => "no NetworkPolicy selects it".to_owned(),
        Verdict::AllowedBy(p) => format!("allowed by NetworkPolicy {p}"),
        Verdict::DeniedBy(ps) => format!(
            "denied, selected by NetworkPolicy {} and none allows it",
            ps.join(", ")
        ),
    }
}

/// One connection a component needs.
struct Need<'a> {
    from: &'a Component,
    to_ns: String,
    to_labels: BTreeMap<String, String>,
    port: u16,
    why: String,
    to_is_elasticsearch: bool,
}

fn reach(ctx: &Ctx<'_>, components: &[Component], out: &mut Vec<Check>) {
    let m = ctx.m;
    let find = |r: Role| components.iter().find(|c| c.role == r);
    let mut needs = Vec::new();
    for c in components {
        match c.role {
            Role::IngressController => {
                for ns in &ctx.sample {
                    needs.push(Need {
                        from: c,
                        to_ns: ns.name.clone(),
                        to_labels: BTreeMap::new(),
                        port: 8080,
                        why: "routes Ingress traffic".to_owned(),
                        to_is_elasticsearch: false,
                    });
                }
            }
            Role::GatewayProxy => {
                let g =
                    m.profile.cluster.gateways.iter().find(|g| {
                        c.name == format!("proxies of Gateway {}/{}", g.namespace, g.name)
                    });
                for ns in ctx
                    .sample
                    .iter()
                    .filter(|n| g.is_some_and(|g| g.routes_from(&n.name)))
                {
                    needs.push(Need {
                        from: c,
                        to_ns: ns.name.clone(),
                        to_labels: BTreeMap::new(),
                        port: 8080,
                        why: "routes Gateway traffic".to_owned(),
                        to_is_elasticsearch: false,
                    });
                }
            }
            Role::LogCollector => {
                if let (Some(es), Some(l)) = (find(Role::Elasticsearch), &m.profile.logging) {
                    needs.push(Need {
                        from: c,
                        to_ns: es.namespace.clone(),
                        to_labels: es.pod_labels.clone(),
                        port: l.elasticsearch.port,
                        why: "ships logs".to_owned(),
                        to_is_elasticsearch: true,
                    });
                }
            }
            Role::Elasticsearch => needs.push(Need {
                from: c,
                to_ns: c.namespace.clone(),
                to_labels: c.pod_labels.clone(),
                port: ES_TRANSPORT,
                why: "forms a cluster with its other nodes".to_owned(),
                to_is_elasticsearch: true,
            }),
            Role::ElasticOperator => {
                if let Some(es) = find(Role::Elasticsearch) {
                    needs.push(Need {
                        from: c,
                        to_ns: es.namespace.clone(),
                        to_labels: es.pod_labels.clone(),
                        port: ES_HTTP,
                        why: "manages Elasticsearch".to_owned(),
                        to_is_elasticsearch: true,
                    });
                }
            }
            _ => {}
        }
    }
    let istio = m
        .profile
        .mesh
        .as_ref()
        .is_some_and(|x| x.provider == MeshProvider::Istio);
    let profile_ns: BTreeSet<&str> = m
        .profile
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    for n in needs {
        let src = Endpoint::Pod {
            namespace: n.from.namespace.clone(),
            labels: n.from.pod_labels.clone(),
            named_ports: BTreeMap::new(),
        };
        let dst = Endpoint::Pod {
            namespace: n.to_ns.clone(),
            labels: n.to_labels.clone(),
            named_ports: BTreeMap::new(),
        };
        let port = i32::from(n.port);
        let cluster = network_cluster(
            &ctx.scoped
                .for_namespaces(&[n.from.namespace.as_str(), n.to_ns.as_str()]),
        );
        let (egress, ingress) = cluster.explain(&src, &dst, port, "TCP");
        let what = format!("reaches `{}` on {}/TCP ({})", n.to_ns, n.port, n.why);
        let mut check = Check {
            component: label(n.from),
            what,
            ok: egress.allows() && ingress.allows(),
            detail: format!(
                "egress: {}; ingress: {}",
                verdict(&egress),
                verdict(&ingress)
            ),
            hint: "this is a bug in kharden's NetworkPolicies".to_owned(),
        };
        let dst_meshed = profile_ns.contains(n.to_ns.as_str())
            && m.profile
                .namespaces
                .iter()
                .any(|x| x.name == n.to_ns && meshed(m, x));
        if check.ok && istio && dst_meshed {
            let from = istio::Source {
                namespace: n.from.namespace.clone(),
                service_account: n.from.service_account.clone(),
                meshed: n.from.meshed,
            };
            let target = istio::Target {
                namespace: &n.to_ns,
                labels: &n.to_labels,
                port,
                method: None,
                path: None,
            };
            let objs = ctx
                .scoped
                .for_namespaces(&[n.to_ns.as_str(), crate::pipeline::flows::ISTIO_NS]);
            if let Some(istio::Decision::Denied(by)) = istio::decide(&objs, &from, &target, true) {
                check.ok = false;
                check.detail = format!("mesh: denied {by}");
                check.hint = if n.to_is_elasticsearch {
                    format!(
                        "Elasticsearch in `{}` is inside the mesh, whose STRICT mTLS and identity-based authorization refuse the log collector and the ECK operator, which run without a sidecar: run Elasticsearch outside the mesh (in the collector's namespace `{}`, or a namespace not in the profile) and point `logging.elasticsearch.host` at it",
                        n.to_ns,
                        m.profile
                            .logging
                            .as_ref()
                            .map_or("logging", |l| l.namespace.as_str())
                    )
                } else if n.from.meshed {
                    "this is a bug in kharden's mesh grants".to_owned()
                } else {
                    format!(
                        "`{}` runs without the mesh sidecar and `{}` requires mTLS: run the destination in a namespace outside the mesh (e.g. the collector's), or run {} with the sidecar and set `components.{}.meshed: true`",
                        n.from.namespace,
                        n.to_ns,
                        n.from.name,
                        n.from.role.field()
                    )
                };
            }
        }
        out.push(check);
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
