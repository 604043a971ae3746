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
    Direction, MeshAuthorization, MeshProvider, MtlsMode, NamespaceMesh, NamespaceSpec,
    OutboundTraffic,
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
        services(m, nm, &base, out);
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
                linkerd_route_checks(m, ns, a, &ap, out);
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

/// `namespaces[].mesh.services`: real names, one entry per (name, port), valid
/// durations, and an override that changes something.
fn services(m: &Model, nm: &NamespaceMesh, base: &FieldPath, out: &mut Vec<Diagnostic>) {
    let default_timeout = m
        .profile
        .mesh
        .as_ref()
        .and_then(|x| x.defaults.as_ref())
        .and_then(|d| d.timeout.as_ref());
    let mut seen = BTreeSet::new();
    for (j, svc) in nm.services.iter().enumerate() {
        let sp = base.key("services").index(j);
        if let Err(e) = names::dns_label(&svc.name) {
            out.push(Diagnostic::error(
                sp.key("name"),
                format!("`{}` is not a Service name: {e}", svc.name),
            ));
        }
        if svc.port == 0 {
            out.push(Diagnostic::error(
                sp.key("port"),
                "port 0 is not a Service port".to_owned(),
            ));
        }
        if !seen.insert((svc.name.clone(), svc.port)) {
            out.push(
                Diagnostic::error(
                    sp.clone(),
                    format!("service `{}` port {} is listed twice", svc.name, svc.port),
                )
                .hint("merge the two entries"),
            );
        }
        if let Some(t) = &svc.timeout
            && let Err(e) = parse_duration(t)
        {
            out.push(Diagnostic::error(sp.key("timeout"), e).hint("write e.g. `10s`"));
        }
        if let Some(r) = &svc.retries
            && let Some(t) = &r.per_try_timeout
            && let Err(e) = parse_duration(t)
        {
            out.push(
                Diagnostic::error(sp.key("retries").key("perTryTimeout"), e)
                    .hint("write e.g. `2s`"),
            );
        }
        if svc.timeout.is_none() && svc.retries.is_none() && default_timeout.is_none() {
            out.push(
                Diagnostic::error(
                    sp.clone(),
                    format!(
                        "service `{}` sets neither `timeout` nor `retries`, and `mesh.defaults.timeout` is unset, so the entry changes nothing",
                        svc.name
                    ),
                )
                .hint("give `timeout` or `retries`, or remove the entry"),
            );
        }
    }
}

/// Methods Linkerd's HTTPRoute can match (policy.linkerd.io/v1beta3 `method` enum).
const LINKERD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// An HTTPRoute holds at most 16 rules of at most 8 matches (the CRD's limits).
const LINKERD_MAX_MATCHES: usize = 16 * 8;

/// An Istio-style path (`/x` exact, `/x/*` prefix, `*` any) as a Linkerd path
/// match (`type`, `value`). Linkerd's `PathPrefix` matches whole segments, so
/// only prefixes that end in `/` translate; a suffix match has no equivalent.
fn linkerd_path(p: &str) -> Result<(&'static str, String), String> {
    if p == "*" {
        return Ok(("PathPrefix", "/".to_owned()));
    }
    if !p.starts_with('/') {
        return Err(format!("path `{p}` does not start with `/`"));
    }
    match p.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('/') && !prefix.contains('*') => {
            Ok(("PathPrefix", prefix.to_owned()))
        }
        Some(_) => Err(format!(
            "Linkerd matches path prefixes by whole segments, so `{p}` has no equivalent"
        )),
        None if p.contains('*') => Err(format!("Linkerd has no suffix or infix match for `{p}`")),
        None => Ok(("Exact", p.to_owned())),
    }
}

/// The TCP ports a Linkerd method/path rule applies to: its own `ports`, or,
/// when it has none, the ports on which L4 flows let its sources in (a Server,
/// and so a route, needs a port).
fn linkerd_rule_ports(m: &Model, ns: &NamespaceSpec, a: &MeshAuthorization) -> BTreeSet<PortNum> {
    if !a.ports.is_empty() {
        return a
            .ports
            .iter()
            .filter_map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(PortNum::Number)
            })
            .collect();
    }
    let sources: BTreeSet<String> = a
        .from
        .namespace
        .iter()
        .cloned()
        .chain(
            a.from
                .principals
                .iter()
                .filter_map(|p| principal_parts(p).map(|(n, _)| n.to_owned())),
        )
        .collect();
    network::flows(m)
        .into_iter()
        .filter(|f| matches!(&f.dst, End::Pods { namespace, .. } if *namespace == ns.name))
        .filter(|f| matches!(&f.src, End::Pods { namespace, .. } if sources.contains(namespace)))
        .flat_map(|f| f.ports)
        .filter(|p| p.protocol == "TCP" && !matches!(p.port, PortNum::Range(..)))
        .map(|p| p.port)
        .collect()
}

