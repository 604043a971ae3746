//! Istio custom resources as typed serde structs (security.istio.io/v1,
//! networking.istio.io/v1, telemetry.istio.io/v1), and the small builders the
//! Istio rendering shares.

use super::*;

// ---- Istio types (security.istio.io/v1, networking.istio.io/v1, telemetry.istio.io/v1) ----

#[derive(Serialize)]
pub(super) struct PeerAuthenticationSpec {
    pub(super) mtls: Mtls,
}

#[derive(Serialize)]
pub(super) struct Mtls {
    pub(super) mode: &'static str,
}

#[derive(Serialize, Default)]
pub(super) struct AuthorizationPolicySpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) action: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) rules: Vec<Rule>,
}

#[derive(Serialize, Default)]
pub(super) struct Rule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) from: Vec<From>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) to: Vec<To>,
}

#[derive(Serialize)]
pub(super) struct From {
    pub(super) source: IstioSource,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct IstioSource {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) namespaces: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) principals: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) ip_blocks: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) not_ip_blocks: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct To {
    pub(super) operation: Operation,
}

#[derive(Serialize, Default)]
pub(super) struct Operation {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) methods: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) paths: Vec<String>,
    /// Strings, as the API wants them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) ports: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SidecarSpec {
    pub(super) egress: Vec<SidecarEgress>,
    pub(super) outbound_traffic_policy: OutboundPolicy,
}

#[derive(Serialize)]
pub(super) struct SidecarEgress {
    pub(super) hosts: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct OutboundPolicy {
    pub(super) mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceEntrySpec {
    pub(super) hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) addresses: Vec<String>,
    pub(super) location: &'static str,
    pub(super) ports: Vec<SePort>,
    pub(super) resolution: &'static str,
    pub(super) export_to: Vec<String>,
}

impl ServiceEntrySpec {
    /// One external host on TLS 443, visible only in its own namespace: what
    /// both a tenant's listed host and the egress gateway's copy of it are.
    pub(super) fn external_tls(host: &str, resolution: &'static str) -> Self {
        ServiceEntrySpec {
            hosts: vec![host.to_owned()],
            addresses: Vec::new(),
            location: "MESH_EXTERNAL",
            ports: vec![SePort {
                number: 443,
                name: "tls".to_owned(),
                protocol: "TLS",
            }],
            resolution,
            export_to: vec![".".to_owned()],
        }
    }
}

#[derive(Serialize)]
pub(super) struct SePort {
    pub(super) number: u16,
    pub(super) name: String,
    pub(super) protocol: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TelemetrySpec {
    pub(super) access_logging: Vec<AccessLogging>,
}

#[derive(Serialize)]
pub(super) struct AccessLogging {
    pub(super) providers: Vec<Provider>,
}

#[derive(Serialize)]
pub(super) struct Provider {
    pub(super) name: &'static str,
}

/// The egress gateway's in-cluster Service and its pods' label (Istio's install defaults).
pub(super) const EGRESS_GATEWAY_SVC: &str = "istio-egressgateway.istio-system.svc.cluster.local";
pub(super) use crate::pipeline::flows::EGRESS_GATEWAY_LABEL;
/// The one Gateway kharden renders on the egress gateway, and the subset tenants route to.
pub(super) const EGRESS_GATEWAY: &str = "egress";
pub(super) const EGRESS_SUBSET: &str = "external";

#[derive(Serialize)]
pub(super) struct GatewaySpec {
    pub(super) selector: BTreeMap<String, String>,
    pub(super) servers: Vec<Server>,
}

#[derive(Serialize)]
pub(super) struct Server {
    pub(super) port: SePort,
    pub(super) hosts: Vec<String>,
    pub(super) tls: ServerTls,
}

#[derive(Serialize)]
pub(super) struct ServerTls {
    pub(super) mode: &'static str,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct VirtualServiceSpec {
    pub(super) hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) gateways: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) export_to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) http: Vec<HttpRoute>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) tls: Vec<TlsRoute>,
}

#[derive(Serialize)]
pub(super) struct TlsRoute {
    #[serde(rename = "match")]
    pub(super) matches: Vec<TlsMatch>,
    pub(super) route: Vec<RouteDestination>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TlsMatch {
    pub(super) gateways: Vec<String>,
    pub(super) port: u16,
    pub(super) sni_hosts: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HttpRoute {
    #[serde(rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub(super) matches: Vec<HttpMatch>,
    pub(super) route: Vec<RouteDestination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) retries: Option<HttpRetry>,
}

#[derive(Serialize)]
pub(super) struct HttpMatch {
    pub(super) port: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HttpRetry {
    pub(super) attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) per_try_timeout: Option<String>,
}

#[derive(Serialize)]
pub(super) struct RouteDestination {
    pub(super) destination: Destination,
}

#[derive(Serialize)]
pub(super) struct Destination {
    pub(super) host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) subset: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) port: Option<PortSelector>,
}

#[derive(Serialize)]
pub(super) struct PortSelector {
    pub(super) number: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DestinationRuleSpec {
    pub(super) host: &'static str,
    pub(super) subsets: Vec<Subset>,
    pub(super) export_to: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct Subset {
    pub(super) name: &'static str,
}

pub(super) fn mode(m: MtlsMode) -> &'static str {
    match m {
        MtlsMode::Strict => "STRICT",
        MtlsMode::Permissive => "PERMISSIVE",
    }
}

/// Istio AuthorizationPolicy ports: numbers only; a grant with a named port or
/// a range keeps no port restriction at L7 (L4 still holds it to its ports).
pub(super) fn istio_ports(ports: &[PortSpec]) -> Vec<String> {
    let nums: Vec<String> = ports
        .iter()
        .filter_map(|p| match p.port {
            PortNum::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    if nums.len() == ports.len() {
        nums
    } else {
        vec![]
    }
}

pub(super) fn istio_rule(source: IstioSource, op: Operation) -> Rule {
    let empty = op.methods.is_empty() && op.paths.is_empty() && op.ports.is_empty();
    Rule {
        from: vec![From { source }],
        to: if empty {
            vec![]
        } else {
            vec![To { operation: op }]
        },
    }
}

pub(super) fn allow(rules: Vec<Rule>) -> AuthorizationPolicySpec {
    AuthorizationPolicySpec {
        action: Some("ALLOW"),
        rules,
    }
}

pub(super) fn authorization_source(a: &MeshAuthorization) -> IstioSource {
    IstioSource {
        namespaces: a.from.namespace.iter().cloned().collect(),
        principals: a.from.principals.clone(),
        ..IstioSource::default()
    }
}
