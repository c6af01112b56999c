//! `ironward demo`: the console on this machine, filled from the demo plant capture the project
//! ships (generated into the data directory), with an administrator whose password is printed
//! on first start. The main command of the README.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ironward_console::password::hash_password;
use ironward_store::secret::new_secret;

use crate::console_store::{runtime, StoreArgs};
use crate::serve::{serve, ServeArgs};

/// Arguments of `ironward demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where the demo keeps its database, certificate and capture.
    #[arg(long, value_name = "DIR", default_value = "ironward-demo")]
    data: PathBuf,

    /// Address and port to listen on (HTTPS).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    listen: std::net::SocketAddr,
}

/// The administrator the demo creates.
const DEMO_ADMIN: &str = "admin";
/// Where the demo leaves the administrator's password (readable by its owner only).
const PASSWORD_FILE: &str = "admin-password";

/// Runs the demo until Ctrl-C.
pub(crate) fn run(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;
    let capture = args.data.join("demo.pcapng");
    if !capture.exists() {
        crate::synth::demo::generate(&capture)?;
    }
    let store_args = StoreArgs {
        data: args.data.clone(),
        database: None,
    };
    let password_path = args.data.join(PASSWORD_FILE);
    runtime()?.block_on(async move {
        let store = store_args.open().await?;
        if store.list_users().await?.is_empty() {
            let password = new_secret()?[..20].to_owned();
            let hash = hash_password(&password)?;
            store
                .create_user(
                    DEMO_ADMIN,
                    "admin",
                    &[],
                    &hash,
                    ironward_console::state::now(),
                )
                .await?;
            write_private(&password_path, password.as_bytes())?;
        }
        let password = std::fs::read_to_string(&password_path).unwrap_or_default();
        let args = ServeArgs {
            store: store_args,
            listen: args.listen,
            cert: None,
            key: None,
            hostname: Vec::new(),
            public_url: None,
            pcap: vec![capture],
            interface: None,
            site: "Demo plant".to_owned(),
            zone: "Process network".to_owned(),
            // The demo shows what the engines raise at once; a learning site would turn its
            // policy alerts into baseline entries for a week.
            learning_period: 0,
            ti_pubkey: None,
        };
        let greeting: crate::serve::Greeting = Box::new(move |url: &str| {
            eprintln!();
            eprintln!("  Open {url} (accept the self-signed certificate) and sign in as");
            eprintln!("  {DEMO_ADMIN} / {}", password.trim());
            eprintln!("  The demo plant's devices arrive within seconds. Ctrl-C stops.");
        });
        serve(args, Some(greeting)).await
    })
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}
