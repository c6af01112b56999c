//! `ironward serve`: the console over HTTPS, optionally with an embedded sensor (the all-in-one
//! mode of a single site or a laptop). The embedded sensor is a real sensor: it enrols with a
//! token the console makes for it and streams over the console's own HTTPS port, through the
//! same outbox and ingest path as a remote sensor.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ironward_console::{AppState, ConsoleSettings, TlsIdentity};
use ironward_model::Timestamp;
use ironward_sensor::uplink::{self, CaptureSource, SensorConfig, SensorControl};
use ironward_store::{Scope, SiteId, Store, ZoneId};

use crate::console_store::{runtime, StoreArgs};

/// Arguments of `ironward serve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ironward serve --data /var/lib/ironward --listen 0.0.0.0:8443 --hostname console.plant\n  ironward serve --data ./iw --pcap plant.pcapng --site \"Plant A\"   # all-in-one"
)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,

    /// Address and port to listen on (HTTPS).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub(crate) listen: SocketAddr,

    /// The console's own certificate chain (PEM); by default a self-signed one is generated in
    /// DATA/tls on first start.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub(crate) cert: Option<PathBuf>,

    /// The private key of --cert (PEM).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub(crate) key: Option<PathBuf>,

    /// Host names or addresses sensors use to reach the console (added to the generated
    /// certificate).
    #[arg(long, value_name = "NAME")]
    pub(crate) hostname: Vec<String>,

    /// The console's address as sensors see it (shown in enrolment commands); default
    /// https://<first --hostname or the listen address>.
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,

    /// Embedded sensor: analyse these capture files into the console.
    #[arg(long, value_name = "FILE", conflicts_with = "interface")]
    pub(crate) pcap: Vec<PathBuf>,

    /// Embedded sensor: capture live from this interface.
    #[arg(long, value_name = "IFACE")]
    pub(crate) interface: Option<String>,

    /// The embedded sensor's site (created if missing).
    #[arg(long, value_name = "NAME", default_value = "Default site")]
    pub(crate) site: String,

    /// The embedded sensor's zone in that site (created if missing).
    #[arg(long, value_name = "NAME", default_value = "Default zone")]
    pub(crate) zone: String,

    /// How long a new site learns (`7d`, `12h`, seconds; `0`: new sites do not learn). While a
    /// site learns, its policy alerts become baseline entries instead of alerts; the other
    /// engines alert from the start.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = crate::analyze::parse_duration_ns)]
    pub(crate) learning_period: i64,

    /// The public key threat-intelligence packages must be signed with (PEM, as `ironward ti
    /// keygen` writes KEYFILE.pub): every upload is verified with it; without it uploads are
    /// refused.
    #[arg(long, value_name = "FILE")]
    pub(crate) ti_pubkey: Option<PathBuf>,
}

/// Runs `ironward serve` until Ctrl-C.
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    runtime()?.block_on(serve(args, None))
}

/// What `ironward demo` adds to a plain start: a message once the console is up.
pub(crate) type Greeting = Box<dyn FnOnce(&str) + Send>;

