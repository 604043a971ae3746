//! The logging concern's decision: the collector and what it ships where
//! (`concern::logging` builds it in `validate` and renders from it).

use std::collections::BTreeSet;

use crate::input::profile::{Collector, LogSource};

/// Everything the collector is rendered from, decided in `validate`
/// (`plan.logging`); None there when there is nothing to collect.
#[derive(Debug, Clone)]
pub struct Plan {
    pub collector: Collector,
    pub namespace: String,
    pub sources: BTreeSet<LogSource>,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub index_prefix: String,
    pub audit_path: Option<String>,
    /// The Secret with Elasticsearch's CA, mounted at `CA_DIR`.
    pub ca_secret: Option<String>,
    /// The Secret with the Elasticsearch user and password.
    pub credentials_secret: String,
    /// The collector's image: the profile's, or the collector's default.
    pub image: String,
}
