//! File-name parser: never panics; whatever parses writes back unchanged and re-parses equal.
#![no_main]
use libfuzzer_sys::fuzz_target;
use renkei_spec::name::{self, Profile};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for profile in [Profile::STRICT, Profile::LENIENT] {
        if let Ok(p) = name::parse(s, profile) {
            let again = p.name.to_string();
            assert_eq!(again, s, "a parsed name writes back unchanged");
            assert_eq!(name::parse(&again, profile).map(|p| p.name), Ok(p.name));
        }
    }
});
