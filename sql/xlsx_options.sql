--
-- xlsx_fdw's options and privileges: the validator refuses what cannot work,
-- naming the option and what would be valid; only roles that may read server
-- files may point a table at one.
--
CREATE EXTENSION megamarket;
CREATE SERVER xs FOREIGN DATA WRAPPER xlsx_fdw;

-- unknown options, in each place
CREATE SERVER xs2 FOREIGN DATA WRAPPER xlsx_fdw OPTIONS (sheet 'Ventas');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', sheeet 'Ventas');
CREATE FOREIGN TABLE t1 (a int OPTIONS (colum_name 'A')) SERVER xs OPTIONS (filename '/x.xlsx');
CREATE USER MAPPING FOR CURRENT_USER SERVER xs OPTIONS (filename '/x.xlsx');

-- bad values
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', sheet '');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', sheet '0');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', sheet '99999999999');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', header 'maybe');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', range 'H3:B1');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', range 'B3:');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', range 'XFE1');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', range 'A0');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', range 'A1048577');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', range '1:2');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', skip_rows '-1');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', skip_rows 'ten');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', error_cells 'zero');
CREATE FOREIGN TABLE t1 (a int OPTIONS (column_name '')) SERVER xs OPTIONS (filename '/x.xlsx');
CREATE FOREIGN TABLE t1 (a int) SERVER xs OPTIONS (filename '/x.xlsx', sheet 'A', sheet 'B');

-- good values are accepted, and ALTER is validated too
CREATE FOREIGN TABLE t1 (a int OPTIONS (column_name 'Fecha de venta'), b text)
    SERVER xs OPTIONS (filename '/x.xlsx', sheet '2', header 'false', range 'b3:H', skip_rows '1', error_cells 'error');
ALTER FOREIGN TABLE t1 OPTIONS (SET range 'A1:C');
ALTER FOREIGN TABLE t1 OPTIONS (SET range 'C:A');
ALTER FOREIGN TABLE t1 OPTIONS (ADD sheeet '1');
SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = 't1'::regclass;

-- a table without a file anywhere says where to put one
CREATE FOREIGN TABLE t2 (a int) SERVER xs;
SELECT * FROM t2;

-- a missing file
CREATE FOREIGN TABLE t3 (a int) SERVER xs OPTIONS (filename '/nonexistent/megamarket.xlsx');
SELECT * FROM t3;
SELECT * FROM megamarket.xlsx_sheets('/nonexistent/megamarket.xlsx');

-- privileges: file access needs pg_read_server_files, as with file_fdw
CREATE ROLE regress_xlsx_reader;
CREATE ROLE regress_xlsx_nobody;
GRANT pg_read_server_files TO regress_xlsx_reader;
GRANT USAGE ON FOREIGN SERVER xs TO regress_xlsx_reader, regress_xlsx_nobody;
GRANT CREATE ON SCHEMA public TO regress_xlsx_reader, regress_xlsx_nobody;
SET ROLE regress_xlsx_nobody;
CREATE FOREIGN TABLE t4 (a int) SERVER xs OPTIONS (filename '/etc/passwd');
CREATE FOREIGN TABLE t4 (a int) SERVER xs;
ALTER FOREIGN TABLE t4 OPTIONS (ADD filename '/etc/passwd');
SELECT * FROM megamarket.xlsx_sheets('/etc/passwd');
IMPORT FOREIGN SCHEMA wb FROM SERVER xs INTO public OPTIONS (filename '/etc/passwd');
DROP FOREIGN TABLE t4;
RESET ROLE;
SET ROLE regress_xlsx_reader;
CREATE FOREIGN TABLE t4 (a int) SERVER xs OPTIONS (filename '/nonexistent/x.xlsx');
SELECT * FROM megamarket.xlsx_sheets('/nonexistent/x.xlsx');
DROP FOREIGN TABLE t4;
RESET ROLE;
-- who may run what
SELECT p.proname, has_function_privilege('regress_xlsx_nobody', p.oid, 'EXECUTE') AS nobody,
       has_function_privilege('regress_xlsx_reader', p.oid, 'EXECUTE') AS reader
FROM pg_proc p WHERE p.pronamespace = 'megamarket'::regnamespace AND p.proname LIKE 'xlsx%'
ORDER BY 1;

-- IMPORT FOREIGN SCHEMA options
IMPORT FOREIGN SCHEMA wb FROM SERVER xs INTO public;
IMPORT FOREIGN SCHEMA wb FROM SERVER xs INTO public OPTIONS (filename '/x.xlsx', sample_rows '0');
IMPORT FOREIGN SCHEMA wb FROM SERVER xs INTO public OPTIONS (filename '/x.xlsx', sheet 'A');

DROP OWNED BY regress_xlsx_reader, regress_xlsx_nobody;
DROP ROLE regress_xlsx_reader;
DROP ROLE regress_xlsx_nobody;
DROP EXTENSION megamarket CASCADE;
