//! Tests of the API-server rendering on every platform, and the kube-bench
//! CIS flag checks evaluated on the kubeadm command line.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::testing::{HEAD, extra_args, object, render, today};

mod issue30;
mod seam;

const CC: &str = "control-plane/kubeadm/clusterconfiguration.yaml";

fn contract(edit: impl Fn(String) -> String) -> Result<crate::Model, String> {
    let text = edit(include_str!("../../../examples/prod-east.yaml").to_owned());
    crate::load_text(&text, "prod-east.yaml", today()).map_err(|e| e.to_string())
}

/// The contract on a managed platform, whose provider keeps the control-plane
/// and audit logs (the logging concern refuses those sources there).
fn managed(s: String, platform: &str) -> String {
    let s = s.replace("platform: kubeadm", &format!("platform: {platform}"));
    if platform == "aks" {
        // AKS names member users by UPN, never by object ID.
        s.replace(
            "  mode: config\n",
            "  mode: config\n  adminGroupObjectIDs: [7a8b9c0d-3456-4789-abcd-ef0123456789]\n",
        )
        .replace(
            "user: 0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff",
            "user: alice@example.ca",
        )
    } else {
        s
    }
}

fn objects(m: &crate::Model) -> Vec<(String, Value)> {
    crate::render(m)
        .unwrap()
        .set
        .iter()
        .map(|x| {
            (
                x.path().to_owned(),
                serde_saphyr::from_str(x.body()).unwrap(),
            )
        })
        .collect()
}

fn args(cc: &Value) -> BTreeMap<String, String> {
    extra_args(cc).into_iter().collect()
}

#[test]
fn contract_renders_the_kubeadm_must_shows() {
    let m = contract(|s| s).unwrap();
    let objs = objects(&m);
    let cc = object(&objs, CC);
    assert_eq!(cc["apiVersion"], "kubeadm.k8s.io/v1beta4");
    let a = args(&cc);
    assert_eq!(
        a["authentication-config"],
        "/etc/kubernetes/authentication-config.yaml"
    );
    assert!(!a.keys().any(|k| k.starts_with("oidc-")));
    assert!(!a.contains_key("anonymous-auth"));
    assert_eq!(a["profiling"], "false");
    assert_eq!(a["authorization-mode"], "Node,RBAC");
    assert!(
        a["enable-admission-plugins"]
            .split(',')
            .any(|p| p == "NodeRestriction")
    );
    assert!(a["audit-log-maxage"].parse::<u32>().unwrap() >= 30);
    assert!(a["audit-log-maxbackup"].parse::<u32>().unwrap() >= 10);
    assert!(a["audit-log-maxsize"].parse::<u32>().unwrap() >= 100);
    let ac = object(&objs, "control-plane/kubeadm/authentication-config.yaml");
    assert_eq!(ac["apiVersion"], "apiserver.config.k8s.io/v1beta1");
    let prefix = ac["jwt"][0]["claimMappings"]["username"]["prefix"]
        .as_str()
        .unwrap();
    assert_eq!(prefix, m.user_prefix());
    // Every user subject in RBAC carries the prefix the API server applies.
    let mut users = 0;
    for (_, o) in &objs {
        for s in o["subjects"].as_array().into_iter().flatten() {
            if s["kind"] == "User" {
                users += 1;
                assert!(s["name"].as_str().unwrap().starts_with(prefix), "{s}");
            }
        }
    }
    assert!(users > 0);
    object(&objs, "control-plane/kubeadm/audit-policy.yaml");
    let init = object(&objs, "control-plane/kubeadm/initconfiguration.yaml");
    assert_eq!(init["localAPIEndpoint"]["advertiseAddress"], "10.0.0.10");
    // Mounts for every file the flags point to.
    let vols = cc["apiServer"]["extraVolumes"].as_array().unwrap();
    for p in [
        "/etc/kubernetes/authentication-config.yaml",
        "/etc/kubernetes/audit-policy.yaml",
        "/var/log/kubernetes/audit",
        super::ENCRYPTION_CONFIG_PATH,
    ] {
        assert!(
            vols.iter()
                .any(|v| v["hostPath"] == p && v["mountPath"] == p),
            "{p}"
        );
    }
    // Control-plane files stay out of the kustomization.
    let r = crate::render(&m).unwrap();
    assert!(!crate::bundle::output::stream(&r.set, "p.yaml").contains("ClusterConfiguration"));
    let files = crate::bundle::output::tree(r.set, "p.yaml")
        .unwrap()
        .into_files();
    assert!(!files["kustomization.yaml"].contains("control-plane/"));
    assert!(files.keys().any(|k| k.starts_with("control-plane/")));
}

