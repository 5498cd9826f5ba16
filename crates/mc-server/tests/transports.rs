//! The other ways in: UDP (`-U`) and TLS (`-Z`) side by side with memcached, and SASL PLAIN
//! (`-S`) over the binary protocol.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use mc_proto::binary::{BinaryCommand, BinaryResponse, Status};
use mc_testkit::{missing_peer, read_some, retrying, running_as_root, which};
use tokio_rustls::rustls;

const BIN: &str = env!("CARGO_BIN_EXE_mc-server");

/// A server process and the ports it reported.
struct Launched {
    child: Child,
    lines: Vec<String>,
}

impl Launched {
    /// Start `program` on loopback with `args`, waiting for its port file.
    fn start(program: &str, args: &[&str], env: &[(&str, &str)]) -> Option<Launched> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port_file =
            std::env::temp_dir().join(format!("mc-transports-{}-{n}.port", std::process::id()));
        let _ = std::fs::remove_file(&port_file);
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("MEMCACHED_PORT_FILENAME", &port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        if running_as_root() {
            cmd.args(["-u", "memcache"]);
        }
        let mut child = cmd.spawn().expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                if !text.is_empty() {
                    let _ = std::fs::remove_file(&port_file);
                    return Some(Launched {
                        child,
                        lines: text.lines().map(str::to_string).collect(),
                    });
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{program} {args:?} exited: {status}");
            }
            assert!(Instant::now() < deadline, "{program} wrote no port file");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The ports of `kind` (`TCP INET` or `UDP INET`), in order.
    fn ports(&self, kind: &str) -> Vec<u16> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{kind}: ")))
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn memcached_installed() -> bool {
    if which("memcached").is_none() {
        missing_peer("memcached is not installed (apt-get install memcached)");
        return false;
    }
    true
}

/// Send one UDP request (`request_id` 7, one datagram) and gather the answer's datagrams.
fn udp_ask(port: u16, request: &[u8]) -> (Vec<u8>, usize) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut datagram = vec![0, 7, 0, 0, 0, 1, 0, 0];
    datagram.extend_from_slice(request);
    socket
        .send_to(&datagram, ("127.0.0.1", port))
        .expect("send");
    let mut parts: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut total = None;
    let mut buf = [0u8; 2048];
    while total.map_or(true, |t| parts.len() < t) {
        let Ok(n) = retrying(|| socket.recv(&mut buf)) else {
            break;
        };
        assert!(n <= 1400, "datagram of {n} bytes");
        assert_eq!(&buf[..2], &[0, 7], "request id echoed");
        let sequence = u16::from_be_bytes([buf[2], buf[3]]);
        total = Some(usize::from(u16::from_be_bytes([buf[4], buf[5]])));
        parts.push((sequence, buf[8..n].to_vec()));
    }
    parts.sort();
    let count = parts.len();
    (parts.into_iter().flat_map(|(_, d)| d).collect(), count)
}

#[test]
fn udp_answers_like_memcached() {
    if !memcached_installed() {
        return;
    }
    let args = ["-l", "127.0.0.1", "-p", "-1", "-U", "-1"];
    let theirs = Launched::start("memcached", &args, &[]).expect("memcached");
    let ours = Launched::start(BIN, &args, &[]).expect("mc-server");
    let big = "b".repeat(5000);
    let script: Vec<Vec<u8>> = vec![
        b"set k 0 0 5\r\nhello\r\n".to_vec(),
        b"get k\r\n".to_vec(),
        b"get nothing\r\n".to_vec(),
        format!("set big 0 0 {}\r\n{big}\r\n", big.len()).into_bytes(),
        b"get big\r\n".to_vec(),
        b"incr k 1\r\n".to_vec(),
        b"bogus\r\n".to_vec(),
        b"version\r\n".to_vec(),
    ];
    for request in &script {
        let (a, a_count) = udp_ask(theirs.ports("UDP INET")[0], request);
        let (b, b_count) = udp_ask(ours.ports("UDP INET")[0], request);
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{}",
            String::from_utf8_lossy(request)
        );
        assert_eq!(a_count, b_count);
    }
    // A request announced as several datagrams is dropped by both.
    for port in [theirs.ports("UDP INET")[0], ours.ports("UDP INET")[0]] {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let mut datagram = vec![0, 1, 0, 0, 0, 2, 0, 0];
        datagram.extend_from_slice(b"version\r\n");
        socket
            .send_to(&datagram, ("127.0.0.1", port))
            .expect("send");
        let mut buf = [0u8; 64];
        assert!(socket.recv(&mut buf).is_err(), "no answer from {port}");
    }
}

