"""Every failure leaves as OpenAI's error body, built by `errors.error_body` and nothing else."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from homeport.errors import HomeportError, error_body, invalid_request_from

log = logging.getLogger("homeport.api")


async def _homeport_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HomeportError)
    if exc.status_code >= 500:
        log.error("request failed: %s", exc.message, exc_info=exc.__cause__)
    return JSONResponse(exc.body(), status_code=exc.status_code)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI puts where the value came from (query, path, body) first; OpenAI names only the param.
    errors = [{**error, "loc": tuple(error["loc"])[1:]} for error in exc.errors()]
    error = invalid_request_from(errors)
    return JSONResponse(error.body(), status_code=400)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    message = "Unknown request URL. Check the method and path." if exc.status_code in (404, 405) else exc.detail
    return JSONResponse(error_body(str(message), type=kind), status_code=exc.status_code)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(
        error_body("The server had an error while processing your request.", type="server_error"), status_code=500
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(HomeportError, _homeport_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
