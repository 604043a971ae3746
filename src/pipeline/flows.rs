//! The flow model both NetworkPolicies and mesh policies are built from: a
//! flow's two ends (pods in a namespace, or an IP block), its ports, the
//! namespace that declared it, and each namespace's default-deny directions.
//! Flows are resolved once per model (`Model::flows`), not per concern.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::input::profile::{Direction, GatewaySpec, MeshProvider, NamespaceSpec, Peer, Profile};
use crate::input::source::FieldPath;
use crate::k8s::net::{Cidr, CidrError};

/// What the flow model reads: a profile, or anything that holds one (the
/// `Model` implements it), so this module depends on no other.
pub(crate) trait Profiled {
    fn profile(&self) -> &Profile;
}

impl Profiled for Profile {
    fn profile(&self) -> &Profile {
        self
    }
}

/// Pod labels, shared: a flow's end, its halves in the allowance plan and
/// their policies hold one copy (the plan of a large fleet holds many).
pub(crate) type Labels = Arc<BTreeMap<String, String>>;

/// No labels (every pod), one shared copy.
pub(crate) fn no_labels() -> Labels {
    static NONE: std::sync::LazyLock<Labels> = std::sync::LazyLock::new(Labels::default);
    NONE.clone()
}

/// The namespace label the API server sets on every namespace (immutable).
pub(crate) const NS_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Istio's and Linkerd's control-plane namespaces (their install defaults).
pub(crate) const ISTIO_NS: &str = "istio-system";
pub(crate) const LINKERD_NS: &str = "linkerd";

/// One port of a flow: a number, a range (`endPort`) or a named container port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PortNum {
    Number(u16),
    Range(u16, u16),
    Named(String),
}

/// A parsed `8080/TCP`, `8000-8100/TCP`, `http/TCP`; the protocol defaults to TCP.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortSpec {
    pub port: PortNum,
    pub protocol: String,
}

impl PortSpec {
    /// One TCP port.
    pub fn tcp(n: u16) -> PortSpec {
        PortSpec {
            port: PortNum::Number(n),
            protocol: "TCP".to_owned(),
        }
    }
}

/// Why a text is not a port spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("protocol `{0}` is not TCP, UDP or SCTP")]
    Protocol(String),
    #[error("{0} is outside 1-65535")]
    OutOfRange(u32),
    #[error("`{0}` is not a number")]
    Number(String),
    #[error("range {0}-{1} runs backwards")]
    Backwards(u16, u16),
    #[error("a named port is at most 15 lower-case letters, digits and `-`")]
    Name,
}

/// Parse a port spec `N/PROTO`, `A-B/PROTO` or `name/PROTO`.
pub(crate) fn parse_port(s: &str) -> Result<PortSpec, PortError> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "TCP"));
    if !matches!(proto, "TCP" | "UDP" | "SCTP") {
        return Err(PortError::Protocol(proto.to_owned()));
    }
    let num = |p: &str| -> Result<u16, PortError> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            Ok(n) => Err(PortError::OutOfRange(n)),
            Err(_) => Err(PortError::Number(p.to_owned())),
        }
    };
    let protocol = proto.to_owned();
    // `-http` is a bad name, not a range with no start.
    if let Some((a, b)) = port.split_once('-')
        && !a.is_empty()
        && a.chars().all(|c| c.is_ascii_digit())
    {
        let (a, b) = (num(a)?, num(b)?);
        if a > b {
            return Err(PortError::Backwards(a, b));
        }
        let port = if a == b {
            PortNum::Number(a)
        } else {
            PortNum::Range(a, b)
        };
        return Ok(PortSpec { port, protocol });
    }
    if port.chars().all(|c| c.is_ascii_digit()) {
        return Ok(PortSpec {
            port: PortNum::Number(num(port)?),
            protocol,
        });
    }
    // A named port: IANA_SVC_NAME, at most 15 characters, with at least one letter.
    if port.is_empty()
        || port.len() > 15
        || !port
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || port.starts_with('-')
        || port.ends_with('-')
    {
        return Err(PortError::Name);
    }
    Ok(PortSpec {
        port: PortNum::Named(port.to_owned()),
        protocol,
    })
}

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Pods with these labels (all when empty) in a namespace.
    Pods { namespace: String, labels: Labels },
    /// An IP block with holes; `net` is `cidr` parsed (validation reports
    /// the error, and a model with one is never rendered).
    Block {
        cidr: String,
        except: Vec<String>,
        net: Result<Cidr, CidrError>,
    },
}

