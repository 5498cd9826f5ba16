//! memcached's UDP transport (`-U`, off by default as in memcached ≥ 1.5.6): each datagram
//! starts with an 8-byte frame header (request id, sequence number, datagram count,
//! reserved) and carries whole requests; the answer goes back in datagrams of at most 1400
//! bytes, each with the request id, its sequence number and the total.
//!
//! Requests spanning several datagrams are dropped, as memcached drops them. A request is run
//! by the same executor as a TCP connection's, on a connection state that lives for one
//! datagram.
//!
//! UDP answers can be far larger than the requests, to an address nobody verified: this is
//! why memcached turned UDP off by default after it was used to amplify attacks. Serve it
//! only to networks you trust.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::BytesMut;
use mc_proto::Limits;

use super::{Listener, Shared};
use crate::client_state::ClientState;
use crate::config::Auth;
use crate::executor::{Executor, Step};
use crate::server_counters::ConnectionStats;

/// The frame header before every datagram's payload.
pub(crate) const FRAME_HEADER: usize = 8;

/// The largest datagram sent, header included (memcached's `UDP_MAX_PAYLOAD_SIZE`).
pub(crate) const MAX_DATAGRAM: usize = 1400;

/// The largest datagram read (memcached's `UDP_READ_BUFFER_SIZE`).
const READ_SIZE: usize = 65536;

/// Serve the UDP sockets on their own thread.
pub(crate) fn spawn(
    sockets: Vec<Listener>,
    shared: Arc<Shared>,
) -> std::io::Result<JoinHandle<()>> {
    super::spawn_loop("mc-udp", move || async move {
        let mut tasks = tokio::task::JoinSet::new();
        for listener in sockets {
            let Listener::Udp(socket, name) = listener else {
                continue;
            };
            shared.env.conns.add_listener(socket.as_raw_fd(), name);
            match tokio::net::UdpSocket::from_std(socket) {
                Ok(socket) => {
                    tasks.spawn(serve(socket, shared.clone()));
                }
                Err(e) => tracing::error!("cannot register the UDP socket: {e}"),
            }
        }
        let mut shutdown = shared.shutdown.subscribe();
        let _ = shutdown.wait_for(|stop| *stop).await;
        tasks.abort_all();
    })
}

async fn serve(socket: tokio::net::UdpSocket, shared: Arc<Shared>) {
    let env = &shared.env;
    let id = socket.as_raw_fd();
    let mut datagram = vec![0u8; READ_SIZE];
    loop {
        let (n, peer) = match socket.recv_from(&mut datagram).await {
            Ok(received) => received,
            Err(e) => {
                tracing::debug!("udp receive failed: {e}");
                continue;
            }
        };
        // Too short for a frame header and a request: ignored, as by memcached.
        if n <= FRAME_HEADER {
            continue;
        }
        ConnectionStats::add(&env.conn_stats.bytes_read, n as u64);
        let frame = &datagram[..FRAME_HEADER];
        let request_id = [frame[0], frame[1]];
        // A request in several datagrams is not supported: drop it.
        if frame[4] != 0 || frame[5] != 1 {
            continue;
        }
        let answer = run(&datagram[FRAME_HEADER..n], id, &shared);
        if let Err(e) = send(&socket, peer, request_id, &answer, env).await {
            tracing::debug!("udp send to {peer} failed: {e}");
        }
    }
}

/// Run the requests of one datagram; returns the whole answer.
pub(crate) fn run(payload: &[u8], id: i32, shared: &Shared) -> BytesMut {
    let env = &shared.env;
    let limits = Limits {
        max_item_size: env.config.store.max_item_size,
        ..Limits::default()
    };
    let client = ClientState {
        id,
        info: None,
        authenticated: env.config.auth == Auth::None,
        watcher: None,
    };
    let mut executor = Executor::new(limits, client);
    let mut input = BytesMut::from(payload);
    let mut answer = BytesMut::new();
    loop {
        let mut out = BytesMut::new();
        let step = executor.run(&mut input, &shared.store, env, &mut out);
        answer.extend_from_slice(&out);
        match step {
            Step::Flush | Step::Yield | Step::TakeTurns => {}
            // No watching over UDP: a datagram has no connection to stream to.
            Step::Watch => {
                if let Some(watcher) = executor.client.watcher.take() {
                    env.events.detach(&watcher);
                }
                break;
            }
            Step::NeedInput | Step::Close => break,
            Step::Shutdown => {
                shared.request_shutdown();
                break;
            }
        }
    }
    answer
}

/// Frame `answer` in datagrams of at most [`MAX_DATAGRAM`] bytes and send them to `peer`.
async fn send(
    socket: &tokio::net::UdpSocket,
    peer: SocketAddr,
    request_id: [u8; 2],
    answer: &[u8],
    env: &crate::environment::Environment,
) -> std::io::Result<()> {
    for datagram in frames(request_id, answer) {
        socket.send_to(&datagram, peer).await?;
        ConnectionStats::add(&env.conn_stats.bytes_written, datagram.len() as u64);
    }
    Ok(())
}

/// The datagrams carrying `answer`: each the frame header (request id, sequence, total, two
/// zero bytes) and up to 1392 bytes of the answer.
pub(crate) fn frames(request_id: [u8; 2], answer: &[u8]) -> Vec<Vec<u8>> {
    let chunk = MAX_DATAGRAM - FRAME_HEADER;
    let total = answer.len().div_ceil(chunk).clamp(1, usize::from(u16::MAX));
    answer
        .chunks(chunk)
        .take(total)
        .enumerate()
        .map(|(sequence, data)| {
            let mut datagram = Vec::with_capacity(FRAME_HEADER + data.len());
            datagram.extend_from_slice(&request_id);
            datagram.extend_from_slice(&(sequence as u16).to_be_bytes());
            datagram.extend_from_slice(&(total as u16).to_be_bytes());
            datagram.extend_from_slice(&[0, 0]);
            datagram.extend_from_slice(data);
            datagram
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_framed_in_1400_byte_datagrams() {
        let answer = vec![b'x'; 3000];
        let datagrams = frames([0, 7], &answer);
        assert_eq!(datagrams.len(), 3);
        assert!(datagrams.iter().all(|d| d.len() <= MAX_DATAGRAM));
        assert_eq!(&datagrams[1][..8], &[0, 7, 0, 1, 0, 3, 0, 0]);
        let data: Vec<u8> = datagrams.iter().flat_map(|d| d[8..].to_vec()).collect();
        assert_eq!(data, answer);
        assert!(frames([0, 1], b"").is_empty());
    }
}
