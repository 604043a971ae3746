//! Access for `import`: RoleBindings and ClusterRoleBindings of a dump, with
//! the rules of the roles they point at, as profile access entries, service
//! account roles, custom `roles` and `clusterAccess`. A rule set equal in
//! meaning (the same (group, resource, verb, name) grants) to a built-in
//! role's becomes that role; any other keeps its own rules, so no subject
//! loses a grant. What a profile cannot say is returned as notes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::read::Obj;
use crate::concern::rbac::{VERBS, built_ins};
use crate::input::profile::{AccessEntry, ClusterAccess, Platform, RoleSpec, RuleSpec};
use crate::k8s::names;

/// One grant: API group, resource, verb, and the object name (`None`: any).
pub type Atom = (String, String, String, Option<String>);

/// Every grant a rule list makes, spelt out.
pub fn atoms(rules: &[RuleSpec]) -> BTreeSet<Atom> {
    let mut out = BTreeSet::new();
    for r in rules {
        let names: Vec<Option<String>> = if r.resource_names.is_empty() {
            vec![None]
        } else {
            r.resource_names.iter().cloned().map(Some).collect()
        };
        for g in &r.api_groups {
            for res in &r.resources {
                for v in &r.verbs {
                    for n in &names {
                        out.insert((g.clone(), res.clone(), v.clone(), n.clone()));
                    }
                }
            }
        }
    }
    out
}

/// What the dump's bindings become in the profile.
#[derive(Debug, Default)]
pub(super) struct Access {
    pub roles: BTreeMap<String, RoleSpec>,
    /// Per namespace: the user and group grants.
    pub entries: BTreeMap<String, Vec<AccessEntry>>,
    /// Per (namespace, service account): the role it is bound to.
    pub sa_roles: BTreeMap<(String, String), String>,
    pub cluster: Vec<ClusterAccess>,
    /// Cluster-wide grants imported, one line each, for the header.
    pub grants: Vec<String>,
    pub notes: Vec<String>,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = v
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

/// A role's rules as the profile can hold them; what it drops goes to `notes`.
fn rules_of(role: &Obj, notes: &mut Vec<String>) -> Vec<RuleSpec> {
    let what = format!("{} `{}`", role.kind, role.name);
    let mut out = Vec::new();
    let list = role.value.get("rules").and_then(Value::as_array);
    for r in list.into_iter().flatten() {
        if !strings(r, "nonResourceURLs").is_empty() {
            notes.push(format!(
                "{what}: a rule on non-resource URLs (a profile has none); left out"
            ));
            continue;
        }
        let (verbs, odd): (Vec<String>, Vec<String>) = strings(r, "verbs")
            .into_iter()
            .partition(|v| VERBS.contains(&v.as_str()));
        if !odd.is_empty() {
            notes.push(format!(
                "{what}: verbs {} are not Kubernetes verbs a profile takes; left out",
                odd.join(", ")
            ));
        }
        let rule = RuleSpec {
            api_groups: strings(r, "apiGroups"),
            resources: strings(r, "resources"),
            verbs,
            resource_names: strings(r, "resourceNames"),
        };
        if !rule.api_groups.is_empty() && !rule.resources.is_empty() && !rule.verbs.is_empty() {
            out.push(rule);
        }
    }
    sorted(out)
}

/// Rules in a fixed order, each once.
fn sorted(mut rules: Vec<RuleSpec>) -> Vec<RuleSpec> {
    rules.sort_by(|a, b| {
        (&a.api_groups, &a.resources, &a.verbs, &a.resource_names).cmp(&(
            &b.api_groups,
            &b.resources,
            &b.verbs,
            &b.resource_names,
        ))
    });
    rules.dedup();
    rules
}

/// Names roles by rule set: equal sets share one name, a built-in's set is it.
#[derive(Default)]
struct Namer {
    by_atoms: BTreeMap<BTreeSet<Atom>, String>,
    specs: BTreeMap<String, RoleSpec>,
}

impl Namer {
    fn name(&mut self, wanted: &str, rules: Vec<RuleSpec>) -> String {
        let set = atoms(&rules);
        if let Some((b, _)) = built_ins().into_iter().find(|(_, r)| atoms(r) == set) {
            return b.to_owned();
        }
        if let Some(n) = self.by_atoms.get(&set) {
            return n.clone();
        }
        let builtin = built_ins().iter().any(|(b, _)| *b == wanted);
        let base = if names::dns_subdomain(wanted).is_ok() && !builtin && wanted.len() <= 50 {
            wanted.to_owned()
        } else {
            format!("imported-{}", names::slug(wanted, 40))
        };
        let mut name = base.clone();
        let mut i = 2;
        while self.specs.contains_key(&name) {
            name = format!("{base}-{i}");
            i += 1;
        }
        self.by_atoms.insert(set, name.clone());
        self.specs.insert(name.clone(), RoleSpec { rules });
        name
    }
}

/// The (kind, name, namespace) of each subject of a binding.
fn subjects(b: &Obj) -> Vec<(String, String, Option<String>)> {
    let list = b.value.get("subjects").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(|s| {
            Some((
                s.get("kind")?.as_str()?.to_owned(),
                s.get("name")?.as_str()?.to_owned(),
                s.get("namespace")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ))
        })
        .collect()
}

/// The role a binding points at, from the dump.
fn role_of<'a>(b: &Obj, objs: &'a [Obj]) -> Option<&'a Obj> {
    let kind = b.str_at(&["roleRef", "kind"])?;
    let name = b.str_at(&["roleRef", "name"])?;
    objs.iter().find(|o| {
        o.kind == kind && o.name == name && (kind == "ClusterRole" || o.namespace == b.namespace)
    })
}

