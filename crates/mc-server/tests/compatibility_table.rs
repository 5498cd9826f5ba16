//! The compatibility table (docs/compatibility.md, from `mc_server::compatibility`) against
//! the real memcached: nothing of its `-h`, `stats` or `stats settings` is missing, the file is
//! up to date, and every command line in the table starts (or is refused) as it says, on both
//! servers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mc_server::cli;
use mc_server::compatibility::{markdown, Kind, Support, ROWS, SETTINGS, STATS};
use mc_testkit::{exchange, missing_peer, running_as_root, which, Memcached, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_mc-server");

fn docs_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compatibility.md")
}

#[test]
fn the_docs_table_is_generated_from_the_code() {
    let generated = markdown();
    if std::env::var_os("MC_BLESS").is_some() {
        std::fs::write(docs_path(), &generated).expect("write docs/compatibility.md");
    }
    let committed = std::fs::read_to_string(docs_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/compatibility.md is out of date: run `cargo xtask compat`"
    );
}

#[test]
fn the_table_covers_our_own_parser() {
    let flags: BTreeSet<String> = ROWS
        .iter()
        .filter(|r| r.kind == Kind::Flag)
        .map(|r| r.name.to_string())
        .collect();
    for letter in cli::short_options() {
        assert!(
            flags.contains(&format!("-{letter}")),
            "-{letter} has no row"
        );
    }
    let subs: BTreeSet<&str> = ROWS
        .iter()
        .filter(|r| r.kind == Kind::Suboption)
        .map(|r| r.name)
        .collect();
    for name in cli::SUBOPTIONS {
        assert!(subs.contains(name), "-o {name} has no row");
    }
}

#[test]
fn every_flag_and_suboption_memcached_lists_is_in_the_table() {
    if which("memcached").is_none() {
        missing_peer("memcached is not installed (apt-get install memcached)");
        return;
    }
    let output = Command::new("memcached")
        .arg("-h")
        .output()
        .expect("memcached -h");
    let help = String::from_utf8_lossy(&output.stdout);
    let mut flags = 0;
    let mut subs = 0;
    for line in help.lines() {
        if let Some(rest) = line.strip_prefix('-') {
            let letter: String = rest.chars().take(1).collect();
            if letter.chars().all(|c| c.is_ascii_alphabetic()) && !letter.is_empty() {
                flags += 1;
                let flag = format!("-{letter}");
                assert!(
                    ROWS.iter().any(|r| r.kind == Kind::Flag && r.name == flag),
                    "{flag} (memcached -h) has no row"
                );
            }
        }
        if let Some(rest) = line.trim_start().strip_prefix("- ") {
            if let Some((name, _)) = rest.split_once(':') {
                if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.is_empty() {
                    subs += 1;
                    assert!(
                        ROWS.iter()
                            .any(|r| r.kind == Kind::Suboption && r.name == name),
                        "-o {name} (memcached -h) has no row"
                    );
                }
            }
        }
    }
    // memcached 1.6.18 lists 37 flags (-v and -vv as one) and 51 suboptions in -h.
    assert!(flags >= 37, "parsed only {flags} flags from memcached -h");
    assert!(
        subs >= 40,
        "parsed only {subs} suboptions from memcached -h"
    );
}

