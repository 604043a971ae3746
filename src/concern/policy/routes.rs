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
use crate::pipeline::model::Model;

/// The Gateway API group.
pub(crate) const GROUP: &str = "gateway.networking.k8s.io";

/// Gateway API's experimental group, where ListenerSet was `XListenerSet`
/// (releases 1.3 and 1.4, experimental channel).
pub(crate) const X_GROUP: &str = "gateway.networking.x-k8s.io";

/// Route kinds that carry `hostnames`.
pub(crate) const HOSTNAME_ROUTES: [&str; 3] = ["GRPCRoute", "HTTPRoute", "TLSRoute"];

/// ListenerSet under both of its names.
pub(crate) const LISTENER_SETS: [&str; 2] = ["ListenerSet", "XListenerSet"];

/// One Gateway API kind the rules read: its group, resource, and every version
/// a Gateway API release serves it as (standard and experimental channels,
/// v1.0 to v1.6: TCPRoute, UDPRoute and GRPCRoute as v1alpha2 before v1,
/// TLSRoute as v1alpha2 and v1alpha3). A request in any of them must meet the
/// rules, or the older version is the way around them.
struct Api {
    group: &'static str,
    kind: &'static str,
    resource: &'static str,
    versions: &'static [&'static str],
}

const APIS: [Api; 8] = [
    Api {
        group: GROUP,
        kind: "GRPCRoute",
        resource: "grpcroutes",
        versions: &["v1", "v1alpha2"],
    },
    Api {
        group: GROUP,
        kind: "Gateway",
        resource: "gateways",
        versions: &["v1", "v1beta1"],
    },
    Api {
        group: GROUP,
        kind: "HTTPRoute",
        resource: "httproutes",
        versions: &["v1", "v1beta1"],
    },
    Api {
        group: GROUP,
        kind: "ListenerSet",
        resource: "listenersets",
        versions: &["v1"],
    },
    Api {
        group: GROUP,
        kind: "TCPRoute",
        resource: "tcproutes",
        versions: &["v1", "v1alpha2"],
    },
    Api {
        group: GROUP,
        kind: "TLSRoute",
        resource: "tlsroutes",
        versions: &["v1", "v1alpha2", "v1alpha3"],
    },
    Api {
        group: GROUP,
        kind: "UDPRoute",
        resource: "udproutes",
        versions: &["v1", "v1alpha2"],
    },
    Api {
        group: X_GROUP,
        kind: "XListenerSet",
        resource: "xlistenersets",
        versions: &["v1alpha1"],
    },
];

/// The kinds a Gateway API rule matches (Gatekeeper `match.kinds`; the native
/// engine's resource rules are the same kinds by resource). Empty for other rules.
pub(crate) fn kinds(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::RouteHostsInDomain => &[
            "GRPCRoute",
            "Gateway",
            "HTTPRoute",
            "ListenerSet",
            "TLSRoute",
            "XListenerSet",
        ],
        Rule::UniqueRouteHosts => &[
            "GRPCRoute",
            "HTTPRoute",
            "ListenerSet",
            "TLSRoute",
            "XListenerSet",
        ],
        Rule::GatewayParents => &[
            "GRPCRoute",
            "HTTPRoute",
            "ListenerSet",
            "TCPRoute",
            "TLSRoute",
            "UDPRoute",
            "XListenerSet",
        ],
        _ => &[],
    }
}

/// The plural resource of a Gateway API kind.
pub(crate) fn resource(group: &str, kind: &str) -> Option<&'static str> {
    APIS.iter()
        .find(|a| a.group == group && a.kind == kind)
        .map(|a| a.resource)
}

/// What a rule matches in one API group, each list sorted.
pub(crate) struct Matched {
    pub group: &'static str,
    pub kinds: Vec<&'static str>,
    pub versions: Vec<&'static str>,
    pub resources: Vec<&'static str>,
}

