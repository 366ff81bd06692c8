-- Redshift's STL_LOAD_ERRORS, which COPY fills with the rows it rejects (columns and types as the STL_LOAD_ERRORS
-- page documents them: https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html). It lives in the
-- redshift_system schema, where redshift-local keeps Redshift's system tables and views; "STL_LOAD_ERRORS is
-- visible to all users", so everyone may read it. redshift-local's administrator writes it, never a statement.
CREATE SCHEMA IF NOT EXISTS redshift_system;
CREATE TABLE IF NOT EXISTS redshift_system.stl_load_errors (
    userid integer,
    slice integer,
    tbl integer,
    starttime timestamp,
    session integer,
    query integer,
    filename character(256),
    line_number bigint,
    colname character(127),
    type character(10),
    col_length character(10),
    position integer,
    raw_line character(1024),
    raw_field_value character(1024),
    err_code integer,
    err_reason character(100),
    is_partial integer,
    start_offset bigint
);
GRANT USAGE ON SCHEMA redshift_system TO PUBLIC;
GRANT SELECT ON redshift_system.stl_load_errors TO PUBLIC;
-- The schema is on each database's search path: dialect/system.sql, which runs first, puts it there.
