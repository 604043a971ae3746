//! Issue #31 item 2: `policy.enforcement`, a rollout in steps, evaluated on both
//! engines through the whole admission chain `kharden verify` runs
//! (`verify::decide`, Pod Security included): what `deny` refuses, `warn` and
//! `audit` admit and report as "would deny, not enforced"; a namespace's mode
//! wins over its rule's, a rule's over the default.

use serde_json::{Value, json};

use crate::testing::{HEAD, errors, today};
use crate::verify::{Decision, PodSecurity, decide};

const ENGINES: [&str; 2] = ["gatekeeper", "validating-admission-policy"];

/// Registries warn everywhere; team-a audits everything; team-d denies
/// everything (registries included); team-c follows the rules.
const ROLLOUT: &str = "  enforcement:
    default: deny
    rules: {allowedRegistries: warn}
    namespaces: {team-a: audit, team-d: deny}
";

fn profile(engine: &str, enforcement: &str) -> crate::Model {
    let text = format!(
        "{HEAD}defaults:
  containerLimits:
    defaultRequest: {{cpu: 100m, memory: 128Mi}}
    default: {{cpu: 500m, memory: 512Mi}}
namespaces: [{{name: team-a}}, {{name: team-c}}, {{name: team-d}}]
policy:
  engine: {engine}
  allowedRegistries: [registry.example.ca]
  requiredAnnotations: [contact]
{enforcement}"
    );
    match crate::load_text(&text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn objects(m: &crate::Model) -> Vec<Value> {
    let r = crate::render(m).unwrap_or_else(|e| panic!("{e}"));
    crate::verify::objects(&r.set)
}

/// A pod the restricted level admits, with `image` and `annotations`.
fn pod(image: &str, annotations: Value, privileged: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": annotations},
        "spec": {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": image,
            "securityContext": {"allowPrivilegeEscalation": false, "privileged": privileged,
                "capabilities": {"drop": ["ALL"]}}}]}})
}

fn run(objs: &[Value], ns: &str, obj: &Value) -> Decision {
    decide(objs, &PodSecurity::new(objs, Some(33)), ns, obj).unwrap_or_else(|e| panic!("{e}"))
}

/// (refused by, would refuse but not enforced) as `Kind/name` lists.
fn verdict(objs: &[Value], ns: &str, obj: &Value) -> (Vec<String>, Vec<String>) {
    let d = run(objs, ns, obj);
    let names = |v: &[crate::verify::admission::Denial]| -> Vec<String> {
        v.iter().map(|d| format!("{}/{}", d.kind, d.name)).collect()
    };
    (names(&d.denials), names(&d.not_enforced))
}

fn rule_object(engine: &str, name: &str) -> String {
    match (engine, name) {
        ("gatekeeper", n) if n.starts_with("allowed") => format!("KhardenAllowedRegistries/{n}"),
        ("gatekeeper", n) => format!("KhardenRequiredAnnotations/{n}"),
        (_, n) => format!("ValidatingAdmissionPolicy/kharden-{n}"),
    }
}

