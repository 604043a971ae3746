//! The Gatekeeper engine: one ConstraintTemplate per rule (Rego from
//! `templates/*.rego`, fixed text), one Constraint per rule instance (scope as
//! `match`, user values as `parameters`), the mutators that add what the rules
//! require, and the sync Config the uniqueness rule reads other Ingresses from.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use crate::bundle::manifest::{Custom, Manifest, RenderError, meta, name_only};
use crate::concern::policy::{Instance, Rule, Scope, windows};
use crate::pipeline::model::Model;

/// The namespace Gatekeeper runs in; its Config must live there, named `config`.
pub(crate) const GATEKEEPER_NAMESPACE: &str = "gatekeeper-system";

/// The Constraint kind (and, lower-cased, the ConstraintTemplate name) of a rule.
pub(crate) fn kind(rule: Rule) -> &'static str {
    match rule {
        Rule::AllowedRegistries => "KhardenAllowedRegistries",
        Rule::RequiredAnnotations => "KhardenRequiredAnnotations",
        Rule::IngressHostsInDomain => "KhardenIngressHostsInDomain",
        Rule::UniqueIngressHosts => "KhardenUniqueIngressHosts",
        Rule::InternalLoadBalancers => "KhardenInternalLoadBalancers",
        Rule::NamespaceAnnotations => "KhardenNamespaceAnnotations",
        Rule::WindowsPods => "KhardenWindowsPods",
        Rule::RouteHostsInDomain => "KhardenRouteHostsInDomain",
        Rule::UniqueRouteHosts => "KhardenUniqueRouteHosts",
        Rule::GatewayParents => "KhardenGatewayParents",
        Rule::NoNodePorts => "KhardenNoNodePorts",
        Rule::RequiredLimits => "KhardenRequiredLimits",
        Rule::DepartmentLabel => "KhardenDepartmentLabel",
    }
}

/// The Rego of a rule: fixed text, parameters come from the Constraint.
pub(crate) fn rego(rule: Rule) -> &'static str {
    match rule {
        Rule::AllowedRegistries => include_str!("../../../../../templates/allowed_registries.rego"),
        Rule::RequiredAnnotations => {
            include_str!("../../../../../templates/required_annotations.rego")
        }
        Rule::IngressHostsInDomain => {
            include_str!("../../../../../templates/ingress_hosts_in_domain.rego")
        }
        Rule::UniqueIngressHosts => {
            include_str!("../../../../../templates/unique_ingress_hosts.rego")
        }
        Rule::InternalLoadBalancers => {
            include_str!("../../../../../templates/internal_load_balancers.rego")
        }
        Rule::NamespaceAnnotations => {
            include_str!("../../../../../templates/namespace_annotations.rego")
        }
        Rule::WindowsPods => include_str!("../../../../../templates/windows_pods.rego"),
        Rule::RouteHostsInDomain => {
            include_str!("../../../../../templates/route_hosts_in_domain.rego")
        }
        Rule::UniqueRouteHosts => include_str!("../../../../../templates/unique_route_hosts.rego"),
        Rule::GatewayParents => include_str!("../../../../../templates/gateway_parents.rego"),
        Rule::NoNodePorts => include_str!("../../../../../templates/no_node_ports.rego"),
        Rule::RequiredLimits => include_str!("../../../../../templates/required_limits.rego"),
        Rule::DepartmentLabel => include_str!("../../../../../templates/department_label.rego"),
    }
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

/// The schema of a rule's `parameters` (structural: a type at every level).
fn parameters_schema(rule: Rule) -> Value {
    let props = match rule {
        Rule::AllowedRegistries => json!({"registries": strings()}),
        Rule::NoNodePorts => json!({}),
        Rule::RequiredLimits => json!({"resources": strings()}),
        Rule::RequiredAnnotations => json!({"annotations": strings()}),
        Rule::IngressHostsInDomain | Rule::RouteHostsInDomain => json!({"domains": strings()}),
        Rule::UniqueIngressHosts | Rule::UniqueRouteHosts => json!({"domain": {"type": "string"}}),
        Rule::GatewayParents => {
            json!({"gateways": {"type": "object", "additionalProperties": strings()}})
        }
        Rule::InternalLoadBalancers => {
            json!({"annotation": {"type": "string"}, "value": {"type": "string"}, "platform": {"type": "string"}})
        }
        Rule::DepartmentLabel => json!({
            "key": {"type": "string"},
            "departments": {
                "type": "array",
                "items": {"type": "object", "properties": {
                    "department": {"type": "string"}, "groups": strings()}}}}),
        Rule::NamespaceAnnotations => json!({"annotations": {
            "type": "array",
            "items": {"type": "object", "properties": {
                "key": {"type": "string"}, "value": {"type": "string"}}}}}),
        Rule::WindowsPods => {
            let s = json!({"type": "string"});
            json!({
                "nodeSelectorKey": s, "nodeSelectorValue": s, "tolerationKey": s,
                "tolerationValue": s, "tolerationEffect": s, "osName": s,
            })
        }
    };
    json!({"type": "object", "properties": props})
}

