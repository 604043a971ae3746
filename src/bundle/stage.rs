//! Apply order (#14, #29 item 2): which stage each object belongs to, so that
//! applying the stages one after the other works on a fresh cluster, and no
//! tenant can be granted anything or run anything before the admission policies
//! are in force. A custom resource can be created only once its kind exists:
//! Gatekeeper makes each Constraint kind from a ConstraintTemplate,
//! asynchronously, and Istio, Linkerd and Gatekeeper define theirs at install. A
//! namespaced object needs its Namespace first. A workload may wait forever on a
//! Secret the user creates out of band, so nothing may wait on a workload before
//! the policy is in force: workloads come last and gate nothing.
//!
//! The stage decides the output directory (`stages/<dir>/`, see `output`), the
//! Argo CD sync wave and the Flux `dependsOn` chain; the Argo CD annotations are
//! written by `manifest::Manifest::new`, once for every object, from
//! `Stage::annotations_of`. `first_apply` simulates the layout on an empty
//! cluster and proves the order.

use serde_json::{Map, Value};

/// Argo CD orders a sync by this annotation (lowest first, each wave healthy
/// before the next starts).
pub(crate) const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Argo CD dry-runs every object before the first wave; a Constraint's kind does
/// not exist until Gatekeeper has processed its template, so its dry run must be
/// skipped while the kind is missing.
pub(crate) const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
pub(crate) const SKIP_DRY_RUN: &str = "SkipDryRunOnMissingResource=true";
/// Argo CD never prunes an object carrying this sync option (#30 item 11).
pub(crate) const NO_PRUNE: &str = "Prune=false";
/// Flux's kustomize-controller never garbage-collects an object annotated so.
pub(crate) const FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
pub(crate) const FLUX_PRUNE_DISABLED: &str = "disabled";

/// The API group of Constraints, whose kinds come from ConstraintTemplates.
pub(crate) const CONSTRAINT_GROUP: &str = "constraints.gatekeeper.sh";

/// The stages, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Namespaces, CRDs and cluster-scoped built-ins that grant nothing by
    /// themselves (ClusterRoles, PriorityClasses, Validating and Mutating
    /// AdmissionPolicies): nothing else exists before them.
    Cluster,
    /// ConstraintTemplates alone, so that a plain `kubectl` loop can wait on
    /// this one directory until Gatekeeper has created every Constraint kind.
    ConstraintTemplates,
    /// Namespaced guard rails and configuration (NetworkPolicies, quotas, limit
    /// ranges, ServiceAccounts, Roles, ConfigMaps), admission policy bindings,
    /// and the engines' own custom resources (Istio, Linkerd, Gatekeeper config
    /// and mutation, Gateway API), whose CRDs come with the engines.
    Namespaced,
    /// Gatekeeper Constraints: their kinds exist only after stage
    /// `ConstraintTemplates` has been processed. The last stage of policy.
    Constraints,
    /// The grants (RoleBindings, ClusterRoleBindings): only once every policy is
    /// in force may anyone create objects under them.
    Access,
    /// What runs (Deployments, DaemonSets, StatefulSets, Jobs, Pods, Services):
    /// it may wait forever on a Secret the user creates out of band (the log
    /// collector's Elasticsearch credentials), so no stage depends on it.
    Workloads,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Cluster,
        Stage::ConstraintTemplates,
        Stage::Namespaced,
        Stage::Constraints,
        Stage::Access,
        Stage::Workloads,
    ];

    /// The directory under `stages/`; the number sorts as the apply order.
    pub fn dir(self) -> &'static str {
        match self {
            Stage::Cluster => "00-cluster",
            Stage::ConstraintTemplates => "10-constraint-templates",
            Stage::Namespaced => "20-namespaced",
            Stage::Constraints => "30-constraints",
            Stage::Access => "40-access",
            Stage::Workloads => "50-workloads",
        }
    }

    /// The Argo CD sync wave: the directory's number, so the two read alike.
    pub fn wave(self) -> &'static str {
        match self {
            Stage::Cluster => "0",
            Stage::ConstraintTemplates => "10",
            Stage::Namespaced => "20",
            Stage::Constraints => "30",
            Stage::Access => "40",
            Stage::Workloads => "50",
        }
    }

    /// Whether a delivery may wait on this stage's health before the next one:
    /// every stage but the workloads, whose health may never come.
    pub fn gates(self) -> bool {
        self != Stage::Workloads
    }

    /// The Argo CD annotations every object of this stage carries.
    pub fn annotations(self) -> Vec<(&'static str, &'static str)> {
        let mut a = vec![(SYNC_WAVE, self.wave())];
        if self == Stage::Constraints {
            a.push((SYNC_OPTIONS, SKIP_DRY_RUN));
        }
        a
    }

    /// The annotations of one object of this stage: the stage's, and for a
    /// Namespace the prune protection of both GitOps engines, so that renaming
    /// `logging.namespace` or dropping a tenant never deletes a namespace with
    /// its workloads and volumes (#30 item 11). Argo CD reads one
    /// comma-separated sync-options value; no kind here needs two options.
    pub fn annotations_of(self, kind: &str) -> Vec<(&'static str, &'static str)> {
        let mut a = self.annotations();
        if kind == "Namespace" {
            a.push((SYNC_OPTIONS, NO_PRUNE));
            a.push((FLUX_PRUNE, FLUX_PRUNE_DISABLED));
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
        if group == "rbac.authorization.k8s.io" && kind.ends_with("RoleBinding") {
            return Stage::Access;
        }
        if workload(group, kind) {
            return Stage::Workloads;
        }
        // A binding may name a policy of the same pass, but it is kept with the
        // namespaced objects, after every policy and its parameters exist.
        if !namespaced && built_in(group) && !kind.ends_with("AdmissionPolicyBinding") {
            return Stage::Cluster;
        }
        Stage::Namespaced
    }
}

