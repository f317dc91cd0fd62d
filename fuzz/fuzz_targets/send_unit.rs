//! Send-unit grouping and cross-file links on arbitrary contents of a valid-looking unit.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.splitn(3, |&b| b == 0xFF).collect();
    let tail = "2794900205_43_2875104529_15_20250317182009.CSV";
    let names = [format!("UPPLAN_202505_{tail}"), format!("UPSIKYU_202505_{tail}"), format!("UPHOSOKU_202505_{tail}")];
    let files = names.iter().zip(parts.iter().chain(std::iter::repeat(&&b""[..]))).map(|(n, b)| (n.clone(), b.to_vec())).collect();
    let _ = renkei_spec::check(files);
});
