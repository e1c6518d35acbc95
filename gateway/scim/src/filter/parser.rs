//! Filter grammar of RFC 7644 section 3.4.2.2, written with winnow.
//!
//! ```text
//! FILTER    = orExp
//! orExp     = andExp *( "or" andExp )          ; "and" binds tighter than "or"
//! andExp    = term *( "and" term )
//! term      = "not" "(" FILTER ")" / "(" FILTER ")" / attrExp / valuePath
//! attrExp   = attrPath "pr" / attrPath compareOp compValue
//! valuePath = attrPath "[" valFilter "]" [ "." subAttr ( "pr" / compareOp compValue ) ]
//! ```
//!
//! Keywords and operators are case-insensitive and any whitespace separates
//! tokens. The trailing `"." subAttr` comparison after a value path is not in
//! the RFC; Microsoft Entra ID sends it, and it means the same as moving the
//! comparison inside the brackets with `and`.

use winnow::ascii::Caseless;
use winnow::combinator::fail;
use winnow::error::{ContextError, ErrMode, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::token::take_while;

use super::{CompareOp, Filter, FilterValue};
use crate::path::{AttributePath, attribute_path, sub_attribute_name};

/// Parsing context of an expression: the top level, or the brackets of a value
/// path, where another value path is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Resource,
    ValueFilter,
}

/// Skips any whitespace.
pub(crate) fn whitespace(input: &mut &str) -> ModalResult<()> {
    take_while(0.., char::is_whitespace)
        .void()
        .parse_next(input)
}

/// Fails without backtracking, recording what the grammar expected at `input`.
pub(crate) fn expected<T>(input: &mut &str, what: &'static str) -> ModalResult<T> {
    fail.context(StrContext::Expected(StrContextValue::Description(what)))
        .parse_next(input)
        .map_err(ErrMode::cut)
}

/// Describes a parse failure as "expected X at character N, found Y.".
pub(crate) fn describe_error(original: &str, rest: &str, error: &ErrMode<ContextError>) -> String {
    let expectations: Vec<String> = match error {
        ErrMode::Backtrack(inner) | ErrMode::Cut(inner) => inner
            .context()
            .filter_map(|context| match context {
                StrContext::Expected(value) => Some(value.to_string()),
                _ => None,
            })
            .collect(),
        ErrMode::Incomplete(_) => Vec::new(),
    };
    let expectation = if expectations.is_empty() {
        "a valid expression".to_owned()
    } else {
        expectations.join(" or ")
    };

    let offset = original.len().saturating_sub(rest.len());
    let position = original
        .get(..offset)
        .map_or(0, |consumed| consumed.chars().count())
        + 1;
    let found = if rest.is_empty() {
        "the end of the text".to_owned()
    } else {
        let snippet: String = rest.chars().take(20).collect();
        format!("'{snippet}'")
    };
    format!("expected {expectation} at character {position}, found {found}.")
}

/// Parses a complete filter, surrounded by optional whitespace.
pub(crate) fn complete_filter(input: &mut &str) -> ModalResult<Filter> {
    whitespace(input)?;
    let filter = or_expression(input, Scope::Resource)?;
    whitespace(input)?;
    if !input.is_empty() {
        return expected(input, "'and', 'or' or the end of the filter");
    }
    Ok(filter)
}

/// Parses `"[" valFilter "]" ["." subAttr]` and returns the filter and the sub-attribute.
pub(crate) fn bracketed_value_filter(input: &mut &str) -> ModalResult<(Filter, Option<String>)> {
    let filter = bracketed(input)?;
    let sub_attribute = if let Some(rest) = input.strip_prefix('.') {
        *input = rest;
        Some(sub_attribute_name(input)?)
    } else {
        None
    };
    Ok((filter, sub_attribute))
}

fn bracketed(input: &mut &str) -> ModalResult<Filter> {
    match input.strip_prefix('[') {
        Some(rest) => *input = rest,
        None => return expected(input, "'['"),
    }
    whitespace(input)?;
    let filter = or_expression(input, Scope::ValueFilter)?;
    whitespace(input)?;
    match input.strip_prefix(']') {
        Some(rest) => *input = rest,
        None => return expected(input, "']' or 'and'/'or' inside the value filter"),
    }
    Ok(filter)
}

