//! The kubelet on kubeadm: the KubeletConfiguration that `kubeadm init`
//! stores in the `kubelet-config` ConfigMap for every node (CIS 4.2), with
//! serving certificates signed by the cluster CA, so the API server's
//! `--kubelet-certificate-authority` can verify the kubelet it talks to.

use serde_json::{Value, json};

use super::flags::CIPHER_SUITES;
use crate::bundle::manifest::{Manifest, RenderError};
use crate::pipeline::model::Model;
use crate::platform::ControlPlane;

/// The CA kubeadm signs client certificates with; the kubelet trusts it for
/// the API server's requests (CIS 4.2.3).
const CLIENT_CA: &str = "/etc/kubernetes/pki/ca.crt";

pub(crate) fn config() -> Value {
    json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": false},
            "webhook": {"enabled": true},
            "x509": {"clientCAFile": CLIENT_CA},
        },
        "authorization": {"mode": "Webhook"},
        "readOnlyPort": 0,
        "makeIPTablesUtilChains": true,
        "rotateCertificates": true,
        "serverTLSBootstrap": true,
        "tlsMinVersion": "VersionTLS12",
        "tlsCipherSuites": CIPHER_SUITES,
    })
}

pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    if m.platform().control_plane() != ControlPlane::Nodes {
        return Ok(Vec::new());
    }
    let notes = [
        "KubeletConfiguration: pass it to `kubeadm init --config` with clusterconfiguration.yaml (joined nodes",
        "read it from the kubelet-config ConfigMap). CIS 4.2.1 anonymous off, 4.2.2 webhook authorization,",
        "4.2.3 client CA, 4.2.4 readOnlyPort 0, 4.2.6 iptables chains, 4.2.10-11 certificate rotation,",
        "4.2.12 strong ciphers. serverTLSBootstrap: each kubelet asks for a serving certificate by CSR, and",
        "nothing approves kubelet-serving CSRs by default: until one is approved (`kubectl certificate approve`,",
        "or a CSR approver such as kubelet-csr-approver), `kubectl logs/exec` and metrics on that node fail,",
        "because the API server verifies kubelets against the cluster CA (--kubelet-certificate-authority).",
    ]
    .map(str::to_owned);
    Ok(vec![Manifest::control_plane(
        "kubeadm",
        "kubeletconfiguration.yaml",
        "KubeletConfiguration",
        &notes,
        &config(),
    )?])
}

#[cfg(test)]
mod tests {
    use crate::testing::{object, render};

    #[test]
    fn the_api_server_can_verify_what_the_kubelet_serves() {
        let objs = render("");
        let cc = object(&objs, "control-plane/kubeadm/clusterconfiguration.yaml");
        let verifies = cc["apiServer"]["extraArgs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "kubelet-certificate-authority");
        assert!(verifies);
        let k = object(&objs, "control-plane/kubeadm/kubeletconfiguration.yaml");
        // Self-signed serving certificates (the kubelet's default) fail that check.
        assert_eq!(k["serverTLSBootstrap"], true);
        assert_eq!(k["rotateCertificates"], true);
        assert_eq!(k["authentication"]["anonymous"]["enabled"], false);
        assert_eq!(k["authentication"]["webhook"]["enabled"], true);
        assert_eq!(k["authorization"]["mode"], "Webhook");
        assert_eq!(k["readOnlyPort"], 0);
        assert_eq!(
            k["authentication"]["x509"]["clientCAFile"],
            "/etc/kubernetes/pki/ca.crt"
        );
    }
}
