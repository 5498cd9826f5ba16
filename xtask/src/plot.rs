//! `cargo xtask bench --plot`: SVG bar charts for docs/benchmarks.md from the JSON results the
//! benchmarks leave in target/bench.

use serde_json::Value;

use crate::{workspace_root, Result};

/// One group of bars: a label and one value per series.
struct Group {
    label: String,
    values: Vec<f64>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A grouped, horizontal bar chart (long workload names read better on the left).
fn bar_chart(title: &str, unit: &str, series: &[&str], groups: &[Group]) -> String {
    const COLORS: [&str; 4] = ["#9aa5b1", "#d9480f", "#1971c2", "#2f9e44"];
    let (left, right, bar, gap) = (300.0, 120.0, 16.0, 14.0);
    // The legend: one line per series under the title.
    let top = 48.0 + 16.0 * series.len() as f64;
    let width = 900.0;
    let group_height = bar * series.len() as f64 + gap;
    let height = top + group_height * groups.len() as f64 + 40.0;
    let max = groups
        .iter()
        .flat_map(|g| g.values.iter().copied())
        .filter(|v| !v.is_nan())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let scale = (width - left - right) / max;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"20\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>\n",
        escape(title)
    );
    for (i, name) in series.iter().enumerate() {
        let y = 34.0 + 16.0 * i as f64;
        svg.push_str(&format!(
            "<rect x=\"{left}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
            COLORS[i % COLORS.len()],
            left + 16.0,
            y + 10.0,
            escape(name)
        ));
    }
    for (g, group) in groups.iter().enumerate() {
        let y0 = top + g as f64 * group_height;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            left - 8.0,
            y0 + bar * series.len() as f64 / 2.0 + 4.0,
            escape(&group.label)
        ));
        for (i, value) in group.values.iter().enumerate() {
            let y = y0 + i as f64 * bar;
            if value.is_nan() {
                // A contender that cannot run this workload.
                svg.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{}\">n/a</text>\n",
                    left + 4.0,
                    y + bar - 5.0
                ));
                continue;
            }
            let w = value * scale;
            svg.push_str(&format!(
                "<rect x=\"{left}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\">{} {}</text>\n",
                bar - 2.0,
                COLORS[i % COLORS.len()],
                left + w + 4.0,
                y + bar - 5.0,
                format_number(*value),
                escape(unit)
            ));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_number(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.2}M", v / 1_000_000.0)
    } else if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

