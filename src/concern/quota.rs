//! ResourceQuota and LimitRange: `defaults.quota` merged key by key with each
//! namespace's `quota` (load balancers and node ports at 0 unless set), and a
//! LimitRange from `containerLimits` wherever the quota constrains CPU or memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::bundle::manifest::{Manifest, RenderError};
use crate::concern::metadata::inner_meta;
use crate::input::diag::{Diagnostic, nearest};
use crate::input::profile::{ContainerLimits, NamespaceSpec, QuantityValue};
use crate::input::source::FieldPath;
use crate::k8s::quantity::{Amount, Amounts};
use crate::pipeline::model::Model;
use crate::pipeline::plan::Plan;
use crate::pipeline::plan::quota::{Hard, HardValues, Limits, NamespaceQuota, Origin, Quotas};

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

/// The resources a compute quota names; each needs a default limit.
const COMPUTE_KEYS: &[&str] = &[
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

/// The quota every namespace starts from (the seed's minimum): no load
/// balancers or node ports unless a profile opens them.
const CLOSED: [&str; 2] = ["services.loadbalancers", "services.nodeports"];

/// Checks `defaults.quota`, `defaults.containerLimits` and each namespace's,
/// and decides each namespace's quota and LimitRange into `plan.quota`
/// (a value that does not parse has its diagnostic and is left out).
pub(crate) fn validate(m: &Model, plan: &mut Plan, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    let d = FieldPath::root().key("defaults");
    let mut base: HardValues = CLOSED
        .iter()
        .map(|k| ((*k).to_owned(), hard(Amount::count(0), Origin::Kharden)))
        .collect();
    base.extend(from(
        quota_map(out, &d.key("quota"), &p.defaults.quota),
        Origin::Defaults,
    ));
    base.shrink();
    let base = Arc::new(base);
    let default_limits = p
        .defaults
        .container_limits
        .as_ref()
        .map(|cl| Arc::new(container_limits(out, &d.key("containerLimits"), cl)));
    let mut namespaces = Vec::with_capacity(p.namespaces.len());
    for (i, ns) in p.namespaces.iter().enumerate() {
        let path = FieldPath::root().key("namespaces").index(i);
        let own = quota_map(out, &path.key("quota"), &ns.quota);
        let limits = match &ns.container_limits {
            Some(cl) => Some(Arc::new(container_limits(
                out,
                &path.key("containerLimits"),
                cl,
            ))),
            None => default_limits.clone(),
        };
        let load_balancers = crate::components::load_balancers_in(p, &ns.name);
        let hard = if own.is_empty() && load_balancers.is_empty() {
            base.clone()
        } else {
            let mut q = (*base).clone();
            make_room(&mut q, &p.defaults.quota, load_balancers.len() as i64);
            q.extend(from(own, Origin::Namespace));
            q.shrink();
            Arc::new(q)
        };
        compute_needs_limits(m, ns, &path, out);
        namespaces.push(NamespaceQuota {
            hard,
            load_balancers,
            limits,
        });
    }
    plan.quota = Quotas { namespaces };
}

/// A platform component's LoadBalancer Service in a profile namespace (#29):
/// the defaults' zero would refuse it. A LoadBalancer also takes a node port
/// per service port (`allocateLoadBalancerNodePorts` defaults to true): two
/// for HTTP and HTTPS. A count the defaults set higher stays (the
/// namespace's own quota, merged after this, wins anyway).
fn make_room(q: &mut HardValues, defaults: &BTreeMap<String, QuantityValue>, lbs: i64) {
    if lbs == 0 {
        return;
    }
    for (key, n) in [(CLOSED[0], lbs), (CLOSED[1], 2 * lbs)] {
        let at_least = match defaults.get(key) {
            Some(QuantityValue::Int(i)) => (*i).max(n),
            _ => n,
        };
        q.insert(
            key.to_owned(),
            hard(Amount::count(at_least), Origin::Kharden),
        );
    }
}

fn hard(amount: Amount, origin: Origin) -> Hard {
    Hard { amount, origin }
}

fn from(amounts: Amounts, origin: Origin) -> impl Iterator<Item = (String, Hard)> {
    amounts.into_iter().map(move |(k, a)| (k, hard(a, origin)))
}

/// A CPU or memory quota refuses every pod without requests and limits, so
/// the namespace's container limits must give them. Decided on the keys the
/// profile writes, whether or not their values parse (those have their own
/// diagnostics).
fn compute_needs_limits(
    m: &Model,
    ns: &NamespaceSpec,
    base: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    let quota = |k: &str| ns.quota.contains_key(k) || m.profile.defaults.quota.contains_key(k);
    if !COMPUTE_KEYS.iter().any(|k| quota(k)) {
        return;
    }
    let needs = |res: &str| {
        quota(&format!("limits.{res}")) || quota(&format!("requests.{res}")) || quota(res)
    };
    let limits = ns
        .container_limits
        .as_ref()
        .or(m.profile.defaults.container_limits.as_ref());
    match limits {
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

/// Checks one quota map; its values that parse.
fn quota_map(
    out: &mut Vec<Diagnostic>,
    path: &FieldPath,
    q: &BTreeMap<String, QuantityValue>,
) -> Amounts {
    let mut amounts = Amounts::new();
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
        if let Some(a) = quantity_value(out, &kp, v) {
            amounts.insert(k.clone(), a);
        }
    }
    amounts
}

fn quantity_value(
    out: &mut Vec<Diagnostic>,
    path: &FieldPath,
    v: &QuantityValue,
) -> Option<Amount> {
    match Amount::parse(v.text()) {
        Ok(a) if a.value < 0.0 => {
            out.push(Diagnostic::error(
                path.clone(),
                format!("`{path}` is negative"),
            ));
            None
        }
        Ok(a) => Some(a),
        Err(e) => {
            out.push(
                Diagnostic::error(path.clone(), format!("`{}` is not a Kubernetes quantity: {e}", v.text()))
                    .hint("write e.g. `500m` or `2` for CPU, `512Mi` or `2Gi` for memory, `50` for counts"),
            );
            None
        }
    }
}

/// Checks one `containerLimits`; its values that parse.
fn container_limits(out: &mut Vec<Diagnostic>, path: &FieldPath, cl: &ContainerLimits) -> Limits {
    let mut limits = Limits::default();
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
            if let Some(a) = quantity_value(out, &rp, v) {
                limits.field_mut(field).insert(res.clone(), a);
            }
        }
    }
    // The API server rejects a LimitRange whose defaults fall outside min..max;
    // say which pair is out of order here instead.
    let order = ["min", "defaultRequest", "default", "max"];
    for res in LIMIT_RESOURCES {
        for (i, lo) in order.iter().enumerate() {
            for hi in &order[i + 1..] {
                if let (Some(a), Some(b)) = (limits.field(lo).get(*res), limits.field(hi).get(*res))
                    && a.value > b.value
                {
                    out.push(Diagnostic::error(
                        path.key(hi).key(res),
                        format!("`{hi}.{res}` is smaller than `{lo}.{res}`"),
                    ).hint(format!("container limits must satisfy min <= defaultRequest <= default <= max for {res}")));
                }
            }
        }
    }
    limits
}

