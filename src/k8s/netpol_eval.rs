//! A NetworkPolicy evaluator: given a set of `networking.k8s.io/v1`
//! NetworkPolicies and a synthetic connection (source and destination pod or IP,
//! port, protocol), decide whether Kubernetes lets it through.
//!
//! It is written from the API's documented semantics, not from the profile, so it
//! checks the rendered YAML itself (tests here and in `concern::network`, and
//! `kharden verify`, which names the deciding policies from `explain`):
//! - policies are additive: a connection is allowed in a direction when any
//!   policy selecting the pod for that direction has a matching rule;
//! - a pod selected by no policy of a direction is unrestricted in it;
//! - a connection needs both the source's egress and the destination's ingress;
//! - in one peer, `namespaceSelector` and `podSelector` are ANDed; a lone
//!   `podSelector` means the policy's own namespace; `ipBlock` matches IPs only
//!   (whether pod IPs hit an ipBlock is implementation-defined, so we never rely on it);
//! - an empty or missing `from`/`to` matches every peer, an empty `ports` every port;
//! - a missing `policyTypes` means Ingress, plus Egress when egress rules exist.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::k8s::net::Cidr;

/// One end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A pod: its namespace, labels, and named container ports (`name` → (number, protocol)).
    Pod {
        namespace: String,
        labels: BTreeMap<String, String>,
        named_ports: BTreeMap<String, (i32, String)>,
    },
    /// An address outside the cluster's pods.
    Ip(IpAddr),
}

impl Endpoint {
    /// A pod with the given labels and no named ports.
    pub fn pod(namespace: &str, labels: &[(&str, &str)]) -> Endpoint {
        Endpoint::Pod {
            namespace: namespace.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            named_ports: BTreeMap::new(),
        }
    }

    /// Add a named container port (builder style).
    pub fn with_port(mut self, name: &str, number: i32, protocol: &str) -> Endpoint {
        if let Endpoint::Pod { named_ports, .. } = &mut self {
            named_ports.insert(name.to_owned(), (number, protocol.to_owned()));
        }
        self
    }
}

/// The cluster as the evaluator sees it: policies and namespace labels.
#[derive(Debug, Default)]
pub struct Cluster {
    pub policies: Vec<NetworkPolicy>,
    /// Extra labels per namespace; `kubernetes.io/metadata.name` is always implied.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// How one direction of a connection was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No policy selects the pod for this direction: it is unrestricted.
    Unselected,
    /// Allowed by the first policy (`namespace/name`) with a matching rule.
    AllowedBy(String),
    /// Selected by these policies (`namespace/name`), none of which allows it.
    DeniedBy(Vec<String>),
}

impl Verdict {
    pub fn allows(&self) -> bool {
        !matches!(self, Verdict::DeniedBy(_))
    }
}

/// One rule's peers and ports, whichever its direction.
type Rule<'a> = (
    &'a Option<Vec<NetworkPolicyPeer>>,
    &'a Option<Vec<NetworkPolicyPort>>,
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Ingress,
    Egress,
}

impl Cluster {
    pub fn new(policies: Vec<NetworkPolicy>) -> Cluster {
        Cluster {
            policies,
            namespace_labels: BTreeMap::new(),
        }
    }

    /// Whether a connection from `src` to `dst` on `port`/`protocol` is allowed.
    pub fn allows(&self, src: &Endpoint, dst: &Endpoint, port: i32, protocol: &str) -> bool {
        let (egress, ingress) = self.explain(src, dst, port, protocol);
        egress.allows() && ingress.allows()
    }

    /// The source's egress verdict and the destination's ingress verdict, with
    /// the policies that decided each (for reports that name them).
    pub fn explain(
        &self,
        src: &Endpoint,
        dst: &Endpoint,
        port: i32,
        protocol: &str,
    ) -> (Verdict, Verdict) {
        (
            self.direction_verdict(Dir::Egress, src, dst, dst, port, protocol),
            self.direction_verdict(Dir::Ingress, dst, src, dst, port, protocol),
        )
    }

