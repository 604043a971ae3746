//! The service mesh: Istio (mTLS, L7 authorization, egress scoping, access
//! logging) or Linkerd (the same intent in its policy CRDs), rendered as typed
//! serde structs of our own and checked against the strict CRD schemas.
//!
//! The rule that ties L7 to L4: what the NetworkPolicies allow by default (same
//! namespace, the ingress controller, the mesh's ingress gateway) and every flow
//! the profile grants, L7 allows too, so turning the mesh on never breaks a
//! granted flow. `mesh.authorization` rules are the exception: a source named
//! there gets only what its rules say (that is the point of an L7 rule).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;

use crate::concern::namespace::inner_meta;
use crate::concern::network::{
    self, Declared, End, Flow, ISTIO_NS, LINKERD_NS, PortNum, PortSpec, denies,
};
use crate::diag::Diagnostic;
use crate::manifest::{Manifest, meta};
use crate::model::{Model, label};
use crate::names;
use crate::profile::{
    Direction, MeshAuthorization, MeshProvider, MtlsMode, NamespaceSpec, OutboundTraffic,
};
use crate::source::FieldPath;

/// Linkerd's default trust domain; identities are `<sa>.<ns>.serviceaccount.identity.linkerd.<domain>`.
const LINKERD_DOMAIN: &str = "cluster.local";

// ---- validation ----

/// A duration such as `15s`, `500ms`, `1m30s`.
pub fn parse_duration(s: &str) -> Result<(), String> {
    let mut rest = s;
    if rest.is_empty() {
        return Err("it is empty".to_owned());
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n == 0 {
            return Err(format!("`{s}` is not a duration"));
        }
        rest = &rest[n..];
        let u = ["ms", "h", "m", "s"]
            .into_iter()
            .find(|u| rest.starts_with(u))
            .ok_or_else(|| format!("`{s}` needs a unit (ms, s, m, h)"))?;
        rest = &rest[u.len()..];
    }
    Ok(())
}

fn host(out: &mut Vec<Diagnostic>, path: &FieldPath, h: &str) {
    let bare = h.strip_prefix("*.").unwrap_or(h);
    if names::dns_subdomain(bare).is_err() || !bare.contains('.') {
        out.push(
            Diagnostic::error(
                path.clone(),
                format!("`{h}` is not a fully qualified host name"),
            )
            .hint("write a host such as api.github.com (a leading `*.` is allowed)"),
        );
    }
}

fn provider(m: &Model) -> MeshProvider {
    m.profile
        .mesh
        .as_ref()
        .map_or(MeshProvider::None, |x| x.provider)
}

/// The namespace of an Istio-style principal `<domain>/ns/<ns>/sa/<sa>`, and the SA.
fn principal_parts(p: &str) -> Option<(&str, &str)> {
    let (_, rest) = p.split_once("/ns/")?;
    let (ns, sa) = rest.split_once("/sa/")?;
    (!ns.is_empty() && !sa.is_empty() && !sa.contains('/')).then_some((ns, sa))
}

