# import_workbook() against workbooks with a planted truth: tools/mkworkbook
# writes the chain's workbook and a manifest of what a correct import gives
# (row counts, totals, every piece of dirt and its outcome), computed by the
# generator and checked by an independent oracle (tools/check_manifest.py).
# Nothing here is compared with our own earlier output.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Copy;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $mkworkbook = 'tools/mkworkbook';
-x $mkworkbook or BAIL_OUT("$mkworkbook is not built (make -C tools)");

my $node = PostgreSQL::Test::Cluster->new('import');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;

# A workbook and its manifest.
sub workbook
{
	my ($name, @args) = @_;
	my ($xlsx, $json) = ("$dir/$name.xlsx", "$dir/$name.json");
	system($mkworkbook, @args, $xlsx, $json) == 0 or die "mkworkbook @args failed";
	open my $fh, '<:raw', $json or die $!;
	local $/;
	my $m = JSON::PP->new->decode(<$fh>);
	return ($xlsx, $m);
}

sub fresh_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION megamarket');
}

# JSON::PP hands back the manifest's UTF-8 bytes as upgraded strings; send
# them to psql as the bytes they are.
sub sql
{
	my ($db, $query) = @_;
	utf8::downgrade($query, 1);
	return $node->safe_psql($db, $query);
}

# Every warehouse row and sequence as one string: equal strings, equal data.
my @tables = qw(regions cities stores departments categories products segments
  customers dates channels campaigns loss_reasons sales losses import_runs import_rejects);
