//! Apply order (#14): which stage each object belongs to, so that applying the
//! stages one after the other works on a fresh cluster. A custom resource can be
//! created only once its kind exists: Gatekeeper makes each Constraint kind from a
//! ConstraintTemplate, asynchronously, and Istio, Linkerd and Gatekeeper define
//! theirs at install. A namespaced object needs its Namespace first.
//!
//! The stage decides the output directory (`stages/<dir>/`, see `output`), the
//! Argo CD sync wave and the Flux `dependsOn` chain; the Argo CD annotations are
//! written by `manifest::Manifest::new`, once for every object, from `Stage::annotations`.

use serde_json::{Map, Value};

/// Argo CD orders a sync by this annotation (lowest first, each wave healthy
/// before the next starts).
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Argo CD dry-runs every object before the first wave; a Constraint's kind does
/// not exist until Gatekeeper has processed its template, so its dry run must be
/// skipped while the kind is missing.
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
pub const SKIP_DRY_RUN: &str = "SkipDryRunOnMissingResource=true";

/// The API group of Constraints, whose kinds come from ConstraintTemplates.
pub const CONSTRAINT_GROUP: &str = "constraints.gatekeeper.sh";

/// The stages, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Namespaces, CRDs and cluster-scoped built-in objects (RBAC, priority
    /// classes, ValidatingAdmissionPolicies): nothing else exists before them.
    Cluster,
    /// ConstraintTemplates alone, so that a plain `kubectl` loop can wait on
    /// this one directory until Gatekeeper has created every Constraint kind.
    ConstraintTemplates,
    /// Namespaced built-ins, policy bindings, and the engines' own custom
    /// resources (Istio, Linkerd, Gatekeeper config and mutation), whose CRDs
    /// come with the engines.
    Namespaced,
    /// Gatekeeper Constraints: their kinds exist only after stage
    /// `ConstraintTemplates` has been processed.
    Constraints,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Cluster,
        Stage::ConstraintTemplates,
        Stage::Namespaced,
        Stage::Constraints,
    ];

    /// The directory under `stages/`; the number sorts as the apply order.
    pub fn dir(self) -> &'static str {
        match self {
            Stage::Cluster => "00-cluster",
            Stage::ConstraintTemplates => "10-constraint-templates",
            Stage::Namespaced => "20-namespaced",
            Stage::Constraints => "30-constraints",
        }
    }

    /// The Argo CD sync wave: the directory's number, so the two read alike.
    pub fn wave(self) -> &'static str {
        match self {
            Stage::Cluster => "0",
            Stage::ConstraintTemplates => "10",
            Stage::Namespaced => "20",
            Stage::Constraints => "30",
        }
    }

    /// The Argo CD annotations of this stage's objects.
    pub fn annotations(self) -> Vec<(&'static str, &'static str)> {
        let mut a = vec![(SYNC_WAVE, self.wave())];
        if self == Stage::Constraints {
            a.push((SYNC_OPTIONS, SKIP_DRY_RUN));
        }
        a
    }

    /// The stage of an object, from its `apiVersion`, `kind` and whether it has
    /// a namespace.
    pub fn of(api_version: &str, kind: &str, namespaced: bool) -> Stage {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        if group == CONSTRAINT_GROUP {
            return Stage::Constraints;
        }
        if group == "templates.gatekeeper.sh" && kind == "ConstraintTemplate" {
            return Stage::ConstraintTemplates;
        }
        if kind == "Namespace" || kind == "CustomResourceDefinition" {
            return Stage::Cluster;
        }
        // A binding may name a policy of the same pass, but it is kept with the
        // namespaced objects it starts to police, after every policy exists.
        if !namespaced && built_in(group) && kind != "ValidatingAdmissionPolicyBinding" {
            return Stage::Cluster;
        }
        Stage::Namespaced
    }
}

/// Groups served by the API server itself (not by a CRD): the core group, the
/// dot-less ones (`apps`, `batch`, `policy`, …) and `*.k8s.io`, except the
/// `k8s.io` groups that are CRDs (Gateway API, snapshots).
pub fn built_in(group: &str) -> bool {
    const CRD_GROUPS: [&str; 2] = ["gateway.networking.k8s.io", "snapshot.storage.k8s.io"];
    !group.contains('.') || (group.ends_with(".k8s.io") && !CRD_GROUPS.contains(&group))
}

/// Add the Argo CD annotations of `stage` to an object's `metadata` (the
/// reference path; `emit` adds them while it writes).
pub fn annotate(obj: &mut Value, stage: Stage) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(a) = annotations.as_object_mut() else {
        return;
    };
    for (k, v) in stage.annotations() {
        a.insert(k.to_owned(), Value::String(v.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_land_in_their_stage() {
        for (api, kind, ns, want) in [
            ("v1", "Namespace", false, Stage::Cluster),
            (
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                false,
                Stage::Cluster,
            ),
            (
                "scheduling.k8s.io/v1",
                "PriorityClass",
                false,
                Stage::Cluster,
            ),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicy",
                false,
                Stage::Cluster,
            ),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicyBinding",
                false,
                Stage::Namespaced,
            ),
            (
                "templates.gatekeeper.sh/v1",
                "ConstraintTemplate",
                false,
                Stage::ConstraintTemplates,
            ),
            (
                "constraints.gatekeeper.sh/v1beta1",
                "KhardenWindowsPods",
                false,
                Stage::Constraints,
            ),
            // Cluster-scoped, but its CRD comes with Gatekeeper: not with the built-ins.
            (
                "mutations.gatekeeper.sh/v1",
                "Assign",
                false,
                Stage::Namespaced,
            ),
            (
                "gateway.networking.k8s.io/v1",
                "GatewayClass",
                false,
                Stage::Namespaced,
            ),
            ("v1", "ConfigMap", true, Stage::Namespaced),
            ("networking.istio.io/v1", "Sidecar", true, Stage::Namespaced),
        ] {
            assert_eq!(Stage::of(api, kind, ns), want, "{api} {kind}");
        }
    }

    #[test]
    fn only_constraints_skip_the_dry_run() {
        let mut c = serde_json::json!({"metadata": {"name": "x"}});
        annotate(&mut c, Stage::Constraints);
        assert_eq!(c["metadata"]["annotations"][SYNC_WAVE], "30");
        assert_eq!(c["metadata"]["annotations"][SYNC_OPTIONS], SKIP_DRY_RUN);
        let mut n = serde_json::json!({"metadata": {"name": "x", "annotations": {"a": "b"}}});
        annotate(&mut n, Stage::Cluster);
        assert_eq!(n["metadata"]["annotations"]["a"], "b");
        assert_eq!(n["metadata"]["annotations"][SYNC_WAVE], "0");
        assert!(n["metadata"]["annotations"].get(SYNC_OPTIONS).is_none());
    }
}
