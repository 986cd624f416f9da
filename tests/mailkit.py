"""A real SMTP server for tests (aiosmtpd), scripted per test: the ``smtp`` fixture of tests/conftest.py.

Mail goes to a server started on a free local port that answers as each test scripts it (451 then
250, 550, a stall), and keeps what it accepted.
"""
import asyncio
import socket
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    """An SMTP server that takes mail, or answers as scripted: ``rcpt`` and ``data`` answers are
    used up one per message, then it answers 250; ``stall`` seconds of silence before the next DATA."""

    def __init__(self):
        self.received = []
        self.rcpt = []
        self.data = []
        self.stall = 0
        self.stalled = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt:
            return self.rcpt.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stall:
            stall, self.stall = self.stall, 0
            self.stalled.set()
            await asyncio.sleep(stall)  # the client is gone by now: nothing was accepted
            return "451 4.4.2 Timeout"
        if self.data:
            return self.data.pop(0)
        self.received.append(envelope)
        return "250 OK"

    def messages(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.received]


def serve(app):
    """Start a MailServer and point ``app`` at it; returns the server and the controller to stop."""
    server = MailServer()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    app.config["SMTP_TIMEOUT"] = 5
    server.port = controller.port
    return server, controller
