//! Gateway API (`cluster.gateways`): which Gateways tenant routes may attach to
//! and the allowances of the flows from their data-plane pods, both halves:
//! ingress in every routed namespace, egress in the pods' namespace when
//! kharden manages it (the plan keeps the halves of denied directions; the
//! network concern renders them, the mesh grants the proxies' service account
//! from the same allowance). The admission side (route hosts, parents) lives
//! with the other rules in `policy`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::input::diag::{Diagnostic, nearest};
use crate::input::profile::{Direction, MeshProvider};
use crate::input::source::FieldPath;
use crate::k8s::names;
use crate::pipeline::allowance::{Allowance, Contributions, Origin, Peer};
use crate::pipeline::model::{Model, label, labels};

pub(crate) fn validate(
    m: &Model,
    _plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    let p = &m.profile;
    let ours: BTreeSet<&str> = p.namespaces.iter().map(|n| n.name.as_str()).collect();
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let meshed = p
        .mesh
        .as_ref()
        .is_some_and(|x| x.provider != MeshProvider::None);
    for (i, g) in p.cluster.gateways.iter().enumerate() {
        let base = FieldPath::root().key("cluster").key("gateways").index(i);
        if let Err(e) = names::dns_subdomain(&g.name) {
            out.push(
                Diagnostic::error(
                    base.key("name"),
                    format!("`{}` is not a valid Gateway name: {e}", g.name),
                )
                .hint("write the Gateway object's name, e.g. `public`"),
            );
        }
        label(out, &base.key("namespace"), &g.namespace);
        if let Some(n) = &g.pod_namespace {
            label(out, &base.key("podNamespace"), n);
        }
        labels(out, &base.key("podLabels"), &g.pod_labels);
        match &g.service_account {
            Some(sa) => {
                if let Err(e) = names::dns_subdomain(sa) {
                    out.push(
                        Diagnostic::error(
                            base.key("serviceAccount"),
                            format!("`{sa}` is not a valid service account name: {e}"),
                        )
                        .hint("write the name of the service account the Gateway's proxy pods run as"),
                    );
                }
            }
            // The mesh grants name the proxies' identity; without it they could
            // only name the whole pod namespace.
            None if meshed => out.push(
                Diagnostic::error(
                    base.clone(),
                    format!(
                        "Gateway `{}/{}` has no `serviceAccount`: with a mesh, the routed namespaces authorize its proxies by their service account",
                        g.namespace, g.name
                    ),
                )
                .hint(format!(
                    "add `serviceAccount:` with the service account of its proxy pods: Istio and NGINX Gateway Fabric name it `<name>-<gatewayClassName>` (e.g. `{}-istio`), Envoy Gateway `envoy-<namespace>-<name>-<hash>` (the proxy Deployment's name)",
                    g.name
                )),
            ),
            None => {}
        }
        for (j, n) in g.route_namespaces.iter().enumerate() {
            if !ours.contains(n.as_str()) {
                let hint = match nearest(n, ours.iter().copied()) {
                    Some(x) => format!("did you mean `{x}`?"),
                    None => {
                        "list namespaces of the profile; leave the list out to route to all of them"
                            .to_owned()
                    }
                };
                out.push(
                    Diagnostic::error(
                        base.key("routeNamespaces").index(j),
                        format!("namespace `{n}` is not in the profile"),
                    )
                    .hint(hint),
                );
            }
        }
        if let Some(first) = seen.insert((g.namespace.as_str(), g.name.as_str()), i) {
            out.push(
                Diagnostic::error(
                    base.clone(),
                    format!(
                        "Gateway `{}/{}` is listed twice (cluster.gateways[{first}])",
                        g.namespace, g.name
                    ),
                )
                .hint("merge the two entries into one"),
            );
        }
    }
}

