//! Namespaces that exist but are not in the profile (the bundle renders no
//! Namespace for them), with what protects them and what does not: which of
//! the bundle's admission rules still reach a Pod there (cluster-wide
//! constraints and policy bindings), and which of their own NetworkPolicies,
//! ResourceQuotas, LimitRanges and Pod Security labels they have.
//! Kubernetes' own namespaces are left out with a note.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Unmanaged;
use super::input::{kind_of, name_of, namespace_of};
use crate::components::scope::Scoped;
use crate::concern::policy::engine;

const KUBERNETES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// `policy`: the rendered admission objects, scoped; `profile`: the
/// namespaces the bundle renders.
pub(super) fn find(
    policy: &Scoped,
    profile: &BTreeSet<String>,
    existing: &[Value],
    notes: &mut Vec<String>,
) -> Vec<Unmanaged> {
    let mut nss: BTreeMap<String, (Option<&Value>, Vec<&Value>)> = BTreeMap::new();
    for o in existing {
        if kind_of(o) == "Namespace" {
            nss.entry(name_of(o).to_owned()).or_default().0 = Some(o);
        } else if let Some(ns) = namespace_of(o) {
            nss.entry(ns.to_owned()).or_default().1.push(o);
        }
    }
    let mut out = Vec::new();
    let mut system = 0;
    for (ns, (obj, objs)) in nss {
        if profile.contains(&ns) {
            continue;
        }
        if KUBERNETES.contains(&ns.as_str()) {
            system += 1;
            continue;
        }
        let count = |k: &str| objs.iter().filter(|o| kind_of(o) == k).count();
        let mut protected = Vec::new();
        let mut unprotected = Vec::new();
        let mut rules = Vec::new();
        for p in policy.for_namespaces(&[&ns]) {
            if engine::reaches(&p, &ns).unwrap_or(false) {
                rules.push(format!("{}/{}", kind_of(&p), name_of(&p)));
            }
        }
        rules.sort();
        if rules.is_empty() {
            unprotected.push("no admission rule of the bundle applies".to_owned());
        } else {
            protected.push(format!("admission: {}", rules.join(", ")));
        }
        let enforce = obj.and_then(|o| {
            o.pointer("/metadata/labels/pod-security.kubernetes.io~1enforce")
                .and_then(Value::as_str)
        });
        match enforce {
            Some(level) if level != "privileged" => {
                protected.push(format!("Pod Security enforce={level} (its own label)"));
            }
            _ => unprotected.push("no Pod Security enforce level".to_owned()),
        }
        for (kind, missing) in [
            ("NetworkPolicy", "no NetworkPolicy: all traffic is allowed"),
            ("ResourceQuota", "no ResourceQuota"),
            ("LimitRange", "no LimitRange"),
        ] {
            match count(kind) {
                0 => unprotected.push(missing.to_owned()),
                n => protected.push(format!("{n} {kind}(s) of its own")),
            }
        }
        out.push(Unmanaged {
            name: ns,
            objects: objs.len(),
            protected_by: protected,
            unprotected,
        });
    }
    if system > 0 {
        notes.push(format!(
            "namespaces: {system} Kubernetes namespace(s) (default, kube-*) not in the profile were left out"
        ));
    }
    out
}
