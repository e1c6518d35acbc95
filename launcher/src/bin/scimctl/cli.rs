//! Command line of `scimctl`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "scimctl",
    version,
    about = "Manage a workspace's SCIM provisioning through the admin API",
    long_about = "Manage a workspace's SCIM provisioning through the admin API.\n\n\
        Without --url, --workspace and --admin-token, scimctl reads them from the \
        local stack's data/demo-workspace.json."
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Print the server's JSON response instead of a summary.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Origin of the gateway, such as https://scim.example.com. Defaults to
    /// the origin of `scim_url` in the demo workspace file.
    #[arg(long, env = "SCIMCTL_URL", global = true)]
    pub url: Option<String>,

    /// Workspace id. Defaults to `workspace_id` in the demo workspace file.
    #[arg(long, env = "SCIMCTL_WORKSPACE", global = true)]
    pub workspace: Option<String>,

    /// Admin token (a JWT). Defaults to `admin_token` in the demo workspace
    /// file.
    #[arg(
        long,
        env = "SCIMCTL_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub admin_token: Option<String>,

    /// Demo workspace file written by `scim-server` on first start.
    #[arg(
        long,
        env = "SCIMCTL_DEMO_FILE",
        default_value = "data/demo-workspace.json",
        global = true
    )]
    pub demo_file: PathBuf,

    /// Deadline of each request, in seconds. `audit export` has no overall
    /// deadline, so there it bounds connecting and each read.
    #[arg(long, default_value_t = 30, global = true)]
    pub timeout_seconds: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the workspace's Identity & Access settings.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Turn SCIM on or off, reset it, or set up the identity provider.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Manage SCIM bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the workspace's email domains.
    #[command(subcommand)]
    Domains(DomainsCommand),
    /// Manage users created outside SCIM, and users' roles.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Show the workspace's roles and set the default role.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Map the identity provider's groups to roles.
    #[command(subcommand)]
    Mappings(MappingsCommand),
    /// Sync the identity provider's groups to User Groups.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Manage User Groups, the groups people share work with.
    #[command(subcommand)]
    UserGroups(UserGroupsCommand),
    /// Read the workspace's audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Show SSO and SCIM state, identity provider, SCIM URL, domains and tokens.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// Turn SCIM on; needs SSO and the SCIM entitlement.
    Enable,
    /// Turn SCIM off; every SCIM request then gets 403. Tokens and setup are kept.
    Disable,
    /// Turn SCIM off and remove its tokens, identity provider choice and IdP
    /// groups. Users are kept. Run it again to finish an unfinished reset.
    Reset,
    /// Record the identity provider, which decides the SCIM URL to paste,
    /// and optionally the default role.
    Setup {
        /// Identity provider.
        #[arg(long, value_enum)]
        idp: IdentityProvider,
        /// Role of users in no mapped group, such as viewer. Without it the
        /// default role is kept. An unknown role is rejected and changes
        /// nothing.
        #[arg(long, value_name = "ROLE")]
        default_role: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IdentityProvider {
    Entra,
    Okta,
}

impl IdentityProvider {
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Entra => "entra",
            Self::Okta => "okta",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token. Its secret is printed once.
    Issue {
        /// Label shown in `token list`.
        #[arg(long, default_value = "scim")]
        name: String,
        /// Lifetime, such as 90d, 12h, 30m or 45s; without it the token does not expire.
        #[arg(long, value_parser = parse_duration_seconds)]
        expires_in: Option<i64>,
    },
    /// List active tokens, newest first.
    List,
    /// Issue a new token and let the old one work for an overlap window.
    Rotate {
        /// Id of the token to replace.
        id: String,
        /// How long the old token keeps working, such as 1h or 2s; 0 ends it now.
        #[arg(long, value_parser = parse_duration_seconds, default_value = "1h")]
        overlap: i64,
        /// Lifetime of the new token; without it the token does not expire.
        #[arg(long, value_parser = parse_duration_seconds)]
        expires_in: Option<i64>,
    },
    /// Revoke a token; the next request with it gets 401.
    Revoke {
        /// Id of the token.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainsCommand {
    /// List the workspace's email domains.
    List,
    /// Add a domain, such as example.com or *.example.com for its subdomains.
    Add { domain: String },
    /// Remove a domain. Existing users keep their addresses.
    Remove { domain: String },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an active user that SCIM adopts on the identity provider's
    /// first write.
    Create {
        /// Email address; also the userName. It must be in one of the workspace's domains.
        email: String,
        #[arg(long)]
        given_name: Option<String>,
        #[arg(long)]
        family_name: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Show a user, including whether SCIM manages it.
    Show {
        /// User id.
        id: String,
    },
    /// Show a user's effective role and where it comes from.
    Role {
        /// User id.
        id: String,
    },
    /// Give a user that SCIM does not manage a role. A SCIM-managed user's
    /// role comes from group mappings, so this is rejected for it.
    SetRole {
        /// User id.
        id: String,
        /// Role name, such as manager.
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// List the roles, highest rank first, and the default role.
    List,
    /// Set the role of users in no mapped group.
    Default {
        /// Role name, such as viewer.
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MappingsCommand {
    /// List the identity provider's groups with their mapped roles.
    List {
        /// Only groups mapped to a role.
        #[arg(long)]
        mapped_only: bool,
        /// Groups per page, at most 1000. The server uses 100 without it.
        #[arg(long)]
        page_size: Option<u32>,
        /// `next_page_token` of the previous page.
        #[arg(long)]
        page_token: Option<String>,
    },
    /// Map a group to a role, replacing its previous mapping. Its members'
    /// roles change at once.
    Set {
        /// Group id, as `mappings list` shows it.
        group_id: String,
        /// Role name, such as manager.
        role: String,
    },
    /// Remove a group's mapping. Its members fall back to their other
    /// groups' roles or the default role.
    Remove {
        /// Group id.
        group_id: String,
    },
    /// Show which users a change would move between roles, without applying
    /// it: `preview GROUP_ID ROLE`, `preview --remove GROUP_ID` or
    /// `preview --default-role ROLE`.
    #[command(group(
        ArgGroup::new("change")
            .required(true)
            .args(["group_id", "remove", "default_role"])
    ))]
    Preview {
        /// Group id of a proposed mapping.
        #[arg(requires = "role")]
        group_id: Option<String>,
        /// Role of the proposed mapping.
        role: Option<String>,
        /// Group id whose mapping would be removed.
        #[arg(long, value_name = "GROUP_ID")]
        remove: Option<String>,
        /// Role that would become the default.
        #[arg(long, value_name = "ROLE")]
        default_role: Option<String>,
        /// Changed users to list, at most 100. The server uses 20 without it.
        #[arg(long)]
        sample_size: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// List the identity provider's groups with their sync state, synced
    /// User Group and mapped role.
    List {
        /// Groups per page, at most 1000. The server uses 100 without it.
        #[arg(long)]
        page_size: Option<u32>,
        /// `next_page_token` of the previous page.
        #[arg(long)]
        page_token: Option<String>,
    },
    /// Switch sync on: a new User Group with the IdP group's name and
    /// members is created, and follows the IdP group from then on.
    On {
        /// IdP group id, as `sync list` shows it.
        group_id: String,
    },
    /// Switch sync off, deleting the synced User Group.
    Off {
        /// IdP group id.
        group_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserGroupsCommand {
    /// List User Groups, ordered by id. With --json, prints one JSON array
    /// of User Group objects (`id`, `name`, `source` of `manual` or `idp`,
    /// `member_count`, `idp_group_id` and more), and the next page token,
    /// when there is one, on standard error.
    List {
        /// Only User Groups of this source.
        #[arg(long, value_enum)]
        source: Option<UserGroupSource>,
        /// User Groups per page, at most 1000. The server uses 100 without it.
        #[arg(long)]
        page_size: Option<u32>,
        /// `next_page_token` of the previous page.
        #[arg(long)]
        page_token: Option<String>,
    },
    /// Create a manual User Group without members.
    Create {
        /// Name, 1 to 256 characters. It need not be unique.
        name: String,
    },
    /// Delete a manual User Group. A synced one goes when its sync is
    /// switched off.
    Delete {
        /// User Group id.
        id: String,
    },
    /// List a User Group's members, ordered by user id. With --json, prints
    /// one JSON array of `{"id": USER_ID}` objects, and the next page
    /// token, when there is one, on standard error.
    Members {
        /// User Group id.
        id: String,
        /// Members per page, at most 1000. The server uses 100 without it.
        #[arg(long)]
        page_size: Option<u32>,
        /// `next_page_token` of the previous page.
        #[arg(long)]
        page_token: Option<String>,
    },
    /// Add a user of the workspace to a manual User Group. A synced User
    /// Group's members come from the identity provider, so this is
    /// rejected for it.
    Add {
        /// User Group id.
        id: String,
        /// User id.
        user_id: String,
    },
    /// Remove a user from a manual User Group.
    Remove {
        /// User Group id.
        id: String,
        /// User id.
        user_id: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UserGroupSource {
    /// Created and filled by admins.
    Manual,
    /// Synced from an IdP group.
    Idp,
}

impl UserGroupSource {
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Idp => "idp",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List events, newest first, one page at a time. With --json, prints
    /// one event object per line (NDJSON), and the next page token, when
    /// there is one, on standard error.
    List {
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// Events per page, at most 1000. The server uses 100 without it.
        #[arg(long)]
        page_size: Option<u32>,
        /// `next_page_token` of the previous page.
        #[arg(long)]
        page_token: Option<String>,
    },
    /// Stream every matching event, oldest first, as NDJSON or CSV, to
    /// standard output or a file.
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// File to write, replaced if it exists and removed if the export
        /// fails. Without it the export goes to standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Filters of `audit list` and `audit export`, each optional.
#[derive(Debug, Args)]
pub struct AuditFilterArgs {
    /// Only events of this action, such as user.created or group.members_added.
    #[arg(long)]
    pub action: Option<String>,
    /// Only events about this target, such as a user or group id.
    #[arg(long, value_name = "ID")]
    pub target: Option<String>,
    /// Only events by this actor: a SCIM token id or an admin's subject.
    #[arg(long, value_name = "ID")]
    pub actor: Option<String>,
    /// Only events at or after this RFC 3339 time, such as 2026-01-31T09:00:00Z.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events before this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Ndjson,
    /// A header line, then one line per event.
    Csv,
}

impl ExportFormat {
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        }
    }
}

/// Parses `90d`, `12h`, `30m`, `45s` or a plain number of seconds.
pub fn parse_duration_seconds(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: i64 = digits.parse().map_err(|_| {
        format!(
            "invalid duration {text:?}: use a whole number with s, m, h or d, such as 90d or 2s"
        )
    })?;
    let seconds_per_unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "invalid duration unit in {text:?}: use s, m, h or d"
            ));
        }
    };
    value
        .checked_mul(seconds_per_unit)
        .ok_or_else(|| format!("duration {text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_each_unit() {
        assert_eq!(parse_duration_seconds("45"), Ok(45));
        assert_eq!(parse_duration_seconds("2s"), Ok(2));
        assert_eq!(parse_duration_seconds("30m"), Ok(1_800));
        assert_eq!(parse_duration_seconds("12h"), Ok(43_200));
        assert_eq!(parse_duration_seconds("90d"), Ok(7_776_000));
    }

    #[test]
    fn invalid_durations_rejected() {
        assert!(parse_duration_seconds("").is_err());
        assert!(parse_duration_seconds("-5s").is_err());
        assert!(parse_duration_seconds("5w").is_err());
        assert!(parse_duration_seconds("99999999999999999999d").is_err());
    }

    #[test]
    fn preview_takes_one_change() {
        let mapping = Cli::try_parse_from(["scimctl", "mappings", "preview", "g1", "manager"]);
        let removal = Cli::try_parse_from(["scimctl", "mappings", "preview", "--remove", "g1"]);
        let both = Cli::try_parse_from([
            "scimctl",
            "mappings",
            "preview",
            "--remove",
            "g1",
            "--default-role",
            "viewer",
        ]);
        let none = Cli::try_parse_from(["scimctl", "mappings", "preview"]);
        let group_without_role = Cli::try_parse_from(["scimctl", "mappings", "preview", "g1"]);

        assert!(mapping.is_ok());
        assert!(removal.is_ok());
        assert!(both.is_err());
        assert!(none.is_err());
        assert!(group_without_role.is_err());
    }

    #[test]
    fn audit_export_needs_format() {
        let with_format = Cli::try_parse_from([
            "scimctl",
            "audit",
            "export",
            "--format",
            "csv",
            "--action",
            "user.created",
        ]);
        let without_format = Cli::try_parse_from(["scimctl", "audit", "export"]);

        assert!(with_format.is_ok());
        assert!(without_format.is_err());
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
