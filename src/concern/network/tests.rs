//! Tests of the NetworkPolicy rendering, evaluated with the NetworkPolicy evaluator on the contract profile and small ones.

use super::*;
use crate::flows::NS_NAME_LABEL;
use crate::flows::{PortError, parse_port};
use crate::netpol_eval::{Cluster, Endpoint};
use crate::testing::{errors, object, render};

#[test]
fn ports_parse_numbers_ranges_and_names() {
    assert_eq!(parse_port("8080/TCP").unwrap().port, PortNum::Number(8080));
    assert_eq!(parse_port("53/UDP").unwrap().protocol, "UDP");
    assert_eq!(
        parse_port("8000-8100/TCP").unwrap().port,
        PortNum::Range(8000, 8100)
    );
    assert_eq!(
        parse_port("http/TCP").unwrap().port,
        PortNum::Named("http".into())
    );
    assert_eq!(parse_port("443").unwrap().protocol, "TCP");
    assert_eq!(parse_port("0/TCP"), Err(PortError::OutOfRange(0)));
    assert_eq!(parse_port("70000/TCP"), Err(PortError::OutOfRange(70000)));
    assert_eq!(
        parse_port("90-80/TCP").unwrap_err().to_string(),
        "range 90-80 runs backwards"
    );
    assert_eq!(
        parse_port("80/ICMP"),
        Err(PortError::Protocol("ICMP".to_owned()))
    );
    assert_eq!(
        parse_port("a-very-long-port-name/TCP"),
        Err(PortError::Name)
    );
    assert_eq!(parse_port("-http/TCP"), Err(PortError::Name));
}

const TWO: &str = "defaults:\n  network: {defaultDeny: [ingress, egress], allowSameNamespace: true}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b, podLabels: {app: fe}}\n          ports: [8080/TCP, 9000-9100/TCP, metrics/TCP]\n  - name: b\n";