pub fn validate(m: &Model, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    let linkerd = provider(m) == MeshProvider::Linkerd;
    if let Some(mesh) = &p.mesh {
        let base = FieldPath::root().key("mesh");
        for (i, h) in mesh.allowed_external_hosts.iter().enumerate() {
            host(out, &base.key("allowedExternalHosts").index(i), h);
        }
        if let Some(d) = &mesh.defaults {
            if let Some(t) = &d.timeout
                && let Err(e) = parse_duration(t)
            {
                out.push(
                    Diagnostic::error(base.key("defaults").key("timeout"), e)
                        .hint("write e.g. `15s`"),
                );
            }
            if let Some(r) = &d.retries
                && let Some(t) = &r.per_try_timeout
                && let Err(e) = parse_duration(t)
            {
                out.push(
                    Diagnostic::error(base.key("defaults").key("retries").key("perTryTimeout"), e)
                        .hint("write e.g. `5s`"),
                );
            }
        }
        if linkerd {
            if mesh.outbound_traffic == OutboundTraffic::RegistryOnly {
                out.push(
                    Diagnostic::error(
                        base.key("outboundTraffic"),
                        "Linkerd cannot restrict outbound traffic to listed hosts".to_owned(),
                    )
                    .hint("set `mesh.outboundTraffic: allowAny` (NetworkPolicies still limit egress), or use `provider: istio`"),
                );
            }
            if !mesh.allowed_external_hosts.is_empty() {
                out.push(
                    Diagnostic::error(
                        base.key("allowedExternalHosts"),
                        "Linkerd cannot allow-list external hosts".to_owned(),
                    )
                    .hint("remove `allowedExternalHosts` and allow the addresses with an egress `cidr` flow, or use `provider: istio`"),
                );
            }
        }
    }
    for (i, ns) in p.namespaces.iter().enumerate() {
        let Some(nm) = &ns.mesh else { continue };
        let base = FieldPath::root().key("namespaces").index(i).key("mesh");
        if provider(m) == MeshProvider::None {
            out.push(
                Diagnostic::error(
                    base.clone(),
                    format!(
                        "namespace `{}` has mesh settings, but no mesh is enabled",
                        ns.name
                    ),
                )
                .hint("set `mesh.provider` to istio or linkerd, or remove the namespace's `mesh`"),
            );
        }
        for (j, h) in nm.allowed_external_hosts.iter().enumerate() {
            host(out, &base.key("allowedExternalHosts").index(j), h);
        }
        if linkerd && !nm.allowed_external_hosts.is_empty() {
            out.push(
                Diagnostic::error(
                    base.key("allowedExternalHosts"),
                    "Linkerd cannot allow-list external hosts".to_owned(),
                )
                .hint("remove it and allow the addresses with an egress `cidr` flow, or use `mesh.provider: istio`"),
            );
        }
        if linkerd && nm.mtls == Some(MtlsMode::Permissive) {
            out.push(
                Diagnostic::error(
                    base.key("mtls"),
                    "Linkerd has no permissive mTLS mode to set per namespace".to_owned(),
                )
                .hint("meshed Linkerd traffic is always mTLS; remove `mtls`, or use `mesh.provider: istio` for a migration phase"),
            );
        }
        if !nm.authorization.is_empty() && !denies(m, ns, Direction::Ingress) {
            out.push(
                Diagnostic::error(
                    base.key("authorization"),
                    format!(
                        "namespace `{}` does not deny ingress, so its authorization rules would restrict nothing",
                        ns.name
                    ),
                )
                .hint("add `ingress` to the namespace's `defaultDeny`, or remove the rules"),
            );
        }
        for (j, a) in nm.authorization.iter().enumerate() {
            let ap = base.key("authorization").index(j);
            if a.from.namespace.is_none() && a.from.principals.is_empty() {
                out.push(
                    Diagnostic::error(
                        ap.key("from"),
                        "an authorization rule names no source".to_owned(),
                    )
                    .hint("give `namespace` or `principals`"),
                );
            }
            if let Some(n) = &a.from.namespace {
                label(out, &ap.key("from").key("namespace"), n);
            }
            for (k, port) in a.ports.iter().enumerate() {
                if port.parse::<u16>().map_or(true, |n| n == 0) {
                    out.push(Diagnostic::error(
                        ap.key("ports").index(k),
                        format!("`{port}` is not a port number"),
                    ));
                }
            }
            if linkerd {
                if !a.methods.is_empty() || !a.paths.is_empty() {
                    out.push(
                        Diagnostic::error(
                            ap.clone(),
                            "Linkerd authorization here is by port and identity; methods and paths are not supported".to_owned(),
                        )
                        .hint("remove `methods` and `paths`, or use `mesh.provider: istio`"),
                    );
                }
                for (k, pr) in a.from.principals.iter().enumerate() {
                    if principal_parts(pr).is_none() {
                        out.push(
                            Diagnostic::error(
                                ap.key("from").key("principals").index(k),
                                format!(
                                    "principal `{pr}` does not name a namespace and service account"
                                ),
                            )
                            .hint("write `cluster.local/ns/<namespace>/sa/<service account>`"),
                        );
                    }
                }
            }
        }
    }
    if linkerd {
        // A Linkerd Server takes one port (number or name): ranges have no equivalent.
        // Positions by name, looked up per flow (a scan per flow is quadratic).
        let index: BTreeMap<&str, usize> = p
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        for f in network::flows(m) {
            let End::Pods { namespace, .. } = &f.dst else {
                continue;
            };
            if !index.contains_key(namespace.as_str()) {
                continue;
            }
            if f.ports
                .iter()
                .any(|p| matches!(p.port, PortNum::Range(..)) && p.protocol == "TCP")
            {
                let (list, idx) = match f.declared {
                    Declared::Ingress => ("ingress", f.index),
                    Declared::Egress => ("egress", f.index),
                };
                let owner = index.get(f.owner.as_str()).copied().unwrap_or_default();
                out.push(
                    Diagnostic::error(
                        FieldPath::root()
                            .key("namespaces")
                            .index(owner)
                            .key("network")
                            .key(list)
                            .index(idx)
                            .key("ports"),
                        "Linkerd cannot authorize a port range (a Server takes one port)"
                            .to_owned(),
                    )
                    .hint("list the ports one by one, or use `mesh.provider: istio`"),
                );
            }
        }
    }
}

