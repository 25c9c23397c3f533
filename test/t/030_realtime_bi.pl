# Real time and BI: live_store_day stays exact under concurrent writers
# (pgbench clients inserting, updating and deleting sales and losses), a
# rolled-back statement leaves no trace in it, NOTIFY megamarket_sales
# reaches a listener at commit only, live_refresh() agrees with the triggers,
# the megamarket_bi views answer, and a read-only BI role set up as
# docs/powerbi.md says sees megamarket_bi and nothing else.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('realtime');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'megamarket, pg_cron'
cron.database_name = 'postgres'
max_connections = 40
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION megamarket;
SELECT megamarket.fill_dates('2025-01-01', '2025-03-31');
SELECT megamarket.add_months('2025-01-01', '2025-03-31');   -- the facts' month partitions
INSERT INTO megamarket.departments (name) VALUES ('Alimentación');
INSERT INTO megamarket.categories (name, department_id) VALUES ('Panadería', 1);
INSERT INTO megamarket.products (sku, name, category_id, price)
SELECT 'P-' || g, 'Producto ' || g, 1, g FROM generate_series(1, 20) g;
INSERT INTO megamarket.customers (code, name) SELECT 'C' || g, 'Cliente ' || g FROM generate_series(1, 50) g;
INSERT INTO megamarket.loss_reasons (name) VALUES ('Caducidad'), ('Robo');
CREATE SEQUENCE public.ticket_seq;
CREATE SEQUENCE public.loss_seq;
});

# The recomputation from the facts that live_store_day must equal.
my $recompute = q{
WITH f AS (
  SELECT store_id, date_id, sum(amount) AS revenue, sum(quantity) AS units, count(*) AS lines,
         count(*) FILTER (WHERE line_no = 1) AS tickets, 0 AS la, 0 AS lu, 0 AS le
  FROM megamarket.sales GROUP BY 1, 2
  UNION ALL
  SELECT store_id, date_id, 0, 0, 0, 0, sum(amount), sum(quantity), count(*)
  FROM megamarket.losses GROUP BY 1, 2
), r AS (
  SELECT store_id, date_id, sum(revenue) revenue, sum(units) units, sum(lines) lines, sum(tickets) tickets,
         sum(la) loss_amount, sum(lu) loss_units, sum(le) loss_events FROM f GROUP BY 1, 2
), l AS (
  SELECT store_id, date_id, revenue, units, lines, tickets, loss_amount, loss_units, loss_events
  FROM megamarket.live_store_day
  WHERE lines <> 0 OR loss_events <> 0 OR revenue <> 0 OR loss_amount <> 0
)
SELECT count(*) FROM ((TABLE r EXCEPT ALL TABLE l) UNION ALL (TABLE l EXCEPT ALL TABLE r)) d};

note 'concurrent writers';
# Tickets of 1-6 lines for a random store and day; corrections (one line's
# amount changed); voids (a whole ticket deleted); losses inserted and
# deleted. Statements of different clients touch the same store-days.
my %scripts = (
	'insert_ticket@10' => q{
\set store random(1, 3)
\set day random(0, 29)
\set n random(1, 6)
\set cust random(0, 50)
INSERT INTO megamarket.sales (ticket_id, line_no, customer_id, product_id, store_id, date_id, quantity, amount)
SELECT t.id, g, NULLIF(:cust, 0), 1 + (g * 7 + :day) % 20, :store,
       to_char(date '2025-01-01' + :day, 'YYYYMMDD')::int, 1 + g % 3, (g * 1.25 + :day)::numeric(12,2)
FROM (SELECT 'T' || nextval('public.ticket_seq') AS id) t, generate_series(1, :n) g;
},
	'correct_line@2' => q{
\set t random(1, 2000)
UPDATE megamarket.sales SET amount = amount + 0.10, quantity = quantity + 1
WHERE ticket_id = 'T' || :t AND line_no = 1;
},
	'void_ticket@1' => q{
\set t random(1, 2000)
DELETE FROM megamarket.sales WHERE ticket_id = 'T' || :t;
},
	'loss@2' => q{
\set store random(1, 3)
\set day random(0, 29)
\set r random(1, 2)
INSERT INTO megamarket.losses (loss_ref, product_id, store_id, date_id, reason_id, quantity, amount)
VALUES ('L' || nextval('public.loss_seq'), 1 + :day % 20, :store, to_char(date '2025-01-01' + :day, 'YYYYMMDD')::int, :r, 2, 3.50);
},
	'move_loss@1' => q{
\set l random(1, 300)
\set day random(0, 29)
UPDATE megamarket.losses SET date_id = to_char(date '2025-01-01' + :day, 'YYYYMMDD')::int, amount = amount * 2
WHERE loss_ref = 'L' || :l;
},
);
$node->pgbench('--no-vacuum --client=6 --jobs=2 --transactions=400', 0,
	[qr{processed: 2400/2400}], [qr{^$}], 'pgbench: 6 writers, 2400 transactions', \%scripts);

cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.sales'), '>', 3000, 'the writers wrote sales');
is($node->safe_psql('postgres', $recompute), '0', 'live_store_day equals a recomputation from the facts');
is($node->safe_psql('postgres',
	q{SELECT sum(tickets) = (SELECT count(DISTINCT ticket_id) FROM megamarket.sales) FROM megamarket.live_store_day}),
	't', 'tickets counted once each (line 1 of every ticket)');

note 'rollback and NOTIFY';
my $before = $node->safe_psql('postgres', 'SELECT sum(revenue)::text || sum(lines) FROM megamarket.live_store_day');
$node->safe_psql('postgres', q{
BEGIN;
INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('ROLLED', 1, 1, 1, 20250105, 1, 999.99);
ROLLBACK;});
is($node->safe_psql('postgres', 'SELECT sum(revenue)::text || sum(lines) FROM megamarket.live_store_day'),
	$before, 'a rolled-back insert leaves live_store_day as it was');

# psql prints the notifications its session received after each command
my ($out, $err) = ('', '');
$node->psql('postgres', q{
LISTEN megamarket_sales;
BEGIN;
INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('NOTIFIED', 1, 1, 2, 20250110, 2, 10.00), ('NOTIFIED', 2, 2, 2, 20250111, 1, 5.50);
SELECT 'before commit';
COMMIT;
BEGIN;
INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('NEVER', 1, 1, 2, 20250110, 2, 10.00);
ROLLBACK;
SET megamarket.live_notify = off;
INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('QUIET', 1, 1, 2, 20250110, 2, 10.00);
RESET megamarket.live_notify;
UPDATE megamarket.sales SET amount = amount + 1 WHERE ticket_id = 'NOTIFIED';
SELECT 'done';
}, stdout => \$out, stderr => \$err);
my @notes = ($out =~ /Asynchronous notification "megamarket_sales" with payload "(.*)" received from server/g);
is(scalar(@notes), 2, 'two notifications: the committed insert and the update; none for the rolled-back one or with live_notify off')
  or diag("stdout: $out\nstderr: $err");