#[test]
fn contract_on_1_34_uses_v1_and_flags_mode_uses_oidc_flags() {
    let m = contract(|s| s.replace("kubernetesVersion: \"1.33\"", "kubernetesVersion: \"1.34\""))
        .unwrap();
    let ac = object(
        &objects(&m),
        "control-plane/kubeadm/authentication-config.yaml",
    );
    assert_eq!(ac["apiVersion"], "apiserver.config.k8s.io/v1");
    let m = contract(|s| s.replace("  mode: config", "  mode: flags")).unwrap();
    let objs = objects(&m);
    let a = args(&object(&objs, CC));
    assert!(a.contains_key("oidc-issuer-url"));
    assert!(!a.contains_key("authentication-config"));
    assert!(
        !objs
            .iter()
            .any(|(p, _)| p.ends_with("authentication-config.yaml"))
    );
}

#[test]
fn contract_on_eks_is_private_with_oidc_and_audit_logging() {
    let m = contract(|s| managed(s, "eks")).unwrap();
    let objs = objects(&m);
    assert!(
        !objs
            .iter()
            .any(|(p, _)| p.starts_with("control-plane/kubeadm/"))
    );
    let c = object(&objs, "control-plane/eks/clusterconfig.yaml");
    assert_eq!(c["apiVersion"], "eksctl.io/v1alpha5");
    assert_eq!(
        c["vpc"]["clusterEndpoints"],
        json!({"privateAccess": true, "publicAccess": false})
    );
    assert!(c["vpc"].get("publicAccessCIDRs").is_none());
    let idp = &c["identityProviders"][0];
    assert_eq!(idp["type"], "oidc");
    assert_eq!(idp["usernamePrefix"].as_str().unwrap(), m.user_prefix());
    assert_eq!(
        idp["requiredClaims"]["tid"],
        "3f2b8c1e-5d4a-4c2b-9e7f-0a1b2c3d4e5f"
    );
    let types = c["cloudWatch"]["clusterLogging"]["enableTypes"]
        .as_array()
        .unwrap();
    assert!(types.contains(&json!("audit")));
    let w = super::warnings(&m);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("`identity.mode` and `apiServer.advertiseAddress` do not apply"),
        "{w:?}"
    );
}

#[test]
fn a_profile_without_api_server_settings_is_private() {
    let text = HEAD.replace("platform: kubeadm", "platform: eks");
    let m = crate::load_text(&text, "t.yaml", today()).unwrap();
    let c = object(&objects(&m), "control-plane/eks/clusterconfig.yaml");
    assert_eq!(c["vpc"]["clusterEndpoints"]["publicAccess"], false);
}

#[test]
fn public_eks_is_limited_to_the_authorized_networks() {
    let m = contract(|s| managed(s, "eks").replace("private: true", "private: false")).unwrap();
    let c = object(&objects(&m), "control-plane/eks/clusterconfig.yaml");
    assert_eq!(c["vpc"]["clusterEndpoints"]["publicAccess"], true);
    assert_eq!(
        c["vpc"]["publicAccessCIDRs"],
        json!(["10.0.0.0/8", "192.168.10.0/24"])
    );
}

#[test]
fn contract_on_gke_uses_the_current_endpoint_fields() {
    let m = contract(|s| managed(s, "gke")).unwrap();
    let c = object(&objects(&m), "control-plane/gke/cluster.yaml");
    let ip = &c["controlPlaneEndpointsConfig"]["ipEndpointsConfig"];
    assert_eq!(ip["enablePublicEndpoint"], false);
    assert_eq!(ip["authorizedNetworksConfig"]["enabled"], true);
    assert_eq!(
        ip["authorizedNetworksConfig"]["cidrBlocks"],
        json!([{"cidrBlock": "10.0.0.0/8"}, {"cidrBlock": "192.168.10.0/24"}])
    );
    assert_eq!(c["networkConfig"]["defaultEnablePrivateNodes"], true);
    assert!(c.get("privateClusterConfig").is_none());
    assert!(c.get("masterAuthorizedNetworksConfig").is_none());
}

