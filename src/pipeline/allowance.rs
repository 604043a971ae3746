//! The L4 allowance plan: who may enter and leave each namespace, decided
//! once after validation, on first use (`Model::allowances`). Concerns
//! contribute through the registry hook `Concern::allowances` (network: the
//! defaults and the profile's flows; gateway: routed Gateways; mesh: its
//! control plane and gateways; logging: the collector and Elasticsearch).
//! NetworkPolicies, the mesh's grants and the self-check all read this plan;
//! none derives who may talk to whom again.
//!
//! A namespace is isolated per direction (`Isolation`); an allowance of a
//! direction its namespace does not isolate is dropped when the plan is
//! finished, because a policy of that direction would isolate the pods it
//! selects, the opposite of what an allowance means.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::input::profile::Direction;
use crate::input::source::FieldPath;
pub(crate) use crate::pipeline::flows::Labels;
use crate::pipeline::flows::{FlowAt, PortSpec, no_labels};

/// Where an allowance or isolation came from: the concern that contributed it
/// and the profile field that asked for it (diagnostics point there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub concern: &'static str,
    place: Place,
}

/// The field, compactly: a path shared by every allowance one field makes,
/// or a flow's position (a large fleet has many).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Field(Arc<FieldPath>),
    Flow(FlowAt),
}

impl Origin {
    pub fn new(concern: &'static str, path: Arc<FieldPath>) -> Origin {
        Origin {
            concern,
            place: Place::Field(path),
        }
    }

    /// An allowance one of the profile's flows makes.
    pub fn flow(concern: &'static str, at: FlowAt) -> Origin {
        Origin {
            concern,
            place: Place::Flow(at),
        }
    }

    /// The profile field it came from.
    pub fn path(&self) -> FieldPath {
        match &self.place {
            Place::Field(p) => FieldPath::clone(p),
            Place::Flow(at) => at.path(),
        }
    }
}

/// The other end of an allowance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// Every pod of the allowance's own namespace (a pod selector alone).
    SameNamespace,
    /// Pods with these labels (all when empty) in a namespace. The service
    /// account, when known, is the pods' mesh identity.
    Pods {
        namespace: Arc<str>,
        labels: Labels,
        service_account: Option<Arc<str>>,
    },
    /// Pods of a namespace whose label `key` has one of `values`.
    PodsWithLabelIn(Box<LabelIn>),
    /// Every pod of these namespaces.
    Namespaces(Vec<String>),
    /// An IP block with holes.
    Block { cidr: String, except: Vec<String> },
}

/// Pods of `namespace` whose label `key` has one of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelIn {
    pub namespace: String,
    pub key: String,
    pub values: Vec<String>,
}

impl Peer {
    /// Pods with `labels` in `namespace`, identity unknown.
    pub fn pods(namespace: &str, labels: Labels) -> Peer {
        Peer::Pods {
            namespace: namespace.into(),
            labels,
            service_account: None,
        }
    }
}

/// One half of a connection a namespace lets through: ingress into its pods
/// `pods` from `peer`, or egress from them to `peer`, on `ports` (all when
/// empty). Allowances of one namespace that share a name are one policy.
#[derive(Debug, Clone)]
pub struct Allowance {
    /// One copy per namespace, shared by its allowances.
    pub namespace: Arc<str>,
    pub direction: Direction,
    /// The policy name, in every rendering (NetworkPolicy, mesh grant).
    pub name: Cow<'static, str>,
    /// The pods it applies to, by label (all when empty).
    pub pods: Labels,
    pub peer: Peer,
    /// Parsed, shared with the flow they come from.
    pub ports: Arc<[PortSpec]>,
    /// Whether the mesh authorizes it too (ingress only): what L4 lets in, L7
    /// lets in, so turning the mesh on never breaks it.
    pub mesh: bool,
    pub origin: Origin,
}

impl Allowance {
    /// An allowance for every pod of `namespace`, that the mesh authorizes too.
    pub fn new(
        namespace: &str,
        direction: Direction,
        name: impl Into<Cow<'static, str>>,
        peer: Peer,
        ports: Arc<[PortSpec]>,
        origin: Origin,
    ) -> Allowance {
        Allowance {
            namespace: namespace.into(),
            direction,
            name: name.into(),
            pods: no_labels(),
            peer,
            ports,
            mesh: true,
            origin,
        }
    }
}

/// A namespace's default deny: the directions in which its pods accept or
/// send only what an allowance lets through.
#[derive(Debug, Clone)]
pub struct Isolation {
    pub name: &'static str,
    pub ingress: bool,
    pub egress: bool,
    pub origin: Origin,
}

impl Isolation {
    pub fn denies(&self, d: Direction) -> bool {
        match d {
            Direction::Ingress => self.ingress,
            Direction::Egress => self.egress,
        }
    }
}

/// One namespace's part of the plan.
#[derive(Debug, Default)]
pub struct NamespacePlan {
    pub isolation: Option<Isolation>,
    /// In contribution order (registry order, then each concern's own).
    pub allowances: Vec<Allowance>,
}

/// What the concerns contribute, before `finish` drops what no isolation needs.
#[derive(Debug, Default)]
pub(crate) struct Contributions {
    isolations: Vec<(String, Isolation)>,
    allowances: Vec<Allowance>,
}

impl Contributions {
    /// `namespace` denies the directions `isolation` names.
    pub(crate) fn isolate(&mut self, namespace: &str, isolation: Isolation) {
        self.isolations.push((namespace.to_owned(), isolation));
    }

    pub(crate) fn allow(&mut self, a: Allowance) {
        self.allowances.push(a);
    }

    /// The plan: per namespace its isolation and the allowances of the
    /// directions it denies.
    pub(crate) fn finish(self) -> Allowances {
        let mut by_ns: BTreeMap<Arc<str>, NamespacePlan> = BTreeMap::new();
        for (ns, iso) in self.isolations {
            by_ns.entry(ns.into()).or_default().isolation = Some(iso);
        }
        for mut a in self.allowances {
            let Some(ns) = by_ns.get_key_value(&*a.namespace).map(|(k, _)| k.clone()) else {
                continue;
            };
            if let Some(p) = by_ns.get_mut(&ns)
                && p.isolation.as_ref().is_some_and(|i| i.denies(a.direction))
            {
                a.namespace = ns;
                p.allowances.push(a);
            }
        }
        for p in by_ns.values_mut() {
            p.allowances.shrink_to_fit();
        }
        Allowances { by_ns }
    }
}

/// The allowance plan, by namespace.
#[derive(Debug, Default)]
pub struct Allowances {
    by_ns: BTreeMap<Arc<str>, NamespacePlan>,
}

impl Allowances {
    /// Every namespace with an isolation, by name.
    pub fn namespaces(&self) -> impl Iterator<Item = (&str, &NamespacePlan)> {
        self.by_ns.iter().map(|(n, p)| (&**n, p))
    }

    /// The allowances of `ns` (none when it isolates nothing).
    pub fn of(&self, ns: &str) -> &[Allowance] {
        self.by_ns
            .get(ns)
            .map(|p| p.allowances.as_slice())
            .unwrap_or_default()
    }

    /// Every allowance, by namespace.
    pub fn iter(&self) -> impl Iterator<Item = &Allowance> {
        self.by_ns.values().flat_map(|p| &p.allowances)
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_mesh;
