# Schemathesis hooks for test/http/schemathesis.test.ts (loaded through SCHEMATHESIS_HOOKS).
# GET /tables/{table}/stream long-polls up to wait_ms (documented maximum 60 s) when there is
# nothing to read, which fuzzing hits all the time; a valid wait_ms is shrunk to at most
# MAX_WAIT_MS before the request goes out, so every run stays short. Invalid values (negative,
# too large, not a number) are sent as generated: rejecting them is part of what is tested.
import schemathesis

MAX_WAIT_MS = 50


@schemathesis.hook
def before_call(context, case, kwargs):
    query = case.query
    if not query or "wait_ms" not in query:
        return
    value = query["wait_ms"]
    try:
        wait_ms = int(value)
    except (TypeError, ValueError):
        return
    if str(wait_ms) == str(value).strip() and MAX_WAIT_MS < wait_ms <= 60000:
        query["wait_ms"] = wait_ms % (MAX_WAIT_MS + 1)
