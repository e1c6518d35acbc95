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
