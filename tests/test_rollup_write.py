"""A kiosk's new ratings counted in the rollups by the write's own statement (on PostgreSQL,
survey/rollup_write.py; elsewhere the same counts through count_new), whatever they answer."""

from __future__ import annotations

import random

from survey import questionnaire, rollups
from tests.builders import bearer, kiosk_token, response_body


def _payload(q, rng: random.Random, items: int) -> dict:
    """A rating answering the overall question and `items` other scored items at random (some
    "not applicable"), sometimes with a comment and a profile."""
    chosen = rng.sample([*q.criteria, *q.expectation_codes], items)
    answers = {"OV": rng.randint(1, 5)}
    expectations = {}
    for code in chosen:
        if code in q.expectation_codes:
            expectations[code.removeprefix("EX")] = rng.choice([None, 1, 2, 3, 4])
        else:
            answers[code] = rng.choice([None, 1, 2, 3, 4, 5])
    changes = {"answers": answers, "expectations": expectations}
    if rng.random() < 0.3:
        changes["comment"] = "Cán bộ hướng dẫn tận tình."
    fields = q.data["profile"]
    if fields and rng.random() < 0.3:
        field = rng.choice(fields)
        changes["profile"] = {field["code"]: rng.choice(field["options"])["code"]}
    return response_body(minutes_ago=rng.randint(1, 3000), **changes)


def test_quick_and_full_ratings_keep_every_rollup_in_step(app):
    rng = random.Random(2026)
    with app.app_context():
        q = questionnaire.active()
        headers = bearer(kiosk_token(counter=None))
    scored = len(q.criteria) + len(q.expectation_codes)
    client = app.test_client()
    for step in range(60):
        # Few items (one statement text for every value) and many (the counted columns
        # named), into rows that exist already and rows that do not.
        items = rng.choice([0, 1, 2, 3, scored // 2, scored])
        reply = client.post("/api/v1/responses", json=_payload(q, rng, items), headers=headers)
        assert reply.status_code == 201, reply.get_json()
        with app.app_context():
            assert rollups.stored() == rollups.recompute(), f"step {step}"
    with app.app_context():
        assert rollups.counted() == 60
