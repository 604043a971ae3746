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

/// Namespaces Kubernetes itself owns; a tenant profile must not take them over.
const RESERVED: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Checks names, labels and annotations.
pub(crate) fn validate(
    m: &Model,
    _plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
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

/// A namespace's Pod Security: two typed profile fields read, nothing parsed,
/// so it is read where it is needed rather than kept in the plan.
#[derive(Debug, Clone, Copy)]
struct PodSecurity {
    /// The level the namespace is to enforce.
    level: PodSecurityLevel,
    /// A rollout (`policy.enforcement` warn or audit for `podSecurity`)
    /// holds `enforce` back at `privileged`.
    held_back: bool,
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

/// The Pod Security level a namespace enforces.
pub(crate) fn level(m: &Model, ns: &NamespaceSpec) -> PodSecurityLevel {
    pod_security(m, ns).level
}

/// The profile's own labels and annotations, and the Pod Security labels.
pub(crate) fn metadata(m: &Model, ns: &NamespaceSpec) -> NamespaceMeta {
    let decided = pod_security(m, ns);
    let version = format!("v{}", m.profile.cluster.kubernetes_version);
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