// ---- namespace metadata ----

/// Labels the mesh needs on a tenant Namespace (sidecar injection).
pub fn namespace_labels(m: &Model) -> BTreeMap<String, String> {
    match provider(m) {
        MeshProvider::Istio => {
            BTreeMap::from([("istio-injection".to_owned(), "enabled".to_owned())])
        }
        _ => BTreeMap::new(),
    }
}

/// Annotations the mesh needs on a tenant Namespace (Linkerd injection, default deny, access log).
pub fn namespace_annotations(m: &Model) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if provider(m) == MeshProvider::Linkerd {
        a.insert("linkerd.io/inject".to_owned(), "enabled".to_owned());
        a.insert(
            "config.linkerd.io/default-inbound-policy".to_owned(),
            "deny".to_owned(),
        );
        if m.profile.mesh.as_ref().is_some_and(|x| x.access_logging) {
            a.insert("config.linkerd.io/access-log".to_owned(), "json".to_owned());
        }
    }
    a
}

// ---- shared: who may reach a namespace ----

/// A source the L4 layer lets into a namespace, in mesh terms.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Namespace(String),
    Block { cidr: String, except: Vec<String> },
}

/// One L4 grant into a namespace, named like its NetworkPolicy.
#[derive(Debug, Clone)]
struct Grant {
    name: String,
    source: Source,
    /// TCP ports only (the mesh carries TCP); empty = all ports.
    ports: Vec<PortSpec>,
}

/// Flows grouped by the namespace at one end (pod ends only), in profile order.
/// Each namespace reads its own group: scanning every flow for every namespace
/// is quadratic and dominated rendering at 10,000 namespaces.
fn flows_by(flows: &[Flow], end: fn(&Flow) -> &End) -> BTreeMap<&str, Vec<&Flow>> {
    let mut out: BTreeMap<&str, Vec<&Flow>> = BTreeMap::new();
    for f in flows {
        if let End::Pods { namespace, .. } = end(f) {
            out.entry(namespace.as_str()).or_default().push(f);
        }
    }
    out
}

