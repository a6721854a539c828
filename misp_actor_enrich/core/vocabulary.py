"""Targeting vocabulary: countries, regions and sectors in MISP galaxy terms.

Built once from the target-information, sector and region cluster JSON. Looks up
free-form names (synonyms, ISO codes, CFR styles, demonyms, Chinese words) and
finds whole-word mentions in free text with precompiled trie regexes. Pure: the
caller (``knowledge``) reads the files.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Iterator, Mapping


class Kind(str, Enum):
    COUNTRY = "country"
    REGION = "region"
    SECTOR = "sector"


@dataclass(frozen=True, slots=True)
class Entry:
    """One vocabulary term: its canonical value, ISO alpha-2 code and MISP tag."""

    kind: Kind
    value: str
    code: str | None = None
    galaxy_tag: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """A vocabulary term found in text; ``demonym`` marks adjective forms ("Chinese")."""

    entry: Entry
    text: str
    start: int
    end: int
    demonym: bool = False


# --- hand-made tables (compact "KEY:a/b|KEY:c" strings) ----------------------

# Names the galaxy lacks: CFR/UN styles and typos seen in actor data.
_COUNTRY_ALIASES = (
    "KR:Korea (Republic of)/Korea, Republic of/Korea, South|KP:Korea (Democratic People's Republic of)"
    "/Korea, North/North-Korea|IR:Iran (Islamic Republic of)|VN:Viet Nam|LB:Lebonon|GB:Great Britain"
    "/England|MK:Macedonia|BO:Bolivia (Plurinational State of)|VE:Venezuela (Bolivarian Republic of)"
    "|TZ:Tanzania, United Republic of|MD:Moldova, Republic of|PS:Palestinian Territories|US:U.S.A."
    "|LV:Republic of Latvia/Latvijas Republika|CN:Mainland China|TW:Taiwan, Province of China|CI:Côte d’Ivoire|CZ:Czechia|TR:Türkiye"
)
_DEMONYMS = (
    "AF:Afghan|AL:Albanian|DZ:Algerian|AO:Angolan|AR:Argentine/Argentinian|AM:Armenian|AU:Australian"
    "|AT:Austrian|AZ:Azerbaijani/Azeri|BH:Bahraini|BD:Bangladeshi|BY:Belarusian|BE:Belgian|BO:Bolivian"
    "|BA:Bosnian|BR:Brazilian|BN:Bruneian|BG:Bulgarian|KH:Cambodian|CM:Cameroonian|CA:Canadian"
    "|CL:Chilean|CN:Chinese|CO:Colombian|HR:Croatian|CU:Cuban|CY:Cypriot|CZ:Czech|DK:Danish"
    "|EC:Ecuadorian|EG:Egyptian|EE:Estonian|ET:Ethiopian|FI:Finnish|FR:French|GE:Georgian|DE:German"
    "|GH:Ghanaian|GR:Greek|GT:Guatemalan|HU:Hungarian|IS:Icelandic|IN:Indian|ID:Indonesian|IR:Iranian"
    "|IQ:Iraqi|IE:Irish|IL:Israeli|IT:Italian|JP:Japanese|JO:Jordanian|KZ:Kazakh/Kazakhstani|KE:Kenyan"
    "|KW:Kuwaiti|KG:Kyrgyzstani|LA:Laotian|LV:Latvian|LB:Lebanese|LY:Libyan|LT:Lithuanian|MY:Malaysian"
    "|MX:Mexican|MD:Moldovan|MN:Mongolian|ME:Montenegrin|MA:Moroccan|MM:Burmese|NP:Nepalese/Nepali"
    "|NL:Dutch|NG:Nigerian|KP:North Korean|MK:Macedonian|NO:Norwegian|OM:Omani|PK:Pakistani"
    "|PS:Palestinian|PA:Panamanian|PE:Peruvian|PH:Philippine/Filipino|PL:Polish|PT:Portuguese|QA:Qatari"
    "|RO:Romanian|RU:Russian|SA:Saudi/Saudi Arabian|RS:Serbian|SG:Singaporean|SK:Slovak|SI:Slovenian"
    "|SO:Somali|ZA:South African|KR:South Korean|ES:Spanish|LK:Sri Lankan|SD:Sudanese|SE:Swedish"
    "|CH:Swiss|SY:Syrian|TW:Taiwanese|TJ:Tajik|TZ:Tanzanian|TH:Thai|TN:Tunisian|TR:Turkish|TM:Turkmen"
    "|UG:Ugandan|UA:Ukrainian|AE:Emirati|GB:British|US:American|UY:Uruguayan|UZ:Uzbek|VE:Venezuelan"
    "|VN:Vietnamese|YE:Yemeni|ZW:Zimbabwean"
)
# Canonical region: aliases (first alias is the value) and the region-galaxy cluster, when one fits.
_REGIONS = (
    "World/Global/Worldwide=001 - World|Africa/African=002 - Africa|Oceania=009 - Oceania"
    "|Americas/The Americas=019 - Americas|South America/South American=005 - South America"
    "|Central America/Central American=013 - Central America"
    "|North America/North American/Northern America=021 - Northern America"
    "|Latin America/Latin American/LATAM/LatAm=419 - Latin America and the Caribbean"
    "|Caribbean=029 - Caribbean|North Africa/North African/Northern Africa=015 - Northern Africa"
    "|Sub-Saharan Africa=202 - Sub-Saharan Africa|West Africa/West African/Western Africa=011 - Western Africa"
    "|East Africa/East African/Eastern Africa=014 - Eastern Africa|Southern Africa=018 - Southern Africa"
    "|Central Africa/Middle Africa=017 - Middle Africa|East Asia/East Asian/Eastern Asia=030 - Eastern Asia"
    "|South Asia/South Asian/Southern Asia=034 - Southern Asia"
    "|Southeast Asia/South-East Asia/South East Asia/South-eastern Asia/Southeast Asian=035 - South-eastern Asia"
    "|Central Asia/Central Asian=143 - Central Asia|Western Asia=145 - Western Asia|Asia/Asian=142 - Asia"
    "|Europe/European=150 - Europe|Eastern Europe/Eastern European/East Europe/Eastern Bloc=151 - Eastern Europe"
    "|Northern Europe/Scandinavia/Nordic countries=154 - Northern Europe"
    "|Western Europe/Western European=155 - Western Europe|Southern Europe=039 - Southern Europe"
    "|Middle East/Middle Eastern/Mideast|MENA/Middle East and North Africa|Asia Pacific/Asia-Pacific/APAC"
    "|Balkans|Caucasus/South Caucasus|Gulf States/Persian Gulf/Gulf region|Baltic States/Baltics"
    "|Korean Peninsula/Korean peninsula|Northeast Africa|Gaza/Gaza Strip|Kurdistan|Crimea|Xinjiang|Tibet"
)
# Free sector words -> sector-galaxy value (keys are normalised with _key).
_SECTOR_ALIASES = (
    "Government, Administration:governments/government agencies/government institutions/governmental"
    "/government agencies and services/public administration/public sector/ministries/state agencies|Health:health care/medical"
    "/hospitals/healthcare sector/health sector|News - Media:media and entertainment/news media/media organizations"
    "/news outlets/media outlets/news agencies/news agency/news organizations/news organisations/news websites"
    "/news sites/newspapers/broadcasters"
    "|Finance:financial services/financial institutions/financial sector/credit unions|Bank:banks/banking"
    "|Defense:defence/defense industrial base/defense contractor/defense contractors/defense industry"
    "|NGO:ngos/non governmental organizations/non governmental organisations/humanitarian"
    "/human rights organizations/human rights organisations/human rights groups/human rights defenders"
    "/humanitarian organizations/humanitarian organisations/humanitarian groups/humanitarian agencies"
    "/aid organizations/aid organisations/aid agencies/relief organizations/relief organisations"
    "|Non-profit organisation:non profit/nonprofit/non profits/nonprofits/charities/charitable organizations"
    "|Telecoms:telecomms/telecom/telecommunication/telecommunications providers|IT:information technology"
    "|High tech:high tech"
    "|Pharmacy:pharmaceuticals/pharmaceutical/pharma|Electronic:electronics/electronics manufacturers"
    "|Chemical:chemicals|Academia - University:universities/university/academia/academic"
    "|Education:educational|Transport:transportation systems|Civil Aviation:aviation/airlines/airline/airports"
    "/airport/airport authorities/air traffic control"
    "|Railway:rail|Logistic:logistics|Oil:petroleum/oil and gas|Energy:energy company/energy companies"
    "|Game:gaming/video games|Casino:casinos gambling/gambling companies/gambling websites/casinos/gambling"
    "|Hospitality:hospitality leisure|Travel:travel services|Journalist:journalists|Dissidents:dissident"
    "|Semi-conductors:semiconductor industry/semiconductors/semi conductors|Manufacturing:critical manufacturing"
    "|Engineering:civil engineering|Agriculture:food and agriculture|Research - Innovation:scientific research"
    "/research/research institute/research institutes/research institutions/research organizations/research organisations"
    "/research centers/research centres/research center/research centre/research facilities/research laboratories"
    "/research labs/research entities/research bodies|Legal:law firms/legal sector/legal services"
    "|Diplomacy:diplomatic/diplomats/embassies/foreign affairs|Military:armed forces"
    "|Electric:electricity/electric utilities/electric utility/power grid|Infrastructure:critical infrastructure"
    "|Political party:political parties/political campaign/political campaigns/election campaign"
    "/election campaigns/electoral campaign/electoral campaigns/presidential campaign/presidential campaigns"
    "/campaign staff/political organizations/political organisations"
    "|Think Tanks:think tank/policy research institute/policy research institutes/public policy research institutes"
    "/policy institutes/policy research organizations"
    "|Sport:sporting events/sporting event/sports organizations/sports organisations/sports federations"
    "/sports bodies/sports teams/sports clubs/olympic games/olympics/olympic committee/anti doping agencies"
    "|Water:water utilities/water utility/water treatment/water treatment facilities/water treatment plants"
    "/water and wastewater/wastewater/water wastewater/water sector/water supply/water systems/water facilities"
    "/water companies/water authorities"
    "|Managed Services Provider:managed service providers/managed service provider/managed services providers"
    "|Police - Law enforcement:law enforcement/police|Justice:judiciary/judicial|Investment:investment firms"
    "/investment companies/investment funds|Automotive:motor vehicles/automakers/automobile"
    "|Mining:mining companies|eCommerce:e commerce"
)
# Description-only: sector words too generic to trust in prose ("infrastructure" = C2 servers).
_PROSE_DENY = frozenset((
    "unknown other country development game trade space intelligence justice employment environment culture"
    " arts food sport travel tourism it ics industrial infrastructure research news health investment"
    " marketing programming advertising consulting turbine steel metal water mining legal citizens"
    " opposition immigration electronic electric gas payment security systems"
).split()) | {"it hacker", "it isp", "it security", "multi sector", "security service", "security actors",
              "security systems", "digital services", "digital infrastructure", "data broker"}
# Phrases consumed so their words do not count ("social media" is not the media sector).
_PROSE_IGNORE_SECTORS = (
    "social media/removable media/defense evasion/financial gain/financial motivation/financially motivated"
    "/social engineering/reverse engineering/military intelligence/military unit/military units"
    "/government sponsored/government backed/government linked/government affiliated/government aligned"
    "/government directed/government funded/private sector offensive actor/ministry of state security"
    "/ministry of public security/ministry of intelligence"
)
_PROSE_IGNORE_PLACES = (
    "New Jersey/New Mexico/New England/New South Wales/European Union/European Commission/Korean War"
    "/Indian Ocean/American Express/Bank of America/Turkish Airlines/Georgia Tech/Russian roulette"
)
_SHORT_CODES_OK = frozenset({"US", "U.S.", "UK", "U.K.", "UAE", "USA", "DPRK", "PRC"})
_SYNONYM_DENY = frozenset({"Mann", "Moris", "Viti", "Maore", "Mahori", "Kyrgyz", "Virgin Islands", "Congo"})

# Chinese words in 360net data -> English names the lookups understand.
_ZH = (
    "中国:China|俄罗斯:Russia|巴基斯坦:Pakistan|美国:United States|伊朗:Iran|欧洲:Europe|印度:India"
    "|孟加拉国:Bangladesh|孟加拉:Bangladesh|叙利亚:Syria|约旦:Jordan|日本:Japan|乌克兰:Ukraine"
    "|澳大利亚:Australia|土耳其:Turkey|韩国:South Korea|巴勒斯坦:Palestine|以色列:Israel|加拿大:Canada"
    "|比利时:Belgium|马来西亚:Malaysia|哈萨克斯坦:Kazakhstan|厄瓜多尔:Ecuador|西班牙:Spain|哥伦比亚:Colombia"
    "|巴拿马:Panama|中东:Middle East|埃及:Egypt|丹麦:Denmark|罗马尼亚:Romania|利比亚:Libya|朝鲜半岛:Korean Peninsula"
    "|朝鲜:North Korea|北约:NATO|斯里兰卡:Sri Lanka|全球:Global|阿富汗:Afghanistan|伊拉克:Iraq|英国:United Kingdom"
    "|乌兹别克斯坦:Uzbekistan|沙特阿拉伯:Saudi Arabia|意大利:Italy|东南亚:Southeast Asia|南美:South America"
    "|阿尔及利亚:Algeria|东欧:Eastern Europe|南亚:South Asia|欧美:Europe/North America|越南:Vietnam|台湾:Taiwan"
    "|德国:Germany|法国:France|香港:Hong Kong|新加坡:Singapore|泰国:Thailand|菲律宾:Philippines"
    "|印度尼西亚:Indonesia|缅甸:Myanmar|蒙古:Mongolia|尼泊尔:Nepal|大使馆:Diplomacy|外交机关:Diplomacy"
    "|国防军工:Defense|国防工业:Defense|国防:Defense|军工:Defense|军事:Military|政府:Government|教育:Education"
    "|外交:Diplomacy|金融:Finance|医疗:Healthcare|科学研究:Research|科研:Research|制造:Manufacturing"
    "|信息技术:Information technology|通信运营商:Telecommunications|电信运营商:Telecommunications"
    "|信息和通信:Telecommunications|信息通信:Telecommunications|通信:Telecommunications|通讯:Telecommunications"
    "|能源:Energy|社会组织:NGOs|新闻媒体:News Media|媒体:Media|航空航天:Aerospace|航天:Space|工业:Industrial"
    "|建筑:Construction|服务业:Services|电力:Electric|智库:Think Tanks|外贸:Trade"
)


def _table(spec: str) -> list[tuple[str, list[str]]]:
    return [(k, v.split("/")) for k, _, v in (p.partition(":") for p in spec.split("|"))]


def _key(text: str) -> str:
    """Lookup key: case-, width- and punctuation-insensitive, leading "the" dropped."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").casefold().strip()
    text = " ".join(re.sub(r"[^\w']+", " ", text).split())
    return text[4:] if text.startswith("the ") else text


