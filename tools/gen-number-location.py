#!/usr/bin/env python3
"""Generates data/number-location.tsv: where a Chinese (+86) number is from (归属地).

The source is libphonenumber's geocoding and carrier data in Chinese (zh), as the
PyPI package `phonenumbers` ships it (Apache License 2.0, The Libphonenumber
Authors). The script downloads exactly the pinned wheel with pip (its hash checked)
into a temporary directory, imports it from there (a pure-Python wheel: no venv and
no install needed), and writes:

  data/number-location.tsv        the table callbox embeds (src/core/location.rs)
  data/number-location.check.tsv  numbers and the package's own answers for them,
                                  which tests/location.rs replays against the Rust lookup

Same package, same bytes: everything is sorted and nothing depends on the clock or
the machine. Before writing, it checks its own table against the package for every
prefix the package has (the first and last number of each prefix's range) and fails
if any answer differs.

Run: python3 tools/gen-number-location.py   (from anywhere; needs pip and network)
To move to a newer package, change VERSION and SHA256 (from PyPI's file list) and run it.
"""

import bisect
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "phonenumbers"
VERSION = "9.0.43"
WHEEL = f"{PACKAGE}-{VERSION}-py2.py3-none-any.whl"
SHA256 = "349bc799f15e010e35bd2c7d28149950ae74479cb1e11fb054ed9a95ecb4b437"
LICENSE = "Apache-2.0"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "data", "number-location.tsv")
CHECK_OUT = os.path.join(ROOT, "data", "number-location.check.tsv")

# The national significant number's first WIDTH digits are the key: the longest
# prefix in the data is 7 digits (mobiles: 1390000).
WIDTH = 7

MUNICIPALITIES = ["北京市", "天津市", "上海市", "重庆市"]
# The package writes provinces with 省 ("广东省深圳市"), sometimes without ("云南怒江"),
# and autonomous regions short ("新疆乌鲁木齐市"), sometimes in full
# ("新疆维吾尔自治区乌鲁木齐市"). The province is given in the form the package
# uses most: 省 for provinces, the short name for autonomous regions.
PROVINCES = [
    "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾",
]
REGIONS = {
    "内蒙古": ["内蒙古自治区"],
    "广西": ["广西壮族自治区"],
    "西藏": ["西藏自治区"],
    "宁夏": ["宁夏回族自治区"],
    "新疆": ["新疆维吾尔自治区"],
}


def split_place(name):
    """(province, city) of a package name; city is "" when the name is a province only."""
    for m in MUNICIPALITIES:
        if name in (m, m[:-1]):
            return m, m
    spellings = []  # (how the name starts, canonical province), longest first
    for p in PROVINCES:
        spellings += [(p + "省", p + "省"), (p, p + "省")]
    for r, long_forms in REGIONS.items():
        spellings += [(f, r) for f in long_forms] + [(r, r)]
    spellings.sort(key=lambda s: -len(s[0]))
    for start, province in spellings:
        if name.startswith(start):
            return province, name[len(start):]
    raise SystemExit(f"gen-number-location: no province in {name!r}; extend PROVINCES")


def fetch(tmp):
    req = os.path.join(tmp, "requirements.txt")
    with open(req, "w") as f:
        f.write(f"{PACKAGE}=={VERSION} --hash=sha256:{SHA256}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary=:all:", "--require-hashes", "-r", req, "-d", tmp],
        check=True,
    )
    unpacked = os.path.join(tmp, "wheel")
    with zipfile.ZipFile(os.path.join(tmp, WHEEL)) as z:
        z.extractall(unpacked)
    sys.path.insert(0, unpacked)
    import phonenumbers  # noqa: E402  (from the wheel just unpacked)

    if phonenumbers.__version__ != VERSION:
        raise SystemExit(f"imported phonenumbers {phonenumbers.__version__}, not {VERSION}")
    return phonenumbers


def prefixes(data):
    """{national prefix: zh name} of the +86 entries that have a zh name.

    An entry without zh is left out: the package's own lookup then falls back to
    the next shorter prefix, and so does ours."""
    out = {}
    for key, names in data.items():
        if key.startswith("86") and "zh" in names:
            nsn = key[2:]
            assert 1 <= len(nsn) <= WIDTH, key
            out[nsn] = names["zh"]
    return out


