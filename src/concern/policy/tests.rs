//! The policies, run: one table of admission requests, evaluated against the
//! Gatekeeper output with a Rego engine (regorus) and against the native output
//! with a CEL engine (cel, with the strings extension Kubernetes also loads).
//! Both engines must give the table's answer on every row. The evaluation
//! harness is the library's (each engine's `eval`), the one `kharden verify` runs.

use std::sync::Arc;

use serde_json::{Value, json};

use super::engine::cel::{eval as cel_eval, render as vap};
use super::engine::gatekeeper::{eval as rego_eval, render as gatekeeper};
use super::registry::RegistryError;
use super::{normalise_registry, plan};
use crate::testing::{HEAD, errors, render, today};
use crate::verify::admission;

mod department;
mod issue13;
mod map;
mod outside;
mod registries;
mod rollout;
mod routes;
mod table;
mod windows;

use table::table;

/// The contract's policy section, on a platform with an internal LB annotation.
pub(super) const PROFILE: &str = r#"
defaults:
  containerLimits:
    defaultRequest: {cpu: 100m, memory: 128Mi}
    default: {cpu: 500m, memory: 512Mi}
namespaces:
  - name: team-a
    annotations: {contact: team-a@example.ca, cost-center: PE-1234}
  - name: team-b
    annotations: {contact: team-b@example.ca, cost-center: PE-5678}
    workloads: {windows: true}
policy:
  engine: ENGINE
  allowedRegistries: [artifactory.cloud.statcan.ca, "registry.local:5000/"]
  requiredAnnotations: [contact]
  uniqueIngressHosts: true
  ingressHostsInDomain: true
  internalLoadBalancers: true
  propagateNamespaceAnnotations: [cost-center]
  exemptNamespaces: [kube-system, gatekeeper-system]
exceptions:
  - rule: allowedRegistries
    namespaces: [team-b]
    allow: [docker.io/library/nginx]
    owner: team-b@example.ca
    ticket: SEC-1234
    expires: 2030-06-30
"#;

fn model(engine: &str) -> crate::Model {
    let text = format!("{HEAD}{}", PROFILE.replace("ENGINE", engine))
        .replace("platform: kubeadm", "platform: aks")
        .replace(
            "kubernetesVersion: \"1.33\"}",
            "kubernetesVersion: \"1.33\", ingressDomain: apps.prod-east.example.ca}",
        );
    match crate::load_text(&text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// One admission request: what is submitted, where, and the answer.
struct Case {
    what: &'static str,
    group: String,
    kind: String,
    resource: &'static str,
    subresource: &'static str,
    namespace: &'static str,
    object: Value,
    allowed: bool,
}

fn pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": {"contact": "x@y.z"}},
        "spec": containers})
}

fn img(image: &str) -> Value {
    pod(json!({"containers": [{"name": "c", "image": image}]}))
}

/// A request to create `object` in `ns`, which the policies should `allowed`.
/// Group and version come from the object's `apiVersion`.
fn case(what: &'static str, ns: &'static str, object: Value, allowed: bool) -> Case {
    let api = object["apiVersion"].as_str().unwrap_or_default();
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = object["kind"].as_str().unwrap_or_default();
    let Some(resource) = admission::resource_of(group, kind) else {
        panic!("no resource for {api} {kind}")
    };
    Case {
        what,
        group: group.to_owned(),
        kind: kind.to_owned(),
        resource,
        subresource: "",
        namespace: ns,
        object,
        allowed,
    }
}

fn ingress(hosts: &[&str]) -> Value {
    let rules: Vec<Value> = hosts
        .iter()
        .map(|h| {
            if h.is_empty() {
                json!({"http": {}})
            } else {
                json!({"host": h})
            }
        })
        .collect();
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "i"}, "spec": {"rules": rules}})
}

fn service(ty: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s", "annotations": annotations}, "spec": {"type": ty}})
}

/// The default Windows node taint's key (#13 item 7).
const TAINT: &str = "node.kubernetes.io/os";

