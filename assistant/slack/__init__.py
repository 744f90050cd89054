"""The Slack bot: Block Kit rendering (`blocks`) and the Bolt listeners (`bot`)."""

from assistant.slack.bot import make_slack_app, run_socket_mode, slack_configured

__all__ = ["make_slack_app", "run_socket_mode", "slack_configured"]
