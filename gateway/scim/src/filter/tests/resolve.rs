use serde_json::json;

use super::*;

fn parse_user(text: &str) -> Result<ResolvedFilter, crate::error::ScimError> {
    resolve(&parse(text)?, ResourceSchema::user())
}

#[test]
fn resolve_canonical_names() {
    let filter = parse_user(r#"USERNAME eq "a""#).unwrap();

    assert_eq!(
        filter,
        ResolvedFilter::Compare {
            attr: resolved(SchemaKind::Core, "userName", None),
            op: CompareOp::Eq,
            value: FilterValue::String("a".to_owned()),
        }
    );
}

#[test]
fn resolve_complex_attribute_uses_value() {
    let filter = parse_user(r#"emails co "example.com""#).unwrap();

    let ResolvedFilter::Compare { attr, .. } = filter else {
        panic!("not a comparison");
    };
    assert_eq!(attr, resolved(SchemaKind::Core, "emails", Some("value")));
}

#[test]
fn resolve_group_members_eq_uses_value() {
    let filter = resolve(
        &parse(r#"id eq "g1" and members eq "u1""#).unwrap(),
        ResourceSchema::group(),
    )
    .unwrap();

    let ResolvedFilter::And(terms) = filter else {
        panic!("not a conjunction");
    };
    let ResolvedFilter::Compare { attr, .. } = &terms[1] else {
        panic!("not a comparison");
    };
    assert_eq!(*attr, resolved(SchemaKind::Core, "members", Some("value")));
}

#[test]
fn resolve_unqualified_manager_is_enterprise() {
    let filter = parse_user(r#"id eq "u1" and manager eq "m1""#).unwrap();

    let ResolvedFilter::And(terms) = filter else {
        panic!("not a conjunction");
    };
    let ResolvedFilter::Compare { attr, .. } = &terms[1] else {
        panic!("not a comparison");
    };
    assert_eq!(
        *attr,
        resolved(SchemaKind::Enterprise, "manager", Some("value"))
    );
}

#[test]
fn resolve_complex_without_value_rejected() {
    let error = parse_user(r#"name eq "x""#).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidFilter));
    assert!(error.detail.contains("name"), "{}", error.detail);
}

#[test]
fn resolve_unknown_attribute_named() {
    let error = parse_user(r#"shoeSize eq "9""#).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidFilter));
    assert!(error.detail.contains("shoeSize"), "{}", error.detail);
}

#[test]
fn resolve_unknown_schema_urn_rejected() {
    let error = parse_user(r#"urn:example:custom:1.0:User:badge eq "9""#).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidFilter));
}

#[test]
fn resolve_value_path_inner_names() {
    let filter = parse_user(r#"EMAILS[TYPE eq "work"]"#).unwrap();

    assert_eq!(
        filter,
        ResolvedFilter::ValuePath {
            attr: resolved(SchemaKind::Core, "emails", None),
            filter: Box::new(ResolvedFilter::Compare {
                attr: resolved(SchemaKind::Core, "type", None),
                op: CompareOp::Eq,
                value: FilterValue::String("work".to_owned()),
            }),
        }
    );
}

#[test]
fn resolve_value_path_unknown_sub_attribute() {
    let error = parse_user(r#"emails[shade eq "blue"]"#).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidFilter));
}

#[test]
fn resolve_common_attributes_filterable() {
    let cases = [
        r#"id eq "1""#,
        r#"externalId eq "e-1""#,
        r#"meta.created gt "2024-01-01T00:00:00Z""#,
        r#"meta.lastModified le "2024-01-01T00:00:00+02:00""#,
    ];

    for text in cases {
        assert!(parse_user(text).is_ok(), "{text}");
    }
}

#[test]
fn resolve_string_boolean_for_active() {
    let filter = parse_user(r#"active eq "True""#).unwrap();

    let ResolvedFilter::Compare { value, .. } = filter else {
        panic!("not a comparison");
    };
    assert_eq!(value, FilterValue::Bool(true));
}

#[test]
fn resolve_rejects_type_mismatches() {
    let cases = [
        "active gt true",
        r#"active eq "yes""#,
        "userName eq 1",
        r#"meta.created gt "yesterday""#,
        r#"password eq "secret""#,
        "userName gt null",
    ];

    for text in cases {
        let error = parse_user(text).unwrap_err();
        assert_eq!(error.scim_type, Some(ScimType::InvalidFilter), "{text}");
    }
}

#[test]
fn sort_by_resolves_canonical() {
    let sort = parse_sort_by("NAME.familyname", ResourceSchema::user()).unwrap();

    assert_eq!(sort, resolved(SchemaKind::Core, "name", Some("familyName")));
}

#[test]
fn sort_by_complex_uses_value() {
    let sort = parse_sort_by("emails", ResourceSchema::user()).unwrap();

    assert_eq!(sort, resolved(SchemaKind::Core, "emails", Some("value")));
}

#[test]
fn sort_by_unknown_rejected() {
    let error = parse_sort_by("shoeSize", ResourceSchema::user()).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn sort_order_parses_any_case() {
    assert_eq!(
        parse_sort_order("Descending").unwrap(),
        SortOrder::Descending
    );
    assert_eq!(parse_sort_order("ascending").unwrap(), SortOrder::Ascending);
    assert!(parse_sort_order("up").is_err());
}

fn user() -> serde_json::Value {
    json!({
        "schemas": [crate::schema::USER, crate::schema::ENTERPRISE_USER],
        "id": "u1",
        "userName": "Marisol.Quint@Example.com",
        "active": true,
        "emails": [
            {"value": "mq@example.com", "type": "work", "primary": true},
            {"value": "mq@home.example", "type": "home"}
        ],
        "meta": {"created": "2024-05-01T10:00:00Z"},
        crate::schema::ENTERPRISE_USER: {"manager": {"value": "m1"}}
    })
}

fn user_matches(text: &str) -> bool {
    matches(&parse_user(text).unwrap(), &user(), ResourceSchema::user())
}

#[test]
fn matches_username_case_insensitive() {
    assert!(user_matches(r#"userName eq "MARISOL.QUINT@EXAMPLE.COM""#));
}

#[test]
fn matches_id_case_exact() {
    assert!(!user_matches(r#"id eq "U1""#));
}

#[test]
fn matches_compound_filters() {
    assert!(user_matches(
        r#"userName eq "marisol.quint@example.com" and active eq true"#
    ));
    assert!(!user_matches(
        r#"userName eq "marisol.quint@example.com" and active eq false"#
    ));
    assert!(user_matches(
        r#"active eq false or emails.value ew "@home.example""#
    ));
    assert!(user_matches(r#"not (active eq false)"#));
}

#[test]
fn matches_value_paths() {
    assert!(user_matches(
        r#"emails[type eq "work" and value eq "mq@example.com"]"#
    ));
    assert!(!user_matches(
        r#"emails[type eq "home" and value eq "mq@example.com"]"#
    ));
    assert!(user_matches(
        r#"emails[type eq "work"].value eq "mq@example.com""#
    ));
}

#[test]
fn matches_manager_and_dates() {
    assert!(user_matches(r#"manager eq "m1""#));
    assert!(user_matches(r#"meta.created gt "2024-05-01T09:00:00Z""#));
    assert!(!user_matches(
        r#"meta.created lt "2024-05-01T11:00:00+02:00""#
    ));
}

#[test]
fn matches_presence() {
    assert!(user_matches("emails pr"));
    assert!(!user_matches("title pr"));
    assert!(user_matches("title eq null"));
    assert!(!user_matches("title ne null"));
    assert!(user_matches("userName ne null"));
}
