//! Why an input message did not become a tick. Every received message is either processed or
//! counted here under exactly one reason.

/// The reason a received message was rejected. `Copy`, never allocates: used on the hot path.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reject {
    /// Not valid JSON (includes truncated frames).
    MalformedJson = 0,
    /// Not UTF-8 text, or a binary frame.
    NotText,
    /// Valid JSON of the wrong shape: a field missing or of the wrong type.
    WrongType,
    /// A price or quantity that is not a finite, non-negative decimal with at most 8 decimals
    /// that fits the fixed-point range (NaN, negative, huge, exponent notation…).
    InvalidNumber,
    /// A stream this engine does not know (not subscribed, or an unsupported stream kind).
    UnknownStream,
    /// A symbol that is not in the configured symbol table.
    UnknownSymbol,
    /// A frame larger than the configured maximum.
    OversizedFrame,
    /// A depth update at or before the book snapshot (`u <= lastUpdateId`): dropped by
    /// Binance's sync procedure.
    DepthBeforeSnapshot,
    /// A depth update that does not continue the book (`U != prev.u + 1`): the book resyncs.
    DepthGap,
    /// A trade id at or before the last one seen for the symbol (a replayed duplicate).
    Duplicate,
    /// Exchange control or subscription replies (`{"result":null,"id":1}`, `serverShutdown`).
    Control,
}

impl Reject {
    /// Number of reasons.
    pub const COUNT: usize = 11;

    /// Every reason, in discriminant order.
    pub const ALL: [Reject; Self::COUNT] = [
        Self::MalformedJson,
        Self::NotText,
        Self::WrongType,
        Self::InvalidNumber,
        Self::UnknownStream,
        Self::UnknownSymbol,
        Self::OversizedFrame,
        Self::DepthBeforeSnapshot,
        Self::DepthGap,
        Self::Duplicate,
        Self::Control,
    ];

    /// The snake_case name used in reports and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::NotText => "not_text",
            Self::WrongType => "wrong_type",
            Self::InvalidNumber => "invalid_number",
            Self::UnknownStream => "unknown_stream",
            Self::UnknownSymbol => "unknown_symbol",
            Self::OversizedFrame => "oversized_frame",
            Self::DepthBeforeSnapshot => "depth_before_snapshot",
            Self::DepthGap => "depth_gap",
            Self::Duplicate => "duplicate",
            Self::Control => "control",
        }
    }
}

/// Counts per [`Reject`] reason. Plain array: increments never allocate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectCounts(pub [u64; Reject::COUNT]);

impl RejectCounts {
    /// Counts one rejection.
    #[inline]
    pub fn add(&mut self, r: Reject) {
        self.0[r as usize] += 1;
    }

    /// The count for one reason.
    pub fn get(&self, r: Reject) -> u64 {
        self.0[r as usize]
    }

    /// All rejections.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &RejectCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    /// Non-zero (name, count) pairs.
    pub fn iter_nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Reject::ALL.iter().map(|r| (r.name(), self.get(*r))).filter(|(_, n)| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order() {
        for (i, r) in Reject::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }
}
