"""A citizen completes the survey on a 360×640 phone in real Chromium, in each language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Response

TITLES = {"vi": "Cảm ơn Ông/Bà", "en": "Thank you"}


@pytest.mark.parametrize("lang", ["vi", "en", "km"])
def test_phone_journey(app, live_server, phone, shoot, lang):
    page = phone
    page.goto(f"{live_server}/{lang}/")
    assert page.get_attribute("html", "lang") == lang
    shoot(page, f"{lang}-1-services")
    page.fill("input[name=q]", "khai sinh")
    page.press("input[name=q]", "Enter")
    shoot(page, f"{lang}-2-search")
    page.click("ul.service-list a")  # the only match: Đăng ký khai sinh
    expect(page.locator("fieldset legend")).to_have_count(1)
    shoot(page, f"{lang}-3-overall")
    page.click("button[type=submit]")  # nothing chosen: the error summary takes focus
    expect(page).to_have_title(re.compile("^(Lỗi|Error|កំហុស)"))
    expect(page.locator(".error-summary")).to_be_focused()
    shoot(page, f"{lang}-4-overall-error")
    page.click("label[for=OV-1]")  # the first level shown is the most satisfied
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/more$"))
    shoot(page, f"{lang}-5-more")
    page.click("a.button")  # the detailed survey
    for number, element in enumerate(["tc", "tt", "cc", "kq", "pa"]):
        expect(page).to_have_url(re.compile(f"/{element}$"))
        if number == 0:
            shoot(page, f"{lang}-6-element")
        page.locator("fieldset").first.locator("label").nth(1).click()
        page.locator("fieldset").last.locator("label.level-na").click()
        page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/expectations$"))
    page.locator("fieldset").first.locator("label").first.click()
    shoot(page, f"{lang}-7-expectations")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/comment$"))
    page.fill("textarea[name=comment]", "Cán bộ hướng dẫn tận tình. ខ្ញុំពេញចិត្ត")
    shoot(page, f"{lang}-8-comment")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/about-you$"))  # the optional profile
    expect(page.locator("fieldset legend")).to_have_count(6)
    page.click("label[for=gender-2]")
    page.click("label[for=age_band-3]")
    shoot(page, f"{lang}-8b-profile")
    page.click("button[value=save]")
    expect(page).to_have_url(re.compile("/call-back$"))  # a comment: the call-back offer
    page.click("main a.button.secondary")  # "No, thank you"
    expect(page).to_have_url(re.compile("/thank-you$"))
    if lang in TITLES:
        expect(page.locator("h1")).to_have_text(TITLES[lang])
    shoot(page, f"{lang}-9-thank-you")
    page.go_back()  # the call-back offer
    expect(page).to_have_url(re.compile("/call-back$"))
    page.go_back()  # the profile page again: its answers shown as chosen
    expect(page.locator("#gender-2")).to_be_checked()
    page.go_back()  # back to the comment page after sending: it says it was sent
    expect(page).to_have_url(re.compile("again=1$"))
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        assert (response.status, response.locale, response.channel) == ("complete", lang, "web")
        answers = dict(db.session.execute(select(Answer.item, Answer.value)).all())
    assert answers["OV"] == 5 and answers["TC1"] == 4 and answers["TC3"] is None
    assert answers["EX1"] == 4 and len(answers) == 1 + 16 + 10
    assert response.comment.endswith("ខ្ញុំពេញចិត្ត")
    assert response.profile == {"gender": "female", "age_band": "35-49"}
