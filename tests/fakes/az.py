"""A fake Azure CLI: ``install_fake_az(bin_dir)`` puts an executable ``az`` first on PATH.

It answers ``az account get-access-token`` the way the real one does, from a JSON state file
next to it (``az-state.json``) that a test rewrites between runs:

- ``{"mode": "ok", "token": ..., "expires_on": epoch, "tenant": ...}``: prints the real JSON shape;
- ``{"mode": "not-logged-in"}``: prints the real message on stderr and exits 1;
- ``{"mode": "garbage"}``: prints something that is not JSON and exits 0;
- ``{"mode": "hang"}``: starts a child process that sleeps, writes its pid and az's own to
  ``az-pids.json``, and hangs (as az does waiting for a device-code or MFA prompt);
- ``{"mode": "leaky-error", "token": ...}``: prints the token on stderr and exits 1;
- ``"tenants": {tenant: token}`` beside ``"ok"``: ``--tenant T`` answers that tenant's token (an
  account in several tenants); without ``--tenant`` the default ``token`` and ``tenant``.

Each call's arguments (never a token) are appended to ``az-calls.jsonl`` for assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


STATE_FILE = "az-state.json"
CALLS_FILE = "az-calls.jsonl"
PIDS_FILE = "az-pids.json"

NOT_LOGGED_IN = "Please run 'az login' to setup account.\n"


def main(argv: list[str], here: Path) -> int:
    with (here / CALLS_FILE).open("a", encoding="utf-8") as calls:
        calls.write(json.dumps(argv) + "\n")
    state = json.loads((here / STATE_FILE).read_text(encoding="utf-8"))
    if argv[:2] != ["account", "get-access-token"]:
        sys.stderr.write(f"fake az: unsupported command {argv[:2]}\n")
        return 2
    mode = state.get("mode", "ok")
    if mode == "not-logged-in":
        sys.stderr.write(NOT_LOGGED_IN)
        return 1
    if mode == "garbage":
        sys.stdout.write("WARNING: something unexpected happened\n")
        return 0
    if mode == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        pids = {"az": os.getpid(), "child": child.pid}
        (here / PIDS_FILE).write_text(json.dumps(pids), encoding="utf-8")
        time.sleep(3600)
        return 0
    if mode == "leaky-error":
        sys.stderr.write(f"ERROR: the request with token {state['token']} failed\n")
        return 1
    expires_on = int(state["expires_on"])
    token, tenant = state["token"], state.get("tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47")
    if "--tenant" in argv:
        asked = argv[argv.index("--tenant") + 1]
        token, tenant = state.get("tenants", {}).get(asked, token), asked
    answer = {
        "accessToken": token,
        "expiresOn": datetime.fromtimestamp(expires_on).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "expires_on": expires_on,
        "subscription": "00000000-0000-0000-0000-000000000000",
        "tenant": tenant,
        "tokenType": "Bearer",
    }
    sys.stdout.write(json.dumps(answer, indent=2) + "\n")
    return 0


@dataclass(frozen=True)
class FakeAz:
    directory: Path

    def set(self, **state: object) -> None:
        (self.directory / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    def pids(self) -> dict[str, int]:
        """The pids a ``hang`` run wrote: az's own and its child's."""
        data: dict[str, int] = json.loads((self.directory / PIDS_FILE).read_text(encoding="utf-8"))
        return data

    def calls(self) -> list[list[str]]:
        path = self.directory / CALLS_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def install_fake_az(bin_dir: Path) -> FakeAz:
    """Write ``bin_dir/az`` (POSIX) running this module with the test interpreter."""
    repo = Path(__file__).resolve().parents[2]
    script = bin_dir / "az"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(repo)!r})\n"
        "from tests.fakes.az import main\n"
        "sys.exit(main(sys.argv[1:], Path(__file__).resolve().parent))\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    fake = FakeAz(bin_dir)
    fake.set(mode="not-logged-in")
    return fake


IDENTITY_FAKES = Path(__file__).resolve().parent / "azure_identity"


def identity_env(state: Path, **answer: object) -> dict[str, str]:
    """The variables that give a poetry subprocess the fake ``azure.identity``, answering
    ``answer`` (``token=..., expires_on=...`` or ``fail=...``)."""
    state.write_text(json.dumps(answer), encoding="utf-8")
    return {"PYTHONPATH": str(IDENTITY_FAKES), "FAKE_AZURE_IDENTITY_STATE": str(state)}


def identity_calls(state: Path) -> list[dict[str, object]]:
    path = state.with_name(state.name + ".calls")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
