"""How the embedded server decodes: prompt-lookup drafts and the choice between all cores and one core."""

from __future__ import annotations

import numpy as np

from notebooklm_clone.llm import decoding
from notebooklm_clone.llm.decoding import Decoder, RequestSteps, lookup_draft


def ids(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.intc)


def test_draft_continues_the_most_recent_occurrence_of_the_longest_suffix():
    # "7 8" recurs twice: after 7 8 came 1 the first time and 9 the second; the longer "6 7 8" only once, before 2
    text = ids(6, 7, 8, 2, 3, 0, 7, 8, 1, 5, 7, 8, 9, 4, 5, 6, 7, 8)
    assert lookup_draft(text, width=2).tolist() == [2, 3]  # the 3-gram "6 7 8" wins over the 2-gram
    text = ids(5, 7, 8, 1, 1, 0, 7, 8, 9, 4, 3, 7, 8)
    assert lookup_draft(text, width=2).tolist() == [9, 4]  # the most recent "7 8" wins


def test_no_draft_without_a_recurring_pair():
    assert lookup_draft(ids(1, 2, 3, 4, 5, 3), width=2).size == 0  # a single recurring token is not enough
    assert lookup_draft(ids(1), width=2).size == 0
    assert lookup_draft(ids(1, 2, 1, 2), width=5).tolist() == [1, 2]  # never past the end of the text


def test_accepted_drafts_are_counted_from_how_far_the_context_advanced():
    decoder = Decoder(cores=2, generation="one-core")
    request = RequestSteps(prompt_done=True)
    request.last = decoding._Step(start=100, mode="one-core", drafted=2, seconds=0.2)
    decoder.settle(request, 103)  # both drafts accepted: the token and its two drafts are kept
    request.last = decoding._Step(start=103, mode="one-core", drafted=2, seconds=0.2)
    decoder.settle(request, 104)  # the first draft was wrong: one token produced
    request.last = decoding._Step(start=104, mode="one-core", drafted=0, seconds=0.1)
    decoder.settle(request, None)  # the request ended after this step
    stats = decoder.as_dict()
    assert stats["drafted"] == 4 and stats["accepted"] == 2 and stats["acceptance"] == 0.5
    assert stats["modes"]["one-core"]["tokens"] == 5 and stats["modes"]["one-core"]["steps"] == 3


def run_steps(decoder: Decoder, n: int, seconds_per_token: dict[str, float]) -> list[str]:
    request, modes, position = RequestSteps(prompt_done=True), [], 0
    for _ in range(n):
        decoder.settle(request, position)
        mode = decoder.choose()
        modes.append(mode)
        request.last = decoding._Step(start=position, mode=mode, drafted=0, seconds=seconds_per_token[mode])
        position += 1
    return modes


def test_auto_keeps_the_faster_mode_and_probes_the_other_ever_less_often_while_it_loses():
    decoder = Decoder(cores=2, generation="auto")
    modes = run_steps(decoder, 3000, {"all-cores": 0.06, "one-core": 0.095})  # an idle machine
    assert modes[0] == "all-cores"
    assert modes[-500:].count("all-cores") >= 490
    probes = [i for i in range(1, len(modes)) if modes[i] == "one-core" and modes[i - 1] == "all-cores"]
    gaps = np.diff(probes)
    assert len(probes) >= 3 and all(later >= earlier for earlier, later in zip(gaps, gaps[1:]))
    assert modes.count("one-core") < 0.05 * len(modes)


def test_auto_moves_to_one_core_when_another_process_slows_all_core_steps():
    decoder = Decoder(cores=2, generation="auto")
    modes = run_steps(decoder, 1000, {"all-cores": 0.9, "one-core": 0.1})  # the other core is taken
    assert modes[-500:].count("one-core") >= 480


def test_auto_notices_within_a_minute_that_the_machine_got_busy():
    decoder = Decoder(cores=2, generation="auto")
    run_steps(decoder, 4000, {"all-cores": 0.06, "one-core": 0.095})  # idle: probes grow 2048 steps apart
    assert decoder._probe_every == decoding.MAX_PROBE_EVERY
    busy = run_steps(decoder, 150, {"all-cores": 1.0, "one-core": 0.1})  # then another process takes a core
    switched = busy.index("one-core")
    assert switched <= decoding.MAX_PROBE_SECONDS + 1  # at 1 s a step: within a minute, not 2048 steps (34 min)
    assert busy[-50:].count("one-core") >= 48


def test_fixed_modes_and_a_single_core_never_switch():
    assert set(run_steps(Decoder(cores=2, generation="all-cores"), 300, {"all-cores": 0.9, "one-core": 0.1})) \
        == {"all-cores"}
    single = Decoder(cores=1, generation="auto")
    assert set(run_steps(single, 300, {"all-cores": 0.01, "one-core": 0.1})) == {"one-core"}
    assert single.threads() == 1 and single.draft_width() == decoding.DRAFT_TOKENS
    assert Decoder(cores=2, generation="all-cores").draft_width() == 0
