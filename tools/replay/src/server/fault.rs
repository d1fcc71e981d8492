//! Faults at random points: which connection ends how, and after how many data messages.
//!
//! With [`RandomFaults`] each connection draws, from a seed and its own number, how many data
//! messages it carries (uniformly in `after_min..=after_max`) and which [`FaultKind`] ends it
//! (the kinds in turn, or drawn at random). The same seed gives the same faults, so a failing
//! run can be repeated. [`FaultStream`] is the socket wrapper that writes frames one byte at a
//! time for [`FaultKind::Split`].

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::str::FromStr;

/// How an injected fault ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The TCP connection is closed without a Close frame.
    Drop,
    /// A Close frame (1001 "going away"), then the connection ends.
    CloseFrame,
    /// The server stops sending (data and pings) and stops answering the client's pings, but
    /// keeps TCP open: only the client's own staleness or ping timeout ends the connection.
    Silence,
    /// Every frame of the connection is written to the socket one byte at a time (the client
    /// reassembles frames from 1-byte reads); then the connection is dropped as with
    /// [`Drop`](Self::Drop).
    Split,
}

impl FaultKind {
    /// Every kind, in the order [`FaultMix::Rotate`] uses by default.
    pub const ALL: [FaultKind; 4] =
        [FaultKind::Drop, FaultKind::CloseFrame, FaultKind::Silence, FaultKind::Split];

    /// The name used on the command line (`drop`, `close`, `silence`, `split`).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Drop => "drop",
            FaultKind::CloseFrame => "close",
            FaultKind::Silence => "silence",
            FaultKind::Split => "split",
        }
    }
}

/// A fault kind name that is not one of `drop`, `close`, `silence`, `split`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault kind `{0}`: expected drop, close, silence or split")]
pub struct FaultKindParseError(pub String);

impl FromStr for FaultKind {
    type Err = FaultKindParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| FaultKindParseError(s.to_owned()))
    }
}

/// How the kinds of [`RandomFaults::kinds`] are given out to connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FaultMix {
    /// Faulted connections take the kinds in turn (the first gets the first kind).
    #[default]
    Rotate,
    /// Each faulted connection draws its kind from the seed.
    Random,
}

/// A mix name that is neither `rotate` nor `random`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault mix `{0}`: expected rotate or random")]
pub struct FaultMixParseError(pub String);

impl FromStr for FaultMix {
    type Err = FaultMixParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rotate" => Ok(FaultMix::Rotate),
            "random" => Ok(FaultMix::Random),
            _ => Err(FaultMixParseError(s.to_owned())),
        }
    }
}

/// Faults at seeded random points, one per connection, of mixed kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomFaults {
    /// Fewest data messages a connection carries before its fault (at least 1).
    pub after_min: u64,
    /// Most data messages a connection carries before its fault (inclusive).
    pub after_max: u64,
    /// The kinds to inject (at least one).
    pub kinds: Vec<FaultKind>,
    /// How the kinds are given out.
    pub mix: FaultMix,
    /// Seed of the draws: the same seed gives every connection the same fault.
    pub seed: u64,
    /// Give a fault to at most this many connections; later ones run undisturbed.
    pub limit: Option<u64>,
}

impl RandomFaults {
    /// Every kind in turn, after `after_min..=after_max` messages, seed 0, no limit.
    pub fn every_kind(after_min: u64, after_max: u64) -> Self {
        Self {
            after_min,
            after_max,
            kinds: FaultKind::ALL.to_vec(),
            mix: FaultMix::Rotate,
            seed: 0,
            limit: None,
        }
    }

    /// What is wrong with these settings, if anything.
    pub(super) fn check(&self) -> Result<(), &'static str> {
        if self.after_min == 0 {
            return Err("random faults: after_min must be at least 1");
        }
        if self.after_max < self.after_min {
            return Err("random faults: after_max must not be below after_min");
        }
        if self.kinds.is_empty() {
            return Err("random faults: at least one fault kind is needed");
        }
        Ok(())
    }

    /// The fault of the `ordinal`-th faulted connection (0-based).
    pub(super) fn draw(&self, ordinal: u64) -> ConnFault {
        let mut state = self.seed ^ ordinal.wrapping_mul(0xA076_1D64_78BD_642F);
        let span = self.after_max - self.after_min;
        let r = splitmix64(&mut state);
        let after = self.after_min + span.checked_add(1).map_or(r, |m| r % m);
        let n = self.kinds.len() as u64;
        let pick = match self.mix {
            FaultMix::Rotate => ordinal % n,
            FaultMix::Random => splitmix64(&mut state) % n,
        };
        ConnFault { after, kind: self.kinds[pick as usize] }
    }
}

/// The fault planned for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConnFault {
    /// Data messages sent before it.
    pub(super) after: u64,
    /// What it does.
    pub(super) kind: FaultKind,
}

