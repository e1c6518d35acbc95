//! Engine-neutral form of a validated user search: the condition tree that
//! `crate::filter` builds from a SCIM filter and the engines render to SQL.

use time::OffsetDateTime;

/// A column of the `users` table that a filter or sort may reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    UserNameFolded,
    ExternalId,
    Active,
    Created,
    LastModified,
}

/// Type of a JSON value, which decides how it is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Text,
    Bool,
}

/// A scalar that a condition compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Column(Column),
    /// A value in `attributes_folded`, addressed by object keys from the root.
    Document {
        keys: Vec<&'static str>,
        kind: JsonKind,
    },
    /// A member of the current element inside [`Condition::Any`].
    Element {
        key: &'static str,
        kind: JsonKind,
    },
}

/// Comparison operators after `ne` has been rewritten as `not eq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

/// A bound value. Strings compared case-insensitively are already folded.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Bool(bool),
    Timestamp(OffsetDateTime),
}

/// A search condition. Every variant evaluates to true or false, never SQL
/// NULL, so `Not` also matches users that lack the attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        target: Target,
        operator: Operator,
        operand: Operand,
    },
    /// The target is not null and, for text, not empty.
    Present(Target),
    /// The JSON array at `keys` has at least one element.
    ArrayNotEmpty {
        keys: Vec<&'static str>,
    },
    /// Some element of the JSON array at `keys` satisfies `condition`, whose
    /// targets are [`Target::Element`].
    Any {
        keys: Vec<&'static str>,
        condition: Box<Condition>,
    },
}

/// A sort key: a column or a single-valued document attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// `created`, then `id`.
    Default,
    Target(Target),
}

/// A validated page request for one workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuery {
    pub condition: Option<Condition>,
    /// Number of matching users to skip.
    pub offset: i64,
    /// Maximum number of users to return; 0 returns only the total.
    pub limit: i64,
    pub sort: SortKey,
    pub descending: bool,
}
