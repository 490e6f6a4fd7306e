//! One row per figure: value, the bare reference measured in the same run,
//! their ratio, the target, and whether it is met.

use serde::Serialize;

#[derive(Serialize)]
pub struct Row {
    pub figure: String,
    pub value: f64,
    pub unit: &'static str,
    pub reference: Option<Reference>,
    pub ratio: Option<f64>,
    /// `"≥ 0.6"`, `"≤ 5 ms"`, … (`null`: reported, no target).
    pub target: Option<String>,
    pub pass: Option<bool>,
    /// What the figure is made of, or what keeps it short of its target.
    pub note: Option<String>,
}

#[derive(Serialize)]
pub struct Reference {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

#[derive(Clone, Copy)]
pub enum Goal {
    RatioAtLeast(f64),
    RatioAtMost(f64),
    AtMost(f64),
    Holds(bool),
    Report,
}

impl Row {
    pub fn new(figure: impl Into<String>, value: f64, unit: &'static str, goal: Goal) -> Self {
        let mut row = Self {
            figure: figure.into(),
            value,
            unit,
            reference: None,
            ratio: None,
            target: None,
            pass: None,
            note: None,
        };
        row.judge(goal);
        row
    }

    pub fn against(
        figure: impl Into<String>,
        value: f64,
        unit: &'static str,
        reference: Reference,
        goal: Goal,
    ) -> Self {
        let mut row = Self::new(figure, value, unit, Goal::Report);
        row.ratio = Some(value / reference.value.max(f64::MIN_POSITIVE));
        row.reference = Some(reference);
        row.judge(goal);
        row
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    fn judge(&mut self, goal: Goal) {
        let ratio = self.ratio.unwrap_or(f64::NAN);
        (self.target, self.pass) = match goal {
            Goal::RatioAtLeast(x) => (Some(format!("≥ {x}")), Some(ratio >= x)),
            Goal::RatioAtMost(x) => (Some(format!("≤ {x}")), Some(ratio <= x)),
            Goal::AtMost(x) => (
                Some(format!("≤ {} {}", num(x), self.unit)),
                Some(self.value <= x),
            ),
            Goal::Holds(ok) => (Some("holds".into()), Some(ok)),
            Goal::Report => (None, None),
        };
    }
}

impl Reference {
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self {
            name: name.into(),
            value,
            unit,
        }
    }
}

/// A number as a reader wants it: 31,204 · 2.31 · 0.72.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if x.abs() >= 1000.0 {
        let s = format!("{:.0}", x.abs());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        return if x < 0.0 { format!("-{out}") } else { out };
    }
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        num(v)
    } else {
        format!("{} {unit}", num(v))
    }
}

/// The table for people; notes for short rows follow it.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<46} {:>13}  {:<34} {:>6}  {:<10} {}\n",
        "figure", "value", "reference (same run)", "ratio", "target", "result"
    );
    for r in rows {
        let reference = r
            .reference
            .as_ref()
            .map(|x| format!("{} {}", x.name, with_unit(x.value, x.unit)))
            .unwrap_or_else(|| "—".into());
        let ratio = r.ratio.map(num).unwrap_or_else(|| "—".into());
        let result = match r.pass {
            Some(true) => "pass",
            Some(false) => "SHORT",
            None => "",
        };
        out.push_str(&format!(
            "{:<46} {:>13}  {:<34} {:>6}  {:<10} {result}\n",
            r.figure,
            with_unit(r.value, r.unit),
            reference,
            ratio,
            r.target.as_deref().unwrap_or("—"),
        ));
    }
    let notes: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let n = r.note.as_ref()?;
            let tag = if r.pass == Some(false) {
                "short"
            } else {
                "note"
            };
            Some(format!("  {tag}: {}: {n}\n", r.figure))
        })
        .collect();
    if !notes.is_empty() {
        out.push('\n');
        out.extend(notes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_decide_pass_and_short() {
        let r = Reference::new("healthz", 100.0, "/s");
        assert_eq!(
            Row::against("v", 70.0, "/s", r, Goal::RatioAtLeast(0.6)).pass,
            Some(true)
        );
        let r = Reference::new("delete", 10.0, "ms");
        let row = Row::against("bulk", 25.0, "ms", r, Goal::RatioAtMost(1.5));
        assert_eq!(row.pass, Some(false));
        assert_eq!(row.ratio, Some(2.5));
        assert_eq!(
            Row::new("p99", 2.5, "ms", Goal::AtMost(2.0)).pass,
            Some(false)
        );
        assert_eq!(Row::new("info", 1.0, "", Goal::Report).pass, None);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(31_204.4), "31,204");
        assert_eq!(num(1_000_000.0), "1,000,000");
        assert_eq!(num(0.724), "0.72");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(f64::NAN), "—");
    }

    #[test]
    fn short_rows_carry_their_cause_under_the_table() {
        let rows = [Row::new("q", 9.0, "ms", Goal::AtMost(5.0)).note("scans users")];
        let t = table(&rows);
        assert!(t.contains("SHORT"), "{t}");
        assert!(t.contains("short: q: scans users"), "{t}");
    }
}
