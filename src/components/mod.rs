//! The platform model (#29): the third-party components the profile names or
//! implies, each with its namespace, pod labels, service account, images, OS,
//! exposure and what it must reach. The bundle's own rules apply to them like
//! to any tenant, so the policy plan reads this model to derive the exemptions
//! they need (with the reason on the object), the network concern to render
//! the flows they need, and `check` proves after every render that each one is
//! admitted, schedulable and reachable.
//!
//! Defaults follow each distribution's published install: ingress-nginx
//! (`deploy/static/provider/*/deploy.yaml`), ECK (`operator.yaml` and the
//! labels it puts on Elasticsearch pods), Istio and Linkerd (their charts'
//! image repositories), Gatekeeper (`gatekeeper.yaml`). Every field can be
//! overridden under `components:` in the profile.

pub mod check;
pub(crate) mod scope;

use std::collections::BTreeMap;

use crate::input::profile::{
    Collector, ComponentOverride, MeshProvider, PolicyEngine, Profile, ServiceType,
};
use crate::pipeline::flows::{End, ISTIO_NS, LINKERD_NS, logging_target};

/// What a component is to the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    IngressController,
    GatewayProxy,
    LogCollector,
    Elasticsearch,
    ElasticOperator,
    MeshControlPlane,
    /// The proxy the mesh injects into every meshed pod: it lives in tenant
    /// namespaces, so its image is allowed everywhere the mesh is.
    MeshSidecar,
    PolicyEngine,
}

impl Role {
    /// The `components:` key that overrides it.
    pub fn field(self) -> &'static str {
        match self {
            Role::IngressController => "ingressController",
            Role::GatewayProxy => "gatewayProxies",
            Role::LogCollector => "logging",
            Role::Elasticsearch => "elasticsearch",
            Role::ElasticOperator => "elasticOperator",
            Role::MeshControlPlane => "meshControlPlane",
            Role::MeshSidecar => "meshSidecar",
            Role::PolicyEngine => "policyEngine",
        }
    }
}

/// The annotation that says, on a rendered object, what kharden derived for
/// the platform components and why.
pub const EXEMPTIONS: &str = "kharden.dev/platform-exemptions";

/// Upstream Fluentd image for Elasticsearch 8, at an exact release (DOMAIN §8.1).
pub const FLUENTD_IMAGE: &str =
    "fluent/fluentd-kubernetes-daemonset:v1.19.3-debian-elasticsearch8-1.1";
/// Upstream Fluent Bit image, at an exact release.
pub const FLUENT_BIT_IMAGE: &str = "cr.fluentbit.io/fluent/fluent-bit:4.2.0";

/// Elasticsearch's HTTP and node-to-node (transport) ports.
pub const ES_HTTP: u16 = 9200;
pub const ES_TRANSPORT: u16 = 9300;
/// The label ECK puts on every Elasticsearch pod it runs.
pub const ECK_TYPE_LABEL: (&str, &str) = ("common.k8s.elastic.co/type", "elasticsearch");
/// ECK's default operator namespace.
pub const ECK_NAMESPACE: &str = "elastic-system";

/// One platform component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub role: Role,
    /// What it is, for messages: `ingress-nginx`, `Gateway gateway-system/public`.
    pub name: String,
    pub namespace: String,
    /// Labels of its pods (empty: every pod of its namespace).
    pub pod_labels: BTreeMap<String, String>,
    pub service_account: String,
    /// Image repositories (or references) its pods run.
    pub images: Vec<String>,
    pub service: Option<ServiceType>,
    /// Annotations its Service must carry (the platform's internal load
    /// balancer annotation, when the profile makes load balancers internal).
    pub service_annotations: BTreeMap<String, String>,
    /// Whether its containers set CPU and memory requests and limits.
    pub sets_limits: bool,
    /// Whether its pods run the mesh sidecar.
    pub meshed: bool,
    /// Rendered by kharden itself (the log collector): the check reads its
    /// rendered pod template instead of a sample.
    pub rendered: bool,
}

impl Component {
    /// A plain pod in `namespace` running `images`, as a chart installs it.
    fn new(role: Role, name: &str, namespace: &str, sa: &str, images: &[&str]) -> Component {
        Component {
            role,
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            pod_labels: BTreeMap::new(),
            service_account: sa.to_owned(),
            images: images.iter().map(|s| (*s).to_owned()).collect(),
            service: None,
            service_annotations: BTreeMap::new(),
            sets_limits: true,
            meshed: false,
            rendered: false,
        }
    }

    fn labels(mut self, labels: &[(&str, &str)]) -> Component {
        self.pod_labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self
    }

