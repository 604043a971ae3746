//! Access in the cluster beyond the profile: each existing RoleBinding and
//! ClusterRoleBinding the bundle does not render, per subject, against what
//! the rendered bindings grant that subject in the same scope. A binding whose
//! role (its rules, read from the dump or the bundle) holds a permission the
//! bundle never grants the subject there is `widening`, as `kharden diff`
//! marks a change that gives more; a binding to `cluster-admin`, `admin` or
//! `edit` that the bundle covers but does not own is `unowned` (applying the
//! bundle leaves it in place). Kubernetes' own bindings (`system:` names, the
//! `rbac-defaults` bootstrap label, `kubeadm:`) are skipped with one note.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Access;
use super::input::{kind_of, name_of, namespace_of};

/// The built-in roles the report names, strongest first.
const BUILTIN: &[&str] = &["cluster-admin", "admin", "edit", "view"];

/// A role's permissions: rule tuples, or a built-in role known by name only.
#[derive(Debug, Clone, Default)]
struct Grants {
    /// (apiGroup, resource or non-resource URL, verb).
    rules: BTreeSet<(String, String, String)>,
    /// The strongest built-in role by name (index in `BUILTIN`).
    builtin: Option<usize>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}

fn rules_of(role: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for r in role["rules"].as_array().into_iter().flatten() {
        let mut groups = strings(&r["apiGroups"]);
        let mut res = strings(&r["resources"]);
        let urls = strings(&r["nonResourceURLs"]);
        if !urls.is_empty() {
            groups = vec!["(url)".to_owned()];
            res = urls;
        }
        for g in &groups {
            for x in &res {
                for v in strings(&r["verbs"]) {
                    out.insert((g.clone(), x.clone(), v));
                }
            }
        }
    }
    out
}

/// Whether `have` covers one permission.
fn covers(have: &Grants, (g, r, v): &(String, String, String)) -> bool {
    if have.builtin == Some(0) {
        return true;
    }
    have.rules.iter().any(|(hg, hr, hv)| {
        (hg == "*" || hg == g) && (hr == "*" || hr == r) && (hv == "*" || hv == v)
    })
}

/// Roles by (namespace or None, name), from the dump and the bundle.
type Roles = BTreeMap<(Option<String>, String), Value>;

fn roles<'a>(objs: impl Iterator<Item = &'a Value>, into: &mut Roles) {
    for o in objs {
        match kind_of(o) {
            "Role" => {
                into.insert(
                    (namespace_of(o).map(str::to_owned), name_of(o).to_owned()),
                    o.clone(),
                );
            }
            "ClusterRole" => {
                into.insert((None, name_of(o).to_owned()), o.clone());
            }
            _ => {}
        }
    }
}

/// What a binding's role grants.
fn grants_of(binding: &Value, roles: &Roles) -> Grants {
    let name = binding["roleRef"]["name"].as_str().unwrap_or_default();
    let ns = match binding["roleRef"]["kind"].as_str() {
        Some("Role") => namespace_of(binding).map(str::to_owned),
        _ => None,
    };
    let builtin = if ns.is_none() {
        BUILTIN.iter().position(|b| *b == name)
    } else {
        None
    };
    Grants {
        rules: roles
            .get(&(ns, name.to_owned()))
            .map(rules_of)
            .unwrap_or_default(),
        builtin,
    }
}

/// A subject as (kind, name, namespace for a ServiceAccount).
type Subject = (String, String, Option<String>);

fn subjects(b: &Value) -> Vec<Subject> {
    b["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let kind = s["kind"].as_str().unwrap_or_default().to_owned();
            let ns = (kind == "ServiceAccount").then(|| {
                s["namespace"]
                    .as_str()
                    .or(namespace_of(b))
                    .unwrap_or_default()
                    .to_owned()
            });
            (kind, s["name"].as_str().unwrap_or_default().to_owned(), ns)
        })
        .collect()
}

fn is_binding(o: &Value) -> bool {
    matches!(kind_of(o), "RoleBinding" | "ClusterRoleBinding")
}

fn key(o: &Value) -> (String, Option<String>, String) {
    (
        kind_of(o).to_owned(),
        namespace_of(o).map(str::to_owned),
        name_of(o).to_owned(),
    )
}

/// Kubernetes' and kubeadm's own bindings.
fn system(b: &Value) -> bool {
    let name = name_of(b);
    name.starts_with("system:")
        || name.starts_with("kubeadm:")
        || b.pointer("/metadata/labels/kubernetes.io~1bootstrapping")
            == Some(&Value::from("rbac-defaults"))
}

