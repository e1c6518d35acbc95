//! A real `events.v1.EventSink` gRPC server on a loopback port that records
//! every delivery, and can fail calls or lose acknowledgements on request.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

use proto::events::v1::{
    DeliverRequest, DeliverResponse, Event,
    event_sink_server::{EventSink, EventSinkServer},
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

#[derive(Default)]
struct SinkState {
    /// Every event of every successful or ack-lost call, duplicates included.
    received: Mutex<Vec<Event>>,
    calls: AtomicU32,
    /// Calls still to reject before applying anything.
    failures: AtomicU32,
    /// Calls still to apply and then fail, as when the acknowledgement is
    /// lost on the way back.
    lost_acks: AtomicU32,
}

#[derive(Clone)]
struct Service(Arc<SinkState>);

#[tonic::async_trait]
impl EventSink for Service {
    async fn deliver(
        &self,
        request: Request<DeliverRequest>,
    ) -> Result<Response<DeliverResponse>, Status> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        if take_one(&self.0.failures) {
            return Err(Status::unavailable("test sink rejects this call"));
        }

        let events = request.into_inner().events;
        let applied = events.len() as u32;
        self.0.received.lock().unwrap().extend(events);
        if take_one(&self.0.lost_acks) {
            return Err(Status::unavailable("test sink lost the acknowledgement"));
        }
        Ok(Response::new(DeliverResponse { applied }))
    }
}

/// Decrements `counter` when it is above zero and returns whether it did.
fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |value| {
            value.checked_sub(1)
        })
        .is_ok()
}

/// A running test sink. Dropping it stops the server.
pub struct TestSink {
    pub addr: SocketAddr,
    state: Arc<SinkState>,
    cancel: CancellationToken,
}

impl TestSink {
    /// Starts a sink on a free loopback port.
    pub async fn start() -> Self {
        Self::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts a sink on `addr`.
    pub async fn start_at(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(SinkState::default());
        let cancel = CancellationToken::new();

        let server = tonic::transport::Server::builder()
            .add_service(EventSinkServer::new(Service(state.clone())))
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                cancel.clone().cancelled_owned(),
            );
        tokio::spawn(server);
        Self {
            addr,
            state,
            cancel,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes the next `count` calls fail before applying anything.
    pub fn fail_next(&self, count: u32) {
        self.state.failures.store(count, Ordering::SeqCst);
    }

    /// Makes the next `count` calls apply their events and then fail.
    pub fn lose_next_acks(&self, count: u32) {
        self.state.lost_acks.store(count, Ordering::SeqCst);
    }

    pub fn calls(&self) -> u32 {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// Returns every received event in arrival order, duplicates included.
    pub fn received(&self) -> Vec<Event> {
        self.state.received.lock().unwrap().clone()
    }
}

impl Drop for TestSink {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Returns a loopback address with nothing listening on it.
///
/// The port was free a moment ago. Another process could take it before a
/// test binds it again, and that test would then fail at the bind.
pub async fn unused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
