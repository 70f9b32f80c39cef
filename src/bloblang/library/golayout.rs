//! Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`): formatting and parsing with Go's
//! semantics and error texts, plus Go's `time.ParseDuration`.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Timelike};

use super::helpers::go_quote;

pub const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Lit(String),
    Year4,
    Year2,
    Month,
    Month2,
    MonthShort,
    MonthLong,
    Day,
    Day2,
    DayUnder,
    YDay3,
    YDayUnder,
    Hour,
    Hour12,
    Hour12Zero,
    Min,
    Min2,
    Sec,
    Sec2,
    PmUpper,
    PmLower,
    WeekShort,
    WeekLong,
    ZoneName,
    /// Numeric zone: `z` says whether `Z` stands for UTC; `colons` and `parts` (1 = hours,
    /// 2 = hours and minutes, 3 = with seconds) give the shape.
    Zone {
        z: bool,
        colons: bool,
        parts: u8,
    },
    /// Fractional seconds: separator, digit count, whether trailing zeros are trimmed (`9`s).
    Frac(char, usize, bool),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Lit(s) => s.clone(),
            Tok::Year4 => "2006".into(),
            Tok::Year2 => "06".into(),
            Tok::Month => "1".into(),
            Tok::Month2 => "01".into(),
            Tok::MonthShort => "Jan".into(),
            Tok::MonthLong => "January".into(),
            Tok::Day => "2".into(),
            Tok::Day2 => "02".into(),
            Tok::DayUnder => "_2".into(),
            Tok::YDay3 => "002".into(),
            Tok::YDayUnder => "__2".into(),
            Tok::Hour => "15".into(),
            Tok::Hour12 => "3".into(),
            Tok::Hour12Zero => "03".into(),
            Tok::Min => "4".into(),
            Tok::Min2 => "04".into(),
            Tok::Sec => "5".into(),
            Tok::Sec2 => "05".into(),
            Tok::PmUpper => "PM".into(),
            Tok::PmLower => "pm".into(),
            Tok::WeekShort => "Mon".into(),
            Tok::WeekLong => "Monday".into(),
            Tok::ZoneName => "MST".into(),
            Tok::Zone { z, colons, parts } => {
                let mut s = String::from(if *z { "Z07" } else { "-07" });
                if *parts >= 2 {
                    s.push_str(if *colons { ":00" } else { "00" });
                }
                if *parts >= 3 {
                    s.push_str(if *colons { ":00" } else { "00" });
                }
                s
            }
            Tok::Frac(sep, n, nine) => {
                let mut s = sep.to_string();
                s.extend(std::iter::repeat_n(if *nine { '9' } else { '0' }, *n));
                s
            }
        }
    }
}