/// What a Linkerd HTTPRoute can express of a rule's `methods` and `paths`.
fn linkerd_route_checks(
    m: &Model,
    ns: &NamespaceSpec,
    a: &MeshAuthorization,
    ap: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    if a.methods.is_empty() && a.paths.is_empty() {
        return;
    }
    for (k, meth) in a.methods.iter().enumerate() {
        if !LINKERD_METHODS.contains(&meth.as_str()) {
            out.push(
                Diagnostic::error(
                    ap.key("methods").index(k),
                    format!("Linkerd cannot match method `{meth}`"),
                )
                .hint(format!("use one of {}", LINKERD_METHODS.join(", "))),
            );
        }
    }
    for (k, p) in a.paths.iter().enumerate() {
        if let Err(e) = linkerd_path(p) {
            out.push(
                Diagnostic::error(ap.key("paths").index(k), e)
                    .hint("write an exact path `/x`, a segment prefix `/x/*`, or `*`"),
            );
        }
    }
    if a.methods.len().max(1) * a.paths.len().max(1) > LINKERD_MAX_MATCHES {
        out.push(
            Diagnostic::error(
                ap.clone(),
                format!(
                    "Linkerd's HTTPRoute holds at most {LINKERD_MAX_MATCHES} method and path combinations"
                ),
            )
            .hint("split the rule"),
        );
    }
    if linkerd_rule_ports(m, ns, a).is_empty() {
        out.push(
            Diagnostic::error(
                ap.clone(),
                "a Linkerd method or path rule needs a port, and no flow lets its source in on a TCP port".to_owned(),
            )
            .hint("give `ports`, or add an ingress flow from the source with its ports"),
        );
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
    for g in crate::concern::gateway::routed_into(m, &ns.name) {
        push(
            crate::concern::gateway::grant_name(g),
            Source::Namespace(g.proxy_namespace().to_owned()),
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

/// The external hosts of `ns` that go through the Istio egress gateway: all but
/// wildcards (a TLS-passthrough gateway forwards to one resolved host; Istio
/// needs an SNI proxy for arbitrary wildcard hosts). Empty unless the mesh is Istio.
pub fn gateway_hosts(m: &Model, ns: &NamespaceSpec) -> BTreeSet<String> {
    if provider(m) != MeshProvider::Istio {
        return BTreeSet::new();
    }
    external_hosts(m, ns)
        .into_iter()
        .filter(|h| !h.starts_with("*."))
        .collect()
}

/// `api.github.com` -> `api-github-com`, `*.github.com` -> `wildcard-github-com`.
fn host_slug(h: &str) -> String {
    h.replace("*.", "wildcard.").replace('.', "-")
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<String>,
    location: &'static str,
    ports: Vec<SePort>,
    resolution: &'static str,
    export_to: Vec<String>,
}

#[derive(Serialize)]
struct SePort {
    number: u16,
    name: String,
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

/// The egress gateway's in-cluster Service and its pods' label (Istio's install defaults).
pub const EGRESS_GATEWAY_SVC: &str = "istio-egressgateway.istio-system.svc.cluster.local";
pub const EGRESS_GATEWAY_LABEL: (&str, &str) = ("istio", "egressgateway");
/// The one Gateway kharden renders on the egress gateway, and the subset tenants route to.
const EGRESS_GATEWAY: &str = "egress";
const EGRESS_SUBSET: &str = "external";

#[derive(Serialize)]
struct GatewaySpec {
    selector: BTreeMap<String, String>,
    servers: Vec<Server>,
}

#[derive(Serialize)]
struct Server {
    port: SePort,
    hosts: Vec<String>,
    tls: ServerTls,
}

#[derive(Serialize)]
struct ServerTls {
    mode: &'static str,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct VirtualServiceSpec {
    hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gateways: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    export_to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    http: Vec<HttpRoute>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tls: Vec<TlsRoute>,
}

#[derive(Serialize)]
struct TlsRoute {
    #[serde(rename = "match")]
    matches: Vec<TlsMatch>,
    route: Vec<RouteDestination>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TlsMatch {
    gateways: Vec<String>,
    port: u16,
    sni_hosts: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpRoute {
    #[serde(rename = "match", skip_serializing_if = "Vec::is_empty")]
    matches: Vec<HttpMatch>,
    route: Vec<RouteDestination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<HttpRetry>,
}

#[derive(Serialize)]
struct HttpMatch {
    port: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpRetry {
    attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_try_timeout: Option<String>,
}

#[derive(Serialize)]
struct RouteDestination {
    destination: Destination,
}

#[derive(Serialize)]
struct Destination {
    host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subset: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<PortSelector>,
}

#[derive(Serialize)]
struct PortSelector {
    number: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DestinationRuleSpec {
    host: &'static str,
    subsets: Vec<Subset>,
    export_to: Vec<String>,
}

#[derive(Serialize)]
struct Subset {
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
            let name = format!("external-{}", host_slug(h));
            out.push(cr(
                net,
                "ServiceEntry",
                inner_meta(m, ns, &name),
                ServiceEntrySpec {
                    hosts: vec![h.clone()],
                    addresses: Vec::new(),
                    location: "MESH_EXTERNAL",
                    ports: vec![SePort {
                        number: 443,
                        name: "tls".to_owned(),
                        protocol: "TLS",
                    }],
                    // A wildcard host cannot be resolved by DNS; Envoy forwards to
                    // the address the client resolved instead.
                    resolution: if wildcard { "NONE" } else { "DNS" },
                    export_to: vec![".".to_owned()],
                },
            )?);
        }
        // With REGISTRY_ONLY, Envoy drops traffic to any address the registry does
        // not know, so each egress flow to a CIDR gets a ServiceEntry for its block
        // and TCP ports (the NetworkPolicy still enforces `except`).
        if mesh.outbound_traffic == OutboundTraffic::RegistryOnly {
            for (block, ports) in cidr_egress(ns) {
                let slug = names::slug(&block, 40);
                out.push(cr(
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
            out.push(cr(
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
            out.push(cr(
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
fn egress_gateway(m: &Model, out: &mut Vec<Manifest>) -> Result<(), String> {
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
    out.push(cr(
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
        out.push(cr(
            net,
            "ServiceEntry",
            meta(&name, Some(ISTIO_NS)),
            ServiceEntrySpec {
                hosts: vec![h.clone()],
                addresses: Vec::new(),
                location: "MESH_EXTERNAL",
                ports: vec![SePort {
                    number: 443,
                    name: "tls".to_owned(),
                    protocol: "TLS",
                }],
                resolution: "DNS",
                export_to: vec![".".to_owned()],
            },
        )?);
        out.push(cr(
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
fn services_istio(
    m: &Model,
    ns: &NamespaceSpec,
    nm: &NamespaceMesh,
    out: &mut Vec<Manifest>,
) -> Result<(), String> {
    let default_timeout = m
        .profile
        .mesh
        .as_ref()
        .and_then(|x| x.defaults.as_ref())
        .and_then(|d| d.timeout.clone());
    let mut by_name: BTreeMap<&str, Vec<&crate::profile::MeshService>> = BTreeMap::new();
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
        out.push(cr(
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EgressNetworkSpec {
    traffic_policy: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkerdRouteSpec {
    parent_refs: Vec<Ref>,
    rules: Vec<LinkerdRouteRule>,
}

#[derive(Serialize)]
struct LinkerdRouteRule {
    matches: Vec<LinkerdMatch>,
}

#[derive(Serialize, Clone)]
struct LinkerdMatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<LinkerdPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
}

#[derive(Serialize, Clone)]
struct LinkerdPath {
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
}

/// Every (method, path) pair of a rule: one match each (a match ANDs its
/// method and path; the list ORs them). Validation refused what does not translate.
fn linkerd_matches(a: &MeshAuthorization) -> Vec<LinkerdMatch> {
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

fn server_ref(server: &str) -> Ref {
    Ref {
        group: Some(LPOL),
        kind: "Server",
        name: server.to_owned(),
    }
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
    let registry_only = m
        .profile
        .mesh
        .as_ref()
        .is_some_and(|x| x.outbound_traffic == OutboundTraffic::RegistryOnly);
    for ns in &m.profile.namespaces {
        if registry_only {
            // Namespace-local: the namespace's clients may send to no destination
            // outside the cluster networks that no route allows. The routes that
            // would allow a host (Gateway API TLSRoute) have no schema here, so
            // none is rendered: listed hosts stay closed (see `notes`).
            out.push(cr(
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
        let grants = grants(m, ns, group(&into, ns));
        // One Server per TCP port any grant or rule names; all pods of the namespace.
        let mut ports: BTreeSet<PortNum> = grants
            .iter()
            .flat_map(|g| g.ports.iter().map(|p| p.port.clone()))
            .collect();
        for a in &nm.authorization {
            if a.methods.is_empty() && a.paths.is_empty() {
                ports.extend(
                    a.ports
                        .iter()
                        .filter_map(|p| p.parse::<u16>().ok().map(PortNum::Number)),
                );
            } else {
                ports.extend(linkerd_rule_ports(m, ns, a));
            }
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
        let mut routed: BTreeSet<String> = BTreeSet::new();
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
            if a.methods.is_empty() && a.paths.is_empty() {
                let ports = a
                    .ports
                    .iter()
                    .filter_map(|p| p.parse::<u16>().ok().map(PortNum::Number))
                    .collect();
                policies.push((format!("allow-rule-{j}"), ports, authn));
                continue;
            }
            // Methods and paths: an HTTPRoute per port on its Server, and the
            // rule's clients authorized on that route only.
            let matches = linkerd_matches(a);
            for server in linkerd_rule_ports(m, ns, a).iter().filter_map(server_name) {
                let route = format!("rule-{j}-{server}");
                out.push(cr(
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
                out.push(cr(
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
            out.push(cr(
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

/// Whether `cidr` lies inside Linkerd's default `clusterNetworks` (its install
/// value), which an EgressNetwork without `networks` leaves alone.
fn in_linkerd_cluster_networks(cidr: &str) -> bool {
    const DEFAULT: [&str; 5] = [
        "10.0.0.0/8",
        "100.64.0.0/10",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fd00::/8",
    ];
    let Ok(c) = crate::net::Cidr::parse(cidr) else {
        return false;
    };
    DEFAULT
        .iter()
        .filter_map(|d| crate::net::Cidr::parse(d).ok())
        .any(|d| d.contains(&c))
}

/// What the rendering leaves to the operator, said on stderr rather than hidden.
/// Egress flows to CIDR blocks with their single TCP ports (what a ServiceEntry
/// can carry), by block.
fn cidr_egress(ns: &NamespaceSpec) -> BTreeMap<String, BTreeSet<u16>> {
    let mut out: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for f in ns.network.iter().flat_map(|n| &n.egress) {
        let Some(block) = &f.to.cidr else { continue };
        let ports = out.entry(block.clone()).or_default();
        for p in &f.ports {
            let (num, proto) = p.split_once('/').unwrap_or((p.as_str(), "TCP"));
            if proto == "TCP"
                && let Ok(n) = num.parse::<u16>()
            {
                ports.insert(n);
            }
        }
    }
    out.retain(|_, p| !p.is_empty());
    out
}

/// Egress flows a REGISTRY_ONLY mesh cannot carry: UDP, ranges, named ports or no ports.
fn cidr_egress_gaps(ns: &NamespaceSpec) -> Vec<String> {
    let mut gaps = Vec::new();
    for f in ns.network.iter().flat_map(|n| &n.egress) {
        let Some(block) = &f.to.cidr else { continue };
        if f.ports.is_empty() {
            gaps.push(format!("{block} (all ports)"));
        }
        for p in &f.ports {
            let (num, proto) = p.split_once('/').unwrap_or((p.as_str(), "TCP"));
            if proto != "TCP" || num.parse::<u16>().is_err() {
                gaps.push(format!("{block}:{p}"));
            }
        }
    }
    gaps
}

pub fn notes(m: &Model) -> Vec<String> {
    let mut out = Vec::new();
    let Some(mesh) = &m.profile.mesh else {
        return out;
    };
    let listed = m
        .profile
        .namespaces
        .iter()
        .any(|ns| ns.mesh.as_ref().is_some_and(|x| !x.services.is_empty()));
    match mesh.provider {
        MeshProvider::Istio => {
            for ns in &m.profile.namespaces {
                let gaps = cidr_egress_gaps(ns);
                if mesh.outbound_traffic == OutboundTraffic::RegistryOnly && !gaps.is_empty() {
                    out.push(format!(
                        "note: namespace `{}`: with `outboundTraffic: registryOnly` the mesh carries egress to CIDRs only for single TCP ports (as ServiceEntries); {} stay blocked by the sidecar although the NetworkPolicies allow them",
                        ns.name,
                        gaps.join(", ")
                    ));
                }
                let wildcards: Vec<String> = external_hosts(m, ns)
                    .into_iter()
                    .filter(|h| h.starts_with("*."))
                    .map(|h| format!("`{h}`"))
                    .collect();
                if !wildcards.is_empty() && denies(m, ns, Direction::Egress) {
                    out.push(format!(
                        "note: namespace `{}`: the wildcard host(s) {} cannot go through the egress gateway (TLS passthrough forwards to one resolved host; Istio needs an SNI proxy for wildcards), and its NetworkPolicies deny egress to the internet: add an egress `cidr` flow for their addresses, or list the exact hosts",
                        ns.name,
                        wildcards.join(", ")
                    ));
                }
            }
            if mesh.defaults.as_ref().is_some_and(|d| d.timeout.is_some()) {
                out.push(format!(
                    "note: `mesh.defaults.timeout` applies only to services listed in `namespaces[].mesh.services` (as their VirtualService route `timeout`): Istio's mesh config has no HTTP request timeout (`connectTimeout` is the TCP connect timeout) and a route's timeout is off unless set{}",
                    if listed { "" } else { "; the profile lists no services, so it is not rendered" }
                ));
            }
        }
        MeshProvider::Linkerd => {
            for ns in &m.profile.namespaces {
                let hosts = external_hosts(m, ns);
                if !hosts.is_empty() {
                    out.push(format!(
                        "note: namespace `{}`: Linkerd allows an external host only through a Gateway API TLSRoute (gateway.networking.k8s.io) attached to an EgressNetwork; kharden cannot validate that kind here and does not render it, so {} {}",
                        ns.name,
                        hosts.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "),
                        if mesh.outbound_traffic == OutboundTraffic::RegistryOnly {
                            "stay blocked by the namespace's `Deny` EgressNetwork until you add one"
                        } else {
                            "are not restricted by the mesh (`outboundTraffic: allowAny`)"
                        }
                    ));
                }
                if mesh.outbound_traffic == OutboundTraffic::RegistryOnly {
                    let outside: Vec<String> = network::flows(m)
                        .into_iter()
                        .filter(|f| {
                            matches!(&f.src, End::Pods { namespace, .. } if *namespace == ns.name)
                        })
                        .filter_map(|f| match f.dst {
                            End::Block { cidr, .. } if !in_linkerd_cluster_networks(&cidr) => {
                                Some(format!("`{cidr}`"))
                            }
                            _ => None,
                        })
                        .collect();
                    if !outside.is_empty() {
                        out.push(format!(
                            "note: namespace `{}`: the egress flow(s) to {} leave Linkerd's default `clusterNetworks`, so the `Deny` EgressNetwork blocks meshed traffic there although the NetworkPolicies allow it; attach a TCPRoute (gateway.networking.k8s.io, not rendered) or set `mesh.outboundTraffic: allowAny`",
                            ns.name,
                            outside.join(", ")
                        ));
                    }
                }
                if !denies(m, ns, Direction::Ingress) {
                    continue;
                }
                let routed: BTreeSet<String> = ns
                    .mesh
                    .iter()
                    .flat_map(|x| &x.authorization)
                    .filter(|a| !a.methods.is_empty() || !a.paths.is_empty())
                    .flat_map(|a| linkerd_rule_ports(m, ns, a))
                    .filter_map(|p| server_name(&p))
                    .collect();
                if !routed.is_empty() {
                    out.push(format!(
                        "note: namespace `{}`: HTTPRoutes on Server(s) {} turn off Linkerd's automatic authorization of kubelet probes on those ports; serve probes on another port or authorize them on a route of their own",
                        ns.name,
                        routed.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            if mesh.defaults.is_some() || listed {
                out.push("note: Linkerd has no mesh-wide timeout or retry default, and sets per-service ones by annotations on your Services or routes (`timeout.linkerd.io/*`, `retry.linkerd.io/*`); `mesh.defaults` and `mesh.services` are not rendered for Linkerd".to_owned());
            }
        }
        MeshProvider::None => {}
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
    fn istio_external_hosts_go_through_the_egress_gateway() {
        let objs = render(ISTIO);
        let gw = object(&objs, "istio-system/gateway-egress.yaml");
        assert_eq!(gw["apiVersion"], "networking.istio.io/v1");
        assert_eq!(gw["spec"]["selector"]["istio"], "egressgateway");
        let server = &gw["spec"]["servers"][0];
        assert_eq!(
            server["port"],
            serde_json::json!({"number": 443, "name": "tls", "protocol": "TLS"})
        );
        assert_eq!(server["tls"]["mode"], "PASSTHROUGH");
        // Exact hosts only, bindable from the gateway's own namespace.
        assert_eq!(server["hosts"], serde_json::json!(["./login.example.com"]));
        // Gateway to host, seen only in istio-system.
        let se = object(
            &objs,
            "istio-system/serviceentry-egress-login-example-com.yaml",
        );
        assert_eq!(se["spec"]["exportTo"], serde_json::json!(["."]));
        let vs = object(
            &objs,
            "istio-system/virtualservice-egress-login-example-com.yaml",
        );
        assert_eq!(vs["spec"]["gateways"], serde_json::json!(["egress"]));
        let route = &vs["spec"]["tls"][0];
        assert_eq!(route["match"][0]["sniHosts"][0], "login.example.com");
        assert_eq!(route["match"][0]["gateways"][0], "egress");
        assert_eq!(
            route["route"][0]["destination"],
            serde_json::json!({"host": "login.example.com", "port": {"number": 443}})
        );
        // Mesh to gateway, per namespace.
        for ns in ["a", "b"] {
            let vs = object(
                &objs,
                &format!("{ns}/virtualservice-external-login-example-com.yaml"),
            );
            assert_eq!(vs["spec"]["gateways"], serde_json::json!(["mesh"]));
            assert_eq!(vs["spec"]["exportTo"], serde_json::json!(["."]));
            let r = &vs["spec"]["tls"][0];
            assert_eq!(r["match"][0]["port"], 443);
            assert_eq!(
                r["route"][0]["destination"],
                serde_json::json!({"host": super::EGRESS_GATEWAY_SVC, "subset": "external", "port": {"number": 443}})
            );
            let dr = object(
                &objs,
                &format!("{ns}/destinationrule-istio-egressgateway.yaml"),
            );
            assert_eq!(dr["spec"]["host"], super::EGRESS_GATEWAY_SVC);
            assert_eq!(dr["spec"]["subsets"][0]["name"], "external");
            // The NetworkPolicy: the gateway's pods, on its ports, nothing else.
            let np = object(
                &objs,
                &format!("{ns}/networkpolicy-allow-istio-egressgateway.yaml"),
            );
            let rule = &np["spec"]["egress"][0];
            assert_eq!(rule["to"].as_array().unwrap().len(), 1, "one ANDed peer");
            assert_eq!(
                rule["to"][0]["podSelector"]["matchLabels"]["istio"],
                "egressgateway"
            );
            assert_eq!(
                rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                "istio-system"
            );
            assert!(rule["to"][0].get("ipBlock").is_none());
        }
        // A wildcard cannot pass a TLS-passthrough gateway: ServiceEntry only, and a note.
        object(&objs, "a/serviceentry-external-wildcard-github-com.yaml");
        assert!(
            !objs
                .iter()
                .any(|(p, _)| p.contains("virtualservice-external-wildcard"))
        );
        let model = crate::load_text(
            &format!("{}{ISTIO}", crate::testing::HEAD),
            "t.yaml",
            crate::testing::today(),
        )
        .unwrap();
        let notes = super::notes(&model).join("\n");
        assert!(notes.contains("namespace `a`: the wildcard host(s) `*.github.com` cannot go through the egress gateway"), "{notes}");
        assert!(!notes.contains("namespace `b`"), "{notes}");
        // Without external hosts, no gateway objects and no egress to it.
        let objs = render("mesh: {provider: istio}\nnamespaces:\n  - name: a\n");
        assert!(
            !objs.iter().any(|(p, _)| p.contains("egress")),
            "{:?}",
            objs.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
    }

    const SERVICES: &str = "mesh:\n  provider: istio\n  defaults: {timeout: 15s, retries: {attempts: 3, perTryTimeout: 5s}}\nnamespaces:\n  - name: a\n    mesh:\n      services:\n        - {name: api, port: 8080, timeout: 2s, retries: {attempts: 5, perTryTimeout: 500ms}}\n        - {name: api, port: 9090}\n        - {name: db, port: 5432, retries: {attempts: 1}}\n";

    #[test]
    fn istio_listed_services_get_virtual_services_with_timeouts_and_retries() {
        let objs = render(SERVICES);
        let vs = object(&objs, "a/virtualservice-service-api.yaml");
        let host = "api.a.svc.cluster.local";
        assert_eq!(vs["spec"]["hosts"], serde_json::json!([host]));
        let http = vs["spec"]["http"].as_array().unwrap();
        assert_eq!(http.len(), 3, "one route per listed port, then a catch-all");
        assert_eq!(http[0]["match"][0]["port"], 8080);
        assert_eq!(http[0]["route"][0]["destination"]["port"]["number"], 8080);
        assert_eq!(http[0]["timeout"], "2s");
        assert_eq!(
            http[0]["retries"],
            serde_json::json!({"attempts": 5, "perTryTimeout": "500ms"})
        );
        // No own timeout: the mesh default; no own retries: the mesh config's policy.
        assert_eq!(http[1]["match"][0]["port"], 9090);
        assert_eq!(http[1]["timeout"], "15s");
        assert!(http[1].get("retries").is_none());
        assert!(http[2].get("match").is_none());
        assert!(http[2].get("timeout").is_none());
        assert_eq!(
            http[2]["route"][0]["destination"],
            serde_json::json!({"host": host})
        );
        let db = object(&objs, "a/virtualservice-service-db.yaml");
        assert_eq!(
            db["spec"]["http"][0]["retries"],
            serde_json::json!({"attempts": 1})
        );
        // Mesh-wide retries in the mesh config fragment the user applies.
        let v = object(&objs, "istio-system/configmap-kharden-istio-values.yaml");
        let values: serde_json::Value =
            serde_saphyr::from_str(v["data"]["values.yaml"].as_str().unwrap()).unwrap();
        assert_eq!(
            values["meshConfig"]["defaultHttpRetryPolicy"],
            serde_json::json!({"attempts": 3, "perTryTimeout": "5s"})
        );
        let model = crate::load_text(
            &format!("{}{SERVICES}", crate::testing::HEAD),
            "t.yaml",
            crate::testing::today(),
        )
        .unwrap();
        let notes = super::notes(&model).join("\n");
        assert!(
            notes.contains("`mesh.defaults.timeout` applies only to services listed"),
            "{notes}"
        );
        assert!(!notes.contains("not rendered"), "{notes}");
    }

    #[test]
    fn service_overrides_are_checked() {
        let e = errors(
            "mesh: {provider: istio}\nnamespaces:\n  - name: a\n    mesh:\n      services:\n        - {name: Api, port: 8080, timeout: \"2\"}\n        - {name: db, port: 5432}\n        - {name: db, port: 5432, retries: {attempts: 2, perTryTimeout: 1x}}\n        - {name: web, port: 0, timeout: 1s}\n",
        );
        assert!(e.contains("`Api` is not a Service name"), "{e}");
        assert!(e.contains("`2` needs a unit"), "{e}");
        assert!(
            e.contains("service `db` sets neither `timeout` nor `retries`"),
            "{e}"
        );
        assert!(e.contains("service `db` port 5432 is listed twice"), "{e}");
        assert!(e.contains("`1x` needs a unit"), "{e}");
        assert!(e.contains("port 0 is not a Service port"), "{e}");
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
            "mesh: {provider: linkerd}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b}\n          ports: [8000-8100/TCP]\n    mesh:\n      mtls: permissive\n      authorization:\n        - from: {namespace: b}\n          paths: [\"/x\"]\n        - from: {namespace: b}\n          methods: [BREW]\n          paths: [\"/api*\", \"/x/*.js\"]\n          ports: [\"8080\"]\n  - name: b\n",
        );
        assert!(e.contains("Linkerd has no permissive mTLS mode"), "{e}");
        assert!(e.contains("Linkerd cannot authorize a port range"), "{e}");
        // A route needs a Server, so a port: the only flow from b is a range.
        assert!(
            e.contains("a Linkerd method or path rule needs a port"),
            "{e}"
        );
        assert!(e.contains("Linkerd cannot match method `BREW`"), "{e}");
        assert!(
            e.contains("Linkerd matches path prefixes by whole segments, so `/api*`"),
            "{e}"
        );
        assert!(
            e.contains("Linkerd has no suffix or infix match for `/x/*.js`"),
            "{e}"
        );
        // Egress control and hosts are no longer refused (rendered, or said in a note).
        assert!(!e.contains("outboundTraffic"), "{e}");
        assert!(e.contains("the profile has 6 problems"), "{e}");
    }

    #[test]
    fn linkerd_methods_and_paths_become_http_routes_on_the_flow_port() {
        let body = "mesh: {provider: linkerd, allowedExternalHosts: [login.example.com]}\ndefaults:\n  network: {allowSameNamespace: true}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b, podLabels: {app: fe}}\n          ports: [8080/TCP]\n    mesh:\n      authorization:\n        - from: {namespace: b}\n          methods: [GET, POST]\n          paths: [\"/api/*\", \"/health\"]\n  - name: b\n";
        let objs = render(body);
        // The port comes from the L4 flow that lets b in.
        assert_eq!(
            object(&objs, "a/server-port-8080.yaml")["spec"]["port"],
            8080
        );
        let route = object(&objs, "a/httproute-rule-0-port-8080.yaml");
        assert_eq!(route["apiVersion"], "policy.linkerd.io/v1beta3");
        assert_eq!(
            route["spec"]["parentRefs"][0],
            serde_json::json!({"group": "policy.linkerd.io", "kind": "Server", "name": "port-8080"})
        );
        let matches = route["spec"]["rules"][0]["matches"].as_array().unwrap();
        assert_eq!(matches.len(), 4, "every method with every path");
        assert!(matches.contains(
            &serde_json::json!({"method": "GET", "path": {"type": "PathPrefix", "value": "/api/"}})
        ));
        assert!(matches.contains(
            &serde_json::json!({"method": "POST", "path": {"type": "Exact", "value": "/health"}})
        ));
        let ap = object(&objs, "a/authorizationpolicy-allow-rule-0-port-8080.yaml");
        assert_eq!(ap["spec"]["targetRef"]["kind"], "HTTPRoute");
        assert_eq!(ap["spec"]["targetRef"]["name"], "rule-0-port-8080");
        assert_eq!(
            ap["spec"]["requiredAuthenticationRefs"][0]["name"],
            "rule-0-clients"
        );
        // b's L4 grant is replaced by its rule: no Server-level policy for b.
        assert!(
            !objs
                .iter()
                .any(|(p, _)| p.starts_with("a/authorizationpolicy-allow-ingress-0"))
        );
        // Other clients' requests on the port match the catch-all route, which
        // authorizes no one by itself.
        let other = object(&objs, "a/httproute-port-8080-other.yaml");
        assert_eq!(
            other["spec"]["rules"][0]["matches"][0]["path"]["value"],
            "/"
        );
        assert!(
            !objs
                .iter()
                .any(|(p, _)| p.contains("authorizationpolicy-allow-port-8080-other"))
        );
        // registryOnly (the default): a namespace-local EgressNetwork denying egress.
        for ns in ["a", "b"] {
            let en = object(&objs, &format!("{ns}/egressnetwork-external.yaml"));
            assert_eq!(en["spec"], serde_json::json!({"trafficPolicy": "Deny"}));
        }
        assert!(!objs.iter().any(|(_, o)| {
            o["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .starts_with("gateway.networking.k8s.io")
        }));
        let model = crate::load_text(
            &format!("{}{body}", crate::testing::HEAD),
            "t.yaml",
            crate::testing::today(),
        )
        .unwrap();
        let notes = super::notes(&model).join("\n");
        assert!(
            notes.contains(
                "namespace `a`: Linkerd allows an external host only through a Gateway API TLSRoute"
            ),
            "{notes}"
        );
        assert!(
            notes.contains("`login.example.com` stay blocked"),
            "{notes}"
        );
        assert!(notes.contains("HTTPRoutes on Server(s) `port-8080` turn off Linkerd's automatic authorization of kubelet probes"), "{notes}");
    }

    #[test]
    fn linkerd_notes_egress_flows_its_deny_would_block() {
        let body = "mesh: {provider: linkerd}\nnamespaces:\n  - name: a\n    network:\n      egress:\n        - to: {cidr: 203.0.113.0/24}\n          ports: [443/TCP]\n        - to: {cidr: 10.20.0.0/16}\n          ports: [5432/TCP]\n";
        let model = crate::load_text(
            &format!("{}{body}", crate::testing::HEAD),
            "t.yaml",
            crate::testing::today(),
        )
        .unwrap();
        let notes = super::notes(&model).join("\n");
        assert!(
            notes.contains(
                "the egress flow(s) to `203.0.113.0/24` leave Linkerd's default `clusterNetworks`"
            ),
            "{notes}"
        );
        assert!(!notes.contains("10.20.0.0/16"), "{notes}");
    }

    #[test]
    fn registry_only_meshes_carry_cidr_egress_as_service_entries() {
        let objs = render(
            "mesh: {provider: istio}\nnamespaces:\n  - name: a\n    network:\n      egress:\n        - to: {cidr: 10.20.0.0/16, except: [10.20.5.0/24]}\n          ports: [5432/TCP, 5433/TCP, 53/UDP]\n",
        );
        let (_, se) = objs
            .iter()
            .find(|(p, _)| p.starts_with("a/serviceentry-cidr-10-20-0-0-16"))
            .expect("a ServiceEntry for the block");
        assert_eq!(se["spec"]["addresses"], serde_json::json!(["10.20.0.0/16"]));
        assert_eq!(se["spec"]["resolution"], "NONE");
        assert_eq!(se["spec"]["location"], "MESH_EXTERNAL");
        let ports: Vec<u64> = se["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["number"].as_u64().unwrap())
            .collect();
        assert_eq!(ports, [5432, 5433]);
        let m = crate::load_text(
            &format!("{}mesh: {{provider: istio}}\nnamespaces:\n  - name: a\n    network:\n      egress:\n        - to: {{cidr: 10.20.0.0/16}}\n          ports: [53/UDP]\n", crate::testing::HEAD),
            "t.yaml",
            crate::testing::today(),
        )
        .unwrap();
        let notes = super::notes(&m);
        assert!(
            notes
                .iter()
                .any(|n| n.contains("10.20.0.0/16:53/UDP stay blocked by the sidecar")),
            "{notes:?}"
        );
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
