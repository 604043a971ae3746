//! Linkerd rendering: the same intent as Istio's in policy.linkerd.io
//! resources (Server, MeshTLSAuthentication, NetworkAuthentication,
//! AuthorizationPolicy, HTTPRoute, EgressNetwork).

use super::grants::{Source, grants, principal_parts};
use super::validate::{linkerd_path, linkerd_rule_ports, rule_ports};
use super::*;
use crate::bundle::manifest::RenderError;

// ---- Linkerd types (policy.linkerd.io: Server v1beta3, the rest v1alpha1) ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServerSpec {
    pod_selector: Selector,
    port: serde_json::Value,
    proxy_protocol: &'static str,
    access_policy: &'static str,
}

#[derive(Serialize)]
pub(super) struct Selector {}

#[derive(Serialize)]
pub(super) struct MeshTlsSpec {
    identities: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct NetworkAuthSpec {
    networks: Vec<Network>,
}

#[derive(Serialize)]
pub(super) struct Network {
    cidr: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    except: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LinkerdAuthzSpec {
    target_ref: Ref,
    required_authentication_refs: Vec<Ref>,
}

#[derive(Serialize)]
pub(super) struct Ref {
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
    kind: &'static str,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EgressNetworkSpec {
    traffic_policy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LinkerdRouteSpec {
    parent_refs: Vec<Ref>,
    rules: Vec<LinkerdRouteRule>,
}

#[derive(Serialize)]
pub(super) struct LinkerdRouteRule {
    matches: Vec<LinkerdMatch>,
}

#[derive(Serialize, Clone)]
pub(super) struct LinkerdMatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<LinkerdPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
}

#[derive(Serialize, Clone)]
pub(super) struct LinkerdPath {
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
}

/// Every (method, path) pair of a rule: one match each (a match ANDs its
/// method and path; the list ORs them). Validation refused what does not translate.
pub(super) fn linkerd_matches(a: &MeshAuthorization) -> Vec<LinkerdMatch> {
    let paths: Vec<Option<LinkerdPath>> = if a.paths.is_empty() {
        vec![None]
    } else {
        a.paths
            .iter()
            .filter_map(|p| linkerd_path(p).ok())
            .map(|(kind, value)| Some(LinkerdPath { kind, value }))
            .collect()
    };
    let methods: Vec<Option<String>> = if a.methods.is_empty() {
        vec![None]
    } else {
        a.methods.iter().cloned().map(Some).collect()
    };
    let mut out = Vec::new();
    for method in &methods {
        for path in &paths {
            out.push(LinkerdMatch {
                path: path.clone(),
                method: method.clone(),
            });
        }
    }
    out
}

pub(super) fn server_ref(server: &str) -> Ref {
    Ref {
        group: Some(LPOL),
        kind: "Server",
        name: server.to_owned(),
    }
}

pub(super) const LPOL: &str = "policy.linkerd.io";

pub(super) fn server_name(p: &PortNum) -> Option<String> {
    match p {
        PortNum::Number(n) => Some(format!("port-{n}")),
        PortNum::Named(n) => Some(format!("port-{n}")),
        PortNum::Range(..) => None,
    }
}

pub(super) fn render_linkerd(m: &Model, out: &mut Vec<Manifest>) -> Result<(), RenderError> {
    let values = serde_json::json!({
        // Pod Security `restricted` forbids the NET_ADMIN proxy-init container;
        // the linkerd-cni plugin does the redirection on the node instead.
        "cniEnabled": true,
    });
    let mut md = meta("kharden-linkerd-values", Some(LINKERD_NS));
    md.annotations = Some(BTreeMap::from([(
        "kharden.dev/usage".to_owned(),
        "linkerd-control-plane Helm values: helm upgrade linkerd-control-plane linkerd/linkerd-control-plane -n linkerd -f values.yaml; needs the linkerd2-cni chart installed (Pod Security restricted forbids the NET_ADMIN init container)".to_owned(),
    )]));
    out.push(Manifest::k8s(&ConfigMap {
        metadata: md,
        data: Some(BTreeMap::from([(
            "values.yaml".to_owned(),
            crate::bundle::manifest::to_yaml(&values)?,
        )])),
        ..ConfigMap::default()
    })?);
    let registry_only = m
        .profile
        .mesh
        .as_ref()
        .is_some_and(|x| x.outbound_traffic == OutboundTraffic::RegistryOnly);
    for ns in m.profile.namespaces.iter().filter(|n| meshed(m, n)) {
        if registry_only {
            // Namespace-local: the namespace's clients may send to no destination
            // outside the cluster networks that no route allows. The routes that
            // would allow a host (Gateway API TLSRoute) have no schema here, so
            // none is rendered: listed hosts stay closed (see `notes`).
            out.push(custom(
                "policy.linkerd.io/v1alpha1",
                "EgressNetwork",
                inner_meta(m, ns, "external"),
                EgressNetworkSpec {
                    traffic_policy: "Deny",
                },
            )?);
        }
        if !denies(m, ns, Direction::Ingress) {
            continue;
        }
        let nm = ns.mesh.clone().unwrap_or_default();
        let grants = grants(m, ns);
        // One Server per TCP port any grant or rule names; all pods of the namespace.
        let mut ports: BTreeSet<PortNum> = grants
            .iter()
            .flat_map(|g| g.ports.iter().map(|p| p.port.clone()))
            .collect();
        for (j, a) in nm.authorization.iter().enumerate() {
            let own = rule_ports(m, ns, j);
            if a.methods.is_empty() && a.paths.is_empty() {
                ports.extend(own.iter().map(|n| PortNum::Number(*n)));
            } else {
                ports.extend(linkerd_rule_ports(m, ns, a, own));
            }
        }
        for p in &ports {
            let Some(name) = server_name(p) else { continue };
            let port = match p {
                PortNum::Number(n) => serde_json::Value::from(*n),
                PortNum::Named(s) => serde_json::Value::from(s.clone()),
                PortNum::Range(..) => continue,
            };
            out.push(custom(
                "policy.linkerd.io/v1beta3",
                "Server",
                inner_meta(m, ns, &name),
                ServerSpec {
                    pod_selector: Selector {},
                    port,
                    proxy_protocol: "unknown",
                    access_policy: "deny",
                },
            )?);
        }
        let mut authns: BTreeMap<String, Manifest> = BTreeMap::new();
        let mut mesh_authn = |identities: Vec<String>, name: String| -> Result<Ref, RenderError> {
            if !authns.contains_key(&name) {
                authns.insert(
                    name.clone(),
                    custom(
                        "policy.linkerd.io/v1alpha1",
                        "MeshTLSAuthentication",
                        inner_meta(m, ns, &name),
                        MeshTlsSpec { identities },
                    )?,
                );
            }
            Ok(Ref {
                group: Some(LPOL),
                kind: "MeshTLSAuthentication",
                name,
            })
        };
        let ns_identity =
            |n: &str| format!("*.{n}.serviceaccount.identity.linkerd.{LINKERD_DOMAIN}");
        let mut policies: Vec<(String, Vec<PortNum>, Ref)> = Vec::new();
        let mut routed: BTreeSet<String> = BTreeSet::new();
        for g in &grants {
            let authn = match &g.source {
                Source::Namespace(n) => mesh_authn(vec![ns_identity(n)], format!("namespace-{n}"))?,
                Source::ServiceAccount { namespace, name } => mesh_authn(
                    vec![format!(
                        "{name}.{namespace}.serviceaccount.identity.linkerd.{LINKERD_DOMAIN}"
                    )],
                    format!("serviceaccount-{namespace}-{name}"),
                )?,
                Source::Block { cidr, except } => {
                    let name = format!("{}-network", g.name);
                    out.push(custom(
                        "policy.linkerd.io/v1alpha1",
                        "NetworkAuthentication",
                        inner_meta(m, ns, &name),
                        NetworkAuthSpec {
                            networks: vec![Network {
                                cidr: cidr.clone(),
                                except: except.clone(),
                            }],
                        },
                    )?);
                    Ref {
                        group: Some(LPOL),
                        kind: "NetworkAuthentication",
                        name,
                    }
                }
            };
            policies.push((
                g.name.clone(),
                g.ports.iter().map(|p| p.port.clone()).collect(),
                authn,
            ));
        }
        for (j, a) in nm.authorization.iter().enumerate() {
            let mut ids: Vec<String> = a.from.namespace.iter().map(|n| ns_identity(n)).collect();
            ids.extend(a.from.principals.iter().filter_map(|p| {
                principal_parts(p).map(|(n, sa)| {
                    format!("{sa}.{n}.serviceaccount.identity.linkerd.{LINKERD_DOMAIN}")
                })
            }));
            let authn = mesh_authn(ids, format!("rule-{j}-clients"))?;
            if a.methods.is_empty() && a.paths.is_empty() {
                let ports = rule_ports(m, ns, j)
                    .iter()
                    .map(|n| PortNum::Number(*n))
                    .collect();
                policies.push((format!("allow-rule-{j}"), ports, authn));
                continue;
            }
            // Methods and paths: an HTTPRoute per port on its Server, and the
            // rule's clients authorized on that route only.
            let matches = linkerd_matches(a);
            for server in linkerd_rule_ports(m, ns, a, rule_ports(m, ns, j))
                .iter()
                .filter_map(server_name)
            {
                let route = format!("rule-{j}-{server}");
                out.push(custom(
                    "policy.linkerd.io/v1beta3",
                    "HTTPRoute",
                    inner_meta(m, ns, &route),
                    LinkerdRouteSpec {
                        parent_refs: vec![server_ref(&server)],
                        rules: matches
                            .chunks(8)
                            .map(|c| LinkerdRouteRule {
                                matches: c.to_vec(),
                            })
                            .collect(),
                    },
                )?);
                out.push(custom(
                    "policy.linkerd.io/v1alpha1",
                    "AuthorizationPolicy",
                    inner_meta(m, ns, &format!("allow-{route}")),
                    LinkerdAuthzSpec {
                        target_ref: Ref {
                            group: Some(LPOL),
                            kind: "HTTPRoute",
                            name: route.clone(),
                        },
                        required_authentication_refs: vec![Ref {
                            group: authn.group,
                            kind: authn.kind,
                            name: authn.name.clone(),
                        }],
                    },
                )?);
                routed.insert(server);
            }
        }
        // Once a Server has a route, Linkerd answers requests that match no route
        // with 404; this catch-all keeps the other requests flowing to whoever the
        // Server- and Namespace-level policies authorize (it authorizes no one).
        for server in &routed {
            out.push(custom(
                "policy.linkerd.io/v1beta3",
                "HTTPRoute",
                inner_meta(m, ns, &format!("{server}-other")),
                LinkerdRouteSpec {
                    parent_refs: vec![server_ref(server)],
                    rules: vec![LinkerdRouteRule {
                        matches: vec![LinkerdMatch {
                            path: Some(LinkerdPath {
                                kind: "PathPrefix",
                                value: "/".to_owned(),
                            }),
                            method: None,
                        }],
                    }],
                },
            )?);
        }
        out.extend(authns.into_values());
        for (name, ports, authn) in policies {
            // No ports: every Server of the namespace (targetRef Namespace).
            let targets: Vec<(String, Ref)> = if ports.is_empty() {
                vec![(
                    name.clone(),
                    Ref {
                        group: None,
                        kind: "Namespace",
                        name: ns.name.clone(),
                    },
                )]
            } else {
                ports
                    .iter()
                    .filter_map(server_name)
                    .map(|s| {
                        (
                            format!("{name}-{s}"),
                            Ref {
                                group: Some(LPOL),
                                kind: "Server",
                                name: s,
                            },
                        )
                    })
                    .collect()
            };
            for (pname, target) in targets {
                out.push(custom(
                    "policy.linkerd.io/v1alpha1",
                    "AuthorizationPolicy",
                    inner_meta(m, ns, &pname),
                    LinkerdAuthzSpec {
                        target_ref: target,
                        required_authentication_refs: vec![Ref {
                            group: authn.group,
                            kind: authn.kind,
                            name: authn.name.clone(),
                        }],
                    },
                )?);
            }
        }
    }
    Ok(())
}
