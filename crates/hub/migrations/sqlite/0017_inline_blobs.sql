-- Small files (up to 64 KiB: almost every standard CSV file) are stored with their message, in
-- the same transaction: one commit and one fsync per send instead of three, and no file to open
-- on download. Content-addressed like the blob store (one row per SHA-256, shared by messages);
-- removed by the retention pass when no unpurged message refers to it any more.
CREATE TABLE blob_inline (
    sha256  TEXT PRIMARY KEY,
    content BLOB NOT NULL
);
