//! Human-readable summaries of admin API responses.

use serde_json::Value;

/// Prints the workspace view.
pub fn workspace(view: &Value) {
    let text = |key: &str| view.get(key).and_then(Value::as_str).unwrap_or("");
    let flag = |key: &str| view.get(key).and_then(Value::as_bool).unwrap_or(false);

    println!("Workspace   {} ({})", text("name"), text("workspace_id"));
    println!(
        "SSO         {}",
        if flag("sso_enabled") { "on" } else { "off" }
    );
    let scim = match (flag("scim_enabled"), flag("scim_entitled")) {
        (true, _) => "enabled",
        (false, true) => "disabled",
        (false, false) => "disabled (not included in the workspace's plan)",
    };
    println!("SCIM        {scim}");
    println!(
        "IdP         {}",
        view.get("identity_provider")
            .and_then(Value::as_str)
            .unwrap_or("not set up")
    );
    println!("SCIM URL    {}", text("scim_url"));
    println!("Domains     {}", join(view.get("domains")));
    let pending = join(view.get("reset_pending"));
    if !pending.is_empty() {
        println!("Reset       unfinished, pending: {pending} (run `scimctl scim reset` again)");
    }
    let tokens = view
        .get("tokens")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    println!("Tokens      {} active", tokens.len());
    for token in &tokens {
        println!("  {}", token_line(token));
    }
    if let Some(default_role) = view.get("default_role") {
        let role = default_role
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("");
        println!("Default role {role} ({})", change_summary(default_role));
    }
}

/// Prints a token list.
pub fn token_list(response: &Value) {
    let tokens = response
        .get("tokens")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if tokens.is_empty() {
        println!("No active tokens.");
    }
    for token in &tokens {
        println!("{}", token_line(token));
    }
}

/// Prints a new token and its secret.
pub fn issued_token(response: &Value) {
    let text = |key: &str| response.get(key).and_then(Value::as_str).unwrap_or("");
    println!("Issued token {} ({}).", text("id"), text("name"));
    if let Some(previous) = response.get("previous") {
        let id = previous.get("id").and_then(Value::as_str).unwrap_or("");
        let expires = previous
            .get("expires")
            .and_then(Value::as_str)
            .unwrap_or("now");
        println!("The old token {id} keeps working until {expires}.");
    }
    println!("Copy the secret now; it is not shown again:");
    println!("{}", text("token"));
}

/// Prints one user.
pub fn user(view: &Value) {
    let text = |key: &str| view.get(key).and_then(Value::as_str).unwrap_or("");
    let flag = |key: &str| view.get(key).and_then(Value::as_bool).unwrap_or(false);
    println!("User        {}", text("id"));
    println!("userName    {}", text("user_name"));
    println!("Active      {}", if flag("active") { "yes" } else { "no" });
    println!(
        "Managed by  {}",
        if flag("scim_managed") {
            "SCIM"
        } else {
            "admin (until the identity provider writes it)"
        }
    );
}

/// Prints the role catalogue and the default role.
pub fn role_list(response: &Value) {
    let default_role = response
        .get("default_role")
        .and_then(Value::as_str)
        .unwrap_or("");
    for role in array(response.get("roles")) {
        let text = |key: &str| role.get(key).and_then(Value::as_str).unwrap_or("");
        let rank = role.get("rank").and_then(Value::as_i64).unwrap_or(0);
        let marker = if text("name") == default_role {
            "  (default)"
        } else {
            ""
        };
        println!(
            "{:<12} {rank:>4}  {}{marker}",
            text("name"),
            text("description")
        );
    }
}

/// Prints the result of setting the default role.
pub fn default_role_change(response: &Value) {
    println!("Default role set ({}).", change_summary(response));
}

/// Prints a page of IdP groups with their mapped roles.
pub fn mapping_list(response: &Value) {
    let mappings = array(response.get("mappings"));
    if mappings.is_empty() {
        println!("No groups.");
    }
    for mapping in &mappings {
        let text = |key: &str| mapping.get(key).and_then(Value::as_str);
        let members = mapping
            .get("member_count")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        println!(
            "{}  {:<12} {members:>6} members  {}",
            text("group_id").unwrap_or(""),
            text("role").unwrap_or("(unmapped)"),
            text("display_name").unwrap_or(""),
        );
    }
    if let Some(token) = response.get("next_page_token").and_then(Value::as_str) {
        println!("More groups: run `scimctl mappings list --page-token {token}`.");
    }
}