fn tokenize(layout: &str) -> Vec<Tok> {
    let b = layout.as_bytes();
    let mut out: Vec<Tok> = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let starts = |i: usize, p: &str| layout[i..].starts_with(p);
    while i < b.len() {
        let (tok, len): (Option<Tok>, usize) = match b[i] {
            b'J' if starts(i, "January") => (Some(Tok::MonthLong), 7),
            b'J' if starts(i, "Jan") => (Some(Tok::MonthShort), 3),
            b'M' if starts(i, "Monday") => (Some(Tok::WeekLong), 6),
            b'M' if starts(i, "Mon") => (Some(Tok::WeekShort), 3),
            b'M' if starts(i, "MST") => (Some(Tok::ZoneName), 3),
            b'0' if starts(i, "002") => (Some(Tok::YDay3), 3),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => (
                Some(match b[i + 1] {
                    b'1' => Tok::Month2,
                    b'2' => Tok::Day2,
                    b'3' => Tok::Hour12Zero,
                    b'4' => Tok::Min2,
                    b'5' => Tok::Sec2,
                    _ => Tok::Year2,
                }),
                2,
            ),
            b'1' if starts(i, "15") => (Some(Tok::Hour), 2),
            b'1' => (Some(Tok::Month), 1),
            b'2' if starts(i, "2006") => (Some(Tok::Year4), 4),
            b'2' => (Some(Tok::Day), 1),
            b'_' if starts(i, "_2006") => {
                lit.push('_');
                (Some(Tok::Year4), 5)
            }
            b'_' if starts(i, "__2") => (Some(Tok::YDayUnder), 3),
            b'_' if starts(i, "_2") => (Some(Tok::DayUnder), 2),
            b'3' => (Some(Tok::Hour12), 1),
            b'4' => (Some(Tok::Min), 1),
            b'5' => (Some(Tok::Sec), 1),
            b'P' if starts(i, "PM") => (Some(Tok::PmUpper), 2),
            b'p' if starts(i, "pm") => (Some(Tok::PmLower), 2),
            c @ (b'-' | b'Z') => {
                let z = c == b'Z';
                let shapes: [(&str, bool, u8); 5] = [
                    ("070000", false, 3),
                    ("07:00:00", true, 3),
                    ("0700", false, 2),
                    ("07:00", true, 2),
                    ("07", false, 1),
                ];
                match shapes.iter().find(|(s, _, _)| starts(i + 1, s)) {
                    Some((s, colons, parts)) => (
                        Some(Tok::Zone {
                            z,
                            colons: *colons,
                            parts: *parts,
                        }),
                        1 + s.len(),
                    ),
                    None => (None, 1),
                }
            }
            c @ (b'.' | b',') if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    (None, 1)
                } else {
                    (Some(Tok::Frac(c as char, j - i - 1, ch == b'9')), j - i)
                }
            }
            _ => (None, 1),
        };
        match tok {
            Some(t) => {
                if !lit.is_empty() {
                    out.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                out.push(t);
                i += len;
            }
            None => {
                // Push one whole UTF-8 character.
                let ch = layout[i..].chars().next().unwrap_or('?');
                lit.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Format a time with a Go layout. `zone_name` is the zone abbreviation when known (`MST`).
pub fn format(t: &DateTime<FixedOffset>, layout: &str, zone_name: Option<&str>) -> String {
    let mut out = String::new();
    let offset = t.offset().local_minus_utc();
    for tok in tokenize(layout) {
        match tok {
            Tok::Lit(s) => out.push_str(&s),
            Tok::Year4 => {
                let y = t.year();
                if y < 0 {
                    out.push_str(&format!("-{:04}", -y));
                } else {
                    out.push_str(&format!("{y:04}"));
                }
            }
            Tok::Year2 => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            Tok::Month => out.push_str(&t.month().to_string()),
            Tok::Month2 => out.push_str(&format!("{:02}", t.month())),
            Tok::MonthShort => out.push_str(&MONTHS[t.month0() as usize][..3]),
            Tok::MonthLong => out.push_str(MONTHS[t.month0() as usize]),
            Tok::Day => out.push_str(&t.day().to_string()),
            Tok::Day2 => out.push_str(&format!("{:02}", t.day())),
            Tok::DayUnder => out.push_str(&format!("{:>2}", t.day())),
            Tok::YDay3 => out.push_str(&format!("{:03}", t.ordinal())),
            Tok::YDayUnder => out.push_str(&format!("{:>3}", t.ordinal())),
            Tok::Hour => out.push_str(&format!("{:02}", t.hour())),
            Tok::Hour12 | Tok::Hour12Zero => {
                let h = match t.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                if tok == Tok::Hour12 {
                    out.push_str(&h.to_string());
                } else {
                    out.push_str(&format!("{h:02}"));
                }
            }
            Tok::Min => out.push_str(&t.minute().to_string()),
            Tok::Min2 => out.push_str(&format!("{:02}", t.minute())),
            Tok::Sec => out.push_str(&t.second().to_string()),
            Tok::Sec2 => out.push_str(&format!("{:02}", t.second())),
            Tok::PmUpper => out.push_str(if t.hour() >= 12 { "PM" } else { "AM" }),
            Tok::PmLower => out.push_str(if t.hour() >= 12 { "pm" } else { "am" }),
            Tok::WeekShort => out.push_str(&DAYS[t.weekday().num_days_from_sunday() as usize][..3]),
            Tok::WeekLong => out.push_str(DAYS[t.weekday().num_days_from_sunday() as usize]),
            Tok::ZoneName => match zone_name {
                Some(n) if !n.is_empty() => out.push_str(n),
                _ if offset == 0 => out.push_str("UTC"),
                _ => {
                    let m = offset / 60;
                    out.push(if m < 0 { '-' } else { '+' });
                    out.push_str(&format!("{:02}{:02}", m.abs() / 60, m.abs() % 60));
                }
            },
            Tok::Zone { z, colons, parts } => {
                if z && offset == 0 {
                    out.push('Z');
                    continue;
                }
                let a = offset.abs();
                out.push(if offset < 0 { '-' } else { '+' });
                out.push_str(&format!("{:02}", a / 3600));
                let sep = if colons { ":" } else { "" };
                if parts >= 2 {
                    out.push_str(&format!("{sep}{:02}", (a / 60) % 60));
                }
                if parts >= 3 {
                    out.push_str(&format!("{sep}{:02}", a % 60));
                }
            }
            Tok::Frac(sep, n, nine) => {
                let digits = format!("{:09}", t.nanosecond() % 1_000_000_000);
                let mut d = digits[..n.min(9)].to_string();
                if nine {
                    d = d.trim_end_matches('0').to_string();
                    if d.is_empty() {
                        continue;
                    }
                }
                out.push(sep);
                out.push_str(&d);
            }
        }
    }
    out
}

struct ParseErr {
    value_rest: String,
    elem: String,
}

fn lookup(value: &str, names: &[&str], short: bool) -> Option<(usize, usize)> {
    for (i, n) in names.iter().enumerate() {
        let n = if short { &n[..3] } else { n };
        if value.len() >= n.len()
            && value.is_char_boundary(n.len())
            && value[..n.len()].eq_ignore_ascii_case(n)
        {
            return Some((i, n.len()));
        }
    }
    None
}

/// Leading number of 1 or 2 digits (exactly 2 when `fixed`).
fn getnum(value: &str, fixed: bool) -> Option<(u32, &str)> {
    let b = value.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() < 2 || !b[1].is_ascii_digit() {
        if fixed {
            return None;
        }
        return Some(((b[0] - b'0') as u32, &value[1..]));
    }
    Some((((b[0] - b'0') * 10 + (b[1] - b'0')) as u32, &value[2..]))
}

fn getnum3(value: &str, fixed: bool) -> Option<(u32, &str)> {
    let n = value.bytes().take(3).take_while(u8::is_ascii_digit).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    Some((value[..n].parse().ok()?, &value[n..]))
}

fn parse_nanos(digits: &str) -> u32 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

/// Parse a value with a Go layout, with Go's error texts.
pub fn parse(layout: &str, value: &str) -> Result<DateTime<FixedOffset>, String> {
    let toks = tokenize(layout);
    let mut rest = value;
    let (mut year, mut month, mut day, mut yday) = (1i32, -1i32, -1i32, -1i32);
    let (mut hour, mut min, mut sec, mut nsec) = (0u32, 0u32, 0u32, 0u32);
    let (mut pm, mut am) = (false, false);
    let mut offset: Option<i32> = None;
    let range_err = |what: &str| format!("parsing time {}: {what} out of range", go_quote(value));

    let mut idx = 0;
    while idx < toks.len() {
        let tok = &toks[idx];
        idx += 1;
        let before = rest;
        let fail = |r: &str, tok: &Tok| ParseErr {
            value_rest: r.to_string(),
            elem: tok.text(),
        };
        let res: Result<(), ParseErr> = (|| {
            match tok {
                Tok::Lit(l) => {
                    rest = rest
                        .strip_prefix(l.as_str())
                        .ok_or_else(|| fail(before, tok))?;
                }
                Tok::Year4 => {
                    let b = rest.as_bytes();
                    if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) {
                        return Err(fail(before, tok));
                    }
                    year = rest[..4].parse().unwrap_or(0);
                    rest = &rest[4..];
                }
                Tok::Year2 => {
                    let (n, r) = getnum(rest, true).ok_or_else(|| fail(before, tok))?;
                    year = if n >= 69 {
                        1900 + n as i32
                    } else {
                        2000 + n as i32
                    };
                    rest = r;
                }
                Tok::Month | Tok::Month2 => {
                    let (n, r) =
                        getnum(rest, *tok == Tok::Month2).ok_or_else(|| fail(before, tok))?;
                    month = n as i32;
                    rest = r;
                }
                Tok::MonthShort | Tok::MonthLong => {
                    let (i, l) = lookup(rest, &MONTHS, *tok == Tok::MonthShort)
                        .ok_or_else(|| fail(before, tok))?;
                    month = i as i32 + 1;
                    rest = &rest[l..];
                }
                Tok::WeekShort | Tok::WeekLong => {
                    let (_, l) = lookup(rest, &DAYS, *tok == Tok::WeekShort)
                        .ok_or_else(|| fail(before, tok))?;
                    rest = &rest[l..];
                }
                Tok::Day | Tok::Day2 | Tok::DayUnder => {
                    if *tok == Tok::DayUnder && rest.starts_with(' ') {
                        rest = &rest[1..];
                    }
                    let (n, r) =
                        getnum(rest, *tok == Tok::Day2).ok_or_else(|| fail(before, tok))?;
                    day = n as i32;
                    rest = r;
                }
                Tok::YDay3 | Tok::YDayUnder => {
                    let mut r0 = rest;
                    if *tok == Tok::YDayUnder {
                        r0 = r0.trim_start_matches(' ');
                    }
                    let (n, r) =
                        getnum3(r0, *tok == Tok::YDay3).ok_or_else(|| fail(before, tok))?;
                    yday = n as i32;
                    rest = r;
                }
                Tok::Hour | Tok::Hour12 | Tok::Hour12Zero => {
                    let (n, r) =
                        getnum(rest, *tok == Tok::Hour12Zero).ok_or_else(|| fail(before, tok))?;
                    hour = n;
                    rest = r;
                }
                Tok::Min | Tok::Min2 => {
                    let (n, r) =
                        getnum(rest, *tok == Tok::Min2).ok_or_else(|| fail(before, tok))?;
                    min = n;
                    rest = r;
                }
                Tok::Sec | Tok::Sec2 => {
                    let (n, r) =
                        getnum(rest, *tok == Tok::Sec2).ok_or_else(|| fail(before, tok))?;
                    sec = n;
                    rest = r;
                    // A fractional second in the value without one in the layout.
                    let next_is_frac = matches!(toks.get(idx), Some(Tok::Frac(..)));
                    let b = rest.as_bytes();
                    if !next_is_frac
                        && b.len() >= 2
                        && (b[0] == b'.' || b[0] == b',')
                        && b[1].is_ascii_digit()
                    {
                        let n = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
                        nsec = parse_nanos(&rest[1..1 + n]);
                        rest = &rest[1 + n..];
                    }
                }
                Tok::PmUpper | Tok::PmLower => {
                    if rest.len() < 2 || !rest.is_char_boundary(2) {
                        return Err(fail(before, tok));
                    }
                    let p = &rest[..2];
                    let (pm_s, am_s) = if *tok == Tok::PmUpper {
                        ("PM", "AM")
                    } else {
                        ("pm", "am")
                    };
                    if p == pm_s {
                        pm = true;
                    } else if p == am_s {
                        am = true;
                    } else {
                        return Err(fail(before, tok));
                    }
                    rest = &rest[2..];
                }
                Tok::ZoneName => {
                    if let Some(r) = rest.strip_prefix("UTC") {
                        offset = Some(0);
                        rest = r;
                    } else {
                        let n = rest.bytes().take_while(u8::is_ascii_uppercase).count();
                        if !(3..=5).contains(&n) {
                            return Err(fail(before, tok));
                        }
                        offset.get_or_insert(0);
                        rest = &rest[n..];
                    }
                }
                Tok::Zone { z, colons, parts } => {
                    if *z && rest.starts_with('Z') {
                        offset = Some(0);
                        rest = &rest[1..];
                        return Ok(());
                    }
                    let b = rest.as_bytes();
                    let need = 3
                        + if *parts >= 2 { 2 + *colons as usize } else { 0 }
                        + if *parts >= 3 { 2 + *colons as usize } else { 0 };
                    if b.len() < need || (b[0] != b'+' && b[0] != b'-') {
                        return Err(fail(before, tok));
                    }
                    let digits_at = |i: usize| b[i].is_ascii_digit() && b[i + 1].is_ascii_digit();
                    let num_at = |i: usize| ((b[i] - b'0') * 10 + (b[i + 1] - b'0')) as i32;
                    if !digits_at(1) {
                        return Err(fail(before, tok));
                    }
                    let mut pos = 3;
                    for _ in 1..*parts {
                        if *colons {
                            if b[pos] != b':' {
                                return Err(fail(before, tok));
                            }
                            pos += 1;
                        }
                        if !digits_at(pos) {
                            return Err(fail(before, tok));
                        }
                        pos += 2;
                    }
                    let hh = num_at(1);
                    let mut p = 3;
                    let mut mm = 0;
                    let mut ss = 0;
                    if *parts >= 2 {
                        if *colons {
                            p += 1;
                        }
                        mm = num_at(p);
                        p += 2;
                    }
                    if *parts >= 3 {
                        if *colons {
                            p += 1;
                        }
                        ss = num_at(p);
                    }
                    let total = hh * 3600 + mm * 60 + ss;
                    offset = Some(if b[0] == b'-' { -total } else { total });
                    rest = &rest[pos..];
                }
                Tok::Frac(_, n, nine) => {
                    let b = rest.as_bytes();
                    if *nine {
                        if b.len() < 2 || !(b[0] == b'.' || b[0] == b',') || !b[1].is_ascii_digit()
                        {
                            return Ok(());
                        }
                        let k = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
                        nsec = parse_nanos(&rest[1..1 + k]);
                        rest = &rest[1 + k..];
                    } else {
                        if b.len() < 1 + n
                            || !(b[0] == b'.' || b[0] == b',')
                            || !b[1..1 + n].iter().all(u8::is_ascii_digit)
                        {
                            return Err(fail(before, tok));
                        }
                        nsec = parse_nanos(&rest[1..1 + n]);
                        rest = &rest[1 + n..];
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = res {
            return Err(format!(
                "parsing time {} as {}: cannot parse {} as {}",
                go_quote(value),
                go_quote(layout),
                go_quote(&e.value_rest),
                go_quote(&e.elem)
            ));
        }
    }
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            go_quote(value),
            go_quote(rest)
        ));
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if hour > 23 {
        return Err(range_err("hour"));
    }
    if min > 59 {
        return Err(range_err("minute"));
    }
    if sec > 59 {
        return Err(range_err("second"));
    }
    if yday >= 0 {
        let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
        if yday < 1 || yday > if leap { 366 } else { 365 } {
            return Err(range_err("day-of-year"));
        }
        let d =
            NaiveDate::from_yo_opt(year, yday as u32).ok_or_else(|| range_err("day-of-year"))?;
        if month < 0 {
            month = d.month() as i32;
        }
        if day < 0 {
            day = d.day() as i32;
        }
    }
    if month < 0 {
        month = 1;
    }
    if day < 0 {
        day = 1;
    }
    if !(1..=12).contains(&month) {
        return Err(range_err("month"));
    }
    let date =
        NaiveDate::from_ymd_opt(year, month as u32, day as u32).ok_or_else(|| range_err("day"))?;
    let naive = date
        .and_hms_nano_opt(hour, min, sec, nsec)
        .ok_or_else(|| range_err("second"))?;
    let off = FixedOffset::east_opt(offset.unwrap_or(0)).ok_or_else(|| range_err("zone offset"))?;
    off.from_local_datetime(&naive)
        .single()
        .ok_or_else(|| range_err("time"))
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(s));
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut total_i: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let fl = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..fl];
            rest = &r[fl..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(s)));
        }
        let mult: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(s)
                ))
            }
        };
        let iv: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        total_i = iv
            .checked_mul(mult)
            .and_then(|x| x.checked_add(total_i))
            .ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let f: f64 = format!("0.{frac_part}").parse().map_err(|_| invalid())?;
            total += f * mult as f64;
        }
        if total_i > i64::MAX as i128 {
            return Err(invalid());
        }
    }
    let ns = total_i + total as i128;
    if ns > i64::MAX as i128 {
        return Err(invalid());
    }
    Ok(if neg { -(ns as i64) } else { ns as i64 })
}

