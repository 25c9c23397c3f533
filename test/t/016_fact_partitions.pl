# The month partitions of the facts under concurrency (src/warehouse/
# partition.sql): while an import has attached a new month and not yet
# committed, a writer of new sales is not blocked and readers see the old
# data; a dimension row deleted while the import runs makes it fail
# cleanly, leaving nothing; natural keys stay unique across months and
# across sessions; a line moves to another day, into a month that exists or
# one the load makes; months whose rows are unchanged are left out of the
# comparison, and any change to a month's rows brings it back; hostile input
# and a cancelled load change nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('partitions');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

my $db = 'postgres';
sub sql { return $node->safe_psql($db, $_[0]); }

note 'a warehouse with January; stagings of cleaned rows as a loader hands them';
sql(q{
CREATE EXTENSION megamarket;
SET search_path = megamarket;
SELECT fill_dates('2025-01-01', '2025-06-30');
SELECT add_months('2025-01-01', '2025-01-31');
INSERT INTO departments (name) VALUES ('Alimentación');
INSERT INTO categories (name, department_id) VALUES ('Lácteos', 1);
INSERT INTO products (sku, name, category_id, price)
SELECT 'P-' || i, 'Producto ' || i, 1, 1 FROM generate_series(1, 20) i;
INSERT INTO sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
SELECT 'J-' || i, 1, 1 + i % 10, 1 + i % 3, 20250101 + i % 28, 1, 1 FROM generate_series(1, 1000) i;
CREATE FUNCTION public.stage(name text, prefix text, month integer, n integer, product integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE public.%I AS
        SELECT %L || i AS ticket_id, 1 AS line_no, NULL::integer AS customer_id,
               CASE WHEN i = 1 THEN %s ELSE 1 + i %% 10 END AS product_id,
               1 + i %% 3 AS store_id, %s + i %% 28 AS date_id, NULL::integer AS campaign_id,
               1 + i %% 5 AS quantity, (i %% 100 + 0.5)::numeric(12,2) AS amount
          FROM generate_series(1, %s) i', name, prefix, product, month * 100 + 1, n);
END $$;
SELECT public.stage('stage_march', 'M-', 202503, 20000, 1);
SELECT public.stage('stage_april', 'A-', 202504, 5000, 20);
SELECT public.stage('stage_jan', 'K-', 202501, 100, 19);
});

note 'the writer is not blocked while a month is attached';
my $imp = $node->background_psql($db, on_error_stop => 0);
$imp->query_safe('\set VERBOSITY verbose');
$imp->query_safe('BEGIN');
is($imp->query_safe(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_march')}),
	'20000 0', 'March loaded in bulk (transaction still open)');
is(sql(q{SELECT c.relkind FROM pg_class c WHERE c.relname = 'sales_2025_03'}), '',
	'others do not see the new partition before commit');
# Each statement below would wait for the import's commit if it conflicted
# with a lock the import holds; finishing while the import's transaction is
# open is the proof that it did not. (statement_timeout: fail, not hang.)
is(sql(q{SET statement_timeout = '60s';
	INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
	VALUES ('W-1', 1, 2, 1, 20250115, 1, 3.50) RETURNING ticket_id}),
	'W-1', 'a writer inserts a January sale meanwhile');
is(sql(q{SET statement_timeout = '60s'; SELECT count(*) || ' ' || sum(amount) FROM megamarket.sales}),
	'1001 1003.50', 'a reader sees the old data (and the writer\'s line), not March');
my ($rc, $out, $err) = $node->psql($db, q{SET lock_timeout = '200ms';
	DELETE FROM megamarket.products WHERE sku = 'P-20'});
like($err, qr/lock timeout/, 'a session deleting a dimension row waits for the import (lock_timeout here)');
$imp->query_safe('COMMIT');
is(sql(q{SELECT count(*) FROM megamarket.sales}), '21001', 'after commit, March is there');
is(sql(q{SELECT count(*) FROM megamarket.sales_2025_03}), '20000', '... in its own partition');
is(sql(q{SELECT (SELECT count(*) FROM megamarket.sales) = (SELECT count(*) FROM megamarket.sale_keys)
	AND NOT EXISTS (SELECT ticket_id, line_no FROM megamarket.sales EXCEPT SELECT * FROM megamarket.sale_keys)}),
	't', 'the key table holds every natural key');

note 'a re-load of the same rows changes nothing';
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_march')}),
	'0 0', 'same rows again: nothing inserted or updated');

note 'a dimension row deleted while the import runs fails it cleanly';
sub deleted_midway
{
	my ($stage, $sku, $what) = @_;
	my $before = sql(q{SELECT count(*) || ' ' || (SELECT count(*) FROM megamarket.sale_keys)
		|| ' ' || (SELECT count(*) FROM pg_class WHERE relname ~ '^(sales|_bulk)')
		|| ' ' || (SELECT last_value FROM megamarket.sales_sale_id_seq) FROM megamarket.sales});
	my $del = $node->background_psql($db);
	$del->query_safe('BEGIN');
	$del->query_safe("DELETE FROM megamarket.products WHERE sku = '$sku'");
	my $imp = $node->background_psql($db, on_error_stop => 0);
	$imp->query_safe('\set VERBOSITY verbose');
	$imp->query_until(qr/started/,
		"\\echo started\nSELECT * FROM megamarket._import_facts('sales', '$stage');\n");
	# the import reaches the deleted row and waits for the deleting session
	ok( $node->poll_query_until($db, q{SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE wait_event_type = 'Lock' AND query LIKE '%_import_facts%')}),
		"$what: the import waits for the deleting session");
	$del->query_safe('COMMIT');
	$del->quit;
	$imp->query('SELECT 1');
	my $e = $imp->{stderr};
	$imp->quit;
	like($e, qr/ERROR:  23503: .*Key \(product_id\)=\(\d+\) is not present in table "products"/s,
		"$what: the import fails with foreign_key_violation naming the key");
	is(sql(q{SELECT count(*) || ' ' || (SELECT count(*) FROM megamarket.sale_keys)
		|| ' ' || (SELECT count(*) FROM pg_class WHERE relname ~ '^(sales|_bulk)')
		|| ' ' || (SELECT last_value FROM megamarket.sales_sale_id_seq) FROM megamarket.sales}) =~ s/ \d+$//r,
		$before =~ s/ \d+$//r, "$what: nothing changed (rows, keys, tables)");
	return $e;
}
my $e = deleted_midway('stage_april', 'P-20', 'a new month (bulk)');
like($e, qr/megamarket: sales of 2025_04 refer to a row that is not there \(sales_2025_04_product_id_fkey\)/,
	'... its message names the month and the foreign key');
like($e, qr/HINT:  Another session deleted the row/, '... and its hint says what happened');
deleted_midway('stage_jan', 'P-19', 'a month the warehouse holds (upsert)');

note 'natural keys across months and sessions';
($rc, $out, $err) = $node->psql($db, q{INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
	VALUES ('M-7', 1, 2, 1, 20250116, 1, 1)});
like($err, qr/duplicate key value violates unique constraint "sale_keys_pkey".*Key \(ticket_id, line_no\)=\(M-7, 1\)/s,
	'a March line cannot come back as a January one');
# a writer inserting a line a running bulk load also brings waits for the
# load, then fails on the key: unique across sessions too
sql(q{SELECT public.stage('stage_may', 'Y-', 202505, 1000, 1)});
$imp = $node->background_psql($db);
$imp->query_safe('BEGIN');
$imp->query_safe(q{SELECT megamarket._import_facts('sales', 'stage_may')});
my $w = $node->background_psql($db, on_error_stop => 0);
$w->query_until(qr/started/, "\\echo started\nINSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount) VALUES ('Y-3', 1, 2, 1, 20250117, 1, 1);\n");
ok($node->poll_query_until($db, q{SELECT EXISTS (SELECT 1 FROM pg_stat_activity
	WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO megamarket.sales%')}),
	'a writer of a line the load brings waits for it');
$imp->query_safe('COMMIT');
$imp->quit;
$w->query('SELECT 1');
like($w->{stderr}, qr/sale_keys_pkey/, '... and fails on the key once the load commits');
$w->quit;

note 'a line moving to another day';
my $id5 = sql(q{SELECT sale_id FROM megamarket.sales WHERE ticket_id = 'J-5'});
my $id6 = sql(q{SELECT sale_id FROM megamarket.sales WHERE ticket_id = 'J-6'});
sql(q{CREATE TABLE public.stage_move AS SELECT ticket_id, line_no, customer_id, product_id, store_id,
	CASE ticket_id WHEN 'J-5' THEN 20250310 ELSE 20250620 END AS date_id, campaign_id, quantity, amount
	FROM megamarket.sales WHERE ticket_id IN ('J-5', 'J-6')});
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_move')}),
	'0 2', 'two lines move: two updates, no insert');
is(sql(q{SELECT string_agg(format('%s %s %s', ticket_id, (SELECT c.relname FROM pg_class c WHERE c.oid = s.tableoid), sale_id), ', ' ORDER BY ticket_id)
	FROM megamarket.sales s WHERE ticket_id IN ('J-5', 'J-6')}),
	"J-5 sales_2025_03 $id5, J-6 sales_2025_06 $id6",
	'into March (a month there) and June (made by the load), each with its sale_id');
is(sql(q{SELECT count(*) FROM megamarket.sale_keys WHERE ticket_id IN ('J-5', 'J-6')}), '2', 'one key each');
is(sql(q{SELECT count(*) FROM megamarket.sales}), sql(q{SELECT count(*) FROM megamarket.sale_keys}),
	'keys and lines still match');

note 'hostile input changes nothing';
my $state = sub { sql(q{SELECT count(*) || ' ' || (SELECT count(*) FROM megamarket.sale_keys)
	|| ' ' || (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname ~ '^(sales_|_bulk)' AND relkind = 'r')
	FROM megamarket.sales}) };
my $s0 = $state->();
my @bad = (
	[ q{SELECT megamarket._import_facts('tickets', 'stage_move')}, qr/22023: megamarket: unknown fact table "tickets"/ ],
	[ q{SELECT megamarket._import_facts(NULL, 'stage_move')}, qr/22023: megamarket: unknown fact table/ ],
	[ q{CREATE TEMP VIEW v AS SELECT * FROM stage_move; SELECT megamarket._import_facts('sales', 'v')}, qr/42809: .*must be a table/ ],
	[ q{CREATE TEMP TABLE t AS SELECT ticket_id, line_no FROM stage_move; SELECT megamarket._import_facts('sales', 't')}, qr/42703: .*lacks columns "customer_id" integer, "product_id" integer/ ],
	[ q{CREATE TEMP TABLE t AS SELECT 'D-' || ticket_id AS ticket_id, line_no, customer_id, product_id, store_id, date_id, campaign_id, quantity, amount FROM stage_may; INSERT INTO t SELECT * FROM t; SELECT megamarket._import_facts('sales', 't')}, qr/23505: / ],
	[ q{CREATE TEMP TABLE t AS SELECT 'D-' || ticket_id AS ticket_id, line_no, customer_id, product_id, store_id, date_id + 200 AS date_id, campaign_id, quantity, amount FROM stage_may; INSERT INTO t SELECT * FROM t; SELECT megamarket._import_facts('sales', 't')}, qr/23505: / ],
	[ q{CREATE TEMP TABLE t AS SELECT 'Z-' || ticket_id AS ticket_id, line_no, customer_id, product_id, store_id, 29990101 AS date_id, campaign_id, quantity, amount FROM stage_may; SELECT megamarket._import_facts('sales', 't')}, qr/23503: / ],
	[ q{CREATE TEMP TABLE t AS SELECT 'Z-' || ticket_id AS ticket_id, line_no, customer_id, product_id, store_id, date_id, campaign_id, -quantity AS quantity, amount FROM stage_may; SELECT megamarket._import_facts('sales', 't')}, qr/23514: .*sales_quantity_positive/ ],
	[ q{CREATE TEMP TABLE t AS SELECT ticket_id, line_no, customer_id, product_id, store_id, date_id, campaign_id, quantity::bigint AS quantity, amount FROM stage_move; SELECT megamarket._import_facts('sales', 't')}, qr/42703: .*lacks columns "quantity" integer/ ],
	[ q{CREATE TEMP TABLE t AS SELECT ticket_id, line_no, customer_id, product_id, store_id, CASE WHEN ticket_id = 'J-6' THEN NULL ELSE date_id END AS date_id, campaign_id, quantity, amount FROM stage_move; SELECT megamarket._import_facts('sales', 't')}, qr/23502: _import_facts: staging t has rows without a date_id/ ],
	[ q{CREATE TEMP TABLE t AS SELECT ticket_id, line_no, customer_id, product_id, store_id, CASE WHEN ticket_id = 'J-6' THEN 2147483647 ELSE date_id END AS date_id, campaign_id, quantity, amount FROM stage_move; SELECT megamarket._import_facts('sales', 't')}, qr/22023: megamarket: 21474836 is not a month of the date dimension/ ],
	[ q{SELECT megamarket.add_months('2025-05-01', '2025-01-01')}, qr/22023: add_months: from_date/ ],
	[ q{SELECT megamarket.add_months('1899-12-01', '1900-01-01')}, qr/22008: add_months: range/ ],
);
for my $b (@bad)
{
	($rc, $out, $err) = $node->psql($db, "\\set VERBOSITY verbose\n$b->[0]");
	like($err, $b->[1], "refused: $b->[0]");
}
is(sql(q{SELECT megamarket.add_months(NULL, '2025-01-01') IS NULL}), 't', 'add_months is strict');
sql(q{CREATE ROLE reader LOGIN; GRANT USAGE ON SCHEMA megamarket TO reader;
	GRANT SELECT ON ALL TABLES IN SCHEMA megamarket TO reader;
	GRANT EXECUTE ON FUNCTION megamarket._import_facts(text, regclass), megamarket.add_months(date, date) TO reader;
	GRANT SELECT ON stage_may TO reader});
($rc, $out, $err) = $node->psql($db, q{\set VERBOSITY verbose
	SELECT megamarket._import_facts('sales', 'stage_may')}, extra_params => [ '-U', 'reader' ]);
like($err, qr/42501: permission denied for table sales/, 'a role that may not insert sales cannot load them');
($rc, $out, $err) = $node->psql($db, q{\set VERBOSITY verbose
	SELECT megamarket.add_months('2030-01-01', '2030-01-01')}, extra_params => [ '-U', 'reader' ]);
like($err, qr/42501: permission denied to add months/, '... nor add months');
sql(q{CREATE ROLE loader LOGIN; GRANT USAGE ON SCHEMA megamarket TO loader;
	GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA megamarket TO loader;
	GRANT EXECUTE ON FUNCTION megamarket._import_facts(text, regclass) TO loader});
($rc, $out, $err) = $node->psql($db, q{\set VERBOSITY verbose
	SELECT megamarket._import_facts('sales', 'stage_may')}, extra_params => [ '-U', 'loader' ]);
like($err, qr/42501: permission denied for table (public\.)?stage_may/, 'a loader cannot load a staging table it may not read');
is($state->(), $s0, 'nothing changed');

note 'a cancelled load leaves nothing';
sql(q{SELECT public.stage('stage_big', 'B-', 202402, 300000, 1); SELECT fill_dates('2024-02-01', '2024-02-29')});
($rc, $out, $err) = $node->psql($db, q{\set VERBOSITY verbose
	SET statement_timeout = '300ms'; SELECT megamarket._import_facts('sales', 'stage_big')});
like($err, qr/57014: canceling statement due to statement timeout/, 'the load is cancelled');
is($state->(), $s0, 'nothing changed, no table left behind');

note 'a staging column err leaves its rows out (the import hands over its stage, rejected rows included)';
sql(q{SELECT public.stage('stage_err', 'E-', 202502, 10, 1);
	ALTER TABLE public.stage_err ADD COLUMN err text[];
	UPDATE public.stage_err SET err = ARRAY['bad_number', 'quantity', 'x'] WHERE ticket_id IN ('E-2', 'E-3');
	-- a rejected row of a month with no days in dates: loaded, it would fail
	UPDATE public.stage_err SET err = ARRAY['bad_date', 'date', 'y'], date_id = 20250705 WHERE ticket_id = 'E-4'});
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_err')}),
	'7 0', 'February in bulk: the 7 rows without err');
is(sql(q{SELECT string_agg(ticket_id, ',' ORDER BY ticket_id) || ' ' || (SELECT count(*) FROM megamarket.sale_keys WHERE ticket_id LIKE 'E-%')
	|| ' ' || (SELECT count(*) FROM pg_class WHERE relname = 'sales_2025_07')
	FROM megamarket.sales WHERE ticket_id LIKE 'E-%'}),
	'E-1,E-10,E-5,E-6,E-7,E-8,E-9 7 0', 'the rows with err are not there, nor their keys or month');
sql(q{UPDATE public.stage_err SET quantity = quantity + 1 WHERE ticket_id IN ('E-2', 'E-5')});
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_err')}),
	'0 1', 'again, through the upsert path: only the changed row without err is updated');
is(sql(q{SELECT count(*) FROM megamarket.sales WHERE ticket_id IN ('E-2', 'E-3', 'E-4')}), '0', '... and the others stay out');

note 'months the warehouse holds as the staging has them are not compared; every other month is';
# the staging: March exactly as the warehouse holds it (each row's values by
# its ticket); each case below changes one thing and checks what it writes
my $march = sub { sql(q{SELECT md5(string_agg(format('%s %s %s %s %s %s', sale_id, ticket_id, line_no, date_id, quantity, amount), ',' ORDER BY ticket_id, line_no))
	FROM megamarket.sales WHERE date_id / 100 = 202503}) };
my $fresh_stage = sub {
	sql(q{DROP TABLE IF EXISTS public.stage_fp;
	CREATE TABLE public.stage_fp AS SELECT ticket_id, line_no, customer_id, product_id, store_id, date_id, campaign_id, quantity, amount
	FROM megamarket.sales WHERE date_id / 100 = 202503});
};
$fresh_stage->();
my $m0 = $march->();
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_fp')}), '0 0', 'March as it is: nothing written');
# an amount without the column's scale (a staging column of plain numeric)
sql(q{ALTER TABLE public.stage_fp ALTER COLUMN amount TYPE numeric;
	UPDATE public.stage_fp SET amount = 12.5 WHERE ticket_id = 'M-12'});
is(sql(q{SELECT (SELECT amount::text FROM public.stage_fp WHERE ticket_id = 'M-12') || ' ' || amount FROM megamarket.sales WHERE ticket_id = 'M-12'}),
	'12.5 12.50', 'the staging says 12.5 where the warehouse says 12.50');
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_fp')}), '0 0',
	'... the same number: nothing written');
