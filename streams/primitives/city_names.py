"""City ids -> the names a rider hears, in Chinese and English.

City ids come from the inputs (`city` on fixes, orders and weather reports) as the fleet's
systems spell them: lower-case pinyin or English, e.g. `shanghai`. A Chinese message that says
`shanghai发布橙色预警` reads like a machine; it should say `上海发布橙色预警`. An id not listed
here is shown as it is, in both languages: the raw id still tells a rider which city is meant,
and a new city must never stop an alert.
"""

# id -> (Chinese name, English display name). The cities Chinese instant-delivery platforms
# serve at scale (the first-tier and "new first-tier" cities), plus Hong Kong and Macau.
CITY_NAMES: dict[str, tuple[str, str]] = {
    "beijing": ("北京", "Beijing"),
    "shanghai": ("上海", "Shanghai"),
    "guangzhou": ("广州", "Guangzhou"),
    "shenzhen": ("深圳", "Shenzhen"),
    "chengdu": ("成都", "Chengdu"),
    "chongqing": ("重庆", "Chongqing"),
    "hangzhou": ("杭州", "Hangzhou"),
    "wuhan": ("武汉", "Wuhan"),
    "xian": ("西安", "Xi'an"),
    "suzhou": ("苏州", "Suzhou"),
    "zhengzhou": ("郑州", "Zhengzhou"),
    "nanjing": ("南京", "Nanjing"),
    "tianjin": ("天津", "Tianjin"),
    "changsha": ("长沙", "Changsha"),
    "dongguan": ("东莞", "Dongguan"),
    "ningbo": ("宁波", "Ningbo"),
    "foshan": ("佛山", "Foshan"),
    "hefei": ("合肥", "Hefei"),
    "qingdao": ("青岛", "Qingdao"),
    "kunming": ("昆明", "Kunming"),
    "shenyang": ("沈阳", "Shenyang"),
    "jinan": ("济南", "Jinan"),
    "wuxi": ("无锡", "Wuxi"),
    "xiamen": ("厦门", "Xiamen"),
    "fuzhou": ("福州", "Fuzhou"),
    "dalian": ("大连", "Dalian"),
    "harbin": ("哈尔滨", "Harbin"),
    "hongkong": ("香港", "Hong Kong"),
    "macau": ("澳门", "Macau"),
}

_LANGUAGES = {"zh": 0, "en": 1}


def city_name(city: str, language: str) -> str:
    """The city's name in `language` ("zh" or "en"); an unknown city's id as given. Ids are
    matched without regard to case, spaces, hyphens or underscores (`Hong Kong`, `hong-kong`)."""
    names = CITY_NAMES.get(_normalised(city))
    return names[_LANGUAGES[language]] if names else city


def _normalised(city: str) -> str:
    return "".join(c for c in city.lower() if c not in " -_'")
