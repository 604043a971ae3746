//! Tests of the allowance plan: every concern's contribution rendered as
//! NetworkPolicies and evaluated; each allowance's origin; every policy name
//! typed in one file (the mesh side is in `tests_mesh`).

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::Value;

use crate::k8s::netpol_eval::{Cluster, Endpoint};
use crate::pipeline::flows::NS_NAME_LABEL;
use crate::testing::{object, render};

/// Every name a NetworkPolicy of the plan can have: exact names, then the
/// prefixes of formatted ones. A name is typed (as a string literal) in
/// exactly one file under `src/`, so two renderings cannot drift apart.
const NAMES: &[&str] = &[
    "default-deny",
    "default-deny-ingress",
    "allow-dns",
    "allow-same-namespace",
    "allow-from-ingress-controller",
    "allow-istio-control-plane",
    "allow-istio-egressgateway",
    "allow-from-istio-ingressgateway",
    "allow-linkerd-control-plane",
    "allow-log-shipping",
    "allow-from-log-collector",
    "allow-elasticsearch-transport",
    "allow-from-elastic-operator",
];
const PREFIXES: &[&str] = &[
    "allow-from-gateway-",
    "allow-egress-to-routes-",
    "allow-{word}-",
];

/// The non-test text of every source file: test files and modules cut off.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "tests" {
                    walk(&p, out);
                }
            } else if name.ends_with(".rs") && !name.starts_with("tests") {
                let text = std::fs::read_to_string(&p).unwrap();
                let code = match text.find("#[cfg(test)]\nmod tests {") {
                    Some(i) => text[..i].to_owned(),
                    None => text,
                };
                out.push((p.display().to_string(), code));
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut out,
    );
    out
}

#[test]
fn every_policy_name_is_typed_in_one_file() {
    let files = sources();
    assert!(files.len() > 50, "{} files", files.len());
    let literals = NAMES
        .iter()
        .map(|n| format!("\"{n}\""))
        .chain(PREFIXES.iter().map(|p| format!("\"{p}")));
    for lit in literals {
        let holders: Vec<&str> = files
            .iter()
            .filter(|(_, text)| text.contains(&lit))
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(holders.len(), 1, "{lit} is typed in {holders:?}");
    }
}

/// Whether a rendered NetworkPolicy name is one `NAMES`/`PREFIXES` covers
/// (a flow half is `allow-ingress-3` or `allow-egress-to-team-a-3`).
fn known(name: &str) -> bool {
    if NAMES.contains(&name) || PREFIXES[..2].iter().any(|p| name.starts_with(p)) {
        return true;
    }
    let Some(rest) = name
        .strip_prefix("allow-ingress-")
        .or_else(|| name.strip_prefix("allow-egress-"))
    else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    digits(rest)
        || ((rest.starts_with("from-") || rest.starts_with("to-"))
            && rest.rsplit('-').next().is_some_and(digits))
}

/// The example profiles, and a meshed one of our own on each provider.
pub(super) fn profiles() -> Vec<(String, Vec<Value>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let m = crate::load(&p, &name, crate::testing::today()).unwrap();
        out.push((name, values(&m)));
    }
    for provider in ["istio", "linkerd"] {
        out.push((format!("meshed ({provider})"), values(&meshed(provider))));
    }
    out
}

