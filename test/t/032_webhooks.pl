# Campaign webhooks against a real local HTTP receiver
# (test/fixtures/webhook/receiver.py, which checks every signature with
# Python's hmac): deliveries are queued when customers enter a targeted
# segment and when a campaign starts, never for a rolled-back change;
# webhook_dispatch() retries 5xx answers and time-outs with back-off, gives up
# on 4xx and after max_attempts, logs every attempt; the receiver sees every
# delivery, each key accepted, with valid signatures; secrets appear nowhere;
# a hanging endpoint can be cancelled.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $secret = 'test-secret-0123456789abcdef';
my $dir = PostgreSQL::Test::Utils::tempdir;
my ($portfile, $log) = ("$dir/port", "$dir/requests.jsonl");
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0)
{
	exec('python3', 'test/fixtures/webhook/receiver.py', $secret, $portfile, $log)
	  or die "exec receiver: $!";
}
END { kill 'TERM', $pid if $pid; }
for (1 .. 100) { last if -e $portfile; sleep 0.1; }
my $port = PostgreSQL::Test::Utils::slurp_file($portfile);
like($port, qr/^\d+$/, "receiver listening on port $port");
my $url = "http://127.0.0.1:$port";

my $node = PostgreSQL::Test::Cluster->new('webhooks');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

$node->safe_psql('postgres', qq{
CREATE EXTENSION megamarket;
INSERT INTO megamarket.segments (name, description) VALUES ('VIP', 'frequent, high spend'), ('Nuevos', 'recent');
INSERT INTO megamarket.customers (code, name, email)
SELECT 'C' || g, 'Cliente ' || g, 'c' || g || '\@example.com' FROM generate_series(1, 30) g;
INSERT INTO megamarket.campaigns (code, name, start_date, end_date, budget)
VALUES ('CMP-VIP', 'Club VIP', '2025-06-01', '2025-06-10', 1000);
INSERT INTO megamarket.campaign_rules (name, segment_id, campaign_id, endpoint, secret)
VALUES ('vip-flaky', 1, 1, '$url/flaky', '$secret');
});

note 'queueing';
$node->safe_psql('postgres', q{
BEGIN;
UPDATE megamarket.customers SET segment_id = 1 WHERE customer_id <= 5;
ROLLBACK;});
is($node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.webhook_deliveries'), '0',
	'a rolled-back move queues nothing');
$node->safe_psql('postgres', 'UPDATE megamarket.customers SET segment_id = 1 WHERE customer_id <= 12');
$node->safe_psql('postgres', 'UPDATE megamarket.customers SET segment_id = 2 WHERE customer_id BETWEEN 13 AND 20');
$node->safe_psql('postgres', q{UPDATE megamarket.customers SET email = 'x' || email WHERE customer_id <= 3});
is($node->safe_psql('postgres', q{SELECT count(*) || ' ' || count(DISTINCT customer_id) || ' ' || min(event)
FROM megamarket.webhook_deliveries}), '12 12 segment_entered',
	'12 customers entered VIP: 12 deliveries; other segments and other changes queue nothing');
is($node->safe_psql('postgres', q{SELECT megamarket.campaign_start_deliveries('2025-05-31')}), '0',
	'before the campaign starts: nothing');
is($node->safe_psql('postgres', q{SELECT megamarket.campaign_start_deliveries('2025-06-01')}), '12',
	'the campaign starts: one delivery per VIP customer');
is($node->safe_psql('postgres', q{SELECT megamarket.campaign_start_deliveries('2025-06-02')}), '0',
	'and only once');
is($node->safe_psql('postgres', q{
SELECT payload->>'event' || ' ' || (payload->'customer'->>'code') || ' ' || (payload->'segment'->>'name')
       || ' ' || (payload->'campaign'->>'code') || ' ' || (payload->>'idempotency_key' = idempotency_key)
FROM megamarket.webhook_deliveries WHERE event = 'campaign_started' AND customer_id = 1}),
	'campaign_started C1 VIP CMP-VIP true', 'the payload names customer, segment, campaign and key');

note 'dispatching to a flaky endpoint (503 first, some time-outs)';
$node->append_conf('postgresql.conf', "megamarket.webhook_backoff = 10ms\nmegamarket.webhook_timeout = 1s\n");
$node->reload;
my $rounds = 0;
while ($rounds++ < 60)
{
	my $queued = $node->safe_psql('postgres',
		q{SELECT count(*) FROM megamarket.webhook_deliveries WHERE status = 'queued'});
	last if $queued eq '0';
	$node->safe_psql('postgres', 'SELECT * FROM megamarket.webhook_dispatch(50)');
	sleep 0.05;
}
is($node->safe_psql('postgres', q{SELECT status, count(*) FROM megamarket.webhook_deliveries GROUP BY 1}),
	'delivered|24', "every delivery delivered (in $rounds rounds)");
