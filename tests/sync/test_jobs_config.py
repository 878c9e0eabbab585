"""Jobs files: every mistake is found before anything runs, with its key and line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mano_sync import CONFIG_EXAMPLE, ConfigError, Shard, load_config, parse_config

GOOD = """\
# two studies
keyring_file = "ring.enc"

[[job]]
name = "a"
keyring = "lab"
study = "Study A"
output = "data/a"
streams = ["gps", "wifi"]
lock = ["gps"]

[[job]]
name = "b"
study = "abcdefgh"
output = "/srv/b"
compress = true
participants = ["p1", "p2"]
ready = false
shard = "2/3"
"""


def test_a_good_file_gives_every_field(tmp_path: Path) -> None:
    path = tmp_path / "mano.toml"
    path.write_text(GOOD)
    config = load_config(path)
    a, b = config.jobs
    assert config.keyring_file == tmp_path / "ring.enc"
    assert (a.name, a.keyring, a.study, a.output) == ("a", "lab", "Study A", tmp_path / "data/a")
    assert a.streams == ("gps", "wifi") and a.lock == ("gps",) and a.line == 4
    assert (b.keyring, b.output, b.compress, b.ready) == (None, Path("/srv/b"), True, False)
    assert b.participants == ("p1", "p2") and b.shard == Shard(2, 3) and b.line == 12
    assert [j.name for j in config.select()] == ["a"]  # b is not ready
    assert [j.name for j in config.select(["b"])] == ["b"]  # unless named
    with pytest.raises(ConfigError, match="no job named 'c'; jobs: a, b"):
        config.select(["c"])


def test_the_printed_example_is_valid() -> None:
    config = parse_config(CONFIG_EXAMPLE, path="/etc/mano.toml")
    assert [j.name for j in config.jobs] == ["depression-main", "pilot"]
    assert config.parallel is True


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="mano.toml")
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("edit", "line", "key", "words"),
    [
        # unknown key in a job
        (("streams = [", "stream = ["), 9, "stream", "unknown key 'stream'"),
        # unknown top-level key
        (("keyring_file", "keyring_fiel"), 2, "keyring_fiel", "unknown top-level key"),
        # wrong type
        (("compress = true", "compress = 1"), 16, "compress", "compress must be true or false"),
        (('shard = "2/3"', "shard = 2"), 19, "shard", "shard must be a string"),
        (('shard = "2/3"', 'shard = "4/3"'), 19, "shard", "K must be between 1 and N"),
        (('streams = ["gps", "wifi"]', 'streams = ["gsp"]'), 9, "streams", "unknown stream 'gsp'"),
        # missing study: the job's table line
        (('study = "abcdefgh"\n', ""), 12, None, "missing key 'study'"),
        # duplicate output folder
        (('output = "/srv/b"', 'output = "data/a"'), 15, "output", "also the output of job 'a'"),
        (('output = "/srv/b"', 'output = "data/a/inner"'), 15, "output", "inside each other"),
        # duplicate name
        (('name = "b"', 'name = "a"'), 13, "name", "duplicate job name 'a'"),
        # a secret
        (('keyring = "lab"', 'secret_key = "x"'), 6, "secret_key", "secrets never go in"),
    ],
    ids=[
        "unknown-key",
        "unknown-top-key",
        "wrong-type-bool",
        "wrong-type-shard",
        "bad-shard",
        "unknown-stream",
        "missing-study",
        "duplicate-output",
        "nested-output",
        "duplicate-name",
        "secret",
    ],
)
def test_each_mistake_names_its_line_and_key(
    edit: tuple[str, str], line: int, key: str | None, words: str
) -> None:
    old, new = edit
    assert old in GOOD
    error = _error(GOOD.replace(old, new))
    assert error.line == line, error
    assert error.key == key
    assert str(error).startswith(f"mano.toml, line {line}: ")
    assert words in str(error)


def test_bad_toml_keeps_tomllibs_line() -> None:
    error = _error(GOOD.replace('name = "b"', 'name = "b'))
    assert error.line == 13 and "not valid TOML" in str(error) and "(at line" not in str(error)


def test_a_file_without_jobs_is_refused() -> None:
    assert "no [[job]] table" in str(_error('keyring_file = "x"\n'))


def test_shards_split_participants_deterministically() -> None:
    pids = [f"p{i:07d}" for i in range(200)]
    slices = [Shard(k, 3).select(pids) for k in (1, 2, 3)]
    assert sorted(p for s in slices for p in s) == sorted(pids)  # each exactly once
    assert all(40 < len(s) < 100 for s in slices)  # roughly even
    # a participant enrolled later does not move anyone else
    more = [Shard(k, 3).select([*pids, "newcomer"]) for k in (1, 2, 3)]
    assert [[p for p in s if p != "newcomer"] for s in more] == slices


def test_lock_passphrase_precedence(caplog: pytest.LogCaptureFixture) -> None:
    from mano_auth import Credentials
    from mano_sync import lock_passphrase

    keys = {"URL": "https://beiwe.example.org", "ACCESS_KEY": "a" * 20, "SECRET_KEY": "b" * 40}
    ring = Credentials.from_dict({**keys, "SECRETS": {"My Study": "zebra-4711"}})
    plain = Credentials.from_dict(keys)
    env = {"MANO_LOCK_PASSPHRASE": "okapi-0815"}
    with caplog.at_level(logging.WARNING, logger="mano_sync"):
        assert lock_passphrase(ring, "My Study", environ=env) == ("zebra-4711", "keyring SECRETS")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    text = caplog.records[0].getMessage()
    assert "differ" in text and "zebra" not in text and "okapi" not in text
    caplog.clear()
    same = {"MANO_LOCK_PASSPHRASE": "zebra-4711"}
    assert lock_passphrase(ring, "My Study", environ=same)[0] == "zebra-4711"
    assert caplog.records == []
    assert lock_passphrase(plain, "My Study", environ=env) == ("okapi-0815", "MANO_LOCK_PASSPHRASE")
    assert lock_passphrase(plain, "My Study", environ={}) == (None, "")


def test_shards_of_one_study_may_share_a_folder() -> None:
    text = """
