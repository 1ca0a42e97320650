"""Every sentence about geocoding that an operator reads: check-config, the command,
`connector status`, the events it records. Kept here, and only here, so that a
translation (the Italian catalogs come later) replaces one module.

Placeholders are `str.format` fields; keep them when translating.
"""

from __future__ import annotations

from connector.i18n import N_

# connector check-config ------------------------------------------------------------------
CFG_URL = N_("expected the server's address, e.g. https://nominatim.example.com or "
           "http://127.0.0.1:8080 (no query string)")
CFG_URL_PLAIN_KEY = N_("this provider is sent a key: use https (plain http only to this "
                     "machine, 127.0.0.1)")
CFG_URL_FIXED = N_("the {provider} provider cannot be pointed at another server: remove url")
CFG_URL_REQUIRED = N_("the {provider} provider has no public server: set the address of yours")
CFG_KEY_REQUIRED = N_("the {provider} provider needs a key: name the environment variable that "
                    "holds it, e.g. GEOCODE_API_KEY")
CFG_RATE = N_("must be a number of requests per second above 0 and at most 100")
CFG_NOMINATIM_RATE = N_("the public Nominatim server allows at most 1 request per second; "
                      "set url to your own server to go faster")
CFG_TIMEOUT = N_("must be above 0 and at most 60 seconds")
CFG_ATTEMPTS = N_("must be between 1 and 10")
CFG_COUNTRY = N_("expected a two-letter country code, e.g. IT")
CFG_LAYOUT = N_("{name!r} is not geocoded; known: {known}")
CFG_POSITIVE = N_("must be above 0")
CFG_USER_AGENT = N_("must be one line of printable text naming this installation")
KEY_NOT_SET = ("geocode.api_key_env: the environment variable {env} is not set (it must hold "
               "the {provider} key)")

# Events (connector status, "last errors") ----------------------------------------------
PROVIDER_FAILING = "the geocoder {provider} keeps failing, trying again later: {error}"
PROVIDER_PAUSED = "the geocoder {provider} asked us to wait {seconds} s before asking again"

# connector geocode ------------------------------------------------------------------------
OFF = N_("geocoding is off: set geocode.enabled to true in the configuration (addresses are "
       "then sent to the provider; see docs/guide/geocoding.md)")
PASS_DONE = N_("asked {asked}: found {found}, imprecise {imprecise}, not found {not_found}, "
             "failed {failed}")
STILL_DUE = N_("{due} address(es) still waiting; the daemon (or another run) continues")
PAUSED_UNTIL = N_("the provider asked us to wait: next request not before {when}")
PROVIDER_FAILING_NOW = N_("the provider keeps failing, stopped this run: {error}")
NOTHING_FOUND = N_("no address in the cache matches {text!r}")
MANY_FOUND = N_("{count} addresses match {text!r}: name one by its number, e.g. "
              "`connector geocode --forget #{first}`")
FORGOTTEN = N_("#{id} forgotten: it will be asked again on the next pass")
SET_DONE = N_("#{id} set by hand to {lat}, {lon}: published from the next export of the files "
            "that hold it, and never replaced by the geocoder")
RETRY_DONE = N_("{count} address(es) failed, not found or imprecise will be asked again on the next pass")
BAD_COORDINATES = N_("latitude must be between -90 and 90, longitude between -180 and 180")
RUNNING = N_("geocoding with {provider} at up to {rate} request(s) a second; Ctrl-C stops")

STATUS_NAMES = {
    "pending": N_("waiting"), "found": N_("found"), "manual": N_("set by hand"), "not_found": N_("not found"),
    "imprecise": N_("too imprecise"), "failed": N_("failed"),
}
ENTRY_HEAD = "#{id}  {address}"
ENTRY_STATUS = N_("    status:    {status}")
ENTRY_POINT = "    position:  {lat}, {lon}   https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"
ENTRY_MATCH = N_("    match:     {quality} by {provider}: {label}")
ENTRY_DETAIL = N_("    kind:      {detail}")
ENTRY_ERROR = N_("    last error ({attempts} attempt(s)): {error}")
ENTRY_NEXT = N_("    next try:  {when}")
ENTRY_SEEN = N_("    first seen {when} in {seen_in}")
QUALITY_NAMES = {
    "house": N_("house number"), "street": N_("street"), "locality": N_("town or CAP"),
    "region": N_("province or region"), "unknown": N_("not stated"),
}

# connector status --------------------------------------------------------------------------
STATUS_HEAD = N_("geocoding ({provider}, up to {rate} request(s) a second):")
STATUS_OFF = N_("geocoding: off")
STATUS_COUNTS = N_("  cached {cached} (found {found}, by hand {manual}), pending {pending}, "
                   "failed {failed}, not found {not_found}, too imprecise {imprecise}")
STATUS_PAUSED = N_("  paused by the provider until {when}")
STATUS_LAST_FAILED = N_("  last failures (see `connector geocode --list failed`):")