/// A pod of a Windows namespace, with `spec.os.name: windows`.
fn windows_pod(selector: bool, toleration: Value) -> Value {
    let mut spec = json!({"os": {"name": "windows"},
        "containers": [{"name": "c", "image": "docker.io/library/nginx:1",
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]});
    if selector {
        spec["nodeSelector"] = json!({"kubernetes.io/os": "windows"});
    }
    if !toleration.is_null() {
        spec["tolerations"] = json!([toleration]);
    }
    pod(spec)
}

// ---- both engines through the library harness (`verify::admission`), which
// `kharden verify` runs too; the asserts here pin what the rendering must hold ----

fn request(c: &Case) -> admission::Request {
    let api = c.object["apiVersion"].as_str().unwrap_or_default();
    admission::Request {
        group: c.group.clone(),
        version: api.rsplit('/').next().unwrap_or_default().to_owned(),
        kind: c.kind.clone(),
        resource: c.resource.to_owned(),
        subresource: c.subresource.to_owned(),
        namespace: c.namespace.to_owned(),
        operation: if c.subresource.is_empty() {
            "CREATE"
        } else {
            "UPDATE"
        }
        .to_owned(),
        object: c.object.clone(),
        user_info: admission::UserInfo::default(),
    }
}

/// Fails unless one of the violations `v` says `part`.
fn assert_violation(v: &[String], part: &str) {
    assert!(v.iter().any(|m| m.contains(part)), "no `{part}` in {v:?}");
}

/// The violations Gatekeeper would report for `c`, with `inventory` synced.
fn gatekeeper_eval(objs: &[Value], c: &Case, inventory: &Value) -> Vec<String> {
    for constraint in objs
        .iter()
        .filter(|o| o["apiVersion"] == "constraints.gatekeeper.sh/v1beta1")
    {
        assert_eq!(constraint["spec"]["enforcementAction"], "deny");
    }
    rego_eval::denials(objs, &request(c), inventory, true)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|d| format!("{}: {}", d.name, d.message))
        .collect()
}

fn cel_env() -> Arc<cel::Env> {
    cel_eval::cel_env().unwrap()
}

fn cel_eval(env: &Arc<cel::Env>, ctx: &cel::Context, expr: &str) -> cel::Value {
    cel_eval::cel_eval(env, ctx, expr).unwrap_or_else(|e| panic!("{e}"))
}

/// The denials the API server would report for `c`.
fn native_eval(objs: &[Value], c: &Case) -> Vec<String> {
    for binding in objs
        .iter()
        .filter(|o| o["kind"] == "ValidatingAdmissionPolicyBinding")
    {
        assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
        for e in binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(e["key"], "kubernetes.io/metadata.name");
        }
    }
    for policy in objs
        .iter()
        .filter(|o| o["kind"] == "ValidatingAdmissionPolicy")
    {
        assert_eq!(policy["spec"]["failurePolicy"], "Fail");
    }
    cel_eval::denials(objs, &request(c), true)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|d| format!("{}: {}", d.name, d.message))
        .collect()
}

fn rendered(engine: &str) -> Vec<Value> {
    rendered_for(&model(engine), engine)
}

/// What `engine` renders for `m`, as values.
fn rendered_for(m: &crate::Model, engine: &str) -> Vec<Value> {
    let plan = plan(m);
    match engine {
        "gatekeeper" => gatekeeper::objects(m, plan)
            .iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect(),
        _ => {
            let mut out: Vec<Value> = plan
                .iter()
                .flat_map(|i| {
                    let (p, b) = vap::objects(i);
                    [
                        serde_json::to_value(p).unwrap(),
                        serde_json::to_value(b).unwrap(),
                    ]
                })
                .collect();
            // From 1.36 (or with the v1beta1 opt-in) the mutating policies too.
            if let Some(v) = super::map::api_version(m) {
                for i in plan {
                    if let Some((p, b)) = super::map::objects(m, i, v) {
                        out.push(serde_json::to_value(p).unwrap());
                        out.push(serde_json::to_value(b).unwrap());
                    }
                }
            }
            out
        }
    }
}

/// The denials of `engine` for `c` (Gatekeeper with nothing synced).
fn eval(engine: &str, objs: &[Value], c: &Case) -> Vec<String> {
    eval_in(engine, objs, c, &json!({}))
}

