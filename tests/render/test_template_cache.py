"""Compiled templates are kept between runs (render.env's bytecode cache): an edited template
is compiled again, and a cache folder that cannot be written only makes a run slower."""

from __future__ import annotations

import jinja2
import pytest

from disbursement.render import env as render_env


@pytest.fixture
def fresh(monkeypatch):
    def environment(cache_dir):
        monkeypatch.setenv(render_env.CACHE_ENV, str(cache_dir))
        render_env._environment.cache_clear()
        return render_env._environment

    yield environment
    render_env._environment.cache_clear()


def test_a_template_is_compiled_once_and_again_when_edited(fresh, tmp_path):
    templates, cache = tmp_path / "templates", tmp_path / "cache"
    templates.mkdir()
    (templates / "greeting.j2").write_text("Xin chào {{ name }}", encoding="utf-8")
    make = fresh(cache)
    assert make(str(templates)).get_template("greeting.j2").render(name="Sơn La") == "Xin chào Sơn La"
    kept = list(cache.rglob("*.cache"))
    assert len(kept) == 1
    (templates / "greeting.j2").write_text("Kính gửi {{ name }}", encoding="utf-8")
    make.cache_clear()
    assert make(str(templates)).get_template("greeting.j2").render(name="UBND") == "Kính gửi UBND"


def test_an_unwritable_or_disabled_cache_changes_nothing(fresh, tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("", encoding="utf-8")
    template = render_env.REASONS_TEMPLATE
    assert fresh(blocked)(None).bytecode_cache is None
    assert fresh(blocked)(None).get_template(template).module is not None
    assert fresh("off")(None).bytecode_cache is None
    environment = fresh(tmp_path / "cache")(None)
    assert environment.bytecode_cache is not None

    def full_disk(self, bucket):  # what writing an entry meets on a full or read-only disk
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", full_disk)
    assert environment.get_template(template).module is not None
    assert not list((tmp_path / "cache").rglob("*.cache"))


def test_a_user_without_a_home_gets_no_cache(fresh, tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(render_env.Path, "home", no_home)
    environment = fresh("")(None)  # no folder chosen: the home's .cache would be used
    assert environment.bytecode_cache is None
    assert environment.get_template(render_env.REASONS_TEMPLATE).module is not None


def test_a_damaged_entry_is_compiled_again(fresh, tmp_path):
    cache = tmp_path / "cache"
    environment = fresh(cache)(None)
    assert environment.get_template(render_env.REASONS_TEMPLATE).module is not None
    for entry in cache.rglob("*.cache"):  # Jinja's valid header, then a truncated pickle
        entry.write_bytes(jinja2.bccache.bc_magic + b"\x80\x04\x95garbage")
    again = fresh(cache)(None)
    assert again.get_template(render_env.REASONS_TEMPLATE).module is not None


def test_a_folder_others_can_write_to_is_never_used(fresh, tmp_path):
    cache = tmp_path / "cache"
    assert fresh(cache)(None).bytecode_cache is not None
    (folder,) = (cache / "disbursement").iterdir()
    folder.chmod(0o777)
    assert fresh(cache)(None).bytecode_cache is None
