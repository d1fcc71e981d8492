//! # tickrail-plugin-counting
//!
//! A test strategy that proves delivery: it counts ticks, sums their engine sequence numbers and
//! chains them into an order-sensitive FNV-1a hash, and emits one intent per tick whose
//! `client_tag` is the tick's `seq`, whose `qty` is the tick count after this tick and whose
//! `size_hint` is the build's variant id. After any number of hot swaps, a final state with
//! `ticks == n`, `seq_sum == n(n-1)/2` and `seq_hash == fingerprint(0..n)` means every tick was seen
//! exactly once, in order; the intents say which build handled which tick.
//!
//! Two builds differ only by the `variant-b` feature (version `1.0.0-b`, variant 2 instead of
//! `1.0.0-a`, 1). `plugins/c_counting` is the same strategy in C (variant 3) with the same snapshot
//! format, so state moves between Rust and C builds in either direction.
//!
//! **Configuration** (bytes, `key=value` items separated by newlines, commas or semicolons; empty is
//! fine): `fail_at=SEQ` returns an error on the tick with that sequence, `panic_at=SEQ` panics on
//! it (Rust builds only), `emit=0` turns the intents off.
//!
//! **Snapshot** (48 bytes, little-endian): `b"TRCOUNT1"`, then `ticks`, `seq_sum`, `seq_hash`,
//! `next_seq` (last seq + 1; 0 before the first tick) and `out_of_order` (ticks whose seq was not
//! `next_seq`), each a `u64`.
//!
//! ```
//! use tickrail_plugin_counting::CountingState;
//! let mut s = CountingState::default();
//! for seq in 0..3 { s.record(seq); }
//! assert_eq!(CountingState::decode(&s.encode()).unwrap(), s);
//! assert_eq!(s.seq_hash, CountingState::fingerprint(0..3));
//! ```
#![deny(unsafe_code)]

use std::ffi::CStr;

use tickrail_abi::export::{Orders, PluginStrategy, SnapshotWriter, StrategyError, TickContext};
use tickrail_abi::{OrderIntent, Side};

/// The build's variant id (in every intent's `size_hint`): 1, or 2 with `variant-b`.
pub const VARIANT: u32 = if cfg!(feature = "variant-b") { 2 } else { 1 };

/// First 8 bytes of every counting snapshot.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"TRCOUNT1";
/// Length of a counting snapshot.
pub const SNAPSHOT_LEN: usize = 48;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// What the counting strategy knows; also its snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountingState {
    /// Ticks seen.
    pub ticks: u64,
    /// Wrapping sum of their sequence numbers.
    pub seq_sum: u64,
    /// FNV-1a-style chain over the sequence numbers, in arrival order.
    pub seq_hash: u64,
    /// Last seq + 1 (0 before the first tick).
    pub next_seq: u64,
    /// Ticks whose seq was not `next_seq` (a gap, a duplicate or a reordering).
    pub out_of_order: u64,
}

impl Default for CountingState {
    fn default() -> Self {
        Self { ticks: 0, seq_sum: 0, seq_hash: FNV_OFFSET, next_seq: 0, out_of_order: 0 }
    }
}

impl CountingState {
    /// Adds one tick.
    #[inline]
    pub fn record(&mut self, seq: u64) {
        if self.ticks > 0 && seq != self.next_seq {
            self.out_of_order += 1;
        }
        self.ticks += 1;
        self.seq_sum = self.seq_sum.wrapping_add(seq);
        self.seq_hash = (self.seq_hash ^ seq).wrapping_mul(FNV_PRIME);
        self.next_seq = seq.wrapping_add(1);
    }

    /// The hash of `seqs` delivered in order, once each.
    pub fn fingerprint(seqs: impl IntoIterator<Item = u64>) -> u64 {
        seqs.into_iter().fold(FNV_OFFSET, |h, s| (h ^ s).wrapping_mul(FNV_PRIME))
    }

    /// The snapshot bytes.
    pub fn encode(&self) -> [u8; SNAPSHOT_LEN] {
        let mut b = [0u8; SNAPSHOT_LEN];
        b[..8].copy_from_slice(SNAPSHOT_MAGIC);
        let words = [self.ticks, self.seq_sum, self.seq_hash, self.next_seq, self.out_of_order];
        for (i, w) in words.iter().enumerate() {
            b[8 + 8 * i..16 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// Reads snapshot bytes; the error says what is wrong with them.
    pub fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() != SNAPSHOT_LEN || &b[..8] != SNAPSHOT_MAGIC {
            let head = String::from_utf8_lossy(&b[..b.len().min(8)]).into_owned();
            return Err(format!(
                "counting snapshot: expected {SNAPSHOT_LEN} bytes starting with \"TRCOUNT1\", \
                 found {} bytes starting with {head:?}",
                b.len()
            ));
        }
        let w = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[8 + 8 * i..16 + 8 * i]);
            u64::from_le_bytes(a)
        };
        Ok(Self { ticks: w(0), seq_sum: w(1), seq_hash: w(2), next_seq: w(3), out_of_order: w(4) })
    }
}

