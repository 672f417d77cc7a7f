"""Demo responses: a synthetic province's ratings over the two years before a moment.

`load` streams them into the database in chunks, with ids it reserves itself (PostgreSQL: COPY;
SQLite: batched inserts in one transaction), without the ORM write path or its rollup listener;
`seed_responses` loads and then rebuilds the daily rollups. The same seed and `now` give the
same ratings; the public ids also depend on where the ids start, so that loads add up.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from survey import questionnaire, rollups
from survey.demo_store import open_store
from survey.extensions import db
from survey.models import Unit
from survey.province import Calendar, Province

CHANNEL_WEIGHTS = {"kiosk": 45, "qr": 35, "web": 15, "paper": 5}
COMMENTS = (
    "Cán bộ hướng dẫn tận tình, chu đáo.",
    "Phải chờ lâu quá, nên có thêm quầy vào buổi sáng.",
    "Thủ tục nhanh gọn, rất hài lòng.",
    "Bãi giữ xe chật, trời nắng không có chỗ chờ.",
    "Máy lấy số thứ tự hay bị lỗi.",
    "Nhân viên lịch sự nhưng hướng dẫn chưa rõ giấy tờ cần nộp.",
    "Nên có người nói tiếng Khmer để hỗ trợ bà con.",
    "Trả kết quả trễ hẹn 2 ngày, không được báo trước.",
    "Cảm ơn các anh chị cán bộ.",
    "<b>Không</b> rõ phí phải nộp bao nhiêu & nộp ở đâu.",
)
# How often each profile option is chosen; options not listed weigh 1.
PROFILE_WEIGHTS = {
    "respondent_type": {"individual": 88, "organisation": 12},
    "gender": {"male": 52, "female": 47, "other": 1},
    "age_band": {"18-24": 10, "25-34": 27, "35-49": 33, "50-60": 20, "60+": 10},
    "ethnicity": {"kinh": 88, "khmer": 8, "hoa": 3, "cham": 0.5, "other": 0.5},
    "education": {"none": 4, "primary": 18, "lower_secondary": 25, "upper_secondary": 25},
    "occupation": {"farmer": 30, "worker": 18, "business": 16, "civil_servant": 8},
}
CHUNK = 10000
CHANNELS = list(CHANNEL_WEIGHTS)
CHANNEL_CUM = list(itertools.accumulate(CHANNEL_WEIGHTS.values()))


def _answer(rng: random.Random, mood: float, top: int = 5) -> int:
    """An answer on a 1..top scale around a latent satisfaction `mood` (0..1)."""
    value = round(1 + (top - 1) * min(max(rng.gauss(mood, 0.22), 0), 1))
    return max(1, min(top, value))


def _answers(rng, q, mood: float, partial: bool) -> list[tuple[str, int | None]]:
    """OV first, as asked; a partial response stops somewhere in the criteria."""
    answers = [(q.overall_code, _answer(rng, mood))]
    criteria = list(q.criteria.items())
    if partial:
        criteria = criteria[: rng.randrange(len(criteria))]
    elif rng.random() >= 0.6:
        criteria = []
    for code, element in criteria:
        if rng.random() < (0.45 if element == "PA" else 0.06):
            answers.append((code, None))
        else:
            answers.append((code, _answer(rng, mood + rng.uniform(-0.08, 0.05))))
    if not partial and rng.random() < 0.4:
        answers += [(c, _answer(rng, rng.uniform(0.3, 0.95), top=4)) for c in q.expectation_codes]
    return answers


def _profile_choices(q) -> list[tuple[str, list[str], list[float]]]:
    out = []
    for entry in q.data.get("profile", []):
        codes = [o["code"] for o in entry.get("options") or []]
        weights = PROFILE_WEIGHTS.get(entry["code"], {})
        if codes:
            out.append(
                (entry["code"], codes, list(itertools.accumulate(weights.get(c, 1) for c in codes)))
            )
    return out


def _profile(rng, choices, locale: str) -> str | None:
    """About a quarter of respondents say who they are, each question answered or skipped."""
    if rng.random() >= 0.25:
        return None
    profile = {}
    for code, options, cum in choices:
        if rng.random() < 0.85:
            profile[code] = options[bisect.bisect(cum, rng.random() * cum[-1])]
    if locale == "km" and "ethnicity" in profile:
        profile["ethnicity"] = "khmer"
    return json.dumps(profile) if profile else None


class Generator:
    """Rows of responses and answers, chunk by chunk, from one random stream."""

    def __init__(self, seed: int, now: datetime):
        self.rng = random.Random(seed)
        self.seed = seed
        self.q = questionnaire.active()
        if self.q is None:
            raise RuntimeError("no active questionnaire: prepare the instance first")
        self.province = Province.load()
        if not self.province.places:
            raise RuntimeError("no unit handles an active service: load a catalogue first")
        self.calendar = Calendar(now, current_app.config["SURVEY_TIMEZONE"])
        self.profiles = _profile_choices(self.q)
        self.public_ids: random.Random | None = None

    def _public_id(self, first_id: int) -> str:
        if self.public_ids is None:
            self.public_ids = random.Random(f"{self.seed}:{first_id}")
        return str(uuid.UUID(int=self.public_ids.getrandbits(128), version=4))

    def chunk(self, ids: list[int]) -> tuple[list[tuple], list[tuple]]:
        """One response row per id, and the rows of their answers."""
        responses, answers = [], []
        for rid in ids:
            row, mood, partial = self._response(rid, ids[0])
            responses.append(row)
            answers += [
                (rid, item, value) for item, value in _answers(self.rng, self.q, mood, partial)
            ]
        return responses, answers

    def _response(self, rid: int, first_id: int) -> tuple[tuple, float, bool]:
        rng, place = self.rng, self.province.pick(self.rng)
        service, counter = place.pick(rng)
        captured, progress = self.calendar.pick(rng, place.saturday)
        channel = CHANNELS[bisect.bisect(CHANNEL_CUM, rng.random() * CHANNEL_CUM[-1])]
        if channel == "web" and rng.random() < 0.7:
            counter = None  # rated later from home, no counter in mind
        locale = "km" if rng.random() < place.khmer else ("en" if rng.random() < 0.02 else "vi")
        partial = rng.random() < 0.1
        late = timedelta(days=rng.randint(1, 3)) if channel == "paper" else timedelta(0)
        received = captured + late + timedelta(seconds=rng.randint(1, 90))
        mood = self.province.quality[service] + place.quality + 0.08 * progress
        row = (
            rid,
            self._public_id(first_id),
            self.q.id,
            service,
            place.id,
            counter,
            channel,
            locale,
            captured,
            received,
            received,
            "partial" if partial else "complete",
            "burst" if rng.random() < 0.01 else None,
            rng.choice(COMMENTS) if rng.random() < 0.1 else None,
            None if partial else _profile(rng, self.profiles, locale),
        )
        return row, mood, partial


def load(n: int, *, seed: int = 1, now: datetime | None = None, chunk: int = CHUNK) -> int:
    """Add `n` demo responses over the two years before `now` in one transaction; no rollups.

    A thread makes the next chunk's rows while this one waits for the database to take the
    current chunk (the generator holds no connection and runs its chunks in order, so the
    rows are the same as one after the other); two chunks at most are held."""
    generator = Generator(seed, now or datetime.now(UTC))
    store = open_store(db.session.connection())
    with ThreadPoolExecutor(max_workers=1) as maker:
        made = None
        for start in range(0, n, chunk):
            ids = store.reserve(min(chunk, n - start))
            upcoming = maker.submit(generator.chunk, ids)
            if made is not None:
                store.write(*made.result())
            made = upcoming
        if made is not None:
            store.write(*made.result())
    db.session.commit()
    return n


def seed_responses(n: int, *, seed: int = 1, now: datetime | None = None) -> int:
    """Add `n` demo responses over the two years before `now`, then rebuild the rollups."""
    load(n, seed=seed, now=now)
    rollups.rebuild()
    return n


def first_commune_code() -> str:
    """The code of the first unit below the top one (a commune service point)."""
    return db.session.scalar(
        select(Unit.code).where(Unit.parent_id.is_not(None)).order_by(Unit.id)
    ) or db.session.scalar(select(Unit.code))
