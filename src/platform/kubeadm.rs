//! kubeadm: a cluster whose control plane runs on its own nodes, so kharden
//! writes the files those nodes read and the API server applies the profile's
//! identity settings itself.

use super::{ControlPlane, Identity, Prefixes, Rules};

pub(super) struct Kubeadm;

impl Rules for Kubeadm {
    fn name(&self) -> &'static str {
        "kubeadm"
    }
    fn control_plane(&self) -> ControlPlane {
        ControlPlane::Nodes
    }
    fn internal_lb_annotation(&self) -> Option<(&'static str, &'static str)> {
        // Bare clusters have no provider-wide convention (MetalLB and others each
        // have their own), so the rule refuses every LoadBalancer Service there.
        None
    }
    fn identity(&self) -> Identity {
        Identity {
            prefixes: Prefixes::Mode,
            entra_id: false,
            google_groups: false,
        }
    }
    fn starter_access(&self) -> &'static str {
        "  # The private address the API server binds to and advertises.\n  advertiseAddress: 10.0.0.10\n"
    }
}
