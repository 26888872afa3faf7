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
        last_sweep   TEXT          -- JSON: {finished_at, checked, failed, changed}
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
];
