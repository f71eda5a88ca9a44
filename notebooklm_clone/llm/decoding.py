"""How the embedded server generates on a small CPU: each step on all cores, or on one core with prompt-lookup drafts,
whichever the machine makes faster right now.

Measured on 2 cores with the 1.5B model: one token takes ~60 ms on both cores and ~95 ms on one, and one core checks
a drafted token almost for free (a 2-token step ~105 ms), while on two cores the 2-token step costs ~105 ms too,
which drafts rarely pay back. When another process holds a core (speech, a browser), a step on all cores waits for
it and takes ~10x longer. So:

- "all-cores" steps decode one token with every core;
- "one-core" steps decode on one core and check a prompt-lookup draft: the continuation of the longest recent
  n-gram that ends the text so far, since notes and answers copy phrases of the source they were shown;
- "auto" (the default) measures seconds per produced token of both and uses the faster, trying the other one now and
  then (less often while it keeps losing).

Counters (steps, tokens, drafted and accepted tokens, seconds per mode, prompt tokens) are served at `/stats`.
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Generation = Literal["auto", "all-cores", "one-core"]
GENERATIONS: tuple[str, ...] = ("auto", "all-cores", "one-core")
MAX_NGRAM = 4  # the longest suffix looked up in the text so far
MIN_NGRAM = 2  # a single token matches too much (quotes, commas) to predict the next one
DRAFT_TOKENS = 2  # per step; a longer draft costs more on one core than its acceptance gives back
PROBE_STEPS = 6  # steps in the other mode to measure it
FIRST_PROBE = 16  # steps before the first comparison
PROBE_EVERY = 128  # steps between probes while the current mode wins; doubles each time the probe loses
MAX_PROBE_EVERY = 2048
MAX_PROBE_SECONDS = 60.0  # and at least this often in time: a machine that got busy is noticed within a minute
SMOOTHING = 0.15  # weight of the newest step in the seconds-per-token average
SWITCH_MARGIN = 0.1  # a probed mode must be this much cheaper per token to take over (a few steps are noisy)


def lookup_draft(ids: np.ndarray, width: int = DRAFT_TOKENS, longest: int = MAX_NGRAM,
                 shortest: int = MIN_NGRAM) -> np.ndarray:
    """The `width` tokens that followed the most recent earlier occurrence of the longest n-gram ending `ids`
    (empty if none recurs)."""
    length = len(ids)
    for n in range(min(longest, length - 1), shortest - 1, -1):
        windows = np.lib.stride_tricks.sliding_window_view(ids[: length - 1], n)  # occurrences that have a successor
        found = np.flatnonzero((windows == ids[length - n:]).all(axis=1))
        if len(found):
            start = int(found[-1]) + n
            return np.asarray(ids[start: start + width], dtype=np.intc)
    return np.empty(0, dtype=np.intc)


@dataclass
class ModeStats:
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    drafted: int = 0
    accepted: int = 0

    def as_dict(self) -> dict:
        return {"steps": self.steps, "tokens": self.tokens, "seconds": round(self.seconds, 3),
                "drafted": self.drafted, "accepted": self.accepted,
                "tokens_per_second": round(self.tokens / self.seconds, 2) if self.seconds else None}


@dataclass
class _Step:
    start: int  # n_tokens before the step
    mode: str
    drafted: int
    seconds: float


@dataclass
class RequestSteps:
    """One request's generation: its previous step, whose produced tokens the next step reveals."""
    prompt_done: bool = False
    last: _Step | None = None


