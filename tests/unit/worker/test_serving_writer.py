"""What the worker hands to the serving layer before any Redis write: only certified riders'
positions, throttled per rider in event time."""

from schemas import RiderProfile
from streams.config.settings import load_settings
from streams.serving.live import LiveRiders
from streams.worker.serving import ServingWriter
from tests.builders import T0, ping


def _writer() -> ServingWriter:
    # Nothing here reaches Redis: the client connects on its first command.
    settings = load_settings(serving={"position_interval_s": 10, "position_ttl_s": 60})
    return ServingWriter(settings)


def _certify(writer: ServingWriter, rider: str, until: int) -> None:
    writer.hand_over_profile(RiderProfile(rider_id=rider, first_aid_certified=True,
                                          certified_until=until), (0, 0))


def _fixes(writer: ServingWriter, *fixes) -> None:
    live = LiveRiders()
    for fix in fixes:
        live.on_fix(fix)
    writer.hand_over_live(live)


def test_only_certified_riders_positions_wait_for_redis():
    writer = _writer()
    _certify(writer, "medic", T0 + 86_400_000)
    _fixes(writer, ping("medic", 0), ping("plain", 0))
    assert set(writer.pending.positions) == {"medic"}


def test_a_certified_riders_position_is_written_at_most_once_per_interval():
    writer = _writer()
    _certify(writer, "medic", T0 + 86_400_000)
    kept = []
    for t_s in (0, 4, 8, 12, 16, 20, 24):
        _fixes(writer, ping("medic", t_s))
        batch = writer.pending.take()  # as each flush would
        kept += [p.ts for p in batch.positions.values()]
    assert kept == [T0, T0 + 12_000, T0 + 24_000]


def test_an_expired_certificate_stops_position_writes():
    writer = _writer()
    _certify(writer, "medic", T0 + 5_000)
    _fixes(writer, ping("medic", 10))
    assert writer.pending.positions == {}


def test_withdrawn_certification_stops_position_writes_at_once():
    writer = _writer()
    _certify(writer, "medic", T0 + 86_400_000)
    writer.hand_over_profile(RiderProfile(rider_id="medic", first_aid_certified=False), (0, 1))
    _fixes(writer, ping("medic", 0))
    assert writer.pending.positions == {}
