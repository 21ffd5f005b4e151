"""The ``transformers`` adapter: a local Hugging Face causal language model.

Folder convention
-----------------
The version folder's ``config.json`` carries ``"adapter": "transformers"``. The Hugging
Face files (``config.json``, weights, tokenizer) live in ``model_dir``, a path relative
to the version folder that defaults to ``"."``. So either

* the version folder *is* the Hugging Face folder, and its ``config.json`` (written by
  ``save_pretrained``) gets one extra key, ``"adapter": "transformers"`` — Hugging Face
  ignores it; or
* a small safeship ``config.json`` — ``{"adapter": "transformers", "model_dir": "hf"}`` —
  sits next to a sub-folder ``hf/`` written by ``save_pretrained``.

Options (keys of the version's ``config.json``, all optional):

* ``model_dir`` (str, default ``"."``) — where the Hugging Face files are;
* ``batch_size`` (int, default 8) — prompts per forward batch;
* ``device`` (str, default ``"cpu"``) — a torch device;
* ``chat_template`` (bool, default: whether the tokenizer has one) — wrap the system
  prompt and prompt with the tokenizer's chat template; without it the system prompt is
  prepended to the prompt, separated by a blank line.

Nothing is downloaded: everything loads with ``local_files_only=True``. torch and
transformers are imported inside the functions that need them.

Per-prompt results: ``latency_s`` is the wall-clock time of the batch the prompt rode in
(what a caller of that batch waited); ``completion_tokens`` counts the generated tokens up
to and including the first end-of-sequence token.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from safeship.errors import AdapterError, ConfigError, InputError
from safeship.models.base import Generation, GenerationRequest
from safeship.models.loader import read_config_json

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def _options(path: Path, config: dict[str, Any]) -> tuple[Path, int, str, bool | None]:
    file = path / "config.json"
    model_dir = config.get("model_dir", ".")
    if not isinstance(model_dir, str) or not model_dir:
        raise ConfigError(f"{file}: 'model_dir' must be a relative folder path, got {model_dir!r}")
    folder = (path / model_dir).resolve()
    if not folder.is_relative_to(path.resolve()):
        raise ConfigError(f"{file}: 'model_dir' {model_dir!r} must stay inside {path}")
    batch_size = config.get("batch_size", 8)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"{file}: 'batch_size' must be an integer >= 1, got {batch_size!r}")
    device = config.get("device", "cpu")
    if not isinstance(device, str):
        raise ConfigError(f"{file}: 'device' must be a string such as 'cpu', got {device!r}")
    chat_template = config.get("chat_template")
    if chat_template is not None and not isinstance(chat_template, bool):
        raise ConfigError(f"{file}: 'chat_template' must be true or false, got {chat_template!r}")
    return folder, batch_size, device, chat_template


class TransformersGenerator:
    """Batched generation with a local Hugging Face causal LM on torch."""

    def __init__(
        self,
        name: str,
        model: Any,
        tokenizer: Any,
        *,
        batch_size: int = 8,
        device: str = "cpu",
        chat_template: bool | None = None,
    ) -> None:
        self.name = name
        self._model = model
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        self._device = device
        has_template = bool(getattr(tokenizer, "chat_template", None))
        self._use_chat_template = has_template if chat_template is None else chat_template
        tokenizer.padding_side = "left"
        tokenizer.truncation_side = "left"
        if tokenizer.pad_token_id is None:
            if tokenizer.eos_token_id is None:
                raise AdapterError(f"{name}: the tokenizer has neither a pad nor an eos token")
            tokenizer.pad_token = tokenizer.eos_token
        config = model.config
        self._max_positions: int | None = getattr(config, "max_position_embeddings", None) or (
            getattr(config, "n_positions", None)
        )

    @classmethod
    def load(cls, path: Path) -> TransformersGenerator:
        """Load from a version folder (see the module docstring for the convention)."""
        path = Path(path)
        config = read_config_json(path)
        folder, batch_size, device, chat_template = _options(path, config)
        if not folder.is_dir():
            raise ConfigError(f"{folder}: model_dir does not exist (from {path / 'config.json'})")
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"{folder}: no Hugging Face config.json (write it with save_pretrained)"
            )
        if not any((folder / name).is_file() for name in WEIGHT_FILES):
            raise ConfigError(
                f"{folder}: no model weights (expected one of: {', '.join(WEIGHT_FILES)}); "
                "save the model with save_pretrained into this folder"
            )
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise AdapterError(
                f"the transformers adapter needs torch and transformers ({exc}); "
                "install the 'hf' extra: pip install 'safeship[hf]'"
            ) from exc
        quiet: Any = hf_logging.disable_progress_bar  # untyped in transformers
        quiet()
        try:
            tokenizer: Any = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{folder}: cannot load the tokenizer ({exc})") from exc
        try:
            model: Any = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{folder}: cannot load the model ({exc})") from exc
        try:
            model.to(torch.device(device))
        except (RuntimeError, AssertionError) as exc:
            raise ConfigError(
                f"{path / 'config.json'}: device {device!r} is not usable ({exc})"
            ) from exc
        model.eval()
        name = str(config.get("name") or path.name)
        return cls(
            name,
            model,
            tokenizer,
            batch_size=batch_size,
            device=device,
            chat_template=chat_template,
        )

    # -- generation -------------------------------------------------------------------

    def _format(self, prompt: str, system_prompt: str | None) -> str:
        if self._use_chat_template:
            messages = [{"role": "user", "content": prompt}]
            if system_prompt:
                messages.insert(0, {"role": "system", "content": system_prompt})
            text = self._tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
            return str(text)
        if system_prompt:
            return f"{system_prompt}\n\n{prompt}"
        return prompt

    def _max_input_tokens(self, max_new_tokens: int) -> int | None:
        if self._max_positions is None:
            return None
        return max(1, self._max_positions - max_new_tokens)

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        """Generate for every prompt; a prompt that fails gets ``error`` set, others go on."""
        import torch

        if request.max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be at least 1, got {request.max_new_tokens}")
        if math.isnan(request.temperature) or request.temperature < 0:
            raise InputError(f"temperature must be >= 0, got {request.temperature}")
        if request.seed is not None:
            torch.manual_seed(request.seed)
        results: list[Generation | None] = [None] * len(prompts)
        runnable: list[int] = []
        texts: list[str] = []
        for index, prompt in enumerate(prompts):
            try:
                texts.append(self._format(prompt, request.system_prompt))
                runnable.append(index)
            except Exception as exc:  # a broken chat template must not sink the batch
                results[index] = _failed(prompt, f"cannot format the prompt: {exc}")
        for start in range(0, len(runnable), self._batch_size):
            chunk = runnable[start : start + self._batch_size]
            chunk_texts = texts[start : start + self._batch_size]
            try:
                batch = self._generate_batch([prompts[i] for i in chunk], chunk_texts, request)
            except Exception:
                # Find which prompt broke the batch: run the chunk one prompt at a time.
                batch = []
                for i, text in zip(chunk, chunk_texts, strict=True):
                    try:
                        batch.extend(self._generate_batch([prompts[i]], [text], request))
                    except Exception as exc:
                        batch.append(_failed(prompts[i], f"{self.name}: generation failed: {exc}"))
            for i, generation in zip(chunk, batch, strict=True):
                results[i] = generation
        return [
            r if r is not None else _failed(p, "not generated")
            for r, p in zip(results, prompts, strict=True)
        ]

    def _generate_batch(
        self, prompts: list[str], texts: list[str], request: GenerationRequest
    ) -> list[Generation]:
        import torch

        tokenizer = self._tokenizer
        started = time.perf_counter()
        max_len = self._max_input_tokens(request.max_new_tokens)
        encoded = tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=max_len is not None,
            max_length=max_len,
            add_special_tokens=not self._use_chat_template,
        )
        lengths = [int(n) for n in encoded["attention_mask"].sum(dim=1).tolist()]
        ok_rows = [row for row, n in enumerate(lengths) if n > 0]
        generations: dict[int, Generation] = {}
        for row, n in enumerate(lengths):
            if n == 0:
                generations[row] = _failed(
                    prompts[row], "the prompt is empty after tokenization (nothing to continue)"
                )
        if ok_rows:
            input_ids = encoded["input_ids"][ok_rows].to(self._device)
            attention = encoded["attention_mask"][ok_rows].to(self._device)
            sample = request.temperature > 0
            kwargs: dict[str, Any] = {
                "max_new_tokens": request.max_new_tokens,
                "do_sample": sample,
                "pad_token_id": tokenizer.pad_token_id,
            }
            if sample:
                kwargs.update(temperature=request.temperature, top_k=0, top_p=1.0)
            with torch.no_grad():
                output = self._model.generate(
                    input_ids=input_ids, attention_mask=attention, **kwargs
                )
            new_tokens = output[:, input_ids.shape[1] :].tolist()
            elapsed = time.perf_counter() - started
            for row, tokens in zip(ok_rows, new_tokens, strict=True):
                tokens = _until_eos(tokens, tokenizer.eos_token_id)
                text = tokenizer.decode(tokens, skip_special_tokens=True)
                generations[row] = Generation(
                    prompt=prompts[row],
                    text=text,
                    prompt_tokens=lengths[row],
                    completion_tokens=len(tokens),
                    latency_s=elapsed,
                )
        return [generations[row] for row in range(len(prompts))]

    # -- scoring ----------------------------------------------------------------------

    def token_logprobs(self, text: str, prompt: str | None = None) -> list[float]:
        """Natural-log probability of each token of ``text`` given the tokens before it.

        With ``prompt``, ``text`` is scored as the continuation of the (formatted) prompt and
        only ``text``'s tokens get an entry. Without it, a beginning-of-sequence token is
        prepended when the tokenizer has one, so the first token is scored too (otherwise
        the first token has no entry). Sequences longer than the model's context keep their
        last ``max_positions`` tokens. Same signature as the ngram adapter's.
        """
        import torch

        tokenizer = self._tokenizer
        ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
        if prompt is not None:
            context = self._format(prompt, None)
            head: list[int] = tokenizer(context, add_special_tokens=not self._use_chat_template)[
                "input_ids"
            ]
        else:
            bos = tokenizer.bos_token_id
            head = [bos] if bos is not None and (not ids or ids[0] != bos) else []
        scored = len(ids) if head else len(ids) - 1
        sequence = [*head, *ids]
        if self._max_positions is not None and len(sequence) > self._max_positions:
            sequence = sequence[-self._max_positions :]
        scored = min(scored, len(sequence) - 1)
        if scored <= 0:
            return []
        tensor = torch.tensor([sequence], device=self._device)
        with torch.no_grad():
            logits = self._model(input_ids=tensor).logits[0, :-1].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        picked = logprobs.gather(1, tensor[0, 1:].unsqueeze(1)).squeeze(1)
        return [float(x) for x in picked[-scored:].tolist()]

    def perplexity(self, texts: Sequence[str], prompts: Sequence[str] | None = None) -> float:
        """Perplexity over all tokens of ``texts`` (as continuations of ``prompts`` if given).

        Same signature as the ngram adapter's: one number over the whole list.
        """
        if prompts is not None and len(prompts) != len(texts):
            raise InputError(f"{len(texts)} texts but {len(prompts)} prompts")
        logprobs: list[float] = []
        for i, text in enumerate(texts):
            logprobs += self.token_logprobs(text, prompts[i] if prompts is not None else None)
        if not logprobs:
            raise InputError("perplexity needs at least one text with a scorable token")
        return perplexity(logprobs)

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        self._model = None
        self._tokenizer = None


def perplexity(logprobs: list[float]) -> float:
    """Perplexity from per-token natural-log probabilities (``inf`` for an empty list)."""
    if not logprobs:
        return math.inf
    return math.exp(-sum(logprobs) / len(logprobs))


def _until_eos(tokens: list[int], eos: int | None) -> list[int]:
    if eos is not None and eos in tokens:
        return tokens[: tokens.index(eos) + 1]
    return tokens


def _failed(prompt: str, error: str) -> Generation:
    return Generation(
        prompt=prompt, text="", prompt_tokens=0, completion_tokens=0, latency_s=0.0, error=error
    )
