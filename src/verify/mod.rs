//! `kharden verify`: prove what a rendered bundle allows and denies. A scenario
//! file lists synthetic workloads and expectations; each flow is evaluated
//! through the rendered NetworkPolicies (L4) and, with Istio, the rendered
//! PeerAuthentication and AuthorizationPolicies (L7); each admission object
//! through the rendered admission policy rules (each engine evaluates its own,
//! `concern::policy::engine`), the namespace's LimitRange and ResourceQuota,
//! and Pod Security (`chain.rs`).
//! Nothing is applied anywhere: the profile is rendered in memory and read
//! back as the cluster would read it.

pub mod admission;
mod chain;
pub(crate) mod error;
pub mod istio;
pub mod pod_security;
pub mod resources;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::diag::{Diagnostic, Diagnostics, nearest};
use crate::flows::{PortNum, parse_port};
use crate::manifest::ManifestSet;
use crate::model::Model;
use crate::netpol_eval::{Cluster, Endpoint, Verdict};
use crate::profile::MeshProvider;
use crate::source::{FieldPath, Sources};

pub use admission::UserInfo;
pub use chain::{Decision, decide, decide_as, mutate};
pub use error::{EvalError, PatchError};
pub use pod_security::PodSecurity;

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
    fn word(self) -> &'static str {
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
    text.push_str(&crate::diag::summary(n, "scenario", "verified"));
    crate::Error::Refused(text)
}

/// Read and check a scenario; every problem is reported with file:line:col.
pub fn load(path: &Path, display: &str) -> Result<Loaded, crate::Error> {
    let (mut value, sources) = match crate::source::load(path, display) {
        Ok(v) => v,
        Err(d) => {
            let sources = d.sources;
            return Err(refuse(d.items, sources.as_ref()));
        }
    };
    let (found, fatal) = crate::schema_check::check(&scenario_schema(), &mut value);
    if !found.is_empty() || fatal {
        return Err(refuse(found, Some(&sources)));
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
        crate::model::label(out, &p.key("namespace"), &w.namespace);
        crate::model::label(out, &p.key("name"), &w.name);
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
        crate::model::label(out, &p.key("namespace"), &a.namespace);
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

/// One evaluated expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `flows[3]` or `admission[0]`.
    pub at: String,
    /// What was checked, e.g. `team-b/frontend -> team-a/api 8080/TCP`.
    pub what: String,
    pub expected: Expect,
    pub allowed: bool,
    /// Which policies decided.
    pub reason: String,
    /// Warnings the API server returns with its answer (Pod Security `warn`).
    pub warnings: Vec<String>,
    /// Audit annotations admission records (`pod-security.kubernetes.io/...`).
    pub audit: BTreeMap<String, String>,
    /// What else follows from the answer (a workload whose pods would be refused).
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.allowed == (self.expected == Expect::Allow)
    }
}

/// Every expectation's outcome, and notes on what was not evaluated.
#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.passed()).count()
    }

    /// One line per expectation, then `N passed, N failed` alone on a line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        for o in &self.outcomes {
            let got = if o.allowed { "allowed" } else { "denied" };
            if o.passed() {
                out.push_str(&format!("ok {} {}: {got} ({})\n", o.at, o.what, o.reason));
            } else {
                out.push_str(&format!(
                    "MISMATCH {} {}: expected {}, but {got} ({})\n",
                    o.at,
                    o.what,
                    o.expected.word(),
                    o.reason
                ));
            }
            for w in &o.warnings {
                out.push_str(&format!("  warning: {w}\n"));
            }
            // Every evaluated pod records its enforce policy, and an audit
            // finding often repeats the warning or the denial: print only
            // what no line above says.
            let said = |v: &String| {
                o.warnings.contains(v)
                    || o.reason
                        .contains(&v.replacen("would violate ", "violates ", 1))
            };
            for (k, v) in o
                .audit
                .iter()
                .filter(|(k, v)| !k.ends_with("/enforce-policy") && !said(v))
            {
                out.push_str(&format!("  audit: {k}: {v}\n"));
            }
            for n in &o.notes {
                out.push_str(&format!("  note: {n}\n"));
            }
        }
        let failed = self.failed();
        out.push_str(&format!(
            "{} passed, {failed} failed\n",
            self.outcomes.len() - failed
        ));
        out
    }
}

