//! Namespaces: names, Pod Security Admission labels, and the profile's labels
//! and annotations (the registry puts them, with every other concern's, on the
//! Namespace object).

use std::collections::BTreeMap;

use crate::bundle::manifest::MANAGED_BY;
use crate::concern::metadata::NamespaceMeta;
use crate::input::diag::Diagnostic;
use crate::input::profile::{NamespaceSpec, PodSecurityLevel};
use crate::input::source::FieldPath;
use crate::k8s::names;
use crate::pipeline::model::{Model, label};
use crate::pipeline::plan::namespace::{PodSecurity, PodSecurityPlan};

/// Namespaces Kubernetes itself owns; a tenant profile must not take them over.
const RESERVED: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Checks names, labels and annotations, and decides each namespace's
/// Pod Security levels.
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    plan.namespace = decide(m);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, ns) in m.profile.namespaces.iter().enumerate() {
        let base = FieldPath::root().key("namespaces").index(i);
        label(out, &base.key("name"), &ns.name);
        if RESERVED.contains(&ns.name.as_str()) {
            out.push(
                Diagnostic::error(
                    base.key("name"),
                    format!("`{}` is a namespace Kubernetes manages itself", ns.name),
                )
                .hint("tenant namespaces need their own names"),
            );
        }
        if let Some(first) = seen.insert(&ns.name, i) {
            out.push(
                Diagnostic::error(
                    base.key("name"),
                    format!(
                        "namespace `{}` is listed twice (also at namespaces[{first}])",
                        ns.name
                    ),
                )
                .hint("merge the two entries"),
            );
        }
        crate::pipeline::model::labels(out, &base.key("labels"), &ns.labels);
        for k in ns.labels.keys() {
            if k.starts_with("pod-security.kubernetes.io/") || k == MANAGED_BY.0 {
                out.push(
                    Diagnostic::error(
                        base.key("labels").key(k),
                        format!("label `{k}` is set by kharden"),
                    )
                    .hint("use `podSecurity` for the Pod Security level")
                    .at_key(),
                );
            }
        }
        for k in ns.annotations.keys() {
            if let Err(e) = names::qualified_name(k) {
                out.push(
                    Diagnostic::error(
                        base.key("annotations").key(k),
                        format!("`{k}` is not a valid annotation key: {e}"),
                    )
                    .at_key(),
                );
            }
        }
    }
}

fn decide(m: &Model) -> PodSecurityPlan {
    let p = &m.profile;
    let namespaces = p.namespaces.iter().map(|ns| pod_security(m, ns)).collect();
    PodSecurityPlan {
        version: format!("v{}", p.cluster.kubernetes_version),
        namespaces,
    }
}

fn pod_security(m: &Model, ns: &NamespaceSpec) -> PodSecurity {
    let p = &m.profile;
    PodSecurity {
        level: ns.pod_security.unwrap_or(p.defaults.pod_security),
        held_back: p.policy.as_ref().is_some_and(|pol| {
            pol.enforcement
                .mode(crate::input::profile::POD_SECURITY_RULE, Some(&ns.name))
                != crate::input::profile::EnforcementMode::Deny
        }),
    }
}

/// What `validate` decided for `ns`: one of the profile's namespaces, so
/// decided already (a namespace from elsewhere is decided on the spot).
fn decided(m: &Model, ns: &NamespaceSpec) -> PodSecurity {
    m.namespace_index(ns)
        .and_then(|i| m.plan.namespace.namespaces.get(i))
        .copied()
        .unwrap_or_else(|| pod_security(m, ns))
}

/// The Pod Security level a namespace enforces.
pub(crate) fn level(m: &Model, ns: &NamespaceSpec) -> PodSecurityLevel {
    decided(m, ns).level
}

