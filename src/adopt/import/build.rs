//! Assembling the imported profile from a read dump: per namespace its
//! metadata, Pod Security level, access, service accounts, quota and limits;
//! cluster-wide the grants and registries; then the header and the text.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::read::{Dump, Obj};
use super::{
    ClusterOut, Error, IdentityOut, Imported, LimitsOut, Named, NsOut, Options, Out, PolicyOut,
    SYSTEM, access, comment_line, images, in_ns, merge, namespaces_of, own_annotation, own_label,
    pod_spec, quantities, registry_entry,
};
use crate::input::profile::{QuantityValue, ServiceAccountSpec};
use crate::k8s::names;

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn build(dump: Dump, opts: &Options) -> Result<Imported, Error> {
    let mut notes = dump.notes;
    let objs = dump.objects;
    if dump.secrets > 0 {
        notes.push(format!(
            "{} Secrets skipped: their data is never read; recreate them by your own means",
            dump.secrets
        ));
    }
    let all = namespaces_of(&objs);
    let mut imported = BTreeSet::new();
    for ns in &all {
        if SYSTEM.contains(&ns.as_str()) || ns == "default" {
            continue;
        }
        if names::dns_label(ns).is_err() {
            notes.push(format!("namespace `{ns}` is not a DNS label; not imported"));
            continue;
        }
        imported.insert(ns.clone());
    }
    let workloads: Vec<&Obj> = objs.iter().filter(|o| pod_spec(o).is_some()).collect();
    let with_pods = |ns: &str| workloads.iter().any(|o| o.namespace.as_deref() == Some(ns));
    if with_pods("default") {
        notes.push("workloads run in `default`, which a profile cannot hold: move them to a namespace of their own; their registries are admitted".to_owned());
    }
    let access = access::map(&objs, &imported, opts.platform);
    notes.extend(access.notes.iter().cloned());

    let mut namespaces = Vec::new();
    for ns in &imported {
        namespaces.push(namespace(&objs, ns, &access, &mut notes));
    }
    let (registries, exempt) = registries(&workloads);
    if namespaces.iter().any(|n| n.pod_security.is_none()) {
        notes.push("namespaces without a Pod Security `enforce` label get the profile default `restricted`; set `podSecurity` to keep what runs there admitted".to_owned());
    }
    if !registries.is_empty() {
        notes.push("the `policy` section also turns on kharden's default rules (`noNodePorts`, `requiredLimits: [cpu, memory]` where no LimitRange gives limits): run `kharden audit` to see what they would refuse".to_owned());
    }
    notes.push("not imported: NetworkPolicies (the profile denies traffic by default; write the flows under `network`), workloads and their Services, Ingresses, ConfigMaps".to_owned());
    notes.sort();
    notes.dedup();

    let identity = gke_identity(opts, &access, &mut notes)?;
    let out = Out {
        api_version: "kharden.dev/v1alpha1",
        kind: "ClusterProfile",
        metadata: Named {
            name: opts.name.clone(),
        },
        cluster: ClusterOut {
            name: opts.name.clone(),
            platform: crate::platform::of(opts.platform).name().to_owned(),
            kubernetes_version: opts.kubernetes_version.clone(),
        },
        identity,
        roles: access.roles,
        namespaces,
        cluster_access: access.cluster,
        policy: (!registries.is_empty()).then_some(PolicyOut {
            engine: "validating-admission-policy",
            allowed_registries: registries,
            exempt_namespaces: exempt,
        }),
    };
    let body = crate::bundle::manifest::to_yaml(&out).map_err(|e| Error::Write(e.to_string()))?;
    let mut text = String::from(
        "# Imported by `kharden import` from a cluster's objects: a starter, review it.\n",
    );
    if !access.grants.is_empty() {
        text.push_str("# Cluster-wide grants imported (each must be reviewed):\n");
        for g in &access.grants {
            text.push_str(&format!("#   - {}\n", comment_line(g)));
        }
    }
    text.push_str("# Not imported, or not expressed in a profile:\n");
    for n in &notes {
        text.push_str(&format!("#   - {}\n", comment_line(n)));
    }
    text.push_str(&body);
    Ok(Imported { text, notes })
}

/// On gke, group grants reach RBAC only through Google Groups for RBAC: its
/// umbrella group is `gke-security-groups@` the groups' own domain.
fn gke_identity(
    opts: &Options,
    access: &access::Access,
    notes: &mut Vec<String>,
) -> Result<Option<IdentityOut>, Error> {
    let groups: BTreeSet<&str> = access
        .entries
        .values()
        .flatten()
        .filter_map(|a| a.group.as_deref())
        .chain(access.cluster.iter().filter_map(|c| c.group.as_deref()))
        .collect();
    if !crate::platform::of(opts.platform).identity().google_groups || groups.is_empty() {
        return Ok(None);
    }
    let domains: BTreeSet<&str> = groups
        .iter()
        .map(|g| g.rsplit_once('@').map(|(_, d)| d).unwrap_or_default())
        .collect();
    match domains.iter().next() {
        Some(d) if domains.len() == 1 && d.contains('.') && names::dns_subdomain(d).is_ok() => {
            notes.push(format!("`identity.securityGroup` is derived from the groups' domain `{d}`: check it is the cluster's"));
            Ok(Some(IdentityOut {
                security_group: format!("gke-security-groups@{d}"),
            }))
        }
        _ => Err(Error::GkeGroups(
            groups.into_iter().collect::<Vec<_>>().join(", "),
        )),
    }
}