#[test]
fn a_flow_renders_both_halves() {
    let objs = render(TWO);
    let ing = object(&objs, "a/networkpolicy-allow-ingress-0.yaml");
    assert_eq!(ing["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
    let from = &ing["spec"]["ingress"][0]["from"][0];
    assert_eq!(from["namespaceSelector"]["matchLabels"][NS_NAME_LABEL], "b");
    assert_eq!(from["podSelector"]["matchLabels"]["app"], "fe");
    let ports = &ing["spec"]["ingress"][0]["ports"];
    assert_eq!(ports[1]["endPort"], 9100);
    assert_eq!(ports[2]["port"], "metrics");
    let eg = object(&objs, "b/networkpolicy-allow-egress-to-a-0.yaml");
    assert_eq!(eg["spec"]["policyTypes"], serde_json::json!(["Egress"]));
    assert_eq!(eg["spec"]["podSelector"]["matchLabels"]["app"], "fe");
    assert_eq!(
        eg["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"][NS_NAME_LABEL],
        "a"
    );
    assert_eq!(eg["spec"]["egress"][0]["ports"], *ports);
}

#[test]
fn only_denied_directions_get_policies() {
    let objs = render(
        "defaults:\n  network: {defaultDeny: [ingress], allowSameNamespace: true}\nnamespaces:\n  - name: a\n",
    );
    let dd = object(&objs, "a/networkpolicy-default-deny.yaml");
    assert_eq!(dd["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
    let same = object(&objs, "a/networkpolicy-allow-same-namespace.yaml");
    assert_eq!(same["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
    assert!(same["spec"].get("egress").is_none());
    assert!(!objs.iter().any(|(p, _)| p.contains("allow-dns")));
}

#[test]
fn dns_is_one_anded_peer_and_can_be_turned_off() {
    let objs = render("namespaces:\n  - name: a\n");
    let dns = object(&objs, "a/networkpolicy-allow-dns.yaml");
    let to = &dns["spec"]["egress"][0]["to"];
    assert_eq!(to.as_array().unwrap().len(), 1, "one peer = AND");
    assert_eq!(to[0]["podSelector"]["matchLabels"]["k8s-app"], "kube-dns");
    assert_eq!(
        to[0]["namespaceSelector"]["matchLabels"][NS_NAME_LABEL],
        "kube-system"
    );
    let objs = render("defaults:\n  network: {allowDNS: false}\nnamespaces:\n  - name: a\n");
    assert!(!objs.iter().any(|(p, _)| p.contains("allow-dns")));
}

#[test]
fn mesh_and_logging_flows_are_derived() {
    let objs = render("mesh: {provider: istio}\nnamespaces:\n  - name: search\n");
    let cp = object(&objs, "search/networkpolicy-allow-istio-control-plane.yaml");
    assert_eq!(cp["spec"]["egress"][0]["ports"][0]["port"], 15012);
    object(
        &objs,
        "search/networkpolicy-allow-from-istio-ingressgateway.yaml",
    );
    // Elasticsearch in a tenant namespace, outside the mesh (inside it, the
    // unmeshed collector could not reach it: `components::check` refuses that).
    let objs = render(
        "logging:\n  namespace: logging\n  sources: [pods]\n  elasticsearch: {host: es.search.svc, indexPrefix: x, credentialsSecret: es}\nnamespaces:\n  - name: search\n",
    );
    // The collector's namespace (the logging concern's, not a tenant) takes no
    // ingress; Elasticsearch's namespace accepts the collector on 9200.
    let deny = object(&objs, "logging/networkpolicy-default-deny-ingress.yaml");
    assert_eq!(deny["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
    let from = object(&objs, "search/networkpolicy-allow-from-log-collector.yaml");
    let rule = &from["spec"]["ingress"][0];
    assert_eq!(
        rule["from"][0]["namespaceSelector"]["matchLabels"][NS_NAME_LABEL],
        "logging"
    );
    assert_eq!(rule["ports"][0]["port"], 9200);
}

#[test]
fn elasticsearch_beside_the_collector_stays_reachable() {
    let objs = render(
        "logging:\n  namespace: logging\n  sources: [pods]\n  elasticsearch: {host: elasticsearch.logging.svc, indexPrefix: x, credentialsSecret: es}\nnamespaces:\n  - name: a\n",
    );
    let policies: Vec<NetworkPolicy> = objs
        .iter()
        .filter(|(p, _)| p.contains("/networkpolicy-"))
        .map(|(_, v)| serde_json::from_value(v.clone()).unwrap())
        .collect();
    let c = Cluster::new(policies);
    let ds = object(&objs, "logging/daemonset-fluentd.yaml");
    let labels: Vec<(String, String)> = ds["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let labels: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let collector = Endpoint::pod("logging", &labels);
    let es = Endpoint::pod("logging", &[("app", "elasticsearch")]);
    assert!(c.allows(&collector, &es, 9200, "TCP"));
    // Only the shipping port; tenants still cannot reach in.
    assert!(!c.allows(&collector, &es, 9300, "TCP"));
    assert!(!c.allows(&Endpoint::pod("a", &[]), &es, 9200, "TCP"));
}

#[test]
fn unknown_namespaces_are_refused_unless_external() {
    let e = errors(
        "namespaces:\n  - name: team-a\n    network:\n      ingress:\n        - from: {namespace: team-bb}\n  - name: team-b\n",
    );
    assert!(
        e.contains("namespace `team-bb` is neither in the profile nor listed as external"),
        "{e}"
    );
    assert!(e.contains("did you mean `team-b`?"), "{e}");
    render(
        "defaults:\n  network: {externalNamespaces: [monitoring]}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: monitoring}\n          ports: [9090/TCP]\n",
    );
}

#[test]
fn flows_that_contradict_default_deny_are_refused() {
    let e = errors(
        "defaults:\n  network: {defaultDeny: [egress]}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {cidr: 10.0.0.0/8}\n      egress:\n        - to: {cidr: 0.0.0.0/0}\n        - to: {cidr: \"::/0\", except: [\"fd00::/8\"]}\n",
    );
    assert!(
        e.contains("this flow has no effect: namespace `a` does not deny ingress"),
        "{e}"
    );
    assert!(e.contains("`0.0.0.0/0` is every address"), "{e}");
    assert!(e.contains("the profile has 2 problems"), "{e}");
}

#[test]
fn cidrs_and_ports_are_checked() {
    let e = errors(
        "namespaces:\n  - name: a\n    network:\n      egress:\n        - to: {cidr: \"fd00::/8\", except: [\"fe00::/16\"]}\n          ports: [0/TCP]\n        - to: {cidr: 10.0.0.0/33}\n",
    );
    assert!(
        e.contains("`fe00::/16` does not lie strictly inside `fd00::/8`"),
        "{e}"
    );
    assert!(
        e.contains("`0/TCP` is not a port: 0 is outside 1-65535"),
        "{e}"
    );
    assert!(e.contains("prefix length 33 exceeds 32"), "{e}");
}

/// The contract profile, rendered, evaluated from its NetworkPolicies alone.
#[test]
fn contract_profile_allows_exactly_the_intended_flows() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prod-east.yaml");
    let model = crate::load(&path, "prod-east.yaml", crate::testing::today()).unwrap();
    let r = crate::render(&model).unwrap();
    let policies: Vec<NetworkPolicy> = r
        .set
        .iter()
        .filter(|m| m.kind == "NetworkPolicy")
        .map(|m| serde_saphyr::from_str(&m.body).unwrap())
        .collect();
    let c = Cluster::new(policies);
    let ip = |s: &str| Endpoint::Ip(s.parse().unwrap());
    let a = Endpoint::pod("team-a", &[("app", "api")]);
    let a2 = Endpoint::pod("team-a", &[("app", "db-client")]);
    let frontend = Endpoint::pod("team-b", &[("app", "frontend")]);
    let other_b = Endpoint::pod("team-b", &[("app", "batch")]);
    let dns = Endpoint::pod("kube-system", &[("k8s-app", "kube-dns")]);
    let not_dns = Endpoint::pod("kube-system", &[("k8s-app", "metrics")]);
    let nginx = Endpoint::pod("ingress-nginx", &[("app", "controller")]);
    let stranger = Endpoint::pod("elsewhere", &[("app", "frontend")]);
    let istiod = Endpoint::pod("istio-system", &[("app", "istiod")]);

    // Cross-namespace by label, both halves.
    assert!(c.allows(&frontend, &a, 8080, "TCP"));
    assert!(!c.allows(&frontend, &a, 8081, "TCP"));
    assert!(!c.allows(&frontend, &a, 8080, "UDP"));
    assert!(!c.allows(&other_b, &a, 8080, "TCP"));
    assert!(!c.allows(&stranger, &a, 8080, "TCP"));
    assert!(
        !c.allows(&a, &frontend, 8080, "TCP"),
        "the reverse is not granted"
    );
    // CIDR with except.
    assert!(c.allows(&a, &ip("10.20.1.7"), 5432, "TCP"));
    assert!(!c.allows(&a, &ip("10.20.5.7"), 5432, "TCP"));
    assert!(!c.allows(&a, &ip("10.20.1.7"), 5433, "TCP"));
    assert!(!c.allows(&a, &ip("10.21.0.1"), 5432, "TCP"));
    assert!(
        !c.allows(&frontend, &ip("10.20.1.7"), 5432, "TCP"),
        "team-b has no such flow"
    );
    // DNS, and nothing else in kube-system.
    for src in [&a, &frontend] {
        assert!(c.allows(src, &dns, 53, "UDP"));
        assert!(c.allows(src, &dns, 53, "TCP"));
        assert!(!c.allows(src, &dns, 9153, "TCP"));
        assert!(!c.allows(src, &not_dns, 53, "UDP"));
    }
    // Same namespace, all ports.
    assert!(c.allows(&a, &a2, 1234, "TCP"));
    assert!(c.allows(&other_b, &frontend, 80, "TCP"));
    // The ingress controller reaches in; nothing reaches out to it.
    assert!(c.allows(&nginx, &a, 8443, "TCP"));
    assert!(c.allows(&nginx, &frontend, 80, "TCP"));
    assert!(!c.allows(&a, &nginx, 80, "TCP"));
    // The mesh control plane.
    assert!(c.allows(&a, &istiod, 15012, "TCP"));
    assert!(!c.allows(&a, &istiod, 15017, "TCP"));
    // External hosts only through the egress gateway: its pods on the
    // Service port and the chart's pod port; not other istio-system pods,
    // not other ports, and never the internet itself.
    let egress_gw = Endpoint::pod("istio-system", &[("istio", "egressgateway")]);
    let ingress_gw = Endpoint::pod("istio-system", &[("istio", "ingressgateway")]);
    for src in [&a, &frontend] {
        // team-b runs on Windows nodes: no sidecar routes to the gateway,
        // so its pods get no way out (a note says so).
        let meshed = src == &a;
        assert_eq!(c.allows(src, &egress_gw, 443, "TCP"), meshed);
        assert_eq!(c.allows(src, &egress_gw, 8443, "TCP"), meshed);
        assert!(!c.allows(src, &egress_gw, 80, "TCP"));
        assert!(!c.allows(src, &egress_gw, 443, "UDP"));
        assert!(!c.allows(src, &ingress_gw, 443, "TCP"));
        assert!(!c.allows(src, &istiod, 443, "TCP"));
        for internet in ["140.82.112.5", "20.190.128.1", "8.8.8.8"] {
            assert!(!c.allows(src, &ip(internet), 443, "TCP"));
            assert!(!c.allows(src, &ip(internet), 8443, "TCP"));
        }
    }
    // Everything else is denied.
    assert!(!c.allows(&a, &ip("140.82.112.5"), 443, "TCP"));
    assert!(!c.allows(&ip("203.0.113.9"), &a, 8080, "TCP"));
    assert!(!c.allows(&stranger, &frontend, 80, "TCP"));
    assert!(!c.allows(&a, &stranger, 80, "TCP"));
}
