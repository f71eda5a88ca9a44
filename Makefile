# The two commands of the README: `make run` (main job on samples/) and `make test` (whole test suite).
# Both install whatever is missing first (apt packages, venv, pip packages, model parts).
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: run test setup setup-test coqui bench bench-extract bench-llm bench-tts bench-batch bench-memory bench-verifier bench-quality bench-e2e bench-notebook clean

run: setup
	$(BIN)/notebooklm-clone batch samples --glob '*.pdf' -o $(OUT)/samples --products notes,podcast

test: setup-test
	$(BIN)/python -m pytest -q tests
	$(VENV)-coqui/bin/python -m pytest -q tests/integration/test_tts.py -k coqui

setup:
	scripts/setup.sh default

setup-test:
	scripts/setup.sh small coqui

# The optional Coqui engine in its own venv (~2 GB of torch); `make run` never installs it.
coqui:
	scripts/setup.sh default coqui

bench: bench-extract bench-llm bench-tts bench-batch

bench-extract: setup-test
	$(BIN)/python bench/bench_extract.py

bench-llm: setup-test
	$(BIN)/python bench/bench_llm.py

bench-tts: setup-test
	$(BIN)/python bench/bench_tts.py

bench-batch: setup-test
	$(BIN)/python bench/bench_batch.py

bench-memory: setup
	$(BIN)/python bench/bench_memory.py

bench-verifier: setup-test
	$(BIN)/python bench/bench_verifier.py

bench-quality: setup
	$(BIN)/python bench/bench_quality.py

bench-e2e: setup
	$(BIN)/python bench/bench_e2e.py

bench-notebook: setup-test
	$(BIN)/python bench/bench_notebook.py

clean:
	rm -rf $(OUT) .pytest_cache
