"""The `homeport` command. `homeport serve` starts the API on the embedded default model."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import uvicorn

from homeport.config import Settings
from homeport.errors import HomeportError
from homeport.jobs.webhooks import new_endpoint
from homeport.store import Database
from homeport.store.webhooks import WebhookRepository

_SETTINGS = frozenset({"host", "port", "model", "data_dir", "prompts_dir"})
"""The command-line options that are settings (the rest are a command's own)."""


def _progress(done: int, total: int) -> None:
    """A one-line bar on stderr while the model file is assembled (a few seconds, once per data directory)."""
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\rpreparing model [{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}%")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _list_prompts(directory: Path) -> int:
    """One line per prompt version; unreadable files are named on stderr and make the exit status 1."""
    # Imported here, as `create_app` is below: the responses package loads every service.
    from homeport.responses.prompts import PromptLibrary, placeholders

    library = PromptLibrary(directory)
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


async def _webhooks(settings: Settings, args: argparse.Namespace) -> int:
    """The operator's webhook endpoints, in the store (a running server sees a change at its next event)."""
    database = await Database.open(settings.resolved_database_url)
    repository = WebhookRepository(database)
    try:
        if args.action == "add":
            events = args.events.split(",") if args.events else None
            try:
                endpoint = new_endpoint(args.target, args.secret, events, args.project)
            except HomeportError as exc:
                print(f"homeport webhooks add: {exc.message}", file=sys.stderr)
                return 2
            await repository.add_endpoint(endpoint)
            # The secret is shown this once, as OpenAI shows it when an endpoint is made.
            print(f"{endpoint.id} {endpoint.secret}")
        elif args.action == "list":
            for endpoint in await repository.endpoints():
                scope = endpoint.project or "every project"
                print(f"{endpoint.id}  {endpoint.url}  {','.join(endpoint.event_types)}  ({scope})")
        elif args.action == "remove":
            if not await repository.remove_endpoint(args.target):
                print(f"homeport webhooks remove: no endpoint {args.target!r}", file=sys.stderr)
                return 1
        else:
            for delivery in await repository.deliveries():
                status = delivery.last_status or "-"
                print(
                    f"{delivery.webhook_id}  {delivery.endpoint.id}  {delivery.type}  {delivery.state}  "
                    f"attempts {delivery.attempts}  last {status}  {delivery.last_error or ''}".rstrip()
                )
        return 0
    finally:
        await database.close()


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
    hooks = commands.add_parser("webhooks", help="the endpoints webhook events are sent to, and their deliveries")
    hooks.add_argument("action", choices=["add", "list", "remove", "deliveries"])
    hooks.add_argument("target", nargs="?", help="add: the endpoint's URL; remove: its id")
    hooks.add_argument("--secret", help="add: its signing secret, whsec_… (default: a new one, printed once)")
    hooks.add_argument("--events", help="add: comma-separated event types it takes (default: all)")
    hooks.add_argument("--project", help="add: only this project's events (default: every project's)")
    hooks.add_argument("--data-dir", help="data directory (HOMEPORT_DATA_DIR)")
    args = parser.parse_args(argv)
    overrides = {key: value for key, value in vars(args).items() if key in _SETTINGS and value is not None}
    settings = Settings(**overrides)
    if args.command == "prompts":
        sys.exit(_list_prompts(settings.resolved_prompts_dir))
    if args.command == "webhooks":
        if args.action in ("add", "remove") and not args.target:
            parser.error(f"webhooks {args.action} needs a {'URL' if args.action == 'add' else 'endpoint id'}")
        sys.exit(asyncio.run(_webhooks(settings, args)))
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The HTTP clients log every URL they request (an MCP server's, a file_url's, query strings and all); a URL
    # can carry a request's secrets, so only their warnings reach the log.
    for name in ("httpx2", "mcp"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    # Imported here: it loads the engine and every service, which the other commands do not need (a webhooks
    # command then starts in well under a second rather than five).
    from homeport.app import create_app

    app = create_app(settings, progress=_progress)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
