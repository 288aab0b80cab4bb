"""Progress on stderr for long replays: a bar on a terminal, a line every few seconds otherwise."""

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_bytes: int | None, stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.total = total_bytes
        self.stream = stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = stream.isatty()
        self.started = time.perf_counter()
        self._next = self.started + (0.2 if self.tty else 5.0)

    def update(self, done_bytes: int, records: int) -> None:
        now = time.perf_counter()
        if not self.enabled or now < self._next:
            return
        self._next = now + (0.2 if self.tty else 5.0)
        rate = records / max(now - self.started, 1e-9)
        if self.total:
            frac = min(1.0, done_bytes / self.total)
            bar = "#" * int(frac * 30)
            text = f"[{bar:<30}] {frac:6.1%} {records:,} records {rate:,.0f}/s"
        else:
            text = f"{records:,} records {rate:,.0f}/s"
        if self.tty:
            self.stream.write("\r" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
