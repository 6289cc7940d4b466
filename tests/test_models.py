"""GET /v1/models: the served model and its aliases; unknown names are 404 model_not_found."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI
from tests.conftest import SMALL


def test_list_has_the_model_and_the_docs_aliases(client: OpenAI) -> None:
    names = [model.id for model in client.models.list()]
    assert names[0] == SMALL
    for alias in (
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "o3",
        "o4-mini",
    ):
        assert alias in names


def test_retrieve_model(client: OpenAI) -> None:
    model = client.models.retrieve("gpt-4.1")
    assert model.id == "gpt-4.1" and model.object == "model" and model.owned_by == "homeport"


def test_unknown_model_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("no-such-model")
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="no-such-model", input="Hi")
    assert caught.value.code == "model_not_found"
    assert caught.value.body["param"] == "model"  # type: ignore[index]
