//! The actor of the current request (an identity provider's SCIM token, an
//! admin, or the system), carried across gRPC hops in the `x-actor`
//! metadata so that services record who made each change.
//!
//! The gateway sets it once it has authenticated a request
//! ([`with_actor`]); [`crate::grpc::GrpcClientLayer`] sends it on every
//! outgoing call and [`crate::grpc::GrpcServerLayer`] restores it on the
//! server, where [`stamp`] copies it, the request id and the trace id into
//! each outbox event.

use proto::events::v1::{Actor, Event, actor::Kind};

/// Metadata key of the actor on internal gRPC calls.
pub const ACTOR_HEADER: &str = "x-actor";
/// Longest encoded actor accepted from metadata, in bytes.
const MAX_ENCODED_LEN: usize = 512;

tokio::task_local! {
    static CURRENT_ACTOR: Actor;
}

/// Returns the actor of the request the current task serves, if any.
pub fn current_actor() -> Option<Actor> {
    CURRENT_ACTOR.try_with(Clone::clone).ok()
}

/// Runs `future` with `actor` as [`current_actor`].
pub async fn with_actor<F: std::future::Future>(actor: Actor, future: F) -> F::Output {
    CURRENT_ACTOR.scope(actor, future).await
}

/// Builds the actor of a SCIM token.
pub fn scim_token(token_id: &str, identity_provider: &str) -> Actor {
    Actor {
        kind: Kind::ScimToken.into(),
        id: token_id.to_owned(),
        identity_provider: identity_provider.to_owned(),
    }
}

/// Builds the actor of an admin, identified by the token's subject.
pub fn admin(subject: &str) -> Actor {
    Actor {
        kind: Kind::Admin.into(),
        id: subject.to_owned(),
        identity_provider: String::new(),
    }
}

/// Fills the event's actor, request id and trace id from the current
/// request; the actor is the system outside a request with one.
pub fn stamp(event: &mut Event) {
    event.actor = Some(current_actor().unwrap_or_else(|| Actor {
        kind: Kind::System.into(),
        id: String::new(),
        identity_provider: String::new(),
    }));
    event.request_id = crate::http::current_request_id().unwrap_or_default();
    event.trace_id = crate::telemetry::current_trace_id().unwrap_or_default();
}

/// Encodes an actor for the `x-actor` metadata: `kind;id;identity_provider`
/// with each part percent-encoded.
pub fn encode(actor: &Actor) -> String {
    let kind = match actor.kind() {
        Kind::ScimToken => "scim_token",
        Kind::Admin => "admin",
        Kind::System | Kind::Unspecified => "system",
    };
    format!(
        "{kind};{};{}",
        escape(&actor.id),
        escape(&actor.identity_provider)
    )
}

/// Decodes the `x-actor` metadata; `None` when it is malformed.
pub fn decode(value: &str) -> Option<Actor> {
    if value.len() > MAX_ENCODED_LEN {
        return None;
    }
    let mut parts = value.splitn(3, ';');
    let kind = match parts.next()? {
        "scim_token" => Kind::ScimToken,
        "admin" => Kind::Admin,
        "system" => Kind::System,
        _ => return None,
    };
    Some(Actor {
        kind: kind.into(),
        id: unescape(parts.next()?)?,
        identity_provider: unescape(parts.next()?)?,
    })
}

/// Percent-encodes every byte outside `A-Z a-z 0-9 - . _ ~ @`.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

fn unescape(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = value.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_token_round_trips() {
        let actor = scim_token("tok-1", "entra");

        assert_eq!(decode(&encode(&actor)), Some(actor));
    }

    #[test]
    fn admin_with_separators_round_trips() {
        let actor = admin("auth0|user;50%");

        assert_eq!(decode(&encode(&actor)), Some(actor));
    }

    #[test]
    fn unknown_kind_rejected() {
        assert_eq!(decode("root;x;y"), None);
    }

    #[test]
    fn truncated_escape_rejected() {
        assert_eq!(decode("admin;%4;"), None);
    }

    #[test]
    fn oversized_value_rejected() {
        assert_eq!(decode(&format!("admin;{};", "a".repeat(600))), None);
    }

    #[tokio::test]
    async fn stamp_outside_request_is_system() {
        let mut event = Event::default();

        stamp(&mut event);

        assert_eq!(event.actor.map(|actor| actor.kind()), Some(Kind::System));
    }

    #[tokio::test]
    async fn stamp_inside_scope_uses_actor() {
        let mut event = Event::default();

        with_actor(admin("ann"), async { stamp(&mut event) }).await;

        assert_eq!(event.actor.map(|actor| actor.id), Some("ann".to_owned()));
    }
}
