# Issue 14: workbooks that crashed, hung or exhausted a backend, read
# through the real server. Each gets its own clear error (or its right
# answer) well inside statement_timeout, the server stays up, and the
# session that met it is usable and holds no file open afterwards.
#
# The workbooks come from test/xlsx/hostile.py (each documented there).
use strict;
use warnings;
use Cwd qw(getcwd);
use POSIX qw(mkfifo);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('xlsx_hostile');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

my $dir = $node->basedir . '/hostile';
system('/usr/bin/python3', getcwd() . '/test/xlsx/hostile.py', $dir) == 0
  or die 'hostile.py failed';
mkfifo("$dir/fifo.xlsx", 0600) or die "mkfifo: $!";

$node->safe_psql('postgres', q{
CREATE EXTENSION megamarket;
CREATE SERVER files FOREIGN DATA WRAPPER xlsx_fdw;
});

my $session = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $session->query_safe('SELECT pg_backend_pid()');
# A hang shows as this timeout, never as the expected error.
$session->query_safe("SET statement_timeout = '60s'");

# Run one statement in the session: (stdout, stderr, seconds).
sub run
{
	my ($sql) = @_;
	$session->{stderr} = '';
	my $t0 = time;
	my $out = $session->query($sql);
	my $err = $session->{stderr};
	$session->{stderr} = '';
	return ($out, $err, time - $t0);
}

