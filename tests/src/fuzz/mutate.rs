//! Structure-aware byte mutations for the stable-toolchain mutation tests, and the CRC sealing
//! that lets mutated journals and archives reach the readers' payload validation.
//!
//! [`Mutator::mutate`] applies one to four of: byte flips, truncation, insertion of
//! JSON-significant bytes, splicing two seeds, replacing a number with a hostile one (huge, NaN,
//! negative, exponent, overflowing), breaking UTF-8, duplicating or deleting a run, and writing
//! an extreme little-endian integer over binary fields. Everything is drawn from a seeded
//! [`SmallRng`], so a failing case is reproduced by its seed and case number.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Bytes that change the shape of JSON, TOML and CSV.
const SIGNIFICANT: &[u8] = b"{}[]\",:\\ \n\r\t.-+eE0123456789=#'tfn";

/// Numbers a reader must refuse or survive.
const HOSTILE_NUMBERS: &[&str] = &[
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "-1",
    "-0.0",
    "0",
    "0.00000000",
    "1e308",
    "1e-400",
    "1.0E+999",
    "99999999999999999999999999999",
    "92233720368.54775808",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "1.000000001",
    "0x10",
    "",
    "\"\"",
    "null",
    "true",
    "[]",
    "{}",
];

/// Little-endian integers written over binary fields (lengths, counts, sequence numbers).
const EXTREME_U64: [u64; 8] =
    [0, 1, 0x7f, 0xff, 0xffff_ffff, 0x8000_0000, u64::MAX, i64::MAX as u64];

/// A seeded source of mutated inputs.
#[derive(Debug)]
pub struct Mutator {
    rng: SmallRng,
}

