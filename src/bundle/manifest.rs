//! A rendered object with its output path, the set that refuses duplicates, and
//! the one YAML emitter every object goes through.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::bundle::stage::Stage;

/// Why rendering stopped. Validation refuses bad profiles before rendering
/// starts, so what is left is a clash of output paths, a user's extension
/// template, or a bug in kharden.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Two objects would be written to one file.
    #[error("two objects would be written to `{path}` ({kind} `{name}`); give them distinct names")]
    Collision {
        path: String,
        kind: String,
        name: String,
    },
    /// A template from `extensions:` does not parse, fails, or yields an
    /// object kharden will not write; the text names the template.
    #[error("{0}")]
    Extension(String),
    /// An invariant kharden keeps itself did not hold.
    #[error("internal error: {0}; this is a bug in kharden")]
    Internal(String),
}

impl RenderError {
    pub fn internal(what: impl std::fmt::Display) -> RenderError {
        RenderError::Internal(what.to_string())
    }
}

/// The label every object carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kharden");

/// Metadata with our label; namespace-scoped when `namespace` is set.
pub fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(BTreeMap::from([(
            MANAGED_BY.0.to_owned(),
            MANAGED_BY.1.to_owned(),
        )])),
        ..ObjectMeta::default()
    }
}

/// Metadata with a name alone, for kinds whose schema allows nothing else there
/// (Gatekeeper mutators) or objects kharden does not label (the Argo CD plugin).
pub fn name_only(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    }
}

/// A custom resource (or any object k8s-openapi has no type for): the four
/// fields every such kind has, with typed metadata and whatever spec the kind
/// takes. Every concern and the GitOps files build theirs through this one type,
/// so none hand-writes `apiVersion`/`kind` maps.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Custom<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: S,
}

impl<S: Serialize> Custom<S> {
    pub fn new(
        api_version: &'static str,
        kind: &'static str,
        metadata: ObjectMeta,
        spec: S,
    ) -> Self {
        Custom {
            api_version,
            kind,
            metadata,
            spec,
        }
    }

    /// The object as a rendered manifest, under its metadata's name and namespace.
    pub fn manifest(&self) -> Result<Manifest, RenderError> {
        let name =
            self.metadata.name.as_deref().ok_or_else(|| {
                RenderError::internal(format_args!("a {} has no name", self.kind))
            })?;
        Manifest::new(
            self.api_version,
            self.kind,
            self.metadata.namespace.as_deref(),
            name,
            self,
        )
    }
}

/// A custom resource straight to its manifest.
pub fn custom<S: Serialize>(
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: S,
) -> Result<Manifest, RenderError> {
    Custom::new(api_version, kind, metadata, spec).manifest()
}

/// One object, serialized, with where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Path inside its stage directory: `<namespace or _cluster>/<kind>-<name>.yaml`.
    pub path: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// The YAML document, without header.
    pub body: String,
    /// A control-plane file (kubeadm, eksctl, AKS or GKE settings), not a
    /// Kubernetes API object: written under `control-plane/<platform>/`, left out
    /// of the kustomization and of the `-o -` stream, since `kubectl apply` would
    /// reject it.
    pub control_plane: bool,
    /// When the object can be applied (#14), which places it under
    /// `stages/<stage>/` (see `output::path_of`); meaningless for control-plane files.
    pub stage: Stage,
}

impl Manifest {
    /// Serialize a built-in Kubernetes object.
    pub fn k8s<T>(obj: &T) -> Result<Manifest, RenderError>
    where
        T: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + Serialize,
    {
        let m = obj.metadata();
        let name = m
            .name
            .clone()
            .ok_or_else(|| RenderError::internal(format_args!("a {} has no name", T::KIND)))?;
        Manifest::new(T::API_VERSION, T::KIND, m.namespace.as_deref(), &name, obj)
    }