    /// `subject` is the pod whose policies apply; `other` the far end; `target`
    /// the destination (whose named ports resolve port names).
    fn direction_verdict(
        &self,
        dir: Dir,
        subject: &Endpoint,
        other: &Endpoint,
        target: &Endpoint,
        port: i32,
        protocol: &str,
    ) -> Verdict {
        let Endpoint::Pod {
            namespace, labels, ..
        } = subject
        else {
            // Addresses outside the cluster have no policies.
            return Verdict::Unselected;
        };
        let mut selecting = Vec::new();
        for p in &self.policies {
            let Some(spec) = &p.spec else { continue };
            if p.metadata.namespace.as_deref() != Some(namespace.as_str())
                || !selector_matches(spec.pod_selector.as_ref(), labels)
                || !has_type(p, dir)
            {
                continue;
            }
            let name = format!(
                "{namespace}/{}",
                p.metadata.name.as_deref().unwrap_or_default()
            );
            let rules: Vec<Rule<'_>> = match dir {
                Dir::Ingress => spec
                    .ingress
                    .iter()
                    .flatten()
                    .map(|r| (&r.from, &r.ports))
                    .collect(),
                Dir::Egress => spec
                    .egress
                    .iter()
                    .flatten()
                    .map(|r| (&r.to, &r.ports))
                    .collect(),
            };
            for (peers, ports) in rules {
                let peer_ok = match peers {
                    None => true,
                    Some(v) if v.is_empty() => true,
                    Some(v) => v
                        .iter()
                        .any(|peer| self.peer_matches(peer, namespace, other)),
                };
                let port_ok = match ports {
                    None => true,
                    Some(v) if v.is_empty() => true,
                    Some(v) => v.iter().any(|pp| port_matches(pp, target, port, protocol)),
                };
                if peer_ok && port_ok {
                    return Verdict::AllowedBy(name);
                }
            }
            selecting.push(name);
        }
        if selecting.is_empty() {
            Verdict::Unselected
        } else {
            Verdict::DeniedBy(selecting)
        }
    }

    fn peer_matches(&self, peer: &NetworkPolicyPeer, policy_ns: &str, other: &Endpoint) -> bool {
        match other {
            Endpoint::Ip(ip) => peer.ip_block.as_ref().is_some_and(|b| {
                let Ok(block) = Cidr::parse(&b.cidr) else {
                    return false;
                };
                let host = Cidr {
                    addr: *ip,
                    prefix: if ip.is_ipv4() { 32 } else { 128 },
                };
                block.contains(&host)
                    && !b
                        .except
                        .iter()
                        .flatten()
                        .any(|e| Cidr::parse(e).is_ok_and(|e| e.contains(&host)))
            }),
            Endpoint::Pod {
                namespace, labels, ..
            } => {
                if peer.ip_block.is_some() {
                    return false;
                }
                let ns_ok = match &peer.namespace_selector {
                    Some(sel) => selector_matches(Some(sel), &self.ns_labels(namespace)),
                    None => namespace == policy_ns,
                };
                let pod_ok = match &peer.pod_selector {
                    Some(sel) => selector_matches(Some(sel), labels),
                    None => true,
                };
                // A peer with neither selector (and no ipBlock) is invalid in the API.
                (peer.namespace_selector.is_some() || peer.pod_selector.is_some())
                    && ns_ok
                    && pod_ok
            }
        }
    }

    fn ns_labels(&self, ns: &str) -> BTreeMap<String, String> {
        let mut l = self.namespace_labels.get(ns).cloned().unwrap_or_default();
        l.insert("kubernetes.io/metadata.name".to_owned(), ns.to_owned());
        l
    }
}

fn has_type(p: &NetworkPolicy, dir: Dir) -> bool {
    let Some(spec) = &p.spec else { return false };
    let want = match dir {
        Dir::Ingress => "Ingress",
        Dir::Egress => "Egress",
    };
    match &spec.policy_types {
        Some(t) => t.iter().any(|t| t == want),
        None => match dir {
            Dir::Ingress => true,
            Dir::Egress => spec.egress.is_some(),
        },
    }
}

