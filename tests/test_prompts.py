"""Reusable prompts: operator files named by `prompt={"id", "version", "variables"}` on a response."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from openai import OpenAI
from tests.conftest import Server

SUPPORT = {
    "id": "pmpt_support",
    "versions": {
        "1": {"instructions": "You answer for {{company}}.", "variables": {"company": "Acme"}},
        "2": {
            "instructions": "You answer {{customer}} for {{company}}.",
            "model": "gpt-4o",
            "variables": {"company": "Acme"},
        },
    },
}


@pytest.fixture(scope="module")
def prompts_dir(server: Server) -> Path:
    directory = server.data_dir / "prompts"
    directory.mkdir(exist_ok=True)
    (directory / "support.json").write_text(json.dumps(SUPPORT))
    return directory


def test_prompt_by_id_uses_the_latest_version_and_its_model(client: OpenAI, prompts_dir: Path) -> None:
    response = client.responses.create(
        prompt={"id": "pmpt_support", "variables": {"customer": "Ada"}}, input="Hi", max_output_tokens=16
    )
    assert response.prompt is not None
    assert (response.prompt.id, response.prompt.version) == ("pmpt_support", "2")
    assert response.prompt.variables == {"customer": "Ada"}
    assert response.instructions == "You answer Ada for Acme."
    assert client.responses.retrieve(response.id).prompt == response.prompt


def test_pinned_version_defaults_and_request_instructions(client: OpenAI, prompts_dir: Path) -> None:
    response = client.responses.create(
        model="gpt-4o",
        prompt={"id": "pmpt_support", "version": "1", "variables": {"company": {"type": "input_text", "text": "Zed"}}},
        instructions="Be brief.",
        input="Hi",
        max_output_tokens=16,
    )
    assert response.instructions == "You answer for Zed.\n\nBe brief."
    plain = client.responses.input_tokens.count(model="gpt-4o", input="Hi", instructions="Be brief.")
    assert response.usage is not None
    assert response.usage.input_tokens > plain.input_tokens, "the prompt's instructions reach the model"


@pytest.mark.parametrize(
    ("prompt", "error", "param"),
    [
        ({"id": "pmpt_nope"}, openai.NotFoundError, "prompt.id"),
        ({"id": "pmpt_support", "version": "9"}, openai.NotFoundError, "prompt.version"),
        ({"id": "pmpt_support"}, openai.BadRequestError, "prompt.variables.customer"),
        (
            {"id": "pmpt_support", "variables": {"customer": "A", "mood": "x"}},
            openai.BadRequestError,
            "prompt.variables.mood",
        ),
        (
            {"id": "pmpt_support", "variables": {"customer": {"type": "input_image", "image_url": "data:"}}},
            openai.BadRequestError,
            "prompt.variables.customer",
        ),
    ],
)
def test_prompt_errors(client: OpenAI, prompts_dir: Path, prompt: dict, error: type, param: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error) as caught:
        client.responses.create(model="gpt-4o", prompt=prompt, input="Hi", max_output_tokens=16)  # type: ignore[arg-type]
    assert caught.value.body["param"] == param  # type: ignore[attr-defined]


def test_model_is_required_without_a_prompt_model(client: OpenAI, prompts_dir: Path) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(prompt={"id": "pmpt_support", "version": "1"}, input="Hi")
    assert caught.value.body["param"] == "model"  # type: ignore[index]


def test_cli_lists_prompts_and_names_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "support.json").write_text(json.dumps(SUPPORT))
    (tmp_path / "broken.json").write_text("{not json")
    listed = subprocess.run(
        [sys.executable, "-m", "homeport.cli", "prompts", "list", "--prompts-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 1
    assert "pmpt_support  version 2 (latest)  model gpt-4o  variables: company, customer" in listed.stdout
    assert "broken.json" in listed.stderr
