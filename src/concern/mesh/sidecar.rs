//! The injected proxy's requests and limits, sized to the LimitRanges of the
//! meshed namespaces: the LimitRange admission plugin checks every container
//! of a pod, the proxy included, so a proxy limit above a namespace's `max`
//! makes every meshed pod there unschedulable, and a generous one eats the
//! quota (Istio's chart default is 2 CPU and 1Gi per proxy).

use std::collections::BTreeMap;

use super::*;
use crate::input::profile::QuantityValue;
use crate::k8s::quantity::{Amount, Amounts};
use crate::pipeline::plan::proxy::Resources;
use crate::pipeline::plan::quota::{Limits, NamespaceQuota, Quotas};

/// What the proxy asks for unless the profile says otherwise: (resource,
/// as written, in base units).
const DEFAULT_REQUESTS: [(&str, &str, f64); 2] = [
    ("cpu", "100m", 0.1),
    ("memory", "128Mi", 128.0 * 1024.0 * 1024.0),
];
const DEFAULT_LIMITS: [(&str, &str, f64); 2] = [
    ("cpu", "500m", 0.5),
    ("memory", "256Mi", 256.0 * 1024.0 * 1024.0),
];

fn defaults(d: &[(&str, &str, f64)]) -> Amounts {
    d.iter()
        .map(|(k, text, value)| {
            (
                (*k).to_owned(),
                Amount {
                    text: (*text).to_owned(),
                    value: *value,
                },
            )
        })
        .collect()
}

/// The meshed namespaces that have a LimitRange, with its values.
fn meshed_limits<'a>(
    m: &'a Model,
    quotas: &'a Quotas,
) -> impl Iterator<Item = (&'a NamespaceSpec, &'a Limits)> {
    m.profile
        .namespaces
        .iter()
        .zip(&quotas.namespaces)
        .filter(|(ns, _)| meshed(m, ns))
        .filter_map(|(ns, q): (_, &NamespaceQuota)| Some((ns, q.limits.as_deref()?)))
}

/// The proxy's resources for this profile, as `validate` decided them.
pub(crate) fn resources(m: &Model) -> &Resources {
    &m.plan.mesh_sidecar
}

/// The defaults lowered to the smallest `max` of a meshed namespace's
/// LimitRange (and a request never above its limit).
fn sized(m: &Model, quotas: &Quotas) -> Resources {
    let mut limits = defaults(&DEFAULT_LIMITS);
    for (_, cl) in meshed_limits(m, quotas) {
        for (k, max) in &cl.max {
            if let Some(l) = limits.get_mut(k)
                && max.value < l.value
            {
                *l = max.clone();
            }
        }
    }
    let requests = defaults(&DEFAULT_REQUESTS)
        .into_iter()
        .map(|(k, r)| {
            let r = match limits.get(&k) {
                Some(l) if l.value < r.value => l.clone(),
                _ => r,
            };
            (k, r)
        })
        .collect();
    Resources { requests, limits }
}

/// `mesh.sidecarResources` parsed: every value that is a quantity (a
/// resource other than cpu and memory has its own diagnostic).
fn explicit(
    r: &BTreeMap<String, QuantityValue>,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) -> Amounts {
    let mut parsed = Amounts::new();
    for (k, v) in r {
        let amount = Amount::parse(v.text());
        if k != "cpu" && k != "memory" {
            out.push(
                Diagnostic::error(path.key(k), format!("`{k}` is not a proxy resource"))
                    .hint("use `cpu` and `memory`")
                    .at_key(),
            );
        } else if let Err(e) = &amount {
            out.push(Diagnostic::error(
                path.key(k),
                format!("`{}` is not a quantity: {e}", v.text()),
            ));
        }
        if let Ok(a) = amount {
            parsed.insert(k.clone(), a);
        }
    }
    parsed
}

