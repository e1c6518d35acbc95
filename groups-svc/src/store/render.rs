//! Renders a [`GroupQuery`] to SQL text for one dialect. Every value goes
//! into a bind parameter, and only the column names below are written into
//! the text.

use time::OffsetDateTime;

use super::query::{Column, Condition, GroupQuery, Operand, Operator, SortKey, Target};

/// SQL dialect of a storage engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bind parameter. Each engine binds timestamps in its own column type.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
    Timestamp(OffsetDateTime),
}

/// Columns read for every group row.
pub const GROUP_COLUMNS: &str = "g.id, g.workspace_id, g.display_name, g.external_id, g.version, g.member_count, g.created, g.last_modified";

/// The two statements of a page: the rows and the total count.
#[derive(Debug)]
pub struct RenderedQuery {
    pub select_sql: String,
    pub select_binds: Vec<SqlValue>,
    pub count_sql: String,
    pub count_binds: Vec<SqlValue>,
}

/// Renders the page and count statements for `query` in `workspace_id`.
pub fn render_group_query(
    dialect: Dialect,
    workspace_id: &str,
    query: &GroupQuery,
) -> RenderedQuery {
    let mut renderer = Renderer {
        dialect,
        sql: String::new(),
        binds: Vec::new(),
    };

    renderer
        .sql
        .push_str(" FROM groups AS g WHERE g.workspace_id = ");
    renderer.bind(SqlValue::Text(workspace_id.to_owned()));
    if let Some(condition) = &query.condition {
        renderer.sql.push_str(" AND ");
        renderer.condition(condition);
    }
    let from_where = renderer.sql.clone();
    let where_binds = renderer.binds.clone();

    renderer.sql.push_str(" ORDER BY ");
    renderer.order_by(query.sort, query.descending);
    renderer.sql.push_str(" LIMIT ");
    renderer.bind(SqlValue::Int(query.limit));
    renderer.sql.push_str(" OFFSET ");
    renderer.bind(SqlValue::Int(query.offset));

    RenderedQuery {
        select_sql: format!("SELECT {GROUP_COLUMNS}{}", renderer.sql),
        select_binds: renderer.binds,
        count_sql: format!("SELECT COUNT(*){from_where}"),
        count_binds: where_binds,
    }
}

/// Returns the `$n` or `?` placeholder for the bind numbered `index` (1-based).
pub fn placeholder(dialect: Dialect, index: usize) -> String {
    match dialect {
        Dialect::Sqlite => "?".to_owned(),
        Dialect::Postgres => format!("${index}"),
    }
}

struct Renderer {
    dialect: Dialect,
    sql: String,
    binds: Vec<SqlValue>,
}

impl Renderer {
    fn bind(&mut self, value: SqlValue) {
        self.binds.push(value);
        let marker = placeholder(self.dialect, self.binds.len());
        self.sql.push_str(&marker);
    }

    fn condition(&mut self, condition: &Condition) {
        match condition {
            Condition::And(items) => self.list(items, " AND ", "TRUE"),
            Condition::Or(items) => self.list(items, " OR ", "FALSE"),
            Condition::Not(inner) => {
                self.sql.push_str("(NOT ");
                self.condition(inner);
                self.sql.push(')');
            }
            Condition::Compare {
                target,
                operator,
                operand,
            } => self.compare(*target, *operator, operand),
            Condition::Present(target) => self.present(*target),
            Condition::HasMember(inner) => {
                // The primary key (group_id, user_id) serves this lookup.
                self.sql.push_str(
                    "EXISTS (SELECT 1 FROM group_members AS m WHERE m.group_id = g.id AND ",
                );
                self.condition(inner);
                self.sql.push(')');
            }
        }
    }

