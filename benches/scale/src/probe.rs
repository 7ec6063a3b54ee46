//! A tiny DNS client for polling BIND: one UDP socket, one question per message, built and read
//! with hickory-proto. Unsigned queries, so BIND's query log tells them apart from zonesync's
//! TSIG-signed ones.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use anyhow::{Context, bail};
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};

/// How long one query may wait for its answer.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(500);

/// A UDP DNS client bound to loopback.
pub struct DnsProbe {
    socket: UdpSocket,
    server: SocketAddr,
    next_id: u16,
    buffer: Vec<u8>,
}

impl DnsProbe {
    /// A client for `server`.
    ///
    /// Fails when no loopback UDP socket can be bound.
    pub fn new(server: SocketAddr) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("bind a UDP socket")?;
        socket.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        Ok(Self {
            socket,
            server,
            next_id: 1,
            buffer: vec![0; 65_535],
        })
    }

    /// Asks one question and returns the answer section's data.
    ///
    /// Fails on a timeout, a malformed answer or an rcode other than NOERROR/NXDOMAIN.
    pub fn query(&mut self, name: &str, record_type: RecordType) -> anyhow::Result<Vec<RData>> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let mut request = Message::new(id, MessageType::Query, OpCode::Query);
        request.metadata.recursion_desired = false;
        request.add_query(Query::query(
            Name::from_ascii(name).with_context(|| format!("bad name {name}"))?,
            record_type,
        ));
        let bytes = request.to_vec().context("encode the query")?;
        self.socket.send_to(&bytes, self.server)?;
        // Answers to earlier queries that timed out may still arrive: skip them.
        for _ in 0..16 {
            let (length, _) = self
                .socket
                .recv_from(&mut self.buffer)
                .with_context(|| format!("no answer to {name} {record_type}"))?;
            let answer = Message::from_vec(&self.buffer[..length]).context("decode the answer")?;
            if answer.metadata.id != id {
                continue;
            }
            let code = answer.metadata.response_code;
            if code != hickory_proto::op::ResponseCode::NoError
                && code != hickory_proto::op::ResponseCode::NXDomain
            {
                bail!("{name} {record_type}: {code}");
            }
            return Ok(answer.answers.into_iter().map(|r| r.data).collect());
        }
        bail!("no matching answer to {name} {record_type}")
    }

    /// The IPv4 addresses served for `name`.
    ///
    /// Fails as [`DnsProbe::query`] does.
    pub fn addresses(&mut self, name: &str) -> anyhow::Result<Vec<Ipv4Addr>> {
        Ok(self
            .query(name, RecordType::A)?
            .into_iter()
            .filter_map(|data| match data {
                RData::A(address) => Some(address.0),
                _ => None,
            })
            .collect())
    }

    /// The zone's SOA serial.
    ///
    /// Fails as [`DnsProbe::query`] does, or when the answer holds no SOA.
    pub fn serial(&mut self, zone: &str) -> anyhow::Result<u32> {
        self.query(zone, RecordType::SOA)?
            .into_iter()
            .find_map(|data| match data {
                RData::SOA(soa) => Some(soa.serial),
                _ => None,
            })
            .with_context(|| format!("no SOA in the answer for {zone}"))
    }
}
