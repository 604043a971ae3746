//! Tests of the allowance plan: every concern's contribution rendered as
//! NetworkPolicies and evaluated; every mesh grant admitted by a
//! NetworkPolicy (both meshes); every policy name typed in one file.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::Value;

use crate::flows::NS_NAME_LABEL;
use crate::netpol_eval::{Cluster, Endpoint};
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
            } else if name.ends_with(".rs") && name != "tests.rs" {
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
fn profiles() -> Vec<(String, Vec<Value>)> {
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
fn meshed(provider: &str) -> crate::Model {
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

fn values(m: &crate::Model) -> Vec<Value> {
    crate::render(m)
        .unwrap()
        .set
        .iter()
        .map(|o| serde_saphyr::from_str(&o.body).unwrap())
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

/// One mesh grant as rendered: into `ns`, from sources, on ports (none: all).
#[derive(Debug)]
struct Grant {
    what: String,
    ns: String,
    from: Vec<Endpoint>,
    ports: Vec<Port>,
}

#[derive(Debug, Clone)]
enum Port {
    Number(i32),
    Named(String),
}

/// A pod of namespace `ns` (labels chosen by `admitted`).
fn ns_source(ns: &str) -> Endpoint {
    Endpoint::pod(ns, &[])
}

/// An address a CIDR grant lets in: the block's own, unless carved out.
fn block_source(cidr: &str, except: &[String]) -> Endpoint {
    let c = crate::net::Cidr::parse(cidr).unwrap();
    let ip = c.network();
    let inside_hole = except.iter().any(|e| {
        let e = crate::net::Cidr::parse(e).unwrap();
        e.contains(&crate::net::Cidr {
            addr: ip,
            prefix: c.prefix.max(if ip.is_ipv4() { 32 } else { 128 }),
        })
    });
    assert!(!inside_hole, "{cidr}: pick another address");
    Endpoint::Ip(ip)
}

/// The namespace of `<sa>.<ns>.serviceaccount.identity.linkerd.<domain>`
/// (or `*.<ns>...`), or of `cluster.local/ns/<ns>/sa/<sa>`.
fn identity_ns(id: &str) -> String {
    if let Some((_, rest)) = id.split_once("/ns/") {
        return rest.split('/').next().unwrap().to_owned();
    }
    id.split('.').nth(1).unwrap().to_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// Istio's ALLOW AuthorizationPolicies that mirror L4 (`allow-rule-*` are the
/// profile's L7 rules, which narrow grants rather than make them).
fn istio_grants(objs: &[Value]) -> Vec<Grant> {
    let mut out = Vec::new();
    for o in objs.iter().filter(|o| {
        o["kind"] == "AuthorizationPolicy"
            && o["apiVersion"]
                .as_str()
                .unwrap()
                .starts_with("security.istio.io")
    }) {
        let name = o["metadata"]["name"].as_str().unwrap();
        let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
        if name.starts_with("allow-rule-")
            || o["spec"]["action"].as_str().is_some_and(|a| a != "ALLOW")
        {
            continue;
        }
        for rule in o["spec"]["rules"].as_array().into_iter().flatten() {
            let mut from = Vec::new();
            for f in rule["from"].as_array().into_iter().flatten() {
                let s = &f["source"];
                from.extend(strings(&s["namespaces"]).iter().map(|n| ns_source(n)));
                from.extend(
                    strings(&s["principals"])
                        .iter()
                        .map(|p| ns_source(&identity_ns(p))),
                );
                let except = strings(&s["notIpBlocks"]);
                from.extend(
                    strings(&s["ipBlocks"])
                        .iter()
                        .map(|c| block_source(c, &except)),
                );
            }
            let ports = rule["to"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| strings(&t["operation"]["ports"]))
                .map(|p| Port::Number(p.parse().unwrap()))
                .collect();
            out.push(Grant {
                what: format!("AuthorizationPolicy {ns}/{name}"),
                ns: ns.to_owned(),
                from,
                ports,
            });
        }
    }
    out
}

/// Linkerd's AuthorizationPolicies on a Server or the whole namespace (those
/// on an HTTPRoute are the profile's L7 rules).
fn linkerd_grants(objs: &[Value]) -> Vec<Grant> {
    let find = |kind: &str, ns: &str, name: &str| {
        objs.iter()
            .find(|o| {
                o["kind"] == kind
                    && o["metadata"]["namespace"] == ns
                    && o["metadata"]["name"] == name
            })
            .unwrap_or_else(|| panic!("no {kind} {ns}/{name}"))
    };
    let mut out = Vec::new();
    for o in objs.iter().filter(|o| {
        o["kind"] == "AuthorizationPolicy"
            && o["apiVersion"]
                .as_str()
                .unwrap()
                .starts_with("policy.linkerd.io")
    }) {
        let name = o["metadata"]["name"].as_str().unwrap();
        let ns = o["metadata"]["namespace"].as_str().unwrap();
        let target = &o["spec"]["targetRef"];
        if name.starts_with("allow-rule-") || target["kind"] == "HTTPRoute" {
            continue;
        }
        let ports = if target["kind"] == "Server" {
            let server = find("Server", ns, target["name"].as_str().unwrap());
            match &server["spec"]["port"] {
                Value::Number(n) => vec![Port::Number(n.as_i64().unwrap() as i32)],
                Value::String(s) => vec![Port::Named(s.clone())],
                other => panic!("Server port {other}"),
            }
        } else {
            vec![]
        };
        let mut from = Vec::new();
        for r in o["spec"]["requiredAuthenticationRefs"].as_array().unwrap() {
            let authn = find(r["kind"].as_str().unwrap(), ns, r["name"].as_str().unwrap());
            from.extend(
                strings(&authn["spec"]["identities"])
                    .iter()
                    .map(|i| ns_source(&identity_ns(i))),
            );
            for n in authn["spec"]["networks"].as_array().into_iter().flatten() {
                from.push(block_source(
                    n["cidr"].as_str().unwrap(),
                    &strings(&n["except"]),
                ));
            }
        }
        out.push(Grant {
            what: format!("AuthorizationPolicy {ns}/{name}"),
            ns: ns.to_owned(),
            from,
            ports,
        });
    }
    out
}

/// The label sets the NetworkPolicies name for pods of each namespace (and
/// no labels): the candidates for "some pod of that namespace".
fn pod_labels(nps: &[NetworkPolicy]) -> BTreeMap<String, BTreeSet<BTreeMap<String, String>>> {
    let mut out: BTreeMap<String, BTreeSet<BTreeMap<String, String>>> = BTreeMap::new();
    let mut add =
        |ns: &str, sel: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>| {
            let labels = sel.and_then(|s| s.match_labels.clone()).unwrap_or_default();
            out.entry(ns.to_owned()).or_default().insert(labels);
            out.entry(ns.to_owned())
                .or_default()
                .insert(BTreeMap::new());
        };
    for np in nps {
        let here = np.metadata.namespace.as_deref().unwrap();
        let spec = np.spec.as_ref().unwrap();
        add(here, spec.pod_selector.as_ref());
        let peers = spec
            .ingress
            .iter()
            .flatten()
            .flat_map(|r| r.from.iter().flatten())
            .chain(
                spec.egress
                    .iter()
                    .flatten()
                    .flat_map(|r| r.to.iter().flatten()),
            );
        for p in peers {
            let ns = p
                .namespace_selector
                .as_ref()
                .and_then(|s| s.match_labels.as_ref())
                .and_then(|l| l.get(NS_NAME_LABEL))
                .map_or(here, String::as_str);
            if p.ip_block.is_none() {
                add(ns, p.pod_selector.as_ref());
            }
        }
    }
    out
}

/// Whether the NetworkPolicies admit `g`: some pod (or the address) of each
/// source reaches some pod of the namespace on each granted port (on some
/// port the policies name, when the grant is for all ports).
fn admitted(c: &Cluster, nps: &[NetworkPolicy], g: &Grant) -> Result<(), String> {
    let labels = pod_labels(nps);
    let none = BTreeSet::from([BTreeMap::new()]);
    let pods = |ns: &str| -> Vec<BTreeMap<String, String>> {
        labels.get(ns).unwrap_or(&none).iter().cloned().collect()
    };
    let mut ports = g.ports.clone();
    if ports.is_empty() {
        let named: BTreeSet<i32> = nps
            .iter()
            .flat_map(|np| np.spec.iter().flat_map(|s| s.ingress.iter().flatten()))
            .flat_map(|r| r.ports.iter().flatten())
            .filter_map(|p| match &p.port {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => Some(*n),
                _ => None,
            })
            .chain([8080])
            .collect();
        ports = named.into_iter().map(Port::Number).collect();
    }
    assert!(!g.from.is_empty(), "{}: no source", g.what);
    for src in &g.from {
        let sources: Vec<Endpoint> = match src {
            Endpoint::Pod { namespace, .. } => pods(namespace)
                .into_iter()
                .map(|l| Endpoint::Pod {
                    namespace: namespace.clone(),
                    labels: l,
                    named_ports: BTreeMap::new(),
                })
                .collect(),
            ip => vec![ip.clone()],
        };
        let ok = sources.iter().any(|s| {
            pods(&g.ns).into_iter().any(|l| {
                let dst = |named: Option<&str>| Endpoint::Pod {
                    namespace: g.ns.clone(),
                    labels: l.clone(),
                    named_ports: named
                        .map(|n| BTreeMap::from([(n.to_owned(), (8080, "TCP".to_owned()))]))
                        .unwrap_or_default(),
                };
                let check = |p: &Port| match p {
                    Port::Number(n) => c.allows(s, &dst(None), *n, "TCP"),
                    Port::Named(n) => c.allows(s, &dst(Some(n)), 8080, "TCP"),
                };
                if g.ports.is_empty() {
                    ports.iter().any(check)
                } else {
                    ports.iter().all(check)
                }
            })
        });
        if !ok {
            return Err(format!(
                "{}: no NetworkPolicy admits {src:?} on {ports:?}",
                g.what
            ));
        }
    }
    Ok(())
}

/// #32 item 1: what the mesh lets in, L4 lets in too; every grant of both
/// meshes, on the example profiles and a meshed profile of every source.
#[test]
fn every_mesh_grant_has_its_network_policy() {
    let mut checked = BTreeMap::new();
    for (profile, objs) in profiles() {
        let nps: Vec<NetworkPolicy> = objs
            .iter()
            .filter(|o| o["kind"] == "NetworkPolicy")
            .map(|o| serde_json::from_value(o.clone()).unwrap())
            .collect();
        let c = Cluster::new(nps.clone());
        for g in istio_grants(&objs).into_iter().chain(linkerd_grants(&objs)) {
            if let Err(e) = admitted(&c, &nps, &g) {
                panic!("{profile}: {e}");
            }
            *checked.entry(profile.clone()).or_insert(0) += 1;
        }
    }
    for p in [
        "prod-east.yaml",
        "linkerd.yaml",
        "meshed (istio)",
        "meshed (linkerd)",
    ] {
        assert!(checked.get(p).is_some_and(|n| *n >= 3), "{p}: {checked:?}");
    }
}

/// The check above fails when a grant has no NetworkPolicy.
#[test]
fn a_grant_without_its_network_policy_is_caught() {
    let objs = values(&meshed("istio"));
    let nps: Vec<NetworkPolicy> = objs
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy" && o["metadata"]["name"] != "allow-ingress-1")
        .map(|o| serde_json::from_value(o.clone()).unwrap())
        .collect();
    let c = Cluster::new(nps.clone());
    let g = istio_grants(&objs)
        .into_iter()
        .find(|g| g.what == "AuthorizationPolicy a/allow-ingress-1")
        .unwrap();
    assert!(admitted(&c, &nps, &g).is_err());
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

/// Each allowance says where it came from: the concern and the profile field.
#[test]
fn allowances_carry_their_origin() {
    let m = meshed("istio");
    let origin = |ns: &str, name: &str| {
        let a = m
            .plan
            .allowances
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
        m.plan
            .allowances
            .of("logging")
            .iter()
            .all(|a| a.direction == crate::profile::Direction::Ingress)
    );
    let (_, logging) = m
        .plan
        .allowances
        .namespaces()
        .find(|(n, _)| *n == "logging")
        .unwrap();
    let iso = logging.isolation.as_ref().unwrap();
    assert_eq!((iso.ingress, iso.egress), (true, false));
    assert_eq!(iso.origin.path().to_string(), "logging.namespace");
}