/// Decides the proxy's resources into `plan.mesh_sidecar` (after the quota
/// concern has decided the LimitRanges), and checks `mesh.sidecarResources`:
/// what a meshed namespace's LimitRange would refuse (limit above `max`,
/// request below `min`), and a request above its limit, which the API
/// server refuses in every pod.
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    let Some(r) = m
        .profile
        .mesh
        .as_ref()
        .and_then(|x| x.sidecar_resources.as_ref())
    else {
        plan.mesh_sidecar = sized(m, &plan.quota);
        return;
    };
    let base = FieldPath::root().key("mesh").key("sidecarResources");
    let res = Resources {
        requests: explicit(&r.requests, &base.key("requests"), out),
        limits: explicit(&r.limits, &base.key("limits"), out),
    };
    for (k, req) in &res.requests {
        if let Some(lim) = res.limits.get(k)
            && req.value > lim.value
        {
            out.push(Diagnostic::error(
                base.key("requests").key(k),
                format!(
                    "the proxy requests {} {k}, more than its limit {}",
                    req.text, lim.text
                ),
            ));
        }
    }
    for (ns, cl) in meshed_limits(m, &plan.quota) {
        // The LimitRange refuses a container above its max or below its min.
        let bounds = [
            Bound {
                part: "limits",
                proxy: &res.limits,
                bound: &cl.max,
                outside: |p, b| p > b,
                what: "limit",
                side: "above",
                which: "max",
                effect: ": every meshed pod there would be refused",
                hint: (
                    "use at most",
                    " (or leave `sidecarResources` out: kharden sizes it)",
                ),
            },
            Bound {
                part: "requests",
                proxy: &res.requests,
                bound: &cl.min,
                outside: |p, b| p < b,
                what: "request",
                side: "below",
                which: "min",
                effect: "",
                hint: ("request at least", ""),
            },
        ];
        for b in bounds {
            for (k, limit) in b.bound {
                if let Some(p) = b.proxy.get(k)
                    && (b.outside)(p.value, limit.value)
                {
                    out.push(
                        Diagnostic::error(
                            base.key(b.part).key(k),
                            format!(
                                "a proxy {} of {} {k} is {} namespace `{}`'s LimitRange {} {}{}",
                                b.what, p.text, b.side, ns.name, b.which, limit.text, b.effect
                            ),
                        )
                        .hint(format!("{} {}{}", b.hint.0, limit.text, b.hint.1)),
                    );
                }
            }
        }
    }
    plan.mesh_sidecar = res;
}

/// One side of a LimitRange that the proxy's resources must stay within.
struct Bound<'a> {
    part: &'static str,
    proxy: &'a BTreeMap<String, Amount>,
    bound: &'a Amounts,
    outside: fn(f64, f64) -> bool,
    what: &'static str,
    side: &'static str,
    which: &'static str,
    effect: &'static str,
    hint: (&'static str, &'static str),
}

/// Lint: how many pods of default size (one app container with the
/// LimitRange defaults, plus the proxy) the namespace's compute quota holds,
/// when that is fewer than its `pods` quota.
pub(crate) fn quota_gaps(m: &Model) -> Vec<(usize, String)> {
    let res = resources(m);
    let mut out = Vec::new();
    let quotas = m.profile.namespaces.iter().zip(&m.plan.quota.namespaces);
    for (i, (ns, quota)) in quotas.enumerate() {
        if !meshed(m, ns) {
            continue;
        }
        let q = &quota.hard;
        let Some(pods) = q.get("pods").map(|h| h.amount.value) else {
            continue;
        };
        let app = quota.limits.as_deref();
        let per_pod = |part: &str, res_name: &str| -> f64 {
            let (app_q, proxy) = match part {
                "requests" => (app.map(|c| &c.default_request), &res.requests),
                _ => (app.map(|c| &c.default), &res.limits),
            };
            let a = app_q.and_then(|q| q.get(res_name)).map_or(0.0, |a| a.value);
            a + proxy.get(res_name).map_or(0.0, |x| x.value)
        };
        for key in [
            "requests.cpu",
            "requests.memory",
            "limits.cpu",
            "limits.memory",
            "cpu",
            "memory",
        ] {
            let Some(hard) = q.get(key).map(|h| h.amount.value) else {
                continue;
            };
            let (part, name) = key.split_once('.').unwrap_or(("requests", key));
            let each = per_pod(part, name);
            if each <= 0.0 {
                continue;
            }
            let fits = (hard / each).floor();
            if fits < pods {
                out.push((
                    i,
                    format!(
                        "namespace `{}`: quota `{key}` holds {fits} meshed pods of default size ({} per pod, the proxy's {} included), not the {pods} that `pods` allows",
                        ns.name,
                        fmt(each, name),
                        res_fmt(part, name, res),
                    ),
                ));
            }
        }
    }
    out
}

