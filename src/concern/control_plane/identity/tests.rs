//! Tests of OIDC sign-in: both kubeadm modes, and the managed platforms' identity checks.

use crate::testing::{errors, extra_args, object, render};
use serde_json::{Value, json};

fn on(platform: &str, body: &str) -> Result<Vec<(String, Value)>, String> {
    let text = format!(
        "{}{body}",
        crate::testing::HEAD.replace("kubeadm", platform)
    );
    let m =
        crate::load_text(&text, "t.yaml", crate::testing::today()).map_err(|e| e.to_string())?;
    let r = crate::render(&m).map_err(|e| e.to_string())?;
    Ok(r.set
        .iter()
        .map(|f| {
            (
                f.path().to_owned(),
                serde_saphyr::from_str(f.body()).unwrap(),
            )
        })
        .collect())
}

const ENTRA: &str = "identity:\n  oidc: {issuerURL: \"https://login.microsoftonline.com/3f2b8c1e-5d4a-4c2b-9e7f-0a1b2c3d4e5f/v2.0\", clientID: k, groupsClaim: groups}\n";

#[test]
fn aks_never_disables_local_accounts_without_an_admin_group() {
    let e = on("aks", ENTRA).unwrap_err();
    assert!(e.contains("identity.adminGroupObjectIDs"), "{e}");
    assert!(e.contains("no one could administer the cluster"), "{e}");
    let e = on("aks", &format!("{ENTRA}  adminGroupObjectIDs: [admins]\n")).unwrap_err();
    assert!(e.contains("`admins` is not an Entra ID object ID"), "{e}");
    let id = "7a8b9c0d-3456-4789-abcd-ef0123456789";
    let objs = on("aks", &format!("{ENTRA}  adminGroupObjectIDs: [{id}]\n")).unwrap();
    let p = &object(&objs, "control-plane/aks/managedcluster.yaml")["properties"];
    assert_eq!(p["disableLocalAccounts"], true);
    assert_eq!(p["aadProfile"]["adminGroupObjectIDs"], json!([id]));
}

#[test]
fn gke_group_bindings_need_google_groups_for_rbac() {
    let body =
        "namespaces:\n  - name: a\n    access:\n      - {group: devs@example.com, role: view}\n";
    let e = on("gke", body).unwrap_err();
    assert!(e.contains("namespaces[0].access[0].group"), "{e}");
    assert!(e.contains("would never match"), "{e}");
    let e = on(
        "gke",
        &format!("identity:\n  securityGroup: admins@example.com\n{body}"),
    )
    .unwrap_err();
    assert!(e.contains("not a Google Groups for RBAC group"), "{e}");
    let objs = on(
        "gke",
        &format!("identity:\n  securityGroup: gke-security-groups@example.com\n{body}"),
    )
    .unwrap();
    let c = object(&objs, "control-plane/gke/cluster.yaml");
    assert_eq!(
        c["authenticatorGroupsConfig"],
        json!({"enabled": true, "securityGroup": "gke-security-groups@example.com"})
    );
    // Users need no group plumbing.
    on(
        "gke",
        "namespaces:\n  - name: a\n    access:\n      - {user: a@example.com, role: view}\n",
    )
    .unwrap();
}

#[test]
fn the_issuer_ca_reaches_the_api_server_in_either_mode_or_is_refused() {
    const PEM: &str = "-----BEGIN CERTIFICATE-----\n    MIIB\n    -----END CERTIFICATE-----\n";
    let config = OIDC.replace("MODE", "config").replace(
        "    clientID: kube\n",
        &format!(
            "    clientID: kube\n    certificateAuthority: |\n      {}",
            PEM.replace("\n    ", "\n      ")
        ),
    );
    let objs = render(&config);
    let ca = object(&objs, AC)["jwt"][0]["issuer"]["certificateAuthority"].clone();
    assert!(
        ca.as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----\nMIIB\n"),
        "{ca}"
    );
    let flags = OIDC
        .replace("MODE", "flags")
        .replace("    clientID: kube\n", "    clientID: kube\n    caFile: /etc/kubernetes/pki/idp-ca.crt\n    signingAlgs: [ES256]\n");
    let a = args(&render(&flags));
    assert!(a.contains(&(
        "oidc-ca-file".to_owned(),
        "/etc/kubernetes/pki/idp-ca.crt".to_owned()
    )));
    assert!(a.contains(&("oidc-signing-algs".to_owned(), "ES256".to_owned())));
    // What a mode cannot write is refused, not dropped.
    let e = errors(&flags.replace("mode: flags", "mode: config"));
    assert!(e.contains("identity.oidc.caFile"), "{e}");
    assert!(e.contains("identity.oidc.signingAlgs"), "{e}");
    let e = errors(&config.replace("mode: config", "mode: flags"));
    assert!(
        e.contains("`certificateAuthority` is written into the structured config"),
        "{e}"
    );
}

