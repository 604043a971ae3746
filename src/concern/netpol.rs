//! Typed NetworkPolicy builders: selectors, peers, ports, rules and the policy
//! object, as the network concern renders the allowance plan with them. It
//! depends on no concern.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::pipeline::allowance::Peer;
use crate::pipeline::flows::{NS_NAME_LABEL, PortNum, PortSpec};

pub(crate) fn ns_selector(ns: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(NS_NAME_LABEL.to_owned(), ns.to_owned())])),
        ..LabelSelector::default()
    }
}

pub(crate) fn labels_selector(labels: &BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: (!labels.is_empty()).then(|| labels.clone()),
        ..LabelSelector::default()
    }
}

/// Pods in a namespace, by label: namespace and pod selector in ONE peer (AND).
pub(crate) fn pods_peer(ns: &str, labels: &BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(ns_selector(ns)),
        pod_selector: Some(labels_selector(labels)),
        ..NetworkPolicyPeer::default()
    }
}

/// The NetworkPolicy peer of an allowance's other end.
pub(crate) fn peer_of(peer: &Peer) -> NetworkPolicyPeer {
    match peer {
        Peer::SameNamespace => NetworkPolicyPeer {
            pod_selector: Some(LabelSelector::default()),
            ..NetworkPolicyPeer::default()
        },
        Peer::Pods {
            namespace, labels, ..
        } => pods_peer(namespace, labels),
        Peer::PodsWithLabelIn(l) => NetworkPolicyPeer {
            namespace_selector: Some(ns_selector(&l.namespace)),
            pod_selector: Some(LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: l.key.clone(),
                    operator: "In".to_owned(),
                    values: Some(l.values.clone()),
                }]),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        },
        Peer::Namespaces(names) => NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: NS_NAME_LABEL.to_owned(),
                    operator: "In".to_owned(),
                    values: Some(names.clone()),
                }]),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        },
        Peer::Block { cidr, except } => NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                except: (!except.is_empty()).then(|| except.clone()),
            }),
            ..NetworkPolicyPeer::default()
        },
    }
}

pub(crate) fn np_port(p: &PortSpec) -> NetworkPolicyPort {
    let (port, end_port) = match &p.port {
        PortNum::Number(n) => (IntOrString::Int(i32::from(*n)), None),
        PortNum::Range(a, b) => (IntOrString::Int(i32::from(*a)), Some(i32::from(*b))),
        PortNum::Named(n) => (IntOrString::String(n.clone()), None),
    };
    NetworkPolicyPort {
        port: Some(port),
        end_port,
        protocol: Some(p.protocol.clone()),
    }
}

pub(crate) fn np_ports(ps: &[PortSpec]) -> Option<Vec<NetworkPolicyPort>> {
    (!ps.is_empty()).then(|| ps.iter().map(np_port).collect())
}

/// A policy for the pods `selector` picks, with rules of either direction.
pub(crate) fn policy(
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    selector: LabelSelector,
    ingress: Vec<NetworkPolicyIngressRule>,
    egress: Vec<NetworkPolicyEgressRule>,
) -> NetworkPolicy {
    let mut types = Vec::new();
    if !ingress.is_empty() {
        types.push("Ingress".to_owned());
    }
    if !egress.is_empty() {
        types.push("Egress".to_owned());
    }
    NetworkPolicy {
        metadata,
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector),
            policy_types: Some(types),
            ingress: (!ingress.is_empty()).then_some(ingress),
            egress: (!egress.is_empty()).then_some(egress),
        }),
    }
}

pub(crate) fn ingress_rule(
    from: NetworkPolicyPeer,
    ports: &[PortSpec],
) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: Some(vec![from]),
        ports: np_ports(ports),
    }
}

pub(crate) fn egress_rule(to: NetworkPolicyPeer, ports: &[PortSpec]) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![to]),
        ports: np_ports(ports),
    }
}