/// The kinds a rule's Constraint matches.
pub(crate) fn match_kinds(rule: Rule) -> Value {
    let workloads = || {
        json!([
            {"apiGroups": [""], "kinds": ["Pod"]},
            {"apiGroups": ["apps"], "kinds": ["DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"]},
            {"apiGroups": ["batch"], "kinds": ["CronJob", "Job"]},
        ])
    };
    match rule {
        Rule::AllowedRegistries | Rule::RequiredAnnotations | Rule::RequiredLimits => workloads(),
        Rule::NoNodePorts => json!([{"apiGroups": [""], "kinds": ["Service"]}]),
        Rule::IngressHostsInDomain | Rule::UniqueIngressHosts => {
            json!([{"apiGroups": ["networking.k8s.io"], "kinds": ["Ingress"]}])
        }
        Rule::InternalLoadBalancers => json!([
            {"apiGroups": [""], "kinds": ["Service"]},
            {"apiGroups": ["networking.k8s.io"], "kinds": ["Ingress"]},
        ]),
        Rule::NamespaceAnnotations | Rule::DepartmentLabel => {
            json!([{"apiGroups": ["*"], "kinds": ["*"]}])
        }
        Rule::WindowsPods => json!([{"apiGroups": [""], "kinds": ["Pod"]}]),
        Rule::RouteHostsInDomain | Rule::UniqueRouteHosts | Rule::GatewayParents => {
            let groups: Vec<Value> = crate::concern::policy::routes::matched(rule)
                .into_iter()
                .map(|m| json!({"apiGroups": [m.group], "kinds": m.kinds}))
                .collect();
            json!(groups)
        }
    }
}

fn scope_match(scope: &Scope, kinds: Value) -> Value {
    let mut m = json!({"kinds": kinds, "scope": "Namespaced"});
    match scope {
        Scope::AllBut(ns) if !ns.is_empty() => m["excludedNamespaces"] = json!(ns),
        Scope::AllBut(_) => {}
        Scope::Only(ns) => m["namespaces"] = json!(ns),
    }
    m
}

/// Mutator metadata: a name only. The mutators' CRDs declare `metadata` with
/// `name` alone, and the strict schemas kharden is checked against refuse
/// anything else there, so these objects go without our label.
fn mutator_metadata(name: &str) -> ObjectMeta {
    name_only(name)
}

/// A template for every rule in use, then a Constraint per instance.
pub(crate) fn objects(m: &Model, plan: &[Instance]) -> Vec<Custom<Value>> {
    let mut out = Vec::new();
    let mut rules: Vec<Rule> = plan.iter().map(|i| i.rule).collect();
    rules.dedup();
    for rule in &rules {
        let k = kind(*rule);
        out.push(Custom::new(
            "templates.gatekeeper.sh/v1",
            "ConstraintTemplate",
            meta(&k.to_ascii_lowercase(), None),
            json!({
                "crd": {"spec": {
                    "names": {"kind": k},
                    "validation": {"openAPIV3Schema": parameters_schema(*rule)},
                }},
                "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": rego(*rule)}],
            }),
        ));
    }
    for inst in plan {
        out.push(Custom::new(
            "constraints.gatekeeper.sh/v1beta1",
            kind(inst.rule),
            inst.metadata(&inst.name()),
            json!({
                "enforcementAction": crate::concern::policy::enforcement::gatekeeper_action(inst.mode),
                "match": scope_match(&inst.scope, match_kinds(inst.rule)),
                "parameters": inst.params,
            }),
        ));
        out.extend(mutators(m, inst));
    }
    if rules.contains(&Rule::UniqueIngressHosts) {
        // The uniqueness rules read other namespaces' Ingresses, routes and
        // ListenerSets, in every version a Gateway API release serves them
        // as, so the inventory holds them whichever release the cluster runs.
        let mut sync =
            vec![json!({"group": "networking.k8s.io", "version": "v1", "kind": "Ingress"})];
        if rules.contains(&Rule::UniqueRouteHosts) {
            sync.extend(
                crate::concern::policy::routes::synced()
                    .into_iter()
                    .map(|(g, v, k)| json!({"group": g, "version": v, "kind": k})),
            );
        }
        out.push(Custom::new(
            "config.gatekeeper.sh/v1alpha1",
            "Config",
            meta("config", Some(GATEKEEPER_NAMESPACE)),
            json!({"sync": {"syncOnly": sync}}),
        ));
    }
    out
}

