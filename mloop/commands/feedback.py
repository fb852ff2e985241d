"""mloop feedback: private ratings of meetings and of the loop."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import CsvFlag, CsvRawFlag, Fit, JsonFlag, local, program_session

app = command_group(
    "Give and list feedback (private to its author and coordinators).",
    'mloop feedback give 2 --rating 5 --comment "Clear next steps every time"',
    'mloop feedback list --loop 2',
)


@app.command("give", epilog=examples(
    'mloop feedback give 2 --meeting 7 --rating 5 --comment "Clear next steps"',
    'mloop feedback give 2 --fit good',
    'mloop feedback give 2 --rating 4',
))
def give(
    ctx: typer.Context,
    loop_id: Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id.")],
    rating: Annotated[Optional[int], typer.Option("--rating", help="1 (poor) to 5 (great).")] = None,
    meeting: Annotated[Optional[int], typer.Option("--meeting", help="Rate this held meeting instead of the loop.")] = None,
    comment: Annotated[Optional[str], typer.Option("--comment", help="What went well or not.")] = None,
    fit: Annotated[Optional[Fit], typer.Option(
        "--fit", case_sensitive=False, help="After your first held meeting: how the pairing fits you "
                      "(poor puts the loop at risk and up for re-pairing).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Rate a held meeting or the loop as a whole, and/or say how the pairing fits. Your partner never sees it."""
    from mloop.errors import UsageError
    from mloop.output import emit, pick_format
    from mloop.rules import sentiment
    from mloop.store.feedback import give_feedback
    from mloop.store.agreements import record_fit

    if rating is None and fit is None:
        raise UsageError("give --rating 1-5, --fit good|unsure|poor, or both")
    if rating is None and (meeting is not None or comment is not None):
        raise UsageError("--meeting and --comment go with a --rating")
    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        record: dict = {"id": None, "loop_id": loop_id, "meeting_id": None, "rating": None, "sentiment": None,
                        "comment": None, "created_at": app_ctx.now}
        if rating is not None:
            feedback = give_feedback(session, program, who, loop_id, rating=rating, meeting_id=meeting,
                                     comment=comment, now=app_ctx.now)
            record = {"id": feedback.id, "loop_id": feedback.loop_id, "meeting_id": feedback.meeting_id,
                      "rating": feedback.rating, "sentiment": sentiment(feedback.rating),
                      "comment": feedback.comment, "created_at": feedback.created_at}
        record["fit"] = record_fit(session, program, who, loop_id, fit=fit, now=app_ctx.now).fit if fit else None
    about = f"meeting {meeting}" if meeting else f"loop {loop_id}"
    said = [f"feedback on {about} recorded ({rating}/5)"] if rating is not None else []
    if fit:
        said.append(f"pairing fit '{record['fit']}' recorded" + (
            " — your coordinator will see the loop is at risk and may offer a new pairing" if record["fit"] == "poor" else ""))
    emit(pick_format(json_out), record, message="Thanks: " + "; ".join(said) + ".")


@app.command("list", epilog=examples(
    'mloop feedback list',
    'mloop feedback list --loop 2 --csv > feedback.csv',
))
def list_(
    ctx: typer.Context,
    loop_id: Annotated[Optional[int], typer.Option("--loop", help="Only this loop.")] = None,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
    csv_raw: CsvRawFlag = False,
) -> None:
    """List feedback: your own, or for a coordinator everyone's ratings (never the comments)."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.rules import sentiment
    from mloop.store.access import sees_content
    from mloop.store.feedback import list_feedback

    fmt = pick_format(json_out, csv_out, csv_raw)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        records = []
        for f, author, loop in list_feedback(session, program, who, loop_id=loop_id, now=app_ctx.now):
            record = {"id": f.id, "loop_id": f.loop_id, "meeting_id": f.meeting_id, "author": author.email,
                      "rating": f.rating, "sentiment": sentiment(f.rating), "created_at": f.created_at}
            if sees_content(who, loop, author_id=f.author_id):  # a comment is its author's alone
                record["comment"] = f.comment
            records.append(record)
    shown = [dict(r, when=local(app_ctx, r["created_at"])) for r in records]
    columns = [Column("id", "Id", "right"), Column("loop_id", "Loop", "right"), Column("meeting_id", "Meeting", "right"),
               Column("author", "Author"), Column("rating", "Rating", "right"), Column("sentiment", "Sentiment"),
               Column("when", "When")]
    if any("comment" in r for r in records):
        columns.append(Column("comment", "Comment"))
    emit(fmt, records, rows=Rows(columns, shown, empty="no feedback yet"), pager=app_ctx.pager)
