//! The TICKIT sample database of Amazon Redshift's getting-started guide, generated in the shapes of the
//! tutorial's files (Getting Started Guide, "Step 4: Load data from Amazon S3 to Amazon Redshift"; the tables are
//! described in the Database Developer Guide, "Sample database"): the same seven tables, columns and delimiters,
//! `sales_tab.txt` tab-separated with `MM/DD/YYYY HH:MI:SS` times, empty boolean fields where the real
//! `allusers_pipe.txt` has them. The rows are seeded, so every answer the corpus expects is computed here from the
//! very rows that were loaded.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

/// The tutorial's DDL, as the guide writes it (distribution and sort keys included).
pub(crate) const DDL: &[(&str, &str)] = &[
    (
        "users",
        "create table users(
	userid integer not null distkey sortkey,
	username char(8),
	firstname varchar(30),
	lastname varchar(30),
	city varchar(30),
	state char(2),
	email varchar(100),
	phone char(14),
	likesports boolean,
	liketheatre boolean,
	likeconcerts boolean,
	likejazz boolean,
	likeclassical boolean,
	likeopera boolean,
	likerock boolean,
	likevegas boolean,
	likebroadway boolean,
	likemusicals boolean)",
    ),
    (
        "venue",
        "create table venue(
	venueid smallint not null distkey sortkey,
	venuename varchar(100),
	venuecity varchar(30),
	venuestate char(2),
	venueseats integer)",
    ),
    (
        "category",
        "create table category(
	catid smallint not null distkey sortkey,
	catgroup varchar(10),
	catname varchar(10),
	catdesc varchar(50))",
    ),
    (
        "date",
        "create table date(
	dateid smallint not null distkey sortkey,
	caldate date not null,
	day character(3) not null,
	week smallint not null,
	month character(5) not null,
	qtr character(5) not null,
	year smallint not null,
	holiday boolean default('N'))",
    ),
    (
        "event",
        "create table event(
	eventid integer not null distkey,
	venueid smallint not null,
	catid smallint not null,
	dateid smallint not null sortkey,
	eventname varchar(200),
	starttime timestamp)",
    ),
    (
        "listing",
        "create table listing(
	listid integer not null distkey,
	sellerid integer not null,
	eventid integer not null,
	dateid smallint not null  sortkey,
	numtickets smallint not null,
	priceperticket decimal(8,2),
	totalprice decimal(8,2),
	listtime timestamp)",
    ),
    (
        "sales",
        "create table sales(
	salesid integer not null,
	listid integer not null distkey,
	sellerid integer not null,
	buyerid integer not null,
	eventid integer not null,
	dateid smallint not null sortkey,
	qtysold smallint not null,
	pricepaid decimal(8,2),
	commission decimal(8,2),
	saletime timestamp)",
    ),
];

/// The tutorial's loads: table, object key, and the options after the authorization, as the guide writes them.
pub(crate) const LOADS: &[(&str, &str, &str)] = &[
    ("users", "tickit/allusers_pipe.txt", "delimiter '|'"),
    ("venue", "tickit/venue_pipe.txt", "delimiter '|'"),
    ("category", "tickit/category_pipe.txt", "delimiter '|'"),
    ("date", "tickit/date2008_pipe.txt", "delimiter '|'"),
    (
        "event",
        "tickit/allevents_pipe.txt",
        "delimiter '|' timeformat 'YYYY-MM-DD HH:MI:SS'",
    ),
    ("listing", "tickit/listings_pipe.txt", "delimiter '|'"),
    (
        "sales",
        "tickit/sales_tab.txt",
        "delimiter '\\t' timeformat 'MM/DD/YYYY HH:MI:SS'",
    ),
];

/// A user; `likes` are the ten `like*` columns, `None` where the file leaves the field empty.
pub(crate) struct User {
    pub(crate) id: i32,
    pub(crate) username: String,
    pub(crate) first: String,
    pub(crate) last: String,
    pub(crate) city: String,
    pub(crate) state: &'static str,
    pub(crate) email: String,
    pub(crate) likes: [Option<bool>; 10],
}

/// A venue.
pub(crate) struct Venue {
    pub(crate) id: i32,
    pub(crate) name: String,
}

/// A row of `date`.
pub(crate) struct Day {
    pub(crate) id: i32,
    pub(crate) caldate: NaiveDate,
}

/// An event.
pub(crate) struct Event {
    pub(crate) id: i32,
    pub(crate) venue: i32,
    pub(crate) cat: i32,
    pub(crate) date: i32,
    pub(crate) name: String,
    pub(crate) start: NaiveDateTime,
}

/// A listing; money in cents.
pub(crate) struct Listing {
    pub(crate) id: i32,
    pub(crate) seller: i32,
    pub(crate) event: i32,
    pub(crate) date: i32,
    pub(crate) tickets: i32,
    pub(crate) price: i64,
    pub(crate) time: NaiveDateTime,
}