/// An Entra ID object ID (`8-4-4-4-12` hex digits), which kharden refuses as
/// an aks user name (AKS matches users by UPN).
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether users sign in through Entra ID, which names them by UPN, not object ID.
fn entra_id(platform: Platform) -> bool {
    crate::platform::of(platform).identity().entra_id
}

/// Whether a profile can name this user or group.
fn expressible(platform: Platform, kind: &str, name: &str) -> bool {
    let system = name.starts_with("system:") || name.trim().is_empty();
    let object_id = entra_id(platform) && kind == "User" && is_guid(name);
    !system && !object_id
}

/// A role a service account is bound to: its name and rules.
type Bound = (String, Vec<RuleSpec>);

/// Map the dump's bindings; `imported` are the namespaces the profile gets.
pub(super) fn map(objs: &[Obj], imported: &BTreeSet<String>, platform: Platform) -> Access {
    let mut a = Access::default();
    let mut namer = Namer::default();
    let mut bindings: Vec<&Obj> = objs.iter().filter(|o| o.kind == "RoleBinding").collect();
    bindings.sort_by_key(|o| (o.namespace.clone(), o.name.clone()));
    let mut outside = BTreeSet::new();
    let mut sa_rules: BTreeMap<(String, String), Vec<Bound>> = BTreeMap::new();
    let mut entries: BTreeMap<String, BTreeSet<(String, String, String)>> = BTreeMap::new();
    for b in bindings {
        let ns = b.namespace.clone().unwrap_or_default();
        if !imported.contains(&ns) {
            outside.insert(ns);
            continue;
        }
        let what = format!("RoleBinding `{ns}/{}`", b.name);
        let Some(role) = role_of(b, objs) else {
            a.notes.push(format!(
                "{what}: the role it names is not in the objects read; not imported"
            ));
            continue;
        };
        let rules = rules_of(role, &mut a.notes);
        if rules.is_empty() {
            a.notes.push(format!(
                "{what}: its role grants nothing a profile can hold"
            ));
            continue;
        }
        for (kind, name, sns) in subjects(b) {
            match kind.as_str() {
                "User" if entra_id(platform) && is_guid(&name) => a.notes.push(format!(
                    "{what}: on aks a user is named by UPN, and `{name}` is an object ID; its grant stays as it is"
                )),
                "User" | "Group" if !name.starts_with("system:") && !name.trim().is_empty() => {
                    let role = namer.name(&role.name, rules.clone());
                    entries
                        .entry(ns.clone())
                        .or_default()
                        .insert((kind.to_lowercase(), name, role));
                }
                "ServiceAccount" if sns.as_deref().unwrap_or(&ns) == ns => {
                    sa_rules
                        .entry((ns.clone(), name))
                        .or_default()
                        .push((role.name.clone(), rules.clone()));
                }
                _ => a.notes.push(format!(
                    "{what}: subject {kind} `{}{name}` cannot be written in a profile; its grant stays as it is",
                    sns.map(|n| format!("{n}/")).unwrap_or_default()
                )),
            }
        }
    }
    for ((ns, sa), mut list) in sa_rules {
        list.sort_by_key(|(n, _)| n.clone());
        list.dedup_by(|x, y| atoms(&x.1) == atoms(&y.1));
        let role = if let [(wanted, rules)] = list.as_slice() {
            namer.name(wanted, rules.clone())
        } else {
            // One role per service account in a profile: the union of all it had.
            let rules = sorted(list.into_iter().flat_map(|(_, r)| r).collect());
            namer.name(&format!("{sa}-sa-{ns}"), rules)
        };
        a.sa_roles.insert((ns, sa), role);
    }
    for (ns, set) in entries {
        let list = set
            .into_iter()
            .map(|(kind, id, role)| AccessEntry {
                user: (kind == "user").then(|| id.clone()),
                group: (kind == "group").then_some(id),
                role,
            })
            .collect();
        a.entries.insert(ns, list);
    }
    if !outside.is_empty() {
        a.notes.push(format!(
            "RoleBindings in namespaces not imported ({}) are left as they are",
            outside.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    cluster(objs, &mut a, platform);
    a.roles = namer.specs;
    a
}

/// ClusterRoleBindings of people and groups become `clusterAccess`, one entry
/// per subject with the union of its rules; Kubernetes' own (`system:` roles
/// and subjects) stay out of the profile.
fn cluster(objs: &[Obj], a: &mut Access, platform: Platform) {
    let mut crbs: Vec<&Obj> = objs
        .iter()
        .filter(|o| o.kind == "ClusterRoleBinding")
        .collect();
    crbs.sort_by_key(|o| o.name.clone());
    let mut system = 0;
    let mut per: BTreeMap<(String, String), (Vec<String>, Vec<RuleSpec>)> = BTreeMap::new();
    for b in crbs {
        let role_name = b.str_at(&["roleRef", "name"]).unwrap_or_default();
        if role_name.starts_with("system:") || b.name.starts_with("system:") {
            system += 1;
            continue;
        }
        let what = format!("ClusterRoleBinding `{}`", b.name);
        let Some(role) = role_of(b, objs) else {
            a.notes.push(format!(
                "{what}: ClusterRole `{role_name}` is not in the objects read; not imported"
            ));
            continue;
        };
        let rules = rules_of(role, &mut a.notes);
        for (kind, name, sns) in subjects(b) {
            match kind.as_str() {
                "User" | "Group" if expressible(platform, &kind, &name) && !rules.is_empty() => {
                    let e = per.entry((kind.clone(), name.clone())).or_default();
                    e.0.push(format!("`{}` (ClusterRole `{role_name}`)", b.name));
                    e.1.extend(rules.iter().cloned());
                }
                _ => a.notes.push(format!(
                    "{what}: subject {kind} `{}{name}` is not imported; its grant stays as it is",
                    sns.map(|n| format!("{n}/")).unwrap_or_default()
                )),
            }
        }
    }
    if system > 0 {
        a.notes.push(format!(
            "{system} ClusterRoleBindings of Kubernetes itself (`system:`) are left out"
        ));
    }
    for ((kind, name), (from, rules)) in per {
        let rules = sorted(rules);
        a.grants.push(format!(
            "{kind} `{name}`: cluster-wide from {}",
            from.join(", ")
        ));
        a.cluster.push(ClusterAccess {
            user: (kind == "User").then(|| name.clone()),
            group: (kind == "Group").then_some(name),
            name: None,
            rules,
            justification: format!(
                "imported by `kharden import` from ClusterRoleBinding {}; review whether it must be cluster-wide",
                from.join(", ")
            ),
        });
    }
}
