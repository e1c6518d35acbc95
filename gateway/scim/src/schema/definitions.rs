//! Attribute definitions of the User (RFC 7643 section 4.1), Group (section 4.2)
//! and enterprise User (section 4.3) schemas, following the section 8.7.1
//! representation, plus this product's deviations: `roles` and `entitlements`
//! are readOnly because roles come only from IdP group mappings.

use super::attribute::{
    AttributeDefinition as Attr, AttributeType, Mutability, Returned, Uniqueness,
};
use super::{ENTERPRISE_USER, GROUP, SchemaDefinition, USER};

/// Builds the `value`, `display`, `type` and `primary` sub-attributes shared by
/// the multi-valued User attributes (RFC 7643 section 2.4).
const fn multi_value_subs(value: Attr, types: &'static [&'static str]) -> [Attr; 4] {
    [
        value,
        Attr::string(
            "display",
            "A human-readable name, primarily used for display purposes.",
        )
        .mutability(Mutability::ReadWrite),
        Attr::string("type", "A label indicating the attribute's function.")
            .canonical_values(types),
        Attr::new(
            "primary",
            AttributeType::Boolean,
            "A Boolean value indicating the 'primary' or preferred value for this attribute.",
        ),
    ]
}

/// Common attributes of every resource (RFC 7643 section 3.1). They are not
/// part of any schema's `/Schemas` representation.
pub static COMMON_ATTRIBUTES: [Attr; 3] = [
    Attr::string(
        "id",
        "Unique identifier for the resource, assigned by the service provider.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Always)
    .uniqueness(Uniqueness::Server),
    Attr::string(
        "externalId",
        "Identifier for the resource as defined by the provisioning client.",
    )
    .case_exact(),
    Attr::complex(
        "meta",
        "Resource metadata maintained by the service provider.",
        &[
            Attr::string(
                "resourceType",
                "The name of the resource type of the resource.",
            )
            .case_exact()
            .mutability(Mutability::ReadOnly),
            Attr::new(
                "created",
                AttributeType::DateTime,
                "The date and time the resource was added.",
            )
            .mutability(Mutability::ReadOnly),
            Attr::new(
                "lastModified",
                AttributeType::DateTime,
                "The date and time the resource was last modified.",
            )
            .mutability(Mutability::ReadOnly),
            Attr::reference(
                "location",
                "The URI of the resource being returned.",
                &["uri"],
            )
            .case_exact()
            .mutability(Mutability::ReadOnly),
            Attr::string(
                "version",
                "The version (ETag) of the resource being returned.",
            )
            .case_exact()
            .mutability(Mutability::ReadOnly),
        ],
    )
    .mutability(Mutability::ReadOnly),
];

/// The core User schema.
pub static USER_SCHEMA: SchemaDefinition = SchemaDefinition {
    id: USER,
    name: "User",
    description: "User Account",
    attributes: &[
        Attr::string(
            "userName",
            "Unique identifier for the User, used to authenticate.",
        )
        .required()
        .uniqueness(Uniqueness::Server),
        Attr::complex(
            "name",
            "The components of the user's real name.",
            &[
                Attr::string("formatted", "The full name, formatted for display."),
                Attr::string("familyName", "The family name of the User, or last name."),
                Attr::string("givenName", "The given name of the User, or first name."),
                Attr::string("middleName", "The middle name(s) of the User."),
                Attr::string(
                    "honorificPrefix",
                    "The honorific prefix(es) of the User, or title.",
                ),
                Attr::string(
                    "honorificSuffix",
                    "The honorific suffix(es) of the User, or suffix.",
                ),
            ],
        ),
        Attr::string(
            "displayName",
            "The name of the User, suitable for display to end-users.",
        ),
        Attr::string(
            "nickName",
            "The casual way to address the user in real life.",
        ),
        Attr::reference(
            "profileUrl",
            "A fully qualified URL pointing to the User's online profile.",
            &["external"],
        ),
        Attr::string("title", "The user's title, such as \"Vice President\"."),
        Attr::string(
            "userType",
            "Identifies the relationship between the organization and the user.",
        ),
        Attr::string(
            "preferredLanguage",
            "The User's preferred written or spoken language.",
        ),
        Attr::string(
            "locale",
            "The User's default location for localizing items.",
        ),
        Attr::string(
            "timezone",
            "The User's time zone in the 'Olson' time zone database format.",
        ),
        Attr::new(
            "active",
            AttributeType::Boolean,
            "A Boolean value indicating the User's administrative status.",
        ),
        Attr::string(
            "password",
            "The User's cleartext password. This service accepts it and never stores it.",
        )
        .mutability(Mutability::WriteOnly)
        .returned(Returned::Never),
        Attr::complex(
            "emails",
            "Email addresses for the user.",
            &multi_value_subs(
                Attr::string(
                    "value",
                    "Email addresses for the user, canonicalized per RFC 5321.",
                ),
                &["work", "home", "other"],
            ),
        )
        .multi_valued(),
        Attr::complex(
            "phoneNumbers",
            "Phone numbers for the User.",
            &multi_value_subs(
                Attr::string("value", "Phone number of the User."),
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
        )
        .multi_valued(),
        Attr::complex(
            "ims",
            "Instant messaging addresses for the User.",
            &multi_value_subs(
                Attr::string("value", "Instant messaging address for the User."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
        )
        .multi_valued(),
        Attr::complex(
            "photos",
            "URLs of images of the User.",
            &multi_value_subs(
                Attr::reference("value", "URL of a photo of the User.", &["external"]),
                &["photo", "thumbnail"],
            ),
        )
        .multi_valued(),
        Attr::complex(
            "addresses",
            "A physical mailing address for this User.",
            &[
                Attr::string(
                    "formatted",
                    "The full mailing address, formatted for display.",
                ),
                Attr::string("streetAddress", "The full street address component."),
                Attr::string("locality", "The city or locality component."),
                Attr::string("region", "The state or region component."),
                Attr::string("postalCode", "The zip code or postal code component."),
                Attr::string(
                    "country",
                    "The country name component, as an ISO 3166-1 alpha-2 code.",
                ),
                Attr::string("type", "A label indicating the attribute's function.")
                    .canonical_values(&["work", "home", "other"]),
                Attr::new(
                    "primary",
                    AttributeType::Boolean,
                    "A Boolean value indicating the 'primary' or preferred address.",
                ),
            ],
        )
        .multi_valued(),
        Attr::complex(
            "groups",
            "The groups the user belongs to, maintained by the service provider.",
            &[
                Attr::string("value", "The identifier of the User's group.")
                    .mutability(Mutability::ReadOnly),
                Attr::reference(
                    "$ref",
                    "The URI of the corresponding Group resource.",
                    &["User", "Group"],
                )
                .mutability(Mutability::ReadOnly),
                Attr::string(
                    "display",
                    "A human-readable name, primarily used for display purposes.",
                )
                .mutability(Mutability::ReadOnly),
                Attr::string("type", "Whether the membership is direct or indirect.")
                    .canonical_values(&["direct", "indirect"])
                    .mutability(Mutability::ReadOnly),
            ],
        )
        .multi_valued()
        .mutability(Mutability::ReadOnly),
        Attr::complex(
            "entitlements",
            "Entitlements of the User. Read-only here: they come from IdP group mappings.",
            &multi_value_subs(Attr::string("value", "The value of an entitlement."), &[]),
        )
        .multi_valued()
        .mutability(Mutability::ReadOnly),
        Attr::complex(
            "roles",
            "Roles of the User. Read-only here: roles come from IdP group mappings.",
            &multi_value_subs(Attr::string("value", "The value of a role."), &[]),
        )
        .multi_valued()
        .mutability(Mutability::ReadOnly),
        Attr::complex(
            "x509Certificates",
            "DER-encoded X.509 certificates issued to the User.",
            &multi_value_subs(
                Attr::new(
                    "value",
                    AttributeType::Binary,
                    "The value of an X.509 certificate.",
                ),
                &[],
            ),
        )
        .multi_valued(),
    ],
};

/// The enterprise User extension.
pub static ENTERPRISE_USER_SCHEMA: SchemaDefinition = SchemaDefinition {
    id: ENTERPRISE_USER,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        Attr::string(
            "employeeNumber",
            "Numeric or alphanumeric identifier assigned to a person.",
        ),
        Attr::string("costCenter", "Identifies the name of a cost center."),
        Attr::string("organization", "Identifies the name of an organization."),
        Attr::string("division", "Identifies the name of a division."),
        Attr::string("department", "Identifies the name of a department."),
        Attr::complex(
            "manager",
            "The User's manager.",
            &[
                Attr::string(
                    "value",
                    "The id of the SCIM resource representing the User's manager.",
                ),
                Attr::reference(
                    "$ref",
                    "The URI of the SCIM resource representing the User's manager.",
                    &["User"],
                ),
                Attr::string("displayName", "The displayName of the User's manager.")
                    .mutability(Mutability::ReadOnly),
            ],
        ),
    ],
};

/// The core Group schema.
pub static GROUP_SCHEMA: SchemaDefinition = SchemaDefinition {
    id: GROUP,
    name: "Group",
    description: "Group",
    attributes: &[
        Attr::string("displayName", "A human-readable name for the Group.")
            .required()
            .uniqueness(Uniqueness::Server),
        Attr::complex(
            "members",
            "A list of members of the Group.",
            &[
                Attr::string("value", "Identifier of the member of this Group.")
                    .mutability(Mutability::Immutable),
                Attr::reference(
                    "$ref",
                    "The URI of the corresponding member resource.",
                    &["User", "Group"],
                )
                .mutability(Mutability::Immutable),
                Attr::string("display", "A human-readable name of the member.")
                    .mutability(Mutability::Immutable),
                Attr::string("type", "The type of the member, User or Group.")
                    .canonical_values(&["User", "Group"])
                    .mutability(Mutability::Immutable),
            ],
        )
        .multi_valued(),
    ],
};
