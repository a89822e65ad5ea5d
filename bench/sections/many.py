"""Section 5: 10,000 secrets in 10 folders of the local store: `ls -l`, `find`, reading them all
(twice), and the supervisor's and worker's memory, against the same tree on tmpfs."""

import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from harness import log, median, read_file


def seed_many(bench, store, folders, per_folder):
    """The first secrets through `secretsfs put` (timed, 2 at a time), the rest with sqlite3
    by the same statements LocalSecretStore uses, in the file and schema the CLI created."""
    names = [f"d{d}/s{i:04d}" for d in range(folders) for i in range(per_folder)]
    by_cli = names[:40]
    began = time.perf_counter()
    # The first put alone: it creates the store file and its schema.
    bench.cli("put", by_cli[0], input=secrets.token_hex(16).encode(), store=store)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda name: bench.cli("put", name, input=secrets.token_hex(16).encode(), store=store),
                      by_cli[1:]))
    per_put = (time.perf_counter() - began) / len(by_cli)
    began = time.perf_counter()
    db = sqlite3.connect(store)
    (user_version,) = db.execute("PRAGMA user_version").fetchone()
    if user_version != 1:
        raise RuntimeError(f"the store has schema version {user_version}; bench/sections/many.py writes version 1")
    now = time.time()
    with db:
        for name in names[len(by_cli):]:
            # LocalSecretStore.insertVersion: kind 0 is a plain value, content its bytes.
            db.execute("INSERT INTO versions (path, version, created_at, kind, content) VALUES (?1, ?2, ?3, ?4, ?5)",
                       (name, 1, now, 0, secrets.token_hex(16).encode()))
            db.execute("INSERT INTO secrets (path, current_version) VALUES (?1, ?2) "
                       "ON CONFLICT (path) DO UPDATE SET current_version = excluded.current_version", (name, 1))
    db.close()
    direct = time.perf_counter() - began
    # What the daemon will serve, read back by the CLI from a row written here.
    if len(bench.cli("get", names[-1], store=store)) != 32:
        raise RuntimeError("a secret written with sqlite3 does not read back through the CLI")
    return names, per_put, direct

def run(bench):
    folders, per_folder = 10, 1000
    rounds = 1 if bench.quick else 3
    log(f"5: {folders * per_folder} secrets in {folders} folders, {rounds} fresh mounts")
    store = os.path.join(bench.fresh_dir("many"), "many.db")
    names, per_put, direct = seed_many(bench, store, folders, per_folder)
    # The same tree as files on tmpfs, timed by the same commands in each round, for the ratios.
    shm = tempfile.mkdtemp(prefix="secretsfs-bench-many-", dir="/dev/shm")
    for name in names:
        os.makedirs(os.path.dirname(os.path.join(shm, name)), exist_ok=True)
        with open(os.path.join(shm, name), "w") as f:
            f.write(secrets.token_hex(16))

    def timed_shell(command):
        began = time.perf_counter()
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True,
                             env={**os.environ, "LC_ALL": "C"})
        return time.perf_counter() - began, out.stdout

    results = []
    for _ in range(rounds):
        # Reading the 10,000 values and nothing else, on a mount of its own.
        daemon = bench.mount("many-read", backend=("--store", store))
        daemon.start(probe=".status")
        for name in names:
            if len(read_file(os.path.join(daemon.mountpoint, name))) != 32:
                raise RuntimeError(f"{name} has the wrong size")
        rss_read_only = daemon.rss_kib()
        worker_read_only = daemon.worker_rss_kib()
        daemon.cleanup()

        daemon = bench.mount("many", backend=("--store", store))
        daemon.start(probe=".status")
        rss_start = daemon.rss_kib()
        mp = daemon.mountpoint
        ls_cold, ls_out = timed_shell(f"ls -l {mp}/d3")
        ls_entries = sum(1 for line in ls_out.splitlines() if line.startswith("-r"))
        ls_warm, _ = timed_shell(f"ls -l {mp}/d3")
        find_time, find_out = timed_shell(f"find {mp} -type f | wc -l")
        rss_find = daemon.rss_kib()
        find_secret_files, _ = timed_shell(f"find {mp} -type f -not -path '*/.versions/*' -not -name '.*' | wc -l")
        began = time.perf_counter()
        for name in names:
            if len(read_file(os.path.join(mp, name))) != 32:
                raise RuntimeError(f"{name} has the wrong size")
        read_all = time.perf_counter() - began
        rss_end = daemon.rss_kib()
        worker_end = daemon.worker_rss_kib()
        anon_end, file_end = daemon.worker_rss_kib("RssAnon"), daemon.worker_rss_kib("RssFile")
        # A second pass: with the default `--cache-max-entries` the whole tree and its listings
        # stay cached, so it asks the store nothing.
        calls_before = daemon.fresh_status()["cache"]["backend_calls"]
        began = time.perf_counter()
        for name in names:
            read_file(os.path.join(mp, name))
        read_again = time.perf_counter() - began
        second_pass_calls = daemon.fresh_status()["cache"]["backend_calls"] - calls_before
        status = daemon.fresh_status()
        daemon.cleanup()
        timed_shell(f"ls -l {shm}/d3")
        tmpfs_ls, _ = timed_shell(f"ls -l {shm}/d3")
        tmpfs_find, _ = timed_shell(f"find {shm} -type f | wc -l")
        results.append({
            "tmpfs_ls_ms": tmpfs_ls * 1e3, "tmpfs_find_s": tmpfs_find,
            "ls_cold_ms": ls_cold * 1e3, "ls_warm_ms": ls_warm * 1e3, "ls_entries": ls_entries,
            "find_s": find_time, "find_count": int(find_out.strip()), "read_all_s": read_all,
            "rss_read_only_mib": rss_read_only / 1024, "rss_start_mib": rss_start / 1024, "rss_find_mib": rss_find / 1024, "rss_end_mib": rss_end / 1024,
            "worker_read_only_mib": worker_read_only / 1024, "worker_end_mib": worker_end / 1024,
            "read_again_s": read_again, "second_pass_calls": second_pass_calls,
            "anon_end_mib": anon_end / 1024, "file_end_mib": file_end / 1024,
            "cache_entries": status["cache"]["entries"], "inodes": status["inodes"]})
    shutil.rmtree(shm, ignore_errors=True)
    summary = {key: median([r[key] for r in results]) for key in results[0]}
    summary.update({"per_put_ms": per_put * 1e3, "seed_direct_s": direct, "rounds": results,
                    "secrets": len(names)})
    bench.results["many"] = summary
