-- The platform's tables on PostgreSQL. Applied by every PostgreSQL resource of
-- configs/backends/production.yaml when it first connects (init_files), so it must stay
-- idempotent. The file runs as one implicit transaction (one simple query), and the advisory
-- lock held to its end keeps processes that start together from racing on CREATE ... IF NOT
-- EXISTS.
SELECT pg_advisory_xact_lock(727274);

CREATE TABLE IF NOT EXISTS api_keys (
    key_sha256        text PRIMARY KEY,   -- lowercase hex SHA-256 of the key; keys are never stored
    user_id           text NOT NULL,
    daily_token_limit bigint NOT NULL,
    active            boolean NOT NULL DEFAULT true
);

CREATE TABLE IF NOT EXISTS requests (
    request_id       uuid PRIMARY KEY,
    user_id          text NOT NULL,
    model            text NOT NULL,
    prompt           text NOT NULL,
    params           jsonb NOT NULL DEFAULT '{}',
    max_tokens       integer NOT NULL,
    estimated_tokens integer NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS requests_by_status ON requests (status, updated_at);

CREATE TABLE IF NOT EXISTS results (
    request_id        uuid PRIMARY KEY REFERENCES requests (request_id),
    output            text NOT NULL,
    prompt_tokens     integer NOT NULL,
    completion_tokens integer NOT NULL,
    total_tokens      integer NOT NULL,
    latency_ms        bigint,
    completed_at      timestamptz NOT NULL DEFAULT now()
);
