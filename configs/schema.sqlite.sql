-- The platform's tables on SQLite, for the embedded backends (configs/backends/local.yaml):
-- the same tables as schema.sql, plus the token quota that Redis holds in production.
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS api_keys (
    key_sha256        text PRIMARY KEY,
    user_id           text NOT NULL,
    daily_token_limit bigint NOT NULL,
    active            boolean NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS requests (
    request_id       text PRIMARY KEY,
    user_id          text NOT NULL,
    model            text NOT NULL,
    prompt           text NOT NULL,
    params           text NOT NULL DEFAULT '{}',
    max_tokens       integer NOT NULL,
    estimated_tokens integer NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    error            text,
    created_at       text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at       text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS results (
    request_id        text PRIMARY KEY REFERENCES requests (request_id),
    output            text NOT NULL,
    prompt_tokens     integer NOT NULL,
    completion_tokens integer NOT NULL,
    total_tokens      integer NOT NULL,
    latency_ms        integer,
    completed_at      text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Tokens counted against a user's day: open reservations plus settled usage.
CREATE TABLE IF NOT EXISTS quota (
    quota_key text PRIMARY KEY,   -- quota:{user_id}:{YYYY-MM-DD}
    used      integer NOT NULL
);

-- One row per settled request: inserting it adjusts the quota once, however often a result is
-- delivered (INSERT OR IGNORE on the primary key, the adjustment in the trigger).
CREATE TABLE IF NOT EXISTS quota_settlements (
    request_id text PRIMARY KEY,
    quota_key  text NOT NULL,
    delta      integer NOT NULL
);
CREATE TRIGGER IF NOT EXISTS quota_settle AFTER INSERT ON quota_settlements
BEGIN
    UPDATE quota SET used = used + NEW.delta WHERE quota_key = NEW.quota_key;
END;
