# pg_dump / pg_restore keep every warehouse row: the tables are extension
# configuration tables, so their data (and sequence positions) go into the
# dump and come back after CREATE EXTENSION, shipped branches included.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'megamarket, pg_cron'\ncron.database_name = 'postgres'\n");
$node->start;

note 'a warehouse with a row in every table';
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION megamarket;
SET search_path = megamarket;
SELECT fill_dates('2024-12-30', '2025-01-05');
SELECT add_months('2024-12-30', '2025-01-05');
INSERT INTO regions (name) VALUES ('Noroeste');
INSERT INTO cities (name, region_id) VALUES ('Villaverde', 1);
-- a shipped branch the DBA completed, one left as shipped, and a new one
UPDATE stores SET city_id = 1, location = 'Av. del Norte 10', opened_on = '2001-05-01' WHERE code = 'NORTE';
INSERT INTO stores (code, name, city_id) VALUES ('ESTE', 'Este', 1);
INSERT INTO departments (name) VALUES ('Alimentación');
INSERT INTO categories (name, department_id) VALUES ('Lácteos', 1);
INSERT INTO products (sku, name, category_id, price) VALUES ('LAC-001', 'Leche', 1, 1.15), ('LAC-002', 'Yogur', 1, 0.45);
INSERT INTO segments (name, description) VALUES ('Frecuentes', 'compran cada semana');
INSERT INTO customers (code, name, email, segment_id, wallet_address)
VALUES ('C-1', 'Ana Pérez', 'ana@example.com', 1, '0x' || repeat('0a', 20)), ('C-2', 'Luis', NULL, NULL, NULL);
INSERT INTO channels (name) VALUES ('E-mail');
INSERT INTO campaigns (code, name, channel_id, target_segment_id, start_date, end_date, budget)
VALUES ('CAM-1', 'Reyes', 1, 1, '2025-01-01', '2025-01-06', 1200.50);
INSERT INTO loss_reasons (name) VALUES ('Caducidad');
INSERT INTO sales (ticket_id, line_no, customer_id, product_id, store_id, date_id, campaign_id, quantity, amount)
SELECT 'T-' || i, 1 + i % 3, 1 + i % 2, 1 + i % 2, 1 + i % 4, CASE WHEN i % 2 = 0 THEN 20241231 ELSE 20250102 END, CASE WHEN i % 5 = 0 THEN 1 END, 1 + i % 7, (i * 1.37)::numeric(12,2)
FROM generate_series(1, 500) i;
INSERT INTO losses (loss_ref, product_id, store_id, date_id, reason_id, quantity, amount)
VALUES ('P-1', 1, 2, 20250102, 1, 4, 3.20);
-- the import's own tables: a DBA's header mapping, a run and its rejects
INSERT INTO import_names (sheet, field, name) VALUES ('sales', NULL, 'Tickets'), ('sales', 'amount', 'Total línea');
INSERT INTO import_runs (filename, file_size, file_sha256, file_modified, options, dry_run, started_at,
    finished_at, run_by, rows_read, inserted, updated, unchanged, rejected, sheets)
VALUES ('/srv/ventas.xlsx', 1234, repeat('ab', 32), now(), '{}', false, now(), now(), current_user,
    10, 8, 0, 0, 2, '[]');
INSERT INTO import_rejects (run_id, sheet, row_number, cell, field, value, reason, kept)
VALUES (1, 'Ventas', 7, 'H7', 'amount', 'dos', 'bad_number', false),
       (1, 'Clientes', 3, 'C3', 'email', 'x@@y', 'bad_email', true);
});

my @tables = qw(regions cities stores departments categories products segments
  customers dates channels campaigns loss_reasons sales losses sale_keys loss_keys
  import_names import_runs import_rejects);

