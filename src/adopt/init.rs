//! `kharden init`: a commented starter profile for a platform, which renders as
//! it is. The text is fixed; only the platform and a validated name go in.

use crate::input::profile::Platform;
use crate::k8s::names;

/// Why `kharden init` cannot write a starter (`--platform` takes only the
/// platforms kharden knows: clap refuses any other).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("`{name}` is not a valid profile name: {why}")]
    Name { name: String, why: names::Invalid },
}

/// The starter profile for `platform`, named `name`.
pub fn starter(platform: Platform, name: &str) -> Result<String, Error> {
    let rules = crate::platform::of(platform);
    let platform = rules.name();
    names::dns_label(name).map_err(|why| Error::Name {
        name: name.to_owned(),
        why,
    })?;
    let access = rules.starter_access();
    let identity = if rules.identity().entra_id {
        // AKS signs users in through Entra ID only, and applies no prefixes.
        "identity:\n  # Entra ID: replace the tenant and client ids with yours. Write users below by\n  # their UPN (AKS names them so) and groups by their Entra object id.\n  oidc:\n    issuerURL: https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0\n    clientID: 00000000-0000-0000-0000-000000000000\n    groupsClaim: groups\n  # Local accounts are disabled: this Entra ID group gets cluster-admin.\n  adminGroupObjectIDs: [00000000-0000-0000-0000-000000000000]\n"
    } else {
        "identity:\n  # Write bare user and group ids below: these prefixes are applied for you.\n  oidc:\n    issuerURL: https://idp.example.com/\n    clientID: kubernetes\n    usernameClaim: email\n    usernamePrefix: \"oidc:\"\n    groupsClaim: groups\n    groupsPrefix: \"oidc:\"\n  mode: flags\n"
    };
    // The newest release: a new cluster starts with the longest support.
    let version = crate::input::releases::NEWEST.version;
    Ok(format!(
        r#"# yaml-language-server: $schema=kharden.schema.json
# A kharden cluster profile. `kharden render {name}.yaml` writes every artifact to
# out/{name}/; `kharden schema > kharden.schema.json` gives your editor completion.
apiVersion: kharden.dev/v1alpha1
kind: ClusterProfile
metadata:
  name: {name}
# Hardened defaults (restricted Pod Security, quotas with no load balancers or node
# ports, default-deny networking). Maps merge key by key; lists replace.
extends: [baseline]

cluster:
  name: {name}
  platform: {platform}
  kubernetesVersion: "{version}"
  ingressDomain: apps.{name}.example.com
  # Gateway API: the shared Gateway tenants' routes attach to, and its proxy pods,
  # which the routed namespaces accept traffic from. Here Envoy Gateway (proxies in
  # its own namespace); Istio and NGINX Gateway Fabric run them in the Gateway's
  # namespace, labelled gateway.networking.k8s.io/gateway-name: <name>.
  gateways:
    - name: public
      namespace: gateway-system
      podNamespace: envoy-gateway-system
      podLabels:
        gateway.envoyproxy.io/owning-gateway-name: public
        gateway.envoyproxy.io/owning-gateway-namespace: gateway-system

apiServer:
  private: true
{access}
{identity}
namespaces:
  - name: team-a
    annotations:
      contact: team-a@example.com
    access:
      - group: team-a-developers
        role: edit
      - user: alice@example.com
        role: view
"#
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_renders() {
        for p in crate::platform::ALL {
            let text = starter(p, "demo").unwrap();
            let m = crate::load_text(&text, "demo.yaml", crate::testing::today())
                .unwrap_or_else(|e| panic!("{p:?}:\n{e}"));
            assert_eq!(m.profile.cluster.platform, p);
            let r = crate::render(&m).unwrap();
            // Starters route through Gateway API: team-a accepts the Gateway's proxies.
            assert!(
                r.set.iter().any(|o| o.kind() == "NetworkPolicy"
                    && o.path()
                        == "team-a/networkpolicy-allow-from-gateway-gateway-system-public.yaml"),
                "{p:?}"
            );
        }
    }

    /// #30 item 13: a starter names the newest release, which lint does not
    /// flag as past its end of life while upstream supports it.
    #[test]
    fn starters_start_at_the_newest_release() {
        for p in crate::platform::ALL {
            let text = starter(p, "demo").unwrap();
            let m = crate::load_text(&text, "demo.yaml", crate::testing::today()).unwrap();
            assert_eq!(m.profile.cluster.kubernetes_version, "1.37", "{p:?}");
            assert!(
                !crate::pipeline::lint::run(&m)
                    .iter()
                    .any(|f| f.rule.id == "KH018"),
                "{p:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(
            starter(Platform::Eks, "Bad Name"),
            Err(Error::Name {
                name: "Bad Name".to_owned(),
                why: names::Invalid::UpperCase
            })
        );
    }
}