# Sequences apart ($with_seq false): a rolled-back insert still advances them.
sub fingerprint
{
	my ($db, $with_seq) = @_;
	my $fp = '';
	for my $t (@tables)
	{
		$fp .= "$t="
		  . sql($db, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM megamarket.$t t")
		  . "\n";
	}
	return $fp unless $with_seq;
	return $fp
	  . sql($db, "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'megamarket'");
}

# The warehouse after an import equals the manifest: counts and totals.
sub check_against_manifest
{
	my ($db, $m, $what) = @_;
	my $c = $m->{counts};
	for my $t (qw(regions cities stores departments categories products customers
		channels campaigns segments loss_reasons sales losses))
	{
		is(sql($db, "SELECT count(*) FROM megamarket.$t"), $c->{$t}, "$what: rows in $t");
	}
	is(sql($db, 'SELECT count(*) FROM megamarket.dates'), $c->{dates}{days_spanned},
		"$what: the date dimension spans the facts' days");
	is(sql($db, 'SELECT min(date) || \' \' || max(date) FROM megamarket.dates'),
		"$c->{dates}{first} $c->{dates}{last}", "$what: first and last day");
	is(sql($db, 'SELECT count(DISTINCT ticket_id) FROM megamarket.sales'), $c->{tickets}, "$what: tickets");
	is(sql($db, 'SELECT count(DISTINCT ticket_id) FROM megamarket.sales WHERE customer_id IS NULL'),
		$c->{anonymous_tickets}, "$what: anonymous tickets");
	is(sql($db, 'SELECT count(email) FROM megamarket.customers'), $c->{customers_with_email},
		"$what: customers with an e-mail");
	is(sql($db, 'SELECT count(wallet_address) FROM megamarket.customers'), $c->{customers_with_wallet},
		"$what: customers with a wallet");

	my $t = $m->{totals};
	my $all = $t->{sales}{all};
	is(sql($db, 'SELECT count(*) || \' \' || sum(quantity) || \' \' || sum(amount) FROM megamarket.sales'),
		"$all->{lines} $all->{quantity} $all->{amount}", "$what: sales lines, quantity and amount");
	my $got = sql($db, q{
		SELECT string_agg(format('%s %s %s %s', s.name, count, qty, amt), '|' ORDER BY s.name)
		FROM (SELECT store_id, count(*), sum(quantity) qty, sum(amount) amt
		      FROM megamarket.sales GROUP BY store_id) x JOIN megamarket.stores s USING (store_id)});
	my $want = join '|', map {
		my $v = $t->{sales}{by_store}{$_};
		"$_ $v->{lines} $v->{quantity} $v->{amount}"
	} sort keys %{ $t->{sales}{by_store} };
	is($got, $want, "$what: sales by store");
	$got = sql($db, q{
		SELECT string_agg(format('%s %s %s %s', ym, count, qty, amt), '|' ORDER BY ym)
		FROM (SELECT to_char(d.date, 'YYYY-MM') ym, count(*), sum(quantity) qty, sum(amount) amt
		      FROM megamarket.sales JOIN megamarket.dates d USING (date_id) GROUP BY 1) x});
	$want = join '|', map {
		my $v = $t->{sales}{by_month}{$_};
		"$_ $v->{lines} $v->{quantity} $v->{amount}"
	} sort keys %{ $t->{sales}{by_month} };
	is($got, $want, "$what: sales by month");
	$got = sql($db, q{
		SELECT string_agg(format('%s %s %s %s', r.name, count, qty, amt), '|' ORDER BY r.name)
		FROM (SELECT reason_id, count(*), sum(quantity) qty, sum(amount) amt
		      FROM megamarket.losses GROUP BY reason_id) x JOIN megamarket.loss_reasons r USING (reason_id)});
	$want = join '|', map {
		my $v = $t->{losses}{by_reason}{$_};
		"$_ $v->{rows} $v->{quantity} $v->{amount}"
	} sort keys %{ $t->{losses}{by_reason} };
	is($got, $want, "$what: losses by reason");
}

# Every planted piece of dirt has its outcome, and nothing else was rejected.
sub check_dirt
{
	my ($db, $m, $run) = @_;
	my @want;
	for my $d (@{ $m->{dirt} })
	{
		if ($d->{outcome} eq 'rejected')
		{
			push @want, join ' ', $d->{sheet}, $d->{row}, $d->{reason}, 'f';
		}
		elsif (defined $d->{reason})    # cleaned, the value dropped (bad_email)
		{
			push @want, join ' ', $d->{sheet}, $d->{row}, $d->{reason}, 't';
		}
	}
	my $got = sql($db, "SELECT string_agg(format('%s %s %s %s', sheet, row_number, reason, CASE WHEN kept THEN 't' ELSE 'f' END), '|' ORDER BY sheet COLLATE \"C\", row_number, reason COLLATE \"C\") FROM megamarket.import_rejects WHERE run_id = $run");
	is($got, join('|', sort { my @a = split / /, $a; my @b = split / /, $b; $a[0] cmp $b[0] || $a[1] <=> $b[1] || $a[2] cmp $b[2] } @want),
		'every rejected row is planted dirt, with the planted reason, and the cleaned dirt is not rejected');

	# the cell and the value of each rejected one: the manifest's header and raw text
	my %header;
	for my $key (keys %{ $m->{sheets} })
	{
		my $s = $m->{sheets}{$key};
		my $i = 0;
		$header{"$s->{name}\t$_"} = chr(65 + $i++) for @{ $s->{columns} };
	}
	my $bad = 0;
	for my $d (@{ $m->{dirt} })
	{
		next unless defined $d->{reason} && defined $d->{column};
		my $cell = $header{"$d->{sheet}\t$d->{column}"} . $d->{row};
		my $row = sql($db, "SELECT cell || '|' || coalesce(value, '<null>') FROM megamarket.import_rejects WHERE run_id = $run AND sheet = '$d->{sheet}' AND row_number = $d->{row}");
		my $raw = defined $d->{raw} ? $d->{raw} : '<null>';
		if ($row ne "$cell|$raw")
		{
			diag "$d->{sheet} row $d->{row} ($d->{kind}): want $cell|$raw, got $row";
			$bad++;
		}
	}
	is($bad, 0, 'each reject names the planted cell and its raw text');

	# values cleaned in dimensions, found as the manifest says
	my %where = (
		email_case => 'customers.email', wallet_case => 'customers.wallet_address',
		'whitespace Producto' => 'products.name', 'whitespace Nombre' => 'customers.name',
		'whitespace Ciudad' => 'cities.name', 'whitespace Motivo' => 'loss_reasons.name',
		'text_date Inicio' => 'campaigns.start_date', 'text_date Fin' => 'campaigns.end_date',
		'decimal_comma Precio' => 'products.price', 'decimal_comma Presupuesto' => 'campaigns.budget');
	my ($checked, $missing) = (0, 0);
	for my $d (@{ $m->{dirt} })
	{
		next unless $d->{outcome} eq 'cleaned' && defined $d->{value} && !defined $d->{reason};
		my $col = $where{ $d->{kind} } || $where{"$d->{kind} $d->{column}"} or next;
		my ($t, $c) = split /\./, $col;
		my $v = $d->{value};
		$v =~ s/'/''/g;
		$checked++;
		if (sql($db, "SELECT count(*) FROM megamarket.$t WHERE ${c}::text = '$v'") == 0)
		{
			diag "$d->{kind} $d->{sheet} row $d->{row}: no $col = $d->{value}";
			$missing++;
		}
	}
	ok($checked > 5, "cleaned dimension values to look for ($checked)");
	is($missing, 0, 'every cleaned dimension value is in the warehouse as the manifest says');
}

note 'a small Spanish workbook with every kind of dirt';
my ($es, $mes) = workbook('es', '--seed', '42', '--scale', 'small');
fresh_db('es');
my ($out, $err) = ('', '');
$node->psql('es', "SELECT * FROM megamarket.import_workbook('$es', '{\"progress_every\": 1000}')",
	stdout => \$out, stderr => \$err, on_error_die => 1);
my %res = map { my @f = split /\|/; ($f[0] => [ @f[ 1 .. 3 ] ]) } split /\n/, $out;
is_deeply([ sort keys %res ], [ sort map { $_->{name} } values %{ $mes->{sheets} } ],
	'one result row per sheet');
is($res{Ventas}[0], $mes->{counts}{sales}, 'Ventas: inserted lines as in the manifest');
like($err, qr/NOTICE:  import_workbook: loading sheet "Ventas" \(sales\)/, 'a NOTICE per sheet');
like($err, qr/NOTICE:  Ventas: 3000 rows read/, 'a NOTICE every progress_every rows');
check_against_manifest('es', $mes, 'es');
my $run = sql('es', 'SELECT max(run_id) FROM megamarket.import_runs');
check_dirt('es', $mes, $run);

my $sha = sql('es', "SELECT file_sha256 || ' ' || file_size FROM megamarket.import_runs WHERE run_id = $run");
my $want_sha = `sha256sum '$es'`;
$want_sha =~ s/\s.*//s;
is($sha, $want_sha . ' ' . (-s $es), 'the run log has the file\'s SHA-256 (as sha256sum) and size');
is(sql('es', "SELECT rows_read = inserted + updated + unchanged + rejected AND NOT dry_run AND finished_at >= started_at FROM megamarket.import_runs WHERE run_id = $run"),
	't', 'the run log adds up');

note 'the same file again changes nothing';
my $before = fingerprint('es', 1);
$out = sql('es', "SELECT string_agg(format('%s %s %s', sheet, inserted, updated), ',') FROM megamarket.import_workbook('$es')");
unlike($out, qr/ [1-9]/, "second import: nothing inserted or updated ($out)");
my $after = fingerprint('es', 1);
$before =~ s/^import_r.*\n//mg;
$after =~ s/^import_r.*\n//mg;
$before =~ s/import_r\w+_seq=\d+,?//g;
$after =~ s/import_r\w+_seq=\d+,?//g;
is($after, $before, 'second import: every warehouse row and sequence as before');
check_against_manifest('es', $mes, 'es, imported twice');

note 'an overlapping file (the first 1,500 rows of Ventas, as openpyxl saves them) changes nothing';
my $overlap = "$dir/overlap.xlsx";
system('/usr/bin/python3', '-c', q{
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb['Ventas']
ws.delete_rows(1501, ws.max_row)
wb.save(sys.argv[2])
}, $es, $overlap) == 0 or die 'openpyxl failed';
$before = fingerprint('es');
$out = sql('es', "SELECT string_agg(format('%s %s %s', sheet, inserted, updated), ',') FROM megamarket.import_workbook('$overlap')");
unlike($out, qr/ [1-9]/, "overlapping import: nothing inserted or updated ($out)");
is(fingerprint('es') =~ s/^import_r.*\n//mgr, $before =~ s/^import_r.*\n//mgr, 'overlapping import: the warehouse as before');
cmp_ok(sql('es', 'SELECT rows_read FROM megamarket.import_runs ORDER BY run_id DESC LIMIT 1'), '<', 3000,
	'it read the shorter sheet');

note 'the same workbook in English, into another database';
my ($en, $men) = workbook('en', '--seed', '42', '--scale', 'small', '--lang', 'en');
fresh_db('en');
sql('en', "SELECT * FROM megamarket.import_workbook('$en')");
check_against_manifest('en', $men, 'en');
check_dirt('en', $men, sql('en', 'SELECT max(run_id) FROM megamarket.import_runs'));

note 'a clean medium workbook, watched from pg_stat_activity';
my ($medium, $mmed) = workbook('medium', '--seed', '3', '--scale', 'medium', '--clean');
fresh_db('medium');
my $bg = $node->background_psql('medium', on_error_stop => 1);
$bg->query_until(qr/started/, "\\echo started\nSELECT count(*) FROM megamarket.import_workbook('$medium', '{\"progress_every\": 2000}');\n");
my $seen = '';
for (1 .. 600)
{
	$seen = sql('postgres', "SELECT query FROM pg_stat_activity WHERE datname = 'medium' AND query LIKE 'megamarket.import_workbook:%rows read'");
	last if $seen ne '';
	select undef, undef, undef, 0.05;
}
like($seen, qr/^megamarket\.import_workbook: .+: \d+ rows read$/, "pg_stat_activity shows the progress ($seen)");
$bg->quit;
check_against_manifest('medium', $mmed, 'medium, clean');
is(sql('medium', 'SELECT count(*) FROM megamarket.import_rejects'), 0, 'a clean workbook: no rejects');

note 'a dry run loads nothing and logs what it would have done';
fresh_db('dry');
my $empty = fingerprint('dry');
$out = sql('dry', "SELECT string_agg(format('%s %s %s %s', sheet, inserted, updated, rejected), ',') FROM megamarket.import_workbook('$es', '{\"dry_run\": true}')");
like($out, qr/Ventas $mes->{counts}{sales} 0 27/, "dry run: the counts ($out)");
is(sql('dry', 'SELECT count(*) FROM megamarket.sales'), 0, 'dry run: no sales');
is(sql('dry', 'SELECT count(*) || \' \' || bool_and(dry_run) FROM megamarket.import_runs'), '1 true', 'dry run: logged as such');
is(sql('dry', 'SELECT count(*) FROM megamarket.import_rejects WHERE NOT kept'), 40, 'dry run: its rejects are kept for review');
sql('dry', 'TRUNCATE megamarket.import_runs CASCADE');
is(fingerprint('dry'), $empty, 'dry run: the warehouse is as it was (sequences apart)');

note 'failures leave no trace';
my $fp = fingerprint('dry');
my $broken = "$dir/broken.xlsx";
copy($es, $broken) or die;
truncate $broken, (-s $broken) - 2000 or die;
my ($rc, $o, $e) = $node->psql('dry', "SELECT * FROM megamarket.import_workbook('$broken')");
isnt($rc, 0, 'a truncated workbook fails');
like($e, qr/damaged|zip/, "with a clear error ($e)");
is(fingerprint('dry'), $fp, 'a truncated workbook leaves no trace');

my $fixture = getcwd() . '/test/fixtures/xlsx/types-xlsxwriter.xlsx';
($rc, $o, $e) = $node->psql('dry', "SELECT * FROM megamarket.import_workbook('$fixture')");
isnt($rc, 0, 'a workbook without the sheets fails');
like($e, qr/lacks sheets: stores \("Stores" or "Sucursales"\), products .*DETAIL:  Its sheets are: "Ventas", "Oculta", "Sparse"\./s, 'naming the missing sheets');
($rc, $o, $e) = $node->psql('dry', "SELECT * FROM megamarket.import_workbook('$fixture', '{\"sheets\": [\"Ventas\"]}')");
like($e, qr/sheet "Ventas" has no column for "line"\nDETAIL:  The header is row 1: "Ticket", "Fecha", .* Known names for "line": "Line", "Línea"\./, 'a sheet without its columns fails, naming the column');
is(fingerprint('dry'), $fp, 'missing sheets and columns leave no trace');

($rc, $o, $e) = $node->psql('dry', "SELECT * FROM megamarket.import_workbook('$es', '{\"max_rejects\": 10}')");
like($e, qr/30 rows rejected, more than max_rejects \(10\); nothing was imported/, 'max_rejects aborts');
like($e, qr/DETAIL:  Rejected by reason: [a-z_]+ \d+(, [a-z_]+ \d+)*\./, 'and says why, by reason');
($rc, $o, $e) = $node->psql('dry', "SELECT * FROM megamarket.import_workbook('$es', '{\"max_reject_ratio\": 0.001}')");
like($e, qr/40 of 3531 rows rejected \(1\.1%\), more than max_reject_ratio/, 'max_reject_ratio aborts');
is(fingerprint('dry'), $fp, 'an aborted import leaves no trace');

note 'one sheet at a time, in any order of calls';
fresh_db('parts');
sql('parts', "SELECT * FROM megamarket.import_workbook('$es', '{\"sheets\": [\"stores\", \"Productos\", \"Clientes\", \"Campañas\"]}')");
is(sql('parts', 'SELECT count(*) FROM megamarket.sales'), 0, 'dimensions only: no sales yet');
sql('parts', "SELECT * FROM megamarket.import_workbook('$es', '{\"sheets\": [\"Pérdidas\", \"Ventas\"]}')");
check_against_manifest('parts', $mes, 'in two runs');

note 'a DBA maps other headers without code; a title above a header';
my $renamed = "$dir/renamed.xlsx";
system('/usr/bin/python3', '-c', q{
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
wb['Ventas'].title = 'Tickets'
wb['Tickets']['H1'] = 'Total línea'
ws = wb['Pérdidas']
ws.insert_rows(1, 2)
ws['A1'] = 'Pérdidas de 2023 y 2024'
wb.save(sys.argv[2])
}, $es, $renamed) == 0 or die 'openpyxl failed';
fresh_db('mapped');
($rc, $o, $e) = $node->psql('mapped', "SELECT * FROM megamarket.import_workbook('$renamed')");
like($e, qr/lacks sheets: sales/, 'an unknown sheet name is reported');
sql('mapped', q{INSERT INTO megamarket.import_names (sheet, field, name) VALUES
	('sales', NULL, 'Tickets'), ('sales', 'amount', 'TOTAL LINEA')});
sql('mapped', "SELECT * FROM megamarket.import_workbook('$renamed')");
check_against_manifest('mapped', $mes, 'mapped headers and a title row (rewritten by openpyxl)');
is(sql('mapped', "SELECT min(row_number) FROM megamarket.import_rejects WHERE sheet = 'Pérdidas'"),
	sql('es', "SELECT min(row_number) + 2 FROM megamarket.import_rejects WHERE sheet = 'Pérdidas' AND run_id = 1"),
	'rows under a title keep their Excel numbers');

note 'hostile values: huge cells, a formula without a value, an invisible character';
my $hostile = "$dir/hostile.xlsx";
system('/usr/bin/python3', '-c', q{
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
v = wb['Ventas']
v['A2'] = 'T' * 5000              # a ticket longer than any index entry
v['H3'] = '=1/0'                  # a formula: openpyxl writes no cached value
v['D4'] = 'Norte\u200b'          # an invisible zero-width space after the store
v['F5'] = 'Z' * 100000            # a huge SKU (openpyxl cuts it to Excel's 32,767)
wb['Productos'].append(['NEW-001', 'Nuevo', 'Categoría ' * 600, 'Hogar', 1])   # a 6 kB category
wb['Clientes'].append(['C' * 3000, 'Nadie'])                                    # a 3 kB code
wb['Sucursales'].append(['NORTE2', 'Norte'])                                    # another store's name
wb.save(sys.argv[2])
}, $es, $hostile) == 0 or die 'openpyxl failed';
fresh_db('hostile');
($rc, $o, $e) = $node->psql('hostile', "SELECT * FROM megamarket.import_workbook('$hostile')");
is($rc, 0, "hostile values do not stop the import ($e)");
is(sql('hostile', q{SELECT string_agg(format('%s %s %s %s', sheet, cell, reason, length(value)), ', ' ORDER BY sheet, row_number)
	FROM megamarket.import_rejects WHERE (reason = 'too_long' OR row_number <= 5) AND NOT kept}) =~ s/(Clientes|Productos) ([A-Z])\d+/$1 $2/gr,
	'Clientes A too_long 3000, Productos C too_long 6000, Sucursales B5 duplicate_name 5, Ventas A2 too_long 5000, Ventas H3 missing_required , Ventas D4 unknown_store 6, Ventas F5 unknown_product 32767',
	'each is rejected with its cell, reason and whole value');

note 'white space around numbers, days, tickets and store names (parsed from the raw cell)';
my $spaced = "$dir/spaced.xlsx";
my $sku = sql('hostile', 'SELECT min(sku) FROM megamarket.products');
system('/usr/bin/python3', '-c', q{
import sys, datetime, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
v = wb['Ventas']
d = datetime.date(2024, 1, 5)
rows = {
    6:  ['WS-1', 1, ' 05/01/2024 ', 'Norte', None, sys.argv[3], '\u00a0 3 ', 10.5, None],  # accepted
    7:  ['WS-2', 1, d, 'Norte', None, sys.argv[3], 1, '   '],                               # amount only spaces
    8:  ['WS-3', ' 2 ', d, 'CENTRO', None, sys.argv[3], 1, ' 4,25 '],                      # accepted
    9:  ['WS-4', 1, d, 'Norte', None, sys.argv[3], ' 2,5 ', 1],                              # not a whole quantity
    10: [' WS-5 ', ' abc ', d, 'Norte', None, sys.argv[3], 1, 1],                            # a line that is not a number
    11: ['\u00a0', 1, d, 'Norte', None, sys.argv[3], 1, 1],                                  # a ticket of white space
    12: ['WS-6', 1, '  ', 'Norte', None, sys.argv[3], 1, 1],                                 # a day of white space
    13: [None, None, None, None, None, None, ' ', '\t', None],                               # a blank row
    14: [' 0777 ', 1, d, '  sur ', None, sys.argv[3], 1, 1],                                 # accepted: ticket 777, store Sur
}
for r, vals in rows.items():
    for c, x in enumerate(vals, start=1):
        v.cell(row=r, column=c).value = x
wb.save(sys.argv[2])
}, $es, $spaced, $sku) == 0 or die 'openpyxl failed';
fresh_db('spaced');
sql('spaced', "SELECT * FROM megamarket.import_workbook('$spaced')");
is(sql('spaced', q{SELECT string_agg(format('%s %s', cell, reason), ', ' ORDER BY row_number)
	FROM megamarket.import_rejects WHERE sheet = 'Ventas' AND row_number BETWEEN 6 AND 14 AND NOT kept}),
	'H7 missing_required, G9 bad_number, B10 bad_number, A11 missing_required, C12 missing_required',
	'white space only is a missing value; a number or day that does not parse is rejected; a blank row is skipped');
is(sql('spaced', q{SELECT string_agg(format('%s %s %s %s %s %s', s.ticket_id, s.line_no, s.date_id, st.name, s.quantity, s.amount), ', ' ORDER BY s.ticket_id)
	FROM megamarket.sales s JOIN megamarket.stores st USING (store_id) WHERE s.ticket_id IN ('WS-1', 'WS-3', '777')}),
	'777 1 20240105 Sur 1 1.00, WS-1 1 20240105 Norte 3 10.50, WS-3 2 20240105 Centro 1 4.25',
	'white space around a number, a day, a ticket and a store name is dropped');

note 'xlsx_fdw: IMPORT FOREIGN SCHEMA of a sheet whose header repeats a name';
my $dup = "$dir/dup.xlsx";
system('/usr/bin/python3', '-c', q{
import sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = 'Notas'
ws.append(['Nota', 'Importe', 'NOTA', None, 'x'])
ws.append(['a', 1, 'b', 'sin cabecera', 2])
wb.save(sys.argv[1])
}, $dup) == 0 or die 'openpyxl failed';
sql('hostile', "CREATE SERVER files FOREIGN DATA WRAPPER xlsx_fdw; CREATE SCHEMA wb; IMPORT FOREIGN SCHEMA x FROM SERVER files INTO wb OPTIONS (filename '$dup')");
is(sql('hostile', 'SELECT * FROM wb.notas'), 'a|1|b|2', 'repeated headers are read by column letter; the blank-headed column is left out');

note 'least privilege';
sql('mapped', 'CREATE ROLE analyst LOGIN');
($rc, $o, $e) = $node->psql('mapped', "SET ROLE analyst; SELECT * FROM megamarket.import_workbook('$es')");
like($e, qr/permission denied for function import_workbook/, 'not executable by PUBLIC');
sql('mapped', q{
	CREATE ROLE loader LOGIN;
	GRANT pg_read_server_files TO loader;
	GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA megamarket TO loader;
	GRANT USAGE ON FOREIGN SERVER megamarket_import TO loader;
	GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA megamarket TO loader;
	GRANT USAGE ON ALL SEQUENCES IN SCHEMA megamarket TO loader;
});
($rc, $o, $e) = $node->psql('mapped', "SET ROLE loader; SELECT count(*) FROM megamarket.import_workbook('$es')");
is($rc, 0, "the loader role of docs/import.md can import ($e)");

done_testing();