/// The Gateways' allowances. Ports stay open: which backend ports a route
/// forwards to is the route's, written by the tenant later.
pub(crate) fn allowances(m: &Model, c: &mut Contributions) {
    let p = &m.profile;
    let base = FieldPath::root().key("cluster").key("gateways");
    let ours: BTreeSet<&str> = p.namespaces.iter().map(|n| n.name.as_str()).collect();
    let all_ports: Arc<[crate::pipeline::flows::PortSpec]> = Arc::new([]);
    for (k, g) in p.cluster.gateways.iter().enumerate() {
        let origin = Origin::new("gateway", Arc::new(base.index(k)));
        let labels = Arc::new(g.pod_labels.clone());
        // Its proxies, by label and, for the mesh, by service account.
        let proxies = Peer::Pods {
            namespace: g.proxy_namespace().into(),
            labels: labels.clone(),
            service_account: g.service_account.as_deref().map(Arc::from),
        };
        let routed: Vec<&str> = p
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .filter(|n| g.routes_from(n))
            .collect();
        let name = format!("allow-from-gateway-{}-{}", g.namespace, g.name);
        for ns in &routed {
            c.allow(Allowance::new(
                ns,
                Direction::Ingress,
                name.clone(),
                proxies.clone(),
                all_ports.clone(),
                origin.clone(),
            ));
        }
        let home = g.proxy_namespace();
        let others: Vec<String> = routed
            .iter()
            .filter(|n| **n != home)
            .map(|n| (*n).to_owned())
            .collect();
        if ours.contains(home) && !others.is_empty() {
            c.allow(Allowance {
                pods: labels,
                ..Allowance::new(
                    home,
                    Direction::Egress,
                    format!("allow-egress-to-routes-{}-{}", g.namespace, g.name),
                    Peer::Namespaces(others),
                    all_ports.clone(),
                    origin,
                )
            });
        }
    }
}

/// The namespaces the Gateways' proxies run in, which flows may name.
pub(crate) fn outside_namespaces(m: &Model, out: &mut BTreeSet<String>) {
    for g in &m.profile.cluster.gateways {
        out.insert(g.proxy_namespace().to_owned());
    }
}

