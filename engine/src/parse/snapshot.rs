//! The REST depth snapshot (`GET /api/v3/depth`, futures `/fapi/v1/depth`) an L2 book starts from.
//!
//! `{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],…],"asks":[…]}`; futures
//! add `E` and `T`, which are ignored. Cold path: allocates the level vectors it returns, and
//! its errors say which field or level is wrong.

use simd_json::{Node, StaticNode};

use super::fields::span;
use super::Level;
use crate::fixed::{parse_fixed, FixedError};

/// A depth snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The last update id the snapshot includes.
    pub last_update_id: u64,
    /// Bids, as sent (best first).
    pub bids: Vec<Level>,
    /// Asks, as sent (best first).
    pub asks: Vec<Level>,
}

/// Why a body is not a depth snapshot.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Not valid JSON.
    #[error("invalid JSON at byte {offset}: {message}")]
    Json {
        /// Byte offset simd-json reports.
        offset: usize,
        /// simd-json's description.
        message: String,
    },
    /// The document is not an object.
    #[error("not a JSON object")]
    NotObject,
    /// A required field is absent.
    #[error("missing field {0:?}")]
    Missing(&'static str),
    /// A field of the wrong type.
    #[error("field {field:?} is not {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A level that is not a `[price, qty]` pair of strings.
    #[error("{side}[{index}] is not a [price, qty] pair of decimal strings")]
    BadLevel {
        /// `bids` or `asks`.
        side: &'static str,
        /// Position in the side.
        index: usize,
    },
    /// A level whose price or quantity is not a valid decimal.
    #[error("{side}[{index}]: {error}")]
    BadNumber {
        /// `bids` or `asks`.
        side: &'static str,
        /// Position in the side.
        index: usize,
        /// What is wrong with the number.
        error: FixedError,
    },
}

/// Parses a depth snapshot body in place.
pub fn parse_snapshot(body: &mut [u8]) -> Result<Snapshot, SnapshotError> {
    let tape = simd_json::to_tape(body).map_err(|e| SnapshotError::Json {
        offset: e.index(),
        message: format!("{:?}", e.error()),
    })?;
    let nodes = &tape.0;
    let Some(&Node::Object { len, .. }) = nodes.first() else {
        return Err(SnapshotError::NotObject);
    };
    let (mut last_update_id, mut bids, mut asks) = (None, None, None);
    let mut i = 1;
    for _ in 0..len {
        let (Some(Node::String(key)), Some(value)) = (nodes.get(i), nodes.get(i + 1)) else {
            return Err(SnapshotError::NotObject);
        };
        match *key {
            "lastUpdateId" => {
                last_update_id = Some(match value {
                    Node::Static(StaticNode::U64(v)) => *v,
                    _ => {
                        return Err(SnapshotError::WrongType {
                            field: "lastUpdateId",
                            expected: "a non-negative integer",
                        })
                    }
                })
            }
            "bids" => bids = Some(levels(nodes, i + 1, "bids")?),
            "asks" => asks = Some(levels(nodes, i + 1, "asks")?),
            _ => {}
        }
        i += 1 + span(value);
    }
    Ok(Snapshot {
        last_update_id: last_update_id.ok_or(SnapshotError::Missing("lastUpdateId"))?,
        bids: bids.ok_or(SnapshotError::Missing("bids"))?,
        asks: asks.ok_or(SnapshotError::Missing("asks"))?,
    })
}

fn levels(nodes: &[Node<'_>], at: usize, side: &'static str) -> Result<Vec<Level>, SnapshotError> {
    let Some(&Node::Array { len, .. }) = nodes.get(at) else {
        return Err(SnapshotError::WrongType { field: side, expected: "an array" });
    };
    let mut out = Vec::with_capacity(len);
    let mut i = at + 1;
    for index in 0..len {
        let bad = SnapshotError::BadLevel { side, index };
        let pair = nodes.get(i).ok_or(bad.clone())?;
        let (Node::Array { len: 2.., .. }, Some(Node::String(px)), Some(Node::String(qty))) =
            (pair, nodes.get(i + 1), nodes.get(i + 2))
        else {
            return Err(bad);
        };
        let num = |s: &str| {
            parse_fixed(s.as_bytes()).map_err(|error| SnapshotError::BadNumber {
                side,
                index,
                error,
            })
        };
        out.push(Level { px: num(px)?, qty: num(qty)? });
        i += span(pair);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_and_futures_bodies() {
        let mut body = br#"{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],["61837.62000000","0.61700000"]],"asks":[["61837.64000000","1.54698000"]]}"#.to_vec();
        let s = parse_snapshot(&mut body).unwrap();
        assert_eq!(s.last_update_id, 50_093_239_218);
        assert_eq!(
            s.bids,
            vec![
                Level { px: 6_183_763_000_000, qty: 378_826_000 },
                Level { px: 6_183_762_000_000, qty: 61_700_000 }
            ]
        );
        assert_eq!(s.asks.len(), 1);
        let mut futures = br#"{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"]],"asks":[]}"#.to_vec();
        let s = parse_snapshot(&mut futures).unwrap();
        assert_eq!((s.last_update_id, s.bids.len(), s.asks.len()), (1_027_024, 1, 0));
    }

    #[test]
    fn bad_bodies_say_what() {
        let err = |b: &str| parse_snapshot(&mut b.as_bytes().to_vec()).unwrap_err().to_string();
        assert!(err(r#"{"lastUpdateId":1,"bids":[["#).starts_with("invalid JSON"));
        assert_eq!(err("[1]"), "not a JSON object");
        assert_eq!(err(r#"{"bids":[],"asks":[]}"#), "missing field \"lastUpdateId\"");
        assert_eq!(err(r#"{"lastUpdateId":1,"bids":[]}"#), "missing field \"asks\"");
        assert_eq!(
            err(r#"{"lastUpdateId":-1,"bids":[],"asks":[]}"#),
            "field \"lastUpdateId\" is not a non-negative integer"
        );
        assert_eq!(
            err(r#"{"lastUpdateId":1,"bids":{},"asks":[]}"#),
            "field \"bids\" is not an array"
        );
        assert_eq!(
            err(r#"{"lastUpdateId":1,"bids":[],"asks":[["1"]]}"#),
            "asks[0] is not a [price, qty] pair of decimal strings"
        );
        assert_eq!(
            err(r#"{"lastUpdateId":1,"bids":[["1","2"],["1","-2"]],"asks":[]}"#),
            "bids[1]: negative number"
        );
    }
}
