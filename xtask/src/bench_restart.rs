//! `cargo xtask bench restart`: the restartable cache of both servers side by side. Each is
//! started with `-e <file on /dev/shm> -m 1024`, filled with 100-byte values (16-byte keys)
//! until its first eviction, stopped with SIGUSR1 (the save), and started again with the same
//! file (the restore). Reported: items, the file's size, how long the save took (signal to
//! exit) and the restore (start to the first answer), over `--rounds N` (default 3) alternating
//! which server goes first; every item must come back: the item count must match and a sample
//! of values must read back identical, or the run fails.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use mc_testkit::ServerProcess;
use serde_json::json;

use crate::bench_memory::fill;
use crate::spread::Spread;
use crate::Result;

/// Memory for each server, MiB.
const MEGABYTES: usize = 1024;
/// Value size, bytes.
const VALUE: usize = 100;
/// Every this many keys is read back to compare.
const SAMPLE_EVERY: u64 = 997;

struct Contender {
    name: &'static str,
    program: PathBuf,
    ephemeral_port: &'static str,
}

fn start(contender: &Contender, file: &str) -> Result<ServerProcess> {
    let m = MEGABYTES.to_string();
    ServerProcess::launch_within(
        Command::new(&contender.program),
        contender.ephemeral_port,
        &["-t", "2", "-m", &m, "-e", file],
        Duration::from_secs(300),
    )
    .map_err(|e| format!("{}: {e}", contender.name))
}

fn stat(server: &ServerProcess, name: &str) -> Result<u64> {
    let stats = mc_testkit::stats(server.addr).map_err(|e| e.to_string())?;
    Ok(mc_testkit::stat_u64(&stats, name))
}

/// The answers to `get` of every sampled key.
fn sample(server: &ServerProcess, keys: u64) -> Result<Vec<Vec<u8>>> {
    (0..keys)
        .step_by(SAMPLE_EVERY as usize)
        .map(|i| {
            let (answer, _) =
                mc_testkit::exchange(server.addr, format!("get {i:016}\r\n").as_bytes());
            Ok(answer)
        })
        .collect()
}

/// Bytes of `file` and of what the server keeps beside it (memcached's `.meta`).
fn file_bytes(file: &str) -> u64 {
    [file.to_string(), format!("{file}.meta")]
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

fn remove(file: &str) {
    for f in [
        file.to_string(),
        format!("{file}.meta"),
        format!("{file}.tmp"),
    ] {
        let _ = std::fs::remove_file(f);
    }
}

/// One save and restore of one server.
struct Run {
    items: u64,
    bytes: u64,
    save: f64,
    restore: f64,
    after: u64,
}

/// Fill `contender`, stop it with SIGUSR1, start it again on the same file; fails unless
/// every item comes back.
fn measure(contender: &Contender) -> Result<Run> {
    let file = format!(
        "/dev/shm/mc-bench-restart-{}-{}",
        contender.name,
        std::process::id()
    );
    remove(&file);
    let mut server = start(contender, &file)?;
    let keys = fill(server.addr, VALUE, |i| {
        Ok(i % 50_000 == 0 && stat(&server, "evictions")? > 0)
    })?;
    let items = stat(&server, "curr_items")?;
    let before = sample(&server, keys)?;
    let began = Instant::now();
    let status = server
        .stop_with("USR1", Duration::from_secs(300))
        .map_err(|e| e.to_string())?;
    let save = began.elapsed().as_secs_f64();
    if status.is_none() {
        return Err(format!("{} did not stop on SIGUSR1", contender.name));
    }
    drop(server);
    let bytes = file_bytes(&file);
    // memcached refuses to restore within the second it stopped in (its restart checks
    // that the wall clock moved forward), so both servers restart a while later.
    std::thread::sleep(Duration::from_millis(1_500));
    let began = Instant::now();
    let server = start(contender, &file)?;
    mc_testkit::exchange(server.addr, b"version\r\n");
    let restore = began.elapsed().as_secs_f64();
    let after = stat(&server, "curr_items")?;
    let same = sample(&server, keys)? == before;
    drop(server);
    remove(&file);
    if after != items || !same {
        return Err(format!(
            "{}: {items} items before the restart, {after} after; sampled values identical: {same}",
            contender.name
        ));
    }
    Ok(Run {
        items,
        bytes,
        save,
        restore,
        after,
    })
}

pub(crate) fn run(args: &[String]) -> Result {
    let options = crate::task_args::TaskArgs::defaults(3, 0.0).parse(args, &["--rounds"], false)?;
    let mut build = crate::cargo();
    build.args(["build", "--release", "-p", "mc-server"]);
    crate::run(build)?;
    if !std::path::Path::new("/dev/shm").is_dir() {
        return Err("memcached's -e wants a file on tmpfs: /dev/shm is missing".into());
    }
    let contenders = [
        Contender {
            name: "memcached",
            program: PathBuf::from("memcached"),
            ephemeral_port: "-1",
        },
        Contender {
            name: "mc-server",
            program: crate::servers::release_binary("mc-server"),
            ephemeral_port: "-1",
        },
    ];
    println!(
        "restartable cache, {}: -m {MEGABYTES} -t 2, {VALUE}-byte values, 16-byte keys, file on /dev/shm",
        crate::today()
    );
    println!(
        "{:<10} {:>12} {:>12} {:>10} {:>10} {:>14}",
        "server", "items", "file MiB", "save s", "restore s", "items after"
    );
    let mut results = Vec::new();
    let mut runs: Vec<Vec<Run>> = contenders.iter().map(|_| Vec::new()).collect();
    for round in 0..options.rounds {
        // Alternate which server goes first.
        let order: Vec<usize> = if round % 2 == 0 {
            vec![0, 1]
        } else {
            vec![1, 0]
        };
        for i in order {
            let run = measure(&contenders[i])?;
            println!(
                "{:<10} {:>12} {:>12.1} {:>10.2} {:>10.2} {:>14}",
                contenders[i].name,
                run.items,
                run.bytes as f64 / (1 << 20) as f64,
                run.save,
                run.restore,
                run.after
            );
            runs[i].push(run);
        }
    }
    for (contender, runs) in contenders.iter().zip(&runs) {
        let save = Spread::of(runs.iter().map(|r| r.save));
        let restore = Spread::of(runs.iter().map(|r| r.restore));
        println!(
            "{:<10} save {} s, restore {} s (median [min–max])",
            contender.name,
            save.show(2),
            restore.show(2)
        );
        results.push(json!({
            "server": contender.name,
            "items": runs.first().map(|r| r.items),
            "file_bytes": runs.first().map(|r| r.bytes),
            "save_seconds": save.to_json(),
            "restore_seconds": restore.to_json(),
        }));
    }
    let doc = json!({"date": crate::today(), "rounds": options.rounds, "megabytes": MEGABYTES, "value_bytes": VALUE, "results": results});
    crate::write_results("restart.json", &doc)
}
