"""A zoo of candidate models for the safety gate: misbehaving ones and safe ones, all
served by one loopback OpenAI-compatible upstream (issue 11, step 9).

``candidates.ZOO`` lists them; ``run.run_zoo`` releases each through the shipped
battery and gate. ``benchmarks/bench_zoo.py`` prints recall and pass rate.
"""
