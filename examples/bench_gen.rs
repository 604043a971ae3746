//! Benchmark input: a synthetic cluster profile with N tenant namespaces, for
//! `scripts/bench`. Each namespace carries what real tenants carry, so every
//! concern does its per-namespace work: annotations (one propagated by policy),
//! user, group and service-account access, a quota override, ingress and egress
//! flows to other profile namespaces and to a CIDR, mesh hosts and L7 rules, and
//! every tenth runs Windows pods. Every ten namespaces share one registry
//! exception. The cluster-wide sections are those of the contract profile
//! (kubeadm, structured OIDC, Fluentd, Istio, Gatekeeper).
//!
//! `cargo run --release --example bench_gen -- N [FILE]` writes the profile to
//! FILE (or stdout). Names and ids are generated, never user input, so the YAML
//! is written as text; the profile is read back by kharden itself, which refuses
//! anything malformed.

// Its functions are the example's API and, included by the hermetic tests
// (`tests/hermetic/bench_gen.rs`), a test module's: `pub` serves both.
#![allow(unreachable_pub)]
// A program of its own: it writes the profile to stdout, its usage and errors to
// stderr (the lints are for the library).
#![allow(clippy::print_stderr, clippy::disallowed_methods)]

use std::fmt::Write as _;

/// The cluster-wide part: the contract profile's sections without its namespaces.
const HEAD: &str = r#"apiVersion: kharden.dev/v1alpha1
kind: ClusterProfile
metadata:
  name: bench
extends: [baseline]
cluster:
  name: bench
  platform: kubeadm
  kubernetesVersion: "1.33"
  ingressDomain: apps.bench.example.com
apiServer:
  private: true
  advertiseAddress: 10.0.0.10
  audit: {enabled: true, maxAgeDays: 30, maxBackups: 10, maxSizeMB: 100}
identity:
  oidc:
    issuerURL: https://idp.example.com/realms/bench
    clientID: kubernetes
    usernameClaim: oid
    usernamePrefix: "oidc:"
    groupsClaim: groups
    groupsPrefix: "oidc:"
    requiredClaims: {tid: bench-tenant}
  mode: config
logging:
  collector: fluentd
  namespace: logging
  sources: [controlPlane, pods, nodes, audit]
  elasticsearch:
    host: elasticsearch.logging.svc
    port: 9200
    scheme: https
    indexPrefix: bench
    credentialsSecret: elasticsearch-credentials
roles:
  app-deployer:
    rules:
      - apiGroups: ["apps"]
        resources: [deployments]
        verbs: [get, list, watch, update, patch]
defaults:
  podSecurity: restricted
  quota:
    pods: 50
    services.loadbalancers: 0
    services.nodeports: 0
    requests.cpu: "8"
    requests.memory: 16Gi
    limits.cpu: "16"
    limits.memory: 32Gi
  network:
    defaultDeny: [ingress, egress]
    allowDNS: true
    allowSameNamespace: true
    allowFromIngressController: {namespace: ingress-nginx}
clusterAccess:
  - group: platform-team
    rules:
      - apiGroups: [""]
        resources: [namespaces, nodes]
        verbs: [get, list]
    justification: Platform team dashboards list namespaces and nodes.
mesh:
  provider: istio
  mtls: strict
  outboundTraffic: registryOnly
  allowedExternalHosts: [login.example.com]
  defaults:
    timeout: 15s
    retries: {attempts: 3, perTryTimeout: 5s}
  accessLogging: true
policy:
  engine: gatekeeper
  allowedRegistries: [registry.example.com]
  requiredAnnotations: [contact]
  uniqueIngressHosts: true
  ingressHostsInDomain: true
  internalLoadBalancers: true
  propagateNamespaceAnnotations: [cost-center]
  exemptNamespaces: [kube-system, gatekeeper-system, istio-system, logging]
"#;

/// Whether tenant `i` runs on Windows nodes (one in ten).
pub fn windows(i: usize) -> bool {
    i.is_multiple_of(10)
}

/// The name of tenant `i`.
pub fn ns(i: usize) -> String {
    format!("team-{i:05}")
}

/// A valid profile with `n` (at least 3) tenant namespaces.
pub fn profile(n: usize) -> String {
    assert!(n >= 3, "flows need three distinct namespaces");
    let mut s = String::with_capacity(HEAD.len() + n * 800);
    s.push_str(HEAD);
    s.push_str("namespaces:\n");
    for i in 0..n {
        let (me, next, after) = (ns(i), ns((i + 1) % n), ns((i + 2) % n));
        // Written with `write!` into one buffer; formatting cannot fail on a String.
        let _ = write!(
            s,
            r#"- name: {me}
  annotations: {{contact: {me}@example.com, cost-center: CC-{i:05}}}
  labels: {{tier: tenant}}
  access: [{{user: user-{i:05}, role: limited-user}}, {{group: devs-{i:05}, role: edit}}, {{group: auditors, role: view}}]
  serviceAccounts: [{{name: ci-deployer, role: app-deployer}}]
  quota: {{pods: {pods}, requests.cpu: "{cpu}"}}
  network:
    ingress: [{{from: {{namespace: {next}, podLabels: {{app: frontend}}}}, ports: [8080/TCP, 8443/TCP]}}]
    egress:
    - {{to: {{namespace: {after}, podLabels: {{app: db}}}}, ports: [5432/TCP]}}
    - {{to: {{cidr: 10.20.0.0/16, except: [10.20.5.0/24]}}, ports: [443/TCP]}}
{tail}"#,
            pods = 20 + i % 80,
            cpu = 2 + i % 6,
            tail = if windows(i) {
                // Windows pods get no sidecar, so no mesh settings of their own.
                "  workloads: {windows: true}\n".to_owned()
            } else {
                format!(
                    "  mesh:\n    allowedExternalHosts: [api-{i:05}.example.com]\n    authorization: [{{from: {{namespace: {next}}}, methods: [GET, POST], paths: [\"/api/*\"]}}]\n"
                )
            },
        );
    }
    s.push_str("exceptions:\n");
    for start in (0..n).step_by(10) {
        let members: Vec<String> = (start..n.min(start + 10)).map(ns).collect();
        let _ = writeln!(
            s,
            "- {{rule: allowedRegistries, namespaces: [{}], allow: [docker.io/library/nginx], owner: platform@example.com, ticket: SEC-{start:05}, expires: 2030-06-30}}",
            members.join(", ")
        );
    }
    s
}

#[allow(dead_code)] // the test that includes this file uses `profile` only
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = match args.first().map(|a| a.parse()) {
        Some(Ok(n)) if n >= 3 => n,
        _ => {
            eprintln!("usage: bench_gen N [FILE]   (N >= 3 namespaces)");
            std::process::exit(2);
        }
    };
    let text = profile(n);
    let written = match args.get(1) {
        Some(f) => std::fs::write(f, text),
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()),
    };
    if let Err(e) = written {
        eprintln!("bench_gen: {e}");
        std::process::exit(1);
    }
}