/// A sale; money in cents.
pub(crate) struct Sale {
    pub(crate) id: i32,
    pub(crate) list: i32,
    pub(crate) seller: i32,
    pub(crate) buyer: i32,
    pub(crate) event: i32,
    pub(crate) date: i32,
    pub(crate) qty: i32,
    pub(crate) paid: i64,
    pub(crate) commission: i64,
    pub(crate) time: NaiveDateTime,
}

/// The category table as the tutorial's `category_pipe.txt` holds it (id, group, name, description).
pub(crate) const CATEGORIES: &[(i32, &str, &str, &str)] = &[
    (1, "Sports", "MLB", "Major League Baseball"),
    (2, "Sports", "NHL", "National Hockey League"),
    (3, "Sports", "NFL", "National Football League"),
    (4, "Sports", "NBA", "National Basketball Association"),
    (5, "Sports", "MLS", "Major League Soccer"),
    (6, "Shows", "Musicals", "Musical theatre"),
    (7, "Shows", "Plays", "All non-musical theatre"),
    (8, "Shows", "Opera", "All opera and light opera"),
    (9, "Concerts", "Pop", "All rock and pop music concerts"),
    (10, "Concerts", "Jazz", "All jazz singers and bands"),
    (
        11,
        "Concerts",
        "Classical",
        "All symphony, concerto, and choir concerts",
    ),
];

const CITIES: &[(&str, &str)] = &[
    ("San Diego", "CA"),
    ("Kent", "WA"),
    ("Augusta", "ME"),
    ("Chicago", "IL"),
    ("New York", "NY"),
    ("Austin", "TX"),
];
const FIRST: &[&str] = &[
    "Rafael", "Vladimir", "Lars", "Barry", "Reagan", "Tamekah", "Julie", "Axel",
];
const LAST: &[&str] = &[
    "Taylor", "Humphrey", "Ratliff", "Roy", "Hodge", "Juarez", "Hanson", "Grant",
];

/// The first `dateid` of 2008 in the real file.
pub(crate) const FIRST_DATEID: i32 = 1827;

/// The whole database.
pub(crate) struct Tickit {
    pub(crate) users: Vec<User>,
    pub(crate) venues: Vec<Venue>,
    pub(crate) days: Vec<Day>,
    pub(crate) events: Vec<Event>,
    pub(crate) listings: Vec<Listing>,
    pub(crate) sales: Vec<Sale>,
}

/// splitmix64: enough randomness for test data, and the same rows for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.range(0, xs.len() as i64 - 1) as usize]
    }
}

impl Tickit {
    /// The database for `seed`, with the sizes given (small enough for CI, large enough that every query of the
    /// corpus has ties, groups and empty fields to get right).
    pub(crate) fn generate(seed: u64) -> Tickit {
        let mut r = Rng(seed);
        let letters = |r: &mut Rng, n: usize| -> String {
            (0..n)
                .map(|_| (b'A' + r.range(0, 25) as u8) as char)
                .collect()
        };
        let users: Vec<User> = (1..=500)
            .map(|id| {
                let (city, state) = *r.pick(CITIES);
                let first = r.pick(FIRST).to_string();
                let last = r.pick(LAST).to_string();
                let username = format!(
                    "{}{:02}{}",
                    letters(&mut r, 3),
                    r.range(0, 99),
                    letters(&mut r, 3)
                );
                let mut likes = [None; 10];
                for l in likes.iter_mut() {
                    *l = match r.range(0, 2) {
                        0 => None,
                        1 => Some(true),
                        _ => Some(false),
                    };
                }
                User {
                    id,
                    email: format!(
                        "{}.{}{id}@example.com",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ),
                    username,
                    first,
                    last,
                    city: city.to_string(),
                    state,
                    likes,
                }
            })
            .collect();
        let venues: Vec<Venue> = (1..=50)
            .map(|id| Venue {
                id,
                name: format!("Venue {id} Arena"),
            })
            .collect();
        let start = NaiveDate::from_ymd_opt(2008, 1, 1).unwrap();
        let days: Vec<Day> = (0..366)
            .map(|i| Day {
                id: FIRST_DATEID + i,
                caldate: start + Duration::days(i as i64),
            })
            .collect();
        let at = |day: &Day, secs: i64| {
            day.caldate.and_hms_opt(0, 0, 0).unwrap() + Duration::seconds(secs)
        };
        let events: Vec<Event> = (1..=300)
            .map(|id| {
                let day = &days[r.range(30, 365) as usize];
                Event {
                    id,
                    venue: r.range(1, 50) as i32,
                    cat: r.range(1, 11) as i32,
                    date: day.id,
                    name: format!(
                        "{} {id}",
                        r.pick(&["Gotterdammerung", "Mamma Mia!", "Jersey Boys", "Macbeth"])
                    ),
                    start: at(day, r.range(12, 22) * 3600 + r.range(0, 1) * 1800),
                }
            })
            .collect();
        let listings: Vec<Listing> = (1..=1000)
            .map(|id| {
                let event = &events[r.range(0, events.len() as i64 - 1) as usize];
                let day = &days[(event.date - FIRST_DATEID - r.range(0, 29) as i32) as usize];
                Listing {
                    id,
                    seller: r.range(1, 500) as i32,
                    event: event.id,
                    date: day.id,
                    tickets: r.range(1, 30) as i32,
                    price: r.range(2000, 200_000),
                    time: at(day, r.range(0, 86_399)),
                }
            })
            .collect();
        let sales: Vec<Sale> = (1..=2000)
            .map(|id| {
                let l = &listings[r.range(0, listings.len() as i64 - 1) as usize];
                let offset = r.range(0, 10) as i32;
                let date = (l.date + offset).min(FIRST_DATEID + 365);
                let day = &days[(date - FIRST_DATEID) as usize];
                let qty = r.range(1, 8.min(l.tickets as i64)) as i32;
                let paid = l.price * qty as i64;
                Sale {
                    id,
                    list: l.id,
                    seller: l.seller,
                    buyer: r.range(1, 500) as i32,
                    event: l.event,
                    date,
                    qty,
                    paid,
                    // 15 % commission, rounded half up to the cent.
                    commission: (paid * 15 + 50) / 100,
                    time: at(day, r.range(0, 86_399)),
                }
            })
            .collect();
        Tickit {
            users,
            venues,
            days,
            events,
            listings,
            sales,
        }
    }

