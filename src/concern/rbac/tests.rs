//! Tests of the RBAC rendering: built-in and custom roles, bindings with the OIDC prefixes, ServiceAccounts, justified cluster grants.

use serde_json::json;

use crate::testing::{errors, object, render};

const OIDC: &str = "identity:\n  mode: flags\n  oidc: {issuerURL: \"https://idp.example/\", clientID: k, usernamePrefix: \"oidc:\", groupsPrefix: \"g:\"}\n";

#[test]
fn bindings_carry_the_oidc_prefixes() {
    let objs = render(&format!(
        "{OIDC}namespaces:\n  - name: a\n    access:\n      - {{user: alice, role: view}}\n      - {{group: devs, role: edit}}\n"
    ));
    let rb = object(&objs, "a/rolebinding-view-user-alice.yaml");
    assert_eq!(
        rb["subjects"][0],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "oidc:alice"})
    );
    assert_eq!(rb["roleRef"]["name"], "view");
    let rb = object(&objs, "a/rolebinding-edit-group-devs.yaml");
    assert_eq!(rb["subjects"][0]["name"], "g:devs");
    // Only the roles in use are rendered.
    object(&objs, "a/role-view.yaml");
    object(&objs, "a/role-edit.yaml");
    assert!(!objs.iter().any(|(p, _)| p == "a/role-limited-user.yaml"));
}

#[test]
fn flags_mode_without_prefix_uses_the_api_servers_default() {
    let objs = render(
        "identity:\n  mode: flags\n  oidc: {issuerURL: \"https://sts.windows.net/t/\", clientID: k, usernameClaim: oid}\nnamespaces:\n  - name: a\n    access: [{user: u1, role: view}]\n",
    );
    let rb = object(&objs, "a/rolebinding-view-user-u1.yaml");
    assert_eq!(rb["subjects"][0]["name"], "https://sts.windows.net/t/#u1");
}

#[test]
fn limited_user_fixes_the_seed() {
    let objs = render("namespaces:\n  - name: a\n    access: [{group: g, role: limited-user}]\n");
    let role = object(&objs, "a/role-limited-user.yaml");
    let rules = role["rules"].as_array().unwrap();
    for r in rules {
        for v in r["verbs"].as_array().unwrap() {
            assert!(
                !["edit", "exec"].contains(&v.as_str().unwrap()),
                "not a verb: {v}"
            );
        }
        assert_ne!(r["apiGroups"][0], "extensions");
    }
    let batch = rules.iter().find(|r| r["apiGroups"][0] == "batch").unwrap();
    assert_eq!(batch["resources"], json!(["cronjobs", "jobs"]));
    assert!(
        role["metadata"]["annotations"]["kharden.dev/review-note"]
            .as_str()
            .unwrap()
            .contains("pods/exec")
    );
}

#[test]
fn service_accounts_have_no_token_unless_asked() {
    let objs = render(
        "roles:\n  deployer:\n    rules: [{apiGroups: [apps], resources: [deployments], verbs: [get, patch]}]\nnamespaces:\n  - name: a\n    serviceAccounts:\n      - {name: ci, role: deployer}\n      - {name: tok, automountToken: true}\n",
    );
    assert_eq!(
        object(&objs, "a/serviceaccount-ci.yaml")["automountServiceAccountToken"],
        false
    );
    assert_eq!(
        object(&objs, "a/serviceaccount-tok.yaml")["automountServiceAccountToken"],
        true
    );
    let rb = object(&objs, "a/rolebinding-deployer-sa-ci.yaml");
    assert_eq!(
        rb["subjects"][0],
        json!({"kind": "ServiceAccount", "name": "ci", "namespace": "a"})
    );
    assert_eq!(
        object(&objs, "a/role-deployer.yaml")["rules"][0]["verbs"],
        json!(["get", "patch"])
    );
}

#[test]
fn every_default_service_account_mounts_no_token() {
    let objs = render(
        "namespaces:\n  - name: a\n  - name: b\n    serviceAccounts:\n      - {name: default, automountToken: true}\n",
    );
    let sa = object(&objs, "a/serviceaccount-default.yaml");
    assert_eq!(sa["automountServiceAccountToken"], false);
    assert_eq!(sa["metadata"]["namespace"], "a");
    // A profile that lists `default` itself gets what it asked, once.
    assert_eq!(
        object(&objs, "b/serviceaccount-default.yaml")["automountServiceAccountToken"],
        true
    );
    assert_eq!(
        objs.iter()
            .filter(|(p, _)| p == "b/serviceaccount-default.yaml")
            .count(),
        1
    );
}

#[test]
fn cluster_access_keeps_its_justification() {
    let objs = render(
        "clusterAccess:\n  - group: ops\n    name: ops-read\n    rules: [{apiGroups: [\"\"], resources: [nodes], verbs: [list]}]\n    justification: Operators list nodes during incidents.\n",
    );
    let crb = object(&objs, "_cluster/clusterrolebinding-kharden-ops-read.yaml");
    assert_eq!(
        crb["metadata"]["annotations"]["kharden.dev/justification"],
        "Operators list nodes during incidents."
    );
    assert_eq!(
        crb["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kharden-ops-read"})
    );
}

#[test]
fn unjustified_cluster_access_is_refused() {
    let e = errors(
        "clusterAccess:\n  - group: ops\n    rules: [{apiGroups: [\"\"], resources: [nodes], verbs: [list]}]\n",
    );
    assert!(
        e.contains("a cluster-wide grant needs a written justification"),
        "{e}"
    );
    let e = errors(
        "clusterAccess:\n  - group: ops\n    rules: [{apiGroups: [\"\"], resources: [nodes], verbs: [list]}]\n    justification: because\n",
    );
    assert!(e.contains("too short to review"), "{e}");
}

#[test]
fn subjects_roles_and_verbs_are_checked() {
    let e = errors(&format!(
        "{OIDC}roles:\n  view:\n    rules: [{{apiGroups: [\"\"], resources: [pods], verbs: [exec]}}]\nnamespaces:\n  - name: a\n    access:\n      - {{role: view}}\n      - {{user: \"oidc:bob\", role: view}}\n      - {{group: g, role: veiw}}\n"
    ));
    assert!(
        e.contains("role `view` is built in and cannot be redefined"),
        "{e}"
    );
    assert!(e.contains("`exec` is not a Kubernetes verb"), "{e}");
    assert!(
        e.contains("exec is `create` on the resource `pods/exec`"),
        "{e}"
    );
    assert!(
        e.contains("`namespaces[0].access[0]` names no subject"),
        "{e}"
    );
    assert!(
        e.contains("already carries the OIDC username prefix"),
        "{e}"
    );
    assert!(e.contains("unknown role `veiw`"), "{e}");
    assert!(e.contains("did you mean `view`?"), "{e}");
}
