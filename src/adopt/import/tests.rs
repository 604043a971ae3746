//! `import` unit tests: hostile cluster values stay values, rule sets equal in
//! meaning to a built-in become it, registry entries admit their images.

use serde_json::{Value, json};

use super::{Imported, Options, registry_entry, run};

fn import(objs: &[Value], platform: &str) -> Result<Imported, super::Error> {
    // JSON is YAML: hostile strings reach the reader escaped, as kubectl writes them.
    let text = objs
        .iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("\n---\n");
    run(
        &[("dump.yaml".to_owned(), text)],
        &Options {
            name: "t".to_owned(),
            platform: crate::platform::named(platform).unwrap(),
            kubernetes_version: "1.35".to_owned(),
        },
    )
}

/// The imported profile rendered, objects read back.
fn rendered(text: &str) -> Vec<Value> {
    let m = crate::load_text(text, "t.yaml", crate::testing::today())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let r = crate::render(&m).unwrap_or_else(|e| panic!("{e}\n{text}"));
    crate::verify::objects(&r.set)
}

fn ns(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "annotations": annotations}})
}

fn binding(kind: &str, name: &str, ns: Option<&str>, role: (&str, &str), subject: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
           "metadata": {"name": name, "namespace": ns},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role.0, "name": role.1},
           "subjects": [subject]})
}

fn cluster_role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
           "metadata": {"name": name}, "rules": rules})
}

#[test]
fn hostile_names_and_annotations_stay_values() {
    let note = "a\n# injected: true\n---\nkind: Secret\n{{ x }} 'q\" \\ \t: - [";
    let user = "mallory\"\n  role: cluster-admin\n- user: x";
    let crb = "evil\napiVersion: v9\n# x";
    let rules = json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]);
    let objs = [
        ns("team", json!({"example.com/note": note, "yes": "no"})),
        cluster_role("reader", rules),
        binding(
            "RoleBinding",
            "b",
            Some("team"),
            ("ClusterRole", "reader"),
            json!({"kind": "User", "name": user}),
        ),
        binding(
            "ClusterRoleBinding",
            crb,
            None,
            ("ClusterRole", "reader"),
            json!({"kind": "User", "name": user}),
        ),
    ];
    let text = import(&objs, "kubeadm").unwrap().text;
    // The header is comments only, however the names read.
    let head: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("apiVersion"))
        .collect();
    assert!(head.iter().all(|l| l.starts_with('#')), "{text}");
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "apiVersion",
            "cluster",
            "clusterAccess",
            "kind",
            "metadata",
            "namespaces",
            "roles"
        ]
    );
    let objs = rendered(&text);
    let nsobj = objs
        .iter()
        .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == "team")
        .unwrap();
    assert_eq!(nsobj["metadata"]["annotations"]["example.com/note"], note);
    assert_eq!(nsobj["metadata"]["annotations"]["yes"], "no");
    for kind in ["RoleBinding", "ClusterRoleBinding"] {
        let b = objs.iter().find(|o| o["kind"] == kind).unwrap();
        assert_eq!(b["subjects"][0]["name"], user, "{kind}");
    }
}

/// kharden's `edit`, one grant per rule and out of order.
fn edit_spelt_out() -> Value {
    let mut rules = Vec::new();
    for (_, rs) in crate::concern::rbac::built_ins()
        .into_iter()
        .filter(|(n, _)| *n == "edit")
    {
        for r in rs.iter().rev() {
            for res in &r.resources {
                for v in r.verbs.iter().rev() {
                    rules
                        .push(json!({"apiGroups": r.api_groups, "resources": [res], "verbs": [v]}));
                }
            }
        }
    }
    Value::Array(rules)
}

#[test]
fn rules_equal_in_meaning_to_a_built_in_become_it() {
    let group = json!({"kind": "Group", "name": "devs"});
    let same = [
        ns("team", json!({})),
        cluster_role("old-edit", edit_spelt_out()),
        binding(
            "RoleBinding",
            "b",
            Some("team"),
            ("ClusterRole", "old-edit"),
            group.clone(),
        ),
    ];
    let doc: Value = serde_saphyr::from_str(&import(&same, "kubeadm").unwrap().text).unwrap();
    assert_eq!(doc["namespaces"][0]["access"][0]["role"], "edit");
    assert!(doc.get("roles").is_none(), "{doc}");

    // One grant more than `edit` (exec) keeps its own rules under its own name.
    let mut wider = edit_spelt_out();
    wider
        .as_array_mut()
        .unwrap()
        .push(json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}));
    let objs = [
        ns("team", json!({})),
        cluster_role("edit", wider),
        binding(
            "RoleBinding",
            "b",
            Some("team"),
            ("ClusterRole", "edit"),
            group,
        ),
    ];
    let text = import(&objs, "kubeadm").unwrap().text;
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    // `edit` is built in and cannot be redefined: the custom role is renamed.
    assert_eq!(doc["namespaces"][0]["access"][0]["role"], "imported-edit");
    let rules = doc["roles"]["imported-edit"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["resources"][0] == "pods/exec"));
    rendered(&text);
}

#[test]
fn gke_group_grants_get_the_groups_security_group() {
    let objs = [
        ns("team", json!({})),
        cluster_role(
            "r",
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
        ),
        binding(
            "RoleBinding",
            "b",
            Some("team"),
            ("ClusterRole", "r"),
            json!({"kind": "Group", "name": "devs@example.com"}),
        ),
    ];
    let text = import(&objs, "gke").unwrap().text;
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(
        doc["identity"]["securityGroup"],
        "gke-security-groups@example.com"
    );
    rendered(&text);
    let mut bare = objs.clone();
    bare[2]["subjects"][0]["name"] = json!("devs");
    let e = import(&bare, "gke").unwrap_err().to_string();
    assert!(e.contains("no single domain (devs)"), "{e}");
}

#[test]
fn registry_entries_admit_everything_beside_the_image() {
    for (image, entry) in [
        ("nginx", "docker.io/library/*"),
        ("bitnami/redis:7", "docker.io/bitnami/*"),
        ("localhost:5000/app:1", "localhost:5000/*"),
        ("ghcr.io/acme/tools/cli@sha256:00", "ghcr.io/acme/tools/*"),
    ] {
        assert_eq!(registry_entry(image), entry, "{image}");
    }
}

#[test]
fn aks_object_id_users_are_listed_not_imported() {
    let id = "0f0e0d0c-0b0a-0908-0706-050403020100";
    let objs = [
        ns("team", json!({})),
        cluster_role(
            "r",
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
        ),
        binding(
            "RoleBinding",
            "b",
            Some("team"),
            ("ClusterRole", "r"),
            json!({"kind": "User", "name": id}),
        ),
        binding(
            "ClusterRoleBinding",
            "c",
            None,
            ("ClusterRole", "r"),
            json!({"kind": "User", "name": id}),
        ),
    ];
    let out = import(&objs, "aks").unwrap();
    assert_eq!(
        out.notes.iter().filter(|n| n.contains(id)).count(),
        2,
        "{:?}",
        out.notes
    );
    rendered(&out.text);
    // Elsewhere an id-shaped user is a user name like any other.
    let doc: Value = serde_saphyr::from_str(&import(&objs, "eks").unwrap().text).unwrap();
    assert_eq!(doc["namespaces"][0]["access"][0]["user"], id);
}
