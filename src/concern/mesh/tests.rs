//! Tests of the mesh rendering, both providers, through the public render.

use crate::testing::{assert_contains_all, errors, object, render};

const ISTIO: &str = "mesh: {provider: istio, accessLogging: true, allowedExternalHosts: [login.example.com]}\ndefaults:\n  network: {allowSameNamespace: true}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b}\n          ports: [8080/TCP, 53/UDP]\n    mesh:\n      mtls: permissive\n      allowedExternalHosts: [\"*.github.com\"]\n  - name: b\n    mesh:\n      authorization:\n        - from: {namespace: a}\n          methods: [GET]\n          ports: [\"9090\"]\n";

#[test]
fn istio_mtls_is_strict_mesh_wide_and_overridden_only_explicitly() {
    let objs = render(ISTIO);
    let pa = object(&objs, "istio-system/peerauthentication-default.yaml");
    assert_eq!(pa["apiVersion"], "security.istio.io/v1");
    assert_eq!(pa["spec"]["mtls"]["mode"], "STRICT");
    assert!(pa["spec"].get("selector").is_none());
    let a = object(&objs, "a/peerauthentication-default.yaml");
    assert_eq!(a["spec"]["mtls"]["mode"], "PERMISSIVE");
    assert!(
        !objs
            .iter()
            .any(|(p, _)| p == "b/peerauthentication-default.yaml")
    );
    let ns = object(&objs, "_cluster/namespace-a.yaml");
    assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
}

#[test]
fn istio_l7_mirrors_l4_and_rules_replace_the_mirror_for_their_source() {
    let objs = render(ISTIO);
    let nothing = object(&objs, "a/authorizationpolicy-allow-nothing.yaml");
    assert_eq!(nothing["spec"], serde_json::json!({}));
    let same = object(&objs, "a/authorizationpolicy-allow-same-namespace.yaml");
    assert_eq!(
        same["spec"]["rules"][0]["from"][0]["source"]["namespaces"][0],
        "a"
    );
    // The L4 flow from b on 8080/TCP (53/UDP is not carried by the mesh).
    let flow = object(&objs, "a/authorizationpolicy-allow-ingress-0.yaml");
    assert_eq!(
        flow["spec"]["rules"][0]["to"][0]["operation"]["ports"],
        serde_json::json!(["8080"])
    );
    // b names `a` in an explicit rule: no mirror of an L4 grant for it, the rule instead.
    let rule = object(&objs, "b/authorizationpolicy-allow-rule-0.yaml");
    let op = &rule["spec"]["rules"][0]["to"][0]["operation"];
    assert_eq!(op["methods"][0], "GET");
    assert_eq!(op["ports"][0], "9090", "ports are strings");
    // The Sidecar of `b` sees `a`, which it may call at L4 (the egress half of a's flow).
    let sc = object(&objs, "b/sidecar-default.yaml");
    let hosts = &sc["spec"]["egress"][0]["hosts"];
    assert_eq!(*hosts, serde_json::json!(["./*", "istio-system/*", "a/*"]));
    assert_eq!(sc["spec"]["outboundTrafficPolicy"]["mode"], "REGISTRY_ONLY");
}

