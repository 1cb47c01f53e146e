-- scripts/login-role.sql -- the role messaging-server logs in with: LOGIN
-- NOINHERIT, granted messaging_app and nothing else (docs/operations.md,
-- "Database roles").
--
--   psql -v ON_ERROR_STOP=1 -v role=messaging_server -v password="$PASSWORD" \
--     -f scripts/login-role.sql "$OWNER_URL"
--
-- Run after the migrations (they create messaging_app), as a role with
-- CREATEROLE (the schema owner, or a superuser). Creates the role or resets
-- its attributes and password; safe to run again, also from several sessions
-- at once (roles are cluster-wide: a concurrent CREATE or GRANT shows up as
-- duplicate_object or unique_violation, and the role exists either way).

SET client_min_messages = warning;
-- psql variables are not expanded inside the DO body: hand them over as settings.
SET messaging.login_role TO :'role';
SET messaging.login_password TO :'password';

DO $do$
DECLARE
  login text := current_setting('messaging.login_role');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = login) THEN
    BEGIN
      EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT', login);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  -- (A role that is a superuser or has BYPASSRLS stays so: only a superuser
  -- may change that, and the server refuses to log in with it.)
  EXECUTE format('ALTER ROLE %I LOGIN NOINHERIT PASSWORD %L', login,
                 current_setting('messaging.login_password'));
  IF NOT pg_catalog.pg_has_role(login, 'messaging_app', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT messaging_app TO %I', login);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$do$;

RESET messaging.login_role;
RESET messaging.login_password;
