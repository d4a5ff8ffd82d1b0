-- name: GetUser :one
SELECT * FROM auth.users WHERE id = $1;

-- name: GetUserByEmail :one
SELECT * FROM auth.users WHERE email = $1;

-- name: GetUserByPhone :one
SELECT * FROM auth.users WHERE phone = $1;

-- name: CreateUser :one
INSERT INTO auth.users (id, email, phone, display_name, role, created_at, updated_at)
VALUES (@id, @email, @phone, @display_name, @role, @created_at, @created_at)
RETURNING *;

-- name: UpdateDisplayName :one
UPDATE auth.users SET display_name = @display_name, updated_at = @updated_at
WHERE id = @id
RETURNING *;

-- name: UpdateEmail :one
UPDATE auth.users SET email = @email, updated_at = @updated_at
WHERE id = @id
RETURNING *;

-- name: UpdatePhone :one
UPDATE auth.users SET phone = @phone, updated_at = @updated_at
WHERE id = @id
RETURNING *;

-- name: ListPublicProfiles :many
SELECT id, display_name FROM auth.users WHERE id = ANY(@ids::text[]) ORDER BY id;
