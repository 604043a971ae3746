//! The collector's DaemonSet: exactly the host mounts its sources read, the
//! Elasticsearch credentials and CA from Secrets, a locked-down container, and
//! the reasoned scanner skips.

use super::validate::parent;
use super::*;

pub(super) struct HostMount {
    name: &'static str,
    path: String,
    kind: &'static str,
    writable: bool,
}

/// The host paths the chosen sources read (the journal through /var/log), plus
/// the state directory.
pub(super) fn host_mounts(p: &Plan) -> Vec<HostMount> {
    let ro = |name, path: &str, kind| HostMount {
        name,
        path: path.to_owned(),
        kind,
        writable: false,
    };
    let mut v = Vec::new();
    if p.reads_journal() {
        // journald persists only where /var/log/journal exists (`Storage=auto`,
        // the default), so the collector must never create it: a created
        // directory switches the node's journal to persistent storage at
        // journald's next start. No hostPath type on the directory itself does
        // both: `Directory` keeps the pod from starting on a node without it,
        // and with the empty type (no check) the container runtime creates the
        // missing source (containerd and CRI-O `MkdirAll` it, as Docker did),
        // exactly like `DirectoryOrCreate`. So the journal is read through its
        // parent, /var/log, which exists on every node (the kubelet writes
        // /var/log/pods there): `Directory` then never creates and never blocks,
        // and /var/log/journal shows through when journald made it.
        v.push(ro("var-log", VAR_LOG, "Directory"));
        // The volatile journal lives in tmpfs, and journald uses it whatever
        // exists there: creating it on a node without journald changes nothing.
        v.push(ro(
            "journal-runtime",
            JOURNAL_DIRS[1].1,
            "DirectoryOrCreate",
        ));
        v.push(ro("machine-id", MACHINE_ID, "File"));
    }
    if p.reads_containers() {
        // /var/log/containers holds symlinks into /var/log/pods; both are needed.
        v.push(ro("containers", CONTAINERS_DIR, "Directory"));
        v.push(ro("pods", PODS_DIR, "Directory"));
    }
    if let Some(a) = &p.audit_path {
        // Only control-plane nodes have the audit directory; elsewhere kubelet
        // creates it empty and the source reads nothing.
        v.push(ro("audit", parent(a), "DirectoryOrCreate"));
    }
    // A read-only mount inside an earlier one (the container and audit
    // directories under /var/log) would only mount the same files twice.
    let mut kept: Vec<HostMount> = Vec::new();
    for m in v {
        if !kept.iter().any(|k| within(&m.path, &k.path)) {
            kept.push(m);
        }
    }
    kept.push(HostMount {
        name: "state",
        path: state_dir(p.collector),
        kind: "DirectoryOrCreate",
        writable: true,
    });
    kept
}

/// `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Reasoned skips for the scanner findings that remain by design.
pub(super) fn scanner_skips(p: &Plan, k: &Kind, image: &str) -> BTreeMap<String, String> {
    let root = "reads root-owned log files (0640/0600) on the node; drops all capabilities, no privilege escalation, read-only root filesystem";
    let mut checkov = vec![
        ("CKV_K8S_8", "a log collector serves no traffic to probe; the kubelet restarts it when the process exits".to_owned()),
        ("CKV_K8S_9", "a log collector serves no traffic; there is nothing to be ready for".to_owned()),
        ("CKV_K8S_23", root.to_owned()),
        ("CKV_K8S_35", format!("{} reads the Elasticsearch credentials from env vars set by secretKeyRef; the Secret is never inlined", k.name)),
        ("CKV_K8S_38", "the Kubernetes metadata filter reads pods and namespaces through the API (read-only ClusterRole)".to_owned()),
        ("CKV_K8S_40", root.to_owned()),
    ];
    if !image.contains("@sha256:") {
        checkov.push((
            "CKV_K8S_43",
            "pinned to an exact release tag; set logging.image to pin a digest".to_owned(),
        ));
    }
    let mut a: BTreeMap<String, String> = checkov
        .into_iter()
        .enumerate()
        .map(|(i, (id, why))| (format!("checkov.io/skip{}", i + 1), format!("{id}={why}")))
        .collect();
    a.insert(
        "ignore-check.kube-linter.io/run-as-non-root".to_owned(),
        root.to_owned(),
    );
    a.insert(
        "ignore-check.kube-linter.io/writable-host-mount".to_owned(),
        format!(
            "only {} is writable: tail positions, journal cursors and the output buffer",
            state_dir(p.collector)
        ),
    );
    if p.reads_journal() {
        a.insert(
            "ignore-check.kube-linter.io/sensitive-host-mounts".to_owned(),
            "mounts only /etc/machine-id from /etc, read-only: the journal reader needs it to find the node's journal".to_owned(),
        );
    }
    a
}

