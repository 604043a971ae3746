//! What a profile grants and restricts, as a flat, sorted set of facts: who has
//! which role where, quotas, Pod Security levels, flows, mTLS modes, registries,
//! exceptions. `diff` compares two fact sets; `explain` lists one. Facts are read
//! from the effective model (defaults applied), so they say what the cluster
//! will enforce, not only what a file spells out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::input::profile::{Direction, MeshProvider, MtlsMode, OutboundTraffic, Peer};
use crate::pipeline::model::Model;

mod changes;

pub(crate) use changes::{Change, changes, summary};

/// One fact. The variant order is the order facts are listed in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fact {
    Namespace {
        ns: String,
    },
    PodSecurity {
        ns: String,
    },
    Grant {
        ns: String,
        subject: String,
        role: String,
    },
    ServiceAccountToken {
        ns: String,
        sa: String,
    },
    RoleRule {
        role: String,
        rule: String,
    },
    ClusterGrant {
        name: String,
        subject: String,
        rule: String,
    },
    Quota {
        ns: String,
        key: String,
    },
    DefaultDeny {
        ns: String,
        direction: String,
    },
    AllowDns {
        ns: String,
    },
    AllowSameNamespace {
        ns: String,
    },
    AllowIngressController {
        ns: String,
    },
    AllowGateway {
        ns: String,
        gateway: String,
    },
    Flow {
        ns: String,
        direction: String,
        peer: String,
        port: String,
    },
    Mtls {
        ns: String,
    },
    OutboundTraffic,
    ExternalHost {
        scope: String,
        host: String,
    },
    MeshAuthorization {
        ns: String,
        rule: String,
    },
    Registry {
        registry: String,
    },
    RequiredAnnotation {
        key: String,
    },
    PolicyRule {
        rule: String,
    },
    ExemptNamespace {
        ns: String,
    },
    /// A rule's mode (`ns` empty: where no namespace sets its own), or a
    /// namespace's mode where it differs from the rule's.
    Enforcement {
        rule: String,
        ns: String,
    },
    Exception {
        ticket: String,
    },
    ApiServerPrivate,
    AuthorizedNetwork {
        cidr: String,
    },
    AuditLog,
}

/// Facts with their values (`""` for facts that are simply present).
pub(crate) type Facts = BTreeMap<Fact, String>;

fn subject(user: Option<&str>, group: Option<&str>) -> String {
    match (user, group) {
        (Some(u), _) => format!("user `{u}`"),
        (None, Some(g)) => format!("group `{g}`"),
        (None, None) => "nobody".to_owned(),
    }
}

fn peer(p: &Peer) -> String {
    if let Some(c) = &p.cidr {
        if p.except.is_empty() {
            return c.clone();
        }
        return format!("{c} except {}", p.except.join(", "));
    }
    let labels: Vec<String> = p
        .pod_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    match (&p.namespace, labels.is_empty()) {
        (Some(n), true) => format!("namespace `{n}`"),
        (Some(n), false) => format!("pods {} in namespace `{n}`", labels.join(",")),
        (None, false) => format!("pods {} in the same namespace", labels.join(",")),
        (None, true) => "nothing".to_owned(),
    }
}

fn rule_text(
    groups: &[String],
    resources: &[String],
    verbs: &[String],
    names: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for g in groups {
        for r in resources {
            let res = if g.is_empty() {
                r.clone()
            } else {
                format!("{g}/{r}")
            };
            let res = if names.is_empty() {
                res
            } else {
                format!("{res} named {}", names.join(","))
            };
            for v in verbs {
                out.push(format!("`{v}` on `{res}`"));
            }
        }
    }
    out
}

