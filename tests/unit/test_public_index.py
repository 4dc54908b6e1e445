from __future__ import annotations

import json
import mmap
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.names import normalize
from poetry_ado_plugin.names import similar_names_pattern
from poetry_ado_plugin.names import ultranormalize
from poetry_ado_plugin.public_index import CachedMeta
from poetry_ado_plugin.public_index import ListStatus
from poetry_ado_plugin.public_index import Presence
from poetry_ado_plugin.public_index import ProjectList
from poetry_ado_plugin.public_index import ProjectListCache
from poetry_ado_plugin.public_index import PublicIndex
from poetry_ado_plugin.public_index import default_cache_dir
from poetry_ado_plugin.public_index import fetch_project_list
from poetry_ado_plugin.public_index import format_age
from poetry_ado_plugin.public_index import index_root
from poetry_ado_plugin.public_index import parse_project_list
from tests.public_index_server import PublicIndexServer
from tests.public_index_server import closed_port_url


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator

    from tests.public_index_plugin import PublicIndexFactory


KNOWN = ("requests", "Foo.Bar", "kpv-existing", "kpv_other", "f00bar")
DAY = 86400.0


pytestmark = pytest.mark.public_index(KNOWN)


@pytest.fixture
def index(public_index: PublicIndexServer) -> Iterator[PublicIndex]:
    with PublicIndex(public_index.url) as public:
        yield public


# -- single lookups ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["requests", "Foo.Bar", "foo__bar", "FOO-bar", "KPV_Other"])
def test_existing_names(index: PublicIndex, public_index: PublicIndexServer, name: str) -> None:
    lookup = index.lookup(name)
    assert lookup.presence is Presence.EXISTS
    # Always the normal name: no 301 round trip.
    assert public_index.count(status=301) == 0


def test_missing_name(index: PublicIndex) -> None:
    lookup = index.lookup("kpv-tools")
    assert (lookup.name, lookup.presence, lookup.reason) == ("kpv-tools", Presence.MISSING, None)


def test_redirects_are_followed(index: PublicIndex, public_index: PublicIndexServer) -> None:
    public_index.moved["old-name"] = "/simple/foo-bar/"
    public_index.moved["gone"] = "/simple/nothing-here/"
    assert index.lookup("old_name").presence is Presence.EXISTS
    assert index.lookup("gone").presence is Presence.MISSING


def test_other_status_is_unknown_never_free(
    index: PublicIndex, public_index: PublicIndexServer
) -> None:
    public_index.failing.add("flaky")
    lookup = index.lookup("flaky")
    assert lookup.presence is Presence.UNKNOWN
    assert lookup.reason == f"127.0.0.1:{public_index.port} answered HTTP 503 Service Unavailable"
    # retried before giving up
    assert public_index.count("/simple/flaky/") == 3


def test_server_error_is_unknown(index: PublicIndex, public_index: PublicIndexServer) -> None:
    public_index.fail_all = True
    lookup = index.lookup("requests")
    assert lookup.presence is Presence.UNKNOWN
    assert "HTTP 500" in (lookup.reason or "")


def test_unreachable_index_is_unknown() -> None:
    url = closed_port_url()
    with PublicIndex(url) as public:
        lookup = public.lookup("requests")
    assert lookup.presence is Presence.UNKNOWN
    assert lookup.reason is not None
    assert lookup.reason.startswith("could not connect to 127.0.0.1:")


def test_stopped_server_refuses_pooled_connections(public_index: PublicIndexServer) -> None:
    with PublicIndex(public_index.url) as public:
        assert public.lookup("requests").presence is Presence.EXISTS
        public_index.stop()
        assert public.lookup("foo-bar").presence is Presence.UNKNOWN
        # a name asked before keeps its answer for the life of the index
        assert public.lookup("requests").presence is Presence.EXISTS


def test_a_lookup_with_files_reads_the_page_and_serves_later_lookups(
    public_index: PublicIndexServer,
) -> None:
    wheel = public_index.add_package("requests", "2.32.3")
    with PublicIndex(public_index.url) as public:
        plain = public.lookup("requests")
        assert plain.files is None
        detailed = public.lookup("requests", with_files=True)
        assert detailed.sha256_of_version("2.32.3") == {wheel.sha256}
        assert detailed.sha256_of_version("2.32.4") == frozenset()
        assert public.lookup("requests") is detailed
    assert public_index.count("/simple/requests/") == 2


