//! The scenario file `kharden verify` reads: synthetic workloads, flows and
//! admission objects with what each must get, its JSON Schema, and the
//! loading that reports every problem with file:line:col before anything is
//! evaluated.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::admission;
use crate::input::diag::{Diagnostic, Diagnostics, nearest};
use crate::input::source::{FieldPath, Sources};
use crate::pipeline::flows::{PortNum, parse_port};

/// Synthetic workloads and what the rendered bundle must do with them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "kharden verify scenario")]
pub struct Scenario {
    /// What the scenario checks, for readers.
    #[serde(default)]
    pub description: Option<String>,
    /// Pods that flows name as `namespace/name`.
    #[serde(default)]
    pub workloads: Vec<Workload>,
    /// Connections and whether they must be allowed.
    #[serde(default)]
    pub flows: Vec<FlowExpectation>,
    /// Objects submitted to the API server and whether they must be admitted.
    #[serde(default)]
    pub admission: Vec<AdmissionExpectation>,
}

/// A synthetic pod.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Workload {
    pub namespace: String,
    /// Unique within the namespace; flows write `namespace/name`.
    pub name: String,
    /// Pod labels (what NetworkPolicy and mesh selectors see).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The pod's service account (its mesh identity); `default` when unset.
    #[serde(default)]
    pub service_account: Option<String>,
    /// Named container ports: `{http: 8080/TCP}`, so flows may give `port: http`.
    #[serde(default)]
    pub ports: BTreeMap<String, String>,
    /// Whether the pod runs a mesh sidecar; by default, when its namespace is
    /// rendered with mesh injection on.
    #[serde(default)]
    pub sidecar: Option<bool>,
}

/// The answer an expectation wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Expect {
    Allow,
    Deny,
}

impl Expect {
    pub(super) fn word(self) -> &'static str {
        match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
        }
    }
}

/// One connection.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FlowExpectation {
    /// A workload `namespace/name`, or an IP address outside the cluster.
    pub from: String,
    /// A workload `namespace/name`, or an IP address outside the cluster.
    pub to: String,
    /// `8080/TCP`, `53/UDP`, or a named port of the destination (`http`).
    pub port: String,
    /// HTTP method, checked by the mesh's L7 rules (Istio); unset: any request.
    #[serde(default)]
    pub method: Option<String>,
    /// HTTP path, checked by the mesh's L7 rules (Istio); unset: any request.
    #[serde(default)]
    pub path: Option<String>,
    pub expect: Expect,
}

/// One object submitted for admission.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdmissionExpectation {
    /// A YAML file holding the object (relative to the scenario file), or the
    /// object itself inline.
    pub object: ObjectSource,
    /// The namespace it is created in.
    pub namespace: String,
    /// Who creates it: the bare user id, as in the profile's `access` (the
    /// OIDC username prefix is applied). Unset: a user in no group the rules
    /// name.
    #[serde(default)]
    pub user: Option<String>,
    /// The requester's groups: bare ids, as in the profile's `access` and
    /// `policy.departmentLabel.groups` (the OIDC groups prefix is applied;
    /// `system:` groups are taken as written).
    #[serde(default)]
    pub groups: Vec<String>,
    pub expect: Expect,
}

/// Where an admission object comes from.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ObjectSource {
    /// A file path, relative to the scenario file.
    File(String),
    /// The object inline (apiVersion, kind, metadata, spec).
    Inline(serde_json::Map<String, Value>),
}

/// The JSON Schema of the scenario format.
pub fn scenario_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or(Value::Null)
}

/// A scenario that passed every check, with its admission objects read.
#[derive(Debug)]
pub struct Loaded {
    pub scenario: Scenario,
    pub display: String,
    /// The object of each admission expectation, in order.
    pub objects: Vec<Value>,
}

/// Render diagnostics against the scenario's sources, with a scenario summary.
fn refuse(items: Vec<Diagnostic>, sources: Option<&Sources>) -> crate::Error {
    let n = items.len();
    let mut d = Diagnostics::default();
    d.extend(items);
    let mut text = d.render_items_in(sources);
    text.push_str(&crate::input::diag::summary(n, "scenario", "verified"));
    crate::Error::Refused(text)
}