/// Configuration of the counting strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountingConfig {
    /// Fail (status `Error`) on the tick with this seq.
    pub fail_at: Option<u64>,
    /// Panic on the tick with this seq.
    pub panic_at: Option<u64>,
    /// Emit one intent per tick.
    pub emit: bool,
}

impl CountingConfig {
    /// Parses `key=value` items; names the offending item on error.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let text =
            std::str::from_utf8(bytes).map_err(|e| format!("counting config: not UTF-8: {e}"))?;
        let mut c = Self { fail_at: None, panic_at: None, emit: true };
        for item in text.split(['\n', ',', ';']).map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("counting config: {item:?} is not key=value"))?;
            let (k, v) = (k.trim(), v.trim());
            let num = || {
                v.parse::<u64>()
                    .map_err(|_| format!("counting config: {k} = {v:?} is not an unsigned integer"))
            };
            match k {
                "fail_at" => c.fail_at = Some(num()?),
                "panic_at" => c.panic_at = Some(num()?),
                "emit" => c.emit = num()? != 0,
                _ => {
                    return Err(format!(
                        "counting config: unknown key {k:?} (known: fail_at, panic_at, emit)"
                    ))
                }
            }
        }
        Ok(c)
    }
}

/// The counting strategy.
#[derive(Debug)]
pub struct Counting {
    state: CountingState,
    config: CountingConfig,
}

impl Counting {
    /// The current state.
    pub fn state(&self) -> &CountingState {
        &self.state
    }
}

impl PluginStrategy for Counting {
    const NAME: &'static CStr = c"counting";
    const VERSION: &'static CStr =
        if cfg!(feature = "variant-b") { c"1.0.0-b" } else { c"1.0.0-a" };

    fn create(config: &[u8]) -> Result<Self, StrategyError> {
        let config = CountingConfig::parse(config).map_err(StrategyError::config)?;
        Ok(Self { state: CountingState::default(), config })
    }

    #[inline]
    fn on_tick(
        &mut self,
        ctx: &TickContext<'_>,
        out: &mut Orders<'_>,
    ) -> Result<(), StrategyError> {
        let seq = ctx.seq;
        if self.config.panic_at == Some(seq) {
            // A copy in the message: formatting `ctx.seq` itself would pin `ctx` to memory.
            panic!("counting: panic_at={seq} reached");
        }
        if self.config.fail_at == Some(ctx.seq) {
            return Err(StrategyError::error("counting: fail_at reached"));
        }
        self.state.record(ctx.seq);
        if self.config.emit {
            let mut intent =
                OrderIntent::market(ctx.tick.symbol, Side::Buy, self.state.ticks as i64, ctx.seq);
            intent.size_hint = f64::from(VARIANT);
            out.push(intent)?;
        }
        Ok(())
    }

    fn snapshot(&self, out: &mut SnapshotWriter<'_>) {
        out.write(&self.state.encode());
    }

    fn restore(bytes: &[u8], config: &[u8]) -> Result<Self, StrategyError> {
        let state = CountingState::decode(bytes).map_err(StrategyError::snapshot)?;
        let config = CountingConfig::parse(config).map_err(StrategyError::config)?;
        Ok(Self { state, config })
    }
}

tickrail_abi::export_strategy!(Counting);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_gaps_and_duplicates() {
        let mut s = CountingState::default();
        for seq in [0, 1, 1, 3] {
            s.record(seq);
        }
        assert_eq!((s.ticks, s.out_of_order), (4, 2));
        assert_ne!(s.seq_hash, CountingState::fingerprint(0..4));
    }

    #[test]
    fn config_errors_name_the_item() {
        assert!(CountingConfig::parse(b"fail_at=x").unwrap_err().contains("fail_at"));
        assert!(CountingConfig::parse(b"speed=1").unwrap_err().contains("unknown key \"speed\""));
        assert_eq!(CountingConfig::parse(b"emit=0, panic_at=7").unwrap().panic_at, Some(7));
    }

    #[test]
    fn decode_names_what_it_found() {
        let e = CountingState::decode(b"TRDUMMY1").unwrap_err();
        assert!(e.contains("found 8 bytes starting with \"TRDUMMY1\""), "{e}");
    }
}
