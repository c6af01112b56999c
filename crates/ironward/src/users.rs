//! `ironward user add|passwd|list` and `ironward token create`: managing the console's users
//! from the shell (the first administrator is made this way).

use std::io::Read;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ironward_console::access::Role;
use ironward_console::password::hash_password;
use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::{Scope, SiteId, Store};

use crate::console_store::{runtime, StoreArgs};

/// Arguments of `ironward user`.
#[derive(Debug, Args)]
pub(crate) struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Creates a user.
    Add(AddArgs),
    /// Sets a user's password (and unlocks the user).
    Passwd(PasswdArgs),
    /// Lists the users.
    List(ListArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  printf '%s' \"$PASSWORD\" | ironward user add alice --role admin --password-stdin --data /var/lib/ironward"
)]
struct AddArgs {
    /// The user name.
    name: String,
    /// admin, analyst, operator or viewer.
    #[arg(long)]
    role: String,
    /// Restrict the user to these sites (names, comma-separated); all sites when absent.
    #[arg(long, value_delimiter = ',')]
    sites: Vec<String>,
    /// Read the password from standard input (the only way: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
struct PasswdArgs {
    /// The user name.
    name: String,
    /// Read the password from standard input.
    #[arg(long, required = true)]
    password_stdin: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
}

/// Arguments of `ironward token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Creates an API token for a user and prints it (once; only its hash is kept).
    Create(TokenCreateArgs),
}

#[derive(Debug, Args)]
struct TokenCreateArgs {
    /// The user the token acts as.
    name: String,
    /// A label for the token (shown in the user's token list).
    #[arg(long, default_value = "cli")]
    label: String,
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs `ironward user ...`.
pub(crate) fn run_user(args: UserArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match args.command {
            UserCommand::Add(add) => {
                let role = Role::parse(&add.role).with_context(|| {
                    format!(
                        "unknown role {:?}: use admin, analyst, operator or viewer",
                        add.role
                    )
                })?;
                let password = read_password()?;
                let hash = hash_password(&password)?;
                let store = add.store.open().await?;
                let sites = site_ids(&store, &add.sites).await?;
                let user = store
                    .create_user(
                        &add.name,
                        role.as_str(),
                        &sites,
                        &hash,
                        ironward_console::state::now(),
                    )
                    .await
                    .with_context(|| format!("creating user {:?}", add.name))?;
                let scope = if add.sites.is_empty() {
                    "all sites".to_owned()
                } else {
                    add.sites.join(", ")
                };
                println!("created user {} ({}, {scope})", user.name, user.role);
                Ok(())
            }
            UserCommand::Passwd(passwd) => {
                let password = read_password()?;
                let hash = hash_password(&password)?;
                let store = passwd.store.open().await?;
                let user = store
                    .get_user_by_name(&passwd.name)
                    .await
                    .with_context(|| format!("no user {:?}", passwd.name))?;
                store.update_user_password(user.id, &hash).await?;
                store
                    .record_login_success(user.id, ironward_console::state::now())
                    .await?;
                println!("password of {} changed; the user is unlocked", user.name);
                Ok(())
            }
            UserCommand::List(list) => {
                let store = list.store.open().await?;
                for user in store.list_users().await? {
                    println!(
                        "{}\t{}\t{} site restriction(s)",
                        user.name,
                        user.role,
                        user.sites.len()
                    );
                }
                Ok(())
            }
        }
    })
}

/// Runs `ironward token ...`.
pub(crate) fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match args.command {
            TokenCommand::Create(create) => {
                let store = create.store.open().await?;
                let user = store
                    .get_user_by_name(&create.name)
                    .await
                    .with_context(|| format!("no user {:?}", create.name))?;
                let token = new_secret()?;
                store
                    .create_api_token(
                        user.id,
                        &create.label,
                        &hash_secret(&token),
                        ironward_console::state::now(),
                    )
                    .await?;
                eprintln!(
                    "API token for {} (shown once; use as `Authorization: Bearer <token>`):",
                    user.name
                );
                println!("{token}");
                Ok(())
            }
        }
    })
}

/// The password from standard input, without its trailing newline.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

/// The ids of sites named `names`.
async fn site_ids(store: &Store, names: &[String]) -> anyhow::Result<Vec<SiteId>> {
    let sites = store.list_sites(&Scope::All).await?;
    names
        .iter()
        .map(|name| {
            sites
                .iter()
                .find(|s| &s.name == name)
                .map(|s| s.id)
                .with_context(|| format!("no site named {name:?}"))
        })
        .collect()
}
