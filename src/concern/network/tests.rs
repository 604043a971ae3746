//! Tests of the NetworkPolicy rendering, evaluated with the NetworkPolicy evaluator on the contract profile and small ones.

use super::*;
use crate::pipeline::flows::NS_NAME_LABEL;
use crate::pipeline::flows::{PortError, parse_port};
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
