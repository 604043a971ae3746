//! Issue #29 item 6: namespaces outside the profile (`default`, any created
//! later) have no quota and no LimitRange, so `noNodePorts` and
//! `requiredLimits` protect them, on both engines, through the same harness
//! as the main table. Profile namespaces whose LimitRange gives the limits are
//! left to LimitRanger; exempt namespaces and waivers are left alone.

use serde_json::{Value, json};

use super::{Case, assert_table, case, pod, rendered_for, service};
use crate::concern::policy::coverage::{self, Guard};
use crate::concern::policy::{Rule, Scope, plan};
use crate::testing::{HEAD, errors, today};

const ENGINES: [&str; 2] = ["gatekeeper", "validating-admission-policy"];

/// `team-a` gets the defaults' LimitRange, `capped` one with `max` only (the
/// API server makes `max` the default limit), `batch` and `legacy` one that
/// limits CPU only; `legacy` has waivers for both rules; `edge`'s quota opens
/// node ports.
const PROFILE: &str = r#"
defaults:
  containerLimits: {default: {cpu: 500m, memory: 512Mi}}
namespaces:
  - name: team-a
  - name: capped
    containerLimits: {max: {cpu: "2", memory: 2Gi}}
  - name: batch
    containerLimits: {default: {cpu: "1"}}
  - name: legacy
    containerLimits: {default: {cpu: "1"}}
  - name: edge
    quota: {services.nodeports: 2}
policy:
  engine: ENGINE
  internalLoadBalancers: true
  exemptNamespaces: [kube-system]
  EXTRA
exceptions:
  - {rule: noNodePorts, namespaces: [legacy], owner: ops@example.ca, ticket: NET-7, expires: 2030-06-30}
  - {rule: requiredLimits, namespaces: [legacy], owner: ops@example.ca, ticket: RES-9, expires: 2030-06-30}
"#;

fn model_with(engine: &str, extra: &str) -> crate::Model {
    let text = format!(
        "{HEAD}{}",
        PROFILE.replace("ENGINE", engine).replace("EXTRA", extra)
    );
    match crate::load_text(&text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn model(engine: &str) -> crate::Model {
    model_with(engine, "")
}

/// The profile with both rules off (and so without the waivers of them).
fn model_off(engine: &str) -> crate::Model {
    let text = format!(
        "{HEAD}{}",
        PROFILE
            .replace("ENGINE", engine)
            .replace("EXTRA", "noNodePorts: false\n  requiredLimits: []")
    );
    let text = &text[..text.find("exceptions:").unwrap()];
    match crate::load_text(text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn svc(ty: &str) -> Value {
    let mut s = service(ty, json!({}));
    s["spec"]["ports"] = json!([{"port": 80}]);
    s
}

/// A pod whose one container has `resources`.
fn pod_with(resources: Value) -> Value {
    pod(
        json!({"containers": [{"name": "app", "image": "r.example.ca/app:1", "resources": resources}]}),
    )
}

fn bare() -> Value {
    pod(json!({"containers": [{"name": "app", "image": "r.example.ca/app:1"}]}))
}

fn limited() -> Value {
    pod_with(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))
}

fn cases() -> Vec<Case> {
    let mut deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "r.example.ca/app:1"}]}}}});
    let bare_deploy = deploy.clone();
    deploy["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"limits": {"cpu": "1", "memory": "1Gi"}});
    let mut init = limited();
    init["spec"]["initContainers"] = json!([{"name": "migrate", "image": "r.example.ca/m:1"}]);
    let mut pod_level = bare();
    pod_level["spec"]["resources"] = json!({"limits": {"cpu": "2", "memory": "2Gi"}});
    vec![
        // noNodePorts
        case(
            "NodePort Service in default",
            "default",
            svc("NodePort"),
            false,
        ),
        case(
            "NodePort Service in a namespace created later",
            "shop",
            svc("NodePort"),
            false,
        ),
        case(
            "ClusterIP Service in default",
            "default",
            svc("ClusterIP"),
            true,
        ),
        case(
            "Service of no type (ClusterIP) in default",
            "default",
            {
                let mut s = svc("ClusterIP");
                s["spec"].as_object_mut().unwrap().remove("type");
                s
            },
            true,
        ),
        case(
            "NodePort Service in a profile namespace",
            "team-a",
            svc("NodePort"),
            false,
        ),
        case(
            "NodePort Service in an exempt namespace",
            "kube-system",
            svc("NodePort"),
            true,
        ),
        case(
            "NodePort Service where it is waived (NET-7)",
            "legacy",
            svc("NodePort"),
            true,
        ),
        case(
            "NodePort Service where the quota opens node ports",
            "edge",
            svc("NodePort"),
            true,
        ),
        // internalLoadBalancers (kubeadm: every LoadBalancer), not noNodePorts, governs these.
        case(
            "LoadBalancer Service in default",
            "default",
            svc("LoadBalancer"),
            false,
        ),
        // requiredLimits
        case("pod without limits in default", "default", bare(), false),
        case(
            "pod without limits in a namespace created later",
            "shop",
            bare(),
            false,
        ),
        case("pod with limits in default", "default", limited(), true),
        case(
            "pod with a CPU limit only in default",
            "default",
            pod_with(json!({"limits": {"cpu": "1"}, "requests": {"memory": "1Gi"}})),
            false,
        ),
        case(
            "pod with requests only in default",
            "default",
            pod_with(json!({"requests": {"cpu": "1", "memory": "1Gi"}})),
            false,
        ),
        case(
            "init container without limits in default",
            "default",
            init,
            false,
        ),
        case(
            "pod-level limits cover every container",
            "default",
            pod_level,
            true,
        ),
        case(
            "Deployment template without limits in default",
            "default",
            bare_deploy.clone(),
            false,
        ),
        case(
            "Deployment template with limits in default",
            "default",
            deploy,
            true,
        ),
        case(
            "pod without limits where the LimitRange gives them",
            "team-a",
            bare(),
            true,
        ),
        case(
            "Deployment without limits where the LimitRange gives them",
            "team-a",
            bare_deploy,
            true,
        ),
        case(
            "pod without limits where the LimitRange has max only",
            "capped",
            bare(),
            true,
        ),
        case(
            "pod without limits where the LimitRange limits CPU only",
            "batch",
            bare(),
            false,
        ),
        case(
            "pod without limits where it is waived (RES-9)",
            "legacy",
            bare(),
            true,
        ),
        case(
            "pod without limits in an exempt namespace",
            "kube-system",
            bare(),
            true,
        ),
    ]
}

