//! A checking reader over a parsed TOML table: every problem is collected, none stops the read.
//!
//! Each getter takes a dotted key (`"feed.max_frame_bytes"`), records an [`Issue`] naming that key
//! when the value is missing or of the wrong type or range, and returns a usable fallback so the
//! read goes on and the user sees every problem at once. Keys that no getter asked for are
//! reported as unknown by [`Reader::finish`].

use std::collections::BTreeSet;
use std::fmt;

use toml::{Table, Value};

/// One problem with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Dotted key (`feed.symbols`), or empty for the file as a whole.
    pub key: String,
    /// What is wrong, and what is expected.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Reads typed values out of a TOML table, collecting issues.
#[derive(Debug)]
pub struct Reader<'t> {
    root: &'t Table,
    seen: BTreeSet<String>,
    issues: Vec<Issue>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

impl<'t> Reader<'t> {
    /// A reader over `root`.
    pub fn new(root: &'t Table) -> Self {
        Self { root, seen: BTreeSet::new(), issues: Vec::new() }
    }

    /// Records a problem with `key`.
    pub fn issue(&mut self, key: &str, message: impl Into<String>) {
        self.issues.push(Issue { key: key.to_string(), message: message.into() });
    }

    /// The raw value at `key`, marking it (and its parents) as known.
    pub fn raw(&mut self, key: &str) -> Option<&'t Value> {
        let mut cur: &'t Table = self.root;
        let parts: Vec<&str> = key.split('.').collect();
        let mut path = String::new();
        for (i, p) in parts.iter().enumerate() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(p);
            self.seen.insert(path.clone());
            let v = cur.get(*p)?;
            if i + 1 == parts.len() {
                return Some(v);
            }
            cur = v.as_table()?;
        }
        None
    }

    /// Marks a whole subtree as known (it is read by someone else, e.g. serde).
    pub fn subtree(&mut self, key: &str) -> Option<&'t Value> {
        let v = self.raw(key)?;
        fn mark(seen: &mut BTreeSet<String>, prefix: &str, v: &Value) {
            if let Value::Table(t) = v {
                for (k, child) in t {
                    let key = format!("{prefix}.{k}");
                    mark(seen, &key, child);
                    seen.insert(key);
                }
            }
        }
        mark(&mut self.seen, key, v);
        Some(v)
    }

    fn required(&mut self, key: &str, what: &str) -> Option<&'t Value> {
        let v = self.raw(key);
        if v.is_none() {
            self.issue(key, format!("missing; expected {what}"));
        }
        v
    }

    /// A required string.
    pub fn string(&mut self, key: &str) -> String {
        match self.required(key, "a string") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                let t = type_name(v);
                self.issue(key, format!("expected a string, found {t}"));
                String::new()
            }
            None => String::new(),
        }
    }

    /// A required boolean.
    pub fn boolean(&mut self, key: &str) -> bool {
        match self.required(key, "true or false") {
            Some(Value::Boolean(b)) => *b,
            Some(v) => {
                let t = type_name(v);
                self.issue(key, format!("expected true or false, found {t}"));
                false
            }
            None => false,
        }
    }

    /// A required integer in `min..=max`.
    pub fn int(&mut self, key: &str, min: i64, max: i64) -> i64 {
        let what = format!("an integer from {min} to {max}");
        match self.required(key, &what) {
            Some(Value::Integer(i)) if (min..=max).contains(i) => *i,
            Some(Value::Integer(i)) => {
                self.issue(key, format!("expected {what}, found {i}"));
                min
            }
            Some(v) => {
                let t = type_name(v);
                self.issue(key, format!("expected {what}, found {t}"));
                min
            }
            None => min,
        }
    }

    /// A required float in `min..=max` (integers are accepted).
    pub fn float(&mut self, key: &str, min: f64, max: f64) -> f64 {
        let what = format!("a number from {min} to {max}");
        let x = match self.required(key, &what) {
            Some(Value::Float(f)) => *f,
            Some(Value::Integer(i)) => *i as f64,
            Some(v) => {
                let t = type_name(v);
                self.issue(key, format!("expected {what}, found {t}"));
                return min;
            }
            None => return min,
        };
        if !(min..=max).contains(&x) {
            self.issue(key, format!("expected {what}, found {x}"));
            return min;
        }
        x
    }

    /// A required array of strings.
    pub fn strings(&mut self, key: &str) -> Vec<String> {
        match self.required(key, "an array of strings") {
            Some(Value::Array(a)) => {
                let mut out = Vec::with_capacity(a.len());
                for (i, v) in a.iter().enumerate() {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        other => {
                            let t = type_name(other);
                            self.issue(
                                &format!("{key}[{i}]"),
                                format!("expected a string, found {t}"),
                            );
                        }
                    }
                }
                out
            }
            Some(v) => {
                let t = type_name(v);
                self.issue(key, format!("expected an array of strings, found {t}"));
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// A required string that must parse with `parse`; the error text is the expectation.
    pub fn parsed<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let s = match self.required(key, "a string") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                let t = type_name(v);
                self.issue(key, format!("expected a string, found {t}"));
                return None;
            }
            None => return None,
        };
        match parse(&s) {
            Ok(v) => Some(v),
            Err(e) => {
                self.issue(key, e);
                None
            }
        }
    }

    /// Reports every key nobody asked for, and returns all issues.
    pub fn finish(mut self) -> Vec<Issue> {
        let mut unknown = Vec::new();
        fn walk(t: &Table, prefix: &str, seen: &BTreeSet<String>, out: &mut Vec<String>) {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if !seen.contains(&key) {
                    out.push(key);
                } else if let Value::Table(child) = v {
                    walk(child, &key, seen, out);
                }
            }
        }
        walk(self.root, "", &self.seen, &mut unknown);
        for key in unknown {
            self.issues.push(Issue { key, message: "unknown key".to_string() });
        }
        self.issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem() {
        let t: Table = toml::from_str(
            "[a]\nn = -3\ns = 5\nlist = ['x', 2]\nextra = 1\n[b]\nf = 'no'\n[zzz]\nq = 1\n",
        )
        .unwrap();
        let mut r = Reader::new(&t);
        assert_eq!(r.int("a.n", 0, 10), 0);
        let _ = r.string("a.s");
        assert_eq!(r.strings("a.list"), vec!["x".to_string()]);
        let _ = r.float("b.f", 0.0, 1.0);
        let _ = r.boolean("b.missing");
        let issues = r.finish();
        let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "a.n: expected an integer from 0 to 10, found -3",
                "a.s: expected a string, found an integer",
                "a.list[1]: expected a string, found an integer",
                "b.f: expected a number from 0 to 1, found a string",
                "b.missing: missing; expected true or false",
                "a.extra: unknown key",
                "zzz: unknown key",
            ]
        );
    }
}
