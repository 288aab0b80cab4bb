"""The short sentences a voice reminder speaks, in Chinese and English."""

from schemas import LocalizedMessage
from streams.primitives.city_names import city_name

_TEMPLATES: dict[str, tuple[str, str]] = {
    "speeding": (
        "您已超速，最高{max_speed_kmh:.0f}公里/小时，限速{limit_kmh:.0f}，请减速慢行。",
        "You are speeding: {max_speed_kmh:.0f} km/h where the limit is {limit_kmh:.0f}. "
        "Please slow down.",
    ),
    "harsh_braking": ("检测到急刹车，请保持车距，提前减速。",
                      "Harsh braking detected. Keep your distance and slow down earlier."),
    "harsh_acceleration": ("检测到急加速，请平稳起步。",
                           "Harsh acceleration detected. Please start off smoothly."),
    "harsh_cornering": ("检测到急转弯，转弯请减速。",
                        "Sharp cornering detected. Slow down before turning."),
    "restricted_zone": ("您已进入禁行区域「{zone}」，请立即驶离。",
                        "You have entered the no-entry zone '{zone}'. Please leave it now."),
    "wrong_way": ("您正在逆行「{segment}」，请立即掉头按规定方向行驶。",
                  "You are riding the wrong way on '{segment}'. Turn around now."),
    "phone_use": ("骑行中请勿操作手机，请停车后再操作订单。",
                  "Do not use your phone while riding. Stop before updating the order."),
    "fatigue_continuous": ("您已连续骑行超过{hours:.0f}小时，请休息至少20分钟。",
                           "You have ridden {hours:.0f} hours without a break. "
                           "Please rest for at least 20 minutes."),
    "fatigue_daily": ("您今日骑行已超过{hours:.0f}小时，请停止接单并休息。",
                      "You have ridden more than {hours:.0f} hours today. "
                      "Please stop taking orders and rest."),
    "severe_weather": (
        "{city}发布{level_zh}预警（{condition_zh}），请减速慢行，保持车距，注意安全。",
                       "{level_en} weather warning in {city} ({condition_en}): slow down, keep "
        "your distance and ride safely.",
    ),
    "congestion": ("前方道路拥堵，请耐心慢行，勿闯红灯逆行。",
                   "Congestion ahead. Ride patiently; do not run lights or ride against traffic."),
    "gps_anomaly": ("定位信号异常，请检查手机定位设置。",
                    "Your location signal is unreliable. Please check your phone's GPS."),
}

LEVEL_ZH = {"none": "无", "blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
CONDITION_ZH = {
    "clear": "晴", "cloudy": "多云", "fog": "大雾", "haze": "霾", "rain": "降雨",
    "heavy_rain": "大雨", "rainstorm": "暴雨", "thunderstorm": "雷暴", "snow": "降雪",
    "blizzard": "暴雪", "ice": "道路结冰", "high_temperature": "高温", "typhoon": "台风",
}


def message(template: str, **values: object) -> LocalizedMessage:
    """A `city` value is a city id: each language says the city's name in it."""
    zh, en = _TEMPLATES[template]
    return LocalizedMessage(zh=zh.format(**_in_language(values, "zh")),
                            en=en.format(**_in_language(values, "en")))


def _in_language(values: dict[str, object], language: str) -> dict[str, object]:
    city = values.get("city")
    if not isinstance(city, str):
        return values
    return {**values, "city": city_name(city, language)}
