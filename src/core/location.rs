//! Where a Chinese phone number is from (归属地): province, city and, for mobiles,
//! the carrier, for the screen pop (S12).
//!
//! Owns the number's normalisation and the lookup over `data/number-location.tsv`,
//! libphonenumber's zh geocoding and carrier data for +86 (Apache-2.0, from the PyPI
//! package `phonenumbers`; `tools/gen-number-location.py` writes it, and its header
//! names the version). The table is embedded in the binary, so the daemon needs no
//! data file; it is read once, on the first lookup. Pure: no I/O, no clock.
//!
//! The table maps the first seven digits of the national number (no `+86`, no
//! trunk `0`) to a place and a carrier as sorted ranges, so a lookup is one binary
//! search over about 80 000 starts: the longest-prefix match libphonenumber makes,
//! flattened by the generator, which checks its table against the package for every
//! prefix the package has. Speed: about 0.15 µs a lookup (normalising included);
//! the first one also reads the table, about 8 ms. Measured once in a release build
//! by timing a million `lookup` calls over a thousand varied mobiles and fixed lines
//! with `Instant` from a scratch test, not kept: there is no timed test.

use std::sync::LazyLock;

/// The generated table (see the module doc and the file's own header).
const TABLE_TEXT: &str = include_str!("../../data/number-location.tsv");

/// How many leading digits of the national number the table keys on.
const WIDTH: usize = 7;

/// "None" in a range's place or carrier.
const NONE: u16 = u16::MAX;

/// What kind of number it is, from its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Eleven digits from 13 to 19.
    Mobile,
    /// An area code (written with its trunk `0` or after `+86`) and a subscriber.
    Fixed,
    /// Anything else: a local number without area code, a service number, a number
    /// of another country.
    Unknown,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mobile => "mobile",
            Kind::Fixed => "fixed",
            Kind::Unknown => "unknown",
        }
    }
}

/// What is known of a number's origin. Province and city come split: "广东省",
/// "深圳市"; a municipality is both ("北京市", "北京市"); several cities sharing an
/// area code stay one string ("沈阳市、铁岭市、抚顺市").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The number as read: a mobile's 11 digits, a fixed line with its `0`
    /// ("075588888888"), otherwise the digits given (`+` and country code for
    /// another country's).
    pub number: String,
    pub kind: Kind,
    pub province: Option<&'static str>,
    pub city: Option<&'static str>,
    /// Mobiles only: "中国移动", "中国联通", "中国电信", "中国广电".
    pub carrier: Option<&'static str>,
}

/// The text is not a phone number: a character other than digits, spaces, dashes,
/// dots, brackets and a leading `+`, or no digits, or more than 20.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotANumber;

impl std::fmt::Display for NotANumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("expected a phone number: digits, with spaces, dashes or a leading +")
    }
}

impl std::error::Error for NotANumber {}

/// A number made canonical: its national significant number if it is Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalised {
    /// See [`Location::number`].
    pub number: String,
    pub kind: Kind,
    /// The national significant number (no `+86`, no `0`) for mobiles and fixed
    /// lines; empty for `Unknown`.
    pub national: String,
}

/// Reads `input` as a Chinese number: strips separators, a country prefix (`+86`,
/// `0086`, or a bare `86` before 10 or 11 digits) and a fixed line's trunk `0`;
/// a mobile is 11 digits starting 13-19 (also written with a `0` in front, as
/// PBXs dial other cities' mobiles); a fixed line is 9 to 11 digits with its area
/// code, given with the `0` or after the country code. Anything else is `Unknown`.
pub fn normalise(input: &str) -> Result<Normalised, NotANumber> {
    let text = input.trim();
    let (plus, text) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut digits = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(NotANumber),
        }
    }
    if digits.is_empty() || digits.len() > 20 {
        return Err(NotANumber);
    }
    let international = if plus {
        Some(digits.as_str())
    } else {
        digits.strip_prefix("00")
    };
    let (national, country_given) = match international {
        Some(rest) => match rest.strip_prefix("86") {
            Some(n) => (n, true),
            None => return Ok(unknown(format!("+{rest}"))),
        },
        // A bare 86: a national number never starts so (mobiles start with 1,
        // fixed lines with 0), but a local one may, so only before a whole number.
        None => match digits.strip_prefix("86") {
            Some(n) if matches!(n.len(), 10 | 11) && !n.starts_with('0') => (n, true),
            _ => (digits.as_str(), false),
        },
    };
    let (national, trunk) = match national.strip_prefix('0') {
        Some(n) => (n, true),
        None => (national, false),
    };
    let b = national.as_bytes();
    let kind = if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        Kind::Mobile
    } else if (trunk || country_given)
        && (9..=11).contains(&b.len())
        && b[0] != b'0'
        // Beijing's 010 is the only area code that starts with 1.
        && (b[0] != b'1' || b[1] == b'0')
    {
        Kind::Fixed
    } else {
        Kind::Unknown
    };
    Ok(match kind {
        Kind::Mobile => Normalised {
            number: national.to_string(),
            kind,
            national: national.to_string(),
        },
        Kind::Fixed => Normalised {
            number: format!("0{national}"),
            kind,
            national: national.to_string(),
        },
        Kind::Unknown => unknown(if plus || international.is_some() {
            format!("+{}", international.unwrap_or(&digits))
        } else {
            digits.clone()
        }),
    })
}

