//! #32: the control plane behind the platform seam (every platform's files,
//! table-driven) and the validated form (`plan.control_plane`) its renderers
//! read instead of the profile's strings.

use std::net::IpAddr;

use serde_json::json;

use super::super::valid::{At, AuditLog, Encryption};
use super::objects;
use crate::input::source::FieldPath;
use crate::testing::{HEAD, object, today};

const LOGGING: &str = "logging:\n  sources: [pods, controlPlane, audit]\n  elasticsearch: {host: es.example, indexPrefix: k8s, credentialsSecret: es}\n";

fn on(platform: &str, body: &str) -> crate::Model {
    let text =
        format!("{HEAD}{body}").replace("platform: kubeadm", &format!("platform: {platform}"));
    crate::load_text(&text, "t.yaml", today()).unwrap_or_else(|e| panic!("{platform}: {e}"))
}

/// Each platform writes its own files only, under `control-plane/<name>/`;
/// the node files (kubelet, encryption) only where kharden runs the control
/// plane; the provider's log export and its note only where the provider
/// keeps the logs.
#[test]
fn every_platform_writes_its_own_control_plane_files() {
    for (platform, files, note) in [
        (
            "kubeadm",
            &[
                "audit-policy.yaml",
                "authentication-config.yaml",
                "clusterconfiguration.yaml",
                "encryption-config.yaml",
                "kubeletconfiguration.yaml",
            ][..],
            None,
        ),
        ("eks", &["clusterconfig.yaml"][..], Some("CloudWatch Logs")),
        (
            "aks",
            &["diagnostic-setting.yaml", "managedcluster.yaml"][..],
            Some("Log Analytics"),
        ),
        ("gke", &["cluster.yaml"][..], Some("Cloud Logging")),
    ] {
        let m = on(
            platform,
            &format!("apiServer: {{private: false, authorizedNetworks: [10.0.0.0/8]}}\n{LOGGING}"),
        );
        assert_eq!(m.platform().name(), platform);
        let written: Vec<String> = objects(&m)
            .into_iter()
            .filter_map(|(p, _)| p.strip_prefix("control-plane/").map(str::to_owned))
            .collect();
        let want: Vec<String> = files.iter().map(|f| format!("{platform}/{f}")).collect();
        assert_eq!(written, want, "{platform}");
        let notes = crate::render(&m).unwrap().notes.join("\n");
        match note {
            Some(n) => assert!(
                notes.contains(&format!("note: on {platform} the control-plane"))
                    && notes.contains(n),
                "{platform}: {notes}"
            ),
            None => assert!(
                !notes.contains("the control-plane and audit logs go"),
                "{notes}"
            ),
        }
    }
}

/// The checks keep what they parsed, with its field path and its text.
#[test]
fn the_checks_keep_the_values_they_parsed() {
    let m = on(
        "kubeadm",
        "apiServer:\n  advertiseAddress: 10.0.0.10\n  authorizedNetworks: [10.0.0.0/8, \"fd00::/8\"]\n  audit: {logPath: /var/log/k/audit.log}\n  encryption: {provider: kms, kmsEndpoint: \"unix:///run/kms/socket.sock\"}\n",
    );
    let v = &m.plan.control_plane;
    let api = FieldPath::root().key("apiServer");
    assert_eq!(
        v.advertise_address,
        Some(At {
            path: api.key("advertiseAddress"),
            text: "10.0.0.10".to_owned(),
            value: "10.0.0.10".parse::<IpAddr>().unwrap(),
        })
    );
    let nets: Vec<(String, String, u8)> = v
        .authorized_networks
        .iter()
        .map(|n| (n.path.to_string(), n.text.clone(), n.value.prefix))
        .collect();
    assert_eq!(
        nets,
        [
            (
                "apiServer.authorizedNetworks[0]".to_owned(),
                "10.0.0.0/8".to_owned(),
                8
            ),
            (
                "apiServer.authorizedNetworks[1]".to_owned(),
                "fd00::/8".to_owned(),
                8
            ),
        ]
    );
    assert_eq!(
        v.audit_log,
        Some(AuditLog {
            at: api.key("audit").key("logPath"),
            path: "/var/log/k/audit.log".to_owned(),
            dir: "/var/log/k".to_owned(),
        })
    );
    assert_eq!(
        v.encryption,
        Encryption::Kms {
            at: api.key("encryption").key("kmsEndpoint"),
            endpoint: "unix:///run/kms/socket.sock".to_owned(),
            socket_dir: "/run/kms".to_owned(),
            name: "kharden-kms".to_owned(),
        }
    );
    assert!(v.identity.config_file);
    let off = on(
        "kubeadm",
        "apiServer: {audit: {enabled: false}, encryption: {provider: aescbc}}\n",
    );
    assert_eq!(off.plan.control_plane.audit_log, None);
    assert_eq!(off.plan.control_plane.encryption, Encryption::Key("aescbc"));

    let aks = on(
        "aks",
        "identity:\n  adminGroupObjectIDs: [7a8b9c0d-3456-4789-abcd-ef0123456789]\n  oidc: {issuerURL: \"https://login.microsoftonline.com/0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff/v2.0\", clientID: k}\n",
    );
    let tenant = aks
        .plan
        .control_plane
        .identity
        .entra_tenant
        .as_ref()
        .unwrap();
    assert_eq!(tenant.value, "0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff");
    assert_eq!(tenant.path.to_string(), "identity.oidc.issuerURL");
}

/// The renderers read the plan, not the profile: a plan edited after the
/// checks is what the files say.
#[test]
fn the_renderers_read_the_plan_not_the_profile() {
    let mut m = on(
        "eks",
        "apiServer: {private: false, authorizedNetworks: [10.0.0.0/8]}\n",
    );
    let c = object(&objects(&m), "control-plane/eks/clusterconfig.yaml");
    assert_eq!(c["vpc"]["publicAccessCIDRs"], json!(["10.0.0.0/8"]));
    m.plan.control_plane.authorized_networks[0].text = "192.168.0.0/16".to_owned();
    let c = object(&objects(&m), "control-plane/eks/clusterconfig.yaml");
    assert_eq!(c["vpc"]["publicAccessCIDRs"], json!(["192.168.0.0/16"]));

    let mut m = on("kubeadm", "apiServer: {advertiseAddress: 10.0.0.10}\n");
    m.plan.control_plane.audit_log = Some(AuditLog {
        at: FieldPath::root(),
        path: "/srv/audit/a.log".to_owned(),
        dir: "/srv/audit".to_owned(),
    });
    m.plan.control_plane.encryption = Encryption::Key("aescbc");
    let objs = objects(&m);
    let cc = object(&objs, super::CC);
    let a = super::args(&cc);
    assert_eq!(a["audit-log-path"], "/srv/audit/a.log");
    assert!(
        cc["apiServer"]["extraVolumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["hostPath"] == "/srv/audit")
    );
    let enc = object(&objs, "control-plane/kubeadm/encryption-config.yaml");
    assert!(
        enc["resources"][0]["providers"][0].get("aescbc").is_some(),
        "{enc}"
    );
}