fn or_expression(input: &mut &str, scope: Scope) -> ModalResult<Filter> {
    let mut terms = vec![and_expression(input, scope)?];
    while keyword(input, "or") {
        terms.push(and_expression(input, scope)?);
    }
    Ok(if terms.len() == 1 {
        terms.remove(0)
    } else {
        Filter::Or(terms)
    })
}

fn and_expression(input: &mut &str, scope: Scope) -> ModalResult<Filter> {
    let mut terms = vec![term(input, scope)?];
    while keyword(input, "and") {
        terms.push(term(input, scope)?);
    }
    Ok(if terms.len() == 1 {
        terms.remove(0)
    } else {
        Filter::And(terms)
    })
}

/// Consumes whitespace, `word` and the whitespace after it when `word` follows
/// and is itself followed by whitespace or `(`; otherwise consumes nothing.
fn keyword(input: &mut &str, word: &'static str) -> bool {
    let checkpoint = *input;
    let _ = whitespace(input);
    let matched: ModalResult<&str> = Caseless(word).parse_next(input);
    let delimited = input.starts_with(|c: char| c.is_whitespace() || c == '(');
    if matched.is_ok() && delimited {
        let _ = whitespace(input);
        true
    } else {
        *input = checkpoint;
        false
    }
}

fn term(input: &mut &str, scope: Scope) -> ModalResult<Filter> {
    whitespace(input)?;

    if let Some(inner) = negation(input, scope)? {
        return Ok(Filter::Not(Box::new(inner)));
    }
    if input.starts_with('(') {
        return parenthesized(input, scope);
    }
    attribute_expression(input, scope)
}

/// Parses `"not" "(" FILTER ")"`; returns `None` without consuming input when
/// the text is not a negation, such as an attribute named `notes`.
fn negation(input: &mut &str, scope: Scope) -> ModalResult<Option<Filter>> {
    let checkpoint = *input;
    let matched: ModalResult<&str> = Caseless("not").parse_next(input);
    if matched.is_err() {
        return Ok(None);
    }
    whitespace(input)?;
    if !input.starts_with('(') {
        *input = checkpoint;
        return Ok(None);
    }
    parenthesized(input, scope).map(Some)
}

fn parenthesized(input: &mut &str, scope: Scope) -> ModalResult<Filter> {
    match input.strip_prefix('(') {
        Some(rest) => *input = rest,
        None => return expected(input, "'('"),
    }
    whitespace(input)?;
    let inner = or_expression(input, scope)?;
    whitespace(input)?;
    match input.strip_prefix(')') {
        Some(rest) => *input = rest,
        None => return expected(input, "')'"),
    }
    Ok(inner)
}

fn attribute_expression(input: &mut &str, scope: Scope) -> ModalResult<Filter> {
    let attribute = attribute_path(input)?;

    if scope == Scope::Resource && input.starts_with('[') {
        return value_path(input, attribute);
    }

    let condition = condition(input)?;
    Ok(condition.into_filter(attribute))
}

/// Parses the bracketed value filter after `attribute` and Entra's optional
/// trailing `.subAttr op value`.
fn value_path(input: &mut &str, attribute: AttributePath) -> ModalResult<Filter> {
    if attribute.sub_attribute.is_some() {
        return expected(input, "the value filter directly after the attribute name");
    }
    let (inner, sub_attribute) = bracketed_value_filter(input)?;

    let filter = match sub_attribute {
        None => inner,
        Some(sub) => {
            let extra = condition(input)?.into_filter(AttributePath::new(sub));
            match inner {
                Filter::And(mut terms) => {
                    terms.push(extra);
                    Filter::And(terms)
                }
                other => Filter::And(vec![other, extra]),
            }
        }
    };
    Ok(Filter::ValuePath {
        attr: attribute,
        filter: Box::new(filter),
    })
}