# The session backend's open files, or those of them that are $path.
sub open_fds
{
	my ($path) = @_;
	opendir(my $dh, "/proc/$pid/fd") or die "/proc/$pid/fd: $!";
	my @fds = grep { /^\d+$/ } readdir($dh);
	closedir($dh);
	@fds = grep { (readlink("/proc/$pid/fd/$_") // '') eq $path } @fds if defined $path;
	return scalar @fds;
}

# One hostile case: the error (or result) expected, and the server alive.
sub hostile
{
	my ($name, $sql, $expect, $what) = @_;
	my ($out, $err, $secs) = run($sql);
	note sprintf('%s: %.3f s', $name, $secs);
	like($out . $err, $expect, "$name: $what");
	unlike($err, qr/canceling statement due to statement timeout/, "$name: no hang");
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$name: the server is up");
	return;
}


note 'group 1: budgets';
$node->safe_psql('postgres', qq{
CREATE FOREIGN TABLE sst_bomb (a int) SERVER files OPTIONS (filename '$dir/sst_bomb.xlsx', header 'false');
CREATE FOREIGN TABLE deep_names (a int) SERVER files OPTIONS (filename '$dir/deep_names.xlsx', header 'false');
});
hostile('sst_bomb', 'SELECT * FROM sst_bomb;',
	qr/ERROR:  workbook ".*sst_bomb.xlsx" exceeds a limit: xl\/sharedStrings.xml: shared strings table exceeds megamarket.xlsx_max_shared_strings \(262144 kB\) at string \d+\nHINT:  A superuser can raise megamarket.xlsx_max_shared_strings/,
	'refused at the shared-strings budget, naming the part and the setting');
is($session->query_safe('SHOW megamarket.xlsx_max_shared_strings'), '256MB', 'the default budget is 256MB');
# loading the shared strings can be cancelled (statement_timeout here)
$session->query_safe("SET statement_timeout = '300ms'");
my ($cout, $cerr, $csecs) = run('SELECT * FROM sst_bomb;');
like($cerr, qr/ERROR:  canceling statement due to statement timeout/, 'loading shared strings stops at a timeout');
note sprintf('sst_bomb with a 300 ms timeout: %.3f s', $csecs);
$session->query_safe("SET statement_timeout = '60s'");
is(open_fds("$dir/sst_bomb.xlsx"), 0, 'the timed-out load left the workbook closed');
$session->query_safe("SET megamarket.xlsx_max_shared_strings = '1MB'");
hostile('sst_bomb at 1MB', 'SELECT * FROM sst_bomb;',
	qr/shared strings table exceeds megamarket.xlsx_max_shared_strings \(1024 kB\)/,
	'the setting is the budget');
$session->query_safe('RESET megamarket.xlsx_max_shared_strings');
hostile('deep_names', 'SELECT * FROM deep_names;',
	qr/xl\/worksheets\/sheet1.xml: unsupported XML at byte \d+: names of the open elements longer than 1 MB in all/,
	'refused at the element-name bound');
$node->safe_psql('postgres', q{CREATE ROLE regress_plain LOGIN});
my ($ok, $out, $err) = $node->psql('postgres', q{SET megamarket.xlsx_max_shared_strings = '10GB'},
	extra_params => [ '-U', 'regress_plain' ]);
like($err, qr/permission denied to set parameter "megamarket.xlsx_max_shared_strings"/,
	'only a superuser sets the budget');

note 'group 2: quadratic loops and non-regular files';
$node->safe_psql('postgres', qq{
CREATE FOREIGN TABLE styles_bomb (a int) SERVER files OPTIONS (filename '$dir/styles_bomb.xlsx', header 'false');
CREATE FOREIGN TABLE rels_bomb (a int) SERVER files OPTIONS (filename '$dir/rels_bomb.xlsx', sheet 's150000', header 'false');
CREATE FOREIGN TABLE fifo (a int) SERVER files OPTIONS (filename '$dir/fifo.xlsx', header 'false');
CREATE FOREIGN TABLE a_dir (a int) SERVER files OPTIONS (filename '$dir', header 'false');
});
hostile('styles_bomb', 'SELECT * FROM styles_bomb;', qr/^1$/m,
	'300,000 formats x 300,000 styles read in time');
hostile('rels_bomb', 'SELECT * FROM rels_bomb;', qr/^7$/m,
	'150,000 sheets x 150,000 relationships opened in time');
hostile('rels_bomb sheets', "SELECT count(*), max(position) FROM megamarket.xlsx_sheets('$dir/rels_bomb.xlsx');",
	qr/^150000\|150000$/m, 'xlsx_sheets lists all 150,000 sheets in time');
hostile('fifo', 'SELECT * FROM fifo;',
	qr/ERROR:  ".*fifo.xlsx" is not a regular file\nDETAIL:  The path names a FIFO, not a regular file./,
	'a FIFO is refused, not waited on');
hostile('fifo sheets', "SELECT * FROM megamarket.xlsx_sheets('$dir/fifo.xlsx');",
	qr/ERROR:  ".*fifo.xlsx" is not a regular file/, 'xlsx_sheets refuses a FIFO');
hostile('fifo fingerprint', "SELECT * FROM megamarket.file_fingerprint('$dir/fifo.xlsx');",
	qr/ERROR:  ".*fifo.xlsx" is not a regular file/, 'file_fingerprint refuses a FIFO');
hostile('fifo import', "IMPORT FOREIGN SCHEMA x FROM SERVER files INTO public OPTIONS (filename '$dir/fifo.xlsx');",
	qr/ERROR:  ".*fifo.xlsx" is not a regular file/, 'IMPORT FOREIGN SCHEMA refuses a FIFO');
hostile('fifo import_workbook', "SELECT megamarket.import_workbook('$dir/fifo.xlsx');",
	qr/ERROR:  ".*fifo.xlsx" is not a regular file/, 'import_workbook refuses a FIFO');
hostile('directory', 'SELECT * FROM a_dir;',
	qr/ERROR:  ".*hostile" is not a regular file\nDETAIL:  The path names a directory/, 'a directory is refused');

$node->safe_psql('postgres', 'CREATE SCHEMA imp');
hostile('wide_headers', "IMPORT FOREIGN SCHEMA x FROM SERVER files INTO imp OPTIONS (filename '$dir/wide_headers.xlsx');",
	qr/ERROR:  sheet "S" has 16384 columns, more than the 1600 a table can have/,
	'16,384 equal headers: refused in time');
hostile('many_headers', "IMPORT FOREIGN SCHEMA x FROM SERVER files INTO imp OPTIONS (filename '$dir/many_headers.xlsx');",
	qr/^$/, '1,500 equal headers imported in time');
is($node->safe_psql('postgres', q{SELECT count(*), count(DISTINCT attname), bool_and(attname ~ '^importe(_([2-9]|[1-9][0-9]+))?$'),
	bool_or(attname = 'importe'), bool_or(attname = 'importe_1500')
	FROM pg_attribute WHERE attrelid = 'imp.s'::regclass AND attnum > 0}),
	'1500|1500|t|t|t', 'the 1,500 columns are importe, importe_2 ... importe_1500');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_attribute a, pg_options_to_table(a.attfdwoptions) o
	WHERE attrelid = 'imp.s'::regclass AND o.option_name = 'column'}),
	'1500', 'each repeated header is matched by its column letter');

note 'group 3: no leak when IMPORT FOREIGN SCHEMA fails in a sheet';
my $bad = "$dir/bad_after_header.xlsx";
for my $i (1 .. 5)
{
	my ($o, $e) = run("IMPORT FOREIGN SCHEMA x FROM SERVER files INTO imp OPTIONS (filename '$dir/bad_after_header.xlsx');");
	like($e, qr/ERROR:  workbook ".*bad_after_header.xlsx" is damaged: xl\/worksheets\/sheet1.xml: malformed XML/,
		"failed import $i: the damage is reported") if $i == 1;
}
is(open_fds($bad), 0, 'five failed imports leave the workbook closed');
is(open_fds("$dir/fifo.xlsx") + open_fds("$dir/sst_bomb.xlsx") + open_fds("$dir/rels_bomb.xlsx"), 0,
	'no other hostile workbook is left open');

