"""The journey certificate: pure rendering of the facts the store gathers.

No SQL and no clock: ``render_svg``, ``render_html`` and ``render_markdown``
take a ``CertificateFacts`` and the local time zone and return text.  Every
piece of user text (names, program, milestones) is escaped for the format it
goes into, so a name such as ``Ana <"Bea"> & Co`` prints as written.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

FORMATS = ("svg", "html")
# English month names, not strftime's %B: the certificate must not depend on the locale.
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


@dataclass(frozen=True)
class Milestone:
    """One milestone achieved in the loop: a stage reached or a program's own milestone done."""

    name: str
    achieved_at: datetime
    kind: str = "stage"  # stage | custom


@dataclass(frozen=True)
class CertificateFacts:
    program: str
    issuer: str
    loop_id: int
    holder_name: str
    holder_email: str
    holder_role: str  # mentor | mentee
    mentor_name: str
    mentee_name: str
    matched_at: datetime
    shared_at: datetime
    completed_at: datetime | None
    milestones: tuple[Milestone, ...] = field(default_factory=tuple)

    @property
    def credential_id(self) -> str:
        return credential_id(self.program, self.loop_id, self.holder_email)

    @property
    def title(self) -> str:
        return f"Mentoring journey — {self.program}"


def credential_id(program: str, loop_id: int, email: str) -> str:
    """A short id that names one person's journey in one loop of one program.

    Derived from the facts alone (no random part, no row id beyond the loop's),
    so it is the same on every run and on SQLite and PostgreSQL alike.
    """
    import base64

    key = f"mloop-certificate\n{program.strip()}\n{loop_id}\n{email.strip().lower()}".encode()
    digest = base64.b32encode(hashlib.sha256(key).digest()).decode()
    return f"ML-{digest[0:4]}-{digest[4:8]}-{digest[8:12]}"


def file_stem(loop_id: int, name: str) -> str:
    """'mloop-certificate-loop-3-ana-beltran': ASCII, lower case, safe on every file system."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return f"mloop-certificate-loop-{loop_id}-{slug or 'participant'}"


def issue_date(facts: CertificateFacts, tz: tzinfo) -> str:
    """Month and year, as LinkedIn's 'Issue date' asks: 'March 2026'."""
    local = facts.shared_at.astimezone(tz)
    return f"{MONTHS[local.month - 1]} {local.year}"


