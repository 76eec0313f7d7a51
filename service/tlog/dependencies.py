"""What the log's routes take from the process: the signer loaded at startup."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.tlog.keys import LogSigner


def get_log_signer(request: Request) -> LogSigner:
    signer: LogSigner = request.app.state.log_signer
    return signer


LogSignerDep = Annotated[LogSigner, Depends(get_log_signer)]