    /// Serialize any object (custom resources, config files) of `api_version`
    /// and `kind` under a name. Every API object passes here, so each gets its
    /// stage's Argo CD annotations here.
    pub fn new(
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        obj: &impl Serialize,
    ) -> Result<Manifest, RenderError> {
        let stage = Stage::of(api_version, kind, namespace.is_some());
        let annotations = stage.annotations_of(kind);
        let body = crate::bundle::emit::object(obj, &annotations)
            .map_err(|e| RenderError::internal(format_args!("cannot serialize a {kind} ({e})")))?;
        if cfg!(debug_assertions) {
            let reference = reference(obj, &annotations)?;
            if body != reference {
                return Err(RenderError::internal(format_args!(
                    "the emitter wrote\n{body}\nwhere serde-saphyr writes\n{reference}"
                )));
            }
        }
        let dir = namespace.unwrap_or("_cluster");
        Ok(Manifest {
            path: format!("{dir}/{}-{name}.yaml", kind.to_ascii_lowercase()),
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            body,
            control_plane: false,
            stage,
        })
    }

    /// A control-plane file at `control-plane/<platform>/<file>`. `notes` become
    /// leading `#` comment lines: kharden's own explanations (CIS ids, where the
    /// file goes), never user strings, which reach the file only through the
    /// emitter.
    pub fn control_plane(
        platform: &str,
        file: &str,
        kind: &str,
        notes: &[String],
        obj: &impl Serialize,
    ) -> Result<Manifest, RenderError> {
        let mut body = String::new();
        for n in notes {
            if n.contains(['\n', '\r']) {
                return Err(RenderError::internal(format_args!(
                    "a note spans lines ({n:?})"
                )));
            }
            body.push_str(if n.is_empty() { "#" } else { "# " });
            body.push_str(n);
            body.push('\n');
        }
        body.push_str(&to_yaml(&Sorted::of(obj)?)?);
        Ok(Manifest {
            path: format!("control-plane/{platform}/{file}"),
            kind: kind.to_owned(),
            namespace: None,
            name: file.trim_end_matches(".yaml").to_owned(),
            body,
            control_plane: true,
            stage: Stage::Cluster,
        })
    }
}

/// Serialize with the fixed emitter settings: no folding of long strings (a
/// folded `>-` scalar reads back the same, but diffs badly), block scalars for
/// multi-line text, YAML 1.1-ambiguous strings quoted. In debug builds (and so in
/// every test) the text is read back and compared with the value, so a scalar a
/// YAML reader would misread can never slip out.
pub fn to_yaml(obj: &impl Serialize) -> Result<String, RenderError> {
    let opts = serde_saphyr::ser_options! { folded_wrap_chars: 100_000 };
    let text = serde_saphyr::to_string_with_options(obj, opts)
        .map_err(|e| RenderError::internal(format_args!("cannot serialize an object ({e})")))?;
    if cfg!(debug_assertions) {
        let want = serde_json::to_value(obj).map_err(RenderError::internal)?;
        let back: serde_json::Value = serde_saphyr::from_str(&text)
            .map_err(|e| RenderError::internal(format_args!("emitted YAML does not parse: {e}")))?;
        if back != want {
            return Err(RenderError::internal(format_args!(
                "emitted YAML reads back differently:\n{text}"
            )));
        }
    }
    Ok(text)
}

/// The reference path `emit` must match byte for byte: the object as a sorted
/// serde_json tree, annotated, through serde-saphyr (and read back).
pub fn reference(
    obj: &impl Serialize,
    annotations: &[(&str, &str)],
) -> Result<String, RenderError> {
    let mut value = Sorted::of(obj)?;
    crate::bundle::stage::annotate(&mut value.0, annotations);
    to_yaml(&value)
}

/// An object with every map's keys sorted, except that `apiVersion`, `kind` and
/// `metadata` lead, as in every Kubernetes manifest (and as k8s-openapi types
/// serialize). Custom resources are typed structs whose fields serialize in
/// declaration order; this gives them the same sorted layout as everything else.
pub struct Sorted(serde_json::Value);

