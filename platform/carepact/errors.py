"""One error shape for the whole API: a stable machine code, a zh-CN message, field errors."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

import asyncpg.exceptions
import msgspec
import redis.exceptions
from litestar import Litestar, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec

log = logging.getLogger("carepact.errors")


class FieldError(msgspec.Struct, kw_only=True):
    field: str
    code: str
    message: str


class ErrorBody(msgspec.Struct, kw_only=True):
    code: str
    message: str
    fields: list[FieldError] = msgspec.field(default_factory=list)


class Problem(Exception):
    """A refusal the user can act on. Raise it from services; the handler renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []
        self.headers = headers or {}


def not_found(kind: str, label: str) -> Problem:
    """404 for anything the caller may not know exists, as for what does not exist."""
    return Problem(404, f"{kind}.not_found", f"未找到该{label}，或您无权查看。")


def forbidden(message: str = "您的角色无权执行此操作。", code: str = "permission.denied") -> Problem:
    return Problem(403, code, message)


# msgspec's English validation messages, in the words a Chinese clerk would use.
_TYPE_NAMES = {
    "int": "整数",
    "str": "文本",
    "float": "数字",
    "bool": "是/否",
    "object": "对象",
    "array": "列表",
    "null": "空值",
    "date": "日期 (YYYY-MM-DD)",
    "datetime": "日期时间 (ISO 8601)",
    "uuid": "UUID",
}
_RULES: list[tuple[re.Pattern[str], str, Any]] = [
    (re.compile(r"Object missing required field `([^`]+)`"), "required", lambda m: "此项必填"),
    (re.compile(r"Object contains unknown field `([^`]+)`"), "unknown_field", lambda m: "不允许的字段"),
    (
        # Optional fields name a union: "Expected `float | null`, got `str`".
        re.compile(r"Expected `([\w |]+)`, got `(\w+)`"),
        "type",
        lambda m: (
            f"应为{'或'.join(_TYPE_NAMES.get(t, t) for t in m[1].split(' | '))}，实际为{_TYPE_NAMES.get(m[2], m[2])}"
        ),
    ),
    (re.compile(r"Expected `\w+` (>=|>|<=|<) (-?[\d.]+)"), "range", lambda m: f"数值应{m[1]} {m[2]}"),
    (
        re.compile(r"Expected `\w+` of length (>=|<=) (\d+)"),
        "length",
        lambda m: ("长度不能少于 " if m[1] == ">=" else "长度不能超过 ") + m[2],
    ),
    (re.compile(r"Number out of range"), "range", lambda m: "数值超出范围"),
    (re.compile(r"matching regex"), "format", lambda m: "格式不正确"),
    (re.compile(r"Invalid enum value"), "choice", lambda m: "不是允许的取值"),
    (re.compile(r"Invalid (RFC3339|ISO 8601|date|datetime)"), "format", lambda m: "日期时间格式不正确"),
    (re.compile(r"Invalid UUID"), "format", lambda m: "UUID 格式不正确"),
    (re.compile(r"JSON is malformed|Input data was truncated|Invalid JSON"), "json", lambda m: "请求体不是有效的 JSON"),
]
_PATH = re.compile(r"at `\$((?:\.[\w]+|\[\d+\])*)`")


def translate(message: str, key: str | None = None) -> FieldError:
    """One msgspec/Litestar validation message → a field error in Chinese."""
    field = key or ""
    path = _PATH.search(message)
    if path:
        field = path[1].lstrip(".")
    for pattern, code, render in _RULES:
        m = pattern.search(message)
        if m:
            if code in {"required", "unknown_field"}:
                field = f"{field}.{m[1]}".lstrip(".") if field else m[1]
            return FieldError(field=field or "body", code=code, message=render(m))
    return FieldError(field=field or "body", code="invalid", message="取值无效")


def _validation_fields(exc: ValidationException) -> list[FieldError]:
    extra = exc.extra if isinstance(exc.extra, list) else [exc.extra] if exc.extra else []
    fields = []
    for item in extra:
        if isinstance(item, dict):
            key = item.get("key")
            source = item.get("source")
            source = getattr(source, "value", source)
            if source == "body" and key == "data":
                key = None  # Litestar names the body root after the handler's `data` argument
            name = f"{source}.{key}" if source in {"query", "path", "header", "cookie"} and key else key
            fields.append(translate(str(item.get("message", "")), name))
    if not fields:
        fields.append(translate(str(exc.detail)))
    return fields


