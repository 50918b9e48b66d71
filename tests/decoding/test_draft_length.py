from specwhisper.decoding.draft_length import DraftLengthChooser


def _feed(chooser, acceptance_pattern, draft_step, verify_base, verify_per_k, rounds=40):
    for i in range(rounds):
        k = chooser.next_length()
        accepted = acceptance_pattern(k, i)
        chooser.record(k, accepted, draft_step * k, verify_base + verify_per_k * k)


def test_fixed_length_is_respected():
    chooser = DraftLengthChooser(16, fixed=3)
    _feed(chooser, lambda k, i: k, 0.001, 0.01, 0.0)
    assert chooser.next_length() == 3


def test_cheap_accurate_draft_drafts_long_and_bad_draft_drafts_short():
    good = DraftLengthChooser(16)
    _feed(
        good,
        lambda k, i: k if i % 10 else k - 1,
        draft_step=0.001,
        verify_base=0.012,
        verify_per_k=0.0005,
    )
    bad = DraftLengthChooser(16)
    _feed(
        bad,
        lambda k, i: 0 if i % 2 else min(1, k),
        draft_step=0.004,
        verify_base=0.012,
        verify_per_k=0.0005,
    )
    assert good.next_length() >= 8
    assert bad.next_length() <= 2
    assert good.acceptance > 0.9 > 0.5 > bad.acceptance


def test_expensive_draft_steps_shorten_the_draft():
    cheap, dear = DraftLengthChooser(16), DraftLengthChooser(16)
    pattern = lambda k, i: k if i % 4 else k // 2  # noqa: E731  (acceptance ~0.85 for both)
    _feed(cheap, pattern, 0.0005, 0.012, 0.0005)
    _feed(dear, pattern, 0.008, 0.012, 0.0005)
    assert cheap.next_length() > dear.next_length()


def test_one_slow_call_does_not_swing_the_choice():
    chooser = DraftLengthChooser(16)
    _feed(chooser, lambda k, i: k if i % 5 else k - 1, 0.002, 0.012, 0.0005)
    before = chooser.best_length()
    chooser.record(before, before, draft_s=5.0, verify_s=3.0)  # a page fault, say
    assert chooser.best_length() == before


def test_a_fixed_cost_per_draft_call_is_not_mistaken_for_a_per_token_cost():
    # Each call costs 6 ms whatever k (catching up, re-tokenizing) plus 1 ms per token.
    chooser = DraftLengthChooser(16)
    for i in range(60):
        k = chooser.next_length()
        chooser.record(k, k if i % 6 else k // 2, 0.006 + 0.001 * k, 0.012 + 0.0005 * k)
    fixed, step = chooser.draft_cost()
    assert abs(fixed - 0.006) < 1e-3 and abs(step - 0.001) < 2e-4
    assert chooser.best_length() >= 6


def test_exploration_tries_neighbours_of_the_best_length():
    chooser = DraftLengthChooser(16)
    chosen = []
    for i in range(40):
        k = chooser.next_length()
        chosen.append(k)
        chooser.record(k, k if i % 4 else k - 1, 0.002 * k, 0.012 + 0.0005 * k)
    assert len(set(chosen[8:])) >= 2


def test_a_second_length_is_measured_right_after_the_first():
    """One measured k cannot split draft time into per-call and per-token parts: the chooser
    tries another k next, whatever it believes is best."""
    chooser = DraftLengthChooser(16)
    first = chooser.next_length()
    chooser.record(first, first - 1, 0.006 + 0.0037 * first, 0.016)
    second = chooser.next_length()
    assert second != first
    chooser.record(second, second, 0.006 + 0.0037 * second, 0.016)
    assert len({k for k, _ in chooser.drafts}) == 2
