//! Namespaces outside the profile (#29 item 6): `default` and every namespace
//! created later get no ResourceQuota and no LimitRange, so two admission
//! rules stand in there: `noNodePorts` and `requiredLimits`. This file owns
//! what both rules and their readers share: which namespaces a LimitRange
//! already gives default limits (`requiredLimits` leaves those out), the
//! check of `policy.requiredLimits`, and the coverage table `lint` and
//! `report` read (which namespace is protected how).

use std::collections::BTreeSet;

use super::{Instance, Rule, Scope, plan};
use crate::input::diag::{Diagnostic, nearest};
use crate::input::profile::{EnforcementMode, Policy};
use crate::input::source::FieldPath;
use crate::pipeline::model::Model;
use crate::pipeline::plan::quota::Quotas;

/// Resources a container limit may name (`LimitRange` type Container).
const RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

/// The row standing for every namespace the profile does not list.
pub(crate) const OTHERS: &str = "every other namespace (default, and any created later)";

/// Profile namespaces whose LimitRange gives a default limit for each of
/// `resources`. The API server defaults a LimitRange's `default` from its
/// `max`, so either one gives pods the limit; LimitRanger is a mutating
/// admission plugin and runs before every validating policy.
pub(crate) fn limit_range_defaults(m: &Model, quota: &Quotas, resources: &[String]) -> Vec<String> {
    m.profile
        .namespaces
        .iter()
        .zip(&quota.namespaces)
        .filter(|(_, q)| {
            q.limits.as_ref().is_some_and(|cl| {
                resources
                    .iter()
                    .all(|r| cl.default.contains_key(r) || cl.max.contains_key(r))
            })
        })
        .map(|(ns, _)| ns.name.clone())
        .collect()
}

/// Profile namespaces whose quota allows node ports (`services.nodeports`
/// above 0): `noNodePorts` leaves them to the quota.
pub(crate) fn quota_node_ports(m: &Model, quota: &Quotas) -> Vec<String> {
    m.profile
        .namespaces
        .iter()
        .zip(&quota.namespaces)
        .filter(|(_, q)| {
            q.hard
                .get("services.nodeports")
                .is_some_and(|h| h.amount.value > 0.0)
        })
        .map(|(ns, _)| ns.name.clone())
        .collect()
}

/// Leave to the namespaces what they decide themselves: `requiredLimits`
/// skips those whose LimitRange gives the limits (LimitRanger is a mutating
/// admission plugin, so it runs before any validation), `noNodePorts` those
/// whose quota opens node ports (the profile's decision there).
/// `quota` is the quota concern's decision: this runs while validating, before
/// the model holds the plan.
pub(super) fn leave_to_namespaces(m: &Model, quota: &Quotas, pol: &Policy, plan: &mut [Instance]) {
    for (rule, namespaces) in [
        (
            Rule::RequiredLimits,
            limit_range_defaults(m, quota, &pol.required_limits),
        ),
        (Rule::NoNodePorts, quota_node_ports(m, quota)),
    ] {
        if let Some(Instance {
            scope: Scope::AllBut(ns),
            ..
        }) = plan
            .iter_mut()
            .find(|i| i.rule == rule && i.suffix.is_empty())
        {
            ns.extend(namespaces);
            ns.sort();
            ns.dedup();
        }
    }
}

/// `policy.requiredLimits` names container resources.
pub(crate) fn validate(pol: &Policy, out: &mut Vec<Diagnostic>) {
    for (i, r) in pol.required_limits.iter().enumerate() {
        if !RESOURCES.contains(&r.as_str()) {
            out.push(
                Diagnostic::error(
                    FieldPath::root()
                        .key("policy")
                        .key("requiredLimits")
                        .index(i),
                    format!("`{r}` is not a container resource"),
                )
                .hint(match nearest(r, RESOURCES.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => {
                        "list cpu, memory or ephemeral-storage; `[]` turns the rule off".to_owned()
                    }
                }),
            );
        }
    }
}

/// How an admission rule stands in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Guard {
    /// The profile turns the rule off (or has no `policy` section).
    Off,
    /// The namespace is exempt from admission rules.
    Exempt,
    /// An exception waives it there (its ticket).
    Waived(String),
    /// The namespace's LimitRange gives the limits, or its quota opens node
    /// ports, so the rule leaves it to them.
    Namespace,
    /// The rule refuses what it checks.
    Enforced,
    /// The rule only warns or audits there (`policy.enforcement`).
    NotEnforced(&'static str),
}

