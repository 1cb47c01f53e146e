-- 000_prerequisites.sql
--
-- The host application (the Supabase project) normally owns `distributors` and
-- `customers`; the messaging tables only reference their `id`s. This migration
-- creates minimal stand-ins ONLY IF they are missing (stand-alone deployments,
-- local development, tests), and never touches tables that already exist.
--
-- Apply (idempotent, safe to run again):
--   psql -v ON_ERROR_STOP=1 -1 -f migrations/000_prerequisites.sql "$DATABASE_URL"
-- `-1` runs the file in one transaction. The migration runner wraps each file in
-- its own transaction, so the file contains no BEGIN/COMMIT and no psql
-- meta-commands. No superuser needed: the database owner is enough.
--
-- When this file does create the tables it also ENABLEs (not forces) row level
-- security without any policy: the owner (the migrating role, and whoever
-- seeds demo data with it) is unaffected, while other roles -- e.g. Supabase's
-- `anon`/`authenticated`, which get table grants through default privileges --
-- see nothing instead of every tenant's customers. The messaging server's
-- role needs no privilege on these tables: foreign-key checks run as the
-- referenced table's owner.

DO $do$
BEGIN
  IF to_regclass('public.distributors') IS NULL THEN
    CREATE TABLE public.distributors (
      id         uuid        NOT NULL DEFAULT gen_random_uuid(),
      name       text,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT distributors_pkey PRIMARY KEY (id)
    );
    ALTER TABLE public.distributors ENABLE ROW LEVEL SECURITY;
    COMMENT ON TABLE public.distributors IS
      'Minimal stand-in created by messaging migration 000 because the host '
      'application had no distributors table. Only id is used by messaging.';
  END IF;

  IF to_regclass('public.customers') IS NULL THEN
    CREATE TABLE public.customers (
      id         uuid        NOT NULL DEFAULT gen_random_uuid(),
      name       text,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT customers_pkey PRIMARY KEY (id)
    );
    ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;
    COMMENT ON TABLE public.customers IS
      'Minimal stand-in created by messaging migration 000 because the host '
      'application had no customers table. Only id is used by messaging.';
  END IF;
END
$do$;