def test_a_redirect_away_from_the_project_pages_is_unknown(public_index: PublicIndexServer) -> None:
    public_index.moved["sso"] = "/login/_signin?realm=x"
    with PublicIndex(public_index.url) as public:
        lookup = public.lookup("sso")
    assert lookup.presence is Presence.UNKNOWN
    assert (
        lookup.reason
        == f"127.0.0.1:{public_index.port} redirected to 127.0.0.1:{public_index.port}"
    )


def test_timeout_is_unknown(public_index: PublicIndexServer) -> None:
    public_index.latency = 0.5
    with PublicIndex(public_index.url, timeout=(1.0, 0.1)) as public:
        lookup = public.lookup("requests")
    assert lookup.presence is Presence.UNKNOWN
    assert lookup.reason == f"127.0.0.1:{public_index.port} did not answer in time"


# -- many lookups -----------------------------------------------------------------------------


def test_lookup_all_is_keyed_by_normal_name_and_deduplicated(
    index: PublicIndex, public_index: PublicIndexServer
) -> None:
    found = index.lookup_all(["Foo.Bar", "foo_bar", "requests", "kpv-new"])
    assert {name: lookup.presence for name, lookup in found.items()} == {
        "foo-bar": Presence.EXISTS,
        "requests": Presence.EXISTS,
        "kpv-new": Presence.MISSING,
    }
    assert public_index.count() == 3


def test_lookup_all_runs_concurrently(public_index: PublicIndexServer) -> None:
    public_index.latency = 0.05
    names = [f"name-{number}" for number in range(40)]
    with PublicIndex(public_index.url) as public:
        started = time.perf_counter()
        found = public.lookup_all(names)
        elapsed = time.perf_counter() - started
    assert len(found) == 40
    assert all(lookup.presence is Presence.MISSING for lookup in found.values())
    # one after the other it takes 2 s
    assert elapsed < 1.0


# -- index URL --------------------------------------------------------------------------------


def test_index_root() -> None:
    assert index_root("https://pypi.org/simple") == "https://pypi.org/simple/"
    assert index_root(" https://pypi.org/simple/ ") == "https://pypi.org/simple/"


@pytest.mark.parametrize("url", ["ftp://pypi.org/simple/", "pypi.org/simple", "https://"])
def test_index_root_rejects_non_http(url: str) -> None:
    with pytest.raises(UsageError, match="is not an http"):
        index_root(url)


def test_credentials_in_the_index_url_are_not_shown() -> None:
    with PublicIndex("https://user:s3cret@mirror.example/simple/") as public:
        assert public.display_url == "https://***@mirror.example/simple/"
    with pytest.raises(UsageError) as raised:
        index_root("ftp://user:s3cret@mirror.example/")
    assert "s3cret" not in str(raised.value)


# -- the project list -------------------------------------------------------------------------


def test_parse_html_project_list() -> None:
    body = (
        b'<html><body><a href="/simple/foo-bar/">Foo.Bar</a>\n'
        b'<a href="/simple/a-b/">\n  A_B\n</a><A HREF="/simple/x/">x</A>'
        b'<a href="/simple/bad/">not valid!</a></body></html>'
    )
    assert parse_project_list(body, "text/html") == ["foo-bar", "a-b", "x"]


def test_parse_json_project_list() -> None:
    document = {"meta": {"api-version": "1.1"}, "projects": [{"name": "Foo.Bar"}, {"name": "x"}]}
    body = json.dumps(document).encode()
    assert parse_project_list(body, "application/vnd.pypi.simple.v1+json") == ["foo-bar", "x"]
    # a JSON body without the header is still recognised
    assert parse_project_list(body, "text/plain") == ["foo-bar", "x"]


def test_project_list_queries() -> None:
    projects = ProjectList.from_names(["foo-bar", "f0obar", "kpv-a", "kpv-b", "kpvc", "x"])
    assert projects.count == 6
    assert "Foo_Bar" in projects
    assert "foo" not in projects
    assert projects.starting_with("kpv-") == ["kpv-a", "kpv-b"]
    assert projects.starting_with("kpv") == ["kpv-a", "kpv-b", "kpvc"]
    assert projects.similar_to("foo-bar") == ["f0obar"]
    assert projects.similar_to("FOOBAR") == ["f0obar", "foo-bar"]
    assert ProjectList.from_names([]).starting_with("a") == []


