//! The rule that ties the mesh to L4: every mesh grant (an Istio ALLOW rule,
//! a Linkerd authorization) has a NetworkPolicy admitting the same flow,
//! evaluated with `netpol_eval` on both meshes.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::Value;

use super::tests::{meshed, profiles, values};
use crate::k8s::netpol_eval::{Cluster, Endpoint};
use crate::pipeline::flows::NS_NAME_LABEL;

/// One mesh grant as rendered: into `ns`, from sources, on ports (none: all).
#[derive(Debug)]
struct Grant {
    what: String,
    ns: String,
    from: Vec<Endpoint>,
    ports: Vec<Port>,
}

#[derive(Debug, Clone)]
enum Port {
    Number(i32),
    Named(String),
}

/// A pod of namespace `ns` (labels chosen by `admitted`).
fn ns_source(ns: &str) -> Endpoint {
    Endpoint::pod(ns, &[])
}

/// An address a CIDR grant lets in: the block's own, unless carved out.
fn block_source(cidr: &str, except: &[String]) -> Endpoint {
    let c = crate::k8s::net::Cidr::parse(cidr).unwrap();
    let ip = c.network();
    let inside_hole = except.iter().any(|e| {
        let e = crate::k8s::net::Cidr::parse(e).unwrap();
        e.contains(&crate::k8s::net::Cidr {
            addr: ip,
            prefix: c.prefix.max(if ip.is_ipv4() { 32 } else { 128 }),
        })
    });
    assert!(!inside_hole, "{cidr}: pick another address");
    Endpoint::Ip(ip)
}

