"""The FAQ editor API: entries with variants, keywords, related and enabled; try a question.

An entry edited through the API changes what the bot tells a buyer on the very next message.
"""

from __future__ import annotations

from tests.accounts.support import Live, live

__all__ = ["live"]
S = "shop1"
BASE = f"/api/v1/stores/{S}/faq"


def _ask(lv: Live, buyer: str, text: str) -> list[dict]:
    r = lv.client.post("/api/v1/buyer/messages", headers=lv.buyer(S, buyer), json={"text": text})
    assert r.status_code == 200, r.text
    return [a for a in r.json()["actions"] if a["type"] == "bot.reply"]


def test_edit_changes_the_bots_answer_at_once_and_try_shows_it(live: Live) -> None:
    c = live.client
    sup = live.staff(S, "sup", "supervisor")
    r = c.post(BASE, headers=sup, json={"question": "什么时候发货", "answer": "48小时内发货",
                                        "variants": ["几天发货", " 几天发货 "],
                                        "keywords": ["发货"]})  # fmt: skip
    assert r.status_code == 201, r.text
    e = r.json()
    fid = e["faq"]
    assert fid.startswith("faq-") and e["variants"] == ["几天发货"] and e["enabled"] is True
    assert "48小时内发货" in _ask(live, "b1", "什么时候发货")[-1]["text"]
    tried = c.post(f"{BASE}/try", headers=sup, json={"text": "什么时候发货"}).json()
    assert tried["decision"] == "answer" and tried["match"]["faq"] == fid
    assert tried["reply"] == "48小时内发货" and 0.5 <= tried["match"]["confidence"] <= 1
    assert tried["threshold"] == 0.5
    # Edit the answer: the next buyer message gets the new one.
    edited = {**e, "answer": "今天下单，明天发货"}
    del edited["faq"]
    assert c.put(f"{BASE}/{fid}", headers=sup, json=edited).status_code == 200
    assert _ask(live, "b2", "什么时候发货")[-1]["text"].endswith("今天下单，明天发货")
    assert c.post(f"{BASE}/try", headers=sup,
                  json={"text": "几天发货"}).json()["reply"] == "今天下单，明天发货"  # fmt: skip
    # Switch it off: the bot no longer answers with it, the editor still lists it.
    assert c.put(f"{BASE}/{fid}", headers=sup, json={**edited, "enabled": False}).json()[
        "enabled"] is False  # fmt: skip
    off = c.post(f"{BASE}/try", headers=sup, json={"text": "什么时候发货"}).json()
    assert off["decision"] == "miss" and off["match"] is None
    assert "明天发货" not in _ask(live, "b3", "什么时候发货")[-1]["text"]
    assert [i["faq"] for i in c.get(BASE, headers=sup).json()["items"]] == []
    listed = c.get(BASE, headers=sup, params={"include_disabled": True}).json()["items"]
    assert [(i["faq"], i["enabled"], i["answer"]) for i in listed] == [
        (fid, False, "今天下单，明天发货")
    ]
    assert c.get(f"{BASE}/{fid}", headers=sup).json()["enabled"] is False
    # Back on, then deleted: gone from every list.
    assert c.put(f"{BASE}/{fid}", headers=sup, json=edited).json()["enabled"] is True
    assert c.delete(f"{BASE}/{fid}", headers=sup).status_code == 204
    assert c.get(BASE, headers=sup, params={"include_disabled": True}).json()["items"] == []
    assert c.get(f"{BASE}/{fid}", headers=sup).status_code == 404
    assert c.delete(f"{BASE}/{fid}", headers=sup).status_code == 404


def test_validation_errors_name_the_field(live: Live) -> None:
    c = live.client
    sup = live.staff(S, "sup", "supervisor")
    r = c.put(f"{BASE}/f1", headers=sup, json={"question": "  ", "answer": "x",
                                               "variants": ["ok", ""]})  # fmt: skip
    assert r.status_code == 422
    locs = {tuple(d["loc"][1:]): d["msg"] for d in r.json()["detail"]}
    assert "blank" in locs[("question",)] and "variant 2 is blank" in locs[("variants",)]
    r = c.put(f"{BASE}/f1", headers=sup, json={"question": "q", "answer": "a",
                                               "related": ["nope"]})  # fmt: skip
    assert (r.status_code, r.json()["detail"]) == (422, "related: no entry nope in this store")
    r = c.put(f"{BASE}/f1", headers=sup, json={"question": "q", "answer": "a", "related": ["f1"]})
    assert r.json()["detail"] == "related: an entry cannot be related to itself"
    assert c.put(f"{BASE}/f2", headers=sup, json={"question": "退货", "answer": "7天无理由"}
                 ).status_code == 200  # fmt: skip
    r = c.put(f"{BASE}/f1", headers=sup, json={"question": "q", "answer": "a", "related": ["f2"]})
    assert r.status_code == 200 and r.json()["related"] == ["f2"]
    agent = live.staff(S, "a1", "agent")
    assert c.put(f"{BASE}/f3", headers=agent, json={"question": "q", "answer": "a"}
                 ).status_code == 403  # fmt: skip
    assert c.post(f"{BASE}/try", headers=agent, json={"text": "退货"}).status_code == 200
    assert c.post(f"{BASE}/try", headers=agent, json={"text": ""}).status_code == 422


def test_try_reports_unsure_below_the_threshold_and_transfer_words(live: Live) -> None:
    c = live.client
    sup = live.staff(S, "sup", "supervisor")
    c.put(f"{BASE}/f1", headers=sup, json={"question": "什么时候发货", "answer": "48小时内发货"})
    miss = c.post(f"{BASE}/try", headers=sup, json={"text": "火星上能用吗"}).json()
    assert miss["decision"] in ("miss", "unsure")
    assert miss["reply"] != "48小时内发货"
    person = c.post(f"{BASE}/try", headers=sup, json={"text": "转人工"}).json()
    assert person["decision"] == "transfer" and person["reply"] is None


def test_a_proposal_edited_before_approval_answers_as_edited(live: Live) -> None:
    from kefu.faq import live as faq_live
    from kefu.faq.learn import Evidence, Proposal

    c = live.client
    sup = live.staff(S, "sup", "supervisor")
    p = Proposal(id="q1", question="库存还多吗", answer="价格是统一的", variants=[],
                 score=1.0, evidence=Evidence())  # fmt: skip
    with live.service.sessions.begin() as s:
        faq_live.save(s, S, [p], 0)
    r = c.put(f"{BASE}/proposals/q1", headers=sup,
              json={"answer": "库存充足，放心下单"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "edited" and r.json()["learned_answer"] == "价格是统一的"
    tried = c.post(f"{BASE}/try", headers=sup, json={"text": "库存还多吗"}).json()
    assert (tried["decision"], tried["reply"]) == ("answer", "库存充足，放心下单")
