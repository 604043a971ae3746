//! ResourceQuota and LimitRange: `defaults.quota` merged key by key with each
//! namespace's `quota` (load balancers and node ports at 0 unless set), and a
//! LimitRange from `containerLimits` wherever the quota constrains CPU or memory.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::concern::metadata::inner_meta;
use crate::diag::{Diagnostic, nearest};
use crate::manifest::{Manifest, RenderError};
use crate::model::{Model, effective_limits, effective_quota};
use crate::profile::{ContainerLimits, QuantityValue};
use crate::quantity;
use crate::source::FieldPath;

/// Name of the quota and limit range in every namespace.
const NAME: &str = "kharden-default";

/// Quota keys that are not counts of objects (`count/…`) or storage-class scoped.
const KNOWN_KEYS: &[&str] = &[
    "configmaps",
    "cpu",
    "ephemeral-storage",
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "memory",
    "persistentvolumeclaims",
    "pods",
    "replicationcontrollers",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
    "requests.storage",
    "resourcequotas",
    "secrets",
    "services",
    "services.loadbalancers",
    "services.nodeports",
];

/// Resources a LimitRange of type Container may name.
const LIMIT_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

fn known_key(k: &str) -> bool {
    KNOWN_KEYS.contains(&k)
        || k.strip_prefix("count/").is_some_and(|r| !r.is_empty())
        || k.strip_prefix("requests.").is_some_and(|r| r.contains('/')) // extended resources, e.g. requests.nvidia.com/gpu
        || k.split_once(".storageclass.storage.k8s.io/").is_some_and(|(_, r)| r == "requests.storage" || r == "persistentvolumeclaims")
}

fn constrains_compute(q: &BTreeMap<String, QuantityValue>) -> bool {
    q.keys().any(|k| {
        matches!(
            k.as_str(),
            "cpu" | "memory" | "requests.cpu" | "requests.memory" | "limits.cpu" | "limits.memory"
        )
    })
}

pub fn validate(m: &Model, _plan: &mut crate::plan::Plan, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    let d = FieldPath::root().key("defaults");
    quota_map(out, &d.key("quota"), &p.defaults.quota);
    if let Some(cl) = &p.defaults.container_limits {
        container_limits(out, &d.key("containerLimits"), cl);
    }
    for (i, ns) in p.namespaces.iter().enumerate() {
        let base = FieldPath::root().key("namespaces").index(i);
        quota_map(out, &base.key("quota"), &ns.quota);
        if let Some(cl) = &ns.container_limits {
            container_limits(out, &base.key("containerLimits"), cl);
        }
        let q = effective_quota(m, ns);
        if constrains_compute(&q) {
            let needs = |res: &str| {
                q.contains_key(&format!("limits.{res}"))
                    || q.contains_key(&format!("requests.{res}"))
                    || q.contains_key(res)
            };
            match effective_limits(m, ns) {
                None => out.push(
                    Diagnostic::error(
                        base.key("name"),
                        format!("namespace `{}` has a CPU or memory quota but no container limits", ns.name),
                    )
                    .hint("set `defaults.containerLimits` (or the namespace's `containerLimits`): with a quota, pods without requests and limits are rejected"),
                ),
                Some(cl) => {
                    for res in ["cpu", "memory"] {
                        if needs(res) && !cl.default.contains_key(res) {
                            out.push(
                                Diagnostic::error(
                                    base.key("name"),
                                    format!("namespace `{}` has a {res} quota but its container limits set no default {res} limit", ns.name),
                                )
                                .hint(format!("add `{res}` under `containerLimits.default`")),
                            );
                        }
                    }
                }
            }
        }
    }
}

fn quota_map(out: &mut Vec<Diagnostic>, path: &FieldPath, q: &BTreeMap<String, QuantityValue>) {
    for (k, v) in q {
        let kp = path.key(k);
        if !known_key(k) {
            let hint = match nearest(k, KNOWN_KEYS.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => "use a ResourceQuota resource name, e.g. `pods`, `requests.cpu` or `count/deployments.apps`".to_owned(),
            };
            out.push(
                Diagnostic::error(kp.clone(), format!("`{k}` is not a quota resource"))
                    .hint(hint)
                    .at_key(),
            );
        }
        quantity_value(out, &kp, v);
    }
}

fn quantity_value(out: &mut Vec<Diagnostic>, path: &FieldPath, v: &QuantityValue) -> Option<f64> {
    match quantity::parse(&v.text()) {
        Ok(x) if x < 0.0 => {
            out.push(Diagnostic::error(
                path.clone(),
                format!("`{path}` is negative"),
            ));
            None
        }
        Ok(x) => Some(x),
        Err(e) => {
            out.push(
                Diagnostic::error(path.clone(), format!("`{}` is not a Kubernetes quantity: {e}", v.text()))
                    .hint("write e.g. `500m` or `2` for CPU, `512Mi` or `2Gi` for memory, `50` for counts"),
            );
            None
        }
    }
}

