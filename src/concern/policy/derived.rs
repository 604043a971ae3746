//! Exemptions kharden derives for the platform components (#29): the ingress
//! controller, the gateways' proxies, the log collector, Elasticsearch and its
//! operator, the mesh and Gatekeeper are tenants of the bundle's own rules,
//! installed by charts that set no `contact` annotation and pull from their
//! vendors' registries. Each exemption is as narrow as the rule allows (a
//! component's image repositories in its own namespace; one namespace left
//! out of one rule), is decided here once, and is written onto the rendered
//! policy object with its reason. `components::check` proves after rendering
//! that each component is then admitted.

use std::collections::{BTreeMap, BTreeSet};

use super::Rule;
use super::registry::{Entry, Form};
use crate::components::{Component, Role};
use crate::input::profile::ServiceType;
use crate::pipeline::model::Model;

/// One derived exemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Derived {
    pub rule: Rule,
    /// The namespace it covers; `None`: everywhere the rule applies (the mesh
    /// sidecar, which is injected into every meshed pod).
    pub namespace: Option<String>,
    /// Image repositories allowed besides the profile's (registries only).
    pub allow: Vec<String>,
    /// Why, as written on the object.
    pub reason: String,
}

/// The repository an image reference names, with Docker's defaults written
/// out (`nginx:1` -> `docker.io/library/nginx`), without tag or digest.
pub(crate) fn repository_of(image: &str) -> String {
    let name = image.split('@').next().unwrap_or(image);
    // A `:` after the last `/` starts a tag; one before it is a registry port.
    let name = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    };
    let first = name.split('/').next().unwrap_or_default();
    if !name.contains('/') {
        format!("docker.io/library/{name}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        name.to_owned()
    } else {
        format!("docker.io/{name}")
    }
}

/// Whether a registry entry admits every image of `repo`, as the rendered
/// rules read it: `…/*` everything under it at a `/` boundary, a repository
/// entry that repository at any tag or digest; a tag or digest entry admits
/// one image only, so never a whole repository.
fn admits(entry: &Entry, repo: &str) -> bool {
    match entry.form {
        Form::Under => entry
            .normal
            .strip_suffix('*')
            .is_some_and(|prefix| repo.starts_with(prefix)),
        Form::Repository => entry.normal == repo,
        Form::Tag | Form::Digest => false,
    }
}

/// The repositories of `c` that the `allowed` entries do not admit.
fn missing(entries: &[Entry], c: &Component) -> Vec<String> {
    let set: BTreeSet<String> = c
        .images
        .iter()
        .map(|i| repository_of(i))
        .filter(|repo| !entries.iter().any(|e| admits(e, repo)))
        .collect();
    set.into_iter().collect()
}