/// Kinds that run containers, or route to them: they may wait on what the user
/// provides, and are healthy only once their pods are.
pub(crate) fn workload(group: &str, kind: &str) -> bool {
    match group {
        "" => matches!(kind, "Pod" | "ReplicationController" | "Service"),
        "apps" => matches!(
            kind,
            "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet"
        ),
        "batch" => matches!(kind, "Job" | "CronJob"),
        _ => false,
    }
}

/// Groups served by the API server itself (not by a CRD): the core group, the
/// dot-less ones (`apps`, `batch`, `policy`, …) and `*.k8s.io`, except the
/// `k8s.io` groups that are CRDs (Gateway API, snapshots).
pub(crate) fn built_in(group: &str) -> bool {
    const CRD_GROUPS: [&str; 2] = ["gateway.networking.k8s.io", "snapshot.storage.k8s.io"];
    !group.contains('.') || (group.ends_with(".k8s.io") && !CRD_GROUPS.contains(&group))
}

/// Add `annotations` to an object's `metadata` (the reference path; `emit`
/// adds them while it writes).
pub(crate) fn annotate(obj: &mut Value, annotations: &[(&str, &str)]) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let entry = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(a) = entry.as_object_mut() else {
        return;
    };
    for (k, v) in annotations {
        a.insert((*k).to_owned(), Value::String((*v).to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_land_in_their_stage() {
        const RBAC: &str = "rbac.authorization.k8s.io/v1";
        const ADM: &str = "admissionregistration.k8s.io/v1";
        for (api, kind, ns, want) in [
            ("v1", "Namespace", false, Stage::Cluster),
            (RBAC, "ClusterRole", false, Stage::Cluster),
            (
                "scheduling.k8s.io/v1",
                "PriorityClass",
                false,
                Stage::Cluster,
            ),
            (ADM, "ValidatingAdmissionPolicy", false, Stage::Cluster),
            (
                ADM,
                "ValidatingAdmissionPolicyBinding",
                false,
                Stage::Namespaced,
            ),
            (
                "admissionregistration.k8s.io/v1beta1",
                "MutatingAdmissionPolicy",
                false,
                Stage::Cluster,
            ),
            (
                "admissionregistration.k8s.io/v1beta1",
                "MutatingAdmissionPolicyBinding",
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
            ("v1", "ServiceAccount", true, Stage::Namespaced),
            (RBAC, "Role", true, Stage::Namespaced),
            ("networking.istio.io/v1", "Sidecar", true, Stage::Namespaced),
            // The grants, after every policy.
            (RBAC, "RoleBinding", true, Stage::Access),
            (RBAC, "ClusterRoleBinding", false, Stage::Access),
            // What runs, last.
            ("apps/v1", "DaemonSet", true, Stage::Workloads),
            ("apps/v1", "Deployment", true, Stage::Workloads),
            ("batch/v1", "CronJob", true, Stage::Workloads),
            ("v1", "Service", true, Stage::Workloads),
        ] {
            assert_eq!(Stage::of(api, kind, ns), want, "{api} {kind}");
        }
    }

    #[test]
    fn only_the_workloads_gate_nothing() {
        let gating: Vec<Stage> = Stage::ALL.into_iter().filter(|s| !s.gates()).collect();
        assert_eq!(gating, [Stage::Workloads]);
        // The workloads come last, so an Argo CD sync ends on them.
        assert_eq!(Stage::ALL.iter().max(), Some(&Stage::Workloads));
    }

    #[test]
    fn only_constraints_skip_the_dry_run() {
        let mut c = serde_json::json!({"metadata": {"name": "x"}});
        annotate(
            &mut c,
            &Stage::Constraints.annotations_of("KhardenWindowsPods"),
        );
        assert_eq!(c["metadata"]["annotations"][SYNC_WAVE], "30");
        assert_eq!(c["metadata"]["annotations"][SYNC_OPTIONS], SKIP_DRY_RUN);
        let mut n = serde_json::json!({"metadata": {"name": "x", "annotations": {"a": "b"}}});
        annotate(&mut n, &Stage::Cluster.annotations_of("PriorityClass"));
        assert_eq!(n["metadata"]["annotations"]["a"], "b");
        assert_eq!(n["metadata"]["annotations"][SYNC_WAVE], "0");
        assert!(n["metadata"]["annotations"].get(SYNC_OPTIONS).is_none());
    }

    /// #30 item 11: both engines leave a Namespace alone when it leaves the
    /// rendering; nothing else is protected.
    #[test]
    fn only_namespaces_are_never_pruned() {
        let a = Stage::Cluster.annotations_of("Namespace");
        assert!(a.contains(&(SYNC_OPTIONS, NO_PRUNE)), "{a:?}");
        assert!(a.contains(&(FLUX_PRUNE, FLUX_PRUNE_DISABLED)), "{a:?}");
        // One sync-options entry: Argo CD reads a single comma-separated value.
        assert_eq!(a.iter().filter(|(k, _)| *k == SYNC_OPTIONS).count(), 1);
        for stage in Stage::ALL {
            for kind in [
                "ConfigMap",
                "ClusterRole",
                "DaemonSet",
                "KhardenWindowsPods",
            ] {
                let a = stage.annotations_of(kind);
                assert!(
                    !a.iter().any(|(k, v)| *k == FLUX_PRUNE || *v == NO_PRUNE),
                    "{kind}"
                );
                assert!(a.iter().filter(|(k, _)| *k == SYNC_OPTIONS).count() <= 1);
            }
        }
    }
}