/// #30 item 8: a private endpoint with authorized networks is one behaviour on
/// every platform: the profile loads, and where the ranges cannot apply (a
/// private AKS or EKS endpoint, kubeadm) they are dropped with a warning, so a
/// profile moves between platforms by changing `platform` alone. GKE keeps
/// them: they limit its private endpoint too.
#[test]
fn private_with_authorized_networks_loads_on_every_platform() {
    for platform in ["kubeadm", "aks", "eks", "gke"] {
        let m = contract(|s| managed(s, platform)).unwrap_or_else(|e| panic!("{platform}: {e}"));
        let w = super::warnings(&m).join("\n");
        match platform {
            "aks" | "eks" => assert!(
                w.contains(&format!("on {platform} `apiServer.authorizedNetworks` only limit a public endpoint, which `private: true` turns off: they are not rendered")),
                "{platform}: {w}"
            ),
            "kubeadm" => assert!(w.contains("`apiServer.authorizedNetworks` is not rendered for kubeadm"), "{w}"),
            _ => assert!(!w.contains("authorizedNetworks"), "{platform}: {w}"),
        }
    }
}

#[test]
fn contract_on_aks_renders_private_without_ranges() {
    let m = contract(|s| managed(s, "aks")).unwrap();
    let objs = objects(&m);
    let c = object(&objs, "control-plane/aks/managedcluster.yaml");
    let p = &c["properties"];
    assert_eq!(p["apiServerAccessProfile"]["enablePrivateCluster"], true);
    assert!(
        p["apiServerAccessProfile"]
            .get("authorizedIPRanges")
            .is_none()
    );
    assert_eq!(p["aadProfile"]["managed"], true);
    assert_eq!(
        p["aadProfile"]["tenantID"],
        "3f2b8c1e-5d4a-4c2b-9e7f-0a1b2c3d4e5f"
    );
    assert_eq!(p["disableLocalAccounts"], true);
    // Entra ID names users itself: RBAC subjects without the OIDC prefix.
    assert_eq!(m.user_prefix(), "");
    for (_, o) in &objs {
        for s in o["subjects"].as_array().into_iter().flatten() {
            assert!(
                !s["name"].as_str().unwrap().contains("sts.windows.net"),
                "{s}"
            );
        }
    }
    assert!(super::warnings(&m)[0].contains("RBAC subjects are written without them"));
}

#[test]
fn public_aks_uses_authorized_ranges() {
    let objs = render_platform(
        "aks",
        "apiServer: {private: false, authorizedNetworks: [203.0.113.0/24]}\n",
    );
    let c = object(&objs, "control-plane/aks/managedcluster.yaml");
    let acc = &c["properties"]["apiServerAccessProfile"];
    assert_eq!(acc["enablePrivateCluster"], false);
    assert_eq!(acc["authorizedIPRanges"], json!(["203.0.113.0/24"]));
    // No Entra ID in the profile: local accounts cannot be turned off.
    assert!(c["properties"].get("disableLocalAccounts").is_none());
}

fn render_platform(platform: &str, body: &str) -> Vec<(String, Value)> {
    let text = format!("{}{body}", HEAD.replace("kubeadm", platform));
    objects(&crate::load_text(&text, "t.yaml", today()).unwrap())
}

#[test]
fn private_endpoints_refuse_the_whole_internet() {
    let text = format!("{HEAD}apiServer: {{private: true, authorizedNetworks: [0.0.0.0/0]}}\n");
    let e = crate::load_text(&text, "t.yaml", today())
        .unwrap_err()
        .to_string();
    assert!(e.contains("opens the API endpoint to every address"), "{e}");
    let text = format!("{HEAD}apiServer: {{private: false, authorizedNetworks: [0.0.0.0/0]}}\n");
    assert!(crate::load_text(&text, "t.yaml", today()).is_ok());
}

