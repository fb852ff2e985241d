"""mloop status and mloop share: a participant's own view of their loops."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.certificate import FORMATS
from mloop.commandline import examples
from mloop.commands._common import JsonFlag, choice, local, program_session


app = typer.Typer(rich_markup_mode=None)

CertificateFormat = choice(FORMATS)


@app.command("status", epilog=examples(
    'mloop status --as ana.beltran@example.org',
    'mloop status --as ana.beltran@example.org --loop 2 --history',
))
def status(
    ctx: typer.Context,
    loop_id: Annotated[Optional[int], typer.Option("--loop", help="Only this loop.")] = None,
    history: Annotated[bool, typer.Option("--history", help="Show when each stage was reached, and ended loops.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Where each of your loops stands and what to do next."""
    from mloop.errors import Forbidden
    from mloop.output import emit, pick_format
    from mloop.store.status import participant_status

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        if who.person is None:
            raise Forbidden("status shows one person's loops: say who you are with --as EMAIL or MLOOP_USER "
                            "(coordinators: see 'mloop coordinator report')")
        document = participant_status(session, program, who.person, app_ctx.now, loop_id=loop_id, history=history)
    emit(pick_format(json_out), document, human=lambda out: _draw_status(out, document, app_ctx), pager=app_ctx.pager)


def _draw_status(out, doc: dict, app_ctx) -> None:
    from rich.markup import escape

    from mloop.rules import ALUMNI, LABELS, STAGE_LABELS, STAGES

    p = doc["participant"]
    out.print(f"[bold]{escape(p['name'])}[/bold] <{escape(p['email'])}> — {', '.join(p['roles'])}")
    if p.get("stage"):
        warn = " [red](stalled: ask your coordinator)[/red]" if p.get("stalled") else ""
        if p["stage"] == ALUMNI:
            out.print(f"No active loop: {LABELS[ALUMNI]} since {local(app_ctx, p['stage_since'])}")
        else:
            out.print(f"Not matched yet: {LABELS[p['stage']]} for {p['days_in_stage']} days{warn}")
        for step in p.get("next_steps", []):
            out.print(f"  → {escape(step)}")
    _draw_milestones(out, p.get("milestones", []), app_ctx, "")
    if not doc["loops"] and not p.get("stage"):
        out.print("[dim]No active loops.[/dim]")
    for loop in doc["loops"]:
        partner = loop["partner"]
        out.print()
        out.print(f"[bold]Loop {loop['loop_id']}[/bold] — you are the {loop['role']} of "
                  f"{escape(partner['name'])} <{escape(partner['email'])}>")
        reached = STAGES.index(loop["stage"])
        path = " › ".join(
            f"[bold green]{STAGE_LABELS[s]}[/bold green]" if i == reached else (STAGE_LABELS[s] if i < reached else f"[dim]{STAGE_LABELS[s]}[/dim]")
            for i, s in enumerate(STAGES[1:], start=1)
        )
        out.print(f"  {path}")
        stalled = " [red]— stalled[/red]" if loop["stalled"] else ""
        out.print(f"  {STAGE_LABELS[loop['stage']]} since {local(app_ctx, loop['stage_since'])} ({loop['days_in_stage']} days){stalled}")
        meeting = loop.get("next_meeting")
        if meeting:
            out.print(f"  Next meeting: {local(app_ctx, meeting['start'])} (meeting {meeting['id']})")
        agreement = loop.get("agreement")
        if agreement:
            ends = f", until {local(app_ctx, agreement['ends_at'])}" if agreement["ends_at"] else ""
            out.print(f"  Agreement: the {agreement['notes_by']} takes notes, the {agreement['agenda_by']} sets agendas, "
                      f"every {agreement['cadence']}{ends}", highlight=False)
        for step in loop["next_steps"]:
            out.print(f"  → {escape(step)}")
        health = loop.get("health")
        if health:
            raise_by = [part["raise_by"] for part in sorted(health["parts"].values(), key=lambda p: p["value"])
                        if part["raise_by"]][:2]
            out.print(f"  Loop health {health['score']}/100" + (f"; to raise it: {escape('; '.join(raise_by))}" if raise_by else ""),
                      highlight=False)
        _draw_milestones(out, loop.get("milestones", []), app_ctx, f" --loop {loop['loop_id']}")
        for h in loop.get("history", []):
            out.print(f"    {STAGE_LABELS[h['stage']]:<14} {local(app_ctx, h['reached_at'])}")
    for ended in doc.get("ended_loops", []):
        out.print()
        out.print(f"[dim]Loop {ended['loop_id']} ({ended['status']} {local(app_ctx, ended['ended_at'])}) with "
                  f"{escape(ended['partner']['name'])}: reached {STAGE_LABELS[ended['final_stage']]}[/dim]")