/// Prints the result of setting a mapping.
pub fn mapping_set(response: &Value) {
    println!("Mapping saved ({}).", change_summary(response));
}

/// Prints the result of removing a mapping.
pub fn mapping_removed(response: &Value) {
    println!("Mapping removed ({}).", change_summary(response));
}

/// Prints what a proposed change would do.
pub fn preview(response: &Value) {
    let changed = response
        .get("changed_users")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    println!(
        "{} would change role; nothing was applied.",
        user_count(changed)
    );
    for transition in array(response.get("transitions")) {
        let users = transition.get("users").and_then(Value::as_i64).unwrap_or(0);
        println!(
            "  {} -> {}  {}",
            role_or_none(transition.get("from_role")),
            role_or_none(transition.get("to_role")),
            user_count(users)
        );
    }
    let sample = array(response.get("sample"));
    if !sample.is_empty() {
        println!("For example:");
    }
    for change in &sample {
        println!(
            "  {}  {} -> {}",
            change.get("user_id").and_then(Value::as_str).unwrap_or(""),
            role_or_none(change.get("from_role")),
            role_or_none(change.get("to_role")),
        );
    }
}

/// Prints a user's effective role.
pub fn user_role(view: &Value) {
    let text = |key: &str| view.get(key).and_then(Value::as_str);
    let flag = |key: &str| view.get(key).and_then(Value::as_bool).unwrap_or(false);
    println!("User        {}", text("user_id").unwrap_or(""));
    match text("role") {
        Some(role) => {
            let rank = view.get("rank").and_then(Value::as_i64).unwrap_or(0);
            println!("Role        {role} (rank {rank})");
        }
        None => println!("Role        none (the user is deactivated)"),
    }
    let source = match text("source") {
        Some("group_mapping") => format!(
            "mapping of group {}",
            text("group_id").unwrap_or("(unknown)")
        ),
        Some("manual") => "set by an admin".to_owned(),
        Some("default") => "the workspace's default role".to_owned(),
        _ => "unknown".to_owned(),
    };
    println!("Source      {source}");
    println!(
        "Managed by  {}",
        if flag("scim_managed") {
            "SCIM (the role follows group mappings)"
        } else {
            "admin"
        }
    );
}

/// Prints a page of IdP groups with their sync state and mapped role.
pub fn sync_list(response: &Value) {
    let groups = array(response.get("groups"));
    if groups.is_empty() {
        println!("No groups.");
    }
    for group in &groups {
        let text = |key: &str| group.get(key).and_then(Value::as_str);
        let members = group
            .get("member_count")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let synced = group
            .get("sync_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut line = format!(
            "{}  {:<8} {members:>6} members  {:<12} {}",
            text("group_id").unwrap_or(""),
            if synced { "sync on" } else { "sync off" },
            text("role").unwrap_or("(unmapped)"),
            text("display_name").unwrap_or(""),
        );
        if let Some(user_group_id) = text("user_group_id") {
            line.push_str(&format!("  -> User Group {user_group_id}"));
        }
        println!("{line}");
    }
    if let Some(token) = response.get("next_page_token").and_then(Value::as_str) {
        println!("More groups: run `scimctl sync list --page-token {token}`.");
    }
}