def _body(problem: ErrorBody, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(content=problem, status_code=status, headers=headers, media_type="application/json")


# Refusals of a signed-in caller (403, and 404 for objects outside their scope) go to a log of their
# own, which a deployment ships to its security monitoring: one line per refused request, naming who
# asked for what. Not the audit chain: a refusal changes and reveals nothing, and a probing client
# must not be able to grow the chain at will.
access_log = logging.getLogger("carepact.access")


def handle_problem(request: Request, exc: Problem) -> Response:
    if exc.status in (403, 404):
        who = request.scope.get("user")
        if who is not None:
            access_log.warning(
                "refused %s %s %s: %s (account %s, role %s)",
                exc.status,
                request.method,
                request.url.path,
                exc.code,
                getattr(who, "account_id", "?"),
                getattr(getattr(who, "role", None), "value", "?"),
            )
    return _body(ErrorBody(code=exc.code, message=exc.message, fields=exc.fields), exc.status, exc.headers)


def handle_validation(_: Request, exc: ValidationException) -> Response:
    body = ErrorBody(
        code="request.invalid", message="提交的内容有误，请检查标出的字段。", fields=_validation_fields(exc)
    )
    return _body(body, 400)


_HTTP_MESSAGES = {
    401: ("auth.required", "请先登录。"),
    403: ("permission.denied", "您无权执行此操作。"),
    404: ("not_found", "未找到请求的资源。"),
    405: ("method_not_allowed", "不支持该请求方法。"),
    413: ("request.too_large", "上传内容过大。"),
    415: ("request.unsupported_media_type", "不支持的内容类型。"),
    429: ("rate_limited", "请求过于频繁，请稍后再试。"),
}


def handle_http(_: Request, exc: HTTPException) -> Response:
    if exc.status_code == 400:
        # A body Litestar could not decode at all (malformed JSON): the same shape as a field error.
        body = ErrorBody(
            code="request.invalid", message="提交的内容有误，请检查标出的字段。", fields=[translate(str(exc.detail))]
        )
        return _body(body, 400, exc.headers)
    code, message = _HTTP_MESSAGES.get(exc.status_code, (f"http.{exc.status_code}", "请求无法处理。"))
    if isinstance(exc, NotAuthorizedException):
        code, message = _HTTP_MESSAGES[401]
    elif isinstance(exc, PermissionDeniedException):
        code, message = _HTTP_MESSAGES[403]
    elif isinstance(exc, NotFoundException):
        code, message = _HTTP_MESSAGES[404]
    return _body(ErrorBody(code=code, message=message), exc.status_code, exc.headers)


def handle_undecodable(_: Request, exc: UnicodeDecodeError) -> Response:
    # msgspec raises this (not a DecodeError) for invalid UTF-8 inside a JSON string, and
    # Litestar lets it through; it is the client's bytes that are wrong, not the server.
    field = FieldError(field="body", code="encoding", message="请求内容不是有效的 UTF-8 编码")
    return _body(ErrorBody(code="request.invalid", message="提交的内容有误，请检查标出的字段。", fields=[field]), 400)


def handle_unstorable(request: Request, exc: Exception) -> Response:
    # Values no column can hold (NUL in text on PostgreSQL, integers beyond the id columns)
    # reach the database through many ids and query parameters; they are the client's mistake.
    log.warning("refused unstorable input on %s %s: %s", request.method, request.url.path, exc)
    return _body(ErrorBody(code="request.invalid", message="提交的内容含有无法保存的字符，或数值超出范围。"), 400)


RETRY_AFTER_SECONDS = 5


def unavailable(exc: BaseException) -> bool:
    """The database or Redis could not be reached, or dropped the connection mid-request."""
    from carepact.db import connection_lost

    return connection_lost(exc) or isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)


def handle_unavailable(request: Request, exc: Exception) -> Response:
    """A service the request needs went away (PostgreSQL restarting, Redis down): a 503 the
    client retries after Retry-After, never a 500. Nothing was half-stored: the request's one
    transaction rolled back (or committed whole, and a retry of an idempotent write answers
    with what was stored)."""
    if not unavailable(exc):
        return handle_unexpected(request, exc)
    log.warning("service unavailable on %s %s: %r", request.method, request.url.path, exc)
    body = ErrorBody(code="service.unavailable", message="服务暂时不可用（数据库或任务队列连接中断），请稍后重试。")
    return _body(body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})


def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _body(ErrorBody(code="internal", message="服务器内部错误，已记录，请稍后重试。"), 500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    Problem: handle_problem,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    UnicodeDecodeError: handle_undecodable,
    asyncpg.exceptions.DataError: handle_unstorable,  # raised by PostgreSQL (class 22)
    asyncpg.exceptions._base.DataError: handle_unstorable,  # raised by asyncpg encoding an argument
    OverflowError: handle_unstorable,  # sqlite3: "Python int too large to convert to SQLite INTEGER"
    # Connections lost or refused (checked by unavailable(), anything else stays a 500).
    OSError: handle_unavailable,
    asyncpg.exceptions._base.InterfaceError: handle_unavailable,
    asyncpg.exceptions._base.InternalClientError: handle_unavailable,
    asyncpg.exceptions.PostgresConnectionError: handle_unavailable,
    asyncpg.exceptions.OperatorInterventionError: handle_unavailable,
    asyncpg.exceptions.TooManyConnectionsError: handle_unavailable,
    sqlite3.OperationalError: handle_unavailable,
    redis.exceptions.ConnectionError: handle_unavailable,
    redis.exceptions.TimeoutError: handle_unavailable,
    Exception: handle_unexpected,
}

# OpenAPI: every operation may answer with this body, whatever the refusal.
ERROR_RESPONSES = {
    400: "提交内容有误：fields 指出每个字段的问题",
    401: "未登录，或令牌无效",
    403: "无权执行此操作",
    404: "不存在，或无权查看",
    409: "与现有数据冲突（重复提交了不同内容、状态不允许）",
    410: "文件已被清理（超过保存期限等）",
    413: "上传内容过大",
    415: "不支持的文件或内容类型",
    422: "内容无法处理（如照片被拒收）",
    429: "请求过多，按 Retry-After 稍后再试",
    503: "服务暂时不可用（数据库或任务队列），按 Retry-After 稍后重试",
}


def document_errors(app: Litestar) -> None:
    """Say in the OpenAPI document what every error really is: Litestar documents its own
    validation body ({status_code, detail, extra}) for 400, which errors.py never sends."""
    specs = {
        status: ResponseSpec(data_container=ErrorBody, description=text, generate_examples=False)
        for status, text in ERROR_RESPONSES.items()
    }
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and handler.include_in_schema:
                handler.responses = {**specs, **(handler.responses or {})}
