"""The congestion picture: riders' own speeds per H3 cell in tumbling event-time windows,
against each cell's usual speed.

A window is judged only once event time has passed it by the allowed lateness (the core says
when, through `finalize`), so every arrival order gives the same picture.
"""

from dataclasses import dataclass, field
from typing import Any, Self

import h3

from schemas import AreaRiskChange, RiderAlert
from streams.config.thresholds import Congestion
from streams.primitives.alerts import rider_alert
from streams.primitives.ids import derived_id
from streams.primitives.snapshot import Migration, Snapshot, fields, versioned

_NEVER = -(2**62)  # before any window
KIND = "area.congestion_map"
VERSION = 1
MIGRATIONS: dict[int, Migration] = {}

# Judged windows kept for exemption look-ups: longer than any order is kept (Orders.max_age_s).
_HISTORY_MS = 8 * 3_600_000


# The open windows and cells below are parts of the map's snapshot, versioned with it: they
# give plain values (sets as sorted lists) but no kind and version of their own, which would
# only repeat the map's in every cell.


@dataclass(slots=True)
class _Window:
    speed_sum: float = 0.0
    fixes: int = 0
    riders: set[str] = field(default_factory=set)

    def to_plain(self) -> dict[str, Any]:
        return {"speed_sum": self.speed_sum, "fixes": self.fixes,
                "riders": sorted(self.riders)}

    @classmethod
    def from_plain(cls, values: dict[str, Any]) -> Self:
        return cls(values["speed_sum"], values["fixes"], set(values["riders"]))


@dataclass(slots=True)
class _Cell:
    usual_kmh: float | None = None
    history_windows: int = 0
    congested_since: int | None = None
    empty_windows: int = 0
    alerted_riders: set[str] = field(default_factory=set)

    def to_plain(self) -> dict[str, Any]:
        return {"usual_kmh": self.usual_kmh, "history_windows": self.history_windows,
                "congested_since": self.congested_since, "empty_windows": self.empty_windows,
                "alerted_riders": sorted(self.alerted_riders)}

    @classmethod
    def from_plain(cls, values: dict[str, Any]) -> Self:
        return cls(values["usual_kmh"], values["history_windows"], values["congested_since"],
                   values["empty_windows"], set(values["alerted_riders"]))


@dataclass(frozen=True, slots=True)
class PartialWindow:
    """One source's share of a cell window, for a judge that sees every source."""

    window_start: int
    cell: str
    speed_sum: float
    fixes: int
    riders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CongestedWindow:
    cell: str
    window_start: int
    mean_kmh: float
    usual_kmh: float

    def to_plain(self) -> list:
        return [self.cell, self.window_start, self.mean_kmh, self.usual_kmh]

    @classmethod
    def from_plain(cls, values: list) -> Self:
        return cls(*values)


