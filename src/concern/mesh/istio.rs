//! Istio rendering: mesh-wide STRICT mTLS, per-namespace authorization,
//! sidecar egress scoping, the egress gateway, per-service routes, and the
//! istiod values ConfigMap.

use super::grants::{Source, destinations, flows_by, grants, group};
use super::istio_types::*;
use super::*;
use crate::bundle::manifest::RenderError;

pub(super) fn render_istio(m: &Model, out: &mut Vec<Manifest>) -> Result<(), RenderError> {
    let Some(mesh) = &m.profile.mesh else {
        return Ok(());
    };
    let flows = m.flows();
    let from = flows_by(flows, |f| &f.src);
    let sec = "security.istio.io/v1";
    let net = "networking.istio.io/v1";
    // Mesh-wide mTLS: a selector-less PeerAuthentication in the root namespace.
    out.push(custom(
        sec,
        "PeerAuthentication",
        meta("default", Some(ISTIO_NS)),
        PeerAuthenticationSpec {
            mtls: Mtls {
                mode: mode(mesh.mtls),
            },
        },
    )?);
    if mesh.access_logging {
        out.push(custom(
            "telemetry.istio.io/v1",
            "Telemetry",
            meta("mesh-default", Some(ISTIO_NS)),
            TelemetrySpec {
                access_logging: vec![AccessLogging {
                    providers: vec![Provider { name: "envoy" }],
                }],
            },
        )?);
    }
    out.push(istio_values(m)?);
    for ns in m.profile.namespaces.iter().filter(|n| meshed(m, n)) {
        let nm = ns.mesh.clone().unwrap_or_default();
        if let Some(mt) = nm.mtls {
            out.push(custom(
                sec,
                "PeerAuthentication",
                inner_meta(m, ns, "default"),
                PeerAuthenticationSpec {
                    mtls: Mtls { mode: mode(mt) },
                },
            )?);
        }
        if denies(m, ns, Direction::Ingress) {
            // `spec: {}` is allow-nothing: with it, only the ALLOW policies below admit requests.
            out.push(custom(
                sec,
                "AuthorizationPolicy",
                inner_meta(m, ns, "allow-nothing"),
                AuthorizationPolicySpec::default(),
            )?);
            for g in grants(m, ns) {
                let source = match &g.source {
                    Source::Namespace(n) => IstioSource {
                        namespaces: vec![n.clone()],
                        ..IstioSource::default()
                    },
                    Source::ServiceAccount { namespace, name } => IstioSource {
                        principals: vec![format!("cluster.local/ns/{namespace}/sa/{name}")],
                        ..IstioSource::default()
                    },
                    Source::Block { cidr, except } => IstioSource {
                        ip_blocks: vec![cidr.clone()],
                        not_ip_blocks: except.clone(),
                        ..IstioSource::default()
                    },
                };
                let op = Operation {
                    ports: istio_ports(&g.ports),
                    ..Operation::default()
                };
                out.push(custom(
                    sec,
                    "AuthorizationPolicy",
                    inner_meta(m, ns, &g.name),
                    allow(vec![istio_rule(source, op)]),
                )?);
            }
            for (j, a) in nm.authorization.iter().enumerate() {
                let op = Operation {
                    methods: a.methods.clone(),
                    paths: a.paths.clone(),
                    ports: a.ports.clone(),
                };
                out.push(custom(
                    sec,
                    "AuthorizationPolicy",
                    inner_meta(m, ns, &format!("allow-rule-{j}")),
                    allow(vec![istio_rule(authorization_source(a), op)]),
                )?);
            }
        }
        let hosts = external_hosts(m, ns);
        if mesh.outbound_traffic == OutboundTraffic::RegistryOnly {
            let mut egress = vec!["./*".to_owned(), format!("{ISTIO_NS}/*")];
            egress.extend(
                destinations(ns, group(&from, ns))
                    .iter()
                    .map(|d| format!("{d}/*")),
            );
            out.push(custom(
                net,
                "Sidecar",
                inner_meta(m, ns, "default"),
                SidecarSpec {
                    egress: vec![SidecarEgress { hosts: egress }],
                    outbound_traffic_policy: OutboundPolicy {
                        mode: "REGISTRY_ONLY",
                    },
                },
            )?);
        }
        for h in &hosts {
            let wildcard = h.starts_with("*.");
            let name = format!("external-{}", host_slug(h));
            out.push(custom(
                net,
                "ServiceEntry",
                inner_meta(m, ns, &name),
                // A wildcard host cannot be resolved by DNS; Envoy forwards to
                // the address the client resolved instead.
                ServiceEntrySpec::external_tls(h, if wildcard { "NONE" } else { "DNS" }),
            )?);
        }
        // With REGISTRY_ONLY, Envoy drops traffic to any address the registry does
        // not know, so each egress flow to a CIDR gets a ServiceEntry for its block
        // and TCP ports (the NetworkPolicy still enforces `except`).
        if mesh.outbound_traffic == OutboundTraffic::RegistryOnly {
            for (block, ports) in cidr_egress(ns, group(&from, ns)) {
                let slug = names::slug(&block, 40);
                out.push(custom(
                    net,
                    "ServiceEntry",
                    inner_meta(m, ns, &format!("cidr-{slug}")),
                    ServiceEntrySpec {
                        hosts: vec![format!("cidr-{slug}.external")],
                        addresses: vec![block.clone()],
                        location: "MESH_EXTERNAL",
                        ports: ports
                            .iter()
                            .map(|p| SePort {
                                number: *p,
                                name: format!("tcp-{p}"),
                                protocol: "TCP",
                            })
                            .collect(),
                        resolution: "NONE",
                        export_to: vec![".".to_owned()],
                    },
                )?);
            }
        }
        // The mesh side of the egress gateway: TLS for each host goes to the
        // gateway (the NetworkPolicies let pods reach nothing else outside).
        let via_gateway = gateway_hosts(m, ns);
        if !via_gateway.is_empty() {
            out.push(custom(
                net,
                "DestinationRule",
                inner_meta(m, ns, "istio-egressgateway"),
                DestinationRuleSpec {
                    host: EGRESS_GATEWAY_SVC,
                    subsets: vec![Subset {
                        name: EGRESS_SUBSET,
                    }],
                    export_to: vec![".".to_owned()],
                },
            )?);
        }
        for h in &via_gateway {
            out.push(custom(
                net,
                "VirtualService",
                inner_meta(m, ns, &format!("external-{}", host_slug(h))),
                VirtualServiceSpec {
                    hosts: vec![h.clone()],
                    gateways: vec!["mesh".to_owned()],
                    export_to: vec![".".to_owned()],
                    tls: vec![TlsRoute {
                        matches: vec![TlsMatch {
                            gateways: vec!["mesh".to_owned()],
                            port: 443,
                            sni_hosts: vec![h.clone()],
                        }],
                        route: vec![RouteDestination {
                            destination: Destination {
                                host: EGRESS_GATEWAY_SVC.to_owned(),
                                subset: Some(EGRESS_SUBSET),
                                port: Some(PortSelector { number: 443 }),
                            },
                        }],
                    }],
                    ..VirtualServiceSpec::default()
                },
            )?);
        }
        services_istio(m, ns, &nm, out)?;
    }
    egress_gateway(m, out)
}

