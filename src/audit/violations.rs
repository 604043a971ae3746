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
use crate::components::scope::{Scoped, objects};
use crate::manifest::ManifestSet;
use crate::verify::admission::{Denial, Request, resource_of};
use crate::verify::pod_security::{PodSecurity, Target, template_pod};
use crate::verify::{EvalError, decide};

/// Every refusal of an existing object, sorted by namespace, kind, name, rule.
pub fn find(
    minor: u32,
    set: &ManifestSet,
    existing: &[Value],
) -> Result<Vec<Violation>, EvalError> {
    let mut by_ns: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for o in existing {
        let Some(ns) = namespace_of(o) else { continue };
        let api = o["apiVersion"].as_str().unwrap_or_default();
        let group = api.split_once('/').map_or("", |(g, _)| g);
        if resource_of(group, kind_of(o)).is_some() {
            by_ns.entry(ns).or_default().push(o);
        }
    }
    let wanted: BTreeSet<String> = by_ns.keys().map(|n| (*n).to_owned()).collect();
    let mut rendered = objects(set, &wanted);
    // An admission configuration (Pod Security defaults) is a control-plane file.
    rendered.extend(
        set.iter()
            .filter(|m| m.control_plane)
            .filter_map(|m| serde_saphyr::from_str::<Value>(&m.body).ok())
            .filter(Value::is_object),
    );
    let pod_security = PodSecurity::new(&rendered, Some(minor));
    let scoped = Scoped::new(rendered);
    let mut out = Vec::new();
    for (ns, objs) in by_ns {
        let policy = scoped.for_namespaces(&[ns]);
        for o in objs {
            let mut d = decide(&policy, &pod_security, ns, o)?;
            let psa = d.pod_security.denial();
            // PSA only warns about a workload: its pods meet `enforce`, after
            // the same mutations.
            if d.pod_security.target == Target::Controller
                && let Some(pod) = template_pod(&d.request.object)
                && let Some(mut req) = Request::create(ns, pod)
            {
                crate::verify::admission::gatekeeper_mutate(&policy, &mut req)?;
                crate::verify::mutating::native_mutate(&policy, &mut req)?;
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
    out.sort();
    out.dedup();
    Ok(out)
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
