"""Fixed vocabularies: job levels, industries, regions, countries, languages, formats.

Topics are not here: coordinators manage them in the database.
"""
from functools import lru_cache

import pycountry

# Ordered from junior to senior: the index is the seniority used by matching.
JOB_LEVELS = [
    ("student", "Student"),
    ("early", "Early career"),
    ("mid", "Mid career"),
    ("senior", "Senior"),
    ("executive", "Executive"),
]
LEVEL_RANK = {code: rank for rank, (code, _) in enumerate(JOB_LEVELS)}
LEVEL_LABEL = dict(JOB_LEVELS)

INDUSTRIES = [
    ("academia", "Academia and research"),
    ("consulting", "Consulting"),
    ("energy", "Energy and utilities"),
    ("engineering", "Engineering and construction"),
    ("finance", "Finance and insurance"),
    ("government", "Government and public sector"),
    ("health", "Health and life sciences"),
    ("law", "Law and compliance"),
    ("manufacturing", "Manufacturing"),
    ("media", "Media and communications"),
    ("nonprofit", "Non-profit and NGOs"),
    ("retail", "Retail and consumer goods"),
    ("technology", "Technology and software"),
    ("transport", "Transport and logistics"),
    ("other", "Other"),
]
INDUSTRY_LABEL = dict(INDUSTRIES)

MEETING_FORMATS = [
    ("video", "Video call"),
    ("phone", "Phone call"),
    ("in_person", "In person"),
    ("chat", "Written chat"),
]
FORMAT_LABEL = dict(MEETING_FORMATS)

REGIONS = [
    ("africa", "Africa"),
    ("asia", "Asia"),
    ("europe", "Europe"),
    ("north_america", "North America"),
    ("south_america", "South America"),
    ("oceania", "Oceania"),
]
REGION_LABEL = dict(REGIONS)

# ISO 3166-1 alpha-2 codes by continent (Central America and the Caribbean
# count as North America; Russia and Turkey as Europe; Antarctica is left out).
_REGION_COUNTRIES = {
    "africa": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS "
              "LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG "
              "YT ZA ZM ZW",
    "asia": "AE AF AM AZ BD BH BN BT CN CY GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA "
            "LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TW UZ VN YE",
    "europe": "AD AL AT AX BA BE BG BY CH CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT "
              "JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM TR UA VA XK",
    "north_america": "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC "
                     "MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI",
    "south_america": "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
    "oceania": "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
}
COUNTRY_REGION = {code: region for region, codes in _REGION_COUNTRIES.items() for code in codes.split()}

# The languages members most often mentor in; ISO 639-1 codes.
LANGUAGE_CODES = (
    "ar bn cs da de el en es fa fi fr he hi hu id it ja ko ms nl no pl pt ro ru sv sw ta th tl tr "
    "uk ur vi yo zh"
).split()


@lru_cache(maxsize=1)
def countries():
    """(code, name) of every country that has a region, sorted by name."""
    items = []
    for code in COUNTRY_REGION:
        country = pycountry.countries.get(alpha_2=code)
        name = getattr(country, "common_name", None) or (country.name if country else code)
        if code == "XK":
            name = "Kosovo"
        items.append((code, name))
    return sorted(items, key=lambda item: item[1])


@lru_cache(maxsize=1)
def country_names():
    return dict(countries())


@lru_cache(maxsize=1)
def languages():
    items = []
    for code in LANGUAGE_CODES:
        language = pycountry.languages.get(alpha_2=code)
        name = language.name if language else code
        items.append((code, name.replace(" (macrolanguage)", "")))
    return sorted(items, key=lambda item: item[1])


@lru_cache(maxsize=1)
def language_names():
    return dict(languages())


def region_of(country_code):
    return COUNTRY_REGION.get((country_code or "").upper())
