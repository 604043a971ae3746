//! The Gateway API rules in every version Gateway API serves (#30 item 2:
//! v1alpha2/v1alpha3 routes, v1beta1, XListenerSet) and ListenerSet hostnames
//! in Gatekeeper's uniqueness check (#30 item 3): rows of the route table,
//! run on both engines with `held()` synced for Gatekeeper.

use serde_json::{Value, json};

use super::super::{Case, case};
use super::{PUBLIC, SHARED, http, listener, listeners, model, parent, rendered_for, route};

/// `obj` as another served version (`gateway.networking.x-k8s.io/v1alpha1`
/// makes a ListenerSet the XListenerSet of Gateway API 1.3 and 1.4).
fn at(mut obj: Value, api_version: &str) -> Value {
    obj["apiVersion"] = json!(api_version);
    if api_version.starts_with("gateway.networking.x-k8s.io/") {
        obj["kind"] = json!("XListenerSet");
    }
    obj
}

const V1ALPHA2: &str = "gateway.networking.k8s.io/v1alpha2";
const X: &str = "gateway.networking.x-k8s.io/v1alpha1";

/// What team-b holds, as Gatekeeper's inventory has it (synced in the
/// versions the cluster serves): a route, a ListenerSet with a name and a
/// wildcard, an XListenerSet, a v1alpha2 TLSRoute.
pub(super) fn held() -> Value {
    json!({"namespace": {"team-b": {
        "gateway.networking.k8s.io/v1": {
            "HTTPRoute": {"shop": {"spec": {"hostnames": ["shop.team-b.apps.prod-east.example.ca"]}}},
            "ListenerSet": {"edge": {"spec": {"listeners": [
                {"name": "api", "hostname": "api.team-b.apps.prod-east.example.ca"},
                {"name": "wild", "hostname": "*.wild.team-b.apps.prod-east.example.ca"},
                {"name": "tcp"}]}}},
        },
        "gateway.networking.x-k8s.io/v1alpha1": {
            "XListenerSet": {"old": {"spec": {"listeners": [
                {"name": "x", "hostname": "x.team-b.apps.prod-east.example.ca"}]}}},
        },
        "gateway.networking.k8s.io/v1alpha2": {
            "TLSRoute": {"db": {"spec": {"hostnames": ["db.team-b.apps.prod-east.example.ca"]}}},
        },
    }}})
}