/// Every exemption the profile's components need, in a fixed order;
/// `registries` is `policy.allowedRegistries` as `validate` parsed it.
pub(crate) fn derive(m: &Model, registries: &[Entry]) -> Vec<Derived> {
    let p = &m.profile;
    let Some(pol) = &p.policy else {
        return Vec::new();
    };
    let exempt: BTreeSet<&str> = pol.exempt_namespaces.iter().map(String::as_str).collect();
    let profile_ns: BTreeSet<&str> = p.namespaces.iter().map(|n| n.name.as_str()).collect();
    let mut out = Vec::new();
    for c in crate::components::all(p) {
        let everywhere = c.role == Role::MeshSidecar;
        if !everywhere && exempt.contains(c.namespace.as_str()) {
            continue;
        }
        let namespace = (!everywhere).then(|| c.namespace.clone());
        if !pol.allowed_registries.is_empty() {
            let allow = missing(registries, &c);
            if !allow.is_empty() {
                out.push(Derived {
                    rule: Rule::AllowedRegistries,
                    namespace: namespace.clone(),
                    reason: format!(
                        "{} runs {}{}",
                        c.name,
                        allow.join(", "),
                        if everywhere {
                            ", injected into every meshed pod"
                        } else {
                            ""
                        }
                    ),
                    allow,
                });
            }
        }
        // A namespace of the profile is the tenant's: its owner annotates what
        // runs there, and nothing of the tenant's rules is loosened for it.
        if everywhere || profile_ns.contains(c.namespace.as_str()) {
            continue;
        }
        if !pol.required_annotations.is_empty() {
            out.push(Derived {
                rule: Rule::RequiredAnnotations,
                namespace: namespace.clone(),
                allow: Vec::new(),
                reason: if c.rendered {
                    format!(
                        "{}: rendered by kharden, which has no {} value to give it",
                        c.name,
                        pol.required_annotations.join(", ")
                    )
                } else {
                    format!(
                        "{}: installed by its vendor's manifests, which carry no {} annotation",
                        c.name,
                        pol.required_annotations.join(", ")
                    )
                },
            });
        }
        if !pol.required_limits.is_empty() && !c.sets_limits {
            out.push(Derived {
                rule: Rule::RequiredLimits,
                namespace: namespace.clone(),
                allow: Vec::new(),
                reason: format!(
                    "{}: its vendor's manifests set requests but no limits",
                    c.name
                ),
            });
        }
        if pol.no_node_ports && c.service == Some(ServiceType::NodePort) {
            out.push(Derived {
                rule: Rule::NoNodePorts,
                namespace: namespace.clone(),
                allow: Vec::new(),
                reason: format!(
                    "{}: `components.{}.serviceType` is NodePort",
                    c.name,
                    c.role.field()
                ),
            });
        }
        if pol.internal_load_balancers
            && c.service == Some(ServiceType::LoadBalancer)
            && m.platform().internal_lb_annotation().is_none()
        {
            out.push(Derived {
                rule: Rule::InternalLoadBalancers,
                namespace,
                allow: Vec::new(),
                reason: format!(
                    "{}: the cluster's entry point needs a LoadBalancer Service, and {} has no internal load balancer annotation",
                    c.name,
                    m.platform().name()
                ),
            });
        }
    }
    out
}

/// The derived exemptions of one rule: repositories allowed everywhere, and
/// per namespace (repositories, reasons).
pub(crate) struct ForRule {
    pub everywhere: Vec<String>,
    pub everywhere_reasons: Vec<String>,
    pub namespaces: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

pub(crate) fn for_rule(all: &[Derived], rule: Rule) -> ForRule {
    let mut f = ForRule {
        everywhere: Vec::new(),
        everywhere_reasons: Vec::new(),
        namespaces: BTreeMap::new(),
    };
    for d in all.iter().filter(|d| d.rule == rule) {
        match &d.namespace {
            None => {
                f.everywhere.extend(d.allow.iter().cloned());
                f.everywhere_reasons.push(d.reason.clone());
            }
            Some(ns) => {
                let e = f.namespaces.entry(ns.clone()).or_default();
                e.0.extend(d.allow.iter().cloned());
                e.1.push(d.reason.clone());
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::super::registry::parse;
    use super::*;

    #[test]
    fn repositories_of_image_references() {
        assert_eq!(repository_of("nginx"), "docker.io/library/nginx");
        assert_eq!(repository_of("nginx:1.27"), "docker.io/library/nginx");
        assert_eq!(
            repository_of("fluent/fluentd-kubernetes-daemonset:v1.19.3-debian"),
            "docker.io/fluent/fluentd-kubernetes-daemonset"
        );
        assert_eq!(
            repository_of("registry.local:5000/a/b@sha256:abc"),
            "registry.local:5000/a/b"
        );
        assert_eq!(
            repository_of("registry.k8s.io/ingress-nginx/controller"),
            "registry.k8s.io/ingress-nginx/controller"
        );
    }

    #[test]
    fn entries_admit_at_a_slash_boundary() {
        let e = |s: &str| parse(s).unwrap();
        let repo = "registry.k8s.io/ingress-nginx/controller";
        assert!(admits(&e("registry.k8s.io"), repo));
        assert!(admits(&e("registry.k8s.io/ingress-nginx/*"), repo));
        assert!(!admits(&e("registry.k8s.io/ingress/*"), repo));
        assert!(admits(&e(repo), repo));
        assert!(!admits(
            &e("registry.k8s.io/ingress-nginx/controller:v1"),
            repo
        ));
    }
}