/// Add years, months and days the way Go's `Time.AddDate` does (overflowing days roll over).
pub fn add_date(
    t: &DateTime<FixedOffset>,
    years: i64,
    months: i64,
    days: i64,
) -> Option<DateTime<FixedOffset>> {
    let total_months = (t.year() as i64 * 12 + t.month0() as i64)
        .checked_add(years.checked_mul(12)?)?
        .checked_add(months)?;
    let y = i32::try_from(total_months.div_euclid(12)).ok()?;
    let m = total_months.rem_euclid(12) as u32 + 1;
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let offset_days = (t.day() as i64 - 1).checked_add(days)?;
    let date = first.checked_add_signed(Duration::try_days(offset_days)?)?;
    let naive = date.and_time(t.time());
    t.offset().from_local_datetime(&naive).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(layout: &str, v: &str) -> String {
        match parse(layout, v) {
            Ok(t) => format(&t, RFC3339_NANO, None),
            Err(e) => e,
        }
    }

    #[test]
    fn parse_and_format() {
        assert_eq!(p("2006-Jan-02", "2020-Aug-14"), "2020-08-14T00:00:00Z");
        assert_eq!(
            p(RFC3339_NANO, "2020-08-14T11:50:26.371Z"),
            "2020-08-14T11:50:26.371Z"
        );
        assert_eq!(
            p(RFC3339_NANO, "2021-02-03T17:05:06+01:00"),
            "2021-02-03T17:05:06+01:00"
        );
        assert_eq!(
            p("2006-01-02 15:04:05 MST", "2021-02-03 17:05:06 UTC"),
            "2021-02-03T17:05:06Z"
        );
        assert_eq!(
            p("Jan _2 3:04PM", "Feb  3 5:06PM"),
            "0000-02-03T17:06:00Z".replace("0000", "0001")
        );
        assert_eq!(
            p("2006-01-02", "2020-Aug-14"),
            "parsing time \"2020-Aug-14\" as \"2006-01-02\": cannot parse \"Aug-14\" as \"01\""
        );
        assert_eq!(
            p("2006-01-02", "2020-08-14x"),
            "parsing time \"2020-08-14x\": extra text: \"x\""
        );
        assert_eq!(
            p("2006-01-02", "2020-13-14"),
            "parsing time \"2020-13-14\": month out of range"
        );
        assert_eq!(
            p("2006-01-02", "2021-02-30"),
            "parsing time \"2021-02-30\": day out of range"
        );
        let t = parse(RFC3339_NANO, "2020-08-14T11:50:26.371Z").unwrap();
        assert_eq!(
            format(&t, "2006-Jan-02 15:04:05", None),
            "2020-Aug-14 11:50:26"
        );
        assert_eq!(
            format(&t, "2006-Jan-02 15:04:05.999999", None),
            "2020-Aug-14 11:50:26.371"
        );
        assert_eq!(format(&t, "15:04:05.000000", None), "11:50:26.371000");
        assert_eq!(
            format(&t, "Mon Monday January 3PM pm 002 MST -0700 Z07:00", None),
            "Fri Friday August 11AM am 227 UTC +0000 Z"
        );
        let t2 = parse(RFC3339_NANO, "2021-02-03T17:05:06-05:30").unwrap();
        assert_eq!(format(&t2, "MST Z07:00 -07", None), "-0530 -05:30 -05");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("50us"), Ok(50_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000_000_000));
        assert_eq!(parse_duration("-1.5h"), Ok(-5_400_000_000_000));
        assert_eq!(parse_duration("2h45m0.5s"), Ok(9_900_500_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("1"),
            Err("time: missing unit in duration \"1\"".into())
        );
        assert_eq!(
            parse_duration("1x"),
            Err("time: unknown unit \"x\" in duration \"1x\"".into())
        );
        assert_eq!(
            parse_duration(""),
            Err("time: invalid duration \"\"".into())
        );
    }

    #[test]
    fn add_dates() {
        let t = parse(RFC3339_NANO, "2021-01-31T10:00:00Z").unwrap();
        let r = add_date(&t, 0, 1, 0).unwrap();
        assert_eq!(format(&r, RFC3339_NANO, None), "2021-03-03T10:00:00Z");
    }
}
