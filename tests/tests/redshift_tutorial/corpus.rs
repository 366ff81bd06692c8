//! The cases: the tutorial's statements, then examples of the SQL reference rewritten over TICKIT, each with the
//! answer computed here from the generated rows (the documentation's printed answers are over the real data set,
//! which is not available offline). Each case names the page it comes from.

use crate::tickit::{money, ts, Tickit, CATEGORIES, DDL, FIRST_DATEID, LOADS};
use chrono::{Datelike, NaiveDate, Timelike};
use std::collections::BTreeMap;

/// What a case must answer.
pub(crate) enum Expect {
    /// The statement finishes (DDL).
    Done,
    /// The statement finishes reporting this many rows (`ResultRows`, what `COPY` loaded).
    Loaded(usize),
    /// Exactly these rows, in this order.
    Rows(Vec<Vec<String>>),
    /// These rows in any order.
    Unordered(Vec<Vec<String>>),
    /// Column `.0` of the answer, in order (the other columns of tied rows may legitimately differ).
    Column(usize, Vec<String>),
    /// This many rows of this many columns.
    Shape(usize, usize),
}

/// One statement of the corpus.
pub(crate) struct Case {
    /// Unique, stable: the list of known gaps names cases by it.
    pub(crate) name: String,
    /// The page of the Redshift documentation it comes from.
    pub(crate) source: &'static str,
    pub(crate) sql: String,
    pub(crate) expect: Expect,
}

fn case(name: &str, source: &'static str, sql: impl Into<String>, expect: Expect) -> Case {
    Case {
        name: name.into(),
        source,
        sql: sql.into(),
        expect,
    }
}

fn row<const N: usize>(cells: [String; N]) -> Vec<String> {
    cells.to_vec()
}

/// `n` as text.
fn t(n: impl ToString) -> String {
    n.to_string()
}

/// The median of sorted values as Redshift computes it (the mean of the two middle values for an even count).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// `percentile_disc(p)`: the first value whose cumulative distribution reaches `p`.
fn percentile_disc(sorted: &[f64], p: f64) -> f64 {
    let i = ((p * sorted.len() as f64).ceil() as usize).max(1) - 1;
    sorted[i]
}

const GSG: &str =
    "Getting Started Guide, Step 4: Load data from Amazon S3 / Step 5: Try example queries";
const SAMPLEDB: &str = "Database Developer Guide, Sample database";

/// The authorization every load carries, as the tutorial writes it.
pub(crate) const CREDENTIALS: &str =
    "credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'";

/// Every case, in the order they run (the loads before the queries over them).
pub(crate) fn cases(db: &Tickit, bucket: &str) -> Vec<Case> {
    let mut cs = Vec::new();
    for (table, ddl) in DDL {
        cs.push(case(&format!("create {table}"), GSG, *ddl, Expect::Done));
    }
    for (table, key, options) in LOADS {
        cs.push(case(
            &format!("copy {table}"),
            GSG,
            format!("copy {table} from 's3://{bucket}/{key}' {CREDENTIALS} {options} region 'us-east-1'"),
            Expect::Loaded(db.count(table)),
        ));
    }
    tutorial(db, &mut cs);
    system_views(db, &mut cs);
    aggregates_and_windows(db, &mut cs);
    dates(db, &mut cs);
    strings_and_conditionals(db, &mut cs);
    syntax(db, &mut cs);
    cs
}

