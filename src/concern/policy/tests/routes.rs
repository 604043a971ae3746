//! The Gateway API rules, run on both engines through the same harness as the
//! main case table: route and listener hostnames, bypasses included, and
//! parents limited to the profile's Gateways.

use serde_json::{Value, json};

use super::{
    Case, assert_table_in, assert_violation, case, eval, gatekeeper_eval, native_eval, rendered_for,
};
use crate::testing::{HEAD, today};

const PROFILE: &str = r#"
namespaces:
  - name: team-a
  - name: team-b
  - name: gateway-system
policy:
  engine: ENGINE
  uniqueIngressHosts: true
  ingressHostsInDomain: true
  exemptNamespaces: [kube-system]
"#;

const GATEWAYS: &str = "[{name: public, namespace: gateway-system, podLabels: {gateway.networking.k8s.io/gateway-name: public}, routeNamespaces: [team-a]}, {name: shared, namespace: gateway-system}]";

fn model(engine: &str) -> crate::Model {
    let text = format!("{HEAD}{}", PROFILE.replace("ENGINE", engine)).replace(
        "kubernetesVersion: \"1.33\"}",
        &format!(
            "kubernetesVersion: \"1.33\", ingressDomain: apps.prod-east.example.ca, gateways: {GATEWAYS}}}"
        ),
    );
    match crate::load_text(&text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

const PUBLIC: &str = r#"{"name": "public", "namespace": "gateway-system"}"#;
const SHARED: &str = r#"{"name": "shared", "namespace": "gateway-system"}"#;

fn parent(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn route(kind: &str, hostnames: Option<&[&str]>, parents: Value) -> Value {
    let mut spec = json!({"parentRefs": parents, "rules": [{}]});
    if let Some(h) = hostnames {
        spec["hostnames"] = json!(h);
    }
    json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind,
        "metadata": {"name": "r"}, "spec": spec})
}

fn http(hostnames: &[&str]) -> Value {
    route("HTTPRoute", Some(hostnames), json!([parent(PUBLIC)]))
}

fn listeners(kind: &str, listeners: Value) -> Value {
    let mut spec = json!({"listeners": listeners});
    if kind == "Gateway" {
        spec["gatewayClassName"] = json!("istio");
    } else {
        spec["parentRef"] = parent(PUBLIC);
    }
    json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind,
        "metadata": {"name": "g"}, "spec": spec})
}

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
fn held() -> Value {
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

fn listener(protocol: &str, hostname: Option<&str>) -> Value {
    let mut l = json!({"name": "l", "port": 443, "protocol": protocol});
    if let Some(h) = hostname {
        l["hostname"] = json!(h);
    }
    l
}

/// Both engines give these answers.
fn table() -> Vec<Case> {
    let a = "team-a";
    let own = "shop.team-a.apps.prod-east.example.ca";
    let mut cases = vec![
        // Hostnames.
        case("route host under the domain", a, http(&[own]), true),
        case(
            "route without hostnames",
            a,
            route("HTTPRoute", None, json!([parent(PUBLIC)])),
            false,
        ),
        case("route with an empty hostnames list", a, http(&[]), false),
        case(
            "wildcard route hostname",
            a,
            http(&["*.team-a.apps.prod-east.example.ca"]),
            false,
        ),
        case(
            "bare domain",
            a,
            http(&["apps.prod-east.example.ca"]),
            false,
        ),
        case(
            "suffix trick: no dot before the domain",
            a,
            http(&["team-aapps.prod-east.example.ca"]),
            false,
        ),
        case(
            "suffix trick: the domain inside another",
            a,
            http(&["shop.team-a.apps.prod-east.example.ca.evil.com"]),
            false,
        ),
        case(
            "empty leading label",
            a,
            http(&[".team-a.apps.prod-east.example.ca"]),
            false,
        ),
        case(
            "empty inner label",
            a,
            http(&["shop..team-a.apps.prod-east.example.ca"]),
            false,
        ),
        case(
            "trailing dot",
            a,
            http(&["shop.team-a.apps.prod-east.example.ca."]),
            false,
        ),
        case(
            "upper case",
            a,
            http(&["Shop.team-a.apps.prod-east.example.ca"]),
            false,
        ),
        case(
            "one good and one bad hostname",
            a,
            http(&[own, "shop.example.com"]),
            false,
        ),
        case(
            "GRPCRoute under the domain",
            a,
            route("GRPCRoute", Some(&[own]), json!([parent(PUBLIC)])),
            true,
        ),
        case(
            "TLSRoute outside the domain",
            a,
            route(
                "TLSRoute",
                Some(&["db.example.com"]),
                json!([parent(PUBLIC)]),
            ),
            false,
        ),
        // Parents.
        case(
            "route to a Gateway listed for its namespace",
            "team-b",
            route(
                "HTTPRoute",
                Some(&["x.team-b.apps.prod-east.example.ca"]),
                json!([parent(SHARED)]),
            ),
            true,
        ),
        case(
            "route to a Gateway not listed for its namespace",
            "team-b",
            route(
                "HTTPRoute",
                Some(&["x.team-b.apps.prod-east.example.ca"]),
                json!([parent(PUBLIC)]),
            ),
            false,
        ),
        case(
            "route to an unknown Gateway",
            a,
            route(
                "HTTPRoute",
                Some(&[own]),
                json!([{"name": "rogue", "namespace": "gateway-system"}]),
            ),
            false,
        ),
        case(
            "parentRef without namespace means the route's own",
            a,
            route("HTTPRoute", Some(&[own]), json!([{"name": "public"}])),
            false,
        ),
        case(
            "one allowed and one unknown parent",
            a,
            route(
                "HTTPRoute",
                Some(&[own]),
                json!([parent(PUBLIC), {"name": "mine", "namespace": "team-a"}]),
            ),
            false,
        ),
        case(
            "explicit defaults",
            a,
            route(
                "HTTPRoute",
                Some(&[own]),
                json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateway-system", "sectionName": "https"}]),
            ),
            true,
        ),
        case(
            "another kind named like a listed Gateway",
            a,
            route(
                "HTTPRoute",
                Some(&[own]),
                json!([{"group": "example.com", "kind": "Gateway", "name": "public", "namespace": "gateway-system"}]),
            ),
            false,
        ),
        case(
            "mesh route to a Service of its own namespace",
            a,
            route(
                "HTTPRoute",
                Some(&[own]),
                json!([{"group": "", "kind": "Service", "name": "api"}]),
            ),
            true,
        ),
        case(
            "mesh route to a Service of another namespace",
            a,
            route(
                "HTTPRoute",
                Some(&[own]),
                json!([{"group": "", "kind": "Service", "name": "api", "namespace": "team-b"}]),
            ),
            false,
        ),
        case(
            "TCPRoute to the shared Gateway",
            a,
            route("TCPRoute", None, json!([parent(SHARED)])),
            true,
        ),
        case(
            "TCPRoute to an unknown Gateway",
            a,
            route(
                "TCPRoute",
                None,
                json!([{"name": "x", "namespace": "gateway-system"}]),
            ),
            false,
        ),
        // Listeners.
        case(
            "Gateway with a wildcard over the domain",
            "gateway-system",
            listeners(
                "Gateway",
                json!([listener("HTTPS", Some("*.apps.prod-east.example.ca"))]),
            ),
            true,
        ),
        case(
            "Gateway listener without a hostname",
            "gateway-system",
            listeners("Gateway", json!([listener("HTTPS", None)])),
            false,
        ),
        case(
            "Gateway TCP listener needs no hostname",
            "gateway-system",
            listeners("Gateway", json!([listener("TCP", None)])),
            true,
        ),
        case(
            "Gateway wildcard over the parent of the domain",
            "gateway-system",
            listeners(
                "Gateway",
                json!([listener("HTTP", Some("*.prod-east.example.ca"))]),
            ),
            false,
        ),
        case(
            "Gateway listener for another domain",
            "gateway-system",
            listeners("Gateway", json!([listener("TLS", Some("evil.com"))])),
            false,
        ),
        case(
            "ListenerSet of a tenant, under its own name",
            a,
            listeners(
                "ListenerSet",
                json!([listener(
                    "HTTPS",
                    Some("*.team-a.apps.prod-east.example.ca")
                )]),
            ),
            true,
        ),
        case(
            "ListenerSet without a hostname",
            a,
            listeners("ListenerSet", json!([listener("HTTPS", None)])),
            false,
        ),
        case(
            "exempt namespace is untouched",
            "kube-system",
            route("HTTPRoute", None, json!([{"name": "x"}])),
            true,
        ),
    ];
    // #30 items 2 and 3: every served version, XListenerSet, and ListenerSet
    // hostnames counted for uniqueness (Gatekeeper: against `held()`; the
    // native engine confines them to the namespace's own names).
    let set = |h: &str| listeners("ListenerSet", json!([listener("HTTPS", Some(h))]));
    let theirs = |name: &str| -> &'static str {
        Box::leak(format!("{name}.team-b.apps.prod-east.example.ca").into_boxed_str())
    };
    cases.extend([
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
    ]);
    let mut tenant_set = listeners(
        "ListenerSet",
        json!([listener(
            "HTTPS",
            Some("x.team-b.apps.prod-east.example.ca")
        )]),
    );
    tenant_set["spec"]["parentRef"] = parent(PUBLIC);
    cases.push(case(
        "ListenerSet attached to a Gateway not listed for its namespace",
        "team-b",
        tenant_set,
        false,
    ));
    cases
}

