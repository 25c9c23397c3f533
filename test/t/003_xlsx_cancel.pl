# A long scan of a big xlsx foreign table stops promptly on a cancel
# (pg_cancel_backend) and on statement_timeout, and leaves its backend
# usable, without the workbook left open and without the thread that
# inflates the sheet ahead (megamarket.xlsx_inflate_ahead) left running.
use strict;
use warnings;
use IO::Compress::Zip qw($ZipError :zip_method);
use FindBin;
use lib $FindBin::Bin;
use CancelTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# A one-sheet workbook of $rows rows of 8 numbers, written with the minimum
# of parts (no shared strings, no styles; row and cell references implied).
# 4096 distinct rows repeat, so it takes about a second to write and
# deflates about 5:1 (600,000 rows: 97 MB of sheet XML, a 21 MB file).
sub write_big_workbook
{
	my ($path, $rows) = @_;
	my $rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
	my $pkg = 'http://schemas.openxmlformats.org/package/2006/relationships';
	my $ct = 'application/vnd.openxmlformats-officedocument.spreadsheetml';
	my $decl = qq{<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n};
	my @parts = (
		'[Content_Types].xml' => $decl
		  . '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
		  . '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
		  . '<Default Extension="xml" ContentType="application/xml"/>'
		  . qq{<Override PartName="/xl/workbook.xml" ContentType="$ct.sheet.main+xml"/>}
		  . qq{<Override PartName="/xl/worksheets/sheet1.xml" ContentType="$ct.worksheet+xml"/>}
		  . '</Types>',
		'_rels/.rels' => $decl
		  . qq{<Relationships xmlns="$pkg"><Relationship Id="rId1" Type="$rel/officeDocument" Target="xl/workbook.xml"/></Relationships>},
		'xl/workbook.xml' => $decl
		  . qq{<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="$rel">}
		  . '<sheets><sheet name="Big" sheetId="1" r:id="rId1"/></sheets></workbook>',
		'xl/_rels/workbook.xml.rels' => $decl
		  . qq{<Relationships xmlns="$pkg"><Relationship Id="rId1" Type="$rel/worksheet" Target="worksheets/sheet1.xml"/></Relationships>},
	);
	my %opt = (Method => ZIP_CM_DEFLATE, Level => 1, Minimal => 1);
	my $z = IO::Compress::Zip->new($path, Name => $parts[0], %opt)
	  or die "zip: $ZipError";
	for (my $i = 0; $i < @parts; $i += 2)
	{
		$z->newStream(Name => $parts[$i], %opt) if $i > 0;
		$z->print($parts[ $i + 1 ]);
	}
	$z->newStream(Name => 'xl/worksheets/sheet1.xml', %opt);
	$z->print($decl
		  . '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>');
	my @block;
	my $x = 1;
	for (1 .. 4096)
	{
		my $row = '<row>';
		for (1 .. 8)
		{
			$x = ($x * 1103515245 + 12345) % 2147483648;
			$row .= '<c><v>' . ($x % 100000) . '</v></c>';
		}
		push @block, $row . '</row>';
	}
	my $block = join('', @block);
	for (my $left = $rows; $left > 0; $left -= 4096)
	{
		$z->print($left >= 4096 ? $block : join('', @block[ 0 .. $left - 1 ]));
	}
	$z->print('</sheetData></worksheet>');
	$z->close or die "zip: $ZipError";
	return;
}

my $rows = 600_000;
my $node = PostgreSQL::Test::Cluster->new('xlsx_cancel');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'megamarket'\n");
$node->start;

my $big = $node->basedir . '/big.xlsx';
my $t0 = time;
write_big_workbook($big, $rows);
note sprintf('wrote %s: %d rows, %d bytes in %.1f s', $big, $rows, -s $big, time - $t0);

$node->safe_psql('postgres', qq{
CREATE EXTENSION megamarket;
CREATE SERVER files FOREIGN DATA WRAPPER xlsx_fdw;
CREATE FOREIGN TABLE big (a int, b int, c int, d int, e int, f int, g int, h int)
    SERVER files OPTIONS (filename '$big', header 'false');
CREATE FOREIGN TABLE big_small (a smallint)
    SERVER files OPTIONS (filename '$big', header 'false');
});

my $session = $node->background_psql('postgres', on_error_stop => 0);
my $monitor = $node->background_psql('postgres');    # polls and cancels
my $pid = $session->query_safe('SELECT pg_backend_pid()');
like($pid, qr/^\d+$/, 'session backend pid');