# A table's content as one fingerprint: every row as text, in key order.
sub fingerprints
{
	my ($db) = @_;
	my %fp;
	for my $t (@tables)
	{
		$fp{$t} = $node->safe_psql($db,
			"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM megamarket.$t t"
		);
	}
	# the month partitions and everything each has: keys, foreign keys,
	# checks, indexes (per partition, made by partition.sql)
	$fp{partitions} = $node->safe_psql($db, q{
		SELECT string_agg(x, E'\n' ORDER BY x) FROM (
			SELECT format('%s %s', c.oid::regclass, pg_get_expr(c.relpartbound, c.oid)) AS x
			  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			 WHERE i.inhparent IN ('megamarket.sales'::regclass, 'megamarket.losses'::regclass)
			UNION ALL
			SELECT format('%s %s %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid))
			  FROM pg_constraint k JOIN pg_inherits i ON i.inhrelid = k.conrelid
			 WHERE i.inhparent IN ('megamarket.sales'::regclass, 'megamarket.losses'::regclass)
			UNION ALL
			SELECT pg_get_indexdef(x.indexrelid)
			  FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indrelid
			 WHERE i.inhparent IN ('megamarket.sales'::regclass, 'megamarket.losses'::regclass)) s});
	$fp{sequences} = $node->safe_psql($db,
		"SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'megamarket'"
	);
	return \%fp;
}
my $before = fingerprints('src');

note 'dump, restore into a new database, compare';
my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ],
	'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
	'pg_restore without errors');
my $after = fingerprints('dst');

for my $t (@tables, 'partitions', 'sequences')
{
	is($after->{$t}, $before->{$t}, "$t identical after restore");
}
like($before->{sales}, qr/^500:/, 'the fingerprint saw all 500 sales');
like($before->{partitions}, qr/sales_2024_12_date_id_fkey FOREIGN KEY.*sales_2025_01 FOR VALUES/s,
	'the fingerprint saw both months of sales and their foreign keys');

# The restored warehouse goes on: its partitions refuse a broken row and
# the key table a key of another month; add_months() adds a month.
my ($rc, $out, $err) = $node->psql('dst', "INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount) VALUES ('T-1', 9, 99, 1, 20250101, 1, 1)");
like($err, qr/violates foreign key constraint "sales_2025_01_product_id_fkey"/, 'a restored partition checks its foreign keys');
($rc, $out, $err) = $node->psql('dst', "INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount) VALUES ('T-2', 3, 1, 1, 20250102, 1, 1)");
like($err, qr/sale_keys_pkey/, 'a restored key table refuses a sale line of another month ('. ($err =~ s/\n.*//sr) . ')');
is($node->safe_psql('dst', q{SELECT megamarket.add_months('2025-02-01', '2025-02-28');
	INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
	SELECT 'F-1', 1, 1, 1, 20250102 + 100, 1, 1 FROM megamarket.fill_dates('2025-02-01', '2025-02-28');
	SELECT relname FROM pg_class WHERE oid = (SELECT tableoid FROM megamarket.sales WHERE ticket_id = 'F-1')}),
	"2\nsales_2025_02", 'add_months() adds a month to the restored warehouse');
is($node->safe_psql('dst', 'SELECT count(*) FILTER (WHERE builtin) || \' \' || count(*) FILTER (WHERE NOT builtin) FROM megamarket.import_names'),
	$node->safe_psql('src', 'SELECT count(*) FILTER (WHERE builtin) || \' \' || count(*) FILTER (WHERE NOT builtin) FROM megamarket.import_names'),
	'import_names: the shipped names once, the DBA\'s kept');

# Sequences continue where they were: new rows do not collide.
is( $node->safe_psql('dst',
		"INSERT INTO megamarket.stores (code, name) VALUES ('OESTE', 'Oeste') RETURNING store_id"),
	'5', 'a new store continues the restored sequence');

# The restored extension is the whole extension: it drops cleanly.
$node->safe_psql('dst', 'DROP EXTENSION megamarket');
is($node->safe_psql('dst',
	"SELECT count(*) FROM pg_namespace WHERE nspname = 'megamarket'"), '0',
	'DROP EXTENSION after restore removes the schema');
is($node->safe_psql('dst',
	"SELECT count(*) FROM pg_class WHERE relname ~ '^(sales|losses|sale_keys|loss_keys)'"), '0',
	'... and every partition made after CREATE EXTENSION, with the key tables');

$node->stop;
done_testing();