/// `MESHED` on `provider`, with a Gateway routing into `a`.
pub(super) fn meshed(provider: &str) -> crate::Model {
    let head = crate::testing::HEAD.replace(
        "kubernetesVersion: \"1.33\"}",
        "kubernetesVersion: \"1.33\", gateways: [{name: public, namespace: gw, podLabels: {app: gw}, serviceAccount: public-gw, routeNamespaces: [a]}]}",
    );
    let text = format!("{head}{}", MESHED.replace("PROVIDER", provider));
    match crate::load_text(&text, "t.yaml", crate::testing::today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

pub(super) fn values(m: &crate::Model) -> Vec<Value> {
    crate::render(m)
        .unwrap()
        .set
        .iter()
        .map(|o| serde_saphyr::from_str(o.body()).unwrap())
        .collect()
}

/// Every source of allowance at once: defaults, flows of each kind (labels,
/// CIDR, UDP, ranges on Istio, named ports), a routed Gateway, the log
/// collector shipping to an Elasticsearch beside it.
const MESHED: &str = "mesh: {provider: PROVIDER}
logging:
  namespace: logging
  sources: [pods]
  elasticsearch: {host: elasticsearch.logging.svc, indexPrefix: x, credentialsSecret: es}
defaults:
  network:
    defaultDeny: [ingress, egress]
    allowSameNamespace: true
    allowFromIngressController: {namespace: ingress-nginx}
namespaces:
  - name: a
    network:
      ingress:
        - from: {namespace: b, podLabels: {app: fe}}
          ports: [8080/TCP, 53/UDP, metrics/TCP]
        - from: {cidr: 10.20.0.0/16, except: [10.20.1.0/24]}
          ports: [9443/TCP]
      egress:
        - to: {namespace: b}
          ports: [7000/TCP]
  - name: b
    network:
      egress:
        - to: {namespace: a, podLabels: {app: api}}
  - name: gw
  - name: search
";

#[test]
fn every_rendered_network_policy_name_is_a_known_one() {
    for (profile, objs) in profiles() {
        for o in objs.iter().filter(|o| o["kind"] == "NetworkPolicy") {
            let name = o["metadata"]["name"].as_str().unwrap();
            assert!(
                known(name),
                "{profile}: NetworkPolicy {name} is not in NAMES"
            );
        }
    }
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

/// The contract profile, rendered, evaluated from its NetworkPolicies alone.
#[test]
fn contract_profile_allows_exactly_the_intended_flows() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prod-east.yaml");
    let model = crate::load(&path, "prod-east.yaml", crate::testing::today()).unwrap();
    let r = crate::render(&model).unwrap();
    let policies: Vec<NetworkPolicy> = r
        .set
        .iter()
        .filter(|m| m.kind() == "NetworkPolicy")
        .map(|m| serde_saphyr::from_str(m.body()).unwrap())
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

/// Each allowance says where it came from: the concern and the profile field.
#[test]
fn allowances_carry_their_origin() {
    let m = meshed("istio");
    let origin = |ns: &str, name: &str| {
        let a = m
            .allowances()
            .iter()
            .find(|a| &*a.namespace == ns && a.name == name)
            .unwrap_or_else(|| panic!("no {ns}/{name}"));
        (a.origin.concern, a.origin.path().to_string())
    };
    assert_eq!(
        origin("a", "allow-ingress-1"),
        ("network", "namespaces[0].network.ingress[1]".to_owned())
    );
    assert_eq!(
        origin("a", "allow-ingress-from-b-0"),
        ("network", "namespaces[1].network.egress[0]".to_owned())
    );
    assert_eq!(
        origin("a", "allow-from-gateway-gw-public"),
        ("gateway", "cluster.gateways[0]".to_owned())
    );
    assert_eq!(
        origin("a", "allow-same-namespace"),
        ("network", "defaults.network.allowSameNamespace".to_owned())
    );
    assert_eq!(origin("a", "allow-istio-control-plane").0, "mesh");
    assert_eq!(
        origin("logging", "allow-from-log-collector"),
        ("logging", "logging.elasticsearch.host".to_owned())
    );
    // Only the directions a namespace denies: `logging` is not a profile
    // namespace and denies ingress only, so the collector's egress is open.
    assert!(
        m.allowances()
            .of("logging")
            .iter()
            .all(|a| a.direction == crate::input::profile::Direction::Ingress)
    );
    let (_, logging) = m
        .allowances()
        .namespaces()
        .find(|(n, _)| *n == "logging")
        .unwrap();
    let iso = logging.isolation.as_ref().unwrap();
    assert_eq!((iso.ingress, iso.egress), (true, false));
    assert_eq!(iso.origin.path().to_string(), "logging.namespace");
}