/// How one namespace (or, as `OTHERS`, all the unlisted ones) is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coverage {
    pub namespace: String,
    /// `profile`, `outside the profile` or `exempt`.
    pub class: &'static str,
    /// The quota's `services.nodeports` (profile namespaces only).
    pub quota_node_ports: Option<String>,
    /// Resources the namespace's LimitRange gives default limits for.
    pub limit_range: Vec<String>,
    pub no_node_ports: Guard,
    pub required_limits: Guard,
}

fn guard(
    m: &Model,
    plan: &[Instance],
    inst: Option<&Instance>,
    rule: Rule,
    ns: Option<&str>,
) -> Guard {
    let exempt = |n: &str| {
        m.profile
            .policy
            .as_ref()
            .is_some_and(|p| p.exempt_namespaces.iter().any(|e| e == n))
    };
    let Some(inst) = inst else {
        return Guard::Off;
    };
    let mode = |ns: Option<&str>| match m
        .profile
        .policy
        .as_ref()
        .map(|p| p.enforcement.mode(rule.field(), ns))
    {
        Some(m) if m != EnforcementMode::Deny => Guard::NotEnforced(m.as_str()),
        _ => Guard::Enforced,
    };
    let Some(ns) = ns else {
        return mode(None);
    };
    if exempt(ns) {
        return Guard::Exempt;
    }
    if let Some(ex) = m
        .profile
        .exceptions
        .iter()
        .find(|e| e.rule == rule.field() && e.namespaces.iter().any(|n| n == ns))
    {
        return Guard::Waived(ex.ticket.clone());
    }
    // A namespace with its own rollout mode is split off into an instance
    // of its own (`enforcement::split`), not left to its LimitRange or quota.
    let split = plan.iter().any(|i| {
        i.rule == rule
            && !i.suffix.is_empty()
            && matches!(&i.scope, Scope::Only(l) if l.iter().any(|n| n == ns))
    });
    match &inst.scope {
        Scope::AllBut(out) if out.iter().any(|n| n == ns) && !split => Guard::Namespace,
        Scope::Only(only) if !only.iter().any(|n| n == ns) => Guard::Off,
        _ => mode(Some(ns)),
    }
}

/// Every profile namespace, then every exempt namespace the profile does not
/// list, then the row for all the others.
pub(crate) fn coverage(m: &Model) -> Vec<Coverage> {
    let plan = plan(m);
    let base = |r: Rule| plan.iter().find(|i| i.rule == r && i.suffix.is_empty());
    let (nodeports, limits) = (base(Rule::NoNodePorts), base(Rule::RequiredLimits));
    let exempt: BTreeSet<&str> = m
        .profile
        .policy
        .iter()
        .flat_map(|p| p.exempt_namespaces.iter().map(String::as_str))
        .collect();
    let mut out = Vec::new();
    for (ns, q) in m.profile.namespaces.iter().zip(&m.plan.quota.namespaces) {
        let lr: Vec<String> = q
            .limits
            .as_ref()
            .map(|cl| {
                let set: BTreeSet<&String> = cl.default.keys().chain(cl.max.keys()).collect();
                set.into_iter().cloned().collect()
            })
            .unwrap_or_default();
        out.push(Coverage {
            namespace: ns.name.clone(),
            class: if exempt.contains(ns.name.as_str()) {
                "profile, exempt from admission"
            } else {
                "profile"
            },
            quota_node_ports: q
                .hard
                .get("services.nodeports")
                .map(|h| h.amount.text.clone()),
            limit_range: lr,
            no_node_ports: guard(m, plan, nodeports, Rule::NoNodePorts, Some(&ns.name)),
            required_limits: guard(m, plan, limits, Rule::RequiredLimits, Some(&ns.name)),
        });
    }
    let listed: BTreeSet<&str> = m
        .profile
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    for ns in exempt.difference(&listed) {
        out.push(Coverage {
            namespace: (*ns).to_owned(),
            class: "exempt",
            quota_node_ports: None,
            limit_range: Vec::new(),
            no_node_ports: guard(m, plan, nodeports, Rule::NoNodePorts, Some(ns)),
            required_limits: guard(m, plan, limits, Rule::RequiredLimits, Some(ns)),
        });
    }
    out.push(Coverage {
        namespace: OTHERS.to_owned(),
        class: "outside the profile",
        quota_node_ports: None,
        limit_range: Vec::new(),
        no_node_ports: guard(m, plan, nodeports, Rule::NoNodePorts, None),
        required_limits: guard(m, plan, limits, Rule::RequiredLimits, None),
    });
    out
}