def flatten(*maps):
    """Sorted [(start, values)]: from `start` up to the next start, the values of the
    longest prefix in each map (None if none), over WIDTH-digit keys."""
    points = {0}
    for m in maps:
        for p in m:
            lo = int(p) * 10 ** (WIDTH - len(p))
            points.add(lo)
            points.add(lo + 10 ** (WIDTH - len(p)))
    points.discard(10**WIDTH)

    def longest(m, key):
        s = f"{key:0{WIDTH}d}"
        for n in range(WIDTH, 0, -1):
            if s[:n] in m:
                return m[s[:n]]
        return None

    ranges = []
    for point in sorted(points):
        values = tuple(longest(m, point) for m in maps)
        if not ranges or ranges[-1][1] != values:
            ranges.append((point, values))
    return ranges


def main():
    with tempfile.TemporaryDirectory(prefix="gen-number-location-") as tmp:
        pn = fetch(tmp)
        from phonenumbers.carrierdata import CARRIER_DATA
        from phonenumbers.geodata import GEOCODE_DATA

        geo = prefixes(GEOCODE_DATA)
        carriers = prefixes(CARRIER_DATA)
        assert not any(p.startswith("10") for p in carriers), "a carrier on Beijing's 010"
        place_of = {name: split_place(name) for name in geo.values()}
        places = sorted(set(place_of.values()))
        carrier_names = sorted(set(carriers.values()))
        place_id = {p: i for i, p in enumerate(places)}
        carrier_id = {c: i for i, c in enumerate(carrier_names)}
        ranges = flatten(
            {p: place_id[place_of[n]] for p, n in geo.items()},
            {p: carrier_id[c] for p, c in carriers.items()},
        )
        text = render(places, carrier_names, ranges)
        table = parse(text)
        check(pn, table, geo, carriers)
        samples = check_file(pn, table, geo)
    write(OUT, text)
    write(CHECK_OUT, samples)
    print(f"{OUT}: {len(text.encode())} bytes, {len(places)} places, "
          f"{len(carrier_names)} carriers, {len(ranges)} ranges; "
          f"{CHECK_OUT}: {sum(not l.startswith('#') for l in samples.splitlines())} numbers")


def header():
    return f"""\
# callbox number-location table: where a Chinese (+86) number is from (归属地).
# Generated by tools/gen-number-location.py from the PyPI package {PACKAGE} {VERSION}
# ({WHEEL}, sha256 {SHA256}):
# libphonenumber's geocoding (geodata) and carrier (carrierdata) data in Chinese (zh),
# Copyright (C) The Libphonenumber Authors, licensed under the Apache License 2.0
# ({LICENSE}, http://www.apache.org/licenses/LICENSE-2.0). Province and city are the
# package's names split in two by the generator. Do not edit: change the pinned
# version in the script and run `python3 tools/gen-number-location.py`.
"""


def render(places, carrier_names, ranges):
    out = [header(), f"""\
# Format: UTF-8, TAB-separated, three sections in this order. [places]: line i is
# place i, "province<TAB>city" (city may be empty; a municipality is both). [carriers]:
# line i is carrier i. [ranges]: "start<TAB>place<TAB>carrier", starts ascending, where
# start is the first {WIDTH} digits of the national number (no 0 or 86 in front, padded
# with zeros) and the line holds until the next start; "-" is none. A number's
# location is the last line whose start is at most its first {WIDTH} digits.
[places]
"""]
    out += [f"{p}\t{c}\n" for p, c in places]
    out.append("[carriers]\n")
    out += [f"{c}\n" for c in carrier_names]
    out.append("[ranges]\n")
    for start, (place, carrier) in ranges:
        p = "-" if place is None else place
        c = "-" if carrier is None else carrier
        out.append(f"{start:0{WIDTH}d}\t{p}\t{c}\n")
    return "".join(out)


def parse(text):
    """The written table read back as the Rust lookup reads it."""
    section, places, carriers, starts, values = None, [], [], [], []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
        elif section == "[places]":
            places.append(tuple(line.split("\t")))
        elif section == "[carriers]":
            carriers.append(line)
        else:
            start, p, c = line.split("\t")
            starts.append(int(start))
            values.append((None if p == "-" else places[int(p)],
                           None if c == "-" else carriers[int(c)]))
    return starts, values