@dataclass
class Decoder:
    """Picks each generation step's mode and keeps the counters; one per server (llama.cpp runs one request at a
    time)."""
    cores: int
    generation: str = "auto"
    drafts: bool = True
    mode: str = field(init=False)
    stats: dict[str, ModeStats] = field(default_factory=lambda: {"all-cores": ModeStats(), "one-core": ModeStats()})
    prompt_tokens: int = 0
    prompt_seconds: float = 0.0
    _cost: dict[str, float | None] = field(default_factory=lambda: {"all-cores": None, "one-core": None})
    _probe_left: int = 0
    _until_probe: int = FIRST_PROBE
    _probe_every: int = PROBE_EVERY
    _since_probe: float = 0.0  # generation seconds since the last probe began
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.generation not in GENERATIONS:
            raise ValueError(f"generation must be one of {', '.join(GENERATIONS)}")
        if self.cores <= 1:
            self.generation = "one-core"
        self.mode = "one-core" if self.generation == "one-core" else "all-cores"

    def threads(self, mode: str | None = None) -> int:
        return 1 if (mode or self.mode) == "one-core" else self.cores

    def draft_width(self) -> int:
        return DRAFT_TOKENS if self.drafts and self.mode == "one-core" else 0

    def prompt(self, tokens: int, seconds: float) -> None:
        with self._lock:
            self.prompt_tokens += tokens
            self.prompt_seconds += seconds

    def settle(self, request: RequestSteps, n_tokens: int | None) -> None:
        """Credit the request's previous step with the tokens it produced: those the context has advanced by since
        (drafts the sampler rejected were cut off again), or one when the request ended."""
        step, request.last = request.last, None
        if step is None:
            return
        produced = max(1, n_tokens - step.start) if n_tokens is not None else 1
        with self._lock:
            stats = self.stats[step.mode]
            stats.steps += 1
            stats.tokens += produced
            stats.seconds += step.seconds
            self._since_probe += step.seconds
            stats.drafted += step.drafted
            stats.accepted += min(step.drafted, produced - 1)
            cost = step.seconds / produced
            old = self._cost[step.mode]
            self._cost[step.mode] = cost if old is None else old + SMOOTHING * (cost - old)

    def choose(self) -> str:
        """The mode of the next step (auto: the cheaper per token, with a probe of the other now and then)."""
        if self.generation != "auto":
            return self.mode
        with self._lock:
            if self._probe_left:
                self._probe_left -= 1
                if not self._probe_left:  # the probe is over: keep the cheaper one
                    other = self._other(self.mode)
                    probed, kept = self._cost[self.mode], self._cost[other]
                    if probed is not None and kept is not None and probed < kept * (1 - SWITCH_MARGIN):
                        self._probe_every = PROBE_EVERY
                    else:
                        self.mode = other
                        self._probe_every = min(self._probe_every * 2, MAX_PROBE_EVERY)
                    self._until_probe = self._probe_every
                return self.mode
            self._until_probe -= 1
            if self._until_probe <= 0 or self._since_probe >= MAX_PROBE_SECONDS:
                self.mode = self._other(self.mode)
                self._probe_left = PROBE_STEPS
                self._since_probe = 0.0
            return self.mode

    @staticmethod
    def _other(mode: str) -> str:
        return "one-core" if mode == "all-cores" else "all-cores"

    def as_dict(self) -> dict:
        with self._lock:
            drafted = sum(s.drafted for s in self.stats.values())
            accepted = sum(s.accepted for s in self.stats.values())
            return {
                "generation": self.generation, "cores": self.cores, "mode": self.mode,
                "modes": {name: s.as_dict() for name, s in self.stats.items()},
                "generated_tokens": sum(s.tokens for s in self.stats.values()),
                "generation_seconds": round(sum(s.seconds for s in self.stats.values()), 3),
                "drafted": drafted, "accepted": accepted,
                "acceptance": round(accepted / drafted, 3) if drafted else None,
                "prompt_tokens": self.prompt_tokens, "prompt_seconds": round(self.prompt_seconds, 3),
            }


class PromptLookup:
    """llama-cpp-python's draft-model hook: a prompt-lookup draft in one-core steps, none in all-cores steps."""

    def __init__(self, decoder: Decoder):
        self.decoder = decoder

    def __call__(self, input_ids: np.ndarray, /, **kwargs) -> np.ndarray:
        width = self.decoder.draft_width()
        return lookup_draft(input_ids, width) if width else np.empty(0, dtype=np.intc)


def step(llama, tokens, decoder: Decoder, request: RequestSteps) -> None:
    """Evaluate one generation step (the last sampled token and its draft) in the mode the decoder chooses, with
    logits for every token so the sampler can check each drafted one."""
    decoder.settle(request, llama.n_tokens)
    mode = decoder.choose()
    llama._ctx.set_n_threads(decoder.threads(mode), decoder.cores)
    start = time.perf_counter()
    n_past = llama.n_tokens
    llama._ctx.kv_cache_seq_rm(-1, n_past, -1)
    llama._batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
    llama._ctx.decode(llama._batch)
    llama.input_ids[n_past: n_past + len(tokens)] = tokens
    llama.n_tokens += len(tokens)
    llama._requires_eval = False
    request.last = _Step(start=n_past, mode=mode, drafted=len(tokens) - 1,
                         seconds=time.perf_counter() - start)


