//! Database migrations, append-only: a released migration is never edited;
//! a change is a new entry at the end. `PRAGMA user_version` counts the
//! migrations applied.

/// Each entry is one migration, applied in its own transaction.
pub const MIGRATIONS: &[&str] = &[
    // 1: sources, blobs, the hash-chained record of every fetch, events.
    r#"
    CREATE TABLE sources (
        id         TEXT PRIMARY KEY,
        url        TEXT NOT NULL,
        -- The source whose page linked to this one (`follow`), if any.
        parent     TEXT,
        first_seen TEXT NOT NULL
    ) STRICT;

    -- Content-addressed, zstd-compressed bodies and texts, stored once.
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,      -- SHA-256 of the uncompressed bytes
        size INTEGER NOT NULL,      -- uncompressed length
        data BLOB NOT NULL          -- zstd frame
    ) STRICT;

    -- Scope sets, stored once: ScopeSet::hash() → its JSON, and its entries
    -- one per row for lookups by service and certification.
    CREATE TABLE scope_sets (
        hash    TEXT PRIMARY KEY,
        entries TEXT NOT NULL
    ) STRICT;
    CREATE TABLE scope_entries (
        scope_hash    TEXT NOT NULL REFERENCES scope_sets(hash),
        certification TEXT NOT NULL,
        service       TEXT NOT NULL,
        PRIMARY KEY (scope_hash, certification, service)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX scope_entries_by_service ON scope_entries(service);

    -- One row per fetch attempt, failures included, hash-chained in id order.
    CREATE TABLE records (
        id               INTEGER PRIMARY KEY,
        source           TEXT NOT NULL REFERENCES sources(id),
        url              TEXT NOT NULL,
        started_at       TEXT NOT NULL,
        finished_at      TEXT NOT NULL,
        outcome          TEXT NOT NULL CHECK (outcome IN ('ok', 'not-modified', 'failed')),
        change           TEXT,
        error_class      TEXT,
        error_message    TEXT,
        attempts         INTEGER NOT NULL,
        status           INTEGER,
        final_url        TEXT,
        redirects        TEXT NOT NULL,   -- JSON array of hops
        request_headers  TEXT NOT NULL,   -- JSON array of [name, value]
        response_headers TEXT NOT NULL,   -- JSON array of [name, value]
        remote_ip        TEXT,
        tls_cert_sha256  TEXT,
        content_type     TEXT,
        content_kind     TEXT,
        raw_hash         TEXT REFERENCES blobs(hash),
        text_hash        TEXT REFERENCES blobs(hash),
        -- The scope set extracted (or, for a 304, confirmed); NULL when
        -- extraction failed or was broken.
        scope_hash       TEXT REFERENCES scope_sets(hash),
        prev_hash        TEXT NOT NULL,
        record_hash      TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE INDEX records_by_source_time ON records(source, started_at);

    CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        record_id   INTEGER NOT NULL REFERENCES records(id),
        source      TEXT NOT NULL REFERENCES sources(id),
        kind        TEXT NOT NULL,
        detected_at TEXT NOT NULL,
        from_record INTEGER REFERENCES records(id),
        summary     TEXT NOT NULL,
        diff_hash   TEXT REFERENCES blobs(hash),
        severity    TEXT,
        -- Kind-specific fields as a JSON object (scope: added/removed/renamed).
        details     TEXT
    ) STRICT;
    CREATE INDEX events_by_time ON events(detected_at);
    CREATE INDEX events_by_source_time ON events(source, detected_at);

    -- Running state per source, updated in the same transaction as each record.
    CREATE TABLE source_state (
        source               TEXT PRIMARY KEY REFERENCES sources(id),
        last_record          INTEGER REFERENCES records(id),
        last_good_record     INTEGER REFERENCES records(id),
        last_change_record   INTEGER REFERENCES records(id),
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        failing              INTEGER NOT NULL DEFAULT 0,
        sign_in              INTEGER NOT NULL DEFAULT 0,
        last_scope_record    INTEGER REFERENCES records(id),
        scope_broken         INTEGER NOT NULL DEFAULT 0,
        etag                 TEXT,
        last_modified        TEXT
    ) STRICT;

    -- The running daemon's heartbeat and schedule, one row, for `status`.
    CREATE TABLE daemon_status (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        pid          INTEGER NOT NULL,
        started_at   TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        next_sweep   TEXT,
        last_sweep   TEXT          -- JSON: {finished_at, checked, failed, changed[, duration_ms]}
    ) STRICT;

    -- What happened to the daemon itself: started, stopped, reloaded,
    -- config-rejected.
    CREATE TABLE daemon_events (
        id      INTEGER PRIMARY KEY,
        at      TEXT NOT NULL,
        kind    TEXT NOT NULL,
        message TEXT NOT NULL
    ) STRICT;
    "#,
    // 2: evidence (src/evidence): the append-only Merkle ledger and its signed
    // checkpoints. Triggers refuse UPDATE and DELETE on both.
    r#"
    CREATE TABLE ledger (
        seq       INTEGER PRIMARY KEY,  -- 0-based leaf index in the Merkle tree
        leaf      TEXT NOT NULL,        -- canonical JSON (RFC 8785)
        leaf_hash TEXT NOT NULL         -- SHA-256(0x00 || leaf), hex
    ) STRICT;

    CREATE TABLE checkpoints (
        id        INTEGER PRIMARY KEY,
        tree_size INTEGER NOT NULL,
        root      TEXT NOT NULL,        -- RFC 6962 tree hash of the first tree_size leaves
        at        TEXT NOT NULL,
        key_id    TEXT NOT NULL,
        signature TEXT NOT NULL         -- Ed25519 over the checkpoint text, hex
    ) STRICT;

    -- Set when [retention] pruned the blob's bytes (data is then empty);
    -- the prune is a ledger leaf.
    ALTER TABLE blobs ADD COLUMN pruned_at TEXT;

    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be changed'); END;
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be deleted'); END;
    CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: they cannot be changed'); END;
    CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: they cannot be deleted'); END;
    "#,
    // 3: the alert outbox, filled in the same transaction as the events,
    // and the attestation-expiry reminders already raised.
    r#"
    CREATE TABLE outbox (
        id              TEXT PRIMARY KEY,  -- stable delivery id: Idempotency-Key, Message-ID
        event_id        INTEGER NOT NULL REFERENCES events(id),
        channel         TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      TEXT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        last_attempt_at TEXT,
        last_error      TEXT,
        UNIQUE (event_id, channel)
    ) STRICT;
    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

    CREATE TABLE attestation_reminders (
        source   TEXT NOT NULL REFERENCES sources(id),
        expires  TEXT NOT NULL,             -- YYYY-MM-DD
        days     INTEGER NOT NULL,          -- the threshold (days before) reached
        event_id INTEGER NOT NULL REFERENCES events(id),
        PRIMARY KEY (source, expires, days)
    ) STRICT;
    "#,
    // 4: scope sets as one compressed blob each (see store/scope_sets.rs);
    // the per-pair rows are dropped: queries filter the sets in memory.
    r#"
    ALTER TABLE scope_sets ADD COLUMN packed BLOB;   -- zstd JSON; NULL: JSON in `entries`
    ALTER TABLE scope_sets ADD COLUMN size INTEGER;  -- uncompressed length of `packed`
    DROP INDEX scope_entries_by_service;
    DROP TABLE scope_entries;
    "#,
    // 5: the Merkle right edge at each checkpoint, so the next checkpoint
    // hashes only the leaves added since. A cache: checked against the
    // signed root before use, never evidence itself.
    r#"
    CREATE TABLE checkpoint_edges (
        checkpoint_id INTEGER PRIMARY KEY,  -- checkpoints(id); no foreign key: a cache
        edge          TEXT NOT NULL         -- "height:hash" pairs, left to right
    ) STRICT;
    -- The latest configuration leaf, found without reading the whole ledger
    -- (the expression is the one ledger::last_config_leaf queries).
    CREATE INDEX ledger_config_leaves ON ledger(seq) WHERE leaf LIKE '%"type":"config"%';
    "#,
    // 6: RFC 3161 timestamp tokens over checkpoints ([evidence] tsa_url,
    // src/evidence/timestamp.rs), and the requests that failed (retried).
    r#"
    CREATE TABLE checkpoint_timestamps (
        checkpoint_id INTEGER PRIMARY KEY REFERENCES checkpoints(id),
        tsa_url       TEXT NOT NULL,
        at            TEXT NOT NULL,
        response      BLOB NOT NULL     -- DER TimeStampResp, status granted
    ) STRICT;
    CREATE TABLE timestamp_failures (
        id            INTEGER PRIMARY KEY,
        checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id),
        tsa_url       TEXT NOT NULL,
        at            TEXT NOT NULL,
        error         TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER checkpoint_timestamps_no_update BEFORE UPDATE ON checkpoint_timestamps
    BEGIN SELECT RAISE(ABORT, 'timestamps are append-only: they cannot be changed'); END;
    CREATE TRIGGER checkpoint_timestamps_no_delete BEFORE DELETE ON checkpoint_timestamps
    BEGIN SELECT RAISE(ABORT, 'timestamps are append-only: they cannot be deleted'); END;
    "#,
    // 7: the negotiated TLS version of each capture (WARC metadata). NULL
    // for plain HTTP and for records made before; store/chain.rs hashes a
    // NULL as if the column did not exist.
    r#"
    ALTER TABLE records ADD COLUMN tls_version TEXT;
    "#,
    // 8: capture and failure leaves are stored as their hash and record
    // (`leaf` empty) and rebuilt from it (evidence/ledger.rs); request
    // headers are stored once per distinct set (store/chain.rs). Older
    // rows keep their text.
    r#"
    ALTER TABLE ledger ADD COLUMN record_id INTEGER;  -- no foreign key: verify names a missing one
    CREATE TABLE header_sets (
        id   INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,  -- SHA-256 of json, hex
        json TEXT NOT NULL          -- JSON array of [name, value]
    ) STRICT;
    CREATE TRIGGER header_sets_no_update BEFORE UPDATE ON header_sets
    BEGIN SELECT RAISE(ABORT, 'header sets are append-only: they cannot be changed'); END;
    CREATE TRIGGER header_sets_no_delete BEFORE DELETE ON header_sets
    BEGIN SELECT RAISE(ABORT, 'header sets are append-only: they cannot be deleted'); END;
    ALTER TABLE records ADD COLUMN request_headers_set INTEGER REFERENCES header_sets(id);
    "#,
    // 9: records, header sets and ledger leaves packed (store/chain.rs): a
    // sweep of unchanged pages added about 1,100 bytes per page, mostly hex
    // digests, repeated URLs, outcome words and header sets, and a unique
    // index on record_hash. The `records` and `ledger` views give every row
    // back exactly as hashed; `record_rows` and `ledger_rows` hold them.
    // Existing rows are copied without loss: values the packed form cannot
    // hold stay as they were written (the ANY columns).
    r#"
    CREATE TABLE digests (
        id  INTEGER PRIMARY KEY,
        hex TEXT NOT NULL UNIQUE    -- a SHA-256 as records name it
    ) STRICT;
    -- Texts records repeat: URLs and peer addresses.
    CREATE TABLE texts (
        id   INTEGER PRIMARY KEY,
        text TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE TRIGGER digests_no_update BEFORE UPDATE ON digests
    BEGIN SELECT RAISE(ABORT, 'digests are append-only: they cannot be changed'); END;
    CREATE TRIGGER digests_no_delete BEFORE DELETE ON digests
    BEGIN SELECT RAISE(ABORT, 'digests are append-only: they cannot be deleted'); END;
    CREATE TRIGGER texts_no_update BEFORE UPDATE ON texts
    BEGIN SELECT RAISE(ABORT, 'texts are append-only: they cannot be changed'); END;
    CREATE TRIGGER texts_no_delete BEFORE DELETE ON texts
    BEGIN SELECT RAISE(ABORT, 'texts are append-only: they cannot be deleted'); END;

    -- Records. Renamed first, so the foreign keys that name the table
    -- follow it to the packed copy.
    ALTER TABLE records RENAME TO record_rows;
    DROP INDEX records_by_source_time;
    INSERT INTO digests (hex)
        SELECT raw_hash FROM record_rows WHERE raw_hash IS NOT NULL
        UNION SELECT text_hash FROM record_rows WHERE text_hash IS NOT NULL
        UNION SELECT scope_hash FROM record_rows WHERE scope_hash IS NOT NULL
        UNION SELECT tls_cert_sha256 FROM record_rows WHERE tls_cert_sha256 IS NOT NULL;
    INSERT INTO texts (text)
        SELECT url FROM record_rows
        UNION SELECT final_url FROM record_rows WHERE final_url IS NOT NULL
        UNION SELECT remote_ip FROM record_rows WHERE remote_ip IS NOT NULL;
    CREATE TABLE packed_records (
        id               INTEGER PRIMARY KEY,
        source           TEXT NOT NULL REFERENCES sources(id),
        url              INTEGER NOT NULL REFERENCES texts(id),
        started_at       ANY NOT NULL,    -- INTEGER: Unix ms; TEXT: as written
        finished_at      ANY NOT NULL,    -- INTEGER: ms after started_at; TEXT: as written
        -- INTEGER: 0 ok, 1 not-modified, 2 failed; TEXT: as written.
        outcome          ANY NOT NULL CHECK (outcome IN (0, 1, 2, 'ok', 'not-modified', 'failed')),
        -- INTEGER: 0 unchanged, 1 baseline, 2 content, 3 noise, 4 moved; TEXT: as written.
        change           ANY,
        error_class      TEXT,
        error_message    TEXT,
        attempts         INTEGER NOT NULL,
        status           INTEGER,
        final_url        INTEGER REFERENCES texts(id),
        redirects        TEXT NOT NULL,   -- JSON array of hops
        request_headers  ANY NOT NULL,    -- INTEGER: header_sets(id); TEXT: the JSON
        -- The request's headers from its first If-* on (they carry the
        -- page's validators), as their own set, so the rest is shared.
        request_conditional INTEGER REFERENCES header_sets(id),
        response_headers ANY NOT NULL,    -- INTEGER: header_sets(id); TEXT: the JSON
        -- The Date header's value, cut out of the response set (where it is
        -- ""), so a page's sets repeat; NULL: the set is whole. INTEGER:
        -- seconds after started_at, as an IMF-fixdate; TEXT: as written.
        response_date    ANY,
        remote_ip        INTEGER REFERENCES texts(id),
        tls_cert_sha256  INTEGER REFERENCES digests(id),
        tls_version      TEXT,
        content_type     TEXT,
        content_kind     TEXT,
        raw_hash         INTEGER REFERENCES digests(id),
        text_hash        INTEGER REFERENCES digests(id),
        scope_hash       INTEGER REFERENCES digests(id),
        prev_hash        ANY,             -- NULL: the previous record's record_hash; else as written
        record_hash      ANY NOT NULL     -- BLOB: the 32 bytes; TEXT: as written
    ) STRICT;
    INSERT INTO packed_records
        SELECT o.id, o.source, (SELECT id FROM texts WHERE text = o.url), o.started_at,
            o.finished_at, o.outcome, o.change, o.error_class, o.error_message, o.attempts,
            o.status, (SELECT id FROM texts WHERE text = o.final_url), o.redirects,
            COALESCE(o.request_headers_set, o.request_headers), NULL, o.response_headers, NULL,
            (SELECT id FROM texts WHERE text = o.remote_ip),
            (SELECT id FROM digests WHERE hex = o.tls_cert_sha256), o.tls_version,
            o.content_type, o.content_kind, (SELECT id FROM digests WHERE hex = o.raw_hash),
            (SELECT id FROM digests WHERE hex = o.text_hash),
            (SELECT id FROM digests WHERE hex = o.scope_hash), o.prev_hash, o.record_hash
        FROM record_rows o ORDER BY o.id;
    DROP TABLE record_rows;
    ALTER TABLE packed_records RENAME TO record_rows;
    -- A source's records in id order (the order they were made), which is
    -- how they are read; the packed times are not comparable as stored.
    CREATE INDEX records_by_source ON record_rows(source);

    -- Header sets: new hashes as their 32 bytes.
    CREATE TABLE packed_header_sets (
        id   INTEGER PRIMARY KEY,
        hash ANY NOT NULL UNIQUE,   -- SHA-256 of json; BLOB: the 32 bytes; TEXT: hex, as written
        json TEXT NOT NULL          -- JSON array of [name, value]
    ) STRICT;
    INSERT INTO packed_header_sets SELECT id, hash, json FROM header_sets ORDER BY id;
    DROP TABLE header_sets;
    ALTER TABLE packed_header_sets RENAME TO header_sets;
    CREATE TRIGGER header_sets_no_update BEFORE UPDATE ON header_sets
    BEGIN SELECT RAISE(ABORT, 'header sets are append-only: they cannot be changed'); END;
    CREATE TRIGGER header_sets_no_delete BEFORE DELETE ON header_sets
    BEGIN SELECT RAISE(ABORT, 'header sets are append-only: they cannot be deleted'); END;

    -- The ledger: new leaf hashes as their 32 bytes.
    CREATE TABLE ledger_packed (
        seq       INTEGER PRIMARY KEY,
        leaf      TEXT NOT NULL,
        leaf_hash ANY NOT NULL,         -- BLOB: the 32 bytes; TEXT: hex, as written
        record_id INTEGER
    ) STRICT;
    INSERT INTO ledger_packed SELECT seq, leaf, leaf_hash, record_id FROM ledger ORDER BY seq;
    DROP TABLE ledger;
    ALTER TABLE ledger_packed RENAME TO ledger_rows;
    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger_rows
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be changed'); END;
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger_rows
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be deleted'); END;
    CREATE INDEX ledger_config_leaves ON ledger_rows(seq) WHERE leaf LIKE '%"type":"config"%';

    -- The views, last: every table they read is in place.
    CREATE VIEW ledger AS SELECT
        seq,
        leaf,
        CASE typeof(leaf_hash) WHEN 'blob' THEN lower(hex(leaf_hash)) ELSE leaf_hash END
            AS leaf_hash,
        record_id
    FROM ledger_rows;

    CREATE VIEW records AS SELECT
        r.id AS id,
        r.source AS source,
        (SELECT text FROM texts WHERE id = r.url) AS url,
        CASE typeof(r.started_at) WHEN 'integer'
            THEN strftime('%Y-%m-%dT%H:%M:%S', r.started_at / 1000, 'unixepoch')
                 || printf('.%03dZ', r.started_at % 1000)
            ELSE r.started_at END AS started_at,
        CASE typeof(r.finished_at) WHEN 'integer'
            THEN strftime('%Y-%m-%dT%H:%M:%S', (r.started_at + r.finished_at) / 1000, 'unixepoch')
                 || printf('.%03dZ', (r.started_at + r.finished_at) % 1000)
            ELSE r.finished_at END AS finished_at,
        CASE r.outcome WHEN 0 THEN 'ok' WHEN 1 THEN 'not-modified' WHEN 2 THEN 'failed'
            ELSE r.outcome END AS outcome,
        CASE r.change WHEN 0 THEN 'unchanged' WHEN 1 THEN 'baseline' WHEN 2 THEN 'content'
            WHEN 3 THEN 'noise' WHEN 4 THEN 'moved' ELSE r.change END AS change,
        r.error_class AS error_class,
        r.error_message AS error_message,
        r.attempts AS attempts,
        r.status AS status,
        (SELECT text FROM texts WHERE id = r.final_url) AS final_url,
        r.redirects AS redirects,
        CASE WHEN typeof(r.request_headers) <> 'integer' THEN r.request_headers
            WHEN r.request_conditional IS NULL
                THEN (SELECT json FROM header_sets WHERE id = r.request_headers)
            ELSE (SELECT substr(json, 1, length(json) - 1) FROM header_sets
                  WHERE id = r.request_headers)
                 || ',' || (SELECT substr(json, 2) FROM header_sets
                            WHERE id = r.request_conditional)
            END AS request_headers,
        CASE typeof(r.response_headers) WHEN 'integer'
            THEN (SELECT CASE WHEN r.response_date IS NULL THEN json
                         ELSE replace(json, '["date",""]', '["date","' || CASE typeof(r.response_date)
                             WHEN 'integer' THEN
                                 substr('SunMonTueWedThuFriSat',
                                     1 + 3 * strftime('%w', r.started_at / 1000 + r.response_date, 'unixepoch'), 3)
                                 || strftime(', %d ', r.started_at / 1000 + r.response_date, 'unixepoch')
                                 || substr('JanFebMarAprMayJunJulAugSepOctNovDec',
                                     3 * strftime('%m', r.started_at / 1000 + r.response_date, 'unixepoch') - 2, 3)
                                 || strftime(' %Y %H:%M:%S GMT', r.started_at / 1000 + r.response_date, 'unixepoch')
                             ELSE r.response_date END || '"]')
                         END FROM header_sets WHERE id = r.response_headers)
            ELSE r.response_headers END AS response_headers,
        (SELECT text FROM texts WHERE id = r.remote_ip) AS remote_ip,
        (SELECT hex FROM digests WHERE id = r.tls_cert_sha256) AS tls_cert_sha256,
        r.tls_version AS tls_version,
        r.content_type AS content_type,
        r.content_kind AS content_kind,
        (SELECT hex FROM digests WHERE id = r.raw_hash) AS raw_hash,
        (SELECT hex FROM digests WHERE id = r.text_hash) AS text_hash,
        (SELECT hex FROM digests WHERE id = r.scope_hash) AS scope_hash,
        CASE
            WHEN r.prev_hash IS NOT NULL THEN
                CASE typeof(r.prev_hash) WHEN 'blob' THEN lower(hex(r.prev_hash)) ELSE r.prev_hash END
            WHEN r.id = 1 THEN '0000000000000000000000000000000000000000000000000000000000000000'
            ELSE COALESCE((SELECT CASE typeof(p.record_hash) WHEN 'blob'
                                  THEN lower(hex(p.record_hash)) ELSE p.record_hash END
                           FROM record_rows p WHERE p.id = r.id - 1), '')
        END AS prev_hash,
        CASE typeof(r.record_hash) WHEN 'blob'
            THEN lower(hex(r.record_hash)) ELSE r.record_hash END AS record_hash,
        CASE typeof(r.request_headers) WHEN 'integer' THEN r.request_headers END
            AS request_headers_set,
        CASE typeof(r.response_headers) WHEN 'integer' THEN r.response_headers END
            AS response_headers_set,
        r.request_conditional AS request_conditional_set,
        r.prev_hash IS NULL AS prev_hash_derived
    FROM record_rows r;
    "#,
    // 10: records made under the demo's replayed clock (`scopewatch demo`,
    // src/clock.rs): their times are the dates the bundled page versions
    // were published, and `fetched_at` is when each was really fetched.
    r#"
    CREATE TABLE replayed_records (
        record_id  INTEGER PRIMARY KEY REFERENCES record_rows(id),
        fetched_at TEXT NOT NULL
    ) STRICT;
    "#,
    // 11: a sender claims a delivery with a lease before it sends it
    // (store/outbox.rs), so two processes never send the same one; and a
    // followed page its parent stopped linking to is counted, then retired
    // (store/follow.rs), its history kept.
    r#"
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;    -- who is sending it: "pid:random"
    ALTER TABLE outbox ADD COLUMN lease_until TEXT;   -- no one else sends it before this
    -- Successful fetches of the parent in a row that did not link to it.
    ALTER TABLE sources ADD COLUMN unlinked_fetches INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sources ADD COLUMN retired_at TEXT;   -- no longer fetched since
    -- A parent's followed pages, read at each of its fetches.
    CREATE INDEX sources_by_parent ON sources(parent) WHERE parent IS NOT NULL;
    "#,
    // 12: a mark on each source while its page is extracted (set before the
    // extraction, removed with the attempt's record), and how many times in
    // a row a process died with the mark set: what the next start needs to
    // record a `crashed` attempt instead of trying the page again at once.
    r#"
    CREATE TABLE crash_guard (
        source     TEXT PRIMARY KEY,
        url        TEXT NOT NULL,
        -- The process extracting the page now ("pid start-time"); NULL when none.
        owner      TEXT,
        -- When that process began extracting it.
        since      TEXT NOT NULL,
        -- Attempts recorded as `crashed` since the source's last other attempt,
        -- and when the last of them was recorded.
        crashes    INTEGER NOT NULL DEFAULT 0,
        crashed_at TEXT
    ) STRICT;
    "#,
    // 13: how an attempt was fetched when not by one GET (`fetch =
    // "browser"`, `portal = "service-trust"`), as the JSON its record hashes
    // (store/chain.rs `fetch_details`): the browser that rendered the page,
    // or the portal's metadata call (its body is a blob) and the version it
    // named. A row only for such records; append-only like the records.
    r#"
    CREATE TABLE record_fetch_details (
        record_id INTEGER PRIMARY KEY REFERENCES record_rows(id),
        json      TEXT NOT NULL
    ) STRICT;
    CREATE TRIGGER record_fetch_details_no_update BEFORE UPDATE ON record_fetch_details
    BEGIN SELECT RAISE(ABORT, 'fetch details are append-only: they cannot be changed'); END;
    CREATE TRIGGER record_fetch_details_no_delete BEFORE DELETE ON record_fetch_details
    BEGIN SELECT RAISE(ABORT, 'fetch details are append-only: they cannot be deleted'); END;
    "#,
    // 14 (verify runs): each `verify` of the database, what it came to, so
    // the web view's evidence page can say when it last ran and what it
    // found (store/verify_runs.rs).
    r#"
    CREATE TABLE verify_runs (
        id           INTEGER PRIMARY KEY,
        finished_at  TEXT NOT NULL,
        findings     INTEGER NOT NULL,   -- tampering: what sets the exit status
        notes        INTEGER NOT NULL,   -- pruned by policy, or not checkable
        checkpoints  INTEGER NOT NULL,   -- signed checkpoints checked
        re_extracted INTEGER NOT NULL    -- bodies re-extracted and compared
    ) STRICT;
    "#,
    // 15 (scope by time): a source's scope records by the time they were
    // made, so the scope at a date is one seek a source (store/queries.rs
    // `scope_at`) rather than a walk through every record made since.
    // Packed times are integers and sort before the text of rows written
    // before packing: each kind is a range of its own. And a source's
    // records without a scope (failures, unreadable scopes; few), for
    // when its scope became unreadable.
    r#"
    CREATE INDEX record_scopes_by_time ON record_rows(source, started_at)
        WHERE scope_hash IS NOT NULL;
    CREATE INDEX records_without_scope ON record_rows(source) WHERE scope_hash IS NULL;
    "#,
    // 16 (attempt counts): attempts by outcome and error class, counted as
    // each record is written (by trigger, in its transaction), so
    // `/metrics` reads a few rows instead of counting every record ever
    // made at each scrape (1.2 s on a year of a 1,000-source daemon). A
    // derived count, not evidence: `verify` never reads it. A migration
    // that rebuilds `record_rows` (copy, drop, rename) drops the trigger
    // with the table: it must create it again.
    r#"
    CREATE TABLE attempt_counts (
        outcome     TEXT NOT NULL,
        error_class TEXT NOT NULL,      -- '' for none
        attempts    INTEGER NOT NULL,
        PRIMARY KEY (outcome, error_class)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO attempt_counts
        SELECT CASE outcome WHEN 0 THEN 'ok' WHEN 1 THEN 'not-modified' WHEN 2 THEN 'failed'
                   ELSE outcome END,
               COALESCE(error_class, ''), COUNT(*)
        FROM record_rows GROUP BY 1, 2;
    CREATE TRIGGER record_rows_counted AFTER INSERT ON record_rows
    BEGIN
        INSERT INTO attempt_counts VALUES (
            CASE NEW.outcome WHEN 0 THEN 'ok' WHEN 1 THEN 'not-modified' WHEN 2 THEN 'failed'
                ELSE NEW.outcome END,
            COALESCE(NEW.error_class, ''), 1)
        ON CONFLICT (outcome, error_class) DO UPDATE SET attempts = attempts + 1;
    END;
    "#,
    // 17 (failed verify runs): a `verify` that could not finish is kept
    // too, with why, so the evidence page never shows an older run's
    // "verified" after a newer one failed. NULL: it ran to the end.
    r#"
    ALTER TABLE verify_runs ADD COLUMN error TEXT;
    "#,
];
