-- name: GetOAuthAccount :one
SELECT * FROM auth.oauth_accounts WHERE provider = @provider AND subject = @subject;

-- name: CreateOAuthAccount :exec
INSERT INTO auth.oauth_accounts (id, user_id, provider, subject, email, email_verified, created_at)
VALUES (@id, @user_id, @provider, @subject, @email, @email_verified, @created_at);

-- name: ListOAuthAccounts :many
SELECT * FROM auth.oauth_accounts WHERE user_id = @user_id ORDER BY created_at, id;

-- name: DeleteOAuthAccount :execrows
DELETE FROM auth.oauth_accounts WHERE id = @id AND user_id = @user_id;

-- name: LockUser :one
SELECT * FROM auth.users WHERE id = $1 FOR UPDATE;

-- name: CreateOAuthState :exec
INSERT INTO auth.oauth_states (state_hash, provider, binding_hash, user_id, redirect_uri, code_verifier, nonce, session, created_at, expires_at)
VALUES (@state_hash, @provider, @binding_hash, @user_id, @redirect_uri, @code_verifier, @nonce, @session, @created_at, @expires_at);

-- name: UseOAuthState :one
UPDATE auth.oauth_states SET used_at = @now
WHERE state_hash = @state_hash AND used_at IS NULL AND expires_at > @now
RETURNING *;

-- name: CreateOAuthExchangeCode :exec
INSERT INTO auth.oauth_exchange_codes (code_hash, user_id, new_user, created_at, expires_at)
VALUES (@code_hash, @user_id, @new_user, @created_at, @expires_at);

-- name: UseOAuthExchangeCode :one
UPDATE auth.oauth_exchange_codes SET used_at = @now
WHERE code_hash = @code_hash AND used_at IS NULL AND expires_at > @now
RETURNING *;

-- name: DeleteExpiredOAuthStates :execrows
DELETE FROM auth.oauth_states WHERE expires_at < @before;

-- name: DeleteExpiredOAuthExchangeCodes :execrows
DELETE FROM auth.oauth_exchange_codes WHERE expires_at < @before;
