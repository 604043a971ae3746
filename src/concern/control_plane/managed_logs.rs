//! Control-plane and audit logs on managed platforms, where the provider runs
//! the control plane and keeps its logs: `logging.sources` `controlPlane` and
//! `audit` become the provider's own export (EKS CloudWatch `clusterLogging`,
//! an AKS diagnostic setting, GKE `loggingConfig.componentConfig`), and notes
//! say how each reaches Elasticsearch. The node collector ships the rest. Each
//! platform's file says which export it writes and its note (`Target`).

use serde_json::{Value, json};

use crate::bundle::manifest::{Manifest, RenderError};
use crate::input::profile::LogSource;
use crate::pipeline::model::Model;

/// The control-plane sources `logging` asks the provider to export.
fn asked(m: &Model) -> (bool, bool) {
    let Some(l) = &m.profile.logging else {
        return (false, false);
    };
    let audit = l.sources.contains(&LogSource::Audit) && m.profile.api_server.audit.enabled;
    (l.sources.contains(&LogSource::ControlPlane), audit)
}

/// GKE: the components Cloud Logging collects, when the profile asks for
/// control-plane logs. (Kubernetes audit events go to Cloud Audit Logs, which
/// GKE always writes for admin activity.)
pub(super) fn gke_logging_config(m: &Model) -> Option<Value> {
    let (cp, _) = asked(m);
    let l = m.profile.logging.as_ref()?;
    if !cp {
        return None;
    }
    let mut components = vec!["SYSTEM_COMPONENTS"];
    if l.sources.contains(&LogSource::Pods) {
        components.push("WORKLOADS");
    }
    components.extend(["APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"]);
    Some(json!({"componentConfig": {"enableComponents": components}}))
}

/// AKS: the diagnostic setting that sends the control-plane categories to a
/// Log Analytics workspace, as an ARM template (the workspace is a parameter:
/// it lives outside the profile).
pub(super) fn aks_diagnostic_setting(
    m: &Model,
    cp: bool,
    audit: bool,
) -> Result<Manifest, RenderError> {
    Manifest::control_plane(
        "aks",
        "diagnostic-setting.yaml",
        "DiagnosticSetting",
        &[
            "ARM template (as YAML): a diagnostic setting on the managed cluster sending its control-plane".to_owned(),
            "log categories to Log Analytics. Deploy with `az deployment group create --template-file`".to_owned(),
            "(converted to JSON) `--parameters workspaceId=<workspace resource ID>`.".to_owned(),
        ],
        &diagnostic_setting_template(m, cp, audit),
    )
}

fn diagnostic_setting_template(m: &Model, cp: bool, audit: bool) -> Value {
    let mut categories = Vec::new();
    if cp {
        categories.extend([
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ]);
    }
    if audit {
        categories.push("kube-audit");
    }
    let logs: Vec<Value> = categories
        .iter()
        .map(|c| json!({"category": c, "enabled": true}))
        .collect();
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "clusterName": {"type": "string", "defaultValue": m.profile.cluster.name},
            "workspaceId": {
                "type": "string",
                "metadata": {"description": "Resource ID of the Log Analytics workspace"},
            },
        },
        "resources": [{
            "type": "Microsoft.Insights/diagnosticSettings",
            "apiVersion": "2021-05-01-preview",
            "name": "kharden-control-plane-logs",
            "scope": "[format('Microsoft.ContainerService/managedClusters/{0}', parameters('clusterName'))]",
            "properties": {
                "workspaceId": "[parameters('workspaceId')]",
                "logs": logs,
            },
        }],
    })
}

/// The platform's own export of the logs `logging` asks for, beyond its
/// cluster settings (the AKS diagnostic setting).
pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let (cp, audit) = asked(m);
    if !(cp || audit) {
        return Ok(Vec::new());
    }
    super::target(m).log_export(m, cp, audit)
}

/// One line per platform on where the exported logs are and how they reach
/// Elasticsearch, when `logging` asks for control-plane or audit logs.
pub(crate) fn notes(m: &Model) -> Vec<String> {
    let (cp, audit) = asked(m);
    if !(cp || audit) {
        return Vec::new();
    }
    super::target(m)
        .log_note()
        .map(str::to_owned)
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::{HEAD, object};

    const LOGGING: &str = "logging:\n  sources: [pods, controlPlane, audit]\n  elasticsearch: {host: es.example, indexPrefix: k8s, credentialsSecret: es}\n";

    fn on(platform: &str) -> (crate::Model, Vec<(String, serde_json::Value)>) {
        let text = format!("{}{LOGGING}", HEAD.replace("kubeadm", platform));
        let m = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
        let r = crate::render(&m).unwrap();
        let objs = r
            .set
            .iter()
            .map(|f| {
                (
                    f.path().to_owned(),
                    serde_saphyr::from_str(f.body()).unwrap(),
                )
            })
            .collect();
        (m, objs)
    }

    #[test]
    fn one_profile_moves_between_platforms() {
        let (m, objs) = on("aks");
        let d = object(&objs, "control-plane/aks/diagnostic-setting.yaml");
        let r = &d["resources"][0];
        assert_eq!(r["type"], "Microsoft.Insights/diagnosticSettings");
        let cats: Vec<&str> = r["properties"]["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["category"].as_str().unwrap())
            .collect();
        assert_eq!(
            cats,
            [
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
                "kube-audit"
            ]
        );
        assert!(
            crate::concern::notes(&m)
                .iter()
                .any(|n| n.contains("Log Analytics"))
        );

        let (_, objs) = on("gke");
        let c = object(&objs, "control-plane/gke/cluster.yaml");
        assert_eq!(
            c["loggingConfig"]["componentConfig"]["enableComponents"],
            json!([
                "SYSTEM_COMPONENTS",
                "WORKLOADS",
                "APISERVER",
                "SCHEDULER",
                "CONTROLLER_MANAGER"
            ])
        );

        let (_, objs) = on("eks");
        let c = object(&objs, "control-plane/eks/clusterconfig.yaml");
        let types = c["cloudWatch"]["clusterLogging"]["enableTypes"]
            .as_array()
            .unwrap();
        assert!(types.contains(&json!("audit")) && types.contains(&json!("api")));

        // The node collector never mounts a control-plane path the node lacks.
        for p in ["aks", "gke", "eks"] {
            let (_, objs) = on(p);
            let ds = object(&objs, "logging/daemonset-fluentd.yaml");
            let text = ds.to_string();
            assert!(!text.contains("/var/log/kubernetes/audit"), "{p}");
            assert!(!text.contains("/var/log/journal"), "{p}");
        }
    }
}