#[test]
fn rollout_modes_per_rule_and_namespace_on_both_engines_31() {
    let good = || json!({"contact": "a@example.ca"});
    for engine in ENGINES {
        let objs = objects(&profile(engine, ROLLOUT));
        let ok = pod("registry.example.ca/app:1", good(), false);
        let bad_image = pod("docker.io/library/nginx:1", good(), false);
        let no_contact = pod("registry.example.ca/app:1", json!({}), false);
        let o = |n: &str| rule_object(engine, n);
        // A compliant pod: nothing refuses, nothing warns.
        for ns in ["team-a", "team-c", "team-d"] {
            assert_eq!(verdict(&objs, ns, &ok), (vec![], vec![]), "{engine} {ns}");
        }
        // team-c: registries warn (the rule's mode), annotations deny (default).
        assert_eq!(
            verdict(&objs, "team-c", &bad_image),
            (vec![], vec![o("allowed-registries")]),
            "{engine}"
        );
        assert_eq!(
            verdict(&objs, "team-c", &no_contact),
            (vec![o("required-annotations")], vec![]),
            "{engine}"
        );
        // team-a: every rule audits (the namespace wins over the rule and the default).
        assert_eq!(
            verdict(&objs, "team-a", &bad_image),
            (vec![], vec![o("allowed-registries-audit")]),
            "{engine}"
        );
        assert_eq!(
            verdict(&objs, "team-a", &no_contact),
            (vec![], vec![o("required-annotations-audit")]),
            "{engine}"
        );
        // team-d: deny wins over the registries' warn.
        assert_eq!(
            verdict(&objs, "team-d", &bad_image),
            (vec![o("allowed-registries-deny")], vec![]),
            "{engine}"
        );
        // A namespace outside the profile follows the rules.
        assert_eq!(
            verdict(&objs, "default", &bad_image).1,
            vec![o("allowed-registries")],
            "{engine}"
        );
        // Pod Security: team-a audits, so its enforce is held back; team-c enforces.
        let privileged = pod("registry.example.ca/app:1", good(), true);
        let (denied, not) = verdict(&objs, "team-a", &privileged);
        assert!(denied.is_empty(), "{engine}: {denied:?}");
        assert_eq!(not, ["Namespace/team-a"], "{engine}");
        let d = run(&objs, "team-a", &privileged);
        assert!(
            d.not_enforced[0]
                .message
                .starts_with("violates PodSecurity \"restricted:v1.33\": privileged"),
            "{}",
            d.not_enforced[0].message
        );
        assert_eq!(
            verdict(&objs, "team-c", &privileged).0,
            ["Namespace/team-c"],
            "{engine}"
        );
    }
}

/// The rendered actions: Gatekeeper `enforcementAction`, native
/// `validationActions` (never Deny with Warn), PSA labels.
#[test]
fn modes_render_as_each_engine_spells_them_31() {
    let gk = objects(&profile("gatekeeper", ROLLOUT));
    let action = |name: &str| {
        gk.iter()
            .find(|o| o["metadata"]["name"] == name && o["spec"]["enforcementAction"].is_string())
            .map(|o| {
                (
                    o["spec"]["enforcementAction"].clone(),
                    o["spec"]["match"].clone(),
                )
            })
            .unwrap_or_else(|| panic!("no constraint {name}"))
    };
    let (a, m) = action("allowed-registries");
    assert_eq!(a, "warn");
    let excluded = m["excludedNamespaces"].as_array().unwrap();
    assert!(excluded.contains(&json!("team-a")) && excluded.contains(&json!("team-d")));
    assert_eq!(action("allowed-registries-audit").0, "dryrun");
    assert_eq!(
        action("allowed-registries-audit").1["namespaces"],
        json!(["team-a"])
    );
    assert_eq!(action("allowed-registries-deny").0, "deny");
    assert_eq!(action("required-annotations").0, "deny");
    assert_eq!(action("required-annotations-audit").0, "dryrun");
    let native = objects(&profile("validating-admission-policy", ROLLOUT));
    let actions = |policy: &str| {
        native
            .iter()
            .find(|o| {
                o["kind"] == "ValidatingAdmissionPolicyBinding" && o["spec"]["policyName"] == policy
            })
            .map(|o| o["spec"]["validationActions"].clone())
            .unwrap_or_else(|| panic!("no binding for {policy}"))
    };
    assert_eq!(
        actions("kharden-allowed-registries"),
        json!(["Warn", "Audit"])
    );
    assert_eq!(
        actions("kharden-allowed-registries-audit"),
        json!(["Audit"])
    );
    assert_eq!(actions("kharden-allowed-registries-deny"), json!(["Deny"]));
    assert_eq!(actions("kharden-required-annotations"), json!(["Deny"]));
    let label = |ns: &str, mode: &str| {
        gk.iter()
            .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == ns)
            .map(|o| o["metadata"]["labels"][format!("pod-security.kubernetes.io/{mode}")].clone())
            .unwrap_or_default()
    };
    assert_eq!(label("team-a", "enforce"), "privileged");
    let target = |ns: &str| {
        gk.iter()
            .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == ns)
            .map(|o| o["metadata"]["annotations"]["kharden.dev/pod-security-target"].clone())
            .unwrap_or_default()
    };
    assert_eq!(target("team-a"), "restricted");
    assert_eq!(target("team-c"), Value::Null);
    assert_eq!(label("team-a", "warn"), "restricted");
    assert_eq!(label("team-a", "audit"), "restricted");
    assert_eq!(label("team-c", "enforce"), label("team-d", "enforce"));
    assert_ne!(label("team-c", "enforce"), "privileged");
}

