"""Disclosure control for the programme's published tables: no count below 10 can be read
or worked out from what is published (the GBVIMS rule that indicators never point to a
person; docs/indicators.md).

A table is counts by row (a month) and column (a channel, a kind of violence…), published
with its row totals, column totals and grand total.

1. Primary suppression: every value below 10, zeros included, a cell or a total, is shown as
   ``<10``.
2. Secondary suppression: while a hidden count above zero could still be worked out from
   what is shown, one more value sharing a row or column with it is withheld (shown as
   ``x``), the smallest first, cells before totals. (That a hidden count is zero may be
   deduced: nobody can be pointed to by a count of nobody, and hiding it too would hide every
   month before a channel opened.) "Worked out" means either
   - by adding and subtracting shown values along rows and columns (exact elimination over
     the table's equations), or
   - from the ranges a reader knows: ``<10`` is 0–9 and ``x`` is 10 or more, so a row whose
     hidden values must add up to 0, say, gives every one of them away.
   The hidden cells of a row or column whose total is shown must also add up to 0 or to 10 or
   more: "17 requests, 15 answered" tells that 2 were not, however the 2 is split.
3. A share (percentage) is shown only when its numerator and denominator are both shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

THRESHOLD = 10
SMALL = "<10"  # a count below THRESHOLD
WITHHELD = "x"  # a count of THRESHOLD or more, hidden so that no small count can be derived

Key = tuple  # ("cell", r, c) | ("row", r) | ("col", c) | ("all",)


@dataclass(frozen=True)
class Published:
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    _values: dict  # Key -> int, true values: never rendered unless shown
    _hidden: dict  # Key -> SMALL | WITHHELD

    def cell(self, row: str, column: str) -> str:
        return self._show(("cell", self.rows.index(row), self.columns.index(column)))

    def row_total(self, row: str) -> str:
        return self._show(("row", self.rows.index(row)))

    def column_total(self, column: str) -> str:
        return self._show(("col", self.columns.index(column)))

    def total(self) -> str:
        return self._show(("all",))

    def shown(self, key: Key) -> int | None:
        """The count if it is published, else None."""
        return None if key in self._hidden else self._values[key]

    def grid(self) -> list[list[str]]:
        """Rows of strings: each row's cells then its total; last, the column totals."""
        lines = [[self._show(("cell", r, c)) for c in range(len(self.columns))]
                 + [self._show(("row", r))] for r in range(len(self.rows))]
        lines.append([self._show(("col", c)) for c in range(len(self.columns))]
                     + [self._show(("all",))])
        return lines

    def hidden(self) -> dict:
        return dict(self._hidden)

    def _show(self, key: Key) -> str:
        return self._hidden.get(key) or str(self._values[key])


def share(numerator: int | None, denominator: int | None) -> str:
    """A percentage, or ``x`` when either count is hidden (or nothing to divide by)."""
    if numerator is None or denominator is None or denominator == 0:
        return WITHHELD
    return f"{round(100 * numerator / denominator)}%"


def protect(rows: Sequence[str], columns: Sequence[str],
            counts: Sequence[Sequence[int]]) -> Published:
    """The table as it may be published."""
    values = _values(counts)
    equations = _equations(len(rows), len(columns))
    hidden = {key: SMALL for key, value in values.items() if value < THRESHOLD}
    while True:
        line = next(iter(small_sums(values, hidden, equations)), None)
        if line is not None:
            hidden[_smallest_shown(line, values, hidden)] = WITHHELD
            continue
        leaked = derivable(values, hidden, equations)
        if not leaked:
            return Published(tuple(rows), tuple(columns), values, hidden)
        hidden[_next_to_withhold(leaked[0], values, hidden, equations)] = WITHHELD


def derivable(values: dict, hidden: dict, equations: list[dict]) -> list[Key]:
    """Hidden counts above zero a reader could work out, by elimination or from the known
    ranges."""
    known = {k: v for k, v in values.items() if k not in hidden}
    found = set(_by_elimination(known, hidden, equations)) | set(
        _by_ranges(known, hidden, equations))
    return sorted(k for k in found if values[k] > 0)


def small_sums(values: dict, hidden: dict, equations: list[dict]) -> list[dict]:
    """Lines whose total is shown and whose hidden cells add up to between 1 and 9."""
    found = []
    for eq in equations:
        total = next(k for k, a in eq.items() if a < 0)
        members = [k for k, a in eq.items() if a > 0 and k in hidden]
        if total not in hidden and members and 0 < sum(values[k] for k in members) < THRESHOLD:
            found.append(eq)
    return found