    fn list(&mut self, items: &[Condition], separator: &str, empty: &str) {
        if items.is_empty() {
            self.sql.push_str(empty);
            return;
        }
        self.sql.push('(');
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                self.sql.push_str(separator);
            }
            self.condition(item);
        }
        self.sql.push(')');
    }

    fn compare(&mut self, target: Target, operator: Operator, operand: &Operand) {
        if let (Operator::Eq, Operand::Text(text)) = (operator, operand)
            && let Some(test) = indexed_equality(target)
        {
            self.sql.push_str(test);
            self.bind(SqlValue::Text(text.clone()));
            self.sql.push(')');
            return;
        }
        let expression = target_expression(target);
        self.sql.push_str(&format!("COALESCE({expression} "));

        let (symbol, pattern) = match operator {
            Operator::Eq => ("=", None),
            Operator::Greater => (">", None),
            Operator::GreaterOrEqual => (">=", None),
            Operator::Less => ("<", None),
            Operator::LessOrEqual => ("<=", None),
            Operator::Contains => ("LIKE", Some(("%", "%"))),
            Operator::StartsWith => ("LIKE", Some(("", "%"))),
            Operator::EndsWith => ("LIKE", Some(("%", ""))),
        };
        self.sql.push_str(symbol);
        self.sql.push(' ');

        match (pattern, operand) {
            (Some((before, after)), Operand::Text(text)) => {
                self.bind(SqlValue::Text(format!(
                    "{before}{}{after}",
                    escape_like(text)
                )));
                self.sql.push_str(" ESCAPE '\\'");
            }
            (_, Operand::Text(text)) => self.bind(SqlValue::Text(text.clone())),
            (_, Operand::Timestamp(value)) => self.bind(SqlValue::Timestamp(*value)),
        }
        self.sql.push_str(", FALSE)");
    }

    fn present(&mut self, target: Target) {
        let expression = target_expression(target);
        let test = match target {
            Target::Column(Column::Created | Column::LastModified) => {
                format!("({expression} IS NOT NULL)")
            }
            Target::Column(_) | Target::MemberValue => {
                format!("COALESCE({expression} <> '', FALSE)")
            }
        };
        self.sql.push_str(&test);
    }

    fn order_by(&mut self, sort: SortKey, descending: bool) {
        let direction = if descending { "DESC" } else { "ASC" };
        match sort {
            SortKey::Default => {
                self.sql
                    .push_str(&format!("g.created {direction}, g.id {direction}"));
            }
            SortKey::Column(column) => {
                let expression = column_name(column);
                self.sql
                    .push_str(&format!("{expression} {direction} NULLS LAST, g.id ASC"));
            }
        }
    }
}

/// Returns the SQL of an equality test on an indexed text column, up to the
/// bound value. The column stays bare so its index serves the lookup, where
/// COALESCE around it would make a `members eq` check read every member of
/// the group. The NULL guard keeps the result true or false under `not`.
fn indexed_equality(target: Target) -> Option<&'static str> {
    match target {
        Target::Column(Column::Id) => Some("(g.id = "),
        Target::Column(Column::DisplayNameFolded) => Some("(g.display_name_folded = "),
        Target::Column(Column::ExternalId) => {
            Some("(g.external_id IS NOT NULL AND g.external_id = ")
        }
        Target::MemberValue => Some("(m.user_id = "),
        Target::Column(Column::Created | Column::LastModified) => None,
    }
}

/// Returns the SQL expression of a target. Text compares by code point in
/// both engines: SQLite's BINARY collation does so on UTF-8, and the
/// PostgreSQL columns are declared `COLLATE "C"`.
fn target_expression(target: Target) -> &'static str {
    match target {
        Target::Column(column) => column_name(column),
        Target::MemberValue => "m.user_id",
    }
}

fn column_name(column: Column) -> &'static str {
    match column {
        Column::Id => "g.id",
        Column::DisplayNameFolded => "g.display_name_folded",
        Column::ExternalId => "g.external_id",
        Column::Created => "g.created",
        Column::LastModified => "g.last_modified",
    }
}

/// Escapes `\`, `%` and `_` so that LIKE matches them literally with
/// `ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }

    #[test]
    fn member_condition_is_exists_subquery() {
        let query = GroupQuery {
            condition: Some(Condition::HasMember(Box::new(Condition::Compare {
                target: Target::MemberValue,
                operator: Operator::Eq,
                operand: Operand::Text("u1".to_owned()),
            }))),
            offset: 0,
            limit: 10,
            sort: SortKey::Default,
            descending: false,
        };

        let rendered = render_group_query(Dialect::Postgres, "w", &query);

        assert!(rendered.count_sql.contains(
            "EXISTS (SELECT 1 FROM group_members AS m WHERE m.group_id = g.id AND (m.user_id = $2))"
        ));
        assert!(rendered.select_sql.contains("LIMIT $3 OFFSET $4"));
    }
}