fn field_names(answer: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(answer)
        .lines()
        .filter_map(|l| l.strip_prefix("STAT "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_stats_field_of_both_servers_is_in_the_table() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let ours = ServerProcess::spawn(Path::new(BIN), "-1", &[]).expect("mc-server");
    for (family, table) in [("stats", STATS), ("stats settings", SETTINGS)] {
        for server in [&memcached, &ours] {
            let (answer, _) = exchange(server.addr, format!("{family}\r\n").as_bytes());
            let names = field_names(&answer);
            assert!(names.len() > 50, "{family}: {names:?}");
            for name in names {
                assert!(
                    table.iter().any(|(n, _)| *n == name),
                    "{family} field {name} has no row"
                );
            }
        }
    }
}

/// Files the table's examples refer to.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mc-compat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("cert");
        let files = [
            ("cert.pem", cert.pem()),
            ("key.pem", key.serialize_pem()),
            ("auth", "alice:secret\n".to_string()),
            ("pwdb", "alice:secret\n".to_string()),
            ("sasl/memcached.conf", "mech_list: plain\n".to_string()),
        ];
        std::fs::create_dir_all(dir.join("sasl")).expect("sasl dir");
        std::fs::set_permissions(dir.join("sasl"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        Scratch { dir }
    }

    fn fill(&self, example: &str, who: &str) -> Vec<String> {
        let dir = self.dir.join(who);
        let _ = std::fs::create_dir_all(&dir);
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777));
        let text = example
            .replace("{dir}", &dir.display().to_string())
            .replace("{cert}", &self.dir.join("cert.pem").display().to_string())
            .replace("{key}", &self.dir.join("key.pem").display().to_string())
            .replace("{ca}", &self.dir.join("cert.pem").display().to_string())
            .replace("{pid}", &format!("{}-{who}", std::process::id()));
        let auth = self.dir.join("auth").display().to_string();
        text.split(' ')
            .map(|w| w.replace(&format!("{}/auth", dir.display()), &auth))
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        // memcached creates the -e and ext_path files it is given.
        let pid = std::process::id().to_string();
        if let Ok(entries) = std::fs::read_dir("/dev/shm") {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("mc-") && name.contains(&pid) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// A server started for one row.
struct Trial {
    row: usize,
    who: &'static str,
    child: Child,
    pid_file: Option<PathBuf>,
}

fn start(program: &str, words: &[String], scratch: &Scratch) -> Child {
    let mut cmd = Command::new(program);
    cmd.args(["-l", "127.0.0.1", "-p", "-1", "-U", "0", "-m", "16"])
        .args(words)
        .env("MEMCACHED_SASL_PWDB", scratch.dir.join("pwdb"))
        .env("SASL_CONF_PATH", scratch.dir.join("sasl"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if running_as_root() {
        cmd.args(["-u", "memcache"]);
    }
    cmd.spawn().expect("spawn")
}

#[test]
fn every_command_line_of_the_table_starts_or_is_refused_as_it_says() {
    if which("memcached").is_none() {
        missing_peer("memcached is not installed (apt-get install memcached)");
        return;
    }
    let scratch = Scratch::new();
    // Everything is started at once and looked at after a while: the examples are
    // independent, and one by one they would take minutes.
    let mut trials = Vec::new();
    for (i, row) in ROWS.iter().enumerate() {
        if !matches!(row.kind, Kind::Flag | Kind::Suboption) || row.example.is_empty() {
            continue;
        }
        for (who, program) in [("memcached", "memcached"), ("mc-server", BIN)] {
            let words = scratch.fill(row.example, who);
            let pid_file = words
                .iter()
                .position(|w| w == "-P")
                .and_then(|at| words.get(at + 1))
                .map(PathBuf::from);
            trials.push(Trial {
                row: i,
                who,
                child: start(program, &words, &scratch),
                pid_file,
            });
        }
    }
    let deadline = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut outcomes = std::collections::HashMap::new();
    for mut trial in trials {
        let outcome = match trial.child.try_wait().expect("wait") {
            None => {
                let _ = trial.child.kill();
                let _ = trial.child.wait();
                Ok(())
            }
            Some(status) => {
                let mut err = String::new();
                if let Some(mut stderr) = trial.child.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.read_to_string(&mut err);
                }
                if status.success() {
                    // Printed and left (-h, -V, -i), or went to the background (-d).
                    if let Some(pid) = trial
                        .pid_file
                        .as_ref()
                        .and_then(|p| std::fs::read_to_string(p).ok())
                        .and_then(|t| t.trim().parse::<i32>().ok())
                    {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGTERM,
                        );
                    }
                    Ok(())
                } else {
                    Err((status.code(), err.lines().next().unwrap_or("").to_string()))
                }
            }
        };
        outcomes.insert((trial.row, trial.who), outcome);
    }
    let mut failures = Vec::new();
    for (i, row) in ROWS.iter().enumerate() {
        let (Some(theirs), Some(ours)) = (
            outcomes.get(&(i, "memcached")),
            outcomes.get(&(i, "mc-server")),
        ) else {
            continue;
        };
        let fine = match row.support {
            Support::Refused => ours.is_err(),
            Support::Implemented | Support::Accepted | Support::Differs => match (theirs, ours) {
                (Ok(()), Ok(())) => true,
                (Err(a), Err(b)) => a == b,
                _ => false,
            },
        };
        if !fine {
            failures.push(format!(
                "{} ({}): memcached {theirs:?}, mc-server {ours:?}",
                row.name, row.example
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