/// Read and check a scenario; every problem is reported with file:line:col.
pub fn load(path: &Path, display: &str) -> Result<Loaded, crate::Error> {
    let (value, sources) = match crate::input::source::load(path, display) {
        Ok(v) => v,
        Err(d) => {
            let sources = d.sources;
            return Err(refuse(d.items, sources.as_ref()));
        }
    };
    let found = crate::input::schema_check::check(&scenario_schema(), &value);
    if !found.diags.is_empty() {
        return Err(refuse(found.diags, Some(&sources)));
    }
    let scenario: Scenario = match serde_path_to_error::deserialize(&value) {
        Ok(s) => s,
        Err(e) => {
            let p: FieldPath = e.path().to_string().parse().unwrap_or_default();
            let msg = e.into_inner().to_string();
            return Err(refuse(
                vec![Diagnostic::error(p.clone(), format!("`{p}`: {msg}"))],
                Some(&sources),
            ));
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut diags = Vec::new();
    let objects = check(&scenario, dir, &mut diags);
    if !diags.is_empty() {
        return Err(refuse(diags, Some(&sources)));
    }
    Ok(Loaded {
        scenario,
        display: display.to_owned(),
        objects,
    })
}

/// Cross-field checks: names, references, ports, objects. Returns the objects.
fn check(s: &Scenario, dir: &Path, out: &mut Vec<Diagnostic>) -> Vec<Value> {
    let root = FieldPath::root();
    let mut seen = BTreeMap::new();
    for (i, w) in s.workloads.iter().enumerate() {
        let p = root.key("workloads").index(i);
        crate::pipeline::model::label(out, &p.key("namespace"), &w.namespace);
        crate::pipeline::model::label(out, &p.key("name"), &w.name);
        let id = format!("{}/{}", w.namespace, w.name);
        if let Some(first) = seen.insert(id.clone(), i) {
            out.push(
                Diagnostic::error(
                    p.key("name"),
                    format!("workload `{id}` is declared twice (also workloads[{first}])"),
                )
                .hint("give each workload its own name within its namespace"),
            );
        }
        for (name, port) in &w.ports {
            match parse_port(port) {
                Ok(spec) if matches!(spec.port, PortNum::Number(_)) => {}
                Ok(_) => out.push(
                    Diagnostic::error(
                        p.key("ports").key(name),
                        format!("`{port}` is not one port number"),
                    )
                    .hint("write a number and protocol, e.g. `8080/TCP`"),
                ),
                Err(e) => out.push(
                    Diagnostic::error(p.key("ports").key(name), format!("`{port}`: {e}"))
                        .hint("write a number and protocol, e.g. `8080/TCP`"),
                ),
            }
        }
    }
    let names: Vec<&str> = seen.keys().map(String::as_str).collect();
    let endpoint = |out: &mut Vec<Diagnostic>, p: FieldPath, v: &str| {
        if v.parse::<IpAddr>().is_ok() || seen.contains_key(v) {
            return;
        }
        let mut d = Diagnostic::error(
            p,
            format!("`{v}` is neither a declared workload nor an IP address"),
        );
        d = match nearest(v, names.iter().copied()) {
            Some(n) => d.hint(format!("did you mean `{n}`?")),
            None => d.hint("declare it under `workloads` (namespace and name), or give an IP address such as 8.8.8.8"),
        };
        out.push(d);
    };
    for (i, f) in s.flows.iter().enumerate() {
        let p = root.key("flows").index(i);
        endpoint(out, p.key("from"), &f.from);
        endpoint(out, p.key("to"), &f.to);
        match parse_port(&f.port) {
            Ok(spec) => match spec.port {
                PortNum::Number(_) => {}
                PortNum::Range(..) => out.push(
                    Diagnostic::error(
                        p.key("port"),
                        format!("`{}` is a range; a flow uses one port", f.port),
                    )
                    .hint("write one expectation per port"),
                ),
                PortNum::Named(n) => {
                    let named = s
                        .workloads
                        .iter()
                        .find(|w| format!("{}/{}", w.namespace, w.name) == f.to)
                        .is_some_and(|w| w.ports.contains_key(&n));
                    if !named {
                        out.push(
                            Diagnostic::error(
                                p.key("port"),
                                format!("`{n}` is not a named port of `{}`", f.to),
                            )
                            .hint("list it under the destination's `ports` (e.g. `{http: 8080/TCP}`), or give a number"),
                        );
                    }
                }
            },
            Err(e) => out.push(
                Diagnostic::error(p.key("port"), format!("`{}`: {e}", f.port))
                    .hint("write a number and protocol, e.g. `8080/TCP`"),
            ),
        }
        if (f.method.is_some() || f.path.is_some()) && f.to.parse::<IpAddr>().is_ok() {
            out.push(
                Diagnostic::error(
                    p.key(if f.method.is_some() { "method" } else { "path" }),
                    "a method or path needs a workload destination, whose mesh rules check it"
                        .to_owned(),
                )
                .hint("remove `method` and `path`, or name a workload in `to`"),
            );
        }
    }
    let mut objects = Vec::new();
    for (i, a) in s.admission.iter().enumerate() {
        let p = root.key("admission").index(i);
        crate::pipeline::model::label(out, &p.key("namespace"), &a.namespace);
        let empty = a.user.iter().map(|u| (p.key("user"), u, "user"));
        let groups = a.groups.iter().enumerate();
        for (at, id, what) in
            empty.chain(groups.map(|(j, g)| (p.key("groups").index(j), g, "group")))
        {
            if id.trim().is_empty() {
                out.push(Diagnostic::error(at, format!("the {what} id is empty")));
            }
        }
        let obj = match &a.object {
            ObjectSource::Inline(m) => Value::Object(m.clone()),
            ObjectSource::File(f) => {
                let full = dir.join(f);
                match std::fs::read_to_string(&full) {
                    Err(e) => {
                        out.push(
                            Diagnostic::error(
                                p.key("object"),
                                format!("cannot read `{f}`: {e}"),
                            )
                            .hint("give a path relative to the scenario file, or the object inline"),
                        );
                        Value::Null
                    }
                    Ok(text) => match serde_saphyr::from_str::<Value>(&text) {
                        Ok(v) => v,
                        Err(e) => {
                            out.push(Diagnostic::error(
                                p.key("object"),
                                format!("`{f}` is not valid YAML: {}", e.without_snippet()),
                            ));
                            Value::Null
                        }
                    },
                }
            }
        };
        if !obj.is_null() && admission::Request::create(&a.namespace, obj.clone()).is_none() {
            out.push(
                Diagnostic::error(
                    p.key("object"),
                    "the object needs an `apiVersion` and a `kind` verify knows (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController, PodTemplate, Service, Ingress, ConfigMap, Secret, ServiceAccount, PersistentVolumeClaim, NetworkPolicy)".to_owned(),
                )
                .hint("write a namespaced object such as `{apiVersion: v1, kind: Pod, ...}`"),
            );
        }
        objects.push(obj);
    }
    objects
}
