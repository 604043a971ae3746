//! The `policy` and `exceptions` sections as validation leaves them (#32 item
//! 2): registry entries parsed, each exception's expiry parsed, and every rule
//! instance planned once, with its scope, parameters and enforcement mode.
//! `policy::validate` fills it; rendering, the coverage table and `facts`
//! read it, never the raw strings.

use super::registry::Entry;
use super::rule::Instance;
use crate::clock::Date;

/// The validated policy; empty without a `policy` section (or when the
/// profile is invalid, which is then never rendered).
#[derive(Debug, Default)]
pub struct PolicyPlan {
    /// `policy.allowedRegistries`, parsed, in profile order.
    pub registries: Vec<Entry>,
    /// Each exception, in profile order.
    pub exceptions: Vec<Waiver>,
    /// Every rule instance, in render order.
    pub instances: Vec<Instance>,
    /// The MutatingAdmissionPolicy apiVersion the chosen engine renders its
    /// mutations as on this cluster, if it renders any.
    pub mutating_api: Option<&'static str>,
}

/// The MutatingAdmissionPolicy API that only serves with its feature gate on.
pub const MUTATING_V1BETA1: &str = "admissionregistration.k8s.io/v1beta1";

impl PolicyPlan {
    /// Whether the mutating policies are rendered as the v1beta1 API, which
    /// the API server serves only with the `MutatingAdmissionPolicy` feature
    /// gate and that API turned on.
    pub fn mutating_beta(&self) -> bool {
        self.mutating_api == Some(MUTATING_V1BETA1)
    }
}

/// One exception, validated.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// The last day it holds.
    pub expires: Date,
    /// Its `allow` list as registry entries (an `allowedRegistries`
    /// exception; empty for the other rules).
    pub registries: Vec<Entry>,
}