/// What the Gateways' flows cannot say by themselves.
pub(crate) fn notes(m: &Model) -> Vec<String> {
    let gateways = &m.profile.cluster.gateways;
    if gateways.is_empty() {
        return Vec::new();
    }
    let mut out = vec!["note: `cluster.gateways`: the NetworkPolicies select the Gateways' data-plane pods; an implementation whose proxy is not a pod is not matched by them: allow Cilium's per-node Envoy with Cilium's own policy, and a cloud-managed Gateway (GKE `gke-l7-*`, AWS Load Balancer Controller, Azure Application Gateway for Containers) by its load balancer's address ranges as a `cidr` flow".to_owned()];
    for g in gateways {
        if g.pod_labels.is_empty() {
            out.push(format!(
                "note: `cluster.gateways` {}/{}: no `podLabels`, so every pod of namespace `{}` may reach the routed namespaces; name the Gateway's data-plane pods to narrow it",
                g.namespace,
                g.name,
                g.proxy_namespace()
            ));
        }
    }
    if m.profile
        .mesh
        .as_ref()
        .is_some_and(|x| x.provider != MeshProvider::None)
    {
        out.push("note: `cluster.gateways` with a mesh: the routed namespaces authorize each Gateway's `serviceAccount` by mesh identity, so the Gateway's pods must be in the mesh (an Istio gateway is; Envoy Gateway or NGINX pods need the sidecar injected) or STRICT mTLS refuses their plain-text requests".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::networking::v1::NetworkPolicy;

    use crate::k8s::netpol_eval::{Cluster, Endpoint};
    use crate::testing::{HEAD, today};

    /// `HEAD` with `gateways` in its cluster line, then `body`.
    fn text(gateways: &str, body: &str) -> String {
        let head = HEAD.replace(
            "kubernetesVersion: \"1.33\"}",
            &format!("kubernetesVersion: \"1.33\", gateways: {gateways}}}"),
        );
        format!("{head}{body}")
    }

    const GATEWAYS: &str = "[{name: public, namespace: gw, podLabels: {gateway.networking.k8s.io/gateway-name: public}, routeNamespaces: [a]}, {name: all, namespace: gw2, podNamespace: envoy-gateway-system}]";
    const BODY: &str = "namespaces:\n  - name: a\n  - name: b\n  - name: gw\n";

    fn cluster() -> Cluster {
        let m = crate::load_text(&text(GATEWAYS, BODY), "t.yaml", today()).unwrap();
        let r = crate::render(&m).unwrap();
        let nps: Vec<NetworkPolicy> = r
            .set
            .iter()
            .filter(|m| m.kind() == "NetworkPolicy")
            .map(|m| serde_saphyr::from_str(m.body()).unwrap())
            .collect();
        Cluster::new(nps)
    }

    #[test]
    fn gateway_pods_reach_routed_namespaces_only() {
        let c = cluster();
        let gw = Endpoint::pod(
            "gw",
            &[("gateway.networking.k8s.io/gateway-name", "public")],
        );
        let other_gw_pod = Endpoint::pod("gw", &[("app", "x")]);
        let target = |ns: &str| Endpoint::pod(ns, &[("app", "web")]);
        assert!(c.allows(&gw, &target("a"), 8080, "TCP"), "both halves open");
        assert!(
            !c.allows(&gw, &target("b"), 8080, "TCP"),
            "b is not routed by public"
        );
        assert!(
            !c.allows(&other_gw_pod, &target("a"), 8080, "TCP"),
            "other pods of the gateway namespace stay denied"
        );
        // The second Gateway routes everywhere from Envoy Gateway's namespace
        // (unmanaged, so only the ingress halves exist).
        let eg = Endpoint::pod("envoy-gateway-system", &[("app", "envoy")]);
        assert!(c.allows(&eg, &target("a"), 443, "TCP"));
        assert!(c.allows(&eg, &target("b"), 443, "TCP"));
        assert!(c.allows(&eg, &target("gw"), 443, "TCP"));
        assert!(!c.allows(&Endpoint::pod("elsewhere", &[]), &target("b"), 443, "TCP"));
        assert!(
            !c.allows(&target("a"), &gw, 443, "TCP"),
            "nothing flows back"
        );
    }

    #[test]
    fn notes_say_what_the_flows_cannot() {
        let notes = |gateways: &str, body: &str| {
            let m = crate::load_text(&text(gateways, body), "t.yaml", today()).unwrap();
            super::notes(&m)
        };
        assert!(notes("[]", BODY).is_empty());
        let n = notes(GATEWAYS, BODY);
        assert_eq!(n.len(), 2, "{n:?}");
        assert!(
            n[0].contains("an implementation whose proxy is not a pod"),
            "{n:?}"
        );
        assert!(
            n[1].contains("`cluster.gateways` gw2/all: no `podLabels`, so every pod of namespace `envoy-gateway-system` may reach"),
            "{n:?}"
        );
        let n = notes(
            &GATEWAYS
                .replace(
                    "public}, routeNamespaces",
                    "public}, serviceAccount: public-istio, routeNamespaces",
                )
                .replace(
                    "podNamespace: envoy-gateway-system}",
                    "podNamespace: envoy-gateway-system, serviceAccount: envoy-gw2-all-0123abcd}",
                ),
            &format!("mesh: {{provider: linkerd}}\n{BODY}"),
        );
        assert!(
            n.iter()
                .any(|x| x.contains("so the Gateway's pods must be in the mesh")),
            "{n:?}"
        );
    }

    /// Istio meshes `a` and `gw`; the Gateway's proxies run as `public-istio` in `gw`.
    const MESHED: &str = "[{name: public, namespace: gw, podLabels: {gateway.networking.k8s.io/gateway-name: public}, serviceAccount: public-istio, routeNamespaces: [a]}]";

    fn objects(text: &str) -> Vec<(String, serde_json::Value)> {
        let m = crate::load_text(text, "t.yaml", today()).unwrap();
        crate::render(&m)
            .unwrap()
            .set
            .iter()
            .map(|m| {
                (
                    m.path().to_owned(),
                    serde_saphyr::from_str(m.body()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn the_mesh_grants_the_gateways_service_account_not_its_namespace() {
        // #30 item 12.
        use crate::verify::istio::{Decision, Source, Target, decide};
        let objs = objects(&text(MESHED, &format!("mesh: {{provider: istio}}\n{BODY}")));
        let ap = crate::testing::object(
            &objs,
            "a/authorizationpolicy-allow-from-gateway-gw-public.yaml",
        );
        assert_eq!(
            ap["spec"]["rules"][0]["from"],
            serde_json::json!([{"source": {"principals": ["cluster.local/ns/gw/sa/public-istio"]}}])
        );
        let values: Vec<serde_json::Value> = objs.into_iter().map(|(_, v)| v).collect();
        let labels = std::collections::BTreeMap::from([("app".to_owned(), "web".to_owned())]);
        let to = Target {
            namespace: "a",
            labels: &labels,
            port: 8080,
            method: None,
            path: None,
        };
        let from = |sa: &str| Source {
            namespace: "gw".to_owned(),
            service_account: sa.to_owned(),
            meshed: true,
        };
        assert_eq!(
            decide(&values, &from("public-istio"), &to, true),
            Some(Decision::Allowed(
                "AuthorizationPolicy a/allow-from-gateway-gw-public".to_owned()
            ))
        );
        for other in ["default", "other-app"] {
            assert!(
                matches!(
                    decide(&values, &from(other), &to, true),
                    Some(Decision::Denied(_))
                ),
                "{other} beside the Gateway's proxies"
            );
        }
    }

    #[test]
    fn linkerd_authorizes_the_gateways_service_account_identity() {
        let objs = objects(&text(
            MESHED,
            &format!("mesh: {{provider: linkerd}}\n{BODY}"),
        ));
        let id = crate::testing::object(
            &objs,
            "a/meshtlsauthentication-serviceaccount-gw-public-istio.yaml",
        );
        assert_eq!(
            id["spec"]["identities"],
            serde_json::json!(["public-istio.gw.serviceaccount.identity.linkerd.cluster.local"])
        );
        let ap = crate::testing::object(
            &objs,
            "a/authorizationpolicy-allow-from-gateway-gw-public.yaml",
        );
        assert_eq!(
            ap["spec"]["requiredAuthenticationRefs"][0]["name"],
            "serviceaccount-gw-public-istio"
        );
        assert!(
            !objs
                .iter()
                .any(|(p, _)| p == "a/meshtlsauthentication-namespace-gw.yaml"),
            "no grant to the whole gateway namespace"
        );
    }

    #[test]
    fn a_mesh_needs_each_gateways_service_account() {
        let e = crate::load_text(
            &text(
                "[{name: public, namespace: gw}, {name: b, namespace: gw, serviceAccount: Bad_SA}]",
                &format!("mesh: {{provider: istio}}\n{BODY}"),
            ),
            "t.yaml",
            today(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("Gateway `gw/public` has no `serviceAccount`: with a mesh, the routed namespaces authorize its proxies by their service account"),
            "{e}"
        );
        assert!(e.contains("(e.g. `public-istio`)"), "{e}");
        assert!(
            e.contains("`Bad_SA` is not a valid service account name"),
            "{e}"
        );
        // Without a mesh nothing names it.
        crate::load_text(
            &text("[{name: public, namespace: gw}]", BODY),
            "t.yaml",
            today(),
        )
        .unwrap();
    }

    #[test]
    fn gateway_entries_are_checked() {
        let e = crate::load_text(
            &text(
                "[{name: Public_1, namespace: gw, podLabels: {\"bad key!\": x}, routeNamespaces: [teama]}, {name: Public_1, namespace: gw}]",
                "namespaces: [{name: team-a}]\n",
            ),
            "t.yaml",
            today(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`Public_1` is not a valid Gateway name"), "{e}");
        assert!(e.contains("`bad key!` is not a valid label key"), "{e}");
        assert!(e.contains("namespace `teama` is not in the profile"), "{e}");
        assert!(e.contains("did you mean `team-a`?"), "{e}");
        assert!(e.contains("Gateway `gw/Public_1` is listed twice"), "{e}");
    }
}
