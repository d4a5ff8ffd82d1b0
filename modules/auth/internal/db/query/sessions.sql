-- name: CreateSession :exec
INSERT INTO auth.sessions (id, user_id, created_at, expires_at, user_agent, ip_address)
VALUES (@id, @user_id, @created_at, @expires_at, @user_agent, @ip_address);

-- CheckSession runs on every authenticated request: one primary-key lookup
-- that also returns the user's current role.
-- name: CheckSession :one
SELECT u.role FROM auth.sessions s
JOIN auth.users u ON u.id = s.user_id
WHERE s.id = @id AND s.user_id = @user_id AND s.revoked_at IS NULL AND s.expires_at > @now;

-- name: GetSession :one
SELECT * FROM auth.sessions WHERE id = $1;

-- name: ListActiveSessions :many
SELECT * FROM auth.sessions
WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now
ORDER BY created_at DESC;

-- name: RevokeSession :execrows
UPDATE auth.sessions SET revoked_at = @now::timestamptz
WHERE id = @id AND revoked_at IS NULL AND expires_at > @now::timestamptz;

-- name: RevokeUserSessions :many
UPDATE auth.sessions SET revoked_at = @now::timestamptz
WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now::timestamptz
RETURNING id;

-- name: DeleteEndedSessions :execrows
DELETE FROM auth.sessions WHERE expires_at < @before OR revoked_at < @before::timestamptz;

-- name: CreateRefreshToken :exec
INSERT INTO auth.refresh_tokens (token_hash, session_id, created_at, expires_at)
VALUES (@token_hash, @session_id, @created_at, @expires_at);

-- UseRefreshToken consumes a token atomically: of two concurrent uses, one
-- gets the session ID and the other nothing.
-- name: UseRefreshToken :one
UPDATE auth.refresh_tokens SET used_at = @now::timestamptz
WHERE token_hash = @token_hash AND used_at IS NULL AND expires_at > @now
RETURNING session_id;

-- name: GetRefreshToken :one
SELECT * FROM auth.refresh_tokens WHERE token_hash = $1;
