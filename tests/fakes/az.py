"""A fake Azure CLI: ``install_fake_az(bin_dir)`` puts an executable ``az`` first on PATH.

It answers ``az account get-access-token`` the way the real one does, from a JSON state file
next to it (``az-state.json``) that a test rewrites between runs:

- ``{"mode": "ok", "token": ..., "expires_on": epoch, "tenant": ...}``: prints the real JSON shape;
- ``{"mode": "not-logged-in"}``: prints the real message on stderr and exits 1;
- ``{"mode": "garbage"}``: prints something that is not JSON and exits 0.

Each call's arguments (never a token) are appended to ``az-calls.jsonl`` for assertions."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


STATE_FILE = "az-state.json"
CALLS_FILE = "az-calls.jsonl"

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
    expires_on = int(state["expires_on"])
    answer = {
        "accessToken": state["token"],
        "expiresOn": datetime.fromtimestamp(expires_on).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "expires_on": expires_on,
        "subscription": "00000000-0000-0000-0000-000000000000",
        "tenant": state.get("tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        "tokenType": "Bearer",
    }
    sys.stdout.write(json.dumps(answer, indent=2) + "\n")
    return 0


@dataclass(frozen=True)
class FakeAz:
    directory: Path

    def set(self, **state: object) -> None:
        (self.directory / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

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
