"""Speculative sampling follows exactly the main model's distribution (statistical tests).

Two levels: the accept/resample rule on fixed distributions (the joint of two tokens, a draft
with its own q and a deterministic draft), and whole windows of a random tiny model, where the
first sampled token's distribution is known exactly. Chi-square tests at significance 0.001
with fixed seeds: deterministic, and a broken rule fails them by a wide margin.
"""

import numpy as np
import pytest
import torch
from window_helpers import window_audio

from specwhisper.decoding.draft_length import DraftLengthChooser
from specwhisper.decoding.drafters.model_draft import ModelDrafter
from specwhisper.decoding.kv_decoder import CachedDecoder
from specwhisper.decoding.options import SpecStats, TranscribeOptions
from specwhisper.decoding.prompt import build_prompt
from specwhisper.decoding.search import search
from specwhisper.decoding.verify import Proposal, Sampling, _accept_sampled
from specwhisper.decoding.window import WindowDecoder

ALPHA = 0.001
VOCAB = 6
EOT = VOCAB  # never sampled here


def _chi_square(counts: np.ndarray, expected_probs: np.ndarray) -> float:
    """p-value of Pearson's chi-square test of ``counts`` against ``expected_probs``
    (0 when a token of probability 0 was drawn)."""
    keep = expected_probs > 0
    if counts[~keep].sum() > 0:
        return 0.0
    expected = expected_probs[keep] * counts.sum()
    statistic = float((((counts[keep] - expected) ** 2) / expected).sum())
    degrees = int(keep.sum()) - 1
    # The chi-square survival function is the regularized upper incomplete gamma.
    return float(torch.special.gammaincc(torch.tensor(degrees / 2), torch.tensor(statistic / 2)))


@pytest.mark.parametrize("with_q", [True, False], ids=["draft-q", "deterministic"])
def test_accept_rule_gives_the_main_joint_distribution(with_q):
    """Two positions: p1 for the first token, p2 for the second (the same whatever the first,
    for simplicity); the draft proposes from q1, q2 (or a fixed pair). The kept tokens must be
    distributed as p1 x p2, a second token being drawn after a fully kept draft."""
    generator = torch.Generator().manual_seed(0)
    sampling = Sampling(1.0, generator)
    p = torch.tensor([[0.4, 0.3, 0.15, 0.1, 0.05, 0.0], [0.05, 0.05, 0.5, 0.2, 0.1, 0.1]])
    q = torch.tensor([[0.1, 0.5, 0.1, 0.1, 0.1, 0.1], [0.3, 0.3, 0.1, 0.1, 0.1, 0.1]])
    logits = torch.log(torch.cat([p, p[1:]]))  # rows: after 0, 1 and 2 draft tokens
    counts = np.zeros((VOCAB, VOCAB))
    for _ in range(20000):
        if with_q:
            draft = [sampling.draw(q[0]), sampling.draw(q[1])]
            proposal = Proposal(draft, q)
        else:
            proposal = Proposal([1, 2])
        kept, _ = _accept_sampled(logits.clone(), proposal, EOT, sampling)
        if len(kept) < 2:  # rejected at the first position: draw the second from p2
            kept.append(sampling.draw(p[1]))
        counts[kept[0], kept[1]] += 1
    expected = torch.outer(p[0], p[1]).numpy()
    assert _chi_square(counts.flatten(), expected.flatten()) > ALPHA


def test_a_broken_rule_is_caught():
    """The same test rejects a rule that keeps every draft token (the sanity check)."""
    generator = torch.Generator().manual_seed(0)
    sampling = Sampling(1.0, generator)
    p = torch.tensor([0.4, 0.3, 0.15, 0.1, 0.05, 0.0])
    q = torch.tensor([0.1, 0.5, 0.1, 0.1, 0.1, 0.1])
    counts = np.zeros(VOCAB)
    for _ in range(5000):
        counts[sampling.draw(q)] += 1  # "always accept"
    assert _chi_square(counts, p.numpy()) < ALPHA


def test_windows_sample_the_first_token_as_the_main_model(same_vocab_pair):
    """Whole windows of a random model at temperature 1, speculative with a noisy draft of
    the same vocabulary: the first sampled token (a timestamp, by the rules) follows the main
    model's filtered distribution, computed exactly from one forward pass."""
    main, draft = same_vocab_pair
    options = TranscribeOptions(temperature=(1.0,), max_new_tokens=2)
    rng = np.random.default_rng(5)
    audio = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
    window = window_audio(main, audio)
    stats = SpecStats()
    generator = torch.Generator().manual_seed(1)
    decoder = WindowDecoder(
        main,
        ModelDrafter(draft, speech_window=False),
        DraftLengthChooser(8, fixed=1),
        options,
        stats,
        generator,
    )
    prompt = build_prompt(main, "en", "transcribe", timestamps=True)
    with torch.inference_mode():
        encoder_out = decoder.encode(window.features)
        exact = CachedDecoder(main.model, encoder_out).forward(prompt.tokens)[-1:]
        probs = torch.softmax(decoder.filters.apply(exact, []), dim=-1)[0]
        context = decoder.window_context(window, encoder_out, None, prompt, [], "en")
        session = decoder.drafter.start(context)
        counts = torch.zeros_like(probs)
        cache = CachedDecoder(main.model, encoder_out)
        for _ in range(2000):
            if cache.length:  # back to the prompt, as a retry at another temperature does
                cache.crop(len(prompt.tokens) - 1)
            found = search(
                cache,
                decoder.filters,
                prompt,
                2,
                main.special.eot,
                stats,
                session,
                decoder.chooser,
                Sampling(1.0, generator),
            )
            counts[found.tokens[0]] += 1
    assert stats.tokens_accepted > 0 and stats.tokens_accepted < stats.tokens_drafted
    support = probs > 1e-4  # pool the far tail into one bin
    observed = np.append(counts[support].numpy(), counts[~support].sum().item())
    expected = np.append(probs[support].numpy(), probs[~support].sum().item())
    assert _chi_square(observed, expected / expected.sum()) > ALPHA
