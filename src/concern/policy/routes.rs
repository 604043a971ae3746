//! Gateway API admission, the native half and the shared parameters: route
//! and listener hostnames under `cluster.ingressDomain` (the Ingress rules'
//! twins, so a route is no way around them), hostnames confined per namespace
//! (the native stand-in for uniqueness), and parents limited to the Gateways of
//! `cluster.gateways`. The Gatekeeper half is the Rego of the same names in
//! `templates/`; the case table in `policy/tests/routes.rs` runs both.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::{Value, json};

use super::Cel;
use super::Rule;
use crate::model::Model;

/// The Gateway API group.
pub const GROUP: &str = "gateway.networking.k8s.io";

/// Route kinds that carry `hostnames`.
pub const HOSTNAME_ROUTES: [&str; 3] = ["GRPCRoute", "HTTPRoute", "TLSRoute"];

/// The Gateway API kinds the rules read, with their resources.
const RESOURCES: [(&str, &str); 7] = [
    ("GRPCRoute", "grpcroutes"),
    ("Gateway", "gateways"),
    ("HTTPRoute", "httproutes"),
    ("ListenerSet", "listenersets"),
    ("TCPRoute", "tcproutes"),
    ("TLSRoute", "tlsroutes"),
    ("UDPRoute", "udproutes"),
];

/// The kinds a Gateway API rule matches (Gatekeeper `match.kinds`; the native
/// engine's resource rules are the same kinds by resource). Empty for other rules.
pub fn kinds(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::RouteHostsInDomain => &[
            "GRPCRoute",
            "Gateway",
            "HTTPRoute",
            "ListenerSet",
            "TLSRoute",
        ],
        // The native engine confines ListenerSet hostnames too; Gatekeeper's
        // Rego reads routes only and lets other kinds pass.
        Rule::UniqueRouteHosts => &["GRPCRoute", "HTTPRoute", "ListenerSet", "TLSRoute"],
        Rule::GatewayParents => &[
            "GRPCRoute",
            "HTTPRoute",
            "ListenerSet",
            "TCPRoute",
            "TLSRoute",
            "UDPRoute",
        ],
        _ => &[],
    }
}

/// The plural resource of a Gateway API kind.
pub fn resource(kind: &str) -> Option<&'static str> {
    RESOURCES.iter().find(|(k, _)| *k == kind).map(|(_, r)| *r)
}

/// The resources of `kinds(rule)`, sorted.
pub fn resources(rule: Rule) -> Vec<&'static str> {
    let mut out: Vec<&str> = kinds(rule).iter().filter_map(|k| resource(k)).collect();
    out.sort_unstable();
    out
}

/// DNS names as Gateway API writes them (lower case), with an optional
/// leading `*.` for the listener form. CEL single-quoted string bodies.
pub const NAME: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const WILDCARD_NAME: &str =
    "^(\\\\*\\\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// `"namespace/name"` of every listed Gateway to the namespaces whose routes
/// may attach to it (`["*"]`: all). One value type throughout, so the CEL
/// literal type-checks as `map(string, list(string))`.
pub fn allowed_parents(m: &Model) -> Value {
    let p = &m.profile;
    let map: BTreeMap<String, BTreeSet<&str>> = p
        .cluster
        .gateways
        .iter()
        .map(|g| {
            let routed: BTreeSet<&str> = if g.route_namespaces.is_empty() {
                BTreeSet::from(["*"])
            } else {
                g.route_namespaces.iter().map(String::as_str).collect()
            };
            (format!("{}/{}", g.namespace, g.name), routed)
        })
        .collect();
    json!(map)
}

const ROUTE_KINDS: &str = "['GRPCRoute', 'HTTPRoute', 'TLSRoute']";

