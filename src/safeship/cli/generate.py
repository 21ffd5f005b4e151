"""``safeship generate MODEL[@VERSION] PROMPT...`` — try any registered version."""

from __future__ import annotations

import argparse
from typing import Any

from safeship.cli.common import add_json_flag, open_registry
from safeship.cli.output import print_json, print_table


def split_model_ref(reference: str) -> tuple[str, str | None]:
    model, _, version = reference.partition("@")
    return model, (version or None)


def _generate(args: argparse.Namespace) -> int:
    from safeship.errors import NotFoundError
    from safeship.models.base import GenerationRequest
    from safeship.models.loader import load_generator
    from safeship.registry.registration import artifact_dir

    model, version = split_model_ref(args.model)
    with open_registry() as registry:
        if version is None:
            version = registry.deployment(model).production
        if version is None:
            versions = registry.versions(model)
            if not versions:
                raise NotFoundError(f"model {model!r} has no versions")
            version = versions[-1].version
        record = registry.version(model, version)
        generator = load_generator(artifact_dir(registry, record))
    request = GenerationRequest(
        max_new_tokens=args.max_tokens,
        temperature=args.temperature,
        seed=args.seed,
        system_prompt=args.system,
    )
    try:
        results = generator.generate(list(args.prompts), request)
    finally:
        generator.close()
    if args.json:
        print_json(
            [
                {
                    "model": model,
                    "version": version,
                    "prompt": r.prompt,
                    "text": r.text,
                    "prompt_tokens": r.prompt_tokens,
                    "completion_tokens": r.completion_tokens,
                    "latency_s": round(r.latency_s, 6),
                    "error": r.error,
                }
                for r in results
            ]
        )
    else:
        print_table(
            f"{model} {version}",
            ["prompt", "answer", "tokens", "ms"],
            [
                (
                    r.prompt,
                    r.text if r.ok else f"ERROR: {r.error}",
                    r.completion_tokens,
                    f"{r.latency_s * 1000:.1f}",
                )
                for r in results
            ],
        )
    return 1 if any(not r.ok for r in results) else 0


def add_commands(subparsers: Any) -> None:
    generate = subparsers.add_parser(
        "generate", help="generate text with a registered version (default: production)"
    )
    generate.add_argument("model", metavar="MODEL[@VERSION]")
    generate.add_argument("prompts", nargs="+", metavar="PROMPT")
    generate.add_argument("--max-tokens", type=int, default=64)
    generate.add_argument("--temperature", type=float, default=0.8)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--system", help="system prompt")
    add_json_flag(generate)
    generate.set_defaults(handler=_generate)
