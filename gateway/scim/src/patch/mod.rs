//! PATCH (RFC 7644 section 3.5.2).