impl Sorted {
    pub fn of(obj: &impl Serialize) -> Result<Sorted, RenderError> {
        // serde_json's map is a BTreeMap (the `preserve_order` feature is off), so
        // the value is sorted at every level.
        serde_json::to_value(obj)
            .map(Sorted)
            .map_err(RenderError::internal)
    }
}

impl Serialize for Sorted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let serde_json::Value::Object(map) = &self.0 else {
            return self.0.serialize(s);
        };
        const LEAD: [&str; 3] = ["apiVersion", "kind", "metadata"];
        let mut out = s.serialize_map(Some(map.len()))?;
        for k in LEAD {
            if let Some(v) = map.get(k) {
                out.serialize_entry(k, v)?;
            }
        }
        for (k, v) in map.iter().filter(|(k, _)| !LEAD.contains(&k.as_str())) {
            out.serialize_entry(k, v)?;
        }
        out.end()
    }
}

/// Every rendered object, ordered by path; a second object at a path is an error.
#[derive(Debug, Default)]
pub struct ManifestSet {
    // A set ordered by each object's own path rather than a map from a copy of
    // it: a fleet holds hundreds of thousands of objects (#17).
    items: BTreeSet<ByPath>,
}

/// A manifest ordered, compared and looked up by its path.
#[derive(Debug)]
struct ByPath(Manifest);

impl PartialEq for ByPath {
    fn eq(&self, other: &Self) -> bool {
        self.0.path == other.0.path
    }
}

impl Eq for ByPath {}

impl PartialOrd for ByPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.path.cmp(&other.0.path)
    }
}

impl std::borrow::Borrow<str> for ByPath {
    fn borrow(&self) -> &str {
        &self.0.path
    }
}

impl ManifestSet {
    pub fn insert(&mut self, m: Manifest) -> Result<(), RenderError> {
        if let Some(ByPath(old)) = self.items.get(m.path.as_str()) {
            return Err(RenderError::Collision {
                path: m.path,
                kind: old.kind.clone(),
                name: old.name.clone(),
            });
        }
        self.items.insert(ByPath(m));
        Ok(())
    }
    pub fn iter(&self) -> impl Iterator<Item = &Manifest> {
        self.items.iter().map(|b| &b.0)
    }
    /// The objects by path, taken out of the set.
    pub fn into_manifests(self) -> impl Iterator<Item = Manifest> {
        self.items.into_iter().map(|b| b.0)
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings YAML 1.1 readers (kubectl, PyYAML) would turn into something else
    /// must come out quoted; the round trip inside `to_yaml` checks that, and the
    /// text here pins the style.
    #[test]
    fn ambiguous_scalars_are_quoted() {
        let mut data = BTreeMap::new();
        for s in [
            "on",
            "off",
            "yes",
            "no",
            "y",
            "n",
            "Y",
            "0777",
            "1e3",
            "~",
            "null",
            "1_000",
            "2001-12-14",
            "1:20",
            "<<",
            "true",
            "0x1F",
            ".inf",
        ] {
            data.insert(format!("k-{s}"), s.to_owned());
        }
        let text = to_yaml(&data).unwrap();
        for s in ["on", "yes", "y", "0777", "1e3", "~", "1_000", "2001-12-14"] {
            assert!(
                text.contains(&format!("\"{s}\"")),
                "`{s}` unquoted in:\n{text}"
            );
        }
        let back: BTreeMap<String, String> = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn set_refuses_duplicates() {
        let mut set = ManifestSet::default();
        let m = Manifest::new(
            "rbac.authorization.k8s.io/v1",
            "Role",
            Some("a"),
            "x",
            &BTreeMap::from([("a", "b")]),
        )
        .unwrap();
        set.insert(m.clone()).unwrap();
        match set.insert(m).unwrap_err() {
            RenderError::Collision { path, kind, name } => {
                assert_eq!(
                    (path.as_str(), kind.as_str(), name.as_str()),
                    ("a/role-x.yaml", "Role", "x")
                );
            }
            other => panic!("{other}"),
        }
    }
}
