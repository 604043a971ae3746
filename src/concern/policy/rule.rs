//! The engine-neutral rule plan's types: each check (`Rule`), where one
//! instance of it applies (`Scope`), the instance with its parameters and
//! waiver annotations (`Instance`), and the native engine's fixed CEL per rule
//! (`Cel`). They import nothing of the concern, so the validated form
//! (`validated`) can hold them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::input::profile::EnforcementMode;

/// One check, the same for both engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    AllowedRegistries,
    RequiredAnnotations,
    IngressHostsInDomain,
    UniqueIngressHosts,
    InternalLoadBalancers,
    NamespaceAnnotations,
    WindowsPods,
    RouteHostsInDomain,
    UniqueRouteHosts,
    GatewayParents,
    NoNodePorts,
    RequiredLimits,
    DepartmentLabel,
}

impl Rule {
    /// The profile field (and exception `rule`) this check comes from.
    pub fn field(self) -> &'static str {
        match self {
            Rule::AllowedRegistries => "allowedRegistries",
            Rule::RequiredAnnotations => "requiredAnnotations",
            Rule::IngressHostsInDomain => "ingressHostsInDomain",
            Rule::UniqueIngressHosts => "uniqueIngressHosts",
            Rule::InternalLoadBalancers => "internalLoadBalancers",
            Rule::NamespaceAnnotations => "propagateNamespaceAnnotations",
            Rule::WindowsPods => "workloads.windows",
            // The Ingress rules cover Gateway API routes too, waivers included:
            // otherwise a route would be the way around them.
            Rule::RouteHostsInDomain => "ingressHostsInDomain",
            Rule::UniqueRouteHosts => "uniqueIngressHosts",
            Rule::GatewayParents => "cluster.gateways",
            Rule::NoNodePorts => "noNodePorts",
            Rule::RequiredLimits => "requiredLimits",
            Rule::DepartmentLabel => "departmentLabel",
        }
    }
    /// Object names: `allowed-registries`, ….
    pub fn slug(self) -> &'static str {
        match self {
            Rule::AllowedRegistries => "allowed-registries",
            Rule::RequiredAnnotations => "required-annotations",
            Rule::IngressHostsInDomain => "ingress-hosts-in-domain",
            Rule::UniqueIngressHosts => "unique-ingress-hosts",
            Rule::InternalLoadBalancers => "internal-load-balancers",
            Rule::NamespaceAnnotations => "namespace-annotations",
            Rule::WindowsPods => "windows-pods",
            Rule::RouteHostsInDomain => "route-hosts-in-domain",
            Rule::UniqueRouteHosts => "unique-route-hosts",
            Rule::GatewayParents => "gateway-parents",
            Rule::NoNodePorts => "no-node-ports",
            Rule::RequiredLimits => "required-limits",
            Rule::DepartmentLabel => "department-label",
        }
    }
}

/// Where one instance of a rule applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace but these.
    AllBut(Vec<String>),
    /// Only these namespaces.
    Only(Vec<String>),
}

/// One instance of a rule: its scope and parameters, and the waiver it carries out.
#[derive(Debug, Clone)]
pub struct Instance {
    pub rule: Rule,
    /// Object name suffix after the rule's slug ("" for the cluster-wide instance).
    pub suffix: String,
    pub scope: Scope,
    /// Parameters as an object of named values (Gatekeeper `parameters`, CEL `variables`).
    pub params: Value,
    /// Annotations for the rendered objects (waiver owner, ticket, expiry).
    pub annotations: BTreeMap<String, String>,
    /// Deny, or only warn or audit (`policy.enforcement`, set by `enforcement::split`).
    pub mode: EnforcementMode,
}

impl Instance {
    pub fn name(&self) -> String {
        if self.suffix.is_empty() {
            self.rule.slug().to_owned()
        } else {
            format!("{}-{}", self.rule.slug(), self.suffix)
        }
    }

    /// Metadata of an object rendered for this instance, under `name`: our
    /// label and the instance's waiver annotations, the same for every engine.
    pub fn metadata(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            annotations: (!self.annotations.is_empty()).then(|| self.annotations.clone()),
            ..crate::bundle::manifest::meta(name, None)
        }
    }
}

/// The native engine's fixed CEL per rule (`engine::cel::render`, `routes`): derived variables (after the parameter variables) and
/// validations as (expression, messageExpression).
pub(crate) struct Cel {
    pub variables: Vec<(&'static str, String)>,
    pub validations: Vec<(&'static str, &'static str)>,
}
