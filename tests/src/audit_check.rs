//! An auditing proxy for SCIM traffic. It sits between an identity
//! provider's requests and the gateway, gives every request its own
//! `x-request-id`, and reads each written User or Group before and after the
//! write. Afterwards [`verify`] compares the audit trail with what the
//! requests did. Each resource a request changed needs exactly one event
//! with the right action and member ids. A request that changed nothing or
//! only read needs none.
//!
//! Writes pass the proxy one at a time, so the two reads around a write see
//! that write alone. Reads pass concurrently.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use proto::audit::v1::{
    AuditEvent, AuditFilter, ListAuditEventsRequest, audit_service_client::AuditServiceClient,
};
use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot};
use tonic::transport::Channel;
use uuid::Uuid;

/// Header the gateway takes as the request id and stamps on every event.
const REQUEST_ID: &str = "x-request-id";

/// Time the trail must stay as expected before [`verify_eventually`]
/// accepts it, so that a late duplicate event is caught.
const SETTLE: Duration = Duration::from_secs(2);

/// Kind of a SCIM resource, named as in its URL and its audit actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    fn collection(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }

    /// Prefix of the audit actions about this kind of resource.
    fn action_prefix(self) -> &'static str {
        match self {
            Self::User => "user.",
            Self::Group => "group.",
        }
    }
}

/// What one request was, as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Record {
    pub request_id: String,
    /// Method and path, for messages.
    pub request: String,
    pub status: u16,
    pub access: Access,
}

#[derive(Debug, Clone)]
pub enum Access {
    /// A request that must not change anything: every GET, `.search`, and
    /// the proxy's own reads around writes.
    Read,
    /// A request that may change the resource it names. `before` and
    /// `after` are the resource as read around the write, without `meta`
    /// (and, for users, without the `groups` that group writes change);
    /// `None` means the resource did not exist.
    Write {
        kind: Kind,
        id: Option<String>,
        before: Option<Value>,
        after: Option<Value>,
    },
    /// The proxy could not read the resource around the write, so the
    /// request cannot be checked.
    Unreadable { reason: String },
}

/// Where a request was going: the resource collection and, when the path
/// names one, the resource id, plus the path up to the collection.
#[derive(Debug, PartialEq)]
struct Target<'a> {
    prefix: &'a str,
    kind: Kind,
    id: Option<&'a str>,
}

/// Finds `/Users`, `/Users/{id}`, `/Groups` or `/Groups/{id}` at the end of
/// a path. `.search` and other sub-paths are not resources.
fn target(path: &str) -> Option<Target<'_>> {
    let trimmed = path.trim_end_matches('/');
    for kind in [Kind::User, Kind::Group] {
        let marker = format!("/{}", kind.collection());
        if let Some(prefix) = trimmed.strip_suffix(marker.as_str()) {
            return Some(Target {
                prefix,
                kind,
                id: None,
            });
        }
        let (head, last) = trimmed.rsplit_once('/')?;
        if let Some(prefix) = head.strip_suffix(marker.as_str())
            && !last.is_empty()
            && last != ".search"
        {
            return Some(Target {
                prefix,
                kind,
                id: Some(last),
            });
        }
    }
    None
}

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    records: Mutex<Vec<Record>>,
    writes: tokio::sync::Mutex<()>,
}

