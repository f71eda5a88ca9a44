"""The embedded server process: `python -m llama_cpp.server` with two repairs (run as
`python -m notebooklm_clone.llm.embedded serve <llama_cpp.server options>`).

- A request whose client hung up (a client timeout before a retry) stops generating at its next token; llama_cpp.server
  itself notices a hang-up only between streamed chunks.
- The RAM prompt cache counts the logits copy each saved state holds, so `--cache_size` really bounds it.
"""

from __future__ import annotations

import contextvars
import sys
import threading


class _Request:
    def __init__(self) -> None:
        self.gone = threading.Event()
        self.steps = 0  # model steps so far (one per generated token)


_REQUEST: contextvars.ContextVar[_Request | None] = contextvars.ContextVar("embedded_request", default=None)


def _stop_when_client_leaves(app):
    """ASGI wrapper that watches each request's connection and flags the request when its client hangs up (a client
    timeout before a retry), so `Llama.eval` ends that generation at its next token. llama_cpp.server itself notices a
    hang-up only between streamed chunks: a plain request ran on to its max_tokens while the retry waited behind it."""
    import anyio

    async def watched(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        request, body = _Request(), []
        while True:  # the whole body first: after it, the only message left to receive is the hang-up
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.append(message)
            if not message.get("more_body"):
                break
        left = anyio.Event()

        async def app_receive():
            if body:
                return body.pop(0)
            if not left.is_set():
                await left.wait()
            return {"type": "http.disconnect"}

        async def watch():
            await receive()  # returns once the client hangs up (or the response is complete)
            request.gone.set()
            left.set()

        token = _REQUEST.set(request)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(watch)
                try:
                    await app(scope, app_receive, send)
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            _REQUEST.reset(token)

    return watched


def serve(argv: list[str]) -> int:
    """`python -m llama_cpp.server <argv>`, plus: a request whose client hung up stops generating at the next token,
    and the RAM prompt cache counts the logits copy each saved state holds, so `--cache_size` really bounds it."""
    import llama_cpp
    import llama_cpp.server.__main__ as server_main
    from fastapi import HTTPException

    class ClientGone(HTTPException):
        """Ends a request whose client has hung up; an HTTPException, so the server answers 499 without a traceback."""

        def __init__(self) -> None:
            super().__init__(status_code=499, detail="client closed request")

    plain_eval = llama_cpp.Llama.eval

    def eval_while_client_waits(self, tokens):
        request = _REQUEST.get()
        if request is not None:
            if request.gone.is_set():
                print(f"client left: stopped after {request.steps} tokens", flush=True)
                raise ClientGone
            request.steps += 1
        return plain_eval(self, tokens)

    def held_bytes(cache) -> int:
        return sum(s.llama_state_size + s.scores.nbytes + s.input_ids.nbytes for s in cache.cache_state.values())

    llama_cpp.Llama.eval = eval_while_client_waits
    llama_cpp.LlamaRAMCache.cache_size = property(held_bytes)
    create_app = server_main.create_app
    server_main.create_app = lambda **kwargs: _stop_when_client_leaves(create_app(**kwargs))
    sys.argv = ["python -m llama_cpp.server", *argv]
    server_main.main()
    return 0