cmp_ok($node->safe_psql('postgres', 'SELECT min(attempts) FROM megamarket.webhook_deliveries'), '>=', 2,
	'each needed a retry after the 503');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM megamarket.webhook_attempts WHERE error LIKE '%imeout%' OR error LIKE '%timed out%'}),
	'>', 0, 'some attempts timed out and were retried');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM megamarket.webhook_deliveries d
WHERE attempts <> (SELECT count(*) FROM megamarket.webhook_attempts a WHERE a.delivery_id = d.delivery_id)}),
	'0', 'every attempt is logged');

# what the receiver saw
my @requests = map { $_ } split /\n/, PostgreSQL::Test::Utils::slurp_file($log);
my (%accepted, $invalid);
for my $r (@requests)
{
	my ($key) = $r =~ /"key": "([^"]*)"/;
	$invalid++ if $r =~ /"valid": false/;
	$accepted{$key}++ if $r =~ /"status": 200/;
}
is($invalid // 0, 0, 'every request carried a valid signature, timestamp and key');
my $keys = $node->safe_psql('postgres',
	q{SELECT string_agg(idempotency_key, ' ' ORDER BY idempotency_key) FROM megamarket.webhook_deliveries});
is(join(' ', sort keys %accepted), $keys, 'the receiver accepted exactly the queued deliveries, by key');

note 'giving up';
$node->safe_psql('postgres', qq{
INSERT INTO megamarket.campaign_rules (name, segment_id, endpoint, secret, max_attempts)
VALUES ('nuevos-bad', 2, '$url/bad', '$secret', 5),
       ('nuevos-down', 2, 'http://127.0.0.1:9/nothing', '$secret', 3);
UPDATE megamarket.customers SET segment_id = 2 WHERE customer_id = 25;});
for (1 .. 10) { $node->safe_psql('postgres', 'SELECT * FROM megamarket.webhook_dispatch(50)'); sleep 0.05; }
is($node->safe_psql('postgres', q{
SELECT r.name || ' ' || d.status || ' ' || d.attempts || ' ' || coalesce(d.last_http_status::text, '-')
FROM megamarket.webhook_deliveries d JOIN megamarket.campaign_rules r USING (rule_id)
WHERE d.customer_id = 25 ORDER BY r.name}),
	"nuevos-bad failed 1 400\nnuevos-down failed 3 -", '400 fails at once; an unreachable endpoint after max_attempts');
like($node->safe_psql('postgres', q{
SELECT last_error FROM megamarket.webhook_deliveries d JOIN megamarket.campaign_rules r USING (rule_id)
WHERE r.name = 'nuevos-down'}), qr/connect/i, 'the error says why');

is($node->safe_psql('postgres', qq{
SELECT count(*) FROM megamarket.webhook_deliveries d
WHERE d::text LIKE '%$secret%'
   OR EXISTS (SELECT 1 FROM megamarket.webhook_attempts a WHERE a::text LIKE '%$secret%')}), '0',
	'the secret is in no delivery and no attempt');
unlike(join("\n", grep { /(ERROR|DETAIL|HINT|WARNING|CONTEXT):/ } split /\n/, PostgreSQL::Test::Utils::slurp_file($node->logfile)),
	qr/\Q$secret\E/, 'nor in any error, detail or hint in the server log');

note 'bad input and cancel';
my ($rc, $o, $e) = $node->psql('postgres', 'SELECT * FROM megamarket.webhook_dispatch(0)');
like($e, qr/max_deliveries must be between 1 and 100000/, 'webhook_dispatch(0) is an error');
($rc, $o, $e) = $node->psql('postgres', qq{
INSERT INTO megamarket.campaign_rules (name, segment_id, endpoint, secret) VALUES ('x', 1, 'file:///etc/passwd', '$secret')});
like($e, qr/endpoint must be an http or https URL/, 'only http and https endpoints');
unlike($e, qr/\Q$secret\E/, 'the error does not show the secret');
($rc, $o, $e) = $node->psql('postgres', qq{
INSERT INTO megamarket.campaign_rules (name, endpoint, secret) VALUES ('y', 'http://127.0.0.1/', '$secret')});
like($e, qr/needs a segment_id/, 'a missing segment is reported');
unlike($e, qr/\Q$secret\E/, 'without the row (and its secret) in the detail');
($rc, $o, $e) = $node->psql('postgres', q{
INSERT INTO megamarket.campaign_rules (name, segment_id, endpoint, secret) VALUES ('x', 1, 'http://127.0.0.1/', 'short')});
like($e, qr/the secret must have at least 16 bytes/, 'secrets of at least 16 bytes');

$node->safe_psql('postgres', qq{
INSERT INTO megamarket.campaign_rules (name, segment_id, endpoint, secret) VALUES ('vip-hang', 2, '$url/hang', '$secret');
UPDATE megamarket.customers SET segment_id = 2 WHERE customer_id = 26;});
my $t0 = time();
($rc, $o, $e) = $node->psql('postgres',
	"SET megamarket.webhook_timeout = '60s'; SET statement_timeout = '500ms'; SELECT * FROM megamarket.webhook_dispatch(50)");
my $took = time() - $t0;
like($e, qr/canceling statement due to statement timeout/, 'a hanging endpoint: statement_timeout cancels the dispatch');
cmp_ok($took, '<', 10, sprintf('within seconds (%.1f s), not the 60 s time-out', $took));
is($node->safe_psql('postgres', q{
SELECT status || ' ' || attempts FROM megamarket.webhook_deliveries d JOIN megamarket.campaign_rules r USING (rule_id)
WHERE r.name = 'vip-hang'}), 'queued 0', 'the cancelled round changed nothing');

note 'the dispatcher worker: webhooks and relayed notifications';
$node->append_conf('postgresql.conf', qq{
megamarket.dispatcher_databases = 'postgres'
megamarket.dispatcher_naptime = '200ms'
});
$node->restart;
$node->safe_psql('postgres', qq{
INSERT INTO megamarket.campaign_rules (name, segment_id, endpoint, secret) VALUES ('nuevos-ok', 2, '$url/ok', '$secret');
UPDATE megamarket.customers SET segment_id = 2 WHERE customer_id BETWEEN 27 AND 29;});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 3 FROM megamarket.webhook_deliveries d JOIN megamarket.campaign_rules r USING (rule_id)
WHERE r.name = 'nuevos-ok' AND d.status = 'delivered'}), 'the worker delivers new webhooks by itself');
cmp_ok($node->safe_psql('postgres', q{
SELECT count(*) FROM megamarket.webhook_attempts a JOIN megamarket.webhook_deliveries d USING (delivery_id)
JOIN megamarket.campaign_rules r USING (rule_id) WHERE r.name = 'vip-hang'}), '>=', 1,
	'the hanging endpoint is tried by the worker too, and times out (megamarket.webhook_timeout)');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE a.backend_type = 'megamarket dispatcher' AND l.locktype = 'transactionid'}), '0',
	'and holds no transaction while it waits for the endpoint');

