//! The symbol table: which instruments this engine trades, and their ids on the tick path.

use thiserror::Error;

/// Most symbols one engine (shard) handles.
pub const MAX_SYMBOLS: usize = 64;

/// A problem with the configured symbol list.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SymbolError {
    /// No symbols.
    #[error("no symbols configured")]
    Empty,
    /// More than [`MAX_SYMBOLS`].
    #[error("{0} symbols configured, at most {MAX_SYMBOLS} are supported")]
    TooMany(usize),
    /// Not an uppercase alphanumeric exchange symbol like `BTCUSDT`.
    #[error("symbol {0:?} is not an exchange symbol like \"BTCUSDT\" (A-Z and 0-9 only)")]
    Invalid(String),
    /// Listed twice.
    #[error("symbol {0:?} is listed twice")]
    Duplicate(String),
}

/// Exchange symbols (`BTCUSDT`) and their ids (index in the configured list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbols {
    upper: Vec<String>,
    lower: Vec<String>,
}

impl Symbols {
    /// A table from exchange symbols, in id order.
    pub fn new<S: AsRef<str>>(names: &[S]) -> Result<Self, SymbolError> {
        if names.is_empty() {
            return Err(SymbolError::Empty);
        }
        if names.len() > MAX_SYMBOLS {
            return Err(SymbolError::TooMany(names.len()));
        }
        let mut upper: Vec<String> = Vec::with_capacity(names.len());
        for n in names {
            let n = n.as_ref();
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                return Err(SymbolError::Invalid(n.to_string()));
            }
            if upper.iter().any(|u| u == n) {
                return Err(SymbolError::Duplicate(n.to_string()));
            }
            upper.push(n.to_string());
        }
        let lower = upper.iter().map(|u| u.to_ascii_lowercase()).collect();
        Ok(Self { upper, lower })
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.upper.len()
    }

    /// Always false: a table has at least one symbol.
    pub fn is_empty(&self) -> bool {
        self.upper.is_empty()
    }

    /// The exchange name (`BTCUSDT`) of an id.
    pub fn name(&self, id: u16) -> &str {
        &self.upper[id as usize]
    }

    /// The lowercase stream prefix (`btcusdt`) of an id.
    pub fn stream_prefix(&self, id: u16) -> &str {
        &self.lower[id as usize]
    }

    /// The id of a symbol given in either case (`BTCUSDT` or `btcusdt`). No allocation.
    #[inline]
    pub fn id_of(&self, name: &[u8]) -> Option<u16> {
        // Payloads spell symbols in upper case and stream names in lower case: exact matches
        // first, then any mix of cases.
        let upper = self.upper.iter().position(|u| u.as_bytes() == name);
        upper
            .or_else(|| self.lower.iter().position(|l| l.as_bytes() == name))
            .or_else(|| self.upper.iter().position(|u| u.as_bytes().eq_ignore_ascii_case(name)))
            .map(|i| i as u16)
    }

    /// Every (id, exchange name).
    pub fn iter(&self) -> impl Iterator<Item = (u16, &str)> {
        self.upper.iter().enumerate().map(|(i, s)| (i as u16, s.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        let s = Symbols::new(&["BTCUSDT", "ETHUSDT"]).unwrap();
        assert_eq!(s.id_of(b"ethusdt"), Some(1));
        assert_eq!(s.id_of(b"BTCUSDT"), Some(0));
        assert_eq!(s.id_of(b"XRPUSDT"), None);
        assert_eq!(s.stream_prefix(1), "ethusdt");
    }

    #[test]
    fn bad_lists_are_refused() {
        assert_eq!(Symbols::new::<&str>(&[]), Err(SymbolError::Empty));
        assert!(matches!(Symbols::new(&["btc-usdt"]), Err(SymbolError::Invalid(_))));
        assert!(matches!(Symbols::new(&["BTCUSDT", "BTCUSDT"]), Err(SymbolError::Duplicate(_))));
    }
}