/// The gateway side: one Gateway on the egress gateway pods, TLS passthrough on
/// 443 for every host some namespace routes through it, and per host a
/// ServiceEntry (the gateway's own view of the host) and a VirtualService from
/// the gateway to the host. All in the mesh system namespace, visible only there.
pub(super) fn egress_gateway(m: &Model, out: &mut Vec<Manifest>) -> Result<(), RenderError> {
    let net = "networking.istio.io/v1";
    let hosts: BTreeSet<String> = m
        .profile
        .namespaces
        .iter()
        .flat_map(|ns| gateway_hosts(m, ns))
        .collect();
    if hosts.is_empty() {
        return Ok(());
    }
    out.push(custom(
        net,
        "Gateway",
        meta(EGRESS_GATEWAY, Some(ISTIO_NS)),
        GatewaySpec {
            selector: BTreeMap::from([(
                EGRESS_GATEWAY_LABEL.0.to_owned(),
                EGRESS_GATEWAY_LABEL.1.to_owned(),
            )]),
            servers: vec![Server {
                port: SePort {
                    number: 443,
                    name: "tls".to_owned(),
                    protocol: "TLS",
                },
                // `./host`: only VirtualServices of this namespace may bind to it.
                hosts: hosts.iter().map(|h| format!("./{h}")).collect(),
                tls: ServerTls {
                    mode: "PASSTHROUGH",
                },
            }],
        },
    )?);
    for h in &hosts {
        let name = format!("egress-{}", host_slug(h));
        out.push(custom(
            net,
            "ServiceEntry",
            meta(&name, Some(ISTIO_NS)),
            ServiceEntrySpec::external_tls(h, "DNS"),
        )?);
        out.push(custom(
            net,
            "VirtualService",
            meta(&name, Some(ISTIO_NS)),
            VirtualServiceSpec {
                hosts: vec![h.clone()],
                gateways: vec![EGRESS_GATEWAY.to_owned()],
                export_to: vec![".".to_owned()],
                tls: vec![TlsRoute {
                    matches: vec![TlsMatch {
                        gateways: vec![EGRESS_GATEWAY.to_owned()],
                        port: 443,
                        sni_hosts: vec![h.clone()],
                    }],
                    route: vec![RouteDestination {
                        destination: Destination {
                            host: h.clone(),
                            subset: None,
                            port: Some(PortSelector { number: 443 }),
                        },
                    }],
                }],
                ..VirtualServiceSpec::default()
            },
        )?);
    }
    Ok(())
}

