//! `kharden audit PROFILE OBJECTS...`: the profile's rendered bundle against
//! what a running cluster holds (what `kubectl get -A -o yaml` wrote), offline.
//! One file per question: `input` reads the dump, `violations` asks what
//! admission would refuse, `access` what bindings grant beyond the profile,
//! `drift` what applying would create, change or leave behind, `namespaces`
//! what exists outside the profile; `format` writes the report. The analysis
//! returns plain data; only `format` makes text.

mod access;
mod drift;
pub mod format;
pub mod input;
mod namespaces;
mod violations;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

pub use input::Objects;

use crate::bundle::manifest::ManifestSet;
use crate::components::scope::{Scoped, objects};
use crate::pipeline::model::Model;
use crate::verify::EvalError;

/// An existing object the rendered admission rules would refuse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Violation {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    /// The refusing object, `Kind/name` (a constraint, a policy, a Namespace's
    /// Pod Security labels, a quota).
    pub rule: String,
    /// `gatekeeper`, `native`, `pod-security`, `resource-quota` or `limit-range`.
    pub engine: String,
    pub message: String,
}

/// A subject of an existing binding with more access than the bundle grants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// `null` for a ClusterRoleBinding.
    pub namespace: Option<String>,
    pub subject_kind: String,
    /// `namespace/name` for a ServiceAccount.
    pub subject_name: String,
    /// `RoleBinding/name` or `ClusterRoleBinding/name`.
    pub binding: String,
    /// `ClusterRole/name` or `Role/name`.
    pub role: String,
    /// `widening`: more than the bundle grants; `unowned`: a built-in admin
    /// role the bundle grants too, through a binding it does not own.
    pub verdict: String,
    /// A few of the permissions the bundle does not grant (`verb group/resource`).
    pub beyond: Vec<String>,
}

/// What applying the bundle would do to one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Drift {
    pub namespace: Option<String>,
    pub kind: String,
    pub name: String,
    /// `create`, `change` or `leave-behind`.
    pub change: String,
    /// For `change`: the paths that differ (`.spec.ports[http].port`).
    pub fields: Vec<String>,
}

/// A namespace that exists but is not in the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unmanaged {
    pub name: String,
    /// How many objects the dump holds in it.
    pub objects: usize,
    pub protected_by: Vec<String>,
    pub unprotected: Vec<String>,
}

/// The audit's findings.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub violations: Vec<Violation>,
    pub access: Vec<Access>,
    pub drift: Vec<Drift>,
    pub namespaces: Vec<Unmanaged>,
    /// What was skipped or not compared, one line each.
    pub notes: Vec<String>,
}

impl Report {
    /// Whether nothing was found (notes are no finding).
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
            && self.access.is_empty()
            && self.drift.is_empty()
            && self.namespaces.is_empty()
    }
}

/// Audit the existing objects against the model's rendering `set`.
pub fn run(model: &Model, set: &ManifestSet, existing: Objects) -> Result<Report, EvalError> {
    let Objects { items, notes } = existing;
    let mut report = Report {
        notes,
        ..Report::default()
    };
    report.violations = crate::pipeline::timing::stage("audit: violations", || {
        violations::find(model.minor(), set, &items)
    })?;
    // Only the bindings and roles of the bundle are read back for access.
    let rbac: Vec<Value> = set
        .iter()
        .filter(|m| !m.control_plane_file())
        .filter(|m| {
            matches!(
                m.kind(),
                "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
            )
        })
        .filter_map(|m| serde_saphyr::from_str::<Value>(m.body()).ok())
        .collect();
    report.access = access::find(&rbac, &items, &mut report.notes);
    report.drift = crate::pipeline::timing::stage("audit: drift", || drift::find(set, &items));
    let profile: BTreeSet<String> = set
        .iter()
        .filter(|m| m.kind() == "Namespace")
        .map(|m| m.name().to_owned())
        .collect();
    let outside: BTreeSet<String> = items
        .iter()
        .filter_map(|o| match input::kind_of(o) {
            "Namespace" => Some(input::name_of(o)),
            _ => input::namespace_of(o),
        })
        .filter(|n| !profile.contains(*n))
        .map(str::to_owned)
        .collect();
    let scoped = Scoped::new(objects(set, &outside));
    report.namespaces = namespaces::find(&scoped, &profile, &items, &mut report.notes);
    Ok(report)
}
