//! Unicode case folding for case-insensitive matching, done in Rust so that
//! SQLite and PostgreSQL compare exactly the same strings.

/// Folds a string with Unicode default case folding (`Straße` and `STRASSE`
/// both become `strasse`).
///
/// NOTE: no Unicode normalisation is applied, so a precomposed `É` and `E`
/// followed by a combining accent still differ after folding.
pub fn fold_str(value: &str) -> String {
    caseless::default_case_fold_str(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_str_expands_sharp_s() {
        assert_eq!(fold_str("Straße"), fold_str("STRASSE"));
    }

    #[test]
    fn fold_str_lowers_accented_capitals() {
        assert_eq!(fold_str("ÉQUIPE"), "équipe");
    }
}
