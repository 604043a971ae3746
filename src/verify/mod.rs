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
mod scenario;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use crate::bundle::manifest::ManifestSet;
use crate::input::profile::MeshProvider;
use crate::k8s::netpol_eval::{Cluster, Endpoint, Verdict};
use crate::pipeline::flows::{PortNum, parse_port};
use crate::pipeline::model::Model;

pub use admission::UserInfo;
pub use chain::{Decision, decide, decide_as, mutate};
pub use error::{EvalError, PatchError};
pub use pod_security::PodSecurity;
pub use scenario::{
    AdmissionExpectation, Expect, FlowExpectation, Loaded, ObjectSource, Scenario, Workload, load,
    scenario_schema,
};

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
        .filter(|m| !m.control_plane_file())
        .filter_map(|m| serde_saphyr::from_str::<Value>(m.body()).ok())
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
