//! The one table `make bench` prints, and its JSON: what each measurement gives, set beside
//! hello-world's and the budgets of DESIGN.md.

use serde::Serialize;

use crate::cold::{ColdRun, Kind};
use crate::round_trips::Trips;
use crate::{HELLO, SYSTEM_ROOTS_VARIANT};
use idlink_bench::cpu::Case;

#[derive(Serialize)]
pub struct SubjectResult {
    pub name: String,
    pub kind: Kind,
    pub event: String,
    pub size_bytes: u64,
    /// The arm64 `bootstrap` that `make package` built for this function, if present.
    pub arm64_bootstrap_bytes: Option<u64>,
    pub cold_runs: Vec<ColdRun>,
    pub rss_runs: Vec<ColdRun>,
    pub failures: Vec<String>,
}

#[derive(Serialize)]
pub struct CpuResult {
    pub case: &'static str,
    pub median_us: Option<f64>,
    pub instructions: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub figure: String,
    pub subject: String,
    pub value: String,
    pub ratio: String,
    pub budget: String,
    /// None: informational (no budget applies).
    pub within: Option<bool>,
}

impl Row {
    pub fn new(figure: &str, subject: &str, value: String) -> Row {
        Row {
            figure: figure.to_owned(),
            subject: subject.to_owned(),
            value,
            ratio: String::new(),
            budget: String::new(),
            within: None,
        }
    }

    pub fn ratio(mut self, ratio: f64) -> Row {
        self.ratio = format!("{ratio:.2}×");
        self
    }

    pub fn budget(mut self, budget: &str, within: bool) -> Row {
        self.budget = budget.to_owned();
        self.within = Some(within);
        self
    }
}

