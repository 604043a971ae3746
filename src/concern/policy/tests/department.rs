//! Issue #31 item 4: department labels, run through the whole admission chain
//! (`verify::decide_as`, mutation then validation) of each engine's
//! rendering: Gatekeeper (validates only), the native engine on 1.33 (no
//! MutatingAdmissionPolicy: validates only) and on 1.36 (the policy sets the
//! label). The requester's groups reach Rego as `input.review.userInfo` and
//! CEL as `request.userInfo`.

use serde_json::{Value, json};

use crate::testing::{HEAD, errors, today};
use crate::verify::{PodSecurity, UserInfo, decide_as};

const KEY: &str = "example.ca/department";

/// Two departments, one with two groups; `ops` exempt; OIDC groups prefix `g:`.
fn rendered(engine: &str, version: &str) -> Vec<Value> {
    let body = format!(
        r#"identity:
  mode: flags
  oidc: {{issuerURL: "https://idp.example/", clientID: k, usernamePrefix: "oidc:", groupsPrefix: "g:"}}
namespaces:
  - name: team-a
  - name: ops
policy:
  engine: {engine}
  requiredLimits: []
  exemptNamespaces: [ops]
  departmentLabel:
    key: {KEY}
    groups: {{finance-team: finance, fin-leads: finance, hr-team: hr}}
"#
    );
    let text = format!("{HEAD}{body}").replace(
        "kubernetesVersion: \"1.33\"",
        &format!("kubernetesVersion: \"{version}\""),
    );
    let m = match crate::load_text(&text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    crate::verify::objects(&crate::render(&m).unwrap().set)
}

fn deployment(label: Option<&str>) -> Value {
    let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "ledger"},
        "spec": {"selector": {"matchLabels": {"app": "ledger"}},
            "template": {"metadata": {"labels": {"app": "ledger"}},
                "spec": {"containers": [{"name": "c", "image": "registry.example/ledger:1"}]}}}});
    if let Some(v) = label {
        d["metadata"]["labels"] = json!({KEY: v});
    }
    d
}