/// The profile's own labels and annotations, and the Pod Security labels.
pub(crate) fn metadata(m: &Model, ns: &NamespaceSpec) -> NamespaceMeta {
    let decided = decided(m, ns);
    let version = &m.plan.namespace.version;
    let mut labels = ns.labels.clone();
    // Enforce the chosen level; audit and warn always at restricted, so a
    // loosened namespace still shows what would break under the strict level.
    // Versions are pinned to the cluster's, so an upgrade never changes the
    // rules under running workloads.
    let pss = "pod-security.kubernetes.io";
    // A rollout (`policy.enforcement` warn or audit for `podSecurity`) holds
    // `enforce` back at `privileged`, which refuses nothing, like the other
    // rules' warn and audit modes; `warn` and `audit` still report restricted.
    let mut annotations = ns.annotations.clone();
    let enforce = if decided.held_back {
        // The level `enforce` will take, for `verify` to say what it
        // would refuse.
        annotations.insert(
            crate::input::profile::POD_SECURITY_TARGET.to_owned(),
            decided.level.as_str().to_owned(),
        );
        PodSecurityLevel::Privileged
    } else {
        decided.level
    };
    for (mode, lvl) in [
        ("enforce", enforce),
        ("audit", PodSecurityLevel::Restricted),
        ("warn", PodSecurityLevel::Restricted),
    ] {
        labels.insert(format!("{pss}/{mode}"), lvl.as_str().to_owned());
        labels.insert(format!("{pss}/{mode}-version"), version.clone());
    }
    NamespaceMeta {
        labels,
        annotations,
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{errors, object, render};

    #[test]
    fn pod_security_labels_pin_the_cluster_version() {
        let objs = render(
            "namespaces:\n  - name: a\n    podSecurity: baseline\n    annotations: {contact: x@y.z}\n",
        );
        let ns = object(&objs, "_cluster/namespace-a.yaml");
        let l = &ns["metadata"]["labels"];
        assert_eq!(l["pod-security.kubernetes.io/enforce"], "baseline");
        assert_eq!(l["pod-security.kubernetes.io/audit"], "restricted");
        assert_eq!(l["pod-security.kubernetes.io/warn"], "restricted");
        assert_eq!(l["pod-security.kubernetes.io/enforce-version"], "v1.33");
        assert_eq!(l["app.kubernetes.io/managed-by"], "kharden");
        assert_eq!(ns["metadata"]["annotations"]["contact"], "x@y.z");
    }

    #[test]
    fn labels_follow_the_decided_levels() {
        let mut m = crate::testing::model("namespaces:\n  - name: a\n    podSecurity: baseline\n");
        let decided = &mut m.plan.namespace.namespaces[0];
        assert_eq!(
            decided.level,
            crate::input::profile::PodSecurityLevel::Baseline
        );
        assert!(!decided.held_back);
        // A rollout holds `enforce` back and names the level it will take.
        decided.held_back = true;
        let meta = super::metadata(&m, &m.profile.namespaces[0]);
        assert_eq!(
            meta.labels["pod-security.kubernetes.io/enforce"],
            "privileged"
        );
        assert_eq!(
            meta.annotations[crate::input::profile::POD_SECURITY_TARGET],
            "baseline"
        );
        assert_eq!(
            meta.labels["pod-security.kubernetes.io/audit-version"],
            "v1.33"
        );
    }

    #[test]
    fn a_namespace_is_found_in_the_plan_by_address() {
        let m = crate::testing::model("namespaces:\n  - name: a\n  - name: b\n");
        assert_eq!(m.namespace_index(&m.profile.namespaces[1]), Some(1));
        // An equal namespace that is not the profile's own entry is not found.
        let copy = m.profile.namespaces[1].clone();
        assert_eq!(m.namespace_index(&copy), None);
    }

    #[test]
    fn restricted_is_the_default() {
        let objs = render("namespaces:\n  - name: a\n");
        let ns = object(&objs, "_cluster/namespace-a.yaml");
        assert_eq!(
            ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
    }

    #[test]
    fn bad_duplicate_and_reserved_names_are_refused() {
        let e =
            errors("namespaces:\n  - name: a\n  - name: a\n  - name: kube-system\n  - name: A_b\n");
        assert!(
            e.contains("namespace `a` is listed twice (also at namespaces[0])"),
            "{e}"
        );
        assert!(
            e.contains("`kube-system` is a namespace Kubernetes manages itself"),
            "{e}"
        );
        assert!(e.contains("`A_b` is not a valid name"), "{e}");
        assert!(e.contains("the profile has 3 problems"), "{e}");
    }

    #[test]
    fn kharden_owned_labels_cannot_be_overridden() {
        let e = errors(
            "namespaces:\n  - name: a\n    labels: {pod-security.kubernetes.io/enforce: privileged}\n",
        );
        assert!(
            e.contains("label `pod-security.kubernetes.io/enforce` is set by kharden"),
            "{e}"
        );
    }
}
