//! Kubernetes name rules (DNS-1123 labels and subdomains, label and annotation
//! keys and values), each returning why a name is invalid in plain words.

/// A DNS-1123 label: what namespaces and most generated names must be.
pub fn dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".to_owned());
    }
    if s.len() > 63 {
        return Err(format!(
            "it is {} characters long; at most 63 are allowed",
            s.len()
        ));
    }
    label_chars(s)
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".to_owned());
    }
    if s.len() > 253 {
        return Err(format!(
            "it is {} characters long; at most 253 are allowed",
            s.len()
        ));
    }
    for part in s.split('.') {
        if part.is_empty() {
            return Err(
                "it has an empty label (two dots in a row, or a dot at the start or end)"
                    .to_owned(),
            );
        }
        label_chars(part)?;
    }
    Ok(())
}

fn label_chars(s: &str) -> Result<(), String> {
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(if c.is_ascii_uppercase() {
            "it contains upper-case letters; only lower-case letters, digits and `-` are allowed"
                .to_owned()
        } else {
            format!("it contains `{c}`; only lower-case letters, digits and `-` are allowed")
        });
    }
    if s.contains('.') {
        return Err(
            "it contains `.`; only lower-case letters, digits and `-` are allowed".to_owned(),
        );
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("it must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// A label or annotation key: an optional DNS subdomain prefix and `/`, then a
/// name of at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub fn qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        dns_subdomain(p).map_err(|e| format!("its prefix `{p}` is not a DNS subdomain: {e}"))?;
    }
    if name.is_empty() || name.len() > 63 {
        return Err("the name part must be 1 to 63 characters".to_owned());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("the name part may only hold letters, digits, `-`, `_` and `.`".to_owned());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("the name part must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// A label value: empty, or at most 63 characters of `[A-Za-z0-9._-]`,
/// alphanumeric at both ends.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > 63 {
        return Err("it is longer than 63 characters".to_owned());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("it may only hold letters, digits, `-`, `_` and `.`".to_owned());
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !s.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("it must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// Turn an arbitrary id (an email, a UUID, an issuer URL) into a DNS label part.
/// When the mapping loses information, a short hash keeps distinct ids distinct.
pub fn slug(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let mut out = out.trim_matches('-').to_owned();
    let lossless = out == s;
    let budget = if lossless { max } else { max.saturating_sub(9) };
    if out.len() > budget {
        out.truncate(budget);
        out = out.trim_end_matches('-').to_owned();
    }
    if !lossless || out.is_empty() {
        out = format!(
            "{}{}{:08x}",
            out,
            if out.is_empty() { "" } else { "-" },
            fnv1a(s) as u32
        );
    }
    out
}

/// FNV-1a: tiny, stable across platforms and releases (unlike std's hasher).
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(dns_label("team-a").is_ok());
        assert!(dns_label("Team_A").unwrap_err().contains("upper-case"));
        assert!(dns_label("-a").is_err());
        assert!(dns_label(&"a".repeat(64)).is_err());
        assert!(dns_label("a.b").is_err());
        assert!(dns_subdomain("a.b").is_ok());
    }

    #[test]
    fn qualified_names() {
        assert!(qualified_name("contact").is_ok());
        assert!(qualified_name("example.com/cost-center").is_ok());
        assert!(qualified_name("Bad Key").is_err());
        assert!(qualified_name("UPPER.com/x").is_err());
    }

    #[test]
    fn slugs_stay_distinct() {
        assert_eq!(slug("0c1d2e3f-aaaa", 63), "0c1d2e3f-aaaa");
        let a = slug("Alice@example.com", 63);
        let b = slug("alice@example.com", 63);
        assert_ne!(a, b);
        assert!(dns_label(&a).is_ok());
        assert!(slug(&"x".repeat(200), 40).len() <= 40);
    }
}
