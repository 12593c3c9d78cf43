-- Row-level security is PostgreSQL's second wall between agencies
-- (migrations/postgres/0022). SQLite has no such rules: its file is one
-- deployment opened by one product, and every query goes through the
-- agency scope (docs/tenancy.md). The version is kept so both backends
-- number their migrations alike.
SELECT 1;