/// SplitMix64: a small, well-mixed generator; enough for fault draws, and no dependency.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Injected faults counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Abrupt drops ([`FaultKind::Drop`] and [`FaultPlan::drop_every`](super::FaultPlan)).
    pub drops: u64,
    /// Close frames ([`FaultKind::CloseFrame`] and `FaultPlan::close_frame_every`).
    pub close_frames: u64,
    /// Connections gone silent ([`FaultKind::Silence`]).
    pub silences: u64,
    /// Connections written one byte at a time and then dropped ([`FaultKind::Split`]).
    pub splits: u64,
}

impl FaultCounts {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.drops + self.close_frames + self.silences + self.splits
    }
}

/// A connection's socket; with `one_byte` set, every write sends one byte per system call.
#[derive(Debug)]
pub(super) struct FaultStream {
    pub(super) tcp: TcpStream,
    pub(super) one_byte: bool,
}

impl Read for FaultStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.read(buf)
    }
}

impl Write for FaultStream {
    /// In one-byte mode, writes the whole buffer one byte per call to the socket (so frames reach
    /// the client in 1-byte segments, `TCP_NODELAY` being set) and reports how many bytes went
    /// out: an error only when not even the first byte could be written, so nothing is ever
    /// written twice.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.one_byte {
            return self.tcp.write(buf);
        }
        let mut done = 0;
        while done < buf.len() {
            match self.tcp.write(&buf[done..=done]) {
                Ok(0) => break,
                Ok(_) => done += 1,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_and_mixes() {
        assert_eq!("drop".parse::<FaultKind>(), Ok(FaultKind::Drop));
        assert_eq!("Close".parse::<FaultKind>(), Ok(FaultKind::CloseFrame));
        assert_eq!(" silence ".parse::<FaultKind>(), Ok(FaultKind::Silence));
        assert_eq!("SPLIT".parse::<FaultKind>(), Ok(FaultKind::Split));
        assert!("reset".parse::<FaultKind>().unwrap_err().to_string().contains("`reset`"));
        assert_eq!("rotate".parse::<FaultMix>(), Ok(FaultMix::Rotate));
        assert_eq!("Random".parse::<FaultMix>(), Ok(FaultMix::Random));
        assert!("shuffle".parse::<FaultMix>().is_err());
        for k in FaultKind::ALL {
            assert_eq!(k.name().parse::<FaultKind>(), Ok(k));
        }
    }

    #[test]
    fn draws_stay_in_range_repeat_per_seed_and_rotate_kinds() {
        let plan = RandomFaults { seed: 42, ..RandomFaults::every_kind(10, 20) };
        let draws: Vec<ConnFault> = (0..400).map(|i| plan.draw(i)).collect();
        assert!(draws.iter().all(|d| (10..=20).contains(&d.after)));
        // Uniform enough that both ends of the range come up.
        assert!(draws.iter().any(|d| d.after == 10) && draws.iter().any(|d| d.after == 20));
        assert_eq!(draws, (0..400).map(|i| plan.draw(i)).collect::<Vec<_>>(), "seeded");
        let other = RandomFaults { seed: 43, ..plan.clone() };
        assert_ne!(draws, (0..400).map(|i| other.draw(i)).collect::<Vec<_>>());
        let kinds: Vec<FaultKind> = draws.iter().take(8).map(|d| d.kind).collect();
        assert_eq!(kinds[..4], FaultKind::ALL);
        assert_eq!(kinds[4..], FaultKind::ALL);
    }

    #[test]
    fn random_mix_gives_every_kind_out() {
        let plan =
            RandomFaults { mix: FaultMix::Random, seed: 7, ..RandomFaults::every_kind(1, 1) };
        let mut seen = [0u32; 4];
        for i in 0..1000 {
            let d = plan.draw(i);
            assert_eq!(d.after, 1);
            seen[FaultKind::ALL.iter().position(|k| *k == d.kind).unwrap()] += 1;
        }
        assert!(seen.iter().all(|&n| (150..=350).contains(&n)), "{seen:?}");
    }

    #[test]
    fn rejects_empty_ranges_and_kinds() {
        assert!(RandomFaults::every_kind(0, 5).check().is_err());
        assert!(RandomFaults::every_kind(6, 5).check().is_err());
        assert!(RandomFaults { kinds: vec![], ..RandomFaults::every_kind(1, 5) }.check().is_err());
        assert!(RandomFaults::every_kind(5, 5).check().is_ok());
    }

    #[test]
    fn one_byte_writes_deliver_everything_in_order() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got
        });
        let mut fs = FaultStream { tcp: TcpStream::connect(addr).unwrap(), one_byte: true };
        let payload: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(fs.write(&payload).unwrap(), payload.len());
        drop(fs);
        assert_eq!(reader.join().unwrap(), payload);
    }
}