/// `enforcement: warn` (the shorthand): nothing refuses on either engine, and
/// the client is warned.
#[test]
fn the_scalar_shorthand_sets_every_rule_31() {
    for engine in ENGINES {
        let objs = objects(&profile(engine, "  enforcement: warn\n"));
        for o in &objs {
            if o["apiVersion"] == "constraints.gatekeeper.sh/v1beta1" {
                assert_eq!(o["spec"]["enforcementAction"], "warn", "{o}");
            }
            if o["kind"] == "ValidatingAdmissionPolicyBinding" {
                assert_eq!(
                    o["spec"]["validationActions"],
                    json!(["Warn", "Audit"]),
                    "{o}"
                );
            }
        }
        let bad = pod("docker.io/library/nginx:1", json!({}), true);
        let (denied, not) = verdict(&objs, "team-c", &bad);
        assert!(denied.is_empty(), "{engine}: {denied:?}");
        assert_eq!(not.len(), 3, "{engine}: {not:?}");
    }
}

#[test]
fn enforcement_keys_are_checked_31() {
    let e = errors(
        "namespaces: [{name: team-a}]\npolicy:\n  engine: gatekeeper\n  exemptNamespaces: [kube-system]\n  enforcement:\n    rules: {allowedRegistry: warn}\n    namespaces: {kube-system: audit, Team_B: warn}\n",
    );
    for want in [
        "error: `allowedRegistry` is not a policy rule\n  --> t.yaml:10:13",
        "did you mean `allowedRegistries`?",
        "namespace `kube-system` is exempt, so no rule applies there to set a mode for",
        "error: `Team_B` is not a valid name",
    ] {
        assert!(e.contains(want), "no `{want}` in\n{e}");
    }
    let e = errors("policy: {engine: gatekeeper, enforcement: block}\n");
    assert!(
        e.starts_with("error: `policy.enforcement` must be one of deny, warn, audit, not `block`"),
        "{e}"
    );
}

/// The report's coverage table follows the modes: a rule that only warns or
/// audits there is not said to refuse; a namespace left to its LimitRange
/// stays so whatever its mode.
#[test]
fn coverage_says_which_guards_only_warn_31() {
    use super::super::coverage::{Guard, coverage};
    let m = profile(
        "gatekeeper",
        "  enforcement: {rules: {noNodePorts: warn}, namespaces: {team-a: audit}}\n",
    );
    let c = coverage(&m);
    let row = |ns: &str| {
        c.iter()
            .find(|r| r.namespace == ns)
            .unwrap_or_else(|| panic!("no {ns}"))
    };
    assert_eq!(row("team-a").no_node_ports, Guard::NotEnforced("audit"));
    assert_eq!(row("team-a").required_limits, Guard::Namespace);
    assert_eq!(row("team-c").no_node_ports, Guard::NotEnforced("warn"));
    let others = c.last().unwrap();
    assert_eq!(others.no_node_ports, Guard::NotEnforced("warn"));
    assert_eq!(others.required_limits, Guard::Enforced);
    assert_eq!(others.node_ports(), "admitted (noNodePorts in warn mode)");
}
