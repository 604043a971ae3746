//! `kharden import`: a starter profile from a running cluster's objects (what
//! `kubectl get ... -A -o yaml` writes). Namespaces with their labels and
//! annotations, Pod Security levels from the namespace labels, access
//! (`access`), service accounts, quotas, limit ranges and the registries the
//! pods pull from. What a profile cannot say is listed in comments at the top.
//!
//! Choices: `kube-system`, `kube-public`, `kube-node-lease` and `default` are
//! never imported (kharden refuses them as tenant namespaces); the first three
//! become `policy.exemptNamespaces` when they run pods, so their images do not
//! widen the registries of every tenant, while pods in `default` are listed
//! and their registries admitted. The profile is written through serde with
//! the renderer's emitter, never by pasting cluster values into text.

mod access;
mod read;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

pub use access::{Atom, atoms};
use read::{Dump, Obj, at};

use crate::input::profile::{
    AccessEntry, ClusterAccess, QuantityValue, RoleSpec, ServiceAccountSpec,
};

/// Namespaces Kubernetes manages itself; never imported.
const SYSTEM: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];
/// Labels the API server or kharden sets; not carried over.
fn own_label(k: &str) -> bool {
    k == "kubernetes.io/metadata.name"
        || k.starts_with("pod-security.kubernetes.io/")
        || k == crate::bundle::manifest::MANAGED_BY.0
}
/// Annotations that hold a copy of the object or server state.
fn own_annotation(k: &str) -> bool {
    k == "kubectl.kubernetes.io/last-applied-configuration"
}

/// Why import failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] read::ReadError),
    #[error("`{0}` is not a valid profile name: {1}")]
    Name(String, crate::k8s::names::Invalid),
    #[error(
        "on gke, grants to groups need `identity.securityGroup` (gke-security-groups@<domain>), and the groups name no single domain ({0})"
    )]
    GkeGroups(String),
    #[error("cannot write the profile ({0})")]
    Write(String),
}

/// The command line's choices.
#[derive(Debug, Clone)]
pub struct Options {
    pub name: String,
    pub platform: crate::input::profile::Platform,
    pub kubernetes_version: String,
}

/// The imported profile and what was skipped.
#[derive(Debug)]
pub struct Imported {
    pub text: String,
    pub notes: Vec<String>,
}

/// Import the files given as (display name, text).
pub fn run(files: &[(String, String)], opts: &Options) -> Result<Imported, Error> {
    crate::k8s::names::dns_label(&opts.name).map_err(|e| Error::Name(opts.name.clone(), e))?;
    let mut dump = Dump::default();
    for (name, text) in files {
        read::add(&mut dump, name, text)?;
    }
    build(dump, opts)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Out {
    api_version: &'static str,
    kind: &'static str,
    metadata: Named,
    cluster: ClusterOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<IdentityOut>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    roles: BTreeMap<String, RoleSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    namespaces: Vec<NsOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cluster_access: Vec<ClusterAccess>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<PolicyOut>,
}

#[derive(Serialize)]
struct Named {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentityOut {
    security_group: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterOut {
    name: String,
    platform: String,
    kubernetes_version: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NsOut {
    name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod_security: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    access: Vec<AccessEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    service_accounts: Vec<ServiceAccountSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    quota: BTreeMap<String, QuantityValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_limits: Option<LimitsOut>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct LimitsOut {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    default_request: BTreeMap<String, QuantityValue>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    default: BTreeMap<String, QuantityValue>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    max: BTreeMap<String, QuantityValue>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    min: BTreeMap<String, QuantityValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyOut {
    engine: &'static str,
    allowed_registries: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    exempt_namespaces: Vec<String>,
}

/// The pod spec of a workload object, by kind.
pub fn pod_spec(o: &Obj) -> Option<&Value> {
    let path: &[&str] = match o.kind.as_str() {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    };
    at(&o.value, path)
}

/// Every image a pod spec names.
pub fn images(spec: &Value) -> Vec<String> {
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|k| spec.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The `host/path/*` entry that admits an image: everything beside it.
pub fn registry_entry(image: &str) -> String {
    let repo = crate::concern::policy::derived::repository_of(image);
    match repo.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/*"),
        None => format!("{repo}/*"),
    }
}

fn quantities(v: Option<&Value>) -> BTreeMap<String, QuantityValue> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((k.clone(), QuantityValue::Text(text)))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn amount(q: &QuantityValue) -> Option<f64> {
    crate::k8s::quantity::parse(&q.text()).ok()
}

/// Merge `add` into `into`, keeping per key the smaller (`min`) or larger value.
fn merge(
    into: &mut BTreeMap<String, QuantityValue>,
    add: BTreeMap<String, QuantityValue>,
    keep_smaller: bool,
) {
    for (k, v) in add {
        let replace = match into.get(&k) {
            None => true,
            Some(old) => match (amount(old), amount(&v)) {
                (Some(a), Some(b)) => (b < a) == keep_smaller && a != b,
                _ => false,
            },
        };
        if replace {
            into.insert(k, v);
        }
    }
}

fn in_ns<'a>(objs: &'a [Obj], kind: &'a str, ns: &'a str) -> impl Iterator<Item = &'a Obj> {
    objs.iter()
        .filter(move |o| o.kind == kind && o.namespace.as_deref() == Some(ns))
}

mod build;
use build::build;

/// Make a note safe for one comment line: control characters spelt out.
fn comment_line(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// The namespaces a dump's objects live in or declare.
fn namespaces_of(objs: &[Obj]) -> BTreeSet<String> {
    objs.iter()
        .filter_map(|o| {
            if o.kind == "Namespace" {
                Some(o.name.clone())
            } else {
                o.namespace.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
