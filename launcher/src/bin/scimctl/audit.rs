//! `scimctl audit`: pages of the audit trail, and exports streamed to
//! standard output or a file.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
};

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;

use crate::{
    api::{AdminApi, encode_segment, with_query},
    cli::{AuditCommand, AuditFilterArgs},
    output,
};

/// Runs an audit command. `json` prints `audit list` as one event object
/// per line.
pub async fn run(api: &AdminApi, command: AuditCommand, json: bool) -> anyhow::Result<()> {
    match command {
        AuditCommand::List {
            filter,
            page_size,
            page_token,
        } => {
            let mut query = filter_query(&filter);
            if let Some(size) = page_size {
                query.push(format!("page_size={size}"));
            }
            if let Some(token) = page_token {
                query.push(format!("page_token={}", encode_segment(&token)));
            }
            let path = with_query("audit/events", &query);
            let page = api.send(Method::GET, &path, None).await?;
            if json {
                print_ndjson(&page)?;
            } else {
                output::audit_events(&page);
            }
            Ok(())
        }
        AuditCommand::Export {
            format,
            filter,
            output,
        } => {
            let mut query = vec![format!("format={}", format.api_name())];
            query.extend(filter_query(&filter));
            let path = with_query("audit/export", &query);
            match output {
                Some(file) => export_to_file(api, &path, &file).await,
                None => export_to_stdout(api, &path).await,
            }
        }
    }
}

/// Prints each event of a page as one line of JSON, and the next page
/// token on standard error so that standard output stays NDJSON.
fn print_ndjson(page: &Value) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    for event in page
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        writeln!(stdout, "{}", serde_json::to_string(event)?)?;
    }
    if let Some(token) = page.get("next_page_token").and_then(Value::as_str) {
        eprintln!("More events: run again with --page-token {token}");
    }
    Ok(())
}

async fn export_to_stdout(api: &AdminApi, path: &str) -> anyhow::Result<()> {
    let response = api.get_stream(path).await?;
    let mut stdout = io::stdout().lock();
    match copy_body(response, &mut stdout).await {
        // A reader that stops early, such as `head`, is not an error.
        Err(CopyError::Write(error)) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(anyhow::Error::from),
    }
}

async fn export_to_file(api: &AdminApi, path: &str, file: &Path) -> anyhow::Result<()> {
    let response = api.get_stream(path).await?;
    let mut writer = BufWriter::new(
        File::create(file).with_context(|| format!("failed to create {}", file.display()))?,
    );
    let copied = copy_body(response, &mut writer)
        .await
        .map_err(anyhow::Error::from)
        .and_then(|()| writer.flush().context("failed to write the export"));
    if let Err(error) = copied {
        drop(writer);
        if let Err(remove_error) = std::fs::remove_file(file) {
            eprintln!(
                "scimctl: failed to remove the incomplete {}: {remove_error}",
                file.display()
            );
        }
        return Err(error.context(format!("the export to {} failed", file.display())));
    }
    Ok(())
}

/// Failure of copying a streamed body to its destination.
#[derive(Debug, thiserror::Error)]
enum CopyError {
    #[error("the export ended early, so the output is incomplete: {0}")]
    Read(reqwest::Error),
    #[error("failed to write the export: {0}")]
    Write(io::Error),
}

/// Writes the response body to `writer` chunk by chunk as it arrives.
async fn copy_body(
    mut response: reqwest::Response,
    writer: &mut impl Write,
) -> Result<(), CopyError> {
    while let Some(chunk) = response.chunk().await.map_err(CopyError::Read)? {
        writer.write_all(&chunk).map_err(CopyError::Write)?;
    }
    writer.flush().map_err(CopyError::Write)
}

fn filter_query(filter: &AuditFilterArgs) -> Vec<String> {
    let parameters = [
        ("action", &filter.action),
        ("actor", &filter.actor),
        ("target", &filter.target),
        ("since", &filter.since),
        ("until", &filter.until),
    ];
    parameters
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .as_ref()
                .map(|value| format!("{name}={}", encode_segment(value)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_query_encodes_offsets() {
        let filter = AuditFilterArgs {
            action: Some("user.created".to_owned()),
            target: None,
            actor: None,
            since: Some("2026-01-31T09:00:00+01:00".to_owned()),
            until: None,
        };

        let query = filter_query(&filter);

        assert_eq!(
            query,
            [
                "action=user.created",
                "since=2026-01-31T09%3A00%3A00%2B01%3A00"
            ]
        );
    }
}