#[test]
fn a_public_advertise_address_is_refused_when_private() {
    let text = format!("{HEAD}apiServer: {{advertiseAddress: 203.0.113.5}}\n");
    let e = crate::load_text(&text, "t.yaml", today())
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a private address"), "{e}");
}

/// The kube-apiserver command after kubeadm applies `patch` (JSON patch
/// `add` ops on the container's command, the only kind kharden writes).
fn patched_command(patch: &Value) -> Vec<String> {
    let mut cmd = vec![
        "kube-apiserver".to_owned(),
        "--advertise-address=10.0.0.10".to_owned(),
    ];
    for op in patch.as_array().unwrap() {
        assert_eq!(op["op"], "add");
        assert_eq!(op["path"], "/spec/containers/0/command/-");
        cmd.push(op["value"].as_str().unwrap().to_owned());
    }
    cmd
}

#[test]
fn a_private_kubeadm_api_server_binds_to_its_advertise_address_only() {
    let objs = render("apiServer: {advertiseAddress: 10.0.0.10}\n");
    let init = object(&objs, "control-plane/kubeadm/initconfiguration.yaml");
    assert_eq!(init["patches"]["directory"], super::PATCH_DIR);
    let patch = object(
        &objs,
        "control-plane/kubeadm/patches/kube-apiserver+json.yaml",
    );
    let cmd = patched_command(&patch);
    let bind: Vec<_> = cmd
        .iter()
        .filter(|a| a.starts_with("--bind-address="))
        .collect();
    assert_eq!(bind, ["--bind-address=10.0.0.10"]);
    // Never cluster-wide: a joining control-plane node has another address.
    assert!(!args(&object(&objs, CC)).contains_key("bind-address"));
    // A public API server keeps listening everywhere, by request.
    let objs = render("apiServer: {private: false, advertiseAddress: 203.0.113.5}\n");
    assert!(!objs.iter().any(|(p, _)| p.contains("patches/")));
}

#[test]
fn without_identity_kubeadm_still_limits_anonymous_access() {
    let objs = render("");
    let a = args(&object(&objs, CC));
    assert!(!a.contains_key("anonymous-auth"));
    let ac = object(&objs, "control-plane/kubeadm/authentication-config.yaml");
    assert!(ac.get("jwt").is_none());
    assert_eq!(ac["anonymous"]["enabled"], true);
}

/// kube-bench's CIS 1.12 checks, evaluated as kube-bench does on the
/// kube-apiserver command line: kubeadm's own flags, overridden by ours.
mod cis {
    use super::super::flags::KUBEADM_APISERVER_DEFAULTS;
    use super::*;

    /// Checks kharden deliberately leaves failing, with the reason.
    const UNMET: &[(&str, &str)] = &[
        (
            "1.2.1",
            "anonymous access is limited to health endpoints by the structured config (config mode) or left to RBAC because the kubelet probes anonymously (flags mode); never --anonymous-auth=false",
        ),
        (
            "1.2.9",
            "EventRateLimit needs an admission configuration file with site-specific limits (Manual)",
        ),
        (
            "1.2.11",
            "AlwaysPullImages trades availability for isolation per workload (Manual)",
        ),
    ];

    fn load(file: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cis/cis-1.12")
            .join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_saphyr::from_str(&text).unwrap()
    }