like($notes[0] // '', qr/"op": "INSERT".*"rows": 2/, 'payload names the operation and the rows');
like($notes[0] // '', qr/"revenue": 15\.50/, 'payload carries the revenue added');
like($notes[0] // '', qr/"from_date_id": 20250110/, 'payload carries the first day');
like($notes[0] // '', qr/"to_date_id": 20250111/, 'payload carries the last day');
like($notes[1] // '', qr/"op": "UPDATE".*"rows": 2/, 'an update notifies with its rows');
like($notes[1] // '', qr/"revenue": 2(\.00)?[,}]/, 'and the revenue it changed');

note 'live_refresh';
$node->safe_psql('postgres', q{
ALTER TABLE megamarket.sales DISABLE TRIGGER live_sales_insert;
INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('BYPASS', 1, 1, 3, 20250201, 1, 1.00);
ALTER TABLE megamarket.sales ENABLE TRIGGER live_sales_insert;});
is($node->safe_psql('postgres', $recompute), '1', 'a row that bypassed the triggers shows as a difference');
is($node->safe_psql('postgres', 'SELECT megamarket.live_refresh(20250201, 20250201)'), '1',
	'live_refresh recomputes the day');
is($node->safe_psql('postgres', $recompute), '0', 'and live_store_day is exact again');
my ($rc, $o, $e) = $node->psql('postgres', 'SELECT megamarket.live_refresh(20250301, 20250201)');
like($e, qr/from_date_id 20250301 is after to_date_id 20250201/, 'live_refresh: reversed range is an error');
$node->safe_psql('postgres', 'TRUNCATE megamarket.losses');
is($node->safe_psql('postgres', $recompute), '0', 'TRUNCATE of losses is reflected');

note 'loyalty awards per ticket, and a till role with INSERT on sales only';
$node->safe_psql('postgres', q{
SELECT megamarket.loyalty_register(7, '0x00000000000000000000000000000000000000a7');
CREATE ROLE till LOGIN;
GRANT INSERT ON megamarket.sales TO till;
GRANT USAGE ON SEQUENCE megamarket.sales_sale_id_seq TO till;
});
my $awards_before = $node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.loyalty_awards');
my ($trc, $tout, $terr) = $node->psql('postgres', q{
SET ROLE till;
INSERT INTO megamarket.sales (ticket_id, line_no, customer_id, product_id, store_id, date_id, quantity, amount)
VALUES ('LOY-1', 1, 7, 1, 1, 20250115, 1, 10.60), ('LOY-1', 2, 7, 2, 1, 20250115, 1, 4.75),
       ('LOY-2', 1, 8, 1, 1, 20250115, 1, 99.00), ('LOY-3', 1, 7, 3, 2, 20250116, 1, 0.50);});
is($trc, 0, 'a role with INSERT on sales alone can record a sale (the triggers run as the owner)') or diag($terr);
is($node->safe_psql('postgres', q{
SELECT string_agg(customer_id || ':' || purchase_amount || ':' || units || ':' || points || ':' || state, ',' ORDER BY award_id)
FROM megamarket.loyalty_awards}),
	'7:15.35:15:150:queued', 'one award for the registered customer\'s ticket: 15.35 -> 15 units, 150 points; none for the unregistered one or under one unit');
$node->safe_psql('postgres', q{
BEGIN;
INSERT INTO megamarket.sales (ticket_id, line_no, customer_id, product_id, store_id, date_id, quantity, amount)
VALUES ('LOY-4', 1, 7, 1, 1, 20250117, 1, 50.00);
ROLLBACK;});
is($node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.loyalty_awards') - $awards_before, 1,
	'a rolled-back sale awards nothing');
is($node->safe_psql('postgres', $recompute), '0', 'live_store_day still exact');

note 'BI views';
is($node->safe_psql('postgres', q{SELECT string_agg(step || ':' || coalesce(error, 'ok'), ' ' ORDER BY step) FROM megamarket.refresh_bi(segments => 3, forecast_days => 7)}),
	'customer_stats:ok product_associations:ok sales_forecast:ok segments:ok', 'refresh_bi: every step refreshed');
is($node->safe_psql('postgres', q{SELECT count(DISTINCT store_id) || ' ' || count(*) || ' ' || bool_and(lo95 <= forecast AND forecast <= hi95) FROM megamarket.sales_forecasts}),
	'3 21 true', 'a week of forecasts per store, each inside its interval');
($rc, $o, $e) = $node->psql('postgres', 'SELECT * FROM megamarket.refresh_bi(segments => 0)');
like($e, qr/segments must be at least 1/, 'refresh_bi: bad arguments are refused');
is($node->safe_psql('postgres', q{
SELECT (SELECT sum(revenue) FROM megamarket_bi.sales_by_store_month)
     = (SELECT sum(amount) FROM megamarket.sales)}), 't', 'sales_by_store_month adds up to the facts');
is($node->safe_psql('postgres', q{
SELECT string_agg(store || ' ' || month_start || ' ' || revenue, ',' ORDER BY store_id, month_start)
FROM megamarket_bi.sales_by_store_month}),
	$node->safe_psql('postgres', q{
SELECT string_agg(x, ',' ORDER BY s, m) FROM (
  SELECT st.store_id s, date_trunc('month', d.date)::date m,
         st.name || ' ' || date_trunc('month', d.date)::date || ' ' || sum(f.amount) x
  FROM megamarket.sales f JOIN megamarket.stores st USING (store_id) JOIN megamarket.dates d USING (date_id)
  GROUP BY 1, 2, st.name) q}), 'sales_by_store_month per store and month equals a GROUP BY over the facts');
is($node->safe_psql('postgres', q{
SELECT sum(customers) = (SELECT count(*) FROM megamarket.customers)
   AND sum(revenue) = (SELECT sum(amount) FROM megamarket.sales WHERE customer_id IS NOT NULL)
FROM megamarket_bi.customer_segments}), 't', 'customer_segments covers every customer and their revenue');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'megamarket_bi' AND c.relkind <> 'v'}), '0', 'megamarket_bi holds only views');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM information_schema.columns
WHERE table_schema = 'megamarket_bi'
  AND (data_type NOT IN ('integer', 'bigint', 'text', 'date', 'boolean', 'numeric', 'timestamp with time zone')
       OR (data_type = 'numeric' AND numeric_scale IS NULL))}), '0',
	'every BI column has a type Power BI maps cleanly (numeric with a scale)');