# The backend's open files: how many, and whether one is the workbook.
sub open_files
{
	my $dir = "/proc/$pid/fd";
	opendir(my $dh, $dir) or die "could not open $dir: $!";
	my @fds = grep { /^\d+$/ } readdir($dh);
	closedir($dh);
	my $workbook = grep { (readlink("$dir/$_") // '') eq $big } @fds;
	return (scalar @fds, $workbook);
}

# The backend's threads: 1, or 2 while a sheet is inflated ahead.
sub threads
{
	opendir(my $dh, "/proc/$pid/task") or die "could not open /proc/$pid/task: $!";
	my $n = grep { /^\d+$/ } readdir($dh);
	closedir($dh);
	return $n;
}
my $ncpu = `getconf _NPROCESSORS_ONLN` + 0;

# A whole scan first: the count, the time it takes, the files a backend
# keeps open after reading the table once.
$t0 = time;
is($session->query_safe('SELECT count(*) FROM big'), $rows, 'a whole scan counts every row');
my $scan_time = time - $t0;
note sprintf('whole scan: %.2f s', $scan_time);
my ($fds_before, $open_before) = open_files();
is($open_before, 0, 'the workbook is closed after a scan');
is(threads(), 1, 'no thread is left after a whole scan');
is($session->query_safe('SET megamarket.xlsx_inflate_ahead = off; SELECT count(*) FROM big; RESET megamarket.xlsx_inflate_ahead'),
	$rows, 'the same count without the inflating thread');
is($session->query_safe('SELECT count(*) FROM (SELECT * FROM big LIMIT 5) s'), 5, 'a scan ended by LIMIT');
is(threads(), 1, 'no thread is left after a scan ended early');

note 'pg_cancel_backend during the scan';
start_active($session, $monitor, $pid, 'SELECT count(*) FROM big', 'SELECT count(*) FROM big%');
SKIP:
{
	skip 'one CPU: the sheet is inflated in the backend\'s own thread', 1 if $ncpu < 2;
	my $seen = 0;
	for (1 .. 100)
	{
		last if ($seen = threads()) > 1;
		usleep(2_000);
	}
	is($seen, 2, 'the scan inflates the sheet ahead in a second thread');
}
usleep(int(1e6 * $scan_time / 4));    # well inside the sheet
$t0 = time;
is($monitor->query_safe("SELECT pg_cancel_backend($pid)"), 't', 'cancel sent');
like(wait_error($session), qr/ERROR:  canceling statement due to user request/,
	'the scan ends with the cancel error');
my $cancel_time = time - $t0;
note sprintf('cancel took %.3f s', $cancel_time);
cmp_ok($cancel_time, '<', 3, 'the cancel is honoured within 3 s');

$session->{stderr} = '';
is($session->query_safe('SELECT 1'), '1', 'the session runs a query after the cancel');
my ($fds_after, $open_after) = open_files();
is($open_after, 0, 'the canceled scan left the workbook closed');
cmp_ok($fds_after, '<=', $fds_before, 'no file descriptor leaked by the cancel');
is(threads(), 1, 'the canceled scan stopped its inflating thread');

note 'statement_timeout during the scan';
my $timeout_ms = int(1000 * $scan_time / 4) + 1;
$session->query_safe("SET statement_timeout = $timeout_ms");
$t0 = time;
start_active($session, $monitor, $pid, 'SELECT count(*) FROM big', 'SELECT count(*) FROM big%');
like(wait_error($session), qr/ERROR:  canceling statement due to statement timeout/,
	"the scan ends with the statement timeout ($timeout_ms ms)");
my $timeout_time = time - $t0;
note sprintf('timed out after %.3f s', $timeout_time);
cmp_ok($timeout_time, '<', $timeout_ms / 1000 + 3, 'the timeout is honoured within 3 s of its end');

$session->{stderr} = '';
$session->query_safe('RESET statement_timeout');
($fds_after, $open_after) = open_files();
is($open_after, 0, 'the timed-out scan left the workbook closed');
cmp_ok($fds_after, '<=', $fds_before, 'no file descriptor leaked by the timeout');
is(threads(), 1, 'the timed-out scan stopped its inflating thread');

# Any error ends a scan the same way: a cell that does not fit its column.
$session->{stderr} = '';
$session->query('SELECT count(a) FROM big_small');
like($session->{stderr}, qr/ERROR:  .*out of range for type smallint/,
	'a scan stopped by a bad cell');
$session->{stderr} = '';
($fds_after, $open_after) = open_files();
is($open_after, 0, 'the failed scan left the workbook closed');
cmp_ok($fds_after, '<=', $fds_before, 'no file descriptor leaked by the error');
is(threads(), 1, 'the failed scan stopped its inflating thread');

# Canceled scans leave nothing behind that a later scan trips over.
is($session->query_safe('SELECT count(*) FROM big'), $rows, 'the same session scans the table again');

$session->quit;
$monitor->quit;
$node->stop;
done_testing();
