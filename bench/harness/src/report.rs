//! The one table `make bench` prints, and its JSON.

use serde::Serialize;

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
