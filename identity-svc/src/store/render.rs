//! Renders a [`UserQuery`] to SQL text for one dialect. Every value goes into
//! a bind parameter, and only allow-listed column names and JSON keys from
//! `crate::filter` are written into the text.

use time::OffsetDateTime;

use super::query::{Column, Condition, JsonKind, Operand, Operator, SortKey, Target, UserQuery};

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
    Bool(bool),
    Timestamp(OffsetDateTime),
}

/// Columns read for every user row.
pub const USER_COLUMNS: &str = "u.id, u.workspace_id, u.user_name, u.external_id, u.active, u.version, \
     u.created, u.last_modified, u.attributes, u.scim_managed";

/// The two statements of a page: the rows and the total count.
#[derive(Debug)]
pub struct RenderedQuery {
    pub select_sql: String,
    pub select_binds: Vec<SqlValue>,
    pub count_sql: String,
    pub count_binds: Vec<SqlValue>,
}

/// Renders the page and count statements for `query` in `workspace_id`.
pub fn render_user_query(dialect: Dialect, workspace_id: &str, query: &UserQuery) -> RenderedQuery {
    let mut renderer = Renderer {
        dialect,
        sql: String::new(),
        binds: Vec::new(),
    };

    renderer
        .sql
        .push_str(" FROM users AS u WHERE u.workspace_id = ");
    renderer.bind(SqlValue::Text(workspace_id.to_owned()));
    if let Some(condition) = &query.condition {
        renderer.sql.push_str(" AND ");
        renderer.condition(condition);
    }
    let from_where = renderer.sql.clone();
    let where_binds = renderer.binds.clone();

    renderer.sql.push_str(" ORDER BY ");
    renderer.order_by(&query.sort, query.descending);
    renderer.sql.push_str(" LIMIT ");
    renderer.bind(SqlValue::Int(query.limit));
    renderer.sql.push_str(" OFFSET ");
    renderer.bind(SqlValue::Int(query.offset));

    RenderedQuery {
        select_sql: format!("SELECT {USER_COLUMNS}{}", renderer.sql),
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
            } => self.compare(target, *operator, operand),
            Condition::Present(target) => self.present(target),
            Condition::ArrayNotEmpty { keys } => {
                let array = self.document_array(keys);
                let length = match self.dialect {
                    Dialect::Sqlite => format!("json_array_length({array})"),
                    Dialect::Postgres => format!("jsonb_array_length({array})"),
                };
                self.sql.push_str(&format!("COALESCE({length} > 0, FALSE)"));
            }
            Condition::Any { keys, condition } => {
                let array = self.document_array(keys);
                let source = match self.dialect {
                    Dialect::Sqlite => format!("json_each({array})"),
                    Dialect::Postgres => format!("jsonb_array_elements({array})"),
                };
                self.sql
                    .push_str(&format!("EXISTS (SELECT 1 FROM {source} AS e WHERE "));
                self.condition(condition);
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

    fn compare(&mut self, target: &Target, operator: Operator, operand: &Operand) {
        if let (Target::Column(column), Operator::Eq, Operand::Text(text)) =
            (target, operator, operand)
            && let Some(test) = indexed_equality(*column)
        {
            self.sql.push_str(test);
            self.bind(SqlValue::Text(text.clone()));
            self.sql.push(')');
            return;
        }
        let expression = self.scalar(target);
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
            (_, Operand::Bool(value)) => self.bind(SqlValue::Bool(*value)),
            (_, Operand::Timestamp(value)) => self.bind(SqlValue::Timestamp(*value)),
        }
        self.sql.push_str(", FALSE)");
    }

    fn present(&mut self, target: &Target) {
        let expression = self.scalar(target);
        let test = match target_kind(target) {
            JsonKind::Text => format!("COALESCE({expression} <> '', FALSE)"),
            JsonKind::Bool => format!("({expression} IS NOT NULL)"),
        };
        self.sql.push_str(&test);
    }

    fn order_by(&mut self, sort: &SortKey, descending: bool) {
        let direction = if descending { "DESC" } else { "ASC" };
        match sort {
            SortKey::Default => {
                self.sql
                    .push_str(&format!("u.created {direction}, u.id {direction}"));
            }
            SortKey::Target(target) => {
                let expression = self.scalar(target);
                self.sql
                    .push_str(&format!("{expression} {direction} NULLS LAST, u.id ASC"));
            }
        }
    }

    /// Returns the SQL expression of a scalar target. Text compares by code
    /// point in both engines: SQLite's BINARY collation does so on UTF-8,
    /// and PostgreSQL needs `COLLATE "C"` to ignore the database locale.
    fn scalar(&self, target: &Target) -> String {
        let text_collation = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " COLLATE \"C\"",
        };
        match target {
            Target::Column(column) => {
                let name = column_name(*column);
                match column {
                    Column::Id | Column::UserNameFolded | Column::ExternalId => {
                        format!("({name}{text_collation})")
                    }
                    Column::Active | Column::Created | Column::LastModified => name.to_owned(),
                }
            }
            Target::Document { keys, kind } => {
                let expression = match self.dialect {
                    Dialect::Sqlite => {
                        format!("json_extract(u.attributes_folded, '{}')", sqlite_path(keys))
                    }
                    Dialect::Postgres => {
                        format!("(u.attributes_folded #>> '{{{}}}')", keys.join(","))
                    }
                };
                self.typed(expression, *kind, text_collation)
            }
            Target::Element { key, kind } => {
                let expression = match self.dialect {
                    Dialect::Sqlite => format!("json_extract(e.value, '{}')", sqlite_path(&[key])),
                    Dialect::Postgres => format!("(e.value ->> '{key}')"),
                };
                self.typed(expression, *kind, text_collation)
            }
        }
    }

    fn typed(&self, expression: String, kind: JsonKind, text_collation: &str) -> String {
        match (self.dialect, kind) {
            (_, JsonKind::Text) => format!("({expression}{text_collation})"),
            (Dialect::Sqlite, JsonKind::Bool) => expression,
            (Dialect::Postgres, JsonKind::Bool) => format!("({expression})::boolean"),
        }
    }

    /// Returns an expression for the JSON array at `keys`, or an empty array
    /// when the value is missing or not an array.
    fn document_array(&self, keys: &[&'static str]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let path = sqlite_path(keys);
                format!(
                    "CASE WHEN json_type(u.attributes_folded, '{path}') = 'array' \
                     THEN json_extract(u.attributes_folded, '{path}') ELSE '[]' END"
                )
            }
            Dialect::Postgres => {
                let path = format!("(u.attributes_folded #> '{{{}}}')", keys.join(","));
                format!("CASE WHEN jsonb_typeof({path}) = 'array' THEN {path} ELSE '[]'::jsonb END")
            }
        }
    }
}

