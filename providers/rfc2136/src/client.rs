//! The provider's DNS client: one TSIG-signing TCP connection, reopened (to the first server
//! that answers) when it breaks, with jittered exponential backoff between attempts.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use tokio::sync::Mutex;

use crate::config::{Rfc2136Config, ServerAddress};
use crate::connection::{Connection, ExchangeError, Transfer};
use crate::tsig::{TsigSigner, UnusableKeyName};

/// First delay between attempts.
const MIN_DELAY: Duration = Duration::from_millis(200);
/// Longest delay between attempts.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Counters of what the client sent; see [`crate::Rfc2136Stats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub transfers: AtomicU64,
    pub soa_queries: AtomicU64,
    pub queries: AtomicU64,
    pub update_messages: AtomicU64,
    pub update_bytes: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }
}

/// An answer and the server that gave it.
pub(crate) struct Answered<T> {
    pub value: T,
    pub server: String,
}

/// Sends requests over one connection, reconnecting and retrying as needed.
pub(crate) struct Client {
    servers: Vec<ServerAddress>,
    signer: Option<TsigSigner>,
    timeout: Duration,
    attempts: usize,
    connection: Mutex<Option<Connection>>,
    pub counters: Counters,
}

impl Client {
    /// A client for the configured servers; connects on first use.
    pub(crate) fn new(config: &Rfc2136Config) -> Result<Self, UnusableKeyName> {
        let signer = config.tsig().map(TsigSigner::new).transpose()?;
        Ok(Self {
            servers: config.servers().to_vec(),
            signer,
            timeout: config.timeout(),
            attempts: config.attempts(),
            connection: Mutex::new(None),
            counters: Counters::default(),
        })
    }

    /// Asks the questions (pipelined) and returns the answers in order.
    pub(crate) async fn query(
        &self,
        questions: &[(Name, RecordType)],
    ) -> Result<Answered<Vec<Message>>, ExchangeError> {
        self.run(Queries(questions)).await
    }

    /// Sends one UPDATE message (re-signed on every attempt) and returns the answer.
    ///
    /// Repeating an update after a broken connection is safe: it only deletes and adds exact
    /// records, so a second application changes nothing.
    pub(crate) async fn update(
        &self,
        message: &Message,
    ) -> Result<Answered<Message>, ExchangeError> {
        self.run(Update(message)).await
    }

    /// Transfers a zone.
    pub(crate) async fn transfer(&self, zone: &Name) -> Result<Answered<Transfer>, ExchangeError> {
        self.run(ZoneTransfer(zone)).await
    }

    /// Performs `request` on the open connection (opening one first), retrying on connection
    /// failures with jittered exponential backoff up to the configured attempts. A failure on a
    /// reused connection (the server may have closed it while idle) is retried at once on a new
    /// one, without counting as an attempt.
    async fn run<R: Request>(&self, request: R) -> Result<Answered<R::Output>, ExchangeError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(MIN_DELAY)
            .with_max_delay(MAX_DELAY)
            .with_max_times(self.attempts.saturating_sub(1))
            .with_jitter()
            .build();
        let mut slot = self.connection.lock().await;
        loop {
            let reused = slot.is_some();
            let connection = match slot.as_mut() {
                Some(connection) => connection,
                None => match Connection::open(&self.servers, self.timeout).await {
                    Ok(connection) => slot.insert(connection),
                    Err(error) => match backoff.next() {
                        Some(delay) => {
                            tracing::warn!(error = %error, retry_in = ?delay, "cannot reach the DNS server; retrying");
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                        None => return Err(error),
                    },
                },
            };
            let server = connection.server().to_string();
            match request.perform(self, connection).await {
                Ok(value) => return Ok(Answered { value, server }),
                Err(error) => {
                    *slot = None;
                    if !error.is_retryable() {
                        return Err(error);
                    }
                    if reused {
                        tracing::debug!(error = %error, "reused connection failed; reconnecting");
                        continue;
                    }
                    match backoff.next() {
                        Some(delay) => {
                            tracing::warn!(error = %error, retry_in = ?delay, "DNS request failed; retrying");
                            tokio::time::sleep(delay).await;
                        }
                        None => return Err(error),
                    }
                }
            }
        }
    }
}

/// A request the client sends on an open connection; performed again after a broken
/// connection, so it must be repeatable.
trait Request {
    /// What the request returns.
    type Output;

    /// Sends the request on `connection` and counts it in `client`'s counters.
    fn perform<'a>(
        &'a self,
        client: &'a Client,
        connection: &'a mut Connection,
    ) -> impl Future<Output = Result<Self::Output, ExchangeError>> + Send + 'a;
}

/// Pipelined queries.
struct Queries<'q>(&'q [(Name, RecordType)]);

impl Request for Queries<'_> {
    type Output = Vec<Message>;

    async fn perform(
        &self,
        client: &Client,
        connection: &mut Connection,
    ) -> Result<Self::Output, ExchangeError> {
        let soa = self.0.iter().filter(|(_, t)| *t == RecordType::SOA).count() as u64;
        Counters::add(&client.counters.soa_queries, soa);
        Counters::add(&client.counters.queries, self.0.len() as u64 - soa);
        connection.query_many(self.0, client.signer.as_ref()).await
    }
}

/// One UPDATE message.
struct Update<'m>(&'m Message);

impl Request for Update<'_> {
    type Output = Message;

    async fn perform(
        &self,
        client: &Client,
        connection: &mut Connection,
    ) -> Result<Self::Output, ExchangeError> {
        let (answer, bytes) = connection
            .exchange(self.0.clone(), client.signer.as_ref())
            .await?;
        Counters::add(&client.counters.update_messages, 1);
        Counters::add(&client.counters.update_bytes, bytes as u64);
        Ok(answer)
    }
}

/// An AXFR of one zone.
struct ZoneTransfer<'z>(&'z Name);

impl Request for ZoneTransfer<'_> {
    type Output = Transfer;

    async fn perform(
        &self,
        client: &Client,
        connection: &mut Connection,
    ) -> Result<Self::Output, ExchangeError> {
        Counters::add(&client.counters.transfers, 1);
        connection.transfer(self.0, client.signer.as_ref()).await
    }
}
