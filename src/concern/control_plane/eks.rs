//! EKS: the eksctl ClusterConfig fragment (endpoint access, OIDC identity
//! provider, control-plane logging to CloudWatch).

use super::*;
use crate::bundle::manifest::RenderError;

pub(super) struct Eks;

impl Target for Eks {
    fn render(&self, m: &Model) -> Result<Vec<Manifest>, RenderError> {
        Ok(vec![render_eks(m)?])
    }
    fn warnings(&self, m: &Model) -> Vec<String> {
        managed_warnings(
            m,
            "eks (identity as eksctl `identityProviders`)",
            true,
            BETA_API_BY_PROVIDER,
        )
    }
    fn log_export(&self, _: &Model, _: bool, _: bool) -> Result<Vec<Manifest>, RenderError> {
        // clusterconfig.yaml's `cloudWatch.clusterLogging` exports them.
        Ok(Vec::new())
    }
    fn log_note(&self) -> Option<&'static str> {
        Some(
            "note: on eks the control-plane and audit logs go to CloudWatch Logs (clusterconfig.yaml `cloudWatch.clusterLogging`); to reach Elasticsearch, subscribe the log group /aws/eks/<cluster>/cluster with a Firehose stream or Elastic's AWS integration",
        )
    }
}

/// The smallest CloudWatch retention (days) that keeps at least `days`.
pub(super) fn cloudwatch_retention(days: u32) -> u32 {
    const ALLOWED: &[u32] = &[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    ALLOWED.iter().copied().find(|d| *d >= days).unwrap_or(3653)
}

fn render_eks(m: &Model) -> Result<Manifest, RenderError> {
    let a = &m.profile.api_server;
    let mut endpoints = Map::new();
    endpoints.insert("privateAccess".into(), json!(true));
    endpoints.insert("publicAccess".into(), json!(!a.private));
    let mut vpc = Map::new();
    vpc.insert("clusterEndpoints".into(), Value::Object(endpoints));
    let networks = network_texts(m);
    if !a.private && !networks.is_empty() {
        vpc.insert("publicAccessCIDRs".into(), json!(networks));
    }
    let mut cfg = Map::new();
    cfg.insert("apiVersion".into(), json!("eksctl.io/v1alpha5"));
    cfg.insert("kind".into(), json!("ClusterConfig"));
    cfg.insert(
        "metadata".into(),
        json!({"name": m.profile.cluster.name, "version": m.profile.cluster.kubernetes_version}),
    );
    cfg.insert("vpc".into(), Value::Object(vpc));
    if let Some(o) = identity::oidc(m) {
        let mut p = Map::new();
        p.insert("name".into(), json!("oidc"));
        p.insert("type".into(), json!("oidc"));
        p.insert("issuerURL".into(), json!(o.issuer_url));
        p.insert("clientID".into(), json!(o.client_id));
        if let Some(c) = &o.username_claim {
            p.insert("usernameClaim".into(), json!(c));
        }
        // Always explicit, `-` for none, as with the flags; RBAC uses the same value.
        let up = m.user_prefix();
        p.insert(
            "usernamePrefix".into(),
            json!(if up.is_empty() { "-".to_owned() } else { up }),
        );
        if let Some(c) = &o.groups_claim {
            p.insert("groupsClaim".into(), json!(c));
            let gp = m.group_prefix();
            if !gp.is_empty() {
                p.insert("groupsPrefix".into(), json!(gp));
            }
        }
        if !o.required_claims.is_empty() {
            p.insert("requiredClaims".into(), json!(o.required_claims));
        }
        cfg.insert("identityProviders".into(), json!([Value::Object(p)]));
    }
    let mut types = vec!["api", "authenticator", "controllerManager", "scheduler"];
    if a.audit.enabled {
        types.insert(1, "audit");
    }
    cfg.insert(
        "cloudWatch".into(),
        json!({"clusterLogging": {
            "enableTypes": types,
            "logRetentionInDays": cloudwatch_retention(a.audit.max_age_days),
        }}),
    );
    Manifest::control_plane(
        "eks",
        "clusterconfig.yaml",
        "ClusterConfig",
        &[
            "eksctl ClusterConfig fragment: merge into your cluster config (add metadata.region and".to_owned(),
            "node groups), then `eksctl create cluster -f` or, for an existing cluster,".to_owned(),
            "`eksctl utils update-cluster-endpoints`, `associate-identityprovider` and".to_owned(),
            "`update-cluster-logging` with `-f ... --approve`. EKS manages the API server's".to_owned(),
            "flags (CIS section 1.2 is AWS's responsibility); the audit log goes to CloudWatch.".to_owned(),
        ],
        &Value::Object(cfg),
    )
}