def lookup(table, nsn):
    starts, values = table
    key = int(nsn[:WIDTH].ljust(WIDTH, "0"))
    return values[bisect.bisect_right(starts, key) - 1]


def package_answer(pn, nsn):
    """(place, carrier) for +86 nsn, as the package itself answers."""
    from phonenumbers import carrier, geocoder

    num = pn.parse("+86" + nsn)
    name = geocoder.description_for_valid_number(num, "zh", region="CN")
    if name == geocoder.country_name_for_number(num, "zh"):
        name = ""  # the package's fallback: the country's name, no location known
    return (split_place(name) if name else None,
            carrier.name_for_valid_number(num, "zh") or None)


def full_length(prefix, fill):
    """A whole national number under `prefix`: 11 digits for mobiles, 10 otherwise."""
    n = 10 if prefix.startswith("10") or not prefix.startswith("1") else 11
    return (prefix + fill * 11)[: max(n, len(prefix))]


def check(pn, table, geo, carriers):
    bad = []
    for prefix in sorted(set(geo) | set(carriers)):
        for fill in "09":
            nsn = full_length(prefix, fill)
            ours, theirs = lookup(table, nsn), package_answer(pn, nsn)
            if ours != theirs:
                bad.append(f"+86{nsn}: table {ours}, package {theirs}")
    if bad:
        raise SystemExit("gen-number-location: the table disagrees with the package:\n"
                         + "\n".join(bad[:20]))


# Ways callers' numbers reach us, applied in turn to the sample numbers.
def styles(nsn, mobile):
    # Area codes: 10 and 2x are two digits, the others three.
    a = 2 if nsn[0] in "12" else 3
    national = nsn if mobile else "0" + nsn
    return [
        national,
        "+86" + nsn,
        "+86 " + (f"{nsn[:3]} {nsn[3:7]} {nsn[7:]}" if mobile else f"{nsn[:a]} {nsn[a:]}"),
        "0086" + nsn,
        "86" + nsn,
        (f"{nsn[:3]}-{nsn[3:7]}-{nsn[7:]}" if mobile else f"0{nsn[:a]}-{nsn[a:]}"),
    ]


def check_file(pn, table, geo):
    """Sample numbers with the package's answers, for tests/location.rs.

    Every 400th prefix, every third area code and a few well-known ones; only
    numbers the package
    calls valid and whose type it names as mobile or fixed line, so the kind is the
    package's too."""
    area_codes = sorted(p for p in geo if p.startswith("10") or not p.startswith("1"))
    chosen = sorted(geo)[::400] + area_codes[::3]
    chosen += ["10", "20", "21", "22", "23", "755", "1390000", "1380013"]
    lines = [header(), """\
# Sample numbers and what the package answers for them; tests/location.rs checks the
# Rust lookup against every line: number<TAB>kind<TAB>province<TAB>city<TAB>carrier
# (empty when the package knows none).
"""]
    seen = set()
    for i, prefix in enumerate(sorted(set(chosen))):
        fill = "1234567890"[i % 10]
        # 10 digits, or 11 where the area's subscribers have eight (0755 8888 8888).
        nsn = full_length(prefix, fill)
        longer = (prefix + fill * 11)[:11]
        if not pn.is_valid_number(pn.parse("+86" + nsn)) and len(nsn) == 10:
            nsn = longer
        num = pn.parse("+86" + nsn)
        kind = {pn.PhoneNumberType.MOBILE: "mobile",
                pn.PhoneNumberType.FIXED_LINE: "fixed"}.get(pn.number_type(num))
        if not pn.is_valid_number(num) or kind is None or nsn in seen:
            continue
        seen.add(nsn)
        place, carrier = package_answer(pn, nsn)
        assert place == lookup(table, nsn)[0]
        province, city = place or ("", "")
        written = styles(nsn, kind == "mobile")[i % 6]
        lines.append(f"{written}\t{kind}\t{province}\t{city}\t{carrier or ''}\n")
    return "".join(lines)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


if __name__ == "__main__":
    main()
