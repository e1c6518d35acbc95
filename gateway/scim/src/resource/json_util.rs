//! Case-insensitive access to JSON object keys. SCIM attribute names are
//! case-insensitive (RFC 7643 section 2.1), so stored and incoming objects are
//! read without regard to key case.

use serde_json::{Map, Value};

/// Returns the member of an object whose key equals `key` ignoring ASCII case,
/// preferring an exact match.
pub(crate) fn get_ignore_case<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    let map = value.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

/// Removes every member whose key equals `key` ignoring ASCII case and returns
/// the last one removed.
pub(crate) fn remove_ignore_case(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let names: Vec<String> = map
        .keys()
        .filter(|name| name.eq_ignore_ascii_case(key))
        .cloned()
        .collect();
    let mut removed = None;
    for name in names {
        removed = map.remove(&name).or(removed);
    }
    removed
}

/// Renames a member whose key differs from `canonical` only in case, so later
/// code can use exact keys, and returns a mutable reference to it.
pub(crate) fn canonical_entry<'m>(
    map: &'m mut Map<String, Value>,
    canonical: &str,
) -> Option<&'m mut Value> {
    if !map.contains_key(canonical)
        && let Some(value) = remove_ignore_case(map, canonical)
    {
        map.insert(canonical.to_owned(), value);
    }
    map.get_mut(canonical)
}

/// Parses `true` or `false` in any case, the string booleans Entra ID sends.
pub(crate) fn parse_bool_text(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
