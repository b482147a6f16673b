"""The line-protocol decoder reads a body as a real ``influxd`` (1.x) does: the same
lines refused, and the same measurements, tags and field values kept, for a body
of every escape and field type (tests/influxd.py starts the server)."""

from __future__ import annotations

import httpx

from monitorx.core.samples import sample_name_from
from monitorx.ingest.line_protocol import decode_lines
from tests.influxd import influxd_url

# InfluxDB 1.6 has no unsigned integers (`12u`, 2.x does) and keeps times before
# 1970 (MonitorX refuses them): neither is in this body.
BODY = "\n".join(
    [
        r"cpu\,load\ 1\=x,host=a value=1 1000000000",
        r"m,data\ center=eu\,west\=1\ a value=2 1000000000",
        r"m,path=C:\temp,dbl=a\\b value=3 1000000000",
        r"m,q=say\"hi\" value=4 1000000000",
        r"m,k=v used\ pct=5,a\,b\=c=6 1000000000",
        r'm,k=s s="a \"quoted\" word, x=1",value=7 1000000000',
        r'm,k=t s="ends with a backslash \\",value=8 1000000000',
        'm,k=nl s="first\nsecond",value=9 1000000000',
        "m,k=types f=1.5,i=-42i,t=t,T=TRUE,f2=False,e=1E3,d=.5 1000000000",
        "m,k=dup value=1,value=10 1000000000",
        "m,k=spaces  value=11  1000000000",
        "m value=tRUE 1000000000",
        "m value=+1 1000000000",
        "m value=1_0 1000000000",
        "m value=nan 1000000000",
        "m,t= value=1 1000000000",
        "m,=v value=1 1000000000",
        "m,t=a=b value=1 1000000000",
        "m value=1 1.5",
        "m value= 1000000000",
        "m value=9223372036854775808i 1000000000",
        "m,k=last value=12 1000000000",
    ]
)


def _influx_samples(url: str, database: str) -> set[tuple[str, frozenset[tuple[str, str]], float]]:
    answer = httpx.post(
        f"{url}/query", data={"db": database, "q": "SELECT * FROM /.*/ GROUP BY *"}, timeout=30
    )
    answer.raise_for_status()
    found = set()
    for series in answer.json()["results"][0].get("series", []):
        tags = frozenset((k, v) for k, v in series.get("tags", {}).items() if v != "")
        for row in series["values"]:
            for column, value in zip(series["columns"], row, strict=True):
                if column == "time" or value is None or isinstance(value, str):
                    continue
                measurement = series["name"]
                raw = measurement if column == "value" else f"{measurement}_{column}"
                found.add((sample_name_from(raw), tags, float(value)))
    return found


def test_the_decoder_keeps_and_refuses_what_influxd_does() -> None:
    url = influxd_url()
    database = "lp_conformance"
    httpx.post(f"{url}/query", data={"q": f"CREATE DATABASE {database}"}, timeout=30)
    refused_by_influxd = []
    lines = BODY.split("\n")
    lines[7:9] = ["\n".join(lines[7:9]), ""]  # line 8's string field runs into line 9
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        answer = httpx.post(f"{url}/write", params={"db": database}, content=line, timeout=30)
        if answer.status_code != 204:
            refused_by_influxd.append(number)
    # One whole body too, as a client sends it: the good lines are kept (partial write).
    httpx.post(f"{url}/write", params={"db": database}, content=BODY, timeout=30)

    decoded = decode_lines(BODY, 0)
    rows = decoded.samples.columns()
    ours = {
        (name, frozenset(labels.items()), value)
        for name, labels, value in zip(rows.name, rows.labels, rows.value, strict=True)
    }
    assert [e.line for e in decoded.errors] == refused_by_influxd
    assert ours == _influx_samples(url, database)