#[test]
fn issue_29_item_6_outside_namespaces_are_protected_on_both_engines() {
    for engine in ENGINES {
        assert_table(engine, &rendered_for(&model(engine), engine), cases());
    }
}

#[test]
fn both_rules_can_be_turned_off() {
    for engine in ENGINES {
        let m = model_off(engine);
        assert!(
            !plan(&m)
                .iter()
                .any(|i| matches!(i.rule, Rule::NoNodePorts | Rule::RequiredLimits))
        );
        assert_table(
            engine,
            &rendered_for(&m, engine),
            vec![
                case(
                    "NodePort Service in default",
                    "default",
                    svc("NodePort"),
                    true,
                ),
                case("pod without limits in default", "default", bare(), true),
            ],
        );
    }
}

#[test]
fn the_rules_leave_namespaces_to_their_limit_range_or_quota() {
    let m = model("gatekeeper");
    let inst = plan(&m)
        .iter()
        .find(|i| i.rule == Rule::RequiredLimits && i.suffix.is_empty())
        .unwrap();
    assert_eq!(
        inst.scope,
        Scope::AllBut(vec![
            "capped".to_owned(),
            "edge".to_owned(),
            "kube-system".to_owned(),
            "legacy".to_owned(),
            "team-a".to_owned()
        ])
    );
    assert_eq!(inst.params, json!({"resources": ["cpu", "memory"]}));
    let nodeports = plan(&m)
        .iter()
        .find(|i| i.rule == Rule::NoNodePorts)
        .unwrap();
    assert_eq!(
        nodeports.scope,
        Scope::AllBut(vec![
            "edge".to_owned(),
            "kube-system".to_owned(),
            "legacy".to_owned()
        ])
    );
    assert_eq!(
        inst.annotations["kharden.dev/waived"],
        "RES-9 (ops@example.ca, expires 2030-06-30): legacy"
    );
    // Asking for ephemeral-storage too: no LimitRange here defaults it.
    let m = model_with(
        "gatekeeper",
        "requiredLimits: [cpu, memory, ephemeral-storage]",
    );
    let inst = plan(&m)
        .iter()
        .find(|i| i.rule == Rule::RequiredLimits)
        .unwrap();
    assert_eq!(
        inst.scope,
        Scope::AllBut(vec!["kube-system".to_owned(), "legacy".to_owned()])
    );
}