    /// The data files, by object key, in the tutorial's formats.
    pub(crate) fn files(&self) -> Vec<(&'static str, String)> {
        let b = |v: Option<bool>| v.map(|b| if b { "TRUE" } else { "FALSE" }).unwrap_or("");
        let users = self.users.iter().map(|u| {
            let likes: Vec<&str> = u.likes.iter().map(|l| b(*l)).collect();
            format!(
                "{}|{}|{}|{}|{}|{}|{}|(664) 602-{:04}|{}\n",
                u.id,
                u.username,
                u.first,
                u.last,
                u.city,
                u.state,
                u.email,
                u.id,
                likes.join("|")
            )
        });
        let venues = self.venues.iter().map(|v| {
            let (city, state) = CITIES[v.id as usize % CITIES.len()];
            format!(
                "{}|{}|{city}|{state}|{}\n",
                v.id,
                v.name,
                if v.id % 5 == 0 {
                    0
                } else {
                    10_000 + v.id * 100
                }
            )
        });
        let categories = CATEGORIES
            .iter()
            .map(|(id, g, n, d)| format!("{id}|{g}|{n}|{d}\n"));
        let days = self.days.iter().map(|d| {
            let c = d.caldate;
            let day = &c.weekday().to_string()[..2].to_uppercase();
            let month = c.format("%b").to_string().to_uppercase();
            format!(
                "{}|{c}|{day}|{}|{month}|{}|2008|{}\n",
                d.id,
                c.iso_week().week(),
                (c.month() - 1) / 3 + 1,
                if c.ordinal() == 1 || (c.month() == 7 && c.day() == 4) {
                    "true"
                } else {
                    "false"
                }
            )
        });
        let events = self.events.iter().map(|e| {
            format!(
                "{}|{}|{}|{}|{}|{}\n",
                e.id,
                e.venue,
                e.cat,
                e.date,
                e.name,
                e.start.format("%Y-%m-%d %H:%M:%S")
            )
        });
        let listings = self.listings.iter().map(|l| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}\n",
                l.id,
                l.seller,
                l.event,
                l.date,
                l.tickets,
                money(l.price),
                money(l.price * l.tickets as i64),
                l.time.format("%Y-%m-%d %H:%M:%S")
            )
        });
        let sales = self.sales.iter().map(|s| {
            // The real file writes month and day unpadded: `2/18/2008 02:36:48`.
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                s.id,
                s.list,
                s.seller,
                s.buyer,
                s.event,
                s.date,
                s.qty,
                money(s.paid),
                money(s.commission),
                s.time.format("%-m/%-d/%Y %H:%M:%S")
            )
        });
        vec![
            ("tickit/allusers_pipe.txt", users.collect()),
            ("tickit/venue_pipe.txt", venues.collect()),
            ("tickit/category_pipe.txt", categories.collect()),
            ("tickit/date2008_pipe.txt", days.collect()),
            ("tickit/allevents_pipe.txt", events.collect()),
            ("tickit/listings_pipe.txt", listings.collect()),
            ("tickit/sales_tab.txt", sales.collect()),
        ]
    }

    /// Rows each load must report.
    pub(crate) fn count(&self, table: &str) -> usize {
        match table {
            "users" => self.users.len(),
            "venue" => self.venues.len(),
            "category" => CATEGORIES.len(),
            "date" => self.days.len(),
            "event" => self.events.len(),
            "listing" => self.listings.len(),
            "sales" => self.sales.len(),
            other => panic!("no table {other}"),
        }
    }

    /// The date of a `dateid`.
    pub(crate) fn caldate(&self, dateid: i32) -> NaiveDate {
        self.days[(dateid - FIRST_DATEID) as usize].caldate
    }
}

/// Cents as Redshift prints a `decimal(8,2)`.
pub(crate) fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A timestamp as the Data API returns it.
pub(crate) fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
