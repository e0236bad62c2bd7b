//! Lists streamed as one JSON array, as `list --json` and `log --json` print them:
//! the operation runs on a worker over one snapshot and hands its rows over in
//! chunks, so that a list of a million enrollments never sits whole in memory. The
//! status is decided by the first chunk: an error before any row is an error
//! answer; one after (the store lost mid-list) cuts the body short, which no JSON
//! parser takes for a whole list. A client that stops reading for longer than the
//! client timeout is let go, and the worker with it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::App;
use super::auth::Caller;
use super::errors::ApiError;
use super::log::TokenName;
use crate::base::error::Error;
use crate::domain::tokens::Scope;
use crate::ops::{Context, Local};

/// What a worker hands the response: a chunk of the array, or the error that ended
/// it.
enum Msg {
    Data(Bytes),
    Fail(ApiError),
}

/// Where a worker writes the items of the array.
pub struct Sink {
    tx: mpsc::Sender<Msg>,
    runtime: tokio::runtime::Handle,
    timeout: Duration,
    buf: Vec<u8>,
    first: bool,
}

/// Chunks of about this size go to the client.
const CHUNK: usize = 64 * 1024;

impl Sink {
    /// Adds one item, already serialised.
    pub fn item(&mut self, json: &[u8]) -> Result<()> {
        self.buf.push(if self.first { b'[' } else { b',' });
        self.first = false;
        self.buf.extend_from_slice(json);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        let (tx, timeout) = (self.tx.clone(), self.timeout);
        let sent = self.runtime.block_on(async move {
            tokio::time::timeout(timeout, tx.send(Msg::Data(chunk))).await
        });
        match sent {
            Ok(Ok(())) => Ok(()),
            _ => Err(
                Error::Store("the client stopped reading the list; it was let go".into()).into(),
            ),
        }
    }

    fn finish(&mut self) -> Result<()> {
        if self.first {
            self.buf.push(b'[');
        }
        self.buf.extend_from_slice(b"]\n");
        self.flush()
    }
}

/// Answers with the JSON array `produce` writes into a [`Sink`], for `caller`
/// whose token must allow `scope`.
pub async fn json_array(
    app: Arc<App>,
    caller: Caller,
    scope: Scope,
    produce: impl FnOnce(&mut Local, &Context, &mut Sink) -> Result<()> + Send + 'static,
) -> Response {
    let (tx, mut rx) = mpsc::channel::<Msg>(4);
    let (name_tx, name_rx) = tokio::sync::oneshot::channel::<String>();
    let runtime = tokio::runtime::Handle::current();
    let (sink_tx, timeout) = (tx.clone(), app.client_timeout);
    let worker = app.clone();
    tokio::spawn(async move {
        let done = worker
            .call(caller, scope, move |l, cx, grant| {
                let _ = name_tx.send(grant.token.clone());
                let mut sink = Sink {
                    tx: sink_tx,
                    runtime,
                    timeout,
                    buf: Vec::with_capacity(CHUNK + 1024),
                    first: true,
                };
                produce(l, cx, &mut sink)?;
                sink.finish()
            })
            .await;
        if let Err(e) = done {
            let _ = tx.send(Msg::Fail(e)).await;
        }
    });
    let first = match rx.recv().await {
        Some(Msg::Data(first)) => first,
        Some(Msg::Fail(e)) => return e.into_response(),
        None => {
            return ApiError::from(Error::Store("the list ended before it began".into()))
                .into_response();
        }
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Some(Msg::Data(chunk)) => Some((Ok::<_, std::io::Error>(chunk), rx)),
            // An error after the first rows: the body is cut short.
            Some(Msg::Fail(e)) => Some((Err(std::io::Error::other(e.code().to_string())), rx)),
            None => None,
        }
    });
    let body =
        futures_util::StreamExt::chain(futures_util::stream::once(async move { Ok(first) }), rest);
    let mut r = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from_stream(body),
    )
        .into_response();
    if let Ok(name) = name_rx.await {
        r.extensions_mut().insert(TokenName(name));
    }
    r
}
