"""The `homeport` command. `homeport serve` starts the API on the embedded default model."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from homeport.app import create_app
from homeport.config import Settings
from homeport.responses.prompts import PromptLibrary, placeholders


def _progress(done: int, total: int) -> None:
    """A one-line bar on stderr while the model file is assembled (a few seconds, once per data directory)."""
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\rpreparing model [{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}%")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _list_prompts(library: PromptLibrary) -> int:
    """One line per prompt version; unreadable files are named on stderr and make the exit status 1."""
    prompts, problems = library.load()
    print(f"prompts in {library.directory}:")
    for prompt in prompts.values():
        for name, version in prompt.versions.items():
            latest = " (latest)" if name == prompt.latest else ""
            variables = ", ".join(sorted(placeholders(version.instructions))) or "-"
            print(f"  {prompt.id}  version {name}{latest}  model {version.model or '-'}  variables: {variables}")
    for problem in problems:
        print(f"  unreadable: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="homeport", description="The OpenAI platform API, self-hosted.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP server (settings also read from HOMEPORT_*)")
    serve.add_argument("--host", help="address to bind (HOMEPORT_HOST)")
    serve.add_argument("--port", type=int, help="TCP port (HOMEPORT_PORT)")
    serve.add_argument("--model", help="packaged model name or a .gguf path (HOMEPORT_MODEL)")
    serve.add_argument("--data-dir", help="where the database and model files live (HOMEPORT_DATA_DIR)")
    prompts = commands.add_parser("prompts", help="reusable prompts defined in the prompts directory")
    prompts.add_argument("action", choices=["list"], help="list the prompts, their versions and variables")
    prompts.add_argument("--data-dir", help="data directory (HOMEPORT_DATA_DIR)")
    prompts.add_argument("--prompts-dir", help="prompts directory (HOMEPORT_PROMPTS_DIR)")
    args = parser.parse_args(argv)
    overrides = {
        key: value for key, value in vars(args).items() if key not in ("command", "action") and value is not None
    }
    settings = Settings(**overrides)
    if args.command == "prompts":
        sys.exit(_list_prompts(PromptLibrary(settings.resolved_prompts_dir)))
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The HTTP clients log every URL they request (an MCP server's, a file_url's, query strings and all); a URL
    # can carry a request's secrets, so only their warnings reach the log.
    for name in ("httpx2", "mcp"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    app = create_app(settings, progress=_progress)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
