//! ZIP files as some care software exports them, opened safely: entries are read into memory
//! (never written to a path taken from the archive), names without the UTF-8 flag are decoded as
//! CP932 (MS932) rather than CP437, and traversal, too many entries, too many bytes and
//! suspicious compression ratios are refused. The declared sizes are not trusted: every entry is
//! read through a limit.

use std::fmt;
use std::io::Read as _;

/// Limits against zip bombs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries (files and folders).
    pub max_entries: usize,
    /// Bytes of one extracted file.
    pub max_file_bytes: u64,
    /// Bytes of all extracted files.
    pub max_total_bytes: u64,
    /// Extracted size ÷ compressed size, per entry (only for entries over 64 KiB extracted).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_entries: 2000, max_file_bytes: 20 * 1024 * 1024, max_total_bytes: 200 * 1024 * 1024, max_ratio: 200 }
    }
}

/// Why a ZIP (or one entry) was refused. Messages are Japanese, for the clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipError {
    /// Not a readable ZIP.
    NotZip(String),
    /// Encrypted entries cannot be read.
    Encrypted(String),
    /// More entries than allowed.
    TooManyEntries(usize),
    /// An entry's path leaves the folder (`..`, absolute, drive letter).
    Traversal(String),
    /// An entry's name is neither UTF-8 nor CP932.
    BadName(Vec<u8>),
    /// An entry, or the whole, is larger than allowed.
    TooLarge(String),
    /// An entry compresses suspiciously well.
    Ratio(String, u64),
}

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZipError::NotZip(e) => write!(f, "ZIPファイルとして読めません（{e}）"),
            ZipError::Encrypted(n) => write!(f, "「{n}」はパスワード付きのため開けません。パスワードなしで書き出してください"),
            ZipError::TooManyEntries(n) => write!(f, "ZIPファイルの中身が多すぎます（{n}件）"),
            ZipError::Traversal(n) => write!(f, "「{n}」はフォルダーの外を指す名前のため取り出しません（安全のため）"),
            ZipError::BadName(b) => write!(f, "ZIP内のファイル名を読めません（{}バイト）", b.len()),
            ZipError::TooLarge(n) => write!(f, "「{n}」は大きすぎるため取り出しません（ZIP爆弾の疑い）"),
            ZipError::Ratio(n, r) => write!(f, "「{n}」の圧縮率が異常です（{r}倍。ZIP爆弾の疑い）"),
        }
    }
}

impl std::error::Error for ZipError {}

/// Does this look like a ZIP file?
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// An entry's name: UTF-8 when it is valid UTF-8 (also what the UTF-8 flag means), else CP932.
fn decode_name(raw: &[u8]) -> Result<String, ZipError> {
    if let Ok(s) = std::str::from_utf8(raw) {
        return Ok(s.to_owned());
    }
    let d = renkei_spec::ms932::decode(raw);
    if d.errors.is_empty() { Ok(d.text) } else { Err(ZipError::BadName(raw.to_vec())) }
}

/// The bare file name of a safe relative path, or a traversal error.
fn safe_name(name: &str) -> Result<Option<String>, ZipError> {
    let parts: Vec<&str> = name.split(['/', '\\']).collect();
    let absolute = name.starts_with(['/', '\\']) || name.as_bytes().get(1) == Some(&b':');
    if absolute || parts.contains(&"..") {
        return Err(ZipError::Traversal(name.to_owned()));
    }
    let base = parts.iter().rev().find(|p| !p.is_empty()).map(|s| (*s).to_owned());
    // Folders and OS litter (macOS resource forks, Thumbs.db) carry no data to send.
    Ok(base.filter(|b| !name.ends_with(['/', '\\']) && !b.starts_with('.') && !name.contains("__MACOSX") && b != "Thumbs.db"))
}