impl Mutator {
    /// A mutator whose choices all follow from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { rng: SmallRng::seed_from_u64(seed) }
    }

    /// A mutated copy of one of `seeds` (one to four mutations stacked).
    pub fn mutate(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        assert!(!seeds.is_empty(), "no seeds");
        let mut data = seeds[self.rng.random_range(0..seeds.len())].clone();
        for _ in 0..self.rng.random_range(1..=4) {
            self.once(&mut data, seeds);
        }
        data
    }

    fn pos(&mut self, data: &[u8]) -> usize {
        if data.is_empty() {
            0
        } else {
            self.rng.random_range(0..data.len())
        }
    }

    fn once(&mut self, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
        match self.rng.random_range(0..11u32) {
            0 if !data.is_empty() => {
                let at = self.pos(data);
                data[at] ^= 1 << self.rng.random_range(0..8);
            }
            1 if !data.is_empty() => {
                let at = self.pos(data);
                data[at] = self.rng.random();
            }
            2 => {
                let at = self.pos(data);
                data.truncate(at);
            }
            3 => {
                let at = self.pos(data);
                let b = SIGNIFICANT[self.rng.random_range(0..SIGNIFICANT.len())];
                data.insert(at.min(data.len()), b);
            }
            4 => {
                let other = &seeds[self.rng.random_range(0..seeds.len())];
                let cut = self.pos(data);
                let from = if other.is_empty() { 0 } else { self.rng.random_range(0..other.len()) };
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            5 => self.replace_number(data),
            6 if !data.is_empty() => {
                // Break UTF-8: a stray continuation byte, a lone lead byte, or an invalid byte.
                let at = self.pos(data);
                let bad: &[u8] = match self.rng.random_range(0..4u32) {
                    0 => &[0x80],
                    1 => &[0xc3],
                    2 => &[0xff, 0xfe],
                    _ => &[0xe2, 0x82],
                };
                data.splice(at..at, bad.iter().copied());
            }
            7 if !data.is_empty() => {
                let at = self.pos(data);
                let len = self.rng.random_range(1..=64usize).min(data.len() - at);
                let run = data[at..at + len].to_vec();
                data.splice(at..at, run);
            }
            8 if !data.is_empty() => {
                let at = self.pos(data);
                let len = self.rng.random_range(1..=64usize).min(data.len() - at);
                data.drain(at..at + len);
            }
            9 if data.len() >= 8 => {
                let at = self.rng.random_range(0..=data.len() - 8);
                let v = EXTREME_U64[self.rng.random_range(0..EXTREME_U64.len())];
                let width = [1usize, 2, 4, 8][self.rng.random_range(0..4)];
                data[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
            }
            _ => {
                let at = self.pos(data);
                let b = self.rng.random();
                data.insert(at.min(data.len()), b);
            }
        }
    }

    /// Replaces a run of number characters (quoted or not) with a hostile number.
    fn replace_number(&mut self, data: &mut Vec<u8>) {
        let is_num = |b: u8| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'e' || b == b'E';
        let start = self.pos(data);
        let Some(first) = (start..data.len()).chain(0..start).find(|&i| data[i].is_ascii_digit())
        else {
            return;
        };
        let mut a = first;
        while a > 0 && is_num(data[a - 1]) {
            a -= 1;
        }
        let mut b = first;
        while b < data.len() && is_num(data[b]) {
            b += 1;
        }
        let with = HOSTILE_NUMBERS[self.rng.random_range(0..HOSTILE_NUMBERS.len())];
        data.splice(a..b, with.bytes());
    }
}

/// Makes every CRC of a journal segment match its bytes: the header's, then each frame's, as
/// far as the frame lengths lead (a frame running past the end is left as it is).
pub fn seal_journal(d: &mut [u8]) {
    use tickrail_engine::journal::HEADER_LEN;
    if d.len() < HEADER_LEN {
        return;
    }
    let crc = crc32fast::hash(&d[..28]);
    d[28..32].copy_from_slice(&crc.to_le_bytes());
    let mut pos = HEADER_LEN;
    while pos + 8 <= d.len() {
        let len = u32::from_le_bytes([d[pos], d[pos + 1], d[pos + 2], d[pos + 3]]) as usize;
        let Some(end) = (pos + 8).checked_add(len).filter(|&e| e <= d.len()) else {
            return;
        };
        let crc = crc32fast::hash(&d[pos + 8..end]);
        d[pos + 4..pos + 8].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
}

/// Makes every CRC of a tick archive match its bytes: the file header's seal and the meta CRC
/// it holds, then each chunk header's body CRC and seal, as far as the lengths lead.
pub fn seal_archive(d: &mut [u8]) {
    const BLOCK: usize = 64;
    let pad = |len: usize| (BLOCK - len % BLOCK) % BLOCK;
    let le32 = |d: &[u8], at: usize| u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
    let seal = |d: &mut [u8], at: usize| {
        let crc = crc32fast::hash(&d[at..at + 60]);
        d[at + 60..at + 64].copy_from_slice(&crc.to_le_bytes());
    };
    if d.len() < BLOCK {
        return;
    }
    let meta_len = le32(d, 12) as usize;
    if let Some(meta) = d.get(BLOCK..BLOCK.saturating_add(meta_len)) {
        let crc = crc32fast::hash(meta);
        d[16..20].copy_from_slice(&crc.to_le_bytes());
    }
    seal(d, 0);
    let mut pos = BLOCK.saturating_add(meta_len).saturating_add(pad(meta_len));
    while pos.saturating_add(BLOCK) <= d.len() {
        let body_len = le32(d, pos + 8) as usize;
        let body = pos + BLOCK;
        if let Some(b) = d.get(body..body.saturating_add(body_len)) {
            let crc = crc32fast::hash(b);
            d[pos + 12..pos + 16].copy_from_slice(&crc.to_le_bytes());
        }
        seal(d, pos);
        pos = body.saturating_add(body_len).saturating_add(pad(body_len));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_cases() {
        let seeds = vec![br#"{"p":"1.5","q":[1,2]}"#.to_vec(), b"a,b\n1,2\n".to_vec()];
        let (mut a, mut b) = (Mutator::new(7), Mutator::new(7));
        for _ in 0..200 {
            assert_eq!(a.mutate(&seeds), b.mutate(&seeds));
        }
    }

    #[test]
    fn sealing_short_or_odd_inputs_never_panics() {
        for len in 0..300 {
            let mut d: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            seal_journal(&mut d);
            let mut d: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            seal_archive(&mut d);
            let mut d = vec![0xff; len];
            seal_journal(&mut d);
            let mut d = vec![0xff; len];
            seal_archive(&mut d);
        }
    }
}