note 'a read-only BI role (docs/powerbi.md)';
$node->safe_psql('postgres', q{
CREATE ROLE powerbi LOGIN;
GRANT USAGE ON SCHEMA megamarket_bi TO powerbi;
GRANT SELECT ON ALL TABLES IN SCHEMA megamarket_bi TO powerbi;
});
my $as_bi = sub {
	my ($sql) = @_;
	my ($r, $so, $se) = $node->psql('postgres', "SET ROLE powerbi; $sql");
	return ($r, $so, $se);
};
($rc, $o, $e) = $as_bi->('SELECT count(*) FROM megamarket_bi.sales_by_store_month');
is($rc, 0, 'powerbi reads sales_by_store_month');
for my $v (qw(calendar stores losses_by_store_month margin_by_store_month campaign_performance customer_segments loyalty_trends sales_forecast product_associations))
{
	($rc, $o, $e) = $as_bi->("SELECT count(*) FROM megamarket_bi.$v");
	is($rc, 0, "powerbi reads $v") or diag($e);
}
($rc, $o, $e) = $as_bi->('SELECT email FROM megamarket.customers');
like($e, qr/permission denied for table customers/, 'powerbi cannot read customers\' e-mails');
($rc, $o, $e) = $as_bi->('SELECT * FROM megamarket.sales LIMIT 1');
like($e, qr/permission denied for table sales/, 'powerbi cannot read the facts directly');
($rc, $o, $e) = $as_bi->('SELECT megamarket.refresh_bi()');
like($e, qr/permission denied for function refresh_bi/, 'powerbi cannot run refresh_bi');
($rc, $o, $e) = $as_bi->('SELECT megamarket.live_refresh()');
like($e, qr/permission denied for function live_refresh/, 'powerbi cannot run live_refresh');
($rc, $o, $e) = $as_bi->(q{SELECT * FROM megamarket.import_workbook('/etc/passwd')});
like($e, qr/permission denied for function import_workbook/, 'powerbi cannot import');

note 'docs/megamarket.pbids';
{
	open(my $fh, '<', 'docs/megamarket.pbids') or die "docs/megamarket.pbids: $!";
	local $/;
	my $pbids = <$fh>;
	close $fh;
	$pbids =~ s/'/''/g;
	like($node->safe_psql('postgres', qq{
SELECT j->>'version' || ' ' || (j->'connections'->0->'details'->>'protocol') || ' '
       || (j->'connections'->0->'details'->'address'->>'database') || ' ' || (j->'connections'->0->>'mode')
FROM (SELECT '$pbids'::jsonb AS j) x}), qr/^0\.1 postgresql megamarket Import\s*$/, 'the .pbids file is JSON naming a PostgreSQL database');
}

note 'loyalty_web_config (web/points.html reads it as config.json)';
($rc, $o, $e) = $node->psql('postgres', 'SELECT megamarket.loyalty_web_config()');
like($e, qr/megamarket.loyalty_contract is not set/, 'no contract yet: an error that says what to do');
$node->append_conf('postgresql.conf', q{
megamarket.loyalty_contract = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
megamarket.eth_rpc_url = 'http://127.0.0.1:8545'
megamarket.eth_chain_id = 31337
});
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('megamarket.loyalty_contract') <> ''});
is($node->safe_psql('postgres', q{SELECT megamarket.loyalty_web_config('https://rpc.example.org')::text}),
	'{"rpcUrl": "https://rpc.example.org", "chainId": 31337, "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3"}',
	'the page\'s config: the public URL given, the chain id, the EIP-55 address');
like($node->safe_psql('postgres', q{SELECT megamarket.loyalty_web_config()->>'rpcUrl'}), qr{^http://127.0.0.1:8545$},
	'by default the server\'s node URL');

note 'DROP EXTENSION';
is($node->safe_psql('postgres', 'SELECT awards || \' \' || pending_points FROM megamarket_bi.loyalty_trends'), '1 150',
	'loyalty_trends counts the award and its pending points');
$node->safe_psql('postgres', 'DROP OWNED BY powerbi; DROP ROLE powerbi; DROP OWNED BY till; DROP ROLE till; DROP EXTENSION megamarket');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_namespace WHERE nspname IN ('megamarket', 'megamarket_bi')}),
	'0', 'DROP EXTENSION removes both schemas');

done_testing();
