DROP TABLE auth.oauth_exchange_codes;
DROP TABLE auth.oauth_states;
DROP TABLE auth.oauth_accounts;

-- Users who could only sign in with a provider cannot sign in any more.
DELETE FROM auth.users WHERE email IS NULL AND phone IS NULL;
ALTER TABLE auth.users ADD CONSTRAINT users_contact CHECK (email IS NOT NULL OR phone IS NOT NULL);
