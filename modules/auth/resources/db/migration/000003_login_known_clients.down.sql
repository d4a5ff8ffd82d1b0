DROP TABLE auth.login_known_clients;
