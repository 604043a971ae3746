//! The pod as the Pod Security checks read it: structs of our own holding
//! only the fields the checks look at, every one optional, so a missing field
//! is Go's zero value, as when the API server decodes the object.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A pod's metadata and spec (a Pod's own, or a workload's template).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Pod {
    pub metadata: Meta,
    pub spec: Spec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Meta {
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Spec {
    pub host_network: bool,
    #[serde(rename = "hostPID")]
    pub host_pid: bool,
    #[serde(rename = "hostIPC")]
    pub host_ipc: bool,
    pub host_users: Option<bool>,
    pub os: Option<Named>,
    pub security_context: Option<PodContext>,
    pub volumes: Vec<Volume>,
    pub init_containers: Vec<Container>,
    pub containers: Vec<Container>,
    pub ephemeral_containers: Vec<Container>,
    pub runtime_class_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Named {
    pub name: String,
}

/// `type` of an AppArmor or seccomp profile.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Typed {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SeLinux {
    pub user: String,
    pub role: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WindowsOptions {
    pub host_process: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodContext {
    pub app_armor_profile: Option<Typed>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub se_linux_options: Option<SeLinux>,
    pub seccomp_profile: Option<Typed>,
    pub sysctls: Vec<Named>,
    pub windows_options: Option<WindowsOptions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Context {
    pub allow_privilege_escalation: Option<bool>,
    pub app_armor_profile: Option<Typed>,
    pub capabilities: Option<Capabilities>,
    pub privileged: Option<bool>,
    pub proc_mount: Option<String>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub se_linux_options: Option<SeLinux>,
    pub seccomp_profile: Option<Typed>,
    pub windows_options: Option<WindowsOptions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    pub add: Vec<String>,
    pub drop: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Port {
    pub host_port: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Host {
    pub host: String,
}

/// A probe or lifecycle handler: only its `host` fields matter.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Handler {
    pub http_get: Option<Host>,
    pub tcp_socket: Option<Host>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Lifecycle {
    pub post_start: Option<Handler>,
    pub pre_stop: Option<Handler>,
}

/// A container, init container or ephemeral container (the same fields).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub ports: Vec<Port>,
    pub security_context: Option<Context>,
    pub liveness_probe: Option<Handler>,
    pub readiness_probe: Option<Handler>,
    pub startup_probe: Option<Handler>,
    pub lifecycle: Option<Lifecycle>,
}

/// A volume: its name and whichever source keys it sets.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Volume {
    pub name: String,
    #[serde(flatten)]
    pub source: BTreeMap<String, Value>,
}

impl Pod {
    /// Read a pod from its metadata and spec; `null` fields count as unset,
    /// as in Go. A field of the wrong type is an error (the API server would
    /// not decode the object).
    pub fn from_parts(metadata: &Value, spec: &Value) -> Result<Pod, String> {
        let part = |v: &Value| match strip_nulls(v) {
            Value::Null => Value::Object(serde_json::Map::new()),
            other => other,
        };
        let v = serde_json::json!({"metadata": part(metadata), "spec": part(spec)});
        serde_path_to_error::deserialize(v).map_err(|e| {
            let path = e.path().to_string();
            format!("`{path}`: {}", e.into_inner())
        })
    }

    /// Init containers, containers, then ephemeral containers, as upstream's
    /// `visitContainers` walks them.
    pub(super) fn containers(&self) -> impl Iterator<Item = &Container> {
        let s = &self.spec;
        s.init_containers
            .iter()
            .chain(&s.containers)
            .chain(&s.ephemeral_containers)
    }

    pub(super) fn windows(&self) -> bool {
        self.spec.os.as_ref().is_some_and(|o| o.name == "windows")
    }

    /// `hostUsers: false`: the pod runs in a user namespace.
    pub(super) fn user_namespace(&self) -> bool {
        self.spec.host_users == Some(false)
    }

    pub(super) fn pod_context(&self) -> Option<&PodContext> {
        self.spec.security_context.as_ref()
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), strip_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}
