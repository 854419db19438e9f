"""A real SMTP server (aiosmtpd) for tests/sending.rs, on 127.0.0.1 and a free port.

Usage: python server.py DIR

Prints the port it listens on as the first line of stdout, then serves until
its stdin closes (the test that started it ended) or it is killed. How it
answers is read from the file DIR/mode at every command, so a test can change
it between attempts:

  accept            every message is taken (the default when DIR/mode is absent)
  refuse-transient  451 to every recipient: nothing delivered, try again later
  refuse-permanent  550 to every recipient: nothing delivered, ever
  hang-after-data   the message is taken, then the final reply never comes

Each message taken is saved as DIR/NNN.eml (written whole, then renamed into
place), and every MAIL FROM appends a line to DIR/attempts.
"""

import asyncio
import os
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, folder):
        self.folder = folder

    def mode(self):
        try:
            with open(os.path.join(self.folder, "mode"), encoding="utf-8") as f:
                return f.read().strip() or "accept"
        except FileNotFoundError:
            return "accept"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with open(os.path.join(self.folder, "attempts"), "a", encoding="utf-8") as f:
            f.write(address + "\n")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mode = self.mode()
        if mode == "refuse-transient":
            return "451 4.3.0 Mailbox busy, try again later"
        if mode == "refuse-permanent":
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        taken = sum(1 for name in os.listdir(self.folder) if name.endswith(".eml"))
        final = os.path.join(self.folder, "%03d.eml" % (taken + 1))
        with open(final + ".part", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(final + ".part", final)
        if self.mode() == "hang-after-data":
            await asyncio.Event().wait()
        return "250 Message accepted for delivery"


async def main():
    folder = sys.argv[1]
    loop = asyncio.get_running_loop()
    handler = Handler(folder)
    server = await loop.create_server(lambda: SMTP(handler, hostname="smtp.test"), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
