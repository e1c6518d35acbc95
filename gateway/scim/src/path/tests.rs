use proptest::prelude::*;

use super::*;
use crate::error::ScimType;
use crate::filter::{CompareOp, FilterValue};

#[test]
fn attribute_path_simple() {
    let path = parse_attribute_path("userName").unwrap();

    assert_eq!(path, AttributePath::new("userName"));
}

#[test]
fn attribute_path_with_sub_attribute() {
    let path = parse_attribute_path("name.givenName").unwrap();

    assert_eq!(path.name, "name");
    assert_eq!(path.sub_attribute.as_deref(), Some("givenName"));
}

#[test]
fn attribute_path_urn_keeps_version_dots() {
    let path =
        parse_attribute_path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();

    assert_eq!(
        path.urn.as_deref(),
        Some("urn:ietf:params:scim:schemas:core:2.0:User")
    );
    assert_eq!(path.name, "name");
    assert_eq!(path.sub_attribute.as_deref(), Some("givenName"));
}

#[test]
fn attribute_path_bare_urn_is_schema_urn() {
    let path =
        parse_attribute_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();

    assert_eq!(
        path.as_schema_urn().as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
}

#[test]
fn attribute_path_ref_sub_attribute() {
    let path = parse_attribute_path("members.$ref").unwrap();

    assert_eq!(path.sub_attribute.as_deref(), Some("$ref"));
}

#[test]
fn attribute_path_display_round_trips() {
    let text = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value";

    assert_eq!(parse_attribute_path(text).unwrap().to_string(), text);
}

#[test]
fn attribute_path_rejects_malformed() {
    for text in [
        "",
        "1abc",
        "name.",
        ".name",
        "name.given.name",
        ":name",
        "na me",
        "emails[type eq \"x\"]",
    ] {
        let error = parse_attribute_path(text).unwrap_err();
        assert_eq!(error.scim_type, Some(ScimType::InvalidPath), "{text}");
    }
}

#[test]
fn patch_path_value_filter_with_sub_attribute() {
    let path = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();

    assert_eq!(path.attribute.name, "emails");
    assert_eq!(path.attribute.sub_attribute.as_deref(), Some("value"));
    assert_eq!(
        path.value_filter,
        Some(Filter::Compare {
            attr: AttributePath::new("type"),
            op: CompareOp::Eq,
            value: FilterValue::String("work".to_owned()),
        })
    );
}

#[test]
fn patch_path_members_filter() {
    let path =
        parse_patch_path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).unwrap();

    assert_eq!(path.attribute, AttributePath::new("members"));
    assert!(path.value_filter.is_some());
}

#[test]
fn patch_path_urn_qualified() {
    let path = parse_patch_path(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    )
    .unwrap();

    assert_eq!(path.attribute.name, "employeeNumber");
    assert!(path.value_filter.is_none());
}

#[test]
fn patch_path_rejects_malformed() {
    let cases = [
        r#"emails[type eq "work""#,
        r#"emails.value[type eq "work"]"#,
        r#"emails[type eq "work"].value.extra"#,
        r#"emails[type eq "work"] trailing"#,
        "emails[]",
        "",
    ];

    for text in cases {
        let error = parse_patch_path(text).unwrap_err();
        assert_eq!(error.scim_type, Some(ScimType::InvalidPath), "{text}");
    }
}

#[test]
fn patch_path_rejects_over_deep_filter() {
    let depth = crate::filter::MAX_FILTER_DEPTH + 1;
    let text = format!("emails[{}type pr{}]", "(".repeat(depth), ")".repeat(depth));

    let error = parse_patch_path(&text).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidPath));
}

proptest! {
    #[test]
    fn attribute_path_never_panics(text in "\\PC{0,80}") {
        let _ = parse_attribute_path(&text);
    }

    #[test]
    fn patch_path_never_panics(text in "\\PC{0,80}") {
        let _ = parse_patch_path(&text);
    }

    #[test]
    fn patch_path_never_panics_on_path_like_text(text in r#"[a-zA-Z:.\[\]" $]{0,60}"#) {
        let _ = parse_patch_path(&text);
    }
}
