"""Text-to-speech engines behind one small protocol.

registry.py names the engines and where they live (importing none of them); engine.py holds the protocol every
engine implements and builds engines from settings; each other module is one engine. An engine turns one piece of
text into mono float32 samples at its own rate; stages/speech.py splits text to the engine's `max_chars`, caches
clips and runs engines in parallel; stages/mix.py resamples everything to one rate.
"""