/// The rows; `a` is the tenant namespace, `own` a hostname of its own.
pub(super) fn rows(a: &'static str, own: &'static str) -> Vec<Case> {
    // #30 items 2 and 3: every served version, XListenerSet, and ListenerSet
    // hostnames counted for uniqueness (Gatekeeper: against `held()`; the
    // native engine confines them to the namespace's own names).
    let set = |h: &str| listeners("ListenerSet", json!([listener("HTTPS", Some(h))]));
    let theirs = |name: &str| -> &'static str {
        Box::leak(format!("{name}.team-b.apps.prod-east.example.ca").into_boxed_str())
    };
    vec![
        case(
            "ListenerSet hostname a team-b route holds",
            a,
            set(theirs("shop")),
            false,
        ),
        case(
            "ListenerSet hostname a team-b ListenerSet holds",
            a,
            set(theirs("api")),
            false,
        ),
        case(
            "ListenerSet wildcard over team-b's names",
            a,
            set("*.team-b.apps.prod-east.example.ca"),
            false,
        ),
        case(
            "route under a team-b ListenerSet's wildcard",
            a,
            http(&[theirs("a.wild")]),
            false,
        ),
        case(
            "route on a team-b ListenerSet's name",
            a,
            http(&[theirs("api")]),
            false,
        ),
        case(
            "route on a team-b XListenerSet's name",
            a,
            http(&[theirs("x")]),
            false,
        ),
        case(
            "route on a team-b v1alpha2 TLSRoute's name",
            a,
            http(&[theirs("db")]),
            false,
        ),
        case(
            "team-b updating its own ListenerSet",
            "team-b",
            {
                let mut s = set(theirs("api"));
                s["spec"]["parentRef"] = parent(SHARED);
                s
            },
            true,
        ),
        case("XListenerSet under its own name", a, at(set(own), X), true),
        case(
            "XListenerSet on a name team-b holds",
            a,
            at(set(theirs("shop")), X),
            false,
        ),
        case(
            "XListenerSet listener without a hostname",
            a,
            at(
                listeners("ListenerSet", json!([listener("HTTPS", None)])),
                X,
            ),
            false,
        ),
        case(
            "XListenerSet listener outside the domain",
            a,
            at(set("evil.com"), X),
            false,
        ),
        case(
            "XListenerSet to a Gateway not listed for its namespace",
            "team-b",
            {
                let mut s = at(set(theirs("y")), X);
                s["spec"]["parentRef"] = parent(PUBLIC);
                s
            },
            false,
        ),
        case(
            "v1alpha2 TLSRoute outside the domain",
            a,
            at(
                route(
                    "TLSRoute",
                    Some(&["db.example.com"]),
                    json!([parent(PUBLIC)]),
                ),
                V1ALPHA2,
            ),
            false,
        ),
        case(
            "v1alpha3 TLSRoute without hostnames",
            a,
            at(
                route("TLSRoute", None, json!([parent(PUBLIC)])),
                "gateway.networking.k8s.io/v1alpha3",
            ),
            false,
        ),
        case(
            "v1alpha3 TLSRoute on a name team-b holds",
            a,
            at(
                route("TLSRoute", Some(&[theirs("shop")]), json!([parent(PUBLIC)])),
                "gateway.networking.k8s.io/v1alpha3",
            ),
            false,
        ),
        case(
            "v1alpha3 TLSRoute under its own name",
            a,
            at(
                route("TLSRoute", Some(&[own]), json!([parent(PUBLIC)])),
                "gateway.networking.k8s.io/v1alpha3",
            ),
            true,
        ),
        case(
            "v1alpha2 TCPRoute to an unknown Gateway",
            a,
            at(
                route(
                    "TCPRoute",
                    None,
                    json!([{"name": "x", "namespace": "gateway-system"}]),
                ),
                V1ALPHA2,
            ),
            false,
        ),
        case(
            "v1alpha2 UDPRoute to an unknown Gateway",
            a,
            at(
                route(
                    "UDPRoute",
                    None,
                    json!([{"name": "x", "namespace": "gateway-system"}]),
                ),
                V1ALPHA2,
            ),
            false,
        ),
        case(
            "v1alpha2 UDPRoute to the shared Gateway",
            a,
            at(route("UDPRoute", None, json!([parent(SHARED)])), V1ALPHA2),
            true,
        ),
        case(
            "v1alpha2 GRPCRoute outside the domain",
            a,
            at(
                route(
                    "GRPCRoute",
                    Some(&["x.example.com"]),
                    json!([parent(PUBLIC)]),
                ),
                V1ALPHA2,
            ),
            false,
        ),
        case(
            "v1beta1 HTTPRoute without hostnames",
            a,
            at(
                route("HTTPRoute", None, json!([parent(PUBLIC)])),
                "gateway.networking.k8s.io/v1beta1",
            ),
            false,
        ),
        case(
            "v1beta1 Gateway listener for another domain",
            "gateway-system",
            at(
                listeners("Gateway", json!([listener("TLS", Some("evil.com"))])),
                "gateway.networking.k8s.io/v1beta1",
            ),
            false,
        ),
    ]
}

#[test]
fn native_rules_match_every_version_the_upstream_crds_list() {
    // The vendored standard channel still lists v1alpha2/v1alpha3 (unserved
    // there, served by the experimental channel and older releases).
    let objs = rendered_for(
        &model("validating-admission-policy"),
        "validating-admission-policy",
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/crds-upstream/gateway-api");
    for (file, resource) in [
        ("gateway.networking.k8s.io_tcproutes.yaml", "tcproutes"),
        ("gateway.networking.k8s.io_tlsroutes.yaml", "tlsroutes"),
        ("gateway.networking.k8s.io_grpcroutes.yaml", "grpcroutes"),
        ("gateway.networking.k8s.io_httproutes.yaml", "httproutes"),
        (
            "gateway.networking.k8s.io_listenersets.yaml",
            "listenersets",
        ),
    ] {
        let crd: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        for v in crd["spec"]["versions"].as_array().unwrap() {
            let version = v["name"].as_str().unwrap();
            let matched = objs
                .iter()
                .filter(|o| o["kind"] == "ValidatingAdmissionPolicy")
                .flat_map(|o| {
                    o["spec"]["matchConstraints"]["resourceRules"]
                        .as_array()
                        .unwrap()
                        .clone()
                })
                .any(|r| {
                    r["resources"]
                        .as_array()
                        .unwrap()
                        .contains(&json!(resource))
                        && r["apiVersions"]
                            .as_array()
                            .unwrap()
                            .contains(&json!(version))
                });
            assert!(matched, "{resource} {version} is matched by no policy");
        }
    }
}