$node->safe_psql('postgres', q{
SELECT megamarket.fill_dates('2025-01-01', '2025-01-31');
SELECT megamarket.add_months('2025-01-01', '2025-01-31');
INSERT INTO megamarket.departments (name) VALUES ('A');
INSERT INTO megamarket.categories (name, department_id) VALUES ('B', 1);
INSERT INTO megamarket.products (sku, name, category_id, price) VALUES ('P-1', 'Pan', 1, 1);});
my ($out, $err) = ('', '');
$node->psql('postgres', q{
LISTEN megamarket_sales;
SET megamarket.live_notify = relay;
INSERT INTO megamarket.sales (ticket_id, line_no, product_id, store_id, date_id, quantity, amount)
VALUES ('R-1', 1, 1, 1, 20250105, 1, 2.50);
-- the worker deletes the queued payload and notifies in one transaction:
-- once the queue is empty the notification is sent (a round may first wait
-- out the hanging endpoint, so no fixed sleep), and psql shows it after the
-- next statement
DO $$
BEGIN
    FOR i IN 1..1200 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM megamarket.live_notify_queue);
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT pg_sleep(0.2);
SELECT 'done';
}, stdout => \$out, stderr => \$err);
like($out, qr/Asynchronous notification "megamarket_sales" with payload "\{"op": "INSERT", "rows": 1.*" received from server process with PID (\d+)/,
	'relay: the notification arrives, sent after the commit');
my ($sender) = $out =~ /received from server process with PID (\d+)/;
is($node->safe_psql('postgres', "SELECT backend_type FROM pg_stat_activity WHERE pid = " . ($sender // 0)),
	'megamarket dispatcher', 'sent by the dispatcher worker, not by the writer');
is($node->safe_psql('postgres', 'SELECT count(*) FROM megamarket.live_notify_queue'), '0', 'the queue is empty again');

note 'privileges';
$node->safe_psql('postgres', 'CREATE ROLE analyst');
($rc, $o, $e) = $node->psql('postgres', 'SET ROLE analyst; SELECT * FROM megamarket.webhook_dispatch(1)');
like($e, qr/permission denied for function webhook_dispatch/, 'webhook_dispatch is not for PUBLIC');
($rc, $o, $e) = $node->psql('postgres', 'SET ROLE analyst; SELECT secret FROM megamarket.campaign_rules');
like($e, qr/permission denied for table campaign_rules/, 'nor are the rules and their secrets');

done_testing();
