"""The usage card: shown for `/iam`, `/iam help` and anything the bot does not understand."""

from __future__ import annotations

from slack_sdk.models.blocks import HeaderBlock

from bot.slack.messages.common import Reply, context, escape, section


def usage_reply(commands: list[tuple[str, str]], problem: str | None = None) -> Reply:
    # Placeholders such as <user> would read as mrkdwn control sequences: escaped too.
    lines = "\n".join(f"`/iam {escape(usage)}`  {summary}" for usage, summary in commands)
    blocks = [HeaderBlock(text="/iam: AWS IAM from Slack")]
    if problem:  # it may quote what the user typed
        problem = escape(problem)
        blocks.append(section(f":warning: {problem}"))
    blocks += [
        section(lines),
        context("Destructive commands ask for confirmation and approval."),
        context(
            "Where the bot knows several AWS accounts, `--account <name or ID>` anywhere in a "
            "command acts in that one (`/iam accounts` lists them); without it, in the default."
        ),
        context(
            "Options are typed as shown (`—` for `--` is fine); any other word that starts with "
            "a dash is refused, so a typo never changes what a command does."
        ),
    ]
    return Reply(text=problem or "Usage: /iam &lt;command&gt;", blocks=blocks)