/// The part of an attribute expression after the path: `pr` or an operator and a value.
enum Condition {
    Present,
    Compare(CompareOp, FilterValue),
}

impl Condition {
    fn into_filter(self, attr: AttributePath) -> Filter {
        match self {
            Condition::Present => Filter::Present(attr),
            Condition::Compare(op, value) => Filter::Compare { attr, op, value },
        }
    }
}

fn condition(input: &mut &str) -> ModalResult<Condition> {
    let spaces: &str = take_while(0.., char::is_whitespace).parse_next(input)?;
    if spaces.is_empty() {
        return expected(
            input,
            "whitespace and an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)",
        );
    }

    let before_operator = *input;
    let word: &str = take_while(0.., |c: char| c.is_ascii_alphabetic()).parse_next(input)?;
    let op = match word.to_ascii_lowercase().as_str() {
        "pr" => None,
        "eq" => Some(CompareOp::Eq),
        "ne" => Some(CompareOp::Ne),
        "co" => Some(CompareOp::Co),
        "sw" => Some(CompareOp::Sw),
        "ew" => Some(CompareOp::Ew),
        "gt" => Some(CompareOp::Gt),
        "ge" => Some(CompareOp::Ge),
        "lt" => Some(CompareOp::Lt),
        "le" => Some(CompareOp::Le),
        _ => {
            *input = before_operator;
            return expected(
                input,
                "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)",
            );
        }
    };
    if !at_delimiter(input) {
        *input = before_operator;
        return expected(
            input,
            "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)",
        );
    }

    match op {
        None => Ok(Condition::Present),
        Some(op) => {
            let spaces: &str = take_while(0.., char::is_whitespace).parse_next(input)?;
            if spaces.is_empty() {
                return expected(input, "whitespace and a value");
            }
            Ok(Condition::Compare(op, comparison_value(input)?))
        }
    }
}

/// Returns whether the next character ends a token: whitespace, `)`, `]` or the end.
fn at_delimiter(input: &str) -> bool {
    input
        .chars()
        .next()
        .is_none_or(|c| c.is_whitespace() || c == ')' || c == ']')
}

fn comparison_value(input: &mut &str) -> ModalResult<FilterValue> {
    if input.starts_with('"') {
        return string_literal(input).map(FilterValue::String);
    }
    if input.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return number(input).map(FilterValue::Number);
    }

    let checkpoint = *input;
    let word: &str = take_while(0.., |c: char| c.is_ascii_alphabetic()).parse_next(input)?;
    let value = match word.to_ascii_lowercase().as_str() {
        "true" => FilterValue::Bool(true),
        "false" => FilterValue::Bool(false),
        "null" => FilterValue::Null,
        _ => {
            *input = checkpoint;
            return expected(
                input,
                "a value: a quoted string, a number, true, false or null",
            );
        }
    };
    if !at_delimiter(input) {
        return expected(input, "whitespace, ')' or ']' after the value");
    }
    Ok(value)
}

/// Parses a JSON string literal, escapes included.
fn string_literal(input: &mut &str) -> ModalResult<String> {
    let mut escaped = false;
    let mut end = None;
    for (index, c) in input.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            end = Some(index + c.len_utf8());
            break;
        }
    }

    let Some((literal, rest)) = end.and_then(|end| input.split_at_checked(end)) else {
        return expected(input, "a closing '\"' for the string value");
    };
    match serde_json::from_str::<String>(literal) {
        Ok(value) => {
            *input = rest;
            Ok(value)
        }
        Err(_) => expected(input, "a string value with valid JSON escapes"),
    }
}

/// Parses a JSON number.
fn number(input: &mut &str) -> ModalResult<f64> {
    let checkpoint = *input;
    let text: &str = take_while(1.., |c: char| {
        c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')
    })
    .parse_next(input)?;
    match serde_json::from_str::<serde_json::Number>(text)
        .ok()
        .and_then(|number| number.as_f64())
    {
        Some(value) if at_delimiter(input) => Ok(value),
        _ => {
            *input = checkpoint;
            expected(input, "a valid JSON number")
        }
    }
}