is($march->(), $m0, '... March unchanged');
# two rows trade their amounts: the month's count and sum stay, its rows do not
sql(q{UPDATE public.stage_fp s SET amount = CASE s.ticket_id WHEN 'M-20' THEN 21.5 ELSE 20.5 END WHERE s.ticket_id IN ('M-20', 'M-21')});
is(sql(q{SELECT string_agg(amount::text, ' ' ORDER BY ticket_id) FROM megamarket.sales WHERE ticket_id IN ('M-20', 'M-21')}),
	'20.50 21.50', 'M-20 and M-21 hold 20.50 and 21.50');
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_fp')}), '0 2',
	'two rows trading their amounts: both updated');
is(sql(q{SELECT string_agg(amount::text, ' ' ORDER BY ticket_id) FROM megamarket.sales WHERE ticket_id IN ('M-20', 'M-21')}),
	'21.50 20.50', '... to the staging\'s values');
# a sale the warehouse holds and the file lacks (a real-time one): March
# differs, its rows are compared, nothing changes and the sale stays
sql(q{INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
	VALUES ('LIVE-1', 1, 2, 1, 20250315, 1, 3)});
$fresh_stage->();
sql(q{DELETE FROM public.stage_fp WHERE ticket_id = 'LIVE-1'});
$m0 = $march->();
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_fp')}), '0 0',
	'a month with one more sale in the warehouse: nothing written');