def _smallest_shown(line: dict, values: dict, hidden: dict) -> Key:
    """The smallest shown value of a line, cells before its total."""
    return min((k for k in line if k not in hidden),
               key=lambda k: (line[k] < 0, values[k], k))


# --- the table as equations ------------------------------------------------------------


def _values(counts: Sequence[Sequence[int]]) -> dict:
    values: dict = {}
    for r, line in enumerate(counts):
        for c, count in enumerate(line):
            if count < 0:
                raise ValueError("a count cannot be negative")
            values[("cell", r, c)] = count
        values[("row", r)] = sum(line)
    columns = len(counts[0]) if counts else 0
    for c in range(columns):
        values[("col", c)] = sum(line[c] for line in counts)
    values[("all",)] = sum(values[("row", r)] for r in range(len(counts)))
    return values


def _equations(rows: int, columns: int) -> list[dict]:
    """Each as {key: coefficient}, summing to zero."""
    found = []
    for r in range(rows):
        found.append({**{("cell", r, c): 1 for c in range(columns)}, ("row", r): -1})
    for c in range(columns):
        found.append({**{("cell", r, c): 1 for r in range(rows)}, ("col", c): -1})
    found.append({**{("row", r): 1 for r in range(rows)}, ("all",): -1})
    found.append({**{("col", c): 1 for c in range(columns)}, ("all",): -1})
    return found


def _next_to_withhold(leaked: Key, values: dict, hidden: dict, equations: list[dict]) -> Key:
    """The smallest shown value sharing an equation with ``leaked`` (cells first); if none,
    the smallest shown value anywhere."""
    near = {k for eq in equations if leaked in eq for k in eq if k not in hidden}
    pool = near or {k for k in values if k not in hidden}
    return min(pool, key=lambda k: (k[0] != "cell", values[k], k))


# --- elimination -----------------------------------------------------------------------


def _by_elimination(known: dict, hidden: dict, equations: list[dict]) -> Iterable[Key]:
    unknowns = sorted(hidden)
    index = {k: i for i, k in enumerate(unknowns)}
    rows = []
    for eq in equations:
        row = [Fraction(0)] * (len(unknowns) + 1)
        for key, coefficient in eq.items():
            if key in index:
                row[index[key]] += coefficient
            else:
                row[-1] -= coefficient * known[key]
        if any(row[:-1]):
            rows.append(row)
    for pivot_row in _reduced(rows, len(unknowns)):
        nonzero = [i for i, a in enumerate(pivot_row[:-1]) if a]
        if len(nonzero) == 1:  # one unknown alone in an equation: it is determined
            yield unknowns[nonzero[0]]


def _reduced(rows: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    """Reduced row echelon form (exact)."""
    rows = [r[:] for r in rows]
    lead = 0
    for column in range(width):
        pivot = next((i for i in range(lead, len(rows)) if rows[i][column]), None)
        if pivot is None:
            continue
        rows[lead], rows[pivot] = rows[pivot], rows[lead]
        factor = rows[lead][column]
        rows[lead] = [a / factor for a in rows[lead]]
        for i in range(len(rows)):
            if i != lead and rows[i][column]:
                scale = rows[i][column]
                rows[i] = [a - scale * b for a, b in zip(rows[i], rows[lead], strict=True)]
        lead += 1
    return rows[:lead]


# --- ranges ----------------------------------------------------------------------------


def _by_ranges(known: dict, hidden: dict, equations: list[dict]) -> Iterable[Key]:
    """Narrow each hidden value's range through every equation until nothing changes; one
    narrowed to a single number is given away."""
    low = {k: 0 if mark == SMALL else THRESHOLD for k, mark in hidden.items()}
    high = {k: THRESHOLD - 1 if mark == SMALL else math.inf for k, mark in hidden.items()}
    changed = True
    while changed:
        changed = False
        for eq in equations:
            unknown = [k for k in eq if k in hidden]
            if not unknown:
                continue
            rest = -sum(a * known[k] for k, a in eq.items() if k not in hidden)
            for key in unknown:
                a = eq[key]
                others_low = sum(min(eq[o] * low[o], eq[o] * high[o]) for o in unknown
                                 if o != key)
                others_high = sum(max(eq[o] * low[o], eq[o] * high[o]) for o in unknown
                                  if o != key)
                lo, hi = sorted(((rest - others_high) / a, (rest - others_low) / a))
                if lo > low[key]:
                    low[key], changed = math.ceil(lo), True
                if hi < high[key]:
                    high[key], changed = math.floor(hi), True
    return [k for k in hidden if low[k] == high[k]]
