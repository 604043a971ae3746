//! The native engine: a ValidatingAdmissionPolicy and its Binding per rule
//! instance (`admissionregistration.k8s.io/v1`). The CEL expressions are fixed
//! text; the instance's values reach them only as `variables` whose expressions
//! are CEL literals written by `cel_literal`, and the scope is the binding's
//! namespace selector.
//!
//! Limits of the engine, said where they bite: a policy sees only the object
//! under review, so `uniqueIngressHosts` becomes "hosts stay under
//! `<namespace>.<ingressDomain>`", which makes two namespaces' hosts disjoint
//! by construction. What a Gatekeeper mutator adds, `map` adds with a
//! MutatingAdmissionPolicy from Kubernetes 1.36 (on 1.34 and 1.35 only when the
//! profile opts in to v1beta1); without one, objects missing it are refused
//! with a message saying what to add.

use k8s_openapi::api::admissionregistration::v1::{
    MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
    ValidatingAdmissionPolicySpec, Validation, Variable,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use std::sync::LazyLock;

use serde_json::Value;

use crate::bundle::manifest::{Manifest, RenderError};
use crate::concern::policy::{Cel, Instance, Rule, Scope};

/// A JSON value as a CEL literal. Strings are double-quoted with every quote,
/// backslash and control character escaped, so no user value can end the
/// literal and become expression text.
pub(crate) fn cel_literal(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 || c == '\u{7f}' => {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(cel_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    cel_literal(&Value::String(k.clone())),
                    cel_literal(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The image of a container with Docker's defaults written out, in three
/// steps as the runtimes read it (see `allowed_registries.rego`): a host or
/// docker.io; Docker Hub's other names as docker.io; `library/` for a Hub
/// image without a namespace.
const HOST_FORM: &str = "i.matches('^(localhost|[^/]*[.:A-Z][^/]*)/') ? i : 'docker.io/' + i";
const HUB_FORM: &str = "i.startsWith('index.docker.io/') ? 'docker.io/' + i.substring(16) : (i.startsWith('registry-1.docker.io/') ? 'docker.io/' + i.substring(21) : i)";
const OFFICIAL_FORM: &str = "i.startsWith('docker.io/') && !i.substring(10).contains('/') ? 'docker.io/library/' + i.substring(10) : i";

/// Whether entry `e` admits full name `n`, by the entry's form: `…/*`
/// everything under it; `repo@digest` that image, with any tag beside the
/// digest; `repo:tag` that tag (no tag is `:latest`); `repo` any tag or digest
/// of it. The same decisions as `allowed_registries.rego`.
const ADMITS: &str = "e.endsWith('/*') ? n.startsWith(e.substring(0, size(e) - 1)) : (n == e || (e.contains('@') ? (n.startsWith(e.split('@')[0] + ':') && n.endsWith('@' + e.split('@')[1]) && size(n) > size(e) + 1 && !n.substring(size(e.split('@')[0]) + 1, size(n) - size(e.split('@')[1]) - 1).matches('[/:@]')) : (e.substring(e.lastIndexOf('/')).contains(':') ? n + ':latest' == e : ((n.startsWith(e + ':') || n.startsWith(e + '@')) && !n.substring(size(e)).contains('/')))))";

pub(crate) fn cel(rule: Rule) -> Cel {
    match rule {
        Rule::AllowedRegistries => Cel {
            variables: vec![
                ("spec", "request.kind.kind == 'Pod' ? object.spec : (request.kind.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)".to_owned()),
                ("images", "((has(variables.spec.containers) ? variables.spec.containers : []) + (has(variables.spec.initContainers) ? variables.spec.initContainers : []) + (has(variables.spec.ephemeralContainers) ? variables.spec.ephemeralContainers : [])).map(c, c.image)".to_owned()),
                ("names", format!("variables.images.map(i, {HOST_FORM}).map(i, {HUB_FORM}).map(i, {OFFICIAL_FORM})")),
                ("denied", format!("variables.names.filter(n, !variables.registries.exists(e, {ADMITS}))")),
            ],
            validations: vec![(
                "size(variables.denied) == 0",
                "'images not from an allowed registry: ' + variables.denied.join(', ') + '; allowed: ' + variables.registries.join(', ')",
            )],
        },
        Rule::RequiredAnnotations => Cel {
            // Every place the annotations must be: the object's own metadata
            // and the templates controllers copy from (no exemption for a
            // client-written `ownerReferences`).
            variables: vec![
                ("missing", missing("object.metadata")),
                (
                    "missingInTemplate",
                    format!(
                        "request.kind.kind in ['DaemonSet', 'Deployment', 'Job', 'ReplicaSet', 'StatefulSet'] ? {} : []",
                        missing("object.spec.template.metadata")
                    ),
                ),
                (
                    "missingInJobTemplate",
                    format!(
                        "request.kind.kind == 'CronJob' ? {} : []",
                        missing("object.spec.jobTemplate.metadata")
                    ),
                ),
                (
                    "missingInJobPodTemplate",
                    format!(
                        "request.kind.kind == 'CronJob' ? {} : []",
                        missing("object.spec.jobTemplate.spec.template.metadata")
                    ),
                ),
            ],
            validations: vec![
                (
                    "size(variables.missing) == 0",
                    "'a ' + request.kind.kind + ' must carry these annotations with non-empty values: ' + variables.missing.join(', ')",
                ),
                (
                    "size(variables.missingInTemplate) == 0",
                    "'a ' + request.kind.kind + ' must carry these annotations with non-empty values in spec.template.metadata.annotations, which its pods get theirs from: ' + variables.missingInTemplate.join(', ')",
                ),
                (
                    "size(variables.missingInJobTemplate) == 0",
                    "'a CronJob must carry these annotations with non-empty values in spec.jobTemplate.metadata.annotations, which its Jobs get theirs from: ' + variables.missingInJobTemplate.join(', ')",
                ),
                (
                    "size(variables.missingInJobPodTemplate) == 0",
                    "'a CronJob must carry these annotations with non-empty values in spec.jobTemplate.spec.template.metadata.annotations, which its pods get theirs from: ' + variables.missingInJobPodTemplate.join(', ')",
                ),
            ],
        },
        Rule::IngressHostsInDomain => Cel {
            variables: vec![],
            validations: vec![
                (
                    "!has(object.spec.rules) || object.spec.rules.all(r, has(r.host) && r.host != '')",
                    "'every Ingress rule needs a host under ' + variables.domains.join(' or ')",
                ),
                (
                    INGRESS_RULE_HOSTS.as_str(),
                    "'Ingress hosts must be names under ' + variables.domains.join(' or ') + '; wildcard hosts are refused'",
                ),
                (
                    INGRESS_TLS_HOSTS.as_str(),
                    "'Ingress TLS hosts must be names under ' + variables.domains.join(' or ') + '; wildcard hosts are refused'",
                ),
                (
                    "!has(object.spec.defaultBackend)",
                    "'an Ingress with spec.defaultBackend takes the requests for every host no rule names, around the host rules: remove defaultBackend and route through rules whose hosts are under ' + variables.domains.join(' or ')",
                ),
            ],
        },
        Rule::UniqueIngressHosts => Cel {
            variables: vec![(
                "own",
                "request.namespace + '.' + variables.domain".to_owned(),
            )],
            validations: vec![
                (
                    "!has(object.spec.rules) || object.spec.rules.all(r, !has(r.host) || r.host.lowerAscii() == variables.own || r.host.lowerAscii().endsWith('.' + variables.own))",
                    "'Ingress hosts in namespace ' + request.namespace + ' must be ' + variables.own + ' or a name under it, so no other namespace can claim them'",
                ),
                (
                    "!has(object.spec.defaultBackend)",
                    "'an Ingress with spec.defaultBackend takes the requests for every host no rule names, including hosts other namespaces hold: remove defaultBackend and route through rules with hosts of your own'",
                ),
            ],
        },
        Rule::InternalLoadBalancers => internal_load_balancers(),
        Rule::NamespaceAnnotations => Cel {
            variables: vec![],
            validations: vec![(
                "!has(object.metadata.annotations) || variables.annotations.all(a, !(a.key in object.metadata.annotations) || object.metadata.annotations[a.key] == a.value)",
                "'annotations copied from the namespace must keep its values (or be left out): ' + variables.annotations.map(a, a.key + ': ' + a.value).join(', ')",
            )],
        },
        Rule::RouteHostsInDomain => crate::concern::policy::routes::hosts_in_domain(),
        Rule::UniqueRouteHosts => crate::concern::policy::routes::unique_hosts(),
        Rule::GatewayParents => crate::concern::policy::routes::parents(),
        Rule::NoNodePorts => Cel {
            variables: vec![],
            validations: vec![(
                "!has(object.spec.type) || object.spec.type != 'NodePort'",
                "'Services of type NodePort are refused in namespace ' + request.namespace + ': a node port opens the service on every node, outside the ingress path and its policies; use a ClusterIP Service behind the ingress controller'",
            )],
        },
        Rule::RequiredLimits => Cel {
            // The same pod specs as allowedRegistries; ephemeral containers
            // cannot have resources. A pod-level limit covers every container.
            variables: vec![
                ("spec", "request.kind.kind == 'Pod' ? object.spec : (request.kind.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)".to_owned()),
                ("podLimited", "variables.resources.filter(r, has(variables.spec.resources) && has(variables.spec.resources.limits) && r in variables.spec.resources.limits)".to_owned()),
                ("unlimited", "((has(variables.spec.containers) ? variables.spec.containers : []) + (has(variables.spec.initContainers) ? variables.spec.initContainers : [])).filter(c, variables.resources.exists(r, !(r in variables.podLimited) && !(has(c.resources) && has(c.resources.limits) && r in c.resources.limits))).map(c, c.name)".to_owned()),
            ],
            validations: vec![(
                "size(variables.unlimited) == 0",
                "'containers without limits for ' + variables.resources.join(', ') + ': ' + variables.unlimited.join(', ') + '; namespace ' + request.namespace + ' has no LimitRange to give them: set resources.limits (a request left out defaults to the limit)'",
            )],
        },
        Rule::DepartmentLabel => crate::concern::policy::department::cel(),
        Rule::WindowsPods => Cel {
            variables: vec![],
            validations: vec![
                (
                    "has(object.spec.nodeSelector) && variables.nodeSelectorKey in object.spec.nodeSelector && object.spec.nodeSelector[variables.nodeSelectorKey] == variables.nodeSelectorValue",
                    "'pods in this namespace run on Windows nodes: set nodeSelector ' + variables.nodeSelectorKey + ': ' + variables.nodeSelectorValue",
                ),
                (
                    "has(object.spec.tolerations) && object.spec.tolerations.exists(t, has(t.key) && t.key == variables.tolerationKey && ((has(t.operator) && t.operator == 'Exists') || (has(t.value) ? t.value : '') == variables.tolerationValue) && (!has(t.effect) || t.effect == '' || t.effect == variables.tolerationEffect))",
                    "'pods in this namespace run on Windows nodes: add the toleration ' + variables.tolerationKey + '=' + variables.tolerationValue + ':' + variables.tolerationEffect",
                ),
                (
                    "has(object.spec.os) && has(object.spec.os.name) && object.spec.os.name == variables.osName",
                    "'pods in this namespace run on Windows nodes: set spec.os.name: ' + variables.osName",
                ),
            ],
        },
    }
}

/// The required annotations missing (absent or blank) from the metadata at `md`.
fn missing(md: &str) -> String {
    format!(
        "variables.annotations.filter(k, !has({md}) || !has({md}.annotations) || !(k in {md}.annotations) || {md}.annotations[k].trim() == '')"
    )
}

/// An annotation's value, or `''` without it.
fn annotation(key: &str) -> String {
    format!("('{key}' in variables.ann ? variables.ann['{key}'] : '')")
}

/// Internal load balancers: the platform's annotation on LoadBalancer
/// Services; on EKS the AWS scheme annotations and ALB Ingresses, on GKE the
/// GKE Ingress class. The same decisions as `internal_load_balancers.rego`,
/// which says why.
fn internal_load_balancers() -> Cel {
    Cel {
        variables: vec![
            ("lb", "request.kind.kind == 'Service' && has(object.spec.type) && object.spec.type == 'LoadBalancer'".to_owned()),
            ("ingress", "request.kind.kind == 'Ingress'".to_owned()),
            ("ann", "has(object.metadata.annotations) ? object.metadata.annotations : {}".to_owned()),
            ("awsScheme", annotation("service.beta.kubernetes.io/aws-load-balancer-scheme")),
            ("awsController", format!(
                "{} in ['external', 'nlb-ip'] || (has(object.spec.loadBalancerClass) && object.spec.loadBalancerClass == 'service.k8s.aws/nlb')",
                annotation("service.beta.kubernetes.io/aws-load-balancer-type")
            )),
            ("awsInternal", format!(
                "{} == 'true' || (variables.awsScheme == 'internal' && variables.awsController)",
                annotation("service.beta.kubernetes.io/aws-load-balancer-internal")
            )),
            ("albScheme", annotation("alb.ingress.kubernetes.io/scheme")),
            ("ingressClass", annotation("kubernetes.io/ingress.class")),
            ("albPublic", "variables.albScheme != '' ? variables.albScheme != 'internal' : ((has(object.spec.ingressClassName) && object.spec.ingressClassName == 'alb') || variables.ingressClass == 'alb')".to_owned()),
            ("gceExternal", "variables.ingressClass == 'gce' || (variables.ingressClass == '' && (!has(object.spec.ingressClassName) || object.spec.ingressClassName == ''))".to_owned()),
        ],
        validations: vec![
            (
                "!variables.lb || variables.platform == 'eks' || (variables.annotation != '' && variables.annotation in variables.ann && variables.ann[variables.annotation] == variables.value)",
                "variables.annotation == '' ? 'Services of type LoadBalancer are refused: this platform has no internal load balancer annotation; expose the service through the ingress controller' : 'a Service of type LoadBalancer must be internal: set the annotation ' + variables.annotation + ': ' + variables.value",
            ),
            (
                "!variables.lb || variables.platform != 'eks' || variables.awsScheme in ['', 'internal']",
                "'a Service of type LoadBalancer must be internal: service.beta.kubernetes.io/aws-load-balancer-scheme is ' + variables.awsScheme + ' and wins over service.beta.kubernetes.io/aws-load-balancer-internal; set it to internal'",
            ),
            (
                "!variables.lb || variables.platform != 'eks' || !(variables.awsScheme in ['', 'internal']) || variables.awsInternal",
                "'a Service of type LoadBalancer must be internal: set the annotation service.beta.kubernetes.io/aws-load-balancer-internal: true (the in-tree controller reads only that one; service.beta.kubernetes.io/aws-load-balancer-scheme: internal is enough only for the AWS Load Balancer Controller)'",
            ),
            (
                "!variables.ingress || variables.platform != 'eks' || !variables.albPublic",
                "'an ALB Ingress must be internal: set the annotation alb.ingress.kubernetes.io/scheme: internal'",
            ),
            (
                "!variables.ingress || variables.platform != 'gke' || !variables.gceExternal",
                "'an Ingress with no class or with kubernetes.io/ingress.class: gce gets an external Application Load Balancer on GKE: set the annotation kubernetes.io/ingress.class: gce-internal'",
            ),
        ],
    }
}

/// Ingress hosts: lower-cased, a DNS name with no empty label, under a domain.
static INGRESS_RULE_HOSTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "!has(object.spec.rules) || object.spec.rules.all(r, !has(r.host) || r.host == '' || (!r.host.contains('*') && r.host.lowerAscii().matches('{NAME}') && variables.domains.exists(d, r.host.lowerAscii().endsWith('.' + d))))",
        NAME = crate::concern::policy::routes::NAME
    )
});
static INGRESS_TLS_HOSTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "!has(object.spec.tls) || object.spec.tls.all(t, !has(t.hosts) || t.hosts.all(h, !h.contains('*') && h.lowerAscii().matches('{NAME}') && variables.domains.exists(d, h.lowerAscii().endsWith('.' + d))))",
        NAME = crate::concern::policy::routes::NAME
    )
});