/// The group of `ns` in a `flows_by` map.
fn group<'a>(by: &'a BTreeMap<&str, Vec<&'a Flow>>, ns: &NamespaceSpec) -> &'a [&'a Flow] {
    by.get(ns.name.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// What L4 lets into `ns`, minus sources that `mesh.authorization` governs.
/// `flows` may be all flows or only those into `ns`.
fn grants(m: &Model, ns: &NamespaceSpec, flows: &[&Flow]) -> Vec<Grant> {
    let d = &m.profile.defaults.network;
    let mut out = Vec::new();
    if !denies(m, ns, Direction::Ingress) {
        return out;
    }
    let explicit: BTreeSet<String> = ns
        .mesh
        .iter()
        .flat_map(|x| &x.authorization)
        .flat_map(|a| {
            a.from.namespace.iter().cloned().chain(
                a.from
                    .principals
                    .iter()
                    .filter_map(|p| principal_parts(p).map(|(n, _)| n.to_owned())),
            )
        })
        .collect();
    let mut push = |name: String, source: Source, ports: Vec<PortSpec>| {
        if let Source::Namespace(n) = &source
            && explicit.contains(n)
        {
            return;
        }
        out.push(Grant {
            name,
            source,
            ports,
        });
    };
    if d.allow_same_namespace {
        push(
            "allow-same-namespace".to_owned(),
            Source::Namespace(ns.name.clone()),
            vec![],
        );
    }
    if let Some(ic) = &d.allow_from_ingress_controller {
        push(
            "allow-from-ingress-controller".to_owned(),
            Source::Namespace(ic.namespace.clone()),
            vec![],
        );
    }
    if provider(m) == MeshProvider::Istio {
        push(
            "allow-from-istio-ingressgateway".to_owned(),
            Source::Namespace(ISTIO_NS.to_owned()),
            vec![],
        );
    }
    if let Some((End::Pods { namespace, .. }, port)) = network::logging_target(m)
        && namespace == ns.name
        && let Some(l) = &m.profile.logging
    {
        push(
            "allow-from-log-collector".to_owned(),
            Source::Namespace(l.namespace.clone()),
            vec![PortSpec {
                port: PortNum::Number(port),
                protocol: "TCP".to_owned(),
            }],
        );
    }
    for f in flows {
        let End::Pods { namespace, .. } = &f.dst else {
            continue;
        };
        if *namespace != ns.name {
            continue;
        }
        let tcp: Vec<PortSpec> = f
            .ports
            .iter()
            .filter(|p| p.protocol == "TCP")
            .cloned()
            .collect();
        if !f.ports.is_empty() && tcp.is_empty() {
            continue; // UDP/SCTP only: the mesh does not carry it.
        }
        let name = match f.declared {
            Declared::Ingress => format!("allow-ingress-{}", f.index),
            Declared::Egress => format!("allow-ingress-from-{}-{}", f.owner, f.index),
        };
        let source = match &f.src {
            End::Pods { namespace, .. } => Source::Namespace(namespace.clone()),
            End::Block { cidr, except } => Source::Block {
                cidr: cidr.clone(),
                except: except.clone(),
            },
        };
        push(name, source, tcp);
    }
    out
}

/// Namespaces `ns` may send to (for the Sidecar's egress hosts). `flows` may be
/// all flows or only those from `ns`.
fn destinations(ns: &NamespaceSpec, flows: &[&Flow]) -> BTreeSet<String> {
    flows
        .iter()
        .filter_map(|f| match (&f.src, &f.dst) {
            (End::Pods { namespace: s, .. }, End::Pods { namespace: d, .. })
                if *s == ns.name && *d != ns.name =>
            {
                Some(d.clone())
            }
            _ => None,
        })
        .collect()
}

/// Every external host a namespace may reach: its own plus the mesh-wide list.
fn external_hosts(m: &Model, ns: &NamespaceSpec) -> BTreeSet<String> {
    m.profile
        .mesh
        .iter()
        .flat_map(|x| &x.allowed_external_hosts)
        .chain(ns.mesh.iter().flat_map(|x| &x.allowed_external_hosts))
        .cloned()
        .collect()
}

// ---- Istio types (security.istio.io/v1, networking.istio.io/v1, telemetry.istio.io/v1) ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<'a, S: Serialize> {
    api_version: &'a str,
    kind: &'a str,
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: S,
}

#[derive(Serialize)]
struct PeerAuthenticationSpec {
    mtls: Mtls,
}

#[derive(Serialize)]
struct Mtls {
    mode: &'static str,
}

#[derive(Serialize, Default)]
struct AuthorizationPolicySpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rules: Vec<Rule>,
}

#[derive(Serialize, Default)]
struct Rule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    from: Vec<From>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to: Vec<To>,
}