    /// The flag checks of one kube-bench group (`1.2`, `3.2`) on the API server.
    fn checks(file: &str, group: &str) -> Vec<Value> {
        let doc = load(file);
        let g = doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            // `id: 1.2` reads as a number in a generic parse.
            .find(|g| scalar(&g["id"]) == group)
            .unwrap()
            .clone();
        g["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["audit"]
                    .as_str()
                    .is_some_and(|a| a.contains("$apiserverbin"))
                    && c["type"] != "manual"
                    // Only command-line flags; 1.2.28 reads the encryption file.
                    && c["tests"]["test_items"].as_array().is_some_and(|t| {
                        t.iter()
                            .all(|i| i["flag"].as_str().is_some_and(|f| f.starts_with("--")))
                    })
            })
            .cloned()
            .collect()
    }

    fn scalar(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn item(t: &Value, flags: &BTreeMap<String, String>) -> bool {
        let name = t["flag"].as_str().unwrap().trim_start_matches("--");
        let have = flags.get(name);
        let set = t.get("set").and_then(Value::as_bool);
        let Some(cmp) = t.get("compare") else {
            return match set {
                Some(false) => have.is_none(),
                _ => have.is_some(),
            };
        };
        let Some(have) = have else { return false };
        let want = scalar(&cmp["value"]);
        match cmp["op"].as_str().unwrap() {
            "eq" => *have == want,
            "noteq" => *have != want,
            "gte" => have.parse::<i64>().unwrap_or(i64::MIN) >= want.parse::<i64>().unwrap(),
            "has" => have.contains(&want),
            "nothave" => !have.contains(&want),
            "valid_elements" => {
                let ok: Vec<&str> = want.split(',').collect();
                have.split(',').all(|e| ok.contains(&e))
            }
            op => panic!("kube-bench op `{op}` not evaluated"),
        }
    }

    fn passes(check: &Value, flags: &BTreeMap<String, String>) -> bool {
        let items = check["tests"]["test_items"].as_array().unwrap();
        let results = items.iter().map(|t| item(t, flags));
        match check["tests"]["bin_op"].as_str() {
            Some("or") => results.into_iter().any(|b| b),
            _ => results.into_iter().all(|b| b),
        }
    }

    fn command_line(m: &crate::Model) -> BTreeMap<String, String> {
        let mut flags: BTreeMap<String, String> = KUBEADM_APISERVER_DEFAULTS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        flags.extend(args(&object(&objects(m), CC)));
        flags
    }

    fn all_checks() -> Vec<Value> {
        let mut all = checks("master.yaml", "1.2");
        all.extend(checks("controlplane.yaml", "3.2"));
        all
    }

    #[test]
    fn every_flag_check_passes_except_the_documented_ones() {
        let all = all_checks();
        let automated = all
            .iter()
            .filter(|c| c["text"].as_str().unwrap().contains("(Automated)"))
            .count();
        // 1.2.2, 1.2.4-1.2.8, 1.2.10, 1.2.12-1.2.19, 1.2.21-1.2.26, 1.2.30.
        assert_eq!(automated, 22, "kube-bench's automated 1.2 checks changed");
        let mut variants = vec![("contract", contract(|s| s).unwrap())];
        variants.push((
            "flags mode",
            contract(|s| s.replace("  mode: config", "  mode: flags")).unwrap(),
        ));
        for v in ["1.34", "1.37"] {
            variants.push((
                v,
                contract(|s| s.replace("\"1.33\"", &format!("\"{v}\""))).unwrap(),
            ));
        }
        for (what, m) in &variants {
            let flags = command_line(m);
            for c in &all {
                let id = c["id"].as_str().unwrap();
                let ok = passes(c, &flags);
                match UNMET.iter().find(|(u, _)| *u == id) {
                    Some((_, why)) => {
                        assert!(
                            !c["text"].as_str().unwrap().contains("(Automated)"),
                            "{id} is automated and may not be waived"
                        );
                        assert!(!ok, "{what}: {id} now passes; drop it from UNMET ({why})");
                    }
                    None => assert!(ok, "{what}: CIS {id} fails: {}", c["text"]),
                }
            }
        }
    }

    #[test]
    fn the_evaluation_fails_a_command_line_without_our_flags() {
        let bare: BTreeMap<String, String> = KUBEADM_APISERVER_DEFAULTS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let failing: Vec<String> = all_checks()
            .iter()
            .filter(|c| !passes(c, &bare))
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        for id in ["1.2.5", "1.2.15", "1.2.16", "1.2.17", "1.2.30", "3.2.1"] {
            assert!(
                failing.contains(&id.to_owned()),
                "{id} should fail on kubeadm defaults: {failing:?}"
            );
        }
        let mut flags = bare.clone();
        flags.insert("authorization-mode".into(), "AlwaysAllow".into());
        let c = all_checks()
            .into_iter()
            .find(|c| c["id"] == "1.2.6")
            .unwrap();
        assert!(!passes(&c, &flags));
    }
}
