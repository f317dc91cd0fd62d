-- The office registry (all care offices, imported by the operator): the denominator of 利用状況
-- and the address shown in the public list. Participating offices are in `offices`.
CREATE TABLE registry (
    number      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    prefecture  BIGINT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    imported_at BIGINT NOT NULL
);
CREATE INDEX registry_prefecture ON registry (prefecture, kind);
