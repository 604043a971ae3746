//! `kharden import` round trip (#31 item 3): import a brownfield dump, render
//! the imported profile, and check by meaning that every subject keeps at
//! least the access it had, namespaces, labels, quotas and limit ranges
//! survive, and the registries admit every pod image (through the rendered
//! admission chain).

use crate::common;

use std::path::PathBuf;

use common::{kharden, root, stderr};
use serde_json::Value;

const SYSTEM: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

fn dump() -> Vec<Value> {
    fn flat(v: Value, out: &mut Vec<Value>) {
        if v["kind"] == "List" {
            for i in v["items"].as_array().unwrap().clone() {
                flat(i, out);
            }
        } else if !v.is_null() {
            out.push(v);
        }
    }
    let mut out = Vec::new();
    for f in ["cluster.yaml", "workloads.yaml"] {
        let text = std::fs::read_to_string(root().join("tests/fixtures/import").join(f)).unwrap();
        for d in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
            flat(d, &mut out);
        }
    }
    out
}

/// The imported profile, rendered and read back.
/// Import the fixture into a fresh directory of its own; the profile's path.
fn import_to(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kharden-import-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("imported.yaml");
    let o = kharden(&[
        "import",
        "tests/fixtures/import",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    path
}

fn imported(test: &str) -> (String, Vec<Value>) {
    let text = std::fs::read_to_string(import_to(test)).unwrap();
    let today = kharden::input::clock::Date {
        year: 2026,
        month: 11,
        day: 26,
    };
    let model = kharden::load_text(&text, "imported.yaml", today)
        .unwrap_or_else(|e| panic!("imported profile invalid:\n{e}\n{text}"));
    // `render` runs the platform self-check too.
    let r = kharden::render(&model).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (text, kharden::verify::objects(&r.set))
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `rules` allow `verb` on `group/resource` (named `name`, or any).
fn allows(rules: &[Value], group: &str, resource: &str, verb: &str, name: Option<&str>) -> bool {
    rules.iter().any(|r| {
        let has = |k: &str, x: &str| strs(&r[k]).iter().any(|v| v == x || v == "*");
        let names = strs(&r["resourceNames"]);
        has("apiGroups", group)
            && has("resources", resource)
            && has("verbs", verb)
            && (names.is_empty() || name.is_some_and(|n| names.iter().any(|x| x == n)))
    })
}

fn find<'a>(objs: &'a [Value], kind: &str, ns: Option<&str>, name: &str) -> Option<&'a Value> {
    objs.iter().find(|o| {
        o["kind"] == kind
            && o["metadata"]["name"] == name
            && o["metadata"]["namespace"].as_str() == ns
    })
}

fn same_subject(s: &Value, want: &Value, ns: &str) -> bool {
    s["kind"] == want["kind"]
        && s["name"] == want["name"]
        && (want["kind"] != "ServiceAccount"
            || s["namespace"].as_str() == Some(want["namespace"].as_str().unwrap_or(ns)))
}

/// Every rule the rendered bundle gives `subject` in `ns` (None: cluster-wide only).
fn rendered_rules(objs: &[Value], subject: &Value, ns: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    for b in objs {
        let namespaced = b["kind"] == "RoleBinding" && ns.is_some();
        let in_scope = (namespaced && b["metadata"]["namespace"].as_str() == ns)
            || b["kind"] == "ClusterRoleBinding";
        if !in_scope
            || !b["subjects"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| same_subject(s, subject, ns.unwrap_or_default()))
        {
            continue;
        }
        let kind = b["roleRef"]["kind"].as_str().unwrap();
        let rns = (kind == "Role").then(|| ns.unwrap());
        let role = find(objs, kind, rns, b["roleRef"]["name"].as_str().unwrap())
            .unwrap_or_else(|| panic!("rendered binding names a missing role: {b}"));
        out.extend(role["rules"].as_array().unwrap().iter().cloned());
    }
    out
}

/// Each grant of the dump's role, as (group, resource, verb, name).
fn grants(role: &Value) -> Vec<(String, String, String, Option<String>)> {
    let mut out = Vec::new();
    for r in role["rules"].as_array().unwrap() {
        let names = strs(&r["resourceNames"]);
        let names: Vec<Option<String>> = if names.is_empty() {
            vec![None]
        } else {
            names.into_iter().map(Some).collect()
        };
        for g in strs(&r["apiGroups"]) {
            for res in strs(&r["resources"]) {
                for v in strs(&r["verbs"]) {
                    for n in &names {
                        out.push((g.clone(), res.clone(), v.clone(), n.clone()));
                    }
                }
            }
        }
    }
    out
}

fn expressible(s: &Value) -> bool {
    !s["name"].as_str().unwrap().starts_with("system:")
}

#[test]
fn import_round_trip_keeps_every_grant() {
    let (_, objs) = imported("grants");
    let dump = dump();
    let mut checked = 0;
    for b in dump
        .iter()
        .filter(|o| o["kind"] == "RoleBinding" || o["kind"] == "ClusterRoleBinding")
    {
        if b["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("system:")
        {
            continue;
        }
        let ns = b["metadata"]["namespace"].as_str();
        let rkind = b["roleRef"]["kind"].as_str().unwrap();
        let role = find(
            &dump,
            rkind,
            if rkind == "Role" { ns } else { None },
            b["roleRef"]["name"].as_str().unwrap(),
        )
        .unwrap();
        for s in b["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| expressible(s))
        {
            let have = rendered_rules(&objs, s, ns);
            for (g, r, v, n) in grants(role) {
                assert!(
                    allows(&have, &g, &r, &v, n.as_deref()),
                    "{} {} lost `{v}` on {g}/{r} {n:?} in {ns:?} (from {})",
                    s["kind"],
                    s["name"],
                    b["metadata"]["name"]
                );
                checked += 1;
            }
        }
    }
    // Every binding's grants were compared, cluster-admin's `*` included.
    assert!(checked > 60, "{checked}");
}

#[test]
fn import_round_trip_keeps_namespaces_quotas_and_limits() {
    let (text, objs) = imported("namespaces");
    assert!(!text.contains("c3VwZXI"), "Secret data in the profile");
    for d in dump().iter().filter(|o| o["kind"] == "Namespace") {
        let name = d["metadata"]["name"].as_str().unwrap();
        let got = find(&objs, "Namespace", None, name);
        if SYSTEM.contains(&name) || name == "default" {
            assert!(got.is_none(), "{name} taken over");
            continue;
        }
        let got = got.unwrap_or_else(|| panic!("namespace {name} lost"));
        for (k, v) in d["metadata"]["labels"].as_object().unwrap() {
            // The API server sets `kubernetes.io/metadata.name` itself.
            if k.starts_with("pod-security.kubernetes.io/") || k == "kubernetes.io/metadata.name" {
                continue; // Pod Security compared below
            }
            assert_eq!(&got["metadata"]["labels"][k], v, "{name}: label {k}");
        }
        // The enforced Pod Security level stays where the namespace set one.
        if let Some(l) = d["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") {
            assert_eq!(
                &got["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
                l
            );
        }
        for (k, v) in d["metadata"]["annotations"].as_object().unwrap() {
            if k != "kubectl.kubernetes.io/last-applied-configuration" {
                assert_eq!(
                    &got["metadata"]["annotations"][k], v,
                    "{name}: annotation {k}"
                );
            }
        }
    }
    // Two quotas in `shop`: each resource keeps its smallest limit.
    let q = objs
        .iter()
        .find(|o| o["kind"] == "ResourceQuota" && o["metadata"]["namespace"] == "shop")
        .unwrap();
    for (k, want) in [
        ("pods", "25"),
        ("requests.cpu", "6"),
        ("limits.memory", "24Gi"),
        ("configmaps", "40"),
        // Room for the LoadBalancer Service that runs there.
        ("services.loadbalancers", "1"),
    ] {
        assert_eq!(q["spec"]["hard"][k].as_str(), Some(want), "quota {k}: {q}");
    }
    let lr = objs
        .iter()
        .find(|o| o["kind"] == "LimitRange" && o["metadata"]["namespace"] == "shop")
        .unwrap();
    let c = &lr["spec"]["limits"][0];
    assert_eq!(c["type"], "Container");
    assert_eq!(c["default"]["memory"], "256Mi");
    assert_eq!(c["defaultRequest"]["cpu"], "100m");
    assert_eq!(c["max"]["cpu"], "2");
    assert_eq!(c["max"]["memory"], "2Gi");
    // The service account keeps its token setting.
    let sa = find(&objs, "ServiceAccount", Some("payments"), "runner").unwrap();
    assert_eq!(sa["automountServiceAccountToken"], false);
}

/// The rendered admission chain's registry denials for a pod of `spec` in `ns`.
fn registry_denials(objs: &[Value], ns: &str, spec: &Value) -> Vec<String> {
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "probe", "namespace": ns},
        "spec": spec,
    });
    let ps = kharden::verify::PodSecurity::new(objs, None);
    let d = kharden::verify::decide(objs, &ps, ns, &pod).unwrap();
    d.denials
        .into_iter()
        .map(|x| x.message)
        .filter(|m| m.contains("allowed registr"))
        .collect()
}

#[test]
fn import_round_trip_admits_every_pod_image() {
    let (_, objs) = imported("images");
    let mut checked = 0;
    for o in dump() {
        let spec = match o["kind"].as_str().unwrap() {
            "Pod" => o["spec"].clone(),
            "Deployment" => o["spec"]["template"]["spec"].clone(),
            "CronJob" => o["spec"]["jobTemplate"]["spec"]["template"]["spec"].clone(),
            _ => continue,
        };
        let ns = o["metadata"]["namespace"].as_str().unwrap();
        let denied = registry_denials(&objs, ns, &spec);
        assert!(denied.is_empty(), "{ns}: {denied:?}");
        checked += 1;
    }
    assert_eq!(checked, 4);
    // The check can fail: an image from elsewhere is refused.
    let other = serde_json::json!({"containers": [{"name": "x", "image": "evil.example.org/x:1"}]});
    assert!(!registry_denials(&objs, "shop", &other).is_empty());
}

#[test]
fn import_writes_stdout_never_overwrites_and_refuses_bad_yaml() {
    let o = kharden(&["import", "tests/fixtures/import", "-o", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = common::stdout(&o);
    assert!(out.contains("1 Secrets skipped"), "{out}");
    assert!(
        !out.contains("c3VwZXI") && !out.contains("password"),
        "{out}"
    );
    // The same objects give the same profile, byte for byte.
    let again = kharden(&["import", "tests/fixtures/import", "-o", "-"]);
    assert_eq!(out, common::stdout(&again));

    let dir = std::env::temp_dir().join(format!("kharden-import-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let existing = dir.join("profile.yaml");
    std::fs::write(&existing, "keep").unwrap();
    let o = kharden(&[
        "import",
        "tests/fixtures/import",
        "-o",
        existing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("never overwrites"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep");

    let cut = dir.join("cut.yaml");
    std::fs::write(
        &cut,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: [a\n",
    )
    .unwrap();
    let o = kharden(&["import", cut.to_str().unwrap(), "-o", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: `cut.yaml` is not YAML kharden can read"),
        "{}",
        stderr(&o)
    );
}

/// The closing check: `audit` of the imported profile against the
/// same objects finds no access beyond the bundle except the grants the
/// import's header says a profile cannot express; everything else it reports
/// is kharden's hardening (violations of its rules, objects it adds).
#[test]
fn audit_of_the_imported_profile_finds_no_lost_grant() {
    let path = import_to("audit");
    let text = std::fs::read_to_string(&path).unwrap();
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    let o = kharden(&[
        "audit",
        path.to_str().unwrap(),
        "tests/fixtures/import",
        "--format",
        "json",
    ]);
    let report: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let access = report["access"].as_array().unwrap();
    for a in access.iter().filter(|a| a["verdict"] == "widening") {
        // `RoleBinding/shop-devs-read`, `ClusterRole/cluster-admin`: named in
        // the header as not expressible.
        let binding = a["binding"].as_str().unwrap().split('/').nth(1).unwrap();
        let role = a["role"].as_str().unwrap().split('/').nth(1).unwrap();
        assert!(
            header.iter().any(|l| l.contains(&format!("`{binding}`"))
                || l.contains(&format!("/{binding}`"))
                || (l.contains(&format!("`{role}`")) && l.contains("non-resource URLs"))),
            "audit finds a grant the import lost without saying so: {a}\nheader:\n{}",
            header.join("\n")
        );
    }
    // Every binding the import could express is rendered: audit owns none of them.
    assert!(
        access
            .iter()
            .all(|a| a["binding"] != "ClusterRoleBinding/node-readers"),
        "{access:#?}"
    );
}
