-- name: CreateMagicCode :exec
INSERT INTO auth.magic_codes (id, purpose, identity, user_id, client, code_hash, created_at, expires_at)
VALUES (@id, @purpose, @identity, sqlc.narg(user_id), @client, @code_hash, @created_at, @expires_at);

-- RevokeActiveMagicCodes revokes the usable codes one client asked for;
-- other clients' codes stay usable.
-- name: RevokeActiveMagicCodes :exec
UPDATE auth.magic_codes SET revoked_at = @now::timestamptz
WHERE purpose = @purpose AND identity = @identity
  AND user_id IS NOT DISTINCT FROM sqlc.narg(user_id)
  AND client = @client
  AND used_at IS NULL AND revoked_at IS NULL;

-- ActiveMagicCode locks the newest usable code, the client's own first, so
-- concurrent attempts on the same identity are serialized and a code is
-- used at most once.
-- name: ActiveMagicCode :one
SELECT * FROM auth.magic_codes
WHERE purpose = @purpose AND identity = @identity
  AND user_id IS NOT DISTINCT FROM sqlc.narg(user_id)
  AND used_at IS NULL AND revoked_at IS NULL AND expires_at > @now
ORDER BY client = @client DESC, created_at DESC
LIMIT 1
FOR UPDATE;

-- name: RecordFailedAttempt :one
UPDATE auth.magic_codes
SET attempts = attempts + 1,
    revoked_at = CASE WHEN attempts + 1 >= @max_attempts::integer THEN COALESCE(revoked_at, @now::timestamptz) ELSE revoked_at END
WHERE id = @id
RETURNING attempts;

-- name: MarkMagicCodeUsed :exec
UPDATE auth.magic_codes SET used_at = @now::timestamptz WHERE id = @id;

-- name: DeleteExpiredMagicCodes :execrows
DELETE FROM auth.magic_codes WHERE expires_at < @before;