fn tutorial(db: &Tickit, cs: &mut Vec<Case>) {
    cs.push(case(
        "pg_table_def of sales, every column",
        GSG,
        "SELECT * FROM pg_table_def WHERE tablename = 'sales'",
        Expect::Shape(10, 8),
    ));
    let def = |c: &str, ty: &str, dist: bool, sort: i32| row([t(c), t(ty), t(dist), t(sort)]);
    cs.push(case(
        "pg_table_def of sales, keys",
        GSG,
        r#"select "column", type, distkey, sortkey from pg_table_def where tablename = 'sales'"#,
        Expect::Unordered(vec![
            def("salesid", "integer", false, 0),
            def("listid", "integer", true, 0),
            def("sellerid", "integer", false, 0),
            def("buyerid", "integer", false, 0),
            def("eventid", "integer", false, 0),
            def("dateid", "smallint", false, 1),
            def("qtysold", "smallint", false, 0),
            def("pricepaid", "numeric(8,2)", false, 0),
            def("commission", "numeric(8,2)", false, 0),
            def("saletime", "timestamp without time zone", false, 0),
        ]),
    ));
    let jan5 = NaiveDate::from_ymd_opt(2008, 1, 5).unwrap();
    let sold: i64 = db
        .sales
        .iter()
        .filter(|s| db.caldate(s.date) == jan5)
        .map(|s| s.qty as i64)
        .sum();
    cs.push(case("total sales on a date", GSG,
        "SELECT sum(qtysold) FROM sales, date WHERE sales.dateid = date.dateid AND caldate = '2008-01-05'",
        Expect::Rows(vec![vec![if sold == 0 { t("NULL") } else { t(sold) }]])));
    let mut by_buyer: BTreeMap<i32, i64> = BTreeMap::new();
    for s in &db.sales {
        *by_buyer.entry(s.buyer).or_default() += s.qty as i64;
    }
    let mut totals: Vec<i64> = by_buyer.values().copied().collect();
    totals.sort_by(|a, b| b.cmp(a));
    cs.push(case("top 10 buyers by quantity", GSG,
        "SELECT firstname, lastname, total_quantity FROM (SELECT buyerid, sum(qtysold) total_quantity FROM sales \
         GROUP BY buyerid ORDER BY total_quantity desc limit 10) Q, users WHERE Q.buyerid = userid \
         ORDER BY Q.total_quantity desc",
        Expect::Column(2, totals.iter().take(10).map(t).collect())));
    let mut by_event: BTreeMap<i32, i64> = BTreeMap::new();
    for s in &db.sales {
        *by_event.entry(s.event).or_default() += s.paid;
    }
    let (top_event, top_total) = by_event.iter().max_by_key(|(_, v)| **v).unwrap();
    let name = &db.events.iter().find(|e| e.id == *top_event).unwrap().name;
    cs.push(case("events in the 99.9 percentile of gross sales (a derived table with no alias)", GSG,
        "SELECT eventname, total_price FROM (SELECT eventid, total_price, ntile(1000) over(order by total_price desc) \
         as percentile FROM (SELECT eventid, sum(pricepaid) total_price FROM sales GROUP BY eventid)) Q, event E \
         WHERE Q.eventid = E.eventid AND percentile = 1 ORDER BY total_price desc",
        Expect::Rows(vec![row([name.clone(), money(*top_total)])])));
    let mut by_seller: BTreeMap<i32, i64> = BTreeMap::new();
    for s in &db.sales {
        let seller = &db.users[s.seller as usize - 1];
        if seller.city == "San Diego" && db.caldate(s.date).year() == 2008 {
            *by_seller.entry(s.seller).or_default() += s.qty as i64;
        }
    }
    let mut sums: Vec<i64> = by_seller.values().copied().collect();
    sums.sort_by(|a, b| b.cmp(a));
    cs.push(case("top five sellers in San Diego", SAMPLEDB,
        "select sellerid, username, (firstname ||' '|| lastname) as name, city, sum(qtysold) from sales, date, users \
         where sales.sellerid = users.userid and sales.dateid = date.dateid and year = 2008 and city = 'San Diego' \
         group by sellerid, username, name, city order by 5 desc limit 5",
        Expect::Column(4, sums.iter().take(5).map(t).collect())));
}