    /// Apply the profile's override.
    fn with(mut self, o: Option<&ComponentOverride>) -> Component {
        let Some(o) = o else { return self };
        if let Some(ns) = &o.namespace
            && !matches!(self.role, Role::IngressController | Role::GatewayProxy)
        {
            self.namespace = ns.clone();
        }
        if let Some(l) = &o.pod_labels {
            self.pod_labels = l.clone();
        }
        if let Some(sa) = &o.service_account {
            self.service_account = sa.clone();
        }
        if let Some(i) = &o.images {
            self.images = i.clone();
        }
        if let Some(t) = o.service_type {
            self.service = Some(t);
        }
        if let Some(l) = o.sets_limits {
            self.sets_limits = l;
        }
        if let Some(x) = o.meshed {
            self.meshed = x;
        }
        self
    }
}

/// The images of the mesh's injected proxy (Istio's `istio-proxy` and, with
/// istio-cni, its `istio-validation` init container; Linkerd's proxy and its
/// init or network-validator container).
fn sidecar_images(provider: MeshProvider) -> &'static [&'static str] {
    match provider {
        MeshProvider::Istio => &["docker.io/istio/proxyv2"],
        MeshProvider::Linkerd => &["cr.l5d.io/linkerd/proxy", "cr.l5d.io/linkerd/proxy-init"],
        MeshProvider::None => &[],
    }
}

/// The LoadBalancer Services platform components expose from the profile
/// namespace `ns` (a Gateway's proxies, the ingress controller), by name: the
/// namespace's quota must hold them. Read per namespace, so it scans the
/// gateways instead of building every component.
pub fn load_balancers_in(p: &Profile, ns: &str) -> Vec<String> {
    let o = &p.components;
    let lb = |x: Option<&ComponentOverride>| {
        x.and_then(|o| o.service_type)
            .is_none_or(|t| t == ServiceType::LoadBalancer)
    };
    let mut out = Vec::new();
    if let Some(ic) = &p.defaults.network.allow_from_ingress_controller
        && ic.namespace == ns
        && lb(o.ingress_controller.as_ref())
    {
        out.push("the ingress controller".to_owned());
    }
    if lb(o.gateway_proxies.as_ref()) {
        for g in p
            .cluster
            .gateways
            .iter()
            .filter(|g| g.proxy_namespace() == ns)
        {
            out.push(format!("the proxies of Gateway {}/{}", g.namespace, g.name));
        }
    }
    out
}

