//! One TCP connection to a DNS server: length-framed messages (RFC 1035 §4.2.2), TSIG signing
//! of every request, verification of every response, pipelined queries and zone transfers.
//!
//! The messages themselves are hickory's. The transport is our own rather than hickory-net's
//! multiplexer for three reasons: the multiplexer drops zone-transfer messages when its 8-slot
//! response channel is full (hickory-dns#2049: a silently short transfer), it verifies TSIG
//! before the caller sees the answer (so BADKEY/BADSIG become a "truncated HMACs" error), and
//! its signer lacks hmac-sha1/sha224.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::ServerAddress;
use crate::records::RrsetGrouper;
use crate::tsig::{TsigFailure, TsigSigner};

/// Queries written before their answers are read, when reading back many RRsets.
const PIPELINE_WINDOW: usize = 32;

/// A failed exchange. Every variant leaves the connection unusable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    /// No server accepted a connection.
    #[error("cannot connect to {}", .attempts.join("; "))]
    Unreachable {
        /// One entry per address tried: `address: reason`.
        attempts: Vec<String>,
    },
    /// The connection broke, timed out or carried something that is not a valid answer.
    #[error("{server}: {detail}")]
    Connection {
        /// The server.
        server: String,
        /// What happened.
        detail: String,
    },
    /// The request cannot be encoded or signed (a bug or an impossible value; never retried).
    #[error("cannot send the request: {0}")]
    Request(String),
    /// The answer's TSIG signature is not acceptable.
    #[error("{server}: {failure}")]
    Tsig {
        /// The server.
        server: String,
        /// Why the signature was refused.
        failure: TsigFailure,
    },
}

impl ExchangeError {
    /// True when trying again (on a new connection, maybe another server) may help.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, ExchangeError::Tsig { .. } | ExchangeError::Request(_))
    }
}

/// The outcome of a zone transfer.
pub(crate) enum Transfer {
    /// The server refused: the first answer carries an error code (or a TSIG error).
    Refused(Message),
    /// The whole zone, framed by its SOA.
    Complete {
        /// SOA serial of the transferred version.
        serial: u32,
        /// Every record, the closing SOA excluded, grouped into RRsets as they came.
        rrsets: RrsetGrouper,
    },
}

/// An open connection to one server.
pub(crate) struct Connection {
    stream: TcpStream,
    server: String,
    timeout: Duration,
    next_id: u16,
}

