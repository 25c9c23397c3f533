--
-- CREATE and DROP EXTENSION: what the extension owns, and that dropping it
-- leaves nothing behind.
--
CREATE TEMP TABLE snap (phase text, catalog text, oid oid);
CREATE FUNCTION pg_temp.snapshot(p text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO snap
    SELECT p, 'pg_class', oid FROM pg_class
    UNION ALL SELECT p, 'pg_proc', oid FROM pg_proc
    UNION ALL SELECT p, 'pg_type', oid FROM pg_type
    UNION ALL SELECT p, 'pg_namespace', oid FROM pg_namespace
    UNION ALL SELECT p, 'pg_constraint', oid FROM pg_constraint
    UNION ALL SELECT p, 'pg_trigger', oid FROM pg_trigger
    UNION ALL SELECT p, 'pg_foreign_data_wrapper', oid FROM pg_foreign_data_wrapper
    UNION ALL SELECT p, 'pg_foreign_server', oid FROM pg_foreign_server
    UNION ALL SELECT p, 'pg_event_trigger', oid FROM pg_event_trigger
    UNION ALL SELECT p, 'pg_authid', oid FROM pg_authid
$$;
SELECT pg_temp.snapshot('before');

CREATE EXTENSION megamarket;

-- the installed version and its schema
SELECT extname, extversion, extnamespace::regnamespace, extrelocatable
FROM pg_extension WHERE extname = 'megamarket';

-- every object the extension owns (a review list: adding an object changes it)
SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'megamarket')
  AND deptype = 'e'
ORDER BY 1;

-- the library answers and knows what it is linked with
SELECT library, version IS NOT NULL AS has_version, purpose
FROM megamarket.library_versions() ORDER BY library;

-- GUCs under "megamarket." are reserved: a typo is refused, not kept
SET megamarket.no_such_setting = 'x';

DROP EXTENSION megamarket;
SELECT pg_temp.snapshot('after');

-- nothing left over: no row of any catalog that was not there before
SELECT a.catalog, count(*) AS leftover
FROM snap a
WHERE a.phase = 'after'
  AND NOT EXISTS (SELECT 1 FROM snap b WHERE b.phase = 'before'
                  AND b.catalog = a.catalog AND b.oid = a.oid)
GROUP BY a.catalog;
SELECT count(*) AS schemas_named_megamarket FROM pg_namespace WHERE nspname LIKE 'megamarket%';

-- and it installs again cleanly
CREATE EXTENSION megamarket;
SELECT count(*) AS stores FROM megamarket.stores;
-- a second CREATE is refused, naming the extension
CREATE EXTENSION megamarket;
-- it cannot be moved: the schema is part of its SQL surface
ALTER EXTENSION megamarket SET SCHEMA public;
DROP EXTENSION megamarket;
