"""The `homeport` command. `homeport serve` starts the API on the embedded default model."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from homeport.app import create_app
from homeport.config import Settings


def _progress(done: int, total: int) -> None:
    """A one-line bar on stderr while the model file is assembled (a few seconds, once per data directory)."""
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\rpreparing model [{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}%")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="homeport", description="The OpenAI platform API, self-hosted.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP server (settings also read from HOMEPORT_*)")
    serve.add_argument("--host", help="address to bind (HOMEPORT_HOST)")
    serve.add_argument("--port", type=int, help="TCP port (HOMEPORT_PORT)")
    serve.add_argument("--model", help="packaged model name or a .gguf path (HOMEPORT_MODEL)")
    serve.add_argument("--data-dir", help="where the database and model files live (HOMEPORT_DATA_DIR)")
    args = parser.parse_args(argv)
    overrides = {key: value for key, value in vars(args).items() if key != "command" and value is not None}
    settings = Settings(**overrides)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings, progress=_progress)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