fn system_views(db: &Tickit, cs: &mut Vec<Case>) {
    cs.push(case("svv_table_info of sales", "SVV_TABLE_INFO",
        r#"select "table", diststyle, sortkey1, tbl_rows from svv_table_info where "table" = 'sales'"#,
        Expect::Rows(vec![row([t("sales"), t("KEY(listid)"), t("dateid"), t(db.sales.len())])])));
    let mut tables: Vec<&str> = DDL.iter().map(|(t, _)| *t).collect();
    tables.sort();
    cs.push(case(
        "svv_tables lists the tutorial's tables",
        "SVV_TABLES",
        "select table_name from svv_tables where table_schema = 'public' order by table_name",
        Expect::Rows(tables.iter().map(|n| vec![t(n)]).collect()),
    ));
    cs.push(case("svv_columns of category", "SVV_COLUMNS",
        "select column_name, data_type from svv_columns where table_name = 'category' order by ordinal_position",
        Expect::Rows(vec![
            row([t("catid"), t("smallint")]),
            row([t("catgroup"), t("character varying")]),
            row([t("catname"), t("character varying")]),
            row([t("catdesc"), t("character varying")]),
        ])));
    cs.push(case(
        "sys_query_history holds the statements run",
        "SYS_QUERY_HISTORY",
        "select count(*) > 0 from sys_query_history where query_text like '%pg_table_def%'",
        Expect::Rows(vec![vec![t(true)]]),
    ));
    cs.push(case(
        "stv_recents shows the running statement",
        "STV_RECENTS",
        "select count(*) > 0 from stv_recents",
        Expect::Rows(vec![vec![t(true)]]),
    ));
}

