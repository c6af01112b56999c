//! Serving the router over HTTPS (HTTP/1.1 and HTTP/2) until asked to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;

use crate::routes::router;
use crate::state::AppState;
use crate::tls::TlsIdentity;

/// How long requests in flight may finish after a stop is asked for.
const GRACE: Duration = Duration::from_secs(10);

/// What can stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS identity was refused.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The address could not be bound, or the server failed.
    #[error("serving on {address}: {source}")]
    Io {
        /// The listen address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A started server: where it listens, and how to stop it.
#[derive(Debug, Clone)]
pub struct Running {
    handle: Handle,
    /// The bound address (the real port when 0 was asked for).
    pub address: SocketAddr,
}

impl Running {
    /// Asks the server to stop, letting requests in flight finish.
    pub fn stop(&self) {
        self.handle.graceful_shutdown(Some(GRACE));
    }
}

/// Starts serving `state` on `listen` over TLS; returns once the socket is bound, with the
/// server running on the tokio runtime until [`Running::stop`] or `shutdown` completes.
pub async fn start(
    state: AppState,
    listen: SocketAddr,
    tls: &TlsIdentity,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(Running, tokio::task::JoinHandle<Result<(), ServeError>>), ServeError> {
    let config = RustlsConfig::from_config(Arc::new(tls.server_config()?));
    let handle = Handle::new();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum_server::bind_rustls(listen, config).handle(handle.clone());
    let task = tokio::spawn(async move {
        server.serve(app).await.map_err(|source| ServeError::Io {
            address: listen,
            source,
        })
    });
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(GRACE));
    });
    match handle.listening().await {
        Some(address) => Ok((Running { handle, address }, task)),
        None => {
            // The server ended before listening: its error says why.
            let error = match task.await {
                Ok(Err(e)) => e,
                _ => ServeError::Io {
                    address: listen,
                    source: std::io::Error::other("the server stopped before listening"),
                },
            };
            Err(error)
        }
    }
}