/// `namespaces[].mesh.services`: one VirtualService per Service, a route per
/// listed port with its timeout and retries, then a catch-all route without
/// either so the Service's other ports keep Istio's defaults.
pub(super) fn services_istio(
    m: &Model,
    ns: &NamespaceSpec,
    nm: &NamespaceMesh,
    out: &mut Vec<Manifest>,
) -> Result<(), RenderError> {
    let default_timeout = m
        .profile
        .mesh
        .as_ref()
        .and_then(|x| x.defaults.as_ref())
        .and_then(|d| d.timeout.clone());
    let mut by_name: BTreeMap<&str, Vec<&crate::input::profile::MeshService>> = BTreeMap::new();
    for svc in &nm.services {
        by_name.entry(svc.name.as_str()).or_default().push(svc);
    }
    for (name, mut list) in by_name {
        list.sort_by_key(|s| s.port);
        let host = format!("{name}.{}.svc.cluster.local", ns.name);
        let mut http: Vec<HttpRoute> = list
            .iter()
            .map(|svc| HttpRoute {
                matches: vec![HttpMatch { port: svc.port }],
                route: vec![RouteDestination {
                    destination: Destination {
                        host: host.clone(),
                        subset: None,
                        port: Some(PortSelector { number: svc.port }),
                    },
                }],
                timeout: svc.timeout.clone().or_else(|| default_timeout.clone()),
                retries: svc.retries.as_ref().map(|r| HttpRetry {
                    attempts: r.attempts,
                    per_try_timeout: r.per_try_timeout.clone(),
                }),
            })
            .collect();
        http.push(HttpRoute {
            matches: vec![],
            route: vec![RouteDestination {
                destination: Destination {
                    host: host.clone(),
                    subset: None,
                    port: None,
                },
            }],
            timeout: None,
            retries: None,
        });
        out.push(custom(
            "networking.istio.io/v1",
            "VirtualService",
            inner_meta(m, ns, &format!("service-{name}")),
            VirtualServiceSpec {
                hosts: vec![host],
                http,
                ..VirtualServiceSpec::default()
            },
        )?);
    }
    Ok(())
}

/// The istiod Helm values kharden needs, carried in a ConfigMap the operator
/// applies with `helm upgrade istiod istio/istiod -f <values.yaml>`. Mesh config
/// is an install-time setting, so it cannot be a CR.
pub(super) fn istio_values(m: &Model) -> Result<Manifest, RenderError> {
    let Some(mesh) = &m.profile.mesh else {
        return Err(RenderError::internal("no mesh"));
    };
    let mut mesh_config = serde_json::Map::new();
    mesh_config.insert(
        "outboundTrafficPolicy".to_owned(),
        serde_json::json!({"mode": match mesh.outbound_traffic {
            OutboundTraffic::RegistryOnly => "REGISTRY_ONLY",
            OutboundTraffic::AllowAny => "ALLOW_ANY",
        }}),
    );
    if let Some(r) = mesh.defaults.as_ref().and_then(|d| d.retries.as_ref()) {
        let mut p = serde_json::Map::new();
        p.insert("attempts".to_owned(), r.attempts.into());
        if let Some(t) = &r.per_try_timeout {
            p.insert("perTryTimeout".to_owned(), t.clone().into());
        }
        mesh_config.insert("defaultHttpRetryPolicy".to_owned(), p.into());
    }
    let proxy = super::sidecar::resources(m);
    let values = serde_json::json!({
        // Pod Security `restricted` forbids the NET_ADMIN init container that
        // redirects traffic; with the Istio CNI plugin the node does it instead.
        "pilot": {"cni": {"enabled": true}},
        "meshConfig": mesh_config,
        "global": {"proxy": {
            // Sized to the meshed LimitRanges (see `sidecar`), not the chart's 2 CPU / 1Gi.
            "resources": {"requests": proxy.requests(), "limits": proxy.limits()},
            // The injection template copies this into the istio-proxy (and
            // init) container's securityContext and sets none by default
            // (`seccompProfile: {}`). Pod Security `restricted` wants a seccomp
            // profile on every container unless the pod sets one: a pod that
            // sets it per container is refused once the sidecar joins it.
            // Linkerd's proxy template sets RuntimeDefault itself.
            "seccompProfile": {"type": "RuntimeDefault"},
        }},
        // Pods of the Gateways Istio deploys for Gateway API objects
        // (kube-gateway.yaml, pod level), for the same reason.
        "gateways": {"seccompProfile": {"type": "RuntimeDefault"}},
    });
    let mut md = meta("kharden-istio-values", Some(ISTIO_NS));
    md.annotations = Some(BTreeMap::from([(
        "kharden.dev/usage".to_owned(),
        "istiod Helm values: helm upgrade istiod istio/istiod -n istio-system -f values.yaml; needs the istio-cni chart installed (Pod Security restricted forbids the NET_ADMIN init container)".to_owned(),
    )]));
    Manifest::k8s(&ConfigMap {
        metadata: md,
        data: Some(BTreeMap::from([(
            "values.yaml".to_owned(),
            crate::bundle::manifest::to_yaml(&values)?,
        )])),
        ..ConfigMap::default()
    })
}