/// Returns the SQL of an equality test on an indexed text column, up to the
/// bound value. The column stays bare so the `(workspace_id, column)` index
/// serves it: COALESCE or a collation around it makes each lookup a scan.
/// Equal bytes are equal under every deterministic collation, and the NULL
/// guard keeps the result true or false under `not`.
fn indexed_equality(column: Column) -> Option<&'static str> {
    match column {
        Column::Id => Some("(u.id = "),
        Column::UserNameFolded => Some("(u.user_name_folded = "),
        Column::ExternalId => Some("(u.external_id IS NOT NULL AND u.external_id = "),
        Column::Active | Column::Created | Column::LastModified => None,
    }
}

fn target_kind(target: &Target) -> JsonKind {
    match target {
        Target::Column(Column::Active) => JsonKind::Bool,
        Target::Column(_) => JsonKind::Text,
        Target::Document { kind, .. } | Target::Element { kind, .. } => *kind,
    }
}

fn column_name(column: Column) -> &'static str {
    match column {
        Column::Id => "u.id",
        Column::UserNameFolded => "u.user_name_folded",
        Column::ExternalId => "u.external_id",
        Column::Active => "u.active",
        Column::Created => "u.created",
        Column::LastModified => "u.last_modified",
    }
}

/// Builds a SQLite JSON path such as `$.enterprise.manager."$ref"`. Keys come
/// from the attribute allow-list, never from a request.
fn sqlite_path(keys: &[&str]) -> String {
    let mut path = String::from("$");
    for key in keys {
        if key.chars().all(|c| c.is_ascii_alphanumeric()) {
            path.push('.');
            path.push_str(key);
        } else {
            path.push_str(&format!(".\"{key}\""));
        }
    }
    path
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
    fn sqlite_path_quotes_dollar_ref() {
        assert_eq!(
            sqlite_path(&["enterprise", "manager", "$ref"]),
            "$.enterprise.manager.\"$ref\""
        );
    }

    #[test]
    fn postgres_binds_are_numbered() {
        let query = UserQuery {
            condition: Some(Condition::Compare {
                target: Target::Column(Column::ExternalId),
                operator: Operator::Eq,
                operand: Operand::Text("x".to_owned()),
            }),
            offset: 0,
            limit: 10,
            sort: SortKey::Default,
            descending: false,
        };

        let rendered = render_user_query(Dialect::Postgres, "w", &query);

        assert!(rendered.select_sql.contains("LIMIT $3 OFFSET $4"));
    }

    #[test]
    fn user_name_equality_is_bare() {
        let query = UserQuery {
            condition: Some(Condition::Compare {
                target: Target::Column(Column::UserNameFolded),
                operator: Operator::Eq,
                operand: Operand::Text("ada@example.com".to_owned()),
            }),
            offset: 0,
            limit: 10,
            sort: SortKey::Default,
            descending: false,
        };

        let rendered = render_user_query(Dialect::Postgres, "w", &query);

        assert!(
            rendered
                .count_sql
                .ends_with("AND (u.user_name_folded = $2)")
        );
    }
}