/// Every existing binding's subject that gains more than the bundle grants,
/// or holds a built-in admin role through a binding the bundle does not own.
pub(super) fn find(rendered: &[Value], existing: &[Value], notes: &mut Vec<String>) -> Vec<Access> {
    let mut all_roles = Roles::new();
    roles(existing.iter(), &mut all_roles);
    roles(rendered.iter(), &mut all_roles);
    // What the bundle grants each subject, by scope (None: cluster-wide).
    let mut bundle: BTreeMap<(Subject, Option<String>), Grants> = BTreeMap::new();
    let owned: BTreeSet<_> = rendered.iter().filter(|o| is_binding(o)).map(key).collect();
    for b in rendered.iter().filter(|o| is_binding(o)) {
        let g = grants_of(b, &all_roles);
        for s in subjects(b) {
            let e = bundle
                .entry((s, namespace_of(b).map(str::to_owned)))
                .or_default();
            e.rules.extend(g.rules.iter().cloned());
            e.builtin = match (e.builtin, g.builtin) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    let mut skipped = 0;
    let mut out = Vec::new();
    for b in existing.iter().filter(|o| is_binding(o)) {
        if owned.contains(&key(b)) {
            continue;
        }
        if system(b) {
            skipped += 1;
            continue;
        }
        let ns = namespace_of(b).map(str::to_owned);
        let role = b["roleRef"]["name"].as_str().unwrap_or_default();
        let g = grants_of(b, &all_roles);
        for s in subjects(b) {
            let mut have = Grants::default();
            let scopes = [Some(None), ns.clone().map(Some)];
            for scope in scopes.into_iter().flatten() {
                if let Some(x) = bundle.get(&(s.clone(), scope)) {
                    have.rules.extend(x.rules.iter().cloned());
                    have.builtin = match (have.builtin, x.builtin) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
            }
            // A built-in role is covered by the same or a stronger one only
            // (its aggregated rules are the cluster's, not in the dump).
            let builtin_ok = g
                .builtin
                .is_none_or(|i| have.builtin.is_some_and(|h| h <= i));
            let rules_ok = g.rules.iter().all(|r| covers(&have, r));
            let verdict = if !(builtin_ok && rules_ok) {
                "widening"
            } else if g.builtin.is_some_and(|i| i < 3) {
                "unowned"
            } else {
                continue;
            };
            // A built-in role is named whole: its rules are the cluster's.
            let mut extra: Vec<String> = Vec::new();
            if !builtin_ok {
                extra.push(format!("all of the built-in `{role}`"));
            }
            extra.extend(
                g.rules
                    .iter()
                    .filter(|r| !covers(&have, r))
                    .take(3)
                    .map(|(gr, r, v)| {
                        let gr = if gr.is_empty() { "core" } else { gr };
                        format!("{v} {gr}/{r}")
                    }),
            );
            out.push(Access {
                subject_kind: s.0.clone(),
                subject_name: match &s.2 {
                    Some(sa_ns) => format!("{sa_ns}/{}", s.1),
                    None => s.1.clone(),
                },
                namespace: ns.clone(),
                binding: format!("{}/{}", kind_of(b), name_of(b)),
                role: format!(
                    "{}/{role}",
                    b["roleRef"]["kind"].as_str().unwrap_or("ClusterRole")
                ),
                verdict: verdict.to_owned(),
                beyond: extra,
            });
        }
    }
    if skipped > 0 {
        notes.push(format!(
            "access: {skipped} Kubernetes bootstrap binding(s) (`system:`, `kubeadm:`, rbac-defaults) not compared"
        ));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn crb(name: &str, role: &str, group: &str) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": name},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
               "subjects": [{"kind": "Group", "name": group}]})
    }

    #[test]
    fn a_granted_builtin_is_unowned_a_stronger_one_widening_bootstrap_skipped() {
        let rendered = [crb("kharden-ops", "admin", "ops")];
        let existing = [
            crb("kharden-ops", "admin", "ops"), // the bundle's own: no finding
            crb("old-ops", "edit", "ops"),      // covered by admin: unowned
            crb("ops-root", "cluster-admin", "ops"), // beyond admin: widening
            crb(
                "system:basic-user",
                "system:basic-user",
                "system:authenticated",
            ),
        ];
        let mut notes = Vec::new();
        let found = find(&rendered, &existing, &mut notes);
        let verdicts: Vec<(&str, &str)> = found
            .iter()
            .map(|a| (a.binding.as_str(), a.verdict.as_str()))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("ClusterRoleBinding/old-ops", "unowned"),
                ("ClusterRoleBinding/ops-root", "widening")
            ]
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
    }
}
