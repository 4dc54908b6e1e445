"""Run the Azure Artifacts feed emulator for a local demo: `python -m tests.emulator --help`.

Prints the feed's index URL, upload URL and a throwaway write token, then serves on 127.0.0.1
until SIGINT or SIGTERM, and exits 0. With `--print-json` stdout gets exactly one JSON line
(`{"event": "ready", ...}`) for scripts; the human-readable lines go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from tests.emulator.emulator import FeedEmulator
from tests.emulator.emulator import make_pat


TOKEN_ENV = "ADO_EMULATOR_TOKEN"
NOTE = (
    "local demo only: this token is a throwaway generated for this emulator and is valid nowhere "
    "else; it is printed because the emulator is a disposable local stand-in for Azure DevOps"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulator",
        description="A local Azure DevOps Artifacts Python feed (Azure's URLs, pages, downloads, "
        "auth and errors). Listens on 127.0.0.1 (and 127.0.0.2 for downloads) only.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument(
        "--storage",
        type=Path,
        help="directory for the feed's packages, kept after exit (default: a temporary one)",
    )
    parser.add_argument("--org", default="contoso", help="organization (default: contoso)")
    parser.add_argument(
        "--project",
        default="Fabrikam Web",
        help="project; an empty string makes an organization-scoped feed (default: 'Fabrikam Web')",
    )
    parser.add_argument("--feed", default="team-feed", help="feed name (default: team-feed)")
    parser.add_argument(
        "--prefix",
        default=None,
        help="server prefix (default: none when hosted, /tfs/DefaultCollection in server mode)",
    )
    parser.add_argument(
        "--mode",
        choices=("hosted", "server"),
        default="hosted",
        help="hosted: pkgs.dev.azure.com (downloads redirect to a blob host on 127.0.0.2); "
        "server: Azure DevOps Server 2022 (default: hosted)",
    )
    parser.add_argument(
        "--upstream",
        metavar="URL",
        help="simple-index URL of a local index the feed proxies as its upstream source",
    )
    parser.add_argument(
        "--seed",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="copy this wheel/sdist into the feed before serving (repeatable)",
    )
    parser.add_argument(
        "--print-json", action="store_true", help="print one machine-readable JSON line on stdout"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    emulator = FeedEmulator(
        args.storage,
        prefix=args.prefix,
        port=args.port,
        verbose=args.verbose,
        mode=args.mode,
        upstream=args.upstream,
    )
    try:
        feed = emulator.add_feed(args.org or None, args.feed, project=args.project or None)
        for path in args.seed:
            feed.add_file(path)
    except (ValueError, OSError) as error:
        emulator.stop()
        print(f"error: {error}", file=sys.stderr)
        return 2
    token = os.environ.get(TOKEN_ENV) or make_pat()
    read_token = make_pat()
    emulator.add_token(token, write=True)
    emulator.add_token(read_token, write=False)
    username = "demo"
    emulator.start()
    try:
        info = {
            "event": "ready",
            "base_url": emulator.base_url,
            "index_url": feed.index_url,
            "upload_url": feed.upload_url,
            "username": username,
            "token": token,
            "read_token": read_token,
            "storage": str(feed.storage),
            "mode": args.mode,
            "pid": os.getpid(),
            "note": NOTE,
        }
        human = sys.stderr if args.print_json else sys.stdout
        if args.print_json:
            print(json.dumps(info), flush=True)
        lines = [
            "Azure Artifacts feed emulator (local demo) is running.",
            f"  index URL : {feed.index_url}",
            f"  upload URL: {feed.upload_url}",
            f"  username  : {username} (any name works, even an empty one)",
            f"  token     : {token}  (read & write)",
            f"  read token: {read_token}  (read only)",
            f"  NOTE      : {NOTE}.",
            f"  storage   : {feed.storage}",
            "Stop with Ctrl+C or SIGTERM.",
        ]
        print("\n".join(lines), file=human, flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        emulator.stop()
    print("emulator stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
