"""InfluxDB line protocol into samples: names, types, escapes, precisions, and the
malformed lines a body may hold (named, while the others still count)."""

from __future__ import annotations

import pytest

from monitorx.ingest.line_protocol import PRECISIONS, DecodedLines, decode_lines

NOW_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
TS_NS = 1_700_000_000_123_456_789


def _rows(decoded: DecodedLines) -> list[tuple[str, float, int, dict[str, str]]]:
    s = decoded.samples.columns()
    return list(zip(s.name, s.value, s.ts_us, s.labels, strict=True))


def _one(line: str, precision: str = "n") -> DecodedLines:
    decoded = decode_lines(line, NOW_US, precision)
    assert decoded.errors == [], decoded.errors
    return decoded


def test_field_value_is_named_as_the_measurement_and_others_get_a_suffix() -> None:
    decoded = _one(f"gpu,host=a,region=eu value=71.5,temp=64i,healthy=t {TS_NS}")
    assert _rows(decoded) == [
        ("gpu", 71.5, TS_NS // 1000, {"host": "a", "region": "eu"}),
        ("gpu_temp", 64.0, TS_NS // 1000, {"host": "a", "region": "eu"}),
        ("gpu_healthy", 1.0, TS_NS // 1000, {"host": "a", "region": "eu"}),
    ]
    assert decoded.samples.columns().unit == [None, None, None]
    assert decoded.line_of_row.tolist() == [1, 1, 1] and decoded.points == 1


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1.0),
        ("-1.5", -1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1.5e3", 1500.0),
        ("1E-2", 0.01),
        ("01", 1.0),
        ("42i", 42.0),
        ("-42i", -42.0),
        ("001i", 1.0),
        ("9223372036854775807i", 9223372036854775807.0),
        ("18446744073709551615u", 18446744073709551615.0),
        ("0u", 0.0),
        *[(word, 1.0) for word in ("t", "T", "true", "True", "TRUE")],
        *[(word, 0.0) for word in ("f", "F", "false", "False", "FALSE")],
    ],
)
def test_every_numeric_field_type_counts(text: str, value: float) -> None:
    assert _one(f"m f={text}").samples.columns().value == [value]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tRUE", "invalid number"),
        ("yes", "invalid number"),
        ("+1.5", "invalid number"),
        ("1_000", "invalid number"),
        ("0x10", "invalid number"),
        ("1e", "invalid number"),
        ("-", "invalid number"),
        ("nan", "invalid number"),
        ("inf", "invalid number"),
        ("-Infinity", "out of range"),
        ("1e999", "out of range"),
        ("1i2", "invalid number"),
        ("1.5i", "invalid number"),
        ("9223372036854775808i", "out of range"),
        ("-1u", "invalid number"),
        ("18446744073709551616u", "out of range"),
    ],
)
def test_a_malformed_value_refuses_its_line(text: str, reason: str) -> None:
    decoded = decode_lines(f"m f={text}", NOW_US)
    assert len(decoded.samples) == 0 and decoded.points == 0
    assert [e.line for e in decoded.errors] == [1]
    assert reason in decoded.errors[0].reason


def test_string_fields_are_ignored_and_a_string_only_line_is_still_a_point() -> None:
    decoded = _one('log,host=a msg="disk full, 91% used",level="error",code=507i\nlog msg="x"')
    assert _rows(decoded) == [("log_code", 507.0, NOW_US, {"host": "a"})]
    assert decoded.points == 2


ESCAPES = [
    # measurement: comma, space and equals sign escaped
    (r"cpu\,load\ 1\=x value=1", "cpu_load_1_x", {}),
    # tag key and value: comma, space, equals
    (r"m,data\ center=eu\,west\=1\ a value=1", "m", {"data center": "eu,west=1 a"}),
    # a backslash before anything else stays, a doubled one too (as influxd keeps it)
    (r"m,path=C:\temp,dbl=a\\b value=1", "m", {"path": "C:\\temp", "dbl": "a\\\\b"}),
    # a quote inside a tag value is literal
    ('m,q=say"hi" value=1', "m", {"q": 'say"hi"'}),
    # field key escapes
    (r"m used\ pct=1", "m_used_pct", {}),
    (r"m a\,b\=c=1", "m_a_b_c", {}),
    # string fields with escaped quotes and backslashes, commas, spaces, equals
    (r'm s="a \"quoted\" word, x=1",value=1', "m", {}),
    (r'm s="ends with a backslash \\",value=1', "m", {}),
    (r'm value=1,s="tab\there"', "m", {}),
]


