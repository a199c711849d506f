"""Every error becomes RFC 9457 problem+json in the API and a readable page elsewhere.

No answer ever carries a stack trace: unexpected errors are logged with the request id, and
the person sees that id so an operator can find the log line.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from datafactory.core.errors import (
    BadRequest,
    DatafactoryError,
    FieldError,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from datafactory.core.logs import get_logger
from datafactory.web.templating import render

PROBLEM_JSON = "application/problem+json"
log = get_logger("datafactory.web")


class _HttpProblem(DatafactoryError):
    """A plain HTTP error raised by the framework itself (unknown route, wrong method)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self._status = status

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body = super().problem(instance)
        body.update(status=self._status, title=_TITLES.get(self._status, "Error"))
        body["type"] = "about:blank"
        return body


_TITLES = {404: "Not found", 405: "Method not allowed", 413: "Request body too large"}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path in ("/healthz",):
        return False
    return "text/html" in request.headers.get("accept", "")


def problem_response(request: Request, error: DatafactoryError) -> Response:
    body = error.problem(instance=request.url.path)
    headers = {"X-Request-ID": getattr(request.state, "request_id", "")}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="datafactory"'
    if wants_html(request):
        return _error_page(request, error, body, headers)
    return JSONResponse(
        body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers
    )


def _error_page(
    request: Request,
    error: DatafactoryError,
    body: dict[str, Any],
    headers: dict[str, str],
) -> Response:
    if isinstance(error, Unauthenticated) and not request.url.path.startswith("/oidc/"):
        return RedirectResponse(f"/sign-in?next={request.url.path}", status_code=303)
    headers.pop("WWW-Authenticate", None)
    response = render(
        request, "error.html", {"problem": body}, status_code=body["status"]
    )
    response.headers.update(headers)
    return response  # type: ignore[no-any-return]


def _validation_error(exc: RequestValidationError) -> DatafactoryError:
    errors = []
    for item in exc.errors():
        if item.get("type") == "json_invalid":
            return BadRequest("The request body is not valid JSON.")
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        errors.append(FieldError(".".join(location) or "body", str(item.get("msg"))))
    return InvalidInput("The request is not valid.", errors=errors)


def install(app: FastAPI) -> None:
    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DatafactoryError)
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, _validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return problem_response(
                request, NotFound("There is nothing at this address.")
            )
        return problem_response(request, _HttpProblem(exc.status_code, str(exc.detail)))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", "")
        log.error("unhandled error", error=type(exc).__name__, path=request.url.path)
        return problem_response(
            request,
            DatafactoryError(
                f"Something went wrong on our side. Quote request id {request_id} "
                "if you contact the operators."
            ),
        )

    app.add_exception_handler(DatafactoryError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
