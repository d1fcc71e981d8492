//! The market data shipped in `config/data/` is byte-for-byte the published capture it claims to
//! be (pinned by SHA-256, as `../shared/data/SHA256SUMS` pins the originals).

use sha2::{Digest, Sha256};
use tickrail_tests::{shared_data, workspace};

const PINNED: [(&str, &str); 2] = [
    (
        "binance_spot_btcusdt_20240808_2354-2400.capture.gz",
        "5d263f4c5379cfc27379ef0e22779aa33804463d1b69c292e9c0714e31f2e1b4",
    ),
    (
        "binance_spot_ethusdt_20240808_2354-2400.capture.gz",
        "179a67651ec90f8d299c033f85df29027315a30a738eae74a1388d560f80a737",
    ),
];

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn bundled_captures_match_their_pinned_hashes() {
    for (name, want) in PINNED {
        let bytes = std::fs::read(workspace().join("config/data").join(name)).unwrap();
        assert_eq!(sha256_hex(&bytes), want, "{name}");
    }
}

#[test]
fn bundled_captures_are_the_ones_the_shared_data_pins() {
    let Some(shared) = shared_data() else {
        eprintln!("skipped: ../shared/data is not beside the checkout");
        return;
    };
    let sums = std::fs::read_to_string(shared.join("SHA256SUMS")).unwrap();
    for (name, want) in PINNED {
        let line = sums
            .lines()
            .find(|l| l.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not in SHA256SUMS"));
        assert!(line.starts_with(want), "{line}");
    }
}
