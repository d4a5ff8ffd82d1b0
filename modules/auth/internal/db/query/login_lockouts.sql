-- LockLoginLockout returns the failure record of a key, creating an empty
-- one, and locks it for the rest of the transaction: it is written on
-- every check, found or not, so both cost the same.
-- name: LockLoginLockout :one
INSERT INTO auth.login_lockouts (key, window_start) VALUES (@key, @window_start)
ON CONFLICT (key) DO UPDATE SET key = excluded.key
RETURNING *;

-- name: SaveLoginLockout :exec
UPDATE auth.login_lockouts
SET window_start = @window_start, failures = @failures, lockouts = @lockouts, locked_until = sqlc.narg(locked_until)
WHERE key = @key;

-- name: DeleteLoginLockoutsBefore :execrows
DELETE FROM auth.login_lockouts
WHERE window_start < @before AND (locked_until IS NULL OR locked_until < @before::timestamptz);

-- KnownLoginClient reports whether a client completed a check for a key
-- since a time.
-- name: KnownLoginClient :one
SELECT EXISTS (
    SELECT 1 FROM auth.login_known_clients
    WHERE key = @key AND client = @client AND last_success_at >= @since
);

-- RememberLoginClient records a client's successful check for a key.
-- name: RememberLoginClient :exec
INSERT INTO auth.login_known_clients (key, client, last_success_at) VALUES (@key, @client, @now)
ON CONFLICT (key, client) DO UPDATE SET last_success_at = excluded.last_success_at;

-- name: DeleteLoginKnownClientsBefore :execrows
DELETE FROM auth.login_known_clients WHERE last_success_at < @before;
