//! The quota concern's decisions: each namespace's quota and LimitRange,
//! parsed, with where each quota value came from. Shared by the concerns
//! and checks that read them (mesh proxy sizing, policy coverage, lint,
//! facts); it imports nothing that renders.

use std::sync::Arc;

use crate::input::position::FieldPath;
use crate::k8s::quantity::{Amount, Amounts};

/// The quota and LimitRange of every profile namespace, decided once by the
/// quota concern's `validate` and read by everything that needs them (the
/// objects, the mesh proxy's sizing, policy coverage, lint, facts).
#[derive(Debug, Default)]
pub struct Quotas {
    /// One per profile namespace, in profile order.
    pub namespaces: Vec<NamespaceQuota>,
}

/// One namespace's quota and container limits, parsed.
#[derive(Debug)]
pub struct NamespaceQuota {
    /// `defaults.quota` merged key by key with the namespace's own; shared
    /// (not copied) by the namespaces that add nothing to the defaults.
    pub hard: Arc<HardValues>,
    /// The platform components whose LoadBalancer Service runs here; the
    /// quota makes room for them.
    pub load_balancers: Vec<String>,
    /// The LimitRange values: the namespace's own or the defaults (shared).
    pub limits: Option<Arc<Limits>>,
}

/// Quota values by resource name, in name order: one exact-size
/// allocation per namespace (a map's node is several times larger, and the
/// plan holds one for each of 10,000 namespaces).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HardValues(Vec<(String, Hard)>);

impl HardValues {
    pub fn get(&self, key: &str) -> Option<&Hard> {
        self.position(key).ok().map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &Hard)> {
        self.0.iter().map(|(k, h)| (k, h))
    }
    /// Sets `key`, replacing its value if it has one.
    pub fn insert(&mut self, key: String, value: Hard) {
        match self.position(&key) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }
    /// Gives back what insertions reserved beyond the values.
    pub fn shrink(&mut self) {
        self.0.shrink_to_fit();
    }
    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }
}

impl Extend<(String, Hard)> for HardValues {
    fn extend<I: IntoIterator<Item = (String, Hard)>>(&mut self, values: I) {
        for (k, v) in values {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, Hard)> for HardValues {
    fn from_iter<I: IntoIterator<Item = (String, Hard)>>(values: I) -> Self {
        let mut h = HardValues::default();
        h.extend(values);
        h
    }
}

/// One quota value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Hard {
    pub amount: Amount,
    pub origin: Origin,
}

/// Who set a quota value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// kharden: the closed load balancers and node ports, or the room a
    /// platform component's LoadBalancer Service needs.
    Kharden,
    /// `defaults.quota`.
    Defaults,
    /// The namespace's own `quota`.
    Namespace,
}

impl NamespaceQuota {
    /// The field a user edits to change `key` in namespace `index`: the
    /// namespace's own quota when it sets the key, else the defaults.
    pub fn path(&self, index: usize, key: &str) -> FieldPath {
        match self.hard.get(key).map(|h| h.origin) {
            Some(Origin::Namespace) => FieldPath::root()
                .key("namespaces")
                .index(index)
                .key("quota")
                .key(key),
            _ => FieldPath::root().key("defaults").key("quota").key(key),
        }
    }
}

/// A LimitRange of type Container, by field.
#[derive(Debug, Default)]
pub struct Limits {
    pub min: Amounts,
    pub default_request: Amounts,
    pub default: Amounts,
    pub max: Amounts,
}