/// The denials of `engine` for `c`, Gatekeeper with `inventory` synced (the
/// native engine sees only the object).
fn eval_in(engine: &str, objs: &[Value], c: &Case, inventory: &Value) -> Vec<String> {
    match engine {
        "gatekeeper" => gatekeeper_eval(objs, c, inventory),
        _ => native_eval(objs, c),
    }
}

/// Run `cases` on `engine`'s objects and fail with every row it answers wrongly.
fn assert_table(engine: &str, objs: &[Value], cases: Vec<Case>) {
    assert_table_in(engine, objs, cases, &json!({}));
}

/// `assert_table` with `inventory` synced for Gatekeeper.
fn assert_table_in(engine: &str, objs: &[Value], cases: Vec<Case>, inventory: &Value) {
    let mut wrong = Vec::new();
    for c in cases {
        let v = eval_in(engine, objs, &c, inventory);
        if v.is_empty() != c.allowed {
            wrong.push(format!(
                "{} ({}): expected allowed={}, got {v:?}",
                c.what, c.namespace, c.allowed
            ));
        }
    }
    assert!(wrong.is_empty(), "{engine}:\n{}", wrong.join("\n"));
}

#[test]
fn the_case_table_passes_on_gatekeeper() {
    assert_table("gatekeeper", &rendered("gatekeeper"), table());
}

#[test]
fn the_case_table_passes_on_the_native_engine() {
    let engine = "validating-admission-policy";
    assert_table(engine, &rendered(engine), table());
}

#[test]
fn denials_say_what_is_wrong() {
    let c = case(
        "x",
        "team-a",
        img("artifactory.cloud.statcan.ca.evil.io/x"),
        false,
    );
    let gk = gatekeeper_eval(&rendered("gatekeeper"), &c, &json!({}));
    assert!(
        gk[0].contains("image artifactory.cloud.statcan.ca.evil.io/x (")
            && gk[0].contains("is not from an allowed registry"),
        "{gk:?}"
    );
    let native = native_eval(&rendered("validating-admission-policy"), &c);
    assert!(
        native[0].contains(
            "images not from an allowed registry: artifactory.cloud.statcan.ca.evil.io/x"
        ),
        "{native:?}"
    );
    let c = case("x", "team-a", service("LoadBalancer", json!({})), false);
    let native = native_eval(&rendered("validating-admission-policy"), &c);
    assert!(
        native[0].contains(
            "set the annotation service.beta.kubernetes.io/azure-load-balancer-internal: true"
        ),
        "{native:?}"
    );
}

#[test]
fn gatekeeper_refuses_a_host_another_namespace_holds() {
    let objs = rendered("gatekeeper");
    let host = "shop.apps.prod-east.example.ca";
    let inventory = json!({"namespace": {"team-b": {"networking.k8s.io/v1": {"Ingress": {
        "shop": {"spec": {"rules": [{"host": host}]}}}}}}});
    let c = case("dup", "team-a", ingress(&[host]), false);
    let v = gatekeeper_eval(&objs, &c, &inventory);
    assert_violation(&v, "already claimed by Ingress team-b/shop");
    // The same host in its own namespace (an update) is fine.
    let c = case("same ns", "team-b", ingress(&[host]), true);
    assert!(gatekeeper_eval(&objs, &c, &inventory).is_empty());
    // Gatekeeper only sees other Ingresses through the sync Config.
    let config = objs.iter().find(|o| o["kind"] == "Config").unwrap();
    assert_eq!(config["metadata"]["namespace"], "gatekeeper-system");
    assert_eq!(config["metadata"]["name"], "config");
    assert_eq!(
        config["spec"]["sync"]["syncOnly"][0],
        json!({"group": "networking.k8s.io", "version": "v1", "kind": "Ingress"})
    );
}

#[test]
fn the_native_engine_confines_hosts_to_the_namespace_instead() {
    let objs = rendered("validating-admission-policy");
    let ok = case(
        "own",
        "team-a",
        ingress(&["shop.team-a.apps.prod-east.example.ca"]),
        true,
    );
    assert!(native_eval(&objs, &ok).is_empty());
    let theirs = case(
        "theirs",
        "team-a",
        ingress(&["shop.team-b.apps.prod-east.example.ca"]),
        false,
    );
    let v = native_eval(&objs, &theirs);
    assert_violation(
        &v,
        "must be team-a.apps.prod-east.example.ca or a name under it",
    );
    let m = model("validating-admission-policy");
    assert!(
        super::notes(&m)
            .iter()
            .any(|n| n.contains("cannot see other Ingresses"))
    );
}