/// One imported namespace.
fn namespace(objs: &[Obj], ns: &str, access: &access::Access, notes: &mut Vec<String>) -> NsOut {
    let obj = objs.iter().find(|o| o.kind == "Namespace" && o.name == ns);
    let md = |k: &str| obj.and_then(|o| super::read::at(&o.value, &["metadata", k]));
    let mut labels = string_map(md("labels"));
    let pod_security = labels
        .get("pod-security.kubernetes.io/enforce")
        .and_then(|l| match l.as_str() {
            "privileged" | "baseline" | "restricted" => Some(l.clone()),
            other => {
                notes.push(format!(
                    "namespace `{ns}`: Pod Security level `{other}` is unknown; left to the default"
                ));
                None
            }
        });
    labels.retain(|k, v| {
        let keep =
            !own_label(k) && names::qualified_name(k).is_ok() && names::label_value(v).is_ok();
        if !keep && !own_label(k) {
            notes.push(format!(
                "namespace `{ns}`: label `{k}` is not valid; left out"
            ));
        }
        keep
    });
    let mut annotations = string_map(md("annotations"));
    annotations.retain(|k, _| !own_annotation(k) && names::qualified_name(k).is_ok());

    let mut sas: BTreeMap<String, ServiceAccountSpec> = BTreeMap::new();
    for sa in in_ns(objs, "ServiceAccount", ns) {
        // `default` is rendered with its token off unless bound to a role.
        if sa.name == "default" {
            continue;
        }
        let automount = sa
            .value
            .get("automountServiceAccountToken")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        sas.insert(
            sa.name.clone(),
            ServiceAccountSpec {
                name: sa.name.clone(),
                role: None,
                automount_token: automount,
            },
        );
    }
    for ((sns, sa), role) in &access.sa_roles {
        if sns == ns {
            sas.entry(sa.clone())
                .or_insert_with(|| ServiceAccountSpec {
                    name: sa.clone(),
                    role: None,
                    automount_token: sa != "default",
                })
                .role = Some(role.clone());
        }
    }

    let mut quota = BTreeMap::new();
    for q in in_ns(objs, "ResourceQuota", ns) {
        let spec = q.value.get("spec");
        if spec.is_some_and(|s| s.get("scopes").is_some() || s.get("scopeSelector").is_some()) {
            notes.push(format!(
                "ResourceQuota `{ns}/{}` has scopes, which a profile cannot express; left out",
                q.name
            ));
            continue;
        }
        // Every quota of a namespace applies: the smallest limit per resource decides.
        merge(
            &mut quota,
            quantities(spec.and_then(|s| s.get("hard"))),
            true,
        );
    }
    // A profile closes load balancers and node ports unless its quota opens them;
    // keep room for the Services of those types that exist.
    for (key, ty) in [
        ("services.loadbalancers", "LoadBalancer"),
        ("services.nodeports", "NodePort"),
    ] {
        let n = in_ns(objs, "Service", ns)
            .filter(|s| s.str_at(&["spec", "type"]) == Some(ty))
            .count();
        if n > 0 && !quota.contains_key(key) {
            quota.insert(key.to_owned(), QuantityValue::Int(n as i64));
        }
    }

    let mut limits = LimitsOut::default();
    for lr in in_ns(objs, "LimitRange", ns) {
        let list = super::read::at(&lr.value, &["spec", "limits"]).and_then(Value::as_array);
        for l in list.into_iter().flatten() {
            if l.get("type").and_then(Value::as_str) != Some("Container") {
                notes.push(format!(
                    "LimitRange `{ns}/{}`: limits of type {} are not expressed; left out",
                    lr.name,
                    l.get("type").and_then(Value::as_str).unwrap_or("?")
                ));
                continue;
            }
            if l.get("maxLimitRequestRatio").is_some() {
                notes.push(format!(
                    "LimitRange `{ns}/{}`: maxLimitRequestRatio is not expressed; left out",
                    lr.name
                ));
            }
            merge(&mut limits.max, quantities(l.get("max")), true);
            merge(&mut limits.min, quantities(l.get("min")), false);
            for (k, v) in quantities(l.get("default")) {
                limits.default.entry(k).or_insert(v);
            }
            for (k, v) in quantities(l.get("defaultRequest")) {
                limits.default_request.entry(k).or_insert(v);
            }
        }
    }
    let has_limits = !(limits.max.is_empty()
        && limits.min.is_empty()
        && limits.default.is_empty()
        && limits.default_request.is_empty());

    NsOut {
        name: ns.to_owned(),
        labels,
        annotations,
        pod_security,
        access: access.entries.get(ns).cloned().unwrap_or_default(),
        service_accounts: sas.into_values().collect(),
        quota,
        container_limits: has_limits.then_some(limits),
    }
}

/// The registries every pod outside Kubernetes' own namespaces pulls from, and
/// those of its namespaces that run pods (exempted instead).
fn registries(workloads: &[&Obj]) -> (Vec<String>, Vec<String>) {
    let mut entries = BTreeSet::new();
    let mut exempt = BTreeSet::new();
    for o in workloads {
        let ns = o.namespace.as_deref().unwrap_or("default");
        if SYSTEM.contains(&ns) {
            exempt.insert(ns.to_owned());
            continue;
        }
        if let Some(spec) = pod_spec(o) {
            entries.extend(images(spec).iter().map(|i| registry_entry(i)));
        }
    }
    (entries.into_iter().collect(), exempt.into_iter().collect())
}
