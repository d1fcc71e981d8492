//! libFuzzer entry for the `candles_csv` reader target (see `tickrail_tests::fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tickrail_tests::fuzz::run(tickrail_tests::fuzz::Target::CandlesCsv, data);
});