fn read(name: &str) -> Result<Value> {
    let path = crate::results_dir()?.join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (run the benchmark first)", path.display()))?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The median of a `{min, median, max}` object.
fn median(v: &Value) -> f64 {
    v["median"].as_f64().unwrap_or(0.0)
}

fn write(dir: &std::path::Path, name: &str, svg: String, written: &mut Vec<String>) -> Result {
    std::fs::write(dir.join(name), svg).map_err(|e| e.to_string())?;
    written.push(name.to_string());
    Ok(())
}

fn server_charts(server: &Value, dir: &std::path::Path, written: &mut Vec<String>) -> Result {
    let date = server["date"].as_str().unwrap_or("");
    let rows = server["throughput"].as_array().cloned().unwrap_or_default();
    for (generator, file) in [
        ("mc-bench", "server-throughput.svg"),
        ("memcaslap", "server-memcaslap.svg"),
    ] {
        let groups: Vec<Group> = rows
            .iter()
            .filter(|r| r["generator"] == generator)
            .map(|r| Group {
                label: format!(
                    "{} (-t {})",
                    r["workload"].as_str().unwrap_or(""),
                    r["threads"]
                ),
                values: vec![
                    median(&r["memcached"]["ops_per_sec"]),
                    median(&r["mc_server"]["ops_per_sec"]),
                ],
            })
            .collect();
        let title = format!("Throughput with {generator}, median ops/s (higher is better), {date}");
        write(
            dir,
            file,
            bar_chart(&title, "ops/s", &["memcached", "mc-server"], &groups),
            written,
        )?;
    }
    let groups: Vec<Group> = rows
        .iter()
        .filter(|r| r["generator"] == "mc-bench")
        .map(|r| Group {
            label: format!(
                "{} (-t {})",
                r["workload"].as_str().unwrap_or(""),
                r["threads"]
            ),
            values: vec![
                median(&r["memcached"]["p99_us"]),
                median(&r["mc_server"]["p99_us"]),
            ],
        })
        .collect();
    let title = format!("p99 latency with mc-bench, median (lower is better), {date}");
    write(
        dir,
        "server-p99.svg",
        bar_chart(&title, "µs", &["memcached", "mc-server"], &groups),
        written,
    )?;
    let memory = server["memory"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = memory
        .iter()
        .map(|m| m["server"].as_str().unwrap_or("").to_string())
        .collect();
    let sizes = memory
        .first()
        .and_then(|m| m["items_before_eviction"].as_array().cloned())
        .unwrap_or_default();
    let groups: Vec<Group> = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| Group {
            label: format!("{} B values", size["value_size"]),
            values: memory
                .iter()
                .map(|m| {
                    m["items_before_eviction"][i]["per_mib"]
                        .as_f64()
                        .unwrap_or(0.0)
                })
                .collect(),
        })
        .collect();
    let series: Vec<&str> = names.iter().map(String::as_str).collect();
    let title = format!("Items per MiB of -m before the first eviction (16-byte keys), {date}");
    write(
        dir,
        "server-memory.svg",
        bar_chart(&title, "items", &series, &groups),
        written,
    )
}

fn client_chart(client: &Value, dir: &std::path::Path, written: &mut Vec<String>) -> Result {
    let workloads = client["workloads"].as_array().cloned().unwrap_or_default();
    let series: Vec<String> = workloads
        .first()
        .and_then(|w| w["clients"].as_array())
        .map(|c| {
            c.iter()
                .map(|c| c["client"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    let groups: Vec<Group> = workloads
        .iter()
        .map(|w| Group {
            label: w["workload"].as_str().unwrap_or("").to_string(),
            values: w["clients"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|c| {
                            if c["supported"] == true {
                                median(&c["ops_per_sec"])
                            } else {
                                f64::NAN
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let names: Vec<&str> = series.iter().map(String::as_str).collect();
    let title = format!(
        "Client throughput, median ops/s (higher is better), {}",
        client["date"].as_str().unwrap_or("")
    );
    write(
        dir,
        "client.svg",
        bar_chart(&title, "ops/s", &names, &groups),
        written,
    )
}

fn session_chart(session: &Value, dir: &std::path::Path, written: &mut Vec<String>) -> Result {
    let groups = vec![Group {
        label: "GET / with a session".into(),
        values: vec![
            median(&session["tutorial_app"]["requests_per_sec"]),
            median(&session["session_demo"]["requests_per_sec"]),
        ],
    }];
    let title = format!(
        "Session apps on the same memcached, median requests/s, {}",
        session["date"].as_str().unwrap_or("")
    );
    let series = ["tutorial app (Tornado + python-memcached)", "session demo"];
    write(
        dir,
        "session.svg",
        bar_chart(&title, "req/s", &series, &groups),
        written,
    )
}

pub(crate) fn run() -> Result {
    let charts = workspace_root().join("docs/charts");
    std::fs::create_dir_all(&charts).map_err(|e| e.to_string())?;
    let mut written = Vec::new();
    if let Ok(server) = read("server.json") {
        server_charts(&server, &charts, &mut written)?;
    }
    if let Ok(client) = read("client.json") {
        client_chart(&client, &charts, &mut written)?;
    }
    if let Ok(session) = read("session.json") {
        session_chart(&session, &charts, &mut written)?;
    }
    if written.is_empty() {
        return Err(
            "no results in target/bench: run `cargo xtask bench server` / `client` / `session` first"
                .into(),
        );
    }
    println!("wrote {} to {}", written.join(", "), charts.display());
    Ok(())
}
