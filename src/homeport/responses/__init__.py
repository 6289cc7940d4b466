"""The Responses API's behaviour: context assembly, the turn loop, the event emitter, the service."""

from homeport.responses.events import wire
from homeport.responses.params import CreateResponseParams
from homeport.responses.service import PreparedResponse, ResponseService

__all__ = ["CreateResponseParams", "PreparedResponse", "ResponseService", "wire"]
