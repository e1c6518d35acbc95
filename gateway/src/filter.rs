//! Turns a resolved SCIM filter into the typed filter message the services
//! translate to SQL.

use proto::identity::v1 as pb;
use scim_protocol::filter::{CompareOp, FilterValue, ResolvedFilter, ResolvedPath};
use scim_protocol::schema::SchemaKind;

/// Converts a resolved filter tree into its protobuf form.
pub fn to_proto(filter: &ResolvedFilter) -> pb::Filter {
    use pb::filter::Expr;

    let expr = match filter {
        ResolvedFilter::And(operands) => Expr::And(list(operands)),
        ResolvedFilter::Or(operands) => Expr::Or(list(operands)),
        ResolvedFilter::Not(inner) => Expr::Not(Box::new(to_proto(inner))),
        ResolvedFilter::Compare { attr, op, value } => Expr::Comparison(pb::Comparison {
            attribute: Some(path(attr)),
            operator: operator(*op) as i32,
            value: Some(filter_value(value)),
        }),
        ResolvedFilter::Present(attr) => Expr::Present(path(attr)),
        ResolvedFilter::ValuePath { attr, filter } => {
            Expr::ValuePath(Box::new(pb::ValuePathFilter {
                attribute: Some(path(attr)),
                filter: Some(Box::new(to_proto(filter))),
            }))
        }
    };
    pb::Filter { expr: Some(expr) }
}

/// Converts a resolved attribute path, as used for `sortBy`.
pub fn path(attr: &ResolvedPath) -> pb::AttributePath {
    let schema = match attr.schema {
        SchemaKind::Core => pb::AttributeSchema::Core,
        SchemaKind::Enterprise => pb::AttributeSchema::Enterprise,
    };
    pb::AttributePath {
        schema: schema as i32,
        name: attr.name.clone(),
        sub_attribute: attr.sub_attribute.clone().unwrap_or_default(),
    }
}

fn list(operands: &[ResolvedFilter]) -> pb::FilterList {
    pb::FilterList {
        filters: operands.iter().map(to_proto).collect(),
    }
}

fn operator(op: CompareOp) -> pb::ComparisonOperator {
    use pb::ComparisonOperator as Op;
    match op {
        CompareOp::Eq => Op::Eq,
        CompareOp::Ne => Op::Ne,
        CompareOp::Co => Op::Co,
        CompareOp::Sw => Op::Sw,
        CompareOp::Ew => Op::Ew,
        CompareOp::Gt => Op::Gt,
        CompareOp::Ge => Op::Ge,
        CompareOp::Lt => Op::Lt,
        CompareOp::Le => Op::Le,
    }
}

fn filter_value(value: &FilterValue) -> pb::FilterValue {
    use pb::filter_value::Kind;
    let kind = match value {
        FilterValue::String(text) => Kind::StringValue(text.clone()),
        FilterValue::Bool(flag) => Kind::BoolValue(*flag),
        FilterValue::Number(number) => Kind::NumberValue(*number),
        FilterValue::Null => Kind::NullValue(true),
    };
    pb::FilterValue { kind: Some(kind) }
}
