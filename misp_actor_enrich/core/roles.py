"""The part a place or sector plays in one description sentence: victim, origin, or something else.

A country named in an actor description is not always a victim: it may be the
actor's home ("a Russia-based group"), the one who attributes ("the US and UK
governments attributed"), a customer ("sells a platform to governments"), a lure
("North Korean political topics as lures"), where the actor's servers are
("infrastructure located in China"), or context ("amid the Israel-Iran
conflict"). Sector words have other senses too ("evade Windows defenses",
"spyware technologies", "industrial and military applications"). Each rule looks
at a short window before or after the mention; the first that fits decides, and
only a mention no rule claims is a victim. Pure.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

from .vocabulary import Mention


class Verdict(Enum):
    """Why a mention is, or is not, reported as a victim."""

    VICTIM = "victim"
    ORIGIN = "origin"                  # the actor's home, sponsor or language community
    NAME = "name"                      # inside a proper name, a tool name or the actor's own name
    SENSE = "sense"                    # the word means something else here ("evade defenses", "US$")
    REPORTER = "reporter"              # who reports or attributes
    CUSTOMER = "customer"              # who buys from the actor
    LURE = "lure"                      # a theme or an impersonated party used as bait
    INFRASTRUCTURE = "infrastructure"  # where the actor's servers or accounts are
    CONTEXT = "context"                # an event the activity followed or accompanied
    EXCLUDED = "excluded"              # named as not the target ("beyond South Korea")
    NO_CUE = "no-cue"                  # the sentence says nothing about targeting
    HOME = "home"                      # the actor's own country, and nothing says it attacked there


# Roles that follow a list: in "located in China and Taiwan" Taiwan is infrastructure too.
LIST_ROLES = frozenset({Verdict.ORIGIN, Verdict.REPORTER, Verdict.CUSTOMER, Verdict.LURE,
                        Verdict.INFRASTRUCTURE, Verdict.CONTEXT, Verdict.EXCLUDED})

_MODAL = r"(?:(?:be|is|are|was|were|been|being|likely|reportedly|allegedly|probably|possibly|believed\s+to\s+be)\s+)"
# Words right before a place that make it the actor's origin ("linked to the Chinese government").
_ORIGIN_BEFORE = re.compile(rf"""(?ix)
    (?: \b(?:linked|tied|ties|links|connections?|attributed|attribution|sponsored|backed|directed|tasked|funded
           |affiliated|align\w*|allegiance|behalf|interests|interest|support|supports|nexus
           |serving|works|working|employed
           |contractors?)(?:\s+\w+ly)?(?:\s+(?:to|by|with|of|for))?
      | \b(?:group|actors?|it|they|which|who|operators?)\s+{_MODAL}*(?:\w+ly\s+)?(?:associated|connected)\s+(?:with|to)
      | \battribut(?:ed|es|e)\s+(?:[\w\-]+\s+){{1,6}}?to | \battribution\s+of\s+(?:[\w\-]+\s+){{1,4}}?to
      | \b(?:be|is|was|likely|reportedly|allegedly|probably|possibly|group|actors?|operators?)[\s,]+
        (?:\w+ly\s+)?(?:based|located|headquartered)\s+(?:in|out\s+of)
      | \b(?:operat\w*|hails?|originat\w*|comes?|coming|emanat\w*)\s+(?:\w+ly\s+)?(?:out\s+of|from|in)
      | \b(?:groups?|actors?|hackers?|operators?|attackers?|apts?|adversar\w+|crew|gang)\s+(?:from|in)
    )
    \s+(?:(?:the|a|an|suspected|likely|possibly|probably|alleged)\s+)*
    (?:(?:government|state|regime|military|people's)\s+(?:of\s+)?)?(?:(?-i:[A-Z])[\w\-]+,\s+)?$
    | \bpro-$""")
_REPORTER_BEFORE = re.compile(
    r"(?ix)(?: \baccording\s+to | \b(?:attribut\w*|indict\w*|charged|sanction\w*|accus\w*|named|identified|exposed"
    r"|published|released|issued|reported|disclosed|designated|described|dubbed|observed|discovered|detected"
    r"|documented|announced|warned|assessed|confirmed)\s+(?:[\w\-]+\s+){0,3}?by"
    r"| \b(?:advisory|advisories|report|bulletin|alert|statement)\s+(?:from|by|of) )"
    r"\s+(?:the\s+)?(?:[\w.\-]+\s+){0,2}?$")
# "the US and UK governments attributed ...": the place (or sector) is the subject of a reporting verb.
_REPORTER_AFTER = re.compile(
    r"(?x)^(?:'s)?(?:\s*(?:,|and|&)\s*(?:the\s+)?[A-Z][\w.]*(?:\s+[A-Z][\w.]*)?)*"
    r"(?:\s+(?:Federal|National|State|Justice))?(?:\s+(?i:governments?|authorities|officials|intelligence(?:\s+(?:agencies|services|community))?"
    r"|agencies|cert|law\s+enforcement|prosecutors|courts?|department\s+of\s+justice|justice\s+department"
    r"|treasury(?:\s+department)?|state\s+department|police))?"
    r"\s+(?:(?:has|have|had|also|publicly|formally|officially|later|jointly|first|previously|recently"
    r"|subsequently|reportedly)\s+)*"
    r"(?:attribut(?:ed|es|e)|indicted|charged|sanctioned|accused|blamed|named|identified|assess(?:ed|es)|said|says"
    r"|stated|reported|reports|published|publishes|released|issued|disclosed|announced|warned|revealed|alleged"
    r"|alleges|exposed|confirmed|believes|believed|suspects|designated|offered|seized|arrested|extradited"
    r"|convicted|dismantled)\b")
_CUSTOMER_BEFORE = re.compile(
    r"(?ix)\b(?:sells?|sold|selling|resell\w*|market(?:s|ed|ing)?|licen[cs](?:e|es|ed|ing)|supplie[sd]|supplying"
    r"|(?:offer|provid)(?:e|es|ed|s|ing)?\s+(?:its\s+|their\s+)?(?:services|tools|products|platforms?|spyware|malware"
    r"|capabilities|surveillance|software)"
    r"|(?:its|their|whose|the\s+(?:group|actor|vendor|company)'s)\s+(?:\w+\s+)?(?:customers?|clients?|buyers?))\b([^.;:]{0,70}?)\b(?:to|for|include|includes|including|such\s+as|among|are|in)"
    r"\s+(?:the\s+|various\s+|several\s+|other\s+|foreign\s+|many\s+)?(?:[\w\-]+\s+){0,2}$")
_IMPERSONATE_BEFORE = re.compile(
    r"(?ix)\b(?:impersonat\w*|pos(?:e|es|ed|ing)\s+as|masquerad\w*\s+as|pretend\w*\s+to\s+be|disguis\w*\s+as"
    r"|spoof\w*|mimic\w*|purport\w*\s+to\s+(?:be|come)(?:\s+from)?|claim\w*\s+to\s+be(?:\s+from)?"
    r"|appear\w*\s+to\s+(?:be|come)\s+from|in\s+the\s+name\s+of|fake|bogus|counterfeit|fraudulent)"
    r"\s+(?:the\s+|a\s+|an\s+)?(?:[\w\-']+,?\s+(?:and\s+|or\s+)?){0,6}$")
_TOPIC_BEFORE = re.compile(
    r"(?ix)\b(?:lures?|decoys?|baits?|themes?|topics?|subjects?|documents?|e-?mails?|messages?|content|files?"
    r"|attachments?|news|articles?|narratives?|pretexts?|disinformation|propaganda|messaging|issues|matters|affairs"
    r"|polic(?:y|ies)|developments)"
    r"\s+(?:[\w\-]+\s+){0,2}?(?:about|on|regarding|concerning|related\s+to|relating\s+to|referencing|mentioning"
    r"|relevant\s+to|around|themed\s+on|discussing|dealing\s+with|praising|criticizing|criticising)"
    r"\s+(?:the\s+|a\s+|an\s+)?(?:[\w\-']+\s+){0,2}$")
# The actor's own servers: an infrastructure word, and "located/hosted in" unless the word says it alone ("C2").
_INFRA_BEFORE = re.compile(
    r"(?ix)(?:\b(?:c2|c&c|command[\s\-]+and[\s\-]+control|vps|vpss|prox(?:y|ies)|relays?|exit\s+nodes?|botnets?"
    r"|hosting(?:\s+providers?)?|hosted|registered|registrars?)\b(?:\s+[\w\-']+){0,3}?\s+"
    r"| \b(?:servers?|infrastructure|hosts?|ip\s+address(?:es)?|ips|domains?|nodes?|routers?|devices?"
    r"|data\s*cent(?:er|re)s?)\b(?:\s+[\w\-']+){0,2}?\s+(?:located|based|hosted|registered|residing|situated)\s+)"
    r"(?:in|within)\s+(?:the\s+)?$")
_EVENT = (r"(?:war|wars|conflict|invasion|crisis|tensions?|protests?|dispute|escalation|hostilities|unrest|coup"
          r"|revolution|summit|talks|visit|annexation|occupation|elections?|events?|incidents?|bombings?|strikes?"
          r"|killings?|assassination|sanctions|ceasefire|earthquake|floods?)")
_PARTNERS_BEFORE = re.compile(r"(?i)\b(?:work\w*|cooperat\w*|collaborat\w*|partner\w*)\s+with\b[^.;]{0,60}$")
_MEMBERS_BEFORE = re.compile(r"(?i)\b(?:composed\s+of|made\s+up\s+of|consist(?:s|ed|ing)?\s+of|members\s+include)\b"
                             r"[^.;]{0,60}$")
# "pushing the claim that Hamas acquired Ukrainian weapons for an attack on Israel": a narrative, not a target.
_CLAIM_BEFORE = re.compile(r"(?i)\b(?:the|a|false|fake|unfounded)\s+(?:claims?|narratives?)\s+that\b[^.;]{0,80}$")
_REMIT_BEFORE = re.compile(r"(?i)\b(?:responsible\s+for|overseeing|oversees?|in\s+charge\s+of)\b[^.;]{0,70}$")
_TARGETING = re.compile(r"(?i)\b(?:target\w*|attack\w*|against|compromis\w*|hack\w*|breach\w*|infiltrat\w*|infect\w*)\b")
_CONTEXT_BEFORE = re.compile(
    rf"(?ix)\b(?:following|after|amid|amidst|during|since|before|ahead\s+of|in\s+response\s+to|in\s+the\s+wake\s+of"
    rf"|in\s+retaliation\s+(?:for|against)|coinciding\s+with|in\s+light\s+of|due\s+to|in\s+support\s+of|over)"
    rf"\s+(?:the\s+|a\s+|an\s+|recent\s+|ongoing\s+|current\s+)*(?:[\w\-']+\s+){{0,5}}?"
    rf"(?:{_EVENT}|(?<!during\s)attacks?\s+in|(?<!during\s)(?:military\s+)?operations?\s+in)"
    rf"(?:\s+(?:in|on|of|between|with|against|involving|by|over|across|from))?\s+(?:the\s+)?(?:[\w\-']+\s+){{0,2}}$")
# "expanded its targeting beyond the Korean peninsula": the place is named as not (only) the target.
_EXCLUDED_BEFORE = re.compile(r"(?i)\b(?:beyond|outside(?:\s+of)?|except|excluding|other\s+than|neighbou?ring|bordering"
                              r"|surrounding|adjacent\s+to|(?:supporters|allies|friends|sympathi[sz]ers)\s+of)"
                              r"\s+(?:the\s+)?$")
# "websites affiliated with Israel": the link describes the victim, not the actor.
_VICTIM_LINKED = re.compile(r"(?i)\b(?:websites?|sites|organi[sz]ations|entities|companies|firms|individuals|people"
                            r"|users|targets|institutions|businesses|networks|outlets|accounts)\s+(?:\w+\s+)?"
                            r"(?:linked|tied|affiliated|associated|connected|aligned)\s+(?:to|with)\s+(?:the\s+)?$")
_INTERESTED_BEFORE = re.compile(r"(?i)\b(?:individuals|people|users|those|persons|researchers|experts|readers)\s+"
                                r"(?:who\s+are\s+)?interested\s+in\s+(?:the\s+)?$")
# "the report determines the location (Chengdu, PRC)": where the attackers are.
_LOCATION_BEFORE = re.compile(r"\b[Ll]ocation\s*(?:\(\s*)?(?:[A-Z][\w\-]+,\s*)?$")
_AGAINST_BEFORE = re.compile(r"(?i)\b(?:against|targeting|targets|targeted|attacking|attacked)\s+(?:the\s+)?$")
_PRO_VICTIM = re.compile(r"(?i)\s+(?:countries|nations|states|governments|organi[sz]ations|entities|websites|media"
                         r"|outlets|groups|targets)\b")
# "CopyCop is a Russian covert influence network": an adjective describing the actor itself.
_IS_A = re.compile(r"(?i)\b(?:is|was)\s+(?:a|an)\s+(?:[\w\-]+ly\s+|suspected\s+|alleged\s+|presumed\s+|likely\s+"
                   r"|new\s+|small\s+|prolific\s+|sophisticated\s+)*$")
# "proficiency in Russian", "written in Chinese": a language, when no noun follows.
_LANGUAGE_BEFORE = re.compile(r"(?i)\b(?:in|speak\w*|written|writes?|fluen\w*|proficien\w*|native)\s+$")
_TAIL = re.compile(r"(?:'s)?(?:\s*\([^()]{1,15}\))?((?:[\s\-]+[\w']+){1,4})")
_STOP = frozenset("by of in on at to for with and or that which who whose the a an its their from "
                  "against as is are was were has have had but since including such through via using during after "
                  "before between across over into within throughout amid like".split())
_VICTIM_NOUNS = frozenset("companies company organizations organisations organization organisation "
                          "entities entity firms businesses banks victims targets users individuals citizens "
                          "officials networks institutions agencies ministries embassies dissidents activists "
                          "journalists nationals people residents students interests corporations".split())
_ORIGIN_NOUNS = frozenset("group groups actor actors apt apts hacker hackers hacking threat operator operators "
                          "sponsored backed based nexus linked aligned affiliated attributed speaking speakers "
                          "language origin espionage cyberespionage criminal criminals cybercriminal "
                          "cybercriminals cybercrime gang crew collective adversary adversaries hacktivist "
                          "hacktivists intelligence mss gru fsb svr irgc mois pla rgb army nation ransomware "
                          "team cluster activity unit invasion regime".split())
# Modifiers that mean origin unless a victim noun follows ("Israel-based IT company", "Chinese-speaking users").
_WEAK_ORIGIN = frozenset("based speaking language origin".split())
_UTILITY = frozenset("mobile telecom telecommunications network satellite power grid energy port pipeline cellular "
                     "railway airport water gas".split())
_CYBER_ORIGIN = frozenset("operations operation program programme programs units unit army forces capabilities "
                          "actors operators command alliance team front resistance partisans".split())
_REPORTER_NOUNS = frozenset("cybersecurity antivirus researchers researcher vendor vendors cert advisory "
                            "advisories bulletin indictment indictments prosecutors court".split())
_LURE_NOUNS = frozenset("themed theme themes topic topics lure lures decoy decoys bait issues affairs politics "
                        "narratives".split())
_CONTEXT_NOUNS = frozenset("war wars conflict conflicts crisis invasion tensions dispute disputes protests "
                           "hostilities unrest ceasefire".split())
# People an actor persecutes at home: "Iranian dissidents" for an Iranian actor is domestic targeting.
_DOMESTIC_NOUNS = frozenset("dissidents dissident activists opposition minorities minority citizens nationals "
                            "diaspora journalists protesters protestors expatriates expats civil".split())
_DOMESTIC_PHRASE = re.compile(
    r"(?i)\b(?:domestic(?:ally)?\s+(?:targets?|victims?|surveillance|opposition|dissidents?|users?|entities)"
    r"|at\s+home|(?:its|their)\s+own\s+(?:citizens|people|population|nationals|country)|internal\s+dissent)\b")


class _Gated:
    """A window pattern behind a cheap test: it cannot match unless one of its keywords is in the text.

    Every place and sector is tried against a dozen patterns anchored at the end of a
    100-character window; a substring test first keeps that affordable.
    """

    __slots__ = ("pattern", "gate")

    def __init__(self, pattern: re.Pattern[str], keys: str) -> None:
        self.pattern = pattern
        self.gate = re.compile("|".join(re.escape(k) for k in keys.split("|")))

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text) if self.gate.search(text.lower()) else None


_REPORTER_BEFORE_G = _Gated(_REPORTER_BEFORE, "according| by|advisor|report|bulletin|alert|statement")
_EXCLUDED_BEFORE_G = _Gated(_EXCLUDED_BEFORE, "beyond|outside|except|excluding|other|neighbo|bordering|surrounding"
                                               "|adjacent|supporters|allies|friends|sympathi")
_INTERESTED_BEFORE_G = _Gated(_INTERESTED_BEFORE, "interested")
_LOCATION_BEFORE_G = _Gated(_LOCATION_BEFORE, "ocation")
_PARTNERS_BEFORE_G = _Gated(_PARTNERS_BEFORE, "with")
_MEMBERS_BEFORE_G = _Gated(_MEMBERS_BEFORE, "compos|made|consist|members")
_CUSTOMER_BEFORE_G = _Gated(_CUSTOMER_BEFORE, "sell|sold|market|licen|suppl|offer|provid|customer|client|buyer")
_REMIT_BEFORE_G = _Gated(_REMIT_BEFORE, "responsible|overse|in charge")
_CLAIM_BEFORE_G = _Gated(_CLAIM_BEFORE, "claim|narrative")
_IMPERSONATE_BEFORE_G = _Gated(_IMPERSONATE_BEFORE, "imperson|pos|masquerad|pretend|disguis|spoof|mimic|purport|claim"
                                                     "|appear|name of|fake|bogus|counterfeit|fraudulent")
_TOPIC_BEFORE_G = _Gated(_TOPIC_BEFORE, "lure|decoy|bait|theme|topic|subject|document|mail|message|content|file"
                                         "|attachment|news|article|narrative|pretext|disinformation|propaganda"
                                         "|issues|matters|affairs|polic|developments")
_CONTEXT_BEFORE_G = _Gated(_CONTEXT_BEFORE, "war|conflict|invasion|crisis|tension|protest|dispute|escalation"
                                             "|hostilities|unrest|coup|revolution|summit|talks|visit|annexation"
                                             "|occupation|election|event|incident|bombing|strike|killing|assassination"
                                             "|sanctions|ceasefire|earthquake|flood|attack|operation")
_INFRA_BEFORE_G = _Gated(_INFRA_BEFORE, "c2|c&c|command|vps|prox|relay|exit|botnet|host|registere|registrar|server"
                                         "|infrastructure|ip|domain|node|router|device|data")
_AGAINST_BEFORE_G = _Gated(_AGAINST_BEFORE, "against|target|attack")


def place_verdict(sentence: str, mention: Mention) -> Verdict:
    """What a country or region mention is in its sentence."""
    before = sentence[max(0, mention.start - 100):mention.start]
    after = sentence[mention.end:mention.end + 80]
    if after.startswith("$"):
        return Verdict.SENSE                       # "US$250,000"
    if _REPORTER_BEFORE_G.search(before) or _REPORTER_AFTER.match(after):
        return Verdict.REPORTER
    if _EXCLUDED_BEFORE_G.search(before):
        return Verdict.EXCLUDED
    if before.endswith("pro-") and _PRO_VICTIM.match(after):
        return Verdict.VICTIM                      # "targeting Israel and pro-Israel countries": sided, not home
    if _INTERESTED_BEFORE_G.search(before):
        return Verdict.LURE                        # "individuals interested in North Korea": a topic
    if (_ORIGIN_BEFORE.search(before, len(before) - 75) and not _VICTIM_LINKED.search(before)) \
            or (mention.demonym and _IS_A.search(before)) or _LOCATION_BEFORE_G.search(before):
        return Verdict.ORIGIN
    shared = _before_roles(before)
    if shared is not None:
        return shared
    if _INFRA_BEFORE_G.search(before):
        return Verdict.INFRASTRUCTURE
    tail = _TAIL.match(sentence, mention.end)
    tokens = [t.casefold() for t in re.findall(r"[\w']+", tail.group(1))] if tail else []
    if mention.demonym and _LANGUAGE_BEFORE.search(before) and not any(t in _VICTIM_NOUNS for t in tokens[:3]):
        return Verdict.ORIGIN if any(t in _WEAK_ORIGIN for t in tokens[:2]) else Verdict.SENSE
    if tokens[:1] == ["cyber"] and tokens[1:2] and tokens[1] in _CYBER_ORIGIN:
        return Verdict.ORIGIN                      # "North Korea's cyber operations"
    if _AGAINST_BEFORE_G.search(before) or tokens[:1] == ["army"]:
        return Verdict.VICTIM                      # "against the Iranian regime", "the Indian Army"
    if tokens[:1] in (["natives"], ["names"]):
        return Verdict.SENSE                       # "Turkish natives": an ethnicity, not a country
    weak = False
    for i, token in enumerate(tokens):
        if token in _STOP:
            break
        if token in _VICTIM_NOUNS or (token in ("operator", "operators") and i and tokens[i - 1] in _UTILITY):
            return Verdict.VICTIM                  # "a Ukrainian mobile operator" runs a network; it is no actor
        if token in _WEAK_ORIGIN:
            weak = True
        elif token in _ORIGIN_NOUNS:
            return Verdict.ORIGIN
        elif token in _LURE_NOUNS:
            return Verdict.LURE
        elif token in _CONTEXT_NOUNS:
            return Verdict.CONTEXT
        elif token in _REPORTER_NOUNS or (token == "security" and tokens[i + 1:i + 2] in (
                ["firm"], ["company"], ["vendor"], ["researchers"], ["firms"], ["companies"])):
            return Verdict.REPORTER
    return Verdict.ORIGIN if weak else Verdict.VICTIM


def sector_verdict(sentence: str, mention: Mention) -> Verdict:
    """What a sector mention is in its sentence; its word sense is checked by ``senses``."""
    before = sentence[max(0, mention.start - 100):mention.start]
    after = sentence[mention.end:mention.end + 80]
    if _REPORTER_BEFORE_G.search(before) or _REPORTER_AFTER.match(after):
        return Verdict.REPORTER
    if _EXCLUDED_BEFORE_G.search(before):
        return Verdict.EXCLUDED
    if _ORIGIN_BEFORE.search(before, len(before) - 75):
        return Verdict.ORIGIN                      # "on behalf of the government of Iran": the sponsor
    shared = _before_roles(before)
    return shared if shared is not None else Verdict.VICTIM


def domestic_said(sentence: str, mention: Mention) -> bool:
    """Whether the sentence says the actor attacked this place at home ("Iranian dissidents", "its own citizens")."""
    if _domestic_phrase(sentence):
        return True
    tail = _TAIL.match(sentence, mention.end)
    tokens = [t.casefold() for t in re.findall(r"[\w']+", tail.group(1))][:2] if tail else []
    return any(t in _DOMESTIC_NOUNS for t in tokens)


@lru_cache(maxsize=256)
def _domestic_phrase(sentence: str) -> bool:
    return _DOMESTIC_PHRASE.search(sentence) is not None


def _before_roles(before: str) -> Verdict | None:
    if _PARTNERS_BEFORE_G.search(before):
        return Verdict.REPORTER                    # "working with the FBI and other law enforcement agencies"
    if _MEMBERS_BEFORE_G.search(before):
        return Verdict.ORIGIN                      # "composed of hackers, activists and journalists": who they are
    if _CUSTOMER_BEFORE_G.search(before) and not re.search(r"(?i)\baccess\b", _window(before)):
        return Verdict.CUSTOMER
    remit = _REMIT_BEFORE_G.search(before)
    if remit and not _TARGETING.search(remit.group()):
        return Verdict.SENSE                       # "ministries responsible for telecommunications, health"
    if _CLAIM_BEFORE_G.search(before):
        return Verdict.LURE                        # what a narrative says is attacked is no victim
    lure = _IMPERSONATE_BEFORE_G.search(before) or _TOPIC_BEFORE_G.search(before)
    if lure and not _TARGETING.search(lure.group()):      # "fake apps and targeting Middle Eastern enterprises"
        return Verdict.LURE
    if _CONTEXT_BEFORE_G.search(before):
        return Verdict.CONTEXT
    return None


def _window(before: str) -> str:
    """The clause the customer rule read: access brokers sell access to victims, not to customers."""
    match = _CUSTOMER_BEFORE_G.search(before)
    return before[match.start():] if match else ""
