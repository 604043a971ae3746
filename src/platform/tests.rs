//! The seam's answers for every platform, table-driven. The platforms are
//! read from the profile's JSON Schema, so a platform added to the profile
//! without a row here fails `every_platform_has_a_row`.

use serde_json::json;

use super::{ControlPlane, Prefixes, of};
use crate::input::profile::{IdentityMode, Platform};
use crate::testing::{HEAD, today};

/// Every platform the profile accepts, as the schema lists them.
fn all() -> Vec<Platform> {
    let schema = serde_json::to_value(schemars::schema_for!(Platform)).unwrap();
    let names = schema["enum"]
        .as_array()
        .or_else(|| schema["oneOf"].as_array())
        .unwrap_or_else(|| panic!("no enum in {schema}"))
        .clone();
    names
        .into_iter()
        .map(|n| serde_json::from_value(n).unwrap())
        .collect()
}

/// (platform, control plane, internal LB annotation, prefixes, Entra ID,
/// Google Groups), as each provider documents them.
type Row = (
    &'static str,
    ControlPlane,
    Option<(&'static str, &'static str)>,
    Prefixes,
    bool,
    bool,
);

const ROWS: &[Row] = &[
    (
        "kubeadm",
        ControlPlane::Nodes,
        None,
        Prefixes::Mode,
        false,
        false,
    ),
    (
        "eks",
        ControlPlane::Managed,
        Some((
            "service.beta.kubernetes.io/aws-load-balancer-internal",
            "true",
        )),
        Prefixes::Flags,
        false,
        false,
    ),
    (
        "aks",
        ControlPlane::Managed,
        Some((
            "service.beta.kubernetes.io/azure-load-balancer-internal",
            "true",
        )),
        Prefixes::None,
        true,
        false,
    ),
    (
        "gke",
        ControlPlane::Managed,
        Some(("networking.gke.io/load-balancer-type", "Internal")),
        Prefixes::Mode,
        false,
        true,
    ),
];

fn row(p: Platform) -> &'static Row {
    let name = serde_json::to_value(p).unwrap();
    ROWS.iter()
        .find(|r| json!(r.0) == name)
        .unwrap_or_else(|| panic!("no row for {name}"))
}

#[test]
fn every_platform_has_a_row() {
    let all = all();
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all.len(), ROWS.len());
    // `--platform` and `init` list the platforms from `ALL`: it holds every one.
    let mut listed = super::ALL.to_vec();
    listed.sort();
    let mut schema = all.clone();
    schema.sort();
    assert_eq!(listed, schema);
    for p in all {
        row(p);
    }
}

#[test]
fn every_platform_answers_as_its_provider_documents() {
    for p in all() {
        let (name, cp, lb, prefixes, entra, google) = *row(p);
        let r = of(p);
        // The name is the profile's own spelling: it reads back as the platform.
        assert_eq!(r.name(), name);
        assert_eq!(
            serde_json::from_value::<Platform>(json!(r.name())).unwrap(),
            p
        );
        assert_eq!(r.control_plane(), cp, "{name}");
        assert_eq!(r.internal_lb_annotation(), lb, "{name}");
        let id = r.identity();
        assert_eq!(id.prefixes, prefixes, "{name}");
        assert_eq!(id.entra_id, entra, "{name}");
        assert_eq!(id.google_groups, google, "{name}");
    }
}

#[test]
fn prefix_rules_follow_the_platform() {
    for p in all() {
        let id = of(p).identity();
        let (name, ..) = *row(p);
        let want = |configured| match name {
            "aks" => None,
            "eks" => Some(IdentityMode::Flags),
            _ => Some(configured),
        };
        for mode in [IdentityMode::Flags, IdentityMode::Config] {
            assert_eq!(id.prefix_mode(mode), want(mode), "{name} {mode:?}");
        }
    }
}

/// The subjects RBAC writes carry the prefixes the platform's sign-in gives:
/// in `config` mode with no prefix set, only EKS (flags' rules: `<issuer>#`)
/// prefixes users; AKS drops even a written prefix.
#[test]
fn the_model_prefixes_users_and_groups_by_the_platform_rules() {
    const OIDC: &str = "identity:\n  mode: config\n  adminGroupObjectIDs: [7a8b9c0d-3456-4789-abcd-ef0123456789]\n  oidc: {issuerURL: \"https://sts.windows.net/0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff/\", clientID: k, groupsClaim: groups, groupsPrefix: \"g:\"}\n";
    let issuer = "https://sts.windows.net/0c1d2e3f-aaaa-4bbb-8ccc-ddddeeeeffff/";
    for p in all() {
        let (name, ..) = *row(p);
        let text =
            format!("{HEAD}{OIDC}").replace("platform: kubeadm", &format!("platform: {name}"));
        let m =
            crate::load_text(&text, "t.yaml", today()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (user, group) = match name {
            "eks" => (format!("{issuer}#"), "g:"),
            "aks" => (String::new(), ""),
            _ => (String::new(), "g:"),
        };
        assert_eq!(m.user_prefix(), user, "{name}");
        assert_eq!(m.group_prefix(), group, "{name}");
    }
}

/// The report and `explain` name the platform through the seam.
#[test]
fn the_overview_names_the_platform() {
    for p in all() {
        let (name, ..) = *row(p);
        let text = HEAD.replace("platform: kubeadm", &format!("platform: {name}"))
            + "apiServer: {private: false, authorizedNetworks: [10.0.0.0/8]}\n";
        let m =
            crate::load_text(&text, "t.yaml", today()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let o = crate::review::explain::overview(&m);
        assert!(
            o.starts_with(&format!("cluster t ({name}, Kubernetes 1.33)")),
            "{o}"
        );
    }
}
