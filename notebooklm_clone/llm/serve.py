"""The embedded server process: `python -m llama_cpp.server` with two repairs (run as
`python -m notebooklm_clone.llm.embedded serve <llama_cpp.server options>`).

- A request whose client hung up (a client timeout before a retry) stops generating at its next token; llama_cpp.server
  itself notices a hang-up only between streamed chunks.
- The RAM prompt cache counts the logits copy each saved state holds, so `--cache_size` really bounds it.

And it generates the way decoding.py chooses (`--generation auto|all-cores|one-core`, `--drafts on|off`), applies a
JSON grammar only to the tokens the sampler picks (decoding.GrammarLast), and serves its counters at GET /stats.
"""

from __future__ import annotations

import argparse
import contextvars
import json
import sys
import threading

from .decoding import (
    GENERATIONS,
    Decoder,
    PromptLookup,
    RequestSteps,
    grammar_last,
    prompt,
    step,
)


class _Request:
    def __init__(self) -> None:
        self.gone = threading.Event()
        self.steps = 0  # model steps so far (one per generated token)
        self.generation = RequestSteps()


_REQUEST: contextvars.ContextVar[_Request | None] = contextvars.ContextVar("embedded_request", default=None)


def _stats_route(app, decoder: Decoder):
    """ASGI wrapper answering GET /stats with the decoder's counters (bench-e2e reads them)."""

    async def routed(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/stats":
            body = json.dumps(decoder.as_dict()).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return None
        return await app(scope, receive, send)

    return routed


def _stop_when_client_leaves(app, on_end=None):
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
            if on_end is not None:
                on_end(request)

    return watched


def serve(argv: list[str]) -> int:
    """`python -m llama_cpp.server <argv>`, plus: a request whose client hung up stops generating at the next token,
    the RAM prompt cache counts the logits copy each saved state holds, so `--cache_size` really bounds it, and
    generation steps run as decoding.py chooses (our own options `--generation` and `--drafts` come first)."""
    import llama_cpp
    import llama_cpp.server.__main__ as server_main
    import llama_cpp.server.model as server_model
    from fastapi import HTTPException

    ours = argparse.ArgumentParser(add_help=False)
    ours.add_argument("--generation", choices=GENERATIONS, default="auto")
    ours.add_argument("--drafts", choices=("on", "off"), default="on")
    ours.add_argument("--n_threads", type=int, default=1)
    options, rest = ours.parse_known_args(argv)
    decoder = Decoder(cores=max(1, options.n_threads), generation=options.generation, drafts=options.drafts == "on")
    rest += ["--n_threads", str(decoder.cores)]

    class ClientGone(HTTPException):
        """Ends a request whose client has hung up; an HTTPException, so the server answers 499 without a traceback."""

        def __init__(self) -> None:
            super().__init__(status_code=499, detail="client closed request")

    plain_eval = llama_cpp.Llama.eval

    def eval_while_client_waits(self, tokens):
        request = _REQUEST.get()
        if request is None:
            return plain_eval(self, tokens)
        if request.gone.is_set():
            print(f"client left: stopped after {request.steps} tokens", flush=True)
            raise ClientGone
        request.steps += 1
        if not request.generation.prompt_done:
            request.generation.prompt_done = True
            return prompt(self, tokens, decoder, plain_eval)
        return step(self, tokens, decoder, request.generation)

    load = server_model.LlamaProxy.load_llama_from_model_settings

    def load_with_drafts(settings):
        llama = load(settings)
        if decoder.drafts:
            llama.draft_model = PromptLookup(decoder)  # set after loading: logits stay off for prompt tokens
        return llama

    def held_bytes(cache) -> int:
        return sum(s.llama_state_size + s.scores.nbytes + s.input_ids.nbytes for s in cache.cache_state.values())

    llama_cpp.Llama.eval = eval_while_client_waits
    llama_cpp.Llama._init_sampler = grammar_last(llama_cpp.Llama._init_sampler)
    llama_cpp.LlamaRAMCache.cache_size = property(held_bytes)
    server_model.LlamaProxy.load_llama_from_model_settings = staticmethod(load_with_drafts)
    create_app = server_main.create_app
    server_main.create_app = lambda **kwargs: _stats_route(
        _stop_when_client_leaves(create_app(**kwargs), lambda request: decoder.settle(request.generation, None)), decoder)
    sys.argv = ["python -m llama_cpp.server", *rest]
    server_main.main()
    return 0
