"""Accounts in a real browser: the first admin (made with `kefu account create-admin`) signs in
with a password, invites an agent from the Agents page; the agent opens the link, sets a
password, signs in, goes online and receives a buyer's chat on the workbench. The admin then
changes the agent's groups and sees the change (before → after) in the audit."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect
from typer.testing import CliRunner

from kefu.cli.main import app as cli_app
from tests.web.conftest import Kefu, shot
from tests.web.test_i18n import SCAN, _problems

STORE = "acct"
ADMIN = "boss@acct.example"
ADMIN_PW = "boss-password-1"
AGENT_LOGIN = "xia@acct.example"
AGENT_PW = "xia-password-1"


def _scan(testid: str) -> str:
    """test_i18n's text scan, limited to one page's own element (the nav is not ours)."""
    return SCAN.replace("document.body", f"document.querySelector('[data-testid={testid}]')")


def _sign_in(page: Any, login: str, password: str) -> None:
    page.get_by_test_id("signin-login").fill(login)
    page.get_by_test_id("signin-password").fill(password)
    page.get_by_test_id("signin").click()


def test_admin_invites_an_agent_who_signs_in_and_receives_a_chat(kefu: Kefu, new_page: Any) -> None:
    r = CliRunner().invoke(cli_app, ["account", "create-admin", "--store", STORE, "--login",
                                     ADMIN, "--db", kefu.db],
                           env={"KEFU_ADMIN_PASSWORD": ADMIN_PW})  # fmt: skip
    assert r.exit_code == 0, r.output

    # -- the admin signs in with the password (a wrong one first: told how many tries remain)
    admin = new_page()
    admin.goto(f"{kefu.url}/app/login")
    _sign_in(admin, ADMIN, "not-the-password")
    expect(admin.get_by_test_id("signin-error")).to_have_text(
        "邮箱/手机号或密码错误，再错 4 次账号将被锁定 15 分钟"
    )
    shot(admin, "accounts-00-signin-error")
    _sign_in(admin, ADMIN, ADMIN_PW)
    expect(admin.get_by_test_id("me")).to_have_text("admin")
    cookies = {c["name"]: c for c in admin.context.cookies()}
    assert cookies["kefu_session"]["httpOnly"] is True
    assert cookies["kefu_session"]["sameSite"] == "Strict"
    assert admin.evaluate("localStorage.getItem('kefu.token')") in (None, "")  # nothing in JS

    # -- the Agents page: invite 小夏 to the 售前 group with capacity 3
    admin.locator('[data-nav="agents"]').click()
    expect(admin.get_by_test_id("agents-page")).to_be_visible()
    admin.get_by_test_id("agent-new").click()
    admin.get_by_test_id("new-agent-id").fill("xia")
    admin.get_by_test_id("new-agent-name").fill("小夏")
    admin.get_by_test_id("new-agent-groups").fill("售前")
    admin.get_by_test_id("new-agent-capacity").fill("3")
    admin.get_by_test_id("agent-new-submit").click()
    link = admin.get_by_test_id("invite-link")
    expect(link).to_have_value(re.compile(r"/app/invite\?code=inv_[\w-]{32}$"))
    url = link.input_value()
    assert url.startswith(f"{kefu.url}/app/invite?code=inv_")
    shot(admin, "accounts-01-invite-link")
    admin.get_by_test_id("agent-new-done").click()
    expect(admin.get_by_test_id("invitation-row")).to_have_count(1)

    # -- the agent opens the link, sets a password, signs in
    agent = new_page()
    agent.goto(url)
    expect(agent.get_by_test_id("invite-summary")).to_contain_text("客服")
    expect(agent.get_by_test_id("invite-name")).to_have_value("小夏")
    assert _problems(agent.evaluate(_scan("invite-page")), "zh-CN", {STORE, "xia"}) == []
    agent.get_by_test_id("invite-login").fill(AGENT_LOGIN)
    agent.get_by_test_id("invite-password").fill("short")
    agent.get_by_test_id("invite-confirm").fill("short")
    agent.get_by_test_id("invite-accept").click()
    expect(agent.get_by_test_id("invite-form-error")).to_have_text("密码至少 8 位")
    agent.get_by_test_id("invite-password").fill(AGENT_PW)
    agent.get_by_test_id("invite-confirm").fill(AGENT_PW)
    shot(agent, "accounts-02-accept")
    agent.get_by_test_id("invite-accept").click()
    expect(agent.get_by_test_id("signin-notice")).to_have_text("密码已设置，请登录")
    expect(agent.get_by_test_id("signin-login")).to_have_value(AGENT_LOGIN)
    agent.get_by_test_id("signin-password").fill(AGENT_PW)
    agent.get_by_test_id("signin").click()
    expect(agent.get_by_test_id("me")).to_have_text("小夏")
    expect(agent.get_by_test_id("conv-empty")).to_be_visible()
    # the link works once
    again = httpx.get(f"{kefu.url}/api/v1/invitations/{url.split('code=')[1]}", timeout=10)
    assert again.status_code == 410

    # -- online, a buyer asks for a person: the chat is routed to 小夏 and shows up live
    agent.get_by_test_id("status").locator('[data-status="online"]').click()
    expect(agent.get_by_test_id("status").locator('[data-status="online"]')).to_have_class("on")
    buyer = {"Authorization": f"Bearer {kefu.buyer(STORE, 'b1')}"}
    httpx.post(f"{kefu.url}/api/v1/buyer/messages", headers=buyer, timeout=30,
               json={"text": "这件T恤有货吗？想找人问问"})  # fmt: skip
    res = httpx.post(f"{kefu.url}/api/v1/buyer/transfer", headers=buyer, timeout=30).json()
    assigned = [a for a in res["actions"] if a["type"] == "transfer.result"]
    assert [(a["outcome"], a["agent"]) for a in assigned] == [("assigned", "xia")]
    item = agent.locator('[data-conv-item="b1~1"]')
    expect(item).to_be_visible()
    item.click()
    expect(agent.get_by_test_id("msg").filter(has_text="这件T恤有货吗")).to_have_count(1)
    shot(agent, "accounts-03-workbench")

    # -- the admin sees 小夏 online, edits the groups, and the audit shows before → after
    admin.reload()
    row = admin.locator('[data-testid="agent-row"][data-agent="xia"]')
    expect(row).to_contain_text("小夏")
    expect(row).to_contain_text("在线")
    expect(row.get_by_test_id("agent-capacity")).to_have_text("3")
    row.get_by_test_id("agent-edit").click()
    admin.get_by_test_id("edit-groups").fill("售前、售后")
    admin.get_by_test_id("agent-edit-save").click()
    expect(row.get_by_test_id("agent-groups")).to_have_text("售前、售后")
    first = admin.get_by_test_id("audit-row").first
    expect(first).to_have_attribute("data-action", "agent.update")
    expect(first).to_contain_text("售前")
    expect(first).to_contain_text("售前、售后")
    actions = admin.get_by_test_id("audit-row").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    assert actions == ["agent.update", "invitation.accept", "invitation.create", "agent.create"]
    shot(admin, "accounts-04-agents-page")
    words = _problems(admin.evaluate(_scan("agents-page")), "zh-CN", {STORE, "xia", "admin"})
    assert words == [], words  # the Chinese page has no English word (ids and logins aside)
    # the groups reached the engine as an event: the agents list the workbench reads has them
    token = kefu.staff(STORE, "ops", "supervisor")
    rows = kefu.api("GET", f"/api/v1/stores/{STORE}/agents", token).json()["items"]
    assert {r["agent"]: r["groups"] for r in rows}["xia"] == ["售前", "售后"]

    # -- the agent changes the temporary-ish password from the top bar
    agent.get_by_test_id("change-password").click()
    agent.get_by_test_id("pw-current").fill("wrong-password")
    agent.get_by_test_id("pw-new").fill("xia-password-2")
    agent.get_by_test_id("pw-again").fill("xia-password-2")
    agent.get_by_test_id("pw-save").click()
    expect(agent.get_by_test_id("pw-error")).to_have_text("当前密码不正确")
    agent.get_by_test_id("pw-current").fill(AGENT_PW)
    agent.get_by_test_id("pw-save").click()
    expect(agent.get_by_test_id("password-dialog")).to_be_hidden()
    ok = httpx.post(f"{kefu.url}/api/v1/auth/login", timeout=30,
                    json={"login": AGENT_LOGIN, "password": "xia-password-2"})  # fmt: skip
    assert ok.status_code == 200

    # -- sign out everywhere ends the agent's session
    agent.get_by_test_id("logout-all").click()
    expect(agent.get_by_test_id("signin")).to_be_visible()
    agent.goto(f"{kefu.url}/app/workbench")
    expect(agent.get_by_test_id("signin")).to_be_visible()
    assert admin.errors == [] and agent.errors == []