/// Certificates for a test: a CA, a server certificate for 127.0.0.1 and a client one.
struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("mc-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "mc test CA");
        let ca = params.self_signed(&ca_key).expect("ca");
        std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
        let pki = Pki { dir, ca, ca_key };
        pki.issue("server", &["127.0.0.1", "localhost"]);
        pki.issue("client", &["client"]);
        pki
    }

    /// Write `<name>.pem` and `<name>.key`, signed by the CA.
    fn issue(&self, name: &str, names: &[&str]) -> rcgen::Certificate {
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .expect("sign");
        self.write(name, &cert.pem(), &key.serialize_pem());
        cert
    }

    fn write(&self, name: &str, cert: &str, key: &str) {
        use std::os::unix::fs::PermissionsExt;
        for (file, text) in [(format!("{name}.pem"), cert), (format!("{name}.key"), key)] {
            let path = self.dir.join(file);
            std::fs::write(&path, text).expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    fn client_config(
        &self,
        with_cert: bool,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<rustls::ClientConfig> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(self.dir.join("ca.pem")).expect("ca"))
            .expect("root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots);
        let config = if with_cert {
            let chain =
                vec![CertificateDer::from_pem_file(self.dir.join("client.pem")).expect("cert")];
            let key = PrivateKeyDer::from_pem_file(self.dir.join("client.key")).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client cert")
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(config)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Over TLS: send `request`, read until the answer ends with `end`. `Err` when the handshake
/// or the exchange fails.
fn tls_ask(
    port: u16,
    config: Arc<rustls::ClientConfig>,
    request: &[u8],
    end: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(request).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.ends_with(end) {
        let n = read_some(&mut tls, &mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed".into());
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let cert = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    Ok((answer, cert))
}

fn plain_ask(port: u16, request: &[u8], end: &[u8]) -> Vec<u8> {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    sock.write_all(request).expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.ends_with(end) {
        let n = read_some(&mut sock, &mut buf).expect("read");
        assert!(n > 0, "closed");
        answer.extend_from_slice(&buf[..n]);
    }
    answer
}

const ALL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS12, &rustls::version::TLS13];

#[test]
fn tls_serves_the_same_answers_as_memcached_with_the_same_files() {
    if !memcached_installed() {
        return;
    }
    let pki = Pki::new("same");
    let (chain, key) = (pki.path("server.pem"), pki.path("server.key"));
    let ssl = format!("ssl_chain_cert={chain},ssl_key={key}");
    let args = ["-Z", "-o", &ssl, "-l", "127.0.0.1", "-p", "-1", "-U", "0"];
    let theirs = Launched::start("memcached", &args, &[]).expect("memcached");
    let ours = Launched::start(BIN, &args, &[]).expect("mc-server");
    let request = b"set k 0 0 2\r\nhi\r\nget k\r\nversion\r\n";
    let a = tls_ask(
        theirs.ports("TCP INET")[0],
        pki.client_config(false, ALL_VERSIONS),
        request,
        b"VERSION 1.6.18\r\n",
    );
    let b = tls_ask(
        ours.ports("TCP INET")[0],
        pki.client_config(false, ALL_VERSIONS),
        request,
        b"VERSION 1.6.18\r\n",
    );
    let theirs_answer = a.expect("memcached over TLS").0;
    assert_eq!(theirs_answer, b.expect("mc-server over TLS").0);
    // With `-o io_uring`, TLS connections stay on the default path, on the same workers.
    if mc_testkit::io_paths(mc_server::io_uring_available()).contains(&true) {
        let with_uring = format!("{ssl},io_uring");
        let args = [
            "-Z",
            "-o",
            &with_uring,
            "-l",
            "127.0.0.1",
            "-p",
            "-1",
            "-U",
            "0",
        ];
        let ours = Launched::start(BIN, &args, &[]).expect("mc-server -o io_uring");
        let c = tls_ask(
            ours.ports("TCP INET")[0],
            pki.client_config(false, ALL_VERSIONS),
            request,
            b"VERSION 1.6.18\r\n",
        );
        assert_eq!(theirs_answer, c.expect("mc-server -o io_uring over TLS").0);
    }
}

#[test]
fn tls_listeners_client_certificates_versions_and_refresh() {
    let pki = Pki::new("ours");
    let (chain, key, ca) = (
        pki.path("server.pem"),
        pki.path("server.key"),
        pki.path("ca.pem"),
    );
    let ssl = format!(
        "ssl_chain_cert={chain},ssl_key={key},ssl_ca_cert={ca},ssl_verify_mode=2,ssl_min_version=3"
    );
    let ours = Launched::start(
        BIN,
        &[
            "-Z",
            "-o",
            &ssl,
            "-l",
            "127.0.0.1",
            "-l",
            "notls:127.0.0.1:0",
            "-p",
            "-1",
            "-U",
            "0",
        ],
        &[],
    )
    .expect("mc-server");
    let ports = ours.ports("TCP INET");
    assert_eq!(ports.len(), 2, "{:?}", ours.lines);
    let (tls_port, plain_port) = (ports[0], ports[1]);
    let with_cert = || pki.client_config(true, ALL_VERSIONS);
    // A client certificate from the CA is required.
    let (answer, first_cert) =
        tls_ask(tls_port, with_cert(), b"version\r\n", b"\r\n").expect("with a certificate");
    assert_eq!(answer, b"VERSION 1.6.18\r\n");
    assert!(tls_ask(
        tls_port,
        pki.client_config(false, ALL_VERSIONS),
        b"version\r\n",
        b"\r\n"
    )
    .is_err());
    // TLS 1.2 is below ssl_min_version=3.
    assert!(tls_ask(
        tls_port,
        pki.client_config(true, &[&rustls::version::TLS12]),
        b"version\r\n",
        b"\r\n"
    )
    .is_err());
    // Plain text on the TLS port is a failed handshake; the notls listener serves it.
    let mut sock = TcpStream::connect(("127.0.0.1", tls_port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    sock.write_all(b"version\r\n").expect("write");
    let mut buf = [0u8; 64];
    let n = read_some(&mut sock, &mut buf).unwrap_or(0);
    assert!(!buf[..n].starts_with(b"VERSION"));
    assert_eq!(
        plain_ask(plain_port, b"version\r\n", b"\r\n"),
        b"VERSION 1.6.18\r\n"
    );
    let stats = String::from_utf8(plain_ask(plain_port, b"stats\r\n", b"END\r\n")).expect("text");
    let errors: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("STAT ssl_handshake_errors "))
        .and_then(|v| v.parse().ok())
        .expect("ssl_handshake_errors");
    assert!(errors >= 3, "{stats}");
    let settings =
        String::from_utf8(plain_ask(plain_port, b"stats settings\r\n", b"END\r\n")).expect("text");
    assert!(settings.contains("STAT ssl_enabled yes"));
    assert!(settings.contains("STAT ssl_min_version tlsv1.3"));
    // refresh_certs picks up a new certificate; a broken file leaves the old one in force.
    pki.issue("server", &["127.0.0.1"]);
    assert_eq!(
        plain_ask(plain_port, b"refresh_certs\r\n", b"\r\n"),
        b"OK\r\n"
    );
    let (_, second_cert) =
        tls_ask(tls_port, with_cert(), b"version\r\n", b"\r\n").expect("after refresh");
    assert_ne!(first_cert, second_cert, "the new certificate is served");
    std::fs::write(pki.dir.join("server.pem"), "not a certificate").expect("break");
    let refused = plain_ask(plain_port, b"refresh_certs\r\n", b"\r\n");
    assert!(
        refused.starts_with(b"Error loading the certificate chain"),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    assert!(tls_ask(tls_port, with_cert(), b"version\r\n", b"\r\n").is_ok());
}

#[test]
fn tls_without_usable_files_refuses_to_start() {
    let output = Command::new(BIN)
        .args([
            "-Z",
            "-o",
            "ssl_chain_cert=/nonexistent.pem,ssl_key=/nonexistent.key",
            "-p",
            "-1",
            "-U",
            "0",
        ])
        .args(if running_as_root() {
            &["-u", "memcache"][..]
        } else {
            &[][..]
        })
        .output()
        .expect("run");
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("Error loading the certificate chain: /nonexistent.pem"),
        "{err}"
    );
}

/// One binary request on `conn`; the response (or `None` when the server closed).
fn binary_ask(conn: &mut TcpStream, command: BinaryCommand) -> Option<BinaryResponse> {
    let mut wire = BytesMut::new();
    command.encode(1, &mut wire);
    conn.write_all(&wire).ok()?;
    let mut pending = BytesMut::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(response) = BinaryResponse::decode(&mut pending) {
            return Some(response);
        }
        let n = read_some(conn, &mut buf).ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

fn sasl(user: &str, password: &str) -> BinaryCommand {
    BinaryCommand::SaslAuth {
        mechanism: Bytes::from_static(b"PLAIN"),
        data: Bytes::from(format!("\0{user}\0{password}")),
    }
}

#[test]
fn sasl_plain_guards_the_binary_protocol() {
    let dir = std::env::temp_dir().join(format!("mc-sasl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pwdb = dir.join("pwdb");
    std::fs::write(&pwdb, "alice:secret\n").expect("pwdb");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&pwdb, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let pwdb_text = pwdb.display().to_string();
    let ours = Launched::start(
        BIN,
        &["-S", "-l", "127.0.0.1", "-p", "-1", "-U", "0"],
        &[("MEMCACHED_SASL_PWDB", &pwdb_text)],
    )
    .expect("mc-server");
    let addr = SocketAddr::from(([127, 0, 0, 1], ours.ports("TCP INET")[0]));
    let get = || BinaryCommand::Get {
        key: Bytes::from_static(b"k"),
        quiet: false,
        with_key: false,
    };
    let status = |r: &BinaryResponse| Status::from_u16(r.header.status);
    // Before authenticating: mechanisms and version answer; anything else is refused and
    // the connection closed, as memcached does.
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mechs = binary_ask(&mut conn, BinaryCommand::SaslListMechs).expect("mechs");
    assert_eq!(&mechs.value[..], b"PLAIN");
    let version = binary_ask(&mut conn, BinaryCommand::Version).expect("version");
    assert_eq!(&version.value[..], b"1.6.18");
    let wrong = binary_ask(&mut conn, sasl("alice", "wrong")).expect("answer");
    assert_eq!(status(&wrong), Some(Status::AuthError));
    assert_eq!(&wrong.value[..], b"Auth failure.");
    let refused = binary_ask(&mut conn, get()).expect("answer");
    assert_eq!(status(&refused), Some(Status::AuthError));
    assert!(
        binary_ask(&mut conn, BinaryCommand::Version).is_none(),
        "closed"
    );
    // The text protocol is not served at all with SASL.
    let mut text = TcpStream::connect(addr).expect("connect");
    text.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    text.write_all(b"get k\r\nget k\r\nget k\r\n")
        .expect("write");
    let mut buf = [0u8; 64];
    assert!(matches!(read_some(&mut text, &mut buf), Ok(0) | Err(_)));
    // With the password: authenticated, and served.
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let ok = binary_ask(&mut conn, sasl("alice", "secret")).expect("answer");
    assert_eq!(status(&ok), Some(Status::Success));
    assert_eq!(&ok.value[..], b"Authenticated");
    let miss = binary_ask(&mut conn, get()).expect("answer");
    assert_eq!(status(&miss), Some(Status::KeyNotFound));
    let stats = binary_ask(
        &mut conn,
        BinaryCommand::Stat {
            group: Bytes::new(),
        },
    )
    .expect("stat");
    assert_eq!(status(&stats), Some(Status::Success));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = Path::new(&pwdb_text);
}