def day(moment: datetime | None, tz: tzinfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"


def linkedin_fields(facts: CertificateFacts, tz: tzinfo) -> dict[str, str]:
    """The fields of LinkedIn's 'Add license or certification' form, in its order."""
    return {
        "Name": facts.title,
        "Issuing organization": facts.issuer,
        "Issue date": issue_date(facts, tz),
        "Credential ID": facts.credential_id,
    }


# --- rendering ------------------------------------------------------------------


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _one_line(value: str) -> str:
    """A certificate line: the control characters XML cannot hold at all dropped,
    and any run of white space (line breaks, tabs) made one space."""
    return re.sub(r"\s+", " ", _NOT_XML.sub("", value))


def _text(value: str) -> str:
    """User text for SVG and HTML: one line, markup characters and both quotes escaped."""
    return html.escape(_one_line(value), quote=True)


# User text never starts a line here, so only the characters that act mid-line need escaping.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")


def _markdown(value: str) -> str:
    """User text for Markdown: every character Markdown or inline HTML could read as syntax is escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(value))


def _lines(facts: CertificateFacts, tz: tzinfo) -> dict:
    """What every format shows, as plain (unescaped) text."""
    ended = facts.completed_at or facts.shared_at
    return {
        "heading": "Certificate of mentoring",
        "holder": facts.holder_name,
        "statement": f"completed a mentoring journey as {'mentor' if facts.holder_role == 'mentor' else 'mentee'} "
                     f"in {facts.program}",
        "pair": f"Mentor: {facts.mentor_name} · Mentee: {facts.mentee_name}",
        "dates": f"Matched {day(facts.matched_at, tz)} · Completed {day(ended, tz)} · Shared {day(facts.shared_at, tz)}",
        "milestones": [(m.name, day(m.achieved_at, tz)) for m in facts.milestones],
        "linkedin": linkedin_fields(facts, tz),
    }


def render_markdown(facts: CertificateFacts, tz: tzinfo) -> str:
    lines = _lines(facts, tz)
    out = [
        f"# {lines['heading']}",
        "",
        f"**{_markdown(lines['holder'])}** {_markdown(lines['statement'])}.",
        "",
        f"- Program: {_markdown(facts.program)}",
        f"- Mentor: {_markdown(facts.mentor_name)}",
        f"- Mentee: {_markdown(facts.mentee_name)}",
        f"- Loop: {facts.loop_id}",
        f"- Matched: {day(facts.matched_at, tz)}",
        f"- Completed: {day(facts.completed_at or facts.shared_at, tz)}",
        f"- Shared: {day(facts.shared_at, tz)}",
        "",
        "## Milestones achieved",
        "",
    ]
    out += [f"- {when} — {_markdown(name)}" for name, when in lines["milestones"]]
    out += ["", "## Add to LinkedIn (Licenses & certifications)", ""]
    linkedin = dict(lines["linkedin"])
    credential = linkedin.pop("Credential ID")
    out += [f"- {label}: {_markdown(value)}" for label, value in linkedin.items()]
    out.append(f"- Credential ID: `{credential}`")
    return "\n".join(out) + "\n"


def render_html(facts: CertificateFacts, tz: tzinfo) -> str:
    lines = _lines(facts, tz)
    milestones = "\n".join(
        f"      <li><time>{_text(when)}</time> {_text(name)}</li>" for name, when in lines["milestones"]
    )
    linkedin = "\n".join(
        f"      <dt>{_text(label)}</dt><dd>{_text(value)}</dd>" for label, value in lines["linkedin"].items()
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{_text(lines['heading'])} — {_text(facts.holder_name)}</title>
  <style>
    body {{ font-family: Georgia, serif; max-width: 46rem; margin: 2rem auto; color: #1f2933; }}
    main {{ border: 6px double #2f5d8a; padding: 2rem 3rem; text-align: center; }}
    h1 {{ font-variant: small-caps; color: #2f5d8a; }}
    .holder {{ font-size: 2rem; font-weight: bold; margin: 1rem 0; }}
    ul, dl {{ text-align: left; }}
    dt {{ font-weight: bold; }}
  </style>
</head>
<body>
  <main>
    <h1>{_text(lines['heading'])}</h1>
    <p class="holder">{_text(lines['holder'])}</p>
    <p>{_text(lines['statement'])}</p>
    <p>{_text(lines['pair'])}</p>
    <p>{_text(lines['dates'])}</p>
    <h2>Milestones achieved</h2>
    <ul>
{milestones}
    </ul>
    <h2>Add to LinkedIn (Licenses &amp; certifications)</h2>
    <dl>
{linkedin}
    </dl>
  </main>
</body>
</html>
"""


def render_svg(facts: CertificateFacts, tz: tzinfo) -> str:
    lines = _lines(facts, tz)
    width, line_height = 1000, 28
    body: list[str] = []
    y = 300

    def text(content: str, *, size: int = 18, weight: str = "normal", x: int = width // 2, anchor: str = "middle") -> None:
        body.append(f'  <text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" '
                    f'text-anchor="{anchor}">{_text(content)}</text>')

    for name, when in lines["milestones"]:
        text(f"{when}  {name}", x=300, anchor="start")
        y += line_height
    y += 20
    text("Add to LinkedIn (Licenses & certifications)", weight="bold")
    y += line_height
    for label, value in lines["linkedin"].items():
        text(f"{label}: {value}", size=16)
        y += line_height
    height = y + 40
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Georgia, serif" fill="#1f2933">
  <title>{_text(lines['heading'])} — {_text(facts.holder_name)}</title>
  <rect x="10" y="10" width="{width - 20}" height="{height - 20}" fill="#fdfcf7" stroke="#2f5d8a" stroke-width="6"/>
  <text x="{width // 2}" y="80" font-size="36" font-weight="bold" text-anchor="middle" fill="#2f5d8a">{_text(lines['heading'])}</text>
  <text x="{width // 2}" y="135" font-size="32" font-weight="bold" text-anchor="middle">{_text(lines['holder'])}</text>
  <text x="{width // 2}" y="175" font-size="18" text-anchor="middle">{_text(lines['statement'])}</text>
  <text x="{width // 2}" y="205" font-size="16" text-anchor="middle">{_text(lines['pair'])}</text>
  <text x="{width // 2}" y="232" font-size="16" text-anchor="middle">{_text(lines['dates'])}</text>
  <text x="{width // 2}" y="270" font-size="20" font-weight="bold" text-anchor="middle">Milestones achieved</text>
{chr(10).join(body)}
</svg>
"""


RENDERERS = {"svg": render_svg, "html": render_html}
