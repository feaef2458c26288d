"""The README documents every configuration key the binary knows."""
import re
import subprocess

from conftest import BIN, ROOT


def test_readme_lists_every_configuration_key():
    help_text = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    keys = set(re.findall(r"\[(ORDERD_[A-Z_]+)", help_text))
    assert len(keys) > 20
    readme = (ROOT / "README.md").read_text()
    missing = sorted(k for k in keys if f"`{k}`" not in readme)
    assert not missing, f"README lacks {missing}"
