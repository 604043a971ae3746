//! What the platform self-check reads of a rendering: the objects that
//! decide admission and traffic, parsed back only for the namespaces it
//! checks, and indexed by the namespaces each applies to, so each evaluation
//! sees a few dozen objects even in a fleet of thousands of namespaces.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::bundle::manifest::ManifestSet;

/// The kinds the checks read; everything else is never parsed.
const KINDS: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "LimitRange",
    "ResourceQuota",
    "ConstraintTemplate",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "Assign",
    "AssignMetadata",
    "ModifySet",
    "AssignImage",
    "PeerAuthentication",
    "AuthorizationPolicy",
    "DaemonSet",
];

/// Whether an emitted body is a Gatekeeper constraint: its first line is its
/// `apiVersion` (the emitter sorts keys), so the rest is never scanned.
fn constraint(body: &str) -> bool {
    body.lines()
        .next()
        .is_some_and(|l| l.contains("constraints.gatekeeper.sh/"))
}

fn relevant(kind: &str, api_group_constraint: bool) -> bool {
    api_group_constraint || KINDS.contains(&kind)
}

/// The rendered objects the checks read: cluster-scoped policy objects, and
/// namespaced ones (and Namespaces) of the namespaces in `wanted` only, so a
/// fleet of thousands of namespaces is not read back whole.
pub(crate) fn objects(set: &ManifestSet, wanted: &BTreeSet<String>) -> Vec<Value> {
    // Two halves on two threads, joined in order: most of the time is the
    // pass over every object's path, which no earlier filter can shorten.
    let half = set.len() / 2;
    let (mut first, second) = crate::pipeline::both::both(
        || objects_in(set, 0..half, wanted),
        || objects_in(set, half..set.len(), wanted),
    );
    first.extend(second);
    first
}

fn objects_in(
    set: &ManifestSet,
    range: std::ops::Range<usize>,
    wanted: &BTreeSet<String>,
) -> Vec<Value> {
    // The namespace test first: it is a lookup, and it leaves out nearly all
    // of a large rendering before any body is looked at.
    set.range(range)
        .filter(|m| !m.control_plane_file())
        .filter(|m| match m.namespace() {
            Some(ns) => wanted.contains(ns) && relevant(m.kind(), constraint(m.body())),
            None if m.kind() == "Namespace" => wanted.contains(m.name()),
            None => {
                relevant(m.kind(), constraint(m.body()))
                    && match_namespaces(m.body())
                        .is_none_or(|nss| nss.iter().any(|n| wanted.contains(*n)))
            }
        })
        .filter_map(|m| read(m.body()))
        .filter(Value::is_object)
        .collect()
}

/// One emitted body as a value: the fast reader takes the emitter's plain
/// block YAML, serde-saphyr the rest (block scalars such as Rego). Debug
/// builds, and so every test, check the fast reading against serde-saphyr's.
fn read(body: &str) -> Option<Value> {
    let fast = crate::input::fast_yaml::parse(body, &crate::input::position::resolve_scalar);
    if cfg!(debug_assertions) && fast.is_some() {
        assert_eq!(fast, serde_saphyr::from_str::<Value>(body).ok(), "{body}");
    }
    fast.or_else(|| serde_saphyr::from_str::<Value>(body).ok())
}

/// The `spec.match.namespaces` list of a Gatekeeper constraint or mutator, read
/// off its emitted text without parsing it (the emitter writes `spec:` at the
/// margin, `match:` under it and the list at four spaces); `None` when the
/// object has none or the text is not in that shape, so it is parsed.
fn match_namespaces(body: &str) -> Option<Vec<&str>> {
    let (_, after) = body.split_once("\nspec:\n")?;
    let (_, matched) = after
        .split_once("\n  match:\n")
        .or_else(|| after.strip_prefix("  match:\n").map(|rest| ("", rest)))?;
    let mut lines = matched.lines();
    let mut out = Vec::new();
    let mut found = false;
    for line in lines.by_ref() {
        if !line.starts_with("    ") {
            break; // the end of `match`
        }
        if line == "    namespaces:" {
            found = true;
            continue;
        }
        if found {
            match line.strip_prefix("    - ") {
                Some(ns) if !ns.contains([' ', '"', '\'', '*']) => out.push(ns),
                Some(_) => return None,
                None => break,
            }
        }
    }
    (found && !out.is_empty()).then_some(out)
}

/// The namespaces an object applies to, when it names them: its own, a
/// Gatekeeper `match.namespaces` list, or a binding's `In` selector on the
/// namespace name. `None`: every namespace.
fn scope_of(o: &Value) -> Option<Vec<String>> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    };
    if let Some(ns) = o.pointer("/metadata/namespace").and_then(Value::as_str) {
        return Some(vec![ns.to_owned()]);
    }
    if let Some(list) = o.pointer("/spec/match/namespaces")
        && !strings(list).iter().any(|n| n.ends_with('*'))
    {
        return Some(strings(list));
    }
    let exprs = o.pointer("/spec/matchResources/namespaceSelector/matchExpressions")?;
    let [e] = exprs.as_array()?.as_slice() else {
        return None;
    };
    (e["key"] == crate::pipeline::flows::NS_NAME_LABEL && e["operator"] == "In")
        .then(|| strings(&e["values"]))
}

/// The rendered objects indexed by the namespaces they apply to.
pub(crate) struct Scoped {
    pub(crate) objs: Vec<Value>,
    global: Vec<usize>,
    by_ns: BTreeMap<String, Vec<usize>>,
}

impl Scoped {
    pub(crate) fn new(objs: Vec<Value>) -> Scoped {
        let mut s = Scoped {
            objs: Vec::new(),
            global: Vec::new(),
            by_ns: BTreeMap::new(),
        };
        for (i, o) in objs.iter().enumerate() {
            match scope_of(o) {
                None => s.global.push(i),
                Some(nss) => {
                    for ns in nss {
                        s.by_ns.entry(ns).or_default().push(i);
                    }
                }
            }
        }
        s.objs = objs;
        s
    }

    /// What applies in every namespace (no namespace named).
    pub(crate) fn global(&self) -> impl Iterator<Item = &Value> {
        self.global.iter().map(|i| &self.objs[*i])
    }

    /// What applies in `ns` because it is named there, without the global
    /// objects (`kharden audit` keeps those once, not once per namespace).
    pub(crate) fn named(&self, ns: &str) -> impl Iterator<Item = &Value> {
        let global: BTreeSet<usize> = self.global.iter().copied().collect();
        self.by_ns
            .get(ns)
            .into_iter()
            .flatten()
            .filter(move |i| !global.contains(i))
            .map(|i| &self.objs[*i])
    }

    /// What applies to requests in, and traffic between, these namespaces.
    pub(crate) fn for_namespaces(&self, nss: &[&str]) -> Vec<Value> {
        let mut idx: BTreeSet<usize> = self.global.iter().copied().collect();
        for ns in nss {
            idx.extend(self.by_ns.get(*ns).into_iter().flatten().copied());
        }
        idx.into_iter().map(|i| self.objs[i].clone()).collect()
    }
}
