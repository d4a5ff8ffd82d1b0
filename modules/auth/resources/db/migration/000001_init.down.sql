DROP TABLE auth.rate_limits;
DROP TABLE auth.refresh_tokens;
DROP TABLE auth.sessions;
DROP TABLE auth.magic_codes;
DROP TABLE auth.users;