/// A LimitRange field by its profile name.
trait ByField {
    fn field(&self, name: &str) -> &Amounts;
    fn field_mut(&mut self, name: &str) -> &mut Amounts;
}

impl ByField for Limits {
    fn field(&self, name: &str) -> &Amounts {
        match name {
            "min" => &self.min,
            "defaultRequest" => &self.default_request,
            "default" => &self.default,
            _ => &self.max,
        }
    }
    fn field_mut(&mut self, name: &str) -> &mut Amounts {
        match name {
            "min" => &mut self.min,
            "defaultRequest" => &mut self.default_request,
            "default" => &mut self.default,
            _ => &mut self.max,
        }
    }
}

fn quantities<'a>(
    map: impl ExactSizeIterator<Item = (&'a String, &'a Amount)>,
) -> Option<BTreeMap<String, Quantity>> {
    if map.len() == 0 {
        None
    } else {
        Some(
            map.map(|(k, a)| (k.clone(), Quantity(a.text.clone())))
                .collect(),
        )
    }
}

/// The ResourceQuota and LimitRange of each namespace, from `plan.quota`.
pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let mut out = Vec::new();
    for (ns, q) in m.profile.namespaces.iter().zip(&m.plan.quota.namespaces) {
        let mut metadata = inner_meta(m, ns, NAME);
        if !q.load_balancers.is_empty() {
            metadata.annotations.get_or_insert_with(Default::default).insert(
                crate::components::EXEMPTIONS.to_owned(),
                format!(
                    "services.loadbalancers and services.nodeports hold the LoadBalancer Service of {}",
                    q.load_balancers.join(", ")
                ),
            );
        }
        out.push(Manifest::k8s(&ResourceQuota {
            metadata,
            spec: Some(ResourceQuotaSpec {
                hard: quantities(q.hard.iter().map(|(k, h)| (k, &h.amount))),
                ..ResourceQuotaSpec::default()
            }),
            status: None,
        })?);
        if let Some(cl) = &q.limits {
            out.push(Manifest::k8s(&LimitRange {
                metadata: inner_meta(m, ns, NAME),
                spec: Some(LimitRangeSpec {
                    limits: vec![LimitRangeItem {
                        type_: "Container".to_owned(),
                        default: quantities(cl.default.iter()),
                        default_request: quantities(cl.default_request.iter()),
                        max: quantities(cl.max.iter()),
                        min: quantities(cl.min.iter()),
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

    /// The objects of `m` rendered by this concern, read back by path.
    fn rendered(m: &crate::Model) -> Vec<(String, serde_json::Value)> {
        super::render(m)
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o.path().to_owned(),
                    serde_saphyr::from_str(o.body()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn the_plan_keeps_each_value_parsed_with_its_origin() {
        use crate::pipeline::plan::quota::Origin;
        let m = crate::testing::model(&format!(
            "defaults:\n  quota: {{pods: 10, requests.cpu: \"4\"}}\n{LIMITS}namespaces:\n  - name: a\n    quota: {{pods: 20}}\n  - name: b\n  - name: c\n"
        ));
        let [a, b, c] = &m.plan.quota.namespaces[..] else {
            panic!("one plan entry per namespace")
        };
        assert_eq!(a.hard.get("pods").unwrap().amount.value, 20.0);
        assert_eq!(a.hard.get("pods").unwrap().origin, Origin::Namespace);
        assert_eq!(a.hard.get("requests.cpu").unwrap().amount.value, 4.0);
        assert_eq!(a.hard.get("requests.cpu").unwrap().origin, Origin::Defaults);
        assert_eq!(
            b.hard.get("services.nodeports").unwrap().origin,
            Origin::Kharden
        );
        // Diagnostics point where the user changes the value.
        assert_eq!(a.path(0, "pods").to_string(), "namespaces[0].quota.pods");
        assert_eq!(b.path(1, "pods").to_string(), "defaults.quota.pods");
        // Namespaces that add nothing share the defaults' parsed map and LimitRange.
        assert!(std::sync::Arc::ptr_eq(&b.hard, &c.hard));
        assert!(!std::sync::Arc::ptr_eq(&a.hard, &b.hard));
        let (Some(la), Some(lb)) = (&a.limits, &b.limits) else {
            panic!("the defaults' container limits apply")
        };
        assert!(std::sync::Arc::ptr_eq(la, lb));
        assert_eq!(la.max["memory"].value, 2.0 * 1024.0 * 1024.0 * 1024.0);
    }

    #[test]
    fn render_writes_the_decided_quota() {
        use crate::pipeline::plan::quota::{Hard, Origin};
        let mut m = crate::testing::model("namespaces:\n  - name: a\n");
        let q = &mut m.plan.quota.namespaces[0];
        let mut hard = (*q.hard).clone();
        hard.insert(
            "pods".to_owned(),
            Hard {
                amount: crate::k8s::quantity::Amount::count(7),
                origin: Origin::Namespace,
            },
        );
        q.hard = std::sync::Arc::new(hard);
        let objs = rendered(&m);
        let q = object(&objs, "a/resourcequota-kharden-default.yaml");
        assert_eq!(q["spec"]["hard"]["pods"], "7", "{q}");
    }

    #[test]
    fn a_value_that_does_not_parse_is_reported_and_left_out_of_the_plan() {
        let mut m = crate::testing::model(
            "defaults:\n  quota: {pods: 10, secrets: 5}\nnamespaces:\n  - name: a\n",
        );
        m.profile.defaults.quota.insert(
            "pods".to_owned(),
            crate::input::profile::QuantityValue::Text("lots".to_owned()),
        );
        let mut plan = crate::pipeline::plan::Plan::default();
        let mut out = Vec::new();
        super::validate(&m, &mut plan, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(format!("{out:?}").contains("`lots` is not a Kubernetes quantity"));
        let hard = &plan.quota.namespaces[0].hard;
        assert!(!hard.contains_key("pods"), "{hard:?}");
        assert_eq!(hard.get("secrets").unwrap().amount.value, 5.0);
    }
}