fn aggregates_and_windows(db: &Tickit, cs: &mut Vec<Case>) {
    let mut paid: Vec<f64> = db.sales.iter().map(|s| s.paid as f64 / 100.0).collect();
    paid.sort_by(f64::total_cmp);
    cs.push(case(
        "median",
        "MEDIAN function",
        "select median(pricepaid) from sales",
        Expect::Rows(vec![vec![t(median(&paid))]]),
    ));
    cs.push(case(
        "percentile_cont as an aggregate",
        "PERCENTILE_CONT function",
        "select percentile_cont(0.5) within group (order by pricepaid) from sales",
        Expect::Rows(vec![vec![t(median(&paid))]]),
    ));
    // Window forms over the first events' sales.
    let few: Vec<_> = db.sales.iter().filter(|s| s.event <= 5).collect();
    let mut part: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    for s in &few {
        part.entry(s.event).or_default().push(s.qty as f64);
    }
    for v in part.values_mut() {
        v.sort_by(f64::total_cmp);
    }
    let mut ordered = few.clone();
    ordered.sort_by_key(|s| s.id);
    cs.push(case("median as a window function", "MEDIAN window function",
        "select salesid, median(qtysold) over (partition by eventid) from sales where eventid <= 5 order by salesid",
        Expect::Rows(ordered.iter().map(|s| row([t(s.id), t(median(&part[&s.event]))])).collect())));
    cs.push(case("percentile_cont as a window function", "PERCENTILE_CONT window function",
        "select salesid, percentile_cont(0.5) within group (order by qtysold) over (partition by eventid) \
         from sales where eventid <= 5 order by salesid",
        Expect::Rows(ordered.iter().map(|s| row([t(s.id), t(median(&part[&s.event]))])).collect())));
    cs.push(case("percentile_disc as a window function", "PERCENTILE_DISC window function",
        "select salesid, percentile_disc(0.5) within group (order by qtysold) over (partition by eventid) \
         from sales where eventid <= 5 order by salesid",
        Expect::Rows(ordered.iter().map(|s| row([t(s.id), t(percentile_disc(&part[&s.event], 0.5))])).collect())));
    let mut event_paid: BTreeMap<i32, i64> = BTreeMap::new();
    for s in &few {
        *event_paid.entry(s.event).or_default() += s.paid;
    }
    cs.push(case("ratio_to_report", "RATIO_TO_REPORT window function",
        "select salesid, ratio_to_report(pricepaid) over (partition by eventid) from sales where eventid <= 5 \
         order by salesid",
        Expect::Rows(ordered.iter().map(|s| row([t(s.id), t(s.paid as f64 / event_paid[&s.event] as f64)])).collect())));
    let rank = |s: &crate::tickit::Sale| {
        1 + few
            .iter()
            .filter(|o| o.event == s.event && o.paid > s.paid)
            .count()
    };
    cs.push(case("rank over a partition", "RANK window function",
        "select salesid, rank() over (partition by eventid order by pricepaid desc) from sales where eventid <= 5 \
         order by salesid",
        Expect::Rows(ordered.iter().map(|s| row([t(s.id), t(rank(s))])).collect())));
    let first10: Vec<_> = db.sales.iter().take(10).collect();
    let mut running = 0i64;
    cs.push(case(
        "a running sum with a frame clause",
        "SUM window function",
        "select salesid, sum(qtysold) over (order by salesid rows unbounded preceding) from sales \
         where salesid <= 10 order by salesid",
        Expect::Rows(
            first10
                .iter()
                .map(|s| {
                    running += s.qty as i64;
                    row([t(s.id), t(running)])
                })
                .collect(),
        ),
    ));
    cs.push(case("lag", "LAG window function",
        "select salesid, lag(qtysold, 1) over (order by salesid) from sales where salesid <= 10 order by salesid",
        Expect::Rows(first10.iter().enumerate().map(|(i, s)| {
            row([t(s.id), if i == 0 { t("NULL") } else { t(first10[i - 1].qty) }])
        }).collect())));
    let mut buyers: Vec<i32> = db.sales.iter().map(|s| s.buyer).collect();
    buyers.sort();
    buyers.dedup();
    cs.push(case(
        "approximate count(distinct)",
        "COUNT function",
        "select approximate count(distinct buyerid) from sales",
        Expect::Rows(vec![vec![t(buyers.len())]]),
    ));
    let sports: Vec<&str> = CATEGORIES
        .iter()
        .filter(|c| c.1 == "Sports")
        .map(|c| c.2)
        .collect();
    let listed = sports.join(",");
    cs.push(case("listagg within group", "LISTAGG function",
        "select listagg(catname, ',') within group (order by catid) from category where catgroup = 'Sports'",
        Expect::Rows(vec![vec![listed]])));
    cs.push(case("group by rollup", "GROUP BY clause (ROLLUP)",
        "select catgroup, count(*) from category group by rollup(catgroup) order by catgroup nulls last",
        Expect::Rows(vec![
            row([t("Concerts"), t(3)]), row([t("Shows"), t(3)]), row([t("Sports"), t(5)]), row([t("NULL"), t(11)]),
        ])));
}

