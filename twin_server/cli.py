"""``twin-server``: the command line. ``serve`` runs the server with the TWIN_* settings."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from twin_server.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twin-server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server (settings from TWIN_* variables)")
    serve.add_argument("--host", help="overrides TWIN_HOST")
    serve.add_argument("--port", type=int, help="overrides TWIN_PORT")
    demo = commands.add_parser(
        "demo",
        help="a simulated pump station closing the loop on the embedded default",
        description="Runs the server (TWIN_HOST/TWIN_PORT; a fresh data folder), a pump "
        "station simulated as an OPC UA server in this process, motor sensors over MQTT when "
        "a broker answers, the example models, the pump-anomaly model and a rule that stops "
        "an anomalous pump; a GraphQL subscriber prints what happens.",
    )
    demo.add_argument("--pumps", type=int, default=3, help="pumps in the station (1 to 20)")
    demo.add_argument("--inject-fault", metavar="PUMP", help="for example pump-2")
    demo.add_argument("--fault", choices=["bearing", "cavitation"], default="bearing")
    demo.add_argument("--fault-after", type=float, default=10.0, help="seconds (default 10)")
    demo.add_argument("--ramp", type=float, default=15.0, help="seconds the fault takes to grow")
    demo.add_argument("--duration", type=float, help="seconds, then stop (default: Ctrl-C)")
    demo.add_argument(
        "--until-stopped",
        action="store_true",
        help="end once the faulty pump is stopped and its command acknowledged",
    )
    demo.add_argument("--mqtt", default="127.0.0.1:1883", help="host:port of a broker, or off")
    demo.add_argument("--data-dir", type=Path, help="default: a new temporary folder")
    models = commands.add_parser("models", help="work with DTDL model files")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    validate = model_commands.add_parser(
        "validate",
        help="validate DTDL files offline; print errors as file:line: id: message",
        description="Parse the files (and folders of .json files) as one model set. Exit 0 "
        "when valid, 1 when not, 2 when a file cannot be read.",
    )
    validate.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR")
    validate.add_argument(
        "--repository",
        type=Path,
        action="append",
        default=[],
        help="a folder laid out like the DTDL models repository, for DTMIs not given",
    )
    validate.add_argument(
        "--allow-undefined-extensions",
        action="store_true",
        help="accept extension contexts this parser does not know (DTDL v2 always does)",
    )
    args = parser.parse_args(argv)
    if args.command == "models":
        from twin_server.modeling.command import validate_command

        return validate_command(
            args.paths,
            repositories=args.repository,
            allow_undefined_extensions=args.allow_undefined_extensions or None,
        )
    flags = (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
    overrides = {k: v for k, v in flags if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        print("twin-server: invalid configuration:", file=sys.stderr)
        for error in exc.errors():
            field = (
                "TWIN_" + "_".join(str(p) for p in error["loc"]).upper()
                if error["loc"]
                else ("configuration")
            )
            given = f" (got {error['input']!r})" if error["loc"] else ""
            print(f"  {field}: {error['msg']}{given}", file=sys.stderr)
        return 2
    if args.command == "demo":
        return _demo(settings, args)
    return _serve(settings)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from twin_server.demo.run import DemoOptions, run_demo

    if not 1 <= args.pumps <= 20 or args.ramp <= 0 or args.fault_after < 0:
        print(
            "twin-server demo: --pumps is 1 to 20, --ramp over 0, --fault-after 0 or more",
            file=sys.stderr,
        )
        return 2
    options = DemoOptions(
        pumps=args.pumps,
        inject_fault=args.inject_fault,
        fault=args.fault,
        fault_after=args.fault_after,
        ramp=args.ramp,
        duration=args.duration,
        until_stopped=args.until_stopped,
        mqtt=args.mqtt,
        data_dir=args.data_dir,
    )
    tune_gc()
    return asyncio.run(run_demo(settings, options))


def tune_gc() -> None:
    """Entities are acyclic dicts and the caches hold many of them: a full collection walking
    them all stalls every request (measured: PATCH p99 55 ms -> 13 ms). Collect young objects
    rarely, old ones more rarely."""
    gc.set_threshold(50_000, 20, 100)


def _serve(settings: Settings) -> int:
    import uvicorn

    tune_gc()

    from twin_server.app import create_app
    from twin_server.http_protocol import uvicorn_options

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(create_app(settings), **uvicorn_options(settings))
    return 0