fn unknown(number: String) -> Normalised {
    Normalised {
        number,
        kind: Kind::Unknown,
        national: String::new(),
    }
}

/// Where `input` is from; see [`normalise`] for what it accepts. A number the table
/// does not know (or of `Unknown` kind) has no province or city.
pub fn lookup(input: &str) -> Result<Location, NotANumber> {
    let n = normalise(input)?;
    let (place, carrier) = match n.kind {
        Kind::Unknown => (None, None),
        kind => {
            let (place, carrier) = TABLE.find(&n.national);
            (place, carrier.filter(|_| kind == Kind::Mobile))
        }
    };
    Ok(Location {
        number: n.number,
        kind: n.kind,
        province: place.map(|(p, _)| p),
        city: place.and_then(|(_, c)| (!c.is_empty()).then_some(c)),
        carrier,
    })
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    // The file is generated and tested (`the_embedded_table_reads`); were it ever
    // broken, every number would be unknown rather than the API thread panicking.
    Table::parse(TABLE_TEXT).unwrap_or_default()
});

/// The table read: places and carriers by index, and the ranges as two parallel
/// arrays (starts for the binary search, then what holds from each).
#[derive(Debug, Default)]
struct Table {
    places: Vec<(&'static str, &'static str)>,
    carriers: Vec<&'static str>,
    starts: Vec<u32>,
    values: Vec<(u16, u16)>,
}

/// The line of the embedded table that does not read.
#[derive(Debug, PartialEq, Eq)]
struct BadLine(usize);

impl Table {
    fn parse(text: &'static str) -> Result<Table, BadLine> {
        let mut table = Table::default();
        let mut section = "";
        for (i, line) in text.lines().enumerate() {
            let bad = BadLine(i + 1);
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            if line.starts_with('[') {
                section = line;
                continue;
            }
            match section {
                "[places]" => {
                    let (province, city) = line.split_once('\t').ok_or(bad)?;
                    table.places.push((province, city));
                }
                "[carriers]" => table.carriers.push(line),
                "[ranges]" => {
                    let mut fields = line.split('\t');
                    let (Some(start), Some(place), Some(carrier), None) =
                        (fields.next(), fields.next(), fields.next(), fields.next())
                    else {
                        return Err(bad);
                    };
                    let index = |field: &str, len: usize| match field {
                        "-" => Some(NONE),
                        n => n.parse::<u16>().ok().filter(|&i| usize::from(i) < len),
                    };
                    let start = start
                        .parse::<u32>()
                        .ok()
                        .filter(|_| start.len() == WIDTH)
                        .ok_or(BadLine(i + 1))?;
                    let place = index(place, table.places.len()).ok_or(BadLine(i + 1))?;
                    let carrier = index(carrier, table.carriers.len()).ok_or(BadLine(i + 1))?;
                    if table.starts.last().is_some_and(|&last| last >= start) {
                        return Err(BadLine(i + 1));
                    }
                    table.starts.push(start);
                    table.values.push((place, carrier));
                }
                _ => return Err(bad),
            }
        }
        if table.starts.first() != Some(&0) {
            return Err(BadLine(text.lines().count()));
        }
        Ok(table)
    }

