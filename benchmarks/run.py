"""Benchmark harness: the full build against the Spark floor at several scales.

    python benchmarks/run.py                          # small, medium, large; 3 repetitions
    python benchmarks/run.py --scales small --repeat 1 --out /tmp/bench   # smoke run
    python benchmarks/run.py --engines embedded,delta-spark               # both engines, same floor
    python benchmarks/run.py --scale xlarge --repeat 1 --stages           # ~15M usage events, per-stage CPU

For each scale it generates (and caches) a dataset with ``novacrm generate``;
``xlarge`` (never run unless asked) is the cached ``large`` dataset replicated
10 times under new ids (``benchmarks/replicate.py``). Then it runs, one after
the other and each as its own process:

1. the Spark floor (``benchmarks/floor.py``): read the five CSVs, write Parquet;
2. the full build: ``novacrm run --layer all`` with all checks, into a new warehouse;
3. with ``--stages``, once per scale after the builds: ``benchmarks/usage_stages.py``,
   the usage path's cumulative CPU and wall time per stage.

It records wall time and the peak RSS of the whole process tree (driver JVM
and Python workers included, sampled from /proc), rows per table and
per-model seconds from ``run_results.json``, takes the median of the
repetitions, and writes ``benchmarks.md`` and ``benchmarks.json`` to ``--out``
(default ``docs/``). Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from proc import process_table  # noqa: E402
from replicate import MANIFEST, replicate  # noqa: E402

# Accounts per scale (a replicated scale: its base's accounts x its copies).
SCALES = {"small": 150, "medium": 1_500, "large": 15_000, "xlarge": 150_000}
# Scales built by replicating a generated one under new ids: name -> (base scale, copies).
REPLICATED = {"xlarge": ("large", 10)}
DEFAULT_SCALES = "small,medium,large"  # xlarge only when asked for
AS_OF = "2025-01-31"


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children, stats = process_table()
    page = os.sysconf("SC_PAGE_SIZE")
    # (start of code and of stack: the same while a child shares its parent's memory), rss
    memory = {pid: ((int(f[23]), int(f[25])), int(f[21]) * page) for pid, f in stats.items()}
    return tree_total(root_pid, children, memory)


def tree_total(
    root_pid: int, children: dict[int, list[int]], memory: dict[int, tuple[tuple[int, int], int]]
) -> int:
    """Sum of the tree's RSS (``memory``: pid -> (address-space layout, rss)), each address space once.

    A child the JVM is spawning (``chmod`` for Hadoop, between its fork and
    its exec) still has the parent's memory and reports the parent's RSS;
    counting it would double the JVM for that instant.

        >>> tree_total(1, {1: [2, 3]}, {1: ((7, 9), 500), 2: ((7, 9), 500), 3: ((4, 5), 20)})
        520
    """
    total, stack = 0, [(root_pid, None)]
    while stack:
        pid, parent = stack.pop()
        if pid in memory and (parent is None or memory[pid][0] != memory.get(parent, (None, 0))[0]):
            total += memory[pid][1]
        stack.extend((child, pid) for child in children.get(pid, []))
    return total


def measure(command: list[str], env: dict[str, str]) -> dict:
    """Run a command; return its wall seconds and the peak RSS of its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"benchmark command failed ({process.returncode}): {' '.join(command)}\n{output[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1)}