/// What the user must set up for the components to run as modelled: what
/// kharden assumes of an install it does not render.
pub fn notes(p: &Profile) -> Vec<String> {
    let mut out = Vec::new();
    for c in all(p) {
        if !matches!(c.role, Role::IngressController | Role::GatewayProxy) {
            continue;
        }
        if c.meshed && !c.images.iter().any(|i| i.contains("/istio/")) {
            out.push(format!(
                "note: the {} in `{}` must run with the mesh sidecar (inject its namespace): tenants accept only mTLS peers; if it runs without one, set `components.{}.meshed: false` and the self-check says what that breaks",
                c.name,
                c.namespace,
                c.role.field()
            ));
        }
        if !c.service_annotations.is_empty() {
            out.push(format!(
                "note: the {}'s LoadBalancer Service in `{}` must carry {} (set it in its chart's values): `policy.internalLoadBalancers` refuses it otherwise",
                c.name,
                c.namespace,
                c.service_annotations
                    .iter()
                    .map(|(k, v)| format!("`{k}: \"{v}\"`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out
}

/// Every component of the profile, in a fixed order.
pub fn all(p: &Profile) -> Vec<Component> {
    let o = &p.components;
    let provider = p.mesh.as_ref().map_or(MeshProvider::None, |m| m.provider);
    let mesh_on = provider != MeshProvider::None;
    let internal = p.policy.as_ref().is_some_and(|x| x.internal_load_balancers);
    let lb_annotations = || -> BTreeMap<String, String> {
        match crate::platform::of(p.cluster.platform).internal_lb_annotation() {
            Some((k, v)) if internal => BTreeMap::from([(k.to_owned(), v.to_owned())]),
            _ => BTreeMap::new(),
        }
    };
    let mut out = Vec::new();
    if let Some(ic) = &p.defaults.network.allow_from_ingress_controller {
        // ingress-nginx's published manifests: the controller's labels and
        // service account; the chart sets requests but no limits.
        let mut c = Component::new(
            Role::IngressController,
            "ingress controller",
            &ic.namespace,
            "ingress-nginx",
            &["registry.k8s.io/ingress-nginx/controller"],
        )
        .labels(&[
            ("app.kubernetes.io/component", "controller"),
            ("app.kubernetes.io/name", "ingress-nginx"),
        ]);
        c.service = Some(ServiceType::LoadBalancer);
        c.service_annotations = lb_annotations();
        c.sets_limits = false;
        // Tenant pods accept only mTLS peers under STRICT: the controller must be meshed.
        c.meshed = mesh_on;
        out.push(c.with(o.ingress_controller.as_ref()));
    }
    for g in &p.cluster.gateways {
        let (images, sa): (&[&str], String) = if g
            .pod_labels
            .keys()
            .any(|k| k.starts_with("gateway.envoyproxy.io/"))
        {
            // Envoy Gateway names the proxy's service account envoy-<ns>-<name>-<hash>;
            // the labels select its pods.
            (&["docker.io/envoyproxy/envoy"], String::new())
        } else if provider == MeshProvider::Istio && g.proxy_namespace() == g.namespace {
            (&["docker.io/istio/proxyv2"], format!("{}-istio", g.name))
        } else {
            (
                &["ghcr.io/nginx/nginx-gateway-fabric/nginx"],
                format!("{}-nginx", g.name),
            )
        };
        let mut c = Component::new(
            Role::GatewayProxy,
            &format!("proxies of Gateway {}/{}", g.namespace, g.name),
            g.proxy_namespace(),
            &sa,
            images,
        );
        c.pod_labels = g.pod_labels.clone();
        if let Some(sa) = &g.service_account {
            c.service_account = sa.clone();
        }
        c.service = Some(ServiceType::LoadBalancer);
        c.service_annotations = lb_annotations();
        c.sets_limits = false;
        c.meshed = mesh_on;
        out.push(c.with(o.gateway_proxies.as_ref()));
    }
    if let Some(l) = &p.logging {
        let (name, default_image) = match l.collector {
            Collector::Fluentd => ("fluentd", FLUENTD_IMAGE),
            Collector::FluentBit => ("fluent-bit", FLUENT_BIT_IMAGE),
        };
        let image = l.image.clone().unwrap_or_else(|| default_image.to_owned());
        let mut c = Component::new(Role::LogCollector, name, &l.namespace, name, &[]).labels(&[
            ("app.kubernetes.io/component", "log-collector"),
            ("app.kubernetes.io/name", name),
        ]);
        c.images = vec![image];
        c.rendered = true;
        out.push(c);
        if let Some((End::Pods { namespace, .. }, _)) = logging_target(p) {
            let es = Component::new(
                Role::Elasticsearch,
                "Elasticsearch (ECK)",
                &namespace,
                "default",
                &["docker.elastic.co/elasticsearch/elasticsearch"],
            )
            .labels(&[ECK_TYPE_LABEL]);
            // In a meshed profile namespace its pods are injected like any other.
            let mut es = es;
            es.meshed = p
                .namespaces
                .iter()
                .any(|n| n.name == namespace && crate::pipeline::flows::meshed(p, n));
            let es = es.with(o.elasticsearch.as_ref());
            out.push(es);
            // The operator's pods: every pod of its namespace (its static
            // manifests label them `control-plane: elastic-operator`, its Helm
            // chart `app.kubernetes.io/name: elastic-operator`).
            let op = Component::new(
                Role::ElasticOperator,
                "ECK operator",
                ECK_NAMESPACE,
                "elastic-operator",
                &["docker.elastic.co/eck/eck-operator"],
            )
            .with(o.elastic_operator.as_ref());
            out.push(op);
        }
    }
    match provider {
        MeshProvider::Istio => out.push(
            Component::new(
                Role::MeshControlPlane,
                "istiod",
                ISTIO_NS,
                "istiod",
                &["docker.io/istio/pilot", "docker.io/istio/proxyv2"],
            )
            .labels(&[("app", "istiod")])
            .with(o.mesh_control_plane.as_ref()),
        ),
        MeshProvider::Linkerd => out.push(
            Component::new(
                Role::MeshControlPlane,
                "linkerd control plane",
                LINKERD_NS,
                "linkerd-destination",
                &[
                    "cr.l5d.io/linkerd/controller",
                    "cr.l5d.io/linkerd/policy-controller",
                    "cr.l5d.io/linkerd/proxy",
                ],
            )
            .with(o.mesh_control_plane.as_ref()),
        ),
        MeshProvider::None => {}
    }
    if mesh_on {
        let mut c = Component::new(
            Role::MeshSidecar,
            "mesh sidecar",
            "",
            "",
            sidecar_images(provider),
        );
        c.meshed = true;
        out.push(c.with(o.mesh_sidecar.as_ref()));
    }
    if p.policy
        .as_ref()
        .is_some_and(|x| x.engine == PolicyEngine::Gatekeeper)
    {
        out.push(
            Component::new(
                Role::PolicyEngine,
                "Gatekeeper",
                "gatekeeper-system",
                "gatekeeper-admin",
                &["docker.io/openpolicyagent/gatekeeper"],
            )
            .labels(&[("gatekeeper.sh/system", "yes")])
            .with(o.policy_engine.as_ref()),
        );
    }
    out
}

#[cfg(test)]
mod tests;