/// Label selector semantics: matchLabels and every matchExpression must hold; a
/// missing or empty selector selects everything.
pub(crate) fn selector_matches(
    sel: Option<&LabelSelector>,
    labels: &BTreeMap<String, String>,
) -> bool {
    let Some(sel) = sel else { return true };
    let labels_ok = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = sel.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let have = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => have.is_some_and(|v| values.contains(v)),
            "NotIn" => have.is_none_or(|v| !values.contains(v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

fn port_matches(pp: &NetworkPolicyPort, target: &Endpoint, port: i32, protocol: &str) -> bool {
    let proto = pp.protocol.as_deref().unwrap_or("TCP");
    if proto != protocol {
        return false;
    }
    match &pp.port {
        None => true,
        Some(IntOrString::Int(n)) => {
            let end = pp.end_port.unwrap_or(*n);
            (*n..=end).contains(&port)
        }
        Some(IntOrString::String(name)) => match target {
            Endpoint::Pod { named_ports, .. } => named_ports
                .get(name)
                .is_some_and(|(n, pr)| *n == port && pr == protocol),
            Endpoint::Ip(_) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies(yaml: &str) -> Cluster {
        let docs: Vec<NetworkPolicy> = yaml
            .split("---\n")
            .map(|d| serde_saphyr::from_str(d).unwrap())
            .collect();
        Cluster::new(docs)
    }

    fn ip(s: &str) -> Endpoint {
        Endpoint::Ip(s.parse().unwrap())
    }

    #[test]
    fn unselected_pods_are_unrestricted() {
        let c = Cluster::new(vec![]);
        let a = Endpoint::pod("a", &[]);
        assert!(c.allows(&a, &Endpoint::pod("b", &[]), 80, "TCP"));
        assert!(c.allows(&a, &ip("8.8.8.8"), 443, "TCP"));
    }

    #[test]
    fn default_deny_blocks_both_directions_and_policies_add_up() {
        let c = policies(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d, namespace: a}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: a}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: b}}, podSelector: {matchLabels: {app: fe}}}], ports: [{port: 8000, endPort: 8100, protocol: TCP}, {port: http}]}]\n",
        );
        let web = Endpoint::pod("a", &[("app", "web")]).with_port("http", 9090, "TCP");
        let fe = Endpoint::pod("b", &[("app", "fe")]);
        let other = Endpoint::pod("b", &[("app", "x")]);
        assert!(c.allows(&fe, &web, 8050, "TCP"));
        assert!(c.allows(&fe, &web, 9090, "TCP"), "named port");
        assert!(!c.allows(&fe, &web, 9091, "TCP"));
        assert!(!c.allows(&fe, &web, 8050, "UDP"));
        assert!(!c.allows(&other, &web, 8050, "TCP"), "pod selector ANDed");
        assert!(
            !c.allows(&Endpoint::pod("c", &[("app", "fe")]), &web, 8050, "TCP"),
            "namespace selector ANDed"
        );
        // Egress from `a` is denied by the default-deny policy.
        assert!(!c.allows(&web, &fe, 80, "TCP"));
    }

    #[test]
    fn lone_pod_selector_means_own_namespace_and_ipblock_except_holds() {
        let c = policies(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: e, namespace: a}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to: [{podSelector: {matchLabels: {app: db}}}]\n  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]\n    ports: [{port: 5432}]\n",
        );
        let src = Endpoint::pod("a", &[]);
        assert!(c.allows(&src, &Endpoint::pod("a", &[("app", "db")]), 1, "UDP"));
        assert!(!c.allows(&src, &Endpoint::pod("b", &[("app", "db")]), 1, "UDP"));
        assert!(c.allows(&src, &ip("10.2.3.4"), 5432, "TCP"));
        assert!(!c.allows(&src, &ip("10.1.3.4"), 5432, "TCP"));
        assert!(!c.allows(&src, &ip("10.2.3.4"), 5433, "TCP"));
        assert!(!c.allows(&src, &ip("11.0.0.1"), 5432, "TCP"));
    }

    #[test]
    fn missing_policy_types_default_from_rules() {
        // No policyTypes and only egress rules: Ingress (always) and Egress apply,
        // so the pods accept nothing, even from their own namespace.
        let c = policies(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: e, namespace: a}\nspec:\n  podSelector: {}\n  egress: [{to: [{podSelector: {}}]}]\n",
        );
        let a = Endpoint::pod("a", &[]);
        assert!(!c.allows(&a, &Endpoint::pod("a", &[]), 80, "TCP"));
        assert!(!c.allows(&Endpoint::pod("b", &[]), &a, 80, "TCP"));
        assert!(!c.allows(&a, &Endpoint::pod("b", &[]), 80, "TCP"));
        // No policyTypes and only ingress rules: egress stays open.
        let c = policies(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: i, namespace: a}\nspec:\n  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]\n",
        );
        assert!(c.allows(&a, &Endpoint::pod("b", &[]), 80, "TCP"));
        assert!(c.allows(&a, &Endpoint::pod("a", &[]), 80, "TCP"));
        assert!(!c.allows(&Endpoint::pod("b", &[]), &a, 80, "TCP"));
    }

    #[test]
    fn match_expressions() {
        let sel: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        }))
        .unwrap();
        let l = |p: &[(&str, &str)]| -> BTreeMap<String, String> {
            p.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(selector_matches(Some(&sel), &l(&[("tier", "a")])));
        assert!(!selector_matches(Some(&sel), &l(&[("tier", "c")])));
        assert!(!selector_matches(
            Some(&sel),
            &l(&[("tier", "a"), ("legacy", "1")])
        ));
    }
}
