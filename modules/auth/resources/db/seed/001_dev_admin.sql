-- A development administrator: sign in as admin@example.com (the code is
-- written to the server log in dev).
INSERT INTO auth.users (id, email, display_name, role, created_at, updated_at)
VALUES ('user_01m7y8d6jgffjbs92h0xrgpq4n', 'admin@example.com', 'Admin', 'admin', now(), now())
ON CONFLICT DO NOTHING;