/// Prints the result of switching sync on or off.
pub fn sync_switched(response: &Value) {
    let group_id = response
        .get("group_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    let changed = response
        .get("changed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match response.get("user_group").filter(|group| !group.is_null()) {
        Some(user_group) => println!(
            "Sync on for IdP group {group_id}. Created User Group {}.",
            user_group_line(user_group)
        ),
        None if changed => {
            println!("Sync off for IdP group {group_id}. Its User Group was deleted.")
        }
        None => println!("Sync was already off for IdP group {group_id}, so nothing changed."),
    }
}

/// Prints a page of User Groups.
pub fn user_group_list(response: &Value) {
    let user_groups = array(response.get("user_groups"));
    if user_groups.is_empty() {
        println!("No User Groups.");
    }
    for user_group in &user_groups {
        let source = user_group
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("");
        println!("{source:<6}  {}", user_group_line(user_group));
    }
    if let Some(token) = response.get("next_page_token").and_then(Value::as_str) {
        println!("More User Groups: run `scimctl user-groups list --page-token {token}`.");
    }
}

/// Prints a page of a User Group's member ids, one per line.
pub fn user_group_members(response: &Value) {
    let members = array(response.get("members"));
    if members.is_empty() {
        println!("No members.");
    }
    for member in &members {
        println!("{}", member.get("id").and_then(Value::as_str).unwrap_or(""));
    }
    if let Some(token) = response.get("next_page_token").and_then(Value::as_str) {
        println!("More members: run again with --page-token {token}.");
    }
}

/// Prints a new User Group.
pub fn user_group_created(user_group: &Value) {
    println!("Created User Group {}.", user_group_line(user_group));
}

/// Prints the result of deleting a User Group.
pub fn user_group_deleted(response: &Value) {
    let id = response.get("id").and_then(Value::as_str).unwrap_or("");
    println!("Deleted User Group {id}.");
}

/// Prints the result of adding a member.
pub fn user_group_member_added(response: &Value) {
    member_change(
        response,
        "Added the user to",
        "The user already is a member of",
    );
}

/// Prints the result of removing a member.
pub fn user_group_member_removed(response: &Value) {
    member_change(
        response,
        "Removed the user from",
        "The user is not a member of",
    );
}

fn member_change(response: &Value, changed_text: &str, unchanged_text: &str) {
    let changed = response
        .get("changed")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let user_group = response.get("user_group").cloned().unwrap_or(Value::Null);
    let text = if changed {
        changed_text
    } else {
        unchanged_text
    };
    println!("{text} User Group {}.", user_group_line(&user_group));
}

/// Describes a User Group: id, member count, name and the IdP group it is
/// synced from.
fn user_group_line(user_group: &Value) -> String {
    let text = |key: &str| user_group.get(key).and_then(Value::as_str);
    let members = user_group
        .get("member_count")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut line = format!(
        "{}  {members} members  {}",
        text("id").unwrap_or(""),
        text("name").unwrap_or("")
    );
    if let Some(idp_group_id) = text("idp_group_id") {
        line.push_str(&format!("  (synced from IdP group {idp_group_id})"));
    }
    line
}

/// Prints a page of audit events, one line each: time, action, actor and
/// target.
pub fn audit_events(page: &Value) {
    let events = array(page.get("events"));
    if events.is_empty() {
        println!("No events.");
    }
    for event in &events {
        let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or("");
        let actor = match (text("actor_type"), text("actor_id")) {
            (kind, "") => kind.to_owned(),
            (kind, id) => format!("{kind} {id}"),
        };
        let mut line = format!(
            "{}  {:<26} {:<48} {} {}",
            text("time"),
            text("action"),
            actor,
            text("target_type"),
            text("target_id"),
        );
        if !text("target_name").is_empty() {
            line.push_str(&format!(" ({})", text("target_name")));
        }
        // Counts of rejected requests carry their reason and number in
        // `details`.
        if text("outcome") != "success" {
            let details = event.get("details").cloned().unwrap_or(Value::Null);
            line.push_str(&format!("  [{} {details}]", text("outcome")));
        }
        println!("{line}");
    }
    if let Some(token) = page.get("next_page_token").and_then(Value::as_str) {
        println!(
            "More events: run `scimctl audit list --page-token {token}` with the same filters."
        );
    }
}

/// Prints a domain list.
pub fn domains(response: &Value) {
    let domains = response
        .get("domains")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if domains.is_empty() {
        println!("No domains.");
    }
    for domain in domains.iter().filter_map(Value::as_str) {
        println!("{domain}");
    }
}

fn token_line(token: &Value) -> String {
    let text = |key: &str| token.get(key).and_then(Value::as_str);
    format!(
        "{}  {}  {}…  created {}  last used {}  expires {}",
        text("id").unwrap_or(""),
        text("name").unwrap_or(""),
        text("prefix").unwrap_or(""),
        text("created").unwrap_or("?"),
        text("last_used").unwrap_or("never"),
        text("expires").unwrap_or("never"),
    )
}

fn join(values: Option<&Value>) -> String {
    values
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn array(value: Option<&Value>) -> Vec<Value> {
    value.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Describes `previous_role` and `changed_users` of a role change.
fn change_summary(change: &Value) -> String {
    let changed = change
        .get("changed_users")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    format!(
        "previously {}; {} changed role",
        role_or_none(change.get("previous_role")),
        user_count(changed)
    )
}

fn role_or_none(role: Option<&Value>) -> &str {
    role.and_then(Value::as_str).unwrap_or("none")
}

fn user_count(count: i64) -> String {
    if count == 1 {
        "1 user".to_owned()
    } else {
        format!("{count} users")
    }
}
