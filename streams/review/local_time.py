"""Times as people read them: on a zone's clock, with the zone named."""

from datetime import datetime
from zoneinfo import ZoneInfo


def local(ts: int, zone: ZoneInfo) -> datetime:
    """Epoch ms UTC on `zone`'s clock."""
    return datetime.fromtimestamp(ts / 1000, zone)


def zone_label(zone: ZoneInfo, ts: int) -> str:
    """The zone's IANA name and its UTC offset at `ts`: `Asia/Shanghai, UTC+08:00`. The
    abbreviation alone is ambiguous (CST is also US Central time)."""
    offset = local(ts, zone).strftime("%z")
    return f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"
