# import_workbook() and import_preview() on workbooks in the proposal's own
# layout (propuesta-megamarket.md, section 4.2), in English snake_case and in
# Spanish, written by openpyxl and re-written by LibreOffice, with no rows
# added to import_names. The truth is the manifest that
# test/fixtures/proposal/mkproposal.py computes from the rows it writes
# (counts, sums by store and month, every planted reject); nothing here is
# compared with our own earlier output.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Copy;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $mk = getcwd() . '/test/fixtures/proposal/mkproposal.py';
my $python = '/usr/bin/python3';

my $node = PostgreSQL::Test::Cluster->new('proposal');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;

sub sql
{
	my ($db, $query) = @_;
	utf8::downgrade($query, 1);
	return $node->safe_psql($db, $query);
}

sub fresh_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION megamarket');
}

sub manifest
{
	my ($json) = @_;
	open my $fh, '<:raw', $json or die $!;
	local $/;
	return JSON::PP->new->decode(<$fh>);
}

# Every warehouse row as one string (sequences apart).
my @tables = qw(regions cities stores departments categories products segments
  customers dates channels campaigns loss_reasons sales losses);
sub fingerprint
{
	my ($db) = @_;
	return join "\n", map {
		"$_=" . sql($db, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM megamarket.$_ t")
	} @tables, 'import_runs', 'import_rejects';
}

# LibreOffice re-writes a workbook: its own shared strings, styles, number
# formats and date cells.
my $soffice = `sh -c 'command -v soffice'`;
chomp $soffice;
sub libreoffice
{
	my ($in, $outdir) = @_;
	mkdir $outdir;
	my $out = `HOME='$dir' timeout 180 '$soffice' --headless --convert-to xlsx --outdir '$outdir' '$in' 2>&1`;
	my ($base) = $in =~ m{([^/]+)$};
	-s "$outdir/$base" or die "LibreOffice did not convert $in: $out";
	return "$outdir/$base";
}

sub check_import
{
	my ($db, $xlsx, $m, $what) = @_;
	is(sql($db, "SELECT sum(rejected) FROM megamarket.import_preview('$xlsx') WHERE \"column\" IS NULL AND field IS NULL AND kind IS NOT NULL"),
		scalar(@{ $m->{rejected} }), "$what: the preview foretells the rejects");
	is(sql($db, "SELECT count(*) FROM megamarket.import_preview('$xlsx') WHERE note ~ '^(missing|error)'"),
		0, "$what: the preview finds every required field");
	my ($rc, $out, $err) = $node->psql($db, "SELECT * FROM megamarket.import_workbook('$xlsx')");
	is($rc, 0, "$what: imports with no mapping rows") or diag $err;
	my $c = $m->{counts};
	for my $t (qw(stores products customers campaigns categories departments regions cities
		segments loss_reasons sales losses))
	{
		is(sql($db, "SELECT count(*) FROM megamarket.$t"), $c->{$t}, "$what: rows in $t");
	}
	is(sql($db, 'SELECT count(DISTINCT ticket_id) FROM megamarket.sales'), $c->{tickets},
		"$what: baskets (tickets)");
	is(sql($db, q{SELECT count(*) FROM megamarket.products p JOIN megamarket.categories c USING (category_id)
		JOIN megamarket.departments d USING (department_id) WHERE c.name = 'Sin asignar' AND d.name = 'Sin asignar'}),
		$c->{products_unassigned}, "$what: products without a category are in \"Sin asignar\"");
	is(sql($db, 'SELECT count(email) || \' \' || count(registered_on) FROM megamarket.customers'),
		"$c->{customers_with_email} $c->{customers_registered}", "$what: e-mails and registration dates");
	is(sql($db, 'SELECT count(*) FROM megamarket.dates'), $c->{days_spanned}, "$what: the date dimension");
	my $t = $m->{totals}{sales};
	is(sql($db, 'SELECT sum(quantity) || \' \' || sum(amount) FROM megamarket.sales'),
		"$t->{quantity} $t->{amount}", "$what: sales quantity and amount");
	my $want = join '|', map { "$_ @{ $t->{by_store}{$_} }" } sort keys %{ $t->{by_store} };
	is(sql($db, q{SELECT string_agg(format('%s %s %s %s', s.name, n, q, a), '|' ORDER BY s.name)
		FROM (SELECT store_id, count(*) n, sum(quantity) q, sum(amount) a FROM megamarket.sales GROUP BY 1) x
		JOIN megamarket.stores s USING (store_id)}), $want, "$what: sales by store");
	$want = join '|', map { "$_ @{ $t->{by_month}{$_} }" } sort keys %{ $t->{by_month} };
	is(sql($db, q{SELECT string_agg(format('%s %s %s %s', ym, n, q, a), '|' ORDER BY ym)
		FROM (SELECT to_char(d.date, 'YYYY-MM') ym, count(*) n, sum(quantity) q, sum(amount) a
		      FROM megamarket.sales JOIN megamarket.dates d USING (date_id) GROUP BY 1) x}),
		$want, "$what: sales by month");
	is(sql($db, 'SELECT sum(amount) FROM megamarket.losses'), $m->{totals}{losses}{amount}, "$what: losses");
	my $run = sql($db, 'SELECT max(run_id) FROM megamarket.import_runs');
	is(sql($db, "SELECT string_agg(x, '|' ORDER BY x COLLATE \"C\") FROM (SELECT format('%s %s %s', sheet, row_number, reason) FROM megamarket.import_rejects WHERE run_id = $run AND NOT kept) r(x)"),
		join('|', sort @{ $m->{rejected} }), "$what: every planted reject, and nothing else");
	is(sql($db, "SELECT string_agg(x, '|' ORDER BY x COLLATE \"C\") FROM (SELECT format('%s %s %s', sheet, row_number, reason) FROM megamarket.import_rejects WHERE run_id = $run AND kept) r(x)"),
		join('|', sort @{ $m->{kept} }), "$what: values dropped from rows kept");
	is(sql($db, q{SELECT string_agg(store_id || ' ' || name, ', ' ORDER BY store_id) FROM megamarket.stores WHERE store_id <= 3}),
		'1 Norte, 2 Centro, 3 Sur', "$what: the shipped branches are the workbook's 1, 2, 3");

	my $before = fingerprint($db);
	$out = sql($db, "SELECT string_agg(format('%s %s %s', sheet, inserted, updated), ',') FROM megamarket.import_workbook('$xlsx')");
	unlike($out, qr/ [1-9]/, "$what: a re-import inserts and updates nothing ($out)");
	is(fingerprint($db) =~ s/^import_r.*$//mgr, $before =~ s/^import_r.*$//mgr, "$what: a re-import changes no row");
}

my %books;
for my $lang (qw(es en))
{
	my ($x, $j) = ("$dir/proposal-$lang.xlsx", "$dir/proposal-$lang.json");
	system($python, $mk, $lang, $x, $j) == 0 or die "mkproposal $lang failed";
	$books{"openpyxl-$lang"} = [ $x, manifest($j) ];
}

my $db = 0;
for my $b (sort keys %books)
{
	note "$b: the proposal's layout, written by openpyxl";
	fresh_db('o' . ++$db);
	check_import("o$db", @{ $books{$b} }, $b);
}

SKIP:
{
	skip 'LibreOffice (soffice) is not installed: scripts/lib.sh installs libreoffice-calc-nogui', 1
	  unless $soffice;
	for my $lang (qw(es en))
	{
		my ($x, $m) = @{ $books{"openpyxl-$lang"} };
		my $lo = libreoffice($x, "$dir/lo");
		my $app = `unzip -p '$lo' docProps/app.xml`;
		like($app, qr/<Application>LibreOffice/, "libreoffice-$lang: written by LibreOffice");
		note "libreoffice-$lang: the proposal's layout, re-written by LibreOffice";
		fresh_db('l' . ++$db);
		check_import("l$db", $lo, $m, "libreoffice-$lang");
	}
}

note 'import_preview: what an import would do, writing nothing';
my ($es, $mes) = @{ $books{'openpyxl-es'} };
fresh_db('pv');
my $seqs = q{SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'megamarket'};
my $fp = fingerprint('pv') . sql('pv', $seqs);
my $pv = sql('pv', "SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s', sheet, \"column\", header, field, rejected, reasons, note), E'\\n' ORDER BY sheet, \"column\") FROM megamarket.import_preview('$es') WHERE \"column\" IS NOT NULL");
like($pv, qr/^Sucursales\|A\|id_sucursal\|code\|\|\|stands in for the missing code/m, 'preview: store_id stands in for the code');
like($pv, qr/^Ventas\|A\|id_venta\|line\|1\|duplicate_key\|stands in for the missing line/m, 'preview: sale_id keys the lines');
like($pv, qr/^Ventas\|F\|id_fecha\|date\|1\|bad_date\|/m, 'preview: the bad date, on its column');
like($pv, qr/^Ventas\|D\|id_producto\|sku\|2\|unknown_product\|/m, 'preview: unknown products, on their column');
my $sheetrow = sql('pv', "SELECT rejected || ' ' || reasons || ' | ' || note FROM megamarket.import_preview('$es') WHERE sheet = 'Ventas' AND \"column\" IS NULL AND field IS NULL");
my $nrej = grep { /^Ventas / } @{ $mes->{rejected} };
like($sheetrow, qr/^$nrej unknown_product 2, .*\| the sheet: \d+ rows would be read, $mes->{counts}{sales} inserted/,
	"preview: the sheet's rejects by reason and its counts ($sheetrow)");
like(sql('pv', "SELECT note FROM megamarket.import_preview('$es') WHERE sheet = 'Fechas'"), qr/^ignored/,
	'preview: the proposal\'s date sheet is ignored');
is(sql('pv', "SELECT note FROM megamarket.import_preview('$es') WHERE sheet = 'Productos' AND field = 'department'"),
	'absent, optional: products go to "Sin asignar"', 'preview: an absent optional level');
is(fingerprint('pv') . sql('pv', $seqs), $fp, 'preview: nothing written (no warehouse row, no run logged, every sequence where it was)');

note 'import_preview on a workbook with a header it cannot read';
my $odd = "$dir/odd.xlsx";
system($python, '-c', q{
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb['Ventas']
ws['H1'] = 'Importe total'        # not a known name for the amount
ws['J1'] = 'nombre'                # names a field of other sheets, not of Ventas
wb.save(sys.argv[2])
}, $es, $odd) == 0 or die 'openpyxl failed';
my $miss = sql('pv', "SELECT format('%s|%s|%s|%s', note, closest_header, closest_names[1], fix) FROM megamarket.import_preview('$odd') WHERE sheet = 'Ventas' AND field = 'amount' AND \"column\" IS NULL");
is($miss, q{missing: a required field; the import stops|Importe total (H)|Importe|INSERT INTO megamarket.import_names (sheet, field, name) VALUES ('sales', 'amount', 'Importe total');},
	'preview: a missing required field, the closest header, the closest known name and the fix');
like(sql('pv', "SELECT field || ' ' || note FROM megamarket.import_preview('$odd') WHERE sheet = 'Ventas' AND \"column\" = 'J'"),
	qr/^ignored ambiguous, not used: on this sheet it names no field; elsewhere it is .*stores\.name/,
	'preview: a header that names a field only of other sheets is reported as ambiguous');
my ($rc, $o, $e) = $node->psql('pv', "SELECT * FROM megamarket.import_workbook('$odd')");
like($e, qr/sheet "Ventas" has no column for "amount"/, 'the import stops as the preview said');
sql('pv', "INSERT INTO megamarket.import_names (sheet, field, name) VALUES ('sales', 'amount', 'Importe total')");
($rc, $o, $e) = $node->psql('pv', "SELECT * FROM megamarket.import_workbook('$odd')");
is($rc, 0, "the preview's fix lets it import ($e)");
like($e, qr/NOTICE:  import_workbook: sheet "Ventas": ambiguous columns ignored: J \("nombre": [a-z_.]+( or [a-z_.]+)+\)/,
	'the import says which column it ignored as ambiguous');
is(sql('pv', 'SELECT count(*) FROM megamarket.sales'), $mes->{counts}{sales}, 'all the sales');

note "import_preview on today's layout (tools/mkworkbook)";
my $today = "$dir/today.xlsx";
system('tools/mkworkbook', '--seed', '42', '--scale', 'small', $today, "$dir/today.json") == 0
  or die 'mkworkbook failed';
my $tm = manifest("$dir/today.json");
fresh_db('today');
is(sql('today', "SELECT count(*) FROM megamarket.import_preview('$today') WHERE note LIKE 'stands in%' OR note LIKE 'missing%' OR note LIKE 'error%'"),
	0, "preview of today's workbook: no stand-ins, nothing missing");
my $rej = sql('today', "SELECT sum(rejected) FROM megamarket.import_preview('$today') WHERE \"column\" IS NULL AND field IS NULL");
my $want_rej = grep { $_->{outcome} eq 'rejected' } @{ $tm->{dirt} };
is($rej, $want_rej, "preview of today's workbook: the planted rejects");
is(sql('today', 'SELECT count(*) FROM megamarket.import_runs'), 0, 'preview: no run logged');

note 'import_preview on hostile cells: a huge header, huge values, a formula';
my $huge = "$dir/huge.xlsx";
system($python, '-c', q{
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
v = wb['Ventas']
v['K1'] = 'x' * 30000
v['K2'] = 'y' * 30000
v['B2'] = 'T' * 5000
v['H3'] = '=1/0'
wb.save(sys.argv[2])
}, $es, $huge) == 0 or die 'openpyxl failed';
is(sql('pv', "SELECT format('%s %s %s', length(header), note, length(samples[1])) FROM megamarket.import_preview('$huge') WHERE sheet = 'Ventas' AND \"column\" = 'K'"),
	'30000 not a known name 100', 'a huge header is shown, its sample cut to 100 characters');
is(sql('pv', "SELECT rejected || ' ' || reasons FROM megamarket.import_preview('$huge') WHERE sheet = 'Ventas' AND \"column\" = 'B'"),
	'1 too_long', 'a 5,000-character ticket: too_long, on its column');
is(sql('pv', "SELECT rejected || ' ' || reasons FROM megamarket.import_preview('$huge') WHERE sheet = 'Ventas' AND \"column\" = 'H'"),
	'1 missing_required', 'a formula without a cached value: missing_required');

note 'import_preview is cancellable and leaves nothing behind';
my $medium = "$dir/medium.xlsx";
system('tools/mkworkbook', '--seed', '5', '--scale', 'medium', '--clean', $medium, "$dir/medium.json") == 0
  or die 'mkworkbook failed';
fresh_db('cancel');
sql('cancel', "SELECT count(*) FROM megamarket.import_workbook('$today', '{\"max_reject_ratio\": 1}')");
my $cfp = fingerprint('cancel') . sql('cancel', $seqs);
($rc, $o, $e) = $node->psql('cancel', "SET statement_timeout = '1s'; SELECT count(*) FROM megamarket.import_preview('$medium')");
like($e, qr/canceling statement due to statement timeout/, 'a preview that runs too long is cancelled');
is(fingerprint('cancel') . sql('cancel', $seqs), $cfp, 'a cancelled preview changes nothing, sequences included');
is(sql('cancel', "SELECT count(*) FROM megamarket.import_preview('$today') WHERE note LIKE 'missing%'"), 0,
	'the next preview runs (no lock or temporary table left)');

# Deterministic: the preview is held at its fact load (the lock of the fact
# partitions, taken by another session), after it has inserted customers and
# products and so taken numbers, and cancelled there.
note 'a preview cancelled in the middle of its load puts the sequences back';
my $cseq = sql('cancel', $seqs);
my $held = $node->background_psql('cancel');
$held->query_safe(q{SELECT pg_advisory_lock(hashtext('megamarket.fact_partitions'))});
my $pvs = $node->background_psql('cancel', on_error_stop => 0);
my $pvpid = $pvs->query_safe('SELECT pg_backend_pid()');
$pvs->query_until(qr/started/, "\\echo started\nSELECT count(*) FROM megamarket.import_preview('$medium');\n");
# (its pg_stat_activity.query is the import's progress line meanwhile)
ok($node->poll_query_until('cancel', "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
	WHERE pid = $pvpid AND wait_event = 'advisory')"),
	'the preview waits at its fact load');
isnt(sql('cancel', $seqs), $cseq, '... having taken sequence numbers');
sql('cancel', "SELECT pg_cancel_backend($pvpid)");
$pvs->query('SELECT 1');
like($pvs->{stderr}, qr/canceling statement due to user request/, 'the preview is cancelled mid-load');
$pvs->quit;
$held->quit;
is(fingerprint('cancel') . sql('cancel', $seqs), $cfp, '... and leaves nothing changed, sequences included');

note 'shipped branches: a workbook that keeps the shipped codes and one that clashes';
fresh_db('clash');
my $clash = "$dir/clash.xlsx";
system($python, '-c', q{
import sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = 'Sucursales'
ws.append(['Código', 'Sucursal'])
ws.append(['NORTE', 'Norte'])      # the shipped branch by its own code
ws.append(['N2', 'Norte'])         # a new key under a taken name: a clash
ws.append(['7', 'Sur'])            # the shipped Sur, untouched: taken over
wb.save(sys.argv[1])
}, $clash) == 0 or die 'openpyxl failed';
sql('clash', "SELECT * FROM megamarket.import_workbook('$clash', '{\"sheets\": [\"Sucursales\"], \"max_reject_ratio\": 1}')");
is(sql('clash', 'SELECT string_agg(store_id || \' \' || code || \' \' || name, \', \' ORDER BY store_id) FROM megamarket.stores'),
	'1 NORTE Norte, 2 CENTRO Centro, 3 7 Sur', 'Norte keeps its code, Sur is taken over by the key 7');
is(sql('clash', q{SELECT string_agg(cell || ' ' || reason, ', ') FROM megamarket.import_rejects}),
	'B3 duplicate_name', 'a new key under a branch\'s name is still a clash');

note 'pg_dump and restore keep the branches taken over and everything imported';
$node->safe_psql('postgres', 'CREATE DATABASE restored');
my $dump = "$dir/o2.sql";
$node->command_ok([ 'pg_dump', '-d', $node->connstr('o2'), '-f', $dump ], 'pg_dump of an imported proposal workbook');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'), '-f', $dump ],
	'restored into an empty database');
is(fingerprint('restored'), fingerprint('o2'), 'the restored warehouse is the imported one');
is(sql('restored', q{SELECT string_agg(store_id || ' ' || code || ' ' || name, ', ' ORDER BY store_id) FROM megamarket.stores}),
	'1 1 Norte, 2 2 Centro, 3 3 Sur, 4 4 Este', 'the branches keep the workbook\'s keys');

note 'least privilege';
sql('pv', 'CREATE ROLE nobody_pv LOGIN');
($rc, $o, $e) = $node->psql('pv', "SET ROLE nobody_pv; SELECT * FROM megamarket.import_preview('$es')");
like($e, qr/permission denied for function import_preview/, 'import_preview is not executable by PUBLIC');

done_testing();