/// Every fact of a validated model.
pub(crate) fn facts(m: &Model) -> Facts {
    let p = &m.profile;
    let mut f = Facts::new();
    let mut set = |fact: Fact, value: String| {
        f.insert(fact, value);
    };
    for (ns, quota) in p.namespaces.iter().zip(&m.plan.quota.namespaces) {
        let n = ns.name.clone();
        set(Fact::Namespace { ns: n.clone() }, String::new());
        set(
            Fact::PodSecurity { ns: n.clone() },
            crate::concern::namespace::level(m, ns).as_str().to_owned(),
        );
        for a in &ns.access {
            set(
                Fact::Grant {
                    ns: n.clone(),
                    subject: subject(a.user.as_deref(), a.group.as_deref()),
                    role: a.role.clone(),
                },
                String::new(),
            );
        }
        for sa in &ns.service_accounts {
            if let Some(r) = &sa.role {
                set(
                    Fact::Grant {
                        ns: n.clone(),
                        subject: format!("service account `{}`", sa.name),
                        role: r.clone(),
                    },
                    String::new(),
                );
            }
            set(
                Fact::ServiceAccountToken {
                    ns: n.clone(),
                    sa: sa.name.clone(),
                },
                sa.automount_token.to_string(),
            );
        }
        for (k, v) in quota.hard.iter() {
            set(
                Fact::Quota {
                    ns: n.clone(),
                    key: k.clone(),
                },
                v.amount.text.clone(),
            );
        }
        let deny = ns
            .network
            .as_ref()
            .and_then(|x| x.default_deny.clone())
            .unwrap_or_else(|| p.defaults.network.default_deny.clone());
        for d in &deny {
            set(
                Fact::DefaultDeny {
                    ns: n.clone(),
                    direction: dir(*d).to_owned(),
                },
                String::new(),
            );
        }
        set(
            Fact::AllowDns { ns: n.clone() },
            p.defaults.network.allow_dns.to_string(),
        );
        set(
            Fact::AllowSameNamespace { ns: n.clone() },
            p.defaults.network.allow_same_namespace.to_string(),
        );
        if let Some(ic) = &p.defaults.network.allow_from_ingress_controller {
            set(
                Fact::AllowIngressController { ns: n.clone() },
                ic.namespace.clone(),
            );
        }
        for g in crate::pipeline::flows::routed_into(m, &n) {
            set(
                Fact::AllowGateway {
                    ns: n.clone(),
                    gateway: format!("{}/{}", g.namespace, g.name),
                },
                g.proxy_namespace().to_owned(),
            );
        }
        if let Some(net) = &ns.network {
            for fl in &net.ingress {
                for port in ports(&fl.ports) {
                    set(
                        Fact::Flow {
                            ns: n.clone(),
                            direction: "ingress".to_owned(),
                            peer: peer(&fl.from),
                            port,
                        },
                        String::new(),
                    );
                }
            }
            for fl in &net.egress {
                for port in ports(&fl.ports) {
                    set(
                        Fact::Flow {
                            ns: n.clone(),
                            direction: "egress".to_owned(),
                            peer: peer(&fl.to),
                            port,
                        },
                        String::new(),
                    );
                }
            }
        }
        if let Some(mesh) = p.mesh.as_ref().filter(|x| x.provider != MeshProvider::None) {
            let mode = ns.mesh.as_ref().and_then(|x| x.mtls).unwrap_or(mesh.mtls);
            set(Fact::Mtls { ns: n.clone() }, mtls(mode).to_owned());
            if let Some(nm) = &ns.mesh {
                for h in &nm.allowed_external_hosts {
                    set(
                        Fact::ExternalHost {
                            scope: format!("namespace `{n}`"),
                            host: h.clone(),
                        },
                        String::new(),
                    );
                }
                for a in &nm.authorization {
                    let from = match (&a.from.namespace, a.from.principals.is_empty()) {
                        (Some(x), _) => format!("namespace `{x}`"),
                        (None, false) => a.from.principals.join(", "),
                        (None, true) => "nobody".to_owned(),
                    };
                    let mut what = Vec::new();
                    if !a.methods.is_empty() {
                        what.push(a.methods.join(","));
                    }
                    if !a.paths.is_empty() {
                        what.push(a.paths.join(","));
                    }
                    if !a.ports.is_empty() {
                        what.push(format!("port {}", a.ports.join(",")));
                    }
                    let what = if what.is_empty() {
                        "anything".to_owned()
                    } else {
                        what.join(" ")
                    };
                    set(
                        Fact::MeshAuthorization {
                            ns: n.clone(),
                            rule: format!("{from} may call {what}"),
                        },
                        String::new(),
                    );
                }
            }
        }
    }
    for (name, role) in &p.roles {
        for r in &role.rules {
            for t in rule_text(&r.api_groups, &r.resources, &r.verbs, &r.resource_names) {
                set(
                    Fact::RoleRule {
                        role: name.clone(),
                        rule: t,
                    },
                    String::new(),
                );
            }
        }
    }
    for ca in &p.cluster_access {
        let name = ca
            .name
            .clone()
            .unwrap_or_else(|| subject(ca.user.as_deref(), ca.group.as_deref()));
        for r in &ca.rules {
            for t in rule_text(&r.api_groups, &r.resources, &r.verbs, &r.resource_names) {
                set(
                    Fact::ClusterGrant {
                        name: name.clone(),
                        subject: subject(ca.user.as_deref(), ca.group.as_deref()),
                        rule: t,
                    },
                    String::new(),
                );
            }
        }
    }
    if let Some(mesh) = p.mesh.as_ref().filter(|x| x.provider != MeshProvider::None) {
        set(
            Fact::OutboundTraffic,
            match mesh.outbound_traffic {
                OutboundTraffic::RegistryOnly => "registryOnly".to_owned(),
                OutboundTraffic::AllowAny => "allowAny".to_owned(),
            },
        );
        for h in &mesh.allowed_external_hosts {
            set(
                Fact::ExternalHost {
                    scope: "every namespace".to_owned(),
                    host: h.clone(),
                },
                String::new(),
            );
        }
    }
    if let Some(pol) = &p.policy {
        for r in &pol.allowed_registries {
            set(
                Fact::Registry {
                    registry: r.clone(),
                },
                String::new(),
            );
        }
        for k in &pol.required_annotations {
            set(Fact::RequiredAnnotation { key: k.clone() }, String::new());
        }
        for (rule, on) in [
            ("uniqueIngressHosts", pol.unique_ingress_hosts),
            ("ingressHostsInDomain", pol.ingress_hosts_in_domain),
            ("internalLoadBalancers", pol.internal_load_balancers),
            ("noNodePorts", pol.no_node_ports),
            ("requiredLimits", !pol.required_limits.is_empty()),
        ] {
            set(
                Fact::PolicyRule {
                    rule: rule.to_owned(),
                },
                on.to_string(),
            );
        }
        for n in &pol.exempt_namespaces {
            set(Fact::ExemptNamespace { ns: n.clone() }, String::new());
        }
        enforcement(m, pol, &mut set);
    }
    for ex in &p.exceptions {
        let mut v = format!("`{}` in {}", ex.rule, ex.namespaces.join(", "));
        if !ex.allow.is_empty() {
            let _ = write!(v, " allows {}", ex.allow.join(", "));
        }
        let _ = write!(v, ", owner {}, expires {}", ex.owner, ex.expires);
        set(
            Fact::Exception {
                ticket: ex.ticket.clone(),
            },
            v,
        );
    }
    set(Fact::ApiServerPrivate, p.api_server.private.to_string());
    for c in &p.api_server.authorized_networks {
        set(Fact::AuthorizedNetwork { cidr: c.clone() }, String::new());
    }
    set(Fact::AuditLog, p.api_server.audit.enabled.to_string());
    f
}