/// A running auditing proxy on a loopback port.
pub struct AuditCheck {
    addr: SocketAddr,
    upstream: String,
    proxy: Arc<Proxy>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl AuditCheck {
    /// Starts a proxy on 127.0.0.1 that forwards to `upstream`, an origin
    /// such as `http://127.0.0.1:8080`.
    pub async fn start(upstream: &str) -> Result<Self> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        let proxy = Arc::new(Proxy {
            upstream: upstream.clone(),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(120))
                .build()
                .context("failed to build the HTTP client")?,
            records: Mutex::new(Vec::new()),
            writes: tokio::sync::Mutex::new(()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("failed to bind the proxy on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        // The gateway's listener, so raw quotes in Entra's filters pass.
        let listener = plumbing::request_target::TolerantListener::new(listener);
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&proxy));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                eprintln!("audit-check proxy stopped: {error}");
            }
        });
        Ok(Self {
            addr,
            upstream,
            proxy,
            shutdown: Some(shutdown),
        })
    }

    /// Returns the proxy's origin, `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns `url` with the upstream origin replaced by the proxy's.
    pub fn rebase(&self, url: &str) -> String {
        match url.strip_prefix(&self.upstream) {
            Some(rest) => format!("{}{rest}", self.origin()),
            None => url.to_owned(),
        }
    }

    /// Returns every request seen so far, in the order they completed.
    pub fn records(&self) -> Vec<Record> {
        self.proxy
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for AuditCheck {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map_or("/", |value| value.as_str());
    let target = target(uri.path());
    let writes = matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let written = target.as_ref().filter(|_| writes);
    let authorization = headers.get(header::AUTHORIZATION).cloned();

    // Held until the read after the write, so no other write lands between.
    let _turn = match written {
        Some(_) => Some(proxy.writes.lock().await),
        None => None,
    };
    let before = match written {
        Some(Target {
            prefix,
            kind,
            id: Some(id),
        }) => Some(
            proxy
                .snapshot(prefix, *kind, id, authorization.as_ref())
                .await,
        ),
        _ => None,
    };

    let request_id = Uuid::new_v4().to_string();
    let sent = proxy
        .send(&method, path_and_query, &headers, body, &request_id)
        .await;
    let (status, response_headers, response_body) = match sent {
        Ok(response) => response,
        Err(error) => {
            proxy.record(Record {
                request_id,
                request: format!("{method} {path_and_query}"),
                status: 502,
                access: Access::Unreadable {
                    reason: format!("the upstream did not answer: {error:#}"),
                },
            });
            return (StatusCode::BAD_GATEWAY, "upstream unreachable").into_response();
        }
    };

    let access = match written {
        None => Access::Read,
        Some(written) => {
            let id = written.id.map(str::to_owned).or_else(|| {
                (method == Method::POST && (200..300).contains(&status.as_u16()))
                    .then(|| created_id(&response_body))
                    .flatten()
            });
            let after = match &id {
                Some(id) => Some(
                    proxy
                        .snapshot(written.prefix, written.kind, id, authorization.as_ref())
                        .await,
                ),
                None => None,
            };
            write_access(written.kind, id, before, after)
        }
    };
    proxy.record(Record {
        request_id,
        request: format!("{method} {path_and_query}"),
        status: status.as_u16(),
        access,
    });

    let mut response = (status, response_body).into_response();
    let mut headers = response_headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    *response.headers_mut() = headers;
    response
}

/// Combines the reads around a write into the write's record.
fn write_access(
    kind: Kind,
    id: Option<String>,
    before: Option<Result<Option<Value>, String>>,
    after: Option<Result<Option<Value>, String>>,
) -> Access {
    let before = match before.transpose() {
        Ok(value) => value.flatten(),
        Err(reason) => return Access::Unreadable { reason },
    };
    let after = match after.transpose() {
        Ok(value) => value.flatten(),
        Err(reason) => return Access::Unreadable { reason },
    };
    Access::Write {
        kind,
        id,
        before,
        after,
    }
}

fn created_id(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("id")?.as_str().map(str::to_owned)
}

type Forwarded = (StatusCode, HeaderMap, Bytes);

impl Proxy {
    fn record(&self, record: Record) {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    async fn send(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
        request_id: &str,
    ) -> Result<Forwarded> {
        let mut outgoing = headers.clone();
        outgoing.remove(header::HOST);
        outgoing.remove(header::CONTENT_LENGTH);
        outgoing.insert(REQUEST_ID, HeaderValue::from_str(request_id)?);
        let response = self
            .http
            .request(method.clone(), format!("{}{path_and_query}", self.upstream))
            .headers(outgoing)
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok((status, headers, body))
    }

    /// Reads one resource as the request's own credentials see it, and
    /// records the read. `Ok(None)` means it does not exist.
    async fn snapshot(
        &self,
        prefix: &str,
        kind: Kind,
        id: &str,
        authorization: Option<&HeaderValue>,
    ) -> Result<Option<Value>, String> {
        let path = format!("{prefix}/{}/{id}", kind.collection());
        let mut headers = HeaderMap::new();
        if let Some(authorization) = authorization {
            headers.insert(header::AUTHORIZATION, authorization.clone());
        }
        let request_id = Uuid::new_v4().to_string();
        let sent = self
            .send(&Method::GET, &path, &headers, Bytes::new(), &request_id)
            .await;
        let status = sent.as_ref().map_or(502, |(status, _, _)| status.as_u16());
        self.record(Record {
            request_id,
            request: format!("GET {path} (read around a write)"),
            status,
            access: Access::Read,
        });
        let (status, _, body) = sent.map_err(|error| format!("{error:#}"))?;
        match status {
            StatusCode::OK => {
                let mut value: Value = serde_json::from_slice(&body)
                    .map_err(|error| format!("GET {path} returned no JSON: {error}"))?;
                if let Some(object) = value.as_object_mut() {
                    object.remove("meta");
                    if kind == Kind::User {
                        object.remove("groups");
                    }
                }
                Ok(Some(value))
            }
            StatusCode::NOT_FOUND => Ok(None),
            other => Err(format!("GET {path} answered {other}")),
        }
    }
}

/// One request whose trail is not as expected.
#[derive(Debug, Clone)]
pub struct Finding {
    pub request: String,
    pub problem: String,
}

/// The outcome of [`verify`].
#[derive(Debug, Default)]
pub struct Report {
    pub reads: usize,
    pub writes: usize,
    /// Writes that changed their resource.
    pub changes: usize,
    pub failures: Vec<Finding>,
}

impl Report {
    /// Requests checked, reads and writes together.
    pub fn checked(&self) -> usize {
        self.reads + self.writes
    }

    /// Returns the closing line, `audit-check: N passed, M failed`,
    /// counting requests.
    pub fn summary_line(&self) -> String {
        let failed = self.failures.len();
        format!(
            "audit-check: {} passed, {failed} failed",
            self.checked().saturating_sub(failed)
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.failures {
            writeln!(f, "FAIL {}: {}", finding.request, finding.problem)?;
        }
        writeln!(
            f,
            "{} reads, {} writes, {} of them changed a resource",
            self.reads, self.writes, self.changes
        )?;
        write!(f, "{}", self.summary_line())
    }
}

/// The one event a changing write must produce on its own resource.
#[derive(Debug, PartialEq)]
struct Expected {
    action: &'static str,
    /// For group updates: the member ids added and removed.
    members: Option<(BTreeSet<String>, BTreeSet<String>)>,
}

/// Returns the event a write must produce, or `None` when it changed
/// nothing.
fn expected_event(kind: Kind, before: Option<&Value>, after: Option<&Value>) -> Option<Expected> {
    let plain = |action| Expected {
        action,
        members: None,
    };
    match (kind, before, after) {
        (_, None, None) => None,
        (_, Some(before), Some(after)) if before == after => None,
        (Kind::User, None, Some(_)) => Some(plain("user.created")),
        (Kind::User, Some(_), None) => Some(plain("user.deleted")),
        (Kind::Group, None, Some(_)) => Some(plain("group.created")),
        (Kind::Group, Some(_), None) => Some(plain("group.deleted")),
        (Kind::User, Some(before), Some(after)) => {
            let active = |user: &Value| user.get("active").and_then(Value::as_bool);
            Some(plain(match (active(before), active(after)) {
                (Some(true), Some(false)) => "user.deactivated",
                (Some(false), Some(true)) => "user.reactivated",
                _ => "user.updated",
            }))
        }
        (Kind::Group, Some(before), Some(after)) => {
            let (old, new) = (member_ids(before), member_ids(after));
            let added: BTreeSet<String> = new.difference(&old).cloned().collect();
            let removed: BTreeSet<String> = old.difference(&new).cloned().collect();
            let action = if before.get("displayName") != after.get("displayName") {
                "group.renamed"
            } else {
                match (added.is_empty(), removed.is_empty()) {
                    (false, true) => "group.members_added",
                    (true, false) => "group.members_removed",
                    (false, false) => "group.members_changed",
                    (true, true) => "group.updated",
                }
            };
            Some(Expected {
                action,
                members: Some((added, removed)),
            })
        }
    }
}

fn member_ids(group: &Value) -> BTreeSet<String> {
    group
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|member| member.get("value").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Returns the ids listed under `key` in an event's details.
fn detail_ids(event: &AuditEvent, key: &str) -> BTreeSet<String> {
    let details: Value = serde_json::from_str(&event.details_json).unwrap_or(Value::Null);
    details
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn is_resource_event(event: &AuditEvent) -> bool {
    event.action.starts_with("user.") || event.action.starts_with("group.")
}

/// Checks the trail `events` against the requests.
pub fn verify(records: &[Record], events: &[AuditEvent]) -> Report {
    let mut by_request: HashMap<&str, Vec<&AuditEvent>> = HashMap::new();
    for event in events.iter().filter(|event| !event.request_id.is_empty()) {
        by_request
            .entry(event.request_id.as_str())
            .or_default()
            .push(event);
    }
    let mut report = Report::default();
    for record in records {
        let found = by_request
            .get(record.request_id.as_str())
            .map_or(&[][..], Vec::as_slice);
        let problem = match &record.access {
            Access::Read => {
                report.reads += 1;
                read_problem(found)
            }
            Access::Unreadable { reason } => {
                report.writes += 1;
                Some(format!("cannot be checked: {reason}"))
            }
            Access::Write {
                kind,
                id,
                before,
                after,
            } => {
                report.writes += 1;
                let expected = expected_event(*kind, before.as_ref(), after.as_ref());
                if expected.is_some() {
                    report.changes += 1;
                }
                write_problem(*kind, id.as_deref(), expected.as_ref(), found)
            }
        };
        if let Some(problem) = problem {
            report.failures.push(Finding {
                request: format!(
                    "{} ({}, request id {})",
                    record.request, record.status, record.request_id
                ),
                problem,
            });
        }
    }
    report
}

fn actions(events: &[&AuditEvent]) -> String {
    events
        .iter()
        .map(|event| format!("{} on {}", event.action, event.target_id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_problem(found: &[&AuditEvent]) -> Option<String> {
    (!found.is_empty())
        .then(|| format!("a read produced {} events: {}", found.len(), actions(found)))
}

fn write_problem(
    kind: Kind,
    id: Option<&str>,
    expected: Option<&Expected>,
    found: &[&AuditEvent],
) -> Option<String> {
    let resource_events: Vec<&AuditEvent> = found
        .iter()
        .copied()
        .filter(|event| is_resource_event(event))
        .collect();
    let Some(expected) = expected else {
        return (!resource_events.is_empty()).then(|| {
            format!(
                "changed nothing but produced {} events: {}",
                resource_events.len(),
                actions(&resource_events)
            )
        });
    };
    let own: Vec<&AuditEvent> = resource_events
        .iter()
        .copied()
        .filter(|event| Some(event.target_id.as_str()) == id)
        .filter(|event| event.action.starts_with(kind.action_prefix()))
        .collect();
    let [event] = own.as_slice() else {
        return Some(format!(
            "expected one {} event on {}, found {}: {}",
            expected.action,
            id.unwrap_or("?"),
            own.len(),
            actions(&own)
        ));
    };
    if event.action != expected.action {
        return Some(format!(
            "expected {}, found {}",
            expected.action, event.action
        ));
    }
    if let Some((added, removed)) = &expected.members {
        let (listed_added, listed_removed) = (
            detail_ids(event, "added_member_ids"),
            detail_ids(event, "removed_member_ids"),
        );
        if &listed_added != added || &listed_removed != removed {
            return Some(format!(
                "members added {added:?} and removed {removed:?}, but the event lists added {listed_added:?} and removed {listed_removed:?}"
            ));
        }
    }
    // A change may reach other resources (a deleted user leaves its
    // groups), but each of them gets one event at most.
    let mut others: HashMap<&str, usize> = HashMap::new();
    for event in resource_events.iter().filter(|event| !own.contains(event)) {
        *others.entry(event.target_id.as_str()).or_default() += 1;
    }
    others
        .iter()
        .find(|(_, count)| **count > 1)
        .map(|(target, count)| format!("{count} events on {target}, which is not its resource"))
}

/// Returns every audit event of a workspace, oldest first.
pub async fn fetch_events(
    audit: &mut AuditServiceClient<Channel>,
    workspace_id: &str,
) -> Result<Vec<AuditEvent>> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = audit
            .list_audit_events(ListAuditEventsRequest {
                workspace_id: workspace_id.to_owned(),
                filter: Some(AuditFilter::default()),
                page_size: 1000,
                page_token,
            })
            .await
            .context("ListAuditEvents failed")?
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    events.reverse();
    Ok(events)
}

/// Returns every audit event of the workspaces.
async fn fetch_all(
    audit: &mut AuditServiceClient<Channel>,
    workspace_ids: &[String],
) -> Result<Vec<AuditEvent>> {
    let mut events = Vec::new();
    for workspace_id in workspace_ids {
        events.extend(fetch_events(audit, workspace_id).await?);
    }
    Ok(events)
}

/// Verifies the trail of the workspaces until it matches the requests and
/// stays so for [`SETTLE`], or until `timeout` passes. Events reach
/// audit-svc through the outbox relays, a little after the requests.
pub async fn verify_eventually(
    records: &[Record],
    audit: &mut AuditServiceClient<Channel>,
    workspace_ids: &[String],
    timeout: Duration,
) -> Result<Report> {
    if records.is_empty() {
        bail!("no request went through the proxy");
    }
    let started = Instant::now();
    loop {
        let report = verify(records, &fetch_all(audit, workspace_ids).await?);
        if report.failures.is_empty() {
            tokio::time::sleep(SETTLE).await;
            return Ok(verify(records, &fetch_all(audit, workspace_ids).await?));
        }
        if started.elapsed() > timeout {
            return Ok(report);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(request_id: &str, action: &str, target_id: &str, details: Value) -> AuditEvent {
        AuditEvent {
            request_id: request_id.to_owned(),
            action: action.to_owned(),
            target_id: target_id.to_owned(),
            details_json: details.to_string(),
            ..AuditEvent::default()
        }
    }

    fn write(request_id: &str, kind: Kind, before: Option<Value>, after: Option<Value>) -> Record {
        Record {
            request_id: request_id.to_owned(),
            request: "PATCH /x".to_owned(),
            status: 200,
            access: Access::Write {
                kind,
                id: Some("u1".to_owned()),
                before,
                after,
            },
        }
    }

    fn read(request_id: &str) -> Record {
        Record {
            request_id: request_id.to_owned(),
            request: "GET /x".to_owned(),
            status: 200,
            access: Access::Read,
        }
    }

    #[test]
    fn path_names_resource() {
        let found = target("/scim/v2/w1/Users/u1");
        assert_eq!(
            found,
            Some(Target {
                prefix: "/scim/v2/w1",
                kind: Kind::User,
                id: Some("u1"),
            })
        );
    }

    #[test]
    fn collection_path_without_id() {
        let found = target("/scim/v2/w1/Groups");
        assert_eq!(found.and_then(|target| target.id), None);
    }

    #[test]
    fn search_path_not_resource() {
        assert_eq!(target("/scim/v2/w1/Users/.search"), None);
    }

    #[test]
    fn read_with_an_event_fails() {
        let report = verify(
            &[read("r1")],
            &[event("r1", "user.updated", "u1", json!({}))],
        );
        assert_eq!(report.failures.len(), 1);
    }

    #[test]
    fn change_with_one_event_passes() {
        let record = write(
            "r1",
            Kind::User,
            Some(json!({"active": true, "title": "a"})),
            Some(json!({"active": true, "title": "b"})),
        );
        let report = verify(&[record], &[event("r1", "user.updated", "u1", json!({}))]);
        assert!(report.failures.is_empty(), "{report}");
    }

    #[test]
    fn change_without_event_fails() {
        let record = write("r1", Kind::User, None, Some(json!({"active": true})));
        let report = verify(&[record], &[]);
        assert_eq!(report.failures.len(), 1);
    }

    #[test]
    fn duplicate_event_fails() {
        let record = write("r1", Kind::User, None, Some(json!({"active": true})));
        let created = event("r1", "user.created", "u1", json!({}));
        let report = verify(&[record], &[created.clone(), created]);
        assert_eq!(report.failures.len(), 1);
    }

    #[test]
    fn deactivation_needs_its_action() {
        let record = write(
            "r1",
            Kind::User,
            Some(json!({"active": true})),
            Some(json!({"active": false})),
        );
        let report = verify(&[record], &[event("r1", "user.updated", "u1", json!({}))]);
        assert_eq!(report.failures.len(), 1);
    }

    #[test]
    fn unchanged_write_with_event_fails() {
        let same = json!({"displayName": "Legal"});
        let record = write("r1", Kind::Group, Some(same.clone()), Some(same));
        let report = verify(&[record], &[event("r1", "group.updated", "u1", json!({}))]);
        assert_eq!(report.failures.len(), 1);
    }

    #[test]
    fn member_ids_must_match_the_change() {
        let record = write(
            "r1",
            Kind::Group,
            Some(json!({"displayName": "Legal", "members": [{"value": "a"}]})),
            Some(json!({"displayName": "Legal", "members": [{"value": "a"}, {"value": "b"}]})),
        );
        let wrong = event(
            "r1",
            "group.members_added",
            "u1",
            json!({"added_member_ids": ["c"], "removed_member_ids": []}),
        );
        let report = verify(&[record], &[wrong]);
        assert_eq!(report.failures.len(), 1);
    }

    #[test]
    fn member_addition_with_its_ids_passes() {
        let record = write(
            "r1",
            Kind::Group,
            Some(json!({"displayName": "Legal", "members": []})),
            Some(json!({"displayName": "Legal", "members": [{"value": "b"}]})),
        );
        let added = event(
            "r1",
            "group.members_added",
            "u1",
            json!({"added_member_ids": ["b"], "removed_member_ids": []}),
        );
        let report = verify(&[record], &[added]);
        assert!(report.failures.is_empty(), "{report}");
    }

    #[test]
    fn role_events_are_not_resource_events() {
        let record = write("r1", Kind::User, None, Some(json!({"active": true})));
        let events = [
            event("r1", "user.created", "u1", json!({})),
            event("r1", "role.changed", "u1", json!({})),
        ];
        let report = verify(&[record], &events);
        assert!(report.failures.is_empty(), "{report}");
    }

    #[test]
    fn summary_counts_requests() {
        let report = verify(
            &[read("r1"), read("r2")],
            &[event("r2", "user.updated", "u1", json!({}))],
        );
        assert_eq!(report.summary_line(), "audit-check: 1 passed, 1 failed");
    }
}