    /// The place and carrier of a national number (digits only).
    fn find(&self, national: &str) -> (Option<(&'static str, &'static str)>, Option<&'static str>) {
        let mut key = 0u32;
        for i in 0..WIDTH {
            let digit = national
                .as_bytes()
                .get(i)
                .map_or(0, |b| b.wrapping_sub(b'0'));
            key = key * 10 + u32::from(digit.min(9));
        }
        // The last range starting at or before the key; the first starts at 0.
        let Some(at) = self.starts.partition_point(|&s| s <= key).checked_sub(1) else {
            return (None, None);
        };
        let (place, carrier) = self.values[at];
        (
            self.places.get(usize::from(place)).copied(),
            self.carriers.get(usize::from(carrier)).copied(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> (String, Kind) {
        let n = normalise(s).unwrap();
        (n.number, n.kind)
    }

    #[test]
    fn the_embedded_table_reads() {
        let table = Table::parse(TABLE_TEXT).unwrap();
        assert!(table.places.len() > 300, "{}", table.places.len());
        assert_eq!(table.carriers.len(), 4);
        assert!(table.starts.len() > 50_000);
    }

    #[test]
    fn country_prefixes_separators_and_trunk_zeros_are_stripped() {
        let mobile = |s| (String::from(s), Kind::Mobile);
        for written in [
            "13900001234",
            "139 0000 1234",
            "139-0000-1234",
            "+8613900001234",
            "+86 139 0000 1234",
            "008613900001234",
            "8613900001234",
            "013900001234",
            " (139) 0000.1234 ",
        ] {
            assert_eq!(norm(written), mobile("13900001234"), "{written}");
        }
        let fixed = |s| (String::from(s), Kind::Fixed);
        for written in [
            "075588888888",
            "0755-8888 8888",
            "+86 755 8888 8888",
            "+86 0755 88888888",
        ] {
            assert_eq!(norm(written), fixed("075588888888"), "{written}");
        }
        assert_eq!(norm("010-8888 8888"), fixed("01088888888"));
        assert_eq!(norm("861088888888"), fixed("01088888888"));
        assert_eq!(norm("0086 21 6666 7777"), fixed("02166667777"));
        assert_eq!(norm("0851-5555555"), fixed("08515555555"));
    }

    #[test]
    fn numbers_that_name_no_place_are_unknown_and_garbage_is_refused() {
        let unknown = |s| (String::from(s), Kind::Unknown);
        // Local numbers without an area code, service numbers, short codes.
        assert_eq!(norm("88888888"), unknown("88888888"));
        assert_eq!(norm("4008001234"), unknown("4008001234"));
        assert_eq!(norm("95555"), unknown("95555"));
        assert_eq!(norm("110"), unknown("110"));
        // Not 11 digits, or not 13-19.
        assert_eq!(norm("1390000123"), unknown("1390000123"));
        assert_eq!(norm("12345678901"), unknown("12345678901"));
        assert_eq!(norm("0123456789"), unknown("0123456789"));
        // Other countries.
        assert_eq!(norm("+1 650 253 0000"), unknown("+16502530000"));
        assert_eq!(norm("00442079460000"), unknown("+442079460000"));
        for garbage in [
            "",
            " ",
            "+",
            "abc",
            "139o0001234",
            "1390000123x",
            "++86139",
            "1".repeat(21).as_str(),
            "１３９",
        ] {
            assert_eq!(normalise(garbage), Err(NotANumber), "{garbage:?}");
        }
    }

    #[test]
    fn unknown_kinds_are_not_looked_up_and_fixed_lines_carry_no_carrier() {
        // 88888888 would match the 0888 area code (丽江) if read as national.
        let local = lookup("88888888").unwrap();
        assert_eq!(
            (local.province, local.city, local.carrier),
            (None, None, None)
        );
        let beijing = lookup("010 6666 7777").unwrap();
        assert_eq!(beijing.province, Some("北京市"));
        assert_eq!(beijing.city, Some("北京市"));
        assert_eq!(beijing.carrier, None);
    }

    #[test]
    fn keys_pad_short_numbers_and_read_no_further_than_seven_digits() {
        let table = Table::parse(TABLE_TEXT).unwrap();
        assert_eq!(table.find("755"), table.find("75588888888"));
        assert_eq!(table.find("1390000"), table.find("13900009999"));
    }
}