fn user(groups: &[&str]) -> UserInfo {
    UserInfo {
        username: "oidc:alice".to_owned(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

/// The department label on the object validation saw, and the denials.
fn decide(objs: &[Value], ns: &str, obj: &Value, groups: &[&str]) -> (Option<String>, Vec<String>) {
    let d = decide_as(
        objs,
        &PodSecurity::new(objs, Some(36)),
        ns,
        obj,
        &user(groups),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let label = d.request.object["metadata"]["labels"][KEY]
        .as_str()
        .map(str::to_owned);
    (label, d.denials.into_iter().map(|x| x.message).collect())
}

const MISSING: &str = "a Deployment created by a member of department finance must carry the label example.ca/department: finance; it has none";

#[test]
fn members_objects_carry_their_department_on_every_engine() {
    let engines = [
        ("gatekeeper", "1.33", false),
        ("validating-admission-policy", "1.33", false),
        ("validating-admission-policy", "1.36", true),
    ];
    for (engine, version, mutates) in engines {
        let objs = rendered(engine, version);
        let at = format!("{engine} {version}");
        // A finance member without the label: labelled by the policy where
        // one is rendered, otherwise refused with what to set.
        let (label, denials) = decide(&objs, "team-a", &deployment(None), &["g:finance-team"]);
        if mutates {
            assert_eq!(label.as_deref(), Some("finance"), "{at}");
            assert!(denials.is_empty(), "{at}: {denials:?}");
        } else {
            assert_eq!(label, None, "{at}");
            assert_eq!(denials, [MISSING], "{at}");
        }
        // Another kind, through the other finance group: the same rule.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let (label, denials) = decide(&objs, "team-a", &cm, &["g:devs", "g:fin-leads"]);
        assert_eq!(label.is_some(), mutates, "{at}");
        assert_eq!(denials.len(), usize::from(!mutates), "{at}: {denials:?}");
        // With the right label: admitted, unchanged.
        let (label, denials) = decide(
            &objs,
            "team-a",
            &deployment(Some("finance")),
            &["g:finance-team"],
        );
        assert_eq!(label.as_deref(), Some("finance"), "{at}");
        assert!(denials.is_empty(), "{at}: {denials:?}");
        // A non-member: untouched and admitted, labelled or not.
        for obj in [deployment(None), deployment(Some("marketing"))] {
            let before = obj["metadata"]["labels"][KEY].as_str().map(str::to_owned);
            let (label, denials) = decide(&objs, "team-a", &obj, &["g:devs"]);
            assert_eq!(label, before, "{at}");
            assert!(denials.is_empty(), "{at}: {denials:?}");
        }
        // The group as the identity provider names it, without the API
        // server's prefix, is not the mapped group.
        let (_, denials) = decide(&objs, "team-a", &deployment(None), &["finance-team"]);
        assert!(denials.is_empty(), "{at}: {denials:?}");
        // Another department's value is never overwritten, and refused.
        let (label, denials) = decide(
            &objs,
            "team-a",
            &deployment(Some("hr")),
            &["g:finance-team"],
        );
        assert_eq!(label.as_deref(), Some("hr"), "{at}");
        assert_eq!(
            denials,
            [
                "a Deployment created by a member of department finance must carry the label example.ca/department: finance; it has example.ca/department: hr"
            ],
            "{at}"
        );
        // A member of two departments chooses: nothing is chosen for them.
        let both = ["g:hr-team", "g:finance-team"];
        let (label, denials) = decide(&objs, "team-a", &deployment(None), &both);
        assert_eq!(label, None, "{at}");
        assert_eq!(
            denials,
            [
                "a Deployment created by a member of departments finance, hr must carry the label example.ca/department set to one of them; it has none"
            ],
            "{at}"
        );
        let (_, denials) = decide(&objs, "team-a", &deployment(Some("hr")), &both);
        assert!(denials.is_empty(), "{at}: {denials:?}");
        // Exempt namespaces are not concerned.
        let (label, denials) = decide(&objs, "ops", &deployment(None), &["g:finance-team"]);
        assert_eq!(label, None, "{at}");
        assert!(denials.is_empty(), "{at}: {denials:?}");
    }
}

#[test]
fn department_values_reach_the_engines_only_as_parameters() {
    let gk = rendered("gatekeeper", "1.33");
    let c = gk
        .iter()
        .find(|o| o["kind"] == "KhardenDepartmentLabel")
        .unwrap();
    assert_eq!(
        c["spec"]["parameters"],
        json!({"key": KEY, "departments": [
            {"department": "finance", "groups": ["g:fin-leads", "g:finance-team"]},
            {"department": "hr", "groups": ["g:hr-team"]}]})
    );
    assert_eq!(c["spec"]["match"]["namespaces"], json!(["team-a"]));
    let t = gk
        .iter()
        .find(|o| o["metadata"]["name"] == "khardendepartmentlabel")
        .unwrap();
    assert!(!t.to_string().contains("finance"));
    let native = rendered("validating-admission-policy", "1.36");
    for kind in ["ValidatingAdmissionPolicy", "MutatingAdmissionPolicy"] {
        let p = native
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == "kharden-department-label")
            .unwrap_or_else(|| panic!("no {kind}"));
        let vars = p["spec"]["variables"].as_array().unwrap();
        assert_eq!(
            vars[0],
            json!({"name": "departments", "expression": "[{\"department\": \"finance\", \"groups\": [\"g:fin-leads\", \"g:finance-team\"]}, {\"department\": \"hr\", \"groups\": [\"g:hr-team\"]}]"})
        );
        assert_eq!(
            vars[1],
            json!({"name": "key", "expression": "\"example.ca/department\""})
        );
        assert_eq!(
            p["spec"]["matchConstraints"]["resourceRules"][0]["operations"],
            json!(["CREATE"])
        );
    }
}

#[test]
fn department_label_mistakes_are_reported_together() {
    let e = errors(
        "identity:\n  mode: flags\n  oidc: {issuerURL: \"https://idp.example/\", clientID: k, groupsPrefix: \"g:\"}\npolicy:\n  engine: gatekeeper\n  departmentLabel:\n    key: \"bad key!\"\n    groups: {\"\": finance, \"g:hr\": hr, ops: \"not a value!\", dev: \"\"}\n",
    );
    for want in [
        "`bad key!` is not a valid label key",
        "the group id is empty",
        "group `g:hr` already carries the OIDC groups prefix",
        "write the bare id `hr`",
        "`not a value!` is not a valid label value",
        "group `dev` maps to an empty department",
    ] {
        assert!(e.contains(want), "no `{want}` in:\n{e}");
    }
    let e =
        errors("policy:\n  engine: gatekeeper\n  departmentLabel: {key: department, groups: {}}\n");
    assert!(
        e.contains("`departmentLabel` maps no group to a department"),
        "{e}"
    );
}