pub(super) fn daemon_set(
    p: &Plan,
    k: &Kind,
    image: &str,
    config_name: &str,
    hash: &str,
    secret: &str,
) -> DaemonSet {
    let selector = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), k.name.to_owned()),
        (
            "app.kubernetes.io/component".to_owned(),
            "log-collector".to_owned(),
        ),
    ]);
    let mut md = meta(k.name, Some(&p.namespace));
    md.labels
        .get_or_insert_with(BTreeMap::new)
        .extend(selector.clone());
    md.annotations = Some(scanner_skips(p, k, image));

    let mut pod_labels = selector.clone();
    pod_labels.insert(
        crate::bundle::manifest::MANAGED_BY.0.to_owned(),
        crate::bundle::manifest::MANAGED_BY.1.to_owned(),
    );

    let secret_env = |name: &str, key: &str| EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    };
    let env = vec![
        // The metadata filter watches only this node's pods.
        EnvVar {
            name: "K8S_NODE_NAME".to_owned(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "spec.nodeName".to_owned(),
                    api_version: None,
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
        secret_env(k.user_env, "username"),
        secret_env(k.password_env, "password"),
    ];

    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for h in host_mounts(p) {
        volumes.push(Volume {
            name: h.name.to_owned(),
            host_path: Some(HostPathVolumeSource {
                path: h.path.clone(),
                type_: Some(h.kind.to_owned()),
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: h.name.to_owned(),
            mount_path: h.path,
            read_only: Some(!h.writable),
            ..VolumeMount::default()
        });
    }
    volumes.push(Volume {
        name: "config".to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_name.to_owned(),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    });
    mounts.push(VolumeMount {
        name: "config".to_owned(),
        mount_path: k.config_dir.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    });
    if let Some(ca) = &p.ca_secret {
        volumes.push(Volume {
            name: "elasticsearch-ca".to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(ca.clone()),
                items: Some(vec![KeyToPath {
                    key: "ca.crt".to_owned(),
                    path: "ca.crt".to_owned(),
                    mode: None,
                }]),
                // A missing Secret keeps the pod pending, visibly, rather than
                // starting a collector that cannot verify its output.
                optional: Some(false),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: "elasticsearch-ca".to_owned(),
            mount_path: CA_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    let (command, args) = match p.collector {
        Collector::Fluentd => {
            // Ruby writes temporary files; the root filesystem stays read-only.
            volumes.push(Volume {
                name: "tmp".to_owned(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: Some(Quantity("64Mi".to_owned())),
                    ..EmptyDirVolumeSource::default()
                }),
                ..Volume::default()
            });
            mounts.push(VolumeMount {
                name: "tmp".to_owned(),
                mount_path: "/tmp".to_owned(),
                ..VolumeMount::default()
            });
            // The image's entrypoint runs fluentd on /fluentd/etc/fluent.conf.
            (None, None)
        }
        Collector::FluentBit => (
            Some(vec!["/fluent-bit/bin/fluent-bit".to_owned()]),
            Some(vec![format!("--config={}/fluent-bit.conf", k.config_dir)]),
        ),
    };
    let (req_cpu, req_mem, lim_cpu, lim_mem) = match p.collector {
        Collector::Fluentd => ("100m", "256Mi", "1", "512Mi"),
        Collector::FluentBit => ("50m", "64Mi", "500m", "256Mi"),
    };
    let q = |s: &str| Quantity(s.to_owned());

    DaemonSet {
        metadata: md,
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    labels: Some(pod_labels),
                    // A new configuration rolls the pods.
                    annotations: Some(BTreeMap::from([(
                        "kharden.dev/config-hash".to_owned(),
                        hash.to_owned(),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(k.name.to_owned()),
                    automount_service_account_token: Some(true),
                    termination_grace_period_seconds: Some(30),
                    // Every Linux node ships its logs. The collector images are
                    // Linux-only, and AKS and EKS do not taint Windows pools unless
                    // told to, so without the selector the pods would be scheduled
                    // there and never start.
                    node_selector: Some(BTreeMap::from([(
                        "kubernetes.io/os".to_owned(),
                        "linux".to_owned(),
                    )])),
                    // Tolerating every taint would also place pods on nodes that
                    // are not machines and cannot run a DaemonSet or mount the
                    // host: EKS Fargate (`eks.amazonaws.com/compute-type:
                    // fargate`) and AKS virtual nodes (`type: virtual-kubelet`).
                    // NotIn also matches nodes without the label.
                    affinity: Some(Affinity {
                        node_affinity: Some(NodeAffinity {
                            required_during_scheduling_ignored_during_execution: Some(
                                NodeSelector {
                                    node_selector_terms: vec![NodeSelectorTerm {
                                        match_expressions: Some(
                                            [
                                                ("eks.amazonaws.com/compute-type", "fargate"),
                                                ("type", "virtual-kubelet"),
                                            ]
                                            .map(|(key, value)| NodeSelectorRequirement {
                                                key: key.to_owned(),
                                                operator: "NotIn".to_owned(),
                                                values: Some(vec![value.to_owned()]),
                                            })
                                            .to_vec(),
                                        ),
                                        match_fields: None,
                                    }],
                                },
                            ),
                            ..NodeAffinity::default()
                        }),
                        ..Affinity::default()
                    }),
                    // Any taint, not only the control plane's: a node in a tainted
                    // pool (GPU, dedicated, spot) that the collector does not
                    // tolerate ships no logs, and nothing says so.
                    tolerations: Some(
                        ["NoSchedule", "NoExecute"]
                            .map(|effect| Toleration {
                                operator: Some("Exists".to_owned()),
                                effect: Some(effect.to_owned()),
                                ..Toleration::default()
                            })
                            .to_vec(),
                    ),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".to_owned(),
                            localhost_profile: None,
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![Container {
                        name: k.name.to_owned(),
                        image: Some(image.to_owned()),
                        // Always: the kubelet checks the registry (and the pull
                        // credentials) at every start instead of trusting a cached
                        // image a tag may no longer name; checkov CKV_K8S_15.
                        image_pull_policy: Some("Always".to_owned()),
                        command,
                        args,
                        env: Some(env),
                        resources: Some(ResourceRequirements {
                            requests: Some(BTreeMap::from([
                                ("cpu".to_owned(), q(req_cpu)),
                                ("memory".to_owned(), q(req_mem)),
                            ])),
                            limits: Some(BTreeMap::from([
                                ("cpu".to_owned(), q(lim_cpu)),
                                ("memory".to_owned(), q(lim_mem)),
                            ])),
                            ..ResourceRequirements::default()
                        }),
                        security_context: Some(SecurityContext {
                            // Root, but nothing more: log files on the node are
                            // root-owned and not world-readable.
                            run_as_user: Some(0),
                            run_as_non_root: Some(false),
                            privileged: Some(false),
                            allow_privilege_escalation: Some(false),
                            read_only_root_filesystem: Some(true),
                            capabilities: Some(Capabilities {
                                drop: Some(vec!["ALL".to_owned()]),
                                add: None,
                            }),
                            ..SecurityContext::default()
                        }),
                        volume_mounts: Some(mounts),
                        ..Container::default()
                    }],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        }),
        ..DaemonSet::default()
    }
}
