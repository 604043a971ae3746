//! The collector's and Elasticsearch's L4 allowances (#29 item 3): shipping
//! to Elasticsearch, Elasticsearch accepting the collector, its nodes forming
//! a cluster over the transport port and its operator (ECK) managing them
//! over HTTP, and the collector's own namespace, when the profile does not
//! manage it, accepting nothing else. The network concern renders them.

use std::sync::Arc;

use crate::components::{ES_HTTP, ES_TRANSPORT, Role};
use crate::input::profile::Direction;
use crate::input::source::FieldPath;
use crate::pipeline::allowance::{Allowance, Contributions, Isolation, Origin, Peer};
use crate::pipeline::flows::{End, PortSpec, logging_target, no_labels};
use crate::pipeline::model::Model;

/// The collector's namespace, which flows may name.
pub(crate) fn outside_namespaces(m: &Model, out: &mut std::collections::BTreeSet<String>) {
    if let Some(l) = &m.profile.logging {
        out.insert(l.namespace.clone());
    }
}

pub(crate) fn allowances(m: &Model, c: &mut Contributions) {
    let Some(l) = &m.profile.logging else {
        return;
    };
    let root = FieldPath::root().key("logging");
    let origin = |path: FieldPath| Origin::new("logging", Arc::new(path));
    if !m.profile.namespaces.iter().any(|n| n.name == l.namespace) {
        // The collector's own namespace accepts no traffic but what follows.
        // Its egress stays open: the collector must reach the API server, which
        // no pod selector names, and an Elasticsearch that may sit outside the
        // cluster.
        c.isolate(
            &l.namespace,
            Isolation {
                name: "default-deny-ingress",
                ingress: true,
                egress: false,
                origin: origin(root.key("namespace")),
            },
        );
    }
    if let Some((target, port)) = logging_target(m) {
        let host = origin(root.key("elasticsearch").key("host"));
        let ports: Arc<[PortSpec]> = Arc::new([PortSpec::tcp(port)]);
        let to = match &target {
            End::Pods { namespace, labels } => Peer::pods(namespace, labels.clone()),
            End::Block { cidr, except, .. } => Peer::Block {
                cidr: cidr.clone(),
                except: except.clone(),
            },
        };
        c.allow(Allowance::new(
            &l.namespace,
            Direction::Egress,
            "allow-log-shipping",
            to,
            ports.clone(),
            host.clone(),
        ));
        if let End::Pods { namespace, .. } = &target {
            c.allow(Allowance::new(
                namespace,
                Direction::Ingress,
                "allow-from-log-collector",
                Peer::pods(&l.namespace, no_labels()),
                ports,
                host,
            ));
        }
    }
    elasticsearch(m, c, &root);
}

/// An in-cluster Elasticsearch: its nodes form a cluster over the transport
/// port, and its operator calls their HTTP port to manage them; a namespace's
/// default deny must not cut either. L4 only: Elasticsearch belongs outside
/// the mesh (the self-check says so when it is not).
fn elasticsearch(m: &Model, c: &mut Contributions, root: &FieldPath) {
    let all = crate::components::all(&m.profile);
    let Some(es) = all.iter().find(|c| c.role == Role::Elasticsearch) else {
        return;
    };
    let Some(op) = all.iter().find(|c| c.role == Role::ElasticOperator) else {
        return;
    };
    let origin = Origin::new("logging", Arc::new(root.key("elasticsearch").key("host")));
    let labels = Arc::new(es.pod_labels.clone());
    let nodes = Peer::pods(&es.namespace, labels.clone());
    let half = |direction, name: &'static str, peer: Peer, port| Allowance {
        pods: labels.clone(),
        mesh: false,
        ..Allowance::new(
            &es.namespace,
            direction,
            name,
            peer,
            Arc::new([PortSpec::tcp(port)]),
            origin.clone(),
        )
    };
    for dir in [Direction::Ingress, Direction::Egress] {
        c.allow(half(
            dir,
            "allow-elasticsearch-transport",
            nodes.clone(),
            ES_TRANSPORT,
        ));
    }
    c.allow(half(
        Direction::Ingress,
        "allow-from-elastic-operator",
        Peer::pods(&op.namespace, Arc::new(op.pod_labels.clone())),
        ES_HTTP,
    ));
}