#[test]
fn coverage_says_how_each_namespace_is_protected() {
    let m = model("validating-admission-policy");
    let c = coverage::coverage(&m);
    let names: Vec<&str> = c.iter().map(|c| c.namespace.as_str()).collect();
    assert_eq!(
        names,
        [
            "team-a",
            "capped",
            "batch",
            "legacy",
            "edge",
            "kube-system",
            coverage::OTHERS
        ]
    );
    assert_eq!(c[0].required_limits, Guard::Namespace);
    assert_eq!(c[2].required_limits, Guard::Enforced);
    assert_eq!(c[3].no_node_ports, Guard::Waived("NET-7".to_owned()));
    assert_eq!(c[4].no_node_ports, Guard::Namespace);
    assert_eq!(c[5].no_node_ports, Guard::Exempt);
    assert_eq!(c[6].no_node_ports, Guard::Enforced);
    let rows = coverage::rows(&m);
    assert_eq!(
        rows[0],
        [
            "team-a",
            "profile",
            "refused by quota (services.nodeports: 0) and admission (noNodePorts)",
            "the LimitRange gives default limits (cpu, memory)"
        ]
    );
    assert_eq!(
        rows[2][3],
        "the LimitRange gives default limits (cpu); refused by admission (requiredLimits: cpu, memory)"
    );
    assert_eq!(rows[3][2], "refused by quota (services.nodeports: 0)");
    assert_eq!(
        rows[3][3],
        "the LimitRange gives default limits (cpu); requiredLimits waived by RES-9"
    );
    assert_eq!(rows[4][2], "admitted (quota allows 2)");
    assert_eq!(
        rows[5],
        [
            "kube-system",
            "exempt",
            "admitted (exempt from admission)",
            "admitted without limits (exempt from admission)"
        ]
    );
    assert_eq!(
        rows[6],
        [
            coverage::OTHERS,
            "outside the profile",
            "refused by admission (noNodePorts)",
            "refused by admission (requiredLimits: cpu, memory)"
        ]
    );
    let off = model_off("gatekeeper");
    let rows = coverage::rows(&off);
    assert_eq!(
        rows[6][2..],
        [
            "admitted (no quota, no noNodePorts rule)",
            "admitted without limits (no LimitRange, no requiredLimits rule)"
        ]
    );
}

#[test]
fn required_limits_name_container_resources() {
    let e = errors("policy: {engine: gatekeeper, requiredLimits: [cpu, gpu]}\n");
    assert!(e.contains("requiredLimits: [cpu, gpu]"), "{e}");
    assert!(e.contains("`gpu` is not a container resource"), "{e}");
    let e = errors(
        "namespaces: [{name: a}]\npolicy: {engine: gatekeeper, noNodePorts: false}\nexceptions:\n  - {rule: noNodePorts, namespaces: [a], owner: a@b.c, ticket: T-1, expires: 2030-01-01}\n  - {rule: requiredLimits, namespaces: [a], allow: [cpu], owner: a@b.c, ticket: T-2, expires: 2030-01-01}\n",
    );
    assert!(
        e.contains("the exception waives `noNodePorts`, which `policy` does not set"),
        "{e}"
    );
    assert!(
        e.contains("an exception to `requiredLimits` waives the rule and takes no `allow` list"),
        "{e}"
    );
}

#[test]
fn denials_say_what_to_do() {
    let gk = rendered_for(&model("gatekeeper"), "gatekeeper");
    let native = rendered_for(
        &model("validating-admission-policy"),
        "validating-admission-policy",
    );
    let c = case("x", "default", svc("NodePort"), false);
    for v in [
        super::eval("gatekeeper", &gk, &c),
        super::eval("native", &native, &c),
    ] {
        super::assert_violation(
            &v,
            "Services of type NodePort are refused in namespace default: a node port opens the service on every node",
        );
    }
    let c = case("x", "default", bare(), false);
    let v = super::eval("gatekeeper", &gk, &c);
    super::assert_violation(
        &v,
        "container app has no limits for cpu, memory; namespace default has no LimitRange to give them: set resources.limits",
    );
    let v = super::eval("native", &native, &c);
    super::assert_violation(
        &v,
        "containers without limits for cpu, memory: app; namespace default has no LimitRange to give them",
    );
}
