"""A small local HTTP server that speaks the OpenAI and Anthropic HTTP APIs.

The autolog tests point the real ``openai`` and ``anthropic`` clients at it
(``base_url=server.openai_base_url`` / ``server.anthropic_base_url``), so the
clients' own request building, response parsing and SSE decoding run for real;
only the model is fake.

Behaviour is deterministic (fixed ids and timestamps) so that two runs of the
same call — one traced by clew, one by MLflow — produce identical responses.
It is steered by the request:

- ``model`` ``"fail-400"`` / ``"fail-500"``: an error response with that status
  in the provider's error format.
- ``model`` ``"fail-midstream"`` with ``stream: true``: the stream starts, sends
  one chunk, then an error event.
- ``tools`` present (and the last message is not a tool result): the answer is a
  call of the first tool with ``{"query": <last user text>}``.
- otherwise the answer is ``"Echo: <last user text>"``.

Token counts are word counts, so tests can compute the expected usage.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CREATED = 1_700_000_000


def _words(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> str:
    """Text of an OpenAI/Anthropic message content (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part.get("content"), (str, list)):
                parts.append(_text_of(part["content"]))
    return " ".join(parts)


def _split_for_stream(text: str) -> list[str]:
    """Split into word pieces that concatenate back to ``text``."""
    words = text.split(" ")
    return [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]


