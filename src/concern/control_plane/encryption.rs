//! Encryption of Secrets at rest on kubeadm: the EncryptionConfiguration that
//! `--encryption-provider-config` points to (CIS 1.2.27/1.2.28), and the
//! checks on `apiServer.encryption`. kharden never writes a key: a local
//! provider gets a placeholder the API server refuses until it is replaced.

use serde_json::{Value, json};

use super::valid::Encryption;
use crate::bundle::manifest::{Manifest, RenderError};
use crate::input::diag::Diagnostic;
use crate::input::profile::EncryptionProvider;
use crate::input::source::FieldPath;
use crate::pipeline::model::Model;
use crate::platform::ControlPlane;

/// Where the file goes on every control-plane node (and is mounted from).
pub(crate) const CONFIG_PATH: &str = "/etc/kubernetes/encryption-config.yaml";

/// Not base64 on purpose: the API server fails to start on it ("illegal base64
/// data"), so a forgotten key is loud, never a shared or weak one.
pub(crate) const KEY_PLACEHOLDER: &str = "REPLACE-ME: head -c 32 /dev/urandom | base64";

/// The directory to mount into the static pod for the KMS socket, when the
/// provider is `kms`.
pub(crate) fn kms_socket_dir(m: &Model) -> Option<&str> {
    match &m.plan.control_plane.encryption {
        Encryption::Kms { socket_dir, .. } => Some(socket_dir),
        Encryption::Key(_) => None,
    }
}

/// Checks of `apiServer.encryption`; the provider they accept goes to
/// `plan.control_plane.encryption`.
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    let e = &m.profile.api_server.encryption;
    let base = FieldPath::root().key("apiServer").key("encryption");
    let kms = e.provider == EncryptionProvider::Kms;
    plan.control_plane.encryption = match e.provider {
        EncryptionProvider::Secretbox => Encryption::Key("secretbox"),
        EncryptionProvider::Aescbc => Encryption::Key("aescbc"),
        // Filled below once the endpoint passes.
        EncryptionProvider::Kms => Encryption::default(),
    };
    match (&e.kms_endpoint, kms) {
        (None, true) => out.push(
            Diagnostic::error(
                base.key("provider"),
                "`kms` needs `apiServer.encryption.kmsEndpoint`".to_owned(),
            )
            .hint("the KMS v2 plugin's socket, e.g. unix:///var/run/kmsplugin/socket.sock"),
        ),
        (Some(ep), true) => {
            let path = ep.strip_prefix("unix://").unwrap_or_default();
            if !path.starts_with('/') || path.ends_with('/') || path.contains("/../") {
                out.push(
                    Diagnostic::error(
                        base.key("kmsEndpoint"),
                        format!("`{ep}` is not a unix socket at an absolute path"),
                    )
                    .hint("write unix:///var/run/kmsplugin/socket.sock"),
                );
            } else {
                plan.control_plane.encryption = Encryption::Kms {
                    at: base.key("kmsEndpoint"),
                    endpoint: ep.clone(),
                    socket_dir: super::valid::parent_dir(path).to_owned(),
                    name: e
                        .kms_name
                        .clone()
                        .unwrap_or_else(|| "kharden-kms".to_owned()),
                };
            }
        }
        (Some(_), false) => out.push(
            Diagnostic::error(
                base.key("kmsEndpoint"),
                "`kmsEndpoint` applies only to `provider: kms`".to_owned(),
            )
            .hint("set `provider: kms`, or remove `kmsEndpoint`"),
        ),
        (None, false) => {}
    }
    if let Some(name) = &e.kms_name {
        if !kms {
            out.push(
                Diagnostic::error(
                    base.key("kmsName"),
                    "`kmsName` applies only to `provider: kms`".to_owned(),
                )
                .hint("set `provider: kms`, or remove `kmsName`"),
            );
        } else if let Err(e) = crate::k8s::names::dns_label(name) {
            out.push(Diagnostic::error(
                base.key("kmsName"),
                format!("`{name}` is not a valid provider name: {e}"),
            ));
        }
    }
}

/// The EncryptionConfiguration: the chosen provider first (it encrypts every
/// write), then `identity` so Secrets written before it stay readable until
/// they are rewritten.
pub(crate) fn config(m: &Model) -> Value {
    let first = match &m.plan.control_plane.encryption {
        Encryption::Kms { endpoint, name, .. } => json!({"kms": {
            "apiVersion": "v2",
            "name": name,
            "endpoint": endpoint,
            "timeout": "3s",
        }}),
        Encryption::Key(name) => {
            json!({*name: {"keys": [{"name": "key1", "secret": KEY_PLACEHOLDER}]}})
        }
    };
    json!({
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": [first, {"identity": {}}]}],
    })
}

pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    if m.platform().control_plane() != ControlPlane::Nodes {
        return Ok(Vec::new());
    }
    let mut notes = vec![format!(
        "EncryptionConfiguration: install on every control-plane node at {CONFIG_PATH} (mode 0600, root)."
    )];
    if kms_socket_dir(m).is_some() {
        notes.push("The KMS v2 plugin must be running on each control-plane node before the API server starts.".to_owned());
    } else {
        notes.extend([
            "Replace the key placeholder with `head -c 32 /dev/urandom | base64` (the same key on every".to_owned(),
            "control-plane node); the API server does not start until you do. kharden never writes keys.".to_owned(),
        ]);
    }
    notes.push(
        "`identity` last: Secrets written before stay readable; rewrite them to encrypt them:"
            .to_owned(),
    );
    notes.push("  kubectl get secrets -A -o json | kubectl replace -f -".to_owned());
    Ok(vec![Manifest::control_plane(
        "kubeadm",
        "encryption-config.yaml",
        "EncryptionConfiguration",
        &notes,
        &config(m),
    )?])
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use crate::testing::{HEAD, errors, object, render};

    const FILE: &str = "control-plane/kubeadm/encryption-config.yaml";

    /// kube-bench 1.2.28's own audit, run on the file as written: the first
    /// line under `providers:` names the provider.
    fn kube_bench_provider(body: &str) -> String {
        let doc = crate::testing::vendored_cis_check("master.yaml", "1.2.28");
        let audit = doc["audit"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enc.yaml");
        std::fs::write(&path, body).unwrap();
        let script = audit.replace(
            "$(ps -ef | grep $apiserverbin | grep -- --encryption-provider-config | sed 's%.*encryption-provider-config[= ]\\([^ ]*\\).*%\\1%')",
            &path.display().to_string(),
        );
        assert_ne!(script, audit, "kube-bench 1.2.28 audit changed: {audit}");
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn the_file_the_flag_names_is_written_and_passes_kube_bench() {
        for (provider, want) in [
            ("", "secretbox"),
            ("apiServer: {encryption: {provider: aescbc}}\n", "aescbc"),
            (
                "apiServer: {encryption: {provider: kms, kmsEndpoint: \"unix:///var/run/kmsplugin/socket.sock\"}}\n",
                "kms",
            ),
        ] {
            let text = format!("{HEAD}{provider}");
            let model = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
            let r = crate::render(&model).unwrap();
            let file = r.set.iter().find(|f| f.path() == FILE).unwrap();
            assert_eq!(
                kube_bench_provider(file.body()).trim(),
                format!("provider={want}")
            );
            let v = object(&render(provider), FILE);
            let providers = v["resources"][0]["providers"].as_array().unwrap();
            assert_eq!(v["resources"][0]["resources"][0], "secrets");
            assert!(providers.last().unwrap().get("identity").is_some());
            if want == "kms" {
                assert_eq!(providers[0]["kms"]["apiVersion"], "v2");
            } else {
                // What the API server does with the placeholder: refuse it.
                let secret = providers[0][want]["keys"][0]["secret"].as_str().unwrap();
                assert!(!is_base64(secret), "{secret}");
                assert!(is_base64("c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLi4uLi4uLi4="));
            }
        }
    }

    /// Whether `s` is standard base64, as the API server decodes keys.
    fn is_base64(s: &str) -> bool {
        s.len().is_multiple_of(4)
            && s.trim_end_matches('=')
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
    }

    #[test]
    fn the_kms_socket_is_mounted_and_bad_settings_are_refused() {
        let objs = render(
            "apiServer: {encryption: {provider: kms, kmsEndpoint: \"unix:///var/run/kmsplugin/socket.sock\"}}\n",
        );
        let cc = object(&objs, "control-plane/kubeadm/clusterconfiguration.yaml");
        let vols = cc["apiServer"]["extraVolumes"].as_array().unwrap();
        assert!(
            vols.iter()
                .any(|v| v["hostPath"] == "/var/run/kmsplugin" && v["pathType"] == "Directory"),
            "{vols:?}"
        );
        let e = errors("apiServer: {encryption: {provider: kms}}\n");
        assert!(e.contains("apiServer.encryption.provider"), "{e}");
        let e = errors("apiServer: {encryption: {provider: kms, kmsEndpoint: \"tcp://x:1\"}}\n");
        assert!(e.contains("not a unix socket"), "{e}");
        let e = errors("apiServer: {encryption: {kmsEndpoint: \"unix:///s.sock\"}}\n");
        assert!(e.contains("applies only to `provider: kms`"), "{e}");
    }

    #[test]
    fn managed_platforms_get_no_file() {
        let text = HEAD.replace("platform: kubeadm", "platform: eks");
        let model = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
        assert!(super::render(&model).unwrap().is_empty());
    }
}