/// Which direction a flow was written in, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    Ingress,
    Egress,
}

/// A flow of the profile, both ends resolved.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The namespace whose `network` lists it, and its index there.
    pub owner: String,
    pub index: usize,
    pub declared: Declared,
    pub src: End,
    pub dst: End,
    /// The ports that parse; those that do not are in `bad_ports`.
    pub ports: Arc<[PortSpec]>,
    /// Each port that does not parse: its index in `ports:`, its text, why.
    /// Validation reports them; a model with any is never rendered.
    pub bad_ports: Vec<(usize, String, PortError)>,
    /// The owner's position in `namespaces` (with `declared` and `index`,
    /// where the profile declares it).
    pub owner_at: usize,
}

/// Where a flow is declared, compactly (a large fleet has many flows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowAt {
    pub namespace: usize,
    pub declared: Declared,
    pub index: usize,
}

impl FlowAt {
    /// `namespaces[i].network.ingress[j]` or `...egress[j]`.
    pub fn path(&self) -> FieldPath {
        let list = match self.declared {
            Declared::Ingress => "ingress",
            Declared::Egress => "egress",
        };
        FieldPath::root()
            .key("namespaces")
            .index(self.namespace)
            .key("network")
            .key(list)
            .index(self.index)
    }
}

impl Flow {
    pub fn at(&self) -> FlowAt {
        FlowAt {
            namespace: self.owner_at,
            declared: self.declared,
            index: self.index,
        }
    }

    /// Where the profile declares it.
    pub fn path(&self) -> FieldPath {
        self.at().path()
    }
}

/// The end a profile peer names, seen from the namespace `owner`.
pub(crate) fn resolve(owner: &str, peer: &Peer) -> End {
    match &peer.cidr {
        Some(c) => End::Block {
            cidr: c.clone(),
            except: peer.except.clone(),
            net: Cidr::parse(c),
        },
        None => End::Pods {
            namespace: peer.namespace.clone().unwrap_or_else(|| owner.to_owned()),
            labels: Arc::new(peer.pod_labels.clone()),
        },
    }
}

/// Every flow of the profile, each port parsed once (validation reports the
/// ones in `bad_ports`). Use `Model::flows`, which computes them once.
pub(crate) fn resolve_all(m: &impl Profiled) -> Vec<Flow> {
    let mut out = Vec::new();
    for (i, ns) in m.profile().namespaces.iter().enumerate() {
        let Some(net) = &ns.network else { continue };
        let me = End::Pods {
            namespace: ns.name.clone(),
            labels: no_labels(),
        };
        let flow = |declared, index, src, dst, ports: &[String]| {
            let mut parsed = Vec::new();
            let mut bad_ports = Vec::new();
            for (k, p) in ports.iter().enumerate() {
                match parse_port(p) {
                    Ok(spec) => parsed.push(spec),
                    Err(e) => bad_ports.push((k, p.clone(), e)),
                }
            }
            Flow {
                owner: ns.name.clone(),
                index,
                declared,
                src,
                dst,
                ports: parsed.into(),
                bad_ports,
                owner_at: i,
            }
        };
        for (j, f) in net.ingress.iter().enumerate() {
            out.push(flow(
                Declared::Ingress,
                j,
                resolve(&ns.name, &f.from),
                me.clone(),
                &f.ports,
            ));
        }
        for (j, f) in net.egress.iter().enumerate() {
            out.push(flow(
                Declared::Egress,
                j,
                me.clone(),
                resolve(&ns.name, &f.to),
                &f.ports,
            ));
        }
    }
    out
}

