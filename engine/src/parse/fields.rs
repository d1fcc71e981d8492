//! Reading typed fields out of a simd-json tape, without building a DOM.
//!
//! A tape is a flat `[Node]`: an object header `Object { len, count }` is followed by its keys and
//! values in order, and a nested value spans `count + 1` nodes. [`Fields`] walks one object once
//! and remembers where the value of each key this parser reads starts; [`Doc`] turns a value
//! into the type a field needs, mapping every mismatch to exactly one [`Reject`].

use simd_json::{Node, StaticNode};

use super::Level;
use crate::fixed::parse_fixed;
use crate::reject::Reject;

/// Nodes a value spans on the tape, its header included.
#[inline]
pub(super) fn span(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

/// The single-letter keys the decoders read. Other keys are walked over and not kept.
pub(super) const LETTERS: &[u8; 21] = b"ABETUabcehklmopqstuvx";

/// Byte → slot in [`Fields::letters`]: `1 + index in LETTERS`, 0 for every other byte.
pub(super) const SLOT: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < LETTERS.len() {
        t[LETTERS[i] as usize] = i as u8 + 1;
        i += 1;
    }
    t
};

/// Value positions of the keys of one object. Position 0 means absent (0 is always the root's
/// header, never a value).
#[derive(Clone, Copy, Debug)]
pub(super) struct Fields {
    /// The keys in [`LETTERS`], at their [`SLOT`]; slot 0 takes every other single letter.
    letters: [u32; LETTERS.len() + 1],
    /// `pu` (futures: the previous event's `u`).
    pub pu: u32,
    /// `stream` (combined-stream envelope).
    pub stream: u32,
    /// `data` (combined-stream envelope).
    pub data: u32,
    /// `result`, `id`, `error` or `code`: a reply to a request, not market data.
    pub reply: bool,
}

impl Fields {
    /// No keys.
    pub const EMPTY: Self =
        Fields { letters: [0; LETTERS.len() + 1], pu: 0, stream: 0, data: 0, reply: false };

    /// Collects the keys of the object whose header is at `at`; not an object → `WrongType`.
    #[inline]
    pub fn collect(nodes: &[Node<'_>], at: usize) -> Result<Self, Reject> {
        let Some(&Node::Object { len, .. }) = nodes.get(at) else {
            return Err(Reject::WrongType);
        };
        let mut f = Self::EMPTY;
        let mut i = at + 1;
        for _ in 0..len {
            let Some(Node::String(key)) = nodes.get(i) else {
                return Err(Reject::MalformedJson);
            };
            let v = i + 1;
            let Some(value) = nodes.get(v) else {
                return Err(Reject::MalformedJson);
            };
            let pos = u32::try_from(v).map_err(|_| Reject::OversizedFrame)?;
            match key.as_bytes() {
                [c] => {
                    if let Some(slot) = f.letters.get_mut(usize::from(SLOT[usize::from(*c)])) {
                        *slot = pos;
                    }
                }
                b"pu" => f.pu = pos,
                b"stream" => f.stream = pos,
                b"data" => f.data = pos,
                b"result" | b"id" | b"error" | b"code" => f.reply = true,
                _ => {}
            }
            i = v + span(value);
        }
        Ok(f)
    }

    /// Where the value of single-letter key `key` (one of [`LETTERS`]) starts, if present.
    #[inline]
    pub fn get(&self, key: u8) -> Option<usize> {
        debug_assert!(LETTERS.contains(&key), "key {:?} is not collected", char::from(key));
        match self.letters.get(usize::from(SLOT[usize::from(key)])) {
            Some(&p) if p != 0 && SLOT[usize::from(key)] != 0 => Some(p as usize),
            _ => None,
        }
    }

    /// Where the value of `key` starts; absent → `WrongType` (a required field is missing).
    #[inline]
    pub fn req(&self, key: u8) -> Result<usize, Reject> {
        self.get(key).ok_or(Reject::WrongType)
    }

    /// `pu`, if present.
    #[inline]
    pub fn pu(&self) -> Option<usize> {
        (self.pu != 0).then_some(self.pu as usize)
    }
}

/// Typed reads of tape values. Every mismatch is one [`Reject`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Doc<'t, 'i>(pub &'t [Node<'i>]);

impl<'t, 'i> Doc<'t, 'i> {
    #[inline]
    fn node(&self, at: usize) -> Result<&'t Node<'i>, Reject> {
        self.0.get(at).ok_or(Reject::MalformedJson)
    }

    /// A string value.
    #[inline]
    pub fn str(&self, at: usize) -> Result<&'i str, Reject> {
        match self.node(at)? {
            Node::String(s) => Ok(s),
            _ => Err(Reject::WrongType),
        }
    }

    /// A non-negative integer (ids, times). Negative or fractional → `InvalidNumber`.
    #[inline]
    pub fn u64(&self, at: usize) -> Result<u64, Reject> {
        match self.node(at)? {
            Node::Static(StaticNode::U64(v)) => Ok(*v),
            Node::Static(StaticNode::I64(v)) => {
                u64::try_from(*v).map_err(|_| Reject::InvalidNumber)
            }
            Node::Static(StaticNode::F64(_)) => Err(Reject::InvalidNumber),
            _ => Err(Reject::WrongType),
        }
    }

    /// Exchange milliseconds as nanoseconds; beyond the `i64` range → `InvalidNumber`.
    #[inline]
    pub fn ms_as_ns(&self, at: usize) -> Result<i64, Reject> {
        let ms = self.u64(at)?;
        i64::try_from(ms).ok().and_then(|v| v.checked_mul(1_000_000)).ok_or(Reject::InvalidNumber)
    }

    /// A boolean.
    #[inline]
    pub fn bool(&self, at: usize) -> Result<bool, Reject> {
        match self.node(at)? {
            Node::Static(StaticNode::Bool(b)) => Ok(*b),
            _ => Err(Reject::WrongType),
        }
    }

    /// A decimal string as fixed point (1e-8). A JSON number instead of a string → `WrongType`.
    #[inline]
    pub fn fixed(&self, at: usize) -> Result<i64, Reject> {
        parse_fixed(self.str(at)?.as_bytes()).map_err(|_| Reject::InvalidNumber)
    }

    /// An array of `[price, qty]` string pairs, appended to `out` (cleared first).
    pub fn levels(&self, at: usize, out: &mut Vec<Level>) -> Result<(), Reject> {
        out.clear();
        let Node::Array { len, .. } = self.node(at)? else {
            return Err(Reject::WrongType);
        };
        let mut i = at + 1;
        for _ in 0..*len {
            let pair = self.node(i)?;
            let Node::Array { len: 2.., .. } = pair else {
                return Err(Reject::WrongType);
            };
            let px = self.fixed(i + 1)?;
            let qty = self.fixed(i + 2)?;
            out.push(Level { px, qty });
            i += span(pair);
        }
        Ok(())
    }
}
