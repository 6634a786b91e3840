"""Disclosure control: no count below 10 can be read, or worked out by subtraction across
rows, columns or months, from a published table. The oracle is a brute-force search over
every table a reader could believe, independent of the code under test."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.indicators.disclosure import SMALL, THRESHOLD, WITHHELD, protect, share

CAP = 60  # the oracle's bound on a withheld cell (the drawn counts stay far below it)


def _range(mark: str | None, value: int) -> range:
    if mark == SMALL:
        return range(0, THRESHOLD)
    if mark == WITHHELD:
        return range(THRESHOLD, CAP + 1)
    return range(value, value + 1)


def _what_a_reader_can_believe(counts: list[list[int]], hidden: dict) -> dict:
    """For each hidden value, the values it takes over every table consistent with what
    is published (stops once each has two)."""
    rows, columns = len(counts), len(counts[0])
    seen: dict = {key: set() for key in hidden}

    def mark(key):
        return hidden.get(key)

    def fits(key, value, true):
        return value in _range(mark(key), true)

    def totals_fit(table) -> bool:
        row_sums = [sum(line) for line in table]
        col_sums = [sum(line[c] for line in table) for c in range(columns)]
        true_rows = [sum(line) for line in counts]
        true_cols = [sum(line[c] for line in counts) for c in range(columns)]
        return (all(fits(("row", r), row_sums[r], true_rows[r]) for r in range(rows))
                and all(fits(("col", c), col_sums[c], true_cols[c]) for c in range(columns))
                and fits(("all",), sum(row_sums), sum(true_rows)))

    choices = [[list(_range(mark(("cell", r, c)), counts[r][c])) for c in range(columns)]
               for r in range(rows)]
    row_options = []
    for r in range(rows):
        true_total = sum(counts[r])
        options = [line for line in itertools.product(*choices[r])
                   if fits(("row", r), sum(line), true_total)]
        row_options.append(options)
    for table in itertools.product(*row_options):
        if not totals_fit(table):
            continue
        for key in hidden:
            if key[0] == "cell":
                seen[key].add(table[key[1]][key[2]])
            elif key[0] == "row":
                seen[key].add(sum(table[key[1]]))
            elif key[0] == "col":
                seen[key].add(sum(line[key[1]] for line in table))
            else:
                seen[key].add(sum(map(sum, table)))
        if all(len(values) > 1 for values in seen.values()):
            break
    return seen


def _true_value(counts: list[list[int]], key: tuple) -> int:
    if key[0] == "cell":
        return counts[key[1]][key[2]]
    if key[0] == "row":
        return sum(counts[key[1]])
    if key[0] == "col":
        return sum(line[key[1]] for line in counts)
    return sum(map(sum, counts))


counts_strategy = st.integers(1, 3).flatmap(lambda rows: st.integers(1, 3).flatmap(
    lambda columns: st.lists(st.lists(st.one_of(st.integers(0, 12), st.integers(0, 30)),
                                      min_size=columns, max_size=columns),
                             min_size=rows, max_size=rows)))


@settings(max_examples=150, deadline=None)
@given(counts_strategy)
def test_no_small_count_can_be_read_or_derived(counts):
    rows = [f"2026-{m:02d}" for m in range(1, len(counts) + 1)]
    columns = [f"c{n}" for n in range(len(counts[0]))]
    published = protect(rows, columns, counts)
    grid = published.grid()
    for r, line in enumerate(counts):
        for c, count in enumerate(line):
            assert (grid[r][c] == SMALL) == (count < THRESHOLD)
            assert grid[r][c] in (SMALL, WITHHELD, str(count))
    hidden = published.hidden()
    lines = [(("row", r), [("cell", r, c) for c in range(len(columns))]) for r in range(len(rows))]
    lines += [(("col", c), [("cell", r, c) for r in range(len(rows))]) for c in range(len(columns))]
    for total, members in lines:
        hidden_sum = sum(_true_value(counts, k) for k in members if k in hidden)
        assert total in hidden or hidden_sum == 0 or hidden_sum >= THRESHOLD, (
            f"{total}: its hidden cells add up to {hidden_sum}, shown by subtraction")
    if len(hidden) > 6:  # keep the brute force small; big tables are covered by smaller ones
        return
    for key, values in _what_a_reader_can_believe(counts, hidden).items():
        true = _true_value(counts, key)
        assert len(values) > 1 or true == 0, f"{key} = {true} can be worked out from {grid}"


def test_a_lone_small_cell_takes_partners_until_nothing_gives_it_away():
    counts = [[40, 3], [35, 22]]
    published = protect(["2026-10", "2026-11"], ["telegram", "zalo"], counts)
    assert published.grid() == [[WITHHELD, SMALL, "43"], [WITHHELD, WITHHELD, "57"],
                                ["75", "25", "100"]]
    # Primary suppression alone would give the 3 away (43 - 40): the oracle sees that.
    naive = _what_a_reader_can_believe(counts, {("cell", 0, 1): SMALL})
    assert naive == {("cell", 0, 1): {3}}


def test_a_share_of_a_hidden_count_is_hidden():
    assert share(None, 120) == WITHHELD and share(30, None) == WITHHELD
    assert share(30, 120) == "25%"
