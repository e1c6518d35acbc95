//! Paging, sorting and filter parameters of SCIM list and search requests
//! (RFC 7644 sections 3.4.2.2 to 3.4.2.4), shared by `/Users` and `/Groups`.

use proto::identity::v1::{AttributePath, Filter, SortOrder};
use scim_protocol::{error::ScimType, filter, schema::ResourceSchema};

use crate::{
    GatewayConfig,
    error::ApiError,
    filter::{path as proto_path, to_proto},
    request::QueryParams,
};

/// A list request's parameters, validated and resolved against a schema.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based; values below 1 are raised to 1.
    pub start_index: i64,
    /// At most the published maximum page size; negative values become 0.
    pub count: i64,
    pub sort_by: Option<AttributePath>,
    pub sort_order: SortOrder,
}

impl ListQuery {
    /// Parses and validates the parameters. An unknown filter attribute or a
    /// syntax error is 400 `invalidFilter`, never an empty list.
    pub fn parse(
        params: &QueryParams,
        settings: &GatewayConfig,
        schema: &ResourceSchema,
    ) -> Result<Self, ApiError> {
        let start_index = params.integer("startIndex")?.unwrap_or(1).max(1);
        let count = params
            .integer("count")?
            .unwrap_or(settings.default_page_size)
            .clamp(0, settings.max_page_size);

        let filter = match params.get("filter") {
            Some(text) if !text.trim().is_empty() => {
                let parsed = filter::parse(text)?;
                Some(to_proto(&filter::resolve(&parsed, schema)?))
            }
            _ => None,
        };

        let sort_by = match params.get("sortBy") {
            Some(text) if !text.trim().is_empty() => {
                Some(proto_path(&filter::resolve_sort_by(text, schema)?))
            }
            _ => None,
        };
        let sort_order = parse_sort_order(params.get("sortOrder"))?;

        Ok(Self {
            filter,
            start_index,
            count,
            sort_by,
            sort_order,
        })
    }
}

/// One page of a list, with the total across all pages.
#[derive(Debug, Default)]
pub struct Page {
    pub resources: Vec<serde_json::Value>,
    pub total_results: i64,
    pub start_index: i64,
}

fn parse_sort_order(value: Option<&str>) -> Result<SortOrder, ApiError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("ascending") => Ok(SortOrder::Ascending),
        Some("descending") => Ok(SortOrder::Descending),
        Some(other) => Err(ApiError::new(
            400,
            Some(ScimType::InvalidValue),
            format!("sortOrder must be \"ascending\" or \"descending\", got {other:?}."),
        )),
    }
}
