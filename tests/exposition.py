"""Reading a server's `GET /metrics` the way Prometheus does: every sample, by name
and labels, parsed by prometheus_client's parser."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

# The sample names each family type has in the text format.
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
}


@dataclass(frozen=True)
class Scrape:
    """One scrape: each family's type, and each sample's value."""

    types: dict[str, str]  # family name -> type
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample ``name`` with exactly ``labels``; KeyError when it is not there."""
        return self.samples[name, frozenset(labels.items())]

    def matching(self, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
        """The samples named ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return {
            found: value
            for (sample, found), value in self.samples.items()
            if sample == name and wanted <= found
        }

    def sample_names(self) -> set[str]:
        """Every name a PromQL query could select: each family's sample names by its
        type, whether or not the family has samples yet."""
        names = {name for name, _ in self.samples}
        for family, kind in self.types.items():
            names |= {family + suffix for suffix in SUFFIXES.get(kind, ("",))}
        return names


def parse(text: str) -> Scrape:
    types: dict[str, str] = {}
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return Scrape(types, samples)


def scrape(base_url: str, headers: Mapping[str, str] | None = None) -> Scrape:
    response = httpx.get(f"{base_url}/metrics", headers=dict(headers or {}), timeout=30)
    response.raise_for_status()
    return parse(response.text)
