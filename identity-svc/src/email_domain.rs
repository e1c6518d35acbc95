//! Workspace email domains: normalisation of configured entries and the rule
//! that a user's work email and email-like `userName` belong to one of them.

use std::fmt;

/// Reason a workspace domain entry or an email address was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// The entry is empty, has an invalid label, or uses `*` anywhere but as
    /// a leading `*.` label.
    InvalidDomain(String),
    /// The address has no `@`, more than one unquoted `@`, or a quoted local
    /// part that contains `@`.
    InvalidAddress,
    /// The address is well formed, but its domain is not one of the
    /// workspace's domains.
    DomainNotAllowed,
}

impl fmt::Display for DomainError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidDomain(entry) => write!(formatter, "invalid domain {entry:?}"),
            Self::InvalidAddress => {
                formatter.write_str("is not a valid email address with exactly one @")
            }
            Self::DomainNotAllowed => {
                formatter.write_str("has a domain that is not one of the workspace's domains")
            }
        }
    }
}

/// Normalises a workspace domain entry to lower-case ASCII (punycode for
/// internationalised labels). `*.example.com` stays a wildcard entry.
pub fn normalize_domain_entry(entry: &str) -> Result<String, DomainError> {
    let trimmed = entry.trim();
    let (wildcard, base) = match trimmed.strip_prefix("*.") {
        Some(base) => (true, base),
        None => (false, trimmed),
    };
    if base.contains('*') || base.contains('@') {
        return Err(DomainError::InvalidDomain(entry.to_owned()));
    }

    let ascii = normalize_host(base).ok_or_else(|| DomainError::InvalidDomain(entry.to_owned()))?;
    if wildcard {
        Ok(format!("*.{ascii}"))
    } else {
        Ok(ascii)
    }
}

/// Checks that `address` has exactly one unquoted `@` and that its domain is
/// listed in `domains` (entries as returned by [`normalize_domain_entry`]).
///
/// A domain matches an entry `d` when it equals `d`, or when the entry is
/// `*.d` and the domain is a strict subdomain of `d`. A workspace that wants
/// the apex as well lists both `d` and `*.d`. A domain that only ends
/// with the same characters (`evilexample.com` against `example.com`) does
/// not match.
pub fn check_address(address: &str, domains: &[String]) -> Result<(), DomainError> {
    let domain = address_domain(address).ok_or(DomainError::InvalidAddress)?;
    let ascii = normalize_host(domain).ok_or(DomainError::InvalidAddress)?;

    if domains.iter().any(|entry| domain_matches(&ascii, entry)) {
        Ok(())
    } else {
        Err(DomainError::DomainNotAllowed)
    }
}

fn domain_matches(domain: &str, entry: &str) -> bool {
    match entry.strip_prefix("*.") {
        Some(base) => domain
            .strip_suffix(base)
            .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        None => domain == entry,
    }
}

/// Returns the part after the only unquoted `@`. Rejects a quoted local part
/// that contains `@` (RFC 5321 allows it, but IdPs never send it and it hides
/// the real domain from a naive split) and an unterminated quote.
fn address_domain(address: &str) -> Option<&str> {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut at_index = None;

    for (index, character) in address.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match character {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '@' if in_quotes => return None,
            '@' if at_index.is_some() => return None,
            '@' => at_index = Some(index),
            _ => {}
        }
    }
    if in_quotes {
        return None;
    }

    let at_index = at_index?;
    let domain = &address[at_index + 1..];
    if at_index == 0 || domain.is_empty() {
        return None;
    }
    Some(domain)
}

/// Converts a host name to lower-case ASCII with IDNA (UTS #46). Rejects
/// empty labels, so `a..b` and a trailing dot fail.
fn normalize_host(host: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii(host).ok()?;
    let labels_valid = ascii.split('.').all(|label| {
        !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if ascii.is_empty() || !labels_valid {
        return None;
    }
    Some(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(entries: &[&str]) -> Vec<String> {
        entries
            .iter()
            .map(|entry| normalize_domain_entry(entry).unwrap())
            .collect()
    }

    #[test]
    fn entry_is_lower_cased() {
        assert_eq!(
            normalize_domain_entry("Example.COM").unwrap(),
            "example.com"
        );
    }

    #[test]
    fn entry_with_unicode_becomes_punycode() {
        assert_eq!(
            normalize_domain_entry("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn wildcard_entry_is_kept() {
        assert_eq!(
            normalize_domain_entry("*.Example.com").unwrap(),
            "*.example.com"
        );
    }

    #[test]
    fn entry_with_inner_wildcard_is_rejected() {
        assert!(normalize_domain_entry("a.*.example.com").is_err());
    }

    #[test]
    fn entry_with_empty_label_is_rejected() {
        assert!(normalize_domain_entry("example..com").is_err());
    }

    #[test]
    fn exact_domain_matches() {
        assert_eq!(
            check_address("a@example.com", &domains(&["example.com"])),
            Ok(())
        );
    }

    #[test]
    fn domain_case_is_ignored() {
        assert_eq!(
            check_address("a@EXAMPLE.Com", &domains(&["example.com"])),
            Ok(())
        );
    }

    #[test]
    fn subdomain_needs_wildcard() {
        assert_eq!(
            check_address("a@eu.example.com", &domains(&["example.com"])),
            Err(DomainError::DomainNotAllowed)
        );
    }

    #[test]
    fn wildcard_admits_strict_subdomain() {
        assert_eq!(
            check_address("a@eu.example.com", &domains(&["*.example.com"])),
            Ok(())
        );
    }

    #[test]
    fn wildcard_alone_rejects_apex() {
        assert_eq!(
            check_address("a@example.com", &domains(&["*.example.com"])),
            Err(DomainError::DomainNotAllowed)
        );
    }

    #[test]
    fn lookalike_suffix_is_rejected() {
        assert_eq!(
            check_address(
                "a@evilexample.com",
                &domains(&["example.com", "*.example.com"])
            ),
            Err(DomainError::DomainNotAllowed)
        );
    }

    #[test]
    fn unicode_address_matches_punycode_entry() {
        assert_eq!(
            check_address("a@bücher.example", &domains(&["xn--bcher-kva.example"])),
            Ok(())
        );
    }

    #[test]
    fn double_at_is_rejected() {
        assert_eq!(
            check_address("a@evil.com@example.com", &domains(&["example.com"])),
            Err(DomainError::InvalidAddress)
        );
    }

    #[test]
    fn quoted_local_part_with_at_is_rejected() {
        assert_eq!(
            check_address("\"a@evil.com\"@example.com", &domains(&["example.com"])),
            Err(DomainError::InvalidAddress)
        );
    }

    #[test]
    fn quoted_local_part_without_at_is_accepted() {
        assert_eq!(
            check_address("\"a b\"@example.com", &domains(&["example.com"])),
            Ok(())
        );
    }

    #[test]
    fn empty_domain_list_rejects_everything() {
        assert_eq!(
            check_address("a@example.com", &[]),
            Err(DomainError::DomainNotAllowed)
        );
    }
}
