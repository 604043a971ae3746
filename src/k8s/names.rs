//! Kubernetes name rules (DNS-1123 labels and subdomains, label and annotation
//! keys and values), each returning why a name is invalid in plain words.

/// Why a name breaks a Kubernetes name rule, in the words a diagnostic shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("it is empty")]
    Empty,
    #[error("it is {len} characters long; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("it has an empty label (two dots in a row, or a dot at the start or end)")]
    EmptyLabel,
    #[error("it contains upper-case letters; only lower-case letters, digits and `-` are allowed")]
    UpperCase,
    #[error("it contains `{0}`; only lower-case letters, digits and `-` are allowed")]
    Char(char),
    #[error("it must start and end with a letter or digit")]
    Ends,
    #[error("its prefix `{prefix}` is not a DNS subdomain: {why}")]
    Prefix { prefix: String, why: Box<Invalid> },
    #[error("the name part must be 1 to 63 characters")]
    NameLength,
    #[error("the name part may only hold letters, digits, `-`, `_` and `.`")]
    NameChars,
    #[error("the name part must start and end with a letter or digit")]
    NameEnds,
    #[error("it is longer than 63 characters")]
    ValueTooLong,
    #[error("it may only hold letters, digits, `-`, `_` and `.`")]
    ValueChars,
}

/// Empty, or longer than `max`.
fn length(s: &str, max: usize) -> Result<(), Invalid> {
    match s.len() {
        0 => Err(Invalid::Empty),
        len if len > max => Err(Invalid::TooLong { len, max }),
        _ => Ok(()),
    }
}

/// A DNS-1123 label: what namespaces and most generated names must be.
pub(crate) fn dns_label(s: &str) -> Result<(), Invalid> {
    length(s, 63)?;
    label_chars(s)
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub(crate) fn dns_subdomain(s: &str) -> Result<(), Invalid> {
    length(s, 253)?;
    for part in s.split('.') {
        if part.is_empty() {
            return Err(Invalid::EmptyLabel);
        }
        label_chars(part)?;
    }
    Ok(())
}

fn label_chars(s: &str) -> Result<(), Invalid> {
    // Upper case and other characters come before a `.`, which is the likelier
    // slip (a subdomain where a label belongs) and so is said last.
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(if c.is_ascii_uppercase() {
            Invalid::UpperCase
        } else {
            Invalid::Char(c)
        });
    }
    if s.contains('.') {
        return Err(Invalid::Char('.'));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(Invalid::Ends);
    }
    Ok(())
}

/// How a label value or a key's name part breaks the rule they share.
enum Shape {
    /// A character outside `[A-Za-z0-9._-]`.
    Chars,
    /// Not alphanumeric at both ends.
    Ends,
}

fn value_chars(s: &str) -> Result<(), Shape> {
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Shape::Chars);
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !s.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(Shape::Ends);
    }
    Ok(())
}

/// A label or annotation key: an optional DNS subdomain prefix and `/`, then a
/// name of at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub(crate) fn qualified_name(s: &str) -> Result<(), Invalid> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        dns_subdomain(p).map_err(|why| Invalid::Prefix {
            prefix: p.to_owned(),
            why: Box::new(why),
        })?;
    }
    if name.is_empty() || name.len() > 63 {
        return Err(Invalid::NameLength);
    }
    value_chars(name).map_err(|shape| match shape {
        Shape::Chars => Invalid::NameChars,
        Shape::Ends => Invalid::NameEnds,
    })
}

/// A label value: empty, or at most 63 characters of `[A-Za-z0-9._-]`,
/// alphanumeric at both ends.
pub(crate) fn label_value(s: &str) -> Result<(), Invalid> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > 63 {
        return Err(Invalid::ValueTooLong);
    }
    value_chars(s).map_err(|shape| match shape {
        Shape::Chars => Invalid::ValueChars,
        Shape::Ends => Invalid::Ends,
    })
}

/// Turn an arbitrary id (an email, a UUID, an issuer URL) into a DNS label part.
/// When the mapping loses information, a short hash keeps distinct ids distinct.
pub(crate) fn slug(s: &str, max: usize) -> String {
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
pub(crate) fn fnv1a(s: &str) -> u64 {
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
        assert_eq!(dns_label("Team_A"), Err(Invalid::UpperCase));
        assert_eq!(
            dns_label(&"a".repeat(64)).unwrap_err().to_string(),
            "it is 64 characters long; at most 63 are allowed"
        );
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
        assert_eq!(
            qualified_name("UPPER.com/x").unwrap_err().to_string(),
            "its prefix `UPPER.com` is not a DNS subdomain: it contains upper-case letters; only lower-case letters, digits and `-` are allowed"
        );
        assert_eq!(qualified_name("a/-x"), Err(Invalid::NameEnds));
        assert_eq!(label_value("-x"), Err(Invalid::Ends));
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