#[test]
fn gatekeeper_mutators_add_what_the_rules_require() {
    let objs = rendered("gatekeeper");
    let find = |kind: &str, name: &str| {
        objs.iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
            .clone()
    };
    let lb = find("AssignMetadata", "internal-load-balancer");
    assert_eq!(
        lb["spec"]["location"],
        "metadata.annotations.\"service.beta.kubernetes.io/azure-load-balancer-internal\""
    );
    assert_eq!(lb["spec"]["parameters"]["assign"]["value"], "true");
    assert_eq!(
        lb["spec"]["match"]["excludedNamespaces"],
        json!(["gatekeeper-system", "kube-system"])
    );
    let cc = find("AssignMetadata", "team-a-cost-center");
    assert_eq!(cc["spec"]["match"]["namespaces"], json!(["team-a"]));
    assert_eq!(cc["spec"]["parameters"]["assign"]["value"], "PE-1234");
    let sel = find("Assign", "windows-node-selector");
    assert_eq!(
        sel["spec"]["location"],
        "spec.nodeSelector.\"kubernetes.io/os\""
    );
    assert_eq!(sel["spec"]["match"]["namespaces"], json!(["team-b"]));
    let os = find("Assign", "windows-os-name");
    assert_eq!(os["spec"]["location"], "spec.os.name");
    assert_eq!(os["spec"]["parameters"]["assign"]["value"], "windows");
    let tol = find("ModifySet", "windows-toleration");
    assert_eq!(
        tol["spec"]["parameters"]["values"]["fromList"][0],
        json!({"key": TAINT, "operator": "Equal", "value": "windows", "effect": "NoSchedule"})
    );
    // A bare pod as the mutators leave it passes the Windows rule.
    let bare = img("docker.io/library/nginx:1");
    let mut req = request(&case("bare", "team-b", bare.clone(), false));
    assert!(!gatekeeper_eval(&objs, &case("bare", "team-b", bare, false), &json!({})).is_empty());
    let applied = rego_eval::mutate(&objs, &mut req).unwrap();
    for m in [
        "Assign/windows-node-selector",
        "Assign/windows-os-name",
        "ModifySet/windows-toleration",
    ] {
        assert!(applied.iter().any(|a| a == m), "{m} not in {applied:?}");
    }
    assert_eq!(req.object["spec"]["os"], json!({"name": "windows"}));
    let mutated = case("mutated", "team-b", req.object, true);
    assert!(gatekeeper_eval(&objs, &mutated, &json!({})).is_empty());
}

#[test]
fn exceptions_keep_owner_ticket_and_expiry() {
    for engine in ["gatekeeper", "validating-admission-policy"] {
        let objs = rendered(engine);
        let ex = objs
            .iter()
            .find(|o| o["metadata"]["annotations"]["kharden.dev/exception-ticket"] == "SEC-1234")
            .unwrap_or_else(|| panic!("{engine}: no exception object"));
        let a = &ex["metadata"]["annotations"];
        assert_eq!(a["kharden.dev/exception-owner"], "team-b@example.ca");
        assert_eq!(a["kharden.dev/exception-expires"], "2030-06-30");
    }
}

#[test]
fn cel_literals_cannot_escape() {
    let env = cel_env();
    let ctx = cel::Context::with_env(env.clone());
    for s in [
        "plain",
        "it's",
        "say \"hi\"",
        "back\\slash\\",
        "x') || true || ('",
        "x\") || true || (\"",
        "line\nbreak\r\t",
        "\u{1}\u{7f}",
        "ünïcødé ✓",
        "${x} {{y}}",
    ] {
        let lit = vap::cel_literal(&json!(s));
        match cel_eval(&env, &ctx, &lit) {
            cel::Value::String(got) => assert_eq!(got.as_str(), s, "{lit}"),
            other => panic!("{lit} gave {other:?}"),
        }
        let list = vap::cel_literal(&json!([s, {"key": s}]));
        let got = cel_eval(
            &env,
            &ctx,
            &format!("{list}[1].key == {lit} && size({list}) == 2"),
        );
        assert_eq!(got, cel::Value::Bool(true), "{list}");
    }
}

