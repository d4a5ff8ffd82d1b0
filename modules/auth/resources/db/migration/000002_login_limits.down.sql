DROP TABLE auth.login_lockouts;
ALTER TABLE auth.magic_codes DROP COLUMN client;