/// Serves until Ctrl-C; `greeting` is called with the console's URL once it listens.
pub(crate) async fn serve(args: ServeArgs, greeting: Option<Greeting>) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let data = args.store.data_dir().to_owned();
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => TlsIdentity::from_pem_files(cert, key)?,
        _ => TlsIdentity::load_or_create(&data, &args.hostname)?,
    };
    let host = args
        .hostname
        .first()
        .cloned()
        .unwrap_or_else(|| host_of(args.listen.ip()));
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://{host}:{}", args.listen.port()));
    let ti_public_key = args
        .ti_pubkey
        .as_deref()
        .map(ironward_intel::ti::sign::read_verifying_key)
        .transpose()?;
    let settings = ConsoleSettings {
        ti_public_key,
        public_url: public_url.clone(),
        site_learning_period: Duration::from_nanos(
            u64::try_from(args.learning_period).unwrap_or(0),
        ),
        ..ConsoleSettings::default()
    };
    let fingerprint = tls.fingerprint();
    let offline_after = settings.sensor_offline_after;
    let state = AppState::new(store.clone(), settings, fingerprint.clone());
    // The package in force (if any) is verified again and devices are matched against it.
    ironward_console::vuln_matching::load_in_force(state.intel(), &store).await;
    let posture_nudge = state.posture().clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (running, server) = ironward_console::start(state, args.listen, &tls, async {
        let _ = stop_rx.await;
    })
    .await?;
    let url = format!("https://{host}:{}", running.address.port());
    eprintln!("Ironward console at {url}");
    eprintln!("  certificate {fingerprint}");
    if store.list_users().await?.is_empty() {
        eprintln!(
            "  no users yet: create the first administrator with\n    ironward user add admin --role admin --password-stdin --data {}",
            data.display()
        );
    }
    if let Some(greet) = greeting {
        greet(&url);
    }

    // Forwarding and playbooks: delivers from the store's queue until the console stops.
    let (forward_stop, forward_stopped) = tokio::sync::oneshot::channel::<()>();
    let forwarder = ironward_console::forward::worker::spawn(
        store.clone(),
        ironward_console::forward::worker::WorkerConfig::default(),
        async {
            let _ = forward_stopped.await;
        },
    );
    // Sensors that stop reporting raise an operational alert, once per outage.
    let (watch_stop, watch_stopped) = tokio::sync::oneshot::channel::<()>();
    let watcher = ironward_console::sensor_watch::spawn(store.clone(), offline_after, async {
        let _ = watch_stopped.await;
    });
    // Exposure management: every initiative's score history (a first round at once) and
    // score-drop alerts.
    let (posture_stop, posture_stopped) = tokio::sync::oneshot::channel::<()>();
    let posture = ironward_console::posture_job::spawn(store.clone(), posture_nudge, async {
        let _ = posture_stopped.await;
    });

    let control = Arc::new(SensorControl::new());
    let sensor = match embedded_source(&args) {
        Some(source) => {
            let config =
                embedded_sensor(&store, &args, source, running.address, &fingerprint).await?;
            let control = control.clone();
            Some(tokio::task::spawn_blocking(move || {
                uplink::run(&config, &control)
            }))
        }
        None => None,
    };

    let mut server = server;
    let server_ended = tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            eprintln!("stopping");
            None
        }
        ended = &mut server => Some(ended),
    };
    control.stop();
    if let Some(sensor) = sensor {
        match sensor.await {
            Ok(Ok(summary)) => tracing::info!(?summary, "embedded sensor stopped"),
            Ok(Err(error)) => eprintln!("embedded sensor: {error}"),
            Err(error) => eprintln!("embedded sensor: {error}"),
        }
    }
    match server_ended {
        Some(ended) => ended.context("console task")??,
        None => {
            let _ = stop_tx.send(());
            running.stop();
            server.await.context("console task")??;
        }
    }
    let _ = forward_stop.send(());
    let _ = forwarder.await;
    let _ = watch_stop.send(());
    let _ = watcher.await;
    let _ = posture_stop.send(());
    let _ = posture.await;
    store.close().await;
    Ok(())
}

fn embedded_source(args: &ServeArgs) -> Option<CaptureSource> {
    if let Some(interface) = &args.interface {
        Some(CaptureSource::Interface(interface.clone()))
    } else if !args.pcap.is_empty() {
        Some(CaptureSource::Files(args.pcap.clone()))
    } else {
        None
    }
}

/// The embedded sensor's configuration: its site and zone exist, and when it has no credential
/// yet it gets a fresh enrolment token and the console's fingerprint to pin.
async fn embedded_sensor(
    store: &Store,
    args: &ServeArgs,
    source: CaptureSource,
    console: SocketAddr,
    fingerprint: &str,
) -> anyhow::Result<SensorConfig> {
    let dir = args.store.data_dir().join("sensor");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let address = SocketAddr::new(loopback_for(console.ip()), console.port());
    let url = format!("https://{address}");
    let mut config = SensorConfig::new(&url, &dir, source, "embedded");
    config.console_fingerprint = Some(
        fingerprint
            .parse()
            .map_err(|e| anyhow::anyhow!("console fingerprint: {e:?}"))?,
    );
    // Capture files stream in short windows so the inventory fills while they are read.
    config.window = Duration::from_secs(60);
    if uplink::enrol::load(&dir)?.is_none() {
        let zone = ensure_zone(store, args, &args.site, &args.zone).await?;
        let now = ironward_console::state::now();
        let expires = Timestamp(now.0.saturating_add(600 * 1_000_000_000));
        let token = store
            .create_enrollment_token(&Scope::All, zone, "embedded", expires, None, now)
            .await?;
        config.enroll_token = Some(token);
    }
    Ok(config)
}

/// The zone `zone` of site `site`, both created when missing (a new site learns for
/// `--learning-period`).
pub(crate) async fn ensure_zone(
    store: &Store,
    args: &ServeArgs,
    site: &str,
    zone: &str,
) -> anyhow::Result<ZoneId> {
    let now = ironward_console::state::now();
    let sites = store.list_sites(&Scope::All).await?;
    let learning_until =
        (args.learning_period > 0).then(|| Timestamp(now.0.saturating_add(args.learning_period)));
    let site_id: SiteId = match sites.iter().find(|s| s.name == site) {
        Some(s) => s.id,
        None => {
            store
                .create_site_learning(site, now, learning_until)
                .await?
                .id
        }
    };
    let zones = store.list_zones(&Scope::All, Some(site_id)).await?;
    Ok(match zones.iter().find(|z| z.name == zone) {
        Some(z) => z.id,
        None => store.create_zone(&Scope::All, site_id, zone, now).await?.id,
    })
}

/// The address to call a console listening on `ip` from this machine.
fn loopback_for(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// A host for URLs: the listen address, `localhost` for loopback or unspecified ones (the
/// generated certificate names localhost).
fn host_of(ip: IpAddr) -> String {
    if ip.is_loopback() || ip.is_unspecified() {
        "localhost".to_owned()
    } else if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}
