//! Connections: accepted up to a limit, TLS (rustls) when the server has a
//! certificate, HTTP/1.1 with keep-alive (hyper), and cut off when a client is too
//! slow with its handshake or its headers. On the stop signal the listener closes,
//! and each connection finishes the request in flight before it is closed.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::Config;
use super::auth::Peer;
use crate::base::error::invalid;

/// How long the requests in flight have to finish after the stop signal.
const GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// The TLS side of the server, from a PEM certificate chain and a PEM private key
/// (which must be readable by its owner only).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    // Links are followed (certificates often live behind them), and the files they
    // lead to checked: the key readable by its owner only.
    let read = |path: &Path, what: &str, private: bool| -> Result<Vec<u8>> {
        let real = crate::base::files::resolve(path)
            .map_err(|e| invalid(format!("cannot read {what} {}: {e}", path.display())))?;
        crate::base::files::read_trusted(&real, what, private, 1 << 20)
            .map_err(invalid)?
            .ok_or_else(|| invalid(format!("{what} {} does not exist", path.display())))
    };
    let cert_pem = read(cert, "--tls-cert", false)?;
    let key_pem = zeroize::Zeroizing::new(read(key, "--tls-key", true)?);
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("cannot read --tls-cert {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "--tls-cert {} holds no certificate (PEM, BEGIN CERTIFICATE)",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(format!("cannot read --tls-key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(format!("--tls-cert and --tls-key do not make a pair: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until `stop`, then lets the requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    config: &Config,
    stop: impl Future<Output = ()>,
) -> Result<()> {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.client_timeout)
        .keep_alive(true)
        // Headers larger than this are refused (431).
        .max_buf_size(64 * 1024);
    let timeout = config.client_timeout;
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, for one: wait a little, then go on.
                    super::log::note(&format!("cannot accept a connection: {e}"));
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(Peer(peer));
                req
            },
        ));
        let (tls, http, watcher) = (tls.clone(), http.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let _ = watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await;
                }
                None => {
                    let _ = watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        super::log::note("some requests did not finish in time; they were cut off");
    }
    Ok(())
}