note 'group 5: EXPLAIN without SELECT, the fingerprinted file, non-UTF-8 databases';
$node->safe_psql('postgres', qq{
CREATE FOREIGN TABLE public.probe (a int) SERVER files OPTIONS (filename '$dir/styles_bomb.xlsx', sheet 'Nope');
CREATE FOREIGN TABLE public.probe_ok (a int) SERVER files OPTIONS (filename '$dir/styles_bomb.xlsx', header 'false');
GRANT SELECT (a) ON public.probe_ok TO regress_plain;
});
($ok, $out, $err) = $node->psql('postgres', 'EXPLAIN SELECT * FROM probe',
	extra_params => [ '-U', 'regress_plain' ]);
like($err, qr/ERROR:  permission denied for foreign table probe/,
	'EXPLAIN without SELECT: the privilege error, not what the file holds');
unlike($err, qr/sheet/, 'nothing about the workbook reaches that role');
($ok, $out, $err) = $node->psql('postgres', 'EXPLAIN (COSTS OFF) SELECT a FROM probe_ok',
	extra_params => [ '-U', 'regress_plain' ]);
like($out, qr/Xlsx Sheet: S/, 'a column privilege is enough to plan and EXPLAIN');

my $moving = "$dir/moving.xlsx";
system('cp', "$dir/styles_bomb.xlsx", $moving) == 0 or die;
$node->safe_psql('postgres', qq{CREATE FOREIGN TABLE moving (a int) SERVER files OPTIONS (filename '$moving', header 'false')});
$session->query_safe('BEGIN');
like($session->query_safe("SELECT sha256 FROM megamarket.file_fingerprint('$moving')"), qr/^[0-9a-f]{64}$/,
	'fingerprint taken');
is($session->query_safe('SELECT * FROM moving'), '1', 'the same file reads in the same transaction');
utime(undef, time + 5, $moving) or die "utime: $!";
($out, $err) = run('SELECT * FROM moving;');
like($err, qr/ERROR:  workbook ".*moving.xlsx" changed since its checksum was taken/,
	'a file changed after its fingerprint is refused in that transaction');
$session->query_safe('ROLLBACK');
is($session->query_safe('SELECT * FROM moving'), '1', 'a new transaction reads the file as it is now');

$node->safe_psql('postgres', q{CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0});
my $fx = getcwd() . '/test/fixtures/xlsx';
$node->safe_psql('latin1', qq{
SET client_encoding = 'UTF8';
CREATE EXTENSION megamarket;
CREATE SERVER files FOREIGN DATA WRAPPER xlsx_fdw;
CREATE FOREIGN TABLE textos (clave int, texto text) SERVER files OPTIONS (filename '$fx/values/values-xlsxwriter.xlsx', sheet 'Textos', range 'A1:B6');
CREATE FOREIGN TABLE textos_all (clave int, texto text) SERVER files OPTIONS (filename '$fx/values/values-xlsxwriter.xlsx', sheet 'Textos');
CREATE FOREIGN TABLE anio (v int) SERVER files OPTIONS (filename '$fx/sheets-xlsxwriter.xlsx', sheet 'Año Ñandú', header 'false');
});
is($node->safe_psql('latin1', qq{SET client_encoding = 'UTF8';
	SELECT string_agg(name, '|' ORDER BY position) FROM megamarket.xlsx_sheets('$fx/sheets-xlsxwriter.xlsx')}),
	'Resumen|Pérdidas 2024|Año Ñandú', 'LATIN1 database: sheet names converted');
is($node->safe_psql('latin1', q{SET client_encoding = 'UTF8'; SELECT v FROM anio}), '2024',
	'LATIN1 database: the sheet option matches a non-ASCII sheet name');
is($node->safe_psql('latin1', q{SELECT count(*) FROM textos WHERE texto IS NOT NULL}), '5',
	'LATIN1 database: text LATIN1 can hold reads');
($ok, $out, $err) = $node->psql('latin1', 'SELECT texto FROM textos_all WHERE clave = 6');
like($err, qr/ERROR:  sheet "Textos", cell B7: character with byte sequence 0xf0 0x9f 0x98 0x80 in encoding "UTF8" has no equivalent in encoding "LATIN1"/,
	'LATIN1 database: a character it cannot hold is a clear error');

$session->quit;
$node->stop;
done_testing();
