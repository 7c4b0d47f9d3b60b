"""Logging: write one record to a Python logger (reference §4.8)."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field

from factorflow.events.handlers.base import ActionContext, ActionOptions, EventHandler, Template

_LEVELS = {
    "ERROR": logging.ERROR,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
}


class LoggingOptions(ActionOptions):
    name: str = Field(
        title="Logger name",
        default="pi-eventlogger",
        min_length=1,
        max_length=200,
        description="The logger name",
    )
    level: Literal["ERROR", "WARNING", "INFO", "DEBUG"] = Field(
        title="Log level", default="INFO", description="The log level"
    )
    message: Template = Field(
        title="Message",
        default="event={action} triggered",
        max_length=4000,
        description="The message; tags are substituted",
        json_schema_extra={"ui_type": "text"},
    )


class LoggingHandler(EventHandler):
    identifier = "Logging"
    description = "Write a log record."
    actions = {"logging": LoggingOptions}

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, LoggingOptions)
        logging.getLogger(options.name).log(_LEVELS[options.level], ctx.render(options.message))
