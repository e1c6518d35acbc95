//! SCIM filters (RFC 7644 section 3.4.2.2): parsing to an AST, resolution
//! against a schema, in-memory evaluation, and `sortBy`.

pub(crate) mod eval;
pub(crate) mod parser;
mod resolve;

pub use eval::matches;
/// Alias of [`parse_sort_by`], named like [`resolve`] because it also checks the schema.
pub use resolve::parse_sort_by as resolve_sort_by;
pub use resolve::{ResolvedFilter, SortOrder, parse_sort_by, parse_sort_order, resolve};

use crate::error::ScimError;
pub use crate::path::ResolvedPath;
use crate::path::{AttributePath, shorten};

/// Maximum filter length in bytes; a longer filter is rejected with 400 `invalidFilter`.
pub const MAX_FILTER_LENGTH: usize = 4096;

/// Maximum nesting depth of parentheses and value-path brackets; deeper
/// filters are rejected with 400 `invalidFilter`.
pub const MAX_FILTER_DEPTH: usize = 32;

/// Comparison operator (RFC 7644 section 3.4.2.2, table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// Returns the operator keyword in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Returns whether the operator orders values (gt, ge, lt, le).
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }

    /// Returns whether the operator matches substrings (co, sw, ew).
    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

/// A comparison value: a JSON string, boolean, number or null.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    String(String),
    Bool(bool),
    Number(f64),
    Null,
}

/// A parsed filter whose attribute paths are still as the client wrote them.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All terms match. `and` chains are flattened into one list.
    And(Vec<Filter>),
    /// Any term matches. `or` chains are flattened into one list.
    Or(Vec<Filter>),
    /// The inner filter does not match.
    Not(Box<Filter>),
    /// `attr op value`.
    Compare {
        attr: AttributePath,
        op: CompareOp,
        value: FilterValue,
    },
    /// `attr pr`.
    Present(AttributePath),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`,
    /// whose paths name sub-attributes of `attr`.
    ValuePath {
        attr: AttributePath,
        filter: Box<Filter>,
    },
}

/// Parses a filter expression.
///
/// Entra's form `emails[type eq "work"].value eq "x"` parses as
/// `emails[type eq "work" and value eq "x"]`.
///
/// # Errors
///
/// Returns 400 `invalidFilter` when the text is malformed, longer than
/// [`MAX_FILTER_LENGTH`] bytes or nested deeper than [`MAX_FILTER_DEPTH`].
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    if input.len() > MAX_FILTER_LENGTH {
        return Err(ScimError::invalid_filter(format!(
            "The filter is {} bytes long; the maximum is {MAX_FILTER_LENGTH}.",
            input.len()
        )));
    }
    check_nesting_depth(input)?;

    let mut rest = input;
    parser::complete_filter(&mut rest).map_err(|error| {
        let explanation = parser::describe_error(input, rest, &error);
        ScimError::invalid_filter(format!(
            "The filter '{}' is invalid: {explanation}",
            shorten(input)
        ))
    })
}

/// Rejects text whose parentheses and brackets, outside string literals, nest
/// deeper than [`MAX_FILTER_DEPTH`]. Checking before parsing bounds the
/// parser's recursion.
pub(crate) fn check_nesting_depth(input: &str) -> Result<(), ScimError> {
    let mut depth: usize = 0;
    let mut in_string = false;
    let mut escaped = false;

    for c in input.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' => {
                depth += 1;
                if depth > MAX_FILTER_DEPTH {
                    return Err(ScimError::invalid_filter(format!(
                        "The filter nests parentheses or brackets more than {MAX_FILTER_DEPTH} levels deep."
                    )));
                }
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
