//! Attribute definitions and their characteristics (RFC 7643 section 2.2 and section 7).

/// Attribute data type (RFC 7643 section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttributeType {
    /// Returns the type name used in schema representations.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Boolean => "boolean",
            AttributeType::Decimal => "decimal",
            AttributeType::Integer => "integer",
            AttributeType::DateTime => "dateTime",
            AttributeType::Binary => "binary",
            AttributeType::Reference => "reference",
            AttributeType::Complex => "complex",
        }
    }
}

/// Whether and how a client may change an attribute (RFC 7643 section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    /// Returns the keyword used in schema representations.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute is returned in a response (RFC 7643 section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    /// Returns the keyword used in schema representations.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// The scope in which an attribute value must be unique (RFC 7643 section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    /// Returns the keyword used in schema representations.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute or sub-attribute of a schema with its RFC 7643 characteristics.
#[derive(Debug, Clone, Copy)]
pub struct AttributeDefinition {
    /// Canonical attribute name, as spelled in the RFC.
    pub name: &'static str,
    /// Data type.
    pub data_type: AttributeType,
    /// Whether the value is a JSON array.
    pub multi_valued: bool,
    /// Human-readable description.
    pub description: &'static str,
    /// Whether a resource must carry the attribute.
    pub required: bool,
    /// Whether string comparisons respect case.
    pub case_exact: bool,
    /// Whether and how clients may change the attribute.
    pub mutability: Mutability,
    /// When the attribute is returned.
    pub returned: Returned,
    /// Uniqueness scope.
    pub uniqueness: Uniqueness,
    /// Suggested values, such as `work` and `home` for `emails.type`.
    pub canonical_values: &'static [&'static str],
    /// Resource types a reference may point to, for `reference` attributes.
    pub reference_types: &'static [&'static str],
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: &'static [AttributeDefinition],
}

impl AttributeDefinition {
    /// Creates a single-valued, optional, case-insensitive, readWrite attribute
    /// returned by default, the RFC 7643 section 2.2 defaults.
    pub const fn new(
        name: &'static str,
        data_type: AttributeType,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            data_type,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }

    /// Creates a string attribute with the default characteristics.
    pub const fn string(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttributeType::String, description)
    }

    /// Creates a complex attribute with the given sub-attributes.
    pub const fn complex(
        name: &'static str,
        description: &'static str,
        sub_attributes: &'static [AttributeDefinition],
    ) -> Self {
        let mut attribute = Self::new(name, AttributeType::Complex, description);
        attribute.sub_attributes = sub_attributes;
        attribute
    }

    /// Creates a reference attribute to the given resource types (`external` and `uri` included).
    pub const fn reference(
        name: &'static str,
        description: &'static str,
        reference_types: &'static [&'static str],
    ) -> Self {
        let mut attribute = Self::new(name, AttributeType::Reference, description);
        attribute.reference_types = reference_types;
        attribute
    }

    /// Marks the attribute multi-valued.
    pub const fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Marks the attribute required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks string comparisons case-exact.
    pub const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Sets the mutability.
    pub const fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    /// Sets when the attribute is returned.
    pub const fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    /// Sets the uniqueness scope.
    pub const fn uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    /// Sets the canonical values.
    pub const fn canonical_values(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    /// Finds a sub-attribute by name, ignoring ASCII case.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttributeDefinition> {
        self.sub_attributes
            .iter()
            .find(|sub| sub.name.eq_ignore_ascii_case(name))
    }

    /// Returns whether this is a complex attribute.
    pub fn is_complex(&self) -> bool {
        self.data_type == AttributeType::Complex
    }
}