impl Connection {
    /// Connects to the first server (in order) that accepts, each address with `timeout`.
    pub(crate) async fn open(
        servers: &[ServerAddress],
        timeout: Duration,
    ) -> Result<Self, ExchangeError> {
        let mut attempts = Vec::new();
        for server in servers {
            let addresses: Vec<SocketAddr> = match tokio::time::timeout(
                timeout,
                tokio::net::lookup_host((server.host.as_str(), server.port)),
            )
            .await
            {
                Ok(Ok(addresses)) => addresses.collect(),
                Ok(Err(error)) => {
                    attempts.push(format!("{server}: cannot resolve the host: {error}"));
                    continue;
                }
                Err(_) => {
                    attempts.push(format!("{server}: resolving the host timed out"));
                    continue;
                }
            };
            for address in addresses {
                match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        let name = if server.host == address.ip().to_string() {
                            address.to_string()
                        } else {
                            format!("{server} ({address})")
                        };
                        tracing::debug!(server = %name, "connected");
                        return Ok(Self {
                            stream,
                            server: name,
                            timeout,
                            next_id: initial_id(),
                        });
                    }
                    Ok(Err(error)) => attempts.push(format!("{address}: {error}")),
                    Err(_) => attempts.push(format!("{address}: no connection within {timeout:?}")),
                }
            }
        }
        Err(ExchangeError::Unreachable { attempts })
    }

    /// The server as shown in messages (`127.0.0.1:53`, or `name:port (address)`).
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// Sends one request and returns its answer. Also returns the encoded request size.
    ///
    /// The answer is verified when `signer` is given, except an unsigned error answer or one
    /// carrying a TSIG error (BADKEY/BADSIG answers are unsigned by design): those are returned
    /// for the caller to read the codes.
    pub(crate) async fn exchange(
        &mut self,
        mut request: Message,
        signer: Option<&TsigSigner>,
    ) -> Result<(Message, usize), ExchangeError> {
        request.metadata.id = self.take_id();
        let request_mac = match signer {
            Some(signer) => Some(signer.sign(&mut request).map_err(ExchangeError::Request)?),
            None => None,
        };
        let bytes = request
            .to_vec()
            .map_err(|e| ExchangeError::Request(format!("cannot encode it: {e}")))?;
        self.write_frames(std::slice::from_ref(&bytes)).await?;
        let answer = self.read_frame().await?;
        let message = self.decode(&answer)?;
        if message.metadata.id != request.metadata.id {
            return Err(self.broken(format!(
                "answer with id {} to request {}",
                message.metadata.id, request.metadata.id
            )));
        }
        if let (Some(signer), Some(mac)) = (signer, &request_mac) {
            self.check_signature(signer, &answer, &message, mac, true)?;
        }
        Ok((message, bytes.len()))
    }

    /// Asks each question (name, type) and returns the answers in question order, writing up to
    /// [`PIPELINE_WINDOW`] queries before reading their answers.
    pub(crate) async fn query_many(
        &mut self,
        questions: &[(Name, RecordType)],
        signer: Option<&TsigSigner>,
    ) -> Result<Vec<Message>, ExchangeError> {
        let mut answers: Vec<Option<Message>> = vec![None; questions.len()];
        for (window_start, window) in questions
            .chunks(PIPELINE_WINDOW)
            .enumerate()
            .map(|(i, w)| (i * PIPELINE_WINDOW, w))
        {
            let mut pending: HashMap<u16, (usize, Option<Vec<u8>>)> = HashMap::new();
            let mut frames = Vec::with_capacity(window.len());
            for (offset, (name, record_type)) in window.iter().enumerate() {
                let mut request = query(name.clone(), *record_type);
                request.metadata.id = self.take_id();
                let mac = match signer {
                    Some(signer) => {
                        Some(signer.sign(&mut request).map_err(ExchangeError::Request)?)
                    }
                    None => None,
                };
                frames.push(
                    request.to_vec().map_err(|e| {
                        ExchangeError::Request(format!("cannot encode a query: {e}"))
                    })?,
                );
                pending.insert(request.metadata.id, (window_start + offset, mac));
            }
            self.write_frames(&frames).await?;
            while !pending.is_empty() {
                let answer = self.read_frame().await?;
                let message = self.decode(&answer)?;
                let Some((index, mac)) = pending.remove(&message.metadata.id) else {
                    return Err(
                        self.broken(format!("answer with unexpected id {}", message.metadata.id))
                    );
                };
                if let (Some(signer), Some(mac)) = (signer, &mac) {
                    self.check_signature(signer, &answer, &message, mac, true)?;
                }
                answers[index] = Some(message);
            }
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// Transfers `zone` (AXFR) and checks that the transfer is complete: the first record is the
    /// zone's SOA and the transfer ends with the same SOA. Every message is verified when
    /// `signer` is given.
    pub(crate) async fn transfer(
        &mut self,
        zone: &Name,
        signer: Option<&TsigSigner>,
    ) -> Result<Transfer, ExchangeError> {
        let mut request = query(zone.clone(), RecordType::AXFR);
        request.metadata.id = self.take_id();
        let mut previous_mac = match signer {
            Some(signer) => Some(signer.sign(&mut request).map_err(ExchangeError::Request)?),
            None => None,
        };
        let bytes = request.to_vec().map_err(|e| {
            ExchangeError::Request(format!("cannot encode the transfer request: {e}"))
        })?;
        self.write_frames(std::slice::from_ref(&bytes)).await?;

        let mut serial: Option<u32> = None;
        let mut rrsets = RrsetGrouper::default();
        let mut first = true;
        loop {
            let answer = self.read_frame().await?;
            let message = self.decode(&answer)?;
            if message.metadata.id != request.metadata.id {
                return Err(self.broken(format!(
                    "transfer message with id {} to request {}",
                    message.metadata.id, request.metadata.id
                )));
            }
            let failed = message.metadata.response_code != ResponseCode::NoError
                || message
                    .signature()
                    .is_some_and(|tsig| tsig.data.error.is_some());
            if failed && first {
                if let (Some(signer), Some(mac)) = (signer, &previous_mac) {
                    self.check_signature(signer, &answer, &message, mac, true)?;
                }
                return Ok(Transfer::Refused(message));
            }
            if let (Some(signer), Some(mac)) = (signer, previous_mac.as_mut()) {
                if message.signature().is_none() {
                    // RFC 8945 lets servers leave up to 99 messages unsigned; BIND and Knot sign
                    // every one. Refuse rather than accept unverified data.
                    return Err(ExchangeError::Tsig {
                        server: self.server.clone(),
                        failure: TsigFailure::Unsigned,
                    });
                }
                *mac =
                    signer
                        .verify(&answer, mac, first)
                        .map_err(|failure| ExchangeError::Tsig {
                            server: self.server.clone(),
                            failure,
                        })?;
            }
            if failed {
                return Err(self.broken(format!(
                    "the zone transfer of {zone} stopped with {}",
                    crate::rcode::mnemonic(message.metadata.response_code)
                )));
            }
            first = false;
            let mut answers = message.answers.into_iter();
            if serial.is_none() {
                match answers.next() {
                    Some(record) => match (&record.data, record.name == *zone) {
                        (RData::SOA(soa), true) => {
                            serial = Some(soa.serial);
                            rrsets.add(&record);
                        }
                        _ => {
                            return Err(self.broken(format!(
                                "the zone transfer of {zone} does not start with its SOA record"
                            )));
                        }
                    },
                    None => {
                        return Err(self.broken(format!("the zone transfer of {zone} is empty")));
                    }
                }
            }
            let opening_serial = serial.unwrap_or_default();
            while let Some(record) = answers.next() {
                if let RData::SOA(soa) = &record.data {
                    if soa.serial != opening_serial || answers.next().is_some() {
                        return Err(self.broken(format!(
                            "the zone transfer of {zone} is inconsistent (closing SOA serial {} after opening serial {opening_serial}, or records after it)",
                            soa.serial
                        )));
                    }
                    return Ok(Transfer::Complete {
                        serial: opening_serial,
                        rrsets,
                    });
                }
                rrsets.add(&record);
            }
        }
    }

    fn check_signature(
        &self,
        signer: &TsigSigner,
        bytes: &[u8],
        message: &Message,
        request_mac: &[u8],
        first: bool,
    ) -> Result<(), ExchangeError> {
        let tsig_error = message
            .signature()
            .is_some_and(|tsig| tsig.data.error.is_some());
        let unsigned_error = message.signature().is_none()
            && message.metadata.response_code != ResponseCode::NoError;
        if tsig_error || unsigned_error {
            // Error answers to bad keys are unsigned by design; the caller reports the codes.
            return Ok(());
        }
        if message.signature().is_none() {
            return Err(ExchangeError::Tsig {
                server: self.server.clone(),
                failure: TsigFailure::Unsigned,
            });
        }
        signer
            .verify(bytes, request_mac, first)
            .map(|_| ())
            .map_err(|failure| ExchangeError::Tsig {
                server: self.server.clone(),
                failure,
            })
    }

    fn take_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn broken(&self, detail: impl Into<String>) -> ExchangeError {
        ExchangeError::Connection {
            server: self.server.clone(),
            detail: detail.into(),
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<Message, ExchangeError> {
        let message = Message::from_vec(bytes)
            .map_err(|e| self.broken(format!("cannot decode an answer: {e}")))?;
        if message.metadata.message_type != MessageType::Response {
            return Err(self.broken("received a request instead of an answer"));
        }
        Ok(message)
    }

    async fn write_frames(&mut self, messages: &[Vec<u8>]) -> Result<(), ExchangeError> {
        let mut buffer = Vec::with_capacity(messages.iter().map(|m| m.len() + 2).sum());
        for message in messages {
            // hickory's encoder silently drops records (and the TSIG record) that do not fit in
            // 64 KiB and sets the TC bit instead; never send such a message.
            if message.get(2).is_some_and(|flags| flags & 0x02 != 0) {
                return Err(ExchangeError::Request(
                    "it does not fit in one DNS message".to_string(),
                ));
            }
            let length = u16::try_from(message.len()).map_err(|_| {
                ExchangeError::Request(format!(
                    "a {} byte message does not fit in a DNS TCP frame",
                    message.len()
                ))
            })?;
            buffer.extend_from_slice(&length.to_be_bytes());
            buffer.extend_from_slice(message);
        }
        match tokio::time::timeout(self.timeout, self.stream.write_all(&buffer)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(self.broken(format!("sending failed: {error}"))),
            Err(_) => Err(self.broken(format!("sending took longer than {:?}", self.timeout))),
        }
    }

    async fn read_frame(&mut self) -> Result<Vec<u8>, ExchangeError> {
        let timeout = self.timeout;
        let read = async {
            let mut length = [0u8; 2];
            self.stream.read_exact(&mut length).await?;
            let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
            self.stream.read_exact(&mut message).await?;
            Ok::<_, std::io::Error>(message)
        };
        match tokio::time::timeout(timeout, read).await {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(self.broken("the server closed the connection"))
            }
            Ok(Err(error)) => Err(self.broken(format!("receiving failed: {error}"))),
            Err(_) => Err(self.broken(format!("no answer within {timeout:?}"))),
        }
    }
}

/// A plain query without recursion.
pub(crate) fn query(name: Name, record_type: RecordType) -> Message {
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(name, record_type));
    message
}

/// A starting message id that differs between connections.
fn initial_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ (nanos >> 16)) as u16
}
