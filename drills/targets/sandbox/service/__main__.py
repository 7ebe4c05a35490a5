"""`python -m drills.targets.sandbox.service --config PATH --replica N [--metrics-port P]`: run one
replica (P: a port of this replica alone, for Prometheus to scrape it)."""

from __future__ import annotations

import argparse
import sys

from drills.errors import InputError
from drills.targets.sandbox.service.config import ServiceConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drills.targets.sandbox.service",
        description="One replica of the sandbox's reference control-plane service.",
    )
    parser.add_argument("--config", required=True, help="the service config JSON file")
    parser.add_argument("--replica", type=int, default=0, help="this replica's number")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="also answer on this port of the config's host, this replica alone (for scraping)",
    )
    args = parser.parse_args(argv)
    if args.replica < 0:
        parser.error("--replica must be >= 0")
    if args.metrics_port is not None and not 1 <= args.metrics_port <= 65535:
        parser.error("--metrics-port must be in 1..65535")
    try:
        config = ServiceConfig.from_json_file(args.config)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Imported here so a bad config is reported without paying for the web stack's imports.
    from drills.targets.sandbox.service.server import serve

    try:
        return serve(config, args.replica, metrics_port=args.metrics_port)
    except InputError as exc:  # e.g. a conninfo libpq cannot parse
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
