//! A rendered object with its output path, the set that refuses duplicates, and
//! the one YAML emitter every object goes through.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::bundle::stage::Stage;

mod set;
pub use set::{ManifestSet, Part};

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

/// One object, serialized, with where it goes. A fleet holds hundreds of
/// thousands of these until they are written (#17, #32), so the path and the
/// body share one allocation and the namespace and name are read out of the
/// path they are part of; the kind is a `&'static str` for every object but
/// an extension template's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The path, then the body.
    text: Box<str>,
    path_len: u32,
    /// The namespace is `path[..namespace_len]` (0 for a cluster-scoped
    /// object or a control-plane file).
    namespace_len: u32,
    /// The name is `path[name.0..name.1]`.
    name: (u32, u32),
    kind: Cow<'static, str>,
    control_plane: bool,
    stage: Stage,
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
            .as_deref()
            .ok_or_else(|| RenderError::internal(format_args!("a {} has no name", T::KIND)))?;
        Manifest::new(T::API_VERSION, T::KIND, m.namespace.as_deref(), name, obj)
    }

    /// Serialize any object (custom resources, config files) of `api_version`
    /// and `kind` under a name. Every API object passes here, so each gets its
    /// stage's Argo CD annotations here.
    pub fn new(
        api_version: &str,
        kind: impl Into<Cow<'static, str>>,
        namespace: Option<&str>,
        name: &str,
        obj: &impl Serialize,
    ) -> Result<Manifest, RenderError> {
        let kind = kind.into();
        let stage = Stage::of(api_version, &kind, namespace.is_some());
        let annotations = stage.annotations_of(&kind);
        let dir = namespace.unwrap_or("_cluster");
        let path = format!("{dir}/{}-{name}.yaml", kind.to_ascii_lowercase());
        let start = path.len() - name.len() - ".yaml".len();
        let text = crate::bundle::emit::object(&path, obj, &annotations)
            .map_err(|e| RenderError::internal(format_args!("cannot serialize a {kind} ({e})")))?;
        if cfg!(debug_assertions) {
            let body = &text[path.len()..];
            let reference = reference(obj, &annotations)?;
            if body != reference {
                return Err(RenderError::internal(format_args!(
                    "the emitter wrote\n{body}\nwhere serde-saphyr writes\n{reference}"
                )));
            }
        }
        Manifest::assemble(
            text,
            path.len(),
            namespace.map_or(0, str::len),
            (start, start + name.len()),
            kind,
            false,
            stage,
        )
    }

    /// A control-plane file at `control-plane/<platform>/<file>`. `notes` become
    /// leading `#` comment lines: kharden's own explanations (CIS ids, where the
    /// file goes), never user strings, which reach the file only through the
    /// emitter.
    pub fn control_plane(
        platform: &str,
        file: &str,
        kind: &'static str,
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
        let mut text = format!("control-plane/{platform}/{file}");
        let path_len = text.len();
        let start = path_len - file.len();
        let name = file.trim_end_matches(".yaml");
        text.push_str(&body);
        Manifest::assemble(
            text,
            path_len,
            0,
            (start, start + name.len()),
            Cow::Borrowed(kind),
            true,
            Stage::Cluster,
        )
    }

    /// The object from its text, the path then the body, with the namespace
    /// and name at the given places in the path.
    fn assemble(
        text: String,
        path_len: usize,
        namespace_len: usize,
        (start, end): (usize, usize),
        kind: Cow<'static, str>,
        control_plane: bool,
        stage: Stage,
    ) -> Result<Manifest, RenderError> {
        let offset = |n: usize| {
            u32::try_from(n)
                .map_err(|_| RenderError::internal(format_args!("a {kind} of over 4 GiB")))
        };
        let path_len = offset(path_len)?;
        let (namespace_len, name) = (offset(namespace_len)?, (offset(start)?, offset(end)?));
        Ok(Manifest {
            text: text.into_boxed_str(),
            path_len,
            namespace_len,
            name,
            kind,
            control_plane,
            stage,
        })
    }

    /// Path inside its stage directory: `<namespace or _cluster>/<kind>-<name>.yaml`,
    /// or `control-plane/<platform>/<file>`.
    pub fn path(&self) -> &str {
        &self.text[..self.path_len as usize]
    }

    /// The YAML document, without header.
    pub fn body(&self) -> &str {
        &self.text[self.path_len as usize..]
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The namespace of a namespaced object.
    pub fn namespace(&self) -> Option<&str> {
        (self.namespace_len > 0).then(|| &self.text[..self.namespace_len as usize])
    }

    pub fn name(&self) -> &str {
        &self.text[self.name.0 as usize..self.name.1 as usize]
    }

    /// A control-plane file (kubeadm, eksctl, AKS or GKE settings), not a
    /// Kubernetes API object: written under `control-plane/<platform>/`, left out
    /// of the kustomization and of the `-o -` stream, since `kubectl apply` would
    /// reject it.
    pub fn control_plane_file(&self) -> bool {
        self.control_plane
    }

    /// When the object can be applied (#14), which places it under
    /// `stages/<stage>/` (see `tree::path_of`); meaningless for control-plane files.
    pub fn stage(&self) -> Stage {
        self.stage
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
}
