//! The flow graph of a rendering: which namespaces and external blocks the
//! rendered NetworkPolicies let talk, on which ports, drawn as inline SVG for
//! the report and as Mermaid for `explain --format mermaid`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::esc;
use crate::bundle::manifest::ManifestSet;
use crate::k8s::net::Cidr;
use crate::k8s::netpol_eval::Endpoint;
use crate::pipeline::model::Model;
use crate::verify::{network_cluster, objects};

/// One allowed flow between graph nodes (namespaces or external blocks).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `8080/TCP`, `all ports`, with `except` notes for blocks.
    pub ports: BTreeSet<String>,
}

/// Graph node for one end of a peer.
enum Peer {
    Pods(String, BTreeMap<String, String>),
    Block(String, Option<IpAddr>),
}

fn peer_of(peer: &NetworkPolicyPeer, own_ns: &str) -> Option<Peer> {
    if let Some(b) = &peer.ip_block {
        let probe = Cidr::parse(&b.cidr).ok().and_then(|c| {
            let excepted = b
                .except
                .iter()
                .flatten()
                .filter_map(|e| Cidr::parse(e).ok())
                .any(|e| {
                    e.contains(&Cidr {
                        addr: c.addr,
                        prefix: if c.addr.is_ipv4() { 32 } else { 128 },
                    })
                });
            (!excepted).then_some(c.addr)
        });
        let mut label = b.cidr.clone();
        if let Some(ex) = b.except.as_ref().filter(|e| !e.is_empty()) {
            label.push_str(&format!(" except {}", ex.join(", ")));
        }
        return Some(Peer::Block(label, probe));
    }
    let labels = peer
        .pod_selector
        .as_ref()
        .and_then(|s| s.match_labels.clone())
        .unwrap_or_default();
    let ns = match &peer.namespace_selector {
        None => own_ns.to_owned(),
        Some(sel) => sel
            .match_labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/metadata.name"))
            .cloned()?,
    };
    Some(Peer::Pods(ns, labels))
}

/// The flows the rendered NetworkPolicies allow, as namespace-level edges. Each
/// candidate comes from one policy rule and is kept only when the evaluator
/// confirms both halves (the sender's egress and the receiver's ingress).
pub fn flow_edges(objs: &[Value]) -> Vec<Edge> {
    let cluster = network_cluster(objs);
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for p in &cluster.policies {
        let (Some(ns), Some(spec)) = (&p.metadata.namespace, &p.spec) else {
            continue;
        };
        let own = spec
            .pod_selector
            .as_ref()
            .and_then(|s| s.match_labels.clone())
            .unwrap_or_default();
        let rules = spec
            .ingress
            .iter()
            .flatten()
            .map(|r| (true, &r.from, &r.ports))
            .chain(
                spec.egress
                    .iter()
                    .flatten()
                    .map(|r| (false, &r.to, &r.ports)),
            );
        for (ingress, peers, ports) in rules {
            let Some(peers) = peers.as_ref().filter(|p| !p.is_empty()) else {
                continue;
            };
            for peer in peers {
                let Some(other) = peer_of(peer, ns) else {
                    continue;
                };
                let ports: Vec<(String, i32, String, Option<String>)> = match ports {
                    Some(v) if !v.is_empty() => v
                        .iter()
                        .map(|pp| {
                            let proto = pp.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
                            match &pp.port {
                                Some(IntOrString::Int(n)) => {
                                    let label = match pp.end_port {
                                        Some(e) if e != *n => format!("{n}-{e}/{proto}"),
                                        _ => format!("{n}/{proto}"),
                                    };
                                    (label, *n, proto, None)
                                }
                                Some(IntOrString::String(name)) => {
                                    (format!("{name}/{proto}"), 65000, proto, Some(name.clone()))
                                }
                                None => (format!("all {proto} ports"), 1, proto, None),
                            }
                        })
                        .collect(),
                    _ => vec![("all ports".to_owned(), 1, "TCP".to_owned(), None)],
                };
                for (label, port, proto, named) in ports {
                    let mk = |n: &str, l: &BTreeMap<String, String>| {
                        let mut e = Endpoint::Pod {
                            namespace: n.to_owned(),
                            labels: l.clone(),
                            named_ports: BTreeMap::new(),
                        };
                        if let Some(name) = &named {
                            e = e.with_port(name, 65000, &proto);
                        }
                        e
                    };
                    let me = mk(ns, &own);
                    let (them, node) = match &other {
                        Peer::Pods(n, l) => (Some(mk(n, l)), n.clone()),
                        Peer::Block(label, probe) => (probe.map(Endpoint::Ip), label.clone()),
                    };
                    let Some(them) = them else { continue };
                    let (src, dst, from, to) = if ingress {
                        (&them, &me, node, ns.clone())
                    } else {
                        (&me, &them, ns.clone(), node)
                    };
                    if cluster.allows(src, dst, port, &proto) {
                        edges.entry((from, to)).or_default().insert(label.clone());
                    }
                }
            }
        }
    }
    edges
        .into_iter()
        .map(|((from, to), ports)| Edge { from, to, ports })
        .collect()
}

