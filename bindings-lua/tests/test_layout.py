"""The package layout Kong, APISIX and OpenResty users vendor: the rockspec
lists every module under lib/ (and nothing else), and the rockspec, dist.ini,
the module's _VERSION and the workspace's Cargo.toml agree on the version.
"""
import glob
import os
import re
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LUA_ROOT = os.path.dirname(HERE)
ROOT = os.path.dirname(LUA_ROOT)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class Layout(unittest.TestCase):
    def test_the_rockspec_lists_every_module(self):
        [rockspec] = glob.glob(os.path.join(LUA_ROOT, "*.rockspec"))
        listed = dict(re.findall(r'\["([\w.]+)"\]\s*=\s*"bindings-lua/(lib/[\w/]+\.lua)"', read(rockspec)))
        files = sorted(os.path.relpath(p, LUA_ROOT) for p in glob.glob(os.path.join(LUA_ROOT, "lib", "**", "*.lua"),
                                                                    recursive=True))
        self.assertEqual(sorted(listed.values()), files)
        for module, path in listed.items():
            self.assertEqual(module.replace(".", "/"), path[len("lib/"):-len(".lua")])

    def test_versions_agree(self):
        cargo = re.search(r'^version = "([^"]+)"', read(os.path.join(ROOT, "Cargo.toml")), re.M).group(1)
        [rockspec] = glob.glob(os.path.join(LUA_ROOT, "*.rockspec"))
        self.assertEqual(os.path.basename(rockspec), f"lua-resty-jwtgate-{cargo}-1.rockspec")
        self.assertIn(f'version = "{cargo}-1"', read(rockspec))
        self.assertIn(f"version = {cargo}\n", read(os.path.join(LUA_ROOT, "dist.ini")))
        self.assertIn(f'_VERSION = "{cargo}"', read(os.path.join(LUA_ROOT, "lib", "resty", "jwtgate.lua")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