#[test]
fn istio_service_entries_telemetry_and_values() {
    let objs = render(ISTIO);
    let se = object(&objs, "a/serviceentry-external-wildcard-github-com.yaml");
    assert_eq!(se["spec"]["resolution"], "NONE", "wildcards cannot use DNS");
    assert_eq!(se["spec"]["exportTo"], serde_json::json!(["."]));
    let se = object(&objs, "b/serviceentry-external-login-example-com.yaml");
    assert_eq!(se["spec"]["location"], "MESH_EXTERNAL");
    assert_eq!(se["spec"]["resolution"], "DNS");
    assert_eq!(se["spec"]["ports"][0]["protocol"], "TLS");
    let t = object(&objs, "istio-system/telemetry-mesh-default.yaml");
    assert_eq!(
        t["spec"]["accessLogging"][0]["providers"][0]["name"],
        "envoy"
    );
    let v = object(&objs, "istio-system/configmap-kharden-istio-values.yaml");
    let values: serde_json::Value =
        serde_saphyr::from_str(v["data"]["values.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(values["pilot"]["cni"]["enabled"], true);
    assert_eq!(
        values["meshConfig"]["outboundTrafficPolicy"]["mode"],
        "REGISTRY_ONLY"
    );
}

#[test]
fn istio_external_hosts_go_through_the_egress_gateway() {
    let objs = render(ISTIO);
    let gw = object(&objs, "istio-system/gateway-egress.yaml");
    assert_eq!(gw["apiVersion"], "networking.istio.io/v1");
    assert_eq!(gw["spec"]["selector"]["istio"], "egressgateway");
    let server = &gw["spec"]["servers"][0];
    assert_eq!(
        server["port"],
        serde_json::json!({"number": 443, "name": "tls", "protocol": "TLS"})
    );
    assert_eq!(server["tls"]["mode"], "PASSTHROUGH");
    // Exact hosts only, bindable from the gateway's own namespace.
    assert_eq!(server["hosts"], serde_json::json!(["./login.example.com"]));
    // Gateway to host, seen only in istio-system.
    let se = object(
        &objs,
        "istio-system/serviceentry-egress-login-example-com.yaml",
    );
    assert_eq!(se["spec"]["exportTo"], serde_json::json!(["."]));
    let vs = object(
        &objs,
        "istio-system/virtualservice-egress-login-example-com.yaml",
    );
    assert_eq!(vs["spec"]["gateways"], serde_json::json!(["egress"]));
    let route = &vs["spec"]["tls"][0];
    assert_eq!(route["match"][0]["sniHosts"][0], "login.example.com");
    assert_eq!(route["match"][0]["gateways"][0], "egress");
    assert_eq!(
        route["route"][0]["destination"],
        serde_json::json!({"host": "login.example.com", "port": {"number": 443}})
    );
    // Mesh to gateway, per namespace.
    for ns in ["a", "b"] {
        let vs = object(
            &objs,
            &format!("{ns}/virtualservice-external-login-example-com.yaml"),
        );
        assert_eq!(vs["spec"]["gateways"], serde_json::json!(["mesh"]));
        assert_eq!(vs["spec"]["exportTo"], serde_json::json!(["."]));
        let r = &vs["spec"]["tls"][0];
        assert_eq!(r["match"][0]["port"], 443);
        assert_eq!(
            r["route"][0]["destination"],
            serde_json::json!({"host": super::istio_types::EGRESS_GATEWAY_SVC, "subset": "external", "port": {"number": 443}})
        );
        let dr = object(
            &objs,
            &format!("{ns}/destinationrule-istio-egressgateway.yaml"),
        );
        assert_eq!(dr["spec"]["host"], super::istio_types::EGRESS_GATEWAY_SVC);
        assert_eq!(dr["spec"]["subsets"][0]["name"], "external");
        // The NetworkPolicy: the gateway's pods, on its ports, nothing else.
        let np = object(
            &objs,
            &format!("{ns}/networkpolicy-allow-istio-egressgateway.yaml"),
        );
        let rule = &np["spec"]["egress"][0];
        assert_eq!(rule["to"].as_array().unwrap().len(), 1, "one ANDed peer");
        assert_eq!(
            rule["to"][0]["podSelector"]["matchLabels"]["istio"],
            "egressgateway"
        );
        assert_eq!(
            rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "istio-system"
        );
        assert!(rule["to"][0].get("ipBlock").is_none());
    }
    // A wildcard cannot pass a TLS-passthrough gateway: ServiceEntry only, and a note.
    object(&objs, "a/serviceentry-external-wildcard-github-com.yaml");
    assert!(
        !objs
            .iter()
            .any(|(p, _)| p.contains("virtualservice-external-wildcard"))
    );
    let model = crate::testing::model(ISTIO);
    let notes = super::notes(&model).join("\n");
    assert!(notes.contains("namespace `a`: the wildcard host(s) `*.github.com` cannot go through the egress gateway"), "{notes}");
    assert!(!notes.contains("namespace `b`"), "{notes}");
    // Without external hosts, no gateway objects and no egress to it.
    let objs = render("mesh: {provider: istio}\nnamespaces:\n  - name: a\n");
    assert!(
        !objs.iter().any(|(p, _)| p.contains("egress")),
        "{:?}",
        objs.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
}

const SERVICES: &str = "mesh:\n  provider: istio\n  defaults: {timeout: 15s, retries: {attempts: 3, perTryTimeout: 5s}}\nnamespaces:\n  - name: a\n    mesh:\n      services:\n        - {name: api, port: 8080, timeout: 2s, retries: {attempts: 5, perTryTimeout: 500ms}}\n        - {name: api, port: 9090}\n        - {name: db, port: 5432, retries: {attempts: 1}}\n";

#[test]
fn istio_listed_services_get_virtual_services_with_timeouts_and_retries() {
    let objs = render(SERVICES);
    let vs = object(&objs, "a/virtualservice-service-api.yaml");
    let host = "api.a.svc.cluster.local";
    assert_eq!(vs["spec"]["hosts"], serde_json::json!([host]));
    let http = vs["spec"]["http"].as_array().unwrap();
    assert_eq!(http.len(), 3, "one route per listed port, then a catch-all");
    assert_eq!(http[0]["match"][0]["port"], 8080);
    assert_eq!(http[0]["route"][0]["destination"]["port"]["number"], 8080);
    assert_eq!(http[0]["timeout"], "2s");
    assert_eq!(
        http[0]["retries"],
        serde_json::json!({"attempts": 5, "perTryTimeout": "500ms"})
    );
    // No own timeout: the mesh default; no own retries: the mesh config's policy.
    assert_eq!(http[1]["match"][0]["port"], 9090);
    assert_eq!(http[1]["timeout"], "15s");
    assert!(http[1].get("retries").is_none());
    assert!(http[2].get("match").is_none());
    assert!(http[2].get("timeout").is_none());
    assert_eq!(
        http[2]["route"][0]["destination"],
        serde_json::json!({"host": host})
    );
    let db = object(&objs, "a/virtualservice-service-db.yaml");
    assert_eq!(
        db["spec"]["http"][0]["retries"],
        serde_json::json!({"attempts": 1})
    );
    // Mesh-wide retries in the mesh config fragment the user applies.
    let v = object(&objs, "istio-system/configmap-kharden-istio-values.yaml");
    let values: serde_json::Value =
        serde_saphyr::from_str(v["data"]["values.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(
        values["meshConfig"]["defaultHttpRetryPolicy"],
        serde_json::json!({"attempts": 3, "perTryTimeout": "5s"})
    );
    let model = crate::testing::model(SERVICES);
    let notes = super::notes(&model).join("\n");
    assert!(
        notes.contains("`mesh.defaults.timeout` applies only to services listed"),
        "{notes}"
    );
    assert!(!notes.contains("not rendered"), "{notes}");
}

#[test]
fn service_overrides_are_checked() {
    let e = errors(
        "mesh: {provider: istio}\nnamespaces:\n  - name: a\n    mesh:\n      services:\n        - {name: Api, port: 8080, timeout: \"2\"}\n        - {name: db, port: 5432}\n        - {name: db, port: 5432, retries: {attempts: 2, perTryTimeout: 1x}}\n        - {name: web, port: 0, timeout: 1s}\n",
    );
    assert_contains_all(
        &e,
        &[
            "`Api` is not a Service name",
            "`2` needs a unit",
            "service `db` sets neither `timeout` nor `retries`",
            "service `db` port 5432 is listed twice",
            "`1x` needs a unit",
            "port 0 is not a Service port",
        ],
    );
}

#[test]
fn linkerd_denies_by_default_and_authorizes_grants() {
    let objs = render(
        "mesh: {provider: linkerd, outboundTraffic: allowAny, accessLogging: true}\ndefaults:\n  network: {allowSameNamespace: true}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b}\n          ports: [8080/TCP]\n        - from: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n          ports: [http/TCP]\n  - name: b\n",
    );
    let ns = object(&objs, "_cluster/namespace-a.yaml");
    let ann = &ns["metadata"]["annotations"];
    assert_eq!(ann["config.linkerd.io/default-inbound-policy"], "deny");
    assert_eq!(ann["linkerd.io/inject"], "enabled");
    assert_eq!(ann["config.linkerd.io/access-log"], "json");
    let srv = object(&objs, "a/server-port-8080.yaml");
    assert_eq!(srv["apiVersion"], "policy.linkerd.io/v1beta3");
    assert_eq!(srv["spec"]["port"], 8080);
    assert_eq!(
        object(&objs, "a/server-port-http.yaml")["spec"]["port"],
        "http"
    );
    let ap = object(
        &objs,
        "a/authorizationpolicy-allow-ingress-0-port-8080.yaml",
    );
    assert_eq!(ap["spec"]["targetRef"]["kind"], "Server");
    assert_eq!(
        ap["spec"]["requiredAuthenticationRefs"][0]["name"],
        "namespace-b"
    );
    let id = object(&objs, "a/meshtlsauthentication-namespace-b.yaml");
    assert_eq!(
        id["spec"]["identities"][0],
        "*.b.serviceaccount.identity.linkerd.cluster.local"
    );
    let na = object(
        &objs,
        "a/networkauthentication-allow-ingress-1-network.yaml",
    );
    assert_eq!(na["spec"]["networks"][0]["except"][0], "10.1.0.0/16");
    let same = object(&objs, "a/authorizationpolicy-allow-same-namespace.yaml");
    assert_eq!(same["spec"]["targetRef"]["kind"], "Namespace");
}

#[test]
fn linkerd_refuses_what_it_cannot_express() {
    let e = errors(
        "mesh: {provider: linkerd}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b}\n          ports: [8000-8100/TCP]\n    mesh:\n      mtls: permissive\n      authorization:\n        - from: {namespace: b}\n          paths: [\"/x\"]\n        - from: {namespace: b}\n          methods: [BREW]\n          paths: [\"/api*\", \"/x/*.js\"]\n          ports: [\"8080\"]\n  - name: b\n",
    );
    assert_contains_all(
        &e,
        &[
            "Linkerd has no permissive mTLS mode",
            "Linkerd cannot authorize a port range",
        ],
    );
    // A route needs a Server, so a port: the only flow from b is a range.
    assert_contains_all(
        &e,
        &[
            "a Linkerd method or path rule needs a port",
            "Linkerd cannot match method `BREW`",
            "Linkerd matches path prefixes by whole segments, so `/api*`",
            "Linkerd has no suffix or infix match for `/x/*.js`",
        ],
    );
    // Egress control and hosts are no longer refused (rendered, or said in a note).
    assert!(!e.contains("outboundTraffic"), "{e}");
    assert!(e.contains("the profile has 6 problems"), "{e}");
}

#[test]
fn linkerd_methods_and_paths_become_http_routes_on_the_flow_port() {
    let body = "mesh: {provider: linkerd, allowedExternalHosts: [login.example.com]}\ndefaults:\n  network: {allowSameNamespace: true}\nnamespaces:\n  - name: a\n    network:\n      ingress:\n        - from: {namespace: b, podLabels: {app: fe}}\n          ports: [8080/TCP]\n    mesh:\n      authorization:\n        - from: {namespace: b}\n          methods: [GET, POST]\n          paths: [\"/api/*\", \"/health\"]\n  - name: b\n";
    let objs = render(body);
    // The port comes from the L4 flow that lets b in.
    assert_eq!(
        object(&objs, "a/server-port-8080.yaml")["spec"]["port"],
        8080
    );
    let route = object(&objs, "a/httproute-rule-0-port-8080.yaml");
    assert_eq!(route["apiVersion"], "policy.linkerd.io/v1beta3");
    assert_eq!(
        route["spec"]["parentRefs"][0],
        serde_json::json!({"group": "policy.linkerd.io", "kind": "Server", "name": "port-8080"})
    );
    let matches = route["spec"]["rules"][0]["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 4, "every method with every path");
    assert!(matches.contains(
        &serde_json::json!({"method": "GET", "path": {"type": "PathPrefix", "value": "/api/"}})
    ));
    assert!(matches.contains(
        &serde_json::json!({"method": "POST", "path": {"type": "Exact", "value": "/health"}})
    ));
    let ap = object(&objs, "a/authorizationpolicy-allow-rule-0-port-8080.yaml");
    assert_eq!(ap["spec"]["targetRef"]["kind"], "HTTPRoute");
    assert_eq!(ap["spec"]["targetRef"]["name"], "rule-0-port-8080");
    assert_eq!(
        ap["spec"]["requiredAuthenticationRefs"][0]["name"],
        "rule-0-clients"
    );
    // b's L4 grant is replaced by its rule: no Server-level policy for b.
    assert!(
        !objs
            .iter()
            .any(|(p, _)| p.starts_with("a/authorizationpolicy-allow-ingress-0"))
    );
    // Other clients' requests on the port match the catch-all route, which
    // authorizes no one by itself.
    let other = object(&objs, "a/httproute-port-8080-other.yaml");
    assert_eq!(
        other["spec"]["rules"][0]["matches"][0]["path"]["value"],
        "/"
    );
    assert!(
        !objs
            .iter()
            .any(|(p, _)| p.contains("authorizationpolicy-allow-port-8080-other"))
    );
    // registryOnly (the default): a namespace-local EgressNetwork denying egress.
    for ns in ["a", "b"] {
        let en = object(&objs, &format!("{ns}/egressnetwork-external.yaml"));
        assert_eq!(en["spec"], serde_json::json!({"trafficPolicy": "Deny"}));
    }
    assert!(!objs.iter().any(|(_, o)| {
        o["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .starts_with("gateway.networking.k8s.io")
    }));
    let model = crate::testing::model(body);
    let notes = super::notes(&model).join("\n");
    assert!(
        notes.contains(
            "namespace `a`: Linkerd allows an external host only through a Gateway API TLSRoute"
        ),
        "{notes}"
    );
    assert_contains_all(
        &notes,
        &[
            "`login.example.com` stay blocked",
            "HTTPRoutes on Server(s) `port-8080` turn off Linkerd's automatic authorization of kubelet probes",
        ],
    );
}

#[test]
fn linkerd_notes_egress_flows_its_deny_would_block() {
    let body = "mesh: {provider: linkerd}\nnamespaces:\n  - name: a\n    network:\n      egress:\n        - to: {cidr: 203.0.113.0/24}\n          ports: [443/TCP]\n        - to: {cidr: 10.20.0.0/16}\n          ports: [5432/TCP]\n";
    let model = crate::testing::model(body);
    let notes = super::notes(&model).join("\n");
    assert!(
        notes.contains(
            "the egress flow(s) to `203.0.113.0/24` leave Linkerd's default `clusterNetworks`"
        ),
        "{notes}"
    );
    assert!(!notes.contains("10.20.0.0/16"), "{notes}");
}

#[test]
fn registry_only_meshes_carry_cidr_egress_as_service_entries() {
    let objs = render(
        "mesh: {provider: istio}\nnamespaces:\n  - name: a\n    network:\n      egress:\n        - to: {cidr: 10.20.0.0/16, except: [10.20.5.0/24]}\n          ports: [5432/TCP, 5433/TCP, 53/UDP]\n",
    );
    let (_, se) = objs
        .iter()
        .find(|(p, _)| p.starts_with("a/serviceentry-cidr-10-20-0-0-16"))
        .expect("a ServiceEntry for the block");
    assert_eq!(se["spec"]["addresses"], serde_json::json!(["10.20.0.0/16"]));
    assert_eq!(se["spec"]["resolution"], "NONE");
    assert_eq!(se["spec"]["location"], "MESH_EXTERNAL");
    let ports: Vec<u64> = se["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, [5432, 5433]);
    let m = crate::testing::model(
        "mesh: {provider: istio}\nnamespaces:\n  - name: a\n    network:\n      egress:\n        - to: {cidr: 10.20.0.0/16}\n          ports: [53/UDP]\n",
    );
    let notes = super::notes(&m);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("10.20.0.0/16:53/UDP stay blocked by the sidecar")),
        "{notes:?}"
    );
}

#[test]
fn mesh_settings_need_a_mesh() {
    let e = errors("namespaces:\n  - name: a\n    mesh: {allowedExternalHosts: [x.example.com]}\n");
    assert!(
        e.contains("namespace `a` has mesh settings, but no mesh is enabled"),
        "{e}"
    );
}

#[test]
fn windows_namespaces_are_never_injected_and_what_cannot_hold_is_refused() {
    for (provider, key, on) in [
        ("istio", "labels", "istio-injection"),
        ("linkerd", "annotations", "linkerd.io/inject"),
    ] {
        let objs = render(&format!(
            "mesh: {{provider: {provider}}}\npolicy: {{engine: gatekeeper}}\nnamespaces:\n  - name: win\n    workloads: {{windows: true}}\n  - name: lin\n    network:\n      egress:\n        - to: {{namespace: win}}\n          ports: [8080/TCP]\n"
        ));
        let win = object(&objs, "_cluster/namespace-win.yaml");
        assert_eq!(win["metadata"][key][on], "disabled", "{provider}");
        let lin = object(&objs, "_cluster/namespace-lin.yaml");
        assert_eq!(lin["metadata"][key][on], "enabled", "{provider}");
        // No mesh object in a namespace no sidecar enforces.
        let in_win: Vec<&String> = objs
            .iter()
            .map(|(p, _)| p)
            .filter(|p| p.starts_with("win/"))
            .filter(|p| !p.contains("/networkpolicy-") && !p.contains("/serviceaccount-"))
            .filter(|p| !p.contains("/resourcequota-") && !p.contains("/limitrange-"))
            .collect();
        assert!(in_win.is_empty(), "{provider}: {in_win:?}");
        assert!(
            !objs
                .iter()
                .any(|(p, _)| p.starts_with("win/") && p.contains("control-plane")),
            "{provider}: no sidecar needs the mesh's control plane"
        );
        // Windows pods cannot present a mesh identity to a meshed namespace:
        // said, since the contract itself asks for such a flow.
        let text = format!(
            "{}mesh: {{provider: {provider}}}\npolicy: {{engine: gatekeeper}}\nnamespaces:\n  - name: win\n    workloads: {{windows: true}}\n    network:\n      egress:\n        - to: {{namespace: lin}}\n          ports: [8080/TCP]\n  - name: lin\n",
            crate::testing::HEAD
        );
        let m = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
        let notes = super::notes(&m).join("\n");
        assert!(
            notes.contains("the flow from `win` into `lin` cannot hold"),
            "{notes}"
        );
        let e = errors(&format!(
            "mesh: {{provider: {provider}}}\npolicy: {{engine: gatekeeper}}\nnamespaces:\n  - name: win\n    workloads: {{windows: true}}\n    mesh: {{mtls: permissive}}\n"
        ));
        assert!(e.contains("namespaces[0].mesh"), "{e}");
    }
}

#[test]
fn proxy_resources_must_fit_every_meshed_limitrange() {
    let e = errors(
        "mesh:\n  provider: istio\n  sidecarResources:\n    requests: {cpu: 10m, memory: 64Mi}\n    limits: {cpu: \"8\", memory: 128Mi}\ndefaults:\n  containerLimits:\n    min: {cpu: 50m}\n    max: {cpu: \"4\", memory: 1Gi}\nnamespaces:\n  - name: a\n",
    );
    assert_contains_all(
        &e,
        &[
            "a proxy limit of 8 cpu is above namespace `a`'s LimitRange max 4: every meshed pod there would be refused",
            "use at most 4 (or leave `sidecarResources` out: kharden sizes it)",
            "a proxy request of 10m cpu is below namespace `a`'s LimitRange min 50m",
            "request at least 50m",
        ],
    );
    // Memory sits inside both bounds.
    assert!(!e.contains("memory is"), "{e}");
}

#[test]
fn durations_and_linkerd_paths_say_what_is_wrong() {
    use super::validate::{DurationError, LinkerdPathError, linkerd_path, parse_duration};
    assert_eq!(parse_duration("1m30s"), Ok(()));
    assert_eq!(parse_duration(""), Err(DurationError::Empty));
    assert_eq!(
        parse_duration("s"),
        Err(DurationError::NotADuration("s".to_owned()))
    );
    assert_eq!(
        parse_duration("15"),
        Err(DurationError::Unit("15".to_owned()))
    );
    assert_eq!(
        linkerd_path("/api/*"),
        Ok(("PathPrefix", "/api/".to_owned()))
    );
    assert_eq!(linkerd_path("/x"), Ok(("Exact", "/x".to_owned())));
    assert_eq!(
        linkerd_path("x"),
        Err(LinkerdPathError::NoSlash("x".to_owned()))
    );
    assert_eq!(
        linkerd_path("/api*"),
        Err(LinkerdPathError::PartialSegment("/api*".to_owned()))
    );
    assert_eq!(
        linkerd_path("/x/*.js"),
        Err(LinkerdPathError::Wildcard("/x/*.js".to_owned()))
    );
}
