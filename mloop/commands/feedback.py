"""mloop feedback: private ratings of meetings and of the loop."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commands._common import CsvFlag, JsonFlag, local, program_session

app = typer.Typer(rich_markup_mode=None, help="Give and list feedback (private to its author and coordinators).", no_args_is_help=True)


@app.command("give")
def give(
    ctx: typer.Context,
    loop_id: Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id.")],
    rating: Annotated[int, typer.Option("--rating", help="1 (poor) to 5 (great).")],
    meeting: Annotated[Optional[int], typer.Option("--meeting", help="Rate this held meeting instead of the loop.")] = None,
    comment: Annotated[Optional[str], typer.Option("--comment", help="What went well or not.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Rate a held meeting, or the loop as a whole. Your partner never sees it."""
    from mloop.output import emit, pick_format
    from mloop.rules import sentiment
    from mloop.store.activity import give_feedback

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        feedback = give_feedback(session, program, who, loop_id, rating=rating, meeting_id=meeting,
                                 comment=comment, now=app_ctx.now)
        record = {"id": feedback.id, "loop_id": feedback.loop_id, "meeting_id": feedback.meeting_id,
                  "rating": feedback.rating, "sentiment": sentiment(feedback.rating),
                  "comment": feedback.comment, "created_at": feedback.created_at}
    about = f"meeting {meeting}" if meeting else f"loop {loop_id}"
    emit(pick_format(json_out), record, message=f"Thanks: feedback on {about} recorded ({rating}/5).")


@app.command("list")
def list_(
    ctx: typer.Context,
    loop_id: Annotated[Optional[int], typer.Option("--loop", help="Only this loop.")] = None,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
) -> None:
    """List feedback: your own, or all of it for a coordinator."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.rules import sentiment
    from mloop.store.activity import list_feedback

    fmt = pick_format(json_out, csv_out)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        records = [
            {"id": f.id, "loop_id": f.loop_id, "meeting_id": f.meeting_id, "author": author.email,
             "rating": f.rating, "sentiment": sentiment(f.rating), "comment": f.comment, "created_at": f.created_at}
            for f, author in list_feedback(session, program, who, loop_id=loop_id, now=app_ctx.now)
        ]
    shown = [dict(r, when=local(app_ctx, r["created_at"])) for r in records]
    columns = [Column("id", "Id", "right"), Column("loop_id", "Loop", "right"), Column("meeting_id", "Meeting", "right"),
               Column("author", "Author"), Column("rating", "Rating", "right"), Column("sentiment", "Sentiment"),
               Column("when", "When"), Column("comment", "Comment")]
    emit(fmt, records, rows=Rows(columns, shown, empty="no feedback yet"))