def _draw_milestones(out, milestones: list[dict], app_ctx, loop_option: str) -> None:
    """The person's custom milestones: overdue ones in red, with the command that marks them done."""
    from shlex import quote

    from rich.markup import escape

    for m in milestones:
        name = escape(m["name"])
        if m["state"] == "done":
            out.print(f"  [dim]✓ Milestone {name}: done {local(app_ctx, m['done_at'])}[/dim]")
            continue
        mark = f"mark it with: mloop milestone done {escape(quote(m['name']))}{loop_option}"
        if m["state"] == "overdue":
            out.print(f"  [red]! Milestone {name}: overdue since {local(app_ctx, m['due'])}[/red] — {mark}")
        else:
            out.print(f"  • Milestone {name}: due {local(app_ctx, m['due'])} — {mark}")


@app.command("share", epilog=examples(
    'mloop share 2 --as ana.beltran@example.org',
    'mloop share 2 --as ana.beltran@example.org --format html --out certificates',
))
def share(
    ctx: typer.Context,
    loop_id: Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id.")],
    out_dir: Annotated[str, typer.Option("--out", metavar="DIR", help="Folder to write the certificate into (made if missing).")] = ".",
    file_format: Annotated[CertificateFormat, typer.Option("--format", case_sensitive=False, help="The certificate's format (a Markdown copy is always written too).")] = "svg",
    issuer: Annotated[Optional[str], typer.Option("--issuer", help="Issuing organization on the certificate (default: the program's name).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Share your journey for a loop (the certificate step).

    Open from Levelling Up. The certificate (SVG or HTML, plus Markdown) names both members, the
    program, the loop's dates and the milestones achieved, and carries the
    fields LinkedIn's "Licenses & certifications" form asks for. Sharing
    again writes the certificate again and records nothing new.
    """
    import os

    from mloop.certificate import RENDERERS, credential_id, file_stem, issue_date, render_markdown
    from mloop.commands._files import staged_files
    from mloop.output import emit, pick_format
    from mloop.store.journey import share_journey

    chosen = file_format
    fmt = pick_format(json_out)
    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        shared = share_journey(session, program, who, loop_id, now=app_ctx.now, issuer=issuer)
        facts = shared.certificate
        stem = file_stem(facts.loop_id, facts.holder_name)
        # Written inside the transaction, both or neither: a file that cannot be
        # written leaves no share recorded and no file (or folder) behind.
        with staged_files(out_dir) as staged:  # once the share is allowed: a refused one makes no folder
            files = [os.path.normpath(staged.write(f"{stem}.{chosen}", RENDERERS[chosen](facts, app_ctx.tz))),
                     os.path.normpath(staged.write(f"{stem}.md", render_markdown(facts, app_ctx.tz)))]
        record = {
            "id": shared.share.id, "loop_id": facts.loop_id, "author": facts.holder_email,
            "created_at": shared.share.created_at, "shared_at": shared.share.created_at,
            "newly_shared": shared.newly_shared, "files": files,
            "name": facts.title, "issuer": facts.issuer, "issue_date": issue_date(facts, app_ctx.tz),
            "credential_id": credential_id(facts.program, facts.loop_id, facts.holder_email),
        }
    if shared.newly_shared:
        message = f"You shared your journey for loop {loop_id}. Congratulations!"
    else:
        message = (f"You already shared your journey for loop {loop_id} on {local(app_ctx, record['shared_at'])[:10]}: "
                   "certificate written again, no second share recorded.")

    def human(out) -> None:
        out.print(message, markup=False, highlight=False, soft_wrap=True)
        out.print(f"Certificate: {', '.join(files)} (credential ID {record['credential_id']})",
                  markup=False, highlight=False, soft_wrap=True)

    emit(fmt, record, human=human, pager=app_ctx.pager)
