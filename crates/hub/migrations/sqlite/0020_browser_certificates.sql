-- ブラウザー用の電子証明書: a terminal certificate the portal issues (key made on the hub, handed
-- over once as a password-protected PKCS#12 file) for the office's browsers. While an office has
-- one that is not revoked, its web mailbox opens only in a browser that presents one of its
-- certificates.
ALTER TABLE terminals ADD COLUMN browser INTEGER NOT NULL DEFAULT 0;
