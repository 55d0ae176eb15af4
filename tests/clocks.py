"""Clocks for tests: put one in place of the `time` module that a product module reads (monkeypatch
`module.time`), so that what the code decides by the clock does not depend on how fast the machine runs."""


class ManualClock:
    """time() and monotonic() move only when the test advances them or the code sleeps: sleep() records the
    seconds, advances the clock by them and returns at once."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
