//! AKS: Azure runs the control plane, and users sign in through Entra ID,
//! which names users and groups itself (no OIDC prefix applies).

use super::{ControlPlane, Identity, Prefixes, Rules};

pub(super) struct Aks;

impl Rules for Aks {
    fn name(&self) -> &'static str {
        "aks"
    }
    fn control_plane(&self) -> ControlPlane {
        ControlPlane::Managed
    }
    fn internal_lb_annotation(&self) -> Option<(&'static str, &'static str)> {
        Some((
            "service.beta.kubernetes.io/azure-load-balancer-internal",
            "true",
        ))
    }
    fn identity(&self) -> Identity {
        Identity {
            prefixes: Prefixes::None,
            entra_id: true,
            google_groups: false,
        }
    }
    fn starter_access(&self) -> &'static str {
        // A private AKS endpoint is reachable only inside its virtual network.
        "  # Reachable only inside the cluster's virtual network.\n"
    }
}
