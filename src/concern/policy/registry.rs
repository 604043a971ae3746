//! Registry entries as `allowedRegistries` and exceptions write them, in one
//! normal form per meaning, so both engines and `verify` read them alike:
//! `host/*` (everything on the host; `host` alone means the same),
//! `host/path/*` (everything under the path, at a `/` boundary),
//! `host/path/repo` (that repository, any tag or digest), `host/path/repo:tag`
//! and `host/path/repo@sha256:…` (exactly that image). Entries that cannot be
//! read as one of these are refused; entries that could mean two things are
//! taken one way, and `reading` says which, for `lint`.

use crate::k8s::names;

/// Why an entry is not a registry entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RegistryError {
    #[error("it is empty")]
    Empty,
    #[error("a registry is written without a scheme")]
    Scheme,
    #[error(
        "`{0}` has no place in a registry entry (a wildcard is only the whole last segment, `/*`)"
    )]
    Char(char),
    #[error("it has an empty path segment")]
    EmptySegment,
    #[error("`{0}` could be a registry host or a Docker Hub repository")]
    Ambiguous(String),
    #[error("`{0}` is not a registry host[:port]")]
    Host(String),
    #[error("a tag belongs after the last path segment of a repository")]
    Tag,
    #[error("`{0}` is not a valid tag")]
    BadTag(String),
    #[error("`{0}` is not a digest (`sha256:` and 64 hex digits, or `sha512:` and 128)")]
    Digest(String),
    #[error("it has both a tag and a digest; the digest alone decides the image")]
    TagAndDigest,
    #[error("a tag or digest names one image, not everything under a path")]
    WildcardImage,
    #[error("repository paths are lower-case")]
    UpperCase,
}

/// What an entry admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Everything under a host or path (`…/*`).
    Under,
    /// One repository, any tag or digest.
    Repository,
    /// One repository at one tag (an image without a tag is `:latest`).
    Tag,
    /// One image by digest (with or without a tag beside it).
    Digest,
}

/// An entry read one way although it could mean another: the meaning taken,
/// and how to write the other. `lint` reports it (KH016).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub meaning: String,
    pub other: String,
}

/// Docker Hub's other host names, which image references normalise too.
const HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];

/// Registries whose images sit at least this many path segments deep, so a
/// shallower repository entry admits nothing there and surely meant `/*`.
fn min_depth(host: &str) -> usize {
    if host.ends_with("-docker.pkg.dev") {
        3 // REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE
    } else if matches!(host, "ghcr.io" | "quay.io" | "public.ecr.aws" | "gcr.io")
        || host.ends_with(".gcr.io")
    {
        2 // ghcr.io/OWNER/IMAGE, quay.io/ORG/REPO, gcr.io/PROJECT/IMAGE, …
    } else {
        1
    }
}

/// A parsed entry: its normal form, what it admits, and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub normal: String,
    pub form: Form,
    pub reading: Option<Reading>,
}