/// The flow graph as a Mermaid flowchart, for Markdown.
pub fn mermaid(_m: &Model, set: &ManifestSet) -> String {
    let edges = flow_edges(&objects(set));
    let nodes = node_list(&edges);
    let id = |n: &str| nodes.iter().position(|x| x == n).unwrap_or(0);
    // Mermaid labels in quotes take entity codes; a quote would end the label.
    let label = |s: &str| s.replace('"', "#quot;");
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for (i, n) in nodes.iter().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]", label(n));
    }
    for e in &edges {
        let ports: Vec<&str> = e.ports.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "  n{} -->|\"{}\"| n{}",
            id(&e.from),
            label(&ports.join(", ")),
            id(&e.to)
        );
    }
    out.push_str("```\n");
    out
}

fn node_list(edges: &[Edge]) -> Vec<String> {
    let set: BTreeSet<&String> = edges.iter().flat_map(|e| [&e.from, &e.to]).collect();
    set.into_iter().cloned().collect()
}

/// The graph drawn as inline SVG: nodes on a circle in name order (a fixed
/// layout, so the bytes never change), arrows for allowed flows.
pub(super) fn svg(edges: &[Edge], tenants: &BTreeSet<String>) -> String {
    let nodes = node_list(edges);
    let n = nodes.len().max(1) as f64;
    let r = 160.0 + 18.0 * n;
    let (w, h) = (2.0 * r + 360.0, 2.0 * r + 120.0);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let pos: Vec<(f64, f64)> = (0..nodes.len())
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
            (cx + r * a.cos(), cy + r * a.sin())
        })
        .collect();
    let at = |name: &str| pos[nodes.iter().position(|x| x == name).unwrap_or(0)];
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"flow-graph\" role=\"img\" aria-label=\"allowed flows\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n"
    );
    for e in edges.iter().filter(|e| e.from != e.to) {
        let (x1, y1) = at(&e.from);
        let (x2, y2) = at(&e.to);
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let pad = 34.0;
        // A flow with a reverse twin is shifted to its right, so the two arrows
        // and their labels stay apart.
        let twin = edges.iter().any(|o| o.from == e.to && o.to == e.from);
        let shift = if twin { 7.0 } else { 0.0 };
        let (nx, ny) = (-dy / len * shift, dx / len * shift);
        let (sx, sy) = (x1 + dx / len * pad + nx, y1 + dy / len * pad + ny);
        let (ex, ey) = (x2 - dx / len * pad + nx, y2 - dy / len * pad + ny);
        // Labels sit a third of the way along, nearer the sender.
        let (lx, ly) = (sx + (ex - sx) / 3.0 + nx, sy + (ey - sy) / 3.0 + ny);
        let ports: Vec<&str> = e.ports.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "<g class=\"edge\"><line x1=\"{sx:.1}\" y1=\"{sy:.1}\" x2=\"{ex:.1}\" y2=\"{ey:.1}\" stroke=\"#555\" marker-end=\"url(#arrow)\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text></g>",
            lx,
            ly - 3.0,
            esc(&ports.join(", "))
        );
    }
    for (name, (x, y)) in nodes.iter().zip(&pos) {
        let class = if tenants.contains(name) {
            "tenant"
        } else if name.contains('/') {
            "external"
        } else {
            "other"
        };
        let fill = match class {
            "tenant" => "#dbeafe",
            "external" => "#fde68a",
            _ => "#e5e7eb",
        };
        let within = edges.iter().any(|e| &e.from == name && &e.to == name);
        let _ = writeln!(
            out,
            "<g class=\"node {class}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"30\" fill=\"{fill}\" stroke=\"#333\"{}/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text></g>",
            if within { " stroke-width=\"3\"" } else { "" },
            y + 46.0,
            esc(name)
        );
    }
    out.push_str("</svg>\n");
    out
}