#[test]
fn user_values_never_reach_policy_text() {
    // Rego is fixed text: the same for any profile.
    for rule in [
        super::Rule::AllowedRegistries,
        super::Rule::NamespaceAnnotations,
    ] {
        assert!(!gatekeeper::rego(rule).contains("statcan"));
    }
    let objs = rendered("validating-admission-policy");
    for o in objs
        .iter()
        .filter(|o| o["kind"] == "ValidatingAdmissionPolicy")
    {
        for v in o["spec"]["validations"].as_array().unwrap() {
            let e = v["expression"].as_str().unwrap();
            assert!(
                !e.contains("statcan") && !e.contains("PE-") && !e.contains("team-"),
                "{e}"
            );
        }
    }
}

#[test]
fn registry_entries_are_normalised_or_refused() {
    // The forms in detail are `tests/registries.rs`; here the profile error.
    assert_eq!(
        normalise_registry("index.docker.io/nginx").unwrap(),
        "docker.io/library/nginx"
    );
    assert_eq!(
        normalise_registry("nginx"),
        Err(RegistryError::Ambiguous("nginx".to_owned()))
    );
    let e = errors("policy:\n  engine: gatekeeper\n  allowedRegistries: [nginx]\n");
    assert!(e.contains("`nginx` is not a registry entry: `nginx` could be a registry host or a Docker Hub repository"), "{e}");
}

#[test]
fn exceptions_are_checked_against_their_rule() {
    let e = errors(
        "namespaces: [{name: a}]\npolicy: {engine: gatekeeper, allowedRegistries: [r.example.com]}\nexceptions:\n  - {rule: allowedRegistries, namespaces: [a], owner: a@b.c, ticket: T-1, expires: 2030-01-01}\n  - {rule: allowedRegistries, namespaces: [a], allow: [q.example.com], owner: a@b.c, ticket: T-2, expires: 2030-01-01}\n  - {rule: internalLoadBalancers, namespaces: [a], owner: a@b.c, ticket: T-3, expires: 2030-01-01}\n",
    );
    assert!(
        e.contains("an `allowedRegistries` exception must list what it allows"),
        "{e}"
    );
    assert!(
        e.contains(
            "namespace `a` already has an exception for `allowedRegistries` (exceptions[0])"
        ),
        "{e}"
    );
    assert!(
        e.contains("the exception waives `internalLoadBalancers`, which `policy` does not set"),
        "{e}"
    );
    let e = errors("namespaces: [{name: a, workloads: {windows: true}}]\n");
    assert!(
        e.contains("`workloads.windows` is carried out by admission policy"),
        "{e}"
    );
}

#[test]
fn both_engines_render_and_scope_every_rule() {
    let gk = render(
        &PROFILE
            .replace("ENGINE", "gatekeeper")
            .replace("  ingressHostsInDomain: true\n", "")
            .replace("  uniqueIngressHosts: true\n", ""),
    );
    let kinds: Vec<&str> = gk.iter().filter_map(|(_, o)| o["kind"].as_str()).collect();
    for k in [
        "ConstraintTemplate",
        "KhardenAllowedRegistries",
        "KhardenInternalLoadBalancers",
        "KhardenWindowsPods",
        "Assign",
        "ModifySet",
        "AssignMetadata",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    // kubeadm has no internal annotation: no mutator, and the rule refuses LoadBalancers.
    assert!(
        !gk.iter()
            .any(|(_, o)| o["metadata"]["name"] == "internal-load-balancer")
    );
    let native = render(
        &PROFILE
            .replace("ENGINE", "validating-admission-policy")
            .replace("  ingressHostsInDomain: true\n", "")
            .replace("  uniqueIngressHosts: true\n", ""),
    );
    let b = native
        .iter()
        .find(|(p, _)| {
            p == "_cluster/validatingadmissionpolicybinding-kharden-allowed-registries.yaml"
        })
        .unwrap();
    assert_eq!(
        b.1["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"][0]["values"],
        json!(["gatekeeper-system", "kube-system", "team-b"])
    );
}
