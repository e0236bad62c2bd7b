//! The engine sessions of `serve`: a fixed set of threads, each with its own store
//! kept open (an SQLite connection, a PostgreSQL session), off the async threads.
//! Requests other than verifies go to whichever worker is free; verifies go to one
//! thread of their own, which takes every verify waiting when it is free and runs
//! them in one transaction with one durable commit (`ops::local::batch`).
//!
//! The queues are bounded: a server that cannot keep up answers 503 at once rather
//! than holding requests it will not reach in time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use tokio::sync::oneshot;

use super::metrics::Metrics;
use crate::base::error::{Error, classify};
use crate::ops::{BatchVerify, Grant, Local, Verified};
use crate::store::{Access, Location};

/// Work for a worker: it gets the worker's store.
type Job = Box<dyn FnOnce(&mut Local) + Send>;

struct VerifyJob {
    item: BatchVerify,
    reply: oneshot::Sender<Result<(Grant, Verified)>>,
}

/// The most verifies committed together.
const MAX_BATCH: usize = 256;
/// Requests waiting for a worker, at most.
const QUEUE: usize = 4096;

pub struct Pool {
    jobs: Option<Sender<Job>>,
    verifies: Option<Sender<VerifyJob>>,
    threads: Vec<JoinHandle<()>>,
    metrics: Metrics,
}

impl Pool {
    /// Starts `workers` workers and the verify thread, each opening the store on its
    /// first request.
    pub fn start(
        location: &Location,
        access: &Access,
        workers: usize,
        metrics: &Metrics,
    ) -> Result<Pool> {
        let (jobs, job_rx) = bounded::<Job>(QUEUE);
        let (verifies, verify_rx) = bounded::<VerifyJob>(QUEUE);
        let mut threads = Vec::new();
        for n in 0..workers.max(1) {
            let (rx, m) = (job_rx.clone(), metrics.clone());
            let (location, access) = (location.clone(), access.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("totpctl-worker-{n}"))
                    .spawn(move || work(rx, Local::keeping(location, access), m))?,
            );
        }
        let m = metrics.clone();
        let (location, access) = (location.clone(), access.clone());
        threads.push(
            std::thread::Builder::new()
                .name("totpctl-verify".into())
                .spawn(move || verify_loop(verify_rx, Local::keeping(location, access), m))?,
        );
        metrics.sessions.set(threads.len() as i64);
        Ok(Pool {
            jobs: Some(jobs),
            verifies: Some(verifies),
            threads,
            metrics: metrics.clone(),
        })
    }

    /// Runs `f` on a worker's store, waiting for it at most `deadline`.
    pub async fn run<T: Send + 'static>(
        &self,
        deadline: Duration,
        f: impl FnOnce(&mut Local) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |local| {
            let r = f(local);
            if r.as_ref().is_err_and(is_store_failure) {
                local.forget();
            }
            let _ = reply.send(r);
        });
        let jobs = self.jobs.as_ref().ok_or_else(shutting_down)?;
        match jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(busy()),
            Err(TrySendError::Disconnected(_)) => return Err(shutting_down()),
        }
        wait(answer, deadline).await
    }

    /// Runs a verify with the others waiting, waiting for it at most `deadline`.
    pub async fn verify(&self, deadline: Duration, item: BatchVerify) -> Result<(Grant, Verified)> {
        let (reply, answer) = oneshot::channel();
        let verifies = self.verifies.as_ref().ok_or_else(shutting_down)?;
        match verifies.try_send(VerifyJob { item, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(busy()),
            Err(TrySendError::Disconnected(_)) => return Err(shutting_down()),
        }
        wait(answer, deadline).await
    }

    /// Lets every worker finish what it was given, then stops them.
    pub fn shutdown(mut self) {
        self.jobs.take();
        self.verifies.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.metrics.sessions.set(0);
    }
}

fn work(jobs: Receiver<Job>, mut local: Local, metrics: Metrics) {
    while let Ok(job) = jobs.recv() {
        metrics.sessions_busy.inc();
        // A job that panics answers nothing (its caller gets a 500) and costs the
        // worker its store, never the worker itself.
        if catch_unwind(AssertUnwindSafe(|| job(&mut local))).is_err() {
            local.forget();
        }
        metrics.sessions_busy.dec();
    }
}

fn verify_loop(jobs: Receiver<VerifyJob>, local: Local, metrics: Metrics) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics.sessions_busy.inc();
        metrics.batch_size.observe(batch.len() as f64);
        let (items, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|j| (j.item, j.reply)).unzip();
        let answers = catch_unwind(AssertUnwindSafe(|| {
            local.verify_batch(chrono::Utc::now(), &items)
        }))
        .unwrap_or_else(|_| {
            local.forget();
            Vec::new()
        });
        if answers
            .iter()
            .any(|a| a.as_ref().is_err_and(is_store_failure))
        {
            local.forget();
        }
        for (reply, answer) in replies.into_iter().zip(answers) {
            let _ = reply.send(answer);
        }
        metrics.sessions_busy.dec();
    }
}

async fn wait<T>(answer: oneshot::Receiver<Result<T>>, deadline: Duration) -> Result<T> {
    match tokio::time::timeout(deadline, answer).await {
        Ok(Ok(r)) => r,
        // The worker dropped the reply: it panicked on this request.
        Ok(Err(_)) => Err(anyhow::anyhow!("the request failed inside the server")),
        Err(_) => Err(Error::Store(format!(
            "the store did not answer within {} s: it may be down or locked; the request may \
             still be carried out",
            deadline.as_secs_f64()
        ))
        .into()),
    }
}

/// Whether an error says the store itself failed (not an answer about the data):
/// the worker then opens it afresh for its next request.
fn is_store_failure(e: &anyhow::Error) -> bool {
    matches!(
        classify(e),
        None | Some(Error::Store(_) | Error::StoreNotFound(_))
    )
}

fn busy() -> anyhow::Error {
    Error::Store("the server has more requests waiting than it can take: try again".into()).into()
}

fn shutting_down() -> anyhow::Error {
    Error::Store("the server is shutting down".into()).into()
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs.take();
        self.verifies.take();
    }
}
