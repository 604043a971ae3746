//! kubeadm: the ClusterConfiguration (flags and host mounts), the
//! InitConfiguration with the private address and its bind-address patch, the
//! audit policy and the structured authentication config; the warnings on
//! what kubeadm leaves to the network in front of it.

use super::*;
use crate::bundle::manifest::RenderError;

pub(super) struct Kubeadm;

impl Target for Kubeadm {
    fn render(&self, m: &Model) -> Result<Vec<Manifest>, RenderError> {
        render_kubeadm(m)
    }
    fn warnings(&self, m: &Model) -> Vec<String> {
        let a = &m.profile.api_server;
        let mut parts = Vec::new();
        if a.private && a.advertise_address.is_none() {
            // Only the built-in default is left here: `validate` refuses a
            // written `private: true` without an address.
            parts.push("`apiServer.private` is true by default, but without `apiServer.advertiseAddress` the kubeadm API server listens on every interface (0.0.0.0): set the node's private address, or `private: false`".to_owned());
        }
        if !m.plan.control_plane.authorized_networks.is_empty() {
            parts.push("`apiServer.authorizedNetworks` is not rendered for kubeadm: limit port 6443 in the network in front of the control plane".to_owned());
        }
        parts
    }
    fn log_export(&self, _: &Model, _: bool, _: bool) -> Result<Vec<Manifest>, RenderError> {
        // The logs are files on the control-plane nodes: the collector ships them.
        Ok(Vec::new())
    }
    fn log_note(&self) -> Option<&'static str> {
        None
    }
}

