//! The self-check's reach half: each platform component reaches what it must
//! (the ingress controller and gateways their tenants' pods, the collector
//! Elasticsearch, the sidecars istiod) through the rendered NetworkPolicies
//! and, with Istio, the rendered mTLS and authorization policies.

use std::collections::{BTreeMap, BTreeSet};

use super::{Check, Ctx, label};
use crate::components::{Component, ES_HTTP, ES_TRANSPORT, Role};
use crate::input::profile::MeshProvider;
use crate::k8s::netpol_eval::{Endpoint, Verdict};
use crate::pipeline::flows::meshed;
use crate::verify::{istio, network_cluster};

/// How one direction was decided, in words.
fn verdict(v: &Verdict) -> String {
    match v {
        Verdict::Unselected => "no NetworkPolicy selects it".to_owned(),
        Verdict::AllowedBy(p) => format!("allowed by NetworkPolicy {p}"),
        Verdict::DeniedBy(ps) => format!(
            "denied, selected by NetworkPolicy {} and none allows it",
            ps.join(", ")
        ),
    }
}

/// One connection a component needs.
struct Need<'a> {
    from: &'a Component,
    to_ns: String,
    to_labels: BTreeMap<String, String>,
    port: u16,
    why: String,
    to_is_elasticsearch: bool,
}

pub(super) fn reach(ctx: &Ctx<'_>, components: &[Component], out: &mut Vec<Check>) {
    let m = ctx.m;
    let find = |r: Role| components.iter().find(|c| c.role == r);
    let mut needs = Vec::new();
    for c in components {
        match c.role {
            Role::IngressController => {
                for ns in &ctx.sample {
                    needs.push(Need {
                        from: c,
                        to_ns: ns.name.clone(),
                        to_labels: BTreeMap::new(),
                        port: 8080,
                        why: "routes Ingress traffic".to_owned(),
                        to_is_elasticsearch: false,
                    });
                }
            }
            Role::GatewayProxy => {
                let g =
                    m.profile.cluster.gateways.iter().find(|g| {
                        c.name == format!("proxies of Gateway {}/{}", g.namespace, g.name)
                    });
                for ns in ctx
                    .sample
                    .iter()
                    .filter(|n| g.is_some_and(|g| g.routes_from(&n.name)))
                {
                    needs.push(Need {
                        from: c,
                        to_ns: ns.name.clone(),
                        to_labels: BTreeMap::new(),
                        port: 8080,
                        why: "routes Gateway traffic".to_owned(),
                        to_is_elasticsearch: false,
                    });
                }
            }
            Role::LogCollector => {
                if let (Some(es), Some(l)) = (find(Role::Elasticsearch), &m.profile.logging) {
                    needs.push(Need {
                        from: c,
                        to_ns: es.namespace.clone(),
                        to_labels: es.pod_labels.clone(),
                        port: l.elasticsearch.port,
                        why: "ships logs".to_owned(),
                        to_is_elasticsearch: true,
                    });
                }
            }
            Role::Elasticsearch => needs.push(Need {
                from: c,
                to_ns: c.namespace.clone(),
                to_labels: c.pod_labels.clone(),
                port: ES_TRANSPORT,
                why: "forms a cluster with its other nodes".to_owned(),
                to_is_elasticsearch: true,
            }),
            Role::ElasticOperator => {
                if let Some(es) = find(Role::Elasticsearch) {
                    needs.push(Need {
                        from: c,
                        to_ns: es.namespace.clone(),
                        to_labels: es.pod_labels.clone(),
                        port: ES_HTTP,
                        why: "manages Elasticsearch".to_owned(),
                        to_is_elasticsearch: true,
                    });
                }
            }
            _ => {}
        }
    }
    let istio = m
        .profile
        .mesh
        .as_ref()
        .is_some_and(|x| x.provider == MeshProvider::Istio);
    let profile_ns: BTreeSet<&str> = m
        .profile
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    for n in needs {
        let src = Endpoint::Pod {
            namespace: n.from.namespace.clone(),
            labels: n.from.pod_labels.clone(),
            named_ports: BTreeMap::new(),
        };
        let dst = Endpoint::Pod {
            namespace: n.to_ns.clone(),
            labels: n.to_labels.clone(),
            named_ports: BTreeMap::new(),
        };
        let port = i32::from(n.port);
        let cluster = network_cluster(
            &ctx.scoped
                .for_namespaces(&[n.from.namespace.as_str(), n.to_ns.as_str()]),
        );
        let (egress, ingress) = cluster.explain(&src, &dst, port, "TCP");
        let what = format!("reaches `{}` on {}/TCP ({})", n.to_ns, n.port, n.why);
        let mut check = Check {
            component: label(n.from),
            what,
            ok: egress.allows() && ingress.allows(),
            detail: format!(
                "egress: {}; ingress: {}",
                verdict(&egress),
                verdict(&ingress)
            ),
            hint: "this is a bug in kharden's NetworkPolicies".to_owned(),
        };
        let dst_meshed = profile_ns.contains(n.to_ns.as_str())
            && m.profile
                .namespaces
                .iter()
                .any(|x| x.name == n.to_ns && meshed(m, x));
        if check.ok && istio && dst_meshed {
            let from = istio::Source {
                namespace: n.from.namespace.clone(),
                service_account: n.from.service_account.clone(),
                meshed: n.from.meshed,
            };
            let target = istio::Target {
                namespace: &n.to_ns,
                labels: &n.to_labels,
                port,
                method: None,
                path: None,
            };
            let objs = ctx
                .scoped
                .for_namespaces(&[n.to_ns.as_str(), crate::pipeline::flows::ISTIO_NS]);
            if let Some(istio::Decision::Denied(by)) = istio::decide(&objs, &from, &target, true) {
                check.ok = false;
                check.detail = format!("mesh: denied {by}");
                check.hint = if n.to_is_elasticsearch {
                    format!(
                        "Elasticsearch in `{}` is inside the mesh, whose STRICT mTLS and identity-based authorization refuse the log collector and the ECK operator, which run without a sidecar: run Elasticsearch outside the mesh (in the collector's namespace `{}`, or a namespace not in the profile) and point `logging.elasticsearch.host` at it",
                        n.to_ns,
                        m.profile
                            .logging
                            .as_ref()
                            .map_or("logging", |l| l.namespace.as_str())
                    )
                } else if n.from.meshed {
                    "this is a bug in kharden's mesh grants".to_owned()
                } else {
                    format!(
                        "`{}` runs without the mesh sidecar and `{}` requires mTLS: run the destination in a namespace outside the mesh (e.g. the collector's), or run {} with the sidecar and set `components.{}.meshed: true`",
                        n.from.namespace,
                        n.to_ns,
                        n.from.name,
                        n.from.role.field()
                    )
                };
            }
        }
        out.push(check);
    }
}
