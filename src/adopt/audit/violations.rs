//! What the rendered admission rules would refuse among the existing objects:
//! each namespaced object of a kind admission looks at goes through
//! `verify::decide` (mutations first, then LimitRange, Pod Security, quota,
//! Gatekeeper or ValidatingAdmissionPolicy), as a CREATE would at its next
//! rollout. A workload is also judged by the pods it would start, which Pod
//! Security enforces. The rendered policy objects are indexed per namespace
//! once (`components::scope`), so each evaluation sees only what applies.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Violation;
use super::input::{kind_of, name_of, namespace_of};
use crate::bundle::manifest::ManifestSet;
use crate::components::scope::{Scoped, objects};
use crate::verify::admission::{Denial, Request, resource_of};
use crate::verify::pod_security::{PodSecurity, Target, template_pod};
use crate::verify::{EvalError, decide};

/// Every refusal of an existing object, sorted by namespace, kind, name, rule.
pub(super) fn find(
    minor: u32,
    set: &ManifestSet,
    existing: &[Value],
) -> Result<Vec<Violation>, EvalError> {
    let mut by_ns: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for o in existing {
        let Some(ns) = namespace_of(o) else { continue };
        let api = o["apiVersion"].as_str().unwrap_or_default();
        let group = api.split_once('/').map_or("", |(g, _)| g);
        if resource_of(group, kind_of(o)).is_some() && !controlled(o) {
            by_ns.entry(ns).or_default().push(o);
        }
    }
    let wanted: BTreeSet<String> = by_ns.keys().map(|n| (*n).to_owned()).collect();
    let mut rendered = objects(set, &wanted);
    // An admission configuration (Pod Security defaults) is a control-plane file.
    rendered.extend(
        set.iter()
            .filter(|m| m.control_plane_file())
            .filter_map(|m| serde_saphyr::from_str::<Value>(m.body()).ok())
            .filter(Value::is_object),
    );
    let pod_security = PodSecurity::new(&rendered, Some(minor));
    let scoped = Scoped::new(rendered);
    // Namespaces are independent: split them over the cores (the Rego engine
    // cache is per thread, so each compiles a template once).
    let by_ns: Vec<(&str, Vec<&Value>)> = by_ns.into_iter().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let chunk = by_ns.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<Violation>, EvalError>> = std::thread::scope(|s| {
        let handles: Vec<_> = by_ns
            .chunks(chunk)
            .map(|part| s.spawn(|| namespaces(part, &scoped, &pod_security)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(EvalError::Unchecked(
                        "internal error: an audit thread panicked; this is a bug in kharden"
                            .to_owned(),
                    ))
                })
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The violations of the objects of some namespaces.
fn namespaces(
    part: &[(&str, Vec<&Value>)],
    scoped: &Scoped,
    pod_security: &PodSecurity,
) -> Result<Vec<Violation>, EvalError> {
    // What admission reads; Namespaces (Pod Security is built once) and
    // traffic objects are left out, so each request scans fewer objects. The
    // global part is copied once, each namespace's own part added and removed.
    let admission = |p: &&Value| {
        !matches!(
            kind_of(p),
            "Namespace"
                | "NetworkPolicy"
                | "PeerAuthentication"
                | "AuthorizationPolicy"
                | "DaemonSet"
        )
    };
    let mut policy: Vec<Value> = scoped.global().filter(admission).cloned().collect();
    let global = policy.len();
    let mut out = Vec::new();
    for (ns, objs) in part {
        let ns: &str = ns;
        policy.truncate(global);
        policy.extend(scoped.named(ns).filter(admission).cloned());
        for o in objs {
            let mut d = decide(&policy, pod_security, ns, o)?;
            let psa = d.pod_security.denial();
            // PSA only warns about a workload: its pods meet `enforce`, after
            // the same mutations.
            if d.pod_security.target == Target::Controller
                && let Some(pod) = template_pod(&d.request.object)
                && let Some(mut req) = Request::create(ns, pod)
            {
                crate::verify::mutate(&policy, &mut req)?;
                let v = pod_security.evaluate(ns, &req.object);
                if let Some(msg) = v.denial() {
                    let (kind, by) = v.source.object();
                    d.denials.push(Denial {
                        kind,
                        name: by,
                        message: format!("its pods would be refused: {msg}"),
                    });
                }
            }
            for den in d.denials {
                let engine = engine(&den, psa.as_deref());
                out.push(Violation {
                    rule: format!("{}/{}", den.kind, den.name),
                    engine: engine.to_owned(),
                    namespace: ns.to_owned(),
                    kind: kind_of(o).to_owned(),
                    name: name_of(o).to_owned(),
                    message: den.message,
                });
            }
        }
    }
    Ok(out)
}

/// Whether a controller made `o` (a Deployment's ReplicaSet, its Pods, a
/// CronJob's Job): its owner is judged instead, and is what a rollout
/// resubmits, so each refused template is reported once, on its owner.
fn controlled(o: &Value) -> bool {
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r["controller"] == true))
}

/// Which admission step a denial came from.
fn engine(d: &Denial, psa: Option<&str>) -> &'static str {
    match d.kind.as_str() {
        _ if psa == Some(d.message.as_str())
            || d.message.starts_with("its pods would be refused") =>
        {
            "pod-security"
        }
        "ValidatingAdmissionPolicy" => "native",
        "ResourceQuota" => "resource-quota",
        "LimitRange" => "limit-range",
        _ => "gatekeeper",
    }
}
