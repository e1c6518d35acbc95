//! Engine-neutral form of a validated group search: the condition tree that
//! `crate::filter` builds from a SCIM filter and the engines render to SQL.

use time::OffsetDateTime;

/// A column of the `groups` table that a filter or sort may reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    DisplayNameFolded,
    ExternalId,
    Created,
    LastModified,
}

/// A scalar that a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Column(Column),
    /// The user id of the member row inside [`Condition::HasMember`].
    MemberValue,
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
    Timestamp(OffsetDateTime),
}

/// A search condition. Every variant evaluates to true or false, never SQL
/// NULL, so `Not` also matches groups that lack the attribute.
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
    /// Some member row of the group satisfies the condition, whose targets
    /// are [`Target::MemberValue`].
    HasMember(Box<Condition>),
}

/// A sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// `created`, then `id`.
    Default,
    /// The column, then `id` ascending as the tie-breaker.
    Column(Column),
}

/// A validated page request for one workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupQuery {
    pub condition: Option<Condition>,
    /// Number of matching groups to skip.
    pub offset: i64,
    /// Maximum number of groups to return; 0 returns only the total.
    pub limit: i64,
    pub sort: SortKey,
    pub descending: bool,
}
