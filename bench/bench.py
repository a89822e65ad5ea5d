#!/usr/bin/env python3
"""The measurements behind scripts/bench (issue 6), run against a release build of secretsfs.

Every comparison is measured side by side in one run, interleaved round by round, and each
figure is the median of the rounds, because other builds and tests share this machine. The
results table goes to stdout and between the marker comments of docs/BENCHMARKS.md.

One module per section under bench/sections (its `run(bench)` adds its results), the shared
context in bench/harness.py, the table in bench/report.py. Expects what scripts/bench sets up:
the secretsfs binary, bench/readloop and libfuse's `hello` built, an OpenBao dev server
(SECRETSFS_TEST_VAULT_ADDR, _TOKEN) and moto (SECRETSFS_TEST_AWS_ENDPOINT)."""

import argparse
import importlib
import json
import os

import report
from harness import Bench, Daemon, log
from fake_systemd import FakeSystemd
from sections.lifetime import Readers

SECTIONS = ["cached", "cold", "herd", "many", "ready", "lifetime", "fleet", "freshness"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--readloop", required=True)
    parser.add_argument("--hello", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--doc", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--lifeloop", help="bench/lifeloop.c built; compiled into --workdir if not given")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    options = parser.parse_args()
    bench = Bench(options)
    sections = options.only.split(",")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {', '.join(sorted(unknown))}; the sections are {', '.join(SECTIONS)}")
    needs_servers = {"cold", "herd", "ready"} & set(sections)
    if needs_servers and not (bench.vault and bench.aws_endpoint):
        parser.error(f"{', '.join(sorted(needs_servers))} need OpenBao and moto (SECRETSFS_TEST_VAULT_ADDR, "
                     "_VAULT_TOKEN, _AWS_ENDPOINT): run scripts/bench")
    try:
        for name in sections:
            importlib.import_module(f"sections.{name}").run(bench)
    finally:
        Readers.stop_all()
        Daemon.cleanup_all()
        FakeSystemd.close_all()
    text = report.machine(options.root, options.quick) + "\n\n" + report.table(bench.results)
    with open(os.path.join(options.workdir, "results.json"), "w") as f:
        json.dump(bench.results, f, indent=1)
    print(text)
    if not options.no_doc:
        report.write_doc(options.doc, text)
        log(f"results written to {options.doc}")


if __name__ == "__main__":
    main()
