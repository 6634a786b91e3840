"""Messages the desk sends outside a turn, through the real PTB channel and the Bot API
stand-in: a reminder arrives silently and keeps its quick-exit button."""

from __future__ import annotations

import asyncio

from bot.core import ConversationCore
from bot.handlers.telegram import TelegramChannel, TelegramSettings
from bot.replies import Button, Reply
from bot.safety import SafetyNet
from bot.storage import Database, ExitLog
from common.content import ContentStore
from tests.fakes.rasa import ScriptedRasa
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import ROOT

CHAT = 5550004443322


def test_a_silent_relay_arrives_without_sound_with_its_quick_exit(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    database.migrate()
    content = ContentStore(ROOT / "content")
    core = ConversationCore(ScriptedRasa(), content, SafetyNet(content, {}), database, "k")

    async def scenario(standin: TelegramStandIn) -> None:
        channel = TelegramChannel(core, TelegramSettings(token=standin.token,
                                                         base_url=standin.base_url),
                                  ExitLog(database))
        async with channel.application:
            reminder = Reply("Bạn có tin nhắn mới.", (Button("Thoát nhanh", "/quick_exit"),))
            await channel._relay(str(CHAT), reminder, silent=True)
            await channel._relay(str(CHAT), Reply("Tư vấn viên Mai: Em ổn không?"))

    with TelegramStandIn() as standin:
        asyncio.run(scenario(standin))
        reminder, message = standin.sent(CHAT)
        assert reminder["disable_notification"] is True
        assert message["disable_notification"] is False
        assert reminder["reply_markup"]["inline_keyboard"][0][0]["text"] == "Thoát nhanh"
        assert reminder["protect_content"] is True
