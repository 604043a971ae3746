//! EKS: AWS runs the control plane; eksctl's OIDC identity provider follows
//! the `--oidc-*` flags' prefix rules whatever `identity.mode` says.

use super::{ControlPlane, Identity, Prefixes, Rules};

pub(super) struct Eks;

impl Rules for Eks {
    fn name(&self) -> &'static str {
        "eks"
    }
    fn control_plane(&self) -> ControlPlane {
        ControlPlane::Managed
    }
    fn internal_lb_annotation(&self) -> Option<(&'static str, &'static str)> {
        Some((
            "service.beta.kubernetes.io/aws-load-balancer-internal",
            "true",
        ))
    }
    fn identity(&self) -> Identity {
        Identity {
            prefixes: Prefixes::Flags,
            entra_id: false,
            google_groups: false,
        }
    }
    fn starter_access(&self) -> &'static str {
        "  # Networks that may reach the API endpoint (your admin and CI networks).\n  authorizedNetworks: [10.0.0.0/8]\n"
    }
}