/// The rendered objects, read back as the cluster would read them.
pub fn objects(set: &ManifestSet) -> Vec<Value> {
    set.iter()
        .filter(|m| !m.control_plane)
        .filter_map(|m| serde_saphyr::from_str::<Value>(&m.body).ok())
        .filter(Value::is_object)
        .collect()
}

/// The NetworkPolicies and namespace labels of the rendered objects.
pub fn network_cluster(objs: &[Value]) -> Cluster {
    let policies = objs
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy")
        .filter_map(|o| serde_json::from_value(o.clone()).ok())
        .collect();
    let mut c = Cluster::new(policies);
    for ns in objs.iter().filter(|o| o["kind"] == "Namespace") {
        let name = ns["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let labels: BTreeMap<String, String> = ns["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect();
        c.namespace_labels.insert(name, labels);
    }
    c
}

/// The Pod Security verdict for creating `object` in `namespace` on a
/// rendered bundle: enforce, warn and audit violations as the API server's
/// PodSecurity plugin finds them, from the rendered Namespaces' labels.
/// `kubernetes_minor` (33 for 1.33) caps `latest` as that server would; the
/// object is taken as given (mutate it first to match the API server's order).
/// To evaluate many objects, build a [`pod_security::PodSecurity`] once.
pub fn pod_security_verdict(
    set: &ManifestSet,
    kubernetes_minor: Option<u32>,
    namespace: &str,
    object: &Value,
) -> pod_security::Verdict {
    pod_security::PodSecurity::from_set(set, kubernetes_minor).evaluate(namespace, object)
}

/// Evaluate every expectation of a loaded scenario against the model's rendering.
pub fn run(model: &Model, set: &ManifestSet, loaded: &Loaded) -> Result<Report, EvalError> {
    let objs = objects(set);
    let cluster = network_cluster(&objs);
    let pod_security = pod_security::PodSecurity::from_set(set, Some(model.minor()));
    let provider = model.profile.mesh.as_ref().map(|m| m.provider);
    let mut report = Report::default();
    if provider == Some(MeshProvider::Linkerd) {
        report.notes.push(
            "Linkerd authorization is not evaluated; flows are checked at L4 (NetworkPolicies) only"
                .to_owned(),
        );
    }
    let s = &loaded.scenario;
    let workloads: BTreeMap<String, &Workload> = s
        .workloads
        .iter()
        .map(|w| (format!("{}/{}", w.namespace, w.name), w))
        .collect();
    for (i, f) in s.flows.iter().enumerate() {
        report.outcomes.push(flow(
            &objs,
            &cluster,
            provider == Some(MeshProvider::Istio),
            &workloads,
            i,
            f,
        )?);
    }
    for (i, (a, obj)) in s.admission.iter().zip(&loaded.objects).enumerate() {
        report.outcomes.push(chain::admit(
            &objs,
            &pod_security,
            i,
            a,
            obj,
            &a.user_info(model),
        )?);
    }
    Ok(report)
}

fn endpoint(w: &Workload) -> Endpoint {
    Endpoint::Pod {
        namespace: w.namespace.clone(),
        labels: w.labels.clone(),
        named_ports: w
            .ports
            .iter()
            .filter_map(|(n, p)| {
                let spec = parse_port(p).ok()?;
                match spec.port {
                    PortNum::Number(x) => Some((n.clone(), (i32::from(x), spec.protocol))),
                    _ => None,
                }
            })
            .collect(),
    }
}

fn verdict_text(dir: &str, v: &Verdict) -> String {
    match v {
        Verdict::Unselected => format!("{dir}: no NetworkPolicy selects it"),
        Verdict::AllowedBy(p) => format!("{dir}: NetworkPolicy {p}"),
        Verdict::DeniedBy(ps) => format!(
            "{dir}: denied, selected by NetworkPolicy {} and none allows it",
            ps.join(", ")
        ),
    }
}

fn meshed(cluster: &Cluster, w: &Workload) -> bool {
    w.sidecar.unwrap_or_else(|| {
        cluster
            .namespace_labels
            .get(&w.namespace)
            .and_then(|l| l.get("istio-injection"))
            .is_some_and(|v| v == "enabled")
    })
}

fn flow(
    objs: &[Value],
    cluster: &Cluster,
    istio_on: bool,
    workloads: &BTreeMap<String, &Workload>,
    i: usize,
    f: &FlowExpectation,
) -> Result<Outcome, EvalError> {
    let resolve = |v: &str| -> Result<(Endpoint, Option<&Workload>), EvalError> {
        if let Ok(ip) = v.parse::<IpAddr>() {
            return Ok((Endpoint::Ip(ip), None));
        }
        let w = workloads.get(v).ok_or_else(|| {
            EvalError::Unchecked(format!(
                "unchecked workload `{v}`; this is a bug in kharden"
            ))
        })?;
        Ok((endpoint(w), Some(*w)))
    };
    let (src, src_w) = resolve(&f.from)?;
    let (dst, dst_w) = resolve(&f.to)?;
    let spec = parse_port(&f.port).map_err(|e| EvalError::Unchecked(e.to_string()))?;
    let (port, protocol) = match (&spec.port, dst_w) {
        (PortNum::Number(n), _) => (i32::from(*n), spec.protocol.clone()),
        (PortNum::Named(n), Some(w)) => match endpoint(w) {
            Endpoint::Pod { named_ports, .. } => named_ports
                .get(n)
                .cloned()
                .ok_or_else(|| EvalError::Unchecked(format!("unchecked port `{n}`")))?,
            Endpoint::Ip(_) => return Err(EvalError::Unchecked("named port on an IP".to_owned())),
        },
        _ => {
            return Err(EvalError::Unchecked(format!("unchecked port `{}`", f.port)));
        }
    };
    let mut what = format!("flow {} -> {} {port}/{protocol}", f.from, f.to);
    if let Some(m) = &f.method {
        what.push_str(&format!(" {m}"));
    }
    if let Some(p) = &f.path {
        what.push_str(&format!(" {p}"));
    }
    let (egress, ingress) = cluster.explain(&src, &dst, port, &protocol);
    let mut reasons = Vec::new();
    let mut allowed = egress.allows() && ingress.allows();
    // Name only the deciding side when a direction denies.
    for (dir, v) in [("egress", &egress), ("ingress", &ingress)] {
        if allowed || !v.allows() {
            reasons.push(verdict_text(dir, v));
        }
    }
    // The mesh sees TCP between pods; it only matters if L4 lets the packets through.
    if allowed
        && istio_on
        && protocol == "TCP"
        && let Some(dw) = dst_w
    {
        let from = match src_w {
            Some(w) => istio::Source {
                namespace: w.namespace.clone(),
                service_account: w
                    .service_account
                    .clone()
                    .unwrap_or_else(|| "default".to_owned()),
                meshed: meshed(cluster, w),
            },
            None => istio::Source {
                namespace: String::new(),
                service_account: String::new(),
                meshed: false,
            },
        };
        let target = istio::Target {
            namespace: &dw.namespace,
            labels: &dw.labels,
            port,
            method: f.method.as_deref(),
            path: f.path.as_deref(),
        };
        match istio::decide(objs, &from, &target, meshed(cluster, dw)) {
            None => reasons.push("mesh: destination has no sidecar".to_owned()),
            Some(istio::Decision::Allowed(by)) => reasons.push(format!("mesh: {by}")),
            Some(istio::Decision::Denied(by)) => {
                allowed = false;
                reasons = vec![format!("mesh: denied {by}")];
            }
        }
    }
    Ok(Outcome {
        at: format!("flows[{i}]"),
        what,
        expected: f.expect,
        allowed,
        reason: reasons.join("; "),
        warnings: Vec::new(),
        audit: BTreeMap::new(),
        notes: Vec::new(),
    })
}