fn res_fmt(part: &str, name: &str, r: &Resources) -> String {
    let q = if part == "requests" {
        &r.requests
    } else {
        &r.limits
    };
    q.get(name)
        .map_or_else(|| "0".to_owned(), |a| a.text.clone())
}

fn fmt(v: f64, name: &str) -> String {
    if name == "memory" {
        format!("{}Mi", (v / (1024.0 * 1024.0)).round())
    } else {
        format!("{}m", (v * 1000.0).round())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{errors, object, render};

    const TIGHT: &str = "defaults:\n  containerLimits:\n    defaultRequest: {cpu: 100m, memory: 128Mi}\n    default: {cpu: 200m, memory: 256Mi}\n    max: {cpu: 300m, memory: 384Mi}\n";

    fn values(objs: &[(String, serde_json::Value)]) -> serde_json::Value {
        let cm = object(objs, "istio-system/configmap-kharden-istio-values.yaml");
        serde_saphyr::from_str(cm["data"]["values.yaml"].as_str().unwrap()).unwrap()
    }

    fn proxy(objs: &[(String, serde_json::Value)]) -> serde_json::Value {
        values(objs)["global"]["proxy"]["resources"].clone()
    }

    /// The istio-proxy container's seccomp profile as Istio's injection
    /// template builds it (istio/istio
    /// manifests/charts/istio-control/istio-discovery/files/injection-template.yaml):
    /// `{{- if .Values.global.proxy.seccompProfile }} seccompProfile:
    /// {{- toYaml .Values.global.proxy.seccompProfile }}` under the container's
    /// securityContext; the chart's default `{}` is false, so nothing is set.
    fn injected_proxy(values: &serde_json::Value) -> serde_json::Value {
        let mut sc = serde_json::json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true});
        let p = values
            .pointer("/global/proxy/seccompProfile")
            .cloned()
            .unwrap_or_default();
        if p.as_object().is_some_and(|m| !m.is_empty()) {
            sc["seccompProfile"] = p;
        }
        serde_json::json!({"name": "istio-proxy", "securityContext": sc})
    }

    /// Pod Security `restricted`, seccomp: a profile set at pod or container
    /// level must be `RuntimeDefault` or `Localhost`, and a container without
    /// one needs the pod's.
    fn restricted_seccomp_admits(pod: &serde_json::Value) -> bool {
        let set = |v: &serde_json::Value| !v["seccompProfile"].is_null();
        let allowed = |v: &serde_json::Value| {
            matches!(
                v["seccompProfile"]["type"].as_str(),
                Some("RuntimeDefault" | "Localhost")
            )
        };
        let pod_sc = &pod["securityContext"];
        if set(pod_sc) && !allowed(pod_sc) {
            return false;
        }
        ["initContainers", "containers"]
            .iter()
            .flat_map(|k| pod[*k].as_array().cloned().unwrap_or_default())
            .all(|c| {
                let sc = &c["securityContext"];
                if set(sc) { allowed(sc) } else { set(pod_sc) }
            })
    }

    #[test]
    fn an_injected_istio_proxy_keeps_a_restricted_pod_admissible() {
        // #30 item 10: a pod that sets seccomp per container only.
        let app = serde_json::json!({"name": "app", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}});
        let pod =
            |containers: Vec<serde_json::Value>| serde_json::json!({"containers": containers});
        assert!(restricted_seccomp_admits(&pod(vec![app.clone()])));
        let objs = render("mesh: {provider: istio}\nnamespaces:\n  - name: a\n");
        let v = values(&objs);
        assert!(
            restricted_seccomp_admits(&pod(vec![app.clone(), injected_proxy(&v)])),
            "{v}"
        );
        // What the chart does without the value: the pod is refused.
        assert!(!restricted_seccomp_admits(&pod(vec![
            app,
            injected_proxy(&serde_json::json!({"global": {"proxy": {"seccompProfile": {}}}}))
        ])));
        // Istio's Gateway API deployments (kube-gateway.yaml) read their own value.
        assert_eq!(
            v["gateways"]["seccompProfile"],
            serde_json::json!({"type": "RuntimeDefault"})
        );
    }

    /// What the LimitRanger admission plugin does with one container: refuse
    /// a limit above `max` or a request below `min`.
    fn limit_range_admits(
        lr: &serde_json::Value,
        requests: &serde_json::Value,
        limits: &serde_json::Value,
    ) -> bool {
        let l = &lr["spec"]["limits"][0];
        let q = |v: &serde_json::Value| crate::k8s::quantity::parse(v.as_str().unwrap()).unwrap();
        ["cpu", "memory"].iter().all(|k| {
            let max_ok = l["max"].get(*k).is_none_or(|mx| q(&limits[*k]) <= q(mx));
            let min_ok = l["min"].get(*k).is_none_or(|mn| q(&requests[*k]) >= q(mn));
            max_ok && min_ok
        })
    }

    #[test]
    fn the_proxy_fits_every_meshed_limit_range() {
        let objs = render(&format!(
            "mesh: {{provider: istio}}\n{TIGHT}namespaces:\n  - name: a\n"
        ));
        let p = proxy(&objs);
        let lr = object(&objs, "a/limitrange-kharden-default.yaml");
        assert!(limit_range_admits(&lr, &p["requests"], &p["limits"]), "{p}");
        // Istio's chart default would be refused by that LimitRange.
        assert!(!limit_range_admits(
            &lr,
            &serde_json::json!({"cpu": "100m", "memory": "128Mi"}),
            &serde_json::json!({"cpu": "2000m", "memory": "1024Mi"})
        ));
        assert_eq!(p["limits"]["cpu"], "300m");
        // Linkerd gets the same values on each meshed namespace.
        let objs = render(&format!(
            "mesh: {{provider: linkerd}}\n{TIGHT}namespaces:\n  - name: a\n"
        ));
        let ns = object(&objs, "_cluster/namespace-a.yaml");
        let a = &ns["metadata"]["annotations"];
        assert_eq!(a["config.linkerd.io/proxy-cpu-limit"], "300m");
        assert_eq!(a["config.linkerd.io/proxy-memory-limit"], "256Mi");
        assert_eq!(a["config.linkerd.io/proxy-cpu-request"], "100m");
    }

    #[test]
    fn explicit_proxy_resources_a_limit_range_refuses_are_an_error() {
        let e = errors(&format!(
            "mesh:\n  provider: istio\n  sidecarResources: {{requests: {{cpu: 10m}}, limits: {{cpu: \"2\", memory: 1Gi}}}}\n{TIGHT}namespaces:\n  - name: a\n"
        ));
        assert!(e.contains("mesh.sidecarResources.limits.cpu"), "{e}");
        assert!(
            e.contains("above namespace `a`'s LimitRange max 300m"),
            "{e}"
        );
        assert!(
            e.contains("above namespace `a`'s LimitRange max 384Mi"),
            "{e}"
        );
    }

    #[test]
    fn the_built_in_sizes_are_the_quantities_they_spell() {
        for (_, text, value) in super::DEFAULT_REQUESTS.iter().chain(&super::DEFAULT_LIMITS) {
            assert_eq!(crate::k8s::quantity::parse(text).unwrap(), *value, "{text}");
        }
    }

    #[test]
    fn linkerd_annotations_carry_the_decided_proxy_resources() {
        let mut m = crate::testing::model(&format!(
            "mesh: {{provider: linkerd}}\n{TIGHT}namespaces:\n  - name: a\n"
        ));
        assert_eq!(m.plan.mesh_sidecar.limits["cpu"].text, "300m");
        m.plan.mesh_sidecar.limits.insert(
            "cpu".to_owned(),
            crate::k8s::quantity::Amount::parse("123m".to_owned()).unwrap(),
        );
        let meta = crate::concern::mesh::namespace_meta(&m, &m.profile.namespaces[0]);
        assert_eq!(
            meta.annotations["config.linkerd.io/proxy-cpu-limit"],
            "123m"
        );
    }

    #[test]
    fn a_quota_that_cannot_hold_its_meshed_pods_is_linted() {
        let text = format!(
            "{}mesh: {{provider: istio}}\n{TIGHT}  quota: {{pods: 20, limits.cpu: \"2\"}}\nnamespaces:\n  - name: a\n",
            crate::testing::HEAD
        );
        let m = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
        let gaps = super::quota_gaps(&m);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        // 2 CPU / (200m app + 300m proxy) = 4 pods.
        assert!(
            gaps[0].1.contains("quota `limits.cpu` holds 4 meshed pods"),
            "{gaps:?}"
        );
        let findings = crate::pipeline::lint::run(&m);
        assert!(
            findings.iter().any(|f| f.rule.id == "KH015"),
            "lint rule not wired"
        );
    }
}