def prompt(llama, tokens, decoder: Decoder, plain_eval) -> None:
    """Evaluate a prompt (all cores, batched; logits for its last token only)."""
    llama._ctx.set_n_threads(decoder.cores, decoder.cores)
    start = time.perf_counter()
    plain_eval(llama, tokens)
    decoder.prompt(len(tokens), time.perf_counter() - start)


class GrammarLast:
    """A sampler that tries the grammar last: the chain (penalties, top-k/p, temperature) picks a token from the raw
    logits, and only when the JSON grammar refuses it is the grammar applied to the whole vocabulary and the token
    picked again (what llama.cpp's own server does). llama-cpp-python puts the grammar inside the chain, where it
    checks all 151,936 tokens of Qwen's vocabulary at every step: ~24 ms a token, a third of a step's time here.

    Quacks like llama_cpp's LlamaSampler where `Llama.sample` uses it (`sample(ctx, idx)`)."""

    def __init__(self, chain, vocab, grammar, n_vocab: int):
        import llama_cpp

        self._c = llama_cpp
        self.chain = chain  # a LlamaSampler without the grammar; it frees itself
        self.grammar = llama_cpp.llama_sampler_init_grammar(vocab, grammar._grammar.encode("utf-8"),
                                                            grammar._root.encode("utf-8"))
        self.n_vocab = n_vocab
        self.data = (llama_cpp.llama_token_data * n_vocab)()
        self.view = np.ctypeslib.as_array(self.data)
        self.one = (llama_cpp.llama_token_data * 1)()

    def _pick(self, ctx, idx: int, with_grammar: bool) -> int:
        c = self._c
        logits = np.ctypeslib.as_array(c.llama_get_logits_ith(ctx.ctx, idx), shape=(self.n_vocab,))
        self.view["id"] = np.arange(self.n_vocab, dtype=np.int32)  # samplers sort and cut the array in place
        self.view["logit"] = logits
        self.view["p"] = 0.0
        candidates = c.llama_token_data_array(data=self.data, size=self.n_vocab, selected=-1, sorted=False)
        if with_grammar:
            c.llama_sampler_apply(self.grammar, ctypes.byref(candidates))
        c.llama_sampler_apply(self.chain.sampler, ctypes.byref(candidates))
        return int(self.data[candidates.selected].id)

    def _allowed(self, token: int) -> bool:
        c = self._c
        self.one[0].id, self.one[0].logit, self.one[0].p = token, 1.0, 0.0
        single = c.llama_token_data_array(data=self.one, size=1, selected=-1, sorted=False)
        c.llama_sampler_apply(self.grammar, ctypes.byref(single))
        return self.one[0].logit != -np.inf

    def sample(self, ctx, idx: int = -1) -> int:
        token = self._pick(ctx, idx, with_grammar=False)
        if not self._allowed(token):
            token = self._pick(ctx, idx, with_grammar=True)
        self.accept(token)
        return token

    def accept(self, token: int) -> None:
        self._c.llama_sampler_accept(self.grammar, token)
        self._c.llama_sampler_accept(self.chain.sampler, token)

    def reset(self) -> None:
        self._c.llama_sampler_reset(self.grammar)
        self.chain.reset()

    def __del__(self) -> None:
        grammar, self.grammar = getattr(self, "grammar", None), None
        if grammar is not None:
            self._c.llama_sampler_free(grammar)


def grammar_last(init_sampler):
    """Wrap `Llama._init_sampler` so that a grammar is applied last (GrammarLast) instead of inside the chain."""

    def init(self, *args, grammar=None, **kwargs):
        chain = init_sampler(self, *args, grammar=None, **kwargs)
        if grammar is None:
            return chain
        return GrammarLast(chain, self._model.vocab, grammar, self._n_vocab)

    return init