[[job]]
name = "s1"
study = "abc"
output = "/data/abc"
shard = "1/2"

[[job]]
name = "s2"
study = "abc"
output = "/data/abc"
shard = "2/2"
"""
    assert [j.shard for j in parse_config(text).jobs] == [Shard(1, 2), Shard(2, 2)]
    for bad in (text.replace('"2/2"', '"1/2"'), text.replace('"2/2"', '"2/3"')):
        with pytest.raises(ConfigError, match="line 11: .*also the output of job 's1'"):
            parse_config(bad)


def test_jobs_without_output_go_under_output_root() -> None:
    text = """
output_root = "/data/beiwe"

[[job]]
name = "by-id"
study = "abcdefghijklmnopqrstuvwx"

[[job]]
name = "by-name"
study = "My Study"
"""
    by_id, by_name = parse_config(text).jobs
    assert by_id.known_folder == Path("/data/beiwe/abcdefghijklmnopqrstuvwx")
    assert by_name.known_folder is None  # the server names the study first
    assert by_name.folder("x" * 24, "My Study") == Path("/data/beiwe") / ("x" * 24)
    named = parse_config(
        text.replace('output_root = "/data/beiwe"', 'output_root = "/d"\nfolder_name = "name"')
    )
    assert named.jobs[1].folder("x" * 24, "A/B: study") == Path("/d/A_B_ study")
    clash = text + '\n[[job]]\nname = "again"\nstudy = "abcdefghijklmnopqrstuvwx"\n'
    with pytest.raises(ConfigError, match="line 12: .*also the output of job 'by-id'"):
        parse_config(clash)
    with pytest.raises(ConfigError, match="line 4: job 'by-id': missing key 'output'"):
        parse_config(text.replace('output_root = "/data/beiwe"', ""))
    with pytest.raises(ConfigError, match="line 1: folder_name must be"):
        parse_config('folder_name = "title"\n' + text)
