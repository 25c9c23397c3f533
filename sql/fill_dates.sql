--
-- fill_dates(): the date dimension. Expected values are calendar facts
-- checked by hand, not output of the function.
--
CREATE EXTENSION megamarket;

-- around the 2024 leap day: 29 Feb 2024 was a Thursday, 2 Mar a Saturday
SELECT megamarket.fill_dates('2024-02-27', '2024-03-02');
SELECT * FROM megamarket.dates ORDER BY date_id;

-- idempotent: the same range adds nothing, an overlapping one only the new days
SELECT megamarket.fill_dates('2024-02-27', '2024-03-02');
SELECT megamarket.fill_dates('2024-02-25', '2024-02-28');
SELECT count(*) FROM megamarket.dates;

-- a whole year: 2024 is a leap year starting on a Monday, so it has 366 days,
-- 53 Mondays and 53 Tuesdays, 52 of each other weekday, 91/91/92/92 days per quarter
SELECT megamarket.fill_dates('2024-01-01', '2024-12-31');
SELECT count(*) FROM megamarket.dates WHERE year = 2024;
SELECT weekday, weekday_name, count(*) FROM megamarket.dates WHERE year = 2024
GROUP BY 1, 2 ORDER BY 1;
SELECT quarter, count(*) FROM megamarket.dates WHERE year = 2024 GROUP BY 1 ORDER BY 1;
SELECT month, month_name, count(*) FROM megamarket.dates WHERE year = 2024
GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) AS weekend_days FROM megamarket.dates WHERE year = 2024 AND is_weekend;

-- century rules: 1900 is not a leap year, 2000 is; 1 Jan 1900 was a Monday,
-- 1 Jan 2000 a Saturday, 31 Dec 2999 a Tuesday
SELECT megamarket.fill_dates('1900-01-01', '1900-12-31'), megamarket.fill_dates('2000-01-01', '2000-12-31');
SELECT year, count(*) FROM megamarket.dates WHERE year IN (1900, 2000) GROUP BY 1 ORDER BY 1;
SELECT megamarket.fill_dates('2999-12-31', '2999-12-31');
SELECT date_id, weekday_name FROM megamarket.dates
WHERE date IN ('1900-01-01', '2000-01-01', '2999-12-31') ORDER BY 1;

-- bad input: a clear error, and nothing added
SELECT count(*) AS before FROM megamarket.dates \gset
SELECT megamarket.fill_dates('2024-03-02', '2024-02-27');
SELECT megamarket.fill_dates('1899-12-31', '1900-01-02');
SELECT megamarket.fill_dates('2999-12-30', '3000-01-01');
SELECT megamarket.fill_dates('-infinity', '2024-01-01');
SELECT megamarket.fill_dates('2024-01-01', 'infinity');
SELECT megamarket.fill_dates(NULL, '2024-01-01');
SELECT count(*) = :before AS unchanged FROM megamarket.dates;

-- a row that contradicts its own date is refused, however it is written
INSERT INTO megamarket.dates VALUES (20240101, '2024-01-02', 2, 1, 'enero', 1, 2024, 2, 'martes', false);
INSERT INTO megamarket.dates VALUES (20230101, '2023-01-01', 1, 1, 'enero', 1, 2023, 7, 'domingo', false);
-- and one that is right is accepted (1 Jan 2023 was a Sunday)
INSERT INTO megamarket.dates VALUES (20230101, '2023-01-01', 1, 1, 'enero', 1, 2023, 7, 'domingo', true);

-- a large range in one call (about a century) is fine
SELECT megamarket.fill_dates('1950-01-01', '2049-12-31') > 30000 AS filled;
SELECT count(*) FROM megamarket.dates WHERE date BETWEEN '1950-01-01' AND '2049-12-31';

DROP EXTENSION megamarket;
