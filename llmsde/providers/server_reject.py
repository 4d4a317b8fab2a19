"""``llmsde serve --reject-params``: answer request fields the way OpenAI's reasoning models refuse them.

Those models reject ``max_tokens`` (they want ``max_completion_tokens``) and any ``temperature`` or ``top_p`` but
the default, with a 400 whose body names the parameter. The emulation lets the preflight check and the
``[provider]`` settings that avoid such errors be tested on loopback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmsde.errors import ConfigError

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = ["REJECTABLE_PARAMS", "parse_rejected_params", "rejected_response"]


REJECTABLE_PARAMS: tuple[str, ...] = ("max_tokens", "temperature", "top_p", "seed", "model")
"""Fields ``--reject-params`` can refuse. ``max_tokens`` and ``seed`` are refused whenever present;
``temperature`` and ``top_p`` whenever present with a value other than the default 1, like OpenAI's o-series;
``model`` with a 404 unless it names the server's ``--model-id`` (by default any model name is accepted)."""


def parse_rejected_params(text: str) -> tuple[str, ...]:
    """``"max_tokens,temperature"`` -> a tuple, validated against :data:`REJECTABLE_PARAMS`."""
    names = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    unknown = sorted(set(names) - set(REJECTABLE_PARAMS))
    if unknown:
        raise ConfigError(
            f"cannot reject parameter(s): {', '.join(unknown)}", f"choose from {','.join(REJECTABLE_PARAMS)}"
        )
    return names


def rejected_response(body: dict[str, Any], reject: tuple[str, ...], model_id: str) -> Response | None:
    """The 400 an OpenAI reasoning model gives for a field it does not support (404 for an unknown model), or
    None."""
    from starlette.responses import JSONResponse

    for name in reject:
        if name not in body:
            continue
        if name == "model":
            if body["model"] == model_id:
                continue
            message = f"The model '{body['model']}' does not exist or you do not have access to it."
            error = {"message": message, "type": "invalid_request_error", "param": None, "code": "model_not_found"}
            return JSONResponse({"error": error}, status_code=404)
        if name in ("temperature", "top_p"):
            if body[name] == 1:
                continue
            message = (
                f"Unsupported value: '{name}' does not support {body[name]} with this model. "
                "Only the default (1) value is supported."
            )
            code = "unsupported_value"
        elif name == "max_tokens":
            message = (
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead."
            )
            code = "unsupported_parameter"
        else:
            message = f"Unsupported parameter: '{name}' is not supported with this model."
            code = "unsupported_parameter"
        error = {"message": message, "type": "invalid_request_error", "param": name, "code": code}
        return JSONResponse({"error": error}, status_code=400)
    return None