fn container_limits(out: &mut Vec<Diagnostic>, path: &FieldPath, cl: &ContainerLimits) {
    let mut values: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for (field, map) in [
        ("min", &cl.min),
        ("defaultRequest", &cl.default_request),
        ("default", &cl.default),
        ("max", &cl.max),
    ] {
        for (res, v) in map {
            let rp = path.key(field).key(res);
            if !LIMIT_RESOURCES.contains(&res.as_str()) {
                out.push(
                    Diagnostic::error(rp.clone(), format!("`{res}` is not a container resource"))
                        .hint("use cpu, memory or ephemeral-storage")
                        .at_key(),
                );
            }
            if let Some(x) = quantity_value(out, &rp, v) {
                values.insert((field, res.as_str()), x);
            }
        }
    }
    // The API server rejects a LimitRange whose defaults fall outside min..max;
    // say which pair is out of order here instead.
    let order = ["min", "defaultRequest", "default", "max"];
    for res in LIMIT_RESOURCES {
        for (i, lo) in order.iter().enumerate() {
            for hi in &order[i + 1..] {
                if let (Some(a), Some(b)) = (values.get(&(*lo, *res)), values.get(&(*hi, *res)))
                    && a > b
                {
                    out.push(Diagnostic::error(
                        path.key(hi).key(res),
                        format!("`{hi}.{res}` is smaller than `{lo}.{res}`"),
                    ).hint(format!("container limits must satisfy min <= defaultRequest <= default <= max for {res}")));
                }
            }
        }
    }
}

fn quantities(map: &BTreeMap<String, QuantityValue>) -> Option<BTreeMap<String, Quantity>> {
    if map.is_empty() {
        None
    } else {
        Some(
            map.iter()
                .map(|(k, v)| (k.clone(), Quantity(v.text())))
                .collect(),
        )
    }
}

pub fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let mut out = Vec::new();
    for ns in &m.profile.namespaces {
        let q = effective_quota(m, ns);
        let mut metadata = inner_meta(m, ns, NAME);
        let lbs = crate::components::load_balancers_in(&m.profile, &ns.name);
        if !lbs.is_empty() {
            metadata.annotations.get_or_insert_with(Default::default).insert(
                crate::components::EXEMPTIONS.to_owned(),
                format!(
                    "services.loadbalancers and services.nodeports hold the LoadBalancer Service of {}",
                    lbs.join(", ")
                ),
            );
        }
        out.push(Manifest::k8s(&ResourceQuota {
            metadata,
            spec: Some(ResourceQuotaSpec {
                hard: quantities(&q),
                ..ResourceQuotaSpec::default()
            }),
            status: None,
        })?);
        if let Some(cl) = effective_limits(m, ns) {
            out.push(Manifest::k8s(&LimitRange {
                metadata: inner_meta(m, ns, NAME),
                spec: Some(LimitRangeSpec {
                    limits: vec![LimitRangeItem {
                        type_: "Container".to_owned(),
                        default: quantities(&cl.default),
                        default_request: quantities(&cl.default_request),
                        max: quantities(&cl.max),
                        min: quantities(&cl.min),
                        max_limit_request_ratio: None,
                    }],
                }),
            })?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::{errors, object, render};

    const LIMITS: &str = "  containerLimits:\n    defaultRequest: {cpu: 100m, memory: 128Mi}\n    default: {cpu: 500m, memory: 512Mi}\n    max: {cpu: \"2\", memory: 2Gi}\n";

    #[test]
    fn quota_merges_defaults_and_closes_load_balancers() {
        let objs = render(&format!(
            "defaults:\n  quota: {{pods: 10, requests.cpu: \"4\"}}\n{LIMITS}namespaces:\n  - name: a\n    quota: {{pods: 20}}\n"
        ));
        let q = object(&objs, "a/resourcequota-kharden-default.yaml");
        assert_eq!(
            q["spec"]["hard"],
            json!({"pods": "20", "requests.cpu": "4", "services.loadbalancers": "0", "services.nodeports": "0"})
        );
        let lr = object(&objs, "a/limitrange-kharden-default.yaml");
        assert_eq!(lr["spec"]["limits"][0]["type"], "Container");
        assert_eq!(
            lr["spec"]["limits"][0]["default"],
            json!({"cpu": "500m", "memory": "512Mi"})
        );
        assert_eq!(lr["spec"]["limits"][0]["defaultRequest"]["cpu"], "100m");
    }

    #[test]
    fn load_balancers_open_only_when_asked() {
        let objs = render("namespaces:\n  - name: a\n    quota: {services.loadbalancers: 2}\n");
        let q = object(&objs, "a/resourcequota-kharden-default.yaml");
        assert_eq!(q["spec"]["hard"]["services.loadbalancers"], "2");
        assert_eq!(q["spec"]["hard"]["services.nodeports"], "0");
    }

    #[test]
    fn compute_quota_without_limits_is_refused() {
        let e = errors("defaults:\n  quota: {limits.memory: 4Gi}\nnamespaces:\n  - name: a\n");
        assert!(
            e.contains("namespace `a` has a CPU or memory quota but no container limits"),
            "{e}"
        );
    }

    #[test]
    fn quantities_keys_and_order_are_checked() {
        let e = errors(
            "defaults:\n  quota: {pods: lots, servces.nodeports: 0}\n  containerLimits:\n    default: {cpu: \"4\"}\n    max: {cpu: \"2\", gpu: 1}\nnamespaces:\n  - name: a\n",
        );
        assert!(e.contains("`lots` is not a Kubernetes quantity"), "{e}");
        assert!(
            e.contains("`servces.nodeports` is not a quota resource"),
            "{e}"
        );
        assert!(e.contains("did you mean `services.nodeports`?"), "{e}");
        assert!(e.contains("`max.cpu` is smaller than `default.cpu`"), "{e}");
        assert!(e.contains("`gpu` is not a container resource"), "{e}");
    }
}
