"""Probes in the production log: requests llmops sent to test an endpoint are marked, and left out of what
post-production evaluation reads; a user's request that forced its deployment is not a probe."""

from __future__ import annotations

from llmops.serving.production_log import flatten, is_probe, make_entry, without_probes


def entry(url: str, forced: bool = False, probe: bool = False) -> dict:
    return make_entry("ep", "blue", False, 1.0, 200, {"url": url}, {"category": "App"}, url, forced, probe)


def test_a_probe_is_marked_and_a_plain_entry_carries_no_mark() -> None:
    assert entry("smoke", forced=True, probe=True)["probe"] is True
    assert "probe" not in entry("user") and "probe" not in entry("forced", forced=True)
    assert not is_probe({"probe": "yes"})  # only the server's own mark counts


def test_without_probes_keeps_users_requests_forced_ones_included_and_counts_the_probes() -> None:
    entries = [entry("smoke", forced=True, probe=True), entry("user-1"), entry("test-endpoint", probe=True),
               entry("forced-by-a-user", forced=True), entry("shadow", forced=True, probe=True), entry("user-2")]
    users, probes = without_probes(iter(entries))
    assert probes == 3
    assert [row["url"] for row in flatten(users)] == ["user-1", "forced-by-a-user", "user-2"]
