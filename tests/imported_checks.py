"""The two parametrised tests every stand-in test module runs over its cases, built on tests/import_exact.py."""

from __future__ import annotations

from typing import Callable

import pytest

from tests.import_exact import assert_complete_and_exact, assert_round_trip_and_check


def block_tests(cases: dict[str, tuple[Callable, tuple[int, ...]]]) -> tuple[Callable, Callable]:
    """(complete and exact, round trip and check) over `cases` (name -> (factory, input shape)), for a test
    module to bind: `test_imports_complete_and_exact, test_round_trips_and_check_passes = block_tests(CASES)`."""

    @pytest.mark.parametrize("case", list(cases))
    def complete_and_exact(case):
        assert_complete_and_exact(*cases[case])

    @pytest.mark.parametrize("case", list(cases))
    def round_trips(case):
        assert_round_trip_and_check(*cases[case])

    return complete_and_exact, round_trips