pub(crate) fn rule(group: &str, resources: &[&str]) -> NamedRuleWithOperations {
    let version = if group == "*" { "*" } else { "v1" };
    versioned_rule(group, &[version], resources)
}

fn versioned_rule(group: &str, versions: &[&str], resources: &[&str]) -> NamedRuleWithOperations {
    NamedRuleWithOperations {
        api_groups: Some(vec![group.to_owned()]),
        api_versions: Some(versions.iter().map(|v| (*v).to_owned()).collect()),
        operations: Some(vec!["CREATE".to_owned(), "UPDATE".to_owned()]),
        resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
        scope: Some("Namespaced".to_owned()),
        ..NamedRuleWithOperations::default()
    }
}

/// The resources a rule's policy matches.
pub(crate) fn resource_rules(r: Rule) -> Vec<NamedRuleWithOperations> {
    match r {
        Rule::AllowedRegistries => vec![
            // Ephemeral containers arrive through their own subresource.
            rule("", &["pods", "pods/ephemeralcontainers"]),
            rule(
                "apps",
                &["daemonsets", "deployments", "replicasets", "statefulsets"],
            ),
            rule("batch", &["cronjobs", "jobs"]),
        ],
        Rule::RequiredAnnotations => vec![
            rule("", &["pods"]),
            rule(
                "apps",
                &["daemonsets", "deployments", "replicasets", "statefulsets"],
            ),
            rule("batch", &["cronjobs", "jobs"]),
        ],
        Rule::IngressHostsInDomain | Rule::UniqueIngressHosts => {
            vec![rule("networking.k8s.io", &["ingresses"])]
        }
        Rule::InternalLoadBalancers => vec![
            rule("", &["services"]),
            rule("networking.k8s.io", &["ingresses"]),
        ],
        Rule::NamespaceAnnotations => vec![rule("*", &["*"])],
        Rule::WindowsPods => vec![rule("", &["pods"])],
        Rule::NoNodePorts => vec![rule("", &["services"])],
        Rule::DepartmentLabel => crate::concern::policy::department::resource_rules(),
        Rule::RequiredLimits => vec![
            rule("", &["pods"]),
            rule(
                "apps",
                &["daemonsets", "deployments", "replicasets", "statefulsets"],
            ),
            rule("batch", &["cronjobs", "jobs"]),
        ],
        // Every version Gateway API serves, in both of its groups.
        Rule::RouteHostsInDomain | Rule::UniqueRouteHosts | Rule::GatewayParents => {
            crate::concern::policy::routes::matched(r)
                .into_iter()
                .map(|m| versioned_rule(m.group, &m.versions, &m.resources))
                .collect()
        }
    }
}

