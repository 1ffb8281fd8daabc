"""Xero's organisation timezone names (Windows zone ids, upper-cased) mapped to IANA names.

Xero reports `Organisation.Timezone` as a Windows zone id with spaces and dots
removed and upper-cased (e.g. "AUSEASTERNSTANDARDTIME" for "AUS Eastern Standard
Time"). The table follows CLDR's windowsZones "001" (primary) territory mapping
and covers every value of the `TimeZone` enum in Xero's OpenAPI spec 16.1.0.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_S = "STANDARDTIME"

# Keys are the Windows id minus the "STANDARDTIME" suffix, to keep the table readable.
_BY_STEM: dict[str, str] = {
    # Australia, New Zealand and the Pacific
    "AUSEASTERN": "Australia/Sydney",
    "EAUSTRALIA": "Australia/Brisbane",
    "CENAUSTRALIA": "Australia/Adelaide",
    "AUSCENTRAL": "Australia/Darwin",
    "AUSCENTRALW": "Australia/Eucla",
    "WAUSTRALIA": "Australia/Perth",
    "TASMANIA": "Australia/Hobart",
    "LORDHOWE": "Australia/Lord_Howe",
    "NORFOLK": "Pacific/Norfolk",
    "NEWZEALAND": "Pacific/Auckland",
    "CHATHAMISLANDS": "Pacific/Chatham",
    "FIJI": "Pacific/Fiji",
    "TONGA": "Pacific/Tongatapu",
    "SAMOA": "Pacific/Apia",
    "WESTPACIFIC": "Pacific/Port_Moresby",
    "CENTRALPACIFIC": "Pacific/Guadalcanal",
    "BOUGAINVILLE": "Pacific/Bougainville",
    "LINEISLANDS": "Pacific/Kiritimati",
    "MARQUESAS": "Pacific/Marquesas",
    "HAWAIIAN": "Pacific/Honolulu",
    "EASTERISLAND": "Pacific/Easter",
    "DATELINE": "Etc/GMT+12",
    # United Kingdom, Europe
    "GMT": "Europe/London",
    "GREENWICH": "Atlantic/Reykjavik",
    "WEUROPE": "Europe/Berlin",
    "ROMANCE": "Europe/Paris",
    "CENTRALEUROPE": "Europe/Budapest",
    "CENTRALEUROPEAN": "Europe/Warsaw",
    "EEUROPE": "Europe/Chisinau",
    "FLE": "Europe/Kyiv",
    "GTB": "Europe/Bucharest",
    "KALININGRAD": "Europe/Kaliningrad",
    "RUSSIAN": "Europe/Moscow",
    "BELARUS": "Europe/Minsk",
    "TURKEY": "Europe/Istanbul",
    "ASTRAKHAN": "Europe/Astrakhan",
    "SARATOV": "Europe/Saratov",
    "VOLGOGRAD": "Europe/Volgograd",
    "AZORES": "Atlantic/Azores",
    "CAPEVERDE": "Atlantic/Cape_Verde",
    # United States, Canada, Mexico
    "EASTERN": "America/New_York",
    "USEASTERN": "America/Indiana/Indianapolis",
    "CENTRAL": "America/Chicago",
    "MOUNTAIN": "America/Denver",
    "USMOUNTAIN": "America/Phoenix",
    "PACIFIC": "America/Los_Angeles",
    "ALASKAN": "America/Anchorage",
    "ALEUTIAN": "America/Adak",
    "ATLANTIC": "America/Halifax",
    "NEWFOUNDLAND": "America/St_Johns",
    "CANADACENTRAL": "America/Regina",
    "YUKON": "America/Whitehorse",
    "SAINTPIERRE": "America/Miquelon",
    "CENTRALAMERICA": "America/Guatemala",
    "CUBA": "America/Havana",
    "HAITI": "America/Port-au-Prince",
    "TURKSANDCAICOS": "America/Grand_Turk",
    "GREENLAND": "America/Nuuk",
    # South America
    "SAPACIFIC": "America/Bogota",
    "SAWESTERN": "America/La_Paz",
    "SAEASTERN": "America/Cayenne",
    "PACIFICSA": "America/Santiago",
    "MAGALLANES": "America/Punta_Arenas",
    "ARGENTINA": "America/Argentina/Buenos_Aires",
    "ESOUTHAMERICA": "America/Sao_Paulo",
    "CENTRALBRAZILIAN": "America/Cuiaba",
    "BAHIA": "America/Bahia",
    "TOCANTINS": "America/Araguaina",
    "MONTEVIDEO": "America/Montevideo",
    "PARAGUAY": "America/Asuncion",
    "VENEZUELA": "America/Caracas",
    "MIDATLANTIC": "Etc/GMT+2",
    # Africa and the Middle East
    "SOUTHAFRICA": "Africa/Johannesburg",
    "EAFRICA": "Africa/Nairobi",
    "WCENTRALAFRICA": "Africa/Lagos",
    "NAMIBIA": "Africa/Windhoek",
    "EGYPT": "Africa/Cairo",
    "LIBYA": "Africa/Tripoli",
    "MOROCCO": "Africa/Casablanca",
    "SUDAN": "Africa/Khartoum",
    "SOUTHSUDAN": "Africa/Juba",
    "SAOTOME": "Africa/Sao_Tome",
    "MAURITIUS": "Indian/Mauritius",
    "ARAB": "Asia/Riyadh",
    "ARABIAN": "Asia/Dubai",
    "ARABIC": "Asia/Baghdad",
    "ISRAEL": "Asia/Jerusalem",
    "WESTBANK": "Asia/Hebron",
    "JORDAN": "Asia/Amman",
    "MIDDLEEAST": "Asia/Beirut",
    "SYRIA": "Asia/Damascus",
    "IRAN": "Asia/Tehran",
    # Asia
    "SINGAPORE": "Asia/Singapore",
    "SEASIA": "Asia/Bangkok",
    "CHINA": "Asia/Shanghai",
    "TAIPEI": "Asia/Taipei",
    "TOKYO": "Asia/Tokyo",
    "KOREA": "Asia/Seoul",
    "NORTHKOREA": "Asia/Pyongyang",
    "INDIA": "Asia/Kolkata",
    "SRILANKA": "Asia/Colombo",
    "NEPAL": "Asia/Kathmandu",
    "BANGLADESH": "Asia/Dhaka",
    "MYANMAR": "Asia/Yangon",
    "PAKISTAN": "Asia/Karachi",
    "AFGHANISTAN": "Asia/Kabul",
    "WESTASIA": "Asia/Tashkent",
    "CENTRALASIA": "Asia/Bishkek",
    "QYZYLORDA": "Asia/Qyzylorda",
    "AZERBAIJAN": "Asia/Baku",
    "GEORGIAN": "Asia/Tbilisi",
    "CAUCASUS": "Asia/Yerevan",
    "ULAANBAATAR": "Asia/Ulaanbaatar",
    "WMONGOLIA": "Asia/Hovd",
    "EKATERINBURG": "Asia/Yekaterinburg",
    "OMSK": "Asia/Omsk",
    "NCENTRALASIA": "Asia/Novosibirsk",
    "ALTAI": "Asia/Barnaul",
    "TOMSK": "Asia/Tomsk",
    "NORTHASIA": "Asia/Krasnoyarsk",
    "NORTHASIAEAST": "Asia/Irkutsk",
    "TRANSBAIKAL": "Asia/Chita",
    "YAKUTSK": "Asia/Yakutsk",
    "VLADIVOSTOK": "Asia/Vladivostok",
    "MAGADAN": "Asia/Magadan",
    "SAKHALIN": "Asia/Sakhalin",
    "KAMCHATKA": "Asia/Kamchatka",
}

# Ids that do not follow the "<stem>STANDARDTIME" pattern.
_IRREGULAR: dict[str, str] = {
    "CENTRALSTANDARDTIME(MEXICO)": "America/Mexico_City",
    "EASTERNSTANDARDTIME(MEXICO)": "America/Cancun",
    "MOUNTAINSTANDARDTIME(MEXICO)": "America/Mazatlan",
    "PACIFICSTANDARDTIME(MEXICO)": "America/Tijuana",
    "RUSSIATIMEZONE3": "Europe/Samara",
    "RUSSIATIMEZONE10": "Asia/Srednekolymsk",
    "RUSSIATIMEZONE11": "Asia/Kamchatka",
    "UTC": "UTC",
    "UTC+12": "Etc/GMT-12",  # POSIX Etc/ signs are inverted: Etc/GMT-12 is UTC+12
    "UTC+13": "Etc/GMT-13",
    "UTC02": "Etc/GMT+2",
    "UTC08": "Etc/GMT+8",
    "UTC09": "Etc/GMT+9",
    "UTC11": "Etc/GMT+11",
}

WINDOWS_TO_IANA: dict[str, str] = {stem + _S: iana for stem, iana in _BY_STEM.items()} | _IRREGULAR


def _normalise(name: str) -> str:
    # Accept the readable Windows form too ("AUS Eastern Standard Time", "W. Europe ...").
    return "".join(ch for ch in name.upper() if ch not in " ._-")


def to_iana(xero_timezone: str | None) -> tuple[str, str | None]:
    """The IANA zone for Xero's timezone name, and a warning when it had to fall back to UTC."""
    if not xero_timezone:
        return "UTC", "Xero reported no organisation timezone; dates use UTC"
    key = _normalise(xero_timezone)
    iana = WINDOWS_TO_IANA.get(key)
    if iana is None:
        return "UTC", f"unknown Xero timezone {xero_timezone!r}; dates use UTC"
    try:
        ZoneInfo(iana)
    except ZoneInfoNotFoundError:
        # An old tz database on the host (e.g. before Europe/Kyiv existed) must not stop a run.
        return "UTC", f"timezone {iana} (from Xero's {xero_timezone!r}) is not installed; dates use UTC"
    return iana, None