/// What a rule matches, per API group.
pub(crate) fn matched(rule: Rule) -> Vec<Matched> {
    let mut out = Vec::new();
    for group in [GROUP, X_GROUP] {
        let apis: Vec<&Api> = APIS
            .iter()
            .filter(|a| a.group == group && kinds(rule).contains(&a.kind))
            .collect();
        if apis.is_empty() {
            continue;
        }
        let sorted = |f: &dyn Fn(&Api) -> Vec<&'static str>| {
            let set: BTreeSet<&str> = apis.iter().flat_map(|a| f(a)).collect();
            set.into_iter().collect::<Vec<_>>()
        };
        out.push(Matched {
            group,
            kinds: sorted(&|a| vec![a.kind]),
            versions: sorted(&|a| a.versions.to_vec()),
            resources: sorted(&|a| vec![a.resource]),
        });
    }
    out
}

/// The (group, version, kind) of every object whose hostnames the uniqueness
/// rule counts, in every served version: Gatekeeper's sync Config lists them.
pub(crate) fn synced() -> Vec<(&'static str, &'static str, &'static str)> {
    APIS.iter()
        .filter(|a| HOSTNAME_ROUTES.contains(&a.kind) || LISTENER_SETS.contains(&a.kind))
        .flat_map(|a| a.versions.iter().map(|v| (a.group, *v, a.kind)))
        .collect()
}

/// DNS names as Gateway API writes them (lower case), with an optional
/// leading `*.` for the listener form. CEL single-quoted string bodies.
pub(crate) const NAME: &str =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const WILDCARD_NAME: &str =
    "^(\\\\*\\\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// `"namespace/name"` of every listed Gateway to the namespaces whose routes
/// may attach to it (`["*"]`: all). One value type throughout, so the CEL
/// literal type-checks as `map(string, list(string))`.
pub(crate) fn allowed_parents(m: &Model) -> Value {
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
const LISTENER_SET_KINDS: &str = "['ListenerSet', 'XListenerSet']";

pub(crate) fn hosts_in_domain() -> Cel {
    Cel {
        variables: vec![
            ("isRoute", format!("request.kind.kind in {ROUTE_KINDS}")),
            (
                "listeners",
                "request.kind.kind in ['Gateway', 'ListenerSet', 'XListenerSet'] && has(object.spec.listeners) ? object.spec.listeners.filter(l, l.protocol in ['HTTP', 'HTTPS', 'TLS']) : []".to_owned(),
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

pub(crate) fn unique_hosts() -> Cel {
    Cel {
        variables: vec![
            (
                "own",
                "request.namespace + '.' + variables.domain".to_owned(),
            ),
            (
                "hosts",
                format!(
                    "request.kind.kind in {ROUTE_KINDS} ? (has(object.spec.hostnames) ? object.spec.hostnames : []) : (request.kind.kind in {LISTENER_SET_KINDS} && has(object.spec.listeners) ? object.spec.listeners.filter(l, has(l.hostname)).map(l, l.hostname) : [])"
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

pub(crate) fn parents() -> Cel {
    Cel {
        variables: vec![
            (
                "refs",
                format!(
                    "request.kind.kind in {LISTENER_SET_KINDS} ? [object.spec.parentRef] : (has(object.spec.parentRefs) ? object.spec.parentRefs : [])"
                ),
            ),
            (
                "denied",
                format!(
                    "variables.refs.filter(r, !(({REF_GROUP} == 'gateway.networking.k8s.io' && {REF_KIND} == 'Gateway' && has(r.name) && ({REF_NS} + '/' + r.name) in variables.gateways && variables.gateways[{REF_NS} + '/' + r.name].exists(n, n == '*' || n == request.namespace)) || ({REF_GROUP} == '' && {REF_KIND} == 'Service' && {REF_NS} == request.namespace)))"
                ),
            ),
        ],
        validations: vec![("size(variables.denied) == 0", PARENTS_MESSAGE.as_str())],
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