/// Parse an `allowedRegistries` entry (or an exception's `allow` entry).
pub(crate) fn parse(raw: &str) -> Result<Entry, RegistryError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(RegistryError::Empty);
    }
    if s.contains("://") {
        return Err(RegistryError::Scheme);
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '?' | '\\'))
    {
        return Err(RegistryError::Char(c));
    }
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest
        && !valid_digest(d)
    {
        return Err(RegistryError::Digest(d.to_owned()));
    }
    // `host/path/` (trailing slash) reads as `host/path/*`, said by `reading`.
    let (name, slash, star) = if let Some(n) = name.strip_suffix("/*") {
        (n, false, true)
    } else if let Some(n) = name.strip_suffix('/') {
        (n, true, false)
    } else {
        (name, false, false)
    };
    if let Some(c) = name.chars().find(|c| matches!(c, '*' | '@')) {
        return Err(RegistryError::Char(c));
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(RegistryError::EmptySegment);
    }
    let host = parts[0].to_ascii_lowercase();
    if !(host.contains('.') || host.contains(':') || host == "localhost") {
        return Err(RegistryError::Ambiguous(parts[0].to_owned()));
    }
    let (host_name, port) = host.split_once(':').unwrap_or((&host, ""));
    if names::dns_subdomain(host_name).is_err()
        || (host.contains(':') && port.parse::<u16>().map_or(true, |p| p == 0))
    {
        return Err(RegistryError::Host(parts[0].to_owned()));
    }
    let mut tag = None;
    if let Some((last, rest)) = parts.split_last_mut()
        && !rest.is_empty()
        && let Some((repo, t)) = last.split_once(':')
    {
        tag = Some(t.to_owned());
        *last = repo;
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Err(RegistryError::EmptySegment);
    }
    if parts[1..].iter().any(|p| p.contains(':')) {
        return Err(RegistryError::Tag);
    }
    if let Some(t) = &tag
        && !valid_tag(t)
    {
        return Err(RegistryError::BadTag(t.clone()));
    }
    if parts[1..]
        .iter()
        .any(|p| p.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Err(RegistryError::UpperCase);
    }
    let under = star || slash || parts.len() == 1;
    if under && (tag.is_some() || digest.is_some()) {
        return Err(RegistryError::WildcardImage);
    }
    if tag.is_some() && digest.is_some() {
        return Err(RegistryError::TagAndDigest);
    }
    let host = if HUB_ALIASES.contains(&host.as_str()) {
        "docker.io".to_owned()
    } else {
        host
    };
    let mut path: Vec<String> = parts[1..].iter().map(|p| (*p).to_owned()).collect();
    let written = |path: &[String]| {
        std::iter::once(host.as_str())
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("/")
    };
    let suffix = match (&tag, digest) {
        (Some(t), _) => format!(":{t}"),
        (_, Some(d)) => format!("@{d}"),
        _ => String::new(),
    };
    let mut reading = None;
    if under {
        let normal = format!("{}/*", written(&path));
        if slash && !path.is_empty() {
            reading = Some(Reading {
                meaning: format!("`{normal}`, everything under `{}/`", written(&path)),
                other: format!(
                    "write `{}/*` to say so, or `{}` for that one repository",
                    written(&path),
                    written(&path)
                ),
            });
        }
        return Ok(Entry {
            normal,
            form: Form::Under,
            reading,
        });
    }
    if host == "docker.io" && path.len() == 1 {
        // Docker Hub's official images live under `library/`, as image
        // references without a namespace do.
        let org = path[0].clone();
        path.insert(0, "library".to_owned());
        reading = Some(Reading {
            meaning: format!("the official image `{}{suffix}`", written(&path)),
            other: format!(
                "write `docker.io/{org}/*` for everything under the Docker Hub namespace `{org}`"
            ),
        });
    } else if path.len() < min_depth(&host) {
        let normal = written(&path);
        reading = Some(Reading {
            meaning: format!(
                "the one repository `{normal}{suffix}`, though images on {host} sit {} path segments deep, so it admits none",
                min_depth(&host)
            ),
            other: format!("write `{normal}/*` for everything under it"),
        });
    }
    let form = match (&tag, digest) {
        (Some(_), _) => Form::Tag,
        (_, Some(_)) => Form::Digest,
        _ => Form::Repository,
    };
    Ok(Entry {
        normal: format!("{}{suffix}", written(&path)),
        form,
        reading,
    })
}

/// The normal form of an entry (see `parse`).
pub(crate) fn normalise_registry(raw: &str) -> Result<String, RegistryError> {
    parse(raw).map(|e| e.normal)
}

/// A tag as the distribution reference grammar writes it.
fn valid_tag(t: &str) -> bool {
    let mut chars = t.chars();
    t.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A digest of a registered OCI algorithm, lower-case hex.
fn valid_digest(d: &str) -> bool {
    let hex = |h: &str, n: usize| {
        h.len() == n
            && h.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    };
    match d.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}