class CongestionMap:
    def __init__(self, cfg: Congestion) -> None:
        self.cfg = cfg
        self.window_ms = int(cfg.window_s * 1000)
        self._open: dict[int, dict[str, _Window]] = {}
        self._cells: dict[str, _Cell] = {}
        self._congested: dict[tuple[str, int], CongestedWindow] = {}
        self.finalized_until = _NEVER
        self.dropped_late = 0
        self.newly_congested: list[CongestedWindow] = []  # judged since last drained

    def snapshot(self) -> Snapshot:
        # Tuple-keyed maps become rows sorted by their key, so the same state gives the same
        # bytes whatever order it was built in (every reader of them sorts or looks up by key).
        return versioned(
            KIND, VERSION,
            open=[[start, cell, window.to_plain()]
                  for start, cells in sorted(self._open.items())
                  for cell, window in sorted(cells.items())],
            cells={cell: state.to_plain() for cell, state in sorted(self._cells.items())},
            congested=[judged.to_plain() for _, judged in sorted(self._congested.items())],
            finalized_until=self.finalized_until,
            dropped_late=self.dropped_late,
            # In judging order: this is what the judge hands on next, as it was judged.
            newly_congested=[judged.to_plain() for judged in self.newly_congested],
        )

    @classmethod
    def restore(cls, data: dict[str, Any], cfg: Congestion) -> Self:
        """Windows are judged, and cells looked up, by `cfg`, the settings in force now.

        The state's keys were made with the window length and H3 resolution in force when it
        was taken; if those changed, old windows and cells are still judged (and old congested
        cells cleared) but new fixes go to new keys."""
        values = fields(data, KIND, VERSION, MIGRATIONS)
        area = cls(cfg)
        for start, cell, window in values["open"]:
            area._open.setdefault(start, {})[cell] = _Window.from_plain(window)
        area._cells = {cell: _Cell.from_plain(state) for cell, state in values["cells"].items()}
        for row in values["congested"]:
            judged = CongestedWindow.from_plain(row)
            area._congested[(judged.cell, judged.window_start)] = judged
        area.finalized_until = values["finalized_until"]
        area.dropped_late = values["dropped_late"]
        area.newly_congested = [CongestedWindow.from_plain(row)
                                for row in values["newly_congested"]]
        return area

    def cell_of(self, lat: float, lon: float) -> str:
        return h3.latlng_to_cell(lat, lon, self.cfg.h3_resolution)

    def window_of(self, ts: int) -> int:
        return ts - ts % self.window_ms

    def observe(self, rider_id: str, cell: str, ts: int, speed_kmh: float) -> None:
        if speed_kmh < self.cfg.moving_above_kmh:
            return
        window = self._open_window(self.window_of(ts), cell)
        if window is None:
            return
        window.speed_sum += speed_kmh
        window.fixes += 1
        window.riders.add(rider_id)

    def usual_kmh(self, cell: str) -> float:
        state = self._cells.get(cell)
        if state is None or state.usual_kmh is None:
            return self.cfg.default_usual_kmh
        if state.history_windows < self.cfg.min_history_windows:
            return self.cfg.default_usual_kmh
        return state.usual_kmh

    def congested(self, cell: str, window_start: int) -> CongestedWindow | None:
        return self._congested.get((cell, window_start))

    def take_final(self, until_ts: int) -> list[PartialWindow]:
        """Hand over (instead of judging) the windows that end by `until_ts`: a source of a
        judge that sees every source."""
        return [PartialWindow(start, cell, w.speed_sum, w.fixes, tuple(sorted(w.riders)))
                for start, cells in self._pop_finished(until_ts)
                for cell, w in sorted(cells.items())]

    def merge(self, part: PartialWindow) -> None:
        window = self._open_window(part.window_start, part.cell)
        if window is None:
            return
        window.speed_sum += part.speed_sum
        window.fixes += part.fixes
        window.riders.update(part.riders)

    def record_congested(self, judged: CongestedWindow) -> None:
        """A judgement made elsewhere, kept for exemption look-ups."""
        self._congested[(judged.cell, judged.window_start)] = judged

    def next_window_end(self) -> int | None:
        """When the oldest open window ends, or None with none open."""
        return min(self._open) + self.window_ms if self._open else None

    def finalize(self, until_ts: int) -> list[AreaRiskChange | RiderAlert]:
        """Judge every window that ends at or before `until_ts`, oldest first.

        A window with no fix anywhere in this map is judged too while a cell is congested: a
        jam whose cell empties must clear after the same number of windows however cells are
        spread over judges (a judge sees only its own cells' fixes)."""
        previous = self.finalized_until
        finished = dict(self._pop_finished(until_ts))
        out: list[AreaRiskChange | RiderAlert] = []
        start = (self.window_of(previous) if previous > _NEVER
                 else min(finished, default=None))
        while start is not None and start + self.window_ms <= until_ts:
            cells = finished.pop(start, None)
            if cells is None and not any(c.congested_since is not None
                                         for c in self._cells.values()):
                start = min(finished, default=None)  # nothing can change before the next data
                continue
            out.extend(self._judge(start, cells or {}))
            start += self.window_ms
        return out

    def _open_window(self, start: int, cell: str) -> _Window | None:
        """The open window a share of `start` goes to; None once that window was judged."""
        if start + self.window_ms <= self.finalized_until:
            self.dropped_late += 1
            return None
        cells = self._open.setdefault(start, {})
        window = cells.get(cell)
        if window is None:
            window = cells[cell] = _Window()
        return window

    def _pop_finished(self, until_ts: int) -> list[tuple[int, dict[str, _Window]]]:
        """Remove and return, oldest first, the windows that end by `until_ts`."""
        finished = [(s, self._open.pop(s))
                    for s in sorted(s for s in self._open if s + self.window_ms <= until_ts)]
        if until_ts > self.finalized_until:
            self.finalized_until = until_ts
        return finished

    def forget_before(self, processed_until: int) -> None:
        """Drop judged windows no order still to be decided can have ridden through."""
        horizon = processed_until - _HISTORY_MS
        if self._congested and min(k[1] for k in self._congested) < horizon:
            self._congested = {k: v for k, v in self._congested.items() if k[1] >= horizon}

    def _judge(self, start: int, cells: dict[str, _Window]) -> list[AreaRiskChange | RiderAlert]:
        cfg = self.cfg
        end = start + self.window_ms
        out: list[AreaRiskChange | RiderAlert] = []
        for cell in sorted(self._cells):
            state = self._cells[cell]
            if state.congested_since is not None and cell not in cells:
                state.empty_windows += 1
                if state.empty_windows >= cfg.stale_windows:
                    out.append(self._change(cell, state, start, end, "clear", 0.0, 0))
        for cell in sorted(cells):
            window = cells[cell]
            if len(window.riders) < cfg.min_riders:
                continue
            state = self._cells.setdefault(cell, _Cell())
            state.empty_windows = 0
            mean = window.speed_sum / window.fixes
            usual = self.usual_kmh(cell)
            if state.congested_since is None and mean < cfg.congested_ratio * usual:
                state.congested_since = start
                out.append(self._change(cell, state, start, end, "congested", mean,
                                        len(window.riders), usual))
            elif state.congested_since is not None and mean >= cfg.clear_ratio * usual:
                out.append(self._change(cell, state, start, end, "clear", mean,
                                        len(window.riders), usual))
            if state.congested_since is not None:
                judged = CongestedWindow(cell, start, round(mean, 2), round(usual, 2))
                self._congested[(cell, start)] = judged
                self.newly_congested.append(judged)
                out.extend(self._alert_riders(cell, state, window, start, end, mean, usual))
            else:
                # Only free-flowing windows teach the usual speed: a long jam must not become
                # the new normal.
                state.history_windows += 1
                state.usual_kmh = mean if state.usual_kmh is None else (
                    state.usual_kmh + cfg.usual_ewma_alpha * (mean - state.usual_kmh))
        return out

    def _change(self, cell: str, state: _Cell, start: int, end: int, new_state: str,
                mean: float, riders: int, usual: float | None = None) -> AreaRiskChange:
        if new_state == "clear":
            state.congested_since = None
            state.alerted_riders.clear()
            state.empty_windows = 0
        return AreaRiskChange(
            change_id=derived_id("area", cell, start, new_state), cell=cell, ts=start,
            window_end_ts=end, state=new_state,  # type: ignore[arg-type]
            mean_speed_kmh=round(mean, 2),
            usual_speed_kmh=round(usual if usual is not None else self.usual_kmh(cell), 2),
            riders=riders)

    def _alert_riders(self, cell: str, state: _Cell, window: _Window, start: int, end: int,
                      mean: float, usual: float) -> list[RiderAlert]:
        alerts = []
        for rider_id in sorted(window.riders - state.alerted_riders):
            state.alerted_riders.add(rider_id)
            alerts.append(rider_alert(
                rider_id, "congestion", "info", end - 1,
                {"cell": cell, "mean_speed_kmh": round(mean, 1),
                 "usual_speed_kmh": round(usual, 1), "window_start_ts": start},
                identity=(cell, state.congested_since)))
        return alerts
