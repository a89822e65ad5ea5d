"""A throwaway PostgreSQL owned by the `postgres` user, and an OpenBao database secrets engine connected
to it: the real peers of the lease tests (DESIGN section 11). Shared by test_leases.py and
test_lease_access.py."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

from peers import free_port, unique

SUPERUSER_PASSWORD = "pg-superuser-" + os.urandom(8).hex()


class Postgres:
    """A throwaway cluster owned by the `postgres` user on a loopback port: initdb, pg_ctl start -w."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        assert found, "PostgreSQL is not installed: scripts/test installs it (Debian's postgresql)"
        self.bindir = os.path.dirname(found[-1])
        self.dir = tempfile.mkdtemp(prefix="secretsfs-pg-")
        owner = pwd.getpwnam("postgres")
        os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self.port = free_port()
        self.data = os.path.join(self.dir, "data")
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(SUPERUSER_PASSWORD)
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                 f"--pwfile={pwfile}", "--no-sync")
        os.unlink(pwfile)
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def run(self, program, *args):
        result = subprocess.run([os.path.join(self.bindir, program), *args], user="postgres", cwd=self.dir,
                                capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr.decode(errors="replace")

    def query(self, sql):
        """One value per row, as the superuser over the unix socket."""
        result = subprocess.run(
            ["psql", "-h", self.dir, "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-At", "-c", sql],
            user="postgres", capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return result.stdout.decode().split()

    def users_like(self, prefix):
        return self.query(f"select rolname from pg_roles where rolname like '{prefix}%'")

    def login(self, username, password):
        """True when `username` logs in over TCP with `password` and runs a query."""
        result = subprocess.run(
            ["psql", "-w", "-h", "127.0.0.1", "-p", str(self.port), "-U", username, "-d", "postgres", "-At",
             "-c", "select 1"],
            env={**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}, capture_output=True, timeout=30)
        return result.returncode == 0 and result.stdout.strip() == b"1"

    def stop(self):
        subprocess.run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"],
                       user="postgres", capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


class Engine:
    """A database secrets engine of its own, connected to `postgres`, with role `app`."""

    def __init__(self, bao, postgres, default_ttl="1h", max_ttl="24h"):
        self.bao = bao
        self.vault = bao.vault
        self.mount = unique("db")
        # Each engine's users start with their own name, so tests sharing the cluster count their own.
        self.prefix = f"v-{self.mount[-8:]}"
        self.vault.request("POST", f"sys/mounts/{self.mount}", {"type": "database"})
        self.vault.request("POST", f"{self.mount}/config/pg", {
            "plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
            "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{postgres.port}/postgres"
                              "?sslmode=disable",
            "username": "postgres", "password": SUPERUSER_PASSWORD,
            "username_template": f"{self.prefix}-{{{{random 10 | lowercase}}}}"})
        self.role("app", default_ttl, max_ttl)

    def role(self, name, default_ttl, max_ttl):
        self.vault.request("POST", f"{self.mount}/roles/{name}", {
            "db_name": "pg", "default_ttl": default_ttl, "max_ttl": max_ttl,
            "creation_statements": [
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]})

    def requests(self, path):
        """How many requests for `path` the audit log holds."""
        return self.bao.requests(path)

    def creds_reads(self):
        return self.requests(f"{self.mount}/creds/app")