/// An instance's parameters as variables, each value a CEL literal.
pub(crate) fn param_variables(inst: &Instance) -> Vec<Variable> {
    inst.params
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| Variable {
            name: k.clone(),
            expression: cel_literal(v),
        })
        .collect()
}

/// Parameter variables (CEL literals), then the rule's derived variables.
pub(crate) fn variables(inst: &Instance) -> Vec<Variable> {
    let mut out = param_variables(inst);
    out.extend(cel(inst.rule).variables.into_iter().map(|(n, e)| Variable {
        name: n.to_owned(),
        expression: e,
    }));
    out
}

pub(crate) fn selector(scope: &Scope) -> Option<LabelSelector> {
    let (op, values) = match scope {
        Scope::AllBut(ns) if ns.is_empty() => return None,
        Scope::AllBut(ns) => ("NotIn", ns),
        Scope::Only(ns) => ("In", ns),
    };
    Some(LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "kubernetes.io/metadata.name".to_owned(),
            operator: op.to_owned(),
            values: Some(values.clone()),
        }]),
        ..LabelSelector::default()
    })
}

/// The policy and binding of one instance.
pub(crate) fn objects(
    inst: &Instance,
) -> (ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding) {
    let name = format!("kharden-{}", inst.name());
    let md = inst.metadata(&name);
    let policy = ValidatingAdmissionPolicy {
        metadata: md.clone(),
        spec: Some(ValidatingAdmissionPolicySpec {
            failure_policy: Some("Fail".to_owned()),
            match_constraints: Some(MatchResources {
                resource_rules: Some(resource_rules(inst.rule)),
                ..MatchResources::default()
            }),
            // Rules without parameters or derived values (noNodePorts) have none.
            variables: Some(variables(inst)).filter(|v| !v.is_empty()),
            validations: Some(
                cel(inst.rule)
                    .validations
                    .into_iter()
                    .map(|(e, m)| Validation {
                        expression: e.to_owned(),
                        message_expression: Some(m.to_owned()),
                        ..Validation::default()
                    })
                    .collect(),
            ),
            ..ValidatingAdmissionPolicySpec::default()
        }),
        ..ValidatingAdmissionPolicy::default()
    };
    let binding = ValidatingAdmissionPolicyBinding {
        metadata: md,
        spec: Some(ValidatingAdmissionPolicyBindingSpec {
            policy_name: Some(name),
            validation_actions: Some(crate::concern::policy::enforcement::validation_actions(
                inst.mode,
            )),
            match_resources: Some(MatchResources {
                namespace_selector: selector(&inst.scope),
                ..MatchResources::default()
            }),
            ..ValidatingAdmissionPolicyBindingSpec::default()
        }),
    };
    (policy, binding)
}

/// The ValidatingAdmissionPolicies and their bindings (the mutating ones are
/// `map`'s).
pub(crate) fn render(plan: &[Instance]) -> Result<Vec<Manifest>, RenderError> {
    let mut out = Vec::new();
    for inst in plan {
        let (p, b) = objects(inst);
        out.push(Manifest::k8s(&p)?);
        out.push(Manifest::k8s(&b)?);
    }
    Ok(out)
}