def _tool_name(tool: dict) -> str:
    if "function" in tool:  # chat-completions style
        return tool["function"]["name"]
    return tool.get("name", "tool")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    # Small writes on a keep-alive connection otherwise wait ~40 ms for delayed ACKs.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    # ---- plumbing -------------------------------------------------------
    def _send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _sse(self, data: Any, event: str | None = None) -> None:
        chunk = ""
        if event is not None:
            chunk += f"event: {event}\n"
        chunk += "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n"
        self.wfile.write(chunk.encode())
        self.wfile.flush()

    def do_POST(self):  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        path = self.path.split("?")[0].rstrip("/")
        self.server.requests.append({"path": path, "body": body, "headers": dict(self.headers)})
        routes = {
            "/v1/chat/completions": self._chat_completions,
            "/v1/responses": self._responses,
            "/v1/embeddings": self._embeddings,
            "/v1/completions": self._legacy_completions,
            "/v1/images/generations": self._images,
            "/v1/messages": self._anthropic_messages,
        }
        handler = routes.get(path)
        if handler is None:
            self._send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        handler(body)

    # ---- OpenAI ---------------------------------------------------------
    def _openai_error(self, model: str) -> bool:
        if model in ("fail-400", "fail-500"):
            status = int(model[-3:])
            self._send_json(
                status,
                {
                    "error": {
                        "message": f"fake provider error {status}",
                        "type": "invalid_request_error" if status == 400 else "server_error",
                        "param": None,
                        "code": None,
                    }
                },
            )
            return True
        return False

    @staticmethod
    def _last_user_text(messages: list[dict]) -> str:
        for msg in reversed(messages):
            if msg.get("role") == "user":
                return _text_of(msg.get("content"))
        return ""

    def _chat_completions(self, body: dict) -> None:
        model = body.get("model", "")
        if self._openai_error(model):
            return
        messages = body.get("messages") or []
        prompt_tokens = sum(_words(_text_of(m.get("content"))) for m in messages)
        last = messages[-1] if messages else {}
        tools = body.get("tools") or []
        tool_call = None
        if tools and last.get("role") != "tool" and body.get("tool_choice") != "none":
            tool_call = {
                "id": "call_fake_1",
                "type": "function",
                "function": {
                    "name": _tool_name(tools[0]),
                    "arguments": json.dumps({"query": self._last_user_text(messages)}),
                },
            }
            reply = None
            completion_tokens = 5
        else:
            if last.get("role") == "tool":
                reply = "Tool said: " + _text_of(last.get("content"))
            else:
                reply = "Echo: " + self._last_user_text(messages)
            fmt = body.get("response_format") or {}
            if fmt.get("type") == "json_schema":
                # Structured output: every property of the schema gets the echo text.
                props = ((fmt.get("json_schema") or {}).get("schema") or {}).get("properties") or {}
                reply = json.dumps({name: reply for name in props})
            completion_tokens = _words(reply)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        finish = "tool_calls" if tool_call else "stop"
        if not body.get("stream"):
            message = {"role": "assistant", "content": reply}
            if tool_call:
                message["tool_calls"] = [tool_call]
            self._send_json(
                200,
                {
                    "id": "chatcmpl-fake-1",
                    "object": "chat.completion",
                    "created": CREATED,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                    "usage": usage,
                },
            )
            return

        def chunk(delta: dict, finish_reason=None, **extra) -> dict:
            return {
                "id": "chatcmpl-fake-1",
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
                **extra,
            }

        self._start_sse()
        self._sse(chunk({"role": "assistant", "content": ""}))
        if model == "fail-midstream":
            self._sse({"error": {"message": "fake provider failed mid-stream", "type": "server_error"}})
            return
        if tool_call:
            self._sse(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": tool_call["id"],
                                "type": "function",
                                "function": {"name": tool_call["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
            )
            args = tool_call["function"]["arguments"]
            for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
                self._sse(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        else:
            for piece in _split_for_stream(reply):
                self._sse(chunk({"content": piece}))
        self._sse(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            final = chunk({})
            final["choices"] = []
            final["usage"] = usage
            self._sse(final)
        self._sse("[DONE]")

    def _legacy_completions(self, body: dict) -> None:
        model = body.get("model", "")
        if self._openai_error(model):
            return
        prompt = body.get("prompt") or ""
        prompt = prompt if isinstance(prompt, str) else " ".join(prompt)
        text = " echo " + prompt
        usage = {"prompt_tokens": _words(prompt), "completion_tokens": _words(text), "total_tokens": _words(prompt) + _words(text)}

        def completion(text_part: str, finish_reason) -> dict:
            return {
                "id": "cmpl-fake-1",
                "object": "text_completion",
                "created": CREATED,
                "model": model,
                "choices": [{"text": text_part, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
            }

        if not body.get("stream"):
            self._send_json(200, dict(completion(text, "stop"), usage=usage))
            return
        self._start_sse()
        pieces = _split_for_stream(text)
        for i, piece in enumerate(pieces):
            self._sse(completion(piece, "stop" if i == len(pieces) - 1 else None))
        self._sse("[DONE]")

    def _images(self, body: dict) -> None:
        model = body.get("model", "")
        if self._openai_error(model):
            return
        prompt = body.get("prompt", "")
        self._send_json(
            200,
            {
                "created": CREATED,
                "data": [{"url": f"http://127.0.0.1/fake-image-{i}.png", "revised_prompt": prompt} for i in range(body.get("n") or 1)],
            },
        )

    def _responses(self, body: dict) -> None:
        model = body.get("model", "")
        if self._openai_error(model):
            return
        inp = body.get("input")
        if isinstance(inp, str):
            user_text = inp
        else:
            user_text = self._last_user_text(inp or [])
        input_tokens = _words(user_text) + _words(body.get("instructions") or "")
        tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
        if tools:
            item = {
                "type": "function_call",
                "id": "fc_fake_1",
                "call_id": "call_fake_1",
                "name": tools[0]["name"],
                "arguments": json.dumps({"query": user_text}),
                "status": "completed",
            }
            output_tokens = 5
            text = None
        else:
            text = "Echo: " + user_text
            item = {
                "type": "message",
                "id": "msg_fake_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
            output_tokens = _words(text)

        def response(status: str, output: list) -> dict:
            return {
                "id": "resp_fake_1",
                "object": "response",
                "created_at": CREATED,
                "status": status,
                "model": model,
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": body.get("tools") or [],
                "error": None,
                "incomplete_details": None,
                "instructions": body.get("instructions"),
                "metadata": {},
                "temperature": body.get("temperature", 1.0),
                "top_p": 1.0,
                "usage": (
                    {
                        "input_tokens": input_tokens,
                        "input_tokens_details": {"cached_tokens": 0},
                        "output_tokens": output_tokens,
                        "output_tokens_details": {"reasoning_tokens": 0},
                        "total_tokens": input_tokens + output_tokens,
                    }
                    if status == "completed"
                    else None
                ),
            }

        if not body.get("stream"):
            self._send_json(200, response("completed", [item]))
            return
        self._start_sse()
        seq = 0

        def event(kind: str, **fields) -> None:
            nonlocal seq
            self._sse({"type": kind, "sequence_number": seq, **fields}, event=kind)
            seq += 1

        event("response.created", response=response("in_progress", []))
        if model == "fail-midstream":
            event("error", code="server_error", message="fake provider failed mid-stream", param=None)
            return
        if text is not None:
            started = dict(item, status="in_progress", content=[])
            event("response.output_item.added", output_index=0, item=started)
            for piece in _split_for_stream(text):
                event(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=0,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            event(
                "response.output_text.done",
                item_id=item["id"],
                output_index=0,
                content_index=0,
                text=text,
                logprobs=[],
            )
        else:
            event("response.output_item.added", output_index=0, item=dict(item, arguments="", status="in_progress"))
        event("response.output_item.done", output_index=0, item=item)
        event("response.completed", response=response("completed", [item]))

    def _embeddings(self, body: dict) -> None:
        model = body.get("model", "")
        if self._openai_error(model):
            return
        inp = body.get("input")
        texts = [inp] if isinstance(inp, str) else list(inp or [])
        data = [
            {
                "object": "embedding",
                "index": i,
                # Deterministic toy vector: length, word count, first char code.
                "embedding": [float(len(t)), float(_words(t)), float(ord(t[0]) if t else 0)],
            }
            for i, t in enumerate(texts)
        ]
        tokens = sum(_words(t) for t in texts)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # ---- Anthropic ------------------------------------------------------
    def _anthropic_messages(self, body: dict) -> None:
        model = body.get("model", "")
        if model in ("fail-400", "fail-500"):
            status = int(model[-3:])
            self._send_json(
                status,
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error" if status == 400 else "api_error",
                        "message": f"fake provider error {status}",
                    },
                },
            )
            return
        messages = body.get("messages") or []
        input_tokens = sum(_words(_text_of(m.get("content"))) for m in messages) + _words(
            _text_of(body.get("system"))
        )
        last = messages[-1] if messages else {}
        last_content = last.get("content")
        is_tool_result = isinstance(last_content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in last_content
        )
        user_text = self._last_user_text(messages)
        tools = body.get("tools") or []
        if tools and not is_tool_result:
            block = {
                "type": "tool_use",
                "id": "toolu_fake_1",
                "name": tools[0]["name"],
                "input": {"query": user_text},
            }
            stop_reason = "tool_use"
            output_tokens = 5
        else:
            text = ("Tool said: " if is_tool_result else "Echo: ") + user_text
            block = {"type": "text", "text": text}
            stop_reason = "end_turn"
            output_tokens = _words(text)
        message = {
            "id": "msg_fake_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [block],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
        if not body.get("stream"):
            self._send_json(200, message)
            return
        self._start_sse()

        def event(kind: str, data: dict) -> None:
            self._sse({"type": kind, **data}, event=kind)

        start = dict(message, content=[], stop_reason=None, usage={"input_tokens": input_tokens, "output_tokens": 1})
        event("message_start", {"message": start})
        if model == "fail-midstream":
            self._sse(
                {"type": "error", "error": {"type": "overloaded_error", "message": "fake provider failed mid-stream"}},
                event="error",
            )
            return
        if block["type"] == "text":
            event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            self._sse({"type": "ping"}, event="ping")
            for piece in _split_for_stream(block["text"]):
                event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
        else:
            event(
                "content_block_start",
                {"index": 0, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}},
            )
            args = json.dumps(block["input"])
            for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
                event("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}})
        event("content_block_stop", {"index": 0})
        event(
            "message_delta",
            {"delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": {"output_tokens": output_tokens}},
        )
        event("message_stop", {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []


class FakeProviderServer:
    """A threaded fake of the OpenAI and Anthropic HTTP APIs on 127.0.0.1 (a free port).

    Use as a context manager or call :meth:`start`/:meth:`stop`. ``requests``
    lists every request received (path, JSON body, headers).
    """

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def requests(self) -> list[dict]:
        return self._server.requests

    def start(self) -> "FakeProviderServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "FakeProviderServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # manual poking: python fake_providers.py
    import time

    with FakeProviderServer() as s:
        print("listening on", s.url)
        while True:
            time.sleep(3600)