/// A metadata location with the key quoted (keys with `.` or `/` must be).
fn annotation_location(key: &str) -> String {
    format!("metadata.annotations.\"{key}\"")
}

/// The mutators that add what a rule instance requires.
fn mutators(m: &Model, inst: &Instance) -> Vec<Custom<Value>> {
    let mut out = Vec::new();
    let services = json!([{"apiGroups": [""], "kinds": ["Service"]}]);
    match inst.rule {
        Rule::InternalLoadBalancers if inst.suffix.is_empty() => {
            // AssignMetadata cannot test `spec.type`, so every Service gets the
            // annotation; cloud providers read it only on LoadBalancers. It never
            // overwrites a value, so the constraint still refuses an explicit "false".
            if let Some((key, value)) = m.platform().internal_lb_annotation() {
                out.push(Custom::new(
                    "mutations.gatekeeper.sh/v1",
                    "AssignMetadata",
                    mutator_metadata("internal-load-balancer"),
                    json!({
                        "match": scope_match(&inst.scope, services),
                        "location": annotation_location(key),
                        "parameters": {"assign": {"value": value}},
                    }),
                ));
            }
        }
        Rule::NamespaceAnnotations => {
            for a in inst.params["annotations"].as_array().into_iter().flatten() {
                let key = a["key"].as_str().unwrap_or_default();
                out.push(Custom::new(
                    "mutations.gatekeeper.sh/v1",
                    "AssignMetadata",
                    mutator_metadata(&format!(
                        "{}-{}",
                        inst.suffix,
                        crate::k8s::names::slug(key, 40)
                    )),
                    json!({
                        "match": scope_match(&inst.scope, match_kinds(inst.rule)),
                        "location": annotation_location(key),
                        "parameters": {"assign": {"value": a["value"]}},
                    }),
                ));
            }
        }
        Rule::WindowsPods => {
            let pods = json!([{"apiGroups": [""], "kinds": ["Pod"]}]);
            let apply = json!([{"groups": [""], "kinds": ["Pod"], "versions": ["v1"]}]);
            let p = &inst.params;
            let assign = |name: &str, location: String, value: &Value| {
                Custom::new(
                    "mutations.gatekeeper.sh/v1",
                    "Assign",
                    mutator_metadata(name),
                    json!({
                        "applyTo": apply,
                        "match": scope_match(&inst.scope, pods.clone()),
                        "location": location,
                        "parameters": {"assign": {"value": value}},
                    }),
                )
            };
            out.push(assign(
                "windows-node-selector",
                format!("spec.nodeSelector.\"{}\"", windows::SELECTOR.0),
                &p["nodeSelectorValue"],
            ));
            // Pod Security skips its Linux-only checks for a pod that says it is
            // a Windows pod; the node selector alone does not say so.
            out.push(assign(
                "windows-os-name",
                "spec.os.name".to_owned(),
                &p["osName"],
            ));
            out.push(Custom::new(
                "mutations.gatekeeper.sh/v1",
                "ModifySet",
                mutator_metadata("windows-toleration"),
                json!({
                    "applyTo": apply,
                    "match": scope_match(&inst.scope, pods),
                    "location": "spec.tolerations",
                    "parameters": {
                        "operation": "merge",
                        "values": {"fromList": [{
                            "key": p["tolerationKey"],
                            "operator": "Equal",
                            "value": p["tolerationValue"],
                            "effect": p["tolerationEffect"],
                        }]},
                    },
                }),
            ));
        }
        _ => {}
    }
    out
}

pub(crate) fn render(m: &Model, plan: &[Instance]) -> Result<Vec<Manifest>, RenderError> {
    objects(m, plan).iter().map(Custom::manifest).collect()
}
