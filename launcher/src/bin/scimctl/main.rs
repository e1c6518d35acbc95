//! `scimctl`: manages a workspace's SCIM provisioning over the gateway's
//! admin API. Output is a summary by default, and the server's JSON with
//! `--json` (for `audit list`, one event per line, and for the lists of
//! `user-groups`, one JSON array). Errors print the server's message and
//! exit with status 1.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod api;
mod audit;
mod cli;
mod output;
mod user_groups;

use std::process::ExitCode;

use clap::Parser;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    api::{AdminApi, encode_segment},
    cli::{
        Cli, Command, DomainsCommand, MappingsCommand, RolesCommand, ScimCommand, SyncCommand,
        TokenCommand, UsersCommand, WorkspaceCommand,
    },
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scimctl: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let api = AdminApi::connect(&cli.connection)?;
    let (response, print): (Value, fn(&Value)) = match cli.command {
        Command::Audit(command) => return audit::run(&api, command, cli.json).await,
        Command::UserGroups(command) => return user_groups::run(&api, command, cli.json).await,
        Command::Sync(command) => sync(&api, command).await?,
        Command::Workspace(WorkspaceCommand::Show) => {
            (api.send(Method::GET, "", None).await?, output::workspace)
        }
        Command::Scim(command) => scim(&api, command).await?,
        Command::Token(command) => token(&api, command).await?,
        Command::Domains(command) => domains(&api, command).await?,
        Command::Users(command) => users(&api, command).await?,
        Command::Roles(command) => roles(&api, command).await?,
        Command::Mappings(command) => mappings(&api, command).await?,
    };

    if cli.json {
        println!("{}", serde_json::to_string_pretty(&response)?);
    } else {
        print(&response);
    }
    Ok(())
}

async fn scim(api: &AdminApi, command: ScimCommand) -> anyhow::Result<(Value, fn(&Value))> {
    let response = match command {
        ScimCommand::Enable => api.send(Method::POST, "scim/enable", None).await?,
        ScimCommand::Disable => api.send(Method::POST, "scim/disable", None).await?,
        ScimCommand::Reset => api.send(Method::POST, "scim/reset", None).await?,
        ScimCommand::Setup { idp, default_role } => {
            let mut body = json!({ "identity_provider": idp.api_name() });
            if let Some(role) = default_role {
                body["default_role"] = json!(role);
            }
            api.send(Method::PUT, "scim/setup", Some(body)).await?
        }
    };
    Ok((response, output::workspace))
}

async fn token(api: &AdminApi, command: TokenCommand) -> anyhow::Result<(Value, fn(&Value))> {
    Ok(match command {
        TokenCommand::Issue { name, expires_in } => {
            let body = json!({ "name": name, "expires_in_seconds": expires_in.unwrap_or(0) });
            (
                api.send(Method::POST, "scim/tokens", Some(body)).await?,
                output::issued_token,
            )
        }
        TokenCommand::List => (
            api.send(Method::GET, "scim/tokens", None).await?,
            output::token_list,
        ),
        TokenCommand::Rotate {
            id,
            overlap,
            expires_in,
        } => {
            let body = json!({ "overlap_seconds": overlap, "expires_in_seconds": expires_in.unwrap_or(0) });
            let path = format!("scim/tokens/{}/rotate", encode_segment(&id));
            (
                api.send(Method::POST, &path, Some(body)).await?,
                output::issued_token,
            )
        }
        TokenCommand::Revoke { id } => {
            let path = format!("scim/tokens/{}", encode_segment(&id));
            let response = api.send(Method::DELETE, &path, None).await?;
            (response, |token: &Value| {
                let id = token.get("id").and_then(Value::as_str).unwrap_or("");
                println!("Revoked token {id}; requests with it now get 401.");
            })
        }
    })
}

async fn domains(api: &AdminApi, command: DomainsCommand) -> anyhow::Result<(Value, fn(&Value))> {
    let response = match command {
        DomainsCommand::List => api.send(Method::GET, "domains", None).await?,
        DomainsCommand::Add { domain } => {
            api.send(Method::POST, "domains", Some(json!({ "domain": domain })))
                .await?
        }
        DomainsCommand::Remove { domain } => {
            api.send(
                Method::DELETE,
                &format!("domains/{}", encode_segment(&domain)),
                None,
            )
            .await?
        }
    };
    Ok((response, output::domains))
}

