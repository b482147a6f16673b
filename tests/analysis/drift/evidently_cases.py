"""Seeded datasets and the cases MonitorX is compared with Evidently on.

Each dataset mixes the column shapes the automatic choice tells apart
(continuous, few-valued and binary numbers; binary and many-valued categories),
with drift planted in some columns. Each case is a dataset with the automatic
choice or one named test (Evidently applies a named test to every column, so a
case keeps only the columns Evidently lets that test take).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Column = npt.NDArray[np.float64] | npt.NDArray[np.object_]

# Which kinds of column Evidently lets each named test take.
NUMERICAL_TESTS = (
    "ks",
    "wasserstein",
    "anderson",
    "cramer_von_mises",
    "ed",
    "mannw",
    "t_test",
)
CATEGORICAL_TESTS = ("chisquare", "z")
BOTH_KINDS_TESTS = ("jensenshannon", "psi", "kl_div", "hellinger")


@dataclass(frozen=True)
class Dataset:
    name: str
    reference: dict[str, Column]
    current: dict[str, Column]

    @property
    def numerical(self) -> list[str]:
        return [k for k, v in self.reference.items() if v.dtype == np.float64]

    @property
    def categorical(self) -> list[str]:
        return [k for k, v in self.reference.items() if v.dtype == object]


@dataclass(frozen=True)
class Case:
    id: str
    dataset: Dataset
    columns: tuple[str, ...]
    stattest: str | None = None
    threshold: float | None = None
    # Evidently's empirical_mmd p-value comes from unseeded permutations: only
    # the verdict on clear-cut columns can be compared.
    verdict_only: bool = False


def _categories(rng: np.random.Generator, labels: list[str], p: list[float], n: int) -> Column:
    return np.asarray(rng.choice(labels, size=n, p=p), dtype=object)


def _with_nulls(values: Column, rng: np.random.Generator, share: float) -> Column:
    out = values.copy()
    nulls = rng.random(len(out)) < share
    out[nulls] = np.nan if out.dtype == np.float64 else None
    return out


def mixed_dataset(name: str, n_ref: int, n_cur: int, seed: int, null_share: float = 0.0) -> Dataset:
    rng = np.random.default_rng(seed)
    reference: dict[str, Column] = {}
    current: dict[str, Column] = {}

    def put(column: str, ref: Column, cur: Column) -> None:
        reference[column] = _with_nulls(ref, rng, null_share) if null_share else ref
        current[column] = _with_nulls(cur, rng, null_share) if null_share else cur

    put("normal_same", rng.normal(10, 2, n_ref), rng.normal(10, 2, n_cur))
    put("normal_shift", rng.normal(10, 2, n_ref), rng.normal(10.6, 2, n_cur))
    put("lognormal_scale", rng.lognormal(0, 1, n_ref), rng.lognormal(0, 1.3, n_cur))
    put("slight_shift", rng.normal(0, 1, n_ref), rng.normal(0.05, 1, n_cur))
    put(
        "integers_15",
        rng.integers(0, 15, n_ref).astype(np.float64),
        rng.integers(0, 16, n_cur).astype(np.float64),
    )
    put(
        "four_values",
        rng.choice([1.0, 2.0, 3.0, 4.0], n_ref, p=[0.4, 0.3, 0.2, 0.1]),
        rng.choice([1.0, 2.0, 3.0, 4.0], n_cur, p=[0.3, 0.3, 0.2, 0.2]),
    )
    put(
        "binary_number",
        rng.choice([0.0, 1.0], n_ref, p=[0.7, 0.3]),
        rng.choice([0.0, 1.0], n_cur, p=[0.62, 0.38]),
    )
    put(
        "binary_category",
        _categories(rng, ["no", "yes"], [0.8, 0.2], n_ref),
        _categories(rng, ["no", "yes"], [0.78, 0.22], n_cur),
    )
    put(
        "colour",
        _categories(rng, ["red", "green", "blue", "grey"], [0.4, 0.3, 0.2, 0.1], n_ref),
        _categories(rng, ["red", "green", "blue", "grey"], [0.3, 0.3, 0.25, 0.15], n_cur),
    )
    put(
        "colour_unseen",
        _categories(rng, ["red", "green", "blue"], [0.5, 0.3, 0.2], n_ref),
        _categories(rng, ["red", "green", "blue", "violet"], [0.48, 0.3, 0.2, 0.02], n_cur),
    )
    put(
        "country_30",
        _categories(rng, [f"c{i:02d}" for i in range(30)], list(np.full(30, 1 / 30)), n_ref),
        _categories(rng, [f"c{i:02d}" for i in range(30)], list(np.full(30, 1 / 30)), n_cur),
    )
    return Dataset(name, reference, current)


def _constant(seed: int) -> Dataset:
    """Edge shapes: one value everywhere, one category everywhere, a new constant."""
    rng = np.random.default_rng(seed)
    n_ref, n_cur = 400, 300
    return Dataset(
        "constants",
        {
            "same_constant": np.full(n_ref, 3.0),
            "one_category": np.full(n_ref, "a", dtype=object),
            "moved_category": np.full(n_ref, "a", dtype=object),
            "noise": rng.normal(size=n_ref),
        },
        {
            "same_constant": np.full(n_cur, 3.0),
            "one_category": np.full(n_cur, "a", dtype=object),
            "moved_category": np.full(n_cur, "b", dtype=object),
            "noise": rng.normal(size=n_cur),
        },
    )


def _mmd(seed: int) -> Dataset:
    """A column clearly shifted and one whose current is the reference itself."""
    rng = np.random.default_rng(seed)
    same = rng.normal(size=300)
    return Dataset(
        "mmd",
        {"shifted": rng.normal(size=300), "same": same},
        {"shifted": rng.normal(1.0, 1.0, size=200), "same": same.copy()},
    )


MMD_DATASET = _mmd(seed=7)

DATASETS = (
    mixed_dataset("small", n_ref=800, n_cur=600, seed=1),
    mixed_dataset("tiny", n_ref=60, n_cur=15, seed=2),
    mixed_dataset("large", n_ref=5000, n_cur=3000, seed=3),
    mixed_dataset("nulls_small", n_ref=700, n_cur=500, seed=4, null_share=0.1),
    mixed_dataset("nulls_large", n_ref=3000, n_cur=2000, seed=5, null_share=0.15),
    _constant(seed=6),
)


def _cases() -> list[Case]:
    cases = []
    for data in DATASETS:
        everything = tuple(data.reference)
        cases.append(Case(f"{data.name}-auto", data, everything))
        for test in NUMERICAL_TESTS:
            columns = tuple(data.numerical)
            if test in ("anderson", "cramer_von_mises", "t_test"):
                # Two constant samples: scipy refuses (anderson) or gives NaN.
                columns = tuple(c for c in columns if c != "same_constant")
            cases.append(Case(f"{data.name}-{test}", data, columns, test))
        for test in CATEGORICAL_TESTS:
            cases.append(Case(f"{data.name}-{test}", data, tuple(data.categorical), test))
        for test in BOTH_KINDS_TESTS:
            cases.append(Case(f"{data.name}-{test}", data, everything, test))
    cases.append(
        Case("mmd-empirical_mmd", MMD_DATASET, ("shifted", "same"), "empirical_mmd", None, True)
    )
    small = DATASETS[0]
    cases.append(Case("small-psi-threshold", small, tuple(small.reference), "psi", 0.02))
    cases.append(Case("small-ks-threshold", small, tuple(small.numerical), "ks", 0.5))
    cases.append(
        Case("small-jensenshannon-threshold", small, tuple(small.reference), "jensenshannon", 0.05)
    )
    return cases


CASES = _cases()
