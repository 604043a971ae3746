//! GKE: Google runs the control plane; OIDC goes through GKE Identity Service
//! (configured with the profile's prefixes), and without it Google accounts'
//! groups reach RBAC only through Google Groups for RBAC.

use super::{ControlPlane, Identity, Prefixes, Rules};

pub(super) struct Gke;

impl Rules for Gke {
    fn name(&self) -> &'static str {
        "gke"
    }
    fn control_plane(&self) -> ControlPlane {
        ControlPlane::Managed
    }
    fn internal_lb_annotation(&self) -> Option<(&'static str, &'static str)> {
        Some(("networking.gke.io/load-balancer-type", "Internal"))
    }
    fn identity(&self) -> Identity {
        Identity {
            prefixes: Prefixes::Mode,
            entra_id: false,
            google_groups: true,
        }
    }
    fn starter_access(&self) -> &'static str {
        "  # Networks that may reach the API endpoint (your admin and CI networks).\n  authorizedNetworks: [10.0.0.0/8]\n"
    }
}
