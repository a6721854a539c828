"""Whether a text is about security: the context a name with another meaning needs to count as an actor.

A page about a novel, a religion, a river or a chemical element names Sandworm, Lazarus,
Turla or Gallium in their other meaning; a security text names the actors. A text is about
security when it uses a term only security prose uses (malware, phishing, hackers, threat
actor, APT, command-and-control ...) or carries an indicator (a CVE id, an ATT&CK technique
id, an IPv4 address, a file hash, a defanged URL). Words other fields use as well are left
out on purpose: "exploits" (a hero's), "payload" (a rocket's), "implant" (a surgeon's),
"campaign" (a general's), "intrusion" (a geologist's), "Trojan" (Homer's), "hacked" (to
pieces), "wiper" (a windscreen's), "cyber" alone (cyberpunk).

Cost: a fixed number of passes over the text (``str.find`` per term, a few regexes that
start with a literal), stopping at the first hit; run at most once per scan, and only when
a name needs it.
"""

from __future__ import annotations

import re

# Lower-case terms that must start a word; any ending is fine ("hackers", "exfiltration").
_TERMS = (
    "malware", "ransomware", "spyware", "stalkerware", "infostealer", "info-stealer", "keylogger", "rootkit",
    "botnet", "backdoor", "webshell", "web shell", "phishing", "spear-phishing", "spearphishing", "smishing",
    "hacker", "hacking", "hacktivis", "cyberattack", "cyber-attack", "cyber attack", "cybercrim", "cyber-crim",
    "cyberespionage", "cyber-espionage", "cyber espionage", "cybersecurity", "cyber-security", "cyber security",
    "cyberthreat", "cyber threat", "infosec", "threat actor", "threat group", "threat intel", "command-and-control",
    "c2 server", "c2 infrastructure", "exfiltrat", "lateral movement", "credential theft", "credential dumping",
    "credential harvesting", "stolen credentials", "indicators of compromise", "ttps", "zero-day", "0-day", "ddos",
    "denial-of-service", "exploit kit", "intrusion set", "network intrusion", "att&ck",
)
# Written this way only in security prose: "APT" in capitals (a whole word), "trojan" in lower case.
_CASED = (("APT", True), ("APTs", True), ("trojan", False))
_CVE = re.compile(r"cve-\d{4}-\d{4,}")
_DEFANGED = re.compile(r"hxxps?://\S+|[\w.-]*\w\[\.\]\w[\w.\[\]-]*")     # matched where "hxxp" or "[.]" is
_TECHNIQUE = re.compile(r"T1\d{3}(?:\.\d{3})?\b")
_IPV4_CORE = re.compile(r"\.\d{1,3}\.\d{1,3}\.")        # starts with a literal: fast to search for
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.|\[\.\])){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.]\w)")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")


def security_subject(text: str) -> str | None:
    """The first security term or indicator in ``text``, as a word; None when the text is about something else."""
    lowered = text.lower()
    for term in _TERMS:
        if _word_at(lowered, term, whole=False) >= 0:
            return term
    for term, whole in _CASED:
        if _word_at(text, term, whole) >= 0:
            return term
    found = _CVE.search(lowered)
    if found is not None:
        return found.group()
    for mark in ("hxxp", "[.]"):
        at = lowered.find(mark)
        while at >= 0:
            start = at
            while start > max(0, at - 64) and (lowered[start - 1].isalnum() or lowered[start - 1] in "-._[]"):
                start -= 1                      # back to the defanged name's first character
            found = _DEFANGED.match(lowered, start)
            if found is not None and found.end() > at:
                return found.group()
            at = lowered.find(mark, at + 1)
    for found in _TECHNIQUE.finditer(text):
        if found.start() == 0 or not text[found.start() - 1].isalnum():
            return found.group()
    for found in _IPV4_CORE.finditer(text):
        address = _IPV4.search(text, max(0, found.start() - 3), found.end() + 3)
        if address is not None:
            return address.group()
    for found in _HEX_RUN.finditer(text):
        run = found.group()
        if len(run) in (32, 40, 64) and _bounded(text, found.start(), found.end()) \
                and any(c.isdigit() for c in run) and any(c.isalpha() for c in run):
            return run
    return None


def _word_at(haystack: str, term: str, whole: bool) -> int:
    """Where ``term`` first starts a word (and, when ``whole``, also ends one); -1 when nowhere."""
    at = haystack.find(term)
    while at >= 0:
        end = at + len(term)
        if (at == 0 or not haystack[at - 1].isalnum()) and (not whole or end == len(haystack)
                                                              or not haystack[end].isalnum()):
            return at
        at = haystack.find(term, at + 1)
    return -1


def _bounded(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())
