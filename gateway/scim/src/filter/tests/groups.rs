use serde_json::{Value, json};

use super::*;

fn parse_group(text: &str) -> Result<ResolvedFilter, crate::error::ScimError> {
    resolve(&parse(text)?, ResourceSchema::group())
}

fn compare(name: &str, sub: Option<&str>, value: &str) -> ResolvedFilter {
    ResolvedFilter::Compare {
        attr: resolved(SchemaKind::Core, name, sub),
        op: CompareOp::Eq,
        value: FilterValue::String(value.to_owned()),
    }
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "R&D Team",
        "members": [{"value": "u1", "display": "Ada"}, {"value": "u2"}]
    })
}

fn group_matches(text: &str) -> bool {
    matches(
        &parse_group(text).unwrap(),
        &group(),
        ResourceSchema::group(),
    )
}

#[test]
fn resolve_group_member_reference_check() {
    let filter = parse_group(r#"id eq "g1" and members eq "u1""#).unwrap();

    assert_eq!(
        filter,
        ResolvedFilter::And(vec![
            compare("id", None, "g1"),
            compare("members", Some("value"), "u1")
        ])
    );
}

#[test]
fn matches_group_member_reference_check() {
    assert!(group_matches(r#"id eq "g1" and members eq "u1""#));
    assert!(group_matches(r#"id eq "g1" and members eq "u2""#));
    assert!(!group_matches(r#"id eq "g1" and members eq "u3""#));
    assert!(!group_matches(r#"id eq "g2" and members eq "u1""#));
}

#[test]
fn resolve_group_display_name_with_spaces() {
    let filter = parse_group(r#"displayName eq "R&D Team""#).unwrap();

    assert_eq!(filter, compare("displayName", None, "R&D Team"));
}

#[test]
fn matches_group_display_name_exactly() {
    assert!(group_matches(r#"displayName eq "R&D Team""#));
    assert!(group_matches(r#"displayName eq "r&d team""#));
    assert!(!group_matches(r#"displayName eq "R&D""#));
    assert!(!group_matches(r#"displayName eq "R&D Team Reserve""#));
}

#[test]
fn resolve_group_external_id() {
    let filter = parse_group(r#"externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159""#).unwrap();

    assert_eq!(
        filter,
        compare("externalId", None, "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")
    );
    assert!(group_matches(
        r#"externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159""#
    ));
    assert!(!group_matches(
        r#"externalId eq "8AA1A0C0-C4C3-4BC0-B4A5-2EF676900159""#
    ));
}

#[test]
fn resolve_group_member_value_path() {
    let filter = parse_group(r#"members[value eq "u2"]"#).unwrap();

    assert_eq!(
        filter,
        ResolvedFilter::ValuePath {
            attr: resolved(SchemaKind::Core, "members", None),
            filter: Box::new(compare("value", None, "u2")),
        }
    );
    assert!(group_matches(r#"members[value eq "u2"]"#));
    assert!(!group_matches(r#"members[value eq "u3"]"#));
}

#[test]
fn resolve_group_unknown_attribute_rejected() {
    let cases = [
        r#"userName eq "a""#,
        r#"members[shade eq "blue"]"#,
        r#"members.shade eq "blue""#,
    ];

    for text in cases {
        let error = parse_group(text).unwrap_err();

        assert_eq!(error.scim_type, Some(ScimType::InvalidFilter), "{text}");
    }
}