def _plural(word: str) -> str:
    if word.endswith(("s", "sh", "ch", "ese", "x", "z")):
        return word
    return word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"


def _trie_regex(words: Iterable[str], flexible_space: bool = False) -> str:
    """One alternation with shared prefixes factored out, so matching stays linear-ish."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        end = "" in node
        alts = []
        for ch in sorted(k for k in node if k):
            atom = r"[\s\-/]+" if flexible_space and ch == " " else re.escape(ch)
            alts.append(atom + emit(node[ch]))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if end else body

    # Sectors also refuse a leading hyphen: "non-governmental" is not "governmental".
    return (r"(?<![\w\-])" if flexible_space else r"(?<!\w)") + "(?:" + emit(trie) + r")(?!\w)"


def _first_unique(tiers: Iterable[Iterable[tuple[str, Entry]]]) -> dict[str, Entry]:
    """Key -> entry; earlier tiers win, and a key claimed by two entries in one tier is dropped."""
    out: dict[str, Entry] = {}
    for tier in tiers:
        claims: dict[str, set[Entry]] = {}
        for key, entry in tier:
            if key:
                claims.setdefault(key, set()).add(entry)
        out.update({k: next(iter(v)) for k, v in claims.items() if k not in out and len(v) == 1})
    return out


def _prose_name(name: str) -> bool:
    """Whether a galaxy synonym is safe to search for in English prose."""
    if name in _SHORT_CODES_OK:
        return True
    if name in _SYNONYM_DENY or len(name) < 4 or (name.isupper() and len(name) <= 4):
        return False
    return name[0].isupper() and all(c.isalpha() or c in " .'-" for c in name) and max(map(ord, name)) < 0x250


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Lookup tables and prose regexes; build with ``from_galaxy_clusters`` or ``bundled``."""

    countries: Mapping[str, Entry]
    regions: Mapping[str, Entry]
    sectors: Mapping[str, Entry]
    place_terms: Mapping[str, tuple[Entry | None, bool]]
    sector_terms: Mapping[str, Entry | None]
    place_re: re.Pattern[str]
    sector_re: re.Pattern[str]
    zh_re: re.Pattern[str]

    @classmethod
    def from_galaxy_clusters(
        cls, target_information: Mapping[str, Any], sector: Mapping[str, Any],
        region: Mapping[str, Any] | None = None,
    ) -> Vocabulary:
        by_code: dict[str, Entry] = {}
        names: list[tuple[Entry, list[str]]] = []
        for raw in target_information.get("values", []):
            meta = raw.get("meta", {})
            codes = [c for c in _as_list(meta.get("iso-code")) if isinstance(c, str)]
            code2 = next((c.upper() for c in codes if len(c) == 2), None)
            value = raw["value"]
            entry = Entry(Kind.COUNTRY, value, code2, f'misp-galaxy:target-information="{value}"')
            for code in codes:
                by_code.setdefault(code.upper(), entry)
            names.append((entry, _as_list(meta.get("synonyms"))))
        aliases = [(by_code[c], n) for c, n in _table(_COUNTRY_ALIASES) if c in by_code]
        demonyms = [(by_code[c], n) for c, n in _table(_DEMONYMS) if c in by_code]
        countries = _first_unique([
            ((_key(n), e) for e, ns in aliases for n in ns),
            ((_key(e.value), e) for e, _ in names),
            ((_key(c), e) for c, e in by_code.items()),
            ((_key(n), e) for e, ns in names for n in ns),
            ((_key(n), e) for e, ns in demonyms for n in ns),
        ])

        region_values = {v["value"] for v in (region or {}).get("values", [])}
        regions: dict[str, Entry] = {}
        region_names: list[tuple[Entry, list[str]]] = []
        for spec in _REGIONS.split("|"):
            names_part, _, cluster = spec.partition("=")
            alts = names_part.split("/")
            tag = f'misp-galaxy:region="{cluster}"' if cluster in region_values else None
            entry = Entry(Kind.REGION, alts[0], None, tag)
            region_names.append((entry, alts))
            regions.update((_key(a), entry) for a in alts)

        sector_names: list[tuple[Entry, list[str]]] = []
        for raw in sector.get("values", []):
            value = raw["value"]
            entry = Entry(Kind.SECTOR, value, None, f'misp-galaxy:sector="{value}"')
            sector_names.append((entry, [value, *_as_list(raw.get("meta", {}).get("synonyms"))]))
        by_value = {e.value: e for e, _ in sector_names}
        sector_aliases = [(by_value[v], ns) for v, ns in _table(_SECTOR_ALIASES) if v in by_value]
        sectors = _first_unique([
            ((_key(n), e) for e, ns in sector_names for n in ns),
            ((_key(n), e) for e, ns in sector_aliases for n in ns),
        ])

        place_terms = cls._place_terms(names, aliases, demonyms, region_names)
        sector_terms: dict[str, Entry | None] = {}
        for key, entry in sectors.items():
            if key not in _PROSE_DENY and entry.value not in ("Unknown", "Other", "Country"):
                sector_terms.setdefault(key, entry)
                sector_terms.setdefault(_plural(key), entry)
        sector_terms.update((_key(p), None) for p in _PROSE_IGNORE_SECTORS.split("/"))
        zh_words = [w for w, _ in _table(_ZH)]
        return cls(
            countries, regions, sectors, place_terms, sector_terms,
            re.compile(_trie_regex(place_terms)),
            re.compile(_trie_regex(sector_terms, flexible_space=True), re.IGNORECASE),
            re.compile("|".join(sorted(zh_words, key=len, reverse=True))),
        )

    @staticmethod
    def _place_terms(
        names: list[tuple[Entry, list[str]]], aliases: list[tuple[Entry, list[str]]],
        demonyms: list[tuple[Entry, list[str]]], regions: list[tuple[Entry, list[str]]],
    ) -> dict[str, tuple[Entry | None, bool]]:
        """Case-sensitive prose terms -> (entry, is demonym); None entries just consume text."""
        def variants(name: str) -> set[str]:
            head, _, tail = name.partition(" ")
            return {name, f"{head} {tail.lower()}"} if tail else {name}

        plain = _first_unique([
            ((v, e) for e, ns in regions for n in ns for v in variants(n)),
            ((v, e) for e, _ in names for v in variants(e.value)),
            ((v, e) for e, ns in aliases + names for n in ns if _prose_name(n) for v in variants(n)),
        ])
        adjectives = _first_unique([
            ((v, e) for e, ns in demonyms for n in ns for v in {*variants(n), *variants(_plural(n))}),
        ])
        terms: dict[str, tuple[Entry | None, bool]] = {k: (e, False) for k, e in plain.items()}
        terms.update((k, (e, True)) for k, e in adjectives.items() if k not in terms)
        terms.update((p, (None, False)) for p in _PROSE_IGNORE_PLACES.split("/"))
        return terms

    # --- lookups --------------------------------------------------------------

    def country(self, text: str) -> Entry | None:
        """Country by name, synonym, ISO2/ISO3 code, CFR style or demonym."""
        return self.countries.get(_key(text))

    def region(self, text: str) -> Entry | None:
        return self.regions.get(_key(text))

    def place(self, text: str) -> Entry | None:
        """Country first, then region."""
        key = _key(text)
        return self.countries.get(key) or self.regions.get(key)

    def sector(self, text: str) -> Entry | None:
        """Sector-galaxy entry when one really fits, else None (callers keep the original)."""
        key = _key(text)
        entry = self.sectors.get(key)
        if entry is None and key.endswith((" sector", " industry", " industries", " sectors")):
            entry = self.sectors.get(key.rsplit(" ", 1)[0])
        if entry is None and key.endswith("s"):
            entry = self.sectors.get(key[:-1])
        return entry

    def english(self, text: str) -> tuple[str, ...]:
        """English names for the Chinese place and sector words found in ``text``, in order."""
        return tuple(n for m in self.zh_re.finditer(text) for n in _ZH_TABLE[m.group()])

    # --- prose ----------------------------------------------------------------

    def places_in(self, text: str) -> Iterator[Mention]:
        """Country and region mentions, whole words, longest match first."""
        for m in self.place_re.finditer(text):
            entry, demonym = self.place_terms.get(m.group(), (None, False))
            if entry is not None:
                yield Mention(entry, m.group(), m.start(), m.end(), demonym)

    def sectors_in(self, text: str) -> Iterator[Mention]:
        """Sector mentions, case-insensitive, skipping ignored phrases and "government-backed"."""
        for m in self.sector_re.finditer(text):
            entry = self.sector_terms.get(_key(m.group()))
            if entry is not None and not _GOV_BACKED.match(text, m.end()):
                yield Mention(entry, m.group(), m.start(), m.end())


_ZH_TABLE = dict(_table(_ZH))
_GOV_BACKED = re.compile(r"-(?:backed|sponsored|linked|affiliated|aligned|directed|funded|run|controlled)\b")


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