fn dates(db: &Tickit, cs: &mut Vec<Case>) {
    let s = &db.sales[0];
    let tm = s.time;
    let dow = tm.weekday().num_days_from_sunday();
    cs.push(case("date_part with Redshift's abbreviations", "Date parts for date or timestamp functions",
        "select date_part(dow, saletime), date_part(qtr, saletime), date_part(w, saletime), \
         date_part(doy, saletime), date_part(mins, saletime), date_part(h, saletime), date_part(yrs, saletime), \
         date_part(mon, saletime) from sales where salesid = 1",
        Expect::Rows(vec![vec![t(dow), t((tm.month() - 1) / 3 + 1), t(tm.iso_week().week()), t(tm.ordinal()),
            t(tm.minute()), t(tm.hour()), t(tm.year()), t(tm.month())]])));
    cs.push(case("date_part with more abbreviations", "Date parts for date or timestamp functions",
        "select date_part(dw, saletime), date_part(qtrs, saletime), date_part(dy, saletime), \
         date_part(hrs, saletime), date_part(secs, saletime), date_part(d, saletime) from sales where salesid = 1",
        Expect::Rows(vec![vec![t(dow), t((tm.month() - 1) / 3 + 1), t(tm.ordinal()), t(tm.hour()),
            t(tm.second()), t(tm.day())]])));
    let l = &db.listings[s.list as usize - 1];
    cs.push(case("datediff in days", "DATEDIFF function",
        "select datediff(day, listtime, saletime) from sales join listing using (listid) where salesid = 1",
        Expect::Rows(vec![vec![t((tm.date() - l.time.date()).num_days())]])));
    cs.push(case(
        "dateadd a month to the last day of January",
        "DATEADD function",
        format!(
            "select dateadd(month, 1, caldate) from date where dateid = {}",
            FIRST_DATEID + 30
        ),
        Expect::Rows(vec![vec![t("2008-02-29 00:00:00")]]),
    ));
    cs.push(case(
        "trunc of a timestamp",
        "TRUNC function",
        "select trunc(saletime) from sales where salesid = 1",
        Expect::Rows(vec![vec![t(tm.date())]]),
    ));
    cs.push(case(
        "to_char of a timestamp",
        "TO_CHAR",
        "select to_char(saletime, 'YYYY-MM-DD HH24:MI') from sales where salesid = 1",
        Expect::Rows(vec![vec![t(tm.format("%Y-%m-%d %H:%M"))]]),
    ));
    cs.push(case(
        "add_months and months_between",
        "ADD_MONTHS function",
        "select add_months('2008-01-31', 1), months_between('2008-03-31', '2008-02-29')",
        Expect::Rows(vec![row([t("2008-02-29 00:00:00"), t(1)])]),
    ));
    cs.push(case(
        "last_day",
        "LAST_DAY function",
        "select last_day('2008-02-10'::date)",
        Expect::Rows(vec![vec![t("2008-02-29")]]),
    ));
    cs.push(case(
        "next_day",
        "NEXT_DAY function",
        "select next_day('2008-08-20'::date, 'Tuesday')",
        Expect::Rows(vec![vec![t("2008-08-26")]]),
    ));
    cs.push(case(
        "to_date",
        "TO_DATE function",
        "select to_date('20080105', 'YYYYMMDD')",
        Expect::Rows(vec![vec![t("2008-01-05")]]),
    ));
    let jan = db.sales.iter().find(|s| s.time.month() == 1).unwrap();
    cs.push(case("convert_timezone", "CONVERT_TIMEZONE function",
        format!("select convert_timezone('UTC', 'America/New_York', saletime) from sales where salesid = {}", jan.id),
        Expect::Rows(vec![vec![ts(jan.time - chrono::Duration::hours(5))]])));
    cs.push(case(
        "getdate is now",
        "GETDATE function",
        "select getdate() > '2020-01-01'",
        Expect::Rows(vec![vec![t(true)]]),
    ));
}