pub fn print(rows: &[Row]) -> String {
    let headers = [
        "figure",
        "subject",
        "value",
        "× hello-world",
        "budget",
        "within",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                r.subject.clone(),
                r.value.clone(),
                r.ratio.clone(),
                r.budget.clone(),
                match r.within {
                    Some(true) => "yes".into(),
                    Some(false) => "NO".into(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::from("|");
        for (c, w) in cols.iter().zip(widths) {
            s.push_str(&format!(" {c}{} |", " ".repeat(w - c.chars().count())));
        }
        s.push('\n');
        s
    };
    let mut out = line(&headers.map(String::from));
    out.push('|');
    for w in widths {
        out.push_str(&format!("{}|", "-".repeat(w + 2)));
    }
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

/// Quantile of unsorted samples (nearest rank).
pub fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    s[((s.len() - 1) as f64 * q).round() as usize]
}

fn median(samples: impl IntoIterator<Item = f64>) -> f64 {
    quantile(&samples.into_iter().collect::<Vec<_>>(), 0.5)
}

/// Every row of the table, in the order it prints: per subject, then CPU, round trips, throughput.
pub fn rows(
    results: &[SubjectResult],
    cpu: &[CpuResult],
    trips: &[Trips],
    logins_per_second: f64,
    load: Option<&serde_json::Value>,
) -> Vec<Row> {
    let hello = results
        .iter()
        .find(|r| r.name == HELLO)
        .expect("hello-world");
    let init = |r: &SubjectResult| r.cold_runs.iter().map(|c| c.init_ms).collect::<Vec<_>>();
    let cold = |r: &SubjectResult| r.cold_runs.iter().map(|c| c.cold_ms()).collect::<Vec<_>>();
    let rss = |r: &SubjectResult| {
        median(
            r.rss_runs
                .iter()
                .filter_map(|c| c.max_rss_kib)
                .map(|k| k as f64),
        )
    };
    let hello_init = quantile(&init(hello), 0.5);
    let hello_cold = quantile(&cold(hello), 0.5);
    let hello_rss = rss(hello);
    let hello_size = hello.size_bytes as f64;
    let ok = |r: &SubjectResult| r.failures.is_empty() && !r.cold_runs.is_empty();
    let idlink = |r: &SubjectResult| r.kind == Kind::Idlink;
    let mut rows = Vec::new();

    for r in results {
        let v = init(r);
        let ratio = quantile(&v, 0.5) / hello_init;
        let mut row = Row::new(
            "init p50 / p90",
            &r.name,
            format!("{:.2} / {:.2} ms", quantile(&v, 0.5), quantile(&v, 0.9)),
        )
        .ratio(ratio);
        if idlink(r) {
            row = row.budget("≤ 1.5×", ok(r) && ratio <= 1.5);
        }
        rows.push(row);
    }
    for r in results {
        let v = cold(r);
        let ratio = quantile(&v, 0.5) / hello_cold;
        let wait = median(r.cold_runs.iter().map(|c| c.store_wait_ms));
        let statuses: std::collections::BTreeSet<String> = r
            .cold_runs
            .iter()
            .map(|c| c.status.map(|s| s.to_string()).unwrap_or("?".into()))
            .collect();
        let statuses: Vec<_> = statuses.into_iter().collect();
        let mut row = Row::new(
            "cold request, store excl. p50 / p90",
            &format!("{} ({})", r.name, statuses.join("/")),
            format!(
                "{:.2} / {:.2} ms (−{:.1} ms store)",
                quantile(&v, 0.5),
                quantile(&v, 0.9),
                wait
            ),
        )
        .ratio(ratio);
        if r.name.starts_with("auth-custom-id") {
            row = row.budget("≤ 2× (login)", ok(r) && ratio <= 2.0);
        }
        rows.push(row);
    }
    let on_cpu = |r: &SubjectResult| {
        r.cold_runs
            .iter()
            .map(|c| c.on_cpu_first_response_ms)
            .collect::<Vec<_>>()
    };
    let hello_on_cpu = quantile(&on_cpu(hello), 0.5);
    for r in results {
        let v = on_cpu(r);
        let init = median(r.cold_runs.iter().map(|c| c.on_cpu_init_ms));
        let ratio = quantile(&v, 0.5) / hello_on_cpu;
        let mut row = Row::new(
            "cold request, on CPU p50 / p90",
            &r.name,
            format!(
                "{:.2} / {:.2} ms (init {:.2} ms)",
                quantile(&v, 0.5),
                quantile(&v, 0.9),
                init
            ),
        )
        .ratio(ratio);
        if r.name.starts_with("auth-custom-id") {
            row = row.budget("≤ 2× (login)", ok(r) && ratio <= 2.0);
        }
        rows.push(row);
    }
    for r in results {
        let mut seen: Vec<String> = r
            .cold_runs
            .iter()
            .flat_map(|c| c.init_connections.clone())
            .collect();
        seen.sort();
        seen.dedup();
        let probes = seen.iter().any(|s| s.starts_with("other AWS endpoint"));
        let mut row = Row::new(
            "connections during init",
            &r.name,
            if seen.is_empty() {
                "none".into()
            } else {
                seen.join("; ")
            },
        );
        if idlink(r) {
            row = row.budget("no IMDS/STS/… probing", ok(r) && !probes);
        }
        rows.push(row);
    }
    for r in results {
        let v = rss(r);
        let ratio = v / hello_rss;
        let mut row = Row::new(
            "max RSS, cold + 100 warm",
            &r.name,
            format!("{:.1} MiB", v / 1024.0),
        )
        .ratio(ratio);
        if idlink(r) {
            row = row.budget("≤ 2×", ok(r) && ratio <= 2.0);
        }
        rows.push(row);
    }
    for r in results.iter().filter(|r| r.name != SYSTEM_ROOTS_VARIANT) {
        let ratio = r.size_bytes as f64 / hello_size;
        let mut row = Row::new(
            "stripped binary size",
            &r.name,
            format!("{:.2} MiB", r.size_bytes as f64 / 1048576.0),
        )
        .ratio(ratio);
        if idlink(r) {
            row = row.budget("≤ 10×", ratio <= 10.0);
        }
        rows.push(row);
    }
    for r in results
        .iter()
        .filter(|r| idlink(r) && r.name != SYSTEM_ROOTS_VARIANT)
    {
        let value = match r.arm64_bootstrap_bytes {
            Some(b) => format!("{:.2} MiB", b as f64 / 1048576.0),
            None => "not packaged (make package)".into(),
        };
        rows.push(Row::new(
            "arm64 bootstrap size (make package)",
            &r.name,
            value,
        ));
    }
    for c in cpu {
        let case = Case::parse(c.case).expect("case");
        let value = format!(
            "{} µs median; {} instructions",
            c.median_us
                .map(|m| format!("{m:.1}"))
                .unwrap_or("not run".into()),
            c.instructions
                .map(|i| format!("{:.0}k", i as f64 / 1e3))
                .unwrap_or("n/a".into())
        );
        let mut row = Row::new("handler CPU, memory store", case.describe(), value);
        let budget = match case {
            Case::Floor404 => Some(100.0),
            Case::Floor404NewToken => None,
            Case::ReturningLogin => Some(300.0),
            Case::FirstLogin | Case::KeyedFirstLogin | Case::KeyedReplay | Case::Merge => None,
        };
        if let Some(b) = budget {
            row = row.budget(&format!("≤ {b:.0} µs"), c.median_us.is_some_and(|m| m <= b));
        }
        rows.push(row);
    }
    for t in trips {
        rows.push(
            Row::new(
                "DynamoDB round trips",
                t.operation,
                format!("{} ({})", t.calls.len(), t.calls.join(", ")),
            )
            .budget(t.budget, t.within),
        );
    }
    rows.push(Row::new(
        "throughput, in process",
        "returning logins, one core, memory store",
        format!("{logins_per_second:.0} logins/s"),
    ));
    rows.push(Row::new(
        "throughput, make run",
        "returning logins, 20 s, concurrency 16",
        match load {
            Some(l) => format!(
                "{:.0} req/s; p50 {:.1} ms; p99 {:.1} ms; {} non-200",
                l["requests_per_second"].as_f64().unwrap_or(f64::NAN),
                l["p50_ms"].as_f64().unwrap_or(f64::NAN),
                l["p99_ms"].as_f64().unwrap_or(f64::NAN),
                l["non_200"].as_u64().unwrap_or(0),
            ),
            None => "not run (BENCH_LOAD=0)".into(),
        },
    ));
    rows
}
