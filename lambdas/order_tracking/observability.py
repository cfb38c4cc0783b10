"""Powertools Logger shared by every handler: structured JSON with correlation ids."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger()