fn strings_and_conditionals(db: &Tickit, cs: &mut Vec<Case>) {
    let u = &db.users[0];
    cs.push(case("len, charindex, left, right, split_part", "String functions",
        "select len(email), charindex('@', email), left(firstname, 2), right(lastname, 2), split_part(email, '@', 2) \
         from users where userid = 1",
        Expect::Rows(vec![row([t(u.email.len()), t(u.email.find('@').unwrap() + 1), t(&u.first[..2]),
            t(&u.last[u.last.len() - 2..]), t("example.com")])])));
    cs.push(case("regexp_substr and regexp_count", "REGEXP_SUBSTR function",
        "select regexp_substr(email, '@[^.]*'), regexp_count(email, 'e') from users where userid = 1",
        Expect::Rows(vec![row([t("@example"), t(u.email.matches('e').count())])])));
    let title = |s: &str| -> String {
        s.split(' ')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    cs.push(case("initcap, lpad, reverse", "String functions",
        "select initcap(lower(city)), lpad(userid::varchar, 6, '0'), reverse(firstname) from users where userid = 1",
        Expect::Rows(vec![row([title(&u.city.to_lowercase()), t("000001"), u.first.chars().rev().collect()])])));
    cs.push(case("decode and nvl", "DECODE function",
        "select decode(catgroup, 'Sports', 1, 'Shows', 2, 3), nvl(null, catname) from category where catid = 6",
        Expect::Rows(vec![row([t(2), t("Musicals")])])));
    let likes = db.users.iter().filter(|u| u.likes[0] == Some(true)).count();
    let unknown = db.users.iter().filter(|u| u.likes[0].is_none()).count();
    cs.push(case(
        "nvl2 over a boolean with NULLs",
        "NVL2 function",
        "select nvl2(likesports, 'known', 'unknown') k, count(*) from users group by k order by k",
        Expect::Rows(vec![
            row([t("known"), t(db.users.len() - unknown)]),
            row([t("unknown"), t(unknown)]),
        ]),
    ));
    cs.push(case(
        "a boolean column as a condition",
        "Boolean type",
        "select count(*) from users where likesports",
        Expect::Rows(vec![vec![t(likes)]]),
    ));
}

fn syntax(db: &Tickit, cs: &mut Vec<Case>) {
    let mut prices: Vec<i64> = db.sales.iter().map(|s| s.paid).collect();
    prices.sort_by(|a, b| b.cmp(a));
    cs.push(case(
        "select top",
        "SELECT list (TOP)",
        "select top 3 pricepaid from sales order by pricepaid desc",
        Expect::Rows(prices.iter().take(3).map(|p| vec![money(*p)]).collect()),
    ));
    let mut unsold: Vec<i32> = db
        .events
        .iter()
        .map(|e| e.id)
        .filter(|id| !db.sales.iter().any(|s| s.event == *id))
        .collect();
    unsold.sort();
    cs.push(case(
        "minus",
        "UNION, INTERSECT, and EXCEPT",
        "select eventid from event minus select eventid from sales order by 1",
        Expect::Rows(unsold.iter().map(|e| vec![t(e)]).collect()),
    ));
    let top = db.sales.iter().max_by_key(|s| (s.paid, -s.id)).unwrap();
    cs.push(case("qualify", "QUALIFY clause",
        "select salesid from sales qualify row_number() over (order by pricepaid desc, salesid) = 1",
        Expect::Rows(vec![vec![t(top.id)]])));
    cs.push(case("pivot", "PIVOT and UNPIVOT examples",
        "select * from (select catgroup, catid from category) pivot (count(catid) for catgroup in ('Sports', 'Shows', 'Concerts'))",
        Expect::Rows(vec![row([t(5), t(3), t(3)])])));
    cs.push(case(
        "create table like",
        "CREATE TABLE (LIKE)",
        "create table venue_copy (like venue)",
        Expect::Done,
    ));
}

/// Loads with the `COPY` options of the SQL reference's "COPY examples" beyond the tutorial's, each with the data
/// file it reads (object key, body) and the cases that check what it loaded.
pub(crate) fn option_loads(db: &Tickit, bucket: &str) -> (Vec<(String, String)>, Vec<Case>) {
    const COPY: &str = "COPY examples";
    let mut files = Vec::new();
    let mut cs = Vec::new();
    let copy = |table: &str, key: &str, options: &str| {
        format!("copy {table} from 's3://{bucket}/{key}' {CREDENTIALS} {options}")
    };
    // TIMEFORMAT 'epochsecs'.
    let five = &db.events[..5];
    files.push((
        "extra/events_epoch.txt".to_string(),
        five.iter()
            .map(|e| {
                format!(
                    "{}|{}|{}|{}|{}|{}\n",
                    e.id,
                    e.venue,
                    e.cat,
                    e.date,
                    e.name,
                    e.start.and_utc().timestamp()
                )
            })
            .collect(),
    ));
    cs.push(case(
        "create event_epoch",
        COPY,
        "create table event_epoch (like event)",
        Expect::Done,
    ));
    cs.push(case(
        "copy with timeformat 'epochsecs'",
        COPY,
        copy(
            "event_epoch",
            "extra/events_epoch.txt",
            "delimiter '|' timeformat 'epochsecs'",
        ),
        Expect::Loaded(5),
    ));
    cs.push(case(
        "what timeformat 'epochsecs' loaded",
        COPY,
        "select starttime from event_epoch order by eventid",
        Expect::Rows(five.iter().map(|e| vec![ts(e.start)]).collect()),
    ));
    // DATEFORMAT with an explicit pattern.
    let ten = &db.days[..10];
    files.push((
        "extra/dates_us.txt".to_string(),
        ten.iter()
            .map(|d| {
                let c = d.caldate;
                format!("{}|{}|XX|1|JAN|1|2008|false\n", d.id, c.format("%m/%d/%Y"))
            })
            .collect(),
    ));
    cs.push(case(
        "create date_us",
        COPY,
        "create table date_us (like date)",
        Expect::Done,
    ));
    cs.push(case(
        "copy with dateformat 'MM/DD/YYYY'",
        COPY,
        copy(
            "date_us",
            "extra/dates_us.txt",
            "delimiter '|' dateformat 'MM/DD/YYYY'",
        ),
        Expect::Loaded(10),
    ));
    cs.push(case(
        "what dateformat loaded",
        COPY,
        "select caldate from date_us order by dateid",
        Expect::Rows(ten.iter().map(|d| vec![t(d.caldate)]).collect()),
    ));
    // MANIFEST.
    let line = |c: &(i32, &str, &str, &str)| format!("{}|{}|{}|{}\n", c.0, c.1, c.2, c.3);
    files.push((
        "extra/cat1.txt".to_string(),
        CATEGORIES[..6].iter().map(line).collect(),
    ));
    files.push((
        "extra/cat2.txt".to_string(),
        CATEGORIES[6..].iter().map(line).collect(),
    ));
    files.push(("extra/cat.manifest".to_string(), format!(
        r#"{{"entries": [{{"url": "s3://{bucket}/extra/cat1.txt", "mandatory": true}}, {{"url": "s3://{bucket}/extra/cat2.txt", "mandatory": true}}]}}"#)));
    cs.push(case(
        "create category_manifest",
        COPY,
        "create table category_manifest (like category)",
        Expect::Done,
    ));
    cs.push(case(
        "copy with a manifest",
        COPY,
        copy(
            "category_manifest",
            "extra/cat.manifest",
            "delimiter '|' manifest",
        ),
        Expect::Loaded(CATEGORIES.len()),
    ));
    // MAXERROR, and the rejected rows in STL_LOAD_ERRORS.
    files.push((
        "extra/venue_bad.txt".to_string(),
        "1|A|Kent|WA|100\n2|B|Kent|WA|many\n3|C|Kent|WA|300\n4|D|Kent|WA|lots\n5|E|Kent|WA|500\n"
            .to_string(),
    ));
    cs.push(case(
        "create venue_bad",
        COPY,
        "create table venue_bad (like venue)",
        Expect::Done,
    ));
    cs.push(case(
        "copy with maxerror",
        COPY,
        copy(
            "venue_bad",
            "extra/venue_bad.txt",
            "delimiter '|' maxerror 5",
        ),
        Expect::Loaded(3),
    ));
    cs.push(case("stl_load_errors holds the rejected rows", "STL_LOAD_ERRORS",
        "select line_number, trim(colname) from stl_load_errors where filename like '%venue_bad%' order by line_number",
        Expect::Rows(vec![row([t(2), t("venueseats")]), row([t(4), t("venueseats")])])));
    (files, cs)
}