impl Coverage {
    /// What happens to a NodePort Service there, in words.
    pub(crate) fn node_ports(&self) -> String {
        let mut by = Vec::new();
        if let Some(q) = &self.quota_node_ports
            && crate::k8s::quantity::parse(q).is_ok_and(|x| x == 0.0)
        {
            by.push("quota (services.nodeports: 0)".to_owned());
        }
        if self.no_node_ports == Guard::Enforced {
            by.push("admission (noNodePorts)".to_owned());
        }
        if by.is_empty() {
            let why = match (&self.no_node_ports, &self.quota_node_ports) {
                (Guard::Waived(t), _) => format!("noNodePorts waived by {t}"),
                (Guard::Exempt, _) => "exempt from admission".to_owned(),
                (Guard::NotEnforced(mode), _) => format!("noNodePorts in {mode} mode"),
                (_, Some(q)) => format!("quota allows {q}"),
                _ => "no quota, no noNodePorts rule".to_owned(),
            };
            format!("admitted ({why})")
        } else {
            format!("refused by {}", by.join(" and "))
        }
    }

    /// What happens to a container without limits there, in words.
    pub(crate) fn limits(&self, required: &[String]) -> String {
        let mut parts = Vec::new();
        if !self.limit_range.is_empty() {
            parts.push(format!(
                "the LimitRange gives default limits ({})",
                self.limit_range.join(", ")
            ));
        }
        match &self.required_limits {
            Guard::Enforced => parts.push(format!(
                "refused by admission (requiredLimits: {})",
                required.join(", ")
            )),
            Guard::Waived(t) => parts.push(format!("requiredLimits waived by {t}")),
            Guard::NotEnforced(mode) if self.limit_range.is_empty() => parts.push(format!(
                "admitted without limits (requiredLimits in {mode} mode)"
            )),
            Guard::Exempt if self.limit_range.is_empty() => {
                parts.push("admitted without limits (exempt from admission)".to_owned());
            }
            Guard::Off if self.limit_range.is_empty() => {
                parts.push(
                    "admitted without limits (no LimitRange, no requiredLimits rule)".to_owned(),
                );
            }
            _ => {}
        }
        parts.join("; ")
    }
}

/// The resources `requiredLimits` asks for (none without a `policy`).
pub(crate) fn required(m: &Model) -> Vec<String> {
    m.profile
        .policy
        .as_ref()
        .map(|p| {
            let set: BTreeSet<&String> = p.required_limits.iter().collect();
            set.into_iter().cloned().collect()
        })
        .unwrap_or_default()
}

/// The table `report` draws: namespace, class, NodePort Services, containers
/// without limits.
pub(crate) fn rows(m: &Model) -> Vec<Vec<String>> {
    let required = required(m);
    coverage(m)
        .into_iter()
        .map(|c| {
            vec![
                c.namespace.clone(),
                c.class.to_owned(),
                c.node_ports(),
                c.limits(&required),
            ]
        })
        .collect()
}

/// How lint names the namespaces outside the profile.
const OUTSIDE: &str = "namespaces outside the profile (`default`, any created later)";

/// Lint KH017: what namespaces outside the profile are left open to.
pub(crate) fn lint(m: &Model, out: &mut Vec<Diagnostic>) {
    let pol_path = FieldPath::root().key("policy");
    let Some(pol) = &m.profile.policy else {
        out.push(
            Diagnostic::error(
                FieldPath::root().key("namespaces"),
                format!("{OUTSIDE} get no quota and no LimitRange, and without a `policy` section nothing refuses NodePort Services or containers without limits there"),
            )
            .hint("add a `policy` section (`engine: validating-admission-policy` or `gatekeeper`): `noNodePorts` and `requiredLimits` are on by default"),
        );
        return;
    };
    if !pol.no_node_ports {
        out.push(
            Diagnostic::error(
                pol_path.key("noNodePorts"),
                format!("NodePort Services are admitted in {OUTSIDE}: no quota closes them there"),
            )
            .hint("remove `noNodePorts: false`; waive it per namespace with an exception instead"),
        );
    } else if !pol.internal_load_balancers {
        out.push(
            Diagnostic::error(
                pol_path.key("noNodePorts"),
                format!(
                    "LoadBalancer Services are admitted in {OUTSIDE}, and each opens node ports too"
                ),
            )
            .hint("set `internalLoadBalancers: true`"),
        );
    }
    if pol.required_limits.is_empty() {
        out.push(
            Diagnostic::error(
                pol_path.key("requiredLimits"),
                format!(
                    "containers without limits run in {OUTSIDE}: no LimitRange gives them any there"
                ),
            )
            .hint("remove `requiredLimits: []` (the default is `[cpu, memory]`)"),
        );
    }
}
