//! The Gateway API rules, run on both engines through the same harness as the
//! main case table: route and listener hostnames, bypasses included, and
//! parents limited to the profile's Gateways.

use serde_json::{Value, json};

use super::{
    Case, assert_table_in, assert_violation, case, eval, gatekeeper_eval, native_eval, rendered_for,
};
use crate::testing::{HEAD, today};

mod versions;

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
    cases.extend(versions::rows(a, own));
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
        &versions::held(),
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
