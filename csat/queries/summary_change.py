"""compare=previous: how the range differs from the period before it, and whether it matters.

A CSAT share moves by chance on small samples. Each difference comes with the two-sided
p-value of a two-proportion z-test of the CSAT share (4-5 stars among all ratings), this
period against the previous one, with the pooled proportion:
    z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)),  p = (s1 + s2) / (n1 + n2),
    p_value = erfc(|z| / sqrt 2);
`significant` is p_value < 0.05. With no rating in either period there is nothing to test
(null). When both shares are 0 % or both 100 % the shares cannot differ: p_value 1.
"""

import math

SIGNIFICANCE = 0.05


def p_value(satisfied_now, total_now, satisfied_before, total_before):
    """Two-sided p-value (4 decimals) of the two shares' difference; None without ratings."""
    if not total_now or not total_before:
        return None
    pooled = (satisfied_now + satisfied_before) / (total_now + total_before)
    spread = pooled * (1 - pooled) * (1 / total_now + 1 / total_before)
    if spread == 0:
        return 1.0
    z = (satisfied_now / total_now - satisfied_before / total_before) / math.sqrt(spread)
    return round(math.erfc(abs(z) / math.sqrt(2)), 4)


def headline_change(now, before):
    """The top-level `change` between two headline figures (the response's shape)."""
    satisfied_now, satisfied_before = _satisfied(now), _satisfied(before)
    value = p_value(satisfied_now, now["total"], satisfied_before, before["total"])
    return {
        "csat": _difference(now["csat"] is not None and 100 * satisfied_now / now["total"],
                            before["csat"] is not None and 100 * satisfied_before / before["total"], 1),
        "average": _difference(now["average"] is not None and _score_sum(now) / now["total"],
                               before["average"] is not None and _score_sum(before) / before["total"], 2),
        "total": now["total"] - before["total"],
        "p_value": value,
        "significant": None if value is None else value < SIGNIFICANCE,
    }


def annotate_entries(breakdowns, previous_breakdowns):
    """Give every entry csat_change and significant against the same key before (None when
    the previous period has none of that key, or when there is nothing to compare)."""
    for dimension, entries in breakdowns.items():
        before_by_key = {e["key"]: e for e in (previous_breakdowns or {}).get(dimension, [])}
        for entry in entries:
            before = before_by_key.get(entry["key"])
            if before is None:
                entry["csat_change"], entry["significant"] = None, None
                continue
            entry["csat_change"] = round(100 * entry["satisfied"] / entry["count"]
                                         - 100 * before["satisfied"] / before["count"], 1)
            value = p_value(entry["satisfied"], entry["count"], before["satisfied"], before["count"])
            entry["significant"] = value < SIGNIFICANCE


def _satisfied(figures):
    return figures["distribution"]["4"] + figures["distribution"]["5"]


def _score_sum(figures):
    return sum(int(score) * count for score, count in figures["distribution"].items())


def _difference(now, before, digits):
    if now is False or before is False:
        return None
    return round(now - before, digits)
