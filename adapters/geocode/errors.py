"""geopy's exceptions -> ours, in one place, with every secret scrubbed from the text.

What the caller does with each (connector/errors.py):
- RateLimited: HTTP 429 (Retry-After kept), a quota used up (a long pause);
- TransientError: timeouts, 5xx, connection refused, an answer that is not JSON or not
  the shape the provider documents: retried, then asked again later;
- PermanentError: the provider refuses this query (HTTP 400): this address only;
- AuthError: the key is refused (401, 403, Google's REQUEST_DENIED): stop and tell;
- ConfigError: the provider cannot be built as configured.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator

from geopy import exc as gexc

from connector.errors import (
    AuthError,
    ConfigError,
    PermanentError,
    RateLimited,
    TransientError,
)
from connector.logsetup import mask_secrets

QUOTA_PAUSE = 3600.0  # "quota exceeded" without a Retry-After: ask again in an hour

# What the operator reads (status, events, the command's output): the engine's texts are
# in connector/geocode/texts.py; these are the adapter's, kept together for translation.
SAYS = {
    "rate": "too many requests",
    "quota": "quota used up",
    "auth": ("refused us: a wrong or missing key, or the provider blocked this installation "
             "(the public Nominatim does so when its usage policy is broken)"),
    "timeout": "no answer in time",
    "unreachable": "unreachable",
    "not_json": "the answer is not JSON",
    "query": "the query was refused",
    "error": "error",
    "shape": "an answer of unexpected shape",
}
_KEY_PARAM = re.compile(r"((?:api_?key|key|apikey|access_token|token)=)[^&\s'\"]+", re.I)


def scrub(text: str, secrets: Iterable[str]) -> str:
    return _KEY_PARAM.sub(r"\1***", mask_secrets(text, secrets))[:500]


@contextlib.contextmanager
def translating(provider: str, secrets: Iterable[str] = ()) -> Iterator[None]:
    keep = tuple(secrets)

    def say(what: str, exc: BaseException) -> str:
        detail = scrub(str(exc), keep)
        return f"geocoder {provider}: {what}" + (f" ({detail})" if detail else "")

    try:
        yield
    except gexc.GeocoderRateLimited as exc:
        raise RateLimited(say(SAYS["rate"], exc), retry_after=exc.retry_after,
                          provider=provider) from None
    except gexc.GeocoderQuotaExceeded as exc:
        raise RateLimited(say(SAYS["quota"], exc), retry_after=QUOTA_PAUSE,
                          provider=provider) from None
    except (gexc.GeocoderAuthenticationFailure, gexc.GeocoderInsufficientPrivileges) as exc:
        raise AuthError(say(SAYS["auth"], exc), provider=provider) from None
    except gexc.GeocoderTimedOut as exc:
        raise TransientError(say(SAYS["timeout"], exc), provider=provider) from None
    except gexc.GeocoderUnavailable as exc:
        raise TransientError(say(SAYS["unreachable"], exc), provider=provider) from None
    except gexc.GeocoderParseError as exc:
        raise TransientError(say(SAYS["not_json"], exc), provider=provider) from None
    except gexc.GeocoderQueryError as exc:
        raise PermanentError(say(SAYS["query"], exc), provider=provider) from None
    except (gexc.ConfigurationError, gexc.GeocoderNotFound) as exc:
        raise ConfigError([f"geocode.provider: {scrub(str(exc), keep)}"]) from None
    except gexc.GeopyError as exc:
        raise TransientError(say(SAYS["error"], exc), provider=provider) from None
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        # geopy reads the answer without checking its shape: a proxy's page, a changed API
        raise TransientError(say(SAYS["shape"], exc),
                             provider=provider) from None
