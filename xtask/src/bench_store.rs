//! `cargo xtask bench store`: how the store scales from one thread to two, in process (no
//! network), for the server's design (shards, shared reads) and the one before it (one lock,
//! every operation exclusive); `gets-only` leaves the sets out and `sets-only` the gets. Runs
//! mc-server's `store_scaling` bench, prints ops/s as median [min–max] over rounds and the
//! two-thread / one-thread ratio per round, and the per-operation times the scaling model in
//! docs/architecture.md is built from.

use serde_json::{json, Value};

use crate::spread::Spread;
use crate::task_args::TaskArgs;
use crate::Result;

pub(crate) fn run(args: &[String]) -> Result {
    let options = TaskArgs::defaults(5, 2.0).parse(args, &["--rounds", "--seconds"], true)?;
    // `gets-only` / `sets-only`: the same run with one kind of operation, to see what each
    // costs the scaling. The bench's `--set-every N` makes one operation in N a set.
    let (set_every, name) = match options.rest.as_slice() {
        [] => (None, "store.json"),
        [word] if word == "gets-only" => (Some("0"), "store-gets-only.json"),
        [word] if word == "sets-only" => (Some("1"), "store-sets-only.json"),
        other => {
            return Err(format!(
                "unknown arguments {other:?}; this task takes gets-only or sets-only"
            ))
        }
    };
    let mut bench = crate::cargo();
    bench
        .args([
            "bench",
            "-q",
            "-p",
            "mc-server",
            "--bench",
            "store_scaling",
            "--",
        ])
        .arg("--seconds")
        .arg(options.seconds.to_string())
        .arg("--rounds")
        .arg(options.rounds.to_string());
    if let Some(every) = set_every {
        bench.args(["--set-every", every]);
    }
    let output = bench.output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "store_scaling failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or("store_scaling printed no result")?;
    let doc: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let numbers = |v: &Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    println!(
        "store, in process: {} keys, {}-byte values, 1 set in {} (0: none); {} rounds of {} s, median [min–max]",
        doc["keys"], doc["value_bytes"], doc["set_every"], options.rounds, options.seconds
    );
    println!(
        "{:<22} {:>6} {:>30} {:>30} {:>20} {:>8} {:>10}",
        "design",
        "shards",
        "1 thread Mops/s",
        "2 threads Mops/s",
        "2/1 ratio",
        "ns/op",
        "ns locked"
    );
    let mut designs = Vec::new();
    for design in doc["runs"].as_array().cloned().unwrap_or_default() {
        let one = numbers(&design["one_thread"]);
        let two = numbers(&design["two_threads"]);
        let ratio = Spread::of(one.iter().zip(&two).map(|(a, b)| b / a));
        let mops = |v: &[f64]| Spread::of(v.iter().map(|x| x / 1e6));
        println!(
            "{:<22} {:>6} {:>30} {:>30} {:>20} {:>8.1} {:>10.1}",
            design["design"].as_str().unwrap_or(""),
            design["shards"],
            mops(&one).show(2),
            mops(&two).show(2),
            ratio.show(2),
            design["ns_per_op"].as_f64().unwrap_or(0.0),
            design["ns_locked_per_op"].as_f64().unwrap_or(0.0),
        );
        designs.push(json!({
            "design": design["design"],
            "shards": design["shards"],
            "one_thread_ops": mops(&one).to_json(),
            "two_threads_ops": mops(&two).to_json(),
            "ratio_two_over_one": ratio.to_json(),
            "ns_per_op": design["ns_per_op"],
            "ns_locked_per_op": design["ns_locked_per_op"],
        }));
    }
    let result = json!({
        "date": crate::today(),
        "rounds": options.rounds,
        "seconds": options.seconds,
        "unit": "million operations per second",
        "designs": designs,
    });
    crate::write_results(name, &result)
}