#[derive(Serialize)]
pub(super) struct Arg {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HostPathMount {
    name: &'static str,
    host_path: String,
    mount_path: String,
    read_only: bool,
    path_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ControlPlaneComponent {
    extra_args: Vec<Arg>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extra_volumes: Vec<HostPathMount>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ClusterConfiguration {
    api_version: &'static str,
    kind: &'static str,
    cluster_name: String,
    kubernetes_version: String,
    api_server: ControlPlaneComponent,
    controller_manager: ControlPlaneComponent,
    scheduler: ControlPlaneComponent,
}

/// Host directories kubeadm mounts into the kube-apiserver static pod by
/// itself: the certificates directory (kharden keeps the default) and
/// `/etc/ssl/certs` always, the CA bundle directories when they exist on the
/// host (a file inside one means it does). `/etc/pki` as a whole is not among
/// them. Src: kubernetes/kubernetes cmd/kubeadm/app/phases/controlplane/volumes.go
/// (`getHostPathVolumesForTheControlPlane`, `caCertsExtraVolumePaths`).
pub(super) const APISERVER_HOST_DIRS: &[&str] = &[
    "/etc/kubernetes/pki",
    "/etc/ssl/certs",
    "/etc/pki/ca-trust",
    "/etc/pki/tls/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
];

/// Whether the API server container already sees `path` through a kubeadm mount
/// (whole path components: `/etc/ssl/certs2` is not under `/etc/ssl/certs`).
pub(super) fn mounted_by_kubeadm(path: &str) -> bool {
    let p = std::path::Path::new(path);
    APISERVER_HOST_DIRS.iter().any(|d| p.starts_with(d))
}

pub(super) fn file_mount(name: &'static str, path: &str) -> HostPathMount {
    HostPathMount {
        name,
        host_path: path.to_owned(),
        mount_path: path.to_owned(),
        read_only: true,
        path_type: "File",
    }
}

pub(super) fn profiling_off() -> ControlPlaneComponent {
    ControlPlaneComponent {
        extra_args: vec![Arg {
            name: "profiling",
            value: "false".to_owned(),
        }],
        extra_volumes: Vec::new(),
    }
}

fn render_kubeadm(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    const P: &str = "kubeadm";
    let flags = kubeadm_flags(m);
    let mut volumes = Vec::new();
    if identity::uses_config_file(m) {
        volumes.push(file_mount("authentication-config", identity::CONFIG_PATH));
    }
    // `--oidc-ca-file` is read inside the container: a path kubeadm does not
    // mount would leave the API server unable to start.
    if let Some(ca) = identity::oidc_flags(m)
        .iter()
        .find(|f| f.name == "oidc-ca-file")
        .map(|f| f.value.clone())
        .filter(|ca| !mounted_by_kubeadm(ca))
    {
        volumes.push(file_mount("oidc-ca-file", &ca));
    }
    volumes.push(file_mount("encryption-config", ENCRYPTION_CONFIG_PATH));
    if let Some(dir) = encryption::kms_socket_dir(m) {
        volumes.push(HostPathMount {
            name: "kms-plugin",
            host_path: dir.to_owned(),
            mount_path: dir.to_owned(),
            // The API server only connects to the socket, and Linux checks no
            // read-only mount on connect(); the plugin owns the directory.
            read_only: true,
            path_type: "Directory",
        });
    }
    if let Some(log) = audit::log(m) {
        volumes.push(file_mount("audit-policy", audit::POLICY_PATH));
        volumes.push(HostPathMount {
            name: "audit-log",
            host_path: log.dir.clone(),
            mount_path: log.dir.clone(),
            read_only: false,
            path_type: "DirectoryOrCreate",
        });
    }
    let mut notes = vec![
        "kubeadm ClusterConfiguration: `kubeadm init --config` with this file, initconfiguration.yaml and".to_owned(),
        "kubeletconfiguration.yaml (concatenated with `---`). kube-apiserver flags and the control each one satisfies:".to_owned(),
    ];

    for f in &flags {
        notes.push(format!("  {}: {}", f.name, f.cis));
    }
    notes.extend([
        "  controllerManager and scheduler profiling: CIS 1.3.2, 1.4.1".to_owned(),
        "Not settable by flags (see README): file permissions and ownership (CIS 1.1),".to_owned(),
        "the encryption key (1.2.28: fill the placeholder in encryption-config.yaml), EventRateLimit".to_owned(),
        "(1.2.9, needs an admission config file) and AlwaysPullImages (1.2.11, a workload trade-off).".to_owned(),
    ]);
    let v = &m.profile.cluster.kubernetes_version;
    notes.push(format!("kubernetesVersion stable-{v}: the newest {v} patch, which kubeadm looks up; run kubeadm {v}"));
    notes.push(format!(
        "(offline, or when kubeadm is older, kubeadm falls back to its own version, not {v})."
    ));
    let cc = ClusterConfiguration {
        api_version: "kubeadm.k8s.io/v1beta4",
        kind: "ClusterConfiguration",
        cluster_name: m.profile.cluster.name.clone(),
        // The profile's minor release, newest patch: every version-dependent
        // output (API versions, flags) was chosen for it, and kubeadm's own
        // default (`stable-1`) would install whatever is newest.
        kubernetes_version: format!("stable-{}", m.profile.cluster.kubernetes_version),
        api_server: ControlPlaneComponent {
            extra_args: flags
                .into_iter()
                .map(|f| Arg {
                    name: f.name,
                    value: f.value,
                })
                .collect(),
            extra_volumes: volumes,
        },
        controller_manager: profiling_off(),
        scheduler: profiling_off(),
    };
    let mut out = vec![Manifest::control_plane(
        P,
        "clusterconfiguration.yaml",
        "ClusterConfiguration",
        &notes,
        &cc,
    )?];
    if let Some(addr) = m
        .plan
        .control_plane
        .advertise_address
        .as_ref()
        .map(|a| &a.text)
    {
        let mut init = json!({
            "apiVersion": "kubeadm.k8s.io/v1beta4",
            "kind": "InitConfiguration",
            "localAPIEndpoint": {"advertiseAddress": addr},
        });
        let mut notes = vec!["kubeadm InitConfiguration: the API server advertises (and kubeadm probes) this private address.".to_owned()];
        if m.profile.api_server.private {
            // kube-apiserver listens on 0.0.0.0 unless told otherwise, so a
            // "private" API server would still answer on every interface. The
            // address is this node's own: a ClusterConfiguration extraArg would
            // reach every control-plane node that joins, and one bound to another
            // node's address cannot start. A per-node kubeadm patch keeps it here.
            init["patches"] = json!({"directory": PATCH_DIR});
            notes.push(format!("The API server binds to it only (--bind-address, from the patch in patches/; copy that directory to {PATCH_DIR}); a control-plane node that joins needs its own patch with its address."));
            out.push(Manifest::control_plane(
                P,
                "patches/kube-apiserver+json.yaml",
                "JSONPatch",
                &[format!("kubeadm patch (JSON patch on the kube-apiserver static pod): bind to {addr} only, not 0.0.0.0.")],
                &json!([{
                    "op": "add",
                    "path": "/spec/containers/0/command/-",
                    "value": format!("--bind-address={addr}"),
                }]),
            )?);
        }
        out.push(Manifest::control_plane(
            P,
            "initconfiguration.yaml",
            "InitConfiguration",
            &notes,
            &init,
        )?);
    }
    if audit::log(m).is_some() {
        out.push(Manifest::control_plane(
            P,
            "audit-policy.yaml",
            "Policy",
            &[
                format!(
                    "Audit policy: install on every control-plane node at {}.",
                    audit::POLICY_PATH
                ),
                "CIS 3.2.1 (a policy exists) and 3.2.2 (secrets, configmaps, token reviews at"
                    .to_owned(),
                "Metadata only; exec/attach/portforward/proxy and RBAC changes in full)."
                    .to_owned(),
            ],
            &audit::policy(m),
        )?);
    }
    if let Some(ac) = identity::authentication_config(m) {
        out.push(Manifest::control_plane(
            P,
            "authentication-config.yaml",
            "AuthenticationConfiguration",
            &[
                format!("Structured authentication: install at {}.", identity::CONFIG_PATH),
                "Anonymous requests reach only /healthz, /livez and /readyz: the kubelet probes these".to_owned(),
                "without credentials, so a blanket --anonymous-auth=false would crash-loop the API".to_owned(),
                "server. kube-bench 1.2.1 (Manual) greps for --anonymous-auth=false and reports this".to_owned(),
                "as a failure; the limit here is stricter than RBAC alone. `kubeadm join` cannot".to_owned(),
                "read kube-public/cluster-info anonymously: join with --discovery-file.".to_owned(),
            ],
            &ac,
        )?);
    }
    Ok(out)
}
