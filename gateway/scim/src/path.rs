//! Attribute paths (RFC 7644 section 3.10) and PATCH target paths (RFC 7644
//! section 3.5.2, the PATH rule), shared by the filter, PATCH and projection code.

use std::fmt;

use winnow::prelude::*;
use winnow::token::take_while;

use crate::error::ScimError;
use crate::filter::parser as grammar;
use crate::filter::{Filter, MAX_FILTER_LENGTH, check_nesting_depth};
use crate::schema::SchemaKind;

/// An attribute path as written by the client: `[urn ":"] name ["." subAttribute]`.
/// Names keep the client's spelling; [`crate::schema::ResourceSchema::resolve`]
/// maps them to canonical names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributePath {
    /// Schema URN prefix, such as `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    /// Attribute name.
    pub name: String,
    /// Sub-attribute name, as in `name.givenName`.
    pub sub_attribute: Option<String>,
}

impl AttributePath {
    /// Creates an unqualified path without sub-attribute.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            urn: None,
            name: name.into(),
            sub_attribute: None,
        }
    }

    /// Returns the full URN when the whole path is a schema URN, as in a PATCH
    /// path or `attributes` entry naming an extension: `urn:...:2.0:User`.
    pub fn as_schema_urn(&self) -> Option<String> {
        match (&self.urn, &self.sub_attribute) {
            (Some(urn), None) => Some(format!("{urn}:{}", self.name)),
            _ => None,
        }
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH operation path: `attrPath` or `attrPath "[" valFilter "]" ["." subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute, with the sub-attribute that follows the value filter if any:
    /// `emails[type eq "work"].value` has name `emails` and sub-attribute `value`.
    pub attribute: AttributePath,
    /// The value filter inside the brackets. Its paths name sub-attributes of `attribute`.
    pub value_filter: Option<Filter>,
}

/// An attribute path with canonical names, checked against a schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolvedPath {
    /// Schema that defines the attribute.
    pub schema: SchemaKind,
    /// Canonical attribute name, such as `userName`, `emails` or `manager`. Inside a
    /// [`crate::filter::ResolvedFilter::ValuePath`] this is the sub-attribute of the
    /// enclosing attribute, such as `type` in `emails[type eq "work"]`.
    pub name: String,
    /// Canonical sub-attribute name, such as `value` in `emails.value`.
    pub sub_attribute: Option<String>,
}

/// Parses an attribute path such as `userName`, `name.givenName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
///
/// # Errors
///
/// Returns 400 `invalidPath` when the text is not an attribute path.
pub fn parse_attribute_path(input: &str) -> Result<AttributePath, ScimError> {
    let trimmed = input.trim();
    split_attribute_path(trimmed).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "'{}' is not a valid attribute path.",
            shorten(input)
        ))
    })
}

/// Parses a PATCH path (RFC 7644 section 3.5.2), such as `members`,
/// `name.familyName` or `emails[type eq "work"].value`.
///
/// # Errors
///
/// Returns 400 `invalidPath` when the path or its value filter is malformed or
/// longer than [`MAX_FILTER_LENGTH`] bytes.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, ScimError> {
    if input.len() > MAX_FILTER_LENGTH {
        return Err(ScimError::invalid_path(format!(
            "The path is {} bytes long; the maximum is {MAX_FILTER_LENGTH}.",
            input.len()
        )));
    }
    check_nesting_depth(input).map_err(|error| ScimError::invalid_path(error.detail))?;

    let mut rest = input;
    match patch_path(&mut rest) {
        Ok(path) => Ok(path),
        Err(error) => {
            let explanation = grammar::describe_error(input, rest, &error);
            Err(ScimError::invalid_path(format!(
                "The path '{}' is invalid: {explanation}",
                shorten(input)
            )))
        }
    }
}

fn patch_path(input: &mut &str) -> ModalResult<PatchPath> {
    grammar::whitespace(input)?;
    let mut attribute = attribute_path(input)?;

    let mut value_filter = None;
    if input.starts_with('[') {
        if attribute.sub_attribute.is_some() {
            return grammar::expected(input, "the value filter directly after the attribute name");
        }
        let (filter, sub_attribute) = grammar::bracketed_value_filter(input)?;
        attribute.sub_attribute = sub_attribute;
        value_filter = Some(filter);
    }

    grammar::whitespace(input)?;
    if !input.is_empty() {
        return grammar::expected(input, "the end of the path");
    }
    Ok(PatchPath {
        attribute,
        value_filter,
    })
}

/// Parses an attribute path token at the start of `input`.
pub(crate) fn attribute_path(input: &mut &str) -> ModalResult<AttributePath> {
    let checkpoint = *input;
    let parsed: ModalResult<&str> = take_while(1.., is_path_char).parse_next(input);
    let token = match parsed {
        Ok(token) => token,
        Err(_) => return grammar::expected(input, "an attribute name"),
    };
    match split_attribute_path(token) {
        Some(path) => Ok(path),
        None => {
            *input = checkpoint;
            grammar::expected(
                input,
                "an attribute name such as userName, name.givenName or a schema URN prefix",
            )
        }
    }
}

/// Parses a sub-attribute name at the start of `input`.
pub(crate) fn sub_attribute_name(input: &mut &str) -> ModalResult<String> {
    let checkpoint = *input;
    let parsed: ModalResult<&str> = take_while(1.., is_name_char).parse_next(input);
    let token = match parsed {
        Ok(token) => token,
        Err(_) => return grammar::expected(input, "a sub-attribute name"),
    };
    if is_attribute_name(token) || token.eq_ignore_ascii_case("$ref") {
        Ok(token.to_owned())
    } else {
        *input = checkpoint;
        grammar::expected(input, "a sub-attribute name")
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '$')
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$')
}

/// Returns whether `name` matches ATTRNAME: `ALPHA *(nameChar)` (RFC 7644 section 3.10).
fn is_attribute_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        _ => false,
    }
}

/// Splits `[urn ":"] name ["." sub]`. The URN ends at the last colon, so the
/// dots of a version such as `2.0` stay inside it.
fn split_attribute_path(token: &str) -> Option<AttributePath> {
    let (urn, rest) = match token.rsplit_once(':') {
        Some((urn, rest)) if !urn.is_empty() => (Some(urn.to_owned()), rest),
        Some(_) => return None,
        None => (None, token),
    };
    let (name, sub_attribute) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };

    if !is_attribute_name(name) {
        return None;
    }
    if let Some(sub) = sub_attribute
        && !(is_attribute_name(sub) || sub.eq_ignore_ascii_case("$ref"))
    {
        return None;
    }
    Some(AttributePath {
        urn,
        name: name.to_owned(),
        sub_attribute: sub_attribute.map(str::to_owned),
    })
}

/// Returns at most the first 100 characters of client text for an error detail.
pub(crate) fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 100;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX_CHARS).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests;
