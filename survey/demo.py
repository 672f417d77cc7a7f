"""Demo responses: a realistic spread over two years, services, units, counters and channels.

Written in bulk (not through the ORM write path) for speed, then the rollups are rebuilt.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from survey import questionnaire, rollups
from survey.extensions import db
from survey.models import Answer, Counter, Response, Service, Unit

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
CHUNK = 2000


def _answer(rng: random.Random, mood: float, top: int = 5) -> int:
    """An answer on a 1..top scale around a latent satisfaction `mood` (0..1)."""
    value = round(1 + (top - 1) * min(max(rng.gauss(mood, 0.22), 0), 1))
    return max(1, min(top, value))


def _responses(rng, n, q, services, units, counters, now):
    weights = [1 / (i + 1) ** 0.8 for i in range(len(services))]
    quality = {s.id: rng.uniform(0.62, 0.9) for s in services}
    for _ in range(n):
        service = rng.choices(services, weights)[0]
        unit = rng.choice(units)
        counter = rng.choice(counters.get(unit.id, [None]) + [None])
        age = rng.random() * 730
        captured = now - timedelta(days=age, minutes=rng.randint(0, 600))
        mood = quality[service.id] + 0.08 * (1 - age / 730)  # slowly getting better
        yield (
            {
                "public_id": str(uuid.uuid4()),
                "questionnaire_id": q.id,
                "service_id": service.id,
                "unit_id": unit.id,
                "counter_id": counter.id if counter else None,
                "channel": rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0],
                "locale": rng.choices(["vi", "km", "en"], [90, 8, 2])[0],
                "captured_at": captured,
                "received_at": captured + timedelta(seconds=rng.randint(1, 90)),
                "updated_at": captured,
                "status": "complete" if rng.random() < 0.9 else "partial",
                "flag_reason": "burst" if rng.random() < 0.01 else None,
                "comment": rng.choice(COMMENTS) if rng.random() < 0.1 else None,
                "contact_consent": False,
            },
            mood,
        )


def _answers(rng, q, mood):
    answers = {q.overall_code: _answer(rng, mood)}
    if rng.random() < 0.6:
        for code, element in q.criteria.items():
            if rng.random() < (0.45 if element == "PA" else 0.06):
                answers[code] = None
            else:
                answers[code] = _answer(rng, mood + rng.uniform(-0.08, 0.05))
    if rng.random() < 0.4:
        for code in q.expectation_codes:
            answers[code] = _answer(rng, rng.uniform(0.3, 0.95), top=4)
    return answers


def seed_responses(n: int, *, seed: int = 1, now: datetime | None = None) -> int:
    """Add `n` demo responses over the two years before `now`; return how many were added."""
    rng, q = random.Random(seed), questionnaire.active()
    now = now or datetime.now(UTC)
    services = list(db.session.scalars(select(Service).filter_by(active=True).order_by(Service.id)))
    units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
    counters: dict[int, list[Counter]] = {}
    for counter in db.session.scalars(select(Counter).order_by(Counter.id)):
        counters.setdefault(counter.unit_id, []).append(counter)
    pending = list(_responses(rng, n, q, services, units, counters, now))
    for start in range(0, n, CHUNK):
        chunk = pending[start : start + CHUNK]
        db.session.execute(insert(Response), [row for row, _ in chunk])
        ids = dict(
            db.session.execute(
                select(Response.public_id, Response.id).where(
                    Response.public_id.in_([row["public_id"] for row, _ in chunk])
                )
            ).all()
        )
        db.session.execute(
            insert(Answer),
            [
                {"response_id": ids[row["public_id"]], "item": item, "value": value}
                for row, mood in chunk
                for item, value in _answers(rng, q, mood).items()
            ],
        )
    db.session.commit()
    rollups.rebuild()
    return n


def first_commune_code() -> str:
    """The code of the first unit below the top one (a commune service point)."""
    return db.session.scalar(
        select(Unit.code).where(Unit.parent_id.is_not(None)).order_by(Unit.id)
    ) or db.session.scalar(select(Unit.code))
