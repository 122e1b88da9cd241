"""User agents to device classes, with ua-parser (the uap-core rules), each distinct string parsed once.

ua-parser names a user agent's browser, OS and device family (`iPhone`, `iPad`, `Spider`, `Generic Feature
Phone`…) but has no device *class*; `classify` draws the class from what it names, in this order:

- `bot`: a device family of `Spider` (uap-core's crawlers), or a user agent that says what it is (bot, crawler,
  spider, a preview or monitoring fetcher, an HTTP library such as curl or python-requests, a headless browser);
- `tablet`: an iPad, a Kindle or Silk, or an Android device whose user agent lacks the `Mobile` token (the
  convention Google asks Android browsers to follow); a Windows device declaring `Tablet PC` or `Touch; ARM`;
- `mobile`: iOS on an iPhone or iPod, Android with `Mobile`, the other phone OSes, or any device family
  ua-parser recognises that is none of the above (feature phones);
- `desktop`: a desktop OS (Windows, macOS, Linux and its distributions, ChromeOS, the BSDs, Solaris);
- `unknown`: everything else, and any agent that is empty, longer than `MAX_USER_AGENT_CHARACTERS` or holds
  a control character, which is never parsed at all.

Parsing never raises: a parser failure on a strange string gives `unknown` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version

UNKNOWN = "unknown"
# Real agents stay far below this (the longest in ua-parser's and device-detector's test data are under 1,000);
# anything longer is an attack or a mistake, and is not worth a regex pass.
MAX_USER_AGENT_CHARACTERS = 2_048
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BOT = re.compile(
    r"(?<!cu)bot\b|bot[/_-]|crawl|spider|slurp|scrap|fetcher|preview|monitor|uptime|checker|validator|"
    r"headless|phantomjs|lighthouse|curl/|wget/|python-|python/|aiohttp|go-http-client|okhttp|java/|"
    r"libwww|http[._-]?client|httpx|axios|node-fetch|postman|request-promise|scanner|\+https?://",
    re.IGNORECASE,
)
_ANDROID_PHONE = re.compile(r"\bMobile\b|Opera Mini|Opera Mobi", re.IGNORECASE)
_WINDOWS_TABLET = re.compile(r"Tablet PC|Touch; ARM|ARM; Touch", re.IGNORECASE)
_TABLET_FAMILIES = ("iPad", "Kindle", "Kindle Fire")
_PHONE_OSES = (
    "iOS",
    "Windows Phone",
    "BlackBerry OS",
    "BlackBerry Tablet OS",
    "Symbian OS",
    "Symbian^3",
    "Firefox OS",
    "KaiOS",
    "Tizen",
    "Sailfish",
    "webOS",
    "Bada",
    "HarmonyOS",
    "Ubuntu Touch",
)
_DESKTOP_OSES = (
    "Windows",
    "Mac OS X",
    "Mac OS",
    "Linux",
    "Ubuntu",
    "Debian",
    "Fedora",
    "Red Hat",
    "Linux Mint",
    "SUSE",
    "openSUSE",
    "Gentoo",
    "Arch Linux",
    "Mandriva",
    "Slackware",
    "CentOS",
    "Chrome OS",
    "ChromeOS",
    "FreeBSD",
    "OpenBSD",
    "NetBSD",
    "Solaris",
)
_DESKTOP_HINTS = re.compile(r"\bX11\b|Macintosh|Windows NT|\bCrOS\b", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedUserAgent:
    device: str
    os: str | None
    browser: str | None


UNPARSED = ParsedUserAgent(UNKNOWN, None, None)


@cache
def _parser():
    """ua-parser with the fastest resolver installed (the Rust `ua-parser-rs` when there), built once."""
    from ua_parser import Parser, load_builtins

    try:
        from ua_parser.regex import Resolver
    except ImportError:  # without the accelerator: the pure-Python resolver, slower but the same rules
        from ua_parser import BasicResolver as Resolver
    return Parser(Resolver(load_builtins()))


def parser_version() -> str:
    """The library and rule versions, stored with every parsed row."""
    return f"ua-parser {version('ua-parser')}, rules {version('ua-parser-builtins')}"


def _known(family: str | None) -> str | None:
    return family if family and family != "Other" else None


def classify(user_agent: str, os: str | None, device_family: str | None) -> str:
    """The device class from ua-parser's OS and device families and the agent's own words (see the module)."""
    if device_family == "Spider" or _BOT.search(user_agent):
        return "bot"
    if device_family in _TABLET_FAMILIES or "Silk/" in user_agent:
        return "tablet"
    if os == "Android":
        return "mobile" if _ANDROID_PHONE.search(user_agent) else "tablet"
    if os in _PHONE_OSES or device_family in ("iPhone", "iPod"):
        return "mobile"
    if os == "Windows" and _WINDOWS_TABLET.search(user_agent):
        return "tablet"
    if os in _DESKTOP_OSES or device_family == "Mac" or (os is None and _DESKTOP_HINTS.search(user_agent)):
        return "desktop"
    if device_family is not None and not device_family.startswith("Generic"):
        return "mobile"
    if device_family == "Generic Feature Phone":
        return "mobile"
    return UNKNOWN


def parse_user_agent(user_agent: str | None) -> ParsedUserAgent:
    """Device class, OS and browser of one user agent; never raises."""
    if user_agent is None:
        return UNPARSED
    text = user_agent.strip()
    if not text or len(text) > MAX_USER_AGENT_CHARACTERS or _CONTROL.search(text):
        return UNPARSED
    try:
        result = _parser().parse(text)
    except Exception:  # a parser bug on one odd string must not fail the job: the agent stays unknown
        return UNPARSED
    os = _known(result.os.family if result.os else None)
    browser = _known(result.user_agent.family if result.user_agent else None)
    device_family = _known(result.device.family if result.device else None)
    return ParsedUserAgent(classify(text, os, device_family), os, browser)
