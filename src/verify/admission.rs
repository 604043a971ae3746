//! One admission request as the API server sends it to admission plugins and
//! webhooks, the refusals they answer with, and the plural resource of each
//! kind `verify` knows. Evaluating a request against a policy engine's
//! rendered rules is the engine's own (`concern::policy::engine`); the
//! built-in LimitRange and ResourceQuota admission is `resources.rs`.

use serde_json::{Value, json};

use crate::concern::policy::routes;

/// One admission request, as the API server would send it to webhooks.
#[derive(Debug, Clone)]
pub struct Request {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The plural resource (`pods`), for policy resource rules.
    pub resource: String,
    /// Empty, or e.g. `ephemeralcontainers`.
    pub subresource: String,
    pub namespace: String,
    /// `CREATE` or `UPDATE`.
    pub operation: String,
    pub object: Value,
    /// Who asks (`userInfo`), which rules such as department labels read.
    pub user_info: UserInfo,
}

/// The requester of an admission request, as the API server authenticated
/// it (names with their OIDC prefixes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub username: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// As the AdmissionReview's `userInfo` (and CEL's `request.userInfo`).
    pub(crate) fn json(&self) -> Value {
        json!({"username": self.username, "groups": self.groups})
    }
}

impl Request {
    /// A CREATE of `object` in `namespace`, its resource found from its kind;
    /// `None` for a kind this harness does not know.
    pub fn create(namespace: &str, object: Value) -> Option<Request> {
        let api = object.get("apiVersion").and_then(Value::as_str)?;
        let kind = object.get("kind").and_then(Value::as_str)?;
        let (group, version) = match api.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api),
        };
        let resource = resource_of(group, kind)?;
        Some(Request {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            resource: resource.to_owned(),
            subresource: String::new(),
            namespace: namespace.to_owned(),
            operation: "CREATE".to_owned(),
            object,
            user_info: UserInfo::default(),
        })
    }
}

/// The plural resource of the namespaced kinds admission rules look at.
pub fn resource_of(group: &str, kind: &str) -> Option<&'static str> {
    Some(match (group, kind) {
        ("", "Pod") => "pods",
        ("", "Service") => "services",
        ("", "ConfigMap") => "configmaps",
        ("", "Secret") => "secrets",
        ("", "ServiceAccount") => "serviceaccounts",
        ("", "PersistentVolumeClaim") => "persistentvolumeclaims",
        ("", "ReplicationController") => "replicationcontrollers",
        ("", "PodTemplate") => "podtemplates",
        ("apps", "Deployment") => "deployments",
        ("apps", "StatefulSet") => "statefulsets",
        ("apps", "DaemonSet") => "daemonsets",
        ("apps", "ReplicaSet") => "replicasets",
        ("batch", "Job") => "jobs",
        ("batch", "CronJob") => "cronjobs",
        ("networking.k8s.io", "Ingress") => "ingresses",
        ("networking.k8s.io", "NetworkPolicy") => "networkpolicies",
        (routes::GROUP | routes::X_GROUP, k) => return routes::resource(group, k),
        _ => return None,
    })
}

/// A refusal: the object that refused (`Kind/name`) and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub kind: String,
    pub name: String,
    pub message: String,
}

impl Denial {
    pub(crate) fn new(kind: &str, name: &str, message: String) -> Denial {
        Denial {
            kind: kind.to_owned(),
            name: name.to_owned(),
            message,
        }
    }

    /// Denials as `verify` and the platform self-check print them:
    /// `denied by Kind/name: message`, joined by `; `.
    pub fn describe(denials: &[Denial]) -> String {
        denials
            .iter()
            .map(|d| format!("denied by {}/{}: {}", d.kind, d.name, d.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub(crate) fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or_default()
}

pub(crate) fn name_of(o: &Value) -> &str {
    o.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