fn run(engine: &str) {
    assert_table_in(
        engine,
        &rendered_for(&model(engine), engine),
        table(),
        &held(),
    );
}

#[test]
fn the_route_table_passes_on_gatekeeper() {
    run("gatekeeper");
}

#[test]
fn the_route_table_passes_on_the_native_engine() {
    run("validating-admission-policy");
}

#[test]
fn gatekeeper_refuses_a_hostname_another_namespace_holds() {
    let objs = rendered_for(&model("gatekeeper"), "gatekeeper");
    let host = "shop.team-b.apps.prod-east.example.ca";
    let by_route = json!({"namespace": {"team-b": {"gateway.networking.k8s.io/v1": {"HTTPRoute": {
        "shop": {"spec": {"hostnames": [host]}}}}}}});
    let by_ingress = json!({"namespace": {"team-b": {"networking.k8s.io/v1": {"Ingress": {
        "shop": {"spec": {"rules": [{"host": host}]}}}}}}});
    let c = case("dup", "team-a", http(&[host]), false);
    let v = gatekeeper_eval(&objs, &c, &by_route);
    assert_violation(&v, "already claimed by HTTPRoute team-b/shop");
    let v = gatekeeper_eval(&objs, &c, &by_ingress);
    assert_violation(&v, "already claimed by Ingress team-b/shop");
    // Its own namespace's claim (an update) is fine.
    let mut same = case("same", "team-b", http(&[host]), true);
    same.object["spec"]["parentRefs"] = json!([parent(SHARED)]);
    assert_eq!(
        gatekeeper_eval(&objs, &same, &by_route),
        Vec::<String>::new()
    );
    // Gatekeeper sees routes only through the sync Config.
    let config = objs.iter().find(|o| o["kind"] == "Config").unwrap();
    let synced: Vec<&str> = config["spec"]["sync"]["syncOnly"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kind"].as_str())
        .collect();
    assert_eq!(
        synced,
        [
            "Ingress",
            "GRPCRoute",
            "GRPCRoute",
            "HTTPRoute",
            "HTTPRoute",
            "ListenerSet",
            "TLSRoute",
            "TLSRoute",
            "TLSRoute",
            "XListenerSet"
        ]
    );
    // Every version a Gateway API release serves them as (#30 item 2).
    let tls: Vec<&Value> = config["spec"]["sync"]["syncOnly"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kind"] == "TLSRoute" || k["kind"] == "XListenerSet")
        .collect();
    assert_eq!(
        tls,
        [
            &json!({"group": "gateway.networking.k8s.io", "version": "v1", "kind": "TLSRoute"}),
            &json!({"group": "gateway.networking.k8s.io", "version": "v1alpha2", "kind": "TLSRoute"}),
            &json!({"group": "gateway.networking.k8s.io", "version": "v1alpha3", "kind": "TLSRoute"}),
            &json!({"group": "gateway.networking.x-k8s.io", "version": "v1alpha1", "kind": "XListenerSet"}),
        ]
    );
}

#[test]
fn the_native_engine_confines_route_hostnames_to_the_namespace() {
    let objs = rendered_for(
        &model("validating-admission-policy"),
        "validating-admission-policy",
    );
    // A hostname under another tenant's domain, as one of several on the route.
    let hosts = [
        "api.team-a.apps.prod-east.example.ca",
        "shop.team-b.apps.prod-east.example.ca",
    ];
    let v = native_eval(&objs, &case("theirs", "team-a", http(&hosts), false));
    assert_violation(
        &v,
        "HTTPRoute hostnames in namespace team-a must be team-a.apps.prod-east.example.ca or names under it",
    );
    let own = case("own", "team-a", http(&hosts[..1]), true);
    assert!(native_eval(&objs, &own).is_empty());
}

/// The same expected message on both engines.
fn both(m: String) -> [String; 2] {
    [m.clone(), m]
}

#[test]
fn denials_say_what_is_wrong() {
    let d = "apps.prod-east.example.ca";
    let rows: Vec<(Case, [String; 2])> = vec![
        (
            case("x", "team-b", route("HTTPRoute", Some(&["x.team-b.apps.prod-east.example.ca"]), json!([parent(PUBLIC)])), false),
            both("HTTPRoute may not attach to Gateway gateway-system/public: routes of namespace team-b attach only to the Gateways kharden lists for it".to_owned()),
        ),
        (
            case("x", "team-a", route("HTTPRoute", None, json!([parent(PUBLIC)])), false),
            both(format!("a HTTPRoute must list its hostnames (names under {d}): without them it takes every host")),
        ),
        (
            case("x", "team-a", http(&["*.team-a.apps.prod-east.example.ca"]), false),
            [
                format!("HTTPRoute hostname *.team-a.apps.prod-east.example.ca must be a name under {d}; wildcards are refused"),
                format!("HTTPRoute hostnames must be names under {d}; wildcards are refused"),
            ],
        ),
        (
            case("x", "gateway-system", listeners("Gateway", json!([listener("HTTPS", None)])), false),
            [
                format!("Gateway listener l (HTTPS) must name a hostname under {d}: without one it answers for every host"),
                format!("Gateway listeners for HTTP, HTTPS and TLS must name a hostname under {d}: without one a listener answers for every host"),
            ],
        ),
        (
            case("x", "gateway-system", listeners("Gateway", json!([listener("TLS", Some("evil.com"))])), false),
            [
                format!("Gateway listener l hostname evil.com must be a name under {d}, or a wildcard over one"),
                format!("Gateway listener hostnames must be names under {d}, or wildcards over one"),
            ],
        ),
    ];
    for (i, engine) in ["gatekeeper", "validating-admission-policy"]
        .into_iter()
        .enumerate()
    {
        let objs = rendered_for(&model(engine), engine);
        for (c, want) in &rows {
            let v = eval(engine, &objs, c);
            assert!(
                v.iter().any(|m| m.contains(&want[i])),
                "{engine}: want {:?}, got {v:?}",
                want[i]
            );
        }
    }
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
