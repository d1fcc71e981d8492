//! libFuzzer entry for the `archive` reader target (see `tickrail_tests::fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tickrail_tests::fuzz::run(tickrail_tests::fuzz::Target::Archive, data);
});
