"""The runner's schedule: models run side by side only when their inputs are finished.

A fake runner stands in for Spark: each "build" records when it starts and
ends, so the tests check the order the schedule allows, not timings.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest

from novacrm_spark.runner import ModelResult, Staged, _Schedule


@dataclass(frozen=True)
class FakeModel:
    name: str
    layer: str = "core"


@dataclass
class FakeWrite:
    aborted: bool = False
    dataframe: object = None
    done: bool = False

    def abort(self) -> None:
        self.aborted = True


@dataclass
class FakeRunner:
    """Just what the schedule uses of a Runner; ``inputs`` maps a model to what it waits for."""

    inputs: dict[str, set[str]]
    parallel: int = 2
    fail: set[str] = field(default_factory=set)
    explode: str | None = None
    slow: set[str] = field(default_factory=set)
    events: list[tuple[str, str]] = field(default_factory=list)
    writes: dict[str, FakeWrite] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    weights: dict[str, int] = field(default_factory=dict)  # stands in for the raw bytes behind a model

    def __post_init__(self) -> None:
        self.models = {name: FakeModel(name) for name in self.inputs}
        self.settings = type("S", (), {"parallel_models": self.parallel})()
        self.staged_tables: dict[str, object] = {}
        self.spark = type("Spark", (), {"interruptAll": lambda self: []})()

    def waits_for(self, model: FakeModel) -> set[str]:
        return self.inputs[model.name]

    depends_on = waits_for

    def upstream_bytes(self, model: FakeModel) -> int:
        return self.weights.get(model.name, 0)

    def progress(self, line: str) -> None:
        self.lines.append(line)

    def build_in_thread(self, model: FakeModel) -> Staged:
        with self.lock:
            self.events.append(("start", model.name))
        time.sleep(0.4 if model.name in self.slow else 0.05)
        if model.name == self.explode:
            raise RuntimeError(f"{model.name} crashed")
        write = FakeWrite()
        self.writes[model.name] = write
        with self.lock:
            self.events.append(("end", model.name))
        status = "error" if model.name in self.fail else "pass"
        return Staged(ModelResult(model.name, model.layer, status, rows=1), [(write, f"core.{model.name}")])


# a -> c, b -> c, c -> d; e stands alone
DAG = {"a": set(), "b": set(), "c": {"a", "b"}, "d": {"c"}, "e": set()}


def schedule(runner: FakeRunner) -> _Schedule:
    selection = [runner.models[name] for name in runner.inputs]  # already topological
    return _Schedule(runner, selection)


def test_a_model_starts_only_after_everything_it_waits_for_has_ended():
    runner = FakeRunner(DAG)
    schedule(runner).run()

    position = {event: index for index, event in enumerate(runner.events)}
    for name, inputs in DAG.items():
        for parent in inputs:
            assert position[("end", parent)] < position[("start", name)], f"{name} started before {parent} ended"


def test_independent_models_run_side_by_side_up_to_the_limit():
    runner = FakeRunner(DAG, parallel=2)
    schedule(runner).run()

    running, most = 0, 0
    for kind, _name in runner.events:
        running += 1 if kind == "start" else -1
        most = max(most, running)
    assert most == 2


def test_one_at_a_time_keeps_the_selection_order_when_nothing_tells_models_apart():
    runner = FakeRunner(DAG, parallel=1)
    schedule(runner).run()

    assert [name for kind, name in runner.events if kind == "start"] == ["a", "b", "c", "d", "e"]


def test_the_model_heading_the_heaviest_chain_starts_first():
    # "feeder" is light, but "heavy" waits for it: their chain (1 + 10) outweighs "medium" (5).
    runner = FakeRunner(
        {"medium": set(), "feeder": set(), "heavy": {"feeder"}},
        parallel=1, weights={"medium": 5, "feeder": 1, "heavy": 10},
    )
    plan = schedule(runner)
    plan.run()

    assert plan.priority == {"medium": 5, "feeder": 11, "heavy": 10}
    assert [name for kind, name in runner.events if kind == "start"] == ["feeder", "heavy", "medium"]


def test_a_failed_model_skips_what_depends_on_it_and_results_keep_selection_order():
    runner = FakeRunner(DAG, fail={"b"})
    plan = schedule(runner)
    plan.run()

    assert {name: r.status for name, r in plan.results.items()} == {
        "a": "pass", "b": "error", "c": "skipped", "d": "skipped", "e": "pass"}
    assert runner.writes["b"].aborted  # a failed model's write is discarded at once
    assert [item.result.name for item in plan.staged_in_order()] == ["a", "e"]
    assert sum("SKIP" in line for line in runner.lines) == 2


def test_a_crash_discards_the_writes_of_models_still_running_and_propagates():
    runner = FakeRunner({"slow": set(), "boom": set(), "later": set()}, explode="boom", slow={"slow"})
    plan = schedule(runner)

    with pytest.raises(RuntimeError, match="boom crashed"):
        plan.run()
    # "slow" was still running when "boom" crashed: the schedule waits for it, then discards its write
    assert runner.writes["slow"].aborted
    assert ("start", "later") not in runner.events  # nothing new starts after a crash