@pytest.mark.parametrize(("line", "name", "labels"), ESCAPES)
def test_escapes_follow_influxdb(line: str, name: str, labels: dict[str, str]) -> None:
    decoded = _one(f"{line} {TS_NS}")
    assert _rows(decoded) == [(name, 1.0, TS_NS // 1000, labels)]


def test_a_string_field_may_run_over_several_lines() -> None:
    body = 'm,host=a s="first\nsecond\nthird",value=2 1000000000\nm,host=b value=3 1000000000\nbad'
    decoded = decode_lines(body, NOW_US)
    assert _rows(decoded) == [
        ("m", 2.0, 1_000_000, {"host": "a"}),
        ("m", 3.0, 1_000_000, {"host": "b"}),
    ]
    assert decoded.line_of_row.tolist() == [1, 4]
    assert [e.line for e in decoded.errors] == [5]


def test_an_unbalanced_quote_refuses_the_rest_of_the_body_as_one_line() -> None:
    decoded = decode_lines('m value=1\nm s="open,value=2\nm value=3', NOW_US)
    assert decoded.samples.columns().value == [1.0]
    assert [(e.line, e.reason) for e in decoded.errors] == [(2, "unbalanced quotes")]


@pytest.mark.parametrize(
    ("precision", "stamp", "ts_us"),
    [
        ("n", "1700000000123456789", 1_700_000_000_123_456),
        ("ns", "1700000000123456789", 1_700_000_000_123_456),
        ("u", "1700000000123456", 1_700_000_000_123_456),
        ("us", "1700000000123456", 1_700_000_000_123_456),
        ("ms", "1700000000123", 1_700_000_000_123_000),
        ("s", "1700000000", 1_700_000_000_000_000),
        ("m", "28333333", 28_333_333 * 60_000_000),
        ("h", "472222", 472_222 * 3_600_000_000),
    ],
)
def test_every_precision(precision: str, stamp: str, ts_us: int) -> None:
    assert _one(f"m value=1 {stamp}", precision).samples.columns().ts_us == [ts_us]


def test_the_precisions_are_those_of_both_apis() -> None:
    assert {"n", "u", "ms", "s", "m", "h", "ns", "us"} <= set(PRECISIONS)


def test_a_line_without_timestamp_is_at_the_servers_time() -> None:
    assert _one("m value=1").samples.columns().ts_us == [NOW_US]


def test_blank_lines_comments_crlf_and_extra_spaces_are_tolerated() -> None:
    body = "# a comment\n\n  m value=1  1000000000 \r\nm  value=2\r\n   \n"
    decoded = _one(body)
    assert decoded.samples.columns().value == [1.0, 2.0]
    assert decoded.samples.columns().ts_us == [1_000_000, NOW_US]
    assert decoded.line_of_row.tolist() == [3, 4]


def test_a_field_given_twice_counts_once_with_its_last_value() -> None:
    assert _rows(_one("m value=1,value=2 1000")) == [("m", 2.0, 1, {})]


def test_names_from_other_characters_become_valid_sample_names() -> None:
    decoded = _one("disk-io,dev=sda read.bytes=1\n2xx value=1\nkafka_lag value=5")
    assert decoded.samples.columns().name == ["disk_io_read.bytes", "m_2xx", "kafka_lag"]


def test_each_series_is_given_once_and_its_rows_refer_to_it() -> None:
    samples = _one("m,h=a value=1\nm,h=a value=2\nm,h=b value=3").samples
    assert samples.names == ["m", "m"] and samples.labels == [{"h": "a"}, {"h": "b"}]
    assert samples.key.tolist() == [0, 0, 1]


MALFORMED = [
    ("m", "missing fields"),
    ("m value", "missing field value"),
    ("m value=", "missing field value"),
    ("m =1", "missing field key"),
    (",t=a value=1", "missing measurement"),
    ("m,t value=1", "missing tag value"),
    ("m,t= value=1", "missing tag value"),
    ("m,=a value=1", "missing tag key"),
    ("m,t=a=b value=1", "invalid tag format"),
    ("m value=1 1.5", "bad timestamp"),
    ("m value=1 +100", "bad timestamp"),
    ("m value=1 12ab", "bad timestamp"),
    ("m value=1 \u00b2", "bad timestamp"),  # a digit to str.isdigit, not to int()
    ("m value=1 -5", "timestamp before 1970"),
    ("m value=1 253402300800000000000", "timestamp after 9999-12-31"),
    ("m value=1 100 200", "invalid field format"),
    ('m s="a"b', "invalid string field"),
    ("latency,model=a value=12", "reserved for inference metrics"),
    ("m,t=" + "x" * 1025 + " value=1", "over 1,024 characters"),
    ("m," + ",".join(f"t{i}=v" for i in range(65)) + " value=1", "at most 64"),
]


@pytest.mark.parametrize(("line", "reason"), MALFORMED)
def test_a_malformed_line_is_named_with_its_reason(line: str, reason: str) -> None:
    decoded = decode_lines(f"ok value=1\n{line}\nok value=2", NOW_US)
    assert decoded.samples.columns().value == [1.0, 2.0], "the well-formed lines still count"
    assert decoded.line_of_row.tolist() == [1, 3]
    assert len(decoded.errors) == 1
    error = decoded.errors[0]
    assert error.line == 2 and reason in error.reason
    assert str(error).startswith("line 2: unable to parse '")


def test_a_refused_line_keeps_none_of_its_fields() -> None:
    decoded = decode_lines("m a=1,b=2,c=oops,d=4", NOW_US)
    assert len(decoded.samples) == 0 and len(decoded.errors) == 1


def test_a_long_line_is_cut_in_its_error_message() -> None:
    decoded = decode_lines("m " + "x" * 500, NOW_US)
    assert len(str(decoded.errors[0])) < 300