/// Files extracted from a ZIP, as `(bare name, bytes)`, in archive order. The first refusal
/// stops extraction: a ZIP is taken whole or not at all.
pub fn extract(bytes: &[u8], limits: Limits) -> Result<Vec<(String, Vec<u8>)>, ZipError> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| ZipError::NotZip(e.to_string()))?;
    if z.len() > limits.max_entries {
        return Err(ZipError::TooManyEntries(z.len()));
    }
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..z.len() {
        let mut e = match z.by_index(i) {
            Ok(e) => e,
            Err(zip::result::ZipError::UnsupportedArchive(m)) if m.contains("assword") => {
                return Err(ZipError::Encrypted(format!("{}番目のファイル", i + 1)));
            }
            Err(e) => return Err(ZipError::NotZip(e.to_string())),
        };
        let name = decode_name(e.name_raw())?;
        if e.encrypted() {
            return Err(ZipError::Encrypted(name));
        }
        let Some(base) = safe_name(&name)? else { continue };
        if e.is_dir() {
            continue;
        }
        let compressed = e.compressed_size().max(1);
        let mut buf = Vec::new();
        (&mut e).take(limits.max_file_bytes + 1).read_to_end(&mut buf).map_err(|x| ZipError::NotZip(format!("{name}: {x}")))?;
        let n = buf.len() as u64;
        if n > limits.max_file_bytes {
            return Err(ZipError::TooLarge(name));
        }
        total += n;
        if total > limits.max_total_bytes {
            return Err(ZipError::TooLarge(name));
        }
        if n > 64 * 1024 && n / compressed > limits.max_ratio {
            return Err(ZipError::Ratio(name, n / compressed));
        }
        out.push((base, buf));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use zip::write::SimpleFileOptions;

    /// A ZIP whose entry names are given as raw bytes. Names that are not UTF-8 (CP932) are
    /// written under an ASCII placeholder of the same length (so without the UTF-8 flag, as
    /// Japanese Windows tools write them) and patched in afterwards.
    pub(crate) fn make_zip(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let mut patches = Vec::new();
        for (i, (name, data)) in entries.iter().enumerate() {
            let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            match std::str::from_utf8(name) {
                Ok(n) => w.start_file(n, opts).unwrap(),
                Err(_) => {
                    let placeholder: String = format!("{i:0>width$}", width = name.len());
                    patches.push((placeholder.clone().into_bytes(), name.to_vec()));
                    w.start_file(placeholder, opts).unwrap();
                }
            }
            w.write_all(data).unwrap();
        }
        let mut out = w.finish().unwrap().into_inner();
        for (from, to) in patches {
            let mut k = 0;
            while let Some(pos) = out[k..].windows(from.len()).position(|x| x == from.as_slice()) {
                out[k + pos..k + pos + from.len()].copy_from_slice(&to);
                k += pos + from.len();
            }
        }
        out
    }

    #[test]
    fn extracts_names_and_contents() {
        let z = make_zip(&[(b"dir/UPPLAN_a.CSV", b"1,2"), (b"dir/", b""), (b"__MACOSX/._x", b"junk"), (b"b.pdf", b"%PDF")]);
        let got = extract(&z, Limits::default()).unwrap();
        assert_eq!(got, vec![("UPPLAN_a.CSV".to_owned(), b"1,2".to_vec()), ("b.pdf".to_owned(), b"%PDF".to_vec())]);
    }

    #[test]
    fn refuses_traversal() {
        for bad in [&b"../evil.CSV"[..], b"/etc/passwd", b"a/../../x", b"C:\\x.csv", b"..\\x.csv"] {
            let z = make_zip(&[(bad, b"x")]);
            assert!(matches!(extract(&z, Limits::default()), Err(ZipError::Traversal(_))), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn decodes_cp932_names() {
        // 「予定.csv」 in CP932, in a ZIP without the UTF-8 flag.
        let raw = b"\x97\x5c\x92\xe8.csv";
        assert_eq!(decode_name(raw).unwrap(), "予定.csv");
        let z = make_zip(&[(raw, b"x"), ("利用票/UPPLAN_a.CSV".as_bytes(), b"y")]);
        let names: Vec<String> = extract(&z, Limits::default()).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["予定.csv", "UPPLAN_a.CSV"]);
        assert_eq!(decode_name("予定.csv".as_bytes()).unwrap(), "予定.csv");
        assert!(decode_name(b"\x81\x20\xff").is_err());
    }

    #[test]
    fn refuses_bombs() {
        let zeros = vec![0u8; 1024 * 1024];
        let z = make_zip(&[(b"a.csv", &zeros)]);
        assert!(matches!(extract(&z, Limits::default()), Err(ZipError::Ratio(_, r)) if r > 200));
        let lim = Limits { max_file_bytes: 1000, ..Limits::default() };
        assert!(matches!(extract(&make_zip(&[(b"a.csv", &[7u8; 1001])]), lim), Err(ZipError::TooLarge(_))));
        let lim = Limits { max_total_bytes: 1500, ..Limits::default() };
        assert!(matches!(extract(&make_zip(&[(b"a.csv", &[7u8; 1000]), (b"b.csv", &[7u8; 1000])]), lim), Err(ZipError::TooLarge(_))));
        let many: Vec<(Vec<u8>, Vec<u8>)> = (0..30).map(|i| (format!("f{i}.csv").into_bytes(), vec![])).collect();
        let refs: Vec<(&[u8], &[u8])> = many.iter().map(|(a, b)| (a.as_slice(), b.as_slice())).collect();
        let lim = Limits { max_entries: 20, ..Limits::default() };
        assert_eq!(extract(&make_zip(&refs), lim), Err(ZipError::TooManyEntries(30)));
        assert!(matches!(extract(b"PK\x03\x04garbage", Limits::default()), Err(ZipError::NotZip(_))));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever the bytes, extraction returns (files or a reason) and never panics.
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = extract(&bytes, Limits::default());
            let mut z = b"PK\x03\x04".to_vec();
            z.extend(&bytes);
            let _ = extract(&z, Limits::default());
        }

        /// A real archive with one byte changed anywhere: still no panic, and what comes out
        /// stays within the limits.
        #[test]
        fn never_panics_on_damaged_archives(pos in 0usize..10_000, val in proptest::prelude::any::<u8>()) {
            let z = make_zip(&[(b"a/UPPLAN_x.CSV", &[b'1'; 3000]), (b"b.pdf", b"%PDF-1.4 hello")]);
            let mut d = z.clone();
            let i = pos % d.len();
            d[i] = val;
            let lim = Limits { max_file_bytes: 4000, max_total_bytes: 8000, ..Limits::default() };
            if let Ok(files) = extract(&d, lim) {
                proptest::prop_assert!(files.iter().all(|(n, b)| !n.contains(['/', '\\']) && b.len() <= 4000));
            }
        }
    }
}
