//! `policy.enforcement`, the rollout in steps: which mode (`deny`, `warn`,
//! `audit`) each rule instance acts in. One Gatekeeper constraint has one
//! `enforcementAction` and one native binding one `validationActions`, so a
//! namespace whose mode differs from its rule's is split off into an instance
//! of its own (same parameters, its own scope and mode). Both engines render
//! the split plan, so they agree on every namespace's mode.

use std::collections::{BTreeMap, BTreeSet};

use super::{Instance, POLICY_RULES, Scope};
use crate::input::diag::{Diagnostic, nearest};
use crate::input::profile::{Enforcement, EnforcementMode as Mode, Policy};
use crate::input::source::FieldPath;
use crate::pipeline::model::label;

pub(crate) use crate::input::profile::POD_SECURITY_RULE as POD_SECURITY;

/// Every key `policy.enforcement.rules` takes.
pub(crate) fn rule_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = POLICY_RULES.to_vec();
    keys.extend([
        "propagateNamespaceAnnotations",
        "workloads.windows",
        "cluster.gateways",
        POD_SECURITY,
    ]);
    keys
}

/// Gatekeeper's `enforcementAction` for a mode.
pub(crate) fn gatekeeper_action(m: Mode) -> &'static str {
    match m {
        Mode::Deny => "deny",
        Mode::Warn => "warn",
        Mode::Audit => "dryrun",
    }
}

/// A native binding's `validationActions` for a mode (`Deny` and `Warn` may
/// not be set together; `Warn` alone would leave no audit record).
pub(crate) fn validation_actions(m: Mode) -> Vec<String> {
    let v: &[&str] = match m {
        Mode::Deny => &["Deny"],
        Mode::Warn => &["Warn", "Audit"],
        Mode::Audit => &["Audit"],
    };
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Give each instance its mode, splitting off the namespaces whose mode
/// differs from their rule's.
pub(crate) fn split(enf: &Enforcement, plan: Vec<Instance>) -> Vec<Instance> {
    let overrides = enf.namespaces();
    let mut out = Vec::new();
    for mut inst in plan {
        let rule_mode = enf.mode(inst.rule.field(), None);
        inst.mode = rule_mode;
        let mut groups: BTreeMap<Mode, Vec<String>> = BTreeMap::new();
        match &mut inst.scope {
            Scope::AllBut(excluded) => {
                for (ns, _) in &overrides {
                    let mode = enf.mode(inst.rule.field(), Some(ns));
                    if mode != rule_mode && !excluded.iter().any(|e| e == ns) {
                        excluded.push((*ns).to_owned());
                        groups.entry(mode).or_default().push((*ns).to_owned());
                    }
                }
                excluded.sort();
            }
            Scope::Only(list) => {
                let mut keep = Vec::new();
                for ns in list.drain(..) {
                    let mode = enf.mode(inst.rule.field(), Some(&ns));
                    if mode == rule_mode {
                        keep.push(ns);
                    } else {
                        groups.entry(mode).or_default().push(ns);
                    }
                }
                if keep.is_empty() && groups.len() == 1 {
                    // One mode for the whole instance: no split, and its
                    // objects (and mutators) keep their names.
                    if let Some((mode, nss)) = groups.pop_first() {
                        inst.mode = mode;
                        keep = nss;
                    }
                }
                *list = keep;
            }
        }
        let split_off: Vec<Instance> = groups
            .into_iter()
            .map(|(mode, nss)| Instance {
                suffix: if inst.suffix.is_empty() {
                    mode.as_str().to_owned()
                } else {
                    format!("{}-{}", inst.suffix, mode.as_str())
                },
                scope: Scope::Only(nss),
                mode,
                ..inst.clone()
            })
            .collect();
        if !matches!(&inst.scope, Scope::Only(l) if l.is_empty()) {
            out.push(inst);
        }
        out.extend(split_off);
    }
    out
}

/// Check `policy.enforcement`: known rule keys, namespace names that are
/// labels and not exempt.
pub(crate) fn validate(pol: &Policy, out: &mut Vec<Diagnostic>) {
    let Enforcement::Detailed(spec) = &pol.enforcement else {
        return;
    };
    let base = FieldPath::root().key("policy").key("enforcement");
    let keys = rule_keys();
    for k in spec.rules.keys() {
        if !keys.contains(&k.as_str()) {
            let hint = match nearest(k, keys.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("rules: {}", keys.join(", ")),
            };
            out.push(
                Diagnostic::error(
                    base.key("rules").key(k),
                    format!("`{k}` is not a policy rule"),
                )
                .hint(hint)
                .at_key(),
            );
        }
    }
    let exempt: BTreeSet<&str> = pol.exempt_namespaces.iter().map(String::as_str).collect();
    for ns in spec.namespaces.keys() {
        let path = base.key("namespaces").key(ns);
        label(out, &path, ns);
        if exempt.contains(ns.as_str()) {
            out.push(
                Diagnostic::error(
                    path,
                    format!("namespace `{ns}` is exempt, so no rule applies there to set a mode for"),
                )
                .hint("remove it from `policy.enforcement.namespaces` or from `policy.exemptNamespaces`")
                .at_key(),
            );
        }
    }
}
