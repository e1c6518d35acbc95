//! `scimctl user-groups`: manual User Groups and the members of every User
//! Group. Lists print a JSON array with `--json`, and other commands the
//! server's JSON.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    api::{AdminApi, encode_segment, with_query},
    cli::UserGroupsCommand,
    output,
};

/// Runs a User Group command. `json` prints lists as one JSON array and
/// other results as the server's JSON.
pub async fn run(api: &AdminApi, command: UserGroupsCommand, json: bool) -> anyhow::Result<()> {
    match command {
        UserGroupsCommand::List {
            source,
            page_size,
            page_token,
        } => {
            let mut query = page_query(page_size, page_token);
            if let Some(source) = source {
                query.push(format!("source={}", source.api_name()));
            }
            let page = api
                .send(Method::GET, &with_query("user-groups", &query), None)
                .await?;
            if json {
                print_array(&page, "user_groups")?;
            } else {
                output::user_group_list(&page);
            }
        }
        UserGroupsCommand::Members {
            id,
            page_size,
            page_token,
        } => {
            let path = format!("user-groups/{}/members", encode_segment(&id));
            let query = page_query(page_size, page_token);
            let page = api
                .send(Method::GET, &with_query(&path, &query), None)
                .await?;
            if json {
                print_array(&page, "members")?;
            } else {
                output::user_group_members(&page);
            }
        }
        UserGroupsCommand::Create { name } => {
            let body = json!({ "name": name });
            let created = api.send(Method::POST, "user-groups", Some(body)).await?;
            print(json, &created, output::user_group_created)?;
        }
        UserGroupsCommand::Delete { id } => {
            let path = format!("user-groups/{}", encode_segment(&id));
            let deleted = api.send(Method::DELETE, &path, None).await?;
            print(json, &deleted, output::user_group_deleted)?;
        }
        UserGroupsCommand::Add { id, user_id } => {
            let path = member_path(&id, &user_id);
            let change = api.send(Method::PUT, &path, None).await?;
            print(json, &change, output::user_group_member_added)?;
        }
        UserGroupsCommand::Remove { id, user_id } => {
            let path = member_path(&id, &user_id);
            let change = api.send(Method::DELETE, &path, None).await?;
            print(json, &change, output::user_group_member_removed)?;
        }
    }
    Ok(())
}

fn print(json: bool, response: &Value, summary: fn(&Value)) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(response)?);
    } else {
        summary(response);
    }
    Ok(())
}

/// Prints the page's `key` array as JSON, and the next page token on
/// standard error so that standard output stays one JSON document.
fn print_array(page: &Value, key: &str) -> anyhow::Result<()> {
    let items = page.get(key).cloned().unwrap_or_else(|| json!([]));
    println!("{}", serde_json::to_string_pretty(&items)?);
    if let Some(token) = page.get("next_page_token").and_then(Value::as_str) {
        eprintln!("More results: run again with --page-token {token}");
    }
    Ok(())
}

fn member_path(user_group_id: &str, user_id: &str) -> String {
    format!(
        "user-groups/{}/members/{}",
        encode_segment(user_group_id),
        encode_segment(user_id)
    )
}

fn page_query(page_size: Option<u32>, page_token: Option<String>) -> Vec<String> {
    let mut query = Vec::new();
    if let Some(size) = page_size {
        query.push(format!("page_size={size}"));
    }
    if let Some(token) = page_token {
        query.push(format!("page_token={}", encode_segment(&token)));
    }
    query
}
