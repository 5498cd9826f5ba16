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
    const COLORS: [&str; 3] = ["#9aa5b1", "#d9480f", "#1971c2"];
    let (left, right, top, bar, gap) = (300.0, 120.0, 60.0, 16.0, 14.0);
    let width = 900.0;
    let group_height = bar * series.len() as f64 + gap;
    let height = top + group_height * groups.len() as f64 + 40.0;
    let max = groups
        .iter()
        .flat_map(|g| g.values.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let scale = (width - left - right) / max;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>\n",
        escape(title)
    );
    for (i, name) in series.iter().enumerate() {
        let x = left + i as f64 * 160.0;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"36\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"46\">{}</text>\n",
            COLORS[i % COLORS.len()],
            x + 16.0,
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
    let path = workspace_root().join("target/bench").join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (run the benchmark first)", path.display()))?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

pub(crate) fn run() -> Result {
    let charts = workspace_root().join("docs/charts");
    std::fs::create_dir_all(&charts).map_err(|e| e.to_string())?;
    let mut written = Vec::new();
    if let Ok(server) = read("server.json") {
        let rows = server["throughput"].as_array().cloned().unwrap_or_default();
        let label = |r: &Value| {
            format!(
                "{} (-t {})",
                r["workload"].as_str().unwrap_or(""),
                r["threads"]
            )
        };
        let groups: Vec<Group> = rows
            .iter()
            .map(|r| Group {
                label: label(r),
                values: vec![
                    r["memcached"]["ops_per_sec"].as_f64().unwrap_or(0.0),
                    r["mc_server"]["ops_per_sec"].as_f64().unwrap_or(0.0),
                ],
            })
            .collect();
        let svg = bar_chart(
            "Throughput: mc-server vs memcached 1.6.18 (higher is better)",
            "ops/s",
            &["memcached", "mc-server"],
            &groups,
        );
        std::fs::write(charts.join("server-throughput.svg"), svg).map_err(|e| e.to_string())?;
        let groups: Vec<Group> = rows
            .iter()
            .map(|r| Group {
                label: label(r),
                values: vec![
                    r["memcached"]["p99_us"].as_f64().unwrap_or(0.0),
                    r["mc_server"]["p99_us"].as_f64().unwrap_or(0.0),
                ],
            })
            .collect();
        let svg = bar_chart(
            "p99 latency: mc-server vs memcached 1.6.18 (lower is better)",
            "µs",
            &["memcached", "mc-server"],
            &groups,
        );
        std::fs::write(charts.join("server-p99.svg"), svg).map_err(|e| e.to_string())?;
        let memory: Vec<Group> = server["memory"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| Group {
                label: m["server"].as_str().unwrap_or("").to_string(),
                values: vec![m["items_before_eviction"].as_f64().unwrap_or(0.0)],
            })
            .collect();
        let svg = bar_chart(
            "Items held at -m 64 (16-byte keys, 32-byte values)",
            "items",
            &["items before the first eviction"],
            &memory,
        );
        std::fs::write(charts.join("server-memory.svg"), svg).map_err(|e| e.to_string())?;
        written.extend([
            "server-throughput.svg",
            "server-p99.svg",
            "server-memory.svg",
        ]);
    }
    if let Ok(client) = read("client.json") {
        let groups: Vec<Group> = client
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| Group {
                label: r["workload"].as_str().unwrap_or("").to_string(),
                values: vec![
                    r["memcache_crate"].as_f64().unwrap_or(0.0),
                    r["mc_client"].as_f64().unwrap_or(0.0),
                ],
            })
            .collect();
        let svg = bar_chart(
            "Client throughput: mc-client vs the memcache crate (higher is better)",
            "ops/s",
            &["memcache crate", "mc-client"],
            &groups,
        );
        std::fs::write(charts.join("client.svg"), svg).map_err(|e| e.to_string())?;
        written.push("client.svg");
    }
    if written.is_empty() {
        return Err(
            "no results in target/bench: run `cargo xtask bench server` / `bench client` first"
                .into(),
        );
    }
    println!("wrote {} to {}", written.join(", "), charts.display());
    Ok(())
}
