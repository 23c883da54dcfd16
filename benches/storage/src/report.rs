//! The result table.

use crate::raw::Raw;
use crate::workload::{EngineFigures, Workload};

/// The median of `values` (the mean of the middle two for an even count; 0 for none).
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// One line of the table.
pub struct Row {
    name: String,
    value: String,
    ratio: Option<(String, f64)>,
}

impl Row {
    /// A bandwidth figure in MiB/s, with an optional ratio to a named reference.
    pub fn bandwidth(name: &str, bytes_per_sec: f64, ratio: Option<(&str, f64)>) -> Row {
        Row {
            name: name.to_owned(),
            value: format!("{:.0} MiB/s", bytes_per_sec / f64::from(1u32 << 20)),
            ratio: ratio.map(|(r, x)| (r.to_owned(), x)),
        }
    }

    /// An operations-per-second figure, with an optional ratio to a named reference.
    pub fn iops(name: &str, ops_per_sec: f64, ratio: Option<(&str, f64)>) -> Row {
        Row {
            name: name.to_owned(),
            value: format!("{ops_per_sec:.0} ops/s"),
            ratio: ratio.map(|(r, x)| (r.to_owned(), x)),
        }
    }
}

/// The rows, printed together at the end.
#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Adds a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Adds the four engine rows of one access path: each figure is the median over the rounds,
    /// each ratio the median of the rounds' own ratios to the raw figures measured in the same
    /// round (so a busy spell that slows one round does not skew the ratio). PUT counts the bytes
    /// the drives receive (parity included) and is compared with raw durable writes, since each
    /// PUT is durable when it returns, and again with raw writes into the drives' caches followed
    /// by one flush; GET counts object bytes.
    pub fn push_engine(&mut self, path: &str, rounds: &[(&EngineFigures, &Raw)], w: &Workload) {
        let put_disk =
            |e: &EngineFigures| e.put_data_bps * w.on_disk(1 << 20) as f64 / f64::from(1u32 << 20);
        let med = |f: &dyn Fn(&EngineFigures, &Raw) -> f64| {
            median(rounds.iter().map(|(e, raw)| f(e, raw)))
        };
        let put_row = |row: &str, baseline: &'static str, raw_bps: fn(&Raw) -> f64| {
            Row::bandwidth(
                &format!("{path} {row}"),
                med(&|e, _| put_disk(e)),
                Some((baseline, med(&|e, raw| put_disk(e) / raw_bps(raw)))),
            )
        };
        self.push(put_row(
            "PUT (data+parity to drives)",
            "raw durable write",
            |raw| raw.durable_write_bps,
        ));
        self.push(put_row(
            "PUT, against cached raw write",
            "raw cached write",
            |raw| raw.cached_write_bps,
        ));
        self.push(Row::bandwidth(
            &format!("{path} GET"),
            med(&|e, _| e.get_data_bps),
            Some(("raw read", med(&|e, raw| e.get_data_bps / raw.read_bps))),
        ));
        self.push(Row::iops(
            &format!("{path} small-object random read"),
            med(&|e, _| e.small_iops),
            Some((
                "raw 4 KiB read",
                med(&|e, raw| e.small_iops / raw.random_iops),
            )),
        ));
    }

    /// Prints the table on stdout.
    pub fn print(&self) {
        let name_w = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
        let value_w = self.rows.iter().map(|r| r.value.len()).max().unwrap_or(0);
        println!(
            "{:<name_w$}  {:>value_w$}  ratio",
            "measurement", "throughput"
        );
        println!("{}", "-".repeat(name_w + value_w + 24));
        for r in &self.rows {
            let ratio = r
                .ratio
                .as_ref()
                .map(|(of, x)| format!("{x:.2} of {of}"))
                .unwrap_or_default();
            println!("{:<name_w$}  {:>value_w$}  {ratio}", r.name, r.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), 2.5);
        assert_eq!(median(std::iter::empty()), 0.0);
    }
}
