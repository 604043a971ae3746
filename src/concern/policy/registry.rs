//! Registry prefixes as `allowedRegistries` and exceptions write them: one
//! normal form, so the policy compares like with like, and a refusal for every
//! entry a reader could take two ways.

use crate::names;

/// Why an entry is not a registry prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("it is empty")]
    Empty,
    #[error("a registry is written without a scheme")]
    Scheme,
    #[error("`{0}` has no place in a registry prefix (wildcards, digests and spaces are refused)")]
    Char(char),
    #[error("it has an empty path segment")]
    EmptySegment,
    #[error("`{0}` could be a registry host or a Docker Hub repository")]
    Ambiguous(String),
    #[error("`{0}` is not a registry host[:port]")]
    Host(String),
    #[error("a tag has no place in a registry prefix")]
    Tag,
    #[error("repository paths are lower-case")]
    UpperCase,
}

/// Normalise an `allowedRegistries` entry (or an exception's `allow` entry): a
/// registry host (with an optional port), optionally followed by a repository
/// path. Entries the reader could take two ways are refused.
pub fn normalise_registry(raw: &str) -> Result<String, RegistryError> {
    let s = raw.trim().trim_end_matches('/');
    if s.is_empty() {
        return Err(RegistryError::Empty);
    }
    if s.contains("://") {
        return Err(RegistryError::Scheme);
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '*' | '?' | '@' | '\\'))
    {
        return Err(RegistryError::Char(c));
    }
    let mut parts: Vec<String> = s.split('/').map(str::to_owned).collect();
    if parts.iter().any(String::is_empty) {
        return Err(RegistryError::EmptySegment);
    }
    let host = parts[0].to_ascii_lowercase();
    if !(host.contains('.') || host.contains(':') || host == "localhost") {
        return Err(RegistryError::Ambiguous(parts[0].clone()));
    }
    let (name, port) = host.split_once(':').unwrap_or((&host, ""));
    if names::dns_subdomain(name).is_err()
        || (host.contains(':') && port.parse::<u16>().map_or(true, |p| p == 0))
    {
        return Err(RegistryError::Host(parts[0].clone()));
    }
    if parts[1..].iter().any(|p| p.contains(':')) {
        return Err(RegistryError::Tag);
    }
    if parts[1..]
        .iter()
        .any(|p| p.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Err(RegistryError::UpperCase);
    }
    // Docker Hub has two names and an implicit `library/` for official images.
    parts[0] = if host == "index.docker.io" || host == "registry-1.docker.io" {
        "docker.io".to_owned()
    } else {
        host
    };
    if parts[0] == "docker.io" && parts.len() == 2 {
        parts.insert(1, "library".to_owned());
    }
    Ok(parts.join("/"))
}