normal_names = st.from_regex(r"\A[a-z0-9ilo]{1,4}(-[a-z0-9ilo]{1,3})?\Z")


@given(st.lists(normal_names, max_size=60), normal_names)
def test_project_list_queries_agree_with_brute_force(names: list[str], name: str) -> None:
    projects = ProjectList.from_names(names)
    assert projects.count == len(set(names))
    assert (name in projects) == (name in names)
    expected_similar = sorted(
        {n for n in names if ultranormalize(n) == ultranormalize(name) and n != name}
    )
    assert projects.similar_to(name) == expected_similar
    prefix = name[:2]
    assert projects.starting_with(prefix) == sorted({n for n in names if n.startswith(prefix)})


@given(st.lists(st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?\Z"), max_size=20))
def test_html_names_are_normalised_like_normalize(names: list[str]) -> None:
    body = "".join(f'<a href="/simple/{n}/">{n}</a>\n' for n in names).encode()
    assert parse_project_list(body, "text/html") == [normalize(n) for n in names]


def test_format_age() -> None:
    assert format_age(0) == "just now"
    assert format_age(1) == "1 second ago"
    assert format_age(150) == "2 minutes ago"
    assert format_age(3 * 3600 + 5) == "3 hours ago"
    assert format_age(2 * DAY) == "2 days ago"


def test_default_cache_dir_follows_poetry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POETRY_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_download_then_cache_then_revalidate(
    index: PublicIndex, public_index: PublicIndexServer, tmp_path: Path
) -> None:
    cache = ProjectListCache(tmp_path, index.url)
    clock = Clock()

    first = fetch_project_list(index, cache, now=clock)
    assert first.status is ListStatus.DOWNLOADED
    assert first.projects is not None
    assert first.projects.count == 5
    assert "kpv-other" in first.projects
    [request] = public_index.root_requests()
    assert request.status == 200
    assert "if-none-match" not in request.headers
    assert cache.names_path.read_text().splitlines()[1:3] == ["f00bar", "foo-bar"]

    # Fresh: no request at all.
    clock.now += 3 * 3600
    second = fetch_project_list(index, cache, now=clock)
    assert second.status is ListStatus.CACHED
    assert second.message == (
        f"Using the project list of 127.0.0.1:{public_index.port} cached 3 hours ago (5 projects)."
    )
    assert len(public_index.root_requests()) == 1

    # A day later: a conditional request, answered 304.
    clock.now += DAY
    third = fetch_project_list(index, cache, now=clock)
    assert third.status is ListStatus.REVALIDATED
    assert third.projects is not None
    assert third.projects.count == 5
    request = public_index.root_requests()[-1]
    assert request.headers["if-none-match"] == public_index.etag
    assert request.status == 304
    # The 304 restarts the clock.
    assert fetch_project_list(index, cache, now=clock).status is ListStatus.CACHED
    assert len(public_index.root_requests()) == 2

    # The list changed: the revalidation downloads it again.
    public_index.add("kpv-brand-new")
    clock.now += DAY
    fourth = fetch_project_list(index, cache, now=clock)
    assert fourth.status is ListStatus.DOWNLOADED
    assert fourth.projects is not None
    assert "kpv-brand-new" in fourth.projects
    assert public_index.root_requests()[-1].status == 200

    # Offline: the old cache is used, and its age said.
    public_index.stop()
    clock.now += 2 * DAY
    offline = fetch_project_list(index, cache, now=clock)
    assert offline.status is ListStatus.STALE
    assert offline.projects is not None
    assert "kpv-brand-new" in offline.projects
    assert offline.message.startswith(
        f"Could not refresh the project list of 127.0.0.1:{public_index.port}"
    )
    assert offline.message.endswith("using the one cached 2 days ago (6 projects).")


def test_offline_without_cache_is_unavailable(tmp_path: Path) -> None:
    with PublicIndex(closed_port_url()) as public:
        result = fetch_project_list(public, ProjectListCache(tmp_path, public.url))
    assert result.status is ListStatus.UNAVAILABLE
    assert result.projects is None
    assert result.message.startswith("Could not download the project list of 127.0.0.1:")


def test_server_error_without_cache_is_unavailable(
    index: PublicIndex, public_index: PublicIndexServer, tmp_path: Path
) -> None:
    public_index.fail_all = True
    result = fetch_project_list(index, ProjectListCache(tmp_path, index.url))
    assert result.status is ListStatus.UNAVAILABLE
    assert result.reason == f"127.0.0.1:{public_index.port} answered HTTP 500 Internal Server Error"


def test_no_cache_reads_and_writes_nothing(
    index: PublicIndex, public_index: PublicIndexServer, tmp_path: Path
) -> None:
    for _ in range(2):
        result = fetch_project_list(index, None)
        assert result.status is ListStatus.DOWNLOADED
    assert len(public_index.root_requests()) == 2
    assert list(tmp_path.iterdir()) == []


def test_json_project_list(tmp_path: Path, public_index_factory: PublicIndexFactory) -> None:
    server = public_index_factory(KNOWN, json=True)
    with PublicIndex(server.url) as public:
        result = fetch_project_list(public, ProjectListCache(tmp_path, public.url))
    assert result.projects is not None
    assert result.projects.count == 5
    assert "application/vnd.pypi.simple.v1+json" in server.root_requests()[0].headers["accept"]


def test_progress_reports_growing_byte_counts(
    tmp_path: Path, public_index_factory: PublicIndexFactory
) -> None:
    names = [f"project-{number:06d}" for number in range(40_000)]
    calls: list[tuple[int, int | None]] = []
    with PublicIndex(public_index_factory(names).url) as public:
        result = fetch_project_list(
            public, None, progress=lambda done, total: calls.append((done, total))
        )
    assert result.projects is not None
    assert result.projects.count == 40_000
    assert len(calls) > 3
    done = [received for received, _ in calls]
    assert done == sorted(done)
    total = calls[-1][1]
    assert total is not None
    assert calls[-1][0] == total > 1_000_000


def test_torn_cache_reads_as_none(index: PublicIndex, tmp_path: Path) -> None:
    cache = ProjectListCache(tmp_path, index.url)
    fetch_project_list(index, cache)
    assert cache.load() is not None
    cache.names_path.write_text("\nonly-one\n")
    assert cache.load() is None
    cache.meta_path.write_text("{not json")
    assert cache.load() is None


def test_unwritable_cache_still_answers(
    index: PublicIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ProjectListCache(tmp_path, index.url)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only")

    monkeypatch.setattr(ProjectListCache, "store", refuse)
    result = fetch_project_list(index, cache)
    assert result.status is ListStatus.DOWNLOADED
    assert result.projects is not None


def test_cache_is_per_index_and_holds_no_credentials(tmp_path: Path) -> None:
    one = ProjectListCache(tmp_path, "https://user:secret@mirror.example/simple/")
    other = ProjectListCache(tmp_path, "https://pypi.org/simple/")
    assert one.directory != other.directory
    assert one.directory.parent == tmp_path / "ado" / "public-index"
    one.store(ProjectList.from_names(["a"]), _meta())
    assert "secret" not in one.meta_path.read_text()


def _meta() -> CachedMeta:
    return CachedMeta(etag='"x"', last_modified=None, downloaded_at=1.0, checked_at=1.0, count=1)


# -- the cache file: sorted lines, queried through a memory map --------------------------------


def _stored(directory: Path, names: list[str]) -> ProjectListCache:
    cache = ProjectListCache(directory, "https://pypi.org/simple/")
    projects = ProjectList.from_names(names)
    cache.store(projects, CachedMeta(None, None, 1.0, 1.0, projects.count))
    return cache


def _loaded(cache: ProjectListCache) -> ProjectList:
    loaded = cache.load()
    assert loaded is not None
    return loaded[0]


@given(st.lists(normal_names, max_size=60), normal_names)
def test_a_mapped_cache_answers_like_the_similarity_rule(names: list[str], name: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        projects = _loaded(_stored(Path(directory), names))
        # queried where it lies, not read into lists
        assert isinstance(projects._data, mmap.mmap)
        assert projects.count == len(set(names))
        lines = "\n".join(names)
        pattern = similar_names_pattern(name)
        assert projects.similar_to(name) == sorted(set(pattern.findall(lines)) - {name})
        assert projects.similar_to(name.upper()) == sorted(set(pattern.findall(lines)) - {name})
        for prefix in (name[:1], name[:2], name, name + "-"):
            assert projects.starting_with(prefix) == sorted(
                {n for n in names if n.startswith(prefix)}
            )
        assert (name in projects) == (name in names)
        for known in names[:5]:
            assert known in projects
        projects.close()


def test_a_large_mapped_cache(tmp_path: Path) -> None:
    names = [f"{word}-{number}" for word in ("django", "djang0", "flask") for number in range(3000)]
    projects = _loaded(_stored(tmp_path, [*names, "requests", "reque5ts", "r-equests"]))
    assert projects.count == 9003
    assert projects.similar_to("requests") == ["r-equests"]
    assert projects.similar_to("d-jang0-17") == ["djang0-17", "django-17"]
    assert projects.starting_with("djang0-") == sorted(n for n in names if n[5] == "0")
    assert projects.starting_with("flask-299") == ["flask-299"] + [
        f"flask-299{d}" for d in range(10)
    ]
    assert projects.starting_with("zzz") == []
    assert "flask-2999" in projects
    assert "flask-3000" not in projects
    assert "Flask_2999" in projects


def test_an_empty_list_is_stored_and_mapped(tmp_path: Path) -> None:
    projects = _loaded(_stored(tmp_path, []))
    assert projects.count == 0
    assert projects.similar_to("a") == []
    assert projects.starting_with("a") == []
    assert "a" not in projects


def test_names_that_would_break_the_lines_are_left_out() -> None:
    projects = ProjectList.from_names(["a", "", "b c", "d\ne", "f"])
    assert projects.count == 2
    assert projects.starting_with("") == ["a", "f"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:-1], id="last-byte-missing"),
        pytest.param(lambda data: data + b"extra\n", id="longer"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: data[:40], id="header-torn"),
        pytest.param(lambda data: b"\n" + b"\n".join(data.split(b"\n")[1:]), id="no-header"),
        pytest.param(lambda data: data.replace(b"format 2", b"format 3", 1), id="other-format"),
        pytest.param(lambda data: data.replace(b"names, keys", b"names; keys", 1), id="foreign"),
    ],
)
def test_a_damaged_cache_file_reads_as_no_cache(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    cache = _stored(tmp_path, ["alpha", "beta", "f00bar", "foo-bar"])
    cache.names_path.write_bytes(damage(cache.names_path.read_bytes()))
    assert cache.load() is None


def test_a_cache_with_another_count_reads_as_no_cache(tmp_path: Path) -> None:
    cache = _stored(tmp_path, ["alpha", "beta"])
    other = ProjectList.from_names(["alpha", "beta", "gamma"])
    cache.names_path.write_bytes(other.data)
    assert cache.load() is None


@pytest.mark.parametrize(
    "scramble",
    [
        pytest.param(lambda part: part[::-1].replace(b"-", b"\n"), id="unsorted"),
        pytest.param(lambda part: part.replace(b"\n", b"\xff"), id="one-line"),
    ],
)
def test_scrambled_lines_give_wrong_answers_not_errors(
    tmp_path: Path, scramble: Callable[[bytes], bytes]
) -> None:
    names = [f"name-{n:04d}" for n in range(2000)]
    cache = _stored(tmp_path, names)
    data = cache.names_path.read_bytes()
    header_end = data.index(b"\n") + 1
    keys_start = header_end + sum(len(n) + 1 for n in names)
    # Same size and each part still ends in a newline: it passes the checks made on loading.
    damaged = data[:header_end] + b"".join(
        scramble(part[:-1]) + b"\n" for part in (data[header_end:keys_start], data[keys_start:])
    )
    assert len(damaged) == len(data)
    cache.names_path.write_bytes(damaged)
    projects = _loaded(cache)
    for query in ("name-0001", "name", "zz", "n\xe9", "-"):
        assert isinstance(projects.similar_to(query), list)
        assert isinstance(projects.starting_with(query), list)
        assert isinstance(query in projects, bool)
    assert isinstance(projects.starting_with(""), list)


def _format_1(cache: ProjectListCache, names: list[str], *, checked_at: float) -> None:
    cache.directory.mkdir(parents=True, exist_ok=True)
    cache.names_path.write_text("\n" + "".join(f"{n}\n" for n in sorted(names)))
    meta = {"format": 1, "index_url": cache.index_url, "etag": '"old"', "last_modified": None}
    meta.update(downloaded_at=checked_at, checked_at=checked_at, count=len(names))
    cache.meta_path.write_text(json.dumps(meta))


def test_a_format_1_cache_is_converted_once(tmp_path: Path) -> None:
    cache = ProjectListCache(tmp_path, "https://pypi.org/simple/")
    _format_1(cache, ["foo-bar", "f00bar", "kpv-a"], checked_at=5.0)
    projects, meta = cache.load() or pytest.fail("not converted")
    assert (meta.etag, meta.checked_at, meta.count) == ('"old"', 5.0, 3)
    assert projects.similar_to("foobar") == ["f00bar", "foo-bar"]
    assert json.loads(cache.meta_path.read_text())["format"] == 2
    assert cache.names_path.read_bytes().startswith(b"# poetry-ado project list, format 2: ")
    converted = _loaded(cache)
    assert isinstance(converted._data, mmap.mmap)
    assert converted.starting_with("kpv") == ["kpv-a"]


@pytest.mark.parametrize(
    "text", ["\nfoo-bar\n", "\n\nf00bar\nfoo-bar\nkpv-a", "f00bar\nfoo-bar\nkpv-a\n"]
)
def test_a_torn_format_1_cache_reads_as_no_cache(tmp_path: Path, text: str) -> None:
    cache = ProjectListCache(tmp_path, "https://pypi.org/simple/")
    _format_1(cache, ["foo-bar", "f00bar", "kpv-a"], checked_at=5.0)
    cache.names_path.write_text(text)
    assert cache.load() is None


def test_a_format_1_cache_still_serves_offline(tmp_path: Path) -> None:
    with PublicIndex(closed_port_url()) as public:
        cache = ProjectListCache(tmp_path, public.url)
        _format_1(cache, ["foo-bar", "kpv-a"], checked_at=time.time() - 3 * DAY)
        result = fetch_project_list(public, cache)
    assert result.status is ListStatus.STALE
    assert result.projects is not None
    assert result.projects.similar_to("f0obar") == ["foo-bar"]


def test_an_unknown_cache_format_is_downloaded_again(
    index: PublicIndex, public_index: PublicIndexServer, tmp_path: Path
) -> None:
    cache = ProjectListCache(tmp_path, index.url)
    fetch_project_list(index, cache)
    meta = json.loads(cache.meta_path.read_text())
    cache.meta_path.write_text(json.dumps({**meta, "format": 99}))
    result = fetch_project_list(index, cache)
    assert result.status is ListStatus.DOWNLOADED
    # no validators of a cache it cannot read: a 304 would leave it without a list
    assert "if-none-match" not in public_index.root_requests()[-1].headers
    assert _loaded(cache).similar_to("foobar") == ["f00bar", "foo-bar"]


def test_a_mapped_cache_is_replaced_by_a_new_download(
    index: PublicIndex, public_index: PublicIndexServer, tmp_path: Path
) -> None:
    cache = ProjectListCache(tmp_path, index.url)
    clock = Clock()
    fetch_project_list(index, cache, now=clock)
    public_index.add("f0o-bar")
    clock.now += 2 * DAY
    result = fetch_project_list(index, cache, now=clock)
    assert result.status is ListStatus.DOWNLOADED
    assert result.projects is not None
    assert result.projects.similar_to("foobar") == ["f00bar", "f0o-bar", "foo-bar"]
    assert _loaded(cache).similar_to("foobar") == ["f00bar", "f0o-bar", "foo-bar"]


def test_check_name_answers_the_same_from_the_mapped_cache(
    public_index: PublicIndexServer, tmp_path: Path
) -> None:
    from poetry_ado_plugin.name_check import CheckRequest
    from poetry_ado_plugin.name_check import render_json
    from poetry_ado_plugin.name_check import run_checks
    from poetry_ado_plugin.names import Prefix

    request = CheckRequest(
        names=("FOOBAR", "kpv-0ther", "kpv-new"),
        prefix=Prefix.parse("kpv-", origin="--prefix"),
        index_url=public_index.url,
        similar=True,
        cache_dir=tmp_path,
    )
    downloaded = json.loads(render_json(run_checks(request)))
    cached = json.loads(render_json(run_checks(request)))
    assert downloaded.pop("project_list")["status"] == "downloaded"
    assert cached.pop("project_list")["status"] == "cached"
    assert cached == downloaded
    similar = {
        n["name"]: [c for c in n["checks"] if c["check"] == "similar"] for n in cached["names"]
    }
    assert similar["FOOBAR"][0]["related"] == ["f00bar", "foo-bar"]
    assert similar["kpv-0ther"][0]["related"] == ["kpv-other"]
    assert similar["kpv-new"][0]["verdict"] == "ok"
    assert cached["prefix"]["public_matches"] == 2
