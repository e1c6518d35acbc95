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
