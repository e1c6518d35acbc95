//! Unicode case folding for case-insensitive matching, done in Rust so that
//! SQLite and PostgreSQL compare exactly the same strings.

use serde_json::Value;

/// Folds a string with Unicode default case folding (`Straße` and `STRASSE`
/// both become `strasse`).
///
/// NOTE: no Unicode normalisation is applied, so a precomposed `É` and `E`
/// followed by a combining accent still differ after folding.
pub fn fold_str(value: &str) -> String {
    caseless::default_case_fold_str(value)
}

/// Returns a copy of a JSON document with every string value folded. Object
/// keys keep their case because filters address them by canonical name.
pub fn fold_json(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(fold_str(text)),
        Value::Array(items) => Value::Array(items.iter().map(fold_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), fold_json(item)))
                .collect(),
        ),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fold_str_expands_sharp_s() {
        assert_eq!(fold_str("Straße"), fold_str("STRASSE"));
    }

    #[test]
    fn fold_str_lowers_accented_capitals() {
        assert_eq!(fold_str("ÉMILE"), "émile");
    }

    #[test]
    fn fold_json_keeps_keys_and_booleans() {
        let folded =
            fold_json(&json!({"userName": "ÉMILE", "active": true, "emails": [{"value": "A@B"}]}));

        assert_eq!(
            folded,
            json!({"userName": "émile", "active": true, "emails": [{"value": "a@b"}]})
        );
    }
}
