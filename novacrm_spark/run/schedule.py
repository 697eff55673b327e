"""A small DAG executor: runs a graph's nodes on a thread pool as soon as what they need is finished.

It knows nothing of models or Spark: it is given the nodes in a topological
order, what each needs, their weights and a ``build`` callback, and returns
each node's outcome. A node is skipped (``skip(name)`` is its outcome) when a
node it ``needs`` failed or was skipped; ``after`` only orders (the node waits
but runs whatever the outcome). Outcomes come back in the nodes' order.

Among the nodes ready to start, the one heading the heaviest chain of work
still to come starts first (critical path first): its priority is its weight
plus the largest priority among the nodes that wait for it. Several nodes at
once keep both cores of a laptop busy: one model's driver-side work overlaps
the others' tasks.

Example::

    >>> nodes = [Node("a"), Node("b", needs={"a"})]
    >>> run_graph(nodes, build=str.upper, failed=lambda out: False, skip=lambda n: None, workers=2)
    {'a': 'A', 'b': 'B'}
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Generic, Sequence, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Node:
    name: str
    needs: frozenset[str] = field(default_factory=frozenset)  # wait for them; skip when one fails
    after: frozenset[str] = field(default_factory=frozenset)  # only wait for them
    weight: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", frozenset(self.needs))
        object.__setattr__(self, "after", frozenset(self.after))

    @property
    def waits_for(self) -> frozenset[str]:
        return self.needs | self.after


def critical_path_priority(nodes: Sequence[Node]) -> dict[str, int]:
    """Each node's weight plus the largest priority among the nodes waiting for it.

    Example: ``feeder`` (1) <- ``heavy`` (10), and ``medium`` (5): feeder 11, heavy 10, medium 5.
    """
    priority: dict[str, int] = {}
    for node in reversed(nodes):  # topological order: whoever waits for it is done
        below = max((priority[n.name] for n in nodes if node.name in n.waits_for), default=0)
        priority[node.name] = node.weight + below
    return priority


@dataclass
class _Graph(Generic[T]):
    nodes: Sequence[Node]
    build: Callable[[str], T]
    failed: Callable[[T], bool]
    skip: Callable[[str], T]
    on_start: Callable[[str], None]
    on_finish: Callable[[str, T], None]
    discard: Callable[[T], None]
    workers: int
    outcomes: dict[str, T] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = {n.name for n in self.nodes}
        self.priority = critical_path_priority(self.nodes)

    def run(self, interrupt: Callable[[], None]) -> dict[str, T]:
        waiting = list(self.nodes)
        running: dict[Future, Node] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="novacrm-model") as pool:
            try:
                while waiting or running:
                    skipped = self.start_ready(waiting, running, pool)
                    if running:
                        finished, _ = wait(running, return_when=FIRST_COMPLETED)
                        for future in sorted(finished, key=lambda f: f.exception() is not None):
                            self.finish(running[future].name, future.result())  # a raise is taken last
                            running.pop(future)
                    elif waiting and not skipped:
                        raise ValueError(f"nodes {[n.name for n in waiting]} wait for nodes not in the graph")
            except BaseException:
                self.stop(running, interrupt)
                raise
        return {n.name: self.outcomes[n.name] for n in self.nodes}

    def start_ready(self, waiting: list[Node], running: dict[Future, Node], pool: ThreadPoolExecutor) -> bool:
        """Start (or skip) every waiting node whose prerequisites finished; True when one was skipped."""
        skipped = False
        ready = [n for n in waiting if (n.waits_for & self.names) <= self.outcomes.keys()]
        for node in sorted(ready, key=lambda n: -self.priority[n.name]):
            if any(self.failed(self.outcomes[name]) for name in node.needs & self.names):
                self.finish(node.name, self.skip(node.name))
                skipped = True
            elif len(running) < self.workers:
                self.on_start(node.name)
                running[pool.submit(self.build, node.name)] = node
            else:
                continue
            waiting.remove(node)
        return skipped

    def finish(self, name: str, outcome: T) -> None:
        self.outcomes[name] = outcome
        self.on_finish(name, outcome)

    def stop(self, running: dict[Future, Node], interrupt: Callable[[], None]) -> None:
        """After an exception: cancel what has not started, interrupt and wait for the rest, discard theirs."""
        for future in running:
            future.cancel()
        if any(not f.done() for f in running):
            interrupt()
        wait(running)
        for future in running:
            if not future.cancelled() and future.exception() is None:
                self.discard(future.result())


def run_graph(
    nodes: Sequence[Node],
    build: Callable[[str], T],
    *,
    failed: Callable[[T], bool],
    skip: Callable[[str], T],
    workers: int = 1,
    on_start: Callable[[str], None] = lambda name: None,
    on_finish: Callable[[str, T], None] = lambda name, outcome: None,
    discard: Callable[[T], None] = lambda outcome: None,
    interrupt: Callable[[], None] = lambda: None,
) -> dict[str, T]:
    """Build every node of a topologically ordered graph, up to ``workers`` at a time.

    ``on_start`` is told each node about to be built (never a skipped one), and
    ``on_finish`` sees each outcome as it comes (skips included); both are
    called from the calling thread, never from a build's. When a build
    raises, nothing new starts, ``interrupt`` is called if others still run,
    their outcomes go to ``discard``, and the exception propagates.
    """
    graph = _Graph(nodes, build, failed, skip, on_start, on_finish, discard, workers)
    return graph.run(interrupt)