def dataset(cache: Path, accounts: int) -> Path:
    out = cache / f"accounts_{accounts}"
    if not (out / "raw_usage_events.csv").exists():
        subprocess.run(
            [sys.executable, "-m", "novacrm_spark.cli", "generate", "--accounts", str(accounts), "--seed", "7", "--out", str(out)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out


def scale_dataset(cache: Path, name: str) -> Path:
    """The raw folder of scale ``name``: generated, or its base scale's replicated (each cached once)."""
    if name not in REPLICATED:
        return dataset(cache, SCALES[name])
    base, copies = REPLICATED[name]
    out = cache / f"accounts_{SCALES[base]}_x{copies}"
    if not (out / MANIFEST).exists():  # written last, then the folder renamed into place
        source = dataset(cache, SCALES[base])
        print(f"  replicating {source} x{copies} into {out}", flush=True)
        manifest = replicate(source, out, copies)
        print(f"  replicated in {manifest['seconds']} s", flush=True)
    return out


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle) - 1


def usage_stages(raw: Path, master: str, env: dict[str, str]) -> dict:
    """``benchmarks/usage_stages.py`` over ``raw``, as its own process: its JSON."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "stages.json"
        done = subprocess.run(
            [sys.executable, "benchmarks/usage_stages.py", "--input", str(raw), "--master", master,
             "--as-of", AS_OF, "--out", str(out)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"usage_stages.py failed ({done.returncode}):\n{done.stdout[-3000:]}")
        return json.loads(out.read_text())


def bench_scale(name: str, accounts: int, repeat: int, cache: Path, master: str, engines: list[str],
                stages: bool = False) -> list[dict]:
    """One row per engine: each attempt measures the floor once, then one build per engine;
    with ``stages``, the usage path per stage once afterwards (the same numbers on each row)."""
    raw = scale_dataset(cache, name)
    env = {**os.environ, "NOVACRM_MASTER": master}
    floors: list[dict] = []
    builds: dict[str, list[dict]] = {engine: [] for engine in engines}
    per_model: dict[str, list[dict]] = {engine: [] for engine in engines}
    for attempt in range(repeat):
        with tempfile.TemporaryDirectory() as scratch:
            floors.append(
                measure([sys.executable, "benchmarks/floor.py", "--input", str(raw), "--out", f"{scratch}/floor", "--master", master], env)
            )
            for engine in engines:
                warehouse = Path(scratch) / f"warehouse-{engine}"
                builds[engine].append(
                    measure(
                        [sys.executable, "-m", "novacrm_spark.cli", "run", "--layer", "all", "--input", str(raw),
                         "--warehouse", str(warehouse), "--as-of", AS_OF, "--engine", engine],
                        env,
                    )
                )
                results = json.loads(next((warehouse / "_runs").glob("*/run_results.json")).read_text())
                per_model[engine].append({m["name"]: {"seconds": m["seconds"], "rows": m["rows"]} for m in results["models"]})
                print(f"  {name} #{attempt + 1}: floor {floors[-1]['seconds']}s, {engine} build "
                      f"{builds[engine][-1]['seconds']}s, peak {builds[engine][-1]['peak_rss_mb']} MB", flush=True)
    per_stage = None
    if stages:
        per_stage = usage_stages(raw, master, env)
        print(f"  {name} usage path: " + ", ".join(
            f"{s['stage']} {s['cpu_seconds']}s CPU" for s in per_stage["stages"]), flush=True)
    median = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    rows = []
    for engine in engines:
        models = {
            model: {
                "seconds": statistics.median(run[model]["seconds"] for run in per_model[engine]),
                "rows": per_model[engine][0][model]["rows"],
            }
            for model in per_model[engine][0]
        }
        rows.append({
            "scale": name,
            "engine": engine,
            "accounts": accounts,
            "usage_events": count_lines(raw / "raw_usage_events.csv"),
            "floor_seconds": median(floors, "seconds"),
            "build_seconds": median(builds[engine], "seconds"),
            "ratio": round(median(builds[engine], "seconds") / median(floors, "seconds"), 2),
            "floor_peak_rss_mb": median(floors, "peak_rss_mb"),
            "build_peak_rss_mb": median(builds[engine], "peak_rss_mb"),
            "repetitions": repeat,
            "models": models,
        })
        if per_stage is not None:
            rows[-1]["usage_stages"] = per_stage
    return rows


def markdown(results: list[dict], master: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `python benchmarks/run.py` (Spark master `{master}`, {os.cpu_count()} cores); "
        "medians of the repetitions. Floor = read the five CSVs and write them once as Parquet; "
        "build = `novacrm run --layer all` with every check, cold. xlarge = the large dataset replicated "
        "10 times under new ids (`benchmarks/replicate.py`).",
        "",
        "| scale | engine | accounts | usage events | floor (s) | full build (s) | build / floor | growth vs previous scale | peak RSS build (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous: dict[str, float] = {}
    for r in results:
        engine = r.get("engine", "embedded")
        growth = f"{r['build_seconds'] / previous[engine]:.2f}x" if engine in previous else "-"
        lines.append(
            f"| {r['scale']} | {engine} | {r['accounts']:,} | {r['usage_events']:,} | {r['floor_seconds']:.1f} | "
            f"{r['build_seconds']:.1f} | {r['ratio']:.2f} | {growth} | {r['build_peak_rss_mb']:.0f} |"
        )
        previous[engine] = r["build_seconds"]
    largest = results[-1]
    lines += [
        "", f"## Where the time goes ({largest['scale']} scale, engine {largest.get('engine', 'embedded')})", "",
        "Seconds per model from run_results.json. The runner builds `parallel_models` (default 3) models at a "
        "time, so these overlap and add up to more than the build.", "",
        "| model | rows | seconds |", "|---|---:|---:|",
    ]
    for model, info in sorted(largest["models"].items(), key=lambda kv: -kv[1]["seconds"]):
        lines.append(f"| {model} | {info['rows'] if info['rows'] is not None else '-'} | {info['seconds']:.1f} |")
    lines += stages_table(results)
    return "\n".join(lines) + "\n"


def stages_table(results: list[dict]) -> list[str]:
    """Markdown lines: the usage path per stage at the largest scale measured with ``--stages`` (none without)."""
    measured = [r for r in results if r.get("usage_stages")]
    if not measured:
        return []
    largest = max(measured, key=lambda r: r["accounts"])
    stages = largest["usage_stages"]
    lines = [
        "", f"## Usage path, per stage ({largest['scale']} scale)", "",
        f"`benchmarks/usage_stages.py`, one Spark session (master `{stages['master']}`), one run. Cumulative: "
        "each stage's job redoes every stage before it (parse = read the CSV; dedupe = + clean and collapse "
        "identical rows; validation = + type, join the accounts, give each row its reason; write = + accepted "
        "rows written as Parquet; fct_usage = + the fct_usage model, whose job reads that Parquet: its own cost "
        "added to the write's). CPU = user + system time of the whole process tree (driver JVM and Python); "
        "the increment is what the stage adds to the one before.", "",
        "| stage | wall (s) | CPU (s) | CPU increment (s) |", "|---|---:|---:|---:|",
    ]
    for row in stages["stages"]:
        lines.append(f"| {row['stage']} | {row['wall_seconds']:.1f} | {row['cpu_seconds']:.1f} | "
                     f"{row['cpu_increment_seconds']:.1f} |")
    return lines


NOTES_MARKER = "<!-- notes: everything below is written by hand and kept by benchmarks/run.py -->"


def kept_notes(report: Path) -> str:
    """The hand-written part of an existing report (what was changed and what it gained)."""
    if not report.exists():
        return ""
    text = report.read_text()
    index = text.find(NOTES_MARKER)
    return "\n" + text[index:] if index >= 0 else ""


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """The options and the scales asked for (in the order given)."""
    parser = argparse.ArgumentParser(description="Full build vs Spark floor at several scales.")
    parser.add_argument("--scales", "--scale", dest="scales", default=DEFAULT_SCALES,
                        help=f"comma-separated: {', '.join(SCALES)} (default {DEFAULT_SCALES}; xlarge only when named)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (median reported)")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder for benchmarks.md and benchmarks.json")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "novacrm-bench-data"), help="dataset cache")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--engines", default="embedded", help="comma-separated: embedded, delta-spark (a build each)")
    parser.add_argument("--stages", action="store_true",
                        help="also time the usage path per stage (benchmarks/usage_stages.py), once per scale")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = [s for s in names if s not in SCALES]
    if unknown:
        parser.error(f"unknown scale(s) {', '.join(unknown)}; choose from {', '.join(SCALES)}")
    return args, names


def main() -> None:
    args, names = parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        how = f" ({REPLICATED[name][0]} x{REPLICATED[name][1]})" if name in REPLICATED else ""
        print(f"== {name}: {SCALES[name]:,} accounts{how}", flush=True)
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        results.extend(bench_scale(name, SCALES[name], args.repeat, cache, args.master, engines, args.stages))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(results, indent=2))
    report = out / "benchmarks.md"
    report.write_text(markdown(results, args.master) + kept_notes(report))
    print(f"Wrote {out / 'benchmarks.md'} and {out / 'benchmarks.json'}")


if __name__ == "__main__":
    main()
