"""Erlang C against the worked examples restated in shared/data/erlang_c.md."""

from __future__ import annotations

import math

import pytest

from wallboard import erlang

# Section 2 (source R): 10 Erlangs, AHT 180 s, 20 s target.
TABLE = [
    # N, wait probability, service level, ASA (s)
    (11, 0.6821182, 0.3896138, 122.78127684408),
    (12, 0.4493882, 0.640158, 40.4449401868444),
    (13, 0.2852705, 0.7955948, 17.1162271821896),
    (14, 0.1741319, 0.88835, 7.83593701177724),
]


@pytest.mark.parametrize(("agents", "p_wait", "sl", "asa"), TABLE)
def test_per_agent_table(agents: int, p_wait: float, sl: float, asa: float) -> None:
    assert erlang.erlang_c(agents, 10.0) == pytest.approx(p_wait, abs=5e-8)
    assert 1 - erlang.erlang_c(agents, 10.0) == pytest.approx(1 - p_wait, abs=5e-8)
    assert erlang.service_level(agents, 10.0, 180, 20) == pytest.approx(sl, abs=5e-7)
    assert erlang.asa(agents, 10.0, 180) == pytest.approx(asa, rel=1e-9)


def test_asserted_values_for_14_agents() -> None:
    assert round(1 - erlang.erlang_c(14, 10.0), 8) == 0.82586807
    assert round(erlang.service_level(14, 10.0, 180, 20), 8) == 0.88835002
    assert round(10.0 / 14, 8) == 0.71428571


def test_staffing_search_gives_14_then_20_scheduled() -> None:
    need = erlang.agents_needed(10.0, 180, 20, 0.8, max_occupancy=0.85)
    assert need is not None and need.agents == 14
    assert need.service_level == pytest.approx(0.88835, abs=5e-6)
    assert erlang.scheduled(need.agents, 0.3) == 20
    # 13 agents miss the target with 0.7956
    assert erlang.service_level(13, 10.0, 180, 20) < 0.8


def test_pyworkforce_cases_at_19_8_seconds() -> None:
    need = erlang.agents_needed(10.0, 180, 19.8, 0.8, max_occupancy=0.85)
    assert need is not None and need.agents == 14
    assert round(need.service_level, 3) == 0.888
    assert round(need.occupancy, 3) == 0.714
    assert round(need.p_wait, 3) == 0.174
    tight = erlang.agents_needed(10.0, 180, 19.8, 0.8, max_occupancy=0.70)
    assert tight is not None and tight.agents == 15
    assert erlang.scheduled(15, 0.3) == 22
    assert round(tight.service_level, 3) == 0.941
    assert round(tight.occupancy, 3) == 0.667
    assert round(tight.p_wait, 3) == 0.102


def test_cross_check_for_15_agents() -> None:
    assert erlang.erlang_c(15, 10.0) == pytest.approx(0.1020424, abs=5e-8)
    assert erlang.service_level(15, 10.0, 180, 20) == pytest.approx(0.9414528, abs=5e-8)
    assert erlang.asa(15, 10.0, 180) == pytest.approx(3.673525, abs=5e-7)


def test_large_centre_is_stable_and_fast() -> None:
    # 1,800 Erlangs: factorials would overflow; the recursion does not.
    need = erlang.agents_needed(1800.0, 300, 20, 0.8)
    assert need is not None and 1800 < need.agents < 1900
    assert 0 < need.p_wait < 1 and math.isfinite(need.asa_s)
    assert erlang.service_level(need.agents - 1, 1800.0, 300, 20) < 0.8


def test_edges() -> None:
    assert erlang.agents_needed(0.0, 180, 20, 0.8) == erlang.Staffing(0, 0.0, 1.0, 0.0, 0.0)
    assert erlang.erlang_c(5, 5.0) == 1.0  # cannot keep up
    assert erlang.service_level(5, 6.0, 180, 20) == 0.0
    assert erlang.asa(5, 6.0, 180) == math.inf
    assert erlang.erlang_b(0, 3.0) == 1.0
    with pytest.raises(ValueError):
        erlang.agents_needed(-1.0, 180, 20, 0.8)