/// The rollout modes (`policy.enforcement`) of the rules in use and of Pod
/// Security, as `Fact::Enforcement`: each rule's, and a namespace's where it
/// differs (absent: the rule's).
fn enforcement(m: &Model, pol: &crate::input::profile::Policy, set: &mut impl FnMut(Fact, String)) {
    use crate::concern::policy::{Scope, enforcement::POD_SECURITY, plan};
    let plan = plan(m);
    // Whether `rule` acts in `ns` at all (a namespace's mode is news only there).
    let applies = |rule: &str, ns: &str| {
        if rule == POD_SECURITY {
            return m.profile.namespaces.iter().any(|n| n.name == ns);
        }
        plan.iter().any(|i| {
            i.rule.field() == rule
                && match &i.scope {
                    Scope::AllBut(out) => !out.iter().any(|n| n == ns),
                    Scope::Only(only) => only.iter().any(|n| n == ns),
                }
        })
    };
    let mut rules: Vec<&str> = plan.iter().map(|i| i.rule.field()).collect();
    rules.push(POD_SECURITY);
    rules.sort_unstable();
    rules.dedup();
    for rule in rules {
        let mode = pol.enforcement.mode(rule, None);
        set(
            Fact::Enforcement {
                rule: rule.to_owned(),
                ns: String::new(),
            },
            mode.as_str().to_owned(),
        );
        for (ns, _) in pol.enforcement.namespaces() {
            let here = pol.enforcement.mode(rule, Some(ns));
            if here != mode && applies(rule, ns) {
                set(
                    Fact::Enforcement {
                        rule: rule.to_owned(),
                        ns: ns.to_owned(),
                    },
                    here.as_str().to_owned(),
                );
            }
        }
    }
}

fn dir(d: Direction) -> &'static str {
    match d {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

fn mtls(m: MtlsMode) -> &'static str {
    match m {
        MtlsMode::Strict => "STRICT",
        MtlsMode::Permissive => "PERMISSIVE",
    }
}

fn ports(p: &[String]) -> Vec<String> {
    if p.is_empty() {
        vec!["all ports".to_owned()]
    } else {
        p.to_vec()
    }
}

#[cfg(test)]
mod tests;
