-- Redshift's functions that PostgreSQL lacks, run once per database (idempotent). Included as
-- `dialect::SETUP_SQL` (redshift-local/src/dialect/mod.rs), whose documentation describes each function.

CREATE OR REPLACE FUNCTION public.redshift_datepart(part text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT CASE
    WHEN p IN ('millennium', 'millennia', 'mil', 'mils') THEN 'millennium'
    WHEN p IN ('century', 'centuries', 'c', 'cent', 'cents') THEN 'century'
    WHEN p IN ('decade', 'decades', 'dec', 'decs') THEN 'decade'
    WHEN p IN ('year', 'years', 'y', 'yr', 'yrs') THEN 'year'
    WHEN p IN ('quarter', 'quarters', 'qtr', 'qtrs') THEN 'quarter'
    WHEN p IN ('month', 'months', 'mon', 'mons') THEN 'month'
    WHEN p IN ('week', 'weeks', 'w') THEN 'week'
    WHEN p IN ('dayofweek', 'dow', 'dw', 'weekday') THEN 'dow'
    WHEN p IN ('dayofyear', 'doy', 'dy', 'yearday') THEN 'doy'
    WHEN p IN ('day', 'days', 'd') THEN 'day'
    WHEN p IN ('hour', 'hours', 'h', 'hr', 'hrs') THEN 'hour'
    WHEN p IN ('minute', 'minutes', 'm', 'min', 'mins') THEN 'minute'
    WHEN p IN ('second', 'seconds', 's', 'sec', 'secs') THEN 'second'
    WHEN p IN ('millisecond', 'milliseconds', 'ms', 'msec', 'msecs', 'msecond', 'mseconds',
               'millisec', 'millisecs', 'millisecon') THEN 'millisecond'
    WHEN p IN ('microsecond', 'microseconds', 'microsec', 'microsecs', 'usecond', 'useconds',
               'us', 'usec', 'usecs') THEN 'microsecond'
    WHEN p IN ('timezone', 'timezone_hour', 'timezone_minute') THEN p
    ELSE p
END
FROM (SELECT lower(btrim(part)) AS p) AS normalized
$fn$;

CREATE OR REPLACE FUNCTION public.getdate() RETURNS timestamp
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
SELECT date_trunc('second', statement_timestamp())::timestamp
$fn$;

CREATE OR REPLACE FUNCTION public.datediff(part text, a timestamp, b timestamp) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    p text := public.redshift_datepart(part);
BEGIN
    CASE p
    WHEN 'millennium', 'century', 'decade', 'year' THEN
        RETURN (date_part(p, b) - date_part(p, a))::bigint;
    WHEN 'quarter' THEN
        RETURN ((date_part('year', b) * 4 + date_part('quarter', b))
              - (date_part('year', a) * 4 + date_part('quarter', a)))::bigint;
    WHEN 'month' THEN
        RETURN ((date_part('year', b) * 12 + date_part('month', b))
              - (date_part('year', a) * 12 + date_part('month', a)))::bigint;
    WHEN 'week' THEN
        RETURN (date_trunc('week', b)::date - date_trunc('week', a)::date) / 7;
    WHEN 'day' THEN
        RETURN b::date - a::date;
    WHEN 'hour' THEN
        RETURN extract(epoch FROM date_trunc('hour', b) - date_trunc('hour', a))::bigint / 3600;
    WHEN 'minute' THEN
        RETURN extract(epoch FROM date_trunc('minute', b) - date_trunc('minute', a))::bigint / 60;
    WHEN 'second' THEN
        RETURN extract(epoch FROM date_trunc('second', b) - date_trunc('second', a))::bigint;
    WHEN 'millisecond' THEN
        RETURN (extract(epoch FROM date_trunc('milliseconds', b) - date_trunc('milliseconds', a)) * 1000)::bigint;
    WHEN 'microsecond' THEN
        RETURN (extract(epoch FROM b - a) * 1000000)::bigint;
    ELSE
        RAISE EXCEPTION 'datediff: date part "%" is not supported', part
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END
$fn$;

CREATE OR REPLACE FUNCTION public.datediff(part text, a timestamptz, b timestamptz) RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.datediff(part, a::timestamp, b::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.datediff(part text, a time, b time) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.datediff(part, date '2000-01-01' + a, date '2000-01-01' + b)
$fn$;

CREATE OR REPLACE FUNCTION public.dateadd(part text, n double precision, d timestamp) RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    p text := public.redshift_datepart(part);
    k numeric := round(n::numeric);
BEGIN
    CASE p
    WHEN 'quarter' THEN
        RETURN d + make_interval(months => (k * 3)::integer);
    WHEN 'millennium', 'century', 'decade', 'year', 'month', 'week', 'day', 'hour', 'minute', 'second',
         'millisecond', 'microsecond' THEN
        RETURN d + k * ('1 ' || p)::interval;
    ELSE
        RAISE EXCEPTION 'dateadd: date part "%" is not supported', part
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END
$fn$;

CREATE OR REPLACE FUNCTION public.dateadd(part text, n double precision, d date) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.dateadd(part, n, d::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.dateadd(part text, n double precision, d timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.dateadd(part, n, d::timestamp)::timestamptz
$fn$;

CREATE OR REPLACE FUNCTION public.dateadd(part text, n double precision, d time) RETURNS time
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.dateadd(part, n, date '2000-01-01' + d)::time
$fn$;

CREATE OR REPLACE FUNCTION public.months_between(date1 timestamp, date2 timestamp) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT ((date_part('year', date1) - date_part('year', date2)) * 12
        + date_part('month', date1) - date_part('month', date2))
    + CASE
        WHEN date_part('day', date1) = date_part('day', date2)
          OR (date1::date = (date_trunc('month', date1) + interval '1 month - 1 day')::date
              AND date2::date = (date_trunc('month', date2) + interval '1 month - 1 day')::date)
        THEN 0
        ELSE extract(epoch FROM (date1 - date_trunc('month', date1)) - (date2 - date_trunc('month', date2)))::double precision
             / 86400 / 31
      END
$fn$;

CREATE OR REPLACE FUNCTION public.months_between(date1 timestamptz, date2 timestamptz) RETURNS double precision
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.months_between(date1::timestamp, date2::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.add_months(d timestamp, n integer) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT CASE
    WHEN d::date = (date_trunc('month', d) + interval '1 month - 1 day')::date
    THEN date_trunc('month', d) + make_interval(months => n + 1) - interval '1 day' + (d - date_trunc('day', d))
    ELSE d + make_interval(months => n)
END
$fn$;

CREATE OR REPLACE FUNCTION public.add_months(d timestamptz, n integer) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.add_months(d::timestamp, n)
$fn$;

-- LAST_DAY(date): the last day of its month, a date (SQL reference, "LAST_DAY function"); a timestamp converts.
CREATE OR REPLACE FUNCTION public.last_day(d timestamp) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT (date_trunc('month', d) + interval '1 month - 1 day')::date
$fn$;

-- NEXT_DAY(date, day): the first such weekday later than the date (SQL reference, "NEXT_DAY function"): the day
-- is any case of its name or an abbreviation starting with its first two letters (Su, Mon, tuesday, ...).
CREATE OR REPLACE FUNCTION public.next_day(d timestamp, day text) RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    target int := array_position(ARRAY['su', 'mo', 'tu', 'we', 'th', 'fr', 'sa'], lower(left(btrim(day), 2))) - 1;
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'next_day: % is not a day of the week', day;
    END IF;
    RETURN d::date + ((target - extract(dow FROM d)::int + 6) % 7) + 1;
END
$fn$;

CREATE OR REPLACE FUNCTION public.trunc(ts timestamp) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT ts::date
$fn$;

CREATE OR REPLACE FUNCTION public.trunc(ts timestamptz) RETURNS date
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT ts::date
$fn$;

CREATE OR REPLACE FUNCTION public.convert_timezone(target_tz text, ts timestamp) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT (ts AT TIME ZONE 'UTC') AT TIME ZONE target_tz
$fn$;

CREATE OR REPLACE FUNCTION public.convert_timezone(source_tz text, target_tz text, ts timestamp) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT (ts AT TIME ZONE source_tz) AT TIME ZONE target_tz
$fn$;

CREATE OR REPLACE FUNCTION public.convert_timezone(target_tz text, ts timestamptz) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.convert_timezone(target_tz, ts::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.convert_timezone(source_tz text, target_tz text, ts timestamptz) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.convert_timezone(source_tz, target_tz, ts::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.len(s text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT length(s)
$fn$;

CREATE OR REPLACE FUNCTION public.charindex(search text, s text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT strpos(s, search)
$fn$;

CREATE OR REPLACE FUNCTION public.strtol(num_string text, base integer) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    s text := ltrim(num_string, E' \t\n\r\f' || chr(11));
    negative boolean := false;
    total numeric := 0;
    digit integer;
BEGIN
    IF base < 2 OR base > 36 THEN
        RAISE EXCEPTION 'strtol: base % is not between 2 and 36', base
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF left(s, 1) IN ('+', '-') THEN
        negative := left(s, 1) = '-';
        s := substr(s, 2);
    END IF;
    IF base = 16 AND lower(left(s, 2)) = '0x' THEN
        s := substr(s, 3);
    END IF;
    FOR i IN 1 .. length(s) LOOP
        digit := strpos('0123456789abcdefghijklmnopqrstuvwxyz', lower(substr(s, i, 1))) - 1;
        EXIT WHEN digit < 0 OR digit >= base;
        total := total * base + digit;
    END LOOP;
    RETURN (CASE WHEN negative THEN -total ELSE total END)::bigint;
END
$fn$;

CREATE OR REPLACE FUNCTION public.nvl(a anycompatible, b anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT coalesce(a, b)
$fn$;

CREATE OR REPLACE FUNCTION public.nvl(a anycompatible, b anycompatible, c anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT coalesce(a, b, c)
$fn$;

CREATE OR REPLACE FUNCTION public.nvl2(e anyelement, not_null anycompatible, if_null anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE WHEN e IS NOT NULL THEN not_null ELSE if_null END
$fn$;

CREATE OR REPLACE FUNCTION public.nvl2(e text, not_null anycompatible, if_null anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE WHEN e IS NOT NULL THEN not_null ELSE if_null END
$fn$;

-- PERCENTILE_CONT and MEDIAN: Redshift's formula (SQL reference, "PERCENTILE_CONT function"): over the non-NULL
-- values in order, RN = 1 + p * (n - 1); the value at RN, interpolated between the rows FLOOR(RN) and CEIL(RN).
-- Exact (numeric) for integer and decimal input, DECIMAL as Redshift returns ("MEDIAN function", "Data types").
CREATE OR REPLACE FUNCTION public.redshift_percentile_cont(p float8, v numeric[]) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    s numeric[];
    rn numeric;
BEGIN
    IF p IS NULL OR p < 0 OR p > 1 THEN
        RAISE EXCEPTION 'percentile % is not between 0 and 1', p;
    END IF;
    SELECT array_agg(x ORDER BY x) INTO s FROM unnest(v) AS x WHERE x IS NOT NULL;
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    rn := 1 + p::numeric * (cardinality(s) - 1);
    RETURN s[floor(rn)::int] + (s[ceil(rn)::int] - s[floor(rn)::int]) * (rn - floor(rn));
END
$fn$;

-- The same for REAL and DOUBLE PRECISION input, as DOUBLE PRECISION (Redshift returns DOUBLE for them).
CREATE OR REPLACE FUNCTION public.redshift_percentile_cont(p float8, v float8[]) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    s float8[];
    rn float8;
BEGIN
    IF p IS NULL OR p < 0 OR p > 1 THEN
        RAISE EXCEPTION 'percentile % is not between 0 and 1', p;
    END IF;
    SELECT array_agg(x ORDER BY x) INTO s FROM unnest(v) AS x WHERE x IS NOT NULL;
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    rn := 1 + p * (cardinality(s) - 1);
    RETURN s[floor(rn)::int] + (s[ceil(rn)::int] - s[floor(rn)::int]) * (rn - floor(rn));
END
$fn$;

-- Integer arrays would match both overloads above: they are exact, as Redshift's DECIMAL.
CREATE OR REPLACE FUNCTION public.redshift_percentile_cont(p float8, v smallint[]) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT public.redshift_percentile_cont(p, v::numeric[]) $fn$;
CREATE OR REPLACE FUNCTION public.redshift_percentile_cont(p float8, v integer[]) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT public.redshift_percentile_cont(p, v::numeric[]) $fn$;
CREATE OR REPLACE FUNCTION public.redshift_percentile_cont(p float8, v bigint[]) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT public.redshift_percentile_cont(p, v::numeric[]) $fn$;

-- PERCENTILE_DISC: the first value, in order, whose cumulative distribution over the non-NULL values is at least
-- p (SQL reference, "PERCENTILE_DISC function"), of the values' own type.
CREATE OR REPLACE FUNCTION public.redshift_percentile_disc(p float8, v anyarray) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    n bigint;
BEGIN
    IF p IS NULL OR p < 0 OR p > 1 THEN
        RAISE EXCEPTION 'percentile % is not between 0 and 1', p;
    END IF;
    SELECT count(x) INTO n FROM unnest(v) AS x;
    RETURN (SELECT x FROM unnest(v) AS x WHERE x IS NOT NULL ORDER BY x
            OFFSET greatest(ceil(p::numeric * n)::bigint - 1, 0) LIMIT 1);
END
$fn$;

-- MEDIAN(x) = PERCENTILE_CONT(0.5) of the values an aggregate collected: numeric for integers and decimals, double
-- precision for floats. A plain aggregate, so `median(x) OVER (PARTITION BY ...)` works as a window function too.
CREATE OR REPLACE FUNCTION public.redshift_median_exact(v anyarray) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT public.redshift_percentile_cont(0.5, v::numeric[]) $fn$;
CREATE OR REPLACE FUNCTION public.redshift_median_float(v anyarray) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT public.redshift_percentile_cont(0.5, v::float8[]) $fn$;

CREATE OR REPLACE AGGREGATE public.median(smallint) (
    SFUNC = array_append, STYPE = smallint[], INITCOND = '{}', FINALFUNC = public.redshift_median_exact);
CREATE OR REPLACE AGGREGATE public.median(integer) (
    SFUNC = array_append, STYPE = integer[], INITCOND = '{}', FINALFUNC = public.redshift_median_exact);
CREATE OR REPLACE AGGREGATE public.median(bigint) (
    SFUNC = array_append, STYPE = bigint[], INITCOND = '{}', FINALFUNC = public.redshift_median_exact);
CREATE OR REPLACE AGGREGATE public.median(numeric) (
    SFUNC = array_append, STYPE = numeric[], INITCOND = '{}', FINALFUNC = public.redshift_median_exact);
CREATE OR REPLACE AGGREGATE public.median(real) (
    SFUNC = array_append, STYPE = real[], INITCOND = '{}', FINALFUNC = public.redshift_median_float);
CREATE OR REPLACE AGGREGATE public.median(double precision) (
    SFUNC = array_append, STYPE = double precision[], INITCOND = '{}', FINALFUNC = public.redshift_median_float);