/// Whether `ns` denies `dir` by default.
pub(crate) fn denies(m: &impl Profiled, ns: &NamespaceSpec, dir: Direction) -> bool {
    ns.network
        .as_ref()
        .and_then(|n| n.default_deny.as_ref())
        .unwrap_or(&m.profile().defaults.network.default_deny)
        .contains(&dir)
}

/// Where the log collector ships to, when NetworkPolicies can name it: a
/// Service host `<svc>.<ns>.svc[.cluster.local]` (its namespace's pods) or an IP.
pub(crate) fn logging_target(m: &impl Profiled) -> Option<(End, u16)> {
    let l = m.profile().logging.as_ref()?;
    let es = &l.elasticsearch;
    if let Ok(ip) = es.host.parse::<std::net::IpAddr>() {
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        return Some((
            End::Block {
                cidr: format!("{ip}/{bits}"),
                except: vec![],
                net: Ok(Cidr {
                    addr: ip,
                    prefix: bits,
                }),
            },
            es.port,
        ));
    }
    let host = es.host.strip_suffix(".cluster.local").unwrap_or(&es.host);
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [_svc, ns, "svc"] => Some((
            End::Pods {
                namespace: (*ns).to_owned(),
                labels: no_labels(),
            },
            es.port,
        )),
        _ => None,
    }
}

// ---- who runs a sidecar, and what crosses the mesh's edges ----

/// The label of the Istio egress gateway's pods: NetworkPolicies allow egress
/// to them, the mesh routes external hosts through them.
pub(crate) const EGRESS_GATEWAY_LABEL: (&str, &str) = ("istio", "egressgateway");

fn provider(m: &impl Profiled) -> MeshProvider {
    m.profile()
        .mesh
        .as_ref()
        .map_or(MeshProvider::None, |x| x.provider)
}

/// Pods of a `workloads.windows` namespace run on Windows nodes, where neither
/// mesh's Linux sidecar (an init container that programs iptables, then Envoy
/// or linkerd2-proxy) can run: such a namespace is never injected.
pub(crate) fn runs_windows(ns: &NamespaceSpec) -> bool {
    ns.workloads.as_ref().is_some_and(|w| w.windows)
}

/// Whether the namespace's pods get a sidecar (a mesh is on and they run Linux).
pub(crate) fn meshed(m: &impl Profiled, ns: &NamespaceSpec) -> bool {
    provider(m) != MeshProvider::None && !runs_windows(ns)
}

/// Every external host a namespace may reach: its own plus the mesh-wide list.
pub(crate) fn external_hosts(m: &impl Profiled, ns: &NamespaceSpec) -> BTreeSet<String> {
    m.profile()
        .mesh
        .iter()
        .flat_map(|x| &x.allowed_external_hosts)
        .chain(ns.mesh.iter().flat_map(|x| &x.allowed_external_hosts))
        .cloned()
        .collect()
}

/// The external hosts of `ns` that go through the Istio egress gateway: all but
/// wildcards (a TLS-passthrough gateway forwards to one resolved host; Istio
/// needs an SNI proxy for arbitrary wildcard hosts). Empty unless the mesh is Istio.
pub(crate) fn gateway_hosts(m: &impl Profiled, ns: &NamespaceSpec) -> BTreeSet<String> {
    if provider(m) != MeshProvider::Istio {
        return BTreeSet::new();
    }
    external_hosts(m, ns)
        .into_iter()
        .filter(|h| !h.starts_with("*."))
        .collect()
}

/// The Gateways whose pods send traffic into `ns`.
pub(crate) fn routed_into<'a>(
    m: &'a impl Profiled,
    ns: &'a str,
) -> impl Iterator<Item = &'a GatewaySpec> + 'a {
    m.profile()
        .cluster
        .gateways
        .iter()
        .filter(move |g| g.routes_from(ns))
}
