//! `events.v1.EventSink` consumer. Each event is applied in its own
//! transaction together with the record of its id, so a redelivered event is
//! skipped and a failure leaves every earlier event applied.

use proto::events::v1::{DeliverRequest, DeliverResponse, event::Payload};

use crate::{GroupsService, error::ServiceError};

impl GroupsService {
    /// Applies events in order and returns how many were applied now. Stops
    /// at the first failure; the relay retries from that event.
    pub async fn deliver(&self, request: DeliverRequest) -> Result<DeliverResponse, ServiceError> {
        let mut applied = 0;
        for (index, event) in request.events.iter().enumerate() {
            if event.id.is_empty() {
                return Err(ServiceError::invalid(
                    "events",
                    format!("event {index} has no id"),
                ));
            }
            match &event.payload {
                Some(Payload::UserDeleted(deleted)) => {
                    if event.workspace_id.is_empty() || deleted.user_id.is_empty() {
                        return Err(ServiceError::invalid(
                            "events",
                            format!("event {} needs workspace_id and user_id", event.id),
                        ));
                    }
                    let removed = self
                        .remove_user(&event.workspace_id, &deleted.user_id, Some(&event.id))
                        .await?;
                    match removed {
                        Some(_) => applied += 1,
                        None => {
                            tracing::debug!(event_id = %event.id, "event already processed, skipped")
                        }
                    }
                }
                // Other kinds, and kinds added after this build (which
                // decode as `None`), are not for groups-svc.
                Some(_) | None => tracing::debug!(
                    event_id = %event.id,
                    aggregate_type = %event.aggregate_type,
                    "event kind not consumed by groups-svc, acknowledged"
                ),
            }
        }
        Ok(DeliverResponse { applied })
    }
}