is($march->(), $m0, '... the real-time sale stays');
# a line moving from a month the staging does not have at all (January)
# into March: January is compared too
my $id7 = sql(q{SELECT sale_id FROM megamarket.sales WHERE ticket_id = 'J-7'});
sql(q{INSERT INTO public.stage_fp SELECT ticket_id, line_no, customer_id, product_id, store_id, 20250311, campaign_id, quantity, amount
	FROM megamarket.sales WHERE ticket_id = 'J-7'});
is(sql(q{SELECT inserted || ' ' || updated FROM megamarket._import_facts('sales', 'stage_fp')}), '0 1',
	'a line moving in from a month the staging lacks: one update');
is(sql(q{SELECT format('%s %s', (SELECT c.relname FROM pg_class c WHERE c.oid = s.tableoid), sale_id) FROM megamarket.sales s WHERE ticket_id = 'J-7'}),
	"sales_2025_03 $id7", '... into March, with its sale_id');
is(sql(q{SELECT count(*) FROM megamarket.sales}), sql(q{SELECT count(*) FROM megamarket.sale_keys}),
	'keys and lines still match');

note 'DROP EXTENSION leaves nothing, partitions made later included';
sql('DROP EXTENSION megamarket');
is(sql(q{SELECT count(*) FROM pg_class WHERE relname ~ '^(sales|losses|sale_keys|loss_keys|_bulk)'}), '0',
	'no partition, key table or bulk table is left');
is(sql(q{SELECT count(*) FROM pg_namespace WHERE nspname = 'megamarket'}), '0', 'the schema is gone');

$node->stop;
done_testing();