/// The namespace of `<sa>.<ns>.serviceaccount.identity.linkerd.<domain>`
/// (or `*.<ns>...`), or of `cluster.local/ns/<ns>/sa/<sa>`.
fn identity_ns(id: &str) -> String {
    if let Some((_, rest)) = id.split_once("/ns/") {
        return rest.split('/').next().unwrap().to_owned();
    }
    id.split('.').nth(1).unwrap().to_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// Istio's ALLOW AuthorizationPolicies that mirror L4 (`allow-rule-*` are the
/// profile's L7 rules, which narrow grants rather than make them).
fn istio_grants(objs: &[Value]) -> Vec<Grant> {
    let mut out = Vec::new();
    for o in objs.iter().filter(|o| {
        o["kind"] == "AuthorizationPolicy"
            && o["apiVersion"]
                .as_str()
                .unwrap()
                .starts_with("security.istio.io")
    }) {
        let name = o["metadata"]["name"].as_str().unwrap();
        let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
        if name.starts_with("allow-rule-")
            || o["spec"]["action"].as_str().is_some_and(|a| a != "ALLOW")
        {
            continue;
        }
        for rule in o["spec"]["rules"].as_array().into_iter().flatten() {
            let mut from = Vec::new();
            for f in rule["from"].as_array().into_iter().flatten() {
                let s = &f["source"];
                from.extend(strings(&s["namespaces"]).iter().map(|n| ns_source(n)));
                from.extend(
                    strings(&s["principals"])
                        .iter()
                        .map(|p| ns_source(&identity_ns(p))),
                );
                let except = strings(&s["notIpBlocks"]);
                from.extend(
                    strings(&s["ipBlocks"])
                        .iter()
                        .map(|c| block_source(c, &except)),
                );
            }
            let ports = rule["to"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| strings(&t["operation"]["ports"]))
                .map(|p| Port::Number(p.parse().unwrap()))
                .collect();
            out.push(Grant {
                what: format!("AuthorizationPolicy {ns}/{name}"),
                ns: ns.to_owned(),
                from,
                ports,
            });
        }
    }
    out
}

/// Linkerd's AuthorizationPolicies on a Server or the whole namespace (those
/// on an HTTPRoute are the profile's L7 rules).
fn linkerd_grants(objs: &[Value]) -> Vec<Grant> {
    let find = |kind: &str, ns: &str, name: &str| {
        objs.iter()
            .find(|o| {
                o["kind"] == kind
                    && o["metadata"]["namespace"] == ns
                    && o["metadata"]["name"] == name
            })
            .unwrap_or_else(|| panic!("no {kind} {ns}/{name}"))
    };
    let mut out = Vec::new();
    for o in objs.iter().filter(|o| {
        o["kind"] == "AuthorizationPolicy"
            && o["apiVersion"]
                .as_str()
                .unwrap()
                .starts_with("policy.linkerd.io")
    }) {
        let name = o["metadata"]["name"].as_str().unwrap();
        let ns = o["metadata"]["namespace"].as_str().unwrap();
        let target = &o["spec"]["targetRef"];
        if name.starts_with("allow-rule-") || target["kind"] == "HTTPRoute" {
            continue;
        }
        let ports = if target["kind"] == "Server" {
            let server = find("Server", ns, target["name"].as_str().unwrap());
            match &server["spec"]["port"] {
                Value::Number(n) => vec![Port::Number(n.as_i64().unwrap() as i32)],
                Value::String(s) => vec![Port::Named(s.clone())],
                other => panic!("Server port {other}"),
            }
        } else {
            vec![]
        };
        let mut from = Vec::new();
        for r in o["spec"]["requiredAuthenticationRefs"].as_array().unwrap() {
            let authn = find(r["kind"].as_str().unwrap(), ns, r["name"].as_str().unwrap());
            from.extend(
                strings(&authn["spec"]["identities"])
                    .iter()
                    .map(|i| ns_source(&identity_ns(i))),
            );
            for n in authn["spec"]["networks"].as_array().into_iter().flatten() {
                from.push(block_source(
                    n["cidr"].as_str().unwrap(),
                    &strings(&n["except"]),
                ));
            }
        }
        out.push(Grant {
            what: format!("AuthorizationPolicy {ns}/{name}"),
            ns: ns.to_owned(),
            from,
            ports,
        });
    }
    out
}

/// The label sets the NetworkPolicies name for pods of each namespace (and
/// no labels): the candidates for "some pod of that namespace".
fn pod_labels(nps: &[NetworkPolicy]) -> BTreeMap<String, BTreeSet<BTreeMap<String, String>>> {
    let mut out: BTreeMap<String, BTreeSet<BTreeMap<String, String>>> = BTreeMap::new();
    let mut add =
        |ns: &str, sel: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>| {
            let labels = sel.and_then(|s| s.match_labels.clone()).unwrap_or_default();
            out.entry(ns.to_owned()).or_default().insert(labels);
            out.entry(ns.to_owned())
                .or_default()
                .insert(BTreeMap::new());
        };
    for np in nps {
        let here = np.metadata.namespace.as_deref().unwrap();
        let spec = np.spec.as_ref().unwrap();
        add(here, spec.pod_selector.as_ref());
        let peers = spec
            .ingress
            .iter()
            .flatten()
            .flat_map(|r| r.from.iter().flatten())
            .chain(
                spec.egress
                    .iter()
                    .flatten()
                    .flat_map(|r| r.to.iter().flatten()),
            );
        for p in peers {
            let ns = p
                .namespace_selector
                .as_ref()
                .and_then(|s| s.match_labels.as_ref())
                .and_then(|l| l.get(NS_NAME_LABEL))
                .map_or(here, String::as_str);
            if p.ip_block.is_none() {
                add(ns, p.pod_selector.as_ref());
            }
        }
    }
    out
}

/// Whether the NetworkPolicies admit `g`: some pod (or the address) of each
/// source reaches some pod of the namespace on each granted port (on some
/// port the policies name, when the grant is for all ports).
fn admitted(c: &Cluster, nps: &[NetworkPolicy], g: &Grant) -> Result<(), String> {
    let labels = pod_labels(nps);
    let none = BTreeSet::from([BTreeMap::new()]);
    let pods = |ns: &str| -> Vec<BTreeMap<String, String>> {
        labels.get(ns).unwrap_or(&none).iter().cloned().collect()
    };
    let mut ports = g.ports.clone();
    if ports.is_empty() {
        let named: BTreeSet<i32> = nps
            .iter()
            .flat_map(|np| np.spec.iter().flat_map(|s| s.ingress.iter().flatten()))
            .flat_map(|r| r.ports.iter().flatten())
            .filter_map(|p| match &p.port {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => Some(*n),
                _ => None,
            })
            .chain([8080])
            .collect();
        ports = named.into_iter().map(Port::Number).collect();
    }
    assert!(!g.from.is_empty(), "{}: no source", g.what);
    for src in &g.from {
        let sources: Vec<Endpoint> = match src {
            Endpoint::Pod { namespace, .. } => pods(namespace)
                .into_iter()
                .map(|l| Endpoint::Pod {
                    namespace: namespace.clone(),
                    labels: l,
                    named_ports: BTreeMap::new(),
                })
                .collect(),
            ip => vec![ip.clone()],
        };
        let ok = sources.iter().any(|s| {
            pods(&g.ns).into_iter().any(|l| {
                let dst = |named: Option<&str>| Endpoint::Pod {
                    namespace: g.ns.clone(),
                    labels: l.clone(),
                    named_ports: named
                        .map(|n| BTreeMap::from([(n.to_owned(), (8080, "TCP".to_owned()))]))
                        .unwrap_or_default(),
                };
                let check = |p: &Port| match p {
                    Port::Number(n) => c.allows(s, &dst(None), *n, "TCP"),
                    Port::Named(n) => c.allows(s, &dst(Some(n)), 8080, "TCP"),
                };
                if g.ports.is_empty() {
                    ports.iter().any(check)
                } else {
                    ports.iter().all(check)
                }
            })
        });
        if !ok {
            return Err(format!(
                "{}: no NetworkPolicy admits {src:?} on {ports:?}",
                g.what
            ));
        }
    }
    Ok(())
}

/// #32 item 1: what the mesh lets in, L4 lets in too; every grant of both
/// meshes, on the example profiles and a meshed profile of every source.
#[test]
fn every_mesh_grant_has_its_network_policy() {
    let mut checked = BTreeMap::new();
    for (profile, objs) in profiles() {
        let nps: Vec<NetworkPolicy> = objs
            .iter()
            .filter(|o| o["kind"] == "NetworkPolicy")
            .map(|o| serde_json::from_value(o.clone()).unwrap())
            .collect();
        let c = Cluster::new(nps.clone());
        for g in istio_grants(&objs).into_iter().chain(linkerd_grants(&objs)) {
            if let Err(e) = admitted(&c, &nps, &g) {
                panic!("{profile}: {e}");
            }
            *checked.entry(profile.clone()).or_insert(0) += 1;
        }
    }
    for p in [
        "prod-east.yaml",
        "linkerd.yaml",
        "meshed (istio)",
        "meshed (linkerd)",
    ] {
        assert!(checked.get(p).is_some_and(|n| *n >= 3), "{p}: {checked:?}");
    }
}

/// The check above fails when a grant has no NetworkPolicy.
#[test]
fn a_grant_without_its_network_policy_is_caught() {
    let objs = values(&meshed("istio"));
    let nps: Vec<NetworkPolicy> = objs
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy" && o["metadata"]["name"] != "allow-ingress-1")
        .map(|o| serde_json::from_value(o.clone()).unwrap())
        .collect();
    let c = Cluster::new(nps.clone());
    let g = istio_grants(&objs)
        .into_iter()
        .find(|g| g.what == "AuthorizationPolicy a/allow-ingress-1")
        .unwrap();
    assert!(admitted(&c, &nps, &g).is_err());
}