const CC: &str = "control-plane/kubeadm/clusterconfiguration.yaml";
const AC: &str = "control-plane/kubeadm/authentication-config.yaml";

const OIDC: &str = "identity:\n  mode: MODE\n  oidc:\n    issuerURL: https://idp.example.com\n    clientID: kube\n    usernameClaim: email\n    usernamePrefix: \"oidc:\"\n    groupsClaim: groups\n    groupsPrefix: \"oidc:\"\n    requiredClaims: {hd: example.com}\nnamespaces:\n  - name: a\n    access:\n      - {user: alice@example.com, role: view}\n";

fn args(objs: &[(String, Value)]) -> Vec<(String, String)> {
    extra_args(&object(objs, CC))
}

fn with_version(v: &str, body: &str) -> Vec<(String, Value)> {
    // `testing::HEAD` pins 1.33; a later `cluster` key would be a duplicate,
    // so swap the version in the rendered profile text instead.
    let text = format!("{}{body}", crate::testing::HEAD).replace("\"1.33\"", &format!("\"{v}\""));
    let model = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
    crate::render(&model)
        .unwrap()
        .set
        .iter()
        .map(|m| {
            (
                m.path().to_owned(),
                serde_saphyr::from_str(m.body()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn config_mode_writes_the_file_and_no_oidc_flag() {
    let objs = render(&OIDC.replace("MODE", "config"));
    let a = args(&objs);
    assert!(
        a.iter()
            .any(|(n, v)| n == "authentication-config" && v == super::CONFIG_PATH)
    );
    assert!(!a.iter().any(|(n, _)| n.starts_with("oidc-")), "{a:?}");
    assert!(!a.iter().any(|(n, _)| n == "anonymous-auth"), "{a:?}");
    let ac = object(&objs, AC);
    assert_eq!(ac["apiVersion"], "apiserver.config.k8s.io/v1beta1");
    assert_eq!(ac["kind"], "AuthenticationConfiguration");
    let jwt = &ac["jwt"][0];
    assert_eq!(jwt["issuer"]["url"], "https://idp.example.com");
    assert_eq!(jwt["issuer"]["audiences"], json!(["kube"]));
    assert_eq!(
        jwt["claimMappings"]["username"],
        json!({"claim": "email", "prefix": "oidc:"})
    );
    assert_eq!(
        jwt["claimMappings"]["groups"],
        json!({"claim": "groups", "prefix": "oidc:"})
    );
    assert_eq!(
        jwt["claimValidationRules"],
        json!([{"claim": "hd", "requiredValue": "example.com"}])
    );
    assert_eq!(
        ac["anonymous"]["conditions"],
        json!([{"path": "/healthz"}, {"path": "/livez"}, {"path": "/readyz"}])
    );
    // The RBAC subject carries the very prefix the config writes.
    let rb = object(
        &objs,
        "a/rolebinding-view-user-alice-example-com-a7ff2a46.yaml",
    );
    assert_eq!(rb["subjects"][0]["name"], "oidc:alice@example.com");
}

#[test]
fn config_mode_from_1_34_uses_v1() {
    for (v, want) in [("1.33", "v1beta1"), ("1.34", "v1"), ("1.37", "v1")] {
        let objs = with_version(v, &OIDC.replace("MODE", "config"));
        assert_eq!(
            object(&objs, AC)["apiVersion"],
            format!("apiserver.config.k8s.io/{want}"),
            "{v}"
        );
    }
}

#[test]
fn flags_mode_writes_oidc_flags_and_no_config() {
    let objs = render(&OIDC.replace("MODE", "flags"));
    let a = args(&objs);
    let get = |n: &str| a.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("oidc-issuer-url"), Some("https://idp.example.com"));
    assert_eq!(get("oidc-client-id"), Some("kube"));
    assert_eq!(get("oidc-username-claim"), Some("email"));
    assert_eq!(get("oidc-username-prefix"), Some("oidc:"));
    assert_eq!(get("oidc-groups-claim"), Some("groups"));
    assert_eq!(get("oidc-groups-prefix"), Some("oidc:"));
    assert_eq!(get("oidc-required-claim"), Some("hd=example.com"));
    assert_eq!(get("authentication-config"), None);
    assert!(!objs.iter().any(|(p, _)| p == AC));
    // Anonymous auth stays on (kubelet probes), limited by RBAC; said in the output.
    assert_eq!(get("anonymous-auth"), Some("true"));
}

#[test]
fn flags_mode_without_prefix_writes_the_issuer_default_explicitly() {
    let objs = render("identity:\n  oidc: {issuerURL: https://idp.example.com, clientID: kube}\n");
    let a = args(&objs);
    assert!(a.contains(&(
        "oidc-username-prefix".to_owned(),
        "https://idp.example.com#".to_owned()
    )));
}

#[test]
fn aks_refuses_an_issuer_that_is_not_entra_id() {
    let e = errors("identity:\n  oidc: {issuerURL: http://idp.example.com, clientID: kube}\n");
    assert!(!e.contains("Entra"), "kubeadm accepts any issuer: {e}");
    let text = format!(
        "{}identity:\n  oidc: {{issuerURL: https://idp.example.com, clientID: kube}}\napiServer: {{private: true}}\n",
        crate::testing::HEAD.replace("kubeadm", "aks")
    );
    let e = crate::load_text(&text, "t.yaml", crate::testing::today())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("AKS signs users in only through Entra ID"),
        "{e}"
    );
}

#[test]
fn entra_tenants_are_recognised() {
    let t = "3f2b8c1e-5d4a-4c2b-9e7f-0a1b2c3d4e5f";
    assert_eq!(
        super::entra_tenant(&format!("https://sts.windows.net/{t}/")),
        Some(t)
    );
    assert_eq!(
        super::entra_tenant(&format!("https://login.microsoftonline.com/{t}/v2.0")),
        Some(t)
    );
    assert_eq!(
        super::entra_tenant("https://sts.windows.net.evil.com/x/"),
        None
    );
    assert_eq!(super::entra_tenant("https://accounts.google.com"), None);
}

/// #30 item 5: `--oidc-ca-file` is read inside the kube-apiserver container, so
/// a path outside the directories kubeadm mounts gets its own read-only mount;
/// one inside them gets none (kubeadm's own mount already shows it).
#[test]
fn an_oidc_ca_file_outside_kubeadms_mounts_is_mounted_read_only() {
    let with_ca = |path: &str| {
        OIDC.replace("MODE", "flags").replace(
            "    clientID: kube\n",
            &format!("    clientID: kube\n    caFile: {path}\n"),
        )
    };
    let ca_mounts = |path: &str| -> Vec<Value> {
        let objs = render(&with_ca(path));
        assert!(args(&objs).contains(&("oidc-ca-file".to_owned(), path.to_owned())));
        object(&objs, CC)["apiServer"]["extraVolumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["name"] == "oidc-ca-file")
            .cloned()
            .collect()
    };
    for outside in [
        "/opt/idp/ca.pem",
        "/etc/pki/idp/ca.pem",
        "/etc/ssl/certs2/ca.pem",
    ] {
        assert_eq!(
            ca_mounts(outside),
            vec![json!({
                "name": "oidc-ca-file",
                "hostPath": outside,
                "mountPath": outside,
                "readOnly": true,
                "pathType": "File",
            })],
            "{outside}"
        );
    }
    for inside in [
        "/etc/kubernetes/pki/idp-ca.crt",
        "/etc/ssl/certs/idp.pem",
        "/etc/pki/tls/certs/idp.pem",
        "/usr/local/share/ca-certificates/idp.crt",
    ] {
        assert_eq!(ca_mounts(inside), Vec::<Value>::new(), "{inside}");
    }
    let e = errors(&with_ca("idp-ca.crt"));
    assert!(e.contains("identity.oidc.caFile"), "{e}");
    assert!(e.contains("`idp-ca.crt` is not an absolute path"), "{e}");
}

/// #30 item 4: AKS names Entra member users by UPN (the object ID only when a
/// token has no UPN), so a user subject written as an object ID is refused
/// there, in namespace access and cluster access alike; UPNs and group object
/// IDs pass, and other platforms take the id as written.
#[test]
fn aks_refuses_users_written_as_object_ids() {
    const OID: &str = "0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff";
    let admins = "  adminGroupObjectIDs: [7a8b9c0d-3456-4789-abcd-ef0123456789]\n";
    let body = format!(
        "{ENTRA}{admins}namespaces:\n  - name: a\n    access:\n      - {{user: {OID}, role: view}}\n      - {{user: alice@example.com, role: view}}\n      - {{group: 5e6f7a8b-1234-4567-89ab-cdef01234567, role: view}}\nclusterAccess:\n  - user: {OID}\n    justification: reads nodes for the capacity dashboard\n    rules: [{{apiGroups: [\"\"], resources: [nodes], verbs: [get]}}]\n"
    );
    let e = on("aks", &body).unwrap_err();
    crate::testing::assert_contains_all(
        &e,
        &[
            &format!(
                "error: on aks Entra ID names a member user by their UPN, so the object ID `{OID}` never matches one"
            ),
            "= field: namespaces[0].access[0].user",
            "= field: clusterAccess[0].user",
            "= hint: write the user's UPN (e.g. alice@example.com), or bind an Entra ID group by its object ID",
            "the profile has 2 problems",
        ],
    );
    let upn = body.replace(OID, "bob@example.com");
    let objs = on("aks", &upn).unwrap();
    assert!(
        objs.iter()
            .any(|(_, o)| o["subjects"][0]["name"] == "bob@example.com")
    );
    // Without Entra ID sign-in, or on another platform, the id is taken as written.
    on("aks", &body.replace(ENTRA, "identity:\n")).unwrap();
    on("eks", &body.replace(admins, "")).unwrap();
}