pub fn hosts_in_domain() -> Cel {
    Cel {
        variables: vec![
            ("isRoute", format!("request.kind.kind in {ROUTE_KINDS}")),
            (
                "listeners",
                "request.kind.kind in ['Gateway', 'ListenerSet'] && has(object.spec.listeners) ? object.spec.listeners.filter(l, l.protocol in ['HTTP', 'HTTPS', 'TLS']) : []".to_owned(),
            ),
        ],
        validations: vec![
            (
                "!variables.isRoute || (has(object.spec.hostnames) && size(object.spec.hostnames) > 0)",
                "'a ' + request.kind.kind + ' must list its hostnames (names under ' + variables.domains.join(' or ') + '): without them it takes every host of the Gateway listeners it attaches to'",
            ),
            (
                ROUTE_HOSTS.as_str(),
                "request.kind.kind + ' hostnames must be names under ' + variables.domains.join(' or ') + '; wildcards are refused'",
            ),
            (
                "variables.listeners.all(l, has(l.hostname) && l.hostname != '')",
                "request.kind.kind + ' listeners for HTTP, HTTPS and TLS must name a hostname under ' + variables.domains.join(' or ') + ': without one a listener answers for every host'",
            ),
            (
                LISTENER_HOSTS.as_str(),
                "request.kind.kind + ' listener hostnames must be names under ' + variables.domains.join(' or ') + ', or wildcards over one'",
            ),
        ],
    }
}

pub fn unique_hosts() -> Cel {
    Cel {
        variables: vec![
            (
                "own",
                "request.namespace + '.' + variables.domain".to_owned(),
            ),
            (
                "hosts",
                format!(
                    "request.kind.kind in {ROUTE_KINDS} ? (has(object.spec.hostnames) ? object.spec.hostnames : []) : (request.kind.kind == 'ListenerSet' && has(object.spec.listeners) ? object.spec.listeners.filter(l, has(l.hostname)).map(l, l.hostname) : [])"
                ),
            ),
        ],
        validations: vec![(
            "variables.hosts.all(h, h == variables.own || h.endsWith('.' + variables.own))",
            "request.kind.kind + ' hostnames in namespace ' + request.namespace + ' must be ' + variables.own + ' or names under it, so no other namespace can claim them'",
        )],
    }
}

/// A parentRef's fields with Gateway API's defaults written out.
const REF_GROUP: &str = "(has(r.group) ? r.group : 'gateway.networking.k8s.io')";
const REF_KIND: &str = "(has(r.kind) ? r.kind : 'Gateway')";
const REF_NS: &str = "(has(r.namespace) ? r.namespace : request.namespace)";

pub fn parents() -> Cel {
    Cel {
        variables: vec![
            (
                "refs",
                "request.kind.kind == 'ListenerSet' ? [object.spec.parentRef] : (has(object.spec.parentRefs) ? object.spec.parentRefs : [])".to_owned(),
            ),
            (
                "denied",
                format!(
                    "variables.refs.filter(r, !(({REF_GROUP} == 'gateway.networking.k8s.io' && {REF_KIND} == 'Gateway' && has(r.name) && ({REF_NS} + '/' + r.name) in variables.gateways && variables.gateways[{REF_NS} + '/' + r.name].exists(n, n == '*' || n == request.namespace)) || ({REF_GROUP} == '' && {REF_KIND} == 'Service' && {REF_NS} == request.namespace)))"
                ),
            ),
        ],
        validations: vec![(
            "size(variables.denied) == 0",
            PARENTS_MESSAGE.as_str(),
        )],
    }
}

// `Cel` holds `&'static str` validations (fixed text everywhere else); the
// few composed from shared fragments are built once.
static ROUTE_HOSTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "!variables.isRoute || !has(object.spec.hostnames) || object.spec.hostnames.all(h, h.matches('{NAME}') && variables.domains.exists(d, h.endsWith('.' + d)))"
    )
});
static LISTENER_HOSTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "variables.listeners.all(l, !has(l.hostname) || l.hostname == '' || (l.hostname.matches('{WILDCARD_NAME}') && variables.domains.exists(d, l.hostname.endsWith('.' + d))))"
    )
});
static PARENTS_MESSAGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "request.kind.kind + ' may not attach to ' + variables.denied.map(r, {REF_KIND} + ' ' + {REF_NS} + '/' + (has(r.name) ? r.name : '')).join(', ') + ': routes of namespace ' + request.namespace + ' attach only to the Gateways kharden lists for it (cluster.gateways)'"
    )
});
