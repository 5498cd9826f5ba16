//! A caller may give up on a call at any point (a `select!`, a `timeout` of its own, a task
//! aborted). A call alone on its connection writes its request and reads its answer itself:
//! dropped with the request half written, or with its answer unread, it leaves the stream out
//! of step, and the connection must go — not carry the next request after half of this one,
//! nor hand this answer to the next call.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use mc_client::{Client, Options};
use mc_testkit::read_some;

/// More than the socket buffers of both ends can hold while the server reads nothing (Linux
/// caps them by `net.ipv4.tcp_wmem` and `tcp_rmem`: 4 MiB and 6 MiB by default; even a
/// 32 MiB receive cap, as some machines set, leaves the write unfinished).
const BIG: usize = 64 << 20;

/// Read `conn` to its end: `Ok(bytes read)`, or the error (a read timeout) that came first.
fn read_to_end(conn: &mut std::net::TcpStream) -> Result<usize, std::io::ErrorKind> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.kind()),
        }
    }
}

/// Answer one `get` on the next connection as a miss.
fn answer_a_miss(listener: &TcpListener) {
    let (mut second, _) = listener.accept().expect("accept the second connection");
    let mut line = [0u8; 1024];
    assert!(read_some(&mut second, &mut line).expect("the get") > 0);
    std::io::Write::write_all(&mut second, b"END\r\n").expect("answer");
}

/// What the server does on the first connection before the client gives up.
#[derive(Clone, Copy)]
enum First {
    /// Reads nothing (the client's write fills the socket buffers).
    ReadsNothing,
    /// Reads the request and never answers it.
    ReadsTheRequest,
}

/// A server on `listener`: on the first connection, `first`; once told (`go`), it reads that
/// connection to its end (`Ok(bytes)`) or a read timeout (`Err`), then answers one `get` on a
/// second connection as a miss.
fn server(
    listener: TcpListener,
    first: First,
    go: std::sync::mpsc::Receiver<()>,
) -> Result<usize, std::io::ErrorKind> {
    let (mut conn, _) = listener.accept().expect("accept");
    if let First::ReadsTheRequest = first {
        let mut request = [0u8; 1024];
        assert!(read_some(&mut conn, &mut request).expect("the request") > 0);
    }
    go.recv().expect("go");
    let end = read_to_end(&mut conn);
    answer_a_miss(&listener);
    end
}

/// Start [`server`] on an ephemeral loopback port: its address, the sender that lets it go
/// on, and its thread.
fn start_server(
    first: First,
) -> (
    String,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<Result<usize, std::io::ErrorKind>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (go, go_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || server(listener, first, go_rx));
    (addr, go, thread)
}

#[tokio::test]
async fn a_call_dropped_mid_write_closes_its_connection() {
    let (addr, go, server) = start_server(First::ReadsNothing);
    let options = Options {
        io_timeout: Duration::from_secs(10),
        max_value_length: 2 * BIG,
        ..Options::default()
    };
    let mc = Client::with_options([addr.as_str()], options);
    let big = vec![b'x'; BIG];
    let gave_up =
        tokio::time::timeout(Duration::from_millis(300), mc.set("big", &big[..], 0)).await;
    assert!(
        gave_up.is_err(),
        "the set cannot finish while the server reads nothing: {gave_up:?}"
    );
    go.send(()).expect("server waits");
    // The next call goes out on a new connection at once: not behind half a request, nor
    // waiting for a writer that will never finish.
    let next = tokio::time::timeout(Duration::from_secs(5), mc.get::<String>("k")).await;
    assert!(matches!(next, Ok(Ok(None))), "{next:?}");
    let first = server.join().expect("server thread");
    assert!(
        matches!(first, Ok(n) if n < BIG),
        "the first connection ends after part of the request, not at a read timeout: {first:?}"
    );
}

#[tokio::test]
async fn a_call_dropped_before_its_answer_closes_its_connection() {
    let (addr, go, server) = start_server(First::ReadsTheRequest);
    let options = Options {
        io_timeout: Duration::from_secs(10),
        ..Options::default()
    };
    let mc = Client::with_options([addr.as_str()], options);
    let gave_up = tokio::time::timeout(Duration::from_millis(300), mc.get::<String>("k")).await;
    assert!(gave_up.is_err(), "never answered: {gave_up:?}");
    go.send(()).expect("server waits");
    // An answer to the first get arriving now must not be taken for the next call's: the
    // next call goes out on a new connection at once.
    let next = tokio::time::timeout(Duration::from_secs(5), mc.get::<String>("k")).await;
    assert!(matches!(next, Ok(Ok(None))), "{next:?}");
    let first = server.join().expect("server thread");
    assert_eq!(
        first,
        Ok(0),
        "the first connection ends, not at a read timeout"
    );
}
