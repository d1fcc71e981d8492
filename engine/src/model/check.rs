//! `tickrail model check`: run a model over a CSV of rows and write its outputs as CSV.
//!
//! Input: a header of feature names, then one row per line; an empty cell or `nan` (any case) is missing.
//! When the model's feature names are known (metadata sidecar) the header must list them in order,
//! otherwise it must have `n_features` columns. Output: a header of [`Model::output_names`], then one line
//! per input row, each value printed so that it parses back to the same f64.

use std::io::{BufRead, BufReader, Read, Write};

use super::{Model, Scratch};

/// What a check run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckStats {
    /// Data rows read and predicted.
    pub rows: usize,
    /// Cells read as missing (empty or `nan`).
    pub missing_cells: usize,
}

/// Why a check run stopped. Line numbers are 1-based and count the header.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Reading the input or writing the output failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The input has no header line.
    #[error("input is empty: expected a header of feature names")]
    Empty,
    /// The header does not match the model.
    #[error("header: {0}")]
    Header(String),
    /// A data line is malformed.
    #[error("line {line}: {detail}")]
    Row {
        /// Line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
}

/// Predicts every row of `input` with `model` and writes the outputs to `output`.
pub fn check_csv(
    model: &Model,
    input: impl Read,
    mut output: impl Write,
) -> Result<CheckStats, CheckError> {
    let mut lines = BufReader::new(input).lines();
    let header = lines.next().ok_or(CheckError::Empty)??;
    let names: Vec<&str> = header.trim_end_matches('\r').split(',').map(str::trim).collect();
    let nf = model.n_features();
    match model.feature_names() {
        Some(expected) => {
            if names.len() != expected.len() {
                return Err(CheckError::Header(format!(
                    "{} columns but the model reads {} features ({})",
                    names.len(),
                    expected.len(),
                    expected.join(",")
                )));
            }
            if let Some(i) = (0..names.len()).find(|&i| names[i] != expected[i]) {
                return Err(CheckError::Header(format!(
                    "column {} is `{}` but the model's feature {} is `{}`",
                    i + 1,
                    names[i],
                    i,
                    expected[i]
                )));
            }
        }
        None if names.len() != nf => {
            return Err(CheckError::Header(format!(
                "{} columns but the model reads {nf} features",
                names.len()
            )));
        }
        None => {}
    }
    writeln!(output, "{}", model.output_names().join(","))?;
    let mut scratch = Scratch::for_model(model);
    let mut row = vec![0.0; nf];
    let mut out = vec![0.0; model.n_outputs()];
    let mut stats = CheckStats::default();
    let mut text = String::new();
    for (i, line) in lines.enumerate() {
        let line = line?;
        let lineno = i + 2;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut n = 0;
        for cell in line.split(',') {
            if n == nf {
                return Err(CheckError::Row {
                    line: lineno,
                    detail: format!("more than {nf} cells"),
                });
            }
            let cell = cell.trim();
            row[n] = if cell.is_empty() || cell.eq_ignore_ascii_case("nan") {
                stats.missing_cells += 1;
                f64::NAN
            } else {
                cell.parse::<f64>().map_err(|_| CheckError::Row {
                    line: lineno,
                    detail: format!("column {} (`{}`): `{cell}` is not a number", n + 1, names[n]),
                })?
            };
            n += 1;
        }
        if n != nf {
            return Err(CheckError::Row {
                line: lineno,
                detail: format!("{n} cells, expected {nf}"),
            });
        }
        model
            .predict(&row, &mut scratch, &mut out)
            .map_err(|e| CheckError::Row { line: lineno, detail: e.to_string() })?;
        text.clear();
        for (k, v) in out.iter().enumerate() {
            if k > 0 {
                text.push(',');
            }
            // `{:?}` prints the shortest text that parses back to the same f64.
            text.push_str(&format!("{v:?}"));
        }
        writeln!(output, "{text}")?;
        stats.rows += 1;
    }
    Ok(stats)
}
