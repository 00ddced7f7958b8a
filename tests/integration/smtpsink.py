"""smtpsink: a real SMTP server (Debian's python3-aiosmtpd) for the
verification tests.  Usage: smtpsink.py PORT DIR [refuse]

Listens on 127.0.0.1:PORT and writes each message it accepts to
DIR/<n>.json as {"mail_from":..., "rcpt_tos":[...], "data":"..."}; with
`refuse`, answers every message 554 instead (a delivery failure).  Prints
"ready" on stdout once it listens, and runs until killed.
"""
import asyncio
import json
import os
import sys

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, outdir, refuse):
        self.outdir = outdir
        self.refuse = refuse
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.7.1 refused by the test"
        self.n += 1
        doc = {"mail_from": envelope.mail_from,
               "rcpt_tos": list(envelope.rcpt_tos),
               "data": envelope.content.decode("utf-8", "replace")}
        tmp = os.path.join(self.outdir, ".%d.tmp" % self.n)
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.rename(tmp, os.path.join(self.outdir, "%d.json" % self.n))
        return "250 OK"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    refuse = len(sys.argv) > 3 and sys.argv[3] == "refuse"
    ctl = Controller(Store(outdir, refuse), hostname="127.0.0.1", port=port)
    ctl.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
