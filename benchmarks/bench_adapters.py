"""Generation throughput of each generator adapter, against a baseline in the same run.

    .venv/bin/python benchmarks/bench_adapters.py [--prompts 500] [--max-new-tokens 16]

* ngram — the demo model in ``models/demo-chat`` (skipped with a message if absent).
* transformers — a tiny GPT-2 built in a temporary folder; baseline: calling
  ``model.generate`` directly on the same batches (so the ratio is the adapter's cost).
* openai — a loopback server that echoes at once; baseline: a bare ``httpx`` loop posting
  the same bodies, so the difference is the adapter's overhead per request.

Prints a table; asserts nothing (absolute times depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from safeship.models.base import GenerationRequest  # noqa: E402
from safeship.models.loader import load_generator  # noqa: E402

Row = tuple[str, str, int, float, str]


def _prompts(n: int) -> list[str]:
    from tiny_gpt2 import corpus

    lines = corpus(lines=400)
    return [" ".join(lines[i % len(lines)].split()[: 2 + i % 3]) for i in range(n)]


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def bench_ngram(prompts: list[str], request: GenerationRequest) -> list[Row]:
    folder = ROOT / "models" / "demo-chat"
    if not (folder / "config.json").is_file():
        print(f"ngram: skipped — {folder} does not exist (run the demo pipeline: dvc repro)")
        return []
    gen = load_generator(folder)
    elapsed, out = _timed(lambda: gen.generate(prompts, request))
    gen.close()
    failed = sum(not g.ok for g in out)
    return [("ngram", "adapter", len(prompts), len(prompts) / elapsed, f"{failed} failed")]


def bench_transformers(prompts: list[str], request: GenerationRequest) -> list[Row]:
    import torch
    from tiny_gpt2 import build_tiny_gpt2

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_gpt2(Path(tmp) / "tiny", steps=40, n_embd=128)
        gen: Any = load_generator(folder)
        model, tokenizer = gen._model, gen._tokenizer
        batch = 8

        def raw() -> None:
            torch.manual_seed(0)
            for start in range(0, len(prompts), batch):
                enc = tokenizer(prompts[start : start + batch], return_tensors="pt", padding=True)
                with torch.no_grad():
                    model.generate(
                        **enc,
                        max_new_tokens=request.max_new_tokens,
                        do_sample=False,
                        pad_token_id=tokenizer.pad_token_id,
                    )

        gen.generate(prompts[:batch], request)  # warm-up, not timed
        raw_s, _ = _timed(raw)
        elapsed, out = _timed(lambda: gen.generate(prompts, request))
        gen.close()
    failed = sum(not g.ok for g in out)
    n = len(prompts)
    return [
        ("transformers", "raw model.generate (baseline)", n, n / raw_s, ""),
        (
            "transformers",
            "adapter",
            n,
            n / elapsed,
            f"{raw_s / elapsed:.2f}x baseline, {failed} failed",
        ),
    ]


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms to every response

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["messages"][-1]["content"]
        payload = json.dumps(
            {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def bench_openai(prompts: list[str], request: GenerationRequest) -> list[Row]:
    import httpx

    from safeship.models.openai_adapter import OpenAIGenerator, OpenAIOptions

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    n = len(prompts)
    rows: list[Row] = []
    try:

        def raw() -> None:
            with httpx.Client(timeout=10) as client:
                for prompt in prompts:
                    client.post(
                        f"{base_url}/chat/completions",
                        json={
                            "model": "echo",
                            "messages": [{"role": "user", "content": prompt}],
                        },
                    ).json()

        raw_s, _ = _timed(raw)
        rows.append(("openai", "bare httpx loop (baseline)", n, n / raw_s, ""))
        for concurrency in (1, 4):
            gen = OpenAIGenerator(
                OpenAIOptions(base_url=base_url, model="echo", concurrency=concurrency)
            )
            elapsed, out = _timed(lambda gen=gen: gen.generate(prompts, request))
            gen.close()
            failed = sum(not g.ok for g in out)
            overhead_ms = (elapsed - raw_s) / n * 1000
            note = f"{raw_s / elapsed:.2f}x baseline, {failed} failed"
            if concurrency == 1:
                note += f", overhead {overhead_ms:+.2f} ms/request"
            rows.append(("openai", f"adapter, concurrency {concurrency}", n, n / elapsed, note))
    finally:
        server.shutdown()
        server.server_close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args()
    prompts = _prompts(args.prompts)
    request = GenerationRequest(max_new_tokens=args.max_new_tokens, temperature=0, seed=0)
    rows: list[Row] = []
    for bench in (bench_ngram, bench_transformers, bench_openai):
        rows += bench(prompts, request)

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Adapter throughput ({args.prompts} prompts, "
        f"max_new_tokens={args.max_new_tokens}, greedy)"
    )
    for column in ("adapter", "run", "prompts"):
        table.add_column(column)
    table.add_column("texts/s", justify="right")
    table.add_column("notes")
    for adapter, run, n, rate, note in rows:
        table.add_row(adapter, run, str(n), f"{rate:,.1f}", note)
    Console().print(table)


if __name__ == "__main__":
    main()
