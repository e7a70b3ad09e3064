"""XSS payloads for S-xss, each calling its own marker ``__xss(n)`` if it ever runs.

Written for this project (no third-party list copied). They cover script tags, event handlers,
SVG, ``javascript:`` URLs, attribute and element breakouts, template syntax of several engines,
CSS, iframe ``srcdoc``, encoded and Unicode look-alikes, polyglots, and cells a spreadsheet
would run as formulas. A few short ones fit the 20-character postal code."""

from __future__ import annotations

import base64

# "N" in each template becomes the payload's number; "§" stands for it where "N" is text.
_TEMPLATES = [
    # Spreadsheet formulas (checked in the CSV exports), first so that
    # they land in the exported name and region columns.
    '=HYPERLINK("http://example.org","__xss(§)")',
    "+1+__xss(§)",
    "-1-__xss(§)",
    "@SUM(1)__xss(§)",
    # Script elements.
    "<script>__xss(§)</script>",
    "<SCRIPT>__xss(§)</SCRIPT>",
    "<script src=data:,__xss(§)></script>",
    "<svg><script>__xss(§)</script></svg>",
    "<scr<script>ipt>__xss(§)</scr</script>ipt>",
    "</script><script>__xss(§)</script>",
    "<ſcript>__xss(§)</ſcript>",
    # Event handlers.
    "<img src=x onerror=__xss(§)>",
    '<img src=x onerror="__xss(§)">',
    "<img src=x onerror=__xss(§)//",
    "<svg onload=__xss(§)>",
    "<svg/onload=__xss(§)>",
    "<body onload=__xss(§)>",
    "<details open ontoggle=__xss(§)>",
    "<video><source onerror=__xss(§)></video>",
    "<audio src=x onerror=__xss(§)>",
    "<input autofocus onfocus=__xss(§)>",
    "<select autofocus onfocus=__xss(§)></select>",
    "<marquee onstart=__xss(§)>m</marquee>",
    "<svg><animate onbegin=__xss(§) attributeName=x dur=1s>",
    '<x onpointerover=__xss(§) style="display:block;position:fixed;inset:0">',
    "<a id=x tabindex=1 autofocus onfocusin=__xss(§)>a</a>",
    "<img src=x alt=__xss(§) onerror=eval(this.alt)>",
    "<img src=x onerror=window['__x'+'ss'](§)>",
    # javascript: URLs.
    '<a href="javascript:__xss(§)">click</a>',
    "javascript:__xss(§)",
    "JaVaScRiPt:__xss(§)//",
    '<iframe src="javascript:__xss(§)"></iframe>',
    '<object data="javascript:__xss(§)"></object>',
    '<embed src="javascript:__xss(§)">',
    '<svg><a xlink:href="javascript:__xss(§)"><text y=20>x</text></a></svg>',
    "<form><button formaction=javascript:__xss(§)>x</button></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:__xss(§)">',
    '<base href="javascript:__xss(§)//">',
    # Breaking out of attributes, elements and script strings.
    '"><img src=x onerror=__xss(§)>',
    "'><img src=x onerror=__xss(§)>",
    '" autofocus onfocus=__xss(§) x="',
    "' autofocus onfocus=__xss(§) x='",
    "</textarea><script>__xss(§)</script>",
    "</title><script>__xss(§)</script>",
    '"-__xss(§)-"',
    "'-__xss(§)-'",
    '\\";__xss(§);//',
    '<noscript><p title="</noscript><img src=x onerror=__xss(§)>">',
    '<!--<img src="--><img src=x onerror=__xss(§)//">',
    "<math><mtext><table><mglyph><style><img src=x onerror=__xss(§)>",
    # iframe srcdoc.
    '<iframe srcdoc="<script>parent.__xss(§)</script>"></iframe>',
    '<iframe srcdoc="&lt;img src=x onerror=parent.__xss(§)&gt;"></iframe>',
    # CSS and style.
    "<style>@import 'javascript:__xss(§)';</style>",
    '<div style="background:url(javascript:__xss(§))">css</div>',
    '<div style="width:expression(__xss(§))">css</div>',
    "</style><svg onload=__xss(§)>",
    '<link rel=stylesheet href="javascript:__xss(§)">',
    # Template injection (Jinja, Angular, JS template literals, Ruby/Pug).
    "{{7*7}}__xss(§)",
    "{{constructor.constructor('__xss(§)')()}}",
    "{% print(7*7) %}__xss(§)",
    "${7*7}`${__xss(§)}`",
    "#{7*7}__xss(§)",
    # Encoded and Unicode variants.
    "&lt;script&gt;__xss(§)&lt;/script&gt;",
    "&#60;script&#62;__xss(§)&#60;/script&#62;",
    "%3Cscript%3E__xss(§)%3C/script%3E",
    "\\u003cscript\\u003e__xss(§)\\u003c/script\\u003e",
    "＜script＞__xss(§)＜/script＞",
    "</script>\u2028<script>__xss(§)</script>",
    "\u202e>tpircs/<__xss(§)",
    # Polyglot.
    "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk=__xss(§) )//%0D%0A%0d%0a//"
    "</stYle/</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=__xss(§)//>\\x3e",
    # Short, for the postal code (20 characters).
    "<i>__xss(§)</i>",
    "'\"><b>__xss(§)",
]


def _payload(number: int, template: str) -> str:
    return template.replace("§", str(number))


def _base64_payload(number: int) -> str:
    encoded = base64.b64encode(f"__xss({number})".encode()).decode()
    return f"<img src=x onerror=eval(atob('{encoded}'))>"


PAYLOADS: list[str] = [_payload(n, t) for n, t in enumerate(_TEMPLATES, start=1)]
PAYLOADS.append(_base64_payload(len(PAYLOADS) + 1))
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
