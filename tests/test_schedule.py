"""The run's DAG executor: nodes run side by side only when what they wait for is finished.

Each "build" records when it starts and ends, so the tests check the order
the schedule allows, not timings. No Spark and no runner: the executor only
gets nodes, a build callback and what to do with outcomes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest

from novacrm_spark.run.schedule import Node, critical_path_priority, run_graph


@dataclass
class Outcome:
    name: str
    status: str  # pass | error | skipped
    discarded: bool = False


@dataclass
class Recorder:
    """Builds nodes by sleeping; ``fail`` ends in error, ``explode`` raises, ``slow`` takes longer."""

    fail: set[str] = field(default_factory=set)
    explode: str | None = None
    slow: set[str] = field(default_factory=set)
    events: list[tuple[str, str]] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def build(self, name: str) -> Outcome:
        with self.lock:
            self.events.append(("start", name))
        time.sleep(0.4 if name in self.slow else 0.05)
        if name == self.explode:
            raise RuntimeError(f"{name} crashed")
        outcome = self.outcomes[name] = Outcome(name, "error" if name in self.fail else "pass")
        with self.lock:
            self.events.append(("end", name))
        return outcome

    def run(self, nodes: list[Node], workers: int = 2) -> dict[str, Outcome]:
        return run_graph(
            nodes, self.build, failed=lambda o: o.status != "pass", skip=lambda name: Outcome(name, "skipped"),
            workers=workers, on_finish=lambda name, o: self.finished.append(name),
            discard=lambda o: setattr(o, "discarded", True),
        )

    def starts(self) -> list[str]:
        return [name for kind, name in self.events if kind == "start"]


# a -> c, b -> c, c -> d; e stands alone
DAG = [Node("a"), Node("b"), Node("c", needs={"a", "b"}), Node("d", needs={"c"}), Node("e")]


def test_a_node_starts_only_after_everything_it_waits_for_has_ended():
    recorder = Recorder()
    recorder.run(DAG)

    position = {event: index for index, event in enumerate(recorder.events)}
    for node in DAG:
        for parent in node.waits_for:
            assert position[("end", parent)] < position[("start", node.name)], f"{node.name} started before {parent}"


def test_independent_nodes_run_side_by_side_up_to_the_limit():
    recorder = Recorder()
    recorder.run(DAG, workers=2)

    running, most = 0, 0
    for kind, _name in recorder.events:
        running += 1 if kind == "start" else -1
        most = max(most, running)
    assert most == 2


def test_one_at_a_time_keeps_the_given_order_when_nothing_tells_nodes_apart():
    recorder = Recorder()
    recorder.run(DAG, workers=1)

    assert recorder.starts() == ["a", "b", "c", "d", "e"]


def test_the_node_heading_the_heaviest_chain_starts_first():
    # "feeder" is light, but "heavy" waits for it: their chain (1 + 10) outweighs "medium" (5).
    nodes = [Node("medium", weight=5), Node("feeder", weight=1), Node("heavy", needs={"feeder"}, weight=10)]
    recorder = Recorder()
    recorder.run(nodes, workers=1)

    assert critical_path_priority(nodes) == {"medium": 5, "feeder": 11, "heavy": 10}
    assert recorder.starts() == ["feeder", "heavy", "medium"]


def test_a_failed_node_skips_what_needs_it_and_outcomes_keep_the_given_order():
    recorder = Recorder(fail={"b"})
    outcomes = recorder.run(DAG)

    assert list(outcomes) == ["a", "b", "c", "d", "e"]
    assert {name: o.status for name, o in outcomes.items()} == {
        "a": "pass", "b": "error", "c": "skipped", "d": "skipped", "e": "pass"}
    assert ("start", "c") not in recorder.events
    assert sorted(recorder.finished) == ["a", "b", "c", "d", "e"]  # skips are reported too


def test_after_only_orders_a_failure_there_does_not_skip():
    nodes = [Node("as_of", after={"a"}), Node("a"), Node("b", after={"as_of"})]
    recorder = Recorder(fail={"a"})
    outcomes = recorder.run([nodes[1], nodes[0], nodes[2]], workers=1)

    assert recorder.starts() == ["a", "as_of", "b"]
    assert outcomes["b"].status == "pass"


def test_a_crash_discards_the_outcomes_of_nodes_still_running_and_propagates():
    recorder = Recorder(explode="boom", slow={"slow"})
    interrupted = []

    with pytest.raises(RuntimeError, match="boom crashed"):
        run_graph(
            [Node("slow"), Node("boom"), Node("later")], recorder.build, failed=lambda o: False,
            skip=lambda n: Outcome(n, "skipped"), workers=2,
            discard=lambda o: setattr(o, "discarded", True), interrupt=lambda: interrupted.append(True),
        )
    # "slow" was still running when "boom" crashed: the schedule interrupts it, waits, then discards it
    assert interrupted == [True]
    assert recorder.outcomes["slow"].discarded
    assert ("start", "later") not in recorder.events  # nothing new starts after a crash


def test_on_start_announces_each_built_node_from_the_calling_thread_before_it_starts():
    recorder = Recorder(fail={"a"})
    announced: list[tuple[str, bool, bool]] = []  # name, already started?, on the calling thread?

    def on_start(name: str) -> None:
        with recorder.lock:
            announced.append((name, ("start", name) in recorder.events, threading.current_thread() is caller))

    caller = threading.current_thread()
    outcomes = run_graph(DAG, recorder.build, failed=lambda o: o.status != "pass",
                         skip=lambda name: Outcome(name, "skipped"), workers=2, on_start=on_start)

    # c and d were skipped (a failed): never announced, never built.
    assert sorted(name for name, _, _ in announced) == ["a", "b", "e"] == sorted(recorder.starts())
    assert all(not started and on_caller for _, started, on_caller in announced)
    assert {n for n, o in outcomes.items() if o.status == "skipped"} == {"c", "d"}