#[derive(Serialize)]
struct From {
    source: IstioSource,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct IstioSource {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    namespaces: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    principals: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ip_blocks: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_ip_blocks: Vec<String>,
}

#[derive(Serialize)]
struct To {
    operation: Operation,
}

#[derive(Serialize, Default)]
struct Operation {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    methods: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    paths: Vec<String>,
    /// Strings, as the API wants them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SidecarSpec {
    egress: Vec<SidecarEgress>,
    outbound_traffic_policy: OutboundPolicy,
}

#[derive(Serialize)]
struct SidecarEgress {
    hosts: Vec<String>,
}

#[derive(Serialize)]
struct OutboundPolicy {
    mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceEntrySpec {
    hosts: Vec<String>,
    location: &'static str,
    ports: Vec<SePort>,
    resolution: &'static str,
    export_to: Vec<String>,
}

#[derive(Serialize)]
struct SePort {
    number: u16,
    name: &'static str,
    protocol: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TelemetrySpec {
    access_logging: Vec<AccessLogging>,
}

#[derive(Serialize)]
struct AccessLogging {
    providers: Vec<Provider>,
}

#[derive(Serialize)]
struct Provider {
    name: &'static str,
}

fn cr<S: Serialize>(
    api_version: &str,
    kind: &str,
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: S,
) -> Result<Manifest, String> {
    let name = metadata.name.clone().unwrap_or_default();
    let ns = metadata.namespace.clone();
    Manifest::new(
        kind,
        ns.as_deref(),
        &name,
        &Object {
            api_version,
            kind,
            metadata,
            spec,
        },
    )
}

fn mode(m: MtlsMode) -> &'static str {
    match m {
        MtlsMode::Strict => "STRICT",
        MtlsMode::Permissive => "PERMISSIVE",
    }
}

/// Istio AuthorizationPolicy ports: numbers only; a grant with a named port or
/// a range keeps no port restriction at L7 (L4 still holds it to its ports).
fn istio_ports(ports: &[PortSpec]) -> Vec<String> {
    let nums: Vec<String> = ports
        .iter()
        .filter_map(|p| match p.port {
            PortNum::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    if nums.len() == ports.len() {
        nums
    } else {
        vec![]
    }
}

fn istio_rule(source: IstioSource, op: Operation) -> Rule {
    let empty = op.methods.is_empty() && op.paths.is_empty() && op.ports.is_empty();
    Rule {
        from: vec![From { source }],
        to: if empty {
            vec![]
        } else {
            vec![To { operation: op }]
        },
    }
}

fn allow(rules: Vec<Rule>) -> AuthorizationPolicySpec {
    AuthorizationPolicySpec {
        action: Some("ALLOW"),
        rules,
    }
}

fn authorization_source(a: &MeshAuthorization) -> IstioSource {
    IstioSource {
        namespaces: a.from.namespace.iter().cloned().collect(),
        principals: a.from.principals.clone(),
        ..IstioSource::default()
    }
}

fn render_istio(m: &Model, out: &mut Vec<Manifest>) -> Result<(), String> {
    let Some(mesh) = &m.profile.mesh else {
        return Ok(());
    };
    let flows = network::flows(m);
    let (into, from) = (flows_by(&flows, |f| &f.dst), flows_by(&flows, |f| &f.src));
    let sec = "security.istio.io/v1";
    let net = "networking.istio.io/v1";
    // Mesh-wide mTLS: a selector-less PeerAuthentication in the root namespace.
    out.push(cr(
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
        out.push(cr(
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
    for ns in &m.profile.namespaces {
        let nm = ns.mesh.clone().unwrap_or_default();
        if let Some(mt) = nm.mtls {
            out.push(cr(
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
            out.push(cr(
                sec,
                "AuthorizationPolicy",
                inner_meta(m, ns, "allow-nothing"),
                AuthorizationPolicySpec::default(),
            )?);
            for g in grants(m, ns, group(&into, ns)) {
                let source = match &g.source {
                    Source::Namespace(n) => IstioSource {
                        namespaces: vec![n.clone()],
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
                out.push(cr(
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
                out.push(cr(
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
            out.push(cr(
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
            let name = format!(
                "external-{}",
                h.replace("*.", "wildcard.").replace('.', "-")
            );
            out.push(cr(
                net,
                "ServiceEntry",
                inner_meta(m, ns, &name),
                ServiceEntrySpec {
                    hosts: vec![h.clone()],
                    location: "MESH_EXTERNAL",
                    ports: vec![SePort {
                        number: 443,
                        name: "tls",
                        protocol: "TLS",
                    }],
                    // A wildcard host cannot be resolved by DNS; Envoy forwards to
                    // the address the client resolved instead.
                    resolution: if wildcard { "NONE" } else { "DNS" },
                    export_to: vec![".".to_owned()],
                },
            )?);
        }
    }
    Ok(())
}

/// The istiod Helm values kharden needs, carried in a ConfigMap the operator
/// applies with `helm upgrade istiod istio/istiod -f <values.yaml>`. Mesh config
/// is an install-time setting, so it cannot be a CR.
fn istio_values(m: &Model) -> Result<Manifest, String> {
    let Some(mesh) = &m.profile.mesh else {
        return Err("internal error: no mesh; this is a bug in kharden".to_owned());
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
    let values = serde_json::json!({
        // Pod Security `restricted` forbids the NET_ADMIN init container that
        // redirects traffic; with the Istio CNI plugin the node does it instead.
        "pilot": {"cni": {"enabled": true}},
        "meshConfig": mesh_config,
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
            crate::manifest::to_yaml(&values)?,
        )])),
        ..ConfigMap::default()
    })
}

// ---- Linkerd types (policy.linkerd.io: Server v1beta3, the rest v1alpha1) ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerSpec {
    pod_selector: Selector,
    port: serde_json::Value,
    proxy_protocol: &'static str,
    access_policy: &'static str,
}

#[derive(Serialize)]
struct Selector {}

#[derive(Serialize)]
struct MeshTlsSpec {
    identities: Vec<String>,
}

#[derive(Serialize)]
struct NetworkAuthSpec {
    networks: Vec<Network>,
}

#[derive(Serialize)]
struct Network {
    cidr: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    except: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkerdAuthzSpec {
    target_ref: Ref,
    required_authentication_refs: Vec<Ref>,
}

#[derive(Serialize)]
struct Ref {
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
    kind: &'static str,
    name: String,
}

const LPOL: &str = "policy.linkerd.io";

fn server_name(p: &PortNum) -> Option<String> {
    match p {
        PortNum::Number(n) => Some(format!("port-{n}")),
        PortNum::Named(n) => Some(format!("port-{n}")),
        PortNum::Range(..) => None,
    }
}

fn render_linkerd(m: &Model, out: &mut Vec<Manifest>) -> Result<(), String> {
    let flows = network::flows(m);
    let into = flows_by(&flows, |f| &f.dst);
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
            crate::manifest::to_yaml(&values)?,
        )])),
        ..ConfigMap::default()
    })?);
    for ns in &m.profile.namespaces {
        if !denies(m, ns, Direction::Ingress) {
            continue;
        }
        let nm = ns.mesh.clone().unwrap_or_default();
        let grants = grants(m, ns, group(&into, ns));
        // One Server per TCP port any grant or rule names; all pods of the namespace.
        let mut ports: BTreeSet<PortNum> = grants
            .iter()
            .flat_map(|g| g.ports.iter().map(|p| p.port.clone()))
            .collect();
        for a in &nm.authorization {
            ports.extend(
                a.ports
                    .iter()
                    .filter_map(|p| p.parse::<u16>().ok().map(PortNum::Number)),
            );
        }
        for p in &ports {
            let Some(name) = server_name(p) else { continue };
            let port = match p {
                PortNum::Number(n) => serde_json::Value::from(*n),
                PortNum::Named(s) => serde_json::Value::from(s.clone()),
                PortNum::Range(..) => continue,
            };
            out.push(cr(
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
        let mut mesh_authn = |identities: Vec<String>, name: String| -> Result<Ref, String> {
            if !authns.contains_key(&name) {
                authns.insert(
                    name.clone(),
                    cr(
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
        for g in &grants {
            let authn = match &g.source {
                Source::Namespace(n) => mesh_authn(vec![ns_identity(n)], format!("namespace-{n}"))?,
                Source::Block { cidr, except } => {
                    let name = format!("{}-network", g.name);
                    out.push(cr(
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
            let ports = a
                .ports
                .iter()
                .filter_map(|p| p.parse::<u16>().ok().map(PortNum::Number))
                .collect();
            policies.push((format!("allow-rule-{j}"), ports, authn));
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
                out.push(cr(
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

/// What the rendering leaves to the operator, said on stderr rather than hidden.
pub fn notes(m: &Model) -> Vec<String> {
    let mut out = Vec::new();
    if provider(m) != MeshProvider::Istio {
        return out;
    }
    for ns in &m.profile.namespaces {
        if !external_hosts(m, ns).is_empty() && denies(m, ns, Direction::Egress) {
            out.push(format!(
                "note: namespace `{}` lists external hosts, but its NetworkPolicies deny egress to the internet; route them through an egress gateway or add an egress `cidr` flow (kharden renders no egress gateway yet)",
                ns.name
            ));
        }
    }
    if m.profile
        .mesh
        .as_ref()
        .and_then(|x| x.defaults.as_ref())
        .is_some_and(|d| d.timeout.is_some())
    {
        out.push("note: `mesh.defaults.timeout` has no mesh-wide Istio setting and the profile lists no services for VirtualServices; it is not rendered".to_owned());
    }
    out
}

pub fn render(m: &Model) -> Result<Vec<Manifest>, String> {
    let mut out = Vec::new();
    match provider(m) {
        MeshProvider::Istio => render_istio(m, &mut out)?,
        MeshProvider::Linkerd => render_linkerd(m, &mut out)?,
        MeshProvider::None => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{errors, object, render};

    const ISTIO: &str = "mesh: {provider: istio, accessLogging: true, allowedExternalHosts: [login.example.com]}\ndefaults:\n  network: {allowSameNamespace: true}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b}\n          ports: [8080/TCP, 53/UDP]\n    mesh:\n      mtls: permissive\n      allowedExternalHosts: [\"*.github.com\"]\n  - name: b\n    mesh:\n      authorization:\n        - from: {namespace: a}\n          methods: [GET]\n          ports: [\"9090\"]\n";

    #[test]
    fn istio_mtls_is_strict_mesh_wide_and_overridden_only_explicitly() {
        let objs = render(ISTIO);
        let pa = object(&objs, "istio-system/peerauthentication-default.yaml");
        assert_eq!(pa["apiVersion"], "security.istio.io/v1");
        assert_eq!(pa["spec"]["mtls"]["mode"], "STRICT");
        assert!(pa["spec"].get("selector").is_none());
        let a = object(&objs, "a/peerauthentication-default.yaml");
        assert_eq!(a["spec"]["mtls"]["mode"], "PERMISSIVE");
        assert!(
            !objs
                .iter()
                .any(|(p, _)| p == "b/peerauthentication-default.yaml")
        );
        let ns = object(&objs, "_cluster/namespace-a.yaml");
        assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
    }

    #[test]
    fn istio_l7_mirrors_l4_and_rules_replace_the_mirror_for_their_source() {
        let objs = render(ISTIO);
        let nothing = object(&objs, "a/authorizationpolicy-allow-nothing.yaml");
        assert_eq!(nothing["spec"], serde_json::json!({}));
        let same = object(&objs, "a/authorizationpolicy-allow-same-namespace.yaml");
        assert_eq!(
            same["spec"]["rules"][0]["from"][0]["source"]["namespaces"][0],
            "a"
        );
        // The L4 flow from b on 8080/TCP (53/UDP is not carried by the mesh).
        let flow = object(&objs, "a/authorizationpolicy-allow-ingress-0.yaml");
        assert_eq!(
            flow["spec"]["rules"][0]["to"][0]["operation"]["ports"],
            serde_json::json!(["8080"])
        );
        // b names `a` in an explicit rule: no mirror of an L4 grant for it, the rule instead.
        let rule = object(&objs, "b/authorizationpolicy-allow-rule-0.yaml");
        let op = &rule["spec"]["rules"][0]["to"][0]["operation"];
        assert_eq!(op["methods"][0], "GET");
        assert_eq!(op["ports"][0], "9090", "ports are strings");
        // The Sidecar of `b` sees `a`, which it may call at L4 (the egress half of a's flow).
        let sc = object(&objs, "b/sidecar-default.yaml");
        let hosts = &sc["spec"]["egress"][0]["hosts"];
        assert_eq!(*hosts, serde_json::json!(["./*", "istio-system/*", "a/*"]));
        assert_eq!(sc["spec"]["outboundTrafficPolicy"]["mode"], "REGISTRY_ONLY");
    }

    #[test]
    fn istio_service_entries_telemetry_and_values() {
        let objs = render(ISTIO);
        let se = object(&objs, "a/serviceentry-external-wildcard-github-com.yaml");
        assert_eq!(se["spec"]["resolution"], "NONE", "wildcards cannot use DNS");
        assert_eq!(se["spec"]["exportTo"], serde_json::json!(["."]));
        let se = object(&objs, "b/serviceentry-external-login-example-com.yaml");
        assert_eq!(se["spec"]["location"], "MESH_EXTERNAL");
        assert_eq!(se["spec"]["resolution"], "DNS");
        assert_eq!(se["spec"]["ports"][0]["protocol"], "TLS");
        let t = object(&objs, "istio-system/telemetry-mesh-default.yaml");
        assert_eq!(
            t["spec"]["accessLogging"][0]["providers"][0]["name"],
            "envoy"
        );
        let v = object(&objs, "istio-system/configmap-kharden-istio-values.yaml");
        let values: serde_json::Value =
            serde_saphyr::from_str(v["data"]["values.yaml"].as_str().unwrap()).unwrap();
        assert_eq!(values["pilot"]["cni"]["enabled"], true);
        assert_eq!(
            values["meshConfig"]["outboundTrafficPolicy"]["mode"],
            "REGISTRY_ONLY"
        );
    }

    #[test]
    fn linkerd_denies_by_default_and_authorizes_grants() {
        let objs = render(
            "mesh: {provider: linkerd, outboundTraffic: allowAny, accessLogging: true}\ndefaults:\n  network: {allowSameNamespace: true}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b}\n          ports: [8080/TCP]\n        - from: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n          ports: [http/TCP]\n  - name: b\n",
        );
        let ns = object(&objs, "_cluster/namespace-a.yaml");
        let ann = &ns["metadata"]["annotations"];
        assert_eq!(ann["config.linkerd.io/default-inbound-policy"], "deny");
        assert_eq!(ann["linkerd.io/inject"], "enabled");
        assert_eq!(ann["config.linkerd.io/access-log"], "json");
        let srv = object(&objs, "a/server-port-8080.yaml");
        assert_eq!(srv["apiVersion"], "policy.linkerd.io/v1beta3");
        assert_eq!(srv["spec"]["port"], 8080);
        assert_eq!(
            object(&objs, "a/server-port-http.yaml")["spec"]["port"],
            "http"
        );
        let ap = object(
            &objs,
            "a/authorizationpolicy-allow-ingress-0-port-8080.yaml",
        );
        assert_eq!(ap["spec"]["targetRef"]["kind"], "Server");
        assert_eq!(
            ap["spec"]["requiredAuthenticationRefs"][0]["name"],
            "namespace-b"
        );
        let id = object(&objs, "a/meshtlsauthentication-namespace-b.yaml");
        assert_eq!(
            id["spec"]["identities"][0],
            "*.b.serviceaccount.identity.linkerd.cluster.local"
        );
        let na = object(
            &objs,
            "a/networkauthentication-allow-ingress-1-network.yaml",
        );
        assert_eq!(na["spec"]["networks"][0]["except"][0], "10.1.0.0/16");
        let same = object(&objs, "a/authorizationpolicy-allow-same-namespace.yaml");
        assert_eq!(same["spec"]["targetRef"]["kind"], "Namespace");
    }

    #[test]
    fn linkerd_refuses_what_it_cannot_express() {
        let e = errors(
            "mesh: {provider: linkerd}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b}\n          ports: [8000-8100/TCP]\n    mesh:\n      mtls: permissive\n      authorization:\n        - from: {namespace: b}\n          paths: [\"/x\"]\n  - name: b\n",
        );
        assert!(
            e.contains("Linkerd cannot restrict outbound traffic to listed hosts"),
            "{e}"
        );
        assert!(e.contains("Linkerd has no permissive mTLS mode"), "{e}");
        assert!(e.contains("methods and paths are not supported"), "{e}");
        assert!(e.contains("Linkerd cannot authorize a port range"), "{e}");
    }

    #[test]
    fn mesh_settings_need_a_mesh() {
        let e =
            errors("namespaces:\n  - name: a\n    mesh: {allowedExternalHosts: [x.example.com]}\n");
        assert!(
            e.contains("namespace `a` has mesh settings, but no mesh is enabled"),
            "{e}"
        );
    }
}
