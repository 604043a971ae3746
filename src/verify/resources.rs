//! The API server's built-in resource admission, as `verify` evaluates it:
//! LimitRanger (container defaults, then `max`) and ResourceQuota (the
//! request's containers against the namespace's `hard` limits).

use serde_json::{Value, json};

use super::admission::{Denial, Request, name_of, str_of};
use crate::k8s::quantity;

/// The pod spec inside a Pod or a workload template.
fn pod_spec_mut(o: &mut Value) -> Option<&mut Value> {
    let kind = str_of(o, "kind").to_owned();
    let ptr = match kind.as_str() {
        "Pod" => "/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => "/spec/template/spec",
        _ => return None,
    };
    o.pointer_mut(ptr)
}

const CONTAINER_LISTS: [&str; 2] = ["containers", "initContainers"];

/// Apply the namespace's LimitRange defaults to the object's containers (what
/// the LimitRanger admission plugin does for pods), then refuse any container
/// over `max`. Returns the denials and a note per default applied.
pub fn limit_ranges(objs: &[Value], r: &mut Request) -> (Vec<Denial>, Vec<String>) {
    let mut denials = Vec::new();
    let mut notes = Vec::new();
    let ranges: Vec<&Value> = objs
        .iter()
        .filter(|o| {
            str_of(o, "kind") == "LimitRange"
                && o.pointer("/metadata/namespace").and_then(Value::as_str)
                    == Some(r.namespace.as_str())
        })
        .collect();
    let Some(spec) = pod_spec_mut(&mut r.object) else {
        return (denials, notes);
    };
    for lr in ranges {
        let lname = name_of(lr);
        for limit in lr["spec"]["limits"].as_array().into_iter().flatten() {
            if str_of(limit, "type") != "Container" {
                continue;
            }
            for list in CONTAINER_LISTS {
                for c in spec
                    .get_mut(list)
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    let cname = str_of(c, "name").to_owned();
                    for (field, default) in [("limits", "default"), ("requests", "defaultRequest")]
                    {
                        for (res, q) in limit
                            .get(default)
                            .and_then(Value::as_object)
                            .into_iter()
                            .flatten()
                        {
                            let res_map = &mut c["resources"][field];
                            if res_map.is_null() {
                                *res_map = json!({});
                            }
                            if res_map.get(res).is_none() {
                                res_map[res.as_str()] = q.clone();
                                notes.push(format!(
                                    "LimitRange/{lname} set {field}.{res} of `{cname}` to {}",
                                    q.as_str().unwrap_or_default()
                                ));
                            }
                        }
                    }
                    // A request without a limit defaults to the limit, not the other way.
                    for (res, q) in limit
                        .get("max")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        let max = q.as_str().and_then(|q| quantity::parse(q).ok());
                        for field in ["limits", "requests"] {
                            let have = c["resources"][field][res.as_str()]
                                .as_str()
                                .and_then(|q| quantity::parse(q).ok());
                            if let (Some(h), Some(m)) = (have, max)
                                && h > m
                            {
                                denials.push(Denial::new(
                                    "LimitRange",
                                    lname,
                                    format!(
                                        "maximum {res} usage per Container is {}, but {field}.{res} of `{cname}` is {}",
                                        q.as_str().unwrap_or_default(),
                                        c["resources"][field][res.as_str()].as_str().unwrap_or_default()
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    (denials, notes)
}

/// Admit the object against the namespace's ResourceQuotas with nothing else
/// in use: a single object that alone exceeds a `hard` value is refused.
pub fn quotas(objs: &[Value], r: &Request) -> Vec<Denial> {
    let mut usage: Vec<(String, f64)> = Vec::new();
    match r.kind.as_str() {
        "Pod" => {
            usage.push(("pods".to_owned(), 1.0));
            let spec = &r.object["spec"];
            for (key, field) in [
                ("requests.cpu", ("requests", "cpu")),
                ("requests.memory", ("requests", "memory")),
                ("limits.cpu", ("limits", "cpu")),
                ("limits.memory", ("limits", "memory")),
            ] {
                let total: f64 = spec["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| {
                        c["resources"][field.0][field.1]
                            .as_str()
                            .and_then(|q| quantity::parse(q).ok())
                    })
                    .sum();
                usage.push((key.to_owned(), total));
            }
        }
        "Service" => {
            usage.push(("services".to_owned(), 1.0));
            match str_of(&r.object["spec"], "type") {
                "LoadBalancer" => {
                    usage.push(("services.loadbalancers".to_owned(), 1.0));
                    usage.push(("services.nodeports".to_owned(), 1.0));
                }
                "NodePort" => usage.push(("services.nodeports".to_owned(), 1.0)),
                _ => {}
            }
        }
        "ConfigMap" => usage.push(("configmaps".to_owned(), 1.0)),
        "Secret" => usage.push(("secrets".to_owned(), 1.0)),
        "PersistentVolumeClaim" => usage.push(("persistentvolumeclaims".to_owned(), 1.0)),
        _ => {}
    }
    let mut out = Vec::new();
    for q in objs.iter().filter(|o| {
        str_of(o, "kind") == "ResourceQuota"
            && o.pointer("/metadata/namespace").and_then(Value::as_str)
                == Some(r.namespace.as_str())
    }) {
        for (key, used) in &usage {
            let hard = q["spec"]["hard"][key.as_str()]
                .as_str()
                .and_then(|q| quantity::parse(q).ok());
            if let Some(h) = hard
                && *used > h
            {
                out.push(Denial::new(
                    "ResourceQuota",
                    name_of(q),
                    format!(
                        "exceeded quota: {key}, limited to {}",
                        q["spec"]["hard"][key.as_str()].as_str().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    out
}
