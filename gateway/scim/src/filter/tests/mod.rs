use proptest::prelude::*;

use super::*;
use crate::error::ScimType;
use crate::schema::{ResourceSchema, SchemaKind};

mod groups;
mod resolve;

fn path(name: &str) -> AttributePath {
    AttributePath::new(name)
}

fn eq(name: &str, value: &str) -> Filter {
    Filter::Compare {
        attr: path(name),
        op: CompareOp::Eq,
        value: FilterValue::String(value.to_owned()),
    }
}

fn resolved(schema: SchemaKind, name: &str, sub: Option<&str>) -> ResolvedPath {
    ResolvedPath {
        schema,
        name: name.to_owned(),
        sub_attribute: sub.map(str::to_owned),
    }
}

#[test]
fn parse_simple_equality() {
    let filter = parse(r#"userName eq "bjensen""#).unwrap();

    assert_eq!(filter, eq("userName", "bjensen"));
}

#[test]
fn parse_rfc_examples() {
    let examples = [
        r#"userName Eq "john""#,
        r#"Username eq "john""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ];

    for example in examples {
        assert!(
            parse(example).is_ok(),
            "RFC 7644 example rejected: {example}"
        );
    }
}

#[test]
fn parse_and_binds_tighter_than_or() {
    let filter = parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();

    assert_eq!(
        filter,
        Filter::Or(vec![
            eq("a", "1"),
            Filter::And(vec![eq("b", "2"), eq("c", "3")])
        ])
    );
}

#[test]
fn parse_flattens_and_chains() {
    let filter = parse(r#"a eq "1" and b eq "2" and c eq "3""#).unwrap();

    assert_eq!(
        filter,
        Filter::And(vec![eq("a", "1"), eq("b", "2"), eq("c", "3")])
    );
}

#[test]
fn parse_keywords_any_case_and_whitespace() {
    let filter = parse("\t userName  EQ \"a\"\n AND\r\n NOT ( title PR )  ").unwrap();

    assert_eq!(
        filter,
        Filter::And(vec![
            eq("userName", "a"),
            Filter::Not(Box::new(Filter::Present(path("title"))))
        ])
    );
}

#[test]
fn parse_literals() {
    let cases = [
        ("active eq true", FilterValue::Bool(true)),
        ("active eq False", FilterValue::Bool(false)),
        ("title eq null", FilterValue::Null),
        ("x eq 42", FilterValue::Number(42.0)),
        ("x eq -1.5e2", FilterValue::Number(-150.0)),
        (
            r#"x eq "a \"quoted\" \\ \u00e9""#,
            FilterValue::String("a \"quoted\" \\ é".to_owned()),
        ),
    ];

    for (text, expected) in cases {
        let Filter::Compare { value, .. } = parse(text).unwrap() else {
            panic!("not a comparison: {text}");
        };
        assert_eq!(value, expected, "{text}");
    }
}

#[test]
fn parse_value_with_spaces() {
    let filter = parse(r#"displayName eq "Field Ops North Shore""#).unwrap();

    assert_eq!(filter, eq("displayName", "Field Ops North Shore"));
}

#[test]
fn parse_quote_laden_value_is_one_string() {
    let filter = parse(r#"userName eq "nobody\" or \"1\" eq \"1""#).unwrap();

    assert_eq!(filter, eq("userName", r#"nobody" or "1" eq "1"#));
}

#[test]
fn parse_single_quotes_inside_string() {
    let filter = parse(r#"userName eq "nobody@example.com' OR '1'='1""#).unwrap();

    assert_eq!(filter, eq("userName", "nobody@example.com' OR '1'='1"));
}

#[test]
fn parse_value_path() {
    let filter = parse(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap();

    assert_eq!(
        filter,
        Filter::ValuePath {
            attr: path("emails"),
            filter: Box::new(Filter::And(vec![
                eq("type", "work"),
                Filter::Compare {
                    attr: path("value"),
                    op: CompareOp::Co,
                    value: FilterValue::String("@example.com".to_owned()),
                },
            ])),
        }
    );
}

#[test]
fn parse_entra_value_path_with_trailing_comparison() {
    let filter = parse(r#"emails[type eq "work"].value eq "x@example.com""#).unwrap();

    assert_eq!(
        filter,
        Filter::ValuePath {
            attr: path("emails"),
            filter: Box::new(Filter::And(vec![
                eq("type", "work"),
                eq("value", "x@example.com")
            ])),
        }
    );
}

#[test]
fn parse_urn_qualified_attribute() {
    let filter = parse(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#,
    )
    .unwrap();

    let Filter::Compare { attr, .. } = filter else {
        panic!("not a comparison");
    };
    assert_eq!(
        attr.urn.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(attr.name, "manager");
    assert_eq!(attr.sub_attribute.as_deref(), Some("value"));
}

#[test]
fn parse_rejects_malformed_filters() {
    let cases = [
        "",
        "userName zz",
        r#"userName eq "x" or 1 eq 1"#,
        r#"userName eq "unterminated"#,
        r#"userName eq "x" and"#,
        r#"(userName eq "x""#,
        r#"userName eq "x")"#,
        "userName eq",
        "userName eqx \"a\"",
        r#"emails[type eq "work""#,
        r#"emails[addresses[type eq "work"]]"#,
        r#"userName eq "bad \q escape""#,
        "userName eq bareword",
        r#"not userName eq "x""#,
    ];

    for text in cases {
        let error = parse(text).unwrap_err();
        assert_eq!(error.status, 400, "{text}");
        assert_eq!(error.scim_type, Some(ScimType::InvalidFilter), "{text}");
    }
}

#[test]
fn parse_error_names_position() {
    let error = parse("userName zz").unwrap_err();

    assert!(error.detail.contains("character 10"), "{}", error.detail);
    assert!(error.detail.contains("operator"), "{}", error.detail);
}

#[test]
fn parse_rejects_over_long_filter() {
    let text = format!(r#"userName eq "{}""#, "a".repeat(MAX_FILTER_LENGTH));

    let error = parse(&text).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidFilter));
}

#[test]
fn parse_accepts_max_depth() {
    let text = format!(
        "{}title pr{}",
        "(".repeat(MAX_FILTER_DEPTH),
        ")".repeat(MAX_FILTER_DEPTH)
    );

    assert!(parse(&text).is_ok());
}

#[test]
fn parse_rejects_over_deep_filter() {
    let depth = MAX_FILTER_DEPTH + 1;
    let text = format!("{}title pr{}", "(".repeat(depth), ")".repeat(depth));

    let error = parse(&text).unwrap_err();

    assert_eq!(error.scim_type, Some(ScimType::InvalidFilter));
    assert!(error.detail.contains("32"), "{}", error.detail);
}

#[test]
fn parse_depth_ignores_brackets_in_strings() {
    let text = format!(r#"displayName eq "{}""#, "(".repeat(100));

    assert!(parse(&text).is_ok());
}

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn parse_never_panics_on_filter_like_text(
        text in r#"[a-zA-Z\[\]().:" \\]{0,120}( (eq|and|or|pr|not) )?[a-z"\[\]()0-9 ]{0,60}"#
    ) {
        if let Ok(filter) = parse(&text) {
            let _ = resolve(&filter, ResourceSchema::user());
        }
    }

    #[test]
    fn parse_rejects_any_over_deep_nesting(depth in (MAX_FILTER_DEPTH + 1)..200usize, bracket in any::<bool>()) {
        let (open, close) = if bracket { ("emails[", "]") } else { ("(", ")") };
        let text = format!("{}title pr{}", open.repeat(depth), close.repeat(depth));
        prop_assert!(parse(&text).is_err());
    }

    #[test]
    fn parse_accepts_any_string_value(value in "\\PC{0,60}") {
        let text = format!("userName eq {}", serde_json::to_string(&value).unwrap());
        let filter = parse(&text).unwrap();
        prop_assert_eq!(filter, eq("userName", &value));
    }
}