async fn users(api: &AdminApi, command: UsersCommand) -> anyhow::Result<(Value, fn(&Value))> {
    Ok(match command {
        UsersCommand::Create {
            email,
            given_name,
            family_name,
            display_name,
        } => {
            let body = json!({
                "email": email,
                "given_name": given_name,
                "family_name": family_name,
                "display_name": display_name,
            });
            (
                api.send(Method::POST, "users", Some(body)).await?,
                output::user,
            )
        }
        UsersCommand::Show { id } => {
            let path = format!("users/{}", encode_segment(&id));
            (api.send(Method::GET, &path, None).await?, output::user)
        }
        UsersCommand::Role { id } => {
            let path = format!("users/{}/role", encode_segment(&id));
            (api.send(Method::GET, &path, None).await?, output::user_role)
        }
        UsersCommand::SetRole { id, role } => {
            let path = format!("users/{}/role", encode_segment(&id));
            let body = json!({ "role": role });
            (
                api.send(Method::PUT, &path, Some(body)).await?,
                output::user_role,
            )
        }
    })
}

async fn roles(api: &AdminApi, command: RolesCommand) -> anyhow::Result<(Value, fn(&Value))> {
    Ok(match command {
        RolesCommand::List => (
            api.send(Method::GET, "roles", None).await?,
            output::role_list,
        ),
        RolesCommand::Default { role } => {
            let body = json!({ "role": role });
            let response = api.send(Method::PUT, "roles/default", Some(body)).await?;
            (response, output::default_role_change)
        }
    })
}

async fn sync(api: &AdminApi, command: SyncCommand) -> anyhow::Result<(Value, fn(&Value))> {
    Ok(match command {
        SyncCommand::List {
            page_size,
            page_token,
        } => {
            let mut query = Vec::new();
            if let Some(size) = page_size {
                query.push(format!("page_size={size}"));
            }
            if let Some(token) = page_token {
                query.push(format!("page_token={}", encode_segment(&token)));
            }
            let path = api::with_query("sync", &query);
            (api.send(Method::GET, &path, None).await?, output::sync_list)
        }
        SyncCommand::On { group_id } => {
            let path = format!("sync/{}", encode_segment(&group_id));
            (
                api.send(Method::PUT, &path, None).await?,
                output::sync_switched,
            )
        }
        SyncCommand::Off { group_id } => {
            let path = format!("sync/{}", encode_segment(&group_id));
            (
                api.send(Method::DELETE, &path, None).await?,
                output::sync_switched,
            )
        }
    })
}

async fn mappings(api: &AdminApi, command: MappingsCommand) -> anyhow::Result<(Value, fn(&Value))> {
    Ok(match command {
        MappingsCommand::List {
            mapped_only,
            page_size,
            page_token,
        } => {
            let mut query = vec![format!("mapped_only={mapped_only}")];
            if let Some(size) = page_size {
                query.push(format!("page_size={size}"));
            }
            if let Some(token) = page_token {
                query.push(format!("page_token={}", encode_segment(&token)));
            }
            let path = format!("mappings?{}", query.join("&"));
            (
                api.send(Method::GET, &path, None).await?,
                output::mapping_list,
            )
        }
        MappingsCommand::Set { group_id, role } => {
            let path = format!("mappings/{}", encode_segment(&group_id));
            let body = json!({ "role": role });
            (
                api.send(Method::PUT, &path, Some(body)).await?,
                output::mapping_set,
            )
        }
        MappingsCommand::Remove { group_id } => {
            let path = format!("mappings/{}", encode_segment(&group_id));
            (
                api.send(Method::DELETE, &path, None).await?,
                output::mapping_removed,
            )
        }
        MappingsCommand::Preview {
            group_id,
            role,
            remove,
            default_role,
            sample_size,
        } => {
            // clap admits exactly one of the three forms.
            let mut body = match (group_id, remove, default_role) {
                (Some(group_id), _, _) => json!({ "group_id": group_id, "role": role }),
                (None, Some(group_id), _) => json!({ "remove_group_id": group_id }),
                (None, None, role) => json!({ "default_role": role }),
            };
            if let Some(size) = sample_size {
                body["sample_size"] = json!(size);
            }
            (
                api.send(Method::POST, "mappings/preview", Some(body))
                    .await?,
                output::preview,
            )
        }
    })
}
