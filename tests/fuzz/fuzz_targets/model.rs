//! libFuzzer entry for the `model` reader target (see `tickrail_tests::fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tickrail_tests::fuzz::run(tickrail_tests::fuzz::Target::Model, data);
});
